//! Loading the tracer into a running process and taking it out again
//! (`leakwatch trace --pid`), as heaptrack `-p` and `memray attach` do, with
//! ptrace and no debugger.
//!
//! Attach: one thread (the process's main thread) is stopped with
//! `PTRACE_SEIZE` + `PTRACE_INTERRUPT`; its registers are saved; it is made
//! to call, in turn, `dlopen(tracer, RTLD_NOW)`, `dlsym(handle,
//! "leakwatch_attach")`, `dlsym(handle, "leakwatch_detach")` and
//! `leakwatch_attach(out)`: each call gets its arguments in registers, its
//! strings written below the stack's red zone, and a return address of 0,
//! so its return stops the thread with SIGSEGV at address 0, where the
//! result is read. The registers are then put back (a system call the
//! thread was in restarts as the kernel would restart it after a signal)
//! and the thread detached. Detach: the same, calling `leakwatch_detach()`.
//! Other threads run on throughout; the stopped thread is away from its
//! own code for the duration of the calls (the pause, measured).
//!
//! `dlopen` and `dlsym` are looked up in the target's own C library file
//! (through `/proc/PID/root`, so a container's library is read), at the
//! address its mapping has in the target.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use blazesym::inspect::source::{Elf, Source};
use blazesym::inspect::Inspector;

/// Why a process cannot be attached to; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("no process with pid {0}: check the pid (`ps -p {0}`)")]
    NoSuchProcess(i32),
    #[error("process {0} is a zombie (it has exited; its parent has not reaped it yet): nothing runs in it to trace")]
    Zombie(i32),
    #[error("pid 1 is the init process: refused (stopping it even briefly can stall the whole system or container); trace the service itself")]
    Init,
    #[error("pid {0} is leakwatch itself")]
    Itself(i32),
    #[error("process {pid} ({exe}) is statically linked or has no C library loaded: a library cannot be loaded into it; restart it under `leakwatch trace -- CMD` if it is dynamically linked, or use `leakwatch run` to watch its memory")]
    Static { pid: i32, exe: String },
    #[error("process {pid} is already being traced by pid {tracer} ({name}): a process has one tracer at a time; detach the debugger or strace first")]
    AlreadyTraced { pid: i32, tracer: i32, name: String },
    #[error("not permitted to attach to process {pid}: {why}")]
    NotPermitted { pid: i32, why: String },
    #[error("the process {0} exited during the attach")]
    Exited(i32),
    #[error("{0}")]
    Other(String),
}

/// What `/proc` says about the target before anything is touched.
#[derive(Debug, Clone)]
pub struct Target {
    pub pid: i32,
    pub exe: String,
    pub uid: u32,
    /// The target's C library: its path inside the target's root, and its
    /// mappings (start, file offset, length).
    libc: (String, Vec<(u64, u64, u64)>),
    /// Where the C library and the loader are mapped: a thread stopped
    /// there may hold the allocator's or the loader's lock.
    unsafe_ranges: Vec<(u64, u64)>,
    /// The path of a tracer library already mapped in the process (it was
    /// started under `leakwatch trace`, or attached to before), as the
    /// loader knows it: `dlopen` of that name returns the loaded copy
    /// (even when its file is gone) instead of loading, and starting, one
    /// more.
    pub loaded_tracer: Option<String>,
}

/// The file name of the tracer library (`libleakwatch_preload.so`).
pub const TRACER_FILE_NAME: &str = "libleakwatch_preload.so";

fn read_proc(pid: i32, what: &str) -> Result<String, AttachError> {
    fs::read_to_string(format!("/proc/{pid}/{what}")).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => AttachError::NoSuchProcess(pid),
        _ => AttachError::Other(format!("cannot read /proc/{pid}/{what}: {e}")),
    })
}

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim_start_matches(':').trim())
}

const CAP_SYS_PTRACE: u32 = 19;

fn has_cap_sys_ptrace() -> bool {
    let Ok(s) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status_field(&s, "CapEff")
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

fn ptrace_scope() -> Option<u32> {
    fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// The concrete fix for a refused ptrace, as py-spy words it.
fn permission_advice(pid: i32, target_uid: u32) -> String {
    // SAFETY: plain getter.
    let me = unsafe { libc::geteuid() };
    let cap = has_cap_sys_ptrace();
    if target_uid != me && !cap {
        return format!(
            "it belongs to uid {target_uid} and you are uid {me}: run as that user or as root (`sudo leakwatch trace --pid {pid}`)"
        );
    }
    match ptrace_scope() {
        Some(3) => "kernel.yama.ptrace_scope is 3 (no attaching at all until reboot): restart the program under `leakwatch trace -- CMD` instead".into(),
        Some(2) if !cap => "kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may attach): run as root, or `sudo setcap cap_sys_ptrace+ep $(which leakwatch)`".into(),
        Some(1) if !cap => "kernel.yama.ptrace_scope is 1 (only a parent may attach): `sudo sysctl kernel.yama.ptrace_scope=0`, or run as root / with CAP_SYS_PTRACE (`sudo setcap cap_sys_ptrace+ep $(which leakwatch)`)".into(),
        _ if in_container() => "ptrace is denied here; in a container it needs CAP_SYS_PTRACE (`docker run --cap-add=SYS_PTRACE`, Kubernetes `securityContext.capabilities.add: [SYS_PTRACE]`) and a seccomp profile that allows ptrace".into(),
        _ => "ptrace was refused (a security module or seccomp policy): run as root, or with CAP_SYS_PTRACE".into(),
    }
}

fn in_container() -> bool {
    Path::new("/.dockerenv").exists()
        || fs::read_to_string("/proc/1/cgroup")
            .map(|s| s.contains("docker") || s.contains("kubepods") || s.contains("containerd"))
            .unwrap_or(false)
}

/// Checks everything `/proc` can tell before stopping the process.
pub fn inspect(pid: i32) -> Result<Target, AttachError> {
    if pid == 1 {
        return Err(AttachError::Init);
    }
    if pid <= 0 {
        return Err(AttachError::NoSuchProcess(pid));
    }
    if pid as u32 == std::process::id() {
        return Err(AttachError::Itself(pid));
    }
    let stat = read_proc(pid, "stat")?;
    // The state follows the command name's closing parenthesis.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .unwrap_or('?');
    if state == 'Z' || state == 'X' {
        return Err(AttachError::Zombie(pid));
    }
    let status = read_proc(pid, "status")?;
    let uid = status_field(&status, "Uid")
        .and_then(|v| v.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let tracer: i32 = status_field(&status, "TracerPid")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let exe = fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "?".into());
    if tracer != 0 {
        let name = fs::read_to_string(format!("/proc/{tracer}/comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(AttachError::AlreadyTraced { pid, tracer, name });
    }
    let maps = match fs::read_to_string(format!("/proc/{pid}/maps")) {
        Ok(m) => m,
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            return Err(AttachError::NotPermitted {
                pid,
                why: permission_advice(pid, uid),
            })
        }
        Err(_) => return Err(AttachError::NoSuchProcess(pid)),
    };
    let mut libc_path = None;
    let mut segs = Vec::new();
    let mut unsafe_ranges = Vec::new();
    let mut loaded_tracer = None;
    for line in maps.lines() {
        let mut it = line.split_whitespace();
        let (Some(range), Some(_perms), Some(off), Some(_dev), Some(_ino)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let Some(path) = it.next() else { continue };
        let name = path.rsplit('/').next().unwrap_or(path);
        if name == TRACER_FILE_NAME {
            loaded_tracer.get_or_insert_with(|| path.to_string());
            continue;
        }
        let is_libc = name.starts_with("libc.so") || name.starts_with("libc-2.");
        let is_loader = name.starts_with("ld-linux") || name.starts_with("ld-2.");
        if !(is_libc || is_loader) {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b), Ok(off)) = (
            u64::from_str_radix(a, 16),
            u64::from_str_radix(b, 16),
            u64::from_str_radix(off, 16),
        ) else {
            continue;
        };
        unsafe_ranges.push((a, b));
        if is_libc {
            libc_path.get_or_insert_with(|| path.to_string());
            segs.push((a, off, b - a));
        }
    }
    let Some(libc_path) = libc_path else {
        return Err(AttachError::Static { pid, exe });
    };
    Ok(Target {
        pid,
        exe,
        uid,
        libc: (libc_path, segs),
        unsafe_ranges,
        loaded_tracer,
    })
}

impl Target {
    /// Runtime addresses of `names` in the target's C library.
    fn libc_symbols(&self, names: &[&str]) -> Result<Vec<u64>, AttachError> {
        let path = PathBuf::from(format!("/proc/{}/root{}", self.pid, self.libc.0));
        // The library's own dynamic symbols (a separate debug file has
        // no file offsets).
        let mut elf = Elf::new(&path);
        elf.debug_syms = false;
        let src = Source::Elf(elf);
        let inspector = Inspector::new();
        let found = inspector.lookup(&src, names).map_err(|e| {
            AttachError::Other(format!(
                "cannot read the target's C library {}: {e}",
                path.display()
            ))
        })?;
        names
            .iter()
            .zip(found)
            .map(|(name, syms)| {
                let off = syms
                    .iter()
                    .find_map(|s| s.file_offset)
                    .ok_or_else(|| {
                        AttachError::Other(format!(
                            "the target's C library ({}) has no `{name}` (glibc 2.34 or newer is needed)",
                            self.libc.0
                        ))
                    })?;
                self.libc
                    .1
                    .iter()
                    .find(|&&(_, o, len)| off >= o && off < o + len)
                    .map(|&(start, o, _)| start + (off - o))
                    .ok_or_else(|| AttachError::Other(format!("`{name}` is not mapped in the target")))
            })
            .collect()
    }
}

/// An attached tracer: what detaching needs.
#[derive(Debug)]
pub struct Attached {
    pub pid: i32,
    detach_fn: u64,
    /// How long the target's thread was stopped to attach.
    pub pause: Duration,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// One stopped thread, restored and released when dropped.
struct Stopped {
    pid: i32,
    saved: libc::user_regs_struct,
    restored: bool,
}

impl Stopped {
    fn seize(target: &Target) -> Result<Stopped, AttachError> {
        let pid = target.pid;
        // SAFETY: ptrace requests with valid arguments.
        let rc = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0usize, 0usize) };
        if rc != 0 {
            return Err(match errno() {
                libc::ESRCH => AttachError::NoSuchProcess(pid),
                libc::EPERM | libc::EACCES => {
                    // Maybe another tracer came first.
                    let status = read_proc(pid, "status").unwrap_or_default();
                    match status_field(&status, "TracerPid").and_then(|v| v.parse::<i32>().ok()) {
                        Some(t) if t != 0 => AttachError::AlreadyTraced {
                            pid,
                            tracer: t,
                            name: fs::read_to_string(format!("/proc/{t}/comm"))
                                .map(|s| s.trim().to_string())
                                .unwrap_or_default(),
                        },
                        _ => AttachError::NotPermitted {
                            pid,
                            why: permission_advice(pid, target.uid),
                        },
                    }
                }
                e => AttachError::Other(format!(
                    "ptrace(PTRACE_SEIZE, {pid}) failed: {}",
                    std::io::Error::from_raw_os_error(e)
                )),
            });
        }
        // SAFETY: as above.
        unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0usize, 0usize) };
        loop {
            let mut st = 0;
            // SAFETY: waiting for our tracee.
            let r = unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
            if r < 0 {
                return Err(AttachError::Exited(pid));
            }
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                return Err(AttachError::Exited(pid));
            }
            if libc::WIFSTOPPED(st) {
                break;
            }
        }
        let mut saved: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        // Stop where calling dlopen cannot deadlock: not inside the C
        // library or the loader (which may hold the allocator's or the
        // loader's lock), unless blocked in a system call they do not make
        // while holding one. Else let it run a millisecond and look again.
        const ATTEMPTS: u32 = 400;
        let mut attempt = 0;
        loop {
            // SAFETY: valid out buffer.
            if unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &mut saved) } != 0 {
                break;
            }
            if safe_point(target, &saved, attempt > ATTEMPTS / 2) || attempt == ATTEMPTS {
                break;
            }
            attempt += 1;
            // SAFETY: resuming and stopping our tracee.
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0usize, 0usize) };
            std::thread::sleep(Duration::from_micros(500 + 50 * u64::from(attempt % 20)));
            unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0usize, 0usize) };
            let mut st = 0;
            // SAFETY: waiting for our tracee.
            let r = unsafe { libc::waitpid(pid, &mut st, libc::__WALL) };
            if r < 0 || libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                return Err(AttachError::Exited(pid));
            }
        }
        if attempt == ATTEMPTS {
            // SAFETY: release the tracee.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
            return Err(AttachError::Other(format!(
                "process {pid}'s main thread was never stopped at a safe point in {ATTEMPTS} tries (it stays inside the C library's allocator or loader); try again"
            )));
        }
        // SAFETY: valid out buffer.
        if unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &mut saved) } != 0 {
            // SAFETY: release the tracee.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
            return Err(AttachError::Other(format!(
                "cannot read the registers of {pid}: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(Stopped {
            pid,
            saved,
            restored: false,
        })
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), AttachError> {
        let local = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: valid iovecs; the kernel checks the remote range.
        let n = unsafe { libc::process_vm_writev(self.pid, &local, 1, &remote, 1, 0) };
        if n != data.len() as isize {
            return Err(AttachError::Other(format!(
                "cannot write into process {}: {}",
                self.pid,
                std::io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Calls `func(args...)` on the stopped thread; returns rax. `strings`
    /// are written below the stack and their addresses replace the
    /// arguments `STR0`, `STR1`.
    fn call(&self, func: u64, args: &[Arg]) -> Result<u64, AttachError> {
        let mut regs = self.saved;
        // Below the red zone, 16-aligned.
        let mut sp = (self.saved.rsp - 1024) & !15;
        let mut vals = [0u64; 3];
        for (i, a) in args.iter().enumerate() {
            vals[i] = match a {
                Arg::Int(v) => *v,
                Arg::Str(s) => {
                    let bytes = s.as_bytes_with_nul();
                    sp = (sp - bytes.len() as u64) & !15;
                    self.write(sp, bytes)?;
                    sp
                }
            };
        }
        // Return address 0: the call's return faults there and stops.
        sp -= 8;
        self.write(sp, &0u64.to_le_bytes())?;
        regs.rsp = sp;
        regs.rip = func;
        regs.rdi = vals[0];
        regs.rsi = vals[1];
        regs.rdx = vals[2];
        regs.rax = 0;
        // No system call to restart for the injected call.
        regs.orig_rax = u64::MAX;
        // SAFETY: valid register block.
        if unsafe { libc::ptrace(libc::PTRACE_SETREGS, self.pid, 0usize, &regs) } != 0 {
            return Err(AttachError::Other(format!(
                "cannot set the registers of {}: {}",
                self.pid,
                std::io::Error::last_os_error()
            )));
        }
        let mut sig = 0;
        loop {
            // SAFETY: resuming our tracee.
            if unsafe { libc::ptrace(libc::PTRACE_CONT, self.pid, 0usize, sig as usize) } != 0 {
                return Err(AttachError::Exited(self.pid));
            }
            let mut st = 0;
            // SAFETY: waiting for our tracee.
            if unsafe { libc::waitpid(self.pid, &mut st, libc::__WALL) } < 0 {
                return Err(AttachError::Exited(self.pid));
            }
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                return Err(AttachError::Exited(self.pid));
            }
            if !libc::WIFSTOPPED(st) {
                continue;
            }
            let s = libc::WSTOPSIG(st);
            let mut now: libc::user_regs_struct = unsafe { std::mem::zeroed() };
            // SAFETY: valid out buffer.
            unsafe { libc::ptrace(libc::PTRACE_GETREGS, self.pid, 0usize, &mut now) };
            if s == libc::SIGSEGV && now.rip == 0 {
                return Ok(now.rax);
            }
            if s == libc::SIGSEGV || s == libc::SIGBUS || s == libc::SIGILL {
                return Err(AttachError::Other(format!(
                    "the injected call crashed in process {} (signal {s} at {:#x}); it was stopped before the fault took effect",
                    self.pid, now.rip
                )));
            }
            // Another signal arrived meanwhile: deliver it (its handler
            // runs on top of the call), a ptrace event stop: ignore.
            sig = if st >> 16 == 0 && s != libc::SIGTRAP && s != libc::SIGSTOP {
                s
            } else {
                0
            };
        }
    }

    fn release(mut self) -> Result<(), AttachError> {
        self.restore()
    }

    fn restore(&mut self) -> Result<(), AttachError> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        // SAFETY: the saved register block of this thread.
        let set = unsafe { libc::ptrace(libc::PTRACE_SETREGS, self.pid, 0usize, &self.saved) };
        // SAFETY: releasing our tracee.
        let det = unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid, 0usize, 0usize) };
        if set != 0 || det != 0 {
            return Err(AttachError::Exited(self.pid));
        }
        Ok(())
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.restore();
    }
}

/// Whether a thread stopped with registers `r` may call into the C
/// library and the loader (see `Stopped::seize`). `late`: a futex wait
/// that lasts is taken as a wait for the program's own condition, not for
/// the allocator's lock.
fn safe_point(target: &Target, r: &libc::user_regs_struct, late: bool) -> bool {
    let in_syscall = r.orig_rax as i64 >= 0;
    if in_syscall {
        let nr = r.orig_rax as i64;
        return match nr {
            libc::SYS_brk
            | libc::SYS_mmap
            | libc::SYS_munmap
            | libc::SYS_mremap
            | libc::SYS_madvise
            | libc::SYS_mprotect => !target.in_unsafe_code(r.rip),
            libc::SYS_futex => late,
            _ => true,
        };
    }
    !target.in_unsafe_code(r.rip)
}

impl Target {
    fn in_unsafe_code(&self, ip: u64) -> bool {
        self.unsafe_ranges.iter().any(|&(a, b)| ip >= a && ip < b)
    }
}

enum Arg {
    Int(u64),
    Str(CString),
}

fn cstr(s: &str) -> Result<CString, AttachError> {
    CString::new(s).map_err(|_| AttachError::Other(format!("a NUL byte in {s:?}")))
}

/// Loads `tracer` into the process and starts tracing into `out`.
pub fn attach(target: &Target, tracer: &Path, out: &Path) -> Result<Attached, AttachError> {
    let syms = target.libc_symbols(&["dlopen", "dlsym"])?;
    let (dlopen, dlsym) = (syms[0], syms[1]);
    let started = Instant::now();
    // A copy already in the process is reused: loading a second one would
    // run its constructor against a live trace, and every attach would
    // leave one more copy mapped.
    let tracer = target
        .loaded_tracer
        .clone()
        .unwrap_or_else(|| tracer.display().to_string());
    let t = Stopped::seize(target)?;
    let handle = t.call(
        dlopen,
        &[
            Arg::Str(cstr(&tracer)?),
            Arg::Int((libc::RTLD_NOW | libc::RTLD_LOCAL) as u64),
        ],
    )?;
    if handle == 0 {
        return Err(AttachError::Other(format!(
            "dlopen of the tracer failed inside process {} (is {} readable by it, and built for its C library?)",
            target.pid,
            tracer
        )));
    }
    let attach_fn = t.call(
        dlsym,
        &[Arg::Int(handle), Arg::Str(cstr("leakwatch_attach")?)],
    )?;
    let detach_fn = t.call(
        dlsym,
        &[Arg::Int(handle), Arg::Str(cstr("leakwatch_detach")?)],
    )?;
    if attach_fn == 0 || detach_fn == 0 {
        return Err(AttachError::Other(
            "the loaded tracer has no leakwatch_attach: it is from another leakwatch version"
                .into(),
        ));
    }
    let rc = t.call(attach_fn, &[Arg::Str(cstr(&out.display().to_string())?)])? as i32;
    t.release()?;
    let pause = started.elapsed();
    match rc {
        0 => Ok(Attached {
            pid: target.pid,
            detach_fn,
            pause,
        }),
        1 => Err(AttachError::Other(format!(
            "process {} is already traced by leakwatch (started under `leakwatch trace`, or attached)",
            target.pid
        ))),
        2 => Err(AttachError::Other(format!(
            "process {} cannot create the trace file {} (it writes it as its own user: pick a directory it can write, e.g. -o /tmp/trace.lwt)",
            target.pid,
            out.display()
        ))),
        5 => Err(AttachError::Other(format!(
            "process {} ({}) cannot be attached to: its executable is built without PIE and takes malloc's address, \
             so its PLT entry is the malloc the C library's loader calls too, and a tracer loaded into the running \
             process would recurse into itself (Debian's Node.js is built this way); start the program under \
             `leakwatch trace -- CMD` instead, where the tracer is in place before the loader needs it",
            target.pid, target.exe
        ))),
        _ => Err(AttachError::Other(format!(
            "the tracer could not start inside process {} (code {rc})",
            target.pid
        ))),
    }
}

impl Attached {
    /// Stops tracing: hooks off, last records and the DETACH record
    /// written, the tracer's thread stopped, the file closed. Returns the
    /// target's pause.
    pub fn detach(&self, target: &Target) -> Result<Duration, AttachError> {
        let started = Instant::now();
        let t = Stopped::seize(target)?;
        t.call(self.detach_fn, &[])?;
        t.release()?;
        Ok(started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_need_no_ptrace() {
        assert!(matches!(inspect(1), Err(AttachError::Init)));
        assert!(matches!(inspect(0), Err(AttachError::NoSuchProcess(0))));
        assert!(matches!(
            inspect(std::process::id() as i32),
            Err(AttachError::Itself(_))
        ));
        // Beyond pid_max.
        assert!(matches!(
            inspect(i32::MAX - 1),
            Err(AttachError::NoSuchProcess(_))
        ));
    }

    #[test]
    fn status_fields_are_read() {
        let s = "Name:\tx\nTracerPid:\t42\nUid:\t1000\t1001\t1000\t1000\n";
        assert_eq!(status_field(s, "TracerPid"), Some("42"));
        assert_eq!(status_field(s, "Uid"), Some("1000\t1001\t1000\t1000"));
    }
}
