//! Stopping and starting `leakwatch watch --store`: the second run resumes
//! the first one's detectors and history; a program restarted while the
//! agent was down is counted as a restart of the same target.

mod agent_support;

use std::path::Path;

use agent_support::*;
use leakwatch_agent::store::{Store, StoreConfig};

fn watch(pid: u32, db: &Path, duration: &str) -> Vec<serde_json::Value> {
    let out = assert_cmd::Command::cargo_bin("leakwatch")
        .unwrap()
        .args(["watch", "--pid", &pid.to_string(), "--target-name", "svc"])
        .args([
            "--interval",
            "0.2s",
            "--duration",
            duration,
            "--json",
            "--store",
        ])
        .arg(db)
        .output()
        .unwrap();
    // 2 only for a history still too short to judge, never another error.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1))
            || (out.status.code() == Some(2) && err.contains("too little data to judge")),
        "{err}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn event<'a>(events: &'a [serde_json::Value], kind: &str) -> Option<&'a serde_json::Value> {
    events.iter().find(|e| e["event"] == kind)
}

#[test]
fn agent_restart_keeps_history_and_detector_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let prog = spawn_python(LEAKY_PY);

    let first = watch(prog.pid(), &db, "3s");
    assert_eq!(event(&first, "started").unwrap()["resumed"], false);
    let n1 = event(&first, "summary").unwrap()["samples"]
        .as_u64()
        .unwrap();
    // Sampling may be slower than the interval on a loaded machine.
    assert!(n1 >= 4, "{first:?}");

    let second = watch(prog.pid(), &db, "2s");
    assert_eq!(
        event(&second, "started").unwrap()["resumed"],
        true,
        "{second:?}"
    );
    assert!(
        event(&second, "restart").is_none(),
        "same process: no restart"
    );
    let n2 = event(&second, "summary").unwrap()["samples"]
        .as_u64()
        .unwrap();
    assert!(n2 >= n1 + 3, "the detectors continued: {n1} then {n2}");
    {
        let store = Store::open(&db, StoreConfig::default()).unwrap();
        let rec = store.target("svc", "process").unwrap();
        assert_eq!(store.history(rec.id).unwrap().len() as u64, n2);
        assert_eq!(rec.restarts, 0);
    }

    // The program restarts while the agent is down: the same target, one restart.
    drop(prog);
    let prog = spawn_python(LEAKY_PY);
    let third = watch(prog.pid(), &db, "1s");
    assert_eq!(event(&third, "started").unwrap()["resumed"], true);
    assert_eq!(
        event(&third, "restart").unwrap()["restarts"],
        1,
        "{third:?}"
    );
    let summary = event(&third, "summary").unwrap();
    assert_eq!(summary["restarts"], 1);
    // The new instance's rows join the same history (its detector samples
    // wait out the restart warm-up before being joined).
    let store = Store::open(&db, StoreConfig::default()).unwrap();
    let rec = store.target("svc", "process").unwrap();
    assert_eq!(store.target_keys().unwrap(), ["svc"]);
    assert!(store.history(rec.id).unwrap().len() as u64 > n2);
    assert_eq!(rec.restarts, 1);
}
