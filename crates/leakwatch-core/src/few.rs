//! Judging a series of only a handful of points (a class's count over three
//! to ten heap snapshots) with the same statistics and thresholds as the
//! memory-series detector: the detector's rules for series too short for it.
//!
//! [`crate::Detector`] itself needs dozens of samples (it judges the
//! floors of 8 history slices), so three to ten snapshots would leave it
//! "collecting" forever. Instead the series is judged directly with
//! [`crate::stats`] (Mann–Kendall, Theil–Sen) and the thresholds of
//! [`DetectorConfig::default`]:
//! - **leak**: Kendall's tau ≥ `min_tau` (with 3 snapshots: it rose at every
//!   step), the rise is at least `min_relative_growth` of the level and at
//!   least `min_objects`, the growth is made of objects that survived (at least
//!   half of the rise up to the snapshot before the last is objects allocated
//!   after BASE and still alive in every later snapshot: only those can have
//!   survived to the last one, so a leak that speeds up is still a leak),
//!   and it keeps its pace: the last step's slope is at least `leveloff_ratio`
//!   of the slope before it;
//! - **plateau**: it rose, then stopped (last step flat or down): a cache that filled;
//! - **growing**: an upward trend that does not meet all the leak conditions;
//! - **stable**: no upward trend, a rise below `min_relative_growth` of the
//!   level, a spike given back, or a shrinking class;
//! - **collecting**: fewer than 3 snapshots.

use crate::detector::{DetectorConfig, LeakState};
use crate::stats::{mann_kendall, theil_sen};
use serde::Serialize;

/// The judgement of one class's series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClassTrend {
    pub state: LeakState,
    /// Theil–Sen slope of the count per snapshot.
    pub count_per_snapshot: f64,
    /// Theil–Sen slope of the self size (bytes) per snapshot.
    pub bytes_per_snapshot: f64,
    /// Count growth per hour from the snapshot times, when they are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_per_hour: Option<f64>,
    /// Kendall's tau of the counts.
    pub kendall_tau: f64,
}

/// Inputs of [`judge`] beside the series.
#[derive(Debug, Clone, Copy)]
pub struct TrendInput<'a> {
    pub counts: &'a [u64],
    pub sizes: &'a [u64],
    /// Snapshot times in seconds (any origin), `None` when unknown: the
    /// snapshot order is then the time axis (also when they are not at
    /// least a second apart).
    pub times_s: Option<&'a [f64]>,
    /// Objects of the class in the last snapshot allocated after BASE (and
    /// alive in every snapshot since).
    pub survivors: u64,
    /// Smallest count rise that can be a leak.
    pub min_objects: u64,
}

/// Judges one class; see the module documentation for the rules.
pub fn judge(input: &TrendInput<'_>) -> ClassTrend {
    let cfg = DetectorConfig::default();
    let n = input.counts.len();
    let ys: Vec<f64> = input.counts.iter().map(|&c| c as f64).collect();
    let bs: Vec<f64> = input.sizes.iter().map(|&c| c as f64).collect();
    let idx: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let slope = |xs: &[f64], ys: &[f64]| theil_sen(xs, ys, 1.96).map_or(0.0, |l| l.slope);
    let count_per_snapshot = slope(&idx, &ys);
    let bytes_per_snapshot = slope(&idx, &bs);
    // Times only count when they look like real snapshot times: in order
    // and at least a second apart (files copied together share near-equal
    // modification times, which would make the rates meaningless).
    let times = input
        .times_s
        .filter(|t| t.len() == n && t.windows(2).all(|w| w[1] - w[0] >= 1.0));
    let count_per_hour = times.map(|t| slope(t, &ys) * 3600.0);
    let tau = mann_kendall(&ys).tau;
    let mut trend = ClassTrend {
        state: LeakState::Collecting,
        count_per_snapshot,
        bytes_per_snapshot,
        count_per_hour,
        kendall_tau: tau,
    };
    if n < 3 {
        return trend;
    }
    let xs = times.unwrap_or(&idx);
    let rise = ys[n - 1] - ys[0];
    // Pace: the last step against the trend of the snapshots before it.
    let before = slope(&xs[..n - 1], &ys[..n - 1]);
    let last_step = (ys[n - 1] - ys[n - 2]) / (xs[n - 1] - xs[n - 2]);
    let level = ys.iter().copied().fold(0.0, f64::max).max(1.0);
    let fall = ys[n - 2] - ys[n - 1];
    trend.state = if tau <= 0.0 || rise < (cfg.min_relative_growth * level).max(1.0) {
        LeakState::Stable
    } else if before > 0.0 && last_step <= 0.0 {
        // Stopped rising: a plateau if it holds most of what it gained, a
        // passing spike if it gave most of it back.
        if fall <= 0.5 * (ys[n - 2] - ys[0]) {
            LeakState::Plateau
        } else {
            LeakState::Stable
        }
    } else if tau >= cfg.min_tau
        && rise >= input.min_objects as f64
        && (input.survivors as f64) * 2.0 >= ys[n - 2] - ys[0]
        && before > 0.0
        && last_step >= cfg.leveloff_ratio * before
    {
        LeakState::Leak
    } else {
        LeakState::Growing
    };
    trend
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(counts: &[u64], survivors: u64) -> LeakState {
        judge(&TrendInput {
            counts,
            sizes: counts,
            times_s: None,
            survivors,
            min_objects: 100,
        })
        .state
    }

    #[test]
    fn steady_growth_of_survivors_is_a_leak() {
        assert_eq!(state(&[100, 1100, 2100], 1000), LeakState::Leak);
        let t = judge(&TrendInput {
            counts: &[100, 1100, 2100],
            sizes: &[1000, 11000, 21000],
            times_s: Some(&[0.0, 60.0, 120.0]),
            survivors: 1000,
            min_objects: 100,
        });
        assert_eq!(t.count_per_snapshot, 1000.0);
        assert_eq!(t.bytes_per_snapshot, 10000.0);
        let per_hour = t.count_per_hour.unwrap();
        assert!((per_hour - 60_000.0).abs() < 1e-6, "{per_hour}");
        // Times less than a second apart are not used.
        let t = judge(&TrendInput {
            times_s: Some(&[0.0, 0.001, 0.002]),
            ..TrendInput {
                counts: &[100, 1100, 2100],
                sizes: &[1, 2, 3],
                times_s: None,
                survivors: 1000,
                min_objects: 100,
            }
        });
        assert_eq!(t.count_per_hour, None);
        assert_eq!(t.state, LeakState::Leak);
    }

    #[test]
    fn a_leak_that_speeds_up_is_a_leak() {
        // 20,000 kept between BASE and TARGET, then ten times as many before
        // FINAL (a heap dump at OutOfMemoryError): only the first 20,000 can
        // have been alive at TARGET and FINAL.
        assert_eq!(state(&[200, 20_200, 266_000], 20_000), LeakState::Leak);
        // ...but not when what was there at TARGET did not survive.
        assert_eq!(state(&[200, 20_200, 266_000], 100), LeakState::Growing);
    }

    #[test]
    fn uneven_times_change_the_pace() {
        // Same counts, but the second step took 4× as long: the growth slowed.
        let t = judge(&TrendInput {
            counts: &[100, 1100, 2100],
            sizes: &[1, 2, 3],
            times_s: Some(&[0.0, 60.0, 300.0]),
            survivors: 1000,
            min_objects: 100,
        });
        assert_eq!(t.state, LeakState::Growing);
    }

    #[test]
    fn a_filled_cache_is_a_plateau_not_a_leak() {
        // A bounded LRU: filled between BASE and TARGET, then turned over.
        assert_eq!(state(&[100, 20_100, 20_100], 20_000), LeakState::Plateau);
        assert_eq!(state(&[20_100, 20_100, 20_100], 20_000), LeakState::Stable);
        // Noise of a few objects on a big level.
        assert_eq!(state(&[20_100, 20_102, 20_101], 20_000), LeakState::Stable);
    }

    #[test]
    fn slowing_churning_or_small_growth_is_only_growing() {
        // Slowing down: the last step is a third of the first.
        assert_eq!(state(&[100, 3100, 4100], 3000), LeakState::Growing);
        // Rising, but made of objects that did not survive (re-created each time).
        assert_eq!(state(&[100, 1100, 2100], 10), LeakState::Growing);
        // Too few objects to matter.
        assert_eq!(state(&[10, 20, 30], 20), LeakState::Growing);
    }

    #[test]
    fn shrinking_and_two_snapshots() {
        assert_eq!(state(&[300, 200, 100], 0), LeakState::Stable);
        assert_eq!(state(&[0, 300, 10], 0), LeakState::Stable);
        assert_eq!(state(&[100, 2000], 1900), LeakState::Collecting);
    }
}
