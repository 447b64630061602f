//! The condition vocabulary (`kb/conditions/`): how a patient's condition,
//! as typed or as an EHR codes it, is read as one or more concepts.
//!
//! Reading, in order:
//! 1. the code, when one came with the text (a SNOMED CT id, or an
//!    ICD-10-CM code, read as every concept with a listed prefix it starts
//!    with);
//! 2. the whole text (SNOMED's "(disorder)"-style tag dropped) as a name or
//!    synonym;
//! 3. names, synonyms and `includes` phrases found in the text as whole
//!    words ("Chronic congestive heart failure (disorder)"). A synonym of
//!    three letters or fewer ("AF", "MI") counts only when what is left
//!    of the text is qualifiers ("paroxysmal AF", "CKD stage 4"), so "PD"
//!    in "PD-L1 positive" is not Parkinson's disease.
//!
//! Text that reads as nothing is unrecognised; the rules then list it as
//! not checked, with the one concept within a few typing errors as "did
//! you mean". A concept read by its name, a synonym or a code lends its
//! names to rule matching (a rule written for "atrial fibrillation" fires
//! for "AF"); one read through an `includes` phrase does not (an injury
//! recognised by "sprain" does not match a rule term "fracture").

use super::model::ConditionConcept;
pub use crate::vocab::condition::{CodeSystem, ConditionCode};
use crate::vocab::text::{contains_term, fold};
use serde::Serialize;
use std::collections::HashMap;

/// Index of a concept in `Records::conditions`.
pub type ConceptId = usize;

/// How a condition was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionVia {
    /// By its code.
    Code,
    /// The whole text is a name or synonym.
    Name,
    /// Names or phrases found in the text.
    Phrase,
    /// Read as nothing.
    Unrecognised,
}

/// One patient condition as the rules see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionReading {
    /// As recorded.
    pub text: String,
    pub code: Option<ConditionCode>,
    /// Preferred names of the concepts it was read as, in vocabulary order.
    pub read_as: Vec<String>,
    pub via: ConditionVia,
    /// For an unrecognised condition: the one concept within a few typing
    /// errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did_you_mean: Option<String>,
    /// The code came with the text but is not in the vocabulary.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub code_unknown: bool,
    /// Folded text, then the folded names and synonyms of the concepts
    /// that lend their names: what rule terms are matched against.
    #[serde(skip)]
    terms: Vec<String>,
    #[serde(skip)]
    concepts: Vec<ConceptId>,
}

impl ConditionReading {
    pub fn recognised(&self) -> bool {
        self.via != ConditionVia::Unrecognised
    }

    /// Whether a rule's condition term matches this condition.
    pub fn matches(&self, term: &str) -> bool {
        self.terms.iter().any(|t| contains_term(t, term))
    }

    pub fn is(&self, concept: ConceptId) -> bool {
        self.concepts.contains(&concept)
    }

    /// The line the trace shows.
    pub fn describe(&self) -> String {
        let text = crate::vocab::text::visible_line(&self.text);
        match self.via {
            ConditionVia::Unrecognised => {
                let mut s = format!("condition \"{text}\": not recognised");
                if let Some(code) = &self.code {
                    s.push_str(&format!(" (code {code} not in the vocabulary)"));
                }
                if let Some(d) = &self.did_you_mean {
                    s.push_str(&format!("; did you mean {d}?"));
                }
                s
            }
            ConditionVia::Name
                if !self.code_unknown
                    && self.read_as.len() == 1
                    && key(&self.read_as[0]) == key(untagged(&self.text)) =>
            {
                format!("condition \"{text}\" recognised")
            }
            _ => {
                let how = match (&self.via, &self.code) {
                    (ConditionVia::Code, Some(code)) => format!("by {code}"),
                    (ConditionVia::Name, _) => "by name".to_string(),
                    _ => "by the words in it".to_string(),
                };
                let mut s = format!(
                    "condition \"{text}\": read as {} ({how})",
                    self.read_as.join(", ")
                );
                if self.code_unknown {
                    if let Some(code) = &self.code {
                        s.push_str(&format!("; code {code} not in the vocabulary"));
                    }
                }
                s
            }
        }
    }
}

/// Words that may stand beside a short synonym ("paroxysmal AF", "CKD
/// stage 4", "history of MI") without changing what it names.
const QUALIFIERS: &[&str] = &[
    "acute",
    "chronic",
    "known",
    "history",
    "hx",
    "of",
    "h",
    "o",
    "with",
    "stage",
    "grade",
    "class",
    "g",
    "a",
    "severe",
    "mild",
    "moderate",
    "paroxysmal",
    "persistent",
    "permanent",
    "longstanding",
    "new",
    "onset",
    "recent",
    "controlled",
    "uncontrolled",
    "stable",
    "unstable",
    "established",
    "confirmed",
    "active",
    "primary",
    "secondary",
    "disorder",
    "finding",
    "disease",
    "nyha",
    "i",
    "ii",
    "iii",
    "iv",
    "v",
];

/// SNOMED CT semantic tags that end a display ("Prediabetes (finding)").
const SEMANTIC_TAGS: &[&str] = &[
    "(disorder)",
    "(finding)",
    "(situation)",
    "(morphologic abnormality)",
    "(procedure)",
    "(event)",
    "(observable entity)",
];

/// The linked vocabulary.
#[derive(Debug, Clone, Default)]
pub struct ConditionVocab {
    /// Key form of each name and synonym -> concept.
    names: HashMap<String, ConceptId>,
    /// Phrases looked for inside a text: (key form, concept, lends names,
    /// short synonym).
    phrases: Vec<(String, ConceptId, bool, bool)>,
    snomed: HashMap<String, ConceptId>,
    /// ICD-10-CM prefixes, without the dot, upper case.
    icd10: Vec<(String, ConceptId)>,
    /// Folded name and synonyms of each concept, for rule matching.
    lent: Vec<Vec<String>>,
    preferred: Vec<String>,
}

/// The form names are compared in: folded, punctuation as spaces,
/// apostrophes dropped ("Alzheimer's" is "alzheimers"), spaces collapsed.
pub fn key(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The text without a trailing SNOMED semantic tag.
fn untagged(text: &str) -> &str {
    let t = text.trim_end();
    let lower = t.to_ascii_lowercase();
    SEMANTIC_TAGS
        .iter()
        .find(|tag| lower.ends_with(*tag))
        .map_or(t, |tag| t[..t.len() - tag.len()].trim_end())
}

fn icd_key(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whole-word position of `phrase` in `text` (both in key form).
fn find_words(text: &str, phrase: &str) -> Option<usize> {
    text.match_indices(phrase).map(|(i, _)| i).find(|&i| {
        let end = i + phrase.len();
        (i == 0 || text.as_bytes()[i - 1] == b' ')
            && (end == text.len() || text.as_bytes()[end] == b' ')
    })
}

impl ConditionVocab {
    /// Links the concepts; returns the problems (a name or code claimed
    /// by two concepts, an empty name).
    pub fn link(concepts: &[ConditionConcept]) -> (ConditionVocab, Vec<String>) {
        let mut v = ConditionVocab::default();
        let mut problems = Vec::new();
        for (id, c) in concepts.iter().enumerate() {
            v.preferred.push(c.name.clone());
            v.lent.push(
                std::iter::once(&c.name)
                    .chain(&c.synonyms)
                    .map(|n| fold(n))
                    .collect(),
            );
            let named = std::iter::once(&c.name).chain(&c.synonyms);
            for (n, lends) in named
                .map(|n| (n, true))
                .chain(c.includes.iter().map(|n| (n, false)))
            {
                let k = key(n);
                if k.is_empty() {
                    problems.push(format!("{}: condition `{}`: empty name", c.origin, c.name));
                    continue;
                }
                if lends {
                    if let Some(&other) = v.names.get(&k) {
                        if other != id {
                            problems.push(format!(
                                "{}: condition `{}`: `{n}` is already a name of `{}`",
                                c.origin, c.name, concepts[other].name
                            ));
                        }
                        continue;
                    }
                    v.names.insert(k.clone(), id);
                }
                let short = lends && k.chars().filter(|c| c.is_alphanumeric()).count() <= 3;
                v.phrases.push((k, id, lends, short));
            }
            for s in &c.snomed {
                if let Some(&other) = v.snomed.get(s.trim()) {
                    if other != id {
                        problems.push(format!(
                            "{}: condition `{}`: SNOMED CT {s} is already `{}`",
                            c.origin, c.name, concepts[other].name
                        ));
                    }
                }
                v.snomed.insert(s.trim().to_string(), id);
            }
            for code in &c.icd10 {
                v.icd10.push((icd_key(code), id));
            }
        }
        // A kind of a wider concept matches the wider concept's rule terms.
        for (id, c) in concepts.iter().enumerate() {
            let mut seen = vec![id];
            let mut stack: Vec<&String> = c.broader.iter().collect();
            while let Some(b) = stack.pop() {
                match v.concept(b) {
                    Some(w) if !seen.contains(&w) => {
                        seen.push(w);
                        let wider = v.lent[w].clone();
                        v.lent[id].extend(wider);
                        stack.extend(concepts[w].broader.iter());
                    }
                    Some(_) => {}
                    None => problems.push(format!(
                        "{}: condition `{}`: unknown broader condition `{b}`",
                        c.origin, c.name
                    )),
                }
            }
        }
        // Longest phrases first, so "heart failure with preserved ejection
        // fraction" is found before "heart failure".
        v.phrases
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        v.icd10.sort_by_key(|b| std::cmp::Reverse(b.0.len()));
        (v, problems)
    }

    pub fn len(&self) -> usize {
        self.preferred.len()
    }

    pub fn is_empty(&self) -> bool {
        self.preferred.is_empty()
    }

    /// The concepts a code stands for: its SNOMED CT concept, or every
    /// concept with an ICD-10-CM prefix the code starts with (E11.10 is
    /// type 2 diabetes and diabetic ketoacidosis).
    pub fn by_code(&self, code: &ConditionCode) -> Vec<ConceptId> {
        match code.system {
            CodeSystem::Snomed => self
                .snomed
                .get(code.code.trim())
                .copied()
                .into_iter()
                .collect(),
            CodeSystem::Icd10Cm => {
                let k = icd_key(&code.code);
                let mut ids: Vec<ConceptId> = self
                    .icd10
                    .iter()
                    .filter(|(p, _)| k.starts_with(p.as_str()))
                    .map(|&(_, id)| id)
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        }
    }

    /// The concept whose preferred name is `name`.
    pub fn concept(&self, name: &str) -> Option<ConceptId> {
        self.preferred.iter().position(|p| p == name)
    }

    /// Concepts named in `text`: (concept, lends its names).
    fn in_text(&self, text: &str) -> (Vec<(ConceptId, bool)>, bool) {
        let k = key(untagged(text));
        if let Some(&id) = self.names.get(&k) {
            return (vec![(id, true)], true);
        }
        let mut found: Vec<(ConceptId, bool)> = Vec::new();
        let mut covered = vec![false; k.len()];
        for (phrase, id, lends, short) in &self.phrases {
            let Some(at) = find_words(&k, phrase) else {
                continue;
            };
            // a longer phrase already took these words
            if covered[at..at + phrase.len()].iter().all(|&c| c) {
                continue;
            }
            if *short {
                let rest = format!("{} {}", &k[..at], &k[at + phrase.len()..]);
                // qualifier words, or stage-like codes ("4", "3b", "g4")
                let stage = |w: &str| w.len() <= 3 && w.chars().any(|c| c.is_ascii_digit());
                if !rest
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .all(|w| QUALIFIERS.contains(&w) || stage(w))
                {
                    continue;
                }
            }
            covered[at..at + phrase.len()]
                .iter_mut()
                .for_each(|c| *c = true);
            match found.iter_mut().find(|(f, _)| f == id) {
                Some(f) => f.1 |= lends,
                None => found.push((*id, *lends)),
            }
        }
        (found, false)
    }

    /// Reads one condition.
    pub fn read(&self, text: &str, code: Option<&ConditionCode>) -> ConditionReading {
        let by_code = code.map(|c| self.by_code(c)).unwrap_or_default();
        let (mut found, whole) = self.in_text(text);
        let via = match (by_code.is_empty(), whole, found.is_empty()) {
            (false, ..) => ConditionVia::Code,
            (true, true, _) => ConditionVia::Name,
            (true, false, false) => ConditionVia::Phrase,
            (true, false, true) => ConditionVia::Unrecognised,
        };
        for &id in &by_code {
            match found.iter_mut().find(|(f, _)| *f == id) {
                Some(f) => f.1 = true,
                None => found.push((id, true)),
            }
        }
        found.sort_by_key(|&(id, _)| id);
        let mut terms = vec![fold(text)];
        for &(id, lends) in &found {
            if lends {
                terms.extend(self.lent[id].iter().cloned());
            }
        }
        let did_you_mean = (via == ConditionVia::Unrecognised)
            .then(|| self.did_you_mean(text))
            .flatten();
        ConditionReading {
            text: text.to_string(),
            code: code.cloned(),
            read_as: found
                .iter()
                .map(|&(id, _)| self.preferred[id].clone())
                .collect(),
            via,
            did_you_mean,
            code_unknown: code.is_some() && by_code.is_empty(),
            terms,
            concepts: found.into_iter().map(|(id, _)| id).collect(),
        }
    }

    /// The one concept with a name, synonym or phrase within a few typing
    /// errors of the text or of a run of its words (one edit per five
    /// letters; names of five letters or more only).
    pub fn did_you_mean(&self, text: &str) -> Option<String> {
        let k = key(untagged(text));
        if k.chars().count() > crate::kb::names::FUZZY_MAX_CHARS {
            return None;
        }
        let words: Vec<&str> = k.split(' ').filter(|w| !w.is_empty()).collect();
        let mut closest = crate::kb::names::Closest::default();
        for (phrase, id, _, _) in &self.phrases {
            let len = phrase.chars().count();
            if len < 5 {
                continue;
            }
            let limit = (len / 5).max(1);
            let n = phrase.split(' ').count();
            if n > words.len() {
                continue;
            }
            for w in words.windows(n) {
                let candidate = w.join(" ");
                if candidate.len().abs_diff(phrase.len()) <= limit {
                    closest.offer(&candidate, phrase, limit, *id);
                }
            }
        }
        closest.unique().map(|id| self.preferred[id].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> &'static ConditionVocab {
        &crate::kb::bundled_for_tests().conditions
    }

    fn read_as(text: &str) -> Vec<String> {
        vocab().read(text, None).read_as
    }

    /// Every condition term a kb rule matches on is a wording the
    /// vocabulary knows, so a patient recorded with the rule's own word is
    /// never "not recognised".
    #[test]
    fn every_rule_term_is_in_the_vocabulary() {
        let kb = crate::kb::bundled_for_tests();
        let mut missing = Vec::new();
        for rule in &kb.records.rules {
            // (`conditions_none` holds exclusion fragments such as
            // "diastolic", not conditions.)
            for w in rule.when.parts() {
                for t in &w.conditions_any {
                    if !kb.conditions.read(t, None).recognised() {
                        missing.push(format!("{} ({})", t, rule.id));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "not in kb/conditions/: {missing:?}");
    }

    #[test]
    fn abbreviations_and_ehr_wordings_are_read() {
        for (text, want) in [
            ("AF", "atrial fibrillation"),
            ("Paroxysmal AF", "atrial fibrillation"),
            ("afib", "atrial fibrillation"),
            ("CKD 4", "chronic kidney disease"),
            ("CKD stage 3b", "chronic kidney disease"),
            ("Chronic kidney disease stage 4", "chronic kidney disease"),
            ("HFrEF", "heart failure with reduced ejection fraction"),
            ("HFpEF", "heart failure with preserved ejection fraction"),
            ("T2DM", "type 2 diabetes"),
            ("COPD", "chronic obstructive pulmonary disease"),
            ("HTN", "hypertension"),
            (
                "Chronic congestive heart failure (disorder)",
                "heart failure",
            ),
            ("Body mass index 30+ - obesity (finding)", "obesity"),
            (
                "History of myocardial infarction (situation)",
                "myocardial infarction",
            ),
            ("Alzheimer's disease (disorder)", "alzheimer's disease"),
            ("Sprain of ankle", "injury"),
        ] {
            assert_eq!(read_as(text), [want], "{text}");
        }
        // Two conditions in one text are both read.
        assert_eq!(
            read_as("Neuropathy due to type 2 diabetes mellitus (disorder)"),
            ["type 2 diabetes", "neuropathy"]
        );
    }

    #[test]
    fn a_short_abbreviation_needs_the_rest_to_be_qualifiers() {
        // "PD" is Parkinson's disease alone, not inside "PD-L1 positive".
        assert_eq!(read_as("PD"), ["parkinson's disease"]);
        assert_eq!(read_as("PD-L1 positive lung cancer"), ["cancer"]);
        assert_eq!(read_as("history of MI"), ["myocardial infarction"]);
        assert!(read_as("MIxed connective tissue").is_empty());
    }

    #[test]
    fn a_kind_of_a_wider_condition_matches_its_rule_terms() {
        let r = vocab().read("HFrEF", None);
        assert!(r.matches("heart failure") && r.matches("chf"));
        let r = vocab().read("T2DM", None);
        assert!(r.matches("diabetes"));
        // A concept recognised through an `includes` phrase lends nothing.
        let r = vocab().read("Sprain of ankle", None);
        assert!(r.recognised() && !r.matches("injury"));
        // Nor does a synonym reach a narrower rule term.
        let r = vocab().read("CHF", None);
        assert!(!r.matches("acute heart failure"));
        let r = vocab().read("AF", None);
        assert!(!r.matches("permanent atrial fibrillation"));
    }

    #[test]
    fn codes_read_before_words() {
        let snomed = ConditionCode {
            system: CodeSystem::Snomed,
            code: "49436004".into(),
        };
        let r = vocab().read("Irregular heartbeat", Some(&snomed));
        assert_eq!(r.via, ConditionVia::Code);
        assert_eq!(r.read_as, ["atrial fibrillation"]);
        let unknown = ConditionCode {
            system: CodeSystem::Snomed,
            code: "1".into(),
        };
        let r = vocab().read("Hypertension", Some(&unknown));
        assert_eq!(r.via, ConditionVia::Name);
        assert!(r.code_unknown);
        assert!(r.describe().contains("not in the vocabulary"));
    }

    #[test]
    fn misspelt_conditions_are_not_guessed_but_suggested() {
        for (typed, want) in [
            ("atrial fibrilation", "atrial fibrillation"),
            ("hypertenshun", "hypertension"),
            ("Paroxysmal atrial fibrilation", "atrial fibrillation"),
            ("epilepsey", "epilepsy"),
        ] {
            let r = vocab().read(typed, None);
            assert!(!r.recognised(), "{typed} must not be read as anything");
            assert_eq!(r.did_you_mean.as_deref(), Some(want), "{typed}");
        }
        assert_eq!(vocab().read("zzqxv wobble", None).did_you_mean, None);
    }

    #[test]
    fn absence_is_recognised_as_absence() {
        for t in ["None", "nil", "No known medical conditions"] {
            let r = vocab().read(t, None);
            assert_eq!(r.read_as, ["no known conditions"], "{t}");
        }
    }

    #[test]
    fn icd10_codes_read_as_every_concept_whose_prefix_they_start_with() {
        let code = |c: &str| ConditionCode {
            system: CodeSystem::Icd10Cm,
            code: c.into(),
        };
        let read = |c: &str| vocab().read("", Some(&code(c))).read_as;
        assert_eq!(read("I48.91"), ["atrial fibrillation"]);
        assert_eq!(read("I4891"), ["atrial fibrillation"]);
        assert_eq!(read("I48.92"), ["atrial flutter"]);
        assert_eq!(read("N18.4"), ["chronic kidney disease"]);
        assert_eq!(read("J45.909"), ["asthma"]);
        assert_eq!(
            read("I50.22"),
            [
                "heart failure",
                "heart failure with reduced ejection fraction"
            ]
        );
        assert_eq!(read("E11.10"), ["type 2 diabetes", "diabetic ketoacidosis"]);
        // Overweight is not obesity; transient global amnesia is not a TIA.
        assert!(read("E66.3").is_empty());
        assert!(read("G45.4").is_empty());
        // A CKD code lends CKD's names to the rules; a text says nothing else.
        let r = vocab().read(
            "Chronic kidney disease stage 4 (severe)",
            Some(&code("N18.4")),
        );
        assert_eq!(r.via, ConditionVia::Code);
    }

    /// Every distinct condition display of the Synthea R4 sample, with its
    /// SNOMED CT code: read by code and text it must give the concepts the
    /// fixture's hand-written column names; read by its text alone (as a
    /// pharmacist would type it) it must still be recognised.
    #[test]
    fn synthea_sample_conditions_are_read() {
        let text = include_str!("../../tests/fixtures/synthea/condition-names.tsv");
        let (mut names, mut right, mut by_text, mut codings, mut right_codings) = (0, 0, 0, 0, 0);
        let mut wrong = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let [code, count, name, expected] = cols[..] else {
                panic!("bad fixture line: {line}");
            };
            let count: usize = count.parse().expect("count");
            names += 1;
            codings += count;
            let coded = ConditionCode {
                system: CodeSystem::Snomed,
                code: code.to_string(),
            };
            let got = vocab().read(name, Some(&coded));
            let want: Vec<&str> = if expected == "-" {
                Vec::new()
            } else {
                expected.split(" + ").collect()
            };
            if got.read_as == want {
                right += 1;
                right_codings += count;
            } else {
                wrong.push(format!("{name}: {:?}, expected {want:?}", got.read_as));
            }
            if vocab().read(name, None).recognised() != want.is_empty() {
                by_text += 1;
            }
        }
        eprintln!(
            "synthea conditions: {right}/{names} names read right by code and text, {right_codings}/{codings} codings; {by_text}/{names} recognised by text alone"
        );
        assert!(wrong.is_empty(), "{wrong:#?}");
        assert_eq!(
            by_text, names,
            "every display must be recognised by its words too"
        );
    }
}
