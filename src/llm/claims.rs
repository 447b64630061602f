//! Claims checked, not only ids: a sentence that cites retrieved passages
//! is supported only if what it states is in them. Every number in it (a
//! dose, a threshold, a lab value, a duration) must appear in the patient
//! data, the derived values, the flags or the pharmacist's note (the
//! "known" text), or in a passage it cites; every drug it names must be in
//! the known text or a cited passage. The first word that is in neither is
//! reported, so the mark can say which ("unsupported claim: 24 h").

use super::check::strip_citations;
use crate::vocab::text::contains_term;
use std::collections::HashMap;

/// What a sentence's claims are checked against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimFacts {
    /// Patient data, derived values, flags and the note, lower case.
    pub known: String,
    /// Citable passage id (lower case) -> its text, lower case.
    pub passages: HashMap<String, String>,
    /// Every drug name the kb knows (normalised: lower case, single
    /// spaces) -> its generic name.
    pub drug_names: HashMap<String, String>,
    /// Longest drug name in words.
    pub max_name_words: usize,
}

impl ClaimFacts {
    pub fn new(
        known: &str,
        passages: impl IntoIterator<Item = (String, String)>,
        drug_names: impl IntoIterator<Item = (String, String)>,
    ) -> ClaimFacts {
        let drug_names: HashMap<String, String> = drug_names.into_iter().collect();
        let max_name_words = drug_names
            .keys()
            .map(|n| n.split(' ').count())
            .max()
            .unwrap_or(1);
        ClaimFacts {
            known: known.to_lowercase(),
            passages: passages
                .into_iter()
                .map(|(id, text)| (id.to_lowercase(), text.to_lowercase()))
                .collect(),
            drug_names,
            max_name_words,
        }
    }

    /// The first number or drug name of `sentence` found neither in the
    /// known text nor in the passages of `cited`.
    pub fn first_unsupported(&self, sentence: &str, cited: &[String]) -> Option<String> {
        let text = strip_citations(sentence).to_lowercase();
        let sources: Vec<&str> = std::iter::once(self.known.as_str())
            .chain(
                cited
                    .iter()
                    .filter_map(|id| self.passages.get(id).map(String::as_str)),
            )
            .collect();
        let known_numbers: Vec<f64> = sources
            .iter()
            .flat_map(|s| numbers(s))
            .map(|(_, v)| v)
            .collect();
        for (word, value) in numbers(&text) {
            if !known_numbers.iter().any(|k| (k - value).abs() < 1e-9) {
                return Some(word);
            }
        }
        for name in self.drugs_named(&text) {
            let generic = &self.drug_names[&name];
            if !sources
                .iter()
                .any(|s| contains_term(s, &name) || contains_term(s, generic))
            {
                return Some(name);
            }
        }
        None
    }

    /// Drug names in `text`, longest match first at each word.
    fn drugs_named(&self, text: &str) -> Vec<String> {
        let words: Vec<String> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut step = 1;
            for n in (1..=self.max_name_words.min(words.len() - i)).rev() {
                let candidate = words[i..i + n].join(" ");
                if self.drug_names.contains_key(&candidate) {
                    out.push(candidate);
                    step = n;
                    break;
                }
            }
            i += step;
        }
        out
    }
}

/// Numbers written in `text` with their values: "2.5", "30", "1,000"
/// (a comma between digit groups is a thousands separator). Digits inside
/// a word ("CYP3A4", "B12", "COVID-19") are not numbers.
fn numbers(text: &str) -> Vec<(String, f64)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '-'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit()
                || (matches!(chars[j], '.' | ',')
                    && chars.get(j + 1).is_some_and(char::is_ascii_digit)))
        {
            j += 1;
        }
        let word: String = chars[i..j].iter().collect();
        // A number glued to letters ("3A4") is part of a name.
        let glued = chars.get(j).is_some_and(|c| c.is_alphabetic())
            && !matches!(
                chars[j..]
                    .iter()
                    .take_while(|c| c.is_alphabetic())
                    .collect::<String>()
                    .as_str(),
                "mg" | "g"
                    | "mcg"
                    | "ml"
                    | "kg"
                    | "h"
                    | "hr"
                    | "hrs"
                    | "d"
                    | "x"
                    | "mmol"
                    | "mm"
                    | "ms"
                    | "iu"
                    | "u"
                    | "min"
            );
        if !glued {
            let plain = word.replace(',', "");
            if let Ok(v) = plain.parse::<f64>() {
                out.push((word, v));
            }
        }
        i = j.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ClaimFacts {
        ClaimFacts::new(
            "Patient: 74-year-old female, 58 kg. Labs: creatinine 2.1 mg/dL. Derived: eGFR 24.3. Proposed: metformin 500 mg bid. Avoid metformin: contraindicated below eGFR 30.",
            [(
                "linagliptin-label-renal".to_string(),
                "Linagliptin needs no dose adjustment in renal impairment; 5 mg once daily.".to_string(),
            )],
            [
                ("metformin".to_string(), "metformin".to_string()),
                ("glucophage".to_string(), "metformin".to_string()),
                ("linagliptin".to_string(), "linagliptin".to_string()),
                ("glipizide".to_string(), "glipizide".to_string()),
                ("insulin glargine".to_string(), "insulin glargine".to_string()),
            ],
        )
    }

    fn cited(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn numbers_and_drugs_from_the_case_or_the_cited_passage_are_supported() {
        let f = facts();
        for s in [
            "Do not start metformin: eGFR 24.3 is below 30 [metformin-label-renal].",
            "Linagliptin 5 mg once daily needs no renal adjustment [linagliptin-label-renal].",
            "Creatinine is 2.1 mg/dL [x].",
        ] {
            assert_eq!(
                f.first_unsupported(s, &cited(&["linagliptin-label-renal"])),
                None,
                "{s}"
            );
        }
    }

    #[test]
    fn an_invented_number_or_drug_is_named() {
        let f = facts();
        // The eval: "separate clopidogrel and omeprazole by 24 h".
        assert_eq!(
            f.first_unsupported(
                "Separate the doses by 24 h [linagliptin-label-renal].",
                &cited(&["linagliptin-label-renal"])
            ),
            Some("24".into())
        );
        assert_eq!(
            f.first_unsupported(
                "Use glipizide instead [linagliptin-label-renal].",
                &cited(&["linagliptin-label-renal"])
            ),
            Some("glipizide".into())
        );
        // A passage the sentence does not cite does not support it.
        assert_eq!(
            f.first_unsupported("Linagliptin 5 mg daily.", &[]),
            Some("5".into())
        );
        // Multi-word names are found whole.
        assert_eq!(
            f.first_unsupported("Start insulin glargine [x].", &cited(&["x"])),
            Some("insulin glargine".into())
        );
    }

    #[test]
    fn numbers_are_read_as_written() {
        let n = |t: &str| numbers(t).into_iter().map(|(_, v)| v).collect::<Vec<f64>>();
        assert_eq!(
            n("give 2.5 mg, then 1,000 mg; eGFR 30."),
            vec![2.5, 1000.0, 30.0]
        );
        assert!(n("CYP3A4 and vitamin B12, COVID-19").is_empty());
        assert_eq!(n("500mg bid for 5d"), vec![500.0, 5.0]);
    }
}
