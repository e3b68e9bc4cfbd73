//! `analyze --prometheus` over a real Prometheus (the Debian package, started
//! here on loopback) scraping targets that restart: one history per service
//! across its restarts, joined by start time, and the leak masked by the
//! restarts is called; a service restarted as often that does not leak is not.

mod agent_support;
use agent_support::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tiny exporter, as a service would embed one: its own resident memory
/// and start time as the process collectors name them, and the same as a
/// container runtime exporter (cAdvisor) would, with a container id and
/// runtime name that are new on every start. With `leak`, it keeps 1 MiB of
/// written bytes more every 0.25 s; without, it churns as much and keeps a
/// fixed working set.
const EXPORTER_PY: &str = r##"
import os, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, container, leak = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "leak"
started = time.time()
cid = os.urandom(6).hex()

def work():
    kept, i = [], 0
    while True:
        block = bytes(range(256)) * 4096
        if leak:
            kept.append(block)
        else:
            kept = kept[-8:] + [block]
        i += 1
        time.sleep(0.25)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

class Metrics(BaseHTTPRequestHandler):
    def do_GET(self):
        m = rss()
        labels = f'container="{container}",id="/docker/{cid}",name="{container}-{cid}"'
        body = (
            f"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {m}\n"
            f"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {started:.2f}\n"
            f"# TYPE container_memory_working_set_bytes gauge\ncontainer_memory_working_set_bytes{{{labels}}} {m}\n"
            f"# TYPE container_start_time_seconds gauge\ncontainer_start_time_seconds{{{labels}}} {int(started)}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

threading.Thread(target=work, daemon=True).start()
HTTPServer(("127.0.0.1", port), Metrics).serve_forever()
"##;

fn spawn_exporter(script: &std::path::Path, port: u16, container: &str, leak: bool) -> Running {
    let child = Command::new("python3")
        .arg(script)
        .arg(port.to_string())
        .arg(container)
        .arg(if leak { "leak" } else { "steady" })
        .stdin(Stdio::null())
        .spawn()
        .expect("python3 runs");
    // Serving before the next scrape, so no lifetime starts with a failed one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the exporter never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    Running(child)
}

/// Runs `leakwatch analyze --prometheus` with `query` over the last `range`.
fn analyze(url: &str, query: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = assert_cmd::Command::cargo_bin("leakwatch")
        .unwrap()
        .args([
            "analyze",
            "--prometheus",
            url,
            "--query",
            query,
            "--range",
            "3m",
            "--step",
            "500ms",
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report, stdout)
}

#[test]
fn a_restarting_target_is_one_history_joined_by_start_time_and_its_leak_is_called() {
    if which("python3").is_none() {
        eprintln!("SKIPPED: python3 is not installed (.ci/deps/detector.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("exporter.py");
    std::fs::write(&script, EXPORTER_PY).unwrap();
    let (leaky_port, steady_port) = (free_port(), free_port());
    let mut leaky = spawn_exporter(&script, leaky_port, "api", true);
    let mut steady = spawn_exporter(&script, steady_port, "worker", false);
    let targets = [
        format!("127.0.0.1:{leaky_port}"),
        format!("127.0.0.1:{steady_port}"),
    ];
    let Some(prometheus) = PrometheusServer::start_every(&targets, "500ms") else {
        return;
    };
    // A supervisor's restarts: both services are killed and started again
    // every 30 s (an OOM kill, a crash loop); three lifetimes each.
    const LIFETIME: Duration = Duration::from_secs(30);
    for _ in 0..2 {
        std::thread::sleep(LIFETIME);
        drop(leaky);
        drop(steady);
        leaky = spawn_exporter(&script, leaky_port, "api", true);
        steady = spawn_exporter(&script, steady_port, "worker", false);
    }
    std::thread::sleep(LIFETIME);

    // The process collectors' names: the series keeps its labels across
    // restarts, the start time says where each lifetime begins.
    let (code, report, stdout) = analyze(
        &prometheus.url,
        "process_resident_memory_bytes{job=\"leakwatch\"}",
        &[],
    );
    drop(leaky);
    drop(steady);
    let results = report["results"].as_array().unwrap();
    let by_instance = |port: u16| {
        results
            .iter()
            .find(|r| r["labels"]["instance"] == format!("127.0.0.1:{port}"))
            .unwrap_or_else(|| panic!("no series for port {port}: {stdout}"))
    };
    let leak = by_instance(leaky_port);
    let calm = by_instance(steady_port);
    assert_eq!(results.len(), 2, "{stdout}");
    assert!(
        leak["instances"].as_u64().unwrap() >= 3,
        "three lifetimes known from the start time: {leak:#}\n{}",
        prometheus.log()
    );
    assert!(leak["restarts"].as_u64().unwrap() >= 2, "{leak:#}");
    assert_eq!(leak["leaking"], true, "{leak:#}");
    assert!(
        leak["reason"]
            .as_str()
            .unwrap()
            .contains("lifetimes (the process restarts)"),
        "{leak:#}"
    );
    assert!(calm["instances"].as_u64().unwrap() >= 3, "{calm:#}");
    assert_eq!(calm["leaking"], false, "{calm:#}");
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(report["leaking_count"], 1, "{stdout}");

    // cAdvisor's names: every restart is a new series (new id and name),
    // joined by the labels that stay (the container) into one history.
    let (code, report, stdout) = analyze(
        &prometheus.url,
        "container_memory_working_set_bytes{job=\"leakwatch\"}",
        &[],
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "one history per container: {stdout}");
    let by_container = |name: &str| {
        results
            .iter()
            .find(|r| r["labels"]["container"] == name)
            .unwrap_or_else(|| panic!("no history for {name}: {stdout}"))
    };
    let (api, worker) = (by_container("api"), by_container("worker"));
    assert!(api["joined_series"].as_u64().unwrap() >= 3, "{api:#}");
    assert!(api["instances"].as_u64().unwrap() >= 3, "{api:#}");
    assert_eq!(api["leaking"], true, "{api:#}");
    assert!(worker["joined_series"].as_u64().unwrap() >= 3, "{worker:#}");
    assert_eq!(worker["leaking"], false, "{worker:#}");
    assert_eq!(code, Some(1), "{stdout}");

    // Without the start times, each container id is its own short series:
    // none of them is long enough to call, so the join is what finds it.
    let (_, report, stdout) = analyze(
        &prometheus.url,
        "container_memory_working_set_bytes{job=\"leakwatch\"}",
        &["--start-query", "none"],
    );
    let results = report["results"].as_array().unwrap();
    assert!(results.len() >= 6, "one series per instance: {stdout}");
    assert!(results.iter().all(|r| r["joined_series"] == 1), "{stdout}");
    assert_eq!(report["leaking_count"], 0, "{stdout}");
}
