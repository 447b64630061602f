//! Demo replay (`rxguide demo SCRIPT`) and recording (`rxguide tui
//! --record FILE`): a small TOML script of keystrokes and pauses played
//! into the real terminal app at a readable pace.
//!
//! ```toml
//! title = "Metformin in CKD 4"
//! case = "sessions/cases/metformin-ckd4.toml"   # optional; relative to the script, else the cwd
//! backend = "none"                              # none (default, deterministic) | local | openai
//! pause_ms = 800                                # default wait before each step
//! steps = [
//!   { keys = "tab tab", pause_ms = 1500, say = "The sources behind the flag" },
//!   { text = "74" },
//! ]
//! ```
//!
//! `keys` are key names as in `keys.toml` (`tab`, `ctrl-g`, `pagedown`,
//! `enter`, a character), separated by spaces; `text` is typed character
//! by character. Output is deterministic: `--backend none` by default, and
//! every generation request is greedy with a fixed seed
//! ([`crate::llm::GenRequest::new`]). While playing, space pauses and
//! resumes, `n` plays the next step now; every other key goes to the app.

use crate::tui::keys::Key;
use crossterm::event::{KeyCode, KeyModifiers};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default wait before a step, and between typed characters.
pub const DEFAULT_PAUSE_MS: u64 = 800;
pub const TYPE_MS: u64 = 70;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Wait before this step (default: the script's `pause_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
    /// A caption for the status bar while this step plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub say: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: steps[{index}]: {message}")]
    Step {
        path: String,
        index: usize,
        message: String,
    },
    #[error("{path}: backend {value:?}; accepted: none, local, openai")]
    Backend { path: String, value: String },
}

/// One key to play, with the wait before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub key: Key,
    pub wait: Duration,
    pub step: usize,
}

impl Script {
    /// Reads and checks a script; a relative `case` is resolved against
    /// the script's directory when the file is there, else kept as is.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError::Read {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let mut s = Script::parse(&text, &p)?;
        if let Some(case) = &s.case {
            if case.is_relative() {
                let beside = path.parent().map(|d| d.join(case));
                if let Some(b) = beside.filter(|b| b.exists()) {
                    s.case = Some(b);
                }
            }
        }
        Ok(s)
    }

    pub fn parse(text: &str, path: &str) -> Result<Script, ScriptError> {
        let s: Script = toml::from_str(text).map_err(|e| ScriptError::Read {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        if let Some(b) = &s.backend {
            if !matches!(b.as_str(), "none" | "local" | "openai") {
                return Err(ScriptError::Backend {
                    path: path.to_string(),
                    value: b.clone(),
                });
            }
        }
        s.events().map_err(|(index, message)| ScriptError::Step {
            path: path.to_string(),
            index,
            message,
        })?;
        Ok(s)
    }

    /// The keys to play, in order.
    pub fn events(&self) -> Result<Vec<Event>, (usize, String)> {
        let default = self.pause_ms.unwrap_or(DEFAULT_PAUSE_MS);
        let mut out = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let mut wait = Duration::from_millis(step.pause_ms.unwrap_or(default));
            let keys: Vec<Key> = match (&step.keys, &step.text) {
                (Some(k), None) => k
                    .split_whitespace()
                    .map(Key::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|e| (i, e))?,
                (None, Some(t)) => t
                    .chars()
                    .map(|c| Key::new(KeyCode::Char(c), KeyModifiers::NONE))
                    .collect(),
                _ => return Err((i, "give exactly one of keys or text".to_string())),
            };
            if keys.is_empty() {
                return Err((i, "no keys".to_string()));
            }
            let per_key = if step.text.is_some() { TYPE_MS } else { 250 };
            for key in keys {
                out.push(Event { key, wait, step: i });
                wait = Duration::from_millis(per_key);
            }
        }
        Ok(out)
    }

    pub fn to_toml(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let mut out =
            String::from("# Recorded by rxguide tui --record; play with rxguide demo FILE.\n");
        if let Some(t) = &self.title {
            out.push_str(&format!("title = {}\n", q(t)));
        }
        if let Some(c) = &self.case {
            out.push_str(&format!("case = {}\n", q(&c.display().to_string())));
        }
        if let Some(b) = &self.backend {
            out.push_str(&format!("backend = {}\n", q(b)));
        }
        out.push_str("steps = [\n");
        for s in &self.steps {
            let mut parts = Vec::new();
            if let Some(k) = &s.keys {
                parts.push(format!("keys = {}", q(k)));
            }
            if let Some(t) = &s.text {
                parts.push(format!("text = {}", q(t)));
            }
            if let Some(p) = s.pause_ms {
                parts.push(format!("pause_ms = {p}"));
            }
            out.push_str(&format!("  {{ {} }},\n", parts.join(", ")));
        }
        out.push_str("]\n");
        out
    }
}

/// Plays a script's keys on time; the event loop asks it for the next
/// deadline and for the keys that are due.
#[derive(Debug, Clone, Default)]
pub struct Player {
    pub title: String,
    events: Vec<Event>,
    captions: Vec<Option<String>>,
    steps: usize,
    next: usize,
    paused: bool,
    due: Option<Instant>,
}

impl Player {
    pub fn new(script: &Script) -> Result<Player, ScriptError> {
        let events = script
            .events()
            .map_err(|(index, message)| ScriptError::Step {
                path: "script".into(),
                index,
                message,
            })?;
        Ok(Player {
            title: script.title.clone().unwrap_or_else(|| "demo".into()),
            captions: script.steps.iter().map(|s| s.say.clone()).collect(),
            steps: script.steps.len(),
            events,
            ..Player::default()
        })
    }

    /// Starts the clock: the first key is due after its wait.
    pub fn start(&mut self, now: Instant) {
        self.due = self.events.first().map(|e| now + e.wait);
    }

    /// Whether [`Player::start`] has been called.
    pub fn started(&self) -> bool {
        self.due.is_some() || self.events.is_empty()
    }

    pub fn finished(&self) -> bool {
        self.next >= self.events.len()
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    /// When the next key is due (none when paused or finished).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.paused || self.finished() {
            None
        } else {
            self.due
        }
    }

    /// Space pauses or resumes, `n` plays the next key now. Returns
    /// whether the key was the player's.
    pub fn on_user_key(&mut self, key: &Key, now: Instant) -> bool {
        if self.finished()
            || key
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return false;
        }
        match key.code {
            KeyCode::Char(' ') => {
                self.paused = !self.paused;
                if !self.paused {
                    self.due = self.events.get(self.next).map(|e| now + e.wait);
                }
                true
            }
            KeyCode::Char('n') => {
                self.due = Some(now);
                self.paused = false;
                true
            }
            _ => false,
        }
    }

    /// The next key if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Key> {
        if self.paused || now < self.due? {
            return None;
        }
        let e = self.events.get(self.next)?;
        let key = e.key;
        self.next += 1;
        self.due = self.events.get(self.next).map(|e| now + e.wait);
        Some(key)
    }

    /// For the status bar (short: it shares the line with the kb and
    /// model status).
    pub fn status(&self) -> String {
        if self.finished() {
            return "demo finished · q quits".to_string();
        }
        let step = self.events.get(self.next).map_or(self.steps, |e| e.step);
        if self.paused {
            return format!("⏸ {}/{} paused · space resumes", step + 1, self.steps);
        }
        let caption = self
            .captions
            .get(step)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "space pause · n next".to_string());
        format!("▶ {}/{} {caption}", step + 1, self.steps)
    }
}

/// The script name of a key (what [`Key::parse`] reads back).
pub fn key_name(key: &Key) -> String {
    let mut s = String::new();
    if key.mods.contains(KeyModifiers::CONTROL) {
        s.push_str("ctrl-");
    }
    if key.mods.contains(KeyModifiers::ALT) {
        s.push_str("alt-");
    }
    if key.mods.contains(KeyModifiers::SHIFT) && key.code != KeyCode::BackTab {
        s.push_str("shift-");
    }
    let code = match key.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "backtab".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::PageUp => "pageup".into(),
        KeyCode::PageDown => "pagedown".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::Backspace => "backspace".into(),
        KeyCode::Delete => "delete".into(),
        KeyCode::F(n) => format!("f{n}"),
        _ => return String::new(),
    };
    s.push_str(&code);
    s
}

/// Records keystrokes as script steps: runs of typed characters become
/// `text` steps, other keys `keys` steps; the gap before each step
/// becomes its `pause_ms` (clamped to 0.2-4 s, rounded to 100 ms).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub path: PathBuf,
    pub script: Script,
    last: Option<Instant>,
}

impl Recorder {
    pub fn new(path: PathBuf, case: Option<PathBuf>, backend: &str) -> Recorder {
        Recorder {
            path,
            script: Script {
                title: Some("recorded session".into()),
                case,
                backend: Some(backend.to_string()),
                ..Script::default()
            },
            last: None,
        }
    }

    pub fn record(&mut self, key: &Key, now: Instant) {
        let name = key_name(key);
        if name.is_empty() {
            return;
        }
        let gap = self
            .last
            .map_or(Duration::from_millis(DEFAULT_PAUSE_MS), |l| {
                now.saturating_duration_since(l)
            });
        self.last = Some(now);
        let gap_ms = (gap.as_millis() as u64).clamp(200, 4000) / 100 * 100;
        let typed = key
            .typed_char()
            .filter(|c| *c != ' ' || gap < Duration::from_millis(600));
        if let (Some(c), Some(last)) = (typed, self.script.steps.last_mut()) {
            if let Some(t) = &mut last.text {
                if gap < Duration::from_millis(1000) {
                    t.push(c);
                    return;
                }
            }
        }
        let step = match typed {
            Some(c) if c != ' ' => Step {
                text: Some(c.to_string()),
                pause_ms: Some(gap_ms),
                ..Step::default()
            },
            _ => Step {
                keys: Some(name),
                pause_ms: Some(gap_ms),
                ..Step::default()
            },
        };
        self.script.steps.push(step);
    }

    /// Drops the last recorded key (the one that quit the app, which a
    /// replay should not press).
    pub fn forget_last(&mut self) {
        let Some(last) = self.script.steps.last_mut() else {
            return;
        };
        if let Some(t) = &mut last.text {
            t.pop();
            if !t.is_empty() {
                return;
            }
        } else if let Some(k) = &mut last.keys {
            let mut v: Vec<&str> = k.split_whitespace().collect();
            v.pop();
            if !v.is_empty() {
                *k = v.join(" ");
                return;
            }
        }
        self.script.steps.pop();
    }

    /// Writes the script (user-only: it can hold what was typed).
    pub fn save(&self) -> std::io::Result<()> {
        crate::tui::modes::write_private(&self.path, &self.script.to_toml())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = r#"
title = "t"
case = "sessions/cases/metformin-ckd4.toml"
pause_ms = 500
steps = [
  { keys = "tab ctrl-g", pause_ms = 1000, say = "hello" },
  { text = "74" },
]
"#;

    #[test]
    fn events_carry_waits() {
        let s = Script::parse(SCRIPT, "x").expect("parses");
        let e = s.events().expect("events");
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].wait, Duration::from_millis(1000));
        assert_eq!(e[1].wait, Duration::from_millis(250));
        assert_eq!(e[2].wait, Duration::from_millis(500));
        assert_eq!(e[3].wait, Duration::from_millis(TYPE_MS));
        assert_eq!(e[1].key, Key::parse("ctrl-g").expect("key"));
    }

    #[test]
    fn bad_steps_name_the_step() {
        let e = Script::parse(
            "steps = [ { keys = \"tab\" }, { keys = \"nokey\" } ]",
            "d.toml",
        )
        .expect_err("bad");
        assert!(e.to_string().starts_with("d.toml: steps[1]:"), "{e}");
        let e =
            Script::parse("steps = [ { keys = \"a\", text = \"b\" } ]", "d.toml").expect_err("bad");
        assert!(e.to_string().contains("exactly one of keys or text"));
        let e = Script::parse("backend = \"gpt\"\nsteps = []", "d.toml").expect_err("bad");
        assert!(e.to_string().contains("accepted: none, local, openai"));
    }

    #[test]
    fn player_plays_on_time_pauses_and_skips() {
        let s = Script::parse(SCRIPT, "x").expect("parses");
        let mut p = Player::new(&s).expect("player");
        let t0 = Instant::now();
        p.start(t0);
        assert_eq!(p.pop_due(t0), None);
        assert_eq!(p.status(), "▶ 1/2 hello");
        let t1 = t0 + Duration::from_millis(1000);
        assert_eq!(p.pop_due(t1), Key::parse("tab").ok());
        assert!(p.on_user_key(&Key::parse("space").expect("k"), t1));
        assert!(p.paused());
        assert_eq!(p.next_deadline(), None);
        assert_eq!(p.pop_due(t1 + Duration::from_secs(9)), None);
        assert!(p.on_user_key(&Key::parse("n").expect("k"), t1));
        assert_eq!(p.pop_due(t1), Key::parse("ctrl-g").ok());
        assert!(!p.on_user_key(&Key::parse("q").expect("k"), t1));
        let t2 = t1 + Duration::from_secs(1);
        assert!(p.pop_due(t2).is_some());
        assert!(p.pop_due(t2 + Duration::from_secs(1)).is_some());
        assert!(p.finished());
        assert!(p.status().contains("finished"));
    }

    #[test]
    fn recorder_round_trips_through_the_script_format() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut r = Recorder::new(dir.path().join("rec.toml"), None, "none");
        let t = Instant::now();
        for (k, ms) in [
            ("n", 0),
            ("7", 1500),
            ("4", 1600),
            ("tab", 2500),
            ("ctrl-g", 9000),
        ] {
            r.record(&Key::parse(k).expect("key"), t + Duration::from_millis(ms));
        }
        r.save().expect("save");
        let s = Script::load(&r.path).expect("reads back");
        let keys: Vec<String> = s
            .events()
            .expect("events")
            .iter()
            .map(|e| key_name(&e.key))
            .collect();
        assert_eq!(keys, ["n", "7", "4", "tab", "ctrl-g"]);
        assert_eq!(s.steps[1].text.as_deref(), Some("74"));
        assert_eq!(s.steps[3].pause_ms, Some(4000));
    }

    #[test]
    fn shipped_demos_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("demos");
        let mut n = 0;
        for e in std::fs::read_dir(dir).expect("demos/").flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                let s = Script::load(&e.path()).expect("valid demo");
                assert!(s.case.as_ref().is_none_or(|c| c.exists()), "{:?}", s.case);
                n += 1;
            }
        }
        assert!(n >= 2);
    }
}
