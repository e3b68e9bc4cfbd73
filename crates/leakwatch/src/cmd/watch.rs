//! `leakwatch watch`: continuous monitoring of a pid, a service by name, or a cgroup.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use leakwatch_core::{format, Verdict};
use leakwatch_probe::{SampleDepth, Target, TargetSpec};

use crate::cmd::analyze::parse_duration_arg;
use crate::exit;
use crate::monitor::{stop_flag, Monitor, MonitorSettings};

/// Watch a running process, a service by name, or a cgroup, and report state
/// changes and leak alerts as they happen.
///
/// By name, every process matching the pattern is summed, and when the
/// service restarts (crash, OOM kill, deploy) the new instance's history is
/// joined to the old one: restarts mask a leak, they do not fix it.
#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("target").required(true).args(["pid", "name", "cgroup", "config", "containers"])),
    after_help = "\
Examples:
  leakwatch watch --pid 4242
  leakwatch watch --name my-service --json --out history.csv
  leakwatch watch --cgroup /system.slice/my-service.service --interval 30s

Exit codes (when it ends: --duration, target exit for --pid, Ctrl-C):
0 no leak, 1 leak found, 2 error or too little data to judge (under a minute
of samples)."
)]
pub struct WatchArgs {
    /// Watch this process.
    #[arg(long)]
    pub pid: Option<i32>,
    /// Watch every process whose name, or the file name of one of its first
    /// arguments, is PATTERN (a pattern with `/` or a space matches anywhere
    /// in the command line). Restarts are followed and joined.
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Watch a memory cgroup (v1 or v2): a path under /sys/fs/cgroup or
    /// relative to the memory controller's mount.
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
    /// Time between samples.
    #[arg(long, default_value = "1s", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub interval: f64,
    /// Stop after this long (default: run until Ctrl-C).
    #[arg(long, value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub duration: Option<f64>,
    /// Print events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write every sample to this CSV as it is taken (valid `leakwatch analyze` input).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --out: also write an HTML report of the recording when the
    /// watch ends (each resource over time, trend, alert, projection).
    #[arg(long, value_name = "FILE", requires = "out")]
    pub html: Option<PathBuf>,
    /// Sum each process's whole tree.
    #[arg(long)]
    pub tree: bool,
    /// Skip PSS and swap (smaps_rollup): cheaper when watching many or huge processes.
    #[arg(long)]
    pub fast: bool,
    /// Length of a traffic season, or 0 for none (default: 24h at intervals of 5s or more).
    #[arg(long, value_parser = parse_duration_arg)]
    pub season: Option<f64>,
    /// After a restart, ignore the new instance's first seconds (its start-up) before joining it.
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg)]
    pub restart_warmup: f64,
    #[command(flatten)]
    pub agent: crate::cmd::watch_agent::AgentFlags,
}

pub fn run(args: WatchArgs) -> anyhow::Result<u8> {
    if args.agent.active() {
        if args.html.is_some() {
            anyhow::bail!("--html is for a watch of one --pid, --name or --cgroup; the agent keeps its history in --store");
        }
        return crate::cmd::watch_agent::run(args);
    }
    let stop = stop_flag()?;
    let spec = if let Some(pid) = args.pid {
        TargetSpec::Pid {
            pid,
            tree: args.tree,
        }
    } else if let Some(pattern) = &args.name {
        TargetSpec::Name {
            pattern: pattern.clone(),
            tree: args.tree,
        }
    } else {
        TargetSpec::Cgroup {
            path: args.cgroup.clone().unwrap_or_default(),
        }
    };
    // A pid that exits and a cgroup that is removed end the watch (the
    // opened cgroup files keep pointing at the removed one: a cgroup made
    // again at the same path is a new cgroup, for the agent to follow).
    let by_pid = matches!(spec, TargetSpec::Pid { .. });
    let is_cgroup = matches!(spec, TargetSpec::Cgroup { .. });
    let depth = if args.fast {
        SampleDepth::Fast
    } else {
        SampleDepth::Full
    };
    let target = Target::open(spec, depth).context("cannot watch the target")?;
    let label = target.label();
    let settings = MonitorSettings {
        interval_s: args.interval,
        duration_s: args.duration,
        json_events: args.json,
        out: args.out.clone(),
        season_s: args.season,
        restart_warmup_s: args.restart_warmup,
    };
    let mut monitor = Monitor::new(target, settings)?;
    if !args.json {
        eprintln!(
            "leakwatch: watching {label} every {} (Ctrl-C to stop)",
            format::duration(args.interval)
        );
    }
    let reason = monitor.run_loop(&stop, by_pid || is_cgroup, || true);
    let csv = monitor.finish()?;
    if is_cgroup && matches!(reason, Ok(crate::monitor::StopReason::TargetExited)) {
        eprintln!(
            "leakwatch: cgroup {label} was removed: watch ended after {} samples (use `watch --cgroup ... --serve` or --containers to follow a cgroup that is created again)",
            monitor.samples
        );
    }
    reason?;
    let report = monitor.report();
    if let (Some(page), Some(samples)) = (&args.html, &csv) {
        crate::cmd::html::write_monitor_page(
            page,
            "watch",
            &label,
            &report,
            samples,
            monitor.samples,
            monitor.elapsed_s,
        )?;
    }
    if args.json {
        let v = serde_json::json!({
            "version": 1,
            "event": "summary",
            // Every line has t_s (docs/json.md): the summary's is the end.
            "t_s": monitor.elapsed_s,
            "target": label,
            "verdict": crate::cmd::verdict_json(&report),
            "first_alert_s": report.first_alert_s,
            "state": report.state,
            "restarts": report.restarts,
            "samples": monitor.samples,
            "duration_s": monitor.elapsed_s,
            "resources": crate::cmd::resources_json(&report),
        });
        println!("{v}");
    } else {
        if report.restarts > 0 {
            println!(
                "{label}: {} restarts joined into one history",
                report.restarts
            );
        }
        crate::cmd::print_report_text(&report, monitor.samples, monitor.elapsed_s, |r| {
            monitor.sparkline(r)
        });
        if let Some(p) = csv {
            println!("\nsamples written to {}", p.display());
        }
    }
    if !report.judged() {
        eprintln!(
            "{}",
            crate::cmd::not_judged_note(
                "this watch",
                monitor.samples,
                monitor.elapsed_s,
                report.restarts,
                "watch longer (--duration)"
            )
        );
        return Ok(exit::ERROR);
    }
    Ok(if report.verdict == Verdict::Leak {
        exit::LEAK
    } else {
        exit::OK
    })
}
