//! `rxguide kb import openfda`: a fixture in the openFDA label format, as
//! .json and inside a .zip, through the real binary and sled store.

use assert_cmd::Command;
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openfda/labels.json")
}

fn rxguide(data: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rxguide").expect("binary");
    cmd.env("RXGUIDE_DATA", data).env("NO_COLOR", "1");
    cmd
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn imports_json_passages_aliases_and_never_flags() {
    let data = tempfile::tempdir().expect("tempdir");
    let summary = json(
        &rxguide(data.path())
            .args(["kb", "import", "openfda", "--json"])
            .arg(fixture())
            .output()
            .expect("runs"),
    );
    assert_eq!(summary["labels"], 3);
    assert_eq!(summary["labels_without_set_id"], 1);
    assert_eq!(summary["passages"], 4); // boxed warning, contraindications, dosage; interactions
    assert_eq!(summary["brand_aliases"], 1); // GLUCOTESTRA -> metformin; ZYXOPRINE is unknown
    assert_eq!(summary["unknown_generics"], 1);

    let stats = json(
        &rxguide(data.path())
            .args(["kb", "stats", "--json"])
            .output()
            .expect("runs"),
    );
    assert_eq!(stats["imported_passages"], 4);

    let hits = json(
        &rxguide(data.path())
            .args(["kb", "search", "lactic acidosis postmarketing", "--json"])
            .output()
            .expect("runs"),
    );
    let first = hits[0]["id"].as_str().expect("id");
    assert_eq!(
        first,
        "fda-5d1e2f3a-1111-4222-8333-444455556666-boxed-warning-1"
    );
    assert!(hits[0]["source"]
        .as_str()
        .is_some_and(|s| s.contains("20240115")));

    // The imported brand name now resolves to metformin, and rules (not the
    // imported text) decide the flags.
    let case = data.path().join("c.toml");
    std::fs::write(&case, "[patient]\nage = 74\nsex = \"female\"\n[labs]\ncreatinine_mg_dl = 2.1\n[[proposed]]\ndrug = \"Glucotestra\"\n").expect("write");
    let v = json(
        &rxguide(data.path())
            .args(["check", "--json"])
            .arg(&case)
            .output()
            .expect("runs"),
    );
    assert_eq!(v["flags"][0]["kind"], "renal");
    assert_eq!(v["flags"][0]["drugs"][0], "metformin");
    // An unknown generic from a label stays unknown to the rules.
    std::fs::write(
        &case,
        "[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"zyxoprine\"\n",
    )
    .expect("write");
    let v = json(
        &rxguide(data.path())
            .args(["check", "--json"])
            .arg(&case)
            .output()
            .expect("runs"),
    );
    assert_eq!(v["flags"][0]["kind"], "unknown-drug");

    // Re-importing is idempotent (same ids).
    let _ = json(
        &rxguide(data.path())
            .args(["kb", "import", "openfda", "--json"])
            .arg(fixture())
            .output()
            .expect("runs"),
    );
    let stats = json(
        &rxguide(data.path())
            .args(["kb", "stats", "--json"])
            .output()
            .expect("runs"),
    );
    assert_eq!(stats["imported_passages"], 4);
}

#[test]
fn imports_zip_archives() {
    let data = tempfile::tempdir().expect("tempdir");
    let zip_path = data.path().join("drug-label-0001-of-0001.json.zip");
    let file = std::fs::File::create(&zip_path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file(
        "drug-label-0001-of-0001.json",
        zip::write::SimpleFileOptions::default(),
    )
    .expect("entry");
    zip.write_all(&std::fs::read(fixture()).expect("fixture"))
        .expect("write");
    zip.finish().expect("finish");
    let summary = json(
        &rxguide(data.path())
            .args(["kb", "import", "openfda", "--json"])
            .arg(&zip_path)
            .output()
            .expect("runs"),
    );
    assert_eq!(summary["passages"], 4);
}

#[test]
fn malformed_input_is_a_clear_error() {
    let data = tempfile::tempdir().expect("tempdir");
    let bad = data.path().join("bad.json");
    // not JSON at all (cut off): the file is refused, naming file and line
    std::fs::write(&bad, "{\"results\": [ {\"set_id\": \"A\"").expect("write");
    let out = rxguide(data.path())
        .args(["kb", "import", "openfda"])
        .arg(&bad)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("line 1"), "{err}");
}

/// `rxguide <args>` on the data dir, its stdout as JSON.
fn run(data: &Path, args: &[&str]) -> serde_json::Value {
    json(&rxguide(data).args(args).output().expect("runs"))
}

/// `rxguide check --json` on a case file holding `text`.
fn check(data: &Path, text: &str) -> serde_json::Value {
    let case = data.join("c.toml");
    std::fs::write(&case, text).expect("write");
    json(
        &rxguide(data)
            .args(["check", "--json"])
            .arg(&case)
            .output()
            .expect("runs"),
    )
}

/// Issue 19, finding 6: a label listing "NSAIDs", "Sulfa" and "Alteplase"
/// as brands removed two contraindicated allergy flags and made alteplase
/// resolve to acetaminophen; a brand on two generics was settled silently;
/// one bad label aborted the file and a BOM was refused. Now every such
/// brand is reported and not added, a bad label is skipped and reported,
/// the aliases that are added are listed and removable.
#[test]
fn imported_brand_names_cannot_rewrite_the_vocabulary() {
    let data = tempfile::tempdir().expect("tempdir");
    let label = |set_id: &str, generic: &str, brands: &[&str]| {
        serde_json::json!({
            "set_id": set_id,
            "effective_time": "20240101",
            "openfda": { "generic_name": [generic], "brand_name": brands },
            "warnings": [format!("{generic} label text.")],
        })
    };
    let doc = serde_json::json!({ "results": [
        label("s1", "ACETAMINOPHEN", &["Tylofenix", "NSAIDs", "Sulfa", "Alteplase", "NKDA", "Paracetamolix"]),
        label("s2", "ALTEPLASE", &["Activase"]),
        { "set_id": 7, "openfda": "not an object" },
        label("s3", "IBUPROFEN", &["Paracetamolix"]),
    ]});
    let path = data.path().join("labels.json");
    std::fs::write(&path, format!("\u{feff}{doc}")).expect("write");
    let summary = json(
        &rxguide(data.path())
            .args(["kb", "import", "openfda", "--json"])
            .arg(&path)
            .output()
            .expect("runs"),
    );
    assert_eq!(summary["labels"], 4, "{summary:#}");
    assert_eq!(
        summary["skipped_labels"].as_array().map(Vec::len),
        Some(1),
        "{summary:#}"
    );
    assert_eq!(summary["brand_aliases"], 1, "only Tylofenix: {summary:#}");
    let rejected: Vec<String> = summary["rejected_aliases"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for (brand, why) in [
        ("NSAIDs", "class"),
        ("Sulfa", "class"),
        ("Alteplase", "generic name of another label"),
        ("NKDA", "no known allergy"),
        ("Paracetamolix", "2 generics"),
    ] {
        assert!(
            rejected
                .iter()
                .any(|r| r.contains(brand) && r.contains(why)),
            "{brand}: {rejected:#?}"
        );
    }
    // the allergy to NSAIDs still flags ibuprofen
    let v = check(data.path(), "[patient]\nage = 40\nsex = \"male\"\n[[allergies]]\nsubstance = \"NSAIDs\"\n[[proposed]]\ndrug = \"ibuprofen\"\n");
    assert!(
        v["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["kind"] == "allergy")),
        "{v:#}"
    );
    // listed, counted, removable
    let list = run(data.path(), &["kb", "aliases", "--json"]);
    assert_eq!(list[0]["name"], "tylofenix", "{list:#}");
    assert_eq!(list[0]["drug"], "acetaminophen", "{list:#}");
    let stats = run(data.path(), &["kb", "stats", "--json"]);
    assert_eq!(stats["imported_aliases"], 1);
    let list = run(
        data.path(),
        &["kb", "aliases", "--remove", "Tylofenix", "--json"],
    );
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list:#}");
    let v = check(
        data.path(),
        "[patient]\nage = 40\nsex = \"male\"\n[[proposed]]\ndrug = \"Tylofenix\"\n",
    );
    assert_eq!(v["flags"][0]["kind"], "unknown-drug", "{v:#}");
}
