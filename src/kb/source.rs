//! Reading a `kb/` tree (embedded in the binary, or a directory) and parsing
//! it into [`Records`], with `file:line` errors.

use super::model::{Origin, Passage, Records};
use super::KbError;
use include_dir::{include_dir, Dir};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use toml::Spanned;

static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/kb");

/// The text files of a kb tree, as (relative path, contents), sorted.
#[derive(Debug, Clone)]
pub struct Sources {
    pub label: String,
    pub files: Vec<(String, String)>,
}

impl Sources {
    /// The knowledge base compiled into the binary.
    pub fn bundled() -> Sources {
        let mut files = Vec::new();
        collect_embedded(&BUNDLED, &mut files);
        files.sort();
        Sources {
            label: "bundled kb".into(),
            files,
        }
    }

    /// A kb tree on disk (`--kb DIR`).
    pub fn from_dir(dir: &Path) -> Result<Sources, KbError> {
        let mut files = Vec::new();
        collect_dir(dir, dir, &mut files)?;
        files.sort();
        Ok(Sources {
            label: dir.display().to_string(),
            files,
        })
    }

    /// A content hash: the compiled store is rebuilt when it changes.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(super::STORE_FORMAT.to_le_bytes());
        for (path, text) in &self.files {
            h.update(path.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses every file. Stops at the first malformed file (the error
    /// names file and line).
    pub fn parse(&self) -> Result<Records, KbError> {
        let mut records = Records::default();
        for (path, text) in &self.files {
            if path.ends_with(".toml") {
                parse_toml(path, text, &mut records)?;
            } else if path.starts_with("passages/") && path.ends_with(".md") {
                records.passages.extend(parse_passages(path, text)?);
            }
        }
        Ok(records)
    }
}

fn is_source(path: &str) -> bool {
    (path.ends_with(".toml") || (path.starts_with("passages/") && path.ends_with(".md")))
        && !path.rsplit('/').next().unwrap_or(path).starts_with('.')
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        if is_source(&path) {
            if let Some(text) = file.contents_utf8() {
                out.push((path, text.to_string()));
            }
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

fn collect_dir(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), KbError> {
    let entries = std::fs::read_dir(dir).map_err(|e| KbError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| KbError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_dir(root, &path, out)?;
            continue;
        }
        let rel: PathBuf = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let rel = rel.to_string_lossy().replace('\\', "/");
        if is_source(&rel) {
            let text = std::fs::read_to_string(&path).map_err(|e| KbError::Io {
                path: path.clone(),
                source: e,
            })?;
            out.push((rel, text));
        }
    }
    Ok(())
}

/// One TOML file may hold any record tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    drug: Vec<Spanned<super::model::Drug>>,
    #[serde(default)]
    class: Vec<Spanned<super::model::Class>>,
    #[serde(default)]
    interaction: Vec<Spanned<super::model::Interaction>>,
    #[serde(default)]
    rule: Vec<Spanned<super::model::StateRule>>,
    #[serde(default)]
    allergy: Vec<Spanned<super::model::AllergyRule>>,
    #[serde(default)]
    duplicate: Vec<Spanned<super::model::DuplicateRule>>,
    #[serde(default)]
    dose: Vec<Spanned<super::model::DoseRule>>,
    #[serde(default)]
    combination: Vec<Spanned<super::model::CombinationRule>>,
    #[serde(default)]
    condition: Vec<Spanned<super::model::ConditionConcept>>,
}

fn line_of(text: &str, pos: usize) -> usize {
    text[..pos.min(text.len())].matches('\n').count() + 1
}

/// The line of the `[[table]]` header that opens the record at `pos`
/// (spans of array-of-table records start at their first key).
fn record_line(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    if text[pos..].starts_with("[[") {
        return line_of(text, pos);
    }
    let header = text[..pos].rfind("[[").unwrap_or(0);
    line_of(text, header)
}

fn parse_toml(path: &str, text: &str, records: &mut Records) -> Result<(), KbError> {
    let file: TomlFile = toml::from_str(text).map_err(|e| KbError::Parse {
        file: path.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().trim().replace('\n', " "),
    })?;
    let origin = |span: std::ops::Range<usize>| Origin {
        file: path.to_string(),
        line: record_line(text, span.start),
    };
    macro_rules! take {
        ($list:expr, $into:expr) => {
            for item in $list {
                let span = item.span();
                let mut rec = item.into_inner();
                rec.origin = origin(span);
                $into.push(rec);
            }
        };
    }
    take!(file.drug, records.drugs);
    take!(file.class, records.classes);
    take!(file.interaction, records.interactions);
    take!(file.rule, records.rules);
    take!(file.allergy, records.allergies);
    take!(file.duplicate, records.duplicates);
    take!(file.dose, records.doses);
    take!(file.combination, records.combinations);
    take!(file.condition, records.conditions);
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Frontmatter {
    id: String,
    #[serde(default)]
    drugs: Vec<String>,
    #[serde(default)]
    section: String,
    title: String,
    source: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    identifier: Option<String>,
    license: String,
    #[serde(default)]
    evidence: Option<crate::vocab::Evidence>,
}

/// Splits a passages file into `+++` frontmatter blocks and bodies.
pub fn parse_passages(path: &str, text: &str) -> Result<Vec<Passage>, KbError> {
    let perr = |line: usize, message: String| KbError::Parse {
        file: path.to_string(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Skip leading blank lines; anything else before the first block is an error.
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    while i < lines.len() {
        if lines[i].trim() != "+++" {
            return Err(perr(
                i + 1,
                "expected a `+++` line opening a passage's frontmatter".into(),
            ));
        }
        let open = i;
        i += 1;
        let fm_start = i;
        while i < lines.len() && lines[i].trim() != "+++" {
            i += 1;
        }
        if i >= lines.len() {
            return Err(perr(
                open + 1,
                "frontmatter opened with `+++` is never closed".into(),
            ));
        }
        let fm_text = lines[fm_start..i].join("\n");
        let fm: Frontmatter = toml::from_str(&fm_text).map_err(|e| {
            let line = fm_start + 1 + e.span().map_or(0, |s| line_of(&fm_text, s.start) - 1);
            perr(
                line,
                format!(
                    "passage frontmatter: {}",
                    e.message().trim().replace('\n', " ")
                ),
            )
        })?;
        i += 1;
        let body_start = i;
        while i < lines.len() && lines[i].trim() != "+++" {
            i += 1;
        }
        let body = lines[body_start..i].join("\n").trim().to_string();
        if body.is_empty() {
            return Err(perr(open + 1, format!("passage `{}` has no text", fm.id)));
        }
        out.push(Passage {
            id: fm.id,
            drugs: fm.drugs,
            section: fm.section,
            title: fm.title,
            source: fm.source,
            url: fm.url,
            identifier: fm.identifier,
            license: fm.license,
            evidence: fm.evidence,
            text: body,
            origin: Origin {
                file: path.to_string(),
                line: open + 1,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passages_split_with_lines() {
        let text = "+++\nid = \"a\"\ntitle = \"A\"\nsource = \"S\"\nlicense = \"L\"\nurl = \"https://x\"\n+++\nAlpha text.\n\n+++\nid = \"b\"\ntitle = \"B\"\nsource = \"S\"\nlicense = \"L\"\nidentifier = \"doi:1\"\n+++\nBeta.\n";
        let p = parse_passages("passages/x.md", text).expect("parses");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].text, "Alpha text.");
        assert_eq!(p[1].origin.line, 10);
    }

    #[test]
    fn malformed_frontmatter_names_line() {
        let text = "+++\nid = \"a\"\ntitle = \n+++\ntext\n";
        match parse_passages("passages/x.md", text) {
            Err(KbError::Parse { line, file, .. }) => {
                assert_eq!(file, "passages/x.md");
                assert!((2..=3).contains(&line), "{line}");
            }
            other => panic!("expected parse error, got {other:?}"),
        }
    }

    #[test]
    fn bad_severity_in_toml_names_file_and_line() {
        let text = "[[interaction]]\nid = \"x\"\na = [\"a\"]\nb = [\"b\"]\nseverity = \"severe\"\nsummary = \"s\"\nsources = [\"p\"]\n";
        let mut r = Records::default();
        match parse_toml("rules/x.toml", text, &mut r) {
            Err(KbError::Parse { line, message, .. }) => {
                assert_eq!(line, 5);
                assert!(message.contains("severe"), "{message}");
            }
            other => panic!("expected parse error, got {other:?}"),
        }
    }

    #[test]
    fn record_origin_is_its_header_line() {
        let text = "# c\n\n[[drug]]\nname = \"a\"\n\n[[drug]]\nname = \"b\"\n";
        let mut r = Records::default();
        parse_toml("drugs/x.toml", text, &mut r).expect("parses");
        assert_eq!(r.drugs[0].origin.line, 3);
        assert_eq!(r.drugs[1].origin.line, 6);
    }
}
