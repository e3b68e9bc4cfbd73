//! The Alertmanager payload against a real Alertmanager (Debian package
//! prometheus-alertmanager) started on loopback: the firing alert shows up
//! in its API with our labels, the resolve closes it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leakwatch_agent::alert::{Alerting, AlertmanagerSink, DeliveryConfig, Dispatcher};
use leakwatch_core::{Assessment, Evidence, LeakState, Resource};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

fn active_alerts(base: &str) -> Vec<serde_json::Value> {
    let body = ureq::get(&format!("{base}/api/v2/alerts"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn real_alertmanager_receives_and_resolves_the_leak_alert() {
    let Some(bin) = which("prometheus-alertmanager").or_else(|| which("alertmanager")) else {
        eprintln!("SKIPPED: Alertmanager is not installed (apt-get install prometheus-alertmanager; see .ci/deps/agent.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.path().join("am.log")).unwrap();
    let _am = Killed(
        Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_for("Alertmanager to be ready", || {
        ureq::get(&format!("{base}/-/ready")).call().is_ok()
    });

    let d = Dispatcher::spawn(
        Box::new(AlertmanagerSink::new(&base, Duration::from_secs(5))),
        DeliveryConfig::default(),
    )
    .repeating();
    let mut alerting = Alerting::new(0.0, vec![d]);
    let leak = Assessment {
        state: LeakState::Leak,
        samples: 500,
        duration_s: 500.0,
        current: 5e8,
        rate_per_hour: 7.2e8,
        rate_low_per_hour: 7e8,
        rate_high_per_hour: 7.4e8,
        first_alert_s: Some(400.0),
        time_to_limit_s: Some(2500.0),
        limit: Some(1e9),
        limit_kind: None,
        evidence: Evidence {
            reason: "lower envelope rose 40%".into(),
            ..Evidence::default()
        },
    };
    let fired = alerting.observe("web-1", Resource::CgroupBytes, &leak, now_s());
    assert!(fired.is_some());
    wait_for("the alert in Alertmanager", || {
        !active_alerts(&base).is_empty()
    });
    let alerts = active_alerts(&base);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "MemoryLeak");
    assert_eq!(a["labels"]["target"], "web-1");
    assert_eq!(a["labels"]["resource"], "cgroup");
    assert_eq!(a["annotations"]["time_to_limit_seconds"], "2500");
    assert_eq!(a["status"]["state"], "active");
    // Re-sending keeps one alert in Alertmanager, not two.
    alerting.resend_firing();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(active_alerts(&base).len(), 1);

    let resolved = alerting.target_ended("web-1", &[(Resource::CgroupBytes, leak)], now_s());
    assert_eq!(resolved.len(), 1);
    wait_for("the alert to be resolved", || {
        active_alerts(&base).is_empty()
    });
    alerting.shutdown(Duration::from_secs(5));
}
