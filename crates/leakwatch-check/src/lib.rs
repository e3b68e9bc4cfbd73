//! `leakwatch check`: finds leak-prone code in Python, JavaScript/TypeScript
//! (JSX/TSX), Go, Java, Ruby and PHP.
//!
//! Flow: [`walk`] finds files (respecting .gitignore) → each file is read,
//! screened (size, binary, UTF-8) and parsed with tree-sitter in parallel →
//! [`analyze`] runs the scope-aware rules → inline suppressions are applied →
//! [`Finding`]s get stable fingerprints for [`baseline`]s → [`output`] renders
//! text, JSON or SARIF.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

pub mod analyze;
pub mod baseline;
pub mod config;
pub mod deploy;
pub mod lang;
pub mod output;
pub mod rules;
mod suppress;
pub mod walk;

pub use config::{CheckSection, RuleOptions, Severity};
pub use lang::{FileKind, Lang};
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
    #[error(transparent)]
    Output(#[from] leakwatch_files::OutputError),
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
    /// The source line of the finding; of a line longer than
    /// [`SNIPPET_MAX`] characters (minified code), the part around the
    /// spot, with `…` where it was cut.
    pub snippet: String,
    /// The 1-based column of the spot within `snippet` (`column` unless
    /// the line was cut).
    pub snippet_column: usize,
    /// Stable across line shifts: rule + path + normalized snippet.
    pub fingerprint: String,
}

/// Why a file was not checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum SkipReason {
    /// Larger than `max-file-size` (a policy: generated files).
    TooLarge { bytes: u64, limit: u64 },
    /// A NUL byte in the first 8 KiB.
    Binary,
    /// The content is not UTF-8.
    NotUtf8,
    /// The file could not be opened or read.
    Unreadable { error: String },
    /// The walk could not enter a path (symlink loop, dangling symlink,
    /// unreadable directory).
    WalkError { error: String },
    /// The name is not UTF-8, so no report could name it faithfully.
    PathNotUtf8,
    /// Named on the command line but not a regular file (a FIFO, socket or
    /// device is never opened: reading it could block forever).
    NotRegularFile { file_type: String },
    /// Named on the command line but not a kind of file `check` reads.
    Unsupported,
    /// Nested deeper than the per-file limit (generated or hostile code).
    TooDeep { depth: usize, limit: usize },
    /// Parsing and analysis did not finish within the per-file time limit.
    TimeLimit { seconds: u64 },
    /// A deployment file that could not be read (invalid YAML, an alias to
    /// nothing, nesting or node counts over the limits).
    Invalid { error: String },
    /// A template (`{{ ... }}`), not rendered YAML.
    Template,
}

impl SkipReason {
    /// A short label for text output.
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::TooLarge { .. } => "too large",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 => "not UTF-8",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::WalkError { .. } => "walk error",
            SkipReason::PathNotUtf8 => "name not UTF-8",
            SkipReason::NotRegularFile { .. } => "not a regular file",
            SkipReason::Unsupported => "not a supported language",
            SkipReason::TooDeep { .. } => "nested too deep",
            SkipReason::TimeLimit { .. } => "over the time limit",
            SkipReason::Invalid { .. } => "invalid",
            SkipReason::Template => "template",
        }
    }

    /// The detail and the fix, for text output.
    pub fn detail(&self) -> String {
        match self {
            SkipReason::TooLarge { bytes, limit } => {
                format!("{bytes} bytes > max-file-size {limit}; raise `max-file-size` in [check] to check it")
            }
            SkipReason::Binary => "NUL bytes: not source code".into(),
            SkipReason::NotUtf8 => {
                "content is not UTF-8; convert it, or add it to `exclude`".into()
            }
            SkipReason::Unreadable { error } => {
                format!("{error}; fix its permissions, or add it to `exclude`")
            }
            SkipReason::WalkError { error } => error.clone(),
            SkipReason::PathNotUtf8 => {
                "the file name is not UTF-8; rename it, or add it to `exclude`".into()
            }
            SkipReason::NotRegularFile { file_type } => {
                format!("a {file_type}, not a regular file; pass a file or a directory")
            }
            SkipReason::Unsupported => "not a language `check` reads (see docs/check.md)".into(),
            SkipReason::TooDeep { depth, limit } => {
                format!(
                    "nesting depth {depth} > limit {limit}; generated code? add it to `exclude`"
                )
            }
            SkipReason::TimeLimit { seconds } => {
                format!("not finished in {seconds} s; raise `max-file-seconds` in [check], or add it to `exclude`")
            }
            SkipReason::Invalid { error } => {
                format!("{error}; fix the file, or add it to `exclude`")
            }
            SkipReason::Template => {
                "a template, not rendered YAML: check the rendered output (`helm template`, `kustomize build`)".into()
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    #[serde(flatten)]
    pub reason: SkipReason,
    /// Named on the command line (not found by walking a directory).
    pub explicit: bool,
}

impl Skipped {
    /// Whether source that should have been judged was not: then the run
    /// cannot say "no leak" (exit 2). Policy skips (too large, binary,
    /// symlink loops whose target is checked anyway, dangling symlinks with
    /// nothing behind them) lose nothing, unless the file was named
    /// explicitly.
    pub fn loses_data(&self) -> bool {
        if self.explicit {
            return true;
        }
        match &self.reason {
            SkipReason::TooLarge { .. }
            | SkipReason::Binary
            | SkipReason::Unsupported
            | SkipReason::Template => false,
            SkipReason::WalkError { error } => error.contains("ermission denied"),
            _ => true,
        }
    }
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
    /// Files marked as generated (`Code generated ... DO NOT EDIT`,
    /// `@generated`), not checked: a fix belongs in their generator.
    pub generated: Vec<String>,
    /// Findings hidden by `leakwatch: ignore[...]` comments.
    pub suppressed: usize,
    /// Findings hidden because they are in the baseline.
    pub baselined: usize,
}

impl CheckReport {
    /// Files that should have been judged and were not (see
    /// [`Skipped::loses_data`]): a run with any cannot say "no leak".
    pub fn lost(&self) -> impl Iterator<Item = &Skipped> {
        self.skipped.iter().filter(|s| s.loses_data())
    }
}

/// Settings for one run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub rules: RuleOptions,
    pub max_file_size: u64,
    pub exclude: Vec<String>,
    /// Files nested deeper than this many named syntax levels are skipped.
    pub max_depth: usize,
    /// Parsing plus analysis of one file stops after this long.
    pub max_file_time: Duration,
    /// Check files marked as generated too (by default they are counted
    /// and not checked, as linters do).
    pub include_generated: bool,
}

pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;
pub const DEFAULT_MAX_FILE_TIME: Duration = Duration::from_secs(10);
pub use analyze::DEFAULT_MAX_DEPTH;

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            rules: RuleOptions::default(),
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            exclude: Vec::new(),
            max_depth: DEFAULT_MAX_DEPTH,
            max_file_time: DEFAULT_MAX_FILE_TIME,
            include_generated: false,
        }
    }
}

/// The result of checking one source text.
#[derive(Debug, Default)]
pub struct SourceResult {
    pub findings: Vec<Finding>,
    pub has_syntax_errors: bool,
    pub suppressed: usize,
    /// Set when a per-file limit stopped the check: nothing was judged.
    pub abandoned: Option<SkipReason>,
    /// What this file tells about its tree (see [`SourceResult::resolve`]);
    /// boxed, being large and empty for most files.
    pub facts: Box<analyze::TreeFacts>,
    /// Findings (by index) that stand unless the tree shows otherwise.
    pub pending: Vec<(usize, analyze::Unless)>,
}

impl SourceResult {
    /// Drops the findings the tree's facts refute: every file's facts
    /// merged when a tree is checked, the file's own for one source text.
    pub fn resolve(&mut self, tree: &analyze::TreeFacts) {
        if self.pending.is_empty() {
            return;
        }
        let mut drop = vec![false; self.findings.len()];
        for (i, unless) in self.pending.drain(..) {
            if tree.holds(&unless) {
                drop[i] = true;
            }
        }
        let mut i = 0;
        self.findings.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }
}

/// Checks one source text as `lang`, taken as a tree of its own; `path` is
/// only used in findings.
pub fn check_source(
    path: &str,
    lang: Lang,
    src: &str,
    opts: &RuleOptions,
) -> Result<SourceResult, CheckError> {
    let mut result = check_source_within(path, lang, src, opts, DEFAULT_MAX_DEPTH, None)?;
    let facts = std::mem::take(&mut result.facts);
    result.resolve(&facts);
    Ok(result)
}

/// [`check_source`] with per-file limits: a nesting depth and a time budget
/// for parsing plus analysis. Findings that rest on the rest of the tree
/// are left pending, with this file's facts: [`SourceResult::resolve`].
pub fn check_source_within(
    path: &str,
    lang: Lang,
    src: &str,
    opts: &RuleOptions,
    max_depth: usize,
    time_limit: Option<Duration>,
) -> Result<SourceResult, CheckError> {
    let started = Instant::now();
    let deadline = time_limit.map(|t| started + t);
    let timed_out = || SourceResult {
        abandoned: Some(SkipReason::TimeLimit {
            seconds: time_limit.map(|t| t.as_secs()).unwrap_or(0),
        }),
        ..Default::default()
    };
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&lang.grammar())
        .map_err(|e| CheckError::Grammar(lang.name(), e.to_string()))?;
    let bytes = src.as_bytes();
    let mut read = |i: usize, _: tree_sitter::Point| bytes.get(i..).unwrap_or(&[]);
    let mut over_time = |_: &tree_sitter::ParseState| deadline.is_some_and(|d| Instant::now() > d);
    let tree = parser.parse_with_options(
        &mut read,
        None,
        Some(tree_sitter::ParseOptions::new().progress_callback(&mut over_time)),
    );
    let Some(tree) = tree else {
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Ok(timed_out());
        }
        return Ok(SourceResult {
            has_syntax_errors: true,
            ..Default::default()
        });
    };
    let has_syntax_errors = tree.root_node().has_error();
    let limits = analyze::Limits {
        max_depth,
        deadline,
    };
    let (hits, facts) = match analyze::analyze_within(lang, src, &tree, opts, limits, path) {
        Ok(h) => h,
        Err(analyze::Abandoned::TimeLimit) => return Ok(timed_out()),
        Err(analyze::Abandoned::TooDeep { depth }) => {
            return Ok(SourceResult {
                abandoned: Some(SkipReason::TooDeep {
                    depth,
                    limit: max_depth,
                }),
                ..Default::default()
            })
        }
    };
    let mut out = finish_hits(path, src, hits, opts);
    out.has_syntax_errors = has_syntax_errors;
    out.facts = Box::new(facts);
    Ok(out)
}

/// Turns raw hits on `src` into findings: drops disabled rules, applies
/// inline suppressions, computes columns and fingerprints. Every file kind's
/// rules report through here, so suppressions, baselines and outputs behave
/// the same for all of them.
pub fn finish_hits(
    path: &str,
    src: &str,
    hits: Vec<analyze::Hit>,
    opts: &RuleOptions,
) -> SourceResult {
    let lines: Vec<&str> = src.lines().collect();
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut out = SourceResult::default();
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
        // The number of lines starting at or before the end byte.
        let end_line = line_starts.partition_point(|&s| s <= h.end_byte.min(src.len()));
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
        if let Some(unless) = h.unless {
            out.pending.push((out.findings.len(), unless));
        }
        let (snippet, snippet_column) = clip_line(line_text, column);
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
            snippet,
            snippet_column,
            fingerprint,
        });
    }
    out
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
            .map(|(path, kind, explicit)| walk::check_file(path, *kind, *explicit, opts))
            .collect()
    };
    // Facts of the whole tree first: a finding in one file may rest on how
    // another file calls its method.
    let mut facts = analyze::TreeFacts::default();
    let mut results = results;
    for r in &mut results {
        match r {
            walk::FileOutcome::Checked { result, .. } => {
                facts.merge(*std::mem::take(&mut result.facts));
            }
            walk::FileOutcome::Facts(page) => facts.merge(*std::mem::take(page)),
            _ => {}
        }
    }
    let mut report = CheckReport::default();
    for mut r in results {
        if let walk::FileOutcome::Checked { result, .. } = &mut r {
            result.resolve(&facts);
        }
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
            walk::FileOutcome::Generated { path } => report.generated.push(path),
            walk::FileOutcome::Ignored | walk::FileOutcome::Facts(_) => {}
            walk::FileOutcome::Failed(e) => return Err(e),
        }
    }
    report.skipped = skipped;
    report.parse_errors.sort();
    report.generated.sort();
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

/// Longest source line a finding carries whole: a minified bundle's one
/// line (half a megabyte) would fill the terminal, the JSON and the SARIF.
pub const SNIPPET_MAX: usize = 240;

/// `line`, or for a line over [`SNIPPET_MAX`] characters the window around
/// 1-based `column` with `…` where it was cut; and the column within it.
fn clip_line(line: &str, column: usize) -> (String, usize) {
    let len = line.chars().count();
    // Cut only what the two marks (3 bytes each) more than pay for.
    if len <= SNIPPET_MAX + 8 {
        return (line.to_string(), column);
    }
    let spot = column.saturating_sub(1).min(len);
    let from = spot.saturating_sub(SNIPPET_MAX / 3);
    let to = (from + SNIPPET_MAX).min(len);
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(line.chars().skip(from).take(to - from));
    if to < len {
        out.push('…');
    }
    (out, spot - from + 1 + usize::from(from > 0))
}

#[cfg(test)]
mod snippet_tests {
    use super::{clip_line, SNIPPET_MAX};

    #[test]
    fn long_lines_are_cut_around_the_spot() {
        let short = "x = 1";
        assert_eq!(clip_line(short, 3), (short.to_string(), 3));
        let long: String = (0..2000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let (cut, col) = clip_line(&long, 1000);
        assert!(cut.starts_with('…') && cut.ends_with('…'));
        assert_eq!(cut.chars().count(), SNIPPET_MAX + 2);
        // The spot's character is at the column given within the cut.
        assert_eq!(cut.chars().nth(col - 1), long.chars().nth(999));
        let (start, col) = clip_line(&long, 2);
        assert!(!start.starts_with('…') && start.ends_with('…'));
        assert_eq!(col, 2);
        let (end, col) = clip_line(&long, 2000);
        assert!(end.starts_with('…') && !end.ends_with('…'));
        assert_eq!(end.chars().nth(col - 1), long.chars().nth(1999));
    }
}
