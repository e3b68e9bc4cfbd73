//! The leak report: symbolized, serializable, and rendered as text.

use std::collections::HashMap;
use std::fmt::Write as _;

use leakwatch_core::format;
use serde::Serialize;

use crate::analysis::Analysis;
use crate::reader::Header;
use crate::symbolize::{Frame, Symbolizer};

/// Call stacks listed per section.
pub const TOP_STACKS: usize = 20;

/// One call stack with what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct StackEntry {
    pub bytes: u64,
    pub blocks: u64,
    /// The first frame outside the allocator and the C/C++ runtimes.
    pub site: Option<Frame>,
    /// Innermost first, inlined frames included.
    pub frames: Vec<Frame>,
}

/// Bytes and blocks by call stack, most bytes first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    pub bytes: u64,
    pub blocks: u64,
    /// Call stacks holding them (all of them; text shows the top ones).
    pub stack_count: usize,
    pub stacks: Vec<StackEntry>,
}

/// A call stack whose live bytes grow without bound.
#[derive(Debug, Clone, Serialize)]
pub struct GrowingSite {
    pub live_bytes: u64,
    pub rate_bytes_per_hour: f64,
    pub rate_low_bytes_per_hour: f64,
    pub rate_high_bytes_per_hour: f64,
    pub reason: String,
    pub series: Vec<f64>,
    pub site: Option<Frame>,
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    pub bytes: u64,
    pub t_s: f64,
    pub holders: Group,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub header: Header,
    pub duration_s: f64,
    /// The program exited normally; otherwise it was killed or crashed, or
    /// exec'd, and "live at end" is not a leak by itself.
    pub exited: bool,
    /// Offset of a partial last chunk, when the trace was cut short.
    pub truncated_at: Option<u64>,
    pub allocations: u64,
    pub frees: u64,
    pub bytes_allocated: u64,
    /// Still allocated at exit (only when the program exited).
    pub leaked: Option<Group>,
    /// Still allocated when the trace ended without an exit.
    pub live_at_end: Option<Group>,
    pub growing: Vec<GrowingSite>,
    pub peak: Peak,
    /// True when leaks at exit or growing sites were found.
    pub leak: bool,
}

/// Frames of the allocator and the language runtimes, skipped to find the
/// allocation site.
pub fn is_allocator_frame(f: &Frame) -> bool {
    let m = f.module.as_str();
    if m.starts_with("libc.so")
        || m.starts_with("libstdc++")
        || m.starts_with("ld-linux")
        || m.starts_with("libleakwatch_preload")
    {
        return true;
    }
    // Rust's alloc and core libraries (Vec, Box, RawVec, from_elem...).
    if let Some(file) = &f.file {
        if file.contains("/library/alloc/src/") || file.contains("/library/core/src/alloc") {
            return true;
        }
    }
    let n = f.function.as_str();
    const PREFIXES: &[&str] = &[
        "operator new",
        "malloc",
        "calloc",
        "realloc",
        "__rust_alloc",
        "__rust_realloc",
        "__rust_alloc_zeroed",
        "__rdl_",
        "__rg_",
        "alloc::",
        "<alloc::",
        "std::alloc::",
        "<std::alloc::",
        "std::sys::alloc",
        "std::sys::pal::unix::alloc",
        "<std::sys::alloc",
        "core::alloc::",
        "__gnu_cxx::new_allocator",
        "std::allocator",
        "std::__new_allocator",
        "std::allocator_traits",
    ];
    PREFIXES.iter().any(|p| n.starts_with(p))
}

fn site_of(frames: &[Frame]) -> Option<Frame> {
    frames
        .iter()
        .find(|f| !is_allocator_frame(f))
        .or(frames.first())
        .cloned()
}

/// A frame's identity for grouping: function, file, line.
type SourceLoc = (String, Option<String>, Option<u32>);

/// Groups call stacks that symbolize identically (e.g. one source line
/// compiled into several call sites), most bytes first. Resolves them all.
fn group(a: &Analysis, sym: &mut Symbolizer, items: &[(u32, u64, u64)], top: usize) -> Group {
    let ids: Vec<u32> = items.iter().map(|x| x.0).collect();
    resolve_stacks(a, sym, &ids);
    let mut merged: Vec<StackEntry> = Vec::new();
    let mut index: HashMap<Vec<SourceLoc>, usize> = HashMap::new();
    for &(s, bytes, blocks) in items {
        let frames = sym.frames(&a.tables.stacks[s as usize]);
        let key = frames
            .iter()
            .map(|f| (f.function.clone(), f.file.clone(), f.line))
            .collect::<Vec<_>>();
        match index.get(&key) {
            Some(&i) => {
                merged[i].bytes += bytes;
                merged[i].blocks += blocks;
            }
            None => {
                index.insert(key, merged.len());
                merged.push(StackEntry {
                    bytes,
                    blocks,
                    site: site_of(&frames),
                    frames,
                });
            }
        }
    }
    merged.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then(y.blocks.cmp(&x.blocks))
            .then_with(|| {
                x.site
                    .as_ref()
                    .map(|f| f.describe())
                    .cmp(&y.site.as_ref().map(|f| f.describe()))
            })
    });
    Group {
        bytes: items.iter().map(|i| i.1).sum(),
        blocks: items.iter().map(|i| i.2).sum(),
        stack_count: merged.len(),
        stacks: merged.into_iter().take(top).collect(),
    }
}

/// The (stack, bytes, blocks) still live at the end, most bytes first.
pub fn live_at_end(a: &Analysis) -> Vec<(u32, u64, u64)> {
    let mut v: Vec<(u32, u64, u64)> = a
        .stacks
        .iter()
        .enumerate()
        .filter(|(_, s)| s.live_blocks > 0)
        .map(|(i, s)| (i as u32, s.live_bytes, s.live_blocks))
        .collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v
}

/// Symbolizes what the report shows and assembles it.
pub fn build(
    a: &Analysis,
    header: &Header,
    truncated_at: Option<u64>,
    sym: &mut Symbolizer,
    top: usize,
) -> Report {
    let live = live_at_end(a);
    let mut peak: Vec<(u32, u64, u64)> = a.peak_holders.clone();
    peak.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let wanted: Vec<u32> = a.growing.iter().map(|g| g.stack).collect();
    resolve_stacks(a, sym, &wanted);

    let live_group = group(a, sym, &live, top);
    let growing: Vec<GrowingSite> = a
        .growing
        .iter()
        .map(|g| {
            let frames = sym.frames(&a.tables.stacks[g.stack as usize]);
            GrowingSite {
                live_bytes: a.stacks[g.stack as usize].live_bytes,
                rate_bytes_per_hour: g.assessment.rate_per_hour,
                rate_low_bytes_per_hour: g.assessment.rate_low_per_hour,
                rate_high_bytes_per_hour: g.assessment.rate_high_per_hour,
                reason: g.assessment.evidence.reason.clone(),
                series: g.series.clone(),
                site: site_of(&frames),
                frames,
            }
        })
        .collect();
    let leaked_any = a.exited && live_group.bytes > 0;
    Report {
        header: header.clone(),
        duration_s: a.duration_ns as f64 / 1e9,
        exited: a.exited,
        truncated_at,
        allocations: a.allocations,
        frees: a.frees,
        bytes_allocated: a.bytes_allocated,
        leak: leaked_any || !growing.is_empty(),
        leaked: a.exited.then(|| live_group.clone()),
        live_at_end: (!a.exited).then_some(live_group),
        growing,
        peak: Peak {
            bytes: a.peak_bytes,
            t_s: a.peak_ns as f64 / 1e9,
            holders: group(a, sym, &peak, top),
        },
    }
}

/// Resolves the addresses of the given stacks.
pub fn resolve_stacks(a: &Analysis, sym: &mut Symbolizer, stacks: &[u32]) {
    let mut addrs = Vec::new();
    for &s in stacks {
        let ts = a.stack_first_ns.get(s as usize).copied().unwrap_or(0);
        for &ip in &a.tables.stacks[s as usize] {
            addrs.push((ip, ts));
        }
    }
    sym.resolve(&a.tables, &addrs);
}

/// Frames shown per stack in the text report.
const TEXT_FRAMES: usize = 10;

fn write_stack(out: &mut String, e: &StackEntry, head: &str) {
    let _ = writeln!(out, "  {head}");
    let start = e
        .frames
        .iter()
        .position(|f| !is_allocator_frame(f))
        .unwrap_or(0);
    for f in e.frames.iter().skip(start).take(TEXT_FRAMES) {
        let inl = if f.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "      {}{inl}", f.describe());
    }
    let shown = e.frames.len().saturating_sub(start).min(TEXT_FRAMES);
    if e.frames.len() - start > shown {
        let _ = writeln!(
            out,
            "      ... {} more frames",
            e.frames.len() - start - shown
        );
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The human report.
pub fn render_text(r: &Report, trace_name: &str) -> String {
    let mut out = String::new();
    let sampling = if r.header.sample_every > 0 {
        format!(
            ", sampled every ~{} (sizes are estimates)",
            format::bytes(r.header.sample_every as f64)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "trace {trace_name}: pid {}, {}, {} allocations ({}), {} frees{sampling}",
        r.header.pid,
        format::duration(r.duration_s),
        r.allocations,
        format::bytes(r.bytes_allocated as f64),
        r.frees
    );
    if let Some(off) = r.truncated_at {
        let _ = writeln!(
            out,
            "note: the trace ends with a partial chunk at byte {off} (the process was killed while writing); it was ignored"
        );
    }
    if !r.exited {
        let _ = writeln!(
            out,
            "note: the program did not exit normally (killed, crashed or exec'd): nothing is \"leaked at exit\"; see growing sites"
        );
    }
    let _ = writeln!(out);
    match &r.leaked {
        Some(g) if g.bytes > 0 || g.blocks > 0 => {
            let _ = writeln!(
                out,
                "LEAKED AT EXIT: {} bytes in {} from {}",
                g.bytes,
                plural(g.blocks, "block", "blocks"),
                plural(g.stack_count as u64, "call stack", "call stacks")
            );
            for e in &g.stacks {
                write_stack(
                    &mut out,
                    e,
                    &format!(
                        "{} bytes in {}",
                        e.bytes,
                        plural(e.blocks, "block", "blocks")
                    ),
                );
            }
        }
        Some(_) => {
            let _ = writeln!(out, "leaked at exit: nothing (every allocation was freed)");
        }
        None => {}
    }
    if let Some(g) = &r.live_at_end {
        let _ = writeln!(
            out,
            "live when the trace ended: {} bytes in {} from {}",
            g.bytes,
            plural(g.blocks, "block", "blocks"),
            plural(g.stack_count as u64, "call stack", "call stacks")
        );
        for e in g.stacks.iter().take(5) {
            write_stack(
                &mut out,
                e,
                &format!(
                    "{} bytes in {}",
                    e.bytes,
                    plural(e.blocks, "block", "blocks")
                ),
            );
        }
    }
    let _ = writeln!(out);
    if r.growing.is_empty() {
        let _ = writeln!(
            out,
            "growing sites: none (no call stack's live bytes grow without bound)"
        );
    } else {
        let _ = writeln!(
            out,
            "GROWING SITES: {} call {} whose live bytes grow without bound",
            r.growing.len(),
            if r.growing.len() == 1 {
                "stack"
            } else {
                "stacks"
            }
        );
        for g in &r.growing {
            let head = format!(
                "{} live, +{}/h (95% CI {} .. {})  {}",
                format::bytes(g.live_bytes as f64),
                format::bytes(g.rate_bytes_per_hour),
                format::bytes(g.rate_low_bytes_per_hour),
                format::bytes(g.rate_high_bytes_per_hour),
                format::sparkline(&g.series, 40)
            );
            write_stack(
                &mut out,
                &StackEntry {
                    bytes: g.live_bytes,
                    blocks: 0,
                    site: g.site.clone(),
                    frames: g.frames.clone(),
                },
                &head,
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "peak: {} live at {}, held by:",
        format::bytes(r.peak.bytes as f64),
        format::duration(r.peak.t_s)
    );
    for e in r.peak.holders.stacks.iter().take(5) {
        write_stack(
            &mut out,
            e,
            &format!(
                "{} in {}",
                format::bytes(e.bytes as f64),
                plural(e.blocks, "block", "blocks")
            ),
        );
    }
    let _ = writeln!(out);
    if r.leak {
        let _ = writeln!(out, "verdict: LEAK");
    } else {
        let _ = writeln!(out, "verdict: no leak found");
    }
    out
}
