//! rxguide: guided, safe, personalised prescribing.
//!
//! The pipeline runs in one direction (see `../shared/DESIGN.md`):
//!
//! | step | module |
//! | --- | --- |
//! | case file / FHIR bundle -> validated [`intake::Case`] | [`intake`] |
//! | derived values (CrCl, eGFR, BMI, IBW) | [`clinical::calc`] |
//! | rules over kb tables -> [`clinical::Flag`]s | [`clinical::rules`] (one file per rule family) |
//! | knowledge base sources, sled store, retrieval | [`kb`] |
//! | everything above in one call | [`pipeline::assess`] |
//!
//! Nothing in these modules knows about the terminal UI; the TUI and the
//! headless commands call the same pipeline.

pub mod answer;
#[cfg(test)]
mod architecture;
pub mod catalogue;
pub mod cli;
pub mod clinical;
pub mod eval;
pub mod fhir;
pub mod fuzz;
pub mod intake;
pub mod kb;
pub mod llm;
pub mod load;
pub mod note;
pub mod pipeline;
pub mod rehearse;
pub mod report;
pub mod review;
pub mod serve;
pub mod session;
pub mod store;
pub mod trace;
pub mod tui;
pub mod vocab;

// The demo player and the rehearse/review screen framework are parts of
// the terminal app; their old paths stay for scripts and tests.
pub use tui::{demo, modes};
