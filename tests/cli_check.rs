//! The real binary: `check --json` on every example case, and bad case
//! files (exit 2, one line on stderr naming file and field, empty stdout).

use assert_cmd::Command;
use rxguide::clinical::expect::{matches, score};
use rxguide::clinical::Flag;
use rxguide::intake::load_case;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rxguide(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rxguide").expect("binary built");
    cmd.env("RXGUIDE_DATA", data).env("NO_COLOR", "1");
    cmd
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("sessions/cases"))
        .expect("sessions/cases exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_case_passes_check_json() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() >= 6, "example cases copied into sessions/cases");
    for path in all {
        let out = rxguide(data.path())
            .args(["check", "--json"])
            .arg(&path)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
        let flags: Vec<Flag> =
            serde_json::from_value(json["flags"].clone()).expect("flags per contract");
        // Contract invariants.
        for f in &flags {
            assert!(
                !f.sources.is_empty(),
                "{}: flag without source",
                path.display()
            );
            assert!(f.drugs.iter().all(|d| d == &d.to_lowercase()));
        }
        assert!(
            flags.windows(2).all(|w| w[0].severity >= w[1].severity),
            "sorted by severity"
        );
        let case = load_case(&path).expect("valid case");
        if let Some(expect) = &case.expect {
            let r = score(expect, &flags);
            if !r.passed() {
                failures.push(format!(
                    "{}: missing {:?}, unwanted {:?}",
                    path.display(),
                    r.missing,
                    r.unwanted
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn metformin_ckd4_json_matches_contract_example() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["check", "--json"])
        .arg(root().join("sessions/cases/metformin-ckd4.toml"))
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["case"], "metformin-ckd4");
    assert_eq!(v["derived"]["crcl_ml_min"], 21.5);
    assert_eq!(v["derived"]["crcl_weight"], "actual");
    assert_eq!(v["derived"]["egfr_ml_min_1_73m2"], 24.3);
    assert_eq!(v["derived"]["bmi"], 22.7);
    assert_eq!(v["derived"]["ibw_kg"], 52.4);
    let flag = &v["flags"][0];
    assert_eq!(flag["kind"], "renal");
    assert_eq!(flag["severity"], "contraindicated");
    assert_eq!(flag["indicator"], "critical");
    assert_eq!(flag["drugs"][0], "metformin");
    let sources = flag["sources"].as_array().expect("sources");
    let passages = v["passages"].as_array().expect("passages");
    for s in sources {
        assert!(
            passages.iter().any(|p| &p["id"] == s),
            "cited passage {s} listed in passages"
        );
    }
}

#[test]
fn bad_case_files_exit_2_with_one_line() {
    let data = tempfile::tempdir().expect("tempdir");
    let dir = root().join("tests/fixtures/bad");
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).expect("EXPECTED");
    let mut n = 0;
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (file, needle) = line.split_once('|').expect("file | needle");
        let (file, needle) = (file.trim(), needle.trim());
        let out = rxguide(data.path())
            .args(["check", "--json"])
            .arg(dir.join(file))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(out.stdout.is_empty(), "{file}: stdout must be empty");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{file}: one line: {stderr}"
        );
        assert!(stderr.contains(file), "{file}: names the file: {stderr}");
        assert!(
            stderr.contains(needle),
            "{file}: expected `{needle}` in: {stderr}"
        );
        n += 1;
    }
    assert!(n >= 10);
}

#[test]
fn missing_file_is_bad_input() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["check", "/nonexistent/case.toml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/case.toml"));
}

#[test]
fn unknown_drug_is_flagged_with_suggestions_never_silent() {
    let data = tempfile::tempdir().expect("tempdir");
    let case = data.path().join("typo.toml");
    std::fs::write(
        &case,
        "[patient]\nage = 50\nsex = \"male\"\n[[proposed]]\ndrug = \"warfrain\"\n",
    )
    .expect("write");
    let out = rxguide(data.path())
        .args(["check", "--json"])
        .arg(&case)
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let flags: Vec<Flag> = serde_json::from_value(v["flags"].clone()).expect("flags");
    let unknown = flags
        .iter()
        .find(|f| f.kind == rxguide::clinical::Kind::UnknownDrug)
        .expect("unknown-drug flag");
    // One close known name: a warning that names it (issue 18), never a
    // silent guess and never a bare "minor".
    assert_eq!(unknown.severity, rxguide::clinical::Severity::Moderate);
    assert!(
        unknown.summary.contains("did you mean warfarin?"),
        "{}",
        unknown.summary
    );
    assert_eq!(v["flags"][0]["indicator"], "warning");
    assert!(unknown.summary.contains("warfarin"), "{}", unknown.summary);
}

#[test]
fn human_output_names_severity_in_words() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .arg("check")
        .arg(root().join("sessions/cases/warfarin-ibuprofen.toml"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MAJOR"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    let _ = matches; // re-exported helper used by eval
}

#[test]
fn kb_stats_and_search_work_from_any_directory() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .current_dir(data.path())
        .args(["kb", "stats", "--json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["drugs"].as_u64().unwrap_or(0) > 0);
    let out = rxguide(data.path())
        .current_dir(data.path())
        .args(["kb", "search", "metformin renal", "--json"])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v[0]["id"]
            .as_str()
            .is_some_and(|id| id.contains("metformin")),
        "{v}"
    );
}

#[test]
fn bundled_kb_is_lint_clean() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["kb", "check"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 19, finding 4: a drug name carrying terminal escapes (erase the
/// line, move the cursor up, print a reassuring line) could replace the
/// MAJOR warfarin-ibuprofen flag on a real terminal with "No flags raised.
/// Safe to prescribe.". The report and the error lines now show every
/// control and bidirectional character as `<U+XXXX>`, and a value cannot
/// start a line of its own.
#[test]
fn control_characters_in_input_are_shown_never_obeyed() {
    let data = tempfile::tempdir().expect("tempdir");
    let spoof = "vitamin\u{1b}[2K\u{1b}[1A\u{1b}[2KNo flags raised. Safe to prescribe.\u{202E}";
    let case = format!(
        "title = \"spoof\"\n[patient]\nage = 68\nsex = \"male\"\n[labs]\ncreatinine_mg_dl = 1.0\n\
         [[medications]]\ndrug = \"warfarin\"\ndose = \"5 mg\"\nfrequency = \"daily\"\n\
         [[medications]]\ndrug = {spoof:?}\n\
         [[proposed]]\ndrug = \"ibuprofen\"\ndose = \"400 mg\"\nfrequency = \"tid\"\n"
    )
    .replace("\\u{1b}", "\\u001b")
    .replace("\\u{202e}", "\\u202E");
    let path = data.path().join("spoof.toml");
    std::fs::write(&path, &case).expect("write case");
    let out = rxguide(data.path())
        .arg("check")
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202E}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("<U+001B>[2K"), "{stdout}");
    assert!(
        stdout.contains("MAJOR") && stdout.contains("warfarin"),
        "{stdout}"
    );

    // an error whose value holds escapes and a newline stays one line
    let bad = case.replace("sex = \"male\"", "sex = \"m\\u001b[2Ka\\nle\"");
    std::fs::write(&path, bad).expect("write case");
    let out = rxguide(data.path())
        .args(["check", "--json"])
        .arg(&path)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(
        stderr.contains("<U+001B>") && stderr.contains("<U+000A>"),
        "{stderr}"
    );
}
