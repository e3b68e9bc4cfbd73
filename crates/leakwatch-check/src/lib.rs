//! `leakwatch check`: finds leak-prone code in Python, JavaScript/TypeScript
//! (JSX/TSX), Go and Java.
//!
//! Flow: [`walk`] finds files (respecting .gitignore) → each file is read,
//! screened (size, binary, UTF-8) and parsed with tree-sitter in parallel →
//! [`analyze`] runs the scope-aware rules → inline suppressions are applied →
//! [`Finding`]s get stable fingerprints for [`baseline`]s → [`output`] renders
//! text, JSON or SARIF.

use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod analyze;
pub mod baseline;
pub mod config;
pub mod lang;
pub mod output;
pub mod rules;
mod suppress;
pub mod walk;

pub use config::{CheckSection, RuleOptions, Severity};
pub use lang::Lang;
pub use rules::Rule;

/// Errors that stop a check (bad files are not errors: they are counted).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration in {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("unknown rule `{0}`; run `leakwatch check --explain` for the list")]
    UnknownRule(String),
    #[error("no such file or directory: {0} (check the path you passed)")]
    NoSuchPath(PathBuf),
    #[error("invalid baseline {path}: {message} (regenerate it with --write-baseline)")]
    Baseline { path: PathBuf, message: String },
    #[error("tree-sitter grammar for {0} failed to load: {1}")]
    Grammar(&'static str, String),
}

/// One leak-prone spot.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub path: String,
    /// 1-based line and column (columns count characters).
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// What leaks and why.
    pub message: String,
    /// The fix, in one line.
    pub fix: String,
    /// The source line of the finding.
    pub snippet: String,
    /// Stable across line shifts: rule + path + normalized snippet.
    pub fingerprint: String,
}

/// Why a file was not checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum SkipReason {
    TooLarge { bytes: u64, limit: u64 },
    Binary,
    NotUtf8,
    Unreadable { error: String },
    WalkError { error: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    #[serde(flatten)]
    pub reason: SkipReason,
}

/// The result of checking a set of paths.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
    pub files_checked: usize,
    pub lines_checked: usize,
    /// Files tree-sitter could only partly parse (still checked, reported).
    pub parse_errors: Vec<String>,
    pub skipped: Vec<Skipped>,
    /// Findings hidden by `leakwatch: ignore[...]` comments.
    pub suppressed: usize,
    /// Findings hidden because they are in the baseline.
    pub baselined: usize,
}

/// Settings for one run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub rules: RuleOptions,
    pub max_file_size: u64,
    pub exclude: Vec<String>,
}

pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            rules: RuleOptions::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            exclude: Vec::new(),
        }
    }
}

/// The result of checking one source text.
#[derive(Debug, Default)]
pub struct SourceResult {
    pub findings: Vec<Finding>,
    pub has_syntax_errors: bool,
    pub suppressed: usize,
}

/// Checks one source text as `lang`; `path` is only used in findings.
pub fn check_source(
    path: &str,
    lang: Lang,
    src: &str,
    opts: &RuleOptions,
) -> Result<SourceResult, CheckError> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&lang.grammar())
        .map_err(|e| CheckError::Grammar(lang.name(), e.to_string()))?;
    let Some(tree) = parser.parse(src, None) else {
        return Ok(SourceResult {
            has_syntax_errors: true,
            ..Default::default()
        });
    };
    let has_syntax_errors = tree.root_node().has_error();
    let hits = analyze::analyze(lang, src, &tree, opts);
    let lines: Vec<&str> = src.lines().collect();
    let mut out = SourceResult {
        has_syntax_errors,
        ..Default::default()
    };
    let mut seen: std::collections::HashMap<(Rule, String), usize> =
        std::collections::HashMap::new();
    for h in hits {
        if !opts.enabled(h.rule) {
            continue;
        }
        if suppress::is_suppressed(&lines, h.line - 1, h.rule) {
            out.suppressed += 1;
            continue;
        }
        let line_text = lines.get(h.line - 1).copied().unwrap_or("");
        let column = char_col(line_text, h.col_byte);
        let end_line = src[..h.end_byte.min(src.len())].matches('\n').count() + 1;
        let (end_line, end_column) = if end_line == h.line {
            let end_byte_in_line = h.col_byte + (h.end_byte - h.start_byte);
            (end_line, char_col(line_text, end_byte_in_line))
        } else {
            (h.line, line_text.chars().count() + 1)
        };
        let norm = baseline::normalize(line_text);
        let occurrence = seen.entry((h.rule, norm.clone())).or_insert(0);
        let fingerprint = baseline::fingerprint(h.rule, path, &norm, *occurrence);
        *occurrence += 1;
        out.findings.push(Finding {
            rule: h.rule,
            severity: opts.severity(h.rule),
            path: path.to_string(),
            line: h.line,
            column,
            end_line,
            end_column: end_column.max(column + 1),
            message: h.message,
            fix: h.fix,
            snippet: line_text.to_string(),
            fingerprint,
        });
    }
    Ok(out)
}

/// 1-based character column of a byte offset within a line.
fn char_col(line: &str, byte: usize) -> usize {
    let mut b = byte.min(line.len());
    while b > 0 && !line.is_char_boundary(b) {
        b -= 1;
    }
    line[..b].chars().count() + 1
}

/// Walks `paths` and checks every supported file in parallel.
pub fn check_paths(paths: &[PathBuf], opts: &CheckOptions) -> Result<CheckReport, CheckError> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(CheckError::NoSuchPath(p.clone()));
        }
    }
    let (files, mut skipped) = walk::collect(paths, &opts.exclude);
    let results: Vec<walk::FileOutcome> = {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|(path, lang)| walk::check_file(path, *lang, opts))
            .collect()
    };
    let mut report = CheckReport::default();
    for r in results {
        match r {
            walk::FileOutcome::Checked {
                path,
                lines,
                result,
            } => {
                report.files_checked += 1;
                report.lines_checked += lines;
                if result.has_syntax_errors {
                    report.parse_errors.push(path);
                }
                report.suppressed += result.suppressed;
                report.findings.extend(result.findings);
            }
            walk::FileOutcome::Skipped(s) => skipped.push(s),
            walk::FileOutcome::Failed(e) => return Err(e),
        }
    }
    report.skipped = skipped;
    report.parse_errors.sort();
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    report.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, a.rule).cmp(&(&b.path, b.line, b.column, b.rule))
    });
    Ok(report)
}

/// A path as shown in findings: relative as given, `/`-separated, no `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}
