//! Judging many keyed series at once: one [`Detector`] per object class,
//! allocation site or call stack, fed one poll at a time.
//!
//! This is the one place where classes and sites are judged over time (by
//! `where`'s runtime sources, `report`'s growing sites and the agent): the
//! thresholds are the detector's own, never a second set.
//!
//! Bounded: at most `max_keys` keys are followed. When a new key arrives and
//! the table is full, it replaces the smallest key that is not growing, if
//! the newcomer is larger; otherwise it is counted in `dropped_keys` and
//! ignored. A key that a poll does not mention is zero at that poll (a class
//! whose last instance died, a stack with nothing live left).

use std::collections::HashMap;

use serde::Serialize;

use crate::detector::{Assessment, Detector, DetectorConfig, LeakState};

/// Points of each key's series kept for its sparkline.
pub const SPARK_POINTS: usize = 64;

/// One key's detector and the little history shown beside its verdict.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    detector: Detector,
    /// Poll generation at which the key was last mentioned.
    seen: u64,
    first_t: f64,
    first_value: f64,
    last_value: f64,
    peak: f64,
    /// Values downsampled to at most `SPARK_POINTS` (pairs averaged when full).
    spark: Vec<f64>,
    /// Samples averaged into each spark point at the current resolution.
    spark_stride: u32,
    spark_pending: (f64, u32),
}

impl Entry {
    fn new(key: &str, cfg: &DetectorConfig, t_s: f64, value: f64) -> Self {
        Entry {
            key: key.to_owned(),
            detector: Detector::new(cfg.clone()),
            seen: 0,
            first_t: t_s,
            first_value: value,
            last_value: value,
            peak: value,
            spark: Vec::with_capacity(SPARK_POINTS),
            spark_stride: 1,
            spark_pending: (0.0, 0),
        }
    }

    fn push(&mut self, t_s: f64, value: f64) {
        self.detector.push(t_s, value);
        self.last_value = value;
        self.peak = self.peak.max(value);
        let (sum, n) = &mut self.spark_pending;
        *sum += value;
        *n += 1;
        if *n >= self.spark_stride {
            self.spark.push(*sum / f64::from(*n));
            self.spark_pending = (0.0, 0);
            if self.spark.len() >= SPARK_POINTS {
                // Halve the resolution in place: the history stays whole.
                let half = self.spark.len() / 2;
                for i in 0..half {
                    self.spark[i] = (self.spark[2 * i] + self.spark[2 * i + 1]) / 2.0;
                }
                self.spark.truncate(half);
                self.spark_stride *= 2;
            }
        }
    }

    fn replaceable(&self) -> bool {
        matches!(
            self.detector.state(),
            LeakState::Collecting | LeakState::Stable | LeakState::Plateau
        )
    }
}

/// The judgement of one key, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct KeyedReport {
    pub key: String,
    pub state: LeakState,
    /// The detector has alerted on this key at some point.
    pub leak: bool,
    pub first_value: f64,
    pub last_value: f64,
    pub peak: f64,
    /// Seconds since the key was first seen.
    pub seen_for_s: f64,
    /// Values over time, at most [`SPARK_POINTS`], for a sparkline or plot.
    pub series: Vec<f64>,
    pub assessment: Assessment,
}

/// One detector per key, bounded in keys.
#[derive(Debug, Clone)]
pub struct KeyedDetectors {
    cfg: DetectorConfig,
    max_keys: usize,
    index: HashMap<String, usize>,
    entries: Vec<Entry>,
    generation: u64,
    poll_open: bool,
    dropped_keys: u64,
    last_t: f64,
}

impl KeyedDetectors {
    pub fn new(cfg: DetectorConfig, max_keys: usize) -> Self {
        KeyedDetectors {
            cfg,
            max_keys: max_keys.max(1),
            index: HashMap::new(),
            entries: Vec::new(),
            generation: 0,
            poll_open: false,
            dropped_keys: 0,
            last_t: f64::NEG_INFINITY,
        }
    }

    /// Starts a poll at `t_s`; then [`push`](Self::push) each key's value and
    /// [`end_poll`](Self::end_poll).
    pub fn begin_poll(&mut self, t_s: f64) {
        if self.poll_open {
            self.end_poll();
        }
        self.generation += 1;
        self.poll_open = true;
        self.last_t = t_s;
    }

    /// One key's value at the current poll. A key pushed twice in one poll
    /// keeps the sum (two stacks that symbolize to the same key).
    pub fn push(&mut self, key: &str, value: f64) {
        if !value.is_finite() || !self.poll_open {
            return;
        }
        let t = self.last_t;
        if let Some(&i) = self.index.get(key) {
            let e = &mut self.entries[i];
            if e.seen == self.generation {
                // Same key again in this poll (two stacks that symbolize
                // alike): the detector takes the sum at `end_poll`.
                e.last_value += value;
                return;
            }
            e.seen = self.generation;
            e.last_value = value;
            return;
        }
        let slot = if self.entries.len() < self.max_keys {
            self.entries.push(Entry::new(key, &self.cfg, t, value));
            self.entries.len() - 1
        } else {
            let victim = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.replaceable())
                .min_by(|a, b| a.1.last_value.total_cmp(&b.1.last_value))
                .map(|(i, _)| i);
            match victim {
                Some(i) if self.entries[i].last_value < value => {
                    self.index.remove(&self.entries[i].key);
                    self.entries[i] = Entry::new(key, &self.cfg, t, value);
                    self.dropped_keys += 1;
                    i
                }
                _ => {
                    self.dropped_keys += 1;
                    return;
                }
            }
        };
        self.entries[slot].seen = self.generation;
        self.index.insert(key.to_owned(), slot);
    }

    /// Ends the current poll: every key's value (zero for keys the poll did
    /// not mention) goes to its detector.
    pub fn end_poll(&mut self) {
        if !self.poll_open {
            return;
        }
        self.poll_open = false;
        let t = self.last_t;
        for e in &mut self.entries {
            let v = if e.seen == self.generation {
                e.last_value
            } else {
                0.0
            };
            e.push(t, v);
        }
    }

    /// Keys followed now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys that were ignored or replaced because the table was full.
    pub fn dropped_keys(&self) -> u64 {
        self.dropped_keys
    }

    /// Polls seen so far.
    pub fn polls(&self) -> u64 {
        self.generation
    }

    /// Every key's judgement, leaks first, then growing, each by growth
    /// rate (largest first); at most `top` of them.
    pub fn ranked(&self, top: usize) -> Vec<KeyedReport> {
        let rank = |s: LeakState, leak: bool| match (leak, s) {
            (true, _) | (_, LeakState::Leak) => 0,
            (_, LeakState::Growing) => 1,
            (_, LeakState::Plateau) => 2,
            (_, LeakState::Stable) => 3,
            (_, LeakState::Collecting) => 4,
        };
        let mut order: Vec<(usize, u8, f64)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let leak = e.detector.first_alert_s().is_some();
                let rate = e.detector.latest().map_or(0.0, |a| a.rate_per_hour);
                (i, rank(e.detector.state(), leak), rate)
            })
            .collect();
        order.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)));
        order
            .into_iter()
            .take(top)
            .map(|(i, _, _)| {
                let e = &self.entries[i];
                let mut series = e.spark.clone();
                if e.spark_pending.1 > 0 {
                    series.push(e.spark_pending.0 / f64::from(e.spark_pending.1));
                }
                KeyedReport {
                    key: e.key.clone(),
                    state: e.detector.state(),
                    leak: e.detector.first_alert_s().is_some(),
                    first_value: e.first_value,
                    last_value: e.last_value,
                    peak: e.peak,
                    seen_for_s: self.last_t - e.first_t,
                    series,
                    assessment: e.detector.assessment(),
                }
            })
            .collect()
    }

    /// The keys the detector has called leaks, best first.
    pub fn leaks(&self) -> Vec<KeyedReport> {
        let mut r = self.ranked(self.entries.len());
        r.retain(|k| k.leak);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(kd: &mut KeyedDetectors, polls: usize, dt: f64, value: impl Fn(&str, usize) -> f64) {
        for p in 0..polls {
            kd.begin_poll(p as f64 * dt);
            for key in ["leak", "churn", "cache"] {
                let v = value(key, p);
                if v > 0.0 {
                    kd.push(key, v);
                }
            }
            kd.end_poll();
        }
    }

    #[test]
    fn the_growing_key_is_named_and_churn_and_a_filled_cache_are_not() {
        let mut kd = KeyedDetectors::new(DetectorConfig::default(), 100);
        feed(&mut kd, 400, 1.0, |k, p| match k {
            "leak" => 1000.0 + 50.0 * p as f64,
            // Request-scoped objects: come and go, never accumulate.
            "churn" => {
                if p % 3 == 0 {
                    0.0
                } else {
                    5000.0 + (p % 7) as f64 * 100.0
                }
            }
            // A cache that fills in its first 20 s, then holds.
            _ => 20_000.0 * (p as f64 / 20.0).min(1.0),
        });
        let leaks = kd.leaks();
        assert_eq!(leaks.len(), 1, "{:?}", kd.ranked(3));
        assert_eq!(leaks[0].key, "leak");
        assert!(leaks[0].assessment.rate_per_hour > 0.0);
        assert!(leaks[0].series.len() <= SPARK_POINTS);
        assert_eq!(kd.ranked(10)[0].key, "leak");
    }

    #[test]
    fn keys_are_bounded_and_small_newcomers_are_dropped() {
        let mut kd = KeyedDetectors::new(DetectorConfig::default(), 2);
        kd.begin_poll(0.0);
        kd.push("a", 10.0);
        kd.push("b", 20.0);
        kd.push("c", 5.0); // smaller than both: dropped
        kd.push("d", 100.0); // replaces "a", the smallest
        kd.end_poll();
        assert_eq!(kd.len(), 2);
        assert_eq!(kd.dropped_keys(), 2);
        let keys: Vec<String> = kd.ranked(10).into_iter().map(|r| r.key).collect();
        assert!(keys.contains(&"b".to_owned()) && keys.contains(&"d".to_owned()));
    }

    #[test]
    fn a_key_missing_from_a_poll_is_zero() {
        let mut kd = KeyedDetectors::new(DetectorConfig::default(), 10);
        kd.begin_poll(0.0);
        kd.push("x", 7.0);
        kd.end_poll();
        kd.begin_poll(1.0);
        kd.end_poll();
        let r = &kd.ranked(1)[0];
        assert_eq!(r.last_value, 0.0);
        assert_eq!(r.peak, 7.0);
    }
}
