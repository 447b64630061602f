//! One struct per screen or pane, each with the same small contract
//! ([`View`]): `handle_key` changes only the view's own state and returns
//! whether it used the key plus an optional [`Action`] for the app;
//! `draw(&self, …)` cannot change state; `hints()` lists the actions the
//! hint bar shows. The app forwards keys explicitly (no view calls
//! another).

pub mod answer;
pub mod flags;
pub mod help;
pub mod home;
pub mod intake;
pub mod sources;
pub mod trace;

use super::action::Action;
use super::keys::{Key, KeyList};
use super::theme::Theme;
use crate::kb::Kb;
use ratatui::layout::Rect;
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// What views may read while handling keys and drawing.
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub keys: &'a KeyList,
    pub kb: Option<&'a Kb>,
    pub focused: bool,
}

/// Result of offering a key to a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventState {
    pub consumed: bool,
    pub action: Option<Action>,
}

impl EventState {
    pub const NOT_CONSUMED: EventState = EventState {
        consumed: false,
        action: None,
    };
    pub const CONSUMED: EventState = EventState {
        consumed: true,
        action: None,
    };

    pub fn action(a: Action) -> EventState {
        EventState {
            consumed: true,
            action: Some(a),
        }
    }
}

pub trait View {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState;
    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx);
    fn hints(&self) -> Vec<Action>;
}

/// Greedy word wrap to `width` columns (display width), keeping words
/// longer than a line by breaking them.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let lw = line.width();
            let ww = word.width();
            if lw > 0 && lw + 1 + ww > width {
                lines.push(std::mem::take(&mut line));
            }
            if ww > width {
                for c in word.chars() {
                    if line.width() + c.width().unwrap_or(0) > width {
                        lines.push(std::mem::take(&mut line));
                    }
                    line.push(c);
                }
                continue;
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// `text` cut to `width` columns with an ellipsis.
pub fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + c.width().unwrap_or(0) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Scroll offset that keeps line `target` visible in `height` rows.
pub fn follow(scroll: usize, target: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    if target < scroll {
        target
    } else if target >= scroll + height {
        target + 1 - height
    } else {
        scroll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
