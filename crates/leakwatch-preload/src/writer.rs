//! Start-up, the trace file, the background writer thread, fork handling
//! and the final flush.
//!
//! Tracing starts at the first allocation in the process (`lazy_start`,
//! called by the first hook), which may come from the loader or from a
//! library constructor that runs before this library's own: the file is
//! opened, the module map recorded and events go to the thread's ring from
//! then on. Whatever needs the C library initialised (the writer thread,
//! fork and `quick_exit` handlers) waits for this library's constructor;
//! until then a thread whose ring fills drains it itself.

use core::ffi::{c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};

use crate::interpret::{Fail, Interp};
use crate::ring::{self, Rec, Ring, Stamp};
use crate::{log, now_ns, MAGIC, REC_END, REC_LSANSUPP, REC_PHASE, VERSION};

const UNDECIDED: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
const STARTING: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNDECIDED);
static FD: AtomicI32 = AtomicI32::new(-1);
/// Device and inode of the trace file: the fd is checked against them
/// before each write (the program may have closed it or put its own file
/// in its place).
static FILE_DEV: AtomicU64 = AtomicU64::new(0);
static FILE_INO: AtomicU64 = AtomicU64::new(0);
pub static START_NS: AtomicU64 = AtomicU64::new(0);
pub static SAMPLE_EVERY: AtomicU64 = AtomicU64::new(0);
/// Node ids a ring hands out before starting them again from 0
/// (`LEAKWATCH_NODE_ID_LIMIT`, for tests): bounds the writer's map of
/// each ring's ids to 4 bytes each (8 MiB a ring).
pub static NODE_ID_LIMIT: core::sync::atomic::AtomicU32 =
    core::sync::atomic::AtomicU32::new(1 << 21);
static FOLLOW_FORK: AtomicBool = AtomicBool::new(false);
/// Set by this library's constructor: the C library is initialised.
static CONSTRUCTED: AtomicBool = AtomicBool::new(false);
static WRITER_STARTED: AtomicBool = AtomicBool::new(false);
/// Futex word the writer sleeps on; producers bump it to wake the writer.
static WAKE: AtomicU32 = AtomicU32::new(0);
static WRITER_SLEEPING: AtomicBool = AtomicBool::new(false);
/// Held while rings are drained, so the final flush and a fork never see a
/// half-written chunk or a half-updated interpreter.
static DRAIN_LOCK: AtomicBool = AtomicBool::new(false);
/// Events no ring could take for lack of memory (a thread whose ring
/// cannot be mapped): written as a LOST record (reason 1).
pub static LOST_NO_MEMORY: AtomicU64 = AtomicU64::new(0);
/// Flush period of the writer thread.
const PERIOD_NS: i64 = 20_000_000;

/// LOST reasons (see `leakwatch_trace::format`).
pub const LOST_OOM: u64 = 1;
pub const LOST_FD: u64 = 2;
pub const LOST_AT_EXIT: u64 = 3;

/// PHASE kinds.
pub const PHASE_EXIT: u64 = 1;

static mut PATH: [u8; 4096] = [0; 4096];
static mut PATH_LEN: usize = 0;

/// Set when tracing ends (`finish`): hooks record no new event from then
/// on, and the events already being recorded are waited for.
static CUT: AtomicBool = AtomicBool::new(false);

/// Whether tracing has ended for the hooks (see `finish`).
#[inline(always)]
pub fn cut() -> bool {
    CUT.load(Ordering::Relaxed)
}

#[inline]
pub fn running() -> bool {
    STATE.load(Ordering::Relaxed) == RUNNING
}

/// The events' order across threads: see `stamp`.
static SEQ: AtomicU64 = AtomicU64::new(0);
/// A test's knob (LEAKWATCH_CPU_CLOCK_SKEW_NS): nanoseconds times the
/// CPU's number added to every stamp's time, so that the CPUs' clocks
/// disagree as a restored virtual machine's can; pairing must not change.
static CPU_CLOCK_SKEW_NS: AtomicU64 = AtomicU64::new(0);

/// Stamps an event: when it happened, and its place among all threads'.
///
/// Time is the coarse clock (the last kernel tick: no TSC read; the
/// precise clock took 8 % of cppcheck's traced CPU): output ticks are
/// 10 ms. The order across threads is not taken from any clock: a
/// clock's readings on two CPUs need not agree (restored virtual machines
/// give each vCPU its own TSC offset; one CPU's reading after another's
/// event can be the smaller), and a free stamped after its block's next
/// allocation by another thread pairs the wrong events (CI saw 130 blocks
/// of a hand-off test reported leaked). A shared counter is right by
/// construction: once a second ring exists (`ring::claim` sets MULTI
/// before that thread records), each event takes the next number, and an
/// event that happens after another thread's (its block passed on, or
/// freed and reused: both synchronise through the program or the
/// allocator) reads the counter later, so gets a larger one. A lone
/// thread only reads it: its ring's records are merged in their own order,
/// and its first event after it synchronised with a second thread sees
/// MULTI set. One uncontended add costs less than the precise clock did.
#[inline]
pub fn stamp() -> Stamp {
    let seq = if crate::ring::multi() {
        SEQ.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        SEQ.load(Ordering::Relaxed)
    };
    let mut ns = crate::coarse_ns();
    let skew = CPU_CLOCK_SKEW_NS.load(Ordering::Relaxed);
    if skew != 0 {
        // SAFETY: plain vDSO call.
        ns += skew * unsafe { libc::sched_getcpu() }.max(0) as u64;
    }
    Stamp {
        ns: ns.saturating_sub(START_NS.load(Ordering::Relaxed)),
        seq,
    }
}

/// Whether a writer thread exists to drain the rings.
pub fn writer_started() -> bool {
    WRITER_STARTED.load(Ordering::Acquire)
}

pub fn wake() {
    if WRITER_SLEEPING.load(Ordering::Relaxed) {
        WAKE.fetch_add(1, Ordering::Release);
        // SAFETY: futex wake on a static word.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                WAKE.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            )
        };
    }
}

fn gettid() -> u32 {
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

fn lock_drain() {
    while DRAIN_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        // SAFETY: plain syscall.
        unsafe { libc::sched_yield() };
    }
}

/// Like `lock_drain`, giving up after about `ms` milliseconds (a drain
/// interrupted on this very thread would never end).
fn try_lock_drain(ms: u32) -> bool {
    for _ in 0..ms * 20 {
        if DRAIN_LOCK
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        pause_ns(50_000);
    }
    false
}

fn unlock_drain() {
    DRAIN_LOCK.store(false, Ordering::Release);
}

pub(crate) fn write_all(fd: c_int, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            // SAFETY: errno location is thread-local and always valid.
            if unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

// ---------------------------------------------------------------------------
// The trace file.

/// Closes one of the tracer's own descriptors with the system call itself:
/// this library interposes `close` (fds.rs), and must not reach its own
/// interposer while it holds FD_LOCK.
pub(crate) fn sys_close(fd: c_int) {
    // SAFETY: plain syscall on a descriptor the caller owns.
    unsafe { libc::syscall(libc::SYS_close, fd) };
}

/// Held by the writer between "is the fd still the trace?" and the write,
/// and by the program's `dup2`, `dup3`, `close_range`, `closefrom` (and a
/// `close` of the trace's number) around the call itself (fds.rs): no call
/// can put another file under the trace's number between the check and the
/// write. Held only around those system calls, never while allocating or
/// waiting for anything else; taken with every signal blocked (a handler
/// calling `close` on the same thread would otherwise wait for itself).
static FD_LOCK: AtomicBool = AtomicBool::new(false);
/// The traced process. A `vfork` child shares this memory but has its own
/// descriptors: its calls are passed through untouched.
static TRACED_PID: AtomicI32 = AtomicI32::new(0);

/// Runs `f` holding FD_LOCK with every signal blocked on this thread.
pub(crate) fn with_fd_lock<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: a zeroed sigset_t is a valid (empty) set.
    let mut old: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: signal sets on valid local storage; pthread_sigmask leaves
    // the C library's internal signals alone.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    while FD_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        // SAFETY: plain syscall.
        unsafe { libc::sched_yield() };
    }
    let r = f();
    FD_LOCK.store(false, Ordering::Release);
    // SAFETY: restoring the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, null_mut()) };
    r
}

/// Whether the program's descriptor calls must be watched: the trace file
/// is open (or may be reopened), and this is the traced process itself.
pub(crate) fn guarding_trace_fd() -> bool {
    (FD.load(Ordering::Relaxed) >= 0 || running())
        // SAFETY: plain syscall.
        && TRACED_PID.load(Ordering::Relaxed) == unsafe { libc::getpid() }
}

/// Whether `fd` is the trace's descriptor right now (a cheap first test
/// for `close`).
#[inline]
pub(crate) fn is_trace_fd_number(fd: c_int) -> bool {
    fd >= 0 && fd == FD.load(Ordering::Relaxed)
}

/// Runs the program's descriptor call `call`, which may close or replace
/// the numbers `lo..=hi`, so that it never reaches the trace file: if the
/// trace's descriptor is among them, the trace moves to a number outside
/// first (or, when none is free, lets go of it, to be reopened by path
/// before the next write). Caller checked `guarding_trace_fd`.
pub(crate) fn around_fd_call(lo: u32, hi: u32, call: impl FnOnce() -> c_int) -> c_int {
    with_fd_lock(|| {
        let fd = FD.load(Ordering::Relaxed);
        let hit = fd >= 0 && (lo..=hi).contains(&(fd as u32));
        if !hit {
            return call();
        }
        let outside = |n: c_int| n >= 0 && !(lo..=hi).contains(&(n as u32));
        // SAFETY: fcntl on our own descriptor.
        let mut moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, high_fd_floor()) };
        if moved >= 0 && !outside(moved) {
            sys_close(moved);
            moved = -1;
            if hi < i32::MAX as u32 {
                // SAFETY: as above.
                moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, hi as c_int + 1) };
            }
        }
        FD.store(moved, Ordering::Relaxed);
        let rc = call();
        if rc < 0 {
            // The call failed and left `fd` alone: it is still the trace.
            // SAFETY: errno is thread-local.
            let errno = unsafe { *libc::__errno_location() };
            if moved < 0 {
                FD.store(fd, Ordering::Relaxed);
            } else if is_trace(fd) {
                sys_close(fd);
            }
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
        }
        rc
    })
}

/// Where the tracer keeps its fd: high, out of the way of programs that
/// expect the lowest free numbers or `dup2` onto small ones.
fn high_fd_floor() -> c_int {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    let cur = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(1024) as c_int
    } else {
        256
    };
    (cur - 32).max(3)
}

/// Moves `fd` to a high number (close-on-exec) and remembers which file it
/// is. Returns the new fd.
fn adopt_fd(fd: c_int) -> c_int {
    // SAFETY: fcntl/close on our own descriptor.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, high_fd_floor()) };
    let fd = if high >= 0 {
        sys_close(fd);
        high
    } else {
        fd
    };
    // SAFETY: zeroed stat is a valid out buffer.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: valid out pointer.
    if unsafe { libc::fstat(fd, &mut st) } == 0 {
        FILE_DEV.store(st.st_dev, Ordering::Relaxed);
        FILE_INO.store(st.st_ino, Ordering::Relaxed);
    }
    fd
}

/// Whether `fd` is the trace file.
fn is_trace(fd: c_int) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: zeroed stat is a valid out buffer.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: valid out pointer.
    let rc = unsafe { libc::fstat(fd, &mut st) };
    rc == 0
        && st.st_dev == FILE_DEV.load(Ordering::Relaxed)
        && st.st_ino == FILE_INO.load(Ordering::Relaxed)
}

/// The path of this process's trace (`PATH`, or `PATH.<pid>`), NUL-terminated.
fn trace_path(buf: &mut [u8; 4200], suffix_pid: bool) -> *const libc::c_char {
    // SAFETY: PATH is written only during start-up or in a fork child,
    // single-threaded.
    let path = unsafe { &(&*core::ptr::addr_of!(PATH))[..PATH_LEN] };
    buf[..path.len()].copy_from_slice(path);
    let mut len = path.len();
    if suffix_pid {
        buf[len] = b'.';
        len += 1;
        // SAFETY: plain syscall.
        let pid = unsafe { libc::getpid() } as u64;
        len += write_decimal(&mut buf[len..], pid);
    }
    buf[len] = 0;
    buf.as_ptr().cast()
}

static SUFFIXED: AtomicBool = AtomicBool::new(false);

/// Creates this process's trace file: exclusively, never through a
/// symbolic link, readable by its owner only. Returns the fd or -1.
fn create_trace(suffix_pid: bool) -> c_int {
    let mut buf = [0u8; 4200];
    let path = trace_path(&mut buf, suffix_pid);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(path, flags, 0o600 as libc::c_uint) };
    if fd >= 0 {
        SUFFIXED.store(suffix_pid, Ordering::Relaxed);
    }
    fd
}

/// Whether the trace path is a symbolic link (planted: never followed).
fn is_symlink(suffix_pid: bool) -> bool {
    let mut buf = [0u8; 4200];
    let path = trace_path(&mut buf, suffix_pid);
    // SAFETY: zeroed stat is a valid out buffer.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: NUL-terminated path, valid out pointer.
    let rc = unsafe { libc::lstat(path, &mut st) };
    rc == 0 && st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

/// Reopens the trace file by path for appending after the program closed
/// or replaced the fd; only the very same file is accepted.
fn reopen_trace() -> c_int {
    let mut buf = [0u8; 4200];
    let path = trace_path(&mut buf, SUFFIXED.load(Ordering::Relaxed));
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(path, flags) };
    if fd < 0 {
        return -1;
    }
    if !is_trace(fd) {
        sys_close(fd);
        return -1;
    }
    // SAFETY: fcntl/close on our own descriptor.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, high_fd_floor()) };
    if high >= 0 {
        sys_close(fd);
        return high;
    }
    fd
}

/// Writes trace bytes, first making sure the fd still is the trace file.
/// If the program closed it (`close_range`) or put its own file there
/// (`dup2`), the trace is reopened by path; bytes are never written into
/// any other file. The check and the write happen under FD_LOCK, in pieces
/// so that a program's `dup2` waits for one piece at most.
pub(crate) fn write_trace(buf: &[u8]) -> Result<(), Fail> {
    const PIECE: usize = 256 << 10;
    for piece in buf.chunks(PIECE) {
        with_fd_lock(|| {
            let mut fd = FD.load(Ordering::Relaxed);
            if !is_trace(fd) {
                // The old number is the program's now (or nothing): not closed.
                fd = reopen_trace();
                FD.store(fd, Ordering::Relaxed);
                if fd < 0 {
                    return Err(Fail::Fd);
                }
            }
            if write_all(fd, piece) {
                Ok(())
            } else {
                Err(Fail::Write)
            }
        })?;
    }
    Ok(())
}

/// Whether the existing trace file's header names this process (which then
/// exec'd the image now starting). Regular files only, never through a link.
/// `suffix_pid`: the file is `FILE.<pid>`, a followed child's (which wrote
/// it between its fork and its exec).
fn written_by_this_pid(suffix_pid: bool) -> Option<c_int> {
    let mut buf = [0u8; 4200];
    let path = trace_path(&mut buf, suffix_pid);
    let flags = libc::O_RDWR | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(path, flags) };
    if fd < 0 {
        return None;
    }
    // SAFETY: zeroed stat is a valid out buffer.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    let mut h = [0u8; 16];
    // SAFETY: valid out pointers; plain syscalls.
    let ours = unsafe {
        libc::fstat(fd, &mut st) == 0
            && st.st_mode & libc::S_IFMT == libc::S_IFREG
            && st.st_uid == libc::geteuid()
            && libc::read(fd, h.as_mut_ptr().cast(), h.len()) == 16
            && &h[..8] == MAGIC
            && h[12..16] == (libc::getpid() as u32).to_le_bytes()
    };
    // SAFETY: our own descriptor; the file is ours to restart.
    if ours && unsafe { libc::ftruncate(fd, 0) == 0 && libc::lseek(fd, 0, libc::SEEK_SET) == 0 } {
        // SAFETY: set back to blocking, write-only use.
        unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
        SUFFIXED.store(suffix_pid, Ordering::Relaxed);
        return Some(fd);
    }
    sys_close(fd);
    None
}

fn write_header(fd: c_int) -> bool {
    let mut h = [0u8; 40];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    // SAFETY: plain syscall.
    h[12..16].copy_from_slice(&(unsafe { libc::getpid() } as u32).to_le_bytes());
    h[16..24].copy_from_slice(&SAMPLE_EVERY.load(Ordering::Relaxed).to_le_bytes());
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let unix_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
    h[24..32].copy_from_slice(&unix_ns.to_le_bytes());
    // SAFETY: plain syscall.
    h[32..40].copy_from_slice(&(unsafe { libc::getppid() } as u64).to_le_bytes());
    write_all(fd, &h)
}

// ---------------------------------------------------------------------------
// The interpreter and the writer thread.

/// The interpreter (see interpret.rs). Created at start-up (with the hook
/// guard held, so its memory is untraced) and kept; only touched under
/// DRAIN_LOCK, or single-threaded in a forked child.
struct InterpCell(core::cell::UnsafeCell<Option<Interp>>);
// SAFETY: only accessed with DRAIN_LOCK held (or single-threaded).
unsafe impl Sync for InterpCell {}

static INTERP: InterpCell = InterpCell(core::cell::UnsafeCell::new(None));

/// Processes and writes what the rings hold. Caller holds DRAIN_LOCK and
/// the hook guard. `last`: the final flush. Rings whose thread has exited
/// are freed once processed when `reap` is set.
fn drain_all(reap: bool, last: bool) {
    // SAFETY: the caller holds DRAIN_LOCK, the only way to reach it.
    let cell = unsafe { &mut *INTERP.0.get() };
    let Some(interp) = cell.as_mut() else {
        STATE.store(DONE, Ordering::Relaxed);
        return;
    };
    let lost = LOST_NO_MEMORY.swap(0, Ordering::Relaxed);
    if lost > 0 {
        interp.lost(LOST_OOM, lost);
    }
    if let Err(e) = interp.drain(last, reap) {
        match e {
            Fail::Write => log(b"cannot write the trace file; tracing stops"),
            Fail::Fd => {
                log(
                    b"the program closed or replaced the trace file's descriptor and the file \
                      cannot be reopened; tracing stops",
                );
                interp.write_lost(LOST_FD, 0);
            }
            Fail::Compress => log(b"cannot compress the trace; tracing stops"),
            Fail::Corrupt => log(b"internal error: undecodable ring record; tracing stops"),
            Fail::NoMemory => {
                log(b"out of memory: tracing stops (the trace says what was lost)");
                interp.write_lost(LOST_OOM, 0);
            }
        }
        STATE.store(DONE, Ordering::Relaxed);
    }
}

/// Drains the caller's full ring itself when no writer thread exists yet
/// (allocations before this library's constructor).
pub fn drain_inline() {
    let was = crate::hooks::set_guard(true);
    lock_drain();
    if running() {
        drain_all(false, false);
    }
    unlock_drain();
    crate::hooks::set_guard(was);
}

/// Set by the writer thread as it returns (detach waits for it).
static WRITER_EXITED: AtomicBool = AtomicBool::new(false);
/// With LEAKWATCH_STATS=1: the writer thread's CPU time after its last
/// drain, for A/B runs of the writer.
static STATS: AtomicBool = AtomicBool::new(false);
static WRITER_CPU_US: AtomicU64 = AtomicU64::new(0);

/// The calling thread's CPU time, microseconds.
fn thread_cpu_us() -> u64 {
    let mut cpu = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: plain syscall writing into `cpu`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut cpu) };
    cpu.tv_sec as u64 * 1_000_000 + cpu.tv_nsec as u64 / 1000
}

/// Bumped to make the writer thread leave (see `without_writer`): each
/// writer runs while the generation is the one it started in.
static WRITER_GEN: AtomicU32 = AtomicU32::new(0);
/// The writer thread's kernel id (0 until it runs).
static WRITER_TID: AtomicU32 = AtomicU32::new(0);

extern "C" fn writer_main(_: *mut c_void) -> *mut c_void {
    crate::hooks::set_guard(true);
    let generation = WRITER_GEN.load(Ordering::Acquire);
    WRITER_EXITED.store(false, Ordering::Release);
    WRITER_TID.store(gettid(), Ordering::Release);
    let mut last_reap = 0u64;
    while running() && WRITER_GEN.load(Ordering::Acquire) == generation {
        WRITER_SLEEPING.store(true, Ordering::SeqCst);
        let seen = WAKE.load(Ordering::Acquire);
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: PERIOD_NS,
        };
        // SAFETY: futex wait on a static word with a relative timeout.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                WAKE.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                seen,
                &timeout as *const libc::timespec,
            )
        };
        WRITER_SLEEPING.store(false, Ordering::SeqCst);
        if !running() || WRITER_GEN.load(Ordering::Acquire) != generation {
            break;
        }
        let now = now_ns();
        let reap = now - last_reap > 200_000_000;
        if reap {
            last_reap = now;
        }
        lock_drain();
        if running() {
            drain_all(reap, false);
        }
        unlock_drain();
        if STATS.load(Ordering::Relaxed) {
            WRITER_CPU_US.store(thread_cpu_us(), Ordering::Relaxed);
        }
    }
    WRITER_EXITED.store(true, Ordering::Release);
    null_mut()
}

/// Starts the writer thread with every signal blocked: the program's
/// signals must go to the program's threads (a daemon whose `sigwait`
/// thread handles SIGTERM would otherwise be killed by it).
fn spawn_writer() -> bool {
    STATS.store(getenv(c"LEAKWATCH_STATS") == Some(b"1"), Ordering::Relaxed);
    // SAFETY: signal-set and thread calls on valid local storage; the
    // thread function has the right signature and takes no data.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let mut tid: libc::pthread_t = 0;
        let rc = libc::pthread_create(&mut tid, core::ptr::null(), writer_main, null_mut());
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, null_mut());
        if rc != 0 {
            return false;
        }
        libc::pthread_detach(tid);
    }
    WRITER_STARTED.store(true, Ordering::Release);
    true
}

/// Runs one of the program's set*id calls (setid.rs) with no writer thread
/// alive when the two threads' capabilities differ: the C library makes
/// every thread repeat such a call and aborts when one fails where another
/// succeeded, and the writer may lack a capability the calling thread
/// raised for itself. The writer leaves (producers drain their own rings
/// meanwhile), the call runs, and a new writer is started by this thread,
/// with its credentials. Every wait is
/// bounded: when the writer does not leave in time (a write blocked on a
/// full disk) the call is made anyway, as without this, and the old writer
/// leaves at its next turn.
pub fn without_writer<R>(call: impl FnOnce() -> R) -> R {
    static SETID_LOCK: AtomicBool = AtomicBool::new(false);
    if !running() || !WRITER_STARTED.load(Ordering::Acquire) || crate::hooks::guarded() {
        return call();
    }
    while SETID_LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        pause_ns(100_000);
    }
    let was = crate::hooks::set_guard(true);
    let mut replaced = false;
    // The outcome can differ only when the two threads' capabilities do:
    // a program switching its effective user per request (as file servers
    // do) keeps its writer.
    let writer_tid = WRITER_TID.load(Ordering::Acquire);
    let same_caps =
        writer_tid != 0 && capabilities(0).is_some_and(|c| capabilities(writer_tid) == Some(c));
    if !same_caps && running() && WRITER_STARTED.load(Ordering::Acquire) {
        // A writer just spawned may not have said who it is yet.
        let mut tid = WRITER_TID.load(Ordering::Acquire);
        for _ in 0..2_000 {
            if tid != 0 {
                break;
            }
            pause_ns(1_000_000);
            tid = WRITER_TID.load(Ordering::Acquire);
        }
        if tid != 0 {
            WRITER_STARTED.store(false, Ordering::Release);
            WRITER_GEN.fetch_add(1, Ordering::AcqRel);
            wait_thread_gone(tid);
            replaced = true;
        }
    }
    crate::hooks::set_guard(was);
    let result = call();
    crate::hooks::set_guard(true);
    if replaced && running() {
        WRITER_TID.store(0, Ordering::Release);
        if !spawn_writer() {
            log(b"cannot restart the writer thread after a set*id call; tracing stops");
            STATE.store(DONE, Ordering::Release);
        }
    }
    crate::hooks::set_guard(was);
    SETID_LOCK.store(false, Ordering::Release);
    result
}

/// A thread's effective and permitted capability sets (`tid` 0: the
/// caller's), or None when they cannot be read.
fn capabilities(tid: u32) -> Option<[u32; 4]> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: tid as i32,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget fills two data structs for version 3.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    (rc == 0).then_some([
        data[0].effective,
        data[1].effective,
        data[0].permitted,
        data[1].permitted,
    ])
}

/// Before the program changes its effective user to `euid` (a root
/// launcher dropping to a service account, as `setpriv`, `gosu` and
/// `runuser` do before they exec the service): the trace file becomes that
/// user's, so the program it execs, which continues this trace, can still
/// open it. Returns the owner to give it back if the change fails; None
/// when nothing changed (not running as root, same owner).
pub fn hand_trace_to(euid: libc::uid_t) -> Option<libc::uid_t> {
    let fd = FD.load(Ordering::Acquire);
    if !running() || fd < 0 || euid == libc::uid_t::MAX {
        return None;
    }
    // SAFETY: zeroed stat is a valid out buffer; plain syscalls on the
    // trace's own descriptor.
    unsafe {
        let mut st: libc::stat = core::mem::zeroed();
        if libc::fstat(fd, &mut st) != 0 || st.st_uid == euid || !is_trace(fd) {
            return None;
        }
        (libc::fchown(fd, euid, libc::gid_t::MAX) == 0).then_some(st.st_uid)
    }
}

/// Wakes the writer until thread `tid` of this process no longer exists
/// (at most 2 s).
fn wait_thread_gone(tid: u32) -> bool {
    // SAFETY: plain syscall.
    let pid = unsafe { libc::getpid() };
    for _ in 0..4_000 {
        WAKE.fetch_add(1, Ordering::Release);
        // SAFETY: futex wake on a static word; tgkill with signal 0 only
        // checks that the thread exists.
        let gone = unsafe {
            libc::syscall(
                libc::SYS_futex,
                WAKE.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
            libc::syscall(libc::SYS_tgkill, pid, tid, 0) != 0
                && *libc::__errno_location() == libc::ESRCH
        };
        if gone {
            return true;
        }
        pause_ns(500_000);
    }
    false
}

// ---------------------------------------------------------------------------
// Start-up.

/// The environment, also before the C library set up `environ` (the
/// loader's own allocations come that early): then read from
/// /proc/self/environ.
pub(crate) fn getenv(name: &core::ffi::CStr) -> Option<&'static [u8]> {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    // SAFETY: reading the C library's environ pointer.
    if !unsafe { environ }.is_null() {
        // SAFETY: getenv returns a pointer into the environment or null.
        let p = unsafe { libc::getenv(name.as_ptr()) };
        if p.is_null() {
            return None;
        }
        // SAFETY: NUL-terminated by contract.
        return Some(unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes());
    }
    early_environ()
        .split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(name.to_bytes())?.strip_prefix(b"="))
}

static mut EARLY_ENV: [u8; 65536] = [0; 65536];
static EARLY_ENV_LEN: AtomicU32 = AtomicU32::new(u32::MAX);

fn early_environ() -> &'static [u8] {
    if EARLY_ENV_LEN.load(Ordering::Acquire) == u32::MAX {
        let mut len = 0usize;
        // SAFETY: read into a static buffer, single-threaded start-up.
        unsafe {
            let buf = &mut *core::ptr::addr_of_mut!(EARLY_ENV);
            let fd = libc::open(
                c"/proc/self/environ".as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            if fd >= 0 {
                loop {
                    let n = libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len);
                    if n <= 0 {
                        break;
                    }
                    len += n as usize;
                }
                sys_close(fd);
            }
        }
        EARLY_ENV_LEN.store(len as u32, Ordering::Release);
    }
    let len = EARLY_ENV_LEN.load(Ordering::Acquire) as usize;
    // SAFETY: written once above, read-only since.
    unsafe { &(&*core::ptr::addr_of!(EARLY_ENV))[..len] }
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    if s.is_empty() {
        return None;
    }
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// Starts tracing if this process is to be traced and has not decided yet.
/// Called by the hooks (the first allocation) and by the constructor.
/// Returns whether tracing runs.
#[cold]
#[inline(never)]
pub fn lazy_start() -> bool {
    match STATE.load(Ordering::Acquire) {
        RUNNING => return true,
        DONE => return false,
        _ => {}
    }
    if crate::hooks::guarded() || !crate::next::resolved() {
        return false;
    }
    if STATE
        .compare_exchange(UNDECIDED, STARTING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        while STATE.load(Ordering::Acquire) == STARTING {
            // SAFETY: plain syscall.
            unsafe { libc::sched_yield() };
        }
        return running();
    }
    let was = crate::hooks::set_guard(true);
    // SAFETY: single caller (STARTING), guard held.
    let ok = unsafe { start_from_env() };
    STATE.store(if ok { RUNNING } else { DONE }, Ordering::Release);
    if ok && CONSTRUCTED.load(Ordering::Acquire) {
        after_libc_init();
    }
    crate::hooks::set_guard(was);
    ok
}

/// Sleeps about `ns` nanoseconds without `nanosleep`: that system call
/// resets the calling thread's restart block, and this code also runs on a
/// stopped program's thread (`trace --pid`) between an interrupted
/// `nanosleep`, `poll` or `clock_nanosleep` and its restart, which then
/// failed with EINTR. A futex wait on a word nobody wakes touches nothing.
pub fn pause_ns(ns: i64) {
    static NEVER_WOKEN: AtomicU32 = AtomicU32::new(0);
    let ts = libc::timespec {
        tv_sec: ns / 1_000_000_000,
        tv_nsec: ns % 1_000_000_000,
    };
    // SAFETY: a futex wait on a static word with a valid relative timeout.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            NEVER_WOKEN.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            0u32,
            &ts as *const libc::timespec,
        )
    };
}

/// Reads the settings, creates the file and the first ring.
unsafe fn start_from_env() -> bool {
    let Some(path) = getenv(c"LEAKWATCH_TRACE_FILE") else {
        return false;
    };
    if path.is_empty() || path.len() >= 4000 {
        return false;
    }
    // SAFETY: single-threaded start-up (STARTING).
    unsafe {
        (&mut *core::ptr::addr_of_mut!(PATH))[..path.len()].copy_from_slice(path);
        PATH_LEN = path.len();
    }
    if let Some(v) = getenv(c"LEAKWATCH_NODE_ID_LIMIT")
        .and_then(parse_u64)
        .filter(|&v| (64..=1 << 30).contains(&v))
    {
        NODE_ID_LIMIT.store(v as u32, Ordering::Relaxed);
    }
    if let Some(v) = getenv(c"LEAKWATCH_SAMPLE_EVERY").and_then(parse_u64) {
        SAMPLE_EVERY.store(v, Ordering::Relaxed);
    }
    if let Some(v) = getenv(c"LEAKWATCH_CPU_CLOCK_SKEW_NS")
        .and_then(parse_u64)
        .filter(|&v| v <= 1_000_000_000)
    {
        CPU_CLOCK_SKEW_NS.store(v, Ordering::Relaxed);
    }
    let follow = getenv(c"LEAKWATCH_FOLLOW_FORK") == Some(b"1");
    if getenv(c"LEAKWATCH_UNWINDER") == Some(b"libgcc") {
        crate::unwind::FORCE_LIBGCC.store(true, Ordering::Relaxed);
    }
    FOLLOW_FORK.store(follow, Ordering::Relaxed);
    if let Some(why) = crate::interposers::refuse() {
        log(why);
        return false;
    }
    // The first process claims the file; exec'd descendants either get
    // their own file (--follow-fork) or stay untraced.
    let mut fd = create_trace(false);
    // SAFETY: errno is thread-local.
    if fd < 0 && unsafe { *libc::__errno_location() } == libc::EEXIST {
        if let Some(own) = written_by_this_pid(false) {
            // The traced process exec'd a new image (a wrapper script, a
            // shim): the new program takes the trace over.
            fd = own;
        } else if follow {
            // A followed child that forked (and wrote its own file) and
            // now execs (`bash -c 'prog; ...'`): the new image takes its
            // file over, as above.
            fd = match written_by_this_pid(true) {
                Some(own) => own,
                None => create_trace(true),
            };
        } else {
            UNTRACED_DESCENDANT.store(true, Ordering::Relaxed);
            // SAFETY: errno is thread-local.
            unsafe { *libc::__errno_location() = libc::EEXIST };
        }
    }
    if fd < 0 {
        // SAFETY: errno is thread-local.
        let mut errno = unsafe { *libc::__errno_location() };
        if errno == libc::EEXIST && is_symlink(false) {
            errno = libc::ELOOP;
        }
        if errno == libc::ELOOP {
            log(b"the trace file path (LEAKWATCH_TRACE_FILE) is a symbolic link: refused; running untraced");
        } else if errno != libc::EEXIST {
            log(b"cannot create the trace file (LEAKWATCH_TRACE_FILE); running untraced");
        }
        return false;
    }
    let (lo, hi) = crate::modules::range_of(lazy_start as *const () as usize);
    crate::unwind::SELF_START.store(lo, Ordering::Relaxed);
    crate::unwind::SELF_END.store(hi, Ordering::Relaxed);
    START_NS.store(now_ns(), Ordering::Relaxed);
    // SAFETY: single-threaded start-up.
    unsafe { start_tracing(fd) }
}

/// Writes the header, creates the interpreter (buffers and compressor
/// allocated and warmed up now, so a program that later runs out of memory
/// is still traced) and records the module map into the caller's ring.
unsafe fn start_tracing(fd: c_int) -> bool {
    let fd = adopt_fd(fd);
    // SAFETY: plain syscall.
    TRACED_PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    FD.store(fd, Ordering::Relaxed);
    if !write_header(fd) {
        log(b"cannot write the trace header");
        return false;
    }
    // SAFETY: single-threaded start-up or fork child, nobody drains yet.
    let cell = unsafe { &mut *INTERP.0.get() };
    *cell = Interp::new();
    if cell.is_none() {
        log(b"cannot allocate the trace buffers; running untraced");
        return false;
    }
    let r = crate::hooks::current_ring();
    if r.is_null() {
        return false;
    }
    // SAFETY: the calling thread's own ring.
    unsafe { crate::modules::rescan(r, stamp()) };
    true
}

/// What needs the C library initialised: fork and quick_exit handlers,
/// the writer thread, the program's embedded LSan suppressions.
fn after_libc_init() {
    if WRITER_STARTED.load(Ordering::Acquire) || !running() {
        return;
    }
    extern "C" {
        fn at_quick_exit(f: extern "C" fn()) -> c_int;
    }
    // Once per process (a detached tracer may be attached again).
    static HANDLERS: AtomicBool = AtomicBool::new(false);
    if !HANDLERS.swap(true, Ordering::AcqRel) {
        // SAFETY: registering handlers with static functions.
        unsafe {
            libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
            at_quick_exit(quick_exit_flush);
        }
    }
    record_lsan_suppressions();
    MEMBARRIER_REGISTERED.store(
        membarrier(MEMBARRIER_REGISTER_PRIVATE_EXPEDITED) == 0,
        Ordering::Relaxed,
    );
    crate::python::detect();
    if !spawn_writer() {
        log(b"cannot start the writer thread; tracing stops");
        STATE.store(DONE, Ordering::Release);
    }
}

/// Starts tracing in a running process the library was just loaded into
/// (`leakwatch trace --pid`), writing to `path`. Returns 0, or 1 when
/// tracing already runs, 2 when the file cannot be created, 3 when the
/// tracer cannot start (memory, writer thread), 5 when the executable's
/// PLT entries are the allocator (see `next::resolve_default`). The caller
/// holds the guard.
pub fn start_attached(path: &[u8]) -> c_int {
    if path.is_empty() || path.len() >= 4000 {
        return 2;
    }
    let from = STATE.load(Ordering::Acquire);
    if from == RUNNING
        || from == STARTING
        || STATE
            .compare_exchange(from, STARTING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return 1;
    }
    // SAFETY: single starter (STARTING), no hook records meanwhile (the
    // program's references do not point at the hooks yet).
    unsafe {
        (&mut *core::ptr::addr_of_mut!(PATH))[..path.len()].copy_from_slice(path);
        PATH_LEN = path.len();
    }
    // The program's own definitions (this library is loaded locally: the
    // global scope is the program's).
    if !crate::next::resolve_default() {
        STATE.store(DONE, Ordering::Release);
        return 5;
    }
    FOLLOW_FORK.store(false, Ordering::Relaxed);
    // The cut that ended an earlier session (detach) does not end this one,
    // and its clock starts now (before the rings announce their threads).
    CUT.store(false, Ordering::SeqCst);
    START_NS.store(now_ns(), Ordering::Relaxed);
    // Rings of an earlier session start over with the new file.
    for i in 0..ring::count() {
        // SAFETY: rings are never unmapped; their threads do not record
        // while tracing is off.
        if let Some(r) = unsafe { ring::get(i).as_mut() } {
            let state = r.state.load(Ordering::Acquire);
            let tid = r.tid.load(Ordering::Relaxed);
            r.reset(state, tid);
            if state == ring::USED {
                // The new file has not met this ring's thread: announce it
                // again, or the reader drops what the thread records (a
                // second attach to the same process saw nothing). Nobody
                // produces meanwhile (see above).
                // SAFETY: reset above; no other producer now.
                unsafe { crate::hooks::emit_thread(r) };
            }
        }
    }
    let fd = create_trace(false);
    if fd < 0 {
        STATE.store(DONE, Ordering::Release);
        return 2;
    }
    let (lo, hi) = crate::modules::range_of(lazy_start as *const () as usize);
    crate::unwind::SELF_START.store(lo, Ordering::Relaxed);
    crate::unwind::SELF_END.store(hi, Ordering::Relaxed);
    crate::modules::lock();
    crate::modules::clear();
    crate::modules::unlock();
    // SAFETY: single starter (STARTING).
    if !unsafe { start_tracing(fd) } {
        STATE.store(DONE, Ordering::Release);
        // start_tracing moved the descriptor: the number to close is FD's.
        let fd = FD.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            sys_close(fd);
        }
        return 3;
    }
    attach_record(crate::ATTACH_START);
    STATE.store(RUNNING, Ordering::Release);
    WRITER_STARTED.store(false, Ordering::Release);
    after_libc_init();
    if !running() {
        return 3;
    }
    0
}

/// Marks attaching (1) or detaching (2) in the calling thread's ring.
fn attach_record(kind: u64) {
    let r = crate::hooks::current_ring();
    if r.is_null() {
        return;
    }
    // SAFETY: the calling thread's own ring.
    let r = unsafe { &mut *r };
    let d = r.stamp_delta(stamp());
    let mut rec = Rec::<40>::new(crate::REC_ATTACH);
    rec.stamp(d);
    rec.u(kind);
    r.push(rec.as_slice());
}

/// Ends an attached session (the hooks are already out of the program's
/// way): the DETACH record and everything pending written, the writer
/// thread gone, the file closed, the buffers released.
pub fn detach_flush() {
    if !running() {
        return;
    }
    attach_record(crate::ATTACH_DETACH);
    finish(true);
    wake();
    for _ in 0..400 {
        if !WRITER_STARTED.load(Ordering::Acquire) || WRITER_EXITED.load(Ordering::Acquire) {
            break;
        }
        wake();
        pause_ns(5_000_000);
    }
    WRITER_STARTED.store(false, Ordering::Release);
    lock_drain();
    // SAFETY: DRAIN_LOCK held; nobody else uses the interpreter now.
    unsafe { *INTERP.0.get() = None };
    let fd = FD.swap(-1, Ordering::AcqRel);
    if fd >= 0 {
        sys_close(fd);
    }
    for i in 0..ring::count() {
        // SAFETY: rings are never unmapped.
        if let Some(r) = unsafe { ring::get(i).as_ref() } {
            r.release_pages();
        }
    }
    unlock_drain();
}

extern "C" fn init() {
    crate::next::resolve();
    CONSTRUCTED.store(true, Ordering::Release);
    if STATE.load(Ordering::Acquire) == UNDECIDED && !in_global_scope() {
        // Loaded by `dlopen` into a running process (`trace --pid`), not
        // preloaded: the environment may name a trace another copy is
        // writing, and the environment of a running program is not ours to
        // change. Tracing starts only through `leakwatch_attach`.
        let _ = STATE.compare_exchange(UNDECIDED, DONE, Ordering::AcqRel, Ordering::Acquire);
        return;
    }
    if lazy_start() {
        let was = crate::hooks::set_guard(true);
        after_libc_init();
        crate::hooks::set_guard(was);
    } else if UNTRACED_DESCENDANT.load(Ordering::Relaxed) {
        let was = crate::hooks::set_guard(true);
        // SAFETY: a constructor of a freshly exec'd image: before main,
        // one thread.
        unsafe { restore_environment() };
        crate::hooks::set_guard(was);
    }
}

/// Whether this copy of the library was preloaded (the name the loader
/// opened it by is an entry of `LD_PRELOAD`), rather than loaded by
/// `dlopen` into a running process. Reads only: no allocation, no lock.
fn in_global_scope() -> bool {
    let Some(own) = own_loaded_name() else {
        return false;
    };
    let Some(list) = getenv(c"LD_PRELOAD") else {
        return false;
    };
    // The loader separates entries with colons or spaces; a bare name is
    // searched for, and the loader names the copy by the path it found.
    let base = own.rsplit(|b| *b == b'/').next().unwrap_or(own);
    !own.is_empty()
        && list
            .split(|b| *b == b':' || *b == b' ')
            .any(|e| e == own || (!e.contains(&b'/') && e == base))
}

/// Set when this image is a descendant of the traced process that is not
/// traced (exec'd by a child, without --follow-fork).
static UNTRACED_DESCENDANT: AtomicBool = AtomicBool::new(false);

/// Gives an untraced descendant the environment it would have had without
/// the tracer, before its `main` reads it: no `LEAKWATCH_*` settings, the
/// user's own `LD_PRELOAD` (or none), and no `PYTHONMALLOC=malloc` unless
/// the user set it. So a CPython child keeps pymalloc, and its own children
/// do not even load the tracer. Runs in the constructor, with one thread:
/// `unsetenv` only moves pointers, and `LD_PRELOAD` is shortened in place,
/// so nothing is allocated. The tracer itself stays loaded in this image
/// (the loader put it there), idle: each call goes straight through.
unsafe fn restore_environment() {
    if getenv(c"LEAKWATCH_PYTHONMALLOC_ADDED") == Some(b"1") {
        // SAFETY: one thread (see above).
        unsafe { libc::unsetenv(c"PYTHONMALLOC".as_ptr()) };
    }
    for name in [
        c"LEAKWATCH_TRACE_FILE",
        c"LEAKWATCH_FOLLOW_FORK",
        c"LEAKWATCH_SAMPLE_EVERY",
        c"LEAKWATCH_PY_NATIVE",
        c"LEAKWATCH_PYTHONMALLOC_ADDED",
    ] {
        // SAFETY: as above.
        unsafe { libc::unsetenv(name.as_ptr()) };
    }
    // SAFETY: as above.
    unsafe { remove_own_preload() };
}

/// The name the loader opened this library by (`dladdr` of our own code:
/// no allocation, no lock).
fn own_loaded_name() -> Option<&'static [u8]> {
    // SAFETY: zeroed Dl_info is a valid out buffer; dladdr of our own code.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    if unsafe { libc::dladdr(init as *const c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated, owned by the loader for as long as we are loaded.
    Some(unsafe { core::ffi::CStr::from_ptr(info.dli_fname) }.to_bytes())
}

/// Removes this library from the front of `LD_PRELOAD`, where `leakwatch
/// trace` put it, keeping whatever the user had after it.
unsafe fn remove_own_preload() {
    extern "C" {
        static mut environ: *mut *mut libc::c_char;
    }
    // The name the loader opened this library by: the LD_PRELOAD entry.
    let Some(own) = own_loaded_name() else {
        return;
    };
    // SAFETY: reading the environment's pointer array, one thread.
    let mut entry = unsafe { environ };
    if entry.is_null() || own.is_empty() {
        return;
    }
    loop {
        // SAFETY: the array ends with a null pointer.
        let p = unsafe { *entry };
        if p.is_null() {
            return;
        }
        // SAFETY: each entry is a NUL-terminated string.
        let kv = unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes();
        if let Some(value) = kv.strip_prefix(b"LD_PRELOAD=") {
            let Some(rest) = value.strip_prefix(own) else {
                return;
            };
            // The loader separates entries with colons or spaces.
            let rest = match rest.first() {
                None => &rest[..0],
                Some(b':' | b' ') => &rest[1..],
                Some(_) => return, // a longer name that begins with ours
            };
            if rest.is_empty() {
                // SAFETY: one thread.
                unsafe { libc::unsetenv(c"LD_PRELOAD".as_ptr()) };
                return;
            }
            let at = b"LD_PRELOAD=".len();
            let (from, len) = (rest.as_ptr(), rest.len());
            // SAFETY: shortening the string in place: the source lies
            // within it, after the destination; `copy` handles the overlap.
            unsafe {
                let dst = p.cast::<u8>().add(at);
                core::ptr::copy(from, dst, len);
                *dst.add(len) = 0;
            }
            return;
        }
        // SAFETY: not past the terminating null (checked above).
        entry = unsafe { entry.add(1) };
    }
}

extern "C" fn fini() {
    final_flush(true);
}

extern "C" fn quick_exit_flush() {
    final_flush(false);
}

/// The text of the program's `__lsan_default_suppressions()`, if it
/// defines one, recorded so the report honours it as LeakSanitizer would.
fn record_lsan_suppressions() {
    let Some(f) = crate::elf::find_program_function(c"__lsan_default_suppressions") else {
        return;
    };
    // SAFETY: the program's own function, `const char *(void)` by contract.
    let text = unsafe {
        let f: extern "C" fn() -> *const libc::c_char = core::mem::transmute(f);
        let p = f();
        if p.is_null() {
            return;
        }
        core::ffi::CStr::from_ptr(p).to_bytes()
    };
    let text = &text[..text.len().min(60_000)];
    let r = crate::hooks::current_ring();
    if r.is_null() {
        return;
    }
    // SAFETY: the calling thread's own ring.
    let r = unsafe { &mut *r };
    let mut rec: Vec<u8> = Vec::new();
    if rec.try_reserve(text.len() + 32).is_err() {
        return;
    }
    let d = r.stamp_delta(stamp());
    rec.push(REC_LSANSUPP);
    put_varint(&mut rec, d.first());
    if d.dseq != 0 {
        put_varint(&mut rec, d.dseq);
    }
    put_varint(&mut rec, text.len() as u64);
    rec.extend_from_slice(text);
    r.push(&rec);
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Marks a phase of the process's end in the calling thread's ring.
pub fn phase(kind: u64) {
    if !running() || crate::hooks::guarded() {
        return;
    }
    let was = crate::hooks::set_guard(true);
    let r = crate::hooks::current_ring();
    if !r.is_null() {
        // SAFETY: the calling thread's own ring.
        let r = unsafe { &mut *r };
        let d = r.stamp_delta(stamp());
        let mut rec = Rec::<40>::new(REC_PHASE);
        rec.stamp(d);
        rec.u(kind);
        r.push(rec.as_slice());
    }
    crate::hooks::set_guard(was);
}

// ---------------------------------------------------------------------------
// The end.

/// Writes the END record and everything pending, then stops tracing. With
/// `freeres`, first releases the C and C++ runtimes' caches.
pub fn final_flush(freeres: bool) {
    if !running() {
        return;
    }
    crate::hooks::set_guard(true);
    if getenv(c"LEAKWATCH_STATS") == Some(b"1") {
        log_stats();
    }
    let alone = freeres && only_thread_left();
    // Free what the C and C++ runtimes keep until exit, as valgrind does, so
    // only the program's own leaks remain. LEAKWATCH_NO_FREERES=1 skips it,
    // and so does any other thread still running (it may use those caches).
    // Looked up with the guard held: dlsym's own allocations are ours.
    let (cxx, c) = if alone && getenv(c"LEAKWATCH_NO_FREERES").is_none() {
        // SAFETY: dlsym with NUL-terminated names.
        unsafe {
            (
                libc::dlsym(libc::RTLD_DEFAULT, c"_ZN9__gnu_cxx9__freeresEv".as_ptr()),
                libc::dlsym(libc::RTLD_DEFAULT, c"__libc_freeres".as_ptr()),
            )
        }
    } else {
        (null_mut(), null_mut())
    };
    crate::hooks::set_guard(false);
    // SAFETY: the freeres functions are meant to be called at exit.
    unsafe {
        for f in [cxx, c] {
            if !f.is_null() {
                let f: extern "C" fn() = core::mem::transmute(f);
                f();
            }
        }
    }
    crate::hooks::set_guard(true);
    let r = crate::hooks::current_ring();
    if !r.is_null() {
        // SAFETY: the calling thread's own ring.
        let r = unsafe { &mut *r };
        let d = r.stamp_delta(stamp());
        let mut rec = Rec::<24>::new(REC_END);
        rec.stamp(d);
        r.push(rec.as_slice());
    }
    finish(true);
}

/// Writes everything pending and stops tracing: the last drain. Then, as
/// other threads may still have been recording while it ran, says how many
/// of their records came too late to be written (LOST, reason 3).
fn finish(wait_for_lock: bool) {
    if running() {
        end_recording();
    }
    if wait_for_lock {
        lock_drain();
    } else if !try_lock_drain(200) {
        STATE.store(DONE, Ordering::Release);
        return;
    }
    if running() {
        drain_all(false, true);
        if getenv(c"LEAKWATCH_STATS") == Some(b"1") {
            // SAFETY: DRAIN_LOCK held.
            if let Some(interp) = unsafe { (*INTERP.0.get()).as_ref() } {
                log(interp.stats().as_bytes());
            }
        }
        let seen = pending_records();
        STATE.store(DONE, Ordering::Release);
        // Let records being pushed right now land, then count them.
        for _ in 0..3 {
            // SAFETY: plain syscall.
            unsafe { libc::sched_yield() };
        }
        let late = pending_records().saturating_sub(seen);
        if late > 0 {
            // SAFETY: DRAIN_LOCK held.
            if let Some(interp) = unsafe { (*INTERP.0.get()).as_mut() } {
                interp.write_lost(LOST_AT_EXIT, late);
            }
        }
    }
    STATE.store(DONE, Ordering::Release);
    unlock_drain();
    wake();
}

/// Ends recording cleanly while other threads may still allocate: sets
/// the cut (hooks record nothing new), makes it visible to every thread
/// (membarrier: the hooks' side of the handshake has no fence of its own),
/// then waits, at most about half a second (a thread preempted inside a
/// hook on a loaded machine), for the hooks already recording to
/// publish their records. The last drain then writes every event whose hook
/// began before the cut, and nothing after it: the trace is whole, the
/// state at the cut. A hook still busy after the wait (a thread stopped
/// mid-hook) shows up as records pushed too late (LOST, reason 3).
fn end_recording() {
    CUT.store(true, Ordering::SeqCst);
    if !MEMBARRIER_REGISTERED.load(Ordering::Relaxed)
        || membarrier(MEMBARRIER_PRIVATE_EXPEDITED) != 0
    {
        // No expedited barrier (old kernel, seccomp): the global one, else
        // a few yields (stores reach other cores within microseconds; the
        // late-records count stays as the safety net).
        if membarrier(MEMBARRIER_GLOBAL) != 0 {
            for _ in 0..3 {
                // SAFETY: plain syscall.
                unsafe { libc::sched_yield() };
            }
        }
    }
    let own = crate::hooks::current_ring_ptr();
    for _ in 0..10_000 {
        let busy = (0..ring::count()).any(|i| {
            let r = ring::get(i);
            // SAFETY: rings are never unmapped.
            r != own && unsafe { r.as_ref() }.is_some_and(|r| r.busy.load(Ordering::Acquire))
        });
        if !busy {
            return;
        }
        pause_ns(50_000);
    }
}

const MEMBARRIER_GLOBAL: c_int = 1;
const MEMBARRIER_PRIVATE_EXPEDITED: c_int = 1 << 3;
const MEMBARRIER_REGISTER_PRIVATE_EXPEDITED: c_int = 1 << 4;
/// Whether this process registered for expedited barriers (at start-up:
/// the kernel requires it before the first use).
static MEMBARRIER_REGISTERED: AtomicBool = AtomicBool::new(false);

fn membarrier(cmd: c_int) -> i64 {
    // SAFETY: plain syscall, no pointers.
    unsafe { libc::syscall(libc::SYS_membarrier, cmd, 0, 0) }
}

/// Bytes waiting in all rings (a proxy for records, used only to tell
/// whether any came too late).
fn pending_records() -> u64 {
    (0..ring::count())
        .filter_map(|i| {
            // SAFETY: rings are never unmapped.
            unsafe { ring::get(i).as_ref() }
        })
        .map(Ring::pending)
        .sum()
}

/// The program aborts: everything recorded so far is written (no END: the
/// process did not exit normally).
pub fn abort_flush() {
    if !running() || crate::hooks::guarded() {
        return;
    }
    crate::hooks::set_guard(true);
    finish(false);
}

/// Prints how many frames the incremental unwinder reused and how many it
/// unwound (a debugging aid, and how the tests see that it is exercised).
fn log_stats() {
    let (mut hits, mut misses, mut stacks) = (0u64, 0u64, 0u64);
    for slot in 0..ring::count() {
        let r = ring::get(slot);
        // SAFETY: rings are never unmapped; memo totals are plain counters,
        // read racily only for this report.
        if let Some(r) = unsafe { r.as_ref() } {
            stacks += r.stacks_written();
            // SAFETY: as above.
            if let Some(memo) = unsafe { r.memo.as_ref() } {
                hits += memo.total_hits;
                misses += memo.total_misses;
            }
        }
    }
    // The exiting thread's CPU time (tracer included) and the writer's: for
    // A/B runs, figures the threads' share of the machine does not move.
    let mut buf = [0u8; 192];
    let mut len = 0;
    for (text, n) in [
        (&b"frames: "[..], Some(hits)),
        (b" reused, ", Some(misses)),
        (b" unwound, ", Some(stacks)),
        (
            b" stacks written; exiting thread's CPU ",
            Some(thread_cpu_us()),
        ),
        (
            b" us, writer's ",
            Some(WRITER_CPU_US.load(Ordering::Relaxed)),
        ),
        (b" us", None),
    ] {
        buf[len..len + text.len()].copy_from_slice(text);
        len += text.len();
        if let Some(n) = n {
            len += write_decimal(&mut buf[len..], n);
        }
    }
    log(&buf[..len]);
}

/// Writes `n` in decimal at the start of `out`; returns the length.
pub(crate) fn write_decimal(out: &mut [u8], mut n: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut k = 0;
    loop {
        digits[k] = b'0' + (n % 10) as u8;
        k += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..k {
        out[i] = digits[k - 1 - i];
    }
    k
}

/// True when no thread but the caller and the writer is alive.
fn only_thread_left() -> bool {
    // A thread that `pthread_join` has returned for is still listed while
    // the kernel finishes its exit (under load, for milliseconds): not
    // counted once dead or a zombie, and waited for a little while.
    for _ in 0..40 {
        match live_tasks() {
            Some(n) if n <= 1 + WRITER_STARTED.load(Ordering::Relaxed) as usize => return true,
            Some(_) => {
                pause_ns(2_500_000);
            }
            None => return false,
        }
    }
    false
}

/// Tasks of this process neither dead nor zombies, from /proc/self/task.
fn live_tasks() -> Option<usize> {
    // SAFETY: plain directory listing and reads; their allocations go to
    // the allocator untraced (the caller holds the guard).
    unsafe {
        let dir = libc::opendir(c"/proc/self/task".as_ptr());
        if dir.is_null() {
            return None;
        }
        let mut tasks = 0;
        loop {
            let e = libc::readdir(dir);
            if e.is_null() {
                break;
            }
            let name = core::ffi::CStr::from_ptr((*e).d_name.as_ptr()).to_bytes();
            if name.first() == Some(&b'.') {
                continue;
            }
            if !task_is_dead(name) {
                tasks += 1;
            }
        }
        libc::closedir(dir);
        Some(tasks)
    }
}

/// Whether task `tid` (its /proc name) is a zombie or dead (state Z, X).
fn task_is_dead(tid: &[u8]) -> bool {
    let mut path = [0u8; 64];
    let prefix = b"/proc/self/task/";
    let suffix = b"/stat\0";
    if prefix.len() + tid.len() + suffix.len() > path.len() {
        return false;
    }
    path[..prefix.len()].copy_from_slice(prefix);
    path[prefix.len()..prefix.len() + tid.len()].copy_from_slice(tid);
    path[prefix.len() + tid.len()..prefix.len() + tid.len() + suffix.len()].copy_from_slice(suffix);
    let mut buf = [0u8; 512];
    // SAFETY: NUL-terminated path; reads into a stack buffer.
    let n = unsafe {
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            // Gone since the listing.
            return true;
        }
        let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
        libc::close(fd);
        n
    };
    if n <= 0 {
        return true;
    }
    // "tid (comm) S ...": the state follows the last ')'.
    let text = &buf[..n as usize];
    match text.iter().rposition(|&b| b == b')') {
        Some(i) => matches!(text.get(i + 2), Some(b'Z') | Some(b'X') | Some(b'x')),
        None => false,
    }
}

// ---------------------------------------------------------------------------
// fork.

extern "C" fn fork_prepare() {
    if running() {
        crate::modules::lock();
        lock_drain();
    }
}

extern "C" fn fork_parent() {
    if running() {
        unlock_drain();
        crate::modules::unlock();
    }
}

extern "C" fn fork_child() {
    if !running() {
        return;
    }
    unlock_drain();
    crate::modules::unlock();
    // A parent thread may have held it at fork: it is not in the child.
    FD_LOCK.store(false, Ordering::Release);
    // The parent's descriptor, inherited: not ours to write in the child.
    let old = FD.swap(-1, Ordering::Relaxed);
    if is_trace(old) {
        sys_close(old);
    }
    // The writer thread did not survive the fork.
    WRITER_STARTED.store(false, Ordering::Release);
    if !FOLLOW_FORK.load(Ordering::Relaxed) {
        STATE.store(DONE, Ordering::Release);
        return;
    }
    let was = crate::hooks::set_guard(true);
    // Only this thread survives the fork: every other ring is free again and
    // this thread's ring starts empty in the child's own file.
    let me = crate::hooks::current_ring_ptr();
    let tid = gettid();
    for slot in 0..ring::count() {
        let r = ring::get(slot);
        if !r.is_null() {
            // SAFETY: single-threaded here; rings are never unmapped.
            let r = unsafe { &mut *r };
            let state = if core::ptr::eq(r, me) {
                ring::USED
            } else {
                ring::FREE
            };
            r.reset(state, tid);
        }
    }
    crate::modules::clear();
    // The child's file starts from nothing: no live blocks, stacks,
    // classes, nor zstd history.
    // SAFETY: single-threaded child; the parent held DRAIN_LOCK at fork.
    unsafe { *INTERP.0.get() = None };
    let fd = create_trace(true);
    if fd < 0 {
        log(b"cannot create the child's trace file; the child runs untraced");
        STATE.store(DONE, Ordering::Release);
    } else {
        if !me.is_null() {
            // SAFETY: this thread's ring, reset above.
            unsafe { crate::hooks::emit_thread(&mut *me) };
        }
        // SAFETY: single-threaded child.
        let ok = unsafe { start_tracing(fd) };
        STATE.store(if ok { RUNNING } else { DONE }, Ordering::Release);
        if ok && !spawn_writer() {
            log(b"cannot start the child's writer thread; the child runs untraced");
            STATE.store(DONE, Ordering::Release);
        }
    }
    crate::hooks::set_guard(was);
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

/// Claims a ring for a new thread and announces the thread in it. Null
/// (and the thread's events counted as lost) when memory is exhausted.
pub fn new_thread_ring() -> *mut Ring {
    let tid = gettid();
    // SAFETY: registry access is lock-free and safe from any thread.
    let r = unsafe { ring::claim(tid) };
    if !r.is_null() {
        // SAFETY: freshly claimed by this thread; allocations here go to
        // the allocator untraced (the caller holds the guard), and may fail.
        unsafe {
            // Learnt at the first capture, where it is known to be safe.
            (*r).stack = (0, 0);
            (*r).stack_known = false;
            if (*r).unwind_cache.is_null() {
                let layout = std::alloc::Layout::new::<crate::unwind::Cache>();
                let p = std::alloc::alloc(layout).cast::<crate::unwind::Cache>();
                if !p.is_null() {
                    p.write(crate::unwind::Cache::default());
                    (*r).unwind_cache = p;
                }
            }
            if (*r).memo.is_null() {
                // Zeroed is empty; allocated in place (it is tens of KiB, too
                // big for a small thread stack).
                let layout = std::alloc::Layout::new::<crate::memo::Memo>();
                (*r).memo = std::alloc::alloc_zeroed(layout).cast();
            }
        }
        // SAFETY: freshly claimed by this thread.
        unsafe { crate::hooks::emit_thread(&mut *r) };
    }
    r
}
