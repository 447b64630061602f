//! The knowledge base: sources under `kb/` ([`source`]), record types
//! ([`model`]), the linked in-memory form the rules read ([`Kb`]), the sled
//! store it is compiled into ([`store`]), retrieval ([`search`]) and the
//! linter ([`lint`]).

pub mod conditions;
pub mod lint;
pub mod model;
pub mod names;
pub mod openfda;
pub mod resolve;
pub mod rxname;
pub mod search;
pub mod source;
pub mod store;
pub mod suggest;

/// The bundled knowledge base, linked once per process, without the data
/// dir's store: the fuzz targets and unit tests that are about what the
/// real records say use it. Panics if the bundled sources do not link
/// (`kb check` and the tests keep them linking).
pub fn bundled_linked() -> &'static Kb {
    static KB: std::sync::OnceLock<Kb> = std::sync::OnceLock::new();
    KB.get_or_init(|| {
        let s = Sources::bundled();
        match s.parse().and_then(|r| Kb::link(r, s.hash())) {
            Ok(kb) => kb,
            Err(e) => panic!("the bundled kb does not load: {e}"),
        }
    })
}

#[cfg(test)]
pub(crate) fn bundled_for_tests() -> &'static Kb {
    bundled_linked()
}

use model::{Class, Drug, Passage, Records};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

pub use resolve::{Resolution, Via};
pub use search::{Hit, SearchIndex};
pub use source::Sources;
pub use store::KbStore;

/// Bumped whenever the compiled store's layout changes.
pub const STORE_FORMAT: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("knowledge base has {} problem(s):\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
    #[error("knowledge-base store at {path}: {message}")]
    Store { path: PathBuf, message: String },
    #[error(transparent)]
    Open(#[from] crate::store::StoreError),
}

/// Index of a drug in [`Kb::drugs`].
pub type DrugId = usize;

/// The linked knowledge base: records plus resolved references.
#[derive(Debug, Clone)]
pub struct Kb {
    pub records: Records,
    /// Normalised name (generic, synonym, brand) -> drug.
    names: HashMap<String, DrugId>,
    /// Normalised class id, name or synonym -> class id.
    class_names: HashMap<String, String>,
    classes: BTreeMap<String, usize>,
    /// Every class of each drug, with ancestors and ingredients' classes.
    drug_classes: Vec<BTreeSet<String>>,
    /// For each drug, the combination products containing it.
    contained_in: Vec<Vec<DrugId>>,
    passages: HashMap<String, usize>,
    pub index: SearchIndex,
    /// Content hash of the sources this was built from.
    pub hash: String,
    /// Fuzzy candidates: (display name, drug).
    fuzzy_names: Vec<(String, DrugId)>,
    /// Every reference used by a rule, resolved once at link time.
    ref_sets: HashMap<String, BTreeSet<DrugId>>,
    /// The condition vocabulary.
    pub conditions: conditions::ConditionVocab,
}

/// A reference as rules write it: a generic name or `class:<id>`.
pub enum Ref<'a> {
    Drug(&'a str),
    Class(&'a str),
}

pub fn parse_ref(r: &str) -> Ref<'_> {
    match r.strip_prefix("class:") {
        Some(c) => Ref::Class(c.trim()),
        None => Ref::Drug(r.trim()),
    }
}

/// Counts for `kb stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub drugs: usize,
    pub synonyms: usize,
    pub brands: usize,
    pub classes: usize,
    /// Concepts of the condition vocabulary.
    pub conditions: usize,
    pub interactions: usize,
    pub rules: BTreeMap<String, usize>,
    pub passages: usize,
    pub imported_passages: usize,
    /// Brand names added by imports (`rxguide kb aliases` lists them).
    pub imported_aliases: usize,
}

impl Kb {
    /// Links parsed records. Fails on anything the rule engine cannot
    /// resolve (unknown references, duplicate names); [`lint`] adds the
    /// stricter checks of `kb check`.
    pub fn link(records: Records, hash: String) -> Result<Kb, KbError> {
        let mut problems = Vec::new();
        let mut names: HashMap<String, DrugId> = HashMap::new();
        let mut fuzzy_names = Vec::new();
        for (id, d) in records.drugs.iter().enumerate() {
            for (kind, n) in std::iter::once(("name", &d.name))
                .chain(d.synonyms.iter().map(|s| ("synonym", s)))
                .chain(d.brands.iter().map(|s| ("brand", s)))
            {
                let key = names::normalise(n);
                if key.is_empty() {
                    problems.push(format!(
                        "{}: drug `{}` has an empty {kind}",
                        d.origin, d.name
                    ));
                    continue;
                }
                match names.get(&key) {
                    Some(&other) if other != id => problems.push(format!(
                        "{}: {kind} `{n}` of drug `{}` is already a name of drug `{}` ({})",
                        d.origin, d.name, records.drugs[other].name, records.drugs[other].origin
                    )),
                    Some(_) => {}
                    None => {
                        names.insert(key, id);
                        fuzzy_names.push((n.clone(), id));
                    }
                }
            }
        }
        let classes: BTreeMap<String, usize> = records
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let mut class_names = HashMap::new();
        for c in &records.classes {
            for n in std::iter::once(&c.id)
                .chain(std::iter::once(&c.name))
                .chain(c.synonyms.iter())
            {
                class_names
                    .entry(names::normalise(n))
                    .or_insert_with(|| c.id.clone());
            }
        }
        let drug_index: HashMap<&str, DrugId> = records
            .drugs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i))
            .collect();

        // Direct classes: declared on the drug, or listed as class members.
        let mut direct: Vec<BTreeSet<String>> = records
            .drugs
            .iter()
            .map(|d| d.classes.iter().cloned().collect())
            .collect();
        for d in &records.drugs {
            for c in &d.classes {
                if !classes.contains_key(c) {
                    problems.push(format!(
                        "{}: drug `{}`: unknown class `{c}`",
                        d.origin, d.name
                    ));
                }
            }
        }
        for c in &records.classes {
            for m in &c.members {
                match drug_index.get(m.as_str()) {
                    Some(&id) => {
                        direct[id].insert(c.id.clone());
                    }
                    None => problems.push(format!(
                        "{}: class `{}`: unknown member drug `{m}`",
                        c.origin, c.id
                    )),
                }
            }
            for p in &c.parents {
                if !classes.contains_key(p) {
                    problems.push(format!(
                        "{}: class `{}`: unknown parent class `{p}`",
                        c.origin, c.id
                    ));
                }
            }
        }
        // Ancestors.
        let ancestors = |start: &BTreeSet<String>| -> BTreeSet<String> {
            let mut out = start.clone();
            let mut stack: Vec<String> = start.iter().cloned().collect();
            while let Some(c) = stack.pop() {
                if let Some(&i) = classes.get(&c) {
                    for p in &records.classes[i].parents {
                        if out.insert(p.clone()) {
                            stack.push(p.clone());
                        }
                    }
                }
            }
            out
        };
        let mut drug_classes: Vec<BTreeSet<String>> = direct.iter().map(ancestors).collect();
        let mut contained_in = vec![Vec::new(); records.drugs.len()];
        for (id, d) in records.drugs.iter().enumerate() {
            for ing in &d.ingredients {
                match drug_index.get(ing.as_str()) {
                    Some(&i) if i != id => contained_in[i].push(id),
                    Some(_) => problems.push(format!(
                        "{}: drug `{}` lists itself as an ingredient",
                        d.origin, d.name
                    )),
                    None => problems.push(format!(
                        "{}: drug `{}`: unknown ingredient `{ing}`",
                        d.origin, d.name
                    )),
                }
            }
        }
        // Combination products inherit their ingredients' classes.
        for (id, d) in records.drugs.iter().enumerate() {
            let mut extra = BTreeSet::new();
            for ing in &d.ingredients {
                if let Some(&i) = drug_index.get(ing.as_str()) {
                    extra.extend(drug_classes[i].iter().cloned());
                }
            }
            drug_classes[id].extend(extra);
        }

        let passages: HashMap<String, usize> = records
            .passages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let index = SearchIndex::build(&records.passages);
        let (conditions, condition_problems) =
            conditions::ConditionVocab::link(&records.conditions);
        problems.extend(condition_problems);
        let kb = Kb {
            conditions,
            names,
            class_names,
            classes,
            drug_classes,
            contained_in,
            passages,
            index,
            hash,
            fuzzy_names,
            records,
            ref_sets: HashMap::new(),
        };
        problems.extend(kb.reference_problems());
        let mut kb = kb;
        kb.ref_sets = kb
            .all_refs()
            .into_iter()
            .filter_map(|r| {
                let set = kb.resolve_ref(&r).ok()?;
                Some((r, set))
            })
            .collect();
        if problems.is_empty() {
            Ok(kb)
        } else {
            Err(KbError::Invalid(problems))
        }
    }

    /// Unknown drug/class references and missing passages in rules.
    fn reference_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let r = &self.records;
        let mut check_refs = |origin: &model::Origin, id: &str, field: &str, refs: &[String]| {
            if refs.is_empty() {
                problems.push(format!("{origin}: `{id}`: `{field}` is empty"));
            }
            for x in refs {
                if let Err(e) = self.resolve_ref(x) {
                    problems.push(format!("{origin}: `{id}`: {field}: {e}"));
                }
            }
        };
        for i in &r.interactions {
            check_refs(&i.origin, &i.id, "a", &i.a);
            check_refs(&i.origin, &i.id, "b", &i.b);
        }
        for x in &r.rules {
            check_refs(&x.origin, &x.id, "drugs", &x.drugs);
            if !x.when.with_any.is_empty() {
                check_refs(&x.origin, &x.id, "when.with_any", &x.when.with_any);
            }
        }
        for x in &r.allergies {
            check_refs(&x.origin, &x.id, "allergen", &x.allergen);
            check_refs(&x.origin, &x.id, "drugs", &x.drugs);
        }
        for x in &r.doses {
            check_refs(&x.origin, &x.id, "drugs", &x.drugs);
        }
        for x in &r.combinations {
            let refs: Vec<String> = x.refs().cloned().collect();
            check_refs(&x.origin, &x.id, "groups/members", &refs);
        }
        for x in &r.duplicates {
            if !self.classes.contains_key(&x.class) {
                problems.push(format!(
                    "{}: `{}`: unknown class `{}`",
                    x.origin, x.id, x.class
                ));
            }
        }
        for builtin in crate::vocab::sources::BUILTIN_SOURCES {
            if !self.passages.contains_key(builtin) {
                problems.push(format!(
                    "kb: passage `{builtin}` is missing (the rule engine cites it for a built-in rule)"
                ));
            }
        }
        for (origin, id, sources) in self.cited_sources() {
            if sources.is_empty() && !id.starts_with("drug ") && !id.starts_with("class ") {
                problems.push(format!(
                    "{origin}: `{id}` cites no passage (`sources` is empty)"
                ));
            }
            for s in sources {
                if !self.passages.contains_key(s) {
                    problems.push(format!(
                        "{origin}: `{id}`: source `{s}` is not a passage id"
                    ));
                }
            }
        }
        problems
    }

    /// Every distinct reference string the rule tables use.
    fn all_refs(&self) -> BTreeSet<String> {
        let r = &self.records;
        let mut out = BTreeSet::new();
        for i in &r.interactions {
            out.extend(i.a.iter().chain(&i.b).cloned());
        }
        for x in &r.rules {
            out.extend(x.drugs.iter().chain(&x.when.with_any).cloned());
        }
        for x in &r.allergies {
            out.extend(x.allergen.iter().chain(&x.drugs).cloned());
        }
        for x in &r.doses {
            out.extend(x.drugs.iter().chain(&x.when.with_any).cloned());
        }
        for x in &r.combinations {
            out.extend(x.refs().cloned());
        }
        for x in &r.duplicates {
            out.insert(format!("class:{}", x.class));
        }
        out
    }

    /// Whether drug `id` is covered by any of `refs` (resolved at link time).
    pub fn matches(&self, refs: &[String], id: DrugId) -> bool {
        refs.iter().any(|r| match self.ref_sets.get(r) {
            Some(set) => set.contains(&id),
            None => self.resolve_ref(r).is_ok_and(|s| s.contains(&id)),
        })
    }

    /// (origin, record id, sources) for every record that cites passages.
    pub fn cited_sources(&self) -> Vec<(&model::Origin, String, &[String])> {
        let r = &self.records;
        let mut out: Vec<(&model::Origin, String, &[String])> = Vec::new();
        out.extend(
            r.interactions
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.rules
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.allergies
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.duplicates
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.doses
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.combinations
                .iter()
                .map(|x| (&x.origin, x.id.clone(), x.sources.as_slice())),
        );
        out.extend(
            r.drugs
                .iter()
                .map(|x| (&x.origin, format!("drug {}", x.name), x.sources.as_slice())),
        );
        out.extend(
            r.classes
                .iter()
                .map(|x| (&x.origin, format!("class {}", x.id), x.sources.as_slice())),
        );
        out
    }

    /// The drugs a reference covers: the drug and products containing it,
    /// or every member of the class and its subclasses.
    pub fn resolve_ref(&self, r: &str) -> Result<BTreeSet<DrugId>, String> {
        match parse_ref(r) {
            Ref::Class(c) => {
                if !self.classes.contains_key(c) {
                    return Err(format!("unknown class `{c}`"));
                }
                Ok(self
                    .drug_classes
                    .iter()
                    .enumerate()
                    .filter(|(_, cs)| cs.contains(c))
                    .map(|(i, _)| i)
                    .collect())
            }
            Ref::Drug(name) => {
                let id = self
                    .records
                    .drugs
                    .iter()
                    .position(|d| d.name == name)
                    .ok_or_else(|| match self.lookup(name) {
                        Some(id) => format!(
                            "`{name}` is not a generic name; use `{}`",
                            self.records.drugs[id].name
                        ),
                        None => format!("unknown drug `{name}`"),
                    })?;
                let mut set: BTreeSet<DrugId> = self.contained_in[id].iter().copied().collect();
                set.insert(id);
                Ok(set)
            }
        }
    }

    /// Resolves a list of references, ignoring unknown ones (linking has
    /// already rejected those for the bundled kb).
    pub fn resolve_refs(&self, refs: &[String]) -> BTreeSet<DrugId> {
        refs.iter()
            .filter_map(|r| self.resolve_ref(r).ok())
            .flatten()
            .collect()
    }

    /// Looks a typed drug name up by generic name, synonym or brand,
    /// case-insensitively, tolerating salt words, release suffixes and a
    /// strength typed after the name.
    pub fn lookup(&self, typed: &str) -> Option<DrugId> {
        names::candidates(typed)
            .into_iter()
            .find_map(|k| self.names.get(&k).copied())
    }

    /// The class a typed allergy substance names ("penicillins", "sulfa").
    pub fn lookup_class(&self, typed: &str) -> Option<&Class> {
        names::candidates(typed).into_iter().find_map(|k| {
            let id = self.class_names.get(&k).or_else(|| {
                // "penicillin allergy", "sulfa drugs": try without a plural s.
                k.strip_suffix('s').and_then(|s| self.class_names.get(s))
            })?;
            self.classes.get(id).map(|&i| &self.records.classes[i])
        })
    }

    /// Adds an alias (an imported brand name) for a known generic drug.
    /// Never overrides a name the sources already give to a drug, and
    /// never takes a class's name ("NSAIDs", "sulfa"), so an alias stored
    /// by an older import cannot turn a class allergy into a drug.
    pub fn add_alias(&mut self, name: &str, generic: &str) -> bool {
        let key = names::normalise(name);
        let Some(id) = self.records.drugs.iter().position(|d| d.name == generic) else {
            return false;
        };
        if key.is_empty() || self.names.contains_key(&key) || self.lookup_class(name).is_some() {
            return false;
        }
        self.names.insert(key, id);
        self.fuzzy_names.push((name.to_string(), id));
        true
    }

    pub fn drug(&self, id: DrugId) -> &Drug {
        &self.records.drugs[id]
    }

    pub fn drug_classes(&self, id: DrugId) -> &BTreeSet<String> {
        &self.drug_classes[id]
    }

    pub fn class_members(&self, class: &str) -> BTreeSet<DrugId> {
        self.resolve_ref(&format!("class:{class}"))
            .unwrap_or_default()
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }

    /// A generic name with the drug's synonyms and brands, lower case (just
    /// the name when the kb does not know it): what an answer may call it.
    pub fn names_of(&self, generic: &str) -> Vec<String> {
        let mut out = vec![generic.to_lowercase()];
        if let Some(id) = self.lookup(generic) {
            let d = self.drug(id);
            out.extend(d.synonyms.iter().chain(&d.brands).map(|s| s.to_lowercase()));
        }
        out
    }

    /// Every name the kb knows a drug by (generic, synonym, brand), as
    /// normalised for lookup, with its drug.
    pub fn name_entries(&self) -> impl Iterator<Item = (&str, DrugId)> {
        self.names.iter().map(|(n, &id)| (n.as_str(), id))
    }

    /// Ingredient drug ids of a combination product (empty for a single drug).
    pub fn ingredients(&self, id: DrugId) -> Vec<DrugId> {
        self.records.drugs[id]
            .ingredients
            .iter()
            .filter_map(|n| self.records.drugs.iter().position(|d| &d.name == n))
            .collect()
    }

    /// The strongest evidence level among these passages (`None` when
    /// none of them is a kb passage, e.g. only built-in sources). For a
    /// contraindicated flag, a label passage that states the
    /// contraindication counts as a label contraindication whatever its
    /// section is called.
    pub fn evidence(
        &self,
        sources: &[String],
        contraindicated: bool,
    ) -> Option<crate::vocab::Evidence> {
        use crate::vocab::Evidence;
        sources
            .iter()
            .filter_map(|id| self.passage(id))
            .map(|p| match p.evidence() {
                Evidence::LabelWarning
                    if contraindicated && p.text.to_lowercase().contains("contraindicat") =>
                {
                    Evidence::LabelContraindication
                }
                e => e,
            })
            .max()
    }

    pub fn passage(&self, id: &str) -> Option<&Passage> {
        self.passages.get(id).map(|&i| &self.records.passages[i])
    }

    /// Up to `n` known names closest to `typed`, as generic names.
    pub fn closest_names(&self, typed: &str, n: usize) -> Vec<String> {
        names::closest(typed, &self.fuzzy_names, n)
            .into_iter()
            .map(|id| self.records.drugs[id].name.clone())
            .collect()
    }

    /// Every name the fuzzy drug picker offers: (display, generic).
    pub fn picker_names(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fuzzy_names
            .iter()
            .map(|(n, id)| (n.as_str(), self.records.drugs[*id].name.as_str()))
    }

    pub fn stats(&self, imported_passages: usize) -> Stats {
        let r = &self.records;
        let mut rules: BTreeMap<String, usize> = BTreeMap::new();
        *rules.entry("interaction".into()).or_default() += r.interactions.len();
        for x in &r.rules {
            *rules.entry(x.kind.as_str().into()).or_default() += 1;
        }
        rules.insert("allergy".into(), r.allergies.len());
        rules.insert("duplicate".into(), r.duplicates.len());
        rules.insert("dose".into(), r.doses.len());
        rules.insert("combination".into(), r.combinations.len());
        Stats {
            drugs: r.drugs.len(),
            synonyms: r.drugs.iter().map(|d| d.synonyms.len()).sum(),
            brands: r.drugs.iter().map(|d| d.brands.len()).sum(),
            classes: r.classes.len(),
            conditions: r.conditions.len(),
            interactions: r.interactions.len(),
            rules,
            passages: r.passages.len(),
            imported_passages,
            imported_aliases: 0,
        }
    }
}
