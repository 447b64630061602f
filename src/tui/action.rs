//! Every user-visible command, named so that `keys.toml` can refer to it.
//! Views turn keys into actions; [`super::app::App::update`] applies them.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    ForceQuit,
    Help,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Select,
    Back,
    StopGeneration,
    ToggleRag,
    Regenerate,
    Export,
    EditIntake,
    NextField,
    PrevField,
    NextStep,
    PrevStep,
    ToggleUnit,
    AddRow,
    RemoveRow,
    ClearField,
    Check,
    NewSession,
    OpenCase,
    Search,
    /// The open-model catalogue overlay.
    Models,
}
