//! `leakwatch probe`'s exit codes and messages on real processes and
//! cgroups: too little history passes and says so, a vanished pid and an
//! unreadable cgroup are errors (exit 2) with a clear message, the state
//! file follows one incarnation and refuses a planted symlink.
//! (Leaking and plateauing services under real limits: probe_e2e.rs.)

mod agent_support;

use std::process::{Command, Output, Stdio};

use agent_support::*;

fn probe(args: &[&str]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .arg("probe")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn too_little_history_passes_with_a_message_and_history_accumulates() {
    let target = spawn_python("import time\ntime.sleep(60)\n");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("p.state");
    let pid = target.pid().to_string();
    let args = ["--pid", &pid, "--state", state.to_str().unwrap()];
    let out = probe(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("could not judge yet"), "{text}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let v = json(&probe(&json_args));
    assert_eq!(v["version"], 1);
    assert_eq!(v["health"], "not_yet");
    assert_eq!(v["samples"], 2, "{v}");
    assert_eq!(v["threshold_s"], 900.0);
    assert!(v["limit_bytes"].as_f64().unwrap() > 0.0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Another process with the same state file: a new incarnation.
    let other = spawn_python("import time\ntime.sleep(60)\n");
    let other_pid = other.pid().to_string();
    let v = json(&probe(&[
        "--pid",
        &other_pid,
        "--state",
        state.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["samples"], 1, "{v}");
    assert!(
        v["note"].as_str().unwrap().contains("new incarnation"),
        "{v}"
    );
}

#[test]
fn a_vanished_pid_and_an_unreadable_cgroup_are_errors() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id().to_string();
    gone.wait().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");
    let out = probe(&["--pid", &pid, "--state", state.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("pid {pid} is gone")), "{err}");

    let out = probe(&[
        "--cgroup",
        "/no/such/cgroup",
        "--state",
        state.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read cgroup /no/such/cgroup"), "{err}");

    // With --json the error is a JSON object too, still exit 2.
    let out = probe(&["--pid", &pid, "--json", "--state", state.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["health"], "error");
    assert!(v["message"].as_str().unwrap().contains("gone"), "{v}");
}

#[test]
fn the_state_file_is_never_written_through_a_symlink_and_damage_starts_over() {
    let target = spawn_python("import time\ntime.sleep(60)\n");
    let pid = target.pid().to_string();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("link.state");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = probe(&["--pid", &pid, "--state", link.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");

    let damaged = dir.path().join("damaged.state");
    std::fs::write(&damaged, b"LWPROBE\x01 not postcard at all").unwrap();
    let out = probe(&["--pid", &pid, "--state", damaged.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("history starts over"), "{text}");
    assert!(text.contains("could not judge yet"), "{text}");
}

#[test]
fn without_a_target_it_judges_its_own_cgroup() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("self.state");
    let out = probe(&["--json", "--state", state.to_str().unwrap()]);
    if out.status.code() == Some(2) {
        // No memory cgroup visible (an unusual container): the error says so.
        let v = json(&out);
        assert!(v["message"].as_str().unwrap().contains("cgroup"), "{v}");
        return;
    }
    let v = json(&out);
    assert_eq!(v["health"], "not_yet", "{v}");
    assert!(
        v["target"].as_str().unwrap().starts_with("own cgroup"),
        "{v}"
    );
    assert!(
        ["cgroup_anon", "cgroup"].contains(&v["resource"].as_str().unwrap()),
        "{v}"
    );
}
