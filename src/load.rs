//! One loader for every intake file: a TOML case file or a FHIR R4 JSON
//! bundle, told apart by content (JSON starts with `{`). `check`, `export`
//! and the TUI's "open" use it, so they accept the same files. It sits
//! above both [`crate::intake`] and [`crate::fhir`], which know nothing of
//! each other's loaders.

use crate::fhir::{import_json, FhirError, ImportOptions, ImportReport, Importer, Role};
use crate::intake::case_file::{parse_case_file, CaseError, CaseFile, MedicationFile};
use crate::intake::Case;
use chrono::NaiveDate;
use std::path::{Path, PathBuf};

/// The format of an intake file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CaseFile,
    Fhir,
}

/// Options of [`load_any`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Drugs to propose in addition to those in the file (`--propose`).
    pub propose: Vec<String>,
    /// Date at which a FHIR `birthDate` gives the age (default: today).
    pub as_of: Option<NaiveDate>,
    /// A medication review (`--review`): no proposed drug needed.
    pub review: bool,
    /// Lab values older than this many days are said to be stale
    /// (`--stale-after`; default [`crate::fhir::import::STALE_AFTER_DAYS`]).
    pub stale_after_days: Option<i64>,
}

impl LoadOptions {
    /// The FHIR import options these stand for.
    fn import_options(&self, default_id: impl Into<String>) -> ImportOptions {
        let mut io = ImportOptions::new(default_id);
        io.propose = self.propose.clone();
        io.review = self.review;
        if let Some(d) = self.as_of {
            io.as_of = d;
        }
        if let Some(n) = self.stale_after_days {
            io.stale_after_days = n;
        }
        io
    }
}

/// Why an intake file was rejected; one line naming the file and the
/// field (or FHIR resource and element).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("{file}: {error}")]
    Fhir { file: PathBuf, error: FhirError },
}

/// Detects the format of file text.
pub fn detect(text: &str) -> Format {
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        Format::Fhir
    } else {
        Format::CaseFile
    }
}

/// Reads a case file or a FHIR bundle into a validated case, with what
/// could not be imported (always empty for a case file).
pub fn load_any(path: &Path, opts: &LoadOptions) -> Result<(Case, ImportReport), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaseError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    parse_any(&text, &stem, opts).map_err(|e| match e {
        LoadError::Case(c) => LoadError::Case(c.with_file(path)),
        LoadError::Fhir { error, .. } => LoadError::Fhir {
            file: path.to_path_buf(),
            error,
        },
    })
}

/// [`load_any`] on text already read; `default_id` names the case when the
/// text does not.
pub fn parse_any(
    text: &str,
    default_id: &str,
    opts: &LoadOptions,
) -> Result<(Case, ImportReport), LoadError> {
    match detect(text) {
        Format::Fhir => {
            let io = opts.import_options(default_id);
            import_json(text.trim_start_matches('\u{feff}'), &io).map_err(|error| LoadError::Fhir {
                file: PathBuf::new(),
                error,
            })
        }
        Format::CaseFile => {
            let mut file = parse_case_file(text)?;
            file.review |= opts.review;
            for drug in &opts.propose {
                if !file
                    .proposed
                    .iter()
                    .any(|p| p.drug.trim().eq_ignore_ascii_case(drug.trim()))
                {
                    file.proposed.push(MedicationFile {
                        drug: drug.clone(),
                        ..MedicationFile::default()
                    });
                }
            }
            let case = file
                .validate(default_id)
                .map_err(|mut errors| CaseError::Invalid {
                    file: PathBuf::new(),
                    error: errors.remove(0),
                })?;
            Ok((case, ImportReport::default()))
        }
    }
}

/// Reads a case file or a FHIR bundle into an unvalidated [`CaseFile`]
/// (for the TUI's intake form, which shows each validation problem next to
/// its field), with what could not be imported.
pub fn load_case_file_any(
    path: &Path,
    opts: &LoadOptions,
) -> Result<(CaseFile, ImportReport), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaseError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    let fhir_err = |error| LoadError::Fhir {
        file: path.to_path_buf(),
        error,
    };
    match detect(&text) {
        Format::Fhir => {
            let value = crate::fhir::json::parse(&text).map_err(fhir_err)?;
            let io = opts.import_options(stem.clone());
            let mut importer = Importer::new();
            importer.add(value, Role::Record, "").map_err(fhir_err)?;
            let built = importer.build(&io).map_err(fhir_err)?;
            let mut file = built.file;
            if file.id.is_none() {
                file.id = Some(stem);
            }
            Ok((file, built.report))
        }
        Format::CaseFile => {
            let mut file = parse_case_file(&text).map_err(|e| e.with_file(path))?;
            file.review |= opts.review;
            for drug in &opts.propose {
                if !file
                    .proposed
                    .iter()
                    .any(|p| p.drug.trim().eq_ignore_ascii_case(drug.trim()))
                {
                    file.proposed.push(MedicationFile {
                        drug: drug.clone(),
                        ..MedicationFile::default()
                    });
                }
            }
            Ok((file, ImportReport::default()))
        }
    }
}
