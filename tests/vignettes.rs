//! Broad clinical vignettes (tests/vignettes/*.toml, written for this suite,
//! not the shared examples) against the bundled knowledge base: every
//! expected flag present with at least its severity, no `absent` flag, and
//! the negative controls flag-free.

use rxguide::clinical::expect::score;
use rxguide::intake::load_case;
use rxguide::kb::{Kb, Sources};
use rxguide::pipeline::assess;
use std::path::PathBuf;

#[test]
fn vignettes_pass_on_the_bundled_kb() {
    let sources = Sources::bundled();
    let kb = Kb::link(sources.parse().expect("bundled kb parses"), sources.hash()).expect("links");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vignettes");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vignettes dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "a broad set of vignettes");
    let mut failures = Vec::new();
    for path in &paths {
        let case = load_case(path).expect("valid vignette");
        let expect = case.expect.clone().expect("every vignette has [expect]");
        let a = assess(&kb, &case);
        let r = score(&expect, &a.flags);
        if expect.flags.is_empty() && !a.flags.is_empty() {
            failures.push(format!(
                "{}: negative control raised {:?}",
                path.display(),
                a.flags.iter().map(|f| &f.summary).collect::<Vec<_>>()
            ));
        }
        if !r.passed() {
            failures.push(format!(
                "{}: missing {:?}; unwanted {:?}; got {:?}",
                path.display(),
                r.missing,
                r.unwanted,
                a.flags
                    .iter()
                    .map(|f| (f.kind, f.severity, &f.drugs))
                    .collect::<Vec<_>>()
            ));
        }
        for f in &a.flags {
            assert!(
                f.sources.iter().all(|s| kb.passage(s).is_some()),
                "{}: flag cites unknown passage",
                path.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
