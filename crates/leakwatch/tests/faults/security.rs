//! Security findings: files, hostile input, the terminal.

use std::path::Path;
use std::time::Duration;

use crate::common::has_command;
use crate::support::*;

const FORKER: &str = r#"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
void *volatile sink;
int main(void) {
    for (int i = 0; i < 20; i++) {
        pid_t p = fork();
        if (p == 0) { sink = malloc(100); _exit(0); }
        waitpid(p, 0, 0);
    }
    sink = malloc(50); /* the parent's leak */
    return 0;
}
"#;

/// Links planted in advance at `OUT.<pid>` for the next pids (another
/// user's, in a shared directory) must neither be written through by a
/// root run nor be listed as the children's traces.
#[test]
fn follow_fork_never_writes_through_or_lists_planted_links() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "forker", FORKER);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let out = dir.path().join("t.lwt");
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut planted = 0;
    for pid in (last + 1..last + 3000).map(|p| if p >= max { p - max + 300 } else { p }) {
        if std::os::unix::fs::symlink(&victim, dir.path().join(format!("t.lwt.{pid}"))).is_ok() {
            planted += 1;
        }
    }
    assert!(planted > 2000);
    let o = leakwatch()
        .arg("trace")
        .arg("--follow-fork")
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(&exe)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious",
        "{err}"
    );
    // Non-vacuous: children did land on planted names, and said so.
    assert!(
        err.contains("cannot create the child's trace file"),
        "no child landed on a planted link: {err}"
    );
    // What is listed as a child's trace is a trace leakwatch wrote, never
    // one of the links.
    for line in err.lines().filter_map(|l| l.strip_prefix("  ")) {
        let p = Path::new(line.trim());
        if p.starts_with(dir.path()) {
            let md = std::fs::symlink_metadata(p).unwrap();
            assert!(
                md.file_type().is_file(),
                "a planted link is listed: {line}\n{err}"
            );
        }
    }
    assert_eq!(o.status.code(), Some(1), "{err}");
}

/// Traces (default name and -o) and Node heap snapshots are 0600, the
/// snapshot directory 0700: they hold the program's data (tokens in
/// strings).
#[test]
fn traces_and_heap_snapshots_are_private() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    // Even under a permissive umask.
    let mut c = leakwatch();
    c.current_dir(dir.path())
        .args(["trace", "--no-summary", "--", "true"]);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut c, || {
            libc::umask(0);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let named = dir.path().join("named.lwt");
    let o = leakwatch()
        .current_dir(dir.path())
        .args(["trace", "--no-summary", "-o"])
        .arg(&named)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let traces: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "lwt"))
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    for t in &traces {
        assert_eq!(mode(t), 0o600, "{}", t.display());
    }

    if !has_command("node") {
        eprintln!("node is not installed: the heap snapshot half is skipped");
        return;
    }
    let port = free_port();
    let js = dir.path().join("idle.js");
    std::fs::write(
        &js,
        "globalThis.token = 'secret-' + Date.now(); setInterval(() => {}, 1000);\n",
    )
    .unwrap();
    let _node = Killed(
        std::process::Command::new("node")
            .arg(format!("--inspect=127.0.0.1:{port}"))
            .arg(&js)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the inspector", 30, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let snaps = dir.path().join("snaps");
    let (o, _) = run_measured(
        {
            let mut c = leakwatch();
            c.args(["snapshot", "--node-inspect", &format!("127.0.0.1:{port}")])
                .args(["--count", "2", "--every", "1s", "--no-diff", "--out-dir"])
                .arg(&snaps);
            c
        },
        Duration::from_secs(120),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&snaps), 0o700);
    let files: Vec<_> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
}

/// `check` prints file names and source lines: their escape sequences are
/// shown, never interpreted, and the marker still sits under the spot.
#[test]
fn check_escapes_file_names_and_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\x1b[31m.py";
    std::fs::write(
        dir.path().join(name),
        "cache = {}\ndef f(k, v):\n    s = \"\x1b[2J\"; cache[k] = v  # \x1b]0;pwned\x07\n",
    )
    .unwrap();
    let o = leakwatch()
        .current_dir(dir.path())
        .args(["check", "--color", "never", "."])
        .output()
        .unwrap();
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(
        !text.contains('\x1b') && !text.contains('\x07'),
        "raw escape sequences: {text:?}"
    );
    assert!(text.contains("evil\\x1b[31m.py:3:"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("3 | "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("\\x1b[2J") && line.contains("\\x07"),
        "{line}"
    );
    let marker = text
        .lines()
        .skip_while(|l| !l.starts_with("3 | "))
        .nth(1)
        .unwrap();
    let at = line.find("cache[k]").unwrap();
    assert_eq!(marker.find('^'), Some(at), "\n{line}\n{marker}");
}

/// gzip through the system's gzip (the test crate has no compression dependency).
fn gzip(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    let mut stdin = child.stdin.take().unwrap();
    let raw = raw.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&raw).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field(no: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint((no << 3) | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

fn int_field(no: u64, v: u64, out: &mut Vec<u8>) {
    varint(no << 3, out);
    varint(v, out);
}

/// A heap profile of `samples` samples, each through `refs` references to
/// one location that holds `inlined` inlined frames: a few KB on disk.
fn inlined_profile(samples: u64, refs: usize, inlined: u64, scale: u64) -> Vec<u8> {
    let mut p = Vec::new();
    let mut vt = Vec::new();
    int_field(1, 1, &mut vt);
    int_field(2, 2, &mut vt);
    field(1, &vt, &mut p);
    for s in 0..samples {
        let mut locs = Vec::new();
        for _ in 0..refs {
            varint(1, &mut locs);
        }
        let mut val = Vec::new();
        varint((1000 + s) * scale, &mut val);
        let mut sample = Vec::new();
        field(1, &locs, &mut sample);
        field(2, &val, &mut sample);
        field(2, &sample, &mut p);
    }
    let mut loc = Vec::new();
    int_field(1, 1, &mut loc);
    for i in 0..inlined {
        let mut line = Vec::new();
        int_field(1, 1, &mut line);
        int_field(2, i, &mut line);
        field(4, &line, &mut loc);
    }
    field(4, &loc, &mut p);
    let mut func = Vec::new();
    int_field(1, 1, &mut func);
    int_field(2, 3, &mut func);
    field(5, &func, &mut p);
    for s in ["", "inuse_space", "bytes", "grow_the_cache"] {
        field(6, s.as_bytes(), &mut p);
    }
    p
}

/// 100 samples x 1,000 inlined frames (0.8 GB once): bounded, whatever the
/// verdict; more frames than the limit allows is exit 2, never a crash.
#[test]
fn pprof_with_thousands_of_inlined_frames_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    for (refs, name) in [(1usize, "one"), (4, "four"), (1000, "thousand")] {
        let base = dir.path().join(format!("{name}.base.pb"));
        let target = dir.path().join(format!("{name}.target.pb"));
        std::fs::write(&base, gzip(&inlined_profile(100, refs, 1000, 1))).unwrap();
        std::fs::write(&target, gzip(&inlined_profile(100, refs, 1000, 5))).unwrap();
        let size = std::fs::metadata(&base).unwrap().len();
        let mut cmd = leakwatch();
        cmd.arg("diff").arg(&base).arg(&target);
        let (o, kib) = run_measured(cmd, Duration::from_secs(120));
        let code = o.status.code();
        eprintln!(
            "{name}: {size} B profile, {refs} refs x 1000 inlined: exit {code:?}, peak {} MiB",
            kib >> 10
        );
        assert!(
            matches!(code, Some(0..=2)),
            "{code:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        if code == Some(2) {
            assert!(
                stderr(&o).contains("limit") || stderr(&o).contains("too"),
                "{}",
                stderr(&o)
            );
        }
        assert!(kib < 200 << 10, "{name}: peak memory {kib} KiB");
    }
}

/// Every output path (reports, baselines, CSVs, JUnit, HTML pages, exports,
/// man pages) is refused when it is a link planted in advance: the file it
/// points at is never written, and the command fails (exit 2) saying why.
#[test]
fn no_output_is_written_through_a_planted_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let victim = d.join("victim");
    std::fs::write(
        d.join("a.py"),
        "cache = {}\ndef f(k, v):\n    cache[k] = v\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("man")).unwrap();
    require_preload();
    let t = leakwatch()
        .current_dir(d)
        .args(["trace", "--no-summary", "-o", "t.lwt", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(t.status.code(), Some(0), "{}", stderr(&t));
    let me = std::process::id().to_string();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "out.sarif",
            vec!["check", "a.py", "--format", "sarif", "-o", "out.sarif"],
        ),
        ("out.txt", vec!["check", "a.py", "-o", "out.txt"]),
        (
            "base.json",
            vec!["check", "a.py", "--write-baseline", "base.json"],
        ),
        (
            "watch.csv",
            vec![
                "watch",
                "--pid",
                &me,
                "--duration",
                "1s",
                "--out",
                "watch.csv",
            ],
        ),
        (
            "run.csv",
            vec![
                "run",
                "--duration",
                "1s",
                "--out",
                "run.csv",
                "--",
                "sleep",
                "2",
            ],
        ),
        (
            "junit.xml",
            vec![
                "run",
                "--duration",
                "1s",
                "--junit",
                "junit.xml",
                "--",
                "sleep",
                "2",
            ],
        ),
        (
            "page.html",
            vec![
                "run",
                "--duration",
                "1s",
                "--html",
                "page.html",
                "--",
                "sleep",
                "2",
            ],
        ),
        ("man/leakwatch.1", vec!["man", "--dir", "man"]),
        ("fg.svg", vec!["report", "--flamegraph", "fg.svg", "t.lwt"]),
        ("p.pb.gz", vec!["report", "--pprof", "p.pb.gz", "t.lwt"]),
    ];
    for (link, args) in cases {
        std::fs::write(&victim, "precious").unwrap();
        let at = d.join(link);
        let _ = std::fs::remove_file(&at);
        std::os::unix::fs::symlink(&victim, &at).unwrap();
        let (o, _) = run_measured(
            {
                let mut c = leakwatch();
                c.current_dir(d).args(&args);
                c
            },
            Duration::from_secs(60),
        );
        let err = stderr(&o);
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "precious",
            "{args:?} wrote through the link: {err}"
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("link") || err.contains("not a regular file"),
            "{args:?}: {err}"
        );
        assert!(
            std::fs::symlink_metadata(&at)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{args:?} removed the link"
        );
    }
}

/// A webhook receiver that answers a redirect: the alert must not be sent
/// on to where it points (the redirect's target is never contacted), and
/// the agent must say why it gave the alert up. Live: a leaking Python
/// program watched until its leak alert fires (about a minute).
#[test]
fn webhook_redirects_are_refused_not_followed() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::process::Stdio;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // Where the redirect points: counts every connection.
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_addr = target.local_addr().unwrap();
    let contacted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&contacted);
    target.set_nonblocking(true).unwrap();
    std::thread::spawn(move || loop {
        if target.accept().is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        std::thread::sleep(Duration::from_millis(20));
    });
    // The configured receiver: answers every request with a 302 to it.
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", redirector.local_addr().unwrap());
    let asked = Arc::new(AtomicUsize::new(0));
    let asked_in = Arc::clone(&asked);
    std::thread::spawn(move || {
        for mut c in redirector.incoming().flatten() {
            asked_in.fetch_add(1, Ordering::SeqCst);
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 65536];
            let _ = c.read(&mut buf);
            let _ = write!(
                c,
                "HTTP/1.1 302 Found\r\nLocation: http://{target_addr}/stolen\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });

    let mut leaky = std::process::Command::new("python3")
        .args([
            "-c",
            "import time\nkeep = []\nwhile True:\n    keep.append(bytearray(300_000))\n    time.sleep(0.05)\n",
        ])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("agent.log");
    let mut agent = leakwatch()
        .args(["watch", "--pid", &leaky.id().to_string()])
        .args(["--interval", "0.5s", "--json", "--webhook", &hook])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("agent.jsonl")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let why = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the alert to be given up on the redirect", 240, || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("does not follow redirects").then_some(text)
        })
    }));
    let _ = agent.kill();
    let _ = agent.wait();
    let _ = leaky.kill();
    let _ = leaky.wait();
    let why = why.unwrap_or_else(|_| {
        panic!(
            "no redirect refusal; agent log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(asked.load(Ordering::SeqCst) >= 1, "{why}");
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "the redirect's target was contacted: {why}"
    );
    assert!(why.contains(&format!("{target_addr}")), "{why}");
}
