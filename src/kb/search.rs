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
///
/// Postings are sorted by document (documents are numbered in the order
/// they are added, as `u32`). The drug boost has its own postings, so a
/// query touches only the documents that match it, never the whole corpus.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    postings: HashMap<String, Vec<(u32, u32)>>,
    /// Lower-cased drug -> (document, how many of its drug entries name it).
    drug_postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<u32>,
    avg_len: f64,
    ids: Vec<String>,
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub id: String,
    pub score: f64,
}

/// Per-thread scratch for scoring: a dense score array indexed by document
/// (grown once, reset only where touched) and the touched documents.
#[derive(Default)]
struct Scratch {
    score: Vec<f64>,
    boost: Vec<u32>,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
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
            match self.postings.get_mut(&term) {
                Some(list) => list.push((doc, n)),
                None => {
                    self.postings.insert(term, vec![(doc, n)]);
                }
            }
        }
        let mut lowered: Vec<String> = drugs.iter().map(|d| d.to_lowercase()).collect();
        lowered.sort_unstable();
        for run in lowered.chunk_by(|a, b| a == b) {
            let n = u32::try_from(run.len()).unwrap_or(u32::MAX);
            self.drug_postings
                .entry(run[0].clone())
                .or_default()
                .push((doc, n));
        }
        self.doc_len.push(len);
        self.ids.push(id.to_string());
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
        let mut hits: Vec<(u32, f64)> = self.with_scores(query, boost_drugs, |score, touched| {
            touched
                .iter()
                .map(|&d| (d, score[d as usize]))
                .filter(|(_, s)| *s > 0.0)
                .collect()
        });
        let order = |a: &(u32, f64), b: &(u32, f64)| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.ids[a.0 as usize].cmp(&self.ids[b.0 as usize]))
        };
        if k == 0 {
            return Vec::new();
        }
        if hits.len() > k {
            // Partial selection: only the top k are sorted.
            hits.select_nth_unstable_by(k - 1, order);
            hits.truncate(k);
        }
        hits.sort_unstable_by(order);
        hits.into_iter()
            .map(|(d, s)| Hit {
                id: self.ids[d as usize].clone(),
                score: (s * 100.0).round() / 100.0,
            })
            .collect()
    }

    /// Scores every document that matched anything into the thread's
    /// scratch, calls `f(scores, touched documents)`, then resets what it
    /// touched. Per document the additions happen in the same order as a
    /// plain per-query map would do them (query terms in sorted order, then
    /// one boost term), so scores are bit-for-bit stable.
    fn with_scores<R>(
        &self,
        query: &str,
        boost_drugs: &[String],
        f: impl FnOnce(&[f64], &[u32]) -> R,
    ) -> R {
        let n = self.ids.len() as f64;
        let mut terms: Vec<String> = tokenize(query).collect();
        terms.sort();
        terms.dedup();
        let avg_len = self.avg_len.max(1.0);
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let Scratch {
                score,
                boost,
                touched,
            } = &mut *guard;
            if score.len() < self.ids.len() {
                score.resize(self.ids.len(), 0.0);
                boost.resize(self.ids.len(), 0);
            }
            touched.clear();
            for term in &terms {
                let Some(list) = self.postings.get(term) else {
                    continue;
                };
                let df = list.len() as f64;
                let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                for &(doc, tf) in list {
                    let tf = f64::from(tf);
                    let len = f64::from(self.doc_len[doc as usize]);
                    let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg_len));
                    let b = &mut boost[doc as usize];
                    if *b & SEEN == 0 {
                        *b = SEEN;
                        touched.push(doc);
                    }
                    score[doc as usize] += idf * norm;
                }
            }
            if !boost_drugs.is_empty() {
                let mut wanted: Vec<String> =
                    boost_drugs.iter().map(|d| d.to_lowercase()).collect();
                wanted.sort_unstable();
                wanted.dedup();
                for drug in &wanted {
                    let Some(list) = self.drug_postings.get(drug) else {
                        continue;
                    };
                    for &(doc, count) in list {
                        let b = &mut boost[doc as usize];
                        if *b & SEEN == 0 {
                            *b = SEEN;
                            touched.push(doc);
                        }
                        *b += count;
                    }
                }
                for &doc in touched.iter() {
                    let matched = boost[doc as usize] & !SEEN;
                    if matched > 0 {
                        score[doc as usize] += DRUG_BOOST * f64::from(matched);
                    }
                }
            }
            let out = f(score, touched);
            for &doc in touched.iter() {
                score[doc as usize] = 0.0;
                boost[doc as usize] = 0;
            }
            touched.clear();
            out
        })
    }

    /// Scores of specific passages for `query` (0 when nothing matched), for
    /// reporting the passages a flag cites.
    pub fn score_of(&self, query: &str, boost_drugs: &[String], ids: &[String]) -> Vec<Hit> {
        let docs: Vec<Option<usize>> = ids
            .iter()
            .map(|id| self.ids.iter().position(|x| x == id))
            .collect();
        self.with_scores(query, boost_drugs, |score, _| {
            ids.iter()
                .zip(&docs)
                .map(|(id, doc)| Hit {
                    id: id.clone(),
                    score: (doc.map_or(0.0, |d| score[d]) * 100.0).round() / 100.0,
                })
                .collect()
        })
    }
}

/// High bit of a scratch boost counter: the document is in the touched
/// list. The low bits count its drug entries among the boosted drugs.
const SEEN: u32 = 1 << 31;

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
            evidence: None,
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
