//! Patient states that EHRs record as Conditions as well as observations:
//! an active "Normal pregnancy" (SNOMED CT 72892002) means the patient is
//! pregnant even when no pregnancy-status observation was sent.

use super::text::contains_term;

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
