//! Reads the trace while the traced program runs, so that only the last
//! chunk and the report are left once it exits.
//!
//! The result is only a shortcut: it is used when the pass read the final
//! file exactly once (same file, same size, same first bytes), and the
//! summary reads the finished file as `leakwatch report` does otherwise.
//! An exec'd image rewrites the file from the start (see the tracer's
//! writer.rs), which a shrink below what was read, or the first bytes
//! (the header's start time) changing, gives away: the pass then starts
//! again from the new start, so a program launched through a wrapper or a
//! shim (pyenv's `python3` is a shell script that execs the interpreter
//! three times) is still read while it runs.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use leakwatch_trace::{analyze, Analysis, TraceReader};

/// How long to wait before looking again for more of the file (the exit
/// wakes the thread at once).
const POLL: Duration = Duration::from_millis(10);
/// Nice value of the reading thread while the program runs when it could
/// not come back from SCHED_IDLE at the exit: the program keeps its share
/// of a busy machine.
const NICE_WHILE_RUNNING: libc::c_int = 10;
/// CAP_SYS_NICE's bit in /proc's CapEff mask.
const CAP_SYS_NICE: u32 = 23;
/// First bytes of the file remembered to recognise a rewrite: the header
/// (with its start time in nanoseconds) and the first chunk's header.
const HEAD_LEN: usize = 64;
/// Rewrites the pass follows before leaving the file to the reading at
/// the end (each exec'd image is one; a shim chain is a few).
const MAX_RESTARTS: usize = 32;
/// The reader's error when the file was rewritten under it.
const REWRITTEN: &str = "the trace was rewritten from its start (an exec'd program took it over)";

#[derive(Default)]
struct Flags {
    /// The program has been waited for: whatever the file holds is final.
    exited: AtomicBool,
    /// The result is not wanted: stop at the next read.
    cancelled: AtomicBool,
}

/// What the pass read, to check against the finished file.
struct Seen {
    consumed: u64,
    head: Vec<u8>,
    dev: u64,
    ino: u64,
}

/// The reading thread. Dropping it without [`Follow::finish`] (an error
/// path) cancels and joins it.
pub struct Follow {
    flags: Arc<Flags>,
    thread: Option<JoinHandle<Result<(Analysis, Seen), String>>>,
}

impl Follow {
    /// Starts reading `path` (which may not exist yet) on a thread; None
    /// when no thread can be started.
    pub fn start(path: PathBuf) -> Option<Follow> {
        let flags = Arc::new(Flags::default());
        let theirs = Arc::clone(&flags);
        let thread = std::thread::Builder::new()
            .name("trace-follow".into())
            .spawn(move || follow(&path, &theirs))
            .ok()?;
        Some(Follow {
            flags,
            thread: Some(thread),
        })
    }

    /// Tells the thread that the program has been waited for (and wakes
    /// it from its wait for more).
    pub fn program_exited(&self) {
        self.flags.exited.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// The pass's analysis if it read exactly the finished file at `path`;
    /// otherwise why not.
    pub fn finish(mut self, path: &Path) -> Result<Analysis, String> {
        self.program_exited();
        let thread = self.thread.take().ok_or("no reading thread")?;
        let (analysis, seen) = thread
            .join()
            .map_err(|_| "the reading thread panicked".to_string())??;
        same_file(path, &seen)?;
        Ok(analysis)
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.flags.cancelled.store(true, Ordering::Release);
        self.program_exited();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether `path` now is the file the pass read, whole and unchanged.
fn same_file(path: &Path, f: &Seen) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot reopen the trace: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat the trace: {e}"))?;
    if (meta.dev(), meta.ino()) != (f.dev, f.ino) {
        return Err("the trace path now names another file".into());
    }
    if meta.len() != f.consumed {
        return Err(format!(
            "read {} bytes of a {}-byte trace",
            f.consumed,
            meta.len()
        ));
    }
    let mut head = vec![0u8; f.head.len()];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| format!("cannot read the trace's header: {e}"))?;
    if head != f.head {
        return Err(
            "the trace was rewritten from the start (an exec'd program took it over)".into(),
        );
    }
    Ok(())
}

/// The thread: waits for the file, then replays it as it grows.
fn follow(path: &Path, flags: &Flags) -> Result<(Analysis, Seen), String> {
    lower_priority();
    let mut file = wait_for_file(path, flags)?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat the trace: {e}"))?;
    if !meta.is_file() {
        return Err("the trace path is not a regular file".into());
    }
    let mut nice_restored = false;
    for _ in 0..=MAX_RESTARTS {
        let mut reader = FollowReader {
            file,
            flags,
            consumed: 0,
            head: Vec::with_capacity(HEAD_LEN),
            nice_restored,
            rewritten: false,
        };
        let result = TraceReader::open(io::BufReader::with_capacity(1 << 20, &mut reader))
            .map_err(|e| e.to_string())
            .and_then(|trace| analyze(trace).map_err(|e| e.to_string()));
        if reader.rewritten {
            // Whatever was read belonged to the image before the exec.
            nice_restored = reader.nice_restored;
            file = reader.file;
            file.seek(io::SeekFrom::Start(0))
                .map_err(|e| format!("cannot read the trace again: {e}"))?;
            continue;
        }
        let seen = Seen {
            consumed: reader.consumed,
            head: reader.head,
            dev: meta.dev(),
            ino: meta.ino(),
        };
        return Ok((result?, seen));
    }
    Err(format!(
        "the trace was rewritten more than {MAX_RESTARTS} times (a chain of execs)"
    ))
}

/// Opens the trace once the tracer has created it (at the program's first
/// allocation).
fn wait_for_file(path: &Path, flags: &Flags) -> Result<File, String> {
    loop {
        // Read before trying: a failure after the exit is final.
        let exited = flags.exited.load(Ordering::Acquire);
        if flags.cancelled.load(Ordering::Acquire) {
            return Err("cancelled".into());
        }
        match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !exited => {
                std::thread::park_timeout(POLL)
            }
            Err(e) => return Err(format!("cannot open the trace: {e}")),
        }
    }
}

/// Reads a file that is still being appended to: at its end, waits for
/// more until the program has exited; then the end is the end.
struct FollowReader<'a> {
    file: File,
    flags: &'a Flags,
    consumed: u64,
    head: Vec<u8>,
    nice_restored: bool,
    /// Set when the file was found rewritten from its start.
    rewritten: bool,
}

impl FollowReader<'_> {
    /// Whether the file still starts with the bytes this pass read there
    /// (an exec'd image writes its own header, with its own start time).
    fn same_start(&self) -> io::Result<bool> {
        let mut now = [0u8; HEAD_LEN];
        let want = &self.head[..];
        let mut got = 0;
        while got < want.len() {
            match self.file.read_at(&mut now[got..want.len()], got as u64)? {
                0 => break,
                n => got += n,
            }
        }
        Ok(&now[..got] == want)
    }

    fn rewritten(&mut self) -> io::Error {
        self.rewritten = true;
        io::Error::other(REWRITTEN)
    }
}

impl Read for FollowReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.flags.cancelled.load(Ordering::Acquire) {
                return Err(io::Error::other("cancelled"));
            }
            // Loaded before the read: a read started after the exit sees
            // every byte the program wrote.
            let exited = self.flags.exited.load(Ordering::Acquire);
            if exited && !self.nice_restored {
                // The rest runs on cores the program no longer uses; this
                // fails without CAP_SYS_NICE or a high RLIMIT_NICE.
                restore_priority();
                self.nice_restored = true;
            }
            let size = self.file.metadata()?.len();
            if size < self.consumed {
                return Err(self.rewritten());
            }
            let n = self.file.read(buf)?;
            if n > 0 {
                // Checked after the read: bytes read past a rewrite that
                // grew beyond this offset are the new image's, never used.
                if !self.same_start()? {
                    return Err(self.rewritten());
                }
                let keep = (HEAD_LEN - self.head.len()).min(n);
                self.head.extend_from_slice(&buf[..keep]);
                self.consumed += n as u64;
                return Ok(n);
            }
            if exited {
                return Ok(0);
            }
            std::thread::park_timeout(POLL);
        }
    }
}

/// Lowers the calling thread's priority while the program runs. SCHED_IDLE
/// (the thread runs only on a core nothing else wants, so it never takes a
/// slice from the program's thread) when the process may leave that class
/// again at the exit; nice 10 otherwise, so that a busy machine cannot
/// starve the pass for good. Best effort.
fn lower_priority() {
    if may_raise_priority() {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain syscall on the calling thread (pid 0).
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
            return;
        }
    }
    set_nice(NICE_WHILE_RUNNING);
}

/// Back to the normal class and nice 0 once the program has exited; fails
/// without CAP_SYS_NICE or a high RLIMIT_NICE (then the pass stays at nice
/// 10: it was never made SCHED_IDLE).
fn restore_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a plain syscall on the calling thread (pid 0).
    unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    set_nice(0);
}

/// Whether this process may raise a thread's priority back to nice 0:
/// CAP_SYS_NICE in its effective set, or an RLIMIT_NICE of 20 or more.
fn may_raise_priority() -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NICE, &mut limit) } == 0 && limit.rlim_cur >= 20 {
        return true;
    }
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|status| effective_capabilities(&status))
        .is_some_and(|caps| caps & (1 << CAP_SYS_NICE) != 0)
}

/// The CapEff mask of a /proc status file.
fn effective_capabilities(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

/// Sets the calling thread's nice value (Linux: per thread); best effort.
fn set_nice(nice: libc::c_int) {
    // SAFETY: plain syscalls on the calling thread.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_trace::synth::{Records, TraceWriter};
    use leakwatch_trace::{build_report, ReportOptions, Symbolizer};
    use std::io::Write;

    /// A trace of `chunks` chunks with `start_ns` in its header (as each
    /// image's tracer writes its own start time).
    fn trace(chunks: usize, start_ns: u64) -> Vec<u8> {
        let mut w = TraceWriter::new(leakwatch_trace::format::VERSION, 7);
        w.out[24..32].copy_from_slice(&start_ns.to_le_bytes());
        let mut r = Records::default();
        let stack = r.stack(&[0x40_1000, 0x40_2000]);
        let class = r.class(stack, 48);
        for i in 0..chunks {
            r.time(10_000_000);
            for _ in 0..=i {
                r.alloc(class);
            }
            if i + 1 == chunks {
                r.end();
            }
            w.chunk(&r.take());
        }
        w.out
    }

    fn report_json(a: &Analysis) -> String {
        let opts = ReportOptions {
            top: 3,
            full_stacks: false,
            suppressions: Default::default(),
        };
        serde_json::to_string(&build_report(a, &mut Symbolizer::new(), &opts)).unwrap()
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn the_effective_capability_mask_is_read_from_a_status_file() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(effective_capabilities(status), Some(0x1ff_ffff_ffff));
        assert_eq!(effective_capabilities("Name:\tx\n"), None);
    }

    #[test]
    fn the_pass_is_back_at_normal_priority_when_it_may_be() {
        let (idle, normal) = std::thread::spawn(|| {
            lower_priority();
            // SAFETY: plain syscalls on this thread.
            let idle = unsafe { libc::sched_getscheduler(0) };
            restore_priority();
            (idle, unsafe { libc::sched_getscheduler(0) })
        })
        .join()
        .unwrap();
        if may_raise_priority() {
            assert_eq!(idle, libc::SCHED_IDLE);
            assert_eq!(normal, libc::SCHED_OTHER);
        } else {
            // Never made idle, so never stuck there.
            assert_eq!(idle, libc::SCHED_OTHER);
        }
    }

    #[test]
    fn a_trace_written_in_pieces_reads_as_the_finished_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        let data = trace(5, 1);
        let follow = Follow::start(path.clone()).unwrap();
        // Not there yet, then written in pieces that cut the header and
        // the chunks.
        std::thread::sleep(POLL * 3);
        for piece in data.chunks(17) {
            append(&path, piece);
            std::thread::sleep(Duration::from_millis(2));
        }
        follow.program_exited();
        let followed = follow.finish(&path).unwrap();
        let whole = analyze(TraceReader::open(&data[..]).unwrap()).unwrap();
        assert_eq!(followed.chunks, 5);
        assert_eq!(report_json(&followed), report_json(&whole));
    }

    /// A reader over `path` as the thread makes it, for driving by hand.
    fn reader<'a>(path: &Path, flags: &'a Flags) -> FollowReader<'a> {
        FollowReader {
            file: File::open(path).unwrap(),
            flags,
            consumed: 0,
            head: Vec::new(),
            nice_restored: true,
            rewritten: false,
        }
    }

    fn seen(r: &FollowReader) -> Seen {
        let meta = r.file.metadata().unwrap();
        Seen {
            consumed: r.consumed,
            head: r.head.clone(),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    fn truncate(path: &Path) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    #[test]
    fn a_rewrite_shorter_than_what_was_read_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        let first = trace(4, 1);
        append(&path, &first);
        let flags = Flags::default();
        let mut r = reader(&path, &flags);
        let mut buf = vec![0u8; first.len()];
        r.read_exact(&mut buf).unwrap();
        // An exec'd image restarts the file.
        truncate(&path);
        append(&path, &trace(1, 2));
        let err = r.read(&mut buf).unwrap_err();
        assert!(err.to_string().contains("rewritten"), "{err}");
        assert!(r.rewritten);
    }

    #[test]
    fn a_rewrite_longer_than_what_was_read_is_seen_at_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        let first = trace(1, 1);
        append(&path, &first);
        let flags = Flags::default();
        let mut r = reader(&path, &flags);
        let mut buf = vec![0u8; first.len()];
        r.read_exact(&mut buf).unwrap();
        // Restarted and grown past the read position before the next read:
        // no shrink to see, but the header differs.
        truncate(&path);
        append(&path, &trace(6, 2));
        flags.exited.store(true, Ordering::Release);
        let mut rest = Vec::new();
        let err = r.read_to_end(&mut rest).unwrap_err();
        assert!(err.to_string().contains("rewritten"), "{err}");
        assert!(r.rewritten);
        // And had the pass missed it, the check at the end would not use it.
        assert!(same_file(&path, &seen(&r)).is_err());
    }

    #[test]
    fn the_pass_starts_again_when_an_exec_rewrites_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        let wrapper = trace(3, 1);
        let program = trace(4, 2);
        let follow = Follow::start(path.clone()).unwrap();
        for piece in wrapper.chunks(23) {
            append(&path, piece);
            std::thread::sleep(Duration::from_millis(2));
        }
        // Let the pass read the wrapper's whole trace before the exec.
        std::thread::sleep(POLL * 3);
        truncate(&path);
        for piece in program.chunks(29) {
            append(&path, piece);
            std::thread::sleep(Duration::from_millis(2));
        }
        follow.program_exited();
        let followed = follow.finish(&path).unwrap();
        let whole = analyze(TraceReader::open(&program[..]).unwrap()).unwrap();
        assert_eq!(followed.chunks, 4);
        assert_eq!(report_json(&followed), report_json(&whole));
    }

    #[test]
    fn a_file_read_to_its_end_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        append(&path, &trace(3, 1));
        let flags = Flags::default();
        flags.exited.store(true, Ordering::Release);
        let mut r = reader(&path, &flags);
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(same_file(&path, &seen(&r)), Ok(()));
        // Anything appended after the pass ended was not read.
        append(&path, &[0]);
        assert!(same_file(&path, &seen(&r)).is_err());
    }

    #[test]
    fn no_file_by_the_exit_ends_the_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never.lwt");
        let follow = Follow::start(path.clone()).unwrap();
        std::thread::sleep(POLL * 2);
        follow.program_exited();
        assert!(follow.finish(&path).is_err());
    }

    #[test]
    fn dropping_the_pass_ends_its_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lwt");
        let data = trace(2, 1);
        append(&path, &data[..data.len() / 2]);
        let follow = Follow::start(path).unwrap();
        std::thread::sleep(POLL * 3);
        // The program never exited as far as the pass knows: dropping it
        // (an error path) must still end and join the thread.
        drop(follow);
    }
}
