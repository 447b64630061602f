//! `rxguide serve [--bind 127.0.0.1:PORT] [--token TOKEN]`: the CDS Hooks
//! service of [`crate::serve`].

use super::{Global, EXIT_BAD_INPUT};
use crate::serve::feedback::FeedbackStore;
use crate::serve::{router, serve, ServeConfig};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;

/// `--with-llm`: which model, and how long a request may wait for it.
pub struct WithLlm<'a> {
    pub backend: &'a super::BackendArgs,
    pub budget_secs: u64,
    pub max_tokens: usize,
}

pub fn run(
    global: &Global,
    bind: &str,
    token: Option<String>,
    allowed_origins: Vec<String>,
    with_llm: Option<WithLlm<'_>>,
) -> anyhow::Result<i32> {
    let addr: SocketAddr = match bind.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("error: --bind \"{bind}\" is not an address; accepted: IP:PORT such as 127.0.0.1:8787");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let token = token.filter(|t| !t.trim().is_empty());
    if !addr.ip().is_loopback() && token.is_none() {
        eprintln!(
            "warning: serving on {addr} (not loopback) without a token; anyone who can reach it can use it (set --token or RXGUIDE_SERVE_TOKEN)"
        );
    }
    let feedback = match FeedbackStore::open(&global.data_dir()) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let (kb, info) = global.open_kb()?;
    let kb = Arc::new(kb);
    let mut config = ServeConfig {
        token,
        allowed_origins,
        feedback: Some(feedback),
        ..ServeConfig::default()
    };
    if let Some(w) = with_llm {
        let generator = match w.backend.generator() {
            Ok(g) => g,
            Err(e) => {
                super::print_error(&e);
                return Ok(EXIT_BAD_INPUT);
            }
        };
        let budget = std::time::Duration::from_secs(w.budget_secs.max(1));
        // The whole request may take the model's budget plus the rules.
        config.timeout = config
            .timeout
            .max(budget + std::time::Duration::from_secs(10));
        config.llm = Some(crate::serve::LlmCard {
            generator,
            budget,
            max_tokens: w.max_tokens,
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        eprintln!(
            "rxguide serve: listening on http://{local}/cds-services (knowledge base: {}{})",
            info.source_label,
            if config.token.is_some() {
                "; bearer token required"
            } else {
                ""
            }
        );
        serve(listener, router(kb, &config)).await?;
        anyhow::Ok(())
    })?;
    Ok(0)
}

/// `rxguide serve --export-feedback FILE`: every stored feedback entry,
/// with the card it was about, as a JSON array (`-` for stdout; a file is
/// written 0600).
pub fn export_feedback(global: &Global, to: &std::path::Path) -> anyhow::Result<i32> {
    let store = match FeedbackStore::open(&global.data_dir()) {
        Ok(f) => f,
        Err(e) => {
            super::print_error(&e);
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let all = store.feedback();
    let text = serde_json::to_string_pretty(&all)? + "\n";
    if crate::session::export::write_out(to, &text)
        .with_context(|| format!("writing {}", to.display()))?
    {
        eprintln!(
            "rxguide: {} feedback entr(ies) written to {}",
            all.len(),
            to.display()
        );
    }
    Ok(0)
}
