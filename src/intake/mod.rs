//! Intake: the validated patient and prescribing question.
//!
//! A case arrives as a TOML case file ([`case_file`]) or, later, a FHIR
//! bundle; both end as the same [`Case`], with units normalised (kg, cm,
//! creatinine in mg/dL) by [`units`]. Validation errors name the field and
//! what is accepted ([`FieldError`]).

pub mod case_file;
pub mod dose;

use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::vocab::lab::{LabKind, Labs};
pub use crate::vocab::units;
pub use case_file::{load_case, parse_case, CaseError, CaseFile};
pub use dose::{Dose, Frequency};

/// Sex as recorded (FHIR's administrative gender codes). The CrCl, eGFR
/// and ideal-body-weight equations need female or male: for `Other` and
/// `Unknown` they use the female equations, whose estimates are the lower
/// ones ([`Sex::for_equations`]), and that is said; a rule that depends on
/// sex is listed as not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
            Sex::Unknown => "unknown",
        }
    }

    /// Whether the equations' sex is known.
    pub fn is_known(self) -> bool {
        matches!(self, Sex::Female | Sex::Male)
    }

    /// The sex the equations use: as recorded, or female (the lower CrCl,
    /// eGFR and IBW estimates) when it is other or unknown.
    pub fn for_equations(self) -> Sex {
        match self {
            Sex::Male => Sex::Male,
            _ => Sex::Female,
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Demographics and physiological state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    /// Years; may be fractional for infants.
    pub age: f64,
    pub sex: Sex,
    pub weight_kg: Option<f64>,
    pub height_cm: Option<f64>,
    pub pregnant: bool,
    pub trimester: Option<u8>,
    pub breastfeeding: bool,
}

/// How bad a recorded allergic reaction was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllergySeverity {
    Mild,
    Moderate,
    Severe,
    Anaphylaxis,
}

impl AllergySeverity {
    pub fn is_severe(self) -> bool {
        matches!(self, AllergySeverity::Severe | AllergySeverity::Anaphylaxis)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allergy {
    pub substance: String,
    pub reaction: Option<String>,
    pub severity: Option<AllergySeverity>,
    /// As the record gave it: "confirmed" or "unconfirmed" (FHIR
    /// `verificationStatus`); an unconfirmed allergy is checked all the
    /// same and said to be unconfirmed. `None`: not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// As the record gave it: "low", "high" or "unable-to-assess" (FHIR
    /// `criticality`); `None`: not given, and not invented on export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<String>,
}

/// Accepted `verification` values of an allergy (FHIR R4's, less the two
/// that mean there is no allergy: refuted, entered-in-error).
pub const ALLERGY_VERIFICATION: &[&str] = &["confirmed", "unconfirmed"];
/// Accepted `criticality` values of an allergy (FHIR R4).
pub const ALLERGY_CRITICALITY: &[&str] = &["low", "high", "unable-to-assess"];

impl Allergy {
    /// Severe when recorded so, or when the reaction text says anaphylaxis.
    pub fn is_severe(&self) -> bool {
        self.severity.is_some_and(AllergySeverity::is_severe)
            || self.reaction.as_deref().is_some_and(|r| {
                let r = r.to_lowercase();
                r.contains("anaphyla") || r.contains("angioedema") || r.contains("stevens")
            })
    }
}

/// A current or proposed medicine as entered, with its parsed dose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicationOrder {
    /// The name as the user typed it.
    pub drug: String,
    pub dose: Option<Dose>,
    pub frequency: Option<Frequency>,
    pub indication: Option<String>,
}

/// How many administrations a day an order gives, and from where.
#[derive(Debug, Clone, PartialEq)]
pub struct PerDay {
    pub per_day: f64,
    /// What it was read from, for a flag's inputs: `frequency "bid" =
    /// 2/day`.
    pub basis: String,
    /// The dose text and the frequency field give different counts; the
    /// higher is taken (the worst case for a maximum-dose check).
    pub disagree: bool,
}

impl MedicationOrder {
    /// Administrations per day, from the frequency field or the dose text
    /// ("1 g x 6/day"); `None` when neither gives a count (no frequency,
    /// or as needed).
    pub fn doses_per_day(&self) -> Option<PerDay> {
        let from_freq = self.frequency.as_ref().and_then(|f| Some((f, f.per_day?)));
        let from_dose = self.dose.as_ref().and_then(|d| Some((d, d.per_day?)));
        let freq_basis =
            |f: &Frequency, n: f64| format!("frequency \"{}\" = {}/day", f.text, fmt_num(n));
        let dose_basis = |d: &Dose, n: f64| format!("dose \"{}\" = {}/day", d.text, fmt_num(n));
        Some(match (from_freq, from_dose) {
            (Some((f, a)), Some((d, b))) if (a - b).abs() > 1e-9 => PerDay {
                per_day: a.max(b),
                basis: format!("{}, {}", dose_basis(d, b), freq_basis(f, a)),
                disagree: true,
            },
            (Some((f, a)), _) => PerDay {
                per_day: a,
                basis: freq_basis(f, a),
                disagree: false,
            },
            (None, Some((d, b))) => PerDay {
                per_day: b,
                basis: dose_basis(d, b),
                disagree: false,
            },
            (None, None) => return None,
        })
    }
}

/// What a rehearsal case expects `check` to find.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub flags: Vec<ExpectedFlag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<ExpectedFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFlag {
    pub kind: crate::vocab::Kind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drugs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::vocab::Severity>,
}

/// One validated prescribing question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub title: Option<String>,
    pub conditions: Vec<crate::vocab::condition::Condition>,
    pub patient: Patient,
    pub labs: Labs,
    pub allergies: Vec<Allergy>,
    pub medications: Vec<MedicationOrder>,
    pub proposed: Vec<MedicationOrder>,
    /// Known pharmacogenomic phenotypes: gene (as in `vocab::pgx::GENES`)
    /// -> canonical phenotype.
    pub pgx: std::collections::BTreeMap<String, String>,
    /// A medication review of the current medicines (`review = true`):
    /// `proposed` may be empty.
    pub review: bool,
    pub expect: Option<Expect>,
}

/// A validation problem: which field, and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path such as `patient.age` or `proposed[0].drug`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // one line per field, whatever the value held
        write!(
            f,
            "field `{}`: {}",
            crate::vocab::text::visible_line(&self.field),
            crate::vocab::text::visible_line(&self.message)
        )
    }
}

impl Case {
    /// One line describing the patient, for lists, prompts and notes.
    pub fn patient_summary(&self) -> String {
        let p = &self.patient;
        let mut parts = vec![format!(
            "{}{}",
            fmt_num(p.age),
            &p.sex.as_str()[..1].to_uppercase()
        )];
        if let Some(w) = p.weight_kg {
            parts.push(format!("{} kg", fmt_num(w)));
        }
        if p.pregnant {
            parts.push(match p.trimester {
                Some(t) => format!("pregnant (trimester {t})"),
                None => "pregnant".to_string(),
            });
        }
        if p.breastfeeding {
            parts.push("breastfeeding".into());
        }
        if !self.conditions.is_empty() {
            parts.push(
                self.conditions
                    .iter()
                    .map(|c| c.text.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        parts.join(", ")
    }
}

/// Formats a number without a trailing `.0`.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1e15 {
        // Beyond i64's exact range: never print a saturated integer.
        format!("{v:e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        // Doses below 1 mg need their third decimal (0.125 mg).
        let s = if v.abs() < 1.0 {
            format!("{v:.3}")
        } else {
            format!("{v:.2}")
        };
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod fmt_tests {
    use super::fmt_num;

    #[test]
    fn numbers_print_as_written() {
        assert_eq!(fmt_num(0.125), "0.125");
        assert_eq!(fmt_num(22.634), "22.63");
        assert_eq!(fmt_num(4000.0), "4000");
        assert_eq!(fmt_num(1e20), "1e20");
        assert_eq!(fmt_num(-0.5), "-0.5");
    }
}
