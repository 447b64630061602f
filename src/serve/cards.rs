//! An assessment -> CDS Hooks cards: one card per flag, plus an info card
//! for what could not be checked or imported.

use crate::clinical::{Flag, Indicator};
use crate::kb::Kb;
use crate::pipeline::Assessment;
use crate::vocab::text::{markdown as md, visible_line};
use serde_json::{json, Value};

/// CDS Hooks: "One-sentence, <140-character summary message".
pub const SUMMARY_MAX_CHARS: usize = 139;

/// Truncates on a character boundary, ending with "…" when cut.
pub fn truncate(s: &str, max_chars: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let cut: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// Text for a card's plain-text fields (`summary`, suggestion labels):
/// one line, control characters shown.
fn plain(text: &str) -> String {
    visible_line(text).into_owned()
}

/// A flag's card summary: severity, kind and drugs first, then the
/// flag's own summary, so cutting to the 140-character limit can only
/// shorten the explanation, never drop which drug is flagged and how
/// badly.
fn flag_summary(f: &Flag) -> String {
    plain(&format!(
        "{} {}: {}: {}",
        f.severity.as_str().to_uppercase(),
        f.kind.as_str(),
        f.drugs.join(" + "),
        f.summary
    ))
}

/// A random (version 4) uuid for cards and suggestions.
pub fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn indicator(i: Indicator) -> &'static str {
    match i {
        Indicator::Info => "info",
        Indicator::Warning => "warning",
        Indicator::Critical => "critical",
    }
}

const KB_LABEL: &str = "rxguide knowledge base";

/// The card for one flag.
pub fn flag_card(f: &Flag, kb: &Kb) -> Value {
    let mut detail = format!(
        "**{}** ({}; {}{})\n\n{}",
        f.severity.as_str().to_uppercase(),
        f.kind.as_str(),
        md(&f.drugs.join(" + ")),
        f.evidence
            .map_or(String::new(), |e| format!("; evidence: {e}")),
        md(&f.summary)
    );
    if !f.detail.is_empty() {
        detail.push_str(&format!("\n\n{}", md(&f.detail)));
    }
    if !f.suggestion.is_empty() {
        detail.push_str(&format!("\n\n**Suggestion:** {}", md(&f.suggestion)));
    }
    detail.push_str("\n\n**Sources:**\n");
    for id in &f.sources {
        match kb.passage(id) {
            Some(p) => {
                let title = match &p.url {
                    Some(u) => format!("[{}](<{}>)", md(&p.title), plain(u)),
                    None => md(&p.title),
                };
                detail.push_str(&format!("- {title}: {} (`{}`)\n", md(&p.source), plain(id)));
            }
            None => detail.push_str(&format!("- `{}`\n", plain(id))),
        }
    }
    let source = f
        .sources
        .iter()
        .find_map(|id| kb.passage(id))
        .map(|p| {
            let mut s = json!({ "label": truncate(&p.source, 200) });
            if let Some(u) = &p.url {
                s["url"] = Value::from(u.clone());
            }
            s
        })
        .unwrap_or_else(|| json!({ "label": KB_LABEL }));
    let mut card = json!({
        "uuid": uuid_v4(),
        "summary": truncate(&flag_summary(f), SUMMARY_MAX_CHARS),
        "indicator": indicator(f.indicator),
        "detail": detail,
        "source": source,
    });
    if !f.suggestion.is_empty() {
        // No `actions`: CDS Hooks forbids an empty array, and rxguide does
        // not yet write the orders a suggestion would create or delete.
        card["suggestions"] = json!([{
            "label": plain(&f.suggestion),
            "uuid": uuid_v4(),
            "isRecommended": false,
        }]);
        card["selectionBehavior"] = Value::from("at-most-one");
    }
    card
}

/// The info card for what could not be checked or imported; `None` when
/// there is nothing to say.
pub fn gaps_card(a: &Assessment, not_imported: &[String]) -> Option<Value> {
    if a.not_checked.is_empty() && not_imported.is_empty() {
        return None;
    }
    let mut detail = String::new();
    if !a.not_checked.is_empty() {
        detail.push_str("**Not checked** (missing or unrecognised input):\n\n");
        for n in &a.not_checked {
            detail.push_str(&format!(
                "- {} {}: {}\n",
                md(&n.drug),
                md(&n.what),
                md(&n.reason)
            ));
        }
    }
    if !not_imported.is_empty() {
        if !detail.is_empty() {
            detail.push('\n');
        }
        detail.push_str("**Not imported** (in the request but not used by any rule):\n\n");
        for l in not_imported {
            detail.push_str(&format!("- {}\n", md(l)));
        }
    }
    let summary = match (a.not_checked.len(), not_imported.len()) {
        (0, m) => format!("rxguide: {m} item(s) of the record not imported"),
        (n, 0) => format!("rxguide: {n} check(s) not done (missing data)"),
        (n, m) => format!("rxguide: {n} check(s) not done, {m} item(s) not imported"),
    };
    Some(kb_info_card(&summary, detail))
}

/// An info card from the knowledge base (not a flag).
fn kb_info_card(summary: &str, detail: String) -> Value {
    json!({
        "uuid": uuid_v4(),
        "summary": truncate(summary, SUMMARY_MAX_CHARS),
        "indicator": "info",
        "detail": detail,
        "source": { "label": KB_LABEL },
    })
}

/// The model's grounded answer as an info card: the text with each
/// sentence's support mark. It is advice beside the flag cards, never one.
pub fn answer_card(g: &crate::answer::Grounded) -> Value {
    use crate::llm::check::Support;
    let s = &g.check.summary;
    let mut detail = String::from(
        "_Generated by a language model from the flags and the retrieved passages; the flag cards above are the deterministic result._\n\n",
    );
    for sentence in &g.check.sentences {
        let mark = match (&sentence.conflict, sentence.support) {
            (Some(c), _) => format!("**conflicts with the {} flag on {}**", c.severity, c.drug),
            (None, Support::Supported) => "supported".into(),
            (None, Support::Uncited) => "no citation".into(),
            (None, Support::WrongCitation) => "cites a source that was not retrieved".into(),
            (None, Support::UnsupportedClaim) => format!(
                "unsupported claim: {}",
                sentence.unsupported_claim.as_deref().unwrap_or("?")
            ),
        };
        detail.push_str(&format!(
            "- {} _({})_\n",
            md(sentence.text.trim()),
            md(&mark)
        ));
    }
    let summary = format!(
        "Model advice ({}): {} of {} sentence(s) supported, {} conflict(s)",
        g.generation.stats.model, s.supported, s.sentences, s.conflicts
    );
    json!({
        "uuid": uuid_v4(),
        "summary": truncate(&summary, SUMMARY_MAX_CHARS),
        "indicator": "info",
        "detail": detail,
        "source": { "label": format!("rxguide grounded answer, {} backend", g.generation.stats.backend) },
    })
}

/// Said when the model could not answer in time or failed: the flags stand.
pub fn answer_missing_card(why: &str) -> Value {
    json!({
        "uuid": uuid_v4(),
        "summary": truncate(&format!("No model advice: {why}"), SUMMARY_MAX_CHARS),
        "indicator": "info",
        "detail": "The flag cards are complete without it.",
        "source": { "label": KB_LABEL },
    })
}

/// The pharmacist's note as an info card, when it says more than
/// "proceed": the decision per proposed drug and the alternatives,
/// re-checked for this patient.
pub fn note_card(note: &crate::note::Note) -> Option<Value> {
    use crate::note::Decision;
    let changes: Vec<&crate::note::DrugNote> = note
        .drugs
        .iter()
        .filter(|d| d.decision != Decision::Proceed || !d.not_checked.is_empty())
        .collect();
    let first = changes.first()?;
    let mut detail = format!("_{}_\n\n", crate::note::HEADING);
    for l in note.lines() {
        // an indented code block: shown as written, so only kept to one line
        detail.push_str(&format!("    {}\n", plain(&l)));
    }
    let summary = match changes.len() {
        1 => format!("rxguide: {}", plain(&first.headline)),
        n => format!(
            "rxguide: {n} proposed drugs need a change; first: {}",
            plain(&first.headline)
        ),
    };
    Some(kb_info_card(&summary, detail))
}

/// The warning card for parts of the record the EHR did not send (a
/// prefetch missing, `null` or an OperationOutcome) or a request about
/// another patient: each line says what went unchecked. `None` when the
/// record is whole.
pub fn record_gaps_card(lines: &[String]) -> Option<Value> {
    let first = lines.first()?;
    let mut detail = String::from(
        "**Part of the record was not sent**; silence below does not mean these were checked:\n\n",
    );
    for l in lines {
        detail.push_str(&format!("- {}\n", md(l)));
    }
    let summary = match lines.len() {
        1 => format!("rxguide: {}", plain(first)),
        n => format!("rxguide: {n} parts of the record missing; checks not done"),
    };
    let mut card = kb_info_card(&summary, detail);
    card["indicator"] = Value::from("warning");
    Some(card)
}

/// Every card for an assessment: the flags, most serious first, then what
/// the EHR did not send, the pharmacist's note and what could not be
/// checked.
pub fn cards(a: &Assessment, kb: &Kb, note: &crate::note::Note, gaps: &super::Gaps) -> Vec<Value> {
    let mut out: Vec<Value> = a.flags.iter().map(|f| flag_card(f, kb)).collect();
    out.extend(record_gaps_card(&gaps.record));
    out.extend(note_card(note));
    out.extend(gaps_card(a, &gaps.not_imported));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries_and_limit() {
        let s = "é".repeat(300);
        let t = truncate(&s, SUMMARY_MAX_CHARS);
        assert_eq!(t.chars().count(), SUMMARY_MAX_CHARS);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
    }

    #[test]
    fn uuids_are_distinct_v4() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
