//! Attaching to a running process (`leakwatch trace --pid`). The CLI
//! stops one thread with ptrace, makes it call `dlopen` on this library
//! (its constructor finds no trace file to write and stays idle), then
//! `leakwatch_attach(path)`: tracing starts with a fresh file (marked
//! ATTACH 1: blocks allocated before are unknown, their frees only
//! counted), and every loaded object's references to the allocation
//! functions are redirected to the hooks by rewriting its GOT entries
//! (objects `dlopen`ed later too). In a CPython process, the interpreter's
//! `mem` and `object` allocator domains are also wrapped
//! (`PyMem_SetAllocator`, as tracemalloc does), so objects served by
//! pymalloc's arenas are seen one by one, with Python frames.
//!
//! `leakwatch_detach()` undoes it in the reverse order: the GOT entries
//! and the allocator domains are put back (hooks off), then the last
//! records, a DETACH record (ATTACH 2), the writer thread's exit, the file
//! closed. The library stays loaded (a thread may still be returning from
//! a hook), idle; a later attach reuses it.
//!
//! Both run on a thread the CLI hijacked, between two instructions of the
//! program's: they take no lock the program could hold except the
//! loader's (dlopen, dl_iterate_phdr) and the C library's malloc.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, Ordering};

static ATTACHED: AtomicBool = AtomicBool::new(false);

/// Whether the tracer runs attached to a running process.
pub fn attached() -> bool {
    ATTACHED.load(Ordering::Relaxed)
}

/// Starts tracing into `path` (NUL-terminated). Returns 0, or: 1 tracing
/// already runs (the process is traced by `leakwatch trace` or attached),
/// 2 the file cannot be created, 3 the tracer cannot start, 4 no path.
#[no_mangle]
pub unsafe extern "C" fn leakwatch_attach(path: *const c_char) -> c_int {
    if path.is_null() {
        return 4;
    }
    let was = crate::hooks::set_guard(true);
    // SAFETY: the CLI passes a NUL-terminated path it wrote.
    let path = unsafe { CStr::from_ptr(path) }.to_bytes();
    crate::next::resolve();
    let rc = crate::writer::start_attached(path);
    if rc == 0 {
        ATTACHED.store(true, Ordering::Release);
        let n = crate::got::patch_all();
        if crate::writer::getenv(c"LEAKWATCH_STATS").is_some() || n == 0 {
            let mut msg = *b"attached: 0000000 references redirected to the tracer";
            let mut v = n.min(9_999_999);
            for i in (10..17).rev() {
                msg[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            crate::log(&msg);
        }
        python_domains(true);
    }
    crate::hooks::set_guard(was);
    rc
}

/// Stops tracing and puts the program back as it was (see the module
/// documentation). Returns 0, or 1 when not attached.
#[no_mangle]
pub unsafe extern "C" fn leakwatch_detach() -> c_int {
    if !ATTACHED.swap(false, Ordering::AcqRel) {
        return 1;
    }
    let was = crate::hooks::set_guard(true);
    python_domains(false);
    crate::got::unpatch(None);
    crate::writer::detach_flush();
    crate::hooks::set_guard(was);
    0
}

// ---------------------------------------------------------------------------
// CPython's allocator domains.

#[repr(C)]
#[derive(Clone, Copy)]
struct PyMemAllocatorEx {
    ctx: *mut c_void,
    malloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
}

const EMPTY: PyMemAllocatorEx = PyMemAllocatorEx {
    ctx: core::ptr::null_mut(),
    malloc: None,
    calloc: None,
    realloc: None,
    free: None,
};

/// PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ.
const DOMAINS: [c_int; 2] = [1, 2];

struct Saved(core::cell::UnsafeCell<[PyMemAllocatorEx; 2]>);
// SAFETY: written only by attach/detach (one hijacked thread at a time,
// before the wrappers are installed / after they are removed); read by the
// wrappers, which are installed only while it holds the saved values.
unsafe impl Sync for Saved {}
static SAVED: Saved = Saved(core::cell::UnsafeCell::new([EMPTY; 2]));
static WRAPPED: AtomicBool = AtomicBool::new(false);

type GetSet = unsafe extern "C" fn(c_int, *mut PyMemAllocatorEx);

/// Wraps (`on`) or restores CPython's `mem` and `object` domains. A
/// wrapper calls the saved allocator and records the block; the saved
/// allocators (pymalloc) ignore their context, and so do the wrappers, so
/// a thread that reads a half-written domain mid-swap still calls a valid
/// pair.
fn python_domains(on: bool) {
    // SAFETY: dlsym with NUL-terminated names; the functions have these
    // signatures in CPython 3.8 to 3.13.
    unsafe {
        let get = libc::dlsym(libc::RTLD_DEFAULT, c"PyMem_GetAllocator".as_ptr());
        let set = libc::dlsym(libc::RTLD_DEFAULT, c"PyMem_SetAllocator".as_ptr());
        let inited = libc::dlsym(libc::RTLD_DEFAULT, c"Py_IsInitialized".as_ptr());
        if get.is_null() || set.is_null() || inited.is_null() {
            return;
        }
        let get: GetSet = core::mem::transmute(get);
        let set: GetSet = core::mem::transmute(set);
        let inited: extern "C" fn() -> c_int = core::mem::transmute(inited);
        let saved = &mut *SAVED.0.get();
        if on {
            if inited() == 0 || WRAPPED.load(Ordering::Acquire) {
                return;
            }
            for (i, &d) in DOMAINS.iter().enumerate() {
                get(d, &mut saved[i]);
            }
            if saved.iter().any(|a| a.malloc.is_none() || a.free.is_none()) {
                return;
            }
            WRAPPED.store(true, Ordering::Release);
            let mut w = [
                PyMemAllocatorEx {
                    ctx: core::ptr::null_mut(),
                    malloc: Some(mem_malloc),
                    calloc: Some(mem_calloc),
                    realloc: Some(mem_realloc),
                    free: Some(mem_free),
                },
                PyMemAllocatorEx {
                    ctx: core::ptr::null_mut(),
                    malloc: Some(obj_malloc),
                    calloc: Some(obj_calloc),
                    realloc: Some(obj_realloc),
                    free: Some(obj_free),
                },
            ];
            for (i, &d) in DOMAINS.iter().enumerate() {
                set(d, &mut w[i]);
            }
        } else if WRAPPED.load(Ordering::Acquire) {
            for (i, &d) in DOMAINS.iter().enumerate() {
                set(d, &mut saved[i]);
            }
            // The saved allocators stay readable: a thread may still be
            // inside a wrapper.
            WRAPPED.store(false, Ordering::Release);
        }
    }
}

#[inline(always)]
fn saved(i: usize) -> PyMemAllocatorEx {
    // SAFETY: see `Saved`.
    unsafe { (*SAVED.0.get())[i] }
}

#[inline(always)]
unsafe fn w_malloc(i: usize, size: usize) -> *mut c_void {
    let a = saved(i);
    let Some(f) = a.malloc else {
        return core::ptr::null_mut();
    };
    // SAFETY: the saved allocator with its own context.
    let p = crate::hooks::unrecorded(|| unsafe { f(a.ctx, size) });
    crate::hooks::record_wrapped_alloc(p, size);
    p
}

#[inline(always)]
unsafe fn w_calloc(i: usize, n: usize, size: usize) -> *mut c_void {
    let a = saved(i);
    let Some(f) = a.calloc else {
        return core::ptr::null_mut();
    };
    // SAFETY: the saved allocator with its own context.
    let p = crate::hooks::unrecorded(|| unsafe { f(a.ctx, n, size) });
    crate::hooks::record_wrapped_alloc(p, n.wrapping_mul(size));
    p
}

#[inline(always)]
unsafe fn w_realloc(i: usize, old: *mut c_void, size: usize) -> *mut c_void {
    let a = saved(i);
    let Some(f) = a.realloc else {
        return core::ptr::null_mut();
    };
    if !old.is_null() {
        crate::hooks::record_wrapped_free(old);
    }
    // SAFETY: the saved allocator with its own context.
    let p = crate::hooks::unrecorded(|| unsafe { f(a.ctx, old, size) });
    if p.is_null() && !old.is_null() && size != 0 {
        // Failed: the old block is still there.
        crate::hooks::record_wrapped_alloc(old, size);
    } else {
        crate::hooks::record_wrapped_alloc(p, size);
    }
    p
}

#[inline(always)]
unsafe fn w_free(i: usize, p: *mut c_void) {
    let a = saved(i);
    let Some(f) = a.free else {
        return;
    };
    if !p.is_null() {
        crate::hooks::record_wrapped_free(p);
    }
    // SAFETY: the saved allocator with its own context.
    crate::hooks::unrecorded(|| unsafe { f(a.ctx, p) });
}

unsafe extern "C" fn mem_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_malloc(0, size) }
}
unsafe extern "C" fn mem_calloc(_: *mut c_void, n: usize, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_calloc(0, n, size) }
}
unsafe extern "C" fn mem_realloc(_: *mut c_void, p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_realloc(0, p, size) }
}
unsafe extern "C" fn mem_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: forwarding.
    unsafe { w_free(0, p) }
}
unsafe extern "C" fn obj_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_malloc(1, size) }
}
unsafe extern "C" fn obj_calloc(_: *mut c_void, n: usize, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_calloc(1, n, size) }
}
unsafe extern "C" fn obj_realloc(_: *mut c_void, p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarding.
    unsafe { w_realloc(1, p, size) }
}
unsafe extern "C" fn obj_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: forwarding.
    unsafe { w_free(1, p) }
}
