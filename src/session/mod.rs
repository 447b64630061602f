//! Sessions: the intake as typed ([`draft::Draft`]), saved to a sled store
//! on every edit ([`store::SessionStore`]), and exported as a Markdown note
//! and a case file ([`export`]). No UI code here.

pub mod draft;
pub mod export;
pub mod store;

pub use draft::Draft;
pub use store::{SessionStore, StoreError};

use serde::{Deserialize, Serialize};

/// Where the user was in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    #[default]
    Intake,
    Results,
}

/// One prescribing session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// Local time, `YYYY-MM-DD HH:MM`.
    pub created: String,
    pub updated: String,
    pub draft: Draft,
    #[serde(default)]
    pub stage: Stage,
    /// Intake wizard step and field the user was on.
    #[serde(default)]
    pub step: usize,
    #[serde(default)]
    pub field: usize,
    /// Retrieval on for the model's answer.
    #[serde(default = "yes")]
    pub rag: bool,
}

fn yes() -> bool {
    true
}

impl Session {
    pub fn new(id: impl Into<String>, now: impl Into<String>) -> Session {
        let now = now.into();
        Session {
            id: id.into(),
            created: now.clone(),
            updated: now,
            draft: Draft::default(),
            stage: Stage::Intake,
            step: 0,
            field: 0,
            rag: true,
        }
    }

    /// A fresh session id and timestamp from the clock.
    pub fn fresh() -> Session {
        let now = chrono::Local::now();
        let id = format!(
            "{}-{:04x}",
            now.format("%Y%m%d-%H%M%S"),
            (now.timestamp_subsec_micros() ^ std::process::id()) & 0xffff
        );
        Session::new(id, now_text())
    }

    pub fn touch(&mut self) {
        self.updated = now_text();
    }
}

/// The local time as sessions record it.
pub fn now_text() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M").to_string()
}
