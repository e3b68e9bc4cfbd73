//! `leakwatch report TRACE`: what leaked, what grows, and who held the peak,
//! from a trace written by `leakwatch trace`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use leakwatch_trace::export;
use leakwatch_trace::suppress::lsan_options_suppressions;
use leakwatch_trace::{
    analyze_with_progress, build_report, render_text, Analysis, Report, ReportOptions,
    Suppressions, Symbolizer, TraceReader,
};

use crate::exit;

const AFTER_HELP: &str = "\
Examples:
  leakwatch report leakwatch-server.4711.lwt
  leakwatch report t.lwt --json | jq '.leaked.stacks[0].site'
  leakwatch report t.lwt --suppressions lsan.supp --full-stacks
  leakwatch report t.lwt --flamegraph leaks.svg --pprof leaks.pb.gz

Exit codes: 1 a leak (bytes still allocated at exit that are neither
suppressed nor a runtime's residue, or a call stack growing without bound),
0 none, 2 an error or an incomplete trace (cut short, lost data, or a
program that did not exit) in which no leak could be shown: missing data is
never \"no leak\".";

/// Report on an allocation trace: (1) memory still allocated at exit, by
/// call stack, named by the first frame in your own code; (2) growing
/// sites: call stacks whose live bytes the leak detector finds growing
/// without bound, even in a program that never exits; (3) the peak and who
/// held it. A language runtime's residue at exit (CPython's interned
/// strings and static types) and LeakSanitizer-style suppressions are
/// listed apart and not counted.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct ReportArgs {
    /// The trace file written by `leakwatch trace`.
    pub trace: PathBuf,
    /// Print one JSON object instead of text (see docs/json.md).
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
    /// Also write an HTML report: growing sites' live bytes over time, the
    /// leaked-at-exit table and the flamegraph, in one self-contained page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Call stacks listed per section (1 or more; totals are always shown).
    #[arg(long, default_value_t = leakwatch_trace::report::TOP_STACKS, value_parser = parse_top)]
    pub top: usize,
    /// Show every frame: the allocator's own, and those below `main`
    /// (C start-up, thread start), which are hidden by default.
    #[arg(long)]
    pub full_stacks: bool,
    /// LeakSanitizer-format suppressions (`leak:PATTERN` lines); may be
    /// repeated. `LSAN_OPTIONS=suppressions=FILE` and the program's own
    /// `__lsan_default_suppressions()` are honoured too.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,
}

/// `--top N`: at least one stack, since the verdict names the largest.
fn parse_top(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err(
            "0 would list no call stack, yet the verdict names the largest one: give 1 or more (each section prints its totals whatever N is)".to_string(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of call stacks: give a whole number such as 5")),
    }
}

/// Largest suppression file read.
const MAX_SUPPRESSIONS_FILE: u64 = 16 << 20;

fn read_suppressions(path: &Path, supp: &mut Suppressions, source: &str) -> anyhow::Result<()> {
    let mut text = String::new();
    std::fs::File::open(path)
        .with_context(|| format!("cannot open the suppression file {}", path.display()))?
        .take(MAX_SUPPRESSIONS_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| {
            format!(
                "cannot read the suppression file {} (it must be UTF-8 text)",
                path.display()
            )
        })?;
    if text.len() as u64 > MAX_SUPPRESSIONS_FILE {
        bail!(
            "the suppression file {} is larger than 16 MiB; LeakSanitizer suppression files are a few lines",
            path.display()
        );
    }
    supp.parse(&text, source)?;
    Ok(())
}

/// The suppressions of `--suppressions` files and of `LSAN_OPTIONS`.
pub fn suppressions(files: &[PathBuf]) -> anyhow::Result<Suppressions> {
    let mut supp = Suppressions::default();
    for f in files {
        read_suppressions(f, &mut supp, &f.display().to_string())?;
    }
    if let Ok(options) = std::env::var("LSAN_OPTIONS") {
        if let Some(file) = lsan_options_suppressions(&options) {
            let path = PathBuf::from(&file);
            read_suppressions(&path, &mut supp, &format!("LSAN_OPTIONS {file}")).context(
                "LSAN_OPTIONS names a suppressions file that cannot be used (unset LSAN_OPTIONS or fix the path)",
            )?;
        }
    }
    Ok(supp)
}

/// A progress line on stderr for long reads, only on a terminal.
struct Progress {
    total: u64,
    started: Instant,
    last: Instant,
    shown: bool,
    enabled: bool,
}

impl Progress {
    fn new(total: u64) -> Self {
        let now = Instant::now();
        Progress {
            total,
            started: now,
            last: now,
            shown: false,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn update(&mut self, read: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        if self.shown && self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let pct = if self.total > 0 {
            format!("{:.0}%, ", 100.0 * read as f64 / self.total as f64)
        } else {
            String::new()
        };
        eprint!(
            "\rleakwatch: reading the trace: {pct}{} of {} ({:.0}s)\x1b[K",
            leakwatch_core::format::bytes(read as f64),
            leakwatch_core::format::bytes(self.total as f64),
            self.started.elapsed().as_secs_f64()
        );
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// Opens, replays and symbolizes a trace: one buffered pass over the file
/// (never a memory map: a file truncated under the reader must be an
/// error, not a SIGBUS).
pub fn load(path: &Path, opts: &ReportOptions) -> anyhow::Result<(Analysis, Report, Symbolizer)> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open trace {}: check the path", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read trace {}", path.display()))?;
    if meta.is_dir() {
        bail!("{} is a directory, not a trace file", path.display());
    }
    let total = if meta.is_file() { meta.len() } else { 0 };
    let reader = TraceReader::open(std::io::BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("cannot read trace {}", path.display()))?;
    let mut progress = Progress::new(total);
    let analysis = analyze_with_progress(reader, |read| progress.update(read));
    progress.finish();
    let analysis = analysis.with_context(|| format!("cannot read trace {}", path.display()))?;
    let mut sym = Symbolizer::new();
    // Libraries recorded by a relative path: the trace usually lies where
    // the program ran.
    if let Some(dir) = path.parent() {
        sym.add_relative_base(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        });
    }
    let report = build_report(&analysis, &mut sym, opts);
    Ok((analysis, report, sym))
}

/// Writes to stdout; `Ok(false)` when the reader went away (`| head`).
pub(crate) fn emit(text: &str) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write the report to standard output"),
    }
}

/// With `LEAKWATCH_STATS` set, prints the time taken and leakwatch's own
/// peak memory when dropped (for benchmarks and the bounded-memory tests).
struct Stats(Instant);

impl Drop for Stats {
    fn drop(&mut self) {
        if std::env::var_os("LEAKWATCH_STATS").is_none() {
            return;
        }
        let hwm_kib = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .unwrap_or(0);
        eprintln!(
            "leakwatch: report stats: {:.3} s, peak memory {hwm_kib} KiB",
            self.0.elapsed().as_secs_f64()
        );
    }
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let _stats = Stats(Instant::now());
    let opts = ReportOptions {
        top: args.top,
        full_stacks: args.full_stacks,
        suppressions: suppressions(&args.suppressions)?,
    };
    // Check the output paths before the (possibly long) read.
    if let Some(page) = &args.html {
        not_a_trace(page)?;
    }
    let mut flame_out = args.flamegraph.as_deref().map(create).transpose()?;
    let mut pprof_out = args.pprof.as_deref().map(create).transpose()?;
    let (analysis, report, mut sym) = load(&args.trace, &opts)?;
    if let (Some(w), Some(out)) = (flame_out.as_mut(), &args.flamegraph) {
        export::flamegraph(&analysis, &report, &mut sym, args.full_stacks, w)
            .with_context(|| format!("cannot write the flamegraph {}", out.display()))?;
        w.flush()?;
        eprintln!("leakwatch: flamegraph written to {}", out.display());
    }
    if let (Some(w), Some(out)) = (pprof_out.as_mut(), &args.pprof) {
        export::pprof(
            &analysis,
            &mut sym,
            analysis.header.start_unix_ns,
            args.full_stacks,
            w,
        )
        .with_context(|| format!("cannot write the pprof profile {}", out.display()))?;
        w.flush()?;
        eprintln!(
            "leakwatch: pprof profile written to {} (try: go tool pprof -top -sample_index=inuse_space {})",
            out.display(),
            out.display()
        );
    }
    if let Some(page) = &args.html {
        let flame = leakwatch_html::trace::flamegraph_svg(&analysis, &report, &mut sym)
            .context("cannot draw the flamegraph for the HTML report")?;
        let html = leakwatch_html::trace::trace_page(
            &report,
            &args.trace.display().to_string(),
            Some(&flame),
        );
        crate::cmd::html::write(page, &html, false)?;
    }
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    } else {
        crate::term::paint_report_headlines(
            &render_text(&report, &args.trace.display().to_string(), args.full_stacks),
            crate::term::stdout_color(),
        )
    };
    if !emit(&text)? {
        // The reader of our output is gone: nothing more to say, quietly.
        return Ok(exit::OK);
    }
    Ok(report.exit_code)
}

/// Creates an output file: never through a symbolic link, never replacing
/// anything but a regular file.
/// Refuses to write a report over a leakwatch trace (`report t.lwt
/// --html t.lwt`): the trace, the input or another run's, would be lost.
fn not_a_trace(path: &Path) -> anyhow::Result<()> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut magic = [0u8; 8];
    // Non-blocking: a FIFO at the path must not stall the check.
    let is_trace = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == leakwatch_trace::format::MAGIC;
    if is_trace {
        bail!(
            "{} is a leakwatch trace: writing a report over it would destroy the recording; choose another output path",
            path.display()
        );
    }
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    not_a_trace(path)?;
    if let Ok(md) = std::fs::symlink_metadata(path) {
        if md.file_type().is_symlink() {
            bail!(
                "{} is a symbolic link: leakwatch does not write through links; choose another path",
                path.display()
            );
        }
        if !md.is_file() {
            bail!(
                "{} exists and is not a regular file: choose a file path",
                path.display()
            );
        }
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {}: check the directory exists and is writable",
                path.display()
            )
        })?;
    Ok(std::io::BufWriter::new(f))
}
