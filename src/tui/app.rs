//! App state and the one place that applies [`Action`]s ([`App::update`])
//! and worker results ([`App::on_worker`]). Views own their display state;
//! the app owns the session, the knowledge base, the backend and the
//! assessment, and forwards keys to the view in front.
//!
//! The app never computes clinical facts: it validates the draft, calls
//! [`crate::pipeline::assess`], and shows what comes back.

use super::action::Action;
use super::event::{WorkerMsg, WorkerTx};
use super::keys::{Context, Key, KeyList};
use super::strings;
use super::theme::Theme;
use super::views::answer::{AnswerView, Arm, ArmState};
use super::views::flags::FlagsView;
use super::views::home::{Entry, HomeView};
use super::views::intake::IntakeView;
use super::views::sources::SourcesView;
use super::views::trace::TraceView;
use super::views::{help, truncate, Ctx, EventState, View};
use crate::kb::Kb;
use crate::llm::{FinishReason, GenEvent, Generator};
use crate::pipeline::{self, Assessment};
use crate::session::export::{self, AnswerNote};
use crate::session::{Draft, Session, SessionStore, Stage};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Home,
    Intake,
    Results,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Flags,
    Sources,
    Answer,
    Trace,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::Flags, Pane::Sources, Pane::Answer, Pane::Trace];

    fn title(self) -> &'static str {
        match self {
            Pane::Flags => "Flags",
            Pane::Sources => "Sources",
            Pane::Answer => "Answer",
            Pane::Trace => "Trace",
        }
    }
}

/// Everything the app is given from outside.
pub struct Env {
    pub keys: KeyList,
    pub theme: Theme,
    pub store: Option<SessionStore>,
    /// Where exports go.
    pub out_dir: PathBuf,
    pub tx: WorkerTx,
}

/// The results of one check.
pub struct Results {
    pub assessment: Assessment,
    /// The pharmacist's note for the assessment, written once: the Answer
    /// pane shows it and every answer job is given it.
    pub note: crate::note::Note,
    pub focus: Pane,
    pub flags: FlagsView,
    pub sources: SourcesView,
    pub answer: AnswerView,
    pub trace: TraceView,
    cancels: Vec<CancellationToken>,
    extra_trace: Vec<(String, String)>,
}

pub struct App {
    pub env: Env,
    pub screen: Screen,
    pub kb: Option<Arc<Kb>>,
    pub kb_status: String,
    generator: Option<Arc<dyn Generator>>,
    pub model_status: String,
    /// The backend failed or is `none`: say so instead of waiting.
    model_unavailable: bool,
    pub session: Session,
    pub home: HomeView,
    pub intake: IntakeView,
    pub results: Option<Results>,
    pub help: bool,
    /// The open-model catalogue overlay (`M` on home and results).
    pub models: Option<crate::tui::modes::ModelsOverlay>,
    pub status: String,
    pub quit: bool,
    pending_check: bool,
    next_id: u64,
}

/// True when the terminal is big enough for the four panes at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 110 && area.height >= 30
}

impl App {
    pub fn new(env: Env) -> App {
        let mut app = App {
            env,
            screen: Screen::Home,
            kb: None,
            kb_status: strings::KB_LOADING.to_string(),
            generator: None,
            model_status: "model: starting…".into(),
            model_unavailable: false,
            session: Session::fresh(),
            home: HomeView::default(),
            intake: IntakeView::default(),
            results: None,
            help: false,
            models: None,
            status: String::new(),
            quit: false,
            pending_check: false,
            next_id: 0,
        };
        app.refresh_home();
        app
    }

    fn ctx(&self, focused: bool) -> Ctx<'_> {
        Ctx {
            theme: &self.env.theme,
            keys: &self.env.keys,
            kb: self.kb.as_deref(),
            focused,
        }
    }

    // ----- sessions -------------------------------------------------------

    pub fn refresh_home(&mut self) {
        let list = self
            .env
            .store
            .as_ref()
            .map(|s| s.list().iter().map(Entry::of).collect())
            .unwrap_or_default();
        self.home.set_sessions(list);
    }

    /// Saves the session now (and flushes): called on every edit.
    fn save(&mut self) {
        self.session.draft = self.intake.draft.clone();
        self.session.step = self.intake.step;
        self.session.field = self.intake.field;
        self.session.touch();
        if let Some(store) = &self.env.store {
            if let Err(e) = store.save(&self.session) {
                tracing::error!("session save failed: {e}");
                self.status = format!("NOT SAVED: {e}");
            }
        }
    }

    fn start_session(&mut self, session: Session) {
        self.cancel_generation();
        self.results = None;
        self.intake = IntakeView::new(session.draft.clone(), session.step, session.field);
        self.intake.names = self.picker_names();
        let stage = session.stage;
        self.session = session;
        self.screen = Screen::Intake;
        self.save();
        if stage == Stage::Results {
            self.update(Action::Check);
        }
    }

    pub fn new_session(&mut self) {
        self.start_session(Session::fresh());
        self.status = "New session: every edit is saved as you type.".into();
    }

    pub fn resume(&mut self, id: &str) {
        let loaded = self.env.store.as_ref().map(|s| s.load(id));
        match loaded {
            Some(Ok(Some(s))) => {
                tracing::info!("session resumed");
                self.start_session(s);
                self.status = "Session resumed.".into();
            }
            Some(Err(e)) => self.status = format!("cannot resume: {e}"),
            _ => self.status = "session not found".into(),
        }
    }

    /// Opens a case file into a new session and checks it.
    pub fn open_case(&mut self, path: &std::path::Path) {
        // A TOML case file or a FHIR R4 bundle (told apart by content).
        let (file, imported) =
            match crate::load::load_case_file_any(path, &crate::load::LoadOptions::default()) {
                Ok(f) => f,
                Err(e) => {
                    self.status = e.to_string();
                    return;
                }
            };
        let mut draft = Draft::from_case_file(&file);
        if draft.id.is_none() {
            draft.id = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        let mut session = Session::fresh();
        session.draft = draft;
        self.start_session(session);
        self.status = match imported.not_imported.len() {
            0 => format!("Opened {}.", path.display()),
            n => format!(
                "Opened {}; {n} item(s) not imported: {}",
                path.display(),
                imported.not_imported.join("; ")
            ),
        };
        self.update(Action::Check);
    }

    fn picker_names(&self) -> Vec<(String, String)> {
        self.kb
            .as_ref()
            .map(|kb| {
                kb.picker_names()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    // ----- workers --------------------------------------------------------

    pub fn on_worker(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::Kb(Ok(kb), info) => {
                tracing::info!("{info}");
                self.kb = Some(kb);
                self.kb_status = "kb ready".into();
                self.intake.names = self.picker_names();
                if self.pending_check {
                    self.pending_check = false;
                    self.update(Action::Check);
                }
            }
            WorkerMsg::Kb(Err(e), _) => {
                tracing::error!("knowledge base: {e}");
                self.kb_status = "kb FAILED".into();
                self.status = format!("knowledge base: {e}");
            }
            WorkerMsg::Backend(Ok(g), text) => {
                self.model_unavailable = g.name() == "none";
                self.generator = Some(g);
                self.model_status = text;
                let idle = self.results.as_ref().is_some_and(|r| {
                    matches!(r.answer.rag.state, ArmState::Idle | ArmState::NoModel(_))
                });
                if idle {
                    self.start_generation(true);
                }
            }
            WorkerMsg::Backend(Err(e), text) => {
                tracing::warn!("backend unavailable: {e}");
                self.model_unavailable = true;
                self.model_status = format!("no model: {text}");
                self.status = format!("no model: {e}");
                if let Some(r) = &mut self.results {
                    for arm in [&mut r.answer.rag, &mut r.answer.baseline] {
                        if matches!(arm.state, ArmState::Idle) {
                            arm.state = ArmState::NoModel(self.model_status.clone());
                        }
                    }
                }
            }
            WorkerMsg::Model(text) => self.model_status = text,
            WorkerMsg::Gen { id, event } => self.on_gen(id, event),
        }
    }

    fn on_gen(&mut self, id: u64, event: GenEvent) {
        let Some(r) = &mut self.results else { return };
        let arm = if r.answer.rag.id == id {
            &mut r.answer.rag
        } else if r.answer.baseline.id == id {
            &mut r.answer.baseline
        } else {
            return; // a late event of an older request
        };
        match event {
            GenEvent::Loading(m) => arm.state = ArmState::Loading(m),
            GenEvent::Token(t) => {
                arm.state = ArmState::Streaming;
                arm.text.push_str(&t);
                arm.check = Some(arm.checker.check(&arm.text));
            }
            GenEvent::Done(stats) => {
                if stats.finish == FinishReason::Repetition {
                    // The answer job stopped on a repeated sentence: cut the
                    // streamed copy the way the job cut its own.
                    arm.text =
                        crate::llm::repeat::cut_repeat(&format!("{} ", arm.text)).to_string();
                }
                arm.check = Some(arm.checker.check(&arm.text));
                let label = arm.label();
                r.extra_trace.push((
                    "model".into(),
                    format!(
                        "{label}: {} {} — load {} ms, first token {} ms, {} tokens, {} tok/s, total {:.0} ms, finish {}",
                        stats.backend,
                        stats.model,
                        stats.load_ms.map_or("-".into(), |v| format!("{v:.0}")),
                        stats.first_token_ms.map_or("-".into(), |v| format!("{v:.0}")),
                        stats.completion_tokens,
                        stats.decode_tokens_per_s.map_or("-".into(), |v| format!("{v:.1}")),
                        stats.total_ms,
                        stats.finish
                    ),
                ));
                if let Some(c) = &arm.check {
                    let s = &c.summary;
                    r.extra_trace.push((
                        "check".into(),
                        format!(
                            "{label}: {} sentence(s), {} supported, {} uncited, {} unknown source, {} conflict(s)",
                            s.sentences, s.supported, s.uncited, s.wrong_citation, s.conflicts
                        ),
                    ));
                }
                tracing::info!(
                    "generation done: {} tokens, finish {}",
                    stats.completion_tokens,
                    stats.finish
                );
                arm.state = match stats.finish {
                    FinishReason::NoModel => ArmState::NoModel(strings::NO_MODEL.into()),
                    FinishReason::Cancelled => ArmState::Stopped,
                    _ => ArmState::Done(stats),
                };
            }
            GenEvent::Error(e) => {
                tracing::warn!("generation failed: {e}");
                r.extra_trace.push(("model".into(), format!("error: {e}")));
                arm.state = ArmState::Failed(e);
            }
        }
        self.sync();
    }

    // ----- generation -----------------------------------------------------

    fn cancel_generation(&mut self) {
        if let Some(r) = &mut self.results {
            for c in r.cancels.drain(..) {
                c.cancel();
            }
        }
    }

    /// Starts (or restarts) the answer with (`rag`) or without sources.
    fn start_generation(&mut self, rag: bool) {
        let (Some(r), Some(kb)) = (&mut self.results, &self.kb) else {
            return;
        };
        self.next_id += 1;
        let id = self.next_id;
        let job = crate::answer::AnswerJob::new(
            &r.assessment,
            kb,
            &r.note,
            crate::answer::Ask::default_for(rag),
        );
        let built = &job.prompt;
        r.extra_trace.push((
            "prompt".into(),
            format!(
                "RAG {}: {} message(s), ~{} tokens, {} passage(s) [{}], {} shortened",
                if rag { "on" } else { "off" },
                built.messages.len(),
                built.estimated_tokens,
                built.passage_ids.len(),
                built.passage_ids.join(", "),
                built.truncated_passages
            ),
        ));
        let arm = if rag {
            &mut r.answer.rag
        } else {
            &mut r.answer.baseline
        };
        *arm = Arm {
            rag,
            id,
            checker: job.checker.clone(),
            ..Arm::default()
        };
        let Some(generator) = self.generator.clone() else {
            arm.state = if self.model_unavailable {
                ArmState::NoModel(self.model_status.clone())
            } else {
                ArmState::Idle
            };
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            arm.state = ArmState::Failed("no async runtime".into());
            return;
        };
        arm.state = ArmState::Loading("asking the model…".into());
        let cancel = CancellationToken::new();
        r.cancels.push(cancel.clone());
        let tx = self.env.tx.clone();
        handle.spawn(async move {
            // Every event goes to the app as it happens; the job's own
            // result (the same text, checked by the same checker) is not
            // needed here.
            let _ = job
                .run(generator.as_ref(), cancel, |event| {
                    let _ = tx.send(WorkerMsg::Gen {
                        id,
                        event: event.clone(),
                    });
                })
                .await;
        });
    }

    // ----- checking -------------------------------------------------------

    fn run_check(&mut self) {
        let case = match self.intake.draft.validate(&self.session.id) {
            Ok(case) => case,
            Err(errors) => {
                self.intake.attempted = true;
                self.intake.focus_first_error();
                self.screen = Screen::Intake;
                self.status = match errors.first() {
                    Some(e) => format!("{} problem(s); first: {}", errors.len(), e),
                    None => "the intake has problems".into(),
                };
                return;
            }
        };
        let Some(kb) = self.kb.clone() else {
            self.pending_check = true;
            self.status = "Waiting for the knowledge base…".into();
            return;
        };
        self.cancel_generation();
        let assessment = pipeline::assess(&kb, &case);
        let note = crate::note::write(&kb, &assessment);
        tracing::info!(
            "assessed: {} flag(s), {} not checked",
            assessment.flags.len(),
            assessment.not_checked.len()
        );
        let mut results = Results {
            flags: FlagsView::new(
                &assessment.flags,
                &assessment.not_checked,
                !case.proposed.is_empty(),
            ),
            sources: SourcesView::default(),
            answer: AnswerView::with_note(note.lines()),
            note,
            trace: TraceView::default(),
            assessment,
            focus: Pane::Flags,
            cancels: Vec::new(),
            extra_trace: Vec::new(),
        };
        let compare = self.results.as_ref().is_some_and(|r| r.answer.compare);
        results.answer.compare = compare;
        self.results = Some(results);
        self.screen = Screen::Results;
        self.session.stage = Stage::Results;
        self.save();
        let n = self
            .results
            .as_ref()
            .map_or(0, |r| r.assessment.flags.len());
        self.status = format!("{n} flag(s). Tab moves between panes.");
        self.start_generation(true);
        if compare {
            self.start_generation(false);
        }
        self.sync();
    }

    /// Brings the Sources and Trace panes in line with the selection.
    fn sync(&mut self) {
        let Some(r) = &mut self.results else { return };
        let from_answer = r.focus == Pane::Answer && r.answer.sentence_count() > 0;
        if let (true, Some((i, ids))) = (from_answer, r.answer.selected_citations()) {
            r.sources
                .show(format!("Cited by answer sentence {}", i + 1), ids);
        } else if let Some(f) = r.flags.selected_flag() {
            r.sources.show(
                format!(
                    "Behind flag {}: {} {} {}",
                    r.flags.selected + 1,
                    f.severity,
                    f.kind,
                    f.drugs.join(" + ")
                ),
                f.sources.clone(),
            );
        } else {
            r.sources.show(
                "Retrieved passages (no flag)".into(),
                r.assessment.passages.iter().map(|p| p.id.clone()).collect(),
            );
        }
        let mut lines: Vec<(String, String)> = r
            .assessment
            .trace
            .steps
            .iter()
            .map(|s| (s.stage.as_str().to_string(), s.text.clone()))
            .collect();
        lines.extend(r.extra_trace.iter().cloned());
        r.trace.lines = lines;
    }

    fn export(&mut self) {
        let (Some(r), Some(kb)) = (&self.results, &self.kb) else {
            self.status = "Check the intake first (ctrl-g), then export.".into();
            return;
        };
        let mut answers = vec![note(&r.answer.rag)];
        if r.answer.compare || !r.answer.baseline.text.is_empty() {
            answers.push(note(&r.answer.baseline));
        }
        let extra: Vec<String> = r
            .extra_trace
            .iter()
            .map(|(s, t)| format!("{s:>9}  {t}"))
            .collect();
        let md = export::markdown(&r.assessment, kb, &answers, &extra);
        match export::export(&self.env.out_dir, &self.session.id, &md, &r.assessment.case) {
            Ok((md, toml)) => {
                tracing::info!("exported a note");
                self.status = format!(
                    "Exported {} and {}",
                    md.display(),
                    toml.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default()
                );
            }
            Err(e) => self.status = format!("export failed: {e}"),
        }
    }

    // ----- keys and actions -----------------------------------------------

    pub fn on_key(&mut self, event: KeyEvent) {
        if event.kind != crossterm::event::KeyEventKind::Press {
            return;
        }
        let key = Key::from_event(&event);
        self.handle_key(&key);
    }

    pub fn handle_key(&mut self, key: &Key) {
        if self.help {
            self.help = false;
            return;
        }
        if let Some(m) = &mut self.models {
            if !m.on_key(key) {
                self.models = None;
            }
            return;
        }
        if self.env.keys.force_quit.matches(key) {
            self.update(Action::ForceQuit);
            return;
        }
        let state = match self.screen {
            Screen::Home => {
                let ctx = Ctx {
                    theme: &self.env.theme,
                    keys: &self.env.keys,
                    kb: self.kb.as_deref(),
                    focused: true,
                };
                self.home.handle_key(key, &ctx)
            }
            Screen::Intake => {
                let ctx = Ctx {
                    theme: &self.env.theme,
                    keys: &self.env.keys,
                    kb: self.kb.as_deref(),
                    focused: true,
                };
                let st = self.intake.handle_key(key, &ctx);
                if std::mem::take(&mut self.intake.dirty) {
                    self.save();
                }
                st
            }
            Screen::Results => self.results_key(key),
        };
        let action = match state {
            EventState {
                consumed: true,
                action,
            } => action,
            _ => self
                .env
                .keys
                .action(Context::Global, key)
                .or_else(|| self.models_key(key)),
        };
        if let Some(a) = action {
            self.update(a);
        }
    }

    /// `M` where the catalogue may open (not while typing in the intake).
    fn models_key(&self, key: &Key) -> Option<Action> {
        let ctx = match self.screen {
            Screen::Home => Context::Home,
            Screen::Results => Context::Results,
            Screen::Intake => return None,
        };
        self.env
            .keys
            .action(ctx, key)
            .filter(|a| *a == Action::Models)
    }

    fn results_key(&mut self, key: &Key) -> EventState {
        let keys = &self.env.keys;
        let action = keys.action(Context::Results, key);
        let running = self.results.as_ref().is_some_and(|r| r.answer.is_running());
        // esc: stop a running generation, else back to the intake.
        if keys.stop.matches(key) {
            return EventState::action(if running {
                Action::StopGeneration
            } else {
                Action::EditIntake
            });
        }
        if let Some(
            a @ (Action::NextPane
            | Action::PrevPane
            | Action::ToggleRag
            | Action::Regenerate
            | Action::Export
            | Action::EditIntake
            | Action::Quit
            | Action::Help),
        ) = action
        {
            return EventState::action(a);
        }
        let ctx = Ctx {
            theme: &self.env.theme,
            keys: &self.env.keys,
            kb: self.kb.as_deref(),
            focused: true,
        };
        let Some(r) = &mut self.results else {
            return EventState::NOT_CONSUMED;
        };
        let st = match r.focus {
            Pane::Flags => r.flags.handle_key(key, &ctx),
            Pane::Sources => r.sources.handle_key(key, &ctx),
            Pane::Answer => r.answer.handle_key(key, &ctx),
            Pane::Trace => r.trace.handle_key(key, &ctx),
        };
        if st.consumed {
            self.sync();
            return st;
        }
        match action {
            Some(Action::Select) => EventState::action(Action::Select),
            _ => EventState::NOT_CONSUMED,
        }
    }

    /// Applies one action.
    pub fn update(&mut self, action: Action) {
        match (self.screen, action) {
            (_, Action::ForceQuit | Action::Quit) => self.quit = true,
            (_, Action::Help) => self.help = true,
            (_, Action::Models) => match crate::catalogue::Catalogue::bundled() {
                Ok(c) => self.models = Some(crate::tui::modes::ModelsOverlay::new(c)),
                Err(e) => self.status = e.to_string(),
            },
            (Screen::Home, Action::NewSession) => self.new_session(),
            (Screen::Home, Action::Select) => match self.home.selected_id() {
                Some(id) => self.resume(&id),
                None => self.new_session(),
            },
            (Screen::Home, Action::OpenCase) => {
                if let Some(p) = self.home.open_path.take() {
                    self.open_case(&PathBuf::from(p));
                }
            }
            (_, Action::Check) => self.run_check(),
            (Screen::Intake, Action::Back) => {
                self.save();
                self.refresh_home();
                self.screen = Screen::Home;
                self.status = "Session saved.".into();
            }
            (Screen::Results, Action::StopGeneration) => {
                self.cancel_generation();
                self.status = "Generation stopped.".into();
            }
            (Screen::Results, Action::EditIntake | Action::Back) => {
                self.cancel_generation();
                self.session.stage = Stage::Intake;
                self.screen = Screen::Intake;
                self.save();
            }
            (Screen::Results, Action::NextPane | Action::PrevPane) => {
                if let Some(r) = &mut self.results {
                    let i = Pane::ALL.iter().position(|p| *p == r.focus).unwrap_or(0);
                    let d = if action == Action::NextPane { 1 } else { 3 };
                    r.focus = Pane::ALL[(i + d) % 4];
                }
                self.sync();
            }
            (Screen::Results, Action::Select) => {
                if let Some(r) = &mut self.results {
                    if r.focus == Pane::Flags || r.focus == Pane::Answer {
                        r.focus = Pane::Sources;
                    }
                }
            }
            (Screen::Results, Action::ToggleRag) => {
                let start = match &mut self.results {
                    Some(r) => {
                        r.answer.compare = !r.answer.compare;
                        r.answer.compare && r.answer.baseline.id == 0
                    }
                    None => false,
                };
                if start {
                    self.start_generation(false);
                }
                self.status = if self.results.as_ref().is_some_and(|r| r.answer.compare) {
                    "RAG on | RAG off, side by side.".into()
                } else {
                    "RAG on.".into()
                };
            }
            (Screen::Results, Action::Regenerate) => {
                self.cancel_generation();
                self.start_generation(true);
                if self.results.as_ref().is_some_and(|r| r.answer.compare) {
                    self.start_generation(false);
                }
            }
            (Screen::Results, Action::Export) => self.export(),
            _ => {}
        }
    }

    // ----- drawing --------------------------------------------------------

    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let t = &self.env.theme;
        frame.render_widget(Block::new().style(t.base()), area);
        let [header, body, status, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.draw_header(frame, header);
        match self.screen {
            Screen::Home => self.home.draw(frame, body, &self.ctx(true)),
            Screen::Intake => self.draw_intake(frame, body),
            Screen::Results => self.draw_results(frame, body),
        }
        if let Some(m) = &self.models {
            m.draw(frame, body, &self.env.theme);
        }
        self.draw_status(frame, status);
        self.draw_hints(frame, hints);
        if self.help {
            help::draw(frame, area, &self.ctx(true));
        }
    }

    fn draw_header(&self, frame: &mut Frame, area: Rect) {
        let t = &self.env.theme;
        let what = match self.screen {
            Screen::Home => "home".to_string(),
            Screen::Intake => format!("intake · {}", self.intake.draft.summary()),
            Screen::Results => {
                let r = self.results.as_ref();
                let summary = r
                    .map(|r| r.assessment.case.patient_summary())
                    .unwrap_or_default();
                let rag = if r.is_some_and(|r| r.answer.compare) {
                    "RAG on|off"
                } else {
                    "RAG on"
                };
                format!("{summary} · {rag}")
            }
        };
        let w = usize::from(area.width);
        let line = Line::from(vec![
            Span::styled(format!(" {} ", strings::APP), t.accent()),
            Span::styled(truncate(&what, w.saturating_sub(9)), t.text()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
    }

    fn draw_intake(&self, frame: &mut Frame, area: Rect) {
        let t = &self.env.theme;
        let [steps, form] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
        let short = [
            "Patient",
            "Labs",
            "Allergies",
            "Conditions",
            "Medicines",
            "Proposed",
        ];
        let mut spans = vec![Span::raw(" ")];
        for (i, s) in short.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" › ", t.muted()));
            }
            let style = if i == self.intake.step {
                t.selected()
            } else {
                t.muted()
            };
            spans.push(Span::styled(format!("{} {s}", i + 1), style));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), steps);
        self.intake.draw(frame, form, &self.ctx(true));
    }

    fn draw_results(&self, frame: &mut Frame, area: Rect) {
        let Some(r) = &self.results else { return };
        let t = &self.env.theme;
        let draw_pane = |frame: &mut Frame, p: Pane, area: Rect| {
            let ctx = self.ctx(r.focus == p);
            match p {
                Pane::Flags => r.flags.draw(frame, area, &ctx),
                Pane::Sources => r.sources.draw(frame, area, &ctx),
                Pane::Answer => r.answer.draw(frame, area, &ctx),
                Pane::Trace => r.trace.draw(frame, area, &ctx),
            }
        };
        if is_wide(frame.area()) {
            let [top, bottom] =
                Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(area);
            let [tl, tr] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(top);
            let [bl, br] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(bottom);
            draw_pane(frame, Pane::Flags, tl);
            draw_pane(frame, Pane::Answer, tr);
            draw_pane(frame, Pane::Sources, bl);
            draw_pane(frame, Pane::Trace, br);
        } else {
            let [tabs, pane] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
            let mut spans = vec![Span::raw(" ")];
            for (i, p) in Pane::ALL.iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" │ ", t.muted()));
                }
                let label = match p {
                    Pane::Flags => format!("Flags ({})", r.flags.flags.len()),
                    Pane::Sources => format!("Sources ({})", r.sources.ids.len()),
                    Pane::Answer if r.answer.is_running() => "Answer …".to_string(),
                    p => p.title().to_string(),
                };
                let style = if *p == r.focus {
                    t.selected()
                } else {
                    t.muted()
                };
                spans.push(Span::styled(label, style));
            }
            frame.render_widget(Paragraph::new(Line::from(spans)), tabs);
            draw_pane(frame, r.focus, pane);
        }
    }

    fn draw_status(&self, frame: &mut Frame, area: Rect) {
        let t = &self.env.theme;
        let w = usize::from(area.width);
        let right = format!(" {} · {} ", self.kb_status, self.model_status);
        let right = truncate(&right, w * 3 / 5);
        let left_w = w.saturating_sub(unicode_width::UnicodeWidthStr::width(right.as_str()));
        let left = truncate(&format!(" {}", self.status), left_w);
        let line = Line::from(vec![
            Span::styled(format!("{left:<left_w$}"), t.status()),
            Span::styled(right, t.status()),
        ]);
        frame.render_widget(Paragraph::new(line), area);
    }

    /// The actions the hint bar shows for the screen in front.
    pub fn hints(&self) -> (Context, Vec<Action>) {
        match self.screen {
            Screen::Home => (Context::Home, self.home.hints()),
            Screen::Intake => (Context::Intake, self.intake.hints()),
            Screen::Results => {
                let mut v = vec![Action::NextPane];
                if let Some(r) = &self.results {
                    let pane = match r.focus {
                        Pane::Flags => r.flags.hints(),
                        Pane::Sources => r.sources.hints(),
                        Pane::Answer => r.answer.hints(),
                        Pane::Trace => r.trace.hints(),
                    };
                    v.extend(pane);
                    if r.answer.is_running() {
                        v.push(Action::StopGeneration);
                    }
                }
                for a in [
                    Action::ToggleRag,
                    Action::Regenerate,
                    Action::Export,
                    Action::EditIntake,
                    Action::Quit,
                ] {
                    if !v.contains(&a) {
                        v.push(a);
                    }
                }
                (Context::Results, v)
            }
        }
    }

    fn draw_hints(&self, frame: &mut Frame, area: Rect) {
        let t = &self.env.theme;
        let (ctx, actions) = self.hints();
        let help = self
            .env
            .keys
            .keys_for(Context::Global, Action::Help)
            .map(|k| k.first())
            .unwrap_or_default();
        let w = usize::from(area.width);
        let tail = format!("{help} help ");
        let mut spans = vec![Span::raw(" ")];
        let mut used = 1 + tail.chars().count();
        for a in actions {
            let Some(keys) = self.env.keys.keys_for(ctx, a) else {
                continue;
            };
            let k = keys.first();
            let d = strings::hint(a);
            let n = unicode_width::UnicodeWidthStr::width(k.as_str()) + 1 + d.len() + 2;
            if used + n > w {
                break;
            }
            used += n;
            spans.push(Span::styled(k, t.key()));
            spans.push(Span::styled(format!(" {d}  "), t.muted()));
        }
        spans.push(Span::styled(help, t.key()));
        spans.push(Span::styled(" help", t.muted()));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }
}

fn note(arm: &Arm) -> AnswerNote {
    AnswerNote {
        label: arm.label().to_string(),
        text: arm.text.clone(),
        check: arm.check.clone(),
        status: arm.status(),
    }
}
