//! A real cgroup v1 memory cgroup, created by the test, shaped like a Docker
//! container's (`.../docker/<id>`), holding a leaky program under a memory
//! limit. `leakwatch watch --containers` finds it, reports time-to-limit,
//! then the OOM kill, then the restart when the program is started again
//! in the same cgroup, and keeps one history in its store.
//!
//! Skipped (with a message) where memory cgroups cannot be created.

mod agent_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_support::*;
use leakwatch_agent::store::{Store, StoreConfig};
use leakwatch_core::Resource;

const ID: &str = "1eac0ffee0ddba11c0de5eed0fcafe0ddba11c0de5eed0fcafe0ddba11c0de5e";
const LIMIT: u64 = 96 << 20;

/// Removes the test's cgroups (after their processes are gone).
struct CgroupGuard(PathBuf, Vec<Running>);
impl Drop for CgroupGuard {
    fn drop(&mut self) {
        self.1.clear();
        std::thread::sleep(Duration::from_millis(200));
        let _ = std::fs::remove_dir(self.0.join("docker").join(ID));
        let _ = std::fs::remove_dir(self.0.join("docker"));
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Starts the leaky program inside `cg` (it moves itself in before exec).
fn leaky_in(cg: &Path) -> Running {
    let code = "import time\nkeep = []\nwhile True:\n    keep.append('a' * 300_000)\n    time.sleep(0.1)\n";
    Running(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec python3 -c \"$0\"",
                cg.display()
            ))
            .arg(code)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn metric(port: u16, name_and_labels: &str) -> Option<f64> {
    let body = ureq_get(&format!("http://127.0.0.1:{port}/metrics"))?;
    body.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn ureq_get(url: &str) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=2).read().decode())",
            url,
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn real_memory_cgroup_time_to_limit_oom_kill_and_restart_in_one_history() {
    let root = PathBuf::from("/sys/fs/cgroup/memory");
    let base = root.join(format!("leakwatch-test-{}", std::process::id()));
    let cg = base.join("docker").join(ID);
    if std::fs::create_dir_all(&cg).is_err() || !cg.join("memory.limit_in_bytes").exists() {
        let _ = std::fs::remove_dir(&cg);
        eprintln!(
            "SKIPPED: cannot create a cgroup v1 memory cgroup under {} (needs root and the v1 memory controller)",
            root.display()
        );
        return;
    }
    let mut guard = CgroupGuard(base.clone(), Vec::new());
    std::fs::write(cg.join("memory.limit_in_bytes"), LIMIT.to_string()).unwrap();
    let _ = std::fs::write(cg.join("memory.memsw.limit_in_bytes"), LIMIT.to_string());
    let _ = std::fs::write(cg.join("memory.swappiness"), "0");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let port = free_port();
    let log_path = dir.path().join("agent.jsonl");
    let log = std::fs::File::create(&log_path).unwrap();
    guard.1.push(leaky_in(&cg));
    let agent = Running(
        Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
            .args(["watch", "--containers", "--cgroup-root", "/sys/fs/cgroup"])
            .args(["--interval", "0.5s", "--json", "--restart-warmup", "2s"])
            .args(["--serve", &format!("127.0.0.1:{port}")])
            .arg("--store")
            .arg(&db)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let key = format!("docker/{}", &ID[..12]);
    let events = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let has = |kind: &str| {
        events()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|v| v["event"] == kind && v["target"] == key.as_str())
    };

    // Time-to-limit shows while it grows towards the limit, then the OOM kill.
    let ttl_series =
        format!("leakwatch_time_to_limit_seconds{{target=\"{key}\",resource=\"cgroup\"}}");
    let mut ttl_seen = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !has("oom_kill") {
        assert!(
            Instant::now() < deadline,
            "no OOM kill reported in 2 minutes; events:\n{}",
            events()
        );
        if let Some(ttl) = metric(port, &ttl_series) {
            ttl_seen.get_or_insert(ttl);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let ttl = ttl_seen.unwrap_or_else(|| {
        panic!(
            "no time-to-limit before the OOM kill; events:\n{}",
            events()
        )
    });
    assert!(ttl > 0.0 && ttl < 600.0, "time-to-limit {ttl}s");
    assert_eq!(
        metric(
            port,
            &format!("leakwatch_cgroup_limit_bytes{{target=\"{key}\"}}")
        ),
        Some(LIMIT as f64)
    );

    // Restart the program in the same cgroup: one restart, same history.
    guard.1.clear();
    guard.1.push(leaky_in(&cg));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has("restart") {
        assert!(
            Instant::now() < deadline,
            "no restart reported; events:\n{}",
            events()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        metric(
            port,
            &format!("leakwatch_restarts_total{{target=\"{key}\"}}")
        ),
        Some(1.0),
        "events:\n{}",
        events()
    );
    assert!(
        metric(
            port,
            &format!("leakwatch_oom_kills_total{{target=\"{key}\"}}")
        )
        .unwrap()
            >= 1.0
    );
    std::thread::sleep(Duration::from_secs(2));
    // Stop the agent gracefully so it saves its state.
    sigterm(agent.pid());
    let mut agent = agent;
    let waited = Instant::now();
    while agent.0.try_wait().unwrap().is_none() {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "agent did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let store = Store::open(&db, StoreConfig::default()).unwrap();
    assert_eq!(
        store
            .target_keys()
            .unwrap()
            .iter()
            .filter(|k| **k == key)
            .count(),
        1
    );
    let rec = store.target(&key, "container").unwrap();
    assert_eq!(rec.restarts, 1);
    assert!(rec.oom_kills >= 1);
    assert!(rec.state.is_some(), "detector state saved");
    let history = store.history(rec.id).unwrap();
    let usage: Vec<f64> = history
        .iter()
        .filter_map(|r| r.mean(Resource::CgroupBytes))
        .collect();
    // One history: the climb to the limit, the drop at the OOM kill, the new climb.
    let peak = usage.iter().copied().fold(0.0, f64::max);
    let peak_at = usage.iter().position(|v| *v == peak).unwrap();
    assert!(peak > 0.5 * LIMIT as f64, "peak {peak}");
    let low_after = usage[peak_at..]
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    assert!(
        low_after < 0.5 * peak,
        "no drop after the OOM kill: {usage:?}"
    );
    assert!(
        *usage.last().unwrap() > low_after,
        "the restarted program is in the same history"
    );
}

fn sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}
