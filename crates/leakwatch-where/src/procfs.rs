//! The few facts about a process that every source needs, from /proc.

use std::io::ErrorKind;
use std::path::PathBuf;

use crate::WhereError;

/// A process as /proc describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStatus {
    pub pid: i32,
    /// `Tgid:`: the process a thread id (from `top -H`) belongs to.
    pub tgid: i32,
    /// `Name:` (the comm, at most 15 bytes).
    pub name: String,
    /// `State:` letter (R, S, D, Z, T, ...).
    pub state: char,
    /// Effective uid and gid (what the kernel checks it against).
    pub euid: u32,
    pub egid: u32,
    /// The pid in the innermost pid namespace (`NSpid:`'s last entry): the
    /// process's own idea of its pid, used in file names it creates.
    pub nspid: i32,
    /// Signals it catches (`SigCgt:`), one bit per signal number - 1.
    pub sig_caught: u64,
    /// Signals it ignores and blocks.
    pub sig_ignored: u64,
    pub sig_blocked: u64,
}

impl ProcStatus {
    /// Whether a handler for `sig` is installed (not ignored, default or blocked).
    pub fn catches(&self, sig: i32) -> bool {
        let bit = 1u64 << (sig - 1);
        self.sig_caught & bit != 0 && self.sig_ignored & bit == 0
    }

    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses /proc/PID/status text. Fields it lacks keep neutral defaults
/// (`NSpid` appeared in Linux 4.1: the pid itself before that).
pub fn parse_status(pid: i32, text: &str) -> Option<ProcStatus> {
    let mut st = ProcStatus {
        pid,
        tgid: pid,
        name: String::new(),
        state: '?',
        euid: u32::MAX,
        egid: u32::MAX,
        nspid: pid,
        sig_caught: 0,
        sig_ignored: 0,
        sig_blocked: 0,
    };
    let second = |v: &str| v.split_whitespace().nth(1).and_then(|x| x.parse().ok());
    let hex = |v: &str| u64::from_str_radix(v.trim(), 16).ok();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k {
            "Name" => st.name = v.trim().to_owned(),
            "Tgid" => st.tgid = v.trim().parse().ok()?,
            "State" => st.state = v.trim().chars().next().unwrap_or('?'),
            "Uid" => st.euid = second(v)?,
            "Gid" => st.egid = second(v)?,
            "NSpid" => st.nspid = v.split_whitespace().last()?.parse().ok()?,
            "SigCgt" => st.sig_caught = hex(v)?,
            "SigIgn" => st.sig_ignored = hex(v)?,
            "SigBlk" => st.sig_blocked = hex(v)?,
            _ => {}
        }
    }
    (st.euid != u32::MAX && st.egid != u32::MAX).then_some(st)
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

/// Maps a /proc read error to what it means for the user.
pub(crate) fn proc_error(pid: i32, what: &'static str, e: std::io::Error) -> WhereError {
    match e.kind() {
        ErrorKind::NotFound => WhereError::Gone { pid, during: "" },
        ErrorKind::PermissionDenied => WhereError::Permission {
            pid,
            what,
            fix: permission_fix(pid),
        },
        _ if e.raw_os_error() == Some(libc::ESRCH) => WhereError::Gone { pid, during: "" },
        _ => WhereError::io(format!("reading /proc/{pid}/{what}"), e),
    }
}

/// What to do when /proc/PID files cannot be read.
fn permission_fix(pid: i32) -> String {
    let (uid, _) = our_ids();
    let owner = std::fs::read_to_string(proc_path(pid, "status"))
        .ok()
        .and_then(|t| parse_status(pid, &t))
        .map(|st| st.euid);
    match owner {
        Some(o) if uid != 0 && o != uid => {
            let user = user_name(o);
            format!(
                "it runs as user {user} and leakwatch as {}: run `sudo -u {user} leakwatch ...`, \
                 or leakwatch as root",
                user_name(uid)
            )
        }
        _ if uid == 0 => "even root may not: the process is in another user namespace or \
                          protected by a security module (run leakwatch inside its container)"
            .to_owned(),
        _ => "the process is not dumpable (setuid, or prctl PR_SET_DUMPABLE 0): run leakwatch \
              as root"
            .to_owned(),
    }
}

/// Why a signal to `st`'s process would not act now but when it resumes
/// (a Node inspector opened, or a JVM's thread dump printed, after
/// leakwatch has given up): stopped by SIGSTOP, Ctrl-Z or a debugger, or
/// frozen with its cgroup (`docker pause`, the cgroup freezer).
pub fn held_still(st: &ProcStatus) -> Option<String> {
    match st.state {
        'T' => {
            return Some(format!(
                "stopped (SIGSTOP or Ctrl-Z): resume it with `kill -CONT {}` first",
                st.pid
            ))
        }
        't' => return Some("stopped by a debugger (ptrace): detach the debugger".into()),
        _ => {}
    }
    let cgroups = std::fs::read_to_string(proc_path(st.pid, "cgroup")).ok()?;
    frozen_cgroup(&cgroups, std::path::Path::new("/sys/fs/cgroup"))
}

/// The frozen cgroup among /proc/PID/cgroup's lines, if any (`root`: the
/// cgroup mount).
fn frozen_cgroup(cgroups: &str, root: &std::path::Path) -> Option<String> {
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        let frozen = if controllers.is_empty() {
            ["", "unified"].iter().any(|m| {
                std::fs::read_to_string(root.join(m).join(rel).join("cgroup.events"))
                    .is_ok_and(|t| t.lines().any(|l| l.trim() == "frozen 1"))
            })
        } else if controllers.split(',').any(|c| c == "freezer") {
            std::fs::read_to_string(root.join("freezer").join(rel).join("freezer.state"))
                .is_ok_and(|t| matches!(t.trim(), "FROZEN" | "FREEZING"))
        } else {
            false
        };
        if frozen {
            return Some(format!(
                "frozen with its cgroup {path} (`docker pause`, the cgroup freezer): thaw it first"
            ));
        }
    }
    None
}

/// Refuses a process that is a thread of another: `top -H` and `ps -L`
/// show thread ids, and signalling one would act on the whole process
/// under a name the user did not give.
pub fn refuse_thread_id(st: &ProcStatus) -> Result<(), WhereError> {
    if st.tgid > 0 && st.tgid != st.pid {
        return Err(WhereError::Unsupported(format!(
            "{} is a thread of process {} ({}), not a process (thread ids come from \
             `top -H` or `ps -L`): pass --pid {}",
            st.pid, st.tgid, st.name, st.tgid
        )));
    }
    Ok(())
}

/// Reads and parses /proc/PID/status; a zombie counts as gone.
pub fn status(pid: i32) -> Result<ProcStatus, WhereError> {
    if pid <= 0 {
        return Err(WhereError::Unsupported(format!(
            "{pid} is not a process id (give the pid of a running process, e.g. from `pgrep -f NAME`)"
        )));
    }
    let text = std::fs::read_to_string(proc_path(pid, "status"))
        .map_err(|e| proc_error(pid, "read", e))?;
    let st = parse_status(pid, &text).ok_or_else(|| WhereError::Protocol {
        runtime: "/proc",
        detail: format!("/proc/{pid}/status has no Uid/Gid lines"),
    })?;
    if st.is_zombie() {
        return Err(WhereError::Gone {
            pid,
            during: " (it exited and is waiting for its parent to reap it)",
        });
    }
    Ok(st)
}

/// Whether the process still runs (not a zombie).
pub fn alive(pid: i32) -> bool {
    status(pid).is_ok()
}

/// The mapped files of the process (/proc/PID/maps' path column), each once.
pub fn mapped_files(pid: i32) -> Result<Vec<String>, WhereError> {
    let text = std::fs::read_to_string(proc_path(pid, "maps"))
        .map_err(|e| proc_error(pid, "read the memory maps of", e))?;
    Ok(parse_mapped_files(&text))
}

/// The path column of /proc/PID/maps text, each path once, in order.
pub fn parse_mapped_files(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        // address perms offset dev inode path: the path starts after the
        // fifth field and may contain spaces.
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            match rest.find(' ') {
                Some(i) => rest = &rest[i..],
                None => {
                    rest = "";
                    break;
                }
            }
        }
        let path = rest.trim();
        if path.starts_with('/') && !out.iter().any(|p| p == path) {
            out.push(path.to_owned());
        }
    }
    out
}

/// The executable's path as the process sees it (`/proc/PID/exe`'s target).
pub fn exe(pid: i32) -> Result<PathBuf, WhereError> {
    std::fs::read_link(proc_path(pid, "exe"))
        .map_err(|e| proc_error(pid, "read the executable of", e))
}

/// Our own effective uid and gid.
pub fn our_ids() -> (u32, u32) {
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// A user name for messages, from /etc/passwd; the number when unknown.
pub fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let id: u32 = f.nth(1)?.parse().ok()?;
                (id == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tjava\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t24084\n\
        Uid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\nNSpid:\t24084\t7\n\
        SigQ:\t0/95448\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
        SigBlk:\t0000000000000000\nSigIgn:\t0000000000000002\nSigCgt:\t2000000101005ccd\n";

    #[test]
    fn status_fields() {
        let st = parse_status(24084, STATUS).unwrap();
        assert_eq!(st.name, "java");
        assert_eq!((st.euid, st.egid), (1001, 101));
        assert_eq!(st.nspid, 7);
        assert!(st.catches(libc::SIGQUIT));
        assert!(!st.catches(libc::SIGINT));
        assert!(!st.is_zombie());
        assert!(parse_status(1, "Name:\tx\n").is_none());
    }

    #[test]
    fn maps_paths_with_spaces_once_each() {
        let maps = "7f0-7f1 r-xp 00000000 08:01 123 /usr/lib/jvm/lib/server/libjvm.so\n\
                    7f1-7f2 r--p 00001000 08:01 123 /usr/lib/jvm/lib/server/libjvm.so\n\
                    7f3-7f4 rw-s 00000000 08:01 9 /tmp/hsperfdata_a b/42\n\
                    7f5-7f6 rw-p 00000000 00:00 0 \n7f7-7f8 rw-p 00000000 00:00 0  [heap]\n";
        assert_eq!(
            parse_mapped_files(maps),
            [
                "/usr/lib/jvm/lib/server/libjvm.so",
                "/tmp/hsperfdata_a b/42"
            ]
        );
    }

    #[test]
    fn our_own_process() {
        let st = status(std::process::id() as i32).unwrap();
        assert_eq!((st.euid, st.egid), our_ids());
        assert!(alive(std::process::id() as i32));
        assert!(matches!(status(0), Err(WhereError::Unsupported(_))));
        assert!(!mapped_files(std::process::id() as i32).unwrap().is_empty());
    }

    #[test]
    fn thread_ids_are_refused_with_their_process() {
        // A thread of this test process.
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            tx.send(unsafe { libc::gettid() }).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
        });
        let tid = rx.recv().unwrap();
        let st = status(tid).unwrap();
        assert_eq!(st.tgid, std::process::id() as i32);
        let err = refuse_thread_id(&st).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pass --pid {}", std::process::id())),
            "{err}"
        );
        assert!(refuse_thread_id(&status(std::process::id() as i32).unwrap()).is_ok());
        h.join().unwrap();
    }

    #[test]
    fn stopped_traced_and_frozen_processes_are_held_still() {
        let mut st = status(std::process::id() as i32).unwrap();
        assert_eq!(held_still(&st), None);
        st.state = 'T';
        assert!(held_still(&st).unwrap().contains("kill -CONT"));
        st.state = 't';
        assert!(held_still(&st).unwrap().contains("debugger"));
        // Frozen cgroups, v2 and v1, under a fake mount.
        let root = tempfile::tempdir().unwrap();
        let v2 = root.path().join("app.slice/web");
        std::fs::create_dir_all(&v2).unwrap();
        std::fs::write(v2.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        let why = frozen_cgroup("0::/app.slice/web\n", root.path()).unwrap();
        assert!(why.contains("/app.slice/web"), "{why}");
        std::fs::write(v2.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        assert_eq!(frozen_cgroup("0::/app.slice/web\n", root.path()), None);
        let v1 = root.path().join("freezer/docker/abc");
        std::fs::create_dir_all(&v1).unwrap();
        std::fs::write(v1.join("freezer.state"), "FROZEN\n").unwrap();
        assert!(
            frozen_cgroup("7:freezer:/docker/abc\n4:memory:/docker/abc\n", root.path()).is_some()
        );
        std::fs::write(v1.join("freezer.state"), "THAWED\n").unwrap();
        assert_eq!(frozen_cgroup("7:freezer:/docker/abc\n", root.path()), None);
    }

    proptest::proptest! {
        #[test]
        fn any_status_or_maps_text_is_safe(text in "\\PC{0,600}") {
            let _ = parse_status(7, &text);
            for p in parse_mapped_files(&text) {
                proptest::prop_assert!(p.starts_with('/'));
            }
        }
    }
}
