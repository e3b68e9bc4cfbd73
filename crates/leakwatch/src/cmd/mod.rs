//! One module per subcommand.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod diff_pprof;
pub mod fleet;
pub mod probe;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod trace;
pub mod watch;
pub mod watch_agent;

use leakwatch_core::{format, Report, Resource, Verdict};

/// The human verdict block shared by `run`, `watch` and `analyze`.
pub fn print_report_text(
    report: &Report,
    samples: u64,
    duration_s: f64,
    sparkline: impl Fn(Resource) -> String,
) {
    let verdict = match (report.verdict, report.state) {
        (Verdict::Leak, _) => "LEAK".to_string(),
        (Verdict::Ok, leakwatch_core::LeakState::Collecting) => {
            "not enough data to judge (a leak needs at least a minute of samples)".to_string()
        }
        (Verdict::Ok, _) => "no leak".to_string(),
    };
    println!(
        "verdict: {verdict}  ({samples} samples over {})",
        format::duration(duration_s)
    );
    if let Some(t) = report.first_alert_s {
        println!("first alert after {}", format::duration(t));
    }
    for r in &report.resources {
        let a = &r.assessment;
        println!();
        println!(
            "  {:<12} {:<10} now {:>10}  rate {} (95% CI {} .. {})",
            r.resource.column(),
            r.state.as_str(),
            r.resource.show(a.current),
            r.resource.show_rate(a.rate_per_hour),
            r.resource.show_rate(a.rate_low_per_hour),
            r.resource.show_rate(a.rate_high_per_hour),
        );
        println!("  {:<12} {}", "", sparkline(r.resource));
        println!("  {:<12} {}", "", a.evidence.reason);
        if let Some(ttl) = a.time_to_limit_s {
            println!("  {:<12} limit reached in ~{}", "", format::duration(ttl));
        }
    }
}

/// The per-resource JSON shared by every report.
pub fn resources_json(report: &Report) -> Vec<serde_json::Value> {
    report
        .resources
        .iter()
        .map(|r| {
            serde_json::json!({
                "resource": r.resource,
                "verdict": r.verdict,
                "first_alert_s": r.first_alert_s,
                "state": r.state,
                "now": r.assessment.current,
                "growth_per_hour": r.growth_per_hour,
                "growth_per_hour_ci": [r.assessment.rate_low_per_hour, r.assessment.rate_high_per_hour],
                "time_to_limit_s": r.assessment.time_to_limit_s,
                "limit": r.assessment.limit,
                "evidence": r.assessment.evidence,
            })
        })
        .collect()
}
