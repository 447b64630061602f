//! How a flag is known: a small evidence scale of our own, the way
//! pharmacists triage by a reference's reliability rating. Strongest last,
//! so that `Ord` ranks them. A flag's level is the strongest among the
//! passages it cites (`Kb::evidence` in the kb module); a passage's level is
//! its `evidence` frontmatter field, or else read from its source.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    /// From the mechanism alone (a class effect, a pathway).
    Theoretical,
    /// An expert list or consensus without graded recommendations.
    Consensus,
    /// A published study (cohort, case-control, trial).
    Study,
    /// A guideline or consensus criteria with recommendations (AGS Beers,
    /// STOPP/START, a practice parameter, KDIGO, CPIC).
    Guideline,
    /// A regulator's label or safety communication: a warning, precaution,
    /// boxed warning or dosing statement.
    LabelWarning,
    /// A contraindication stated in the label.
    LabelContraindication,
}

impl Evidence {
    pub const ALL: [Evidence; 6] = [
        Evidence::Theoretical,
        Evidence::Consensus,
        Evidence::Study,
        Evidence::Guideline,
        Evidence::LabelWarning,
        Evidence::LabelContraindication,
    ];

    pub const ACCEPTED: &'static str =
        "label-contraindication, label-warning, guideline, study, consensus, theoretical";

    /// The kebab-case name, as in case files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Theoretical => "theoretical",
            Evidence::Consensus => "consensus",
            Evidence::Study => "study",
            Evidence::Guideline => "guideline",
            Evidence::LabelWarning => "label-warning",
            Evidence::LabelContraindication => "label-contraindication",
        }
    }

    /// Words for people, beside the severity.
    pub fn label(self) -> &'static str {
        match self {
            Evidence::Theoretical => "theoretical",
            Evidence::Consensus => "expert consensus",
            Evidence::Study => "published study",
            Evidence::Guideline => "guideline",
            Evidence::LabelWarning => "label warning",
            Evidence::LabelContraindication => "label contraindication",
        }
    }

    /// A passage's level from its source, licence and section, when the
    /// passage does not state one.
    pub fn read(source: &str, license: &str, section: &str) -> Evidence {
        let text = format!("{source} {license}").to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if any(&[
            "label",
            "prescribing information",
            "fda drug safety communication",
            "fda safety communication",
            "us fda communication",
        ]) {
            return if section == "contraindications" {
                Evidence::LabelContraindication
            } else {
                Evidence::LabelWarning
            };
        }
        if section == "guideline"
            || any(&[
                "guideline",
                "beers criteria",
                "stopp/start",
                "practice parameter",
                "kdigo",
                "cpic",
                "recommendation",
            ])
        {
            return Evidence::Guideline;
        }
        if any(&[
            "study",
            "cohort",
            "case-control",
            "trial",
            "bmj",
            "lancet",
            "jama",
            "n engl j med",
        ]) {
            return Evidence::Study;
        }
        if section == "mechanism" {
            return Evidence::Theoretical;
        }
        Evidence::Consensus
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_from_the_kind_of_source() {
        let label = "Own words; facts from a US FDA label (public domain)";
        assert_eq!(
            Evidence::read(
                "Metformin tablets, US prescribing information",
                label,
                "contraindications"
            ),
            Evidence::LabelContraindication
        );
        assert_eq!(
            Evidence::read(
                "Warfarin tablets, US prescribing information",
                label,
                "interactions"
            ),
            Evidence::LabelWarning
        );
        assert_eq!(
            Evidence::read(
                "American Geriatrics Society 2023 updated AGS Beers Criteria",
                "Own words; facts cited from the AGS Beers Criteria 2023",
                ""
            ),
            Evidence::Guideline
        );
        assert_eq!(
            Evidence::read(
                "Lapi F et al. nested case-control study. BMJ 2013",
                "Own words",
                ""
            ),
            Evidence::Study
        );
        assert_eq!(
            Evidence::read("ISMP List of Confused Drug Names", "Own words", ""),
            Evidence::Consensus
        );
        assert!(Evidence::LabelContraindication > Evidence::Guideline);
        for e in Evidence::ALL {
            assert!(Evidence::ACCEPTED.contains(e.as_str()));
        }
    }
}
