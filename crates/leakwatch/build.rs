//! Build script for the `leakwatch` binary:
//! - `LEAKWATCH_GIT_COMMIT` for `--version` (the checkout's commit, or
//!   "unknown" outside a git checkout);
//! - the tracer library `libleakwatch_preload.so`, built from the
//!   workspace's `leakwatch-preload` crate into this package's OUT_DIR and
//!   embedded into the binary, so that `cargo install --path crates/leakwatch`
//!   (which installs binaries only) still gives a working `leakwatch trace`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LEAKWATCH_EMBED_PRELOAD");
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    git_commit(&manifest_dir);
    embed_preload(&manifest_dir, &out_dir);
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn git_commit(dir: &Path) {
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LEAKWATCH_GIT_COMMIT={commit}");
    // A commit or checkout moves HEAD and appends to its reflog.
    for p in ["HEAD", "logs/HEAD"] {
        if let Some(path) = git(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-path", p],
        ) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

/// Builds the tracer with the same cargo and profile into OUT_DIR (its own
/// target directory: the outer build holds the lock on the main one) and
/// points `LEAKWATCH_PRELOAD_EMBED` at it; an empty file when it cannot be
/// built (no workspace beside this crate, or LEAKWATCH_EMBED_PRELOAD=0), in
/// which case `trace` looks for the library on disk only.
fn embed_preload(manifest_dir: &Path, out_dir: &Path) {
    let embedded = out_dir.join("libleakwatch_preload.so.embed");
    let crate_dir = manifest_dir.join("../leakwatch-preload");
    let wanted = std::env::var("LEAKWATCH_EMBED_PRELOAD").map_or(true, |v| v != "0");
    if !wanted || !crate_dir.join("Cargo.toml").is_file() {
        std::fs::write(&embedded, b"").expect("writing OUT_DIR");
        println!(
            "cargo:rustc-env=LEAKWATCH_PRELOAD_EMBED={}",
            embedded.display()
        );
        return;
    }
    for p in ["src", "Cargo.toml", "build.rs"] {
        let path = crate_dir.join(p);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let lock = manifest_dir.join("../../Cargo.lock");
    if lock.exists() {
        println!("cargo:rerun-if-changed={}", lock.display());
    }
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let target_dir = out_dir.join("preload-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .args(["--lib", "--quiet", "--target-dir"])
        .arg(&target_dir);
    if release {
        cmd.arg("--release");
    }
    // The outer build's settings for *this* package must not leak into the
    // tracer's build; nor must `cargo clippy`'s wrapper, which lints the
    // workspace (the tracer is linted as a workspace member already).
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo to build leakwatch-preload");
    assert!(
        status.success(),
        "building leakwatch-preload for embedding failed ({status}); \
         set LEAKWATCH_EMBED_PRELOAD=0 to build leakwatch without the embedded tracer"
    );
    let built = target_dir
        .join(if release { "release" } else { "debug" })
        .join("libleakwatch_preload.so");
    std::fs::copy(&built, &embedded).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
    println!(
        "cargo:rustc-env=LEAKWATCH_PRELOAD_EMBED={}",
        embedded.display()
    );
}
