//! The page of `where`: per metric, the classes or allocation sites that
//! grow, ranked as the session ranked them, with their series over the
//! session, the detector's trend, and what to run next.

use leakwatch_core::{format, KeyedReport, LeakState};
use leakwatch_where::{Metric, Unit as WhereUnit, WhereReport};
use maud::{html, Markup, PreEscaped};

use crate::monitor::Trend;
use crate::page::{self, Tone};
use crate::svg::{Chart, Style, Unit, SERIES_COLOURS};

/// Keys drawn in a metric's chart, and keys given a chart of their own.
pub const CHART_KEYS: usize = SERIES_COLOURS;
pub const DETAIL_KEYS: usize = 5;

fn unit_of(m: &Metric) -> Unit {
    match m.unit {
        WhereUnit::Bytes => Unit::Bytes,
        WhereUnit::Objects => Unit::Count("objects"),
        WhereUnit::Goroutines => Unit::Count("goroutines"),
    }
}

/// A key's series on the session's clock: its points spread evenly over
/// the time it was seen, which ends with the session.
fn points(k: &KeyedReport, session_s: f64) -> Vec<(f64, f64)> {
    let n = k.series.len();
    let start = (session_s - k.seen_for_s).max(0.0);
    let step = if n > 1 {
        k.seen_for_s / (n - 1) as f64
    } else {
        0.0
    };
    k.series
        .iter()
        .enumerate()
        .map(|(i, v)| (start + i as f64 * step, *v))
        .collect()
}

fn growing(keys: &[KeyedReport]) -> Vec<&KeyedReport> {
    keys.iter()
        .filter(|k| matches!(k.state, LeakState::Leak | LeakState::Growing))
        .collect()
}

/// The page; `subject` names the process (pid, command line), `complete`
/// is false when the session was cut short by an error.
pub fn where_page(r: &WhereReport, subject: &str, complete: bool) -> String {
    let n_growing: usize = r.metrics.iter().map(|m| growing(&m.keys).len()).sum();
    let (tone, word) = if r.leak {
        (Tone::Leak, "LEAK")
    } else if !r.judged {
        (Tone::Unknown, "not enough data to judge")
    } else {
        (Tone::Ok, "no leak")
    };
    let why = match r.leaks().next() {
        Some((m, k)) => format!(
            "{} {} grows without bound: {}",
            m.key_kind, k.key, k.assessment.evidence.reason
        ),
        None if !r.judged => format!(
            "{} polls over {}: the detector needs 24 polls and 30% of the session of history",
            r.polls,
            format::duration(r.duration_s)
        ),
        None if n_growing > 0 => {
            format!("{n_growing} still growing: a longer --duration tells whether they level off")
        }
        None => "nothing grows without bound".to_string(),
    };
    let mut details = vec![format!(
        "{}; {} polls over {}; longest poll {}{}",
        r.source,
        r.polls,
        format::duration(r.duration_s),
        format::duration(r.max_poll.as_secs_f64()),
        r.max_target_pause
            .map(|p| format!(
                ", the target paused at most {} per poll",
                format::duration(p.as_secs_f64())
            ))
            .unwrap_or_default()
    )];
    if !complete {
        details.push("the session was cut short: only what was judged is shown".to_string());
    }
    if r.skipped_polls > 0 {
        details.push(format!(
            "{} polls skipped (no answer in time)",
            r.skipped_polls
        ));
    }
    let body = html! {
        (page::verdict(tone, word, &why, &details))
        @for m in &r.metrics {
            (metric_section(m, r.duration_s))
        }
        @if !r.next_steps.is_empty() && n_growing > 0 {
            h2 { "Next" }
            ul { @for s in &r.next_steps { li { code { (s) } } } }
        }
    };
    page::document("where", subject, body)
}

fn metric_section(m: &leakwatch_where::MetricReport, session_s: f64) -> Markup {
    let unit = unit_of(&m.metric);
    let keys = growing(&m.keys);
    let s = &m.states;
    let title = format!("{} per {}", m.metric.name, m.metric.key_kind);
    html! {
        h2 { (title) }
        p.note {
            (s.total()) " followed: " (s.leak) " leak, " (s.growing) " growing, " (s.plateau) " levelled off, " (s.stable) " stable"
            @if s.collecting > 0 { ", " (s.collecting) " too new to judge" }
            @if m.dropped_keys > 0 { "; " (m.dropped_keys) " smaller ones not followed (--max-keys)" }
        }
        @if keys.is_empty() {
            p.note { "None grows." }
        } @else {
            (PreEscaped(combined_chart(&title, &keys, unit, session_s)))
            table {
                thead { tr { th { "#" } th { (m.metric.key_kind) } th { "state" } th.num { "now" } th.num { "growth" } th.num { "95% CI" } th { "why" } } }
                tbody {
                    @for (i, k) in keys.iter().enumerate() {
                        tr.grow[k.state == LeakState::Leak] {
                            td.num { (i + 1) }
                            td.mono { (k.key) }
                            td { span.state.(k.state.as_str()) { (k.state.as_str()) } }
                            td.num { (unit.show(k.last_value)) }
                            td.num { (unit.show_rate(k.assessment.rate_per_hour)) }
                            td.num { (unit.show_rate(k.assessment.rate_low_per_hour)) " .. " (unit.show_rate(k.assessment.rate_high_per_hour)) }
                            td.note { (k.assessment.evidence.reason) }
                        }
                    }
                }
            }
            @for (i, k) in keys.iter().take(DETAIL_KEYS).enumerate() {
                h3 { "#" (i + 1) " " span.mono { (k.key) } }
                (PreEscaped(key_chart(k, unit, session_s)))
            }
        }
    }
}

fn combined_chart(title: &str, keys: &[&KeyedReport], unit: Unit, session_s: f64) -> String {
    let shown = &keys[..keys.len().min(CHART_KEYS)];
    let hi = shown
        .iter()
        .flat_map(|k| k.series.iter().copied().chain([k.peak, k.last_value]))
        .fold(0.0, f64::max);
    let mut c = Chart::new(title, (0.0, session_s), (0.0, hi), unit);
    for (i, k) in shown.iter().enumerate() {
        let pts = points(k, session_s);
        c.line(&pts, Style::Series(i), &format!("#{} {}", i + 1, k.key));
        c.hover(&format!("#{}", i + 1), &pts);
    }
    c.render()
}

fn key_chart(k: &KeyedReport, unit: Unit, session_s: f64) -> String {
    let pts = points(k, session_s);
    let a = &k.assessment;
    let trend = Trend::of(a);
    let (mut lo, mut hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.1), h.max(p.1))
        });
    if let Some(tr) = &trend {
        for t in [tr.t0, tr.t1] {
            lo = lo.min(tr.at(t));
            hi = hi.max(tr.at(t));
        }
    }
    let mut c = Chart::new(&k.key, (0.0, session_s), (lo, hi), unit).with_height(200.0);
    c.line(&pts, Style::Mean, "series");
    if let Some(tr) = &trend {
        let ts: Vec<f64> = (0..=16)
            .map(|i| tr.t0 + (tr.t1 - tr.t0) * f64::from(i) / 16.0)
            .collect();
        let blo: Vec<(f64, f64)> = ts.iter().map(|t| (*t, tr.band_at(*t).0)).collect();
        let bhi: Vec<(f64, f64)> = ts.iter().map(|t| (*t, tr.band_at(*t).1)).collect();
        c.band(&blo, &bhi, Style::Band, "trend: 95% confidence band");
        c.line(
            &[(tr.t0, tr.at(tr.t0)), (tr.t1, tr.at(tr.t1))],
            Style::Trend,
            &format!("trend {}", unit.show_rate(a.rate_per_hour)),
        );
    }
    if let Some(t) = a.first_alert_s {
        c.vline(t, Style::Alert, &format!("alert {}", format::duration(t)));
    }
    c.hover(&k.key, &pts);
    c.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::{DetectorConfig, KeyedDetectors};
    use leakwatch_where::{MetricReport, StateCounts};
    use std::time::Duration;

    #[test]
    fn page_ranks_growing_keys_with_their_series() {
        let mut kd = KeyedDetectors::new(DetectorConfig::for_interval(2.0), 100);
        for i in 0..120 {
            let t = f64::from(i) * 2.0;
            kd.begin_poll(t);
            kd.push("com.example.<Leaky>", 1e6 + t * 5000.0);
            kd.push("java.lang.String", 2e6 + f64::from(i % 3) * 1000.0);
            kd.end_poll();
        }
        let keys = kd.ranked(10);
        let metric = Metric {
            name: "bytes",
            unit: WhereUnit::Bytes,
            key_kind: "class",
        };
        let r = WhereReport {
            source: "JVM (HotSpot attach: GC.class_histogram)".into(),
            polls: 120,
            duration_s: 238.0,
            leak: keys.iter().any(|k| k.state == LeakState::Leak),
            metrics: vec![MetricReport {
                metric,
                keys,
                dropped_keys: 0,
                states: StateCounts::default(),
            }],
            max_poll: Duration::from_millis(12),
            max_target_pause: None,
            next_steps: vec!["leakwatch snapshot --pid 1".into()],
            skipped_polls: 0,
            keys: 2,
            judged: true,
        };
        assert!(r.leak, "a steady climb is a leak");
        let html = where_page(&r, "--pid 4242", true);
        assert!(html.contains(">LEAK<"));
        assert!(html.contains("bytes per class"));
        assert!(html.contains("#1 com.example.&lt;Leaky&gt;"));
        assert!(!html.contains("<Leaky>"));
        assert!(
            !html.contains(">java.lang.String<"),
            "a stable class is not listed"
        );
        assert!(html.contains("leakwatch snapshot --pid 1"));
        assert!(html.contains("trend: 95% confidence band"));
        crate::tests::assert_offline(&html);
    }
}
