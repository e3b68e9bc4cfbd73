//! The tracer library built into the binary (see build.rs), for installs
//! that have only the `leakwatch` executable (`cargo install`): written, when
//! `trace` finds no library on disk, into a directory of its own (mode 0755:
//! only leakwatch's user can write into it; unpredictable name) that is
//! removed when the trace ends.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::Context;

/// The library's bytes; empty when the build could not embed it.
static EMBEDDED: &[u8] = include_bytes!(env!("LEAKWATCH_PRELOAD_EMBED"));

/// A copy of the embedded library on disk, removed on drop.
#[derive(Debug)]
pub struct Extracted {
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Whether this binary carries the tracer library.
pub fn available() -> bool {
    !EMBEDDED.is_empty()
}

/// Writes the embedded library into a fresh private directory.
pub fn extract(file_name: &str) -> anyhow::Result<Extracted> {
    anyhow::ensure!(
        available(),
        "this leakwatch was built without the tracer library"
    );
    // A random name and no write permission for anyone else (set at
    // creation), so no other user can plant or swap the library before it
    // is loaded. Readable by all: a program that runs as another user
    // (root attaching to a service account's process, a traced program
    // that drops privileges and then execs) must be able to load it.
    use std::os::unix::fs::PermissionsExt as _;
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
    Ok(Extracted { path, _dir: dir })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_library_is_an_elf_shared_object() {
        if !super::available() {
            return; // built with LEAKWATCH_EMBED_PRELOAD=0
        }
        let x = super::extract("libleakwatch_preload.so").unwrap();
        let bytes = std::fs::read(&x.path).unwrap();
        assert_eq!(&bytes[..4], b"\x7fELF");
        let dir = x.path.parent().unwrap().to_path_buf();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o755
        );
        drop(x);
        assert!(!dir.exists(), "the private directory outlived the trace");
    }
}
