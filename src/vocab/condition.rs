//! Patient states that EHRs record as Conditions as well as observations:
//! an active "Normal pregnancy" (SNOMED CT 72892002) means the patient is
//! pregnant even when no pregnancy-status observation was sent.

use super::text::contains_term;
use serde::{Deserialize, Serialize};

/// Words that, in a condition's text, mean the state is not current.
const NOT_CURRENT: &[&str] = &[
    "not",
    "no",
    "non",
    "history",
    "previous",
    "prior",
    "past",
    "negative",
    "test",
    "screening",
    "prevention",
    "planning",
    "post",
    "after",
    "following",
    "risk",
    "miscarriage",
    "abortion",
    "termination",
    "delivered",
];

fn states(text: &str, terms: &[&str]) -> bool {
    let t = super::text::fold(text);
    terms.iter().any(|term| contains_term(&t, term))
        && !NOT_CURRENT.iter().any(|w| contains_term(&t, w))
}

/// Whether a condition's text says the patient is pregnant now
/// ("Normal pregnancy", "Pregnant", "Tubal pregnancy", "Preeclampsia").
pub fn pregnancy(text: &str) -> bool {
    states(
        text,
        &[
            "pregnancy",
            "pregnant",
            "gravid",
            "preeclampsia",
            "pre eclampsia",
            "antepartum",
        ],
    )
}

/// Whether a condition's text says the patient is breastfeeding now.
pub fn breastfeeding(text: &str) -> bool {
    states(
        text,
        &["breastfeeding", "breast feeding", "lactating", "lactation"],
    )
}

/// A code as an EHR sends it with a condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConditionCode {
    pub system: CodeSystem,
    pub code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeSystem {
    Snomed,
    Icd10Cm,
}

impl CodeSystem {
    /// The FHIR system URI.
    pub fn uri(self) -> &'static str {
        match self {
            CodeSystem::Snomed => "http://snomed.info/sct",
            CodeSystem::Icd10Cm => "http://hl7.org/fhir/sid/icd-10-cm",
        }
    }

    /// The system of a FHIR `coding.system`, if it is one the vocabulary
    /// holds codes for.
    pub fn from_uri(uri: &str) -> Option<CodeSystem> {
        match uri.trim().trim_end_matches('/') {
            "http://snomed.info/sct" => Some(CodeSystem::Snomed),
            // (WHO ICD-10, http://hl7.org/fhir/sid/icd-10, shares the
            // categories but not the subcodes: not read as ICD-10-CM.)
            "http://hl7.org/fhir/sid/icd-10-cm" => Some(CodeSystem::Icd10Cm),
            _ => None,
        }
    }

    /// The name a case file writes.
    pub fn short(self) -> &'static str {
        match self {
            CodeSystem::Snomed => "snomed",
            CodeSystem::Icd10Cm => "icd-10-cm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CodeSystem::Snomed => "SNOMED CT",
            CodeSystem::Icd10Cm => "ICD-10-CM",
        }
    }
}

impl std::fmt::Display for ConditionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.system.label(), self.code)
    }
}

/// A parsed `system` name as a case file or FHIR coding writes it.
impl std::str::FromStr for CodeSystem {
    type Err = String;
    fn from_str(s: &str) -> Result<CodeSystem, String> {
        let k = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        match k.as_str() {
            "snomed" | "snomed-ct" | "sct" => Ok(CodeSystem::Snomed),
            "icd-10-cm" | "icd10cm" | "icd-10" | "icd10" => Ok(CodeSystem::Icd10Cm),
            _ => CodeSystem::from_uri(s).ok_or_else(|| {
                format!(
                    "unknown code system \"{s}\"; accepted: snomed, icd-10-cm, {}, {}",
                    CodeSystem::Snomed.uri(),
                    CodeSystem::Icd10Cm.uri()
                )
            }),
        }
    }
}

/// A patient condition: as written, and the code that came with it.
/// Stored sessions written before codes were kept hold a plain string,
/// which still reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredCondition")]
pub struct Condition {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ConditionCode>,
}

impl Condition {
    pub fn text(text: impl Into<String>) -> Condition {
        Condition {
            text: text.into(),
            code: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredCondition {
    Text(String),
    Coded {
        text: String,
        #[serde(default)]
        code: Option<ConditionCode>,
    },
}

impl From<StoredCondition> for Condition {
    fn from(s: StoredCondition) -> Condition {
        match s {
            StoredCondition::Text(text) => Condition { text, code: None },
            StoredCondition::Coded { text, code } => Condition { text, code },
        }
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_pregnancy() {
        for t in [
            "Normal pregnancy",
            "Pregnant",
            "Tubal pregnancy",
            "Preeclampsia",
            "Antepartum eclampsia",
            "Pregnancy, 2nd trimester",
        ] {
            assert!(pregnancy(t), "{t}");
        }
        for t in [
            "History of pregnancy",
            "Not pregnant",
            "Pregnancy test negative",
            "Post-term infant",
            "Miscarriage in first trimester",
            "hypertension",
            "Teenage pregnancy prevention",
        ] {
            assert!(!pregnancy(t), "{t}");
        }
        assert!(breastfeeding("Lactating mother"));
        assert!(!breastfeeding("history of breastfeeding"));
    }
}
