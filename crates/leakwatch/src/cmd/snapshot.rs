//! `leakwatch snapshot --node-inspect HOST:PORT` / `--jvm PID`: takes heap
//! snapshots of a running Node process through its inspector, or heap dumps
//! of a running JVM, then diffs them.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use leakwatch_core::format;
use leakwatch_heap::files::{create_private_dir, PendingFile};
use leakwatch_heap::inspector::{resolve_endpoint, Inspector};
use std::io::Write;

use crate::cmd::diff::{diff_hprof, diff_snapshots};
use leakwatch_heap::jcmd::{check_jvm, dump_heap, Staging};

/// Take heap snapshots of a running Node process or JVM and diff them.
///
/// Node: start it with --inspect=127.0.0.1:9229 (or send it SIGUSR1), then:
///   leakwatch snapshot --node-inspect 127.0.0.1:9229 --count 3 --every 30s
///
/// Java: heap dumps of a running HotSpot JVM (live objects only), taken
/// through the HotSpot attach protocol (the JDK's jcmd only as a fallback),
/// as the JVM's user:
///   leakwatch snapshot --jvm 4242 --count 3 --every 30s --out-dir dumps/
///
/// Files are written to --out-dir (created with mode 0700; each file 0600,
/// moved into place only once complete) and compared as BASE TARGET FINAL
/// (exit 1 when something grows). Taking a snapshot or dump pauses the
/// process (about a second per 100 MB of heap). Node: only loopback
/// addresses unless --allow-remote.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["node_inspect", "jvm"])))]
pub struct SnapshotArgs {
    /// The Node inspector's HOST:PORT (Node's --inspect address).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "jvm")]
    pub node_inspect: Option<String>,
    /// The process id of a running HotSpot JVM (Java 8 or later) to take heap
    /// dumps of; run leakwatch as the JVM's user.
    #[arg(long, value_name = "PID")]
    pub jvm: Option<u32>,
    /// How many snapshots to take (2 or more; with 3 or more the first, the
    /// middle and the last are diffed as BASE TARGET FINAL).
    #[arg(long, default_value_t = 3)]
    pub count: u32,
    /// Time between snapshots, e.g. 30s or 5m.
    #[arg(long, default_value = "30s", value_parser = crate::cmd::analyze::parse_positive_duration_arg)]
    pub every: f64,
    /// Where to write the .heapsnapshot / .hprof files.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Connect to a non-loopback address (the inspector gives full control of the process).
    #[arg(long)]
    pub allow_remote: bool,
    /// Only take the snapshots, do not diff them.
    #[arg(long)]
    pub no_diff: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many clusters and classes to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Leak clusters whose new objects weigh less than this are noise.
    #[arg(long, default_value = "256KiB", value_parser = format::parse_size)]
    pub min_bytes: u64,
}

pub fn run(args: SnapshotArgs) -> anyhow::Result<u8> {
    if args.count < 2 && !args.no_diff {
        bail!("--count must be at least 2 to diff (or pass --no-diff)");
    }
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    if let Some(pid) = args.jvm {
        return run_jvm(&args, pid);
    }
    let Some(endpoint) = args.node_inspect.as_deref() else {
        bail!("pass --node-inspect HOST:PORT or --jvm PID");
    };
    let addr = resolve_endpoint(endpoint, args.allow_remote)?;
    let stop = crate::monitor::stop_flag()?;
    create_private_dir(&args.out_dir)
        .with_context(|| format!("cannot use --out-dir {}", args.out_dir.display()))?;
    let timeout = Duration::from_secs(300);
    let mut session = Inspector::connect(addr, timeout)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut files = Vec::new();
    let start = Instant::now();
    for i in 0..args.count {
        if i > 0 {
            let due = start + Duration::from_secs_f64(args.every * i as f64);
            if !wait_until(due, &stop) {
                session.close();
                return diff_when_interrupted(&args, &files, false);
            }
        }
        let path = args.out_dir.join(format!(
            "node-{}-{stamp}-{}.heapsnapshot",
            addr.port(),
            i + 1
        ));
        // Written under a hidden partial name, renamed once complete: a
        // run killed here leaves no cut snapshot under a snapshot's name.
        let t0 = Instant::now();
        let taken = (|| -> anyhow::Result<u64> {
            let mut pending = PendingFile::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let bytes = {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, pending.file());
                let bytes = session
                    .take_heap_snapshot(&mut w)
                    .with_context(|| format!("snapshot {} of {}", i + 1, args.count))?;
                w.flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                bytes
            };
            pending
                .commit()
                .with_context(|| format!("cannot finish {}", path.display()))?;
            Ok(bytes)
        })();
        let bytes = match taken {
            Ok(b) => b,
            Err(e) => return diff_what_was_taken(&args, &files, e, false),
        };
        eprintln!(
            "wrote {} ({}, took {})",
            path.display(),
            format::bytes(bytes as f64),
            format::duration(t0.elapsed().as_secs_f64())
        );
        files.push(path);
    }
    session.close();
    if args.no_diff {
        return Ok(crate::exit::OK);
    }
    diff_snapshots(&chosen(&files), args.json, args.top, args.min_bytes)
}

/// A snapshot or dump failed (the process died, the connection broke):
/// the complete ones taken before it are still diffed when there are two,
/// and the run says what was lost. Only a leak seen in them is a verdict
/// (exit 1); anything else is exit 2, since the series was cut short.
fn diff_what_was_taken(
    args: &SnapshotArgs,
    files: &[PathBuf],
    failure: anyhow::Error,
    hprof: bool,
) -> anyhow::Result<u8> {
    let what = if hprof { "dump" } else { "snapshot" };
    let kept: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if args.no_diff || files.len() < 2 {
        let kept = if kept.is_empty() {
            "none was kept".to_string()
        } else {
            format!("kept: {}", kept.join(", "))
        };
        return Err(failure.context(format!(
            "{what} {} of {} failed ({kept}); nothing was diffed: check that the process is still running and take the series again",
            files.len() + 1,
            args.count
        )));
    }
    crate::exit::report_error(&failure);
    eprintln!(
        "leakwatch: {what} {} of {} was lost; diffing the {} complete {what}s taken ({})",
        files.len() + 1,
        args.count,
        files.len(),
        kept.join(", ")
    );
    diff_cut_series(args, files, hprof)
}

/// Diffs the complete files of a series cut short: only a leak seen in them
/// is a verdict (exit 1); anything else is exit 2, never "no leak".
fn diff_cut_series(args: &SnapshotArgs, files: &[PathBuf], hprof: bool) -> anyhow::Result<u8> {
    let code = if hprof {
        diff_hprof(&chosen(files), args.json, args.top, args.min_bytes)?
    } else {
        diff_snapshots(&chosen(files), args.json, args.top, args.min_bytes)?
    };
    if code == crate::exit::LEAK || code == crate::exit::BROKEN_PIPE {
        return Ok(code);
    }
    eprintln!(
        "leakwatch: the series was cut short after {} of {} {}s: no verdict of \"no leak\" (exit 2)",
        files.len(),
        args.count,
        if hprof { "dump" } else { "snapshot" }
    );
    Ok(crate::exit::ERROR)
}

/// Sleeps until `due`; false as soon as Ctrl-C, SIGTERM or SIGHUP arrives.
fn wait_until(due: Instant, stop: &std::sync::atomic::AtomicBool) -> bool {
    use std::sync::atomic::Ordering;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(100)));
    }
}

/// Ctrl-C (or SIGTERM, SIGHUP) between two snapshots or dumps: the ones
/// complete so far are kept and, two or more, diffed; only a leak seen in
/// them is a verdict (exit 1), otherwise the cut series is exit 2.
fn diff_when_interrupted(
    args: &SnapshotArgs,
    files: &[PathBuf],
    hprof: bool,
) -> anyhow::Result<u8> {
    let what = if hprof { "dump" } else { "snapshot" };
    let kept: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    if args.no_diff || files.len() < 2 {
        bail!(
            "interrupted after {} of {} {what}s ({}); nothing was diffed",
            files.len(),
            args.count,
            if kept.is_empty() {
                "none taken".to_string()
            } else {
                format!("kept: {}", kept.join(", "))
            }
        );
    }
    eprintln!(
        "leakwatch: interrupted after {} of {} {what}s; diffing them ({})",
        files.len(),
        args.count,
        kept.join(", ")
    );
    diff_cut_series(args, files, hprof)
}

/// BASE TARGET FINAL out of the files taken: the first, the middle and the last.
fn chosen(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.len() >= 3 {
        vec![
            files[0].clone(),
            files[files.len() / 2].clone(),
            files[files.len() - 1].clone(),
        ]
    } else {
        files.to_vec()
    }
}

/// One heap dump through leakwatch-where's HotSpot attach client (no JDK
/// tools needed), written by the JVM into `staging` and moved to `dest`
/// once the JVM says it is complete. Only for a JVM in our own PID
/// namespace, where the staging path names the same directory for it.
/// An error says why; the caller then uses jcmd.
fn dump_by_attach(
    pid: u32,
    staging: &Staging,
    dest: &std::path::Path,
    timeout: Duration,
) -> Result<(), String> {
    use leakwatch_where::jvm::attach::AttachTarget;
    let target = AttachTarget::open(pid as i32).map_err(|e| e.to_string())?;
    if target.nspid() != target.pid() {
        return Err("the JVM runs in another PID namespace".into());
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dump.hprof".into());
    let tmp = staging.path().join(name);
    let tmp_s = tmp
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", tmp.display()))?;
    let said = target
        .dump_heap(tmp_s, true, timeout)
        .map_err(|e| e.to_string())?;
    // The JVM answers 0 even when it could not write the file; its text says.
    if !said.contains("Heap dump file created") {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("the JVM answered: {}", said.trim()));
    }
    leakwatch_heap::files::adopt(&tmp, dest)
        .map(|_| ())
        .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), dest.display()))
}

/// `snapshot --jvm PID`: heap dumps through leakwatch-where's attach client,
/// or jcmd when that cannot attach (see leakwatch_heap::jcmd).
fn run_jvm(args: &SnapshotArgs, pid: u32) -> anyhow::Result<u8> {
    check_jvm(pid)?;
    let stop = crate::monitor::stop_flag()?;
    create_private_dir(&args.out_dir)
        .with_context(|| format!("cannot use --out-dir {}", args.out_dir.display()))?;
    // The JVM writes the dump itself and resolves a relative path against
    // its own working directory, not ours: give it an absolute one.
    let out_dir = std::fs::canonicalize(&args.out_dir)
        .with_context(|| format!("cannot use --out-dir {}", args.out_dir.display()))?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let staging = Staging::create(&out_dir, pid, stamp)?;
    let timeout = Duration::from_secs(1800);
    let mut files = Vec::new();
    let start = Instant::now();
    for i in 0..args.count {
        if i > 0 {
            let due = start + Duration::from_secs_f64(args.every * i as f64);
            if !wait_until(due, &stop) {
                drop(staging);
                return diff_when_interrupted(args, &files, true);
            }
        }
        let path = out_dir.join(format!("jvm-{pid}-{stamp}-{}.hprof", i + 1));
        let t0 = Instant::now();
        match dump_by_attach(pid, &staging, &path, timeout) {
            Ok(()) => {}
            Err(why) => {
                if i == 0 {
                    eprintln!(
                        "leakwatch: the attach client could not take the dump ({why}); using jcmd"
                    );
                }
                if let Err(e) = dump_heap(pid, &staging, &path, timeout)
                    .with_context(|| format!("dump {} of {}", i + 1, args.count))
                {
                    drop(staging);
                    return diff_what_was_taken(args, &files, e, true);
                }
            }
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "wrote {} ({}, took {})",
            path.display(),
            format::bytes(bytes as f64),
            format::duration(t0.elapsed().as_secs_f64())
        );
        files.push(path);
    }
    drop(staging);
    if args.no_diff {
        return Ok(crate::exit::OK);
    }
    diff_hprof(&chosen(&files), args.json, args.top, args.min_bytes)
}
