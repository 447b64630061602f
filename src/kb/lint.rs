//! `rxguide kb check`: everything that makes a knowledge base wrong or
//! untrustworthy, as `file:line: message` lines.

use super::model::{Records, When, STATE_RULE_KINDS};
use super::{Kb, KbError, Sources};
use crate::vocab::LabKind;
use std::collections::{BTreeSet, HashMap};

/// Longest passage text accepted (characters).
pub const MAX_PASSAGE_CHARS: usize = 1200;

/// Lints a kb tree; an empty list means clean.
pub fn lint(sources: &Sources) -> Vec<String> {
    let records = match sources.parse() {
        Ok(r) => r,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = record_problems(&records);
    match Kb::link(records, sources.hash()) {
        Ok(kb) => {
            problems.extend(orphans(&kb));
            problems.extend(self_contradicting_suggestions(&kb));
        }
        Err(KbError::Invalid(p)) => problems.extend(p),
        Err(e) => problems.push(e.to_string()),
    }
    problems.sort_by_key(|p| natural_key(p));
    problems.dedup();
    problems
}

/// Sort `file:line:` messages by file, then line number.
fn natural_key(s: &str) -> (String, usize, String) {
    let mut parts = s.splitn(3, ':');
    let file = parts.next().unwrap_or_default().to_string();
    let line = parts
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (file, line, s.to_string())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn record_problems(r: &Records) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut seen = |id: &str, origin: String, problems: &mut Vec<String>| {
        if !valid_id(id) {
            problems.push(format!(
                "{origin}: id `{id}` is not lower-case kebab-case (a-z, 0-9, -)"
            ));
        }
        if let Some(first) = ids.get(id) {
            problems.push(format!("{origin}: duplicate id `{id}` (first at {first})"));
        } else {
            ids.insert(id.to_string(), origin);
        }
    };
    for x in &r.interactions {
        seen(&x.id, x.origin.to_string(), &mut problems);
    }
    for x in &r.rules {
        seen(&x.id, x.origin.to_string(), &mut problems);
        if !STATE_RULE_KINDS.contains(&x.kind) {
            problems.push(format!(
                "{}: `{}`: kind `{}` is not a [[rule]] kind (accepted: {})",
                x.origin,
                x.id,
                x.kind,
                STATE_RULE_KINDS.map(|k| k.as_str()).join(", ")
            ));
        }
        if x.when.is_empty() {
            problems.push(format!(
                "{}: `{}`: [rule.when] has no condition",
                x.origin, x.id
            ));
        }
        when_problems(&x.when, &format!("{}: `{}`", x.origin, x.id), &mut problems);
    }
    for x in &r.allergies {
        seen(&x.id, x.origin.to_string(), &mut problems);
    }
    for x in &r.duplicates {
        seen(&x.id, x.origin.to_string(), &mut problems);
    }
    for x in &r.doses {
        seen(&x.id, x.origin.to_string(), &mut problems);
        if x.max_daily_mg.is_none() && x.max_single_mg.is_none() && !x.per_kg() && !x.weekly_only {
            problems.push(format!(
                "{}: `{}`: give max_daily_mg, max_single_mg, a _per_kg limit or weekly_only",
                x.origin, x.id
            ));
        }
        if x.per_kg() && x.when.age_below.is_none_or(|a| a > 18.0) {
            problems.push(format!(
                "{}: `{}`: a per-kg limit is paediatric data: give `when.age_below` (at most 18)",
                x.origin, x.id
            ));
        }
        when_problems(&x.when, &format!("{}: `{}`", x.origin, x.id), &mut problems);
    }
    for x in &r.combinations {
        seen(&x.id, x.origin.to_string(), &mut problems);
        let counted = !x.members.is_empty() || x.at_least.is_some();
        match (x.groups.is_empty(), counted) {
            (false, false) if x.groups.len() < 2 => problems.push(format!(
                "{}: `{}`: `groups` needs at least two groups",
                x.origin, x.id
            )),
            (false, false) => {}
            (true, true) if x.members.is_empty() || x.at_least.is_none_or(|n| n < 2) => problems
                .push(format!(
                    "{}: `{}`: `members` needs `at_least` (2 or more)",
                    x.origin, x.id
                )),
            (true, true) => {}
            _ => problems.push(format!(
                "{}: `{}`: give either `groups` or `members` with `at_least`",
                x.origin, x.id
            )),
        }
        when_problems(&x.when, &format!("{}: `{}`", x.origin, x.id), &mut problems);
    }
    for x in &r.classes {
        seen(&x.id, x.origin.to_string(), &mut problems);
    }
    let drug_names: BTreeSet<&str> = r.drugs.iter().map(|d| d.name.as_str()).collect();
    for d in &r.drugs {
        if d.name != d.name.to_lowercase() || d.name.trim() != d.name {
            problems.push(format!(
                "{}: drug name `{}` must be lower case and trimmed",
                d.origin, d.name
            ));
        }
    }
    let mut drug_seen: HashMap<&str, String> = HashMap::new();
    for d in &r.drugs {
        if let Some(first) = drug_seen.insert(&d.name, d.origin.to_string()) {
            problems.push(format!(
                "{}: duplicate drug `{}` (first at {first})",
                d.origin, d.name
            ));
        }
    }
    for p in &r.passages {
        if p.origin.file.starts_with("import:") {
            continue;
        }
        seen(&p.id, p.origin.to_string(), &mut problems);
        if p.locator().is_none() {
            problems.push(format!(
                "{}: passage `{}` has neither `url` nor `identifier`",
                p.origin, p.id
            ));
        }
        let n = p.text.chars().count();
        if n > MAX_PASSAGE_CHARS {
            problems.push(format!(
                "{}: passage `{}` is {n} characters (at most {MAX_PASSAGE_CHARS})",
                p.origin, p.id
            ));
        }
        for d in &p.drugs {
            if !drug_names.contains(d.as_str()) {
                problems.push(format!(
                    "{}: passage `{}`: unknown drug `{d}` in `drugs`",
                    p.origin, p.id
                ));
            }
        }
        for (field, v) in [
            ("title", &p.title),
            ("source", &p.source),
            ("license", &p.license),
        ] {
            if v.trim().is_empty() {
                problems.push(format!(
                    "{}: passage `{}`: `{field}` is empty",
                    p.origin, p.id
                ));
            }
        }
    }
    problems
}

fn when_problems(w: &When, at: &str, problems: &mut Vec<String>) {
    match &w.lab {
        Some(lab) => {
            if LabKind::parse(lab).is_none() {
                let accepted: Vec<&str> = LabKind::ALL.iter().map(|k| k.name()).collect();
                problems.push(format!(
                    "{at}: unknown lab `{lab}` (accepted: {})",
                    accepted.join(", ")
                ));
            }
            if w.above.is_none() && w.below.is_none() && w.at_least.is_none() {
                problems.push(format!("{at}: `lab` needs `above`, `below` or `at_least`"));
            }
        }
        None => {
            if w.above.is_some() || w.below.is_some() || w.at_least.is_some() {
                problems.push(format!("{at}: `above`/`below`/`at_least` need `lab`"));
            }
        }
    }
    if let Some(c) = &w.at_least_of {
        if c.n == 0 || c.n as usize > c.of.len() {
            problems.push(format!(
                "{at}: `at_least_of.n` is {} but there are {} criteria",
                c.n,
                c.of.len()
            ));
        }
        for (i, sub) in c.of.iter().enumerate() {
            if sub.is_empty() {
                problems.push(format!("{at}: `at_least_of.of[{i}]` has no condition"));
            }
            if sub.at_least_of.is_some() {
                problems.push(format!("{at}: `at_least_of.of[{i}]` nests another count"));
            }
            when_problems(sub, &format!("{at} at_least_of.of[{i}]"), problems);
        }
    }
    match &w.gene {
        Some(g) => {
            if crate::vocab::pgx::gene(g) != Some(g.as_str()) {
                problems.push(format!(
                    "{at}: unknown gene `{g}` (accepted: {})",
                    crate::vocab::pgx::GENES.join(", ")
                ));
            }
            if w.phenotypes.is_empty() {
                problems.push(format!("{at}: `gene` needs `phenotypes`"));
            }
            for p in &w.phenotypes {
                if crate::vocab::pgx::phenotype(p) != Some(p.as_str()) {
                    problems.push(format!(
                        "{at}: phenotype `{p}` is not canonical (accepted: {})",
                        crate::vocab::pgx::accepted_phenotypes()
                    ));
                }
            }
        }
        None if !w.phenotypes.is_empty() => {
            problems.push(format!("{at}: `phenotypes` need `gene`"));
        }
        None => {}
    }
    if w.trimesters.iter().any(|t| !(1..=3).contains(t)) {
        problems.push(format!("{at}: trimesters must be 1, 2 or 3"));
    }
    if !w.trimesters.is_empty() && w.pregnant != Some(true) {
        problems.push(format!("{at}: `trimesters` needs `pregnant = true`"));
    }
}

/// Passages that no record cites (imported ones excepted).
fn orphans(kb: &Kb) -> Vec<String> {
    let cited: BTreeSet<&str> = kb
        .cited_sources()
        .into_iter()
        .flat_map(|(_, _, s)| s.iter().map(String::as_str))
        .chain(crate::vocab::sources::BUILTIN_SOURCES.iter().copied())
        .collect();
    kb.records
        .passages
        .iter()
        .filter(|p| !p.origin.file.starts_with("import:") && !cited.contains(p.id.as_str()))
        .map(|p| {
            format!(
                "{}: passage `{}` is not cited by any record (orphan)",
                p.origin, p.id
            )
        })
        .collect()
}

/// A class-level rule whose own suggestion recommends a member of that
/// class: "prefer azithromycin" on a rule written against all macrolides
/// flags azithromycin with advice to use azithromycin. Only members the
/// rule reaches through a class are reported; a drug the rule names itself
/// is usually the subject of a dose instruction ("if glyburide is used,
/// start at 1.25 mg").
fn self_contradicting_suggestions(kb: &Kb) -> Vec<String> {
    let r = &kb.records;
    // (origin, id, suggestion, every ref the record matches through)
    macro_rules! entries {
        ($list:expr, |$x:ident| $refs:expr) => {
            $list.iter().map(|$x| {
                (
                    &$x.origin,
                    $x.id.as_str(),
                    $x.suggestion.as_str(),
                    $refs.collect::<Vec<&String>>(),
                )
            })
        };
    }
    let mut records: Vec<(&super::model::Origin, &str, &str, Vec<&String>)> = Vec::new();
    records.extend(entries!(r.interactions, |x| x.a.iter().chain(&x.b)));
    records.extend(entries!(r.rules, |x| x.drugs.iter()));
    records.extend(entries!(r.doses, |x| x.drugs.iter()));
    records.extend(entries!(r.allergies, |x| x.drugs.iter()));
    records.extend(entries!(r.combinations, |x| x.refs()));
    let mut out = Vec::new();
    for (origin, id, suggestion, refs) in records {
        let (classes, named): (Vec<&String>, Vec<&String>) =
            refs.into_iter().partition(|r| r.starts_with("class:"));
        let named = kb.resolve_refs(&named.into_iter().cloned().collect::<Vec<_>>());
        for (drug, mention) in kb.suggested_drugs(suggestion) {
            if named.contains(&drug) {
                continue;
            }
            if let Some(class) = classes
                .iter()
                .find(|c| kb.matches(std::slice::from_ref(*c), drug))
            {
                out.push(format!(
                    "{origin}: `{id}` suggests {mention} as an alternative, but the rule itself matches {} through `{class}`: narrow the rule or the suggestion",
                    kb.drug(drug).name
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled kb with one more rules file.
    fn lint_with(extra: &str) -> Vec<String> {
        let mut sources = Sources::bundled();
        sources
            .files
            .push(("rules/zz-lint-test.toml".into(), extra.into()));
        lint(&sources)
    }

    fn interaction(b: &str, suggestion: &str) -> String {
        format!(
            r#"[[interaction]]
id = "ddi-lint-test"
a = ["carbamazepine"]
b = [{b}]
severity = "major"
summary = "{{a}} with {{b}}: test."
suggestion = "{suggestion}"
sources = ["ddi-carbamazepine-label"]
"#
        )
    }

    #[test]
    fn a_class_rule_suggesting_its_own_member_is_reported() {
        // The audit's finding 4: every macrolide flagged, azithromycin advised.
        let problems = lint_with(&interaction(
            r#""class:macrolides""#,
            "Prefer azithromycin or a non-interacting drug.",
        ));
        let hit: Vec<&String> = problems
            .iter()
            .filter(|p| p.contains("ddi-lint-test"))
            .collect();
        assert_eq!(hit.len(), 1, "{problems:#?}");
        assert!(hit[0].contains("azithromycin") && hit[0].contains("class:macrolides"));
        // The same members through a brand name are the same drug.
        let problems = lint_with(&interaction(
            r#""class:macrolides""#,
            "Use Zithromax instead.",
        ));
        assert!(
            problems.iter().any(|p| p.contains("ddi-lint-test")),
            "{problems:#?}"
        );
    }

    #[test]
    fn dose_instructions_named_drugs_and_other_clauses_are_not_alternatives() {
        for (b, suggestion) in [
            // Outside the class: a real alternative.
            (
                r#""clarithromycin", "erythromycin""#,
                "Prefer azithromycin.",
            ),
            // A dose instruction for a member, not a choice of it.
            (
                r#""class:macrolides""#,
                "Use azithromycin at a reduced dose.",
            ),
            // Named by the rule itself: its own subject.
            (r#""azithromycin""#, "Consider azithromycin monitoring."),
            // No cue word in the clause naming it.
            (
                r#""class:macrolides""#,
                "Avoid; azithromycin levels are unaffected",
            ),
        ] {
            let problems = lint_with(&interaction(b, suggestion));
            assert!(
                !problems.iter().any(|p| p.contains("ddi-lint-test")),
                "{b} / {suggestion}: {problems:#?}"
            );
        }
    }
}
