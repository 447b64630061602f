//! `rxguide kb build | stats | search | check`.

use super::Global;
use crate::kb::lint::lint;
use crate::kb::store::KbStore;

pub fn build(global: &Global) -> anyhow::Result<i32> {
    let sources = global.sources()?;
    let store = KbStore::open(&global.data_dir())?;
    let start = std::time::Instant::now();
    let kb = store.build(&sources)?;
    let stats = kb.stats(store.imported_count());
    println!(
        "built {} from {} in {:.0} ms: {} drugs, {} interactions, {} passages",
        store.path().display(),
        sources.label,
        start.elapsed().as_secs_f64() * 1000.0,
        stats.drugs,
        stats.interactions,
        stats.passages
    );
    Ok(0)
}

pub fn stats(global: &Global, json: bool) -> anyhow::Result<i32> {
    let store = KbStore::open(&global.data_dir())?;
    let (kb, info) = store.ensure(&global.sources()?)?;
    let imported = store.imported_count();
    let mut stats = kb.stats(imported);
    stats.imported_aliases = store.aliases()?.len();
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!(
            "knowledge base: {} ({})",
            info.source_label,
            info.path.display()
        );
        println!("  drugs        {}", stats.drugs);
        println!("  synonyms     {}", stats.synonyms);
        println!("  brands       {}", stats.brands);
        println!("  classes      {}", stats.classes);
        println!("  interactions {}", stats.interactions);
        for (kind, n) in &stats.rules {
            println!("  rules/{kind:<12} {n}");
        }
        println!("  passages     {}", stats.passages);
        println!("  imported     {}", stats.imported_passages);
        println!(
            "  imported brand names {} (rxguide kb aliases)",
            stats.imported_aliases
        );
    }
    Ok(0)
}

/// `rxguide kb aliases [--remove NAME]... [--json]`: the brand names
/// imports added, and taking one out (it stops resolving at once).
pub fn aliases(global: &Global, remove: &[String], json: bool) -> anyhow::Result<i32> {
    let store = KbStore::open(&global.data_dir())?;
    let mut missing = 0;
    for name in remove {
        if store.remove_alias(name)? {
            eprintln!(
                "removed imported brand name \"{}\"",
                crate::vocab::text::visible_line(name)
            );
        } else {
            eprintln!(
                "error: \"{}\" is not an imported brand name (see `rxguide kb aliases`)",
                crate::vocab::text::visible_line(name)
            );
            missing += 1;
        }
    }
    let list = store.aliases()?;
    if json {
        let rows: Vec<_> = list
            .iter()
            .map(|(name, generic)| serde_json::json!({ "name": name, "drug": generic }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if list.is_empty() {
        println!("no imported brand names");
    } else {
        for (name, generic) in &list {
            println!("{name} -> {generic}");
        }
    }
    Ok(if missing > 0 {
        super::EXIT_BAD_INPUT
    } else {
        0
    })
}

pub fn search(global: &Global, query: &str, k: usize, json: bool) -> anyhow::Result<i32> {
    let (kb, _) = global.open_kb()?;
    // Drug names in the query are boosted, as in a case.
    let boost: Vec<String> = query
        .split_whitespace()
        .filter_map(|w| kb.lookup(w).map(|id| kb.drug(id).name.clone()))
        .collect();
    let hits = kb.index.search(query, &boost, k);
    if json {
        let out: Vec<_> = hits
            .iter()
            .map(|h| {
                let p = kb.passage(&h.id);
                serde_json::json!({
                    "id": h.id,
                    "score": h.score,
                    "title": p.map(|p| p.title.as_str()),
                    "source": p.map(|p| p.source.as_str()),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if hits.is_empty() {
        println!("no passage matches \"{query}\"");
    } else {
        for h in hits {
            let title = kb.passage(&h.id).map(|p| p.title.as_str()).unwrap_or("");
            println!("{:>7.2}  {}  {}", h.score, h.id, title);
        }
    }
    Ok(0)
}

pub fn check(global: &Global) -> anyhow::Result<i32> {
    let sources = global.sources()?;
    let problems = lint(&sources);
    if problems.is_empty() {
        println!(
            "kb check: {} clean ({} files)",
            sources.label,
            sources.files.len()
        );
        Ok(0)
    } else {
        for p in &problems {
            println!("{p}");
        }
        eprintln!("kb check: {} problem(s)", problems.len());
        Ok(1)
    }
}

pub fn import_openfda(global: &Global, file: &std::path::Path, json: bool) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let store = KbStore::open(&global.data_dir())?;
    let (kb, _) = store.ensure(&global.sources()?)?;
    let start = std::time::Instant::now();
    let summary =
        crate::kb::openfda::import_file(file, &kb, &store, std::io::stderr().is_terminal())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "imported {} passages from {} labels in {:.1} s ({} brand names added to known drugs; {} generic names unknown to the rules: their text is searchable, nothing is checked for them)",
            summary.passages,
            summary.labels,
            start.elapsed().as_secs_f64(),
            summary.brand_aliases,
            summary.unknown_generics
        );
        let show = |what: &str, list: &[String]| {
            if !list.is_empty() {
                println!("{} {what}:", list.len());
                for l in list.iter().take(20) {
                    println!("  {}", crate::vocab::text::visible_line(l));
                }
                if list.len() > 20 {
                    println!("  … and {} more (--json lists all)", list.len() - 20);
                }
            }
        };
        show(
            "brand names not added (they would change what a name means)",
            &summary.rejected_aliases,
        );
        show(
            "labels skipped (unreadable; the rest was imported)",
            &summary.skipped_labels,
        );
        if summary.labels_without_set_id > 0 {
            println!(
                "skipped {} labels without set_id or id",
                summary.labels_without_set_id
            );
        }
    }
    Ok(0)
}
