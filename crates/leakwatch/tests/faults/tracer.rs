//! The tracer robustness set, through `leakwatch trace` and its verdict:
//! programs that take the tracer's fd away, end abruptly or run out of
//! memory give either a complete trace (the leak exact, exit 1) or exit 2
//! with the reason, never "no leak". (trace_fidelity.rs checks the same
//! programs at the tracer's level, against memcheck.)

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::*;

const HOSTILE: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void *volatile sink;

static void churn(void) {
    for (int i = 0; i < 20000; i++) { sink = malloc(16 + i % 200); free(sink); }
}

/* dup2 the program's own file over every fd that points at a trace, then
 * over every fd from 3 to the limit. Returns how many trace fds it hit. */
static int take_the_tracers_fd(const char *own_path) {
    int own = open(own_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (own < 0) exit(3);
    int fds[4096], n = 0, hit = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.') fds[n++] = atoi(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++) {
        char p[64], t[4096];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
        ssize_t k = readlink(p, t, sizeof t - 1);
        if (k > 0) {
            t[k] = 0;
            if (strstr(t, ".lwt") && dup2(own, fds[i]) >= 0) hit++;
        }
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    for (long fd = 3; fd < (long)rl.rlim_cur && fd < 65536; fd++)
        if (fd != own) dup2(own, (int)fd);
    const char msg[] = "the program's own output\n";
    if (write(own, msg, sizeof msg - 1) < 0) exit(4);
    return hit;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    churn();
    usleep(60 * 1000); /* a flush happened */
    if (!strcmp(argv[1], "close_range")) {
        if (syscall(SYS_close_range, 3u, ~0u, 0) != 0)
            for (int fd = 3; fd < 65536; fd++) close(fd);
    } else if (!strcmp(argv[1], "closefrom")) {
        closefrom(3); /* the C library's, interposed by the tracer */
    } else if (!strcmp(argv[1], "dup2")) {
        fprintf(stderr, "replaced %d trace fds\n", take_the_tracers_fd(argv[2]));
    }
    churn();
    for (int i = 0; i < 3; i++) sink = malloc(333); /* the leak */
    usleep(60 * 1000);
    churn();
    if (!strcmp(argv[1], "quick_exit")) quick_exit(3);
    if (!strcmp(argv[1], "abort")) abort();
    return 0;
}
"#;

/// The leak line of `trace`'s summary, and its exit code.
fn traced(dir: &Path, name: &str, args: &[&str]) -> (Output, i32) {
    require_preload();
    let exe = cc(dir, "hostile", HOSTILE);
    let mut c = leakwatch();
    c.current_dir(dir)
        .args(["trace", "-o"])
        .arg(dir.join(format!("{name}.lwt")))
        .arg("--")
        .arg(&exe)
        .args(args);
    let (o, _) = run_measured(c, Duration::from_secs(120));
    let code = o.status.code().unwrap_or(-1);
    (o, code)
}

fn assert_exact_leak(o: &Output, code: i32) {
    let err = stderr(o);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("LEAK: 999 bytes in 3 blocks still allocated at exit"),
        "{err}"
    );
}

/// The program closes every descriptor from 3 up (`mode`: the raw
/// `close_range` syscall, or the C library's interposed `closefrom`): the
/// trace is reopened by path and complete.
fn closing_every_fd_keeps_the_trace(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (o, code) = traced(dir.path(), mode, &[mode]);
    let err = stderr(&o);
    assert!(err.contains("exited with status 0"), "{err}");
    assert_exact_leak(&o, code);
}

#[test]
fn close_range_over_every_fd_keeps_the_trace() {
    closing_every_fd_keeps_the_trace("close_range");
}

#[test]
fn closefrom_keeps_the_trace() {
    closing_every_fd_keeps_the_trace("closefrom");
}

#[test]
fn dup2_over_the_tracers_own_fd_keeps_the_trace_and_the_programs_file() {
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join("own.txt");
    let (o, code) = traced(dir.path(), "dup2", &["dup2", own.to_str().unwrap()]);
    let err = stderr(&o);
    // Whether the tracer's fd was visible to the program or not, the
    // program's file holds only its own output, never a zstd chunk.
    assert!(err.contains("replaced "), "{err}");
    assert_eq!(
        std::fs::read_to_string(&own).unwrap(),
        "the program's own output\n",
        "{err}"
    );
    // It also fills every free fd: the tracer either got its file back
    // (complete, the leak exact) or stopped and says the trace ends early.
    if code == 2 {
        assert!(err.contains("its trace ends early"), "{err}");
        assert!(err.contains("INCOMPLETE"), "{err}");
    } else {
        assert_exact_leak(&o, code);
    }
}

const RACER: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void *volatile sink;
static volatile int done;
static int own;
static const char *mode;

/* Looks for the trace's descriptor in /proc/self/fd and, each time it is
 * found, dup2s the program's own file over it (or closes it): while the
 * main thread keeps the writer busy, some of these land between the
 * writer's check and its write. */
static void *racer(void *arg) {
    (void)arg;
    long hits = 0;
    while (!done) {
        int fds[256], n = 0;
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        while ((e = readdir(d)) && n < 256)
            if (e->d_name[0] != '.') fds[n++] = atoi(e->d_name);
        closedir(d);
        for (int i = 0; i < n; i++) {
            char p[64], t[4096];
            snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
            ssize_t k = readlink(p, t, sizeof t - 1);
            if (k <= 0) continue;
            t[k] = 0;
            if (!strstr(t, ".lwt")) continue;
            if (!strcmp(mode, "close")) {
                if (close(fds[i]) == 0) hits++;
            } else if (dup2(own, fds[i]) == fds[i]) {
                hits++;
                close(fds[i]); /* the number is free again, the copy of own gone */
            }
        }
    }
    fprintf(stderr, "racer hit the trace's descriptor %ld times\n", hits);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    mode = argv[1];
    own = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (own < 0) return 3;
    pthread_t t;
    pthread_create(&t, 0, racer, 0);
    /* Two seconds of distinct stacks keep the writer writing. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (int i = 0; i < 5000; i++) { sink = malloc(16 + i % 4000); free(sink); }
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - start.tv_sec < 2);
    done = 1;
    pthread_join(t, 0);
    for (int i = 0; i < 3; i++) sink = malloc(333); /* the leak */
    const char msg[] = "the program's own output\n";
    if (write(own, msg, sizeof msg - 1) < 0) return 4;
    return 0;
}
"#;

/// A thread that keeps replacing (or closing) the trace's descriptor while
/// the writer writes: the program's file receives only its own bytes, and
/// the trace is complete (the tracer moved out of the way each time).
fn racing_the_writer(mode: &str) {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "racer", RACER);
    let own = dir.path().join("own.txt");
    let mut c = leakwatch();
    c.current_dir(dir.path())
        .args(["trace", "-o", "race.lwt", "--"])
        .arg(&exe)
        .arg(mode)
        .arg(&own);
    let (o, _) = run_measured(c, Duration::from_secs(120));
    let err = stderr(&o);
    assert!(err.contains("racer hit the trace's descriptor"), "{err}");
    assert!(!err.contains("hit the trace's descriptor 0 times"), "{err}");
    let written = std::fs::read(&own).unwrap();
    assert!(
        written == b"the program's own output\n",
        "the program's file holds {} bytes, not only its own output (trace bytes?): {:?}…\n{err}",
        written.len(),
        &written[..written.len().min(32)]
    );
    assert_exact_leak(&o, o.status.code().unwrap_or(-1));
}

#[test]
fn dup2_racing_the_writer_never_puts_trace_bytes_in_the_programs_file() {
    racing_the_writer("dup2");
}

#[test]
fn close_racing_the_writer_keeps_the_trace_complete() {
    racing_the_writer("close");
}

#[test]
fn quick_exit_is_a_complete_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (o, code) = traced(dir.path(), "quick_exit", &["quick_exit"]);
    assert!(
        stderr(&o).contains("exited with status 3"),
        "{}",
        stderr(&o)
    );
    assert_exact_leak(&o, code);
}

/// abort right after the leak: the blocks are live at the end, not proven
/// leaked; the verdict is exit 2 saying why, never "no leak".
#[test]
fn abort_is_never_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let (o, code) = traced(dir.path(), "abort", &["abort"]);
    let err = stderr(&o);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("killed by signal 6"), "{err}");
    assert!(err.contains("did not exit normally"), "{err}");
    assert!(!err.contains("no leak:"), "{err}");
    // The report on the trace agrees, and shows the live blocks.
    let r = leakwatch()
        .args(["report", "--json"])
        .arg(dir.path().join("abort.lwt"))
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["verdict"], "incomplete", "{v}");
}

const OOM: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    static void *blocks[1 << 16];
    int n = 0;
    while (n < (1 << 16)) {
        void *p = malloc(1 << 20);
        if (!p) break;
        memset(p, 1, 4096);
        blocks[n++] = p;
    }
    for (int i = 0; i < n; i++) free(blocks[i]);
    static void *volatile leak;
    leak = malloc(4444); /* the leak */
    printf("allocated %d MiB before running out\n", n);
    return n > 0 && n < (1 << 16) ? 0 : 5;
}
"#;

/// A program that allocates until malloc fails, under RLIMIT_AS (`ulimit
/// -v`) set on the whole `leakwatch trace` run: traced to the end (the leak
/// exact) or exit 2 saying what was lost.
#[test]
fn out_of_memory_under_rlimit_as_is_traced_or_says_what_was_lost() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "oom", OOM);
    let mut c: Command = leakwatch();
    c.current_dir(dir.path())
        .args(["trace", "-o", "oom.lwt", "--"])
        .arg(&exe);
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (o, _) = run_measured(c, Duration::from_secs(120));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(out.contains("before running out"), "{out}{err}");
    assert!(err.contains("exited with status 0"), "{err}");
    match o.status.code() {
        Some(1) => assert!(
            err.contains("LEAK: 4444 bytes in 1 block still allocated at exit"),
            "{err}"
        ),
        Some(2) => assert!(err.contains("lost"), "{err}"),
        c => panic!("exit {c:?}: {err}"),
    }
}
