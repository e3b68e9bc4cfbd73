//! leakwatch's heap analysis for garbage-collected runtimes.
//!
//! - [`snapshot`]: a streaming reader for V8 `.heapsnapshot` files (Node,
//!   Chrome, Electron, Deno) into compact columns.
//! - [`graph`]: dominator tree, retained sizes, shortest retainer paths.
//! - [`diff`]: class comparison and memlab-style leak clusters across
//!   BASE/TARGET/FINAL snapshots of one process.
//! - class trends are judged by [`leakwatch_core::few`], the detector's rules
//!   for series of a few snapshots

// Graph code walks several parallel columns by index on purpose.
#![allow(clippy::needless_range_loop)]

pub mod diff;
pub mod error;
pub mod files;
pub mod graph;
pub mod hprof;
mod ids;
pub mod inspector;
pub mod jcmd;
pub mod jvm;
pub mod pprof;
mod scan;
pub mod snapshot;

pub use diff::{
    analyze, check_same_process, DiffOptions, DiffReport, LeakCluster, SnapshotSummary,
};
pub use error::HeapError;
pub use snapshot::{HeapSnapshot, Keep};

/// What kind of file `leakwatch diff` was given, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// JSON starting with `{` (a V8 heap snapshot, checked fully when read).
    V8Snapshot,
    /// gzip data or a raw protobuf (a pprof profile, checked fully when read).
    Pprof,
    /// "JAVA PROFILE 1.0.x" (a Java HPROF heap dump).
    Hprof,
    Unknown,
}

/// Sniffs the format of the file at `path` from its first bytes.
pub fn detect_format(path: &std::path::Path) -> std::io::Result<InputFormat> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok(detect_bytes(&head[..n]))
}

/// Sniffs the format from a file's first bytes.
pub fn detect_bytes(head: &[u8]) -> InputFormat {
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if head.starts_with(hprof::MAGIC_PREFIX) {
        return InputFormat::Hprof;
    }
    match first {
        Some(b'{') => InputFormat::V8Snapshot,
        _ if head.starts_with(&[0x1f, 0x8b]) => InputFormat::Pprof,
        // A raw profile.proto starts with field 1 (sample_type, length-delimited: 0x0a)
        // or another small field tag of the Profile message.
        Some(&b)
            if !head.is_empty()
                && head[0] == b
                && matches!(b, 0x0a | 0x12 | 0x1a | 0x22 | 0x2a | 0x32) =>
        {
            InputFormat::Pprof
        }
        _ => InputFormat::Unknown,
    }
}
