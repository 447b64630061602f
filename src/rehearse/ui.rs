//! The rehearsal screens. State and key handling in [`RehearseApp`];
//! drawing reads the state only. Flags come from the same pipeline as
//! every other front end; scoring is [`super::score`].
//!
//! Screens: name prompt -> case list -> attempt (patient, decision, risks)
//! -> reveal (score, flags, sources, model answer) -> summary over time.
//! `M` opens the open-model catalogue anywhere but in a text field.

use super::store::ProgressStore;
use super::{
    acceptable_decisions, by_day, parse_risk, score, Attempt, Decision, LibraryCase, Totals,
};
use crate::catalogue::Catalogue;
use crate::clinical::{Flag, Kind};
use crate::kb::Kb;
use crate::tui::keys::Key;
use crate::tui::modes::{block, chrome, edit_line, Flow, Mode, ModelsOverlay};
use crate::tui::theme::Theme;
use crate::tui::views::{truncate, wrap};
use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Name,
    Cases,
    Attempt,
    Reveal,
    Summary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Risks,
    Typed,
}

/// The decision being recorded.
#[derive(Debug, Clone)]
pub struct Draft {
    pub case: usize,
    pub decision: Option<Decision>,
    pub spotted: BTreeSet<Kind>,
    pub cursor: usize,
    pub typed: String,
    pub focus: Focus,
}

/// What the trainee sees after deciding.
#[derive(Debug, Clone)]
pub struct Reveal {
    pub case: usize,
    pub attempt: Attempt,
    pub flags: Vec<Flag>,
    pub sources: Vec<(String, String)>,
    pub scroll: u16,
}

pub struct RehearseApp {
    pub theme: Theme,
    pub kb: Arc<Kb>,
    pub library: Vec<LibraryCase>,
    pub store: Option<ProgressStore>,
    pub trainee: String,
    pub screen: Screen,
    pub selected: usize,
    pub draft: Option<Draft>,
    pub reveal: Option<Reveal>,
    pub summary_scroll: u16,
    pub status: String,
    pub models: Option<ModelsOverlay>,
    catalogue: Option<Catalogue>,
    /// The clock, injectable for tests.
    pub clock: fn() -> String,
}

fn now() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

const HELP_CASES: &[(&str, &str)] = &[
    ("↑↓", "select"),
    ("enter", "start"),
    ("s", "summary"),
    ("M", "models"),
    ("q", "quit"),
];
const HELP_ATTEMPT: &[(&str, &str)] = &[
    ("1-4", "decision"),
    ("←↑↓→", "move"),
    ("space", "toggle risk"),
    ("tab", "type a risk"),
    ("enter", "submit"),
    ("esc", "back"),
];
const HELP_TYPED: &[(&str, &str)] = &[
    ("type", "risks, comma-separated"),
    ("tab", "back to the list"),
    ("enter", "submit"),
    ("esc", "back"),
];
const HELP_REVEAL: &[(&str, &str)] = &[
    ("↑↓", "scroll"),
    ("n", "next case"),
    ("enter", "cases"),
    ("s", "summary"),
    ("q", "quit"),
];
const HELP_SUMMARY: &[(&str, &str)] = &[("↑↓", "scroll"), ("esc", "back"), ("q", "quit")];
const GRID_COLS: usize = 4;

impl RehearseApp {
    pub fn new(
        theme: Theme,
        kb: Arc<Kb>,
        library: Vec<LibraryCase>,
        store: Option<ProgressStore>,
        trainee: Option<String>,
    ) -> RehearseApp {
        let trainee = trainee.map(|t| t.trim().to_string()).unwrap_or_default();
        let screen = if trainee.is_empty() {
            Screen::Name
        } else {
            Screen::Cases
        };
        RehearseApp {
            theme,
            kb,
            library,
            store,
            trainee,
            screen,
            selected: 0,
            draft: None,
            reveal: None,
            summary_scroll: 0,
            status: String::new(),
            models: None,
            catalogue: Catalogue::bundled().ok(),
            clock: now,
        }
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.store
            .as_ref()
            .map(|s| s.attempts(Some(&self.trainee)))
            .unwrap_or_default()
    }

    fn start(&mut self, case: usize) {
        self.draft = Some(Draft {
            case,
            decision: None,
            spotted: BTreeSet::new(),
            cursor: 0,
            typed: String::new(),
            focus: Focus::Risks,
        });
        self.screen = Screen::Attempt;
        self.status = "Decide first: the flags appear after you submit.".into();
    }

    fn submit(&mut self) {
        let Some(d) = &self.draft else { return };
        let Some(decision) = d.decision else {
            self.status = "Choose a decision first (1-4).".into();
            return;
        };
        let Some(lc) = self.library.get(d.case) else {
            return;
        };
        let typed: Vec<String> = d
            .typed
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let mut spotted = d.spotted.clone();
        let mut unread = Vec::new();
        for t in &typed {
            match parse_risk(t) {
                Some(k) => {
                    spotted.insert(k);
                }
                None => unread.push(t.clone()),
            }
        }
        let a = crate::pipeline::assess(&self.kb, &lc.case);
        let s = score(&spotted, decision, &a.flags);
        let attempt = Attempt {
            trainee: self.trainee.clone(),
            case: lc.case.id.clone(),
            title: lc.title(),
            when: (self.clock)(),
            decision,
            spotted: spotted.into_iter().collect(),
            typed,
            score: s,
        };
        let mut ids: Vec<String> = Vec::new();
        for f in &a.flags {
            for s in &f.sources {
                if !ids.contains(s) {
                    ids.push(s.clone());
                }
            }
        }
        let sources = ids
            .into_iter()
            .map(|id| {
                let title = self
                    .kb
                    .passage(&id)
                    .map(|p| format!("{} ({})", p.title, p.source))
                    .unwrap_or_default();
                (id, title)
            })
            .collect();
        self.status = match &self.store {
            Some(store) => match store.save(&attempt) {
                Ok(()) => "Saved.".to_string(),
                Err(e) => format!("NOT SAVED: {e}"),
            },
            None => "Progress is not saved (no store).".to_string(),
        };
        if !unread.is_empty() {
            self.status.push_str(&format!(
                " Not read as a risk kind: {} (name a kind, e.g. renal, interaction).",
                unread.join(", ")
            ));
        }
        self.reveal = Some(Reveal {
            case: d.case,
            attempt,
            flags: a.flags,
            sources,
            scroll: 0,
        });
        self.draft = None;
        self.screen = Screen::Reveal;
    }

    fn attempt_key(&mut self, key: &Key) -> Flow {
        let Some(d) = &mut self.draft else {
            self.screen = Screen::Cases;
            return Flow::Continue;
        };
        if key.code == KeyCode::Esc {
            self.draft = None;
            self.screen = Screen::Cases;
            self.status = "Attempt abandoned.".into();
            return Flow::Continue;
        }
        if key.code == KeyCode::Enter {
            self.submit();
            return Flow::Continue;
        }
        if matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            d.focus = match d.focus {
                Focus::Risks => Focus::Typed,
                Focus::Typed => Focus::Risks,
            };
            return Flow::Continue;
        }
        if d.focus == Focus::Typed {
            edit_line(&mut d.typed, key);
            return Flow::Continue;
        }
        let n = Kind::ALL.len();
        match (key.code, key.typed_char()) {
            (_, Some(c @ '1'..='4')) => {
                let i = usize::from(c as u8 - b'1');
                d.decision = Decision::ALL.get(i).copied();
            }
            (_, Some(' ')) => {
                if let Some(k) = Kind::ALL.get(d.cursor) {
                    if !d.spotted.remove(k) {
                        d.spotted.insert(*k);
                    }
                }
            }
            (KeyCode::Left, _) | (_, Some('h')) => d.cursor = d.cursor.saturating_sub(1),
            (KeyCode::Right, _) | (_, Some('l')) => d.cursor = (d.cursor + 1).min(n - 1),
            (KeyCode::Up, _) | (_, Some('k')) => d.cursor = d.cursor.saturating_sub(GRID_COLS),
            (KeyCode::Down, _) | (_, Some('j')) if d.cursor + GRID_COLS < n => {
                d.cursor += GRID_COLS
            }
            (_, Some('M')) => self.open_models(),
            _ => {}
        }
        Flow::Continue
    }

    fn open_models(&mut self) {
        match &self.catalogue {
            Some(c) => self.models = Some(ModelsOverlay::new(c.clone())),
            None => self.status = "model catalogue unavailable".into(),
        }
    }

    fn next_case(&mut self) {
        let cur = self.reveal.as_ref().map_or(self.selected, |r| r.case);
        let next = (cur + 1) % self.library.len().max(1);
        self.selected = next;
        self.start(next);
    }
}

impl Mode for RehearseApp {
    fn on_key(&mut self, key: &Key) -> Flow {
        if key.mods.contains(crossterm::event::KeyModifiers::CONTROL)
            && key.code == KeyCode::Char('c')
        {
            return Flow::Quit;
        }
        if let Some(m) = &mut self.models {
            if !m.on_key(key) {
                self.models = None;
            }
            return Flow::Continue;
        }
        let c = key.typed_char();
        match self.screen {
            Screen::Name => {
                if key.code == KeyCode::Enter {
                    if self.trainee.trim().is_empty() {
                        self.status = "Type your name (progress is saved under it).".into();
                    } else {
                        self.trainee = self.trainee.trim().to_string();
                        self.screen = Screen::Cases;
                        self.status = format!("Hello {}.", self.trainee);
                    }
                } else if key.code == KeyCode::Esc {
                    return Flow::Quit;
                } else {
                    edit_line(&mut self.trainee, key);
                }
            }
            Screen::Cases => match (key.code, c) {
                (KeyCode::Up, _) | (_, Some('k')) => {
                    self.selected = self.selected.saturating_sub(1)
                }
                (KeyCode::Down, _) | (_, Some('j')) => {
                    self.selected = (self.selected + 1).min(self.library.len().saturating_sub(1))
                }
                (KeyCode::Enter, _) if !self.library.is_empty() => self.start(self.selected),
                (_, Some('s')) => {
                    self.summary_scroll = 0;
                    self.screen = Screen::Summary;
                }
                (_, Some('M')) => self.open_models(),
                (KeyCode::Esc, _) | (_, Some('q')) => return Flow::Quit,
                _ => {}
            },
            Screen::Attempt => return self.attempt_key(key),
            Screen::Reveal => match (key.code, c) {
                (KeyCode::Up, _) | (_, Some('k')) => {
                    if let Some(r) = &mut self.reveal {
                        r.scroll = r.scroll.saturating_sub(1)
                    }
                }
                (KeyCode::Down, _) | (_, Some('j')) => {
                    if let Some(r) = &mut self.reveal {
                        r.scroll = r.scroll.saturating_add(1)
                    }
                }
                (_, Some('n')) => self.next_case(),
                (KeyCode::Enter | KeyCode::Esc, _) => self.screen = Screen::Cases,
                (_, Some('s')) => {
                    self.summary_scroll = 0;
                    self.screen = Screen::Summary;
                }
                (_, Some('M')) => self.open_models(),
                (_, Some('q')) => return Flow::Quit,
                _ => {}
            },
            Screen::Summary => match (key.code, c) {
                (KeyCode::Up, _) | (_, Some('k')) => {
                    self.summary_scroll = self.summary_scroll.saturating_sub(1)
                }
                (KeyCode::Down, _) | (_, Some('j')) => {
                    self.summary_scroll = self.summary_scroll.saturating_add(1)
                }
                (_, Some('q')) => return Flow::Quit,
                (KeyCode::Esc | KeyCode::Enter, _) => self.screen = Screen::Cases,
                _ => {}
            },
        }
        Flow::Continue
    }

    fn draw(&self, frame: &mut Frame) {
        let header = match self.screen {
            Screen::Name => "rehearse · who is rehearsing?".to_string(),
            Screen::Cases => format!("rehearse · {} · {} cases", self.trainee, self.library.len()),
            Screen::Attempt | Screen::Reveal => {
                let i = self
                    .draft
                    .as_ref()
                    .map(|d| d.case)
                    .or(self.reveal.as_ref().map(|r| r.case))
                    .unwrap_or(0);
                let id = self
                    .library
                    .get(i)
                    .map(|c| c.case.id.as_str())
                    .unwrap_or("");
                format!(
                    "rehearse · {} · case {}/{} {id}",
                    self.trainee,
                    i + 1,
                    self.library.len()
                )
            }
            Screen::Summary => format!("rehearse · {} · results over time", self.trainee),
        };
        let hints = match self.screen {
            Screen::Name => &[("enter", "continue"), ("esc", "quit")][..],
            Screen::Cases => HELP_CASES,
            Screen::Attempt => match self.draft.as_ref().map(|d| d.focus) {
                Some(Focus::Typed) => HELP_TYPED,
                _ => HELP_ATTEMPT,
            },
            Screen::Reveal => HELP_REVEAL,
            Screen::Summary => HELP_SUMMARY,
        };
        let body = chrome(frame, &self.theme, &header, &self.status, hints);
        match self.screen {
            Screen::Name => self.draw_name(frame, body),
            Screen::Cases => self.draw_cases(frame, body),
            Screen::Attempt => self.draw_attempt(frame, body),
            Screen::Reveal => self.draw_reveal(frame, body),
            Screen::Summary => self.draw_summary(frame, body),
        }
        if let Some(m) = &self.models {
            m.draw(frame, body, &self.theme);
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |v| format!("{:.0}%", v * 100.0))
}

fn kinds(list: &[Kind]) -> String {
    if list.is_empty() {
        "—".to_string()
    } else {
        list.iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl RehearseApp {
    fn draw_name(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let b = block(t, "Trainee", true);
        let lines = vec![
            Line::from(Span::styled(
                "Your name (progress is saved under it, on this machine only):",
                t.text(),
            )),
            Line::from(vec![
                Span::styled(format!("[{}", self.trainee), t.selected()),
                Span::styled("_]", t.selected()),
            ]),
        ];
        frame.render_widget(Paragraph::new(lines).block(b), area);
    }

    fn draw_cases(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let done: std::collections::BTreeMap<String, Attempt> = self
            .attempts()
            .into_iter()
            .map(|a| (a.case.clone(), a))
            .collect();
        let title = format!("Teaching cases ({} attempted)", done.len());
        let b = block(t, &title, true);
        let inner = b.inner(area);
        frame.render_widget(b, area);
        let rows = usize::from(inner.height);
        let w = usize::from(inner.width);
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        let mut lines = Vec::new();
        for (i, c) in self.library.iter().enumerate().skip(first).take(rows) {
            let mark = match done.get(&c.case.id) {
                Some(a) if a.score.missed.is_empty() && a.score.decision_ok => "✓",
                Some(_) => "•",
                None => " ",
            };
            let text = format!("{mark} {:>2}. {}", i + 1, c.title());
            let style = if i == self.selected {
                t.selected()
            } else {
                t.text()
            };
            lines.push(Line::from(Span::styled(truncate(&text, w), style)));
        }
        frame.render_widget(Paragraph::new(lines), inner);
    }

    fn draw_attempt(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let Some(d) = &self.draft else { return };
        let Some(lc) = self.library.get(d.case) else {
            return;
        };
        let [patient, decision, risks, typed] = Layout::vertical([
            Constraint::Min(4),
            Constraint::Length(3),
            // Every kind gets a cell: rows of GRID_COLS, plus the borders.
            Constraint::Length(u16::try_from(Kind::ALL.len().div_ceil(GRID_COLS) + 2).unwrap_or(5)),
            Constraint::Length(3),
        ])
        .areas(area);
        let b = block(t, "Patient", false);
        let w = usize::from(b.inner(patient).width);
        let mut lines = vec![Line::from(Span::styled(
            truncate(&lc.title(), w),
            t.accent(),
        ))];
        for para in crate::pipeline::patient_lines(&lc.case).lines() {
            for l in wrap(para, w) {
                lines.push(Line::from(Span::styled(l, t.text())));
            }
        }
        frame.render_widget(Paragraph::new(lines).block(b), patient);

        let mut spans = Vec::new();
        for (i, dec) in Decision::ALL.iter().enumerate() {
            let on = d.decision == Some(*dec);
            spans.push(Span::styled(format!("{} ", i + 1), t.key()));
            spans.push(Span::styled(
                format!("({}) {}   ", if on { "•" } else { " " }, dec.label()),
                if on { t.selected() } else { t.text() },
            ));
        }
        frame.render_widget(
            Paragraph::new(Line::from(spans)).block(block(
                t,
                "Your decision",
                d.decision.is_none(),
            )),
            decision,
        );

        let focused = d.focus == Focus::Risks;
        let b = block(t, "Risks you spotted (space toggles)", focused);
        let inner = b.inner(risks);
        frame.render_widget(b, risks);
        let cw = usize::from(inner.width) / GRID_COLS;
        let mut lines = Vec::new();
        for row in Kind::ALL.chunks(GRID_COLS).enumerate() {
            let (r, kinds) = row;
            let mut spans = Vec::new();
            for (c, k) in kinds.iter().enumerate() {
                let i = r * GRID_COLS + c;
                let on = d.spotted.contains(k);
                let text = format!("[{}] {}", if on { "x" } else { " " }, k.as_str());
                let style = if focused && i == d.cursor {
                    t.selected()
                } else if on {
                    t.accent()
                } else {
                    t.text()
                };
                // One column of space between cells, even for the longest kind.
                let shown = truncate(&text, cw.saturating_sub(1));
                spans.push(Span::styled(format!("{shown:<cw$}"), style));
            }
            lines.push(Line::from(spans));
        }
        frame.render_widget(Paragraph::new(lines), inner);

        let tf = d.focus == Focus::Typed;
        let text = if tf {
            format!("{}_", d.typed)
        } else if d.typed.is_empty() {
            "(tab to type other risks, e.g. kidney, QT)".to_string()
        } else {
            d.typed.clone()
        };
        frame.render_widget(
            Paragraph::new(Span::styled(
                text,
                if tf { t.selected() } else { t.muted() },
            ))
            .block(block(t, "Other risks (typed)", tf)),
            typed,
        );
    }

    fn draw_reveal(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let Some(r) = &self.reveal else { return };
        let b = block(t, "Result: flags, sources, model answer", true);
        let w = usize::from(b.inner(area).width).saturating_sub(1);
        let s = &r.attempt.score;
        let ok = if s.decision_ok { "✓" } else { "✗" };
        let mut lines = vec![
            Line::from(Span::styled(
                format!(
                    "Score: {} found · {} missed · {} false alarm(s) · decision {} {ok}",
                    s.found.len(),
                    s.missed.len(),
                    s.false_alarms.len(),
                    r.attempt.decision.label()
                ),
                if s.missed.is_empty() && s.decision_ok {
                    t.ok()
                } else {
                    t.error()
                },
            )),
            Line::from(Span::styled(
                format!("Found: {}", kinds(&s.found)),
                t.text(),
            )),
            Line::from(Span::styled(
                format!("Missed: {}", kinds(&s.missed)),
                t.text(),
            )),
            Line::from(Span::styled(
                format!("False alarms: {}", kinds(&s.false_alarms)),
                t.text(),
            )),
            Line::from(Span::styled(
                format!(
                    "Consistent decisions: {}",
                    acceptable_decisions(&r.flags)
                        .iter()
                        .map(|d| d.label())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                t.muted(),
            )),
            Line::from(""),
            Line::from(Span::styled(
                format!("Flags ({})", r.flags.len()),
                t.accent(),
            )),
        ];
        if r.flags.is_empty() {
            lines.push(Line::from(Span::styled(
                "No flag: the rules found nothing to stop this prescription.",
                t.text(),
            )));
        }
        for f in &r.flags {
            let head = format!(
                "{} {} {} {}: ",
                f.severity.symbol(),
                f.severity.as_str().to_uppercase(),
                f.kind,
                f.drugs.join(" + ")
            );
            for (i, l) in wrap(&format!("{head}{}", f.summary), w)
                .into_iter()
                .enumerate()
            {
                let style = if i == 0 { t.flag(f.severity) } else { t.text() };
                lines.push(Line::from(Span::styled(l, style)));
            }
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("Sources ({})", r.sources.len()),
            t.accent(),
        )));
        for (id, title) in &r.sources {
            lines.push(Line::from(Span::styled(
                truncate(&format!("[{id}] {title}"), w),
                t.text(),
            )));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Model answer", t.accent())));
        let answer = self
            .library
            .get(r.case)
            .and_then(|c| c.model_answer())
            .unwrap_or("(this case has no model answer)");
        for l in wrap(answer, w) {
            lines.push(Line::from(Span::styled(l, t.text())));
        }
        frame.render_widget(Paragraph::new(lines).block(b).scroll((r.scroll, 0)), area);
    }

    fn draw_summary(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let attempts = self.attempts();
        let total = Totals::of(&attempts);
        let b = block(t, "Results over time", true);
        let w = usize::from(b.inner(area).width);
        let head = format!(
            "{} attempt(s): {} found, {} missed, {} false alarm(s); sensitivity {}; decisions consistent {}",
            total.attempts,
            total.found,
            total.missed,
            total.false_alarms,
            pct(total.sensitivity()),
            pct(total.decision_accuracy())
        );
        let mut lines: Vec<Line> = wrap(&head, w)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.accent())))
            .collect();
        lines.extend([
            Line::from(""),
            Line::from(Span::styled(
                format!(
                    "{:<10} {:>8} {:>6} {:>6} {:>7} {:>11} {:>9}",
                    "day", "attempts", "found", "missed", "f.alarm", "sensitivity", "decisions"
                ),
                t.muted(),
            )),
        ]);
        for (day, d) in by_day(&attempts) {
            lines.push(Line::from(Span::styled(
                format!(
                    "{:<10} {:>8} {:>6} {:>6} {:>7} {:>11} {:>9}",
                    day,
                    d.attempts,
                    d.found,
                    d.missed,
                    d.false_alarms,
                    pct(d.sensitivity()),
                    pct(d.decision_accuracy())
                ),
                t.text(),
            )));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            "Attempts, newest first",
            t.muted(),
        )));
        for a in attempts.iter().rev() {
            let s = &a.score;
            lines.push(Line::from(Span::styled(
                truncate(
                    &format!(
                        "{} {} {:<18} {} found {} missed {} f.a. · {}",
                        a.when.get(..16).unwrap_or(&a.when),
                        if s.decision_ok { "✓" } else { "✗" },
                        a.decision.label(),
                        s.found.len(),
                        s.missed.len(),
                        s.false_alarms.len(),
                        a.case
                    ),
                    w,
                ),
                t.text(),
            )));
        }
        if attempts.is_empty() {
            lines.push(Line::from(Span::styled("No attempts yet.", t.text())));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .block(b)
                .scroll((self.summary_scroll, 0)),
            area,
        );
    }
}

/// Options of `rxguide rehearse`.
#[derive(Debug, Clone, Default)]
pub struct RehearseOptions {
    pub dir: std::path::PathBuf,
    pub trainee: Option<String>,
    pub export_csv: Option<std::path::PathBuf>,
    pub theme: Option<String>,
}

/// `rxguide rehearse`: the screens, or with `--export-csv` the attempts
/// as CSV (of `--trainee`, else everyone's) without opening the UI.
pub fn run(global: &crate::cli::Global, o: RehearseOptions) -> anyhow::Result<i32> {
    let data = global.data_dir();
    let store = ProgressStore::open(&data)?;
    if let Some(path) = &o.export_csv {
        let attempts = store.attempts(o.trainee.as_deref());
        let text = super::csv(&attempts);
        if crate::session::export::write_out(path, &text)? {
            eprintln!(
                "{} attempt(s) written to {}",
                attempts.len(),
                path.display()
            );
        }
        return Ok(0);
    }
    let library = match super::load_library(&o.dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(crate::cli::EXIT_BAD_INPUT);
        }
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(o.theme.as_deref(), no_color)?;
    let (kb, _) = global.open_kb()?;
    let mut app = RehearseApp::new(theme, Arc::new(kb), library, Some(store), o.trainee);
    crate::tui::modes::run(&mut app)?;
    let total = Totals::of(&app.attempts());
    if !app.trainee.is_empty() {
        println!(
            "{}: {} attempt(s), {} found, {} missed, {} false alarm(s)",
            app.trainee, total.attempts, total.found, total.missed, total.false_alarms
        );
    }
    Ok(0)
}
