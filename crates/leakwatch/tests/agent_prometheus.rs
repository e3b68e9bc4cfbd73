//! End to end with a real Prometheus: the agent's metrics endpoint serves
//! the detector's judgement of a leaky and a bounded program, Prometheus
//! scrapes it, its leak-state metric shows the leak for the leaky one only,
//! and `leakwatch analyze --prometheus` over that server finds the same.

mod agent_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent_support::*;
use leakwatch_agent::fleet::Prometheus;
use leakwatch_agent::metrics::Metrics;
use leakwatch_agent::serve::MetricsServer;
use leakwatch_core::{DetectorConfig, Resource, ResourceSet};

/// Samples both programs' RSS at 1 Hz into detectors and the metrics, the way
/// the agent does, until `stop`.
fn sample_loop(metrics: Metrics, targets: Vec<(String, u32)>, stop: Arc<AtomicBool>) {
    let cfg = DetectorConfig::for_interval(1.0);
    let mut state: Vec<_> = targets
        .into_iter()
        .map(|(name, pid)| {
            let tm = metrics.target(&name);
            (pid, tm, ResourceSet::new(&[Resource::RssBytes], &cfg))
        })
        .collect();
    let t0 = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let t = t0.elapsed().as_secs_f64();
        for (pid, tm, set) in &mut state {
            if let Some(rss) = rss_bytes(*pid) {
                set.push(Resource::RssBytes, t, rss);
                tm.update(&metrics, &[(Resource::RssBytes, rss)], None, set);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
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
    let leaky = spawn_python(LEAKY_PY);
    let bounded = spawn_python(BOUNDED_PY);
    let metrics = Metrics::new();
    let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics.clone()).unwrap();
    let Some(prometheus) = PrometheusServer::start(&[server.addr().to_string()]) else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        let targets = vec![
            ("leaky".to_string(), leaky.pid()),
            ("bounded".to_string(), bounded.pid()),
        ];
        std::thread::spawn(move || sample_loop(metrics, targets, stop))
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
            "the leaky program never showed leak_state 1 in Prometheus: {states:?}\n{}",
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
            "max_over_time(leakwatch_leak_state_code{target=\"bounded\",resource=\"rss\"}[10m])",
            now_s(),
        )
        .unwrap();
    assert_eq!(worst.len(), 1, "{worst:?}");
    assert!(worst[0].1 < 4.0, "bounded reached leak: {worst:?}");
    // Prometheus' first scrape came after the agent's first sample: let its
    // history grow past the detector's minimum duration too.
    std::thread::sleep(Duration::from_secs(20));
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

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
    drop(server);
}
