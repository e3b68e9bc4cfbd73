//! The agent's command-line errors: clear messages, exit code 2, no panic.

use assert_cmd::Command;
use predicates::str::contains;

fn leakwatch() -> Command {
    Command::cargo_bin("leakwatch").unwrap()
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn non_loopback_serve_is_refused_without_serve_public() {
    leakwatch()
        .args(["watch", "--pid", "1", "--serve", "0.0.0.0:9464"])
        .assert()
        .code(2)
        .stderr(contains(
            "refusing to serve metrics on non-loopback address",
        ))
        .stderr(contains("--serve-public"));
}

#[test]
fn alertmanager_needs_a_webhook() {
    leakwatch()
        .args(["watch", "--pid", "1", "--alertmanager"])
        .assert()
        .code(2)
        .stderr(contains("--alertmanager needs --webhook URL"));
}

#[test]
fn bad_config_names_the_file_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, "interval = \"1s\"\nservee = true\n").unwrap();
    leakwatch()
        .args(["watch", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("agent.toml"))
        .stderr(contains("servee"));
    leakwatch()
        .args(["watch", "--config", "/nonexistent/agent.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read config /nonexistent/agent.toml"));
}

#[test]
fn config_without_targets_says_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(&cfg, "interval = \"1s\"\n").unwrap();
    leakwatch()
        .args(["watch", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("nothing to watch"));
}

#[test]
fn fleet_analysis_of_an_unreachable_server_is_a_clear_error() {
    let port = free_port();
    leakwatch()
        .args([
            "analyze",
            "--prometheus",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args(["--query", "up", "--range", "1h"])
        .assert()
        .code(2)
        .stderr(contains("cannot reach Prometheus"));
    leakwatch()
        .args(["analyze", "--query", "up"])
        .assert()
        .code(2)
        .stderr(contains("--prometheus"));
}

/// `--containers` on a host with no container or service cgroup says what
/// it looked for and where, instead of watching nothing in silence.
#[test]
fn containers_on_a_host_without_any_say_what_was_looked_for() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("cgroup.controllers"),
        "cpu io memory pids\n",
    )
    .unwrap();
    std::fs::create_dir(root.path().join("user.slice")).unwrap();
    let out = leakwatch()
        .args(["watch", "--containers", "--cgroup-root"])
        .arg(root.path())
        .args(["--interval", "1s", "--duration", "2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "no container or service cgroup found yet under {} (cgroup v2)",
            root.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("--cgroup PATH"), "{err}");
}

#[test]
fn two_targets_under_one_name_are_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(
        &cfg,
        "[[target]]\nname = \"a\"\nprocess = \"x\"\n\n[[target]]\nname = \"a\"\nprocess = \"y\"\n",
    )
    .unwrap();
    leakwatch()
        .args(["watch", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains("target #2: name \"a\" is already target #1's"));
}

/// The agent names each resource's limit as `watch` does: the host's
/// memory, threads-max, the fd soft limit.
#[test]
fn agent_names_each_resources_limit_like_watch() {
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let port = free_port();
    let out = leakwatch()
        .args(["watch", "--json", "--duration", "2s", "--interval", "200ms"])
        .args(["--pid", &sleeper.id().to_string()])
        .args(["--serve", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary: {text}"));
    let kind_of = |name: &str| {
        summary["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == name)
            .map(|r| r["limit_kind"].clone())
            .unwrap_or_else(|| panic!("no {name}: {summary}"))
    };
    assert_ne!(kind_of("rss_bytes"), "other", "{summary}");
    assert!(kind_of("rss_bytes").is_string(), "{summary}");
    assert_eq!(kind_of("threads"), "threads_max", "{summary}");
    assert_eq!(kind_of("fds"), "fd_soft_limit", "{summary}");
}

/// Run as a service (no --duration) and stopped by its supervisor while its
/// targets are still too young to judge: a clean stop (exit 0), not a
/// failure; with --duration the same is "not judged" (exit 2).
#[test]
fn a_young_agent_stopped_by_sigterm_exits_0_but_a_bounded_run_says_not_judged() {
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let port = free_port();
    let bin = assert_cmd::cargo::cargo_bin("leakwatch");
    let mut agent = std::process::Command::new(&bin)
        .args([
            "watch",
            "--interval",
            "200ms",
            "--pid",
            &sleeper.id().to_string(),
        ])
        .args(["--serve", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the agent never served"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let status = agent.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    leakwatch()
        .args(["watch", "--interval", "200ms", "--duration", "1s"])
        .args(["--pid", &sleeper.id().to_string(), "--target-name", "young"])
        .args(["--serve", "127.0.0.1:0"])
        .assert()
        .code(2)
        .stderr(contains("young is too little data to judge"));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}
