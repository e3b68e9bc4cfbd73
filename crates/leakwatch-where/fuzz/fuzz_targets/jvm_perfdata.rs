//! A JVM's hsperfdata file (written by the target, read by `where`): any
//! bytes parse to counters or a clean error.
#![no_main]

use leakwatch_where::jvm::perfdata;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = perfdata::for_each(data, |name, _| n += name.len());
    if let Ok(c) = perfdata::parse(data) {
        let _ = c.safepoint_seconds();
    }
});
