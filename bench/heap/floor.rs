// The floor for reading heap snapshots: how long it takes only to read the
// files from the page cache, and to read them while turning every digit run
// into a number (the least any JSON snapshot reader must do), single-threaded
// and with one thread per file. No dependencies: built with `rustc -O` by
// bench/heap/run.sh.
//
// The machine may be shared, so CPU time (user + system, all threads, from
// /proc/self/stat) is printed beside each wall time.
//
// usage: floor FILE...
//   prints "read_wall read_cpu parse_wall parse_cpu parallel_wall parallel_cpu numbers"
use std::fs::File;
use std::io::Read;
use std::time::Instant;

const BUF: usize = 1 << 20;

fn read_only(path: &str) -> u64 {
    let mut f = File::open(path).expect("open");
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            return total;
        }
        total += n as u64;
    }
}

/// Reads `path` and parses each run of ASCII digits as a u64; returns how
/// many numbers and their wrapping sum (so the work is not optimised away).
fn parse_numbers(path: &str) -> (u64, u64) {
    let mut f = File::open(path).expect("open");
    let mut buf = vec![0u8; BUF];
    let (mut count, mut sum, mut cur, mut in_num) = (0u64, 0u64, 0u64, false);
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                cur = cur.wrapping_mul(10).wrapping_add(d as u64);
                in_num = true;
            } else if in_num {
                sum = sum.wrapping_add(cur);
                count += 1;
                cur = 0;
                in_num = false;
            }
        }
    }
    if in_num {
        sum = sum.wrapping_add(cur);
        count += 1;
    }
    (count, sum)
}

/// CPU time of this process so far (user + system, all threads), in seconds.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) start at state.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0 // USER_HZ
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let (t, c) = (Instant::now(), cpu_s());
    let bytes: u64 = files.iter().map(|f| read_only(f)).sum();
    let (read_s, read_c) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    let (t, c) = (Instant::now(), cpu_s());
    let (mut count, mut sum) = (0u64, 0u64);
    for f in &files {
        let (c, s) = parse_numbers(f);
        count += c;
        sum = sum.wrapping_add(s);
    }
    let (parse_s, parse_c) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    let (t, c) = (Instant::now(), cpu_s());
    let par: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = files.iter().map(|f| s.spawn(move || parse_numbers(f).0)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let (parallel_s, parallel_c) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    assert_eq!(par, count);
    eprintln!("{bytes} bytes, {count} numbers (sum {sum})");
    println!(
        "{read_s:.3} {read_c:.2} {parse_s:.3} {parse_c:.2} {parallel_s:.3} {parallel_c:.2} {count}"
    );
}
