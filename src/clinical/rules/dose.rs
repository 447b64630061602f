//! Dose limits (`[[dose]]`): single and daily maximums (dose x doses per
//! day) and weekly-only drugs, optionally conditioned on the patient.

use super::state::{evaluate, Outcome};
use super::{fill, Context, Finding, Findings};
use crate::clinical::Kind;
use crate::intake::fmt_num;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    for r in &ctx.proposed {
        let Some(p) = r.id else { continue };
        let order = r.order;
        for rule in &ctx.kb.records.doses {
            if !ctx.kb.matches(&rule.drugs, p) {
                continue;
            }
            let mut inputs = match evaluate(ctx, &rule.when, r.index) {
                Outcome::Match { inputs, .. } => inputs,
                Outcome::NoMatch => continue,
                Outcome::Missing(m) => {
                    out.not_checked(
                        ctx.name(p),
                        "dose limits",
                        format!("needs {}", m.join(", ")),
                    );
                    continue;
                }
            };
            let push =
                |out: &mut Findings, value: String, threshold: String, inputs: Vec<String>| {
                    let vars = [
                        ("drug", ctx.name(p)),
                        ("value", value.as_str()),
                        ("threshold", threshold.as_str()),
                    ];
                    out.push(Finding {
                        kind: Kind::Dose,
                        severity: rule.severity,
                        drugs: vec![ctx.name(p).to_string()],
                        summary: fill(&rule.summary, &vars),
                        detail: fill(&rule.detail, &vars),
                        suggestion: fill(&rule.suggestion, &vars),
                        sources: rule.sources.clone(),
                        rule: rule.id.clone(),
                        inputs,
                    });
                };
            if rule.weekly_only {
                match &order.frequency {
                    Some(f) if !f.is_weekly() => {
                        let mut i = inputs.clone();
                        i.push(format!("frequency \"{}\"", f.text));
                        push(out, format!("\"{}\"", f.text), "once weekly".into(), i);
                    }
                    Some(_) => {}
                    None => out.not_checked(
                        ctx.name(p),
                        "dose limits",
                        "frequency not given (this drug is dosed weekly)".into(),
                    ),
                }
            }
            if rule.max_single_mg.is_none() && rule.max_daily_mg.is_none() {
                continue;
            }
            if r.part_of_product {
                // "650 mg" of a two-ingredient tablet says nothing about
                // either ingredient's amount.
                out.not_checked(
                    ctx.name(p),
                    "dose limits",
                    format!(
                        "\"{}\" has several ingredients: the order's dose is not {}'s dose",
                        order.drug.trim(),
                        ctx.name(p)
                    ),
                );
                continue;
            }
            let Some(mg) = order.dose.as_ref().and_then(|d| d.mg) else {
                let why = match &order.dose {
                    None => "dose not given".to_string(),
                    Some(d) => format!("dose \"{}\" is not in mg, g or mcg", d.text),
                };
                out.not_checked(ctx.name(p), "dose limits", why);
                continue;
            };
            inputs.push(format!("dose {} mg", fmt_num(mg)));
            if let Some(max) = rule.max_single_mg {
                if mg > max {
                    push(
                        out,
                        format!("{} mg", fmt_num(mg)),
                        format!("{} mg", fmt_num(max)),
                        inputs.clone(),
                    );
                }
            }
            if let Some(max) = rule.max_daily_mg {
                match order
                    .frequency
                    .as_ref()
                    .and_then(|f| f.per_day.map(|n| (f, n)))
                {
                    Some((f, per_day)) => {
                        let daily = mg * per_day;
                        if daily > max + 1e-9 {
                            let mut i = inputs.clone();
                            i.push(format!(
                                "frequency \"{}\" = {}/day",
                                f.text,
                                fmt_num(per_day)
                            ));
                            i.push(format!(
                                "daily total {} mg > {} mg",
                                fmt_num(daily),
                                fmt_num(max)
                            ));
                            push(
                                out,
                                format!("{} mg/day", fmt_num(daily)),
                                format!("{} mg/day", fmt_num(max)),
                                i,
                            );
                        }
                    }
                    None => {
                        let why = match &order.frequency {
                            None => "frequency not given: daily total unknown".to_string(),
                            Some(f) => {
                                format!("frequency \"{}\" (as needed): daily total unknown", f.text)
                            }
                        };
                        out.not_checked(ctx.name(p), "dose limits", why);
                    }
                }
            }
        }
    }
}
