//! The vocabulary every other module speaks: flag kinds and severities,
//! hepatic grades, the lab table, unit conversions, the built-in source
//! ids and the one whole-word matcher.
//!
//! A leaf: it depends on no other module of the crate, so the kb, the
//! clinical rules, intake, FHIR and the model's checks can all use it
//! without depending on each other (the `architecture` test keeps it so).

pub mod allergy;
pub mod condition;
pub mod evidence;
pub mod flag;
pub mod lab;
pub mod number;
pub mod pgx;
pub mod sources;
pub mod text;
pub mod units;

pub use evidence::Evidence;
pub use flag::{Concerns, Indicator, Kind, Severity};
pub use lab::{LabKind, LabSpec, Labs, LabsFile, LABS};

use serde::{Deserialize, Serialize};

/// Hepatic impairment grade, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HepaticGrade {
    None,
    Mild,
    Moderate,
    Severe,
}
