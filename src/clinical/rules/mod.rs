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
//! | dose | [`dose`] | `[[dose]]` |

pub mod allergy;
pub mod dose;
pub mod duplicate;
pub mod interaction;
pub mod state;
pub mod unknown;

use super::{Derived, Flag, Kind, NotChecked, Severity};
use crate::intake::{Case, MedicationOrder};
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
        Context {
            kb,
            case,
            derived,
            proposed,
            current,
            orders,
        }
    }

    pub fn name(&self, id: DrugId) -> &str {
        &self.kb.drug(id).name
    }

    /// Known proposed drugs.
    pub fn proposed_ids(&self) -> impl Iterator<Item = (usize, DrugId)> + '_ {
        self.proposed
            .iter()
            .filter_map(|r| r.id.map(|id| (r.index, id)))
    }

    /// Every known drug other than proposed entry `index`: current
    /// medicines and the other proposed drugs.
    pub fn others(&self, index: usize) -> impl Iterator<Item = &Resolved<'a>> + '_ {
        self.current
            .iter()
            .chain(self.proposed.iter().filter(move |r| r.index != index))
            .filter(|r| r.id.is_some())
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
    pub summary: String,
    pub detail: String,
    pub suggestion: String,
    pub sources: Vec<String>,
    pub rule: String,
    pub inputs: Vec<String>,
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
            summary: f.summary,
            detail: f.detail,
            suggestion: f.suggestion,
            sources: f.sources,
            rules: vec![f.rule],
            inputs: f.inputs,
        };
        match self.flags.get_mut(&key) {
            None => {
                self.flags.insert(key, new);
            }
            Some(old) => {
                let (mut keep, other) = if new.severity > old.severity {
                    (new, old.clone())
                } else {
                    (old.clone(), new)
                };
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

    /// Flags, most serious first (then by kind and drugs, for stable output).
    pub fn into_flags(self) -> (Vec<Flag>, Vec<NotChecked>, Vec<String>) {
        let mut flags: Vec<Flag> = self.flags.into_values().collect();
        flags.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
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
    unknown::check(ctx, &mut out);
    interaction::check(ctx, &mut out);
    state::check(ctx, &mut out);
    allergy::check(ctx, &mut out);
    duplicate::check(ctx, &mut out);
    dose::check(ctx, &mut out);
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
    use crate::kb::Sources;
    use crate::pipeline::{assess, Assessment};
    use std::sync::OnceLock;

    /// The bundled kb: these tests are about what real records say.
    fn run(case: &str) -> Assessment {
        static KB: OnceLock<Kb> = OnceLock::new();
        let kb = KB.get_or_init(|| {
            let s = Sources::bundled();
            Kb::link(s.parse().expect("parses"), s.hash()).expect("links")
        });
        assess(kb, &parse_case(case, "t").expect("valid case"))
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

    #[test]
    fn fill_placeholders() {
        assert_eq!(fill("{a} with {b}", &[("a", "x"), ("b", "y")]), "x with y");
    }
}
