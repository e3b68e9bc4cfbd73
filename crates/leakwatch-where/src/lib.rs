//! Where does it grow? The runtime's own view of its heap over time.
//!
//! Each runtime enters as one kind of thing, a [`GrowthSource`]: something
//! that, polled at an interval, yields keyed values (bytes per class, live
//! objects per allocation site, goroutines per stack). A [`Session`] feeds
//! every key's series to the core's [`KeyedDetectors`], so classes and sites
//! are judged by the same detector and thresholds as a process's memory.

use std::time::Duration;

use leakwatch_core::{DetectorConfig, KeyedDetectors, KeyedReport};
use serde::Serialize;

pub mod go;
pub mod listen;
pub mod node;
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
    /// mentioned are zero at this poll.
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
}

/// One metric's judged keys, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct MetricReport {
    pub metric: Metric,
    /// Keys ranked: leaks first, then growing, by growth rate.
    pub keys: Vec<KeyedReport>,
    /// Keys ignored because more than `max_keys` were seen.
    pub dropped_keys: u64,
}

/// The end of a `where` session.
#[derive(Debug, Clone, Serialize)]
pub struct WhereReport {
    pub source: String,
    pub polls: u64,
    pub duration_s: f64,
    pub metrics: Vec<MetricReport>,
    /// Some key of some metric grows without bound.
    pub leak: bool,
    /// Longest poll (wall) and longest pause the target reported.
    pub max_poll: Duration,
    pub max_target_pause: Option<Duration>,
    pub next_steps: Vec<String>,
}

/// Drives one source: one [`KeyedDetectors`] per metric.
pub struct Session {
    source: Box<dyn GrowthSource>,
    metrics: Vec<Metric>,
    groups: Vec<KeyedDetectors>,
    first_t: Option<f64>,
    last_t: f64,
    max_poll: Duration,
    max_pause: Option<Duration>,
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
            first_t: None,
            last_t: 0.0,
            max_poll: Duration::ZERO,
            max_pause: None,
        }
    }

    /// Polls the source once at `t_s` (seconds since the session started).
    pub fn poll(&mut self, t_s: f64) -> Result<PollCost, WhereError> {
        for g in &mut self.groups {
            g.begin_poll(t_s);
        }
        let groups = &mut self.groups;
        let cost = self.source.poll(&mut |metric, key, value| {
            if let Some(g) = groups.get_mut(metric) {
                g.push(key, value);
            }
        });
        for g in &mut self.groups {
            // A failed poll still closes the poll; its keys read zero only
            // if the error is returned to a caller that goes on polling.
            g.end_poll();
        }
        let cost = cost?;
        self.first_t.get_or_insert(t_s);
        self.last_t = t_s;
        self.max_poll = self.max_poll.max(cost.wall);
        if let Some(p) = cost.target_pause {
            self.max_pause = Some(self.max_pause.map_or(p, |m| m.max(p)));
        }
        Ok(cost)
    }

    pub fn report(&self, top: usize) -> WhereReport {
        let metrics: Vec<MetricReport> = self
            .metrics
            .iter()
            .zip(&self.groups)
            .map(|(m, g)| MetricReport {
                metric: m.clone(),
                keys: g.ranked(top),
                dropped_keys: g.dropped_keys(),
            })
            .collect();
        let leak = self.groups.iter().any(|g| !g.leaks().is_empty());
        WhereReport {
            source: self.source.describe(),
            polls: self.groups.first().map_or(0, |g| g.polls()),
            duration_s: self.first_t.map_or(0.0, |f| self.last_t - f),
            metrics,
            leak,
            max_poll: self.max_poll,
            max_target_pause: self.max_pause,
            next_steps: self.source.next_steps(),
        }
    }

    /// Leaves the target as it was; see [`GrowthSource::close`].
    pub fn close(&mut self) -> Result<(), WhereError> {
        self.source.close()
    }
}
