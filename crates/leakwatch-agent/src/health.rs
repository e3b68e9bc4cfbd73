//! Leak-aware liveness: the judgement behind `leakwatch probe` and the
//! agent's `/healthz/TARGET`, shared so both say the same thing.
//!
//! A target fails only when the detector says its memory is leaking **and**
//! the projected time to its memory limit is under a threshold (15 minutes
//! by default): then an orchestrator restarts it with SIGTERM and a grace
//! period instead of the OOM killer dropping its in-flight work. Plateaus,
//! garbage-collector saw-teeth, warm-up and traffic bursts are the
//! detector's business (it never calls them a leak); this module adds no
//! threshold of its own beyond the time to the limit. Too little history is
//! "could not judge yet", which passes: a liveness probe must not restart
//! what it cannot judge.
//!
//! Health is judged per *incarnation*: unlike the agent's alerting history,
//! which joins restarts so a leak masked by OOM kills still shows, a
//! restarted process starts with a fresh detector here, or the restart the
//! probe asked for would fail the probe again at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use leakwatch_core::{Assessment, Detector, DetectorConfig, LeakState, Resource};
use serde::Serialize;

/// The default threshold: fail when the limit is projected closer than this.
pub const DEFAULT_THRESHOLD_S: f64 = 15.0 * 60.0;

/// Which of a target's resources decides its health: anonymous memory (the
/// part that only the OOM killer can take back), else the total.
///
/// A cgroup's usage includes page cache, which grows towards the limit and
/// is then reclaimed: judging it would restart services that merely read
/// files. Its anon part (v1 `total_rss`, v2 `anon`) is what leaks.
pub fn health_resource(resources: &[Resource]) -> Option<Resource> {
    [
        Resource::CgroupAnonBytes,
        Resource::AnonBytes,
        Resource::CgroupBytes,
        Resource::RssBytes,
    ]
    .into_iter()
    .find(|r| resources.contains(r))
}

/// The detector settings of health judgements: the core's defaults, with no
/// traffic season unless one is given. A season makes the detector wait a
/// whole season (a day) before any leak call, longer than most leaks take
/// to reach a limit; the time-to-limit threshold already keeps the rising
/// half of a daily cycle that stays far from the limit from failing.
pub fn detector_config(season_s: Option<f64>) -> DetectorConfig {
    DetectorConfig {
        season_s: season_s.unwrap_or(0.0),
        ..DetectorConfig::default()
    }
}

/// The verdict of a liveness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Too little history to judge: passes.
    NotYet,
    /// Not leaking, or leaking with the limit still far away.
    Healthy,
    /// Leaking, and the limit is closer than the threshold: restart it.
    Failing,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::NotYet => "not_yet",
            Health::Healthy => "healthy",
            Health::Failing => "failing",
        }
    }
}

/// What a judgement needs of a detector; kept by the agent's health board
/// without copying the detector's evidence every tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub state: LeakState,
    pub samples: u64,
    pub history_s: f64,
    pub current: f64,
    pub rate_per_hour: f64,
    pub time_to_limit_s: Option<f64>,
    pub limit: Option<f64>,
    /// The detector's own minimums, for the "not yet" message.
    pub min_samples: u64,
    pub min_history_s: f64,
    /// The detector's one-line reason.
    pub reason: String,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            state: LeakState::Collecting,
            samples: 0,
            history_s: 0.0,
            current: f64::NAN,
            rate_per_hour: 0.0,
            time_to_limit_s: None,
            limit: None,
            min_samples: 0,
            min_history_s: 0.0,
            reason: String::new(),
        }
    }
}

impl Snapshot {
    /// Fills `self` from a detector, reusing its string buffer.
    pub fn update_from(&mut self, d: &Detector) {
        let owned;
        let a: &Assessment = match d.latest() {
            Some(a) => a,
            None => {
                owned = d.assessment();
                &owned
            }
        };
        self.state = a.state;
        self.samples = d.samples();
        self.history_s = a.duration_s;
        self.current = a.current;
        self.rate_per_hour = a.rate_per_hour;
        self.time_to_limit_s = a.time_to_limit_s.filter(|t| t.is_finite());
        self.limit = a.limit;
        self.min_samples = d.config().min_samples;
        self.min_history_s = d.config().min_duration_s;
        self.reason.clone_from(&a.evidence.reason);
    }

    pub fn of(d: &Detector) -> Snapshot {
        let mut s = Snapshot::default();
        s.update_from(d);
        s
    }
}

/// A judgement with everything a probe prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub version: u32,
    pub health: Health,
    pub resource: &'static str,
    pub state: LeakState,
    pub samples: u64,
    pub history_s: f64,
    pub current_bytes: f64,
    pub limit_bytes: Option<f64>,
    pub growth_bytes_per_second: f64,
    pub time_to_limit_s: Option<f64>,
    pub threshold_s: f64,
    pub message: String,
}

/// Judges one snapshot of the health resource against `threshold_s`.
pub fn judge(resource: Resource, s: &Snapshot, threshold_s: f64) -> Judgement {
    use leakwatch_core::format::{bytes, duration};
    let label = crate::metrics::resource_label(resource);
    let limit = s.limit.map_or("no known limit".to_string(), |l| {
        format!("limit {}", bytes(l))
    });
    let (health, message) = match s.state {
        LeakState::Collecting => (
            Health::NotYet,
            format!(
                "could not judge yet: {} sample(s) over {} ({label} {}); the detector needs at least {} samples and {} of history. Passing until it can judge.",
                s.samples,
                duration(s.history_s),
                bytes(s.current),
                s.min_samples,
                duration(s.min_history_s),
            ),
        ),
        LeakState::Leak => match s.time_to_limit_s {
            Some(ttl) if ttl < threshold_s => (
                Health::Failing,
                format!(
                    "LEAKING: {label} {} of {limit}, growing {}/h; the limit is ~{} away, under the {} threshold: restart before the OOM killer does ({})",
                    bytes(s.current),
                    bytes(s.rate_per_hour),
                    duration(ttl),
                    duration(threshold_s),
                    s.reason
                ),
            ),
            Some(ttl) => (
                Health::Healthy,
                format!(
                    "healthy for now: {label} {} is leaking ({}/h) but the {limit} is ~{} away; fails when under {}",
                    bytes(s.current),
                    bytes(s.rate_per_hour),
                    duration(ttl),
                    duration(threshold_s)
                ),
            ),
            None => (
                Health::Healthy,
                format!(
                    "healthy for now: {label} {} is leaking ({}/h) but with {limit} no time to it can be projected",
                    bytes(s.current),
                    bytes(s.rate_per_hour)
                ),
            ),
        },
        state => (
            Health::Healthy,
            format!(
                "healthy: {label} {} ({limit}), {state}: {}",
                bytes(s.current),
                s.reason
            ),
        ),
    };
    Judgement {
        version: 1,
        health,
        resource: label,
        state: s.state,
        samples: s.samples,
        history_s: s.history_s,
        current_bytes: s.current,
        limit_bytes: s.limit,
        growth_bytes_per_second: s.rate_per_hour / 3600.0,
        time_to_limit_s: s.time_to_limit_s,
        threshold_s,
        message,
    }
}

/// One detector of one incarnation of a target, for health only.
#[derive(Debug, Clone)]
pub struct IncarnationHealth {
    pub resource: Resource,
    pub detector: Detector,
}

impl IncarnationHealth {
    pub fn new(resource: Resource, cfg: &DetectorConfig) -> Self {
        IncarnationHealth {
            resource,
            detector: Detector::new(cfg.clone()),
        }
    }

    /// Starts over (a restart: a new incarnation).
    pub fn reset(&mut self) {
        self.detector = Detector::new(self.detector.config().clone());
    }
}

#[derive(Debug, Default)]
struct Entry {
    resource: Option<Resource>,
    snapshot: Snapshot,
}

/// What the agent's HTTP thread reads to answer `/healthz` and
/// `/healthz/TARGET`: each target's latest health snapshot and the time of
/// the sampling loop's last tick. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct HealthBoard {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// Monotonic seconds (CLOCK_BOOTTIME) of the last tick, as f64 bits.
    last_tick: Arc<AtomicU64>,
    /// `/healthz` fails when no tick came for this long.
    stall_after_s: f64,
}

/// What `/healthz/TARGET` finds.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetHealth {
    Unknown,
    Judged(Judgement),
}

impl HealthBoard {
    /// `stall_after_s`: the agent itself is unhealthy when its sampling loop
    /// has not ticked for this long (give a few intervals).
    pub fn new(stall_after_s: f64) -> Self {
        HealthBoard {
            entries: Arc::default(),
            last_tick: Arc::new(AtomicU64::new(monotonic_s().to_bits())),
            stall_after_s,
        }
    }

    /// The sampling loop ticked.
    pub fn heartbeat(&self) {
        self.last_tick
            .store(monotonic_s().to_bits(), Ordering::Relaxed);
    }

    /// Seconds since the last tick.
    pub fn silence_s(&self) -> f64 {
        (monotonic_s() - f64::from_bits(self.last_tick.load(Ordering::Relaxed))).max(0.0)
    }

    /// `Ok` when the loop ticks, else how long it has been silent.
    pub fn agent_alive(&self) -> Result<(), f64> {
        let s = self.silence_s();
        if s > self.stall_after_s {
            Err(s)
        } else {
            Ok(())
        }
    }

    /// Publishes a target's health detector (allocates only for a new key).
    pub fn update(&self, key: &str, h: &IncarnationHealth) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = match map.get_mut(key) {
            Some(e) => e,
            None => map.entry(key.to_string()).or_default(),
        };
        e.resource = Some(h.resource);
        e.snapshot.update_from(&h.detector);
    }

    pub fn remove(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The judgement of a target at `threshold_s`.
    pub fn target(&self, key: &str, threshold_s: f64) -> TargetHealth {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(Entry {
                resource: Some(r),
                snapshot,
            }) => TargetHealth::Judged(judge(*r, snapshot, threshold_s)),
            _ => TargetHealth::Unknown,
        }
    }

    /// Names of the targets on the board.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }
}

/// Seconds on CLOCK_BOOTTIME: monotonic across processes (the probe's runs)
/// and across suspend, and never stepped by NTP or an operator.
pub fn monotonic_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the struct it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(values: impl Iterator<Item = (f64, f64)>, limit: f64) -> Snapshot {
        let mut d = Detector::new(detector_config(None));
        d.set_limit(Some(limit));
        for (t, v) in values {
            d.push(t, v);
        }
        Snapshot::of(&d)
    }

    #[test]
    fn too_little_history_passes_and_says_so() {
        let s = fed((0..5).map(|i| (i as f64, 1e8)), 1e9);
        let j = judge(Resource::CgroupAnonBytes, &s, DEFAULT_THRESHOLD_S);
        assert_eq!(j.health, Health::NotYet);
        assert!(j.message.contains("could not judge yet"), "{}", j.message);
    }

    #[test]
    fn a_leak_fails_only_when_the_limit_is_near() {
        // 1 MB/s from 100 MB towards a 1 GB limit: leaking throughout.
        let leak: Vec<(f64, f64)> = (0..300).map(|i| (i as f64, 1e8 + 1e6 * i as f64)).collect();
        let s = fed(leak.iter().copied(), 1e9);
        assert_eq!(s.state, LeakState::Leak, "{s:?}");
        let ttl = s.time_to_limit_s.unwrap();
        // ~600 s left: fails at a 15-minute threshold, passes at 5 minutes.
        assert!(ttl > 400.0 && ttl < 800.0, "{ttl}");
        assert_eq!(
            judge(Resource::CgroupAnonBytes, &s, DEFAULT_THRESHOLD_S).health,
            Health::Failing
        );
        let j = judge(Resource::CgroupAnonBytes, &s, 300.0);
        assert_eq!(j.health, Health::Healthy, "{}", j.message);
        assert!(j.message.contains("leaking"), "{}", j.message);
    }

    #[test]
    fn a_plateau_near_the_limit_never_fails() {
        // A cache that fills in 20 s (warm-up) to 90 % of the limit, then
        // stays flat with churn.
        let v = |i: usize| {
            let t = i as f64;
            let base = 1e8 + 8e8 * (t / 20.0).min(1.0);
            base + if i.is_multiple_of(7) { 3e6 } else { 0.0 }
        };
        let mut d = Detector::new(detector_config(None));
        d.set_limit(Some(1e9));
        for i in 0..600 {
            d.push(i as f64, v(i));
            let j = judge(
                Resource::CgroupAnonBytes,
                &Snapshot::of(&d),
                DEFAULT_THRESHOLD_S,
            );
            assert_ne!(j.health, Health::Failing, "at {i}s: {}", j.message);
        }
    }

    #[test]
    fn the_health_resource_is_anon_first() {
        assert_eq!(
            health_resource(&[Resource::CgroupBytes, Resource::CgroupAnonBytes]),
            Some(Resource::CgroupAnonBytes)
        );
        assert_eq!(
            health_resource(&[Resource::RssBytes, Resource::AnonBytes]),
            Some(Resource::AnonBytes)
        );
        assert_eq!(health_resource(&[Resource::Fds]), None);
    }

    #[test]
    fn the_board_answers_per_target_and_tracks_the_loop() {
        let board = HealthBoard::new(0.2);
        assert!(board.agent_alive().is_ok());
        let mut h = IncarnationHealth::new(Resource::CgroupAnonBytes, &detector_config(None));
        h.detector.set_limit(Some(1e9));
        for i in 0..300 {
            h.detector.push(i as f64, 1e8 + 1e6 * i as f64);
        }
        board.update("web", &h);
        assert_eq!(board.target("nope", 900.0), TargetHealth::Unknown);
        match board.target("web", 900.0) {
            TargetHealth::Judged(j) => assert_eq!(j.health, Health::Failing),
            other => panic!("{other:?}"),
        }
        // A restart starts a fresh incarnation: it cannot be judged yet.
        h.reset();
        h.detector.push(0.0, 1e8);
        board.update("web", &h);
        match board.target("web", 900.0) {
            TargetHealth::Judged(j) => assert_eq!(j.health, Health::NotYet),
            other => panic!("{other:?}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(board.agent_alive().is_err());
        board.heartbeat();
        assert!(board.agent_alive().is_ok());
        board.remove("web");
        assert!(board.keys().is_empty());
    }
}
