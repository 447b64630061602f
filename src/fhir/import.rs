//! FHIR R4 resources -> [`CaseFile`] -> validated [`Case`].
//!
//! The importer only fills in a case file; validation, unit checks and
//! ranges are the case file's own ([`CaseFile::validate`]), so a bundle and
//! a TOML case are held to the same rules. Unit conversions that the case
//! file does not do itself come from [`crate::intake::units`].
//!
//! Whatever is not used (an unknown LOINC code, an inactive medication, a
//! value in a unit rxguide does not read, an older repeat of a lab) is
//! listed in the [`ImportReport`], never dropped silently.

use super::model::{
    AllergyIntolerance, CodeableConcept, Condition, Dosage, Medication, MedicationUse, Observation,
    Patient, Quantity, Reference, EXT_ALLERGY_SEVERITY, LOINC, RXNORM, SNOMED,
};
use super::FhirError;
use crate::intake::case_file::{AllergyFile, CaseFile, ConditionFile, MedicationFile, PatientFile};
use crate::intake::{fmt_num, units, Case, Frequency};
use crate::vocab::allergy::{no_known_allergy, NO_KNOWN_ALLERGY_SNOMED};
use crate::vocab::condition::CodeSystem;
use crate::vocab::lab::{self, norm_unit, LabKind};
use chrono::{Datelike, NaiveDate};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What the import left out, one line each, e.g.
/// `Observation/obs-9 4548-4 "Hemoglobin A1c" (unknown LOINC code)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub not_imported: Vec<String>,
}

impl ImportReport {
    fn push(&mut self, line: impl Into<String>) {
        let line = line.into();
        if !self.not_imported.contains(&line) {
            self.not_imported.push(line);
        }
    }
}

/// Whose a reference is (see `Build::whose`).
enum Whose {
    This,
    Other,
    Unresolved,
}

/// Options of an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Age is computed from `birthDate` at this date.
    pub as_of: NaiveDate,
    /// Extra proposed drugs (`--propose DRUG`).
    pub propose: Vec<String>,
    /// A medication review of the record's medicines (`--review`): no
    /// proposal needed.
    pub review: bool,
    /// Case id when the bundle has no `id`.
    pub default_id: String,
    /// A lab value older than this many days before `as_of` is used but
    /// said to be stale.
    pub stale_after_days: i64,
}

/// The default of [`ImportOptions::stale_after_days`]: a creatinine or
/// potassium from more than three months ago is not today's.
pub const STALE_AFTER_DAYS: i64 = 90;

impl ImportOptions {
    /// Today, no extra proposals.
    pub fn new(default_id: impl Into<String>) -> ImportOptions {
        ImportOptions {
            as_of: chrono::Local::now().date_naive(),
            propose: Vec::new(),
            review: false,
            default_id: default_id.into(),
            stale_after_days: STALE_AFTER_DAYS,
        }
    }
}

/// Where a resource came from: a patient record, or the orders being
/// written (CDS Hooks `draftOrders`: every medication in it is proposed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Record,
    DraftOrders,
    /// Draft orders an `order-select` request did not select: written in
    /// the same session, so checked with the selected ones, but as part of
    /// the regimen (their own flags are "current").
    OtherDraftOrders,
}

#[derive(Debug, Clone)]
struct Entry {
    /// `Observation/obs-1`, or `Observation (entry[3])` without an id.
    label: String,
    kind: String,
    id: Option<String>,
    full_url: Option<String>,
    resource: Value,
    role: Role,
}

/// Collects resources from bundles or single resources, then builds the
/// case. Several inputs may be added (a CDS Hooks request has a prefetch
/// and draft orders).
#[derive(Debug, Default)]
pub struct Importer {
    entries: Vec<Entry>,
    bundle_id: Option<String>,
    report: ImportReport,
}

/// Parses FHIR JSON text (a Bundle or one resource) and imports it.
pub fn import_json(text: &str, opts: &ImportOptions) -> Result<(Case, ImportReport), FhirError> {
    let value: Value = super::json::parse(text)?;
    let mut importer = Importer::default();
    importer.add(value, Role::Record, "")?;
    importer.finish(opts)
}

fn resource_type(v: &Value) -> Option<&str> {
    v.get("resourceType").and_then(Value::as_str)
}

fn str_field(v: &Value, name: &str) -> Option<String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl Importer {
    pub fn new() -> Importer {
        Importer::default()
    }

    /// Adds a Bundle (its entries, nested bundles included) or a single
    /// resource. `origin` names the place in the input for error messages
    /// (`prefetch.medications`; empty for a file).
    pub fn add(&mut self, value: Value, role: Role, origin: &str) -> Result<(), FhirError> {
        let at = |suffix: &str| {
            if origin.is_empty() {
                suffix.to_string()
            } else if suffix.is_empty() {
                origin.to_string()
            } else {
                format!("{origin}.{suffix}")
            }
        };
        let Some(kind) = resource_type(&value).map(str::to_string) else {
            return Err(FhirError::NotFhir {
                origin: if origin.is_empty() {
                    "input".into()
                } else {
                    origin.into()
                },
                message: "not a FHIR resource: no `resourceType` (expected a Bundle or a resource)"
                    .into(),
            });
        };
        if kind == "Bundle" {
            if role == Role::Record && self.bundle_id.is_none() {
                self.bundle_id = str_field(&value, "id");
            }
            let entries = match value.get("entry") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(_) => {
                    return Err(FhirError::Resource {
                        resource: if origin.is_empty() {
                            "Bundle".into()
                        } else {
                            origin.into()
                        },
                        path: "entry".into(),
                        message: "must be an array of entries".into(),
                    })
                }
            };
            for (i, e) in entries.into_iter().enumerate() {
                let here = at(&format!("entry[{i}]"));
                let full_url = str_field(&e, "fullUrl");
                match e.get("resource") {
                    Some(r) if r.is_object() => {
                        let r = r.clone();
                        if resource_type(&r) == Some("Bundle") {
                            self.add(r, role, &format!("{here}.resource"))?;
                        } else {
                            self.push(r, role, full_url, &here)?;
                        }
                    }
                    _ => self
                        .report
                        .push(format!("{here} (a Bundle entry without a resource)")),
                }
            }
            Ok(())
        } else {
            self.push(value, role, None, &at(""))
        }
    }

    fn push(
        &mut self,
        resource: Value,
        role: Role,
        full_url: Option<String>,
        origin: &str,
    ) -> Result<(), FhirError> {
        let Some(kind) = resource_type(&resource).map(str::to_string) else {
            return Err(FhirError::NotFhir {
                origin: if origin.is_empty() {
                    "input".into()
                } else {
                    origin.into()
                },
                message: "no `resourceType`".into(),
            });
        };
        let id = str_field(&resource, "id");
        let label = match &id {
            Some(id) => format!("{kind}/{id}"),
            None if origin.is_empty() => kind.clone(),
            None => format!("{kind} ({origin})"),
        };
        self.entries.push(Entry {
            label,
            kind,
            id,
            full_url,
            resource,
            role,
        });
        Ok(())
    }

    /// Builds and validates the case.
    pub fn finish(self, opts: &ImportOptions) -> Result<(Case, ImportReport), FhirError> {
        let built = self.build(opts)?;
        match built.file.validate(&opts.default_id) {
            Ok(case) => Ok((case, built.report)),
            Err(mut errors) => {
                let error = errors.remove(0);
                let origin = built.origins.lookup(&error.field);
                Err(FhirError::Invalid { origin, error })
            }
        }
    }

    /// The case file the resources describe, before validation, with where
    /// each field came from.
    pub fn build(self, opts: &ImportOptions) -> Result<Built, FhirError> {
        Build::new(self, opts).run()
    }
}

/// A case file built from FHIR, not yet validated.
#[derive(Debug, Clone)]
pub struct Built {
    pub file: CaseFile,
    pub origins: Origins,
    pub report: ImportReport,
}

/// Case-file field -> the FHIR resource and element it came from.
#[derive(Debug, Clone, Default)]
pub struct Origins(BTreeMap<String, String>);

impl Origins {
    fn set(&mut self, field: &str, origin: impl Into<String>) {
        self.0.insert(field.to_string(), origin.into());
    }

    /// The origin of `field` or of its nearest parent (`proposed[0].dose`
    /// -> `proposed[0]`).
    pub fn lookup(&self, field: &str) -> String {
        let mut f = field;
        loop {
            if let Some(o) = self.0.get(f) {
                return o.clone();
            }
            match f.rfind(['.', '[']) {
                Some(i) => f = &f[..i],
                None => return "input".into(),
            }
        }
    }
}

fn typed<T: DeserializeOwned>(e: &Entry) -> Result<T, FhirError> {
    serde_path_to_error::deserialize(&e.resource).map_err(|err| FhirError::Resource {
        resource: e.label.clone(),
        path: err.path().to_string(),
        message: err.inner().to_string(),
    })
}

/// Elements that refine a resource without being what rxguide reads it
/// for: one written in a shape it cannot read (a `doseAndRate` object
/// where FHIR has an array, as the HL7 cds-hooks-library example sends)
/// is dropped and said, and the rest of the resource is still used. An
/// odd element anywhere else (a value, a code) still rejects the input,
/// naming it.
const SKIPPABLE: &[&str] = &[
    "dosageInstruction",
    "dosage",
    "reaction",
    "note",
    "extension",
    "meta",
    "text",
    "category",
    "interpretation",
    "referenceRange",
    "dispenseRequest",
    "substitution",
];

/// [`typed`], dropping unreadable [`SKIPPABLE`] elements (each said in
/// `report`) until the resource reads or the error is elsewhere.
fn typed_lenient<T: DeserializeOwned>(
    e: &Entry,
    report: &mut ImportReport,
) -> Result<T, FhirError> {
    let mut value = e.resource.clone();
    loop {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(t) => return Ok(t),
            Err(err) => err,
        };
        let path = err.path().to_string();
        let head = path.split(['.', '[']).next().unwrap_or("");
        if !SKIPPABLE.contains(&head) || value.get(head).is_none() {
            return Err(FhirError::Resource {
                resource: e.label.clone(),
                path,
                message: err.inner().to_string(),
            });
        }
        let index = path[head.len()..]
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .and_then(|i| i.parse::<usize>().ok());
        let Some(obj) = value.as_object_mut() else {
            return typed(e);
        };
        let dropped = match (obj.get_mut(head), index) {
            (Some(Value::Array(items)), Some(i)) if i < items.len() => {
                items.remove(i);
                format!("{head}[{i}]")
            }
            _ => {
                obj.remove(head);
                head.to_string()
            }
        };
        report.push(format!(
            "{} {dropped} (not read: {} at {path}; the rest of the resource is used)",
            e.label,
            err.inner()
        ));
    }
}

/// A lab or patient-state observation rxguide reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Slot {
    Weight,
    Height,
    Lab(LabKind),
    Pregnancy,
    Breastfeeding,
    GestationalAge,
}

/// LOINC codes of the observations read besides the labs of the lab table
/// (body measures and pregnancy state), with their slot.
const PATIENT_OBSERVATIONS: &[(&str, &str, Slot)] = &[
    ("29463-7", "body weight", Slot::Weight),
    ("3141-9", "body weight (measured)", Slot::Weight),
    ("8302-2", "body height", Slot::Height),
    ("82810-3", "pregnancy status", Slot::Pregnancy),
    ("63895-7", "breastfeeding status", Slot::Breastfeeding),
    ("49051-6", "gestational age (weeks)", Slot::GestationalAge),
    (
        "11884-4",
        "gestational age (estimated)",
        Slot::GestationalAge,
    ),
];

/// Every LOINC code the importer reads, and what it means: the patient
/// observations, then each lab's codes from the lab table. The CDS Hooks
/// prefetch template asks for exactly these.
pub fn loinc_codes() -> Vec<(&'static str, &'static str)> {
    PATIENT_OBSERVATIONS
        .iter()
        .map(|(code, what, _)| (*code, *what))
        .chain(lab::loinc_codes().map(|l| (l.code, l.display)))
        .collect()
}

fn slot_of(loinc: &str) -> Option<Slot> {
    if let Some(spec) = lab::by_loinc(loinc) {
        return Some(Slot::Lab(spec.kind));
    }
    PATIENT_OBSERVATIONS
        .iter()
        .find(|(code, _, _)| *code == loinc)
        .map(|(_, _, slot)| *slot)
}

/// The case-file field a quantity goes to, and its value in that field's
/// unit; or why not.
fn quantity_field(slot: Slot, q: &Quantity) -> Result<(&'static str, f64), String> {
    let Some(v) = q.value else {
        return Err("no value".into());
    };
    let unit = norm_unit(&q.unit_key());
    let bad = |accepted: &str| {
        Err(format!(
            "unit \"{}\" not read; accepted: {accepted}",
            q.unit_key()
        ))
    };
    Ok(match slot {
        Slot::Weight => match unit.as_str() {
            "kg" => ("patient.weight_kg", v),
            "g" => ("patient.weight_kg", units::g_to_kg(v)),
            "[lb_av]" | "lb" | "lbs" => ("patient.weight_lb", v),
            _ => return bad("kg, g, [lb_av]"),
        },
        Slot::Height => match unit.as_str() {
            "cm" => ("patient.height_cm", v),
            "m" => ("patient.height_cm", units::m_to_cm(v)),
            "[in_i]" | "in" => ("patient.height_in", v),
            _ => return bad("cm, m, [in_i]"),
        },
        Slot::Lab(kind) => {
            let spec = lab::spec(kind);
            match spec.read_quantity(&unit, v) {
                Some(read) => read,
                None => return bad(&spec.accepted_units()),
            }
        }
        Slot::Pregnancy | Slot::Breastfeeding | Slot::GestationalAge => {
            return Err("not a quantity observation".into())
        }
    })
}

fn set_field(file: &mut CaseFile, field: &str, v: f64) {
    let p = file.patient.get_or_insert_with(PatientFile::default);
    let slot = match field {
        "patient.weight_kg" => &mut p.weight_kg,
        "patient.weight_lb" => &mut p.weight_lb,
        "patient.height_cm" => &mut p.height_cm,
        "patient.height_in" => &mut p.height_in,
        lab => match file.labs.field_mut(lab) {
            Some(slot) => slot,
            None => return,
        },
    };
    *slot = Some(v);
}

/// An observation time as an instant in UTC, for ordering: a dateTime with
/// an offset is converted ("2024-03-01T23:00:00-05:00" is after
/// "2024-03-02T01:00:00Z"); one without, and a bare or partial date, is
/// read as UTC (a date as its midnight). `None` when unreadable.
fn instant(when: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let w = when.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(w) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(w, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(w, "%Y-%m-%dT%H:%M") {
        return Some(t.and_utc());
    }
    parse_fhir_date(w)
        .and_then(|(d, _)| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Age in years at `as_of`: whole years from 2 years on; months/12 below
/// (2 decimals); days/365.25 in the first month.
pub fn age_at(birth: NaiveDate, as_of: NaiveDate) -> Option<f64> {
    if birth > as_of {
        return None;
    }
    let before_birthday = (as_of.month(), as_of.day()) < (birth.month(), birth.day());
    let years = as_of.year() - birth.year() - i32::from(before_birthday);
    if years >= 2 {
        return Some(f64::from(years));
    }
    let months = (as_of.year() * 12 + as_of.month() as i32)
        - (birth.year() * 12 + birth.month() as i32)
        - i32::from(as_of.day() < birth.day());
    if months >= 1 {
        return Some((f64::from(months) / 12.0 * 100.0).round() / 100.0);
    }
    let days = (as_of - birth).num_days() as f64;
    Some((days / 365.25 * 1000.0).round() / 1000.0)
}

/// Parses a FHIR `date`: `YYYY-MM-DD`, or partial `YYYY-MM` / `YYYY`
/// (taken as the first day; the bool says it was partial).
fn parse_fhir_date(s: &str) -> Option<(NaiveDate, bool)> {
    let s = s.trim();
    let date_part = s.get(..10).unwrap_or(s);
    if let Ok(d) = NaiveDate::parse_from_str(date_part, "%Y-%m-%d") {
        return Some((d, false));
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
        return Some((d, true));
    }
    NaiveDate::parse_from_str(&format!("{s}-01-01"), "%Y-%m-%d")
        .ok()
        .map(|d| (d, true))
}

/// Status codes that are not (or no longer) true of the patient.
fn bad_verification(cc: Option<&CodeableConcept>) -> Option<String> {
    let cc = cc?;
    ["refuted", "entered-in-error"]
        .into_iter()
        .find(|c| cc.has_code(c))
        .map(|c| format!("verification status {c}"))
}

/// `None` when the clinical status is absent or one of `active`; else why.
fn inactive(cc: Option<&CodeableConcept>, active: &[&str]) -> Option<String> {
    let cc = cc?;
    if active.iter().any(|a| cc.has_code(a)) {
        return None;
    }
    let codes: Vec<&str> = cc.codes().collect();
    Some(format!(
        "clinical status {}",
        if codes.is_empty() {
            cc.label(None).unwrap_or_else(|| "unknown".into())
        } else {
            codes.join("/")
        }
    ))
}

struct Build<'a> {
    entries: Vec<Entry>,
    opts: &'a ImportOptions,
    file: CaseFile,
    origins: Origins,
    report: ImportReport,
    /// Reference keys (`Type/id`, fullUrl) -> entry index.
    index: HashMap<String, usize>,
    patient_keys: Vec<String>,
    patient_id: Option<String>,
    /// The `fullUrl` of every entry of the input.
    full_urls: Vec<String>,
}

impl<'a> Build<'a> {
    fn new(importer: Importer, opts: &'a ImportOptions) -> Build<'a> {
        let mut index = HashMap::new();
        for (i, e) in importer.entries.iter().enumerate() {
            if let Some(id) = &e.id {
                index.entry(format!("{}/{id}", e.kind)).or_insert(i);
            }
            if let Some(u) = &e.full_url {
                index.entry(u.clone()).or_insert(i);
            }
        }
        let file = CaseFile {
            id: importer.bundle_id,
            ..CaseFile::default()
        };
        Build {
            entries: importer.entries,
            opts,
            file,
            origins: Origins::default(),
            report: importer.report,
            index,
            patient_keys: Vec::new(),
            patient_id: None,
            full_urls: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Built, FhirError> {
        self.full_urls = self
            .entries
            .iter()
            .filter_map(|e| e.full_url.clone())
            .collect();
        self.patient()?;
        let entries = std::mem::take(&mut self.entries);
        let mut observations = Vec::new();
        for e in &entries {
            match e.kind.as_str() {
                "Patient" | "Medication" => {}
                "Observation" => {
                    observations.push((e, typed_lenient::<Observation>(e, &mut self.report)?))
                }
                "Condition" => {
                    let c = typed_lenient(e, &mut self.report)?;
                    self.condition(e, &c)
                }
                "AllergyIntolerance" => {
                    let a = typed_lenient(e, &mut self.report)?;
                    self.allergy(e, &a)
                }
                "MedicationStatement" | "MedicationRequest" => {
                    let m = typed_lenient(e, &mut self.report)?;
                    self.medication(e, &m, &entries)?
                }
                "DetectedIssue" => self.report.push(format!(
                    "{} (flags are recomputed by rxguide, not imported)",
                    e.label
                )),
                other => self.report.push(format!(
                    "{} (resource type {other} is not used by rxguide)",
                    e.label
                )),
            }
        }
        self.observations(observations);
        self.implausible_height();
        for (i, drug) in self.opts.propose.iter().enumerate() {
            let drug = drug.trim();
            if self
                .file
                .proposed
                .iter()
                .any(|p| p.drug.eq_ignore_ascii_case(drug))
            {
                continue;
            }
            let n = self.file.proposed.len();
            self.origins
                .set(&format!("proposed[{n}]"), format!("--propose #{}", i + 1));
            self.file.proposed.push(MedicationFile {
                drug: drug.to_string(),
                ..MedicationFile::default()
            });
        }
        self.file.review = self.opts.review;
        // What a problem with the list as a whole is about: its absence, or
        // the orders themselves (too many of them).
        self.origins.set(
            "proposed",
            if self.file.proposed.is_empty() {
                "the input: no MedicationRequest with intent proposal/plan or status draft, and no --propose DRUG (or --review for a medication review)".to_string()
            } else {
                format!("the proposed orders ({})", self.file.proposed.len())
            },
        );
        Ok(Built {
            file: self.file,
            origins: self.origins,
            report: self.report,
        })
    }

    /// A height that gives an impossible BMI with the weight is dropped
    /// and said: height feeds only BMI and IBW, and a record's stray value
    /// (a length of 25 cm beside 80 kg) must not reach them. Typed in a
    /// case file or the form, the same pair is a field error instead.
    fn implausible_height(&mut self) {
        let Some(p) = self.file.patient.as_mut() else {
            return;
        };
        let weight = p.weight_kg.or(p.weight_lb.map(units::lb_to_kg));
        let height = p.height_cm.or(p.height_in.map(units::in_to_cm));
        let (Some(w), Some(h)) = (weight, height) else {
            return;
        };
        if let Some(bmi) = units::implausible_bmi(w, h) {
            let (lo, hi) = units::limits::BMI;
            p.height_cm = None;
            p.height_in = None;
            let field = "patient.height_cm";
            self.report.push(format!(
                "{} height {} cm (with weight {} kg it gives BMI {}, outside {lo}..={hi}: not used; BMI and IBW not computed)",
                self.origins.lookup(field),
                fmt_num(h),
                fmt_num(w),
                fmt_num((bmi * 10.0).round() / 10.0)
            ));
        }
    }

    /// Whose a reference is: this patient's (by `Patient/id`, an absolute
    /// URL ending in it, or the Patient's `fullUrl`), another's (another
    /// Patient id, or the `fullUrl` of another entry), or unresolved (a
    /// `urn:uuid:` or URL that nothing in the input carries, as the CDS
    /// Hooks sandbox sends): read as this patient's, the only one, and said.
    fn whose(&self, r: Option<&Reference>) -> Whose {
        let Some(reference) = r.and_then(|r| r.reference.as_deref()) else {
            return Whose::This;
        };
        let Some(id) = &self.patient_id else {
            return Whose::This;
        };
        if self.patient_keys.iter().any(|k| k == reference)
            || reference.ends_with(&format!("/Patient/{id}"))
            || reference == format!("Patient/{id}")
        {
            return Whose::This;
        }
        let names_a_patient = reference.starts_with("Patient/") || reference.contains("/Patient/");
        if names_a_patient || self.full_urls.iter().any(|u| u == reference) {
            Whose::Other
        } else {
            Whose::Unresolved
        }
    }

    fn other_patient(&mut self, e: &Entry, r: Option<&Reference>) -> bool {
        match self.whose(r) {
            Whose::This => return false,
            Whose::Unresolved => {
                let reference = r.and_then(|r| r.reference.clone()).unwrap_or_default();
                self.report.push(format!(
                    "references to the patient as \"{reference}\" resolve to nothing in the input: read as the input's Patient (the only one)"
                ));
                return false;
            }
            Whose::Other => {}
        }
        let reference = r.and_then(|r| r.reference.clone()).unwrap_or_default();
        self.report.push(format!(
            "{} (refers to another patient: {reference})",
            e.label
        ));
        true
    }

    fn patient(&mut self) -> Result<(), FhirError> {
        let mut found: Vec<usize> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if e.kind != "Patient" {
                continue;
            }
            let dup = found.iter().any(|&j| {
                let f = &self.entries[j];
                f.id.is_some() && f.id == e.id
            });
            if !dup {
                found.push(i);
            }
        }
        if found.len() > 1 {
            let labels: Vec<&str> = found
                .iter()
                .map(|&i| self.entries[i].label.as_str())
                .collect();
            return Err(FhirError::Ambiguous {
                message: format!(
                    "the input holds {} Patient resources ({}); rxguide assesses one patient at a time",
                    found.len(),
                    labels.join(", ")
                ),
            });
        }
        let Some(&i) = found.first() else {
            self.origins.set(
                "patient",
                "the input: no Patient resource (birthDate and gender are required)",
            );
            return Ok(());
        };
        let e = self.entries[i].clone();
        let p: Patient = typed(&e)?;
        self.patient_id = p.id.clone();
        if let Some(id) = &p.id {
            self.patient_keys.push(format!("Patient/{id}"));
        }
        if let Some(u) = &e.full_url {
            self.patient_keys.push(u.clone());
        }
        for other in self.entries.iter().filter(|x| x.kind == "Patient") {
            if let Some(u) = &other.full_url {
                if other.id == p.id && !self.patient_keys.contains(u) {
                    self.patient_keys.push(u.clone());
                }
            }
        }
        self.deceased(&e.label, &p)?;
        let mut pf = PatientFile {
            sex: p.gender.clone(),
            ..PatientFile::default()
        };
        self.origins.set("patient", e.label.clone());
        self.origins
            .set("patient.age", format!("{} birthDate", e.label));
        self.origins
            .set("patient.sex", format!("{} gender", e.label));
        if let Some(b) = &p.birth_date {
            let Some((date, partial)) = parse_fhir_date(b) else {
                return Err(FhirError::Resource {
                    resource: e.label.clone(),
                    path: "birthDate".into(),
                    message: format!("\"{b}\" is not a FHIR date (YYYY-MM-DD)"),
                });
            };
            let Some(age) = age_at(date, self.opts.as_of) else {
                return Err(FhirError::Resource {
                    resource: e.label.clone(),
                    path: "birthDate".into(),
                    message: format!("{b} is after the assessment date {}", self.opts.as_of),
                });
            };
            if partial {
                self.report.push(format!(
                    "{} birthDate \"{b}\" is partial: age computed from {date} (may be up to a year too high)",
                    e.label
                ));
            }
            pf.age = Some(age);
        }
        self.file.patient = Some(pf);
        Ok(())
    }

    /// A patient recorded as deceased is refused: a prescription for them
    /// means the wrong record was opened. Assessing as of a date before
    /// the death (`--as-of`) is allowed and said.
    fn deceased(&mut self, label: &str, p: &Patient) -> Result<(), FhirError> {
        let refuse = |path: &str, what: String| {
            Err(FhirError::Resource {
                resource: label.to_string(),
                path: path.into(),
                message: format!(
                    "the patient is recorded as deceased ({what}); rxguide assesses living patients: check that this is the right record, or assess as of an earlier date (--as-of)"
                ),
            })
        };
        if let Some(t) = &p.deceased_date_time {
            return match parse_fhir_date(t) {
                Some((d, _)) if d > self.opts.as_of => {
                    self.report.push(format!(
                        "{label} deceasedDateTime {t} is after the assessment date {}: assessed as of that date",
                        self.opts.as_of
                    ));
                    Ok(())
                }
                _ => refuse("deceasedDateTime", format!("deceasedDateTime {t}")),
            };
        }
        if p.deceased_boolean == Some(true) {
            return refuse("deceasedBoolean", "deceasedBoolean true".into());
        }
        Ok(())
    }

    fn observations(&mut self, observations: Vec<(&Entry, Observation)>) {
        // Slot -> candidates (instant, order, entry, observation).
        type Candidate<'e> = (
            Option<chrono::DateTime<chrono::Utc>>,
            usize,
            &'e Entry,
            &'e Observation,
        );
        let mut by_slot: BTreeMap<Slot, Vec<Candidate<'_>>> = BTreeMap::new();
        for (order, (e, o)) in observations.iter().enumerate() {
            if self.other_patient(e, o.subject.as_ref()) {
                continue;
            }
            let loinc = o.code.code_in(LOINC);
            let Some(code) = loinc else {
                self.report
                    .push(format!("{} {} (no LOINC code)", e.label, o.code.describe()));
                continue;
            };
            let Some(slot) = slot_of(code) else {
                self.report.push(format!(
                    "{} {} (unknown LOINC code)",
                    e.label,
                    o.code.describe()
                ));
                continue;
            };
            if let Some(s) = o.status.as_deref() {
                if matches!(s, "entered-in-error" | "cancelled" | "registered") {
                    self.report.push(format!("{} {code} (status {s})", e.label));
                    continue;
                }
            }
            let at = o.when().and_then(instant);
            if let Some(t) = at.filter(|t| t.date_naive() > self.opts.as_of) {
                self.report.push(format!(
                    "{} {code} {} (dated {}, after the assessment date {}: not used)",
                    e.label,
                    describe_value(o),
                    t.format("%Y-%m-%d"),
                    self.opts.as_of
                ));
                continue;
            }
            by_slot.entry(slot).or_default().push((at, order, e, o));
        }
        for (slot, mut list) in by_slot {
            // Oldest first (undated before dated), then in record order.
            list.sort_by_key(|a| (a.0, a.1));
            // Newest first: the first value that reads is used; the
            // others are said, a disagreeing one at the same time loudest.
            let mut used: Option<&Candidate<'_>> = None;
            for c in list.iter().rev() {
                let (at, _, e, o) = c;
                let Some(u) = used else {
                    if self.observation(slot, e, o) {
                        used = Some(c);
                    }
                    continue;
                };
                let (uat, _, ue, uo) = u;
                let code = o.code.code_in(LOINC).unwrap_or("");
                if at.is_some() && at == uat && describe_value(o) != describe_value(uo) {
                    self.report.push(format!(
                        "{} {code} {} (recorded at the same time as {} {}, which disagrees; {} is used: check which is right)",
                        e.label,
                        describe_value(o),
                        ue.label,
                        describe_value(uo),
                        ue.label
                    ));
                } else {
                    self.report.push(format!(
                        "{} {code} {} (an earlier value{}; the latest readable, {}{}, is used)",
                        e.label,
                        describe_value(o),
                        o.when().map(|w| format!(" from {w}")).unwrap_or_default(),
                        ue.label,
                        uo.when().map(|w| format!(" from {w}")).unwrap_or_default()
                    ));
                }
            }
            if let (Slot::Lab(kind), Some((Some(t), _, e, o))) = (slot, used) {
                let days = (self.opts.as_of - t.date_naive()).num_days();
                if days > self.opts.stale_after_days {
                    self.report.push(format!(
                        "{} {} {} is from {}, {days} days before the assessment date {} (older than {} days): used, but check for a recent value",
                        e.label,
                        lab::spec(kind).label,
                        describe_value(o),
                        t.format("%Y-%m-%d"),
                        self.opts.as_of,
                        self.opts.stale_after_days
                    ));
                }
            }
        }
    }

    /// Reads one observation into the case; false (and said) when its
    /// value could not be read, so an older one is tried.
    fn observation(&mut self, slot: Slot, e: &Entry, o: &Observation) -> bool {
        let code = o.code.code_in(LOINC).unwrap_or("");
        let origin = format!("{} ({code}) value", e.label);
        let skip = |s: &mut Self, why: &str| {
            s.report
                .push(format!("{} {code} {} ({why})", e.label, describe_value(o)));
            false
        };
        match slot {
            Slot::Pregnancy => match pregnancy_value(o) {
                Some(pregnant) => {
                    let p = self.file.patient.get_or_insert_with(PatientFile::default);
                    p.pregnant = Some(pregnant);
                    self.origins.set("patient.pregnant", origin.clone());
                    let trimester = o.component.iter().find_map(|c| {
                        c.code
                            .label(None)
                            .filter(|l| l.eq_ignore_ascii_case("trimester"))
                            .and(c.value_integer)
                    });
                    if let Some(t) = trimester {
                        p.trimester = Some(t);
                        self.origins.set(
                            "patient.trimester",
                            format!("{} component trimester", e.label),
                        );
                    }
                    true
                }
                None => skip(
                    self,
                    "pregnancy status not read as pregnant or not pregnant",
                ),
            },
            Slot::Breastfeeding => match breastfeeding_value(o) {
                Some(b) => {
                    let p = self.file.patient.get_or_insert_with(PatientFile::default);
                    p.breastfeeding = Some(b);
                    true
                }
                None => skip(self, "breastfeeding status not read as yes or no"),
            },
            Slot::GestationalAge => {
                let weeks = o.value_quantity.as_ref().and_then(|q| {
                    let v = q.value?;
                    match norm_unit(&q.unit_key()).as_str() {
                        "wk" | "weeks" | "week" => Some(v),
                        "d" | "days" => Some(v / 7.0),
                        _ => None,
                    }
                });
                let pregnant = self
                    .file
                    .patient
                    .as_ref()
                    .and_then(|p| p.pregnant)
                    .unwrap_or(false);
                match weeks {
                    Some(w) if pregnant => {
                        let p = self.file.patient.get_or_insert_with(PatientFile::default);
                        if p.trimester.is_none() {
                            p.trimester = Some(if w < 14.0 {
                                1
                            } else if w < 28.0 {
                                2
                            } else {
                                3
                            });
                            self.origins.set("patient.trimester", origin);
                        }
                        true
                    }
                    Some(_) => skip(
                        self,
                        "gestational age without a pregnancy status of pregnant",
                    ),
                    None => skip(self, "gestational age not in weeks or days"),
                }
            }
            _ => {
                let Some(q) = &o.value_quantity else {
                    return skip(self, "no valueQuantity");
                };
                if let Some(c) = q.comparator.as_deref().filter(|c| !c.trim().is_empty()) {
                    return skip(
                        self,
                        &format!("comparator \"{c}\": a bound, not a measured value; not used"),
                    );
                }
                match quantity_field(slot, q) {
                    Ok((field, v)) => {
                        set_field(&mut self.file, field, v);
                        self.origins.set(field, origin);
                        true
                    }
                    Err(why) => skip(self, &why),
                }
            }
        }
    }

    fn condition(&mut self, e: &Entry, c: &Condition) {
        if self.other_patient(e, c.subject.as_ref()) {
            return;
        }
        let name = c.code.as_ref().and_then(|cc| cc.label(Some(SNOMED)));
        // The first code in a system the vocabulary holds (SNOMED CT, then
        // ICD-10-CM), kept with the text so the rules can read it.
        let code = c.code.as_ref().and_then(|cc| {
            [CodeSystem::Snomed, CodeSystem::Icd10Cm]
                .into_iter()
                .find_map(|sys| {
                    cc.coding.iter().find_map(|k| {
                        let system = k.system.as_deref().and_then(CodeSystem::from_uri)?;
                        let code = k.code.as_deref().map(str::trim).filter(|c| !c.is_empty())?;
                        (system == sys).then(|| (system, code.to_string()))
                    })
                })
        });
        let what = name.clone().unwrap_or_else(|| {
            c.code
                .as_ref()
                .map_or_else(|| "(no code)".into(), CodeableConcept::describe)
        });
        if let Some(why) = bad_verification(c.verification_status.as_ref()).or_else(|| {
            inactive(
                c.clinical_status.as_ref(),
                &["active", "recurrence", "relapse"],
            )
        }) {
            self.report.push(format!("{} {what} ({why})", e.label));
            return;
        }
        match name {
            Some(n) if !self.file.conditions.iter().any(|c| c.text() == n) => {
                self.file.conditions.push(match code {
                    Some((system, code)) => ConditionFile::Coded {
                        text: n,
                        system: Some(system.short().to_string()),
                        code: Some(code),
                    },
                    None => ConditionFile::Text(n),
                })
            }
            Some(_) => {}
            None => self
                .report
                .push(format!("{} {what} (no text or display name)", e.label)),
        }
    }

    fn allergy(&mut self, e: &Entry, a: &AllergyIntolerance) {
        if self.other_patient(e, a.patient.as_ref()) {
            return;
        }
        let substance = a.code.as_ref().and_then(|cc| cc.label(Some(RXNORM)));
        let what = substance.clone().unwrap_or_else(|| {
            a.code
                .as_ref()
                .map_or_else(|| "(no code)".into(), CodeableConcept::describe)
        });
        if let Some(why) = bad_verification(a.verification_status.as_ref())
            .or_else(|| inactive(a.clinical_status.as_ref(), &["active"]))
        {
            self.report.push(format!("{} {what} ({why})", e.label));
            return;
        }
        let coded_absence = a.code.as_ref().is_some_and(|cc| {
            cc.coding.iter().any(|c| {
                c.system.as_deref() == Some(SNOMED)
                    && c.code
                        .as_deref()
                        .is_some_and(|k| NO_KNOWN_ALLERGY_SNOMED.contains(&k))
            })
        });
        if coded_absence || substance.as_deref().is_some_and(no_known_allergy) {
            self.report.push(format!(
                "{} {what} (records no known allergy: not an allergy)",
                e.label
            ));
            return;
        }
        let Some(substance) = substance else {
            self.report.push(format!(
                "{} {what} (no substance text or display name)",
                e.label
            ));
            return;
        };
        let mut manifestations: Vec<String> = Vec::new();
        for r in &a.reaction {
            let names: Vec<String> = r
                .manifestation
                .iter()
                .filter_map(|m| m.label(Some(SNOMED)))
                .collect();
            let names = if names.is_empty() {
                r.description.clone().into_iter().collect()
            } else {
                names
            };
            for n in names {
                if !manifestations.contains(&n) {
                    manifestations.push(n);
                }
            }
        }
        let reaction = (!manifestations.is_empty()).then(|| manifestations.join(", "));
        let rank = |s: &str| match s {
            "mild" => 1,
            "moderate" => 2,
            "severe" => 3,
            _ => 0,
        };
        let from_ext = a
            .extension
            .iter()
            .find(|x| x.url == EXT_ALLERGY_SEVERITY)
            .and_then(|x| x.value_code.clone());
        let severity = from_ext.or_else(|| {
            if reaction
                .as_deref()
                .is_some_and(|r| r.to_lowercase().contains("anaphyla"))
            {
                return Some("anaphylaxis".to_string());
            }
            a.reaction
                .iter()
                .filter_map(|r| r.severity.as_deref())
                .max_by_key(|s| rank(s))
                .filter(|s| rank(s) > 0)
                .map(str::to_string)
                .or_else(|| {
                    (a.criticality.as_deref() == Some("high")).then(|| "severe".to_string())
                })
        });
        let i = self.file.allergies.len();
        self.origins
            .set(&format!("allergies[{i}]"), e.label.clone());
        let verification = a
            .verification_status
            .as_ref()
            .and_then(|v| {
                ["confirmed", "unconfirmed"]
                    .into_iter()
                    .find(|c| v.has_code(c))
            })
            .map(str::to_string);
        let criticality = a
            .criticality
            .clone()
            .filter(|c| crate::intake::ALLERGY_CRITICALITY.contains(&c.as_str()));
        self.file.allergies.push(AllergyFile {
            substance,
            reaction,
            severity,
            verification,
            criticality,
        });
    }

    fn medication(
        &mut self,
        e: &Entry,
        m: &MedicationUse,
        entries: &[Entry],
    ) -> Result<(), FhirError> {
        if self.other_patient(e, m.subject.as_ref()) {
            return Ok(());
        }
        let name = match self.medication_name(e, m, entries)? {
            Ok(n) => n,
            Err(why) => {
                self.report.push(format!("{} ({why})", e.label));
                return Ok(());
            }
        };
        let status = m.status.as_deref().unwrap_or("");
        let intent = m.intent.as_deref().unwrap_or("");
        let is_request = e.kind == "MedicationRequest";
        let draft = matches!(e.role, Role::DraftOrders | Role::OtherDraftOrders);
        let proposed = if is_request && draft {
            if matches!(
                status,
                "cancelled" | "entered-in-error" | "stopped" | "completed" | "revoked"
            ) {
                self.report.push(format!(
                    "{} {name} (draft order with status {status})",
                    e.label
                ));
                return Ok(());
            }
            e.role == Role::DraftOrders
        } else if is_request && (matches!(intent, "proposal" | "plan") || status == "draft") {
            if !matches!(status, "active" | "draft" | "") {
                self.report.push(format!(
                    "{} {name} (intent {intent}, status {status}: not an open proposal)",
                    e.label
                ));
                return Ok(());
            }
            true
        } else if status == "active" {
            false
        } else {
            self.report.push(format!(
                "{} {name} (status {}; only active medications are current)",
                e.label,
                if status.is_empty() { "missing" } else { status }
            ));
            return Ok(());
        };
        let dosage = m.first_dosage();
        let dose = dosage.and_then(dose_text);
        let frequency = match dosage.map(frequency_text) {
            Some(Ok(f)) => f,
            Some(Err(timing)) => {
                self.report.push(format!(
                    "{} {name} dosage timing {timing} (not a frequency rxguide reads; no daily total for dose limits)",
                    e.label
                ));
                None
            }
            None => None,
        };
        let indication = m.reason_code.iter().find_map(|r| r.label(Some(SNOMED)));
        let list = if proposed {
            &mut self.file.proposed
        } else {
            &mut self.file.medications
        };
        let field = format!(
            "{}[{}]",
            if proposed { "proposed" } else { "medications" },
            list.len()
        );
        list.push(MedicationFile {
            drug: name,
            dose,
            frequency,
            indication,
        });
        self.origins.set(&field, e.label.clone());
        Ok(())
    }

    /// The medication's name, or why there is none (inner `Err`).
    fn medication_name(
        &self,
        e: &Entry,
        m: &MedicationUse,
        entries: &[Entry],
    ) -> Result<Result<String, String>, FhirError> {
        if let Some(cc) = &m.medication_codeable_concept {
            return Ok(match cc.label(Some(RXNORM)) {
                Some(n) => Ok(n),
                None => Err(match cc.code_in(RXNORM) {
                    Some(code) => format!(
                        "RxNorm {code} without a text or display name; rxguide matches drugs by name"
                    ),
                    None => format!("medication {} without a name", cc.describe()),
                }),
            });
        }
        let Some(r) = &m.medication_reference else {
            return Ok(Err(
                "no medicationCodeableConcept or medicationReference".into()
            ));
        };
        let reference = r.reference.as_deref().unwrap_or("");
        let med: Option<Medication> = if let Some(local) = reference.strip_prefix('#') {
            match m.contained.iter().find(|c| {
                resource_type(c) == Some("Medication")
                    && c.get("id").and_then(Value::as_str) == Some(local)
            }) {
                Some(v) => Some(serde_path_to_error::deserialize(v).map_err(|err| {
                    FhirError::Resource {
                        resource: e.label.clone(),
                        path: format!("contained[#{local}].{}", err.path()),
                        message: err.inner().to_string(),
                    }
                })?),
                None => None,
            }
        } else {
            match self.index.get(reference).and_then(|&i| entries.get(i)) {
                Some(target) if target.kind == "Medication" => Some(typed(target)?),
                _ => None,
            }
        };
        let name = med
            .and_then(|m| m.code)
            .and_then(|cc| cc.label(Some(RXNORM)))
            .or_else(|| {
                r.display
                    .clone()
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
            });
        Ok(name.ok_or_else(|| {
            format!("medicationReference \"{reference}\" not found in the input and has no display")
        }))
    }
}

fn describe_value(o: &Observation) -> String {
    if let Some(q) = &o.value_quantity {
        return format!(
            "{}{} {}",
            q.comparator.as_deref().unwrap_or(""),
            q.value.map(fmt_num).unwrap_or_else(|| "(no value)".into()),
            q.unit_key()
        )
        .trim()
        .to_string();
    }
    if let Some(cc) = &o.value_codeable_concept {
        return cc.describe();
    }
    if let Some(b) = o.value_boolean {
        return b.to_string();
    }
    if let Some(s) = &o.value_string {
        return format!("\"{s}\"");
    }
    "(no value)".into()
}

fn pregnancy_value(o: &Observation) -> Option<bool> {
    if let Some(b) = o.value_boolean {
        return Some(b);
    }
    let cc = o.value_codeable_concept.as_ref()?;
    if cc.has_code("77386006") || cc.has_code("LA15173-0") {
        return Some(true);
    }
    if cc.has_code("60001007") || cc.has_code("LA26683-5") {
        return Some(false);
    }
    match cc.label(None)?.trim().to_lowercase().as_str() {
        "pregnant" => Some(true),
        "not pregnant" => Some(false),
        _ => None,
    }
}

fn breastfeeding_value(o: &Observation) -> Option<bool> {
    if let Some(b) = o.value_boolean {
        return Some(b);
    }
    let cc = o.value_codeable_concept.as_ref()?;
    if cc.has_code("LA29252-6") {
        return Some(true);
    }
    if cc.has_code("LA29253-4") {
        return Some(false);
    }
    match cc.label(None)?.trim().to_lowercase().as_str() {
        "currently breastfeeding" | "breastfeeding" | "yes" => Some(true),
        "not currently breastfeeding" | "not breastfeeding" | "no" => Some(false),
        _ => None,
    }
}

fn dose_text(d: &Dosage) -> Option<String> {
    let q = d
        .dose_and_rate
        .iter()
        .find_map(|r| r.dose_quantity.as_ref());
    if let Some(q) = q {
        if let Some(v) = q.value {
            let unit = q.unit.as_deref().or(q.code.as_deref()).unwrap_or("").trim();
            return Some(format!("{} {unit}", fmt_num(v)).trim().to_string());
        }
    }
    d.text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The frequency as a case-file string; `Err(description)` when the
/// timing is there but not readable.
fn frequency_text(d: &Dosage) -> Result<Option<String>, String> {
    let timing = d.timing.as_ref();
    if let Some(code) = timing.and_then(|t| t.code.as_ref()) {
        if let Some(t) = code
            .text
            .as_deref()
            .filter(|t| Frequency::parse(t).is_some())
        {
            return Ok(Some(t.trim().to_string()));
        }
        if let Some(c) = code
            .codes()
            .map(str::to_lowercase)
            .find(|c| Frequency::parse(c).is_some())
        {
            return Ok(Some(c));
        }
    }
    if let Some(r) = timing.and_then(|t| t.repeat.as_ref()) {
        let freq = r.frequency.unwrap_or(1);
        let period = r.period.unwrap_or(1.0);
        let unit = r.period_unit.as_deref().unwrap_or("");
        let text = match (freq, unit) {
            (n, "d") if (period - 1.0).abs() < 1e-9 => match n {
                1 => Some("daily".to_string()),
                2 => Some("bid".into()),
                3 => Some("tid".into()),
                4 => Some("qid".into()),
                _ => None,
            },
            (1, "h") if period.fract() == 0.0 && period > 0.0 => Some(format!("q{period}h")),
            (1, "wk") if (period - 1.0).abs() < 1e-9 => Some("weekly".into()),
            (1, "d") if (period - 2.0).abs() < 1e-9 => Some("every other day".into()),
            _ => None,
        };
        return match text.filter(|t| Frequency::parse(t).is_some()) {
            Some(t) => Ok(Some(t)),
            None => Err(format!("{freq} per {period} {unit}")),
        };
    }
    if let Some(code) = timing.and_then(|t| t.code.as_ref()) {
        return Err(code.describe());
    }
    if d.as_needed_boolean == Some(true) {
        return Ok(Some("prn".into()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn age_in_whole_years_and_months() {
        assert_eq!(age_at(d("1950-06-15"), d("2024-06-14")), Some(73.0));
        assert_eq!(age_at(d("1950-06-15"), d("2024-06-15")), Some(74.0));
        assert_eq!(age_at(d("2023-12-15"), d("2024-06-15")), Some(0.5));
        assert_eq!(age_at(d("2025-01-01"), d("2024-06-15")), None);
    }

    #[test]
    fn origins_fall_back_to_parent_field() {
        let mut o = Origins::default();
        o.set("proposed[0]", "MedicationRequest/x");
        assert_eq!(o.lookup("proposed[0].frequency"), "MedicationRequest/x");
        assert_eq!(o.lookup("labs.inr"), "input");
    }

    #[test]
    fn units_are_normalised() {
        let q = Quantity {
            value: Some(185.64),
            code: Some("umol/L".into()),
            ..Quantity::default()
        };
        assert_eq!(
            quantity_field(Slot::Lab(LabKind::Creatinine), &q),
            Ok(("labs.creatinine_umol_l", 185.64))
        );
        let q = Quantity {
            value: Some(35.0),
            unit: Some("g/L".into()),
            ..Quantity::default()
        };
        assert_eq!(
            quantity_field(Slot::Lab(LabKind::Albumin), &q),
            Ok(("labs.albumin_g_dl", 3.5))
        );
        let q = Quantity {
            value: Some(1.0),
            unit: Some("furlong".into()),
            ..Quantity::default()
        };
        assert!(quantity_field(Slot::Weight, &q).is_err());
    }
}
