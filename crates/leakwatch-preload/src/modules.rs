//! The module map: every loaded ELF object with its load bias and segments,
//! recorded at start-up and again after each dlopen/dlclose, so addresses
//! can be symbolized after the program is gone.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::ring::{Rec, Ring, Stamp};
use crate::{REC_MODULE, REC_UNLOAD};

const MAX_MODULES: usize = 2048;

#[derive(Clone, Copy)]
struct Known {
    base: u64,
    /// Start of the range registered with the unwinder (0: none).
    unwind_key: u64,
    name_hash: u64,
    seen: bool,
}

struct Table {
    known: [Known; MAX_MODULES],
    len: usize,
}

static mut TABLE: Table = Table {
    known: [Known {
        base: 0,
        unwind_key: 0,
        name_hash: 0,
        seen: false,
    }; MAX_MODULES],
    len: 0,
};
static LOCK: AtomicBool = AtomicBool::new(false);

pub fn lock() {
    while LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
}

pub fn unlock() {
    LOCK.store(false, Ordering::Release);
}

/// Forgets every module (a forked child starting its own file).
pub fn clear() {
    // SAFETY: called with LOCK held or single-threaded (fork child).
    unsafe { (*core::ptr::addr_of_mut!(TABLE)).len = 0 };
    crate::unwind::reset();
}

struct ScanCtx {
    ring: *mut Ring,
    stamp: Stamp,
    update: crate::unwind::Update,
}

fn name_hash(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, arg: *mut c_void) -> c_int {
    // SAFETY: dl_iterate_phdr passes valid pointers for the callback's duration.
    let (info, ctx) = unsafe { (&*info, &mut *arg.cast::<ScanCtx>()) };
    let mut exe_buf = [0u8; 1024];
    // SAFETY: dlpi_name is a NUL-terminated string or null.
    let mut name: &[u8] = if info.dlpi_name.is_null() {
        &[]
    } else {
        unsafe { core::ffi::CStr::from_ptr(info.dlpi_name) }.to_bytes()
    };
    if name.is_empty() {
        // The main program has no name here; /proc/self/exe has it.
        // SAFETY: the buffer outlives the call; readlink does not NUL-terminate.
        let n = unsafe {
            libc::readlink(
                c"/proc/self/exe".as_ptr(),
                exe_buf.as_mut_ptr().cast::<c_char>(),
                exe_buf.len(),
            )
        };
        if n > 0 {
            name = &exe_buf[..n as usize];
        }
    }
    let base = info.dlpi_addr;
    let h = name_hash(name);
    // SAFETY: called under LOCK.
    let table = unsafe { &mut *core::ptr::addr_of_mut!(TABLE) };
    for k in &mut table.known[..table.len] {
        if k.base == base && k.name_hash == h {
            k.seen = true;
            return 0;
        }
    }
    // SAFETY: info describes a loaded object, mapped while it stays loaded.
    let unwind_key = unsafe { ctx.update.add(info) };
    if table.len < MAX_MODULES {
        table.known[table.len] = Known {
            base,
            unwind_key,
            name_hash: h,
            seen: true,
        };
        table.len += 1;
    }
    let mut rec = Rec::<4096>::new(REC_MODULE);
    // SAFETY: ctx.ring is the calling thread's ring.
    let ring = unsafe { &mut *ctx.ring };
    rec.stamp(ring.stamp_delta(ctx.stamp));
    rec.u(base);
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
    let phdrs = unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let loads = phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD).count();
    rec.u(loads as u64);
    for p in phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD) {
        rec.u(p.p_vaddr);
        rec.u(p.p_memsz);
        rec.u(p.p_flags as u64);
    }
    let name = &name[..name.len().min(3000)];
    rec.u(name.len() as u64);
    rec.bytes(name);
    ring.push(rec.as_slice());
    0
}

/// Emits MODULE records for objects not yet recorded and UNLOAD records for
/// recorded ones that are gone. Takes the module lock.
pub unsafe fn rescan(ring: *mut Ring, stamp: Stamp) {
    lock();
    // SAFETY: under LOCK.
    let table = unsafe { &mut *core::ptr::addr_of_mut!(TABLE) };
    for k in &mut table.known[..table.len] {
        k.seen = false;
    }
    let mut ctx = ScanCtx {
        ring,
        stamp,
        update: crate::unwind::Update::new(),
    };
    // SAFETY: the callback only touches ctx and TABLE.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut ctx as *mut ScanCtx).cast()) };
    let mut i = 0;
    while i < table.len {
        if table.known[i].seen {
            i += 1;
            continue;
        }
        let mut rec = Rec::<48>::new(REC_UNLOAD);
        // SAFETY: the calling thread's ring.
        let r = unsafe { &mut *ring };
        rec.stamp(r.stamp_delta(stamp));
        rec.u(table.known[i].base);
        r.push(rec.as_slice());
        ctx.update.remove(table.known[i].unwind_key);
        table.known[i] = table.known[table.len - 1];
        table.len -= 1;
    }
    ctx.update.publish();
    unlock();
}

/// Finds the address range of the object containing `addr`.
pub fn range_of(addr: usize) -> (usize, usize) {
    struct Find {
        addr: usize,
        lo: usize,
        hi: usize,
    }
    unsafe extern "C" fn find(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration.
        let (info, f) = unsafe { (&*info, &mut *arg.cast::<Find>()) };
        // SAFETY: dlpi_phdr points at dlpi_phnum headers.
        let phdrs =
            unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let mut lo = usize::MAX;
        let mut hi = 0;
        for p in phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD) {
            let s = (info.dlpi_addr + p.p_vaddr) as usize;
            lo = lo.min(s);
            hi = hi.max(s + p.p_memsz as usize);
        }
        if f.addr >= lo && f.addr < hi {
            f.lo = lo;
            f.hi = hi;
            return 1;
        }
        0
    }
    let mut f = Find { addr, lo: 0, hi: 0 };
    // SAFETY: the callback only writes into `f`.
    unsafe { libc::dl_iterate_phdr(Some(find), (&mut f as *mut Find).cast()) };
    (f.lo, f.hi)
}
