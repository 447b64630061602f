//! Pharmacogenomics: the genes a case file may record (`[pharmacogenomics]`)
//! and the phenotype words accepted for them, in one table.

/// Genes with prescribing guidance (CPIC level A pairs and label boxed
/// warnings), as written in a case file, lower case.
pub const GENES: [&str; 11] = [
    "cyp2c19",
    "cyp2d6",
    "cyp2c9",
    "vkorc1",
    "slco1b1",
    "tpmt",
    "nudt15",
    "dpyd",
    "hla-b*57:01",
    "hla-b*15:02",
    "hla-b*58:01",
];

/// Canonical phenotypes and the words that mean them (CPIC terms; labels
/// and reports also write "extensive" for normal and "carrier" for an HLA
/// allele present).
const PHENOTYPES: [(&str, &[&str]); 10] = [
    (
        "poor metabolizer",
        &["poor metabolizer", "poor metaboliser", "pm", "poor"],
    ),
    (
        "intermediate metabolizer",
        &[
            "intermediate metabolizer",
            "intermediate metaboliser",
            "im",
            "intermediate",
        ],
    ),
    (
        "normal metabolizer",
        &[
            "normal metabolizer",
            "normal metaboliser",
            "nm",
            "normal",
            "extensive metabolizer",
            "extensive metaboliser",
            "em",
        ],
    ),
    (
        "rapid metabolizer",
        &["rapid metabolizer", "rapid metaboliser", "rm", "rapid"],
    ),
    (
        "ultrarapid metabolizer",
        &[
            "ultrarapid metabolizer",
            "ultrarapid metaboliser",
            "ultra-rapid metabolizer",
            "ultra-rapid metaboliser",
            "um",
            "ultrarapid",
        ],
    ),
    (
        "poor function",
        &["poor function", "decreased function", "low function"],
    ),
    ("normal function", &["normal function"]),
    ("positive", &["positive", "carrier", "present", "detected"]),
    (
        "negative",
        &[
            "negative",
            "non-carrier",
            "noncarrier",
            "absent",
            "not detected",
        ],
    ),
    (
        "deficient",
        &["deficient", "deficiency", "complete deficiency"],
    ),
];

/// The gene as stored ("CYP2C19" -> "cyp2c19", "HLA-B*5701" ->
/// "hla-b*57:01"), or None when it is not in [`GENES`].
pub fn gene(s: &str) -> Option<&'static str> {
    let t: String = s
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bare = |g: &str| g.replace([':', '*'], "");
    GENES
        .iter()
        .copied()
        .find(|g| *g == t || bare(g) == bare(&t))
}

/// The canonical phenotype for a typed one, or None.
pub fn phenotype(s: &str) -> Option<&'static str> {
    let t = s.trim().to_lowercase().replace('_', " ");
    PHENOTYPES
        .iter()
        .find(|(_, words)| words.contains(&t.as_str()))
        .map(|(canon, _)| *canon)
}

/// For messages: every accepted phenotype.
pub fn accepted_phenotypes() -> String {
    PHENOTYPES
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genes_and_phenotypes_as_reports_write_them() {
        assert_eq!(gene("CYP2C19"), Some("cyp2c19"));
        assert_eq!(gene("HLA-B*5701"), Some("hla-b*57:01"));
        assert_eq!(gene("hla-b*15:02"), Some("hla-b*15:02"));
        assert_eq!(gene("cyp3a4"), None);
        assert_eq!(phenotype("PM"), Some("poor metabolizer"));
        assert_eq!(phenotype("Poor Metaboliser"), Some("poor metabolizer"));
        assert_eq!(
            phenotype("extensive metabolizer"),
            Some("normal metabolizer")
        );
        assert_eq!(phenotype("carrier"), Some("positive"));
        assert_eq!(phenotype("maybe"), None);
    }
}
