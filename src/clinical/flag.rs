//! Flags: what the rules found, how serious it is, and which knowledge-base
//! records say so. The vocabulary of a flag (kind, severity, indicator)
//! lives in [`crate::vocab`].

pub use crate::vocab::{Concerns, Evidence, Indicator, Kind, Severity};
use serde::{Deserialize, Serialize};

/// One finding of the rule engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub kind: Kind,
    pub severity: Severity,
    pub indicator: Indicator,
    /// Generic names, lower case; both drugs for an interaction.
    pub drugs: Vec<String>,
    /// A proposed drug, or only the current regimen (extension; absent in
    /// older output means `proposed`).
    #[serde(default)]
    pub concerns: Concerns,
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suggestion: String,
    /// Knowledge-base record ids (passages); never empty.
    pub sources: Vec<String>,
    /// How it is known: the strongest evidence level among `sources`
    /// (extension; [`Evidence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The rule record(s) that fired (extension).
    pub rules: Vec<String>,
    /// The patient values the rule looked at, for the trace (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// For a `combination` flag: the pairwise flags it groups, which are
    /// not repeated on their own (extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<Included>,
}

/// A flag grouped under a combination flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Included {
    pub kind: Kind,
    pub severity: Severity,
    pub drugs: Vec<String>,
    pub summary: String,
    pub rules: Vec<String>,
}

/// The `drug` of a [`NotChecked`] that concerns the patient's record as a
/// whole (contradicting inputs), not one drug: every drug's note lists it.
pub const WHOLE_RECORD: &str = "patient";

/// Something the engine could not check, said out loud (extension of the
/// contract: `not_checked` in `check --json`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotChecked {
    pub drug: String,
    pub what: String,
    pub reason: String,
}
