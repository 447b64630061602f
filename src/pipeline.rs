//! The whole deterministic pipeline in one call: derived values, rules,
//! retrieval. The TUI, `check`, `ask`, `eval` and `serve` all use this.

use crate::clinical::rules::{self, Context};
use crate::clinical::{Derived, Flag, NotChecked};
use crate::intake::Case;
use crate::kb::conditions::ConditionReading;
use crate::kb::rxname::Route;
use crate::kb::{Kb, Via};
use crate::trace::{Stage, Trace};
use serde::Serialize;

/// Passages retrieved beyond the ones the flags cite.
pub const TOP_K: usize = 6;

/// How a typed drug name was matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrugMatch {
    pub typed: String,
    /// The generic name, or several joined with " + " for a product the
    /// kb has no combined record for.
    pub generic: Option<String>,
    pub proposed: bool,
    /// How the name was matched: `name`, `ingredients`, `brand` or `none`.
    pub via: Via,
    /// Ingredient phrases of the name that matched nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<String>,
    /// Words of the name not used to match (a misspelt salt word).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// The route the name gives ("oral", "injection"), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
}

impl DrugMatch {
    /// The trace line for this match.
    pub fn describe(&self) -> String {
        let typed = &self.typed;
        let mut line = match (&self.generic, self.via) {
            (None, _) => format!("drug \"{typed}\" NOT recognised"),
            (Some(g), Via::Name) if g.eq_ignore_ascii_case(typed) => {
                format!("drug \"{typed}\" recognised")
            }
            (Some(g), Via::Name) => format!("drug \"{typed}\" recognised as {g}"),
            (Some(g), via) => format!("drug \"{typed}\" recognised as {g} (by {})", via.as_str()),
        };
        if !self.unmatched.is_empty() {
            line.push_str(&format!("; NOT recognised: {}", self.unmatched.join(", ")));
        }
        if !self.ignored.is_empty() {
            line.push_str(&format!("; ignored: {}", self.ignored.join(", ")));
        }
        if let Some(r) = self.route {
            line.push_str(&format!("; route {}", r.as_str()));
        }
        line
    }
}

/// A passage put in front of the user (and the model).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassageHit {
    pub id: String,
    pub score: f64,
    pub title: String,
    /// Whether a flag cites it.
    pub cited: bool,
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub case: Case,
    pub derived: Derived,
    pub flags: Vec<Flag>,
    pub not_checked: Vec<NotChecked>,
    pub passages: Vec<PassageHit>,
    pub drugs: Vec<DrugMatch>,
    /// The patient's conditions as the vocabulary read them.
    pub conditions: Vec<ConditionReading>,
    /// The retrieval query, as sent to the index.
    pub query: String,
    pub trace: Trace,
}

/// Runs derived values, rules and retrieval for a validated case.
pub fn assess(kb: &Kb, case: &Case) -> Assessment {
    let mut trace = Trace::default();
    trace.push(
        Stage::Intake,
        format!(
            "case `{}`: {}; {} current medicine(s), {} proposed, {} allerg(ies), {} condition(s)",
            case.id,
            case.patient_summary(),
            case.medications.len(),
            case.proposed.len(),
            case.allergies.len(),
            case.conditions.len()
        ),
    );
    let derived = Derived::compute(case);
    for c in &derived.calculations {
        trace.push(
            Stage::Derived,
            format!("{} = {}  [{}; {}]", c.name, c.result, c.formula, c.inputs),
        );
    }
    if derived.crcl_ml_min.is_none() {
        trace.push(
            Stage::Derived,
            "CrCl not computed: needs serum creatinine, weight and age >= 18",
        );
    }
    if derived.egfr_ml_min_1_73m2.is_none() {
        trace.push(
            Stage::Derived,
            "eGFR not available: no serum creatinine or reported eGFR",
        );
    }

    let ctx = Context::new(kb, case, &derived);
    let drugs: Vec<DrugMatch> = ctx
        .orders
        .iter()
        .map(|m| {
            let r = &m.resolution;
            DrugMatch {
                typed: m.order.drug.clone(),
                generic: kb.generic_of(r),
                proposed: m.proposed,
                via: r.via,
                unmatched: if r.ids.is_empty() {
                    Vec::new()
                } else {
                    r.unmatched.clone()
                },
                ignored: r.ignored.clone(),
                route: r.route,
            }
        })
        .collect();
    for d in &drugs {
        trace.push(Stage::Rules, d.describe());
    }
    for c in &ctx.conditions {
        trace.push(Stage::Rules, c.describe());
    }
    let conditions = ctx.conditions.clone();
    let findings = rules::evaluate(&ctx);
    let (mut flags, not_checked, fired) = findings.into_flags();
    for f in &mut flags {
        f.evidence = kb.evidence(
            &f.sources,
            f.severity == crate::clinical::Severity::Contraindicated,
        );
    }
    for f in fired {
        trace.push(Stage::Rules, f);
    }
    for n in &not_checked {
        trace.push(
            Stage::Rules,
            format!("not checked: {} {}: {}", n.drug, n.what, n.reason),
        );
    }
    trace.push(Stage::Rules, format!("{} flag(s)", flags.len()));

    let (query, boost) = retrieval_query(case, &drugs, &flags);
    let mut hits = kb.index.search(&query, &boost, TOP_K);
    let cited: Vec<String> =
        flags
            .iter()
            .flat_map(|f| f.sources.iter().cloned())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
    for h in kb.index.score_of(&query, &boost, &cited) {
        if !hits.iter().any(|x| x.id == h.id) {
            hits.push(h);
        }
    }
    // Passages the flags cite first (they are the evidence), then the rest
    // by score.
    hits.sort_by(|a, b| {
        cited
            .contains(&b.id)
            .cmp(&cited.contains(&a.id))
            .then(b.score.total_cmp(&a.score))
            .then_with(|| a.id.cmp(&b.id))
    });
    let passages: Vec<PassageHit> = hits
        .into_iter()
        .map(|h| PassageHit {
            title: kb
                .passage(&h.id)
                .map(|p| p.title.clone())
                .unwrap_or_default(),
            cited: cited.contains(&h.id),
            id: h.id,
            score: h.score,
        })
        .collect();
    trace.push(
        Stage::Retrieval,
        format!("BM25 query: \"{query}\" (boost: {})", boost.join(", ")),
    );
    for p in &passages {
        trace.push(
            Stage::Retrieval,
            format!(
                "{:>6.2}  {}{}",
                p.score,
                p.id,
                if p.cited { "  (cited by a flag)" } else { "" }
            ),
        );
    }
    Assessment {
        case: case.clone(),
        derived,
        flags,
        not_checked,
        passages,
        drugs,
        conditions,
        query,
        trace,
    }
}

/// The retrieval query for a case: drug names, conditions, and what the
/// flags are about; case drugs are boosted.
pub fn retrieval_query(case: &Case, drugs: &[DrugMatch], flags: &[Flag]) -> (String, Vec<String>) {
    let mut words: Vec<String> = Vec::new();
    let mut boost = Vec::new();
    for d in drugs {
        let name = d.generic.clone().unwrap_or_else(|| d.typed.to_lowercase());
        if d.generic.is_some() && d.proposed {
            boost.push(name.clone());
        }
        words.push(name);
    }
    words.extend(case.conditions.iter().map(|c| c.text.clone()));
    words.extend(case.proposed.iter().filter_map(|p| p.indication.clone()));
    for f in flags {
        words.push(f.kind.as_str().to_string());
    }
    if case.patient.pregnant {
        words.push("pregnancy".into());
    }
    if case.patient.breastfeeding {
        words.push("lactation breastfeeding".into());
    }
    if case.patient.age >= 65.0 {
        words.push("older adults".into());
    }
    words.dedup();
    (words.join(" "), boost)
}

/// The default question put to the model for a case.
pub fn default_question(case: &Case) -> String {
    if case.proposed.is_empty() {
        return "Review this patient's current medicines: which of them need a change, and why?"
            .to_string();
    }
    let drugs: Vec<&str> = case.proposed.iter().map(|p| p.drug.as_str()).collect();
    format!(
        "Should {} be started for this patient? Say what the prescriber should do and why.",
        drugs.join(" and ")
    )
}

/// One line per part of the intake, for the model and for notes.
pub fn patient_lines(case: &Case) -> String {
    use crate::intake::fmt_num;
    let mut parts = vec![case.patient_summary()];
    let l = &case.labs;
    let labs: Vec<String> = crate::intake::LabKind::ALL
        .iter()
        .filter_map(|&k| {
            l.get(k)
                .map(|v| format!("{} {} {}", k.name(), fmt_num(v), k.unit()))
        })
        .map(|s| s.trim().to_string())
        .collect();
    if !labs.is_empty() {
        parts.push(format!("Labs: {}", labs.join(", ")));
    }
    let orders = |list: &[crate::intake::MedicationOrder]| {
        list.iter()
            .map(|m| {
                let mut s = m.drug.clone();
                if let Some(d) = &m.dose {
                    s.push_str(&format!(" {}", d.text));
                }
                if let Some(f) = &m.frequency {
                    s.push_str(&format!(" {}", f.text));
                }
                s
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !case.allergies.is_empty() {
        let a: Vec<String> = case
            .allergies
            .iter()
            .map(|a| match &a.reaction {
                Some(r) => format!("{} ({r})", a.substance),
                None => a.substance.clone(),
            })
            .collect();
        parts.push(format!("Allergies: {}", a.join(", ")));
    }
    if !case.medications.is_empty() {
        parts.push(format!("Current medicines: {}", orders(&case.medications)));
    }
    parts.push(format!("Proposed: {}", orders(&case.proposed)));
    parts.join("\n")
}

/// What the model is given for this assessment: with `rag`, the flags and
/// the retrieved passages (flag sources first); without, only the patient
/// and the question (the baseline arm).
pub fn prompt_input(
    a: &Assessment,
    kb: &Kb,
    rag: bool,
    question: Option<&str>,
) -> crate::llm::prompt::PromptInput {
    use crate::llm::prompt::{PromptFlag, PromptInput, PromptPassage};
    let d = &a.derived;
    let mut derived = Vec::new();
    if let Some(v) = d.egfr_ml_min_1_73m2 {
        derived.push(("eGFR".to_string(), format!("{v} mL/min/1.73m2")));
    }
    if let Some(v) = d.crcl_ml_min {
        derived.push(("CrCl".to_string(), format!("{v} mL/min")));
    }
    if let Some(v) = d.bmi {
        derived.push(("BMI".to_string(), format!("{v}")));
    }
    PromptInput {
        patient: patient_lines(&a.case),
        derived,
        flags: a
            .flags
            .iter()
            .map(|f| PromptFlag {
                kind: f.kind.as_str().to_string(),
                severity: f.severity.as_str().to_string(),
                drugs: f.drugs.clone(),
                summary: f.summary.clone(),
                sources: f.sources.clone(),
            })
            .collect(),
        passages: a
            .passages
            .iter()
            .filter_map(|h| {
                let p = kb.passage(&h.id)?;
                Some(PromptPassage {
                    id: p.id.clone(),
                    title: p.title.clone(),
                    text: p.text.clone(),
                })
            })
            .collect(),
        question: question.map_or_else(|| default_question(&a.case), str::to_string),
        rag,
        decisions: Vec::new(),
    }
}
