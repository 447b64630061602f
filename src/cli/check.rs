//! `rxguide check CASE [--json] [--trace]`.

use super::{Global, EXIT_BAD_INPUT};
use crate::intake::load_case;
use crate::pipeline::assess;
use crate::report;
use std::path::Path;

/// Runs the check; returns the process exit status. Bad case files print
/// one line on stderr and nothing on stdout.
pub fn run(global: &Global, case_path: &Path, json: bool, trace: bool) -> anyhow::Result<i32> {
    let case = match load_case(case_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, info) = global.open_kb()?;
    let mut assessment = assess(&kb, &case);
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
    if json {
        let v = report::to_json(&assessment, trace);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!(
            "{}",
            report::to_text(&assessment, super::stdout_color(), trace)
        );
    }
    Ok(0)
}
