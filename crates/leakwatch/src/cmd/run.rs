//! `leakwatch run -- CMD ARGS...`: start a program, sample it, judge it.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use leakwatch_core::{format, LeakState, Report, Verdict};
use leakwatch_probe::{SampleDepth, Target, TargetSpec};

use crate::cmd::analyze::parse_duration_arg;
use crate::exit;
use crate::monitor::{stop_flag, Monitor, MonitorSettings, StopReason};

/// Start a program, sample its memory, threads and fds, and say whether it leaks.
///
/// Shows a live status line, and at the end a verdict with evidence and a
/// sparkline of each resource. With --load, runs a load generator against the
/// target for the soak and gates on the verdict (a leak gate for CI).
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  leakwatch run --duration 90s -- python3 examples/leaky_cache.py
  leakwatch run --duration 5m --out mem.csv --tree -- ./server --port 8080
  leakwatch run --duration 2m --load 'wrk -d 2m http://127.0.0.1:8080/' --junit leak.xml -- ./server

Exit codes: 0 no leak, 1 leak found (see --fail-on), 2 usage or runtime
error, or too little data to judge (a soak gate never passes on it).
A leak needs at least a minute of samples to be called: start-up and cache
fills look like leaks for their first minute.")]
pub struct RunArgs {
    /// How long to sample (e.g. 90s, 10m). Default: until the program exits or Ctrl-C.
    #[arg(long, value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub duration: Option<f64>,
    /// Time between samples.
    #[arg(long, default_value = "250ms", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub interval: f64,
    /// Sum the whole process tree (children, workers) instead of the top process.
    #[arg(long)]
    pub tree: bool,
    /// Write every sample to this CSV (valid `leakwatch analyze` input).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the final report as one JSON object on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Exit 1 on this state or worse.
    #[arg(long, value_enum, default_value_t = FailOn::Leak)]
    pub fail_on: FailOn,
    /// Length of a traffic season (e.g. 24h), or 0 for none (default: none at sub-5s intervals).
    #[arg(long, value_parser = parse_duration_arg)]
    pub season: Option<f64>,
    /// Load generator to run against the target for the soak (a shell command, e.g. `wrk ...`).
    /// Sampling stops when it exits (or at --duration).
    #[arg(long, value_name = "CMD")]
    pub load: Option<String>,
    /// Wait this long after starting the target before starting the load.
    #[arg(long, default_value = "2s", value_parser = parse_duration_arg)]
    pub load_delay: f64,
    /// Write the verdict as a JUnit XML test result (one test case per resource).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write an HTML report: a self-contained page with each resource
    /// over time, the detector's trend, the alert and the projection to the limit.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The program to run and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only a confirmed leak.
    Leak,
    /// A leak, or anything still growing at the end.
    Growing,
    /// Always exit 0 (report only).
    Never,
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    // Output paths are checked before the target starts, not after the soak.
    let junit = args
        .junit
        .as_deref()
        .map(crate::cmd::junit::JunitOut::prepare)
        .transpose()?;
    if let Some(out) = &args.out {
        check_output_path("--out", out)?;
    }
    let stop = stop_flag()?;
    let program = &args.command[0];
    let mut cmd = Command::new(program);
    cmd.args(&args.command[1..])
        .stdin(Stdio::null())
        .stdout(child_stdout(args.json)?)
        // Its own process group, so the whole tree can be stopped at the end.
        .process_group(0);
    leakwatch_where::launch::die_with_parent(&mut cmd);
    let child = cmd.spawn().with_context(|| {
        format!("cannot start `{program}`: check that it exists and is executable")
    })?;
    let mut group = Group::new(child);
    let pid = group.pgid;
    supervise(&args, &mut group, pid, &stop, junit)
    // `group` stops whatever is left of the target's process group, on
    // every path out (errors and a closed stdout's unwinding included).
}

/// Fails at once, before the target starts, when `path` cannot be an
/// output file (a link or non-regular file there, a missing directory).
fn check_output_path(flag: &str, path: &std::path::Path) -> anyhow::Result<()> {
    leakwatch_files::check_output_path(path).map_err(|e| anyhow::anyhow!("{flag} {e}"))
}

/// A child in its own process group, stopped (`stop_signal`, then SIGKILL)
/// when dropped.
struct Group {
    child: Child,
    pgid: i32,
    /// SIGTERM; SIGINT when the user interrupted the run, as the program
    /// would have received from the terminal had it run alone (it is in
    /// its own process group, so the terminal's SIGINT does not reach it).
    stop_signal: libc::c_int,
}

impl Group {
    fn new(child: Child) -> Group {
        let pgid = child.id() as i32;
        Group {
            child,
            pgid,
            stop_signal: libc::SIGTERM,
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        stop_group(&mut self.child, self.pgid, self.stop_signal);
    }
}

fn supervise(
    args: &RunArgs,
    group: &mut Group,
    pid: i32,
    stop: &std::sync::atomic::AtomicBool,
    junit: Option<crate::cmd::junit::JunitOut>,
) -> anyhow::Result<u8> {
    let target = Target::open(
        TargetSpec::Pid {
            pid,
            tree: args.tree,
        },
        SampleDepth::Full,
    )
    .with_context(|| format!("attaching to `{}` (pid {pid})", args.command[0]))?;
    // --html without --out: the page's samples go to a temporary CSV.
    let page_samples = crate::cmd::html::samples_file(args.out.as_deref(), args.html.as_deref())?;
    let settings = MonitorSettings {
        interval_s: args.interval,
        duration_s: args.duration,
        json_events: false,
        out: args
            .out
            .clone()
            .or_else(|| page_samples.as_ref().map(|p| p.to_path_buf())),
        season_s: args.season,
        restart_warmup_s: leakwatch_core::analysis::DEFAULT_RESTART_WARMUP_S,
    };
    let mut monitor = Monitor::new(target, settings)?;
    if !args.json {
        eprintln!(
            "leakwatch: sampling `{}` (pid {pid}) every {}{}",
            args.command.join(" "),
            format::duration(args.interval),
            args.duration
                .map(|d| format!(" for {}", format::duration(d)))
                .unwrap_or_default()
        );
    }
    let started = Instant::now();
    let mut load: Option<Child> = None;
    let mut load_status = None;
    // Why the soak ran (partly) without its load, if it did.
    let mut load_failed: Option<String> = None;
    let reason = monitor.run_loop(stop, true, || {
        if let Some(cmd) = &args.load {
            if load.is_none()
                && started.elapsed().as_secs_f64() >= args.load_delay
                && load_status.is_none()
            {
                let stdout = match child_stdout(args.json) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("leakwatch: {e:#}");
                        return false;
                    }
                };
                let mut sh = Command::new("sh");
                sh.args(["-c", cmd])
                    .stdin(Stdio::null())
                    .stdout(stdout)
                    .process_group(0);
                leakwatch_where::launch::die_with_parent(&mut sh);
                match sh.spawn() {
                    Ok(c) => load = Some(c),
                    Err(e) => {
                        load_failed = Some(format!("the load command could not be started: {e}"));
                        return false;
                    }
                }
            }
            if let Some(l) = &mut load {
                if let Ok(Some(status)) = l.try_wait() {
                    if !status.success() {
                        load_failed = Some(match status.code() {
                            Some(127) => format!(
                                "the load command failed with exit status 127 (command not found: `{cmd}`)"
                            ),
                            Some(c) => format!(
                                "the load command `{cmd}` failed with exit status {c}"
                            ),
                            None => format!("the load command `{cmd}` was killed ({status})"),
                        });
                    }
                    load_status = Some(status);
                    load = None;
                    return false;
                }
            }
        }
        true
    });
    if let Some(mut l) = load.take() {
        let pgid = l.id() as i32;
        stop_group(&mut l, pgid, libc::SIGTERM);
    }
    let csv = monitor.finish()?;
    let reason = reason?;
    if matches!(reason, StopReason::Interrupted) {
        group.stop_signal = libc::SIGINT;
    }
    // None: still running when the run ended (then stopped on the way out).
    let exit_status = group.child.try_wait().ok().flatten();
    let report = monitor.report();
    let elapsed = monitor.elapsed_s;
    if let (Some(page), Some(samples)) = (&args.html, &csv) {
        crate::cmd::html::write_monitor_page(
            page,
            "run",
            &args.command.join(" "),
            &report,
            samples,
            monitor.samples,
            elapsed,
        )?;
    }
    let csv = csv.filter(|_| args.out.is_some());

    if let Some(out) = junit {
        out.write(&crate::cmd::junit::render(
            &args.command.join(" "),
            &report,
            elapsed,
            load_failed.as_deref(),
        )?)?;
    }
    if args.json {
        let out = serde_json::json!({
            "version": 1,
            "command": args.command,
            "pid": pid,
            "verdict": crate::cmd::verdict_json(&report),
            "first_alert_s": report.first_alert_s,
            "state": report.state,
            "samples": monitor.samples,
            "duration_s": elapsed,
            "stopped_because": format!("{reason:?}").to_lowercase(),
            "target_exit_status": exit_status.and_then(|s| s.code()),
            "load_exit_status": load_status.and_then(|s| s.code()),
            "out": csv,
            "resources": crate::cmd::resources_json(&report),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match reason {
            StopReason::TargetExited => eprintln!(
                "leakwatch: `{}` exited after {}{}; judging the {} samples taken",
                args.command[0],
                format::duration(elapsed),
                exit_status.map(|s| format!(" ({s})")).unwrap_or_default(),
                monitor.samples
            ),
            StopReason::Interrupted => eprintln!(
                "leakwatch: interrupted; judging the {} samples taken",
                monitor.samples
            ),
            StopReason::Caller => {
                eprintln!(
                    "leakwatch: the load command ended after {}",
                    format::duration(elapsed)
                )
            }
            StopReason::Duration => {}
        }
        crate::cmd::print_report_text(&report, monitor.samples, elapsed, |r| monitor.sparkline(r));
        if let Some(p) = &csv {
            println!(
                "\nsamples written to {}  (replay: leakwatch analyze {})",
                p.display(),
                p.display()
            );
        }
        if report.verdict == Verdict::Leak {
            println!("{}", next_hint(&args.command));
        }
    }
    if let (Some(why), 0) = (&load_failed, monitor.samples) {
        bail!(
            "{why}, before a single sample was taken: fix the --load command (run it by hand first)"
        );
    }
    if monitor.samples == 0 {
        let what = match reason {
            StopReason::Caller => "the load command ended",
            StopReason::Interrupted => "leakwatch was interrupted",
            _ => "the target exited",
        };
        bail!(
            "{what} before a single sample of `{}` was taken",
            args.command[0]
        );
    }
    let mut code = exit_code(&report, args.fail_on);
    if !report.judged() && !matches!(args.fail_on, FailOn::Never) {
        // A soak gate must not pass on data too short to show anything.
        eprintln!(
            "{}",
            crate::cmd::not_judged_note(
                "this run",
                monitor.samples,
                elapsed,
                report.restarts,
                "run longer (--duration), or keep the program running longer under --load"
            )
        );
        code = exit::ERROR;
    }
    if let Some(why) = load_failed {
        // A soak without its load proves nothing: only a leak seen anyway
        // stands; otherwise the gate must not pass.
        eprintln!(
            "leakwatch: error: {why}; the target ran {} without its load, so \"no leak\" would not mean anything.\n  \
             Fix the --load command (run it by hand first); the soak gate fails with exit 2 until it runs to the end.",
            format::duration(elapsed)
        );
        if code != exit::LEAK {
            return Ok(exit::ERROR);
        }
    }
    Ok(code)
}

/// The command that finds where the memory goes, for this program's
/// runtime (from its executable; a wrapper script counts as native).
fn next_hint(command: &[String]) -> String {
    use leakwatch_where::runtime::{classify, has_go_buildinfo};
    use leakwatch_where::Runtime;
    let cmd = command.join(" ");
    let resolved = which(&command[0]);
    let exe = resolved
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| command[0].clone());
    let name = exe.rsplit('/').next().unwrap_or(&exe);
    let runtime = if name == "java" {
        Runtime::Jvm
    } else {
        classify(&exe, &[], || {
            resolved.as_deref().is_some_and(has_go_buildinfo)
        })
        .runtime
    };
    match runtime {
        Runtime::Python => format!(
            "next: find the Python line that allocates with `leakwatch trace -- {cmd}` (Python frames: growing sites read `func at file.py:LINE`)"
        ),
        Runtime::Jvm | Runtime::Go | Runtime::Node => format!(
            "next: find what grows inside the {} runtime with `leakwatch where -- {cmd}`",
            runtime.as_str()
        ),
        _ => format!(
            "next: find the allocation site with `leakwatch trace -- {cmd}`, or without a restart while it runs: `leakwatch trace --pid PID --duration 60s`"
        ),
    }
}

/// `cmd` looked up on PATH (or as a path).
fn which(cmd: &str) -> Option<std::path::PathBuf> {
    if cmd.contains('/') {
        return Some(std::path::PathBuf::from(cmd));
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
    })
}

/// With --json, stdout carries only leakwatch's JSON: the target's and the
/// load generator's output go to stderr instead.
pub(crate) fn child_stdout(json: bool) -> anyhow::Result<Stdio> {
    if !json {
        return Ok(Stdio::inherit());
    }
    use std::os::fd::AsFd;
    let fd = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .context("duplicating stderr")?;
    Ok(Stdio::from(fd))
}

fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    let failed = match fail_on {
        FailOn::Never => false,
        FailOn::Leak => report.verdict == Verdict::Leak,
        FailOn::Growing => {
            report.verdict == Verdict::Leak
                || report
                    .resources
                    .iter()
                    .any(|r| matches!(r.state, LeakState::Growing | LeakState::Leak))
        }
    };
    if failed {
        exit::LEAK
    } else {
        exit::OK
    }
}

/// SIGTERM to the group, then SIGKILL if it does not go within 3 seconds.
fn stop_group(child: &mut Child, pgid: i32, signal: libc::c_int) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        // SAFETY: kill(2) on our own child's process group.
        unsafe { libc::kill(-pgid, signal) };
        return;
    }
    let exited_within = |child: &mut Child, wait: Duration| {
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    };
    // SAFETY: as above.
    unsafe { libc::kill(-pgid, signal) };
    // A program deaf to SIGINT (a daemon that shuts down on SIGTERM) still
    // gets its orderly stop before the SIGKILL.
    if signal != libc::SIGTERM && !exited_within(child, Duration::from_millis(1500)) {
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
    }
    if !exited_within(child, Duration::from_secs(3)) {
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = child.wait();
    }
}
