//! `leakwatch analyze FILE.csv`: replays a recorded series through the detector.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use leakwatch_core::{
    analysis::median_interval, analyze_series, parse_csv, DetectorConfig, Verdict,
};

use crate::exit;

/// Replay a recorded series (CSV from `run --out`, `watch --out` or any
/// monitoring export) through the same online detector.
///
/// The CSV has a header row; the first column is `t_s` (seconds), then any of
/// rss_bytes, pss_bytes, anon_bytes, swap_bytes, threads, fds, cgroup_bytes.
/// Unknown columns are ignored.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The CSV file to analyze.
    #[arg(required_unless_present = "prometheus")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub fleet: crate::cmd::fleet::FleetArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Length of a traffic season (e.g. 24h), or 0 for none. Default: 24h when
    /// samples are 5 s or more apart (production monitoring), none otherwise.
    #[arg(long, value_parser = parse_duration_arg)]
    pub season: Option<f64>,
}

pub fn parse_duration_arg(s: &str) -> Result<f64, String> {
    leakwatch_core::format::parse_duration(s).map_err(|e| e.to_string())
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<u8> {
    if args.fleet.prometheus.is_some() {
        return crate::cmd::fleet::run(&args.fleet, args.json, args.season);
    }
    let path = args
        .file
        .clone()
        .context("give a CSV file or --prometheus URL")?;
    let file = std::fs::File::open(&path)
        .with_context(|| format!("cannot open {}: check the path", path.display()))?;
    let series = parse_csv(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a valid leakwatch series", path.display()))?;
    let mut cfg = DetectorConfig::for_interval(median_interval(&series.t_s));
    if let Some(season) = args.season {
        cfg.season_s = season;
    }
    let report = analyze_series(&series, &cfg);
    let t0 = series.t_s[0];
    let duration_s = series.t_s.last().copied().unwrap_or(t0) - t0;
    if args.json {
        let out = serde_json::json!({
            "file": path,
            "verdict": report.verdict,
            "first_alert_s": report.first_alert_s,
            "state": report.state,
            "samples": series.len(),
            "duration_s": duration_s,
            "restarts": report.restarts,
            "resources": crate::cmd::resources_json(&report),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        crate::cmd::print_report_text(&report, series.len() as u64, duration_s, |r| {
            let values: Vec<f64> = series
                .column(r)
                .unwrap_or(&[])
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            leakwatch_core::format::sparkline(&values, 60)
        });
    }
    Ok(if report.verdict == Verdict::Leak {
        exit::LEAK
    } else {
        exit::OK
    })
}
