//! Any bytes given to the HPROF reader yield a heap dump or a typed error,
//! never a panic; a dump that parses survives the whole comparison (paths,
//! groups, class table) against itself and against a small valid dump.
#![no_main]

use leakwatch_heap::diff::DiffOptions;
use leakwatch_heap::hprof::{write::sample, HeapDump};
use leakwatch_heap::jvm::{analyze_dumps, DumpSummary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = HeapDump::from_bytes(data) {
        let own = DumpSummary::of(&d);
        let _ = analyze_dumps(&[own], &d, &DiffOptions::default(), vec![]);
        if let Ok(small) = HeapDump::from_bytes(&sample(3, 0)) {
            let _ = analyze_dumps(&[DumpSummary::of(&small)], &d, &DiffOptions::default(), vec![]);
        }
    }
});
