//! The session store: JSON sessions in a [`crate::store::Store`], flushed
//! on every save so that a killed process loses at most the keystroke in
//! flight.

use super::Session;
use std::path::Path;

use crate::store::Store;
pub use crate::store::StoreError;

/// Saved sessions, keyed by id.
#[derive(Debug, Clone)]
pub struct SessionStore {
    store: Store<Session>,
}

impl SessionStore {
    /// Opens (or creates) `<data_dir>/sessions.sled`.
    pub fn open(data_dir: &Path) -> Result<SessionStore, StoreError> {
        Ok(SessionStore {
            store: Store::open(data_dir, "sessions.sled", "session")?,
        })
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Writes the session and flushes it to disk before returning.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        self.store.put(session.id.as_bytes(), session)
    }

    pub fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.store.get(id.as_bytes())
    }

    /// Every readable session, most recently updated first.
    pub fn list(&self) -> Vec<Session> {
        let mut out: Vec<Session> = self.store.scan(b"").into_iter().map(|(_, s)| s).collect();
        out.sort_by(|a: &Session, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
        out
    }

    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.store.remove(id.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_list() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SessionStore::open(dir.path()).expect("open");
        let mut s = Session::new("a", "2025-01-01 10:00");
        s.draft.set("patient.age", "74");
        store.save(&s).expect("save");
        let mut t = Session::new("b", "2025-01-02 10:00");
        t.updated = "2025-01-02 10:00".into();
        store.save(&t).expect("save");
        assert_eq!(store.load("a").expect("load"), Some(s));
        let ids: Vec<String> = store.list().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["b", "a"]);
        store.delete("b").expect("delete");
        assert_eq!(store.list().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
