//! `Detector::final_leak_only` (what `trace` uses to judge a thousand call
//! stacks) must call exactly the leaks the full detector calls: checked
//! sample by sample on the generator's production-shaped families (daily
//! cycles, restarts known and unknown, saw-tooths, steps, cache fills),
//! whole and cropped, and at the fast sampling of a soak test.

mod gen;

use gen::FAMILIES;
use leakwatch_core::{Detector, DetectorConfig, LeakState};

fn same_leaks(
    cfg: &DetectorConfig,
    t_s: &[f64],
    values: &[f64],
    instance: Option<&[u64]>,
) -> usize {
    let mut full = Detector::new(cfg.clone());
    let mut quick = Detector::new(cfg.clone()).final_leak_only();
    let mut leak_samples = 0;
    for (i, (&t, &v)) in t_s.iter().zip(values).enumerate() {
        if i > 0 && instance.is_some_and(|x| x[i] != x[i - 1]) {
            full.restart();
            quick.restart();
        }
        full.push(t, v);
        quick.push(t, v);
        let (a, b) = (full.assessment(), quick.assessment());
        assert_eq!(
            a.state == LeakState::Leak,
            b.state == LeakState::Leak,
            "sample {i}: {a:?}\n{b:?}"
        );
        if a.state == LeakState::Leak {
            assert_eq!(a, b, "sample {i}");
            leak_samples += 1;
        }
    }
    leak_samples
}

#[test]
fn final_leak_only_calls_the_leaks_the_full_detector_calls() {
    let (mut series, mut called) = (0, 0);
    for &(family, _) in FAMILIES {
        for seed in 1..=4 {
            for g in gen::with_crop(family, seed) {
                let interval = (g.t_s[1] - g.t_s[0]).max(1e-3);
                let cfg = DetectorConfig::for_interval(interval);
                series += 1;
                if same_leaks(&cfg, &g.t_s, &g.values, g.instance.as_deref()) > 0 {
                    called += 1;
                }
                // The same shape sampled as a short soak test (no season).
                let fast: Vec<f64> = (0..g.t_s.len()).map(|i| i as f64 * 0.5).collect();
                same_leaks(&DetectorConfig::default(), &fast, &g.values, None);
            }
        }
    }
    // The comparison means something only if leaks were called.
    assert!(
        called * 4 > series,
        "{called} of {series} series called a leak"
    );
}
