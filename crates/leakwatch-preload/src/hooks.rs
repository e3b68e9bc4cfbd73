//! The interposed allocation functions.
//!
//! Each one calls glibc's implementation, then (outside the re-entrancy
//! guard only) records the event. Timestamps are taken so that, across
//! threads, an address is always seen freed before it is handed out again:
//! frees are stamped before the memory is released, allocations after it is
//! obtained.

use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use crate::memo::Key;
use crate::ring::{Rec, Ring};
use crate::unwind::{self, MAX_FRAMES};
use crate::writer::{self, trace_ns};
use crate::{REC_ALLOC, REC_FREE, REC_STACK, REC_THREAD};

extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __libc_valloc(size: usize) -> *mut c_void;
    fn __libc_pvalloc(size: usize) -> *mut c_void;
}

struct ThreadState {
    guard: Cell<bool>,
    ring: Cell<*mut Ring>,
}

thread_local! {
    // Const-initialised and without Drop: no allocation, no TLS destructor.
    static TLS: ThreadState = const {
        ThreadState { guard: Cell::new(false), ring: Cell::new(null_mut()) }
    };
}

/// Sets this thread's guard; returns the previous value.
pub fn set_guard(on: bool) -> bool {
    TLS.try_with(|t| t.guard.replace(on)).unwrap_or(true)
}

/// This thread's ring pointer, without claiming one.
pub fn current_ring_ptr() -> *mut Ring {
    TLS.try_with(|t| t.ring.get()).unwrap_or(null_mut())
}

/// This thread's ring, claimed on first use.
pub fn current_ring() -> *mut Ring {
    TLS.try_with(|t| {
        let mut r = t.ring.get();
        if r.is_null() {
            r = writer::new_thread_ring();
            t.ring.set(r);
        }
        r
    })
    .unwrap_or(null_mut())
}

/// Announces the owning thread at the start of its use of a ring.
pub unsafe fn emit_thread(r: &mut Ring) {
    let ts = trace_ns();
    let mut rec = Rec::<32>::new(REC_THREAD);
    rec.u(ts.saturating_sub(r.prev_ts));
    r.prev_ts = r.prev_ts.max(ts);
    rec.u(r.tid.load(Ordering::Relaxed) as u64);
    r.push(rec.as_slice());
}

/// Runs `f` with this thread's ring when tracing is on and the thread is
/// not already inside a hook.
#[inline(always)]
fn traced(f: impl FnOnce(&mut Ring)) {
    if !writer::running() {
        return;
    }
    let _ = TLS.try_with(|t| {
        if t.guard.get() {
            return;
        }
        t.guard.set(true);
        let mut r = t.ring.get();
        if r.is_null() {
            r = writer::new_thread_ring();
            t.ring.set(r);
        }
        if !r.is_null() {
            // SAFETY: a ring is only ever produced into by its owning thread.
            f(unsafe { &mut *r });
        }
        t.guard.set(false);
    });
}

/// Decides whether an allocation of `size` bytes is sampled (always, when
/// sampling is off). Poisson sampling by bytes: the gap between samples is
/// exponentially distributed with mean SAMPLE_EVERY bytes.
#[inline(always)]
fn sampled(r: &mut Ring, size: usize) -> bool {
    let every = writer::SAMPLE_EVERY.load(Ordering::Relaxed);
    if every == 0 {
        return true;
    }
    r.sample_countdown -= size as i64;
    if r.sample_countdown > 0 {
        return false;
    }
    // xorshift64*, then an exponential variate by inversion.
    let mut x = r.rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r.rng = x;
    let u = ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    r.sample_countdown = (-u.ln() * every as f64) as i64 + 1;
    true
}

/// The ring's id of the caller's stack, emitting a STACK record the first
/// time it is seen. Unwinds from a hook's entry are memoized per thread
/// (see `memo`).
#[inline(always)]
fn stack_id(r: &mut Ring, entry: Option<(u64, u64)>) -> u32 {
    let key = match (unwind::fast(), entry) {
        (Some(fast), Some(entry)) => Key::new(fast, r.stack, entry),
        _ => None,
    };
    // SAFETY: the memo belongs to this thread's ring.
    if let (Some(key), Some(memo)) = (&key, unsafe { r.memo.as_mut() }) {
        if let Some(id) = memo.lookup(key) {
            return id;
        }
    }
    unwind_stack_id(r, entry, key)
}

/// `stack_id` when the memo did not know the stack: unwinds (recording
/// for the memo when it is worth it) and emits the stack if new.
#[inline(never)]
fn unwind_stack_id(r: &mut Ring, entry: Option<(u64, u64)>, key: Option<Key>) -> u32 {
    // SAFETY: the memo and the rule cache belong to this thread's ring.
    let (memo, cache) = unsafe { (r.memo.as_mut(), r.unwind_cache.as_mut()) };
    let memo = memo
        .filter(|_| key.is_some())
        .and_then(|m| m.should_record().then_some(m));
    let mut ips = [0usize; MAX_FRAMES];
    let mut recorded = None;
    let n = match (unwind::fast(), key, memo, cache) {
        (Some(fast), Some(key), Some(memo), Some(cache)) => {
            let n = memo.record(fast, cache, &key, &mut ips);
            recorded = Some((memo, key));
            n
        }
        (_, _, _, cache) => unwind::capture(&mut ips, cache, r.stack, entry),
    };
    let ips = &ips[..n];
    let (id, known) = r.stack_id(unwind::hash(ips));
    if !known {
        let mut rec = Rec::<{ 16 + MAX_FRAMES * 10 }>::new(REC_STACK);
        rec.u(id as u64);
        rec.u(n as u64);
        let mut prev = 0i64;
        for &ip in ips {
            rec.i((ip as i64).wrapping_sub(prev));
            prev = ip as i64;
        }
        r.push(rec.as_slice());
    }
    if let Some((memo, key)) = recorded {
        memo.commit(&key, id);
    }
    id
}

#[inline(always)]
fn record_alloc(r: &mut Ring, p: *mut c_void, size: usize, entry: Option<(u64, u64)>) {
    if p.is_null() || !sampled(r, size) {
        return;
    }
    let id = stack_id(r, entry);
    let ts = trace_ns();
    let dts = ts.saturating_sub(r.prev_ts);
    r.prev_ts = r.prev_ts.max(ts);
    let dptr = (p as i64).wrapping_sub(r.prev_ptr as i64);
    r.prev_ptr = p as u64;
    // Four varints of at most 10 bytes after the tag.
    r.push_with::<41>(REC_ALLOC, |e| {
        e.u(dts);
        e.u(size as u64);
        e.i(dptr);
        e.u(id as u64);
    });
}

#[inline(always)]
fn record_free(r: &mut Ring, p: *mut c_void, ts: u64) {
    let dts = ts.saturating_sub(r.prev_ts);
    r.prev_ts = r.prev_ts.max(ts);
    let dptr = (p as i64).wrapping_sub(r.prev_ptr as i64);
    r.prev_ptr = p as u64;
    r.push_with::<21>(REC_FREE, |e| {
        e.u(dts);
        e.i(dptr);
    });
}

// malloc, calloc and realloc enter through a two-instruction trampoline
// that hands the caller's stack and frame pointers to the hook, so stacks
// are unwound from the caller's frame (the tracer's own frames are never
// unwound: about a seventh of the unwinding work).

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rsi, rsp", "mov rdx, rbp", "jmp {0}", sym malloc_entry)
}

unsafe extern "C" fn malloc_entry(size: usize, sp: u64, bp: u64) -> *mut c_void {
    // SAFETY: glibc's own malloc.
    let p = unsafe { __libc_malloc(size) };
    traced(|r| record_alloc(r, p, size, Some((sp, bp))));
    p
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, rsp", "mov rcx, rbp", "jmp {0}", sym calloc_entry)
}

unsafe extern "C" fn calloc_entry(n: usize, size: usize, sp: u64, bp: u64) -> *mut c_void {
    // SAFETY: glibc's own calloc (it checks the overflow).
    let p = unsafe { __libc_calloc(n, size) };
    traced(|r| record_alloc(r, p, n.wrapping_mul(size), Some((sp, bp))));
    p
}

#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if !p.is_null() {
        traced(|r| record_free(r, p, trace_ns()));
    }
    // SAFETY: glibc's own free.
    unsafe { __libc_free(p) }
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, rsp", "mov rcx, rbp", "jmp {0}", sym realloc_entry)
}

unsafe extern "C" fn realloc_entry(p: *mut c_void, size: usize, sp: u64, bp: u64) -> *mut c_void {
    // SAFETY: same contract as realloc.
    unsafe { realloc_with(p, size, Some((sp, bp))) }
}

unsafe fn realloc_with(p: *mut c_void, size: usize, entry: Option<(u64, u64)>) -> *mut c_void {
    let t0 = if p.is_null() { 0 } else { trace_ns() };
    // SAFETY: glibc's own realloc.
    let q = unsafe { __libc_realloc(p, size) };
    // realloc(p, 0) frees p and may return null; a failed realloc leaves p.
    if !q.is_null() || size == 0 {
        traced(|r| {
            if !p.is_null() {
                record_free(r, p, t0);
            }
            record_alloc(r, q, size, entry);
        });
    }
    q
}

#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        // SAFETY: same contract as realloc.
        Some(total) => unsafe { realloc_with(p, total, None) },
        None => {
            // SAFETY: errno is thread-local.
            unsafe { *libc::__errno_location() = libc::ENOMEM };
            null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    // SAFETY: glibc's own memalign.
    let p = unsafe { __libc_memalign(align, size) };
    traced(|r| record_alloc(r, p, size, None));
    p
}

#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    // C11 (and glibc ≥ 2.35): a non-power-of-two alignment fails with EINVAL.
    if !align.is_power_of_two() {
        // SAFETY: errno is thread-local.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return null_mut();
    }
    // SAFETY: glibc's own memalign with a valid alignment.
    let p = unsafe { __libc_memalign(align, size) };
    traced(|r| record_alloc(r, p, size, None));
    p
}

#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    if !align.is_multiple_of(core::mem::size_of::<usize>()) || !align.is_power_of_two() {
        return libc::EINVAL;
    }
    // SAFETY: glibc's own memalign with a valid alignment.
    let p = unsafe { __libc_memalign(align, size) };
    if p.is_null() {
        return libc::ENOMEM;
    }
    traced(|r| record_alloc(r, p, size, None));
    // SAFETY: the caller passes a valid out pointer.
    unsafe { *out = p };
    0
}

#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    // SAFETY: glibc's own valloc.
    let p = unsafe { __libc_valloc(size) };
    traced(|r| record_alloc(r, p, size, None));
    p
}

#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    // SAFETY: glibc's own pvalloc.
    let p = unsafe { __libc_pvalloc(size) };
    traced(|r| record_alloc(r, p, size, None));
    p
}

#[no_mangle]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    let real = writer::REAL_DLOPEN.load(Ordering::Relaxed);
    if real == 0 {
        return null_mut();
    }
    // SAFETY: the address came from dlsym(RTLD_NEXT, "dlopen").
    let real: writer::DlopenFn = unsafe { core::mem::transmute(real) };
    // SAFETY: forwarding the caller's arguments.
    let h = unsafe { real(file, mode) };
    if !h.is_null() {
        // SAFETY: the calling thread's own ring.
        traced(|r| unsafe { crate::modules::rescan(r, trace_ns()) });
    }
    h
}

#[no_mangle]
pub unsafe extern "C" fn dlclose(h: *mut c_void) -> c_int {
    let real = writer::REAL_DLCLOSE.load(Ordering::Relaxed);
    if real == 0 {
        return -1;
    }
    // SAFETY: the address came from dlsym(RTLD_NEXT, "dlclose").
    let real: writer::DlcloseFn = unsafe { core::mem::transmute(real) };
    // SAFETY: forwarding the caller's argument.
    let rc = unsafe { real(h) };
    // SAFETY: the calling thread's own ring.
    traced(|r| unsafe { crate::modules::rescan(r, trace_ns()) });
    rc
}

/// `_exit` skips atexit handlers and destructors, so the trace is flushed
/// here (forked children and shells commonly leave this way). Not the
/// runtimes' caches: the program chose not to clean up.
#[no_mangle]
pub unsafe extern "C" fn _exit(status: c_int) -> ! {
    writer::final_flush(false);
    loop {
        // SAFETY: exit_group never returns.
        unsafe { libc::syscall(libc::SYS_exit_group, status) };
    }
}

/// C99's name for `_exit`.
#[no_mangle]
pub unsafe extern "C" fn _Exit(status: c_int) -> ! {
    // SAFETY: same contract.
    unsafe { _exit(status) }
}
