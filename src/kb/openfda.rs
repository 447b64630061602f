//! `rxguide kb import openfda FILE`: openFDA drug-label JSON (public domain,
//! CC0) into retrieval passages.
//!
//! The bulk files are one JSON object `{"meta": ..., "results": [label,
//! ...]}` of up to several GB, so labels are parsed one at a time from a
//! stream (constant memory) and written to the store in batches. `.zip`
//! archives (as openFDA distributes them) are read entry by entry.
//! Imported passages feed retrieval only: they never create flags.

use super::model::{Origin, Passage};
use super::names;
use super::{Kb, KbError};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Longest imported chunk, in characters.
pub const CHUNK_CHARS: usize = 900;
/// Passages written to the store per batch.
const BATCH: usize = 2000;

/// Label sections imported, with the titles shown for them.
pub const SECTIONS: [(&str, &str); 14] = [
    ("boxed_warning", "Boxed warning"),
    ("indications_and_usage", "Indications and usage"),
    ("dosage_and_administration", "Dosage and administration"),
    ("contraindications", "Contraindications"),
    ("warnings_and_cautions", "Warnings and precautions"),
    ("warnings", "Warnings"),
    ("precautions", "Precautions"),
    ("drug_interactions", "Drug interactions"),
    ("use_in_specific_populations", "Use in specific populations"),
    ("pregnancy", "Pregnancy"),
    ("nursing_mothers", "Nursing mothers"),
    ("lactation", "Lactation"),
    ("pediatric_use", "Pediatric use"),
    ("geriatric_use", "Geriatric use"),
];

/// The fields of one label that the import reads; everything else is
/// skipped without being kept in memory.
#[derive(Debug, Default, Deserialize)]
pub struct Label {
    #[serde(default)]
    pub set_id: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub effective_time: Option<String>,
    #[serde(default)]
    pub openfda: OpenFdaNames,
    #[serde(default)]
    boxed_warning: Vec<String>,
    #[serde(default)]
    indications_and_usage: Vec<String>,
    #[serde(default)]
    dosage_and_administration: Vec<String>,
    #[serde(default)]
    contraindications: Vec<String>,
    #[serde(default)]
    warnings_and_cautions: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    precautions: Vec<String>,
    #[serde(default)]
    drug_interactions: Vec<String>,
    #[serde(default)]
    use_in_specific_populations: Vec<String>,
    #[serde(default)]
    pregnancy: Vec<String>,
    #[serde(default)]
    nursing_mothers: Vec<String>,
    #[serde(default)]
    lactation: Vec<String>,
    #[serde(default)]
    pediatric_use: Vec<String>,
    #[serde(default)]
    geriatric_use: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OpenFdaNames {
    #[serde(default)]
    pub generic_name: Vec<String>,
    #[serde(default)]
    pub brand_name: Vec<String>,
}

impl Label {
    fn section(&self, name: &str) -> &[String] {
        match name {
            "boxed_warning" => &self.boxed_warning,
            "indications_and_usage" => &self.indications_and_usage,
            "dosage_and_administration" => &self.dosage_and_administration,
            "contraindications" => &self.contraindications,
            "warnings_and_cautions" => &self.warnings_and_cautions,
            "warnings" => &self.warnings,
            "precautions" => &self.precautions,
            "drug_interactions" => &self.drug_interactions,
            "use_in_specific_populations" => &self.use_in_specific_populations,
            "pregnancy" => &self.pregnancy,
            "nursing_mothers" => &self.nursing_mothers,
            "lactation" => &self.lactation,
            "pediatric_use" => &self.pediatric_use,
            "geriatric_use" => &self.geriatric_use,
            _ => &[],
        }
    }
}

/// Splits text into chunks of at most `max` characters at sentence (or,
/// failing that, word) boundaries.
pub fn chunk(text: &str, max: usize) -> Vec<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    let mut current = String::new();
    for sentence in text.split_inclusive(". ") {
        if current.chars().count() + sentence.chars().count() > max && !current.is_empty() {
            out.push(current.trim().to_string());
            current.clear();
        }
        if sentence.chars().count() > max {
            for word in sentence.split(' ') {
                if current.chars().count() + word.chars().count() + 1 > max && !current.is_empty() {
                    out.push(current.trim().to_string());
                    current.clear();
                }
                current.push_str(word);
                current.push(' ');
            }
        } else {
            current.push_str(sentence);
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub labels: usize,
    pub labels_without_set_id: usize,
    pub passages: usize,
    /// Brand names added as aliases of known generic drugs.
    pub brand_aliases: usize,
    /// Generic names on labels that the vocabulary does not know (their
    /// text is searchable, but no rule checks them).
    pub unknown_generics: usize,
    /// Brand names not added, each with why: it names a class, another
    /// drug, an allergy word, another label's generic, or two generics.
    /// An alias can change what a name means to every rule, so a collision
    /// is reported, never settled.
    pub rejected_aliases: Vec<String>,
    /// Labels that could not be read, each with why; the rest of the file
    /// is imported.
    pub skipped_labels: Vec<String>,
}

/// Why an imported brand name must not become an alias of `generic`, if
/// it must not: it already means something to the knowledge base.
fn alias_collision(kb: &Kb, brand: &str, generic: &str) -> Option<String> {
    if kb.lookup_class(brand).is_some() {
        return Some("a drug class in the knowledge base".into());
    }
    if crate::vocab::allergy::no_known_allergy(brand) {
        return Some("a \"no known allergy\" entry".into());
    }
    let r = kb.resolve(brand);
    match kb.generic_of(&r) {
        Some(g) if g != generic => Some(format!("already names {g}")),
        _ => None,
    }
}

/// Turns one label into passages and (brand, generic) aliases for drugs
/// the knowledge base knows.
pub fn label_passages(label: &Label, kb: &Kb) -> (Vec<Passage>, Vec<(String, String)>, usize) {
    let Some(set_id) = label.set_id.as_deref().or(label.id.as_deref()) else {
        return (Vec::new(), Vec::new(), 0);
    };
    let set_id = set_id.to_lowercase();
    let known: Vec<String> = label
        .openfda
        .generic_name
        .iter()
        .filter_map(|g| kb.lookup(g).map(|id| kb.drug(id).name.clone()))
        .collect();
    let unknown = label.openfda.generic_name.len() - known.len();
    let display = label
        .openfda
        .generic_name
        .first()
        .map(|g| title_case(g))
        .unwrap_or_else(|| "Unnamed product".into());
    let brand = label
        .openfda
        .brand_name
        .first()
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    let effective = label
        .effective_time
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let mut passages = Vec::new();
    for (section, section_title) in SECTIONS {
        let text = label.section(section).join(" ");
        if text.trim().is_empty() {
            continue;
        }
        let chunks = chunk(&text, CHUNK_CHARS);
        let n = chunks.len();
        for (i, body) in chunks.into_iter().enumerate() {
            passages.push(Passage {
                id: format!("fda-{}-{}-{}", slug(&set_id), slug(section), i + 1),
                drugs: known.clone(),
                section: section.replace('_', "-"),
                title: if n > 1 {
                    format!("{display}{brand} label: {section_title} ({}/{n})", i + 1)
                } else {
                    format!("{display}{brand} label: {section_title}")
                },
                source: format!("openFDA drug label, set id {set_id}, effective {effective}"),
                url: Some(format!(
                    "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}"
                )),
                identifier: Some(format!("openfda:{set_id}:{effective}")),
                license: "openFDA drug label data, public domain (CC0 1.0)".into(),
                evidence: None,
                text: body,
                origin: Origin {
                    file: "import:openfda".into(),
                    line: 0,
                },
            });
        }
    }
    let aliases = match known.first() {
        Some(generic) if known.len() == 1 => label
            .openfda
            .brand_name
            .iter()
            .filter(|b| !names::normalise(b).is_empty())
            .map(|b| (b.clone(), generic.clone()))
            .collect(),
        // A combination label's brand names cannot be given to one generic.
        _ => Vec::new(),
    };
    (passages, aliases, unknown)
}

/// The aliases an import may add, and the ones it must not (with why):
/// each candidate is checked against the kb ([`alias_collision`]), the
/// generic names of every label of the import (a "brand" that is another
/// product's generic, such as "Alteplase" on an acetaminophen label), and
/// the other candidates (one brand on two generics: neither is added).
pub fn vet_aliases(
    kb: &Kb,
    candidates: &[(String, String)],
    label_generics: &std::collections::BTreeSet<String>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut by_key: std::collections::BTreeMap<String, Vec<&(String, String)>> =
        std::collections::BTreeMap::new();
    for c in candidates {
        by_key.entry(names::normalise(&c.0)).or_default().push(c);
    }
    let mut keep = Vec::new();
    let mut rejected = Vec::new();
    for (key, group) in by_key {
        let (brand, generic) = group[0];
        // already a name of this very drug: nothing to add, nothing wrong
        if group
            .iter()
            .all(|c| kb.lookup(&c.0).is_some_and(|id| kb.drug(id).name == c.1))
        {
            continue;
        }
        let mut generics: Vec<&str> = group.iter().map(|c| c.1.as_str()).collect();
        generics.sort_unstable();
        generics.dedup();
        let why = if generics.len() > 1 {
            Some(format!(
                "given to {} generics: {}",
                generics.len(),
                generics.join(", ")
            ))
        } else if label_generics.contains(&key) && key != names::normalise(generic) {
            Some("the generic name of another label in the import".into())
        } else {
            alias_collision(kb, brand, generic)
        };
        match why {
            Some(why) => rejected.push(format!(
                "\"{brand}\" (brand of {}): {why}",
                generics.join(", ")
            )),
            None => keep.push((brand.clone(), generic.clone())),
        }
    }
    (keep, rejected)
}

/// Streams every label of an openFDA JSON document to `each`: the label,
/// or why it could not be read (one bad label does not stop the file). A
/// leading byte-order mark is skipped. Memory is bounded by the largest
/// label.
pub fn for_each_label<R: Read>(
    reader: R,
    mut each: impl FnMut(Result<Label, String>),
) -> Result<(), String> {
    let mut reader = std::io::BufReader::new(reader);
    {
        use std::io::BufRead;
        let head = reader.fill_buf().map_err(|e| e.to_string())?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
        }
    }
    let mut de = serde_json::Deserializer::from_reader(reader);
    Root { each: &mut each }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())
}

struct Root<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(Result<Label, String>)> DeserializeSeed<'de> for Root<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(Result<Label, String>)> Visitor<'de> for Root<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an openFDA label document: {\"results\": [labels]} or [labels]")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "results" {
                map.next_value_seed(Labels {
                    each: &mut *self.each,
                })?;
                seen = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(serde::de::Error::custom(
                "no `results` array in the document",
            ))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Labels { each: self.each }.visit_seq(seq)
    }
}

struct Labels<'a, F> {
    each: &'a mut F,
}

impl<'de, F: FnMut(Result<Label, String>)> DeserializeSeed<'de> for Labels<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Result<Label, String>)> Visitor<'de> for Labels<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of openFDA labels")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            let label = Label::deserialize(&value).map_err(|e| {
                let id = value
                    .get("set_id")
                    .or_else(|| value.get("id"))
                    .and_then(|v| v.as_str())
                    .map_or(String::new(), |s| format!(" (set id {s})"));
                format!("label {}{id}: {e}", i + 1)
            });
            (self.each)(label);
            i += 1;
        }
        Ok(())
    }
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn progress(total: u64, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Imports a `.json` or `.zip` file into `store`, using `kb` to link
/// generic names. `show_progress` draws a bar on stderr.
pub fn import_file(
    path: &Path,
    kb: &Kb,
    store: &super::KbStore,
    show_progress: bool,
) -> Result<ImportSummary, KbError> {
    let io = |e: std::io::Error| KbError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let bad = |message: String| KbError::Parse {
        file: path.display().to_string(),
        line: 0,
        message,
    };
    let mut summary = ImportSummary::default();
    let mut batch: Vec<Passage> = Vec::new();
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut failed: Option<KbError> = None;
    let mut label_generics: std::collections::BTreeSet<String> = Default::default();
    let mut handle = |label: Result<Label, String>,
                      summary: &mut ImportSummary,
                      batch: &mut Vec<Passage>,
                      aliases: &mut Vec<(String, String)>| {
        if failed.is_some() {
            return;
        }
        summary.labels += 1;
        let label = match label {
            Ok(l) => l,
            Err(why) => {
                summary.skipped_labels.push(why);
                return;
            }
        };
        label_generics.extend(
            label
                .openfda
                .generic_name
                .iter()
                .map(|g| names::normalise(g)),
        );
        if label.set_id.is_none() && label.id.is_none() {
            summary.labels_without_set_id += 1;
            return;
        }
        let (p, a, unknown) = label_passages(&label, kb);
        summary.passages += p.len();
        summary.unknown_generics += unknown;
        batch.extend(p);
        aliases.extend(a);
        if batch.len() >= BATCH {
            if let Err(e) = store.add_imported(batch) {
                failed = Some(e);
            }
            batch.clear();
        }
    };
    let is_zip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if is_zip {
        let file = std::fs::File::open(path).map_err(io)?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip archive: {e}")))?;
        let mut total = 0u64;
        for i in 0..archive.len() {
            if let Ok(entry) = archive.by_index(i) {
                if entry.name().ends_with(".json") {
                    total += entry.size();
                }
            }
        }
        let bar = progress(total, show_progress);
        let mut any = false;
        for i in 0..archive.len() {
            let entry = archive
                .by_index(i)
                .map_err(|e| bad(format!("zip entry {i}: {e}")))?;
            if !entry.name().ends_with(".json") {
                continue;
            }
            any = true;
            let name = entry.name().to_string();
            bar.set_message(name.clone());
            let reader = Counting {
                inner: entry,
                bar: bar.clone(),
            };
            for_each_label(std::io::BufReader::new(reader), |l| {
                handle(l, &mut summary, &mut batch, &mut aliases)
            })
            .map_err(|e| bad(format!("{name}: {e}")))?;
        }
        bar.finish_and_clear();
        if !any {
            return Err(bad("the archive holds no .json file".into()));
        }
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = progress(total, show_progress);
        let reader = Counting {
            inner: file,
            bar: bar.clone(),
        };
        for_each_label(std::io::BufReader::with_capacity(1 << 16, reader), |l| {
            handle(l, &mut summary, &mut batch, &mut aliases)
        })
        .map_err(bad)?;
        bar.finish_and_clear();
    }
    if let Some(e) = failed {
        return Err(e);
    }
    store.add_imported(&batch)?;
    let (aliases, rejected) = vet_aliases(kb, &aliases, &label_generics);
    summary.rejected_aliases = rejected;
    summary.brand_aliases = aliases.len();
    store.add_aliases(&aliases)?;
    store.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chunks_at_sentences_within_limit() {
        let text = "One two three. Four five six. Seven eight nine.";
        let c = chunk(text, 20);
        assert_eq!(
            c,
            vec!["One two three.", "Four five six.", "Seven eight nine."]
        );
    }

    #[test]
    fn streams_results_and_bare_arrays() {
        let doc = r#"{"meta": {"x": [1,2]}, "results": [{"set_id": "A", "contraindications": ["c"]}, {"id": "B"}]}"#;
        let mut seen = Vec::new();
        for_each_label(doc.as_bytes(), |l| {
            seen.push(l.ok().and_then(|l| l.set_id.or(l.id)))
        })
        .expect("parses");
        assert_eq!(seen, vec![Some("A".into()), Some("B".into())]);
        let mut n = 0;
        for_each_label(r#"[{"set_id": "A"}]"#.as_bytes(), |_| n += 1).expect("parses");
        assert_eq!(n, 1);
        assert!(for_each_label(r#"{"meta": {}}"#.as_bytes(), |_| {}).is_err());
        // a label that is not one is reported, and the rest still read
        let mut results = Vec::new();
        for_each_label(
            "\u{feff}{\"results\": [1, {\"set_id\": 5}, {\"set_id\": \"C\"}]}".as_bytes(),
            |l| results.push(l.map(|l| l.set_id)),
        )
        .expect("a BOM and bad labels do not stop the file");
        assert_eq!(results.len(), 3);
        assert!(results[0].is_err() && results[1].is_err(), "{results:?}");
        assert_eq!(results[2], Ok(Some("C".into())));
    }

    proptest! {
        #[test]
        fn chunks_never_exceed_limit_or_lose_words(words in proptest::collection::vec("[a-z]{1,12}\\.?", 0..300)) {
            let text = words.join(" ");
            let chunks = chunk(&text, 120);
            for c in &chunks {
                prop_assert!(c.chars().count() <= 120 + 1);
            }
            let rejoined: Vec<&str> = chunks.iter().flat_map(|c| c.split_whitespace()).collect();
            let original: Vec<&str> = text.split_whitespace().collect();
            prop_assert_eq!(rejoined, original);
        }
    }
}
