//! `leakwatch analyze --prometheus URL --query PROMQL`: the detector over
//! every series a Prometheus query returns, ranked (see leakwatch_agent::fleet).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use leakwatch_agent::fleet::{self, FleetQuery, FleetReport, FleetVerdict};

use crate::exit;

/// Flags of fleet analysis, flattened into `analyze`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Pull series from this Prometheus server instead of reading a file
    /// (base URL, e.g. http://127.0.0.1:9090).
    #[arg(long, value_name = "URL", requires = "query")]
    pub prometheus: Option<String>,
    /// PromQL returning the series to judge, e.g.
    /// 'container_memory_working_set_bytes{namespace="prod"}'.
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub query: Option<String>,
    /// How far back to look from --end (e.g. 3d, 6h).
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_positive_duration_arg)]
    pub range: f64,
    /// Resolution of the pulled series; long ranges are split into queries of
    /// at most 10,000 points per series.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive_duration_arg)]
    pub step: f64,
    /// End of the range as Unix seconds (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub end: Option<f64>,
    /// PromQL giving each series' limit, matched on the other labels, for
    /// time-to-limit (e.g. container_spec_memory_limit_bytes).
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub limit_query: Option<String>,
    /// PromQL giving each series' start time in Unix seconds, matched on
    /// the other labels: a change is a restart, and series that differ only
    /// in a container's id or runtime name are joined into one history.
    /// `none` to find restarts in the data only.
    #[arg(long, value_name = "PROMQL", requires = "prometheus", default_value = fleet::DEFAULT_START_QUERY)]
    pub start_query: String,
    /// Give up on one HTTP request after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_positive_duration_arg)]
    pub timeout: f64,
}

use crate::cmd::analyze::parse_positive_duration_arg;

/// Runs fleet analysis: exit code 1 when any series leaks, 0 when the
/// judged ones do not, 2 when none could be judged (no series matched, or
/// all too short), as for any other input too short to judge.
pub fn run(args: &FleetArgs, json: bool, season: Option<f64>) -> anyhow::Result<u8> {
    let url = args
        .prometheus
        .clone()
        .context("--prometheus URL is needed for fleet analysis")?;
    let query = args
        .query
        .clone()
        .context("--query PROMQL is needed with --prometheus")?;
    let end_s = match args.end {
        Some(e) => e,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_secs_f64(),
    };
    let q = FleetQuery {
        url,
        query,
        start_s: end_s - args.range,
        end_s,
        step_s: args.step,
        season_s: season,
        limit_query: args.limit_query.clone(),
        start_query: (!args.start_query.trim().is_empty() && args.start_query.trim() != "none")
            .then(|| args.start_query.clone()),
        timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
    };
    let report = fleet::analyze(&q).context("fleet analysis failed")?;
    // A partial answer (a store down, a limit hit) must not pass as complete.
    for warning in &report.warnings {
        eprintln!("leakwatch: Prometheus warned: {warning}");
    }
    let text = if json {
        let mut v = serde_json::to_value(&report)?;
        v["version"] = crate::cmd::analyze::JSON_VERSION.into();
        whole_bytes(&mut v);
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        fleet::render_text(&report)
    };
    let code = exit::write_stdout(text.as_bytes())?;
    if code != exit::OK {
        return Ok(code);
    }
    if let Some(note) = not_judged_note(&report) {
        eprintln!("{note}");
    }
    Ok(match report.verdict {
        FleetVerdict::Leak => exit::LEAK,
        FleetVerdict::Ok => exit::OK,
        FleetVerdict::NotJudged => exit::ERROR,
    })
}

/// The stderr line when some or all series could not be judged: what
/// happened and what to do.
fn not_judged_note(report: &FleetReport) -> Option<String> {
    use leakwatch_core::format::utc;
    let min =
        leakwatch_core::format::duration(leakwatch_core::DetectorConfig::default().min_duration_s);
    if report.results.is_empty() {
        return Some(format!(
            "leakwatch: nothing judged: the query {:?} matched no series with samples from {} to {}; check the query and the metric name (try it in Prometheus' own query page), or widen --range (or move --end)",
            report.query,
            utc(report.start_s),
            utc(report.end_s),
        ));
    }
    match report.not_judged_count {
        0 => None,
        n if n == report.series_count => Some(format!(
            "leakwatch: nothing judged: {} had too little data to judge (a leak needs at least {min} of samples per lifetime; each series' reason says more); widen --range",
            if n == 1 {
                "the only series".to_string()
            } else {
                format!("all {n} series")
            },
        )),
        n => Some(format!(
            "leakwatch: {n} of {} series not judged (too little data; each one's reason says why); the verdict is on the other {}",
            report.series_count,
            report.series_count - n,
        )),
    }
}

/// Byte amounts are integers in every JSON report (docs/json.md): a
/// result whose unit is bytes gets its `current`, `limit`, rate and rate
/// interval rounded, as `run`, `watch` and `analyze` of a CSV do.
fn whole_bytes(v: &mut serde_json::Value) {
    let Some(results) = v.get_mut("results").and_then(|r| r.as_array_mut()) else {
        return;
    };
    for r in results {
        if r.get("unit").and_then(|u| u.as_str()) != Some("bytes") {
            continue;
        }
        let whole = |x: &serde_json::Value| match x.as_f64() {
            Some(f) => crate::cmd::json_amount(leakwatch_core::Resource::RssBytes, f),
            None => x.clone(),
        };
        for key in ["current", "limit", "growth_per_hour"] {
            if let Some(x) = r.get(key) {
                let w = whole(x);
                r[key] = w;
            }
        }
        if let Some(ci) = r
            .get_mut("growth_per_hour_ci")
            .and_then(|c| c.as_array_mut())
        {
            for x in ci.iter_mut() {
                *x = whole(x);
            }
        }
    }
}
