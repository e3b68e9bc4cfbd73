//! `leakwatch trace -- CMD ARGS...`: runs a native program with the
//! allocation tracer preloaded and writes a trace for `leakwatch report`.
//!
//! The tracer is `libleakwatch_preload.so`, built by the workspace next to
//! the `leakwatch` binary. It is looked up, in order, at `$LEAKWATCH_PRELOAD`,
//! in `../lib/leakwatch/` relative to the executable (an installed layout:
//! `bin/leakwatch` + `lib/leakwatch/libleakwatch_preload.so`), then the newest
//! of: beside the executable, in its `deps/` (cargo's target dir), one
//! directory up.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use clap::Args;
use leakwatch_core::format::parse_size;

use crate::exit;

/// The tracer library's file name.
pub const PRELOAD_NAME: &str = "libleakwatch_preload.so";

/// Run a native program (C, C++, Rust, or the native side of an interpreter)
/// under the allocation tracer; then summarise what leaked and print the next
/// command.
///
/// Exit code: 1 when the summary finds a leak, 0 when none, 2 on error.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Where to write the trace [default: leakwatch-<cmd>.<pid>.lwt].
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Also trace forked or exec'd children, each to <out>.<pid>.
    #[arg(long)]
    pub follow_fork: bool,
    /// Record a Poisson sample of allocations, one per this many bytes on
    /// average (e.g. 512K); sizes in the report are scaled-up estimates.
    #[arg(long, value_parser = parse_sample_every)]
    pub sample_every: Option<u64>,
    /// Only write the trace; skip the summary.
    #[arg(long)]
    pub no_summary: bool,
    /// The command to run, after `--`.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// A sampling interval: a size (see `parse_size`) above zero.
fn parse_sample_every(s: &str) -> Result<u64, String> {
    match parse_size(s) {
        Ok(0) => Err(format!("--sample-every {s:?}: must be above 0 bytes")),
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    }
}

/// Finds the tracer library (see the module docs for the search order).
pub fn find_preload() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("LEAKWATCH_PRELOAD") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "LEAKWATCH_PRELOAD points at {}, which does not exist",
            p.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find the leakwatch executable")?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let installed = dir.join("../lib/leakwatch").join(PRELOAD_NAME);
    if installed.is_file() {
        return Ok(installed);
    }
    // In a cargo target dir the library is in deps/ (and copied beside the
    // binary by `cargo build -p leakwatch-preload`): take the newest.
    let candidates = [
        dir.join(PRELOAD_NAME),
        dir.join("deps").join(PRELOAD_NAME),
        dir.join("..").join(PRELOAD_NAME),
    ];
    let newest = candidates
        .iter()
        .filter_map(|c| {
            let t = std::fs::metadata(c).and_then(|m| m.modified()).ok()?;
            Some((t, c))
        })
        .max_by_key(|(t, _)| *t);
    if let Some((_, c)) = newest {
        return Ok(c.clone());
    }
    bail!(
        "cannot find the tracer library {PRELOAD_NAME} next to {}.\n  \
         Build it with `cargo build --release -p leakwatch-preload` (same profile as leakwatch), \
         install it as <prefix>/lib/leakwatch/{PRELOAD_NAME}, or set LEAKWATCH_PRELOAD=/path/to/{PRELOAD_NAME}",
        exe.display()
    )
}

/// Resolves a command name through PATH like a shell.
fn resolve_command(cmd: &str) -> anyhow::Result<PathBuf> {
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        if p.is_file() {
            return Ok(p);
        }
        bail!("command not found: {cmd} (no such file)");
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(cmd);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("command not found: {cmd} (not in PATH)")
}

/// Refuses what LD_PRELOAD cannot trace: non-executables and static binaries.
fn check_executable(path: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let n = f.read(&mut head)?;
    head.truncate(n);
    if head.starts_with(b"#!") {
        return Ok(()); // a script: its interpreter gets traced
    }
    if !head.starts_with(b"\x7fELF") {
        bail!(
            "{} is not an ELF executable or a script: leakwatch trace runs native programs",
            path.display()
        );
    }
    if head.len() < 64 || head[4] != 2 || head[5] != 1 {
        bail!("{} is not a 64-bit little-endian ELF file", path.display());
    }
    let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(head[32..40].try_into().unwrap_or([0; 8])) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    let mut dynamic = false;
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > head.len() {
            // Program headers beyond the first page: assume dynamic.
            dynamic = true;
            break;
        }
        if u32::from_le_bytes(head[o..o + 4].try_into().unwrap_or([0; 4])) == 3 {
            dynamic = true; // PT_INTERP
            break;
        }
    }
    if !dynamic {
        bail!(
            "{} is statically linked: LD_PRELOAD cannot interpose its malloc, so it cannot be traced",
            path.display()
        );
    }
    Ok(())
}

pub fn run(args: TraceArgs) -> anyhow::Result<u8> {
    let preload = find_preload()?;
    let program = resolve_command(&args.command[0])?;
    check_executable(&program)?;
    let out = match &args.out {
        Some(p) => p.clone(),
        None => {
            let name = Path::new(&args.command[0])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cmd".into());
            PathBuf::from(format!("leakwatch-{name}.{}.lwt", std::process::id()))
        }
    };
    let out = std::path::absolute(&out).unwrap_or(out);
    // The traced process creates the file exclusively; a stale one would
    // make it run untraced.
    match std::fs::remove_file(&out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", out.display())),
    }
    let mut ld_preload = preload.display().to_string();
    if let Some(old) = std::env::var_os("LD_PRELOAD") {
        if !old.is_empty() {
            ld_preload = format!("{ld_preload}:{}", old.to_string_lossy());
        }
    }
    let mut cmd = Command::new(&args.command[0]);
    cmd.args(&args.command[1..])
        .env("LD_PRELOAD", ld_preload)
        .env("LEAKWATCH_TRACE_FILE", &out)
        .env(
            "LEAKWATCH_FOLLOW_FORK",
            if args.follow_fork { "1" } else { "0" },
        );
    match args.sample_every {
        Some(n) => cmd.env("LEAKWATCH_SAMPLE_EVERY", n.to_string()),
        None => cmd.env_remove("LEAKWATCH_SAMPLE_EVERY"),
    };
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", args.command[0]))?;
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended".to_string(),
    };
    if !out.is_file() {
        bail!(
            "{} {how} but wrote no trace to {}: was the tracer loaded? (setuid programs ignore LD_PRELOAD)",
            args.command[0],
            out.display()
        );
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "leakwatch: {} {how}; trace written to {} ({})",
        args.command[0],
        out.display(),
        leakwatch_core::format::bytes(size as f64)
    );
    if args.follow_fork {
        let children = child_traces(&out);
        if !children.is_empty() {
            eprintln!("leakwatch: child process traces:");
            for c in &children {
                eprintln!("  {}", c.display());
            }
        }
    }
    let mut code = exit::OK;
    if !args.no_summary {
        let (_a, report, _s) = super::report::load(&out, 3)?;
        let sampling = if report.header.sample_every > 0 {
            " (estimated from samples)"
        } else {
            ""
        };
        match &report.leaked {
            Some(g) if g.bytes > 0 || g.blocks > 0 => {
                let top = g.stacks.first().and_then(|e| e.site.as_ref());
                eprintln!(
                    "leakwatch: LEAK: {} bytes in {} blocks still allocated at exit{sampling}{}",
                    g.bytes,
                    g.blocks,
                    top.map(|f| format!(", largest from {}", f.describe()))
                        .unwrap_or_default()
                );
            }
            Some(_) => eprintln!("leakwatch: no leak: every allocation was freed before exit"),
            None => eprintln!(
                "leakwatch: the program did not exit normally; see the report for growing sites"
            ),
        }
        if !report.growing.is_empty() {
            eprintln!(
                "leakwatch: {} call stack(s) with live bytes growing without bound",
                report.growing.len()
            );
        }
        if report.leak {
            code = exit::LEAK;
        }
    }
    eprintln!(
        "next: leakwatch report {}",
        shell_quote(&out.display().to_string())
    );
    Ok(code)
}

/// `<out>.<pid>` files written by traced children.
pub fn child_traces(out: &Path) -> Vec<PathBuf> {
    let Some(dir) = out.parent() else {
        return Vec::new();
    };
    let Some(base) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let prefix = format!("{base}.");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_prefix(&prefix).is_some_and(|rest| {
                        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
                    })
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
