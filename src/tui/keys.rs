//! The key map: one named field per command, defaults in code, and a
//! `keys.toml` in the config dir that overrides only what it lists, e.g.
//!
//! ```toml
//! export = ["ctrl-s", "x"]
//! toggle_rag = "b"
//! ```
//!
//! Keys are written `q`, `G`, `?`, `ctrl-s`, `alt-x`, `shift-tab`, `enter`,
//! `esc`, `tab`, `up`, `down`, `left`, `right`, `pageup`, `pagedown`,
//! `home`, `end`, `backspace`, `delete`, `space`, `f1`..`f12`.
//!
//! In the intake form printable keys type into the field, so only bindings
//! with a modifier or a named key work there; vim keys work in lists.

use super::action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// One key with its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        Key { code, mods }
    }

    /// Normalises a crossterm event: SHIFT is implied by an upper-case
    /// character and by back-tab.
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods =
            e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match e.code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(if mods.contains(KeyModifiers::CONTROL) {
                    c.to_ascii_lowercase()
                } else {
                    c
                })
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            c => c,
        };
        Key { code, mods }
    }

    /// A plain character (no ctrl/alt): text in a form field.
    pub fn typed_char(&self) -> Option<char> {
        match self.code {
            KeyCode::Char(c)
                if !self
                    .mods
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "space" => KeyCode::Char(' '),
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n = f[1..].parse::<u8>().map_err(|e| e.to_string())?;
                if !(1..=12).contains(&n) {
                    return Err(format!("{s:?}: function keys are f1..f12"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        if mods.contains(KeyModifiers::SHIFT) {
                            mods.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else if mods.contains(KeyModifiers::CONTROL) {
                            KeyCode::Char(c.to_ascii_lowercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => {
                        return Err(format!(
                            "{s:?} is not a key (accepted: a character, ctrl-/alt-/shift- prefixes, enter, esc, tab, up, down, left, right, pageup, pagedown, home, end, backspace, delete, space, f1..f12)"
                        ))
                    }
                }
            }
        };
        Ok(Key { code, mods })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One or more keys for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(pub Vec<Key>);

impl Keys {
    fn of(list: &[&str]) -> Keys {
        Keys(list.iter().filter_map(|s| Key::parse(s).ok()).collect())
    }

    pub fn matches(&self, key: &Key) -> bool {
        self.0.contains(key)
    }

    /// All keys, as shown in help: `↑/k`.
    pub fn label(&self) -> String {
        self.0
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key, as shown in the hint bar.
    pub fn first(&self) -> String {
        self.0.first().map(Key::to_string).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let list = match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        list.iter()
            .map(|s| Key::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map(Keys)
            .map_err(de::Error::custom)
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Everywhere.
    Global,
    /// The home screen.
    Home,
    /// The intake form (typing).
    Intake,
    /// The results panes.
    Results,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Home => "Home",
            Context::Intake => "Intake form",
            Context::Results => "Results",
        }
    }
}

macro_rules! key_list {
    ($( $field:ident : $ctx:ident, $action:ident, [$($k:expr),*] ;)*) => {
        /// Every binding, one named field per command.
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct KeyList {
            $( pub $field: Keys, )*
        }

        impl Default for KeyList {
            fn default() -> Self {
                KeyList { $( $field: Keys::of(&[$($k),*]), )* }
            }
        }

        impl KeyList {
            /// (context, action, keys) for every binding, in help order.
            pub fn bindings(&self) -> Vec<(Context, Action, &Keys)> {
                vec![ $( (Context::$ctx, Action::$action, &self.$field), )* ]
            }
        }
    };
}

key_list! {
    force_quit: Global, ForceQuit, ["ctrl-c"];
    help: Global, Help, ["?", "f1"];
    quit: Home, Quit, ["q"];
    new_session: Home, NewSession, ["n"];
    open_case: Home, OpenCase, ["o"];
    search: Home, Search, ["/"];
    home_up: Home, Up, ["up", "k"];
    home_down: Home, Down, ["down", "j"];
    home_select: Home, Select, ["enter"];
    home_back: Home, Back, ["esc"];
    models_home: Home, Models, ["M"];
    next_field: Intake, NextField, ["tab", "down"];
    prev_field: Intake, PrevField, ["shift-tab", "up"];
    intake_select: Intake, Select, ["enter"];
    next_step: Intake, NextStep, ["pagedown", "ctrl-n"];
    prev_step: Intake, PrevStep, ["pageup", "ctrl-p"];
    toggle_unit: Intake, ToggleUnit, ["ctrl-u"];
    add_row: Intake, AddRow, ["ctrl-a"];
    remove_row: Intake, RemoveRow, ["ctrl-x"];
    clear_field: Intake, ClearField, ["ctrl-w"];
    check: Intake, Check, ["ctrl-g", "f5"];
    intake_back: Intake, Back, ["esc"];
    next_pane: Results, NextPane, ["tab", "right", "l"];
    prev_pane: Results, PrevPane, ["shift-tab", "left", "h"];
    up: Results, Up, ["up", "k"];
    down: Results, Down, ["down", "j"];
    page_up: Results, PageUp, ["pageup", "ctrl-b"];
    page_down: Results, PageDown, ["pagedown", "ctrl-f"];
    top: Results, Top, ["g", "home"];
    bottom: Results, Bottom, ["G", "end"];
    show_sources: Results, Select, ["enter"];
    stop: Results, StopGeneration, ["esc"];
    toggle_rag: Results, ToggleRag, ["r"];
    regenerate: Results, Regenerate, ["ctrl-r"];
    export: Results, Export, ["ctrl-s", "x"];
    edit_intake: Results, EditIntake, ["e"];
    results_quit: Results, Quit, ["q"];
    models_results: Results, Models, ["M"];
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct KeysError {
    pub path: String,
    pub message: String,
}

impl KeyList {
    /// The action bound to `key` in `ctx` (global bindings included).
    pub fn action(&self, ctx: Context, key: &Key) -> Option<Action> {
        self.bindings()
            .into_iter()
            .find(|(c, _, keys)| (*c == ctx || *c == Context::Global) && keys.matches(key))
            .map(|(_, a, _)| a)
    }

    /// The keys of `action` in `ctx`.
    pub fn keys_for(&self, ctx: Context, action: Action) -> Option<&Keys> {
        self.bindings()
            .into_iter()
            .find(|(c, a, _)| (*c == ctx || *c == Context::Global) && *a == action)
            .map(|(_, _, k)| k)
    }

    pub fn parse(text: &str) -> Result<KeyList, String> {
        toml::from_str(text).map_err(|e| e.message().trim().to_string())
    }

    /// Defaults, overridden by `path` when it exists.
    pub fn load(path: &Path) -> Result<KeyList, KeysError> {
        match std::fs::read_to_string(path) {
            Ok(text) => KeyList::parse(&text).map_err(|message| KeysError {
                path: path.display().to_string(),
                message,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyList::default()),
            Err(e) => Err(KeysError {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_strings() {
        let k = Key::parse("ctrl-s").expect("key");
        assert_eq!(k, Key::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
        assert_eq!(Key::parse("shift-tab").expect("key").code, KeyCode::BackTab);
        assert_eq!(Key::parse("G").expect("key").code, KeyCode::Char('G'));
        assert_eq!(Key::parse("shift-g").expect("key").code, KeyCode::Char('G'));
        assert_eq!(Key::parse("f5").expect("key").code, KeyCode::F(5));
        assert_eq!(Key::parse("?").expect("key").code, KeyCode::Char('?'));
        assert!(Key::parse("hyper-x").is_err());
        assert_eq!(Key::parse("ctrl-s").expect("key").to_string(), "ctrl-s");
    }

    #[test]
    fn events_normalise_shift() {
        let e = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&e), Key::parse("G").expect("key"));
        let e = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&e), Key::parse("shift-tab").expect("key"));
    }

    #[test]
    fn override_only_what_is_listed() {
        let k =
            KeyList::parse("export = \"ctrl-e\"\ntoggle_rag = [\"b\", \"f2\"]\n").expect("parse");
        assert_eq!(k.export.label(), "ctrl-e");
        assert_eq!(k.toggle_rag.label(), "b/f2");
        assert_eq!(k.quit, KeyList::default().quit);
        let e = KeyList::parse("exprot = \"x\"").expect_err("unknown");
        assert!(e.contains("exprot"), "{e}");
        let e = KeyList::parse("export = \"hyper-x\"").expect_err("bad key");
        assert!(e.contains("hyper-x"), "{e}");
    }

    #[test]
    fn lookup_by_context() {
        let k = KeyList::default();
        let j = Key::parse("j").expect("key");
        assert_eq!(k.action(Context::Results, &j), Some(Action::Down));
        assert_eq!(k.action(Context::Intake, &j), None);
        let c = Key::parse("ctrl-c").expect("key");
        assert_eq!(k.action(Context::Intake, &c), Some(Action::ForceQuit));
    }
}
