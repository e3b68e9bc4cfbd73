//! `cargo install --path crates/leakwatch` gives a complete install: the
//! binary alone traces (the tracer library is built into it).
//!
//! The install builds in this test run's own target directory (cargo test
//! has released its lock by the time tests run), reusing what is built
//! there; crates whose features differ for leakwatch alone (rustls, ureq,
//! ...) are compiled again. Ignored by default: that took 479 s on the
//! shared 2-core machine (over the 3 minutes a default test may take). Run
//! `cargo test --release -p leakwatch --test cli_install -- --ignored`;
//! LEAKWATCH_INSTALL_TARGET_DIR picks another target directory.

mod common;
use common::*;

use std::process::Command;

/// The target directory this test binary was built in (…/target/release/deps/THIS).
fn this_target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

#[test]
#[ignore = "cargo install compiles again (479 s measured); run with --ignored"]
fn cargo_install_gives_a_working_trace() {
    let root = tempfile::tempdir().unwrap();
    let target_dir = std::env::var_os("LEAKWATCH_INSTALL_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(this_target_dir);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A user's environment, not cargo test's (whose variables would make
    // cargo rebuild crates the test build has just built).
    let mut install = Command::new(cargo);
    install.env_clear();
    for var in [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "TMPDIR",
    ] {
        if let Some(v) = std::env::var_os(var) {
            install.env(var, v);
        }
    }
    let out = install
        .args(["install", "--locked", "--quiet", "--path"])
        .arg(repo_root().join("crates/leakwatch"))
        .arg("--root")
        .arg(root.path())
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only the binary was installed: nothing to find on disk.
    let installed: Vec<_> = walk(root.path())
        .into_iter()
        .filter(|p| !p.starts_with(&target_dir))
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .collect();
    assert!(installed.is_empty(), "{installed:?}");

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("leak.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\n#include <string.h>\n\
         void *leak_here(int i) { char *p = malloc(4096); memset(p, i, 4096); return p; }\n\
         int main(void) { for (int i = 0; i < 64; i++) leak_here(i); return 0; }\n",
    )
    .unwrap();
    let exe = dir.path().join("leak");
    assert!(Command::new("cc")
        .args(["-O0", "-g", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap()
        .success());
    let out = Command::new(root.path().join("bin/leakwatch"))
        .args(["trace", "-o"])
        .arg(dir.path().join("t.lwt"))
        .arg("--")
        .arg(&exe)
        .env_remove("LEAKWATCH_PRELOAD")
        .current_dir(dir.path())
        .output()
        .unwrap();
    // The summary is on stderr.
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("262144 bytes in 64 blocks"), "{text}");
    assert!(text.contains("leak_here"), "{text}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
