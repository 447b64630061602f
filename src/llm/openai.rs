//! The `openai` backend: any OpenAI-compatible chat completions server
//! (mistral.rs server, vLLM, llama.cpp / llama-cpp-python, a hosted API),
//! streamed with server-sent events.
//!
//! `POST {base}/v1/chat/completions` with `stream: true`; the API key, if any,
//! comes from `RXGUIDE_OPENAI_API_KEY` or `OPENAI_API_KEY`. Errors name the
//! URL and say what went wrong: unreachable, HTTP status with a short body,
//! malformed stream, or silence longer than the read timeout. Cancelling
//! drops the connection, which compatible servers take as a stop.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, OnceCell};
use tokio_util::sync::CancellationToken;

use super::{
    decode_rate, emit, error_chain, finish, ms, FinishReason, GenEvent, GenRequest, GenStats,
    Generator, LlmError,
};

/// Used when no `--base-url` is given (llama.cpp server's default port).
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// Environment variables holding the API key, first set wins.
pub const API_KEY_ENVS: [&str; 2] = ["RXGUIDE_OPENAI_API_KEY", "OPENAI_API_KEY"];
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest silence tolerated while waiting for headers or the next chunk.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an error body goes into the message.
const ERROR_BODY_CHARS: usize = 300;

/// Settings of the `openai` backend.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// `http://host:port`, with or without a trailing `/v1`.
    pub base_url: String,
    /// Model name to request; empty: the first one the server lists.
    pub model_name: String,
    pub api_key: Option<String>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model_name", &self.model_name)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

impl OpenAiConfig {
    /// No API key, default timeouts.
    pub fn new(base_url: impl Into<String>, model_name: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model_name: model_name.into(),
            api_key: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Like [`OpenAiConfig::new`], with the API key from [`API_KEY_ENVS`].
    pub fn from_env(base_url: impl Into<String>, model_name: impl Into<String>) -> Self {
        let mut cfg = Self::new(base_url, model_name);
        cfg.api_key = API_KEY_ENVS
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.trim().is_empty());
        cfg
    }
}

/// Client of one OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiGenerator {
    config: OpenAiConfig,
    client: reqwest::Client,
    chat_url: String,
    models_url: String,
    resolved_model: OnceCell<String>,
}

impl OpenAiGenerator {
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let base = api_base(&config.base_url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(|e| LlmError::Runtime(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            chat_url: format!("{base}/chat/completions"),
            models_url: format!("{base}/models"),
            client,
            config,
            resolved_model: OnceCell::new(),
        })
    }

    pub fn chat_url(&self) -> &str {
        &self.chat_url
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.config.api_key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    }

    fn send_error(&self, url: &str, e: &reqwest::Error) -> LlmError {
        if e.is_timeout() {
            LlmError::Timeout {
                url: url.to_string(),
                secs: if e.is_connect() {
                    self.config.connect_timeout.as_secs_f64()
                } else {
                    self.config.read_timeout.as_secs_f64()
                },
                what: if e.is_connect() {
                    "connecting"
                } else {
                    "waiting for the response"
                },
            }
        } else {
            LlmError::Unreachable {
                url: url.to_string(),
                message: error_chain(e),
            }
        }
    }

    async fn fetch_models(&self) -> Result<Vec<String>, LlmError> {
        let url = self.models_url.as_str();
        let resp = self
            .authorized(self.client.get(url))
            .send()
            .await
            .map_err(|e| self.send_error(url, &e))?;
        let resp = check_status(url, resp).await?;
        let body: Value = resp.json().await.map_err(|e| LlmError::MalformedStream {
            url: url.to_string(),
            message: format!("the model list is not JSON: {}", error_chain(&e)),
        })?;
        Ok(body
            .get("data")
            .and_then(Value::as_array)
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn model_name(&self) -> Result<String, LlmError> {
        if !self.config.model_name.trim().is_empty() {
            return Ok(self.config.model_name.clone());
        }
        self.resolved_model
            .get_or_try_init(|| async {
                self.fetch_models()
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| LlmError::Server {
                        url: self.models_url.clone(),
                        message: "the server lists no models; pass --model-name".into(),
                    })
            })
            .await
            .cloned()
    }

    async fn run(
        &self,
        request: GenRequest,
        tx: &mpsc::Sender<GenEvent>,
        cancel: &CancellationToken,
        start: Instant,
    ) -> Result<GenStats, LlmError> {
        let model = self.model_name().await?;
        let mut stats = GenStats::empty("openai", &model, FinishReason::Cancelled);
        let url = self.chat_url.as_str();
        let body = request_body(&model, &request);

        let sent = Instant::now();
        let send = self.authorized(self.client.post(url)).json(&body).send();
        let resp = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                stats.total_ms = ms(start.elapsed());
                return Ok(stats);
            }
            r = send => r.map_err(|e| self.send_error(url, &e))?,
        };
        let resp = check_status(url, resp).await?;
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));

        let mut acc = StreamAcc::new(sent);
        if is_json {
            // A server that ignores `stream: true`: take the whole answer.
            let body: Value = resp.json().await.map_err(|e| LlmError::MalformedStream {
                url: url.to_string(),
                message: format!("the response is not JSON: {}", error_chain(&e)),
            })?;
            let text = body
                .pointer("/choices/0/message/content")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed(url, "no choices[0].message.content in the response"))?;
            acc.data(
                &json!({"choices": [{"delta": {"content": text},
                "finish_reason": body.pointer("/choices/0/finish_reason")}],
                "usage": body.get("usage")})
                .to_string(),
            )
            .map_err(|m| malformed(url, &m))?;
            if let Some(t) = acc.pending.take() {
                emit(tx, cancel, GenEvent::Token(t)).await;
            }
        } else {
            let mut stream = Box::pin(resp.bytes_stream());
            let mut parser = SseParser::default();
            'read: loop {
                let chunk = tokio::select! {
                    biased;
                    () = cancel.cancelled() => break 'read,
                    c = stream.next() => c,
                };
                let (payloads, ended) = match chunk {
                    Some(Ok(bytes)) => {
                        (parser.push(&bytes).map_err(|m| malformed(url, &m))?, false)
                    }
                    Some(Err(e)) if e.is_timeout() => {
                        return Err(LlmError::Timeout {
                            url: url.to_string(),
                            secs: self.config.read_timeout.as_secs_f64(),
                            what: "waiting for the next token",
                        })
                    }
                    Some(Err(e)) => {
                        return Err(malformed(
                            url,
                            &format!("the connection broke mid-stream: {}", error_chain(&e)),
                        ))
                    }
                    None => (parser.finish().map_err(|m| malformed(url, &m))?, true),
                };
                for payload in payloads {
                    acc.data(&payload)
                        .map_err(|m| match m.strip_prefix(SERVER_ERROR) {
                            Some(message) => LlmError::Server {
                                url: url.to_string(),
                                message: message.to_string(),
                            },
                            None => malformed(url, &m),
                        })?;
                    if let Some(t) = acc.pending.take() {
                        if !emit(tx, cancel, GenEvent::Token(t)).await {
                            break 'read;
                        }
                    }
                    if acc.done {
                        break 'read;
                    }
                }
                if ended {
                    if acc.events == 0 {
                        return Err(malformed(url, "the stream ended without any data event"));
                    }
                    if acc.finish.is_none() {
                        return Err(malformed(
                            url,
                            "the stream ended before a finish_reason or [DONE]",
                        ));
                    }
                    break 'read;
                }
            }
            // Dropping `stream` closes the connection, which stops the server.
        }

        stats.finish = if cancel.is_cancelled() || tx.is_closed() {
            FinishReason::Cancelled
        } else {
            acc.finish.unwrap_or(FinishReason::Stop)
        };
        stats.prompt_tokens = acc.prompt_tokens;
        stats.completion_tokens = acc.completion_tokens.unwrap_or(acc.pieces);
        stats.first_token_ms = acc.first.map(|f| ms(f - sent));
        stats.decode_tokens_per_s = acc
            .first
            .and_then(|f| decode_rate(stats.completion_tokens.max(acc.pieces), acc.last - f));
        stats.total_ms = ms(start.elapsed());
        Ok(stats)
    }
}

const SERVER_ERROR: &str = "\u{0}server:";

fn malformed(url: &str, message: &str) -> LlmError {
    LlmError::MalformedStream {
        url: url.to_string(),
        message: message.to_string(),
    }
}

impl Generator for OpenAiGenerator {
    fn name(&self) -> &str {
        "openai"
    }

    fn model(&self) -> String {
        if self.config.model_name.is_empty() {
            self.resolved_model
                .get()
                .cloned()
                .unwrap_or_else(|| "(server default)".into())
        } else {
            self.config.model_name.clone()
        }
    }

    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>> {
        async move {
            let models = self.fetch_models().await?;
            Ok(format!(
                "{} is up; models: {}",
                self.models_url.trim_end_matches("/models"),
                if models.is_empty() {
                    "(none listed)".to_string()
                } else {
                    models.join(", ")
                }
            ))
        }
        .boxed()
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        self.fetch_models().boxed()
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

/// `{base}/v1` from what the user typed.
fn api_base(base_url: &str) -> Result<String, LlmError> {
    let bad = |message: &str| LlmError::BadUrl {
        url: base_url.to_string(),
        message: message.to_string(),
    };
    let trimmed = base_url.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/chat/completions")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if parsed.host_str().is_none() {
        return Err(bad("no host"));
    }
    Ok(if trimmed.ends_with("/v1") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/v1")
    })
}

fn request_body(model: &str, request: &GenRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": request.max_tokens.max(1),
        "temperature": if request.is_greedy() { 0.0 } else { request.temperature },
        "seed": request.seed,
    })
}

/// Turn a non-2xx response into [`LlmError::Http`] with a short body.
async fn check_status(url: &str, resp: reqwest::Response) -> Result<reqwest::Response, LlmError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let mut body = Vec::new();
    let mut stream = Box::pin(resp.bytes_stream());
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() > 4 * ERROR_BODY_CHARS {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    let mut short: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if short.chars().count() > ERROR_BODY_CHARS {
        short = short.chars().take(ERROR_BODY_CHARS).collect::<String>() + "…";
    }
    if short.is_empty() {
        short = status
            .canonical_reason()
            .unwrap_or("no response body")
            .to_string();
    }
    if status.as_u16() == 401 || status.as_u16() == 403 {
        short.push_str(&format!(
            " (check the API key in {})",
            API_KEY_ENVS.join(" or ")
        ));
    }
    Err(LlmError::Http {
        url: url.to_string(),
        status: status.as_u16(),
        body: short,
    })
}

/// What the stream has said so far.
struct StreamAcc {
    first: Option<Instant>,
    last: Instant,
    events: usize,
    pieces: usize,
    pending: Option<String>,
    finish: Option<FinishReason>,
    done: bool,
    prompt_tokens: Option<usize>,
    completion_tokens: Option<usize>,
}

impl StreamAcc {
    fn new(sent: Instant) -> Self {
        Self {
            first: None,
            last: sent,
            events: 0,
            pieces: 0,
            pending: None,
            finish: None,
            done: false,
            prompt_tokens: None,
            completion_tokens: None,
        }
    }

    /// Take one SSE `data` payload. Errors are messages; a server-side error
    /// object is prefixed with [`SERVER_ERROR`].
    fn data(&mut self, payload: &str) -> Result<(), String> {
        self.events += 1;
        let payload = payload.trim();
        if payload == "[DONE]" {
            self.done = true;
            self.finish.get_or_insert(FinishReason::Stop);
            return Ok(());
        }
        let v: Value = serde_json::from_str(payload).map_err(|e| {
            format!(
                "a data event is not JSON ({e}): {:?}",
                payload.chars().take(80).collect::<String>()
            )
        })?;
        if let Some(err) = v.get("error") {
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string());
            return Err(format!("{SERVER_ERROR}{message}"));
        }
        let choices = v.get("choices").and_then(Value::as_array);
        let usage = v.get("usage").filter(|u| u.is_object());
        if choices.is_none() && usage.is_none() {
            return Err(format!(
                "a data event has neither choices nor usage: {:?}",
                payload.chars().take(80).collect::<String>()
            ));
        }
        if let Some(choice) = choices.and_then(|c| c.first()) {
            if let Some(text) = choice
                .pointer("/delta/content")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                let now = Instant::now();
                self.first.get_or_insert(now);
                self.last = now;
                self.pieces += 1;
                self.pending = Some(text.to_string());
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish = Some(FinishReason::from_openai(reason));
            }
        }
        if let Some(u) = usage {
            let count = |k: &str| u.get(k).and_then(Value::as_u64).map(|n| n as usize);
            self.prompt_tokens = count("prompt_tokens").or(self.prompt_tokens);
            self.completion_tokens = count("completion_tokens").or(self.completion_tokens);
        }
        Ok(())
    }
}

/// Incremental server-sent-events parser: bytes in, `data` payloads out
/// (multi-line data joined with `\n`; comments and other fields ignored).
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    data: Option<String>,
}

impl SseParser {
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = std::str::from_utf8(&line)
                .map_err(|_| "the stream is not valid UTF-8".to_string())?;
            self.line(line.trim_end_matches(['\n', '\r']), &mut out);
        }
        Ok(out)
    }

    /// End of input: flush an event not closed by a blank line.
    pub(crate) fn finish(&mut self) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = std::str::from_utf8(&rest)
                .map_err(|_| "the stream is not valid UTF-8".to_string())?;
            self.line(line.trim_end_matches('\r'), &mut out);
        }
        if let Some(d) = self.data.take() {
            out.push(d);
        }
        Ok(out)
    }

    fn line(&mut self, line: &str, out: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(d) = self.data.take() {
                out.push(d);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let ok = |s: &str| api_base(s).expect("valid");
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080/v1");
        assert_eq!(ok("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/v1");
        assert_eq!(ok("http://h:1/v1/"), "http://h:1/v1");
        assert_eq!(ok("https://h/v1/chat/completions"), "https://h/v1");
        assert!(api_base("ftp://h").is_err());
        assert!(api_base("not a url").is_err());
    }

    #[test]
    fn sse_split_across_chunks_with_crlf_and_comments() {
        let mut p = SseParser::default();
        let mut out = p.push(b": keep-alive\r\ndata: {\"a\"").expect("utf8");
        assert!(out.is_empty());
        out.extend(p.push(b":1}\r\n\r\nevent: x\ndata: [DO").expect("utf8"));
        out.extend(p.push(b"NE]\n\n").expect("utf8"));
        assert_eq!(out, vec!["{\"a\":1}".to_string(), "[DONE]".to_string()]);
        assert!(p.finish().expect("utf8").is_empty());
    }

    #[test]
    fn sse_multiline_data_and_unterminated_tail() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: a\ndata: b\n").expect("utf8").is_empty());
        assert_eq!(p.finish().expect("utf8"), vec!["a\nb".to_string()]);
    }

    #[test]
    fn acc_reads_tokens_finish_usage_and_errors() {
        let mut acc = StreamAcc::new(Instant::now());
        acc.data(r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#)
            .expect("ok");
        assert_eq!(acc.pending.take().as_deref(), Some("Hi"));
        acc.data(r#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#)
            .expect("ok");
        acc.data(r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#)
            .expect("ok");
        assert_eq!(acc.finish, Some(FinishReason::Length));
        assert_eq!(
            (acc.prompt_tokens, acc.completion_tokens),
            (Some(12), Some(3))
        );
        assert!(acc.data("not json").is_err());
        assert!(acc.data(r#"{"foo":1}"#).is_err());
        let e = acc
            .data(r#"{"error":{"message":"out of memory"}}"#)
            .err()
            .unwrap_or_default();
        assert_eq!(e, format!("{SERVER_ERROR}out of memory"));
    }

    #[test]
    fn body_is_greedy_streaming_and_capped() {
        let r = GenRequest::new(vec![super::super::ChatMessage::new(
            super::super::Role::User,
            "q",
        )]);
        let b = request_body("m", &r);
        assert_eq!(b["stream"], true);
        assert_eq!(b["max_tokens"], 256);
        assert_eq!(b["temperature"], 0.0);
        assert_eq!(b["messages"][0]["role"], "user");
    }

    #[test]
    fn api_key_is_redacted_in_debug() {
        let mut c = OpenAiConfig::new("http://h", "m");
        c.api_key = Some("sk-secret".into());
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
