//! The one typed record store over sled, for the stores that hold a
//! user's own data (sessions, rehearsal progress, review scores), and the
//! one place any sled database is opened ([`open_db`], which the kb store
//! uses too).
//!
//! Opening is deterministic:
//!
//! - Within a process there is one sled handle per path: a second
//!   [`Store::open`] of a path that is still open shares the handle, so it
//!   never races the first for sled's file lock.
//! - A path closed a moment ago may still be locked by sled's background
//!   threads, and another process may hold it; [`open_db`] waits for the
//!   lock (up to a deadline the caller sets) and only then reports
//!   [`StoreError::Locked`].
//!
//! Every record is JSON, written and flushed before `put` returns, so a
//! killed process loses at most the write in flight. Errors keep their
//! source (sled's or serde's), never a flattened string.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How long an open waits for another holder of a store to let go.
pub const LOCK_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{what} store at {}: cannot create its folder: {source}", path.display())]
    Dir {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} store at {}: held by another rxguide process (waited {} s)", path.display(), waited.as_secs_f32())]
    Locked {
        what: &'static str,
        path: PathBuf,
        waited: Duration,
        #[source]
        source: sled::Error,
    },
    #[error("{what} store at {}: cannot open: {source}", path.display())]
    Open {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("{what} store at {}: {source}", path.display())]
    Db {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("{what} store at {}: record {key:?} cannot be encoded or read: {source}", path.display())]
    Record {
        what: &'static str,
        path: PathBuf,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

/// How a sled database is opened.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    /// sled's page cache, bytes (`None`: sled's default).
    pub cache_bytes: Option<u64>,
    /// Run sled's periodic background flusher. Stores that flush on every
    /// write do not need it, and without it a closed store lets go of its
    /// lock as soon as the last handle is dropped.
    pub background_flush: bool,
    /// How long to wait for another holder of the lock.
    pub lock_wait: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            cache_bytes: None,
            background_flush: false,
            lock_wait: LOCK_WAIT,
        }
    }
}

/// Whether sled failed because another handle holds the file lock.
fn is_lock_error(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    }
}

/// Opens (creating) the sled database at `path`, waiting up to
/// `opts.lock_wait` for a lock held by a handle that is closing or by
/// another process. The one place rxguide calls `sled::Config::open`.
pub fn open_db(what: &'static str, path: &Path, opts: DbOptions) -> Result<sled::Db, StoreError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Dir {
            what,
            path: path.to_path_buf(),
            source,
        })?;
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let mut config = sled::Config::new().path(path);
        if let Some(bytes) = opts.cache_bytes {
            config = config.cache_capacity(bytes);
        }
        if !opts.background_flush {
            config = config.flush_every_ms(None);
        }
        match config.open() {
            Ok(db) => return Ok(db),
            Err(e) if is_lock_error(&e) => {
                let waited = start.elapsed();
                if waited >= opts.lock_wait {
                    return Err(StoreError::Locked {
                        what,
                        path: path.to_path_buf(),
                        waited,
                        source: e,
                    });
                }
                std::thread::sleep(pause.min(opts.lock_wait - waited));
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(source) => {
                return Err(StoreError::Open {
                    what,
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// The handles open in this process, by path, so that one path has one
/// handle however many stores share it.
fn open_handles() -> &'static Mutex<HashMap<PathBuf, Weak<sled::Db>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<sled::Db>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// A store of JSON records of one type `V`, keyed by bytes, readable by
/// the user only.
pub struct Store<V> {
    db: Arc<sled::Db>,
    path: PathBuf,
    what: &'static str,
    _records: PhantomData<fn() -> V>,
}

impl<V> Clone for Store<V> {
    fn clone(&self) -> Self {
        Store {
            db: Arc::clone(&self.db),
            path: self.path.clone(),
            what: self.what,
            _records: PhantomData,
        }
    }
}

impl<V> std::fmt::Debug for Store<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("what", &self.what)
            .field("path", &self.path)
            .finish()
    }
}

impl<V: Serialize + DeserializeOwned> Store<V> {
    /// Opens (creating) `<data_dir>/<name>`, mode 0700 on Unix: these
    /// stores hold patient data or personal scores. `what` names the store
    /// in errors ("session", "rehearsal", "review").
    pub fn open(data_dir: &Path, name: &str, what: &'static str) -> Result<Store<V>, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Dir {
            what,
            path: data_dir.join(name),
            source,
        })?;
        let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let path = dir.join(name);
        // Held while opening, so two threads opening one path get one handle.
        let mut open = open_handles()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|_, w| w.strong_count() > 0);
        let db = match open.get(&path).and_then(Weak::upgrade) {
            Some(db) => db,
            None => {
                let db = Arc::new(open_db(what, &path, DbOptions::default())?);
                open.insert(path.clone(), Arc::downgrade(&db));
                db
            }
        };
        drop(open);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| StoreError::Dir {
                    what,
                    path: path.clone(),
                    source,
                },
            )?;
        }
        Ok(Store {
            db,
            path,
            what,
            _records: PhantomData,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_err(&self, source: sled::Error) -> StoreError {
        StoreError::Db {
            what: self.what,
            path: self.path.clone(),
            source,
        }
    }

    fn record_err(&self, key: &[u8], source: serde_json::Error) -> StoreError {
        StoreError::Record {
            what: self.what,
            path: self.path.clone(),
            key: String::from_utf8_lossy(key).replace('\0', "/"),
            source,
        }
    }

    /// Writes the record and flushes it to disk before returning.
    pub fn put(&self, key: &[u8], value: &V) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| self.record_err(key, e))?;
        self.db.insert(key, bytes).map_err(|e| self.db_err(e))?;
        self.db.flush().map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// The record under `key`; an error when it exists but cannot be read.
    pub fn get(&self, key: &[u8]) -> Result<Option<V>, StoreError> {
        match self.db.get(key).map_err(|e| self.db_err(e))? {
            Some(v) => Ok(Some(
                serde_json::from_slice(&v).map_err(|e| self.record_err(key, e))?,
            )),
            None => Ok(None),
        }
    }

    /// Removes the record and flushes.
    pub fn remove(&self, key: &[u8]) -> Result<(), StoreError> {
        self.db.remove(key).map_err(|e| self.db_err(e))?;
        self.db.flush().map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Every readable record whose key starts with `prefix` (all records
    /// for an empty prefix), in key order. A record written by another
    /// version that no longer parses is left out, not fatal: the other
    /// records stay usable.
    pub fn scan(&self, prefix: &[u8]) -> Vec<(Vec<u8>, V)> {
        self.db
            .scan_prefix(prefix)
            .filter_map(Result::ok)
            .filter_map(|(k, v)| Some((k.to_vec(), serde_json::from_slice(&v).ok()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Rec {
        n: u32,
    }

    #[test]
    fn put_get_scan_remove() {
        let dir = tempfile::tempdir().expect("tmp");
        let s: Store<Rec> = Store::open(dir.path(), "t.sled", "test").expect("open");
        s.put(b"a\0x", &Rec { n: 1 }).expect("put");
        s.put(b"a\0y", &Rec { n: 2 }).expect("put");
        s.put(b"ab\0z", &Rec { n: 3 }).expect("put");
        assert_eq!(s.get(b"a\0y").expect("get"), Some(Rec { n: 2 }));
        let a: Vec<u32> = s.scan(b"a\0").into_iter().map(|(_, r)| r.n).collect();
        assert_eq!(a, [1, 2]);
        assert_eq!(s.scan(b"").len(), 3);
        s.remove(b"a\0x").expect("remove");
        assert_eq!(s.get(b"a\0x").expect("get"), None);
    }

    #[test]
    fn unreadable_record_is_an_error_with_its_source() {
        let dir = tempfile::tempdir().expect("tmp");
        let s: Store<Rec> = Store::open(dir.path(), "t.sled", "test").expect("open");
        s.db.insert(b"k", &b"not json"[..]).expect("raw insert");
        let e = s.get(b"k").expect_err("bad record");
        assert!(matches!(e, StoreError::Record { .. }), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert!(s.scan(b"").is_empty(), "an unreadable record is left out");
    }

    /// The CI failure of issue 22: dropping a store and reopening it at
    /// once gave sled's "could not acquire lock". Reopen many times, both
    /// after a drop and while another handle is open.
    #[test]
    fn reopens_in_a_loop() {
        let dir = tempfile::tempdir().expect("tmp");
        for n in 0..200u32 {
            {
                let s: Store<Rec> = Store::open(dir.path(), "t.sled", "test").expect("open");
                s.put(format!("{n:04}").as_bytes(), &Rec { n })
                    .expect("put");
                let again: Store<Rec> =
                    Store::open(dir.path(), "t.sled", "test").expect("open while open");
                assert_eq!(again.scan(b"").len(), n as usize + 1);
            }
            let s: Store<Rec> = Store::open(dir.path(), "t.sled", "test").expect("reopen");
            assert_eq!(
                s.get(format!("{n:04}").as_bytes()).expect("get"),
                Some(Rec { n })
            );
        }
    }

    #[test]
    fn concurrent_opens_share_one_handle() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().to_path_buf();
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..20u32 {
                        let s: Store<Rec> = Store::open(&path, "t.sled", "test").expect("open");
                        s.put(format!("{t}-{i}").as_bytes(), &Rec { n: i })
                            .expect("put");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let s: Store<Rec> = Store::open(&path, "t.sled", "test").expect("open");
        assert_eq!(s.scan(b"").len(), 160);
    }

    #[test]
    fn a_lock_held_elsewhere_is_waited_for_then_reported() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("held.sled");
        // A raw handle outside the registry stands for another process.
        let held = open_db("test", &path, DbOptions::default()).expect("first");
        let opts = DbOptions {
            lock_wait: Duration::from_millis(200),
            ..DbOptions::default()
        };
        let start = Instant::now();
        let e = open_db("test", &path, opts).expect_err("locked");
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        assert!(
            e.to_string().contains("held by another rxguide process"),
            "{e}"
        );
        // Released while waiting: the open goes through.
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        open_db("test", &path, DbOptions::default()).expect("opens once released");
        releaser.join().expect("thread");
    }
}
