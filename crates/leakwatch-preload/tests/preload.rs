//! The tracer library on its own: loaded into ordinary programs it must not
//! change their behaviour, traced or not. (Having this test also makes
//! `cargo test` build the cdylib, which the CLI's tests use.)

use std::path::PathBuf;
use std::process::Command;

/// target/<profile>/deps/libleakwatch_preload.so, beside this test.
fn preload() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let so = exe.with_file_name("libleakwatch_preload.so");
    assert!(so.is_file(), "{} was not built", so.display());
    so
}

fn run(envs: &[(&str, &str)], script: &str) -> (String, i32) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).env("LD_PRELOAD", preload());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const SCRIPT: &str = "printf 'a\\nb\\nc\\n' | sort -r | tr a-z A-Z; ls / >/dev/null; exit 3";

#[test]
fn untraced_programs_behave_as_without_it() {
    let (out, code) = run(&[], SCRIPT);
    assert_eq!(out, "C\nB\nA\n");
    assert_eq!(code, 3);
}

#[test]
fn traced_programs_behave_as_without_it_and_write_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.lwt");
    let f = file.to_str().unwrap();
    let (out, code) = run(
        &[("LEAKWATCH_TRACE_FILE", f), ("LEAKWATCH_FOLLOW_FORK", "1")],
        SCRIPT,
    );
    assert_eq!(out, "C\nB\nA\n");
    assert_eq!(code, 3);
    let data = std::fs::read(&file).unwrap();
    assert!(data.starts_with(b"LWTRACE\0"));
    assert!(data.len() > 40, "the shell's own allocations were recorded");
    // Each child (sort, tr, ls) got its own file.
    let children = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("t.lwt.")
        })
        .count();
    assert!(children >= 3, "{children} child traces");
}
