//! Any bytes given to the pprof reader yield a profile or a typed error,
//! never a panic; a decoded profile survives the diff.
#![no_main]

use leakwatch_heap::pprof::{decode, diff_profiles};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = decode(data) {
        let _ = diff_profiles(&p, &p, 10);
    }
});
