//! Several drugs at once (`[[combination]]`): one distinct drug from each
//! of several groups (an NSAID with an ACE inhibitor or ARB and a diuretic),
//! or a count of drugs sharing an effect (QT-prolonging, potassium-raising),
//! with an optional patient condition. The pairwise interaction flags among
//! the drugs found are grouped under the combination's flag (see
//! [`super::Findings::group_under_combinations`]).

use super::state::{evaluate, Outcome};
use super::{Context, Finding, Findings, Resolved, Subject};
use crate::clinical::{Concerns, Kind};
use crate::kb::model::CombinationRule;
use crate::kb::DrugId;

pub fn check(ctx: &Context<'_>, out: &mut Findings) {
    // Distinct drugs of the regimen, proposed ones first.
    let mut drugs: Vec<(&Resolved<'_>, DrugId)> = Vec::new();
    for (r, id) in ctx.known() {
        if !drugs.iter().any(|&(_, d)| d == id) {
            drugs.push((r, id));
        }
    }
    for rule in &ctx.kb.records.combinations {
        let Some(found) = found(ctx, rule, &drugs) else {
            continue;
        };
        let first = found[0].0;
        let mut inputs = match evaluate(ctx, &rule.when, first) {
            Outcome::Match { inputs, .. } => inputs,
            Outcome::NoMatch => continue,
            Outcome::Missing(m) => {
                let names: Vec<&str> = found.iter().map(|&(_, id)| ctx.name(id)).collect();
                out.not_checked(
                    &names.join(" + "),
                    "combination rules",
                    format!("`{}` needs {}", rule.id, m.join(", ")),
                );
                continue;
            }
        };
        let names: Vec<&str> = found.iter().map(|&(_, id)| ctx.name(id)).collect();
        for &(r, id) in &found {
            inputs.push(format!("{} {}", ctx.name(id), r.role()));
        }
        let count = found.len().to_string();
        let list = names.join(", ");
        let vars = [("drugs", list.as_str()), ("count", count.as_str())];
        out.push(Finding::from_record(
            rule,
            Subject {
                kind: Kind::Combination,
                severity: rule.severity,
                drugs: names.iter().map(|n| n.to_string()).collect(),
                concerns: found
                    .iter()
                    .map(|(r, _)| r.concerns())
                    .min()
                    .unwrap_or(Concerns::Current),
                inputs,
            },
            &vars,
        ));
    }
}

/// The drugs that make up the combination, or None when it is not there.
fn found<'r, 'a>(
    ctx: &Context<'_>,
    rule: &CombinationRule,
    drugs: &[(&'r Resolved<'a>, DrugId)],
) -> Option<Vec<(&'r Resolved<'a>, DrugId)>> {
    if !rule.groups.is_empty() {
        // Each group needs its own drug (one drug cannot fill two groups).
        let options: Vec<Vec<usize>> = rule
            .groups
            .iter()
            .map(|g| {
                (0..drugs.len())
                    .filter(|&i| ctx.kb.matches(g, drugs[i].1))
                    .collect()
            })
            .collect();
        if !assign(&options, &mut Vec::new()) {
            return None;
        }
        // Every drug of the regimen in any group belongs to the finding.
        let all: Vec<_> = (0..drugs.len())
            .filter(|i| options.iter().any(|o| o.contains(i)))
            .map(|i| drugs[i])
            .collect();
        return Some(all);
    }
    let members: Vec<_> = drugs
        .iter()
        .copied()
        .filter(|&(_, id)| ctx.kb.matches(&rule.members, id))
        .collect();
    let n = rule.at_least.unwrap_or(2) as usize;
    (members.len() >= n).then_some(members)
}

/// Whether each group can get a distinct drug (backtracking; groups and
/// regimens are small).
fn assign(options: &[Vec<usize>], taken: &mut Vec<usize>) -> bool {
    let Some((first, rest)) = options.split_first() else {
        return true;
    };
    for &i in first {
        if taken.contains(&i) {
            continue;
        }
        taken.push(i);
        if assign(rest, taken) {
            return true;
        }
        taken.pop();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::assign;

    #[test]
    fn groups_need_distinct_drugs() {
        // One drug in two groups cannot fill both.
        assert!(!assign(&[vec![0], vec![0]], &mut Vec::new()));
        assert!(assign(&[vec![0, 1], vec![0]], &mut Vec::new()));
        assert!(assign(&[vec![2], vec![0, 2], vec![1, 2]], &mut Vec::new()));
        assert!(!assign(&[vec![0], vec![1], vec![]], &mut Vec::new()));
    }
}
