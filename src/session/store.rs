//! The session store: one sled tree of JSON sessions, flushed on every save
//! so that a killed process loses at most the keystroke in flight. The rest
//! of the program never names sled.

use super::Session;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("session store at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("session store: {0}")]
    Io(String),
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

/// Opens (creating) `<data_dir>/<name>`, a sled store readable by the user
/// only (sessions, rehearsal progress and review scores hold patient data
/// or personal scores). The one place these stores are opened.
pub fn open_private(data_dir: &Path, name: &str) -> Result<(sled::Db, PathBuf), (PathBuf, String)> {
    let path = data_dir.join(name);
    let fail = |e: &dyn std::fmt::Display| (path.clone(), e.to_string());
    std::fs::create_dir_all(data_dir).map_err(|e| fail(&e))?;
    let db = sled::Config::new()
        .path(&path)
        .open()
        .map_err(|e| fail(&e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail(&e))?;
    }
    Ok((db, path))
}

/// Saved sessions, keyed by id.
#[derive(Debug, Clone)]
pub struct SessionStore {
    db: sled::Db,
    path: PathBuf,
}

impl SessionStore {
    /// Opens (or creates) `<data_dir>/sessions.sled`.
    pub fn open(data_dir: &Path) -> Result<SessionStore, StoreError> {
        let (db, path) = crate::session::store::open_private(data_dir, "sessions.sled")
            .map_err(|(path, message)| StoreError::Open { path, message })?;
        Ok(SessionStore { db, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the session and flushes it to disk before returning.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(session).map_err(io)?;
        self.db.insert(session.id.as_bytes(), bytes).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        match self.db.get(id.as_bytes()).map_err(io)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(io)?)),
            None => Ok(None),
        }
    }

    /// Every readable session, most recently updated first.
    pub fn list(&self) -> Vec<Session> {
        let mut out: Vec<Session> = self
            .db
            .iter()
            .filter_map(Result::ok)
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        out.sort_by(|a: &Session, b| b.updated.cmp(&a.updated).then(b.id.cmp(&a.id)));
        out
    }

    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.db.remove(id.as_bytes()).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
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
