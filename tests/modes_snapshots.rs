//! Snapshots of the rehearsal, review, demo and model-catalogue screens at
//! 80x24 and 120x40 (TestBackend), driven with keys; the clock and the
//! data dir are fixed so the screens are stable.

use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rxguide::catalogue::Catalogue;
use rxguide::kb::Kb;
use rxguide::modes::{Mode, ModelsOverlay};
use rxguide::rehearse::store::ProgressStore;
use rxguide::rehearse::ui::RehearseApp;
use rxguide::rehearse::{load_library, LibraryCase};
use rxguide::review::store::ReviewStore;
use rxguide::review::ui::ReviewApp;
use rxguide::review::{load_items, Rubric};
use rxguide::tui::keys::Key;
use rxguide::tui::theme::Theme;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn kb() -> Arc<Kb> {
    static KB: OnceLock<Arc<Kb>> = OnceLock::new();
    KB.get_or_init(|| {
        let sources = rxguide::kb::Sources::bundled();
        Arc::new(Kb::link(sources.parse().expect("kb parses"), sources.hash()).expect("links"))
    })
    .clone()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn theme() -> Theme {
    Theme::load(Some("dark"), false).expect("theme")
}

fn render(draw: impl Fn(&mut ratatui::Frame), w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(draw).expect("draw");
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

fn snap<M: Mode>(name: &str, m: &M) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(|f| m.draw(f), w, h));
    }
}

fn press<M: Mode>(m: &mut M, keys: &[&str]) {
    for k in keys {
        m.on_key(&Key::parse(k).expect("key"));
    }
}

fn type_text<M: Mode>(m: &mut M, text: &str) {
    for c in text.chars() {
        m.on_key(&Key::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
}

fn library() -> Vec<LibraryCase> {
    load_library(&root().join("sessions/cases")).expect("library")
}

fn fixed_clock() -> String {
    "2025-03-01 10:00:00".to_string()
}

fn rehearse(dir: &Path, trainee: Option<&str>) -> RehearseApp {
    let store = ProgressStore::open(dir).expect("store");
    let mut app = RehearseApp::new(
        theme(),
        kb(),
        library(),
        Some(store),
        trainee.map(String::from),
    );
    app.clock = fixed_clock;
    app
}

#[test]
fn rehearse_name_cases_attempt_reveal_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = rehearse(dir.path(), None);
    type_text(&mut app, "Ana");
    snap("rehearse_name", &app);
    press(&mut app, &["enter"]);
    app.status.clear();
    let metformin = app
        .library
        .iter()
        .position(|c| c.case.id == "metformin-ckd4")
        .expect("case");
    for _ in 0..metformin {
        press(&mut app, &["down"]);
    }
    snap("rehearse_cases", &app);
    press(
        &mut app,
        &[
            "enter", "4", "right", "space", "right", "right", "space", "tab",
        ],
    );
    type_text(&mut app, "older adult");
    snap("rehearse_attempt", &app);
    press(&mut app, &["enter"]);
    let r = app.reveal.as_ref().expect("revealed");
    assert_eq!(r.attempt.score.found.len(), 1, "renal found");
    assert!(r.attempt.score.decision_ok);
    snap("rehearse_reveal", &app);
    press(&mut app, &["s"]);
    snap("rehearse_summary", &app);
}

#[test]
fn rehearse_models_overlay() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = rehearse(dir.path(), Some("Ana"));
    press(&mut app, &["M"]);
    assert!(app.models.is_some());
    snap("models_overlay", &app);
    press(&mut app, &["j", "x"]);
    assert!(app.models.is_none());
}

#[test]
fn models_overlay_alone() {
    let o = ModelsOverlay::new(Catalogue::bundled().expect("catalogue"));
    let t = theme();
    for (w, h) in SIZES {
        let text = render(|f| o.draw(f, f.area(), &t), w, h);
        assert!(text.contains("SmolLM2-135M"), "{text}");
        assert!(text.contains("Apache-2.0"), "{text}");
    }
}

const ANSWERS: &str = r#"[
 {"case":"metformin-ckd4","condition":"rag-on","rag":true,"backend":"local","model":"smollm2-135m","question":"Should metformin be started?","answer":"Do not start metformin: eGFR is below 30 [metformin-label-renal]."},
 {"case":"metformin-ckd4","condition":"rag-off","rag":false,"backend":"local","model":"smollm2-135m","question":"Should metformin be started?","answer":"Metformin is first-line for type 2 diabetes."},
 {"case":"warfarin-ibuprofen","condition":"rag-on","rag":true,"backend":"local","model":"smollm2-135m","question":"Should ibuprofen be started?","answer":"Avoid ibuprofen with warfarin: bleeding risk [ddi-warfarin-nsaid]."},
 {"case":"warfarin-ibuprofen","condition":"rag-off","rag":false,"backend":"local","model":"smollm2-135m","question":"Should ibuprofen be started?","answer":"Ibuprofen can be used for pain."}
]"#;

pub fn eval_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tmp");
    std::fs::write(d.path().join("answers.json"), ANSWERS).expect("write");
    d
}

#[test]
fn review_blinded_then_unblinded_and_round_trip() {
    let data = tempfile::tempdir().expect("tmp");
    let eval = eval_dir();
    let items = load_items(eval.path()).expect("items");
    let run = "eval-run".to_string();
    let mut app = ReviewApp::new(
        theme(),
        run.clone(),
        items.clone(),
        Some(ReviewStore::open(data.path()).expect("store")),
    );
    app.status.clear();
    snap("review_blank", &app);
    // Score the first answer: 4 5 3 2 4, 1 error, a comment.
    press(
        &mut app,
        &[
            "4", "down", "5", "down", "3", "down", "2", "down", "4", "down", "1", "down",
        ],
    );
    type_text(&mut app, "misses dose");
    app.status.clear();
    let screen = render(|f| app.draw(f), 80, 24);
    assert!(!screen.contains("smollm2"), "blinded: {screen}");
    assert!(!screen.contains("RAG o"), "blinded: {screen}");
    snap("review_scored", &app);
    let first = app.items[0].key.clone();
    press(&mut app, &["enter", "2", "down", "2"]);
    press(&mut app, &["esc"]);
    snap("review_summary", &app);
    drop(app);
    // Saved as entered: a new session on the same store sees the scores.
    let store = ReviewStore::open(data.path()).expect("reopen");
    let saved = store.load_run(&run);
    assert_eq!(
        saved.get(&first),
        Some(&Rubric {
            scores: [Some(4), Some(5), Some(3), Some(2), Some(4)],
            errors: Some(1),
            comment: "misses dose".into(),
        })
    );
    let csv = rxguide::review::csv(&run, &items, &saved);
    assert!(csv.contains(",4,5,3,2,4,1,misses dose\n"), "{csv}");
    let md = rxguide::review::markdown(&rxguide::review::summarise(&items, &saved));
    assert!(md.contains("| 2 | "), "{md}");
}

/// The demo plays into the real app: after the script's first steps the
/// Sources pane is in front and the status bar shows the step.
#[test]
fn demo_replay_in_the_real_app() {
    use rxguide::demo::{Player, Script};
    use rxguide::llm::NoneGenerator;
    use rxguide::tui::app::{App, Env};
    use rxguide::tui::event::{self, WorkerMsg};
    use rxguide::tui::keys::KeyList;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().expect("tmp");
    let (tx, _rx) = event::channel();
    let mut app = App::new(Env {
        keys: KeyList::default(),
        theme: theme(),
        store: None,
        out_dir: dir.path().join("out"),
        tx,
    });
    app.on_worker(WorkerMsg::Kb(Ok(kb()), "kb".into()));
    app.on_worker(WorkerMsg::Backend(
        Ok(Arc::new(NoneGenerator)),
        "no model: flags and sources only".into(),
    ));
    let script = Script::load(&root().join("demos/metformin-ckd4.toml")).expect("demo");
    app.open_case(script.case.as_deref().expect("case"));
    let mut player = Player::new(&script).expect("player");
    let mut now = Instant::now();
    player.start(now);
    // Three keys: j, tab, j.
    for _ in 0..3 {
        now += Duration::from_secs(5);
        let key = player.pop_due(now).expect("due");
        app.handle_key(&key);
    }
    app.status = player.status();
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("demo_step_{w}x{h}"), render(|f| app.draw(f), w, h));
    }
    let text = render(|f| app.draw(f), 80, 24);
    assert!(text.contains("▶ 4/9"), "{text}");
}

/// `M` opens the catalogue over the main app (home and results), and any
/// other key closes it.
#[test]
fn catalogue_overlay_in_the_main_app() {
    use rxguide::tui::app::{App, Env};
    use rxguide::tui::event::{self, WorkerMsg};
    use rxguide::tui::keys::KeyList;
    let dir = tempfile::tempdir().expect("tmp");
    let (tx, _rx) = event::channel();
    let mut app = App::new(Env {
        keys: KeyList::default(),
        theme: theme(),
        store: None,
        out_dir: dir.path().join("out"),
        tx,
    });
    app.on_worker(WorkerMsg::Kb(Ok(kb()), "kb".into()));
    app.model_status = "model: ready".into();
    app.handle_key(&Key::parse("M").expect("key"));
    assert!(app.models.is_some());
    app.handle_key(&Key::parse("j").expect("key"));
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("tui_models_{w}x{h}"), render(|f| app.draw(f), w, h));
    }
    app.handle_key(&Key::parse("esc").expect("key"));
    assert!(app.models.is_none());
    app.open_case(&root().join("sessions/cases/metformin-ckd4.toml"));
    app.handle_key(&Key::parse("M").expect("key"));
    assert!(app.models.is_some(), "opens on the results too");
}
