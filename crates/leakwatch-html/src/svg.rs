//! A small SVG line-chart writer: axes with unit-aware ticks, shaded bands,
//! lines, dots, vertical and horizontal markers, a legend, and the data the
//! page's script needs for hover values.
//!
//! Hand-made rather than a plotting crate: the charts are a few dozen
//! elements each, the output is a few kilobytes, and the page's script
//! needs the data mapping (carried in `data-` attributes), which plotting
//! crates do not expose. Every text that goes into the SVG passes through
//! [`esc`]; numbers are written by `format!` and cannot inject markup.

use std::fmt::Write as _;

use leakwatch_core::format;

/// What the values of an axis are, for ticks, labels and hover values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Bytes,
    /// A count (threads, fds, objects); the word names what is counted.
    Count(&'static str),
    Seconds,
}

impl Unit {
    /// A value for people, as the page's text shows it.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Bytes => format::bytes(v),
            Unit::Count(_) => {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.1}")
                }
            }
            Unit::Seconds => format::duration(v),
        }
    }

    /// A rate per hour for people.
    pub fn show_rate(self, per_hour: f64) -> String {
        let sign = if per_hour > 0.0 { "+" } else { "" };
        match self {
            Unit::Bytes => format!("{sign}{}/h", format::bytes(per_hour)),
            Unit::Count(what) => format!("{per_hour:+.1} {what}/h"),
            Unit::Seconds => format!("{sign}{}/h", format::duration(per_hour)),
        }
    }

    /// The name the page's script uses to format hover values.
    fn script_name(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Count(_) => "count",
            Unit::Seconds => "seconds",
        }
    }
}

/// Escapes text for SVG/HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no place in a picture.
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A drawing style: the CSS class of the element and its legend swatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The samples' min–max range (light fill).
    Range,
    /// The samples' mean (the main line).
    Mean,
    /// The detector's lower envelope (dots joined).
    Envelope,
    /// The trend line (Theil–Sen).
    Trend,
    /// The trend's 95 % confidence band.
    Band,
    /// A projection into the future (dashed).
    Projection,
    /// The resource's limit.
    Limit,
    /// The first leak alert.
    Alert,
    /// A restart of the process.
    Restart,
    /// Another series (several per chart, e.g. growing sites), by index.
    Series(usize),
}

impl Style {
    fn class(self) -> String {
        match self {
            Style::Range => "range".into(),
            Style::Mean => "mean".into(),
            Style::Envelope => "env".into(),
            Style::Trend => "trend".into(),
            Style::Band => "band".into(),
            Style::Projection => "proj".into(),
            Style::Limit => "limit".into(),
            Style::Alert => "alert".into(),
            Style::Restart => "restart".into(),
            Style::Series(i) => format!("s{}", i % SERIES_COLOURS),
        }
    }
}

/// Colours of [`Style::Series`] before they repeat (the page's CSS has as many).
pub const SERIES_COLOURS: usize = 8;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// One chart; elements are drawn in the order they are added.
pub struct Chart {
    title: String,
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
    y_unit: Unit,
    body: String,
    legend: Vec<(Style, String)>,
    /// Series offered to the hover read-out: name and points.
    hover: Vec<(String, Vec<(f64, f64)>)>,
}

impl Chart {
    /// A chart of `title` over times `x` (seconds) and values `y` in `y_unit`.
    /// Empty or reversed ranges are widened so that nothing divides by zero.
    pub fn new(title: &str, x: (f64, f64), y: (f64, f64), y_unit: Unit) -> Chart {
        let widen = |(lo, hi): (f64, f64), pad: f64| {
            let (lo, hi) = if lo.is_finite() && hi.is_finite() {
                (lo.min(hi), lo.max(hi))
            } else {
                (0.0, 1.0)
            };
            if hi - lo > 0.0 {
                (lo, hi)
            } else {
                let d = (lo.abs() * 0.05).max(pad);
                (lo - d, hi + d)
            }
        };
        let x = widen(x, 1.0);
        let y = widen(y, 1.0);
        let (ylo, yhi) = nice_range(y.0, y.1, y_unit);
        Chart {
            title: title.to_string(),
            height: 300.0,
            x,
            y: (ylo, yhi),
            y_unit,
            body: String::new(),
            legend: Vec::new(),
            hover: Vec::new(),
        }
    }

    /// A shorter chart (for small multiples).
    pub fn with_height(mut self, h: f64) -> Chart {
        self.height = h.max(120.0);
        self
    }

    fn px(&self, t: f64) -> f64 {
        LEFT + (t - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, v: f64) -> f64 {
        let plot = self.height - TOP - BOTTOM;
        TOP + plot - (v - self.y.0) / (self.y.1 - self.y.0) * plot
    }

    fn legend_entry(&mut self, style: Style, label: &str) {
        if !label.is_empty() && !self.legend.iter().any(|(s, l)| *s == style && l == label) {
            self.legend.push((style, label.to_string()));
        }
    }

    fn path_of(&self, pts: &[(f64, f64)]) -> String {
        let mut d = String::with_capacity(pts.len() * 14);
        let mut pen_down = false;
        for &(t, v) in pts {
            if !(t.is_finite() && v.is_finite()) {
                pen_down = false;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if pen_down { "L" } else { "M" },
                self.px(t),
                self.py(v)
            );
            pen_down = true;
        }
        d
    }

    /// A line through `pts` (non-finite points break it).
    pub fn line(&mut self, pts: &[(f64, f64)], style: Style, label: &str) {
        let d = self.path_of(pts);
        if d.is_empty() {
            return;
        }
        let _ = write!(
            self.body,
            "<path class=\"{}\" d=\"{d}\"><title>{}</title></path>",
            style.class(),
            esc(label)
        );
        self.legend_entry(style, label);
    }

    /// A shaded area between `lo` and `hi` (same times, in order).
    pub fn band(&mut self, lo: &[(f64, f64)], hi: &[(f64, f64)], style: Style, label: &str) {
        let mut pts: Vec<(f64, f64)> = hi
            .iter()
            .copied()
            .filter(|(t, v)| t.is_finite() && v.is_finite())
            .collect();
        pts.extend(
            lo.iter()
                .rev()
                .copied()
                .filter(|(t, v)| t.is_finite() && v.is_finite()),
        );
        if pts.len() < 3 {
            return;
        }
        let d = self.path_of(&pts);
        let _ = write!(
            self.body,
            "<path class=\"{}\" d=\"{d}Z\"><title>{}</title></path>",
            style.class(),
            esc(label)
        );
        self.legend_entry(style, label);
    }

    /// Dots at `pts`, joined by a thin line.
    pub fn dots(&mut self, pts: &[(f64, f64)], style: Style, label: &str) {
        self.line(pts, style, label);
        for &(t, v) in pts {
            if t.is_finite() && v.is_finite() {
                let _ = write!(
                    self.body,
                    "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                    style.class(),
                    self.px(t),
                    self.py(v)
                );
            }
        }
    }

    /// A vertical marker at time `t` with a short label at its top.
    pub fn vline(&mut self, t: f64, style: Style, label: &str) {
        if !t.is_finite() || t < self.x.0 || t > self.x.1 {
            return;
        }
        let x = self.px(t);
        let anchor = if x > WIDTH * 0.8 { "end" } else { "start" };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            self.body,
            "<line class=\"{c}\" x1=\"{x:.1}\" y1=\"{top:.1}\" x2=\"{x:.1}\" y2=\"{bot:.1}\"/>\
             <text class=\"{c} mark\" x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\">{l}</text>",
            c = style.class(),
            top = TOP,
            bot = self.height - BOTTOM,
            tx = x + dx,
            ty = TOP + 12.0,
            l = esc(label)
        );
    }

    /// A horizontal marker at value `v` with a label at its left end.
    pub fn hline(&mut self, v: f64, style: Style, label: &str) {
        if !v.is_finite() || v < self.y.0 || v > self.y.1 {
            return;
        }
        let y = self.py(v);
        let _ = write!(
            self.body,
            "<line class=\"{c}\" x1=\"{l:.1}\" y1=\"{y:.1}\" x2=\"{r:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"{c} mark\" x=\"{tx:.1}\" y=\"{ty:.1}\">{text}</text>",
            c = style.class(),
            l = LEFT,
            r = WIDTH - RIGHT,
            tx = LEFT + 6.0,
            ty = y - 5.0,
            text = esc(label)
        );
        self.legend_entry(style, label);
    }

    /// A labelled point (e.g. where the projection meets the limit).
    pub fn point(&mut self, t: f64, v: f64, style: Style, label: &str) {
        if !(t.is_finite() && v.is_finite()) {
            return;
        }
        let (x, y) = (self.px(t), self.py(v));
        let anchor = if x > WIDTH * 0.7 { "end" } else { "start" };
        let dx = if anchor == "end" { -8.0 } else { 8.0 };
        let _ = write!(
            self.body,
            "<circle class=\"{c}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\"/>\
             <text class=\"{c} mark\" x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\">{l}</text>",
            c = style.class(),
            tx = x + dx,
            // Above the point in the upper half (a limit line runs through
            // it, a projection comes from below), below it otherwise.
            ty = if y < self.height / 2.0 { y - 9.0 } else { y + 16.0 },
            l = esc(label)
        );
    }

    /// Offers a series to the hover read-out under `name`.
    pub fn hover(&mut self, name: &str, pts: &[(f64, f64)]) {
        let pts: Vec<(f64, f64)> = pts
            .iter()
            .copied()
            .filter(|(t, v)| t.is_finite() && v.is_finite())
            .collect();
        if !pts.is_empty() {
            self.hover.push((name.to_string(), pts));
        }
    }

    /// The SVG element, with its axes, legend and hover data.
    pub fn render(&self) -> String {
        let h = self.height;
        let mut s = String::with_capacity(self.body.len() + 4096);
        let _ = write!(
            s,
            "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {h}\" role=\"img\" aria-label=\"{}\" \
             data-x0=\"{}\" data-x1=\"{}\" data-y0=\"{}\" data-y1=\"{}\" \
             data-l=\"{LEFT}\" data-r=\"{}\" data-t=\"{TOP}\" data-b=\"{}\" data-unit=\"{}\">",
            esc(&self.title),
            self.x.0,
            self.x.1,
            self.y.0,
            self.y.1,
            WIDTH - RIGHT,
            h - BOTTOM,
            self.y_unit.script_name(),
        );
        let _ = write!(s, "<title>{}</title>", esc(&self.title));
        // Grid and ticks.
        s.push_str("<g class=\"axis\">");
        let y_step = tick_step(self.y.0, self.y.1, self.y_unit, 6);
        for v in ticks(self.y.0, self.y.1, self.y_unit, 6) {
            let y = self.py(v);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                esc(&tick_label(v, self.y_unit, y_step))
            );
        }
        for t in ticks(self.x.0, self.x.1, Unit::Seconds, 8) {
            let x = self.px(t);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                h - BOTTOM,
                h - BOTTOM + 16.0,
                esc(&tick_label(t, Unit::Seconds, 0.0))
            );
        }
        let _ = write!(
            s,
            "<rect class=\"frame\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/>\
             <text class=\"unit\" x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\">time since start</text>\
             <text class=\"unit\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            WIDTH - LEFT - RIGHT,
            h - TOP - BOTTOM,
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            h - 8.0,
            TOP + (h - TOP - BOTTOM) / 2.0,
            esc(match self.y_unit {
                Unit::Bytes => "bytes",
                Unit::Count(what) => what,
                Unit::Seconds => "seconds",
            })
        );
        s.push_str("</g>");
        // Clip the data to the plot area.
        let clip = clip_id(&self.title, &self.body);
        let _ = write!(
            s,
            "<clipPath id=\"{clip}\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{}\" height=\"{}\"/></clipPath>\
             <g clip-path=\"url(#{clip})\">{}</g>",
            WIDTH - LEFT - RIGHT,
            h - TOP - BOTTOM,
            self.body
        );
        // The hover cursor and read-out, moved by the script.
        s.push_str(
            "<line class=\"cursor\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"0\" visibility=\"hidden\"/>",
        );
        for (name, pts) in &self.hover {
            s.push_str("<g class=\"hov\" data-name=\"");
            s.push_str(&esc(name));
            s.push_str("\" data-pts=\"");
            for (i, (t, v)) in pts.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{},{}", round_sig(*t), round_sig(*v));
            }
            s.push_str("\"></g>");
        }
        s.push_str("</svg>");
        // The legend as HTML below the chart (wraps, stays readable).
        if !self.legend.is_empty() {
            s.push_str("<div class=\"legend\">");
            for (style, label) in &self.legend {
                let _ = write!(
                    s,
                    "<span><i class=\"sw {}\"></i>{}</span>",
                    style.class(),
                    esc(label)
                );
            }
            s.push_str("</div>");
        }
        s
    }
}

/// A stable id for a chart's clip path, unique within a page in practice
/// (titles differ; the body's length separates equal titles).
fn clip_id(title: &str, body: &str) -> String {
    // FNV-1a: ids only need to differ, not to be secret.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in title.bytes().chain(body.len().to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("c{h:016x}")
}

/// Six significant digits: plenty for a hover read-out, short in the page.
fn round_sig(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    let mag = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// The step of a tick every about `(hi - lo) / n` in `unit`: 1, 2, 5 × 10^k
/// of bytes' binary unit, or a round duration.
fn tick_step(lo: f64, hi: f64, unit: Unit, n: usize) -> f64 {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let raw = span / n.max(1) as f64;
    match unit {
        Unit::Seconds => {
            const STEPS: [f64; 22] = [
                0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0,
                30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
            ];
            if let Some(s) = STEPS.iter().find(|s| **s >= raw) {
                return *s;
            }
            const LONG: [f64; 6] = [7200.0, 10800.0, 21600.0, 43200.0, 86400.0, 604800.0];
            LONG.iter()
                .find(|s| **s >= raw)
                .copied()
                .unwrap_or_else(|| (raw / 604800.0).ceil() * 604800.0)
        }
        Unit::Bytes => {
            // The unit of the whole range (KiB, MiB, ...), so that ticks
            // read 1 MiB, 2 MiB rather than 1000 KiB.
            let base = if span >= 1024.0 {
                1024f64.powi((span.log2() / 10.0).floor() as i32)
            } else {
                1.0
            };
            base * decimal_step(raw / base)
        }
        Unit::Count(_) => decimal_step(raw).max(if span >= 2.0 { 1.0 } else { 0.0 }),
    }
}

fn decimal_step(raw: f64) -> f64 {
    let p = 10f64.powi(raw.log10().floor() as i32);
    let m = raw / p;
    let k = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    k * p
}

/// The value range widened to whole tick steps.
fn nice_range(lo: f64, hi: f64, unit: Unit) -> (f64, f64) {
    let step = tick_step(lo, hi, unit, 5);
    if step <= 0.0 || !step.is_finite() {
        return (lo, hi);
    }
    let a = (lo / step).floor() * step;
    let b = (hi / step).ceil() * step;
    // A value range that starts a little above zero reads better from zero.
    let a = if lo >= 0.0 && a > 0.0 && a < (b - a) * 0.5 {
        0.0
    } else {
        a
    };
    (a, b.max(a + step))
}

fn ticks(lo: f64, hi: f64, unit: Unit, n: usize) -> Vec<f64> {
    let step = tick_step(lo, hi, unit, n);
    if step <= 0.0 || !step.is_finite() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi + step * 1e-9 && out.len() < 64 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A tick's label, with as many decimals as its step needs (ticks 50 KiB
/// apart on a MiB axis read 1.65 MiB, 1.70 MiB, never 1.7 MiB twice).
fn tick_label(v: f64, unit: Unit, step: f64) -> String {
    let decimals = |scaled_step: f64| -> usize {
        if scaled_step <= 0.0 || !scaled_step.is_finite() {
            return 1;
        }
        (-(scaled_step.log10().floor())).clamp(0.0, 3.0) as usize
    };
    match unit {
        Unit::Bytes => {
            const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
            // The unit of the axis's range (about five steps), as the step
            // was chosen in: a narrow range at 1.7 MiB reads 1650 KiB,
            // 1700 KiB rather than 1.61 MiB, 1.66 MiB.
            let mut x = if step > 0.0 { step * 5.0 } else { v.abs() };
            let mut u = 0;
            while x >= 1024.0 && u < UNITS.len() - 1 {
                x /= 1024.0;
                u += 1;
            }
            let scale = 1024f64.powi(u as i32);
            let sign = if v < 0.0 { "-" } else { "" };
            let d = if step > 0.0 {
                decimals(step / scale)
            } else {
                1
            };
            let y = v.abs() / scale;
            if step <= 0.0 && (y - y.round()).abs() < 1e-6 {
                format!("{sign}{y:.0} {}", UNITS[u])
            } else {
                format!("{sign}{y:.d$} {}", UNITS[u])
            }
        }
        Unit::Count(_) => {
            let d = if step > 0.0 { decimals(step) } else { 0 };
            format!("{v:.d$}")
        }
        Unit::Seconds => short_duration(v),
    }
}

/// A tick's duration: `0`, `45s`, `2m`, `2m 30s`, `1h`, `1h 30m`, `2d`.
fn short_duration(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() < 10.0 {
        return format::duration(v);
    }
    let s = v.round() as i64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let mut parts = Vec::new();
    for (n, u) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if n != 0 {
            parts.push(format!("{n}{u}"));
        }
    }
    parts.truncate(2);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_in_their_unit() {
        let t = ticks(0.0, 600.0, Unit::Seconds, 8);
        assert_eq!(t, vec![0.0, 120.0, 240.0, 360.0, 480.0, 600.0]);
        let b = ticks(0.0, 64.0 * 1048576.0, Unit::Bytes, 6);
        assert!(b.iter().all(|v| (v / 1048576.0).fract() == 0.0), "{b:?}");
        let mib = 1048576.0;
        assert_eq!(tick_label(20.0 * mib, Unit::Bytes, 10.0 * mib), "20 MiB");
        assert_eq!(tick_label(120.0, Unit::Seconds, 60.0), "2m");
        let b = ticks(0.0, 3.9 * mib, Unit::Bytes, 5);
        let step = tick_step(0.0, 3.9 * mib, Unit::Bytes, 5);
        assert_eq!(tick_label(b[1], Unit::Bytes, step), "1 MiB", "{b:?}");
        // Close ticks keep apart.
        let (lo, hi) = (1.6 * mib, 1.8 * mib);
        let step = tick_step(lo, hi, Unit::Bytes, 6);
        let labels: Vec<String> = ticks(lo, hi, Unit::Bytes, 6)
            .into_iter()
            .map(|v| tick_label(v, Unit::Bytes, step))
            .collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(labels, unique);
        assert!(labels.len() >= 3, "{labels:?}");
        assert!(labels.contains(&"1700 KiB".to_string()), "{labels:?}");
        assert_eq!(tick_label(5400.0, Unit::Seconds, 1800.0), "1h 30m");
        let c = ticks(0.0, 7.0, Unit::Count("fds"), 6);
        assert!(c.iter().all(|v| v.fract() == 0.0), "{c:?}");
    }

    #[test]
    fn ranges_are_widened_to_whole_ticks_and_never_empty() {
        let (lo, hi) = nice_range(10.5e6, 50.2e6, Unit::Bytes);
        assert!(lo <= 10.5e6 && hi >= 50.2e6);
        let c = Chart::new("flat", (5.0, 5.0), (3.0, 3.0), Unit::Count("threads"));
        assert!(c.x.1 > c.x.0 && c.y.1 > c.y.0);
        let nan = Chart::new("nan", (f64::NAN, 1.0), (0.0, f64::INFINITY), Unit::Bytes);
        assert!(nan.x.1 > nan.x.0 && nan.y.1 > nan.y.0);
    }

    #[test]
    fn labels_are_escaped_and_points_mapped_inside_the_plot() {
        let mut c = Chart::new("<script>x</script>", (0.0, 10.0), (0.0, 100.0), Unit::Bytes);
        c.line(&[(0.0, 0.0), (10.0, 100.0)], Style::Mean, "a\"b<c>");
        c.vline(5.0, Style::Alert, "<img src=x>");
        c.hover("o'k & <b>", &[(1.0, 2.0)]);
        let s = c.render();
        assert!(!s.contains("<script>") && !s.contains("<img") && !s.contains("<b>"));
        assert!(s.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(s.contains("a&quot;b&lt;c&gt;"));
        assert!(s.contains("data-name=\"o&#39;k &amp; &lt;b&gt;\""));
        // The line runs from the bottom-left to the top-right corner of the plot.
        assert!(s.contains(&format!(
            "M{LEFT:.1},{:.1}L{:.1},{TOP:.1}",
            300.0 - BOTTOM,
            WIDTH - RIGHT
        )));
    }

    #[test]
    fn non_finite_points_break_lines_instead_of_breaking_the_picture() {
        let mut c = Chart::new("gaps", (0.0, 3.0), (0.0, 3.0), Unit::Count("fds"));
        c.line(
            &[(0.0, 1.0), (1.0, f64::NAN), (2.0, 2.0), (3.0, 3.0)],
            Style::Mean,
            "fds",
        );
        let s = c.render();
        assert!(!s.contains("NaN") && !s.contains("inf"));
        assert_eq!(s.matches('M').count() - s.matches("MiB").count(), 2);
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(esc("a\u{1b}[31mb"), "a\u{fffd}[31mb");
    }
}
