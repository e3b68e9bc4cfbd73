//! Redirecting a loaded object's references to the allocation functions to
//! the hooks, by rewriting its GOT/PLT entries, and putting them back.
//!
//! LD_PRELOAD puts the hooks first in the global lookup scope, which is
//! enough for every object that binds through it. A library loaded with
//! `RTLD_DEEPBIND` binds to its own scope first (itself, its own
//! dependencies: the C library's malloc), so its calls would bypass the
//! hooks: after such a `dlopen`, the objects it brought in are patched here.
//! The same module serves attaching to a running process (every module
//! patched, and unpatched on detach).
//!
//! A patch rewrites each `R_X86_64_JUMP_SLOT`, `R_X86_64_GLOB_DAT` and
//! `R_X86_64_64` (addend 0) relocation against a hooked name. The GOT may
//! be read-only (RELRO): its page is made writable around the store and
//! read-only again. Each store is one aligned 8-byte word, so a thread
//! calling through the entry meanwhile sees either the old or the new
//! function, both valid. Every patch is logged with the value it replaced,
//! so it can be undone (only where the entry still holds the hook).

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::elf::{self, Dynamic};
use crate::next::F;

/// Names redirected, with the tracer's own definition of each.
const HOOKED: &[F] = &[
    F::malloc,
    F::free,
    F::calloc,
    F::realloc,
    F::reallocarray,
    F::memalign,
    F::aligned_alloc,
    F::posix_memalign,
    F::valloc,
    F::pvalloc,
    F::malloc_usable_size,
    F::free_sized,
    F::free_aligned_sized,
    F::cfree,
    F::malloc_size,
    // jemalloc's and tcmalloc's own entry points: a program linked against
    // them calls these directly, and an attach must see those blocks too.
    F::mallocx,
    F::rallocx,
    F::xallocx,
    F::sallocx,
    F::dallocx,
    F::sdallocx,
    F::nallocx,
    F::tc_malloc,
    F::tc_malloc_skip_new_handler,
    F::tc_free,
    F::tc_free_sized,
    F::tc_realloc,
    F::tc_calloc,
    F::tc_cfree,
    F::tc_memalign,
    F::tc_posix_memalign,
    F::tc_valloc,
    F::tc_pvalloc,
    F::tc_malloc_size,
    F::tc_nallocx,
    F::tc_new,
    F::tc_new_nothrow,
    F::tc_newarray,
    F::tc_newarray_nothrow,
    F::tc_new_aligned,
    F::tc_new_aligned_nothrow,
    F::tc_newarray_aligned,
    F::tc_newarray_aligned_nothrow,
    F::tc_delete,
    F::tc_delete_sized,
    F::tc_delete_nothrow,
    F::tc_deletearray,
    F::tc_deletearray_sized,
    F::tc_deletearray_nothrow,
    F::tc_delete_aligned,
    F::tc_delete_sized_aligned,
    F::tc_delete_aligned_nothrow,
    F::tc_deletearray_aligned,
    F::tc_deletearray_sized_aligned,
    F::tc_deletearray_aligned_nothrow,
    F::new,
    F::new_array,
    F::new_nothrow,
    F::new_array_nothrow,
    F::new_aligned,
    F::new_array_aligned,
    F::new_aligned_nothrow,
    F::new_array_aligned_nothrow,
    F::delete,
    F::delete_array,
    F::delete_sized,
    F::delete_array_sized,
    F::delete_nothrow,
    F::delete_array_nothrow,
    F::delete_aligned,
    F::delete_array_aligned,
    F::delete_sized_aligned,
    F::delete_array_sized_aligned,
    F::delete_aligned_nothrow,
    F::delete_array_aligned_nothrow,
    F::dlopen,
    F::dlclose,
    F::exit,
    F::abort,
    F::dup2,
    F::dup3,
    F::close,
    F::close_range,
    F::closefrom,
    F::setuid,
    F::setgid,
    F::seteuid,
    F::setegid,
    F::setreuid,
    F::setregid,
    F::setresuid,
    F::setresgid,
    F::setgroups,
    F::initgroups,
];

/// The tracer's own address for each name of `HOOKED` (0: not found).
static HOOK_ADDR: [AtomicUsize; HOOKED.len()] = [const { AtomicUsize::new(0) }; HOOKED.len()];
static HOOKS_KNOWN: AtomicBool = AtomicBool::new(false);

/// One rewritten entry.
#[derive(Clone, Copy)]
struct Patch {
    /// The object it belongs to (its load bias), to forget it on unload.
    object: u64,
    slot: u64,
    old: u64,
    new: u64,
}

const MAX_PATCHES: usize = 8192;

struct Log {
    patches: [Patch; MAX_PATCHES],
    len: usize,
}

static mut LOG: Log = Log {
    patches: [Patch {
        object: 0,
        slot: 0,
        old: 0,
        new: 0,
    }; MAX_PATCHES],
    len: 0,
};
static LOCK: AtomicBool = AtomicBool::new(false);

fn lock() {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
}

fn unlock() {
    LOCK.store(false, Ordering::Release);
}

/// Finds the tracer's own definitions, through a handle on its own object
/// (`dlsym` on it answers this object's definition first).
fn hooks() -> bool {
    if HOOKS_KNOWN.load(Ordering::Acquire) {
        return true;
    }
    // SAFETY: dladdr on one of our own functions, dlopen of our own
    // (already loaded) object, dlsym with NUL-terminated names.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(hooks as *const c_void, &mut info) == 0 || info.dli_fname.is_null() {
            return false;
        }
        type Dlopen = unsafe extern "C" fn(*const libc::c_char, c_int) -> *mut c_void;
        let Some(real_dlopen) = crate::next::func::<Dlopen>(F::dlopen) else {
            return false;
        };
        let me = real_dlopen(info.dli_fname, libc::RTLD_NOLOAD | libc::RTLD_LAZY);
        if me.is_null() {
            return false;
        }
        for (slot, &f) in HOOK_ADDR.iter().zip(HOOKED) {
            let p = libc::dlsym(me, crate::next::name_of(f).as_ptr());
            slot.store(p as usize, Ordering::Relaxed);
        }
    }
    HOOKS_KNOWN.store(true, Ordering::Release);
    true
}

/// Our own definition for a relocation's symbol name, if it is hooked.
fn hook_for(name: &CStr) -> Option<u64> {
    HOOKED
        .iter()
        .position(|&f| crate::next::name_of(f) == name)
        .map(|i| HOOK_ADDR[i].load(Ordering::Relaxed) as u64)
        .filter(|&a| a != 0)
}

/// Stores `value` into the GOT word at `slot`, lifting RELRO around it.
///
/// # Safety
/// `slot` must be a GOT word of a loaded object whose read-only range is
/// `relro`.
unsafe fn store(slot: u64, value: u64, relro: (u64, u64)) -> bool {
    let page = slot & !(elf::page_size() - 1);
    let protected = slot >= relro.0 && slot < relro.1;
    if protected {
        // SAFETY: one page of the object's own RELRO range.
        let rc = unsafe {
            libc::mprotect(
                page as *mut c_void,
                elf::page_size() as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return false;
        }
    }
    // SAFETY: an aligned GOT word, now writable; one atomic store.
    unsafe { AtomicUsize::from_ptr(slot as *mut usize).store(value as usize, Ordering::Release) };
    if protected {
        // SAFETY: as above, back to what the loader set.
        unsafe {
            libc::mprotect(
                page as *mut c_void,
                elf::page_size() as usize,
                libc::PROT_READ,
            )
        };
    }
    true
}

/// Redirects the object's references to hooked functions to the hooks;
/// returns how many entries changed. Entries that already point at the
/// hook are left alone.
///
/// # Safety
/// `info` must describe a loaded object, and the caller must make sure the
/// object is not unloaded meanwhile (the loader's callbacks hold its lock).
pub unsafe fn patch_object(info: &libc::dl_phdr_info) -> usize {
    if !hooks() {
        return 0;
    }
    // SAFETY: the object is loaded (caller's contract).
    let Some(dynamic) = (unsafe { Dynamic::of(info) }) else {
        return 0;
    };
    let mut changed = 0;
    lock();
    for r in dynamic.relocations() {
        let kind = (r.info & 0xffff_ffff) as u32;
        let index = (r.info >> 32) as u32;
        let eligible = match kind {
            elf::R_X86_64_JUMP_SLOT | elf::R_X86_64_GLOB_DAT => true,
            elf::R_X86_64_64 => r.addend == 0,
            _ => false,
        };
        if !eligible || index == 0 {
            continue;
        }
        let Some(hook) = hook_for(dynamic.symbol_name(index)) else {
            continue;
        };
        let slot = dynamic.base + r.offset;
        if slot % 8 != 0 {
            continue;
        }
        // SAFETY: a relocated word of a loaded object.
        let old = unsafe { (slot as *const u64).read_volatile() };
        if old == hook {
            continue;
        }
        // SAFETY: log access under LOCK.
        let log = unsafe { &mut *core::ptr::addr_of_mut!(LOG) };
        if log.len == MAX_PATCHES {
            break;
        }
        // SAFETY: a GOT word of this object; its RELRO range.
        if unsafe { store(slot, hook, dynamic.relro) } {
            log.patches[log.len] = Patch {
                object: dynamic.base,
                slot,
                old,
                new: hook,
            };
            log.len += 1;
            changed += 1;
        }
    }
    unlock();
    changed
}

/// Puts back every entry patched in the object at `object` (all objects
/// when None) that still holds the hook.
pub fn unpatch(object: Option<u64>) {
    lock();
    // SAFETY: log access under LOCK.
    let log = unsafe { &mut *core::ptr::addr_of_mut!(LOG) };
    let mut i = 0;
    while i < log.len {
        let p = log.patches[i];
        if object.is_some_and(|o| o != p.object) {
            i += 1;
            continue;
        }
        // SAFETY: patched entries belong to objects still loaded (unloaded
        // ones are forgotten by `forget_unloaded`).
        unsafe {
            if (p.slot as *const u64).read_volatile() == p.new {
                let relro = relro_of(p.object);
                store(p.slot, p.old, relro);
            }
        }
        log.patches[i] = log.patches[log.len - 1];
        log.len -= 1;
    }
    unlock();
}

/// The RELRO range of the loaded object at `base`.
fn relro_of(base: u64) -> (u64, u64) {
    struct Find {
        base: u64,
        relro: (u64, u64),
    }
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is the Find below.
        let (info, f) = unsafe { (&*info, &mut *arg.cast::<Find>()) };
        if info.dlpi_addr != f.base {
            return 0;
        }
        // SAFETY: a loaded object, inside the loader's callback.
        if let Some(d) = unsafe { Dynamic::of(info) } {
            f.relro = d.relro;
        }
        1
    }
    let mut f = Find {
        base,
        relro: (0, 0),
    };
    // SAFETY: the callback only writes into `f`.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut f as *mut Find).cast()) };
    f.relro
}

/// Drops the log entries of objects no longer loaded (after `dlclose`).
pub fn forget_unloaded() {
    let mut bases = [0u64; 512];
    let n = loaded_bases(&mut bases);
    lock();
    // SAFETY: log access under LOCK.
    let log = unsafe { &mut *core::ptr::addr_of_mut!(LOG) };
    let mut i = 0;
    while i < log.len {
        if n < bases.len() && !bases[..n].contains(&log.patches[i].object) {
            log.patches[i] = log.patches[log.len - 1];
            log.len -= 1;
        } else {
            i += 1;
        }
    }
    unlock();
}

/// Fills `out` with the load biases of the loaded objects; returns how
/// many there are (more than `out.len()` when it was too small).
fn loaded_bases(out: &mut [u64]) -> usize {
    struct Collect<'a> {
        out: &'a mut [u64],
        n: usize,
    }
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is the Collect below.
        let (info, c) = unsafe { (&*info, &mut *arg.cast::<Collect>()) };
        if c.n < c.out.len() {
            c.out[c.n] = info.dlpi_addr;
        }
        c.n += 1;
        0
    }
    let mut c = Collect { out, n: 0 };
    // SAFETY: the callback only writes into `c`.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut c as *mut Collect).cast()) };
    c.n
}

/// Objects loaded before the RTLD_DEEPBIND `dlopen` in progress.
pub struct Before {
    bases: [u64; 512],
    n: usize,
}

impl Before {
    pub fn now() -> Before {
        let mut b = Before {
            bases: [0; 512],
            n: 0,
        };
        b.n = loaded_bases(&mut b.bases);
        b
    }

    fn had(&self, base: u64) -> bool {
        self.n > self.bases.len() || self.bases[..self.n].contains(&base)
    }
}

/// After a `dlopen` with RTLD_DEEPBIND: patches the objects it loaded.
pub fn redirect_deepbind(before: &Before) {
    // Resolved first: it calls dlopen, not to be done inside the loader's
    // iteration.
    if !hooks() {
        return;
    }
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is the Before.
        let (info, before) = unsafe { (&*info, &*arg.cast::<Before>()) };
        if !before.had(info.dlpi_addr) {
            // SAFETY: loaded, and kept loaded by the loader's lock held
            // during this callback.
            unsafe { patch_object(info) };
        }
        0
    }
    // SAFETY: the callback only reads `before` and patches objects.
    unsafe {
        libc::dl_iterate_phdr(
            Some(visit),
            (before as *const Before).cast_mut().cast::<c_void>(),
        )
    };
}

/// After attaching to a running process: redirects every loaded object's
/// references to the hooks, except this library's own and the dynamic
/// loader's. Returns how many entries changed.
pub fn patch_all() -> usize {
    if !hooks() {
        return 0;
    }
    struct Ctx {
        own: u64,
        changed: usize,
    }
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is the Ctx below.
        let (info, ctx) = unsafe { (&*info, &mut *arg.cast::<Ctx>()) };
        if info.dlpi_addr == ctx.own {
            return 0;
        }
        if !info.dlpi_name.is_null() {
            // SAFETY: the loader's NUL-terminated name.
            let name = unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes();
            if name.windows(6).any(|w| w == b"ld-lin") || name.windows(8).any(|w| w == b"/ld.so") {
                return 0;
            }
        }
        // SAFETY: loaded, and kept loaded by the loader's lock held during
        // this callback.
        ctx.changed += unsafe { patch_object(info) };
        0
    }
    let mut ctx = Ctx {
        own: own_base(),
        changed: 0,
    };
    // SAFETY: the callback only patches objects and writes into `ctx`.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut ctx as *mut Ctx).cast()) };
    ctx.changed
}

/// This library's load bias.
fn own_base() -> u64 {
    // SAFETY: dladdr on one of our own functions.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(own_base as *const c_void, &mut info) == 0 {
            return u64::MAX;
        }
        let mut base = u64::MAX;
        unsafe extern "C" fn visit(
            info: *mut libc::dl_phdr_info,
            _: usize,
            arg: *mut c_void,
        ) -> c_int {
            // SAFETY: valid for the callback's duration; arg is (fbase, out).
            let (info, want) = unsafe { (&*info, &mut *arg.cast::<(u64, u64)>()) };
            let n = info.dlpi_phnum as usize;
            for i in 0..n {
                // SAFETY: dlpi_phdr holds dlpi_phnum headers.
                let ph = unsafe { &*info.dlpi_phdr.add(i) };
                if ph.p_type == libc::PT_LOAD
                    && ph.p_offset == 0
                    && info.dlpi_addr + ph.p_vaddr == want.0
                {
                    want.1 = info.dlpi_addr;
                    return 1;
                }
            }
            0
        }
        let mut want = (info.dli_fbase as u64, u64::MAX);
        libc::dl_iterate_phdr(Some(visit), (&mut want as *mut (u64, u64)).cast());
        if want.1 != u64::MAX {
            base = want.1;
        }
        base
    }
}
