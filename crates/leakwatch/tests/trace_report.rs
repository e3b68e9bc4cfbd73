//! `leakwatch report` and the summary after `leakwatch trace`, on programs
//! built by the tests and on crafted traces: reports name the user's code,
//! runtime residue and suppressions are set apart, missing data is never
//! "no leak", signals are passed on with nothing left running, verdicts are
//! stable, and hostile input stays bounded and harmless.
//!
//! The tracer library must sit next to the leakwatch binary (`cargo build
//! -p leakwatch` builds it).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use leakwatch_trace::format::{
    LOST_AT_END, LOST_OUT_OF_MEMORY, PHASE_EXIT, PHASE_RUNTIME_FINALIZE, TICK_NS, VERSION,
};
use leakwatch_trace::synth::{Records, TraceWriter};
use serde_json::Value;

mod common;
use common::valgrind_in_use;

fn leakwatch() -> PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trace_report")
        .join(name)
}

fn require_preload() {
    common::preload_library();
}

fn build(dir: &Path, compiler: &str, src: &str, out: &str, flags: &[&str]) -> PathBuf {
    let exe = dir.join(out);
    common::compile(compiler, &fixture(src), &exe, flags, &[]);
    exe
}

fn marker_line(src: &str, name: &str) -> u64 {
    common::marker_line_in(&fixture(src), name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn trace(dir: &Path, out: &str, extra: &[&str], cmd: &[&str]) -> (PathBuf, Output) {
    require_preload();
    let t = dir.join(out);
    let o = Command::new(leakwatch())
        .current_dir(dir)
        .arg("trace")
        .arg("-o")
        .arg(&t)
        .args(extra)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    (t, o)
}

fn report(trace: &Path, extra: &[&str]) -> Output {
    Command::new(leakwatch())
        .arg("report")
        .arg(trace)
        .args(extra)
        .env_remove("LSAN_OPTIONS")
        .output()
        .unwrap()
}

fn report_json(trace: &Path, extra: &[&str]) -> (Value, i32) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let o = report(trace, &args);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| {
        panic!(
            "report --json is not JSON ({e}): {}\n{}",
            stdout(&o),
            stderr(&o)
        )
    });
    (v, o.status.code().unwrap_or(-1))
}

/// (site function, site line, bytes, blocks) of each entry of a group.
fn entries(group: &Value) -> Vec<(String, u64, u64, u64)> {
    group["stacks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["site"]["function"].as_str().unwrap_or("").to_string(),
                        e["site"]["line"].as_u64().unwrap_or(0),
                        e["bytes"].as_u64().unwrap(),
                        e["blocks"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pid_alive(pid: u32) -> bool {
    // A zombie is gone for our purposes (its parent will reap it).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `leakwatch report ARGS` and returns its output, exit code and peak
/// memory in KiB (its own VmHWM: a child's rusage would also count the
/// test process it was forked from).
fn report_measured(args: &[&std::ffi::OsStr]) -> (Output, i32, u64) {
    let o = Command::new(leakwatch())
        .arg("report")
        .args(args)
        .env("LEAKWATCH_STATS", "1")
        .output()
        .unwrap();
    let err = stderr(&o);
    let kib = err
        .lines()
        .find_map(|l| l.strip_prefix("leakwatch: report stats: "))
        .and_then(|l| l.split("peak memory ").nth(1))
        .and_then(|v| v.trim_end_matches(" KiB").parse().ok())
        .unwrap_or_else(|| panic!("no stats line in: {err}"));
    let code = o.status.code().unwrap_or(-1);
    (o, code, kib)
}

#[test]
fn make_shared_leak_is_named_by_the_users_function_demangled() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "g++",
        "partners.cpp",
        "partners",
        &["-O2", "-g"],
    );
    let (t, o) = trace(dir.path(), "p.lwt", &[], &[exe.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let line_b = marker_line("partners.cpp", "link_partners");
    // The one-line verdict names the user's function, not std:: internals.
    assert!(
        err.contains(&format!(
            "LEAK: 528 bytes in 6 blocks still allocated at exit, largest from link_partners at {}:{}",
            fixture("partners.cpp").display(),
            line_b - 1
        )),
        "{err}"
    );
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["version"], 1);
    assert_eq!(
        entries(&r["leaked"]),
        vec![
            ("link_partners".into(), line_b - 1, 264, 3),
            ("link_partners".into(), line_b, 264, 3)
        ]
    );
    for e in r["leaked"]["stacks"].as_array().unwrap() {
        let names: Vec<&str> = e["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["function"].as_str().unwrap())
            .collect();
        // Every frame demangled, inlined std::make_shared included.
        assert!(names.iter().all(|n| !n.starts_with("_Z")), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.contains("std::make_shared<Partner>")),
            "{names:?}"
        );
        // Nothing below main, no allocator entry by default.
        assert_eq!(names.last(), Some(&"main"), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("operator new")));
    }
    // The full stack is one flag away.
    let (full, _) = report_json(&t, &["--full-stacks"]);
    let names: Vec<String> = full["leaked"]["stacks"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap().to_string())
        .collect();
    // Stacks start at the program's call (the hooks hand the caller's
    // frame to the unwinder), so `operator new` itself is never a frame;
    // the full stack keeps what lies below main.
    let default_len = r["leaked"]["stacks"][0]["frames"].as_array().unwrap().len();
    assert!(names.len() > default_len, "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("__libc_start")),
        "{names:?}"
    );
    let text = stdout(&report(&t, &[]));
    assert!(
        text.contains("264 bytes in 3 blocks from link_partners at"),
        "{text}"
    );
    assert!(!text.contains("_start"), "{text}");
}

/// Adds LSANSUPP to a trace the tracer wrote without one (a tracer that
/// does not record embedded suppressions yet).
fn ensure_embedded(trace: &Path, text: &str) {
    let data = std::fs::read(trace).unwrap();
    let reader = leakwatch_trace::TraceReader::open(&data[..]).unwrap();
    let a = leakwatch_trace::analyze(reader).unwrap();
    if a.tables.lsan_suppressions.contains(text.trim()) {
        return;
    }
    eprintln!("the tracer did not record __lsan_default_suppressions(): adding it to the trace");
    let mut r = Records::default();
    r.lsan_suppressions(text);
    let data = leakwatch_trace::synth::with_records_first(&data, &r.take()).unwrap();
    std::fs::write(trace, data).unwrap();
}

#[test]
fn lsan_suppressions_from_a_file_the_environment_and_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "suppressed.c",
        "suppressed",
        &["-O2", "-g"],
    );
    let (t, o) = trace(
        dir.path(),
        "s.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    ensure_embedded(&t, "# the program's own\nleak:embedded_cache_init\n");
    let line = |f| marker_line("suppressed.c", f);

    // Embedded only.
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        entries(&r["leaked"]),
        vec![
            ("real_leak".into(), line("real_leak"), 3333, 1),
            ("third_party_pool".into(), line("third_party_pool"), 2222, 1),
        ]
    );
    let supp = r["suppressed"].as_array().unwrap();
    assert_eq!(supp.len(), 1);
    assert_eq!(supp[0]["pattern"], "embedded_cache_init");
    assert_eq!(supp[0]["source"], "embedded");
    assert_eq!(
        (supp[0]["bytes"].as_u64(), supp[0]["blocks"].as_u64()),
        (Some(1111), Some(1))
    );
    // Suppressed is set apart, not lost: with what is reported, memcheck's
    // "in use at exit".
    if let Some(vg) = valgrind_in_use(dir.path(), &[exe.to_str().unwrap()]) {
        let sum = |f: &str| r["leaked"][f].as_u64().unwrap() + supp[0][f].as_u64().unwrap();
        assert_eq!(
            (sum("bytes"), sum("blocks")),
            vg,
            "leaked + suppressed vs memcheck"
        );
    }

    // A file, by function name with LeakSanitizer's anchors.
    let file = dir.path().join("lsan.supp");
    std::fs::write(&file, "# vendored code\nleak:^third_party_pool$\n").unwrap();
    let (r, code) = report_json(&t, &["--suppressions", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(
        entries(&r["leaked"]),
        vec![("real_leak".into(), line("real_leak"), 3333, 1)]
    );
    let text = stdout(&report(&t, &["--suppressions", file.to_str().unwrap()]));
    assert!(
        text.contains("2222 bytes in 1 block from 1 call stack by leak:^third_party_pool$"),
        "{text}"
    );
    assert!(
        text.contains(
            "1111 bytes in 1 block from 1 call stack by leak:embedded_cache_init (embedded)"
        ),
        "{text}"
    );

    // The same file through LSAN_OPTIONS, and a source-file pattern that
    // covers all three: no leak left, exit 0.
    let all = dir.path().join("all.supp");
    std::fs::write(&all, "leak:suppressed.c\n").unwrap();
    let o = Command::new(leakwatch())
        .args(["report", "--json"])
        .arg(&t)
        .env(
            "LSAN_OPTIONS",
            format!(
                "verbosity=0:suppressions={}:report_objects=1",
                all.display()
            ),
        )
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["leaked"]["bytes"], 0);
    let total: u64 = r["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1111 + 2222 + 3333);

    // The summary after `trace` honours them too.
    let (_, o) = trace(
        dir.path(),
        "s2.lwt",
        &["--suppressions", all.to_str().unwrap()],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("suppressed"), "{}", stderr(&o));

    // A broken suppression file is an error naming the line.
    let bad = dir.path().join("bad.supp");
    std::fs::write(&bad, "leak:ok\nthis is not a rule\n").unwrap();
    let o = report(&t, &["--suppressions", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.supp:2"), "{}", stderr(&o));
}

/// The pyenv interpreters present (3.8 to 3.13).
fn pythons() -> Vec<PathBuf> {
    let root = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".pyenv/versions"))
        .unwrap_or_default();
    let mut found = Vec::new();
    for minor in 8..=13 {
        let mut versions: Vec<PathBuf> = std::fs::read_dir(&root)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(&format!("3.{minor}.")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        versions.sort();
        match versions.last().map(|v| v.join("bin/python3")) {
            Some(p) if p.is_file() => found.push(p),
            _ => eprintln!(
                "skipped Python 3.{minor}: not installed under {}",
                root.display()
            ),
        }
    }
    if found.is_empty() {
        if let Ok(p) = which("python3") {
            found.push(p);
        }
    }
    found
}

fn which(cmd: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn python_residue_is_not_a_leak_and_a_ctypes_leak_is() {
    let dir = tempfile::tempdir().unwrap();
    let pys = pythons();
    assert!(!pys.is_empty(), "no Python found");
    // memcheck is slow on an interpreter: compared on one Python only.
    let compared = pys.last().cloned();
    for py in pys {
        let py_s = py.to_str().unwrap();
        let memcheck = |script: &str, r: &Value| {
            if compared.as_ref() != Some(&py) {
                return;
            }
            let script_path = fixture(script);
            let cmd = [py_s, script_path.to_str().unwrap()];
            if let Some(vg) = valgrind_in_use(dir.path(), &cmd) {
                // Residue is set apart, never dropped: with the leaks, it is
                // everything memcheck finds in use at exit.
                let sum = |f: &str| {
                    r["leaked"][f].as_u64().unwrap() + r["runtime_residue"][f].as_u64().unwrap()
                };
                assert_eq!((sum("bytes"), sum("blocks")), vg, "{py_s} {script}");
            }
        };
        let (t, o) = trace(
            dir.path(),
            "clean.lwt",
            &[],
            &[py_s, fixture("clean.py").to_str().unwrap()],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{py_s} clean: {err}");
        assert!(err.contains("no leak"), "{err}");
        assert!(err.contains("runtime residue not counted: python"), "{err}");
        let (r, _) = report_json(&t, &[]);
        assert_eq!(r["leaked"]["bytes"], 0, "{py_s}");
        assert!(r["runtime_residue"]["bytes"].as_u64().unwrap() > 0);
        memcheck("clean.py", &r);
        // A standard module whose import sets up a system library
        // (readline's keymaps in libreadline): the interpreter's residue.
        let has_readline = Command::new(&py)
            .args(["-c", "import readline"])
            .output()
            .is_ok_and(|o| o.status.success());
        if has_readline {
            let (_, o) = trace(dir.path(), "rl.lwt", &[], &[py_s, "-c", "import readline"]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(0), "{py_s} import readline: {err}");
            assert!(err.contains("no leak"), "{err}");
        }
        // Debian's `main` tail-calls Py_BytesMain, so the tracer's wrapper
        // of `main` is the next frame out of the start-up's stacks, which
        // hold the peak of an empty script: never listed.
        let (t, o) = trace(dir.path(), "pass.lwt", &[], &[py_s, "-c", "pass"]);
        assert_eq!(o.status.code(), Some(0), "{py_s} -c pass: {}", stderr(&o));
        let text = stdout(&report(&t, &[]));
        assert!(text.contains("peak:"), "{text}");
        for own in [
            "traced_main",
            "libleakwatch_preload",
            "leakwatch-preload/src",
        ] {
            assert!(
                !text.contains(own),
                "{py_s}: the tracer's frame {own}:\n{text}"
            );
        }

        let (t, o) = trace(
            dir.path(),
            "leaky.lwt",
            &[],
            &[py_s, fixture("leaky.py").to_str().unwrap()],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{py_s} leaky: {err}");
        assert!(
            err.contains("LEAK: 37035 bytes in 3 blocks still allocated at exit"),
            "{py_s}: {err}"
        );
        let (r, code) = report_json(&t, &[]);
        assert_eq!(code, 1);
        assert_eq!(r["leaked"]["bytes"], 3 * 12345, "{py_s}: {}", r["leaked"]);
        assert_eq!(r["leaked"]["blocks"], 3);
        memcheck("leaky.py", &r);
    }
}

/// Starts `leakwatch trace` on the interrupted.c program and waits until it
/// has leaked and waits for a signal. Returns (leakwatch, program pid).
fn start_interrupted(dir: &Path, exe: &Path, t: &Path, arg: &str) -> (std::process::Child, u32) {
    require_preload();
    let mut lw = Command::new(leakwatch())
        .arg("trace")
        .arg("-o")
        .arg(t)
        .arg("--")
        .arg(exe)
        .arg(arg)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(lw.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let id = lw.id();
    let program = wait_for("the program's pid", 10, || children_of(id).first().copied());
    // Keep reading its output so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    });
    (lw, program)
}

#[test]
fn sigint_and_sigterm_to_trace_are_passed_on_and_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "interrupted.c",
        "interrupted",
        &["-O2", "-g"],
    );

    // A program that shuts down cleanly on SIGINT: the trace is complete
    // and its leak is named.
    let t = dir.path().join("int.lwt");
    let (lw, program) = start_interrupted(dir.path(), &exe, &t, "handle");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(lw.id() as i32, libc::SIGINT) };
    let o = lw.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("exited with status 0"), "{err}");
    assert!(err.contains("LEAK: 4242 bytes in 1 block"), "{err}");
    assert!(err.contains("keep_session"), "{err}");
    assert!(!pid_alive(program), "the program was left running");
    let (r, _) = report_json(&t, &[]);
    assert_eq!(r["complete"], true, "the trace is complete");

    // One that dies of SIGTERM: still summarised, and never "no leak".
    let t = dir.path().join("term.lwt");
    let (lw, program) = start_interrupted(dir.path(), &exe, &t, "die");
    // SAFETY: as above.
    unsafe { libc::kill(lw.id() as i32, libc::SIGTERM) };
    let o = lw.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("was killed by signal 15 (SIGTERM)"), "{err}");
    assert!(err.contains("INCOMPLETE"), "{err}");
    assert!(err.contains("next: leakwatch report"), "{err}");
    assert!(!pid_alive(program));

    // One that ignores both: a first SIGTERM is passed on and, the program
    // still running, leakwatch says how to end it; a second kills it, and
    // the trace so far is summarised (it used to wait forever).
    let t = dir.path().join("ignore.lwt");
    let (mut lw, program) = start_interrupted(dir.path(), &exe, &t, "ignore");
    // A watchdog: if no hint comes, leakwatch is killed (its stderr then
    // ends and the test fails) rather than the suite hanging.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (done, id) = (done.clone(), lw.id() as i32);
        std::thread::spawn(move || {
            let until = std::time::Instant::now() + Duration::from_secs(60);
            while std::time::Instant::now() < until {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // SAFETY: our own child, still waited for (not reaped).
            unsafe { libc::kill(id, libc::SIGKILL) };
        })
    };
    // SAFETY: as above.
    unsafe { libc::kill(lw.id() as i32, libc::SIGTERM) };
    let mut err_pipe = lw.stderr.take().unwrap();
    let hint = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("press Ctrl-C again") {
            let n = std::io::Read::read(&mut err_pipe, &mut buf).unwrap();
            assert!(n > 0, "no hint: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        (seen, err_pipe)
    });
    let (mut seen, mut err_pipe) = hint.join().unwrap();
    assert!(
        pid_alive(program),
        "the first request is the program's to handle"
    );
    // SAFETY: as above.
    unsafe { libc::kill(lw.id() as i32, libc::SIGTERM) };
    let o = lw.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    watchdog.join().unwrap();
    std::io::Read::read_to_end(&mut err_pipe, &mut seen).unwrap();
    let err = String::from_utf8_lossy(&seen);
    assert!(err.contains("killing"), "{err}");
    assert!(err.contains("was killed by signal 9 (SIGKILL)"), "{err}");
    assert!(
        err.contains("LEAK: 4242 bytes in 1 block") || err.contains("INCOMPLETE"),
        "{err}"
    );
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(!pid_alive(program));

    // SIGKILL to leakwatch itself takes the program down with it.
    let t = dir.path().join("kill.lwt");
    let (mut lw, program) = start_interrupted(dir.path(), &exe, &t, "handle");
    lw.kill().unwrap();
    lw.wait().unwrap();
    wait_for("the program to die with leakwatch", 10, || {
        (!pid_alive(program)).then_some(())
    });
}

#[test]
fn a_crash_a_cut_trace_and_lost_data_are_never_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    // A crash right after leaking: the leak is live at the end, not proven.
    let exe = build(dir.path(), "gcc", "crash.c", "crash", &["-O2", "-g"]);
    let (t, o) = trace(dir.path(), "crash.lwt", &[], &[exe.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("killed by signal 6"), "{err}");
    assert!(err.contains("did not exit normally"), "{err}");
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 2);
    assert_eq!(r["verdict"], "incomplete");
    assert!(r["leaked"].is_null());
    let live = entries(&r["live_at_end"]);
    assert!(
        live.contains(&(
            "lost_buffer".into(),
            marker_line("crash.c", "lost_buffer"),
            5555,
            1
        )),
        "{live:?}"
    );

    // Cut to its 40-byte header.
    let cut = dir.path().join("cut.lwt");
    std::fs::write(&cut, &std::fs::read(&t).unwrap()[..40]).unwrap();
    let o = report(&cut, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("the trace holds no data"),
        "{}",
        stdout(&o)
    );

    // A complete-looking trace with a LOST record: exit 2, saying what.
    let lost = dir.path().join("lost.lwt");
    std::fs::write(
        &lost,
        synthetic(|r| {
            r.lost(LOST_AT_END, 17);
        }),
    )
    .unwrap();
    let o = report(&lost, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("the process ended with 17 events not yet written"),
        "{text}"
    );
    assert!(text.contains("INCOMPLETE"), "{text}");
    let (r, _) = report_json(&lost, &[]);
    assert_eq!(r["lost"][0]["reason"], LOST_AT_END);
    assert_eq!(r["lost_records"], 1);

    // The same without LOST: a proven leak at exit (the control).
    let whole = dir.path().join("whole.lwt");
    std::fs::write(&whole, synthetic(|_| {})).unwrap();
    assert_eq!(report(&whole, &[]).status.code(), Some(1));

    // Lost data after a site was shown growing: still a leak (exit 1).
    let grew = dir.path().join("grew.lwt");
    std::fs::write(&grew, growing_then_lost()).unwrap();
    let (r, code) = report_json(&grew, &[]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["growing"].as_array().unwrap().len(), 1);
}

/// A small complete trace (a leak of 100 bytes, one module), with `extra`
/// records before its END.
fn synthetic(extra: impl FnOnce(&mut Records)) -> Vec<u8> {
    let mut w = TraceWriter::new(VERSION, 4711);
    let mut r = Records::default();
    r.module(0x400000, &[(0, 0x10000, 5)], b"/opt/app/bin/server");
    let s = r.stack(&[0x401234, 0x402345]);
    let c = r.class(s, 100);
    r.alloc(c);
    r.time(TICK_NS);
    extra(&mut r);
    r.end();
    w.chunk(&r.take());
    w.out
}

fn growing_then_lost() -> Vec<u8> {
    let mut w = TraceWriter::new(VERSION, 4711);
    let mut r = Records::default();
    r.module(0x400000, &[(0, 0x10000, 5)], b"/opt/app/bin/server");
    let s = r.stack(&[0x401234]);
    let c = r.class(s, 64);
    // 600 steps of 0.2 s: two minutes, past the detector's one-minute
    // minimum for calling a leak in a trace that did not end normally.
    for i in 0..6000u64 {
        if i % 10 == 0 {
            r.time(TICK_NS * 20);
        }
        r.alloc(c);
    }
    r.lost(LOST_OUT_OF_MEMORY, 0);
    w.chunk(&r.take());
    w.out
}

#[test]
fn hostile_traces_are_bounded_and_harmless() {
    let dir = tempfile::tempdir().unwrap();

    // One flipped bit in the header's sampling interval: refused as
    // damaged, not scaled into exbibytes.
    let mut flipped = synthetic(|_| {});
    flipped[23] ^= 0x40;
    let bad = dir.path().join("flipped.lwt");
    std::fs::write(&bad, &flipped).unwrap();
    let o = report(&bad, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sampling interval"), "{}", stderr(&o));

    // 32 million empty stack records: a few kilobytes on disk.
    let mut w = TraceWriter::new(VERSION, 1);
    let mut r = Records::default();
    for _ in 0..4 {
        for _ in 0..(8 << 20) {
            r.stack(&[]);
        }
        w.chunk(&r.take());
    }
    let bomb = dir.path().join("bomb.lwt");
    std::fs::write(&bomb, &w.out).unwrap();
    assert!(w.out.len() < 64 << 10, "{} bytes", w.out.len());
    let (o, code, rss_kib) = report_measured(&[bomb.as_os_str()]);
    assert_eq!(code, 2);
    assert!(stderr(&o).contains("exceeds a limit"), "{}", stderr(&o));
    eprintln!(
        "32M empty stacks ({} KiB file): exit {code}, peak memory {} MiB",
        w.out.len() >> 10,
        rss_kib >> 10
    );
    assert!(rss_kib < 128 << 10, "peak memory {rss_kib} KiB");

    // A module named in the trace that is a FIFO (reading it would block
    // forever) and one whose name carries a terminal escape sequence.
    let fifo = dir.path().join("lib.so");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut w = TraceWriter::new(VERSION, 1);
    let mut r = Records::default();
    r.module(
        0x7000_0000,
        &[(0, 0x10000, 5)],
        fifo.to_str().unwrap().as_bytes(),
    );
    r.module(
        0x6000_0000,
        &[(0, 0x10000, 5)],
        b"/tmp/evil\x1b[2J\x1b]0;pwned\x07.so",
    );
    let s = r.stack(&[0x7000_1234, 0x6000_1234]);
    let cl = r.class(s, 10);
    r.alloc(cl);
    r.end();
    w.chunk(&r.take());
    let t = dir.path().join("fifo.lwt");
    std::fs::write(&t, &w.out).unwrap();
    let mut child = Command::new(leakwatch())
        .arg("report")
        .arg(&t)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for("report with a FIFO module", 20, || {
        child.try_wait().unwrap()
    });
    let o = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(1), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(text.contains("evil\\x1b[2J"), "{text}");
    assert!(text.contains("in lib.so"), "{text}");

    // A trace read through a pipe that ends halfway (as a file truncated
    // while it is read): an incomplete report, no SIGBUS, no hang.
    let big = dir.path().join("big.lwt");
    std::fs::write(&big, growing_then_lost()).unwrap();
    let data = std::fs::read(&big).unwrap();
    let mut child = Command::new(leakwatch())
        .args(["report", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&data[..data.len() / 2]).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("cut short"), "{}", stdout(&o));
}

/// 100 million events (alloc/free pairs over 1000 call stacks, a slow leak
/// in one), generated chunk by chunk: the report's memory does not depend
/// on the number of events.
#[test]
fn a_hundred_million_events_are_reported_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.lwt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = TraceWriter::new(VERSION, 1);
    file.write_all(&w.take_out()).unwrap();
    let mut r = Records::default();
    r.module(0x400000, &[(0, 0x100000, 5)], b"/opt/app/bin/server");
    let classes: Vec<u32> = (0..1000u64)
        .map(|k| {
            let s = r.stack(&[0x400000 + 16 * k, 0x480000 + k]);
            r.class(s, 16 + k % 200)
        })
        .collect();
    let leak = r.class(classes.len() as u32 - 1, 48);
    let mut events = 0u64;
    let target = 100_000_000u64;
    let mut tick = 0u64;
    while events < target {
        for i in 0..1000usize {
            let c = classes[(i * 7 + tick as usize) % 1000];
            r.alloc(c);
            r.free(c);
            events += 2;
        }
        if tick.is_multiple_of(4) {
            r.alloc(leak);
            events += 1;
        }
        r.time(TICK_NS);
        tick += 1;
        if tick.is_multiple_of(256) {
            w.chunk(&r.take());
            file.write_all(&w.take_out()).unwrap();
        }
    }
    r.end();
    w.chunk(&r.take());
    file.write_all(&w.take_out()).unwrap();
    file.flush().unwrap();
    drop(file);
    let size = std::fs::metadata(&path).unwrap().len();
    let start = Instant::now();
    let (_, code, rss_kib) = report_measured(&["--json".as_ref(), path.as_os_str()]);
    eprintln!(
        "{events} events ({} MiB trace): report exit {code} in {:.1}s, peak memory {} MiB",
        size >> 20,
        start.elapsed().as_secs_f64(),
        rss_kib >> 10
    );
    assert_eq!(code, 1, "the slow leak is still allocated at exit");
    assert!(rss_kib < 64 << 10, "peak memory {rss_kib} KiB");
}

/// Output paths are checked before the program starts (a marker file shows
/// whether it ran): links, devices, FIFOs, directories and files that are
/// not traces are refused and left as they were.
#[test]
fn output_paths_are_checked_before_the_program_starts() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    let run = |out: &Path| {
        Command::new(leakwatch())
            .current_dir(dir.path())
            .arg("trace")
            .arg("-o")
            .arg(out)
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap()
    };
    let refused = |out: &Path, why: &str| {
        let o = run(out);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}: {}",
            out.display(),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(why),
            "{}: {}",
            out.display(),
            stderr(&o)
        );
        assert!(!marker.exists(), "the program ran for {}", out.display());
    };
    refused(Path::new("/dev/null"), "not a regular file");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());

    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.path().join("link.lwt");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    refused(&link, "symbolic link");
    refused(&victim, "is not a leakwatch trace");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    refused(dir.path(), "not a regular file");
    let fifo = dir.path().join("fifo.lwt");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    refused(&fifo, "not a regular file");
    refused(&dir.path().join("missing/t.lwt"), "does not exist");

    // An old trace is replaced.
    let old = dir.path().join("old.lwt");
    std::fs::write(&old, synthetic(|_| {})).unwrap();
    let o = run(&old);
    assert!(marker.exists(), "{}", stderr(&o));
    assert_ne!(std::fs::read(&old).unwrap(), synthetic(|_| {}));
    std::fs::remove_file(&marker).unwrap();

    // A trace a running program still has open (another `trace` with the
    // same -o) is not replaced.
    let busy = dir.path().join("busy.lwt");
    std::fs::write(&busy, synthetic(|_| {})).unwrap();
    let mut holder = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 3<{}; sleep 30", busy.display()))
        .spawn()
        .unwrap();
    wait_for("the holder to open the trace", 10, || {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", holder.id())).ok()?;
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == busy))
            .then_some(())
    });
    refused(&busy, "is in use by process");
    assert_eq!(std::fs::read(&busy).unwrap(), synthetic(|_| {}));
    holder.kill().unwrap();
    holder.wait().unwrap();

    // `report` never writes its outputs over a trace (its input or not).
    for flag in ["--html", "--flamegraph", "--pprof"] {
        let o = report(&old, &[flag, old.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{flag}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("is a leakwatch trace"),
            "{flag}: {}",
            stderr(&o)
        );
        let (v, _) = report_json(&old, &[]);
        assert!(v["allocations"].is_u64(), "{flag} destroyed the trace: {v}");
    }

    // The default name is not predictable: pid and a random part.
    let o = Command::new(leakwatch())
        .current_dir(dir.path())
        .args(["trace", "--no-summary", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("leakwatch-true."))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let parts: Vec<&str> = names[0].split('.').collect();
    assert_eq!(parts.len(), 4, "{names:?}");
    assert!(parts[1].chars().all(|c| c.is_ascii_digit()));
    assert!(parts[2].len() == 8 && parts[2].chars().all(|c| c.is_ascii_hexdigit()));
}

/// The same program gives the same verdict every time: churn alone never
/// grows (exit 2, incomplete: it was interrupted), churn with a slow leak
/// always does (exit 1).
#[test]
fn verdicts_are_stable_over_repeated_runs() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "churn.c", "churn", &["-O2", "-g"]);
    let mut seen = Vec::new();
    for run in 0..3 {
        for variant in ["quiet", "leak"] {
            let t = dir.path().join(format!("{variant}{run}.lwt"));
            let mut lw = Command::new(leakwatch())
                .arg("trace")
                .arg("-o")
                .arg(&t)
                .arg("--")
                .arg(&exe)
                .arg(variant)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(lw.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            std::thread::sleep(Duration::from_millis(2500));
            // SAFETY: signalling our own child.
            unsafe { libc::kill(lw.id() as i32, libc::SIGINT) };
            let o = lw.wait_with_output().unwrap();
            let err = stderr(&o);
            let code = o.status.code();
            // Seconds, interrupted: under the detector's one-minute
            // minimum, so exit 2 either way; the verdict tells them apart.
            assert_eq!(code, Some(2), "{variant} run {run}: {err}");
            let (r, _) = report_json(&t, &[]);
            let verdict = r["verdict"].as_str().unwrap().to_string();
            let want = if variant == "leak" {
                "growing"
            } else {
                "incomplete"
            };
            assert_eq!(verdict, want, "{variant} run {run}: {err}");
            seen.push((variant, verdict));
            if variant == "leak" {
                let g = &r["growing"].as_array().unwrap();
                assert_eq!(g.len(), 1, "{r}");
                assert_eq!(g[0]["site"]["function"], "remember");
                assert!(g[0]["rate_low_bytes_per_s"].as_f64().unwrap() > 0.0);
                // The same trace always reads the same.
                assert_eq!(report_json(&t, &[]).0, r);
            }
        }
    }
    eprintln!("verdicts: {seen:?}");
}

#[test]
fn broken_pipe_ends_quietly_and_json_is_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.lwt");
    std::fs::write(&t, synthetic(|_| {})).unwrap();
    for args in [&["report"][..], &["report", "--json"][..]] {
        // The read end is closed before the report starts, so its first
        // write meets a broken pipe (closing it after the spawn races with
        // a report fast enough to have written everything already).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(leakwatch())
            .args(args)
            .arg(&t)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            matches!(o.status.code(), Some(0) | Some(141)),
            "{:?}: {}",
            o.status,
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let (r, _) = report_json(&t, &[]);
    assert_eq!(r["version"], 1);
    assert_eq!(r["exit_code"], 1);
}

/// Golden text and JSON reports of crafted traces (no binaries to
/// symbolize, so they are the same on every machine): a complete trace with
/// a leak, a runtime's residue and an embedded suppression; and one that
/// lost data. `UPDATE_GOLDEN=1` rewrites them.
#[test]
fn golden_reports() {
    let dir = tempfile::tempdir().unwrap();
    let complete = {
        let mut w = TraceWriter::new(VERSION, 4711);
        let mut r = Records::default();
        r.module(0x400000, &[(0, 0x10000, 5)], b"/opt/app/bin/server");
        r.module(
            0x7f00_0000_0000,
            &[(0, 0x100000, 5)],
            b"/usr/lib/libpython3.11.so.1.0",
        );
        r.module(
            0x7f10_0000_0000,
            &[(0, 0x100000, 5)],
            b"/opt/vendor/libvendor.so",
        );
        r.lsan_suppressions("leak:libvendor.so\n");
        let app = r.stack(&[0x401000, 0x402000]);
        let py = r.stack(&[0x7f00_0000_1000, 0x7f00_0000_2000]);
        let vendor = r.stack(&[0x7f10_0000_1000, 0x401500]);
        let churn = r.stack(&[0x403000]);
        let (a, p, v, c) = (
            r.class(app, 48),
            r.class(py, 1000),
            r.class(vendor, 300),
            r.class(churn, 64),
        );
        for i in 0..100u64 {
            r.alloc(c);
            if i % 10 == 0 {
                r.alloc(a);
                r.peak();
            }
            r.free(c);
            r.time(TICK_NS);
        }
        r.alloc(p);
        r.alloc(v);
        r.phase(PHASE_EXIT);
        r.phase(PHASE_RUNTIME_FINALIZE);
        r.end();
        w.chunk(&r.take());
        w.out
    };
    let cases = [("complete", complete), ("lost", growing_then_lost())];
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, data) in cases {
        let t = dir.path().join(format!("{name}.lwt"));
        std::fs::write(&t, data).unwrap();
        for (ext, args) in [("txt", &[][..]), ("json", &["--json"][..])] {
            let o = report(&t, args);
            let got = stdout(&o).replace(t.to_str().unwrap(), &format!("{name}.lwt"));
            let golden = golden_dir.join(format!("trace_report_{name}.{ext}"));
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&golden, &got).unwrap();
            }
            let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
                panic!("{} missing: run with UPDATE_GOLDEN=1", golden.display())
            });
            assert_eq!(
                got,
                want,
                "{} differs (UPDATE_GOLDEN=1 to accept)",
                golden.display()
            );
        }
    }
}

/// `leakwatch trace` with a deadline: a program that hangs under the
/// tracer fails the test instead of stalling the suite (leakwatch passes
/// the SIGTERM on, then the test kills it).
fn trace_within(dir: &Path, out: &str, cmd: &[&str], secs: u64) -> (PathBuf, Output) {
    require_preload();
    let t = dir.join(out);
    let mut child = Command::new(leakwatch())
        .current_dir(dir)
        .arg("trace")
        .arg("-o")
        .arg(&t)
        .arg("--")
        .args(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            std::thread::sleep(Duration::from_secs(3));
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not finish within {secs} s under the tracer: {}",
                stderr(&o)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (t, child.wait_with_output().unwrap())
}

/// The JVM calls `pthread_getattr_np` first thing in every thread, which
/// allocates while holding the thread's lock: the tracer must not ask for
/// the thread's stack there (it hung every `java` before). What the JVM
/// keeps at exit is its residue; a JNI library's leak is the program's.
#[test]
fn java_runs_traced_its_residue_is_not_a_leak_and_a_jni_leak_is() {
    let (Ok(javac), Ok(java)) = (which("javac"), which("java")) else {
        eprintln!("skipped: no javac/java (Debian openjdk-17-jdk-headless, see .ci/deps/where.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let status = Command::new(&javac)
        .arg("-d")
        .arg(d)
        .arg(fixture("Hello.java"))
        .arg(fixture("Leak.java"))
        .status()
        .unwrap();
    assert!(status.success(), "javac failed");
    let home = std::fs::canonicalize(&java).unwrap();
    let home = home.parent().unwrap().parent().unwrap();
    let status = Command::new("gcc")
        .args(["-O0", "-g", "-shared", "-fPIC"])
        .arg(format!("-I{}", home.join("include").display()))
        .arg(format!("-I{}", home.join("include/linux").display()))
        .arg(fixture("jnileak.c"))
        .arg("-o")
        .arg(d.join("libjnileak.so"))
        .status()
        .unwrap();
    assert!(status.success(), "gcc failed on jnileak.c");
    let java_s = java.to_str().unwrap();
    let cp = d.to_str().unwrap();

    let (t, o) = trace_within(d, "hello.lwt", &[java_s, "-cp", cp, "Hello"], 120);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "java Hello: {err}");
    assert!(stdout(&o).contains("hello 2890"), "{}", stdout(&o));
    assert!(err.contains("no leak"), "{err}");
    assert!(err.contains("runtime residue not counted"), "{err}");
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 0);
    assert_eq!(r["leaked"]["bytes"], 0);
    assert!(r["runtime_residue"]["bytes"].as_u64().unwrap() > 100_000);

    let lib_path = format!("-Djava.library.path={cp}");
    let (t, o) = trace_within(d, "leak.lwt", &[java_s, &lib_path, "-cp", cp, "Leak"], 120);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "java Leak: {err}");
    assert!(err.contains("Java_Leak_leak"), "{err}");
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["leaked"]["bytes"], 3 * 4321, "{}", r["leaked"]);
    assert_eq!(r["leaked"]["blocks"], 3);
    let site = &r["leaked"]["stacks"][0]["site"];
    assert_eq!(site["function"], "Java_Leak_leak", "{site}");
    assert_eq!(site["line"], marker_line("jnileak.c", "jni"), "{site}");
}

/// Ruby's own extension modules (encodings, transcoders) keep tables until
/// exit: residue. Memory a script asks for through Fiddle is the script's.
#[test]
fn ruby_residue_is_not_a_leak_and_a_fiddle_leak_is() {
    let Ok(ruby) = which("ruby") else {
        eprintln!("skipped: no ruby (Debian ruby, see .ci/deps/where.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ruby = ruby.to_str().unwrap();
    let (t, o) = trace_within(
        dir.path(),
        "clean.lwt",
        &[ruby, "-e", "puts 'x'.encode('UTF-16LE').bytesize"],
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("no leak"), "{err}");
    assert!(err.contains("runtime residue not counted: ruby"), "{err}");
    let (r, _) = report_json(&t, &[]);
    assert_eq!(r["leaked"]["bytes"], 0, "{}", r["leaked"]);

    let (t, o) = trace_within(
        dir.path(),
        "fiddle.lwt",
        &[ruby, "-e", "require 'fiddle'; p Fiddle.malloc(12345) > 0"],
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let (r, _) = report_json(&t, &[]);
    let leaked: Vec<u64> = r["leaked"]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["bytes"].as_u64().unwrap())
        .collect();
    assert!(leaked.contains(&12345), "{leaked:?}");
}

/// Perl's core XS modules (POSIX, List::Util, Fcntl) keep their tables
/// until exit: residue, as the interpreter's own is.
#[test]
fn perl_core_modules_residue_is_not_a_leak() {
    let Ok(perl) = which("perl") else {
        eprintln!("skipped: no perl");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let perl = perl.to_str().unwrap();
    let (t, o) = trace_within(
        dir.path(),
        "perl.lwt",
        &[
            perl,
            "-MPOSIX",
            "-MList::Util=sum",
            "-e",
            "print sum(1, 2), \"\\n\"",
        ],
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(stdout(&o).trim(), "3");
    assert!(err.contains("no leak"), "{err}");
    assert!(err.contains("runtime residue not counted: perl"), "{err}");
    let (r, _) = report_json(&t, &[]);
    assert_eq!(r["leaked"]["bytes"], 0, "{}", r["leaked"]);
}

/// node exits without freeing V8's and its own native memory, reached
/// from JavaScript (code in no module): residue. A native addon's leak is
/// the program's, named at its line.
#[test]
fn node_residue_is_not_a_leak_and_a_native_addon_leak_is() {
    let Ok(node) = which("node") else {
        eprintln!("skipped: no node (Debian nodejs)");
        return;
    };
    let node = node.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (t, o) = trace_within(
        d,
        "exit.lwt",
        &[
            node,
            "-e",
            "console.log([1, 2, 3].map(x => x * 2).join()); process.exit(0)",
        ],
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(stdout(&o).trim(), "2,4,6");
    assert!(err.contains("no leak"), "{err}");
    let (r, _) = report_json(&t, &[]);
    assert_eq!(r["leaked"]["bytes"], 0, "{}", r["leaked"]);

    let include = ["/usr/include/node", "/usr/local/include/node"]
        .into_iter()
        .find(|p| Path::new(p).join("node_api.h").is_file());
    let Some(include) = include else {
        eprintln!("skipped the addon half: no node_api.h (Debian libnode-dev)");
        return;
    };
    let addon = d.join("napileak.node");
    let status = Command::new("gcc")
        .args(["-O0", "-g", "-shared", "-fPIC"])
        .arg(format!("-I{include}"))
        .arg(fixture("napileak.c"))
        .arg("-o")
        .arg(&addon)
        .status()
        .unwrap();
    assert!(status.success(), "gcc failed on napileak.c");
    let script = format!(
        "require({:?}).leak(3); process.exit(0)",
        addon.to_str().unwrap()
    );
    let (t, o) = trace_within(d, "addon.lwt", &[node, "-e", &script], 60);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let (r, _) = report_json(&t, &[]);
    // The leak first; then what the addon's init registered with node
    // (its function objects' handles), also the addon's code.
    let top = &r["leaked"]["stacks"][0];
    assert_eq!(top["bytes"], 3 * 2345, "{top}");
    assert_eq!(top["blocks"], 3, "{top}");
    let site = &top["site"];
    assert_eq!(site["function"], "leak", "{site}");
    assert_eq!(site["line"], marker_line("napileak.c", "addon"), "{site}");
}

/// Function names outside ASCII (`köp`, `Größe`): the report names them
/// and counts their leaks (a byte index inside `ö` used to panic, exit 101).
#[test]
fn functions_named_outside_ascii_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "g++",
        "utf8names.cpp",
        "utf8names",
        &["-O1", "-g"],
    );
    let (t, o) = trace(dir.path(), "u.lwt", &[], &[exe.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (r, code) = report_json(&t, &[]);
    assert_eq!(code, 1);
    let leaked = entries(&r["leaked"]);
    let kop = marker_line("utf8names.cpp", "köp");
    let neue = marker_line("utf8names.cpp", "neue_größe");
    assert!(
        leaked.contains(&("köp(int)".into(), kop, 4242, 1)),
        "{leaked:?}"
    );
    assert!(
        leaked
            .iter()
            .any(|(f, line, bytes, blocks)| f.starts_with("neue_größe")
                && *line == neue
                && *bytes == 8
                && *blocks == 1),
        "{leaked:?}"
    );
    let text = report(&t, &[]);
    assert_eq!(text.status.code(), Some(1));
    assert!(stdout(&text).contains("köp"), "{}", stdout(&text));
}

/// Python functions and classes named outside ASCII (`läck`,
/// `Kassenbuch.größe`), in a directory named so too: every Python version
/// the tracer reads (3.8-3.13: two object layouts) names them; they used
/// to read `?`.
#[test]
fn python_names_outside_ascii_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("prüfung");
    std::fs::create_dir(&sub).unwrap();
    let script = sub.join("unicode_names.py");
    std::fs::copy(fixture("unicode_names.py"), &script).unwrap();
    for py in pythons() {
        let py_s = py.to_str().unwrap();
        let (t, o) = trace(dir.path(), "u.lwt", &[], &[py_s, script.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{py_s}: {}", stderr(&o));
        let (r, _) = report_json(&t, &[]);
        let mut python_frames: Vec<(String, String)> = Vec::new();
        for s in r["leaked"]["stacks"].as_array().unwrap() {
            for f in s["frames"].as_array().unwrap() {
                if f["module"] == "python" {
                    python_frames.push((
                        f["function"].as_str().unwrap().to_owned(),
                        f["file"].as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
        }
        let file = script.to_str().unwrap();
        // Qualified names from 3.11 on (`co_qualname`), plain before.
        for name in ["läck", "größe"] {
            assert!(
                python_frames
                    .iter()
                    .any(|(f, p)| (f == name || f == &format!("Kassenbuch.{name}")) && p == file),
                "{py_s}: no {name} at {file}: {python_frames:?}"
            );
        }
        assert!(
            python_frames.iter().all(|(f, _)| f != "?"),
            "{py_s}: {python_frames:?}"
        );
    }
}

/// `--top 0` is refused with the reason and the fix, before any reading
/// (it used to list one stack per section anyway: hunt 4, case 18b).
#[test]
fn top_zero_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.lwt");
    std::fs::write(&t, synthetic(|_| {})).unwrap();
    let o = report(&t, &["--top", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("0 would list no call stack") && stderr(&o).contains("give 1 or more"),
        "{}",
        stderr(&o)
    );
    let o = report(&t, &["--top", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

/// A library loaded by a relative path (`dlopen("./librelplug.so")`, the
/// loader keeps the path as given) is symbolized: from the directory the
/// report runs in, and from the trace's directory when it runs elsewhere
/// (hunt 4, case 04: the leak was `0x1147 in libplug.so`).
#[test]
fn a_library_loaded_by_a_relative_path_is_symbolized() {
    let dir = tempfile::tempdir().unwrap();
    build(
        dir.path(),
        "gcc",
        "relplug.c",
        "librelplug.so",
        &["-g", "-O0", "-shared", "-fPIC"],
    );
    let exe = build(
        dir.path(),
        "gcc",
        "relplug_main.c",
        "relplug",
        &["-g", "-O0"],
    );
    let line = marker_line("relplug.c", "plug_leak");
    let (t, o) = trace(dir.path(), "rel.lwt", &[], &[exe.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // The summary after `trace` runs in the program's directory.
    assert!(
        err.contains(&format!(
            "largest from plug_leak at {}",
            fixture("relplug.c").display()
        )) && err.contains(&format!("relplug.c:{line}")),
        "{err}"
    );
    // `report` from another directory finds it beside the trace.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = Command::new(leakwatch())
        .current_dir(elsewhere.path())
        .arg("report")
        .arg(&t)
        .args(["--json"])
        .env_remove("LSAN_OPTIONS")
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let e = entries(&v["leaked"]);
    assert_eq!(e[0], ("plug_leak".to_string(), line, 8642, 2), "{e:?}");
    // Another library of that name where the report runs, with other
    // segments, is not read in its place.
    std::fs::copy("/bin/true", elsewhere.path().join("librelplug.so")).unwrap();
    let moved = elsewhere.path().join("moved.lwt");
    std::fs::copy(&t, &moved).unwrap();
    let (v, _) = {
        let o = Command::new(leakwatch())
            .current_dir(elsewhere.path())
            .args(["report", "--json", "moved.lwt"])
            .output()
            .unwrap();
        (serde_json::from_str::<Value>(&stdout(&o)).unwrap(), o)
    };
    let site = &v["leaked"]["stacks"][0]["site"];
    assert!(
        site["function"]
            .as_str()
            .is_some_and(|f| f.starts_with("0x")),
        "{site}"
    );
}

/// Each pprof sample's function names, innermost first (a location's
/// inlined lines included).
fn pprof_stacks(pb: &Path) -> Vec<(i64, Vec<String>)> {
    let p = leakwatch_trace::export::read_pprof(&std::fs::read(pb).unwrap()).unwrap();
    let name = |fid: u64| {
        let f = p.function.iter().find(|f| f.id == fid).unwrap();
        p.string_table[f.name as usize].clone()
    };
    p.sample
        .iter()
        .map(|s| {
            let names = s
                .location_id
                .iter()
                .flat_map(|id| &p.location.iter().find(|l| l.id == *id).unwrap().line)
                .map(|l| name(l.function_id))
                .collect();
            (s.value[3], names)
        })
        .collect()
}

/// The pprof profile cuts stacks as the text and JSON do, frame by frame:
/// the allocator's frames inlined into the first frame shown
/// (`std::__new_allocator::allocate`, `std::allocator_traits::allocate`
/// under `std::make_shared`) are cut too, not kept because they share an
/// address with it; `--full-stacks` keeps everything in both (hunt 4,
/// "Frames left unnamed or unhidden").
#[test]
fn pprof_stacks_are_cut_as_the_text_cuts_them() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "g++",
        "partners.cpp",
        "partners",
        &["-O2", "-g"],
    );
    let (t, o) = trace(
        dir.path(),
        "p.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for full in [false, true] {
        let flag: &[&str] = if full { &["--full-stacks"] } else { &[] };
        let (r, _) = report_json(&t, flag);
        let mut text_stacks: Vec<Vec<String>> = r["leaked"]["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e["frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["function"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        let pb = dir.path().join(format!("p-{full}.pb.gz"));
        let mut args = vec!["--pprof", pb.to_str().unwrap()];
        args.extend_from_slice(flag);
        let o = report(&t, &args);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        // The leaked stacks (every one through link_partners; the profile
        // has one sample per recorded stack, the report merges those that
        // symbolize alike).
        let mut pprof_leaked: Vec<Vec<String>> = pprof_stacks(&pb)
            .into_iter()
            .filter(|(inuse, names)| *inuse > 0 && names.iter().any(|n| n == "link_partners"))
            .map(|(_, names)| names)
            .collect();
        // By function names: the two stacks differ only in their lines.
        text_stacks.sort();
        text_stacks.dedup();
        pprof_leaked.sort();
        pprof_leaked.dedup();
        assert_eq!(pprof_leaked, text_stacks, "--full-stacks {full}");
        let allocator_shown = text_stacks
            .iter()
            .flatten()
            .any(|n| n.contains("std::__new_allocator<") || n.contains("std::allocator_traits<"));
        assert_eq!(allocator_shown, full, "{text_stacks:?}");
        // As Go's pprof reads it (CI installs Go).
        match Command::new("go")
            .args(["tool", "pprof", "-traces", "-sample_index=inuse_space"])
            .arg(&pb)
            .output()
        {
            Ok(o) => {
                let traces = String::from_utf8_lossy(&o.stdout);
                assert!(o.status.success(), "go tool pprof: {}", stderr(&o));
                assert!(traces.contains("link_partners"), "{traces}");
                assert_eq!(
                    traces.contains("std::__new_allocator::allocate"),
                    full,
                    "{traces}"
                );
                assert_eq!(traces.contains("__libc_start"), full, "{traces}");
            }
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("CI must run `go tool pprof` on the export: {e}")
            }
            Err(_) => eprintln!("go not installed: skipped the go tool pprof cross-check"),
        }
    }
}
