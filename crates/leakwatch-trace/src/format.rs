//! The trace file format, version 2, written by `libleakwatch_preload.so`.
//!
//! ```text
//! header (40 bytes, little endian)
//!   magic       8  b"LWTRACE\0"
//!   version     u32  2
//!   pid         u32  traced process id
//!   sample_every u64 0 = every allocation, else mean bytes between samples
//!   start_unix_ns u64 wall clock at start
//!   ppid        u64  parent process id
//! chunks, until end of file
//!   slot        u32  ring (thread slot) the bytes came from
//!   len         u32  payload length (compressed)
//!   raw_len     u32  payload length once decompressed
//!   payload     len bytes: one zstd frame holding whole records of that
//!               slot, in the order written
//! ```
//!
//! Each chunk is compressed on its own by the writer thread (off the
//! allocating threads' path), so a trace cut short stays readable up to its
//! last whole chunk. Version 1 (uncompressed chunks) is not read.
//! A slot's records form one ordered stream across all its chunks. Integers
//! in records are LEB128 varints; `i` marks zigzag-encoded signed values.
//! Timestamps are nanoseconds since the start of tracing, delta-coded against
//! the slot's previous timestamp; pointers are delta-coded (`i`) against the
//! slot's previous pointer; stack ids are per slot.
//!
//! ```text
//! 1 ALLOC   dts size dptr(i) stack_id
//! 2 FREE    dts dptr(i)
//! 3 STACK   id n  n × dip(i)      return addresses, innermost first, delta-coded
//! 4 MODULE  dts base nseg nseg×(vaddr memsz flags) name_len name
//! 5 UNLOAD  dts base
//! 6 THREAD  dts tid                a thread starts using this slot
//! 7 END     dts                    the process exited normally
//! ```
//!
//! Frees are stamped before the memory is released and allocations after it
//! is obtained, so merging all slots by timestamp orders every address's
//! history correctly across threads. A process killed mid-write leaves a
//! partial last chunk, which the reader reports and ignores.

/// File magic.
pub const MAGIC: &[u8; 8] = b"LWTRACE\0";
/// The version this reader understands.
pub const VERSION: u32 = 2;
/// Size of the fixed header.
pub const HEADER_LEN: usize = 40;
/// Size of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 12;

pub const REC_ALLOC: u8 = 1;
pub const REC_FREE: u8 = 2;
pub const REC_STACK: u8 = 3;
pub const REC_MODULE: u8 = 4;
pub const REC_UNLOAD: u8 = 5;
pub const REC_THREAD: u8 = 6;
pub const REC_END: u8 = 7;
