//! FHIR R4 import (fixtures under tests/fixtures/fhir, written to the R4
//! spec), export, the export -> import round trip on every example case,
//! and `rxguide check` on a bundle.

use assert_cmd::Command;
use chrono::NaiveDate;
use rxguide::clinical::{Flag, Kind, Severity};
use rxguide::fhir::{import_json, to_bundle, FhirError, ImportOptions, ImportReport};
use rxguide::intake::{parse_case, Case, Sex};
use rxguide::kb::{Kb, Sources};
use rxguide::pipeline::assess;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| {
        let sources = Sources::bundled();
        Kb::link(sources.parse().expect("bundled kb parses"), sources.hash()).expect("links")
    })
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 15).expect("date")
}

fn opts(propose: &[&str]) -> ImportOptions {
    let mut o = ImportOptions::new("fixture");
    o.as_of = as_of();
    o.propose = propose.iter().map(|s| s.to_string()).collect();
    o
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join("tests/fixtures/fhir").join(name)).expect("fixture")
}

fn import(name: &str) -> (Case, ImportReport) {
    import_json(&fixture(name), &opts(&[])).expect("imports")
}

fn has(report: &ImportReport, needle: &str) -> bool {
    report.not_imported.iter().any(|l| l.contains(needle))
}

fn flag(flags: &[Flag], kind: Kind) -> Option<&Flag> {
    flags.iter().find(|f| f.kind == kind)
}

#[test]
fn si_units_are_converted_and_metformin_is_contraindicated() {
    let (case, report) = import("si-units.json");
    assert_eq!(case.id, "metformin-ckd4-si");
    assert_eq!(case.patient.sex, Sex::Female);
    assert_eq!(case.patient.age, 74.0);
    assert_eq!(case.patient.weight_kg, Some(58.0)); // 58000 g
    assert!((case.patient.height_cm.expect("height") - 160.0).abs() < 1e-9); // 1.6 m
    let cr = case.labs.creatinine_mg_dl.expect("creatinine");
    assert!(
        (cr - 2.1).abs() < 1e-9,
        "185.64 umol/L is 2.1 mg/dL, got {cr}"
    );
    assert!((case.labs.albumin_g_dl.expect("albumin") - 3.8).abs() < 1e-9); // 38 g/L
    assert!((case.labs.bilirubin_mg_dl.expect("bilirubin") - 1.0).abs() < 1e-9); // 17.1 umol/L
    assert_eq!(case.labs.potassium_mmol_l, Some(4.6));
    assert_eq!(
        case.conditions
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>(),
        vec!["Type 2 diabetes mellitus", "chronic kidney disease"]
    );
    assert_eq!(case.medications.len(), 1);
    let amlo = &case.medications[0];
    assert_eq!(amlo.drug, "amlodipine");
    assert_eq!(amlo.dose.as_ref().map(|d| d.text.as_str()), Some("5 mg"));
    assert_eq!(
        amlo.frequency.as_ref().map(|f| f.text.as_str()),
        Some("daily")
    );
    let met = &case.proposed[0];
    assert_eq!(met.drug, "metformin");
    assert_eq!(met.frequency.as_ref().and_then(|f| f.per_day), Some(2.0));
    assert_eq!(met.indication.as_deref(), Some("type 2 diabetes"));
    assert!(report.not_imported.is_empty(), "{:?}", report.not_imported);

    let a = assess(kb(), &case);
    let renal = flag(&a.flags, Kind::Renal).expect("renal flag");
    assert_eq!(renal.severity, Severity::Contraindicated);
    assert_eq!(renal.drugs, vec!["metformin"]);
}

#[test]
fn missing_weight_leaves_crcl_out_and_plan_is_proposed() {
    let (case, report) = import("missing-weight.json");
    assert_eq!(case.patient.weight_kg, None);
    assert_eq!(case.patient.age, 64.0);
    assert_eq!(case.proposed[0].drug, "clarithromycin");
    assert_eq!(
        case.proposed[0].dose.as_ref().map(|d| d.text.as_str()),
        Some("500 mg")
    );
    assert!(report.not_imported.is_empty(), "{:?}", report.not_imported);
    let a = assess(kb(), &case);
    assert!(a.derived.crcl_ml_min.is_none(), "CrCl needs weight");
    assert!(
        a.derived.egfr_ml_min_1_73m2.is_some(),
        "eGFR needs no weight"
    );
}

#[test]
fn inactive_medication_is_reported_not_used() {
    let (case, report) = import("inactive-medication.json");
    let current: Vec<&str> = case.medications.iter().map(|m| m.drug.as_str()).collect();
    assert_eq!(current, vec!["lisinopril"], "contained Medication resolved");
    assert_eq!(
        case.proposed[0].drug, "ibuprofen",
        "bundled Medication resolved"
    );
    assert!(case.allergies.is_empty());
    assert!(case.conditions.is_empty());
    assert!(has(
        &report,
        "MedicationStatement/ms-old warfarin (status completed"
    ));
    assert!(has(&report, "AllergyIntolerance/al-old"));
    assert!(has(
        &report,
        "Condition/c-old peptic ulcer (clinical status resolved)"
    ));
    let a = assess(kb(), &case);
    assert!(
        !a.flags
            .iter()
            .any(|f| f.kind == Kind::Interaction && f.drugs.iter().any(|d| d == "warfarin")),
        "a completed warfarin course is not a current medicine"
    );
}

#[test]
fn unknown_codes_are_listed_and_latest_value_wins() {
    // No proposal in the bundle: --propose supplies it.
    let (case, report) =
        import_json(&fixture("unknown-codes.json"), &opts(&["amoxicillin"])).expect("imports");
    assert!(
        has(&report, "Observation/a1c 4548-4"),
        "{:?}",
        report.not_imported
    );
    assert!(has(&report, "(unknown LOINC code)"));
    assert!(has(&report, "Observation/local-1") && has(&report, "(no LOINC code)"));
    assert!(has(&report, "Observation/na-odd") && has(&report, "unit \"mg/mL\" not read"));
    assert!(has(&report, "Encounter/enc-1 (resource type Encounter"));
    assert!(has(
        &report,
        "Observation/other-patient (refers to another patient"
    ));
    assert!(has(
        &report,
        "MedicationStatement/ms-rx (RxNorm 197361 without a text or display name"
    ));
    assert!(has(
        &report,
        "Observation/cr-old 2160-0 1.9 mg/dL (an earlier value"
    ));
    assert_eq!(case.labs.creatinine_mg_dl, Some(0.8), "latest creatinine");
    assert_eq!(case.labs.sodium_mmol_l, None);
    assert_eq!(case.labs.inr, None, "another patient's INR is not used");
    assert!(case.patient.pregnant);
    assert_eq!(case.patient.trimester, Some(2), "22 weeks");
    let allergy = &case.allergies[0];
    assert_eq!(allergy.substance, "Penicillin");
    assert_eq!(allergy.reaction.as_deref(), Some("Anaphylaxis"));
    assert!(allergy.is_severe());
    assert_eq!(case.proposed[0].drug, "amoxicillin");
}

#[test]
fn propose_option_adds_drugs_and_missing_proposal_names_the_fix() {
    let text = fixture("unknown-codes.json");
    let err = import_json(&text, &opts(&[])).expect_err("no proposed drug");
    let msg = err.to_string();
    assert!(
        msg.contains("proposed") && msg.contains("--propose"),
        "{msg}"
    );
    let (case, _) = import_json(&text, &opts(&["amoxicillin"])).expect("imports");
    assert_eq!(case.proposed[0].drug, "amoxicillin");
    let a = assess(kb(), &case);
    let allergy = flag(&a.flags, Kind::Allergy).expect("penicillin allergy flag");
    assert_eq!(allergy.severity, Severity::Contraindicated);
}

#[test]
fn medication_request_proposal_gives_the_interaction() {
    let (case, report) = import("proposal.json");
    assert!((case.patient.weight_kg.expect("weight") - 82.0).abs() < 0.1);
    assert_eq!(case.labs.inr, Some(2.6));
    assert_eq!(case.medications[0].drug, "warfarin");
    assert_eq!(case.proposed.len(), 1);
    assert_eq!(
        case.proposed[0].frequency.as_ref().map(|f| f.text.as_str()),
        Some("tid")
    );
    assert!(has(
        &report,
        "MedicationRequest/mr-old naproxen (status completed"
    ));
    let a = assess(kb(), &case);
    let ddi = flag(&a.flags, Kind::Interaction).expect("interaction");
    assert!(ddi.severity >= Severity::Major);
    assert_eq!(ddi.drugs, vec!["ibuprofen", "warfarin"]);
}

#[test]
fn bad_input_names_the_resource_and_field() {
    let e = import_json(&fixture("bad-value-type.json"), &opts(&[])).expect_err("bad type");
    assert!(matches!(e, FhirError::Resource { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains("Observation/k6") && m.contains("valueQuantity.value"),
        "{m}"
    );

    let e = import_json(&fixture("bad-out-of-range.json"), &opts(&[])).expect_err("range");
    let m = e.to_string();
    assert!(
        m.contains("Observation/k7")
            && m.contains("labs.potassium_mmol_l")
            && m.contains("1.5..=10"),
        "{m}"
    );

    let e =
        import_json("{\"resourceType\": \"Bundle\", \"entry\": [", &opts(&[])).expect_err("json");
    assert!(e.to_string().contains("not valid JSON"), "{e}");

    let two = r#"{"resourceType":"Bundle","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"a","gender":"male","birthDate":"1970-01-01"}},
      {"resource":{"resourceType":"Patient","id":"b","gender":"female","birthDate":"1980-01-01"}}]}"#;
    let e = import_json(two, &opts(&["ibuprofen"])).expect_err("two patients");
    assert!(e.to_string().contains("2 Patient resources"), "{e}");

    // FHIR's other and unknown are kept (issue 14, part 5); a code outside
    // the value set is refused, naming the element.
    let other = r#"{"resourceType":"Bundle","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"a","gender":"other","birthDate":"1970-01-01"}}]}"#;
    let (case, _) = import_json(other, &opts(&["ibuprofen"])).expect("other is a FHIR gender");
    assert_eq!(case.patient.sex, Sex::Other);
    let bad = other.replace("\"other\"", "\"mal\"");
    let e = import_json(&bad, &opts(&["ibuprofen"])).expect_err("gender");
    let m = e.to_string();
    assert!(
        m.contains("Patient/a gender") && m.contains("patient.sex"),
        "{m}"
    );
}

fn example_cases() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["sessions/cases", "tests/vignettes"] {
        let Ok(rd) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        v.extend(
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml")),
        );
    }
    v.sort();
    v
}

fn load_toml(p: &Path) -> Case {
    let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
    parse_case(&std::fs::read_to_string(p).expect("reads"), &stem).expect("valid case")
}

/// What of a flag must survive the round trip.
fn key(f: &Flag) -> (Kind, Severity, Vec<String>, String) {
    (f.kind, f.severity, f.drugs.clone(), f.summary.clone())
}

#[test]
fn every_example_case_round_trips_through_fhir_with_the_same_flags() {
    let cases = example_cases();
    assert!(cases.len() >= 6, "example cases found");
    let mut failures = Vec::new();
    for path in &cases {
        let case = load_toml(path);
        if !case.pgx.is_empty() {
            // Known gap: genotype Observations are not exported or imported
            // yet, so a case with phenotypes cannot round-trip.
            continue;
        }
        let a = assess(kb(), &case);
        let bundle = to_bundle(&a, kb(), as_of());
        let text = serde_json::to_string(&bundle).expect("serialises");
        let mut options = opts(&[]);
        options.review = case.review;
        let (back, report) = match import_json(&text, &options) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{}: import failed: {e}", path.display()));
                continue;
            }
        };
        // The patient, labs, allergies, medicines and proposals are the same.
        let mut expected = case.clone();
        expected.title = None;
        expected.expect = None;
        if back != expected {
            failures.push(format!(
                "{}: case differs\n  toml: {expected:?}\n  fhir: {back:?}",
                path.display()
            ));
        }
        // Only the exported flags (DetectedIssue) are left out on import.
        for l in &report.not_imported {
            if !l.contains("DetectedIssue") {
                failures.push(format!("{}: not imported: {l}", path.display()));
            }
        }
        let b = assess(kb(), &back);
        let fa: Vec<_> = a.flags.iter().map(key).collect();
        let fb: Vec<_> = b.flags.iter().map(key).collect();
        if fa != fb {
            failures.push(format!(
                "{}: flags differ\n  toml: {fa:?}\n  fhir: {fb:?}",
                path.display()
            ));
        }
        // Every flag is exported as a DetectedIssue citing its sources.
        let issues: Vec<&serde_json::Value> = bundle["entry"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == "DetectedIssue")
            .collect();
        assert_eq!(issues.len(), a.flags.len(), "{}", path.display());
        for (issue, f) in issues.iter().zip(&a.flags) {
            let sev = match f.severity {
                Severity::Contraindicated | Severity::Major => "high",
                Severity::Moderate => "moderate",
                Severity::Minor => "low",
            };
            assert_eq!(issue["severity"], sev);
            assert_eq!(issue["code"]["text"], f.kind.as_str());
            assert_eq!(
                issue["evidence"].as_array().map(Vec::len),
                Some(f.sources.len())
            );
            if f.kind != Kind::UnknownDrug {
                assert!(
                    issue["implicated"]
                        .as_array()
                        .is_some_and(|i| !i.is_empty()),
                    "{}: {} flag implicates no order",
                    path.display(),
                    f.kind
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn export_implicates_the_orders_and_cites_urls() {
    let case = load_toml(&root().join("sessions/cases/warfarin-ibuprofen.toml"));
    let a = assess(kb(), &case);
    let bundle = to_bundle(&a, kb(), as_of());
    assert_eq!(bundle["type"], "collection");
    let entries = bundle["entry"].as_array().expect("entries");
    let url_of = |ty: &str, drug: &str| {
        entries
            .iter()
            .find(|e| {
                e["resource"]["resourceType"] == ty
                    && e["resource"]["medicationCodeableConcept"]["text"] == drug
            })
            .and_then(|e| e["fullUrl"].as_str())
            .expect("order exported")
            .to_string()
    };
    let warfarin = url_of("MedicationStatement", "warfarin");
    let ibuprofen = url_of("MedicationRequest", "ibuprofen");
    let issue = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "DetectedIssue" && r["code"]["text"] == "interaction")
        .expect("interaction issue");
    assert_eq!(issue["severity"], "high");
    let refs: Vec<&str> = issue["implicated"]
        .as_array()
        .expect("implicated")
        .iter()
        .filter_map(|r| r["reference"].as_str())
        .collect();
    assert!(refs.contains(&warfarin.as_str()) && refs.contains(&ibuprofen.as_str()));
    assert!(issue["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(issue["reference"]
        .as_str()
        .is_some_and(|u| u.starts_with("http")));
    let proposal = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "MedicationRequest")
        .expect("proposal");
    assert_eq!(proposal["intent"], "proposal");
    // Deterministic: the same case exports the same bundle.
    assert_eq!(bundle, to_bundle(&a, kb(), as_of()));
}

fn rxguide(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rxguide").expect("binary built");
    cmd.env("RXGUIDE_DATA", data).env("NO_COLOR", "1");
    cmd
}

#[test]
fn check_reads_a_bundle_and_lists_what_was_not_imported() {
    let data = tempfile::tempdir().expect("tempdir");
    let f = root().join("tests/fixtures/fhir/inactive-medication.json");
    let out = rxguide(data.path())
        .args(["check", "--json", "--as-of", "2025-01-15"])
        .arg(&f)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ni = v["not_imported"].as_array().expect("not_imported array");
    assert!(ni
        .iter()
        .any(|l| l.as_str().is_some_and(|l| l.contains("warfarin"))));

    let out = rxguide(data.path())
        .args(["check", "--as-of", "2025-01-15"])
        .arg(&f)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Not imported"), "{text}");
    assert!(
        text.contains("not imported: MedicationStatement/ms-old warfarin"),
        "{text}"
    );

    // --propose on a bundle without a proposal.
    let out = rxguide(data.path())
        .args(["check", "--json", "--propose", "amoxicillin"])
        .arg(root().join("tests/fixtures/fhir/unknown-codes.json"))
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .any(|f| f["kind"] == "allergy"));
}

#[test]
fn check_rejects_bad_bundles_with_one_line() {
    let data = tempfile::tempdir().expect("tempdir");
    for (name, needle) in [
        (
            "bad-value-type.json",
            "Observation/k6: field `valueQuantity.value`",
        ),
        ("bad-out-of-range.json", "labs.potassium_mmol_l"),
    ] {
        let f = root().join("tests/fixtures/fhir").join(name);
        let out = rxguide(data.path())
            .arg("check")
            .arg(&f)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(out.stdout.is_empty(), "{name}: no partial result");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
    }
}

#[test]
fn export_command_writes_a_bundle_that_check_reads() {
    let data = tempfile::tempdir().expect("tempdir");
    let out_file = data.path().join("out.json");
    let case = root().join("sessions/cases/metformin-ckd4.toml");
    let out = rxguide(data.path())
        .args(["export", "--as-of", "2025-01-15"])
        .arg(&case)
        .arg("--fhir")
        .arg(&out_file)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = rxguide(data.path())
        .args(["check", "--json"])
        .arg(&case)
        .output()
        .expect("runs");
    let fhir = rxguide(data.path())
        .args(["check", "--json", "--as-of", "2025-01-15"])
        .arg(&out_file)
        .output()
        .expect("runs");
    let a: serde_json::Value = serde_json::from_slice(&toml.stdout).expect("json");
    let b: serde_json::Value = serde_json::from_slice(&fhir.stdout).expect("json");
    assert_eq!(a["flags"], b["flags"]);
    assert_eq!(a["derived"], b["derived"]);
}

/// What real records write (issue 14): the FHIR R4 specification's
/// `allergyintolerance-nkda` / `-nka` codings (SNOMED 409137002, 716186003)
/// are no allergy, not allergies to "NKDA"; a pregnancy recorded only as an
/// active Condition (SNOMED 72892002 "Normal pregnancy") is a pregnancy; an
/// RxNorm clinical-drug name resolves.
#[test]
fn records_as_written_no_known_allergy_pregnancy_condition_product_name() {
    let (case, report) = import("records-as-written.json");
    assert!(case.allergies.is_empty(), "{:?}", case.allergies);
    assert!(
        has(&report, "AllergyIntolerance/nkda"),
        "{:?}",
        report.not_imported
    );
    assert!(
        has(&report, "no known allergy"),
        "{:?}",
        report.not_imported
    );
    let a = assess(kb(), &case);
    let preg = flag(&a.flags, Kind::Pregnancy).expect("pregnancy flag from the Condition");
    assert_eq!(preg.drugs, vec!["lisinopril"]);
    assert!(flag(&a.flags, Kind::UnknownDrug).is_none(), "{:?}", a.flags);
    assert!(
        a.not_checked.iter().all(|n| !n.what.contains("allergy")),
        "{:?}",
        a.not_checked
    );
}

/// A bundle of one 70-year-old man (80 kg) proposed metformin, plus the
/// given resources (each referencing the patient).
fn bundle(patient_extra: serde_json::Value, resources: Vec<serde_json::Value>) -> String {
    let mut patient = serde_json::json!({
        "resourceType": "Patient", "id": "p1", "birthDate": "1954-06-01", "gender": "male"
    });
    if let (Some(p), Some(extra)) = (patient.as_object_mut(), patient_extra.as_object()) {
        p.extend(extra.clone());
    }
    let mut entries = vec![
        serde_json::json!({ "resource": patient }),
        serde_json::json!({ "resource": obs("w", "29463-7", "2025-01-10", 80.0, "kg") }),
        serde_json::json!({ "resource": {
            "resourceType": "MedicationRequest", "id": "rx", "status": "draft", "intent": "proposal",
            "subject": { "reference": "Patient/p1" },
            "medicationCodeableConcept": { "text": "metformin" } } }),
    ];
    entries.extend(
        resources
            .into_iter()
            .map(|r| serde_json::json!({ "resource": r })),
    );
    serde_json::json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
        .to_string()
}

fn obs(id: &str, loinc: &str, when: &str, value: f64, unit: &str) -> serde_json::Value {
    serde_json::json!({
        "resourceType": "Observation", "id": id, "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": loinc }] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": when,
        "valueQuantity": { "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit }
    })
}

/// Issue 14, part 5: the record's state is read as a clinician would.
#[test]
fn patient_state_deceased_instants_as_of_comparators_staleness_and_height() {
    // Deceased before the assessment date: refused, naming the element.
    let dead = bundle(
        serde_json::json!({ "deceasedDateTime": "2020-02-01" }),
        vec![],
    );
    let e = import_json(&dead, &opts(&[])).expect_err("a deceased patient is refused");
    assert!(e.to_string().contains("deceased"), "{e}");
    // ... but assessed as of a date when alive, and said.
    let mut before = opts(&[]);
    before.as_of = NaiveDate::from_ymd_opt(2019, 1, 1).expect("date");
    let (_, report) = import_json(&dead, &before).expect("alive at that date");
    assert!(
        has(&report, "deceasedDateTime"),
        "{:?}",
        report.not_imported
    );
    let e = import_json(
        &bundle(serde_json::json!({ "deceasedBoolean": true }), vec![]),
        &opts(&[]),
    )
    .expect_err("deceasedBoolean");
    assert!(e.to_string().contains("deceasedBoolean"), "{e}");

    // Instants in UTC: 23:00-05:00 on 1 March is 04:00Z on 2 March, after
    // 01:00Z; compared as text it sorted first and the normal value won.
    let text = bundle(
        serde_json::json!({}),
        vec![
            obs(
                "cr-late",
                "2160-0",
                "2024-12-01T23:00:00-05:00",
                2.6,
                "mg/dL",
            ),
            obs("cr-early", "2160-0", "2024-12-02T01:00:00Z", 0.9, "mg/dL"),
            // After the assessment date: not used.
            obs("cr-future", "2160-0", "2025-06-01", 0.8, "mg/dL"),
            // The newest eGFR is a bound; the older one is a value.
            {
                let mut o = obs(
                    "egfr-bound",
                    "33914-3",
                    "2025-01-12",
                    60.0,
                    "mL/min/{1.73_m2}",
                );
                o["valueQuantity"]["comparator"] = serde_json::json!(">");
                o
            },
            obs(
                "egfr-old",
                "33914-3",
                "2024-12-02",
                24.0,
                "mL/min/{1.73_m2}",
            ),
            // Two same-day heights; 25 cm is a length, not this man's height.
            obs("h1", "8302-2", "2025-01-10", 66.9, "[in_i]"),
            obs("h2", "8302-2", "2025-01-10T10:00:00Z", 25.0, "cm"),
            // A potassium from 1990.
            obs("k-old", "2823-3", "1990-05-05", 4.1, "mmol/L"),
            // Platelets as a plain count per microlitre.
            obs("plt", "777-3", "2025-01-10", 250000.0, "/uL"),
        ],
    );
    let (case, report) = import_json(&text, &opts(&[])).expect("imports");
    let lines = &report.not_imported;
    assert_eq!(case.labs.creatinine_mg_dl, Some(2.6), "{lines:?}");
    assert!(has(&report, "Observation/cr-future"), "{lines:?}");
    assert!(has(&report, "after the assessment date"), "{lines:?}");
    assert!(has(&report, "comparator \">\""), "{lines:?}");
    assert_eq!(case.labs.egfr, Some(24.0), "{lines:?}");
    assert_eq!(case.patient.height_cm, None, "{lines:?}");
    assert!(has(&report, "BMI"), "{lines:?}");
    assert!(has(&report, "older than 90 days"), "{lines:?}");
    assert_eq!(case.labs.platelets_10e9_l, Some(250.0), "{lines:?}");
    let a = assess(kb(), &case);
    assert!(
        a.flags
            .iter()
            .any(|f| f.severity == Severity::Contraindicated),
        "metformin at creatinine 2.6 / eGFR 24: {:?}",
        a.flags
    );
}

/// Issue 14, parts 2 and 3: a Condition's code is kept and read first.
#[test]
fn condition_codes_are_kept_and_read() {
    let text = bundle(
        serde_json::json!({}),
        vec![serde_json::json!({
            "resourceType": "Condition", "id": "c1",
            "clinicalStatus": { "coding": [{ "code": "active" }] },
            "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.4",
                "display": "Chronic kidney disease, stage 4 (severe)" }] },
            "subject": { "reference": "Patient/p1" }
        })],
    );
    let (case, _) = import_json(&text, &opts(&[])).expect("imports");
    assert_eq!(case.conditions.len(), 1);
    let code = case.conditions[0].code.as_ref().expect("code kept");
    assert_eq!(code.code, "N18.4");
    let a = assess(kb(), &case);
    assert_eq!(a.conditions[0].read_as, ["chronic kidney disease"]);
    // And it survives export and import.
    let back = to_bundle(&a, kb(), as_of());
    let (again, _) = import_json(&back.to_string(), &opts(&[])).expect("round trip");
    assert_eq!(again.conditions, case.conditions);
}

/// The first resource of `kind` in a bundle.
fn first<'a>(bundle: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the bundle"))
}

/// Issue 14, parts 4 and 7: an unconfirmed allergy is kept, checked and
/// said to be unconfirmed; verification status and criticality are
/// exported as the record gave them, never invented; flags carry HL7 v3
/// ActCode detected-issue codes.
#[test]
fn allergy_status_is_kept_as_given_and_issues_carry_act_codes() {
    let allergy = |extra: serde_json::Value| {
        let mut a = serde_json::json!({
            "resourceType": "AllergyIntolerance", "id": "al1",
            "clinicalStatus": { "coding": [{ "code": "active" }] },
            "code": { "text": "penicillin" },
            "patient": { "reference": "Patient/p1" }
        });
        if let (Some(o), Some(x)) = (a.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        a
    };
    let unconfirmed = bundle(
        serde_json::json!({}),
        vec![allergy(serde_json::json!({
            "verificationStatus": { "coding": [{ "code": "unconfirmed" }] },
            "criticality": "high"
        }))],
    )
    .replace("\"metformin\"", "\"amoxicillin\"");
    let (case, _) = import_json(&unconfirmed, &opts(&[])).expect("imports");
    assert_eq!(
        case.allergies[0].verification.as_deref(),
        Some("unconfirmed")
    );
    let a = assess(kb(), &case);
    let f = flag(&a.flags, Kind::Allergy).expect("still checked");
    assert!(f.summary.contains("Unconfirmed"), "{}", f.summary);
    let out = to_bundle(&a, kb(), as_of());
    let al = first(&out, "AllergyIntolerance");
    assert_eq!(al["verificationStatus"]["coding"][0]["code"], "unconfirmed");
    assert_eq!(al["criticality"], "high");
    let issue = first(&out, "DetectedIssue");
    assert_eq!(
        issue["code"]["coding"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    );
    assert_eq!(issue["code"]["coding"][0]["code"], "ALGY");
    // Not given: not invented.
    let plain = bundle(serde_json::json!({}), vec![allergy(serde_json::json!({}))]);
    let (case, _) = import_json(&plain, &opts(&[])).expect("imports");
    let out = to_bundle(&assess(kb(), &case), kb(), as_of());
    let al = first(&out, "AllergyIntolerance");
    assert!(
        al.get("verificationStatus").is_none() && al.get("criticality").is_none(),
        "{al}"
    );
}
