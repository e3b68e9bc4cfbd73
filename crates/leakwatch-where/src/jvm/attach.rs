//! A client of HotSpot's attach mechanism, spoken directly (no JDK needed
//! on the host): what `jcmd`, `jmap` and `jstack` use.
//!
//! 1. The JVM listens on the UNIX socket `/tmp/.java_pid<PID>` once its
//!    attach listener runs. To start it, a client creates the file
//!    `.attach_pid<PID>` in the JVM's working directory (or /tmp) and sends
//!    SIGQUIT; the JVM sees the file, starts the listener, and we remove the
//!    file again. PID is the JVM's pid in its own pid namespace, and both
//!    paths are in its mount namespace: we reach them through
//!    `/proc/PID/root` and `/proc/PID/cwd`.
//! 2. Each operation is one connection: protocol version `1`, the operation
//!    (`jcmd`, `dumpheap`, ...) and three arguments, each NUL-terminated;
//!    the answer is a decimal result code on the first line, then the
//!    operation's output, then EOF.
//! 3. HotSpot accepts the attach file and the connection only from its own
//!    effective user (and group), or root. As root we act as the JVM's user
//!    on a short-lived thread of our own (so a JVM in a user namespace, to
//!    which host root is nobody, accepts us too); as another user we refuse
//!    before touching anything.
//!
//! Before sending SIGQUIT we check that the JVM can take it: a JVM started
//! with `-Xrs`, or one still starting, has no SIGQUIT handler and would be
//! killed; a JVM with `-XX:+DisableAttachMechanism` (told by its
//! performance counters) would print a thread dump to its stdout instead.
//!
//! `snapshot --jvm` takes heap dumps through [`AttachTarget::dump_heap`].

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::jvm::perfdata::{self, Counters};
use crate::procfs::{self, ProcStatus};

/// Longest answer read (a histogram of 100,000 classes is about 10 MB).
const MAX_ANSWER: usize = 64 << 20;
/// HotSpot's limits on a request (attachListener.hpp).
const MAX_ARG: usize = 1024;
const MAX_NAME: usize = 16;

/// Why an attach operation failed, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("process {pid} is gone{during}")]
    Gone { pid: i32, during: &'static str },
    #[error("process {pid} is not a HotSpot JVM (no libjvm.so mapped)")]
    NotJvm { pid: i32 },
    #[error(
        "the JVM {pid} was started with -XX:+DisableAttachMechanism: it cannot be attached to. \
         Restart it without that flag, or take a heap dump at exit with \
         -XX:+HeapDumpOnOutOfMemoryError"
    )]
    Disabled { pid: i32 },
    #[error(
        "the JVM {pid} is {why}. SIGQUIT would start its attach listener only when it runs \
         again (and print a thread dump into its output if leakwatch had given up by then). \
         The JVM was not signalled"
    )]
    HeldStill { pid: i32, why: String },
    #[error(
        "the JVM {pid} has no SIGQUIT handler (started with -Xrs, or still starting): \
         starting its attach listener would kill it. Wait until it has started, or restart \
         it without -Xrs"
    )]
    NoSignalHandler { pid: i32 },
    #[error(
        "the JVM {pid} runs as user {target_user}, and HotSpot accepts attach only from its \
         own user or root: run `sudo -u {target_user} leakwatch ...` or run leakwatch as root"
    )]
    WrongUser { pid: i32, target_user: String },
    #[error(
        "the JVM {pid} did not start its attach listener within {}: it may be stuck in a long \
         garbage collection, or attach may be disabled. Check `{socket}` inside its \
         filesystem, or try again",
        leakwatch_core::format::duration(.waited.as_secs_f64())
    )]
    ListenerTimeout {
        pid: i32,
        waited: Duration,
        socket: String,
    },
    #[error(
        "the JVM {pid} closed the attach connection without answering: it accepts only its \
         own user and group ({detail})"
    )]
    Refused { pid: i32, detail: String },
    #[error("the JVM {pid} did not answer `{op}` within {}", leakwatch_core::format::duration(.after.as_secs_f64()))]
    Timeout {
        pid: i32,
        op: String,
        after: Duration,
    },
    #[error("the JVM answered something unexpected: {0}")]
    Protocol(String),
    #[error("the JVM refused `{op}` (code {code}): {message}")]
    Failed {
        op: String,
        code: i32,
        message: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AttachError {
    let context = context.into();
    move |source| AttachError::Io { context, source }
}

/// A running JVM, ready to take attach operations.
#[derive(Debug, Clone)]
pub struct AttachTarget {
    pid: i32,
    status: ProcStatus,
    /// `/proc/PID/root`: the JVM's filesystem as it sees it.
    root: PathBuf,
    /// The counters file, through `root`, when the JVM has one.
    perfdata: Option<PathBuf>,
    /// We are root and the JVM is not: act as its user.
    act_as_target: bool,
    /// Longest wait for the attach listener to start.
    listener_timeout: Duration,
}

impl AttachTarget {
    /// Checks that `pid` is a HotSpot JVM that can be attached to by us,
    /// without changing anything in it.
    pub fn open(pid: i32) -> Result<AttachTarget, AttachError> {
        let status = read_status(pid)?;
        let mapped = procfs::mapped_files(pid).map_err(|e| where_to_attach(pid, e))?;
        if !mapped
            .iter()
            .any(|p| p.rsplit('/').next() == Some("libjvm.so"))
        {
            return Err(AttachError::NotJvm { pid });
        }
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        let (our_uid, _) = procfs::our_ids();
        if our_uid != 0 && our_uid != status.euid {
            return Err(AttachError::WrongUser {
                pid,
                target_user: procfs::user_name(status.euid),
            });
        }
        // The JVM maps its counters file: its path there is the one it
        // writes, whatever its user name is inside a container.
        let perfdata = mapped
            .iter()
            .find(|p| {
                p.contains("/hsperfdata_")
                    && p.rsplit('/').next() == Some(status.nspid.to_string().as_str())
            })
            .map(|p| root.join(p.trim_start_matches('/')));
        let target = AttachTarget {
            pid,
            act_as_target: our_uid == 0 && status.euid != 0,
            status,
            root,
            perfdata,
            listener_timeout: Duration::from_secs(10),
        };
        if let Some(c) = target.counters() {
            if c.attach_supported == Some(false) {
                return Err(AttachError::Disabled { pid });
            }
        }
        Ok(target)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The JVM's own pid (in its pid namespace).
    pub fn nspid(&self) -> i32 {
        self.status.nspid
    }

    /// Its effective uid.
    pub fn uid(&self) -> u32 {
        self.status.euid
    }

    /// How long to wait for the listener to start (default 10 s, as the JDK).
    pub fn set_listener_timeout(&mut self, t: Duration) {
        self.listener_timeout = t;
    }

    /// A path inside the JVM's filesystem, as seen from here.
    pub fn path_in_target(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The JVM's performance counters now, when it has them.
    pub fn counters(&self) -> Option<Counters> {
        let buf = std::fs::read(self.perfdata.as_ref()?).ok()?;
        perfdata::parse(&buf).ok()
    }

    /// `jcmd PID LINE`: runs a diagnostic command, e.g.
    /// `GC.class_histogram -all`, and returns its output.
    pub fn jcmd(&self, line: &str, timeout: Duration) -> Result<String, AttachError> {
        self.execute("jcmd", &[line], timeout)
    }

    /// Writes a heap dump (HPROF) to `path_in_target` (a path in the JVM's
    /// own filesystem, written by the JVM as its user; see
    /// [`path_in_target`](Self::path_in_target) to read it from here).
    /// `live` dumps only reachable objects (after a full GC).
    pub fn dump_heap(
        &self,
        path_in_target: &str,
        live: bool,
        timeout: Duration,
    ) -> Result<String, AttachError> {
        let what = if live { "-live" } else { "-all" };
        self.execute("dumpheap", &[path_in_target, what], timeout)
    }

    /// Runs one attach operation with up to three arguments and returns its
    /// output (result code 0), starting the attach listener if needed.
    pub fn execute(
        &self,
        op: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String, AttachError> {
        let request = encode_request(op, args)?;
        let mut stream = self.connect()?;
        let deadline = Instant::now() + timeout;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(io_err("setting a timeout on the attach socket"))?;
        stream.write_all(&request).map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => AttachError::Refused {
                pid: self.pid,
                detail: format!(
                    "it runs as uid {} gid {}",
                    self.status.euid, self.status.egid
                ),
            },
            _ => AttachError::Io {
                context: format!("sending `{op}` to the JVM {}", self.pid),
                source: e,
            },
        })?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timeout(op, args, timeout));
            }
            stream
                .set_read_timeout(Some(left))
                .map_err(io_err("setting a timeout on the attach socket"))?;
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if answer.len() + n > MAX_ANSWER {
                        return Err(AttachError::Protocol(format!(
                            "an answer longer than {} MiB",
                            MAX_ANSWER >> 20
                        )));
                    }
                    answer.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(self.timeout(op, args, timeout));
                }
                Err(e) => {
                    return Err(AttachError::Io {
                        context: format!("reading the JVM {}'s answer", self.pid),
                        source: e,
                    })
                }
            }
        }
        if answer.is_empty() {
            if !procfs::alive(self.pid) {
                return Err(AttachError::Gone {
                    pid: self.pid,
                    during: " (it exited while answering)",
                });
            }
            return Err(AttachError::Refused {
                pid: self.pid,
                detail: format!(
                    "it runs as uid {} gid {}",
                    self.status.euid, self.status.egid
                ),
            });
        }
        let (code, body) = decode_answer(&answer)?;
        if code != 0 {
            return Err(AttachError::Failed {
                op: describe_op(op, args),
                code,
                message: body.trim().chars().take(2000).collect(),
            });
        }
        Ok(body)
    }

    fn timeout(&self, op: &str, args: &[&str], after: Duration) -> AttachError {
        if !procfs::alive(self.pid) {
            return AttachError::Gone {
                pid: self.pid,
                during: " (it exited while answering)",
            };
        }
        AttachError::Timeout {
            pid: self.pid,
            op: describe_op(op, args),
            after,
        }
    }

    fn socket_path(&self) -> PathBuf {
        self.path_in_target(&format!("/tmp/.java_pid{}", self.status.nspid))
    }

    /// A connection to the attach listener, starting it if needed.
    fn connect(&self) -> Result<UnixStream, AttachError> {
        let pid = self.pid;
        let socket = self.socket_path();
        let target = self.clone();
        self.as_target_user(move || {
            // Fast path: the listener already runs (an earlier poll, jcmd).
            if is_socket(&socket) {
                if let Ok(s) = UnixStream::connect(&socket) {
                    return Ok(s);
                }
            }
            target.start_listener(&socket)
        })
        .map_err(|e| match e {
            AttachError::Io { source, .. } if source.kind() == ErrorKind::NotFound => {
                AttachError::Gone { pid, during: "" }
            }
            e => e,
        })
    }

    /// The attach file, SIGQUIT, and a wait for the socket.
    fn start_listener(&self, socket: &Path) -> Result<UnixStream, AttachError> {
        let pid = self.pid;
        // Re-read: the JVM may have exited, or still be starting.
        let status = read_status(pid)?;
        if !status.catches(libc::SIGQUIT) {
            return Err(AttachError::NoSignalHandler { pid });
        }
        if let Some(why) = procfs::held_still(&status) {
            return Err(AttachError::HeldStill { pid, why });
        }
        let file = self.create_attach_file()?;
        let result = (|| {
            // SAFETY: kill(2) with a valid signal; pid is a live process we checked.
            if unsafe { libc::kill(pid, libc::SIGQUIT) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(match e.raw_os_error() {
                    Some(libc::ESRCH) => AttachError::Gone { pid, during: "" },
                    Some(libc::EPERM) => AttachError::WrongUser {
                        pid,
                        target_user: procfs::user_name(self.status.euid),
                    },
                    _ => AttachError::Io {
                        context: format!("signalling the JVM {pid}"),
                        source: e,
                    },
                });
            }
            let start = Instant::now();
            let mut pause = Duration::from_millis(10);
            loop {
                std::thread::sleep(pause);
                if is_socket(socket) {
                    if let Ok(s) = UnixStream::connect(socket) {
                        return Ok(s);
                    }
                }
                if !procfs::alive(pid) {
                    return Err(AttachError::Gone {
                        pid,
                        during: " (it exited while its attach listener started)",
                    });
                }
                if start.elapsed() >= self.listener_timeout {
                    return Err(AttachError::ListenerTimeout {
                        pid,
                        waited: start.elapsed(),
                        socket: format!("/tmp/.java_pid{}", self.status.nspid),
                    });
                }
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        })();
        if let Some(f) = file {
            let _ = std::fs::remove_file(f);
        }
        result
    }

    /// Creates `.attach_pid<NSPID>` in the JVM's working directory, or in
    /// its /tmp when that is not writable. Returns the path when we created
    /// it (another attacher's file is left to it).
    fn create_attach_file(&self) -> Result<Option<PathBuf>, AttachError> {
        let name = format!(".attach_pid{}", self.status.nspid);
        let cwd = PathBuf::from(format!("/proc/{}/cwd", self.pid)).join(&name);
        let tmp = self.path_in_target("/tmp").join(&name);
        let mut last = None;
        for path in [cwd, tmp] {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(_) => return Ok(Some(path)),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(None),
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| std::io::Error::other("no directory"));
        if !procfs::alive(self.pid) {
            return Err(AttachError::Gone {
                pid: self.pid,
                during: "",
            });
        }
        Err(AttachError::Io {
            context: format!(
                "creating {name} in the JVM {}'s working directory or /tmp (needed to start its \
                 attach listener)",
                self.pid
            ),
            source: e,
        })
    }

    /// Runs `f` with the JVM's effective uid and gid when we are root and
    /// it is not, on a thread of its own (credentials are per thread at the
    /// system call level; the rest of leakwatch keeps its own).
    fn as_target_user<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, AttachError> + Send + 'static,
    ) -> Result<T, AttachError> {
        if !self.act_as_target {
            return f();
        }
        let (uid, gid) = (self.status.euid, self.status.egid);
        let handle = std::thread::Builder::new()
            .name("leakwatch-attach".into())
            .spawn(move || {
                // Raw system calls on purpose: glibc's wrappers would change
                // every thread of the process.
                // SAFETY: setresgid/setresuid on the calling thread only; -1
                // keeps the real and saved ids (root), so nothing is lost
                // for the process, and this thread ends after `f`.
                let rc =
                    unsafe { libc::syscall(libc::SYS_setresgid, -1i64, i64::from(gid), -1i64) };
                let rc2 = if rc == 0 {
                    // SAFETY: as above.
                    unsafe { libc::syscall(libc::SYS_setresuid, -1i64, i64::from(uid), -1i64) }
                } else {
                    rc
                };
                if rc2 != 0 {
                    return Err(AttachError::Io {
                        context: format!("taking the JVM's user id {uid} to attach"),
                        source: std::io::Error::last_os_error(),
                    });
                }
                f()
            })
            .map_err(io_err("starting the attach thread"))?;
        handle
            .join()
            .unwrap_or_else(|_| Err(AttachError::Protocol("the attach thread failed".into())))
    }
}

fn read_status(pid: i32) -> Result<ProcStatus, AttachError> {
    procfs::status(pid).map_err(|e| where_to_attach(pid, e))
}

fn where_to_attach(pid: i32, e: crate::WhereError) -> AttachError {
    match e {
        crate::WhereError::Gone { during, .. } => AttachError::Gone { pid, during },
        crate::WhereError::Permission { .. } => AttachError::WrongUser {
            pid,
            target_user: "another user".into(),
        },
        other => AttachError::Protocol(other.to_string()),
    }
}

fn is_socket(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

fn describe_op(op: &str, args: &[&str]) -> String {
    let mut s = op.to_owned();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Protocol version 1: `1\0OP\0ARG0\0ARG1\0ARG2\0`.
pub fn encode_request(op: &str, args: &[&str]) -> Result<Vec<u8>, AttachError> {
    if args.len() > 3 {
        return Err(AttachError::Protocol(format!(
            "`{op}` takes at most 3 arguments"
        )));
    }
    if op.is_empty() || op.len() > MAX_NAME || op.contains('\0') {
        return Err(AttachError::Protocol(format!("bad operation name `{op}`")));
    }
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"1\0");
    out.extend_from_slice(op.as_bytes());
    out.push(0);
    for i in 0..3 {
        let a = args.get(i).copied().unwrap_or("");
        if a.len() > MAX_ARG || a.contains('\0') {
            return Err(AttachError::Protocol(format!(
                "argument {} of `{op}` is longer than {MAX_ARG} bytes or holds a NUL",
                i + 1
            )));
        }
        out.extend_from_slice(a.as_bytes());
        out.push(0);
    }
    Ok(out)
}

/// The result code on the first line, and the rest.
pub fn decode_answer(answer: &[u8]) -> Result<(i32, String), AttachError> {
    let text = String::from_utf8_lossy(answer);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let code = first.trim().parse::<i32>().map_err(|_| {
        AttachError::Protocol(format!(
            "no result code before the output: {:?}",
            first.chars().take(120).collect::<String>()
        ))
    })?;
    Ok((code, rest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_version_1_with_three_arguments() {
        assert_eq!(
            encode_request("jcmd", &["GC.class_histogram"]).unwrap(),
            b"1\0jcmd\0GC.class_histogram\0\0\0"
        );
        assert_eq!(
            encode_request("dumpheap", &["/tmp/h.hprof", "-live"]).unwrap(),
            b"1\0dumpheap\0/tmp/h.hprof\0-live\0\0"
        );
        assert!(encode_request("jcmd", &["a", "b", "c", "d"]).is_err());
        assert!(encode_request("jcmd", &[&"x".repeat(2000)]).is_err());
        assert!(encode_request("a\0b", &[]).is_err());
        assert!(encode_request("averyveryverylongop", &[]).is_err());
    }

    #[test]
    fn answers_start_with_a_code() {
        assert_eq!(
            decode_answer(b"0\nhello\nworld\n").unwrap(),
            (0, "hello\nworld\n".to_owned())
        );
        assert_eq!(decode_answer(b"-1\nboom").unwrap(), (-1, "boom".to_owned()));
        assert_eq!(decode_answer(b"0").unwrap(), (0, String::new()));
        assert!(decode_answer(b"hello\n").is_err());
        assert!(decode_answer(b"").is_err());
    }

    #[test]
    fn a_process_that_is_not_a_jvm_is_refused_untouched() {
        let me = std::process::id() as i32;
        assert!(matches!(
            AttachTarget::open(me),
            Err(AttachError::NotJvm { .. })
        ));
        assert!(matches!(
            AttachTarget::open(i32::MAX),
            Err(AttachError::Gone { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_answer_decodes_or_fails_cleanly(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode_answer(&data);
        }

        #[test]
        fn requests_carry_their_arguments(args in proptest::collection::vec("[^\\x00]{0,64}", 0..=3)) {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let req = encode_request("jcmd", &refs).unwrap();
            let parts: Vec<&[u8]> = req.split(|&b| b == 0).collect();
            // "1", "jcmd", three arguments, and the empty tail.
            proptest::prop_assert_eq!(parts.len(), 6);
            for (i, a) in args.iter().enumerate() {
                proptest::prop_assert_eq!(parts[2 + i], a.as_bytes());
            }
        }
    }
}
