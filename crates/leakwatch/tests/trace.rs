//! `leakwatch trace` and `leakwatch report` on real programs compiled here
//! (gcc, g++, rustc): planted leaks must be named with their function, line,
//! exact bytes and block count; clean programs must show no leak; a server
//! that never exits must show its one growing site.
//!
//! The tracer library must sit next to the leakwatch binary: `cargo test
//! --workspace` builds it (or `cargo build -p leakwatch-preload`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

fn leakwatch() -> PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/trace")
        .join(name)
}

fn require_preload() {
    common::preload_library();
}

/// Compiles fixture `src` with `compiler` into `dir/out`.
fn build(dir: &Path, compiler: &str, src: &str, out: &str, flags: &[&str]) -> PathBuf {
    let exe = dir.join(out);
    common::compile(compiler, &fixture(src), &exe, flags, &[]);
    exe
}

/// The line of fixture `src` carrying the marker `LEAK(name)`.
fn marker_line(src: &str, name: &str) -> u64 {
    common::marker_line_in(&fixture(src), name)
}

fn run_trace(dir: &Path, out: &str, extra: &[&str], cmd: &[&str]) -> (PathBuf, Output) {
    require_preload();
    let trace = dir.join(out);
    let output = Command::new(leakwatch())
        .current_dir(dir)
        .arg("trace")
        .arg("--out")
        .arg(&trace)
        .args(extra)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    (trace, output)
}

fn report_json(trace: &Path) -> (Value, i32) {
    let out = Command::new(leakwatch())
        .arg("report")
        .arg("--json")
        .arg(trace)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "report --json is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

/// The leaked-at-exit (or live-at-end) entries as (site function, site line, bytes, blocks).
fn entries(group: &Value) -> Vec<(String, u64, u64, u64)> {
    group["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["site"]["function"].as_str().unwrap_or("").to_string(),
                e["site"]["line"].as_u64().unwrap_or(0),
                e["bytes"].as_u64().unwrap(),
                e["blocks"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn c_program_planted_leaks_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    // -O2 without frame pointers: the unwinder must use DWARF CFI.
    let exe = build(
        dir.path(),
        "gcc",
        "leaky.c",
        "leaky",
        &["-O2", "-g", "-fomit-frame-pointer", "-pthread"],
    );
    let (trace, out) = run_trace(dir.path(), "leaky.lwt", &[], &[exe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "trace: {}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("leaky done"));
    let err = stderr(&out);
    assert!(err.contains("LEAK: 12489 bytes in 12 blocks"), "{err}");
    assert!(err.contains("next: leakwatch report"), "{err}");

    let (r, code) = report_json(&trace);
    assert_eq!(code, 1);
    assert_eq!(r["exited"], true);
    let leaked = &r["leaked"];
    let expected = [
        ("leak_aligned", 4444, 1),
        ("leak_direct", 3333, 3),
        ("leak_realloc_chain", 2222, 1),
        ("leak_calloc", 777, 1),
        ("inlined_leak", 666, 1),
        ("deep_leak", 555, 1),
        ("thread_leak", 492, 4),
    ];
    let got = entries(leaked);
    let want: Vec<(String, u64, u64, u64)> = expected
        .iter()
        .map(|&(f, b, n)| (f.to_string(), marker_line("leaky.c", f), b, n))
        .collect();
    assert_eq!(got, want, "leaked at exit, most bytes first");
    assert_eq!(leaked["bytes"], 12489);
    assert_eq!(leaked["blocks"], 12);

    let stacks = leaked["stacks"].as_array().unwrap();
    // The inlined function is reported inlined into its caller.
    let inl = stacks
        .iter()
        .find(|e| e["site"]["function"] == "inlined_leak")
        .unwrap();
    assert_eq!(inl["frames"][0]["inlined"], true);
    assert_eq!(inl["frames"][1]["function"], "calls_inlined");
    // The deep recursion is unwound all the way (41 deep_leak frames + main).
    let deep = stacks
        .iter()
        .find(|e| e["site"]["function"] == "deep_leak")
        .unwrap();
    let frames = deep["frames"].as_array().unwrap();
    assert_eq!(
        frames
            .iter()
            .filter(|f| f["function"] == "deep_leak")
            .count(),
        41
    );
    assert!(frames.iter().any(|f| f["function"] == "main"));
    let th = stacks
        .iter()
        .find(|e| e["site"]["function"] == "thread_leak")
        .unwrap();
    assert_eq!(th["frames"][1]["function"], "worker");

    let svg = dir.path().join("leaks.svg");
    let pb = dir.path().join("leaks.pb.gz");
    let text = Command::new(leakwatch())
        .arg("report")
        .arg(&trace)
        .arg("--flamegraph")
        .arg(&svg)
        .arg("--pprof")
        .arg(&pb)
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("LEAKED AT EXIT: 12489 bytes in 12 blocks"),
        "{text}"
    );
    check_exports(&svg, &pb);
    assert!(
        text.contains(&format!(
            "leak_direct at {}:{}",
            fixture("leaky.c").display(),
            marker_line("leaky.c", "leak_direct")
        )),
        "{text}"
    );
}

/// The flamegraph and pprof profile of leaky.c's trace.
fn check_exports(svg: &Path, pb: &Path) {
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<?xml"), "not an SVG");
    let line = marker_line("leaky.c", "leak_direct");
    assert!(
        svg.contains(&format!("leak_direct (leaky.c:{line})")),
        "flamegraph lacks the leak"
    );
    assert!(
        svg.contains("3,333 bytes"),
        "flamegraph lacks the byte count"
    );

    let profile = leakwatch_trace::export::read_pprof(&std::fs::read(pb).unwrap()).unwrap();
    let types: Vec<&str> = profile
        .sample_type
        .iter()
        .map(|t| profile.string_table[t.r#type as usize].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    let inuse: i64 = profile.sample.iter().map(|s| s.value[3]).sum();
    assert_eq!(inuse, 12489);
    let allocs: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert!(allocs > 8000, "{allocs}");
    // As in the text report: nothing below main (the C library's start-up,
    // the tracer's wrapper of main), no allocator entry frame.
    let names: Vec<&str> = profile
        .function
        .iter()
        .map(|f| profile.string_table[f.name as usize].as_str())
        .collect();
    assert!(names.contains(&"main"), "{names:?}");
    for below in ["traced_main", "__libc_start_main", "_start", "malloc"] {
        assert!(
            !names.iter().any(|n| n.ends_with(below)),
            "{below} in {names:?}"
        );
    }
    assert!(!svg.contains("__libc_start") && !svg.contains("traced_main"));

    // Cross-check with Go's own pprof reader when Go is installed
    // (.ci/deps/trace.sh installs it).
    match Command::new("go")
        .args(["tool", "pprof", "-top", "-sample_index=inuse_space"])
        .arg(pb)
        .output()
    {
        Ok(o) => {
            let top = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success(), "go tool pprof failed: {}", stderr(&o));
            assert!(top.contains("Total samples = 12489B"), "{top}");
            assert!(
                top.contains("4444B") && top.contains("leak_aligned"),
                "{top}"
            );
        }
        // CI installs Go (.ci/deps/trace.sh, cli.sh): there the consumer
        // test must run, never be skipped.
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI must run `go tool pprof` on the export: {e}")
        }
        Err(_) => eprintln!("go not installed: skipped the go tool pprof cross-check"),
    }
}

/// Blocks freed by other threads than the ones that allocated them, with
/// addresses reused across threads at once: the tracer's writer must pair
/// every free with the right allocation (in the events' order across the
/// threads' buffers), and the peak must be the true one (at most the
/// queue's 1000 blocks of at most 299 bytes, plus a few in flight), not a
/// sum of the threads' records grouped per tick. Also with the CPUs' clocks
/// made to disagree by 20 µs per CPU (as a restored virtual machine's vCPUs
/// can: CI once saw 130 blocks reported leaked when the order came from the
/// clock; ordered by the clock, 4 of 5 such runs were wrong).
#[test]
fn cross_thread_frees_pair_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "handoff.c",
        "handoff",
        &["-O2", "-g", "-pthread"],
    );
    for skew in ["0", "20000"] {
        require_preload();
        let trace = dir.path().join(format!("handoff-{skew}.lwt"));
        let out = Command::new(leakwatch())
            .current_dir(dir.path())
            .env("LEAKWATCH_CPU_CLOCK_SKEW_NS", skew)
            .args(["trace", "--no-summary", "--out"])
            .arg(&trace)
            .arg("--")
            .arg(&exe)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (r, _) = report_json(&trace);
        assert_eq!(
            entries(&r["leaked"]),
            vec![(
                "main".into(),
                marker_line("handoff.c", "handoff"),
                5 * 777,
                5
            )],
            "clock skew {skew} ns per CPU"
        );
        // The program's 300005, plus a few from the C runtime (threads,
        // stdio).
        let allocs = r["allocations"].as_u64().unwrap();
        assert!((300_005..300_100).contains(&allocs), "{allocs}");
        let peak = r["peak"]["bytes"].as_u64().unwrap();
        assert!(peak <= 1010 * 299 + 2 * 777, "peak {peak} (skew {skew})");
    }
}

#[test]
fn c_program_that_frees_everything_has_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "clean.c",
        "clean",
        &["-O2", "-g", "-pthread"],
    );
    let (trace, out) = run_trace(dir.path(), "clean.lwt", &[], &[exe.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("no leak: every allocation"), "{err}");
    let (r, code) = report_json(&trace);
    assert_eq!(code, 0);
    assert_eq!(r["leaked"]["bytes"], 0);
    assert_eq!(r["growing"].as_array().unwrap().len(), 0);
    assert!(
        r["allocations"].as_u64().unwrap() > 20_000,
        "{}",
        r["allocations"]
    );
    assert_eq!(r["allocations"], r["frees"]);
    let text = Command::new(leakwatch())
        .arg("report")
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&text.stdout).contains("verdict: no leak"));
}

#[test]
fn cpp_program_new_leaks_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "g++",
        "leaky.cpp",
        "leakycpp",
        &["-O2", "-g", "-pthread"],
    );
    let (trace, out) = run_trace(
        dir.path(),
        "cpp.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (r, code) = report_json(&trace);
    assert_eq!(code, 1);
    // Containers, threads and the exception are all freed; libstdc++'s own
    // emergency pool is released at exit: only the two planted leaks remain.
    let want = vec![
        (
            "leak_array()".to_string(),
            marker_line("leaky.cpp", "leak_array"),
            77 * 4,
            1,
        ),
        (
            "make_widget()".to_string(),
            marker_line("leaky.cpp", "make_widget"),
            240,
            1,
        ),
    ];
    assert_eq!(entries(&r["leaked"]), want);
}

#[test]
fn rust_program_leak_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "rustc", "leaky.rs", "leakyrs", &["-O", "-g"]);
    let (trace, out) = run_trace(
        dir.path(),
        "rs.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (r, _) = report_json(&trace);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "leaky::leaky_rust".to_string(),
            marker_line("leaky.rs", "leaky_rust"),
            3000,
            1
        )],
        "only the planted leak is counted"
    );
    // What the Rust runtime keeps until exit (the main thread's info
    // block) is its residue, named by its std function, not counted.
    if let Some(residue) = r["runtime_residue"].as_object() {
        for e in residue["stacks"].as_array().unwrap() {
            let site = e["site"]["function"].as_str().unwrap_or("");
            assert!(site.starts_with("std::"), "unexpected residue {e}");
        }
    }
}

#[test]
fn fork_child_untraced_or_followed() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "forker.c", "forker", &["-O2", "-g"]);
    let exe = exe.to_str().unwrap();

    // Without --follow-fork the child runs untraced and writes nothing.
    let (trace, out) = run_trace(dir.path(), "fork.lwt", &["--no-summary"], &[exe]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (r, _) = report_json(&trace);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "parent_leak".into(),
            marker_line("forker.c", "parent_leak"),
            654,
            1
        )]
    );
    let others: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("fork.lwt."))
        .collect();
    assert!(others.is_empty(), "untraced child wrote a trace");

    // With it, the child writes <out>.<pid> with its own leak.
    let (trace, out) = run_trace(
        dir.path(),
        "fork2.lwt",
        &["--follow-fork", "--no-summary"],
        &[exe],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("child process traces"), "{err}");
    let (r, _) = report_json(&trace);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "parent_leak".into(),
            marker_line("forker.c", "parent_leak"),
            654,
            1
        )]
    );
    let children: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fork2.lwt.")
        })
        .collect();
    assert_eq!(children.len(), 1, "{children:?}");
    let (c, code) = report_json(&children[0]);
    assert_eq!(code, 1);
    assert_eq!(
        entries(&c["leaked"]),
        vec![(
            "child_leak".into(),
            marker_line("forker.c", "child_leak"),
            321,
            1
        )]
    );
}

/// A followed child that forks and then execs (`bash -c 'prog; ...'`): the
/// new image takes over the file the child wrote between fork and exec
/// (it used to find `FILE.<pid>` taken and run untraced, its leak lost).
#[test]
fn followed_child_that_execs_after_fork_is_traced() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "forker.c", "forker", &["-O2", "-g"]);
    let script = format!("{}; true", exe.display());
    let (_, out) = run_trace(
        dir.path(),
        "sh.lwt",
        &["--follow-fork", "--no-summary"],
        &["bash", "-c", &script],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("sh.lwt.") {
            continue;
        }
        let (r, _) = report_json(&e.path());
        assert_eq!(r["complete"], true, "{name}: {r}");
        found.extend(entries(&r["leaked"]).into_iter().map(|e| (e.0, e.2)));
    }
    found.sort();
    // forker (exec'd in bash's child) and forker's own child.
    assert_eq!(
        found,
        vec![
            ("child_leak".to_string(), 321),
            ("parent_leak".to_string(), 654)
        ],
        "{}",
        stderr(&out)
    );
}

/// Without --follow-fork, a child that execs gets the environment it would
/// have had without the tracer (the user's own LD_PRELOAD and PYTHONMALLOC
/// kept, leakwatch's removed) and its children do not load the tracer;
/// the traced program itself, and what it execs in place, keep them.
#[test]
fn untraced_children_get_the_environment_they_would_have_had() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        "env > child.env; sh -c 'cat /proc/self/maps' > grandchild.maps; exec env > self.env";
    let user_preload = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("libm");
    for (preload, pymalloc) in [(None, None), (Some(user_preload), Some("debug"))] {
        require_preload();
        let mut cmd = Command::new(leakwatch());
        cmd.current_dir(dir.path())
            .args([
                "trace",
                "--no-summary",
                "--out",
                "e.lwt",
                "--",
                "sh",
                "-c",
                script,
            ])
            .env_remove("LD_PRELOAD")
            .env_remove("PYTHONMALLOC");
        if let Some(p) = preload {
            cmd.env("LD_PRELOAD", p);
        }
        if let Some(m) = pymalloc {
            cmd.env("PYTHONMALLOC", m);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        let var = |env: &str, name: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
        };
        let child = read("child.env");
        assert_eq!(var(&child, "LD_PRELOAD").as_deref(), preload, "{child}");
        assert_eq!(var(&child, "PYTHONMALLOC").as_deref(), pymalloc, "{child}");
        for name in [
            "LEAKWATCH_TRACE_FILE",
            "LEAKWATCH_FOLLOW_FORK",
            "LEAKWATCH_PYTHONMALLOC_ADDED",
        ] {
            assert_eq!(var(&child, name), None, "{child}");
        }
        let maps = read("grandchild.maps");
        assert!(!maps.contains("libleakwatch_preload"), "{maps}");
        // The traced image (exec'd in place) keeps what hands the trace on.
        let traced = read("self.env");
        assert!(var(&traced, "LEAKWATCH_TRACE_FILE").is_some(), "{traced}");
        assert!(
            var(&traced, "LD_PRELOAD").is_some_and(|v| v.contains("libleakwatch_preload")),
            "{traced}"
        );
        std::fs::remove_file(dir.path().join("e.lwt")).unwrap();
    }
}

/// A daemon that forks away from the program outlives it: the program's
/// "no leak" is not the daemon's, so the run says the daemon is still
/// running, where its trace is, and exits 2; its trace, once it ends,
/// holds its leak.
#[test]
fn followed_daemon_still_running_is_named_not_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "daemonizes.c",
        "daemonizes",
        &["-O1", "-g"],
    );
    let (_, out) = run_trace(
        dir.path(),
        "d.lwt",
        &["--follow-fork"],
        &[exe.to_str().unwrap(), "20"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The intermediate child (fork, setsid, fork) may be caught alive too:
    // the daemon is one of the processes named.
    let named: Vec<(u32, PathBuf)> = err
        .lines()
        .filter(|l| l.contains("is still running"))
        .map(|line| {
            let pid: u32 = line
                .split_whitespace()
                .nth(3)
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("{line}"));
            let trace = dir.path().join(format!("d.lwt.{pid}"));
            assert!(line.contains(&trace.display().to_string()), "{line}");
            (pid, trace)
        })
        .collect();
    assert!(!named.is_empty(), "no running descendant named: {err}");
    // Once it ends, its trace holds its leak.
    let mut leaking = Vec::new();
    for (pid, trace) in &named {
        for _ in 0..200 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let (r, code) = report_json(trace);
        if code == 1 {
            leaking.push(r);
        }
    }
    assert_eq!(leaking.len(), 1, "{err}");
    let (_, line, bytes, blocks) = entries(&leaking[0]["leaked"])[0].clone();
    assert_eq!(line, marker_line("daemonizes.c", "daemon_leak"));
    assert_eq!((bytes, blocks), (20 * 64 * 1024, 20));
}

#[test]
fn dlopened_and_dlclosed_plugin_leak_is_symbolized() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = build(
        dir.path(),
        "gcc",
        "plugin.c",
        "libplugin.so",
        &["-O2", "-g", "-shared", "-fPIC"],
    );
    let exe = build(
        dir.path(),
        "gcc",
        "loader.c",
        "loader",
        &["-O2", "-g", "-ldl"],
    );
    let (trace, out) = run_trace(
        dir.path(),
        "dl.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap(), plugin.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loader done"));
    let (r, _) = report_json(&trace);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "plugin_leak".into(),
            marker_line("plugin.c", "plugin_leak"),
            999,
            1
        )]
    );
    assert_eq!(r["leaked"]["stacks"][0]["site"]["module"], "libplugin.so");
}

/// Children of `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[test]
fn never_exiting_server_shows_only_its_growing_site_after_kill() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "server.c", "server", &["-O2", "-g"]);
    let trace = dir.path().join("server.lwt");
    let lw = Command::new(leakwatch())
        .arg("trace")
        .arg("--out")
        .arg(&trace)
        .arg("--")
        .arg(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let server = loop {
        if let Some(&pid) = children_of(lw.id()).first() {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_secs(8));
    let killed = Command::new("kill")
        .arg("-KILL")
        .arg(server.to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let out = lw.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(err.contains("killed by signal 9"), "{err}");
    assert!(err.contains("did not exit normally"), "{err}");
    // Killed mid-run, the trace is still readable up to the last flush.
    // Eight seconds are under the detector's one-minute minimum: the site
    // is named, "growing", not yet called a leak (exit 2).
    let (r, code) = report_json(&trace);
    assert_eq!(code, 2, "{r}");
    assert_eq!(r["verdict"], "growing");
    assert!(err.contains("GROWING, not yet called a leak"), "{err}");
    assert_eq!(r["exited"], false);
    assert!(r["leaked"].is_null());
    assert!(r["duration_s"].as_f64().unwrap() > 6.0);
    let growing = r["growing"].as_array().unwrap();
    let sites: Vec<(&str, u64)> = growing
        .iter()
        .map(|g| {
            (
                g["site"]["function"].as_str().unwrap(),
                g["site"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sites,
        vec![("leak_slowly", marker_line("server.c", "leak_slowly"))],
        "exactly the leaking site grows; churn and the bounded cache do not"
    );
    // The live bytes at the end match 64-byte nodes, one per 4 requests.
    let live = growing[0]["live_bytes"].as_u64().unwrap();
    assert_eq!(live % 64, 0);
    assert!(growing[0]["rate_low_bytes_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_input_gives_clear_errors() {
    require_preload();
    let dir = tempfile::tempdir().unwrap();
    let lw = || Command::new(leakwatch());

    let o = lw()
        .args(["trace", "--", "definitely-not-a-command-xyz"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("command not found: definitely-not-a-command-xyz"));

    let o = lw().args(["trace"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "missing command is a usage error");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just text\n").unwrap();
    let o = lw().arg("trace").arg("--").arg(&text).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not an ELF executable"),
        "{}",
        stderr(&o)
    );

    // A static Go program (no cgo): Go's heap is not malloc; the error
    // says what to run instead.
    if let Ok(go) = which("go") {
        let src = dir.path().join("gostatic");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("go.mod"), "module gostatic\ngo 1.19\n").unwrap();
        std::fs::write(
            src.join("main.go"),
            "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hi\") }\n",
        )
        .unwrap();
        let built = Command::new(go)
            .args(["build", "-o", "gostatic", "."])
            .current_dir(&src)
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", dir.path().join("gocache"))
            .status()
            .unwrap();
        assert!(built.success(), "go build failed");
        let o = lw()
            .arg("trace")
            .arg("--")
            .arg(src.join("gostatic"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert!(err.contains("statically linked Go program"), "{err}");
        assert!(err.contains("leakwatch where"), "{err}");
    }

    let o = lw().arg("report").arg(&text).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a leakwatch trace"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"));

    let o = lw()
        .arg("report")
        .arg(dir.path().join("missing.lwt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot open trace"));

    // A real trace cut in the middle (as when killed mid-write) reads up to
    // the cut; the exit record is lost with the rest.
    let exe = build(
        dir.path(),
        "gcc",
        "clean.c",
        "clean",
        &["-O2", "-g", "-pthread"],
    );
    let (trace, _) = run_trace(
        dir.path(),
        "t.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    let data = std::fs::read(&trace).unwrap();
    let cut = dir.path().join("cut.lwt");
    let mut at = 40;
    let cut_at = loop {
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap()) as usize;
        if at + 12 + len >= data.len() / 2 {
            break at + 12 + len / 2; // inside this chunk's payload
        }
        at += 12 + len;
    };
    std::fs::write(&cut, &data[..cut_at]).unwrap();
    let o = lw().arg("report").arg(&cut).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("partial chunk at byte"), "{out}{}", stderr(&o));
    assert!(out.contains("INCOMPLETE"), "{out}");
    assert_eq!(o.status.code(), Some(2), "cut data is never \"no leak\"");

    // Damage inside a chunk's compressed payload: a typed error naming the
    // offset.
    let mut bad = data.clone();
    for b in &mut bad[52..68] {
        *b = 0xff;
    }
    let badp = dir.path().join("bad.lwt");
    std::fs::write(&badp, &bad).unwrap();
    let o = lw().arg("report").arg(&badp).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("corrupt trace at byte offset"),
        "{}",
        stderr(&o)
    );

    let short = dir.path().join("short.lwt");
    std::fs::write(&short, &data[..20]).unwrap();
    let o = lw().arg("report").arg(&short).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("too short"), "{}", stderr(&o));
}

#[test]
fn sampling_scales_estimates_and_keeps_large_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "leaky.c",
        "leaky",
        &["-O2", "-g", "-pthread"],
    );
    let exe = exe.to_str().unwrap();
    let (full, _) = run_trace(dir.path(), "full.lwt", &["--no-summary"], &[exe]);
    let (sampled, out) = run_trace(
        dir.path(),
        "sampled.lwt",
        &["--no-summary", "--sample-every", "64"],
        &[exe],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (f, _) = report_json(&full);
    let (s, code) = report_json(&sampled);
    assert_eq!(code, 1);
    assert_eq!(s["trace"]["sample_every_bytes"], 64);
    // Fewer events recorded...
    assert!(
        s["allocations"].as_u64().unwrap() < f["allocations"].as_u64().unwrap(),
        "sampled {} vs full {}",
        s["allocations"],
        f["allocations"]
    );
    // ...but a block 17 times the mean gap is sampled with probability
    // 1 - e^-17 and its estimate is its size.
    let direct = entries(&s["leaked"])
        .into_iter()
        .find(|e| e.0 == "leak_direct")
        .unwrap();
    assert_eq!((direct.2, direct.3), (3333, 3));
    let text = Command::new(leakwatch())
        .arg("report")
        .arg(&sampled)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("sizes are estimates"));

    let o = Command::new(leakwatch())
        .args(["trace", "--sample-every", "lots", "--", exe])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a size"), "{}", stderr(&o));
}

#[test]
fn exec_hands_the_trace_to_the_new_image() {
    // A wrapper shell that execs the real program (as scripts and shims
    // do): the program that ends up running is the one traced.
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "forker.c", "forker", &["-O2", "-g"]);
    let script = format!("exec {}", exe.display());
    let (trace, out) = run_trace(
        dir.path(),
        "exec.lwt",
        &["--no-summary"],
        &["sh", "-c", &script],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("forker done"));
    let (r, _) = report_json(&trace);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "parent_leak".into(),
            marker_line("forker.c", "parent_leak"),
            654,
            1
        )]
    );
}

/// (bytes, blocks, first three functions) of each leaked stack.
fn leaked_paths(r: &Value) -> Vec<(u64, u64, Vec<String>)> {
    let mut v: Vec<_> = r["leaked"]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let frames = e["frames"].as_array().unwrap();
            (
                e["bytes"].as_u64().unwrap(),
                e["blocks"].as_u64().unwrap(),
                frames
                    .iter()
                    .take(3)
                    .map(|f| f["function"].as_str().unwrap_or("").to_string())
                    .collect(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn memoized_unwinds_tell_apart_callers_at_the_same_depth() {
    let dir = tempfile::tempdir().unwrap();
    let n: u64 = 3000;
    let want =
        |a: &str, b: &str| -> Vec<String> { vec!["leaf".into(), a.to_string(), b.to_string()] };
    let mut expected = vec![
        // via_a leaks when i % 3 == 0, via_b when i % 5 == 0 (24 bytes);
        // mid leaks for top_a when i % 4 == 0, for top_b when i % 6 == 0 (40 bytes).
        (24 * n.div_ceil(3), n.div_ceil(3), want("via_a", "main")),
        (24 * n.div_ceil(5), n.div_ceil(5), want("via_b", "main")),
        (40 * n.div_ceil(4), n.div_ceil(4), want("mid", "top_a")),
        (40 * n.div_ceil(6), n.div_ceil(6), want("mid", "top_b")),
    ];
    expected.sort();
    for flags in ["-fomit-frame-pointer", "-fno-omit-frame-pointer"] {
        let exe = build(
            dir.path(),
            "gcc",
            "same_depth.c",
            "same_depth",
            &["-O2", "-g", flags],
        );
        let trace = dir.path().join("same_depth.lwt");
        let out = Command::new(leakwatch())
            .current_dir(dir.path())
            .env("LEAKWATCH_STATS", "1")
            .args(["trace", "--no-summary", "--out"])
            .arg(&trace)
            .arg("--")
            .arg(&exe)
            .arg(n.to_string())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        // The memo must actually answer most frames, or this test would
        // not be testing it.
        let err = stderr(&out);
        let stats = err
            .lines()
            .find_map(|l| l.strip_prefix("leakwatch-preload: frames: "))
            .unwrap_or_else(|| panic!("no memo statistics in: {err}"));
        let nums: Vec<u64> = stats
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        let (reused, unwound) = (nums[0], nums[1]);
        // The writer's look-ahead parses every record kind as refill does.
        assert!(
            err.contains(" 0 look-ahead desyncs"),
            "{flags}: look-ahead lost its place: {err}"
        );
        // Each capture comes from another caller than the previous one:
        // only the frames that differ (3 or 4 of 8) are unwound, the rest
        // reused.
        let captures = 4 * n;
        assert!(
            reused >= captures && unwound < 4 * captures,
            "{flags}: memo mostly missed ({stats})"
        );
        let (r, code) = report_json(&trace);
        assert_eq!(code, 1);
        assert_eq!(leaked_paths(&r), expected, "{flags}");
    }
}

/// A ring's node ids start again after a limit (so the writer's map of
/// them stays bounded on a program that runs for ever): with the limit
/// set low the program's ids start again dozens of times, and the report
/// is the same as without.
#[test]
fn node_ids_started_again_name_the_same_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "many_paths.c",
        "many_paths",
        &["-O2", "-g"],
    );
    let mut reports = Vec::new();
    for limit in [None, Some("64")] {
        let trace = dir
            .path()
            .join(format!("paths-{}.lwt", limit.unwrap_or("none")));
        let mut cmd = Command::new(leakwatch());
        cmd.current_dir(dir.path())
            .env("LEAKWATCH_STATS", "1")
            .args(["trace", "--no-summary", "--out"])
            .arg(&trace)
            .arg("--")
            .arg(&exe);
        if let Some(l) = limit {
            cmd.env("LEAKWATCH_NODE_ID_LIMIT", l);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        let local_ids: u64 = err
            .lines()
            .find_map(|l| l.strip_prefix("leakwatch-preload: interpreter: "))
            .and_then(|l| l.split(", ").find_map(|f| f.strip_suffix(" local ids")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no interpreter statistics in: {err}"));
        if limit.is_some() {
            // What the map holds since the last restart: a capture may
            // pass the limit by one stack's nodes.
            assert!(local_ids < 64 + 40, "{local_ids} ids kept: {err}");
        } else {
            assert!(local_ids > 500, "256 paths of 9+ nodes: {err}");
        }
        assert!(err.contains(" 0 look-ahead desyncs"), "{err}");
        let out = Command::new(leakwatch())
            .args(["report", "--json", "--top", "1000"])
            .arg(&trace)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        // 1024 blocks kept, of 16 to 19 bytes (256 of each), one stack
        // per path.
        assert_eq!(r["leaked"]["blocks"], 1024, "{limit:?}");
        assert_eq!(r["leaked"]["bytes"], 1024 * 16 + 256 * 6, "{limit:?}");
        assert_eq!(
            r["leaked"]["stacks"].as_array().unwrap().len(),
            256,
            "{limit:?}"
        );
        reports.push(r);
    }
    assert_eq!(leaked_paths(&reports[0]), leaked_paths(&reports[1]));
}

/// With --json, stdout is the JSON object alone (`| jq` works); the
/// program's own output goes to stderr, as with `run --json`.
#[test]
fn trace_json_stdout_is_only_the_report_object() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "gcc",
        "leaky.c",
        "leaky",
        &["-O1", "-g", "-pthread"],
    );
    let (trace, out) = run_trace(
        dir.path(),
        "leaky.lwt",
        &["--json"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "trace: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    assert!(stderr(&out).contains("leaky done"), "{}", stderr(&out));
    assert_eq!(v["version"], 1);
    let (from_report, _) = report_json(&trace);
    assert_eq!(v["leaked"]["bytes"], from_report["leaked"]["bytes"]);
    assert_eq!(v["leaked"]["bytes"], 12489);
}

/// The JSON object `trace --json` prints after the program's own output.
fn summary_json(out: &Output) -> Value {
    // stdout is the object alone (the program's output goes to stderr).
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", stderr(out)))
}

/// What `LEAKWATCH_STATS` says of the pass that read the trace while the
/// program ran.
fn read_while_running(err: &str) -> &str {
    err.lines()
        .find_map(|l| l.split_once("trace read while it ran: ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no summary stats in: {err}"))
}

/// `report --json` listing three stacks per section, as the summary does.
fn report_json_top3(trace: &Path) -> (Value, i32) {
    let out = Command::new(leakwatch())
        .args(["report", "--json", "--top", "3"])
        .arg(trace)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("report --json is not JSON ({e}): {}", stderr(&out)));
    (v, out.status.code().unwrap_or(-1))
}

fn trace_with_stats(dir: &Path, out: &str, cmd: &[&str]) -> (PathBuf, Output) {
    require_preload();
    let trace = dir.join(out);
    let output = Command::new(leakwatch())
        .current_dir(dir)
        .env("LEAKWATCH_STATS", "1")
        .args(["trace", "--json", "--out"])
        .arg(&trace)
        .arg("--")
        .args(cmd)
        .output()
        .unwrap();
    (trace, output)
}

#[test]
fn summary_read_while_the_program_runs_equals_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "steady.c", "steady", &["-O2", "-g"]);
    let (trace, out) = trace_with_stats(dir.path(), "steady.lwt", &[exe.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // --json: the program's stdout went to stderr.
    assert!(err.contains("steady done"), "{err}");
    let summary = summary_json(&out);
    let (report, code) = report_json_top3(&trace);
    assert_eq!(code, 1);
    assert_eq!(summary, report, "the summary differs from `report --json`");
    assert_eq!(
        entries(&summary["leaked"]),
        vec![(
            "keep_one".into(),
            marker_line("steady.c", "keep_one"),
            150 * 48,
            150
        )]
    );
    // Many chunks, read as the program wrote them.
    assert!(
        summary["trace"]["chunks"].as_u64().unwrap() > 1,
        "{summary}"
    );
    assert_eq!(read_while_running(&err), "used", "{err}");
}

#[test]
fn summary_of_a_wrapper_that_execs_counts_only_the_final_program() {
    // The wrapper's own allocations are traced (it runs a while: /bin/true
    // is a process each time), then the exec'd program rewrites the trace
    // from the start: whatever was read while the wrapper ran must not
    // count.
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "steady.c", "steady", &["-O2", "-g"]);
    let wrapper = dir.path().join("wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt 100 ]; do echo \"$i\" > /dev/null; /bin/true; i=$((i + 1)); done\nexec {} 1000\n",
            exe.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&wrapper, perms).unwrap();
    let (trace, out) = trace_with_stats(dir.path(), "wrapper.lwt", &[wrapper.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let summary = summary_json(&out);
    let (report, code) = report_json_top3(&trace);
    assert_eq!(code, 1);
    assert_eq!(summary, report, "the summary differs from `report --json`");
    assert_eq!(summary["leaked"]["bytes"], 100 * 48, "{summary}");
    // The pass started again at the exec: the summary did not read the
    // file a second time.
    assert_eq!(read_while_running(&err), "used", "{err}");
}

#[test]
fn summary_of_a_program_killed_by_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "gcc", "steady.c", "steady", &["-O2", "-g"]);
    let (trace, out) = trace_with_stats(
        dir.path(),
        "killed.lwt",
        &[exe.to_str().unwrap(), "1000", "kill"],
    );
    let err = stderr(&out);
    assert!(err.contains("was killed by signal 9"), "{err}");
    let summary = summary_json(&out);
    let (report, code) = report_json_top3(&trace);
    assert_eq!(out.status.code(), Some(code), "{err}");
    assert_eq!(summary, report, "the summary differs from `report --json`");
    assert_eq!(summary["exited"], false);
    assert!(
        err.lines().any(|l| [
            "leakwatch: LEAK",
            "leakwatch: INCOMPLETE",
            "leakwatch: GROWING"
        ]
        .iter()
        .any(|v| l.starts_with(v))),
        "no verdict line: {err}"
    );
    assert_eq!(read_while_running(&err), "used", "{err}");
}

fn which(cmd: &str) -> Result<PathBuf, ()> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
        .ok_or(())
}

/// A clean test runner that runs a leaking program (`subprocess.run`,
/// `system`): under --follow-fork the run's verdict is not the runner's
/// alone: each child's verdict is printed and the child's leak makes the
/// exit code 1 (it used to be "no leak", exit 0).
#[test]
fn a_followed_childs_leak_is_the_runs_leak() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("runner.c");
    std::fs::write(
        &src,
        r#"
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1) { void *volatile p = malloc(777); (void)p; return 0; }   /* child_leak */
    pid_t pid = fork();
    if (pid == 0) { execl(argv[0], argv[0], "leak", (char *)0); _exit(127); }
    int st; waitpid(pid, &st, 0);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.path().join("runner");
    assert!(Command::new("gcc")
        .args(["-O0", "-g", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap()
        .success());
    let (_, out) = run_trace(
        dir.path(),
        "r.lwt",
        &["--follow-fork"],
        &[exe.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("leakwatch: no leak"),
        "the runner itself is clean: {err}"
    );
    let child = err
        .lines()
        .find(|l| l.starts_with("leakwatch: child trace"))
        .unwrap_or_else(|| panic!("no child verdict: {err}"));
    assert!(child.contains("LEAK: 777 bytes in 1 block"), "{child}");
}

#[test]
fn duration_without_pid_is_refused_not_ignored() {
    let out = Command::new(leakwatch())
        .args(["trace", "--duration", "1s", "--", "true"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("only applies with --pid"), "{err}");
}

/// A leak in a spawned thread's closure is the program's at every
/// optimisation level: at -O3 the closure is inlined into std's
/// `__rust_begin_short_backtrace`, whose ELF symbol alone made it "standard
/// library residue" and the verdict "no leak" (hunt 4, case 09; valgrind:
/// 500,000 bytes definitely lost).
#[test]
fn rust_thread_closure_leak_is_counted_when_inlined_into_std() {
    let dir = tempfile::tempdir().unwrap();
    let line = marker_line("thread_leak.rs", "closure");
    for opt in ["0", "3"] {
        let name = format!("thread_leak_o{opt}");
        let exe = build(
            dir.path(),
            "rustc",
            "thread_leak.rs",
            &name,
            &["-g", "-C", &format!("opt-level={opt}")],
        );
        let (trace, out) = run_trace(
            dir.path(),
            &format!("{name}.lwt"),
            &[],
            &[exe.to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "opt-level={opt}: {err}");
        assert!(
            err.contains("LEAK: 500000 bytes in 100 blocks"),
            "opt-level={opt}: {err}"
        );
        let (r, code) = report_json(&trace);
        assert_eq!(code, 1);
        // Every leaked entry is the closure's line (the first block's
        // stack may differ below it).
        let e = entries(&r["leaked"]);
        assert!(
            e.iter().all(|x| x.1 == line && x.0.contains("{{closure}}")),
            "opt-level={opt}: {e:?}"
        );
        let total = e.iter().fold((0, 0), |t, x| (t.0 + x.2, t.1 + x.3));
        assert_eq!(total, (500_000, 100), "opt-level={opt}: {e:?}");
    }
}

/// Built with `-C lto=fat -C codegen-units=1`, std's start-up is inlined
/// into the C `main`: its main-thread info block (`set_current_info`) is
/// still std's residue, not a leak, and a leak in the user's `main` is
/// still counted (hunt 4, case 10: the clean build was LEAK 544 B, exit 1).
#[test]
fn rust_lto_start_up_block_is_residue_and_a_leak_in_main_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "rustc",
        "main_leak.rs",
        "main_leak_lto",
        &[
            "-C",
            "opt-level=3",
            "-C",
            "lto=fat",
            "-C",
            "codegen-units=1",
        ],
    );
    let exe = exe.to_str().unwrap();
    let (_, out) = run_trace(dir.path(), "clean.lwt", &[], &[exe]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no leak")
            && err.contains("runtime residue not counted: the standard library"),
        "{err}"
    );
    let (trace, out) = run_trace(dir.path(), "leak.lwt", &[], &[exe, "leak"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (r, _) = report_json(&trace);
    assert_eq!(r["leaked"]["bytes"], 777, "{}", r["leaked"]);

    // Stripped of symbols nothing tells std's start-up from the program:
    // still counted, and the report says what it could not attribute.
    let stripped = build(
        dir.path(),
        "rustc",
        "main_leak.rs",
        "main_leak_stripped",
        &["-C", "opt-level=3", "-C", "strip=symbols"],
    );
    let (_, out) = run_trace(
        dir.path(),
        "stripped.lwt",
        &[],
        &[stripped.to_str().unwrap()],
    );
    let err = stderr(&out);
    assert!(
        err.contains("leaked from code with no symbols (main_leak_stripped")
            && err.contains("strip = \"debuginfo\""),
        "{err}"
    );
}

/// The frames of each leaked stack in a report's JSON, as (function,
/// file, module).
fn leaked_frames(r: &Value) -> Vec<Vec<(String, String, String)>> {
    r["leaked"]["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(common::stack_frames)
        .collect()
}

/// Threads started through libstdc++ (`std::thread`, `std::async`) end at
/// the user's function, as threads started with `pthread_create` end at
/// their start routine: not at `std::thread`'s invoker frames and
/// libstdc++'s `execute_native_thread_routine`, which Debian's stripped
/// libstdc++ leaves unnamed (`0xd44a3 in libstdc++.so.6`). Those stay one
/// flag away (hunt 4, "Frames left unnamed or unhidden").
#[test]
fn cpp_thread_stacks_end_at_the_users_function() {
    let dir = tempfile::tempdir().unwrap();
    let line = |name| marker_line("thread_leak.cpp", name);
    for opt in ["-O0", "-O2"] {
        let name = format!("thread_leak{opt}");
        let exe = build(
            dir.path(),
            "g++",
            "thread_leak.cpp",
            &name,
            &[opt, "-g", "-pthread"],
        );
        let (trace, out) = run_trace(
            dir.path(),
            &format!("{name}.lwt"),
            &["--no-summary"],
            &[exe.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(0), "{opt}: {}", stderr(&out));
        let (r, code) = report_json(&trace);
        assert_eq!(code, 1, "{opt}");
        let sites: Vec<(u64, u64, u64)> = entries(&r["leaked"])
            .into_iter()
            .map(|(_, l, bytes, blocks)| (l, bytes, blocks))
            .collect();
        assert_eq!(
            sites,
            [
                (line("lambda"), 30000, 10),
                (line("worker"), 8000, 4),
                (line("async"), 4000, 1)
            ],
            "{opt}"
        );
        for frames in leaked_frames(&r) {
            let (function, file, _) = frames.last().unwrap();
            assert!(
                file.ends_with("thread_leak.cpp"),
                "{opt}: the stack ends at {function} in {file}, not the user's code: {frames:?}"
            );
            assert!(
                !frames.iter().any(|f| f.2.starts_with("libstdc++")),
                "{opt}: libstdc++'s thread start shown: {frames:?}"
            );
        }
        // The full stack is one flag away.
        let out = Command::new(leakwatch())
            .args(["report", "--json", "--full-stacks"])
            .arg(&trace)
            .output()
            .unwrap();
        let full: Value = serde_json::from_slice(&out.stdout).unwrap();
        for frames in leaked_frames(&full) {
            assert!(
                frames.iter().any(|f| f.2.starts_with("libstdc++"))
                    && frames.iter().any(|f| f.0 == "start_thread"),
                "{opt}: --full-stacks: {frames:?}"
            );
        }
    }
}

/// Built with LTO, Rust's allocator shim is inlined under its `__rustc::`
/// name (`__rustc::__rdl_alloc`): an allocator frame, hidden like
/// `__rust_alloc` and `alloc::alloc::*`, so the stack starts at the user's
/// function (hunt 4, "Frames left unnamed or unhidden").
#[test]
fn rust_lto_allocator_shim_is_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let exe = build(
        dir.path(),
        "rustc",
        "leaky.rs",
        "leaky_lto",
        &["-C", "lto=fat", "-C", "opt-level=3", "-g"],
    );
    let (trace, out) = run_trace(
        dir.path(),
        "lto.lwt",
        &["--no-summary"],
        &[exe.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (r, code) = report_json(&trace);
    assert_eq!(code, 1);
    assert_eq!(
        entries(&r["leaked"]),
        vec![(
            "leaky::leaky_rust".to_string(),
            marker_line("leaky.rs", "leaky_rust"),
            3000,
            1
        )]
    );
    let stacks = leaked_frames(&r);
    let frames = &stacks[0];
    assert_eq!(
        frames[0].0, "leaky::leaky_rust",
        "the first frame shown is the allocator's: {frames:?}"
    );
    // The residue's stack (std's main-thread info block) starts after the
    // allocator too.
    for e in r["runtime_residue"]["stacks"].as_array().unwrap() {
        let first = e["frames"][0]["function"].as_str().unwrap();
        assert!(
            !first.starts_with("__rustc::") && !first.starts_with("alloc::alloc"),
            "{e}"
        );
    }
}
