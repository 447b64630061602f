//! The help overlay: every binding, grouped by where it applies, built
//! from the same key map as the hint bar.

use super::Ctx;
use crate::tui::keys::Context;
use crate::tui::strings;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx) {
    let t = ctx.theme;
    let mut lines: Vec<Line> = Vec::new();
    let mut last = None;
    let key_w = ctx
        .keys
        .bindings()
        .iter()
        .map(|(_, _, k)| unicode_width::UnicodeWidthStr::width(k.label().as_str()))
        .max()
        .unwrap_or(10)
        + 3;
    // Short descriptions when two columns must share a narrow screen.
    let narrow = area.width < 110;
    for (c, a, keys) in ctx.keys.bindings() {
        if last != Some(c) {
            if last.is_some() {
                lines.push(Line::default());
            }
            lines.push(Line::from(Span::styled(c.title(), t.accent())));
            last = Some(c);
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<key_w$}", keys.label()), t.key()),
            Span::styled(
                if narrow {
                    strings::hint(a)
                } else {
                    strings::action(a)
                },
                t.text(),
            ),
        ]));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        "Override in keys.toml (config dir), e.g. export = [\"ctrl-s\", \"x\"]",
        t.muted(),
    )));
    let _ = Context::Global;
    // Two columns when there is room.
    let w = area.width.min(120);
    let h = area.height.saturating_sub(1);
    let popup = Rect::new(area.x + (area.width - w) / 2, area.y, w, h);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" {} ", strings::HELP_TITLE),
            t.title(true),
        ))
        .border_style(t.border(true))
        .style(t.base());
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let rows = usize::from(inner.height);
    if lines.len() > rows {
        // Small terminal: drop spacing and the footer first.
        lines.retain(|l| !l.spans.is_empty());
        lines.pop();
    }
    if lines.len() > rows && inner.width >= 60 {
        let half = inner.width / 2;
        let left = Rect::new(inner.x, inner.y, half, inner.height);
        let right = Rect::new(inner.x + half, inner.y, inner.width - half, inner.height);
        let rest = lines.split_off(rows.min(lines.len()));
        frame.render_widget(Paragraph::new(lines), left);
        frame.render_widget(Paragraph::new(rest), right);
    } else {
        frame.render_widget(Paragraph::new(lines), inner);
    }
}
