//! `leakwatch snapshot --node-inspect` against a real `node --inspect` running
//! a leak pattern from the corpus.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Std, Stdio};

use assert_cmd::Command;
use serde_json::Value;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/scenarios").join(name))
        .find(|p| p.exists())
        .expect("shared/corpus/scenarios beside the repository")
}

/// Kills the Node process when the test ends, pass or fail.
struct NodeGuard(Child);

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `node --inspect=127.0.0.1:0 SCRIPT` and returns it with its inspector port.
fn start_node(script: &Path) -> (NodeGuard, u16) {
    let mut child = Std::new("node")
        .arg("--inspect=127.0.0.1:0")
        .arg(script)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("node is installed");
    let stderr = child.stderr.take().unwrap();
    let guard = NodeGuard(child);
    let mut lines = BufReader::new(stderr).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("node printed its inspector address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("Debugger listening on ws://127.0.0.1:") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining stderr so node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (guard, port)
}

#[test]
fn snapshots_a_running_node_and_finds_the_map_leak() {
    let (_node, port) = start_node(&scenario("node_map_leak.js"));
    // Node prints its inspector address before it runs the script: let the
    // program start, so BASE is a snapshot of the running program (a BASE
    // from before start-up makes the Map itself new, and its timer list the
    // topmost new object).
    std::thread::sleep(std::time::Duration::from_secs(1));
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .args(["snapshot", "--node-inspect"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "--count",
            "3",
            "--every",
            "2s",
            "--min-bytes",
            "64KiB",
            "--json",
        ])
        .arg("--out-dir")
        .arg(out_dir.path())
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let files: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(stderr.matches("wrote ").count(), 3, "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = &json["report"]["clusters"][0];
    assert_eq!(top["class"], "Object", "{top:#}");
    let display = top["display"].as_str().unwrap();
    assert!(display.contains("requests (Map) → table"), "{display}");
}

#[test]
fn refuses_non_loopback_without_allow_remote() {
    // TEST-NET-1 address: refused before any connection is attempted.
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .args([
            "snapshot",
            "--node-inspect",
            "192.0.2.10:9229",
            "--count",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn nothing_listening_is_a_clear_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .args(["snapshot", "--node-inspect"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--inspect"), "{stderr}");
}
