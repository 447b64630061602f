//! The invariants every input must keep, as functions the fuzz targets
//! (`fuzz/`, cargo-fuzz with libFuzzer) and the corpus replay below
//! (stable, in every `cargo test`: each seed and a bounded number of
//! mutations of it) call on arbitrary bytes:
//!
//! 1. reading a case file, a FHIR document or a CDS Hooks request never
//!    panics, whatever the bytes;
//! 2. when it is read, the text report holds no character a terminal
//!    obeys (no escape, no bidirectional control, no carriage return);
//! 3. decorating the record's free text (an invisible character inside
//!    each drug name, condition and allergy substance, upper case, a final
//!    full stop) changes no flag but the unknown-drug notes, which quote
//!    the text as typed: decoration can never weaken or remove a flag.
//!
//! A violated invariant panics with what broke, which is what a fuzzer
//! reports.

use crate::clinical::{Flag, Kind};
use crate::intake::case_file::{parse_case_file, CaseFile, ConditionFile};
use crate::kb::Kb;
use crate::pipeline::{assess, Assessment};

fn kb() -> &'static Kb {
    crate::kb::bundled_linked()
}

/// Invariants 1-3 on a case file's bytes.
pub fn case_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = parse_case_file(text) else {
        return;
    };
    let Ok(case) = file.validate("fuzz") else {
        return;
    };
    let kb = kb();
    let a = assess(kb, &case);
    report_is_inert(kb, &a);
    let decorated = decorate(&file);
    // upper case can lengthen a text past a size limit: then there is
    // nothing to compare
    let Ok(dcase) = decorated.validate("fuzz") else {
        return;
    };
    let b = assess(kb, &dcase);
    let (before, after) = (checked_flags(&a.flags), checked_flags(&b.flags));
    assert!(
        before == after,
        "decoration changed the flags:\nbefore {before:?}\nafter  {after:?}\ncase {file:?}"
    );
}

/// Invariants 1-2 on a FHIR document's bytes.
pub fn fhir(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = crate::fhir::ImportOptions::new("fuzz".to_string());
    if let Ok((case, _)) = crate::fhir::import_json(text, &opts) {
        report_is_inert(kb(), &assess(kb(), &case));
    }
}

/// Invariants 1-2 on a CDS Hooks request body.
pub fn cds_request(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(value) = crate::fhir::json::parse(text) else {
        return;
    };
    if let Ok((a, _)) = crate::serve::assess_request(kb(), value) {
        report_is_inert(kb(), &a);
    }
}

fn report_is_inert(kb: &Kb, a: &Assessment) {
    let note = crate::note::write(kb, a);
    let text = crate::report::to_text(a, &note, false, true);
    if let Some(c) = text
        .chars()
        .find(|&c| crate::vocab::text::hidden(c) || c == '\r')
    {
        panic!("the report holds U+{:04X}:\n{text}", c as u32);
    }
}

/// The flags a decoration must not change: all but the unknown-drug
/// notes, which quote the name as typed.
fn checked_flags(flags: &[Flag]) -> Vec<(Kind, Vec<String>, String)> {
    let mut v: Vec<_> = flags
        .iter()
        .filter(|f| f.kind != Kind::UnknownDrug)
        .map(|f| (f.kind, f.drugs.clone(), f.severity.as_str().to_string()))
        .collect();
    v.sort();
    v
}

/// A zero-width space inside the text, upper case, and a final full stop.
fn decorate_text(s: &str) -> String {
    let n = s.chars().count();
    let mid = s.char_indices().nth(n / 2).map_or(s.len(), |(i, _)| i);
    let mut out = format!("{}\u{200B}{}", &s[..mid], &s[mid..]).to_uppercase();
    if !out.trim().is_empty() {
        out.push('.');
    }
    out
}

fn decorate(file: &CaseFile) -> CaseFile {
    let mut d = file.clone();
    for m in d.medications.iter_mut().chain(d.proposed.iter_mut()) {
        m.drug = decorate_text(&m.drug);
    }
    for c in &mut d.conditions {
        let text = decorate_text(c.text());
        match c {
            ConditionFile::Text(t) | ConditionFile::Coded { text: t, .. } => *t = text,
        }
    }
    for a in &mut d.allergies {
        a.substance = decorate_text(&a.substance);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut out: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&root)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| ext.is_empty() || p.extension().is_some_and(|e| e == ext))
                    .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out.into_iter().map(|(_, b)| b).collect()
    }

    /// A small deterministic mutator (xorshift): flips, hidden characters
    /// and the fuzzer's own favourites spliced in, cut-offs, repeats.
    fn mutations(seed: &[u8], n: usize, salt: u64) -> Vec<Vec<u8>> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ salt ^ seed.len() as u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let splices: [&[u8]; 10] = [
            "\u{200B}".as_bytes(),
            "\u{202E}".as_bytes(),
            b"\x1b[2K",
            b"\n",
            b"1,200",
            b"\"",
            b"]]\n[[",
            "é".as_bytes(),
            b"1e308",
            b"{}",
        ];
        (0..n)
            .map(|_| {
                let mut m = seed.to_vec();
                for _ in 0..1 + next() % 3 {
                    if m.is_empty() {
                        break;
                    }
                    let at = (next() as usize) % m.len();
                    match next() % 4 {
                        0 => m[at] ^= 1 << (next() % 8),
                        1 => {
                            let s = splices[(next() as usize) % splices.len()];
                            m.splice(at..at, s.iter().copied());
                        }
                        2 => m.truncate(at.max(1)),
                        _ => {
                            let end = (at + 1 + (next() as usize) % 16).min(m.len());
                            let piece = m[at..end].to_vec();
                            m.splice(at..at, piece);
                        }
                    }
                }
                m
            })
            .collect()
    }

    /// Every example case, bad case and FHIR fixture, the committed fuzz
    /// corpus, and 6 mutations of each, through the three invariants.
    #[test]
    fn the_seed_corpus_and_its_mutations_keep_every_invariant() {
        let mut runs = 0;
        type Target = fn(&[u8]);
        let groups: [(&[&str], Target); 3] = [
            (
                &[
                    "sessions/cases",
                    "tests/fixtures/bad",
                    "fuzz/corpus/case_file",
                ],
                case_file,
            ),
            (&["tests/fixtures/fhir", "fuzz/corpus/fhir"], fhir),
            (&["fuzz/corpus/cds_request"], cds_request),
        ];
        for (dirs, target) in groups {
            for (i, seed) in dirs.iter().flat_map(|d| seeds(d, "")).enumerate() {
                target(&seed);
                runs += 1;
                for m in mutations(&seed, 6, i as u64) {
                    target(&m);
                    runs += 1;
                }
            }
        }
        assert!(runs > 400, "{runs}");
    }

    /// The decoration invariant holds on a case where it matters: a major
    /// interaction and a condition rule, decorated.
    #[test]
    fn decoration_keeps_a_major_flag() {
        case_file(
            b"conditions = [\"asthma\"]\n[patient]\nage = 68\nsex = \"male\"\n[[medications]]\ndrug = \"warfarin\"\n[[proposed]]\ndrug = \"ibuprofen\"\n[[proposed]]\ndrug = \"propranolol\"\n",
        );
        let file =
            parse_case_file("[patient]\nage = 1\nsex = \"m\"\n[[proposed]]\ndrug = \"warfarin\"\n")
                .ok();
        let d = file.map(|f| decorate(&f).proposed[0].drug.clone());
        assert_eq!(d.as_deref(), Some("WARF\u{200B}ARIN."));
    }
}
