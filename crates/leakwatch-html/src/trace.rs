//! The page of `report`: the verdict, the live bytes over time of the
//! growing sites, the leaked-at-exit table (runtime residue and suppressed
//! stacks apart), who held the peak, and the flamegraph inline.

use leakwatch_core::format;
use leakwatch_trace::report::{verdict_line, Group, GrowingSite, StackEntry};
use leakwatch_trace::{export, Analysis, Frame, Report, Symbolizer};
use maud::{html, Markup, PreEscaped};

use crate::page::{self, Tone};
use crate::svg::{Chart, Style, Unit, SERIES_COLOURS};
use crate::HtmlError;

/// Growing sites drawn in the chart (each has its own colour).
pub const CHART_SITES: usize = SERIES_COLOURS;

/// The flamegraph's width as drawn; the page scales it to its column.
const FLAME_WIDTH: usize = 1200;

/// inferno's flamegraph of what the report's verdict counts (leaked at
/// exit, or live at the end; no runtime residue, nothing suppressed),
/// drawn at a fixed width that the page scales.
pub fn flamegraph_svg(a: &Analysis, r: &Report, sym: &mut Symbolizer) -> Result<String, HtmlError> {
    let mut out = Vec::new();
    export::flamegraph_fixed_width(a, r, sym, false, FLAME_WIDTH, &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The flamegraph as a document of its own for an `<iframe srcdoc>`: its
/// script (zoom, search) keeps to its frame, and the sandbox keeps it from
/// the page. The XML prolog, DTD and comments (which name web sites) go.
fn flame_document(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let mut body = String::with_capacity(svg.len());
    let mut rest = &svg[start..];
    while let Some(i) = rest.find("<!--") {
        body.push_str(&rest[..i]);
        match rest[i..].find("-->") {
            Some(j) => rest = &rest[i + j + 3..],
            None => {
                rest = "";
                break;
            }
        }
    }
    body.push_str(rest);
    // Namespace names are URLs that the HTML parser does not need.
    for ns in [
        " xmlns=\"http://www.w3.org/2000/svg\"",
        " xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
        " xmlns:fg=\"http://github.com/jonhoo/inferno\"",
    ] {
        body = body.replacen(ns, "", 1);
    }
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>html,body{{margin:0}}svg{{width:100%;height:auto}}</style></head><body>{body}</body></html>"
    )
}

/// The flamegraph's height in pixels (its `height` attribute), so that its
/// frame fits it; 640 when it cannot be read.
fn flame_height(svg: &str) -> u32 {
    let start = svg.find("<svg").unwrap_or(0);
    let tag = &svg[start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    tag.find(" height=\"")
        .and_then(|i| {
            let v = &tag[i + 9..];
            v[..v.find('"')?].parse::<u32>().ok()
        })
        .map_or(640, |h| h.clamp(120, 4000))
}

fn site_name(site: Option<&Frame>, frames: &[Frame]) -> String {
    site.or(frames.first())
        .map_or_else(|| "(no symbol)".to_string(), Frame::describe)
}

fn frames_text(frames: &[Frame]) -> String {
    let mut s = String::new();
    for f in frames {
        s.push_str(&f.describe());
        if f.inlined {
            s.push_str(" (inlined)");
        }
        s.push('\n');
    }
    s
}

/// The page. `flamegraph` is inferno's SVG (see [`flamegraph_svg`]).
pub fn trace_page(r: &Report, trace_name: &str, flamegraph: Option<&str>) -> String {
    let (tone, word) = match r.verdict.as_str() {
        "leak" => (Tone::Leak, "LEAK"),
        "no_leak" => (Tone::Ok, "no leak"),
        "no_growth" => (Tone::Ok, "no growing site"),
        "growing" => (Tone::Unknown, "growing, not yet called a leak"),
        _ => (Tone::Unknown, "incomplete"),
    };
    let mut details = vec![format!(
        "pid {}, {} traced, {} allocations, {} frees, {} allocated{}",
        r.trace.pid,
        format::duration(r.duration_s),
        r.allocations,
        r.frees,
        format::bytes(r.bytes_allocated as f64),
        if r.trace.sample_every_bytes > 0 {
            format!(
                "; sampled every ~{} (sizes are estimates)",
                format::bytes(r.trace.sample_every_bytes as f64)
            )
        } else {
            String::new()
        }
    )];
    if !r.incomplete_summary.is_empty() {
        details.push(format!("incomplete: {}", r.incomplete_summary));
    }
    let counted: Vec<&GrowingSite> = r
        .growing
        .iter()
        .filter(|g| g.suppressed_by.is_none() && !g.runtime_residue)
        .collect();
    let set_apart: Vec<&GrowingSite> = r
        .growing
        .iter()
        .filter(|g| g.suppressed_by.is_some() || g.runtime_residue)
        .collect();
    let body = html! {
        (page::verdict(tone, word, &verdict_line(r), &details))
        (page::facts(&[
            ("peak live", format!("{} at {}", format::bytes(r.peak.bytes as f64), format::duration(r.peak.t_s))),
            ("stacks judged for growth", r.judged_stacks.to_string()),
            ("growing sites", counted.len().to_string()),
            ("program exited", if r.exited { "yes".into() } else { "no".into() }),
        ]))
        h2 { "Growing sites: live bytes over time" }
        @if counted.is_empty() {
            p.note { "No call stack's live bytes grow without bound (" (r.judged_stacks) " stacks judged by the leak detector)." }
        } @else {
            (PreEscaped(growing_chart(&counted)))
            (growing_table(&counted))
        }
        @if !set_apart.is_empty() {
            h3 { "Growing, but not counted" }
            (growing_table(&set_apart))
        }
        @if let Some(g) = &r.leaked {
            h2 { "Leaked at exit" }
            (group_table(g, "still allocated at exit, neither suppressed nor a runtime's residue"))
        }
        @if let Some(g) = &r.live_at_end {
            h2 { "Live when the trace ended" }
            p.note { "The trace is incomplete: these blocks were live at its end, not proven leaked." }
            (group_table(g, "live when the trace ended"))
        }
        @if let Some(g) = &r.runtime_residue {
            h2 { "Runtime residue (not counted)" }
            p.note { "Allocated by a runtime alone and kept until exit: " (r.runtimes.join(", ")) "." }
            (group_table(g, "runtime residue"))
        }
        @if !r.suppressed.is_empty() {
            h2 { "Suppressed (not counted)" }
            table {
                thead { tr { th { "pattern" } th { "source" } th.num { "stacks" } th.num { "blocks" } th.num { "bytes" } } }
                tbody {
                    @for s in &r.suppressed {
                        tr { td.mono { (s.pattern) } td { (s.source) } td.num { (s.stacks) } td.num { (s.blocks) } td.num { (format::bytes(s.bytes as f64)) } }
                    }
                }
            }
        }
        h2 { "Who held the peak" }
        (group_table(&r.peak.holders, "live at the peak"))
        @if let Some(svg) = flamegraph {
            h2 { "Flamegraph" }
            p.note { (if r.exited { "Bytes leaked at exit" } else { "Bytes live when the trace ended" }) ", by call stack, root at the bottom. Click a frame to zoom, Ctrl-F to search." }
            iframe.flame title="flamegraph" sandbox="allow-scripts" loading="eager"
                style=(format!("height:{}px", flame_height(svg) + 4)) srcdoc=(flame_document(svg)) {}
        }
        @if !r.incomplete.is_empty() || !r.notes.is_empty() || r.lost_records > 0 {
            h2 { "Notes" }
            ul {
                @for s in &r.incomplete { li { (s) } }
                @if r.lost_records > 0 { li { (r.lost_records) " LOST records: events were dropped" } }
                @for s in &r.notes { li { (s) } }
            }
        }
    };
    page::document("report", trace_name, body)
}

fn growing_chart(sites: &[&GrowingSite]) -> String {
    let shown = &sites[..sites.len().min(CHART_SITES)];
    let mut t1 = 0.0f64;
    let mut hi = 0.0f64;
    for g in shown {
        t1 = t1.max(g.series_interval_s * g.series_bytes.len().saturating_sub(1) as f64);
        hi = hi.max(g.series_bytes.iter().copied().fold(0.0, f64::max));
        hi = hi.max(g.live_bytes as f64);
    }
    let mut c = Chart::new(
        "live bytes of the growing sites over time",
        (0.0, t1),
        (0.0, hi),
        Unit::Bytes,
    );
    for (i, g) in shown.iter().enumerate() {
        let pts: Vec<(f64, f64)> = g
            .series_bytes
            .iter()
            .enumerate()
            .map(|(k, v)| (k as f64 * g.series_interval_s, *v))
            .collect();
        let name = format!("#{} {}", i + 1, site_name(g.site.as_ref(), &g.frames));
        c.line(&pts, Style::Series(i), &name);
        c.hover(&format!("#{}", i + 1), &pts);
    }
    c.render()
}

fn growing_table(sites: &[&GrowingSite]) -> Markup {
    html! {
        table {
            thead { tr { th { "#" } th { "site" } th.num { "live now" } th.num { "growth" } th.num { "95% CI" } th { "why" } } }
            tbody {
                @for (i, g) in sites.iter().enumerate() {
                    tr.grow {
                        td.num { (i + 1) }
                        td {
                            details {
                                summary.mono { (site_name(g.site.as_ref(), &g.frames)) }
                                pre { (frames_text(&g.frames)) }
                            }
                            @if let Some(p) = &g.suppressed_by { div.note { "suppressed by " code { (p) } } }
                            @if g.runtime_residue { div.note { "runtime residue" } }
                        }
                        td.num { (format::bytes(g.live_bytes as f64)) }
                        td.num { (format::bytes(g.rate_bytes_per_s * 3600.0)) "/h" }
                        td.num { (format::bytes(g.rate_low_bytes_per_s * 3600.0)) " .. " (format::bytes(g.rate_high_bytes_per_s * 3600.0)) "/h" }
                        td.note { (g.reason) }
                    }
                }
            }
        }
    }
}

fn group_table(g: &Group, what: &str) -> Markup {
    let rest = g
        .stack_count
        .saturating_sub(g.stacks.iter().map(|e| e.stacks).sum());
    html! {
        p.note { (format::bytes(g.bytes as f64)) " in " (g.blocks) " blocks from " (g.stack_count) " call stacks " (what) "." }
        @if !g.stacks.is_empty() {
            table {
                thead { tr { th.num { "bytes" } th.num { "blocks" } th.num { "stacks" } th { "site (first frame in the program's code) and call stack" } } }
                tbody {
                    @for e in &g.stacks { (stack_row(e)) }
                }
            }
            @if rest > 0 { p.note { "… and " (rest) " more call stacks." } }
        }
    }
}

fn stack_row(e: &StackEntry) -> Markup {
    html! {
        tr {
            td.num { (format::bytes(e.bytes as f64)) }
            td.num { (e.blocks) }
            td.num { (e.stacks) }
            td {
                details {
                    summary.mono { (site_name(e.site.as_ref(), &e.frames)) }
                    pre { (frames_text(&e.frames)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_trace::report::{Peak, TraceInfo};

    fn frame(function: &str, file: &str) -> Frame {
        Frame {
            function: function.to_string(),
            file: Some(file.to_string()),
            line: Some(42),
            module: "a.out".to_string(),
            addr: 0x1000,
            inlined: false,
            kind: leakwatch_trace::classify::ModuleKind::System,
        }
    }

    fn report() -> Report {
        let hostile = frame("leak_<script>alert(1)</script>", "/src/\"x\".c");
        let entry = StackEntry {
            bytes: 4096,
            blocks: 4,
            stacks: 1,
            site: Some(hostile.clone()),
            frames: vec![hostile.clone(), frame("main", "main.c")],
        };
        let group = Group {
            bytes: 4096,
            blocks: 4,
            stack_count: 3,
            stacks: vec![entry],
        };
        Report {
            version: 1,
            trace: TraceInfo {
                format_version: 4,
                pid: 4711,
                ppid: 1,
                sample_every_bytes: 0,
                start_unix_ns: 0,
                chunks: 3,
                truncated_at_byte: None,
            },
            duration_s: 12.0,
            exited: true,
            complete: true,
            attached: false,
            detached: false,
            allocations: 1000,
            frees: 996,
            unmatched_frees: 0,
            bytes_allocated: 1 << 20,
            leaked: Some(group.clone()),
            live_at_end: None,
            runtime_residue: None,
            runtimes: vec![],
            suppressed: vec![],
            growing: vec![GrowingSite {
                live_bytes: 4096,
                rate_bytes_per_s: 300.0,
                rate_low_bytes_per_s: 250.0,
                rate_high_bytes_per_s: 350.0,
                reason: "lower envelope rose".to_string(),
                series_bytes: (0..40).map(|i| f64::from(i) * 100.0).collect(),
                series_interval_s: 0.3,
                site: Some(hostile),
                frames: vec![],
                suppressed_by: None,
                runtime_residue: false,
            }],
            judged_stacks: 7,
            peak: Peak {
                bytes: 8192,
                t_s: 3.0,
                holders: group,
            },
            lost: vec![],
            lost_records: 0,
            incomplete: vec![],
            incomplete_summary: String::new(),
            notes: vec![],
            counted_stacks: vec![],
            verdict: "leak".to_string(),
            exit_code: 1,
            leak: true,
        }
    }

    const FLAME: &str = "<?xml version=\"1.0\" standalone=\"no\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><svg version=\"1.1\" onload=\"init(evt)\" xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:fg=\"http://github.com/jonhoo/inferno\"><!--See https://github.com/x--><g><title>f&lt;script&gt; (4096 bytes)</title></g><script><![CDATA[var a = \"it's\" && 1 < 2;]]></script></svg>";

    #[test]
    fn page_shows_sites_tables_and_flamegraph_escaped() {
        let html = trace_page(&report(), "t<b>.lwt", Some(FLAME));
        assert!(html.contains(">LEAK<"));
        assert!(html.contains("Growing sites: live bytes over time"));
        assert!(html.contains("Leaked at exit"));
        assert!(html.contains("Who held the peak"));
        assert!(html.contains("… and 2 more call stacks."));
        assert!(html
            .contains("#1 leak_&lt;script&gt;alert(1)&lt;/script&gt; at /src/&quot;x&quot;.c:42"));
        assert!(!html.contains("<script>alert") && !html.contains("t<b>.lwt"));
        // The flamegraph is a sandboxed document of its own, without the
        // prolog, the DTD's URL or comments, and its markup stays inside
        // the attribute.
        let i = html.find("srcdoc=\"").unwrap();
        let j = i + 8 + html[i + 8..].find('"').unwrap();
        let doc = &html[i + 8..j];
        assert!(doc.starts_with("&lt;!DOCTYPE html&gt;"));
        assert!(doc.contains("&lt;svg version=&quot;1.1&quot; onload=&quot;init(evt)&quot;&gt;"));
        assert!(!doc.contains("w3.org") && !doc.contains("github"));
        assert!(doc.contains("it&#39;s") || doc.contains("it's"));
        assert!(html.contains("sandbox=\"allow-scripts\""));
        assert!(
            html.contains("style=\"height:644px\""),
            "no height: 640 + border"
        );
        assert_eq!(
            flame_height(
                "<svg version=\"1.1\" width=\"1200\" height=\"246\" onload=\"init(evt)\">"
            ),
            246
        );
        assert_eq!(html.matches("<script>").count(), 1);
        crate::tests::assert_offline(&html);
    }

    #[test]
    fn incomplete_trace_without_growth_says_so() {
        let mut r = report();
        r.verdict = "incomplete".into();
        r.incomplete_summary = "the program did not exit".into();
        r.growing.clear();
        r.live_at_end = r.leaked.take();
        let html = trace_page(&r, "t.lwt", None);
        assert!(html.contains(">incomplete<"));
        assert!(html.contains("incomplete: the program did not exit"));
        assert!(html.contains("No call stack's live bytes grow"));
        assert!(html.contains("Live when the trace ended"));
        assert!(!html.contains("<iframe"));
    }
}
