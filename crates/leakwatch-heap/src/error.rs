//! Typed errors for every input this crate reads. Each says where (a byte
//! offset where it applies) and what is wrong, so the CLI can add what to do.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum HeapError {
    #[error("read failed at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("the file ends early at byte {offset} (expected {expected}): the snapshot is truncated, probably still being written or cut off by a full disk")]
    Truncated { offset: u64, expected: String },
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax { offset: u64, message: String },
    #[error("not a V8 heap snapshot: {0}")]
    NotSnapshot(String),
    #[error("unsupported snapshot meta: {0}")]
    BadMeta(String),
    #[error("inconsistent snapshot at byte {offset}: {message}")]
    Inconsistent { offset: u64, message: String },
    #[error("{0}")]
    DifferentProcesses(String),
    #[error("not a pprof profile: {0}")]
    NotProfile(String),
    #[error("cannot compare profiles: {0}")]
    ProfileMismatch(String),
    #[error("inspector: {0}")]
    Inspector(String),
    #[error("JVM heap dump: {0}")]
    Jvm(String),
    #[error("not an HPROF heap dump: {0}")]
    NotHprof(String),
    #[error("input too large to read safely: {0}")]
    TooLarge(String),
}
