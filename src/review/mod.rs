//! Clinician review of model answers (`rxguide review EVAL_DIR`): the
//! answers an `eval` run wrote (`answers.json`) shown blinded (model and
//! RAG condition hidden, in a deterministic shuffled order), a rubric per
//! answer saved as it is entered, and at the end an unblinded table per
//! condition (model x RAG) with means and counts. The seed paper's
//! subjective clinician assessment as a reusable workflow.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | items, blind order, [`Rubric`], the per-condition summary, CSV and Markdown (no UI) |
//! | [`store`] | rubrics in sled, keyed by eval dir + answer |
//! | [`ui`] | the blinded screens and the unblinded summary |

pub mod store;
pub mod ui;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// One answer from `answers.json` (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Item {
    /// Stable key within the eval run (case, condition, backend, model).
    #[serde(skip)]
    pub key: String,
    pub case: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub rag: bool,
    #[serde(default)]
    pub backend: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub question: String,
    #[serde(default)]
    pub answer: String,
}

impl Item {
    /// "RAG on · backend/model" — revealed only at the end.
    pub fn condition_label(&self) -> String {
        let model = if self.model.is_empty() {
            self.backend.clone()
        } else {
            format!("{}/{}", self.backend, self.model)
        };
        format!("RAG {} · {model}", if self.rag { "on" } else { "off" })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: no answers to review")]
    Empty { path: String },
}

/// The rubric criteria, in the order they are asked.
pub const CRITERIA: [&str; 5] = [
    "adequacy",
    "completeness",
    "clarity",
    "personalisation",
    "usefulness",
];

/// One reviewer's scores for one answer; unset until entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rubric {
    /// 1-5 per criterion, in [`CRITERIA`] order.
    pub scores: [Option<u8>; 5],
    pub errors: Option<u32>,
    #[serde(default)]
    pub comment: String,
}

impl Rubric {
    /// Every criterion scored and the error count given.
    pub fn complete(&self) -> bool {
        self.scores.iter().all(Option::is_some) && self.errors.is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.iter().all(Option::is_none) && self.errors.is_none() && self.comment.is_empty()
    }
}

/// Reads `EVAL_DIR/answers.json` and gives each answer its key.
pub fn load_items(eval_dir: &Path) -> Result<Vec<Item>, ReviewError> {
    let path = eval_dir.join("answers.json");
    let fail = |message: String| ReviewError::Read {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
    let mut items: Vec<Item> = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "{e}; expected the answers.json that rxguide eval writes"
        ))
    })?;
    if items.is_empty() {
        return Err(ReviewError::Empty {
            path: path.display().to_string(),
        });
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for it in &mut items {
        let base = format!(
            "{}|{}|{}|{}",
            it.case,
            if it.rag { "rag-on" } else { "rag-off" },
            it.backend,
            it.model
        );
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        it.key = if *n == 1 { base } else { format!("{base}#{n}") };
    }
    Ok(items)
}

/// The blinded order: sorted by a hash of each key, so the same eval run
/// always shows the same order and conditions are interleaved.
pub fn blind_order(items: &mut [Item]) {
    items.sort_by_cached_key(|it| {
        let mut h = Sha256::new();
        h.update(b"rxguide-review\0");
        h.update(it.key.as_bytes());
        let d = h.finalize();
        (d.to_vec(), it.key.clone())
    });
}

/// Means and counts for one condition (model x RAG).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConditionRow {
    pub condition: String,
    pub answers: usize,
    pub reviewed: usize,
    /// Mean per criterion over the answers scored on it, with that count.
    pub means: [(Option<f64>, usize); 5],
    pub mean_errors: Option<f64>,
    pub total_errors: u32,
}

/// The unblinded table, one row per condition, sorted by name.
pub fn summarise(items: &[Item], rubrics: &BTreeMap<String, Rubric>) -> Vec<ConditionRow> {
    let mut groups: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for it in items {
        groups.entry(it.condition_label()).or_default().push(it);
    }
    groups
        .into_iter()
        .map(|(condition, list)| {
            let rs: Vec<&Rubric> = list
                .iter()
                .filter_map(|it| rubrics.get(&it.key))
                .filter(|r| !r.is_empty())
                .collect();
            let mut means = [(None, 0); 5];
            for (i, m) in means.iter_mut().enumerate() {
                let v: Vec<f64> = rs
                    .iter()
                    .filter_map(|r| r.scores[i])
                    .map(f64::from)
                    .collect();
                *m = (mean(&v), v.len());
            }
            let errs: Vec<u32> = rs.iter().filter_map(|r| r.errors).collect();
            ConditionRow {
                condition,
                answers: list.len(),
                reviewed: rs.len(),
                means,
                mean_errors: mean(&errs.iter().map(|&e| f64::from(e)).collect::<Vec<_>>()),
                total_errors: errs.iter().sum(),
            }
        })
        .collect()
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn fmt_mean(m: Option<f64>) -> String {
    m.map_or("—".into(), |v| format!("{v:.2}"))
}

/// The per-condition table as Markdown.
pub fn markdown(rows: &[ConditionRow]) -> String {
    let mut out = String::from("| condition | answers | reviewed |");
    for c in CRITERIA {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str(" errors (mean) | errors (total) |\n|---|---:|---:|");
    out.push_str(&"---:|".repeat(CRITERIA.len() + 2));
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} |",
            r.condition, r.answers, r.reviewed
        ));
        for (m, n) in r.means {
            out.push_str(&format!(" {} (n={n}) |", fmt_mean(m)));
        }
        out.push_str(&format!(
            " {} | {} |\n",
            fmt_mean(r.mean_errors),
            r.total_errors
        ));
    }
    out
}

/// Every answer's rubric as CSV, unblinded.
pub fn csv(eval_dir: &str, items: &[Item], rubrics: &BTreeMap<String, Rubric>) -> String {
    use crate::tui::modes::csv_field as f;
    let mut out = String::from("eval_dir,answer,case,backend,model,rag");
    for c in CRITERIA {
        out.push_str(&format!(",{c}"));
    }
    out.push_str(",errors,comment\n");
    let none = Rubric::default();
    for it in items {
        let r = rubrics.get(&it.key).unwrap_or(&none);
        out.push_str(&format!(
            "{},{},{},{},{},{}",
            f(eval_dir),
            f(&it.key),
            f(&it.case),
            f(&it.backend),
            f(&it.model),
            if it.rag { "on" } else { "off" }
        ));
        for s in r.scores {
            out.push_str(&format!(
                ",{}",
                s.map(|v| v.to_string()).unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            ",{},{}\n",
            r.errors.map(|v| v.to_string()).unwrap_or_default(),
            f(&r.comment)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(case: &str, rag: bool, model: &str) -> Item {
        Item {
            key: format!("{case}|{rag}|{model}"),
            case: case.into(),
            condition: String::new(),
            rag,
            backend: "local".into(),
            model: model.into(),
            question: "q".into(),
            answer: "a".into(),
        }
    }

    #[test]
    fn blind_order_is_deterministic_and_mixes_conditions() {
        let mut a: Vec<Item> = (0..8)
            .flat_map(|i| {
                [
                    item(&format!("c{i}"), true, "m"),
                    item(&format!("c{i}"), false, "m"),
                ]
            })
            .collect();
        let mut b = a.clone();
        b.reverse();
        blind_order(&mut a);
        blind_order(&mut b);
        assert_eq!(a, b);
        let rags: Vec<bool> = a.iter().map(|i| i.rag).collect();
        assert!(rags.windows(2).any(|w| w[0] != w[1]));
        assert_ne!(rags[..8], [true; 8]);
    }

    #[test]
    fn summary_means_and_counts_per_condition() {
        let items = vec![
            item("a", true, "m"),
            item("b", true, "m"),
            item("a", false, "m"),
        ];
        let mut r = BTreeMap::new();
        r.insert(
            items[0].key.clone(),
            Rubric {
                scores: [Some(4), Some(3), Some(5), Some(2), Some(4)],
                errors: Some(1),
                comment: String::new(),
            },
        );
        r.insert(
            items[1].key.clone(),
            Rubric {
                scores: [Some(2), None, None, None, None],
                errors: Some(0),
                comment: "x, y".into(),
            },
        );
        let rows = summarise(&items, &r);
        assert_eq!(rows.len(), 2);
        let off = &rows[0];
        assert_eq!(off.condition, "RAG off · local/m");
        assert_eq!((off.answers, off.reviewed), (1, 0));
        let on = &rows[1];
        assert_eq!((on.answers, on.reviewed), (2, 2));
        assert_eq!(on.means[0], (Some(3.0), 2));
        assert_eq!(on.means[1], (Some(3.0), 1));
        assert_eq!(on.mean_errors, Some(0.5));
        let md = markdown(&rows);
        assert!(
            md.contains("| RAG on · local/m | 2 | 2 | 3.00 (n=2) |"),
            "{md}"
        );
        let c = csv("run", &items, &r);
        assert!(c.contains(",on,2,,,,,0,\"x, y\"\n"), "{c}");
    }
}
