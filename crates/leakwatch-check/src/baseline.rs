//! Baselines: the fingerprints of accepted findings, so a team adopting the
//! checker sees only new ones. A fingerprint hashes the rule, the path and the
//! whitespace-normalized source line (plus an occurrence index for identical
//! lines), so edits elsewhere in the file that shift lines do not resurface it.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{CheckError, CheckReport, Finding, Rule};

/// Collapses whitespace so re-indentation does not change a fingerprint.
pub fn normalize(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FNV-1a 64: stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub fn fingerprint(rule: Rule, path: &str, normalized_line: &str, occurrence: usize) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}",
        rule.id(),
        path,
        normalized_line,
        occurrence
    );
    format!("{:016x}", fnv1a(key.as_bytes()))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<BaselineEntry>,
}

/// The fingerprints of `findings` with each path taken relative to `root`
/// (the baseline file's directory) instead of as it was given on the
/// command line, so `check .`, `check "$PWD"` and `check proj` from the
/// parent all give the same ones. A path outside `root` is kept absolute.
/// Occurrences of the same line count in the findings' order, which is
/// the same in every run.
pub fn rooted_fingerprints(findings: &[Finding], root: &Path) -> Vec<String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut seen: std::collections::HashMap<(Rule, String, String), usize> = Default::default();
    findings
        .iter()
        .map(|f| {
            let path = Path::new(&f.path);
            let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            let rooted = full
                .strip_prefix(&root)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| full.to_string_lossy().into_owned());
            let norm = normalize(&f.snippet);
            let occurrence = seen
                .entry((f.rule, rooted.clone(), norm.clone()))
                .or_insert(0);
            let fp = fingerprint(f.rule, &rooted, &norm, *occurrence);
            *occurrence += 1;
            fp
        })
        .collect()
}

impl Baseline {
    /// `root`: the directory of the baseline file, which paths in the
    /// fingerprints are taken relative to.
    pub fn from_findings(findings: &[Finding], root: &Path) -> Baseline {
        let rooted = rooted_fingerprints(findings, root);
        Baseline {
            version: 1,
            findings: findings
                .iter()
                .zip(rooted)
                .map(|(f, fingerprint)| BaselineEntry {
                    fingerprint,
                    rule: f.rule.id().to_string(),
                    path: f.path.clone(),
                    message: f.message.clone(),
                })
                .collect(),
        }
    }

    pub fn load(path: &Path) -> Result<Baseline, CheckError> {
        let text = std::fs::read_to_string(path).map_err(|source| CheckError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| CheckError::Baseline {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if b.version != 1 {
            return Err(CheckError::Baseline {
                path: path.to_path_buf(),
                message: format!("unsupported version {}", b.version),
            });
        }
        Ok(b)
    }

    pub fn write(&self, path: &Path) -> Result<(), CheckError> {
        let text = serde_json::to_string_pretty(self).expect("baseline serializes");
        Ok(leakwatch_files::write_replacing(
            path,
            (text + "\n").as_bytes(),
            0o644,
        )?)
    }

    /// Drops findings present in the baseline; counts them in the report.
    /// `root` as in [`Baseline::from_findings`]. A baseline written before
    /// fingerprints were rooted (paths as given, from the same directory)
    /// still matches.
    pub fn apply(&self, report: &mut CheckReport, root: &Path) {
        let known: HashSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let rooted = rooted_fingerprints(&report.findings, root);
        let before = report.findings.len();
        let mut i = 0;
        report.findings.retain(|f| {
            let keep =
                !known.contains(rooted[i].as_str()) && !known.contains(f.fingerprint.as_str());
            i += 1;
            keep
        });
        report.baselined += before - report.findings.len();
    }
}
