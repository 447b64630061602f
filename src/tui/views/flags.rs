//! Flags pane: most serious first, severity as a word and a symbol (never
//! colour alone), then what could not be checked.

use super::{follow, wrap, Ctx, EventState, View};
use crate::clinical::{Concerns, Flag, NotChecked};
use crate::tui::action::Action;
use crate::tui::keys::{Context, Key};
use crate::tui::strings;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

#[derive(Debug, Default)]
pub struct FlagsView {
    pub flags: Vec<Flag>,
    pub not_checked: Vec<NotChecked>,
    pub selected: usize,
    /// Whether the case proposes a drug (a review proposes none).
    pub has_proposed: bool,
}

/// Moves a selection within `0..n` for a navigation action.
pub fn navigate(sel: usize, n: usize, action: Action, page: usize) -> Option<usize> {
    let last = n.saturating_sub(1);
    Some(match action {
        Action::Up => sel.saturating_sub(1),
        Action::Down => (sel + 1).min(last),
        Action::PageUp => sel.saturating_sub(page),
        Action::PageDown => (sel + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return None,
    })
}

impl FlagsView {
    /// Flags about a proposed drug first, then those about the current
    /// regimen only; each group keeps its most-serious-first order.
    pub fn new(flags: &[Flag], not_checked: &[NotChecked], has_proposed: bool) -> FlagsView {
        let mut flags = flags.to_vec();
        flags.sort_by_key(|f| f.concerns);
        FlagsView {
            flags,
            not_checked: not_checked.to_vec(),
            selected: 0,
            has_proposed,
        }
    }

    pub fn selected_flag(&self) -> Option<&Flag> {
        self.flags.get(self.selected)
    }
}

impl View for FlagsView {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState {
        let Some(action) = ctx.keys.action(Context::Results, key) else {
            return EventState::NOT_CONSUMED;
        };
        if let Some(sel) = navigate(self.selected, self.flags.len(), action, 5) {
            self.selected = sel;
            return EventState::CONSUMED;
        }
        EventState::NOT_CONSUMED
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let w = usize::from(area.width.saturating_sub(2));
        let mut lines: Vec<Line> = Vec::new();
        let mut sel_line = 0;
        if self.flags.is_empty() {
            for l in wrap(strings::NO_FLAGS, w) {
                lines.push(Line::from(Span::styled(l, t.text())));
            }
        }
        let regimen_from = self
            .flags
            .iter()
            .position(|f| f.concerns == Concerns::Current);
        if regimen_from == Some(0) && self.has_proposed {
            lines.push(Line::from(Span::styled(
                strings::NO_PROPOSED_FLAGS,
                t.text(),
            )));
        }
        for (i, f) in self.flags.iter().enumerate() {
            if regimen_from == Some(i) {
                lines.push(Line::from(Span::styled(strings::REGIMEN_FLAGS, t.accent())));
            }
            let selected = i == self.selected;
            if selected {
                sel_line = lines.len();
            }
            let head = format!(
                "{} {} {}",
                f.severity.symbol(),
                f.severity.as_str().to_uppercase(),
                f.kind
            );
            let drugs = format!("  {}", f.drugs.join(" + "));
            let marker = if selected && ctx.focused { "▶" } else { " " };
            let mut spans = vec![
                Span::styled(marker, t.accent()),
                Span::styled(head, t.flag(f.severity)),
                Span::styled(drugs, t.text()),
            ];
            if selected {
                spans = spans
                    .into_iter()
                    .map(|s| {
                        let style = s.style.patch(t.selected());
                        s.style(style)
                    })
                    .collect();
            }
            lines.push(Line::from(spans));
            for l in wrap(&f.summary, w.saturating_sub(3)) {
                lines.push(Line::from(Span::styled(format!("   {l}"), t.text())));
            }
            for inc in &f.includes {
                let text = format!(
                    "+ {} {}: {}",
                    inc.severity.symbol().trim(),
                    inc.drugs.join(" + "),
                    inc.summary
                );
                for l in wrap(&text, w.saturating_sub(5)) {
                    lines.push(Line::from(Span::styled(format!("     {l}"), t.text())));
                }
            }
            if !f.suggestion.is_empty() {
                for (j, l) in wrap(&format!("Do: {}", f.suggestion), w.saturating_sub(3))
                    .into_iter()
                    .enumerate()
                {
                    let _ = j;
                    lines.push(Line::from(Span::styled(format!("   {l}"), t.muted())));
                }
            }
            let evidence = f.evidence.map_or(String::new(), |e| format!(" ({e})"));
            lines.push(Line::from(Span::styled(
                super::truncate(
                    &format!("   Sources{evidence}: {}", f.sources.join(", ")),
                    w,
                ),
                t.muted(),
            )));
        }
        lines.push(Line::default());
        if self.not_checked.is_empty() {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} nothing — every rule had its inputs.",
                    strings::NOT_CHECKED
                ),
                t.muted(),
            )));
        } else {
            lines.push(Line::from(Span::styled(strings::NOT_CHECKED, t.accent())));
            for n in &self.not_checked {
                for (j, l) in wrap(
                    &format!("{} {}: {}", n.drug, n.what, n.reason),
                    w.saturating_sub(3),
                )
                .into_iter()
                .enumerate()
                {
                    lines.push(Line::from(Span::styled(
                        format!(" {} {l}", if j == 0 { "-" } else { " " }),
                        t.text(),
                    )));
                }
            }
        }
        let height = usize::from(area.height.saturating_sub(2));
        // Keep the selected flag and a few lines of it in view.
        let scroll = follow(0, (sel_line + 3).min(lines.len().saturating_sub(1)), height);
        let scroll = follow(scroll, sel_line, height);
        let title = format!(" Flags ({}) ", self.flags.len());
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(0), 0))
                .block(
                    Block::bordered()
                        .title(Span::styled(title, t.title(ctx.focused)))
                        .border_style(t.border(ctx.focused)),
                ),
            area,
        );
    }

    fn hints(&self) -> Vec<Action> {
        vec![Action::Down, Action::Select]
    }
}
