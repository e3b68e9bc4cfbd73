//! The interposed loader and process functions: `dlopen`/`dlclose` (the
//! module map, and RTLD_DEEPBIND libraries redirected to the hooks), the
//! ways a process ends (`exit`, `_exit`, `abort`; `quick_exit` through an
//! `at_quick_exit` handler) and `__libc_start_main` (to mark when `main`
//! returns).

use core::ffi::{c_char, c_int, c_void};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::next::{self, F};
use crate::writer::{self, stamp};

/// Runs `f` with the calling thread's ring, untraced itself.
fn with_ring(f: impl FnOnce(*mut crate::ring::Ring)) {
    if !writer::running() || crate::hooks::guarded() {
        return;
    }
    let was = crate::hooks::set_guard(true);
    let r = crate::hooks::current_ring();
    if !r.is_null() {
        f(r);
    }
    crate::hooks::set_guard(was);
}

#[no_mangle]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    type Dlopen = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;
    // SAFETY: the true signature.
    let Some(real) = (unsafe { next::func::<Dlopen>(F::dlopen) }) else {
        return null_mut();
    };
    let deep = mode & libc::RTLD_DEEPBIND != 0;
    // After an attach, every object loaded from now on is redirected too.
    let before = (deep || crate::attach::attached()).then(crate::got::Before::now);
    // SAFETY: forwarding the caller's arguments.
    let h = unsafe { real(file, mode) };
    if !h.is_null() {
        if let Some(before) = &before {
            // The library (and what it brought) binds to its own scope
            // first, the C library's malloc before ours: send its
            // allocation calls to the hooks.
            crate::got::redirect_deepbind(before);
        }
        // SAFETY: the calling thread's own ring.
        with_ring(|r| unsafe {
            crate::modules::rescan(r, stamp());
            // An interpreter embedded through dlopen.
            crate::python::detect();
        });
    }
    h
}

#[no_mangle]
pub unsafe extern "C" fn dlclose(h: *mut c_void) -> c_int {
    type Dlclose = unsafe extern "C" fn(*mut c_void) -> c_int;
    // SAFETY: the true signature.
    let Some(real) = (unsafe { next::func::<Dlclose>(F::dlclose) }) else {
        return -1;
    };
    // SAFETY: forwarding the caller's argument.
    let rc = unsafe { real(h) };
    crate::got::forget_unloaded();
    // SAFETY: the calling thread's own ring.
    with_ring(|r| unsafe { crate::modules::rescan(r, stamp()) });
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

/// `exit`: marks where the program's exit starts (atexit handlers and
/// destructors run after it), then exits.
#[no_mangle]
pub unsafe extern "C" fn exit(status: c_int) -> ! {
    writer::phase(writer::PHASE_EXIT);
    type Exit = unsafe extern "C" fn(c_int) -> !;
    // SAFETY: the true signature.
    match unsafe { next::func::<Exit>(F::exit) } {
        // SAFETY: forwarding the caller's argument.
        Some(real) => unsafe { real(status) },
        None => {
            writer::final_flush(true);
            loop {
                // SAFETY: exit_group never returns.
                unsafe { libc::syscall(libc::SYS_exit_group, status) };
            }
        }
    }
}

/// `abort`: what was recorded so far is written before the process dies.
#[no_mangle]
pub unsafe extern "C" fn abort() -> ! {
    writer::abort_flush();
    type Abort = unsafe extern "C" fn() -> !;
    // SAFETY: the true signature.
    match unsafe { next::func::<Abort>(F::abort) } {
        // SAFETY: no arguments.
        Some(real) => unsafe { real() },
        None => loop {
            // SAFETY: raising SIGABRT with its default action, as abort does.
            unsafe {
                libc::signal(libc::SIGABRT, libc::SIG_DFL);
                libc::raise(libc::SIGABRT);
            }
        },
    }
}

type Main = unsafe extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) -> c_int;

static REAL_MAIN: AtomicUsize = AtomicUsize::new(0);

/// The program's `main`, then the exit phase marked before `exit` runs the
/// atexit handlers (glibc calls its own `exit` there, not ours).
unsafe extern "C" fn traced_main(
    argc: c_int,
    argv: *mut *mut c_char,
    envp: *mut *mut c_char,
) -> c_int {
    // SAFETY: set just before, from the program's own `main`.
    let main: Main = unsafe { core::mem::transmute(REAL_MAIN.load(Ordering::Relaxed)) };
    // SAFETY: the program's main with its own arguments.
    let rc = unsafe { main(argc, argv, envp) };
    writer::phase(writer::PHASE_EXIT);
    rc
}

#[no_mangle]
pub unsafe extern "C" fn __libc_start_main(
    main: Main,
    argc: c_int,
    argv: *mut *mut c_char,
    init: usize,
    fini: usize,
    rtld_fini: usize,
    stack_end: *mut c_void,
) -> c_int {
    type Start = unsafe extern "C" fn(
        Main,
        c_int,
        *mut *mut c_char,
        usize,
        usize,
        usize,
        *mut c_void,
    ) -> c_int;
    // SAFETY: the true signature (glibc's).
    let real = unsafe { next::func::<Start>(F::libc_start_main) };
    let Some(real) = real else {
        // Not glibc: nothing sensible to do but to give up loudly.
        crate::log(b"__libc_start_main not found after the tracer");
        // SAFETY: plain libc call.
        unsafe { libc::abort() };
    };
    REAL_MAIN.store(main as usize, Ordering::Relaxed);
    // SAFETY: forwarding the loader's arguments with our main in front.
    unsafe { real(traced_main, argc, argv, init, fini, rtld_fini, stack_end) }
}
