//! Sampling a memory cgroup, v1 or v2, detected from the files present.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::parse;
use crate::ProbeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// One sample of a memory cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupSample {
    pub usage_bytes: u64,
    /// `None` when unlimited.
    pub limit_bytes: Option<u64>,
    pub anon_bytes: Option<u64>,
    pub file_bytes: Option<u64>,
    /// Processes killed by the OOM killer in this cgroup so far.
    pub oom_kills: Option<u64>,
    /// Processes in the cgroup now.
    pub processes: u64,
}

/// An opened memory cgroup.
#[derive(Debug)]
pub struct CgroupProbe {
    dir: PathBuf,
    version: CgroupVersion,
    usage: File,
    limit: File,
    stat: File,
    /// memory.events (v2) or memory.oom_control (v1).
    events: Option<File>,
    procs: File,
    buf: Vec<u8>,
}

/// Limits at or above this are "no limit" (v1 reports PAGE_COUNTER_MAX pages).
const UNLIMITED: u64 = 1 << 60;

impl CgroupProbe {
    /// Opens `path`: an absolute directory, or a path relative to the v1
    /// memory mount or the v2 mount (`/system.slice/foo.service`).
    pub fn open(path: &str) -> Result<CgroupProbe, ProbeError> {
        let given = Path::new(path);
        let mut candidates = vec![given.to_path_buf()];
        let mounts = crate::system::cgroup_mounts();
        let rel = path.trim_start_matches('/');
        candidates.extend(mounts.v1_memory.iter().map(|m| m.join(rel)));
        candidates.extend(mounts.v2.iter().map(|m| m.join(rel)));
        let mut last_err = ProbeError::NoSuchCgroup {
            path: path.to_string(),
        };
        for dir in candidates {
            if !dir.is_dir() {
                continue;
            }
            match CgroupProbe::open_dir(&dir) {
                Ok(p) => return Ok(p),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    /// Opens a cgroup directory.
    pub fn open_dir(dir: &Path) -> Result<CgroupProbe, ProbeError> {
        let open = |name: &str| {
            let p = dir.join(name);
            File::open(&p).map_err(|e| ProbeError::from_io(&p.display().to_string(), None, e))
        };
        let (version, usage, limit, events) = if dir.join("memory.current").exists() {
            (
                CgroupVersion::V2,
                open("memory.current")?,
                open("memory.max")?,
                open("memory.events").ok(),
            )
        } else if dir.join("memory.usage_in_bytes").exists() {
            (
                CgroupVersion::V1,
                open("memory.usage_in_bytes")?,
                open("memory.limit_in_bytes")?,
                open("memory.oom_control").ok(),
            )
        } else if dir.is_dir() {
            return Err(ProbeError::NotAMemoryCgroup {
                path: dir.display().to_string(),
            });
        } else {
            return Err(ProbeError::NoSuchCgroup {
                path: dir.display().to_string(),
            });
        };
        Ok(CgroupProbe {
            dir: dir.to_path_buf(),
            version,
            usage,
            limit,
            stat: open("memory.stat")?,
            events,
            procs: open("cgroup.procs")?,
            buf: Vec::with_capacity(4096),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// The memory limit, `None` when unlimited.
    pub fn limit(&self) -> Option<u64> {
        let mut buf = Vec::with_capacity(64);
        read_all(&self.limit, &mut buf, &self.dir).ok()?;
        parse::single_u64(&buf).filter(|l| *l < UNLIMITED)
    }

    pub fn sample(&mut self) -> Result<CgroupSample, ProbeError> {
        let mut s = CgroupSample::default();
        read_all(&self.usage, &mut self.buf, &self.dir)?;
        s.usage_bytes = parse::single_u64(&self.buf).ok_or(ProbeError::Malformed {
            path: self.dir.display().to_string(),
            what: "memory usage",
        })?;
        read_all(&self.limit, &mut self.buf, &self.dir)?;
        s.limit_bytes = parse::single_u64(&self.buf).filter(|l| *l < UNLIMITED);
        read_all(&self.stat, &mut self.buf, &self.dir)?;
        let (anon_key, file_key): (&[u8], &[u8]) = match self.version {
            CgroupVersion::V2 => (b"anon", b"file"),
            // total_* include descendants, like v2's counters do.
            CgroupVersion::V1 => (b"total_rss", b"total_cache"),
        };
        s.anon_bytes = parse::space_field(&self.buf, anon_key);
        s.file_bytes = parse::space_field(&self.buf, file_key);
        if let Some(events) = &self.events {
            read_all(events, &mut self.buf, &self.dir)?;
            s.oom_kills = parse::space_field(&self.buf, b"oom_kill");
        }
        read_all(&self.procs, &mut self.buf, &self.dir)?;
        s.processes = self
            .buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
        Ok(s)
    }
}

fn read_all(file: &File, buf: &mut Vec<u8>, dir: &Path) -> Result<(), ProbeError> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read_at(&mut chunk, buf.len() as u64) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if e.raw_os_error() == Some(libc::ENODEV)
                    || e.raw_os_error() == Some(libc::ENOENT) =>
            {
                return Err(ProbeError::CgroupGone {
                    path: dir.display().to_string(),
                })
            }
            Err(e) => return Err(ProbeError::from_io(&dir.display().to_string(), None, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn reads_a_v2_tree() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "memory.current", "1048576\n");
        write(d.path(), "memory.max", "max\n");
        write(
            d.path(),
            "memory.stat",
            "anon 700000\nfile 300000\nkernel 10\n",
        );
        write(
            d.path(),
            "memory.events",
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        );
        write(d.path(), "cgroup.procs", "10\n11\n");
        let mut p = CgroupProbe::open_dir(d.path()).unwrap();
        assert_eq!(p.version(), CgroupVersion::V2);
        let s = p.sample().unwrap();
        assert_eq!(
            s,
            CgroupSample {
                usage_bytes: 1048576,
                limit_bytes: None,
                anon_bytes: Some(700000),
                file_bytes: Some(300000),
                oom_kills: Some(1),
                processes: 2
            }
        );
        write(d.path(), "memory.max", "2097152\n");
        assert_eq!(p.sample().unwrap().limit_bytes, Some(2097152));
    }

    #[test]
    fn reads_a_v1_tree() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "memory.usage_in_bytes", "4096\n");
        write(d.path(), "memory.limit_in_bytes", "9223372036854771712\n");
        write(
            d.path(),
            "memory.stat",
            "cache 1\nrss 2\ntotal_cache 100\ntotal_rss 200\n",
        );
        write(
            d.path(),
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n",
        );
        write(d.path(), "cgroup.procs", "");
        let mut p = CgroupProbe::open_dir(d.path()).unwrap();
        assert_eq!(p.version(), CgroupVersion::V1);
        let s = p.sample().unwrap();
        assert_eq!(
            (s.usage_bytes, s.limit_bytes, s.anon_bytes, s.file_bytes),
            (4096, None, Some(200), Some(100))
        );
        assert_eq!(s.oom_kills, Some(4));
    }

    #[test]
    fn a_plain_directory_is_not_a_memory_cgroup() {
        let d = tempfile::tempdir().unwrap();
        let e = CgroupProbe::open_dir(d.path()).unwrap_err();
        assert!(matches!(e, ProbeError::NotAMemoryCgroup { .. }), "{e}");
        let e = CgroupProbe::open("/no/such/cgroup-xyz").unwrap_err();
        assert!(matches!(e, ProbeError::NoSuchCgroup { .. }), "{e}");
    }

    #[test]
    fn a_live_v1_cgroup_when_this_machine_allows() {
        let Some(root) = crate::system::cgroup_mounts().v1_memory else {
            eprintln!("SKIPPED: no v1 memory controller mounted here");
            return;
        };
        let dir = root.join(format!("leakwatch-probe-test-{}", std::process::id()));
        if std::fs::create_dir(&dir).is_err() {
            eprintln!(
                "SKIPPED: cannot create a cgroup under {} (not root?)",
                root.display()
            );
            return;
        }
        std::fs::write(dir.join("memory.limit_in_bytes"), "104857600").unwrap();
        let mut p = CgroupProbe::open_dir(&dir).unwrap();
        let s = p.sample().unwrap();
        assert_eq!(s.limit_bytes, Some(104857600));
        assert_eq!(s.processes, 0);
        drop(p);
        std::fs::remove_dir(&dir).unwrap();
    }
}
