//! A medication name, as typed or as an EHR wrote it, to the knowledge
//! base's drugs: the one place that decides what a name means.
//!
//! Order of attempts, most literal first:
//! 1. the whole name (generic, synonym or brand, with salt and release
//!    words and a trailing strength tolerated: [`Kb::lookup`]);
//! 2. the name taken apart ([`rxname::parse`]): each ingredient phrase,
//!    comma-inverted forms ("insulin human, isophane"), and a misspelt salt
//!    word dropped ("amiodarone hydrocholoride"), never a word that could
//!    be another drug; several ingredients become the kb's combination
//!    product when it has one, else each ingredient on its own;
//! 3. the bracketed brand ("[Tegretol]") and words in parentheses.
//!
//! What could not be matched is kept (`unmatched`), so that a partly known
//! product is checked for the known part and reported for the rest.

use super::names;
use super::rxname::{self, ParsedName, Route};
use super::{DrugId, Kb};
use serde::Serialize;

/// What a name resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// One drug (or the kb's combination product), or each ingredient of a
    /// multi-ingredient product the kb has no record for. Empty when
    /// nothing matched.
    pub ids: Vec<DrugId>,
    pub via: Via,
    /// Ingredient phrases that matched nothing.
    pub unmatched: Vec<String>,
    /// Words of the name not used to match (a misspelt salt word).
    pub ignored: Vec<String>,
    /// Route and form, when the name gave them.
    pub route: Option<Route>,
    pub form: Option<String>,
}

/// How the match was made; said in `check --json` (`drugs[].via`) and the
/// trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The whole name is a generic name, synonym or brand.
    Name,
    /// The name was taken apart into ingredients.
    Ingredients,
    /// The brand in brackets or a name in parentheses.
    Brand,
    /// Nothing matched.
    None,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Name => "name",
            Via::Ingredients => "ingredients",
            Via::Brand => "brand",
            Via::None => "none",
        }
    }
}

/// Words that may follow an ingredient without naming another drug:
/// salts, esters, hydrates and sources, as RxNorm writes them. A word of
/// eight letters or more within two edits of one is taken as a misspelling
/// of it.
const QUALIFIERS: &[&str] = &[
    "hydrochloride",
    "hydrobromide",
    "bitartrate",
    "propionate",
    "dipropionate",
    "succinate",
    "tartrate",
    "hyclate",
    "mesylate",
    "besylate",
    "maleate",
    "fumarate",
    "citrate",
    "acetate",
    "phosphate",
    "sulfate",
    "sulphate",
    "chloride",
    "bromide",
    "sodium",
    "potassium",
    "calcium",
    "magnesium",
    "monohydrate",
    "dihydrate",
    "trihydrate",
    "anhydrous",
    "macrocrystals",
    "monohydrate macrocrystals",
    "human",
    "porcine",
    "bovine",
    "recombinant",
];

fn qualifier(word: &str) -> bool {
    QUALIFIERS.contains(&word)
        || word.chars().count() >= 8
            && QUALIFIERS
                .iter()
                .any(|q| q.len() >= 8 && strsim::damerau_levenshtein(word, q) <= 2)
}

/// An ingredient phrase without its trailing qualifier words
/// ("oxycodone hydrochloride" -> "oxycodone"); at least one word is kept.
fn core(phrase: &str) -> String {
    let mut words: Vec<&str> = phrase.split(' ').collect();
    while words.len() > 1 && words.last().is_some_and(|w| qualifier(w)) {
        words.pop();
    }
    words.join(" ")
}

impl Kb {
    /// What `typed` names: see the module doc for the order of attempts.
    pub fn resolve(&self, typed: &str) -> Resolution {
        let parsed = rxname::parse(typed);
        let base = Resolution {
            ids: Vec::new(),
            via: Via::None,
            unmatched: Vec::new(),
            ignored: Vec::new(),
            route: parsed.route,
            form: parsed.form.clone(),
        };
        if let Some(id) = self.lookup(typed) {
            return Resolution {
                ids: vec![id],
                via: Via::Name,
                ..base
            };
        }
        let by_parts = self.by_ingredients(&parsed);
        if !by_parts.ids.is_empty() && by_parts.unmatched.is_empty() {
            // "Glyburide 3 MG Oral Tablet [Glynase]": a brand that is a
            // product of exactly these ingredients (a formulation the kb
            // doses differently) is the more specific match.
            if let Some(id) = self.formulation_brand(&parsed, &by_parts.ids) {
                return Resolution {
                    ids: vec![id],
                    via: Via::Brand,
                    ..base
                };
            }
            return by_parts;
        }
        for alt in parsed.brand.iter().chain(&parsed.alternates) {
            if let Some(id) = self.lookup(alt) {
                return Resolution {
                    ids: vec![id],
                    via: Via::Brand,
                    ..base
                };
            }
        }
        by_parts
    }

    /// The bracketed brand's drug, when it is a kb product made of exactly
    /// the drugs the ingredients resolved to (and not one of them).
    fn formulation_brand(&self, parsed: &ParsedName, ids: &[DrugId]) -> Option<DrugId> {
        let brand = self.lookup(parsed.brand.as_ref()?)?;
        if ids.contains(&brand) {
            return None;
        }
        let mut parts = self.ingredients(brand);
        parts.sort_unstable();
        let mut want = ids.to_vec();
        want.sort_unstable();
        (!parts.is_empty() && parts == want).then_some(brand)
    }

    fn by_ingredients(&self, parsed: &ParsedName) -> Resolution {
        let base = |ids: Vec<DrugId>, unmatched, ignored| Resolution {
            via: if ids.is_empty() {
                Via::None
            } else {
                Via::Ingredients
            },
            ids,
            unmatched,
            ignored,
            route: parsed.route,
            form: parsed.form.clone(),
        };
        // "Amoxicillin 250 MG / Clavulanate 125 MG": the kb's combination
        // record by the ingredients' names joined ("amoxicillin
        // clavulanate"), salts dropped, in the order written or reversed.
        if parsed.ingredients.len() > 1 {
            let cores: Vec<String> = parsed.ingredients.iter().map(|i| core(&i.phrase)).collect();
            let mut reversed = cores.clone();
            reversed.reverse();
            for order in [cores, reversed] {
                if let Some(id) = self.lookup(&order.join(" ")) {
                    return base(vec![id], Vec::new(), Vec::new());
                }
            }
        }
        let mut ids: Vec<DrugId> = Vec::new();
        let mut unmatched = Vec::new();
        let mut ignored = Vec::new();
        for ing in &parsed.ingredients {
            match ing.phrase_variants().iter().find_map(|p| self.phrase(p)) {
                Some((id, dropped)) => {
                    ignored.extend(dropped);
                    // A kb combination product named as one ingredient
                    // phrase ("amlodipine benazepril") stands for its parts.
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                None => unmatched.push(ing.phrase.clone()),
            }
        }
        if ids.len() > 1 {
            if let Some(combo) = self.combination_of(&ids) {
                ids = vec![combo];
            }
        }
        base(ids, unmatched, ignored)
    }

    /// One ingredient phrase: as written, then without trailing qualifier
    /// words (which are returned as ignored).
    fn phrase(&self, phrase: &str) -> Option<(DrugId, Vec<String>)> {
        let mut words: Vec<&str> = phrase.split(' ').collect();
        let mut dropped = Vec::new();
        loop {
            if let Some(id) = self.lookup(&words.join(" ")) {
                // Only misspelt qualifiers are worth reporting: exact salt
                // words are part of the normal name.
                dropped.retain(|w: &String| !QUALIFIERS.contains(&w.as_str()));
                return Some((id, dropped));
            }
            match words.last() {
                Some(w) if words.len() > 1 && qualifier(w) => {
                    dropped.insert(0, (*w).to_string());
                    words.pop();
                }
                _ => return None,
            }
        }
    }

    /// The kb's combination product whose ingredients are exactly `ids`.
    fn combination_of(&self, ids: &[DrugId]) -> Option<DrugId> {
        let mut want: Vec<DrugId> = ids
            .iter()
            .flat_map(|&id| {
                let parts = self.ingredients(id);
                if parts.is_empty() {
                    vec![id]
                } else {
                    parts
                }
            })
            .collect();
        want.sort_unstable();
        want.dedup();
        // Only products containing the first ingredient can match.
        self.contained_in[*want.first()?]
            .iter()
            .copied()
            .find(|&c| {
                let mut have = self.ingredients(c);
                have.sort_unstable();
                have.dedup();
                have == want
            })
    }

    /// The one drug an unresolved name is most likely a misspelling of:
    /// the known name (generic, synonym or brand) within a few edits of it
    /// (one per five letters, at least one), when exactly one drug is that
    /// close. Used by the unknown-drug flag ("did you mean ibuprofen?")
    /// and never to resolve a name: a guess is said, not acted on.
    pub fn did_you_mean(&self, typed: &str) -> Option<String> {
        let parsed = rxname::parse(typed);
        let phrase = match parsed.ingredients.first() {
            Some(i) => core(&i.phrase),
            None => names::normalise(typed),
        };
        let len = phrase.chars().count();
        if !(4..=names::FUZZY_MAX_CHARS).contains(&len) {
            return None;
        }
        let limit = (len / 5).max(1);
        let mut closest = names::Closest::default();
        // `names` holds every generic, synonym and brand already normalised.
        for (name, id) in &self.names {
            // more than `limit` letters longer or shorter: more than `limit`
            // edits, whatever the letters
            if name.len().abs_diff(phrase.len()) > limit * 4 {
                continue;
            }
            closest.offer(&phrase, name, limit, *id);
        }
        closest.unique().map(|id| self.drug(id).name.clone())
    }

    /// Generic name(s) a resolution stands for, joined with " + ".
    pub fn generic_of(&self, r: &Resolution) -> Option<String> {
        (!r.ids.is_empty()).then(|| {
            r.ids
                .iter()
                .map(|&id| self.drug(id).name.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> &'static Kb {
        crate::kb::bundled_for_tests()
    }

    fn sorted(generic: &str) -> Vec<String> {
        let mut v: Vec<String> = generic.split(" + ").map(str::to_string).collect();
        v.sort();
        v
    }

    /// Issue 19, finding 1: decoration never changes what a name means.
    /// For every name the kb knows (generic, synonym, brand), each way a
    /// name arrives decorated (pasted invisible characters, fullwidth
    /// letters, an accent, punctuation, quotes, the other name in
    /// parentheses, a sig after it) resolves to the same drug(s).
    #[test]
    fn decorated_names_resolve_to_the_same_drug() {
        let kb = kb();
        let accent = |n: &str| -> String {
            let mut done = false;
            n.chars()
                .map(|c| match c {
                    'a' if !done => {
                        done = true;
                        'á'
                    }
                    'i' if !done => {
                        done = true;
                        'í'
                    }
                    c => c,
                })
                .collect()
        };
        let fullwidth = |n: &str| -> String {
            n.chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
                    c => c,
                })
                .collect()
        };
        type Decorate = Box<dyn Fn(&str) -> String>;
        let decorations: Vec<(&str, Decorate)> = vec![
            (
                "zero-width space",
                Box::new(|n: &str| {
                    let mid = n
                        .char_indices()
                        .nth(n.chars().count() / 2)
                        .map_or(0, |(i, _)| i);
                    format!("{}\u{200B}{}", &n[..mid], &n[mid..])
                }),
            ),
            (
                "soft hyphen",
                Box::new(|n: &str| {
                    let mid = n.char_indices().nth(1).map_or(0, |(i, _)| i);
                    format!("{}\u{00AD}{}", &n[..mid], &n[mid..])
                }),
            ),
            (
                "byte-order mark",
                Box::new(|n: &str| format!("\u{FEFF}{n}")),
            ),
            ("fullwidth", Box::new(fullwidth)),
            ("accent", Box::new(accent)),
            ("upper case", Box::new(|n: &str| n.to_uppercase())),
            ("full stop", Box::new(|n: &str| format!("{n}."))),
            ("comma", Box::new(|n: &str| format!("{n},"))),
            ("quotes", Box::new(|n: &str| format!("\"{n}\""))),
            ("sig", Box::new(|n: &str| format!("{n} po daily"))),
            (
                "dose and sig",
                Box::new(|n: &str| format!("{n} 5 mg tablet by mouth once daily")),
            ),
            (
                "semicolon",
                Box::new(|n: &str| format!("{n}; take with food")),
            ),
        ];
        let mut failures = Vec::new();
        let mut checked = 0;
        for drug in &kb.records.drugs {
            for name in std::iter::once(&drug.name)
                .chain(&drug.synonyms)
                .chain(&drug.brands)
            {
                let plain = kb.resolve(name);
                if plain.ids.is_empty() {
                    continue;
                }
                for (what, decorate) in &decorations {
                    let typed = decorate(name);
                    let got = kb.resolve(&typed);
                    checked += 1;
                    if got.ids != plain.ids {
                        failures.push(format!(
                            "{what}: {typed:?} -> {:?}, plain {:?}",
                            got.ids, plain.ids
                        ));
                    }
                }
            }
        }
        assert!(checked > 5000, "{checked}");
        assert!(
            failures.is_empty(),
            "{} of {checked}:\n{}",
            failures.len(),
            failures.join("\n")
        );
        // the other name in parentheses, both ways round
        for (typed, generic) in [
            ("warfarin (Coumadin)", "warfarin"),
            ("Coumadin (warfarin)", "warfarin"),
            ("Lipitor (atorvastatin)", "atorvastatin"),
        ] {
            assert_eq!(
                kb.generic_of(&kb.resolve(typed)).as_deref(),
                Some(generic),
                "{typed}"
            );
        }
    }

    /// The names real EHR exports write: every distinct medication name of
    /// the Synthea R4 sample (fixture header says where it comes from)
    /// resolves to the generic(s) it names, and a misspelt one does not
    /// resolve but suggests the right drug first.
    #[test]
    fn synthea_sample_names_resolve_to_the_right_generics() {
        let text = include_str!("../../tests/fixtures/synthea/medication-names.tsv");
        let (mut names, mut right, mut orders, mut right_orders) = (0, 0, 0, 0);
        let mut wrong = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            let [_code, count, name, expected] = cols[..] else {
                panic!("bad fixture line {line:?}");
            };
            let count: usize = count.parse().expect("count");
            names += 1;
            orders += count;
            let r = kb().resolve(name);
            let got = kb().generic_of(&r);
            let ok = match expected.strip_prefix('!') {
                Some(suggest) => {
                    got.is_none() && kb().did_you_mean(name).as_deref() == Some(suggest)
                }
                None => {
                    got.as_deref().map(sorted) == Some(sorted(expected)) && r.unmatched.is_empty()
                }
            };
            if ok {
                right += 1;
                right_orders += count;
            } else {
                wrong.push(format!("{name:?}: expected {expected}, got {got:?} {r:?}"));
            }
        }
        eprintln!(
            "synthea names: {right}/{names} distinct names right ({:.1}%), {right_orders}/{orders} codings",
            100.0 * right as f64 / names as f64
        );
        assert!(
            wrong.is_empty(),
            "{} wrong:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn a_second_drug_is_never_dropped_as_a_qualifier() {
        // "sitagliptin" is a drug, not a salt: the name must not quietly
        // become metformin alone.
        let r = kb().resolve("metformin sitagliptin");
        assert_ne!(kb().generic_of(&r).as_deref(), Some("metformin"), "{r:?}");
        // A misspelt second ingredient is reported, never dropped.
        let r = kb().resolve("Amlodipine 5 MG / Benazeprl 10 MG Oral Capsule");
        assert_eq!(r.unmatched, ["benazeprl"], "{r:?}");
        assert_eq!(kb().generic_of(&r).as_deref(), Some("amlodipine"));
    }

    #[test]
    fn did_you_mean_names_one_close_drug() {
        for (typed, want) in [
            ("ibuprofin", "ibuprofen"),
            ("amoxcillin", "amoxicillin"),
            ("metfromin", "metformin"),
            ("apixiban", "apixaban"),
            ("warfrain", "warfarin"),
            ("Simvistatin 10 MG", "simvastatin"),
        ] {
            assert_eq!(kb().did_you_mean(typed).as_deref(), Some(want), "{typed}");
        }
        // Nothing close, or too short to tell.
        assert_eq!(kb().did_you_mean("zzzzzzzz"), None);
        assert_eq!(kb().did_you_mean("abc"), None);
    }

    #[test]
    fn misspelt_salt_words_are_ignored_and_said() {
        let r = kb().resolve("3 ML Amiodarone hydrocholoride 50 MG/ML Prefilled Syringe");
        assert_eq!(kb().generic_of(&r).as_deref(), Some("amiodarone"));
        assert_eq!(r.ignored, ["hydrocholoride"]);
        assert_eq!(r.route, Some(Route::Injection));
    }

    #[test]
    fn qualifier_misspellings_need_a_long_word() {
        assert!(qualifier("hydrocholoride"));
        assert!(qualifier("sodium"));
        // Short words are never taken as misspelt salts.
        assert!(!qualifier("sodim"));
        assert!(!qualifier("sitagliptin"));
    }
}
