//! Not a test: the poller of bench/where/go_node.sh, run by it with
//! `--ignored`. It opens the Go or Node source of LEAKWATCH_BENCH_PID,
//! drives a session at LEAKWATCH_BENCH_INTERVAL_MS (default 2000, the
//! `where` default) for LEAKWATCH_BENCH_SECONDS, closes it, and prints one
//! line per poll (`poll MS`) and a summary line. For Node,
//! LEAKWATCH_BENCH_SAMPLING sets the sampling interval in bytes.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use leakwatch_where::driver::{self, DriveSettings, End};
use leakwatch_where::{go, node, Session};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[test]
#[ignore = "the poller of bench/where/go_node.sh"]
fn poll_for_the_benchmark() {
    let Some(pid) = env("LEAKWATCH_BENCH_PID").and_then(|p| p.parse::<i32>().ok()) else {
        eprintln!("LEAKWATCH_BENCH_PID is not set: nothing to poll");
        return;
    };
    let runtime = env("LEAKWATCH_BENCH_RUNTIME").unwrap_or_else(|| "go".into());
    let interval = Duration::from_millis(
        env("LEAKWATCH_BENCH_INTERVAL_MS").map_or(2000, |v| v.parse().unwrap()),
    );
    let seconds: f64 = env("LEAKWATCH_BENCH_SECONDS").map_or(20.0, |v| v.parse().unwrap());
    let timeout = Duration::from_secs(10);
    let source = match runtime.as_str() {
        "go" => go::open(pid, None, timeout),
        "node" => {
            let mut opts = node::NodeOptions {
                timeout,
                ..node::NodeOptions::default()
            };
            if let Some(bytes) = env("LEAKWATCH_BENCH_SAMPLING") {
                opts.sampling_interval = bytes.parse().unwrap();
            }
            node::NodeSource::open(pid, &opts)
                .map(|s| Box::new(s) as Box<dyn leakwatch_where::GrowthSource>)
        }
        other => panic!("LEAKWATCH_BENCH_RUNTIME={other}: go or node"),
    }
    .unwrap_or_else(|e| panic!("cannot open {runtime} process {pid}: {e}"));
    let cfg = leakwatch_where::detector_config(seconds);
    let mut session = Session::new(source, &cfg, 4096);
    // Driven as `where` drives it: the default pause budget spaces polls
    // whose pause (Node: the profile's time on the JavaScript thread)
    // exceeds 1 % of the interval.
    let settings = DriveSettings {
        duration: Duration::from_secs_f64(seconds),
        interval,
        max_duration: Duration::from_secs_f64(seconds),
        ..DriveSettings::default()
    };
    let mut walls = Vec::new();
    let mut intervals = Vec::new();
    let outcome = driver::run(&mut session, &settings, &AtomicBool::new(false), |p| {
        let cost = p.last.as_ref().unwrap();
        println!("poll {:.1}", cost.wall.as_secs_f64() * 1000.0);
        walls.push(cost.wall.as_secs_f64() * 1000.0);
        intervals.push(p.interval.as_secs_f64());
    });
    assert!(matches!(outcome.end, End::Completed), "{:?}", outcome.end);
    let report = session.report(5);
    session.close().unwrap();
    walls.sort_by(f64::total_cmp);
    println!(
        "summary polls={} median_ms={:.1} max_ms={:.1} last_interval_s={:.1} keys={} source={}",
        walls.len(),
        walls[walls.len() / 2],
        walls[walls.len() - 1],
        intervals.last().copied().unwrap_or_default(),
        report.metrics.iter().map(|m| m.keys.len()).sum::<usize>(),
        report.source
    );
}
