//! `--html FILE` of run, watch, analyze, report, diff and where: the pages
//! are made by leakwatch_html; this adds the CLI's context to its errors.

use std::path::{Path, PathBuf};

use anyhow::Context;
use leakwatch_core::Report;
use leakwatch_html::monitor::{MonitorPage, Origin, SeriesSummary};

/// Writes a page; heap pages are private (mode 0600): they may show the
/// program's strings.
pub fn write(path: &Path, html: &str, private: bool) -> anyhow::Result<()> {
    leakwatch_html::write_page(path, html, private)
        .with_context(|| format!("cannot write the HTML report {}", path.display()))?;
    eprintln!("leakwatch: HTML report written to {}", path.display());
    Ok(())
}

/// Where `run` records its samples for the page when `--out` is not given:
/// a temporary file (removed when dropped) beside the page.
pub fn samples_file(
    out: Option<&Path>,
    html: Option<&Path>,
) -> anyhow::Result<Option<tempfile::TempPath>> {
    let (None, Some(page)) = (out, html) else {
        return Ok(None);
    };
    let dir = page
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file = tempfile::Builder::new()
        .prefix(".leakwatch-samples-")
        .suffix(".csv")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "cannot create a temporary file in {} for the HTML report's samples: check the directory exists and is writable",
                dir.display()
            )
        })?;
    Ok(Some(file.into_temp_path()))
}

/// The page of `run` or `watch`: the samples come from the CSV just written.
pub fn write_monitor_page(
    page: &Path,
    command: &str,
    subject: &str,
    report: &Report,
    csv: &Path,
    samples: u64,
    duration_s: f64,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(csv)
        .with_context(|| format!("cannot read the samples in {}", csv.display()))?;
    let series = SeriesSummary::read(std::io::BufReader::new(file), Origin::AsWritten)
        .with_context(|| format!("cannot read the samples in {}", csv.display()))?;
    let html = leakwatch_html::monitor_page(&MonitorPage {
        command,
        subject,
        report,
        series: &series,
        samples,
        duration_s,
        notes: Vec::new(),
    });
    write(page, &html, false)
}

/// A path for messages.
pub fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// The files of a diff, for the page.
pub fn names(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| shown(p)).collect()
}
