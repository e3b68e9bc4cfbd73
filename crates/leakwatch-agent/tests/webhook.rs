//! Alerts to a real HTTP receiver on loopback, for a real leaky program:
//! one alert per leak, retried while the receiver is down, resolved when the
//! program ends, and the sampling loop never stalls on delivery.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use leakwatch_agent::alert::{Alerting, DeliveryConfig, Dispatcher, WebhookSink};
use leakwatch_core::{DetectorConfig, LeakState, Resource, ResourceSet};

const LEAKY_PY: &str = "import time\nkeep = []\ni = 0\nwhile True:\n    keep.append('a' * 100_000 + str(i))\n    i += 1\n    time.sleep(0.02)\n";

fn rss_bytes(pid: u32) -> Option<f64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // A zombie has no memory left: treat it as gone.
    (pages > 0.0).then_some(pages * 4096.0)
}

/// Kills and reaps the program on drop, also when an assertion fails.
struct Program(std::process::Child);
impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Starts an HTTP receiver on `port` that forwards every POSTed body.
fn receiver(port: u16, tx: mpsc::Sender<serde_json::Value>) -> std::thread::JoinHandle<()> {
    let server = tiny_http::Server::http(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut body = String::new();
            req.as_reader().read_to_string(&mut body).unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let last = v["status"] == "resolved";
            tx.send(v).unwrap();
            req.respond(tiny_http::Response::empty(200)).unwrap();
            if last {
                break;
            }
        }
    })
}

#[test]
fn one_alert_per_leak_retried_while_down_resolved_when_the_program_ends() {
    // The receiver is down in the worst way: its port accepts connections
    // (the kernel's backlog) but nothing ever answers, so each delivery
    // attempt hangs until its 2 s timeout. A sampler that waited on delivery
    // would stall for seconds.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    let mut hung = Some(hung);
    let dispatcher = Dispatcher::spawn(
        Box::new(WebhookSink::new(
            &format!("http://127.0.0.1:{port}/hook"),
            Duration::from_secs(2),
        )),
        DeliveryConfig {
            queue_capacity: 16,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(800),
            max_attempts: 1000,
        },
    );
    let mut alerting = Alerting::new(300.0, vec![dispatcher]);

    let mut child = Program(
        Command::new("python3")
            .arg("-c")
            .arg(LEAKY_PY)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 runs"),
    );
    let pid = child.0.id();
    // Sampling at 10 Hz; a short minimum duration keeps the test quick.
    let mut cfg = DetectorConfig::for_interval(0.1);
    cfg.min_duration_s = 5.0;
    let mut set = ResourceSet::new(&[Resource::RssBytes], &cfg);

    let (tx, rx) = mpsc::channel();
    let mut receiver_thread = None;
    let mut fired_at: Option<Instant> = None;
    let mut sent = Vec::new();
    let mut slowest_tick = Duration::ZERO;
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no leak alert within 2 minutes");
        let tick = Instant::now();
        let t = t0.elapsed().as_secs_f64();
        match rss_bytes(pid) {
            Some(rss) => {
                set.push(Resource::RssBytes, t, rss);
                let a = set.detector(Resource::RssBytes).unwrap().assessment();
                if let Some(alert) = alerting.observe("leaky", Resource::RssBytes, &a, now_s()) {
                    sent.push(alert);
                    fired_at.get_or_insert(Instant::now());
                }
            }
            None => {
                let last = vec![(
                    Resource::RssBytes,
                    set.detector(Resource::RssBytes).unwrap().assessment(),
                )];
                sent.extend(alerting.target_ended("leaky", &last, now_s()));
                break;
            }
        }
        slowest_tick = slowest_tick.max(tick.elapsed());
        if let Some(f) = fired_at {
            // Keep leaking 3 s with the receiver down, then bring it up.
            if f.elapsed() > Duration::from_secs(5) && receiver_thread.is_none() {
                drop(hung.take());
                receiver_thread = Some(receiver(port, tx.clone()));
            }
            // Let it leak on for a while after, then end it.
            if f.elapsed() > Duration::from_secs(8) {
                let _ = child.0.kill();
                let _ = child.0.wait();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        set.detector(Resource::RssBytes).unwrap().state(),
        LeakState::Leak
    );
    // One firing and one resolved were made, however long it leaked.
    let statuses: Vec<_> = sent.iter().map(|a| format!("{:?}", a.status)).collect();
    assert_eq!(statuses, ["Firing", "Resolved"]);

    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the firing alert arrives");
    let second = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the resolve arrives");
    assert_eq!(first["status"], "firing", "{first}");
    assert_eq!(first["target"], "leaky");
    assert_eq!(first["resource"], "rss");
    assert!(first["growth_per_hour"].as_f64().unwrap() > 0.0);
    assert_eq!(second["status"], "resolved", "{second}");
    assert_eq!(second["reason"], "target ended");
    assert_eq!(second["started_at_s"], first["started_at_s"]);
    receiver_thread.unwrap().join().unwrap();
    assert!(rx.try_recv().is_err(), "more than one alert per leak");

    let stats = alerting.dispatchers()[0].stats();
    let attempts = stats.attempts.load(Ordering::Relaxed);
    assert!(
        attempts >= 3,
        "the firing alert was retried while the receiver was down ({attempts} attempts for 2 deliveries)"
    );
    // The receiver answered; the dispatcher counts right after reading it.
    let counted = Instant::now() + Duration::from_secs(5);
    while stats.delivered.load(Ordering::Relaxed) < 2 && Instant::now() < counted {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stats.delivered.load(Ordering::Relaxed), 2);
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    // Delivery happens on its own thread: no sampling tick waited on it.
    assert!(
        slowest_tick < Duration::from_secs(1),
        "a sampling tick took {slowest_tick:?} (delivery attempts hang for 2 s each)"
    );
    alerting.shutdown(Duration::from_secs(1));
}
