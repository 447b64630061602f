//! The terminal app (`rxguide`, `rxguide tui [CASE.toml]`).
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`run`]: terminal setup and restore, logging, background workers, the event loop |
//! | [`app`] | state and [`app::App::update`], the one place actions are applied |
//! | [`action`] | the [`action::Action`] enum named by the key map |
//! | [`keys`] | the key map: named fields, defaults in code, `keys.toml` overrides |
//! | [`theme`] | colours by meaning; `themes/*.toml` embedded; `NO_COLOR` |
//! | [`event`] | worker messages merged into the loop |
//! | [`views`] | one struct per screen or pane (home, intake, flags, sources, answer, trace, help) |
//! | [`strings`] | UI text |
//!
//! The first frame is drawn before anything is loaded: the knowledge base
//! opens in `spawn_blocking`, the model loads in the background with
//! progress in the status bar, and flags and sources work before it is
//! ready. The terminal is restored on every exit: a guard's `Drop`, the
//! panic hook installed by `ratatui::init`, and SIGTERM/SIGHUP handled in
//! the loop. Logs go to `<data>/rxguide.log`, never to the screen, and
//! carry no patient data.

pub mod action;
pub mod app;
pub mod demo;
pub mod event;
pub mod keys;
pub mod modes;
pub mod strings;
pub mod theme;
pub mod views;

use crate::cli::Global;
use crate::llm::{BackendConfig, BackendKind, Generator, LocalGenerator};
use app::{App, Env};
use event::{WorkerMsg, WorkerRx, WorkerTx};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `rxguide tui`.
#[derive(Debug, Clone, Default)]
pub struct TuiOptions {
    pub global: Global,
    pub case: Option<PathBuf>,
    pub theme: Option<String>,
    pub backend: BackendConfig,
    /// Export directory (default `<data>/sessions`).
    pub out: Option<PathBuf>,
    /// A demo script to play into the app (`rxguide demo`).
    pub demo: Option<crate::tui::demo::Player>,
    /// Record the keystrokes into this demo script (`--record`).
    pub record: Option<PathBuf>,
}

/// Restores the terminal when dropped, whatever the exit path.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The config dir (`$XDG_CONFIG_HOME/rxguide`), for `keys.toml`.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("RXGUIDE_CONFIG")
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "rxguide").map(|d| d.config_dir().to_path_buf())
        })
}

/// Whether an event may reach the log file: rxguide's own events at any
/// level `RXGUIDE_LOG` asks for, other crates' (the model runtime, HTTP)
/// at info and above only. Their debug and trace events can carry the
/// whole prompt, and with it the patient; rxguide's own never do.
fn loggable(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("rxguide") || *meta.level() <= tracing::Level::INFO
}

/// The log file, created readable by the user only (it names sessions and
/// backends, never a patient's data, but lives beside the sessions).
fn open_log(data_dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(data_dir.join("rxguide.log"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

fn init_logging(data_dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    std::fs::create_dir_all(data_dir).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(open_log(data_dir).ok()?);
    let filter = tracing_subscriber::EnvFilter::try_from_env("RXGUIDE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter)
        .with_filter(tracing_subscriber::filter::filter_fn(loggable));
    tracing_subscriber::registry().with(layer).try_init().ok()?;
    Some(guard)
}

/// Runs the app until the user quits. Returns the exit status.
pub fn run(opts: TuiOptions) -> anyhow::Result<i32> {
    let data_dir = opts.global.data_dir();
    let _log = init_logging(&data_dir);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = theme::Theme::load(opts.theme.as_deref(), no_color)?;
    let keys = match config_dir() {
        Some(dir) => keys::KeyList::load(&dir.join("keys.toml"))?,
        None => keys::KeyList::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (tx, rx) = event::channel();
        let (store, store_err) = match crate::session::SessionStore::open(&data_dir) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let env = Env {
            keys,
            theme,
            store,
            out_dir: opts
                .out
                .clone()
                .unwrap_or_else(|| data_dir.join("sessions")),
            tx: tx.clone(),
        };
        let mut app = App::new(env);
        if let Some(e) = store_err {
            app.status = format!("sessions will NOT be saved: {e}");
        }
        tracing::info!("rxguide tui started");
        let terminal = ratatui::init();
        let guard = TerminalGuard;
        spawn_workers(&opts, tx);
        if let Some(case) = &opts.case {
            app.open_case(case);
        }
        let recorder = opts.record.clone().map(|p| {
            crate::tui::demo::Recorder::new(p, opts.case.clone(), opts.backend.kind.as_str())
        });
        let result = run_loop(terminal, &mut app, rx, opts.demo.clone(), recorder).await;
        drop(guard);
        tracing::info!("rxguide tui stopped");
        result.map(|()| 0)
    })
}

fn spawn_workers(opts: &TuiOptions, tx: WorkerTx) {
    let global = opts.global.clone();
    let kb_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let msg = match global.open_kb() {
            Ok((kb, info)) => WorkerMsg::Kb(
                Ok(Arc::new(kb)),
                format!(
                    "knowledge base {} open in {:.0} ms (rebuilt: {})",
                    info.source_label,
                    info.elapsed.as_secs_f64() * 1000.0,
                    info.rebuilt
                ),
            ),
            Err(e) => WorkerMsg::Kb(Err(format!("{e:#}")), String::new()),
        };
        let _ = kb_tx.send(msg);
    });
    let config = opts.backend.clone();
    tokio::spawn(async move {
        match config.kind {
            BackendKind::None => {
                let g: Arc<dyn Generator> = Arc::new(crate::llm::NoneGenerator);
                let _ = tx.send(WorkerMsg::Backend(Ok(g), strings::NO_MODEL.into()));
            }
            BackendKind::Local => {
                let path = config
                    .model_path
                    .clone()
                    .unwrap_or_else(crate::llm::default_model_path);
                let built = tokio::task::spawn_blocking(move || LocalGenerator::new(path)).await;
                let local = match built {
                    Ok(Ok(g)) => Arc::new(g),
                    Ok(Err(e)) => {
                        let first = e.to_string().lines().next().unwrap_or_default().to_string();
                        let _ = tx.send(WorkerMsg::Backend(Err(e.to_string()), first));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(WorkerMsg::Backend(
                            Err(e.to_string()),
                            "loader crashed".into(),
                        ));
                        return;
                    }
                };
                let name = local.model();
                if let Err(e) = local.preload() {
                    let _ = tx.send(WorkerMsg::Backend(Err(e.to_string()), "cannot load".into()));
                    return;
                }
                let g: Arc<dyn Generator> = local.clone();
                if tx
                    .send(WorkerMsg::Backend(Ok(g), format!("model: loading {name}…")))
                    .is_err()
                {
                    return;
                }
                let start = Instant::now();
                while !local.is_loaded() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let text = format!(
                        "model: loading {name}… {:.0} s",
                        start.elapsed().as_secs_f64()
                    );
                    if tx.send(WorkerMsg::Model(text)).is_err()
                        || start.elapsed() > Duration::from_secs(900)
                    {
                        return;
                    }
                }
                let _ = tx.send(WorkerMsg::Model(format!("model: {name} ready")));
            }
            BackendKind::OpenAi => {
                let g = match crate::llm::make_generator(&config) {
                    Ok(g) => g,
                    Err(e) => {
                        let _ = tx.send(WorkerMsg::Backend(
                            Err(e.to_string()),
                            "bad openai config".into(),
                        ));
                        return;
                    }
                };
                match g.health_check().await {
                    Ok(text) => {
                        let _ = tx.send(WorkerMsg::Backend(Ok(g), format!("model: {}", text)));
                    }
                    Err(e) => {
                        let _ = tx.send(WorkerMsg::Backend(
                            Err(e.to_string()),
                            "server unreachable".into(),
                        ));
                    }
                }
            }
        }
    });
}

/// The loop: draw, then wait for a key, a tick, a worker message or a
/// termination signal.
async fn run_loop(
    mut terminal: ratatui::DefaultTerminal,
    app: &mut App,
    mut rx: WorkerRx,
    mut demo: Option<crate::tui::demo::Player>,
    mut recorder: Option<crate::tui::demo::Recorder>,
) -> anyhow::Result<()> {
    let result = run_events(&mut terminal, app, &mut rx, &mut demo, &mut recorder).await;
    if let Some(r) = &recorder {
        if let Err(e) = r.save() {
            tracing::error!("recording not saved: {e}");
        }
    }
    result
}

/// The loop proper; a demo player's keys arrive on its own timer.
async fn run_events(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &mut WorkerRx,
    demo: &mut Option<crate::tui::demo::Player>,
    recorder: &mut Option<crate::tui::demo::Recorder>,
) -> anyhow::Result<()> {
    let mut events = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    #[cfg(unix)]
    let (mut term, mut hup) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        )
    };
    loop {
        // A demo's clock starts when the knowledge base is ready, so its
        // keys meet a ready app and its first pause is seen in full.
        if let Some(d) = demo.as_mut().filter(|d| !d.started() && app.kb.is_some()) {
            d.start(Instant::now());
            app.status = d.status();
        }
        terminal.draw(|f| app.draw(f))?;
        if app.quit {
            return Ok(());
        }
        #[cfg(unix)]
        let signalled = async {
            tokio::select! {
                _ = term.recv() => {},
                _ = hup.recv() => {},
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let deadline = demo
            .as_ref()
            .and_then(crate::tui::demo::Player::next_deadline);
        let demo_due = async move {
            match deadline {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) => {
                    let press = k.kind == crossterm::event::KeyEventKind::Press;
                    let key = keys::Key::from_event(&k);
                    if let (true, Some(r)) = (press, recorder.as_mut()) {
                        r.record(&key, Instant::now());
                    }
                    let used = press
                        && demo
                            .as_mut()
                            .is_some_and(|d| d.on_user_key(&key, Instant::now()));
                    match demo.as_ref() {
                        Some(d) if used => app.status = d.status(),
                        _ => app.on_key(k),
                    }
                    if let (true, Some(r)) = (app.quit, recorder.as_mut()) {
                        r.forget_last();
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => app.on_worker(msg),
            _ = tick.tick() => {}
            () = demo_due => {
                if let Some(d) = demo.as_mut() {
                    while let Some(key) = d.pop_due(Instant::now()) {
                        app.handle_key(&key);
                    }
                    app.status = d.status();
                }
            }
            () = signalled => {
                tracing::info!("terminated by signal");
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    /// Issue 19, finding 7: with `RXGUIDE_LOG=trace` the model runtime
    /// wrote the whole prompt (the patient) to a 0644 log. Other crates'
    /// debug and trace events are now dropped, and the file is 0600.
    #[test]
    fn the_log_holds_no_prompt_and_is_private() {
        use tracing::callsite::Identifier;
        use tracing::field::FieldSet;
        use tracing::metadata::Kind;
        struct Cs;
        impl tracing::callsite::Callsite for Cs {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!()
            }
        }
        static CS: Cs = Cs;
        let meta = |target: &'static str, level| {
            tracing::Metadata::new(
                "e",
                target,
                level,
                None,
                None,
                None,
                FieldSet::new(&[], Identifier(&CS)),
                Kind::EVENT,
            )
        };
        assert!(!loggable(&meta(
            "mistralrs_core::engine",
            tracing::Level::TRACE
        )));
        assert!(!loggable(&meta(
            "mistralrs_core::engine",
            tracing::Level::DEBUG
        )));
        assert!(!loggable(&meta("hyper::proto", tracing::Level::DEBUG)));
        assert!(loggable(&meta(
            "mistralrs_core::engine",
            tracing::Level::INFO
        )));
        assert!(loggable(&meta("rxguide::tui::app", tracing::Level::TRACE)));
        let dir = tempfile::tempdir().expect("tempdir");
        drop(open_log(dir.path()).expect("log"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("rxguide.log"))
                .expect("log exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
