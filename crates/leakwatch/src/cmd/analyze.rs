//! `leakwatch analyze FILE.csv`: replays a recorded series through the detector.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use leakwatch_core::replay::Replay;
use leakwatch_core::{format, Report, Resource, SeriesReader, Verdict};

use crate::exit;

/// Replay a recorded series (CSV from `run --out`, `watch --out` or any
/// monitoring export) through the same online detector.
///
/// The CSV (RFC 4180: quoted fields may hold commas) has a header row; the
/// first column is `t_s` (seconds, from any origin: Unix epoch seconds are
/// shown relative to the first row), then any of rss_bytes, pss_bytes,
/// anon_bytes, swap_bytes, threads, fds, cgroup_bytes, cgroup_anon_bytes.
/// pandas' unnamed index column before `t_s` is skipped; other columns are
/// ignored, except `instance`, `start_time_s` or `pid`: a change of value is
/// a restart of the process, and each lifetime is judged on its own.
/// Without one, restarts are found in the data (a fall to a fresh
/// process's level). The file is streamed: any length fits in a few MiB.
///
/// A monitoring tool's export is read as it comes: a first column named
/// time, timestamp, ts, _time, date or datetime (any case) holding Unix
/// seconds or milliseconds, RFC 3339, or `YYYY-MM-DD HH:MM:SS` in UTC
/// (Grafana, InfluxDB, Netdata), and its memory column (a name with mem,
/// rss, bytes, working_set, heap, used or value in it, else its only value
/// column), read as bytes and shown as rss_bytes. Empty cells and exporters'
/// gap markers (NaN, null, None, -, n/a, Inf) are gaps, not errors.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  leakwatch analyze recording.csv
  leakwatch analyze --json recording.csv | jq .verdict
  leakwatch analyze --season 0 soak.csv          # no daily cycle to wait for
  leakwatch analyze grafana-export.csv           # \"Time\",\"container_memory_working_set_bytes{...}\"
  leakwatch analyze --prometheus http://127.0.0.1:9090 \\
      --query 'container_memory_working_set_bytes{namespace=\"prod\"}' --range 3d

Exit codes: 0 no leak, 1 leak, 2 error or too little data to judge.")]
pub struct AnalyzeArgs {
    /// The CSV file to analyze.
    #[arg(required_unless_present = "prometheus")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: crate::cmd::fleet::FleetArgs,
    /// Print one JSON object instead of text (fields: docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Length of a traffic season (e.g. 24h), or 0 for none. Default: 24h when
    /// samples are 5 s or more apart (production monitoring), none otherwise.
    #[arg(long, value_parser = parse_duration_arg)]
    pub season: Option<f64>,
    /// Also write an HTML report: a self-contained page with each resource
    /// over time, the detector's trend, the alert and the projection to the
    /// limit. Not with --prometheus (no fleet page yet: use --json).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// A duration argument (`90s`, `1h30m`); zero is allowed (e.g. "no season").
pub fn parse_duration_arg(s: &str) -> Result<f64, String> {
    leakwatch_core::format::parse_duration(s).map_err(|e| e.to_string())
}

/// A duration argument that must be longer than zero (intervals, steps, timeouts).
pub fn parse_positive_duration_arg(s: &str) -> Result<f64, String> {
    let d = parse_duration_arg(s)?;
    if d > 0.0 {
        Ok(d)
    } else {
        Err(format!(
            "{s:?} is zero: give a duration longer than 0, e.g. 30s"
        ))
    }
}

/// Version of the `--json` output (docs/json.md).
pub const JSON_VERSION: u32 = 1;

pub fn run(args: AnalyzeArgs) -> anyhow::Result<u8> {
    if args.fleet.prometheus.is_some() {
        // Refused before any query: a page silently not written would let a
        // script publish a stale one.
        if let Some(page) = &args.html {
            anyhow::bail!(
                "--html {} cannot be used with --prometheus: there is no HTML page for a fleet of series yet; use --json (docs/json.md) or text, or export one series to CSV and run `leakwatch analyze FILE.csv --html PAGE`",
                page.display()
            );
        }
        return crate::cmd::fleet::run(&args.fleet, args.json, args.season);
    }
    let path = args
        .file
        .clone()
        .context("give a CSV file or --prometheus URL")?;
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open {}: check the path", path.display()))?;
    let not_series = || format!("{} is not a leakwatch series", path.display());
    let size = file.metadata().map_or(0, |m| m.len());
    let file = crate::term::ProgressReader::new(file, size, "reading the CSV");
    let mut reader = SeriesReader::new(std::io::BufReader::new(file)).with_context(not_series)?;
    if let Some(column) = reader.value_column() {
        eprintln!(
            "leakwatch: {}: a monitoring export: column {column:?} read as memory in bytes (shown as rss_bytes)",
            path.display()
        );
    }
    let mut replay = Replay::new(reader.resources(), args.season);
    let mut page_series = args.html.as_ref().map(|_| {
        leakwatch_html::SeriesSummary::new(
            reader.resources(),
            leakwatch_html::monitor::Origin::FirstRow,
        )
    });
    // Rows stream through the detectors: memory does not grow with the file.
    while let Some(row) = reader.next_row().with_context(not_series)? {
        replay.push_row(row.t_s, row.values, row.identity);
        if let Some(s) = &mut page_series {
            s.push(row.t_s, row.values, row.identity);
        }
    }
    if replay.rows() == 0 {
        anyhow::bail!("{}: no data rows after the header", path.display());
    }
    let identity = reader.identity_column().map(str::to_owned);
    // Clears the progress line, if one was shown, before the report.
    drop(reader);
    let identity = identity.as_deref();
    let report = replay.report();
    let judged = report.judged();
    if let (Some(page), Some(series)) = (&args.html, &page_series) {
        let mut notes = Vec::new();
        if let (true, Some(start)) = (replay.epoch_times(), replay.start_s()) {
            notes.push(format!(
                "times are Unix epoch seconds: shown from the first row ({})",
                format::utc(start)
            ));
        }
        let html = leakwatch_html::monitor_page(&leakwatch_html::MonitorPage {
            command: "analyze",
            subject: &path.display().to_string(),
            report: &report,
            series,
            samples: replay.rows(),
            duration_s: replay.duration_s(),
            notes,
        });
        crate::cmd::html::write(page, &html, false)?;
    }
    let text = if args.json {
        serde_json::to_string_pretty(&json_report(&path, &replay, &report, identity))? + "\n"
    } else {
        text_report(&replay, &report, identity)
    };
    let code = if report.verdict == Verdict::Leak {
        exit::LEAK
    } else if judged {
        exit::OK
    } else {
        exit::ERROR
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        // The reader went away (`| head`): nothing left to tell anyone.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(exit::OK),
        Err(e) => return Err(anyhow::Error::new(e).context("writing the report to stdout")),
    }
    if !judged {
        eprintln!(
            "{}",
            crate::cmd::not_judged_note(
                &path.display().to_string(),
                replay.rows(),
                replay.duration_s(),
                report.restarts,
                "record a longer series"
            )
        );
    }
    Ok(code)
}

fn text_report(replay: &Replay, report: &Report, identity: Option<&str>) -> String {
    let mut out = String::new();
    if let (true, Some(start)) = (replay.epoch_times(), replay.start_s()) {
        out.push_str(&format!(
            "times are Unix epoch seconds: shown from the first row ({})\n",
            format::utc(start)
        ));
    }
    if report.restarts > 0 {
        out.push_str(&format!(
            "restarts: {} (from the {} column; each lifetime judged on its own)\n",
            report.restarts,
            identity.unwrap_or("identity")
        ));
    }
    out.push_str(&crate::cmd::report_text(
        report,
        replay.rows(),
        replay.duration_s(),
        |r| replay.sparkline(r, 60),
    ));
    out
}

fn json_report(
    path: &std::path::Path,
    replay: &Replay,
    report: &Report,
    identity: Option<&str>,
) -> serde_json::Value {
    let resources: Vec<serde_json::Value> = report
        .resources
        .iter()
        .map(|r| {
            let a = &r.assessment;
            let amount = |v: f64| crate::cmd::json_amount(r.resource, v);
            serde_json::json!({
                "resource": r.resource,
                "unit": unit(r.resource),
                "verdict": r.verdict,
                "state": r.state,
                "first_alert_s": r.first_alert_s,
                "current": amount(a.current),
                "growth_per_hour": amount(a.rate_per_hour),
                "growth_per_hour_ci": [amount(a.rate_low_per_hour), amount(a.rate_high_per_hour)],
                "limit": a.limit.map(amount),
                "limit_kind": a.limit_kind,
                "time_to_limit_s": a.time_to_limit_s,
                "lifetimes_ended": a.evidence.lifetimes_ended,
                "reason": a.evidence.reason,
                "evidence": a.evidence,
            })
        })
        .collect();
    serde_json::json!({
        "version": JSON_VERSION,
        "file": path,
        "verdict": crate::cmd::verdict_json(report),
        "state": report.state,
        "first_alert_s": report.first_alert_s,
        "rows": replay.rows(),
        "duration_s": replay.duration_s(),
        "start_unix_s": replay.epoch_times().then(|| replay.start_s()).flatten(),
        "identity_column": identity,
        "restarts": report.restarts,
        "resources": resources,
    })
}

fn unit(r: Resource) -> &'static str {
    match r {
        Resource::Threads => "threads",
        Resource::Fds => "fds",
        _ => "bytes",
    }
}
