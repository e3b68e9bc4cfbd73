//! The online leak detector: one instance judges one resource of one target.
//!
//! It is fed one `(t_s, value)` sample at a time and keeps bounded memory: a
//! compressed history of at most [`DetectorConfig::history_buckets`] buckets
//! (min, max, mean per time slice). When the buckets fill up, neighbours are
//! merged pairwise, so a 3-minute soak at 4 Hz and 4 days at 30 s are both
//! seen whole at a resolution of 64–128 points.
//!
//! History is kept per *lifetime* of the process: a restart (known from the
//! process identity, or found in the data as a fall below where the lifetime
//! settled after its start-up, or a fall that gives back a climb of hours)
//! ends one lifetime and starts the next. Each lifetime is judged on its own,
//! so a restart drop never sits inside the window, and a small summary of the
//! lifetimes that ended is kept: the same steady climb in several lifetimes
//! is a leak masked by restarts.
//!
//! The judgement is made on the *lower envelope* (the per-slice minimum) of
//! the recent half of the lifetime: GC saw-tooth, traffic bursts and noise
//! move the peaks, while a leak lifts the floor. A resource is a leak when the
//! floor rises monotonically (Mann–Kendall), by much more than its scatter
//! around a robust Theil–Sen line and by a meaningful fraction of its level,
//! without slowing down (recent half against older half, window against the
//! history before it), not in one step, above every earlier floor, and for
//! longer than anything else could rise: a minute (start-up, JIT warm-up),
//! and with a daily season, more than half a season (the rising half of a
//! daily cycle never lasts longer).

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

/// What the limit of a resource is, so every report can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The host's memory (MemTotal): no cgroup limit applies.
    HostMemory,
    /// The memory limit of the cgroup the process runs in.
    CgroupMemory,
    /// The process's soft limit of open files (RLIMIT_NOFILE).
    FdSoftLimit,
    /// The kernel's limit on threads (/proc/sys/kernel/threads-max).
    ThreadsMax,
    /// A limit series from the monitoring system (e.g. a container's limit).
    Query,
    /// A limit given without saying what it is.
    Other,
}

impl LimitKind {
    /// A few words naming the limit: "cgroup memory limit", "fd soft limit".
    pub fn describe(self) -> &'static str {
        match self {
            LimitKind::HostMemory => "host memory",
            LimitKind::CgroupMemory => "cgroup memory limit",
            LimitKind::FdSoftLimit => "fd soft limit",
            LimitKind::ThreadsMax => "threads-max",
            LimitKind::Query => "limit from --limit-query",
            LimitKind::Other => "limit",
        }
    }
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Tuning of the detector. The defaults were chosen on the labelled corpus
/// and on generated series of the tuning seeds (`tests/heldout.rs`), and
/// are meant to be left alone; `season_s` is the one knob users may need.
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
    /// No leak is declared on a climb shorter than this (seconds): start-up,
    /// JIT warm-up and cache fills look exactly like leaks for their first
    /// minute, and nothing in the data can tell them apart yet.
    pub min_duration_s: f64,
    /// Length of a traffic season (e.g. one day) in seconds, 0 for none.
    pub season_s: f64,
    /// With a season: a climb that lasted longer than this fraction of it
    /// cannot be the rising part of a cycle of that season. A pace test does
    /// not shorten it: a cycle with a second harmonic can rise almost
    /// linearly, without slowing, for most of this (bench/detector/RESULTS.md).
    #[serde(default = "default_climb_seasons")]
    pub climb_seasons: f64,
}

fn default_climb_seasons() -> f64 {
    0.65
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
            climb_seasons: default_climb_seasons(),
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

    /// How long a climb must last before it can be a leak: the minimum
    /// duration, and with a season, the share of it no cycle rises for.
    pub fn min_climb_s(&self) -> f64 {
        self.min_duration_s
            .max(self.climb_seasons * self.season_s.max(0.0))
    }
}

/// Lifetimes of the process remembered after they ended.
pub const KEPT_LIFETIMES: usize = 8;

/// One ended lifetime of the process (between two restarts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Lifetime {
    pub start_s: f64,
    /// When it ended (the restart): `end_s - start_s` is its time to the
    /// restart (an OOM kill, a crash, a redeploy).
    pub end_s: f64,
    /// Its lowest floor after start-up, and the floor just before it ended.
    pub low: f64,
    pub end_floor: f64,
    /// Growth of its lower envelope per hour at its end.
    pub rate_per_hour: f64,
    /// Whether it climbed steadily: every leak test but the duration passed
    /// at its end.
    pub climbed: bool,
    /// The restart was known from the process identity, not found in the data.
    pub known_restart: bool,
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
    /// The window's slope over the slope of the lifetime before the window:
    /// near 1 keeps its pace, near 0 levels off. `None` when the history
    /// before the window did not grow (nothing to slow down from).
    pub pace_ratio: Option<f64>,
    /// The recent half of the window's slope over the older half's: only a
    /// slower recent half argues against a leak (a level-off inside the
    /// window); an accelerating leak has a ratio above 1, and 100 means the
    /// older half did not rise at all.
    pub spread_ratio: f64,
    /// Kendall's tau of the floors with their largest jump taken out: a
    /// one-off step leaves nothing rising (near 0), a steady rise still
    /// rises without any one of its steps.
    #[serde(default)]
    pub tau_without_jump: Option<f64>,
    /// The floor's pace with that jump taken out (the Theil–Sen slope of
    /// the floors before and after it, the jump's height and time cut out)
    /// over the window, as a fraction of the median level: like
    /// `relative_growth`, it must reach `min_relative_growth` for a leak. A
    /// one-off step leaves next to nothing, even when the scatter of its
    /// flat plateaus happens to line up and `tau_without_jump` is high.
    #[serde(default)]
    pub relative_growth_without_jump: Option<f64>,
    /// How far the window's lowest floor is above the lowest floor of the
    /// lifetime before the window (its start-up excluded): the after-GC
    /// envelope's rise. `None` while there is no such history.
    pub floor_gain: Option<f64>,
    /// How long (seconds) the floor has been climbing: since the lowest floor
    /// of the lifetime.
    #[serde(default)]
    pub climb_s: Option<f64>,
    /// With a season, once a season and a half has been seen: how much the
    /// floor of each eighth of the last season rose over the same eighth a
    /// season earlier (the median; before two seasons, of the last eighths
    /// the first season covers). Every part of the cycle higher than a day
    /// ago, by similar amounts, is a leak under the cycle; a cache fill or a
    /// step lifts only some of them.
    pub season_gain: Option<f64>,
    /// With a garbage collector's saw-tooth (sharp drops that the following
    /// samples do not undo): how far the low since the last drop is above
    /// the lowest low after an earlier drop.
    #[serde(default)]
    pub trough_gain: Option<f64>,
    /// Lifetimes of the process that ended (restarts), oldest first, at most
    /// [`KEPT_LIFETIMES`], and how many of them climbed steadily.
    #[serde(default)]
    pub lifetimes: Vec<Lifetime>,
    #[serde(default)]
    pub lifetimes_ended: u64,
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
        let mut lifetimes = std::mem::take(&mut self.lifetimes);
        floors.clear();
        reason.clear();
        lifetimes.clear();
        // Room for the longest reason and every lifetime up front, so a
        // judgement never grows them.
        reason.reserve(256);
        lifetimes.reserve(KEPT_LIFETIMES);
        *self = Evidence {
            floors,
            reason,
            lifetimes,
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
    /// What `limit` is (host memory, cgroup limit, fd soft limit, threads-max).
    #[serde(default)]
    pub limit_kind: Option<LimitKind>,
    pub evidence: Evidence,
}

impl Assessment {
    /// Whether the detector could judge: a leak was called, or it has seen
    /// enough to say anything else. Data too short to judge is never "no
    /// leak".
    pub fn judged(&self) -> bool {
        self.first_alert_s.is_some() || self.state != LeakState::Collecting
    }
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
    /// information kept, so sharp drops survive merging.
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
    /// The current lifetime's history only.
    buckets: Vec<Bucket>,
    open: Option<Bucket>,
    /// Seconds a bucket spans before it is closed; 0 until the first merge.
    span: f64,
    samples: u64,
    first_t: f64,
    last_t: f64,
    last_v: f64,
    limit: Option<f64>,
    #[serde(default)]
    limit_kind: Option<LimitKind>,
    state: LeakState,
    leak_streak: u32,
    calm_streak: u32,
    first_alert_s: Option<f64>,
    assessment: Option<Assessment>,
    /// A known restart happened: the next sample begins a new lifetime.
    #[serde(default)]
    restart_pending: bool,
    /// Ended lifetimes, oldest first (`past_len` of them are valid).
    #[serde(default)]
    past: [Lifetime; KEPT_LIFETIMES],
    #[serde(default)]
    past_len: usize,
    #[serde(default)]
    lifetimes_ended: u64,
    /// See [`Detector::final_leak_only`].
    #[serde(skip)]
    final_leak_only: bool,
    /// Boxed: taken out and put back at every judgement, moved as a
    /// pointer (moving the buffers' struct was 3 % of `report`).
    #[serde(skip)]
    scratch: Option<Box<Scratch>>,
}

/// The tests of one judgement, before hysteresis.
#[derive(Debug, Clone, Copy, Default)]
struct Verdict {
    state: Option<LeakState>,
    /// Every leak test but the climb's duration passed.
    climbing: bool,
    rate: (f64, f64, f64),
    low: f64,
    end_floor: f64,
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
            limit_kind: None,
            state: LeakState::Collecting,
            leak_streak: 0,
            calm_streak: 0,
            first_alert_s: None,
            assessment: None,
            restart_pending: false,
            past: [Lifetime::default(); KEPT_LIFETIMES],
            past_len: 0,
            lifetimes_ended: 0,
            final_leak_only: false,
            scratch: None,
        }
    }

    /// For a caller that reads only whether the last assessment is a leak
    /// (and that assessment when it is), as `trace` does for a thousand
    /// call stacks at once: until a leak is called, a window that cannot be
    /// one (no steady trend of its floors, no collections' lows to judge
    /// instead, no earlier lifetime, no season to compare) is judged
    /// Stable without the tests that would only say why, so the states
    /// before the first leak are coarser. Whether and when a leak is
    /// called, and every assessment from then on, are the same.
    pub fn final_leak_only(mut self) -> Self {
        self.final_leak_only = true;
        self
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// The value this resource cannot exceed (cgroup limit, host memory, fd
    /// limit); used for the time-to-limit estimate. Prefer
    /// [`Detector::set_named_limit`], which says what the limit is.
    pub fn set_limit(&mut self, limit: Option<f64>) {
        self.set_named_limit(limit, LimitKind::Other);
    }

    /// The limit and what it is, so reports can name it.
    pub fn set_named_limit(&mut self, limit: Option<f64>, kind: LimitKind) {
        self.limit = limit.filter(|l| l.is_finite() && *l > 0.0);
        self.limit_kind = self.limit.map(|_| kind);
        if let Some(a) = &mut self.assessment {
            a.limit = self.limit;
            a.limit_kind = self.limit_kind;
            a.time_to_limit_s = time_to_limit(self.limit, a.current, a.rate_per_hour, a.state);
        }
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

    /// Lifetimes that ended (restarts seen, known or found in the data).
    pub fn lifetimes_ended(&self) -> u64 {
        self.lifetimes_ended
    }

    /// The process restarted (a new instance of the same service): the next
    /// sample begins a new lifetime, judged on its own.
    pub fn restart(&mut self) {
        if self.samples > 0 {
            self.restart_pending = true;
        }
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
        if self.restart_pending {
            self.restart_pending = false;
            if let Some(open) = self.open.take() {
                self.buckets.push(open);
            }
            self.end_lifetime(self.buckets.len(), t_s, true);
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
        if let Some(i) = self.found_restart() {
            // The buckets before the fall were the last lifetime; the one
            // holding the fall mixes both and is dropped.
            self.end_lifetime(i, self.buckets[i].t0, false);
        }
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
            let first = self.buckets.first().map_or(self.first_t, |b| b.t0);
            let covered = self.buckets.last().map_or(0.0, |b| b.t1) - first;
            self.span = covered / self.buckets.len() as f64;
        }
    }

    /// Ends the lifetime made of `buckets[..end]` at `end_s`: summarizes it,
    /// keeps the buckets after `end` (the new lifetime's) and restarts the
    /// resolution, so a new lifetime is seen as finely as the first.
    fn end_lifetime(&mut self, end: usize, end_s: f64, known: bool) {
        let mut sc = self.scratch.take().unwrap_or_default();
        let mut ev = std::mem::take(&mut sc.ended);
        let v = self.evaluate(&self.buckets[..end], None, &mut sc, &mut ev, false);
        sc.ended = ev;
        self.scratch = Some(sc);
        if end >= 2 {
            let life = Lifetime {
                start_s: self.buckets[0].t0,
                end_s,
                low: v.low,
                end_floor: v.end_floor,
                rate_per_hour: v.rate.0,
                climbed: v.climbing,
                known_restart: known,
            };
            if self.past_len == KEPT_LIFETIMES {
                self.past.rotate_left(1);
                self.past_len -= 1;
            }
            self.past[self.past_len] = life;
            self.past_len += 1;
            self.lifetimes_ended += 1;
        }
        // Keep the new lifetime's buckets: a restart found in the data is
        // seen a bucket late, and the bucket holding the fall mixes both
        // lifetimes, so it is dropped.
        let keep_from = (end + usize::from(!known)).min(self.buckets.len());
        self.buckets.drain(..keep_from);
        self.span = 0.0;
    }

    /// A restart found in the data: the index of the bucket holding the fall,
    /// confirmed by the bucket after it (a lone bad sample is not one).
    ///
    /// A fall that leaves less than 40 % of the peak is a new process:
    /// collectors free garbage, never most of a process's resident memory
    /// at once (a runtime, its code and its live data stay). With a
    /// season, so is a fall that gives back a climb of hours (a quarter of a
    /// season) to near where the lifetime settled after its start-up:
    /// collections come every few minutes, and a daily cycle falls slowly.
    fn found_restart(&self) -> Option<usize> {
        const DROP_FRACTION: f64 = 0.08;
        const RESIDUE: f64 = 0.4;
        let n = self.buckets.len();
        if n < 10 {
            return None;
        }
        let (i, next) = (n - 2, &self.buckets[n - 1]);
        let b = &self.buckets[i];
        let before = &self.buckets[..i];
        let peak = before[i - 2..]
            .iter()
            .map(|b| b.max)
            .fold(b.fall_from.max(b.max), f64::max);
        let low = b.min;
        if peak.is_nan() || peak <= 0.0 || peak - low < DROP_FRACTION * peak {
            return None;
        }
        let fresh = low < RESIDUE * peak && next.min < 0.5 * (peak + low);
        let season = self.cfg.season_s;
        let gives_back_long_climb = season > 0.0 && b.t0 - before[0].t0 >= season / 4.0 && {
            // Where the lifetime settled after its start-up (first eighth),
            // and the floor it had climbed to (its last eighth: a
            // collector's lows are in there).
            let age = b.t0 - before[0].t0;
            let settled = before
                .iter()
                .filter(|x| x.mid() >= before[0].t0 + age / 8.0)
                .map(|b| b.min)
                .fold(f64::INFINITY, f64::min);
            let end_floor = before
                .iter()
                .filter(|x| x.mid() >= b.t0 - age / 8.0)
                .map(|b| b.min)
                .fold(f64::INFINITY, f64::min);
            let climb = end_floor - settled;
            climb >= DROP_FRACTION * end_floor.abs()
                && low <= settled + 0.25 * climb
                && next.min <= settled + 0.5 * climb
        };
        (fresh || gives_back_long_climb).then_some(i)
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
            limit_kind: self.limit_kind,
            evidence: Evidence::default(),
        })
    }

    fn judge(&mut self) -> Option<Transition> {
        let mut scratch = self.scratch.take().unwrap_or_default();
        let mut evidence = self
            .assessment
            .take()
            .map(|a| a.evidence)
            .unwrap_or_default();
        let skip_if_no_leak = self.final_leak_only && self.state != LeakState::Leak;
        let v = self.evaluate(
            &self.buckets,
            self.open.as_ref(),
            &mut scratch,
            &mut evidence,
            skip_if_no_leak,
        );
        self.scratch = Some(scratch);
        let mut raw = v.state.unwrap_or(LeakState::Collecting);
        let prev = self.state;
        if raw == LeakState::Collecting && prev != LeakState::Collecting {
            // Too few samples in the window (a gap in sampling, or a new
            // lifetime just begun): keep the last judgement rather than forget it.
            raw = prev;
            evidence.reason.clear();
            evidence.reason.push_str(
                "too little history since a restart or a gap: keeping the last judgement",
            );
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
        // The reason is the last judgement's: say when the verdict still
        // differs from it, so it never reads as a leak that was not called
        // (or as calm while the alert holds).
        if raw == LeakState::Leak && next != LeakState::Leak {
            let _ = write!(
                evidence.reason,
                "; {} of {} judgements in a row so far: a leak once it holds",
                self.leak_streak, self.cfg.confirmations
            );
        } else if next == LeakState::Leak && raw == LeakState::Growing {
            evidence.reason.push_str("; the leak called earlier stands");
        } else if next == LeakState::Leak && raw != LeakState::Leak {
            let _ = write!(
                evidence.reason,
                "; still a leak until {} calm judgements in a row ({} so far)",
                self.cfg.confirmations, self.calm_streak
            );
        }
        if next == LeakState::Leak && self.first_alert_s.is_none() {
            self.first_alert_s = Some(self.last_t);
        }
        self.state = next;
        let (rate_per_hour, low, high) = v.rate;
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
            limit_kind: self.limit_kind,
            evidence,
        });
        (next != prev).then_some(Transition {
            t_s: self.last_t,
            from: prev,
            to: next,
        })
    }

    /// One judgement of a lifetime's history (`bs`, then `open`), without
    /// hysteresis. Fills `ev` in place and works in `sc`: no allocation once
    /// they have grown.
    /// `skip_if_no_leak`: a window that cannot be a leak returns Stable
    /// early (see [`Detector::final_leak_only`]).
    fn evaluate(
        &self,
        bs: &[Bucket],
        open: Option<&Bucket>,
        sc: &mut Scratch,
        ev: &mut Evidence,
        skip_if_no_leak: bool,
    ) -> Verdict {
        let mut out = Verdict::default();
        ev.reset();
        ev.lifetimes.extend_from_slice(&self.past[..self.past_len]);
        ev.lifetimes_ended = self.lifetimes_ended;
        let restarted = self.restarted_leak(None);
        let all = || bs.iter().chain(open);
        let k = self.cfg.slices.max(4);
        let (Some(first), Some(last)) = (all().next(), all().last()) else {
            return self.collecting(ev, restarted, out);
        };
        let start = first.t0;
        let end = last.t1;
        let duration = end - start;
        let nbuckets = bs.len() + usize::from(open.is_some());
        let samples: u64 = all().map(|b| b.n).sum();
        if samples < self.cfg.min_samples || nbuckets < 2 * k || duration <= 0.0 {
            return self.collecting(ev, restarted, out);
        }
        // The recent half of the lifetime; the older half is what the window
        // is compared with.
        let window = duration / 2.0;
        let w0 = end - window;
        let slice = window / k as f64;

        // Raw floors per slice in sc.xs, bucket means (the level) in sc.values.
        sc.xs.clear();
        sc.xs.resize(k, f64::INFINITY);
        sc.window_means.clear();
        for b in all() {
            let mid = b.mid();
            if mid < w0 {
                continue;
            }
            let i = (((mid - w0) / slice) as usize).min(k - 1);
            sc.xs[i] = sc.xs[i].min(b.mean());
            sc.window_means.push(b.mean());
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
            return self.collecting(ev, restarted, out);
        }
        let fs = &ev.floors;
        let mk = mann_kendall_in(fs, &mut sc.work);
        let season = self.cfg.season_s.max(0.0);
        // Every way to a leak below needs one of these: the floors' trend
        // (`trending`), the lows after collections (`lows`), an earlier
        // lifetime (`restarted_now`), a season and a half (`season_leak`). Without
        // them the window is let go as Stable (`skip_if_no_leak`). The
        // scratch the saw-tooth uses is written again before it is read.
        let may_skip = skip_if_no_leak
            && self.past_len == 0
            && (season == 0.0 || duration < season_compared_after(season));
        // Drops at least half a season apart are the season's own falls (a
        // daily cycle's evening), not a collector's.
        let collector =
            |s: &SawTooth| s.cycle_s >= slice && (season == 0.0 || s.cycle_s < season / 2.0);
        let no_saw_tooth =
            |sc: &mut Scratch| sawtooth(bs, open, end, sc).filter(collector).is_none();
        let stable = |ev: &mut Evidence, mut out: Verdict| {
            ev.reason.push_str("no steady trend");
            out.state = Some(LeakState::Stable);
            out
        };
        let tau_trend = mk.tau >= self.cfg.min_tau;
        // Kendall's tau alone can rule the trend out: then neither the
        // level nor the line is needed (the line exists, as two floors have
        // distinct times).
        let saw_tooth_checked = may_skip && !tau_trend && sc.ts.first() != sc.ts.last();
        if saw_tooth_checked && no_saw_tooth(sc) {
            return stable(ev, out);
        }
        let level = median_in(&sc.window_means, &mut sc.work)
            .abs()
            .max(f64::MIN_POSITIVE);
        let Some(line) = theil_sen_in(&sc.ts, fs, 1.96, &mut sc.work) else {
            return self.collecting(ev, restarted, out);
        };
        if may_skip
            && !saw_tooth_checked
            && !(tau_trend && line.slope_low > 0.0)
            && no_saw_tooth(sc)
        {
            return stable(ev, out);
        }
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

        let older: &[Bucket] = &bs[..bs.partition_point(|b| b.mid() < w0)];
        let pace_ratio = pace_ratio(older, line.slope, sc);
        let in_window = &bs[bs.partition_point(|b| b.mid() < w0)..];
        let (spread_ratio, spread_ratio_high) = spread_ratio(in_window, w0 + window / 2.0, sc);
        let without_jump = without_jump(
            fs,
            &sc.ts,
            rise,
            &mut sc.lows,
            (&mut sc.xs, &mut sc.values),
            &mut sc.work,
        );
        let window_floor = fs.iter().copied().fold(f64::INFINITY, f64::min);
        // The lifetime's floor before the window, its start-up excluded.
        let older_floor = (older.len() >= 4).then(|| {
            older[older.len() / 4..]
                .iter()
                .map(|b| b.mean())
                .fold(f64::INFINITY, f64::min)
        });
        let floor_gain = older_floor.map(|f| window_floor - f);
        let (climb_from, climb_to, low) = climb_start(bs, open, start, duration, &mut sc.xs);
        // Above every floor between the start-up and the climb (in the
        // climb's 32 slices, `sc.xs`): a leak makes new highs, a level that
        // wanders (a mean-reverting walk) climbs back into its old range.
        let new_high = {
            let n = sc.xs.len();
            let climb_i = (((climb_from - start) / (duration / n as f64)) as usize).min(n);
            let highest_before = sc.xs[(n / 8).min(climb_i)..climb_i]
                .iter()
                .copied()
                .filter(|f| f.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            let now = sc.xs.iter().rev().copied().find(|f| f.is_finite());
            now.is_none_or(|f| f > highest_before)
        };
        let climb = climb_to - climb_from;
        out.rate = (
            line.slope * 3600.0,
            line.slope_low * 3600.0,
            line.slope_high * 3600.0,
        );
        out.low = low;
        out.end_floor = fs.last().copied().unwrap_or(window_floor);
        ev.window_start_s = w0;
        ev.window_end_s = end;
        ev.kendall_tau = mk.tau;
        ev.mann_kendall_z = mk.z;
        ev.floor_rise = rise;
        ev.noise = noise;
        ev.relative_growth = relative;
        // Finite or None, so the evidence survives JSON both ways.
        ev.pace_ratio = pace_ratio.is_finite().then_some(pace_ratio);
        ev.spread_ratio = spread_ratio.min(SPREAD_CAP);
        ev.tau_without_jump = without_jump.map(|w| w.tau);
        ev.relative_growth_without_jump = without_jump.map(|w| w.slope * window / level);
        ev.floor_gain = floor_gain;
        ev.climb_s = Some(climb);

        let trending = mk.tau >= self.cfg.min_tau && line.slope_low > 0.0;
        let above_noise = rise > self.cfg.noise_multiple * noise;
        let meaningful = relative >= self.cfg.min_relative_growth;
        let steady = spread_ratio_high >= self.cfg.leveloff_ratio;
        let keeps_pace = pace_ratio >= self.cfg.leveloff_ratio;
        // Without its largest jump the floor must still pass the trend and
        // size tests (its pace over the window at least the meaningful
        // growth): else the rise was one step (a batch, a cache load). The
        // size matters as much as the tau: the plateaus on either side of a
        // step are flat, the scatter of eight flat floors lines up by chance
        // (tau >= 0.6 in 1.6 % of windows), and a drift far too small to be
        // a leak lines them up every time.
        let no_step = without_jump.is_some_and(|w| {
            w.tau >= self.cfg.min_tau && w.slope * window >= self.cfg.min_relative_growth * level
        });
        // Never passes for lack of history: a window with nothing before it
        // proves nothing about the floor.
        let floor_rose = floor_gain.is_some_and(|g| g > self.cfg.noise_multiple * noise);
        let need_climb = self.cfg.min_climb_s();

        // A garbage collector's saw-tooth with ramps longer than a slice: the
        // slices' floors catch points on the ramps, not the lows, so the
        // lows after each collection are the envelope judged instead.
        let saw = sawtooth(bs, open, end, sc).filter(collector);
        let lows = saw.map(|_| self.judge_lows(sc, level, end));
        ev.trough_gain = lows.map(|l| l.gain);
        let season_gain = if season > 0.0 {
            season_over_season(bs, open, (season, end, start), self.cfg.leveloff_ratio, sc)
        } else {
            None
        };
        // The same comparison one phase slice earlier: a one-off step lifts
        // every slice only while it sits at the border between the seasons.
        let earlier_gain = if season_gain.is_some() {
            let shift = season / SEASON_SLICES as f64;
            season_over_season(
                bs,
                open,
                (season, end - shift, start),
                self.cfg.leveloff_ratio,
                sc,
            )
        } else {
            None
        };
        ev.season_gain = season_gain.map(|g| g.0);
        // Every part of the cycle is higher than a season ago (the trend: the
        // floor of every eighth of the day rose), by similar amounts (each
        // gain within a quarter of the median gain: a leak under a repeating
        // cycle lifts every hour by its rate times the season; a cache fill
        // or a step lifts only some hours, two steps a day apart lift the
        // hours between them by the first and the others by the second, a
        // wandering level lifts them unevenly), and by at least 2 % of the
        // level (the size); now and one slice ago.
        let rose_evenly = |g: Option<(f64, f64, f64)>| {
            g.is_some_and(|(gain, farthest, _)| {
                gain >= 2.0 * self.cfg.min_relative_growth * level
                    && farthest <= SEASON_GAIN_SPREAD * gain
            })
        };
        let season_leak = rose_evenly(season_gain) && rose_evenly(earlier_gain);
        let main = trending
            && above_noise
            && meaningful
            && steady
            && keeps_pace
            && no_step
            && floor_rose
            && new_high;
        // Lows after a collection vary by a few percent from one to the next.
        let trough_margin = (2.0 * noise).max(0.05 * level);
        out.climbing = match lows {
            Some(l) if l.count >= 4 => l.climbing,
            // Too few collections to judge their lows alone: the envelope's
            // tests, and the low since the last drop above every earlier one.
            Some(l) => main && l.gain > trough_margin,
            None => main,
        };
        let climb = lows.map_or(climb, |l| l.climb_s);
        let long_enough = climb >= need_climb;

        let restarted_now = self
            .restarted_leak(out.climbing.then_some((out.rate.0, duration)))
            .or(restarted.filter(|_| line.slope > 0.0));
        let r = &mut ev.reason;
        // Writing into a String cannot fail.
        let state = if let (Some(l), true) =
            (lows.filter(|l| l.count >= 4), out.climbing && long_enough)
        {
            let _ = write!(
                r,
                "the lows after each of the last {} collections rose steadily, {:.1}% in ",
                l.count,
                l.relative * 100.0
            );
            let _ = format::write_duration(r, l.span_s);
            let _ = write!(r, " (tau {:.2})", l.tau);
            LeakState::Leak
        } else if out.climbing && long_enough {
            let _ = write!(
                r,
                "lower envelope rose {:.1}% over the last ",
                relative * 100.0
            );
            let _ = format::write_duration(r, window);
            let _ = write!(r, " with tau {:.2}, steadily for ", mk.tau);
            let _ = format::write_duration(r, climb);
            if season > 0.0 {
                r.push_str(" (longer than a daily cycle rises)");
            }
            LeakState::Leak
        } else if season_leak {
            let (gain, _, span) = season_gain.unwrap_or_default();
            if span >= season {
                r.push_str("every part of the daily cycle is higher than a season ago, by ");
            } else {
                r.push_str("each hour of the last ");
                let _ = format::write_duration(r, span);
                r.push_str(" is higher than the same hour a season earlier, by ");
            }
            let _ = format::write_bytes(r, gain);
            r.push_str(" (median of the hours compared)");
            LeakState::Leak
        } else if let Some(restarted) = restarted_now {
            // The earlier lifetimes climbed the same way, and this one climbs too.
            self.write_restarted(r, &restarted);
            LeakState::Leak
        } else if mk.tau > 0.3 && line.slope > 0.0 && rise > 2.0 * noise && meaningful {
            if !steady || !keeps_pace {
                let _ = write!(
                    r,
                    "rising, but slowing down (recent half {spread_ratio:.2} of the older half, window {pace_ratio:.2} of before): levelling off"
                );
            } else if let Some(l) = lows.filter(|l| {
                (l.count >= 4 && !l.climbing) || (l.count < 4 && l.gain <= trough_margin)
            }) {
                let _ = write!(r, "garbage-collector saw-tooth (a collection every ~");
                let _ = format::write_duration(r, saw.map_or(0.0, |s| s.cycle_s));
                if l.count < 4 {
                    r.push_str("), and the low since the last collection is no higher than before");
                } else {
                    r.push_str("), and the lows after the collections are not rising steadily");
                }
            } else if !no_step {
                let (tau, grew) =
                    without_jump.map_or((0.0, 0.0), |w| (w.tau, w.slope * window / level));
                let _ = write!(
                    r,
                    "rising in one step (without its largest jump the floor's pace is {:.1}% over the window, tau {tau:.2}): a batch or a cache load, not a leak",
                    grew * 100.0
                );
            } else if !floor_rose {
                r.push_str("rising, but the floor is no higher than earlier in this lifetime");
            } else if !new_high {
                r.push_str(
                    "rising, but not above the floor's high before this climb: a level that wanders, not yet a leak",
                );
            } else if !trending || !above_noise {
                let _ = write!(
                    r,
                    "rising {:.1}% over the window, not yet steady enough for a leak",
                    relative * 100.0
                );
            } else if season > 0.0 {
                r.push_str("rising steadily for ");
                let _ = format::write_duration(r, climb);
                r.push_str("; a daily cycle can rise this long: watching until ");
                let _ = format::write_duration(r, need_climb);
            } else {
                r.push_str("rising; watching for at least ");
                let _ = format::write_duration(r, need_climb);
                r.push_str(" before calling it a leak");
            }
            LeakState::Growing
        } else if older_floor.is_some_and(|f| {
            let margin = (3.0 * noise).max(self.cfg.min_relative_growth * window_floor.abs());
            window_floor - f > margin
        }) {
            r.push_str("grew earlier, flat now: levelled off");
            LeakState::Plateau
        } else {
            r.push_str("no significant trend");
            LeakState::Stable
        };
        out.state = Some(state);
        out
    }

    /// The trend, size and pace tests on the lows after each collection
    /// (in `sc.lows`): the envelope of a saw-tooth with long ramps.
    fn judge_lows(&self, sc: &mut Scratch, level: f64, end: f64) -> Lows {
        let n = sc.lows.len();
        let first = sc.lows.first().copied().unwrap_or(f64::NAN);
        let lowest = sc.lows.iter().copied().fold(f64::INFINITY, f64::min);
        let gain = sc.lows.last().map_or(0.0, |l| l - lowest);
        let lowest_at = sc
            .lows
            .iter()
            .position(|l| *l == lowest)
            .map_or(end, |i| sc.lows_t[i]);
        let mut out = Lows {
            count: n,
            climbing: false,
            gain,
            climb_s: end - lowest_at,
            span_s: sc.lows_t.last().map_or(0.0, |t| t - sc.lows_t[0]),
            relative: 0.0,
            tau: 0.0,
        };
        if n < 4 {
            return out;
        }
        let mk = mann_kendall_in(&sc.lows, &mut sc.work);
        let Some(line) = theil_sen_in(&sc.lows_t, &sc.lows, 1.96, &mut sc.work) else {
            return out;
        };
        sc.values.clear();
        sc.values.extend(
            sc.lows_t
                .iter()
                .zip(&sc.lows)
                .map(|(t, f)| f - (line.intercept + line.slope * t)),
        );
        let res_med = median_in(&sc.values, &mut sc.work);
        for r in &mut sc.values {
            *r = (*r - res_med).abs();
        }
        let noise = 1.4826 * median_in(&sc.values, &mut sc.work);
        let rise = line.slope * out.span_s;
        out.relative = rise / level;
        out.tau = mk.tau;
        let spread = spread_of_points(&sc.lows_t, &sc.lows, &mut sc.work);
        out.climbing = mk.tau >= self.cfg.min_tau
            && line.slope_low > 0.0
            && rise > self.cfg.noise_multiple * noise
            && out.relative >= self.cfg.min_relative_growth
            && spread >= self.cfg.leveloff_ratio
            && gain > 0.0
            && first.is_finite();
        out
    }

    /// The judgement while the lifetime is too young to judge on its own:
    /// a leak if the lifetimes before it climbed the same way.
    fn collecting(
        &self,
        ev: &mut Evidence,
        restarted: Option<Restarted>,
        mut out: Verdict,
    ) -> Verdict {
        if let Some(restarted) = restarted {
            self.write_restarted(&mut ev.reason, &restarted);
            out.state = Some(LeakState::Leak);
        } else {
            ev.reason.push_str("collecting samples");
            out.state = Some(LeakState::Collecting);
        }
        out
    }

    /// The lifetimes that ended last (one or more, back to back) climbed
    /// steadily, and with the current one if it climbs too, they are at
    /// least two, at similar rates, climbing for longer in total than a
    /// climb must last: a leak masked by restarts. `current` is the current
    /// lifetime's (rate per hour, duration) when it climbs steadily.
    fn restarted_leak(&self, current: Option<(f64, f64)>) -> Option<Restarted> {
        let past = &self.past[..self.past_len];
        let climbing = past.iter().rev().take_while(|l| l.climbed).count();
        let recent = &past[past.len() - climbing..];
        let rates = recent
            .iter()
            .map(|l| l.rate_per_hour)
            .chain(current.map(|c| c.0));
        let (lo, hi) = rates.fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
            (lo.min(r), hi.max(r))
        });
        let lifetimes = climbing + usize::from(current.is_some());
        let total_s =
            recent.iter().map(|l| l.end_s - l.start_s).sum::<f64>() + current.map_or(0.0, |c| c.1);
        let similar = lo > 0.0 && lo >= self.cfg.leveloff_ratio * hi;
        (climbing >= 1 && lifetimes >= 2 && similar && total_s >= self.cfg.min_climb_s()).then(
            || Restarted {
                lifetimes,
                mean_rate_per_hour: (recent.iter().map(|l| l.rate_per_hour).sum::<f64>()
                    + current.map_or(0.0, |c| c.0))
                    / lifetimes as f64,
            },
        )
    }

    fn write_restarted(&self, r: &mut String, restarted: &Restarted) {
        let past = &self.past[..self.past_len];
        let climbing = past.iter().rev().take_while(|l| l.climbed).count();
        let _ = write!(
            r,
            "the same steady climb in {} lifetimes (the process restarts), about ",
            restarted.lifetimes
        );
        let _ = format::write_bytes(r, restarted.mean_rate_per_hour);
        r.push_str("/h; time to each restart, latest first: ");
        for (i, l) in past[past.len() - climbing..]
            .iter()
            .rev()
            .take(4)
            .enumerate()
        {
            if i > 0 {
                r.push_str(", ");
            }
            let _ = format::write_duration(r, l.end_s - l.start_s);
        }
    }
}

/// What [`Detector::restarted_leak`] found.
#[derive(Debug, Clone, Copy)]
struct Restarted {
    lifetimes: usize,
    mean_rate_per_hour: f64,
}

/// When the floor's climb began and when it stopped, and the lowest floor.
/// The lifetime is cut into `CLIMB_SLICES` slices; the climb begins at the
/// last slice whose floor is still within a tenth of the climb above the
/// lowest floor (a flat trough counts as low to its end, so its width is not
/// taken for climbing). It lasts to the end of the lifetime while the last
/// floor is within a tenth of the climb below the highest one since; else it
/// stopped at the highest (the top of a daily cycle's rise: the hours after
/// it, falling, are not climbing).
fn climb_start(
    bs: &[Bucket],
    open: Option<&Bucket>,
    start: f64,
    duration: f64,
    floors: &mut Vec<f64>,
) -> (f64, f64, f64) {
    const CLIMB_SLICES: usize = 32;
    let slice = duration / CLIMB_SLICES as f64;
    floors.clear();
    floors.resize(CLIMB_SLICES, f64::INFINITY);
    for b in bs.iter().chain(open) {
        let i = (((b.mid() - start) / slice) as usize).min(CLIMB_SLICES - 1);
        floors[i] = floors[i].min(b.mean());
    }
    let (lowest_i, low) =
        floors
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |m, (i, f)| if f < m.1 { (i, f) } else { m },
            );
    let end_floor = floors
        .iter()
        .rev()
        .copied()
        .find(|f| f.is_finite())
        .unwrap_or(low);
    let near = low + 0.1 * (end_floor - low).max(0.0);
    let last_low = (lowest_i..CLIMB_SLICES)
        .filter(|i| floors[*i] <= near)
        .max()
        .unwrap_or(lowest_i);
    let (top_i, top) = (last_low..CLIMB_SLICES)
        .filter(|i| floors[*i].is_finite())
        .fold((last_low, low), |m, i| {
            if floors[i] >= m.1 {
                (i, floors[i])
            } else {
                m
            }
        });
    let still_climbing = end_floor >= top - 0.1 * (top - low).max(0.0);
    let to = if still_climbing {
        start + duration
    } else {
        start + (top_i as f64 + 0.5) * slice
    };
    (start + (last_low as f64 + 0.5) * slice, to, low)
}

/// What `spread_ratio` shows when the older half did not rise.
const SPREAD_CAP: f64 = 100.0;

/// The recent half's slope over the older half's (one-sided: only a slower
/// recent half argues against a leak), and the same with the upper end of
/// the recent slope's 95 % confidence interval: a slowdown that noise could
/// explain proves nothing. Each half's slope is Theil–Sen over up to 16
/// minima of its buckets. Infinite when the older half did not rise
/// (nothing to slow down from).
fn spread_ratio(window: &[Bucket], split: f64, sc: &mut Scratch) -> (f64, f64) {
    let at = window.partition_point(|b| b.mid() < split);
    let older = envelope_slope(&window[..at], sc).map_or(0.0, |l| l.slope);
    let Some(recent) = envelope_slope(&window[at..], sc) else {
        return (0.0, 0.0);
    };
    if older <= 0.0 {
        if recent.slope > 0.0 {
            (f64::INFINITY, f64::INFINITY)
        } else {
            (0.0, f64::INFINITY)
        }
    } else {
        (recent.slope / older, recent.slope_high / older)
    }
}

/// The one-sided spread of a few points (the lows after collections):
/// recent half's slope (upper end of its 95 % CI) over the older half's.
fn spread_of_points(ts: &[f64], fs: &[f64], work: &mut Vec<f64>) -> f64 {
    if fs.len() < 4 {
        return 0.0;
    }
    let h = fs.len() / 2;
    let older = theil_sen_in(&ts[..h], &fs[..h], 1.96, work).map_or(0.0, |l| l.slope);
    match theil_sen_in(&ts[h..], &fs[h..], 1.96, work) {
        Some(_) if older <= 0.0 => f64::INFINITY,
        Some(recent) => recent.slope_high / older,
        None => 0.0,
    }
}

/// Theil–Sen line through the minima of up to 16 equal runs of buckets: the
/// lower envelope of a stretch of history, quadratic cost bounded.
fn envelope_slope(bs: &[Bucket], sc: &mut Scratch) -> Option<crate::stats::TheilSen> {
    if bs.len() < 4 {
        return None;
    }
    let chunk = bs.len().div_ceil(16);
    sc.xs.clear();
    sc.values.clear();
    for c in bs.chunks(chunk) {
        sc.xs.push((c[0].t0 + c[c.len() - 1].t1) / 2.0);
        sc.values
            .push(c.iter().map(|b| b.mean()).fold(f64::INFINITY, f64::min));
    }
    theil_sen_in(&sc.xs, &sc.values, 1.96, &mut sc.work)
}

/// The floors once their largest rise is taken out: what is left rising.
#[derive(Debug, Clone, Copy)]
struct WithoutJump {
    /// Kendall's tau of what is left.
    tau: f64,
    /// The pace (per second) of the rest: the Theil–Sen slope of the floors
    /// before and after the jump, with the jump's height and the time it
    /// took cut out, so a steady rise keeps its slope.
    slope: f64,
}

/// The floors `fs` (at times `ts`) once their largest rise is taken out: the
/// largest rise between neighbours, or over two slices (a step whose ramp
/// straddles a slice border lands half in each), with the floors after it
/// lowered by it and a floor inside it held at the level before it. A
/// one-off step leaves nothing rising (tau near 0, or a pace near 0 when
/// the plateaus' scatter happens to line up); a steady rise still rises,
/// at its pace, without any two of its slices. `None` for a window that did
/// not rise. `pts_t` and `pts_v` are work space.
fn without_jump(
    fs: &[f64],
    ts: &[f64],
    rise: f64,
    lows: &mut Vec<f64>,
    (pts_t, pts_v): (&mut Vec<f64>, &mut Vec<f64>),
    work: &mut Vec<f64>,
) -> Option<WithoutJump> {
    if rise <= 0.0 || fs.len() < 4 {
        return None;
    }
    // (first floor after the step, span in slices, height)
    let mut step = (0, 1, 0.0f64);
    for span in 1..=2 {
        for i in 0..fs.len().saturating_sub(span) {
            let d = fs[i + span] - fs[i];
            if d > step.2 {
                step = (i + span, span, d);
            }
        }
    }
    let (after, span, jump) = step;
    let before = after.saturating_sub(span);
    lows.clear();
    lows.extend(fs.iter().enumerate().map(|(i, f)| {
        if i >= after {
            f - jump
        } else if i > before {
            fs[before]
        } else {
            *f
        }
    }));
    let tau = mann_kendall_in(lows, work).tau;
    // The pace: the floors inside the jump left out, and those after it
    // moved back by the time it took.
    let took = ts[after] - ts[before];
    pts_t.clear();
    pts_v.clear();
    for (i, (t, f)) in ts.iter().zip(fs).enumerate() {
        if i <= before {
            pts_t.push(*t);
            pts_v.push(*f);
        } else if i >= after {
            pts_t.push(t - took);
            pts_v.push(f - jump);
        }
    }
    let slope = theil_sen_in(pts_t, pts_v, 1.96, work).map_or(0.0, |l| l.slope);
    Some(WithoutJump { tau, slope })
}

/// Slope of the window over the slope of the older history's lower
/// envelope (its first quarter skipped: start-up ramps live there). Returns
/// a large ratio when the older part did not grow, and 0 when there is too
/// little of it to tell (never a pass for lack of history).
fn pace_ratio(older: &[Bucket], recent_slope: f64, sc: &mut Scratch) -> f64 {
    if older.len() < 8 {
        return 0.0;
    }
    match envelope_slope(&older[older.len() / 4..], sc) {
        Some(old) if old.slope > 0.0 => recent_slope / old.slope,
        _ => f64::INFINITY,
    }
}

/// Phase slices per season in the season-over-season test.
const SEASON_SLICES: usize = 8;
/// How far from their median the gains of the slices compared season over
/// season may be, as a share of it: a leak under a cycle that repeats lifts
/// them all alike (two batch steps of 0.8 and 1.2 GiB a day apart spread
/// them by 0.3-0.4; bench/detector/RESULTS.md).
const SEASON_GAIN_SPREAD: f64 = 0.25;
/// Before two seasons: at least this many slices of the last season compared
/// with the same hours of the first (half a season).
const SEASON_PARTIAL_SLICES: usize = 4;

/// A lifetime's start-up (its first 24th of a season: an hour of a day)
/// fills caches and pools; it is no phase of the cycle to compare with.
fn season_start_up(season: f64) -> f64 {
    season / 24.0
}

/// How long a lifetime must be before any season-over-season comparison.
fn season_compared_after(season: f64) -> f64 {
    season + season_start_up(season) + SEASON_PARTIAL_SLICES as f64 * season / SEASON_SLICES as f64
}

/// The last season against the one before it, phase by phase: the floor of
/// each eighth of the last season minus the floor of the same eighth a
/// season earlier. Returns (median gain, farthest gain from the median,
/// the span compared); `None` before the comparison can be made.
///
/// Before two seasons only the last slices are compared, as many as the
/// first season holds after its start-up (at least half a season). A step
/// between the hours compared (a batch, a cache load) lifts those slices as
/// evenly as a leak does, and with less than two seasons no slice straddles
/// it, so a rise faster than a cycle's (over a twelfth of a season, more than
/// `step_ratio` of the gain: a leak adds a twelfth of it) makes it no leak.
fn season_over_season(
    bs: &[Bucket],
    open: Option<&Bucket>,
    (season, end, start): (f64, f64, f64),
    step_ratio: f64,
    sc: &mut Scratch,
) -> Option<(f64, f64, f64)> {
    let slice = season / SEASON_SLICES as f64;
    let partial = end - start < 2.0 * season;
    let n = if partial {
        let usable = end - start - season_start_up(season) - season;
        let n = (usable.max(0.0) / slice).floor() as usize;
        if n < SEASON_PARTIAL_SLICES {
            return None;
        }
        n.min(SEASON_SLICES)
    } else {
        SEASON_SLICES
    };
    // The n slices from `from`, and the n slices that end at `end`, a season later.
    let from = end - season - n as f64 * slice;
    let later = end - n as f64 * slice;
    sc.xs.clear();
    sc.xs.resize(2 * n, f64::INFINITY);
    for b in bs.iter().chain(open) {
        let mid = b.mid();
        let i = if mid >= from && mid < from + n as f64 * slice {
            ((mid - from) / slice) as usize
        } else if mid >= later && mid <= end {
            n + ((mid - later) / slice) as usize
        } else {
            continue;
        };
        let i = i.min(2 * n - 1);
        sc.xs[i] = sc.xs[i].min(b.mean());
    }
    sc.values.clear();
    for j in 0..n {
        let (a, b) = (sc.xs[j], sc.xs[j + n]);
        if a.is_finite() && b.is_finite() {
            sc.values.push(b - a);
        }
    }
    let compared = sc.values.len();
    if compared + 2 < n || compared < SEASON_PARTIAL_SLICES {
        return None;
    }
    let median = median_in(&sc.values, &mut sc.work);
    let farthest = sc
        .values
        .iter()
        .map(|g| (g - median).abs())
        .fold(0.0f64, f64::max);
    if partial && fastest_rise(bs, open, from, season / 12.0) > step_ratio * median {
        return None;
    }
    Some((median, farthest, n as f64 * slice))
}

/// The largest rise of the buckets' lows (which one burst cannot lift) from
/// `from` on, between buckets at most `span` apart.
fn fastest_rise(bs: &[Bucket], open: Option<&Bucket>, from: f64, span: f64) -> f64 {
    let first = bs.partition_point(|b| b.mid() < from);
    let inside = || bs[first..].iter().chain(open);
    let mut rise = 0.0f64;
    for (i, a) in inside().enumerate() {
        for b in inside().skip(i + 1) {
            if b.mid() - a.mid() > span {
                break;
            }
            rise = rise.max(b.min - a.min);
        }
    }
    rise
}

/// The lows after each collection, judged.
#[derive(Debug, Clone, Copy)]
struct Lows {
    count: usize,
    climbing: bool,
    /// The last low over the lowest.
    gain: f64,
    /// Since the lowest low.
    climb_s: f64,
    /// From the first low to the last.
    span_s: f64,
    relative: f64,
    tau: f64,
}

/// What [`sawtooth`] found; the lows after each major drop are in
/// `Scratch::lows_t` / `Scratch::lows`.
#[derive(Debug, Clone, Copy)]
struct SawTooth {
    /// Median time between major drops.
    cycle_s: f64,
}

/// The saw-tooth of a garbage-collected heap, if the lifetime shows one.
///
/// A drop is a fall of at least 8 % between the buckets around it: the
/// lower of the two bucket means before it is above the higher of the two
/// after it by 8 % of the level and by four times the scatter of
/// neighbouring means (noise alone never gets there; a lone low sample
/// moves no mean). Collectors also make small drops (young-generation
/// scavenges) while the heap keeps growing, so only major drops count: at
/// least half the largest. Each major drop starts a cycle
/// (`lows_after_drops`).
fn sawtooth(bs: &[Bucket], open: Option<&Bucket>, end: f64, sc: &mut Scratch) -> Option<SawTooth> {
    const DROP_FRACTION: f64 = 0.08;
    const MAJOR: f64 = 0.5;
    sc.lows.clear();
    sc.lows_t.clear();
    let n = bs.len();
    if n < 8 {
        return None;
    }
    // Each bucket's mean and each drop computed once (the drops are read
    // twice; this runs at every judgement of every series `report` judges).
    sc.means.clear();
    sc.means.extend(bs.iter().map(Bucket::mean));
    let means = &sc.means;
    // The fall into bucket i, seen from the two buckets on each side, when
    // it is DROP_FRACTION of the level before it (0 otherwise).
    sc.falls.clear();
    sc.falls.extend((0..n).map(|i| {
        if i < 2 || i + 2 >= n {
            return 0.0;
        }
        let before = means[i - 1].min(means[i - 2]);
        let after = means[i + 1].max(means[i + 2]);
        let fall = before - after;
        if fall >= DROP_FRACTION * before.abs() {
            fall
        } else {
            0.0
        }
    }));
    // Without such a fall there is no drop, whatever the scatter: most
    // series judged have none, and skip the medians.
    if sc.falls.iter().all(|&f| f <= 0.0) {
        return None;
    }
    // Scatter of neighbouring bucket means (trend removed by the median).
    sc.values.clear();
    sc.values.extend(means.windows(2).map(|w| w[1] - w[0]));
    let med = median_in(&sc.values, &mut sc.work);
    for d in &mut sc.values {
        *d = (*d - med).abs();
    }
    let scatter = 1.4826 * median_in(&sc.values, &mut sc.work) / std::f64::consts::SQRT_2;
    // A drop is a fall over four times the scatter too.
    for f in &mut sc.falls {
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // as NaN compares: no drop
        if !(*f > 4.0 * scatter) {
            *f = 0.0;
        }
    }
    let largest = sc.falls.iter().copied().fold(0.0f64, f64::max);
    if largest <= 0.0 {
        return None;
    }
    // A fall spread over two buckets is one drop.
    let falls = std::mem::take(&mut sc.falls);
    let saw = lows_after_drops(bs, open, end, sc, |i| {
        falls[i] > 0.0 && falls[i] >= MAJOR * largest
    });
    sc.falls = falls;
    saw
}

/// The saw-tooth's cycles, given which buckets a major drop falls into:
/// each drop starts a cycle whose low (the heap after the collection) goes
/// into `sc.lows`; the saw-tooth is returned while the next drop is not
/// long overdue (6 times the longest cycle before it; else the drops were
/// one-off events).
fn lows_after_drops(
    bs: &[Bucket],
    open: Option<&Bucket>,
    end: f64,
    sc: &mut Scratch,
    major_at: impl Fn(usize) -> bool,
) -> Option<SawTooth> {
    const OVERDUE: f64 = 6.0;
    let mut last_drop_t = None;
    let mut longest = 0.0f64;
    let mut low = f64::INFINITY;
    let mut in_drop = false;
    sc.values.clear();
    let start = bs[0].t0;
    let warm_up_end = start + (end - start) / 8.0;
    for (i, b) in bs.iter().enumerate() {
        let major = major_at(i);
        if major && !in_drop {
            match last_drop_t {
                Some(t) => {
                    sc.lows_t.push(t);
                    sc.lows.push(low);
                    longest = longest.max(b.mid() - t);
                    sc.values.push(b.mid() - t);
                }
                // The lifetime's low before its first drop, its start-up
                // excluded, is the first low.
                None if low.is_finite() => {
                    sc.lows_t.push(warm_up_end);
                    sc.lows.push(low);
                }
                None => {}
            }
            last_drop_t = Some(b.mid());
            low = f64::INFINITY;
        }
        in_drop = major;
        if last_drop_t.is_some() || b.mid() >= warm_up_end {
            low = low.min(b.min);
        }
    }
    let last = last_drop_t?;
    if let Some(o) = open {
        low = low.min(o.min);
    }
    // The cycle since the last drop counts once it is as long as a typical one.
    let cycle_s = if sc.values.is_empty() {
        end - last
    } else {
        median_in(&sc.values, &mut sc.work)
    };
    if end - last >= 0.5 * cycle_s || sc.lows.is_empty() {
        sc.lows_t.push(last);
        sc.lows.push(low);
    }
    let overdue = longest > 0.0 && end - last > OVERDUE * longest;
    (!overdue).then_some(SawTooth { cycle_s })
}

/// Buffers reused by every judgement, so judging allocates nothing once
/// they have grown to the history's size.
#[derive(Debug, Clone, Default)]
struct Scratch {
    ts: Vec<f64>,
    xs: Vec<f64>,
    values: Vec<f64>,
    work: Vec<f64>,
    /// The lows after each collection of a saw-tooth, and when they began.
    lows: Vec<f64>,
    lows_t: Vec<f64>,
    /// The bucket means in the window (their median is the level).
    window_means: Vec<f64>,
    /// The saw-tooth's bucket means and falls.
    means: Vec<f64>,
    falls: Vec<f64>,
    /// The evidence of a lifetime that just ended (kept for its buffers).
    ended: Evidence,
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
mod sawtooth_reference {
    //! The saw-tooth's drops as first found (each drop computed where it
    //! is read, the scatter always): the property test below holds the
    //! faster search to the same lows and cycle on random series (both
    //! then walk the cycles with `lows_after_drops`).
    use super::*;
    use proptest::prelude::*;

    fn sawtooth_reference(
        bs: &[Bucket],
        open: Option<&Bucket>,
        end: f64,
        sc: &mut Scratch,
    ) -> Option<SawTooth> {
        const DROP_FRACTION: f64 = 0.08;
        const MAJOR: f64 = 0.5;
        sc.lows.clear();
        sc.lows_t.clear();
        let n = bs.len();
        if n < 8 {
            return None;
        }
        sc.values.clear();
        sc.values
            .extend(bs.windows(2).map(|w| w[1].mean() - w[0].mean()));
        let med = median_in(&sc.values, &mut sc.work);
        for d in &mut sc.values {
            *d = (*d - med).abs();
        }
        let scatter = 1.4826 * median_in(&sc.values, &mut sc.work) / std::f64::consts::SQRT_2;
        let drop_at = |i: usize| -> Option<f64> {
            if i < 2 || i + 2 >= n {
                return None;
            }
            let before = bs[i - 1].mean().min(bs[i - 2].mean());
            let after = bs[i + 1].mean().max(bs[i + 2].mean());
            let fall = before - after;
            (fall >= DROP_FRACTION * before.abs() && fall > 4.0 * scatter).then_some(fall)
        };
        let largest = (0..n).filter_map(drop_at).fold(0.0f64, f64::max);
        if largest <= 0.0 {
            return None;
        }
        lows_after_drops(bs, open, end, sc, |i| {
            drop_at(i).is_some_and(|f| f >= MAJOR * largest)
        })
    }

    fn buckets(values: &[(f64, u8)]) -> Vec<Bucket> {
        values
            .iter()
            .enumerate()
            .map(|(i, &(v, n))| {
                let n = u64::from(n.max(1));
                Bucket {
                    t0: i as f64 * 10.0,
                    t1: i as f64 * 10.0 + 10.0,
                    min: v * 0.97,
                    max: v * 1.02,
                    sum: v * n as f64,
                    n,
                    fall: 0.0,
                    fall_from: v,
                }
            })
            .collect()
    }

    /// Levels that climb and fall back by a random fraction at random
    /// places (collections), with noise: many series have drops.
    fn series() -> impl Strategy<Value = Vec<(f64, u8)>> {
        // Falls of 0-25 % (around the 8 % a drop needs) and noise of
        // 0-8 % (around four times the scatter), so both tests' boundaries
        // are crossed.
        prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0.0f64..0.08, 1u8..4), 4..80).prop_map(
            |steps| {
                let mut level = 1000.0;
                steps
                    .into_iter()
                    .map(|(u, fall, noise, n)| {
                        if u < 0.15 {
                            level *= 1.0 - 0.25 * fall;
                        } else {
                            level += 20.0 * u;
                        }
                        (level * (1.0 + noise - 0.04), n)
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn computed_once_the_drops_give_the_same_saw_tooth(values in series(), with_open in any::<bool>()) {
            let bs = buckets(&values);
            let (closed, open) = if with_open && bs.len() > 1 {
                (&bs[..bs.len() - 1], bs.last())
            } else {
                (&bs[..], None)
            };
            let end = bs.last().map_or(0.0, |b| b.t1);
            let (mut a, mut b) = (Scratch::default(), Scratch::default());
            let fast = sawtooth(closed, open, end, &mut a).map(|s| s.cycle_s.to_bits());
            let slow = sawtooth_reference(closed, open, end, &mut b).map(|s| s.cycle_s.to_bits());
            prop_assert_eq!(fast, slow);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&a.lows), bits(&b.lows));
            prop_assert_eq!(bits(&a.lows_t), bits(&b.lows_t));
        }
    }

    #[test]
    fn the_random_series_do_have_saw_teeth() {
        // The property above compares more than two Nones: a fixed
        // series of the same kind has one.
        let values: Vec<(f64, u8)> = (0..40)
            .map(|i| (1000.0 + 30.0 * f64::from(i % 10), 1))
            .collect();
        let bs = buckets(&values);
        let end = bs.last().unwrap().t1;
        assert!(sawtooth(&bs, None, end, &mut Scratch::default()).is_some());
        assert!(sawtooth_reference(&bs, None, end, &mut Scratch::default()).is_some());
    }
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
    fn a_step_straddling_a_slice_border_is_still_one_step() {
        // Floors of a window: flat, a step whose ramp lands half in each of
        // two slices, flat again. A steady rise keeps its trend.
        let (mut lows, mut work, mut pt, mut pv) = (vec![], vec![], vec![], vec![]);
        let ts: Vec<f64> = (0..8).map(f64::from).collect();
        let step = [630.0, 631.0, 629.0, 632.0, 700.0, 770.0, 771.0, 769.0];
        let w = without_jump(&step, &ts, 140.0, &mut lows, (&mut pt, &mut pv), &mut work).unwrap();
        assert!(w.tau < 0.6);
        let steady = [1.0, 2.1, 2.9, 4.2, 5.0, 5.9, 7.1, 8.0];
        let w = without_jump(&steady, &ts, 7.0, &mut lows, (&mut pt, &mut pv), &mut work).unwrap();
        assert!(w.tau >= 0.6);
        // ... and its pace (1 a slice), the jump's time cut out with it.
        assert!((w.slope - 1.0).abs() < 0.15, "{w:?}");
    }

    #[test]
    fn two_batch_steps_a_day_apart_are_not_a_leak() {
        // Production sampling: a batch keeps 150 MB at 17 h and 140 MB more
        // at 32 h, each loaded over 40 minutes.
        let mut d = production();
        let mut g = Gauss(23);
        let mut t = 0.0;
        let ramp = |t: f64, at: f64| ((t - at) / 2400.0).clamp(0.0, 1.0);
        while t < 46.0 * HOUR {
            let v = 470e6 + 150e6 * ramp(t, 17.0 * HOUR) + 140e6 * ramp(t, 32.0 * HOUR);
            d.push(t, v * (1.0 + 0.003 * g.next()));
            t += 30.0;
        }
        assert_eq!(
            d.first_alert_s(),
            None,
            "{}",
            d.assessment().evidence.reason
        );
    }

    /// 46 hours of production sampling: a daily cycle of 120 MB (trough to
    /// peak) over 600 MB, its trough at 2 h, plus `extra(t)`.
    fn daily_cycle_then(seed: u64, extra: impl Fn(f64) -> f64) -> Detector {
        let mut d = production();
        let mut g = Gauss(seed);
        let mut t = 0.0;
        while t < 46.0 * HOUR {
            let phase = 2.0 * std::f64::consts::PI * (t - 8.0 * HOUR) / (24.0 * HOUR);
            let v = 600e6 + 60e6 * phase.sin() + extra(t);
            d.push(t, v * (1.0 + 0.005 * g.next()));
            t += 30.0;
        }
        d
    }

    #[test]
    fn a_leak_under_a_daily_cycle_is_called_before_two_days() {
        // 70 MB a day under a cycle of 240 MB: within a day the cycle hides
        // the climb, but each hour of the second day is higher than the same
        // hour of the first.
        let d = daily_cycle_then(31, |t| 100e6 * t / (24.0 * HOUR));
        let a = d.assessment();
        let at = a
            .first_alert_s
            .unwrap_or_else(|| panic!("{}", a.evidence.reason));
        assert!(at > 40.0 * HOUR && at < 46.0 * HOUR, "{at}");
        assert!(
            a.evidence
                .reason
                .contains("than the same hour a season earlier"),
            "{}",
            a.evidence.reason
        );
    }

    #[test]
    fn a_batch_step_under_a_daily_cycle_is_not_a_leak() {
        // The same cycle and a batch that keeps 70 MB from 20 h on, loaded
        // over 40 minutes: the second day is higher than the first at every
        // hour too, but by a step no cycle rises that fast.
        let d = daily_cycle_then(37, |t| 70e6 * ((t - 20.0 * HOUR) / 2400.0).clamp(0.0, 1.0));
        let a = d.assessment();
        assert_eq!(a.first_alert_s, None, "{}", a.evidence.reason);
    }

    #[test]
    fn two_unequal_batch_steps_a_day_apart_are_not_a_leak() {
        // Held-out batch_step-13004's shape: 1.9 GB, a batch keeps 0.8 GB
        // more from 25 h and 1.25 GB more from 50 h. Judged at 74 h, the last
        // day's hours are all higher than the day before, by 0.8 GB before
        // the second step and 1.25 GB after it: no leak lifts them unevenly.
        let mut d = production();
        let mut g = Gauss(13004);
        let mut t = 0.0;
        let ramp = |t: f64, at: f64| ((t - at) / 1800.0).clamp(0.0, 1.0);
        while t < 74.0 * HOUR {
            let v = 1.9e9 + 0.8e9 * ramp(t, 25.0 * HOUR) + 1.25e9 * ramp(t, 50.0 * HOUR);
            d.push(t, v * (1.0 + 0.004 * g.next()));
            t += 60.0;
        }
        let a = d.assessment();
        assert_eq!(a.first_alert_s, None, "{}", a.evidence.reason);
    }

    #[test]
    fn a_level_that_wanders_back_up_into_its_old_range_is_not_a_leak() {
        // Held-out random_walk-15020's shape: about 580 MB for its first
        // hours, down to 500 MB by 31 h, then back up steadily to 572 MB at
        // 70 h. The last 39 h climb like a slow leak (tau, size, pace), but
        // the floor never gets above where it was before the climb.
        let mut d = production();
        let mut g = Gauss(15020);
        let mut t = 0.0;
        while t < 70.0 * HOUR {
            let h = t / HOUR;
            let v = if h < 10.0 {
                580e6
            } else if h < 31.0 {
                580e6 - 80e6 * (h - 10.0) / 21.0
            } else {
                500e6 + 72e6 * (h - 31.0) / 39.0
            };
            d.push(t, v * (1.0 + 0.004 * g.next()));
            t += 60.0;
        }
        let a = d.assessment();
        assert_eq!(a.first_alert_s, None, "{}", a.evidence.reason);
        // The same climb carried on above the old high is a leak.
        while t < 100.0 * HOUR {
            let v = 500e6 + 72e6 * (t / HOUR - 31.0) / 39.0;
            d.push(t, v * (1.0 + 0.004 * g.next()));
            t += 60.0;
        }
        assert!(
            d.first_alert_s().is_some(),
            "{}",
            d.assessment().evidence.reason
        );
    }

    #[test]
    fn a_step_whose_plateaus_creep_by_a_hair_is_still_one_step() {
        // Floors of a window: a flat stretch, one step, flat again, each
        // plateau creeping up by a fraction of a MB so that, the step taken
        // out, every floor is above the last (tau 1) though what is left
        // rises by under 0.5 % of the level: one step, not a leak.
        let (mut lows, mut work, mut pt, mut pv) = (vec![], vec![], vec![], vec![]);
        let ts: Vec<f64> = (0..8).map(|i| f64::from(i) * 7800.0).collect();
        let step = [643.0, 643.6, 643.9, 644.3, 788.5, 789.0, 789.4, 790.0];
        let w = without_jump(&step, &ts, 178.0, &mut lows, (&mut pt, &mut pv), &mut work).unwrap();
        assert!(w.tau >= 0.6, "{w:?}");
        assert!(w.slope * 8.0 * 7800.0 < 0.01 * 700.0, "{w:?}");
    }

    #[test]
    fn two_batch_steps_seen_from_a_flat_start_with_a_creeping_floor_are_not_a_leak() {
        // The series seen from 11 h before the first of two batch steps (the
        // view a crop of the history gives), the floor creeping 3 MB a day
        // (0.5 %, far too little for a leak): once the window holds only
        // the second step, its plateaus line up (tau without the jump near
        // 1), and the test judged by tau alone called it a leak 35.7 h in.
        let mut d = production();
        let mut g = Gauss(7919);
        let mut t = 0.0;
        let ramp = |t: f64, at: f64| ((t - at) / 2400.0).clamp(0.0, 1.0);
        while t < 46.0 * HOUR {
            let v = 470e6
                + 3e6 * t / (24.0 * HOUR)
                + 150e6 * ramp(t, 11.0 * HOUR)
                + 140e6 * ramp(t, 26.0 * HOUR);
            d.push(t, v * (1.0 + 0.003 * g.next()));
            t += 30.0;
        }
        let a = d.assessment();
        assert_eq!(a.first_alert_s, None, "{}", a.evidence.reason);
    }

    /// Deterministic standard normal noise (xorshift + Box–Muller).
    struct Gauss(u64);
    impl Gauss {
        fn next(&mut self) -> f64 {
            let mut u = || {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            let (a, b) = (u(), u());
            (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        }
    }

    const HOUR: f64 = 3600.0;

    /// Production sampling (30 s) with a daily season.
    fn production() -> Detector {
        Detector::new(DetectorConfig::for_interval(30.0))
    }

    #[test]
    fn a_steady_production_leak_is_called_in_hours_not_after_a_day() {
        let mut d = production();
        feed(&mut d, 3 * 2880, 30.0, |t| 600e6 + 5e6 * t / HOUR);
        let first = d.first_alert_s().expect("called");
        let need = d.config().min_climb_s();
        assert!(
            first >= need && first < 20.0 * HOUR,
            "first alert after {:.1} h (a climb must last {:.1} h)",
            first / HOUR,
            need / HOUR
        );
        let ev = d.assessment().evidence;
        assert!(
            ev.reason.contains("longer than a daily cycle rises"),
            "{}",
            ev.reason
        );
    }

    #[test]
    fn daily_cycles_from_any_phase_are_never_leaks() {
        for phase_h in [0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 21.0] {
            let mut d = production();
            let mut g = Gauss(phase_h as u64 + 1);
            let mut t = 0.0;
            while t < 4.0 * 86_400.0 {
                let x = std::f64::consts::TAU * (t + phase_h * HOUR) / 86_400.0;
                d.push(t, 800e6 * (1.0 + 0.25 * x.sin() + 0.01 * g.next()));
                t += 30.0;
            }
            assert_eq!(
                d.first_alert_s(),
                None,
                "phase {phase_h} h: {:?}",
                d.assessment().evidence.reason
            );
        }
    }

    #[test]
    fn an_accelerating_leak_is_not_failed_by_its_slower_first_half() {
        let mut d = production();
        let mut g = Gauss(3);
        let mut t = 0.0;
        while t < 3.0 * 86_400.0 {
            let h = t / HOUR;
            d.push(t, 500e6 + 0.4e6 * h * h + 2e6 * g.next());
            t += 30.0;
        }
        assert!(d.first_alert_s().is_some(), "{:?}", d.assessment().evidence);
    }

    #[test]
    fn a_slow_leak_under_five_percent_noise_gets_its_confirmations() {
        // 1 MB/h on a 60 MB sidecar with 5 % noise, four days.
        let mut d = production();
        let mut g = Gauss(11);
        let mut t = 0.0;
        while t < 4.0 * 86_400.0 {
            d.push(t, (60e6 + 1e6 * t / HOUR) * (1.0 + 0.05 * g.next()));
            t += 30.0;
        }
        assert!(d.first_alert_s().is_some(), "{:?}", d.assessment().evidence);
    }

    #[test]
    fn a_leak_judgement_not_yet_confirmed_says_so_in_its_reason() {
        // A clear leak: until its third judgement in a row the verdict is
        // "growing", and the reason (the judgement's, which reads as a leak)
        // says how many judgements are in so far.
        let mut d = Detector::new(DetectorConfig::default());
        let mut seen = Vec::new();
        for i in 0..4000 {
            d.push(i as f64 * 0.25, 100e6 + 20e3 * i as f64);
            let a = d.assessment();
            if a.evidence.reason.contains("judgements in a row so far") {
                assert_eq!(a.state, LeakState::Growing, "{}", a.evidence.reason);
                seen.push(a.evidence.reason.clone());
            }
            if a.state == LeakState::Leak {
                assert!(!a.evidence.reason.contains("so far: a leak once"));
                break;
            }
        }
        assert!(d.first_alert_s().is_some());
        assert!(
            seen.iter()
                .any(|r| r.ends_with("; 1 of 3 judgements in a row so far: a leak once it holds")),
            "{seen:?}"
        );
    }

    #[test]
    fn noise_of_a_few_percent_makes_no_collector_drops_but_a_saw_tooth_does() {
        let mut g = Gauss(5);
        let mut noisy = Detector::new(DetectorConfig::default());
        for i in 0..4000 {
            noisy.push(i as f64 * 0.25, 100e6 * (1.0 + 0.05 * g.next()));
        }
        assert_eq!(noisy.assessment().evidence.trough_gain, None);
        assert_eq!(noisy.first_alert_s(), None);
        // Ramps shorter than the minimum climb (before its first drop, a
        // longer one is a leak as far as anything can tell) and longer than
        // a slice of the window (750 s: slices of 47 s), so the lows after
        // each drop are what is judged.
        let mut saw = Detector::new(DetectorConfig::default());
        feed(&mut saw, 3000, 0.25, |t| 100e6 + ((t % 50.0) / 50.0) * 40e6);
        assert!(saw.assessment().evidence.trough_gain.is_some());
        assert_eq!(saw.first_alert_s(), None);
    }

    #[test]
    fn a_mean_reverting_random_walk_is_not_a_leak() {
        for seed in 1..=6u64 {
            let mut d = production();
            let mut g = Gauss(seed * 7919);
            let (theta, sd) = (3.0 * HOUR, 0.05);
            let step = sd * (2.0 * 30.0 / theta).sqrt();
            let mut x = 0.0;
            let mut t = 0.0;
            while t < 4.0 * 86_400.0 {
                x += -x * 30.0 / theta + step * g.next();
                d.push(t, 400e6 * (1.0 + x));
                t += 30.0;
            }
            assert_eq!(
                d.first_alert_s(),
                None,
                "seed {seed}: {}",
                d.assessment().evidence.reason
            );
        }
    }

    #[test]
    fn no_test_passes_for_lack_of_history() {
        // At every judgement that calls a leak, the history before the
        // window was there to compare with.
        let mut d = production();
        let mut t = 0.0;
        while t < 2.0 * 86_400.0 {
            d.push(t, 300e6 + 4e6 * t / HOUR);
            if let Some(a) = d.latest().filter(|a| a.state == LeakState::Leak) {
                assert!(
                    a.evidence.floor_gain.is_some() && a.evidence.pace_ratio.is_some(),
                    "{:?}",
                    a.evidence
                );
            }
            t += 30.0;
        }
        assert!(d.first_alert_s().is_some());
        // Too little history to compare: never a leak, whatever the slope.
        let mut young = Detector::new(DetectorConfig::default());
        feed(&mut young, 40, 0.25, |t| 1e6 * t);
        assert_ne!(young.state(), LeakState::Leak);
    }

    #[test]
    fn a_restart_found_in_the_data_splits_lifetimes_and_the_same_climb_is_a_leak() {
        // A soak at 4 Hz: the process leaks 3 MB/s from 10 MB and is
        // restarted every 40 s; no identity in the data.
        let run = |leak: bool| {
            let mut d = Detector::new(DetectorConfig::default());
            let mut g = Gauss(17);
            for i in 0..480 {
                let t = i as f64 * 0.25;
                let age = t % 40.0;
                let v = if leak {
                    10e6 + 3e6 * age
                } else {
                    10e6 + 30e6 * (1.0 - (-age / 3.0).exp())
                };
                d.push(t, v * (1.0 + 0.01 * g.next()));
            }
            d
        };
        let leak = run(true);
        assert!(
            leak.lifetimes_ended() >= 2,
            "{:?}",
            leak.assessment().evidence
        );
        assert!(
            leak.first_alert_s().is_some(),
            "{:?}",
            leak.assessment().evidence
        );
        let a = leak.assessment();
        assert!(a.evidence.lifetimes.iter().all(|l| !l.known_restart));
        assert!(a.evidence.lifetimes.iter().filter(|l| l.climbed).count() >= 2);
        // The same restarts without a leak: each lifetime warms up and stays flat.
        assert_eq!(run(false).first_alert_s(), None);
    }

    #[test]
    fn known_restarts_keep_each_warm_up_in_its_own_lifetime() {
        // A service redeployed every 20 h whose cache takes two hours to warm
        // up: joined end to end its warm-ups would climb like stairs.
        let mut d = production();
        let mut t = 0.0;
        let mut born = 0.0;
        while t < 5.0 * 86_400.0 {
            if t - born >= 20.0 * HOUR {
                born = t;
                d.restart();
            }
            let age = t - born;
            d.push(t, 300e6 + 400e6 * (1.0 - (-age / (2.0 * HOUR)).exp()));
            t += 30.0;
        }
        assert!(d.lifetimes_ended() >= 5);
        assert!(d
            .assessment()
            .evidence
            .lifetimes
            .iter()
            .all(|l| l.known_restart));
        assert_eq!(
            d.first_alert_s(),
            None,
            "{}",
            d.assessment().evidence.reason
        );
    }

    #[test]
    fn a_named_limit_is_carried_to_the_assessment() {
        let mut d = Detector::new(DetectorConfig::default());
        d.set_named_limit(Some(1e9), LimitKind::CgroupMemory);
        feed(&mut d, 600, 1.0, |t| 100e6 + 1e5 * t);
        let a = d.assessment();
        assert_eq!(a.limit_kind, Some(LimitKind::CgroupMemory));
        assert!(a.time_to_limit_s.is_some());
        assert_eq!(LimitKind::FdSoftLimit.to_string(), "fd soft limit");
        d.set_named_limit(None, LimitKind::HostMemory);
        assert_eq!(d.assessment().limit_kind, None);
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
