//! Allergies: the same drug or a class it belongs to (built in), and
//! cross-reactivity between drugs or classes (`[[allergy]]`).

use super::{Context, Finding, Findings, Subject};
use crate::clinical::{Kind, Severity};
use crate::kb::DrugId;
use crate::vocab::allergy::no_known_allergy;
use std::collections::BTreeSet;

/// The passage behind the built-in same-drug / same-class rule.
pub use crate::vocab::sources::ALLERGY_DOCUMENTED_CLASS as DOCUMENTED_SOURCE;

/// The longest reaction text quoted in a flag's summary (characters).
const REACTION_IN_SUMMARY: usize = 40;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    for allergy in &ctx.case.allergies {
        let substance = allergy.substance.as_str();
        if no_known_allergy(substance) {
            // "NKDA" in the allergy list: the absence of allergies.
            continue;
        }
        // What the allergy covers: a drug (with its ingredients), or a class.
        let named = ctx.kb.resolve(substance).ids;
        let (covered, class_name): (BTreeSet<DrugId>, Option<String>) = if !named.is_empty() {
            let mut s: BTreeSet<DrugId> = BTreeSet::new();
            for d in named {
                s.extend(ctx.kb.ingredients(d));
                s.insert(d);
            }
            (s, None)
        } else if let Some(c) = ctx.kb.lookup_class(substance) {
            (ctx.kb.class_members(&c.id), Some(c.name.clone()))
        } else {
            out.not_checked(substance, "allergy", format!("allergy to \"{substance}\" is not a known drug or class: allergy and cross-reactivity not checked"));
            continue;
        };
        let severe = allergy.is_severe();
        // The record's own verification status, said wherever the allergy is.
        let unconfirmed = allergy.verification.as_deref() == Some("unconfirmed");
        let reaction = allergy
            .reaction
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
            + if unconfirmed {
                " (recorded as unconfirmed)"
            } else {
                ""
            };
        // The summary says the fact first; a long reaction text is cut
        // there (kept whole in the inputs) so it cannot push the fact out
        // of a card's one-line summary.
        let reaction_short = allergy
            .reaction
            .as_deref()
            .map(|r| match r.chars().count() {
                0..=REACTION_IN_SUMMARY => format!(" (reaction: {r})"),
                _ => format!(
                    " (reaction: {}…)",
                    r.chars()
                        .take(REACTION_IN_SUMMARY - 1)
                        .collect::<String>()
                        .trim_end()
                ),
            })
            .unwrap_or_default();
        let covered_refs: Vec<String> = covered.iter().map(|&i| ctx.name(i).to_string()).collect();
        for (r, p) in ctx.known() {
            let mut mine: BTreeSet<DrugId> = ctx.kb.ingredients(p).into_iter().collect();
            mine.insert(p);
            if let Some(hit) = mine.intersection(&covered).next() {
                let why = match &class_name {
                    Some(c) => format!("{} is one of the {c}", ctx.name(*hit)),
                    None if *hit == p => format!("{} is the same drug", ctx.name(p)),
                    None => format!("{} contains {}", ctx.name(p), ctx.name(*hit)),
                };
                out.push(Finding {
                    kind: Kind::Allergy,
                    severity: Severity::Contraindicated,
                    drugs: vec![ctx.name(p).to_string()],
                    concerns: r.concerns(),
                    summary: format!(
                        "{} allergy to {substance}: {why}{reaction_short}.",
                        if unconfirmed { "Unconfirmed" } else { "Documented" }
                    ),
                    detail: "Re-exposure to a drug the patient is allergic to, or to another drug of the same class, risks the same or a worse reaction.".into(),
                    suggestion: "Do not give; choose an agent from an unrelated class, or refer for allergy assessment if the label may be wrong.".into(),
                    sources: vec![DOCUMENTED_SOURCE.into()],
                    rule: "builtin-allergy-documented".into(),
                    inputs: vec![format!("allergy \"{substance}\"{reaction}"), format!("{} {}", ctx.name(p), r.role())],
                });
            }
            for rule in &ctx.kb.records.allergies {
                let allergen_hit = covered.iter().any(|&d| ctx.kb.matches(&rule.allergen, d));
                if !allergen_hit || !ctx.kb.matches(&rule.drugs, p) {
                    continue;
                }
                let severity = match (severe, rule.severe_severity) {
                    (true, Some(s)) => s.max(rule.severity),
                    _ => rule.severity,
                };
                let vars = [
                    ("drug", ctx.name(p)),
                    ("a", substance),
                    ("b", ctx.name(p)),
                    ("value", substance),
                ];
                let inputs = vec![
                    format!(
                        "allergy \"{substance}\"{reaction}{}",
                        if severe { " (severe)" } else { "" }
                    ),
                    format!("allergen covers {}", covered_refs.join(", ")),
                    format!("{} {}", ctx.name(p), r.role()),
                ];
                out.push(Finding::from_record(
                    rule,
                    Subject {
                        kind: Kind::Allergy,
                        severity,
                        drugs: vec![ctx.name(p).to_string()],
                        concerns: r.concerns(),
                        inputs,
                    },
                    &vars,
                ));
            }
        }
    }
}
