//! The `local` backend: mistral.rs running a GGUF file on the CPU.
//!
//! The tokenizer and chat template come from the GGUF itself
//! (`TokenSource::None`, nothing is fetched from the network). The model is
//! loaded once, on a blocking thread, the first time it is needed (or on
//! [`LocalGenerator::preload`]); requests that arrive meanwhile stream
//! [`GenEvent::Loading`] progress. Cancelling drops the mistral.rs response
//! stream, which makes the engine cancel the sequence at its next token.
//!
//! Threads: candle uses `RAYON_NUM_THREADS` (default: all cores).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use mistralrs::{
    GgufModelBuilder, Model, RequestBuilder, Response, SamplingParams, TextMessageRole, TokenSource,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{
    decode_rate, emit, error_chain, finish, ms, ChatMessage, Constraint, FinishReason, GenEvent,
    GenRequest, GenStats, Generator, LlmError, Role,
};

/// File name of the default model fetched by `scripts/fetch-model`.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// Environment variable naming a GGUF file.
pub const MODEL_ENV: &str = "RXGUIDE_MODEL";
/// Environment variable naming the models directory.
pub const MODELS_DIR_ENV: &str = "RXGUIDE_MODELS_DIR";

/// How often a waiting request reports loading progress.
const LOADING_TICK: Duration = Duration::from_millis(500);

/// The same model re-encoded as Q8_0 by `scripts/fetch-model`; preferred
/// over [`DEFAULT_MODEL_FILE`] in the same directory because candle has SIMD
/// kernels for Q8_0 and none for Q4_1 (BENCHMARKS.md).
pub const FAST_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";

/// Where the model is when no `--model PATH` is given, first match wins:
/// `$RXGUIDE_MODEL`; `$RXGUIDE_MODELS_DIR/<default file>`; `./models/…`;
/// `<executable dir>/../../models/…` (a `target/<profile>/rxguide` binary in
/// the repo); the repo this crate was built from. In each directory
/// [`FAST_MODEL_FILE`] comes before [`DEFAULT_MODEL_FILE`]. When none
/// exists, the first default-file candidate is returned so the error names
/// where it was expected.
pub fn default_model_path() -> PathBuf {
    if let Some(p) = std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(MODELS_DIR_ENV).filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("models"));
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(dir.join("../../models"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    dirs.iter()
        .flat_map(|d| [d.join(FAST_MODEL_FILE), d.join(DEFAULT_MODEL_FILE)])
        .find(|p| p.is_file())
        .or_else(|| dirs.first().map(|d| d.join(DEFAULT_MODEL_FILE)))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL_FILE))
}

enum LoadState {
    Idle,
    Loading {
        since: Instant,
    },
    Ready {
        model: Arc<Model>,
        load_time: Duration,
    },
    Failed(String),
}

/// mistral.rs on a local GGUF file.
pub struct LocalGenerator {
    path: PathBuf,
    file_name: String,
    size_bytes: u64,
    state: watch::Sender<LoadState>,
}

impl std::fmt::Debug for LocalGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalGenerator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl LocalGenerator {
    /// Checks that `path` is a readable GGUF file; does not load it.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, LlmError> {
        let path = path.into();
        let size_bytes = check_gguf(&path)?;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self {
            path,
            file_name,
            size_bytes,
            state: watch::Sender::new(LoadState::Idle),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Start loading in the background if not started yet. Needs a tokio
    /// runtime. Returns at once; progress shows up in `generate` events and
    /// [`LocalGenerator::is_loaded`].
    pub fn preload(&self) -> Result<(), LlmError> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| LlmError::Runtime("the local backend needs a tokio runtime".into()))?;
        let start = self.state.send_if_modified(|s| {
            if matches!(s, LoadState::Idle) {
                *s = LoadState::Loading {
                    since: Instant::now(),
                };
                true
            } else {
                false
            }
        });
        if !start {
            return Ok(());
        }
        let path = self.path.clone();
        let state = self.state.clone();
        let blocking_handle = handle.clone();
        handle.spawn(async move {
            let began = Instant::now();
            // mistral.rs loads synchronously inside an async fn: keep it off
            // the runtime's worker threads.
            let joined =
                tokio::task::spawn_blocking(move || blocking_handle.block_on(load_model(&path)))
                    .await;
            let next = match joined {
                Ok(Ok(model)) => LoadState::Ready {
                    model: Arc::new(model),
                    load_time: began.elapsed(),
                },
                Ok(Err(message)) => LoadState::Failed(message),
                Err(e) => LoadState::Failed(format!("the model loader crashed: {e}")),
            };
            state.send_replace(next);
        });
        Ok(())
    }

    /// `true` once the model is in memory.
    pub fn is_loaded(&self) -> bool {
        matches!(*self.state.borrow(), LoadState::Ready { .. })
    }

    fn loading_text(&self, since: Instant) -> String {
        format!(
            "loading {} ({} MiB)… {:.1} s",
            self.file_name,
            self.size_bytes / (1024 * 1024),
            since.elapsed().as_secs_f64()
        )
    }

    /// Wait until the model is ready, reporting progress. `Ok(None)`: cancelled.
    async fn ready_model(
        &self,
        tx: &mpsc::Sender<GenEvent>,
        cancel: &CancellationToken,
    ) -> Result<Option<(Arc<Model>, Duration)>, LlmError> {
        self.preload()?;
        let mut rx = self.state.subscribe();
        loop {
            let since = {
                let state = rx.borrow_and_update();
                match &*state {
                    LoadState::Ready { model, load_time } => {
                        return Ok(Some((Arc::clone(model), *load_time)))
                    }
                    LoadState::Failed(message) => {
                        return Err(LlmError::ModelLoad {
                            path: self.path.clone(),
                            message: message.clone(),
                        })
                    }
                    LoadState::Loading { since } => *since,
                    LoadState::Idle => Instant::now(),
                }
            };
            if !emit(tx, cancel, GenEvent::Loading(self.loading_text(since))).await {
                return Ok(None);
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Ok(None),
                changed = rx.changed() => {
                    if changed.is_err() {
                        return Err(LlmError::Runtime("the model loader went away".into()));
                    }
                }
                () = tokio::time::sleep(LOADING_TICK) => {}
            }
        }
    }

    async fn run(
        &self,
        request: GenRequest,
        tx: &mpsc::Sender<GenEvent>,
        cancel: &CancellationToken,
        start: Instant,
    ) -> Result<GenStats, LlmError> {
        let mut stats = GenStats::empty("local", &self.file_name, FinishReason::Cancelled);
        let Some((model, load_time)) = self.ready_model(tx, cancel).await? else {
            stats.load_wait_ms = ms(start.elapsed());
            stats.total_ms = stats.load_wait_ms;
            return Ok(stats);
        };
        stats.load_ms = Some(ms(load_time));
        stats.load_wait_ms = ms(start.elapsed());

        let builder = request_builder(&request);
        let sent = Instant::now();
        let mut stream = model
            .stream_chat_request(builder)
            .await
            .map_err(|e| LlmError::Generation(error_chain(&e)))?;

        let mut first: Option<Instant> = None;
        let mut last = sent;
        let mut pieces = 0usize;
        let mut usage = None;
        let mut finish_reason = None;
        while finish_reason.is_none() {
            let response = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                r = stream.next() => r,
            };
            let Some(response) = response else {
                break;
            };
            match response {
                Response::Chunk(chunk) => {
                    for choice in chunk.choices {
                        if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                            let now = Instant::now();
                            first.get_or_insert(now);
                            last = now;
                            pieces += 1;
                            if !emit(tx, cancel, GenEvent::Token(text)).await {
                                break;
                            }
                        }
                        if let Some(reason) = choice.finish_reason {
                            finish_reason = Some(FinishReason::from_openai(&reason));
                        }
                    }
                    if cancel.is_cancelled() || tx.is_closed() {
                        break;
                    }
                    if chunk.usage.is_some() {
                        usage = chunk.usage;
                    }
                }
                Response::Done(done) => {
                    usage = Some(done.usage);
                    finish_reason.get_or_insert(FinishReason::Stop);
                }
                Response::ModelError(message, _) | Response::CompletionModelError(message, _) => {
                    return Err(LlmError::Generation(message));
                }
                Response::InternalError(e) | Response::ValidationError(e) => {
                    return Err(LlmError::Generation(error_chain(e.as_ref())));
                }
                _ => {
                    return Err(LlmError::Generation(
                        "mistral.rs sent an unexpected response type".into(),
                    ))
                }
            }
        }
        // Dropping the stream cancels the request in the engine.
        drop(stream);

        stats.finish = if cancel.is_cancelled() || tx.is_closed() {
            FinishReason::Cancelled
        } else {
            finish_reason.unwrap_or(FinishReason::Other)
        };
        stats.first_token_ms = first.map(|f| ms(f - sent));
        stats.completion_tokens = usage.as_ref().map_or(pieces, |u| u.completion_tokens);
        stats.prompt_tokens = usage.as_ref().map(|u| u.prompt_tokens);
        stats.decode_tokens_per_s =
            first.and_then(|f| decode_rate(stats.completion_tokens.max(pieces), last - f));
        stats.total_ms = ms(start.elapsed());
        Ok(stats)
    }
}

impl Generator for LocalGenerator {
    fn name(&self) -> &str {
        "local"
    }

    fn model(&self) -> String {
        self.file_name.clone()
    }

    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>> {
        async move {
            let state = match &*self.state.borrow() {
                LoadState::Idle => "not loaded yet".to_string(),
                LoadState::Loading { since } => {
                    format!("loading for {:.1} s", since.elapsed().as_secs_f64())
                }
                LoadState::Ready { load_time, .. } => {
                    format!("loaded in {:.1} s", load_time.as_secs_f64())
                }
                LoadState::Failed(message) => {
                    return Err(LlmError::ModelLoad {
                        path: self.path.clone(),
                        message: message.clone(),
                    })
                }
            };
            check_gguf(&self.path)?;
            Ok(format!(
                "{} ({} MiB), {state}",
                self.path.display(),
                self.size_bytes / (1024 * 1024)
            ))
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async move { Ok(vec![self.file_name.clone()]) }.boxed()
    }

    fn generate(
        &self,
        request: GenRequest,
        tx: mpsc::Sender<GenEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<GenStats, LlmError>> {
        async move {
            let start = Instant::now();
            let result = self.run(request, &tx, &cancel, start).await;
            finish(&tx, result).await
        }
        .boxed()
    }
}

/// The file exists, is readable and starts with the GGUF magic. Returns its size.
fn check_gguf(path: &Path) -> Result<u64, LlmError> {
    let missing = || LlmError::ModelMissing {
        path: path.to_path_buf(),
    };
    let meta = std::fs::metadata(path).map_err(|_| missing())?;
    if !meta.is_file() {
        return Err(missing());
    }
    let bad = |message: String| LlmError::ModelLoad {
        path: path.to_path_buf(),
        message,
    };
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    if &magic != b"GGUF" {
        return Err(bad(
            "not a GGUF file (expected the GGUF magic bytes at the start)".into(),
        ));
    }
    Ok(meta.len())
}

async fn load_model(path: &Path) -> Result<Model, String> {
    let path = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve the path: {e}"))?;
    let dir = path
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .ok_or("the model path has no directory")?;
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .ok_or("the model path has no file name")?;
    GgufModelBuilder::new(dir, vec![file])
        .with_token_source(TokenSource::None)
        .with_force_cpu()
        .build()
        .await
        .map_err(|e| format!("{e:#}"))
}

fn request_builder(request: &GenRequest) -> RequestBuilder {
    let mut builder = RequestBuilder::new();
    for ChatMessage { role, content } in &request.messages {
        let role = match role {
            Role::System => TextMessageRole::System,
            Role::User => TextMessageRole::User,
            Role::Assistant => TextMessageRole::Assistant,
        };
        builder = builder.add_message(role, content);
    }
    let mut sampling = if request.is_greedy() {
        SamplingParams::deterministic()
    } else {
        SamplingParams {
            temperature: Some(request.temperature),
            top_p: Some(0.95),
            ..SamplingParams::neutral()
        }
    };
    sampling.max_len = Some(request.max_tokens.max(1));
    builder = builder.set_sampling(sampling);
    match &request.constraint {
        Some(Constraint::Regex(re)) => {
            builder = builder.set_constraint(mistralrs::Constraint::Regex(re.clone()));
        }
        Some(Constraint::JsonSchema(schema)) => {
            builder = builder.set_constraint(mistralrs::Constraint::JsonSchema(schema.clone()));
        }
        None => {}
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_a_clear_error() {
        let err = LocalGenerator::new("/nonexistent/dir/model.gguf")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/dir/model.gguf"), "{err}");
        assert!(err.contains("scripts/fetch-model"), "{err}");
    }

    #[test]
    fn non_gguf_file_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.gguf");
        std::fs::write(&p, b"not a model").expect("write");
        let err = LocalGenerator::new(&p)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not a GGUF file"), "{err}");
    }

    #[test]
    fn default_model_path_ends_with_the_default_file() {
        // Environment-dependent; only the file name is stable.
        if std::env::var_os(MODEL_ENV).is_none() {
            let p = default_model_path();
            assert!(p.ends_with(DEFAULT_MODEL_FILE) || p.ends_with(FAST_MODEL_FILE));
        }
    }
}
