//! Prometheus exposition of what the agent watches, in the classic text
//! format 0.0.4 or in OpenMetrics 1.0 (see [`Format`]), from one registry of
//! the maintained `prometheus-client` crate.
//!
//! Metric families (`target` is the stable target name, `resource` one of
//! `rss`, `pss`, `anon`, `swap`, `threads`, `fds`, `cgroup`, `cgroup_anon`);
//! every family has HELP text and its unit in its name:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `leakwatch_memory_bytes{target,resource}` | gauge | rss/pss/anon/swap of a process, usage (cgroup) and anon (cgroup_anon) of a cgroup |
//! | `leakwatch_cgroup_limit_bytes{target}` | gauge | the cgroup's memory limit, when it has one |
//! | `leakwatch_threads{target}` | gauge | threads |
//! | `leakwatch_open_fds{target}` | gauge | open file descriptors |
//! | `leakwatch_leak_state{target,resource,state}` | gauge | one-hot: 1 for the current state, 0 for the others |
//! | `leakwatch_memory_growth_bytes_per_second{target,resource}` | gauge | growth of a memory resource's lower envelope |
//! | `leakwatch_count_growth_per_second{target,resource}` | gauge | growth of threads or fds (`resource` = `threads`, `fds`) |
//! | `leakwatch_time_to_limit_seconds{target,resource}` | gauge | seconds until the limit at the current rate (absent when not growing or no limit) |
//! | `leakwatch_restarts_total{target}` | counter | restarts of the target seen by the agent |
//! | `leakwatch_oom_kills_total{target}` | counter | OOM kills in the target's cgroup |
//! | `leakwatch_agent_targets` | gauge | targets currently watched |
//! | `leakwatch_agent_alerts_dropped_total` | counter | alerts dropped because a delivery queue was full |
//! | `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_start_time_seconds`, `process_open_fds`, `process_max_fds` | | the agent's own process, as every Prometheus client library exports them |
//!
//! Label values are escaped (`\\`, `\"`, `\n`), so a target name cannot
//! inject a line. Handles to every per-target series are created once per
//! target and kept in [`TargetMetrics`], so an update is a handful of atomic
//! stores and allocates nothing.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use leakwatch_core::{LeakState, Resource, ResourceSet};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

type FGauge = Gauge<f64, AtomicU64>;
type FCounter = Counter<f64, AtomicU64>;

/// Every detector state, in order of severity.
pub const STATES: [LeakState; 5] = [
    LeakState::Collecting,
    LeakState::Stable,
    LeakState::Plateau,
    LeakState::Growing,
    LeakState::Leak,
];

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

/// The two exposition formats a scraper can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The classic Prometheus text format, version 0.0.4 (`text/plain`):
    /// what `promtool check metrics` and every scraper read.
    Text,
    /// OpenMetrics 1.0.0 (`application/openmetrics-text`), when asked for.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Content negotiation on an `Accept` header: OpenMetrics when the
    /// client prefers it (Prometheus asks for it first), the text format
    /// otherwise, also when there is no header or it is unreadable.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut om = 0.0f64;
        let mut text = 0.0f64;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut q = 1.0f64;
            let mut version = None;
            for p in parts {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            if !(q.is_finite() && q > 0.0) {
                continue;
            }
            match media.as_str() {
                // Version 1.0.0 is what we write; 0.0.1 differs only in what
                // we never use.
                "application/openmetrics-text"
                    if version
                        .as_deref()
                        .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
                {
                    om = om.max(q)
                }
                "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => {
                    text = text.max(q)
                }
                "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if om > 0.0 && om >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// A label value written escaped, as both formats require: a backslash, a
/// double quote and a line feed in a target name (they can come from a
/// config file, a cgroup path or a container name) would otherwise end the
/// value or the line and let the name inject a metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct LabelText(pub String);

impl EncodeLabelValue for LabelText {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        write_escaped(encoder, &self.0)
    }
}

/// Writes `s` with `\`, `"` and line feeds escaped.
pub fn write_escaped(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let mut rest = s;
    while let Some(i) = rest.find(['\\', '"', '\n']) {
        out.write_str(&rest[..i])?;
        out.write_str(match rest.as_bytes()[i] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: LabelText,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    target: LabelText,
    resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    target: LabelText,
    resource: &'static str,
    state: &'static str,
}

fn target_labels(name: &str) -> TargetLabels {
    TargetLabels {
        target: LabelText(name.to_string()),
    }
}

fn resource_labels(name: &str, r: Resource) -> ResourceLabels {
    ResourceLabels {
        target: LabelText(name.to_string()),
        resource: resource_label(r),
    }
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
    memory_growth: Family<ResourceLabels, FGauge>,
    count_growth: Family<ResourceLabels, FGauge>,
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
    targets: Gauge,
    alerts_dropped: Counter,
    /// The standard `process_*` figures of this process.
    cpu: FCounter,
    /// CPU seconds already added to `cpu`, as f64 bits.
    cpu_seen: AtomicU64,
    rss: FGauge,
    vsize: FGauge,
    start_time: FGauge,
    open_fds: FGauge,
    max_fds: FGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut root = Registry::default();
        let agent = Arc::new(AgentGauges {
            targets: Gauge::default(),
            alerts_dropped: Counter::default(),
            cpu: FCounter::default(),
            cpu_seen: AtomicU64::new(0f64.to_bits()),
            rss: FGauge::default(),
            vsize: FGauge::default(),
            start_time: FGauge::default(),
            open_fds: FGauge::default(),
            max_fds: FGauge::default(),
        });
        if let Some(t) = crate::selfstat::start_time_seconds() {
            agent.start_time.set(t);
        }
        // The standard process metrics (the names every client library uses).
        {
            let process = root.sub_registry_with_prefix("process");
            process.register_with_unit(
                "cpu",
                "Total user and system CPU time spent in seconds",
                Unit::Seconds,
                agent.cpu.clone(),
            );
            process.register_with_unit(
                "resident_memory",
                "Resident memory size in bytes",
                Unit::Bytes,
                agent.rss.clone(),
            );
            process.register_with_unit(
                "virtual_memory",
                "Virtual memory size in bytes",
                Unit::Bytes,
                agent.vsize.clone(),
            );
            process.register_with_unit(
                "start_time",
                "Start time of the process since unix epoch in seconds",
                Unit::Seconds,
                agent.start_time.clone(),
            );
            process.register(
                "open_fds",
                "Number of open file descriptors",
                agent.open_fds.clone(),
            );
            process.register(
                "max_fds",
                "Maximum number of open file descriptors",
                agent.max_fds.clone(),
            );
        }
        let registry = root.sub_registry_with_prefix("leakwatch");
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
            "Detector state, one-hot: 1 for the current state (collecting, stable, plateau, growing, leak), 0 for the others",
            state.clone(),
        );
        let memory_growth = Family::<ResourceLabels, FGauge>::default();
        registry.register_with_unit(
            "memory_growth",
            "Growth of a memory resource's lower envelope, in bytes per second",
            Unit::Other("bytes_per_second".into()),
            memory_growth.clone(),
        );
        let count_growth = Family::<ResourceLabels, FGauge>::default();
        registry.register(
            "count_growth_per_second",
            "Growth of the target's threads or open fds (resource label) per second",
            count_growth.clone(),
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
        let sub = registry.sub_registry_with_prefix("agent");
        sub.register(
            "targets",
            "Targets currently watched by the agent",
            agent.targets.clone(),
        );
        sub.register(
            "alerts_dropped",
            "Alerts dropped because a delivery queue was full",
            agent.alerts_dropped.clone(),
        );
        Metrics {
            registry: Arc::new(root),
            memory,
            cgroup_limit,
            threads,
            fds,
            state,
            memory_growth,
            count_growth,
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
        let t = target_labels(name);
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
        let t = target_labels(&tm.name);
        self.cgroup_limit.remove(&t);
        self.threads.remove(&t);
        self.fds.remove(&t);
        self.restarts.remove(&t);
        self.oom_kills.remove(&t);
        for r in &tm.resources {
            let rl = resource_labels(&tm.name, r.resource);
            self.memory.remove(&rl);
            self.memory_growth.remove(&rl);
            self.count_growth.remove(&rl);
            self.time_to_limit.remove(&rl);
            for s in STATES {
                self.state.remove(&StateLabels {
                    target: rl.target.clone(),
                    resource: rl.resource,
                    state: s.as_str(),
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

    /// Refreshes the agent's own process figures from /proc/self.
    pub fn refresh_self(&self) {
        let own = crate::selfstat::read();
        if let Some(rss) = own.resident_bytes {
            self.agent.rss.set(rss as f64);
        }
        if let Some(v) = own.virtual_bytes {
            self.agent.vsize.set(v as f64);
        }
        if let Some(n) = own.open_fds {
            self.agent.open_fds.set(n as f64);
        }
        if let Some(n) = own.max_fds {
            self.agent.max_fds.set(n as f64);
        }
        if let Some(cpu) = own.cpu_seconds {
            let seen = f64::from_bits(self.agent.cpu_seen.swap(cpu.to_bits(), Ordering::Relaxed));
            if cpu > seen {
                self.agent.cpu.inc_by(cpu - seen);
            }
        }
    }

    /// The exposition of everything in `format`, after refreshing the agent's own figures.
    pub fn encode_as(&self, format: Format) -> String {
        let mut out = String::with_capacity(4096);
        let mut scratch = String::new();
        self.encode_into(&mut out, &mut scratch, format);
        out
    }

    /// The OpenMetrics text of everything.
    pub fn encode(&self) -> String {
        self.encode_as(Format::OpenMetrics)
    }

    /// Writes the exposition into `out` (cleared first), reusing its buffer
    /// and `scratch` (used for the text format's conversion).
    pub fn encode_into(&self, out: &mut String, scratch: &mut String, format: Format) {
        self.refresh_self();
        out.clear();
        match format {
            Format::OpenMetrics => {
                if prometheus_client::encoding::text::encode(out, &self.registry).is_err() {
                    out.clear();
                }
            }
            Format::Text => {
                scratch.clear();
                if prometheus_client::encoding::text::encode(scratch, &self.registry).is_ok() {
                    openmetrics_to_text(scratch, out);
                }
            }
        }
    }

    fn resource_handles(&self, name: &str, r: Resource) -> ResourceHandles {
        let rl = resource_labels(name, r);
        let states = STATES.map(|s| {
            self.state.get_or_create_owned(&StateLabels {
                target: rl.target.clone(),
                resource: rl.resource,
                state: s.as_str(),
            })
        });
        let growth = if r.is_bytes() {
            self.memory_growth.get_or_create_owned(&rl)
        } else {
            self.count_growth.get_or_create_owned(&rl)
        };
        ResourceHandles {
            resource: r,
            memory: r.is_bytes().then(|| self.memory.get_or_create_owned(&rl)),
            states,
            growth,
            ttl: None,
        }
    }
}

/// Converts OpenMetrics text as `prometheus-client` writes it (gauges and
/// counters only) into the text format 0.0.4: counters are named with their
/// `_total` in HELP and TYPE, `# UNIT` and `# EOF` go. Label values are
/// escaped the same way in both formats, so no sample line changes.
pub fn openmetrics_to_text(om: &str, out: &mut String) {
    let mut help: Option<&str> = None;
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some(h) = help.take() {
                // A HELP without a TYPE: keep it as it is.
                let _ = writeln!(out, "# HELP {h}");
            }
            help = Some(rest);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.rsplit_once(' ').unwrap_or((rest, "untyped"));
            let suffix = if kind == "counter" && !name.ends_with("_total") {
                "_total"
            } else {
                ""
            };
            if let Some(h) = help.take() {
                let text = h.split_once(' ').map_or("", |(_, t)| t);
                let _ = writeln!(out, "# HELP {name}{suffix} {text}");
            }
            let _ = writeln!(out, "# TYPE {name}{suffix} {kind}");
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
}

struct ResourceHandles {
    resource: Resource,
    memory: Option<FGauge>,
    states: [FGauge; 5],
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
            let gauge = match r {
                Resource::Threads => Some(&*self.threads.get_or_insert_with(|| {
                    metrics
                        .threads
                        .get_or_create_owned(&target_labels(&self.name))
                })),
                Resource::Fds => Some(&*self.fds.get_or_insert_with(|| {
                    metrics.fds.get_or_create_owned(&target_labels(&self.name))
                })),
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
                    metrics
                        .cgroup_limit
                        .get_or_create_owned(&target_labels(&self.name))
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
            // Base units: per second, not per hour.
            h.growth.set(a.rate_per_hour / 3600.0);
            match a.time_to_limit_s {
                Some(ttl) if ttl.is_finite() => {
                    h.ttl
                        .get_or_insert_with(|| {
                            metrics
                                .time_to_limit
                                .get_or_create_owned(&resource_labels(name, r))
                        })
                        .set(ttl);
                }
                _ => {
                    if h.ttl.take().is_some() {
                        metrics.time_to_limit.remove(&resource_labels(name, r));
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
            "leakwatch_restarts_total{target=\"web\"} 2",
            "leakwatch_oom_kills_total{target=\"web\"} 1",
            "leakwatch_time_to_limit_seconds{target=\"web\",resource=\"rss\"}",
            "leakwatch_count_growth_per_second{target=\"web\",resource=\"threads\"} 0.0",
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_start_time_seconds ",
            "process_open_fds ",
            "process_max_fds ",
            "process_virtual_memory_bytes ",
            "leakwatch_agent_targets 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // One state family only: no numeric duplicate of the one-hot state.
        assert!(!text.contains("leak_state_code"), "{text}");
        let growth = text
            .lines()
            .find(|l| {
                l.starts_with(
                    "leakwatch_memory_growth_bytes_per_second{target=\"web\",resource=\"rss\"}",
                )
            })
            .unwrap();
        let v: f64 = growth.rsplit(' ').next().unwrap().parse().unwrap();
        // 1e5 bytes per sample at one sample per second.
        assert!((v - 1e5).abs() < 0.1 * 1e5, "{growth}");
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
    fn a_target_name_cannot_inject_a_metric_line() {
        let m = Metrics::new();
        let evil = "x\"} 1\nleakwatch_injected 1\n# \\";
        let mut t = m.target(evil);
        t.set_counts(1, 0);
        for format in [Format::Text, Format::OpenMetrics] {
            let text = m.encode_as(format);
            assert!(
                !text.lines().any(|l| l.starts_with("leakwatch_injected")),
                "{text}"
            );
            assert!(
                text.contains(
                    r#"leakwatch_restarts_total{target="x\"} 1\nleakwatch_injected 1\n# \\"} 1"#
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn text_format_names_counters_with_total_and_has_no_openmetrics_lines() {
        let m = Metrics::new();
        let mut t = m.target("svc");
        t.set_counts(3, 0);
        let text = m.encode_as(Format::Text);
        assert!(text.contains("# HELP leakwatch_restarts_total "), "{text}");
        assert!(text.contains("# TYPE leakwatch_restarts_total counter"));
        assert!(text.contains("# TYPE process_cpu_seconds_total counter"));
        assert!(text.contains("# HELP process_cpu_seconds_total "));
        assert!(text.contains("# TYPE process_resident_memory_bytes gauge"));
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{text}"
        );
        // Every sample's family has HELP and TYPE lines.
        let mut typed = std::collections::HashSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                assert!(typed.contains(name), "{name} has no TYPE in\n{text}");
            }
        }
    }

    #[test]
    fn negotiation_prefers_what_the_client_prefers() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        // What Prometheus 2.x sends.
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        assert_eq!(Format::negotiate(Some(";;,,=;q=x")), Format::Text);
    }

    proptest::proptest! {
        #[test]
        fn escaped_values_never_hold_a_raw_quote_or_newline(s in ".*") {
            let mut out = String::new();
            write_escaped(&mut out, &s).unwrap();
            proptest::prop_assert!(!out.contains('\n'));
            // Every quote is preceded by an odd run of backslashes.
            let b = out.as_bytes();
            for (i, c) in b.iter().enumerate() {
                if *c == b'"' {
                    let run = b[..i].iter().rev().take_while(|x| **x == b'\\').count();
                    proptest::prop_assert!(run % 2 == 1, "{}", out);
                }
            }
        }

        #[test]
        fn negotiation_never_panics(s in ".*") {
            let _ = Format::negotiate(Some(&s));
        }
    }
}
