//! The page of `run`, `watch --out` and `analyze`: each resource over time
//! with the detector's lower envelope, trend line and confidence band, the
//! first alert, and the projection to the resource's named limit.
//!
//! The samples come from the recorded CSV, streamed into at most
//! [`MAX_BUCKETS`] time buckets (min, max, mean), so a recording of any
//! length makes a page of the same size; the judgement comes from the
//! command's own [`Report`], never from a second set of thresholds.

use std::io::Read;

use leakwatch_core::{
    format, Assessment, LeakState, Report, Resource, ResourceReport, SeriesReader, Verdict,
};
use maud::{html, Markup, PreEscaped};

use crate::page::{self, Tone};
use crate::svg::{Chart, Style, Unit};
use crate::HtmlError;

/// Buckets kept per recording: enough for a plot 960 pixels wide.
pub const MAX_BUCKETS: usize = 1024;
/// Restarts marked on the charts, at most.
pub const MAX_RESTARTS: usize = 64;

/// Where the page's time axis starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Times as written (`run` and `watch` write seconds since they started,
    /// as their detectors saw them).
    AsWritten,
    /// Seconds since the first row (`analyze`, whose replay does the same).
    FirstRow,
}

#[derive(Debug, Clone)]
struct Bucket {
    t0: f64,
    t1: f64,
    rows: usize,
    /// Per resource: min, max, sum, finite values.
    cols: Vec<(f64, f64, f64, u32)>,
}

/// A recorded series reduced to bounded time buckets.
#[derive(Debug, Clone)]
pub struct SeriesSummary {
    resources: Vec<Resource>,
    buckets: Vec<Bucket>,
    rows_per_bucket: usize,
    restarts: Vec<f64>,
    last_identity: Option<f64>,
    origin: Origin,
    first_t: Option<f64>,
    rows: u64,
}

impl SeriesSummary {
    pub fn new(resources: &[Resource], origin: Origin) -> SeriesSummary {
        SeriesSummary {
            resources: resources.to_vec(),
            buckets: Vec::with_capacity(MAX_BUCKETS),
            rows_per_bucket: 1,
            restarts: Vec::new(),
            last_identity: None,
            origin,
            first_t: None,
            rows: 0,
        }
    }

    /// Streams a recorded CSV (`run --out`, `watch --out`, any `analyze` input).
    pub fn read(input: impl Read, origin: Origin) -> Result<SeriesSummary, HtmlError> {
        let mut reader = SeriesReader::new(input)?;
        let mut s = SeriesSummary::new(reader.resources(), origin);
        while let Some(row) = reader.next_row()? {
            s.push(row.t_s, row.values, row.identity);
        }
        Ok(s)
    }

    /// Adds one row: its time, one value per resource (NaN: not sampled),
    /// and the process identity if known (a change marks a restart).
    pub fn push(&mut self, t_s: f64, values: &[f64], identity: Option<f64>) {
        let first = *self.first_t.get_or_insert(t_s);
        let t = match self.origin {
            Origin::AsWritten => t_s,
            Origin::FirstRow => t_s - first,
        };
        self.rows += 1;
        if let Some(id) = identity {
            if self.last_identity.is_some_and(|last| last != id)
                && self.restarts.len() < MAX_RESTARTS
            {
                self.restarts.push(t);
            }
            self.last_identity = Some(id);
        }
        let cell = |v: f64| {
            if v.is_finite() {
                (v, v, v, 1)
            } else {
                (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0)
            }
        };
        match self.buckets.last_mut() {
            Some(b) if b.rows < self.rows_per_bucket => {
                b.t1 = t;
                b.rows += 1;
                for (c, v) in b.cols.iter_mut().zip(values) {
                    if v.is_finite() {
                        c.0 = c.0.min(*v);
                        c.1 = c.1.max(*v);
                        c.2 += v;
                        c.3 += 1;
                    }
                }
            }
            _ => self.buckets.push(Bucket {
                t0: t,
                t1: t,
                rows: 1,
                cols: values.iter().map(|v| cell(*v)).collect(),
            }),
        }
        let full = self
            .buckets
            .last()
            .is_some_and(|b| b.rows >= self.rows_per_bucket);
        if self.buckets.len() >= MAX_BUCKETS && full {
            self.merge_pairs();
        }
    }

    fn merge_pairs(&mut self) {
        let old = std::mem::take(&mut self.buckets);
        let mut it = old.into_iter();
        while let Some(mut a) = it.next() {
            if let Some(b) = it.next() {
                a.t1 = b.t1;
                a.rows += b.rows;
                for (x, y) in a.cols.iter_mut().zip(&b.cols) {
                    x.0 = x.0.min(y.0);
                    x.1 = x.1.max(y.1);
                    x.2 += y.2;
                    x.3 += y.3;
                }
            }
            self.buckets.push(a);
        }
        self.rows_per_bucket *= 2;
    }

    /// Rows read.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Points kept (at most [`MAX_BUCKETS`]).
    pub fn points(&self) -> usize {
        self.buckets.len()
    }

    /// Times at which the process identity changed.
    pub fn restarts(&self) -> &[f64] {
        &self.restarts
    }

    /// (time, min, max, mean) of each bucket holding values of `r`.
    pub fn column(&self, r: Resource) -> Vec<(f64, f64, f64, f64)> {
        let Some(i) = self.resources.iter().position(|x| *x == r) else {
            return Vec::new();
        };
        self.buckets
            .iter()
            .filter(|b| b.cols[i].3 > 0)
            .map(|b| {
                let c = b.cols[i];
                ((b.t0 + b.t1) / 2.0, c.0, c.1, c.2 / f64::from(c.3))
            })
            .collect()
    }

    /// First and last time.
    fn span(&self) -> (f64, f64) {
        match (self.buckets.first(), self.buckets.last()) {
            (Some(a), Some(b)) => (a.t0, b.t1),
            _ => (0.0, 0.0),
        }
    }
}

/// What the `run`, `watch` or `analyze` page shows.
pub struct MonitorPage<'a> {
    /// `run`, `watch` or `analyze`.
    pub command: &'a str,
    /// The command line, target or file looked at.
    pub subject: &'a str,
    pub report: &'a Report,
    pub series: &'a SeriesSummary,
    pub samples: u64,
    pub duration_s: f64,
    /// Lines shown under the verdict (e.g. how times are shown).
    pub notes: Vec<String>,
}

fn unit_of(r: Resource) -> Unit {
    match r {
        Resource::Threads => Unit::Count("threads"),
        Resource::Fds => Unit::Count("fds"),
        _ => Unit::Bytes,
    }
}

fn title_of(r: Resource) -> &'static str {
    match r {
        Resource::RssBytes => "Resident memory (RSS)",
        Resource::PssBytes => "Proportional set size (PSS)",
        Resource::AnonBytes => "Anonymous memory",
        Resource::SwapBytes => "Swap",
        Resource::Threads => "Threads",
        Resource::Fds => "Open file descriptors",
        Resource::CgroupBytes => "Cgroup memory",
        Resource::CgroupAnonBytes => "Cgroup anonymous memory",
    }
}

/// The detector's trend line, rebuilt from its evidence: the floors sit at
/// the middles of equal slices of the window, the slope is the reported
/// rate, and the intercept is Theil–Sen's (the median of `floor - slope·t`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    pub slope_per_s: f64,
    pub slope_low_per_s: f64,
    pub slope_high_per_s: f64,
    pub intercept: f64,
    /// The window judged, and its middle (where the band's slopes pivot).
    pub t0: f64,
    pub t1: f64,
    pub pivot_t: f64,
}

impl Trend {
    pub fn of(a: &Assessment) -> Option<Trend> {
        let ev = &a.evidence;
        let n = ev.floors.len();
        let (t0, t1) = (ev.window_start_s, ev.window_end_s);
        if n < 2
            || t1.partial_cmp(&t0) != Some(std::cmp::Ordering::Greater)
            || a.state == LeakState::Collecting
        {
            return None;
        }
        let slope = a.rate_per_hour / 3600.0;
        let times = floor_times(a);
        let residuals: Vec<f64> = times
            .iter()
            .zip(&ev.floors)
            .map(|(t, f)| f - slope * t)
            .collect();
        let intercept = leakwatch_core::stats::median(&residuals);
        [slope, intercept]
            .iter()
            .all(|v| v.is_finite())
            .then_some(Trend {
                slope_per_s: slope,
                slope_low_per_s: a.rate_low_per_hour / 3600.0,
                slope_high_per_s: a.rate_high_per_hour / 3600.0,
                intercept,
                t0,
                t1,
                pivot_t: (t0 + t1) / 2.0,
            })
    }

    pub fn at(&self, t: f64) -> f64 {
        self.intercept + self.slope_per_s * t
    }

    /// The 95 % band's (low, high) edges at `t`: lines of the interval's
    /// slopes through the trend at the window's middle.
    pub fn band_at(&self, t: f64) -> (f64, f64) {
        let p = self.at(self.pivot_t);
        let dt = t - self.pivot_t;
        let a = p + self.slope_low_per_s * dt;
        let b = p + self.slope_high_per_s * dt;
        (a.min(b), a.max(b))
    }
}

/// The times of the evidence's floors: middles of equal slices of the window.
fn floor_times(a: &Assessment) -> Vec<f64> {
    let ev = &a.evidence;
    let n = ev.floors.len();
    let slice = (ev.window_end_s - ev.window_start_s) / n as f64;
    (0..n)
        .map(|i| ev.window_start_s + (i as f64 + 0.5) * slice)
        .collect()
}

/// Time to the limit at the interval's (fast, slow) rates: (earliest, latest).
fn time_to_limit_range(a: &Assessment) -> Option<(f64, Option<f64>)> {
    let limit = a.limit?;
    a.time_to_limit_s?;
    let left = (limit - a.current).max(0.0);
    let at = |rate_per_hour: f64| (rate_per_hour > 0.0).then(|| left / rate_per_hour * 3600.0);
    Some((at(a.rate_high_per_hour)?, at(a.rate_low_per_hour)))
}

/// The page.
pub fn monitor_page(p: &MonitorPage<'_>) -> String {
    let r = p.report;
    let collecting = r.verdict == Verdict::Ok && r.state == LeakState::Collecting;
    let (tone, word) = match (r.verdict, collecting) {
        (Verdict::Leak, _) => (Tone::Leak, "LEAK"),
        (_, true) => (Tone::Unknown, "not enough data to judge"),
        // Rising, too short a climb to call: never "no leak".
        _ if r.state == LeakState::Growing => (Tone::Unknown, "growing, not yet called a leak"),
        _ => (Tone::Ok, "no leak"),
    };
    let leaking: Vec<&ResourceReport> = r
        .resources
        .iter()
        .filter(|x| x.verdict == Verdict::Leak)
        .collect();
    let why = match (leaking.first(), r.resources.first()) {
        (Some(x), _) => format!(
            "{} leaks at {}: {}",
            x.resource,
            unit_of(x.resource).show_rate(x.assessment.rate_per_hour),
            x.assessment.evidence.reason
        ),
        (None, Some(x)) if collecting => format!(
            "a leak needs at least a minute of samples; {}: {}",
            x.resource, x.assessment.evidence.reason
        ),
        (None, Some(x)) => format!("{}: {}", x.resource, x.assessment.evidence.reason),
        (None, None) => "no resource was sampled".to_string(),
    };
    let mut details = vec![format!(
        "{} samples over {}",
        p.samples,
        format::duration(p.duration_s)
    )];
    if let Some(t) = r.first_alert_s {
        details.push(format!("first alert after {}", format::duration(t)));
    }
    if let Some(x) = leaking.first() {
        if let Some(line) = limit_line(&x.assessment, x.resource) {
            details.push(line);
        }
    }
    if r.restarts > 0 {
        details.push(format!(
            "{} restarts joined into one history (each lifetime judged on its own)",
            r.restarts
        ));
    }
    details.extend(p.notes.iter().cloned());
    let body = html! {
        (page::verdict(tone, word, &why, &details))
        @for rr in &r.resources {
            (resource_section(rr, p.series))
        }
        @if r.resources.is_empty() {
            p.note { "No resource could be sampled." }
        }
    };
    page::document(p.command, p.subject, body)
}

/// "host memory (15.6 GiB) reached in ~8h (95% CI 6h .. 12h)".
fn limit_line(a: &Assessment, r: Resource) -> Option<String> {
    let ttl = a.time_to_limit_s?;
    let limit = a.limit?;
    let name = a.limit_kind.map_or("the limit", |k| k.describe());
    let range = match time_to_limit_range(a) {
        Some((early, Some(late))) => format!(
            " (95% CI {} .. {})",
            format::duration(early),
            format::duration(late)
        ),
        Some((early, None)) => format!(" (95% CI {} .. never)", format::duration(early)),
        None => String::new(),
    };
    Some(format!(
        "{name} ({}) reached in ~{} at this rate{range}",
        unit_of(r).show(limit),
        format::duration(ttl)
    ))
}

fn state_badge(s: LeakState) -> Markup {
    html! { span.state.(s.as_str()) { (s.as_str()) } }
}

fn resource_section(rr: &ResourceReport, series: &SeriesSummary) -> Markup {
    let a = &rr.assessment;
    let unit = unit_of(rr.resource);
    let ev = &a.evidence;
    let mut facts: Vec<(&str, String)> = vec![
        ("now", unit.show(a.current)),
        ("growth (lower envelope)", unit.show_rate(a.rate_per_hour)),
        (
            "95% CI",
            format!(
                "{} .. {}",
                unit.show_rate(a.rate_low_per_hour),
                unit.show_rate(a.rate_high_per_hour)
            ),
        ),
    ];
    if let Some(t) = rr.first_alert_s {
        facts.push(("first alert", format!("after {}", format::duration(t))));
    }
    if let (Some(limit), Some(kind)) = (a.limit, a.limit_kind) {
        facts.push(("limit", format!("{} ({kind})", unit.show(limit))));
    } else if let Some(limit) = a.limit {
        facts.push(("limit", unit.show(limit)));
    }
    if let Some(ttl) = a.time_to_limit_s {
        facts.push(("limit reached in", format!("~{}", format::duration(ttl))));
    }
    if ev.window_end_s > ev.window_start_s {
        facts.push((
            "window judged",
            format!(
                "{} .. {}",
                format::duration(ev.window_start_s),
                format::duration(ev.window_end_s)
            ),
        ));
        facts.push(("Kendall's tau", format!("{:.2}", ev.kendall_tau)));
        facts.push(("Mann–Kendall z", format!("{:.1}", ev.mann_kendall_z)));
        facts.push(("floor rise", unit.show(ev.floor_rise)));
        facts.push(("noise (1.48·MAD)", unit.show(ev.noise)));
        facts.push((
            "relative growth",
            format!("{:.1}%", ev.relative_growth * 100.0),
        ));
        if let Some(c) = ev.climb_s {
            facts.push(("climbing for", format::duration(c)));
        }
        if let Some(pr) = ev.pace_ratio {
            facts.push(("pace vs before", format!("{pr:.2}")));
        }
    }
    if ev.lifetimes_ended > 0 {
        let climbed = ev.lifetimes.iter().filter(|l| l.climbed).count();
        facts.push((
            "lifetimes ended",
            format!(
                "{} ({} of the last {} climbed)",
                ev.lifetimes_ended,
                climbed,
                ev.lifetimes.len()
            ),
        ));
    }
    let projection = projection_chart(rr, series);
    html! {
        section.card {
            div.head {
                h2 { (title_of(rr.resource)) " " span.muted.mono { (rr.resource.column()) } }
                (state_badge(rr.state))
            }
            p.reason { (ev.reason) }
            (page::facts(&facts))
            h3 { "Over time" }
            (PreEscaped(over_time_chart(rr, series)))
            @if let Some(chart) = projection {
                h3 { "Projection to the limit" }
                @if let Some(line) = limit_line(a, rr.resource) {
                    p.note { (line) }
                }
                (PreEscaped(chart))
            }
        }
    }
}

fn over_time_chart(rr: &ResourceReport, series: &SeriesSummary) -> String {
    let a = &rr.assessment;
    let unit = unit_of(rr.resource);
    let col = series.column(rr.resource);
    let (mut t0, mut t1) = series.span();
    let trend = Trend::of(a);
    let floors: Vec<(f64, f64)> = if trend.is_some() {
        floor_times(a)
            .into_iter()
            .zip(a.evidence.floors.iter().copied())
            .collect()
    } else {
        Vec::new()
    };
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &(_, mn, mx, _) in &col {
        lo = lo.min(mn);
        hi = hi.max(mx);
    }
    for &(t, f) in &floors {
        lo = lo.min(f);
        hi = hi.max(f);
        t0 = t0.min(t);
        t1 = t1.max(t);
    }
    if let Some(tr) = &trend {
        for t in [tr.t0, tr.t1] {
            let (a, b) = tr.band_at(t);
            for v in [tr.at(t), a, b] {
                // The band may reach far outside the data: keep it from
                // flattening the samples.
                if v.is_finite()
                    && (hi - lo).is_finite()
                    && v >= lo - (hi - lo)
                    && v <= hi + (hi - lo)
                {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    if !lo.is_finite() {
        lo = a.current;
        hi = a.current;
    }
    let name = rr.resource.column();
    let mut c = Chart::new(
        &format!("{} over time", title_of(rr.resource)),
        (t0, t1),
        (lo, hi),
        unit,
    );
    let mins: Vec<(f64, f64)> = col.iter().map(|p| (p.0, p.1)).collect();
    let maxs: Vec<(f64, f64)> = col.iter().map(|p| (p.0, p.2)).collect();
    let means: Vec<(f64, f64)> = col.iter().map(|p| (p.0, p.3)).collect();
    let several = col.len() < series.rows() as usize;
    if several {
        c.band(&mins, &maxs, Style::Range, "samples: min–max per point");
    }
    c.line(
        &means,
        Style::Mean,
        if several {
            "samples (mean per point)"
        } else {
            "samples"
        },
    );
    if let Some(tr) = &trend {
        let ts: Vec<f64> = (0..=24)
            .map(|i| tr.t0 + (tr.t1 - tr.t0) * f64::from(i) / 24.0)
            .collect();
        let band_lo: Vec<(f64, f64)> = ts.iter().map(|t| (*t, tr.band_at(*t).0)).collect();
        let band_hi: Vec<(f64, f64)> = ts.iter().map(|t| (*t, tr.band_at(*t).1)).collect();
        c.band(
            &band_lo,
            &band_hi,
            Style::Band,
            "trend: 95% confidence band",
        );
        c.line(
            &[(tr.t0, tr.at(tr.t0)), (tr.t1, tr.at(tr.t1))],
            Style::Trend,
            &format!("trend (Theil–Sen) {}", unit.show_rate(a.rate_per_hour)),
        );
        c.dots(
            &floors,
            Style::Envelope,
            "lower envelope (floor of each slice)",
        );
    }
    for t in series.restarts() {
        c.vline(*t, Style::Restart, "restart");
    }
    if let Some(t) = rr.first_alert_s {
        c.vline(
            t,
            Style::Alert,
            &format!("first alert {}", format::duration(t)),
        );
    }
    c.hover(&format!("{name} mean"), &means);
    if several {
        c.hover(&format!("{name} min"), &mins);
        c.hover(&format!("{name} max"), &maxs);
    }
    if !floors.is_empty() {
        c.hover("lower envelope", &floors);
    }
    c.render()
}

fn projection_chart(rr: &ResourceReport, series: &SeriesSummary) -> Option<String> {
    let a = &rr.assessment;
    let ttl = a.time_to_limit_s?;
    let limit = a.limit?;
    if !(ttl.is_finite() && limit.is_finite() && limit > 0.0) {
        return None;
    }
    let unit = unit_of(rr.resource);
    let col = series.column(rr.resource);
    let (t0, t_end) = series.span();
    let t_end = t_end.max(a.evidence.window_end_s);
    let hit = t_end + ttl;
    let x1 = hit + (hit - t0) * 0.12;
    let limit_name = a.limit_kind.map_or("limit", |k| k.describe());
    let mut c = Chart::new(
        &format!("{} projected to the {limit_name}", title_of(rr.resource)),
        (t0, x1),
        (0.0, limit * 1.06),
        unit,
    );
    let means: Vec<(f64, f64)> = col.iter().map(|p| (p.0, p.3)).collect();
    c.line(&means, Style::Mean, "samples");
    let start = (t_end, a.current);
    let capped = |slope_per_s: f64, t: f64| (a.current + slope_per_s * (t - t_end)).min(limit);
    let ts: Vec<f64> = (0..=48)
        .map(|i| t_end + (x1 - t_end) * f64::from(i) / 48.0)
        .collect();
    let lo: Vec<(f64, f64)> = ts
        .iter()
        .map(|t| (*t, capped(a.rate_low_per_hour.max(0.0) / 3600.0, *t)))
        .collect();
    let hi: Vec<(f64, f64)> = ts
        .iter()
        .map(|t| (*t, capped(a.rate_high_per_hour / 3600.0, *t)))
        .collect();
    c.band(&lo, &hi, Style::Band, "95% confidence band of the rate");
    c.line(
        &[start, (hit, limit)],
        Style::Projection,
        &format!("projection at {}", unit.show_rate(a.rate_per_hour)),
    );
    c.hline(
        limit,
        Style::Limit,
        &format!("{limit_name}: {}", unit.show(limit)),
    );
    c.point(
        hit,
        limit,
        Style::Alert,
        &format!("limit in ~{}", format::duration(ttl)),
    );
    c.hover(rr.resource.column(), &means);
    c.hover("projection", &[start, (hit, limit)]);
    Some(c.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::{DetectorConfig, LimitKind, ResourceSet};

    /// A real judgement: a steady leak of 1 MiB per minute at 1 Hz, with a
    /// saw-tooth on top, fed through the core's detectors.
    fn leaking_run() -> (Report, SeriesSummary) {
        let resources = [Resource::RssBytes, Resource::Fds];
        let cfg = DetectorConfig::for_interval(1.0);
        let mut set = ResourceSet::new(&resources, &cfg);
        set.set_named_limit(
            Resource::RssBytes,
            Some(2.0 * 1024.0 * 1024.0 * 1024.0),
            LimitKind::CgroupMemory,
        );
        let mut s = SeriesSummary::new(&resources, Origin::AsWritten);
        for i in 0..600 {
            let t = f64::from(i);
            let rss = 50e6 + t * 1048576.0 / 60.0 + f64::from(i % 7) * 200_000.0;
            let fds = 12.0;
            set.push(Resource::RssBytes, t, rss);
            set.push(Resource::Fds, t, fds);
            s.push(t, &[rss, fds], Some(1.0));
        }
        (set.report(), s)
    }

    #[test]
    fn summary_is_bounded_and_keeps_extremes() {
        let mut s = SeriesSummary::new(&[Resource::RssBytes], Origin::FirstRow);
        let n: u32 = 100_000;
        for i in 0..n {
            let v = if i == 54_321 { 9e9 } else { 1e6 };
            s.push(1000.0 + f64::from(i), &[v], Some(f64::from(i / 50_000)));
        }
        assert!(s.points() <= MAX_BUCKETS && s.points() >= MAX_BUCKETS / 2);
        assert_eq!(s.rows(), u64::from(n));
        let col = s.column(Resource::RssBytes);
        assert_eq!(col.iter().map(|p| p.2).fold(0.0, f64::max), 9e9);
        assert!(col[0].0 < 100.0, "times start at the first row");
        assert_eq!(s.restarts(), &[50_000.0]);
    }

    #[test]
    fn trend_passes_through_the_floors() {
        let (report, _) = leaking_run();
        let rss = &report.resources[0];
        assert_eq!(
            rss.verdict,
            Verdict::Leak,
            "{}",
            rss.assessment.evidence.reason
        );
        let tr = Trend::of(&rss.assessment).unwrap();
        let times = floor_times(&rss.assessment);
        for (t, f) in times.iter().zip(&rss.assessment.evidence.floors) {
            // The floors of a steady leak lie on the line, within the saw-tooth.
            assert!((tr.at(*t) - f).abs() < 1.5e6, "{t}: {} vs {f}", tr.at(*t));
        }
        let (lo, hi) = tr.band_at(tr.t1);
        assert!(lo <= tr.at(tr.t1) && tr.at(tr.t1) <= hi);
    }

    #[test]
    fn leak_page_shows_verdict_evidence_alert_and_named_limit() {
        let (report, series) = leaking_run();
        let html = monitor_page(&MonitorPage {
            command: "run",
            subject: "python3 leak.py --name '<script>alert(1)</script>'",
            report: &report,
            series: &series,
            samples: 600,
            duration_s: 599.0,
            notes: vec![],
        });
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(">LEAK<"));
        assert!(html.contains("rss_bytes leaks at"));
        assert!(html.contains("lower envelope (floor of each slice)"));
        assert!(html.contains("trend: 95% confidence band"));
        assert!(html.contains("first alert "));
        assert!(html.contains("cgroup memory limit (2.0 GiB) reached in ~"));
        assert!(html.contains("Projection to the limit"));
        assert!(html.contains("Open file descriptors"));
        // Hostile input is text, never markup.
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        crate::tests::assert_offline(&html);
    }

    #[test]
    fn short_run_says_not_enough_data() {
        let resources = [Resource::RssBytes];
        let mut set = ResourceSet::new(&resources, &DetectorConfig::for_interval(1.0));
        let mut s = SeriesSummary::new(&resources, Origin::AsWritten);
        for i in 0..5 {
            set.push(Resource::RssBytes, f64::from(i), 1e6);
            s.push(f64::from(i), &[1e6], None);
        }
        let report = set.report();
        let html = monitor_page(&MonitorPage {
            command: "analyze",
            subject: "short.csv",
            report: &report,
            series: &s,
            samples: 5,
            duration_s: 4.0,
            notes: vec!["times are Unix epoch seconds".into()],
        });
        assert!(html.contains("not enough data to judge"));
        assert!(!html.contains("Projection to the limit"));
        assert!(html.contains("times are Unix epoch seconds"));
    }
}
