//! What one class-histogram poll costs a running JVM: the pause (time at
//! safepoints, from the JVM's own counters) and the wall time of each poll.
//!
//! Usage: jvm_poll_cost PID live|all POLLS INTERVAL_MS
//! Prints one line per poll, then the median and the largest.

use std::time::Duration;

use leakwatch_where::jvm::{HistogramMode, JvmSource};
use leakwatch_where::{GrowthSource, Options};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: jvm_poll_cost PID live|all POLLS INTERVAL_MS");
        std::process::exit(2);
    }
    let pid: i32 = args[1].parse().expect("pid");
    let mode = match args[2].as_str() {
        "live" => HistogramMode::Live,
        "all" => HistogramMode::All,
        m => panic!("mode {m}"),
    };
    let polls: usize = args[3].parse().expect("polls");
    let interval = Duration::from_millis(args[4].parse().expect("interval"));
    let opts = Options {
        jvm_histogram: mode,
        ..Options::default()
    };
    let mut src = JvmSource::open(pid, &opts).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let (mut pauses, mut walls) = (Vec::new(), Vec::new());
    for i in 0..polls {
        let mut classes = 0;
        let cost = src
            .poll(&mut |m, _, _| classes += usize::from(m == 0))
            .unwrap_or_else(|e| {
                eprintln!("error: {e}");
                std::process::exit(2)
            });
        let pause = cost
            .target_pause
            .map_or(f64::NAN, |p| p.as_secs_f64() * 1e3);
        let wall = cost.wall.as_secs_f64() * 1e3;
        println!("poll {i}: pause {pause:.1} ms, wall {wall:.1} ms, {classes} classes");
        pauses.push(pause);
        walls.push(wall);
        std::thread::sleep(interval);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (pm, px) = med(&mut pauses);
    let (wm, wx) = med(&mut walls);
    println!(
        "{}: pause median {pm:.1} ms max {px:.1} ms; wall median {wm:.1} ms max {wx:.1} ms",
        args[2]
    );
    let _ = src.close();
}
