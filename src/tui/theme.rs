//! Colours by meaning. The built-in themes are `themes/*.toml`, embedded in
//! the binary; `--theme NAME|PATH` picks one, a file lists only what it
//! changes (the rest comes from the dark theme), and `NO_COLOR` turns every
//! colour off (bold, underline and reverse still carry emphasis; severity is
//! always also a word and a symbol).

use crate::clinical::Severity;
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::Path;
use std::str::FromStr;

pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// A theme file: every colour optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    fg: Option<String>,
    bg: Option<String>,
    muted: Option<String>,
    accent: Option<String>,
    border: Option<String>,
    border_focused: Option<String>,
    title: Option<String>,
    title_focused: Option<String>,
    selection_fg: Option<String>,
    selection_bg: Option<String>,
    status_fg: Option<String>,
    status_bg: Option<String>,
    key: Option<String>,
    error: Option<String>,
    ok: Option<String>,
    contraindicated: Option<String>,
    major: Option<String>,
    moderate: Option<String>,
    minor: Option<String>,
    citation_supported: Option<String>,
    citation_unsupported: Option<String>,
    conflict: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// `false` under `NO_COLOR`: styles keep only modifiers.
    pub color: bool,
    fg: Color,
    bg: Color,
    muted: Color,
    accent: Color,
    border: Color,
    border_focused: Color,
    title: Color,
    title_focused: Color,
    selection_fg: Color,
    selection_bg: Color,
    status_fg: Color,
    status_bg: Color,
    key: Color,
    error: Color,
    ok: Color,
    contraindicated: Color,
    major: Color,
    moderate: Color,
    minor: Color,
    citation_supported: Color,
    citation_unsupported: Color,
    conflict: Color,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme {name}: {message}")]
    Bad { name: String, message: String },
    #[error(
        "unknown theme {0:?} (accepted: dark, light, high-contrast, or a path to a .toml file)"
    )]
    Unknown(String),
}

fn parse_file(name: &str, text: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Bad {
        name: name.to_string(),
        message: e.message().trim().to_string(),
    })
}

impl Theme {
    /// The built-in dark theme.
    pub fn dark() -> Theme {
        Theme::from_files("dark", &[]).unwrap_or_else(|_| Theme::plain())
    }

    /// No colours at all (fallback and `NO_COLOR`).
    pub fn plain() -> Theme {
        let r = Color::Reset;
        Theme {
            name: "no-color".into(),
            color: false,
            fg: r,
            bg: r,
            muted: r,
            accent: r,
            border: r,
            border_focused: r,
            title: r,
            title_focused: r,
            selection_fg: r,
            selection_bg: r,
            status_fg: r,
            status_bg: r,
            key: r,
            error: r,
            ok: r,
            contraindicated: r,
            major: r,
            moderate: r,
            minor: r,
            citation_supported: r,
            citation_unsupported: r,
            conflict: r,
        }
    }

    /// `name` is a built-in theme or a path to a theme file; `no_color`
    /// (from `NO_COLOR`) drops the colours.
    pub fn load(name: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        let name = name.unwrap_or("dark");
        let mut theme = if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            let file = parse_file(name, text)?;
            Theme::from_files(name, &[file])?
        } else if Path::new(name).is_file() {
            let text = std::fs::read_to_string(name).map_err(|e| ThemeError::Bad {
                name: name.to_string(),
                message: e.to_string(),
            })?;
            let file = parse_file(name, &text)?;
            Theme::from_files(name, &[file])?
        } else {
            return Err(ThemeError::Unknown(name.to_string()));
        };
        if no_color {
            let name = theme.name.clone();
            theme = Theme::plain();
            theme.name = name;
        }
        Ok(theme)
    }

    /// The dark theme with `overrides` applied in order.
    fn from_files(name: &str, overrides: &[ThemeFile]) -> Result<Theme, ThemeError> {
        let base = parse_file("dark", BUILTIN[0].1)?;
        let mut t = Theme::plain();
        t.name = name.to_string();
        t.color = true;
        for file in std::iter::once(&base).chain(overrides) {
            let set = |slot: &mut Color, v: &Option<String>, field: &str| {
                if let Some(v) = v {
                    *slot = Color::from_str(v).map_err(|_| ThemeError::Bad {
                        name: name.to_string(),
                        message: format!(
                            "field `{field}`: {v:?} is not a colour (accepted: names such as red, light-blue, dark-gray, or #rrggbb)"
                        ),
                    })?;
                }
                Ok::<(), ThemeError>(())
            };
            set(&mut t.fg, &file.fg, "fg")?;
            set(&mut t.bg, &file.bg, "bg")?;
            set(&mut t.muted, &file.muted, "muted")?;
            set(&mut t.accent, &file.accent, "accent")?;
            set(&mut t.border, &file.border, "border")?;
            set(
                &mut t.border_focused,
                &file.border_focused,
                "border_focused",
            )?;
            set(&mut t.title, &file.title, "title")?;
            set(&mut t.title_focused, &file.title_focused, "title_focused")?;
            set(&mut t.selection_fg, &file.selection_fg, "selection_fg")?;
            set(&mut t.selection_bg, &file.selection_bg, "selection_bg")?;
            set(&mut t.status_fg, &file.status_fg, "status_fg")?;
            set(&mut t.status_bg, &file.status_bg, "status_bg")?;
            set(&mut t.key, &file.key, "key")?;
            set(&mut t.error, &file.error, "error")?;
            set(&mut t.ok, &file.ok, "ok")?;
            set(
                &mut t.contraindicated,
                &file.contraindicated,
                "contraindicated",
            )?;
            set(&mut t.major, &file.major, "major")?;
            set(&mut t.moderate, &file.moderate, "moderate")?;
            set(&mut t.minor, &file.minor, "minor")?;
            set(
                &mut t.citation_supported,
                &file.citation_supported,
                "citation_supported",
            )?;
            set(
                &mut t.citation_unsupported,
                &file.citation_unsupported,
                "citation_unsupported",
            )?;
            set(&mut t.conflict, &file.conflict, "conflict")?;
        }
        Ok(t)
    }

    fn fg_style(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn base(&self) -> Style {
        if self.color {
            Style::new().fg(self.fg).bg(self.bg)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        self.fg_style(self.fg)
    }

    pub fn muted(&self) -> Style {
        self.fg_style(self.muted)
    }

    pub fn accent(&self) -> Style {
        self.fg_style(self.accent).add_modifier(Modifier::BOLD)
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg_style(self.title_focused)
                .add_modifier(Modifier::BOLD)
        } else {
            self.fg_style(self.title)
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        self.fg_style(if focused {
            self.border_focused
        } else {
            self.border
        })
    }

    /// The selected row of a list.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new().fg(self.selection_fg).bg(self.selection_bg)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn status(&self) -> Style {
        if self.color {
            Style::new().fg(self.status_fg).bg(self.status_bg)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// A key name in the hint bar and help.
    pub fn key(&self) -> Style {
        self.fg_style(self.key).add_modifier(Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.fg_style(self.error).add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg_style(self.ok)
    }

    /// A flag's severity word and symbol.
    pub fn flag(&self, severity: Severity) -> Style {
        let c = match severity {
            Severity::Contraindicated => self.contraindicated,
            Severity::Major => self.major,
            Severity::Moderate => self.moderate,
            Severity::Minor => self.minor,
        };
        let s = self.fg_style(c);
        if severity >= Severity::Major {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    /// A citation in the answer: supported (retrieved) or not.
    pub fn citation(&self, supported: bool) -> Style {
        if supported {
            self.fg_style(self.citation_supported)
                .add_modifier(Modifier::BOLD)
        } else {
            self.fg_style(self.citation_unsupported)
                .add_modifier(Modifier::BOLD | Modifier::CROSSED_OUT)
        }
    }

    /// A sentence without support.
    pub fn unsupported(&self) -> Style {
        self.fg_style(self.citation_unsupported)
            .add_modifier(Modifier::UNDERLINED)
    }

    /// A sentence that goes against a serious flag.
    pub fn conflict(&self) -> Style {
        self.fg_style(self.conflict)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, _) in BUILTIN {
            let t = Theme::load(Some(name), false).expect("theme");
            assert!(t.color);
        }
    }

    #[test]
    fn no_color_drops_colours_but_keeps_emphasis() {
        let t = Theme::load(Some("dark"), true).expect("theme");
        assert_eq!(t.flag(Severity::Minor), Style::new());
        assert_eq!(t.selected(), Style::new().add_modifier(Modifier::REVERSED));
    }

    #[test]
    fn bad_colour_names_the_field() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.toml");
        std::fs::write(&p, "major = \"blurple\"\n").expect("write");
        let e = Theme::load(p.to_str(), false).expect_err("bad");
        assert!(e.to_string().contains("major"), "{e}");
        assert!(Theme::load(Some("nope"), false).is_err());
    }
}
