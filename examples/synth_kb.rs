//! A synthetic knowledge base for measuring `rxguide kb build` at scale
//! (issue #8): copies the bundled `kb/` tree to OUT and adds N synthetic
//! passages (`passages/synth-NNNN.md`, 10,000 per file, ids `synth-NNNNNNN`).
//! Text comes from the retrieval benches' generator (`benches/synth/mod.rs`,
//! seed 42); its made-up drug names are replaced by real drug names of the kb,
//! so that every passage's `drugs` resolves.
//!
//! ```text
//! export CARGO_TARGET_DIR=$HOME/.cache/rxguide-target
//! cargo build --release --example synth_kb
//! $CARGO_TARGET_DIR/release/examples/synth_kb 1000000 /tmp/kb-1m
//! /usr/bin/time -f "wall_s=%e maxrss_kib=%M" \
//!     $CARGO_TARGET_DIR/release/rxguide kb build --kb /tmp/kb-1m --data-dir /tmp/kb-1m-data
//! /usr/bin/time -f "wall_s=%e maxrss_kib=%M" \
//!     $CARGO_TARGET_DIR/release/rxguide kb stats --json --kb /tmp/kb-1m --data-dir /tmp/kb-1m-data
//! ```
//!
//! OUT must not exist yet. A third argument names another source tree to copy.
//! `rxguide kb check` on the result reports only that no record cites the
//! synthetic passages (orphans); `kb build` accepts it.

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

const PER_FILE: usize = 10_000;
const MAX_CHARS: usize = rxguide::kb::lint::MAX_PASSAGE_CHARS;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: synth_kb N OUT [KB]";
    let n: usize = args.next().context(usage)?.parse()?;
    let out = PathBuf::from(args.next().context(usage)?);
    let src = args.next().map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("kb"),
        PathBuf::from,
    );
    if out.exists() {
        bail!("{} exists already", out.display());
    }
    copy_tree(&src, &out)?;

    let records = rxguide::kb::Sources::from_dir(&src)?.parse()?;
    let real: Vec<&str> = records.drugs.iter().map(|d| d.name.as_str()).collect();
    let mut corpus = synth::Corpus::new(42);
    for (f, start) in (0..n).step_by(PER_FILE).enumerate() {
        let mut text = String::new();
        for i in start..n.min(start + PER_FILE) {
            let p = corpus.passage(i + 1);
            let drugs: Vec<&str> = p.drugs.iter().map(|d| real_name(&real, d)).collect();
            let swap = |s: &str| -> String {
                let words = s
                    .split(' ')
                    .map(|w| match p.drugs.iter().position(|d| d == w) {
                        Some(k) => drugs[k],
                        None => w,
                    });
                words.collect::<Vec<_>>().join(" ")
            };
            writeln!(
                text,
                "+++\nid = \"{}\"\ndrugs = {:?}\nsection = \"synthetic\"\ntitle = \"{}\"\n\
                 source = \"Synthetic benchmark text (examples/synth_kb.rs), not clinical content\"\n\
                 identifier = \"synthetic:seed-42:{}\"\n\
                 license = \"Synthetic benchmark text, no source\"\n+++\n{}\n",
                p.id,
                drugs,
                swap(&p.title),
                i + 1,
                cap(swap(&p.text))
            )?;
        }
        let path = out.join(format!("passages/synth-{:04}.md", f + 1));
        std::fs::write(&path, text).with_context(|| path.display().to_string())?;
    }
    println!("{}: bundled kb + {n} synthetic passages", out.display());
    Ok(())
}

/// Cuts the text at a word boundary to the linter's limit of 1200 characters
/// (about 7% of the generator's passages are longer).
fn cap(mut text: String) -> String {
    if text.len() > MAX_CHARS {
        let end = text[..=MAX_CHARS].rfind(' ').unwrap_or(MAX_CHARS);
        text.truncate(end);
    }
    text
}

/// The real drug a made-up name stands for, chosen by the name's hash.
fn real_name<'a>(real: &[&'a str], fake: &str) -> &'a str {
    let h = fake.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    real[(h % real.len() as u64) as usize]
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
