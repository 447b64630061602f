//! End-to-end: the real binary in tmux at 80x24, driven from the keyboard.
//! 1. fill an intake and see the flag in the Flags pane;
//! 2. kill -9 mid-intake, start again, resume, and find the typed data.
//!
//! Each test uses its own tmux server socket and a temp data dir, and
//! `--backend none` (no model needed). Skipped when tmux is missing.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn start(name: &str, data: &Path) -> Tmux {
        let t = Tmux {
            socket: format!("rxguide-e2e-{}-{name}", std::process::id()),
            session: name.to_string(),
        };
        t.spawn(data);
        t
    }

    fn spawn(&self, data: &Path) {
        let bin = env!("CARGO_BIN_EXE_rxguide");
        let cmd = format!(
            "exec env RXGUIDE_DATA='{}' RXGUIDE_CONFIG='{}' TERM=xterm-256color '{bin}' tui --backend none",
            data.display(),
            data.join("config").display()
        );
        let ok = self
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                "-s",
                &self.session,
                &cmd,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session failed");
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
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    fn text(&self, s: &str) {
        self.tmux(&["send-keys", "-t", &self.session, "-l", s]);
        std::thread::sleep(Duration::from_millis(60));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Waits until the screen contains every one of `needles`.
    fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if needles.iter().all(|n| s.contains(n)) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {needles:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pane_pid(&self) -> i32 {
        let out = self.tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }

    fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", &self.session])
            .status
            .success()
    }

    fn wait_gone(&self) {
        let start = Instant::now();
        while self.alive() {
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

/// Patient: 74-year-old woman, 58 kg, creatinine 2.1 mg/dL.
fn fill_patient_and_labs(t: &Tmux) {
    t.text("74");
    t.keys(&["Tab"]);
    t.text("f");
    fill_weight_and_labs(t);
}

/// From the Sex field on: 58 kg, then creatinine 2.1 mg/dL.
fn fill_weight_and_labs(t: &Tmux) {
    t.keys(&["Tab"]);
    t.text("58");
    t.wait_for(&["[58"]);
    t.keys(&["PageDown"]);
    t.text("2.1");
    t.wait_for(&["[2.1"]);
}

#[test]
fn intake_from_keyboard_shows_the_flag() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("flags", data.path());
    t.wait_for(&["Saved sessions", "kb ready"]);
    t.keys(&["n"]);
    t.wait_for(&["Step 1/6: Patient"]);
    fill_patient_and_labs(&t);
    for _ in 0..4 {
        t.keys(&["PageDown"]);
    }
    t.wait_for(&["Step 6/6"]);
    t.text("glucoph");
    t.wait_for(&["Glucophage → metformin"]);
    t.keys(&["Enter"]);
    t.wait_for(&["✓ metformin"]);
    t.keys(&["C-g"]);
    let screen = t.wait_for(&["Flags (1)", "CONTRAINDICATED renal", "metformin"]);
    assert!(screen.contains("XX CONTRAINDICATED"), "{screen}");
    assert!(screen.contains("Not checked:"), "{screen}");
    assert!(screen.contains("no model"), "{screen}");
    t.keys(&["q"]);
    t.wait_gone();
}

#[test]
fn kill_9_mid_intake_then_resume() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("crash", data.path());
    t.wait_for(&["Saved sessions", "kb ready"]);
    t.keys(&["n"]);
    t.wait_for(&["Step 1/6: Patient"]);
    fill_patient_and_labs(&t);
    let pid = t.pane_pid();
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    t.wait_gone();

    t.spawn(data.path());
    let home = t.wait_for(&["Saved sessions (1)", "74F, 58 kg"]);
    assert!(home.contains("74F, 58 kg"), "{home}");
    t.keys(&["Enter"]);
    // Resumed where it was: the labs step, creatinine typed.
    t.wait_for(&["Step 2/6: Labs", "[2.1"]);
    t.keys(&["PageUp"]);
    let screen = t.wait_for(&["Step 1/6: Patient"]);
    assert!(screen.contains("[74"), "{screen}");
    assert!(screen.contains("female"), "{screen}");
    assert!(screen.contains("[58 "), "{screen}");
    t.keys(&["Escape", "q"]);
    t.wait_gone();
}

/// Issue 18, defect 1: a word typed into a choice field is that word
/// ("female" used to end on "male": each letter jumped to the first option
/// starting with it). Issue 14: a medication name as an EHR writes it
/// resolves, and the flag follows.
#[test]
fn typed_words_in_choice_fields_and_ehr_names_are_kept() {
    if !Tmux::available() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let data = tempfile::tempdir().expect("tmp");
    let t = Tmux::start("words", data.path());
    t.wait_for(&["Saved sessions", "kb ready"]);
    t.keys(&["n"]);
    t.wait_for(&["Step 1/6: Patient"]);
    t.text("74");
    t.keys(&["Tab"]);
    t.text("female");
    t.wait_for(&["‹ female ›"]);
    t.text("x");
    t.wait_for(&["\"femalex\" not accepted"]);
    t.keys(&["BSpace"]);
    fill_weight_and_labs(&t);
    for _ in 0..4 {
        t.keys(&["PageDown"]);
    }
    t.wait_for(&["Step 6/6"]);
    t.text("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet");
    t.wait_for(&["✓ metformin"]);
    t.keys(&["C-g"]);
    let screen = t.wait_for(&["CONTRAINDICATED renal", "74F"]);
    assert!(!screen.contains("74M"), "{screen}");
    t.keys(&["q"]);
    t.wait_gone();
}
