//! The interposed allocation functions.
//!
//! Each one calls the next definition of the same function (see `next`:
//! glibc's, or the allocator the program brought), then (outside the
//! re-entrancy guard only) records the event. Functions whose next
//! definition may call another hooked function through the PLT (C++
//! `operator new` calling `malloc`, tcmalloc's and jemalloc's entry points)
//! run it with the guard set, so each allocation is recorded once, at the
//! outermost hook, with the program's stack. Stamps are taken so that, across
//! threads, an address is always seen freed before it is handed out again:
//! frees are stamped before the memory is released, allocations after it is
//! obtained (see `writer::stamp`).

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::Ordering;

use crate::memo::Key;
use crate::next::{self, F};
use crate::ring::{Rec, Ring, Stamp};
use crate::unwind::{self, MAX_FRAMES};
use crate::writer;
use crate::{REC_ALLOC, REC_FREE, REC_THREAD};

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

/// The guard held while a next definition runs: allocations it makes
/// through hooked functions are its own, not recorded again. Restored on
/// unwinding too (`operator new` throws).
struct Inner(bool);

impl Inner {
    #[inline(always)]
    fn enter() -> Inner {
        Inner(set_guard(true))
    }
}

impl Drop for Inner {
    #[inline(always)]
    fn drop(&mut self) {
        set_guard(self.0);
    }
}

/// Whether this thread is inside a hook (or the tracer's own code).
#[inline(always)]
pub fn guarded() -> bool {
    TLS.try_with(|t| t.guard.get()).unwrap_or(true)
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
    let d = r.stamp_delta(writer::stamp());
    let mut rec = Rec::<40>::new(REC_THREAD);
    rec.stamp(d);
    rec.u(r.tid.load(Ordering::Relaxed) as u64);
    r.push(rec.as_slice());
}

/// Runs `f` with this thread's ring when tracing is on and the thread is
/// not already inside a hook.
#[inline(always)]
fn traced(f: impl FnOnce(&mut Ring)) {
    if !writer::running() && !writer::lazy_start() {
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
            let r = unsafe { &mut *r };
            // The end-of-tracing handshake (`writer::finish`): announce the
            // event, then look at the cut. The exit path sets the cut, then
            // forces a barrier on every thread (membarrier) and waits for
            // the busy flags, so either this event is seen as in flight and
            // waited for, or the cut is seen here and the event, after the
            // end, is not recorded: the trace ends whole. Plain stores and
            // a compiler fence on this side; the barrier is the exit's.
            r.busy.store(true, Ordering::Relaxed);
            core::sync::atomic::compiler_fence(Ordering::SeqCst);
            if !writer::cut() {
                f(r);
            }
            r.busy.store(false, Ordering::Release);
        } else {
            // No memory for this thread's ring: the event is lost, and the
            // trace will say so.
            writer::LOST_NO_MEMORY.fetch_add(1, Ordering::Relaxed);
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

/// The ring's id of the caller's stack (the node of its innermost frame),
/// writing the nodes that are new. Unwinds from a hook's entry are
/// incremental: only the frames that changed since the thread's previous
/// capture are unwound, and only their nodes written (see `memo`).
#[inline(always)]
fn stack_id(r: &mut Ring, entry: Option<(u64, u64)>) -> u32 {
    if !r.stack_known {
        learn_stack(r, entry);
    }
    let key = match (unwind::fast(), entry) {
        (Some(fast), Some(entry)) => Key::new(fast, r.stack, entry).map(|k| (fast, k)),
        _ => None,
    };
    if r.node_ids_high() {
        forget_node_ids(r);
    }
    // SAFETY: the memo and the rule cache belong to this thread's ring, in
    // memory of their own.
    let (memo, cache) = unsafe { (r.memo.as_mut(), r.unwind_cache.as_mut()) };
    match (key, memo, cache) {
        (Some((fast, key)), Some(memo), Some(cache)) => {
            // With Python frames the memo's stack is only the key of the
            // splice, which writes the stack it makes: the memo's nodes
            // are not written.
            let python = crate::python::enabled();
            if python && r.shadow_ids_low() {
                forget_shadow_ids(r, memo);
            }
            let stop = if python {
                crate::python::unwind_stop()
            } else {
                (0, 0)
            };
            let (leaf, written) = memo.capture(fast, cache, &key, r, python, stop);
            if python {
                with_python_frames(r, leaf, written)
            } else {
                leaf
            }
        }
        (_, _, cache) => whole_stack_id(r, entry, cache),
    }
}

/// The memo's stack `leaf` with the thread's Python frames spliced in.
#[inline(never)]
fn with_python_frames(r: &mut Ring, leaf: u32, written: bool) -> u32 {
    // SAFETY: the memo belongs to this thread's ring; it is read only on a
    // miss of the spliced-stack cache, before anything else touches it.
    let memo = unsafe { r.memo.as_ref() };
    crate::python::splice(r, leaf, written, |ips| {
        memo.map_or(0, |m| m.ips_outermost(ips))
    })
}

/// Starts the memo's unwritten ids again, forgetting every place that
/// holds one (once per 2^32 new memo nodes of a thread).
#[cold]
#[inline(never)]
fn forget_shadow_ids(r: &mut Ring, memo: &mut crate::memo::Memo) {
    r.reset_shadow();
    memo.clear();
    // SAFETY: the Python state is this ring's own.
    if let Some(py) = unsafe { r.py.as_mut() } {
        py.forget_spliced();
    }
}

/// Starts the ring's node ids again (see `Ring::reset_node_ids`),
/// forgetting every place that holds one.
#[cold]
#[inline(never)]
fn forget_node_ids(r: &mut Ring) {
    r.reset_node_ids();
    // SAFETY: the memo and the Python state are this ring's own.
    unsafe {
        if let Some(memo) = r.memo.as_mut() {
            memo.clear();
        }
        if let Some(py) = r.py.as_mut() {
            py.forget_nodes();
        }
    }
}

/// Learns the thread's stack range, unless the thread is inside
/// `pthread_getattr_np` (which holds the lock that asking for the range
/// takes, and allocates through helpers: the JVM calls it first thing in
/// every thread). Once per thread, a libgcc unwind looks for it on the
/// stack; while it is there, captures go without the range (libgcc's
/// unwinder) and a later one learns it.
#[cold]
#[inline(never)]
fn learn_stack(r: &mut Ring, entry: Option<(u64, u64)>) {
    if unwind::getattr_known() {
        let mut ips = [0usize; MAX_FRAMES];
        let n = unwind::capture(&mut ips, None, (0, 0), entry);
        if ips[..n].iter().any(|&ip| unwind::in_getattr(ip as u64)) {
            return;
        }
    }
    r.stack = unwind::thread_stack();
    r.stack_known = true;
}

/// `stack_id` without the memo: libgcc's unwinder (alternate signal
/// stacks, LEAKWATCH_UNWINDER=libgcc, before modules are registered).
#[inline(never)]
fn whole_stack_id(
    r: &mut Ring,
    entry: Option<(u64, u64)>,
    cache: Option<&mut unwind::Cache>,
) -> u32 {
    let mut ips = [0usize; MAX_FRAMES];
    let n = unwind::capture(&mut ips, cache, r.stack, entry);
    let hash = unwind::hash(&ips[..n]);
    let leaf = match r.cached_stack(hash) {
        Some(leaf) => leaf,
        None => {
            let leaf = r.new_chain(&ips[..n]);
            r.remember_stack(hash, leaf);
            leaf
        }
    };
    if !crate::python::enabled() {
        return leaf;
    }
    crate::python::splice(r, leaf, true, |outer| {
        for (o, &ip) in outer.iter_mut().zip(ips[..n].iter().rev()) {
            *o = ip as u64;
        }
        n.min(outer.len())
    })
}

#[inline(always)]
fn record_alloc(r: &mut Ring, p: *mut c_void, size: usize, entry: Option<(u64, u64)>) {
    if p.is_null() || !sampled(r, size) {
        return;
    }
    let id = stack_id(r, entry);
    let d = r.stamp_delta(writer::stamp());
    let dptr = (p as i64).wrapping_sub(r.prev_ptr as i64);
    r.prev_ptr = p as u64;
    // Five varints of at most 10 bytes after the tag.
    r.push_with::<51>(REC_ALLOC, |e| {
        e.stamp(d);
        e.u(size as u64);
        e.i(dptr);
        e.u(id as u64);
    });
}

#[inline(always)]
fn record_free(r: &mut Ring, p: *mut c_void, at: Stamp) {
    let d = r.stamp_delta(at);
    let dptr = (p as i64).wrapping_sub(r.prev_ptr as i64);
    r.prev_ptr = p as u64;
    r.push_with::<31>(REC_FREE, |e| {
        e.stamp(d);
        e.i(dptr);
    });
}

/// Records a block handed out by a hook entered at `entry`.
#[inline(always)]
fn after_alloc(p: *mut c_void, size: usize, entry: Option<(u64, u64)>) -> *mut c_void {
    if !p.is_null() {
        traced(|r| record_alloc(r, p, size, entry));
    }
    p
}

/// Records a block handed out by an allocator the tracer wraps rather than
/// interposes (CPython's allocator domains after an attach).
#[inline(never)]
pub(crate) fn record_wrapped_alloc(p: *mut c_void, size: usize) {
    after_alloc(p, size, None);
}

/// Records the release of a block of a wrapped allocator.
#[inline(never)]
pub(crate) fn record_wrapped_free(p: *mut c_void) {
    before_free(p);
}

/// Runs `f` with the guard held: allocations it makes are not recorded.
pub(crate) fn unrecorded<T>(f: impl FnOnce() -> T) -> T {
    let _inner = Inner::enter();
    f()
}

/// Records the release of `p` (before the memory is released: see the
/// module documentation).
#[inline(always)]
fn before_free(p: *mut c_void) {
    if !p.is_null() {
        traced(|r| record_free(r, p, writer::stamp()));
    }
}

/// For a hook called before the next definitions are known: resolves them,
/// or, on the resolving thread itself (`dlsym` allocating), serves the
/// block from the bootstrap arena.
#[cold]
#[inline(never)]
fn early_alloc(size: usize, align: usize) -> Option<*mut c_void> {
    next::resolve();
    if next::resolved() {
        None
    } else {
        Some(next::arena_alloc(size, align))
    }
}

fn set_errno(e: c_int) {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = e };
}

/// jemalloc's `MALLOCX_LG_ALIGN` bits and `MALLOCX_ZERO`.
fn mallocx_align(flags: c_int) -> usize {
    let lg = flags & 0x3f;
    if lg == 0 {
        0
    } else {
        1usize << lg
    }
}
const MALLOCX_ZERO: c_int = 0x40;

// Alignment the C library's malloc guarantees anyway.
const MALLOC_ALIGN: usize = 16;

/// A hooked function returning a new block. It enters through a
/// two-instruction trampoline that hands the caller's stack and frame
/// pointers to the hook (in the next free argument registers), so stacks
/// are unwound from the caller's frame: the tracer's own frames are never
/// unwound. The entry calls the next definition (with the guard when
/// `guard`), or computes `fallback` when no later object defines the name,
/// and records the block (`size` bytes). Before resolution the block comes
/// from the arena (`early` = size and alignment).
macro_rules! alloc_hook {
    (
        $abi:literal $sym:literal $name:ident / $entry:ident = $id:ident
        ($($a:ident: $t:ty),*) [$sp:literal, $bp:literal]
        size: $size:expr, early: ($esize:expr, $ealign:expr), guard: $guard:literal,
        fallback: $fallback:expr
    ) => {
        #[unsafe(naked)]
        #[export_name = $sym]
        pub unsafe extern $abi fn $name($($a: $t),*) -> *mut c_void {
            core::arch::naked_asm!(
                concat!("mov ", $sp, ", rsp"),
                concat!("mov ", $bp, ", rbp"),
                "jmp {0}",
                sym $entry
            )
        }

        unsafe extern $abi fn $entry($($a: $t,)* sp: u64, bp: u64) -> *mut c_void {
            let mut f = next::get(F::$id);
            if f == 0 && !next::resolved() {
                if let Some(p) = early_alloc($esize, $ealign) {
                    return p;
                }
                f = next::get(F::$id);
            }
            let p = if f != 0 {
                // SAFETY: the next definition of the same function.
                let real: unsafe extern $abi fn($($t),*) -> *mut c_void =
                    unsafe { core::mem::transmute(f) };
                if $guard {
                    let _inner = Inner::enter();
                    // SAFETY: forwarding the caller's arguments.
                    unsafe { real($($a),*) }
                } else {
                    // SAFETY: forwarding the caller's arguments.
                    unsafe { real($($a),*) }
                }
            } else {
                let _inner = Inner::enter();
                #[allow(unused_unsafe)]
                // SAFETY: the fallback keeps the function's contract.
                unsafe { $fallback }
            };
            after_alloc(p, $size, Some((sp, bp)))
        }
    };
}

/// A hooked function releasing a block `p`: recorded, then passed to the
/// next definition. Arena blocks are never passed on.
macro_rules! free_hook {
    (
        $abi:literal $sym:literal $name:ident = $id:ident
        ($($a:ident: $t:ty),*) guard: $guard:literal
    ) => {
        #[export_name = $sym]
        pub unsafe extern $abi fn $name(p: *mut c_void, $($a: $t),*) {
            if next::in_arena(p) {
                return;
            }
            before_free(p);
            let f = next::get(F::$id);
            if f != 0 {
                // SAFETY: the next definition of the same function.
                let real: unsafe extern $abi fn(*mut c_void, $($t),*) =
                    unsafe { core::mem::transmute(f) };
                if $guard {
                    let _inner = Inner::enter();
                    // SAFETY: forwarding the caller's arguments.
                    unsafe { real(p, $($a),*) }
                } else {
                    // SAFETY: forwarding the caller's arguments.
                    unsafe { real(p, $($a),*) }
                }
            } else {
                // No later definition (jemalloc's or tcmalloc's names
                // without them): the C library's free.
                let _ = ($($a,)*);
                let _inner = Inner::enter();
                // SAFETY: p came from the C library's allocator then.
                unsafe { next::free(p) }
            }
        }
    };
}

// --- The C library ----------------------------------------------------------

alloc_hook! {
    "C" "malloc" malloc / malloc_entry = malloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: false,
    fallback: next::malloc(size)
}

alloc_hook! {
    "C" "calloc" calloc / calloc_entry = calloc (n: usize, size: usize) ["rdx", "rcx"]
    size: n.wrapping_mul(size),
    early: (n.saturating_mul(size), MALLOC_ALIGN), guard: false,
    fallback: next::calloc(n, size)
}

alloc_hook! {
    "C" "memalign" memalign / memalign_entry = memalign (align: usize, size: usize) ["rdx", "rcx"]
    size: size, early: (size, align), guard: true,
    fallback: next::memalign(align, size)
}

alloc_hook! {
    "C" "aligned_alloc" aligned_alloc / aligned_alloc_entry = aligned_alloc
    (align: usize, size: usize) ["rdx", "rcx"]
    size: size, early: (size, align), guard: true,
    fallback: if align.is_power_of_two() {
        next::memalign(align, size)
    } else {
        set_errno(libc::EINVAL);
        null_mut()
    }
}

alloc_hook! {
    "C" "valloc" valloc / valloc_entry = valloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size, 4096), guard: true,
    fallback: next::memalign(page_size(), size)
}

alloc_hook! {
    "C" "pvalloc" pvalloc / pvalloc_entry = pvalloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size.next_multiple_of(4096), 4096), guard: true,
    fallback: next::memalign(page_size(), size.next_multiple_of(page_size()))
}

fn page_size() -> usize {
    // SAFETY: plain libc query.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

free_hook! { "C" "free" free = free () guard: false }
free_hook! { "C" "cfree" cfree = cfree () guard: true }
free_hook! {
"C" "free_sized" free_sized = free_sized (size: usize) guard: true }
free_hook! {
"C" "free_aligned_sized" free_aligned_sized = free_aligned_sized
(align: usize, size: usize) guard: true }

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, rsp", "mov rcx, rbp", "jmp {0}", sym realloc_entry)
}

unsafe extern "C" fn realloc_entry(p: *mut c_void, size: usize, sp: u64, bp: u64) -> *mut c_void {
    // SAFETY: same contract as realloc.
    unsafe { realloc_with(p, size, Some((sp, bp)), Realloc::Libc) }
}

/// Which family's realloc a call belongs to.
#[derive(Clone, Copy)]
enum Realloc {
    Libc,
    Tc,
}

/// realloc of an arena block: a new block from the real allocator, the
/// contents copied (the arena block itself is never released).
#[cold]
unsafe fn realloc_arena(p: *mut c_void, size: usize, entry: Option<(u64, u64)>) -> *mut c_void {
    // SAFETY: a fresh block of `size` bytes from the next malloc.
    let q = unsafe { next::malloc(size.max(1)) };
    if !q.is_null() {
        let n = next::arena_size(p).min(size);
        // SAFETY: both blocks hold at least n bytes.
        unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), n) };
    }
    after_alloc(q, size, entry)
}

unsafe fn realloc_with(
    p: *mut c_void,
    size: usize,
    entry: Option<(u64, u64)>,
    family: Realloc,
) -> *mut c_void {
    if next::in_arena(p) {
        if !next::resolved() {
            return next::arena_alloc(size, MALLOC_ALIGN);
        }
        // SAFETY: p is an arena block.
        return unsafe { realloc_arena(p, size, entry) };
    }
    let t0 = if p.is_null() {
        Stamp::default()
    } else {
        writer::stamp()
    };
    let q = match family {
        // SAFETY: the next realloc.
        Realloc::Libc => unsafe { next::realloc(p, size) },
        Realloc::Tc => {
            // SAFETY: tcmalloc's own realloc, or the C library's.
            match unsafe {
                next::func::<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>(F::tc_realloc)
            } {
                Some(f) => {
                    let _inner = Inner::enter();
                    // SAFETY: forwarding the caller's arguments.
                    unsafe { f(p, size) }
                }
                // SAFETY: the next realloc.
                None => unsafe { next::realloc(p, size) },
            }
        }
    };
    // realloc(p, 0) frees p and may return null; a failed realloc leaves p.
    if !q.is_null() || size == 0 {
        traced(|r| {
            if !p.is_null() {
                record_free(r, p, t0);
            }
            if !q.is_null() {
                record_alloc(r, q, size, entry);
            }
        });
    }
    q
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rcx, rsp", "mov r8, rbp", "jmp {0}", sym reallocarray_entry)
}

unsafe extern "C" fn reallocarray_entry(
    p: *mut c_void,
    n: usize,
    size: usize,
    sp: u64,
    bp: u64,
) -> *mut c_void {
    match n.checked_mul(size) {
        // SAFETY: same contract as realloc.
        Some(total) => unsafe { realloc_with(p, total, Some((sp, bp)), Realloc::Libc) },
        None => {
            set_errno(libc::ENOMEM);
            null_mut()
        }
    }
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    core::arch::naked_asm!("mov rcx, rsp", "mov r8, rbp", "jmp {0}", sym posix_memalign_entry)
}

unsafe extern "C" fn posix_memalign_entry(
    out: *mut *mut c_void,
    align: usize,
    size: usize,
    sp: u64,
    bp: u64,
) -> c_int {
    // SAFETY: same contract.
    unsafe { posix_memalign_with(F::posix_memalign, out, align, size, Some((sp, bp))) }
}

unsafe fn posix_memalign_with(
    id: F,
    out: *mut *mut c_void,
    align: usize,
    size: usize,
    entry: Option<(u64, u64)>,
) -> c_int {
    if !align.is_multiple_of(core::mem::size_of::<usize>()) || !align.is_power_of_two() {
        return libc::EINVAL;
    }
    if !next::resolved() {
        if let Some(p) = early_alloc(size, align) {
            if p.is_null() {
                return libc::ENOMEM;
            }
            // SAFETY: the caller passes a valid out pointer.
            unsafe { *out = p };
            return 0;
        }
    }
    type PosixMemalign = unsafe extern "C" fn(*mut *mut c_void, usize, usize) -> c_int;
    // SAFETY: the true signature.
    let rc = match unsafe { next::func::<PosixMemalign>(id) } {
        Some(f) => {
            let _inner = Inner::enter();
            // SAFETY: forwarding the caller's arguments.
            unsafe { f(out, align, size) }
        }
        None => {
            // SAFETY: the next memalign with a valid alignment.
            let p = unsafe { next::memalign(align, size) };
            if p.is_null() {
                libc::ENOMEM
            } else {
                // SAFETY: the caller passes a valid out pointer.
                unsafe { *out = p };
                0
            }
        }
    };
    if rc == 0 {
        // SAFETY: set by the successful call.
        after_alloc(unsafe { *out }, size, entry);
    }
    rc
}

/// The usable size of a block (arena blocks answer themselves).
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    // SAFETY: same contract.
    unsafe { usable_size(F::malloc_usable_size, p) }
}

unsafe fn usable_size(id: F, p: *mut c_void) -> usize {
    if p.is_null() {
        return 0;
    }
    if next::in_arena(p) {
        return next::arena_size(p);
    }
    type Size = unsafe extern "C" fn(*mut c_void) -> usize;
    // SAFETY: the true signature.
    let f = unsafe { next::func::<Size>(id) }
        // SAFETY: as above.
        .or_else(|| unsafe { next::func::<Size>(F::malloc_usable_size) });
    match f {
        // SAFETY: forwarding the caller's argument.
        Some(f) => unsafe { f(p) },
        None => 0,
    }
}

// --- jemalloc's non-standard API ----------------------------------------

/// mallocx without jemalloc: the flags' alignment and zeroing.
unsafe fn mallocx_fallback(size: usize, flags: c_int) -> *mut c_void {
    let align = mallocx_align(flags);
    // SAFETY: plain allocations.
    let p = unsafe {
        if align > MALLOC_ALIGN {
            next::memalign(align, size)
        } else {
            next::malloc(size)
        }
    };
    if !p.is_null() && flags & MALLOCX_ZERO != 0 {
        // SAFETY: the block holds size bytes.
        unsafe { core::ptr::write_bytes(p.cast::<u8>(), 0, size) };
    }
    p
}

alloc_hook! {
    "C" "mallocx" mallocx / mallocx_entry = mallocx (size: usize, flags: c_int) ["rdx", "rcx"]
    size: size, early: (size, mallocx_align(flags)), guard: true,
    fallback: mallocx_fallback(size, flags)
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn rallocx(p: *mut c_void, size: usize, flags: c_int) -> *mut c_void {
    core::arch::naked_asm!("mov rcx, rsp", "mov r8, rbp", "jmp {0}", sym rallocx_entry)
}

unsafe extern "C" fn rallocx_entry(
    p: *mut c_void,
    size: usize,
    flags: c_int,
    sp: u64,
    bp: u64,
) -> *mut c_void {
    let entry = Some((sp, bp));
    if next::in_arena(p) {
        // SAFETY: p is an arena block.
        return unsafe { realloc_arena(p, size, entry) };
    }
    type Rallocx = unsafe extern "C" fn(*mut c_void, usize, c_int) -> *mut c_void;
    let t0 = writer::stamp();
    // SAFETY: the true signature.
    let q = match unsafe { next::func::<Rallocx>(F::rallocx) } {
        Some(f) => {
            let _inner = Inner::enter();
            // SAFETY: forwarding the caller's arguments.
            unsafe { f(p, size, flags) }
        }
        None => {
            let _inner = Inner::enter();
            // SAFETY: a new block, the contents copied, the old released.
            unsafe {
                let q = mallocx_fallback(size, flags);
                if !q.is_null() {
                    let old = usable_size(F::malloc_usable_size, p);
                    core::ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), old.min(size));
                    next::free(p);
                }
                q
            }
        }
    };
    if !q.is_null() {
        traced(|r| {
            record_free(r, p, t0);
            record_alloc(r, q, size, entry);
        });
    }
    q
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn xallocx(p: *mut c_void, size: usize, extra: usize, flags: c_int) -> usize {
    core::arch::naked_asm!("mov r8, rsp", "mov r9, rbp", "jmp {0}", sym xallocx_entry)
}

/// Resizes in place: when it succeeds, the block is recorded as released
/// and allocated again at its new size.
unsafe extern "C" fn xallocx_entry(
    p: *mut c_void,
    size: usize,
    extra: usize,
    flags: c_int,
    sp: u64,
    bp: u64,
) -> usize {
    if next::in_arena(p) {
        return next::arena_size(p);
    }
    type Xallocx = unsafe extern "C" fn(*mut c_void, usize, usize, c_int) -> usize;
    let t0 = writer::stamp();
    // SAFETY: the true signature.
    let n = match unsafe { next::func::<Xallocx>(F::xallocx) } {
        Some(f) => {
            let _inner = Inner::enter();
            // SAFETY: forwarding the caller's arguments.
            unsafe { f(p, size, extra, flags) }
        }
        // Without jemalloc nothing can be resized in place.
        // SAFETY: a live block.
        None => return unsafe { usable_size(F::malloc_usable_size, p) },
    };
    if n >= size {
        let now = n.min(size.saturating_add(extra));
        traced(|r| {
            record_free(r, p, t0);
            record_alloc(r, p, now, Some((sp, bp)));
        });
    }
    n
}

#[no_mangle]
pub unsafe extern "C" fn sallocx(p: *mut c_void, flags: c_int) -> usize {
    if next::in_arena(p) {
        return next::arena_size(p);
    }
    type Sallocx = unsafe extern "C" fn(*mut c_void, c_int) -> usize;
    // SAFETY: the true signature.
    match unsafe { next::func::<Sallocx>(F::sallocx) } {
        // SAFETY: forwarding the caller's arguments.
        Some(f) => unsafe { f(p, flags) },
        // SAFETY: same contract.
        None => unsafe { usable_size(F::malloc_usable_size, p) },
    }
}

#[no_mangle]
pub unsafe extern "C" fn nallocx(size: usize, flags: c_int) -> usize {
    type Nallocx = unsafe extern "C" fn(usize, c_int) -> usize;
    // SAFETY: the true signature.
    match unsafe { next::func::<Nallocx>(F::nallocx) } {
        // SAFETY: forwarding the caller's arguments.
        Some(f) => unsafe { f(size, flags) },
        None => size,
    }
}

free_hook! {
"C" "dallocx" dallocx = dallocx (flags: c_int) guard: true }
free_hook! {
"C" "sdallocx" sdallocx = sdallocx (size: usize, flags: c_int) guard: true }

// --- tcmalloc's tc_* API -------------------------------------------------

alloc_hook! {
    "C" "tc_malloc" tc_malloc / tc_malloc_entry = tc_malloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: next::malloc(size)
}
alloc_hook! {
    "C" "tc_malloc_skip_new_handler" tc_malloc_skip_new_handler
    / tc_malloc_skip_new_handler_entry = tc_malloc_skip_new_handler (size: usize) ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: next::malloc(size)
}
alloc_hook! {
    "C" "tc_calloc" tc_calloc / tc_calloc_entry = tc_calloc (n: usize, size: usize) ["rdx", "rcx"]
    size: n.wrapping_mul(size),
    early: (n.saturating_mul(size), MALLOC_ALIGN), guard: true,
    fallback: next::calloc(n, size)
}
alloc_hook! {
    "C" "tc_memalign" tc_memalign / tc_memalign_entry = tc_memalign (align: usize, size: usize)
    ["rdx", "rcx"]
    size: size, early: (size, align), guard: true, fallback: next::memalign(align, size)
}
alloc_hook! {
    "C" "tc_valloc" tc_valloc / tc_valloc_entry = tc_valloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size, 4096), guard: true, fallback: next::memalign(page_size(), size)
}
alloc_hook! {
    "C" "tc_pvalloc" tc_pvalloc / tc_pvalloc_entry = tc_pvalloc (size: usize) ["rsi", "rdx"]
    size: size, early: (size.next_multiple_of(4096), 4096), guard: true,
    fallback: next::memalign(page_size(), size.next_multiple_of(page_size()))
}
alloc_hook! {
    "C-unwind" "tc_new" tc_new / tc_new_entry = tc_new (size: usize) ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: new_fallback(size, 0)
}
alloc_hook! {
    "C-unwind" "tc_newarray" tc_newarray / tc_newarray_entry = tc_newarray (size: usize)
    ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: new_fallback(size, 0)
}
alloc_hook! {
    "C" "tc_new_nothrow" tc_new_nothrow / tc_new_nothrow_entry = tc_new_nothrow
    (size: usize, nothrow: *const c_void) ["rdx", "rcx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true,
    fallback: { let _ = nothrow; next::malloc(size) }
}
alloc_hook! {
    "C" "tc_newarray_nothrow" tc_newarray_nothrow / tc_newarray_nothrow_entry =
    tc_newarray_nothrow (size: usize, nothrow: *const c_void) ["rdx", "rcx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true,
    fallback: { let _ = nothrow; next::malloc(size) }
}
alloc_hook! {
    "C-unwind" "tc_new_aligned" tc_new_aligned / tc_new_aligned_entry = tc_new_aligned
    (size: usize, align: usize) ["rdx", "rcx"]
    size: size, early: (size, align), guard: true, fallback: new_fallback(size, align)
}
alloc_hook! {
    "C-unwind" "tc_newarray_aligned" tc_newarray_aligned / tc_newarray_aligned_entry =
    tc_newarray_aligned (size: usize, align: usize) ["rdx", "rcx"]
    size: size, early: (size, align), guard: true, fallback: new_fallback(size, align)
}
alloc_hook! {
    "C" "tc_new_aligned_nothrow" tc_new_aligned_nothrow / tc_new_aligned_nothrow_entry =
    tc_new_aligned_nothrow (size: usize, align: usize, nothrow: *const c_void) ["rcx", "r8"]
    size: size, early: (size, align), guard: true,
    fallback: { let _ = nothrow; next::memalign(align, size) }
}
alloc_hook! {
    "C" "tc_newarray_aligned_nothrow" tc_newarray_aligned_nothrow
    / tc_newarray_aligned_nothrow_entry = tc_newarray_aligned_nothrow
    (size: usize, align: usize, nothrow: *const c_void) ["rcx", "r8"]
    size: size, early: (size, align), guard: true,
    fallback: { let _ = nothrow; next::memalign(align, size) }
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn tc_realloc(p: *mut c_void, size: usize) -> *mut c_void {
    core::arch::naked_asm!("mov rdx, rsp", "mov rcx, rbp", "jmp {0}", sym tc_realloc_entry)
}

unsafe extern "C" fn tc_realloc_entry(
    p: *mut c_void,
    size: usize,
    sp: u64,
    bp: u64,
) -> *mut c_void {
    // SAFETY: same contract as realloc.
    unsafe { realloc_with(p, size, Some((sp, bp)), Realloc::Tc) }
}

#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn tc_posix_memalign(
    out: *mut *mut c_void,
    align: usize,
    size: usize,
) -> c_int {
    core::arch::naked_asm!("mov rcx, rsp", "mov r8, rbp", "jmp {0}", sym tc_posix_memalign_entry)
}

unsafe extern "C" fn tc_posix_memalign_entry(
    out: *mut *mut c_void,
    align: usize,
    size: usize,
    sp: u64,
    bp: u64,
) -> c_int {
    // SAFETY: same contract.
    unsafe { posix_memalign_with(F::tc_posix_memalign, out, align, size, Some((sp, bp))) }
}

#[no_mangle]
pub unsafe extern "C" fn tc_malloc_size(p: *mut c_void) -> usize {
    // SAFETY: same contract.
    unsafe { usable_size(F::tc_malloc_size, p) }
}

#[no_mangle]
pub unsafe extern "C" fn malloc_size(p: *mut c_void) -> usize {
    // SAFETY: same contract.
    unsafe { usable_size(F::malloc_size, p) }
}

#[no_mangle]
pub unsafe extern "C" fn tc_nallocx(size: usize, flags: c_int) -> usize {
    type Nallocx = unsafe extern "C" fn(usize, c_int) -> usize;
    // SAFETY: the true signature.
    match unsafe { next::func::<Nallocx>(F::tc_nallocx) } {
        // SAFETY: forwarding the caller's arguments.
        Some(f) => unsafe { f(size, flags) },
        None => size,
    }
}

free_hook! { "C" "tc_free" tc_free = tc_free () guard: true }
free_hook! { "C" "tc_cfree" tc_cfree = tc_cfree () guard: true }
free_hook! {
"C" "tc_free_sized" tc_free_sized = tc_free_sized (size: usize) guard: true }
free_hook! { "C" "tc_delete" tc_delete = tc_delete () guard: true }
free_hook! {
"C" "tc_deletearray" tc_deletearray = tc_deletearray () guard: true }
free_hook! {
"C" "tc_delete_sized" tc_delete_sized = tc_delete_sized (size: usize) guard: true }
free_hook! {
"C" "tc_deletearray_sized" tc_deletearray_sized = tc_deletearray_sized (size: usize)
guard: true }
free_hook! {
"C" "tc_delete_nothrow" tc_delete_nothrow = tc_delete_nothrow (nothrow: *const c_void)
guard: true }
free_hook! {
"C" "tc_deletearray_nothrow" tc_deletearray_nothrow = tc_deletearray_nothrow
(nothrow: *const c_void) guard: true }
free_hook! {
"C" "tc_delete_aligned" tc_delete_aligned = tc_delete_aligned (align: usize)
guard: true }
free_hook! {
"C" "tc_deletearray_aligned" tc_deletearray_aligned = tc_deletearray_aligned (align: usize)
guard: true }
free_hook! {
"C" "tc_delete_sized_aligned" tc_delete_sized_aligned = tc_delete_sized_aligned
(size: usize, align: usize) guard: true }
free_hook! {
"C" "tc_deletearray_sized_aligned" tc_deletearray_sized_aligned = tc_deletearray_sized_aligned
(size: usize, align: usize) guard: true }
free_hook! {
"C" "tc_delete_aligned_nothrow" tc_delete_aligned_nothrow = tc_delete_aligned_nothrow
(align: usize, nothrow: *const c_void) guard: true }
free_hook! {
"C" "tc_deletearray_aligned_nothrow" tc_deletearray_aligned_nothrow
= tc_deletearray_aligned_nothrow (align: usize, nothrow: *const c_void) guard: true }

// --- C++ operator new and delete -------------------------------------------
//
// The next definition is libstdc++'s (which calls malloc: not recorded
// twice, the guard is held) or the one jemalloc and tcmalloc bring. The
// throwing forms are "C-unwind": std::bad_alloc passes through them.

/// operator new without any C++ runtime after us (nothing should call it
/// then): the C library's block, or abort like an uncaught bad_alloc.
unsafe fn new_fallback(size: usize, align: usize) -> *mut c_void {
    // SAFETY: plain allocations.
    let p = unsafe {
        if align > MALLOC_ALIGN {
            next::memalign(align, size.max(1))
        } else {
            next::malloc(size.max(1))
        }
    };
    if p.is_null() {
        crate::log(b"operator new: out of memory and no C++ runtime to throw std::bad_alloc");
        // SAFETY: plain libc call.
        unsafe { libc::abort() };
    }
    p
}

alloc_hook! {
    "C-unwind" "_Znwm" operator_new / operator_new_entry = new (size: usize) ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: new_fallback(size, 0)
}
alloc_hook! {
    "C-unwind" "_Znam" operator_new_array / operator_new_array_entry = new_array (size: usize)
    ["rsi", "rdx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true, fallback: new_fallback(size, 0)
}
alloc_hook! {
    "C" "_ZnwmRKSt9nothrow_t" operator_new_nothrow / operator_new_nothrow_entry = new_nothrow
    (size: usize, nothrow: *const c_void) ["rdx", "rcx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true,
    fallback: { let _ = nothrow; next::malloc(size.max(1)) }
}
alloc_hook! {
    "C" "_ZnamRKSt9nothrow_t" operator_new_array_nothrow / operator_new_array_nothrow_entry =
    new_array_nothrow (size: usize, nothrow: *const c_void) ["rdx", "rcx"]
    size: size, early: (size, MALLOC_ALIGN), guard: true,
    fallback: { let _ = nothrow; next::malloc(size.max(1)) }
}
alloc_hook! {
    "C-unwind" "_ZnwmSt11align_val_t" operator_new_aligned / operator_new_aligned_entry =
    new_aligned (size: usize, align: usize) ["rdx", "rcx"]
    size: size, early: (size, align), guard: true, fallback: new_fallback(size, align)
}
alloc_hook! {
    "C-unwind" "_ZnamSt11align_val_t" operator_new_array_aligned
    / operator_new_array_aligned_entry = new_array_aligned (size: usize, align: usize)
    ["rdx", "rcx"]
    size: size, early: (size, align), guard: true, fallback: new_fallback(size, align)
}
alloc_hook! {
    "C" "_ZnwmSt11align_val_tRKSt9nothrow_t" operator_new_aligned_nothrow
    / operator_new_aligned_nothrow_entry = new_aligned_nothrow
    (size: usize, align: usize, nothrow: *const c_void) ["rcx", "r8"]
    size: size, early: (size, align), guard: true,
    fallback: { let _ = nothrow; next::memalign(align, size.max(1)) }
}
alloc_hook! {
    "C" "_ZnamSt11align_val_tRKSt9nothrow_t" operator_new_array_aligned_nothrow
    / operator_new_array_aligned_nothrow_entry = new_array_aligned_nothrow
    (size: usize, align: usize, nothrow: *const c_void) ["rcx", "r8"]
    size: size, early: (size, align), guard: true,
    fallback: { let _ = nothrow; next::memalign(align, size.max(1)) }
}

free_hook! { "C" "_ZdlPv" operator_delete = delete () guard: true }
free_hook! {
"C" "_ZdaPv" operator_delete_array = delete_array () guard: true }
free_hook! {
"C" "_ZdlPvm" operator_delete_sized = delete_sized (size: usize) guard: true }
free_hook! {
"C" "_ZdaPvm" operator_delete_array_sized = delete_array_sized (size: usize) guard: true }
free_hook! {
"C" "_ZdlPvRKSt9nothrow_t" operator_delete_nothrow = delete_nothrow
(nothrow: *const c_void) guard: true }
free_hook! {
"C" "_ZdaPvRKSt9nothrow_t" operator_delete_array_nothrow = delete_array_nothrow
(nothrow: *const c_void) guard: true }
free_hook! {
"C" "_ZdlPvSt11align_val_t" operator_delete_aligned = delete_aligned (align: usize)
guard: true }
free_hook! {
"C" "_ZdaPvSt11align_val_t" operator_delete_array_aligned = delete_array_aligned
(align: usize) guard: true }
free_hook! {
"C" "_ZdlPvmSt11align_val_t" operator_delete_sized_aligned = delete_sized_aligned
(size: usize, align: usize) guard: true }
free_hook! {
"C" "_ZdaPvmSt11align_val_t" operator_delete_array_sized_aligned = delete_array_sized_aligned
(size: usize, align: usize) guard: true }
free_hook! {
"C" "_ZdlPvSt11align_val_tRKSt9nothrow_t" operator_delete_aligned_nothrow
= delete_aligned_nothrow (align: usize, nothrow: *const c_void) guard: true }
free_hook! {
"C" "_ZdaPvSt11align_val_tRKSt9nothrow_t" operator_delete_array_aligned_nothrow
= delete_array_aligned_nothrow (align: usize, nothrow: *const c_void) guard: true }
