//! A CDS Hooks (1.0 / 2.0) service over the same pipeline as `check`.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /cds-services` | discovery: `rxguide-medication-prescribe` for `order-select` and `order-sign` |
//! | `POST /cds-services/rxguide-medication-prescribe` | `context.draftOrders` (the proposed drugs) + `prefetch` -> cards |
//!
//! The request is imported with [`crate::fhir::Importer`] (draft orders
//! are the proposed drugs; prefetch is the record), validated like a case
//! file, assessed with [`crate::pipeline::assess`], and answered with one
//! card per flag ([`cards`]). Every error is a FHIR `OperationOutcome`
//! naming the element in `issue[0].expression`: bad input 400, a missing
//! patient prefetch 412 (rxguide does not query the FHIR server), bodies
//! over the limit 413, and with a token configured, requests without
//! `Authorization: Bearer <token>` 401. A prefetch the EHR sent as `null`,
//! as an OperationOutcome or not at all is named on a warning card with
//! what it left unchecked. Browsers may call it from other origins (CORS,
//! [`ServeConfig::allowed_origins`]). The knowledge base is opened once
//! and shared.

pub mod cards;
pub mod feedback;

use crate::fhir::{FhirError, ImportOptions, Importer, Role};
use crate::kb::Kb;
use crate::llm::Generator;
use crate::pipeline::assess;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::TimeoutLayer;

/// The service id, as in the URL.
pub const SERVICE_ID: &str = "rxguide-medication-prescribe";
/// Default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// Default time allowed for one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub token: Option<String>,
    pub body_limit: usize,
    pub timeout: Duration,
    /// `--with-llm`: add the grounded answer as an info card.
    pub llm: Option<LlmCard>,
    /// Origins a browser may call from (`--allow-origin`); empty: any
    /// origin (`*`). Authentication is by bearer token, never by cookie,
    /// so no credentials are allowed either way.
    pub allowed_origins: Vec<String>,
    /// Where sent cards and their feedback are kept (`POST
    /// .../feedback`); `None`: feedback is refused with 501.
    pub feedback: Option<Arc<feedback::FeedbackStore>>,
}

/// The model that writes the optional advice card, and its time budget
/// (the request timeout must leave room for it).
#[derive(Clone)]
pub struct LlmCard {
    pub generator: Arc<dyn Generator>,
    pub budget: Duration,
    pub max_tokens: usize,
}

impl std::fmt::Debug for LlmCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmCard")
            .field("backend", &self.generator.name())
            .field("budget", &self.budget)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            timeout: DEFAULT_TIMEOUT,
            llm: None,
            allowed_origins: Vec::new(),
            feedback: None,
        }
    }
}

struct AppState {
    kb: Arc<Kb>,
    token: Option<String>,
    llm: Option<LlmCard>,
    allowed_origins: Vec<String>,
    feedback: Option<Arc<feedback::FeedbackStore>>,
}

/// A 4xx/5xx answer with a JSON body naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub field: String,
    pub error: String,
}

impl ApiError {
    pub(crate) fn bad(field: impl Into<String>, error: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            field: field.into(),
            error: error.into(),
        }
    }
}

impl From<FhirError> for ApiError {
    fn from(e: FhirError) -> ApiError {
        ApiError::bad(e.field(), e.to_string())
    }
}

impl ApiError {
    /// The body: an OperationOutcome with one issue (FHIR R4 issue-type
    /// codes).
    pub fn outcome(&self) -> Value {
        let code = match self.status {
            StatusCode::UNAUTHORIZED => "login",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::PRECONDITION_FAILED => "required",
            StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            s if s.is_server_error() => "exception",
            _ => "invalid",
        };
        let mut issue = json!({
            "severity": "error",
            "code": code,
            "diagnostics": self.error,
        });
        if !self.field.is_empty() {
            issue["expression"] = json!([self.field]);
        }
        json!({ "resourceType": "OperationOutcome", "issue": [issue] })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.outcome())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rxguide\""),
            );
        }
        r
    }
}

/// The router; the kb is shared by every request.
pub fn router(kb: Arc<Kb>, config: &ServeConfig) -> Router {
    let state = Arc::new(AppState {
        kb,
        token: config.token.clone().filter(|t| !t.is_empty()),
        llm: config.llm.clone(),
        allowed_origins: config.allowed_origins.clone(),
        feedback: config.feedback.clone(),
    });
    Router::new()
        .route("/cds-services", get(discovery))
        .route(&format!("/cds-services/{SERVICE_ID}"), post(prescribe))
        .route(
            &format!("/cds-services/{SERVICE_ID}/feedback"),
            post(receive_feedback),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.timeout,
        ))
        // outermost: a browser's preflight carries no token
        .layer(middleware::from_fn_with_state(state.clone(), cors))
        .with_state(state)
}

/// CORS for browser-based EHRs and the CDS Hooks sandbox: a preflight
/// (`OPTIONS` with `Access-Control-Request-Method`) is answered here,
/// before authentication; every other answer to an allowed origin says it
/// may be read. An origin not allowed gets no CORS headers, so the browser
/// refuses it.
async fn cors(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let allowed = origin.as_deref().and_then(|o| {
        if state.allowed_origins.is_empty() {
            Some("*".to_string())
        } else {
            state
                .allowed_origins
                .iter()
                .any(|a| a.trim_end_matches('/') == o)
                .then(|| o.to_string())
        }
    });
    let preflight = req.method() == axum::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut r = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let Some(a) = allowed.and_then(|a| HeaderValue::from_str(&a).ok()) {
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, a);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    r
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        field: "path".into(),
        error: format!(
            "no such route; see GET /cds-services (service: /cds-services/{SERVICE_ID})"
        ),
    }
}

/// Constant-time comparison of the presented token.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let ok = presented.is_some_and(|p| same(p.as_bytes(), token.as_bytes()));
        if !ok {
            return ApiError {
                status: StatusCode::UNAUTHORIZED,
                field: "Authorization".into(),
                error: if presented.is_some() {
                    "incorrect bearer token".into()
                } else {
                    "missing bearer token: send `Authorization: Bearer <token>`".into()
                },
            }
            .into_response();
        }
    }
    next.run(req).await
}

/// The observations prefetch query: every LOINC code the importer reads
/// (the lab table's and the patient observations'), so an EHR that follows
/// the template sends everything the rules can use.
pub fn observations_prefetch() -> String {
    let codes: Vec<String> = crate::fhir::import::loinc_codes()
        .iter()
        .map(|(code, _)| format!("{}|{code}", crate::fhir::model::LOINC))
        .collect();
    format!(
        "Observation?patient={{{{context.patientId}}}}&code={}",
        codes.join(",")
    )
}

/// The discovery document.
pub fn discovery_document() -> Value {
    let prefetch = json!({
        "patient": "Patient/{{context.patientId}}",
        "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
        "allergies": "AllergyIntolerance?patient={{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "observations": observations_prefetch(),
    });
    let description = "Deterministic prescribing checks for the draft medication orders: interactions, renal and hepatic limits, pregnancy, lactation, older adults (Beers), allergies, duplicate therapy, dose limits and lab rules, each citing its sources.";
    let services: Vec<Value> = ["order-select", "order-sign"]
        .iter()
        .map(|hook| {
            json!({
                "hook": hook,
                "id": SERVICE_ID,
                "title": "rxguide prescribing check",
                "description": description,
                "prefetch": prefetch,
                "usageRequirements": "Send context.draftOrders (a Bundle of MedicationRequest) and the prefetch; rxguide does not query the FHIR server.",
            })
        })
        .collect();
    json!({ "services": services })
}

async fn discovery() -> Json<Value> {
    Json(discovery_document())
}

async fn prescribe(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request = json_body(body)?;
    let kb = state.kb.clone();
    // The import and the rules are CPU work: keep them off the async
    // workers.
    let (assessment, gaps) = tokio::task::spawn_blocking(move || assess_request(&kb, request))
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            field: "".into(),
            error: format!("the assessment failed: {e}"),
        })??;
    let note = crate::note::write(&state.kb, &assessment);
    let mut cards = cards::cards(&assessment, &state.kb, &note, &gaps);
    if let Some(llm) = &state.llm {
        cards.push(advice_card(llm, &assessment, &state.kb, &note).await);
    }
    if let Some(store) = state.feedback.clone() {
        // Remembered (flushed to disk, off the async workers) before the
        // answer, so feedback naming a card can find it; a store failure
        // does not withhold the cards.
        let sent = cards.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = store.sent(&sent) {
                tracing::warn!("cards not remembered for feedback: {e}");
            }
        })
        .await;
    }
    Ok(Json(json!({ "cards": cards })))
}

/// `POST /cds-services/{id}/feedback`: stores what the clinician did with
/// each card (CDS Hooks 2.0).
async fn receive_feedback(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let Some(store) = state.feedback.clone() else {
        return Err(ApiError {
            status: StatusCode::NOT_IMPLEMENTED,
            field: "feedback".into(),
            error: "this service was started without a feedback store".into(),
        });
    };
    let body = json_body(body)?;
    let stored = tokio::task::spawn_blocking(move || store.receive(&body))
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            field: "feedback".into(),
            error: format!("feedback not stored: {e}"),
        })??;
    Ok(Json(json!({ "stored": stored })))
}

/// A request body read strictly as JSON (a duplicated key is an error).
fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let body = body.map_err(|r| ApiError {
        status: r.status(),
        field: "body".into(),
        error: r.body_text(),
    })?;
    std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad("body", format!("not valid UTF-8: {e}")))
        .and_then(|text| {
            crate::fhir::json::parse(text).map_err(|e| match e {
                FhirError::Json {
                    line,
                    column,
                    message,
                } => ApiError::bad(
                    "body",
                    format!("not valid JSON: {message} (line {line}, column {column})"),
                ),
                other => ApiError::bad("body", other.to_string()),
            })
        })
}

/// The `--with-llm` card: the grounded answer within the budget, or a card
/// saying why there is none. Dropping the future on timeout cancels the
/// generation.
async fn advice_card(
    llm: &LlmCard,
    a: &crate::pipeline::Assessment,
    kb: &Kb,
    note: &crate::note::Note,
) -> Value {
    let ask = crate::answer::Ask {
        rag: true,
        question: None,
        max_tokens: llm.max_tokens,
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let _guard = cancel.clone().drop_guard();
    let run = crate::answer::answer(llm.generator.as_ref(), a, kb, note, ask, cancel, |_| {});
    match tokio::time::timeout(llm.budget, run).await {
        Ok(Ok(g)) if g.generation.text.trim().is_empty() => {
            cards::answer_missing_card(&g.generation.stats.finish.to_string())
        }
        Ok(Ok(g)) => cards::answer_card(&g),
        Ok(Err(e)) => cards::answer_missing_card(&e.to_string()),
        Err(_) => cards::answer_missing_card(&format!(
            "the model did not finish within {} s",
            llm.budget.as_secs()
        )),
    }
}

/// Answers one hook request (already parsed JSON) with `{"cards": [...]}`.
pub fn answer(kb: &Kb, request: Value) -> Result<Value, ApiError> {
    let (assessment, gaps) = assess_request(kb, request)?;
    let note = crate::note::write(kb, &assessment);
    Ok(json!({ "cards": cards::cards(&assessment, kb, &note, &gaps) }))
}

/// Imports and assesses one hook request: the assessment and what was not
/// imported.
pub fn assess_request(
    kb: &Kb,
    request: Value,
) -> Result<(crate::pipeline::Assessment, Gaps), ApiError> {
    let Value::Object(mut request) = request else {
        return Err(ApiError::bad(
            "body",
            "must be a JSON object (a CDS Hooks request)",
        ));
    };
    let hook = match request.get("hook") {
        Some(Value::String(h)) if h == "order-select" || h == "order-sign" => h.clone(),
        Some(Value::String(h)) => {
            return Err(ApiError::bad(
                "hook",
                format!("\"{h}\" is not served here; accepted: order-select, order-sign"),
            ))
        }
        Some(_) => return Err(ApiError::bad("hook", "must be a string")),
        None => {
            return Err(ApiError::bad(
                "hook",
                "required: \"order-select\" or \"order-sign\"",
            ))
        }
    };
    let Some(Value::Object(mut context)) = request.remove("context") else {
        return Err(ApiError::bad(
            "context",
            "required: an object with draftOrders (a Bundle of MedicationRequest)",
        ));
    };
    let draft = match context.remove("draftOrders") {
        Some(v @ Value::Object(_)) => v,
        Some(_) => {
            return Err(ApiError::bad(
                "context.draftOrders",
                "must be a FHIR Bundle of MedicationRequest",
            ))
        }
        None => {
            return Err(ApiError::bad(
                "context.draftOrders",
                "required: a FHIR Bundle of MedicationRequest (the orders being written)",
            ))
        }
    };
    let has_order = draft
        .get("entry")
        .and_then(Value::as_array)
        .is_some_and(|es| {
            es.iter().any(|e| {
                e.pointer("/resource/resourceType").and_then(Value::as_str)
                    == Some("MedicationRequest")
            })
        })
        || draft.get("resourceType").and_then(Value::as_str) == Some("MedicationRequest");
    if !has_order {
        return Err(ApiError::bad(
            "context.draftOrders",
            "no draft orders: the Bundle holds no MedicationRequest",
        ));
    }
    let prefetch = match request.remove("prefetch") {
        Some(Value::Object(p)) => p,
        Some(Value::Null) | None => serde_json::Map::new(),
        Some(_) => return Err(ApiError::bad("prefetch", "must be an object")),
    };
    let patient = prefetch
        .get("patient")
        .filter(|p| p.get("resourceType").and_then(Value::as_str) == Some("Patient"));
    let Some(patient) = patient else {
        return Err(ApiError {
            status: StatusCode::PRECONDITION_FAILED,
            field: "prefetch.patient".into(),
            error: "required: the Patient resource (prefetch template `patient`); rxguide does not query the FHIR server".into(),
        });
    };
    let mut gaps = Vec::new();
    let patient_id = patient
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let context_id = context.get("patientId").and_then(Value::as_str);
    if let (Some(c), Some(p)) = (context_id, patient_id.as_deref()) {
        if c != p {
            gaps.push(format!(
                "context.patientId is \"{c}\" but the prefetched Patient is \"{p}\": every check below is about the prefetched record, which may be the wrong patient"
            ));
        }
    }
    for (key, what) in PREFETCH_GAPS {
        match prefetch.get(key) {
            None => gaps.push(format!("prefetch.{key} was not sent: {what}")),
            Some(Value::Null) => gaps.push(format!(
                "prefetch.{key} is null (the EHR could not fetch it): {what}"
            )),
            Some(v)
                if v.get("resourceType").and_then(Value::as_str) == Some("OperationOutcome") =>
            {
                let why = v
                    .pointer("/issue/0/diagnostics")
                    .and_then(Value::as_str)
                    .unwrap_or("no diagnostics");
                gaps.push(format!(
                    "prefetch.{key} is an OperationOutcome ({}): {what}",
                    crate::vocab::text::visible_line(why)
                ));
            }
            Some(_) => {}
        }
    }
    let (draft, others) = split_selections(&hook, draft, context.get("selections"))?;
    let mut importer = Importer::new();
    importer.add(draft, Role::DraftOrders, "context.draftOrders")?;
    if let Some(others) = others {
        importer.add(others, Role::OtherDraftOrders, "context.draftOrders")?;
    }
    for (key, value) in prefetch {
        match value {
            Value::Null => {}
            v if v.get("resourceType").and_then(Value::as_str) == Some("OperationOutcome") => {}
            v @ Value::Object(_) => importer.add(v, Role::Record, &format!("prefetch.{key}"))?,
            _ => {
                return Err(ApiError::bad(
                    format!("prefetch.{key}"),
                    "must be a FHIR resource or Bundle (or null)",
                ))
            }
        }
    }
    let id = context_id.unwrap_or("cds-hooks").to_string();
    let (case, report) = importer.finish(&ImportOptions::new(id))?;
    Ok((
        assess(kb, &case),
        Gaps {
            record: gaps,
            not_imported: report.not_imported,
        },
    ))
}

/// `order-select` with `context.selections` ("MedicationRequest/id"):
/// the selected draft orders are the proposal; the others, written in the
/// same session, are checked with them as part of the regimen. Without
/// selections (or for `order-sign`) every draft order is proposed.
fn split_selections(
    hook: &str,
    draft: Value,
    selections: Option<&Value>,
) -> Result<(Value, Option<Value>), ApiError> {
    let Some(selections) = selections.filter(|_| hook == "order-select") else {
        return Ok((draft, None));
    };
    let Some(selected) = selections.as_array().and_then(|a| {
        a.iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
    }) else {
        return Err(ApiError::bad(
            "context.selections",
            "must be an array of references such as \"MedicationRequest/draft-1\"",
        ));
    };
    let Some(entries) = draft.get("entry").and_then(Value::as_array) else {
        return Ok((draft, None));
    };
    let is_selected = |e: &Value| {
        let r = e.get("resource").unwrap_or(&Value::Null);
        let (Some(t), Some(id)) = (
            r.get("resourceType").and_then(Value::as_str),
            r.get("id").and_then(Value::as_str),
        ) else {
            return false;
        };
        let reference = format!("{t}/{id}");
        selected
            .iter()
            .any(|s| s == &reference || s.ends_with(&format!("/{reference}")))
    };
    let (chosen, rest): (Vec<Value>, Vec<Value>) =
        entries.iter().cloned().partition(|e| is_selected(e));
    if chosen.is_empty() {
        return Err(ApiError::bad(
            "context.selections",
            format!(
                "names no draft order ({}); accepted: references to MedicationRequests in context.draftOrders",
                selected.join(", ")
            ),
        ));
    }
    let bundle = |entry: Vec<Value>| {
        let mut b = draft.clone();
        b["entry"] = Value::Array(entry);
        b
    };
    let others = (!rest.is_empty()).then(|| bundle(rest));
    Ok((bundle(chosen), others))
}

/// The record's prefetch keys besides `patient`, and what goes unchecked
/// when the EHR does not send one.
const PREFETCH_GAPS: [(&str, &str); 4] = [
    (
        "medications",
        "the current medicines are unknown, so interactions and duplicate therapy with them were NOT checked",
    ),
    (
        "allergies",
        "allergies are unknown, so allergy and cross-reactivity checks were NOT done",
    ),
    (
        "conditions",
        "conditions are unknown, so drug-disease, pregnancy-by-condition and liver-disease checks were NOT done",
    ),
    (
        "observations",
        "weight and labs are unknown, so renal, hepatic, lab and weight-based dose checks were NOT done",
    ),
];

/// What a request left unchecked beyond the rules' own "not checked":
/// prefetch the EHR did not send (said loudly), and what was imported but
/// not used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gaps {
    pub record: Vec<String>,
    pub not_imported: Vec<String>,
}

/// Limits on connections, apart from the per-request ones of
/// [`ServeConfig`]: a client that sends half a header or holds a socket
/// open idle ties up nothing for long, and a flood of connections is
/// refused past a cap instead of growing without bound.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time allowed to send a request's headers, and to start the next
    /// request on a kept-alive connection (then the server closes it).
    pub header_read: Duration,
    /// Open connections served at once; more are closed on accept.
    pub max_connections: usize,
    /// Longest life of one connection, however busy.
    pub max_lifetime: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read: Duration::from_secs(10),
            max_connections: 64,
            max_lifetime: Duration::from_secs(300),
        }
    }
}

/// Serves `router` on `listener` until ctrl-c, with the default
/// [`ConnLimits`].
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    serve_with(listener, router, ConnLimits::default()).await
}

/// Serves `router` on `listener` until ctrl-c: HTTP/1.1 with a
/// header-read timeout, a connection cap and a connection lifetime.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // a connection that failed while being accepted (reset,
                // out of descriptors): the next one may be fine
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream); // over the cap: closed at once
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.max_lifetime, connection).await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Issue 22: the template asked for 15 codes while the importer read
    /// 26; no creatinine sent under 38483-4 or 14682-9, nor an eGFR but
    /// one, was requested, so every renal rule said "not checked".
    #[test]
    fn prefetch_requests_every_loinc_code_the_importer_reads() {
        let doc = super::discovery_document();
        let query = doc["services"][0]["prefetch"]["observations"]
            .as_str()
            .expect("observations prefetch");
        assert!(query.starts_with("Observation?patient={{context.patientId}}&code="));
        let (_, codes) = query.split_once("&code=").expect("code parameter");
        let requested: BTreeSet<&str> = codes
            .split(',')
            .map(|c| c.strip_prefix("http://loinc.org|").expect("LOINC system"))
            .collect();
        let read: BTreeSet<&str> = crate::fhir::import::loinc_codes()
            .iter()
            .map(|(c, _)| *c)
            .collect();
        assert_eq!(requested, read);
        for code in [
            "2160-0", "38483-4", "14682-9", "98979-8", "62238-1", "33914-3",
        ] {
            assert!(requested.contains(code), "{code}");
        }
        // The importer reads every code of the lab table.
        for spec in &crate::vocab::LABS {
            for l in spec.loinc {
                assert!(read.contains(l.code), "{} {}", spec.name, l.code);
            }
        }
    }
}
