//! Sources pane: the knowledge-base passages behind the selected flag or
//! answer sentence, with their source and URL.

use super::{flags::navigate, wrap, Ctx, EventState, View};
use crate::tui::action::Action;
use crate::tui::keys::{Context, Key};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

#[derive(Debug, Default)]
pub struct SourcesView {
    /// What the passages are for ("flag 1: renal metformin").
    pub heading: String,
    pub ids: Vec<String>,
    pub scroll: usize,
}

impl SourcesView {
    pub fn show(&mut self, heading: String, ids: Vec<String>) {
        if ids != self.ids || heading != self.heading {
            self.scroll = 0;
        }
        self.heading = heading;
        self.ids = ids;
    }
}

impl View for SourcesView {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState {
        let Some(action) = ctx.keys.action(Context::Results, key) else {
            return EventState::NOT_CONSUMED;
        };
        match navigate(self.scroll, 10_000, action, 10) {
            Some(s) => {
                self.scroll = if action == Action::Bottom { 0 } else { s };
                EventState::CONSUMED
            }
            None => EventState::NOT_CONSUMED,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let w = usize::from(area.width.saturating_sub(2));
        let mut lines: Vec<Line> = vec![Line::from(Span::styled(
            super::truncate(&self.heading, w),
            t.muted(),
        ))];
        if self.ids.is_empty() {
            lines.push(Line::from(Span::styled("No passage cited.", t.muted())));
        }
        for id in &self.ids {
            lines.push(Line::default());
            match ctx.kb.and_then(|kb| kb.passage(id)) {
                Some(p) => {
                    for l in wrap(&format!("[{id}] {}", p.title), w) {
                        lines.push(Line::from(Span::styled(l, t.accent())));
                    }
                    let mut src = p.source.clone();
                    if let Some(u) = p.locator() {
                        src.push_str(" — ");
                        src.push_str(u);
                    }
                    for l in wrap(&src, w) {
                        lines.push(Line::from(Span::styled(l, t.muted())));
                    }
                    for l in wrap(p.text.trim(), w) {
                        lines.push(Line::from(Span::styled(l, t.text())));
                    }
                }
                None => lines.push(Line::from(Span::styled(
                    format!("[{id}] (not in the knowledge base)"),
                    t.error(),
                ))),
            }
        }
        let height = usize::from(area.height.saturating_sub(2));
        let max = lines.len().saturating_sub(height);
        let scroll = self.scroll.min(max);
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(0), 0))
                .block(
                    Block::bordered()
                        .title(Span::styled(
                            format!(" Sources ({}) ", self.ids.len()),
                            t.title(ctx.focused),
                        ))
                        .border_style(t.border(ctx.focused)),
                ),
            area,
        );
    }

    fn hints(&self) -> Vec<Action> {
        vec![Action::Down, Action::PageDown]
    }
}
