//! The rule engine: case + derived values + knowledge base -> flags.
//!
//! One file per rule family; each reads its kb table and pushes findings.
//! Nothing here is specific to a drug: drugs and thresholds live in `kb/`.
//!
//! | family | file | kb table |
//! | --- | --- | --- |
//! | unknown drugs | [`unknown`] | vocabulary |
//! | interactions | [`interaction`] | `[[interaction]]` |
//! | renal, hepatic, pregnancy, lactation, beers, lab, condition | [`state`] | `[[rule]]` |
//! | allergy | [`allergy`] | `[[allergy]]` + class membership |
//! | duplicate therapy | [`duplicate`] | `[[duplicate]]` |
//! | dose (adult and paediatric) | [`dose`] | `[[dose]]` |
//! | several drugs at once | [`combination`] | `[[combination]]` |

pub mod allergy;
pub mod combination;
pub mod dose;
pub mod duplicate;
pub mod interaction;
pub mod state;
pub mod unknown;

use super::{Concerns, Derived, Flag, Kind, NotChecked, Severity};
use crate::intake::{Case, MedicationOrder};
use crate::kb::conditions::ConditionReading;
use crate::kb::{DrugId, Kb, Resolution};
use std::collections::BTreeMap;

pub use crate::vocab::sources::BUILTIN_SOURCES;
pub use crate::vocab::text::contains_term;

/// A drug of the case matched (or not) against the vocabulary.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    pub order: &'a MedicationOrder,
    pub id: Option<DrugId>,
    pub proposed: bool,
    pub index: usize,
    /// One ingredient of a product named with several ingredients that the
    /// kb has no combined record for ("acetaminophen 325 MG / oxycodone 5
    /// MG"): the order's dose is not this ingredient's dose.
    pub part_of_product: bool,
    /// With `id` None: the ingredient phrase that matched nothing, when the
    /// rest of the name did match (None: the whole name is unknown).
    pub unmatched: Option<String>,
}

impl Resolved<'_> {
    /// Whether this and `other` come from the same order.
    pub fn same_order(&self, other: &Resolved<'_>) -> bool {
        self.proposed == other.proposed && self.index == other.index
    }

    pub fn concerns(&self) -> Concerns {
        if self.proposed {
            Concerns::Proposed
        } else {
            Concerns::Current
        }
    }

    /// "proposed" or "current medicine", for inputs and texts.
    pub fn role(&self) -> &'static str {
        if self.proposed {
            "proposed"
        } else {
            "current medicine"
        }
    }

    pub fn field(&self) -> String {
        format!(
            "{}[{}].drug",
            if self.proposed {
                "proposed"
            } else {
                "medications"
            },
            self.index
        )
    }
}

/// One medication order and what its name resolved to.
#[derive(Debug, Clone)]
pub struct OrderMatch<'a> {
    pub order: &'a MedicationOrder,
    pub proposed: bool,
    pub index: usize,
    pub resolution: Resolution,
}

/// Everything the rules read.
pub struct Context<'a> {
    pub kb: &'a Kb,
    pub case: &'a Case,
    pub derived: &'a Derived,
    /// One entry per drug the rules see: an order of several ingredients
    /// without a kb combination record gives one entry per ingredient (all
    /// with the order's index), plus one per ingredient that matched
    /// nothing.
    pub proposed: Vec<Resolved<'a>>,
    pub current: Vec<Resolved<'a>>,
    /// Proposed orders, then current ones, each with its resolution.
    pub orders: Vec<OrderMatch<'a>>,
    /// The patient's conditions as the vocabulary reads them, in record
    /// order.
    pub conditions: Vec<ConditionReading>,
}

impl<'a> Context<'a> {
    pub fn new(kb: &'a Kb, case: &'a Case, derived: &'a Derived) -> Context<'a> {
        let matches = |orders: &'a [MedicationOrder], proposed: bool| {
            orders
                .iter()
                .enumerate()
                .map(|(index, order)| OrderMatch {
                    order,
                    proposed,
                    index,
                    resolution: kb.resolve(&order.drug),
                })
                .collect::<Vec<_>>()
        };
        let mut orders = matches(&case.proposed, true);
        orders.extend(matches(&case.medications, false));
        let (mut proposed, mut current) = (Vec::new(), Vec::new());
        for m in &orders {
            let r = &m.resolution;
            let entry = |id: Option<DrugId>, unmatched: Option<String>| Resolved {
                order: m.order,
                id,
                proposed: m.proposed,
                index: m.index,
                part_of_product: r.ids.len() + r.unmatched.len() > 1,
                unmatched,
            };
            let list = if m.proposed {
                &mut proposed
            } else {
                &mut current
            };
            if r.ids.is_empty() {
                list.push(entry(None, None));
                continue;
            }
            list.extend(r.ids.iter().map(|&id| entry(Some(id), None)));
            list.extend(r.unmatched.iter().map(|u| entry(None, Some(u.clone()))));
        }
        let conditions = case
            .conditions
            .iter()
            .map(|c| kb.conditions.read(&c.text, c.code.as_ref()))
            .collect();
        Context {
            kb,
            case,
            derived,
            proposed,
            current,
            orders,
            conditions,
        }
    }

    pub fn name(&self, id: DrugId) -> &str {
        &self.kb.drug(id).name
    }

    /// Every known drug of the regimen, proposed ones first: the rules
    /// that look at one drug and the patient run for each of these, so a
    /// current medicine is reviewed as well as a proposed one.
    pub fn known(&self) -> impl Iterator<Item = (&Resolved<'a>, DrugId)> + '_ {
        self.proposed
            .iter()
            .chain(&self.current)
            .filter_map(|r| r.id.map(|id| (r, id)))
    }

    /// Every unordered pair of known drugs from different orders, proposed
    /// ones first in each pair: the rules between two drugs run on these,
    /// current medicines with each other included.
    pub fn pairs(&self) -> Vec<(&Resolved<'a>, DrugId, &Resolved<'a>, DrugId)> {
        let all: Vec<_> = self.known().collect();
        let mut out = Vec::new();
        for (i, &(a, ia)) in all.iter().enumerate() {
            for &(b, ib) in &all[i + 1..] {
                if !a.same_order(b) {
                    out.push((a, ia, b, ib));
                }
            }
        }
        out
    }

    /// Every known drug from another order than `r`.
    pub fn others_than<'s>(
        &'s self,
        r: &'s Resolved<'a>,
    ) -> impl Iterator<Item = &'s Resolved<'a>> + 's {
        self.proposed
            .iter()
            .chain(&self.current)
            .filter(move |o| o.id.is_some() && !o.same_order(r))
    }
}

/// What the rules found.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    flags: BTreeMap<(Kind, Vec<String>), Flag>,
    pub not_checked: Vec<NotChecked>,
    /// One line per rule that fired, with its inputs.
    pub fired: Vec<String>,
}

/// A finding before merging.
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    pub drugs: Vec<String>,
    pub concerns: Concerns,
    pub summary: String,
    pub detail: String,
    pub suggestion: String,
    pub sources: Vec<String>,
    pub rule: String,
    pub inputs: Vec<String>,
}

/// A kb rule record's texts and provenance: what every finding built from
/// a record copies (filled with the rule's variables).
pub trait RuleRecord {
    fn id(&self) -> &str;
    fn summary(&self) -> &str;
    fn detail(&self) -> &str;
    fn suggestion(&self) -> &str;
    fn sources(&self) -> &[String];
}

macro_rules! rule_record {
    ($($t:ty),*) => {$(
        impl RuleRecord for $t {
            fn id(&self) -> &str { &self.id }
            fn summary(&self) -> &str { &self.summary }
            fn detail(&self) -> &str { &self.detail }
            fn suggestion(&self) -> &str { &self.suggestion }
            fn sources(&self) -> &[String] { &self.sources }
        }
    )*};
}

rule_record!(
    crate::kb::model::StateRule,
    crate::kb::model::DoseRule,
    crate::kb::model::CombinationRule,
    crate::kb::model::AllergyRule,
    crate::kb::model::DuplicateRule
);

/// Who a finding is about and what it read; the texts come from a record.
pub struct Subject {
    pub kind: Kind,
    pub severity: Severity,
    pub drugs: Vec<String>,
    pub concerns: Concerns,
    pub inputs: Vec<String>,
}

impl Finding {
    /// A finding from kb record `rule`, its texts filled with `vars`.
    pub fn from_record(rule: &impl RuleRecord, s: Subject, vars: &[(&str, &str)]) -> Finding {
        Finding {
            kind: s.kind,
            severity: s.severity,
            drugs: s.drugs,
            concerns: s.concerns,
            summary: fill(rule.summary(), vars),
            detail: fill(rule.detail(), vars),
            suggestion: fill(rule.suggestion(), vars),
            sources: rule.sources().to_vec(),
            rule: rule.id().to_string(),
            inputs: s.inputs,
        }
    }
}

impl Findings {
    /// Adds a finding; the same kind on the same drugs is one flag: the
    /// most severe text wins and sources and rules are merged.
    pub fn push(&mut self, f: Finding) {
        self.fired.push(format!(
            "{} rule `{}` fired for {}: {} -> {}",
            f.kind,
            f.rule,
            f.drugs.join(" + "),
            if f.inputs.is_empty() {
                "no patient values needed".to_string()
            } else {
                f.inputs.join(", ")
            },
            f.severity
        ));
        let mut drugs = f.drugs.clone();
        drugs.sort();
        drugs.dedup();
        let key = (f.kind, drugs.clone());
        let new = Flag {
            kind: f.kind,
            severity: f.severity,
            indicator: if f.kind == Kind::UnknownDrug {
                super::Indicator::Warning
            } else {
                f.severity.indicator()
            },
            drugs,
            concerns: f.concerns,
            summary: f.summary,
            detail: f.detail,
            suggestion: f.suggestion,
            evidence: None,
            sources: f.sources,
            rules: vec![f.rule],
            inputs: f.inputs,
            includes: Vec::new(),
        };
        match self.flags.get_mut(&key) {
            None => {
                self.flags.insert(key, new);
            }
            Some(old) => {
                let concerns = old.concerns.min(new.concerns);
                let (mut keep, other) = if new.severity > old.severity {
                    (new, old.clone())
                } else {
                    (old.clone(), new)
                };
                keep.concerns = concerns;
                for s in other.sources {
                    if !keep.sources.contains(&s) {
                        keep.sources.push(s);
                    }
                }
                for r in other.rules {
                    if !keep.rules.contains(&r) {
                        keep.rules.push(r);
                    }
                }
                *old = keep;
            }
        }
    }

    /// Moves each interaction flag whose drugs all belong to a combination
    /// flag, and each combination flag on a subset of its drugs, under that
    /// flag: severity, sources and rules count there, and it is not
    /// repeated on its own. The largest combinations take first.
    pub fn group_under_combinations(&mut self) {
        let mut combos: Vec<(Kind, Vec<String>)> = self
            .flags
            .keys()
            .filter(|(k, _)| *k == Kind::Combination)
            .cloned()
            .collect();
        combos.sort_by_key(|(_, d)| std::cmp::Reverse(d.len()));
        let mut grouped: Vec<(Kind, Vec<String>)> = Vec::new();
        for key in &combos {
            if grouped.contains(key) {
                continue;
            }
            let inner: Vec<Flag> = self
                .flags
                .iter()
                .filter(|(k2, _)| !grouped.contains(k2))
                .filter(|((k, d), _)| {
                    (*k == Kind::Interaction || (*k == Kind::Combination && d != &key.1))
                        && d.iter().all(|x| key.1.contains(x))
                })
                .map(|(_, f)| f.clone())
                .collect();
            let Some(combo) = self.flags.get_mut(key) else {
                continue;
            };
            for f in inner {
                combo.severity = combo.severity.max(f.severity);
                combo.indicator = combo.severity.indicator();
                combo.concerns = combo.concerns.min(f.concerns);
                for s in &f.sources {
                    if !combo.sources.contains(s) {
                        combo.sources.push(s.clone());
                    }
                }
                for r in &f.rules {
                    if !combo.rules.contains(r) {
                        combo.rules.push(r.clone());
                    }
                }
                grouped.push((f.kind, f.drugs.clone()));
                // A grouped combination brings what it had grouped.
                combo.includes.extend(f.includes);
                combo.includes.push(super::Included {
                    kind: f.kind,
                    severity: f.severity,
                    drugs: f.drugs,
                    summary: f.summary,
                    rules: f.rules,
                });
            }
        }
        for key in grouped {
            self.flags.remove(&key);
        }
    }

    pub fn not_checked(&mut self, drug: &str, what: &str, reason: String) {
        let n = NotChecked {
            drug: drug.to_string(),
            what: what.to_string(),
            reason,
        };
        if !self.not_checked.contains(&n) {
            self.not_checked.push(n);
        }
    }

    /// Flags, most serious first (then those about a proposed drug before
    /// the regimen's, then by kind and drugs, for stable output).
    pub fn into_flags(self) -> (Vec<Flag>, Vec<NotChecked>, Vec<String>) {
        let mut flags: Vec<Flag> = self.flags.into_values().collect();
        flags.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.concerns.cmp(&b.concerns))
                .then(a.kind.cmp(&b.kind))
                .then_with(|| a.drugs.cmp(&b.drugs))
        });
        let mut not_checked = self.not_checked;
        not_checked.sort();
        (flags, not_checked, self.fired)
    }
}

/// Runs every rule family.
pub fn evaluate(ctx: &Context<'_>) -> Findings {
    let mut out = Findings::default();
    for note in &ctx.derived.consistency {
        out.not_checked(
            crate::clinical::flag::WHOLE_RECORD,
            "renal function",
            note.clone(),
        );
    }
    let sex = ctx.case.patient.sex;
    if !sex.is_known() {
        out.not_checked(
            crate::clinical::flag::WHOLE_RECORD,
            "sex",
            format!("recorded as {sex}: CrCl, eGFR and ideal body weight use the female equations (the lower estimates); rules for one sex are listed as not checked"),
        );
    }
    unknown::check(ctx, &mut out);
    interaction::check(ctx, &mut out);
    state::check(ctx, &mut out);
    allergy::check(ctx, &mut out);
    duplicate::check(ctx, &mut out);
    dose::check(ctx, &mut out);
    combination::check(ctx, &mut out);
    out.group_under_combinations();
    out
}

/// Fills `{name}` placeholders.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_word_terms() {
        assert!(contains_term("congestive heart failure", "heart failure"));
        assert!(!contains_term("heartburn", "heart"));
        assert!(contains_term("asthma (mild)", "asthma"));
        assert!(!contains_term("", "x"));
    }

    use crate::intake::parse_case;
    use crate::pipeline::{assess, Assessment};

    /// The bundled kb: these tests are about what real records say.
    fn run(case: &str) -> Assessment {
        assess(
            crate::kb::bundled_for_tests(),
            &parse_case(case, "t").expect("valid case"),
        )
    }

    fn kinds(a: &Assessment) -> Vec<(Kind, Vec<String>)> {
        a.flags.iter().map(|f| (f.kind, f.drugs.clone())).collect()
    }

    const WOMAN: &str = "[patient]\nage = 30\nsex = \"female\"\nweight_kg = 60\n";

    #[test]
    fn an_allergy_to_one_penicillin_covers_amoxicillin() {
        for allergen in ["Penicillin G", "penicillin V potassium", "Ampicillin"] {
            let a = run(&format!(
                "{WOMAN}[[allergies]]\nsubstance = \"{allergen}\"\n[[proposed]]\ndrug = \"amoxicillin\"\n"
            ));
            let f = a.flags.iter().find(|f| f.kind == Kind::Allergy);
            assert!(
                f.is_some_and(|f| f.severity >= Severity::Major),
                "{allergen}: {:?}",
                kinds(&a)
            );
        }
    }

    #[test]
    fn no_known_allergy_is_not_an_allergy() {
        let a = run(&format!(
            "{WOMAN}[[allergies]]\nsubstance = \"NKDA\"\n[[proposed]]\ndrug = \"amoxicillin\"\n"
        ));
        assert!(
            a.flags.iter().all(|f| f.kind != Kind::Allergy),
            "{:?}",
            kinds(&a)
        );
        assert!(
            a.not_checked.iter().all(|n| !n.what.contains("allergy")),
            "{:?}",
            a.not_checked
        );
    }

    #[test]
    fn a_pregnancy_condition_is_a_pregnancy() {
        let a = run(&format!(
            "conditions = [\"Normal pregnancy\"]\n{WOMAN}[[proposed]]\ndrug = \"lisinopril\"\n"
        ));
        let f = a.flags.iter().find(|f| f.kind == Kind::Pregnancy);
        assert!(f.is_some(), "{:?}", kinds(&a));
        let a = run(&format!(
            "conditions = [\"History of pregnancy\"]\n{WOMAN}[[proposed]]\ndrug = \"lisinopril\"\n"
        ));
        assert!(
            a.flags.iter().all(|f| f.kind != Kind::Pregnancy),
            "{:?}",
            kinds(&a)
        );
    }

    #[test]
    fn ehr_product_names_bring_their_interactions() {
        // Synthea-style names the kb used to miss (issue 14's examples).
        for (current, proposed, kind) in [
            (
                "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray",
                "sildenafil",
                Kind::Interaction,
            ),
            (
                "Carbamazepine[Tegretol]",
                "clarithromycin",
                Kind::Interaction,
            ),
            (
                "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
                "verapamil",
                Kind::Interaction,
            ),
        ] {
            let a = run(&format!(
                "[patient]\nage = 60\nsex = \"male\"\nweight_kg = 80\n[[medications]]\ndrug = \"{current}\"\n[[proposed]]\ndrug = \"{proposed}\"\n"
            ));
            assert!(
                a.flags.iter().any(|f| f.kind == kind && f.drugs.len() == 2),
                "{current} + {proposed}: {:?}",
                kinds(&a)
            );
            assert!(
                a.flags.iter().all(|f| f.kind != Kind::UnknownDrug),
                "{:?}",
                kinds(&a)
            );
        }
    }

    #[test]
    fn an_unknown_ingredient_of_a_product_is_flagged_and_the_known_one_checked() {
        let a = run(
            "[patient]\nage = 60\nsex = \"male\"\nweight_kg = 80\n[[medications]]\ndrug = \"warfarin\"\n[[proposed]]\ndrug = \"Ibuprofen 200 MG / Qzxvamine 5 MG Oral Tablet\"\n"
        );
        assert!(
            a.flags.iter().any(|f| f.kind == Kind::Interaction),
            "{:?}",
            kinds(&a)
        );
        let u = a
            .flags
            .iter()
            .find(|f| f.kind == Kind::UnknownDrug)
            .expect("unknown part");
        assert!(u.summary.contains("qzxvamine"), "{}", u.summary);
    }

    fn dose_flag(a: &Assessment, drug: &str) -> Option<Flag> {
        a.flags
            .iter()
            .find(|f| f.kind == Kind::Dose && f.drugs == [drug])
            .cloned()
    }

    /// Apixaban label 2.2 (ELIQUIS, BMS/Pfizer, revised 04/2025): for
    /// nonvalvular AF, 2.5 mg twice daily with at least two of age >= 80,
    /// weight <= 60 kg, serum creatinine >= 1.5 mg/dL.
    #[test]
    fn apixaban_two_of_three_dose_criteria() {
        let case = |age: u32, weight: &str, labs: &str| {
            format!(
                "[patient]\nage = {age}\nsex = \"female\"\n{weight}{labs}[[medications]]\ndrug = \"apixaban\"\ndose = \"5 mg\"\nfrequency = \"bid\"\n[[proposed]]\ndrug = \"acetaminophen\"\n"
            )
        };
        // All three (the patient), two of three (each pair), one.
        for (age, w, scr, fires) in [
            (81, 52.0, 1.6, true),
            (80, 60.0, 1.0, true),
            (79, 60.0, 1.5, true),
            (85, 70.0, 1.5, true),
            (81, 61.0, 1.49, false),
            (75, 70.0, 0.9, false),
        ] {
            let a = run(&case(
                age,
                &format!("weight_kg = {w}\n"),
                &format!("[labs]\ncreatinine_mg_dl = {scr}\n"),
            ));
            let f = dose_flag(&a, "apixaban");
            assert_eq!(
                f.is_some(),
                fires,
                "{age} y, {w} kg, Scr {scr}: {:?}",
                kinds(&a)
            );
            if let Some(f) = f {
                assert_eq!(f.concerns, Concerns::Current, "a current medicine");
                assert!(
                    f.inputs.iter().any(|i| i.contains("criteria met")),
                    "{:?}",
                    f.inputs
                );
            }
        }
        // One criterion met, creatinine unknown: could be two, so say so.
        let a = run(&case(81, "weight_kg = 70\n", ""));
        assert!(dose_flag(&a, "apixaban").is_none());
        assert!(
            a.not_checked
                .iter()
                .any(|n| n.drug == "apixaban" && n.reason.contains("creatinine")),
            "{:?}",
            a.not_checked
        );
        // 2.5 mg twice daily is the right dose: nothing to flag.
        let a = run(
            &case(81, "weight_kg = 52\n", "[labs]\ncreatinine_mg_dl = 1.6\n")
                .replace("5 mg", "2.5 mg"),
        );
        assert!(dose_flag(&a, "apixaban").is_none(), "{:?}", kinds(&a));
    }

    /// Acetaminophen for a child of 14 kg: 15 mg/kg per dose = 210 mg,
    /// 75 mg/kg per day = 1050 mg (acetaminophen injection label 2.3, ages
    /// 2-12; the per-kg figures of kb/passages/pediatric.md).
    #[test]
    fn paediatric_acetaminophen_by_weight() {
        let child = |dose: &str, freq: &str| {
            run(&format!(
                "[patient]\nage = 3\nsex = \"male\"\nweight_kg = 14\n[[proposed]]\ndrug = \"acetaminophen\"\ndose = \"{dose}\"\nfrequency = \"{freq}\"\n"
            ))
        };
        assert!(dose_flag(&child("200 mg", "q6h"), "acetaminophen").is_none());
        let f = dose_flag(&child("250 mg", "q6h"), "acetaminophen").expect("single dose");
        assert!(f.summary.contains("210 mg"), "{}", f.summary);
        assert!(
            f.inputs
                .iter()
                .any(|i| i.contains("15 mg/kg x 14 kg = 210 mg")),
            "{:?}",
            f.inputs
        );
        let f = dose_flag(&child("200 mg", "q4h"), "acetaminophen").expect("daily total");
        assert!(f.summary.contains("1050 mg/day"), "{}", f.summary);
        // The adult limits alone would have passed 1 g four times daily.
        let a = child("1 g", "qid");
        assert!(dose_flag(&a, "acetaminophen").is_some_and(|f| f.severity >= Severity::Major));
        assert!(a
            .not_checked
            .iter()
            .all(|n| !n.reason.contains("paediatric")));
    }

    #[test]
    fn a_child_without_weight_or_without_paediatric_data_is_said() {
        let a = run("[patient]\nage = 3\nsex = \"male\"\n[[proposed]]\ndrug = \"acetaminophen\"\ndose = \"200 mg\"\nfrequency = \"q6h\"\n");
        assert!(
            a.not_checked
                .iter()
                .any(|n| n.reason.contains("dose needs weight")),
            "{:?}",
            a.not_checked
        );
        let a = run("[patient]\nage = 6\nsex = \"male\"\nweight_kg = 20\n[[proposed]]\ndrug = \"lisinopril\"\ndose = \"5 mg\"\nfrequency = \"daily\"\n");
        let n = a
            .not_checked
            .iter()
            .find(|n| n.drug == "lisinopril" && n.what == "dose limits")
            .expect("said");
        assert!(
            n.reason
                .contains("no paediatric dosing data for lisinopril"),
            "{}",
            n.reason
        );
        // An adult on the same drug: no such line.
        let a = run("[patient]\nage = 40\nsex = \"male\"\nweight_kg = 80\n[[proposed]]\ndrug = \"lisinopril\"\ndose = \"5 mg\"\nfrequency = \"daily\"\n");
        assert!(a
            .not_checked
            .iter()
            .all(|n| !n.reason.contains("paediatric")));
    }

    #[test]
    fn age_limits_for_children_come_from_the_labels() {
        let kid = |age: u32, conditions: &str, drug: &str| {
            run(&format!(
                "conditions = [{conditions}]\n[patient]\nage = {age}\nsex = \"female\"\nweight_kg = 30\n[[proposed]]\ndrug = \"{drug}\"\n"
            ))
        };
        let pediatric = |a: &Assessment| {
            a.flags
                .iter()
                .find(|f| f.kind == Kind::Pediatric)
                .map(|f| f.severity)
        };
        assert_eq!(
            pediatric(&kid(8, "", "codeine")),
            Some(Severity::Contraindicated)
        );
        assert_eq!(
            pediatric(&kid(10, "", "tramadol")),
            Some(Severity::Contraindicated)
        );
        assert_eq!(
            pediatric(&kid(15, "\"tonsillectomy\"", "codeine")),
            Some(Severity::Contraindicated)
        );
        assert_eq!(pediatric(&kid(15, "", "codeine")), None);
        assert_eq!(
            pediatric(&kid(9, "\"influenza\"", "aspirin")),
            Some(Severity::Contraindicated)
        );
        assert_eq!(pediatric(&kid(9, "", "aspirin")), None);
        assert_eq!(pediatric(&kid(40, "\"influenza\"", "aspirin")), None);
    }

    #[test]
    fn current_medicines_are_reviewed_and_marked_as_such() {
        // Two current medicines interact; the proposed drug is harmless.
        let a = run("[patient]\nage = 60\nsex = \"male\"\nweight_kg = 80\n[[medications]]\ndrug = \"warfarin\"\n[[medications]]\ndrug = \"naproxen\"\n[[proposed]]\ndrug = \"acetaminophen\"\n");
        let f = a
            .flags
            .iter()
            .find(|f| f.kind == Kind::Interaction)
            .expect("current pair checked");
        assert_eq!(f.concerns, Concerns::Current);
        // The proposed drug with a current one concerns the proposal.
        let a = run("[patient]\nage = 60\nsex = \"male\"\nweight_kg = 80\n[[medications]]\ndrug = \"warfarin\"\n[[proposed]]\ndrug = \"naproxen\"\n");
        let f = a
            .flags
            .iter()
            .find(|f| f.kind == Kind::Interaction)
            .expect("pair");
        assert_eq!(f.concerns, Concerns::Proposed);
        // A review needs no proposed drug; a plain case still does.
        let review = "review = true\n[patient]\nage = 60\nsex = \"male\"\n[[medications]]\ndrug = \"warfarin\"\n[[medications]]\ndrug = \"naproxen\"\n";
        assert!(run(review)
            .flags
            .iter()
            .any(|f| f.kind == Kind::Interaction));
        let error = parse_case(&review.replace("review = true\n", ""), "t")
            .expect_err("no proposed")
            .to_string();
        assert!(
            error.contains("proposed") && error.contains("review = true"),
            "{error}"
        );
    }

    /// Lapi et al., BMJ 2013: an NSAID with an ACE inhibitor or ARB and a
    /// diuretic ("triple whammy") raises the acute kidney injury rate
    /// (RR 1.31); any two of them do not.
    #[test]
    fn triple_whammy_groups_its_pairwise_interactions() {
        let case = |meds: &[&str], proposed: &str| {
            let mut s = "[patient]\nage = 70\nsex = \"male\"\nweight_kg = 80\n".to_string();
            for m in meds {
                s.push_str(&format!("[[medications]]\ndrug = \"{m}\"\n"));
            }
            s.push_str(&format!("[[proposed]]\ndrug = \"{proposed}\"\n"));
            run(&s)
        };
        let a = case(
            &["lisinopril", "furosemide", "hydrochlorothiazide"],
            "naproxen",
        );
        let f = a
            .flags
            .iter()
            .find(|f| {
                f.kind == Kind::Combination && f.rules.contains(&"triple-whammy-aki".to_string())
            })
            .expect("triple whammy");
        assert_eq!(f.severity, Severity::Major);
        assert_eq!(f.concerns, Concerns::Proposed);
        for d in [
            "naproxen",
            "lisinopril",
            "furosemide",
            "hydrochlorothiazide",
        ] {
            assert!(f.drugs.contains(&d.to_string()), "{d}: {:?}", f.drugs);
        }
        // The pairwise NSAID interactions are under it, not beside it.
        assert!(!f.includes.is_empty());
        assert!(
            a.flags
                .iter()
                .all(|g| g.kind != Kind::Interaction || !g.drugs.contains(&"naproxen".to_string())),
            "{:?}",
            kinds(&a)
        );
        // Two of the three are not the triple whammy.
        let a = case(&["lisinopril"], "naproxen");
        assert!(
            a.flags.iter().all(|f| f.kind != Kind::Combination),
            "{:?}",
            kinds(&a)
        );
        // One drug cannot fill two groups.
        let a = case(&["furosemide", "hydrochlorothiazide"], "naproxen");
        assert!(a
            .flags
            .iter()
            .all(|f| !f.rules.contains(&"triple-whammy-aki".to_string())));
    }

    #[test]
    fn counts_escalate_with_the_patient_state() {
        let case = |qtc: &str| {
            run(&format!(
                "[patient]\nage = 50\nsex = \"female\"\nweight_kg = 70\n{qtc}[[medications]]\ndrug = \"citalopram\"\n[[proposed]]\ndrug = \"azithromycin\"\n"
            ))
        };
        let combo = |a: &Assessment| {
            a.flags
                .iter()
                .find(|f| f.kind == Kind::Combination)
                .cloned()
                .expect("two QT drugs")
        };
        // QTc unknown: the count fires, the QTc escalation says it could
        // not check, and the pairwise interaction is grouped under it.
        let a = case("");
        let f = combo(&a);
        assert!(f.rules.contains(&"qt-drug-count-2".to_string()));
        assert!(!f.rules.contains(&"qt-drug-count-2-qtc-470".to_string()));
        assert!(
            f.includes.iter().any(|i| i.kind == Kind::Interaction),
            "{f:?}"
        );
        assert!(a
            .not_checked
            .iter()
            .any(|n| n.what == "combination rules" && n.reason.contains("qtc")));
        // QTc 480: the escalation fires.
        let f = combo(&case("[labs]\nqtc_ms = 480\n"));
        assert!(
            f.rules.contains(&"qt-drug-count-2-qtc-470".to_string()),
            "{f:?}"
        );
        assert!(f.severity >= Severity::Major);
    }

    /// Dofetilide label, Step 3 (starting dose by Cockcroft-Gault CrCl):
    /// > 60 mL/min 500 mcg, 40-60 250 mcg, 20 to < 40 125 mcg twice daily.
    #[test]
    fn dofetilide_dose_follows_creatinine_clearance() {
        // 70-year-old man, 70 kg: CrCl = (140-70) x 70 / (72 x Scr).
        let case = |scr: f64, dose: &str| {
            run(&format!(
                "[patient]\nage = 70\nsex = \"male\"\nweight_kg = 70\n[labs]\ncreatinine_mg_dl = {scr}\n[[proposed]]\ndrug = \"dofetilide\"\ndose = \"{dose}\"\nfrequency = \"bid\"\n"
            ))
        };
        // Scr 1.0: CrCl 68 -> 500 mcg allowed.
        assert!(dose_flag(&case(1.0, "500 mcg"), "dofetilide").is_none());
        // Scr 1.4: CrCl 48.6 -> 250 mcg.
        let f = dose_flag(&case(1.4, "500 mcg"), "dofetilide").expect("40-60");
        assert!(f.summary.contains("0.25 mg"), "{}", f.summary);
        assert!(dose_flag(&case(1.4, "250 mcg"), "dofetilide").is_none());
        // Scr 2.2: CrCl 30.9 -> 125 mcg; 500 mcg is four times that.
        let f = dose_flag(&case(2.2, "500 mcg"), "dofetilide").expect("20-40");
        assert!(f.summary.contains("0.125 mg"), "{}", f.summary);
        assert!(dose_flag(&case(2.2, "125 mcg"), "dofetilide").is_none());
    }

    /// Clopidogrel boxed warning: reduced effect in CYP2C19 poor
    /// metabolizers; unknown status is said, not assumed normal.
    #[test]
    fn clopidogrel_by_cyp2c19_phenotype() {
        let case = |pgx: &str| {
            run(&format!(
                "[patient]\nage = 58\nsex = \"male\"\nweight_kg = 84\n{pgx}[[proposed]]\ndrug = \"clopidogrel\"\n"
            ))
        };
        let pgx = |a: &Assessment| {
            a.flags
                .iter()
                .find(|f| f.kind == Kind::Pharmacogenomic)
                .map(|f| f.severity)
        };
        assert_eq!(
            pgx(&case("[pharmacogenomics]\nCYP2C19 = \"PM\"\n")),
            Some(Severity::Major)
        );
        let normal = case("[pharmacogenomics]\ncyp2c19 = \"normal metabolizer\"\n");
        assert_eq!(pgx(&normal), None);
        assert!(normal
            .not_checked
            .iter()
            .all(|n| !n.reason.contains("CYP2C19")));
        let unknown = case("");
        assert_eq!(pgx(&unknown), None);
        assert!(
            unknown
                .not_checked
                .iter()
                .any(|n| n.reason.contains("CYP2C19 status (not recorded)")),
            "{:?}",
            unknown.not_checked
        );
        let bad = parse_case("[patient]\nage = 58\nsex = \"male\"\n[pharmacogenomics]\ncyp2c19 = \"slow\"\n[[proposed]]\ndrug = \"clopidogrel\"\n", "t")
            .expect_err("unknown phenotype")
            .to_string();
        assert!(
            bad.contains("pharmacogenomics.cyp2c19") && bad.contains("poor metabolizer"),
            "{bad}"
        );
    }

    #[test]
    fn fill_placeholders() {
        assert_eq!(fill("{a} with {b}", &[("a", "x"), ("b", "y")]), "x with y");
    }

    /// The rule ids behind a case's flags (pairwise flags grouped under a
    /// combination included).
    fn rule_ids(a: &Assessment) -> Vec<String> {
        a.flags
            .iter()
            .flat_map(|f| {
                f.rules
                    .iter()
                    .cloned()
                    .chain(f.includes.iter().flat_map(|i| i.rules.clone()))
            })
            .collect()
    }

    fn pair(current: &str, proposed: &str) -> Assessment {
        run(&format!(
            "[patient]\nage = 50\nsex = \"male\"\nweight_kg = 80\n[[medications]]\ndrug = \"{current}\"\n[[proposed]]\ndrug = \"{proposed}\"\n"
        ))
    }

    fn interacts(a: &Assessment) -> bool {
        a.flags.iter().any(|f| f.kind == Kind::Interaction)
    }

    #[test]
    fn class_rules_leave_out_the_members_they_recommend() {
        // Issue 16's audit, findings 4 and 5, and the levodopa rule the new
        // lint found: the suggestion's alternative is not itself flagged.
        for (current, proposed) in [
            ("carbamazepine", "azithromycin"),
            ("carbamazepine", "fidaxomicin"),
            ("clarithromycin", "lorazepam"),
            ("clarithromycin", "oxazepam"),
            ("clarithromycin", "temazepam"),
            ("carbidopa-levodopa", "quetiapine"),
            ("carbidopa-levodopa", "clozapine"),
            ("carbidopa-levodopa", "pimavanserin"),
        ] {
            let a = pair(current, proposed);
            assert!(!interacts(&a), "{current} + {proposed}: {:?}", kinds(&a));
        }
        // The members the mechanism holds for still interact.
        for (current, proposed) in [
            ("carbamazepine", "clarithromycin"),
            ("carbamazepine", "erythromycin"),
            ("clarithromycin", "triazolam"),
            ("clarithromycin", "alprazolam"),
            ("clarithromycin", "zolpidem"),
            ("erythromycin", "midazolam"),
            ("carbidopa-levodopa", "haloperidol"),
            ("carbidopa-levodopa", "risperidone"),
            ("levodopa", "metoclopramide"),
        ] {
            let a = pair(current, proposed);
            assert!(interacts(&a), "{current} + {proposed}: {:?}", kinds(&a));
        }
    }

    #[test]
    fn micronized_glyburide_is_held_to_its_own_maximum() {
        // Glynase label: at most 12 mg/day; nonmicronized glyburide 20 mg/day.
        let dose = |drug: &str, mg: u32| {
            run(&format!(
                "[patient]\nage = 50\nsex = \"male\"\nweight_kg = 80\n[[proposed]]\ndrug = \"{drug}\"\ndose = \"{mg} mg\"\nfrequency = \"once daily\"\n"
            ))
        };
        for name in [
            "Glynase",
            "micronized glyburide",
            "Glyburide 6 MG Oral Tablet [Glynase]",
            "glyburide (micronized)",
        ] {
            let a = dose(name, 15);
            let ids = rule_ids(&a);
            assert!(
                ids.iter().any(|r| r == "glyburide-micronized-max-daily"),
                "{name} 15 mg: {ids:?}"
            );
            // One dose flag, not glyburide's as well.
            assert!(
                !ids.iter().any(|r| r == "glyburide-max-daily"),
                "{name}: {ids:?}"
            );
            assert!(rule_ids(&dose(name, 12))
                .iter()
                .all(|r| !r.ends_with("-max-daily")));
        }
        // Plain glyburide keeps its 20 mg maximum, and the micronized tablet
        // keeps every other glyburide rule (renal, through the ingredient).
        assert!(rule_ids(&dose("glyburide", 15))
            .iter()
            .all(|r| !r.ends_with("-max-daily")));
        assert!(rule_ids(&dose("glyburide", 25))
            .iter()
            .any(|r| r == "glyburide-max-daily"));
        let renal = run("[patient]\nage = 50\nsex = \"male\"\nweight_kg = 80\n[labs]\ncreatinine_mg_dl = 3.0\n[[proposed]]\ndrug = \"Glynase\"\n");
        assert!(
            rule_ids(&renal)
                .iter()
                .any(|r| r.starts_with("glyburide-crcl")),
            "{:?}",
            kinds(&renal)
        );
    }

    fn severity_of(a: &Assessment, kind: Kind) -> Option<Severity> {
        a.flags
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.severity)
            .max()
    }

    #[test]
    fn mao_b_inhibitors_are_not_the_antidepressant_maois() {
        // Issue 16, finding 3: the rasagiline label warns against (does not
        // contraindicate) antidepressants; transdermal selegiline (Emsam),
        // an antidepressant MAOI, does contraindicate SSRIs.
        let rasagiline = pair("rasagiline", "sertraline");
        assert_eq!(
            severity_of(&rasagiline, Kind::Interaction),
            Some(Severity::Major)
        );
        let emsam = pair("Emsam", "sertraline");
        assert_eq!(
            severity_of(&emsam, Kind::Interaction),
            Some(Severity::Contraindicated)
        );
        // What the rasagiline label does contraindicate.
        for other in ["meperidine", "tramadol", "phenelzine"] {
            let a = pair("rasagiline", other);
            assert_eq!(
                severity_of(&a, Kind::Interaction),
                Some(Severity::Contraindicated),
                "{other}: {:?}",
                kinds(&a)
            );
        }
        // The antidepressant MAOIs are unchanged.
        let phenelzine = pair("phenelzine", "sertraline");
        assert_eq!(
            severity_of(&phenelzine, Kind::Interaction),
            Some(Severity::Contraindicated)
        );
    }

    #[test]
    fn non_dihydropyridine_ccbs_follow_the_heart_failure_type() {
        // Issue 16, finding 6: Beers 2023 avoids diltiazem/verapamil in
        // HFrEF, not in every heart failure.
        let with = |condition: &str| {
            run(&format!(
                "conditions = [\"{condition}\"]\n[patient]\nage = 70\nsex = \"male\"\nweight_kg = 80\n[[proposed]]\ndrug = \"diltiazem\"\n"
            ))
        };
        let hf = |a: &Assessment| {
            a.flags
                .iter()
                .filter(|f| f.kind == Kind::Condition || f.kind == Kind::Beers)
                .filter(|f| {
                    f.summary.to_lowercase().contains("heart failure")
                        || f.summary.contains("HFrEF")
                })
                .map(|f| f.severity)
                .max()
        };
        assert_eq!(hf(&with("HFrEF")), Some(Severity::Major));
        assert_eq!(
            hf(&with("heart failure with reduced ejection fraction")),
            Some(Severity::Major)
        );
        assert_eq!(hf(&with("heart failure")), Some(Severity::Moderate));
        assert_eq!(
            hf(&with("heart failure with preserved ejection fraction")),
            None
        );
        assert_eq!(hf(&with("HFpEF")), None);
    }

    /// Issue 14, part 3: conditions as EHRs and people write them reach the
    /// rules written for them, by abbreviation, by wider condition and by
    /// code; what cannot be read is said with what it blocked.
    #[test]
    fn conditions_are_read_through_the_vocabulary() {
        let with = |conditions: &str, drugs: &str| {
            run(&format!(
                "conditions = [{conditions}]\n[patient]\nage = 60\nsex = \"male\"\nweight_kg = 80\n{drugs}"
            ))
        };
        let aliskiren =
            "[[medications]]\ndrug = \"lisinopril\"\n[[proposed]]\ndrug = \"aliskiren\"\n";
        // "T2DM" is nowhere in the rule's terms; the vocabulary reads it
        // as type 2 diabetes, a kind of diabetes.
        for c in [
            "\"T2DM\"",
            "\"NIDDM\"",
            "{ text = \"Diabetes\", system = \"snomed\", code = \"44054006\" }",
            "{ text = \"DM type 2 w/o complication\", system = \"icd-10-cm\", code = \"E11.9\" }",
        ] {
            let a = with(c, aliskiren);
            assert_eq!(
                severity_of(&a, Kind::Condition),
                Some(Severity::Contraindicated),
                "{c}: {:?}",
                kinds(&a)
            );
        }
        // "CCF" (congestive cardiac failure) with an NSAID.
        let a = with("\"CCF\"", "[[proposed]]\ndrug = \"ibuprofen\"\n");
        assert_eq!(severity_of(&a, Kind::Condition), Some(Severity::Major));
        let f = a
            .flags
            .iter()
            .find(|f| f.kind == Kind::Condition)
            .expect("flag");
        assert!(
            f.inputs.iter().any(|i| i.contains("read as heart failure")),
            "{:?}",
            f.inputs
        );
        // A misspelt condition is not guessed: it is listed, with the rule
        // it would have reached.
        let a = with(
            "\"atrial fibrilation\"",
            "[[proposed]]\ndrug = \"edoxaban\"\n[labs]\ncreatinine_mg_dl = 0.6\n",
        );
        let line = a
            .not_checked
            .iter()
            .find(|n| n.what.contains("atrial fibrilation"))
            .expect("a not-checked line for the misspelt condition");
        assert_eq!(line.drug, crate::clinical::flag::WHOLE_RECORD);
        assert!(
            line.reason.contains("did you mean atrial fibrillation?"),
            "{}",
            line.reason
        );
        assert!(
            line.reason.contains("edoxaban (edoxaban-crcl-above-95-af)"),
            "{}",
            line.reason
        );
        // Spelt right, the same rule fires.
        let a = with(
            "\"AF\"",
            "[[proposed]]\ndrug = \"edoxaban\"\n[labs]\ncreatinine_mg_dl = 0.6\n",
        );
        assert!(a.not_checked.iter().all(|n| !n.what.contains("condition")));
        // An unknown text with nothing close is listed too; a known
        // condition without rules for these drugs is not.
        let a = with(
            "\"Qzxv syndrome\", \"Hyperlipidemia\"",
            "[[proposed]]\ndrug = \"acetaminophen\"\n",
        );
        let lines: Vec<_> = a
            .not_checked
            .iter()
            .filter(|n| n.what.starts_with("condition"))
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0]
            .reason
            .contains("no drug-disease rule could use it"));
    }

    /// A coded Condition states pregnancy by its code whatever its display;
    /// a coded miscarriage does not.
    #[test]
    fn pregnancy_is_read_from_a_condition_code() {
        let with = |condition: &str| {
            run(&format!(
                "conditions = [{condition}]\n[patient]\nage = 30\nsex = \"female\"\nweight_kg = 60\n[[proposed]]\ndrug = \"lisinopril\"\n"
            ))
        };
        let a = with("{ text = \"Antenatal visit\", system = \"snomed\", code = \"72892002\" }");
        assert!(
            severity_of(&a, Kind::Pregnancy).is_some(),
            "{:?}",
            kinds(&a)
        );
        let a = with("{ text = \"Supervision of normal first pregnancy\", system = \"icd-10-cm\", code = \"Z34.00\" }");
        assert!(
            severity_of(&a, Kind::Pregnancy).is_some(),
            "{:?}",
            kinds(&a)
        );
        let a = with("{ text = \"Miscarriage in first trimester\", system = \"snomed\", code = \"19169002\" }");
        assert_eq!(severity_of(&a, Kind::Pregnancy), None, "{:?}", kinds(&a));
    }

    /// Issue 14, part 5: a patient of other or unknown sex is assessed;
    /// the equations take the lower (female) estimate and the rules for one
    /// sex say what they could not decide.
    #[test]
    fn other_or_unknown_sex_runs_every_check_that_does_not_need_it() {
        let a = run(
            "[patient]\nage = 70\nsex = \"unknown\"\nweight_kg = 72\n[labs]\ncreatinine_mg_dl = 1.0\nqtc_ms = 460\n[[proposed]]\ndrug = \"citalopram\"\n",
        );
        // (140 - 70) x 72 / (72 x 1.0) = 70, x 0.85 = 59.5.
        assert_eq!(a.derived.crcl_ml_min, Some(59.5));
        let sex = a
            .not_checked
            .iter()
            .find(|n| n.what == "sex")
            .expect("the sex line");
        assert!(sex.reason.contains("female equations"), "{}", sex.reason);
        assert!(
            a.not_checked
                .iter()
                .any(|n| n.drug == "citalopram" && n.reason.contains("sex (recorded as unknown)")),
            "{:?}",
            a.not_checked
        );
    }
}
