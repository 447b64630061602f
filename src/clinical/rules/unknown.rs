//! A drug name the vocabulary does not know: say so, with the closest
//! known names, so that silence never looks like "no problem".

use super::{Context, Finding, Findings};
use crate::clinical::{Kind, Severity};

/// The passage explaining why an unrecognised name cannot be checked.
pub use crate::vocab::sources::UNKNOWN_DRUG_NAME as SOURCE;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    for r in ctx.proposed.iter().chain(&ctx.current) {
        if r.id.is_some() {
            continue;
        }
        let whole = r.order.drug.trim();
        // Part of a name whose other ingredients matched: name the part.
        let typed = r.unmatched.as_deref().unwrap_or(whole);
        let part_of = match &r.unmatched {
            Some(_) => format!(" (an ingredient of \"{whole}\")"),
            None => String::new(),
        };
        let role = if r.proposed {
            "proposed drug"
        } else {
            "current medicine"
        };
        let (severity, summary, suggestion) = match ctx.kb.did_you_mean(typed) {
            // A near miss of one known drug: most likely a typo, and the
            // drug meant was not checked at all. Said as a warning, never
            // silently taken as that drug.
            Some(meant) => (
                Severity::Moderate,
                format!("\"{typed}\"{part_of} ({role}) is not in the knowledge base: did you mean {meant}? Nothing was checked for it."),
                format!("Correct the name to {meant} (or the drug intended) and check again."),
            ),
            None => {
                let closest = ctx.kb.closest_names(typed, 3);
                let hint = if closest.is_empty() {
                    "no close match in the knowledge base".to_string()
                } else {
                    format!("closest known: {}", closest.join(", "))
                };
                (
                    Severity::Minor,
                    format!("\"{typed}\"{part_of} ({role}) is not in the knowledge base: nothing was checked for it; {hint}."),
                    if closest.is_empty() {
                        "Check the spelling, or use the generic name.".into()
                    } else {
                        format!("Check the spelling; did you mean {}?", closest.join(" or "))
                    },
                )
            }
        };
        out.push(Finding {
            kind: Kind::UnknownDrug,
            severity,
            drugs: vec![typed.to_lowercase()],
            concerns: r.concerns(),
            summary,
            detail: "Interactions, renal, hepatic, pregnancy, allergy, duplicate and dose rules cannot be applied to a name the knowledge base does not recognise.".into(),
            suggestion,
            sources: vec![SOURCE.into()],
            rule: "builtin-unknown-drug".into(),
            inputs: vec![format!("{} = \"{whole}\"", r.field())],
        });
    }
}
