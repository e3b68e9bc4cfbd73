//! Robust trend statistics: Mann–Kendall and Theil–Sen.
//!
//! Both are rank based, so a single GC spike or a one-off step moves them far
//! less than it moves a least-squares fit. Inputs are small (the detector
//! feeds at most a few hundred points), so the O(n²) pairwise forms are used.

/// Result of a Mann–Kendall trend test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// Concordant minus discordant pairs.
    pub s: f64,
    /// Variance of `s` under the no-trend hypothesis, corrected for ties.
    pub var_s: f64,
    /// Normal approximation with continuity correction.
    pub z: f64,
    /// Kendall's tau-a: `s` over the number of pairs, in [-1, 1].
    pub tau: f64,
}

/// Mann–Kendall test for a monotonic trend in `ys` (taken in order).
pub fn mann_kendall(ys: &[f64]) -> MannKendall {
    mann_kendall_in(ys, &mut Vec::new())
}

/// [`mann_kendall`] using `scratch` for its sort, so a caller that keeps the
/// buffer allocates nothing.
pub fn mann_kendall_in(ys: &[f64], scratch: &mut Vec<f64>) -> MannKendall {
    let n = ys.len();
    if n < 2 {
        return MannKendall {
            s: 0.0,
            var_s: 0.0,
            z: 0.0,
            tau: 0.0,
        };
    }
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += sign(ys[j] - ys[i]);
        }
    }
    // Tie correction: groups of equal values reduce the variance.
    scratch.clear();
    scratch.extend_from_slice(ys);
    let sorted = &mut scratch[..];
    sorted.sort_by(f64::total_cmp);
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        if t > 1.0 {
            tie_term += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - tie_term) / 18.0;
    let s = s as f64;
    let z = if var_s <= 0.0 {
        0.0
    } else if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    let pairs = nf * (nf - 1.0) / 2.0;
    MannKendall {
        s,
        var_s,
        z,
        tau: s / pairs,
    }
}

fn sign(d: f64) -> i64 {
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

/// A Theil–Sen line with Sen's confidence interval for the slope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheilSen {
    pub slope: f64,
    pub intercept: f64,
    pub slope_low: f64,
    pub slope_high: f64,
}

/// Theil–Sen estimator: the median of all pairwise slopes.
///
/// `z` is the two-sided normal quantile of the confidence interval (1.96 for
/// 95 %). Returns `None` when fewer than two distinct x values exist.
pub fn theil_sen(xs: &[f64], ys: &[f64], z: f64) -> Option<TheilSen> {
    theil_sen_in(xs, ys, z, &mut Vec::new())
}

/// [`theil_sen`] using `scratch` for the pairwise slopes.
pub fn theil_sen_in(xs: &[f64], ys: &[f64], z: f64, scratch: &mut Vec<f64>) -> Option<TheilSen> {
    let n = xs.len().min(ys.len());
    let slopes = scratch;
    pairwise_slopes(xs, ys, slopes);
    if slopes.is_empty() {
        return None;
    }
    // Only four order statistics are needed (the median's one or two, the
    // interval's two): selecting them is linear where sorting the m =
    // n(n-1)/2 slopes was m log m, and gives the same values. Sorting was
    // most of the judgement's cost when `trace` judges a thousand stacks.
    let m = slopes.len();
    let (lo, hi) = sen_interval_ranks(n, m, z);
    let [mid_low, mid_high, slope_low, slope_high] =
        order_stats(slopes, [(m - 1) / 2, m / 2, lo, hi]);
    let slope = if m % 2 == 1 {
        mid_high
    } else {
        (mid_low + mid_high) / 2.0
    };
    slopes.clear();
    slopes.extend((0..n).map(|i| ys[i] - slope * xs[i]));
    let intercept = median_unsorted(slopes);
    Some(TheilSen {
        slope,
        intercept,
        slope_low,
        slope_high,
    })
}

/// The slopes between every two points with distinct x, into `out`.
fn pairwise_slopes(xs: &[f64], ys: &[f64], out: &mut Vec<f64>) {
    let n = xs.len().min(ys.len());
    out.clear();
    for i in 0..n {
        for j in i + 1..n {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                out.push((ys[j] - ys[i]) / dx);
            }
        }
    }
}

/// Ranks of the lower and upper bounds of Sen's (1968) interval among `m`
/// pairwise slopes of `n` points: the middle offset by z·sqrt(Var S) of
/// the Mann–Kendall statistic.
fn sen_interval_ranks(n: usize, m: usize, z: f64) -> (usize, usize) {
    let nf = n as f64;
    let c = z * (nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0).sqrt();
    let mf = m as f64;
    let lo = (((mf - c) / 2.0).floor().max(0.0) as usize).min(m - 1);
    let hi = (((mf + c) / 2.0).ceil().max(0.0) as usize).min(m - 1);
    (lo, hi)
}

/// Median of an already sorted, non-empty slice.
pub fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median of any slice (copies and sorts). Returns 0 for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    median_in(v, &mut Vec::new())
}

/// [`median`] sorting a copy in `scratch`.
pub fn median_in(v: &[f64], scratch: &mut Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    scratch.clear();
    scratch.extend_from_slice(v);
    median_unsorted(scratch)
}

/// Median of a non-empty slice, reordering it (selection, not a sort: the
/// same value as [`median_sorted`] of the sorted slice).
fn median_unsorted(v: &mut [f64]) -> f64 {
    let n = v.len();
    let [low, high] = order_stats(v, [(n - 1) / 2, n / 2]);
    if n % 2 == 1 {
        high
    } else {
        (low + high) / 2.0
    }
}

/// The values at ranks `ranks` (each < `v.len()`) of `v` ordered by
/// `f64::total_cmp`, as a full sort would place them; reorders `v`.
fn order_stats<const K: usize>(v: &mut [f64], ranks: [usize; K]) -> [f64; K] {
    // Distinct ranks, ascending; each selection splits the slice, and the
    // smaller ranks are looked for only left of it, the larger right.
    let mut wanted = ranks;
    wanted.sort_unstable();
    let mut distinct = [0usize; K];
    let mut count = 0;
    for r in wanted {
        if count == 0 || distinct[count - 1] != r {
            distinct[count] = r;
            count += 1;
        }
    }
    let mut found = [0.0f64; K];
    select_ranks(v, 0, &distinct[..count], &mut found[..count]);
    ranks.map(|r| found[distinct[..count].binary_search(&r).expect("rank kept")])
}

/// Fills `out[i]` with the value of rank `ranks[i] - base` in `v`
/// (`ranks` distinct and ascending).
fn select_ranks(v: &mut [f64], base: usize, ranks: &[usize], out: &mut [f64]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let k = ranks[mid] - base;
    v.select_nth_unstable_by(k, f64::total_cmp);
    out[mid] = v[k];
    let (left, right) = v.split_at_mut(k);
    let (out_left, out_right) = out.split_at_mut(mid);
    select_ranks(left, base, &ranks[..mid], out_left);
    select_ranks(
        &mut right[1..],
        base + k + 1,
        &ranks[mid + 1..],
        &mut out_right[1..],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_kendall_sees_increasing_and_no_trend() {
        let up: Vec<f64> = (0..20).map(f64::from).collect();
        let mk = mann_kendall(&up);
        assert_eq!(mk.tau, 1.0);
        assert!(mk.z > 5.0);
        let flat = vec![3.0; 20];
        let mk = mann_kendall(&flat);
        assert_eq!(mk.s, 0.0);
        assert_eq!(mk.z, 0.0);
        let zigzag: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 1.0 } else { 2.0 })
            .collect();
        assert!(mann_kendall(&zigzag).z.abs() < 1.0);
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        let xs: Vec<f64> = (0..11).map(f64::from).collect();
        let mut ys: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
        ys[5] = 1000.0;
        let ts = theil_sen(&xs, &ys, 1.96).unwrap();
        assert!((ts.slope - 2.0).abs() < 1e-9);
        assert!((ts.intercept - 1.0).abs() < 1e-9);
        assert!(ts.slope_low <= 2.0 && ts.slope_high >= 2.0);
    }

    #[test]
    fn theil_sen_needs_two_distinct_x() {
        assert!(theil_sen(&[1.0, 1.0], &[1.0, 2.0], 1.96).is_none());
        assert!(theil_sen(&[], &[], 1.96).is_none());
    }

    /// The sort-based estimator the selection replaced.
    fn theil_sen_by_sorting(xs: &[f64], ys: &[f64], z: f64) -> Option<TheilSen> {
        let n = xs.len().min(ys.len());
        let mut slopes = Vec::new();
        pairwise_slopes(xs, ys, &mut slopes);
        if slopes.is_empty() {
            return None;
        }
        slopes.sort_by(f64::total_cmp);
        let slope = median_sorted(&slopes);
        let (lo, hi) = sen_interval_ranks(n, slopes.len(), z);
        let (slope_low, slope_high) = (slopes[lo], slopes[hi]);
        let mut res: Vec<f64> = (0..n).map(|i| ys[i] - slope * xs[i]).collect();
        res.sort_by(f64::total_cmp);
        Some(TheilSen {
            slope,
            intercept: median_sorted(&res),
            slope_low,
            slope_high,
        })
    }

    #[test]
    fn selection_matches_sorting_on_ties_and_small_inputs() {
        for n in 0..12usize {
            let xs: Vec<f64> = (0..n).map(|i| (i / 2) as f64).collect();
            let ys: Vec<f64> = (0..n).map(|i| ((i * 7) % 3) as f64).collect();
            for z in [0.0, 1.0, 1.96, 50.0] {
                assert_eq!(
                    theil_sen(&xs, &ys, z),
                    theil_sen_by_sorting(&xs, &ys, z),
                    "n {n} z {z}"
                );
            }
            let mut sorted = ys.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if n == 0 { 0.0 } else { median_sorted(&sorted) };
            assert_eq!(median(&ys), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn selection_gives_the_sorted_estimates(
            pts in proptest::collection::vec((-50i32..50, -1e6f64..1e6), 0..80),
            rounded in proptest::bool::ANY,
            z in 0.0f64..4.0,
        ) {
            // Small integer xs give repeated x (skipped pairs); rounded ys
            // give tied slopes and residuals.
            let xs: Vec<f64> = pts.iter().map(|p| f64::from(p.0)).collect();
            let ys: Vec<f64> = pts.iter().map(|p| if rounded { (p.1 / 1e5).round() } else { p.1 }).collect();
            let got = theil_sen(&xs, &ys, z);
            let want = theil_sen_by_sorting(&xs, &ys, z);
            proptest::prop_assert_eq!(got.map(|t| (t.slope.to_bits(), t.intercept.to_bits(), t.slope_low.to_bits(), t.slope_high.to_bits())),
                want.map(|t| (t.slope.to_bits(), t.intercept.to_bits(), t.slope_low.to_bits(), t.slope_high.to_bits())));
            let mut sorted = ys.clone();
            sorted.sort_by(f64::total_cmp);
            let want_median = if ys.is_empty() { 0.0 } else { median_sorted(&sorted) };
            proptest::prop_assert_eq!(median(&ys).to_bits(), want_median.to_bits());
        }

        #[test]
        fn tau_is_bounded_and_antisymmetric(ys in proptest::collection::vec(-1e9f64..1e9, 0..60)) {
            let mk = mann_kendall(&ys);
            proptest::prop_assert!(mk.tau >= -1.0 && mk.tau <= 1.0);
            let neg: Vec<f64> = ys.iter().map(|y| -y).collect();
            proptest::prop_assert_eq!(mann_kendall(&neg).s, -mk.s);
        }
    }
}
