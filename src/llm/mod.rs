//! The model side: one [`Generator`] trait, three backends, the grounded
//! prompt and the citation check.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Generator`], [`GenRequest`], [`GenEvent`], [`GenStats`], [`LlmError`], [`BackendConfig`] / [`make_generator`], [`collect`] |
//! | [`local`] | mistral.rs running a GGUF on the CPU (default: SmolLM2-135M-Instruct Q4_1) |
//! | [`openai`] | any OpenAI-compatible `/v1/chat/completions` server, SSE streaming |
//! | [`none`] | no model: flags and sources only |
//! | [`prompt`] | [`prompt::PromptInput`] -> chat messages (RAG on / off) |
//! | [`check`] | sentence split, citation support, conflicts with serious flags |
//!
//! The model explains; it never adds, removes or softens a flag. Nothing here
//! decides a flag, and nothing here imports the UI.
//!
//! A generation streams [`GenEvent`]s over a tokio channel: zero or more
//! `Loading`, then `Token`s, then exactly one `Done` (also after a cancel, with
//! [`FinishReason::Cancelled`]) or one `Error`. The returned future resolves to
//! the same outcome, so headless callers can ignore the channel contents.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub mod check;
pub mod claims;
pub mod local;
pub mod none;
pub mod openai;
pub mod prompt;
pub mod repeat;

pub use local::{default_model_path, LocalGenerator, DEFAULT_MODEL_FILE};
pub use none::NoneGenerator;
pub use openai::{OpenAiConfig, OpenAiGenerator};

/// Default cap on generated tokens. Every request carries a cap.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Default sampling seed (used where the backend accepts one; mistral.rs
/// seeds its sampler with a fixed value of its own).
pub const DEFAULT_SEED: u64 = 42;
/// What the `none` backend says instead of an answer.
pub const NO_MODEL_MESSAGE: &str = "no model: flags and sources only";

/// Who is speaking in a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// Constrained decoding, where the backend supports it (local only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// The whole answer must match this regular expression.
    Regex(String),
    /// The answer must be JSON matching this schema.
    JsonSchema(serde_json::Value),
}

/// One generation request. Build it with [`GenRequest::new`]: greedy, seeded,
/// capped at [`DEFAULT_MAX_TOKENS`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenRequest {
    pub messages: Vec<ChatMessage>,
    /// Always set; the backends never run to the context length.
    pub max_tokens: usize,
    /// 0.0 means greedy (top-k 1).
    pub temperature: f64,
    pub seed: u64,
    pub constraint: Option<Constraint>,
}

impl GenRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: 0.0,
            seed: DEFAULT_SEED,
            constraint: None,
        }
    }

    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = max_tokens.max(1);
        self
    }

    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = if temperature.is_finite() {
            temperature.max(0.0)
        } else {
            0.0
        };
        self
    }

    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraint = Some(constraint);
        self
    }

    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }
}

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// The model ended its answer.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The caller cancelled (or dropped the event receiver).
    Cancelled,
    /// The `none` backend: there is no answer by design.
    NoModel,
    /// Stopped because the answer repeated a sentence it had already
    /// written ([`repeat::first_repeat`]); the repeat is cut off.
    Repetition,
    /// The backend gave a reason we do not know.
    Other,
}

impl FinishReason {
    fn from_openai(reason: &str) -> Self {
        match reason {
            "stop" | "eos" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "canceled" | "cancelled" => FinishReason::Cancelled,
            _ => FinishReason::Other,
        }
    }
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
            FinishReason::NoModel => NO_MODEL_MESSAGE,
            FinishReason::Repetition => "repetition",
            FinishReason::Other => "other",
        })
    }
}

/// Timings and counts of one generation. Times are milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenStats {
    /// Backend name (`local`, `openai`, `none`).
    pub backend: String,
    /// Model file name or server model name.
    pub model: String,
    /// How long loading the model took (local backend; the same number on
    /// every request once loaded). `None` for remote backends.
    pub load_ms: Option<f64>,
    /// How long this request waited for the model to finish loading.
    pub load_wait_ms: f64,
    /// Prompt tokens as counted by the backend, when it reports them.
    pub prompt_tokens: Option<usize>,
    /// From sending the request (model loaded) to the first token.
    pub first_token_ms: Option<f64>,
    /// Decode speed after the first token.
    pub decode_tokens_per_s: Option<f64>,
    pub completion_tokens: usize,
    /// From the `generate` call to the end, load wait included.
    pub total_ms: f64,
    pub finish: FinishReason,
}

impl GenStats {
    pub(crate) fn empty(backend: &str, model: &str, finish: FinishReason) -> Self {
        Self {
            backend: backend.to_string(),
            model: model.to_string(),
            load_ms: None,
            load_wait_ms: 0.0,
            prompt_tokens: None,
            first_token_ms: None,
            decode_tokens_per_s: None,
            completion_tokens: 0,
            total_ms: 0.0,
            finish,
        }
    }
}

/// Decode speed from the token count and the first/last token times.
pub(crate) fn decode_rate(completion_tokens: usize, decode: Duration) -> Option<f64> {
    let secs = decode.as_secs_f64();
    (completion_tokens > 1 && secs > 0.0).then(|| (completion_tokens - 1) as f64 / secs)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What a generation streams to its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    /// The model is still loading; human-readable progress.
    Loading(String),
    /// A piece of the answer, in order.
    Token(String),
    /// Finished (also after a cancel); always the last event on success.
    Done(GenStats),
    /// Failed; always the last event on failure. The same text as the
    /// returned [`LlmError`].
    Error(String),
}

/// Errors of the model side. Messages are meant for the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "model file not found: {}\n  run scripts/fetch-model to download the default model \
         (SmolLM2-135M-Instruct Q4_1), or pass --model PATH / set RXGUIDE_MODEL",
        path.display()
    )]
    ModelMissing { path: PathBuf },
    #[error("cannot load model {}: {message}", path.display())]
    ModelLoad { path: PathBuf, message: String },
    #[error("generation failed: {0}")]
    Generation(String),
    #[error("cannot reach the model server at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("model server at {url} returned HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("model server at {url} sent a malformed stream: {message}")]
    MalformedStream { url: String, message: String },
    #[error("model server at {url} timed out: no data for {secs:.1} s ({what})")]
    Timeout {
        url: String,
        secs: f64,
        what: &'static str,
    },
    #[error("model server at {url} reported an error: {message}")]
    Server { url: String, message: String },
    #[error("invalid model server URL {url:?}: {message}")]
    BadUrl { url: String, message: String },
    #[error("{0}")]
    Runtime(String),
}

/// A backend that turns chat messages into a streamed answer.
///
/// Object safe: use it as `Arc<dyn Generator>`. The futures borrow `self`;
/// to run one on a spawned task, move an `Arc` clone into the task.
pub trait Generator: Send + Sync {
    /// Backend name: `local`, `openai` or `none`.
    fn name(&self) -> &str;

    /// The model this backend runs (file name or server model name).
    fn model(&self) -> String;

    /// A one-line status when healthy (e.g. "SmolLM2-135M-Instruct.Q4_1.gguf,
    /// 94 MiB, not loaded yet"), or the error that would stop a generation.
    /// Cheap: does not load the model or generate.
    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>>;

    /// Models this backend can serve.
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>>;

    /// Generate an answer, streaming [`GenEvent`]s to `tx`. Cancelling
    /// `cancel` (or dropping the receiver) stops promptly and finishes with
    /// [`FinishReason::Cancelled`].
    fn generate(
        &self,
        request: GenRequest,
        tx: mpsc::Sender<GenEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<GenStats, LlmError>>;
}

/// Which backend to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    #[default]
    Local,
    OpenAi,
    None,
}

impl BackendKind {
    pub const ACCEPTED: &'static str = "local, openai, none";

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Local => "local",
            BackendKind::OpenAi => "openai",
            BackendKind::None => "none",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" | "mistralrs" => Ok(BackendKind::Local),
            "openai" => Ok(BackendKind::OpenAi),
            "none" | "off" => Ok(BackendKind::None),
            other => Err(format!(
                "unknown backend {other:?} (accepted: {})",
                BackendKind::ACCEPTED
            )),
        }
    }
}

/// Everything the CLI knows about the backend, in one place.
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// `--model PATH` (local). `None`: [`default_model_path`].
    pub model_path: Option<PathBuf>,
    /// `--base-url` (openai), e.g. `http://127.0.0.1:8080` or `.../v1`.
    pub base_url: Option<String>,
    /// `--model-name` (openai).
    pub model_name: Option<String>,
    /// Connect timeout (openai). `None`: the default.
    pub connect_timeout: Option<Duration>,
    /// Longest silence while waiting for data (openai). `None`: the default.
    pub read_timeout: Option<Duration>,
}

/// Build the configured backend. Does not load a model or contact a server:
/// local loading starts on the first `generate` or [`LocalGenerator::preload`].
pub fn make_generator(config: &BackendConfig) -> Result<Arc<dyn Generator>, LlmError> {
    Ok(match config.kind {
        BackendKind::None => Arc::new(NoneGenerator),
        BackendKind::Local => {
            let path = match &config.model_path {
                Some(p) => p.clone(),
                None => default_model_path(),
            };
            Arc::new(LocalGenerator::new(path)?)
        }
        BackendKind::OpenAi => {
            let mut cfg = OpenAiConfig::from_env(
                config
                    .base_url
                    .clone()
                    .unwrap_or_else(|| openai::DEFAULT_BASE_URL.to_string()),
                config.model_name.clone().unwrap_or_default(),
            );
            if let Some(t) = config.connect_timeout {
                cfg.connect_timeout = t;
            }
            if let Some(t) = config.read_timeout {
                cfg.read_timeout = t;
            }
            Arc::new(OpenAiGenerator::new(cfg)?)
        }
    })
}

/// A finished generation, for headless callers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generation {
    pub text: String,
    pub stats: GenStats,
}

/// Run a generation to the end and return the whole answer. `on_token` sees
/// each piece as it arrives (for `ask` streaming to stdout); pass `|_| {}`
/// when not needed.
pub async fn collect(
    generator: &dyn Generator,
    request: GenRequest,
    cancel: CancellationToken,
    mut on_token: impl FnMut(&str) + Send,
) -> Result<Generation, LlmError> {
    collect_events(generator, request, cancel, |event| {
        if let GenEvent::Token(t) = event {
            on_token(t);
        }
    })
    .await
}

/// [`collect`], with every event (loading, each token, done or error)
/// passed to `on_event` as it happens, for front ends that stream.
pub async fn collect_events(
    generator: &dyn Generator,
    request: GenRequest,
    cancel: CancellationToken,
    mut on_event: impl FnMut(&GenEvent) + Send,
) -> Result<Generation, LlmError> {
    let (tx, mut rx) = mpsc::channel(64);
    let run = generator.generate(request, tx, cancel);
    let mut text = String::new();
    let drain = async {
        while let Some(event) = rx.recv().await {
            if let GenEvent::Token(t) = &event {
                text.push_str(t);
            }
            on_event(&event);
        }
    };
    let (result, ()) = futures::join!(run, drain);
    let stats = result?;
    Ok(Generation { text, stats })
}

/// Send an event unless the receiver is gone or the request is cancelled.
/// Returns `false` when the generation should stop.
pub(crate) async fn emit(
    tx: &mpsc::Sender<GenEvent>,
    cancel: &CancellationToken,
    event: GenEvent,
) -> bool {
    tokio::select! {
        biased;
        () = cancel.cancelled() => false,
        sent = tx.send(event) => sent.is_ok(),
    }
}

/// Send the terminal event for `result` (best effort) and pass it on.
pub(crate) async fn finish(
    tx: &mpsc::Sender<GenEvent>,
    result: Result<GenStats, LlmError>,
) -> Result<GenStats, LlmError> {
    let event = match &result {
        Ok(stats) => GenEvent::Done(stats.clone()),
        Err(e) => GenEvent::Error(e.to_string()),
    };
    // The receiver may be gone (cancelled by dropping it): nothing to tell.
    let _ = tx.send(event).await;
    result
}

/// The error and its causes on one line, for messages built from foreign
/// errors.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_defaults_are_greedy_and_capped() {
        let r = GenRequest::new(vec![ChatMessage::new(Role::User, "hi")]);
        assert_eq!(r.max_tokens, DEFAULT_MAX_TOKENS);
        assert!(r.is_greedy());
        assert_eq!(r.seed, DEFAULT_SEED);
        assert_eq!(r.clone().with_max_tokens(0).max_tokens, 1);
        assert!(r.with_temperature(f64::NAN).is_greedy());
    }

    #[test]
    fn backend_kind_parses_and_names_accepted_values() {
        assert_eq!("Local".parse::<BackendKind>(), Ok(BackendKind::Local));
        assert_eq!("openai".parse::<BackendKind>(), Ok(BackendKind::OpenAi));
        assert_eq!("none".parse::<BackendKind>(), Ok(BackendKind::None));
        let err = "gpt".parse::<BackendKind>().err().unwrap_or_default();
        assert!(err.contains("local, openai, none"), "{err}");
    }

    #[test]
    fn decode_rate_needs_two_tokens_and_time() {
        assert_eq!(decode_rate(1, Duration::from_secs(1)), None);
        assert_eq!(decode_rate(5, Duration::ZERO), None);
        assert_eq!(decode_rate(11, Duration::from_secs(2)), Some(5.0));
    }

    #[test]
    fn missing_model_error_names_path_and_fix() {
        let e = LlmError::ModelMissing {
            path: PathBuf::from("/x/m.gguf"),
        };
        let s = e.to_string();
        assert!(
            s.contains("/x/m.gguf") && s.contains("scripts/fetch-model"),
            "{s}"
        );
    }
}
