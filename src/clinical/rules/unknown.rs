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
        let typed = r.order.drug.trim();
        let closest = ctx.kb.closest_names(typed, 3);
        let hint = if closest.is_empty() {
            "no close match in the knowledge base".to_string()
        } else {
            format!("closest known: {}", closest.join(", "))
        };
        let role = if r.proposed {
            "proposed drug"
        } else {
            "current medicine"
        };
        out.push(Finding {
            kind: Kind::UnknownDrug,
            severity: Severity::Minor,
            drugs: vec![typed.to_lowercase()],
            summary: format!("\"{typed}\" ({role}) is not in the knowledge base: nothing was checked for it; {hint}."),
            detail: "Interactions, renal, hepatic, pregnancy, allergy, duplicate and dose rules cannot be applied to a name the knowledge base does not recognise.".into(),
            suggestion: if closest.is_empty() {
                "Check the spelling, or use the generic name.".into()
            } else {
                format!("Check the spelling; did you mean {}?", closest.join(" or "))
            },
            sources: vec![SOURCE.into()],
            rule: "builtin-unknown-drug".into(),
            inputs: vec![format!("{} = \"{typed}\"", r.field())],
        });
    }
}
