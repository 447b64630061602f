//! Render time of the TUI results screen at 200x60 (flags, sources and trace
//! panes of the warfarin + ibuprofen case, no model) into ratatui's
//! TestBackend, against a baseline in the same run: the home screen.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rxguide::llm::NoneGenerator;
use rxguide::tui::app::{App, Env};
use rxguide::tui::event::{self, WorkerMsg};
use rxguide::tui::keys::{Key, KeyList};
use rxguide::tui::theme::Theme;

fn app(dir: &std::path::Path) -> App {
    let sources = rxguide::kb::Sources::bundled();
    let (kb, _) = rxguide::kb::store::open_kb(&dir.join("kb"), &sources).expect("kb");
    let (tx, rx) = event::channel();
    std::mem::forget(rx); // keep the worker channel open for the whole bench
    let env = Env {
        keys: KeyList::default(),
        theme: Theme::load(Some("dark"), false).expect("theme"),
        store: None,
        out_dir: dir.join("out"),
        tx,
    };
    let mut app = App::new(env);
    app.on_worker(WorkerMsg::Kb(Ok(Arc::new(kb)), "kb".into()));
    app.on_worker(WorkerMsg::Backend(
        Ok(Arc::new(NoneGenerator)),
        "no model: flags and sources only".into(),
    ));
    app
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut g = c.benchmark_group("render 200x60");

    let home = app(dir.path());
    g.bench_function("baseline: home screen", |b| {
        b.iter(|| term.draw(|f| home.draw(f)).expect("draw").area)
    });

    let mut results = app(dir.path());
    results.open_case(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sessions/cases/warfarin-ibuprofen.toml"),
    );
    assert!(
        results.results.is_some(),
        "the case opens on the results screen"
    );
    g.bench_function("results: flags pane", |b| {
        b.iter(|| term.draw(|f| results.draw(f)).expect("draw").area)
    });
    for pane in ["sources", "trace"] {
        results.handle_key(&Key::parse("tab").expect("key"));
        if pane == "trace" {
            results.handle_key(&Key::parse("tab").expect("key"));
        }
        g.bench_function(format!("results: {pane} pane"), |b| {
            b.iter(|| term.draw(|f| results.draw(f)).expect("draw").area)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
