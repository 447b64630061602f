//! The intake wizard: patient → labs → allergies → conditions → current
//! medicines → proposed drug(s). Every field edits the session's
//! [`Draft`]; validation messages come from [`Draft::validate`] (which
//! runs `CaseFile::validate`) and are shown under the field they name.
//! Drug fields offer a fuzzy picker over the kb's generic, synonym and
//! brand names and show the generic name a typed name resolves to.

use super::{follow, truncate, Ctx, EventState, View};
use crate::intake::FieldError;
use crate::session::draft::{plain_labs, row_key, CREATININE_KEY};
use crate::session::Draft;
use crate::tui::action::Action;
use crate::tui::keys::{Context, Key};
use crate::tui::strings;
use crossterm::event::KeyCode;
use fuzzy_matcher::skim::SkimMatcherV2;
use fuzzy_matcher::FuzzyMatcher;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

pub const STEP_COUNT: usize = 6;
const PICKER_ROWS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Choice(&'static [&'static str]),
    Drug,
    /// A condition, marked with what the vocabulary reads it as.
    Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub unit: String,
    pub kind: Kind,
    /// Row header shown above this field (first field of a list entry).
    pub header: Option<String>,
}

fn field(key: impl Into<String>, label: &str, unit: &str, kind: Kind) -> Field {
    Field {
        key: key.into(),
        label: label.to_string(),
        unit: unit.to_string(),
        kind,
        header: None,
    }
}

const YES_NO: &[&str] = &["", "yes", "no"];
const SEX: &[&str] = &["", "female", "male", "other", "unknown"];
const ALLERGY_SEVERITY: &[&str] = &["", "mild", "moderate", "severe", "anaphylaxis"];

/// What letters typed into a choice field mean.
#[derive(Debug, PartialEq)]
enum ChoiceMatch<'a> {
    /// Nothing typed.
    Nothing,
    /// A whole option, or a prefix of exactly one.
    One(&'a str),
    /// A prefix of several ("m" of mild, moderate).
    Several(Vec<&'a str>),
    /// No option starts with it.
    None,
}

fn choice_match<'a>(options: &[&'a str], typed: &str) -> ChoiceMatch<'a> {
    if typed.is_empty() {
        return ChoiceMatch::Nothing;
    }
    let real = options.iter().copied().filter(|o| !o.is_empty());
    if let Some(o) = real.clone().find(|o| *o == typed) {
        return ChoiceMatch::One(o);
    }
    let starts: Vec<&str> = real.filter(|o| o.starts_with(typed)).collect();
    match starts.len() {
        0 => ChoiceMatch::None,
        1 => ChoiceMatch::One(starts[0]),
        _ => ChoiceMatch::Several(starts),
    }
}

/// The line under a focused choice field while letters are typed: which
/// options the letters could still mean, or that none accepts them.
fn choice_note(options: &[&str], typed: &str) -> Option<String> {
    let accepted = || {
        options
            .iter()
            .filter(|o| !o.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    };
    match choice_match(options, typed) {
        ChoiceMatch::Nothing | ChoiceMatch::One(_) => None,
        ChoiceMatch::Several(v) => Some(format!("\"{typed}\": keep typing: {}", v.join(" or "))),
        ChoiceMatch::None => Some(format!(
            "\"{typed}\" not accepted (value unchanged); one of: {}; backspace to correct",
            accepted()
        )),
    }
}

/// The list section edited on `step`, if any.
pub fn step_list(step: usize) -> Option<&'static str> {
    match step {
        2 => Some("allergies"),
        3 => Some("conditions"),
        4 => Some("medications"),
        5 => Some("proposed"),
        _ => None,
    }
}

/// The fields of one step, in order.
pub fn fields(draft: &Draft, step: usize) -> Vec<Field> {
    match step {
        0 => vec![
            field("patient.age", "Age", "years", Kind::Number),
            field("patient.sex", "Sex", "", Kind::Choice(SEX)),
            field(
                "patient.weight",
                "Weight",
                if draft.weight_lb {
                    "lb  (ctrl-u: kg)"
                } else {
                    "kg  (ctrl-u: lb)"
                },
                Kind::Number,
            ),
            field("patient.height_cm", "Height", "cm", Kind::Number),
            field("patient.pregnant", "Pregnant", "", Kind::Choice(YES_NO)),
            field("patient.trimester", "Trimester", "1-3", Kind::Number),
            field(
                "patient.breastfeeding",
                "Breastfeeding",
                "",
                Kind::Choice(YES_NO),
            ),
        ],
        1 => {
            let mut v = vec![field(
                CREATININE_KEY,
                crate::vocab::lab::spec(crate::vocab::LabKind::Creatinine).label,
                if draft.creatinine_umol {
                    "µmol/L  (ctrl-u: mg/dL)"
                } else {
                    "mg/dL  (ctrl-u: µmol/L)"
                },
                Kind::Number,
            )];
            v.extend(plain_labs().map(|(k, s)| field(k, s.label, s.unit, Kind::Number)));
            v
        }
        _ => {
            let Some(list) = step_list(step) else {
                return Vec::new();
            };
            let mut v = Vec::new();
            for i in 0..draft.rows(list) {
                let mut row: Vec<Field> = match list {
                    "allergies" => vec![
                        field(row_key(list, i, "substance"), "Substance", "", Kind::Text),
                        field(row_key(list, i, "reaction"), "Reaction", "", Kind::Text),
                        field(
                            row_key(list, i, "severity"),
                            "Severity",
                            "",
                            Kind::Choice(ALLERGY_SEVERITY),
                        ),
                    ],
                    "conditions" => {
                        vec![field(
                            row_key(list, i, ""),
                            "Condition",
                            "",
                            Kind::Condition,
                        )]
                    }
                    _ => {
                        let mut r = vec![
                            field(row_key(list, i, "drug"), "Drug", "", Kind::Drug),
                            field(row_key(list, i, "dose"), "Dose", "e.g. 500 mg", Kind::Text),
                            field(
                                row_key(list, i, "frequency"),
                                "Frequency",
                                "daily, bid, q6h…",
                                Kind::Text,
                            ),
                        ];
                        if list == "proposed" {
                            r.push(field(
                                row_key(list, i, "indication"),
                                "Indication",
                                "",
                                Kind::Text,
                            ));
                        }
                        r
                    }
                };
                if list != "conditions" || i == 0 {
                    if let Some(first) = row.first_mut() {
                        first.header = Some(if list == "conditions" {
                            "Conditions (free text)".to_string()
                        } else {
                            format!("#{}", i + 1)
                        });
                    }
                }
                v.extend(row);
            }
            v
        }
    }
}

#[derive(Debug, Default)]
pub struct IntakeView {
    pub draft: Draft,
    pub step: usize,
    pub field: usize,
    /// Problems found by the last validation.
    pub errors: Vec<FieldError>,
    /// Show "required" errors for empty fields too (after a check attempt).
    pub attempted: bool,
    /// The draft changed since the app last saved it.
    pub dirty: bool,
    /// (display name, generic) for the drug picker.
    pub names: Vec<(String, String)>,
    pub picker_sel: usize,
    pub picker_closed: bool,
    /// Letters typed into the focused choice field since it got focus: a
    /// whole word or a unique prefix of one option picks it; anything else
    /// changes nothing and is shown as not accepted.
    choice_typed: String,
    /// (step, field) the letters were typed into; moving away forgets them.
    choice_at: (usize, usize),
}

impl IntakeView {
    pub fn new(draft: Draft, step: usize, field: usize) -> IntakeView {
        let mut v = IntakeView {
            draft,
            step: step.min(STEP_COUNT - 1),
            field,
            ..IntakeView::default()
        };
        v.clamp();
        v.revalidate();
        v
    }

    pub fn fields(&self) -> Vec<Field> {
        fields(&self.draft, self.step)
    }

    pub fn current(&self) -> Option<Field> {
        self.fields().into_iter().nth(self.field)
    }

    fn clamp(&mut self) {
        let n = self.fields().len();
        self.field = self.field.min(n.saturating_sub(1));
    }

    pub fn revalidate(&mut self) {
        self.errors = self.draft.validate("session").err().unwrap_or_default();
    }

    /// The message shown under `key`: value errors always, "required"
    /// errors of empty fields only after a check attempt.
    pub fn error_for(&self, key: &str) -> Option<&str> {
        let empty = self.draft.get(key).trim().is_empty();
        self.errors
            .iter()
            .find(|e| Draft::error_key(&e.field, key) && (self.attempted || !empty))
            .map(|e| e.message.as_str())
    }

    /// Moves to the first field with an error; returns whether one exists.
    pub fn focus_first_error(&mut self) -> bool {
        for step in 0..STEP_COUNT {
            for (i, f) in fields(&self.draft, step).iter().enumerate() {
                if self
                    .errors
                    .iter()
                    .any(|e| Draft::error_key(&e.field, &f.key))
                {
                    self.step = step;
                    self.field = i;
                    return true;
                }
            }
        }
        false
    }

    /// Picker candidates for the focused drug field: (display, generic).
    pub fn picker(&self) -> Vec<(String, String)> {
        let Some(f) = self.current() else {
            return Vec::new();
        };
        let q = self.draft.get(&f.key).trim().to_string();
        if f.kind != Kind::Drug || q.is_empty() || self.picker_closed || self.names.is_empty() {
            return Vec::new();
        }
        let m = SkimMatcherV2::default();
        let ql = q.to_lowercase();
        let mut scored: Vec<(i64, &(String, String))> = self
            .names
            .iter()
            .filter_map(|n| {
                let exact = n.0.to_lowercase() == ql;
                m.fuzzy_match(&n.0, &q)
                    .map(|s| (if exact { i64::MAX } else { s }, n))
            })
            .collect();
        scored.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1 .0.len().cmp(&b.1 .0.len()))
                .then(a.1 .0.cmp(&b.1 .0))
        });
        let mut out: Vec<(String, String)> = Vec::new();
        for (_, n) in scored {
            if !out.iter().any(|o| o.0.eq_ignore_ascii_case(&n.0)) {
                out.push(n.clone());
            }
            if out.len() == PICKER_ROWS {
                break;
            }
        }
        out
    }

    fn edit(&mut self, f: impl FnOnce(&mut Draft)) {
        f(&mut self.draft);
        self.dirty = true;
        self.revalidate();
    }

    fn set_focused(&mut self, value: String) {
        if let Some(f) = self.current() {
            self.edit(|d| d.set(&f.key, value));
        }
    }

    fn move_field(&mut self, delta: isize) -> EventState {
        let n = self.fields().len();
        let next = self.field as isize + delta;
        if next < 0 {
            if self.step > 0 {
                self.step -= 1;
                self.field = self.fields().len().saturating_sub(1);
            }
        } else if next as usize >= n {
            if self.step + 1 < STEP_COUNT {
                self.step += 1;
                self.field = 0;
            } else {
                return EventState::action(Action::Check);
            }
        } else {
            self.field = next as usize;
        }
        self.picker_sel = 0;
        self.picker_closed = false;
        self.dirty = true;
        EventState::CONSUMED
    }

    fn go_step(&mut self, step: usize) {
        self.step = step.min(STEP_COUNT - 1);
        self.field = 0;
        self.picker_sel = 0;
        self.dirty = true;
    }

    fn type_char(&mut self, f: &Field, c: char) {
        match f.kind {
            Kind::Choice(options) => {
                if c == ' ' {
                    self.cycle(f, options, 1);
                } else {
                    self.choice_letters().extend(c.to_lowercase());
                    self.apply_choice(options);
                }
            }
            Kind::Number if !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-')) => {}
            _ => {
                let mut v = self.draft.get(&f.key).to_string();
                v.push(c);
                self.picker_closed = false;
                self.picker_sel = 0;
                self.set_focused(v);
            }
        }
    }

    /// The letters typed into the focused choice field (empty after a move).
    fn choice_letters(&mut self) -> &mut String {
        if self.choice_at != (self.step, self.field) {
            self.choice_at = (self.step, self.field);
            self.choice_typed.clear();
        }
        &mut self.choice_typed
    }

    /// Sets the focused choice field from the letters typed, when they are
    /// a whole option or a prefix of exactly one.
    fn apply_choice(&mut self, options: &[&str]) {
        if let ChoiceMatch::One(o) = choice_match(options, &self.choice_typed) {
            self.set_focused(o.to_string());
        }
    }

    fn cycle(&mut self, f: &Field, options: &[&str], delta: isize) {
        self.choice_typed.clear();
        let cur = self.draft.get(&f.key);
        let i = options.iter().position(|o| *o == cur).unwrap_or(0) as isize;
        let n = options.len() as isize;
        let next = options[((i + delta).rem_euclid(n)) as usize];
        self.set_focused(next.to_string());
    }
}

impl View for IntakeView {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState {
        let Some(f) = self.current() else {
            return EventState::NOT_CONSUMED;
        };
        // The picker takes ↑/↓/enter/esc while it is open.
        let picks = self.picker();
        if !picks.is_empty() {
            match key.code {
                KeyCode::Up => {
                    self.picker_sel = self.picker_sel.saturating_sub(1);
                    return EventState::CONSUMED;
                }
                KeyCode::Down => {
                    self.picker_sel = (self.picker_sel + 1).min(picks.len() - 1);
                    return EventState::CONSUMED;
                }
                KeyCode::Enter => {
                    if let Some((_, generic)) = picks.get(self.picker_sel) {
                        self.set_focused(generic.clone());
                    }
                    self.picker_closed = true;
                    return self.move_field(1);
                }
                KeyCode::Esc => {
                    self.picker_closed = true;
                    return EventState::CONSUMED;
                }
                _ => {}
            }
        }
        if let Some(c) = key.typed_char() {
            self.type_char(&f, c);
            return EventState::CONSUMED;
        }
        if let (Kind::Choice(options), KeyCode::Backspace) = (f.kind, key.code) {
            // Backspace edits what was typed; with nothing typed it clears.
            let letters = self.choice_letters();
            if letters.pop().is_none() || letters.is_empty() {
                letters.clear();
                self.set_focused(String::new());
            } else {
                self.apply_choice(options);
            }
            return EventState::CONSUMED;
        }
        if key.code == KeyCode::Backspace {
            let mut v = self.draft.get(&f.key).to_string();
            v.pop();
            self.picker_closed = false;
            self.set_focused(v);
            return EventState::CONSUMED;
        }
        if let Kind::Choice(options) = f.kind {
            match key.code {
                KeyCode::Left => {
                    self.cycle(&f, options, -1);
                    return EventState::CONSUMED;
                }
                KeyCode::Right => {
                    self.cycle(&f, options, 1);
                    return EventState::CONSUMED;
                }
                _ => {}
            }
        }
        match ctx.keys.action(Context::Intake, key) {
            Some(Action::NextField | Action::Select) => self.move_field(1),
            Some(Action::PrevField) => self.move_field(-1),
            Some(Action::NextStep) => {
                if self.step + 1 < STEP_COUNT {
                    self.go_step(self.step + 1);
                    EventState::CONSUMED
                } else {
                    EventState::action(Action::Check)
                }
            }
            Some(Action::PrevStep) => {
                self.go_step(self.step.saturating_sub(1));
                EventState::CONSUMED
            }
            Some(Action::ToggleUnit) => {
                match f.key.as_str() {
                    "patient.weight" => self.edit(Draft::toggle_weight_unit),
                    CREATININE_KEY => self.edit(Draft::toggle_creatinine_unit),
                    _ => {}
                }
                EventState::CONSUMED
            }
            Some(Action::AddRow) => {
                if let Some(list) = step_list(self.step) {
                    self.edit(|d| d.add_row(list));
                    let per_row = fields(&self.draft, self.step).len() / self.draft.rows(list);
                    self.field = (self.draft.rows(list) - 1) * per_row;
                }
                EventState::CONSUMED
            }
            Some(Action::RemoveRow) => {
                if let Some(list) = step_list(self.step) {
                    let per_row = (self.fields().len() / self.draft.rows(list)).max(1);
                    let row = self.field / per_row;
                    self.edit(|d| d.remove_row(list, row));
                    self.clamp();
                }
                EventState::CONSUMED
            }
            Some(Action::ClearField) => {
                self.set_focused(String::new());
                EventState::CONSUMED
            }
            Some(a @ (Action::Check | Action::Back | Action::Help | Action::ForceQuit)) => {
                EventState::action(a)
            }
            _ => EventState::NOT_CONSUMED,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let width = usize::from(area.width.saturating_sub(2));
        let label_w = 14usize;
        let box_w = if width >= 100 { 30 } else { 22 };
        let mut lines: Vec<Line> = Vec::new();
        let mut focus_line = 0usize;
        let picks = self.picker();
        for (i, f) in self.fields().iter().enumerate() {
            if let Some(h) = &f.header {
                lines.push(Line::from(Span::styled(format!(" {h}"), t.accent())));
            }
            let focused = i == self.field;
            if focused {
                focus_line = lines.len();
            }
            let value = self.draft.get(&f.key);
            let shown = match f.kind {
                Kind::Choice(_) if value.is_empty() => "—".to_string(),
                Kind::Choice(_) => format!("‹ {value} ›"),
                _ => value.to_string(),
            };
            let cursor = if focused && !matches!(f.kind, Kind::Choice(_)) {
                "█"
            } else {
                ""
            };
            let boxed = truncate(&format!("{shown}{cursor}"), box_w);
            let mut spans = vec![
                Span::styled(if focused { " ▶ " } else { "   " }, t.accent()),
                Span::styled(
                    format!("{:<label_w$}", truncate(&f.label, label_w)),
                    t.title(focused),
                ),
                Span::styled(
                    format!("[{boxed:<box_w$}]"),
                    if focused { t.selected() } else { t.text() },
                ),
            ];
            if !f.unit.is_empty() {
                spans.push(Span::styled(format!(" {}", f.unit), t.muted()));
            }
            if f.kind == Kind::Drug && !value.trim().is_empty() {
                if let Some(kb) = ctx.kb {
                    let r = kb.resolve(value.trim());
                    match kb.generic_of(&r) {
                        Some(g) if r.unmatched.is_empty() => {
                            spans.push(Span::styled(format!(" ✓ {g}"), t.ok()));
                        }
                        Some(g) => spans.push(Span::styled(
                            format!(" ? {g}; not in kb: {}", r.unmatched.join(", ")),
                            t.error(),
                        )),
                        None => spans.push(Span::styled(" ? not in kb", t.error())),
                    }
                }
            }
            if f.kind == Kind::Condition && !value.trim().is_empty() {
                if let Some(kb) = ctx.kb {
                    let r = kb.conditions.read(value.trim(), None);
                    match (r.recognised(), r.did_you_mean) {
                        (true, _) => {
                            spans.push(Span::styled(format!(" ✓ {}", r.read_as.join(", ")), t.ok()))
                        }
                        (false, Some(d)) => {
                            spans.push(Span::styled(format!(" ? did you mean {d}?"), t.error()))
                        }
                        (false, None) => spans.push(Span::styled(" ? not recognised", t.error())),
                    }
                }
            }
            lines.push(Line::from(spans));
            if focused && !picks.is_empty() {
                for (j, (display, generic)) in picks.iter().enumerate() {
                    let text = if display.eq_ignore_ascii_case(generic) {
                        display.clone()
                    } else {
                        format!("{display} → {generic}")
                    };
                    let style = if j == self.picker_sel {
                        t.selected()
                    } else {
                        t.text()
                    };
                    lines.push(Line::from(vec![
                        Span::raw(" ".repeat(label_w + 4)),
                        Span::styled(truncate(&format!(" {text} "), box_w + 14), style),
                    ]));
                }
            }
            if let (true, Kind::Choice(options)) = (focused, f.kind) {
                let typed = if self.choice_at == (self.step, self.field) {
                    self.choice_typed.as_str()
                } else {
                    ""
                };
                if let Some(note) = choice_note(options, typed) {
                    lines.push(Line::from(Span::styled(
                        truncate(&format!("    {note}"), width),
                        t.error(),
                    )));
                }
            }
            if let Some(msg) = self.error_for(&f.key) {
                let indent = 4;
                for (j, l) in super::wrap(msg, width.saturating_sub(indent + 2))
                    .into_iter()
                    .enumerate()
                {
                    lines.push(Line::from(Span::styled(
                        format!(
                            "{}{} {l}",
                            " ".repeat(indent),
                            if j == 0 { "✗" } else { " " }
                        ),
                        t.error(),
                    )));
                }
            }
        }
        let height = usize::from(area.height.saturating_sub(2));
        let picker_extra = if picks.is_empty() { 0 } else { picks.len() };
        let scroll = follow(0, focus_line + picker_extra, height);
        let scroll = follow(scroll, focus_line, height);
        let title = format!(
            " Step {}/{}: {} ",
            self.step + 1,
            STEP_COUNT,
            strings::STEPS[self.step]
        );
        frame.render_widget(
            Paragraph::new(lines)
                .scroll((u16::try_from(scroll).unwrap_or(0), 0))
                .block(
                    Block::bordered()
                        .title(Span::styled(title, t.title(true)))
                        .border_style(t.border(true)),
                ),
            area,
        );
    }

    fn hints(&self) -> Vec<Action> {
        let mut v = vec![Action::NextField, Action::NextStep, Action::Check];
        match self.current().map(|f| f.key) {
            Some(k) if k == "patient.weight" || k == CREATININE_KEY => v.push(Action::ToggleUnit),
            _ => {}
        }
        if step_list(self.step).is_some() {
            v.push(Action::AddRow);
            v.push(Action::RemoveRow);
        }
        v.push(Action::PrevStep);
        v.push(Action::Back);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tui::keys::KeyList;
    use crate::tui::theme::Theme;
    use crossterm::event::{KeyCode, KeyModifiers};

    /// Types `text` into the field `key` of step `step`, as a user would.
    fn type_into(step: usize, key: &str, text: &str) -> IntakeView {
        type_into_draft(Draft::default(), step, key, text)
    }

    fn type_into_draft(draft: Draft, step: usize, key: &str, text: &str) -> IntakeView {
        let mut v = IntakeView::new(draft, step, 0);
        v.field = v.fields().iter().position(|f| f.key == key).expect("field");
        let (theme, keys) = (Theme::dark(), KeyList::default());
        let ctx = Ctx {
            theme: &theme,
            keys: &keys,
            kb: None,
            focused: true,
        };
        for c in text.chars() {
            let code = if c == '\u{8}' {
                KeyCode::Backspace
            } else {
                KeyCode::Char(c)
            };
            v.handle_key(&Key::new(code, KeyModifiers::NONE), &ctx);
        }
        v
    }

    #[test]
    fn a_typed_word_picks_that_option() {
        assert_eq!(
            type_into(0, "patient.sex", "female")
                .draft
                .get("patient.sex"),
            "female"
        );
        assert_eq!(
            type_into(0, "patient.sex", "Male").draft.get("patient.sex"),
            "male"
        );
        assert_eq!(
            type_into(0, "patient.sex", "f").draft.get("patient.sex"),
            "female"
        );
    }

    #[test]
    fn an_ambiguous_prefix_waits_and_a_wrong_word_changes_nothing() {
        let mut d = Draft::default();
        d.add_row("allergies");
        let (step, key) = (2, "allergies[0].severity");
        let sev = |text: &str| {
            type_into_draft(d.clone(), step, key, text)
                .draft
                .get(key)
                .to_string()
        };
        assert_eq!(sev("moderate"), "moderate");
        assert_eq!(sev("m"), "");
        assert_eq!(sev("mi"), "mild");
        let v = type_into(0, "patient.sex", "fx");
        assert_eq!(v.draft.get("patient.sex"), "female");
        let note = choice_note(SEX, &v.choice_typed).expect("a note");
        assert!(
            note.contains("not accepted") && note.contains("female, male"),
            "{note}"
        );
        // "x" alone is no option: nothing is set.
        assert_eq!(
            type_into(0, "patient.sex", "x").draft.get("patient.sex"),
            ""
        );
        // Backspace corrects the letters, then clears.
        let v = type_into(0, "patient.sex", "fx\u{8}");
        assert_eq!(v.draft.get("patient.sex"), "female");
        assert!(choice_note(SEX, &v.choice_typed).is_none());
        assert_eq!(
            type_into(0, "patient.sex", "f\u{8}")
                .draft
                .get("patient.sex"),
            ""
        );
    }

    #[test]
    fn every_step_has_fields() {
        let d = Draft::default();
        for s in 0..STEP_COUNT {
            assert!(!fields(&d, s).is_empty(), "step {s}");
        }
    }
}
