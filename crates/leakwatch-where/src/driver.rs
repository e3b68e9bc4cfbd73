//! Polling a session at an interval until its end: the loop shared by
//! `leakwatch where` and `watch --where`.
//!
//! Polls come at `interval` (the first at once) until `duration` has
//! passed (and, with `min_polls`, until that many polls were judged, within
//! `max_duration`), Ctrl-C (the `stop` flag), or an error that ends the
//! session. A slow poll (a timeout) is skipped, not judged, up to three in a
//! row. Polls that pause the target (a JVM's histogram at a safepoint, a
//! helper holding the interpreter's lock) are kept within a budget: when the
//! median pause of the last five polls exceeds `pause_budget` of the
//! interval, the interval is stretched so that it does not (and comes back
//! when the pauses do).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::{detector_config, runtime, PollCost, Runtime, Session, WhereError, WhereReport};

/// Default time between polls: 60 polls in the default two minutes (the
/// detector needs 24), and fine enough to see a collector's cycle.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Default session length: the detector judges the last half of it, and
/// any leak needs 30 % of it (36 s) of history.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(120);
/// Share of wall time the target may spend paused by polls (1 %).
pub const DEFAULT_PAUSE_BUDGET: f64 = 0.01;
/// Timeouts in a row that end a session.
pub const MAX_SKIPPED_IN_A_ROW: u32 = 3;

/// How a session is driven.
#[derive(Debug, Clone)]
pub struct DriveSettings {
    pub duration: Duration,
    pub interval: Duration,
    /// Keys kept per metric in the report.
    pub top: usize,
    /// Keys followed per metric.
    pub max_keys: usize,
    /// Share of wall time the target may spend paused by polls.
    pub pause_budget: f64,
    /// Go on past `duration` until this many polls were judged (the
    /// detector needs 24), when the interval was stretched...
    pub min_polls: u64,
    /// ... but never past this.
    pub max_duration: Duration,
}

impl Default for DriveSettings {
    fn default() -> Self {
        DriveSettings {
            duration: DEFAULT_DURATION,
            interval: DEFAULT_INTERVAL,
            top: 10,
            max_keys: crate::DEFAULT_MAX_KEYS,
            pause_budget: DEFAULT_PAUSE_BUDGET,
            min_polls: 0,
            max_duration: DEFAULT_DURATION,
        }
    }
}

/// Pauses of the last few polls, for a stretch that one outlier (a
/// collection that happened to run during a poll) does not decide.
#[derive(Debug, Default)]
struct RecentPauses {
    last: [Duration; 5],
    n: usize,
}

impl RecentPauses {
    fn push(&mut self, p: Duration) {
        self.last[self.n % self.last.len()] = p;
        self.n += 1;
    }
    fn median(&self) -> Duration {
        let k = self.n.min(self.last.len());
        let mut v = self.last;
        v[..k].sort();
        v[k / 2]
    }
}

/// What the loop reports after each poll.
#[derive(Debug, Clone)]
pub struct Progress {
    pub elapsed: Duration,
    pub total: Duration,
    pub polls: u64,
    pub keys: usize,
    pub interval: Duration,
    pub last: Result<PollCost, String>,
    /// The interval was just stretched to keep pauses within budget.
    pub stretched: bool,
}

/// Why a session ended.
#[derive(Debug)]
pub enum End {
    /// It ran its whole duration.
    Completed,
    /// Stopped early (Ctrl-C, the agent shutting down).
    Stopped,
    /// An error ended it (the target exited, refused, broke).
    Failed(WhereError),
}

/// A session's end.
#[derive(Debug)]
pub struct Outcome {
    pub report: WhereReport,
    pub end: End,
    /// The interval at the end (after any stretching).
    pub interval: Duration,
}

fn wait_until(deadline: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}

/// Polls `session` until its end; see the module docs. Does not close it.
pub fn run(
    session: &mut Session,
    settings: &DriveSettings,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Progress),
) -> Outcome {
    let start = Instant::now();
    let end_at = start + settings.duration;
    let hard_end = start + settings.max_duration.max(settings.duration);
    let asked = settings.interval.max(Duration::from_millis(10));
    let mut interval = asked;
    let mut pauses = RecentPauses::default();
    let mut next = start;
    let mut in_a_row = 0;
    let end = loop {
        if stop.load(Ordering::Relaxed) {
            break End::Stopped;
        }
        let t = start.elapsed();
        let mut stretched = false;
        let last = match session.poll(t.as_secs_f64()) {
            Ok(cost) => {
                in_a_row = 0;
                if let Some(pause) = cost.target_pause {
                    pauses.push(pause);
                }
                // The first polls pay one-time costs (class loading, the
                // helper's start): stretch on the median of three or more.
                if cost.target_pause.is_some() && pauses.n >= 3 {
                    let budget = settings.pause_budget.max(1e-4);
                    let needed = pauses.median().div_f64(budget).max(asked);
                    stretched = needed > interval;
                    interval = needed;
                }
                Ok(cost)
            }
            Err(e) if e.is_transient() && in_a_row + 1 < MAX_SKIPPED_IN_A_ROW => {
                in_a_row += 1;
                Err(e.to_string())
            }
            Err(e) => break End::Failed(e),
        };
        progress(&Progress {
            elapsed: start.elapsed(),
            total: settings.duration,
            polls: session.polls(),
            keys: session.keys(),
            interval,
            last,
            stretched,
        });
        next += interval;
        // A poll slower than the interval: the next one comes right after.
        next = next.max(Instant::now());
        let enough = session.polls() >= settings.min_polls;
        if next > end_at && (enough || next > hard_end) {
            break End::Completed;
        }
        if !wait_until(next, stop) {
            break End::Stopped;
        }
    };
    Outcome {
        report: session.report(settings.top),
        end,
        interval,
    }
}

/// What [`investigate`] found.
#[derive(Debug)]
pub struct Investigation {
    pub runtime: Runtime,
    pub outcome: Outcome,
}

/// Detects `pid`'s runtime, opens its source, runs a session and leaves
/// the target as it was: `where --pid` as a library call (the agent's
/// `watch --where` runs it on its own thread).
pub fn investigate(
    pid: i32,
    settings: &DriveSettings,
    opts: &crate::Options,
    stop: &AtomicBool,
) -> Result<Investigation, WhereError> {
    let detected = runtime::detect(pid)?;
    let source = crate::open(pid, detected.runtime, opts)?;
    let mut session = Session::new(
        source,
        &detector_config(settings.duration.as_secs_f64()),
        settings.max_keys,
    );
    let outcome = run(&mut session, settings, stop, |_| {});
    let closed = session.close();
    if let (Err(e), End::Completed | End::Stopped) = (closed, &outcome.end) {
        return Err(e);
    }
    Ok(Investigation {
        runtime: detected.runtime,
        outcome,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GrowthSource, Metric, Unit};

    struct Pausing {
        pause: Duration,
        polls: u32,
        fail_after: Option<u32>,
        metrics: Vec<Metric>,
    }

    impl GrowthSource for Pausing {
        fn describe(&self) -> String {
            "pausing".into()
        }
        fn metrics(&self) -> &[Metric] {
            &self.metrics
        }
        fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError> {
            self.polls += 1;
            if self.fail_after.is_some_and(|n| self.polls > n) {
                return Err(WhereError::Gone {
                    pid: 1,
                    during: " (it exited during polling)",
                });
            }
            sink(0, "k", f64::from(self.polls));
            Ok(PollCost {
                wall: self.pause,
                target_pause: Some(self.pause),
            })
        }
        fn close(&mut self) -> Result<(), WhereError> {
            Ok(())
        }
    }

    fn session(pause_ms: u64, fail_after: Option<u32>) -> Session {
        Session::new(
            Box::new(Pausing {
                pause: Duration::from_millis(pause_ms),
                polls: 0,
                fail_after,
                metrics: vec![Metric {
                    name: "bytes",
                    unit: Unit::Bytes,
                    key_kind: "class",
                }],
            }),
            &detector_config(1.0),
            10,
        )
    }

    #[test]
    fn polls_at_the_interval_until_the_duration() {
        let mut s = session(0, None);
        let settings = DriveSettings {
            duration: Duration::from_millis(500),
            interval: Duration::from_millis(100),
            ..DriveSettings::default()
        };
        let mut seen = 0;
        let out = run(&mut s, &settings, &AtomicBool::new(false), |_| seen += 1);
        assert!(matches!(out.end, End::Completed));
        assert_eq!(out.report.polls, 6, "polls at 0, 100, ..., 500 ms");
        assert_eq!(seen, 6);
    }

    #[test]
    fn pauses_over_budget_stretch_the_interval() {
        let mut s = session(5, None);
        let settings = DriveSettings {
            duration: Duration::from_millis(320),
            interval: Duration::from_millis(10),
            pause_budget: 0.05,
            ..DriveSettings::default()
        };
        let mut stretched = false;
        let out = run(&mut s, &settings, &AtomicBool::new(false), |p| {
            stretched |= p.stretched
        });
        assert!(stretched);
        assert_eq!(out.interval, Duration::from_millis(100));
        // Three polls 10 ms apart, then 100 ms apart.
        assert!(out.report.polls <= 6, "{}", out.report.polls);
    }

    #[test]
    fn one_slow_poll_does_not_stretch_for_good() {
        let mut p = RecentPauses::default();
        for ms in [1, 1, 90, 1, 1, 1] {
            p.push(Duration::from_millis(ms));
        }
        assert_eq!(p.median(), Duration::from_millis(1));
        p.push(Duration::from_millis(50));
        p.push(Duration::from_millis(50));
        p.push(Duration::from_millis(50));
        assert_eq!(p.median(), Duration::from_millis(50));
    }

    #[test]
    fn min_polls_extends_the_session_within_its_bound() {
        let mut s = session(0, None);
        let settings = DriveSettings {
            duration: Duration::from_millis(50),
            interval: Duration::from_millis(20),
            min_polls: 8,
            max_duration: Duration::from_secs(5),
            ..DriveSettings::default()
        };
        let out = run(&mut s, &settings, &AtomicBool::new(false), |_| {});
        assert_eq!(out.report.polls, 8);
        let mut s = session(0, None);
        let settings = DriveSettings {
            min_polls: 1000,
            max_duration: Duration::from_millis(200),
            ..settings
        };
        let out = run(&mut s, &settings, &AtomicBool::new(false), |_| {});
        assert!(out.report.polls <= 12, "{}", out.report.polls);
    }

    #[test]
    fn a_target_gone_ends_the_session_with_what_was_judged() {
        let mut s = session(0, Some(3));
        let settings = DriveSettings {
            duration: Duration::from_secs(5),
            interval: Duration::from_millis(10),
            ..DriveSettings::default()
        };
        let out = run(&mut s, &settings, &AtomicBool::new(false), |_| {});
        assert!(matches!(out.end, End::Failed(WhereError::Gone { .. })));
        assert_eq!(out.report.polls, 3);
    }

    #[test]
    fn stop_ends_it_early() {
        let mut s = session(0, None);
        let stop = AtomicBool::new(false);
        let settings = DriveSettings {
            duration: Duration::from_secs(60),
            interval: Duration::from_millis(10),
            ..DriveSettings::default()
        };
        let out = run(&mut s, &settings, &stop, |p| {
            if p.polls == 2 {
                stop.store(true, Ordering::Relaxed)
            }
        });
        assert!(matches!(out.end, End::Stopped));
        assert_eq!(out.report.polls, 2);
    }
}
