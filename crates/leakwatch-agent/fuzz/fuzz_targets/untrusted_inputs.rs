//! Every parser of untrusted input in the agent: TOML config, sizes,
//! Prometheus API answers, cgroup paths, kubelet log names, the probe's
//! state file and scrapers' Accept headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = leakwatch_agent::fleet::parse_matrix(data);
    let _ = leakwatch_agent::probe_state::decode(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = leakwatch_agent::config::AgentConfig::parse(text, "fuzz");
        let _ = leakwatch_agent::config::parse_size(text);
        let _ = leakwatch_agent::containers::classify(std::path::Path::new(text));
        let _ = leakwatch_agent::containers::parse_k8s_log_name(text);
        let _ = leakwatch_agent::metrics::Format::negotiate(Some(text));
    }
});
