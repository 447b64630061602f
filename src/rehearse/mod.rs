//! Trainee rehearsal (`rxguide rehearse [CASE_DIR]`): the trainee sees a
//! teaching case, records a decision and the risks they spotted, and only
//! then sees the flags, the sources and the model answer, with a score.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | the domain: [`Decision`], [`score`], [`Attempt`], the case library, summaries and CSV (no UI) |
//! | [`store`] | progress per trainee in sled ([`store::ProgressStore`]) |
//! | [`ui`] | the screens (name, cases, attempt, reveal, summary) |
//!
//! The engine's flags are the answer key (deterministic flags are the
//! authority): a risk kind the engine raised and the trainee named is
//! found, one they did not name is missed, one they named that the engine
//! did not raise is a false alarm.

pub mod store;
pub mod ui;

use crate::clinical::{Flag, Kind, Severity};
use crate::intake::Case;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What the trainee decides to do with the proposed drug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Proceed,
    AdjustDose,
    ChooseAlternative,
    Avoid,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Proceed,
        Decision::AdjustDose,
        Decision::ChooseAlternative,
        Decision::Avoid,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Decision::Proceed => "proceed",
            Decision::AdjustDose => "adjust dose",
            Decision::ChooseAlternative => "choose alternative",
            Decision::Avoid => "avoid",
        }
    }
}

/// Decisions consistent with the flags: none raised -> proceed; the most
/// serious contraindicated -> avoid or an alternative (or a dose change
/// when the flag is about the dose); major -> anything but proceed;
/// moderate or minor -> proceed with care, adjust or switch.
pub fn acceptable_decisions(flags: &[Flag]) -> Vec<Decision> {
    use Decision::*;
    let Some(top) = flags.iter().map(|f| f.severity).max() else {
        return vec![Proceed];
    };
    let dose = flags
        .iter()
        .any(|f| f.severity == top && f.kind == Kind::Dose);
    let mut v = match top {
        Severity::Contraindicated => vec![ChooseAlternative, Avoid],
        Severity::Major => vec![AdjustDose, ChooseAlternative, Avoid],
        Severity::Moderate => vec![Proceed, AdjustDose, ChooseAlternative],
        Severity::Minor => vec![Proceed, AdjustDose],
    };
    if dose && !v.contains(&AdjustDose) {
        v.insert(0, AdjustDose);
    }
    v
}

/// How an attempt scored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub found: Vec<Kind>,
    pub missed: Vec<Kind>,
    pub false_alarms: Vec<Kind>,
    pub decision_ok: bool,
}

/// Scores the risks the trainee named and their decision against the
/// engine's flags.
pub fn score(spotted: &BTreeSet<Kind>, decision: Decision, flags: &[Flag]) -> Score {
    let truth: BTreeSet<Kind> = flags.iter().map(|f| f.kind).collect();
    Score {
        found: truth.intersection(spotted).copied().collect(),
        missed: truth.difference(spotted).copied().collect(),
        false_alarms: spotted.difference(&truth).copied().collect(),
        decision_ok: acceptable_decisions(flags).contains(&decision),
    }
}

/// A typed risk, read as a flag kind: its name or a prefix of it ("inter"),
/// or a common word for it ("kidney", "liver", "ddi", "elderly", ...).
pub fn parse_risk(text: &str) -> Option<Kind> {
    let t = text.trim().to_lowercase();
    if t.len() < 3 {
        return None;
    }
    if let Some(k) = Kind::ALL.into_iter().find(|k| k.as_str().starts_with(&t)) {
        return Some(k);
    }
    const ALIASES: [(&str, Kind); 24] = [
        ("ddi", Kind::Interaction),
        ("drug interaction", Kind::Interaction),
        ("serotonin", Kind::Interaction),
        ("bleed", Kind::Interaction),
        ("kidney", Kind::Renal),
        ("egfr", Kind::Renal),
        ("crcl", Kind::Renal),
        ("liver", Kind::Hepatic),
        ("cirrhosis", Kind::Hepatic),
        ("anaphylaxis", Kind::Allergy),
        ("cross-reactivity", Kind::Allergy),
        ("pregnant", Kind::Pregnancy),
        ("teratogen", Kind::Pregnancy),
        ("breastfeeding", Kind::Lactation),
        ("breast milk", Kind::Lactation),
        ("elderly", Kind::Beers),
        ("older adult", Kind::Beers),
        ("falls", Kind::Beers),
        ("duplication", Kind::Duplicate),
        ("overdose", Kind::Dose),
        ("max dose", Kind::Dose),
        ("potassium", Kind::Lab),
        ("qt", Kind::Lab),
        ("asthma", Kind::Condition),
    ];
    ALIASES
        .iter()
        .find(|(w, _)| t.contains(w))
        .map(|&(_, k)| k)
        .or_else(|| (t.contains("unknown") || t.contains("spelling")).then_some(Kind::UnknownDrug))
}

/// One finished attempt, as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub trainee: String,
    pub case: String,
    #[serde(default)]
    pub title: String,
    /// Local time, `YYYY-MM-DD HH:MM:SS`.
    pub when: String,
    pub decision: Decision,
    pub spotted: Vec<Kind>,
    /// Typed risks as entered (those read as a kind are in `spotted` too).
    #[serde(default)]
    pub typed: Vec<String>,
    pub score: Score,
}

/// A teaching case and where it came from.
#[derive(Debug, Clone)]
pub struct LibraryCase {
    pub path: PathBuf,
    pub case: Case,
}

impl LibraryCase {
    pub fn title(&self) -> String {
        self.case
            .title
            .clone()
            .unwrap_or_else(|| self.case.patient_summary())
    }

    pub fn model_answer(&self) -> Option<&str> {
        self.case.expect.as_ref().and_then(|e| e.answer.as_deref())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("case directory {0}: {1}")]
    Dir(PathBuf, String),
    #[error("{0}")]
    Case(String),
    #[error("case directory {0}: no case files (*.toml)")]
    Empty(PathBuf),
}

/// Every `*.toml` case in `dir`, sorted by file name. A file that does not
/// load is an error naming it (a teaching library must be whole).
pub fn load_library(dir: &Path) -> Result<Vec<LibraryCase>, LibraryError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| LibraryError::Dir(dir.to_path_buf(), e.to_string()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(LibraryError::Empty(dir.to_path_buf()));
    }
    paths
        .into_iter()
        .map(|path| {
            crate::intake::load_case(&path)
                .map(|case| LibraryCase { path, case })
                .map_err(|e| LibraryError::Case(e.to_string()))
        })
        .collect()
}

/// Totals over a set of attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub attempts: usize,
    pub found: usize,
    pub missed: usize,
    pub false_alarms: usize,
    pub decisions_ok: usize,
}

impl Totals {
    pub fn of<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Totals {
        let mut t = Totals::default();
        for a in attempts {
            t.attempts += 1;
            t.found += a.score.found.len();
            t.missed += a.score.missed.len();
            t.false_alarms += a.score.false_alarms.len();
            t.decisions_ok += usize::from(a.score.decision_ok);
        }
        t
    }

    /// Found / (found + missed), when anything was there to find.
    pub fn sensitivity(&self) -> Option<f64> {
        let n = self.found + self.missed;
        (n > 0).then(|| self.found as f64 / n as f64)
    }

    pub fn decision_accuracy(&self) -> Option<f64> {
        (self.attempts > 0).then(|| self.decisions_ok as f64 / self.attempts as f64)
    }
}

/// Results over time: totals per day (`YYYY-MM-DD`), oldest first.
pub fn by_day(attempts: &[Attempt]) -> Vec<(String, Totals)> {
    let mut days: std::collections::BTreeMap<String, Vec<&Attempt>> = Default::default();
    for a in attempts {
        let day = a.when.get(..10).unwrap_or(&a.when).to_string();
        days.entry(day).or_default().push(a);
    }
    days.into_iter()
        .map(|(d, list)| (d, Totals::of(list)))
        .collect()
}

fn kinds(list: &[Kind]) -> String {
    list.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// Every attempt as CSV, one row each.
pub fn csv(attempts: &[Attempt]) -> String {
    use crate::tui::modes::csv_field as f;
    let mut out = String::from(
        "trainee,when,case,decision,decision_ok,found,missed,false_alarms,found_kinds,missed_kinds,false_alarm_kinds,typed\n",
    );
    for a in attempts {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            f(&a.trainee),
            f(&a.when),
            f(&a.case),
            a.decision.label(),
            a.score.decision_ok,
            a.score.found.len(),
            a.score.missed.len(),
            a.score.false_alarms.len(),
            kinds(&a.score.found),
            kinds(&a.score.missed),
            kinds(&a.score.false_alarms),
            f(&a.typed.join("; ")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical::Indicator;

    fn flag(kind: Kind, severity: Severity) -> Flag {
        Flag {
            kind,
            severity,
            indicator: Indicator::Critical,
            drugs: vec!["x".into()],
            concerns: Default::default(),
            summary: String::new(),
            detail: String::new(),
            suggestion: String::new(),
            sources: vec!["s".into()],
            evidence: None,
            rules: vec![],
            inputs: vec![],
            includes: vec![],
        }
    }

    #[test]
    fn found_missed_and_false_alarms() {
        let flags = [
            flag(Kind::Renal, Severity::Contraindicated),
            flag(Kind::Beers, Severity::Moderate),
        ];
        let spotted = BTreeSet::from([Kind::Renal, Kind::Allergy]);
        let s = score(&spotted, Decision::Avoid, &flags);
        assert_eq!(s.found, [Kind::Renal]);
        assert_eq!(s.missed, [Kind::Beers]);
        assert_eq!(s.false_alarms, [Kind::Allergy]);
        assert!(s.decision_ok);
        assert!(!score(&spotted, Decision::Proceed, &flags).decision_ok);
    }

    #[test]
    fn negative_control_wants_proceed_and_no_alarms() {
        let s = score(&BTreeSet::new(), Decision::Proceed, &[]);
        assert_eq!(
            s,
            Score {
                decision_ok: true,
                ..Score::default()
            }
        );
        assert!(!score(&BTreeSet::new(), Decision::Avoid, &[]).decision_ok);
    }

    #[test]
    fn a_contraindicated_dose_accepts_a_dose_change() {
        let flags = [flag(Kind::Dose, Severity::Contraindicated)];
        assert!(acceptable_decisions(&flags).contains(&Decision::AdjustDose));
        let flags = [flag(Kind::Interaction, Severity::Contraindicated)];
        assert!(!acceptable_decisions(&flags).contains(&Decision::AdjustDose));
    }

    #[test]
    fn typed_risks_read_as_kinds() {
        assert_eq!(parse_risk("kidney function"), Some(Kind::Renal));
        assert_eq!(parse_risk("inter"), Some(Kind::Interaction));
        assert_eq!(parse_risk("Pregnancy"), Some(Kind::Pregnancy));
        assert_eq!(parse_risk("QT prolongation"), Some(Kind::Lab));
        assert_eq!(parse_risk("zz"), None);
        assert_eq!(parse_risk("costs"), None);
    }

    #[test]
    fn totals_by_day_and_csv() {
        let a = Attempt {
            trainee: "Ana, RN".into(),
            case: "metformin-ckd4".into(),
            title: String::new(),
            when: "2025-03-01 10:00:00".into(),
            decision: Decision::Avoid,
            spotted: vec![Kind::Renal],
            typed: vec![],
            score: Score {
                found: vec![Kind::Renal],
                missed: vec![Kind::Beers],
                false_alarms: vec![],
                decision_ok: true,
            },
        };
        let mut b = a.clone();
        b.when = "2025-03-02 09:00:00".into();
        b.score.decision_ok = false;
        let days = by_day(&[b.clone(), a.clone()]);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].0, "2025-03-01");
        let t = Totals::of([&a, &b]);
        assert_eq!(t.sensitivity(), Some(0.5));
        assert_eq!(t.decision_accuracy(), Some(0.5));
        let text = csv(&[a]);
        assert!(text.contains(
            "\"Ana, RN\",2025-03-01 10:00:00,metformin-ckd4,avoid,true,1,1,0,renal,beers,,"
        ));
    }

    #[test]
    fn shipped_library_is_broad() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions/cases");
        let lib = load_library(&dir).expect("library loads");
        assert!(lib.len() >= 30);
        assert!(
            lib.iter().all(|c| c.model_answer().is_some()),
            "every case has an answer"
        );
        let negatives = lib
            .iter()
            .filter(|c| c.case.expect.as_ref().is_some_and(|e| e.flags.is_empty()))
            .count();
        assert!(negatives >= 5);
        for kind in Kind::ALL {
            assert!(
                lib.iter().any(|c| c
                    .case
                    .expect
                    .as_ref()
                    .is_some_and(|e| e.flags.iter().any(|f| f.kind == kind))),
                "no case expects a {kind} flag"
            );
        }
        let ids: BTreeSet<&str> = lib.iter().map(|c| c.case.id.as_str()).collect();
        assert_eq!(ids.len(), lib.len(), "unique ids");
    }
}
