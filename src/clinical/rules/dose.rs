//! Dose limits (`[[dose]]`): single and daily maximums (dose x doses per
//! day), weight-based (mg/kg) limits for children, and weekly-only drugs,
//! optionally conditioned on the patient. Runs for current medicines as
//! well as proposed ones.
//!
//! Children: a rule whose `when` names an age band that holds for the
//! patient is paediatric data for that drug; with such a rule, the drug's
//! unconditional (adult) limits are not applied. Without one,
//! the adult limits are checked as an upper bound and the gap is said:
//! "no paediatric dosing data".

use super::state::{evaluate, Outcome};
use super::{Context, Finding, Findings, Resolved, Subject};
use crate::clinical::calc::age_band;
use crate::clinical::Kind;
use crate::intake::{fmt_num, Dose, PerDay};
use crate::kb::model::DoseRule;
use crate::kb::DrugId;

/// Under this age (years) a patient is a child for dosing.
pub const ADULT_AGE_YEARS: f64 = 18.0;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    let age = ctx.case.patient.age;
    for (r, p) in ctx.known() {
        let rules = rules_for(ctx, p);
        let child = age < ADULT_AGE_YEARS;
        // Paediatric data for this child: an age-banded rule whose band
        // (and weight band, if any) holds; missing inputs still count, and
        // are said by the rule itself.
        let banded = child
            && rules.iter().any(|rule| {
                rule.when.has_age_band()
                    && rule.when.age_band_holds(age)
                    && evaluate(ctx, &rule.when, r) != Outcome::NoMatch
            });
        if child && !banded {
            out.not_checked(
                ctx.name(p),
                "dose limits",
                format!(
                    "no paediatric dosing data for {} in the knowledge base (patient {} years, {}){}",
                    ctx.name(p),
                    fmt_num(age),
                    age_band(age),
                    if rules.is_empty() {
                        ""
                    } else {
                        ": only adult limits were checked"
                    }
                ),
            );
        }
        for rule in rules {
            if banded && rule.when.is_empty() {
                // The unconditional adult limit: the paediatric rule carries
                // the cap. Conditional ones (liver disease, CrCl) still apply.
                continue;
            }
            check_rule(ctx, out, r, p, rule);
        }
    }
}

/// The dose records that apply to drug `p`. A record naming a product
/// itself (micronized glyburide) replaces the ones it would inherit from
/// its ingredient (glyburide's 20 mg maximum): a formulation dosed
/// differently is not held to its ingredient's figures.
fn rules_for<'k>(ctx: &Context<'k>, p: DrugId) -> Vec<&'k DoseRule> {
    let kb = ctx.kb;
    let name = kb.drug(p).name.as_str();
    let matching: Vec<&DoseRule> = kb
        .records
        .doses
        .iter()
        .filter(|rule| kb.matches(&rule.drugs, p))
        .collect();
    let names_p = |rule: &DoseRule| rule.drugs.iter().any(|d| d == name);
    if !matching.iter().any(|rule| names_p(rule)) {
        return matching;
    }
    let ingredients: Vec<&str> = kb.drug(p).ingredients.iter().map(String::as_str).collect();
    matching
        .into_iter()
        .filter(|rule| {
            names_p(rule) || !rule.drugs.iter().any(|d| ingredients.contains(&d.as_str()))
        })
        .collect()
}

fn check_rule(ctx: &Context<'_>, out: &mut Findings, r: &Resolved<'_>, p: DrugId, rule: &DoseRule) {
    let order = r.order;
    let mut inputs = match evaluate(ctx, &rule.when, r) {
        Outcome::Match { inputs, .. } => inputs,
        Outcome::NoMatch => return,
        Outcome::Missing(m) => {
            out.not_checked(
                ctx.name(p),
                "dose limits",
                format!("needs {}", m.join(", ")),
            );
            return;
        }
    };
    inputs.push(format!("{} {}", ctx.name(p), r.role()));
    let push = |out: &mut Findings, value: String, threshold: String, inputs: Vec<String>| {
        let vars = [
            ("drug", ctx.name(p)),
            ("value", value.as_str()),
            ("threshold", threshold.as_str()),
        ];
        out.push(Finding::from_record(
            rule,
            Subject {
                kind: Kind::Dose,
                severity: rule.severity,
                drugs: vec![ctx.name(p).to_string()],
                concerns: r.concerns(),
                inputs,
            },
            &vars,
        ));
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
    // The limits for this patient: weight-based ones need the weight.
    let weight = ctx.case.patient.weight_kg;
    if rule.per_kg() && weight.is_none() {
        out.not_checked(
            ctx.name(p),
            "dose limits",
            format!(
                "dose needs weight: the limit is per kg ({}) and no weight is recorded",
                rule_band(rule)
            ),
        );
        return;
    }
    let limit = |per_kg: Option<f64>, cap: Option<f64>, inputs: &mut Vec<String>| match (
        per_kg, weight, cap,
    ) {
        (Some(k), Some(w), cap) => {
            let by_weight = k * w;
            let limit = cap.map_or(by_weight, |c| by_weight.min(c));
            inputs.push(format!(
                "{} mg/kg x {} kg = {} mg{}",
                fmt_num(k),
                fmt_num(w),
                fmt_num(by_weight),
                match cap {
                    Some(c) if c < by_weight => format!(", capped at {} mg", fmt_num(c)),
                    _ => String::new(),
                }
            ));
            Some(limit)
        }
        (_, _, cap) => cap,
    };
    if rule.max_single_mg.is_none() && rule.max_daily_mg.is_none() && !rule.per_kg() {
        return;
    }
    if r.part_of_product {
        // "650 mg" of a two-ingredient tablet says nothing about either
        // ingredient's amount.
        out.not_checked(
            ctx.name(p),
            "dose limits",
            format!(
                "\"{}\" has several ingredients: the order's dose is not {}'s dose",
                order.drug.trim(),
                ctx.name(p)
            ),
        );
        return;
    }
    let Some(mg) = order.dose.as_ref().and_then(|d| d.mg) else {
        let why = match &order.dose {
            None => "dose not given".to_string(),
            Some(Dose {
                unread: Some(why), ..
            }) => format!("dose {why}"),
            Some(d) => format!("dose \"{}\" is not in mg, g or mcg", d.text),
        };
        out.not_checked(ctx.name(p), "dose limits", why);
        return;
    };
    inputs.push(
        match order
            .dose
            .as_ref()
            .and_then(|d| Some((d.count?, d.each_mg()?)))
        {
            Some((count, each)) => format!(
                "dose {} mg x {} = {} mg",
                fmt_num(each),
                fmt_num(count),
                fmt_num(mg)
            ),
            None => format!("dose {} mg", fmt_num(mg)),
        },
    );
    let mut single_inputs = inputs.clone();
    if let Some(max) = limit(
        rule.max_single_mg_per_kg,
        rule.max_single_mg,
        &mut single_inputs,
    ) {
        if mg > max + 1e-9 {
            push(
                out,
                format!("{} mg", fmt_num(mg)),
                format!("{} mg", fmt_num(max)),
                single_inputs,
            );
        }
    }
    let mut daily_inputs = inputs;
    let Some(max) = limit(
        rule.max_daily_mg_per_kg,
        rule.max_daily_mg,
        &mut daily_inputs,
    ) else {
        return;
    };
    match order.doses_per_day() {
        Some(PerDay {
            per_day,
            basis,
            disagree,
        }) => {
            if disagree {
                out.not_checked(
                    ctx.name(p),
                    "frequency",
                    format!("{basis}: the two disagree, so the higher daily total was checked"),
                );
            }
            let daily = mg * per_day;
            if daily > max + 1e-9 {
                daily_inputs.push(basis);
                daily_inputs.push(format!(
                    "daily total {} mg > {} mg",
                    fmt_num(daily),
                    fmt_num(max)
                ));
                push(
                    out,
                    format!("{} mg/day", fmt_num(daily)),
                    format!("{} mg/day", fmt_num(max)),
                    daily_inputs,
                );
            }
        }
        None => {
            let why = match &order.frequency {
                None => "frequency not given: daily total unknown".to_string(),
                Some(f) => format!("frequency \"{}\" (as needed): daily total unknown", f.text),
            };
            out.not_checked(ctx.name(p), "dose limits", why);
        }
    }
}

/// "15 mg/kg per dose, 75 mg/kg per day", for messages.
fn rule_band(rule: &DoseRule) -> String {
    let mut parts = Vec::new();
    if let Some(k) = rule.max_single_mg_per_kg {
        parts.push(format!("{} mg/kg per dose", fmt_num(k)));
    }
    if let Some(k) = rule.max_daily_mg_per_kg {
        parts.push(format!("{} mg/kg per day", fmt_num(k)));
    }
    parts.join(", ")
}
