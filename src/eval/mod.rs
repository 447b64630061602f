//! `rxguide eval`: every case under each condition (RAG on / off), scored
//! the way the seed paper's case study compares arms, with numbers a script
//! can read.
//!
//! Metrics, per condition:
//! - expected-flag mention recall: of the flags a case expects (its
//!   `[expect]` table, or the engine's moderate-or-worse flags when it has
//!   none), the share the answer mentions: one of the flag's drugs by name
//!   (generic, synonym or brand) and a word of the flag's kind (e.g.
//!   kidney/renal/eGFR for `renal`);
//! - conflict rate: answers that recommend a drug a contraindicated/major
//!   flag covers without acknowledging it;
//! - citation validity: cited ids that were among the retrieved ones;
//! - unsupported-sentence rate: sentences not supported by a retrieved id;
//! - mean latency, first-token latency and decode tokens/s.

use crate::answer::{answer, Ask, Grounded};
use crate::clinical::{Flag, Kind, Severity};
use crate::intake::{Case, ExpectedFlag};
use crate::kb::Kb;
use crate::llm::Generator;
use crate::pipeline::assess;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// One answer and how it scored.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerRecord {
    pub case: String,
    pub condition: String,
    pub rag: bool,
    pub backend: String,
    pub model: String,
    pub question: String,
    pub answer: String,
    pub expected: Vec<ExpectedFlag>,
    /// Parallel to `expected`: whether the answer mentions that flag.
    pub mentioned: Vec<bool>,
    pub grounded: Grounded,
}

/// Totals for one condition.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ConditionSummary {
    pub condition: String,
    pub backend: String,
    pub model: String,
    pub cases: usize,
    pub expected_flags: usize,
    pub mentioned_flags: usize,
    pub mention_recall: Option<f64>,
    pub answers_with_conflict: usize,
    pub conflict_rate: Option<f64>,
    /// Answers whose stance on every assessed proposed drug agrees with
    /// the pharmacist's note's decision ([`decision_agrees`]).
    pub decisions_agreed: usize,
    pub decision_agreement: Option<f64>,
    /// Answers stopped because they repeated a sentence.
    pub answers_repeating: usize,
    pub repetition_rate: Option<f64>,
    pub citations: usize,
    pub valid_citations: usize,
    pub citation_validity: Option<f64>,
    pub sentences: usize,
    pub unsupported_sentences: usize,
    pub unsupported_rate: Option<f64>,
    pub mean_latency_ms: Option<f64>,
    pub mean_first_token_ms: Option<f64>,
    pub mean_tokens_per_s: Option<f64>,
    pub errors: Vec<String>,
}

/// Words that show an answer talks about a flag of this kind.
pub fn kind_words(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Interaction => &[
            "interact",
            "together",
            "combin",
            "concomitant",
            "with",
            "bleed",
            "serotonin",
            "level",
        ],
        Kind::Renal => &["kidney", "renal", "egfr", "crcl", "creatinine", "clearance"],
        Kind::Hepatic => &["liver", "hepat", "cirrho"],
        Kind::Allergy => &[
            "allerg",
            "anaphyla",
            "hypersensitiv",
            "cross-react",
            "reaction",
        ],
        Kind::Pregnancy => &[
            "pregnan",
            "fetal",
            "foetal",
            "fetus",
            "trimester",
            "teratogen",
        ],
        Kind::Lactation => &[
            "breastfeed",
            "breast-feed",
            "lactat",
            "breast milk",
            "nursing",
            "infant",
        ],
        Kind::Beers => &["older", "elderly", "age", "beers", "geriatric", "falls"],
        Kind::Duplicate => &["duplicat", "already", "both", "same", "twice"],
        Kind::Dose => &["dose", "maximum", "mg", "exceed", "too high"],
        Kind::Lab => &["potassium", "qt", "inr", "platelet", "sodium", "alt", "lab"],
        Kind::Condition => &[
            "asthma",
            "heart failure",
            "contraindicat",
            "disease",
            "condition",
            "worsen",
        ],
        Kind::Pediatric => &[
            "child",
            "children",
            "pediatric",
            "paediatric",
            "years old",
            "under 12",
            "mg/kg",
        ],
        Kind::Combination => &[
            "together",
            "combination",
            "triple",
            "kidney injury",
            "respiratory depression",
            "qt",
            "additive",
        ],
        Kind::Pharmacogenomic => &[
            "metaboli",
            "genotype",
            "cyp2c19",
            "cyp2d6",
            "hla-b",
            "allele",
            "pharmacogen",
        ],
        Kind::UnknownDrug => &[
            "not recogni",
            "unknown",
            "not in",
            "spelling",
            "check the name",
        ],
    }
}

/// Whether `answer` mentions the expected flag (see the module docs).
pub fn mentions(answer: &str, expected: &ExpectedFlag, kb: &Kb) -> bool {
    let text = answer.to_lowercase();
    let drug_named = expected.drugs.is_empty()
        || expected.drugs.iter().any(|d| {
            let mut names = vec![d.to_lowercase()];
            if let Some(id) = kb.lookup(d) {
                let drug = kb.drug(id);
                names.push(drug.name.clone());
                names.extend(
                    drug.synonyms
                        .iter()
                        .chain(&drug.brands)
                        .map(|s| s.to_lowercase()),
                );
            }
            names
                .iter()
                .any(|n| crate::clinical::rules::contains_term(&text, n))
        });
    drug_named && kind_words(expected.kind).iter().any(|w| text.contains(w))
}

/// The flags a case expects: its `[expect]` table, else the engine's
/// moderate-or-worse flags.
pub fn expected_flags(case: &Case, flags: &[Flag]) -> Vec<ExpectedFlag> {
    match &case.expect {
        Some(e) => e.flags.clone(),
        None => flags
            .iter()
            .filter(|f| f.severity >= Severity::Moderate)
            .map(|f| ExpectedFlag {
                kind: f.kind,
                drugs: f.drugs.clone(),
                severity: Some(f.severity),
            })
            .collect(),
    }
}

pub fn condition_name(rag: bool) -> &'static str {
    if rag {
        "rag-on"
    } else {
        "rag-off"
    }
}

/// Whether an answer's stance on each proposed drug the rules assessed
/// agrees with the pharmacist's note: avoid / choose an alternative need a
/// refusal; a dose change or proceed must not refuse it (nor say both).
pub fn decision_agrees(answer: &str, note: &crate::note::Note, kb: &Kb) -> bool {
    use crate::llm::check::{stance, Stance};
    use crate::note::Decision;
    note.drugs.iter().all(|d| {
        let Some(generic) = &d.generic else {
            return true;
        };
        let mut names: Vec<String> = vec![d.drug.to_lowercase()];
        names.extend(generic.split(" + ").flat_map(|g| kb.names_of(g)));
        let said = stance(answer, &names);
        match d.decision {
            Decision::Avoid | Decision::ChooseAlternative => said == Stance::Rejects,
            Decision::DoseChange | Decision::ProceedWithMonitoring | Decision::Proceed => {
                !matches!(said, Stance::Rejects | Stance::Mixed)
            }
            Decision::NotAssessed => true,
        }
    })
}

/// Runs every case under each condition. `progress` is told about each
/// answer as it finishes.
pub async fn run(
    generator: &dyn Generator,
    kb: &Kb,
    cases: &[Case],
    conditions: &[bool],
    max_tokens: usize,
    mut progress: impl FnMut(&str),
) -> (Vec<AnswerRecord>, Vec<ConditionSummary>) {
    let mut records = Vec::new();
    let mut summaries = Vec::new();
    for &rag in conditions {
        let mut summary = ConditionSummary {
            condition: condition_name(rag).into(),
            backend: generator.name().into(),
            model: generator.model(),
            ..Default::default()
        };
        let mut latencies = Vec::new();
        let mut first = Vec::new();
        let mut rates = Vec::new();
        for case in cases {
            let a = assess(kb, case);
            let note = crate::note::write(kb, &a);
            let question = crate::pipeline::default_question(case);
            match answer(
                generator,
                &a,
                kb,
                &note,
                Ask {
                    rag,
                    question: Some(&question),
                    max_tokens,
                },
                CancellationToken::new(),
                |_| {},
            )
            .await
            {
                Ok(g) => {
                    let expected = expected_flags(case, &a.flags);
                    let mentioned: Vec<bool> = expected
                        .iter()
                        .map(|e| mentions(&g.generation.text, e, kb))
                        .collect();
                    let s = &g.check.summary;
                    summary.cases += 1;
                    summary.expected_flags += expected.len();
                    summary.mentioned_flags += mentioned.iter().filter(|m| **m).count();
                    summary.answers_with_conflict += usize::from(s.conflicts > 0);
                    summary.decisions_agreed +=
                        usize::from(decision_agrees(&g.generation.text, &note, kb));
                    summary.answers_repeating += usize::from(
                        g.generation.stats.finish == crate::llm::FinishReason::Repetition,
                    );
                    summary.citations += s.citations;
                    summary.valid_citations += s.valid_citations;
                    summary.sentences += s.sentences;
                    summary.unsupported_sentences += s.sentences - s.supported;
                    latencies.push(g.generation.stats.total_ms);
                    first.extend(g.generation.stats.first_token_ms);
                    rates.extend(g.generation.stats.decode_tokens_per_s);
                    progress(&format!(
                        "{} {}: {} tokens, {} sentences, {} conflicts",
                        condition_name(rag),
                        case.id,
                        g.generation.stats.completion_tokens,
                        s.sentences,
                        s.conflicts
                    ));
                    records.push(AnswerRecord {
                        case: case.id.clone(),
                        condition: condition_name(rag).into(),
                        rag,
                        backend: g.generation.stats.backend.clone(),
                        model: g.generation.stats.model.clone(),
                        question,
                        answer: g.generation.text.clone(),
                        expected,
                        mentioned,
                        grounded: g,
                    });
                }
                Err(e) => {
                    progress(&format!("{} {}: error: {e}", condition_name(rag), case.id));
                    summary.errors.push(format!("{}: {e}", case.id));
                }
            }
        }
        let ratio = |n: usize, d: usize| (d > 0).then(|| n as f64 / d as f64);
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        summary.mention_recall = ratio(summary.mentioned_flags, summary.expected_flags);
        summary.conflict_rate = ratio(summary.answers_with_conflict, summary.cases);
        summary.repetition_rate = ratio(summary.answers_repeating, summary.cases);
        summary.decision_agreement = ratio(summary.decisions_agreed, summary.cases);
        summary.citation_validity = ratio(summary.valid_citations, summary.citations);
        summary.unsupported_rate = ratio(summary.unsupported_sentences, summary.sentences);
        summary.mean_latency_ms = mean(&latencies);
        summary.mean_first_token_ms = mean(&first);
        summary.mean_tokens_per_s = mean(&rates);
        summaries.push(summary);
    }
    (records, summaries)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.0}%", v * 100.0))
}

fn num(v: Option<f64>, unit: &str) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}{unit}"))
}

/// A Markdown table with one row per condition.
pub fn markdown(summaries: &[ConditionSummary]) -> String {
    let mut s = String::from(
        "| condition | backend / model | cases | decision agreement | flag mention recall | conflict rate | stopped on a repeat | citation validity | unsupported sentences | mean latency | first token | decode |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in summaries {
        s.push_str(&format!(
            "| {} | {} / {} | {} | {} ({}/{}) | {} ({}/{}) | {} ({}/{}) | {} ({}/{}) | {} ({}/{}) | {} ({}/{}) | {} | {} | {} |\n",
            c.condition,
            c.backend,
            c.model,
            c.cases,
            pct(c.decision_agreement),
            c.decisions_agreed,
            c.cases,
            pct(c.mention_recall),
            c.mentioned_flags,
            c.expected_flags,
            pct(c.conflict_rate),
            c.answers_with_conflict,
            c.cases,
            pct(c.repetition_rate),
            c.answers_repeating,
            c.cases,
            pct(c.citation_validity),
            c.valid_citations,
            c.citations,
            pct(c.unsupported_rate),
            c.unsupported_sentences,
            c.sentences,
            num(c.mean_latency_ms.map(|v| v / 1000.0), " s"),
            num(c.mean_first_token_ms.map(|v| v / 1000.0), " s"),
            num(c.mean_tokens_per_s, " tok/s"),
        ));
        for e in &c.errors {
            s.push_str(&format!("\nerror: {e}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::Sources;

    #[test]
    fn decision_agreement_follows_the_note() {
        let kb = crate::kb::bundled_for_tests();
        let case = |proposed: &str, labs: &str| {
            let text = format!(
                "[patient]\nage = 74\nsex = \"female\"\nweight_kg = 58\nheight_cm = 160\n{labs}[[proposed]]\ndrug = \"{proposed}\"\n"
            );
            let a =
                crate::pipeline::assess(kb, &crate::intake::parse_case(&text, "t").expect("case"));
            crate::note::write(kb, &a)
        };
        let ckd = case("metformin", "[labs]\ncreatinine_mg_dl = 2.1\n");
        assert!(decision_agrees(
            "Do not start metformin [metformin-label-renal].",
            &ckd,
            kb
        ));
        assert!(!decision_agrees(
            "Start metformin 500 mg twice daily.",
            &ckd,
            kb
        ));
        // Saying nothing about the drug is not agreeing with "avoid".
        assert!(!decision_agrees("Check the kidneys.", &ckd, kb));
        let fine = case("amoxicillin", "");
        assert!(decision_agrees("Amoxicillin can be used.", &fine, kb));
        assert!(!decision_agrees(
            "The prescriber should not start amoxicillin for this patient.",
            &fine,
            kb
        ));
    }

    #[test]
    fn mention_needs_drug_and_kind_word() {
        let sources = Sources::bundled();
        let kb = Kb::link(sources.parse().expect("parses"), sources.hash()).expect("links");
        let e = ExpectedFlag {
            kind: Kind::Renal,
            drugs: vec!["metformin".into()],
            severity: Some(Severity::Contraindicated),
        };
        assert!(mentions(
            "Do not start Glucophage: her eGFR is 24.",
            &e,
            &kb
        ));
        assert!(!mentions("Metformin is a good first-line choice.", &e, &kb));
        assert!(!mentions("Her kidney function is poor.", &e, &kb));
    }
}
