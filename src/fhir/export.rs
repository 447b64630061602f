//! A finished assessment -> FHIR R4 `Bundle` (type `collection`): the
//! patient data it came with (Patient, Observations with LOINC codes and
//! UCUM units, Conditions, AllergyIntolerances, MedicationStatements, the
//! proposed drugs as MedicationRequests with intent `proposal`) and every
//! flag as a `DetectedIssue` citing its knowledge-base sources.
//!
//! Resource ids are derived from the case id, so exporting the same case
//! twice gives the same bundle. Importing the bundle gives the same case
//! ([`super::import`]); the round trip is tested.

use super::model::{
    EXT_ALLERGY_SEVERITY, FLAG_KIND_SYSTEM, KB_PASSAGE_SYSTEM, LOINC, SNOMED, UCUM,
};
use crate::clinical::{Flag, Severity};
use crate::intake::{fmt_num, AllergySeverity, Case, MedicationOrder};
use crate::kb::Kb;
use crate::pipeline::Assessment;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A uuid derived from the case id and a key (RFC 9562 version 8, the
/// "custom" layout: deterministic, not random): the first 16 bytes of
/// SHA-256 over `case \0 key`.
fn stable_uuid(case: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("{case}\u{0}{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(b).to_string()
}

/// A FHIR id (`[A-Za-z0-9\-\.]{1,64}`) from a case id.
fn fhir_id(s: &str) -> String {
    let id: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() {
        "case".into()
    } else {
        id
    }
}

/// A birth date giving `age` at `as_of` (whole years: the same day
/// `age` years before; below 2 years: whole months before).
pub fn birth_date_for(age: f64, as_of: NaiveDate) -> NaiveDate {
    if age >= 2.0 || age.fract() == 0.0 {
        let years = age.floor() as i32;
        let year = as_of.year() - years;
        as_of
            .with_year(year)
            .or_else(|| NaiveDate::from_ymd_opt(year, as_of.month(), 28))
            .unwrap_or(as_of)
    } else {
        let months = (age * 12.0).round().max(0.0) as u32;
        as_of
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(as_of)
    }
}

struct Writer<'a> {
    case_id: &'a str,
    entries: Vec<Value>,
    patient_ref: String,
    as_of: String,
}

impl Writer<'_> {
    fn url(&self, key: &str) -> String {
        format!("urn:uuid:{}", stable_uuid(self.case_id, key))
    }

    /// Adds a resource under key; returns its fullUrl (used as reference).
    fn add(&mut self, key: &str, mut resource: Value) -> String {
        let url = self.url(key);
        resource["id"] = Value::from(stable_uuid(self.case_id, key));
        self.entries
            .push(json!({ "fullUrl": url, "resource": resource }));
        url
    }

    fn observation(&mut self, key: &str, loinc: &str, display: &str, category: &str, value: Value) {
        let mut obs = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": category,
            }]}],
            "code": { "coding": [{ "system": LOINC, "code": loinc, "display": display }], "text": display },
            "subject": { "reference": self.patient_ref },
            "effectiveDateTime": self.as_of,
        });
        if let (Some(o), Some(v)) = (obs.as_object_mut(), value.as_object()) {
            o.extend(v.clone());
        }
        self.add(key, obs);
    }

    fn quantity(&mut self, key: &str, loinc: &str, display: &str, v: Option<f64>, unit: &str) {
        let Some(v) = v else { return };
        let category = if matches!(loinc, "29463-7" | "8302-2") {
            "vital-signs"
        } else {
            "laboratory"
        };
        self.observation(
            key,
            loinc,
            display,
            category,
            json!({ "valueQuantity": { "value": v, "unit": unit, "system": UCUM, "code": unit } }),
        );
    }
}

/// Splits "500 mg" into (500, "mg") when the text is exactly that number
/// and unit (so that importing gives the same text back).
fn dose_quantity(text: &str) -> Option<(f64, String)> {
    let (num, unit) = text.split_once(' ')?;
    let v: f64 = num.parse().ok()?;
    let unit = unit.trim();
    if unit.is_empty() || format!("{} {unit}", fmt_num(v)) != text {
        return None;
    }
    Some((v, unit.to_string()))
}

fn ucum_for(unit: &str) -> Option<&'static str> {
    Some(match unit.to_lowercase().as_str() {
        "mg" => "mg",
        "g" => "g",
        "mcg" | "ug" | "µg" => "ug",
        "ml" => "mL",
        _ => return None,
    })
}

fn dosage(o: &MedicationOrder) -> Option<Value> {
    let mut d = serde_json::Map::new();
    if let Some(dose) = &o.dose {
        match dose_quantity(&dose.text) {
            Some((v, unit)) => {
                let mut q = json!({ "value": v, "unit": unit });
                if let Some(code) = ucum_for(&unit) {
                    q["system"] = Value::from(UCUM);
                    q["code"] = Value::from(code);
                }
                d.insert("doseAndRate".into(), json!([{ "doseQuantity": q }]));
            }
            None => {
                d.insert("text".into(), Value::from(dose.text.clone()));
            }
        }
    }
    if let Some(f) = &o.frequency {
        let mut timing = json!({ "code": { "text": f.text } });
        let repeat = match f.per_day {
            Some(n) if (1.0..=4.0).contains(&n) && n.fract() == 0.0 => {
                Some(json!({ "frequency": n as u32, "period": 1, "periodUnit": "d" }))
            }
            Some(n) if (n - 1.0 / 7.0).abs() < 1e-9 => {
                Some(json!({ "frequency": 1, "period": 1, "periodUnit": "wk" }))
            }
            _ => None,
        };
        if let Some(r) = repeat {
            timing["repeat"] = r;
        }
        d.insert("timing".into(), timing);
        if f.per_day.is_none() {
            d.insert("asNeededBoolean".into(), Value::from(true));
        }
    }
    (!d.is_empty()).then_some(Value::Object(d))
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Contraindicated | Severity::Major => "high",
        Severity::Moderate => "moderate",
        Severity::Minor => "low",
    }
}

fn allergy_severity(s: AllergySeverity) -> &'static str {
    match s {
        AllergySeverity::Mild => "mild",
        AllergySeverity::Moderate => "moderate",
        AllergySeverity::Severe => "severe",
        AllergySeverity::Anaphylaxis => "anaphylaxis",
    }
}

/// The bundle for an assessment. `as_of` is the date ages are counted at
/// (birthDate = as_of - age) and the observations' effective date.
pub fn to_bundle(a: &Assessment, kb: &Kb, as_of: NaiveDate) -> Value {
    let case: &Case = &a.case;
    let mut w = Writer {
        case_id: &case.id,
        entries: Vec::new(),
        patient_ref: String::new(),
        as_of: as_of.format("%Y-%m-%d").to_string(),
    };
    let p = &case.patient;
    w.patient_ref = w.url("patient");
    w.add(
        "patient",
        json!({
            "resourceType": "Patient",
            "gender": p.sex.as_str(),
            "birthDate": birth_date_for(p.age, as_of).format("%Y-%m-%d").to_string(),
        }),
    );
    w.quantity("weight", "29463-7", "Body weight", p.weight_kg, "kg");
    w.quantity("height", "8302-2", "Body height", p.height_cm, "cm");
    if p.pregnant {
        let mut value = json!({
            "valueCodeableConcept": {
                "coding": [{ "system": SNOMED, "code": "77386006", "display": "Pregnant" }],
                "text": "pregnant",
            }
        });
        if let Some(t) = p.trimester {
            value["component"] = json!([{ "code": { "text": "trimester" }, "valueInteger": t }]);
        }
        w.observation(
            "pregnancy",
            "82810-3",
            "Pregnancy status",
            "social-history",
            value,
        );
    }
    if p.breastfeeding {
        w.observation(
            "breastfeeding",
            "63895-7",
            "Breastfeeding status",
            "social-history",
            json!({ "valueCodeableConcept": {
                "coding": [{ "system": LOINC, "code": "LA29252-6", "display": "Currently breastfeeding" }],
                "text": "currently breastfeeding",
            }}),
        );
    }
    for spec in &crate::vocab::LABS {
        let code = spec.export_code();
        w.quantity(
            spec.name,
            code.code,
            code.display,
            case.labs.get(spec.kind),
            spec.ucum,
        );
    }
    for (i, c) in case.conditions.iter().enumerate() {
        let patient = w.patient_ref.clone();
        w.add(
            &format!("condition-{i}"),
            json!({
                "resourceType": "Condition",
                "clinicalStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
                "verificationStatus": { "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed" }] },
                "code": condition_code(c),
                "subject": { "reference": patient },
            }),
        );
    }
    for (i, al) in case.allergies.iter().enumerate() {
        let mut r = json!({
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
            "code": { "text": al.substance },
            "patient": { "reference": w.patient_ref },
        });
        // As the record gave them; never invented.
        if let Some(v) = &al.verification {
            r["verificationStatus"] = json!({ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": v }] });
        }
        if let Some(c) = &al.criticality {
            r["criticality"] = Value::from(c.as_str());
        }
        if let Some(s) = al.severity {
            r["extension"] =
                json!([{ "url": EXT_ALLERGY_SEVERITY, "valueCode": allergy_severity(s) }]);
        }
        if let Some(reaction) = &al.reaction {
            let mut re = json!({ "manifestation": [{ "text": reaction }] });
            if let Some(s) = al.severity {
                re["severity"] = Value::from(match s {
                    AllergySeverity::Mild => "mild",
                    AllergySeverity::Moderate => "moderate",
                    AllergySeverity::Severe | AllergySeverity::Anaphylaxis => "severe",
                });
            }
            r["reaction"] = json!([re]);
        }
        w.add(&format!("allergy-{i}"), r);
    }
    // (generic or typed name, fullUrl, display) of every order, to fill
    // DetectedIssue.implicated.
    let mut orders: Vec<(String, String, String)> = Vec::new();
    let generic_of = |typed: &str, proposed: bool| {
        a.drugs
            .iter()
            .find(|d| d.typed == typed && d.proposed == proposed)
            .and_then(|d| d.generic.clone())
            .unwrap_or_else(|| typed.to_lowercase())
    };
    for (i, m) in case.medications.iter().enumerate() {
        let mut r = json!({
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": { "text": m.drug },
            "subject": { "reference": w.patient_ref },
        });
        if let Some(d) = dosage(m) {
            r["dosage"] = json!([d]);
        }
        if let Some(ind) = &m.indication {
            r["reasonCode"] = json!([{ "text": ind }]);
        }
        let url = w.add(&format!("medication-{i}"), r);
        orders.push((generic_of(&m.drug, false), url, m.drug.clone()));
    }
    for (i, m) in case.proposed.iter().enumerate() {
        let mut r = json!({
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "medicationCodeableConcept": { "text": m.drug },
            "subject": { "reference": w.patient_ref },
            "authoredOn": w.as_of,
        });
        if let Some(d) = dosage(m) {
            r["dosageInstruction"] = json!([d]);
        }
        if let Some(ind) = &m.indication {
            r["reasonCode"] = json!([{ "text": ind }]);
        }
        let url = w.add(&format!("proposed-{i}"), r);
        orders.push((generic_of(&m.drug, true), url, m.drug.clone()));
    }
    for (i, f) in a.flags.iter().enumerate() {
        let issue = detected_issue(f, kb, &orders, &w.patient_ref, &w.as_of);
        w.add(&format!("issue-{i}"), issue);
    }
    json!({
        "resourceType": "Bundle",
        "id": fhir_id(&case.id),
        "type": "collection",
        "timestamp": format!("{}T00:00:00Z", w.as_of),
        "entry": w.entries,
    })
}

fn detected_issue(
    f: &Flag,
    kb: &Kb,
    orders: &[(String, String, String)],
    patient_ref: &str,
    as_of: &str,
) -> Value {
    let implicated: Vec<Value> = orders
        .iter()
        .filter(|(generic, _, _)| f.drugs.iter().any(|d| d == generic))
        .map(|(_, url, display)| json!({ "reference": url, "display": display }))
        .collect();
    let mut detail = f.summary.clone();
    if !f.detail.is_empty() {
        detail.push_str("\n\n");
        detail.push_str(&f.detail);
    }
    let evidence: Vec<Value> = f
        .sources
        .iter()
        .map(|id| {
            let p = kb.passage(id);
            let title = p.map(|p| p.title.clone()).unwrap_or_else(|| id.clone());
            let shown = match p {
                Some(p) => match p.locator() {
                    Some(loc) => format!("{}: {loc}", p.source),
                    None => p.source.clone(),
                },
                None => id.clone(),
            };
            json!({
                "code": [{ "coding": [{ "system": KB_PASSAGE_SYSTEM, "code": id }], "text": title }],
                "detail": [{ "display": shown }],
            })
        })
        .collect();
    let mut issue = json!({
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": issue_code(f.kind),
        "severity": severity_code(f.severity),
        "patient": { "reference": patient_ref },
        "identifiedDateTime": as_of,
        "detail": detail,
        "evidence": evidence,
    });
    if !implicated.is_empty() {
        issue["implicated"] = Value::from(implicated);
    }
    if let Some(url) = f
        .sources
        .iter()
        .find_map(|id| kb.passage(id).and_then(|p| p.url.clone()))
    {
        issue["reference"] = Value::from(url);
    }
    if !f.suggestion.is_empty() {
        issue["mitigation"] = json!([{ "action": { "text": f.suggestion } }]);
    }
    issue
}

/// `DetectedIssue.code`: the HL7 v3 ActCode detected-issue code first (what
/// an EHR reads), then rxguide's own flag kind (what a re-import reads).
fn issue_code(kind: crate::vocab::Kind) -> Value {
    let mut coding = Vec::new();
    if let Some((code, display)) = kind.act_code() {
        coding.push(json!({ "system": crate::vocab::flag::ACT_CODE_SYSTEM, "code": code, "display": display }));
    }
    coding.push(json!({ "system": FLAG_KIND_SYSTEM, "code": kind.as_str() }));
    json!({ "coding": coding, "text": kind.as_str() })
}

/// A condition's `code`: its text, and the coding it came with.
fn condition_code(c: &crate::vocab::condition::Condition) -> Value {
    match &c.code {
        Some(code) => json!({
            "coding": [{ "system": code.system.uri(), "code": code.code }],
            "text": c.text,
        }),
        None => json!({ "text": c.text }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_uuids_are_uuid_shaped_and_deterministic() {
        let a = stable_uuid("c", "patient");
        assert_eq!(a, stable_uuid("c", "patient"));
        assert_ne!(a, stable_uuid("c", "weight"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }

    #[test]
    fn dose_quantity_only_when_text_round_trips() {
        assert_eq!(dose_quantity("500 mg"), Some((500.0, "mg".into())));
        assert_eq!(dose_quantity("1,000 mg"), None);
        assert_eq!(dose_quantity("two puffs"), None);
    }

    #[test]
    fn birth_date_gives_age_back() {
        let as_of = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        let b = birth_date_for(74.0, as_of);
        assert_eq!(super::super::import::age_at(b, as_of), Some(74.0));
        let b = birth_date_for(0.5, as_of);
        assert_eq!(super::super::import::age_at(b, as_of), Some(0.5));
    }
}
