//! Rehearsal progress in sled (`<data>/rehearse.sled`), one JSON attempt
//! per key `trainee \0 when \0 case`, flushed on every save. The rest of
//! the program never names sled.

use super::Attempt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    #[error("rehearsal store at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("rehearsal store: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> ProgressError {
    ProgressError::Io(e.to_string())
}

#[derive(Debug, Clone)]
pub struct ProgressStore {
    db: sled::Db,
}

impl ProgressStore {
    pub fn open(data_dir: &Path) -> Result<ProgressStore, ProgressError> {
        let (db, _) = crate::session::store::open_private(data_dir, "rehearse.sled")
            .map_err(|(path, message)| ProgressError::Open { path, message })?;
        Ok(ProgressStore { db })
    }

    fn key(a: &Attempt) -> Vec<u8> {
        format!("{}\0{}\0{}", a.trainee, a.when, a.case).into_bytes()
    }

    pub fn save(&self, attempt: &Attempt) -> Result<(), ProgressError> {
        let bytes = serde_json::to_vec(attempt).map_err(io)?;
        self.db.insert(Self::key(attempt), bytes).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }

    /// Every attempt of `trainee` (all trainees when `None`), oldest first.
    pub fn attempts(&self, trainee: Option<&str>) -> Vec<Attempt> {
        let iter = match trainee {
            Some(t) => self.db.scan_prefix(format!("{t}\0").as_bytes()),
            None => self.db.iter(),
        };
        let mut out: Vec<Attempt> = iter
            .filter_map(Result::ok)
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        out.sort_by(|a: &Attempt, b| a.when.cmp(&b.when).then(a.trainee.cmp(&b.trainee)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rehearse::{Decision, Score};

    #[test]
    fn attempts_round_trip_per_trainee() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Attempt {
            trainee: "ana".into(),
            case: "c1".into(),
            title: "t".into(),
            when: "2025-01-02 10:00:00".into(),
            decision: Decision::Avoid,
            spotted: vec![],
            typed: vec!["kidney".into()],
            score: Score::default(),
        };
        let mut b = a.clone();
        b.trainee = "anab".into();
        {
            let s = ProgressStore::open(dir.path()).expect("open");
            s.save(&a).expect("save");
            s.save(&b).expect("save");
        }
        let s = ProgressStore::open(dir.path()).expect("reopen");
        assert_eq!(s.attempts(Some("ana")), vec![a]);
        assert_eq!(s.attempts(None).len(), 2);
    }
}
