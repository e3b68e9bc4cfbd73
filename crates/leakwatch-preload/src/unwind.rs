//! Stack capture without frame pointers, through libgcc's DWARF unwinder.
//!
//! With glibc ≥ 2.35 and GCC ≥ 12 libgcc finds each frame's unwind table
//! with `_dl_find_object`, which takes no lock and does not allocate, so
//! `_Unwind_Backtrace` is safe inside malloc and scales across threads.

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicUsize, Ordering};

/// Deepest stack recorded; deeper stacks keep their innermost frames.
pub const MAX_FRAMES: usize = 128;

const URC_NO_REASON: c_int = 0;
const URC_END_OF_STACK: c_int = 5;

extern "C" {
    fn _Unwind_Backtrace(
        cb: extern "C" fn(*mut c_void, *mut c_void) -> c_int,
        arg: *mut c_void,
    ) -> c_int;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
}

/// This library's own code range: its frames at the top of a stack are
/// skipped so a stack starts at the program's call to malloc.
pub static SELF_START: AtomicUsize = AtomicUsize::new(0);
pub static SELF_END: AtomicUsize = AtomicUsize::new(0);

struct Collect {
    ips: *mut usize,
    n: usize,
    skipping: bool,
    lo: usize,
    hi: usize,
}

extern "C" fn step(ctx: *mut c_void, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `Collect` passed to `_Unwind_Backtrace` below.
    let c = unsafe { &mut *arg.cast::<Collect>() };
    // SAFETY: `ctx` is the live unwind context handed to this callback.
    let ip = unsafe { _Unwind_GetIP(ctx) };
    if ip == 0 {
        return URC_END_OF_STACK;
    }
    if c.skipping {
        if ip >= c.lo && ip < c.hi {
            return URC_NO_REASON;
        }
        c.skipping = false;
    }
    // SAFETY: n < MAX_FRAMES, checked below before returning NO_REASON.
    unsafe { *c.ips.add(c.n) = ip };
    c.n += 1;
    if c.n == MAX_FRAMES {
        URC_END_OF_STACK
    } else {
        URC_NO_REASON
    }
}

/// Fills `ips` with the caller's return addresses, innermost first, and
/// returns how many were written.
#[inline(never)]
pub fn capture(ips: &mut [usize; MAX_FRAMES]) -> usize {
    let mut c = Collect {
        ips: ips.as_mut_ptr(),
        n: 0,
        skipping: true,
        lo: SELF_START.load(Ordering::Relaxed),
        hi: SELF_END.load(Ordering::Relaxed),
    };
    // SAFETY: the callback only writes inside `ips`.
    unsafe { _Unwind_Backtrace(step, (&mut c as *mut Collect).cast()) };
    c.n
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
