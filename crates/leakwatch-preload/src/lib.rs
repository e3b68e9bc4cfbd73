//! `libleakwatch_preload.so`: the allocation tracer that `leakwatch trace`
//! injects with `LD_PRELOAD`.
//!
//! Every allocation function of the C library, C++'s `operator new` and
//! `delete`, and jemalloc's and tcmalloc's own entry points are interposed;
//! so are the descriptor calls that could take the trace file's number
//! away (`fds`).
//! Each hook calls the next definition of its function (`next`: glibc's, or
//! the allocator the program brought), then appends a small varint-encoded
//! record to the calling thread's own ring buffer. Tracing starts at the
//! first allocation in the process. A background thread drains the rings
//! into the trace file every few milliseconds; nothing on the hot path takes
//! a lock or allocates, and a thread-local guard sends every allocation made
//! while a hook is running (including the tracer's own) straight to the
//! allocator untraced.
//!
//! The file layout is documented in `leakwatch-trace`'s `format` module; the
//! constants below must stay in step with it.
//!
//! Logging goes through raw `write(2)` on stderr: anything richer allocates.

#![allow(clippy::missing_safety_doc)]

mod attach;
mod elf;
mod fds;
pub mod got;
mod hooks;
mod interposers;
mod interpret;
mod memo;
mod modules;
mod next;
mod process;
mod python;
mod ring;
mod setid;
mod tables;
mod unwind;
mod writer;

pub use attach::*;
pub use fds::*;
pub use hooks::*;
pub use process::*;
pub use setid::*;

/// Trace file magic and version (see `leakwatch_trace::format`).
pub(crate) const MAGIC: &[u8; 8] = b"LWTRACE\0";
pub(crate) const VERSION: u32 = 5;

pub(crate) const REC_ALLOC: u8 = 1;
pub(crate) const REC_FREE: u8 = 2;
pub(crate) const REC_STACK: u8 = 3;
pub(crate) const REC_MODULE: u8 = 4;
pub(crate) const REC_UNLOAD: u8 = 5;
pub(crate) const REC_THREAD: u8 = 6;
pub(crate) const REC_END: u8 = 7;
pub(crate) const REC_LOST: u8 = 12;
pub(crate) const REC_PHASE: u8 = 13;
pub(crate) const REC_LSANSUPP: u8 = 14;
pub(crate) const REC_STACKREF: u8 = 17;
/// Ring-only record (never in the file): a stack node, `parent+1 dip`, the
/// frame at return address parent's + dip called from node `parent` (0:
/// none, the outermost frame). Node ids count from 0 per ring; an ALLOC's
/// stack id in the ring is the node of its innermost frame.
pub(crate) const REC_NODE: u8 = 0x40;
/// Ring-only record: a Python code object first seen by this thread, `id
/// minor firstlineno name file table` (see `python`), ids counting from 0
/// per ring.
pub(crate) const REC_PYCODE_RING: u8 = 0x41;
/// Ring-only record: a Python frame node, `parent+1 code lasti`.
pub(crate) const REC_PYNODE: u8 = 0x42;
/// Ring-only record: the ring's node ids start again from 0 (after
/// `writer::NODE_ID_LIMIT` of them), so the writer's map of them stays
/// bounded on a program that runs for ever.
pub(crate) const REC_NODE_RESET: u8 = 0x43;
/// File records of format version 4 (see `leakwatch_trace::format`).
pub(crate) const REC_PYCODE: u8 = 15;
pub(crate) const REC_ATTACH: u8 = 16;
pub(crate) const ATTACH_START: u64 = 1;
pub(crate) const ATTACH_DETACH: u64 = 2;

/// Writes a message to stderr without allocating.
pub(crate) fn log(msg: &[u8]) {
    // SAFETY: plain write(2) of a valid buffer.
    unsafe {
        libc::write(2, b"leakwatch-preload: ".as_ptr().cast(), 19);
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::write(2, b"\n".as_ptr().cast(), 1);
    }
}

/// Nanoseconds on `clock` (vDSO, no syscall).
#[inline(always)]
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The monotonic clock as of the last kernel tick (no TSC read): at most
/// the true time.
#[inline]
pub(crate) fn coarse_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC_COARSE)
}

/// Nanoseconds on the monotonic clock.
#[inline]
pub(crate) fn now_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}
