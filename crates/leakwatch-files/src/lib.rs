//! Output files written safely: reports, baselines and pages that may land
//! in shared directories and be written as root.
//!
//! - never through a symbolic link, never over anything but a regular file
//!   (a device, FIFO, socket or directory at the path is refused);
//! - never half-written under the final name: the bytes go to a hidden
//!   temporary file beside the destination, created exclusively
//!   (`O_EXCL|O_NOFOLLOW`, so a link planted at that name is not followed
//!   either), flushed to disk, then renamed into place; `rename` replaces
//!   the directory entry itself, so a link planted after the check is
//!   replaced, never followed;
//! - checkable before any work starts ([`check_output_path`]), so a bad
//!   output path fails at once and not after a long run.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path cannot be an output file; `why` says why and what to do.
    #[error("{}: {why}", path.display())]
    Refused { path: PathBuf, why: String },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn refused(path: &Path, why: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The directory an output file goes to (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Whether `path` may be written: missing (in an existing directory) or a
/// regular file.
pub fn check_output_path(path: &Path) -> Result<(), OutputError> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => Err(refused(
            path,
            "it is a symbolic link, and leakwatch does not write through links; choose another path",
        )),
        Ok(md) if !md.is_file() => Err(refused(
            path,
            "it exists and is not a regular file (a directory, device, FIFO or socket); give a file path",
        )),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent(path);
            if path.file_name().is_none() {
                Err(refused(path, "it names a directory, not a file"))
            } else if dir.is_dir() {
                Ok(())
            } else {
                Err(refused(
                    path,
                    format!(
                        "the directory {} does not exist; create it or choose another path",
                        dir.display()
                    ),
                ))
            }
        }
        Err(source) => Err(OutputError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to `path` with permission bits `mode` (less the umask),
/// replacing a regular file already there, through a temporary file
/// renamed into place. Leaves no temporary file behind on failure.
pub fn write_replacing(path: &Path, bytes: &[u8], mode: u32) -> Result<(), OutputError> {
    check_output_path(path)?;
    let name = path
        .file_name()
        .ok_or_else(|| refused(path, "it names a directory, not a file"))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent(path).join(format!(
        ".{}.{}.{nonce}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let io = |source: std::io::Error| OutputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io)?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            drop(f);
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn partial_files(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".partial"))
            .collect()
    }

    #[test]
    fn writes_replaces_with_the_mode_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.html");
        write_replacing(&p, b"one", 0o644).unwrap();
        write_replacing(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644 & !current_umask());
        let q = dir.path().join("heap.html");
        write_replacing(&q, b"x", 0o600).unwrap();
        let mode = std::fs::metadata(&q).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(partial_files(dir.path()).is_empty());
    }

    fn current_umask() -> u32 {
        // SAFETY: umask is process-wide; set back at once.
        unsafe {
            let old = libc::umask(0o022);
            libc::umask(old);
            old
        }
    }

    #[test]
    fn links_devices_directories_and_missing_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("out.sarif");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write_replacing(&link, b"x", 0o644).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let e = write_replacing(dir.path(), b"x", 0o644)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = write_replacing(Path::new("/dev/null"), b"x", 0o644)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = check_output_path(&dir.path().join("no/such/dir/r.html"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        assert!(partial_files(dir.path()).is_empty());
    }
}
