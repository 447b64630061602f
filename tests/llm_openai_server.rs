//! The `openai` backend against a real OpenAI-compatible server on loopback:
//! llama.cpp's server (llama-cpp-python, built by scripts/llama-venv) on the
//! same GGUF as the local backend. Streams, stops on cancel, and reports the
//! server's model. Skips with a message when the venv or the model is absent,
//! unless RXGUIDE_REQUIRE_LLAMA_SERVER is set (CI sets it).

use rxguide::llm::{
    collect, ChatMessage, FinishReason, GenEvent, GenRequest, Generator, OpenAiConfig,
    OpenAiGenerator, Role,
};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("RXGUIDE_LLAMA_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rxguide-bench-venv"))
        })?;
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import llama_cpp.server, uvicorn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// Starts the server, or returns None (skip) when it cannot be had here.
fn start() -> Option<(Server, String)> {
    let required = std::env::var_os("RXGUIDE_REQUIRE_LLAMA_SERVER").is_some();
    let model = rxguide::llm::default_model_path();
    let Some(py) = venv_python() else {
        assert!(!required, "RXGUIDE_REQUIRE_LLAMA_SERVER is set but the llama-cpp-python venv is missing (run scripts/llama-venv)");
        eprintln!("skipping: no llama-cpp-python server venv (run scripts/llama-venv)");
        return None;
    };
    if !model.exists() {
        assert!(!required, "model missing: {}", model.display());
        eprintln!("skipping: no model at {}", model.display());
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(py)
        .args([
            "-m",
            "llama_cpp.server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg("--model")
        .arg(&model)
        .args([
            "--model_alias",
            "smollm2",
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "llama.cpp server did not start within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Some((server, base))
}

fn request(max_tokens: usize) -> GenRequest {
    GenRequest::new(vec![
        ChatMessage::new(Role::System, "You are a careful prescribing assistant."),
        ChatMessage::new(
            Role::User,
            "In one sentence: why avoid ibuprofen with warfarin?",
        ),
    ])
    .with_max_tokens(max_tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_from_a_real_llama_cpp_server_and_cancels() {
    let Some((_server, base)) = start() else {
        return;
    };
    let generator = OpenAiGenerator::new(OpenAiConfig::new(base, "smollm2")).expect("client");
    // The server may still be loading the model after the port opens.
    let deadline = Instant::now() + Duration::from_secs(60);
    let models = loop {
        match generator.list_models().await {
            Ok(m) => break m,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for the server: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("server never answered /v1/models: {e}"),
        }
    };
    assert!(models.iter().any(|m| m == "smollm2"), "{models:?}");

    let mut pieces = 0;
    let out = collect(&generator, request(24), CancellationToken::new(), |_| {
        pieces += 1
    })
    .await
    .expect("generates");
    assert!(!out.text.trim().is_empty());
    assert!(pieces > 1, "streamed in pieces ({pieces})");
    assert!(
        out.stats.completion_tokens > 0 && out.stats.completion_tokens <= 24,
        "{:?}",
        out.stats
    );
    assert!(out.stats.first_token_ms.is_some());
    assert!(matches!(
        out.stats.finish,
        FinishReason::Stop | FinishReason::Length
    ));

    // Cancel after the first token: generation stops promptly.
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let run = {
        let cancel = cancel.clone();
        let generator = &generator;
        async move { generator.generate(request(200), tx, cancel).await }
    };
    let watch = async {
        let mut after_cancel = 0;
        let mut cancelled_at = None;
        while let Some(ev) = rx.recv().await {
            match ev {
                GenEvent::Token(_) if cancelled_at.is_none() => {
                    cancel.cancel();
                    cancelled_at = Some(Instant::now());
                }
                GenEvent::Token(_) => after_cancel += 1,
                GenEvent::Done(stats) => return (after_cancel, cancelled_at, Some(stats)),
                _ => {}
            }
        }
        (after_cancel, cancelled_at, None)
    };
    let (result, (after, at, done)) = tokio::join!(run, watch);
    let stats = result.expect("cancel is not an error");
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert!(done.is_some());
    assert!(after <= 2, "{after} tokens after cancel");
    assert!(at.is_some_and(|t| t.elapsed() < Duration::from_secs(5)));
}
