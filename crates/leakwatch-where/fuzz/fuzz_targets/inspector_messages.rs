//! Any bytes as what a Node inspector sends: an HTTP response head and a
//! `/json/list` body, a WebSocket message, and a
//! `HeapProfiler.getSamplingProfile` result, then the per-site sums.
#![no_main]

use std::collections::HashMap;

use leakwatch_heap::inspector;
use leakwatch_where::node;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspector::parse_response_head(data);
    let _ = inspector::parse_target_list(data);
    let text = String::from_utf8_lossy(data);
    if let Ok(msg) = inspector::parse_message(&text) {
        if let Some(result) = msg.result {
            sites(result.get());
        }
    }
    sites(&text);
});

fn sites(result: &str) {
    if let Ok(nodes) = node::parse_sampling_profile(result) {
        let mut sums = HashMap::new();
        node::live_bytes_by_site(&nodes, &mut sums);
    }
}
