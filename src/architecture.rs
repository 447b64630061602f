//! Keeps the module graph a graph without cycles: every top-level module
//! of the crate may use only modules below it. The test reads the sources
//! (`crate::x` paths, `use crate::{x, y}` groups and `super::super::x`),
//! outside `#[cfg(test)]` code, and fails naming a cycle when it finds one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Modules that nothing of the crate may be imported into: they are the
/// shared vocabulary.
const LEAVES: &[&str] = &["vocab"];

fn top_module(rel: &Path) -> Option<String> {
    let mut parts = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next()?;
    let name = match first.strip_suffix(".rs") {
        Some(stem) => stem.to_string(),
        None => first,
    };
    (name != "lib" && name != "main" && !name.starts_with("bin")).then_some(name)
}

/// The part of a file that is not test code (by this crate's convention a
/// test module is last in its file).
fn non_test(text: &str) -> &str {
    match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Modules named after `crate::` in `text`, including each head of a
/// `crate::{a::x, b}` group.
fn named_modules(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue; // `$crate::`, `mycrate::`
        }
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        start = false;
                        let name = ident(&group[j..]);
                        if !name.is_empty() {
                            out.insert(name);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph(src: &Path) -> Graph {
    let mut g = Graph::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let Ok(rel) = path.strip_prefix(src) else {
                continue;
            };
            let Some(top) = top_module(rel) else { continue };
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let code = non_test(&text);
            let mut names = named_modules(code);
            // `super::super::x` from `top/sub/file.rs` names `x`.
            if rel.components().count() >= 3 {
                for (i, _) in code.match_indices("super::super::") {
                    let rest = &code[i + "super::super::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
            let deps = g.entry(top.clone()).or_default();
            deps.extend(names.into_iter().filter(|n| *n != top && !n.is_empty()));
        }
    }
    // Only edges between modules of the crate.
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for deps in g.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    g
}

/// A cycle of the graph, as the modules along it, if there is one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        g: &Graph,
        node: &str,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let at = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for dep in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(g, dep, marks, path) {
                return Some(c);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in g.keys() {
        if let Some(c) = visit(g, node, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn module_graph_has_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    assert!(g.len() > 10, "read the crate's modules: {:?}", g.keys());
    if let Some(cycle) = find_cycle(&g) {
        panic!("module cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_vocabulary_is_a_leaf() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    for leaf in LEAVES {
        let deps = g.get(*leaf).cloned().unwrap_or_default();
        assert!(deps.is_empty(), "{leaf} uses {deps:?}");
    }
}

#[test]
fn the_checker_finds_what_it_must() {
    let names = named_modules("use crate::{kb::Kb, intake::{Case, Labs}, store};\nlet x = crate::fhir::import(); $crate::no;");
    let expect: BTreeSet<String> = ["fhir", "intake", "kb", "store"].map(String::from).into();
    assert_eq!(names, expect);
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default();
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
}
