//! `leakwatch watch --where`: the agent's leak alert on a leaking JVM is
//! sent again with the growing class attached, to a webhook receiver the
//! test runs on 127.0.0.1.
//!
//! Timing: the JVM keeps 2 MB more every second (100 sessions of 20 kB), so
//! its RSS rises steadily; the agent needs 60 s of history before any alert
//! (the detector's minimum, which the agent does not shorten), then the
//! `where` session polls once a second for 30 s. About 100 s in all: the
//! one test of `where` over a minute, because the alert has to come first.

#[path = "where/support.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

/// A webhook receiver on 127.0.0.1: every POSTed JSON body, in order.
fn receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&got);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end().to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if l.is_empty() {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            if r.read_exact(&mut body).is_ok() {
                if let Ok(v) = serde_json::from_slice(&body) {
                    out.lock().unwrap().push(v);
                }
            }
            let mut w = conn;
            let _ =
                w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

#[test]
fn an_alert_on_a_leaking_jvm_carries_the_growing_class() {
    let dir = tempfile::tempdir().unwrap();
    compile_java(dir.path());
    let mut jvm = Jvm::start(dir.path(), &["-Xms16m", "-Xmx1g"], &["0", "20000"], None);
    let (url, got) = receiver();
    let mut agent = Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args([
            "watch",
            "--pid",
            &jvm.pid.to_string(),
            "--target-name",
            "svc",
        ])
        .args(["--interval", "1s", "--duration", "200s", "--webhook", &url])
        .args([
            "--where",
            "--where-duration",
            "30s",
            "--where-interval",
            "1s",
        ])
        .args(["--where-pause-budget", "10%", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(200);
    let with_where = loop {
        let found = got
            .lock()
            .unwrap()
            .iter()
            .find(|a| a.get("where").is_some())
            .cloned();
        if let Some(a) = found {
            break Some(a);
        }
        if Instant::now() > deadline || agent.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // SIGTERM: the agent stops as it would in production.
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(agent.id() as i32, libc::SIGTERM) };
    let mut stdout = String::new();
    agent
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    agent
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = agent.wait();
    let alerts = got.lock().unwrap().clone();
    let a = with_where.unwrap_or_else(|| {
        panic!("no alert with `where`: {alerts:#?}\nstdout: {stdout}\nstderr: {stderr}")
    });
    assert_eq!(a["status"], "firing", "{a:#}");
    assert_eq!(a["target"], "svc");
    assert_eq!(a["kind"], "leakwatch.alert.v1");
    // The first delivery of the same alert came without `where`, at once.
    let first = alerts
        .iter()
        .find(|x| x["status"] == "firing" && x["resource"] == a["resource"])
        .unwrap();
    assert!(first.get("where").is_none(), "{first:#}");
    let w = &a["where"];
    eprintln!("where attached to the alert: {w:#}");
    assert_eq!(w["runtime"], "jvm", "{w:#}");
    assert_eq!(w["pid"], jvm.pid);
    let growing: Vec<&str> = w["growing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert!(
        growing.contains(&"WhereSvc$LeakedSession") || growing.contains(&"byte[]"),
        "{w:#}"
    );
    assert!(
        !growing
            .iter()
            .any(|k| k.contains("RequestScratch") || k.contains("CacheEntry")),
        "{w:#}"
    );
    assert!(
        a["summary"].as_str().unwrap().contains("growing: "),
        "{a:#}"
    );
    // Printed on the agent's stdout too.
    assert!(stdout.contains("\"event\":\"where\""), "{stdout}");
    assert!(stdout.contains("\"event\":\"where_started\""), "{stdout}");
    // The JVM was left serving.
    assert!(jvm.alive());
    assert!(jvm.handled().is_some());
    no_attach_files_left(&jvm);
}
