//! `leakwatch diff` on real Go pprof profiles: a Go program (standard library
//! only, built with Debian's golang-go) leaks into a global slice and leaks
//! blocked goroutines, and writes heap and goroutine profiles before and after.
//! The result is cross-checked against `go tool pprof -base`.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use serde_json::Value;

/// Builds and runs the fixture once per test process; returns the profile dir.
fn profiles() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("heap-pprof");
        let out = tmp.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/heap/goleak.go");
        let bin = out.join("goleak");
        let status = go()
            .arg("build")
            .arg("-o")
            .arg(&bin)
            .arg(&src)
            .env("GOCACHE", tmp.join("gocache"))
            .status()
            .expect("`go` is installed (apt-get install golang-go; see .ci/deps/heap.sh)");
        assert!(status.success(), "go build failed");
        let status = Std::new(&bin).arg(&out).status().unwrap();
        assert!(status.success());
        out
    })
}

fn go() -> Std {
    let mut c = Std::new("go");
    // Standard library only: no module proxy, no network.
    c.env("GOPROXY", "off")
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "");
    if std::env::var_os("HOME").is_none() {
        c.env("HOME", std::env::temp_dir());
    }
    c
}

fn diff(a: &str, b: &str, json: bool) -> (i32, String, String) {
    let dir = profiles();
    let mut cmd = Command::cargo_bin("leakwatch").unwrap();
    cmd.arg("diff").arg(dir.join(a)).arg(dir.join(b));
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn heap_growth_points_at_the_leaking_function() {
    let (code, stdout, stderr) = diff("heap1.pb.gz", "heap2.pb.gz", true);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let report = &json["report"];
    assert_eq!(report["kind"], "heap");
    assert_eq!(report["value"], "inuse_space/bytes");
    let top = &report["grown"][0];
    assert_eq!(top["stack"][0], "main.leakRecords", "{top:#}");
    assert_eq!(top["stack"][1], "main.main");
    // 20,000 more records of a little over 1 KiB each (MemProfileRate = 1:
    // exact), plus the slice's live backing array.
    let objects = top["objects"][2].as_i64().unwrap();
    assert!((20000..=20004).contains(&objects), "{top:#}");
    let delta = top["delta"].as_i64().unwrap();
    assert!(delta >= 20000 * 1024, "{delta}");

    // Cross-check with go tool pprof: same top function, same figure.
    let dir = profiles();
    let out = go()
        .args([
            "tool",
            "pprof",
            "-top",
            "-sample_index=inuse_space",
            "-unit=B",
            "-base",
        ])
        .arg(dir.join("heap1.pb.gz"))
        .arg(dir.join("heap2.pb.gz"))
        .output()
        .expect("go tool pprof runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .nth(1)
        .unwrap_or_else(|| panic!("no rows in:\n{text}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[5], "main.leakRecords", "{text}");
    let flat: i64 = cols[0].trim_end_matches('B').parse().unwrap();
    assert_eq!(flat, delta, "{text}");
}

#[test]
fn goroutine_growth_points_at_the_blocked_function() {
    let (code, stdout, stderr) = diff("goroutine1.pb.gz", "goroutine2.pb.gz", true);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let top = &json["report"]["grown"][0];
    assert_eq!(json["report"]["kind"], "goroutine");
    assert_eq!(top["delta"], 200, "{top:#}");
    let stack: Vec<&str> = top["stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(stack.contains(&"main.waitForReply"), "{stack:?}");

    let (code, text, _) = diff("goroutine1.pb.gz", "goroutine2.pb.gz", false);
    assert_eq!(code, 1);
    assert!(text.contains("+200  (5 → 205)"), "{text}");
    assert!(text.contains("main.waitForReply"), "{text}");
}

#[test]
fn unchanged_profile_is_not_a_leak() {
    let (code, stdout, _) = diff("heap2.pb.gz", "heap2.pb.gz", false);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no stack grew"), "{stdout}");
}

#[test]
fn heap_and_goroutine_profiles_do_not_mix() {
    let (code, _, stderr) = diff("heap1.pb.gz", "goroutine2.pb.gz", false);
    assert_eq!(code, 2);
    assert!(stderr.contains("same kind"), "{stderr}");
}

#[test]
fn top_zero_keeps_the_verdict_and_json_is_versioned() {
    let dir = profiles();
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .args(["diff", "--top", "0"])
        .arg(dir.join("heap1.pb.gz"))
        .arg(dir.join("heap2.pb.gz"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("none listed: --top 0"), "{text}");
    let (_, stdout, _) = diff("heap1.pb.gz", "heap2.pb.gz", true);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["version"], 1);
    assert!(json["report"]["largest_growth"].as_i64().unwrap() > 1 << 20);
}

#[test]
fn hostile_profiles_are_refused_with_exit_2() {
    // 32 M empty strings in 64 KB of gzip (0.9 GB once decoded before the bound).
    let dir = tempfile::tempdir().unwrap();
    let mut raw = vec![0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
    raw.extend(std::iter::repeat_n([0x32u8, 0x00], 32 << 20).flatten());
    let mut gz = gzip_bytes(&raw);
    let bomb = dir.path().join("bomb.pb.gz");
    std::fs::write(&bomb, &gz).unwrap();
    gz.clear();
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .arg(&bomb)
        .arg(&bomb)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("too large to read safely"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// gzip through the system's gzip (the test crate has no compression dependency).
fn gzip_bytes(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Std::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    let mut stdin = child.stdin.take().unwrap();
    let data = raw.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out.stdout
}
