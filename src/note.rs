//! The pharmacist's note: what the rules decided for each proposed drug,
//! why, what to use instead (each alternative re-checked for this
//! patient by the whole engine), what the flags ask to do, and what could
//! not be checked. Deterministic and always there, model or not; the model's
//! answer explains it and never changes it.
//!
//! Where a decision comes from: [`decide`] maps the most serious flag on a
//! proposed drug to one of [`Decision`]'s steps. Alternatives are the drugs
//! the flags' own suggestions name ([`Kb::suggested_drugs`], the reading
//! the kb lint also uses), put in the proposed drug's place and assessed.

use crate::clinical::{Concerns, Evidence, Flag, Kind, Severity};
use crate::intake::{Case, MedicationOrder};
use crate::kb::Kb;
use crate::pipeline::{assess, Assessment};
use serde::Serialize;

/// Alternatives re-checked per proposed drug, at most.
pub const MAX_ALTERNATIVES: usize = 4;

/// What to do with a proposed drug, from its most serious flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// No flag, or only minor ones.
    Proceed,
    /// Moderate flags: go ahead, with the monitoring they ask for.
    ProceedWithMonitoring,
    /// The flags ask for a different dose, not a different drug.
    DoseChange,
    /// A major flag: choose another drug.
    ChooseAlternative,
    /// Contraindicated.
    Avoid,
    /// The drug is not in the knowledge base: nothing was decided.
    NotAssessed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Proceed => "proceed",
            Decision::ProceedWithMonitoring => "proceed with monitoring",
            Decision::DoseChange => "proceed with a dose change",
            Decision::ChooseAlternative => "choose an alternative",
            Decision::Avoid => "avoid",
            Decision::NotAssessed => "not assessed",
        }
    }
}

/// A flag behind a decision, as the note states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub severity: Severity,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    pub summary: String,
    pub sources: Vec<String>,
    pub rules: Vec<String>,
}

impl Reason {
    fn of(f: &Flag) -> Reason {
        Reason {
            severity: f.severity,
            kind: f.kind,
            evidence: f.evidence,
            summary: f.summary.clone(),
            sources: f.sources.clone(),
            rules: f.rules.clone(),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} {}{}: {} [{}]",
            self.severity.as_str().to_uppercase(),
            self.kind.as_str(),
            self.evidence.map_or(String::new(), |e| format!(" ({e})")),
            self.summary,
            self.sources.join(", ")
        )
    }
}

/// A drug a flag's suggestion names instead, assessed for this patient in
/// the proposed drug's place (without a dose: dose limits are for the
/// prescriber's chosen dose).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub drug: String,
    /// The rules whose suggestion names it.
    pub suggested_by: Vec<String>,
    /// Offered: no flag at major or above for this patient.
    pub offered: bool,
    pub flags: Vec<Reason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
}

impl Alternative {
    fn line(&self) -> String {
        let mut s = if self.offered {
            format!("✓ {}", self.drug)
        } else {
            format!("✗ {} (not offered)", self.drug)
        };
        if self.flags.is_empty() {
            s.push_str(": no flag for this patient");
        } else {
            let flags: Vec<String> = self.flags.iter().map(Reason::line).collect();
            s.push_str(&format!(": {}", flags.join("; ")));
        }
        if !self.not_checked.is_empty() {
            s.push_str(&format!(" (not checked: {})", self.not_checked.join("; ")));
        }
        s
    }
}

/// The note for one proposed drug.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugNote {
    /// As typed.
    pub drug: String,
    /// The generic name(s), when the kb knows the drug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generic: Option<String>,
    pub decision: Decision,
    /// One sentence: the decision and its main reason.
    pub headline: String,
    pub reasons: Vec<Reason>,
    pub alternatives: Vec<Alternative>,
    /// What the flags' suggestions ask to do, check or watch, each once.
    pub actions: Vec<String>,
    pub not_checked: Vec<String>,
}

/// The whole note: one entry per proposed drug, then the current regimen's
/// own flags.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Note {
    pub drugs: Vec<DrugNote>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regimen: Vec<Reason>,
}

/// Heading of the note in every front end.
pub const HEADING: &str = "Pharmacist's note (decided by the rules; the model only explains it)";

impl Note {
    /// The note as plain lines, for the text report, `ask`, the export and
    /// the terminal app.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.drugs {
            out.push(format!("▸ {}", d.headline));
            for r in d.reasons.iter().skip(1) {
                out.push(format!("  also: {}", r.line()));
            }
            if !d.alternatives.is_empty() {
                out.push("  alternatives, re-checked for this patient:".into());
                for a in &d.alternatives {
                    out.push(format!("    {}", a.line()));
                }
            }
            for m in &d.actions {
                out.push(format!("  do: {m}"));
            }
            for n in &d.not_checked {
                out.push(format!("  not checked: {n}"));
            }
        }
        if !self.regimen.is_empty() {
            out.push(format!(
                "▸ Current medicines: {} flag(s) to review",
                self.regimen.len()
            ));
            for r in &self.regimen {
                out.push(format!("  {}", r.line()));
            }
        }
        out
    }

    /// The decisions in one line each, for the model's prompt.
    pub fn decisions(&self) -> Vec<String> {
        self.drugs.iter().map(|d| d.headline.clone()).collect()
    }
}

/// Writes the note for an assessment.
pub fn write(kb: &Kb, a: &Assessment) -> Note {
    let mut note = Note::default();
    for (i, order) in a.case.proposed.iter().enumerate() {
        let matched = a
            .drugs
            .iter()
            .filter(|d| d.proposed)
            .find(|d| d.typed == order.drug);
        let generic = matched.and_then(|d| d.generic.clone());
        let mut note_for = drug_note(kb, a, i, order, generic);
        // A product only partly known: the unknown ingredient was not checked.
        for u in matched.map(|d| d.unmatched.as_slice()).unwrap_or_default() {
            note_for.not_checked.insert(
                0,
                format!(
                    "ingredient \"{u}\": not in the knowledge base, nothing was checked for it"
                ),
            );
        }
        note.drugs.push(note_for);
    }
    note.regimen = a
        .flags
        .iter()
        .filter(|f| f.concerns == Concerns::Current)
        .map(Reason::of)
        .collect();
    note
}

/// The generic names a drug match stands for ("a + b" for a product the kb
/// has no combined record for).
fn generics(generic: &str) -> Vec<&str> {
    generic.split(" + ").collect()
}

fn about<'a>(a: &'a Assessment, names: &[&str]) -> Vec<&'a Flag> {
    a.flags
        .iter()
        .filter(|f| f.concerns == Concerns::Proposed && f.kind != Kind::UnknownDrug)
        .filter(|f| f.drugs.iter().any(|d| names.contains(&d.as_str())))
        .collect()
}

fn drug_note(
    kb: &Kb,
    a: &Assessment,
    index: usize,
    order: &MedicationOrder,
    generic: Option<String>,
) -> DrugNote {
    let Some(generic) = generic else {
        return DrugNote {
            drug: order.drug.clone(),
            generic: None,
            decision: Decision::NotAssessed,
            headline: format!(
                "Not assessed: \"{}\" is not in the knowledge base, so nothing was checked for it.",
                order.drug.trim()
            ),
            reasons: Vec::new(),
            alternatives: Vec::new(),
            actions: Vec::new(),
            not_checked: Vec::new(),
        };
    };
    let names = generics(&generic);
    let mut flags = about(a, &names);
    flags.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let decision = decide(&flags);
    let not_checked: Vec<String> = a
        .not_checked
        .iter()
        .filter(|n| {
            names.contains(&n.drug.as_str()) || n.drug == crate::clinical::flag::WHOLE_RECORD
        })
        .map(|n| format!("{}: {}", n.what, n.reason))
        .collect();
    let headline = headline(
        decision,
        &generic,
        flags.first().copied(),
        not_checked.len(),
    );
    let mut actions: Vec<String> = Vec::new();
    for f in &flags {
        let s = f.suggestion.trim();
        if !s.is_empty() && !actions.iter().any(|m| m == s) {
            actions.push(s.to_string());
        }
    }
    let alternatives = if decision >= Decision::ProceedWithMonitoring {
        alternatives(kb, a, index, &names, &flags)
    } else {
        Vec::new()
    };
    DrugNote {
        drug: order.drug.clone(),
        generic: Some(generic),
        decision,
        headline,
        reasons: flags.iter().map(|f| Reason::of(f)).collect(),
        alternatives,
        actions,
        not_checked,
    }
}

/// The step for a proposed drug's flags (most serious first or not).
pub fn decide(flags: &[&Flag]) -> Decision {
    let Some(worst) = flags.iter().map(|f| f.severity).max() else {
        return Decision::Proceed;
    };
    let top = || flags.iter().filter(|f| f.severity == worst);
    match worst {
        Severity::Contraindicated => Decision::Avoid,
        Severity::Major if top().all(|f| asks_for_dose_change(f)) => Decision::DoseChange,
        Severity::Major => Decision::ChooseAlternative,
        Severity::Moderate if top().any(|f| asks_for_dose_change(f)) => Decision::DoseChange,
        Severity::Moderate => Decision::ProceedWithMonitoring,
        Severity::Minor => Decision::Proceed,
    }
}

/// A dose flag, or a flag whose suggestion adjusts the dose rather than
/// avoiding the drug ("reduce to 2.5 mg twice daily").
fn asks_for_dose_change(f: &Flag) -> bool {
    if f.kind == Kind::Dose {
        return true;
    }
    let s = f.suggestion.to_lowercase();
    let avoids = [
        "avoid",
        "do not",
        "don't",
        "contraindicated",
        "stop",
        "choose",
        "switch",
    ]
    .iter()
    .any(|w| s.starts_with(w));
    let adjusts = [
        "reduce",
        "lower dose",
        "lower the dose",
        "dose reduction",
        "adjust",
        "halve",
        "interval",
    ]
    .iter()
    .any(|w| s.contains(w));
    adjusts && !avoids
}

fn headline(decision: Decision, drug: &str, top: Option<&Flag>, gaps: usize) -> String {
    let why = top
        .map(|f| f.summary.trim().to_string())
        .unwrap_or_default();
    let gaps_said = match gaps {
        0 => String::new(),
        1 => " One check could not be made (below).".into(),
        n => format!(" {n} checks could not be made (below)."),
    };
    match decision {
        Decision::Avoid => format!("Avoid {drug}: {why}{gaps_said}"),
        Decision::ChooseAlternative => format!("Choose an alternative to {drug}: {why}{gaps_said}"),
        Decision::DoseChange => format!("Proceed with {drug} at a changed dose: {why}{gaps_said}"),
        Decision::ProceedWithMonitoring => {
            format!("Proceed with {drug}, with monitoring: {why}{gaps_said}")
        }
        Decision::Proceed => {
            match (top, gaps) {
                (Some(_), _) => format!("Proceed with {drug}: minor flag only ({why}).{gaps_said}"),
                (None, 0) => format!("Proceed with {drug}: no flag raised."),
                (None, _) => format!(
                "Proceed with {drug} only once the missing checks are made: no flag raised, but{}",
                gaps_said.to_lowercase().replace(" (below)", " (listed below)")
            ),
            }
        }
        Decision::NotAssessed => format!("Not assessed: {drug}."),
    }
}

/// The drugs the flags' suggestions name, each assessed in place of the
/// proposed drug.
fn alternatives(
    kb: &Kb,
    a: &Assessment,
    index: usize,
    names: &[&str],
    flags: &[&Flag],
) -> Vec<Alternative> {
    let current: Vec<&str> = a
        .drugs
        .iter()
        .filter(|d| !d.proposed)
        .filter_map(|d| d.generic.as_deref())
        .collect();
    let mut picked: Vec<(String, Vec<String>)> = Vec::new();
    for f in flags.iter().filter(|f| f.severity >= Severity::Moderate) {
        for (id, _) in kb.suggested_drugs(&f.suggestion) {
            let name = kb.drug(id).name.clone();
            if names.contains(&name.as_str()) || current.contains(&name.as_str()) {
                continue;
            }
            match picked.iter_mut().find(|(n, _)| *n == name) {
                Some((_, by)) => by.extend(f.rules.iter().cloned()),
                None => picked.push((name, f.rules.clone())),
            }
        }
    }
    picked.truncate(MAX_ALTERNATIVES);
    picked
        .into_iter()
        .map(|(drug, mut suggested_by)| {
            suggested_by.dedup();
            recheck(kb, &a.case, index, drug, suggested_by)
        })
        .collect()
}

/// The engine's verdict on `drug` in place of proposed order `index`.
fn recheck(
    kb: &Kb,
    case: &Case,
    index: usize,
    drug: String,
    suggested_by: Vec<String>,
) -> Alternative {
    let mut case = case.clone();
    let indication = case.proposed[index].indication.clone();
    case.proposed[index] = MedicationOrder {
        drug: drug.clone(),
        dose: None,
        frequency: None,
        indication,
    };
    case.expect = None;
    let alt = assess(kb, &case);
    let mut flags: Vec<&Flag> = about(&alt, &[drug.as_str()]);
    flags.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let offered = flags.iter().all(|f| f.severity < Severity::Major);
    let not_checked = alt
        .not_checked
        .iter()
        .filter(|n| n.drug == drug && n.what != "dose limits")
        .map(|n| format!("{}: {}", n.what, n.reason))
        .collect();
    Alternative {
        drug,
        suggested_by,
        offered,
        flags: flags.into_iter().map(Reason::of).collect(),
        not_checked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::parse_case;

    fn kb() -> &'static Kb {
        crate::kb::bundled_for_tests()
    }

    fn note_for(case: &str) -> Note {
        let a = assess(kb(), &parse_case(case, "t").expect("valid case"));
        write(kb(), &a)
    }

    const CKD4: &str = "[patient]\nage = 74\nsex = \"female\"\nweight_kg = 58\nheight_cm = 160\n[labs]\ncreatinine_mg_dl = 2.1\n";

    /// Contradicting inputs concern the whole record: every drug's note
    /// says so, not only the report's "Not checked" list.
    #[test]
    fn a_contradiction_in_the_record_is_in_every_drugs_note() {
        let n = note_for(
            "[patient]\nage = 60\nsex = \"female\"\n[labs]\ncreatinine_mg_dl = 25\negfr = 200\n[[proposed]]\ndrug = \"amoxicillin\"\n[[proposed]]\ndrug = \"metformin\"\n",
        );
        assert_eq!(n.drugs.len(), 2);
        for d in &n.drugs {
            assert!(
                d.not_checked
                    .iter()
                    .any(|l| l.starts_with("renal function: reported eGFR 200")),
                "{:#?}",
                n.lines()
            );
        }
    }

    #[test]
    fn a_contraindication_is_avoid_and_its_alternative_is_rechecked_for_the_patient() {
        // Metformin label: contraindicated below eGFR 30; the rule suggests
        // linagliptin, which the engine then checks at this eGFR.
        let n = note_for(&format!(
            "{CKD4}[[proposed]]\ndrug = \"metformin\"\ndose = \"500 mg\"\nfrequency = \"bid\"\n"
        ));
        let d = &n.drugs[0];
        assert_eq!(d.decision, Decision::Avoid, "{:#?}", n.lines());
        assert!(d.headline.starts_with("Avoid metformin:"), "{}", d.headline);
        assert!(d.reasons[0].sources.iter().any(|s| s.contains("metformin")));
        let alt = d.alternatives.iter().find(|a| a.drug == "linagliptin");
        let alt = alt.unwrap_or_else(|| panic!("{:#?}", d.alternatives));
        assert!(alt.offered, "{alt:#?}");
        assert!(alt
            .suggested_by
            .iter()
            .any(|r| r == "metformin-egfr-below-30"));
        assert!(n.lines().iter().any(|l| l.contains("✓ linagliptin")));
    }

    #[test]
    fn an_alternative_flagged_for_this_patient_is_not_offered() {
        // Clarithromycin with carbamazepine suggests azithromycin; with
        // citalopram and a QTc of 500 ms azithromycin is itself flagged
        // (two QT drugs above 470 ms).
        let n = note_for(
            "[patient]\nage = 50\nsex = \"male\"\nweight_kg = 80\n[labs]\nqtc_ms = 500\n[[medications]]\ndrug = \"carbamazepine\"\n[[medications]]\ndrug = \"citalopram\"\n[[proposed]]\ndrug = \"clarithromycin\"\n",
        );
        let d = &n.drugs[0];
        let azi = d.alternatives.iter().find(|a| a.drug == "azithromycin");
        let azi = azi.unwrap_or_else(|| panic!("{:#?}", n.lines()));
        assert!(!azi.offered, "{azi:#?}");
        assert!(azi.flags.iter().any(|f| f.severity >= Severity::Major));
        assert!(n
            .lines()
            .iter()
            .any(|l| l.contains("✗ azithromycin (not offered)")));
    }

    #[test]
    fn a_dose_flag_is_a_dose_change_not_a_new_drug() {
        // Apixaban label: 2.5 mg bid with two of age >= 80, weight <= 60 kg,
        // creatinine >= 1.5 (issue 15's patient meets all three).
        let n = note_for(
            "[patient]\nage = 81\nsex = \"female\"\nweight_kg = 52\n[labs]\ncreatinine_mg_dl = 1.6\n[[proposed]]\ndrug = \"apixaban\"\ndose = \"5 mg\"\nfrequency = \"bid\"\n",
        );
        assert_eq!(
            n.drugs[0].decision,
            Decision::DoseChange,
            "{:#?}",
            n.lines()
        );
    }

    #[test]
    fn silence_says_whether_everything_was_checked() {
        let clean = note_for(
            "[patient]\nage = 40\nsex = \"male\"\nweight_kg = 80\n[labs]\ncreatinine_mg_dl = 0.9\nalt_u_l = 20\n[[proposed]]\ndrug = \"amoxicillin\"\ndose = \"500 mg\"\nfrequency = \"tid\"\n",
        );
        assert_eq!(clean.drugs[0].decision, Decision::Proceed);
        // Without a weight or labs, the gaps are said in the headline.
        let gaps = note_for(
            "[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"metformin\"\ndose = \"500 mg\"\nfrequency = \"bid\"\n",
        );
        let d = &gaps.drugs[0];
        assert!(!d.not_checked.is_empty());
        assert!(d.headline.contains("could not be made"), "{}", d.headline);
        // An unknown drug is not assessed, never "proceed".
        let unknown =
            note_for("[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"qzxvamine\"\n");
        assert_eq!(unknown.drugs[0].decision, Decision::NotAssessed);
        assert!(unknown.drugs[0].headline.contains("nothing was checked"));
        // A product with one unknown ingredient says so beside the decision.
        let partly = note_for(
            "[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"Ibuprofen 200 MG / Qzxvamine 5 MG Oral Tablet\"\n",
        );
        assert!(
            partly.drugs[0].not_checked[0].contains("qzxvamine"),
            "{:#?}",
            partly.lines()
        );
    }

    #[test]
    fn current_medicines_flags_are_listed_apart() {
        let n = note_for(
            "[patient]\nage = 70\nsex = \"male\"\nweight_kg = 80\n[labs]\npotassium_mmol_l = 5.4\ncreatinine_mg_dl = 1.0\n[[medications]]\ndrug = \"lisinopril\"\n[[medications]]\ndrug = \"spironolactone\"\n[[proposed]]\ndrug = \"amoxicillin\"\n",
        );
        assert!(!n.regimen.is_empty(), "{:#?}", n.lines());
        assert!(n.drugs[0].reasons.is_empty());
    }
}
