//! The agent loop's bookkeeping: per-target detectors fed by the caller's
//! samples, with metrics, alerts and the history store kept in step.
//!
//! The caller (the `watch` command) samples; for every target and tick it
//! hands an [`Observation`] to [`Agent::observe`], calls
//! [`Agent::end_target`] when a target goes away and [`Agent::tick_done`]
//! once per tick. Nothing here blocks on the network: alerts go through
//! background queues and the metrics endpoint reads atomics.

use std::collections::HashMap;
use std::time::Duration;

use leakwatch_core::{Assessment, DetectorConfig, LeakState, Resource, ResourceSet};

use crate::alert::{Alert, Alerting};
use crate::health::{HealthBoard, IncarnationHealth};
use crate::metrics::{Metrics, TargetMetrics};
use crate::store::{Store, StoreError, TargetRecord};

/// One tick's reading of one target.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Stable name: the same service or container keeps it across restarts.
    pub key: &'a str,
    /// `process`, `cgroup`, `container`, `service`.
    pub kind: &'a str,
    /// What identifies this incarnation (founding pid, container id): a
    /// different one under the same key is a restart; empty when unknown
    /// (nothing runs in the cgroup yet).
    pub instance: &'a str,
    /// Values measured now (NaN = not measured).
    pub values: &'a [(Resource, f64)],
    /// Memory limit (the cgroup's, or the host's memory), for time-to-limit
    /// of memory resources.
    pub memory_limit: Option<f64>,
    /// Each resource's own limit and what it is, when the caller knows
    /// them (threads-max, the fd soft limit, host or cgroup memory); a
    /// memory resource not listed gets `memory_limit`.
    pub limits: &'a [(Resource, Option<f64>, leakwatch_core::LimitKind)],
    /// The cgroup's cumulative OOM-kill counter as read now.
    pub oom_kill_counter: Option<u64>,
}

/// Something the caller may want to print.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// First seen; `resumed` when history and detector state came from the store.
    Started {
        key: String,
        resumed: bool,
    },
    Transition {
        key: String,
        resource: Resource,
        from: LeakState,
        to: LeakState,
    },
    Restarted {
        key: String,
        restarts: u64,
    },
    OomKilled {
        key: String,
        total: u64,
    },
    /// Boxed: an alert is several times the size of the other events.
    Alert(Box<Alert>),
    Ended {
        key: String,
    },
}

/// Settings of the agent's bookkeeping.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub detector: DetectorConfig,
    /// After a restart, the new instance's first seconds (its start-up) are
    /// not joined to the history.
    pub restart_warmup_s: f64,
    /// Detector state is saved to the store this often (history rows are
    /// written every tick).
    pub save_every_s: f64,
    /// Store retention and size bound are applied this often.
    pub compact_every_s: f64,
    /// Firing alerts are repeated to Alertmanager this often.
    pub resend_every_s: f64,
    /// An ended target is remembered this long, so a restart rejoins it
    /// even without a store.
    pub forget_after_s: f64,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            detector: DetectorConfig::default(),
            restart_warmup_s: leakwatch_core::analysis::DEFAULT_RESTART_WARMUP_S,
            save_every_s: 60.0,
            compact_every_s: 300.0,
            resend_every_s: 60.0,
            forget_after_s: 3600.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct TargetState {
    record: TargetRecord,
    set: ResourceSet,
    metrics: Option<TargetMetrics>,
    /// The raw OOM counter last read and what earlier counters added up to.
    oom_last_raw: Option<u64>,
    oom_base: u64,
    ended_at: Option<f64>,
    /// The current incarnation's health detector (with a health board).
    health: Option<IncarnationHealth>,
}

/// See the module docs.
pub struct Agent {
    opts: AgentOptions,
    metrics: Option<Metrics>,
    alerting: Option<Alerting>,
    store: Option<Store>,
    targets: HashMap<String, TargetState>,
    next_save: f64,
    next_compact: f64,
    next_resend: f64,
    /// Reused buffer for the judgements passed to alerting.
    last: Vec<(Resource, Assessment)>,
    /// Per-target liveness for `/healthz/TARGET`.
    health: Option<(HealthBoard, DetectorConfig)>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("targets", &self.targets.len())
            .finish_non_exhaustive()
    }
}

impl Agent {
    pub fn new(
        opts: AgentOptions,
        metrics: Option<Metrics>,
        alerting: Option<Alerting>,
        store: Option<Store>,
    ) -> Agent {
        Agent {
            opts,
            metrics,
            alerting,
            store,
            targets: HashMap::new(),
            next_save: f64::NEG_INFINITY,
            next_compact: f64::NEG_INFINITY,
            next_resend: f64::NEG_INFINITY,
            last: Vec::new(),
            health: None,
        }
    }

    /// Publishes each target's liveness (see [`crate::health`]) on `board`,
    /// judged by one more detector per target that starts over at each
    /// restart, with `cfg`.
    pub fn with_health(mut self, board: HealthBoard, cfg: DetectorConfig) -> Agent {
        self.health = Some((board, cfg));
        self
    }

    fn open_target(
        &mut self,
        obs: &Observation,
        now_s: f64,
        events: &mut Vec<AgentEvent>,
    ) -> Result<TargetState, AgentError> {
        let resources: Vec<Resource> = obs.values.iter().map(|(r, _)| *r).collect();
        let mut record = match &self.store {
            Some(s) => s.target(obs.key, obs.kind)?,
            None => TargetRecord {
                id: 0,
                key: obs.key.to_string(),
                kind: obs.kind.to_string(),
                first_seen_s: None,
                last_seen_s: None,
                restarts: 0,
                oom_kills: 0,
                instance: None,
                state: None,
            },
        };
        let restored: Option<ResourceSet> = record
            .state
            .as_deref()
            .and_then(|bytes| postcard::from_bytes(bytes).ok())
            .filter(|set: &ResourceSet| resources.iter().all(|r| set.detector(*r).is_some()));
        let resumed = restored.is_some();
        let set = restored.unwrap_or_else(|| {
            let mut set = ResourceSet::new(&resources, &self.opts.detector);
            set.set_restart_warmup(self.opts.restart_warmup_s);
            set
        });
        record.first_seen_s.get_or_insert(now_s);
        let metrics = self.metrics.as_ref().map(|m| {
            let mut tm = m.target(obs.key);
            tm.set_counts(record.restarts, record.oom_kills);
            tm
        });
        events.push(AgentEvent::Started {
            key: obs.key.to_string(),
            resumed,
        });
        let oom_base = record
            .oom_kills
            .saturating_sub(obs.oom_kill_counter.unwrap_or(0));
        let health = self.health.as_ref().and_then(|(_, cfg)| {
            crate::health::health_resource(&resources).map(|r| IncarnationHealth::new(r, cfg))
        });
        Ok(TargetState {
            record,
            set,
            metrics,
            oom_last_raw: None,
            oom_base,
            ended_at: None,
            health,
        })
    }

    /// Feeds one observation; returns what happened (into `events`).
    pub fn observe(
        &mut self,
        now_s: f64,
        obs: &Observation,
        events: &mut Vec<AgentEvent>,
    ) -> Result<(), AgentError> {
        if !self.targets.contains_key(obs.key) {
            let st = self.open_target(obs, now_s, events)?;
            self.targets.insert(obs.key.to_string(), st);
        }
        let st = self.targets.get_mut(obs.key).expect("inserted above");
        if st.ended_at.take().is_some() {
            // It came back within `forget_after_s`: a new incarnation for
            // health, and published again.
            if let Some(h) = &mut st.health {
                h.reset();
            }
            st.metrics = self.metrics.as_ref().map(|m| {
                let mut tm = m.target(obs.key);
                tm.set_counts(st.record.restarts, st.record.oom_kills);
                tm
            });
        }
        // A different incarnation under the same key is a restart, also
        // when it happened while the agent was down.
        // An empty instance (an empty cgroup, nothing running yet) is not an
        // incarnation: the first process to appear is not a restart.
        if !obs.instance.is_empty() && st.record.instance.as_deref() != Some(obs.instance) {
            if st.record.instance.is_some() {
                st.record.restarts += 1;
                // The core joins instances, so a leak masked by restarts
                // (OOM kill, crash loop) still shows as one rise.
                st.set.restart(now_s);
                // Health judges this incarnation alone: the restart the
                // probe asked for must not fail it again at once.
                if let Some(h) = &mut st.health {
                    h.reset();
                }
                events.push(AgentEvent::Restarted {
                    key: obs.key.to_string(),
                    restarts: st.record.restarts,
                });
            }
            st.record.instance = Some(obs.instance.to_string());
        }
        if let Some(raw) = obs.oom_kill_counter {
            if let Some(last) = st.oom_last_raw {
                if raw < last {
                    // The cgroup was recreated: its counter started over.
                    st.oom_base += last;
                }
            }
            st.oom_last_raw = Some(raw);
            let total = (st.oom_base + raw).max(st.record.oom_kills);
            if total > st.record.oom_kills {
                st.record.oom_kills = total;
                events.push(AgentEvent::OomKilled {
                    key: obs.key.to_string(),
                    total,
                });
            }
        }
        for &(r, v) in obs.values {
            if let Some(&(_, limit, kind)) = obs.limits.iter().find(|(x, _, _)| *x == r) {
                st.set.set_named_limit(r, limit, kind);
            } else if r.is_bytes() && r != Resource::SwapBytes {
                st.set.set_limit(r, obs.memory_limit);
            }
            if let Some(tr) = st.set.push(r, now_s, v) {
                events.push(AgentEvent::Transition {
                    key: obs.key.to_string(),
                    resource: r,
                    from: tr.transition.from,
                    to: tr.transition.to,
                });
            }
        }
        if let (Some((board, _)), Some(h)) = (&self.health, &mut st.health) {
            if let Some(&(_, v)) = obs.values.iter().find(|(r, _)| *r == h.resource) {
                h.detector.set_limit(obs.memory_limit);
                h.detector.push(now_s, v);
                board.update(obs.key, h);
            }
        }
        if let (Some(m), Some(tm)) = (&self.metrics, &mut st.metrics) {
            let is_cgroup = obs.values.iter().any(|(r, _)| *r == Resource::CgroupBytes);
            let cgroup_limit = obs.memory_limit.filter(|_| is_cgroup);
            tm.update(m, obs.values, cgroup_limit, &st.set);
            tm.set_counts(st.record.restarts, st.record.oom_kills);
        }
        if let Some(alerting) = &mut self.alerting {
            let tracked = alerting.tracks(obs.key);
            for r in obs.values.iter().map(|(r, _)| *r) {
                // Only a leak, or a key with an open alert, can make an alert:
                // skip copying the assessment otherwise.
                let Some(d) = st
                    .set
                    .detector(r)
                    .filter(|d| tracked || d.state() == LeakState::Leak)
                else {
                    continue;
                };
                if let Some(a) = alerting.observe(obs.key, r, &d.assessment(), now_s) {
                    events.push(AgentEvent::Alert(Box::new(a)));
                }
            }
        }
        if let Some(store) = &mut self.store {
            store.append(st.record.id, now_s, obs.values);
        }
        st.record.last_seen_s = Some(now_s);
        Ok(())
    }

    /// The target went away (process exited, cgroup removed): resolves its
    /// alerts, drops its metrics and saves it. It is remembered for
    /// `forget_after_s` so that a restart joins its history.
    pub fn end_target(
        &mut self,
        key: &str,
        now_s: f64,
        events: &mut Vec<AgentEvent>,
    ) -> Result<(), AgentError> {
        let Some(st) = self.targets.get_mut(key) else {
            return Ok(());
        };
        if st.ended_at.is_some() {
            return Ok(());
        }
        st.ended_at = Some(now_s);
        if let Some(alerting) = &mut self.alerting {
            self.last.clear();
            for r in st.set.resources() {
                if let Some(d) = st.set.detector(r) {
                    self.last.push((r, d.assessment()));
                }
            }
            for a in alerting.target_ended(key, &self.last, now_s) {
                events.push(AgentEvent::Alert(Box::new(a)));
            }
        }
        if let (Some(m), Some(tm)) = (&self.metrics, st.metrics.take()) {
            m.remove_target(&tm);
        }
        if let Some((board, _)) = &self.health {
            board.remove(key);
        }
        if let Some(store) = &self.store {
            save(store, st)?;
        }
        events.push(AgentEvent::Ended {
            key: key.to_string(),
        });
        Ok(())
    }

    /// Once per tick, after every observation: writes history, and now and
    /// then saves detector state, compacts the store and repeats alerts.
    pub fn tick_done(&mut self, now_s: f64) -> Result<(), AgentError> {
        if let Some((board, _)) = &self.health {
            board.heartbeat();
        }
        let forget = self.opts.forget_after_s;
        self.targets
            .retain(|_, st| st.ended_at.is_none_or(|e| now_s - e < forget));
        if let Some(store) = &mut self.store {
            store.flush()?;
            if now_s >= self.next_save {
                for st in self.targets.values().filter(|st| st.ended_at.is_none()) {
                    save(store, st)?;
                }
                self.next_save = now_s + self.opts.save_every_s;
            }
            if now_s >= self.next_compact {
                store.compact(now_s)?;
                self.next_compact = now_s + self.opts.compact_every_s;
            }
        }
        if let Some(alerting) = &self.alerting {
            if now_s >= self.next_resend {
                alerting.resend_firing();
                self.next_resend = now_s + self.opts.resend_every_s;
            }
            if let Some(m) = &self.metrics {
                m.set_alerts_dropped(alerting.dropped_total());
            }
        }
        Ok(())
    }

    /// Saves everything and stops alert delivery (waiting at most `grace`).
    pub fn shutdown(mut self, grace: Duration) -> Result<(), AgentError> {
        if let Some(store) = &mut self.store {
            store.flush()?;
            for st in self.targets.values() {
                save(store, st)?;
            }
        }
        if let Some(alerting) = self.alerting.take() {
            alerting.shutdown(grace);
        }
        Ok(())
    }

    /// The detectors of a target.
    pub fn detectors(&self, key: &str) -> Option<&ResourceSet> {
        self.targets.get(key).map(|st| &st.set)
    }

    /// Restarts and OOM kills counted for a target.
    pub fn counts(&self, key: &str) -> Option<(u64, u64)> {
        self.targets
            .get(key)
            .map(|st| (st.record.restarts, st.record.oom_kills))
    }

    /// Keys of the targets being watched (not ended).
    pub fn live_targets(&self) -> impl Iterator<Item = &str> {
        self.targets
            .iter()
            .filter(|(_, st)| st.ended_at.is_none())
            .map(|(k, _)| k.as_str())
    }

    /// The alerts, for `watch --where` to attach what it found.
    pub fn alerting_mut(&mut self) -> Option<&mut Alerting> {
        self.alerting.as_mut()
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }
}

fn save(store: &Store, st: &TargetState) -> Result<(), StoreError> {
    let mut rec = st.record.clone();
    rec.state = postcard::to_allocvec(&st.set).ok();
    store.save_target(&rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(instance: &'a str, values: &'a [(Resource, f64)]) -> Observation<'a> {
        Observation {
            key: "svc",
            kind: "cgroup",
            instance,
            values,
            memory_limit: Some(1e9),
            limits: &[],
            oom_kill_counter: Some(0),
        }
    }

    #[test]
    fn health_is_judged_per_incarnation() {
        use crate::health::{detector_config, Health, TargetHealth};
        let board = HealthBoard::new(60.0);
        let mut agent = Agent::new(AgentOptions::default(), None, None, None)
            .with_health(board.clone(), detector_config(None));
        let mut ev = Vec::new();
        let judged = |board: &HealthBoard| match board.target("svc", 900.0) {
            TargetHealth::Judged(j) => j.health,
            TargetHealth::Unknown => panic!("svc unknown"),
        };
        // Leaks 1 MB/s towards a 1 GB limit: fails once judged.
        for i in 0..400 {
            let v = [
                (Resource::CgroupBytes, 2e8 + 1e6 * i as f64),
                (Resource::CgroupAnonBytes, 1e8 + 1e6 * i as f64),
            ];
            agent.observe(i as f64, &obs("100", &v), &mut ev).unwrap();
        }
        assert_eq!(judged(&board), Health::Failing);
        // Restarted (a new founding pid): a fresh incarnation, not judged yet,
        // although the joined history still leaks.
        let v = [
            (Resource::CgroupBytes, 2e8),
            (Resource::CgroupAnonBytes, 1e8),
        ];
        agent.observe(401.0, &obs("200", &v), &mut ev).unwrap();
        assert_eq!(judged(&board), Health::NotYet);
        agent.end_target("svc", 402.0, &mut ev).unwrap();
        assert_eq!(board.target("svc", 900.0), TargetHealth::Unknown);
    }

    #[test]
    fn restarts_and_oom_kills_are_counted_once_each() {
        let mut agent = Agent::new(AgentOptions::default(), Some(Metrics::new()), None, None);
        let mut ev = Vec::new();
        let v = [(Resource::CgroupBytes, 1e6)];
        // An empty cgroup first, then its first process: not a restart.
        agent.observe(0.0, &obs("", &v), &mut ev).unwrap();
        agent.observe(1.0, &obs("100", &v), &mut ev).unwrap();
        agent.observe(2.0, &obs("100", &v), &mut ev).unwrap();
        assert_eq!(agent.counts("svc"), Some((0, 0)));
        // OOM kill, empty again, then a new process: one OOM kill, one restart.
        let mut o = obs("100", &v);
        o.oom_kill_counter = Some(1);
        agent.observe(3.0, &o, &mut ev).unwrap();
        let mut o = obs("", &v);
        o.oom_kill_counter = Some(1);
        agent.observe(4.0, &o, &mut ev).unwrap();
        let mut o = obs("200", &v);
        o.oom_kill_counter = Some(1);
        agent.observe(5.0, &o, &mut ev).unwrap();
        assert_eq!(agent.counts("svc"), Some((1, 1)));
        // The cgroup is recreated: its counter starts over, the total goes on.
        let mut o = obs("300", &v);
        o.oom_kill_counter = Some(1);
        agent.observe(6.0, &o, &mut ev).unwrap();
        let mut o = obs("300", &v);
        o.oom_kill_counter = Some(0);
        agent.observe(7.0, &o, &mut ev).unwrap();
        o.oom_kill_counter = Some(1);
        agent.observe(8.0, &o, &mut ev).unwrap();
        assert_eq!(agent.counts("svc"), Some((2, 2)));
        let restarts = ev
            .iter()
            .filter(|e| matches!(e, AgentEvent::Restarted { .. }))
            .count();
        assert_eq!(restarts, 2);
        let text = agent.metrics().unwrap().encode();
        assert!(
            text.contains("leakwatch_restarts_total{target=\"svc\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("leakwatch_oom_kills_total{target=\"svc\"} 2"),
            "{text}"
        );
        // It ends: metrics go, the state is kept for a comeback.
        agent.end_target("svc", 9.0, &mut ev).unwrap();
        assert!(!agent.metrics().unwrap().encode().contains("target=\"svc\""));
        assert_eq!(agent.live_targets().count(), 0);
        agent.observe(10.0, &obs("400", &v), &mut ev).unwrap();
        assert_eq!(agent.counts("svc"), Some((3, 2)));
        assert!(agent
            .metrics()
            .unwrap()
            .encode()
            .contains("leakwatch_restarts_total{target=\"svc\"} 3"));
    }
}
