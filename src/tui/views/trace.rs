//! Trace pane: what the program did (intake, derived values with formulas,
//! rules with inputs, passages with scores, prompt size, model timings,
//! citation check). Never invented reasoning.

use super::{flags::navigate, wrap, Ctx, EventState, View};
use crate::tui::action::Action;
use crate::tui::keys::{Context, Key};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

#[derive(Debug, Default)]
pub struct TraceView {
    /// (stage, text)
    pub lines: Vec<(String, String)>,
    pub scroll: usize,
}

impl View for TraceView {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState {
        let Some(action) = ctx.keys.action(Context::Results, key) else {
            return EventState::NOT_CONSUMED;
        };
        match navigate(self.scroll, 10_000, action, 10) {
            Some(s) => {
                self.scroll = if action == Action::Bottom {
                    usize::MAX / 2
                } else {
                    s
                };
                EventState::CONSUMED
            }
            None => EventState::NOT_CONSUMED,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let w = usize::from(area.width.saturating_sub(2));
        let stage_w = 9;
        let mut lines: Vec<Line> = Vec::new();
        for (stage, text) in &self.lines {
            for (j, l) in wrap(text, w.saturating_sub(stage_w + 1))
                .into_iter()
                .enumerate()
            {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{:>stage_w$} ", if j == 0 { stage.as_str() } else { "" }),
                        t.muted(),
                    ),
                    Span::styled(l, t.text()),
                ]));
            }
        }
        let height = usize::from(area.height.saturating_sub(2));
        let scroll = self.scroll.min(lines.len().saturating_sub(height));
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(0), 0))
                .block(
                    Block::bordered()
                        .title(Span::styled(" Trace ", t.title(ctx.focused)))
                        .border_style(t.border(ctx.focused)),
                ),
            area,
        );
    }

    fn hints(&self) -> Vec<Action> {
        vec![Action::Down, Action::Bottom]
    }
}
