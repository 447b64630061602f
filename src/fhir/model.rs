//! Serde types for just the FHIR R4 resources rxguide reads. Every field is
//! optional here (FHIR servers omit a lot); the importer decides what is
//! missing. Unknown fields are ignored, as FHIR readers must for extensions
//! and elements they do not use.

use serde::Deserialize;

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// Extension carrying our allergy severity scale exactly (round trips).
pub const EXT_ALLERGY_SEVERITY: &str = "urn:rxguide:extension:allergy-severity";
/// Code system of flag kinds (DetectedIssue.code).
pub const FLAG_KIND_SYSTEM: &str = "urn:rxguide:flag-kind";
/// Identifier system of knowledge-base passages (DetectedIssue.evidence).
pub const KB_PASSAGE_SYSTEM: &str = "urn:rxguide:kb-passage";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl CodeableConcept {
    /// `text`, else the first coding's `display` (preferring `preferred`
    /// system when given).
    pub fn label(&self, preferred: Option<&str>) -> Option<String> {
        non_empty(self.text.as_ref())
            .or_else(|| {
                preferred.and_then(|sys| {
                    self.coding
                        .iter()
                        .filter(|c| c.system.as_deref() == Some(sys))
                        .find_map(|c| non_empty(c.display.as_ref()))
                })
            })
            .or_else(|| {
                self.coding
                    .iter()
                    .find_map(|c| non_empty(c.display.as_ref()))
            })
    }

    /// The code in `system`, if any.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding
            .iter()
            .filter(|c| c.system.as_deref() == Some(system))
            .find_map(|c| c.code.as_deref())
    }

    /// Any code of the concept (for the status value sets, whose system
    /// varies between servers).
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.coding.iter().filter_map(|c| c.code.as_deref())
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.codes().any(|c| c.eq_ignore_ascii_case(code))
    }

    /// A short description for reports: codes and label.
    pub fn describe(&self) -> String {
        let codes: Vec<String> = self.coding.iter().filter_map(|c| c.code.clone()).collect();
        match (codes.is_empty(), self.label(None)) {
            (false, Some(l)) => format!("{} \"{l}\"", codes.join("/")),
            (false, None) => codes.join("/"),
            (true, Some(l)) => format!("\"{l}\""),
            (true, None) => "(no code or text)".into(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quantity {
    pub value: Option<f64>,
    /// `<`, `<=`, `>=`, `>` or `ad`: the value is a bound, not a
    /// measurement (an eGFR reported as ">60").
    pub comparator: Option<String>,
    pub unit: Option<String>,
    pub system: Option<String>,
    pub code: Option<String>,
}

impl Quantity {
    /// The UCUM code when given, else the human unit.
    pub fn unit_key(&self) -> String {
        self.code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .or(self.unit.as_deref())
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub reference: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    #[serde(default)]
    pub url: String,
    pub value_code: Option<String>,
    pub value_string: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub deceased_boolean: Option<bool>,
    pub deceased_date_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationComponent {
    #[serde(default)]
    pub code: CodeableConcept,
    pub value_quantity: Option<Quantity>,
    pub value_integer: Option<i64>,
    pub value_codeable_concept: Option<CodeableConcept>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub id: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub code: CodeableConcept,
    pub subject: Option<Reference>,
    pub effective_date_time: Option<String>,
    pub effective_instant: Option<String>,
    pub effective_period: Option<Period>,
    pub issued: Option<String>,
    pub value_quantity: Option<Quantity>,
    pub value_codeable_concept: Option<CodeableConcept>,
    pub value_boolean: Option<bool>,
    pub value_integer: Option<i64>,
    pub value_string: Option<String>,
    pub data_absent_reason: Option<CodeableConcept>,
    #[serde(default)]
    pub component: Vec<ObservationComponent>,
}

impl Observation {
    /// When the value was observed (or issued), as written.
    pub fn when(&self) -> Option<&str> {
        self.effective_date_time
            .as_deref()
            .or(self.effective_instant.as_deref())
            .or_else(|| {
                self.effective_period
                    .as_ref()
                    .and_then(|p| p.end.as_deref().or(p.start.as_deref()))
            })
            .or(self.issued.as_deref())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub id: Option<String>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    pub subject: Option<Reference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllergyReaction {
    #[serde(default)]
    pub manifestation: Vec<CodeableConcept>,
    pub severity: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllergyIntolerance {
    pub id: Option<String>,
    pub clinical_status: Option<CodeableConcept>,
    pub verification_status: Option<CodeableConcept>,
    pub code: Option<CodeableConcept>,
    pub criticality: Option<String>,
    #[serde(default)]
    pub reaction: Vec<AllergyReaction>,
    pub patient: Option<Reference>,
    #[serde(default)]
    pub extension: Vec<Extension>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Medication {
    pub id: Option<String>,
    pub code: Option<CodeableConcept>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimingRepeat {
    pub frequency: Option<u32>,
    pub period: Option<f64>,
    pub period_unit: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    pub code: Option<CodeableConcept>,
    pub repeat: Option<TimingRepeat>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoseAndRate {
    pub dose_quantity: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dosage {
    pub text: Option<String>,
    pub timing: Option<Timing>,
    pub as_needed_boolean: Option<bool>,
    #[serde(default)]
    pub dose_and_rate: Vec<DoseAndRate>,
}

/// MedicationStatement and MedicationRequest share what rxguide reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MedicationUse {
    pub id: Option<String>,
    pub status: Option<String>,
    /// MedicationRequest only.
    pub intent: Option<String>,
    pub medication_codeable_concept: Option<CodeableConcept>,
    pub medication_reference: Option<Reference>,
    pub subject: Option<Reference>,
    /// MedicationStatement.
    #[serde(default)]
    pub dosage: Vec<Dosage>,
    /// MedicationRequest.
    #[serde(default)]
    pub dosage_instruction: Vec<Dosage>,
    #[serde(default)]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(default)]
    pub contained: Vec<serde_json::Value>,
}

impl MedicationUse {
    pub fn first_dosage(&self) -> Option<&Dosage> {
        self.dosage.first().or(self.dosage_instruction.first())
    }
}
