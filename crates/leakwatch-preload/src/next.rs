//! The next definition of each interposed function: what
//! `dlsym(RTLD_NEXT, name)` finds after this library in the search order
//! (glibc's malloc, or jemalloc's, tcmalloc's, another interposer's), so a
//! program that brings its own allocator keeps it.
//!
//! Resolution is lazy: the first call of any hook resolves every name at
//! once, whether it comes from the loader, another library's constructor or
//! the program. `dlsym` itself allocates (its error buffer), and those
//! allocations reach our own hooks before anything is resolved: the
//! resolving thread is then served from a small static arena, whose blocks
//! the free hooks recognise and never pass on. Other threads wait for the
//! resolution to finish (there are none that early in practice).

use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
}

/// Declares the resolved names: an index constant per function and the
/// table of their C names, in the same order.
macro_rules! names {
    ($($id:ident = $name:literal,)*) => {
        #[allow(non_camel_case_types, dead_code)]
        #[derive(Clone, Copy)]
        #[repr(usize)]
        pub enum F { $($id,)* }
        const NAMES: &[&core::ffi::CStr] = &[$($name,)*];
    };
}

names! {
    malloc = c"malloc",
    free = c"free",
    calloc = c"calloc",
    realloc = c"realloc",
    reallocarray = c"reallocarray",
    memalign = c"memalign",
    aligned_alloc = c"aligned_alloc",
    posix_memalign = c"posix_memalign",
    valloc = c"valloc",
    pvalloc = c"pvalloc",
    malloc_usable_size = c"malloc_usable_size",
    free_sized = c"free_sized",
    free_aligned_sized = c"free_aligned_sized",
    // jemalloc
    mallocx = c"mallocx",
    rallocx = c"rallocx",
    xallocx = c"xallocx",
    sallocx = c"sallocx",
    dallocx = c"dallocx",
    sdallocx = c"sdallocx",
    nallocx = c"nallocx",
    // tcmalloc
    tc_malloc = c"tc_malloc",
    tc_malloc_skip_new_handler = c"tc_malloc_skip_new_handler",
    tc_free = c"tc_free",
    tc_free_sized = c"tc_free_sized",
    tc_realloc = c"tc_realloc",
    tc_calloc = c"tc_calloc",
    tc_cfree = c"tc_cfree",
    tc_memalign = c"tc_memalign",
    tc_posix_memalign = c"tc_posix_memalign",
    tc_valloc = c"tc_valloc",
    tc_pvalloc = c"tc_pvalloc",
    tc_malloc_size = c"tc_malloc_size",
    tc_nallocx = c"tc_nallocx",
    tc_new_aligned = c"tc_new_aligned",
    tc_new_aligned_nothrow = c"tc_new_aligned_nothrow",
    tc_newarray_aligned = c"tc_newarray_aligned",
    tc_newarray_aligned_nothrow = c"tc_newarray_aligned_nothrow",
    tc_delete_aligned = c"tc_delete_aligned",
    tc_delete_sized_aligned = c"tc_delete_sized_aligned",
    tc_delete_aligned_nothrow = c"tc_delete_aligned_nothrow",
    tc_deletearray_aligned = c"tc_deletearray_aligned",
    tc_deletearray_sized_aligned = c"tc_deletearray_sized_aligned",
    tc_deletearray_aligned_nothrow = c"tc_deletearray_aligned_nothrow",
    cfree = c"cfree",
    malloc_size = c"malloc_size",
    tc_new = c"tc_new",
    tc_new_nothrow = c"tc_new_nothrow",
    tc_newarray = c"tc_newarray",
    tc_newarray_nothrow = c"tc_newarray_nothrow",
    tc_delete = c"tc_delete",
    tc_delete_sized = c"tc_delete_sized",
    tc_delete_nothrow = c"tc_delete_nothrow",
    tc_deletearray = c"tc_deletearray",
    tc_deletearray_sized = c"tc_deletearray_sized",
    tc_deletearray_nothrow = c"tc_deletearray_nothrow",
    // C++ operator new and delete
    new = c"_Znwm",
    new_array = c"_Znam",
    new_nothrow = c"_ZnwmRKSt9nothrow_t",
    new_array_nothrow = c"_ZnamRKSt9nothrow_t",
    new_aligned = c"_ZnwmSt11align_val_t",
    new_array_aligned = c"_ZnamSt11align_val_t",
    new_aligned_nothrow = c"_ZnwmSt11align_val_tRKSt9nothrow_t",
    new_array_aligned_nothrow = c"_ZnamSt11align_val_tRKSt9nothrow_t",
    delete = c"_ZdlPv",
    delete_array = c"_ZdaPv",
    delete_sized = c"_ZdlPvm",
    delete_array_sized = c"_ZdaPvm",
    delete_nothrow = c"_ZdlPvRKSt9nothrow_t",
    delete_array_nothrow = c"_ZdaPvRKSt9nothrow_t",
    delete_aligned = c"_ZdlPvSt11align_val_t",
    delete_array_aligned = c"_ZdaPvSt11align_val_t",
    delete_sized_aligned = c"_ZdlPvmSt11align_val_t",
    delete_array_sized_aligned = c"_ZdaPvmSt11align_val_t",
    delete_aligned_nothrow = c"_ZdlPvSt11align_val_tRKSt9nothrow_t",
    delete_array_aligned_nothrow = c"_ZdaPvSt11align_val_tRKSt9nothrow_t",
    // Process and loader
    dlopen = c"dlopen",
    dlclose = c"dlclose",
    exit = c"exit",
    abort = c"abort",
    // Descriptors (fds.rs)
    dup2 = c"dup2",
    dup3 = c"dup3",
    close = c"close",
    close_range = c"close_range",
    closefrom = c"closefrom",
    // Credentials (setid.rs)
    setuid = c"setuid",
    setgid = c"setgid",
    seteuid = c"seteuid",
    setegid = c"setegid",
    setreuid = c"setreuid",
    setregid = c"setregid",
    setresuid = c"setresuid",
    setresgid = c"setresgid",
    setgroups = c"setgroups",
    initgroups = c"initgroups",
    libc_start_main = c"__libc_start_main",
}

const COUNT: usize = NAMES.len();

static TABLE: [AtomicUsize; COUNT] = [const { AtomicUsize::new(0) }; COUNT];

const UNRESOLVED: u8 = 0;
const RESOLVING: u8 = 1;
const RESOLVED: u8 = 2;
static STATE: AtomicU8 = AtomicU8::new(UNRESOLVED);
/// Kernel thread id of the resolving thread.
static RESOLVER: AtomicU32 = AtomicU32::new(0);

/// The next definition of `f`, or 0 when no later object defines it.
#[inline(always)]
pub fn get(f: F) -> usize {
    let v = TABLE[f as usize].load(Ordering::Relaxed);
    if v != 0 || STATE.load(Ordering::Acquire) == RESOLVED {
        return v;
    }
    resolve();
    TABLE[f as usize].load(Ordering::Relaxed)
}

/// Whether the next definitions are known (else the caller is inside the
/// resolution and must use the arena).
#[inline(always)]
pub fn resolved() -> bool {
    STATE.load(Ordering::Acquire) == RESOLVED
}

fn gettid() -> u32 {
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// Resolves every name once. Re-entrant calls from the resolving thread
/// return at once (their allocations are served by the arena).
#[cold]
pub fn resolve() {
    match STATE.compare_exchange(UNRESOLVED, RESOLVING, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {}
        Err(RESOLVED) => return,
        Err(_) => {
            if RESOLVER.load(Ordering::Relaxed) == gettid() {
                return;
            }
            while STATE.load(Ordering::Acquire) != RESOLVED {
                // SAFETY: plain syscall.
                unsafe { libc::sched_yield() };
            }
            return;
        }
    }
    RESOLVER.store(gettid(), Ordering::Relaxed);
    for (slot, name) in TABLE.iter().zip(NAMES) {
        // SAFETY: dlsym with a NUL-terminated name; allocations it makes
        // on this thread are served by the arena.
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
        slot.store(p as usize, Ordering::Relaxed);
    }
    // glibc always has these; its internal names cover a failed lookup.
    let fallbacks: [(F, usize); 5] = [
        (F::malloc, __libc_malloc as *const () as usize),
        (F::free, __libc_free as *const () as usize),
        (F::calloc, __libc_calloc as *const () as usize),
        (F::realloc, __libc_realloc as *const () as usize),
        (F::memalign, __libc_memalign as *const () as usize),
    ];
    for (f, addr) in fallbacks {
        if TABLE[f as usize].load(Ordering::Relaxed) == 0 {
            TABLE[f as usize].store(addr, Ordering::Relaxed);
        }
    }
    crate::unwind::resolve_getattr();
    STATE.store(RESOLVED, Ordering::Release);
}

/// In a process the tracer was loaded into with `dlopen` (attach): the
/// program's own definitions, found in the global scope (this library is
/// not in it), replace what RTLD_NEXT found after this library. Returns
/// false when `malloc`, `free`, `calloc` or `realloc` is a PLT entry of the
/// executable (see [`through_plt`]): the loader then allocates through the
/// very GOT slot the attach would patch, and a new thread's first use of
/// this library's thread-local data (allocated by the loader on first
/// access) would recurse into the hooks until the stack overflows.
pub fn resolve_default() -> bool {
    resolve();
    let mut loader_safe = true;
    for (slot, name) in TABLE.iter().zip(NAMES) {
        // SAFETY: dlsym with a NUL-terminated name.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        if p.is_null() {
            continue;
        }
        // SAFETY: `p` is a function's address in a loaded object.
        let plt = unsafe { through_plt(p as usize) };
        if plt != Plt::Not && RTLD_ALLOCATORS.contains(&name.to_bytes()) {
            loader_safe = false;
        }
        match plt {
            Plt::Not => slot.store(p as usize, Ordering::Relaxed),
            Plt::Bound(target) => slot.store(target, Ordering::Relaxed),
            // Not bound yet: keep what RTLD_NEXT found.
            Plt::Unbound => {}
        }
    }
    loader_safe
}

/// The functions the loader itself allocates with (glibc's `__rtld_malloc`
/// and kin point at the global definitions).
const RTLD_ALLOCATORS: [&[u8]; 4] = [b"malloc", b"free", b"calloc", b"realloc"];

/// What an address `dlsym` returned turns out to be.
#[derive(Debug, PartialEq, Eq)]
enum Plt {
    /// The function itself.
    Not,
    /// A PLT entry whose GOT slot holds this target.
    Bound(usize),
    /// A PLT entry not bound yet (its slot points back into the PLT).
    Unbound,
}

/// A non-PIE executable that takes `malloc`'s address makes its PLT entry
/// the canonical `malloc` (Debian's Node.js): `dlsym(RTLD_DEFAULT)` returns
/// that stub, which jumps through the executable's GOT slot, the very slot
/// the attach then points at the hooks. So a stub (`[endbr64] [bnd] jmp
/// *disp32(%rip)`) is followed to the target its slot holds now, before
/// any patching.
///
/// # Safety
/// `p` must be the address of code in a loaded object.
unsafe fn through_plt(p: usize) -> Plt {
    let code = |at: usize, n: usize| {
        // SAFETY: a few bytes of the entry's own code (caller's contract).
        unsafe { core::slice::from_raw_parts(at as *const u8, n) }
    };
    let mut at = p;
    if code(at, 4) == [0xf3, 0x0f, 0x1e, 0xfa] {
        at += 4;
    }
    if code(at, 1) == [0xf2] {
        at += 1;
    }
    if code(at, 2) != [0xff, 0x25] {
        return Plt::Not;
    }
    let disp = i32::from_le_bytes(code(at + 2, 4).try_into().unwrap_or([0; 4]));
    let slot = (at + 6).wrapping_add_signed(disp as isize);
    // SAFETY: a jmp through a GOT slot of the same object: readable.
    let target = unsafe { (slot as *const usize).read_volatile() };
    // Lazy binding: the slot still points at the entry's own push/jmp.
    if target.abs_diff(p) < 64 {
        Plt::Unbound
    } else {
        Plt::Bound(target)
    }
}

/// The resolved names and their addresses (for `got` patching and
/// interposer checks).
pub fn name_of(f: F) -> &'static core::ffi::CStr {
    NAMES[f as usize]
}

// ---------------------------------------------------------------------------
// Typed calls of the functions every hook falls back on.

type Malloc = unsafe extern "C" fn(usize) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void);
type Calloc = unsafe extern "C" fn(usize, usize) -> *mut c_void;
type Realloc = unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void;
type Memalign = unsafe extern "C" fn(usize, usize) -> *mut c_void;

#[inline(always)]
pub unsafe fn malloc(size: usize) -> *mut c_void {
    // SAFETY: resolved to a malloc (glibc's at worst).
    unsafe { core::mem::transmute::<usize, Malloc>(get(F::malloc))(size) }
}

#[inline(always)]
pub unsafe fn free(p: *mut c_void) {
    // SAFETY: resolved to a free (glibc's at worst).
    unsafe { core::mem::transmute::<usize, Free>(get(F::free))(p) }
}

#[inline(always)]
pub unsafe fn calloc(n: usize, size: usize) -> *mut c_void {
    // SAFETY: resolved to a calloc (glibc's at worst).
    unsafe { core::mem::transmute::<usize, Calloc>(get(F::calloc))(n, size) }
}

#[inline(always)]
pub unsafe fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: resolved to a realloc (glibc's at worst).
    unsafe { core::mem::transmute::<usize, Realloc>(get(F::realloc))(p, size) }
}

#[inline(always)]
pub unsafe fn memalign(align: usize, size: usize) -> *mut c_void {
    // SAFETY: resolved to a memalign (glibc's at worst).
    unsafe { core::mem::transmute::<usize, Memalign>(get(F::memalign))(align, size) }
}

/// The next definition of `f` as a function pointer of type `T`, if any.
///
/// # Safety
/// `T` must be the function's true signature.
#[inline(always)]
pub unsafe fn func<T: Copy>(f: F) -> Option<T> {
    debug_assert_eq!(core::mem::size_of::<T>(), core::mem::size_of::<usize>());
    let p = get(f);
    if p == 0 {
        None
    } else {
        // SAFETY: the caller names the true signature.
        Some(unsafe { core::mem::transmute_copy::<usize, T>(&p) })
    }
}

// ---------------------------------------------------------------------------
// The bootstrap arena.

const ARENA_BYTES: usize = 256 * 1024;
const ALIGN: usize = 16;

#[repr(C, align(4096))]
struct Arena([u8; ARENA_BYTES]);

static mut ARENA: Arena = Arena([0; ARENA_BYTES]);
static ARENA_USED: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn arena_range() -> (usize, usize) {
    let lo = core::ptr::addr_of!(ARENA) as usize;
    (lo, lo + ARENA_BYTES)
}

/// Whether `p` is an arena block (never passed to the real allocator).
#[inline(always)]
pub fn in_arena(p: *const c_void) -> bool {
    let (lo, hi) = arena_range();
    (p as usize) >= lo && (p as usize) < hi
}

/// A zeroed arena block of `size` bytes aligned to `align` (at least 16),
/// its size stored in the 8 bytes before it. Null when the arena is full.
pub fn arena_alloc(size: usize, align: usize) -> *mut c_void {
    let align = align.max(ALIGN);
    if !align.is_power_of_two() || size > ARENA_BYTES {
        return core::ptr::null_mut();
    }
    let (lo, _) = arena_range();
    let mut used = ARENA_USED.load(Ordering::Relaxed);
    loop {
        let start = (lo + used + 8).next_multiple_of(align);
        let end = start + size.max(1);
        if end > lo + ARENA_BYTES {
            return core::ptr::null_mut();
        }
        match ARENA_USED.compare_exchange(used, end - lo, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => {
                // SAFETY: [start - 8, end) lies inside the arena and was
                // just reserved for this block; static memory starts zeroed.
                unsafe { ((start - 8) as *mut u64).write(size as u64) };
                return start as *mut c_void;
            }
            Err(now) => used = now,
        }
    }
}

/// The size an arena block was allocated with.
pub fn arena_size(p: *const c_void) -> usize {
    // SAFETY: arena blocks carry their size in the 8 bytes before them.
    unsafe { ((p as usize - 8) as *const u64).read() as usize }
}
