//! Drug-name normalisation and fuzzy suggestions.

use crate::vocab::text;
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;

/// Folded ([`text::fold`]: NFKC, hidden characters gone, accents folded,
/// lower case), then hyphens/underscores/slashes/plus/quotes as spaces,
/// ® and ™ gone, whitespace collapsed, a final full stop dropped.
pub fn normalise(name: &str) -> String {
    let lowered: String = fold_name(name)
        .chars()
        // folding can make one ("﹡" is "*")
        .filter(|&c| c != '*')
        .map(|c| match c {
            '-' | '_' | '/' | '+' | ',' | '(' | ')' | '"' | '\'' | '`' | '“' | '”' | '‘' | '’'
            | '«' | '»' => ' ',
            c => c,
        })
        .collect();
    // a full stop that ends the name ends the sentence, not the name
    // ("Warfarin.", "Tylenol No. 3.")
    lowered
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', ' '])
        .to_string()
}

/// A drug name [`text::fold`]ed, with ® and ™ removed first (folding
/// would spell ™ out as "tm"). What [`normalise`] and the EHR-name parser
/// both start from.
pub fn fold_name(name: &str) -> String {
    let bare: String = name.chars().filter(|&c| !matches!(c, '®' | '™')).collect();
    text::fold(&bare)
}

/// Words that may trail a drug name without changing the drug.
const TRAILING: &[&str] = &[
    "hydrochloride",
    "hcl",
    "hydrobromide",
    "sodium",
    "potassium",
    "calcium",
    "magnesium",
    "sulfate",
    "sulphate",
    "succinate",
    "tartrate",
    "maleate",
    "mesylate",
    "besylate",
    "besilate",
    "fumarate",
    "citrate",
    "acetate",
    "phosphate",
    "bromide",
    "dihydrate",
    "monohydrate",
    "trihydrate",
    "er",
    "xr",
    "xl",
    "sr",
    "cr",
    "mr",
    "la",
    "dr",
    "ec",
    "ir",
    "od",
    "extended",
    "release",
    "modified",
    "delayed",
    "immediate",
    "oral",
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "capsule",
    "capsules",
    "cap",
    "caps",
    "solution",
    "suspension",
    "injection",
    "iv",
    "po",
    "cream",
    "gel",
    "patch",
    "inhaler",
    "and",
];

fn is_strength(word: &str) -> bool {
    let w = word.trim_end_matches(['g', 'm', 'c', 'u', 'l', 'µ', 'x', '%']);
    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.')
        || matches!(word, "mg" | "g" | "mcg" | "ug" | "ml" | "unit" | "units")
}

/// Words of a prescription's directions that may trail a name typed with
/// its sig ("warfarin 5 mg po daily", "... tablet by mouth once daily"):
/// routes, frequencies and instructions. Stripped from the end only, and
/// only after the whole name failed to match.
const SIG: &[&str] = &[
    "daily",
    "qd",
    "od",
    "bid",
    "bd",
    "tid",
    "tds",
    "qid",
    "qds",
    "qhs",
    "hs",
    "qam",
    "qpm",
    "qod",
    "prn",
    "stat",
    "once",
    "twice",
    "weekly",
    "nightly",
    "morning",
    "evening",
    "bedtime",
    "night",
    "by",
    "mouth",
    "orally",
    "take",
    "with",
    "food",
    "water",
    "meals",
    "as",
    "needed",
    "directed",
    "times",
    "day",
    "every",
    "per",
    "sublingual",
    "sl",
    "im",
    "sc",
    "subcut",
    "inhaled",
    "topically",
    "q4h",
    "q6h",
    "q8h",
    "q12h",
    "q24h",
];

fn is_sig(word: &str) -> bool {
    SIG.contains(&word)
        || word
            .strip_prefix('x')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Keys to try, most specific first: the whole normalised name, then with
/// trailing salt/release/form words and strengths removed one by one.
pub fn candidates(typed: &str) -> Vec<String> {
    let norm = normalise(typed);
    let mut out = vec![norm.clone()];
    // "warfarin; take with food": what follows a semicolon is directions
    let head = normalise(typed.split([';', ':']).next().unwrap_or(typed));
    let mut words: Vec<&str> = head.split(' ').collect();
    if head != norm {
        out.push(head.clone());
    }
    while words.len() > 1 {
        let last = words[words.len() - 1];
        if TRAILING.contains(&last) || is_strength(last) || is_sig(last) {
            words.pop();
            out.push(words.join(" "));
        } else {
            break;
        }
    }
    // "metformin 500 mg extended release": strip strengths anywhere after
    // the first word.
    let no_strength: Vec<&str> = norm
        .split(' ')
        .enumerate()
        .filter(|(i, w)| *i == 0 || !(is_strength(w) || TRAILING.contains(w)))
        .map(|(_, w)| w)
        .collect();
    let joined = no_strength.join(" ");
    if !out.contains(&joined) {
        out.push(joined);
    }
    out
}

/// The longest text the fuzzy suggestions look at (characters).
pub const FUZZY_MAX_CHARS: usize = 80;

/// Up to `n` distinct drugs whose names are closest to `typed`: fuzzy
/// subsequence matches first (typing a prefix or dropping letters), then
/// edit distance (transposed or wrong letters).
pub fn closest(typed: &str, names: &[(String, usize)], n: usize) -> Vec<usize> {
    let query = normalise(typed);
    // edit distance is quadratic in the length: a "name" past this is not
    // one, and gets no suggestion rather than seconds of work
    if query.is_empty() || query.chars().count() > FUZZY_MAX_CHARS {
        return Vec::new();
    }
    let matcher = SkimMatcherV2::default();
    let mut scored: Vec<(f64, &str, usize)> = names
        .iter()
        .map(|(name, id)| {
            let norm = normalise(name);
            let sim = strsim::normalized_damerau_levenshtein(&query, &norm);
            let fuzzy = matcher.fuzzy_match(&norm, &query).map_or(0.0, |s| {
                (s as f64 / (query.len().max(1) as f64 * 30.0)).min(1.0)
            });
            (sim.max(fuzzy * 0.9), name.as_str(), *id)
        })
        .filter(|(s, _, _)| *s >= 0.45)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out = Vec::new();
    for (_, _, id) in scored {
        if !out.contains(&id) {
            out.push(id);
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// The one candidate closest to a typed text ("did you mean"): the
/// smallest edit distance (Damerau-Levenshtein) within each candidate's
/// limit, and no other candidate at that distance. An exact match is not a
/// suggestion.
#[derive(Debug)]
pub struct Closest<Id> {
    best: Option<(usize, Id)>,
    tie: bool,
}

impl<Id: Copy + PartialEq> Default for Closest<Id> {
    fn default() -> Self {
        Closest {
            best: None,
            tie: false,
        }
    }
}

impl<Id: Copy + PartialEq> Closest<Id> {
    /// Considers `candidate` (standing for `id`) for `typed`, allowing
    /// `limit` edits.
    pub fn offer(&mut self, typed: &str, candidate: &str, limit: usize, id: Id) {
        let d = strsim::damerau_levenshtein(typed, candidate);
        if d == 0 || d > limit {
            return;
        }
        match self.best {
            Some((bd, bid)) if d == bd && bid != id => self.tie = true,
            Some((bd, _)) if d >= bd => {}
            _ => {
                self.best = Some((d, id));
                self.tie = false;
            }
        }
    }

    /// The closest candidate, unless two stood equally close.
    pub fn unique(self) -> Option<Id> {
        match (self.best, self.tie) {
            (Some((_, id)), false) => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_case_and_punctuation() {
        assert_eq!(
            normalise("  Amoxicillin-Clavulanate "),
            "amoxicillin clavulanate"
        );
        assert_eq!(normalise("Tylenol®"), "tylenol");
        assert_eq!(
            normalise("War\u{200B}farin\u{FEFF} sodium"),
            "warfarin sodium"
        );
    }

    #[test]
    fn candidates_strip_salts_and_strengths() {
        let c = candidates("Metformin Hydrochloride ER 500 mg");
        assert!(c.contains(&"metformin".to_string()), "{c:?}");
        // A two-word drug name is tried whole first.
        assert_eq!(candidates("potassium chloride")[0], "potassium chloride");
    }

    #[test]
    fn closest_handles_typos() {
        let names = vec![
            ("warfarin".to_string(), 0),
            ("amoxicillin".to_string(), 1),
            ("amlodipine".to_string(), 2),
        ];
        assert_eq!(closest("warfrain", &names, 1), vec![0]);
        assert_eq!(closest("amoxicilin", &names, 1), vec![1]);
        assert!(closest("zzzzzz", &names, 3).is_empty());
    }

    proptest! {
        #[test]
        fn normalise_is_idempotent(s in "\\PC{0,40}") {
            let once = normalise(&s);
            prop_assert_eq!(normalise(&once), once.clone());
            let _ = candidates(&s);
        }
    }
}
