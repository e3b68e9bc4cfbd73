//! `leakwatch diff BASE TARGET [FINAL]`: compares heap snapshots (V8) or heap
//! profiles (pprof) of one process and names what keeps the growth alive.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context};
use clap::Args;
use leakwatch_core::format;
use leakwatch_heap::diff::{diff_snapshot_files, ClassDelta, DiffOptions, DiffReport};
use leakwatch_heap::jvm::{diff_hprof_files, JvmDiffReport};
use leakwatch_heap::{detect_format, InputFormat};

use crate::exit;
use crate::term::Tone;

/// The version of every `diff --json` document (see docs/json-heap.md);
/// raised when a field changes meaning or goes away, not when one is added.
pub const JSON_VERSION: u32 = 1;

/// Compare heap snapshots or heap profiles of one process.
///
/// V8 heap snapshots (.heapsnapshot from Node, Chrome, Electron, Deno): with
/// three snapshots, objects allocated after BASE and still alive at TARGET
/// and FINAL are grouped by their shortest retainer path from a GC root
/// (memlab's method); with two, everything new in TARGET is considered.
/// pprof profiles (gzipped or raw profile.proto, e.g. Go's /debug/pprof/heap
/// or /debug/pprof/goroutine): the stacks whose in-use bytes/objects or
/// goroutine count grew most, like `go tool pprof -base BASE TARGET`.
/// The format is detected from the content.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier snapshot or profile.
    pub base: PathBuf,
    /// A later one.
    pub target: PathBuf,
    /// An even later one (heap snapshots: reduces false positives).
    pub final_: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// How many clusters, classes or stacks to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Leak clusters whose new objects weigh less than this are noise (heap snapshots), e.g. 256KiB.
    #[arg(long, default_value = "256KiB", value_parser = format::parse_size)]
    pub min_bytes: u64,
    /// Also write an HTML report (heap snapshots and HPROF dumps): the leak
    /// clusters' retainer paths, the class table, turnover apart.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub fn run(args: DiffArgs) -> anyhow::Result<u8> {
    let mut paths = vec![args.base.clone(), args.target.clone()];
    if let Some(f) = &args.final_ {
        paths.push(f.clone());
    }
    let mut formats = Vec::new();
    for p in &paths {
        let f = detect_format(p).with_context(|| format!("cannot read {}", p.display()))?;
        formats.push(f);
    }
    match formats[0] {
        InputFormat::V8Snapshot => {
            if let Some((i, _)) = formats
                .iter()
                .enumerate()
                .find(|(_, f)| **f != InputFormat::V8Snapshot)
            {
                bail!(
                    "{} is a V8 heap snapshot but {} is not: pass snapshots of the same kind",
                    paths[0].display(),
                    paths[i].display()
                );
            }
            diff_snapshots_to(
                &paths,
                args.json,
                args.top,
                args.min_bytes,
                args.html.as_deref(),
            )
        }
        InputFormat::Pprof => {
            if paths.len() != 2 {
                bail!("pprof profiles are compared two at a time: leakwatch diff BASE TARGET");
            }
            if args.html.is_some() {
                bail!("--html is made for heap snapshots and HPROF dumps; for pprof profiles use `go tool pprof -http=127.0.0.1:8080 -base BASE TARGET`");
            }
            if formats[1] != InputFormat::Pprof {
                bail!(
                    "{} is a pprof profile but {} is not",
                    paths[0].display(),
                    paths[1].display()
                );
            }
            crate::cmd::diff_pprof::run(&args, &paths)
        }
        InputFormat::Hprof => {
            if let Some((i, _)) = formats
                .iter()
                .enumerate()
                .find(|(_, f)| **f != InputFormat::Hprof)
            {
                bail!(
                    "{} is a Java heap dump (HPROF) but {} is not: pass dumps of the same kind",
                    paths[0].display(),
                    paths[i].display()
                );
            }
            diff_hprof_to(
                &paths,
                args.json,
                args.top,
                args.min_bytes,
                args.html.as_deref(),
            )
        }
        InputFormat::Unknown => bail!(
            "{} is neither a V8 heap snapshot (JSON), a Java heap dump (HPROF) nor a pprof \
             profile (gzipped or raw profile.proto)",
            paths[0].display()
        ),
    }
}

/// Diffs 2 or 3 Java heap dumps (HPROF) and prints the report; returns the exit code.
pub fn diff_hprof(paths: &[PathBuf], json: bool, top: usize, min_bytes: u64) -> anyhow::Result<u8> {
    diff_hprof_to(paths, json, top, min_bytes, None)
}

/// [`diff_hprof`], also writing the HTML page to `html`.
pub fn diff_hprof_to(
    paths: &[PathBuf],
    json: bool,
    top: usize,
    min_bytes: u64,
    html: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let opts = DiffOptions {
        min_cluster_bytes: min_bytes,
        top_classes: top,
        top_clusters: top,
        ..DiffOptions::default()
    };
    let show_progress = std::io::stderr().is_terminal();
    let sizes: Vec<u64> = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    let progress = |i: usize, bytes: u64| {
        if show_progress && sizes[i] > 0 {
            eprint!(
                "\rreading dump {} of {} … {:>3}%  ",
                i + 1,
                paths.len(),
                (bytes * 100 / sizes[i]).min(100)
            );
            let _ = std::io::stderr().flush();
        }
    };
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    release_freed_columns();
    let result = diff_hprof_files(&refs, &opts, &progress);
    let out = Output {
        paths,
        json,
        html,
        progress_shown: show_progress,
    };
    let page = leakwatch_html::heap::hprof_diff_page;
    out.emit(
        "hprof",
        result,
        JvmDiffReport::leak_found,
        page,
        print_hprof_report,
    )
}

fn print_hprof_report(r: &JvmDiffReport, paths: &[PathBuf]) {
    let names = ["BASE", "TARGET", "FINAL"];
    println!(
        "Java heap dump diff ({}; objects matched by retainer path, not by address)",
        r.method
    );
    for (i, (p, s)) in paths.iter().zip(&r.dumps).enumerate() {
        println!(
            "  {:<6} {}  {} objects, {}{}",
            names[i],
            p.display(),
            s.objects,
            format::bytes(s.bytes as f64),
            if s.unreachable > 0 {
                format!(" ({} unreachable)", s.unreachable)
            } else {
                String::new()
            }
        );
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!();
    if r.clusters.is_empty() && r.leak_found() {
        println!(
            "{}",
            headline(
                &format!(
                    "{} growing object groups found (none listed: --top 0)",
                    r.clusters_found
                ),
                Tone::Bad
            )
        );
    } else if r.clusters.is_empty() {
        println!(
            "{}",
            headline(
                &format!(
                    "no object group grows on its retainer path ({} smaller growing groups ignored)",
                    r.clusters_below_threshold
                ),
                Tone::Good
            )
        );
    } else {
        println!(
            "{}",
            headline(
                "growing object groups, by shortest retainer path from a GC root, biggest first:",
                Tone::Bad
            )
        );
        for (i, c) in r.clusters.iter().enumerate() {
            println!(
                "{:>3}. {}  {}",
                i + 1,
                c.display,
                signed_bytes(c.delta_bytes)
            );
            let counts: Vec<String> = c.counts.iter().map(|n| n.to_string()).collect();
            let detail: Vec<String> = c
                .keeps
                .iter()
                .take(5)
                .map(|k| {
                    format!(
                        "{} {} ({})",
                        k.count,
                        leakwatch_heap::hprof::simple_name(&k.class),
                        format::bytes(k.self_size as f64)
                    )
                })
                .collect();
            println!(
                "     count {} ({}); keeps {}",
                counts.join(" → "),
                c.trend.state,
                detail.join(", ")
            );
        }
        if r.clusters_below_threshold > 0 {
            println!(
                "     ({} smaller growing groups not shown; see --min-bytes, --top)",
                r.clusters_below_threshold
            );
        }
    }
    println!();
    print_class_table(&r.classes, paths.len(), "new (est.)");
}

/// Diffs 2 or 3 V8 heap snapshot files and prints the report; returns the exit code.
pub fn diff_snapshots(
    paths: &[PathBuf],
    json: bool,
    top: usize,
    min_bytes: u64,
) -> anyhow::Result<u8> {
    diff_snapshots_to(paths, json, top, min_bytes, None)
}

/// [`diff_snapshots`], also writing the HTML page to `html`.
pub fn diff_snapshots_to(
    paths: &[PathBuf],
    json: bool,
    top: usize,
    min_bytes: u64,
    html: Option<&std::path::Path>,
) -> anyhow::Result<u8> {
    let opts = DiffOptions {
        min_cluster_bytes: min_bytes,
        top_classes: top,
        top_clusters: top,
        ..DiffOptions::default()
    };
    let show_progress = std::io::stderr().is_terminal();
    let sizes: Vec<u64> = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    // Files are read concurrently: show their combined progress.
    let done: Vec<AtomicU64> = paths.iter().map(|_| AtomicU64::new(0)).collect();
    let total: u64 = sizes.iter().sum();
    let progress = |i: usize, bytes: u64| {
        if show_progress && total > 0 {
            done[i].store(bytes, Ordering::Relaxed);
            let sum: u64 = done.iter().map(|d| d.load(Ordering::Relaxed)).sum();
            eprint!(
                "\rreading {} snapshots … {:>3}%  ",
                paths.len(),
                (sum * 100 / total).min(100)
            );
            let _ = std::io::stderr().flush();
        }
    };
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    release_freed_columns();
    prefetch(paths);
    let result = diff_snapshot_files(&refs, &opts, &progress);
    let out = Output {
        paths,
        json,
        html,
        progress_shown: show_progress,
    };
    let page = leakwatch_html::heap::v8_diff_page;
    out.emit(
        "v8-heap-snapshot",
        result,
        DiffReport::leak_found,
        page,
        print_report,
    )
}

/// Where a diff's report goes: the terminal (text or `--json`) and
/// optionally an HTML page; the same for every dump format.
struct Output<'a> {
    paths: &'a [PathBuf],
    json: bool,
    html: Option<&'a std::path::Path>,
    /// A progress line is on stderr, to be cleared first.
    progress_shown: bool,
}

impl Output<'_> {
    /// Writes the page and prints the report of a diff (or the error
    /// naming the file it comes from); `format`: the JSON's field. Gives
    /// the exit code.
    fn emit<R: serde::Serialize>(
        &self,
        format: &str,
        result: Result<R, (usize, leakwatch_heap::HeapError)>,
        leak_found: fn(&R) -> bool,
        page: fn(&R, &[&str]) -> String,
        print: fn(&R, &[PathBuf]),
    ) -> anyhow::Result<u8> {
        if self.progress_shown {
            eprint!("\r{:60}\r", "");
        }
        let report = result.map_err(|(i, e)| {
            anyhow::Error::new(e).context(format!("cannot use {}", self.paths[i].display()))
        })?;
        if let Some(to) = self.html {
            let names = crate::cmd::html::names(self.paths);
            let files: Vec<&str> = names.iter().map(String::as_str).collect();
            crate::cmd::html::write(to, &page(&report, &files), true)?;
        }
        if self.json {
            let out = serde_json::json!({
                "version": JSON_VERSION,
                "format": format,
                "files": self.paths,
                "report": report,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            print(&report, self.paths);
        }
        Ok(if leak_found(&report) {
            exit::LEAK
        } else {
            exit::OK
        })
    }
}

fn signed_bytes(v: i64) -> String {
    if v < 0 {
        format!("-{}", format::bytes(-v as f64))
    } else {
        format!("+{}", format::bytes(v as f64))
    }
}

fn print_report(r: &DiffReport, paths: &[PathBuf]) {
    let names = ["BASE", "TARGET", "FINAL"];
    println!(
        "heap snapshot diff ({} method), node ids checked to come from one process",
        r.method
    );
    for (i, (p, s)) in paths.iter().zip(&r.snapshots).enumerate() {
        println!(
            "  {:<6} {}  {} nodes, {} heap",
            names[i],
            p.display(),
            s.nodes,
            format::bytes(s.self_size as f64)
        );
    }
    println!();
    if r.clusters.is_empty() && r.leak_found() {
        println!(
            "{}",
            headline(
                &format!(
                    "{} leak clusters found (none listed: --top {})",
                    r.clusters_found,
                    r.clusters.len()
                ),
                Tone::Bad
            )
        );
    } else if r.clusters.is_empty() {
        println!(
            "{}",
            headline(
                &format!(
                    "no leak cluster above the noise threshold ({} smaller clusters ignored)",
                    r.clusters_below_threshold
                ),
                Tone::Good
            )
        );
    } else {
        let what = if paths.len() == 3 {
            "allocated after BASE, still alive at TARGET and FINAL"
        } else {
            "allocated after BASE, alive at TARGET"
        };
        println!(
            "{}",
            headline(
                &format!("leak clusters ({what}), biggest first:"),
                Tone::Bad
            )
        );
        for (i, c) in r.clusters.iter().enumerate() {
            println!(
                "{:>3}. {}  +{}",
                i + 1,
                c.display,
                format::bytes(c.new_bytes as f64)
            );
            let detail: Vec<String> = c
                .classes
                .iter()
                .take(5)
                .map(|k| {
                    format!(
                        "{} {} ({})",
                        k.count,
                        k.class,
                        format::bytes(k.self_size as f64)
                    )
                })
                .collect();
            println!(
                "     keeps {} new objects alive: {}; retained {}; e.g. @{}",
                c.new_objects,
                detail.join(", "),
                format::bytes(c.retained_bytes as f64),
                c.sample_ids
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" @")
            );
        }
        if r.clusters_below_threshold > 0 {
            println!(
                "     ({} smaller clusters not shown; see --min-bytes, --top)",
                r.clusters_below_threshold
            );
        }
    }
    if !r.turnover.is_empty() {
        println!();
        println!(
            "replaced, not growing (new since BASE and still alive, but their class count holds \
             steady: turnover, not a leak):"
        );
        for c in &r.turnover {
            let counts: Vec<String> = c.class_counts.iter().map(|n| n.to_string()).collect();
            match &c.judged_by {
                Some(why) => println!("   - {}  ({why})", c.display),
                None => println!(
                    "   - {}  ({} count {}, {})",
                    c.display,
                    c.class,
                    counts.join(" → "),
                    c.class_state
                ),
            }
        }
    }
    println!();
    print_class_table(&r.classes, paths.len(), "new");
}

fn print_class_table(classes: &[ClassDelta], files: usize, new_header: &str) {
    let names = ["BASE", "TARGET", "FINAL"];
    let header: Vec<&str> = names[..files].to_vec();
    println!(
        "classes by self-size growth (count {}):",
        header.join(" → ")
    );
    println!(
        "  {:<32} {:>28} {:>9} {:>11} {:>9}{}",
        "class",
        "count",
        "Δcount",
        "Δsize",
        new_header,
        if files > 2 { "  trend (count)" } else { "" }
    );
    for c in classes {
        let counts: Vec<String> = c.counts.iter().map(|n| n.to_string()).collect();
        let mut name = c.class.clone();
        if name.chars().count() > 32 {
            name = name.chars().take(31).collect::<String>() + "…";
        }
        println!(
            "  {:<32} {:>28} {:>+9} {:>11} {:>9}{}",
            name,
            counts.join(" → "),
            c.delta_count,
            signed_bytes(c.delta_size),
            c.new_count,
            if c.counts.len() > 2 {
                format!(
                    "  {} {:+.0}/snapshot",
                    c.trend.state, c.trend.count_per_snapshot
                )
            } else {
                String::new()
            }
        );
    }
}

/// Makes the allocator give freed columns back to the system. glibc serves
/// big blocks with mmap but raises that threshold up to 32 MiB each time one
/// is freed, after which the next columns (tens of MB) come from its heap,
/// where freed space stays resident: the analysis frees columns as it goes,
/// so without this the peak would include memory already freed. Fixing the
/// threshold is a process-wide setting, so it is made here, not in the library.
/// Asks the kernel to start reading the files into the page cache now. On
/// a cold cache, FINAL's disk reads then overlap the parsing of BASE and
/// TARGET instead of starting once BASE is parsed. Advice only: nothing is
/// mapped into this process, so its memory does not grow.
fn prefetch(paths: &[PathBuf]) {
    #[cfg(target_os = "linux")]
    for p in paths {
        use std::os::fd::AsRawFd;
        if let Ok(f) = std::fs::File::open(p) {
            // SAFETY: posix_fadvise only takes a descriptor, which `f` keeps
            // open for the call, and touches no memory of this process.
            unsafe {
                libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_WILLNEED);
            }
        }
    }
}

fn release_freed_columns() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator tuning value; any value is valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// A verdict headline, coloured on a terminal.
fn headline(text: &str, tone: Tone) -> String {
    crate::term::paint(text, tone, crate::term::stdout_color())
}
