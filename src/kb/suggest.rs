//! What a rule's suggestion offers instead: the drugs it names as
//! alternatives. One reading for the kb lint (a rule must not flag the
//! drug its own suggestion recommends) and for the pharmacist's note
//! (which re-checks each alternative for the patient).

use super::{names, DrugId, Kb};

/// Words that introduce an alternative in a suggestion ("prefer X",
/// "use X instead", "such as X").
const ALTERNATIVE_CUES: &[&str] = &[
    "prefer",
    "preferred",
    "instead",
    "alternative",
    "alternatives",
    "consider",
    "switch",
    "such as",
    "for example",
    "choose",
    "use",
    "try",
];

/// Words near a drug's name (five before, six after) that make the
/// mention a dose or monitoring instruction, not a choice of it ("use
/// pravastatin at a low dose", "monitor carbamazepine levels", "sildenafil
/// 25 mg per 48 h with ritonavir").
const DOSE_CONTEXT: &[&str] = &[
    "dose",
    "doses",
    "dosing",
    "mg",
    "mcg",
    "titration",
    "monitoring",
    "level",
    "levels",
];

impl Kb {
    /// Drugs a suggestion offers as alternatives: kb names (generic, synonym
    /// or brand) after a cue word in the same clause, unless a dose or
    /// monitoring word stands close to them. In the order the kb's names
    /// sort; each drug once.
    pub fn suggested_drugs(&self, suggestion: &str) -> Vec<(DrugId, String)> {
        let mut names: Vec<(&str, DrugId)> =
            self.names.iter().map(|(n, &id)| (n.as_str(), id)).collect();
        names.sort_unstable();
        let mut out: Vec<(DrugId, String)> = Vec::new();
        // Abbreviations' full stops do not end a clause.
        let text = suggestion
            .to_lowercase()
            .replace("e.g.", "for example")
            .replace("i.e.", "that is");
        for lowered in text.split(['.', ';']) {
            let Some(start) = ALTERNATIVE_CUES
                .iter()
                .filter_map(|cue| word_at(lowered, cue))
                .min()
            else {
                continue;
            };
            let words: Vec<String> = names::normalise(&lowered[start..])
                .split(' ')
                .map(str::to_string)
                .collect();
            for &(name, id) in &names {
                let term: Vec<&str> = name.split(' ').collect();
                let Some(at) = words.windows(term.len()).position(|w| w == term.as_slice()) else {
                    continue;
                };
                let before = &words[at.saturating_sub(5)..at];
                let after = &words[at + term.len()..];
                if before
                    .iter()
                    .chain(after.iter().take(6))
                    .any(|w| DOSE_CONTEXT.contains(&w.as_str()))
                {
                    continue;
                }
                if !out.iter().any(|(d, _)| *d == id) {
                    out.push((id, name.to_string()));
                }
            }
        }
        out
    }
}

/// Byte offset of `word` as a whole word in `text`.
fn word_at(text: &str, word: &str) -> Option<usize> {
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_at_finds_whole_words_only() {
        assert_eq!(word_at("do not use; reuse", "use"), Some(7));
        assert_eq!(word_at("reuse", "use"), None);
        assert_eq!(word_at("prefer, for example x", "for example"), Some(8));
    }

    #[test]
    fn alternatives_are_read_from_cue_clauses() {
        let kb = crate::kb::bundled_for_tests();
        let names = |text: &str| -> Vec<String> {
            let mut v: Vec<String> = kb
                .suggested_drugs(text)
                .into_iter()
                .map(|(id, _)| kb.drug(id).name.clone())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names("Avoid; choose a cephalosporin with a dissimilar side chain (e.g. cefuroxime, ceftriaxone) or a non-beta-lactam."),
            ["ceftriaxone", "cefuroxime"]
        );
        assert_eq!(names("Prefer Zithromax."), ["azithromycin"]);
        // A dose or monitoring instruction is not a choice.
        assert!(names("Use pravastatin at a low dose; monitor carbamazepine levels.").is_empty());
        assert!(names(
            "Use the label's reduced dose (e.g. sildenafil 25 mg per 48 h with ritonavir)."
        )
        .is_empty());
        // No cue in the clause.
        assert!(names("Warfarin effect rises; check the INR.").is_empty());
    }
}
