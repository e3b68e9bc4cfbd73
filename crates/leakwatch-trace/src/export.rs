//! Exports of what a trace holds: a flamegraph SVG (inferno) and a pprof
//! profile (`profile.proto`, gzipped), readable by `go tool pprof`,
//! speedscope and Pyroscope.
//!
//! The pprof messages are declared here with prost's derive, field numbers as
//! in pprof's `profile.proto`; no code generation (and no protoc) is needed.

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;

use crate::analysis::Analysis;
use crate::classify::{trim_role, TrimRole};
use crate::report::{escape, resolve_stacks, stack_frames, Report};
use crate::symbolize::{Frame, Symbolizer};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot draw the flamegraph: {0}")]
    Flamegraph(String),
}

fn frame_label(f: &Frame) -> String {
    // `;` separates frames in the folded format; control characters have
    // no business in a picture.
    let name = escape(&f.function).replace(';', ":");
    match (&f.file, f.line) {
        (Some(file), Some(line)) => {
            let short = file.rsplit('/').next().unwrap_or(file);
            format!("{name} ({short}:{line})")
        }
        _ => name,
    }
}

/// Writes a flamegraph of what the verdict counts: the bytes leaked at exit
/// (or live when the trace ended), without runtime residue and suppressed
/// stacks, which the subtitle names instead. Root at the bottom.
/// `full_stacks`: keep the allocator's entry frames and what lies below
/// `main` (the C library's start-up, the tracer's wrapper of `main`), as
/// the text report's `--full-stacks` does; otherwise they are cut the same
/// way the report cuts them ([`crate::classify::trim_frames`]).
pub fn flamegraph(
    a: &Analysis,
    r: &Report,
    sym: &mut Symbolizer,
    full_stacks: bool,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    draw_flamegraph(a, r, sym, full_stacks, None, out)
}

/// [`flamegraph`] drawn for a fixed width in pixels, for a page that
/// scales it with CSS: inferno's script then leaves the width alone (its
/// fluid mode reads the width before the page has laid the picture out,
/// and sets a negative one inside an HTML document).
pub fn flamegraph_fixed_width(
    a: &Analysis,
    r: &Report,
    sym: &mut Symbolizer,
    full_stacks: bool,
    width: usize,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    draw_flamegraph(a, r, sym, full_stacks, Some(width), out)
}

fn draw_flamegraph(
    a: &Analysis,
    r: &Report,
    sym: &mut Symbolizer,
    full_stacks: bool,
    width: Option<usize>,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    let live = &r.counted_stacks;
    let ids: Vec<u32> = live.iter().map(|x| x.0).collect();
    resolve_stacks(a, sym, &ids);
    let lines: Vec<String> = live
        .iter()
        .map(|&(s, bytes, _)| {
            let frames = stack_frames(a, sym, s);
            let shown = if full_stacks {
                &frames[..]
            } else {
                crate::classify::trim_frames(&frames)
            };
            let shown = if shown.is_empty() { &frames[..] } else { shown };
            let path: Vec<String> = shown.iter().rev().map(frame_label).collect();
            format!("{} {bytes}", path.join(";"))
        })
        .collect();
    let mut opts = inferno::flamegraph::Options::default();
    opts.image_width = width;
    opts.title = if a.exited {
        "leakwatch: bytes leaked at exit".to_string()
    } else {
        "leakwatch: bytes live when the trace ended".to_string()
    };
    opts.subtitle = left_out(r);
    opts.count_name = "bytes".to_string();
    if lines.is_empty() {
        // inferno refuses a graph of zero bytes; say so in a picture of
        // the same size and title instead.
        return empty_flamegraph(&opts, out);
    }
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
        .map_err(|e| ExportError::Flamegraph(e.to_string()))
}

/// The picture for nothing counted: the title with "(none)" and what was
/// left out, as text.
fn empty_flamegraph(
    opts: &inferno::flamegraph::Options<'_>,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    let width = opts.image_width.unwrap_or(1200);
    let xml = |t: &str| {
        escape(t)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let subtitle = opts
        .subtitle
        .as_deref()
        .map(|t| {
            format!(
                "<text x=\"{}\" y=\"48\" text-anchor=\"middle\">{}</text>",
                width / 2,
                xml(t)
            )
        })
        .unwrap_or_default();
    write!(
        out,
        "<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"{width}\" height=\"80\" viewBox=\"0 0 {width} 80\" xmlns=\"http://www.w3.org/2000/svg\"><rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#eeeeee\"/><text id=\"title\" x=\"{}\" y=\"24\" font-size=\"17\" font-family=\"Verdana\" text-anchor=\"middle\">{} (none)</text>{subtitle}</svg>\n",
        width / 2,
        xml(&opts.title)
    )?;
    Ok(())
}

/// What the flamegraph leaves out, as the verdict does: `not shown: 72.2
/// KiB of runtime residue (python), 300 B suppressed`.
fn left_out(r: &Report) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(g) = &r.runtime_residue {
        parts.push(format!(
            "{} of runtime residue ({})",
            leakwatch_core::format::bytes(g.bytes as f64),
            r.runtimes.join(", ")
        ));
    }
    let suppressed: u64 = r.suppressed.iter().map(|s| s.bytes).sum();
    if !r.suppressed.is_empty() {
        parts.push(format!(
            "{} suppressed",
            leakwatch_core::format::bytes(suppressed as f64)
        ));
    }
    (!parts.is_empty()).then(|| format!("not counted, not shown: {}", parts.join(", ")))
}

/// pprof's `profile.proto` messages.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        #[prost(int64, tag = "9")]
        pub time_nanos: i64,
        #[prost(int64, tag = "10")]
        pub duration_nanos: i64,
        #[prost(message, optional, tag = "11")]
        pub period_type: Option<ValueType>,
        #[prost(int64, tag = "12")]
        pub period: i64,
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        #[prost(int64, tag = "5")]
        pub filename: i64,
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
        #[prost(bool, tag = "8")]
        pub has_filenames: bool,
        #[prost(bool, tag = "9")]
        pub has_line_numbers: bool,
        #[prost(bool, tag = "10")]
        pub has_inline_frames: bool,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// Innermost first: all but the last were inlined into the last.
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        #[prost(uint64, tag = "1")]
        pub id: u64,
        #[prost(int64, tag = "2")]
        pub name: i64,
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        #[prost(int64, tag = "4")]
        pub filename: i64,
    }
}

#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.id(""); // pprof requires string 0 to be empty
        s
    }

    fn id(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// The frames of `stack` a profile shows, as (address, range of that
/// address's frames, innermost first): all with `full_stacks`, else
/// exactly the frames the text report shows ([`crate::classify::trim_frames`]),
/// so an address whose inlined frames are cut in part (the allocator's
/// `std::__new_allocator::allocate` inlined into `std::make_shared`) keeps
/// only its shown ones. `roles_at` caches each address's frames' roles,
/// judged once for the whole profile.
fn shown_frames(
    a: &Analysis,
    sym: &mut Symbolizer,
    roles_at: &mut HashMap<u64, Vec<TrimRole>>,
    stack: u32,
    full_stacks: bool,
) -> Vec<(u64, Range<usize>)> {
    let addrs: Vec<u64> = a.tables.stacks.frames(stack).collect();
    if full_stacks {
        return addrs
            .into_iter()
            .map(|addr| (addr, 0..sym.frames_of(addr).len()))
            .collect();
    }
    let mut roles = Vec::new();
    // Per address, where its frames start in `roles`.
    let mut starts = Vec::with_capacity(addrs.len());
    for &addr in &addrs {
        let at = roles_at
            .entry(addr)
            .or_insert_with(|| sym.frames_of(addr).iter().map(trim_role).collect());
        starts.push(roles.len());
        roles.extend_from_slice(at);
    }
    let kept = crate::classify::trimmed_range_of(&roles);
    // Nothing left (every frame the allocator's): the whole stack, as the
    // flamegraph draws it, rather than an empty sample.
    let kept = if kept.is_empty() {
        0..roles.len()
    } else {
        kept
    };
    addrs
        .iter()
        .zip(&starts)
        .enumerate()
        .filter_map(|(i, (&addr, &first))| {
            let end = starts.get(i + 1).copied().unwrap_or(roles.len());
            let (lo, hi) = (first.max(kept.start), end.min(kept.end));
            (lo < hi).then_some((addr, lo - first..hi - first))
        })
        .collect()
}

/// Builds the pprof profile: per call stack, objects and bytes allocated
/// over the run, and objects and bytes still allocated at the end.
pub fn pprof_profile(
    a: &Analysis,
    sym: &mut Symbolizer,
    start_unix_ns: u64,
    full_stacks: bool,
) -> proto::Profile {
    let ids: Vec<u32> = a
        .allocating_stacks()
        .filter(|(_, s)| s.allocs > 0)
        .map(|(i, _)| i)
        .collect();
    resolve_stacks(a, sym, &ids);
    let mut st = Strings::new();
    let sample_type = [
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
    ]
    .iter()
    .zip(["count", "bytes", "count", "bytes"])
    .map(|(t, u)| proto::ValueType {
        r#type: st.id(t),
        unit: st.id(u),
    })
    .collect();
    let mut mappings: Vec<proto::Mapping> = Vec::new();
    let mut mapping_of: HashMap<String, u64> = HashMap::new();
    for m in &a.tables.modules {
        if mapping_of.contains_key(&m.path) {
            continue;
        }
        let lo = m.segments.iter().map(|s| s.0).min().unwrap_or(0) + m.base;
        let hi = m.segments.iter().map(|s| s.0 + s.1).max().unwrap_or(0) + m.base;
        let id = mappings.len() as u64 + 1;
        mappings.push(proto::Mapping {
            id,
            memory_start: lo,
            memory_limit: hi,
            file_offset: 0,
            filename: st.id(&m.path),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        });
        mapping_of.insert(m.path.clone(), id);
    }
    let mut functions: Vec<proto::Function> = Vec::new();
    let mut function_of: HashMap<(String, String), u64> = HashMap::new();
    let mut locations: Vec<proto::Location> = Vec::new();
    // A location is an address and the part of its inlined frames shown.
    let mut location_of: HashMap<(u64, Range<usize>), u64> = HashMap::new();
    let mut samples = Vec::new();
    let mut roles_at: HashMap<u64, Vec<TrimRole>> = HashMap::new();
    for &s in &ids {
        let stats = a.stack_stats(s);
        let ts = a.stack_first_ns(s);
        let mut loc_ids = Vec::new();
        for (addr, part) in shown_frames(a, sym, &mut roles_at, s, full_stacks) {
            let key = (addr, part);
            let id = match location_of.get(&key) {
                Some(&id) => id,
                None => {
                    let frames = sym.frames_of(addr);
                    let frames = frames.get(key.1.clone()).unwrap_or(&[]).to_vec();
                    let mut lines = Vec::new();
                    for f in &frames {
                        let key = (f.function.clone(), f.file.clone().unwrap_or_default());
                        let fid = match function_of.get(&key) {
                            Some(&id) => id,
                            None => {
                                let id = functions.len() as u64 + 1;
                                let name = st.id(&f.function);
                                functions.push(proto::Function {
                                    id,
                                    name,
                                    system_name: name,
                                    filename: st.id(&key.1),
                                });
                                function_of.insert(key, id);
                                id
                            }
                        };
                        lines.push(proto::Line {
                            function_id: fid,
                            line: f.line.unwrap_or(0) as i64,
                        });
                    }
                    let mapping_id = a
                        .tables
                        .module_of(addr.saturating_sub(1), ts)
                        .and_then(|m| mapping_of.get(&m.path).copied())
                        .unwrap_or(0);
                    let id = locations.len() as u64 + 1;
                    locations.push(proto::Location {
                        id,
                        mapping_id,
                        // pprof looks up address - 1 for callers itself.
                        address: addr,
                        line: lines,
                    });
                    location_of.insert(key, id);
                    id
                }
            };
            loc_ids.push(id);
        }
        samples.push(proto::Sample {
            location_id: loc_ids,
            value: vec![
                stats.allocs as i64,
                stats.bytes as i64,
                stats.live_blocks as i64,
                stats.live_bytes as i64,
            ],
        });
    }
    let period_type = Some(proto::ValueType {
        r#type: st.id("space"),
        unit: st.id("bytes"),
    });
    let default_sample_type = st.id("inuse_space");
    proto::Profile {
        sample_type,
        sample: samples,
        mapping: mappings,
        location: locations,
        function: functions,
        string_table: st.table,
        time_nanos: start_unix_ns as i64,
        duration_nanos: a.duration_ns as i64,
        period_type,
        period: 1,
        default_sample_type,
    }
}

/// Writes the pprof profile, gzipped.
pub fn pprof(
    a: &Analysis,
    sym: &mut Symbolizer,
    start_unix_ns: u64,
    full_stacks: bool,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    use prost::Message;
    let profile = pprof_profile(a, sym, start_unix_ns, full_stacks);
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    gz.write_all(&profile.encode_to_vec())?;
    gz.finish()?;
    Ok(())
}

/// Reads back a gzipped pprof profile (for checks and tests).
pub fn read_pprof(gz: &[u8]) -> Result<proto::Profile, ExportError> {
    use prost::Message;
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw)?;
    proto::Profile::decode(raw.as_slice())
        .map_err(|e| ExportError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}
