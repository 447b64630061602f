//! `rxguide eval CASE_DIR [--rag on,off] [--backend ...] [--out DIR]`.

use super::{BackendArgs, Global, EXIT_BAD_INPUT};
use crate::eval::{markdown, run};
use crate::intake::load_case;
use std::path::{Path, PathBuf};

pub struct EvalOptions<'a> {
    pub dir: &'a Path,
    pub conditions: Vec<bool>,
    pub out: PathBuf,
    pub max_tokens: usize,
    pub limit: Option<usize>,
    /// Replace the results already in `out`.
    pub force: bool,
}

/// Files an eval run writes besides the per-condition tables.
const OUTPUTS: [&str; 2] = ["summary.md", "answers.json"];

/// Results of an earlier run in `out`: scores a reviewer gave them would
/// no longer match, so they are not overwritten silently.
fn earlier_results(out: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            OUTPUTS.contains(&name)
                || (name.starts_with("rag-") && (name.ends_with(".md") || name.ends_with(".json")))
        })
        .collect();
    found.sort();
    found
}

/// Parses `--rag on,off`.
pub fn parse_conditions(s: &str) -> Result<Vec<bool>, String> {
    s.split(',')
        .map(|p| match p.trim() {
            "on" => Ok(true),
            "off" => Ok(false),
            other => Err(format!(
                "`{other}` is not a RAG condition (accepted: on, off, on,off)"
            )),
        })
        .collect()
}

pub fn run_cli(
    global: &Global,
    backend: &BackendArgs,
    opts: &EvalOptions<'_>,
) -> anyhow::Result<i32> {
    let earlier = earlier_results(&opts.out);
    if !earlier.is_empty() && !opts.force {
        eprintln!(
            "error: {} already holds eval results ({}); choose another --out or pass --force to replace them",
            opts.out.display(),
            earlier
                .iter()
                .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(EXIT_BAD_INPUT);
    }
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(opts.dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            eprintln!("error: {}: {e}", opts.dir.display());
            return Ok(EXIT_BAD_INPUT);
        }
    };
    paths.sort();
    if let Some(n) = opts.limit {
        paths.truncate(n);
    }
    let mut cases = Vec::new();
    for p in &paths {
        match load_case(p) {
            Ok(c) => cases.push(c),
            Err(e) => {
                super::print_error(&e);
                return Ok(EXIT_BAD_INPUT);
            }
        }
    }
    if cases.is_empty() {
        eprintln!("error: {}: no case files (*.toml)", opts.dir.display());
        return Ok(EXIT_BAD_INPUT);
    }
    let generator = match backend.generator() {
        Ok(g) => g,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, _) = global.open_kb()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (records, summaries) = runtime.block_on(run(
        generator.as_ref(),
        &kb,
        &cases,
        &opts.conditions,
        opts.max_tokens,
        |line| eprintln!("eval: {line}"),
    ));
    // case text and model answers: written readable by the user only
    use crate::session::export::{create_private_dir, write_private};
    create_private_dir(&opts.out)?;
    for s in &summaries {
        write_private(
            &opts.out.join(format!("{}.json", s.condition)),
            &serde_json::to_string_pretty(s)?,
        )?;
        write_private(
            &opts.out.join(format!("{}.md", s.condition)),
            &markdown(std::slice::from_ref(s)),
        )?;
    }
    let table = markdown(&summaries);
    write_private(&opts.out.join("summary.md"), &table)?;
    write_private(
        &opts.out.join("answers.json"),
        &serde_json::to_string_pretty(&records)?,
    )?;
    println!("{table}");
    println!(
        "wrote {} (per-condition .md and .json, summary.md, answers.json)",
        opts.out.display()
    );
    Ok(if summaries.iter().any(|s| !s.errors.is_empty()) {
        1
    } else {
        0
    })
}
