//! `leakwatch report TRACE`: what leaked, what grows, and who held the peak,
//! from a trace written by `leakwatch trace`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use std::io::Write;

use leakwatch_trace::export;
use leakwatch_trace::{analyze, build_report, render_text, Analysis, Report, Symbolizer, Trace};

use crate::exit;

/// Report on an allocation trace: (1) memory still allocated at exit, by call
/// stack; (2) growing sites: call stacks whose live bytes the leak detector
/// finds growing without bound, even in a program that never exits; (3) the
/// peak and who held it.
///
/// Exit code: 1 when leaks at exit or growing sites are found, 0 when none,
/// 2 on error.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The trace file written by `leakwatch trace`.
    pub trace: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write a flamegraph SVG of the bytes leaked at exit (or live when
    /// the trace ended).
    #[arg(long, value_name = "OUT.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Also write a gzipped pprof profile (alloc_objects, alloc_space,
    /// inuse_objects, inuse_space), for `go tool pprof`, speedscope or Pyroscope.
    #[arg(long, value_name = "OUT.pb.gz")]
    pub pprof: Option<PathBuf>,
    /// Call stacks listed per section.
    #[arg(long, default_value_t = leakwatch_trace::report::TOP_STACKS)]
    pub top: usize,
}

/// Opens, replays and symbolizes a trace.
pub fn load(path: &Path, top: usize) -> anyhow::Result<(Analysis, Report, Symbolizer)> {
    let (analysis, report, sym, _) = load_with_header(path, top)?;
    Ok((analysis, report, sym))
}

fn load_with_header(
    path: &Path,
    top: usize,
) -> anyhow::Result<(Analysis, Report, Symbolizer, u64)> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open trace {}: check the path", path.display()))?;
    // SAFETY: the trace is only read; a writer still appending to it cannot
    // make the mapping unsound for byte reads, only shorter than the file.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("cannot map trace {}", path.display()))?;
    let trace =
        Trace::open(&map).with_context(|| format!("cannot read trace {}", path.display()))?;
    let analysis =
        analyze(&trace).with_context(|| format!("cannot read trace {}", path.display()))?;
    let mut sym = Symbolizer::new();
    let report = build_report(&analysis, &trace.header, trace.truncated_at, &mut sym, top);
    Ok((analysis, report, sym, trace.header.start_unix_ns))
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let (analysis, report, mut sym, start_ns) = load_with_header(&args.trace, args.top)?;
    if let Some(out) = &args.flamegraph {
        let mut w = create(out)?;
        export::flamegraph(&analysis, &mut sym, &mut w)
            .with_context(|| format!("cannot write the flamegraph {}", out.display()))?;
        w.flush()?;
        eprintln!("leakwatch: flamegraph written to {}", out.display());
    }
    if let Some(out) = &args.pprof {
        let mut w = create(out)?;
        export::pprof(&analysis, &mut sym, start_ns, &mut w)
            .with_context(|| format!("cannot write the pprof profile {}", out.display()))?;
        w.flush()?;
        eprintln!(
            "leakwatch: pprof profile written to {} (try: go tool pprof -top -sample_index=inuse_space {})",
            out.display(),
            out.display()
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            render_text(&report, &args.trace.display().to_string())
        );
    }
    Ok(if report.leak { exit::LEAK } else { exit::OK })
}

fn create(path: &Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let f = std::fs::File::create(path).with_context(|| {
        format!(
            "cannot create {}: check the directory exists and is writable",
            path.display()
        )
    })?;
    Ok(std::io::BufWriter::new(f))
}
