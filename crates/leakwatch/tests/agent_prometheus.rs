//! End to end with a real Prometheus: `leakwatch watch --serve` watches a
//! leaky and a bounded program, Prometheus scrapes it, its leak-state metric
//! shows the leak for the leaky one only, and `leakwatch analyze
//! --prometheus` over that server finds the same.

mod agent_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_support::*;
use leakwatch_agent::fleet::Prometheus;

/// Starts `leakwatch watch` as the agent on both programs, serving metrics.
fn start_agent(
    dir: &std::path::Path,
    leaky: u32,
    bounded: u32,
    port: u16,
    webhook: &str,
) -> Running {
    let cfg = dir.join("agent.toml");
    std::fs::write(
        &cfg,
        format!(
            "interval = \"1s\"\n[[target]]\nname = \"leaky\"\npid = {leaky}\n[[target]]\nname = \"bounded\"\npid = {bounded}\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("agent.log")).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args(["watch", "--config"])
        .arg(&cfg)
        .args(["--serve", &format!("127.0.0.1:{port}"), "--json"])
        .args(["--webhook", webhook])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the agent never served metrics");
        std::thread::sleep(Duration::from_millis(100));
    }
    Running(child)
}

fn leak_states(prom: &Prometheus) -> Vec<(String, f64)> {
    prom.query_instant(
        "leakwatch_leak_state{resource=\"rss\",state=\"leak\"}",
        now_s(),
    )
    .unwrap()
    .into_iter()
    .map(|(l, v)| (l["target"].clone(), v))
    .collect()
}

#[test]
fn prometheus_scrapes_leak_state_and_fleet_analysis_finds_the_leak() {
    if which("prometheus").is_none() {
        eprintln!("SKIPPED: the `prometheus` binary is not installed (apt-get install prometheus; see .ci/deps/agent.sh)");
        return;
    }
    let leaky = spawn_python(LEAKY_PY);
    let bounded = spawn_python(BOUNDED_PY);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let receiver = Receiver::start();
    let agent = start_agent(dir.path(), leaky.pid(), bounded.pid(), port, &receiver.url);
    let Some(prometheus) = PrometheusServer::start(&[format!("127.0.0.1:{port}")]) else {
        return;
    };
    let prom = Prometheus::new(&prometheus.url, Duration::from_secs(10)).unwrap();

    // The leak-state metric of the leaky program turns to 1 in Prometheus.
    let deadline = Instant::now() + Duration::from_secs(240);
    let states = loop {
        let states = leak_states(&prom);
        if states.iter().any(|(t, v)| t == "leaky" && *v == 1.0) {
            break states;
        }
        assert!(
            Instant::now() < deadline,
            "the leaky program never showed leak_state 1 in Prometheus: {states:?}\nagent:\n{}\nprometheus:\n{}",
            std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default(),
            prometheus.log()
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(
        states.iter().any(|(t, v)| t == "bounded" && *v == 0.0),
        "{states:?}"
    );
    // Never a leak for the bounded one over the whole run, not just now.
    let worst = prom
        .query_instant(
            "max_over_time(leakwatch_leak_state{target=\"bounded\",resource=\"rss\",state=\"leak\"}[10m])",
            now_s(),
        )
        .unwrap();
    assert_eq!(worst.len(), 1, "{worst:?}");
    assert_eq!(worst[0].1, 0.0, "bounded reached leak: {worst:?}");
    // Prometheus asks for OpenMetrics first and gets it: every scrape of
    // the negotiated exposition parsed (`up` stays 1 over the run).
    let down = prom
        .query_instant("min_over_time(up{job=\"leakwatch\"}[10m])", now_s())
        .unwrap();
    assert!(
        down.iter().all(|(_, v)| *v == 1.0) && !down.is_empty(),
        "a scrape failed: {down:?}\n{}",
        prometheus.log()
    );
    // Prometheus' first scrape came after the agent's first sample: let its
    // history grow past the detector's minimum duration too.
    std::thread::sleep(Duration::from_secs(20));

    // The webhook got one alert for the leak, none for the bounded program;
    // when the leaky program ends, the alert is resolved.
    let firing: Vec<_> = receiver
        .alerts()
        .into_iter()
        .filter(|a| a["status"] == "firing")
        .collect();
    assert!(firing.iter().any(|a| a["target"] == "leaky"), "{firing:?}");
    assert!(
        firing.iter().all(|a| a["target"] != "bounded"),
        "{firing:?}"
    );
    let per_key =
        |f: &[serde_json::Value], r: &str| f.iter().filter(|a| a["resource"] == r).count();
    assert_eq!(per_key(&firing, "rss"), 1, "one alert per leak: {firing:?}");
    drop(leaky);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !receiver.alerts().iter().any(|a| {
        a["status"] == "resolved" && a["target"] == "leaky" && a["reason"] == "target ended"
    }) {
        assert!(
            Instant::now() < deadline,
            "no resolve: {:?}",
            receiver.alerts()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(agent);

    // Fleet analysis over the same server finds the leaky one and not the other.
    let out = assert_cmd::Command::cargo_bin("leakwatch")
        .unwrap()
        .args([
            "analyze",
            "--prometheus",
            &prometheus.url,
            "--query",
            "leakwatch_memory_bytes{resource=\"rss\"}",
            "--range",
            "10m",
            "--step",
            "1s",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    let by_target = |name: &str| {
        results
            .iter()
            .find(|r| r["labels"]["target"] == name)
            .unwrap_or_else(|| panic!("no series for {name}: {stdout}"))
    };
    assert_eq!(by_target("leaky")["leaking"], true, "{stdout}");
    assert_eq!(by_target("bounded")["leaking"], false, "{stdout}");
    assert_eq!(results[0]["labels"]["target"], "leaky", "ranked first");
    assert_eq!(report["leaking_count"], 1, "{stdout}");

    // A bad query gets Prometheus' own error, exit code 2.
    let bad = assert_cmd::Command::cargo_bin("leakwatch")
        .unwrap()
        .args([
            "analyze",
            "--prometheus",
            &prometheus.url,
            "--query",
            "rate(",
            "--range",
            "5m",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("Prometheus rejected the query (bad_data)"),
        "{err}"
    );
}
