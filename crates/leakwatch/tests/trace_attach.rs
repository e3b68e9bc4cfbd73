//! `leakwatch trace --pid`: attaching to running programs written and
//! started here (a C server, a CPython server), naming the growing site,
//! and leaving the program running exactly as before (still producing
//! output, later exiting with its own status); a target that exits while
//! attached; refusals (another user's process, a nonexistent pid, a
//! zombie, pid 1, a static binary, a process already traced) with exit 2.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

mod common;

fn leakwatch() -> PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

/// Seconds to stay attached (the issue's evidence: 20).
const ATTACH_SECS: u64 = 20;
/// Past the detector's one-minute minimum: a growing site is a leak.
const LONG_ATTACH_SECS: u64 = 62;

const SERVER_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void *kept[1 << 20];
int nkept;
__attribute__((noinline)) void remember(int i) {
    kept[nkept++ & ((1 << 20) - 1)] = malloc(48 + i % 16);   /* LEAK */
}
__attribute__((noinline)) void churn(int i) {
    char *volatile p = malloc(100 + i % 50);
    memset(p, 1, 10);
    free(p);
}
__attribute__((noinline)) void cache(int i) {
    static void *slots[64];
    free(slots[i % 64]);
    slots[i % 64] = malloc(200);
}
int main(int argc, char **argv) {
    int seconds = atoi(argv[1]);
    for (int i = 0; i < seconds * 100; i++) {
        for (int k = 0; k < 20; k++) { churn(i * 20 + k); cache(i * 20 + k); }
        remember(i);
        printf("tick %d\n", i);
        fflush(stdout);
        usleep(10000);
    }
    return 7;
}
"#;

const SERVER_PY: &str = r#"
import sys, time, json
kept = []
def handle(i):
    return len(json.dumps([i, str(i) * 5]))
def audit(i):
    kept.append("audit record %d %s" % (i, "x" * 150))   # LEAK
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    for k in range(20):
        handle(i * 20 + k)
    audit(i)
    i += 1
    print("served", i, flush=True)
    time.sleep(0.01)
sys.exit(3)
"#;

fn line_of(src: &str, marker: &str) -> u64 {
    src.lines()
        .position(|l| l.contains(marker))
        .map(|i| i as u64 + 1)
        .unwrap()
}

fn build_c(dir: &Path, src: &str, name: &str, extra: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(name);
    let ok = Command::new("gcc")
        .args(["-O1", "-g"])
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .args(extra) // after the source: libraries resolve what it uses
        .status()
        .unwrap()
        .success();
    assert!(ok, "gcc failed");
    exe
}

fn python() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
    for v in ["3.12.1", "3.11.7", "3.13.0", "3.10.13"] {
        let minor = &v[..v.rfind('.').unwrap()];
        let p = home.join(format!(".pyenv/versions/{v}/bin/python{minor}"));
        if p.is_file() {
            return Some(p);
        }
    }
    eprintln!("skipped: no pyenv CPython 3.10-3.13");
    None
}

/// Starts `cmd`, collecting its stdout lines in the background.
fn start(cmd: &mut Command) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let l2 = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            match line {
                Ok(l) => l2.lock().unwrap().push(l),
                Err(_) => break,
            }
        }
    });
    (child, lines)
}

fn wait_lines(lines: &Arc<Mutex<Vec<String>>>, n: usize) {
    for _ in 0..500 {
        if lines.lock().unwrap().len() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the target printed fewer than {n} lines");
}

fn attach(pid: u32, extra: &[&str], out: &Path) -> std::process::Output {
    Command::new(leakwatch())
        .arg("trace")
        .arg("--pid")
        .arg(pid.to_string())
        .args(extra)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn report_json(trace: &Path) -> Value {
    let out = Command::new(leakwatch())
        .args(["report", "--json"])
        .arg(trace)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Attaches for `secs`, then checks the growing site and that the target
/// runs on and exits with its own status. From a minute on (the detector's
/// minimum, as for `run`) a growing site is a leak (exit 1); under it, it
/// is "growing", not yet called (exit 2): blocks replacing ones allocated
/// before the attach would look the same.
fn attach_names_growing_site(
    mut target: Child,
    lines: Arc<Mutex<Vec<String>>>,
    dir: &Path,
    secs: u64,
    want: (&str, u64),
    exit_code: i32,
) {
    wait_lines(&lines, 20);
    let trace = dir.join("attached.lwt");
    let out = attach(target.id(), &["--duration", &format!("{secs}s")], &trace);
    let err = String::from_utf8_lossy(&out.stderr);
    let (code, verdict) = if secs >= 60 {
        (1, "leak")
    } else {
        (2, "growing")
    };
    assert_eq!(out.status.code(), Some(code), "a growing site: {err}");
    assert!(err.contains("attached to"), "{err}");
    assert!(err.contains("it runs on"), "{err}");
    // Still alive and still producing output after the detach.
    let before = lines.lock().unwrap().len();
    assert!(target.try_wait().unwrap().is_none(), "the target died");
    std::thread::sleep(Duration::from_millis(600));
    let after = lines.lock().unwrap().len();
    assert!(after > before, "no output after detach ({before} lines)");
    let r = report_json(&trace);
    assert_eq!(r["attached"], true);
    assert_eq!(r["detached"], true);
    assert_eq!(r["verdict"], verdict);
    let growing = r["growing"].as_array().unwrap();
    assert!(!growing.is_empty(), "{r}");
    for g in growing {
        let got = (
            g["site"]["function"].as_str().unwrap_or(""),
            g["site"]["line"].as_u64().unwrap_or(0),
        );
        assert_eq!(got, want, "only the leaking site grows");
    }
    // Frees of blocks allocated before the attach were seen and ignored.
    assert!(r["unmatched_frees"].as_u64().unwrap() < r["frees"].as_u64().unwrap());
    let status = target.wait().unwrap();
    assert_eq!(status.code(), Some(exit_code), "its own exit status, later");
}

#[test]
fn attach_to_running_c_server_names_growing_site_and_it_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let secs = (LONG_ATTACH_SECS + 8).to_string();
    let (target, lines) = start(Command::new(&exe).arg(&secs));
    attach_names_growing_site(
        target,
        lines,
        dir.path(),
        LONG_ATTACH_SECS,
        ("remember", line_of(SERVER_C, "/* LEAK */")),
        7,
    );
}

#[test]
fn attach_to_running_python_server_names_its_python_line_and_it_runs_on() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.py");
    std::fs::write(&script, SERVER_PY).unwrap();
    let secs = (ATTACH_SECS + 8).to_string();
    let (target, lines) = start(Command::new(&py).arg(&script).arg(&secs));
    attach_names_growing_site(
        target,
        lines,
        dir.path(),
        ATTACH_SECS,
        ("audit", line_of(SERVER_PY, "# LEAK")),
        3,
    );
}

/// SERVER_C's shape through jemalloc's own entry points: the leak and the
/// churn are `mallocx`/`rallocx`/`sdallocx`/`dallocx` calls only, which an
/// attach must redirect as it does `malloc`.
const JEMALLOC_SERVER_C: &str = r#"
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
void *kept[1 << 20];
int nkept;
__attribute__((noinline)) void remember(int i) {
    kept[nkept++ & ((1 << 20) - 1)] = mallocx(48 + i % 16, 0);   /* LEAK */
}
__attribute__((noinline)) void churn(int i) {
    size_t n = 100 + i % 50;
    char *volatile p = mallocx(n, MALLOCX_ZERO);
    p = rallocx(p, 2 * n, 0);
    memset(p, 1, 10);
    sdallocx(p, 2 * n, 0);
}
__attribute__((noinline)) void cache(int i) {
    static void *slots[64];
    if (slots[i % 64]) dallocx(slots[i % 64], 0);
    slots[i % 64] = mallocx(200, 0);
}
int main(int argc, char **argv) {
    int seconds = atoi(argv[1]);
    for (int i = 0; i < seconds * 100; i++) {
        for (int k = 0; k < 20; k++) { churn(i * 20 + k); cache(i * 20 + k); }
        remember(i);
        printf("tick %d\n", i);
        fflush(stdout);
        usleep(10000);
    }
    return 7;
}
"#;

#[test]
fn attach_to_a_jemalloc_program_sees_its_own_entry_points() {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.c");
    std::fs::write(
        &probe,
        "#include <jemalloc/jemalloc.h>\nint main(void){return 0;}\n",
    )
    .unwrap();
    let have_jemalloc = Command::new("gcc")
        .arg(&probe)
        .arg("-o")
        .arg(dir.path().join("probe"))
        .arg("-ljemalloc")
        .status()
        .is_ok_and(|s| s.success());
    if !have_jemalloc {
        eprintln!("jemalloc is not installed (libjemalloc-dev, see .ci/deps/trace.sh): skipped");
        return;
    }
    let exe = build_c(dir.path(), JEMALLOC_SERVER_C, "jemserver", &["-ljemalloc"]);
    let secs = (ATTACH_SECS + 8).to_string();
    let (target, lines) = start(Command::new(&exe).arg(&secs));
    attach_names_growing_site(
        target,
        lines,
        dir.path(),
        ATTACH_SECS,
        ("remember", line_of(JEMALLOC_SERVER_C, "/* LEAK */")),
        7,
    );
}

#[test]
fn target_that_exits_while_attached_leaves_a_readable_trace() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let (mut target, lines) = start(Command::new(&exe).arg("3"));
    wait_lines(&lines, 5);
    let trace = dir.path().join("exits.lwt");
    let out = attach(target.id(), &[], &trace);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exited while attached"), "{err}");
    // Three seconds of a growing site: named, not yet called (exit 2).
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("GROWING, not yet called a leak"), "{err}");
    let r = report_json(&trace);
    assert_eq!(r["attached"], true);
    assert_eq!(r["exited"], true, "the tracer saw the exit: {r}");
    assert!(r["allocations"].as_u64().unwrap() > 0);
    assert_eq!(target.wait().unwrap().code(), Some(7));
}

fn refused(pid: &str, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(leakwatch())
        .args(["trace", "--pid", pid, "-o"])
        .arg(dir.path().join("x.lwt"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_pids_are_refused_with_the_reason() {
    // A pid that no longer exists.
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    refused(&gone_pid.to_string(), "no process with pid");
    refused("1", "init process");
    // A zombie: our own child, not reaped yet.
    let mut z = Command::new("true").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    refused(&z.id().to_string(), "zombie");
    z.wait().unwrap();
}

#[test]
fn static_binary_is_refused() {
    if !Path::new("/usr/lib/x86_64-linux-gnu/libc.a").exists() {
        eprintln!("skipped: no static C library (libc6-dev)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "static_server", &["-static"]);
    let (mut target, lines) = start(Command::new(&exe).arg("10"));
    wait_lines(&lines, 2);
    refused(&target.id().to_string(), "statically linked");
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn process_already_traced_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let (mut target, lines) = start(Command::new(&exe).arg("20"));
    wait_lines(&lines, 2);
    let mut strace = match Command::new("strace")
        .args(["-o", "/dev/null", "-p"])
        .arg(target.id().to_string())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(s) => s,
        Err(_) => {
            eprintln!("skipped: strace is not installed");
            target.kill().unwrap();
            target.wait().unwrap();
            return;
        }
    };
    std::thread::sleep(Duration::from_millis(800));
    refused(&target.id().to_string(), "already being traced");
    strace.kill().unwrap();
    strace.wait().unwrap();
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn another_users_process_is_refused_with_the_fix() {
    // SAFETY: plain getter.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run leakwatch as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let (mut target, lines) = start(Command::new(&exe).arg("20"));
    wait_lines(&lines, 2);
    // leakwatch as nobody, the target as root.
    let mut lw = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(leakwatch())
        .args(["trace", "--pid"])
        .arg(target.id().to_string())
        .args(["-o", "/tmp/leakwatch-refused-never-written.lwt"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    lw.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = lw.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("not permitted"), "{err}");
    assert!(err.contains("run as that user or as root"), "{err}");
    assert!(
        target.try_wait().unwrap().is_none(),
        "the target is untouched"
    );
    target.kill().unwrap();
    target.wait().unwrap();
}

/// A copy of the `leakwatch` binary alone in a directory: with no tracer
/// library beside it, it uses the one built into it, written once to a
/// directory named for the user and the library (as an installed
/// `leakwatch` does).
fn lone_leakwatch(dir: &Path) -> Option<PathBuf> {
    let lone = dir.join("lone");
    std::fs::create_dir_all(&lone).unwrap();
    let exe = lone.join("leakwatch");
    std::fs::copy(leakwatch(), &exe).unwrap();
    // A test on another thread that forks while the copy is open for
    // writing holds that descriptor until its child execs: the first exec
    // of a freshly written binary can fail with ETXTBSY for a moment.
    let mut tries = 0;
    let probe = loop {
        match Command::new(&exe)
            .args(["trace", "--no-summary", "-o"])
            .arg(lone.join("probe.lwt"))
            .args(["--", "true"])
            .env_remove("LEAKWATCH_PRELOAD")
            .output()
        {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    if !probe.status.success() {
        eprintln!(
            "skipped: this build carries no tracer library ({})",
            String::from_utf8_lossy(&probe.stderr)
        );
        return None;
    }
    Some(exe)
}

fn tracer_copies(pid: u32) -> usize {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut paths: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.ends_with("/libleakwatch_preload.so"))
        .collect();
    paths.dedup();
    paths.len()
}

#[test]
fn attaching_to_a_program_under_trace_is_refused_and_its_trace_survives() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lw) = lone_leakwatch(dir.path()) else {
        return;
    };
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let outer_trace = dir.path().join("outer.lwt");
    let (outer, lines) = start(
        Command::new(&lw)
            .args(["trace", "--json", "-o"])
            .arg(&outer_trace)
            .arg("--")
            .arg(&exe)
            .arg("2"),
    );
    // The server is leakwatch's child; its ticks reach leakwatch's stderr,
    // so wait for the trace file and the server's pid instead.
    let mut server = None;
    for _ in 0..250 {
        let kids =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", outer.id(), outer.id()))
                .unwrap_or_default();
        if let Some(pid) = kids.split_whitespace().next() {
            if outer_trace.exists() {
                server = Some(pid.to_string());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let server = server.expect("the traced server started");
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(&lw)
        .args(["trace", "--pid", &server, "--duration", "300ms", "-o"])
        .arg(dir.path().join("inner.lwt"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("already traced"), "{err}");
    assert_eq!(
        tracer_copies(server.parse().unwrap()),
        1,
        "no second tracer loaded"
    );
    // The outer run still reads its whole trace and finds the leak.
    let outer = outer.wait_with_output().unwrap();
    drop(lines);
    assert_eq!(
        outer.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&outer.stderr)
    );
}

#[test]
fn attaching_again_reuses_the_tracer_already_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lw) = lone_leakwatch(dir.path()) else {
        return;
    };
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let (mut target, lines) = start(Command::new(&exe).arg("20"));
    wait_lines(&lines, 2);
    for i in 0..3 {
        let out = Command::new(&lw)
            .args(["trace", "--pid"])
            .arg(target.id().to_string())
            .args(["--duration", "300ms", "-o"])
            .arg(dir.path().join(format!("t{i}.lwt")))
            .output()
            .unwrap();
        assert!(
            out.status.code() != Some(2) || !out.stderr.is_empty(),
            "attach {i}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("error"),
            "attach {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = report_json(&dir.path().join(format!("t{i}.lwt")));
        assert!(r["allocations"].as_u64().unwrap() > 0, "attach {i}: {r}");
    }
    assert_eq!(
        tracer_copies(target.id()),
        1,
        "one tracer copy for three attaches"
    );
    assert!(target.try_wait().unwrap().is_none(), "the target runs on");
    target.kill().unwrap();
    target.wait().unwrap();
}

#[test]
fn root_attaches_to_another_users_process() {
    // SAFETY: plain getter.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(lw) = lone_leakwatch(dir.path()) else {
        return;
    };
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    // The target as nobody, leakwatch as root.
    let (mut target, lines) = start(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .arg("20"),
    );
    wait_lines(&lines, 2);
    let out = Command::new(&lw)
        .args(["trace", "--pid"])
        .arg(target.id().to_string())
        .args(["--duration", "300ms", "-o"])
        .arg(out_dir.join("t.lwt"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("error"), "{err}");
    let r = report_json(&out_dir.join("t.lwt"));
    assert!(r["allocations"].as_u64().unwrap() > 0, "{r}");
    assert!(target.try_wait().unwrap().is_none(), "the target runs on");
    target.kill().unwrap();
    target.wait().unwrap();
}

/// The main thread waits while a worker allocates: each wait must run to
/// its end through an attach and a detach (the detach's own waits used to
/// reset the thread's restart block, so the wait failed with EINTR).
const SLEEPER_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void *worker(void *a) { (void)a; for (;;) { free(malloc(100)); usleep(5000); } return 0; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    pthread_t t; pthread_create(&t, 0, worker, 0);
    printf("ready\n"); fflush(stdout);
    double t0 = now();
    int r;
    if (!strcmp(argv[1], "nanosleep")) { struct timespec ts = {2, 0}; r = nanosleep(&ts, 0); }
    else if (!strcmp(argv[1], "poll")) { r = poll(0, 0, 2000); }
    else { struct timespec ts = {2, 0}; r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0); }
    printf("%s %d %d %.2f\n", argv[1], r, r < 0 ? errno : 0, now() - t0); fflush(stdout);
    return 0;
}
"#;

#[test]
fn waits_of_the_target_run_to_their_end_through_attach_and_detach() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SLEEPER_C, "sleeper", &["-pthread"]);
    for wait in ["nanosleep", "poll", "clock_nanosleep"] {
        let (mut target, lines) = start(Command::new(&exe).arg(wait));
        wait_lines(&lines, 1);
        std::thread::sleep(Duration::from_millis(200));
        let out = attach(
            target.id(),
            &["--duration", "300ms", "--no-summary"],
            &dir.path().join(format!("{wait}.lwt")),
        );
        assert!(
            out.status.success(),
            "{wait}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(target.wait().unwrap().code(), Some(0));
        wait_lines(&lines, 2);
        let line = lines.lock().unwrap()[1].clone();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((f[1], f[2]), ("0", "0"), "{wait} was cut short: {line}");
        assert!(f[3].parse::<f64>().unwrap() >= 1.9, "{wait}: {line}");
    }
}

/// A non-PIE executable that takes malloc's address in code: its PLT entry
/// becomes the canonical malloc, which the loader calls too (Debian's
/// Node.js is built this way). Attaching used to kill it (SIGSEGV, the
/// hooks recursing through the loader); it is refused, and runs on.
const CANONICAL_PLT_C: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *(*volatile alloc_fn)(size_t);
void *kept[100000];
int main(void) {
    alloc_fn = malloc;
    printf("ready\n"); fflush(stdout);
    for (int i = 0; i < 150; i++) { kept[i] = alloc_fn(64); free(malloc(32)); usleep(10000); }
    printf("done\n"); fflush(stdout);
    return 0;
}
"#;

#[test]
fn a_program_whose_plt_is_the_allocator_is_refused_and_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(
        dir.path(),
        CANONICAL_PLT_C,
        "nopie",
        &["-fno-pie", "-no-pie"],
    );
    let (mut target, lines) = start(&mut Command::new(&exe));
    wait_lines(&lines, 1);
    let out = attach(
        target.id(),
        &["--duration", "300ms"],
        &dir.path().join("t.lwt"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("without PIE"), "{err}");
    assert!(err.contains("leakwatch trace -- CMD"), "{err}");
    assert_eq!(target.wait().unwrap().code(), Some(0), "the target runs on");
    wait_lines(&lines, 2);
    assert_eq!(lines.lock().unwrap()[1], "done");
}

#[test]
fn a_window_too_short_or_idle_to_judge_is_never_no_growth() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build_c(dir.path(), SERVER_C, "server", &[]);
    let (mut target, lines) = start(Command::new(&exe).arg("20"));
    wait_lines(&lines, 2);
    let short = dir.path().join("short.lwt");
    let out = attach(target.id(), &["--duration", "120ms", "--json"], &short);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_ne!(v["verdict"], "no_growth", "{v}");
    assert!(v["incomplete"].to_string().contains("too short"), "{v}");
    // Stopped for the whole window: nothing allocated, nothing judged.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(target.id() as i32, libc::SIGSTOP) };
    let idle = dir.path().join("idle.lwt");
    let out = attach(target.id(), &["--duration", "1s", "--json"], &idle);
    // SAFETY: as above.
    unsafe { libc::kill(target.id() as i32, libc::SIGCONT) };
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{v}");
    assert_eq!(v["allocations"], 0, "{v}");
    assert_ne!(v["verdict"], "no_growth", "{v}");
    target.kill().unwrap();
    target.wait().unwrap();
}

/// Every listed stack of a report's JSON (live at the end, growing, peak)
/// as its frames' (function, file, module).
fn listed_stacks(r: &Value) -> Vec<Vec<(String, String, String)>> {
    let groups = [&r["live_at_end"]["stacks"], &r["peak"]["holders"]["stacks"]];
    groups
        .into_iter()
        .chain(std::iter::once(&r["growing"]))
        .filter_map(Value::as_array)
        .flatten()
        .map(common::stack_frames)
        .collect()
}

/// After an attach, CPython's allocator domains are wrapped, and the blocks
/// they hand out are recorded with the interpreter's whole native stack:
/// the eval loop's frames between the Python frames, and `run_mod`,
/// `Py_RunMain`, `main` below `<module>`. A launched trace stops the
/// native stack at the innermost eval loop; an attached one reads the same:
/// each stack with Python frames ends at its outermost Python frame, the
/// native frames only inside the innermost one (hunt 4, "Python attach
/// stacks").
#[test]
fn attached_python_stacks_end_at_the_outermost_python_frame() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.py");
    std::fs::write(&script, SERVER_PY).unwrap();
    let (mut target, lines) = start(Command::new(&py).arg(&script).arg("600"));
    wait_lines(&lines, 20);
    let trace = dir.path().join("py.lwt");
    let out = attach(target.id(), &["--duration", "3s"], &trace);
    target.kill().unwrap();
    target.wait().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("it runs on"), "{err}");
    for full in [false, true] {
        let mut cmd = Command::new(leakwatch());
        cmd.args(["report", "--json", "--top", "50"]);
        if full {
            cmd.arg("--full-stacks");
        }
        let r: Value = serde_json::from_slice(&cmd.arg(&trace).output().unwrap().stdout).unwrap();
        let stacks = listed_stacks(&r);
        assert!(
            stacks.iter().any(|s| s.iter().any(|f| f.0 == "audit")),
            "--full-stacks {full}: {r}"
        );
        for frames in stacks {
            let Some(innermost_py) = frames.iter().position(|f| f.2 == "python") else {
                continue;
            };
            let native_outside: Vec<&str> = frames[innermost_py..]
                .iter()
                .filter(|f| f.2 != "python")
                .map(|f| f.0.as_str())
                .collect();
            assert!(
                native_outside.is_empty(),
                "--full-stacks {full}: native frames around the Python frames: {native_outside:?} in {frames:?}"
            );
            let last = frames.last().unwrap();
            assert_eq!(
                (last.0.as_str(), last.1.ends_with("server.py")),
                ("<module>", true),
                "--full-stacks {full}: {frames:?}"
            );
        }
    }
}

/// The directories under the temporary directory named like a private copy
/// of the tracer (a random name; the shared copy's is the user's id and a
/// digest).
fn private_tracer_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("leakwatch-tracer-"))
                .is_some_and(|rest| rest.split('-').count() != 2)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_lone_leakwatch_killed_or_outlived_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lone) = lone_leakwatch(dir.path()) else {
        return;
    };
    let before = private_tracer_dirs();
    // Killed with SIGKILL while its program runs: nothing of its own stays
    // (the extracted tracer is the shared copy, reused by the next run).
    let mut run = Command::new(&lone)
        .args(["trace", "--no-summary", "-o"])
        .arg(dir.path().join("killed.lwt"))
        .args(["--", "sleep", "3"])
        .env_remove("LEAKWATCH_PRELOAD")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(
        private_tracer_dirs(),
        before,
        "a killed run left its tracer copy"
    );
    // A program that outlives the run and execs later still finds the
    // tracer its LD_PRELOAD names (the loader said "cannot be preloaded"
    // when the copy was removed at the end of the run).
    let out = Command::new(&lone)
        .args(["trace", "--no-summary", "-o"])
        .arg(dir.path().join("outlived.lwt"))
        .args(["--", "sh", "-c", "(sleep 1; exec /bin/true) & exit 0"])
        .env_remove("LEAKWATCH_PRELOAD")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("cannot be preloaded"), "{err}");
    assert_eq!(private_tracer_dirs(), before);
}
