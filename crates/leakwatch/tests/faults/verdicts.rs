//! "No data" is not "no leak", and bad settings fail before anything runs.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::has_command;
use crate::support::*;

/// `run --load` whose load command cannot run: the soak ran without load,
/// so the gate fails (exit 2) and says why, instead of passing.
#[test]
fn a_load_command_that_fails_is_never_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    for (load, why) in [
        (
            "leakwatch-no-such-load-tool --rate 100",
            "command not found",
        ),
        ("exit 3", "failed with exit status 3"),
        ("sleep 1; exit 4", "failed with exit status 4"),
    ] {
        let junit = dir.path().join("soak.xml");
        let _ = std::fs::remove_file(&junit);
        let mut c = leakwatch();
        c.current_dir(dir.path())
            .args(["run", "--duration", "30s", "--interval", "100ms"])
            .args(["--load-delay", "0s", "--load", load, "--junit"])
            .arg(&junit)
            .args(["--", "sleep", "60"]);
        let (o, _) = run_measured(c, Duration::from_secs(120));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{load}: {err}");
        assert!(err.contains(why), "{load}: {err}");
        // Said as the run's own failure, whether the load failed before
        // the first sample or after some.
        assert!(
            err.contains("without its load") || err.contains("fix the --load command"),
            "{load}: {err}"
        );
        assert!(!err.contains("exited before"), "{load}: {err}");
        // Once samples were taken, the JUnit report carries the error too.
        if err.contains("without its load") {
            let xml = std::fs::read_to_string(&junit).unwrap();
            assert!(xml.contains("load_failed"), "{load}: {xml}");
            assert!(xml.contains("errors=\"1\""), "{load}: {xml}");
            crate::common::assert_valid_junit(&junit);
        }
    }
    // The control: a load command that succeeds ends the soak with the
    // detector's own verdict (one second is too short to judge: exit 2,
    // said as such, not as a failed load).
    let mut c = leakwatch();
    c.current_dir(dir.path())
        .args(["run", "--duration", "30s", "--interval", "100ms"])
        .args(["--load-delay", "0s", "--load", "sleep 1"])
        .args(["--", "sleep", "60"]);
    let (o, _) = run_measured(c, Duration::from_secs(120));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("too little data to judge"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("without its load"), "{}", stderr(&o));
}

/// A zero interval (a busy loop of samples) is refused as a usage error
/// before the target starts, in every command that samples.
#[test]
fn a_zero_interval_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let touch = format!("touch {}", marker.display());
    let me = std::process::id().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "run",
            "--interval",
            "0s",
            "--duration",
            "2s",
            "--",
            "sh",
            "-c",
            &touch,
        ],
        vec![
            "run",
            "--interval",
            "0",
            "--duration",
            "2s",
            "--",
            "sh",
            "-c",
            &touch,
        ],
        vec![
            "watch",
            "--pid",
            &me,
            "--interval",
            "0s",
            "--duration",
            "2s",
        ],
        vec![
            "where",
            "--interval",
            "0ms",
            "--duration",
            "2s",
            "--",
            "sh",
            "-c",
            &touch,
        ],
        vec!["snapshot", "--node-inspect", "127.0.0.1:9", "--every", "0s"],
        vec![
            "watch",
            "--pid",
            &me,
            "--where",
            "--where-interval",
            "0s",
            "--duration",
            "2s",
        ],
    ];
    for args in cases {
        let o = Command::new(bin())
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is zero"), "{args:?}: {err}");
        assert!(!marker.exists(), "{args:?} started the target");
    }
}

/// Leaks 500 objects every 100 ms; writes the file named by its first
/// argument after its first round, so a test snapshots a running program,
/// not one still starting (a first snapshot taken before `keep` existed
/// made the array look new and steady, and the diff found no leak).
const LEAKY_JS: &str = "globalThis.keep = [];\n\
setInterval(() => { for (let i = 0; i < 500; i++) keep.push({ s: 'y'.repeat(200) + i });\n\
  if (keep.length === 500) require('fs').writeFileSync(process.argv[2], 'started'); }, 100);\n";

/// Starts LEAKY_JS under `node --inspect` on `port` and waits until it
/// has run its first round.
fn start_leaky_node(dir: &std::path::Path, port: u16) -> Killed {
    let js = dir.join("leaky.js");
    std::fs::write(&js, LEAKY_JS).unwrap();
    let started = dir.join("started");
    let node = Killed(
        Command::new("node")
            .arg(format!("--inspect=127.0.0.1:{port}"))
            .arg(&js)
            .arg(&started)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the inspector", 30, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    wait_for("the program's first round", 30, || {
        started.exists().then_some(())
    });
    node
}

/// The process dies in the middle of a series: the complete snapshots are
/// still diffed (here they show the leak: exit 1), what was lost is said,
/// and no cut or empty file is left under a snapshot's name.
#[test]
fn a_snapshot_series_cut_short_diffs_the_complete_ones_and_says_what_was_lost() {
    if !has_command("node") {
        eprintln!("node is not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = start_leaky_node(dir.path(), port);
    let snaps = dir.path().join("snaps");
    let lw = Killed(
        leakwatch()
            .args(["snapshot", "--node-inspect", &format!("127.0.0.1:{port}")])
            .args(["--count", "3", "--every", "4s", "--out-dir"])
            .arg(&snaps)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let complete = || {
        std::fs::read_dir(&snaps)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && n.ends_with(".heapsnapshot"))
                    .count()
            })
            .unwrap_or(0)
    };
    wait_for("two complete snapshots", 90, || {
        (complete() >= 2).then_some(())
    });
    // The process dies before (or during) the third.
    let _ = node.0.kill();
    let _ = node.0.wait();
    let mut lw = lw;
    let status = wait_for("snapshot to end", 120, || lw.0.try_wait().unwrap());
    let mut err = String::new();
    let mut out = String::new();
    use std::io::Read;
    lw.0.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    lw.0.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(err.contains("snapshot 3 of 3 was lost"), "{err}");
    assert!(err.contains("diffing the 2 complete snapshots"), "{err}");
    assert!(out.contains("heap snapshot diff"), "{out}");
    assert_eq!(status.code(), Some(1), "{err}\n{out}");
    // Only the two complete snapshots remain, none empty.
    let names: Vec<_> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for n in &names {
        assert!(
            std::fs::metadata(n).unwrap().len() > 1000,
            "{}",
            n.display()
        );
    }
}

/// The same series cut before a second snapshot: nothing to diff, so an
/// error (exit 2) naming the snapshot kept, never "no leak".
#[test]
fn a_snapshot_series_cut_after_one_is_an_error_naming_what_was_kept() {
    if !has_command("node") {
        eprintln!("node is not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = start_leaky_node(dir.path(), port);
    let snaps = dir.path().join("snaps");
    let mut lw = Killed(
        leakwatch()
            .args(["snapshot", "--node-inspect", &format!("127.0.0.1:{port}")])
            .args(["--count", "3", "--every", "10s", "--out-dir"])
            .arg(&snaps)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("one complete snapshot", 90, || {
        std::fs::read_dir(&snaps)
            .ok()?
            .filter_map(|e| e.ok())
            .any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                !n.starts_with('.') && n.ends_with(".heapsnapshot")
            })
            .then_some(())
    });
    let _ = node.0.kill();
    let _ = node.0.wait();
    let status = wait_for("snapshot to end", 120, || lw.0.try_wait().unwrap());
    let mut err = String::new();
    use std::io::Read;
    lw.0.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("snapshot 2 of 3 failed"), "{err}");
    assert!(err.contains("kept: "), "{err}");
    assert!(err.contains("nothing was diffed"), "{err}");
}
