//! Signals to `run` and `watch` (issue 15, issue 14): Ctrl-C still prints
//! the verdict and leaves a complete CSV and no process behind; SIGKILL to
//! `run` takes the target with it (parent-death signal); Ctrl-C to
//! `trace` reaches the program and the summary is still printed.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

/// Waits (bounded) until `ready` holds.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn csv_rows(p: &Path) -> usize {
    std::fs::read_to_string(p).map_or(0, |s| s.lines().count().saturating_sub(1))
}

/// Whether `pid` is gone (or a zombie no one has reaped yet).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn read_pid(p: &Path) -> i32 {
    let mut pid = None;
    wait_for("the target's pid file", || {
        pid = std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    pid.unwrap()
}

fn interrupt(child: &Child) {
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

/// Every line has the header's number of fields and the file ends with a
/// newline: no row was cut.
fn assert_complete_csv(p: &Path) {
    let text = std::fs::read_to_string(p).unwrap();
    assert!(text.ends_with('\n'), "cut last row: {text:?}");
    let mut lines = text.lines();
    let fields = lines.next().unwrap().split(',').count();
    for l in lines {
        assert_eq!(l.split(',').count(), fields, "bad row {l:?} in {text}");
    }
}

/// `leakwatch run [extra] --out CSV -- sh -c SCRIPT` in `dir`, where
/// SCRIPT writes its pid to `dir/pid` and then runs `traps` and a loop;
/// the traps may write the signal they got to `dir/stopped_by`. Interrupted
/// (SIGINT) once the CSV holds `rows` samples. Returns the target's pid
/// and leakwatch's output.
fn interrupted_run(
    dir: &Path,
    extra: &[&str],
    traps: &str,
    rows: usize,
) -> (i32, std::process::Output) {
    let csv = dir.join("run.csv");
    let script = format!(
        "echo $$ > {pid}; {traps}; while :; do sleep 0.2; done",
        pid = dir.join("pid").display(),
        traps = traps.replace("{by}", &dir.join("stopped_by").display().to_string()),
    );
    let child = Command::new(bin())
        .args(["run", "--interval", "100ms"])
        .args(extra)
        .arg("--out")
        .arg(&csv)
        .args(["--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let target = read_pid(&dir.join("pid"));
    wait_for("samples in the CSV", || csv_rows(&csv) >= rows);
    interrupt(&child);
    (target, child.wait_with_output().unwrap())
}

#[test]
fn sigint_to_run_prints_the_verdict_keeps_the_csv_and_stops_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("run.csv");
    let stopped_by = dir.path().join("stopped_by");
    // The target notes the signal it is stopped with (SIGINT, as from the
    // terminal had it run alone); its own child (sleep) must go too.
    let (target, out) = interrupted_run(
        dir.path(),
        &[],
        "trap 'echo int > {by}; exit 0' INT; trap 'echo term > {by}; exit 0' TERM",
        5,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Seconds of samples: the verdict is printed, and is "not enough data
    // to judge" (exit 2), never "no leak".
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: "), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("too little data to judge"), "{stderr}");
    assert_complete_csv(&csv);
    assert!(csv_rows(&csv) >= 5);
    wait_for("the target to end", || gone(target));
    assert_eq!(
        std::fs::read_to_string(&stopped_by).ok().as_deref(),
        Some("int\n"),
        "the target was not sent SIGINT first"
    );
    // Nothing left in the target's process group (its sleep included).
    wait_for("the target's process group to end", || {
        // SAFETY: kill(2) with signal 0 only checks existence.
        let alive = unsafe { libc::kill(-target, 0) };
        alive != 0
    });
}

/// A target deaf to SIGINT (a daemon that stops on SIGTERM) still gets
/// its orderly SIGTERM before any SIGKILL.
#[test]
fn sigint_to_run_then_sigterm_for_a_target_that_ignores_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let stopped_by = dir.path().join("stopped_by");
    let (target, out) = interrupted_run(
        dir.path(),
        &["--json"],
        "trap '' INT; trap 'echo term > {by}; exit 0' TERM",
        3,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["stopped_because"], "interrupted", "{stdout}");
    // Still running when the run ended: no exit status of its own.
    assert!(json["target_exit_status"].is_null(), "{stdout}");
    // Byte amounts are integers (docs/json.md), as in `analyze --json`.
    for r in json["resources"].as_array().unwrap() {
        if r["unit"] == "bytes" {
            assert!(r["now"].is_u64(), "{r}");
            assert!(r["growth_per_hour"].is_i64(), "{r}");
        }
    }
    wait_for("the target to end", || gone(target));
    assert_eq!(
        std::fs::read_to_string(&stopped_by).ok().as_deref(),
        Some("term\n"),
        "the target deaf to SIGINT was not sent SIGTERM"
    );
}

#[test]
fn sigkill_to_run_leaves_no_target_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 600", pidfile.display());
    let mut child = Command::new(bin())
        .args(["run", "--interval", "100ms", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let target = read_pid(&pidfile);
    assert!(!gone(target));
    child.kill().unwrap(); // SIGKILL: no handler runs in leakwatch
    child.wait().unwrap();
    wait_for("the orphaned target to be killed", || gone(target));
}

#[test]
fn sigint_to_watch_prints_the_verdict_and_keeps_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("watch.csv");
    let mut target = Command::new("sleep").arg("120").spawn().unwrap();
    let child = Command::new(bin())
        .args(["watch", "--interval", "100ms", "--pid"])
        .arg(target.id().to_string())
        .arg("--out")
        .arg(&csv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("samples in the CSV", || csv_rows(&csv) >= 5);
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // As for run: too little data to judge, exit 2.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: "), "{stdout}");
    assert_complete_csv(&csv);
    // watch observes a process it does not own: it is left running.
    assert!(
        !gone(target.id() as i32),
        "watch stopped a process it does not own"
    );
    let _ = target.kill();
    let _ = target.wait();
}

#[test]
fn sigint_to_trace_is_passed_on_and_the_summary_still_printed() {
    // The summary reads the trace while the program runs; an interrupt
    // must still end that reading, print the summary and exit.
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.lwt");
    let pidfile = dir.path().join("pid");
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let script = format!(
        "echo $$ > {}; while :; do sleep 0.05; done",
        pidfile.display()
    );
    let mut child = Command::new(bin())
        .env("LEAKWATCH_STATS", "1")
        .args(["trace", "--json", "-o"])
        .arg(&trace)
        .args(["--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let target = read_pid(&pidfile);
    wait_for("the trace to grow", || {
        std::fs::metadata(&trace).is_ok_and(|m| m.len() > 100)
    });
    interrupt(&child);
    let mut status = None;
    wait_for("leakwatch to exit", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(err.contains("was killed by signal 2 (SIGINT)"), "{err}");
    assert!(
        err.contains("trace read while it ran: used"),
        "the summary did not use what it read while the program ran: {err}"
    );
    wait_for("the target to end", || gone(target));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stdout).unwrap()).unwrap();
    let report = Command::new(bin())
        .args(["report", "--json", "--top", "3"]) // the summary's three
        .arg(&trace)
        .output()
        .unwrap();
    let from_report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(summary, from_report);
    assert_eq!(status.and_then(|s| s.code()), report.status.code(), "{err}");
}
