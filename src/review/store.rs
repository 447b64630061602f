//! Review scores (`<data>/review.sled`, a [`crate::store::Store`]), one
//! JSON rubric per key `eval dir \0 answer key`, flushed as entered.

use super::Rubric;
use std::collections::BTreeMap;
use std::path::Path;

use crate::store::Store;
pub use crate::store::StoreError as ReviewStoreError;

#[derive(Debug, Clone)]
pub struct ReviewStore {
    store: Store<Rubric>,
}

/// The key of an eval run: its directory, made absolute when it exists.
pub fn run_key(eval_dir: &Path) -> String {
    std::fs::canonicalize(eval_dir)
        .unwrap_or_else(|_| eval_dir.to_path_buf())
        .display()
        .to_string()
}

impl ReviewStore {
    pub fn open(data_dir: &Path) -> Result<ReviewStore, ReviewStoreError> {
        Ok(ReviewStore {
            store: Store::open(data_dir, "review.sled", "review")?,
        })
    }

    fn key(run: &str, answer: &str) -> Vec<u8> {
        format!("{run}\0{answer}").into_bytes()
    }

    pub fn save(&self, run: &str, answer: &str, r: &Rubric) -> Result<(), ReviewStoreError> {
        self.store.put(&Self::key(run, answer), r)
    }

    /// Every rubric of one eval run, by answer key.
    pub fn load_run(&self, run: &str) -> BTreeMap<String, Rubric> {
        let prefix = format!("{run}\0");
        self.store
            .scan(prefix.as_bytes())
            .into_iter()
            .filter_map(|(k, r)| {
                let k = String::from_utf8(k).ok()?;
                Some((k.strip_prefix(&prefix)?.to_string(), r))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubrics_round_trip_per_run() {
        let dir = tempfile::tempdir().expect("tmp");
        let r = Rubric {
            scores: [Some(5), Some(4), None, Some(1), Some(3)],
            errors: Some(2),
            comment: "misses the eGFR".into(),
        };
        {
            let s = ReviewStore::open(dir.path()).expect("open");
            s.save("/runs/a", "c|rag-on|local|m", &r).expect("save");
            s.save("/runs/ab", "c|rag-on|local|m", &Rubric::default())
                .expect("save");
        }
        let s = ReviewStore::open(dir.path()).expect("reopen");
        let run = s.load_run("/runs/a");
        assert_eq!(run.len(), 1);
        assert_eq!(run.get("c|rag-on|local|m"), Some(&r));
    }
}
