//! Writing heap snapshots and dumps safely. They hold every string of the
//! program (tokens, passwords, personal data), so they are created private
//! (mode 0600, in a directory leakwatch creates with mode 0700), never by
//! following a symbolic link someone planted, and never half-written under
//! their final name: data goes to a hidden `.NAME.partial` file first, which
//! is renamed into place only once complete. A run killed mid-write leaves
//! at most that hidden partial file, never a 0-byte or cut snapshot that a
//! later `leakwatch diff *.heapsnapshot` would pick up.

use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` (and missing parents) for private output: a directory
/// created here gets mode 0700. An existing directory is used as it is, but
/// never through a symbolic link, and not if it is writable by others
/// without the sticky bit (anyone could then swap files in it).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link; pass the real directory",
                dir.display()
            ),
        )),
        Ok(m) if !m.is_dir() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} exists and is not a directory", dir.display()),
        )),
        Ok(m) => {
            let mode = m.permissions().mode();
            if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{} is writable by every user (mode {:o}): choose a private directory \
                         for heap snapshots, which hold all of the program's data",
                        dir.display(),
                        mode & 0o7777
                    ),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir),
        Err(e) => Err(e),
    }
}

/// The hidden file a snapshot is written to before it is complete.
pub fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.partial"))
}

/// A file being written: created exclusively (`O_EXCL|O_NOFOLLOW`, mode
/// 0600) under a hidden partial name, renamed to its destination by
/// [`PendingFile::commit`]; removed if dropped before that.
pub struct PendingFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl PendingFile {
    pub fn create(dest: &Path) -> io::Result<Self> {
        refuse_existing(dest)?;
        let tmp = partial_path(dest);
        let file = open_exclusive(&tmp)?;
        Ok(PendingFile {
            file: Some(file),
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until committed")
    }

    /// The partial file's path (for messages).
    pub fn partial(&self) -> &Path {
        &self.tmp
    }

    /// Flushes the data to disk and gives the file its final name (refusing
    /// to replace a file that appeared there meanwhile).
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let file = self.file.take().expect("committed once");
        file.sync_all()?;
        drop(file);
        rename_no_replace(&self.tmp, &self.dest)?;
        Ok(std::mem::take(&mut self.dest))
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn refuse_existing(dest: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dest) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} already exists; leakwatch does not overwrite snapshots",
                dest.display()
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn open_exclusive(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Makes a file written by another program (a JVM writing its heap dump
/// into our private directory) private and gives it its final name: opened
/// without following links, checked to be a regular file, mode 0600.
pub fn adopt(written: &Path, dest: &Path) -> io::Result<PathBuf> {
    refuse_existing(dest)?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(written)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file", written.display()),
        ));
    }
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    drop(f);
    rename_no_replace(written, dest)?;
    Ok(dest.to_path_buf())
}

/// `rename` that fails instead of replacing an existing destination.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // File systems without RENAME_NOREPLACE: a hard link fails on an
        // existing destination too.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pending_file_is_private_and_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snaps");
        create_private_dir(&out).unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let dest = out.join("a.heapsnapshot");
        let mut p = PendingFile::create(&dest).unwrap();
        p.file().write_all(b"{}").unwrap();
        assert!(!dest.exists());
        let mode = std::fs::metadata(p.partial()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        p.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"{}");
        assert!(!partial_path(&dest).exists());
        // Never overwritten.
        assert!(PendingFile::create(&dest).is_err());
        // Dropped before commit: nothing left behind.
        let other = out.join("b.heapsnapshot");
        drop(PendingFile::create(&other).unwrap());
        assert!(!other.exists() && !partial_path(&other).exists());
    }

    #[test]
    fn planted_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let dest = dir.path().join("s.heapsnapshot");
        std::os::unix::fs::symlink(&victim, partial_path(&dest)).unwrap();
        assert!(PendingFile::create(&dest).is_err());
        std::os::unix::fs::symlink(&victim, &dest).unwrap();
        assert!(PendingFile::create(&dest).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let link_dir = dir.path().join("linkdir");
        std::os::unix::fs::symlink(dir.path(), &link_dir).unwrap();
        assert!(create_private_dir(&link_dir).is_err());
    }

    #[test]
    fn adopt_makes_a_written_file_private() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join(".dump.partial");
        std::fs::write(&w, b"JAVA PROFILE").unwrap();
        std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o644)).unwrap();
        let dest = dir.path().join("dump.hprof");
        adopt(&w, &dest).unwrap();
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!w.exists());
    }
}
