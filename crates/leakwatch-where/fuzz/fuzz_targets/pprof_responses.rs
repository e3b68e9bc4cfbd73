//! Any bytes as the body of a net/http/pprof answer, through the Go
//! source's own path: decode (gzip + profile.proto, bounded), then the
//! heap and goroutine sums per stack key.
#![no_main]

use std::collections::HashMap;

use leakwatch_where::go;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = go::looks_like_pprof_index(data);
    if let Ok(p) = go::decode_profile(data, "fuzz") {
        let _ = go::heap_by_key(&p, &mut HashMap::new());
        let _ = go::goroutines_by_key(&p, &mut HashMap::new());
    }
});
