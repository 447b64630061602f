//! Scoring flags against a case's `[expect]` table (tests, `eval`,
//! rehearsal): every expected flag present with at least the stated
//! severity, and no `absent` flag present.

use super::Flag;
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

/// Whether `flag` satisfies `e` (kind, drugs as a subset, severity at least).
pub fn matches(e: &ExpectedFlag, flag: &Flag) -> bool {
    flag.kind == e.kind
        && e.drugs
            .iter()
            .all(|d| flag.drugs.iter().any(|f| f.eq_ignore_ascii_case(d.trim())))
        && e.severity.is_none_or(|s| flag.severity >= s)
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
