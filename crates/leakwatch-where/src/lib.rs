//! Where does it grow? The runtime's own view of its heap over time.
//!
//! Each runtime enters as one kind of thing, a [`GrowthSource`]: something
//! that, polled at an interval, yields keyed values (bytes per class, live
//! objects per allocation site, goroutines per stack). A [`Session`] feeds
//! every key's series to the core's [`KeyedDetectors`], so classes and sites
//! are judged by the same detector and thresholds as a process's memory.
//!
//! - [`runtime::detect`] tells which runtime a process runs, from /proc;
//! - [`open`] opens the source of a running process (`where --pid`);
//! - [`launch::launch`] starts a program under a source (`where -- CMD`:
//!   Python's tracemalloc and Ruby's ObjectSpace are started from inside);
//! - [`driver::run`] polls a session at an interval until its end, and keeps
//!   what the polls cost the target within a budget.

use std::time::Duration;

use leakwatch_core::{DetectorConfig, KeyedDetectors, KeyedReport, LeakState};
use serde::Serialize;

pub mod driver;
pub mod go;
pub mod helper;
pub mod jvm;
pub mod launch;
pub mod listen;
pub mod node;
pub mod procfs;
pub mod runtime;

pub use runtime::Runtime;

/// Keys followed per metric by default: thousands of classes or sites, at a
/// few hundred bytes each.
pub const DEFAULT_MAX_KEYS: usize = 4096;

/// What a series counts, for printing its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    Objects,
    Goroutines,
}

impl Unit {
    /// A value for people: `12.3 MiB`, `1234 objects`.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Bytes => leakwatch_core::format::bytes(v),
            Unit::Objects => format!("{v:.0} objects"),
            Unit::Goroutines => format!("{v:.0} goroutines"),
        }
    }

    /// A rate for people: `+1.2 MiB/h`, `+3400 objects/h`.
    pub fn show_rate(self, per_hour: f64) -> String {
        let sign = if per_hour >= 0.0 { "+" } else { "" };
        format!("{sign}{}/h", self.show(per_hour))
    }
}

/// One series family a source yields at every poll, e.g. "live bytes per class".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metric {
    /// Short machine name: `bytes`, `instances`, `inuse_bytes`, `goroutines`.
    pub name: &'static str,
    pub unit: Unit,
    /// What a key is: `class`, `allocation site`, `stack`.
    pub key_kind: &'static str,
}

/// What one poll cost the target, as far as the source can tell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PollCost {
    /// Wall time of the poll as seen from leakwatch.
    pub wall: Duration,
    /// Time the target was paused (a full GC for a live histogram), when the
    /// runtime reports it; otherwise `None`.
    pub target_pause: Option<Duration>,
}

/// A runtime's introspection, polled at an interval.
pub trait GrowthSource {
    /// The runtime, and how it is read (for reports), e.g.
    /// "JVM (HotSpot attach: GC.class_histogram)".
    fn describe(&self) -> String;
    /// The series families yielded at each poll; `poll`'s `metric` indexes this.
    fn metrics(&self) -> &[Metric];
    /// One poll: calls `sink(metric, key, value)` for every key. Keys not
    /// mentioned are zero at this poll. A poll that returns an error is
    /// discarded whole: what it passed to `sink` is not judged.
    fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError>;
    /// Leaves the target exactly as it was found (inspector closed, sampling
    /// stopped, files removed). Called once, also after an error.
    fn close(&mut self) -> Result<(), WhereError>;
    /// The command that goes deeper, e.g. a heap dump to diff.
    fn next_steps(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Errors of runtime sources, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum WhereError {
    /// The process is gone (before or during polling).
    #[error("process {pid} is gone{during}")]
    Gone { pid: i32, during: &'static str },
    /// Not allowed to read or attach to the process.
    #[error("not permitted to {what} process {pid}: {fix}")]
    Permission {
        pid: i32,
        what: &'static str,
        fix: String,
    },
    /// The runtime lacks the interface this source needs.
    #[error("{0}")]
    Unsupported(String),
    /// The runtime answered something we could not understand.
    #[error("{runtime} answered something unexpected: {detail}")]
    Protocol {
        runtime: &'static str,
        detail: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// One poll took too long; the session may go on without it.
    #[error("{runtime} did not answer a poll within {}", leakwatch_core::format::duration(.after.as_secs_f64()))]
    Timeout {
        runtime: &'static str,
        after: Duration,
    },
}

impl WhereError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> WhereError {
        WhereError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether a session can go on after this error (a slow poll), rather
    /// than end (target gone, refused, broken).
    pub fn is_transient(&self) -> bool {
        matches!(self, WhereError::Timeout { .. })
    }
}

/// Settings shared by every source's constructor.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between polls (the driver may stretch it to keep the target's
    /// pauses within budget).
    pub interval: Duration,
    /// Go: the `net/http/pprof` base URL, instead of finding it.
    pub pprof_url: Option<String>,
    /// Go: force a garbage collection before each heap profile (`heap?gc=1`).
    pub go_gc: bool,
    /// JVM: which histogram each poll takes.
    pub jvm_histogram: jvm::HistogramMode,
    /// JVM: use the `jcmd` tool when the attach socket answers something
    /// this client does not understand (a newer protocol).
    pub jcmd_fallback: bool,
    /// Longest wait for one poll's answer.
    pub poll_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval: Duration::from_secs(2),
            pprof_url: None,
            go_gc: false,
            jvm_histogram: jvm::HistogramMode::Live,
            jcmd_fallback: true,
            poll_timeout: Duration::from_secs(30),
        }
    }
}

/// Opens the growth source of a running process.
///
/// Python and Ruby cannot be read from outside: they are observed from the
/// start with [`launch::launch`], and for a running Python process the error
/// points to `leakwatch trace --pid`. Native code has no runtime view at all.
pub fn open(
    pid: i32,
    runtime: Runtime,
    opts: &Options,
) -> Result<Box<dyn GrowthSource>, WhereError> {
    match runtime {
        Runtime::Jvm => Ok(Box::new(jvm::JvmSource::open(pid, opts)?)),
        Runtime::Go => Ok(Box::new(go::GoSource::open(
            pid,
            &go::GoOptions {
                pprof_url: opts.pprof_url.clone(),
                gc_before_heap: opts.go_gc,
                ..go::GoOptions::default()
            },
        )?)),
        Runtime::Node => Ok(Box::new(node::NodeSource::open(
            pid,
            &node::NodeOptions::default(),
        )?)),
        Runtime::Python => Err(WhereError::Unsupported(format!(
            "process {pid} is Python: a running interpreter cannot start tracemalloc from \
             outside. Run `leakwatch trace --pid {pid}` (allocation sites with Python frames), \
             or start the program under `leakwatch where -- python3 ...`"
        ))),
        Runtime::Ruby => Err(WhereError::Unsupported(format!(
            "process {pid} is Ruby: ObjectSpace can only be read from inside. Start the \
             program under `leakwatch where -- ruby ...` (a script loaded through RUBYOPT \
             counts live objects per class), or run `leakwatch trace --pid {pid}`"
        ))),
        Runtime::Native => Err(WhereError::Unsupported(format!(
            "process {pid} runs no runtime leakwatch can ask (no JVM, Go, Node, Python or \
             Ruby found in its executable and libraries): run `leakwatch trace --pid {pid}` \
             for its allocation sites"
        ))),
    }
}

/// The detector settings of a `where` session of `duration_s`: the core's
/// defaults, with two changes that follow from a session being a bounded
/// look at a process already running:
/// - no season (a session lasts minutes, never a day);
/// - no leak needs more history than 30 % of the session (the default asks
///   for 60 s, against start-up and JIT warm-up, which a process attached
///   to is past; `report` judges a trace's sites the same way).
///
/// Every test a leak must pass (trend, size, pace, spread, floor, 24 samples,
/// 3 confirmations) is the detector's own.
pub fn detector_config(duration_s: f64) -> DetectorConfig {
    let mut cfg = DetectorConfig::default();
    cfg.season_s = 0.0;
    cfg.min_duration_s = cfg.min_duration_s.min(duration_s.max(0.0) * 0.3);
    cfg
}

/// How many keys of a metric ended in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub leak: u64,
    pub growing: u64,
    pub plateau: u64,
    pub stable: u64,
    pub collecting: u64,
}

impl StateCounts {
    fn add(&mut self, s: LeakState) {
        match s {
            LeakState::Leak => self.leak += 1,
            LeakState::Growing => self.growing += 1,
            LeakState::Plateau => self.plateau += 1,
            LeakState::Stable => self.stable += 1,
            LeakState::Collecting => self.collecting += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.leak + self.growing + self.plateau + self.stable + self.collecting
    }
}

/// One metric's judged keys, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct MetricReport {
    pub metric: Metric,
    /// Keys ranked: leaks first, then growing, by growth rate.
    pub keys: Vec<KeyedReport>,
    /// Keys ignored because more than `max_keys` were seen.
    pub dropped_keys: u64,
    /// Every followed key's final state, counted.
    pub states: StateCounts,
}

/// The end of a `where` session.
#[derive(Debug, Clone, Serialize)]
pub struct WhereReport {
    pub source: String,
    pub polls: u64,
    pub duration_s: f64,
    pub metrics: Vec<MetricReport>,
    /// Some key of some metric grows without bound (its final state is `leak`).
    pub leak: bool,
    /// Longest poll (wall) and longest pause the target reported.
    pub max_poll: Duration,
    pub max_target_pause: Option<Duration>,
    pub next_steps: Vec<String>,
    /// Polls that failed and were left out (slow answers).
    pub skipped_polls: u64,
    /// Keys followed, over all metrics.
    pub keys: usize,
    /// Whether any key had enough history to be judged: a report where
    /// every key is still collecting says nothing either way.
    pub judged: bool,
}

impl WhereReport {
    /// The keys whose final state is `leak`, over all metrics, best first:
    /// (metric, key).
    pub fn leaks(&self) -> impl Iterator<Item = (&Metric, &KeyedReport)> {
        self.metrics.iter().flat_map(|m| {
            m.keys
                .iter()
                .filter(|k| k.state == LeakState::Leak)
                .map(move |k| (&m.metric, k))
        })
    }
}

/// Drives one source: one [`KeyedDetectors`] per metric.
pub struct Session {
    source: Box<dyn GrowthSource>,
    metrics: Vec<Metric>,
    groups: Vec<KeyedDetectors>,
    /// One poll's values, kept until the poll succeeded (a failed poll is
    /// not judged); the strings are reused from poll to poll.
    pending: Vec<(usize, String, f64)>,
    pending_len: usize,
    polls: u64,
    skipped: u64,
    first_t: Option<f64>,
    last_t: f64,
    max_poll: Duration,
    max_pause: Option<Duration>,
    closed: bool,
}

impl Session {
    pub fn new(source: Box<dyn GrowthSource>, cfg: &DetectorConfig, max_keys: usize) -> Self {
        let metrics = source.metrics().to_vec();
        let groups = metrics
            .iter()
            .map(|_| KeyedDetectors::new(cfg.clone(), max_keys))
            .collect();
        Session {
            source,
            metrics,
            groups,
            pending: Vec::new(),
            pending_len: 0,
            polls: 0,
            skipped: 0,
            first_t: None,
            last_t: 0.0,
            max_poll: Duration::ZERO,
            max_pause: None,
            closed: false,
        }
    }

    /// The source's description.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    /// Keys followed now, over all metrics.
    pub fn keys(&self) -> usize {
        self.groups.iter().map(KeyedDetectors::len).sum()
    }

    /// Polls judged so far.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Polls the source once at `t_s` (seconds since the session started).
    /// A failed poll is not judged: no key reads zero because of it.
    pub fn poll(&mut self, t_s: f64) -> Result<PollCost, WhereError> {
        self.pending_len = 0;
        let pending = &mut self.pending;
        let len = &mut self.pending_len;
        let n_metrics = self.metrics.len();
        let result = self.source.poll(&mut |metric, key, value| {
            if metric >= n_metrics || !value.is_finite() {
                return;
            }
            if let Some(slot) = pending.get_mut(*len) {
                slot.0 = metric;
                slot.1.clear();
                slot.1.push_str(key);
                slot.2 = value;
            } else {
                pending.push((metric, key.to_owned(), value));
            }
            *len += 1;
        });
        let cost = match result {
            Ok(c) => c,
            Err(e) => {
                self.skipped += 1;
                return Err(e);
            }
        };
        for g in &mut self.groups {
            g.begin_poll(t_s);
        }
        for (metric, key, value) in &self.pending[..self.pending_len] {
            self.groups[*metric].push(key, *value);
        }
        for g in &mut self.groups {
            g.end_poll();
        }
        self.polls += 1;
        self.first_t.get_or_insert(t_s);
        self.last_t = t_s;
        self.max_poll = self.max_poll.max(cost.wall);
        if let Some(p) = cost.target_pause {
            self.max_pause = Some(self.max_pause.map_or(p, |m| m.max(p)));
        }
        Ok(cost)
    }

    /// The judged keys of every metric, at most `top` per metric: leaks
    /// (by their final state) first, then growing ones, each by growth rate.
    pub fn report(&self, top: usize) -> WhereReport {
        let rank = |s: LeakState| match s {
            LeakState::Leak => 0,
            LeakState::Growing => 1,
            LeakState::Plateau => 2,
            LeakState::Stable => 3,
            LeakState::Collecting => 4,
        };
        let mut judged = false;
        let metrics: Vec<MetricReport> = self
            .metrics
            .iter()
            .zip(&self.groups)
            .map(|(m, g)| {
                // The core ranks by "alerted at some point"; a session's
                // verdict is its final judgement (a cache that filled early
                // in the session ends as a plateau, not a leak).
                let mut keys = g.ranked(g.len());
                let mut states = StateCounts::default();
                for k in &keys {
                    states.add(k.state);
                }
                judged |= states.total() > states.collecting;
                keys.sort_by(|a, b| {
                    rank(a.state).cmp(&rank(b.state)).then(
                        b.assessment
                            .rate_per_hour
                            .total_cmp(&a.assessment.rate_per_hour),
                    )
                });
                keys.truncate(top);
                MetricReport {
                    metric: m.clone(),
                    keys,
                    dropped_keys: g.dropped_keys(),
                    states,
                }
            })
            .collect();
        let leak = metrics
            .iter()
            .any(|m| m.keys.iter().any(|k| k.state == LeakState::Leak));
        WhereReport {
            source: self.source.describe(),
            polls: self.polls,
            duration_s: self.first_t.map_or(0.0, |f| self.last_t - f),
            metrics,
            leak,
            max_poll: self.max_poll,
            max_target_pause: self.max_pause,
            next_steps: self.source.next_steps(),
            skipped_polls: self.skipped,
            keys: self.keys(),
            judged,
        }
    }

    /// Leaves the target as it was; see [`GrowthSource::close`]. Only the
    /// first call reaches the source.
    pub fn close(&mut self) -> Result<(), WhereError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        self.source.close()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source replaying a scripted heap: one leaking class, one churning
    /// and one cache that fills, and a poll that fails now and then.
    struct Scripted {
        poll: usize,
        fail_at: Vec<usize>,
        closed: bool,
        metrics: Vec<Metric>,
    }

    impl GrowthSource for Scripted {
        fn describe(&self) -> String {
            "scripted".into()
        }
        fn metrics(&self) -> &[Metric] {
            &self.metrics
        }
        fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError> {
            let p = self.poll;
            self.poll += 1;
            sink(0, "Leak", 1000.0 + 40.0 * p as f64);
            sink(0, "Churn", 5000.0 + ((p * 7919) % 13) as f64 * 300.0);
            sink(0, "Cache", 20_000.0 * (p as f64 / 10.0).min(1.0) + 1.0);
            if self.fail_at.contains(&p) {
                return Err(WhereError::Timeout {
                    runtime: "scripted",
                    after: Duration::from_secs(1),
                });
            }
            Ok(PollCost {
                wall: Duration::from_millis(p as u64 % 5),
                target_pause: Some(Duration::from_millis(1)),
            })
        }
        fn close(&mut self) -> Result<(), WhereError> {
            assert!(!self.closed, "closed twice");
            self.closed = true;
            Ok(())
        }
    }

    fn scripted(fail_at: Vec<usize>) -> Box<dyn GrowthSource> {
        Box::new(Scripted {
            poll: 0,
            fail_at,
            closed: false,
            metrics: vec![Metric {
                name: "bytes",
                unit: Unit::Bytes,
                key_kind: "class",
            }],
        })
    }

    #[test]
    fn a_session_names_the_leak_and_not_churn_or_a_filled_cache() {
        let duration = 40.0;
        let mut s = Session::new(scripted(vec![]), &detector_config(duration), 100);
        for p in 0..=40 {
            s.poll(p as f64).unwrap();
        }
        let r = s.report(10);
        assert!(r.leak && r.judged);
        let leaks: Vec<&str> = r.leaks().map(|(_, k)| k.key.as_str()).collect();
        assert_eq!(leaks, ["Leak"], "{:#?}", r.metrics[0].keys);
        assert_eq!(r.polls, 41);
        assert_eq!(r.keys, 3);
        s.close().unwrap();
        s.close().unwrap();
    }

    #[test]
    fn a_failed_poll_is_not_judged_as_zeros() {
        let mut s = Session::new(scripted(vec![20, 21]), &detector_config(40.0), 100);
        for p in 0..=42 {
            let _ = s.poll(p as f64);
        }
        let r = s.report(10);
        assert_eq!(r.skipped_polls, 2);
        assert_eq!(r.polls, 41);
        let leak = &r.metrics[0].keys[0];
        assert_eq!(leak.key, "Leak");
        assert!(leak.series.iter().all(|v| *v > 0.0), "{:?}", leak.series);
        assert_eq!(leak.state, LeakState::Leak);
    }

    #[test]
    fn too_short_a_session_judges_nothing() {
        let mut s = Session::new(scripted(vec![]), &detector_config(10.0), 100);
        for p in 0..5 {
            s.poll(p as f64).unwrap();
        }
        let r = s.report(10);
        assert!(!r.judged && !r.leak);
    }

    #[test]
    fn the_session_config_keeps_the_detector_thresholds() {
        let d = DetectorConfig::default();
        let c = detector_config(30.0);
        assert_eq!(c.min_duration_s, 9.0);
        assert_eq!(c.season_s, 0.0);
        assert_eq!(
            (c.min_samples, c.min_tau, c.noise_multiple, c.confirmations),
            (d.min_samples, d.min_tau, d.noise_multiple, d.confirmations)
        );
        assert_eq!(detector_config(3600.0).min_duration_s, d.min_duration_s);
    }
}
