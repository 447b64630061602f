//! The `openai` backend against a small fake server on 127.0.0.1 that writes
//! raw HTTP: the happy SSE path, cancel, and the error paths (unreachable,
//! HTTP 500, malformed stream, timeouts). A test against a real
//! OpenAI-compatible server (llama-cpp-python on the same GGUF) is separate.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rxguide::llm::{
    collect, ChatMessage, FinishReason, GenEvent, GenRequest, Generator, LlmError, OpenAiConfig,
    OpenAiGenerator, Role,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What the fake server does with a request.
#[derive(Clone)]
enum Reply {
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Write the head, then each piece after its delay; close at the end.
    Slow(Vec<u8>, Vec<(Duration, Vec<u8>)>),
    /// Read the request and say nothing for this long.
    Hang(Duration),
}

#[derive(Default)]
struct Seen {
    requests: Vec<String>,
    /// Set when a write failed: the client went away.
    client_left: Option<Instant>,
}

struct FakeServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl FakeServer {
    /// Serve `reply(path)` to every connection.
    async fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let reply = Arc::new(reply);
        let seen2 = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let reply = Arc::clone(&reply);
                let seen = Arc::clone(&seen2);
                tokio::spawn(async move { handle(sock, reply.as_ref(), seen).await });
            }
        });
        Self { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("lock").requests.clone()
    }

    fn client_left(&self) -> Option<Instant> {
        self.seen.lock().expect("lock").client_left
    }
}

async fn read_request(sock: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = sock.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let len = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

async fn handle(
    mut sock: TcpStream,
    reply: &(dyn Fn(&str) -> Reply + Send + Sync),
    seen: Arc<Mutex<Seen>>,
) {
    let request = read_request(&mut sock).await;
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    seen.lock().expect("lock").requests.push(request);
    match reply(&path) {
        Reply::Raw(bytes) => {
            let _ = sock.write_all(&bytes).await;
        }
        Reply::Slow(head, pieces) => {
            if sock.write_all(&head).await.is_err() {
                return;
            }
            for (delay, piece) in pieces {
                tokio::time::sleep(delay).await;
                let ok = sock.write_all(&piece).await.is_ok() && sock.flush().await.is_ok();
                if !ok {
                    seen.lock().expect("lock").client_left = Some(Instant::now());
                    return;
                }
            }
        }
        Reply::Hang(d) => tokio::time::sleep(d).await,
    }
    let _ = sock.shutdown().await;
}

const SSE_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";

fn sse(events: &[&str]) -> Vec<u8> {
    let mut out = SSE_HEAD.to_string();
    for e in events {
        out.push_str("data: ");
        out.push_str(e);
        out.push_str("\n\n");
    }
    out.into_bytes()
}

fn chunk(content: &str) -> String {
    serde_json::json!({
        "id": "c1", "object": "chat.completion.chunk", "model": "smol",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
}

fn http(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn request() -> GenRequest {
    GenRequest::new(vec![
        ChatMessage::new(Role::System, "Be brief."),
        ChatMessage::new(Role::User, "Should metformin be started?"),
    ])
    .with_max_tokens(32)
}

fn generator(url: &str, read_timeout: Duration) -> OpenAiGenerator {
    let mut cfg = OpenAiConfig::new(url, "smol");
    cfg.api_key = Some("test-key".into());
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.read_timeout = read_timeout;
    OpenAiGenerator::new(cfg).expect("valid config")
}

async fn run(g: &OpenAiGenerator) -> Result<rxguide::llm::Generation, LlmError> {
    collect(g, request(), CancellationToken::new(), |_| {}).await
}

#[tokio::test]
async fn happy_path_streams_tokens_and_reads_usage() {
    let role = serde_json::json!({"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}).to_string();
    let finish =
        serde_json::json!({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}).to_string();
    let usage = serde_json::json!({"choices":[],"usage":{"prompt_tokens":57,"completion_tokens":4,"total_tokens":61}}).to_string();
    let body = sse(&[
        &role,
        &chunk("Do not"),
        &chunk(" start metformin"),
        &chunk(" [metformin-label-renal]"),
        &chunk("."),
        &finish,
        &usage,
        "[DONE]",
    ]);
    let server = FakeServer::start(move |_| Reply::Raw(body.clone())).await;
    let g = generator(&format!("{}/v1/", server.url()), Duration::from_secs(5));

    let (tx, mut rx) = mpsc::channel(16);
    let (result, events) =
        futures::join!(g.generate(request(), tx, CancellationToken::new()), async {
            let mut v = Vec::new();
            while let Some(e) = rx.recv().await {
                v.push(e);
            }
            v
        });
    let stats = result.expect("happy path");
    let tokens: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            GenEvent::Token(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        tokens,
        [
            "Do not",
            " start metformin",
            " [metformin-label-renal]",
            "."
        ]
    );
    assert!(matches!(events.last(), Some(GenEvent::Done(_))));
    assert_eq!(stats.finish, FinishReason::Stop);
    assert_eq!(stats.prompt_tokens, Some(57));
    assert_eq!(stats.completion_tokens, 4);
    assert_eq!(stats.model, "smol");
    assert_eq!(stats.backend, "openai");
    assert!(stats.first_token_ms.is_some());
    assert_eq!(stats.load_ms, None);

    let req = server.requests().pop().expect("one request");
    assert!(req.starts_with("POST /v1/chat/completions "), "{req}");
    assert!(req
        .to_ascii_lowercase()
        .contains("authorization: bearer test-key"));
    let body: serde_json::Value =
        serde_json::from_str(req.split("\r\n\r\n").nth(1).expect("body")).expect("json body");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["model"], "smol");
    assert_eq!(
        body["messages"][1]["content"],
        "Should metformin be started?"
    );
}

#[tokio::test]
async fn health_check_and_model_list() {
    let models = http(
        "200 OK",
        "application/json",
        r#"{"object":"list","data":[{"id":"smol","object":"model"},{"id":"big","object":"model"}]}"#,
    );
    let server = FakeServer::start(move |_| Reply::Raw(models.clone())).await;
    let g = generator(&server.url(), Duration::from_secs(5));
    assert_eq!(g.list_models().await.expect("models"), ["smol", "big"]);
    let status = g.health_check().await.expect("healthy");
    assert!(status.contains("smol, big"), "{status}");
    assert!(server.requests()[0].starts_with("GET /v1/models "));
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let g = generator(&url, Duration::from_secs(5));
    let started = Instant::now();
    let err = run(&g).await.expect_err("nothing listens there");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
    assert!(msg.contains("cannot reach") && msg.contains(&url), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(g.health_check().await.is_err());
}

#[tokio::test]
async fn http_500_gives_status_and_short_body() {
    let long_tail = "x".repeat(2000);
    let body =
        format!("{{\"error\":{{\"message\":\"model crashed: out of memory\"}}}} {long_tail}");
    let reply = http("500 Internal Server Error", "application/json", &body);
    let server = FakeServer::start(move |_| Reply::Raw(reply.clone())).await;
    let g = generator(&server.url(), Duration::from_secs(5));
    let (tx, mut rx) = mpsc::channel(16);
    let result = g.generate(request(), tx, CancellationToken::new()).await;
    let err = result.expect_err("HTTP 500");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, LlmError::Http { status: 500, .. }), "{err:?}");
    assert!(
        msg.contains("HTTP 500") && msg.contains("out of memory"),
        "{msg}"
    );
    assert!(msg.len() < 500, "body is shortened: {} chars", msg.len());
    // The stream ends with the same error.
    let mut last = None;
    while let Some(e) = rx.recv().await {
        last = Some(e);
    }
    assert_eq!(last, Some(GenEvent::Error(msg)));
}

#[tokio::test]
async fn unauthorized_points_at_the_key_variable() {
    let reply = http(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"bad key"}"#,
    );
    let server = FakeServer::start(move |_| Reply::Raw(reply.clone())).await;
    let msg = run(&generator(&server.url(), Duration::from_secs(5)))
        .await
        .expect_err("401")
        .to_string();
    assert!(
        msg.contains("HTTP 401") && msg.contains("RXGUIDE_OPENAI_API_KEY"),
        "{msg}"
    );
}

#[tokio::test]
async fn malformed_stream_is_reported() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", sse(&[&chunk("Hi"), "{not json"]), "not JSON"),
        (
            "no data at all",
            format!("{SSE_HEAD}this is not an event stream\n\n").into_bytes(),
            "without any data",
        ),
        (
            "cut short",
            sse(&[&chunk("Hi"), &chunk(" there")]),
            "ended before",
        ),
        (
            "wrong shape",
            sse(&[r#"{"hello":"world"}"#]),
            "neither choices nor usage",
        ),
    ];
    for (name, body, expect) in cases {
        let server = FakeServer::start(move |_| Reply::Raw(body.clone())).await;
        let err = run(&generator(&server.url(), Duration::from_secs(5)))
            .await
            .expect_err(name);
        let msg = err.to_string();
        eprintln!("{name}: {msg}");
        assert!(
            matches!(err, LlmError::MalformedStream { .. }),
            "{name}: {err:?}"
        );
        assert!(
            msg.contains(expect) && msg.contains("malformed"),
            "{name}: {msg}"
        );
    }
}

#[tokio::test]
async fn server_error_inside_the_stream() {
    let body = sse(&[
        &chunk("Hi"),
        r#"{"error":{"message":"context length exceeded"}}"#,
    ]);
    let server = FakeServer::start(move |_| Reply::Raw(body.clone())).await;
    let err = run(&generator(&server.url(), Duration::from_secs(5)))
        .await
        .expect_err("error event");
    assert!(matches!(err, LlmError::Server { .. }), "{err:?}");
    assert!(err.to_string().contains("context length exceeded"));
}

#[tokio::test]
async fn silent_server_times_out() {
    let server = FakeServer::start(|_| Reply::Hang(Duration::from_secs(10))).await;
    let g = generator(&server.url(), Duration::from_millis(300));
    let started = Instant::now();
    let err = run(&g).await.expect_err("timeout");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert!(msg.contains("timed out") && msg.contains("0.3 s"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn stalled_stream_times_out_after_the_first_tokens() {
    let first = format!("data: {}\n\n", chunk("Hello"));
    let server = FakeServer::start(move |_| {
        Reply::Slow(
            SSE_HEAD.as_bytes().to_vec(),
            vec![
                (Duration::ZERO, first.clone().into_bytes()),
                (Duration::from_secs(10), b"data: [DONE]\n\n".to_vec()),
            ],
        )
    })
    .await;
    let g = generator(&server.url(), Duration::from_millis(300));
    let mut streamed = String::new();
    let err = collect(&g, request(), CancellationToken::new(), |t| {
        streamed.push_str(t)
    })
    .await
    .expect_err("stall");
    assert_eq!(streamed, "Hello");
    let msg = err.to_string();
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert!(msg.contains("next token"), "{msg}");
}

#[tokio::test]
async fn cancel_stops_promptly_and_drops_the_connection() {
    let pieces: Vec<(Duration, Vec<u8>)> = (0..100)
        .map(|i| {
            (
                Duration::from_millis(50),
                format!("data: {}\n\n", chunk(&format!(" w{i}"))).into_bytes(),
            )
        })
        .collect();
    let server =
        FakeServer::start(move |_| Reply::Slow(SSE_HEAD.as_bytes().to_vec(), pieces.clone())).await;
    let g = generator(&server.url(), Duration::from_secs(5));
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(16);
    let watcher = async {
        let mut seen = 0;
        let mut cancelled_at = None;
        let mut after = 0;
        while let Some(e) = rx.recv().await {
            match e {
                GenEvent::Token(_) if cancelled_at.is_some() => after += 1,
                GenEvent::Token(_) => {
                    seen += 1;
                    if seen == 3 {
                        cancelled_at = Some(Instant::now());
                        cancel.cancel();
                    }
                }
                GenEvent::Done(s) => assert_eq!(s.finish, FinishReason::Cancelled),
                other => panic!("unexpected {other:?}"),
            }
        }
        (after, cancelled_at)
    };
    let (result, (after, cancelled_at)) =
        futures::join!(g.generate(request(), tx, cancel.clone()), watcher);
    let stats = result.expect("cancel is not an error");
    let cancelled_at = cancelled_at.expect("cancelled");
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert_eq!(after, 0);
    assert!(cancelled_at.elapsed() < Duration::from_millis(500));
    // The server notices the client left at its next write.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let left = server.client_left().expect("server saw the disconnect");
    assert!(left.duration_since(cancelled_at) < Duration::from_millis(300));
}

#[tokio::test]
async fn server_ignoring_stream_true_still_works() {
    let reply = http(
        "200 OK",
        "application/json",
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"Avoid it [x]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":5}}"#,
    );
    let server = FakeServer::start(move |_| Reply::Raw(reply.clone())).await;
    let out = run(&generator(&server.url(), Duration::from_secs(5)))
        .await
        .expect("plain JSON answer");
    assert_eq!(out.text, "Avoid it [x].");
    assert_eq!(out.stats.prompt_tokens, Some(9));
}

#[test]
fn bad_base_url_is_rejected_up_front() {
    let err = OpenAiGenerator::new(OpenAiConfig::new("localhost:8080", "m"))
        .expect_err("no scheme")
        .to_string();
    assert!(err.contains("localhost:8080"), "{err}");
}
