//! `watch --where`: when a leak alert fires, run `where` on the target on a
//! thread of its own (sampling never waits for it), bounded in time and
//! rate-limited, and attach the growing classes or sites to the alert.
//!
//! One session runs at a time; alerts that fire meanwhile wait in a short
//! queue (the oldest is dropped beyond it), and a target is looked at again
//! only after [`MIN_GAP`]. The session's result is attached to the target's
//! firing alerts, which are sent again (webhook, Alertmanager annotations),
//! printed, and kept in the store.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use leakwatch_agent::agent::Agent;
use leakwatch_agent::alert::{Alert, AlertCause, GrowingKey};
use leakwatch_core::LeakState;
use leakwatch_where::driver::{investigate, DriveSettings, End};
use leakwatch_where::{Options, WhereReport};

/// A target is looked at again only after this long.
pub const MIN_GAP: Duration = Duration::from_secs(600);
/// Alerts waiting for a session, at most.
const QUEUE: usize = 16;
/// Growing keys attached to an alert, at most.
const TOP: usize = 5;

/// Settings of `watch --where`.
#[derive(Debug, Clone)]
pub struct WhereSettings {
    pub duration: Duration,
    pub interval: Duration,
    pub pause_budget: f64,
}

/// Runs `where` sessions for alerts; see the module docs.
pub struct WhereRunner {
    settings: WhereSettings,
    stop: Arc<AtomicBool>,
    running: Option<(String, JoinHandle<()>)>,
    queue: VecDeque<(String, i32)>,
    last_started: HashMap<String, Instant>,
    tx: Sender<(String, AlertCause)>,
    rx: Receiver<(String, AlertCause)>,
}

/// What happened, for the caller to print.
pub enum WhereEvent {
    Started { key: String, pid: i32 },
    Skipped { key: String, why: String },
}

impl WhereRunner {
    pub fn new(settings: WhereSettings) -> Self {
        let (tx, rx) = mpsc::channel();
        WhereRunner {
            settings,
            stop: Arc::new(AtomicBool::new(false)),
            running: None,
            queue: VecDeque::new(),
            last_started: HashMap::new(),
            tx,
            rx,
        }
    }

    /// A leak alert fired on `key`, whose processes are `pids`.
    pub fn request(&mut self, key: &str, pids: &[i32], events: &mut Vec<WhereEvent>) {
        let Some(pid) = biggest(pids) else {
            events.push(WhereEvent::Skipped {
                key: key.to_owned(),
                why: "no process runs in it now".into(),
            });
            return;
        };
        let recent = self
            .last_started
            .get(key)
            .is_some_and(|t| t.elapsed() < MIN_GAP);
        let busy_with_it = self.running.as_ref().is_some_and(|(k, _)| k == key)
            || self.queue.iter().any(|(k, _)| k == key);
        if recent || busy_with_it {
            return;
        }
        if self.queue.len() >= QUEUE {
            if let Some((dropped, _)) = self.queue.pop_front() {
                events.push(WhereEvent::Skipped {
                    key: dropped,
                    why: format!("more than {QUEUE} alerts waiting for `where`"),
                });
            }
        }
        self.queue.push_back((key.to_owned(), pid));
        self.start_next(events);
    }

    fn start_next(&mut self, events: &mut Vec<WhereEvent>) {
        if self.running.is_some() || self.stop.load(Ordering::Relaxed) {
            return;
        }
        let Some((key, pid)) = self.queue.pop_front() else {
            return;
        };
        self.last_started.insert(key.clone(), Instant::now());
        let drive = DriveSettings {
            duration: self.settings.duration,
            interval: self.settings.interval,
            pause_budget: self.settings.pause_budget,
            top: 50,
            ..DriveSettings::default()
        };
        let opts = Options {
            interval: self.settings.interval,
            ..Options::default()
        };
        let stop = Arc::clone(&self.stop);
        let tx = self.tx.clone();
        let k = key.clone();
        let spawned = std::thread::Builder::new()
            .name("leakwatch-where".into())
            .spawn(move || {
                let cause = match investigate(pid, &drive, &opts, &stop) {
                    Ok(inv) => {
                        let error = match &inv.outcome.end {
                            End::Failed(e) => Some(e.to_string()),
                            End::Completed | End::Stopped => None,
                        };
                        cause_of(pid, inv.runtime.as_str(), &inv.outcome.report, error)
                    }
                    Err(e) => AlertCause {
                        pid,
                        runtime: leakwatch_where::runtime::detect(pid)
                            .map_or_else(|_| "unknown".into(), |d| d.runtime.as_str().into()),
                        source: String::new(),
                        polls: 0,
                        duration_s: 0.0,
                        growing: Vec::new(),
                        error: Some(e.to_string()),
                    },
                };
                let _ = tx.send((k, cause));
            });
        match spawned {
            Ok(handle) => {
                events.push(WhereEvent::Started {
                    key: key.clone(),
                    pid,
                });
                self.running = Some((key, handle));
            }
            Err(e) => events.push(WhereEvent::Skipped {
                key,
                why: format!("cannot start a thread: {e}"),
            }),
        }
    }

    /// Sessions that ended since the last call; starts the next waiting one.
    pub fn finished(&mut self, events: &mut Vec<WhereEvent>) -> Vec<(String, AlertCause)> {
        let done: Vec<(String, AlertCause)> = self.rx.try_iter().collect();
        if !done.is_empty() {
            if let Some((_, h)) = self.running.take() {
                let _ = h.join();
            }
        }
        self.start_next(events);
        done
    }

    /// Ends a running session (it leaves the target as it was) and waits
    /// for it at most `grace`.
    pub fn shutdown(mut self, grace: Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.queue.clear();
        if let Some((_, h)) = self.running.take() {
            let until = Instant::now() + grace;
            while !h.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

impl WhereRunner {
    /// Once per agent tick: starts sessions for the alerts that fired
    /// (`firing`: target keys; `pids_of` gives a target's processes), and
    /// attaches finished sessions' results to the alerts, printing them and
    /// keeping them in the store.
    pub fn tick(
        &mut self,
        firing: &[String],
        pids_of: impl Fn(&str) -> Vec<i32>,
        agent: &mut Agent,
        json: bool,
    ) {
        let mut events = Vec::new();
        for key in firing {
            self.request(key, &pids_of(key), &mut events);
        }
        let done = self.finished(&mut events);
        for e in &events {
            print_where_event(e, &self.settings, json);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        for (key, cause) in done {
            let sent = agent
                .alerting_mut()
                .map(|a| a.attach_cause(&key, &cause))
                .unwrap_or_default();
            if let Some(store) = agent.store() {
                if let Ok(text) = serde_json::to_string(&cause) {
                    if let Err(e) = store.record_cause(&key, now, &text) {
                        eprintln!("leakwatch: cannot keep the `where` result of {key}: {e}");
                    }
                }
            }
            print_cause(&key, &cause, &sent, json);
        }
    }
}

fn print_where_event(e: &WhereEvent, s: &WhereSettings, json: bool) {
    match (e, json) {
        (WhereEvent::Started { key, pid }, false) => eprintln!(
            "leakwatch: {key}: running `where` on pid {pid} for {}",
            leakwatch_core::format::duration(s.duration.as_secs_f64())
        ),
        (WhereEvent::Started { key, pid }, true) => println!(
            "{}",
            serde_json::json!({"event": "where_started", "target": key, "pid": pid})
        ),
        (WhereEvent::Skipped { key, why }, false) => {
            eprintln!("leakwatch: {key}: no `where` this time: {why}")
        }
        (WhereEvent::Skipped { key, why }, true) => println!(
            "{}",
            serde_json::json!({"event": "where_skipped", "target": key, "reason": why})
        ),
    }
}

fn print_cause(key: &str, cause: &AlertCause, sent: &[Alert], json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "event": "where",
                "target": key,
                "alerts_updated": sent.len(),
                "where": cause,
            })
        );
    } else {
        eprintln!(
            "leakwatch: WHERE {key} ({}): {}",
            cause.source,
            cause.summary()
        );
    }
}

/// The process of the target with the most resident memory.
fn biggest(pids: &[i32]) -> Option<i32> {
    let rss = |pid: i32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/statm"))
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    pids.iter().copied().max_by_key(|&p| rss(p))
}

/// The alert's `where` from a session's report: the growing keys, leaks
/// first, each key once (bytes before counts).
pub fn cause_of(
    pid: i32,
    runtime: &str,
    report: &WhereReport,
    error: Option<String>,
) -> AlertCause {
    let mut growing: Vec<(u8, GrowingKey)> = Vec::new();
    for m in &report.metrics {
        for k in &m.keys {
            let rank = match k.state {
                LeakState::Leak => 0,
                LeakState::Growing => 1,
                _ => continue,
            };
            if growing.iter().any(|(_, g)| g.key == k.key) {
                continue;
            }
            let rate = k.assessment.rate_per_hour;
            growing.push((
                rank,
                GrowingKey {
                    metric: m.metric.name.to_owned(),
                    key: k.key.clone(),
                    state: k.state,
                    current: k.last_value,
                    growth_per_hour: rate,
                    unit: serde_json::to_value(m.metric.unit)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    summary: format!("{} {} ({})", k.key, m.metric.unit.show_rate(rate), k.state),
                },
            ));
        }
    }
    // Stable: leaks before growing ones, each group in the report's order.
    growing.sort_by_key(|(rank, _)| *rank);
    AlertCause {
        pid,
        runtime: runtime.to_owned(),
        source: report.source.clone(),
        polls: report.polls,
        duration_s: report.duration_s,
        growing: growing.into_iter().take(TOP).map(|(_, g)| g).collect(),
        error: error.or_else(|| {
            (!report.judged).then(|| {
                format!(
                    "{} polls over {:.0}s were too few to judge: raise --where-duration",
                    report.polls, report.duration_s
                )
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_biggest_process_is_looked_at() {
        let me = std::process::id() as i32;
        assert_eq!(biggest(&[me]), Some(me));
        assert_eq!(biggest(&[]), None);
    }

    #[test]
    fn a_target_is_not_looked_at_twice_in_a_row() {
        let mut r = WhereRunner::new(WhereSettings {
            duration: Duration::from_millis(200),
            interval: Duration::from_millis(50),
            pause_budget: 0.01,
        });
        let mut ev = Vec::new();
        // Our own process: native, so the session ends at once with why.
        let me = std::process::id() as i32;
        r.request("svc", &[me], &mut ev);
        r.request("svc", &[me], &mut ev);
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, WhereEvent::Started { .. }))
                .count(),
            1
        );
        let mut done = Vec::new();
        let t = Instant::now();
        while done.is_empty() && t.elapsed() < Duration::from_secs(10) {
            done = r.finished(&mut ev);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(done.len(), 1);
        let (key, cause) = &done[0];
        assert_eq!(key, "svc");
        assert_eq!(cause.runtime, "native");
        assert!(cause
            .error
            .as_deref()
            .unwrap()
            .contains("leakwatch trace --pid"));
        // Within the gap, a new alert does not start another session.
        r.request("svc", &[me], &mut ev);
        assert!(r.running.is_none() && r.queue.is_empty());
        r.request("none", &[], &mut ev);
        assert!(matches!(ev.last(), Some(WhereEvent::Skipped { .. })));
        r.shutdown(Duration::from_secs(1));
    }
}
