//! `analyze` and `watch`: recorded series, bad input, pids and restarts.

mod common;
use common::*;

use std::path::PathBuf;

/// `shared/corpus` beside the repository or any folder above it (a git
/// worktree may sit deeper than the main checkout).
fn corpus(file: &str) -> Option<PathBuf> {
    repo_root()
        .ancestors()
        .map(|a| a.join("shared/corpus").join(file))
        .find(|p| p.exists())
}

#[test]
fn analyze_reads_the_corpus_format_and_prints_json() {
    let Some(corpus) = corpus("traces/py_cache_leak.csv") else {
        eprintln!("SKIPPED: shared/corpus not found");
        return;
    };
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["version"], 1);
    assert_eq!(v["verdict"], "leak");
    assert!(v["first_alert_s"].as_f64().unwrap() > 60.0);
    assert!(v["start_unix_s"].is_null());
    let rss = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "rss_bytes")
        .unwrap();
    assert_eq!(rss["verdict"], "leak");
    assert_eq!(rss["unit"], "bytes");
    assert!(rss["current"].is_u64(), "byte counts are integers: {rss}");
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
    let Some(corpus) = corpus("traces/py_lru_ok.csv") else {
        eprintln!("SKIPPED: shared/corpus not found");
        return;
    };
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
    // Three seconds of samples: too little to judge, never "no leak".
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too little data to judge"));
    let text = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&text);
    assert!(events.iter().any(|e| e["event"] == "exited"), "{text}");
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["verdict"], "not_judged");
    // Every line has its version and t_s, the summary too.
    for e in &events {
        assert_eq!(e["version"], 1, "{e}");
        assert!(e["t_s"].as_f64().is_some(), "{e}");
    }
}

/// A leaky service restarted every 40 s by a supervisor loop (as an OOM
/// kill or a crash loop would): each lifetime alone is too short to judge,
/// but every lifetime climbs the same way. `watch --name` knows the
/// restarts; the same recording without its identity columns (a bare export)
/// finds them in the data. Both are leaks.
#[test]
fn a_leak_restarted_every_40s_is_found_by_name_and_in_a_bare_export() {
    // Keeps 1 MiB of written bytes per 0.25 s: by its restart it holds ten
    // times what a fresh interpreter does.
    let leaker = "import time\nkept = []\nwhile True:\n    kept.append(bytes(range(256)) * 4096)\n    time.sleep(0.25)\n";
    let name = format!("lw-restart-{}.py", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(&name);
    std::fs::write(&copy, leaker).unwrap();
    let supervisor = format!("while true; do timeout 40 python3 {}; done", copy.display());
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
            "1s",
            "--duration",
            "95s",
            "--out",
        ])
        .arg(&csv)
        .args(["--name", &name])
        .output()
        .unwrap();
    // The supervisor first, then its current child (found by its unique name).
    let _ = sup.kill();
    let _ = sup.wait();
    let _ = std::process::Command::new("pkill")
        .args(["-f", &name])
        .status();
    let text = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&text);
    let restarts = events.iter().filter(|e| e["event"] == "restart").count();
    assert!(restarts >= 2, "{restarts} restarts: {text}");
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

    // The recording carries the identity, so a replay knows every restart.
    let recorded = std::fs::read_to_string(&csv).unwrap();
    assert!(
        recorded.starts_with("t_s,")
            && recorded
                .lines()
                .next()
                .unwrap()
                .ends_with(",instance,pid,start_time_s"),
        "{}",
        recorded.lines().next().unwrap()
    );
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["verdict"], "leak", "{v:#}");
    assert_eq!(v["identity_column"], "instance");
    assert_eq!(v["restarts"].as_u64().unwrap() as usize, restarts);

    // A bare export: only time and memory, no identity at all.
    let bare = dir.path().join("bare.csv");
    let mut rows = String::from("t_s,rss_bytes\n");
    for line in recorded.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if !f[1].is_empty() {
            rows.push_str(&format!("{},{}\n", f[0], f[1]));
        }
    }
    std::fs::write(&bare, rows).unwrap();
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&bare)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["verdict"], "leak", "{v:#}");
    assert!(v["identity_column"].is_null());
    let rss = &v["resources"][0];
    assert!(
        rss["lifetimes_ended"].as_u64().unwrap() >= 2,
        "the restarts are found in the data: {rss:#}"
    );
    assert!(
        rss["reason"].as_str().unwrap().contains("lifetimes")
            || rss["evidence"]["lifetimes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| l["climbed"] == true)
                .count()
                >= 2,
        "{rss:#}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// pandas writes an unnamed index column first and quotes fields that hold
/// commas; analyze reads what pandas writes.
#[test]
fn analyze_reads_what_pandas_writes() {
    if !has_command("python3")
        || !std::process::Command::new("python3")
            .args(["-c", "import pandas"])
            .status()
            .is_ok_and(|s| s.success())
    {
        eprintln!("SKIPPED: python3 with pandas not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("pandas.csv");
    let script = format!(
        "import pandas as pd\n\
         n = 600\n\
         df = pd.DataFrame({{'t_s': [i * 0.25 for i in range(n)],\n\
                            'rss_bytes': [50_000_000 + 400_000 * i for i in range(n)],\n\
                            'note': ['GET /a, b \"quoted\"' for i in range(n)]}})\n\
         df.to_csv({:?})\n",
        csv.display().to_string()
    );
    let status = std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read_to_string(&csv).unwrap();
    assert!(written.starts_with(",t_s,rss_bytes,note"), "{written:.80}");
    assert!(
        written.contains("\"GET /a, b \"\"quoted\"\"\""),
        "{written:.200}"
    );
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["rows"], 600, "{v:#}");
    assert_eq!(v["verdict"], "leak", "{v:#}");
}

/// `t_s` as Unix epoch seconds (what monitoring exports write): times are
/// shown from the first row, with its date, not as 50 years of history.
#[test]
fn analyze_shows_epoch_times_from_the_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("epoch.csv");
    let mut rows = String::from("t_s,rss_bytes\n");
    for i in 0..1200 {
        rows.push_str(&format!(
            "{},{}\n",
            1_700_000_000.0 + i as f64 * 0.25,
            50_000_000 + 300_000 * i
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let out = leakwatch().arg("analyze").arg(&csv).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "times are Unix epoch seconds: shown from the first row (2023-11-14 22:13:20 UTC)"
        ),
        "{text}"
    );
    assert!(text.contains("1200 samples over 5m 00s"), "{text}");
    let first = text
        .lines()
        .find(|l| l.starts_with("first alert after"))
        .unwrap();
    assert!(!first.contains('d'), "{first}");
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["start_unix_s"], 1_700_000_000.0);
    assert!(v["first_alert_s"].as_f64().unwrap() < 300.0, "{v:#}");
}

/// A climb too short to be called a leak is "growing", never "no leak".
#[test]
fn a_short_climb_is_growing_not_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("short.csv");
    let mut rows = String::from("t_s,rss_bytes\n");
    for i in 0..80 {
        rows.push_str(&format!(
            "{},{}\n",
            i as f64 * 0.25,
            50_000_000 + 1_000_000 * i
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let out = leakwatch().arg("analyze").arg(&csv).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with("verdict: growing, not yet called a leak"),
        "{text}"
    );
    assert!(!text.contains("no leak"), "{text}");
}

/// A monitoring tool's CSV export as it comes (Grafana: a `Time` column of
/// UTC dates, one column named by the metric and its labels): the memory
/// column is found, the dates read, and a leak under noise is called; the
/// same export of a flat series is not.
#[test]
fn analyze_reads_a_grafana_export() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, leak_per_min: f64| {
        let csv = dir.path().join(name);
        let mut rows =
            String::from("\"Time\",\"container_memory_working_set_bytes{pod=\"\"api-7f\"\"}\"\n");
        let mut noise: u64 = 7;
        for i in 0..1440u64 {
            noise = noise
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (noise >> 40) as f64 / (1u64 << 24) as f64 * 4e6;
            let (h, m) = (i / 60, i % 60);
            rows.push_str(&format!(
                "2026-12-0{} {:02}:{:02}:00,{:.0}\n",
                1 + h / 24,
                h % 24,
                m,
                300e6 + jitter + leak_per_min * i as f64
            ));
        }
        std::fs::write(&csv, rows).unwrap();
        csv
    };
    let leaky = write("leaky.csv", 40_000.0);
    let out = leakwatch().arg("analyze").arg(&leaky).output().unwrap();
    let (text, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert!(text.contains("verdict: LEAK"), "{text}");
    assert!(
        text.contains("shown from the first row (2026-12-01 00:00:00 UTC)"),
        "{text}"
    );
    assert!(
        err.contains(
            r#"column "container_memory_working_set_bytes{pod=\"api-7f\"}" read as memory"#
        ),
        "{err}"
    );
    let flat = write("flat.csv", 0.0);
    let out = leakwatch().arg("analyze").arg(&flat).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `analyze FILE | head -1`: the reader goes away; leakwatch ends quietly.
#[test]
fn analyze_ends_quietly_when_stdout_is_closed() {
    let Some(corpus) = corpus("traces/py_cache_leak.csv") else {
        eprintln!("SKIPPED: shared/corpus not found");
        return;
    };
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .arg("analyze")
        .arg(&corpus)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(141)),
        "{:?}",
        out.status
    );
    // Through a real `head -1` too.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} analyze {} | head -1",
            assert_cmd::cargo::cargo_bin("leakwatch").display(),
            corpus.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// A single endless line is refused with a clear error, and any number of
/// rows is judged in the same small memory.
#[test]
fn analyze_is_bounded_on_endless_lines_and_long_files() {
    let dir = tempfile::tempdir().unwrap();
    let endless = dir.path().join("endless.csv");
    let mut bytes = b"t_s,rss_bytes\n0,1\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'9', 8 << 20));
    std::fs::write(&endless, bytes).unwrap();
    let out = leakwatch().arg("analyze").arg(&endless).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3 is longer than 65536 bytes"),
        "{stderr}"
    );

    if !std::path::Path::new("/usr/bin/time").exists() {
        eprintln!("SKIPPED: /usr/bin/time not installed (peak memory check)");
        return;
    }
    let peak_kib = |rows: usize| -> u64 {
        let path = dir.path().join(format!("rows-{rows}.csv"));
        let mut text = String::with_capacity(rows * 24);
        text.push_str("t_s,rss_bytes,fds\n");
        for i in 0..rows {
            let wobble = (i % 97) as f64 * 1e4;
            text.push_str(&format!(
                "{},{:.0},{}\n",
                i as f64 * 0.25,
                1e8 + wobble,
                10 + i % 3
            ));
        }
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "maxrss=%M"])
            .arg(assert_cmd::cargo::cargo_bin("leakwatch"))
            .arg("analyze")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        stderr
            .lines()
            .find_map(|l| l.strip_prefix("maxrss="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{stderr}"))
    };
    let small = peak_kib(20_000);
    let large = peak_kib(2_000_000);
    // Forty MB of rows more costs no memory beyond allocator noise.
    assert!(
        large < small + 4 * 1024,
        "peak RSS {small} KiB for 20k rows, {large} KiB for 2M rows"
    );
}

#[test]
fn analyze_says_when_there_is_too_little_to_judge() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("short.csv");
    std::fs::write(&csv, "t_s,rss_bytes\n0,100\n1,101\n2,102\n").unwrap();
    let out = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["verdict"], "not_judged");
    assert!(String::from_utf8_lossy(&out.stderr).contains("too little data to judge"));
    let out = leakwatch()
        .args([
            "analyze",
            "--prometheus",
            "http://127.0.0.1:9",
            "--query",
            "up",
            "--step",
            "0s",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is zero"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    // The agent (--serve) warns the same way, naming the target.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args([
            "watch",
            "--duration",
            "2s",
            "--interval",
            "250ms",
            "--target-name",
            "other",
        ])
        .args(["--serve", &format!("127.0.0.1:{port}")])
        .args(["--pid", &target.id().to_string()])
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
    let agent_err = String::from_utf8_lossy(&agent.stderr);
    assert!(
        agent_err.contains("warning: other: cannot read /proc/")
            && agent_err.contains("fds are not sampled"),
        "{agent_err}"
    );
    // Two seconds: watched to the end, too little to judge.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
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
