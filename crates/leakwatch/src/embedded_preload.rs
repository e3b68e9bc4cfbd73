//! The tracer library built into the binary (see build.rs), for installs
//! that have only the `leakwatch` executable (`cargo install`): written, when
//! `trace` finds no library on disk, to a directory named for this user and
//! for the library's contents (`$TMPDIR/leakwatch-tracer-<uid>-<digest>/`),
//! kept for later runs. Kept, because a traced program can outlive the run
//! (a daemon, a process attached to) and exec again later with the library's
//! path in `LD_PRELOAD`, and because a run killed with SIGKILL cleans
//! nothing: with one copy per library, neither leaves anything behind that a
//! later run does not reuse.
//!
//! That directory is used only when it is exactly what this binary would
//! have made: a real directory owned by this user, mode 0755 (nobody else
//! can write into it), holding a regular file owned by this user, mode
//! 0555, byte for byte this library. Anything else (a name another user
//! took first, a changed file) is left alone, and the run uses a private
//! copy in a fresh directory with a random name, removed when the trace
//! ends.

use std::io::Write as _;
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The library's bytes; empty when the build could not embed it.
static EMBEDDED: &[u8] = include_bytes!(env!("LEAKWATCH_PRELOAD_EMBED"));

/// A copy of the embedded library on disk; a private one (`_private`) is
/// removed on drop.
#[derive(Debug)]
pub struct Extracted {
    pub path: PathBuf,
    _private: Option<tempfile::TempDir>,
}

/// Whether this binary carries the tracer library.
pub fn available() -> bool {
    !EMBEDDED.is_empty()
}

/// The library on disk: the shared copy for this user and these bytes
/// (made if missing), or a private one when that cannot be trusted.
pub fn extract(file_name: &str) -> anyhow::Result<Extracted> {
    anyhow::ensure!(
        available(),
        "this leakwatch was built without the tracer library"
    );
    let shared = shared_dir(&std::env::temp_dir());
    if let Some(path) = shared_copy(&shared, file_name) {
        return Ok(Extracted {
            path,
            _private: None,
        });
    }
    private_copy(file_name)
}

/// `<tmp>/leakwatch-tracer-<euid>-<digest of the library>`.
fn shared_dir(tmp: &Path) -> PathBuf {
    // FNV-1a over the bytes: a name, not a check (the bytes are compared).
    let digest = EMBEDDED.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // SAFETY: plain syscall.
    let euid = unsafe { libc::geteuid() };
    tmp.join(format!("leakwatch-tracer-{euid}-{digest:016x}"))
}

/// The shared copy in `dir`, made if missing; None when `dir` or the file
/// in it is not exactly what this binary makes.
fn shared_copy(dir: &Path, file_name: &str) -> Option<PathBuf> {
    if std::fs::symlink_metadata(dir).is_err() {
        // Exactly 0755, whatever the umask; a racing run may make it first.
        let made = std::fs::DirBuilder::new().mode(0o755).create(dir);
        if made.is_ok() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ok()?;
        }
    }
    if !is_ours(dir, true, 0o755) {
        return None;
    }
    let path = dir.join(file_name);
    if !is_ours(&path, false, 0o555) || !holds_library(&path) {
        if std::fs::symlink_metadata(&path).is_ok() {
            return None; // someone else's, or changed: left alone
        }
        // Written whole under a private name, then renamed: another run
        // never loads a half-written copy.
        let part = tempfile::Builder::new()
            .prefix(".part-")
            .permissions(std::fs::Permissions::from_mode(0o555))
            .tempfile_in(dir)
            .ok()?;
        let mut f = part.as_file();
        f.write_all(EMBEDDED).ok()?;
        f.sync_all().ok()?;
        part.persist(&path).ok()?;
        if !is_ours(&path, false, 0o555) || !holds_library(&path) {
            return None;
        }
    }
    Some(path)
}

/// Whether `p` (never followed if a link) is a directory (or a regular
/// file) owned by this user with exactly `mode`.
fn is_ours(p: &Path, dir: bool, mode: u32) -> bool {
    // SAFETY: plain syscall.
    let euid = unsafe { libc::geteuid() };
    std::fs::symlink_metadata(p).is_ok_and(|m| {
        let kind = if dir { m.is_dir() } else { m.is_file() };
        kind && m.uid() == euid && m.mode() & 0o7777 == mode
    })
}

fn holds_library(p: &Path) -> bool {
    std::fs::read(p).is_ok_and(|bytes| bytes == EMBEDDED)
}

/// A copy in a fresh directory with a random name, removed on drop.
fn private_copy(file_name: &str) -> anyhow::Result<Extracted> {
    // No write permission for anyone else (set at creation), so no other
    // user can plant or swap the library before it is loaded. Readable by
    // all: a program that runs as another user (root attaching to a
    // service account's process, a traced program that drops privileges
    // and then execs) must be able to load it.
    let dir = tempfile::Builder::new()
        .prefix("leakwatch-tracer-")
        .permissions(std::fs::Permissions::from_mode(0o755))
        .tempdir()
        .context("cannot create a private directory for the tracer library")?;
    // Exactly these modes, whatever the umask.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .context("cannot set the tracer directory's mode")?;
    let path = dir.path().join(file_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o555)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(EMBEDDED)
        .and_then(|()| f.sync_all())
        .and_then(|()| f.set_permissions(std::fs::Permissions::from_mode(0o555)))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Extracted {
        path,
        _private: Some(dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_copy_is_made_once_and_reused() {
        if !available() {
            return; // built with LEAKWATCH_EMBED_PRELOAD=0
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = shared_dir(tmp.path());
        let a = shared_copy(&dir, "libleakwatch_preload.so").unwrap();
        assert_eq!(&std::fs::read(&a).unwrap()[..4], b"\x7fELF");
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o555
        );
        let inode = std::fs::metadata(&a).unwrap().ino();
        let b = shared_copy(&dir, "libleakwatch_preload.so").unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::metadata(&b).unwrap().ino(), inode, "rewritten");
        // Nothing but the library in it (no part file left).
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn a_shared_directory_that_is_not_exactly_ours_is_not_used() {
        if !available() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        // Writable by others: someone could swap the library.
        let dir = shared_dir(tmp.path());
        std::fs::DirBuilder::new().mode(0o777).create(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(shared_copy(&dir, "libleakwatch_preload.so").is_none());
        // A link to elsewhere is never followed.
        let tmp2 = tempfile::tempdir().unwrap();
        let dir2 = shared_dir(tmp2.path());
        std::os::unix::fs::symlink(tmp.path(), &dir2).unwrap();
        assert!(shared_copy(&dir2, "libleakwatch_preload.so").is_none());
        // A changed library is left alone.
        let tmp3 = tempfile::tempdir().unwrap();
        let dir3 = shared_dir(tmp3.path());
        let lib = shared_copy(&dir3, "libleakwatch_preload.so").unwrap();
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&lib, b"\x7fELF not the tracer").unwrap();
        std::fs::set_permissions(&lib, std::fs::Permissions::from_mode(0o555)).unwrap();
        assert!(shared_copy(&dir3, "libleakwatch_preload.so").is_none());
    }

    #[test]
    fn a_private_copy_is_removed_after_the_trace() {
        if !available() {
            return;
        }
        let x = private_copy("libleakwatch_preload.so").unwrap();
        let bytes = std::fs::read(&x.path).unwrap();
        assert_eq!(&bytes[..4], b"\x7fELF");
        let dir = x.path.parent().unwrap().to_path_buf();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );
        drop(x);
        assert!(!dir.exists(), "the private directory outlived the trace");
    }
}
