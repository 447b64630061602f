//! The review screens: one answer at a time, blinded (no model, backend or
//! RAG condition on screen), the rubric below it, every edit saved; then
//! the unblinded per-condition table.

use super::store::{run_key, ReviewStore};
use super::{blind_order, load_items, markdown, summarise, Item, Rubric, CRITERIA};
use crate::tui::keys::Key;
use crate::tui::modes::{block, chrome, edit_line, Flow, Mode};
use crate::tui::theme::Theme;
use crate::tui::views::{truncate, wrap};
use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Blind,
    Summary,
}

/// Rubric rows: the five criteria, the error count, the comment.
const FIELDS: usize = CRITERIA.len() + 2;
const ERRORS: usize = CRITERIA.len();
const COMMENT: usize = CRITERIA.len() + 1;

pub struct ReviewApp {
    pub theme: Theme,
    pub run: String,
    pub items: Vec<Item>,
    pub rubrics: BTreeMap<String, Rubric>,
    pub store: Option<ReviewStore>,
    pub index: usize,
    pub field: usize,
    pub scroll: u16,
    pub screen: Screen,
    pub status: String,
}

const HINTS_BLIND: &[(&str, &str)] = &[
    ("↑↓", "field"),
    ("←→/1-5", "score"),
    ("enter", "next"),
    ("pgup", "prev"),
    ("ctrl-d/u", "scroll"),
    ("esc", "finish"),
];
const HINTS_SUMMARY: &[(&str, &str)] = &[("b", "back to answers"), ("q", "quit")];

impl ReviewApp {
    /// `items` in file order; they are shown in the blinded order.
    pub fn new(
        theme: Theme,
        run: String,
        mut items: Vec<Item>,
        store: Option<ReviewStore>,
    ) -> ReviewApp {
        blind_order(&mut items);
        let rubrics = store.as_ref().map(|s| s.load_run(&run)).unwrap_or_default();
        let index = items
            .iter()
            .position(|it| !rubrics.get(&it.key).is_some_and(Rubric::complete))
            .unwrap_or(0);
        ReviewApp {
            theme,
            run,
            items,
            rubrics,
            store,
            index,
            field: 0,
            scroll: 0,
            screen: Screen::Blind,
            status: "Blinded: model and RAG condition are shown at the end.".into(),
        }
    }

    pub fn reviewed(&self) -> usize {
        self.items
            .iter()
            .filter(|it| self.rubrics.get(&it.key).is_some_and(|r| !r.is_empty()))
            .count()
    }

    fn current(&self) -> Rubric {
        self.items
            .get(self.index)
            .and_then(|it| self.rubrics.get(&it.key))
            .cloned()
            .unwrap_or_default()
    }

    fn edit(&mut self, f: impl FnOnce(&mut Rubric)) {
        let Some(it) = self.items.get(self.index) else {
            return;
        };
        let r = self.rubrics.entry(it.key.clone()).or_default();
        f(r);
        if let Some(store) = &self.store {
            if let Err(e) = store.save(&self.run, &it.key, r) {
                self.status = format!("NOT SAVED: {e}");
                return;
            }
        }
        self.status = "Saved.".into();
    }

    fn go(&mut self, index: usize) {
        self.index = index;
        self.field = 0;
        self.scroll = 0;
    }

    fn blind_key(&mut self, key: &Key) -> Flow {
        let ctrl = key.mods.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.screen = Screen::Summary;
                return Flow::Continue;
            }
            KeyCode::Up | KeyCode::BackTab => {
                self.field = self.field.saturating_sub(1);
                return Flow::Continue;
            }
            KeyCode::Down | KeyCode::Tab => {
                self.field = (self.field + 1).min(FIELDS - 1);
                return Flow::Continue;
            }
            KeyCode::Enter | KeyCode::PageDown => {
                if self.index + 1 < self.items.len() {
                    self.go(self.index + 1);
                } else if key.code == KeyCode::Enter {
                    self.screen = Screen::Summary;
                }
                return Flow::Continue;
            }
            KeyCode::PageUp => {
                self.go(self.index.saturating_sub(1));
                return Flow::Continue;
            }
            KeyCode::Char('d') if ctrl => {
                self.scroll = self.scroll.saturating_add(5);
                return Flow::Continue;
            }
            KeyCode::Char('u') if ctrl => {
                self.scroll = self.scroll.saturating_sub(5);
                return Flow::Continue;
            }
            _ => {}
        }
        let field = self.field;
        if field == COMMENT {
            let mut text = self.current().comment;
            if edit_line(&mut text, key) {
                self.edit(|r| r.comment = text);
            }
            return Flow::Continue;
        }
        let delta: i64 = match key.code {
            KeyCode::Left => -1,
            KeyCode::Right => 1,
            _ => 0,
        };
        let digit = key.typed_char().and_then(|c| c.to_digit(10));
        if field == ERRORS {
            if delta != 0 || digit.is_some() {
                self.edit(|r| {
                    r.errors = Some(match digit {
                        Some(d) => d,
                        None => (i64::from(r.errors.unwrap_or(0)) + delta).clamp(0, 99) as u32,
                    })
                });
            }
        } else if let Some(d) = digit.filter(|d| (1..=5).contains(d)) {
            self.edit(|r| r.scores[field] = Some(d as u8));
        } else if delta != 0 {
            self.edit(|r| {
                let v = r.scores[field].map_or(3, |v| i64::from(v) + delta);
                r.scores[field] = Some(v.clamp(1, 5) as u8);
            });
        } else if key.typed_char() == Some('q') {
            return Flow::Quit;
        }
        Flow::Continue
    }

    fn draw_blind(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let Some(it) = self.items.get(self.index) else {
            return;
        };
        let r = self.current();
        let [question, answer, rubric] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Min(3),
            Constraint::Length(FIELDS as u16 + 2),
        ])
        .areas(area);
        let qb = block(t, "Case and question", false);
        let w = usize::from(qb.inner(question).width);
        frame.render_widget(
            Paragraph::new(Span::styled(
                truncate(&format!("{}: {}", it.case, it.question), w),
                t.text(),
            ))
            .block(qb),
            question,
        );
        let title = format!(
            "Answer {} of {} (blinded) · {} reviewed",
            self.index + 1,
            self.items.len(),
            self.reviewed()
        );
        let ab = block(t, &title, false);
        let w = usize::from(ab.inner(answer).width);
        let text = if it.answer.trim().is_empty() {
            "(empty answer)".to_string()
        } else {
            it.answer.clone()
        };
        let lines: Vec<Line> = wrap(&text, w)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.text())))
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(ab).scroll((self.scroll, 0)),
            answer,
        );
        let rb = block(t, "Rubric (saved as you enter it)", true);
        let w = usize::from(rb.inner(rubric).width);
        let mut lines = Vec::new();
        for (i, name) in CRITERIA.iter().enumerate() {
            let mut spans = vec![Span::styled(
                format!("{} {:<16}", if self.field == i { ">" } else { " " }, name),
                if self.field == i {
                    t.selected()
                } else {
                    t.text()
                },
            )];
            for v in 1..=5u8 {
                let on = r.scores[i] == Some(v);
                spans.push(Span::styled(
                    if on {
                        format!("[{v}]")
                    } else {
                        format!(" {v} ")
                    },
                    if on { t.accent() } else { t.muted() },
                ));
            }
            lines.push(Line::from(spans));
        }
        let sel = |i: usize| {
            if self.field == i {
                t.selected()
            } else {
                t.text()
            }
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {:<16}",
                    if self.field == ERRORS { ">" } else { " " },
                    "errors (count)"
                ),
                sel(ERRORS),
            ),
            Span::styled(
                r.errors.map_or(" — ".to_string(), |e| format!("[{e}]")),
                t.accent(),
            ),
        ]));
        let cursor = if self.field == COMMENT { "_" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(
                format!(
                    "{} {:<16}",
                    if self.field == COMMENT { ">" } else { " " },
                    "comment"
                ),
                sel(COMMENT),
            ),
            Span::styled(
                truncate(&format!("{}{cursor}", r.comment), w.saturating_sub(18)),
                t.text(),
            ),
        ]));
        frame.render_widget(Paragraph::new(lines).block(rb), rubric);
    }

    /// The unblinded table as text lines (also what is printed at exit).
    pub fn summary_markdown(&self) -> String {
        markdown(&summarise(&self.items, &self.rubrics))
    }

    fn draw_summary(&self, frame: &mut Frame, area: Rect) {
        let t = &self.theme;
        let rows = summarise(&self.items, &self.rubrics);
        let b = block(t, "Unblinded: means (1-5) and counts per condition", true);
        let w = usize::from(b.inner(area).width);
        let mut lines = vec![
            Line::from(Span::styled(
                format!(
                    "{} of {} answers reviewed. Eval run: {}",
                    self.reviewed(),
                    self.items.len(),
                    self.run
                ),
                t.text(),
            )),
            Line::from(""),
            Line::from(Span::styled(
                truncate(
                    &format!(
                        "{:<26} {:>4} {:>4} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
                        "condition", "n", "rev", "adeq", "compl", "clar", "pers", "usef", "err"
                    ),
                    w,
                ),
                t.muted(),
            )),
        ];
        let m = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
        for r in &rows {
            lines.push(Line::from(Span::styled(
                truncate(
                    &format!(
                        "{:<26} {:>4} {:>4} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}",
                        truncate(&r.condition, 26),
                        r.answers,
                        r.reviewed,
                        m(r.means[0].0),
                        m(r.means[1].0),
                        m(r.means[2].0),
                        m(r.means[3].0),
                        m(r.means[4].0),
                        m(r.mean_errors)
                    ),
                    w,
                ),
                t.text(),
            )));
        }
        lines.push(Line::from(""));
        for l in wrap(
            "Export: rxguide review EVAL_DIR --export-csv scores.csv --export-md scores.md (the table is also printed when you quit).",
            w,
        ) {
            lines.push(Line::from(Span::styled(l, t.muted())));
        }
        frame.render_widget(Paragraph::new(lines).block(b), area);
    }
}

impl Mode for ReviewApp {
    fn on_key(&mut self, key: &Key) -> Flow {
        if key.mods.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Flow::Quit;
        }
        match self.screen {
            Screen::Blind => self.blind_key(key),
            Screen::Summary => match (key.code, key.typed_char()) {
                (_, Some('b')) => {
                    self.screen = Screen::Blind;
                    Flow::Continue
                }
                (KeyCode::Esc, _) | (_, Some('q')) => Flow::Quit,
                _ => Flow::Continue,
            },
        }
    }

    fn draw(&self, frame: &mut Frame) {
        let (header, hints) = match self.screen {
            Screen::Blind => (
                format!("review · blinded · {} answers", self.items.len()),
                HINTS_BLIND,
            ),
            Screen::Summary => ("review · unblinded summary".to_string(), HINTS_SUMMARY),
        };
        let body = chrome(frame, &self.theme, &header, &self.status, hints);
        match self.screen {
            Screen::Blind => self.draw_blind(frame, body),
            Screen::Summary => self.draw_summary(frame, body),
        }
    }
}

/// Options of `rxguide review`.
#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    pub eval_dir: std::path::PathBuf,
    pub export_csv: Option<std::path::PathBuf>,
    pub export_md: Option<std::path::PathBuf>,
    /// Print the unblinded table and exit, without the screens.
    pub summary: bool,
    pub theme: Option<String>,
}

fn write_out(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if crate::session::export::write_out(path, text)? {
        eprintln!("written: {}", path.display());
    }
    Ok(())
}

/// `rxguide review EVAL_DIR`: the blinded screens, then the table; with
/// `--export-csv` / `--export-md` / `--summary`, no screens.
pub fn run(global: &crate::cli::Global, o: ReviewOptions) -> anyhow::Result<i32> {
    let items = match load_items(&o.eval_dir) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(crate::cli::EXIT_BAD_INPUT);
        }
    };
    let store = ReviewStore::open(&global.data_dir())?;
    let run = run_key(&o.eval_dir);
    let headless = o.summary || o.export_csv.is_some() || o.export_md.is_some();
    if headless {
        let rubrics = store.load_run(&run);
        let rows = summarise(&items, &rubrics);
        if let Some(p) = &o.export_csv {
            write_out(p, &super::csv(&run, &items, &rubrics))?;
        }
        if let Some(p) = &o.export_md {
            write_out(p, &markdown(&rows))?;
        }
        if o.summary {
            print!("{}", markdown(&rows));
        }
        return Ok(0);
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(o.theme.as_deref(), no_color)?;
    let mut app = ReviewApp::new(theme, run, items, Some(store));
    crate::tui::modes::run(&mut app)?;
    println!(
        "{} of {} answers reviewed.\n\n{}",
        app.reviewed(),
        app.items.len(),
        app.summary_markdown()
    );
    Ok(0)
}
