//! One module per subcommand.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod diff_pprof;
pub mod fleet;
pub mod html;
pub mod junit;
pub mod probe;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod trace;
mod trace_follow;
pub mod watch;
pub mod watch_agent;
pub mod watch_where;
pub mod where_;

use leakwatch_core::{format, Report, Resource, Verdict};

/// The `verdict` field of the JSON reports: `leak`, `ok` or `not_judged`.
pub fn verdict_json(report: &Report) -> serde_json::Value {
    if report.judged() {
        serde_json::json!(report.verdict)
    } else {
        serde_json::json!("not_judged")
    }
}

/// The stderr line when the data was too short to judge.
pub fn not_judged_note(
    what: &str,
    samples: u64,
    duration_s: f64,
    restarts: u32,
    longer: &str,
) -> String {
    let cfg = leakwatch_core::DetectorConfig::default();
    let why = leakwatch_core::too_short_to_judge(samples, duration_s, restarts.into(), &cfg);
    if restarts > 0 {
        return format!(
            "leakwatch: {what} could not be judged: {why}; sample faster (--interval) so each lifetime holds {} or more (watching longer does not help)",
            cfg.min_samples,
        );
    }
    format!("leakwatch: {what} is too little data to judge ({why}); {longer}")
}

/// The human verdict block shared by `run`, `watch` and `analyze`.
pub fn print_report_text(
    report: &Report,
    samples: u64,
    duration_s: f64,
    sparkline: impl Fn(Resource) -> String,
) {
    print!("{}", report_text(report, samples, duration_s, sparkline));
}

/// [`print_report_text`]'s text, for callers that write it themselves.
pub fn report_text(
    report: &Report,
    samples: u64,
    duration_s: f64,
    sparkline: impl Fn(Resource) -> String,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    use crate::term::{paint, Tone};
    let color = crate::term::stdout_color();
    let verdict = match (report.verdict, report.state) {
        // Called earlier, flat since: still the verdict (an alert fired),
        // but the headline must not read as if it still climbed.
        (Verdict::Leak, leakwatch_core::LeakState::Plateau | leakwatch_core::LeakState::Stable) => {
            format!(
                "{} (called earlier; flat since: it levelled off, so a fill that outlasted the first minute, or a leak that stopped)",
                paint("LEAK", Tone::Bad, color)
            )
        }
        (Verdict::Leak, _) => paint("LEAK", Tone::Bad, color),
        (Verdict::Ok, leakwatch_core::LeakState::Collecting) => paint(
            "not enough data to judge (a leak needs at least a minute of samples)",
            Tone::Warn,
            color,
        ),
        // Rising but not yet shown to be unbounded (too short a climb to
        // be told from a fill that levels off): never "no leak".
        (Verdict::Ok, leakwatch_core::LeakState::Growing) => paint(
            "growing, not yet called a leak (the climb is too short to tell from a fill that levels off: watch longer)",
            Tone::Warn,
            color,
        ),
        (Verdict::Ok, _) => paint("no leak", Tone::Good, color),
    };
    let _ = writeln!(
        out,
        "verdict: {verdict}  ({samples} samples over {})",
        format::duration(duration_s)
    );
    if let Some(t) = report.first_alert_s {
        let _ = writeln!(out, "first alert after {}", format::duration(t));
    }
    for r in &report.resources {
        let a = &r.assessment;
        let _ = writeln!(out);
        let state = format!("{:<10}", r.state.as_str());
        let state = match r.state {
            leakwatch_core::LeakState::Leak => paint(&state, Tone::Bad, color),
            leakwatch_core::LeakState::Growing => paint(&state, Tone::Warn, color),
            _ => state,
        };
        let _ = writeln!(
            out,
            "  {:<12} {} now {:>10}  rate {} (95% CI {} .. {})",
            r.resource.column(),
            state,
            r.resource.show(a.current),
            r.resource.show_rate(a.rate_per_hour),
            r.resource.show_rate(a.rate_low_per_hour),
            r.resource.show_rate(a.rate_high_per_hour),
        );
        let _ = writeln!(out, "  {:<12} {}", "", sparkline(r.resource));
        let _ = writeln!(out, "  {:<12} {}", "", a.evidence.reason);
        let lives = &a.evidence.lifetimes;
        if !lives.is_empty() {
            let climbed = lives.iter().filter(|l| l.climbed).count();
            let mut times = String::new();
            for (i, l) in lives.iter().rev().take(6).enumerate() {
                if i > 0 {
                    times.push_str(", ");
                }
                times.push_str(&format::duration(l.end_s - l.start_s));
            }
            let _ = writeln!(
                out,
                "  {:<12} {} lifetimes ended (restarts), {} of the last {} climbed steadily; time to each restart, latest first: {}",
                "",
                a.evidence.lifetimes_ended,
                climbed,
                lives.len(),
                times
            );
        }
        if let Some(ttl) = a.time_to_limit_s {
            let limit = match (a.limit_kind, a.limit) {
                (Some(kind), Some(v)) => format!(" ({kind}, {})", r.resource.show(v)),
                (None, Some(v)) => format!(" (limit {})", r.resource.show(v)),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:<12} limit reached in ~{}{limit}",
                "",
                format::duration(ttl)
            );
        }
    }
    out
}

/// The per-resource JSON shared by every report.
/// A resource's amount in JSON: bytes are whole numbers, so an integer,
/// and so is any whole count (threads, fds, their limits); a fractional
/// rate stays as it is. Beyond what an i64 holds (data no machine has) the
/// number is kept as it is, never clamped.
pub fn json_amount(resource: leakwatch_core::Resource, v: f64) -> serde_json::Value {
    let v = if resource.is_bytes() { v.round() } else { v };
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.2e18 {
        serde_json::json!(v as i64)
    } else {
        serde_json::json!(v)
    }
}

pub fn resources_json(report: &Report) -> Vec<serde_json::Value> {
    report
        .resources
        .iter()
        .map(|r| {
            let amount = |v: f64| json_amount(r.resource, v);
            serde_json::json!({
                "resource": r.resource,
                "unit": if r.resource.is_bytes() { "bytes" } else { r.resource.column() },
                "verdict": r.verdict,
                "first_alert_s": r.first_alert_s,
                "state": r.state,
                "now": amount(r.assessment.current),
                "growth_per_hour": amount(r.growth_per_hour),
                "growth_per_hour_ci": [amount(r.assessment.rate_low_per_hour), amount(r.assessment.rate_high_per_hour)],
                "time_to_limit_s": r.assessment.time_to_limit_s,
                "limit": r.assessment.limit.map(amount),
                "limit_kind": r.assessment.limit_kind,
                "evidence": r.assessment.evidence,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_split_by_restarts_says_its_lifetimes_were_too_short_not_the_whole() {
        let note = not_judged_note("this watch", 99, 99.0, 4, "watch longer (--duration)");
        assert!(note.contains("4 restart(s)"), "{note}");
        assert!(note.contains("about 20s"), "{note}");
        assert!(note.contains("(19 samples)"), "{note}");
        assert!(note.contains("--interval"), "{note}");
        // No claim that 1m 39s is less than a minute.
        assert!(!note.contains("needs at least 1m"), "{note}");
        let plain = not_judged_note("this run", 10, 3.0, 0, "run longer (--duration)");
        assert!(plain.contains("too little data to judge"), "{plain}");
    }
}
