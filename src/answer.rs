//! The grounded answer: assessment -> prompt -> generator -> citation and
//! conflict check. One function for `ask`, `eval`, the TUI and `serve`, so
//! every front end grounds and checks answers the same way. The answer never
//! changes a flag.

use crate::kb::Kb;
use crate::llm::check::{check_answer_with, AnswerCheck, FlagDrugs};
use crate::llm::claims::ClaimFacts;
use crate::llm::prompt::{build, Prompt, PromptOptions};
use crate::llm::repeat::{cut_repeat, first_repeat};
use crate::llm::{
    collect_events, FinishReason, GenEvent, GenRequest, Generation, Generator, LlmError,
};
use crate::note::{Decision, Note};
use crate::pipeline::{prompt_input, Assessment};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Default answer length in tokens (the small model rambles past this),
/// for every front end: `ask`, `eval`, `serve --with-llm` and the app.
pub const DEFAULT_MAX_TOKENS: usize = 160;

/// A generated answer with everything needed to judge it.
#[derive(Debug, Clone, Serialize)]
pub struct Grounded {
    pub rag: bool,
    pub prompt: Prompt,
    pub generation: Generation,
    pub check: AnswerCheck,
}

/// For each contraindicated/major flag, the names (generic, synonyms,
/// brands) of the proposed drugs it covers: recommending one of them without
/// acknowledging the flag is a conflict. Where the pharmacist's note
/// decided a dose change for the drug, a changed dose acknowledges it.
pub fn conflict_targets(a: &Assessment, kb: &Kb, note: &Note) -> Vec<FlagDrugs> {
    use crate::clinical::Severity;
    let proposed: Vec<&str> = a
        .drugs
        .iter()
        .filter(|d| d.proposed)
        .filter_map(|d| d.generic.as_deref())
        .collect();
    let dose_change: Vec<&str> = note
        .drugs
        .iter()
        .filter(|d| d.decision == Decision::DoseChange)
        .filter_map(|d| d.generic.as_deref())
        .collect();
    a.flags
        .iter()
        .filter(|f| f.severity >= Severity::Major)
        .filter_map(|f| {
            let mut generics: Vec<&str> = f
                .drugs
                .iter()
                .map(String::as_str)
                .filter(|d| proposed.contains(d))
                .collect();
            if generics.is_empty() {
                generics = f.drugs.iter().map(String::as_str).collect();
            }
            let dose_change_ok = generics.iter().all(|g| dose_change.contains(g));
            let mut names: Vec<String> = generics.iter().flat_map(|g| kb.names_of(g)).collect();
            names.sort();
            names.dedup();
            (!names.is_empty()).then(|| FlagDrugs {
                severity: f.severity.as_str().to_string(),
                names,
                dose_change_ok,
            })
        })
        .collect()
}

/// The prompt for an assessment (RAG on: flags, passages and the note's
/// decisions as fixed; off: patient and question only).
pub fn prompt_for(
    a: &Assessment,
    kb: &Kb,
    note: &Note,
    rag: bool,
    question: Option<&str>,
) -> Prompt {
    let mut input = prompt_input(a, kb, rag, question);
    if rag {
        input.decisions = note.decisions();
    }
    build(&input, &PromptOptions::default())
}

/// What to ask: with or without retrieval, which question, how long.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub rag: bool,
    /// `None`: [`crate::pipeline::default_question`].
    pub question: Option<&'a str>,
    pub max_tokens: usize,
}

impl Ask<'_> {
    /// The default question with the default length.
    pub fn default_for(rag: bool) -> Ask<'static> {
        Ask {
            rag,
            question: None,
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }
}

/// Checks an answer (whole or streamed so far) against what its prompt
/// made citable and the flags it must not contradict.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    pub citable: Vec<String>,
    pub targets: Vec<FlagDrugs>,
    /// What each cited sentence's numbers and drugs are checked against
    /// (shared: the app clones the checker per answer).
    pub facts: Option<std::sync::Arc<ClaimFacts>>,
}

impl Checker {
    pub fn check(&self, text: &str) -> AnswerCheck {
        check_answer_with(text, &self.citable, &self.targets, self.facts.as_deref())
    }
}

/// The facts an answer's claims may rest on: the patient, derived values,
/// flags and note as the prompt gave them, the citable passages' texts,
/// and every drug name the kb knows (to find drugs a sentence names).
pub fn claim_facts(a: &Assessment, kb: &Kb, note: &Note, citable: &[String]) -> ClaimFacts {
    let mut known = crate::pipeline::patient_lines(&a.case);
    for c in &a.derived.calculations {
        known.push_str(&format!("\n{} = {}", c.name, c.result));
    }
    if let Some(v) = a.derived.egfr_ml_min_1_73m2 {
        known.push_str(&format!("\neGFR {v}"));
    }
    if let Some(v) = a.derived.crcl_ml_min {
        known.push_str(&format!("\nCrCl {v}"));
    }
    for f in &a.flags {
        known.push_str(&format!("\n{} {}", f.drugs.join(" "), f.summary));
    }
    for line in note.lines() {
        known.push_str(&format!("\n{line}"));
    }
    let passages = citable.iter().filter_map(|id| {
        kb.passage(id)
            .map(|p| (id.clone(), format!("{} {}", p.title, p.text)))
    });
    let names = kb
        .name_entries()
        .map(|(name, id)| (name.to_string(), kb.drug(id).name.clone()));
    ClaimFacts::new(&known, passages, names)
}

/// The one answer job: the prompt for an assessment, the generation
/// request (with its token limit), and the checker. `ask`, `eval`,
/// `serve` and the terminal app all run answers through it, so the answer
/// a reviewer scores is the one the pharmacist sees.
#[derive(Debug, Clone)]
pub struct AnswerJob {
    pub rag: bool,
    pub prompt: Prompt,
    pub request: GenRequest,
    pub checker: Checker,
}

impl AnswerJob {
    /// The job for an assessment and the pharmacist's note written for it
    /// ([`crate::note::write`]; the caller has it already, and writing it
    /// re-runs the engine for each alternative).
    pub fn new(a: &Assessment, kb: &Kb, note: &Note, ask: Ask<'_>) -> AnswerJob {
        let prompt = prompt_for(a, kb, note, ask.rag, ask.question);
        let request = GenRequest::new(prompt.messages.clone()).with_max_tokens(ask.max_tokens);
        let checker = Checker {
            citable: prompt.citable_ids.clone(),
            targets: conflict_targets(a, kb, note),
            facts: Some(std::sync::Arc::new(claim_facts(
                a,
                kb,
                note,
                &prompt.citable_ids,
            ))),
        };
        AnswerJob {
            rag: ask.rag,
            prompt,
            request,
            checker,
        }
    }

    /// Generates (until done, the limit, a repeated sentence or `cancel`)
    /// and checks the answer. `on_event` sees every event of the
    /// generation as it happens (loading, each token, done or error), for
    /// front ends that stream; a stop on a repeat is reported as
    /// [`FinishReason::Repetition`] in the `Done` event and the repeat is
    /// cut from the answer ([`crate::llm::repeat`]).
    pub async fn run(
        self,
        generator: &dyn Generator,
        cancel: CancellationToken,
        mut on_event: impl FnMut(&GenEvent) + Send,
    ) -> Result<Grounded, LlmError> {
        let stop = cancel.child_token();
        let mut so_far = String::new();
        let mut repeated = false;
        let mut generation = collect_events(generator, self.request, stop.clone(), |event| {
            match event {
                GenEvent::Token(t) if !repeated => {
                    so_far.push_str(t);
                    if first_repeat(&so_far).is_some() {
                        repeated = true;
                        stop.cancel();
                    }
                }
                // Tokens already under way when the stop came.
                GenEvent::Token(_) => return,
                // The last sentence is complete at the end of the answer.
                GenEvent::Done(stats)
                    if !cancel.is_cancelled()
                        && (repeated || first_repeat(&format!("{so_far} ")).is_some()) =>
                {
                    repeated = true;
                    let mut stats = stats.clone();
                    stats.finish = FinishReason::Repetition;
                    on_event(&GenEvent::Done(stats));
                    return;
                }
                _ => {}
            }
            on_event(event);
        })
        .await?;
        if repeated && !cancel.is_cancelled() {
            generation.text = cut_repeat(&format!("{} ", generation.text)).to_string();
            generation.stats.finish = FinishReason::Repetition;
        }
        let check = self.checker.check(&generation.text);
        Ok(Grounded {
            rag: self.rag,
            prompt: self.prompt,
            generation,
            check,
        })
    }
}

/// Generates and checks an answer. `on_token` sees each streamed piece.
pub async fn answer(
    generator: &dyn Generator,
    a: &Assessment,
    kb: &Kb,
    note: &Note,
    ask: Ask<'_>,
    cancel: CancellationToken,
    mut on_token: impl FnMut(&str) + Send,
) -> Result<Grounded, LlmError> {
    AnswerJob::new(a, kb, note, ask)
        .run(generator, cancel, |event| {
            if let GenEvent::Token(t) = event {
                on_token(t);
            }
        })
        .await
}
