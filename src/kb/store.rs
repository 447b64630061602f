//! The compiled knowledge base in sled.
//!
//! One tree per record type, keyed by id, values as JSON; a `meta` tree
//! holds the source hash so a stale store is rebuilt on open. Passages
//! imported from openFDA live in their own tree and survive rebuilds.
//! Nothing outside this file names sled.

use super::model::{HasOrigin, Origin, Passage, Records};
use super::{Kb, KbError, Sources};
use crate::store::{open_db, DbOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// sled's page cache for the kb store (its default is 1 GiB). The kb is
/// read into memory once per open, so the cache only serves the build's
/// writes; with the default, building a 100k-passage kb peaked at 1.27 GB
/// (BENCHMARKS.md, "Memory").
const KB_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Records per sled batch when writing a tree (see `KbStore::write_batch`).
const WRITE_CHUNK: usize = 4096;
const META: &str = "meta";
const IMPORTED: &str = "imported";
/// Brand names learnt from imports: normalised name -> generic name.
const ALIASES: &str = "aliases";
const TREES: [&str; 10] = [
    "drug",
    "class",
    "interaction",
    "rule",
    "allergy",
    "duplicate",
    "dose",
    "passage",
    "combination",
    "condition",
];

/// A record with its origin, as kept in a tree.
#[derive(serde::Deserialize)]
struct Stored<T> {
    origin: Origin,
    record: T,
}

#[derive(Serialize)]
struct StoredRef<'a, T> {
    origin: &'a Origin,
    record: &'a T,
}

pub struct KbStore {
    db: sled::Db,
    path: PathBuf,
}

/// What opening the knowledge base did, for the trace.
#[derive(Debug, Clone)]
pub struct OpenInfo {
    pub path: PathBuf,
    pub rebuilt: bool,
    pub source_label: String,
    pub elapsed: Duration,
}

impl KbStore {
    /// Opens (creating) the store in `data_dir`. Another process holding
    /// the store is waited for up to 10 s.
    pub fn open(data_dir: &Path) -> Result<KbStore, KbError> {
        let path = data_dir.join("kb.sled");
        let opts = DbOptions {
            cache_bytes: Some(KB_CACHE_BYTES),
            background_flush: true,
            lock_wait: Duration::from_secs(10),
        };
        let db = open_db("knowledge-base", &path, opts)?;
        Ok(KbStore { db, path })
    }

    fn err(&self, e: impl std::fmt::Display) -> KbError {
        KbError::Store {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The source hash the store was built from.
    pub fn built_hash(&self) -> Option<String> {
        let meta = self.db.open_tree(META).ok()?;
        let v = meta.get("hash").ok()??;
        String::from_utf8(v.to_vec()).ok()
    }

    /// Parses, links (rejecting a broken kb before anything is written)
    /// and writes the sources into the store.
    pub fn build(&self, sources: &Sources) -> Result<Kb, KbError> {
        let hash = sources.hash();
        let records = sources.parse()?;
        let kb = Kb::link(records, hash.clone())?;
        let meta = self.db.open_tree(META).map_err(|e| self.err(e))?;
        meta.remove("hash").map_err(|e| self.err(e))?;
        let r = &kb.records;
        self.write_tree("drug", r.drugs.iter().map(|x| (x.name.as_str(), x)))?;
        self.write_tree("class", r.classes.iter().map(|x| (x.id.as_str(), x)))?;
        self.write_tree(
            "interaction",
            r.interactions.iter().map(|x| (x.id.as_str(), x)),
        )?;
        self.write_tree("rule", r.rules.iter().map(|x| (x.id.as_str(), x)))?;
        self.write_tree("allergy", r.allergies.iter().map(|x| (x.id.as_str(), x)))?;
        self.write_tree("duplicate", r.duplicates.iter().map(|x| (x.id.as_str(), x)))?;
        self.write_tree("dose", r.doses.iter().map(|x| (x.id.as_str(), x)))?;
        self.write_tree(
            "combination",
            r.combinations.iter().map(|x| (x.id.as_str(), x)),
        )?;
        self.write_tree(
            "condition",
            r.conditions.iter().map(|x| (x.name.as_str(), x)),
        )?;
        self.write_tree("passage", r.passages.iter().map(|x| (x.id.as_str(), x)))?;
        meta.insert("hash", hash.as_bytes())
            .map_err(|e| self.err(e))?;
        meta.insert("source", sources.label.as_bytes())
            .map_err(|e| self.err(e))?;
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(kb)
    }

    fn write_tree<'a, T: Serialize + HasOrigin + 'a>(
        &self,
        name: &str,
        items: impl Iterator<Item = (&'a str, &'a T)>,
    ) -> Result<(), KbError> {
        let tree = self.db.open_tree(name).map_err(|e| self.err(e))?;
        tree.clear().map_err(|e| self.err(e))?;
        self.write_batch(name, items)
    }

    fn read_tree<T: DeserializeOwned + HasOrigin>(&self, name: &str) -> Result<Vec<T>, KbError> {
        let tree = self.db.open_tree(name).map_err(|e| self.err(e))?;
        tree.iter()
            .values()
            .map(|v| {
                let v = v.map_err(|e| self.err(e))?;
                let stored: Stored<T> = serde_json::from_slice(&v)
                    .map_err(|e| self.err(format!("tree {name}: {e}")))?;
                let mut record = stored.record;
                *record.origin_mut() = stored.origin;
                Ok(record)
            })
            .collect()
    }

    /// Loads the compiled records (plus imported passages) and links them.
    pub fn load(&self) -> Result<Kb, KbError> {
        let hash = self
            .built_hash()
            .ok_or_else(|| self.err("not built yet (run `rxguide kb build`)"))?;
        let mut records = Records {
            drugs: self.read_tree(TREES[0])?,
            classes: self.read_tree(TREES[1])?,
            interactions: self.read_tree(TREES[2])?,
            rules: self.read_tree(TREES[3])?,
            allergies: self.read_tree(TREES[4])?,
            duplicates: self.read_tree(TREES[5])?,
            doses: self.read_tree(TREES[6])?,
            passages: self.read_tree(TREES[7])?,
            combinations: self.read_tree(TREES[8])?,
            conditions: self.read_tree(TREES[9])?,
        };
        records
            .passages
            .extend(self.read_tree::<Passage>(IMPORTED)?);
        let mut kb = Kb::link(records, hash)?;
        let aliases = self.db.open_tree(ALIASES).map_err(|e| self.err(e))?;
        for item in aliases.iter() {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if let (Ok(name), Ok(generic)) = (std::str::from_utf8(&k), std::str::from_utf8(&v)) {
                kb.add_alias(name, generic);
            }
        }
        Ok(kb)
    }

    /// Imported brand names and the generic each was given to, by name.
    pub fn aliases(&self) -> Result<Vec<(String, String)>, KbError> {
        let tree = self.db.open_tree(ALIASES).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, v) = item.map_err(|e| self.err(e))?;
            out.push((
                String::from_utf8_lossy(&k).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ));
        }
        Ok(out)
    }

    /// Removes an imported brand name; whether it was there.
    pub fn remove_alias(&self, name: &str) -> Result<bool, KbError> {
        let tree = self.db.open_tree(ALIASES).map_err(|e| self.err(e))?;
        let gone = tree
            .remove(super::names::normalise(name).as_bytes())
            .map_err(|e| self.err(e))?
            .is_some();
        tree.flush().map_err(|e| self.err(e))?;
        Ok(gone)
    }

    /// Records brand names (from an import) for known generic drugs.
    pub fn add_aliases(&self, aliases: &[(String, String)]) -> Result<(), KbError> {
        let tree = self.db.open_tree(ALIASES).map_err(|e| self.err(e))?;
        let mut batch = sled::Batch::default();
        for (name, generic) in aliases {
            batch.insert(super::names::normalise(name).as_bytes(), generic.as_bytes());
        }
        tree.apply_batch(batch).map_err(|e| self.err(e))
    }

    /// Adds imported passages (openFDA); existing ids are replaced.
    pub fn add_imported(&self, passages: &[Passage]) -> Result<(), KbError> {
        self.write_batch(IMPORTED, passages.iter().map(|p| (p.id.as_str(), p)))
    }

    /// Writes records in batches of [`WRITE_CHUNK`], so that only one
    /// batch of serialised records is in memory at a time. A build stays
    /// all-or-nothing through the sources hash (removed first, written
    /// last); an interrupted import leaves the passages written so far,
    /// and running it again replaces them by id.
    fn write_batch<'a, T: Serialize + HasOrigin + 'a>(
        &self,
        name: &str,
        items: impl Iterator<Item = (&'a str, &'a T)>,
    ) -> Result<(), KbError> {
        let tree = self.db.open_tree(name).map_err(|e| self.err(e))?;
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for (key, item) in items {
            let stored = StoredRef {
                origin: item.origin(),
                record: item,
            };
            let value = serde_json::to_vec(&stored).map_err(|e| self.err(e))?;
            batch.insert(key.as_bytes(), value);
            in_batch += 1;
            if in_batch == WRITE_CHUNK {
                tree.apply_batch(std::mem::take(&mut batch))
                    .map_err(|e| self.err(e))?;
                in_batch = 0;
            }
        }
        tree.apply_batch(batch).map_err(|e| self.err(e))
    }

    pub fn flush(&self) -> Result<(), KbError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    pub fn imported_count(&self) -> usize {
        self.db.open_tree(IMPORTED).map(|t| t.len()).unwrap_or(0)
    }
}

/// Opens the knowledge base for use: rebuilds the store when the sources
/// changed (or it was never built), then loads it. The store is closed
/// again on return so other rxguide processes can open it.
pub fn open_kb(data_dir: &Path, sources: &Sources) -> Result<(Kb, OpenInfo), KbError> {
    KbStore::open(data_dir)?.ensure(sources)
}

impl KbStore {
    /// Rebuilds the store when the sources changed (or it was never built,
    /// or cannot be read), then loads it.
    pub fn ensure(&self, sources: &Sources) -> Result<(Kb, OpenInfo), KbError> {
        let start = Instant::now();
        let mut rebuilt = self.built_hash().as_deref() != Some(sources.hash().as_str());
        if rebuilt {
            self.build(sources)?;
        }
        let kb = match self.load() {
            Ok(kb) => kb,
            // A store written by an older rxguide (or damaged) is rebuilt
            // from the sources rather than failing.
            Err(e) if !rebuilt => {
                tracing::warn!("knowledge-base store unreadable ({e}); rebuilding");
                rebuilt = true;
                self.build(sources)?;
                self.load()?
            }
            Err(e) => return Err(e),
        };
        Ok((
            kb,
            OpenInfo {
                path: self.path.clone(),
                rebuilt,
                source_label: sources.label.clone(),
                elapsed: start.elapsed(),
            },
        ))
    }
}

/// The data directory: `--data-dir`/`RXGUIDE_DATA` when given, else the
/// platform data dir (XDG on Linux), else `./.rxguide`.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    directories::ProjectDirs::from("", "", "rxguide")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".rxguide"))
}
