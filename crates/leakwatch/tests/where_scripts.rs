//! `leakwatch where -- CMD` on real Python and Ruby programs
//! (tests/where/leaky_service.{py,rb}): tracemalloc and ObjectSpace started
//! by leakwatch, with no change to the program. The leaking line (Python)
//! or class (Ruby) is named, the churning and the bounded ones are not, and
//! the program ran and served to the end: it answered our SIGTERM with its
//! count of requests, and printed its heartbeat throughout.
//!
//! Timing: 30 polls one second apart (the detector needs 24, and 30 % of
//! the session of history: 9 s); the cache is full after the first 2000
//! requests, the leak is steady from the start. The pause budget is raised
//! to 25 %: a poll holds the interpreter's lock for tens of milliseconds
//! here (a tracemalloc snapshot of ~30,000 blocks; a full GC and a heap walk
//! in Ruby), which the default 1 % budget would answer with 10 s between
//! polls. The cost is measured in bench/where/, not here.

#[path = "where/support.rs"]
mod support;

use std::time::Duration;

use support::*;

/// The line of `marker` in a test program (1-based).
fn line_of(file: &str, marker: &str) -> usize {
    let text = std::fs::read_to_string(programs().join(file)).unwrap();
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker} not in {file}"))
        + 1
}

/// The program's own output (on leakwatch's stderr with --json): it ran to
/// the end, serving, and was stopped by leakwatch's SIGTERM.
fn ran_to_the_end(stderr: &str) {
    let done: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("terminated after "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("the program was not stopped by our SIGTERM: {stderr}"));
    let beats: Vec<u64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("beat ")?.trim().parse().ok())
        .collect();
    // Two beats a second for the whole session (at least 25 s of 30).
    assert!(beats.len() >= 50, "{} beats: {stderr}", beats.len());
    assert!(done >= *beats.last().unwrap(), "{stderr}");
}

#[test]
fn python_names_the_leaking_line_with_tracemalloc_from_the_start() {
    let program = programs().join("leaky_service.py");
    let out = leakwatch()
        .args(["where", "--duration", "30s", "--interval", "1s"])
        .args(["--pause-budget", "25%", "--top", "1000", "--json", "--"])
        .arg("python3")
        .arg(&program)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let report = json_of(&out.stdout, &out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{report:#}\n{stderr}");
    assert_eq!(report["runtime"], "python");
    let leak_site = format!(
        "remember_session ({}:{})",
        program.display(),
        line_of("leaky_service.py", "# the leak")
    );
    for metric in ["bytes", "blocks"] {
        let leaks: Vec<String> = states(&report, metric)
            .into_iter()
            .filter(|(_, s)| s == "leak")
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            leaks,
            std::slice::from_ref(&leak_site),
            "{metric}: {report:#}"
        );
        // Followed, and not a leak. (`growing`, "still rising, not a leak",
        // is allowed: the scratch lines' live bytes at a snapshot follow
        // how far the request was when it came, which on a loaded machine
        // can drift up over a 30 s session.)
        for func in ["scratch_work (", "cached_lookup ("] {
            let s = state_of(&report, metric, |k| k.starts_with(func));
            assert!(
                !s.is_empty() && s.iter().all(|s| s != "leak"),
                "{func} ({metric}) is {s:?}: {report:#}"
            );
        }
    }
    assert!(report["max_target_pause_ms"].as_f64().unwrap() > 0.0);
    ran_to_the_end(&stderr);
    // The next step reruns the same command under the tracer.
    let next = report["next_steps"][0].as_str().unwrap();
    assert!(next.starts_with("leakwatch trace -- python3 "), "{next}");
}

#[test]
fn ruby_names_the_leaking_class_with_objectspace_from_the_start() {
    let program = programs().join("leaky_service.rb");
    let out = leakwatch()
        .args(["where", "--duration", "30s", "--interval", "1s"])
        .args(["--pause-budget", "25%", "--top", "1000", "--json", "--"])
        .arg("ruby")
        .arg(&program)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let report = json_of(&out.stdout, &out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{report:#}\n{stderr}");
    assert_eq!(report["runtime"], "ruby");
    assert_eq!(
        state_of(&report, "instances", |k| k == "LeakedSession"),
        ["leak"],
        "{report:#}"
    );
    for class in ["RequestScratch", "CacheEntry"] {
        let s = state_of(&report, "instances", |k| k == class);
        assert!(
            !s.is_empty() && s.iter().all(|s| s != "leak" && s != "growing"),
            "{class} is {s:?}: {report:#}"
        );
    }
    // The helper's own walk makes no objects the program would be charged
    // with (bind(o).call made a Method per object, rising with the leak).
    // The program makes none: the key must not appear at all (it used to,
    // with thousands of instances per poll).
    let method = state_of(&report, "instances", |k| k == "Method");
    assert!(method.is_empty(), "Method is {method:?}: {report:#}");
    ran_to_the_end(&stderr);
}

#[test]
fn the_program_sees_its_own_environment() {
    // The helpers put PYTHONPATH and RUBYOPT back before the program runs:
    // the program (and its children) see what they would without leakwatch,
    // and a sitecustomize of the user's still runs.
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(
        mine.join("sitecustomize.py"),
        "print('their sitecustomize ran', flush=True)\n",
    )
    .unwrap();
    let script = dir.path().join("env.py");
    std::fs::write(
        &script,
        "import os, sys, time\n\
         print('PYTHONPATH=%r RUBYOPT=%r LEAKWATCH=%r' % (os.environ.get('PYTHONPATH'), \
         os.environ.get('RUBYOPT'), [k for k in os.environ if k.startswith('LEAKWATCH')]), flush=True)\n\
         print('path-has-helper=%s' % any('leakwatch-where-' in p for p in sys.path), flush=True)\n\
         time.sleep(60)\n",
    )
    .unwrap();
    let out = leakwatch()
        .args([
            "where",
            "--duration",
            "3s",
            "--interval",
            "1s",
            "--json",
            "--",
        ])
        .arg("python3")
        .arg(&script)
        .env("PYTHONPATH", &mine)
        .env_remove("RUBYOPT")
        // Set by cargo for tests (leakwatch's build script exports them to
        // the compiler); a user's leakwatch never has them.
        .env_remove("LEAKWATCH_PRELOAD_EMBED")
        .env_remove("LEAKWATCH_GIT_COMMIT")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "PYTHONPATH='{}' RUBYOPT=None LEAKWATCH=[]",
            mine.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("their sitecustomize ran"), "{stderr}");
    assert!(
        stderr.contains("tracemalloc started by leakwatch"),
        "{stderr}"
    );
    assert!(stderr.contains("path-has-helper=False"), "{stderr}");
    // Three polls cannot be judged: exit 2, and it says so.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not enough data to judge"), "{stderr}");
}

/// The Python helper's grouping of tracemalloc's blocks by traceback gives
/// the sizes and counts of tracemalloc's own snapshot, through its fast
/// path (`_get_traces`) and its fallback (`take_snapshot`), on the oldest
/// and newest Pythons at hand.
#[test]
fn python_helper_groups_blocks_as_tracemalloc_does() {
    let helper = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../leakwatch-where/helpers/sitecustomize.py");
    let script = format!(
        r#"
import importlib.util, sys, tracemalloc, types
spec = importlib.util.spec_from_file_location("lwhelper", {helper:?})
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
tracemalloc.start(8)
class Session:
    def __init__(self, i):
        self.data = "x" * 300 + str(i)
kept = [Session(i) for i in range(20000)]
snap = tracemalloc.take_snapshot()
want = {{}}
for t in snap.traces:
    newest_first = reversed if sys.version_info >= (3, 7) else iter
    k = tuple((f.filename, f.lineno) for f in newest_first(t.traceback))
    w = want.setdefault(k, [0, 0])
    w[0] += t.size
    w[1] += 1
for mod in (tracemalloc, types.SimpleNamespace(take_snapshot=lambda: snap)):
    got = m._leakwatch_by_traceback(mod)
    big = {{k: (sum(v), len(v)) for k, v in got.items() if len(v) >= 10000}}
    assert big, got.keys()
    for k, v in big.items():
        assert tuple(want[k]) == v, (k, want[k], v)
print("ok", len(big))
"#,
        helper = helper.to_str().unwrap()
    );
    let mut ran = 0;
    for py in [
        "/root/.pyenv/versions/3.6.15/bin/python3",
        "python3",
        "/root/.pyenv/versions/3.13.0/bin/python3",
    ] {
        let Ok(o) = std::process::Command::new(py)
            .args(["-c", &script])
            .output()
        else {
            continue;
        };
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && out.starts_with("ok"),
            "{py}: {out}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        ran += 1;
    }
    assert!(ran > 0, "no Python found");
}

/// A program that turns tracemalloc off ends the session with a clear
/// error (exit 2): every later poll would read an empty heap, a false
/// "no leak".
#[test]
fn a_program_that_stops_tracemalloc_ends_the_session_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("stops.py");
    std::fs::write(
        &script,
        "import time, tracemalloc\nkept = []\nfor i in range(20):\n    kept.append(bytearray(10000))\n    time.sleep(0.1)\ntracemalloc.stop()\nwhile True:\n    kept.append(bytearray(10000))\n    time.sleep(0.1)\n",
    )
    .unwrap();
    let out = leakwatch()
        .args(["where", "--duration", "20s", "--interval", "1s", "--"])
        .arg("python3")
        .arg(&script)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stopped tracemalloc"), "{stderr}");
}
