//! /proc and cgroup files are text written by the kernel, but a process name
//! in /proc/PID/stat is chosen by the (possibly hostile) target: the parsers
//! must never panic on any bytes.
#![no_main]

use leakwatch_probe::parse;
use leakwatch_probe::system::parse_mountinfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::stat_summary(data);
    let _ = parse::statm(data);
    let _ = parse::kb_field(data, b"Pss");
    let _ = parse::space_field(data, b"oom_kill");
    let _ = parse::single_u64(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_mountinfo(text);
    }
});
