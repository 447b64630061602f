//! The words of a flag: its kind, its severity and the CDS Hooks
//! indicator that severity maps to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of flag of the `check --json` contract (plus `condition`, an
/// extension for drug-disease rules outside the older-adult criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Interaction,
    Renal,
    Hepatic,
    Allergy,
    Pregnancy,
    Lactation,
    Beers,
    Duplicate,
    Dose,
    Lab,
    Condition,
    /// Age limits for children: contraindications below an age, and
    /// weight-based (mg/kg) dosing.
    Pediatric,
    /// Several drugs together: one from each of several classes (the
    /// "triple whammy"), or a count of drugs sharing an effect.
    Combination,
    /// A drug-gene pair: the patient's recorded phenotype (CYP2C19 poor
    /// metabolizer, HLA-B*57:01 positive) changes what the drug does.
    Pharmacogenomic,
    UnknownDrug,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Interaction,
        Kind::Renal,
        Kind::Hepatic,
        Kind::Allergy,
        Kind::Pregnancy,
        Kind::Lactation,
        Kind::Beers,
        Kind::Duplicate,
        Kind::Dose,
        Kind::Lab,
        Kind::Condition,
        Kind::Pediatric,
        Kind::Combination,
        Kind::Pharmacogenomic,
        Kind::UnknownDrug,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Interaction => "interaction",
            Kind::Renal => "renal",
            Kind::Hepatic => "hepatic",
            Kind::Allergy => "allergy",
            Kind::Pregnancy => "pregnancy",
            Kind::Lactation => "lactation",
            Kind::Beers => "beers",
            Kind::Duplicate => "duplicate",
            Kind::Dose => "dose",
            Kind::Lab => "lab",
            Kind::Condition => "condition",
            Kind::Pediatric => "pediatric",
            Kind::Combination => "combination",
            Kind::Pharmacogenomic => "pharmacogenomic",
            Kind::UnknownDrug => "unknown-drug",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The HL7 v3 ActCode detected-issue code of this kind of flag (code,
    /// display), as FHIR `DetectedIssue.code` takes it; display names as in
    /// HL7 Terminology's ActCode (DetectedIssueCategory, ConditionDetected
    /// IssueCode, AgeDetectedIssueCode, DoseHighDetectedIssueCode,
    /// ObservationDetectedIssueCode value sets). An unknown drug is a gap,
    /// not a detected issue: none.
    pub fn act_code(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Kind::Interaction | Kind::Combination => ("DRUG", "Drug Interaction Alert"),
            Kind::Allergy => ("ALGY", "Allergy Alert"),
            Kind::Duplicate => ("DUPTHPY", "Duplicate Therapy Alert"),
            Kind::Dose => ("DOSEH", "High Dose Alert"),
            Kind::Beers | Kind::Pediatric => ("AGE", "Age Alert"),
            Kind::Renal | Kind::Hepatic | Kind::Pregnancy | Kind::Lactation | Kind::Condition => {
                ("COND", "Condition Alert")
            }
            Kind::Lab | Kind::Pharmacogenomic => ("OBSA", "Observation Alert"),
            Kind::UnknownDrug => return None,
        })
    }
}

/// The FHIR system of [`Kind::act_code`].
pub const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which medicines a flag is about: a drug being proposed, or only the
/// patient's current regimen (a medication-review finding). A flag that
/// involves any proposed drug concerns the proposal.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Concerns {
    #[default]
    Proposed,
    Current,
}

/// Heading above the flags about the current regimen only (every front end).
pub const REGIMEN_FLAGS: &str = "Current medicines (regimen review):";
/// Shown first when only the regimen has flags.
pub const NO_PROPOSED_FLAGS: &str = "No flag for the proposed drug(s).";

impl Concerns {
    pub fn as_str(self) -> &'static str {
        match self {
            Concerns::Proposed => "proposed",
            Concerns::Current => "current",
        }
    }
}

/// Seriousness, least serious first so that `Ord` ranks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Moderate,
    Major,
    Contraindicated,
}

impl Severity {
    pub const ACCEPTED: &'static str = "contraindicated, major, moderate, minor";

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Moderate => "moderate",
            Severity::Major => "major",
            Severity::Contraindicated => "contraindicated",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "minor" => Some(Severity::Minor),
            "moderate" => Some(Severity::Moderate),
            "major" => Some(Severity::Major),
            "contraindicated" => Some(Severity::Contraindicated),
            _ => None,
        }
    }

    /// A symbol that carries the severity without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Severity::Contraindicated => "XX",
            Severity::Major => "!!",
            Severity::Moderate => "! ",
            Severity::Minor => "i ",
        }
    }

    pub fn indicator(self) -> Indicator {
        match self {
            Severity::Contraindicated | Severity::Major => Indicator::Critical,
            Severity::Moderate => Indicator::Warning,
            Severity::Minor => Indicator::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CDS Hooks card indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    Info,
    Warning,
    Critical,
}
