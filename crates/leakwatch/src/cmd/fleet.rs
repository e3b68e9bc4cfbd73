//! `leakwatch analyze --prometheus URL --query PROMQL`: the detector over
//! every series a Prometheus query returns, ranked (see leakwatch_agent::fleet).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use leakwatch_agent::fleet::{self, FleetQuery};

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

/// Runs fleet analysis; exit code 1 when any series leaks.
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
    if json {
        let mut v = serde_json::to_value(&report)?;
        v["version"] = 1.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", fleet::render_text(&report));
    }
    Ok(if report.leaking_count > 0 {
        exit::LEAK
    } else {
        exit::OK
    })
}
