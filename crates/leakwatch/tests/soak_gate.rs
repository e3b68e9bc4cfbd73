//! The soak gate: `run --load` drives a real HTTP server with wrk and gates
//! on the detector's verdict, writing a JUnit result for CI.

mod common;
use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn soak(server: &str) -> (i32, serde_json::Value, String) {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("soak.xml");
    let load = format!("wrk -t1 -c4 -d80s http://127.0.0.1:{port}/");
    let out = leakwatch()
        .args([
            "run",
            "--json",
            "--duration",
            "3m",
            "--load",
            &load,
            "--junit",
        ])
        .arg(&junit)
        .args(["--", "python3", &example(server), &port.to_string()])
        .output()
        .unwrap();
    let xml = std::fs::read_to_string(&junit).expect("JUnit file written");
    assert_valid_junit(&junit);
    (out.status.code().unwrap(), json(&out), xml)
}

#[test]
fn leaky_server_under_wrk_fails_the_gate() {
    if !has_command("wrk") {
        eprintln!("SKIPPED: wrk is not installed (apt-get install wrk)");
        return;
    }
    let (code, v, xml) = soak("leaky_server.py");
    assert_eq!(
        v["stopped_because"], "caller",
        "the soak ends when the load ends: {v:#}"
    );
    assert_eq!(v["load_exit_status"], 0, "{v:#}");
    assert_eq!(v["verdict"], "leak", "{v:#}");
    assert_eq!(code, 1);
    assert!(
        xml.contains("<testcase name=\"rss_bytes does not leak\" classname=\"leakwatch.soak\""),
        "{xml}"
    );
    assert!(xml.contains("message=\"rss_bytes leaks"), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(!xml.contains("failures=\"0\""), "{xml}");
}

#[test]
fn fixed_server_under_wrk_passes_the_gate() {
    if !has_command("wrk") {
        eprintln!("SKIPPED: wrk is not installed (apt-get install wrk)");
        return;
    }
    let (code, v, xml) = soak("fixed_server.py");
    assert_eq!(v["verdict"], "ok", "{v:#}");
    assert_eq!(code, 0);
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
}
