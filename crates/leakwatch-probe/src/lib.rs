//! leakwatch's sampler: reads memory, threads and file descriptors of
//! processes from /proc, and memory of cgroups (v1 and v2), from the outside.
//!
//! Like py-spy, it expects targets to vanish at any moment: every read
//! reports [`ProbeError::Gone`] for a target that exited (or whose pid was
//! reused), never a panic. Files are opened once per target and re-read with
//! `pread`, so a sample costs a few syscalls and allocates nothing.

pub mod cgroup;
pub mod parse;
pub mod process;
pub mod system;
pub mod target;

pub use cgroup::{CgroupProbe, CgroupSample, CgroupVersion};
pub use process::{find_by_name, ProcessProbe, ProcessSample, SampleDepth, TreeProbe};
pub use target::{Target, TargetEvent, TargetSpec};

/// Why a target could not be sampled.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("process {pid} is gone (it exited or its pid was reused)")]
    Gone { pid: i32 },
    #[error("no process with pid {pid}: check the pid with `ps -p {pid}`")]
    NoSuchProcess { pid: i32 },
    #[error("pid {pid} ({name}) is a kernel thread: it has no user-space memory to watch. Give the pid of a program (`ps -eo pid,comm --ppid 2 -N` lists them)")]
    KernelThread { pid: i32, name: String },
    #[error("pid {pid} is a zombie: it has exited and only waits for its parent (pid {ppid}) to collect its exit status, so it has no memory left to watch. Watch the parent, or the service by --name so its restarts are followed")]
    Zombie { pid: i32, ppid: i32 },
    #[error("the --name pattern is empty: give part of the program's name or command line (e.g. --name my-server)")]
    EmptyPattern,
    #[error("permission denied reading {path}: run leakwatch as the same user as the target, or as root (reading another user's /proc/PID/fd and smaps needs ptrace access; check /proc/sys/kernel/yama/ptrace_scope)")]
    PermissionDenied { path: String },
    #[error("cgroup {path} not found: give a path under /sys/fs/cgroup or relative to the memory controller's mount (see `cat /proc/self/cgroup`)")]
    NoSuchCgroup { path: String },
    #[error("{path} is not a memory cgroup: neither memory.current (v2) nor memory.usage_in_bytes (v1) is there")]
    NotAMemoryCgroup { path: String },
    #[error("cgroup {path} was removed")]
    CgroupGone { path: String },
    #[error("unexpected content in {path}: {what}")]
    Malformed { path: String, what: &'static str },
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ProbeError {
    pub(crate) fn from_io(path: &str, pid: Option<i32>, e: std::io::Error) -> ProbeError {
        match (e.raw_os_error(), pid) {
            (Some(libc::ESRCH), Some(pid)) | (Some(libc::ENOENT), Some(pid)) => {
                ProbeError::Gone { pid }
            }
            (Some(libc::EACCES), _) | (Some(libc::EPERM), _) => ProbeError::PermissionDenied {
                path: path.to_string(),
            },
            _ => ProbeError::Io {
                path: path.to_string(),
                source: e,
            },
        }
    }

    /// True when the target no longer exists.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            ProbeError::Gone { .. } | ProbeError::CgroupGone { .. }
        )
    }
}
