//! `Detector::final_leak_only` (what `trace` uses to judge a thousand call
//! stacks) must call exactly the leaks the full detector calls: checked
//! sample by sample on hand-made shapes, on random ones, and on the
//! generator's production-shaped families (daily cycles, restarts known and
//! unknown, saw-tooths, steps, cache fills), whole and cropped, and at the
//! fast sampling of a soak test.

mod gen;

use gen::FAMILIES;
use leakwatch_core::{Detector, DetectorConfig, LeakState};

/// One sample: time, value, and whether a known restart came before it.
type Sample = (f64, f64, bool);

/// Pushes the same samples into a full detector and a `final_leak_only`
/// one: after every sample both have called a leak or neither, and once
/// called their assessments are the same. Returns how many samples were
/// judged a leak.
fn same_leaks(cfg: &DetectorConfig, samples: impl IntoIterator<Item = Sample>) -> usize {
    let mut full = Detector::new(cfg.clone());
    let mut quick = Detector::new(cfg.clone()).final_leak_only();
    let mut leak_samples = 0;
    for (i, (t, v, restarted)) in samples.into_iter().enumerate() {
        if restarted {
            full.restart();
            quick.restart();
        }
        full.push(t, v);
        quick.push(t, v);
        let (a, b) = (full.assessment(), quick.assessment());
        assert_eq!(
            a.state == LeakState::Leak,
            b.state == LeakState::Leak,
            "sample {i} at {t}: {a:?}\n{b:?}"
        );
        if a.state == LeakState::Leak {
            assert_eq!(a, b, "sample {i} at {t}");
            leak_samples += 1;
        }
        assert_eq!(full.first_alert_s(), quick.first_alert_s());
    }
    leak_samples
}

/// Deterministic pseudo-noise in [-1, 1] so the tests are repeatable.
fn noise(i: f64) -> f64 {
    ((i * 12.9898).sin() * 43758.5453).fract() * 2.0 - 1.0
}

/// `n` samples `dt` apart of `f(t)`, no restart.
fn series(n: usize, dt: f64, f: impl Fn(f64) -> f64) -> impl Iterator<Item = Sample> {
    (0..n).map(move |i| {
        let t = i as f64 * dt;
        (t, f(t), false)
    })
}

#[test]
fn hand_made_shapes_give_the_same_leaks() {
    // A leak, a level, a saw-tooth whose lows climb, one whose lows do
    // not, a leak that restarts (lifetimes found in the data), a daily
    // cycle with and without a leak (two seasons at one sample a minute).
    let fast = DetectorConfig::default();
    assert!(
        same_leaks(
            &fast,
            series(600, 0.25, |t| 50e6 + 1e6 * t + 2e5 * noise(t))
        ) > 0
    );
    assert_eq!(
        same_leaks(&fast, series(2000, 1.0, |t| 100e6 + 5e6 * noise(t))),
        0
    );
    assert!(
        same_leaks(
            &fast,
            series(3000, 1.0, |t| 80e6 + 2e4 * t + 20e6 * ((t % 60.0) / 60.0))
        ) > 0
    );
    same_leaks(
        &fast,
        series(3000, 1.0, |t| 80e6 + 20e6 * ((t % 60.0) / 60.0)),
    );
    assert!(
        same_leaks(
            &fast,
            series(4000, 1.0, |t| 50e6 + 2e5 * (t % 700.0) + 1e5 * noise(t))
        ) > 0
    );
    let daily = DetectorConfig::for_interval(60.0);
    for leak in [0.0, 400.0] {
        same_leaks(
            &daily,
            series(4 * 1440, 60.0, |t| {
                let day = (t / 86_400.0 * std::f64::consts::TAU).sin();
                500e6 + 100e6 * day + leak * t + 1e6 * noise(t)
            }),
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn random_shapes_give_the_same_leaks(
        n in 40usize..1500,
        slope in -2e4f64..6e4,
        noise_amp in 0.0f64..4e6,
        saw_period in 0.0f64..400.0,
        saw_amp in 0.0f64..3e7,
        step_at in 0.0f64..1.0,
        step in 0.0f64..5e7,
        restart_every in 0.0f64..1500.0,
        base in 1e6f64..1e8,
        dt in proptest::sample::select(vec![0.25, 1.0, 30.0, 60.0]),
        seed in 0.0f64..1000.0,
    ) {
        let cfg = DetectorConfig::for_interval(dt);
        let samples = (0..n).map(|i| {
            let age = if restart_every > 20.0 { (i as f64) % restart_every } else { i as f64 };
            let mut v = base + slope * age + noise_amp * noise(seed + i as f64);
            if saw_period > 2.0 {
                v += saw_amp * ((i as f64 % saw_period) / saw_period);
            }
            if i as f64 >= step_at * n as f64 {
                v += step;
            }
            (i as f64 * dt, v.max(1.0), false)
        });
        same_leaks(&cfg, samples);
    }
}

#[test]
fn the_generated_families_give_the_same_leaks() {
    let (mut series_seen, mut called) = (0, 0);
    for &(family, _) in FAMILIES {
        for seed in 1..=4 {
            for g in gen::with_crop(family, seed) {
                let interval = (g.t_s[1] - g.t_s[0]).max(1e-3);
                let cfg = DetectorConfig::for_interval(interval);
                let restarted =
                    |i: usize| i > 0 && g.instance.as_ref().is_some_and(|x| x[i] != x[i - 1]);
                series_seen += 1;
                let samples = (0..g.t_s.len()).map(|i| (g.t_s[i], g.values[i], restarted(i)));
                if same_leaks(&cfg, samples) > 0 {
                    called += 1;
                }
                // The same shape sampled as a short soak test (no season).
                let fast = (0..g.t_s.len()).map(|i| (i as f64 * 0.5, g.values[i], false));
                same_leaks(&DetectorConfig::default(), fast);
            }
        }
    }
    // The comparison means something only if leaks were called.
    assert!(
        called * 4 > series_seen,
        "{called} of {series_seen} series called a leak"
    );
}
