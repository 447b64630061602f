//! Unit conversions shared by the lab table, case files, FHIR import and
//! the intake form.

/// Serum creatinine: 1 mg/dL = 88.4 µmol/L.
pub const CREATININE_UMOL_PER_MG_DL: f64 = 88.4;
pub const KG_PER_LB: f64 = 0.453_592_37;
pub const CM_PER_IN: f64 = 2.54;
/// Bilirubin: 1 mg/dL = 17.1 µmol/L.
pub const BILIRUBIN_UMOL_PER_MG_DL: f64 = 17.1;

pub fn creatinine_umol_to_mg_dl(umol_l: f64) -> f64 {
    umol_l / CREATININE_UMOL_PER_MG_DL
}

pub fn creatinine_mg_dl_to_umol(mg_dl: f64) -> f64 {
    mg_dl * CREATININE_UMOL_PER_MG_DL
}

pub fn lb_to_kg(lb: f64) -> f64 {
    lb * KG_PER_LB
}

pub fn kg_to_lb(kg: f64) -> f64 {
    kg / KG_PER_LB
}

pub fn in_to_cm(inches: f64) -> f64 {
    inches * CM_PER_IN
}

pub fn cm_to_in(cm: f64) -> f64 {
    cm / CM_PER_IN
}

/// Albumin g/L -> g/dL.
pub fn albumin_g_l_to_g_dl(g_l: f64) -> f64 {
    g_l / 10.0
}

pub fn bilirubin_umol_to_mg_dl(umol_l: f64) -> f64 {
    umol_l / BILIRUBIN_UMOL_PER_MG_DL
}

pub fn bilirubin_mg_dl_to_umol(mg_dl: f64) -> f64 {
    mg_dl * BILIRUBIN_UMOL_PER_MG_DL
}

/// Albumin g/dL -> g/L.
pub fn albumin_g_dl_to_g_l(g_dl: f64) -> f64 {
    g_dl * 10.0
}

/// Milliseconds -> seconds.
pub fn ms_to_s(ms: f64) -> f64 {
    ms / 1000.0
}

/// Grams -> kilograms (body weight given in g, as some FHIR servers do).
pub fn g_to_kg(g: f64) -> f64 {
    g / 1000.0
}

/// Metres -> centimetres.
pub fn m_to_cm(m: f64) -> f64 {
    m * 100.0
}

/// Cells per µL -> 10^9/L (platelets given as a plain count: 250000 /µL
/// is 250 x 10^9/L; 1 µL = 10^-6 L).
pub fn per_ul_to_10e9_l(n: f64) -> f64 {
    n / 1000.0
}

/// 10^9/L -> cells per µL.
pub fn per_10e9_l_to_ul(v: f64) -> f64 {
    v * 1000.0
}

/// Seconds -> milliseconds (QTc given in s).
pub fn s_to_ms(s: f64) -> f64 {
    s * 1000.0
}

/// Body-mass index, kg/m².
pub fn bmi(weight_kg: f64, height_cm: f64) -> f64 {
    weight_kg / (height_cm / 100.0).powi(2)
}

/// The BMI of a weight and height when it is outside [`limits::BMI`]: one
/// of the two is wrong, and nothing should be computed from them.
pub fn implausible_bmi(weight_kg: f64, height_cm: f64) -> Option<f64> {
    let b = bmi(weight_kg, height_cm);
    let (lo, hi) = limits::BMI;
    (!(lo..=hi).contains(&b)).then_some(b)
}

/// Physiological limits accepted for the patient's inputs, inclusive.
/// Values outside are almost certainly typing or unit errors. Each lab's
/// range is in its row of [`crate::vocab::lab::LABS`].
pub mod limits {
    pub const AGE: (f64, f64) = (0.0, 120.0);
    pub const WEIGHT_KG: (f64, f64) = (0.3, 500.0);
    pub const HEIGHT_CM: (f64, f64) = (20.0, 272.0);
    /// Body-mass index accepted when both weight and height are given
    /// (kg/m²). The lowest survived adult BMIs are near 8 and the highest
    /// recorded near 200; outside, one of the two values is wrong (a
    /// height of 25 cm beside 80 kg is BMI 1280), and BMI, IBW and the
    /// dose checks built on them would be computed from it.
    pub const BMI: (f64, f64) = (7.0, 200.0);
    /// Ages at which `pregnant` or `breastfeeding` is accepted.
    pub const CHILDBEARING_AGE: (f64, f64) = (10.0, 60.0);
    /// The lowest serum creatinine accepted from age 12 (mg/dL; 18
    /// µmol/L): less than half the lower reference limit of adolescents
    /// and adults (about 0.5 mg/dL).
    pub const CREATININE_FLOOR_MG_DL: f64 = 0.2;
    /// The longest drug, allergy substance or condition text accepted
    /// (characters). The longest RxNorm clinical drug name in the Synthea
    /// sample is under 120; past this it is not a name, and matching it
    /// would cost time for nothing.
    pub const NAME_CHARS: usize = 300;
    /// The most entries a case's medication, proposed, allergy or
    /// condition list may hold. Every pair of medicines is checked, so
    /// cost grows with the square of the list.
    pub const LIST_ENTRIES: usize = 150;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn creatinine_worked_example() {
        // 2.1 mg/dL is 185.6 µmol/L (factor 88.4, KDIGO 2012 conversion table).
        assert!((creatinine_mg_dl_to_umol(2.1) - 185.64).abs() < 1e-9);
        assert!((creatinine_umol_to_mg_dl(88.4) - 1.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn conversions_round_trip(v in 0.01f64..10_000.0) {
            prop_assert!((creatinine_umol_to_mg_dl(creatinine_mg_dl_to_umol(v)) - v).abs() < 1e-9 * v.max(1.0));
            prop_assert!((kg_to_lb(lb_to_kg(v)) - v).abs() < 1e-9 * v.max(1.0));
            prop_assert!((cm_to_in(in_to_cm(v)) - v).abs() < 1e-9 * v.max(1.0));
        }
    }
}
