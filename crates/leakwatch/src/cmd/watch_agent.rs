//! `leakwatch watch` as a production agent: several targets (from --config,
//! the command line, or every container with --containers), Prometheus
//! metrics (--serve), alerts (--webhook, --alertmanager), and a history
//! store (--store) that survives restarts of the agent. See leakwatch_agent.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use leakwatch_agent::agent::{Agent, AgentEvent, AgentOptions, Observation};
use leakwatch_agent::alert::{
    AlertStatus, Alerting, AlertmanagerSink, DeliveryConfig, Dispatcher, JsonLinesSink, WebhookSink,
};
use leakwatch_agent::config::{AgentConfig, Selector, TargetConfig};
use leakwatch_agent::containers::{self, Discovery};
use leakwatch_agent::health::{self, HealthBoard};
use leakwatch_agent::metrics::Metrics;
use leakwatch_agent::serve::{parse_serve_addr, MetricsServer, ServeOptions};
use leakwatch_agent::store::Store;
use leakwatch_core::{format, DetectorConfig, LeakState, Resource};
use leakwatch_probe::{SampleDepth, Target, TargetSpec};

use crate::cmd::analyze::parse_duration_arg;
use crate::cmd::watch::WatchArgs;
use crate::exit;
use crate::monitor::stop_flag;

/// The agent's flags, flattened into `watch`. Any of them turns `watch`
/// into the agent.
#[derive(Debug, Args, Default)]
pub struct AgentFlags {
    /// Serve Prometheus metrics at http://ADDR/metrics (ADDR: 127.0.0.1:9464,
    /// :9464 or 9464 for loopback; other addresses need --serve-public).
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
    /// Allow --serve on a non-loopback address.
    #[arg(long)]
    pub serve_public: bool,
    /// POST every alert (one per leak, and its resolve) as JSON to URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Send --webhook alerts in Alertmanager's format (POST URL/api/v2/alerts).
    #[arg(long)]
    pub alertmanager: bool,
    /// Keep history and detector state in this SQLite file, so a restarted
    /// agent resumes where it was.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Agent options and targets from a TOML file (see docs/agent.md); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Watch every container and systemd service cgroup on the host.
    #[arg(long)]
    pub containers: bool,
    /// The cgroup mount to discover containers under.
    #[arg(long, value_name = "DIR")]
    pub cgroup_root: Option<PathBuf>,
    /// After a leak alert resolves, hold back a new one on the same target
    /// and resource this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub cooldown: Option<f64>,
    /// Stable name of the --pid/--name/--cgroup target (metrics label, store
    /// key, alerts); default: the selector.
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// When a leak alert fires, run `leakwatch where` on the target (its
    /// biggest process) on a thread of its own, and send the alert again
    /// with the growing classes or sites attached (webhook `where`,
    /// Alertmanager annotations, stdout, store). One session at a time, a
    /// target at most every 10 minutes.
    #[arg(long = "where")]
    pub where_: bool,
    /// How long each `where` session polls.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration_arg)]
    pub where_duration: f64,
    /// Time between `where` polls.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub where_interval: f64,
    /// Share of the time a `where` session may pause the target, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "1%", value_parser = crate::cmd::where_::parse_percent)]
    pub where_pause_budget: f64,
}

impl AgentFlags {
    pub fn active(&self) -> bool {
        self.serve.is_some()
            || self.serve_public
            || self.webhook.is_some()
            || self.alertmanager
            || self.cgroup_root.is_some()
            || self.cooldown.is_some()
            || self.target_name.is_some()
            || self.store.is_some()
            || self.config.is_some()
            || self.containers
            || self.where_
    }
}

/// Whether a flag was written on the command line (clap fills defaults in,
/// and a config value must win over a default but not over the flag).
fn flag_given(name: &str) -> bool {
    std::env::args().any(|a| a == name || a.starts_with(&format!("{name}=")))
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One watched target.
struct Watched {
    key: String,
    kind: &'static str,
    target: Target,
    /// For cgroup targets: the directory (pids and OOM kills are read there).
    cgroup_dir: Option<PathBuf>,
    /// The container id, part of the instance identity.
    container_id: Option<String>,
    /// The pid that founded the current incarnation; when it is gone and
    /// other pids run, the target restarted.
    founder: Option<i32>,
    instance: String,
    /// Each resource's limit and what it is (as `watch` names them).
    limits: Vec<(Resource, Option<f64>, leakwatch_core::LimitKind)>,
    values: Vec<f64>,
    pairs: Vec<(Resource, f64)>,
    events: Vec<leakwatch_probe::TargetEvent>,
    alive: bool,
    /// Whether what cannot be read of it (another user's fds, PSS) was said.
    warned_unreadable: bool,
    /// Exits when gone (a --pid target) instead of waiting for a restart.
    by_pid: bool,
    /// For a --cgroup target: how to open it again once it was removed (a
    /// service restart makes a new cgroup at the same path).
    reopen: Option<(TargetSpec, SampleDepth, String)>,
}

/// Every resource's limit and its kind, as `watch` and `run` name them.
fn resource_limits(target: &Target) -> Vec<(Resource, Option<f64>, leakwatch_core::LimitKind)> {
    target
        .resources()
        .iter()
        .map(|&r| {
            let limit = target.limit(r);
            (
                r,
                limit,
                crate::monitor::limit_kind(r, limit.unwrap_or(0.0)),
            )
        })
        .collect()
}

impl Watched {
    fn open(
        key: String,
        spec: TargetSpec,
        depth: SampleDepth,
        cgroup_dir: Option<PathBuf>,
        container_id: Option<String>,
    ) -> anyhow::Result<Watched> {
        let by_pid = matches!(spec, TargetSpec::Pid { .. });
        let reopen = match (&spec, &container_id) {
            (TargetSpec::Cgroup { path }, None) => Some((spec.clone(), depth, path.clone())),
            _ => None,
        };
        let kind = match (&spec, &container_id) {
            (_, Some(_)) => "container",
            (TargetSpec::Cgroup { .. }, None) => "cgroup",
            _ => "process",
        };
        let target = Target::open(spec, depth).with_context(|| format!("cannot watch {key}"))?;
        let limits = resource_limits(&target);
        Ok(Watched {
            key,
            kind,
            target,
            cgroup_dir,
            container_id,
            founder: None,
            instance: String::new(),
            limits,
            values: Vec::new(),
            pairs: Vec::new(),
            events: Vec::new(),
            alive: false,
            warned_unreadable: false,
            by_pid,
            reopen,
        })
    }

    /// A removed --cgroup target: opens it again if a cgroup exists at its
    /// path now (the founder is forgotten, so its first process is a restart).
    fn try_reopen(&mut self, cgroup_root: &Path) -> bool {
        let Some((spec, depth, path)) = &self.reopen else {
            return false;
        };
        let Ok(target) = Target::open(spec.clone(), *depth) else {
            return false;
        };
        self.cgroup_dir = cgroup_dir(path, cgroup_root);
        self.target = target;
        self.founder = None;
        true
    }

    fn pids(&self) -> Vec<i32> {
        match &self.cgroup_dir {
            Some(d) => containers::cgroup_pids(d),
            None => self.target.pids(),
        }
    }

    /// Updates the incarnation identity: a new one when the founding pid is
    /// gone and other pids run.
    fn update_instance(&mut self) {
        let pids = self.pids();
        let founder_alive = self.founder.is_some_and(|f| pids.contains(&f));
        if !founder_alive {
            if let Some(min) = pids.iter().copied().min() {
                self.founder = Some(min);
            }
        }
        self.instance = match (self.founder, &self.container_id) {
            // Nothing has run yet: no incarnation to compare with.
            (None, _) => String::new(),
            (Some(pid), Some(id)) => format!("{id}/{pid}"),
            (Some(pid), None) => pid.to_string(),
        };
    }

    fn oom_kill_counter(&self) -> Option<u64> {
        containers::oom_kill_counter(self.cgroup_dir.as_ref()?)
    }
}

/// Resolves a cgroup path the way the probe does, for reading pids and OOM kills.
fn cgroup_dir(path: &str, cgroup_root: &Path) -> Option<PathBuf> {
    let p = Path::new(path);
    if p.is_absolute() && p.join("cgroup.procs").is_file() {
        return Some(p.to_path_buf());
    }
    let (root, _) = containers::memory_root(cgroup_root).ok()?;
    let d = root.join(path.trim_start_matches('/'));
    d.is_dir().then_some(d)
}

fn spec_of(t: &TargetConfig) -> anyhow::Result<TargetSpec> {
    Ok(match t.selector().map_err(anyhow::Error::msg)? {
        Selector::Pid(pid) => TargetSpec::Pid { pid, tree: t.tree },
        Selector::Process(pattern) => TargetSpec::Name {
            pattern,
            tree: t.tree,
        },
        Selector::Cgroup(path) => TargetSpec::Cgroup { path },
    })
}

/// Runs `watch` as the agent.
pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    let stop = stop_flag()?;
    let flags = &args.agent;
    let mut cfg = match &flags.config {
        Some(p) => AgentConfig::load(p)?,
        None => AgentConfig::default(),
    };
    // Flags override the file.
    if flag_given("--interval") || cfg.interval.is_none() {
        cfg.interval = Some(leakwatch_agent::config::Seconds(args.interval));
    }
    let interval_s = cfg.interval.map_or(args.interval, |s| s.0).max(0.01);
    let season = args.season.or(cfg.season.map(|s| s.0));
    let warmup = if flag_given("--restart-warmup") {
        args.restart_warmup
    } else {
        cfg.restart_warmup.map_or(args.restart_warmup, |s| s.0)
    };
    let containers = flags.containers || cfg.containers;
    let cgroup_root = flags
        .cgroup_root
        .clone()
        .or(cfg.cgroup_root.clone())
        .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
    let depth = if args.fast {
        SampleDepth::Fast
    } else {
        SampleDepth::Full
    };

    // Targets: the command line's, the config's, then containers.
    let mut cli_targets = Vec::new();
    if args.pid.is_some() || args.name.is_some() || args.cgroup.is_some() {
        cli_targets.push(TargetConfig {
            name: flags.target_name.clone(),
            pid: args.pid,
            process: args.name.clone(),
            cgroup: args.cgroup.clone(),
            tree: args.tree,
        });
    }
    // The command line's target comes first (#1), then the config's.
    let all_targets: Vec<TargetConfig> = cli_targets.iter().chain(&cfg.targets).cloned().collect();
    leakwatch_agent::config::check_targets(&all_targets).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut watched: Vec<Watched> = Vec::new();
    for t in cli_targets.iter().chain(cfg.targets.iter()) {
        let spec = spec_of(t)?;
        let dir = t
            .cgroup
            .as_deref()
            .and_then(|c| cgroup_dir(c, &cgroup_root));
        watched.push(Watched::open(t.key(), spec, depth, dir, None)?);
    }
    let discovery = if containers {
        Some(
            Discovery::host(&cgroup_root)
                .context("--containers needs a memory cgroup hierarchy")?,
        )
    } else {
        None
    };
    if watched.is_empty() && discovery.is_none() {
        anyhow::bail!(
            "nothing to watch: give --pid, --name or --cgroup, [[target]] entries in --config, or --containers"
        );
    }

    // Metrics, alerts, store.
    let metrics = flags
        .serve
        .as_ref()
        .or(cfg.serve.address.as_ref())
        .map(|_| Metrics::new());
    // /healthz fails when the sampling loop stops ticking for a few intervals.
    let health_board = metrics
        .as_ref()
        .map(|_| HealthBoard::new((interval_s * 5.0).max(30.0)));
    let _server = match (
        flags.serve.as_ref().or(cfg.serve.address.as_ref()),
        &metrics,
    ) {
        (Some(addr), Some(m)) => {
            let addr = parse_serve_addr(addr, flags.serve_public || cfg.serve.public)?;
            let opts = ServeOptions {
                health: health_board.clone(),
                ..ServeOptions::default()
            };
            let server = MetricsServer::start_with(addr, m.clone(), opts)?;
            eprintln!(
                "leakwatch: metrics at http://{0}/metrics, liveness at http://{0}/healthz and http://{0}/healthz/TARGET",
                server.addr()
            );
            Some(server)
        }
        _ => None,
    };
    let delivery = DeliveryConfig {
        queue_capacity: cfg.alerts.queue.unwrap_or(256).max(1),
        max_attempts: cfg.alerts.max_attempts.unwrap_or(12).max(1),
        ..DeliveryConfig::default()
    };
    let mut dispatchers = Vec::new();
    if (flags.alertmanager || cfg.alerts.alertmanager)
        && flags.webhook.is_none()
        && cfg.alerts.webhook.is_none()
    {
        anyhow::bail!("--alertmanager needs --webhook URL (the Alertmanager's base URL)");
    }
    if let Some(url) = flags.webhook.as_ref().or(cfg.alerts.webhook.as_ref()) {
        leakwatch_agent::alert::validate_url(url).context(
            "--webhook (or [alerts] webhook in the config) must be an http:// or https:// URL",
        )?;
        if flags.alertmanager || cfg.alerts.alertmanager {
            dispatchers.push(
                Dispatcher::spawn(
                    Box::new(AlertmanagerSink::new(url, Duration::from_secs(10))),
                    delivery.clone(),
                )
                .repeating(),
            );
        } else {
            dispatchers.push(Dispatcher::spawn(
                Box::new(WebhookSink::new(url, Duration::from_secs(10))),
                delivery.clone(),
            ));
        }
    }
    if cfg.alerts.stdout {
        dispatchers.push(Dispatcher::spawn(
            Box::new(JsonLinesSink::stdout()),
            delivery,
        ));
    }
    let cooldown = flags
        .cooldown
        .or(cfg.alerts.cooldown.map(|s| s.0))
        .unwrap_or(1800.0);
    let alerting = Some(Alerting::new(cooldown, dispatchers));
    let store = match flags.store.as_ref().or(cfg.store.path.as_ref()) {
        Some(p) => Some(Store::open(p, cfg.store.store_config())?),
        None => None,
    };
    let mut detector = DetectorConfig::for_interval(interval_s);
    if let Some(s) = season {
        detector.season_s = s;
    }
    let mut agent = Agent::new(
        AgentOptions {
            detector,
            restart_warmup_s: warmup,
            ..AgentOptions::default()
        },
        metrics,
        alerting,
        store,
    );
    if let Some(board) = health_board {
        agent = agent.with_health(board, health::detector_config(season));
    }

    if !args.json {
        eprintln!(
            "leakwatch: agent watching {} target(s){} every {} (Ctrl-C to stop)",
            watched.len(),
            if containers {
                " and every container"
            } else {
                ""
            },
            format::duration(interval_s)
        );
    }
    let mut where_runner = flags.where_.then(|| {
        crate::cmd::watch_where::WhereRunner::new(crate::cmd::watch_where::WhereSettings {
            duration: Duration::from_secs_f64(flags.where_duration),
            interval: Duration::from_secs_f64(flags.where_interval),
            pause_budget: flags.where_pause_budget,
        })
    });
    let mut firing: Vec<String> = Vec::new();
    let start = Instant::now();
    let interval = Duration::from_secs_f64(interval_s);
    let mut next = start;
    let mut next_discovery = start;
    let mut next_limits = start + Duration::from_secs(60);
    let mut events = Vec::new();
    let mut any_leak = false;
    let result: anyhow::Result<()> = (|| loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let elapsed = start.elapsed().as_secs_f64();
        if args.duration.is_some_and(|d| elapsed >= d) {
            return Ok(());
        }
        if let Some(d) = &discovery {
            if Instant::now() >= next_discovery {
                let first = next_discovery == start;
                sync_containers(d, &mut watched, &mut agent, depth, &mut events)?;
                next_discovery = Instant::now() + Duration::from_secs(10);
                if first && !args.json && !watched.iter().any(|w| w.kind == "container") {
                    // Otherwise a host without containers looks like a
                    // host whose containers the agent cannot see.
                    eprintln!("{}", no_containers_note(d));
                }
            }
        }
        let refresh_limits = Instant::now() >= next_limits;
        if refresh_limits {
            next_limits = Instant::now() + Duration::from_secs(60);
        }
        let t = now_s();
        for w in watched.iter_mut() {
            w.events.clear();
            let ok = w
                .target
                .read(&mut w.values, &mut w.events)
                .with_context(|| format!("sampling {}", w.key))?;
            if !ok {
                if w.alive {
                    w.alive = false;
                    agent.end_target(&w.key, t, &mut events)?;
                    if w.reopen.is_some() && !args.json {
                        eprintln!(
                            "leakwatch: {}: cgroup removed; it is followed again if it is created again",
                            w.key
                        );
                    }
                }
                // Read it on the next tick, if it is back.
                w.try_reopen(&cgroup_root);
                continue;
            }
            w.alive = true;
            if !w.warned_unreadable {
                // As `watch` says: a resource it cannot read is not sampled,
                // so a leak there could never alert.
                w.warned_unreadable = true;
                for m in w.target.unavailable() {
                    eprintln!("leakwatch: warning: {}: {m}", w.key);
                }
            }
            w.update_instance();
            if refresh_limits {
                w.limits = resource_limits(&w.target);
            }
            w.pairs.clear();
            w.pairs.extend(
                w.target
                    .resources()
                    .iter()
                    .copied()
                    .zip(w.values.iter().copied()),
            );
            let obs = Observation {
                key: &w.key,
                kind: w.kind,
                instance: &w.instance,
                values: &w.pairs,
                // The first resource is the target's memory (rss or the cgroup's).
                memory_limit: w.limits.first().and_then(|l| l.1),
                limits: &w.limits,
                oom_kill_counter: w.oom_kill_counter(),
            };
            agent.observe(t, &obs, &mut events)?;
        }
        agent.tick_done(t)?;
        firing.clear();
        for e in events.drain(..) {
            if let AgentEvent::Alert(a) = &e {
                if a.status == AlertStatus::Firing {
                    any_leak = true;
                    firing.push(a.target.clone());
                }
            }
            print_event(&e, args.json);
        }
        if let Some(r) = where_runner.as_mut() {
            let pids_of = |key: &str| {
                watched
                    .iter()
                    .find(|w| w.key == key)
                    .map(Watched::pids)
                    .unwrap_or_default()
            };
            r.tick(&firing, pids_of, &mut agent, args.json);
        }
        // A --pid target that exited ends the watch (a name, cgroup or
        // container may come back).
        if !watched.is_empty()
            && discovery.is_none()
            && watched.iter().all(|w| w.by_pid && !w.alive)
        {
            return Ok(());
        }
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    })();
    // Summary before shutting down (shutdown saves and flushes alerts).
    let mut keys: Vec<String> = agent.live_targets().map(str::to_string).collect();
    keys.sort();
    let mut unjudged = Vec::new();
    for key in &keys {
        let Some(set) = agent.detectors(key) else {
            continue;
        };
        let report = set.report();
        if report.first_alert_s.is_some() {
            any_leak = true;
        }
        let (restarts, ooms) = agent.counts(key).unwrap_or((0, 0));
        let samples = set
            .resources()
            .filter_map(|r| set.detector(r).map(|d| d.samples()))
            .max()
            .unwrap_or(0);
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "version": 1,
                    "event": "summary",
                    "target": key,
                    "verdict": crate::cmd::verdict_json(&report),
                    "state": report.state,
                    "restarts": restarts,
                    "oom_kills": ooms,
                    "samples": samples,
                    "resources": crate::cmd::resources_json(&report),
                })
            );
        } else {
            println!(
                "{key}: {} ({} restarts, {} OOM kills)",
                report.state, restarts, ooms
            );
        }
        if !report.judged() {
            unjudged.push(crate::cmd::not_judged_note(
                key,
                samples,
                set.resources()
                    .filter_map(|r| set.detector(r).map(|d| d.assessment().duration_s))
                    .fold(0.0, f64::max),
                report.restarts,
                "watch longer (--duration)",
            ));
        }
    }
    for note in &unjudged {
        eprintln!("{note}");
    }
    if let Some(r) = where_runner.take() {
        r.shutdown(Duration::from_secs(5));
    }
    agent
        .shutdown(Duration::from_secs(5))
        .context("saving the agent's state")?;
    result?;
    // A bounded run (--duration: CI, a check) that judged nothing did not
    // find "no leak" (as in `watch`): exit 2. An agent run as a service and
    // stopped by its supervisor is not failing for being young.
    let none_judged = args.duration.is_some() && !keys.is_empty() && unjudged.len() == keys.len();
    Ok(if any_leak {
        exit::LEAK
    } else if none_judged {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// What `--containers` looked for, when it found none at start.
fn no_containers_note(d: &Discovery) -> String {
    format!(
        "leakwatch: no container or service cgroup found yet under {} (cgroup {}): looking for Docker, containerd/CRI-O (Kubernetes), Podman and systemd `system.slice/*.service` cgroups again every 10 s; to watch a cgroup by path, use --cgroup PATH",
        d.memory_root.display(),
        match d.layout {
            containers::CgroupLayout::V1 => "v1",
            containers::CgroupLayout::V2 => "v2",
        }
    )
}

/// Adds newly discovered containers, ends the ones that went away.
fn sync_containers(
    d: &Discovery,
    watched: &mut Vec<Watched>,
    agent: &mut Agent,
    depth: SampleDepth,
    events: &mut Vec<AgentEvent>,
) -> anyhow::Result<()> {
    let found = d.discover();
    let t = now_s();
    let mut i = 0;
    while i < watched.len() {
        let w = &watched[i];
        let gone = w.kind == "container"
            && !found
                .iter()
                .any(|c| c.name == w.key && Some(&c.id) == w.container_id.as_ref());
        if gone {
            agent.end_target(&w.key, t, events)?;
            watched.swap_remove(i);
        } else {
            i += 1;
        }
    }
    for c in found {
        if watched
            .iter()
            .any(|w| w.key == c.name && w.container_id.as_ref() == Some(&c.id))
        {
            continue;
        }
        // A container can disappear between discovery and opening.
        let spec = TargetSpec::Cgroup {
            path: c.cgroup.display().to_string(),
        };
        if let Ok(w) = Watched::open(
            c.name.clone(),
            spec,
            depth,
            Some(c.cgroup.clone()),
            Some(c.id.clone()),
        ) {
            watched.push(w);
        }
    }
    Ok(())
}

fn print_event(e: &AgentEvent, json: bool) {
    if json {
        let v = match e {
            AgentEvent::Started { key, resumed } => {
                serde_json::json!({"event": "started", "target": key, "resumed": resumed})
            }
            AgentEvent::Transition {
                key,
                resource,
                from,
                to,
            } => serde_json::json!({
                "event": if *to == LeakState::Leak { "alert" } else { "state" },
                "target": key, "resource": resource, "from": from, "to": to
            }),
            AgentEvent::Restarted { key, restarts } => {
                serde_json::json!({"event": "restart", "target": key, "restarts": restarts})
            }
            AgentEvent::OomKilled { key, total } => {
                serde_json::json!({"event": "oom_kill", "target": key, "oom_kills": total})
            }
            AgentEvent::Alert(a) => {
                let mut v = serde_json::to_value(a).unwrap_or_default();
                v["event"] = match a.status {
                    AlertStatus::Firing => "alert_firing",
                    AlertStatus::Resolved => "alert_resolved",
                }
                .into();
                v["summary"] = a.summary().into();
                v
            }
            AgentEvent::Ended { key } => serde_json::json!({"event": "ended", "target": key}),
        };
        let mut v = v;
        v["version"] = 1.into();
        println!("{v}");
    } else {
        let line = match e {
            AgentEvent::Started { key, resumed } => format!(
                "{key}: watching{}",
                if *resumed { " (history resumed)" } else { "" }
            ),
            AgentEvent::Transition {
                key,
                resource,
                from,
                to,
            } => format!("{key} {resource}: {from} -> {to}"),
            AgentEvent::Restarted { key, restarts } => {
                format!("{key}: restarted ({restarts} so far), history joined")
            }
            AgentEvent::OomKilled { key, total } => format!("{key}: OOM kill ({total} so far)"),
            AgentEvent::Alert(a) => format!("ALERT {}", a.summary()),
            AgentEvent::Ended { key } => format!("{key}: ended"),
        };
        eprintln!("leakwatch: {line}");
    }
}
