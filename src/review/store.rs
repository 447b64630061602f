//! Review scores in sled (`<data>/review.sled`), one JSON rubric per key
//! `eval dir \0 answer key`, flushed as entered. The rest of the program
//! never names sled.

use super::Rubric;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReviewStoreError {
    #[error("review store at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("review store: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> ReviewStoreError {
    ReviewStoreError::Io(e.to_string())
}

#[derive(Debug, Clone)]
pub struct ReviewStore {
    db: sled::Db,
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
        let (db, _) = crate::session::store::open_private(data_dir, "review.sled")
            .map_err(|(path, message)| ReviewStoreError::Open { path, message })?;
        Ok(ReviewStore { db })
    }

    fn key(run: &str, answer: &str) -> Vec<u8> {
        format!("{run}\0{answer}").into_bytes()
    }

    pub fn save(&self, run: &str, answer: &str, r: &Rubric) -> Result<(), ReviewStoreError> {
        let bytes = serde_json::to_vec(r).map_err(io)?;
        self.db.insert(Self::key(run, answer), bytes).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }

    /// Every rubric of one eval run, by answer key.
    pub fn load_run(&self, run: &str) -> BTreeMap<String, Rubric> {
        let prefix = format!("{run}\0");
        self.db
            .scan_prefix(prefix.as_bytes())
            .filter_map(Result::ok)
            .filter_map(|(k, v)| {
                let k = String::from_utf8(k.to_vec()).ok()?;
                let answer = k.strip_prefix(&prefix)?.to_string();
                Some((answer, serde_json::from_slice(&v).ok()?))
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
