//! `leakwatch probe`: a leak-aware liveness probe for exec probes
//! (Kubernetes `livenessProbe.exec`, systemd watchdogs, cron): one sample
//! per run, the detector's history kept in a small state file between runs,
//! and a verdict in the exit code. The judgement is `leakwatch_agent::health`,
//! the same as the agent's `/healthz/TARGET`.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use leakwatch_agent::health::{self, Health, Snapshot};
use leakwatch_agent::probe_state::{self, Loaded, ProbeState};
use leakwatch_core::{format, Detector, Resource};
use leakwatch_probe::{system, CgroupProbe, ProbeError, ProcessProbe, SampleDepth};

use crate::cmd::analyze::parse_duration_arg;
use crate::exit;

/// A liveness probe that fails only when the target leaks memory and will
/// reach its memory limit soon.
///
/// Each run takes one sample of the target, adds it to the history kept in
/// a small state file, and asks leakwatch's leak detector. It exits 1 only
/// when the detector says the memory is leaking (plateaus, garbage-collector
/// saw-teeth, warm-up and bursts are not leaks) and the projected time to
/// the memory limit is under --threshold, so the orchestrator restarts the
/// service with SIGTERM and a grace period before the OOM killer drops its
/// in-flight work. Too little history yet passes, with a message saying so:
/// a liveness probe must not restart what it cannot judge.
///
/// Without --pid or --cgroup it judges the memory cgroup it runs in (the
/// container, when run as an exec probe inside it). A new incarnation (a
/// restarted process, a new container or cgroup, a reboot) starts a fresh
/// history, so the restart it asked for is not failed again at once.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  leakwatch probe                       # inside a container: judge the container's cgroup
  leakwatch probe --pid 4242 --threshold 30m
  leakwatch probe --cgroup /system.slice/api.service --json

Kubernetes (see docs/crash-only.md):
  livenessProbe:
    exec: {command: [leakwatch, probe]}
    periodSeconds: 10
    failureThreshold: 3

Exit codes: 0 healthy (or not judged yet), 1 leaking with the limit closer
than --threshold, 2 error (the target vanished, an unreadable cgroup or
state file). An exec probe counts any non-zero exit as a failure.")]
pub struct ProbeArgs {
    /// Judge this process (its anonymous memory against its cgroup's limit,
    /// or the host's memory).
    #[arg(long, conflicts_with = "cgroup")]
    pub pid: Option<i32>,
    /// Judge this memory cgroup (v1 or v2): a path under /sys/fs/cgroup or
    /// relative to the memory controller's mount. Default: the probe's own.
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
    /// Fail when the projected time to the memory limit is under this.
    #[arg(long, default_value = "15m", value_parser = parse_duration_arg)]
    pub threshold: f64,
    /// Where the history is kept between runs (default: a private directory
    /// under $XDG_RUNTIME_DIR or /tmp, one file per target).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Length of a traffic season the detector must see before calling a
    /// leak (default: none; with 24h the probe cannot fail in a new
    /// incarnation's first day).
    #[arg(long, value_parser = parse_duration_arg)]
    pub season: Option<f64>,
    /// Print the verdict as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// One sample of the target.
struct Reading {
    description: String,
    identity: String,
    resource: Resource,
    value: f64,
    limit: Option<f64>,
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn read_pid(pid: i32) -> anyhow::Result<Reading> {
    let gone = |e: ProbeError| {
        match e {
        ProbeError::NoSuchProcess { .. } | ProbeError::Gone { .. } => anyhow::anyhow!(
            "pid {pid} is gone (it exited, or never existed): nothing to judge. In a container, let the probe judge the container's cgroup (no --pid)"
        ),
        e => anyhow::Error::new(e).context(format!("cannot read pid {pid}")),
    }
    };
    let mut p = ProcessProbe::attach(pid, SampleDepth::Full).map_err(gone)?;
    let s = p.sample().map_err(gone)?;
    let (resource, value) = match s.anon_bytes {
        Some(a) => (Resource::AnonBytes, a as f64),
        None => (Resource::RssBytes, s.rss_bytes as f64),
    };
    Ok(Reading {
        description: format!("pid {pid}"),
        identity: format!("pid:{pid}:{}:{}", p.start_time(), boot_id()),
        resource,
        value,
        limit: system::memory_limit_of(pid).map(|l| l as f64),
    })
}

fn read_cgroup(cgroup: Option<&str>) -> anyhow::Result<Reading> {
    let mut probe = match cgroup {
        Some(path) => {
            CgroupProbe::open(path).with_context(|| format!("cannot read cgroup {path}"))?
        }
        None => {
            let dir = system::memory_cgroup_of(std::process::id() as i32).context(
                "cannot find this process's memory cgroup in /proc/self/cgroup and /sys/fs/cgroup: give --cgroup PATH or --pid N",
            )?;
            CgroupProbe::open_dir(&dir).with_context(|| {
                format!(
                    "cannot read this process's memory cgroup {} (is /sys/fs/cgroup mounted in the container?)",
                    dir.display()
                )
            })?
        }
    };
    let dir = probe.dir().to_path_buf();
    let s = probe.sample().with_context(|| {
        format!(
            "cannot read cgroup {} (it may have been removed)",
            dir.display()
        )
    })?;
    // A cgroup made again at the same path is a new incarnation (its
    // directory is a new inode), and so is a new oldest process in it (the
    // service restarted inside the same cgroup).
    let ino = std::fs::metadata(&dir).map(|m| m.ino()).unwrap_or(0);
    let founder = oldest_process(&dir.join("cgroup.procs"));
    let (resource, value) = match s.anon_bytes {
        Some(a) => (Resource::CgroupAnonBytes, a as f64),
        None => (Resource::CgroupBytes, s.usage_bytes as f64),
    };
    Ok(Reading {
        description: match cgroup {
            Some(_) => format!("cgroup {}", dir.display()),
            None => format!("own cgroup {}", dir.display()),
        },
        identity: format!(
            "cgroup:{}:{ino}:{}:{}",
            dir.display(),
            boot_id(),
            founder.map_or("empty".to_string(), |(pid, start)| format!("{pid}@{start}"))
        ),
        resource,
        value,
        limit: s.limit_bytes.or_else(system::mem_total).map(|l| l as f64),
    })
}

/// The oldest process of a cgroup other than this probe: (pid, start time
/// in clock ticks since boot). At most the first 4096 pids are looked at.
fn oldest_process(procs: &std::path::Path) -> Option<(i32, u64)> {
    let me = std::process::id() as i32;
    let text = std::fs::read_to_string(procs).ok()?;
    text.lines()
        .filter_map(|l| l.trim().parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .take(4096)
        .filter_map(|pid| {
            let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
            let (_, _, _, start) = leakwatch_probe::parse::stat_summary(&stat)?;
            Some((pid, start))
        })
        .min_by_key(|(pid, start)| (*start, *pid))
}

pub fn run(args: ProbeArgs) -> anyhow::Result<u8> {
    match probe(&args) {
        Ok(code) => Ok(code),
        Err(e) if args.json => {
            let mut msg = e.to_string();
            for cause in e.chain().skip(1) {
                msg.push_str(&format!(": {cause}"));
            }
            println!(
                "{}",
                serde_json::json!({"version": 1, "health": "error", "message": msg})
            );
            Ok(exit::ERROR)
        }
        Err(e) => Err(e),
    }
}

fn probe(args: &ProbeArgs) -> anyhow::Result<u8> {
    if !(args.threshold.is_finite() && args.threshold > 0.0) {
        anyhow::bail!("--threshold must be a positive duration, like 15m");
    }
    let reading = match args.pid {
        Some(pid) => read_pid(pid)?,
        None => read_cgroup(args.cgroup.as_deref())?,
    };
    let state_path = match &args.state {
        Some(p) => p.clone(),
        None => {
            let key = match (args.pid, &args.cgroup) {
                (Some(pid), _) => format!("pid:{pid}"),
                (None, Some(c)) => format!("cgroup:{c}"),
                (None, None) => "self".to_string(),
            };
            probe_state::default_dir()?.join(probe_state::file_name_for(&key))
        }
    };
    let cfg = health::detector_config(args.season);
    let mut note = None;
    let mut detector = match probe_state::load(&state_path)? {
        Loaded::Found(s)
            if s.identity == reading.identity
                && s.resource == leakwatch_agent::metrics::resource_label(reading.resource)
                && s.detector.config() == &cfg =>
        {
            Some(s.detector)
        }
        Loaded::Found(_) => {
            note = Some("a new incarnation (or new settings): history starts over".to_string());
            None
        }
        Loaded::Discarded(why) => {
            note = Some(format!(
                "state file {} {why}: history starts over",
                state_path.display()
            ));
            None
        }
        Loaded::Missing => None,
    }
    .unwrap_or_else(|| Detector::new(cfg.clone()));
    detector.set_limit(reading.limit);
    detector.push(health::monotonic_s(), reading.value);
    let state = ProbeState {
        version: 1,
        identity: reading.identity.clone(),
        resource: leakwatch_agent::metrics::resource_label(reading.resource).to_string(),
        detector,
    };
    probe_state::save(&state_path, &state)?;
    let j = health::judge(
        reading.resource,
        &Snapshot::of(&state.detector),
        args.threshold,
    );
    if args.json {
        let mut v = serde_json::to_value(&j)?;
        v["target"] = reading.description.clone().into();
        v["state_file"] = state_path.display().to_string().into();
        if let Some(n) = &note {
            v["note"] = n.clone().into();
        }
        println!("{v}");
    } else {
        if let Some(n) = &note {
            println!("leakwatch probe: {n}");
        }
        println!(
            "leakwatch probe: {} {}: {}",
            reading.description,
            j.health.as_str(),
            j.message
        );
        if j.health == Health::Failing {
            if let Some(ttl) = j.time_to_limit_s {
                println!(
                    "leakwatch probe: failing now leaves ~{} before the OOM killer",
                    format::duration(ttl)
                );
            }
        }
    }
    Ok(match j.health {
        Health::Failing => exit::LEAK,
        Health::Healthy | Health::NotYet => exit::OK,
    })
}
