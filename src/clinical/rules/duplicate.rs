//! Duplicate therapy: the same drug (or ingredient) twice, or two drugs of
//! a class that should not be combined.

use super::{Context, Finding, Findings, Subject};
use crate::clinical::{Kind, Severity};
use crate::kb::DrugId;
use std::collections::BTreeSet;

/// The passage behind the built-in same-drug rule.
pub use crate::vocab::sources::DUPLICATE_SAME_DRUG as SAME_DRUG_SOURCE;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    let with_ingredients = |id: DrugId| -> BTreeSet<DrugId> {
        let mut s: BTreeSet<DrugId> = ctx.kb.ingredients(id).into_iter().collect();
        s.insert(id);
        s
    };
    for (first, p, other, o) in ctx.pairs() {
        let concerns = first.concerns().min(other.concerns());
        let mine = with_ingredients(p);
        let theirs = with_ingredients(o);
        let shared: Vec<&str> = mine.intersection(&theirs).map(|&i| ctx.name(i)).collect();
        let role = match (first.proposed, other.proposed) {
            (true, true) => "also proposed",
            (true, false) => "already taken",
            _ => "also taken",
        };
        let first_role = if first.proposed { "proposed" } else { "taken" };
        if !shared.is_empty() {
            let what = if p == o {
                format!("{} is {role}", ctx.name(p))
            } else {
                format!(
                    "{} and {} both contain {}",
                    ctx.name(p),
                    ctx.name(o),
                    shared.join(", ")
                )
            };
            out.push(Finding {
                    kind: Kind::Duplicate,
                    severity: Severity::Major,
                    drugs: vec![ctx.name(p).to_string(), ctx.name(o).to_string()],
                    concerns,
                    summary: format!("Duplicate therapy: {what}."),
                    detail: "The same active ingredient from two orders adds up to a higher total dose than intended.".into(),
                    suggestion: "If this is a change of dose or product, stop the existing order; otherwise do not add it.".into(),
                    sources: vec![SAME_DRUG_SOURCE.into()],
                    rule: "builtin-duplicate-same-drug".into(),
                    inputs: vec![format!("{} {first_role}", ctx.name(p)), format!("{} {role}", ctx.name(o))],
                });
            continue;
        }
        for rule in &ctx.kb.records.duplicates {
            let class = [format!("class:{}", rule.class)];
            if ctx.kb.matches(&class, p) && ctx.kb.matches(&class, o) {
                let vars = [
                    ("a", ctx.name(p)),
                    ("b", ctx.name(o)),
                    ("drug", ctx.name(p)),
                ];
                let inputs = vec![
                    format!("{} {first_role}", ctx.name(p)),
                    format!("{} {role}", ctx.name(o)),
                    format!("both in class {}", rule.class),
                ];
                out.push(Finding::from_record(
                    rule,
                    Subject {
                        kind: Kind::Duplicate,
                        severity: rule.severity,
                        drugs: vec![ctx.name(p).to_string(), ctx.name(o).to_string()],
                        concerns,
                        inputs,
                    },
                    &vars,
                ));
            }
        }
    }
}
