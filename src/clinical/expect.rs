//! Scoring flags against a case's `[expect]` table (tests, `eval`,
//! rehearsal): every expected flag present with at least the stated
//! severity, and no `absent` flag present.

use super::{Flag, Kind, Severity};
use crate::intake::{Expect, ExpectedFlag};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectResult {
    /// Expected flags with no matching flag.
    pub missing: Vec<ExpectedFlag>,
    /// `absent` entries that matched a flag, with that flag's summary.
    pub unwanted: Vec<(ExpectedFlag, String)>,
}

impl ExpectResult {
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.unwanted.is_empty()
    }
}

/// Whether `flag` satisfies `e` (kind, drugs as a subset, severity at
/// least), itself or through a flag it groups (an interaction shown under
/// the combination that includes it is still found).
pub fn matches(e: &ExpectedFlag, flag: &Flag) -> bool {
    let hit = |kind: Kind, drugs: &[String], severity: Severity| {
        kind == e.kind
            && e.drugs
                .iter()
                .all(|d| drugs.iter().any(|f| f.eq_ignore_ascii_case(d.trim())))
            && e.severity.is_none_or(|s| severity >= s)
    };
    hit(flag.kind, &flag.drugs, flag.severity)
        || flag
            .includes
            .iter()
            .any(|i| hit(i.kind, &i.drugs, i.severity))
}

pub fn score(expect: &Expect, flags: &[Flag]) -> ExpectResult {
    ExpectResult {
        missing: expect
            .flags
            .iter()
            .filter(|e| !flags.iter().any(|f| matches(e, f)))
            .cloned()
            .collect(),
        unwanted: expect
            .absent
            .iter()
            .filter_map(|e| {
                let absent = ExpectedFlag {
                    severity: None,
                    ..e.clone()
                };
                flags
                    .iter()
                    .find(|f| matches(&absent, f))
                    .map(|f| (e.clone(), f.summary.clone()))
            })
            .collect(),
    }
}
