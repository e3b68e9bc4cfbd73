//! A live agent's `/metrics`, handed to the consumers it exists for:
//! `promtool check metrics` (Debian's prometheus) on the classic text
//! format, and the OpenMetrics parser of the official Python client
//! (`prometheus_client.openmetrics.parser`, strict about the OpenMetrics
//! grammar) on the OpenMetrics answer; promtool has no OpenMetrics mode
//! (prometheus/prometheus#8932). A target whose name holds a quote, a
//! backslash and a line feed is watched too: its label must round-trip
//! and inject nothing. `agent_prometheus.rs` has a real Prometheus scrape
//! the negotiated OpenMetrics answer.

mod agent_support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_support::*;

// A line break is refused in names (config and --target-name); quotes,
// braces and backslashes must be escaped in the exposition.
const EVIL: &str = "evil\"} 1 leakwatch_injected{x=\"1\"} 1 \\";

fn get(port: u16, path: &str, accept: Option<&str>) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{accept}\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

fn start_agent(dir: &std::path::Path, leaky: u32, bounded: u32, port: u16) -> Running {
    let cfg = dir.join("agent.toml");
    // TOML basic strings escape the quote, backslash and line feed.
    let evil_toml = EVIL
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    std::fs::write(
        &cfg,
        format!(
            "interval = \"0.5s\"\n[[target]]\nname = \"leaky\"\npid = {leaky}\n[[target]]\nname = \"{evil_toml}\"\npid = {bounded}\n"
        ),
    )
    .unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args(["watch", "--config"])
        .arg(&cfg)
        .args(["--serve", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the agent never served metrics");
        std::thread::sleep(Duration::from_millis(100));
    }
    Running(child)
}

#[test]
fn live_metrics_pass_promtool_and_the_openmetrics_parser() {
    let Some(promtool) = which("promtool") else {
        eprintln!("SKIPPED: promtool is not installed (apt-get install prometheus; see .ci/deps/agent.sh)");
        return;
    };
    let leaky = spawn_python(LEAKY_PY);
    let bounded = spawn_python(BOUNDED_PY);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _agent = start_agent(dir.path(), leaky.pid(), bounded.pid(), port);
    // Let every family fill: a few seconds of samples and judgements.
    std::thread::sleep(Duration::from_secs(4));

    for accept in [None, Some("text/plain;version=0.0.4"), Some("*/*")] {
        let (head, body) = get(port, "/metrics", accept);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.contains("Content-Type: text/plain; version=0.0.4"),
            "{accept:?}: {head}"
        );
        for family in [
            "leakwatch_memory_bytes",
            "leakwatch_leak_state",
            "leakwatch_memory_growth_bytes_per_second",
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_open_fds",
            "process_max_fds",
            "process_virtual_memory_bytes",
        ] {
            assert!(
                body.contains(&format!("# HELP {family} ")),
                "no {family}:\n{body}"
            );
        }
        assert!(!body.contains("per_hour") && !body.contains("leak_state_code"));
        assert!(
            !body.lines().any(|l| l.starts_with("leakwatch_injected")),
            "a target name injected a line:\n{body}"
        );
        let mut check = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        check
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = check.wait_with_output().unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics failed:\n{}{}\n--- exposition:\n{body}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let (head, body) = get(
        port,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert!(
        head.contains("Content-Type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(body.ends_with("# EOF\n"));
    let parser = Command::new("python3")
        .args(["-c", OPENMETRICS_CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut parser = parser;
    parser
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = parser.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'prometheus_client'") {
        eprintln!("SKIPPED the OpenMetrics half: python3 -m pip install prometheus-client (see .ci/deps/agent.sh)");
        return;
    }
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the exposition:\n{stderr}\n--- exposition:\n{body}"
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(
        report["undocumented"].as_array().unwrap().is_empty(),
        "{report}"
    );
    let targets: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(targets.contains(&EVIL), "{targets:?}");
    assert!(targets.contains(&"leaky"), "{targets:?}");

    // /healthz answers while the loop ticks.
    let (head, body) = get(port, "/healthz", None);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "ok\n");
}

/// Parses stdin with the official client's OpenMetrics parser (raises on
/// any grammar error) and reports families without HELP and the target
/// label values it read.
const OPENMETRICS_CHECK: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(sys.stdin.read()))
undocumented = [f.name for f in families if not f.documentation]
targets = sorted({s.labels["target"] for f in families for s in f.samples if "target" in s.labels})
print(json.dumps({"families": len(families), "undocumented": undocumented, "targets": targets}))
"#;
