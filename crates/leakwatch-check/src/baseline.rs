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

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        Baseline {
            version: 1,
            findings: findings
                .iter()
                .map(|f| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
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
    pub fn apply(&self, report: &mut CheckReport) {
        let known: HashSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let before = report.findings.len();
        report
            .findings
            .retain(|f| !known.contains(f.fingerprint.as_str()));
        report.baselined += before - report.findings.len();
    }
}
