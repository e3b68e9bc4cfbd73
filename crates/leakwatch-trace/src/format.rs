//! The trace file format, versions 3 to 5, written by `libleakwatch_preload.so`.
//!
//! ```text
//! header (40 bytes, little endian)
//!   magic       8  b"LWTRACE\0"
//!   version     u32  3, 4 (may hold the records 12-16 below) or 5 (also 17)
//!   pid         u32  traced process id
//!   sample_every u64 0 = every allocation, else mean bytes between samples
//!   start_unix_ns u64 wall clock at start
//!   ppid        u64  parent process id
//! chunks, until end of file
//!   seq         u32  0, 1, 2, ... (catches a damaged length)
//!   len         u32  payload length (compressed)
//!   raw_len     u32  payload length once decompressed
//!   payload     len bytes
//! ```
//!
//! All payloads together are ONE zstd stream (level 1, 2 MiB window): the writer flushes
//! it at the end of every drain (every 20 ms), so each chunk decompresses,
//! given the ones before it, to whole records, and matches reach back across
//! chunks: a periodic workload costs almost nothing. A trace cut short (the
//! process was killed mid-write) is read up to its last whole chunk.
//! Versions 1 and 2 (per-thread streams with pointers and per-event
//! timestamps) are not read.
//!
//! The payloads decompress to one record stream. The tracer's writer thread
//! interprets the threads' raw events before writing them: it pairs every
//! free with its allocation (by address, in the events' order across threads), so
//! the file holds no addresses, only allocation classes — an interned
//! (call stack, size) pair. Integers are LEB128 varints; `i` marks
//! zigzag-encoded signed values.
//!
//! ```text
//! 1  ALLOC     class              a block of this class is allocated
//! 2  FREE      class              a block of this class is freed
//! 3  STACK     n  n × dip(i)      defines the next stack id (0, 1, ...):
//!                                 return addresses, innermost first, delta-coded
//! 4  MODULE    base nseg nseg×(vaddr memsz flags) name_len name
//! 5  UNLOAD    base
//! 6  THREAD    tid                a thread starts
//! 7  END                          the process exited normally
//! 8  CLASS     stack size         defines the next class id (0, 1, ...)
//! 9  TIME      dts                the stream's clock moves dts ns forward
//! 10 UNMATCHED n                  n frees of blocks never seen allocated
//! 11 PEAK                         live bytes are at their maximum so far
//! ```
//!
//! Format version 4 adds (a version 3 reader refuses them; this reader
//! accepts them in either version):
//!
//! ```text
//! 12 LOST      reason detail       tracing lost data from here on; reason:
//!                                 1 out of memory, 2 the tracer's fd was closed
//!                                 or replaced and could not be reopened, 3 the
//!                                 process ended with events not yet written
//!                                 (detail = events dropped); a trace with LOST
//!                                 is incomplete: never "no leak"
//! 13 PHASE     kind               1 exit started (atexit handlers run),
//!                                 2 a runtime's finalisation started
//! 14 LSANSUPP  len bytes          the program's embedded
//!                                 __lsan_default_suppressions() text
//!                                 (LeakSanitizer format, `leak:PATTERN`
//!                                 lines; several records add up)
//! 15 PYCODE    minor first_line name_len name file_len file table_len table
//!                                 defines the next Python code object id
//!                                 (0, 1, ...): CPython 3.`minor`, its
//!                                 `co_qualname` (3.11+; else `co_name`),
//!                                 `co_filename`, `co_firstlineno` and line
//!                                 table bytes (`co_lnotab` 3.8-3.9,
//!                                 `co_linetable` 3.10+)
//! 16 ATTACH    kind               1: the tracer was loaded into a running
//!                                 process (`trace --pid`): blocks allocated
//!                                 before are unknown (their frees count as
//!                                 UNMATCHED); 2: it detached: hooks removed,
//!                                 the process runs on (what is live then is
//!                                 "still live at detach", not leaked)
//! 18..=19                         reserved
//! ```
//!
//! Format version 5 adds (older readers refuse it):
//!
//! ```text
//! 17 STACKREF  k  k × dip(i)  base skip
//!                                 defines the next stack id: k return
//!                                 addresses, innermost first, delta-coded as
//!                                 in STACK, then the frames of stack `base`
//!                                 (defined before) from its frame `skip` on:
//!                                 their shared callers, stored once (a
//!                                 CPython stack repeats ~35 frames of its
//!                                 neighbours; the file then holds each
//!                                 frame of the writer's stack tree once)
//! ```
//!
//! A STACK frame with bit 63 set is a Python frame (user-space return
//! addresses never have it): bits 32-62 are a PYCODE id, bits 0-31 the
//! instruction (`f_lasti`: bytes before 3.10, code units from 3.10; from
//! 3.11 the frame's instruction pointer minus the code's first
//! instruction, in code units). The tracer puts a thread's Python frames
//! where the interpreter's eval-loop frames (`_PyEval_EvalFrameDefault`)
//! were, one eval invocation's frames in place of each.
//!
//! A reader meets LOST at the moment the data stopped being whole: what it
//! read before is exact; from there on frees (and allocations) may be
//! missing, so what is live at the end is not proven leaked.
//!
//! Time: every record happens at the stream's clock, which starts at 0 (ns
//! since tracing started) and only moves with TIME. The writer emits TIME
//! when the events it processes cross into a new 10 ms tick, carrying the
//! exact time of the first event of that tick, and before END. (Events are
//! stamped with the kernel-tick clock: "exact" is to one kernel tick, 1 to
//! 10 ms.) Within a
//! tick, records are grouped by thread (each thread's in its order), so the
//! threads' interleaving costs nothing to store; a FREE always comes after
//! the ALLOC of its block. Definitions (STACK, CLASS) come before their first
//! use. Frees of blocks allocated before tracing started (or not sampled)
//! are only counted, in UNMATCHED.
//!
//! Grouping would blur the peak (two threads' short-lived spikes in one
//! tick would add up), so the writer, which sees the true order, marks it:
//! in a tick where live bytes reach a new maximum, the records before PEAK
//! are exactly those that happened before that moment. The last PEAK is
//! the trace's peak.

/// File magic.
/// The largest sampling interval a trace may name (1 TiB between samples:
/// beyond it nothing would be sampled); a header naming more is corrupt.
pub const MAX_SAMPLE_EVERY: u64 = 1 << 40;

pub const MAGIC: &[u8; 8] = b"LWTRACE\0";
/// The newest version this reader understands.
pub const VERSION: u32 = 5;
/// The oldest version this reader understands.
pub const OLDEST_VERSION: u32 = 3;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 40;
/// Size of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 12;
/// Length of the writer's time ticks: TIME records come at most this often.
pub const TICK_NS: u64 = 10_000_000;

pub const REC_ALLOC: u8 = 1;
pub const REC_FREE: u8 = 2;
pub const REC_STACK: u8 = 3;
pub const REC_MODULE: u8 = 4;
pub const REC_UNLOAD: u8 = 5;
pub const REC_THREAD: u8 = 6;
pub const REC_END: u8 = 7;
pub const REC_CLASS: u8 = 8;
pub const REC_TIME: u8 = 9;
pub const REC_UNMATCHED: u8 = 10;
pub const REC_PEAK: u8 = 11;
// Format version 4 (see the module documentation).
pub const REC_LOST: u8 = 12;
pub const REC_PHASE: u8 = 13;
pub const REC_LSANSUPP: u8 = 14;
pub const REC_PYCODE: u8 = 15;
pub const REC_ATTACH: u8 = 16;
// Format version 5.
pub const REC_STACKREF: u8 = 17;

/// ATTACH kinds.
pub const ATTACH_START: u64 = 1;
pub const ATTACH_DETACH: u64 = 2;

/// LOST reasons.
pub const LOST_OUT_OF_MEMORY: u64 = 1;
pub const LOST_FD: u64 = 2;
pub const LOST_AT_END: u64 = 3;
/// PHASE kinds.
pub const PHASE_EXIT: u64 = 1;
pub const PHASE_RUNTIME_FINALIZE: u64 = 2;
