//! Retrieval: Okapi BM25 over passage title, drugs and text, with a boost
//! for passages about the drugs of the case. Deterministic: ties break on
//! passage id.

use super::model::Passage;
use std::collections::HashMap;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Added per case drug a passage is about.
pub const DRUG_BOOST: f64 = 2.0;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "with", "when",
    "which", "who", "will", "may", "can", "should", "not", "no", "than", "then", "there", "these",
    "those", "into", "if", "but", "also", "all", "any", "been", "being", "do", "does",
];

/// Lower-cased alphanumeric tokens without stopwords, with a light plural
/// strip so "statins" finds "statin".
pub fn tokenize(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.len() >= 2)
        .map(str::to_lowercase)
        .filter(|t| !STOPWORDS.contains(&t.as_str()))
        .map(|t| {
            if t.len() > 4 && t.ends_with('s') && !t.ends_with("ss") && !t.ends_with("us") {
                t[..t.len() - 1].to_string()
            } else {
                t
            }
        })
}

/// An in-memory inverted index.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<u32>,
    avg_len: f64,
    ids: Vec<String>,
    drugs: Vec<Vec<String>>,
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub id: String,
    pub score: f64,
}

impl SearchIndex {
    pub fn build(passages: &[Passage]) -> SearchIndex {
        let mut index = SearchIndex::default();
        for p in passages {
            index.add(&p.id, &p.title, &p.drugs, &p.text);
        }
        index.finish();
        index
    }

    /// Adds one document; call [`SearchIndex::finish`] after the last.
    pub fn add(&mut self, id: &str, title: &str, drugs: &[String], text: &str) {
        let doc = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len = 0u32;
        // The title counts twice: it says what the passage is about.
        for t in tokenize(title)
            .chain(tokenize(title))
            .chain(drugs.iter().flat_map(|d| tokenize(d)))
            .chain(tokenize(text))
        {
            *tf.entry(t).or_default() += 1;
            len += 1;
        }
        for (term, n) in tf {
            self.postings.entry(term).or_default().push((doc, n));
        }
        self.doc_len.push(len);
        self.ids.push(id.to_string());
        self.drugs
            .push(drugs.iter().map(|d| d.to_lowercase()).collect());
    }

    pub fn finish(&mut self) {
        let total: u64 = self.doc_len.iter().map(|&l| u64::from(l)).sum();
        self.avg_len = if self.doc_len.is_empty() {
            0.0
        } else {
            total as f64 / self.doc_len.len() as f64
        };
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Top `k` passages for `query`; passages about any of `boost_drugs`
    /// (generic names) get [`DRUG_BOOST`] each.
    pub fn search(&self, query: &str, boost_drugs: &[String], k: usize) -> Vec<Hit> {
        let scores = self.scores(query, boost_drugs);
        let mut hits: Vec<(u32, f64)> = scores.into_iter().filter(|(_, s)| *s > 0.0).collect();
        hits.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.ids[a.0 as usize].cmp(&self.ids[b.0 as usize]))
        });
        hits.truncate(k);
        hits.into_iter()
            .map(|(d, s)| Hit {
                id: self.ids[d as usize].clone(),
                score: (s * 100.0).round() / 100.0,
            })
            .collect()
    }

    /// The score of every document that matched anything.
    fn scores(&self, query: &str, boost_drugs: &[String]) -> HashMap<u32, f64> {
        let n = self.ids.len() as f64;
        let mut terms: Vec<String> = tokenize(query).collect();
        terms.sort();
        terms.dedup();
        let mut scores: HashMap<u32, f64> = HashMap::new();
        for term in &terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let df = list.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(doc, tf) in list {
                let tf = f64::from(tf);
                let len = f64::from(self.doc_len[doc as usize]);
                let norm =
                    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len.max(1.0)));
                *scores.entry(doc).or_default() += idf * norm;
            }
        }
        if !boost_drugs.is_empty() {
            let boost: Vec<String> = boost_drugs.iter().map(|d| d.to_lowercase()).collect();
            for (doc, drugs) in self.drugs.iter().enumerate() {
                let matched = drugs.iter().filter(|d| boost.contains(d)).count();
                if matched > 0 {
                    let doc = u32::try_from(doc).unwrap_or(u32::MAX);
                    *scores.entry(doc).or_default() += DRUG_BOOST * matched as f64;
                }
            }
        }
        scores
    }

    /// Scores of specific passages for `query` (0 when nothing matched), for
    /// reporting the passages a flag cites.
    pub fn score_of(&self, query: &str, boost_drugs: &[String], ids: &[String]) -> Vec<Hit> {
        let scores = self.scores(query, boost_drugs);
        ids.iter()
            .map(|id| {
                let score = self
                    .ids
                    .iter()
                    .position(|x| x == id)
                    .and_then(|d| scores.get(&u32::try_from(d).unwrap_or(u32::MAX)))
                    .copied()
                    .unwrap_or(0.0);
                Hit {
                    id: id.clone(),
                    score: (score * 100.0).round() / 100.0,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(id: &str, drugs: &[&str], text: &str) -> Passage {
        Passage {
            id: id.into(),
            drugs: drugs.iter().map(|s| s.to_string()).collect(),
            section: String::new(),
            title: id.replace('-', " "),
            source: "s".into(),
            url: None,
            identifier: None,
            license: "l".into(),
            text: text.into(),
            origin: Default::default(),
        }
    }

    #[test]
    fn ranks_relevant_passage_first_and_is_deterministic() {
        let docs = vec![
            passage(
                "metformin-renal",
                &["metformin"],
                "Metformin is contraindicated when eGFR is below 30.",
            ),
            passage(
                "warfarin-nsaid",
                &["warfarin"],
                "NSAIDs increase bleeding with warfarin.",
            ),
            passage(
                "amoxicillin-dose",
                &["amoxicillin"],
                "Amoxicillin 500 mg three times daily.",
            ),
        ];
        let idx = SearchIndex::build(&docs);
        let hits = idx.search("metformin renal eGFR", &[], 3);
        assert_eq!(hits[0].id, "metformin-renal");
        assert_eq!(hits, idx.search("metformin renal eGFR", &[], 3));
        // A passage about a case drug is retrieved even when no query term
        // matches it, and the boost adds to the BM25 score.
        let plain = idx.search("bleeding", &[], 3);
        assert_eq!(
            plain.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
            vec!["warfarin-nsaid"]
        );
        let boosted = idx.search("bleeding", &["amoxicillin".into(), "warfarin".into()], 3);
        assert_eq!(boosted[0].id, "warfarin-nsaid");
        assert!((boosted[0].score - plain[0].score - DRUG_BOOST).abs() < 0.011);
        assert!(boosted.iter().any(|h| h.id == "amoxicillin-dose"));
    }

    #[test]
    fn plural_and_case_insensitive() {
        let idx = SearchIndex::build(&[passage("x", &[], "Statins and CYP3A4 inhibitors")]);
        assert_eq!(idx.search("statin cyp3a4", &[], 1).len(), 1);
    }
}
