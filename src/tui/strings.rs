//! UI text in one place.

use super::action::Action;

pub const APP: &str = "rxguide";
pub const NO_MODEL: &str = "no model: flags and sources only";
pub const KB_LOADING: &str = "opening knowledge base…";
pub const NOT_CHECKED: &str = "Not checked:";
pub const NO_FLAGS: &str =
    "No flag raised by the rules that could be checked. See \"Not checked\" below.";
pub use crate::vocab::flag::{NO_PROPOSED_FLAGS, REGIMEN_FLAGS};
pub const HELP_TITLE: &str = "Keys (any key closes)";
pub const LEGEND: &str =
    "✓ supported  ? no citation  ✗ cites unknown passage  ⚠ conflicts with a flag";
pub const STEPS: [&str; 6] = [
    "Patient",
    "Labs",
    "Allergies",
    "Conditions",
    "Current medicines",
    "Proposed drug(s)",
];

/// What an action does, for the hint bar and the help overlay.
pub fn action(a: Action) -> &'static str {
    match a {
        Action::Quit => "quit",
        Action::ForceQuit => "quit now",
        Action::Help => "help",
        Action::NextPane => "next pane",
        Action::PrevPane => "previous pane",
        Action::Up => "up",
        Action::Down => "down",
        Action::PageUp => "page up",
        Action::PageDown => "page down",
        Action::Top => "top",
        Action::Bottom => "bottom",
        Action::Select => "select / open",
        Action::Back => "back",
        Action::StopGeneration => "stop generation (else back)",
        Action::ToggleRag => "RAG on/off: both answers side by side",
        Action::Regenerate => "regenerate",
        Action::Export => "export note + case",
        Action::EditIntake => "edit intake",
        Action::NextField => "next field",
        Action::PrevField => "previous field",
        Action::NextStep => "next step",
        Action::PrevStep => "previous step",
        Action::ToggleUnit => "toggle unit",
        Action::AddRow => "add entry",
        Action::RemoveRow => "remove entry",
        Action::ClearField => "clear field",
        Action::Check => "check (results)",
        Action::NewSession => "new session",
        Action::OpenCase => "open case file",
        Action::Search => "search sessions",
        Action::Models => "open-model catalogue",
    }
}

/// Short form for the hint bar.
pub fn hint(a: Action) -> &'static str {
    match a {
        Action::ToggleRag => "RAG on/off",
        Action::Export => "export",
        Action::Select => "open",
        Action::Check => "check",
        Action::NewSession => "new",
        Action::OpenCase => "open file",
        Action::Search => "search",
        Action::NextField => "field",
        Action::NextStep => "step",
        Action::PrevStep => "back a step",
        Action::ToggleUnit => "unit",
        Action::AddRow => "add",
        Action::RemoveRow => "remove",
        Action::Regenerate => "regen",
        Action::EditIntake => "edit",
        Action::NextPane => "pane",
        Action::Down => "down",
        Action::Back => "back",
        Action::PrevField => "prev field",
        Action::StopGeneration => "stop / back",
        Action::Quit => "quit",
        Action::ForceQuit => "quit now",
        a => action(a),
    }
}

/// Heading of the pharmacist's note in the answer pane.
pub const NOTE_HEADING: &str = crate::note::HEADING;
/// Between the note and the model's answer.
pub const MODEL_EXPLAINS: &str = "Model's explanation (checked sentence by sentence):";
