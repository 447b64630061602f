//! The intake as typed: raw text per field, so that a half-typed or invalid
//! value survives a crash and comes back exactly as it was. Converting to a
//! [`CaseFile`] parses numbers; [`Draft::validate`] returns every problem
//! with the field key it belongs to (the keys of the intake form).

use crate::intake::case_file::{
    AllergyFile, CaseFile, ConditionFile, LabsFile, MedicationFile, PatientFile,
};
use crate::intake::units::{self, limits};
use crate::intake::{fmt_num, Case, FieldError};
use crate::vocab::lab::{LabKind, LabSpec, LABS};
use crate::vocab::number;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The list sections of the intake, with the fields of one entry.
pub const LISTS: [(&str, &[&str]); 4] = [
    ("allergies", &["substance", "reaction", "severity"]),
    ("conditions", &[""]),
    ("medications", &["drug", "dose", "frequency"]),
    ("proposed", &["drug", "dose", "frequency", "indication"]),
];

/// The hidden field of a list row that keeps what the record said beside
/// the shown fields (a condition's code; an allergy's verification status
/// and criticality): the values and the text they came with,
/// tab-separated. They belong to that text: once it is edited they are
/// dropped, never carried to another entry.
const KEPT: &str = "kept";

/// The draft key of creatinine, whose unit the form toggles (mg/dL or
/// µmol/L, the two case-file fields of its row in the lab table).
pub const CREATININE_KEY: &str = "labs.creatinine";

/// The labs the form shows as plain number fields in their canonical unit
/// (every lab of the table but creatinine, which has the unit toggle),
/// with their draft key (= case-file key).
pub fn plain_labs() -> impl Iterator<Item = (&'static str, &'static LabSpec)> {
    LABS.iter()
        .filter(|s| s.kind != LabKind::Creatinine)
        .map(|s| (s.key, s))
}

/// The key of a field of entry `i` of a list (`proposed[0].drug`,
/// `conditions[2]`).
pub fn row_key(list: &str, i: usize, field: &str) -> String {
    if field.is_empty() {
        format!("{list}[{i}]")
    } else {
        format!("{list}[{i}].{field}")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Field key -> text as typed.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Entries per list section (at least one row each is shown).
    #[serde(default)]
    pub rows: BTreeMap<String, usize>,
    /// Weight typed in pounds.
    #[serde(default)]
    pub weight_lb: bool,
    /// Creatinine typed in µmol/L.
    #[serde(default)]
    pub creatinine_umol: bool,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

impl Default for Draft {
    fn default() -> Self {
        let mut rows = BTreeMap::new();
        for (list, _) in LISTS {
            rows.insert(list.to_string(), 1);
        }
        Draft {
            values: BTreeMap::new(),
            rows,
            weight_lb: false,
            creatinine_umol: false,
            id: None,
            title: None,
        }
    }
}

fn num(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_default()
}

impl Draft {
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if value.is_empty() {
            self.values.remove(key);
        } else {
            self.values.insert(key.to_string(), value);
        }
    }

    pub fn rows(&self, list: &str) -> usize {
        self.rows.get(list).copied().unwrap_or(1).max(1)
    }

    pub fn add_row(&mut self, list: &str) {
        let n = self.rows(list);
        self.rows.insert(list.to_string(), n + 1);
    }

    /// Removes entry `i` of `list`, shifting the later ones up.
    pub fn remove_row(&mut self, list: &str, i: usize) {
        let n = self.rows(list);
        let fields = LISTS
            .iter()
            .find(|(l, _)| *l == list)
            .map_or(&[][..], |(_, f)| *f);
        for j in i..n {
            for f in fields {
                let next = self.get(&row_key(list, j + 1, f)).to_string();
                self.set(&row_key(list, j, f), next);
            }
        }
        for f in fields {
            self.values.remove(&row_key(list, n, f));
        }
        self.rows
            .insert(list.to_string(), n.saturating_sub(1).max(1));
    }

    /// Switches kg <-> lb, converting the typed value when it is a number.
    pub fn toggle_weight_unit(&mut self) {
        let v = number::parse(self.get("patient.weight"))
            .ok()
            .and_then(number::Reading::value);
        self.weight_lb = !self.weight_lb;
        if let Some(v) = v {
            let c = if self.weight_lb {
                units::kg_to_lb(v)
            } else {
                units::lb_to_kg(v)
            };
            self.set("patient.weight", fmt_num((c * 10.0).round() / 10.0));
        }
    }

    /// Switches mg/dL <-> µmol/L, converting the typed value.
    pub fn toggle_creatinine_unit(&mut self) {
        let v = number::parse(self.get(CREATININE_KEY))
            .ok()
            .and_then(number::Reading::value);
        self.creatinine_umol = !self.creatinine_umol;
        if let Some(v) = v {
            let c = if self.creatinine_umol {
                (units::creatinine_mg_dl_to_umol(v)).round()
            } else {
                (units::creatinine_umol_to_mg_dl(v) * 100.0).round() / 100.0
            };
            self.set(CREATININE_KEY, fmt_num(c));
        }
    }

    /// A draft holding a case file's values (as written, in its units).
    pub fn from_case_file(file: &CaseFile) -> Draft {
        let mut d = Draft {
            id: file.id.clone(),
            title: file.title.clone(),
            ..Draft::default()
        };
        if let Some(p) = &file.patient {
            d.set("patient.age", num(p.age));
            d.set("patient.sex", p.sex.clone().unwrap_or_default());
            if p.weight_lb.is_some() && p.weight_kg.is_none() {
                d.weight_lb = true;
                d.set("patient.weight", num(p.weight_lb));
            } else {
                d.set("patient.weight", num(p.weight_kg));
            }
            let height = p.height_cm.or(p.height_in.map(units::in_to_cm));
            d.set(
                "patient.height_cm",
                num(height.map(|h| (h * 10.0).round() / 10.0)),
            );
            let yes = |b: Option<bool>| if b == Some(true) { "yes" } else { "" };
            d.set("patient.pregnant", yes(p.pregnant));
            d.set(
                "patient.trimester",
                p.trimester.map(|t| t.to_string()).unwrap_or_default(),
            );
            d.set("patient.breastfeeding", yes(p.breastfeeding));
        }
        let l = &file.labs;
        if l.creatinine_umol_l.is_some() && l.creatinine_mg_dl.is_none() {
            d.creatinine_umol = true;
            d.set(CREATININE_KEY, num(l.creatinine_umol_l));
        } else {
            d.set(CREATININE_KEY, num(l.creatinine_mg_dl));
        }
        for (key, _) in plain_labs() {
            d.set(key, num(l.field(key)));
        }
        let set_rows = |d: &mut Draft, list: &str, n: usize| {
            d.rows.insert(list.to_string(), n.max(1));
        };
        set_rows(&mut d, "allergies", file.allergies.len());
        for (i, a) in file.allergies.iter().enumerate() {
            d.set(&row_key("allergies", i, "substance"), a.substance.clone());
            d.set(
                &row_key("allergies", i, "reaction"),
                a.reaction.clone().unwrap_or_default(),
            );
            d.set(
                &row_key("allergies", i, "severity"),
                a.severity.clone().unwrap_or_default(),
            );
            if a.verification.is_some() || a.criticality.is_some() {
                d.keep_beside(
                    "allergies",
                    i,
                    &[
                        a.verification.as_deref().unwrap_or(""),
                        a.criticality.as_deref().unwrap_or(""),
                    ],
                    &a.substance,
                );
            }
        }
        set_rows(&mut d, "conditions", file.conditions.len());
        for (i, c) in file.conditions.iter().enumerate() {
            d.set(&row_key("conditions", i, ""), c.text().to_string());
            if let ConditionFile::Coded {
                system: Some(system),
                code: Some(code),
                text,
            } = c
            {
                d.keep_beside("conditions", i, &[system, code], text);
            }
        }
        for list in ["medications", "proposed"] {
            let orders = if list == "proposed" {
                &file.proposed
            } else {
                &file.medications
            };
            set_rows(&mut d, list, orders.len());
            for (i, m) in orders.iter().enumerate() {
                d.set(&row_key(list, i, "drug"), m.drug.clone());
                d.set(
                    &row_key(list, i, "dose"),
                    m.dose.clone().unwrap_or_default(),
                );
                d.set(
                    &row_key(list, i, "frequency"),
                    m.frequency.clone().unwrap_or_default(),
                );
                if list == "proposed" {
                    d.set(
                        &row_key(list, i, "indication"),
                        m.indication.clone().unwrap_or_default(),
                    );
                }
            }
        }
        d
    }

    /// A typed number, read by the one number rule
    /// ([`crate::vocab::number`]): "1,200" is 1200 and "1,5" is 1.5; an
    /// ambiguous "1.200" is settled by the field's accepted `range` when
    /// only one reading fits it, else refused naming both readings.
    fn number(&self, key: &str, range: (f64, f64), errors: &mut Vec<FieldError>) -> Option<f64> {
        let text = self.get(key).trim();
        if text.is_empty() {
            return None;
        }
        match number::parse(text).and_then(|r| r.within(text, range)) {
            Ok((v, _)) => Some(v),
            Err(e) => {
                errors.push(FieldError {
                    field: key.to_string(),
                    message: e.0,
                });
                None
            }
        }
    }

    fn flag(&self, key: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
        match self.get(key).trim().to_lowercase().as_str() {
            "" => None,
            "yes" | "y" | "true" => Some(true),
            "no" | "n" | "false" => Some(false),
            other => {
                errors.push(FieldError {
                    field: key.to_string(),
                    message: format!("\"{other}\" is not accepted; accepted: yes or no"),
                });
                None
            }
        }
    }

    /// Non-empty entries of a list, with their row numbers in the draft.
    /// Keeps `values` beside row `i` of `list`, bound to `text` (see
    /// [`KEPT`]).
    fn keep_beside(&mut self, list: &str, i: usize, values: &[&str], text: &str) {
        let mut joined = values.join("\t");
        joined.push('\t');
        joined.push_str(text.trim());
        self.set(&row_key(list, i, KEPT), joined);
    }

    /// The values kept beside row `i`, if its text is still `text`.
    fn kept(&self, list: &str, i: usize, text: &str) -> Vec<String> {
        let kept = self.get(&row_key(list, i, KEPT));
        match kept.rsplit_once('\t') {
            Some((values, was)) if was == text.trim() => {
                values.split('\t').map(str::to_string).collect()
            }
            _ => Vec::new(),
        }
    }

    fn filled(&self, list: &str, fields: &[&str]) -> Vec<usize> {
        (0..self.rows(list))
            .filter(|&i| {
                fields
                    .iter()
                    .any(|f| !self.get(&row_key(list, i, f)).trim().is_empty())
            })
            .collect()
    }

    /// The case file this draft describes, and the problems found while
    /// reading the typed text (not numbers, not yes/no).
    pub fn to_case_file(&self) -> (CaseFile, Vec<FieldError>, RowMap) {
        let mut errors = Vec::new();
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let weight_range = if self.weight_lb {
            let (lo, hi) = limits::WEIGHT_KG;
            (units::kg_to_lb(lo), units::kg_to_lb(hi))
        } else {
            limits::WEIGHT_KG
        };
        let weight = self.number("patient.weight", weight_range, &mut errors);
        let trimester = self.number("patient.trimester", (1.0, 3.0), &mut errors);
        let patient = PatientFile {
            age: self.number("patient.age", limits::AGE, &mut errors),
            sex: opt(self.get("patient.sex")),
            weight_kg: weight.filter(|_| !self.weight_lb),
            weight_lb: weight.filter(|_| self.weight_lb),
            height_cm: self.number("patient.height_cm", limits::HEIGHT_CM, &mut errors),
            height_in: None,
            pregnant: self.flag("patient.pregnant", &mut errors),
            trimester: trimester.map(|t| t as i64),
            breastfeeding: self.flag("patient.breastfeeding", &mut errors),
        };
        let creat_spec = LabKind::Creatinine.spec();
        let creat_range = match creat_spec.field_unit().filter(|_| self.creatinine_umol) {
            Some(u) => u.range(creat_spec),
            None => creat_spec.range,
        };
        let creat = self.number(CREATININE_KEY, creat_range, &mut errors);
        let mut labs = LabsFile {
            creatinine_mg_dl: creat.filter(|_| !self.creatinine_umol),
            creatinine_umol_l: creat.filter(|_| self.creatinine_umol),
            ..LabsFile::default()
        };
        for (key, spec) in plain_labs() {
            let v = self.number(key, spec.range, &mut errors);
            if let Some(slot) = labs.field_mut(key) {
                *slot = v;
            }
        }
        let mut map = RowMap::default();
        let allergy_rows = self.filled("allergies", &["substance", "reaction", "severity"]);
        let allergies = allergy_rows
            .iter()
            .map(|&i| {
                let substance = self
                    .get(&row_key("allergies", i, "substance"))
                    .trim()
                    .to_string();
                let kept = self.kept("allergies", i, &substance);
                let kept_value = |n: usize| kept.get(n).and_then(|v| opt(v));
                AllergyFile {
                    reaction: opt(self.get(&row_key("allergies", i, "reaction"))),
                    severity: opt(self.get(&row_key("allergies", i, "severity"))),
                    verification: kept_value(0),
                    criticality: kept_value(1),
                    substance,
                }
            })
            .collect();
        map.0.insert("allergies".into(), allergy_rows);
        let conditions = self
            .filled("conditions", &[""])
            .iter()
            .map(|&i| {
                let text = self.get(&row_key("conditions", i, "")).trim().to_string();
                match &self.kept("conditions", i, &text)[..] {
                    [system, code] => ConditionFile::Coded {
                        system: Some(system.clone()),
                        code: Some(code.clone()),
                        text,
                    },
                    _ => ConditionFile::Text(text),
                }
            })
            .collect();
        let mut orders = |list: &str| {
            let rows = self.filled(list, &["drug", "dose", "frequency", "indication"]);
            let out: Vec<MedicationFile> = rows
                .iter()
                .map(|&i| MedicationFile {
                    drug: self.get(&row_key(list, i, "drug")).trim().to_string(),
                    dose: opt(self.get(&row_key(list, i, "dose"))),
                    frequency: opt(self.get(&row_key(list, i, "frequency"))),
                    indication: opt(self.get(&row_key(list, i, "indication"))),
                })
                .collect();
            map.0.insert(list.to_string(), rows);
            out
        };
        let medications = orders("medications");
        let proposed = orders("proposed");
        let file = CaseFile {
            id: self.id.clone(),
            title: self.title.clone(),
            conditions,
            patient: Some(patient),
            labs,
            allergies,
            // Nothing proposed but a regimen given: review that regimen.
            review: proposed.is_empty() && !medications.is_empty(),
            pharmacogenomics: Default::default(),
            medications,
            proposed,
            expect: None,
        };
        (file, errors, map)
    }

    /// Validates the whole draft. Errors carry form keys (see
    /// [`Draft::error_key`]).
    pub fn validate(&self, default_id: &str) -> Result<Case, Vec<FieldError>> {
        let (file, mut errors, map) = self.to_case_file();
        match file.validate(default_id) {
            Ok(case) if errors.is_empty() => Ok(case),
            Ok(_) => Err(errors),
            Err(more) => {
                for e in more {
                    let field = map.to_draft(&e.field);
                    // A field that failed to parse is reported once.
                    if !errors.iter().any(|x| x.field == field) {
                        errors.push(FieldError {
                            field,
                            message: e.message,
                        });
                    }
                }
                Err(errors)
            }
        }
    }

    /// Whether error field `field` belongs to form key `key`
    /// (`patient.weight_lb` belongs to `patient.weight`).
    pub fn error_key(field: &str, key: &str) -> bool {
        field == key
            || field
                .strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('_'))
            || (field == "proposed" && key == "proposed[0].drug")
            || (field == "patient" && key == "patient.age")
    }

    /// One line for session lists: patient and proposed drugs.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let age = self.get("patient.age").trim();
        let sex = self.get("patient.sex").trim();
        if !age.is_empty() || !sex.is_empty() {
            parts.push(format!(
                "{age}{}",
                sex.chars()
                    .next()
                    .map(|c| c.to_uppercase().to_string())
                    .unwrap_or_default()
            ));
        }
        let w = self.get("patient.weight").trim();
        if !w.is_empty() {
            parts.push(format!("{w} {}", if self.weight_lb { "lb" } else { "kg" }));
        }
        let proposed: Vec<&str> = (0..self.rows("proposed"))
            .map(|i| self.get(&row_key("proposed", i, "drug")).trim())
            .filter(|s| !s.is_empty())
            .collect();
        if !proposed.is_empty() {
            parts.push(format!("-> {}", proposed.join(", ")));
        }
        if parts.is_empty() {
            "(empty intake)".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// For each list, the draft row of each case-file entry (empty rows are
/// left out of the case file).
#[derive(Debug, Clone, Default)]
pub struct RowMap(BTreeMap<String, Vec<usize>>);

impl RowMap {
    /// Rewrites `medications[1].drug` of the case file to the draft row.
    pub fn to_draft(&self, field: &str) -> String {
        let field = match field {
            "patient.weight_kg" | "patient.weight_lb" => "patient.weight",
            "labs.creatinine_mg_dl" | "labs.creatinine_umol_l" => CREATININE_KEY,
            f => f,
        };
        let Some((list, rest)) = field.split_once('[') else {
            return field.to_string();
        };
        let Some((index, tail)) = rest.split_once(']') else {
            return field.to_string();
        };
        let row = index
            .parse::<usize>()
            .ok()
            .and_then(|i| self.0.get(list).and_then(|rows| rows.get(i)).copied());
        match row {
            Some(r) => format!("{list}[{r}]{tail}"),
            None => field.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metformin() -> Draft {
        let mut d = Draft::default();
        d.set("patient.age", "74");
        d.set("patient.sex", "female");
        d.set("patient.weight", "58");
        d.set("labs.creatinine", "2.1");
        d.set("proposed[0].drug", "metformin");
        d
    }

    /// Every lab of the table reaches the form and comes back: a value
    /// typed in its field is in the validated case, and a case file's
    /// value shows in the draft.
    #[test]
    fn every_lab_of_the_table_round_trips() {
        for spec in &LABS {
            let mid = (spec.range.0 + spec.range.1) / 2.0;
            let mut d = metformin();
            let key = if spec.kind == LabKind::Creatinine {
                CREATININE_KEY
            } else {
                spec.key
            };
            d.set(key, fmt_num(mid));
            let case = d.validate("t").expect("valid");
            let got = case.labs.get(spec.kind).expect("lab reaches the case");
            assert!((got - mid).abs() < 0.01, "{}: {got} vs {mid}", spec.name);
            let back = Draft::from_case_file(&CaseFile::from_case(&case));
            assert_eq!(back.get(key), fmt_num(got), "{}", spec.name);
        }
    }

    /// Issue 19, finding 2: the form's number fields read "1,200" as
    /// 1200 (it read 1.2, and ALT 1,200 with AST 1,500 raised no flag),
    /// "1,5" as 1.5, and settle "1.200" by the field's range or refuse it.
    #[test]
    fn typed_numbers_follow_the_one_number_rule() {
        let mut d = metformin();
        d.set("labs.alt_u_l", "1,200");
        d.set("labs.ast_u_l", "1.500,0");
        d.set("patient.weight", "58,5");
        d.set(CREATININE_KEY, "1.200");
        let case = d.validate("t").expect("valid");
        assert_eq!(case.labs.alt_u_l, Some(1200.0));
        assert_eq!(case.labs.ast_u_l, Some(1500.0));
        assert_eq!(case.patient.weight_kg, Some(58.5));
        // 1200 mg/dL is outside creatinine's range, 1.2 inside
        assert_eq!(case.labs.creatinine_mg_dl, Some(1.2));
        // ALT "1.200": 1.2 and 1200 U/L both in range, so refused
        d.set("labs.alt_u_l", "1.200");
        let errors = d.validate("t").expect_err("ambiguous");
        let e = errors
            .iter()
            .find(|e| e.field == "labs.alt_u_l")
            .expect("alt error");
        assert!(
            e.message.contains("1.2") && e.message.contains("1200"),
            "{}",
            e.message
        );
    }

    /// What the record said beside a row (a condition's code, an allergy's
    /// verification status and criticality) survives the form, and is
    /// dropped with the text it belonged to once that is edited.
    #[test]
    fn record_values_beside_a_row_survive_until_its_text_is_edited() {
        let text = "conditions = [{ text = \"CKD stage 4\", system = \"icd-10-cm\", code = \"N18.4\" }]\n[patient]\nage = 70\nsex = \"male\"\n[[allergies]]\nsubstance = \"penicillin\"\nverification = \"unconfirmed\"\ncriticality = \"high\"\n[[proposed]]\ndrug = \"amoxicillin\"\n";
        let file = crate::intake::case_file::parse_case_file(text).expect("parses");
        let mut d = Draft::from_case_file(&file);
        let (back, errors, _) = d.to_case_file();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(back.conditions, file.conditions);
        assert_eq!(back.allergies, file.allergies);
        d.set("conditions[0]", "CKD stage 5");
        d.set("allergies[0].substance", "cefalexin");
        let (edited, _, _) = d.to_case_file();
        assert_eq!(
            edited.conditions,
            [ConditionFile::Text("CKD stage 5".into())]
        );
        assert_eq!(edited.allergies[0].verification, None);
        assert_eq!(edited.allergies[0].criticality, None);
    }

    #[test]
    fn draft_validates_to_a_case() {
        let case = metformin().validate("t").expect("valid");
        assert_eq!(case.patient.weight_kg, Some(58.0));
        assert_eq!(case.labs.creatinine_mg_dl, Some(2.1));
        assert_eq!(case.proposed[0].drug, "metformin");
    }

    /// Leaving "Proposed drug(s)" empty with current medicines filled in is
    /// a medication review; with neither, the form says what is missing.
    #[test]
    fn no_proposed_drug_with_a_regimen_is_a_review() {
        let mut d = metformin();
        d.set("proposed[0].drug", "");
        d.set("medications[0].drug", "warfarin");
        let case = d.validate("t").expect("a review");
        assert!(case.review && case.proposed.is_empty());
        let mut d = metformin();
        d.set("proposed[0].drug", "");
        let errors = d.validate("t").expect_err("nothing to check");
        assert!(
            errors.iter().any(|e| e.message.contains("review")),
            "{errors:?}"
        );
    }

    #[test]
    fn errors_name_form_keys_and_rows() {
        let mut d = metformin();
        d.set("patient.age", "abc");
        d.add_row("medications");
        d.set("medications[1].drug", "x");
        d.set("medications[1].frequency", "sometimes");
        d.set("labs.creatinine", "99");
        let errs = d.validate("t").expect_err("invalid");
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"patient.age"), "{fields:?}");
        assert!(fields.contains(&"medications[1].frequency"), "{fields:?}");
        assert!(fields.contains(&"labs.creatinine"), "{fields:?}");
    }

    #[test]
    fn unit_toggles_convert_values() {
        let mut d = metformin();
        d.toggle_weight_unit();
        assert_eq!(d.get("patient.weight"), "127.9");
        d.toggle_creatinine_unit();
        assert_eq!(d.get("labs.creatinine"), "186");
        let case = d.validate("t").expect("valid");
        assert!((case.patient.weight_kg.expect("w") - 58.0).abs() < 0.1);
        assert!((case.labs.creatinine_mg_dl.expect("c") - 2.1).abs() < 0.01);
    }

    #[test]
    fn case_file_round_trip() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sessions/cases/metformin-ckd4.toml"
        ))
        .expect("case");
        let file: CaseFile = toml::from_str(&text).expect("toml");
        let d = Draft::from_case_file(&file);
        let a = file.validate("x").expect("valid");
        let b = d.validate("x").expect("valid");
        assert_eq!(a.patient, b.patient);
        assert_eq!(a.proposed, b.proposed);
        assert_eq!(a.conditions, b.conditions);
    }

    #[test]
    fn remove_row_shifts_entries() {
        let mut d = Draft::default();
        d.add_row("conditions");
        d.add_row("conditions");
        d.set("conditions[0]", "a");
        d.set("conditions[1]", "b");
        d.set("conditions[2]", "c");
        d.remove_row("conditions", 1);
        assert_eq!(d.rows("conditions"), 2);
        assert_eq!(d.get("conditions[1]"), "c");
    }
}
