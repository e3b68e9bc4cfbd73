//! The online leak detector: one instance judges one resource of one target.
//!
//! It is fed one `(t_s, value)` sample at a time and keeps bounded memory: a
//! compressed history of at most [`DetectorConfig::history_buckets`] buckets
//! (min, max, mean per time slice). When the buckets fill up, neighbours are
//! merged pairwise, so a 3-minute soak at 4 Hz and 4 days at 30 s are both
//! seen whole at a resolution of a few hundred points.
//!
//! The judgement is made on the *lower envelope* (the per-slice minimum) of
//! the recent half of the history: GC saw-tooth, traffic bursts and noise move
//! the peaks, while a leak lifts the floor. A resource is a leak when the
//! floor rises monotonically (Mann–Kendall / Kendall's tau), by much more than
//! its scatter around a robust Theil–Sen line, by a meaningful fraction of its
//! level, and without levelling off (the recent slope is not much smaller than
//! the older one). Caches that fill and level off, one-off steps, warm-up and
//! oscillations fail one of these tests. With a `season` (daily traffic), no
//! leak is declared before one full season has been seen and the analysis
//! window is at least a season long, so the rising half of a daily cycle is
//! never mistaken for a leak.

use serde::{Deserialize, Serialize};

use std::fmt::Write;

use crate::format;
use crate::stats::{mann_kendall_in, median_in, theil_sen_in};

/// What the detector currently believes about one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeakState {
    /// Not enough history to judge yet.
    Collecting,
    /// No significant trend.
    Stable,
    /// Rising, but not (yet) shown to be unbounded: it may still level off.
    Growing,
    /// Rose earlier in the history, now flat: a cache or warm-up that filled.
    Plateau,
    /// Rises without bound: steadily, with no sign of levelling off.
    Leak,
}

impl LeakState {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakState::Collecting => "collecting",
            LeakState::Stable => "stable",
            LeakState::Growing => "growing",
            LeakState::Plateau => "plateau",
            LeakState::Leak => "leak",
        }
    }
}

impl std::fmt::Display for LeakState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tuning of the detector. The defaults were chosen on the labelled corpus
/// (real recordings at 4 Hz and production-shaped series at 30 s) and are
/// meant to be left alone; `season_s` is the one knob users may need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Buckets of compressed history kept (memory bound).
    pub history_buckets: usize,
    /// Samples needed before any judgement.
    pub min_samples: u64,
    /// The analysis window is split into this many slices; the floor of each
    /// slice is one point of the lower envelope.
    pub slices: usize,
    /// Minimum Kendall's tau of the floors for a leak.
    pub min_tau: f64,
    /// The floor's rise over the window must exceed this many times its
    /// robust scatter around the trend line.
    pub noise_multiple: f64,
    /// The floor's rise over the window must exceed this fraction of the level.
    pub min_relative_growth: f64,
    /// A leak keeps its pace: the recent slope must be at least this fraction
    /// of the older one, or the growth is levelling off.
    pub leveloff_ratio: f64,
    /// Consecutive leak judgements needed before alerting.
    pub confirmations: u32,
    /// No leak is declared on less history than this (seconds): start-up,
    /// JIT warm-up and cache fills look exactly like leaks for their first
    /// minute, and nothing in the data can tell them apart yet.
    pub min_duration_s: f64,
    /// Length of a traffic season (e.g. one day) in seconds, 0 for none.
    pub season_s: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            history_buckets: 128,
            min_samples: 24,
            slices: 8,
            min_tau: 0.6,
            noise_multiple: 4.0,
            min_relative_growth: 0.01,
            leveloff_ratio: 0.5,
            confirmations: 3,
            min_duration_s: 60.0,
            season_s: 0.0,
        }
    }
}

impl DetectorConfig {
    /// Sampling every few seconds or slower means production monitoring,
    /// where daily traffic cycles are the norm; faster sampling means a soak
    /// test or a CI run, minutes long, with no daily cycle to wait for.
    pub const SEASON_AUTO_MIN_INTERVAL_S: f64 = 5.0;
    pub const DAY_S: f64 = 86_400.0;

    /// The default configuration with the season chosen from the sampling interval.
    pub fn for_interval(interval_s: f64) -> Self {
        let mut cfg = DetectorConfig::default();
        if interval_s >= Self::SEASON_AUTO_MIN_INTERVAL_S {
            cfg.season_s = Self::DAY_S;
        }
        cfg
    }
}

/// The measurements behind a judgement, for users to check it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Start and end (seconds) of the analysis window.
    pub window_start_s: f64,
    pub window_end_s: f64,
    /// Kendall's tau of the lower envelope in the window (1 = every floor higher than the last).
    pub kendall_tau: f64,
    /// Mann–Kendall z statistic of the same.
    pub mann_kendall_z: f64,
    /// How much the floor rose over the window (Theil–Sen slope × window).
    pub floor_rise: f64,
    /// Robust scatter of the floors around the trend line (1.4826 × MAD).
    pub noise: f64,
    /// `floor_rise` over the median level in the window.
    pub relative_growth: f64,
    /// Recent slope over older slope: near 1 keeps its pace, near 0 levels
    /// off. `None` when the older history did not grow (nothing to compare).
    pub pace_ratio: Option<f64>,
    /// The slower half of the window's slope over the whole window's: near 1
    /// when growth is spread through the window, near 0 for a one-off step or
    /// a level-off inside it.
    pub spread_ratio: f64,
    /// How far the window's lowest floor is above the lowest floor of the
    /// older history (warm-up excluded): the after-GC envelope's rise.
    /// `None` while the history before the window is too short.
    pub floor_gain: Option<f64>,
    /// With a season: how much the last season's trough, median and peak
    /// rose over the season before (smallest of the three), once two seasons
    /// have been seen. Every part of the cycle higher than a day ago is a
    /// leak under the cycle; a cache fill or a step lifts only some of them.
    pub season_gain: Option<f64>,
    /// With a garbage collector's saw-tooth (two or more sharp drops seen):
    /// how far the low since the last drop is above the lowest low after an
    /// earlier drop. A leak raises the lows left after each collection; a
    /// runtime that only grows its heap between collections does not.
    #[serde(default)]
    pub trough_gain: Option<f64>,
    /// The lower envelope itself: one floor per slice of the window.
    pub floors: Vec<f64>,
    /// Why the state is what it is, in a few words.
    pub reason: String,
}

impl Evidence {
    /// Clears every field, keeping the buffers' capacity.
    fn reset(&mut self) {
        let mut floors = std::mem::take(&mut self.floors);
        let mut reason = std::mem::take(&mut self.reason);
        floors.clear();
        reason.clear();
        // Room for the longest reason up front, so a judgement never grows it.
        reason.reserve(192);
        *self = Evidence {
            floors,
            reason,
            ..Evidence::default()
        };
    }
}

/// The detector's current judgement of one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub state: LeakState,
    pub samples: u64,
    /// Seconds of history seen.
    pub duration_s: f64,
    /// Most recent value.
    pub current: f64,
    /// Growth of the lower envelope per hour (Theil–Sen), in the resource's unit.
    pub rate_per_hour: f64,
    /// 95 % confidence interval of `rate_per_hour`.
    pub rate_low_per_hour: f64,
    pub rate_high_per_hour: f64,
    /// Time of the first leak alert, if any.
    pub first_alert_s: Option<f64>,
    /// Seconds until `limit` is reached at the current rate, when growing.
    pub time_to_limit_s: Option<f64>,
    pub limit: Option<f64>,
    pub evidence: Evidence,
}

/// A change of state, returned by [`Detector::push`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub t_s: f64,
    pub from: LeakState,
    pub to: LeakState,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Bucket {
    t0: f64,
    t1: f64,
    min: f64,
    max: f64,
    sum: f64,
    n: u64,
    /// The largest fall inside the bucket in time order (a peak, then a
    /// lower value after it), and the peak it fell from: the only order
    /// information kept, so a collector's sharp drops survive merging.
    fall: f64,
    fall_from: f64,
}

impl Bucket {
    fn new(t: f64, v: f64) -> Self {
        Bucket {
            t0: t,
            t1: t,
            min: v,
            max: v,
            sum: v,
            n: 1,
            fall: 0.0,
            fall_from: v,
        }
    }
    fn add(&mut self, t: f64, v: f64) {
        if self.max - v > self.fall {
            self.fall = self.max - v;
            self.fall_from = self.max;
        }
        self.t1 = t;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.n += 1;
    }
    fn merge(&mut self, o: &Bucket) {
        if o.fall > self.fall {
            self.fall = o.fall;
            self.fall_from = o.fall_from;
        }
        if self.max - o.min > self.fall {
            self.fall = self.max - o.min;
            self.fall_from = self.max;
        }
        self.t1 = o.t1;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.n += o.n;
    }
    fn mid(&self) -> f64 {
        (self.t0 + self.t1) / 2.0
    }
    fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }
}

/// Online leak detector for one resource. Serializable, so an agent can
/// persist it and resume after a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    cfg: DetectorConfig,
    buckets: Vec<Bucket>,
    open: Option<Bucket>,
    /// Seconds a bucket spans before it is closed; 0 until the first merge.
    span: f64,
    samples: u64,
    first_t: f64,
    last_t: f64,
    last_v: f64,
    limit: Option<f64>,
    state: LeakState,
    leak_streak: u32,
    calm_streak: u32,
    first_alert_s: Option<f64>,
    assessment: Option<Assessment>,
    #[serde(skip)]
    scratch: Scratch,
}

impl Detector {
    pub fn new(cfg: DetectorConfig) -> Self {
        let cap = cfg.history_buckets.max(4 * cfg.slices.max(2));
        Detector {
            cfg: DetectorConfig {
                history_buckets: cap,
                ..cfg
            },
            buckets: Vec::with_capacity(cap),
            open: None,
            span: 0.0,
            samples: 0,
            first_t: 0.0,
            last_t: 0.0,
            last_v: 0.0,
            limit: None,
            state: LeakState::Collecting,
            leak_streak: 0,
            calm_streak: 0,
            first_alert_s: None,
            assessment: None,
            scratch: Scratch::default(),
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// The value this resource cannot exceed (cgroup limit, host memory, fd
    /// limit); used for the time-to-limit estimate.
    pub fn set_limit(&mut self, limit: Option<f64>) {
        self.limit = limit.filter(|l| l.is_finite() && *l > 0.0);
    }

    pub fn state(&self) -> LeakState {
        self.state
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn first_alert_s(&self) -> Option<f64> {
        self.first_alert_s
    }

    /// Feeds one sample. Samples must come in time order; one that goes back
    /// in time or is not finite is ignored. Returns the state change, if any.
    pub fn push(&mut self, t_s: f64, value: f64) -> Option<Transition> {
        if !t_s.is_finite() || !value.is_finite() || (self.samples > 0 && t_s < self.last_t) {
            return None;
        }
        if self.samples == 0 {
            self.first_t = t_s;
        }
        self.samples += 1;
        self.last_t = t_s;
        self.last_v = value;
        let closed = match &mut self.open {
            Some(b) if t_s - b.t0 < self.span => {
                b.add(t_s, value);
                false
            }
            Some(_) => {
                let done = self
                    .open
                    .replace(Bucket::new(t_s, value))
                    .expect("open bucket");
                self.close(done);
                true
            }
            None => {
                self.open = Some(Bucket::new(t_s, value));
                false
            }
        };
        // Judging once per closed bucket bounds the work as history grows.
        if closed || self.assessment.is_none() {
            self.judge()
        } else {
            if let Some(a) = &mut self.assessment {
                a.samples = self.samples;
                a.duration_s = self.last_t - self.first_t;
                a.current = value;
                a.time_to_limit_s = time_to_limit(self.limit, value, a.rate_per_hour, a.state);
            }
            None
        }
    }

    fn close(&mut self, b: Bucket) {
        self.buckets.push(b);
        if self.buckets.len() >= self.cfg.history_buckets {
            // Merge neighbours pairwise in place: the history halves in
            // resolution and never grows past `history_buckets`.
            let n = self.buckets.len();
            for i in 0..n.div_ceil(2) {
                let mut m = self.buckets[2 * i];
                if let Some(o) = self.buckets.get(2 * i + 1).copied() {
                    m.merge(&o);
                }
                self.buckets[i] = m;
            }
            self.buckets.truncate(n.div_ceil(2));
            let covered = self.buckets.last().map_or(0.0, |b| b.t1) - self.first_t;
            self.span = covered / self.buckets.len() as f64;
        }
    }

    /// The latest judgement, by reference (no copy), if any was made.
    pub fn latest(&self) -> Option<&Assessment> {
        self.assessment.as_ref()
    }

    /// The current judgement (`Collecting` with zero rates before any).
    pub fn assessment(&self) -> Assessment {
        self.assessment.clone().unwrap_or_else(|| Assessment {
            state: LeakState::Collecting,
            samples: self.samples,
            duration_s: self.last_t - self.first_t,
            current: self.last_v,
            rate_per_hour: 0.0,
            rate_low_per_hour: 0.0,
            rate_high_per_hour: 0.0,
            first_alert_s: None,
            time_to_limit_s: None,
            limit: self.limit,
            evidence: Evidence::default(),
        })
    }

    fn judge(&mut self) -> Option<Transition> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut evidence = self
            .assessment
            .take()
            .map(|a| a.evidence)
            .unwrap_or_default();
        let (mut raw, rate) = self.evaluate(&mut scratch, &mut evidence);
        self.scratch = scratch;
        let prev = self.state;
        if raw == LeakState::Collecting && prev != LeakState::Collecting {
            // Too few samples in the window after a long gap: keep the last
            // judgement rather than forget it.
            raw = prev;
            evidence.reason.clear();
            evidence
                .reason
                .push_str("gap in sampling: keeping the last judgement");
        }
        // Hysteresis: a leak needs `confirmations` judgements in a row to
        // alert, and as many calm ones to be withdrawn, so one noisy window
        // neither raises nor clears an alarm.
        let next = if raw == LeakState::Leak {
            self.leak_streak += 1;
            self.calm_streak = 0;
            if self.leak_streak >= self.cfg.confirmations || prev == LeakState::Leak {
                LeakState::Leak
            } else {
                LeakState::Growing
            }
        } else {
            self.leak_streak = 0;
            if prev == LeakState::Leak && raw == LeakState::Growing {
                LeakState::Leak
            } else if prev == LeakState::Leak {
                self.calm_streak += 1;
                if self.calm_streak >= self.cfg.confirmations {
                    raw
                } else {
                    LeakState::Leak
                }
            } else {
                raw
            }
        };
        if next == LeakState::Leak && self.first_alert_s.is_none() {
            self.first_alert_s = Some(self.last_t);
        }
        self.state = next;
        let (rate_per_hour, low, high) = rate;
        self.assessment = Some(Assessment {
            state: next,
            samples: self.samples,
            duration_s: self.last_t - self.first_t,
            current: self.last_v,
            rate_per_hour,
            rate_low_per_hour: low,
            rate_high_per_hour: high,
            first_alert_s: self.first_alert_s,
            time_to_limit_s: time_to_limit(self.limit, self.last_v, rate_per_hour, next),
            limit: self.limit,
            evidence,
        });
        (next != prev).then_some(Transition {
            t_s: self.last_t,
            from: prev,
            to: next,
        })
    }

    /// One judgement of the current history, without hysteresis.
    /// One judgement of the current history, without hysteresis. Fills
    /// `ev` in place and works in `sc`: no allocation once they have grown.
    fn evaluate(&self, sc: &mut Scratch, ev: &mut Evidence) -> (LeakState, (f64, f64, f64)) {
        let none = (0.0, 0.0, 0.0);
        ev.reset();
        let k = self.cfg.slices.max(4);
        let duration = self.last_t - self.first_t;
        let nbuckets = self.buckets.len() + usize::from(self.open.is_some());
        if self.samples < self.cfg.min_samples || nbuckets < 2 * k || duration <= 0.0 {
            ev.reason.push_str("collecting samples");
            return (LeakState::Collecting, none);
        }
        let season = self.cfg.season_s.max(0.0);
        let window = (duration / 2.0).max(season.min(duration));
        let w0 = self.last_t - window;
        let slice = window / k as f64;

        // Raw floors per slice in sc.xs, bucket means (the level) in sc.values.
        sc.xs.clear();
        sc.xs.resize(k, f64::INFINITY);
        sc.values.clear();
        for b in self.buckets.iter().chain(self.open.iter()) {
            let mid = b.mid();
            if mid < w0 {
                continue;
            }
            let i = (((mid - w0) / slice) as usize).min(k - 1);
            sc.xs[i] = sc.xs[i].min(b.min);
            sc.values.push(b.mean());
        }
        sc.ts.clear();
        for (i, f) in sc.xs.iter().enumerate() {
            if f.is_finite() {
                sc.ts.push(w0 + (i as f64 + 0.5) * slice);
                ev.floors.push(*f);
            }
        }
        // A gap in sampling leaves slices empty; half of them still make a judgement.
        if ev.floors.len() < k.div_ceil(2) {
            ev.floors.clear();
            ev.reason.push_str("collecting samples");
            return (LeakState::Collecting, none);
        }
        let level = median_in(&sc.values, &mut sc.work)
            .abs()
            .max(f64::MIN_POSITIVE);
        let fs = &ev.floors;
        let mk = mann_kendall_in(fs, &mut sc.work);
        let Some(line) = theil_sen_in(&sc.ts, fs, 1.96, &mut sc.work) else {
            ev.reason.push_str("collecting samples");
            return (LeakState::Collecting, none);
        };
        sc.values.clear();
        sc.values.extend(
            sc.ts
                .iter()
                .zip(fs)
                .map(|(t, f)| f - (line.intercept + line.slope * t)),
        );
        let res_med = median_in(&sc.values, &mut sc.work);
        for r in &mut sc.values {
            *r = (*r - res_med).abs();
        }
        let noise = 1.4826 * median_in(&sc.values, &mut sc.work);
        let rise = line.slope * window;
        let relative = rise / level;

        let pace_ratio = self.pace_ratio(w0, line.slope, sc);
        let spread_ratio = spread_ratio(&sc.ts, fs, line.slope, &mut sc.work);
        let window_floor = fs.iter().copied().fold(f64::INFINITY, f64::min);
        let floor_gain = self
            .older_floor(w0)
            .map_or(f64::INFINITY, |older| window_floor - older);
        let rate = (
            line.slope * 3600.0,
            line.slope_low * 3600.0,
            line.slope_high * 3600.0,
        );
        ev.window_start_s = w0;
        ev.window_end_s = self.last_t;
        ev.kendall_tau = mk.tau;
        ev.mann_kendall_z = mk.z;
        ev.floor_rise = rise;
        ev.noise = noise;
        ev.relative_growth = relative;
        // Finite or None, so the evidence survives JSON both ways.
        ev.pace_ratio = pace_ratio.is_finite().then_some(pace_ratio);
        ev.spread_ratio = spread_ratio;
        ev.floor_gain = floor_gain.is_finite().then_some(floor_gain);

        let trending = mk.tau >= self.cfg.min_tau && line.slope_low > 0.0;
        let above_noise = rise > self.cfg.noise_multiple * noise;
        let meaningful = relative >= self.cfg.min_relative_growth;
        let keeps_pace =
            pace_ratio >= self.cfg.leveloff_ratio && spread_ratio >= self.cfg.leveloff_ratio;
        let floor_rose = floor_gain > (self.cfg.noise_multiple * noise).max(0.0);
        let season_seen = duration >= season.max(self.cfg.min_duration_s);

        let saw = self.sawtooth(noise, w0);
        ev.trough_gain = saw.map(|s| s.trough_gain);
        // A saw-tooth whose lows do not rise is a heap that grows between
        // collections, however steady its current ramp looks.
        // Lows after a collection vary by a few percent from one to the next.
        let trough_margin = (2.0 * noise).max(0.05 * level);
        let flat_troughs = saw.is_some_and(|s| s.long_ramp && s.trough_gain <= trough_margin);
        // And a saw-tooth whose lows keep rising is a leak, whatever the
        // envelope of one window shows (long ramps leave its slices uneven).
        let lows_rising = saw.is_some_and(|s| s.lows_rising(0.05 * level, self.cfg.leveloff_ratio));

        let season_gain = if season > 0.0 {
            self.season_over_season(season, sc)
        } else {
            None
        };
        ev.season_gain = season_gain.map(|g| g.0);
        let season_leak = season_gain.is_some_and(|(smallest, largest, level)| {
            smallest > 0.0
                && smallest >= self.cfg.leveloff_ratio * largest
                && smallest >= 2.0 * self.cfg.min_relative_growth * level
        });

        let r = &mut ev.reason;
        // Writing into a String cannot fail.
        let state = if lows_rising && season_seen {
            let lows = saw.map_or([0.0; 3], |s| s.lows);
            r.push_str("the lows after each of the last three collections rose: ");
            for (i, low) in lows.iter().enumerate() {
                if i > 0 {
                    r.push_str(", ");
                }
                let _ = format::write_bytes(r, *low);
            }
            LeakState::Leak
        } else if season_leak {
            let _ = write!(r, "every part of the daily cycle is higher than a season ago: trough, median and peak rose by at least ");
            let _ = format::write_bytes(r, season_gain.map_or(0.0, |g| g.0));
            LeakState::Leak
        } else if trending
            && above_noise
            && meaningful
            && keeps_pace
            && floor_rose
            && !flat_troughs
            && season_seen
        {
            let _ = write!(
                r,
                "lower envelope rose {:.1}% over the last ",
                relative * 100.0
            );
            let _ = format::write_duration(r, window);
            let _ = write!(r, " with tau {:.2}, no levelling off", mk.tau);
            LeakState::Leak
        } else if mk.tau > 0.3 && line.slope > 0.0 && rise > 2.0 * noise && meaningful {
            if !keeps_pace {
                let _ = write!(
                    r,
                    "rising but not steadily (pace {pace_ratio:.2} of before, slower half {spread_ratio:.2} of the window): levelling off or a one-off step"
                );
            } else if !floor_rose {
                r.push_str(
                    "rising since the last drop, but the floor is no higher than before: saw-tooth",
                );
            } else if flat_troughs {
                r.push_str(
                    "rising since the last sharp drop, but the lows after the drops are not rising: garbage-collector saw-tooth",
                );
            } else if duration < self.cfg.min_duration_s {
                r.push_str("rising; watching for at least ");
                let _ = format::write_duration(r, self.cfg.min_duration_s);
                r.push_str(" before calling it a leak");
            } else if !season_seen {
                r.push_str("rising; waiting for a full season (");
                let _ = format::write_duration(r, season);
                r.push_str(") of history to rule out a daily cycle");
            } else {
                let _ = write!(
                    r,
                    "rising {:.1}% over the window, not yet steady enough for a leak",
                    relative * 100.0
                );
            }
            LeakState::Growing
        } else if self.rose_before(w0, window_floor, noise) {
            r.push_str("grew earlier, flat now: levelled off");
            LeakState::Plateau
        } else {
            r.push_str("no significant trend");
            LeakState::Stable
        };
        (state, rate)
    }

    /// Buckets whose middle is before `w0` (buckets are in time order).
    fn older(&self, w0: f64) -> &[Bucket] {
        &self.buckets[..self.buckets.partition_point(|b| b.mid() < w0)]
    }

    /// Slope of the window over the slope of the older history's floors.
    /// Returns a large ratio when the older part did not grow.
    fn pace_ratio(&self, w0: f64, recent_slope: f64, sc: &mut Scratch) -> f64 {
        let older = self.older(w0);
        if older.len() < 8 {
            return f64::INFINITY;
        }
        // Skip the first quarter of the older part: start-up ramps live there.
        let pts = &older[older.len() / 4..];
        let chunk = pts.len().div_ceil(4.min(pts.len()));
        sc.xs.clear();
        sc.values.clear();
        for c in pts.chunks(chunk) {
            sc.xs.push((c[0].t0 + c[c.len() - 1].t1) / 2.0);
            sc.values
                .push(c.iter().map(|b| b.min).fold(f64::INFINITY, f64::min));
        }
        match theil_sen_in(&sc.xs, &sc.values, 1.96, &mut sc.work) {
            Some(old) if old.slope > 0.0 => recent_slope / old.slope,
            _ => f64::INFINITY,
        }
    }

    /// (smallest gain, largest gain, level) of trough, median and peak of
    /// the last season over the season before it; `None` before two seasons.
    fn season_over_season(&self, season: f64, sc: &mut Scratch) -> Option<(f64, f64, f64)> {
        if self.last_t - self.first_t < 2.0 * season {
            return None;
        }
        let split = self.last_t - season;
        let (lo0, med0, hi0) = self.season_stats(split - season, split, sc)?;
        let (lo1, med1, hi1) = self.season_stats(split, self.last_t + 1.0, sc)?;
        let gains = [lo1 - lo0, med1 - med0, hi1 - hi0];
        let smallest = gains.iter().copied().fold(f64::INFINITY, f64::min);
        let largest = gains.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((smallest, largest, med1.abs()))
    }

    /// (trough, median of bucket means, peak) of the buckets in [from, to).
    fn season_stats(&self, from: f64, to: f64, sc: &mut Scratch) -> Option<(f64, f64, f64)> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        sc.values.clear();
        for b in self
            .buckets
            .iter()
            .chain(self.open.iter())
            .filter(|b| b.mid() >= from && b.mid() < to)
        {
            lo = lo.min(b.min);
            hi = hi.max(b.max);
            sc.values.push(b.mean());
        }
        if sc.values.len() < 4 {
            return None;
        }
        Some((lo, median_in(&sc.values, &mut sc.work), hi))
    }

    /// The saw-tooth of a garbage-collected heap, if the history shows one.
    ///
    /// A drop is a sharp fall from a peak (by 8% of it and twice the floors'
    /// noise, leaving more than a tenth of it) that the next bucket does not
    /// undo at once, so a lone low sample is not one. Collectors also make
    /// small drops (young-generation scavenges) while the heap keeps
    /// growing, so only major drops count:
    /// at least half the largest fall seen. The saw-tooth is returned while
    /// the next drop is not long overdue (6 times the longest ramp before
    /// it; else the drop was a one-off event).
    fn sawtooth(&self, noise: f64, w0: f64) -> Option<SawTooth> {
        const DROP_FRACTION: f64 = 0.08;
        const MAJOR: f64 = 0.5;
        const OVERDUE: f64 = 6.0;
        const RESIDUE: f64 = 0.1;
        let all = || self.buckets.iter().chain(self.open.iter());
        // The fall into bucket `b` (after `p`), when it is a drop.
        let fall_into = |p: Option<&Bucket>, b: &Bucket, next: &Bucket| -> Option<f64> {
            let (mut fall, mut from) = (b.fall, b.fall_from);
            if let Some(p) = p {
                if p.max - b.min > fall {
                    (fall, from) = (p.max - b.min, p.max);
                }
            }
            let threshold = (DROP_FRACTION * from.abs()).max(2.0 * noise);
            // A collector never frees nearly everything: a fall to almost
            // nothing is a process being replaced or a bad sample.
            let leaves_some = b.min > RESIDUE * from;
            (fall > threshold && leaves_some && next.min < from - fall / 2.0).then_some(fall)
        };
        let mut largest = 0.0f64;
        let mut prev = None;
        for (b, next) in all().zip(all().skip(1)) {
            if let Some(fall) = fall_into(prev, b, next) {
                largest = largest.max(fall);
            }
            prev = Some(b);
        }
        if largest <= 0.0 {
            return None;
        }
        let start = all().next()?.t0;
        let (mut drops, mut last_drop_t) = (0u32, start);
        let mut longest_ramp = 0.0f64;
        // The lowest low before the last major drop (warm-up excluded: the
        // first eighth of the history), and the low since.
        let (mut lowest_before, mut low) = (f64::INFINITY, f64::INFINITY);
        // The lows after the last three major drops, oldest first.
        let mut lows = [f64::NAN; 3];
        let mut prev = None;
        for (b, next) in all().zip(all().skip(1)) {
            if fall_into(prev, b, next).is_some_and(|f| f >= MAJOR * largest) {
                longest_ramp = longest_ramp.max(b.mid() - last_drop_t);
                if drops > 0 {
                    lows.rotate_left(1);
                    lows[2] = low;
                }
                drops += 1;
                last_drop_t = b.mid();
                lowest_before = lowest_before.min(low);
                low = f64::INFINITY;
            }
            let warm_up = b.mid() < start + (self.last_t - start) / 8.0;
            if !warm_up {
                low = low.min(b.min);
            }
            prev = Some(b);
        }
        if let Some(last) = all().last() {
            low = low.min(last.min);
        }
        lows.rotate_left(1);
        lows[2] = low;
        let overdue = self.last_t - last_drop_t > OVERDUE * longest_ramp;
        let long_ramp = last_drop_t <= w0 + (self.last_t - w0) / 2.0;
        (drops >= 1 && lowest_before.is_finite() && !overdue).then_some(SawTooth {
            trough_gain: low - lowest_before,
            long_ramp,
            lows,
        })
    }

    /// The lowest floor of the history before `w0`, warm-up excluded.
    fn older_floor(&self, w0: f64) -> Option<f64> {
        let older = self.older(w0);
        if older.len() < 4 {
            return None;
        }
        Some(
            older[older.len() / 4..]
                .iter()
                .map(|b| b.min)
                .fold(f64::INFINITY, f64::min),
        )
    }

    /// Whether the history rose to the window's floor from a clearly lower
    /// level earlier on (after the first samples, which are start-up).
    fn rose_before(&self, w0: f64, window_floor: f64, noise: f64) -> bool {
        let older = self.older(w0);
        if older.len() < 4 {
            return false;
        }
        let early = older[older.len() / 8..]
            .iter()
            .map(|b| b.min)
            .fold(f64::INFINITY, f64::min);
        let margin = (3.0 * noise).max(self.cfg.min_relative_growth * window_floor.abs());
        window_floor - early > margin
    }
}

/// What [`Detector::sawtooth`] found.
#[derive(Debug, Clone, Copy)]
struct SawTooth {
    /// The low since the last drop minus the lowest low after an earlier one.
    trough_gain: f64,
    /// The ramp since the last drop spans at least half the window: the
    /// lower envelope sees only that ramp, not the lows.
    long_ramp: bool,
    /// The lows after the last three drops, oldest first (NaN when fewer),
    /// the last one since the latest drop.
    lows: [f64; 3],
}

impl SawTooth {
    /// Each of the last three lows above the one before by `margin`, and
    /// the later rise at least half the earlier one (a cache warming up
    /// over a few collections rises less and less).
    fn lows_rising(&self, margin: f64, leveloff_ratio: f64) -> bool {
        let first = self.lows[1] - self.lows[0];
        let second = self.lows[2] - self.lows[1];
        first > margin && second > margin && second >= leveloff_ratio * first
    }
}

/// Buffers reused by every judgement, so judging allocates nothing once
/// they have grown to the history's size.
#[derive(Debug, Clone, Default)]
struct Scratch {
    ts: Vec<f64>,
    xs: Vec<f64>,
    values: Vec<f64>,
    work: Vec<f64>,
}

/// The slower half's Theil–Sen slope over the whole window's slope.
fn spread_ratio(ts: &[f64], fs: &[f64], slope: f64, work: &mut Vec<f64>) -> f64 {
    if slope <= 0.0 || fs.len() < 4 {
        return 0.0;
    }
    let h = fs.len() / 2;
    let first = theil_sen_in(&ts[..h], &fs[..h], 1.96, work).map_or(0.0, |l| l.slope);
    let second = theil_sen_in(&ts[h..], &fs[h..], 1.96, work).map_or(0.0, |l| l.slope);
    first.min(second) / slope
}

fn time_to_limit(
    limit: Option<f64>,
    current: f64,
    rate_per_hour: f64,
    state: LeakState,
) -> Option<f64> {
    let limit = limit?;
    if rate_per_hour <= 0.0 || !matches!(state, LeakState::Leak | LeakState::Growing) {
        return None;
    }
    Some(((limit - current).max(0.0) / rate_per_hour) * 3600.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut Detector, n: usize, dt: f64, f: impl Fn(f64) -> f64) {
        for i in 0..n {
            let t = i as f64 * dt;
            d.push(t, f(t));
        }
    }

    /// Deterministic pseudo-noise in [-1, 1] so the tests are repeatable.
    fn noise(i: f64) -> f64 {
        ((i * 12.9898).sin() * 43758.5453).fract() * 2.0 - 1.0
    }

    #[test]
    fn steady_leak_is_a_leak_with_a_rate() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 600, 0.25, |t| 50e6 + 1e6 * t + 2e5 * noise(t));
        let a = d.assessment();
        assert_eq!(a.state, LeakState::Leak, "{a:?}");
        let per_hour = 1e6 * 3600.0;
        assert!(
            (a.rate_per_hour - per_hour).abs() < 0.1 * per_hour,
            "{}",
            a.rate_per_hour
        );
        assert!(a.rate_low_per_hour <= a.rate_per_hour && a.rate_per_hour <= a.rate_high_per_hour);
        assert!(a.first_alert_s.is_some());
    }

    #[test]
    fn flat_noise_is_stable() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 2000, 1.0, |t| 100e6 + 5e6 * noise(t));
        assert_eq!(d.state(), LeakState::Stable);
        assert_eq!(d.first_alert_s(), None);
    }

    #[test]
    fn cache_that_fills_then_levels_off_never_alerts() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 3000, 1.0, |t| {
            100e6 + 80e6 * (1.0 - (-t / 40.0).exp()) + 1e5 * noise(t)
        });
        assert_ne!(d.state(), LeakState::Leak);
        assert_eq!(d.first_alert_s(), None);
    }

    #[test]
    fn sawtooth_without_leak_is_not_a_leak_but_with_leak_is() {
        let saw = |t: f64| ((t % 60.0) / 60.0) * 40e6;
        let mut ok = Detector::new(DetectorConfig::default());
        feed(&mut ok, 4000, 1.0, |t| 200e6 + saw(t));
        assert_eq!(ok.first_alert_s(), None, "{:?}", ok.assessment());
        let mut leak = Detector::new(DetectorConfig::default());
        feed(&mut leak, 4000, 1.0, |t| 200e6 + saw(t) + 20e3 * t);
        assert_eq!(leak.state(), LeakState::Leak, "{:?}", leak.assessment());
    }

    #[test]
    fn long_gc_ramps_are_judged_by_the_lows_after_each_drop() {
        // A heap that grows for 100 s between collections (the first 20 s
        // in), each dropping it back to 50 MB: every ramp is longer than the
        // minimum history and looks like a leak on its own.
        let ramp = |t: f64| 50e6 + ((t + 80.0) % 100.0) * 0.4e6;
        let mut ok = Detector::new(DetectorConfig::default());
        feed(&mut ok, 1000, 0.5, |t| ramp(t) + noise(t) * 0.2e6);
        assert_eq!(ok.first_alert_s(), None, "{:?}", ok.assessment());
        // The same with a leak: the lows climb 8 MB per collection.
        let mut leak = Detector::new(DetectorConfig::default());
        feed(&mut leak, 1000, 0.5, |t| {
            ramp(t) + 80e3 * t + noise(t) * 0.2e6
        });
        assert_eq!(leak.state(), LeakState::Leak, "{:?}", leak.assessment());
    }

    #[test]
    fn falls_to_nothing_are_not_collections() {
        // A series that drops to zero for 2 s now and then (a process replaced, a
        // bad sample): those are not a collector's drops, so no saw-tooth
        // (and no judgement by its lows) comes of them. The same series
        // falling to half its level every 25 s and climbing back is one.
        let series = |collected: bool| {
            let mut d = Detector::new(DetectorConfig::default());
            feed(&mut d, 480, 0.25, |t| {
                let v = 20e6 + 0.8e6 * t + noise(t) * 0.1e6;
                let phase = t % 25.0;
                if collected {
                    v * (0.5 + 0.5 * phase / 25.0)
                } else if phase < 2.0 && t > 5.0 {
                    0.0
                } else {
                    v
                }
            });
            d.assessment().evidence.trough_gain
        };
        assert_eq!(series(false), None);
        assert!(series(true).is_some());
    }

    #[test]
    fn one_step_is_not_a_leak() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(
            &mut d,
            3000,
            1.0,
            |t| if t < 1200.0 { 100e6 } else { 160e6 } + 1e6 * noise(t),
        );
        assert_eq!(d.first_alert_s(), None, "{:?}", d.assessment());
    }

    #[test]
    fn memory_stays_bounded() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 200_000, 1.0, |t| t);
        assert!(d.buckets.len() <= d.cfg.history_buckets);
        assert!(d.buckets.capacity() <= 2 * d.cfg.history_buckets);
    }

    #[test]
    fn out_of_order_and_nan_samples_are_ignored() {
        let mut d = Detector::new(DetectorConfig::default());
        d.push(10.0, 1.0);
        assert!(d.push(5.0, 2.0).is_none());
        assert!(d.push(11.0, f64::NAN).is_none());
        assert_eq!(d.samples(), 1);
    }

    #[test]
    fn time_to_limit_follows_the_rate() {
        let mut d = Detector::new(DetectorConfig::default());
        d.set_limit(Some(1e9));
        feed(&mut d, 600, 1.0, |t| 100e6 + 1e5 * t);
        let a = d.assessment();
        assert_eq!(a.state, LeakState::Leak);
        let expected = (1e9 - a.current) / 1e5;
        let got = a.time_to_limit_s.unwrap();
        assert!(
            (got - expected).abs() < 0.15 * expected,
            "{got} vs {expected}"
        );
    }

    #[test]
    fn a_gap_in_sampling_keeps_the_judgement() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 600, 1.0, |_| 100e6);
        assert_eq!(d.state(), LeakState::Stable);
        // Nothing for a long while, then sampling resumes.
        for i in 0..5 {
            d.push(2000.0 + i as f64, 100e6);
        }
        assert_ne!(
            d.state(),
            LeakState::Collecting,
            "{:?}",
            d.assessment().evidence
        );
    }

    #[test]
    fn evidence_round_trips_through_json() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 300, 1.0, |t| 1e6 + 1e3 * t);
        let ev = d.assessment().evidence;
        let back: Evidence = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn detector_round_trips_through_serde() {
        let mut d = Detector::new(DetectorConfig::default());
        feed(&mut d, 300, 1.0, |t| 1e6 + 1e3 * t);
        let json = serde_json::to_string(&d).unwrap();
        let mut back: Detector = serde_json::from_str(&json).unwrap();
        assert_eq!(back.state(), d.state());
        back.push(301.0, 1e6 + 301e3);
        assert_eq!(back.samples(), 301);
    }
}
