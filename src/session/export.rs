//! Export: a Markdown note (patient, flags with their sources, the model's
//! answer with support marks, the trace) and the case file, written with
//! mode 0600 (readable by the user only).

use crate::intake::case_file::CaseFile;
use crate::kb::Kb;
use crate::llm::check::{AnswerCheck, Support};
use crate::pipeline::{patient_lines, Assessment};
use crate::vocab::text::visible_line;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One answer to put in the note.
#[derive(Debug, Clone)]
pub struct AnswerNote {
    /// e.g. "with sources (RAG)".
    pub label: String,
    pub text: String,
    pub check: Option<AnswerCheck>,
    /// Status when there is no text (no model, cancelled, error).
    pub status: String,
}

/// The mark put after a sentence: support first, then any conflict.
pub fn support_mark(s: Support) -> &'static str {
    match s {
        Support::Supported => "[supported]",
        Support::Uncited => "[UNSUPPORTED: no citation]",
        Support::WrongCitation => "[UNSUPPORTED: cites a passage that was not retrieved]",
        Support::UnsupportedClaim => "[UNSUPPORTED: states a number or drug its sources do not]",
    }
}

/// The Markdown note for an assessed session.
pub fn markdown(a: &Assessment, kb: &Kb, answers: &[AnswerNote], extra_trace: &[String]) -> String {
    // Patient, kb and model text is escaped for Markdown (no injected
    // links, headings or HTML) and shown with control characters visible.
    let m = |t: &str| crate::vocab::text::markdown(t);
    let mut md = String::new();
    let title = a.case.title.clone().unwrap_or_else(|| a.case.id.clone());
    let _ = writeln!(md, "# rxguide note: {}\n", m(&title));
    let _ = writeln!(md, "## Patient\n");
    for line in patient_lines(&a.case).lines() {
        let _ = writeln!(md, "- {}", m(line));
    }
    for c in &a.derived.calculations {
        let _ = writeln!(
            md,
            "- {} = {} ({})",
            m(&c.name),
            m(&c.result),
            m(&c.formula)
        );
    }
    let _ = writeln!(md, "\n## {}\n", crate::note::HEADING);
    for line in crate::note::write(kb, a).lines() {
        // an indented code block shows text as written: kept to one line
        let _ = writeln!(md, "    {}", visible_line(&line));
    }
    let _ = writeln!(md, "\n## Flags ({}), most serious first\n", a.flags.len());
    if a.flags.is_empty() {
        let _ = writeln!(md, "No flag was raised by the rules that could be checked.");
    }
    for f in &a.flags {
        let _ = writeln!(
            md,
            "### {} {} — {} — {}\n",
            f.severity.symbol().trim(),
            f.severity.as_str().to_uppercase(),
            f.kind,
            m(&f.drugs.join(" + "))
        );
        let _ = writeln!(md, "{}\n", m(&f.summary));
        if let Some(e) = f.evidence {
            let _ = writeln!(md, "Evidence: {e}\n");
        }
        if !f.suggestion.is_empty() {
            let _ = writeln!(md, "Suggestion: {}\n", m(&f.suggestion));
        }
        let _ = writeln!(md, "Sources:");
        for id in &f.sources {
            match kb.passage(id) {
                Some(p) => {
                    let _ = writeln!(
                        md,
                        "- `{id}`: {} — {}{}",
                        m(&p.title),
                        m(&p.source),
                        p.locator().map(|u| format!(" <{u}>")).unwrap_or_default()
                    );
                }
                None => {
                    let _ = writeln!(md, "- `{id}`");
                }
            }
        }
        let _ = writeln!(md);
    }
    if !a.not_checked.is_empty() {
        let _ = writeln!(md, "## Not checked\n");
        for n in &a.not_checked {
            let _ = writeln!(md, "- {} {}: {}", m(&n.drug), m(&n.what), m(&n.reason));
        }
        let _ = writeln!(md);
    }
    for ans in answers {
        let _ = writeln!(md, "## Model answer, {}\n", ans.label);
        match (&ans.check, ans.text.trim().is_empty()) {
            (_, true) => {
                let _ = writeln!(md, "_{}_\n", ans.status);
            }
            (Some(check), false) => {
                for s in &check.sentences {
                    let mut line = format!("- {} {}", m(s.text.trim()), support_mark(s.support));
                    if let Some(c) = &s.conflict {
                        let _ = write!(
                            line,
                            " [CONFLICT: recommends {} despite a {} flag]",
                            m(&c.drug),
                            c.severity
                        );
                    }
                    let _ = writeln!(md, "{line}");
                }
                let sum = &check.summary;
                let _ = writeln!(
                    md,
                    "\n{} sentence(s): {} supported, {} uncited, {} wrong citation, {} conflict(s).\n",
                    sum.sentences, sum.supported, sum.uncited, sum.wrong_citation, sum.conflicts
                );
            }
            (None, false) => {
                let _ = writeln!(md, "{}\n", m(ans.text.trim()));
            }
        }
    }
    let _ = writeln!(md, "## Trace\n\n```");
    // a fenced block: one line each, and no fence of its own
    let fenced = |l: &str| visible_line(l).replace("```", "` ` `");
    for l in a.trace.lines() {
        let _ = writeln!(md, "{}", fenced(&l));
    }
    for l in extra_trace {
        let _ = writeln!(md, "{}", fenced(l));
    }
    let _ = writeln!(md, "```");
    md
}

/// Creates `dir` and its missing parents, each readable by the user only
/// (0700); an existing directory keeps its mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Writes `contents` to `path`, readable and writable by the user only
/// (0600 from the moment it exists), creating a missing parent directory
/// 0700. Every file rxguide writes that can hold patient data goes
/// through here: notes, case files, FHIR bundles, eval results,
/// recordings.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.sync_all()
}

/// Writes `contents` to `path` with [`write_private`], or to standard
/// output when `path` is `-` (every `--export… FILE|-` option); true when
/// a file was written.
pub fn write_out(path: &Path, contents: &str) -> std::io::Result<bool> {
    if path.as_os_str() == "-" {
        print!("{contents}");
        Ok(false)
    } else {
        write_private(path, contents).map(|()| true)
    }
}

/// Writes `<dir>/<stem>.md` and `<dir>/<stem>.toml`; returns both paths.
pub fn export(
    dir: &Path,
    stem: &str,
    note: &str,
    case: &crate::intake::Case,
) -> std::io::Result<(PathBuf, PathBuf)> {
    create_private_dir(dir)?;
    let md = dir.join(format!("{stem}.md"));
    let toml_path = dir.join(format!("{stem}.toml"));
    write_private(&md, note)?;
    let toml = CaseFile::from_case(case)
        .to_toml()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_private(&toml_path, &toml)?;
    Ok((md, toml_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("x.md");
        write_private(&p, "hello").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
