//! Any bytes given to the snapshot reader yield a snapshot or a typed error,
//! never a panic; a parsed snapshot survives the whole analysis.
#![no_main]

use leakwatch_heap::diff::{analyze, DiffOptions, SnapshotSummary};
use leakwatch_heap::{HeapSnapshot, Keep};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = HeapSnapshot::from_bytes(data, Keep::NodesOnly);
    if let Ok(snap) = HeapSnapshot::from_bytes(data, Keep::Everything) {
        let summary = SnapshotSummary::of(&snap);
        let empty = SnapshotSummary::of(&HeapSnapshot::default());
        let mut snap = snap;
        let _ = analyze(&mut [empty], &mut snap, &summary, &DiffOptions::default());
    }
});
