//! Derived values: Cockcroft-Gault CrCl, CKD-EPI 2021 eGFR, BMI, ideal and
//! adjusted body weight, Child-Pugh and a hepatic-impairment grade. Each
//! value records its formula and inputs for the trace.
//!
//! Sources: Cockcroft DW, Gault MH. Nephron 1976;16:31-41.
//! Inker LA et al. (CKD-EPI 2021). N Engl J Med 2021;385:1737-49.
//! Devine BJ. Drug Intell Clin Pharm 1974;8:650-5.
//! Schwartz GJ et al. (bedside Schwartz). J Am Soc Nephrol 2009;20:629-37.
//! Pugh RN et al. Br J Surg 1973;60:646-9.

use crate::intake::{fmt_num, units, Case, Patient, Sex};
use serde::{Deserialize, Serialize};

/// Which weight went into Cockcroft-Gault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightBasis {
    Actual,
    Ideal,
    Adjusted,
}

/// Where the eGFR came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EgfrSource {
    Reported,
    CkdEpi2021,
    BedsideSchwartz,
}

pub use crate::vocab::HepaticGrade;

/// One calculation as the trace shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calculation {
    pub name: String,
    pub formula: String,
    pub inputs: String,
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildPugh {
    pub score: u8,
    pub class: char,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    /// mL/min, rounded to 0.1.
    pub crcl_ml_min: Option<f64>,
    pub crcl_weight: Option<WeightBasis>,
    /// mL/min/1.73m2, rounded to 0.1.
    pub egfr_ml_min_1_73m2: Option<f64>,
    pub egfr_source: Option<EgfrSource>,
    pub bmi: Option<f64>,
    pub ibw_kg: Option<f64>,
    pub adjbw_kg: Option<f64>,
    pub child_pugh: Option<ChildPugh>,
    pub hepatic: HepaticGrade,
    /// Why the hepatic grade was given (empty when none).
    pub hepatic_basis: Vec<String>,
    pub calculations: Vec<Calculation>,
    /// Inputs that contradict each other, and what was done about it
    /// (reported eGFR vs the creatinine's estimate). Each is also listed
    /// as not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consistency: Vec<String>,
}

/// How far apart (as a ratio) a reported eGFR and the creatinine-based
/// estimate may be before they are reported as contradicting each other.
/// Laboratory eGFRs from other equations (MDRD, cystatin C) differ from
/// CKD-EPI 2021 by far less than this at the same creatinine.
pub const EGFR_DISAGREEMENT: f64 = 2.0;

/// The paediatric age category of ICH E11 (Clinical Investigation of
/// Medicinal Products in the Pediatric Population): newborn 0-27 days,
/// infant and toddler 28 days-23 months, child 2-11 years, adolescent
/// 12-17 years; "adult" from 18.
pub fn age_band(age_years: f64) -> &'static str {
    if age_years < 28.0 / 365.25 {
        "newborn"
    } else if age_years < 2.0 {
        "infant"
    } else if age_years < 12.0 {
        "child"
    } else if age_years < 18.0 {
        "adolescent"
    } else {
        "adult"
    }
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Upper limits of normal used for "x ULN" thresholds (typical adult
/// reference intervals; laboratories vary).
pub const ALT_ULN: f64 = 40.0;
pub const AST_ULN: f64 = 40.0;
pub const BILIRUBIN_ULN_MG_DL: f64 = 1.2;

/// Devine ideal body weight, kg (applied as published; callers use it for
/// adults with a known height).
pub fn ideal_body_weight(sex: Sex, height_cm: f64) -> f64 {
    let inches_over_60 = units::cm_to_in(height_cm) - 60.0;
    let base = match sex.for_equations() {
        Sex::Male => 50.0,
        _ => 45.5,
    };
    base + 2.3 * inches_over_60
}

/// The sex an equation's inputs name: as recorded, and which equation
/// was used when it was neither female nor male.
fn sex_shown(sex: Sex) -> String {
    if sex.is_known() {
        sex.to_string()
    } else {
        format!("{sex} (the female equation: the lower estimate)")
    }
}

/// Cockcroft-Gault creatinine clearance, mL/min.
pub fn cockcroft_gault(age: f64, weight_kg: f64, scr_mg_dl: f64, sex: Sex) -> f64 {
    let crcl = (140.0 - age) * weight_kg / (72.0 * scr_mg_dl);
    match sex.for_equations() {
        Sex::Male => crcl,
        _ => crcl * 0.85,
    }
}

/// CKD-EPI 2021 race-free eGFR, mL/min/1.73m2.
pub fn ckd_epi_2021(age: f64, scr_mg_dl: f64, sex: Sex) -> f64 {
    let (kappa, alpha, female) = match sex.for_equations() {
        Sex::Male => (0.9, -0.302, 1.0),
        _ => (0.7, -0.241, 1.012),
    };
    let ratio = scr_mg_dl / kappa;
    142.0 * ratio.min(1.0).powf(alpha) * ratio.max(1.0).powf(-1.200) * 0.9938f64.powf(age) * female
}

/// Bedside Schwartz eGFR for children, mL/min/1.73m2.
pub fn bedside_schwartz(height_cm: f64, scr_mg_dl: f64) -> f64 {
    0.413 * height_cm / scr_mg_dl
}

const LIVER_SEVERE: &[&str] = &[
    "child-pugh c",
    "child pugh c",
    "decompensated cirrhosis",
    "liver failure",
    "hepatic failure",
    "severe hepatic impairment",
    "end-stage liver disease",
    "hepatic encephalopathy",
];
const LIVER_MODERATE: &[&str] = &[
    "child-pugh b",
    "child pugh b",
    "cirrhosis",
    "moderate hepatic impairment",
];
const LIVER_ANY: &[&str] = &[
    "hepatic impairment",
    "liver impairment",
    "liver disease",
    "hepatitis",
    "child-pugh a",
    "child pugh a",
    "mild hepatic impairment",
    "fatty liver",
    "nafld",
    "masld",
    "nash",
    "alcoholic liver",
    "liver cirrhosis",
];

impl Derived {
    pub fn compute(case: &Case) -> Derived {
        let p = &case.patient;
        let labs = &case.labs;
        let mut calcs = Vec::new();
        let adult = p.age >= 18.0;

        let ibw = p
            .height_cm
            .filter(|_| adult)
            .map(|h| ideal_body_weight(p.sex, h));
        if let (Some(ibw), Some(h)) = (ibw, p.height_cm) {
            calcs.push(Calculation {
                name: "Ideal body weight (Devine)".into(),
                formula: format!(
                    "{} kg + 2.3 kg x (height in - 60)",
                    if p.sex.for_equations() == Sex::Male {
                        "50"
                    } else {
                        "45.5"
                    }
                ),
                inputs: format!(
                    "height {} cm = {:.1} in, sex {}",
                    fmt_num(h),
                    units::cm_to_in(h),
                    sex_shown(p.sex)
                ),
                result: format!("{:.1} kg", ibw),
            });
        }
        let bmi = match (p.weight_kg, p.height_cm) {
            (Some(w), Some(h)) => {
                let bmi = units::bmi(w, h);
                calcs.push(Calculation {
                    name: "BMI".into(),
                    formula: "weight kg / (height m)^2".into(),
                    inputs: format!("weight {} kg, height {} cm", fmt_num(w), fmt_num(h)),
                    result: format!("{bmi:.1} kg/m2"),
                });
                Some(round1(bmi))
            }
            _ => None,
        };
        let adjbw = match (p.weight_kg, ibw) {
            (Some(w), Some(ibw)) if w > 1.2 * ibw => Some(ibw + 0.4 * (w - ibw)),
            _ => None,
        };

        let (crcl, crcl_weight) = match (labs.creatinine_mg_dl, p.weight_kg) {
            (Some(scr), Some(w)) if adult => {
                let (weight, basis, why) = choose_cg_weight(w, ibw, adjbw);
                let crcl = cockcroft_gault(p.age, weight, scr, p.sex);
                calcs.push(Calculation {
                    name: "Creatinine clearance (Cockcroft-Gault)".into(),
                    formula: format!(
                        "(140 - age) x weight / (72 x Scr){}; serum creatinine used as measured (not rounded up to 1.0)",
                        if p.sex.for_equations() == Sex::Female { " x 0.85" } else { "" }
                    ),
                    inputs: format!(
                        "age {}, weight {:.1} kg ({}: {why}), Scr {} mg/dL",
                        fmt_num(p.age),
                        weight,
                        basis_name(basis),
                        fmt_num(scr)
                    ),
                    result: format!("{crcl:.1} mL/min"),
                });
                (Some(round1(crcl)), Some(basis))
            }
            _ => (None, None),
        };

        // The creatinine-based estimate, with the calculation that shows it.
        let estimated = labs.creatinine_mg_dl.and_then(|scr| {
            if adult {
                let e = ckd_epi_2021(p.age, scr, p.sex);
                Some((
                    e,
                    EgfrSource::CkdEpi2021,
                    Calculation {
                        name: "eGFR (CKD-EPI 2021, race-free)".into(),
                        formula:
                            "142 x min(Scr/k,1)^a x max(Scr/k,1)^-1.200 x 0.9938^age x 1.012 [female]"
                                .into(),
                        inputs: format!(
                            "Scr {} mg/dL, age {}, sex {} (k {}, a {})",
                            fmt_num(scr),
                            fmt_num(p.age),
                            sex_shown(p.sex),
                            if p.sex.for_equations() == Sex::Female { "0.7" } else { "0.9" },
                            if p.sex.for_equations() == Sex::Female {
                                "-0.241"
                            } else {
                                "-0.302"
                            }
                        ),
                        result: format!("{e:.1} mL/min/1.73m2"),
                    },
                ))
            } else {
                p.height_cm.map(|h| {
                    let e = bedside_schwartz(h, scr);
                    (
                        e,
                        EgfrSource::BedsideSchwartz,
                        Calculation {
                            name: "eGFR (bedside Schwartz, age < 18)".into(),
                            formula: "0.413 x height cm / Scr".into(),
                            inputs: format!("height {} cm, Scr {} mg/dL", fmt_num(h), fmt_num(scr)),
                            result: format!("{e:.1} mL/min/1.73m2"),
                        },
                    )
                })
            }
        });
        let mut consistency = Vec::new();
        let (egfr, egfr_source) = match (labs.egfr, estimated) {
            // A reported eGFR and the creatinine's own estimate more than
            // EGFR_DISAGREEMENT-fold apart: one of the two values is wrong
            // (a unit, a typing slip, another patient's result). The lower
            // is used, the worst case for every renal rule, and it is said.
            (Some(reported), Some((e, source, calc)))
                if reported.max(e) > EGFR_DISAGREEMENT * reported.min(e) =>
            {
                let note = format!(
                    "reported eGFR {} and creatinine {} mg/dL ({} {e:.1}) disagree more than {}-fold; \
                     the lower ({:.1}) was used for the renal rules: check both values",
                    fmt_num(reported),
                    fmt_num(labs.creatinine_mg_dl.unwrap_or_default()),
                    calc.name,
                    fmt_num(EGFR_DISAGREEMENT),
                    reported.min(e)
                );
                calcs.push(calc);
                calcs.push(Calculation {
                    name: "eGFR used".into(),
                    formula: "the lower of the reported and estimated values (they disagree)"
                        .into(),
                    inputs: format!("reported {}, estimated {e:.1}", fmt_num(reported)),
                    result: format!("{:.1} mL/min/1.73m2", reported.min(e)),
                });
                consistency.push(note);
                if reported <= e {
                    (Some(round1(reported)), Some(EgfrSource::Reported))
                } else {
                    (Some(round1(e)), Some(source))
                }
            }
            (Some(e), _) => {
                calcs.push(Calculation {
                    name: "eGFR".into(),
                    formula: "as reported by the laboratory".into(),
                    inputs: String::new(),
                    result: format!("{} mL/min/1.73m2", fmt_num(e)),
                });
                (Some(round1(e)), Some(EgfrSource::Reported))
            }
            (None, Some((e, source, calc))) => {
                calcs.push(calc);
                (Some(round1(e)), Some(source))
            }
            (None, None) => (None, None),
        };

        let (hepatic, hepatic_basis, child_pugh) = hepatic_grade(case, &mut calcs);

        Derived {
            crcl_ml_min: crcl,
            crcl_weight,
            egfr_ml_min_1_73m2: egfr,
            egfr_source,
            bmi,
            ibw_kg: ibw.map(round1),
            adjbw_kg: adjbw.map(round1),
            child_pugh,
            hepatic,
            hepatic_basis,
            calculations: calcs,
            consistency,
        }
    }
}

fn basis_name(b: WeightBasis) -> &'static str {
    match b {
        WeightBasis::Actual => "actual",
        WeightBasis::Ideal => "ideal",
        WeightBasis::Adjusted => "adjusted",
    }
}

/// Actual weight, unless it is over 120% of IBW (height known): then the
/// adjusted weight IBW + 0.4 x (actual - IBW).
fn choose_cg_weight(
    actual: f64,
    ibw: Option<f64>,
    adjbw: Option<f64>,
) -> (f64, WeightBasis, String) {
    match (ibw, adjbw) {
        (Some(ibw), Some(adj)) => (
            adj,
            WeightBasis::Adjusted,
            format!("actual {actual:.1} kg > 120% of IBW {ibw:.1} kg"),
        ),
        (Some(ibw), None) => (
            actual,
            WeightBasis::Actual,
            format!("actual {actual:.1} kg <= 120% of IBW {ibw:.1} kg"),
        ),
        (None, _) => (actual, WeightBasis::Actual, "no height, IBW unknown".into()),
    }
}

fn matches_any(
    conditions: &[crate::vocab::condition::Condition],
    terms: &[&str],
) -> Option<String> {
    conditions.iter().find_map(|c| {
        let c = crate::vocab::text::fold(&c.text);
        terms
            .iter()
            .any(|t| crate::clinical::rules::contains_term(&c, t))
            .then(|| c.clone())
    })
}

fn hepatic_grade(
    case: &Case,
    calcs: &mut Vec<Calculation>,
) -> (HepaticGrade, Vec<String>, Option<ChildPugh>) {
    let labs = &case.labs;
    let mut grade = HepaticGrade::None;
    let mut basis = Vec::new();
    let mut raise = |g: HepaticGrade, why: String, grade: &mut HepaticGrade| {
        if g > *grade {
            *grade = g;
        }
        basis.push(why);
    };
    if let Some(c) = matches_any(&case.conditions, LIVER_SEVERE) {
        raise(
            HepaticGrade::Severe,
            format!("condition \"{c}\""),
            &mut grade,
        );
    } else if let Some(c) = matches_any(&case.conditions, LIVER_MODERATE) {
        raise(
            HepaticGrade::Moderate,
            format!("condition \"{c}\""),
            &mut grade,
        );
    } else if let Some(c) = matches_any(&case.conditions, LIVER_ANY) {
        raise(HepaticGrade::Mild, format!("condition \"{c}\""), &mut grade);
    }
    if let Some(alt) = labs.alt_u_l.filter(|v| *v > 3.0 * ALT_ULN) {
        raise(
            HepaticGrade::Mild,
            format!("ALT {} U/L > 3x ULN ({ALT_ULN})", fmt_num(alt)),
            &mut grade,
        );
    }
    if let Some(ast) = labs.ast_u_l.filter(|v| *v > 3.0 * AST_ULN) {
        raise(
            HepaticGrade::Mild,
            format!("AST {} U/L > 3x ULN ({AST_ULN})", fmt_num(ast)),
            &mut grade,
        );
    }
    if let Some(b) = labs
        .bilirubin_mg_dl
        .filter(|v| *v > 2.0 * BILIRUBIN_ULN_MG_DL)
    {
        raise(
            HepaticGrade::Mild,
            format!(
                "bilirubin {} mg/dL > 2x ULN ({BILIRUBIN_ULN_MG_DL})",
                fmt_num(b)
            ),
            &mut grade,
        );
    }
    // Child-Pugh grades cirrhosis; compute it only for known liver disease,
    // since an INR raised by warfarin would otherwise score as liver failure.
    let mut child_pugh = None;
    let liver_disease = [LIVER_ANY, LIVER_MODERATE, LIVER_SEVERE]
        .iter()
        .any(|terms| matches_any(&case.conditions, terms).is_some());
    if liver_disease {
        if let (Some(bili), Some(alb), Some(inr)) =
            (labs.bilirubin_mg_dl, labs.albumin_g_dl, labs.inr)
        {
            let b = if bili < 2.0 {
                1
            } else if bili <= 3.0 {
                2
            } else {
                3
            };
            let a = if alb > 3.5 {
                1
            } else if alb >= 2.8 {
                2
            } else {
                3
            };
            let i = if inr < 1.7 {
                1
            } else if inr <= 2.3 {
                2
            } else {
                3
            };
            let score: u8 = b + a + i + 2;
            let class = match score {
                0..=6 => 'A',
                7..=9 => 'B',
                _ => 'C',
            };
            calcs.push(Calculation {
                name: "Child-Pugh (lower bound)".into(),
                formula: "bilirubin + albumin + INR + ascites + encephalopathy points; ascites and encephalopathy not recorded, counted as none".into(),
                inputs: format!(
                    "bilirubin {} mg/dL ({b}), albumin {} g/dL ({a}), INR {} ({i})",
                    fmt_num(bili),
                    fmt_num(alb),
                    fmt_num(inr)
                ),
                result: format!("{score} points, class {class} or worse"),
            });
            let g = match class {
                'A' => HepaticGrade::Mild,
                'B' => HepaticGrade::Moderate,
                _ => HepaticGrade::Severe,
            };
            raise(g, format!("Child-Pugh {score} (class {class})"), &mut grade);
            child_pugh = Some(ChildPugh { score, class });
        }
    }
    (grade, basis, child_pugh)
}

/// Convenience for callers that have only a patient (tests, forms).
pub fn crcl_for(patient: &Patient, scr_mg_dl: f64) -> Option<f64> {
    Some(cockcroft_gault(
        patient.age,
        patient.weight_kg?,
        scr_mg_dl,
        patient.sex,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse_case;

    fn case(patient: &str, labs: &str) -> Case {
        let text = format!("[patient]\n{patient}\n[labs]\n{labs}\n[[proposed]]\ndrug = \"x\"\n");
        parse_case(&text, "t").expect("valid test case")
    }

    /// Worked example of REFERENCES.md / the metformin-ckd4 case:
    /// 74-year-old woman, 58 kg, 160 cm, Scr 2.1 mg/dL.
    #[test]
    fn metformin_ckd4_worked_example() {
        let d = Derived::compute(&case(
            "age = 74\nsex = \"female\"\nweight_kg = 58.0\nheight_cm = 160.0",
            "creatinine_mg_dl = 2.1",
        ));
        assert_eq!(d.egfr_ml_min_1_73m2, Some(24.3));
        assert_eq!(d.crcl_ml_min, Some(21.5));
        assert_eq!(d.crcl_weight, Some(WeightBasis::Actual));
        assert_eq!(d.ibw_kg, Some(52.4));
        assert_eq!(d.bmi, Some(22.7));
    }

    /// Cockcroft-Gault original paper form: 60-year-old man, 72 kg, Scr 1.0
    /// -> (140-60) x 72 / 72 = 80 mL/min.
    #[test]
    fn cockcroft_gault_simple() {
        assert!((cockcroft_gault(60.0, 72.0, 1.0, Sex::Male) - 80.0).abs() < 1e-9);
        assert!((cockcroft_gault(60.0, 72.0, 1.0, Sex::Female) - 68.0).abs() < 1e-9);
    }

    /// CKD-EPI 2021 (Inker 2021): a 50-year-old man with Scr 0.9 sits at the
    /// knot: 142 x 0.9938^50 = 104.0.
    #[test]
    fn ckd_epi_at_the_knot() {
        let e = ckd_epi_2021(50.0, 0.9, Sex::Male);
        assert!((e - 142.0 * 0.9938f64.powf(50.0)).abs() < 1e-9);
        assert_eq!(round1(e), 104.0);
    }

    #[test]
    fn obese_patient_uses_adjusted_weight() {
        // 180 cm man: IBW 50 + 2.3 x (70.87 - 60) = 75.0 kg; 130 kg > 120%.
        let d = Derived::compute(&case(
            "age = 50\nsex = \"male\"\nweight_kg = 130.0\nheight_cm = 180.0",
            "creatinine_mg_dl = 1.0",
        ));
        assert_eq!(d.crcl_weight, Some(WeightBasis::Adjusted));
        assert_eq!(d.ibw_kg, Some(75.0));
        // adjusted = 74.99 + 0.4 x 55.01 = 96.99 kg (97.0 shown);
        // CrCl = 90 x 96.99 / 72 = 121.2 (unrounded inputs).
        assert_eq!(d.adjbw_kg, Some(97.0));
        assert_eq!(d.crcl_ml_min, Some(121.2));
    }

    #[test]
    fn no_weight_means_no_crcl_but_egfr() {
        let d = Derived::compute(&case("age = 70\nsex = \"male\"", "creatinine_mg_dl = 1.5"));
        assert_eq!(d.crcl_ml_min, None);
        assert!(d.egfr_ml_min_1_73m2.is_some());
    }

    #[test]
    fn reported_egfr_wins() {
        let d = Derived::compute(&case(
            "age = 70\nsex = \"male\"",
            "creatinine_mg_dl = 1.5\negfr = 22",
        ));
        assert_eq!(d.egfr_ml_min_1_73m2, Some(22.0));
        assert_eq!(d.egfr_source, Some(EgfrSource::Reported));
    }

    /// Issue 19, finding 3: a reported eGFR of 200 beside creatinine 25
    /// mg/dL passed without a word. Both values now show, the lower is
    /// used, and the contradiction is listed.
    #[test]
    fn a_reported_egfr_that_contradicts_the_creatinine_is_said_and_the_lower_used() {
        let d = Derived::compute(&case(
            "age = 60\nsex = \"female\"",
            "creatinine_mg_dl = 25\negfr = 200",
        ));
        assert!(d.egfr_ml_min_1_73m2.is_some_and(|e| e < 5.0), "{d:?}");
        assert_eq!(d.egfr_source, Some(EgfrSource::CkdEpi2021));
        assert_eq!(d.consistency.len(), 1);
        assert!(
            d.consistency[0].contains("200") && d.consistency[0].contains("25"),
            "{:?}",
            d.consistency
        );
        // a reported value within 2-fold of the estimate stands as reported
        let d = Derived::compute(&case(
            "age = 70\nsex = \"male\"",
            "creatinine_mg_dl = 1.5\negfr = 40",
        ));
        assert_eq!(d.egfr_ml_min_1_73m2, Some(40.0));
        assert!(d.consistency.is_empty());
    }

    #[test]
    fn child_uses_schwartz() {
        // 0.413 x 120 / 0.5 = 99.1
        let d = Derived::compute(&case(
            "age = 8\nsex = \"male\"\nheight_cm = 120",
            "creatinine_mg_dl = 0.5",
        ));
        assert_eq!(d.egfr_ml_min_1_73m2, Some(99.1));
        assert_eq!(d.crcl_ml_min, None);
    }

    #[test]
    fn warfarin_inr_alone_is_not_liver_disease() {
        let d = Derived::compute(&case(
            "age = 70\nsex = \"male\"",
            "inr = 3.1\nalbumin_g_dl = 3.0\nbilirubin_mg_dl = 1.0",
        ));
        assert_eq!(d.hepatic, HepaticGrade::None);
        assert!(d.child_pugh.is_none());
    }
}
