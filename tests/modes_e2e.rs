//! End-to-end: the real binary in tmux at 80x24 for each mode —
//! rehearse (name prompt, decision, reveal, summary, CSV export), review
//! (blinded rubric, unblinding, scores read back and exported), demo
//! (a script plays, pauses and finishes), `tui --record` (the recording
//! plays back), and the model catalogue (overlay and `models --json`).
//!
//! Each test uses its own tmux server socket, a temp RXGUIDE_DATA and
//! `--backend none`. Skipped when tmux is missing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rxguide")
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Starts `rxguide ARGS` in a fresh 80x24 tmux session.
    fn start(name: &str, data: &Path, args: &str) -> Tmux {
        let t = Tmux {
            socket: format!("rxguide-modes-{}-{name}", std::process::id()),
            session: name.to_string(),
        };
        let cmd = format!(
            "cd '{}' && exec env RXGUIDE_DATA='{}' RXGUIDE_CONFIG='{}' TERM=xterm-256color '{}' {args}",
            env!("CARGO_MANIFEST_DIR"),
            data.display(),
            data.join("config").display(),
            bin()
        );
        let ok = t
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                "-s",
                name,
                &cmd,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", &self.session, k]);
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, s: &str) {
        self.tmux(&["send-keys", "-t", &self.session, "-l", s]);
        std::thread::sleep(Duration::from_millis(80));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {needles:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_gone(&self) {
        let start = Instant::now();
        while self
            .tmux(&["has-session", "-t", &self.session])
            .status
            .success()
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "app did not exit"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn run(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("RXGUIDE_DATA", data)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs")
}

#[test]
fn rehearse_decide_reveal_summary_and_export() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("rehearse", data.path(), "rehearse");
    t.wait_for(&["who is rehearsing?"]);
    t.text("Ana");
    t.keys(&["Enter"]);
    t.wait_for(&[
        "Teaching cases (0 attempted)",
        "1. 40M, paracetamol 1 g q4h",
    ]);
    t.keys(&["Enter"]);
    let s = t.wait_for(&["Your decision", "Proposed: paracetamol 1 g q4h"]);
    assert!(
        !s.contains("MAJOR"),
        "flags hidden before the decision: {s}"
    );
    // adjust dose; tick "dose" (third row, first column).
    t.keys(&["2", "Down", "Down", "Space", "Enter"]);
    let s = t.wait_for(&["Score: 1 found · 0 missed · 0 false alarm(s)", "MAJOR dose"]);
    assert!(s.contains("Model answer"), "{s}");
    t.keys(&["s"]);
    t.wait_for(&["Results over time", "1 attempt(s)"]);
    t.keys(&["q"]);
    t.wait_gone();
    let out = run(data.path(), &["rehearse", "--export-csv", "-"]);
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.contains("Ana,")
            && csv.contains(",acetaminophen-overdose,adjust dose,true,1,0,0,dose,,,"),
        "{csv}"
    );
}

const ANSWERS: &str = r#"[
 {"case":"metformin-ckd4","condition":"rag-on","rag":true,"backend":"local","model":"smollm2","question":"Should metformin be started?","answer":"Do not start metformin [metformin-label-renal]."},
 {"case":"metformin-ckd4","condition":"rag-off","rag":false,"backend":"local","model":"smollm2","question":"Should metformin be started?","answer":"Metformin is first-line."}
]"#;

#[test]
fn review_blinded_scores_round_trip_to_export() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let eval = tempfile::tempdir().expect("tmp");
    std::fs::write(eval.path().join("answers.json"), ANSWERS).expect("write");
    let dir = eval.path().display().to_string();
    let t = Tmux::start("review", data.path(), &format!("review '{dir}'"));
    let s = t.wait_for(&["Answer 1 of 2 (blinded)"]);
    assert!(
        !s.contains("smollm2") && !s.contains("RAG o"),
        "blinded: {s}"
    );
    t.keys(&[
        "5", "Down", "4", "Down", "4", "Down", "3", "Down", "5", "Down", "0", "Down",
    ]);
    t.text("clear");
    t.wait_for(&["clear_", "[0]"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Answer 2 of 2"]);
    t.keys(&["Escape"]);
    t.wait_for(&[
        "Unblinded",
        "RAG on · local/smollm2",
        "RAG off · local/smollm2",
    ]);
    t.keys(&["q"]);
    t.wait_gone();
    // Saved as entered: a second session resumes at the unreviewed answer.
    let t = Tmux::start("review2", data.path(), &format!("review '{dir}'"));
    t.wait_for(&["Answer 2 of 2", "1 reviewed"]);
    t.keys(&["q"]);
    t.wait_gone();
    let out = run(data.path(), &["review", &dir, "--export-csv", "-"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.contains(",5,4,4,3,5,0,clear\n"), "{csv}");
    let md = eval.path().join("review.md");
    let out = run(
        data.path(),
        &["review", &dir, "--export-md", &md.display().to_string()],
    );
    assert!(out.status.success());
    let md = std::fs::read_to_string(md).expect("markdown");
    assert!(md.contains("| condition | answers | reviewed |"), "{md}");
    assert!(md.contains(" 5.00 (n=1) |"), "{md}");
}

#[test]
fn demo_plays_pauses_and_finishes() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let script = data.path().join("demo.toml");
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions/cases/metformin-ckd4.toml");
    std::fs::write(
        &script,
        format!(
            "title = \"t\"\ncase = \"{}\"\npause_ms = 300\nsteps = [\n  {{ keys = \"tab\", pause_ms = 3000, say = \"sources\" }},\n  {{ keys = \"tab\", pause_ms = 8000 }},\n]\n",
            case.display()
        ),
    )
    .expect("write");
    let t = Tmux::start("demo", data.path(), &format!("demo '{}'", script.display()));
    t.wait_for(&["CONTRAINDICATED renal", "kb ready"]);
    t.wait_for(&["▶ 2/2", "Behind flag 1"]);
    // Paused: nothing moves until space.
    t.keys(&["Space"]);
    t.wait_for(&["⏸ 2/2 paused"]);
    std::thread::sleep(Duration::from_millis(3000));
    assert!(t.screen().contains("Behind flag 1"), "{}", t.screen());
    t.keys(&["n"]);
    t.wait_for(&["demo finished"]);
    t.keys(&["q"]);
    t.wait_gone();
}

#[test]
fn tui_record_then_demo_replays_it() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let rec = data.path().join("rec.toml");
    let t = Tmux::start(
        "record",
        data.path(),
        &format!("tui --backend none --record '{}'", rec.display()),
    );
    t.wait_for(&["Saved sessions", "kb ready"]);
    t.keys(&["n"]);
    t.wait_for(&["Step 1/6: Patient"]);
    t.text("74");
    t.wait_for(&["[74"]);
    t.keys(&["Escape"]);
    t.wait_for(&["Saved sessions (1)"]);
    t.keys(&["q"]);
    t.wait_gone();
    let text = std::fs::read_to_string(&rec).expect("recording written");
    let script = rxguide::demo::Script::load(&rec).expect("recording parses");
    let keys: Vec<String> = script
        .events()
        .expect("events")
        .iter()
        .map(|e| rxguide::demo::key_name(&e.key))
        .collect();
    assert_eq!(
        keys,
        ["n", "7", "4", "esc"],
        "the quitting q is not recorded: {text}"
    );
    assert_eq!(script.backend.as_deref(), Some("none"));
    // Play it back into a fresh data dir: the same session appears.
    let data2 = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("replay", data2.path(), &format!("demo '{}'", rec.display()));
    t.wait_for(&["Saved sessions (1)", "demo finished"]);
    t.keys(&["q"]);
    t.wait_gone();
}

#[test]
fn models_overlay_and_json() {
    let data = tempfile::tempdir().expect("tmp");
    let out = run(data.path(), &["models", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let models = v["model"].as_array().expect("models");
    let default: Vec<_> = models.iter().filter(|m| m["default"] == true).collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["licence"], "Apache-2.0");
    assert!(models.iter().all(|m| m["source"]
        .as_str()
        .is_some_and(|s| s.starts_with("https://"))));
    let out = run(data.path(), &["models"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("* SmolLM2-135M-Instruct"));
    if !Tmux::available() {
        eprintln!("tmux not installed: overlay part skipped");
        return;
    }
    let t = Tmux::start("tuimodels", data.path(), "tui --backend none");
    t.wait_for(&["Saved sessions", "kb ready"]);
    t.keys(&["M"]);
    t.wait_for(&["Open models (* default)", "BioMistral-7B"]);
    t.keys(&["Escape"]);
    t.wait_for(&["Saved sessions"]);
    t.keys(&["q"]);
    t.wait_gone();
    let t = Tmux::start("models", data.path(), "rehearse --trainee Ana");
    t.wait_for(&["Teaching cases"]);
    t.keys(&["M"]);
    t.wait_for(&["Open models (* default)", "* SmolLM2-135M", "Meditron-7B"]);
    t.keys(&["Escape"]);
    t.wait_for(&["Teaching cases"]);
    t.keys(&["q"]);
    t.wait_gone();
}
