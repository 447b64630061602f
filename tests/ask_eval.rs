//! `ask` and `eval` through the real binary: the `none` backend always, and
//! the real default model (mistral.rs, SmolLM2 GGUF) when it is present
//! (CI fetches it and sets RXGUIDE_REQUIRE_MODEL=1 so these never skip there).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rxguide(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rxguide").expect("binary");
    cmd.env("RXGUIDE_DATA", data).env("NO_COLOR", "1");
    cmd
}

fn model() -> Option<PathBuf> {
    let path = rxguide::llm::default_model_path();
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("RXGUIDE_REQUIRE_MODEL").is_none(),
        "RXGUIDE_REQUIRE_MODEL is set but {} is missing (run scripts/fetch-model)",
        path.display()
    );
    eprintln!(
        "skipping: no model at {} (run scripts/fetch-model)",
        path.display()
    );
    None
}

#[test]
fn ask_without_a_model_keeps_flags_and_says_so() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["ask", "--backend", "none", "--json"])
        .arg(root().join("sessions/cases/warfarin-ibuprofen.toml"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["answer"], "");
    assert_eq!(v["backend"], "none");
    assert_eq!(v["flags"][0]["kind"], "interaction");
    let text = rxguide(data.path())
        .args(["ask", "--backend", "none"])
        .arg(root().join("sessions/cases/warfarin-ibuprofen.toml"))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("MAJOR") && text.contains("no model"),
        "{text}"
    );
}

#[test]
fn ask_rejects_bad_backend_and_bad_case() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["ask", "--backend", "gpt"])
        .arg(root().join("sessions/cases/warfarin-ibuprofen.toml"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("local, openai, none"));
    let out = rxguide(data.path())
        .args(["ask", "--backend", "none"])
        .arg(root().join("tests/fixtures/bad/pregnant-male.toml"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn eval_without_a_model_writes_tables_per_condition() {
    let data = tempfile::tempdir().expect("tempdir");
    let out_dir = data.path().join("eval");
    let out = rxguide(data.path())
        .args(["eval", "--backend", "none", "--rag", "on,off", "--out"])
        .arg(&out_dir)
        .arg(root().join("sessions/cases"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "rag-on.md",
        "rag-on.json",
        "rag-off.md",
        "rag-off.json",
        "summary.md",
        "answers.json",
    ] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    let on: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("rag-on.json")).expect("read"))
            .expect("json");
    assert!(on["cases"].as_u64().unwrap_or(0) >= 6);
    // No answer mentions anything: recall 0, no conflicts.
    assert_eq!(on["mentioned_flags"], 0);
    assert_eq!(on["answers_with_conflict"], 0);
    let answers: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("answers.json")).expect("read"))
            .expect("json");
    assert_eq!(
        answers.as_array().map(Vec::len),
        Some(2 * on["cases"].as_u64().unwrap_or(0) as usize)
    );
    // A second run into the same folder is refused, naming what is there;
    // with --force it replaces the results.
    let again = |force: bool| {
        let mut cmd = rxguide(data.path());
        cmd.args([
            "eval",
            "--backend",
            "none",
            "--rag",
            "on",
            "--limit",
            "1",
            "--out",
        ])
        .arg(&out_dir);
        if force {
            cmd.arg("--force");
        }
        cmd.arg(root().join("sessions/cases"))
            .output()
            .expect("runs")
    };
    let refused = again(false);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("already holds eval results") && err.contains("summary.md"),
        "{err}"
    );
    let before = std::fs::read_to_string(out_dir.join("rag-on.json")).expect("read");
    assert!(before.contains("\"cases\""));
    let forced = again(true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("rag-on.json")).expect("read"))
            .expect("json");
    assert_eq!(after["cases"], 1);
}

#[test]
fn ask_json_with_the_real_model_fills_timings_and_checks_citations() {
    let Some(model) = model() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["ask", "--json", "--max-tokens", "48", "--model"])
        .arg(&model)
        .arg(root().join("sessions/cases/metformin-ckd4.toml"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["backend"], "local");
    assert!(
        v["answer"].as_str().is_some_and(|a| !a.trim().is_empty()),
        "{v}"
    );
    let t = &v["timings"];
    assert!(t["model_load_ms"].as_f64().is_some_and(|x| x > 0.0), "{t}");
    assert!(t["first_token_ms"].as_f64().is_some_and(|x| x > 0.0), "{t}");
    assert!(
        t["completion_tokens"]
            .as_u64()
            .is_some_and(|n| n > 0 && n <= 48),
        "{t}"
    );
    assert!(v["sentences"].as_array().is_some_and(|s| !s.is_empty()));
    // The citable ids are the retrieved passages, and the flag's own source
    // is among them.
    let citable: Vec<&str> = v["citable_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    assert!(citable.contains(&"metformin-label-renal"), "{citable:?}");
    // The flag is the engine's, whatever the model said.
    assert_eq!(v["flags"][0]["severity"], "contraindicated");
}

#[test]
fn eval_with_the_real_model_on_one_case_both_arms() {
    let Some(model) = model() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let out_dir = data.path().join("eval");
    let out = rxguide(data.path())
        .args(["eval", "--limit", "1", "--max-tokens", "24", "--out"])
        .arg(&out_dir)
        .arg("--model")
        .arg(&model)
        .arg(root().join("sessions/cases"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(out_dir.join("summary.md")).expect("summary");
    assert!(
        table.contains("| rag-on |") && table.contains("| rag-off |"),
        "{table}"
    );
    let off: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("rag-off.json")).expect("read"))
            .expect("json");
    assert_eq!(off["cases"], 1);
    assert!(off["mean_latency_ms"].as_f64().is_some_and(|x| x > 0.0));
}

#[test]
fn the_real_models_answer_never_repeats_a_sentence_and_the_note_decides() {
    // Issue 17: SmolLM2's answer for metformin-ckd4 said the same sentence
    // until the token limit. The answer job stops at the first repeat and
    // cuts it; the pharmacist's note carries the decision either way.
    let Some(_) = model() else { return };
    let data = tempfile::tempdir().expect("tempdir");
    let out = rxguide(data.path())
        .args(["ask", "--json"])
        .arg(root().join("sessions/cases/metformin-ckd4.toml"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let answer = v["answer"].as_str().expect("answer");
    assert_eq!(
        rxguide::llm::repeat::first_repeat(&format!("{answer} ")),
        None,
        "{answer}"
    );
    let sentences: Vec<String> = v["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s["text"].as_str().unwrap_or("").to_lowercase())
        .collect();
    let mut unique = sentences.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), sentences.len(), "{sentences:#?}");
    assert_eq!(v["note"]["drugs"][0]["decision"], "avoid", "{v:#}");
    assert!(v["note"]["drugs"][0]["alternatives"]
        .as_array()
        .is_some_and(|a| a
            .iter()
            .any(|x| x["drug"] == "linagliptin" && x["offered"] == true)));
}
