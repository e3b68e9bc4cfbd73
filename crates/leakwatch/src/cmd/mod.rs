//! One module per subcommand.

pub mod analyze;
pub mod fleet;

use leakwatch_core::{format, Report, Series, Verdict};

/// The human verdict block shared by `run` and `analyze`.
pub fn print_report_text(report: &Report, series: &Series) {
    let verdict = match report.verdict {
        Verdict::Leak => "LEAK",
        Verdict::Ok => "no leak",
    };
    let dur =
        series.t_s.last().copied().unwrap_or(0.0) - series.t_s.first().copied().unwrap_or(0.0);
    println!(
        "verdict: {verdict}  ({} samples over {})",
        series.len(),
        format::duration(dur)
    );
    if let Some(t) = report.first_alert_s {
        println!("first alert after {}", format::duration(t - series.t_s[0]));
    }
    for r in &report.resources {
        let values = series.column(r.resource).unwrap_or(&[]);
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
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        println!("  {:<12} {}", "", format::sparkline(&finite, 60));
        println!("  {:<12} {}", "", a.evidence.reason);
        if let Some(ttl) = a.time_to_limit_s {
            println!("  {:<12} limit reached in ~{}", "", format::duration(ttl));
        }
    }
}
