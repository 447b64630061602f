//! The event loop's inputs: terminal events, a tick, and messages from
//! background workers (knowledge base, model, generations), merged with
//! `tokio::select!` in [`super::run_loop`].

use crate::kb::Kb;
use crate::llm::{GenEvent, Generator};
use std::sync::Arc;

/// What a background worker reports.
pub enum WorkerMsg {
    /// The knowledge base is open (or failed), with a one-line description.
    Kb(Result<Arc<Kb>, String>, String),
    /// The backend is built (or failed); the text says what it is.
    Backend(Result<Arc<dyn Generator>, String>, String),
    /// Model loading progress or readiness, for the status bar.
    Model(String),
    /// An event of generation `id`.
    Gen { id: u64, event: GenEvent },
}

impl std::fmt::Debug for WorkerMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerMsg::Kb(r, _) => write!(f, "Kb(ok: {})", r.is_ok()),
            WorkerMsg::Backend(r, _) => write!(f, "Backend(ok: {})", r.is_ok()),
            WorkerMsg::Model(m) => write!(f, "Model({m})"),
            WorkerMsg::Gen { id, event } => write!(f, "Gen({id}, {event:?})"),
        }
    }
}

pub type WorkerTx = tokio::sync::mpsc::UnboundedSender<WorkerMsg>;
pub type WorkerRx = tokio::sync::mpsc::UnboundedReceiver<WorkerMsg>;

pub fn channel() -> (WorkerTx, WorkerRx) {
    tokio::sync::mpsc::unbounded_channel()
}
