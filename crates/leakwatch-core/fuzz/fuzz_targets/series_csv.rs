//! Any bytes given to `analyze`: parsing must fail cleanly or succeed, and a
//! parsed series must replay through the detector without panicking.
#![no_main]

use leakwatch_core::{analyze_series, parse_csv, DetectorConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(series) = parse_csv(data) {
        let mut cfg = DetectorConfig::default();
        cfg.min_samples = 4;
        cfg.min_duration_s = 0.0;
        let _ = analyze_series(&series, &cfg);
    }
});
