//! `rxguide ask CASE [--rag on|off] [--backend ...] [--json]`: the grounded
//! answer for one case, streamed, then checked sentence by sentence.

use super::{BackendArgs, Global, EXIT_BAD_INPUT};
use crate::answer::{answer, Ask, Grounded};
use crate::intake::load_case;
use crate::llm::check::Support;
use crate::pipeline::assess;
use std::io::Write;
use std::path::Path;
use tokio_util::sync::CancellationToken;

pub struct AskOptions<'a> {
    pub case: &'a Path,
    pub rag: bool,
    pub json: bool,
    pub question: Option<String>,
    pub max_tokens: usize,
}

pub fn run(global: &Global, backend: &BackendArgs, opts: &AskOptions<'_>) -> anyhow::Result<i32> {
    let case = match load_case(opts.case) {
        Ok(c) => c,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let generator = match backend.generator() {
        Ok(g) => g,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, _) = global.open_kb()?;
    let assessment = assess(&kb, &case);
    let note = crate::note::write(&kb, &assessment);
    if !opts.json {
        print!(
            "{}",
            crate::report::to_text(&assessment, &note, super::stdout_color(), false)
        );
        println!(
            "\nAnswer ({} backend, RAG {}):",
            generator.name(),
            if opts.rag { "on" } else { "off" }
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cancel = CancellationToken::new();
    let ctrl_c = cancel.clone();
    let json = opts.json;
    let grounded = runtime.block_on(async {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                ctrl_c.cancel();
            }
        });
        answer(
            generator.as_ref(),
            &assessment,
            &kb,
            &note,
            Ask {
                rag: opts.rag,
                question: opts.question.as_deref(),
                max_tokens: opts.max_tokens,
            },
            cancel,
            |t| {
                if !json {
                    print!("{t}");
                    let _ = std::io::stdout().flush();
                }
            },
        )
        .await
    });
    let grounded = match grounded {
        Ok(g) => g,
        Err(e) => {
            super::print_error(&e);
            return Ok(1);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&assessment, &note, &grounded))?
        );
    } else {
        println!("\n");
        print_check(&grounded);
    }
    Ok(0)
}

fn print_check(g: &Grounded) {
    if g.generation.stats.finish == crate::llm::FinishReason::NoModel {
        println!(
            "{}: nothing was generated; the flags and sources above stand on their own.",
            crate::llm::NO_MODEL_MESSAGE
        );
        return;
    }
    if g.generation.stats.finish == crate::llm::FinishReason::Repetition {
        println!(
            "(Stopped: the answer repeated a sentence; the repeat is cut from the check below.)"
        );
    }
    let s = &g.check.summary;
    println!(
        "Citation check: {} sentence(s): {} supported, {} uncited, {} citing an id that was not retrieved, {} with a claim its sources do not make; {} conflict(s) with a serious flag",
        s.sentences, s.supported, s.uncited, s.wrong_citation, s.unsupported_claims, s.conflicts
    );
    for sentence in &g.check.sentences {
        let mark = match (sentence.support, &sentence.conflict) {
            (_, Some(_)) => "CONFLICT ",
            (Support::Supported, None) => "supported",
            (Support::Uncited, None) => "uncited  ",
            (Support::WrongCitation, None) => "bad cite ",
            (Support::UnsupportedClaim, None) => "bad claim",
        };
        println!("  [{mark}] {}", sentence.text.trim());
        if let Some(w) = &sentence.unsupported_claim {
            println!("             not in the case or the cited passages: {w}");
        }
        if let Some(c) = &sentence.conflict {
            println!(
                "             recommends {} despite a {} flag",
                c.drug, c.severity
            );
        }
        if !sentence.unknown_ids.is_empty() {
            println!(
                "             not retrieved: {}",
                sentence.unknown_ids.join(", ")
            );
        }
    }
    let st = &g.generation.stats;
    println!(
        "Timings: model load {}, prompt ~{} tokens{}, first token {}, {} tokens at {}, total {:.0} ms ({})",
        st.load_ms.map_or("n/a".into(), |v| format!("{v:.0} ms")),
        g.prompt.estimated_tokens,
        st.prompt_tokens.map_or(String::new(), |n| format!(" ({n} counted)")),
        st.first_token_ms.map_or("n/a".into(), |v| format!("{v:.0} ms")),
        st.completion_tokens,
        st.decode_tokens_per_s.map_or("n/a".into(), |v| format!("{v:.1} tok/s")),
        st.total_ms,
        st.finish
    );
}

/// The `ask --json` document: the answer, its check, the flags and the
/// pharmacist's note it explains.
pub fn to_json(
    a: &crate::pipeline::Assessment,
    note: &crate::note::Note,
    g: &Grounded,
) -> serde_json::Value {
    serde_json::json!({
        "case": a.case.id,
        "note": note,
        "rag": g.rag,
        "backend": g.generation.stats.backend,
        "model": g.generation.stats.model,
        "answer": g.generation.text,
        "sentences": g.check.sentences.iter().map(|s| serde_json::json!({
            "text": s.text.trim(),
            "support": s.support,
            "citations": s.citations,
            "not_retrieved": s.unknown_ids,
            "unsupported_claim": s.unsupported_claim,
            "conflict": s.conflict,
        })).collect::<Vec<_>>(),
        "conflicts": g.check.sentences.iter().filter_map(|s| s.conflict.clone()).collect::<Vec<_>>(),
        "summary": g.check.summary,
        "flags": a.flags,
        "citable_ids": g.prompt.citable_ids,
        "timings": {
            "model_load_ms": g.generation.stats.load_ms,
            "load_wait_ms": g.generation.stats.load_wait_ms,
            "prompt_tokens": g.generation.stats.prompt_tokens,
            "prompt_tokens_estimated": g.prompt.estimated_tokens,
            "first_token_ms": g.generation.stats.first_token_ms,
            "decode_tokens_per_s": g.generation.stats.decode_tokens_per_s,
            "completion_tokens": g.generation.stats.completion_tokens,
            "total_ms": g.generation.stats.total_ms,
            "finish": g.generation.stats.finish,
        },
    })
}
