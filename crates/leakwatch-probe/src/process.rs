//! Sampling one process, or a process and all its descendants.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use crate::parse;
use crate::ProbeError;

/// `PF_KTHREAD` in the flags field of /proc/PID/stat (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// How much to read per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleDepth {
    /// statm + stat + fd count: RSS, anonymous memory, threads, fds. Cheapest;
    /// for watching many processes.
    Fast,
    /// Also smaps_rollup: PSS and swap. The kernel walks the page tables for
    /// this, so its cost grows with the target's size.
    Full,
}

/// One sample of one process (or a tree, summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessSample {
    pub rss_bytes: u64,
    pub pss_bytes: Option<u64>,
    pub anon_bytes: Option<u64>,
    pub swap_bytes: Option<u64>,
    pub threads: u64,
    pub fds: Option<u64>,
}

impl ProcessSample {
    fn add(&mut self, o: &ProcessSample) {
        self.rss_bytes += o.rss_bytes;
        self.pss_bytes = add_opt(self.pss_bytes, o.pss_bytes);
        self.anon_bytes = add_opt(self.anon_bytes, o.anon_bytes);
        self.swap_bytes = add_opt(self.swap_bytes, o.swap_bytes);
        self.threads += o.threads;
        self.fds = add_opt(self.fds, o.fds);
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, b) => a.or(b),
    }
}

/// An attached process. The /proc files stay open: re-reading them costs a
/// `pread` each, and an open file keeps pointing at *this* process, so a
/// reused pid can never be mistaken for it (reads then fail with ESRCH).
#[derive(Debug)]
pub struct ProcessProbe {
    pid: i32,
    start_time: u64,
    depth: SampleDepth,
    stat: File,
    statm: File,
    /// smaps_rollup, or status on kernels older than 4.14 that lack it.
    rollup: Option<(File, bool)>,
    fd_dir: Option<File>,
    fd_denied: bool,
    page_size: u64,
    buf: Vec<u8>,
    /// Reopens after exec so far (bounded, so a reopen loop cannot spin).
    reopens: u32,
}

impl ProcessProbe {
    /// Attaches to `pid`. Fails with [`ProbeError::NoSuchProcess`] when no such
    /// process exists and `PermissionDenied` when /proc hides it.
    pub fn attach(pid: i32, depth: SampleDepth) -> Result<ProcessProbe, ProbeError> {
        let open = |name: &str| {
            let path = format!("/proc/{pid}/{name}");
            File::open(&path).map_err(|e| match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::ESRCH) => ProbeError::NoSuchProcess { pid },
                _ => ProbeError::from_io(&path, None, e),
            })
        };
        let stat = open("stat")?;
        let statm = open("statm")?;
        let rollup = match depth {
            SampleDepth::Fast => None,
            SampleDepth::Full => match open("smaps_rollup") {
                Ok(f) => Some((f, true)),
                Err(ProbeError::NoSuchProcess { .. }) => Some((open("status")?, false)),
                Err(ProbeError::PermissionDenied { .. }) => None,
                Err(e) => return Err(e),
            },
        };
        let fd_dir = File::open(format!("/proc/{pid}/fd")).ok();
        let mut probe = ProcessProbe {
            pid,
            start_time: 0,
            depth,
            stat,
            statm,
            fd_denied: fd_dir.is_none(),
            rollup,
            fd_dir,
            page_size: crate::system::page_size(),
            buf: Vec::with_capacity(4096),
            reopens: 0,
        };
        let (state, ppid, _, start) = probe.read_stat()?;
        if state == b'Z' {
            return Err(ProbeError::Zombie { pid, ppid });
        }
        if state == b'X' {
            return Err(ProbeError::NoSuchProcess { pid });
        }
        // Kernel threads have no address space (statm reads all zeros);
        // without this check they would look like a process that exits at
        // its first sample.
        if parse::stat_flags(&probe.buf).is_some_and(|f| f & PF_KTHREAD != 0) {
            let name = parse::stat_comm(&probe.buf).unwrap_or("?").to_string();
            return Err(ProbeError::KernelThread { pid, name });
        }
        probe.start_time = start;
        Ok(probe)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Start time in clock ticks since boot: with the pid, a process's identity.
    pub fn start_time(&self) -> u64 {
        self.start_time
    }

    /// Whether the fd count could not be read (another user's process).
    pub fn fds_denied(&self) -> bool {
        self.fd_denied
    }

    /// Whether PSS and swap are unavailable (no smaps_rollup, or denied).
    pub fn pss_unavailable(&self) -> bool {
        self.depth == SampleDepth::Full && !matches!(self.rollup, Some((_, true)))
    }

    fn read_stat(&mut self) -> Result<(u8, i32, u64, u64), ProbeError> {
        read_all(&self.stat, &mut self.buf, self.pid, "stat")?;
        parse::stat_summary(&self.buf).ok_or(ProbeError::Malformed {
            path: format!("/proc/{}/stat", self.pid),
            what: "stat fields",
        })
    }

    /// Parent pid, as of the last read.
    pub fn ppid(&mut self) -> Result<i32, ProbeError> {
        Ok(self.read_stat()?.1)
    }

    /// Reads one sample. Allocates nothing once the buffer has grown to fit.
    pub fn sample(&mut self) -> Result<ProcessSample, ProbeError> {
        let (state, _, threads, _) = self.read_stat()?;
        if state == b'Z' || state == b'X' {
            return Err(ProbeError::Gone { pid: self.pid });
        }
        read_all(&self.statm, &mut self.buf, self.pid, "statm")?;
        let (resident, shared) = parse::statm(&self.buf).ok_or(ProbeError::Malformed {
            path: format!("/proc/{}/statm", self.pid),
            what: "statm fields",
        })?;
        if resident == 0 {
            // A live process always has resident pages (its stack at
            // least); none means it is exiting and its memory is already
            // torn down, before its state turns to Z. Recording that 0
            // would put a false drop in its history.
            return Err(ProbeError::Gone { pid: self.pid });
        }
        let mut s = ProcessSample {
            rss_bytes: resident * self.page_size,
            // statm's "shared" is file-backed plus shmem resident pages.
            anon_bytes: Some(resident.saturating_sub(shared) * self.page_size),
            threads,
            ..ProcessSample::default()
        };
        if let Some((file, is_rollup)) = &self.rollup {
            if let Err(e) = read_all(file, &mut self.buf, self.pid, "smaps_rollup") {
                // smaps_rollup is bound to the address space it was opened on:
                // after an exec (a shell or pyenv shim exec'ing the real
                // program) it reads empty while the process lives on. Reopen.
                if e.is_gone() && self.reopen_after_exec() {
                    return self.sample();
                }
                return Err(e);
            }
            let is_rollup = *is_rollup;
            if is_rollup {
                s.rss_bytes = parse::kb_field(&self.buf, b"Rss").unwrap_or(s.rss_bytes);
                s.pss_bytes = parse::kb_field(&self.buf, b"Pss");
                s.anon_bytes = parse::kb_field(&self.buf, b"Anonymous").or(s.anon_bytes);
                s.swap_bytes = parse::kb_field(&self.buf, b"Swap");
            } else {
                s.anon_bytes = parse::kb_field(&self.buf, b"RssAnon").or(s.anon_bytes);
                s.swap_bytes = parse::kb_field(&self.buf, b"VmSwap");
            }
        }
        s.fds = match &self.fd_dir {
            Some(dir) => match count_dir_entries(dir) {
                Ok(n) => Some(n),
                Err(e)
                    if e.raw_os_error() == Some(libc::ENOENT)
                        || e.raw_os_error() == Some(libc::ESRCH) =>
                {
                    return Err(ProbeError::Gone { pid: self.pid })
                }
                Err(_) => None,
            },
            None => None,
        };
        Ok(s)
    }
}

impl ProcessProbe {
    /// Reopens the address-space-bound files if the process is alive and is
    /// still the same process (same start time). Returns whether it did.
    fn reopen_after_exec(&mut self) -> bool {
        let Ok((state, _, _, start)) = self.read_stat() else {
            return false;
        };
        if state == b'Z' || state == b'X' || start != self.start_time || self.reopens > 16 {
            return false;
        }
        self.reopens += 1;
        match ProcessProbe::attach(self.pid, self.depth) {
            Ok(fresh) if fresh.start_time == self.start_time => {
                let reopens = self.reopens;
                *self = fresh;
                self.reopens = reopens;
                true
            }
            _ => false,
        }
    }
}

/// Reads a whole /proc file from offset 0 into `buf` (reused between reads).
fn read_all(file: &File, buf: &mut Vec<u8>, pid: i32, name: &str) -> Result<(), ProbeError> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        match file.read_at(&mut buf[len..], len as u64) {
            Ok(0) => {
                buf.truncate(len);
                break;
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) => {
                buf.truncate(len);
                return Err(ProbeError::from_io(
                    &format!("/proc/{pid}/{name}"),
                    Some(pid),
                    e,
                ));
            }
        }
    }
    if buf.is_empty() {
        // A reaped process's files read as empty on some kernels.
        return Err(ProbeError::Gone { pid });
    }
    Ok(())
}

/// Counts the entries of an open /proc/PID/fd directory without allocating:
/// rewinds it and reads raw dirents into a stack buffer.
fn count_dir_entries(dir: &File) -> std::io::Result<u64> {
    let fd = dir.as_raw_fd();
    // SAFETY: fd is a valid open directory for the lifetime of `dir`.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut buf = [0u8; 8192];
    let mut count = 0u64;
    loop {
        // SAFETY: buf is writable for buf.len() bytes.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(count);
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let name = &buf[off + 19..];
            let dot = name[0] == b'.' && (name[1] == 0 || (name[1] == b'.' && name[2] == 0));
            if !dot {
                count += 1;
            }
            if reclen == 0 {
                break;
            }
            off += reclen;
        }
    }
}

/// A process and all its descendants, summed. Children are found through
/// /proc/PID/task/TID/children where the kernel has it, else by scanning
/// /proc for parent pids.
#[derive(Debug)]
pub struct TreeProbe {
    root: ProcessProbe,
    depth: SampleDepth,
    members: Vec<ProcessProbe>,
    scratch: Vec<i32>,
    text: Vec<u8>,
}

impl TreeProbe {
    pub fn attach(pid: i32, depth: SampleDepth) -> Result<TreeProbe, ProbeError> {
        Ok(TreeProbe {
            root: ProcessProbe::attach(pid, depth)?,
            depth,
            members: Vec::new(),
            scratch: Vec::new(),
            text: Vec::new(),
        })
    }

    pub fn root(&self) -> &ProcessProbe {
        &self.root
    }

    /// Number of processes in the tree at the last sample.
    pub fn size(&self) -> usize {
        1 + self.members.len()
    }

    /// Sums the root and every descendant alive now. Fails only when the
    /// root is gone; descendants may come and go.
    pub fn sample(&mut self) -> Result<ProcessSample, ProbeError> {
        let mut total = self.root.sample()?;
        self.refresh_members();
        let mut i = 0;
        while i < self.members.len() {
            match self.members[i].sample() {
                Ok(s) => {
                    total.add(&s);
                    i += 1;
                }
                Err(_) => {
                    self.members.swap_remove(i);
                }
            }
        }
        Ok(total)
    }

    fn refresh_members(&mut self) {
        self.scratch.clear();
        let mut frontier = vec![self.root.pid()];
        while let Some(pid) = frontier.pop() {
            let before = self.scratch.len();
            children_of(pid, &mut self.scratch, &mut self.text);
            frontier.extend_from_slice(&self.scratch[before..]);
        }
        for &pid in &self.scratch {
            if !self.members.iter().any(|m| m.pid() == pid) {
                if let Ok(p) = ProcessProbe::attach(pid, self.depth) {
                    self.members.push(p);
                }
            }
        }
    }
}

/// Appends the child pids of `pid` to `out`.
fn children_of(pid: i32, out: &mut Vec<i32>, text: &mut Vec<u8>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    let mut found_children_file = false;
    for task in tasks.flatten() {
        let path = task.path().join("children");
        if let Ok(bytes) = std::fs::read(&path) {
            found_children_file = true;
            text.clear();
            text.extend_from_slice(&bytes);
            for field in text.split(|b| b.is_ascii_whitespace()) {
                if let Some(child) = parse::parse_u64(field) {
                    out.push(child as i32);
                }
            }
        }
    }
    if !found_children_file {
        for (child, ppid) in all_pids_with_parents() {
            if ppid == pid {
                out.push(child);
            }
        }
    }
}

fn all_pids_with_parents() -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) {
            if let Some((_, ppid, _, _)) = parse::stat_summary(&stat) {
                out.push((pid, ppid));
            }
        }
    }
    out
}

/// Pids of the processes matching `pattern`, excluding this process: a match
/// is the process name (comm), the file name of any argv element
/// (`leaky.py` matches `python3 app/leaky.py`), or, for patterns with a `/`
/// or a space, a substring of the whole command line.
pub fn find_by_name(pattern: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    let substring = pattern.contains('/') || pattern.contains(' ');
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let comm = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.strip_suffix(b"\n").unwrap_or(&comm) == pattern.as_bytes() {
            out.push(pid);
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args = cmdline.split(|b| *b == 0).filter(|a| !a.is_empty());
        let matched = if substring {
            let joined: Vec<u8> = cmdline
                .iter()
                .map(|b| if *b == 0 { b' ' } else { *b })
                .collect();
            joined
                .windows(pattern.len())
                .any(|w| w == pattern.as_bytes())
        } else {
            args.take(3)
                .any(|a| a.rsplit(|b| *b == b'/').next() == Some(pattern.as_bytes()))
        };
        if matched {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_a_process_and_sees_it_open_fds() {
        // A child of its own (this test process's fd table changes under the
        // other test threads), which opens three more fds after a moment. Its
        // starting count is not known: it inherits whatever the harness leaks.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "sleep 0.6; exec 7</dev/null 8</dev/null 9</dev/null; sleep 5",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut p = ProcessProbe::attach(child.id() as i32, SampleDepth::Full).unwrap();
        let before = p.sample().unwrap();
        assert!(before.rss_bytes > 0);
        assert!(before.pss_bytes.unwrap() > 0);
        assert_eq!(before.threads, 1);
        std::thread::sleep(std::time::Duration::from_millis(1000));
        let after = p.sample().unwrap();
        assert_eq!(after.fds.unwrap(), before.fds.unwrap() + 3);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn kernel_threads_and_zombies_get_their_own_errors() {
        // kthreadd is pid 2 wherever there is a kernel thread to see (not
        // in a pid namespace of a container).
        if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
            let e = ProcessProbe::attach(2, SampleDepth::Fast).unwrap_err();
            assert!(matches!(e, ProbeError::KernelThread { pid: 2, .. }), "{e}");
            assert!(e.to_string().contains("kernel thread"), "{e}");
        }
        // A child that exited and is not reaped yet.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .contains(") Z ")
        {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let e = ProcessProbe::attach(pid, SampleDepth::Full).unwrap_err();
        assert!(matches!(e, ProbeError::Zombie { .. }), "{e}");
        assert!(e.to_string().contains("zombie"), "{e}");
        child.wait().unwrap();
    }

    #[test]
    fn a_missing_pid_is_reported_not_panicked() {
        let e = ProcessProbe::attach(i32::MAX - 7, SampleDepth::Full).unwrap_err();
        assert!(matches!(e, ProbeError::NoSuchProcess { .. }), "{e}");
    }

    #[test]
    fn an_exited_child_reads_as_gone() {
        let mut child = std::process::Command::new("sleep")
            .arg("0.3")
            .spawn()
            .unwrap();
        let mut p = ProcessProbe::attach(child.id() as i32, SampleDepth::Full).unwrap();
        assert!(p.sample().is_ok());
        child.wait().unwrap();
        let e = p.sample().unwrap_err();
        assert!(e.is_gone(), "{e}");
    }

    #[test]
    fn follows_the_process_through_exec() {
        // The shell sleeps, then execs another program in the same pid.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 0.3; exec sleep 5"])
            .spawn()
            .unwrap();
        let mut p = ProcessProbe::attach(child.id() as i32, SampleDepth::Full).unwrap();
        assert!(p.sample().unwrap().pss_bytes.is_some());
        std::thread::sleep(std::time::Duration::from_millis(600));
        let s = p.sample().expect("still the same process after exec");
        assert!(s.pss_bytes.is_some() && s.rss_bytes > 0);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn tree_sums_children() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & sleep 5 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut tree = TreeProbe::attach(child.id() as i32, SampleDepth::Fast).unwrap();
        let total = tree.sample().unwrap();
        assert_eq!(tree.size(), 3);
        assert!(total.threads >= 3);
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn finds_processes_by_argv_file_name() {
        let mut child = std::process::Command::new("sleep")
            .arg("7.123")
            .spawn()
            .unwrap();
        // The child's cmdline is its parent's until it execs: allow a moment.
        let mut pids = Vec::new();
        for _ in 0..100 {
            pids = find_by_name("7.123");
            if pids.contains(&(child.id() as i32)) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(pids.contains(&(child.id() as i32)), "{pids:?}");
        assert!(find_by_name("no-such-process-name-xyz").is_empty());
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
