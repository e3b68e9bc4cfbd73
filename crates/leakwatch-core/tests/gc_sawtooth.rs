//! Live recordings of a bounded Node Map cache (examples/bounded_map.js,
//! `leakwatch run --out`, 4 Hz, 120 s on the development machine). V8 grows
//! its old space for a minute or two between major collections, so after a
//! collection the memory ramps up steadily for longer than the detector's
//! minimum history: the lows after each drop must keep these from being
//! called leaks. The same recordings with a steady leak added must still be.

use std::path::Path;

use leakwatch_core::{
    analysis::median_interval, analyze_series, parse_csv, DetectorConfig, Verdict,
};

fn recording(n: u32) -> leakwatch_core::Series {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/node_bounded_map_{n}.csv"));
    parse_csv(std::fs::read(&path).unwrap().as_slice()).unwrap()
}

fn judge(series: &leakwatch_core::Series) -> (Verdict, Option<f64>) {
    let cfg = DetectorConfig::for_interval(median_interval(&series.t_s));
    let report = analyze_series(series, &cfg);
    (report.verdict, report.first_alert_s)
}

#[test]
fn bounded_map_recordings_are_never_called_leaks() {
    for n in 1..=3 {
        let series = recording(n);
        let (verdict, first_alert) = judge(&series);
        assert_ne!(verdict, Verdict::Leak, "recording {n}");
        assert_eq!(
            first_alert, None,
            "recording {n}: alerted at {first_alert:?}"
        );
    }
}

#[test]
fn the_same_recordings_with_a_leak_added_are_leaks() {
    // 0.25 MB/s: the lows after each collection climb by several MB between drops.
    const LEAK_BYTES_PER_S: f64 = 250_000.0;
    for n in 1..=3 {
        let mut series = recording(n);
        let t = series.t_s.clone();
        for (_, values) in &mut series.columns {
            for (v, t) in values.iter_mut().zip(&t) {
                *v += LEAK_BYTES_PER_S * t;
            }
        }
        let (verdict, first_alert) = judge(&series);
        assert_eq!(verdict, Verdict::Leak, "recording {n} with a leak");
        assert!(first_alert.is_some());
    }
}
