//! Helpers for the CLI's integration tests: real programs, real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn example(name: &str) -> String {
    repo_root()
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

pub fn leakwatch() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("leakwatch").unwrap()
}

/// Compiles examples/NAME.c into `dir` and returns the binary's path.
pub fn build_c(name: &str, dir: &Path) -> String {
    let out = dir.join(name);
    let status = std::process::Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&out)
        .arg(repo_root().join("examples").join(format!("{name}.c")))
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {name}");
    out.display().to_string()
}

pub fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Events printed as JSON lines (`watch --json`).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The verdict of each resource in a report, as `resource=verdict`.
pub fn verdicts(v: &serde_json::Value) -> Vec<String> {
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["resource"].as_str().unwrap(),
                r["verdict"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn has_command(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Hands a JUnit XML file to its consumer's schema: the Jenkins JUnit
/// plugin's XSD (tests/schemas/junit-10.xsd), through python xmlschema
/// (.ci/deps/cli.sh installs it). Panics with the validator's reasons.
pub fn assert_valid_junit(xml: &Path) {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let out = std::process::Command::new("python3")
        .arg(schemas.join("validate_xml.py"))
        .arg(schemas.join("junit-10.xsd"))
        .arg(xml)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{} fails the Jenkins JUnit XSD:\n{}{}\n{}",
        xml.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(xml).unwrap_or_default()
    );
}

/// memcheck's "in use at exit: B bytes in N blocks" for `cmd`, or None
/// (with the reason printed) when valgrind is not installed.
pub fn valgrind_in_use(dir: &Path, cmd: &[&str]) -> Option<(u64, u64)> {
    if !has_command("valgrind") {
        eprintln!("valgrind is not installed: the comparison with memcheck is skipped");
        return None;
    }
    // Valgrind runs one thread at a time; with its default lock a thread
    // that spins (a churn loop waiting for a flag) can take it back again
    // and again and starve the rest: seen once as a 12-minute hang of
    // fork_thread. Fair scheduling hands the lock round in turn; the
    // timeout turns any other hang into a failure instead of a stuck suite.
    let out = std::process::Command::new("timeout")
        .args(["-k", "10", "300", "valgrind"])
        .args([
            "--fair-sched=try",
            "--tool=memcheck",
            "--leak-check=no",
            "--run-libc-freeres=yes",
            "--run-cxx-freeres=yes",
        ])
        .args(cmd)
        .current_dir(dir)
        // What `trace` gives a program it starts (interpreters read it:
        // CPython then allocates each object with malloc), so both count
        // the same blocks.
        .env("PYTHONMALLOC", "malloc")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Forked children are checked too, and end first: the summary wanted
    // carries the pid of the banner's first line.
    let pid = err
        .lines()
        .next()
        .and_then(|l| l.split("==").nth(1))
        .unwrap_or_else(|| panic!("no memcheck banner: {err}"));
    let prefix = format!("=={pid}==");
    let line = err
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains("in use at exit:"))
        .unwrap_or_else(|| panic!("no memcheck summary: {err}"));
    let nums: Vec<u64> = line
        .split_once("in use at exit:")
        .unwrap()
        .1
        .split(|c: char| !c.is_ascii_digit() && c != ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.replace(',', "").parse().unwrap())
        .collect();
    Some((nums[0], nums[1]))
}

/// The frames of one stack entry of a `report --json` group, innermost
/// first, as (function, file, module).
pub fn stack_frames(entry: &serde_json::Value) -> Vec<(String, String, String)> {
    entry["frames"]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
                    (s("function"), s("file"), s("module"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The tracer library beside the leakwatch binary (cargo puts it in
/// `deps/` or next to it); fails the test with the fix when missing.
pub fn preload_library() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("leakwatch");
    let so = bin.with_file_name("deps").join("libleakwatch_preload.so");
    if so.is_file() {
        return so;
    }
    let so = bin.with_file_name("libleakwatch_preload.so");
    assert!(
        so.is_file(),
        "{} is missing: run `cargo build -p leakwatch-preload` with the same profile \
         (cargo test --workspace builds it)",
        so.display()
    );
    so
}

/// Compiles `src` into `exe` with `compiler`, `flags` before the source
/// and `libs` after it.
pub fn compile(compiler: &str, src: &Path, exe: &Path, flags: &[&str], libs: &[&str]) {
    let status = std::process::Command::new(compiler)
        .args(flags)
        .arg(src)
        .arg("-o")
        .arg(exe)
        .args(libs)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {compiler}: {e} (see .ci/deps/trace.sh)"));
    assert!(status.success(), "{compiler} failed on {}", src.display());
}

/// The line of `src` carrying the marker `LEAK(name)`.
pub fn marker_line_in(src: &Path, name: &str) -> u64 {
    let text = std::fs::read_to_string(src).unwrap();
    let needle = format!("LEAK({name})");
    text.lines()
        .position(|l| l.contains(&needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("no marker {needle} in {}", src.display()))
}
