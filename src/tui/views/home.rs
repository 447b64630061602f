//! Home: start a new session, resume a saved one (searchable), or open a
//! case file.

use super::{truncate, Ctx, EventState, View};
use crate::session::Session;
use crate::tui::action::Action;
use crate::tui::keys::Context;
use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

/// A saved session as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub updated: String,
    pub summary: String,
}

impl Entry {
    pub fn of(s: &Session) -> Entry {
        Entry {
            id: s.id.clone(),
            updated: s.updated.clone(),
            summary: s.draft.summary(),
        }
    }
}

#[derive(Debug, Default)]
pub struct HomeView {
    pub sessions: Vec<Entry>,
    pub query: String,
    pub searching: bool,
    pub selected: usize,
    /// The path being typed, while the "open case file" box is open.
    pub path_input: Option<String>,
    /// A path entered in the box, for the app to open.
    pub open_path: Option<String>,
}

impl HomeView {
    pub fn set_sessions(&mut self, sessions: Vec<Entry>) {
        self.sessions = sessions;
        self.selected = self.selected.min(self.visible().len().saturating_sub(1));
    }

    /// Sessions matching the search, case-insensitively, in summary, date
    /// or id.
    pub fn visible(&self) -> Vec<&Entry> {
        let q = self.query.to_lowercase();
        self.sessions
            .iter()
            .filter(|e| {
                q.is_empty()
                    || e.summary.to_lowercase().contains(&q)
                    || e.updated.contains(&q)
                    || e.id.contains(&q)
            })
            .collect()
    }

    pub fn selected_id(&self) -> Option<String> {
        self.visible().get(self.selected).map(|e| e.id.clone())
    }
}

impl View for HomeView {
    fn handle_key(&mut self, key: &crate::tui::keys::Key, ctx: &Ctx) -> EventState {
        if let Some(path) = &mut self.path_input {
            match key.code {
                KeyCode::Enter => {
                    self.open_path = Some(path.trim().to_string());
                    self.path_input = None;
                    return EventState::action(Action::OpenCase);
                }
                KeyCode::Esc => self.path_input = None,
                KeyCode::Backspace => {
                    path.pop();
                }
                _ => {
                    if let Some(c) = key.typed_char() {
                        path.push(c);
                    } else if ctx.keys.action(Context::Global, key).is_some() {
                        return EventState::NOT_CONSUMED;
                    }
                }
            }
            return EventState::CONSUMED;
        }
        if self.searching {
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.searching = false,
                KeyCode::Backspace => {
                    self.query.pop();
                    self.selected = 0;
                }
                KeyCode::Up => self.selected = self.selected.saturating_sub(1),
                KeyCode::Down => {
                    self.selected = (self.selected + 1).min(self.visible().len().saturating_sub(1))
                }
                _ => match key.typed_char() {
                    Some(c) => {
                        self.query.push(c);
                        self.selected = 0;
                    }
                    None => return EventState::NOT_CONSUMED,
                },
            }
            return EventState::CONSUMED;
        }
        match ctx.keys.action(Context::Home, key) {
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::Down) => {
                self.selected = (self.selected + 1).min(self.visible().len().saturating_sub(1))
            }
            Some(Action::Search) => self.searching = true,
            Some(Action::OpenCase) => self.path_input = Some(String::new()),
            Some(Action::Back) if !self.query.is_empty() => self.query.clear(),
            Some(a @ (Action::Select | Action::NewSession | Action::Quit)) => {
                return EventState::action(a)
            }
            _ => return EventState::NOT_CONSUMED,
        }
        EventState::CONSUMED
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let keys = ctx.keys;
        let [menu, list] =
            Layout::vertical([Constraint::Length(8), Constraint::Min(3)]).areas(area);
        let item = |k: &str, text: &str| {
            Line::from(vec![
                Span::styled(format!("  {k:<6}"), t.key()),
                Span::styled(text.to_string(), t.text()),
            ])
        };
        let mut lines = vec![
            Line::from(Span::styled(
                "  Safe prescribing: flags, sources, a grounded answer.",
                t.muted(),
            )),
            Line::default(),
            item(&keys.new_session.first(), "New session"),
            item(&keys.home_select.first(), "Resume the selected session"),
            item(&keys.open_case.first(), "Open a case file (TOML)"),
            item(&keys.search.first(), "Search saved sessions"),
        ];
        if let Some(p) = &self.path_input {
            lines.truncate(1);
            lines.push(Line::default());
            lines.push(Line::from(Span::styled("  Case file path:", t.accent())));
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(format!("{p}█"), t.selected()),
            ]));
            lines.push(Line::from(Span::styled(
                "  enter open · esc cancel",
                t.muted(),
            )));
        }
        frame.render_widget(
            Paragraph::new(lines).block(
                Block::bordered()
                    .title(Span::styled(" rxguide ", t.title(true)))
                    .border_style(t.border(self.path_input.is_some())),
            ),
            menu,
        );
        let visible = self.visible();
        let title = if self.searching || !self.query.is_empty() {
            format!(
                " Saved sessions ({}) search: {}{} ",
                visible.len(),
                self.query,
                if self.searching { "█" } else { "" }
            )
        } else {
            format!(" Saved sessions ({}) ", visible.len())
        };
        let inner_w = usize::from(list.width.saturating_sub(2));
        let height = usize::from(list.height.saturating_sub(2));
        let scroll = super::follow(0, self.selected, height);
        let mut rows: Vec<Line> = visible
            .iter()
            .enumerate()
            .skip(scroll)
            .take(height)
            .map(|(i, e)| {
                let text = truncate(&format!(" {}  {}", e.updated, e.summary), inner_w);
                if i == self.selected {
                    Line::from(Span::styled(format!("{text:<inner_w$}"), t.selected()))
                } else {
                    Line::from(Span::styled(text, t.text()))
                }
            })
            .collect();
        if rows.is_empty() {
            rows.push(Line::from(Span::styled(
                if self.sessions.is_empty() {
                    " No saved sessions yet."
                } else {
                    " No session matches the search."
                },
                t.muted(),
            )));
        }
        frame.render_widget(
            Paragraph::new(rows).block(
                Block::bordered()
                    .title(Span::styled(title, t.title(self.path_input.is_none())))
                    .border_style(t.border(self.path_input.is_none())),
            ),
            list,
        );
    }

    fn hints(&self) -> Vec<Action> {
        vec![
            Action::NewSession,
            Action::Select,
            Action::OpenCase,
            Action::Search,
            Action::Quit,
        ]
    }
}
