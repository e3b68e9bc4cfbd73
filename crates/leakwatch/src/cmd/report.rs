//! `leakwatch report TRACE`: what leaked, what grows, and who held the peak,
//! from a trace written by `leakwatch trace`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
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
    /// Call stacks listed per section.
    #[arg(long, default_value_t = leakwatch_trace::report::TOP_STACKS)]
    pub top: usize,
}

/// Opens, replays and symbolizes a trace.
pub fn load(path: &Path, top: usize) -> anyhow::Result<(Analysis, Report, Symbolizer)> {
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
    Ok((analysis, report, sym))
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let (_analysis, report, _sym) = load(&args.trace, args.top)?;
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
