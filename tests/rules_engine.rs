//! Rule-engine behaviour on a small, controlled knowledge base
//! (tests/fixtures/kb-mini), independent of the bundled kb's content.

use rxguide::clinical::{Flag, Kind, Severity};
use rxguide::intake::parse_case;
use rxguide::kb::{Kb, Sources};
use rxguide::pipeline::{assess, Assessment};
use std::path::PathBuf;

fn kb() -> Kb {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kb-mini");
    let sources = Sources::from_dir(&dir).expect("reads");
    Kb::link(sources.parse().expect("parses"), sources.hash()).expect("links")
}

fn run(text: &str) -> Assessment {
    assess(&kb(), &parse_case(text, "t").expect("valid case"))
}

fn flag(a: &Assessment, kind: Kind) -> Option<&Flag> {
    a.flags.iter().find(|f| f.kind == kind)
}

const ADULT: &str = "[patient]\nage = 50\nsex = \"male\"\nweight_kg = 80\nheight_cm = 180\n";

#[test]
fn class_level_interaction_either_order_names_both_drugs() {
    let a = run(&format!(
        "{ADULT}[[medications]]\ndrug = \"Coumadin\"\n[[proposed]]\ndrug = \"naproxen\"\n"
    ));
    let f = flag(&a, Kind::Interaction).expect("interaction");
    assert_eq!(f.severity, Severity::Major);
    assert_eq!(f.drugs, vec!["naproxen", "warfarin"]);
    assert_eq!(f.summary, "naproxen with warfarin: more bleeding.");
    // Proposed anticoagulant against a current NSAID: same flag.
    let a = run(&format!(
        "{ADULT}[[medications]]\ndrug = \"ibuprofen\"\n[[proposed]]\ndrug = \"warfarin\"\n"
    ));
    assert!(flag(&a, Kind::Interaction).is_some());
}

#[test]
fn proposed_against_proposed_is_one_flag() {
    let a = run(&format!(
        "{ADULT}[[proposed]]\ndrug = \"warfarin\"\n[[proposed]]\ndrug = \"ibuprofen\"\n"
    ));
    assert_eq!(
        a.flags
            .iter()
            .filter(|f| f.kind == Kind::Interaction)
            .count(),
        1
    );
}

#[test]
fn renal_bands_pick_the_right_rule() {
    // 74F, Scr 2.1 -> eGFR 24.3: contraindicated band only.
    let a = run("[patient]\nage = 74\nsex = \"female\"\n[labs]\ncreatinine_mg_dl = 2.1\n[[proposed]]\ndrug = \"metformin\"\n");
    let f = flag(&a, Kind::Renal).expect("renal");
    assert_eq!(f.severity, Severity::Contraindicated);
    assert!(f.summary.contains("24.3"), "{}", f.summary);
    // Scr 1.4 in a 70-year-old woman -> eGFR ~39: the 30-45 band.
    let a = run("[patient]\nage = 70\nsex = \"female\"\n[labs]\ncreatinine_mg_dl = 1.4\n[[proposed]]\ndrug = \"metformin\"\n");
    assert_eq!(
        flag(&a, Kind::Renal).map(|f| f.severity),
        Some(Severity::Moderate)
    );
    assert_eq!(
        flag(&a, Kind::Renal).map(|f| f.rules.clone()),
        Some(vec!["metformin-egfr-30-45".to_string()])
    );
}

#[test]
fn missing_creatinine_is_reported_not_checked() {
    let a = run(&format!("{ADULT}[[proposed]]\ndrug = \"metformin\"\n"));
    assert!(flag(&a, Kind::Renal).is_none());
    let n = a
        .not_checked
        .iter()
        .find(|n| n.drug == "metformin")
        .expect("not checked entry");
    assert!(n.reason.contains("creatinine"), "{n:?}");
}

#[test]
fn allergy_to_class_flags_member_and_combination_product() {
    let a = run(&format!("{ADULT}[[allergies]]\nsubstance = \"penicillin\"\nseverity = \"anaphylaxis\"\n[[proposed]]\ndrug = \"Augmentin\"\n"));
    let f = flag(&a, Kind::Allergy).expect("allergy");
    assert_eq!(f.severity, Severity::Contraindicated);
    assert_eq!(f.drugs, vec!["amoxicillin-clavulanate"]);
}

#[test]
fn cross_reactivity_uses_severe_severity_for_anaphylaxis() {
    let mild = run(&format!("{ADULT}[[allergies]]\nsubstance = \"amoxicillin\"\nseverity = \"mild\"\n[[proposed]]\ndrug = \"cefalexin\"\n"));
    assert_eq!(
        flag(&mild, Kind::Allergy).map(|f| f.severity),
        Some(Severity::Moderate)
    );
    let severe = run(&format!("{ADULT}[[allergies]]\nsubstance = \"amoxicillin\"\nreaction = \"anaphylaxis\"\n[[proposed]]\ndrug = \"cefalexin\"\n"));
    assert_eq!(
        flag(&severe, Kind::Allergy).map(|f| f.severity),
        Some(Severity::Major)
    );
}

#[test]
fn unknown_allergy_substance_is_not_silent() {
    let a = run(&format!(
        "{ADULT}[[allergies]]\nsubstance = \"shellfish\"\n[[proposed]]\ndrug = \"amoxicillin\"\n"
    ));
    assert!(flag(&a, Kind::Allergy).is_none());
    assert!(a
        .not_checked
        .iter()
        .any(|n| n.what == "allergy" && n.reason.contains("shellfish")));
}

#[test]
fn duplicates_same_drug_ingredient_and_class() {
    let a = run(&format!(
        "{ADULT}[[medications]]\ndrug = \"ibuprofen\"\n[[proposed]]\ndrug = \"naproxen\"\n"
    ));
    assert_eq!(
        flag(&a, Kind::Duplicate).map(|f| f.severity),
        Some(Severity::Major)
    );
    let a = run(&format!(
        "{ADULT}[[medications]]\ndrug = \"amoxicillin\"\n[[proposed]]\ndrug = \"co-amoxiclav\"\n"
    ));
    assert!(
        flag(&a, Kind::Duplicate).is_some_and(|f| f.summary.contains("both contain amoxicillin"))
    );
}

#[test]
fn dose_over_daily_maximum() {
    let a = run(&format!(
        "{ADULT}[[proposed]]\ndrug = \"paracetamol\"\ndose = \"1 g\"\nfrequency = \"q4h\"\n"
    ));
    let f = flag(&a, Kind::Dose).expect("dose");
    assert!(
        f.summary.contains("6000 mg/day") && f.summary.contains("4000 mg/day"),
        "{}",
        f.summary
    );
    let ok = run(&format!(
        "{ADULT}[[proposed]]\ndrug = \"paracetamol\"\ndose = \"1 g\"\nfrequency = \"qid\"\n"
    ));
    assert!(flag(&ok, Kind::Dose).is_none());
    let prn = run(&format!(
        "{ADULT}[[proposed]]\ndrug = \"paracetamol\"\ndose = \"1 g\"\nfrequency = \"prn\"\n"
    ));
    assert!(prn.not_checked.iter().any(|n| n.what == "dose limits"));
}

#[test]
fn age_rule_and_pregnancy_rule() {
    let a = run("[patient]\nage = 80\nsex = \"male\"\n[[proposed]]\ndrug = \"ibuprofen\"\n");
    assert!(flag(&a, Kind::Beers).is_some_and(|f| f.summary.contains("80 years")));
    let a = run("[patient]\nage = 30\nsex = \"female\"\npregnant = true\n[[proposed]]\ndrug = \"lisinopril\"\n");
    assert_eq!(
        flag(&a, Kind::Pregnancy).map(|f| f.severity),
        Some(Severity::Contraindicated)
    );
    let a = run("[patient]\nage = 30\nsex = \"female\"\n[[proposed]]\ndrug = \"lisinopril\"\n");
    assert!(a.flags.is_empty());
}

#[test]
fn unknown_drug_gets_closest_names() {
    let a = run(&format!("{ADULT}[[proposed]]\ndrug = \"ibuprofin\"\n"));
    let f = flag(&a, Kind::UnknownDrug).expect("unknown");
    assert!(
        f.summary.contains("did you mean ibuprofen?"),
        "{}",
        f.summary
    );
    // A near miss of one drug is a warning (issue 18: "did you mean
    // ibuprofen? nothing was checked"), not a minor note.
    assert_eq!(f.severity, Severity::Moderate);
    // A name close to nothing stays a minor note that lists what is near.
    let a = run(&format!(
        "{ADULT}[[proposed]]\ndrug = \"qzxv herbal blend\"\n"
    ));
    let f = flag(&a, Kind::UnknownDrug).expect("unknown");
    assert_eq!(f.severity, Severity::Minor, "{}", f.summary);
    assert!(f.summary.contains("nothing was checked"), "{}", f.summary);
}

#[test]
fn flags_sorted_and_every_flag_cited() {
    let a = run("[patient]\nage = 80\nsex = \"male\"\n[[allergies]]\nsubstance = \"nsaid\"\n[[medications]]\ndrug = \"warfarin\"\n[[proposed]]\ndrug = \"ibuprofen\"\n");
    assert!(a.flags.len() >= 3);
    assert!(a.flags.windows(2).all(|w| w[0].severity >= w[1].severity));
    let kb = kb();
    for f in &a.flags {
        assert!(!f.sources.is_empty());
        for s in &f.sources {
            assert!(kb.passage(s).is_some(), "{s} is a passage");
            assert!(
                a.passages.iter().any(|p| &p.id == s),
                "{s} listed with the passages"
            );
        }
    }
}

#[test]
fn brand_synonym_salt_and_strength_resolve() {
    let kb = kb();
    for typed in [
        "Glucophage",
        "METFORMIN HCL",
        "metformin hydrochloride ER",
        "metformin 500 mg",
    ] {
        assert_eq!(
            kb.lookup(typed).map(|id| kb.drug(id).name.clone()),
            Some("metformin".to_string()),
            "{typed}"
        );
    }
}
