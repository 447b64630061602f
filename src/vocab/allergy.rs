//! Allergy entries that record the absence of allergies ("NKDA", "No Known
//! Allergy (situation)"): EHRs store them as AllergyIntolerance resources
//! and users type them into the allergy list. They mean "none", never an
//! allergy to a substance called "NKA".

/// SNOMED CT "situation" codes for no known allergy, as the FHIR R4
/// specification's examples `allergyintolerance-nka` (716186003, "No Known
/// Allergy (situation)") and `allergyintolerance-nkda` (409137002, "No Known
/// Drug Allergy (situation)") use them.
pub const NO_KNOWN_ALLERGY_SNOMED: &[&str] = &["716186003", "409137002"];

/// Whether free text records no known allergy: the abbreviations NKA, NKDA
/// and NKMA, "none", or a phrase of the form "no (known) (drug |
/// medication) allerg...".
pub fn no_known_allergy(text: &str) -> bool {
    let t: String = super::text::fold(text)
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = t.split_whitespace().collect();
    // "(situation)" and similar tags after the phrase do not change it.
    let words: Vec<&str> = words
        .into_iter()
        .filter(|w| !matches!(*w, "situation" | "finding"))
        .collect();
    match words.as_slice() {
        ["nka" | "nkda" | "nkma" | "none" | "nil"] => true,
        ["none", "known"] | ["no", "allergies" | "allergy"] => true,
        ["no", "known", rest @ ..] => match rest {
            [a] => a.starts_with("allerg"),
            [kind, a] => {
                matches!(*kind, "drug" | "medication" | "medicine") && a.starts_with("allerg")
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absence_phrases() {
        for t in [
            "NKA",
            "NKDA",
            "nkda ",
            "No Known Allergy (situation)",
            "No Known Drug Allergy (situation)",
            "no known allergies",
            "No known medication allergies",
            "None",
            "none known",
        ] {
            assert!(no_known_allergy(t), "{t}");
        }
    }

    #[test]
    fn real_allergies_are_not_absence() {
        for t in [
            "penicillin",
            "No known allergy to penicillin is documented but rash with amoxicillin",
            "nuts",
            "no known food allergy but penicillin",
            "Penicillin G",
            "",
        ] {
            assert!(!no_known_allergy(t), "{t}");
        }
    }
}
