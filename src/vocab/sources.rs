//! Knowledge-base passages the engine itself cites for its built-in rules.
//! Every kb must carry them (`kb check` and `Kb::link` say so when not).

/// Behind the built-in same-drug / same-class allergy rule.
pub const ALLERGY_DOCUMENTED_CLASS: &str = "allergy-documented-class";
/// Behind the built-in same-drug duplicate-therapy rule.
pub const DUPLICATE_SAME_DRUG: &str = "duplicate-same-drug";
/// Why an unrecognised name cannot be checked.
pub const UNKNOWN_DRUG_NAME: &str = "kb-unknown-drug-name";

/// Every built-in source id.
pub const BUILTIN_SOURCES: [&str; 3] = [
    ALLERGY_DOCUMENTED_CLASS,
    DUPLICATE_SAME_DRUG,
    UNKNOWN_DRUG_NAME,
];
