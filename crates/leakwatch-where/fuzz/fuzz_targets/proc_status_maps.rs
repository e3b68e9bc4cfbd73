//! /proc/PID/status and /proc/PID/maps text (a process's name and mapped
//! paths are chosen by the process): parsed without panics.
#![no_main]

use leakwatch_where::procfs;
use leakwatch_where::runtime;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(st) = procfs::parse_status(1, &text) {
        let _ = st.catches(3);
    }
    let files = procfs::parse_mapped_files(&text);
    let first = text.lines().next().unwrap_or("");
    let _ = runtime::classify(first, &files, || false);
});
