//! Prometheus / OpenMetrics exposition of what the agent watches.
//!
//! Metric families (all prefixed `leakwatch_`; `target` is the stable target
//! name, `resource` one of `rss`, `pss`, `anon`, `swap`, `threads`, `fds`,
//! `cgroup`, `cgroup_anon`):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `leakwatch_memory_bytes{target,resource}` | gauge | rss/pss/anon/swap of a process, usage (`cgroup`) and anon of a cgroup |
//! | `leakwatch_cgroup_limit_bytes{target}` | gauge | the cgroup's memory limit, when it has one |
//! | `leakwatch_threads{target}` | gauge | threads |
//! | `leakwatch_open_fds{target}` | gauge | open file descriptors |
//! | `leakwatch_leak_state{target,resource,state}` | gauge | one-hot: 1 for the current state, 0 for the others |
//! | `leakwatch_leak_state_code{target,resource}` | gauge | the same as a number: 0 collecting, 1 stable, 2 plateau, 3 growing, 4 leak |
//! | `leakwatch_growth_per_hour{target,resource}` | gauge | growth of the lower envelope per hour, in the resource's unit |
//! | `leakwatch_time_to_limit_seconds{target,resource}` | gauge | seconds until the limit at the current rate (absent when not growing or no limit) |
//! | `leakwatch_restarts_total{target}` | counter | restarts of the target seen by the agent |
//! | `leakwatch_oom_kills_total{target}` | counter | OOM kills in the target's cgroup |
//! | `leakwatch_agent_resident_memory_bytes` | gauge | the agent's own RSS |
//! | `leakwatch_agent_cpu_seconds_total` | counter | the agent's own CPU time (user + system) |
//! | `leakwatch_agent_targets` | gauge | targets currently watched |
//! | `leakwatch_agent_alerts_dropped_total` | counter | alerts dropped because a delivery queue was full |
//!
//! Handles to every per-target series are created once per target and kept
//! in [`TargetMetrics`], so an update is a handful of atomic stores and
//! allocates nothing.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use leakwatch_core::{LeakState, Resource, ResourceSet};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

type FGauge = Gauge<f64, AtomicU64>;
type FCounter = Counter<f64, AtomicU64>;

/// Every detector state, in the order of their numeric code.
pub const STATES: [LeakState; 5] = [
    LeakState::Collecting,
    LeakState::Stable,
    LeakState::Plateau,
    LeakState::Growing,
    LeakState::Leak,
];

/// The documented numeric code of a state (`leakwatch_leak_state_code`):
/// ordered by severity so `max()` over targets is meaningful.
pub fn state_code(state: LeakState) -> f64 {
    match state {
        LeakState::Collecting => 0.0,
        LeakState::Stable => 1.0,
        LeakState::Plateau => 2.0,
        LeakState::Growing => 3.0,
        LeakState::Leak => 4.0,
    }
}

/// The `resource` label value of a resource: its CSV column without `_bytes`.
pub fn resource_label(r: Resource) -> &'static str {
    match r {
        Resource::RssBytes => "rss",
        Resource::PssBytes => "pss",
        Resource::AnonBytes => "anon",
        Resource::SwapBytes => "swap",
        Resource::Threads => "threads",
        Resource::Fds => "fds",
        Resource::CgroupBytes => "cgroup",
        Resource::CgroupAnonBytes => "cgroup_anon",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    target: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    target: String,
    resource: String,
    state: String,
}

/// The agent's metric families and its registry. Cheap to clone: the
/// families share their storage.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    memory: Family<ResourceLabels, FGauge>,
    cgroup_limit: Family<TargetLabels, FGauge>,
    threads: Family<TargetLabels, FGauge>,
    fds: Family<TargetLabels, FGauge>,
    state: Family<StateLabels, FGauge>,
    state_code: Family<ResourceLabels, FGauge>,
    growth: Family<ResourceLabels, FGauge>,
    time_to_limit: Family<ResourceLabels, FGauge>,
    restarts: Family<TargetLabels, Counter>,
    oom_kills: Family<TargetLabels, Counter>,
    agent: Arc<AgentGauges>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("targets", &self.agent.targets.get())
            .finish_non_exhaustive()
    }
}

struct AgentGauges {
    rss: FGauge,
    cpu: FCounter,
    /// CPU seconds already added to `cpu`, as f64 bits.
    cpu_seen: AtomicU64,
    targets: Gauge,
    alerts_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("leakwatch");
        let memory = Family::<ResourceLabels, FGauge>::default();
        registry.register_with_unit(
            "memory",
            "Memory of a target: rss/pss/anon/swap of a process, usage (cgroup) and anon (cgroup_anon) of a cgroup",
            Unit::Bytes,
            memory.clone(),
        );
        let cgroup_limit = Family::<TargetLabels, FGauge>::default();
        registry.register_with_unit(
            "cgroup_limit",
            "Memory limit of the target's cgroup",
            Unit::Bytes,
            cgroup_limit.clone(),
        );
        let threads = Family::<TargetLabels, FGauge>::default();
        registry.register("threads", "Threads of the target", threads.clone());
        let fds = Family::<TargetLabels, FGauge>::default();
        registry.register(
            "open_fds",
            "Open file descriptors of the target",
            fds.clone(),
        );
        let state = Family::<StateLabels, FGauge>::default();
        registry.register(
            "leak_state",
            "Detector state, one-hot: 1 for the current state (collecting, stable, plateau, growing, leak)",
            state.clone(),
        );
        let state_code = Family::<ResourceLabels, FGauge>::default();
        registry.register(
            "leak_state_code",
            "Detector state as a number: 0 collecting, 1 stable, 2 plateau, 3 growing, 4 leak",
            state_code.clone(),
        );
        let growth = Family::<ResourceLabels, FGauge>::default();
        registry.register(
            "growth_per_hour",
            "Growth of the resource's lower envelope per hour, in the resource's unit",
            growth.clone(),
        );
        let time_to_limit = Family::<ResourceLabels, FGauge>::default();
        registry.register_with_unit(
            "time_to_limit",
            "Time until the resource reaches its limit at the current growth rate",
            Unit::Seconds,
            time_to_limit.clone(),
        );
        let restarts = Family::<TargetLabels, Counter>::default();
        registry.register(
            "restarts",
            "Restarts of the target seen by the agent",
            restarts.clone(),
        );
        let oom_kills = Family::<TargetLabels, Counter>::default();
        registry.register(
            "oom_kills",
            "OOM kills in the target's cgroup",
            oom_kills.clone(),
        );
        let agent = Arc::new(AgentGauges {
            rss: FGauge::default(),
            cpu: FCounter::default(),
            cpu_seen: AtomicU64::new(0f64.to_bits()),
            targets: Gauge::default(),
            alerts_dropped: Counter::default(),
        });
        let sub = registry.sub_registry_with_prefix("agent");
        sub.register_with_unit(
            "resident_memory",
            "The agent's own resident memory",
            Unit::Bytes,
            agent.rss.clone(),
        );
        sub.register_with_unit(
            "cpu",
            "The agent's own CPU time, user and system",
            Unit::Seconds,
            agent.cpu.clone(),
        );
        sub.register(
            "targets",
            "Targets currently watched",
            agent.targets.clone(),
        );
        sub.register(
            "alerts_dropped",
            "Alerts dropped because a delivery queue was full",
            agent.alerts_dropped.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            memory,
            cgroup_limit,
            threads,
            fds,
            state,
            state_code,
            growth,
            time_to_limit,
            restarts,
            oom_kills,
            agent,
        }
    }

    /// Creates the series of one target. Keep the returned handles for the
    /// target's life and call [`Metrics::remove_target`] when it ends, so
    /// the exposition stays bounded by the live targets.
    pub fn target(&self, name: &str) -> TargetMetrics {
        let t = TargetLabels {
            target: name.to_string(),
        };
        self.agent.targets.inc();
        TargetMetrics {
            name: name.to_string(),
            cgroup_limit: None,
            threads: None,
            fds: None,
            resources: Vec::new(),
            restarts: self.restarts.get_or_create_owned(&t),
            oom_kills: self.oom_kills.get_or_create_owned(&t),
            restarts_seen: 0,
            oom_kills_seen: 0,
        }
    }

    /// Removes every series of a target that ended.
    pub fn remove_target(&self, tm: &TargetMetrics) {
        let t = TargetLabels {
            target: tm.name.clone(),
        };
        self.cgroup_limit.remove(&t);
        self.threads.remove(&t);
        self.fds.remove(&t);
        self.restarts.remove(&t);
        self.oom_kills.remove(&t);
        for r in &tm.resources {
            let rl = ResourceLabels {
                target: tm.name.clone(),
                resource: resource_label(r.resource).to_string(),
            };
            self.memory.remove(&rl);
            self.state_code.remove(&rl);
            self.growth.remove(&rl);
            self.time_to_limit.remove(&rl);
            for s in STATES {
                self.state.remove(&StateLabels {
                    target: tm.name.clone(),
                    resource: rl.resource.clone(),
                    state: s.as_str().to_string(),
                });
            }
        }
        self.agent.targets.dec();
    }

    /// Counts alerts dropped by a full delivery queue (the total so far).
    pub fn set_alerts_dropped(&self, total: u64) {
        let seen = self.agent.alerts_dropped.get();
        if total > seen {
            self.agent.alerts_dropped.inc_by(total - seen);
        }
    }

    /// Refreshes the agent's own RSS and CPU from /proc/self.
    pub fn refresh_self(&self) {
        if let Some(rss) = crate::selfstat::resident_bytes() {
            self.agent.rss.set(rss as f64);
        }
        if let Some(cpu) = crate::selfstat::cpu_seconds() {
            let seen = f64::from_bits(self.agent.cpu_seen.swap(cpu.to_bits(), Ordering::Relaxed));
            if cpu > seen {
                self.agent.cpu.inc_by(cpu - seen);
            }
        }
    }

    /// The OpenMetrics text of everything, after refreshing the agent's own figures.
    pub fn encode(&self) -> String {
        self.refresh_self();
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Writes the exposition into `out` (cleared first), reusing its buffer.
    pub fn encode_into(&self, out: &mut String) {
        self.refresh_self();
        out.clear();
        if prometheus_client::encoding::text::encode(out, &self.registry).is_err() {
            let _ = writeln!(out, "# encoding failed");
        }
    }

    fn resource_handles(&self, name: &str, r: Resource) -> ResourceHandles {
        let rl = ResourceLabels {
            target: name.to_string(),
            resource: resource_label(r).to_string(),
        };
        let states = STATES.map(|s| {
            self.state.get_or_create_owned(&StateLabels {
                target: name.to_string(),
                resource: rl.resource.clone(),
                state: s.as_str().to_string(),
            })
        });
        ResourceHandles {
            resource: r,
            memory: r.is_bytes().then(|| self.memory.get_or_create_owned(&rl)),
            states,
            code: self.state_code.get_or_create_owned(&rl),
            growth: self.growth.get_or_create_owned(&rl),
            ttl: None,
        }
    }
}

struct ResourceHandles {
    resource: Resource,
    memory: Option<FGauge>,
    states: [FGauge; 5],
    code: FGauge,
    growth: FGauge,
    ttl: Option<FGauge>,
}

/// The series of one target; see [`Metrics::target`].
pub struct TargetMetrics {
    name: String,
    cgroup_limit: Option<FGauge>,
    threads: Option<FGauge>,
    fds: Option<FGauge>,
    resources: Vec<ResourceHandles>,
    restarts: Counter,
    oom_kills: Counter,
    restarts_seen: u64,
    oom_kills_seen: u64,
}

impl std::fmt::Debug for TargetMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetMetrics")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl TargetMetrics {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes one sample of the target and its detectors' judgement.
    /// `values` holds the resources measured this time (NaN = not measured).
    pub fn update(
        &mut self,
        metrics: &Metrics,
        values: &[(Resource, f64)],
        cgroup_limit: Option<f64>,
        detectors: &ResourceSet,
    ) {
        for &(r, v) in values {
            if !v.is_finite() {
                continue;
            }
            let labels = || TargetLabels {
                target: self.name.clone(),
            };
            let gauge = match r {
                Resource::Threads => Some(
                    &*self
                        .threads
                        .get_or_insert_with(|| metrics.threads.get_or_create_owned(&labels())),
                ),
                Resource::Fds => Some(
                    &*self
                        .fds
                        .get_or_insert_with(|| metrics.fds.get_or_create_owned(&labels())),
                ),
                _ => handles(&mut self.resources, metrics, &self.name, r)
                    .memory
                    .as_ref(),
            };
            if let Some(g) = gauge {
                g.set(v);
            }
        }
        if let Some(limit) = cgroup_limit.filter(|l| l.is_finite()) {
            self.cgroup_limit
                .get_or_insert_with(|| {
                    metrics.cgroup_limit.get_or_create_owned(&TargetLabels {
                        target: self.name.clone(),
                    })
                })
                .set(limit);
        }
        for r in detectors.resources() {
            let Some(d) = detectors.detector(r) else {
                continue;
            };
            if d.samples() == 0 {
                continue;
            }
            // Borrow the latest judgement: no copy per resource per tick.
            let owned;
            let a = match d.latest() {
                Some(a) => a,
                None => {
                    owned = d.assessment();
                    &owned
                }
            };
            let name = &self.name;
            let h = handles(&mut self.resources, metrics, name, r);
            for (g, s) in h.states.iter().zip(STATES) {
                g.set(if s == a.state { 1.0 } else { 0.0 });
            }
            h.code.set(state_code(a.state));
            h.growth.set(a.rate_per_hour);
            let rl = || ResourceLabels {
                target: name.clone(),
                resource: resource_label(r).to_string(),
            };
            match a.time_to_limit_s {
                Some(ttl) if ttl.is_finite() => {
                    h.ttl
                        .get_or_insert_with(|| metrics.time_to_limit.get_or_create_owned(&rl()))
                        .set(ttl);
                }
                _ => {
                    if h.ttl.take().is_some() {
                        metrics.time_to_limit.remove(&rl());
                    }
                }
            }
        }
    }

    /// Sets the restart and OOM-kill totals (counters only ever go up).
    pub fn set_counts(&mut self, restarts: u64, oom_kills: u64) {
        if restarts > self.restarts_seen {
            self.restarts.inc_by(restarts - self.restarts_seen);
            self.restarts_seen = restarts;
        }
        if oom_kills > self.oom_kills_seen {
            self.oom_kills.inc_by(oom_kills - self.oom_kills_seen);
            self.oom_kills_seen = oom_kills;
        }
    }
}

fn handles<'a>(
    resources: &'a mut Vec<ResourceHandles>,
    metrics: &Metrics,
    name: &str,
    r: Resource,
) -> &'a mut ResourceHandles {
    let i = match resources.iter().position(|h| h.resource == r) {
        Some(i) => i,
        None => {
            resources.push(metrics.resource_handles(name, r));
            resources.len() - 1
        }
    };
    &mut resources[i]
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::DetectorConfig;

    #[test]
    fn exposition_has_every_family_and_one_hot_state() {
        let m = Metrics::new();
        let mut set = ResourceSet::new(
            &[Resource::RssBytes, Resource::Threads],
            &DetectorConfig::default(),
        );
        let mut t = m.target("web");
        for i in 0..600 {
            let ts = i as f64;
            set.push(Resource::RssBytes, ts, 1e8 + 1e5 * ts);
            set.push(Resource::Threads, ts, 4.0);
        }
        set.set_limit(Resource::RssBytes, Some(1e9));
        set.push(Resource::RssBytes, 600.0, 1e8 + 6e7);
        t.update(
            &m,
            &[(Resource::RssBytes, 1.6e8), (Resource::Threads, 4.0)],
            Some(1e9),
            &set,
        );
        t.set_counts(2, 1);
        let text = m.encode();
        for needle in [
            "leakwatch_memory_bytes{target=\"web\",resource=\"rss\"} 160000000.0",
            "leakwatch_threads{target=\"web\"} 4.0",
            "leakwatch_cgroup_limit_bytes{target=\"web\"} 1000000000.0",
            "leakwatch_leak_state{target=\"web\",resource=\"rss\",state=\"leak\"} 1.0",
            "leakwatch_leak_state{target=\"web\",resource=\"rss\",state=\"stable\"} 0.0",
            "leakwatch_leak_state_code{target=\"web\",resource=\"rss\"} 4.0",
            "leakwatch_restarts_total{target=\"web\"} 2",
            "leakwatch_oom_kills_total{target=\"web\"} 1",
            "leakwatch_time_to_limit_seconds{target=\"web\",resource=\"rss\"}",
            "leakwatch_agent_resident_memory_bytes ",
            "leakwatch_agent_cpu_seconds_total ",
            "leakwatch_agent_targets 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let growth = text
            .lines()
            .find(|l| l.starts_with("leakwatch_growth_per_hour{target=\"web\",resource=\"rss\"}"))
            .unwrap();
        let v: f64 = growth.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((v - 3.6e8).abs() < 0.1 * 3.6e8, "{growth}");
        // Counters only go up, and setting the same total again adds nothing.
        t.set_counts(2, 1);
        assert!(m
            .encode()
            .contains("leakwatch_restarts_total{target=\"web\"} 2"));
        m.remove_target(&t);
        let text = m.encode();
        assert!(!text.contains("target=\"web\""), "{text}");
        assert!(text.contains("leakwatch_agent_targets 0"));
    }

    #[test]
    fn state_codes_are_ordered_by_severity() {
        let codes: Vec<f64> = STATES.iter().map(|s| state_code(*s)).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }
}
