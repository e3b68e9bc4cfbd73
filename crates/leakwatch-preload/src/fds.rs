//! The program's descriptor calls that can take the trace's number away:
//! `dup2` and `dup3` onto it, `close` of it, `close_range` and `closefrom`
//! over it.
//!
//! The trace's descriptor sits at a high number, close-on-exec, and the
//! writer checks before each write that the number still is the trace file
//! (device and inode). That check alone leaves a window: a program thread
//! that `dup2`s its own file over the number between the check and the
//! write would receive a piece of the trace. So these calls run under the
//! writer's FD_LOCK, and when they target the trace's number the trace
//! first moves to another one (writer.rs, `around_fd_call`): the program's
//! call then does exactly what it asked for, on a number that is no longer
//! the tracer's.
//!
//! Calls made with `syscall(2)` directly, or from inside the C library
//! (`posix_spawn`'s file actions run in the child), are not seen here; the
//! check before each write still keeps trace bytes out of other files
//! except in that window.

use core::ffi::{c_int, c_uint};

use crate::next::{self, F};
use crate::writer;

#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    type Dup2 = unsafe extern "C" fn(c_int, c_int) -> c_int;
    // SAFETY: the true signature.
    let call = || match unsafe { next::func::<Dup2>(F::dup2) } {
        // SAFETY: forwarding the caller's arguments.
        Some(real) => unsafe { real(old, new) },
        // SAFETY: plain syscall.
        None => unsafe { libc::syscall(libc::SYS_dup2, old, new) as c_int },
    };
    if new < 0 || old == new || !writer::guarding_trace_fd() {
        return call();
    }
    writer::around_fd_call(new as u32, new as u32, call)
}

#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    type Dup3 = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
    // SAFETY: the true signature.
    let call = || match unsafe { next::func::<Dup3>(F::dup3) } {
        // SAFETY: forwarding the caller's arguments.
        Some(real) => unsafe { real(old, new, flags) },
        // SAFETY: plain syscall.
        None => unsafe { libc::syscall(libc::SYS_dup3, old, new, flags) as c_int },
    };
    if new < 0 || old == new || !writer::guarding_trace_fd() {
        return call();
    }
    writer::around_fd_call(new as u32, new as u32, call)
}

#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    type Close = unsafe extern "C" fn(c_int) -> c_int;
    // SAFETY: the true signature.
    let call = || match unsafe { next::func::<Close>(F::close) } {
        // SAFETY: forwarding the caller's argument.
        Some(real) => unsafe { real(fd) },
        // SAFETY: plain syscall.
        None => unsafe { libc::syscall(libc::SYS_close, fd) as c_int },
    };
    // Most closes are of other numbers: one load decides.
    if !writer::is_trace_fd_number(fd) || !writer::guarding_trace_fd() {
        return call();
    }
    writer::around_fd_call(fd as u32, fd as u32, call)
}

#[no_mangle]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    type CloseRange = unsafe extern "C" fn(c_uint, c_uint, c_int) -> c_int;
    // SAFETY: the true signature.
    let call = || match unsafe { next::func::<CloseRange>(F::close_range) } {
        // SAFETY: forwarding the caller's arguments.
        Some(real) => unsafe { real(first, last, flags) },
        // SAFETY: plain syscall.
        None => unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) as c_int },
    };
    // CLOSE_RANGE_CLOEXEC only marks the range close-on-exec, as the
    // trace's descriptor already is.
    if flags & libc::CLOSE_RANGE_CLOEXEC as c_int != 0
        || first > last
        || !writer::guarding_trace_fd()
    {
        return call();
    }
    writer::around_fd_call(first, last, call)
}

#[no_mangle]
pub unsafe extern "C" fn closefrom(lowest: c_int) {
    type Closefrom = unsafe extern "C" fn(c_int);
    // SAFETY: the true signature.
    let real = unsafe { next::func::<Closefrom>(F::closefrom) };
    let call = || {
        match real {
            // SAFETY: forwarding the caller's argument.
            Some(real) => unsafe { real(lowest) },
            None => {
                // SAFETY: plain syscall; closefrom has no result to give.
                unsafe { libc::syscall(libc::SYS_close_range, lowest.max(0), c_uint::MAX, 0) };
            }
        }
        0
    };
    if !writer::guarding_trace_fd() {
        call();
        return;
    }
    // The C library reads a negative start as 0.
    writer::around_fd_call(lowest.max(0) as u32, c_uint::MAX, call);
}
