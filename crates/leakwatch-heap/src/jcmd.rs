//! Taking a heap dump of a running JVM. For now through the JDK's `jcmd PID
//! GC.heap_dump -all=false FILE` (a full collection, then only live objects
//! are written); [`dump_heap`] is the one place that does it, so a client of
//! the HotSpot attach protocol can replace it without touching callers.
//!
//! Requirements (as for `jcmd` itself): a JDK's `jcmd` (the JVM's own is
//! preferred: `bin/jcmd` beside its `java`), leakwatch running as the JVM's
//! user (HotSpot refuses other users), attach not disabled
//! (`-XX:+DisableAttachMechanism`), and SIGQUIT not ignored by the JVM (a
//! JVM started in the background by a non-interactive shell script may
//! ignore it, and then never opens its attach socket).
//!
//! The dump is written by the JVM into a private staging directory (mode
//! 0700) and moved into place with mode 0600 only once `jcmd` reports it
//! complete: a run killed mid-dump leaves no cut dump where `leakwatch
//! diff` would find it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::HeapError;
use crate::files;

/// Checks that `pid` is a running HotSpot JVM (its maps hold `libjvm.so`).
pub fn check_jvm(pid: u32) -> Result<(), HeapError> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).map_err(|e| {
        HeapError::Jvm(match e.kind() {
            std::io::ErrorKind::NotFound => format!("no process {pid}"),
            std::io::ErrorKind::PermissionDenied => {
                format!("cannot read /proc/{pid}/maps: run leakwatch as the JVM's user (or root)")
            }
            _ => format!("cannot read /proc/{pid}/maps: {e}"),
        })
    })?;
    if !maps.contains("/libjvm.so") {
        return Err(HeapError::Jvm(format!(
            "process {pid} is not a HotSpot JVM (no libjvm.so in /proc/{pid}/maps)"
        )));
    }
    Ok(())
}

/// The `jcmd` to use: the one beside the JVM's own `java` if present,
/// else the first on PATH.
pub fn find_jcmd(pid: u32) -> PathBuf {
    if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
        if let Some(bin) = exe.parent() {
            let j = bin.join("jcmd");
            // Seen through the target's root, in case it runs in a container.
            let in_root =
                Path::new(&format!("/proc/{pid}/root")).join(j.strip_prefix("/").unwrap_or(&j));
            for c in [j, in_root] {
                if c.is_file() {
                    return c;
                }
            }
        }
    }
    PathBuf::from("jcmd")
}

/// The JVM's user id, from /proc.
fn jvm_uid(pid: u32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// A private directory the JVM writes its dumps into before they are moved
/// to their final place; removed when dropped.
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Creates `OUT/.leakwatch-jvm-PID-STAMP` with mode 0700, owned by the
    /// JVM's user when leakwatch runs as root (the JVM writes the file).
    pub fn create(out_dir: &Path, pid: u32, stamp: u64) -> Result<Self, HeapError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = out_dir.join(format!(".leakwatch-jvm-{pid}-{stamp}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| {
                HeapError::Jvm(format!(
                    "cannot create the staging directory {}: {e}",
                    dir.display()
                ))
            })?;
        let staging = Staging { dir };
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if let Some(uid) = jvm_uid(pid).filter(|&u| u != me && me == 0) {
            std::os::unix::fs::chown(&staging.dir, Some(uid), None).map_err(|e| {
                HeapError::Jvm(format!(
                    "cannot hand {} to the JVM's user {uid}: {e}",
                    staging.dir.display()
                ))
            })?;
        }
        Ok(staging)
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Takes a heap dump of JVM `pid` with `jcmd` into `staging`, then moves
/// it to `dest` (mode 0600, never replacing a file). `timeout` bounds the
/// whole dump; `jcmd` is killed if it runs longer.
pub fn dump_heap(
    pid: u32,
    staging: &Staging,
    dest: &Path,
    timeout: Duration,
) -> Result<PathBuf, HeapError> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dump.hprof".into());
    let tmp = staging.path().join(&name);
    let jcmd = find_jcmd(pid);
    let mut child = Command::new(&jcmd)
        .arg(pid.to_string())
        .arg("GC.heap_dump")
        .arg("-all=false")
        .arg(&tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            HeapError::Jvm(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "{} not found: install a JDK (Debian: apt-get install openjdk-17-jdk-headless) \
                     or put its bin/ directory on PATH",
                    jcmd.display()
                )
            } else {
                format!("cannot run {}: {e}", jcmd.display())
            })
        })?;
    // Read both pipes on threads so a chatty jcmd never blocks on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HeapError::Jvm(format!(
                    "jcmd did not finish the heap dump within {} s; it was stopped (the JVM may \
                     still be writing into {}, which is removed)",
                    timeout.as_secs(),
                    staging.path().display()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(HeapError::Jvm(format!("waiting for jcmd: {e}"))),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    // jcmd exits 0 even when the JVM could not write the dump: the JVM's
    // answer says whether it did.
    if !status.success() || !stdout.contains("Heap dump file created") {
        let said = format!("{}{}", stdout.trim(), stderr.trim());
        let said: String = said.lines().take(4).collect::<Vec<_>>().join(" | ");
        let hint = if said.contains("AttachNotSupportedException")
            || said.contains("Unable to open socket file")
        {
            format!(
                " — the JVM did not answer the attach request: run leakwatch as the JVM's user \
                 (uid {}), check it was not started with -XX:+DisableAttachMechanism, and that it \
                 does not ignore SIGQUIT (a JVM started in the background by a shell script may)",
                jvm_uid(pid).map_or("?".into(), |u| u.to_string())
            )
        } else if said.contains("Permission denied") {
            " — the JVM cannot write into the output directory: run leakwatch as the JVM's user"
                .to_string()
        } else {
            String::new()
        };
        return Err(HeapError::Jvm(format!(
            "jcmd {pid} GC.heap_dump failed: {said}{hint}"
        )));
    }
    files::adopt(&tmp, dest).map_err(|e| {
        HeapError::Jvm(format!(
            "cannot move the dump {} to {}: {e}",
            tmp.display(),
            dest.display()
        ))
    })
}
