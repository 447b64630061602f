//! The TOML case file of `CASE_FORMAT.md`: parsing, validation, and
//! writing back (sessions export the same shape).

use super::units::{self, limits};
use super::{
    dose::ACCEPTED_FREQUENCIES, fmt_num, Allergy, AllergySeverity, Case, Dose, Expect, FieldError,
    Frequency, Labs, MedicationOrder, Patient, Sex,
};
use crate::vocab::condition::{CodeSystem, Condition, ConditionCode};
use crate::vocab::lab::{LabKind, LABS};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The case file exactly as written; every field optional at this level so
/// that validation, not serde, names what is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientFile>,
    #[serde(default, skip_serializing_if = "LabsFile::is_empty")]
    pub labs: LabsFile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allergies: Vec<AllergyFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub medications: Vec<MedicationFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposed: Vec<MedicationFile>,
    /// Gene -> phenotype (`[pharmacogenomics]`, e.g. `cyp2c19 = "poor
    /// metabolizer"`, `"hla-b*57:01" = "positive"`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pharmacogenomics: std::collections::BTreeMap<String, String>,
    /// A medication review: the current medicines are assessed and no
    /// `[[proposed]]` entry is needed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// A condition as written: its text, or a table with its text and the
/// code an EHR sent (`{ text = "Atrial fibrillation", system = "snomed",
/// code = "49436004" }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConditionFile {
    Text(String),
    Coded {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
}

/// Read by hand, not `untagged`, so a misspelt key (`codes`) or a
/// missing `text` is an error naming it, never a silently dropped code.
impl<'de> Deserialize<'de> for ConditionFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ConditionFile, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ConditionFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a condition's text, or a table { text, system, code }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ConditionFile, E> {
                Ok(ConditionFile::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ConditionFile, A::Error> {
                const FIELDS: &[&str] = &["text", "system", "code"];
                let (mut text, mut system, mut code) = (None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "text" => &mut text,
                        "system" => &mut system,
                        "code" => &mut code,
                        other => return Err(serde::de::Error::unknown_field(other, FIELDS)),
                    };
                    *slot = Some(map.next_value::<String>()?);
                }
                Ok(ConditionFile::Coded {
                    text: text.ok_or_else(|| serde::de::Error::missing_field("text"))?,
                    system,
                    code,
                })
            }
        }
        d.deserialize_any(Visit)
    }
}

impl ConditionFile {
    pub fn text(&self) -> &str {
        match self {
            ConditionFile::Text(t) | ConditionFile::Coded { text: t, .. } => t,
        }
    }

    /// The file form of a condition.
    pub fn of(c: &Condition) -> ConditionFile {
        match &c.code {
            None => ConditionFile::Text(c.text.clone()),
            Some(code) => ConditionFile::Coded {
                text: c.text.clone(),
                system: Some(code.system.short().to_string()),
                code: Some(code.code.clone()),
            },
        }
    }

    /// The condition, or what is wrong with its code.
    fn condition(&self) -> Result<Condition, String> {
        let (text, system, code) = match self {
            ConditionFile::Text(t) => return Ok(Condition::text(t.trim())),
            ConditionFile::Coded { text, system, code } => (text, system, code),
        };
        let code = match (system, code.as_deref().map(str::trim)) {
            (_, None | Some("")) => None,
            (None, Some(_)) => {
                return Err("a code needs its `system`; accepted: snomed, icd-10-cm".into())
            }
            (Some(sys), Some(c)) => Some(ConditionCode {
                system: sys.parse::<CodeSystem>()?,
                code: c.to_string(),
            }),
        };
        Ok(Condition {
            text: text.trim().to_string(),
            code,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_lb: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_cm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_in: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnant: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trimester: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breastfeeding: Option<bool>,
}

pub use crate::vocab::lab::LabsFile;

impl LabsFile {
    pub fn is_empty(&self) -> bool {
        self == &LabsFile::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllergyFile {
    #[serde(default)]
    pub substance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// "confirmed" or "unconfirmed", as the record says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// "low", "high" or "unable-to-assess", as the record says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicationFile {
    #[serde(default)]
    pub drug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indication: Option<String>,
}

/// Why a case file was rejected. Displayed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: line {line}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}: {error}")]
    Invalid { file: PathBuf, error: FieldError },
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Reads and validates a case file.
pub fn load_case(path: &Path) -> Result<Case, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaseError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "case".into());
    parse_case(&text, &stem).map_err(|e| e.with_file(path))
}

impl CaseError {
    pub(crate) fn with_file(self, path: &Path) -> CaseError {
        let file = path.to_path_buf();
        match self {
            CaseError::Read { source, .. } => CaseError::Read { file, source },
            CaseError::Syntax { line, message, .. } => CaseError::Syntax {
                file,
                line,
                message,
            },
            CaseError::Invalid { error, .. } => CaseError::Invalid { file, error },
        }
    }
}

/// Parses case-file text; `default_id` is used when the file has no `id`.
pub fn parse_case(text: &str, default_id: &str) -> Result<Case, CaseError> {
    parse_case_file(text)?
        .validate(default_id)
        .map_err(|mut errors| CaseError::Invalid {
            file: PathBuf::new(),
            error: errors.remove(0),
        })
}

/// Parses case-file text without validating it (callers that add to the
/// file before validation, such as `--propose`).
pub fn parse_case_file(text: &str) -> Result<CaseFile, CaseError> {
    toml::from_str(text).map_err(|e| syntax_error(text, &e))
}

/// Turns a TOML/serde error into one line with the line number and, where
/// the error points at a key, the dotted field name.
fn syntax_error(text: &str, e: &toml::de::Error) -> CaseError {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else {
        return CaseError::Syntax {
            file: PathBuf::new(),
            line: 1,
            message: format!("not a valid case file: {message}"),
        };
    };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count() + 1;
    let field = field_at(text, start);
    let message = match (field, message.starts_with("unknown field")) {
        (_, true) => format!("{message} (see CASE_FORMAT.md)"),
        (Some(f), false) => format!("field `{f}`: {message}"),
        (None, false) => format!("not valid TOML or not a case file: {message}"),
    };
    CaseError::Syntax {
        file: PathBuf::new(),
        line,
        message,
    }
}

/// The dotted key whose value sits at byte `pos`: the key on that line,
/// prefixed by the nearest `[table]` header above it.
fn field_at(text: &str, pos: usize) -> Option<String> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let line = &text[line_start..line_end];
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let header = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("[[")
            .and_then(|h| h.strip_suffix("]]"))
            .or_else(|| l.strip_prefix('[').and_then(|h| h.strip_suffix(']')))
            .map(str::trim)
    });
    Some(match header {
        Some(h) => format!("{h}.{key}"),
        None => key.to_string(),
    })
}

fn check_range(field: &str, v: f64, (lo, hi): (f64, f64), unit: &str) -> Result<f64, FieldError> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Err(err(
            field,
            format!("{v}{unit} is outside the accepted range {lo}..={hi}{unit}"),
        ))
    }
}

fn opt_range(
    field: &str,
    v: Option<f64>,
    range: (f64, f64),
    unit: &str,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let v = v?;
    match check_range(field, v, range, unit) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// One of two alternative unit fields (e.g. `weight_kg` / `weight_lb`),
/// converted to the canonical unit.
fn either_unit(
    (name_a, a): (&str, Option<f64>),
    (name_b, b): (&str, Option<f64>),
    convert_b: fn(f64) -> f64,
    range: (f64, f64),
    unit: &str,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    match (a, b) {
        (Some(_), Some(_)) => {
            errors.push(err(
                name_a,
                format!("give either `{name_a}` or `{name_b}`, not both"),
            ));
            None
        }
        (Some(v), None) => opt_range(name_a, Some(v), range, unit, errors),
        (None, Some(v)) => {
            if !v.is_finite() || v <= 0.0 {
                errors.push(err(name_b, format!("{v} must be a positive number")));
                return None;
            }
            let converted = convert_b(v);
            match check_range(name_b, converted, range, unit) {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(err(
                        name_b,
                        format!("{v} converts to {}; {}", converted, e.message),
                    ));
                    None
                }
            }
        }
        (None, None) => None,
    }
}

impl CaseFile {
    /// Validates every field; returns all problems found, most important
    /// first (required fields, then ranges), so a form can show each one
    /// next to its field.
    pub fn validate(&self, default_id: &str) -> Result<Case, Vec<FieldError>> {
        let mut errors = Vec::new();
        self.check_sizes(&mut errors);
        let patient = self.validate_patient(&mut errors);
        let labs = self.validate_labs(&mut errors);
        if let Some(p) = &patient {
            self.check_creatinine_unit(p.age, &labs, &mut errors);
        }
        let allergies = self.validate_allergies(&mut errors);
        let medications = validate_orders("medications", &self.medications, &mut errors);
        let proposed = validate_orders("proposed", &self.proposed, &mut errors);
        if self.proposed.is_empty() && !self.review {
            errors.push(err(
                "proposed",
                "at least one [[proposed]] entry with a `drug` is required (or `review = true` to review the current [[medications]] alone)",
            ));
        }
        let mut pgx = std::collections::BTreeMap::new();
        for (g, p) in &self.pharmacogenomics {
            let field = format!("pharmacogenomics.{g}");
            match (crate::vocab::pgx::gene(g), crate::vocab::pgx::phenotype(p)) {
                (None, _) => errors.push(err(
                    &field,
                    format!(
                        "unknown gene \"{g}\" (accepted: {})",
                        crate::vocab::pgx::GENES.join(", ")
                    ),
                )),
                (_, None) => errors.push(err(
                    &field,
                    format!(
                        "unknown phenotype \"{p}\" (accepted: {})",
                        crate::vocab::pgx::accepted_phenotypes()
                    ),
                )),
                (Some(g), Some(p)) => {
                    pgx.insert(g.to_string(), p.to_string());
                }
            }
        }
        if self.review && self.proposed.is_empty() && self.medications.is_empty() {
            errors.push(err(
                "medications",
                "a review (`review = true`) needs at least one [[medications]] entry to review",
            ));
        }
        let mut conditions = Vec::new();
        for (i, c) in self.conditions.iter().enumerate() {
            match c.condition() {
                Ok(c) if c.text.is_empty() => {}
                Ok(c) => conditions.push(c),
                Err(why) => errors.push(err(format!("conditions[{i}]"), why)),
            }
        }
        let id = match self.id.as_deref().map(str::trim) {
            Some("") => {
                errors.push(err("id", "must not be empty when given"));
                String::new()
            }
            Some(id) => id.to_string(),
            None => default_id.to_string(),
        };
        match patient {
            Some(patient) if errors.is_empty() => Ok(Case {
                id,
                title: self.title.clone().filter(|t| !t.trim().is_empty()),
                conditions,
                patient,
                labs,
                allergies,
                medications,
                proposed,
                pgx,
                review: self.review,
                expect: self.expect.clone(),
            }),
            _ => Err(errors),
        }
    }

    fn validate_patient(&self, errors: &mut Vec<FieldError>) -> Option<Patient> {
        let Some(p) = &self.patient else {
            errors.push(err(
                "patient",
                "the [patient] table is required (age, sex; optional weight_kg, height_cm, pregnant, trimester, breastfeeding)",
            ));
            return None;
        };
        let age = match p.age {
            None => {
                errors.push(err("patient.age", "required: years, 0 < age <= 120"));
                None
            }
            Some(a) if !(a.is_finite() && a > limits::AGE.0 && a <= limits::AGE.1) => {
                errors.push(err(
                    "patient.age",
                    format!("{a} is out of range; accepted: 0 < age <= 120 (years)"),
                ));
                None
            }
            Some(a) => Some(a),
        };
        let sex = match p.sex.as_deref().map(|s| s.trim().to_lowercase()) {
            None => {
                errors.push(err(
                    "patient.sex",
                    "required: \"female\", \"male\", \"other\" or \"unknown\"",
                ));
                None
            }
            Some(s) if s == "female" || s == "f" => Some(Sex::Female),
            Some(s) if s == "male" || s == "m" => Some(Sex::Male),
            Some(s) if s == "other" => Some(Sex::Other),
            Some(s) if s == "unknown" || s == "not recorded" => Some(Sex::Unknown),
            Some(s) => {
                errors.push(err(
                    "patient.sex",
                    format!("\"{s}\" is not accepted; accepted: \"female\", \"male\", \"other\" or \"unknown\" (CrCl and eGFR use the female equations, the lower estimates, for other and unknown)"),
                ));
                None
            }
        };
        let weight_kg = either_unit(
            ("patient.weight_kg", p.weight_kg),
            ("patient.weight_lb", p.weight_lb),
            units::lb_to_kg,
            limits::WEIGHT_KG,
            "kg",
            errors,
        );
        let height_cm = either_unit(
            ("patient.height_cm", p.height_cm),
            ("patient.height_in", p.height_in),
            units::in_to_cm,
            limits::HEIGHT_CM,
            "cm",
            errors,
        );
        if let (Some(w), Some(h)) = (weight_kg, height_cm) {
            if let Some(bmi) = units::implausible_bmi(w, h) {
                let (lo, hi) = limits::BMI;
                let field = if p.height_in.is_some() {
                    "patient.height_in"
                } else {
                    "patient.height_cm"
                };
                errors.push(err(
                    field,
                    format!(
                        "height {} cm with weight {} kg gives BMI {}; accepted: a BMI of {lo}..={hi} (one of the two is wrong or in the wrong unit)",
                        fmt_num(h),
                        fmt_num(w),
                        fmt_num((bmi * 10.0).round() / 10.0)
                    ),
                ));
            }
        }
        let pregnant = p.pregnant.unwrap_or(false);
        if pregnant && sex == Some(Sex::Male) {
            errors.push(err(
                "patient.pregnant",
                "true is not accepted with sex = \"male\"; accepted: pregnant = true only for sex = \"female\"",
            ));
        }
        let (lo, hi) = limits::CHILDBEARING_AGE;
        if let Some(a) = age.filter(|a| !(lo..=hi).contains(a)) {
            for (field, set) in [
                ("patient.pregnant", pregnant),
                ("patient.breastfeeding", p.breastfeeding == Some(true)),
            ] {
                if set {
                    errors.push(err(
                        field,
                        format!(
                            "true is not accepted at age {}; accepted: ages {lo}-{hi}",
                            fmt_num(a)
                        ),
                    ));
                }
            }
        }
        if p.breastfeeding == Some(true) && sex == Some(Sex::Male) {
            errors.push(err(
                "patient.breastfeeding",
                "true is not accepted with sex = \"male\"; accepted: breastfeeding = true only for sex = \"female\"",
            ));
        }
        let trimester = match p.trimester {
            None => None,
            Some(t) if !pregnant => {
                errors.push(err(
                    "patient.trimester",
                    format!("{t} given but pregnant is not true; set pregnant = true or remove trimester"),
                ));
                None
            }
            Some(t @ 1..=3) => u8::try_from(t).ok(),
            Some(t) => {
                errors.push(err(
                    "patient.trimester",
                    format!("{t} is not accepted; accepted: 1, 2 or 3"),
                ));
                None
            }
        };
        Some(Patient {
            age: age?,
            sex: sex?,
            weight_kg,
            height_cm,
            pregnant,
            trimester,
            breastfeeding: p.breastfeeding.unwrap_or(false),
        })
    }

    /// A creatinine below [`limits::CREATININE_FLOOR_MG_DL`] from age 12
    /// on is less than half the lowest reference limit of adolescents and
    /// adults: in µmol/L it is almost always a mg/dL value typed in the
    /// µmol/L field (12 "µmol/L" would give a CrCl over 300), so it is
    /// refused with the reading it probably is.
    fn check_creatinine_unit(&self, age: f64, labs: &Labs, errors: &mut Vec<FieldError>) {
        let spec = LabKind::Creatinine.spec();
        let Some(scr) = labs.creatinine_mg_dl else {
            return;
        };
        if age < 12.0 || scr >= limits::CREATININE_FLOOR_MG_DL {
            return;
        }
        let floor = limits::CREATININE_FLOOR_MG_DL;
        // the value as typed in the other unit's field, when it came so
        let in_alt = spec.field_unit().and_then(|u| {
            let key = u.key?;
            Some((u, key, self.labs.field(key)?))
        });
        let message = match in_alt {
            Some((u, key, typed)) => (
                key,
                format!(
                    "{} {} ({} mg/dL) is below {} {} at age {}: it looks like a value in mg/dL; \
                         give it as `{}` or check the value",
                    fmt_num(typed),
                    u.label,
                    fmt_num(scr),
                    fmt_num((u.from_canonical)(floor).round()),
                    u.label,
                    fmt_num(age),
                    spec.field
                ),
            ),
            _ => (
                spec.key,
                format!(
                    "{} mg/dL is below {} mg/dL at age {}; accepted from age 12: {}..={} mg/dL",
                    fmt_num(scr),
                    fmt_num(floor),
                    fmt_num(age),
                    fmt_num(floor),
                    fmt_num(spec.range.1)
                ),
            ),
        };
        errors.push(err(message.0, message.1));
    }

    /// Bounded cost: lists and names past [`limits::LIST_ENTRIES`] and
    /// [`limits::NAME_CHARS`] are refused, naming the field and the limit,
    /// before any matching is done.
    fn check_sizes(&self, errors: &mut Vec<FieldError>) {
        let lists: [(&str, usize); 4] = [
            ("medications", self.medications.len()),
            ("proposed", self.proposed.len()),
            ("allergies", self.allergies.len()),
            ("conditions", self.conditions.len()),
        ];
        for (list, n) in lists {
            if n > limits::LIST_ENTRIES {
                errors.push(err(
                    list,
                    format!("{n} entries; accepted: at most {}", limits::LIST_ENTRIES),
                ));
            }
        }
        let texts = self
            .medications
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("medications[{i}].drug"), m.drug.as_str()))
            .chain(
                self.proposed
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (format!("proposed[{i}].drug"), m.drug.as_str())),
            )
            .chain(
                self.allergies
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (format!("allergies[{i}].substance"), a.substance.as_str())),
            )
            .chain(
                self.conditions
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("conditions[{i}]"), c.text())),
            );
        for (field, text) in texts {
            let n = text.chars().count();
            if n > limits::NAME_CHARS {
                errors.push(err(
                    field,
                    format!("{n} characters; accepted: at most {}", limits::NAME_CHARS),
                ));
            }
        }
    }

    fn validate_labs(&self, errors: &mut Vec<FieldError>) -> Labs {
        let mut labs = Labs::default();
        for spec in &LABS {
            let key = spec.key;
            let value = self.labs.field(key);
            *labs.get_mut(spec.kind) = match spec.field_unit() {
                Some(unit) => {
                    let unit_key = unit.key.unwrap_or_default();
                    either_unit(
                        (key, value),
                        (unit_key, self.labs.field(unit_key)),
                        unit.to_canonical,
                        spec.range,
                        spec.unit,
                        errors,
                    )
                }
                None => opt_range(key, value, spec.range, spec.unit, errors),
            };
        }
        labs
    }

    fn validate_allergies(&self, errors: &mut Vec<FieldError>) -> Vec<Allergy> {
        let mut out = Vec::new();
        for (i, a) in self.allergies.iter().enumerate() {
            let field = |name: &str| format!("allergies[{i}].{name}");
            if a.substance.trim().is_empty() {
                errors.push(err(
                    field("substance"),
                    "required: a drug, class or ingredient name",
                ));
                continue;
            }
            let severity = match a.severity.as_deref().map(|s| s.trim().to_lowercase()) {
                None => None,
                Some(s) => match s.as_str() {
                    "mild" => Some(AllergySeverity::Mild),
                    "moderate" => Some(AllergySeverity::Moderate),
                    "severe" => Some(AllergySeverity::Severe),
                    "anaphylaxis" => Some(AllergySeverity::Anaphylaxis),
                    other => {
                        errors.push(err(
                            field("severity"),
                            format!("\"{other}\" is not accepted; accepted: \"mild\", \"moderate\", \"severe\", \"anaphylaxis\""),
                        ));
                        None
                    }
                },
            };
            let mut one_of = |name: &str, value: &Option<String>, accepted: &[&str]| {
                let v = value
                    .as_deref()
                    .map(|v| v.trim().to_lowercase())
                    .filter(|v| !v.is_empty())?;
                if accepted.contains(&v.as_str()) {
                    return Some(v);
                }
                errors.push(err(
                    field(name),
                    format!("\"{v}\" is not accepted; accepted: {}", accepted.join(", ")),
                ));
                None
            };
            let verification = one_of("verification", &a.verification, super::ALLERGY_VERIFICATION);
            let criticality = one_of("criticality", &a.criticality, super::ALLERGY_CRITICALITY);
            out.push(Allergy {
                substance: a.substance.trim().to_string(),
                reaction: a.reaction.clone().filter(|r| !r.trim().is_empty()),
                severity,
                verification,
                criticality,
            });
        }
        out
    }

    /// Writes a validated case back into the file shape (canonical units).
    pub fn from_case(case: &Case) -> CaseFile {
        let p = &case.patient;
        let l = &case.labs;
        let orders = |orders: &[MedicationOrder]| {
            orders
                .iter()
                .map(|o| MedicationFile {
                    drug: o.drug.clone(),
                    dose: o.dose.as_ref().map(|d| d.text.clone()),
                    frequency: o.frequency.as_ref().map(|f| f.text.clone()),
                    indication: o.indication.clone(),
                })
                .collect()
        };
        CaseFile {
            id: Some(case.id.clone()),
            title: case.title.clone(),
            conditions: case.conditions.iter().map(ConditionFile::of).collect(),
            patient: Some(PatientFile {
                age: Some(p.age),
                sex: Some(p.sex.as_str().to_string()),
                weight_kg: p.weight_kg,
                height_cm: p.height_cm,
                pregnant: p.pregnant.then_some(true),
                trimester: p.trimester.map(i64::from),
                breastfeeding: p.breastfeeding.then_some(true),
                ..PatientFile::default()
            }),
            labs: {
                let mut file = LabsFile::default();
                for spec in &LABS {
                    if let Some(slot) = file.field_mut(spec.key) {
                        *slot = l.get(spec.kind);
                    }
                }
                file
            },
            allergies: case
                .allergies
                .iter()
                .map(|a| AllergyFile {
                    substance: a.substance.clone(),
                    reaction: a.reaction.clone(),
                    verification: a.verification.clone(),
                    criticality: a.criticality.clone(),
                    severity: a.severity.map(|s| {
                        match s {
                            AllergySeverity::Mild => "mild",
                            AllergySeverity::Moderate => "moderate",
                            AllergySeverity::Severe => "severe",
                            AllergySeverity::Anaphylaxis => "anaphylaxis",
                        }
                        .to_string()
                    }),
                })
                .collect(),
            medications: orders(&case.medications),
            proposed: orders(&case.proposed),
            pharmacogenomics: case.pgx.clone(),
            review: case.review,
            expect: case.expect.clone(),
        }
    }

    /// The case file as TOML text.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

fn validate_orders(
    list: &str,
    orders: &[MedicationFile],
    errors: &mut Vec<FieldError>,
) -> Vec<MedicationOrder> {
    let mut out = Vec::new();
    for (i, m) in orders.iter().enumerate() {
        let field = |name: &str| format!("{list}[{i}].{name}");
        if m.drug.trim().is_empty() {
            errors.push(err(field("drug"), "required: a generic or brand name"));
            continue;
        }
        let frequency = match m.frequency.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => match Frequency::parse(f) {
                Some(freq) => Some(freq),
                None => {
                    errors.push(err(
                        field("frequency"),
                        format!("\"{f}\" is not accepted; accepted: {ACCEPTED_FREQUENCIES}"),
                    ));
                    None
                }
            },
        };
        out.push(MedicationOrder {
            drug: m.drug.trim().to_string(),
            dose: m
                .dose
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .map(Dose::parse),
            frequency,
            indication: m.indication.clone().filter(|s| !s.trim().is_empty()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str =
        "[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"amoxicillin\"\n";

    fn message(text: &str) -> String {
        match parse_case(text, "t") {
            Ok(_) => String::from("ok"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn minimal_case_parses() {
        let case = parse_case(MINIMAL, "stem").expect("valid");
        assert_eq!(case.id, "stem");
        assert_eq!(case.patient.sex, Sex::Male);
        assert_eq!(case.proposed[0].drug, "amoxicillin");
    }

    #[test]
    fn not_toml() {
        let m = message("this is [not toml");
        assert!(m.contains("line 1"), "{m}");
    }

    #[test]
    fn missing_required_fields() {
        assert!(message("[[proposed]]\ndrug = \"x\"\n").contains("field `patient`"));
        assert!(
            message("[patient]\nsex = \"male\"\n[[proposed]]\ndrug = \"x\"\n")
                .contains("field `patient.age`")
        );
        assert!(message("[patient]\nage = 40\n[[proposed]]\ndrug = \"x\"\n")
            .contains("field `patient.sex`"));
        let m = message("[patient]\nage = 40\nsex = \"male\"\n");
        assert!(m.contains("field `proposed`"), "{m}");
    }

    /// Issue 19, finding 3: values that contradict the rest of the record
    /// are refused, naming the field and what is accepted.
    #[test]
    fn implausible_combinations_are_refused() {
        // a mg/dL creatinine typed in the µmol/L field (was CrCl 333)
        let m = message(&format!("{MINIMAL}[labs]\ncreatinine_umol_l = 12\n"));
        assert!(
            m.contains("labs.creatinine_umol_l") && m.contains("looks like a value in mg/dL"),
            "{m}"
        );
        // the same number is fine for an infant, and 88 µmol/L for anyone
        let infant = MINIMAL.replace("age = 40", "age = 1");
        assert_eq!(
            message(&format!("{infant}[labs]\ncreatinine_umol_l = 16\n")),
            "ok"
        );
        assert_eq!(
            message(&format!("{MINIMAL}[labs]\ncreatinine_umol_l = 88\n")),
            "ok"
        );
        let female = MINIMAL.replace("sex = \"male\"", "sex = \"female\"");
        for age in ["0.5", "5", "70"] {
            let m = message(&female.replace("age = 40", &format!("age = {age}\npregnant = true")));
            assert!(
                m.contains("patient.pregnant") && m.contains("ages 10-60"),
                "{age}: {m}"
            );
        }
        assert_eq!(
            message(&female.replace("age = 40", "age = 30\npregnant = true")),
            "ok"
        );
        let m = message(&MINIMAL.replace("age = 40", "age = 40\nbreastfeeding = true"));
        assert!(
            m.contains("patient.breastfeeding") && m.contains("female"),
            "{m}"
        );
    }

    /// Issue 19, finding 8: a 50,000-character name took 11 s and 2,000
    /// unknown medicines 31 s (debug build). Past the limits the case is
    /// refused at once, naming the field and the limit.
    #[test]
    fn oversized_names_and_lists_are_refused_before_any_matching() {
        let long = MINIMAL.replace("amoxicillin", &"x".repeat(50_000));
        let m = message(&long);
        assert!(
            m.contains("proposed[0].drug") && m.contains("at most 300"),
            "{m}"
        );
        let many: String = (0..200)
            .map(|i| format!("[[medications]]\ndrug = \"m{i}\"\n"))
            .collect();
        let m = message(&format!("{MINIMAL}{many}"));
        assert!(
            m.contains("medications") && m.contains("at most 150"),
            "{m}"
        );
        // a real list passes
        let some: String = (0..40)
            .map(|i| format!("[[medications]]\ndrug = \"m{i}\"\n"))
            .collect();
        assert_eq!(message(&format!("{MINIMAL}{some}")), "ok");
    }

    #[test]
    fn out_of_range_values_name_field_and_range() {
        let m = message(&MINIMAL.replace("age = 40", "age = 130"));
        assert!(
            m.contains("patient.age") && m.contains("0 < age <= 120"),
            "{m}"
        );
        let m = message(&MINIMAL.replace("age = 40", "age = 40\nweight_kg = 900"));
        assert!(
            m.contains("patient.weight_kg") && m.contains("0.3..=500"),
            "{m}"
        );
        let m = message(&MINIMAL.replace("age = 40", "age = 40\nheight_cm = 5"));
        assert!(m.contains("patient.height_cm"), "{m}");
        let m = message(&format!("{MINIMAL}[labs]\npotassium_mmol_l = 45\n"));
        assert!(
            m.contains("labs.potassium_mmol_l") && m.contains("1.5..=10"),
            "{m}"
        );
    }

    #[test]
    fn creatinine_units() {
        let a = parse_case(
            &format!("{MINIMAL}[labs]\ncreatinine_umol_l = 185.64\n"),
            "t",
        )
        .expect("ok");
        assert!((a.labs.creatinine_mg_dl.unwrap_or_default() - 2.1).abs() < 1e-9);
        let m = message(&format!(
            "{MINIMAL}[labs]\ncreatinine_mg_dl = 2.1\ncreatinine_umol_l = 185\n"
        ));
        assert!(m.contains("not both"), "{m}");
        // 2.1 typed in the µmol/L field is a unit slip, not a creatinine.
        let m = message(&format!("{MINIMAL}[labs]\ncreatinine_umol_l = 2.1\n"));
        assert!(m.contains("labs.creatinine_umol_l"), "{m}");
    }

    #[test]
    fn imperial_units_convert() {
        let c = parse_case(
            &MINIMAL.replace("age = 40", "age = 40\nweight_lb = 176\nheight_in = 70"),
            "t",
        )
        .expect("ok");
        assert!((c.patient.weight_kg.unwrap_or_default() - 79.83).abs() < 0.01);
        assert!((c.patient.height_cm.unwrap_or_default() - 177.8).abs() < 0.01);
    }

    #[test]
    fn pregnant_male_is_rejected() {
        let m = message(&MINIMAL.replace("age = 40", "age = 40\npregnant = true"));
        assert!(m.contains("patient.pregnant") && m.contains("male"), "{m}");
    }

    #[test]
    fn sex_other_and_unknown_are_kept_and_a_typo_is_rejected() {
        // Issue 14, part 5: other and unknown are what EHRs send; they are
        // kept (the equations then use the female ones, said in the rules).
        for (typed, want) in [("other", Sex::Other), ("unknown", Sex::Unknown)] {
            let c = parse_case(&MINIMAL.replace("\"male\"", &format!("\"{typed}\"")), "x")
                .expect("accepted");
            assert_eq!(c.patient.sex, want);
        }
        let m = message(&MINIMAL.replace("\"male\"", "\"mael\""));
        assert!(
            m.contains("patient.sex") && m.contains("\"other\" or \"unknown\""),
            "{m}"
        );
    }

    #[test]
    fn wrong_type_names_the_field_and_line() {
        let m = message(&MINIMAL.replace("age = 40", "age = \"forty\""));
        assert!(m.contains("line 2") && m.contains("patient.age"), "{m}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let m = message(&MINIMAL.replace("age = 40", "age = 40\nweight = 70"));
        assert!(m.contains("unknown field") && m.contains("weight"), "{m}");
    }

    #[test]
    fn bad_frequency_lists_accepted_values() {
        let m = message(&format!("{MINIMAL}frequency = \"sometimes\"\n"));
        assert!(
            m.contains("proposed[0].frequency") && m.contains("bid"),
            "{m}"
        );
    }

    #[test]
    fn round_trip_through_toml() {
        let text = format!(
            "id = \"x\"\nconditions = [\"asthma\", {{ text = \"CKD stage 4\", system = \"icd-10-cm\", code = \"N18.4\" }}]\n{}\n[labs]\ncreatinine_mg_dl = 1.2\ninr = 2.5\n[[allergies]]\nsubstance = \"penicillin\"\nseverity = \"anaphylaxis\"\n[[medications]]\ndrug = \"warfarin\"\ndose = \"5 mg\"\nfrequency = \"daily\"\n",
            MINIMAL.replace("age = 40", "age = 40\nweight_kg = 70")
        );
        let case = parse_case(&text, "t").expect("valid");
        let toml = CaseFile::from_case(&case).to_toml().expect("serialises");
        let again = parse_case(&toml, "t").expect("re-parses");
        assert_eq!(case, again);
        assert_eq!(
            again.conditions[1].code.as_ref().map(|c| c.code.as_str()),
            Some("N18.4")
        );
    }

    #[test]
    fn a_condition_code_needs_a_known_system() {
        let bad = |c: &str| message(&format!("conditions = [{c}]\n{MINIMAL}"));
        let m = bad("{ text = \"AF\", system = \"snomed\", codes = \"49436004\" }");
        assert!(
            m.contains("unknown field `codes`") && m.contains("`code`"),
            "{m}"
        );
        let m = bad("{ system = \"snomed\", code = \"49436004\" }");
        assert!(m.contains("missing field `text`"), "{m}");
        let m = bad("{ text = \"AF\", system = \"read-v2\", code = \"G573.\" }");
        assert!(
            m.contains("conditions[0]") && m.contains("accepted: snomed, icd-10-cm"),
            "{m}"
        );
        let m = bad("{ text = \"AF\", code = \"I48.91\" }");
        assert!(
            m.contains("conditions[0]") && m.contains("needs its `system`"),
            "{m}"
        );
    }
}
