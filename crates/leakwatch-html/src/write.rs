//! Writing a page safely: never through a symbolic link, never replacing
//! anything but a regular file, never half-written under its final name.
//! The page goes to a hidden temporary file beside the destination, created
//! exclusively (`O_EXCL|O_NOFOLLOW`), and is renamed into place once
//! complete, so a browser or CI artifact upload never sees a cut page.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::HtmlError;

/// Writes `html` to `path` (mode 0644, or 0600 when `private`: heap pages
/// may show strings of the program).
pub fn write_page(path: &Path, html: &str, private: bool) -> Result<(), HtmlError> {
    let shown = path.display().to_string();
    let unsafe_ = |why: &str| HtmlError::Unsafe {
        path: shown.clone(),
        why: why.to_string(),
    };
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => {
            return Err(unsafe_(
                "is a symbolic link: leakwatch does not write through links; choose another path",
            ))
        }
        Ok(md) if !md.is_file() => {
            return Err(unsafe_(
                "exists and is not a regular file: choose a file path",
            ))
        }
        _ => {}
    }
    let name = path
        .file_name()
        .ok_or_else(|| unsafe_("names a directory, not a file"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.{}.{nonce}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let io = |source: std::io::Error| HtmlError::Io {
        path: shown.clone(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 })
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io)?;
    let written = f
        .write_all(html.as_bytes())
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            drop(f);
            // rename() replaces the destination entry itself: a link planted
            // after the check above is replaced, never followed.
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

    #[test]
    fn writes_replaces_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.html");
        write_page(&p, "<p>one</p>", false).unwrap();
        write_page(&p, "<p>two</p>", false).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "<p>two</p>");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        let q = dir.path().join("heap.html");
        write_page(&q, "x", true).unwrap();
        let mode = std::fs::metadata(&q).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn refuses_links_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("r.html");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = write_page(&link, "x", false).unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let e = write_page(dir.path(), "x", false).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = write_page(&dir.path().join("no/such/dir/r.html"), "x", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot write"), "{e}");
    }
}
