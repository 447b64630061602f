//! FHIR R4 interoperability: import a patient from a `Bundle` (or single
//! resources) into the same validated [`crate::intake::Case`] a case file
//! gives ([`import`]), and export an assessment as a `Bundle` with the
//! flags as `DetectedIssue` resources ([`export`]).
//!
//! Only the resources and elements rxguide reads are modelled
//! ([`model`]); no general FHIR library is needed for that.

pub mod export;
pub mod import;
pub mod json;
pub mod model;

pub use export::to_bundle;
pub use import::{import_json, ImportOptions, ImportReport, Importer, Role};

use crate::intake::FieldError;

/// Why FHIR input was rejected. Displayed as one line naming the resource
/// and the element.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FhirError {
    #[error("not valid JSON: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    NotFhir { origin: String, message: String },
    #[error("{resource}: field `{path}`: {message}")]
    Resource {
        resource: String,
        path: String,
        message: String,
    },
    #[error("{message}")]
    Ambiguous { message: String },
    #[error("{origin}: {error}")]
    Invalid { origin: String, error: FieldError },
}

impl FhirError {
    /// Where the problem is, for a JSON error body: a resource and element,
    /// or a case-file field.
    pub fn field(&self) -> String {
        match self {
            FhirError::Json { line, column, .. } => format!("body (line {line}, column {column})"),
            FhirError::NotFhir { origin, .. } => origin.clone(),
            FhirError::Resource { resource, path, .. } => format!("{resource}.{path}"),
            FhirError::Ambiguous { .. } => "Patient".into(),
            FhirError::Invalid { origin, error } => format!("{origin} ({})", error.field),
        }
    }
}
