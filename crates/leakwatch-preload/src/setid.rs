//! The program's user and group changes (`setuid`, `setresgid`,
//! `setgroups`... and `initgroups`), made while no tracer thread exists.
//!
//! Linux keeps credentials per thread; the C library makes a set*id call
//! apply to every thread of the process by having each one repeat the
//! system call, and aborts the process when one thread fails where another
//! succeeded. A program that drops privileges the way `setpriv` and
//! libcap-ng do (keep capabilities across the uid change, raise
//! `CAP_SETGID` again in the calling thread only, then change the gid)
//! succeeds in its own thread, but the tracer's writer thread lacks that
//! capability: the program aborted under `trace`. So the writer leaves
//! before such a call and a new one starts after it, created by the calling
//! thread and so with its credentials (writer.rs, `without_writer`).
//!
//! A launcher running as root that drops to a service account and then
//! execs the service (`setpriv`, `gosu`, `runuser`) hands the trace file to
//! that account first: the exec'd program continues the trace and must be
//! able to open it (writer.rs, `hand_trace_to`).
//!
//! Calls made with `syscall(2)` directly are not seen here; they change
//! only the calling thread anyway.

use core::ffi::{c_char, c_int};

use crate::next::{self, F};
use crate::writer;

type Uid = libc::uid_t;
type Gid = libc::gid_t;

/// Runs a user change that makes `new_euid` the effective user (None: a
/// group change), handing the trace file to that user: before the call
/// while this process may still (root dropping to a service account),
/// after it when only then it may (back to root), and back to its owner if
/// the change fails.
fn changing_user(new_euid: Option<Uid>, call: impl FnOnce() -> c_int) -> c_int {
    let before = new_euid.and_then(writer::hand_trace_to);
    let rc = writer::without_writer(call);
    if rc != 0 {
        if let Some(owner) = before {
            writer::hand_trace_to(owner);
        }
    } else if let Some(euid) = new_euid {
        writer::hand_trace_to(euid);
    }
    rc
}

macro_rules! setid_hook {
    ($name:ident / $f:ident ($($arg:ident: $ty:ty),*) euid: $euid:expr, sys: $sys:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> c_int {
            type Real = unsafe extern "C" fn($($ty),*) -> c_int;
            changing_user($euid, || {
                // SAFETY: the true signature.
                match unsafe { next::func::<Real>(F::$f) } {
                    // SAFETY: forwarding the caller's arguments.
                    Some(real) => unsafe { real($($arg),*) },
                    // SAFETY: plain syscall (no C library to find: one
                    // thread's credentials only).
                    None => unsafe { libc::syscall($sys, $($arg),*) as c_int },
                }
            })
        }
    };
}

/// The effective user a call asks for (-1: unchanged).
fn asked(euid: Uid) -> Option<Uid> {
    (euid != Uid::MAX).then_some(euid)
}

setid_hook!(setuid / setuid(uid: Uid) euid: asked(uid), sys: libc::SYS_setuid);
setid_hook!(setgid / setgid(gid: Gid) euid: None, sys: libc::SYS_setgid);
setid_hook!(setreuid / setreuid(ruid: Uid, euid: Uid) euid: asked(euid), sys: libc::SYS_setreuid);
setid_hook!(setregid / setregid(rgid: Gid, egid: Gid) euid: None, sys: libc::SYS_setregid);
setid_hook!(setresuid / setresuid(ruid: Uid, euid: Uid, suid: Uid) euid: asked(euid), sys: libc::SYS_setresuid);
setid_hook!(setresgid / setresgid(rgid: Gid, egid: Gid, sgid: Gid) euid: None, sys: libc::SYS_setresgid);
setid_hook!(setgroups / setgroups(n: libc::size_t, list: *const Gid) euid: None, sys: libc::SYS_setgroups);

#[no_mangle]
pub unsafe extern "C" fn seteuid(euid: Uid) -> c_int {
    type Real = unsafe extern "C" fn(Uid) -> c_int;
    changing_user(asked(euid), || {
        // SAFETY: the true signature.
        match unsafe { next::func::<Real>(F::seteuid) } {
            // SAFETY: forwarding the caller's argument.
            Some(real) => unsafe { real(euid) },
            // SAFETY: plain syscall, as the C library does it.
            None => unsafe { libc::syscall(libc::SYS_setresuid, -1i32, euid, -1i32) as c_int },
        }
    })
}

#[no_mangle]
pub unsafe extern "C" fn setegid(egid: Gid) -> c_int {
    type Real = unsafe extern "C" fn(Gid) -> c_int;
    writer::without_writer(|| {
        // SAFETY: the true signature.
        match unsafe { next::func::<Real>(F::setegid) } {
            // SAFETY: forwarding the caller's argument.
            Some(real) => unsafe { real(egid) },
            // SAFETY: plain syscall, as the C library does it.
            None => unsafe { libc::syscall(libc::SYS_setresgid, -1i32, egid, -1i32) as c_int },
        }
    })
}

/// `initgroups` sets the groups inside the C library, past its `setgroups`
/// entry point.
#[no_mangle]
pub unsafe extern "C" fn initgroups(user: *const c_char, group: Gid) -> c_int {
    type Real = unsafe extern "C" fn(*const c_char, Gid) -> c_int;
    writer::without_writer(|| {
        // SAFETY: the true signature.
        match unsafe { next::func::<Real>(F::initgroups) } {
            // SAFETY: forwarding the caller's arguments.
            Some(real) => unsafe { real(user, group) },
            None => {
                // SAFETY: the C library's errno.
                unsafe { *libc::__errno_location() = libc::ENOSYS };
                -1
            }
        }
    })
}
