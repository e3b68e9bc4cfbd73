//! File discovery and per-file screening. Bad files are never errors: they
//! are skipped and counted with the reason.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::WalkBuilder;

use crate::{
    check_source, display_path, CheckError, CheckOptions, Lang, SkipReason, Skipped, SourceResult,
};

/// Finds the files to check under `paths` (respecting .gitignore, following
/// symlinks with loop detection). Returns files and walk problems.
pub fn collect(paths: &[PathBuf], exclude: &[String]) -> (Vec<(PathBuf, Lang)>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let Some(first) = paths.first() else {
        return (files, skipped);
    };
    let excluded = exclude_matcher(exclude);
    let mut builder = WalkBuilder::new(first);
    for p in &paths[1..] {
        builder.add(p);
    }
    builder.follow_links(true).require_git(false);
    if let Some(ex) = excluded {
        builder.filter_entry(move |e| {
            !ex.matched_path_or_any_parents(e.path(), e.file_type().is_some_and(|t| t.is_dir()))
                .is_ignore()
        });
    }
    for entry in builder.build() {
        match entry {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                if let Some(lang) = Lang::from_path(e.path()) {
                    files.push((e.into_path(), lang));
                }
            }
            Err(err) => {
                let path = err_path(&err).map(|p| display_path(&p)).unwrap_or_default();
                skipped.push(Skipped {
                    path,
                    reason: SkipReason::WalkError {
                        error: err.to_string(),
                    },
                });
            }
        }
    }
    files.sort();
    files.dedup();
    (files, skipped)
}

fn err_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } => err_path(err),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::Partial(errs) => errs.iter().find_map(err_path),
        _ => None,
    }
}

fn exclude_matcher(patterns: &[String]) -> Option<Gitignore> {
    if patterns.is_empty() {
        return None;
    }
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut b = GitignoreBuilder::new(root);
    for p in patterns {
        let _ = b.add_line(None, p);
    }
    b.build().ok()
}

/// What happened to one file.
pub enum FileOutcome {
    Checked {
        path: String,
        lines: usize,
        result: SourceResult,
    },
    Skipped(Skipped),
    Failed(CheckError),
}

/// Reads, screens and checks one file.
pub fn check_file(path: &Path, lang: Lang, opts: &CheckOptions) -> FileOutcome {
    let shown = display_path(path);
    let skip = |reason| {
        FileOutcome::Skipped(Skipped {
            path: shown.clone(),
            reason,
        })
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > opts.max_file_size => {
            return skip(SkipReason::TooLarge {
                bytes: m.len(),
                limit: opts.max_file_size,
            })
        }
        Ok(_) => {}
        Err(e) => {
            return skip(SkipReason::Unreadable {
                error: e.to_string(),
            })
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return skip(SkipReason::Unreadable {
                error: e.to_string(),
            })
        }
    };
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return skip(SkipReason::Binary);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => return skip(SkipReason::NotUtf8),
    };
    let lines = text.lines().count();
    match check_source(&shown, lang, &text, &opts.rules) {
        Ok(result) => FileOutcome::Checked {
            path: shown,
            lines,
            result,
        },
        Err(e) => FileOutcome::Failed(e),
    }
}
