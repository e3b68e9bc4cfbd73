//! `analyze` and `watch`: recorded series, bad input, pids and restarts.

mod common;
use common::*;

#[test]
fn analyze_reads_the_corpus_format_and_prints_json() {
    let corpus = repo_root().join("../shared/corpus/traces/py_cache_leak.csv");
    if !corpus.exists() {
        eprintln!("SKIPPED: ../shared/corpus not found");
        return;
    }
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["verdict"], "leak");
    assert!(v["first_alert_s"].as_f64().unwrap() > 60.0);
    let rss = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "rss_bytes")
        .unwrap();
    assert_eq!(rss["verdict"], "leak");
    assert!(rss["growth_per_hour"].as_f64().unwrap() > 1e9);
    let fds = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "fds")
        .unwrap();
    assert_eq!(fds["verdict"], "ok");
    assert!(fds["first_alert_s"].is_null());
}

#[test]
fn analyze_text_shows_verdict_and_evidence() {
    let corpus = repo_root().join("../shared/corpus/traces/py_lru_ok.csv");
    if !corpus.exists() {
        eprintln!("SKIPPED: ../shared/corpus not found");
        return;
    }
    let out = leakwatch().arg("analyze").arg(&corpus).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("verdict: no leak"), "{text}");
    assert!(text.contains("rss_bytes    plateau"), "{text}");
}

#[test]
fn analyze_bad_input_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakwatch()
        .args(["analyze", "/no/such/file.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /no/such/file.csv"));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "t_s,rss_bytes\n0,100\n1,1x0\n").unwrap();
    let out = leakwatch().arg("analyze").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3: column rss_bytes: \"1x0\" is not a number"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let binary = dir.path().join("binary.csv");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, 10, 1, 2]).unwrap();
    let out = leakwatch().arg("analyze").arg(&binary).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn watch_an_unknown_pid_is_a_clear_error() {
    let out = leakwatch()
        .args(["watch", "--pid", "999999999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no process with pid 999999999"), "{stderr}");
    let out = leakwatch()
        .args(["watch", "--cgroup", "/no/such/cgroup"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cgroup /no/such/cgroup not found"));
    let out = leakwatch().args(["watch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn watch_pid_survives_the_target_exiting() {
    let mut child = std::process::Command::new("sleep")
        .arg("3")
        .spawn()
        .unwrap();
    let out = leakwatch()
        .args([
            "watch",
            "--json",
            "--interval",
            "200ms",
            "--pid",
            &child.id().to_string(),
        ])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    child.wait().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&text);
    assert!(events.iter().any(|e| e["event"] == "exited"), "{text}");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["verdict"], "ok");
}

/// A leaky service that is restarted every 25 s (as an OOM kill or a crash
/// loop would): each instance alone is too short to judge, joined they leak.
#[test]
fn watch_by_name_joins_restarts_and_finds_the_masked_leak() {
    let script = example("leaky_cache.py");
    let name = format!("lw-restart-{}.py", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(&name);
    std::fs::copy(&script, &copy).unwrap();
    let supervisor = format!("while true; do timeout 25 python3 {}; done", copy.display());
    let mut sup = std::process::Command::new("sh")
        .args(["-c", &supervisor])
        .spawn()
        .unwrap();
    let csv = dir.path().join("watch.csv");
    let out = leakwatch()
        .args([
            "watch",
            "--json",
            "--interval",
            "250ms",
            "--restart-warmup",
            "2s",
            "--duration",
            "120s",
            "--out",
        ])
        .arg(&csv)
        .args(["--name", &name])
        .output()
        .unwrap();
    let _ = sup.kill();
    let _ = sup.wait();
    let _ = std::process::Command::new("pkill")
        .args(["-f", &name])
        .status();
    let text = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&text);
    let restarts = events.iter().filter(|e| e["event"] == "restart").count();
    assert!(restarts >= 3, "{restarts} restarts: {text}");
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "alert" && e["resource"] == "rss_bytes"),
        "{text}"
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["verdict"], "leak", "{summary:#}");
    assert_eq!(summary["restarts"].as_u64().unwrap() as usize, restarts);
    assert_eq!(out.status.code(), Some(1));
    // The recorded CSV carries the instance column, so a replay joins the same way.
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["verdict"], "leak", "{v:#}");
    assert_eq!(v["restarts"].as_u64().unwrap() as usize, restarts);
}

/// Another user's process hides its fd table and smaps: leakwatch says what
/// it cannot sample and goes on with what it can.
#[test]
fn watching_another_users_process_warns_and_continues() {
    if !has_command("setpriv") || effective_uid() != 0 {
        eprintln!("SKIPPED: needs root and setpriv to run leakwatch as another user");
        return;
    }
    let mut target = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("leakwatch");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args([
            "watch",
            "--json",
            "--duration",
            "2s",
            "--interval",
            "250ms",
            "--pid",
            &target.id().to_string(),
        ])
        .output()
        .unwrap();
    target.kill().unwrap();
    target.wait().unwrap();
    if String::from_utf8_lossy(&out.stderr).contains("Permission denied (os error 13)")
        && out.stdout.is_empty()
    {
        eprintln!("SKIPPED: the nobody user cannot execute the test binary here");
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read /proc/") && stderr.contains("fds are not sampled"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let names: Vec<&str> = summary["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"rss_bytes") && !names.contains(&"fds"),
        "{names:?}"
    );
}

fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|u| u.parse().ok())
        .unwrap_or(1)
}
