//! Rehearsal progress (`<data>/rehearse.sled`, a [`crate::store::Store`]),
//! one JSON attempt per key `trainee \0 when \0 case`, flushed on every
//! save.

use super::Attempt;
use std::path::Path;

use crate::store::Store;
pub use crate::store::StoreError as ProgressError;

#[derive(Debug, Clone)]
pub struct ProgressStore {
    store: Store<Attempt>,
}

impl ProgressStore {
    pub fn open(data_dir: &Path) -> Result<ProgressStore, ProgressError> {
        Ok(ProgressStore {
            store: Store::open(data_dir, "rehearse.sled", "rehearsal")?,
        })
    }

    fn key(a: &Attempt) -> Vec<u8> {
        format!("{}\0{}\0{}", a.trainee, a.when, a.case).into_bytes()
    }

    pub fn save(&self, attempt: &Attempt) -> Result<(), ProgressError> {
        self.store.put(&Self::key(attempt), attempt)
    }

    /// Every attempt of `trainee` (all trainees when `None`), oldest first.
    pub fn attempts(&self, trainee: Option<&str>) -> Vec<Attempt> {
        let prefix = trainee.map(|t| format!("{t}\0")).unwrap_or_default();
        let mut out: Vec<Attempt> = self
            .store
            .scan(prefix.as_bytes())
            .into_iter()
            .map(|(_, a)| a)
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
