//! Stack capture without frame pointers.
//!
//! The fast path is framehop: a DWARF CFI unwinder over each module's
//! in-memory `.eh_frame_hdr`/`.eh_frame`, registered ahead of time from
//! `dl_iterate_phdr` (and again after dlopen/dlclose), with a per-thread
//! cache of unwind rules, so a warm unwind is a few table lookups and stack
//! reads per frame and never allocates. libgcc's `_Unwind_Backtrace`
//! (correct everywhere, but it interprets CFI for every frame every time)
//! is the fallback: on an alternate signal stack, before the unwinder
//! exists, or when `LEAKWATCH_UNWINDER=libgcc`.
//!
//! The unwinder is shared by all threads and replaced, never mutated, when
//! modules change (copy, update, publish the new pointer). Replaced copies
//! are deliberately never freed since another thread may still be reading
//! them; there is one per dlopen/dlclose.

use core::ffi::{c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, MustNotAllocateDuringUnwind, Unwinder};

/// Deepest stack recorded; deeper stacks keep their innermost frames.
pub const MAX_FRAMES: usize = 128;

pub(crate) type Fast = UnwinderX86_64<&'static [u8], MustNotAllocateDuringUnwind>;
/// One way of the per-thread unwind rule cache.
type Way = CacheX86_64<MustNotAllocateDuringUnwind>;
/// Ways of the rule cache. framehop's is direct-mapped, 509 entries:
/// cc1plus's many functions thrashed it (9 % of its traced CPU went to
/// gimli reading CFI again). A frame's way is chosen by its address above
/// framehop's slot (address mod 509), so addresses that collide there
/// mostly land in different ways. 16 ways (about 190 KiB per ring, reused
/// by the ring's next thread) against 4: cc1plus's traced run 3 % faster.
const WAYS: usize = 16;
/// Framehop's slot count (its `CACHE_ENTRY_COUNT`).
const SLOTS: u64 = 509;

/// Per-thread unwind rule cache.
#[derive(Default)]
pub struct Cache {
    ways: [Way; WAYS],
}

impl Cache {
    /// The way for a frame at return address `ip`.
    #[inline(always)]
    pub fn way(&mut self, ip: u64) -> &mut Way {
        &mut self.ways[(ip / SLOTS) as usize % WAYS]
    }
}

static FAST: AtomicPtr<Fast> = AtomicPtr::new(null_mut());
/// Set by `LEAKWATCH_UNWINDER=libgcc`.
pub static FORCE_LIBGCC: AtomicBool = AtomicBool::new(false);

/// This library's own code range: its frames at the top of a stack are
/// skipped so a stack starts at the program's call to malloc.
pub static SELF_START: AtomicUsize = AtomicUsize::new(0);
pub static SELF_END: AtomicUsize = AtomicUsize::new(0);

const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
const DW_EH_PE_PCREL_SDATA4: u8 = 0x1b;

/// A pending change to the shared unwinder, built under the module lock.
pub struct Update {
    next: Option<Fast>,
}

impl Update {
    pub fn new() -> Self {
        Update { next: None }
    }

    fn target(&mut self) -> &mut Fast {
        self.next.get_or_insert_with(|| {
            let cur = FAST.load(Ordering::Acquire);
            if cur.is_null() {
                Fast::new()
            } else {
                // SAFETY: published unwinders are never freed.
                unsafe { (*cur).clone() }
            }
        })
    }

    /// Registers a loaded object; returns the start of its address range
    /// (the key to remove it later), or 0 when it has no usable unwind info.
    pub unsafe fn add(&mut self, info: &libc::dl_phdr_info) -> u64 {
        let base = info.dlpi_addr;
        // SAFETY: dlpi_phdr points at dlpi_phnum headers.
        let phdrs =
            unsafe { core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        let mut text: Option<(u64, u64)> = None;
        let mut hdr: Option<(u64, u64)> = None;
        for p in phdrs {
            if p.p_type == libc::PT_LOAD {
                lo = lo.min(p.p_vaddr);
                hi = hi.max(p.p_vaddr + p.p_memsz);
                if p.p_flags & libc::PF_X != 0 && text.is_none() {
                    text = Some((p.p_vaddr, p.p_vaddr + p.p_memsz));
                }
            } else if p.p_type == PT_GNU_EH_FRAME {
                hdr = Some((p.p_vaddr, p.p_vaddr + p.p_memsz));
            }
        }
        let (Some(text), Some(hdr)) = (text, hdr) else {
            return 0;
        };
        if lo >= hi || hdr.1 - hdr.0 < 8 {
            return 0;
        }
        // SAFETY: the eh_frame_hdr segment is mapped readable.
        let hdr_bytes: &'static [u8] = unsafe {
            core::slice::from_raw_parts((base + hdr.0) as *const u8, (hdr.1 - hdr.0) as usize)
        };
        if hdr_bytes[0] != 1 || hdr_bytes[1] != DW_EH_PE_PCREL_SDATA4 {
            return 0;
        }
        let rel = i32::from_le_bytes([hdr_bytes[4], hdr_bytes[5], hdr_bytes[6], hdr_bytes[7]]);
        let eh_frame = (hdr.0 as i64 + 4 + rel as i64) as u64;
        // .eh_frame runs to the end of the PT_LOAD segment holding it.
        let Some(seg_end) = phdrs
            .iter()
            .filter(|p| p.p_type == libc::PT_LOAD)
            .find(|p| eh_frame >= p.p_vaddr && eh_frame < p.p_vaddr + p.p_memsz)
            .map(|p| p.p_vaddr + p.p_memsz)
        else {
            return 0;
        };
        // SAFETY: both ranges lie inside mapped, readable PT_LOAD segments.
        let (eh_bytes, text_bytes): (&'static [u8], &'static [u8]) = unsafe {
            (
                core::slice::from_raw_parts(
                    (base + eh_frame) as *const u8,
                    (seg_end - eh_frame) as usize,
                ),
                core::slice::from_raw_parts(
                    (base + text.0) as *const u8,
                    (text.1 - text.0) as usize,
                ),
            )
        };
        let section_info = ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: Some(text.0..text.1),
            text: Some(text_bytes),
            eh_frame_svma: Some(eh_frame..seg_end),
            eh_frame: Some(eh_bytes),
            eh_frame_hdr_svma: Some(hdr.0..hdr.1),
            eh_frame_hdr: Some(hdr_bytes),
            ..Default::default()
        };
        let module = framehop::Module::new(String::new(), base + lo..base + hi, base, section_info);
        self.target().add_module(module);
        base + lo
    }

    /// Forgets the object whose range starts at `start`.
    pub fn remove(&mut self, start: u64) {
        if start != 0 {
            self.target().remove_module(start);
        }
    }

    /// Publishes the new unwinder, if anything changed.
    pub fn publish(self) {
        if let Some(next) = self.next {
            let p = Box::into_raw(Box::new(next));
            FAST.store(p, Ordering::Release);
        }
    }
}

/// The shared fast unwinder, unless there is none yet or libgcc is forced.
#[inline(always)]
pub(crate) fn fast() -> Option<&'static Fast> {
    let fast = FAST.load(Ordering::Acquire);
    if fast.is_null() || FORCE_LIBGCC.load(Ordering::Relaxed) {
        return None;
    }
    // SAFETY: published unwinders are never freed.
    Some(unsafe { &*fast })
}

/// Drops the registered modules (a forked child re-registers them all).
pub fn reset() {
    FAST.store(null_mut(), Ordering::Release);
}

const URC_NO_REASON: c_int = 0;
const URC_END_OF_STACK: c_int = 5;

extern "C" {
    fn _Unwind_Backtrace(
        cb: extern "C" fn(*mut c_void, *mut c_void) -> c_int,
        arg: *mut c_void,
    ) -> c_int;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
}

struct Collect {
    ips: *mut usize,
    n: usize,
    skipping: bool,
    lo: usize,
    hi: usize,
}

impl Collect {
    /// Adds a frame; false when the buffer is full.
    #[inline(always)]
    fn push(&mut self, ip: usize) -> bool {
        if self.skipping {
            if ip >= self.lo && ip < self.hi {
                return true;
            }
            self.skipping = false;
        }
        // SAFETY: n < MAX_FRAMES is kept by the return value below.
        unsafe { *self.ips.add(self.n) = ip };
        self.n += 1;
        self.n < MAX_FRAMES
    }
}

extern "C" fn step(ctx: *mut c_void, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Collect` passed to `_Unwind_Backtrace` below.
    let c = unsafe { &mut *arg.cast::<Collect>() };
    // SAFETY: `ctx` is the live unwind context handed to this callback.
    let ip = unsafe { _Unwind_GetIP(ctx) };
    if ip == 0 || !c.push(ip) {
        return URC_END_OF_STACK;
    }
    URC_NO_REASON
}

/// Fills `ips` with the caller's return addresses, innermost first, and
/// returns how many were written. `stack` is the calling thread's stack
/// range; `cache` its unwind rule cache; `entry` the stack and frame
/// pointers at the hook's entry, when known.
#[inline(never)]
pub fn capture(
    ips: &mut [usize; MAX_FRAMES],
    cache: Option<&mut Cache>,
    stack: (u64, u64),
    entry: Option<(u64, u64)>,
) -> usize {
    let mut c = Collect {
        ips: ips.as_mut_ptr(),
        n: 0,
        skipping: true,
        lo: SELF_START.load(Ordering::Relaxed),
        hi: SELF_END.load(Ordering::Relaxed),
    };
    let fast = FAST.load(Ordering::Acquire);
    let (rip, rsp, rbp): (u64, u64, u64);
    // SAFETY: reads three registers, no memory access.
    unsafe {
        core::arch::asm!(
            "lea {0}, [rip]",
            "mov {1}, rsp",
            "mov {2}, rbp",
            out(reg) rip,
            out(reg) rsp,
            out(reg) rbp,
            options(nomem, nostack, preserves_flags)
        );
    }
    let on_stack = rsp >= stack.0 && rsp < stack.1;
    match cache {
        Some(cache) if !fast.is_null() && on_stack && !FORCE_LIBGCC.load(Ordering::Relaxed) => {
            // SAFETY: published unwinders are never freed.
            let fast = unsafe { &*fast };
            let top = stack.1;
            let lo = rsp;
            let mut read = |addr: u64| {
                if addr >= lo && addr.checked_add(8).is_some_and(|e| e <= top) {
                    // SAFETY: inside this thread's own mapped stack.
                    Ok(unsafe { (addr as *const u64).read() })
                } else {
                    Err(())
                }
            };
            // Start at the hook's caller when the trampoline told us where
            // its frame is: [sp] holds the return address into the caller.
            let start = entry.and_then(|(sp, bp)| {
                let ra = read(sp).ok().filter(|&ra| ra > 1)?;
                Some((ra, sp + 8, bp))
            });
            match start {
                Some((ra, sp, bp)) => {
                    c.skipping = false;
                    c.push(ra as usize);
                    // The caller is at a call, not interrupted: unwind it
                    // as a return address (as `memo` does, so both give the
                    // same stack).
                    let mut regs = UnwindRegsX86_64::new(ra, sp, bp);
                    let mut address = FrameAddress::from_return_address(ra);
                    while let Some(addr) = address {
                        let way = cache.way(addr.address());
                        match fast.unwind_frame(addr, &mut regs, way, &mut read) {
                            Ok(Some(next)) if c.push(next as usize) => {
                                address = FrameAddress::from_return_address(next);
                            }
                            _ => break,
                        }
                    }
                }
                None => {
                    let regs = UnwindRegsX86_64::new(rip, rsp, rbp);
                    let mut it = fast.iter_frames(rip, regs, cache.way(0), &mut read);
                    while let Ok(Some(frame)) = it.next() {
                        if !c.push(frame.address() as usize) {
                            break;
                        }
                    }
                }
            }
        }
        _ => {
            // SAFETY: the callback only writes inside `ips`.
            unsafe { _Unwind_Backtrace(step, (&mut c as *mut Collect).cast()) };
        }
    }
    c.n
}

/// Code of glibc's `pthread_getattr_np`, `[start, end)`: it allocates
/// (directly and through `pthread_attr_setaffinity_np`) while holding the
/// thread's own descriptor lock, so a thread inside it must not ask for its
/// stack range, which calls it again and waits on that lock forever (see
/// `hooks::learn_stack`).
static GETATTR_START: AtomicUsize = AtomicUsize::new(0);
static GETATTR_END: AtomicUsize = AtomicUsize::new(0);

/// Finds `pthread_getattr_np`'s code (at start-up, with the other names).
pub fn resolve_getattr() {
    extern "C" {
        fn dladdr1(
            addr: *const c_void,
            info: *mut libc::Dl_info,
            extra: *mut *mut c_void,
            flags: libc::c_int,
        ) -> libc::c_int;
    }
    const RTLD_DL_SYMENT: libc::c_int = 1;
    // SAFETY: dlsym with a NUL-terminated name, then dladdr1 filling the
    // two out-parameters (the symbol entry is the loader's, read-only).
    unsafe {
        let f = libc::dlsym(libc::RTLD_DEFAULT, c"pthread_getattr_np".as_ptr());
        if f.is_null() {
            return;
        }
        let mut info: libc::Dl_info = core::mem::zeroed();
        let mut sym: *mut c_void = null_mut();
        if dladdr1(f, &mut info, &mut sym, RTLD_DL_SYMENT) == 0 || sym.is_null() {
            return;
        }
        let sym = &*sym.cast::<libc::Elf64_Sym>();
        let start = f as usize;
        // Without a size, a page covers the function (a few hundred bytes).
        let len = if sym.st_size > 0 {
            sym.st_size as usize
        } else {
            4096
        };
        GETATTR_START.store(start, Ordering::Relaxed);
        GETATTR_END.store(start + len, Ordering::Relaxed);
    }
}

/// Whether `pthread_getattr_np`'s code was found.
pub fn getattr_known() -> bool {
    GETATTR_START.load(Ordering::Relaxed) != 0
}

/// Whether the return address `ra` lies in `pthread_getattr_np`.
pub fn in_getattr(ra: u64) -> bool {
    let start = GETATTR_START.load(Ordering::Relaxed) as u64;
    // A return address is one past its call: the call itself is inside.
    let at = ra.wrapping_sub(1);
    start != 0 && at >= start && at < GETATTR_END.load(Ordering::Relaxed) as u64
}

/// The calling thread's stack range, for bounded stack reads.
pub fn thread_stack() -> (u64, u64) {
    // SAFETY: standard pthread attribute queries on the calling thread; they
    // may allocate, which the caller's guard routes to glibc untraced.
    unsafe {
        let mut attr: libc::pthread_attr_t = core::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return (0, 0);
        }
        let mut addr: *mut c_void = null_mut();
        let mut size: usize = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            return (0, 0);
        }
        (addr as u64, addr as u64 + size as u64)
    }
}

/// FxHash-style hash of a stack; never 0 (0 marks an empty cache entry).
#[inline]
pub fn hash(ips: &[usize]) -> u64 {
    let mut h: u64 = ips.len() as u64;
    for &ip in ips {
        h = (h.rotate_left(5) ^ ip as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    h | 1
}
