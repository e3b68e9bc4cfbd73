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
    if args.json {
        let out = serde_json::json!({
            "file": path,
            "verdict": report.verdict,
            "first_alert_s": report.first_alert_s,
            "samples": series.len(),
            "duration_s": series.t_s.last().unwrap_or(&0.0) - series.t_s[0],
            "resources": report.resources.iter().map(|r| serde_json::json!({
                "resource": r.resource,
                "verdict": r.verdict,
                "first_alert_s": r.first_alert_s,
                "state": r.state,
                "growth_per_hour": r.growth_per_hour,
                "growth_per_hour_ci": [r.assessment.rate_low_per_hour, r.assessment.rate_high_per_hour],
                "evidence": r.assessment.evidence,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        crate::cmd::print_report_text(&report, &series);
    }
    Ok(if report.verdict == Verdict::Leak {
        exit::LEAK
    } else {
        exit::OK
    })
}
