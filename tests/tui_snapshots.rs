//! Snapshots of every screen at 80x24 and 120x40, rendered into ratatui's
//! TestBackend. The app is driven with keys from the key map; worker
//! results (knowledge base, backend, generation) are injected as the
//! messages the background tasks would send, and the answer comes from a
//! deterministic fake generator.

use futures::future::BoxFuture;
use futures::FutureExt;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rxguide::kb::Kb;
use rxguide::llm::{
    FinishReason, GenEvent, GenRequest, GenStats, Generator, LlmError, NoneGenerator,
};
use rxguide::session::{Session, SessionStore};
use rxguide::tui::app::{App, Env};
use rxguide::tui::event::{self, WorkerMsg, WorkerRx};
use rxguide::tui::keys::{Key, KeyList};
use rxguide::tui::theme::Theme;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tmp");
        let sources = rxguide::kb::Sources::bundled();
        let (kb, _) = rxguide::kb::store::open_kb(dir.path(), &sources).expect("kb");
        Arc::new(kb)
    })
    .clone()
}

fn case_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("sessions/cases")
        .join(name)
}

struct TestApp {
    app: App,
    rx: WorkerRx,
    _dir: tempfile::TempDir,
}

/// A test environment: a temp data dir, the bundled kb loaded, the
/// default keys and the dark theme.
fn test_env(store: bool) -> TestApp {
    let dir = tempfile::tempdir().expect("tmp");
    let (tx, rx) = event::channel();
    let env = Env {
        keys: KeyList::default(),
        theme: Theme::load(Some("dark"), false).expect("theme"),
        store: store.then(|| SessionStore::open(dir.path()).expect("store")),
        out_dir: dir.path().join("out"),
        tx,
    };
    let mut app = App::new(env);
    app.on_worker(WorkerMsg::Kb(Ok(kb()), "kb".into()));
    TestApp { app, rx, _dir: dir }
}

fn keys(app: &mut App, list: &[&str]) {
    for k in list {
        app.handle_key(&Key::parse(k).expect("key"));
    }
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let name = if c == ' ' {
            "space".into()
        } else {
            c.to_string()
        };
        app.handle_key(&Key::parse(&name).expect("key"));
    }
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| app.draw(f)).expect("draw");
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snap(name: &str, app: &App) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(app, w, h));
    }
}

#[test]
fn home_with_saved_sessions() {
    let mut t = test_env(true);
    let store = t.app.env.store.clone().expect("store");
    for (id, when, age, drug) in [
        ("a", "2025-03-01 09:15", "74", "metformin"),
        ("b", "2025-03-02 16:40", "31", "lisinopril"),
    ] {
        let mut s = Session::new(id, when);
        s.draft.set("patient.age", age);
        s.draft.set("patient.sex", "female");
        s.draft.set("proposed[0].drug", drug);
        store.save(&s).expect("save");
    }
    t.app.refresh_home();
    t.app.model_status = "model: ready".into();
    snap("home", &t.app);
    keys(&mut t.app, &["/"]);
    type_text(&mut t.app, "lisin");
    snap("home_search", &t.app);
}

#[test]
fn intake_patient_with_inline_errors_and_unit_toggle() {
    let mut t = test_env(false);
    keys(&mut t.app, &["n"]);
    type_text(&mut t.app, "130");
    keys(&mut t.app, &["tab", "f", "tab"]);
    type_text(&mut t.app, "58");
    keys(&mut t.app, &["ctrl-u", "tab"]);
    t.app.status = String::new();
    t.app.model_status = "model: ready".into();
    snap("intake_patient", &t.app);
}

#[test]
fn intake_drug_picker_shows_generic() {
    let mut t = test_env(false);
    keys(
        &mut t.app,
        &[
            "n", "pagedown", "pagedown", "pagedown", "pagedown", "pagedown",
        ],
    );
    type_text(&mut t.app, "glucoph");
    t.app.status = String::new();
    t.app.model_status = "model: ready".into();
    snap("intake_picker", &t.app);
    keys(&mut t.app, &["enter"]);
    assert_eq!(t.app.intake.draft.get("proposed[0].drug"), "metformin");
}

/// Issue 14, part 3: each condition is marked with what the vocabulary
/// reads it as, or asks.
#[test]
fn intake_conditions_are_marked_read_or_asked() {
    let mut t = test_env(false);
    keys(&mut t.app, &["n", "pagedown", "pagedown", "pagedown"]);
    type_text(&mut t.app, "Paroxysmal AF");
    keys(&mut t.app, &["ctrl-a"]);
    type_text(&mut t.app, "CKD 4");
    keys(&mut t.app, &["ctrl-a"]);
    type_text(&mut t.app, "atrial fibrilation");
    keys(&mut t.app, &["ctrl-a"]);
    type_text(&mut t.app, "Qzxv syndrome");
    t.app.status = String::new();
    t.app.model_status = "model: ready".into();
    snap("intake_conditions", &t.app);
}

#[test]
fn intake_labs_in_umol() {
    let mut t = test_env(false);
    keys(&mut t.app, &["n", "pagedown"]);
    type_text(&mut t.app, "186");
    keys(&mut t.app, &["ctrl-u"]);
    t.app.status = String::new();
    t.app.model_status = "model: ready".into();
    snap("intake_labs", &t.app);
}

fn results_app(case: &str) -> TestApp {
    let mut t = test_env(false);
    t.app.on_worker(WorkerMsg::Backend(
        Ok(Arc::new(NoneGenerator)),
        "no model: flags and sources only".into(),
    ));
    t.app.open_case(&case_path(case));
    t.app.status = String::new();
    t
}

#[test]
fn results_panes_without_model() {
    let mut t = results_app("warfarin-ibuprofen.toml");
    snap("results_flags", &t.app);
    keys(&mut t.app, &["tab"]);
    snap("results_sources", &t.app);
    keys(&mut t.app, &["tab", "tab"]);
    snap("results_trace", &t.app);
}

/// A regimen with its own problems: the proposed drug's flags (none) come
/// first, then the current medicines' under their own heading.
#[test]
fn results_group_the_regimen_after_the_proposal() {
    let t = results_app("regimen-review-apixaban-dose.toml");
    snap("results_regimen", &t.app);
    let text = render(&t.app, 80, 24);
    let none = text
        .find("No flag for the proposed drug(s).")
        .expect("said first");
    let heading = text
        .find("Current medicines (regimen review):")
        .expect("heading");
    assert!(none < heading);
}

#[test]
fn help_overlay_lists_every_binding() {
    let mut t = results_app("metformin-ckd4.toml");
    keys(&mut t.app, &["?"]);
    assert!(t.app.help);
    snap("help", &t.app);
    let text = render(&t.app, 120, 40);
    for (_, _, k) in t.app.env.keys.bindings() {
        assert!(text.contains(&k.label()), "help lacks {}", k.label());
    }
}

/// Streams a fixed answer token by token.
struct FakeGenerator {
    answer: &'static str,
}

impl Generator for FakeGenerator {
    fn name(&self) -> &str {
        "fake"
    }
    fn model(&self) -> String {
        "fake-model".into()
    }
    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>> {
        async { Ok("fake".to_string()) }.boxed()
    }
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async { Ok(vec!["fake-model".to_string()]) }.boxed()
    }
    fn generate(
        &self,
        _request: GenRequest,
        tx: mpsc::Sender<GenEvent>,
        _cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<GenStats, LlmError>> {
        async move {
            let mut n = 0;
            for word in self.answer.split_inclusive(' ') {
                n += 1;
                let _ = tx.send(GenEvent::Token(word.to_string())).await;
            }
            let stats = GenStats {
                backend: "fake".into(),
                model: "fake-model".into(),
                load_ms: Some(120.0),
                load_wait_ms: 0.0,
                prompt_tokens: Some(400),
                first_token_ms: Some(80.0),
                decode_tokens_per_s: Some(25.0),
                completion_tokens: n,
                total_ms: 900.0,
                finish: FinishReason::Stop,
            };
            let _ = tx.send(GenEvent::Done(stats.clone())).await;
            Ok(stats)
        }
        .boxed()
    }
}

const ANSWER: &str =
    "Do not start metformin because the eGFR is below 30 [metformin-label-renal]. \
Consider linagliptin instead [sglt2-kdigo-diabetes-ckd]. \
Metformin is safe at a low dose. \
Check renal function again in three months [made-up-id].";

async fn drain(t: &mut TestApp) {
    while t
        .app
        .results
        .as_ref()
        .is_some_and(|r| r.answer.is_running())
    {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), t.rx.recv())
            .await
            .expect("generation finishes")
            .expect("message");
        t.app.on_worker(msg);
    }
}

#[tokio::test]
async fn answer_streams_with_citations_checked() {
    let mut t = test_env(false);
    t.app.on_worker(WorkerMsg::Backend(
        Ok(Arc::new(FakeGenerator { answer: ANSWER })),
        "model: fake-model ready".into(),
    ));
    t.app.open_case(&case_path("metformin-ckd4.toml"));
    drain(&mut t).await;
    t.app.status = String::new();
    keys(&mut t.app, &["tab", "tab"]);
    snap("results_answer", &t.app);
    keys(&mut t.app, &["j"]);
    let sources = &t.app.results.as_ref().expect("results").sources;
    assert_eq!(sources.ids, ["sglt2-kdigo-diabetes-ckd"]);
    // RAG off and on side by side.
    keys(&mut t.app, &["r"]);
    drain(&mut t).await;
    t.app.status = String::new();
    snap("results_compare", &t.app);
    // Export writes the note and the case file, user-only.
    keys(&mut t.app, &["ctrl-s"]);
    let out = t.app.env.out_dir.clone();
    let note = std::fs::read_dir(&out)
        .expect("out dir")
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "md"))
        .expect("note");
    let text = std::fs::read_to_string(note.path()).expect("read");
    assert!(text.contains("CONTRAINDICATED"), "{text}");
    assert!(text.contains("[UNSUPPORTED: no citation]"), "{text}");
    assert!(text.contains("metformin-label-renal"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = note.metadata().expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
