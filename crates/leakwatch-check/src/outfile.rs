//! Writing reports and baselines safely: never through a symbolic link,
//! never replacing anything but a regular file, never half-written under
//! the final name. The text goes to a hidden temporary file beside the
//! destination, created exclusively (`O_CREAT|O_EXCL` never follows a
//! link), and is renamed into place once complete.

use std::io::Write;
use std::path::Path;

use crate::CheckError;

fn refused(path: &Path, why: &str) -> CheckError {
    CheckError::Output {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Whether `path` may be written: missing (in an existing directory) or a
/// regular file. Checked before any work is done, so a bad `-o` fails at
/// once.
pub fn check_output_path(path: &Path) -> Result<(), CheckError> {
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
            if dir.is_dir() {
                Ok(())
            } else {
                Err(refused(
                    path,
                    &format!("the directory {} does not exist", dir.display()),
                ))
            }
        }
        Err(source) => Err(CheckError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` (mode 0644 less the umask) through a temporary
/// file renamed into place.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), CheckError> {
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
    let io = |source: std::io::Error| CheckError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io)?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            drop(f);
            // rename() replaces the directory entry itself: a link planted
            // after the check is replaced, never followed.
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

    #[test]
    fn links_and_non_files_are_refused_and_files_replaced() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = d.path().join("out.sarif");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write_output(&link, b"report").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let e = write_output(d.path(), b"report").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = write_output(&d.path().join("missing/x.json"), b"r")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        write_output(&victim, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "report");
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
