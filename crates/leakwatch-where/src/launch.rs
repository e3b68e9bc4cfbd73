//! `where -- CMD`: start a program so that its runtime can be observed from
//! the start, and find its growth source.
//!
//! The program is started in its own process group with two helpers on
//! its way, in a private directory (0700) of ours:
//! - `sitecustomize.py` first on `PYTHONPATH` (tracemalloc, see
//!   helpers/sitecustomize.py), and
//! - `leakwatch_where.rb` through `RUBYOPT=-r` (ObjectSpace counts),
//!
//! each of which, in the first Python or Ruby process, puts the environment
//! back as it was and connects to a UNIX socket in the same directory. For
//! a JVM, Go or Node program nothing is injected: it is found in /proc and
//! opened as with `--pid`.
//!
//! The program is ours: [`Launched::stop`] (and drop) ends its whole
//! process group, SIGTERM then SIGKILL, so no process is left running.

use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helper::{read_hello, Hello, HelperSource};
use crate::runtime::{self, Runtime};
use crate::{procfs, GrowthSource, Options, WhereError};

const SITECUSTOMIZE: &str = include_str!("../helpers/sitecustomize.py");
const RUBY_HELPER: &str = include_str!("../helpers/leakwatch_where.rb");

/// Whether `program` is found on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(program);
            std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

/// What to do with the program's standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildOutput {
    Inherit,
    /// Onto our stderr (when our stdout is JSON).
    ToStderr,
    Null,
}

/// A program started by `where -- CMD`.
pub struct Launched {
    child: Child,
    pid: i32,
    program: String,
    command: Vec<String>,
    dir: tempfile::TempDir,
    listener: UnixListener,
    /// Helpers that said hello, not yet used.
    helpers: Vec<(UnixStream, Hello)>,
    status: Option<ExitStatus>,
}

impl std::fmt::Debug for Launched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launched")
            .field("pid", &self.pid)
            .field("program", &self.program)
            .finish_non_exhaustive()
    }
}

/// Starts `cmd` with the helpers on its way.
pub fn launch(cmd: &[String], output: ChildOutput) -> Result<Launched, WhereError> {
    let program = cmd
        .first()
        .ok_or_else(|| WhereError::Unsupported("no command given after --".into()))?;
    let dir = tempfile::Builder::new()
        .prefix("leakwatch-where-")
        .tempdir()
        .map_err(|e| WhereError::io("creating a private directory for the helpers", e))?;
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text)
            .map_err(|e| WhereError::io(format!("writing the helper {name}"), e))
    };
    write("sitecustomize.py", SITECUSTOMIZE)?;
    write("leakwatch_where.rb", RUBY_HELPER)?;
    let socket = dir.path().join("socket");
    let listener = UnixListener::bind(&socket)
        .map_err(|e| WhereError::io("listening for the program's helper", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| WhereError::io("listening for the program's helper", e))?;

    let pythonpath = match std::env::var_os("PYTHONPATH") {
        Some(p) if !p.is_empty() => {
            let mut v = dir.path().as_os_str().to_owned();
            v.push(":");
            v.push(p);
            v
        }
        _ => dir.path().as_os_str().to_owned(),
    };
    let rubyopt = {
        let ours = format!("-r{}", dir.path().join("leakwatch_where.rb").display());
        match std::env::var("RUBYOPT") {
            Ok(r) if !r.trim().is_empty() => format!("{r} {ours}"),
            _ => ours,
        }
    };
    let stdout = match output {
        ChildOutput::Inherit => Stdio::inherit(),
        ChildOutput::Null => Stdio::null(),
        ChildOutput::ToStderr => {
            // SAFETY: dup(2) of our stderr; the new fd is owned by Stdio.
            let fd = unsafe { libc::dup(2) };
            if fd < 0 {
                Stdio::inherit()
            } else {
                use std::os::fd::FromRawFd;
                // SAFETY: fd is a fresh descriptor we own.
                Stdio::from(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
            }
        }
    };
    let mut command = Command::new(program);
    // The helpers put back what was set, and unset what was not.
    for var in ["PYTHONPATH", "RUBYOPT"] {
        match std::env::var_os(var) {
            Some(v) => command.env(format!("LEAKWATCH_WHERE_SAVED_{var}"), v),
            None => command.env_remove(format!("LEAKWATCH_WHERE_SAVED_{var}")),
        };
    }
    command
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(stdout)
        .env("LEAKWATCH_WHERE_SOCKET", &socket)
        .env("PYTHONPATH", pythonpath)
        .env("RUBYOPT", rubyopt)
        // Its own group, so the whole tree can be ended at the end.
        .process_group(0);
    die_with_parent(&mut command);
    let child = command.spawn().map_err(|e| {
        WhereError::Unsupported(format!(
            "cannot start `{program}` ({e}): check that it exists and is executable"
        ))
    })?;
    let pid = child.id() as i32;
    Ok(Launched {
        child,
        pid,
        program: program.clone(),
        command: cmd.to_vec(),
        dir,
        listener,
        helpers: Vec::new(),
        status: None,
    })
}

impl Launched {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The helpers' private directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The program's exit status, once it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn accept_helpers(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            let _ = stream.set_nonblocking(false);
            if let Ok(hello) = read_hello(&stream, Duration::from_secs(5)) {
                self.helpers.push((stream, hello));
            }
        }
    }

    fn helper_source(
        &mut self,
        i: usize,
        opts: &Options,
    ) -> Result<Box<dyn GrowthSource>, WhereError> {
        let (stream, hello) = self.helpers.swap_remove(i);
        let _ = stream.set_read_timeout(None);
        let command = shell_words(&self.command);
        Ok(match hello.runtime.as_str() {
            "python" => Box::new(HelperSource::python(
                stream,
                hello,
                opts.poll_timeout,
                &command,
            )?),
            "ruby" => Box::new(HelperSource::ruby(
                stream,
                hello,
                opts.poll_timeout,
                &command,
            )?),
            other => {
                return Err(WhereError::Protocol {
                    runtime: "the program's helper",
                    detail: format!("unknown runtime {other:?}"),
                })
            }
        })
    }

    /// Waits (at most `wait`) until the program's runtime is known and
    /// returns its source: a helper that connected from the program itself,
    /// a JVM, Go or Node program found in /proc, or else a helper from one
    /// of its children (the program was a wrapper script).
    pub fn source(
        &mut self,
        opts: &Options,
        wait: Duration,
    ) -> Result<(Box<dyn GrowthSource>, Runtime), WhereError> {
        let start = Instant::now();
        let mut last = None;
        // Native code must look native for a while: a wrapper may exec the
        // real program, and a JVM maps libjvm.so only once it loads it.
        let mut native_since: Option<Instant> = None;
        loop {
            self.accept_helpers();
            if let Some(i) = self.helpers.iter().position(|(_, h)| h.pid == self.pid) {
                let rt = runtime_of(&self.helpers[i].1);
                return Ok((self.helper_source(i, opts)?, rt));
            }
            if let Some(status) = self.exited() {
                return Err(WhereError::Gone {
                    pid: self.pid,
                    during: exited_how(status),
                });
            }
            let detected = runtime::detect(self.pid).ok();
            match detected.as_ref().map(|d| d.runtime) {
                Some(Runtime::Jvm) => {
                    if jvm_ready(self.pid) {
                        return Ok((crate::open(self.pid, Runtime::Jvm, opts)?, Runtime::Jvm));
                    }
                }
                Some(rt @ (Runtime::Go | Runtime::Node)) => {
                    // Give it a moment to open its endpoints.
                    if start.elapsed() >= Duration::from_secs(1) {
                        return Ok((crate::open(self.pid, rt, opts)?, rt));
                    }
                }
                Some(rt @ (Runtime::Python | Runtime::Ruby)) => {
                    // The helper connects before the program's first line;
                    // a Python started with -S/-I, or one whose user cannot
                    // read our directory, never does.
                    let python2 = rt == Runtime::Python
                        && detected
                            .as_ref()
                            .is_some_and(|d| d.evidence.contains("python2"));
                    if python2 && start.elapsed() >= Duration::from_secs(1).min(wait) {
                        return Err(WhereError::Unsupported(format!(
                            "`{}` runs Python 2, which has no tracemalloc (Python 3.4 and \
                             later have it): `leakwatch trace -- {} ...` shows its allocation \
                             sites in native code, `leakwatch run` whether it leaks",
                            self.program, self.program
                        )));
                    }
                    if start.elapsed() >= Duration::from_secs(5).min(wait) {
                        return Err(WhereError::Unsupported(format!(
                            "`{}` runs {rt}, but leakwatch's helper did not start in it: \
                             {}",
                            self.program,
                            if rt == Runtime::Python {
                                "was it started with -S, -I or -E (which ignore PYTHONPATH), \
                                 or does it run as another user? Start it as plain \
                                 `python3 script.py ...`"
                            } else {
                                "was RUBYOPT ignored (ruby --disable-rubyopt), or does it run \
                                 as another user? Start it as plain `ruby script.rb ...`"
                            }
                        )));
                    }
                }
                Some(Runtime::Native) | None => {
                    let since = *native_since.get_or_insert_with(Instant::now);
                    if !self.helpers.is_empty() && since.elapsed() >= Duration::from_secs(1) {
                        let rt = runtime_of(&self.helpers[0].1);
                        return Ok((self.helper_source(0, opts)?, rt));
                    }
                    if since.elapsed() >= Duration::from_secs(3) && detected.is_some() {
                        return Err(WhereError::Unsupported(format!(
                            "`{}` runs no runtime leakwatch can ask ({}): run `leakwatch trace \
                             -- {} ...` for its allocation sites",
                            self.program,
                            detected.map_or_else(String::new, |d| d.evidence),
                            self.program
                        )));
                    }
                }
            }
            if !matches!(
                detected.as_ref().map(|d| d.runtime),
                Some(Runtime::Native) | None
            ) {
                native_since = None;
            }
            last = detected.or(last);
            if start.elapsed() >= wait {
                return Err(WhereError::Unsupported(format!(
                    "`{}` was not ready to be observed after {}: {}",
                    self.program,
                    leakwatch_core::format::duration(wait.as_secs_f64()),
                    last.map_or_else(|| "its runtime is unknown".to_owned(), |d| d.evidence)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ends the program's whole process group: SIGTERM, then SIGKILL if it
    /// has not exited within `grace`. Returns its exit status.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.exited() {
            // The leader is gone; its group may still have members.
            // SAFETY: kill(2) on the process group we created.
            unsafe { libc::kill(-self.pid, libc::SIGKILL) };
            return Some(s);
        }
        // SAFETY: kill(2) on the process group we created.
        unsafe { libc::kill(-self.pid, libc::SIGTERM) };
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.exited().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; stragglers of the group.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        self.status
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// A command line to paste into a shell (words with spaces or quotes quoted).
fn shell_words(cmd: &[String]) -> String {
    cmd.iter()
        .map(|w| {
            if !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn runtime_of(h: &Hello) -> Runtime {
    match h.runtime.as_str() {
        "python" => Runtime::Python,
        "ruby" => Runtime::Ruby,
        _ => Runtime::Native,
    }
}

fn exited_how(status: ExitStatus) -> &'static str {
    if status.success() {
        " (the program exited before it could be observed)"
    } else {
        " (the program failed at start-up: see its output above)"
    }
}

/// A JVM can take SIGQUIT (its handler is installed) and has its counters
/// file or has run a second: early enough is a JVM killed by the signal.
fn jvm_ready(pid: i32) -> bool {
    let Ok(st) = procfs::status(pid) else {
        return false;
    };
    if !st.catches(libc::SIGQUIT) {
        return false;
    }
    procfs::mapped_files(pid).is_ok_and(|m| m.iter().any(|p| p.contains("/hsperfdata_")))
        || process_age(pid).is_some_and(|a| a > Duration::from_secs(1))
}

/// Time since the process started (from /proc/PID/stat's start time).
pub fn process_age(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields after the comm start at field 3; starttime is field 22.
    let start_ticks: f64 = after_comm.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(Duration::from_secs_f64(
        (uptime - start_ticks / hz).max(0.0),
    ))
}

/// Where the helpers live while a program runs (for tests and messages).
pub fn helper_files(dir: &Path) -> [PathBuf; 2] {
    [dir.join("sitecustomize.py"), dir.join("leakwatch_where.rb")]
}

/// The program is killed (SIGKILL) if leakwatch dies without ending it
/// (SIGKILL, a crash): in its own process group nothing else would reach
/// it, and it would run on orphaned. Used by every command that starts a
/// program (`where`, `run`, `trace`). Only the direct child: its own
/// children are in its process group, which the caller stops on every exit
/// it lives to see.
pub fn die_with_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between
    // fork and exec.
    unsafe {
        let parent = libc::getpid();
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // leakwatch may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_program_is_told_to_use_trace_and_is_stopped() {
        let mut l = launch(&["sleep".to_owned(), "30".to_owned()], ChildOutput::Null).unwrap();
        let pid = l.pid();
        let e = l
            .source(&Options::default(), Duration::from_secs(10))
            .err()
            .unwrap();
        assert!(e.to_string().contains("leakwatch trace"), "{e}");
        let dir = l.dir().to_owned();
        assert!(helper_files(&dir).iter().all(|f| f.exists()));
        drop(l);
        assert!(!procfs::alive(pid));
        assert!(!dir.exists());
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let e = launch(&["/nonexistent/prog".to_owned()], ChildOutput::Null).unwrap_err();
        assert!(e.to_string().contains("cannot start"), "{e}");
    }

    #[test]
    fn a_program_that_exits_at_once_is_gone() {
        let mut l = launch(&["true".to_owned()], ChildOutput::Null).unwrap();
        let e = l
            .source(&Options::default(), Duration::from_secs(10))
            .err()
            .unwrap();
        assert!(matches!(e, WhereError::Gone { .. }), "{e}");
    }

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let cmd: Vec<String> = ["python3", "app.py", "--name", "a b", "it's", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            shell_words(&cmd),
            "python3 app.py --name 'a b' 'it'\\''s' ''"
        );
    }

    #[test]
    fn ages_of_processes() {
        let age = process_age(std::process::id() as i32).unwrap();
        assert!(age < Duration::from_secs(3600));
    }
}
