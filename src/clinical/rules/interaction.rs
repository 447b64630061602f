//! Drug-drug interactions: every pair of drugs in the regimen (proposed
//! with current, proposed with proposed, current with current), at drug
//! and class level.

use super::{fill, Context, Finding, Findings};
use crate::clinical::Kind;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    for (first, p, second, o) in ctx.pairs() {
        if o == p {
            continue; // the same drug twice is a duplicate, not an interaction
        }
        let concerns = first.concerns().min(second.concerns());
        for rule in &ctx.kb.records.interactions {
            let (a, b) = if ctx.kb.matches(&rule.a, p) && ctx.kb.matches(&rule.b, o) {
                (p, o)
            } else if ctx.kb.matches(&rule.b, p) && ctx.kb.matches(&rule.a, o) {
                (o, p)
            } else {
                continue;
            };
            let vars = [
                ("a", ctx.name(a)),
                ("b", ctx.name(b)),
                ("drug", ctx.name(p)),
            ];
            let detail = match (rule.mechanism.is_empty(), rule.detail.is_empty()) {
                (false, false) => format!("{} {}", rule.mechanism, rule.detail),
                (false, true) => rule.mechanism.clone(),
                _ => rule.detail.clone(),
            };
            out.push(Finding {
                kind: Kind::Interaction,
                severity: rule.severity,
                drugs: vec![ctx.name(p).to_string(), ctx.name(o).to_string()],
                concerns,
                summary: fill(&rule.summary, &vars),
                detail: fill(&detail, &vars),
                suggestion: fill(&rule.suggestion, &vars),
                sources: rule.sources.clone(),
                rule: rule.id.clone(),
                inputs: vec![
                    format!("{} {}", ctx.name(p), first.role()),
                    format!(
                        "{} {}",
                        ctx.name(o),
                        if second.proposed {
                            "also proposed"
                        } else {
                            second.role()
                        }
                    ),
                ],
            });
        }
    }
}
