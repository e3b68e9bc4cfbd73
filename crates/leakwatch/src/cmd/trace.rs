//! `leakwatch trace -- CMD ARGS...`: runs a native program with the
//! allocation tracer preloaded and writes a trace for `leakwatch report`.
//!
//! The tracer is `libleakwatch_preload.so`, built by the workspace next to
//! the `leakwatch` binary. It is looked up, in order, at `$LEAKWATCH_PRELOAD`,
//! in `../lib/leakwatch/` relative to the executable (an installed layout:
//! `bin/leakwatch` + `lib/leakwatch/libleakwatch_preload.so`), then the newest
//! of: beside the executable, in its `deps/` (cargo's target dir), one
//! directory up; failing all these, the copy built into the binary (see
//! build.rs) is written once to a directory of this user's, kept for later
//! runs (see `embedded_preload`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use leakwatch_core::format::parse_size;

use crate::exit;

/// The tracer library's file name.
pub const PRELOAD_NAME: &str = leakwatch_trace::attach::TRACER_FILE_NAME;

const AFTER_HELP: &str = "\
Examples:
  leakwatch trace -- ./my-program --flag
  leakwatch trace -o server.lwt -- ./server      (stop it with Ctrl-C; the trace is then summarised)
  leakwatch trace -- python3 job.py          (Python frames: `func at job.py:LINE`)
  leakwatch trace --suppressions lsan.supp -- ./tests

Exit codes: 1 a leak (bytes still allocated at exit that are neither
suppressed nor a runtime's residue, or a call stack growing without bound),
0 none, 2 an error, or a trace that is incomplete (the program was killed
or crashed, or data was lost) in which no leak could be shown. The traced
program's own exit status is printed, not returned.";

/// Run a native program (C, C++, Rust, or the native side of an interpreter)
/// under the allocation tracer; then summarise what leaked and print the next
/// command.
///
/// Ctrl-C or SIGTERM to leakwatch is passed on to the program, and the
/// trace it leaves is summarised; a second one kills a program that
/// ignores the first; if leakwatch itself is killed, the program is killed
/// with it.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct TraceArgs {
    /// Where to write the trace [default: leakwatch-<cmd>.<pid>.<random>.lwt].
    /// An existing file is replaced only if it is a leakwatch trace no running
    /// process has open; links,
    /// devices, FIFOs and directories are refused.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Also trace forked or exec'd children, each to <out>.<pid>.
    #[arg(long)]
    pub follow_fork: bool,
    /// Record a Poisson sample of allocations, one per this many bytes on
    /// average (e.g. 512K); sizes in the report are scaled-up estimates.
    #[arg(long, value_parser = parse_sample_every)]
    pub sample_every: Option<u64>,
    /// With Python frames, also keep the interpreter's own native frames
    /// (how CPython ran each line, a C extension that calls back into
    /// Python, the interpreter's start-up). By default a stack is your
    /// Python frames and, below the innermost one, the native frames of
    /// extensions and libraries (the interpreter's own are dropped),
    /// which is several times faster to record.
    #[arg(long)]
    pub python_native_frames: bool,
    /// Only write the trace; skip the summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Print the summary as one JSON object on stdout, the same as
    /// `leakwatch report TRACE --json` (see docs/json.md); the program's own
    /// stdout goes to stderr, so stdout is only the JSON (as with `run --json`).
    #[arg(long, conflicts_with = "no_summary")]
    pub json: bool,
    /// LeakSanitizer-format suppressions (`leak:PATTERN` lines) for the
    /// summary; may be repeated. `LSAN_OPTIONS=suppressions=FILE` and the
    /// program's `__lsan_default_suppressions()` are honoured too.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,
    /// Attach to this running process instead of starting one: load the
    /// tracer into it (ptrace), record until --duration or Ctrl-C, then
    /// detach; the process runs on. Growing sites are the verdict.
    #[arg(long, value_name = "PID", conflicts_with_all = ["command", "follow_fork", "sample_every", "python_native_frames"])]
    pub pid: Option<i32>,
    /// With --pid: detach after this long (e.g. 20s, 5m) [default: until Ctrl-C].
    #[arg(long, requires = "pid", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub duration: Option<f64>,
    /// The command to run, after `--`.
    #[arg(
        required_unless_present = "pid",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// A sampling interval: a size (see `parse_size`) above zero.
fn parse_sample_every(s: &str) -> Result<u64, String> {
    match parse_size(s) {
        Ok(0) => Err(format!("--sample-every {s:?}: must be above 0 bytes")),
        Ok(v) if v > leakwatch_trace::format::MAX_SAMPLE_EVERY => Err(format!(
            "--sample-every {s:?}: must be at most 1T (one sample per TiB allocated already samples almost nothing)"
        )),
        Ok(v) => Ok(v),
        Err(e) => Err(e.to_string()),
    }
}

/// The tracer library to preload: a file on disk, or the copy of the one
/// built into this binary (a private copy is removed when this is
/// dropped, after the trace).
#[derive(Debug)]
pub struct Preload {
    pub path: PathBuf,
    _extracted: Option<crate::embedded_preload::Extracted>,
}

/// Finds the tracer library (see the module docs for the search order);
/// when none is on disk, the one built into this binary is used.
pub fn find_preload() -> anyhow::Result<Preload> {
    match find_preload_on_disk() {
        Ok(path) => Ok(Preload {
            path,
            _extracted: None,
        }),
        Err(e)
            if crate::embedded_preload::available()
                && std::env::var_os("LEAKWATCH_PRELOAD").is_none() =>
        {
            let x = crate::embedded_preload::extract(PRELOAD_NAME).context(e)?;
            Ok(Preload {
                path: x.path.clone(),
                _extracted: Some(x),
            })
        }
        Err(e) => Err(e),
    }
}

fn find_preload_on_disk() -> anyhow::Result<PathBuf> {
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
        // Go's linker writes a "Go" build-id note near the start of the
        // file (name "Go\0\0" of 4 bytes, type 4).
        let go = head
            .windows(16)
            .any(|w| w[..4] == [4, 0, 0, 0] && w[8..12] == [4, 0, 0, 0] && &w[12..] == b"Go\0\0");
        if go {
            bail!(
                "{} is a statically linked Go program: its heap is Go's own, not malloc, so LD_PRELOAD has nothing to trace; \
                 for where it grows, serve net/http/pprof in it and run `leakwatch where -- {}` (or `where --pid PID`)",
                path.display(),
                path.display()
            );
        }
        bail!(
            "{} is statically linked: LD_PRELOAD cannot interpose its malloc, so it cannot be traced",
            path.display()
        );
    }
    Ok(())
}

/// A name nobody can guess in advance (so no one can plant a file or link
/// there for us to trip over).
fn unpredictable_suffix() -> String {
    let mut b = [0u8; 4];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_NONBLOCK) };
    if n != b.len() as isize {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t ^ std::process::id().rotate_left(16)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Checks the output path before the program starts: a missing path is
/// fine (the tracer creates it exclusively); an existing one is replaced
/// only if it is a regular file holding a leakwatch trace. Anything else
/// (a link, a device such as /dev/null, a FIFO, a directory, somebody's
/// file) is refused: a root run must never clobber it.
pub fn prepare_output(out: &Path) -> anyhow::Result<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let md = match std::fs::symlink_metadata(out) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = out.parent().unwrap_or(Path::new("."));
            if !dir.is_dir() {
                bail!(
                    "cannot write the trace {}: the directory {} does not exist",
                    out.display(),
                    dir.display()
                );
            }
            // The program creates the file, as this user: a directory it
            // cannot write into would only show after the run, as "no
            // trace written".
            let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
                .context("the trace path holds a NUL byte")?;
            // SAFETY: a NUL-terminated path; access(2) only reads it.
            if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
                bail!(
                    "cannot write the trace {}: {} is not writable by this user ({}); choose another directory with -o",
                    out.display(),
                    dir.display(),
                    std::io::Error::last_os_error()
                );
            }
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot check {}", out.display())),
    };
    let ft = md.file_type();
    if ft.is_symlink() {
        bail!(
            "{} is a symbolic link: leakwatch does not write traces through links (one planted in a shared directory could make it overwrite another file); choose another path",
            out.display()
        );
    }
    if !md.is_file() {
        bail!(
            "{} is not a regular file (a device, FIFO, socket or directory): leakwatch will not replace it; give -o a file path",
            out.display()
        );
    }
    let mut magic = [0u8; 8];
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(out)
        .with_context(|| {
            format!(
                "{} exists and cannot be read to check that it is a leakwatch trace (which alone it would replace): remove it, or choose another path with -o",
                out.display()
            )
        })?;
    let n = f.read(&mut magic).unwrap_or(0);
    if n < magic.len() || &magic != leakwatch_trace::format::MAGIC {
        bail!(
            "{} exists and is not a leakwatch trace: leakwatch only replaces its own traces; remove it yourself or choose another path",
            out.display()
        );
    }
    if let Some((pid, name)) = process_writing(&md) {
        bail!(
            "{} is in use by process {pid} ({name}): another `leakwatch trace` with the same -o is still running, and replacing its trace would lose that run's recording; choose another path with -o, or wait for it to end",
            out.display()
        );
    }
    std::fs::remove_file(out).with_context(|| {
        format!(
            "cannot replace {}: check the directory's permissions, or choose another path with -o",
            out.display()
        )
    })
}

/// A process (other than this one) that has the file `md` describes
/// open: a traced program still writing its trace. Processes whose
/// descriptors this user cannot read are not seen.
fn process_writing(md: &std::fs::Metadata) -> Option<(u32, String)> {
    use std::os::unix::fs::MetadataExt as _;
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::metadata(fd.path()).is_ok_and(|m| m.dev() == md.dev() && m.ino() == md.ino())
        });
        if holds {
            let name = std::fs::read_to_string(entry.path().join("comm"))
                .map(|c| c.trim().to_string())
                .unwrap_or_else(|_| "?".into());
            return Some((pid, name));
        }
    }
    None
}

pub fn run(args: TraceArgs) -> anyhow::Result<u8> {
    if let Some(pid) = args.pid {
        return attach(pid, &args);
    }
    if args.duration.is_some() {
        // Checked here: clap's `requires` is not enforced beside the
        // trailing command.
        bail!(
            "--duration only applies with --pid (how long to stay attached); a program started by `trace` is traced until it exits: stop it with Ctrl-C, or wrap it (`timeout 60 ./prog`)"
        );
    }
    let preload = find_preload()?;
    let program = resolve_command(&args.command[0])?;
    check_executable(&program)?;
    let summary_opts = summary_options(&args)?;
    let out = match &args.out {
        Some(p) => p.clone(),
        None => {
            let name = Path::new(&args.command[0])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cmd".into());
            let name: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            PathBuf::from(format!(
                "leakwatch-{name}.{}.{}.lwt",
                std::process::id(),
                unpredictable_suffix()
            ))
        }
    };
    let out = std::path::absolute(&out).unwrap_or(out);
    prepare_output(&out)?;
    let mut ld_preload = preload.path.display().to_string();
    if let Some(old) = std::env::var_os("LD_PRELOAD") {
        if !old.is_empty() {
            ld_preload = format!("{ld_preload}:{}", old.to_string_lossy());
        }
    }
    let mut cmd = Command::new(&args.command[0]);
    cmd.stdout(super::run::child_stdout(args.json)?);
    cmd.args(&args.command[1..])
        .env("LD_PRELOAD", ld_preload)
        .env("LEAKWATCH_TRACE_FILE", &out)
        .env(
            "LEAKWATCH_FOLLOW_FORK",
            if args.follow_fork { "1" } else { "0" },
        );
    // CPython's small-object allocator hides objects inside 256 KiB arenas;
    // with the C allocator each object is a block of its own, so a growing
    // site is a Python line, not an arena. Only interpreters read it, and
    // a value the user chose is kept.
    if std::env::var_os("PYTHONMALLOC").is_none() {
        // Untraced descendants remove it again (the tracer's constructor
        // there), so only the traced program runs without pymalloc.
        cmd.env("PYTHONMALLOC", "malloc")
            .env("LEAKWATCH_PYTHONMALLOC_ADDED", "1");
    } else {
        cmd.env_remove("LEAKWATCH_PYTHONMALLOC_ADDED");
    }
    match args.sample_every {
        Some(n) => cmd.env("LEAKWATCH_SAMPLE_EVERY", n.to_string()),
        None => cmd.env_remove("LEAKWATCH_SAMPLE_EVERY"),
    };
    if args.python_native_frames {
        cmd.env("LEAKWATCH_PY_NATIVE", "all");
    } else {
        cmd.env_remove("LEAKWATCH_PY_NATIVE");
    }
    // The summary's pass over the trace starts now, alongside the program.
    let follow = summary_opts
        .as_ref()
        .and_then(|_| super::trace_follow::Follow::start(out.clone()));
    let status = supervise(cmd, &args.command[0])?;
    if let Some(f) = &follow {
        f.program_exited();
    }
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was killed by signal {s} ({})", signal_name(s)),
        _ => "ended".to_string(),
    };
    let written = std::fs::symlink_metadata(&out)
        .map(|m| m.is_file())
        .unwrap_or(false);
    if !written {
        bail!(
            "{} {how} but wrote no trace to {}: was the tracer loaded? (setuid programs ignore LD_PRELOAD)",
            args.command[0],
            out.display()
        );
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "leakwatch: {} {how}; trace written to {} ({})",
        escape(&args.command[0]),
        escape(&out.display().to_string()),
        leakwatch_core::format::bytes(size as f64)
    );
    if args.follow_fork {
        let children = child_traces(&out);
        if !children.is_empty() {
            eprintln!("leakwatch: child process traces:");
            for c in &children {
                eprintln!("  {}", escape(&c.display().to_string()));
            }
        }
    }
    // A daemon that forked away from the program is still running, its
    // trace still being written: the program's verdict is not its.
    let still_running = if args.follow_fork {
        traced_descendants_running(&out)
    } else {
        Vec::new()
    };
    for (pid, name) in &still_running {
        eprintln!(
            "leakwatch: traced descendant {pid} ({}) is still running: its trace {}.{pid} is written until it exits; then `leakwatch report` it",
            escape(name),
            escape(&out.display().to_string())
        );
    }
    let mut code = match &summary_opts {
        Some(opts) => summarise(&out, opts, status.code(), args.json, follow)?,
        None => exit::OK,
    };
    if let (Some(opts), true) = (&summary_opts, args.follow_fork) {
        code = children_verdicts(&out, opts, &still_running, code);
    }
    if code == exit::OK && !still_running.is_empty() {
        eprintln!(
            "leakwatch: not \"no leak\" for the processes still running (exit 2): report their traces when they end"
        );
        code = exit::ERROR;
    }
    eprintln!(
        "next: leakwatch report {}",
        escape(&shell_quote(&out.display().to_string()))
    );
    Ok(code)
}

/// Under --follow-fork: each finished child's verdict, one line each; a
/// child's leak makes the run's exit code 1, a child's incomplete trace
/// keeps it from being 0 (the program's "no leak" is not its children's).
fn children_verdicts(
    out: &Path,
    opts: &leakwatch_trace::ReportOptions,
    still_running: &[(u32, String)],
    mut code: u8,
) -> u8 {
    let mut incomplete = false;
    for child in child_traces(out) {
        let pid = child
            .extension()
            .and_then(|e| e.to_str())
            .and_then(|e| e.parse::<u32>().ok());
        if pid.is_some_and(|p| still_running.iter().any(|(r, _)| *r == p)) {
            continue; // named above: its trace is still being written
        }
        let name = escape(&child.display().to_string());
        match super::report::load(&child, opts) {
            Ok((_, report, _)) => {
                eprintln!(
                    "leakwatch: child trace {name}: {}",
                    leakwatch_trace::report::verdict_line(&report)
                );
                match report.exit_code {
                    exit::LEAK => {
                        if code != exit::LEAK {
                            code = exit::LEAK;
                        }
                    }
                    exit::OK => {}
                    _ => incomplete = true,
                }
            }
            Err(e) => {
                eprintln!("leakwatch: child trace {name}: cannot be read: {e:#}");
                incomplete = true;
            }
        }
    }
    if incomplete && code == exit::OK {
        eprintln!(
            "leakwatch: not \"no leak\": a child's trace is incomplete (exit 2); `leakwatch report` it for the reason"
        );
        code = exit::ERROR;
    }
    code
}

/// Processes still running with this trace in their environment (forked
/// by the program under --follow-fork and outliving it: a daemon), as (pid,
/// name). Another user's processes cannot be read, and are not ours.
///
/// One pass over /proc can miss a daemon: the directory is listed while the
/// intermediate child (fork, setsid, fork) still runs, it has exited by the
/// time its environment is read, and the daemon it forked came after the
/// listing. So /proc is read again until two passes agree.
fn traced_descendants_running(out: &Path) -> Vec<(u32, String)> {
    let mut seen = traced_descendants_once(out);
    for _ in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        let again = traced_descendants_once(out);
        if again == seen {
            break;
        }
        seen = again;
    }
    seen
}

fn traced_descendants_once(out: &Path) -> Vec<(u32, String)> {
    let want = {
        let mut w = b"LEAKWATCH_TRACE_FILE=".to_vec();
        w.extend_from_slice(out.as_os_str().as_encoded_bytes());
        w
    };
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !env.split(|&b| b == 0).any(|v| v == want.as_slice()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if matches!(state, Some("Z" | "X")) {
            continue;
        }
        let name = std::fs::read_to_string(e.path().join("comm"))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        found.push((pid, name));
    }
    found.sort();
    found
}

/// How the summary at the end reads the trace (None: `--no-summary`).
fn summary_options(args: &TraceArgs) -> anyhow::Result<Option<leakwatch_trace::ReportOptions>> {
    if args.no_summary {
        return Ok(None);
    }
    Ok(Some(leakwatch_trace::ReportOptions {
        top: 3,
        full_stacks: false,
        suppressions: super::report::suppressions(&args.suppressions)?,
    }))
}

/// Prints the trace's verdict; returns the exit code. `follow`: the pass
/// that read the trace while the program ran, used if it read all of it.
fn summarise(
    out: &Path,
    opts: &leakwatch_trace::ReportOptions,
    exit_status: Option<i32>,
    json: bool,
    follow: Option<super::trace_follow::Follow>,
) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let mut pass_done = None;
    let (report, read_while_running) = match follow.map(|f| f.finish(out)) {
        Some(Ok(analysis)) => {
            pass_done = Some(started.elapsed());
            let mut sym = leakwatch_trace::Symbolizer::new();
            let report = leakwatch_trace::build_report(&analysis, &mut sym, opts);
            (report, "used".to_string())
        }
        Some(Err(why)) => (
            super::report::load(out, opts)?.1,
            format!("not used ({why}); read again"),
        ),
        None => (super::report::load(out, opts)?.1, "not started".to_string()),
    };
    if json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        if !super::report::emit(&s)? {
            return Ok(exit::OK);
        }
    }
    if let (Some(c), false) = (exit_status, report.exited) {
        // Exited, yet the trace has no end: the tracer stopped while the
        // program ran (it took the tracer's file descriptor and left no
        // free one, or the disk filled); its own message is above.
        eprintln!(
            "leakwatch: note: the program exited with status {c}, but its trace ends early: the tracer stopped before the end (the program took its file descriptor and left none free, exec'd a program it cannot trace, or writing failed: see any leakwatch-preload message above), so what happened after that was lost"
        );
    }
    for why in report.incomplete.iter().chain(&report.notes) {
        eprintln!("leakwatch: note: {why}");
    }
    let verdict = leakwatch_trace::report::verdict_line(&report);
    let tone = if verdict.starts_with("LEAK") {
        crate::term::Tone::Bad
    } else if verdict.starts_with("INCOMPLETE") {
        crate::term::Tone::Warn
    } else {
        crate::term::Tone::Good
    };
    eprintln!(
        "leakwatch: {}",
        crate::term::paint(&verdict, tone, crate::term::stderr_color())
    );
    let counted = report
        .growing
        .iter()
        .filter(|g| g.suppressed_by.is_none() && !g.runtime_residue)
        .count();
    if counted > 0 && report.complete {
        eprintln!("leakwatch: {counted} call stack(s) with live bytes growing without bound");
    }
    if std::env::var_os("LEAKWATCH_STATS").is_some() {
        let pass = pass_done
            .map(|d| format!(" (its pass done after {:.3} s)", d.as_secs_f64()))
            .unwrap_or_default();
        eprintln!(
            "leakwatch: summary stats: {:.3} s after the program ended{pass}; trace read while it ran: {read_while_running}",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(report.exit_code)
}

/// Set by SIGINT/SIGTERM/SIGHUP while attached: detach now.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Whether `pid` still runs (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z') | Some('X')
        ),
        Err(_) => false,
    }
}

/// `trace --pid`: attach, record, detach, summarise.
fn attach(pid: i32, args: &TraceArgs) -> anyhow::Result<u8> {
    use leakwatch_trace::attach as inject;
    let target = inject::inspect(pid)?;
    // Kept alive until the session ends: a private copy of the embedded
    // library is removed when `preload` drops.
    let preload = find_preload()?;
    let preload_path = std::fs::canonicalize(&preload.path).unwrap_or(preload.path.clone());
    let summary_opts = summary_options(args)?;
    let out = match &args.out {
        Some(p) => p.clone(),
        None => {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim().to_string())
                .unwrap_or_else(|_| "pid".into());
            let comm: String = comm
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            PathBuf::from(format!(
                "leakwatch-{comm}.{pid}.{}.lwt",
                unpredictable_suffix()
            ))
        }
    };
    let out = std::path::absolute(&out).unwrap_or(out);
    prepare_output(&out)?;
    STOP.store(false, Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        set_handler(
            sig,
            request_stop as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t,
            0,
        );
    }
    let restore = || {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            set_handler(sig, libc::SIG_DFL, 0);
        }
    };
    let session = match inject::attach(&target, &preload_path, &out) {
        Ok(s) => s,
        Err(e) => {
            restore();
            return Err(e.into());
        }
    };
    let until = match args.duration {
        Some(d) => format!("for {}", leakwatch_core::format::duration(d)),
        None => "until Ctrl-C".into(),
    };
    eprintln!(
        "leakwatch: attached to {pid} ({}) in {:.1} ms; tracing {until}",
        escape(&target.exe),
        session.pause.as_secs_f64() * 1e3
    );
    let started = std::time::Instant::now();
    loop {
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        if args
            .duration
            .is_some_and(|d| started.elapsed().as_secs_f64() >= d)
        {
            break;
        }
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut detach_pause = None;
    if alive(pid) {
        match session.detach(&target) {
            Ok(p) => detach_pause = Some(p),
            Err(leakwatch_trace::attach::AttachError::Exited(_)) => {}
            Err(e) => {
                restore();
                return Err(anyhow::Error::from(e).context(format!(
                    "cannot detach from {pid}; the trace so far is in {}",
                    out.display()
                )));
            }
        }
    }
    restore();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    match detach_pause {
        Some(p) => eprintln!(
            "leakwatch: detached from {pid} after {} (pauses: attach {:.1} ms, detach {:.1} ms); it runs on. Trace written to {} ({})",
            leakwatch_core::format::duration(started.elapsed().as_secs_f64()),
            session.pause.as_secs_f64() * 1e3,
            p.as_secs_f64() * 1e3,
            escape(&out.display().to_string()),
            leakwatch_core::format::bytes(size as f64)
        ),
        None => eprintln!(
            "leakwatch: process {pid} exited while attached; trace written to {} ({})",
            escape(&out.display().to_string()),
            leakwatch_core::format::bytes(size as f64)
        ),
    }
    if std::env::var_os("LEAKWATCH_STATS").is_some() {
        eprintln!(
            "leakwatch: attach stats: attach_pause_ms={:.3} detach_pause_ms={}",
            session.pause.as_secs_f64() * 1e3,
            detach_pause.map_or("-".to_string(), |p| format!("{:.3}", p.as_secs_f64() * 1e3))
        );
    }
    let code = match summary_opts {
        Some(opts) => summarise(&out, &opts, None, args.json, None)?,
        None => exit::OK,
    };
    eprintln!(
        "next: leakwatch report {}",
        escape(&shell_quote(&out.display().to_string()))
    );
    Ok(code)
}

fn escape(s: &str) -> String {
    leakwatch_trace::report::escape(s).into_owned()
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        _ => "a signal",
    }
}

/// The child being traced, for the signal handler (0: none yet).
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived before the child existed, to pass on once it does.
static PENDING: AtomicI32 = AtomicI32::new(0);

/// Signals passed on to the traced program.
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
/// Requests to stop (SIGINT, SIGTERM, SIGHUP) received while the program
/// runs: the second kills a program that ignores or outlives the first.
static STOP_REQUESTS: AtomicU32 = AtomicU32::new(0);

extern "C" fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if sig != libc::SIGQUIT {
        STOP_REQUESTS.fetch_add(1, Ordering::SeqCst);
    }
    // A signal from the terminal (Ctrl-C, Ctrl-backslash) reaches the
    // program too while it shares our process group: passing it on would
    // deliver it twice. One sent to us alone (kill, a supervisor, a CI
    // timeout) is passed on, as is any once the program left our group.
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler;
    // getpgid and getpgrp are async-signal-safe.
    let from_kernel = !info.is_null() && unsafe { (*info).si_code } > 0;
    let child = CHILD.load(Ordering::SeqCst);
    if from_kernel && (child <= 0 || unsafe { libc::getpgid(child) == libc::getpgrp() }) {
        return;
    }
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(child, sig);
        }
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

fn set_handler(sig: libc::c_int, handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: a zeroed sigaction with an empty mask and a valid handler.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler;
        sa.sa_flags = flags;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Runs the traced program to its end: signals to leakwatch are passed on
/// to it, and it dies with leakwatch (PR_SET_PDEATHSIG), so it is never
/// left running alone. It stays in leakwatch's process group, so it keeps
/// the terminal (reading stdin, job control) as it would without leakwatch.
fn supervise(mut cmd: Command, name: &str) -> anyhow::Result<std::process::ExitStatus> {
    leakwatch_where::launch::die_with_parent(&mut cmd);
    PENDING.store(0, Ordering::SeqCst);
    // Before the handlers and the program: a request that arrives as soon
    // as the program runs must count (reset later, it could be lost, and
    // the second request would only count as the first).
    STOP_REQUESTS.store(0, Ordering::SeqCst);
    let handler = forward as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
    for sig in FORWARDED {
        set_handler(
            sig,
            handler as libc::sighandler_t,
            libc::SA_SIGINFO | libc::SA_RESTART,
        );
    }
    let restore = || {
        CHILD.store(0, Ordering::SeqCst);
        for sig in FORWARDED {
            set_handler(sig, libc::SIG_DFL, 0);
        }
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            restore();
            return Err(e).with_context(|| format!("cannot start {name}"));
        }
    };
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: plain kill of our own child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, pending);
        }
    }
    let status = wait_escalating(&mut child, name);
    restore();
    status.with_context(|| format!("cannot wait for {name}"))
}

/// Waits for the program. A first Ctrl-C or SIGTERM is the program's to
/// handle (a server shuts down and frees, and the trace sees it); if it is
/// still running a few seconds later, leakwatch says how to end it, and a
/// second request kills it (SIGKILL), keeping the trace written so far.
fn wait_escalating(
    child: &mut std::process::Child,
    name: &str,
) -> std::io::Result<std::process::ExitStatus> {
    const HINT_AFTER: Duration = Duration::from_secs(3);
    let mut first_request: Option<Instant> = None;
    let mut hinted = false;
    let exit_fd = pidfd(child.id() as libc::pid_t);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let requests = STOP_REQUESTS.load(Ordering::SeqCst);
        if requests >= 1 && first_request.is_none() {
            first_request = Some(Instant::now());
        }
        if requests >= 2 {
            eprintln!(
                "leakwatch: second stop request: killing {name} (SIGKILL); the trace written so far is kept"
            );
            let _ = child.kill();
            return child.wait();
        }
        if !hinted && first_request.is_some_and(|t| t.elapsed() >= HINT_AFTER) {
            hinted = true;
            eprintln!(
                "leakwatch: {name} is still running {} s after the stop request (it may ignore the signal); press Ctrl-C again (or send SIGTERM again) to kill it",
                HINT_AFTER.as_secs()
            );
        }
        wait_a_little(exit_fd.as_ref(), Duration::from_millis(50));
    }
}

/// A descriptor that becomes readable when `pid` exits (Linux 5.3+).
fn pidfd(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    // SAFETY: a plain syscall; a non-negative result is a new descriptor
    // owned by nobody else.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as std::os::fd::RawFd) })
}

/// Waits `limit` or until the program exits, whichever is first: the
/// summary then starts the moment the program ends, not up to a tick later.
/// A signal (a stop request) ends the wait early too.
fn wait_a_little(exit_fd: Option<&std::os::fd::OwnedFd>, limit: Duration) {
    match exit_fd {
        Some(fd) => {
            let mut p = libc::pollfd {
                fd: std::os::fd::AsRawFd::as_raw_fd(fd),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, limit.as_millis() as libc::c_int) };
        }
        None => std::thread::sleep(limit),
    }
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
                // Only traces the tracer wrote: regular files (never a link
                // somebody planted under a child's name) starting with the
                // trace magic.
                .filter(|e| is_own_trace(&e.path()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A regular file of ours (not followed through a link, not somebody
/// else's) that starts like a trace.
fn is_own_trace(p: &Path) -> bool {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::fs::OpenOptionsExt;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let regular =
        std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file() && m.uid() == me);
    if !regular {
        return false;
    }
    let mut magic = [0u8; 8];
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(p)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == leakwatch_trace::format::MAGIC)
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
