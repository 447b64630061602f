//! `rxguide serve --with-llm`: the grounded answer arrives as an info card
//! beside the flag cards, never instead of one; a model that is too slow
//! gives a card saying so, and the flag cards are unchanged.

use futures::future::BoxFuture;
use futures::FutureExt;
use rxguide::kb::{Kb, Sources};
use rxguide::llm::{FinishReason, GenEvent, GenRequest, GenStats, Generator, LlmError};
use rxguide::serve::{router, serve, LlmCard, ServeConfig, SERVICE_ID};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A deterministic stand-in for the model (the real model is exercised in
/// tests/llm_local.rs and tests/ask_eval.rs); `delay` simulates a slow one.
struct Scripted {
    answer: &'static str,
    delay: Duration,
}

impl Generator for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn model(&self) -> String {
        "scripted".into()
    }
    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>> {
        async { Ok("ok".into()) }.boxed()
    }
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async { Ok(vec!["scripted".into()]) }.boxed()
    }
    fn generate(
        &self,
        _request: GenRequest,
        tx: mpsc::Sender<GenEvent>,
        cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<GenStats, LlmError>> {
        async move {
            tokio::select! {
                _ = tokio::time::sleep(self.delay) => {}
                _ = cancel.cancelled() => {}
            }
            let _ = tx.send(GenEvent::Token(self.answer.into())).await;
            let stats = GenStats {
                backend: "scripted".into(),
                model: "scripted".into(),
                load_ms: None,
                load_wait_ms: 0.0,
                prompt_tokens: None,
                first_token_ms: Some(1.0),
                decode_tokens_per_s: None,
                completion_tokens: 1,
                total_ms: 1.0,
                finish: FinishReason::Stop,
            };
            let _ = tx.send(GenEvent::Done(stats.clone())).await;
            Ok(stats)
        }
        .boxed()
    }
}

fn request() -> Value {
    json!({
        "hook": "order-sign",
        "hookInstance": "5b1b8a0e-0000-4000-8000-000000000001",
        "context": {
            "patientId": "p1",
            "draftOrders": { "resourceType": "Bundle", "type": "collection", "entry": [
                { "resource": { "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
                                "medicationCodeableConcept": { "text": "ibuprofen" } } } ] }
        },
        "prefetch": {
            "patient": { "resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1957-03-01" },
            "medications": { "resourceType": "Bundle", "type": "searchset", "entry": [
                { "resource": { "resourceType": "MedicationStatement", "status": "active",
                                "medicationCodeableConcept": { "text": "warfarin" } } } ] }
        }
    })
}

async fn cards(generator: Scripted, budget: Duration) -> Vec<Value> {
    let sources = Sources::bundled();
    let kb = Arc::new(Kb::link(sources.parse().expect("parses"), sources.hash()).expect("links"));
    let config = ServeConfig {
        llm: Some(LlmCard {
            generator: Arc::new(generator),
            budget,
            max_tokens: 32,
        }),
        ..ServeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    let app = router(kb, &config);
    tokio::spawn(async move {
        let _ = serve(listener, app).await;
    });
    let body: Value = reqwest::Client::new()
        .post(format!("http://{addr}/cds-services/{SERVICE_ID}"))
        .json(&request())
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    body["cards"].as_array().expect("cards").clone()
}

#[tokio::test]
async fn advice_card_follows_the_flag_cards() {
    let cards = cards(
        Scripted {
            answer:
                "Avoid ibuprofen with warfarin [ddi-warfarin-bleeding-label]. Start ibuprofen 400 mg three times daily.",
            delay: Duration::ZERO,
        },
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        cards[0]["indicator"], "critical",
        "flag cards first: {cards:?}"
    );
    let advice = cards.last().expect("a card");
    assert_eq!(advice["indicator"], "info");
    let summary = advice["summary"].as_str().expect("summary");
    assert!(
        summary.starts_with("Model advice") && summary.chars().count() < 140,
        "{summary}"
    );
    let detail = advice["detail"].as_str().expect("detail");
    assert!(detail.contains("(supported)"), "{detail}");
    // "Start ibuprofen 400 mg three times daily." recommends a drug a major flag covers.
    assert!(
        detail.contains("conflicts with the major flag on ibuprofen"),
        "{detail}"
    );
}

#[tokio::test]
async fn slow_model_gives_a_no_advice_card_and_the_same_flags() {
    let cards = cards(
        Scripted {
            answer: "late",
            delay: Duration::from_secs(30),
        },
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(cards[0]["indicator"], "critical");
    let last = cards.last().expect("a card");
    assert!(
        last["summary"]
            .as_str()
            .is_some_and(|s| s.contains("No model advice") && s.contains("did not finish")),
        "{last}"
    );
}
