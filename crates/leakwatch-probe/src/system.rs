//! Host-wide facts: page size, total memory, where cgroup hierarchies are
//! mounted, and the limits that apply to a process.

use std::path::PathBuf;

use crate::parse;

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

/// MemTotal of the host in bytes.
pub fn mem_total() -> Option<u64> {
    let text = std::fs::read("/proc/meminfo").ok()?;
    parse::kb_field(&text, b"MemTotal")
}

/// Where the cgroup hierarchies are mounted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupMounts {
    /// The v1 hierarchy holding the memory controller.
    pub v1_memory: Option<PathBuf>,
    /// The v2 unified hierarchy.
    pub v2: Option<PathBuf>,
}

/// Parses /proc/self/mountinfo text.
pub fn parse_mountinfo(text: &str) -> CgroupMounts {
    let mut m = CgroupMounts::default();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4);
        let mut r = right.split(' ');
        let fstype = r.next();
        let _source = r.next();
        let opts = r.next().unwrap_or("");
        match (fstype, mount_point) {
            (Some("cgroup2"), Some(mp)) if m.v2.is_none() => m.v2 = Some(PathBuf::from(mp)),
            (Some("cgroup"), Some(mp)) if opts.split(',').any(|o| o == "memory") => {
                m.v1_memory = Some(PathBuf::from(mp))
            }
            _ => {}
        }
    }
    m
}

pub fn cgroup_mounts() -> CgroupMounts {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default()
}

/// The memory cgroup directory of `pid` (v1 memory controller first, since a
/// hybrid host keeps memory there, then v2).
pub fn memory_cgroup_of(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mounts = cgroup_mounts();
    let mut v2_path = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            if let Some(root) = &mounts.v1_memory {
                return Some(root.join(path.trim_start_matches('/')));
            }
        } else if controllers.is_empty() {
            v2_path = Some(path.to_string());
        }
    }
    let root = mounts.v2?;
    let dir = root.join(v2_path?.trim_start_matches('/'));
    dir.join("memory.max").exists().then_some(dir)
}

/// The memory a process can grow to: its cgroup's limit when one is set,
/// else the host's memory.
pub fn memory_limit_of(pid: i32) -> Option<u64> {
    let from_cgroup = memory_cgroup_of(pid).and_then(|dir| {
        let probe = crate::cgroup::CgroupProbe::open_dir(&dir).ok()?;
        probe.limit()
    });
    let host = mem_total();
    match (from_cgroup, host) {
        (Some(c), Some(h)) => Some(c.min(h)),
        (c, h) => c.or(h),
    }
}

/// The soft limit on open files of `pid` (from /proc/PID/limits).
pub fn fd_limit_of(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The system-wide thread limit.
pub fn threads_max() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/threads-max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hybrid_mounts() {
        let text = "\
30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
33 25 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 25 0:30 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
";
        let m = parse_mountinfo(text);
        assert_eq!(
            m.v1_memory.as_deref(),
            Some(std::path::Path::new("/sys/fs/cgroup/memory"))
        );
        assert_eq!(
            m.v2.as_deref(),
            Some(std::path::Path::new("/sys/fs/cgroup/unified"))
        );
        let pure_v2 = "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(parse_mountinfo(pure_v2).v1_memory, None);
        assert_eq!(parse_mountinfo("garbage\n\n - x"), CgroupMounts::default());
    }

    #[test]
    fn host_limits_are_read() {
        assert!(mem_total().unwrap() > 0);
        assert!(fd_limit_of(std::process::id() as i32).unwrap() > 0);
        assert!(memory_limit_of(std::process::id() as i32).unwrap() > 0);
    }
}
