//! Local generation speed, measured through the same code path as the app
//! (`LocalGenerator`, mistral.rs on a GGUF). Used by `scripts/bench-llm`,
//! which runs llama.cpp on the identical prompt in the same run.
//!
//! ```text
//! cargo run --release --example bench_llm -- \
//!     [--model PATH] [--case PATH] [--max-tokens 64] [--runs 2] \
//!     [--prompt-out FILE] [--prompt-only]
//! ```
//!
//! The prompt is rxguide's grounded prompt (RAG on) for the case; with
//! `--prompt-out` its chat messages are written as JSON so that the peer uses
//! the same text and the GGUF's own chat template. Each run prints one JSON
//! line: load time, prompt tokens, first-token latency, prefill and decode
//! tokens/s, and the answer text (to compare kernels' output). Run 1 pays the
//! model load; later runs reuse the loaded model.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use rxguide::answer::prompt_for;
use rxguide::intake::load_case;
use rxguide::kb::{Kb, Sources};
use rxguide::llm::{collect, default_model_path, GenRequest, LocalGenerator};
use rxguide::pipeline::assess;
use tokio_util::sync::CancellationToken;

struct Args {
    model: PathBuf,
    case: PathBuf,
    max_tokens: usize,
    runs: usize,
    prompt_out: Option<PathBuf>,
    prompt_only: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        model: default_model_path(),
        case: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("sessions/cases/warfarin-ibuprofen.toml"),
        max_tokens: 64,
        runs: 2,
        prompt_out: None,
        prompt_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--model" => args.model = value()?.into(),
            "--case" => args.case = value()?.into(),
            "--max-tokens" => args.max_tokens = value()?.parse()?,
            "--runs" => args.runs = value()?.parse::<usize>()?.max(1),
            "--prompt-out" => args.prompt_out = Some(value()?.into()),
            "--prompt-only" => args.prompt_only = true,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let sources = Sources::bundled();
    let kb = Kb::link(sources.parse()?, sources.hash())?;
    let case = load_case(&args.case)?;
    let assessment = assess(&kb, &case);
    let note = rxguide::note::write(&kb, &assessment);
    let prompt = prompt_for(&assessment, &kb, &note, true, None);
    if let Some(out) = &args.prompt_out {
        std::fs::write(out, serde_json::to_string_pretty(&prompt.messages)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if args.prompt_only {
        eprintln!("prompt: ~{} tokens (estimate)", prompt.estimated_tokens);
        return Ok(());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let generator = LocalGenerator::new(&args.model)?;
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    for run in 1..=args.runs {
        let request = GenRequest::new(prompt.messages.clone()).with_max_tokens(args.max_tokens);
        let began = Instant::now();
        let generation = runtime.block_on(collect(
            &generator,
            request,
            CancellationToken::new(),
            |_| {},
        ))?;
        let wall = began.elapsed().as_secs_f64() * 1000.0;
        let s = &generation.stats;
        let prefill = match (s.prompt_tokens, s.first_token_ms) {
            (Some(n), Some(ms)) if ms > 0.0 => Some(n as f64 / (ms / 1000.0)),
            _ => None,
        };
        let line = serde_json::json!({
            "engine": "rxguide",
            "run": run,
            "threads": threads,
            "model": s.model,
            "load_ms": if run == 1 { s.load_ms } else { None },
            "prompt_tokens": s.prompt_tokens,
            "first_token_ms": s.first_token_ms,
            "prefill_tok_s": prefill,
            "completion_tokens": s.completion_tokens,
            "decode_tok_s": s.decode_tokens_per_s,
            "wall_ms": wall,
            "finish": s.finish.to_string(),
            "text": generation.text,
        });
        println!("{line}");
    }
    Ok(())
}
