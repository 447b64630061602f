//! A small runner for the self-contained full-screen modes (`rehearse`,
//! `review`): terminal set up and restored on every exit path (a guard's
//! `Drop` and ratatui's panic hook), keys normalised through
//! [`crate::tui::keys::Key`], one synchronous loop. The modes keep their
//! state in a struct implementing [`Mode`], so tests drive them without a
//! terminal and render them into a `TestBackend`.

use crate::catalogue::Catalogue;
use crate::tui::keys::Key;
use crate::tui::theme::Theme;
use crate::tui::views::{truncate, wrap};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;
use std::time::Duration;

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

pub trait Mode {
    fn on_key(&mut self, key: &Key) -> Flow;
    /// Draws the whole screen; cannot change state.
    fn draw(&self, frame: &mut Frame);
}

struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs `mode` until it returns [`Flow::Quit`] or the input ends.
pub fn run<M: Mode>(mode: &mut M) -> anyhow::Result<()> {
    use crossterm::event::{self, Event, KeyEventKind};
    let mut terminal = ratatui::init();
    let _guard = Guard;
    loop {
        terminal.draw(|f| mode.draw(f))?;
        if !event::poll(Duration::from_millis(500))? {
            continue;
        }
        if let Event::Key(k) = event::read()? {
            if k.kind != KeyEventKind::Press {
                continue;
            }
            if mode.on_key(&Key::from_event(&k)) == Flow::Quit {
                return Ok(());
            }
        }
    }
}

/// A one-line text field edit: printable characters are appended,
/// backspace removes the last one. Returns true when the key was used.
pub fn edit_line(text: &mut String, key: &Key) -> bool {
    use crossterm::event::KeyCode;
    if let Some(c) = key.typed_char() {
        text.push(c);
        return true;
    }
    if key.code == KeyCode::Backspace {
        text.pop();
        return true;
    }
    false
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `text` to `path`, readable by the user only (exports can hold
/// names and clinical notes).
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    crate::session::export::write_private(path, text)
}

/// The frame every mode shares: a header line, the body, a status line
/// and a key-hint line. Returns the body area.
pub fn chrome(
    frame: &mut Frame,
    theme: &Theme,
    header: &str,
    status: &str,
    hints: &[(&str, &str)],
) -> Rect {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.base()), area);
    let [head, body, stat, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let w = usize::from(area.width);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" rxguide ", theme.accent()),
            Span::styled(truncate(header, w.saturating_sub(9)), theme.text()),
        ])),
        head,
    );
    let text = truncate(&format!(" {status}"), w);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!("{text:<w$}"),
            theme.status(),
        ))),
        stat,
    );
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (k, d) in hints {
        let n = k.chars().count() + d.chars().count() + 3;
        if used + n > w {
            break;
        }
        used += n;
        spans.push(Span::styled(k.to_string(), theme.key()));
        spans.push(Span::styled(format!(" {d}  "), theme.muted()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), keys);
    body
}

/// A bordered block with a title, styled by focus.
pub fn block<'a>(theme: &Theme, title: &'a str, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)))
}

/// The open-model catalogue as an overlay: a list, and the selected
/// model's openness, commands and source below it.
#[derive(Debug, Clone)]
pub struct ModelsOverlay {
    pub catalogue: Catalogue,
    pub selected: usize,
}

impl ModelsOverlay {
    pub fn new(catalogue: Catalogue) -> ModelsOverlay {
        let selected = catalogue.models.iter().position(|m| m.default).unwrap_or(0);
        ModelsOverlay {
            catalogue,
            selected,
        }
    }

    /// Up/down (or j/k) move; returns false for a key that closes it.
    pub fn on_key(&mut self, key: &Key) -> bool {
        use crossterm::event::KeyCode;
        let n = self.catalogue.models.len();
        match (key.code, key.typed_char()) {
            (KeyCode::Up, _) | (_, Some('k')) => self.selected = self.selected.saturating_sub(1),
            (KeyCode::Down, _) | (_, Some('j')) => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            _ => return false,
        }
        true
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        frame.render_widget(Clear, area);
        let b = block(
            theme,
            "Open models (* default) · ↑↓ select · any other key closes",
            true,
        );
        let inner = b.inner(area);
        frame.render_widget(b, area);
        let w = usize::from(inner.width);
        let detail_h = (inner.height / 2).clamp(4, 9);
        let [list, detail] =
            Layout::vertical([Constraint::Min(2), Constraint::Length(detail_h)]).areas(inner);
        let rows = usize::from(list.height);
        let first = self.selected.saturating_sub(rows.saturating_sub(1));
        let mut lines = Vec::new();
        for (i, m) in self
            .catalogue
            .models
            .iter()
            .enumerate()
            .skip(first)
            .take(rows)
        {
            let mark = if m.default { "*" } else { " " };
            let text = format!(
                "{mark} {:<30} {:>5} {:<15} gguf {}",
                truncate(&m.name, 30),
                m.params,
                m.category,
                m.gguf
            );
            let style = if i == self.selected {
                theme.selected()
            } else {
                theme.text()
            };
            lines.push(Line::from(Span::styled(truncate(&text, w), style)));
        }
        frame.render_widget(Paragraph::new(lines), list);
        let Some(m) = self.catalogue.models.get(self.selected) else {
            return;
        };
        let mut d = vec![Line::from(Span::styled(
            truncate(
                &format!("{} · {} · {}", m.name, m.licence, m.open_summary()),
                w,
            ),
            theme.accent(),
        ))];
        for c in m.commands() {
            d.push(Line::from(Span::styled(
                truncate(&format!("$ {c}"), w),
                theme.key(),
            )));
        }
        if let Some(n) = &m.note {
            for l in wrap(n, w) {
                d.push(Line::from(Span::styled(l, theme.muted())));
            }
        }
        d.push(Line::from(Span::styled(
            truncate(&format!("source: {}", m.source), w),
            theme.muted(),
        )));
        frame.render_widget(Paragraph::new(d), detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
