//! `rxguide check CASE [--json] [--trace] [--propose DRUG]... [--as-of DATE]`.
//! CASE is a TOML case file or a FHIR R4 JSON bundle.

use super::{Global, EXIT_BAD_INPUT};
use crate::load::{load_any, LoadOptions};
use crate::pipeline::assess;
use crate::report;
use serde_json::Value;
use std::path::Path;

/// Runs the check; returns the process exit status. Bad input files print
/// one line on stderr and nothing on stdout.
pub fn run(
    global: &Global,
    case_path: &Path,
    json: bool,
    trace: bool,
    load: &LoadOptions,
) -> anyhow::Result<i32> {
    let (case, imported) = match load_any(case_path, load) {
        Ok(c) => c,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, info) = global.open_kb()?;
    let mut assessment = assess(&kb, &case);
    for line in &imported.not_imported {
        assessment
            .trace
            .push(crate::trace::Stage::Intake, format!("not imported: {line}"));
    }
    assessment.trace.push(
        crate::trace::Stage::Kb,
        format!(
            "knowledge base: {} ({}; {} in {:.1} ms)",
            info.source_label,
            info.path.display(),
            if info.rebuilt {
                "rebuilt"
            } else {
                "up to date"
            },
            info.elapsed.as_secs_f64() * 1000.0
        ),
    );
    let note = crate::note::write(&kb, &assessment);
    if json {
        let mut v = report::to_json(&assessment, &note, trace);
        v["not_imported"] = Value::from(imported.not_imported.clone());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!(
            "{}",
            report::to_text(&assessment, &note, super::stdout_color(), trace)
        );
        print!("{}", not_imported_text(&imported.not_imported));
    }
    Ok(0)
}

/// The "Not imported" section of the text report (empty when nothing was
/// left out).
pub fn not_imported_text(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("\nNot imported (from the FHIR input; not used by any rule):\n");
    for l in lines {
        s.push_str(&format!("  - not imported: {l}\n"));
    }
    s
}
