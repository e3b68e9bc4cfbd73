//! Start-up, the background writer thread, fork handling and the final flush.

use core::ffi::{c_char, c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering};

use crate::interpret::{Fail, Interp};
use crate::ring::{self, Rec, Ring};
use crate::{log, now_ns, MAGIC, REC_END, VERSION};

const OFF: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(OFF);
static FD: AtomicI32 = AtomicI32::new(-1);
pub static START_NS: AtomicU64 = AtomicU64::new(0);
pub static SAMPLE_EVERY: AtomicU64 = AtomicU64::new(0);
static FOLLOW_FORK: AtomicBool = AtomicBool::new(false);
/// Futex word the writer sleeps on; producers bump it to wake the writer.
static WAKE: AtomicU32 = AtomicU32::new(0);
static WRITER_SLEEPING: AtomicBool = AtomicBool::new(false);
/// Held while rings are drained, so the final flush and a fork never see a
/// half-written chunk or a half-updated interpreter.
static DRAIN_LOCK: AtomicBool = AtomicBool::new(false);
/// Flush period of the writer thread.
const PERIOD_NS: i64 = 20_000_000;

static mut PATH: [u8; 4096] = [0; 4096];
static mut PATH_LEN: usize = 0;

pub type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;
pub type DlcloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;
pub static REAL_DLOPEN: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
pub static REAL_DLCLOSE: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

#[inline]
pub fn running() -> bool {
    STATE.load(Ordering::Relaxed) == RUNNING
}

/// Nanoseconds since the trace started.
#[inline]
pub fn trace_ns() -> u64 {
    now_ns().saturating_sub(START_NS.load(Ordering::Relaxed))
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

/// The interpreter (see interpret.rs). Created by whoever drains first
/// (with the hook guard held, so its memory is untraced) and kept; only
/// touched under DRAIN_LOCK, or single-threaded in a forked child.
struct InterpCell(core::cell::UnsafeCell<Option<Interp>>);
// SAFETY: only accessed with DRAIN_LOCK held (or single-threaded).
unsafe impl Sync for InterpCell {}

static INTERP: InterpCell = InterpCell(core::cell::UnsafeCell::new(None));

/// Processes and writes what the rings hold. Caller holds DRAIN_LOCK and
/// the hook guard. `last`: the final flush. Rings whose thread has exited
/// are freed once processed when `reap` is set.
fn drain_all(reap: bool, last: bool) {
    let fd = FD.load(Ordering::Relaxed);
    // SAFETY: the caller holds DRAIN_LOCK, the only way to reach it.
    let cell = unsafe { &mut *INTERP.0.get() };
    if cell.is_none() {
        *cell = Interp::new();
    }
    let res = match cell.as_mut() {
        Some(interp) => interp.drain(fd, last, reap),
        None => Err(Fail::Compress),
    };
    if let Err(e) = res {
        log(match e {
            Fail::Write => b"cannot write the trace file; tracing stops",
            Fail::Compress => b"cannot compress the trace; tracing stops",
            Fail::Corrupt => b"internal error: undecodable ring record; tracing stops",
        });
        STATE.store(DONE, Ordering::Relaxed);
    }
}

extern "C" fn writer_main(_: *mut c_void) -> *mut c_void {
    crate::hooks::set_guard(true);
    let mut last_reap = 0u64;
    while running() {
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
        if !running() {
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
    }
    null_mut()
}

fn spawn_writer() -> bool {
    let mut tid: libc::pthread_t = 0;
    // SAFETY: the thread function has the right signature and takes no data.
    let rc = unsafe { libc::pthread_create(&mut tid, core::ptr::null(), writer_main, null_mut()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: detaching a thread we created.
    unsafe { libc::pthread_detach(tid) };
    true
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

unsafe fn getenv(name: &core::ffi::CStr) -> Option<&'static [u8]> {
    // SAFETY: getenv returns a pointer into the environment or null.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: NUL-terminated by contract.
        Some(unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes())
    }
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

/// Opens `PATH` (or `PATH.<pid>` when `suffix_pid`). Returns the fd or -1.
unsafe fn open_trace(suffix_pid: bool, exclusive: bool) -> c_int {
    let mut buf = [0u8; 4200];
    // SAFETY: PATH is written only during init/fork-child, single-threaded.
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
    let flags = libc::O_WRONLY
        | libc::O_CREAT
        | libc::O_CLOEXEC
        | if exclusive {
            libc::O_EXCL
        } else {
            libc::O_TRUNC
        };
    // SAFETY: NUL-terminated path.
    unsafe { libc::open(buf.as_ptr().cast(), flags, 0o644) }
}

/// Whether the existing trace file's header names this process (which then
/// exec'd the image now starting).
unsafe fn written_by_this_pid() -> bool {
    let mut buf = [0u8; 4200];
    // SAFETY: PATH is only written during init, single-threaded.
    let path = unsafe { &(&*core::ptr::addr_of!(PATH))[..PATH_LEN] };
    buf[..path.len()].copy_from_slice(path);
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(buf.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut h = [0u8; 16];
    // SAFETY: valid buffer.
    let n = unsafe { libc::read(fd, h.as_mut_ptr().cast(), h.len()) };
    // SAFETY: our own descriptor.
    unsafe { libc::close(fd) };
    // SAFETY: plain syscall.
    let pid = unsafe { libc::getpid() } as u32;
    n == 16 && &h[..8] == MAGIC && h[12..16] == pid.to_le_bytes()
}

/// Emits the THREAD record and the module map into the caller's ring, and
/// starts the writer.
unsafe fn start_tracing(fd: c_int) -> bool {
    FD.store(fd, Ordering::Relaxed);
    if !write_header(fd) {
        log(b"cannot write the trace header");
        return false;
    }
    STATE.store(RUNNING, Ordering::Release);
    let r = crate::hooks::current_ring();
    if r.is_null() {
        STATE.store(DONE, Ordering::Release);
        return false;
    }
    // SAFETY: the calling thread's own ring.
    unsafe { crate::modules::rescan(r, trace_ns()) };
    if !spawn_writer() {
        log(b"cannot start the writer thread; tracing stops");
        STATE.store(DONE, Ordering::Release);
        return false;
    }
    true
}

extern "C" fn init() {
    // SAFETY: runs once, from the loader, before the program's own code.
    unsafe {
        // Resolved whether or not this process is traced: the dlopen and
        // dlclose hooks always forward to them.
        let real_open = libc::dlsym(libc::RTLD_NEXT, c"dlopen".as_ptr());
        let real_close = libc::dlsym(libc::RTLD_NEXT, c"dlclose".as_ptr());
        REAL_DLOPEN.store(real_open as usize, Ordering::Relaxed);
        REAL_DLCLOSE.store(real_close as usize, Ordering::Relaxed);
        let Some(path) = getenv(c"LEAKWATCH_TRACE_FILE") else {
            return;
        };
        if path.is_empty() || path.len() >= 4000 {
            return;
        }
        crate::hooks::set_guard(true);
        (&mut *core::ptr::addr_of_mut!(PATH))[..path.len()].copy_from_slice(path);
        PATH_LEN = path.len();
        if let Some(v) = getenv(c"LEAKWATCH_SAMPLE_EVERY").and_then(parse_u64) {
            SAMPLE_EVERY.store(v, Ordering::Relaxed);
        }
        let follow = getenv(c"LEAKWATCH_FOLLOW_FORK") == Some(b"1");
        if getenv(c"LEAKWATCH_UNWINDER") == Some(b"libgcc") {
            crate::unwind::FORCE_LIBGCC.store(true, Ordering::Relaxed);
        }
        FOLLOW_FORK.store(follow, Ordering::Relaxed);
        // The first process claims the file; exec'd descendants either get
        // their own file (--follow-fork) or stay untraced.
        let mut fd = open_trace(false, true);
        if fd < 0 && *libc::__errno_location() == libc::EEXIST {
            if written_by_this_pid() {
                // The traced process exec'd a new image (a wrapper script,
                // a shim): the new program takes the trace over.
                fd = open_trace(false, false);
            } else if follow {
                fd = open_trace(true, false);
            } else {
                *libc::__errno_location() = libc::EEXIST;
            }
        }
        if fd < 0 {
            if *libc::__errno_location() != libc::EEXIST {
                log(b"cannot create the trace file (LEAKWATCH_TRACE_FILE); running untraced");
            }
            crate::hooks::set_guard(false);
            return;
        }
        let (lo, hi) = crate::modules::range_of(init as *const () as usize);
        crate::unwind::SELF_START.store(lo, Ordering::Relaxed);
        crate::unwind::SELF_END.store(hi, Ordering::Relaxed);
        libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
        START_NS.store(now_ns(), Ordering::Relaxed);
        start_tracing(fd);
        crate::hooks::set_guard(false);
    }
}

extern "C" fn fini() {
    final_flush(true);
}

/// Writes the END record and everything pending, then stops tracing. With
/// `freeres`, first releases the C and C++ runtimes' caches.
pub fn final_flush(freeres: bool) {
    if !running() {
        return;
    }
    crate::hooks::set_guard(true);
    // SAFETY: getenv before the C library's caches are released.
    if unsafe { getenv(c"LEAKWATCH_STATS") } == Some(b"1") {
        log_stats();
    }
    let alone = freeres && only_thread_left();
    crate::hooks::set_guard(false);
    // Free what the C and C++ runtimes keep until exit, as valgrind does, so
    // only the program's own leaks remain. LEAKWATCH_NO_FREERES=1 skips it,
    // and so does any other thread still running (it may use those caches).
    // SAFETY: getenv/dlsym are safe here; the freeres functions are meant
    // to be called at exit.
    unsafe {
        if alone && getenv(c"LEAKWATCH_NO_FREERES").is_none() {
            let cxx = libc::dlsym(libc::RTLD_DEFAULT, c"_ZN9__gnu_cxx9__freeresEv".as_ptr());
            if !cxx.is_null() {
                let f: extern "C" fn() = core::mem::transmute(cxx);
                f();
            }
            let c = libc::dlsym(libc::RTLD_DEFAULT, c"__libc_freeres".as_ptr());
            if !c.is_null() {
                let f: extern "C" fn() = core::mem::transmute(c);
                f();
            }
        }
    }
    crate::hooks::set_guard(true);
    let r = crate::hooks::current_ring();
    if !r.is_null() {
        // SAFETY: the calling thread's own ring.
        let r = unsafe { &mut *r };
        let ts = trace_ns();
        let mut rec = Rec::<16>::new(REC_END);
        rec.u(ts.saturating_sub(r.prev_ts));
        r.prev_ts = r.prev_ts.max(ts);
        r.push(rec.as_slice());
    }
    lock_drain();
    if running() {
        drain_all(false, true);
    }
    STATE.store(DONE, Ordering::Release);
    unlock_drain();
    wake();
}

/// Prints how many stack captures the unwind memo answered (a debugging
/// aid, and how the tests see that the memo is exercised).
fn log_stats() {
    let (mut hits, mut misses) = (0u64, 0u64);
    for slot in 0..ring::count() {
        let r = ring::get(slot);
        // SAFETY: rings are never unmapped; memo totals are plain counters,
        // read racily only for this report.
        if let Some(memo) = unsafe { r.as_ref().and_then(|r| r.memo.as_ref()) } {
            hits += memo.total_hits;
            misses += memo.total_misses;
        }
    }
    let mut buf = [0u8; 96];
    let mut len = 0;
    for (text, n) in [
        (&b"stacks: "[..], Some(hits)),
        (b" memoized, ", Some(misses)),
        (b" unwound", None),
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
fn write_decimal(out: &mut [u8], mut n: u64) -> usize {
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
    // SAFETY: plain directory listing; its allocations go to glibc untraced
    // (the caller holds the guard).
    unsafe {
        let dir = libc::opendir(c"/proc/self/task".as_ptr());
        if dir.is_null() {
            return false;
        }
        let mut tasks = 0;
        loop {
            let e = libc::readdir(dir);
            if e.is_null() {
                break;
            }
            if (*e).d_name[0] != b'.' as core::ffi::c_char {
                tasks += 1;
            }
        }
        libc::closedir(dir);
        tasks <= 2
    }
}

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
    let old = FD.swap(-1, Ordering::Relaxed);
    // SAFETY: closing the parent's descriptor in the child only.
    unsafe { libc::close(old) };
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
    // SAFETY: single-threaded child.
    let fd = unsafe { open_trace(true, false) };
    if fd < 0 {
        log(b"cannot create the child's trace file; the child runs untraced");
        STATE.store(DONE, Ordering::Release);
    } else {
        STATE.store(OFF, Ordering::Release);
        if !me.is_null() {
            // SAFETY: this thread's ring, reset above.
            unsafe { crate::hooks::emit_thread(&mut *me) };
        }
        // SAFETY: single-threaded child.
        unsafe { start_tracing(fd) };
    }
    crate::hooks::set_guard(was);
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

/// Claims a ring for a new thread and announces the thread in it.
pub fn new_thread_ring() -> *mut Ring {
    let tid = gettid();
    // SAFETY: registry access is lock-free and safe from any thread.
    let r = unsafe { ring::claim(tid) };
    if !r.is_null() {
        // SAFETY: freshly claimed by this thread; allocations here go to
        // glibc untraced (the caller holds the guard).
        unsafe {
            (*r).stack = crate::unwind::thread_stack();
            if (*r).unwind_cache.is_null() {
                (*r).unwind_cache = Box::into_raw(Box::new(crate::unwind::Cache::default()));
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
