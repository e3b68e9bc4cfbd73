//! Sampling cost: CPU time per process-sample over 600 live processes, for
//! the fast (statm + stat + fds) and full (+ smaps_rollup) depths, side by
//! side with `ps` reading RSS and thread counts of the same processes in the
//! same run (the anchor). Run: `cargo bench -p leakwatch-probe --bench sampling`.

use std::process::{Child, Command, Stdio};

use leakwatch_probe::{ProcessProbe, SampleDepth};

fn cpu_us(who: i32) -> f64 {
    // SAFETY: getrusage writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn main() {
    const PROCS: usize = 600;
    const ROUNDS: usize = 50;
    let mut children: Vec<Child> = (0..PROCS)
        .map(|_| {
            Command::new("sleep")
                .arg("300")
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn sleep")
        })
        .collect();
    let pids: Vec<i32> = children.iter().map(|c| c.id() as i32).collect();
    std::thread::sleep(std::time::Duration::from_millis(500));

    let mut results = Vec::new();
    for depth in [SampleDepth::Fast, SampleDepth::Full] {
        let mut probes: Vec<ProcessProbe> = pids
            .iter()
            .map(|p| ProcessProbe::attach(*p, depth).unwrap())
            .collect();
        let before = cpu_us(libc::RUSAGE_SELF);
        let mut total_rss = 0u64;
        for _ in 0..ROUNDS {
            for p in &mut probes {
                total_rss += p.sample().unwrap().rss_bytes;
            }
        }
        let per = (cpu_us(libc::RUSAGE_SELF) - before) / (PROCS * ROUNDS) as f64;
        assert!(total_rss > 0);
        results.push((format!("leakwatch {depth:?}"), per));
    }

    let pid_list = pids
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let before = cpu_us(libc::RUSAGE_CHILDREN);
    for _ in 0..ROUNDS {
        let out = Command::new("ps")
            .args(["-o", "rss=,nlwp=", "-p", &pid_list])
            .output()
            .expect("ps");
        assert!(out.status.success());
    }
    let ps_per = (cpu_us(libc::RUSAGE_CHILDREN) - before) / (PROCS * ROUNDS) as f64;

    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    println!(
        "CPU time per process-sample over {PROCS} processes, {ROUNDS} rounds (goal: <= 20 us)"
    );
    for (name, per) in &results {
        println!("  {name:<18} {per:>8.2} us   ({:.2}x ps)", per / ps_per);
    }
    println!("  {:<18} {ps_per:>8.2} us   (anchor: ps -o rss,nlwp)", "ps");
}
