//! Writing a page safely: never through a symbolic link, never replacing
//! anything but a regular file, never half-written under its final name.
//! The page goes to a hidden temporary file beside the destination, created
//! exclusively (`O_EXCL|O_NOFOLLOW`), and is renamed into place once
//! complete, so a browser or CI artifact upload never sees a cut page.

use std::path::Path;

use crate::HtmlError;

/// Writes `html` to `path` (mode 0644, or 0600 when `private`: heap pages
/// may show strings of the program), through leakwatch-files.
pub fn write_page(path: &Path, html: &str, private: bool) -> Result<(), HtmlError> {
    let mode = if private { 0o600 } else { 0o644 };
    Ok(leakwatch_files::write_replacing(
        path,
        html.as_bytes(),
        mode,
    )?)
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
        assert!(e.contains("does not exist"), "{e}");
    }
}
