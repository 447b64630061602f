//! The CDS Hooks service over real HTTP on 127.0.0.1 (ephemeral ports):
//! discovery, the prescribe hook, bad input, body limit, bearer token,
//! concurrent requests; and `rxguide serve` as a process called by curl.

use rxguide::kb::{Kb, Sources};
use rxguide::serve::{router, serve, ServeConfig, SERVICE_ID};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The element an OperationOutcome error names.
fn field(v: &Value) -> Option<&str> {
    v.pointer("/issue/0/expression/0").and_then(Value::as_str)
}

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| {
        let sources = Sources::bundled();
        Arc::new(Kb::link(sources.parse().expect("parses"), sources.hash()).expect("links"))
    })
    .clone()
}

async fn start(config: ServeConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let app = router(kb(), &config);
    tokio::spawn(async move {
        let _ = serve(listener, app).await;
    });
    addr
}

fn service_url(addr: SocketAddr) -> String {
    format!("http://{addr}/cds-services/{SERVICE_ID}")
}

/// A 68-year-old man on warfarin; ibuprofen is being ordered.
fn warfarin_ibuprofen_request() -> Value {
    json!({
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/example",
            "patientId": "pat-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{ "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "draft-1",
                    "status": "draft",
                    "intent": "order",
                    "medicationCodeableConcept": {
                        "coding": [{ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "5640", "display": "ibuprofen" }]
                    },
                    "subject": { "reference": "Patient/pat-1" },
                    "dosageInstruction": [{
                        "timing": { "repeat": { "frequency": 3, "period": 1, "periodUnit": "d" } },
                        "doseAndRate": [{ "doseQuantity": { "value": 400, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg" } }]
                    }]
                }}]
            }
        },
        "prefetch": {
            "patient": { "resourceType": "Patient", "id": "pat-1", "gender": "male", "birthDate": "1956-05-10" },
            "medications": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{ "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "rx-1",
                    "status": "active",
                    "intent": "order",
                    "medicationCodeableConcept": { "text": "warfarin" },
                    "subject": { "reference": "Patient/pat-1" }
                }}]
            },
            "allergies": { "resourceType": "Bundle", "type": "searchset", "entry": [] },
            "conditions": null,
            "observations": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [
                    { "resource": {
                        "resourceType": "Observation", "id": "w", "status": "final",
                        "code": { "coding": [{ "system": "http://loinc.org", "code": "29463-7" }] },
                        "subject": { "reference": "Patient/pat-1" },
                        "valueQuantity": { "value": 82, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg" }
                    }},
                    { "resource": {
                        "resourceType": "Observation", "id": "a1c", "status": "final",
                        "code": { "coding": [{ "system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c" }] },
                        "subject": { "reference": "Patient/pat-1" },
                        "valueQuantity": { "value": 6.9, "unit": "%" }
                    }}
                ]
            }
        }
    })
}

async fn post(client: &reqwest::Client, addr: SocketAddr, body: &Value) -> (u16, Value) {
    let r = client
        .post(service_url(addr))
        .json(body)
        .send()
        .await
        .expect("answers");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_service_for_both_order_hooks() {
    let addr = start(ServeConfig::default()).await;
    let v: Value = reqwest::get(format!("http://{addr}/cds-services"))
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let services = v["services"].as_array().expect("services");
    let hooks: Vec<&str> = services.iter().filter_map(|s| s["hook"].as_str()).collect();
    assert_eq!(hooks, vec!["order-select", "order-sign"]);
    for s in services {
        assert_eq!(s["id"], SERVICE_ID);
        for key in [
            "patient",
            "medications",
            "allergies",
            "conditions",
            "observations",
        ] {
            assert!(s["prefetch"][key].as_str().is_some(), "prefetch {key}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warfarin_and_ibuprofen_give_a_critical_card() {
    let addr = start(ServeConfig::default()).await;
    let client = reqwest::Client::new();
    let (status, v) = post(&client, addr, &warfarin_ibuprofen_request()).await;
    assert_eq!(status, 200, "{v}");
    let cards = v["cards"].as_array().expect("cards");
    let ddi = cards
        .iter()
        .find(|c| {
            c["indicator"] == "critical"
                && c["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("warfarin") && s.contains("ibuprofen"))
        })
        .unwrap_or_else(|| panic!("critical interaction card in {v:#}"));
    for c in cards {
        let summary = c["summary"].as_str().expect("summary");
        assert!(summary.chars().count() < 140, "{summary}");
        assert!(c["uuid"].as_str().is_some_and(|u| u.len() == 36));
        assert!(c["source"]["label"].as_str().is_some());
        assert!(["info", "warning", "critical"].contains(&c["indicator"].as_str().unwrap_or("")));
    }
    assert!(ddi["source"]["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http")));
    let detail = ddi["detail"].as_str().expect("detail");
    assert!(detail.contains("**Sources:**"), "{detail}");
    let s = &ddi["suggestions"][0];
    assert!(s["label"].as_str().is_some_and(|l| !l.is_empty()));
    assert!(s["uuid"].as_str().is_some_and(|u| u.len() == 36));
    // The unread HbA1c is reported on the info card.
    let info = cards
        .iter()
        .find(|c| {
            c["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Not imported"))
        })
        .expect("info card");
    assert_eq!(info["indicator"], "info");
    assert!(info["detail"]
        .as_str()
        .is_some_and(|d| d.contains("4548-4")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_400_naming_the_field() {
    let addr = start(ServeConfig::default()).await;
    let client = reqwest::Client::new();
    let r = client
        .post(service_url(addr))
        .header("content-type", "application/json")
        .body("{\"hook\": \"order-sign\", \"context\": ")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(field(&v), Some("body"), "{v}");
    assert!(
        v.pointer("/issue/0/diagnostics")
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("not valid JSON")),
        "{v}"
    );

    let mut no_context = warfarin_ibuprofen_request();
    no_context
        .as_object_mut()
        .expect("object")
        .remove("context");
    let (status, v) = post(&client, addr, &no_context).await;
    assert_eq!((status, field(&v)), (400, Some("context")), "{v}");

    let mut no_orders = warfarin_ibuprofen_request();
    no_orders["context"]["draftOrders"]["entry"] = json!([]);
    let (status, v) = post(&client, addr, &no_orders).await;
    assert_eq!(
        (status, field(&v)),
        (400, Some("context.draftOrders")),
        "{v}"
    );

    let mut no_patient = warfarin_ibuprofen_request();
    no_patient["prefetch"]
        .as_object_mut()
        .expect("object")
        .remove("patient");
    let (status, v) = post(&client, addr, &no_patient).await;
    // Required prefetch missing: 412 (CDS Hooks 2.0), as an OperationOutcome.
    assert_eq!((status, field(&v)), (412, Some("prefetch.patient")), "{v}");
    assert_eq!(v["resourceType"], "OperationOutcome", "{v}");

    let mut bad_value = warfarin_ibuprofen_request();
    bad_value["prefetch"]["observations"]["entry"][0]["resource"]["valueQuantity"]["value"] =
        json!("eighty");
    let (status, v) = post(&client, addr, &bad_value).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(field(&v), Some("Observation/w.valueQuantity.value"), "{v}");

    let mut out_of_range = warfarin_ibuprofen_request();
    out_of_range["prefetch"]["patient"]["birthDate"] = json!("1850-01-01");
    let (status, v) = post(&client, addr, &out_of_range).await;
    assert_eq!(status, 400, "{v}");
    assert!(
        field(&v).is_some_and(|f| f.contains("Patient/pat-1 birthDate")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413() {
    let addr = start(ServeConfig::default()).await;
    let mut big = warfarin_ibuprofen_request();
    big["padding"] = Value::from("x".repeat(1_200_000));
    let r = reqwest::Client::new()
        .post(service_url(addr))
        .json(&big)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_is_checked() {
    let addr = start(ServeConfig {
        token: Some("s3cret".into()),
        ..ServeConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/cds-services");
    let r = client.get(&url).send().await.expect("answers");
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let v: Value = r.json().await.expect("json");
    assert_eq!(field(&v), Some("Authorization"), "{v}");
    let r = client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 401);
    let r = client
        .post(service_url(addr))
        .json(&warfarin_ibuprofen_request())
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 401);
    let r = client
        .get(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_requests_eight_at_a_time_are_all_answered() {
    use futures::stream::{self, StreamExt};
    let addr = start(ServeConfig::default()).await;
    let client = reqwest::Client::new();
    let body = warfarin_ibuprofen_request();
    let started = Instant::now();
    let results: Vec<(u16, Duration, bool)> = stream::iter(0..200)
        .map(|_| {
            let client = client.clone();
            let body = body.clone();
            async move {
                let t = Instant::now();
                let (status, v) = post(&client, addr, &body).await;
                let critical = v["cards"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["indicator"] == "critical"));
                (status, t.elapsed(), critical)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let total = started.elapsed();
    assert_eq!(results.len(), 200);
    assert!(
        results.iter().all(|(s, _, c)| *s == 200 && *c),
        "every request answered with the critical card"
    );
    let mut lat: Vec<Duration> = results.iter().map(|r| r.1).collect();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    println!(
        "serve: 200 requests, 8 concurrent: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, total {:.2} s",
        p(0.50).as_secs_f64() * 1000.0,
        p(0.99).as_secs_f64() * 1000.0,
        lat[lat.len() - 1].as_secs_f64() * 1000.0,
        total.as_secs_f64()
    );
}

/// `rxguide serve` as a real process, called with curl.
#[test]
fn rxguide_serve_answers_curl() {
    let data = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("rxguide");
    let mut child = Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RXGUIDE_DATA", data.path())
        .env_remove("RXGUIDE_SERVE_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.expect("reads");
        if let Some(rest) = line.split("listening on ").nth(1) {
            base = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let result = std::panic::catch_unwind(|| {
        let base = base.expect("the server printed its address");
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "30", &base])
            .output()
            .expect("curl runs");
        let v: Value = serde_json::from_slice(&out.stdout).expect("discovery JSON");
        assert_eq!(v["services"][0]["id"], SERVICE_ID);

        let req = data.path().join("request.json");
        std::fs::write(&req, warfarin_ibuprofen_request().to_string()).expect("writes");
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
            ])
            .arg(format!("@{}", req.display()))
            .arg(format!("{base}/{SERVICE_ID}"))
            .output()
            .expect("curl runs");
        let v: Value = serde_json::from_slice(&out.stdout).expect("cards JSON");
        assert!(
            v["cards"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["indicator"] == "critical")),
            "{v}"
        );
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Issue 19, finding 8: partial headers and idle sockets were held for
/// 150 s and more, with no cap on connections. A client that stops halfway
/// through its headers is closed after the header-read timeout; past the
/// connection cap, a new connection is closed at once while the others are
/// still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_headers_and_connection_floods_are_cut_off() {
    use rxguide::serve::{serve_with, ConnLimits};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let limits = ConnLimits {
        header_read: Duration::from_secs(1),
        max_connections: 2,
        max_lifetime: Duration::from_secs(60),
    };
    tokio::spawn(async move {
        let _ = serve_with(listener, router(kb(), &ServeConfig::default()), limits).await;
    });
    // closed by the server: a read gives end of file or a reset
    async fn closed_within(s: &mut tokio::net::TcpStream, secs: u64) -> bool {
        let mut buf = [0u8; 256];
        loop {
            match tokio::time::timeout(Duration::from_secs(secs), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue, // a response (408) before the close
                Err(_) => return false,
            }
        }
    }
    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    slow.write_all(b"POST /cds-services HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let mut idle = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // the cap (2) is reached: a third connection is closed at once
    let mut third = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    assert!(
        closed_within(&mut third, 2).await,
        "third connection kept open past the cap"
    );
    // the half-sent headers and the idle socket are cut at about 1 s
    assert!(closed_within(&mut slow, 5).await, "half-sent headers held");
    assert!(closed_within(&mut idle, 5).await, "idle socket held");
    assert!(started.elapsed() < Duration::from_secs(6));
    // with the slots free again, a real request is served
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/cds-services"))
        .send()
        .await
        .expect("served");
    assert_eq!(r.status(), 200);
}

/// Issue 14, part 6: what a browser-based EHR and the CDS Hooks sandbox
/// need, and what they send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_prefetch_gaps_sandbox_references_and_patient_mismatch() {
    let addr = start(ServeConfig {
        token: Some("s3cret".into()),
        allowed_origins: vec!["https://sandbox.cds-hooks.org".into()],
        ..ServeConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    // A preflight carries no token and is answered before authentication.
    let r = client
        .request(reqwest::Method::OPTIONS, service_url(addr))
        .header("origin", "https://sandbox.cds-hooks.org")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 204);
    let h = r.headers();
    assert_eq!(
        h["access-control-allow-origin"],
        "https://sandbox.cds-hooks.org"
    );
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap_or("")
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap_or("")
        .contains("Authorization"));
    // Another origin gets no CORS header: the browser refuses it.
    let r = client
        .get(format!("http://{addr}/cds-services"))
        .header("origin", "https://evil.example")
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("answers");
    assert!(!r.headers().contains_key("access-control-allow-origin"));

    // The sandbox's shape: the record references the patient by urn:uuid,
    // which nothing in the request resolves; conditions prefetch is null.
    let mut req = warfarin_ibuprofen_request();
    req["prefetch"]["medications"]["entry"][0]["resource"]["subject"]["reference"] =
        json!("urn:uuid:8a4ec7a4-3c1b-4cf2-9a8e-1e0c4c0f6b11");
    let r = client
        .post(service_url(addr))
        .header("origin", "https://sandbox.cds-hooks.org")
        .bearer_auth("s3cret")
        .json(&req)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://sandbox.cds-hooks.org"
    );
    let v: Value = r.json().await.expect("json");
    let cards = v["cards"].as_array().expect("cards");
    assert!(
        cards.iter().any(|c| c["indicator"] == "critical"
            && c["summary"].as_str().unwrap_or("").contains("warfarin")),
        "the warfarin + ibuprofen interaction survives the urn:uuid reference: {v}"
    );
    let gap = cards
        .iter()
        .find(|c| {
            c["indicator"] == "warning"
                && c["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("prefetch.conditions is null")
        })
        .expect("a warning card names the null prefetch");
    assert!(
        gap["detail"]
            .as_str()
            .unwrap_or("")
            .contains("drug-disease"),
        "{gap}"
    );
    // CDS Hooks forbids an empty actions array.
    for c in cards {
        for s in c["suggestions"].as_array().into_iter().flatten() {
            assert!(
                s.get("actions")
                    .is_none_or(|a| a.as_array().is_some_and(|a| !a.is_empty())),
                "{s}"
            );
        }
    }

    // A hook about one patient with another's prefetch is said loudly.
    let mut other = warfarin_ibuprofen_request();
    other["context"]["patientId"] = json!("pat-2");
    let r = client
        .post(service_url(addr))
        .bearer_auth("s3cret")
        .json(&other)
        .send()
        .await
        .expect("answers");
    let v: Value = r.json().await.expect("json");
    assert!(
        v["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .any(|c| c["indicator"] == "warning"
                && c["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("may be the wrong patient")),
        "{v}"
    );
}

/// The browser engine, or None (skip) when it is not installed here;
/// CI installs Debian's chromium and sets RXGUIDE_REQUIRE_CHROMIUM.
fn chromium() -> Option<String> {
    let required = std::env::var_os("RXGUIDE_REQUIRE_CHROMIUM").is_some();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if found.is_none() {
        assert!(
            !required,
            "RXGUIDE_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("skipping: no chromium (apt-get install chromium)");
    }
    found.map(str::to_string)
}

/// A page on `page_origin`'s port that calls the service at `service`
/// with fetch(), as the CDS Hooks sandbox does from its own origin, and
/// writes what it got into the document.
async fn page_server(service: String, request: Value) -> SocketAddr {
    let html = format!(
        r#"<!doctype html><html><body><pre id="out">pending</pre><script>
(async () => {{
  const out = document.getElementById('out');
  try {{
    const r = await fetch({service:?}, {{
      method: 'POST',
      headers: {{ 'Content-Type': 'application/json', 'Authorization': 'Bearer s3cret' }},
      body: JSON.stringify({request})
    }});
    const v = await r.json();
    out.textContent = 'STATUS ' + r.status + ' CARDS ' +
      v.cards.map(c => c.indicator + ': ' + c.summary).join(' | ');
  }} catch (e) {{
    out.textContent = 'BLOCKED ' + e;
  }}
}})();
</script></body></html>"#
    );
    let app = axum::Router::new().route(
        "/page.html",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Loads `url` in headless chromium and returns the document it ends with.
async fn dump_dom(browser: String, url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let profile = tempfile::tempdir().expect("profile dir");
        let out = Command::new(browser)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--virtual-time-budget=15000",
                &format!("--user-data-dir={}", profile.path().display()),
                "--dump-dom",
                &url,
            ])
            .stderr(Stdio::null())
            .output()
            .expect("chromium runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .await
    .expect("joins")
}

/// Issue 14, part 6, "done means": a real browser engine calls the service
/// from another origin (preflight, bearer token, JSON body), as the CDS
/// Hooks sandbox does; an origin not allowed is refused by the browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_on_another_origin_calls_the_service() {
    let Some(browser) = chromium() else {
        return;
    };
    // The service allows one page origin; pages are served on their own ports.
    let service_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let service_addr = service_listener.local_addr().expect("addr");
    let url = service_url(service_addr);
    let good = page_server(url.clone(), warfarin_ibuprofen_request()).await;
    let bad = page_server(url, warfarin_ibuprofen_request()).await;
    let app = router(
        kb(),
        &ServeConfig {
            token: Some("s3cret".into()),
            allowed_origins: vec![format!("http://{good}")],
            ..ServeConfig::default()
        },
    );
    tokio::spawn(async move {
        let _ = serve(service_listener, app).await;
    });

    let dom = dump_dom(browser.clone(), format!("http://{good}/page.html")).await;
    assert!(dom.contains("STATUS 200"), "{dom}");
    assert!(
        dom.contains("critical: ") && dom.contains("warfarin"),
        "the interaction card reached the page: {dom}"
    );
    let dom = dump_dom(browser, format!("http://{bad}/page.html")).await;
    assert!(
        dom.contains("BLOCKED"),
        "an origin not allowed must be refused: {dom}"
    );
}

/// Issue 14, part 6: `order-select` honours `selections`, and one element
/// in a shape rxguide cannot read (a `doseAndRate` object, as the HL7
/// cds-hooks-library order-select example writes it) is skipped and said,
/// not the whole request refused.
#[test]
fn order_select_selections_and_an_odd_dose_element() {
    let mut req = warfarin_ibuprofen_request();
    req["hook"] = json!("order-select");
    req["context"]["selections"] = json!(["MedicationRequest/draft-1"]);
    req["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"] =
        json!({ "doseQuantity": { "value": 400, "unit": "mg" } });
    let other = json!({ "resource": {
        "resourceType": "MedicationRequest", "id": "draft-2", "status": "draft", "intent": "order",
        "medicationCodeableConcept": { "text": "acetaminophen" },
        "subject": { "reference": "Patient/pat-1" }
    }});
    req["context"]["draftOrders"]["entry"]
        .as_array_mut()
        .expect("entries")
        .push(other);
    let (a, gaps) = rxguide::serve::assess_request(&kb(), req.clone()).expect("answered");
    let proposed: Vec<&str> = a.case.proposed.iter().map(|o| o.drug.as_str()).collect();
    assert_eq!(proposed, ["ibuprofen"]);
    let current: Vec<&str> = a.case.medications.iter().map(|o| o.drug.as_str()).collect();
    assert!(
        current.contains(&"acetaminophen") && current.contains(&"warfarin"),
        "{current:?}"
    );
    assert!(
        a.flags
            .iter()
            .any(|f| f.drugs.contains(&"warfarin".to_string())
                && f.drugs.contains(&"ibuprofen".to_string())),
        "{:?}",
        a.flags
    );
    assert!(
        gaps.not_imported
            .iter()
            .any(|l| l.contains("dosageInstruction[0]") && l.contains("doseAndRate")),
        "{:?}",
        gaps.not_imported
    );
    // Selections that name nothing are refused, naming the field.
    req["context"]["selections"] = json!(["MedicationRequest/nope"]);
    let e = rxguide::serve::assess_request(&kb(), req).expect_err("no such selection");
    assert_eq!(e.field, "context.selections");
}

/// Issue 14, part 6: `/feedback` (CDS Hooks 2.0) stores what the clinician
/// did with a card, beside the card, durably.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_on_a_card_is_stored_with_the_card() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Arc::new(rxguide::serve::feedback::FeedbackStore::open(dir.path()).expect("opens"));
    let addr = start(ServeConfig {
        feedback: Some(store.clone()),
        ..ServeConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let (status, v) = post(&client, addr, &warfarin_ibuprofen_request()).await;
    assert_eq!(status, 200);
    let card = v["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["indicator"] == "critical")
        .expect("critical card");
    let uuid = card["uuid"].as_str().expect("uuid");
    let r = client
        .post(format!("{}/feedback", service_url(addr)))
        .json(&json!({ "feedback": [{
            "card": uuid,
            "outcome": "overridden",
            "overrideReason": { "reason": { "code": "patient-aware", "display": "Patient aware of risk" }, "userComment": "3 days only" },
            "outcomeTimestamp": "2026-12-04T10:00:00Z"
        }] }))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 200);
    let all = store.feedback();
    assert_eq!(all.len(), 1, "{all:?}");
    let text = serde_json::to_string(&all[0]).expect("json");
    assert!(
        text.contains("overridden") && text.contains("3 days only"),
        "{text}"
    );
    assert!(
        text.contains(card["summary"].as_str().expect("summary")),
        "{text}"
    );
    // A bad entry names its field.
    let r = client
        .post(format!("{}/feedback", service_url(addr)))
        .json(&json!({ "feedback": [{ "card": uuid, "outcome": "maybe", "outcomeTimestamp": "2026-12-04T10:00:00Z" }] }))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(field(&v), Some("feedback[0].outcome"), "{v}");
}

/// Issue 14, part 6: a request past the case limits (1,000 draft orders)
/// is a 400 naming the list and the limit, not a long assessment.
#[test]
fn a_thousand_draft_orders_are_refused_naming_the_limit() {
    let mut req = warfarin_ibuprofen_request();
    let order = req["context"]["draftOrders"]["entry"][0].clone();
    let entries: Vec<Value> = (0..1000)
        .map(|i| {
            let mut o = order.clone();
            o["resource"]["id"] = json!(format!("draft-{i}"));
            o
        })
        .collect();
    req["context"]["draftOrders"]["entry"] = Value::Array(entries);
    let e = rxguide::serve::assess_request(&kb(), req).expect_err("past the limit");
    assert_eq!(e.status.as_u16(), 400);
    assert!(e.field.contains("proposed"), "{e:?}");
    assert!(e.error.contains("the proposed orders (1000)"), "{e:?}");
    assert!(e.error.contains("at most 150"), "{e:?}");
}
