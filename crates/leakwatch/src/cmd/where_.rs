//! `leakwatch where`: which class or allocation site grows, from the
//! runtime's own view of its heap over time (leakwatch_where).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Args, ValueEnum};
use leakwatch_core::{format, KeyedReport, LeakState};
use leakwatch_where::driver::{self, DriveSettings, End, Outcome, Progress};
use leakwatch_where::launch::{self, ChildOutput, Launched};
use leakwatch_where::{
    detector_config, jvm::HistogramMode, runtime, GrowthSource, Metric, Options, Runtime, Session,
    WhereError, WhereReport,
};

use crate::cmd::analyze::parse_duration_arg;
use crate::exit;
use crate::monitor::stop_flag;

/// Where does it grow? Follow each class or allocation site of a running
/// runtime over time and name the ones that grow without bound.
///
/// Detects the runtime from the process (a HotSpot JVM, Go, Node, Python,
/// Ruby, or native code), polls its own view of its heap at each interval,
/// judges every class's or site's series with the same detector as `run`
/// and `watch`, and ends with the growing ones ranked by growth per hour,
/// with the evidence and what to run next.
#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("target").required(true).args(["pid", "command"])),
    after_help = "\
Examples:
  leakwatch where --pid 4242                       # a running JVM: class histograms
  leakwatch where --pid 4242 --duration 5m --json
  leakwatch where --pid 5151                       # Go: pprof; Node: inspector
  leakwatch where -- python3 app.py --port 8080    # tracemalloc, per line
  leakwatch where --duration 1m -- ruby worker.rb  # ObjectSpace, per class

Runtimes:
  JVM (--pid or -- CMD)  GC.class_histogram through the HotSpot attach socket
                         (no JDK needed; `jcmd` as a fallback): bytes and
                         instances per class. Needs the JVM's user or root.
  Go (--pid)             net/http/pprof, found among the process's listening
                         sockets in /proc (or --pprof URL): in-use bytes and
                         objects per allocation stack, goroutines per stack,
                         named `function (file:line)`. The program must
                         import _ \"net/http/pprof\" and serve it.
  Node (--pid)           opens the inspector with SIGUSR1 (127.0.0.1:9229 or
                         the process's --inspect-port; loopback only: any
                         local user can reach it while it is open), samples
                         with V8's sampling heap profiler (no heap snapshot),
                         live bytes per `function (script:line)`, and closes
                         the inspector again at the end.
  Python (-- CMD only)   tracemalloc, started by leakwatch (a sitecustomize
                         on PYTHONPATH; the program is not changed): bytes and
                         blocks per line, named `function (file:line)`. For a
                         running Python, use `leakwatch trace --pid PID`.
  Ruby (-- CMD only)     a script loaded through RUBYOPT counts live objects
                         per class (ObjectSpace) at each poll.

What a poll costs the target:
  JVM     the histogram is taken at a safepoint: every Java thread stops
          while the heap is walked. With --jvm-histogram live (the default) a
          full GC runs first, so counts are of live objects; `all` skips the
          GC but counts garbage too (the detector judges the floors after
          each collection). Typically milliseconds for heaps of tens of MB,
          growing with the live heap (see docs/where.md for measurements).
  Go      two profiles per poll: the heap profile is a copy of Go's
          sampled bucket table (no pause); the goroutine profile stops the
          world briefly. Heap figures are as of the last completed GC.
  Node    V8 samples one allocation per 32 KiB (a stack walk each) while
          the session lasts; each poll builds the profile of every live
          sample on the JavaScript thread (tens to hundreds of ms for a
          large heap), which the pause budget spaces out.
  Python  tracemalloc records every allocation (allocation-heavy code runs
          slower while it is on), and a poll holds the GIL for its snapshot.
  Ruby    a full GC and a walk of the heap per poll, holding the GVL.
  The pause of each poll is measured (the JVM's safepoint counter, the
  helper's own clock); when it exceeds 1% of the interval, the interval is
  stretched so that it does not. Node's pause is the time V8 takes to build
  the profile on the JavaScript thread (an upper bound); Go reports none
  (bench/where/ measures it from inside the target).

Duration: the detector needs 24 polls, and no leak is called on less than
30% of the session (at most 60 s) of history; the default 2m at 2s gives 60
polls. Ctrl-C ends early and still reports. With -- CMD the program is
stopped at the end (SIGTERM to its process group).

Exit codes: 0 nothing grows without bound, 1 something does, 2 error (or
too little data to judge)."
)]
pub struct WhereArgs {
    /// The process to observe.
    #[arg(long, conflicts_with = "command")]
    pub pid: Option<i32>,
    /// How long to observe [default: 2m, and on until 30 polls were judged
    /// when the interval had to be stretched, at most 10m]. With -- CMD the
    /// session also ends when the program exits.
    #[arg(long, value_parser = parse_duration_arg)]
    pub duration: Option<f64>,
    /// Time between polls (stretched when polls pause the target for more
    /// than --pause-budget of it).
    #[arg(long, default_value = "2s", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub interval: f64,
    /// Share of the time the target may spend paused by polls, in percent.
    #[arg(long, default_value = "1%", value_name = "PERCENT", value_parser = parse_percent)]
    pub pause_budget: f64,
    /// Print the report as one JSON object on stdout (progress stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// How many classes or sites to list per metric.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// JVM: histogram of live objects (a full GC per poll) or of all objects
    /// (no GC, garbage included).
    #[arg(long, value_enum, default_value_t = JvmHistogram::Live)]
    pub jvm_histogram: JvmHistogram,
    /// Go: the net/http/pprof base URL (default: found among the process's
    /// loopback listening sockets).
    #[arg(long, value_name = "URL")]
    pub pprof: Option<String>,
    /// Go: force a garbage collection in the target before each heap
    /// profile (`heap?gc=1`). Go updates its heap profile only at a GC, and
    /// GCs come rarer as a leaking heap grows, so without it a steady leak
    /// can show as a few steps. Costs the target one GC per poll.
    #[arg(long)]
    pub go_gc: bool,
    /// Classes or sites followed per metric (the largest are kept).
    #[arg(long, default_value_t = leakwatch_where::DEFAULT_MAX_KEYS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_keys: usize,
    /// Also write an HTML report: the growing classes or sites ranked, with
    /// their series over the session, in one self-contained page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The program to start and observe from its start, and its arguments.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JvmHistogram {
    Live,
    All,
}

/// `1%`, `1` (percent) or `0.5%` as a fraction of 1.
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. 1% or 0.5)"))?;
    if !(v > 0.0 && v <= 100.0) {
        return Err(format!(
            "`{s}`: give a share above 0 and at most 100% (e.g. 1%)"
        ));
    }
    Ok(v / 100.0)
}

const DEFAULT_DURATION_S: f64 = 120.0;
/// Polls a leak needs: the detector's 24, and three judgements in a row.
const POLLS_FOR_A_VERDICT: u32 = 27;
/// Polls a default session goes on to when its interval was stretched.
const DEFAULT_MIN_POLLS: u64 = 30;
const DEFAULT_MAX_DURATION_S: f64 = 600.0;

fn duration_of(args: &WhereArgs) -> f64 {
    args.duration.unwrap_or(DEFAULT_DURATION_S)
}

fn check_timing(args: &WhereArgs) -> anyhow::Result<()> {
    let duration = duration_of(args);
    // NaN is not positive either.
    let positive = |v: f64| v > 0.0;
    if !positive(args.interval) || !positive(duration) {
        anyhow::bail!("--interval and --duration must be positive");
    }
    if args.interval > duration {
        anyhow::bail!(
            "--interval ({}) is longer than --duration ({}): nothing could be judged",
            format::duration(args.interval),
            format::duration(duration)
        );
    }
    Ok(())
}

pub fn run(args: WhereArgs) -> anyhow::Result<u8> {
    check_timing(&args)?;
    // Before the session, not after it: a bad path must not cost the
    // session's minutes, nor its report.
    if let Some(page) = &args.html {
        leakwatch_files::check_output_path(page).map_err(|e| anyhow::anyhow!("--html {e}"))?;
    }
    let stop = stop_flag()?;
    let opts = Options {
        interval: Duration::from_secs_f64(args.interval),
        pprof_url: args.pprof.clone(),
        go_gc: args.go_gc,
        jvm_histogram: match args.jvm_histogram {
            JvmHistogram::Live => HistogramMode::Live,
            JvmHistogram::All => HistogramMode::All,
        },
        ..Options::default()
    };
    let duration = duration_of(&args);
    let settings = DriveSettings {
        duration: Duration::from_secs_f64(duration),
        interval: Duration::from_secs_f64(args.interval),
        top: args.top.max(1),
        max_keys: args.max_keys.max(1),
        pause_budget: args.pause_budget,
        // Only a default session goes on past its duration.
        min_polls: if args.duration.is_some() {
            0
        } else {
            DEFAULT_MIN_POLLS
        },
        max_duration: Duration::from_secs_f64(duration.max(DEFAULT_MAX_DURATION_S)),
    };
    if let Some(pid) = args.pid {
        // --pprof names a Go endpoint: nothing to detect (and another
        // user's executable could not be read to detect it).
        let rt = if args.pprof.is_some() {
            Runtime::Go
        } else {
            runtime::detect(pid)
                .map_err(|e| explain_open_error(pid, e))?
                .runtime
        };
        let source =
            leakwatch_where::open(pid, rt, &opts).map_err(|e| explain_open_error(pid, e))?;
        observe(&args, &settings, source, pid, rt, &stop, None)
    } else {
        let output = if args.json {
            ChildOutput::ToStderr
        } else {
            ChildOutput::Inherit
        };
        let mut launched = launch::launch(&args.command, output)?;
        let pid = launched.pid();
        let found = launched.source(&opts, Duration::from_secs(30));
        let (source, rt) = match found {
            Ok(x) => x,
            Err(e) => {
                launched.stop(Duration::from_secs(3));
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot observe `{}`", args.command.join(" "))));
            }
        };
        observe(&args, &settings, source, pid, rt, &stop, Some(launched))
    }
}

/// A /proc or attach error at the start, with the fix.
fn explain_open_error(pid: i32, e: WhereError) -> anyhow::Error {
    match e {
        WhereError::Gone { .. } => anyhow::anyhow!(
            "no process {pid}: it does not exist or has exited (find the pid with `pgrep -f NAME`)"
        ),
        e if pid == 1 => anyhow::anyhow!(
            "{e}\n(pid 1 is this system's or container's init process, not a service: give the \
             pid of the service itself, e.g. from `pgrep -f NAME`)"
        ),
        e => anyhow::Error::new(e),
    }
}

fn observe(
    args: &WhereArgs,
    settings: &DriveSettings,
    source: Box<dyn GrowthSource>,
    pid: i32,
    rt: Runtime,
    stop: &AtomicBool,
    mut launched: Option<Launched>,
) -> anyhow::Result<u8> {
    let tty = std::io::stderr().is_terminal();
    let duration = settings.duration.as_secs_f64();
    let mut session = Session::new(source, &detector_config(duration), settings.max_keys);
    eprintln!("leakwatch: {}", session.describe());
    eprintln!(
        "leakwatch: polling every {} for {} (Ctrl-C to stop early and report)",
        format::duration(args.interval),
        format::duration(duration)
    );
    let outcome = driver::run(&mut session, settings, stop, |p| {
        if tty {
            progress_line(p);
        }
        if p.stretched {
            if tty {
                eprint!("\r\x1b[K");
            }
            eprintln!(
                "leakwatch: polls pause the target for more than {}% of the interval: polling every {} from now on{}",
                args.pause_budget * 100.0,
                format::duration(p.interval.as_secs_f64()),
                if p.interval.as_secs_f64() * f64::from(POLLS_FOR_A_VERDICT) > duration {
                    format!(
                        " (a verdict needs about {POLLS_FOR_A_VERDICT} polls: {} at this pace; \
                         --pause-budget allows more pause per poll)",
                        format::duration(p.interval.as_secs_f64() * f64::from(POLLS_FOR_A_VERDICT))
                    )
                } else {
                    String::new()
                }
            );
        }
        if let Err(e) = &p.last {
            if tty {
                eprint!("\r\x1b[K");
            }
            eprintln!("leakwatch: poll skipped: {e}");
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    let closed = session.close();
    drop(session);
    // With -- CMD: did the program end by itself?
    let exited = launched.as_mut().and_then(Launched::exited);
    if let Some(l) = launched.as_mut() {
        l.stop(Duration::from_secs(3));
    }
    let Outcome {
        report,
        end,
        interval,
    } = outcome;
    let stopped_early = matches!(end, End::Stopped);
    let (error, natural_exit) = match end {
        End::Failed(WhereError::Gone { .. }) if exited.is_some() => (None, exited),
        End::Failed(e) => (Some(e), None),
        End::Completed | End::Stopped => (None, None),
    };
    if let Some(status) = natural_exit {
        eprintln!("leakwatch: the program exited ({status}); reporting what was judged");
    }
    let error = match (error, closed) {
        (Some(e), _) => Some(anyhow::Error::new(e)),
        (None, Err(e)) if natural_exit.is_none() => {
            Some(anyhow::Error::new(e).context("leaving the target as it was (closing the source)"))
        }
        _ => None,
    };
    // The page after the report: a page that cannot be written (a full
    // disk) must not take the report with it.
    let page_doc = args.html.as_ref().map(|_| {
        let subject = if args.command.is_empty() {
            format!("--pid {pid}")
        } else {
            args.command.join(" ")
        };
        leakwatch_html::where_::where_page(&report, &subject, error.is_none())
    });
    if args.json {
        print_json(
            &report,
            pid,
            rt,
            interval,
            error.as_ref(),
            natural_exit,
            stopped_early,
        );
    } else {
        print_text(&report, interval, args, error.is_some());
    }
    if let (Some(page), Some(doc)) = (&args.html, page_doc) {
        crate::cmd::html::write(page, &doc, false)?;
    }
    if let Some(e) = error {
        let what = if report.polls > 0 {
            format!(
                "the session was cut short after {} polls over {}: only what was judged above \
                 is known",
                report.polls,
                format::duration(report.duration_s)
            )
        } else {
            "nothing was judged".to_owned()
        };
        return Err(e.context(what));
    }
    if !report.judged {
        let pace = if interval.as_secs_f64() > args.interval * 1.001 {
            format!(
                "; polls were spaced to every {} to keep the target's pauses within {}% of the \
                 time, so about {} are needed: give --duration, or a larger --pause-budget",
                format::duration(interval.as_secs_f64()),
                args.pause_budget * 100.0,
                format::duration(interval.as_secs_f64() * f64::from(POLLS_FOR_A_VERDICT))
            )
        } else {
            ": use a longer --duration or a shorter --interval".to_owned()
        };
        eprintln!(
            "leakwatch: not enough data to judge: {} polls over {} (the detector needs 24 polls \
             and 30% of the session of history){pace}",
            report.polls,
            format::duration(report.duration_s)
        );
        return Ok(exit::ERROR);
    }
    Ok(if report.leak { exit::LEAK } else { exit::OK })
}

fn progress_line(p: &Progress) {
    let mut line = format!(
        "\r\x1b[Kwhere: {}  {} polls  {} keys",
        crate::term::progress(p.elapsed.as_secs_f64(), p.total.as_secs_f64()),
        p.polls,
        p.keys
    );
    if let Ok(c) = &p.last {
        if let Some(pause) = c.target_pause {
            line.push_str(&format!(
                "  pause {}",
                format::duration(pause.as_secs_f64())
            ));
        }
    }
    if p.stretched {
        line.push_str(&format!(
            "  (interval stretched to {})",
            format::duration(p.interval.as_secs_f64())
        ));
    }
    eprint!("{line}");
}

/// What to call the keys of a metric, plural.
fn per(metric: &Metric) -> String {
    format!("{} per {}", metric.name, metric.key_kind)
}

fn show_rate(metric: &Metric, k: &KeyedReport) -> String {
    let a = &k.assessment;
    format!(
        "{} (95% CI {} .. {})",
        metric.unit.show_rate(a.rate_per_hour),
        metric.unit.show_rate(a.rate_low_per_hour),
        metric.unit.show_rate(a.rate_high_per_hour)
    )
}

fn print_text(report: &WhereReport, interval: Duration, args: &WhereArgs, cut: bool) {
    let growing: u64 = report.metrics.iter().map(|m| m.states.growing).sum();
    let verdict = if report.leak {
        "LEAK".to_owned()
    } else if !report.judged {
        "not enough data to judge".to_owned()
    } else if growing > 0 {
        format!(
            "no leak{}, but {growing} still growing (a longer --duration tells whether they level off)",
            if cut { " in what was judged" } else { "" }
        )
    } else if cut {
        "no leak in what was judged".to_owned()
    } else {
        "no leak".to_owned()
    };
    let mut cost = format!(
        "longest poll {}",
        format::duration(report.max_poll.as_secs_f64())
    );
    if let Some(p) = report.max_target_pause {
        cost = format!(
            "the target paused at most {} per poll, {cost}",
            format::duration(p.as_secs_f64())
        );
    }
    let tone = if report.leak {
        crate::term::Tone::Bad
    } else if !report.judged || growing > 0 || cut {
        crate::term::Tone::Warn
    } else {
        crate::term::Tone::Good
    };
    let verdict = crate::term::paint(&verdict, tone, crate::term::stdout_color());
    println!("{}", report.source);
    println!(
        "verdict: {verdict}  ({} polls over {}; {cost})",
        report.polls,
        format::duration(report.duration_s)
    );
    if interval.as_secs_f64() > args.interval * 1.001 {
        println!(
            "  (polls were spaced to every {} to keep the target's pauses under {}% of the time)",
            format::duration(interval.as_secs_f64()),
            args.pause_budget * 100.0
        );
    }
    if report.skipped_polls > 0 {
        println!(
            "  ({} polls were skipped: no answer in time)",
            report.skipped_polls
        );
    }
    for m in &report.metrics {
        let growing: Vec<&KeyedReport> = m
            .keys
            .iter()
            .filter(|k| matches!(k.state, LeakState::Leak | LeakState::Growing))
            .collect();
        if growing.is_empty() {
            continue;
        }
        println!();
        println!("growing ({}):", per(&m.metric));
        for (i, k) in growing.iter().enumerate() {
            println!(
                "  {:>2}. {}  {}  now {}  {}",
                i + 1,
                k.key,
                k.state,
                m.metric.unit.show(k.last_value),
                show_rate(&m.metric, k)
            );
            println!("      {}", format::sparkline(&k.series, 40));
            println!("      {}", k.assessment.evidence.reason);
        }
    }
    println!();
    for m in &report.metrics {
        let s = &m.states;
        let mut line = format!(
            "{}: {} followed: {} leak, {} growing, {} levelled off, {} stable",
            per(&m.metric),
            s.total(),
            s.leak,
            s.growing,
            s.plateau,
            s.stable
        );
        if s.collecting > 0 {
            line.push_str(&format!(", {} too new to judge", s.collecting));
        }
        if m.dropped_keys > 0 {
            line.push_str(&format!(
                "; {} smaller ones not followed (--max-keys)",
                m.dropped_keys
            ));
        }
        println!("{line}");
    }
    if !report.next_steps.is_empty()
        && (report.leak || report.metrics.iter().any(|m| m.states.growing > 0))
    {
        println!();
        println!("next:");
        for s in &report.next_steps {
            println!("  {s}");
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn print_json(
    report: &WhereReport,
    pid: i32,
    rt: Runtime,
    interval: Duration,
    error: Option<&anyhow::Error>,
    exited: Option<std::process::ExitStatus>,
    stopped_early: bool,
) {
    let verdict = if report.leak {
        "leak"
    } else if !report.judged {
        "not_enough_data"
    } else {
        "no_leak"
    };
    let metrics: Vec<serde_json::Value> = report
        .metrics
        .iter()
        .map(|m| {
            let keys: Vec<serde_json::Value> = m
                .keys
                .iter()
                .map(|k| {
                    let a = &k.assessment;
                    serde_json::json!({
                        "key": k.key,
                        "state": k.state,
                        "now": k.last_value,
                        "first": k.first_value,
                        "peak": k.peak,
                        "seen_for_s": k.seen_for_s,
                        "growth_per_hour": a.rate_per_hour,
                        "growth_per_hour_ci": [a.rate_low_per_hour, a.rate_high_per_hour],
                        "evidence": a.evidence,
                        "series": k.series,
                    })
                })
                .collect();
            serde_json::json!({
                "name": m.metric.name,
                "unit": m.metric.unit,
                "key_kind": m.metric.key_kind,
                "states": m.states,
                "dropped_keys": m.dropped_keys,
                "keys": keys,
            })
        })
        .collect();
    let v = serde_json::json!({
        "version": 1,
        "pid": pid,
        "runtime": rt,
        "source": report.source,
        "verdict": verdict,
        "complete": error.is_none(),
        "stopped_early": stopped_early,
        "error": error.map(|e| format!("{e:#}")),
        "program_exit": exited.map(|s| s.to_string()),
        "polls": report.polls,
        "skipped_polls": report.skipped_polls,
        "duration_s": report.duration_s,
        "interval_s": interval.as_secs_f64(),
        "max_poll_ms": ms(report.max_poll),
        "max_target_pause_ms": report.max_target_pause.map(ms),
        "metrics": metrics,
        "next_steps": report.next_steps,
    });
    println!("{v}");
}
