//! The trace: what the program did, step by step, with timings. Shown in
//! the Trace pane and the exported note; never invented reasoning.

use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Kb,
    Intake,
    Derived,
    Rules,
    Retrieval,
    Prompt,
    Model,
    Check,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Kb => "kb",
            Stage::Intake => "intake",
            Stage::Derived => "derived",
            Stage::Rules => "rules",
            Stage::Retrieval => "retrieval",
            Stage::Prompt => "prompt",
            Stage::Model => "model",
            Stage::Check => "check",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub stage: Stage,
    pub text: String,
    /// Microseconds since the trace started.
    pub at_us: u64,
}

#[derive(Debug, Clone)]
pub struct Trace {
    start: Instant,
    pub steps: Vec<Step>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            start: Instant::now(),
            steps: Vec::new(),
        }
    }
}

impl Trace {
    pub fn push(&mut self, stage: Stage, text: impl Into<String>) {
        let at_us = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.steps.push(Step {
            stage,
            text: text.into(),
            at_us,
        });
    }

    /// Lines as `stage: text`, for plain-text output.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.steps
            .iter()
            .map(|s| format!("{:>9}  {}", s.stage.as_str(), s.text))
    }
}
