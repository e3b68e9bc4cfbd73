//! Writing a page: through leakwatch-files (never through a link, never
//! over a non-regular file, never half-written under its final name, so a
//! browser or CI artifact upload never sees a cut page).

use std::path::Path;

use crate::HtmlError;

/// Writes `html` to `path` (mode 0644, or 0600 when `private`: heap pages
/// may show strings of the program).
pub fn write_page(path: &Path, html: &str, private: bool) -> Result<(), HtmlError> {
    let mode = if private { 0o600 } else { 0o644 };
    Ok(leakwatch_files::write_replacing(
        path,
        html.as_bytes(),
        mode,
    )?)
}

// The writer itself (links, non-regular files, partial files) is tested in
// leakwatch-files; here only what pages add: heap pages are private.
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn heap_pages_are_private_and_others_readable() {
        let dir = tempfile::tempdir().unwrap();
        for (name, private, mode) in [("r.html", false, 0o644), ("heap.html", true, 0o600)] {
            let p = dir.path().join(name);
            write_page(&p, "<p>x</p>", private).unwrap();
            let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{name}: mode {got:o}");
        }
    }
}
