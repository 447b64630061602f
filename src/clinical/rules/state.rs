//! Patient-state rules (`[[rule]]`): renal, hepatic, pregnancy, lactation,
//! older adults (Beers), labs and drug-disease, all through one `when`
//! evaluator that also says which inputs were missing.

use super::{Context, Finding, Findings, Resolved, Subject};
use crate::clinical::calc::HepaticGrade;
use crate::intake::{fmt_num, LabKind};
use crate::kb::conditions::{ConditionReading, ConditionVia};
use crate::kb::model::When;
use crate::kb::DrugId;
use crate::vocab::condition;
use crate::vocab::text::fold;

/// The outcome of evaluating a `when` table.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every condition holds; the inputs it read, and the first numeric
    /// value and threshold for the text templates.
    Match {
        inputs: Vec<String>,
        value: Option<String>,
        threshold: Option<String>,
        measure: Option<String>,
    },
    NoMatch,
    /// No condition is false, but these inputs are missing.
    Missing(Vec<String>),
}

#[derive(Default)]
struct Eval {
    inputs: Vec<String>,
    missing: Vec<String>,
    failed: bool,
    value: Option<String>,
    threshold: Option<String>,
    measure: Option<String>,
}

impl Eval {
    fn numeric(
        &mut self,
        measure: &str,
        value: Option<(f64, &str)>,
        below: Option<f64>,
        at_least: Option<f64>,
        missing: &str,
    ) {
        if below.is_none() && at_least.is_none() {
            return;
        }
        let Some((v, unit)) = value else {
            self.missing.push(missing.to_string());
            return;
        };
        let mut holds = true;
        let mut thr = Vec::new();
        if let Some(b) = below {
            holds &= v < b;
            thr.push(format!("< {}", fmt_num(b)));
        }
        if let Some(a) = at_least {
            holds &= v >= a;
            thr.push(format!(">= {}", fmt_num(a)));
        }
        if holds {
            let shown = format!(
                "{}{}",
                fmt_num(v),
                if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                }
            );
            self.inputs
                .push(format!("{measure} {shown} ({})", thr.join(" and ")));
            if self.value.is_none() {
                self.value = Some(shown);
                self.threshold = below.or(at_least).map(|t| {
                    format!(
                        "{}{}",
                        fmt_num(t),
                        if unit.is_empty() {
                            String::new()
                        } else {
                            format!(" {unit}")
                        }
                    )
                });
                self.measure = Some(measure.to_string());
            }
        } else {
            self.failed = true;
        }
    }

    /// Records a missing input once, however many conditions need it.
    fn missing_once(&mut self, m: String) {
        if !self.missing.contains(&m) {
            self.missing.push(m);
        }
    }

    fn flag(&mut self, holds: bool, input: String) {
        if holds {
            self.inputs.push(input);
        } else {
            self.failed = true;
        }
    }
}

/// A state given in the patient record, or stated by one of the
/// patient's conditions (then named, for the trace).
fn from_state_or_condition(
    ctx: &Context<'_>,
    recorded: bool,
    states: fn(&str) -> bool,
    concept: &str,
) -> (bool, String) {
    if recorded {
        return (true, String::new());
    }
    // The words say it, or the code does ("72892002" with any display):
    // a code read as the vocabulary's concept of that state.
    let concept = ctx.kb.conditions.concept(concept);
    let coded =
        |c: &ConditionReading| c.via == ConditionVia::Code && concept.is_some_and(|id| c.is(id));
    match ctx.conditions.iter().find(|c| states(&c.text) || coded(c)) {
        Some(c) => (
            true,
            format!(
                " (condition \"{}\")",
                crate::vocab::text::visible_line(&c.text)
            ),
        ),
        None => (false, String::new()),
    }
}

/// A matched condition as the rule's inputs name it: as recorded, and what
/// it was read as when the recorded words alone did not say it.
fn condition_input(c: &ConditionReading) -> String {
    let text = crate::vocab::text::visible_line(&c.text);
    let shown = fold(&c.text);
    match c.read_as.iter().find(|n| fold(n) != shown) {
        Some(read) if c.recognised() => format!("condition \"{text}\" (read as {read})"),
        _ => format!("condition \"{text}\""),
    }
}

/// Adds what `when`'s own conditions say about the patient to `e`.
fn conditions(ctx: &Context<'_>, when: &When, r: &Resolved<'_>, e: &mut Eval) {
    let p = &ctx.case.patient;
    let d = ctx.derived;
    let labs = &ctx.case.labs;
    e.numeric(
        "eGFR",
        d.egfr_ml_min_1_73m2.map(|v| (v, "mL/min/1.73m2")),
        when.egfr_below,
        when.egfr_at_least,
        "eGFR (needs serum creatinine)",
    );
    if when.crcl_below.is_some() || when.crcl_at_least.is_some() {
        match (d.crcl_ml_min, d.egfr_ml_min_1_73m2) {
            (Some(c), _) => e.numeric(
                "CrCl",
                Some((c, "mL/min")),
                when.crcl_below,
                when.crcl_at_least,
                "",
            ),
            (None, Some(g)) => {
                e.numeric(
                    "eGFR used for CrCl (no weight for Cockcroft-Gault)",
                    Some((g, "mL/min/1.73m2")),
                    when.crcl_below,
                    when.crcl_at_least,
                    "",
                );
            }
            (None, None) => e
                .missing
                .push("CrCl (needs serum creatinine and weight)".into()),
        }
    }
    e.numeric(
        "age",
        Some((p.age, "years")),
        when.age_below,
        when.age_at_least,
        "",
    );
    if let Some(sex) = when.sex {
        if p.sex.is_known() {
            e.flag(p.sex == sex, format!("sex {}", p.sex));
        } else {
            e.missing_once(format!("sex (recorded as {})", p.sex));
        }
    }
    if when.pregnant == Some(true) {
        let (pregnant, why) =
            from_state_or_condition(ctx, p.pregnant, condition::pregnancy, "pregnancy");
        e.flag(pregnant, format!("pregnant{why}"));
        if !when.trimesters.is_empty() && pregnant {
            match p.trimester {
                Some(t) => e.flag(when.trimesters.contains(&t), format!("trimester {t}")),
                None => e
                    .inputs
                    .push("trimester not recorded (rule applies to some trimesters)".into()),
            }
        }
    }
    if when.breastfeeding == Some(true) {
        let (yes, why) = from_state_or_condition(
            ctx,
            p.breastfeeding,
            condition::breastfeeding,
            "breastfeeding",
        );
        e.flag(yes, format!("breastfeeding{why}"));
    }
    if !when.conditions_any.is_empty() {
        let hit = ctx
            .conditions
            .iter()
            .find(|c| when.conditions_any.iter().any(|t| c.matches(t)));
        match hit {
            Some(c) => e.inputs.push(condition_input(c)),
            None => e.failed = true,
        }
    }
    if ctx
        .conditions
        .iter()
        .any(|c| when.conditions_none.iter().any(|t| c.matches(t)))
    {
        e.failed = true;
    }
    if let Some(req) = when.hepatic_impairment {
        let grade = d.hepatic;
        if grade >= req.minimum() {
            e.inputs.push(
                format!(
                    "hepatic impairment {:?} ({})",
                    grade,
                    d.hepatic_basis.join("; ")
                )
                .to_lowercase(),
            );
        } else if grade == HepaticGrade::None
            && labs.alt_u_l.is_none()
            && labs.ast_u_l.is_none()
            && labs.bilirubin_mg_dl.is_none()
            && !e.failed
        {
            e.missing
                .push("liver status (no liver condition or liver tests recorded)".into());
        } else {
            e.failed = true;
        }
    }
    if let Some(kind) = when.lab.as_deref().and_then(LabKind::parse) {
        let value = if kind == LabKind::Egfr {
            d.egfr_ml_min_1_73m2
        } else {
            labs.get(kind)
        };
        e.numeric(
            kind.name(),
            value.map(|v| (v, kind.unit())),
            when.below,
            None,
            &format!("{} (not recorded)", kind.name()),
        );
        if let Some(a) = when.at_least {
            match value {
                Some(v) => e.flag(
                    v >= a,
                    format!(
                        "{} {} {} (>= {})",
                        kind.name(),
                        fmt_num(v),
                        kind.unit(),
                        fmt_num(a)
                    ),
                ),
                None => e.missing_once(format!("{} (not recorded)", kind.name())),
            }
        }
        if let Some(a) = when.above {
            match value {
                Some(v) if v > a => {
                    let shown = format!("{} {}", fmt_num(v), kind.unit()).trim().to_string();
                    e.inputs
                        .push(format!("{} {shown} (> {})", kind.name(), fmt_num(a)));
                    if e.value.is_none() {
                        e.value = Some(shown);
                        e.threshold =
                            Some(format!("{} {}", fmt_num(a), kind.unit()).trim().to_string());
                        e.measure = Some(kind.name().to_string());
                    }
                }
                Some(_) => e.failed = true,
                None => e.missing_once(format!("{} (not recorded)", kind.name())),
            }
        }
    }
    e.numeric(
        "weight",
        p.weight_kg.map(|w| (w, "kg")),
        when.weight_below,
        when.weight_at_least,
        "weight (not recorded)",
    );
    if let Some(max) = when.weight_at_most {
        match p.weight_kg {
            Some(w) => e.flag(
                w <= max,
                format!("weight {} kg (<= {})", fmt_num(w), fmt_num(max)),
            ),
            None => e.missing.push("weight (not recorded)".into()),
        }
    }
    if let Some(gene) = &when.gene {
        match ctx.case.pgx.get(gene) {
            Some(p) => e.flag(
                when.phenotypes.iter().any(|w| w == p),
                format!("{} {p}", gene.to_uppercase()),
            ),
            None => e
                .missing
                .push(format!("{} status (not recorded)", gene.to_uppercase())),
        }
    }
    if !when.with_any.is_empty() {
        let other = ctx
            .others_than(r)
            .find_map(|r| r.id.filter(|&id| ctx.kb.matches(&when.with_any, id)));
        match other {
            Some(id) => e.inputs.push(format!("with {}", ctx.name(id))),
            None => e.failed = true,
        }
    }
}

/// Evaluates `when` for the drug of entry `r` (proposed or current).
pub fn evaluate(ctx: &Context<'_>, when: &When, r: &Resolved<'_>) -> Outcome {
    let mut e = Eval::default();
    conditions(ctx, when, r, &mut e);
    if let Some(count) = &when.at_least_of {
        // "Two or more of": each criterion on its own; met ones count,
        // missing ones could still make up the number.
        let (mut met, mut unknown) = (Vec::new(), Vec::new());
        for c in &count.of {
            let mut sub = Eval::default();
            conditions(ctx, c, r, &mut sub);
            if sub.failed {
                continue;
            }
            // One entry per criterion, however many inputs it read.
            if sub.missing.is_empty() {
                met.push(sub.inputs.join(" and "));
            } else {
                unknown.push(sub.missing.join(" and "));
            }
        }
        let n = count.n as usize;
        if met.len() >= n {
            e.inputs.push(format!(
                "{} of {} criteria met (needs {n}): {}",
                met.len(),
                count.of.len(),
                met.join("; ")
            ));
        } else if met.len() + unknown.len() >= n {
            e.missing.push(format!(
                "{} ({} of {} criteria met, {n} needed{})",
                unknown.join(", "),
                met.len(),
                count.of.len(),
                if met.is_empty() {
                    String::new()
                } else {
                    format!(": {}", met.join("; "))
                }
            ));
        } else {
            e.failed = true;
        }
    }

    if e.failed {
        Outcome::NoMatch
    } else if !e.missing.is_empty() {
        Outcome::Missing(e.missing)
    } else {
        Outcome::Match {
            inputs: e.inputs,
            value: e.value,
            threshold: e.threshold,
            measure: e.measure,
        }
    }
}

/// Template variables for a state rule on drug `p`.
pub fn vars<'a>(
    ctx: &'a Context<'_>,
    p: DrugId,
    value: &'a Option<String>,
    threshold: &'a Option<String>,
    measure: &'a Option<String>,
) -> [(&'a str, &'a str); 4] {
    [
        ("drug", ctx.name(p)),
        ("value", value.as_deref().unwrap_or("")),
        ("threshold", threshold.as_deref().unwrap_or("")),
        ("measure", measure.as_deref().unwrap_or("")),
    ]
}

/// Every condition the vocabulary could not read is said, once for the
/// whole record: no drug-disease rule could use it. With a close match,
/// the line names it and the rules it would have reached for this
/// patient's drugs, so "atrial fibrilation" does not pass in silence.
fn unrecognised(ctx: &Context<'_>, out: &mut Findings) {
    for c in ctx.conditions.iter().filter(|c| !c.recognised()) {
        let mut reason = match &c.code {
            Some(code) => format!("not recognised (nor its code {code})"),
            None => "not recognised".to_string(),
        };
        match &c.did_you_mean {
            Some(guess) => {
                let read = ctx.kb.conditions.read(guess, None);
                let mut reached: Vec<String> = Vec::new();
                for (_, p) in ctx.known() {
                    for rule in &ctx.kb.records.rules {
                        let reads_it = rule
                            .when
                            .parts()
                            .any(|w| w.conditions_any.iter().any(|t| read.matches(t)));
                        if reads_it && ctx.kb.matches(&rule.drugs, p) {
                            let line = format!("{} ({})", ctx.name(p), rule.id);
                            if !reached.contains(&line) {
                                reached.push(line);
                            }
                        }
                    }
                }
                reason.push_str(&format!("; did you mean {guess}?"));
                if reached.is_empty() {
                    reason.push_str(&format!(
                        " No rule for this patient's drugs reads {guess}; other conditions it may stand for were not checked"
                    ));
                } else {
                    reason.push_str(&format!(
                        " If so, these rules were not applied: {}",
                        reached.join(", ")
                    ));
                }
            }
            None => reason.push_str(": no drug-disease rule could use it"),
        }
        out.not_checked(
            crate::clinical::flag::WHOLE_RECORD,
            &format!(
                "condition \"{}\"",
                crate::vocab::text::visible_line(&c.text)
            ),
            reason,
        );
    }
}

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    unrecognised(ctx, out);
    for (r, p) in ctx.known() {
        for rule in &ctx.kb.records.rules {
            if !ctx.kb.matches(&rule.drugs, p) || (rule.starting_only && !r.proposed) {
                continue;
            }
            match evaluate(ctx, &rule.when, r) {
                Outcome::Match {
                    inputs,
                    value,
                    threshold,
                    measure,
                } => {
                    let vars = vars(ctx, p, &value, &threshold, &measure);
                    out.push(Finding::from_record(
                        rule,
                        Subject {
                            kind: rule.kind,
                            severity: rule.severity,
                            drugs: vec![ctx.name(p).to_string()],
                            concerns: r.concerns(),
                            inputs,
                        },
                        &vars,
                    ));
                }
                Outcome::Missing(missing) => {
                    out.not_checked(
                        ctx.name(p),
                        &format!("{} rules", rule.kind),
                        format!("needs {}", missing.join(", ")),
                    );
                }
                Outcome::NoMatch => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::text::contains_term;

    /// Issue 19, finding 1 (conditions): every condition term a kb rule
    /// asks for still matches when the patient's condition text arrives
    /// decorated: invisible characters pasted in, fullwidth letters, an
    /// accent, upper case, a full stop, an EHR tag or a qualifier after.
    #[test]
    fn decorated_condition_text_still_matches_every_rule_term() {
        let kb = crate::kb::bundled_for_tests();
        let terms: std::collections::BTreeSet<&str> = kb
            .records
            .rules
            .iter()
            .flat_map(|r| r.when.conditions_any.iter().map(String::as_str))
            .collect();
        assert!(terms.len() > 50, "{}", terms.len());
        let insert = |t: &str, c: char| {
            let mid = t
                .char_indices()
                .nth(t.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            format!("{}{c}{}", &t[..mid], &t[mid..])
        };
        let fullwidth = |t: &str| -> String {
            t.chars()
                .map(|c| match c {
                    'a'..='z' => char::from_u32(c as u32 - 0x61 + 0xFF41).unwrap_or(c),
                    c => c,
                })
                .collect()
        };
        let mut failures = Vec::new();
        for term in &terms {
            let term = term.trim_end_matches('*');
            for typed in [
                insert(term, '\u{200B}'),
                insert(term, '\u{00AD}'),
                format!("\u{FEFF}{term}"),
                fullwidth(term),
                term.replacen('e', "é", 1),
                term.to_uppercase(),
                format!("{term}."),
                format!("{term} (disorder)"),
                format!("{term}; mild"),
            ] {
                if !contains_term(&fold(&typed), term) {
                    failures.push(format!("{term:?} <- {typed:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
