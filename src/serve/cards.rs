//! An assessment -> CDS Hooks cards: one card per flag, plus an info card
//! for what could not be checked or imported.

use crate::clinical::{Flag, Indicator};
use crate::kb::Kb;
use crate::pipeline::Assessment;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// A random (version 4) uuid for cards and suggestions. Uses the standard
/// library's randomly keyed hasher; card ids need uniqueness, not secrecy.
pub fn uuid_v4() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let state = RandomState::new();
    let mut words = [0u64; 2];
    for (i, w) in words.iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write_u64(n);
        h.write_u64(nanos);
        h.write_usize(i);
        *w = h.finish();
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&words[0].to_le_bytes());
    b[8..].copy_from_slice(&words[1].to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
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
        "**{}** ({}; {})\n\n{}",
        f.severity.as_str().to_uppercase(),
        f.kind.as_str(),
        f.drugs.join(" + "),
        f.summary
    );
    if !f.detail.is_empty() {
        detail.push_str(&format!("\n\n{}", f.detail));
    }
    if !f.suggestion.is_empty() {
        detail.push_str(&format!("\n\n**Suggestion:** {}", f.suggestion));
    }
    detail.push_str("\n\n**Sources:**\n");
    for id in &f.sources {
        match kb.passage(id) {
            Some(p) => {
                let title = match &p.url {
                    Some(u) => format!("[{}]({u})", p.title),
                    None => p.title.clone(),
                };
                detail.push_str(&format!("- {title}: {} (`{id}`)\n", p.source));
            }
            None => detail.push_str(&format!("- `{id}`\n")),
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
        "summary": truncate(&f.summary, SUMMARY_MAX_CHARS),
        "indicator": indicator(f.indicator),
        "detail": detail,
        "source": source,
    });
    if !f.suggestion.is_empty() {
        card["suggestions"] = json!([{
            "label": f.suggestion,
            "uuid": uuid_v4(),
            "isRecommended": false,
            "actions": [],
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
            detail.push_str(&format!("- {} {}: {}\n", n.drug, n.what, n.reason));
        }
    }
    if !not_imported.is_empty() {
        if !detail.is_empty() {
            detail.push('\n');
        }
        detail.push_str("**Not imported** (in the request but not used by any rule):\n\n");
        for l in not_imported {
            detail.push_str(&format!("- {l}\n"));
        }
    }
    let summary = match (a.not_checked.len(), not_imported.len()) {
        (0, m) => format!("rxguide: {m} item(s) of the record not imported"),
        (n, 0) => format!("rxguide: {n} check(s) not done (missing data)"),
        (n, m) => format!("rxguide: {n} check(s) not done, {m} item(s) not imported"),
    };
    Some(json!({
        "uuid": uuid_v4(),
        "summary": truncate(&summary, SUMMARY_MAX_CHARS),
        "indicator": "info",
        "detail": detail,
        "source": { "label": KB_LABEL },
    }))
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
        };
        detail.push_str(&format!("- {} _({mark})_\n", sentence.text.trim()));
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

/// Every card for an assessment, most serious first.
pub fn cards(a: &Assessment, kb: &Kb, not_imported: &[String]) -> Vec<Value> {
    let mut out: Vec<Value> = a.flags.iter().map(|f| flag_card(f, kb)).collect();
    out.extend(gaps_card(a, not_imported));
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
