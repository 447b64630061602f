//! `rxguide export CASE --fhir OUT.json`: assess a case (TOML or FHIR) and
//! write a FHIR R4 Bundle with the patient data and the flags as
//! DetectedIssue resources. `--fhir -` writes to stdout.

use super::{Global, EXIT_BAD_INPUT};
use crate::fhir::to_bundle;
use crate::load::{load_any, LoadOptions};
use crate::pipeline::assess;
use anyhow::Context as _;
use std::path::Path;

pub fn run(
    global: &Global,
    case_path: &Path,
    out: &Path,
    load: &LoadOptions,
) -> anyhow::Result<i32> {
    let (case, imported) = match load_any(case_path, load) {
        Ok(c) => c,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, _) = global.open_kb()?;
    let assessment = assess(&kb, &case);
    let as_of = load
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let bundle = to_bundle(&assessment, &kb, as_of);
    let text = serde_json::to_string_pretty(&bundle)? + "\n";
    // the bundle is the patient's record: 0600, like the notes
    if crate::session::export::write_out(out, &text)
        .with_context(|| format!("writing {}", out.display()))?
    {
        eprintln!(
            "wrote {} ({} flag(s) as DetectedIssue)",
            out.display(),
            assessment.flags.len()
        );
    }
    for l in &imported.not_imported {
        eprintln!("not imported: {l}");
    }
    Ok(0)
}
