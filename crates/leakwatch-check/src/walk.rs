//! File discovery and per-file screening. Bad files are never errors: they
//! are skipped and counted with the reason.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::WalkBuilder;

use crate::deploy::{DeployKind, DeployOutcome};
use crate::{
    check_source_within, display_path, CheckError, CheckOptions, FileKind, Lang, SkipReason,
    Skipped, SourceResult,
};

/// A file to check: its path, its kind and whether it was named on the
/// command line.
pub type FileToCheck = (PathBuf, FileKind, bool);

/// Finds the files to check under `paths` (respecting .gitignore, following
/// symlinks with loop detection). Returns files and every file not checked
/// with the reason: nothing is dropped silently.
pub fn collect(paths: &[PathBuf], exclude: &[String]) -> (Vec<FileToCheck>, Vec<Skipped>) {
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
                // Depth 0: a path named on the command line.
                let explicit = e.depth() == 0;
                let Some(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    continue;
                }
                let skip = |reason| Skipped {
                    path: display_path(e.path()),
                    reason,
                    explicit,
                };
                if !ft.is_file() {
                    // FIFOs, sockets and devices are never opened (a read
                    // could block forever); walking, they are not source.
                    if explicit {
                        skipped.push(skip(SkipReason::NotRegularFile {
                            file_type: file_type_name(&ft).into(),
                        }));
                    }
                    continue;
                }
                let kind = FileKind::from_path(e.path()).or_else(|| sniff(e.path()));
                match kind {
                    Some(_) if e.path().to_str().is_none() => {
                        skipped.push(skip(SkipReason::PathNotUtf8));
                    }
                    Some(kind) => files.push((e.into_path(), kind, explicit)),
                    None if explicit => skipped.push(skip(SkipReason::Unsupported)),
                    None => {}
                }
            }
            Err(err) => {
                let path = err_path(&err).map(|p| display_path(&p)).unwrap_or_default();
                let explicit = paths.iter().any(|p| display_path(p) == path);
                skipped.push(Skipped {
                    path,
                    reason: SkipReason::WalkError {
                        error: err.to_string(),
                    },
                    explicit,
                });
            }
        }
    }
    files.sort();
    files.dedup();
    (files, skipped)
}

/// The kind of a file whose name says nothing, from its first 32 KiB (a
/// systemd unit in `ops/api`, a PHP-FPM pool in `www.conf`, a script in
/// `bin/` with a `#!` line).
fn sniff(path: &Path) -> Option<FileKind> {
    use std::io::Read;
    if !DeployKind::worth_sniffing(path) {
        return None;
    }
    // 32 KiB: Debian's www.conf has 4 KiB of comments before `pm =`.
    let mut head = Vec::with_capacity(32 * 1024);
    std::fs::File::open(path)
        .ok()?
        .take(32 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    if head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(&head);
    if path.extension().is_none() {
        if let Some(lang) = crate::Lang::from_shebang(text.lines().next().unwrap_or("")) {
            return Some(FileKind::Source(lang));
        }
    }
    DeployKind::sniff(&text).map(FileKind::Deploy)
}

fn file_type_name(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "character device"
    } else {
        "special file"
    }
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

/// Whether a source file says it is generated, by the conventions tools
/// share: Go's `// Code generated ... DO NOT EDIT.` (protoc, stringer,
/// mockgen, sqlc) and its kin in other languages (`# Generated by the
/// protocol buffer compiler.  DO NOT EDIT!`), and the `@generated` tag. Only
/// comment lines near the top count, so a string in code never does.
pub fn generated_marker(text: &str) -> bool {
    text.lines().take(GENERATED_HEADER_LINES).any(|line| {
        let t = line.trim_start();
        let comment = ["//", "#", "/*", "*", "--", "<!--", ";"]
            .iter()
            .any(|lead| t.starts_with(lead));
        comment
            && (t.contains("@generated")
                || (t.contains("DO NOT EDIT") && t.to_ascii_lowercase().contains("generated"))
                || from_grammar(t))
    })
}

/// Whether a comment line says its file was made from a grammar by a
/// parser or lexer generator: "generated from x.y" (or "by"), or the line
/// directive Bison, Lemon, PHP's ParserGenerator and Ragel leave pointing
/// into the grammar (`// line 12 "./lexer/parser.y"`). Such a parser's
/// tables and memos are the generator's, keyed by its states.
fn from_grammar(comment: &str) -> bool {
    const GRAMMARS: &[&str] = &[
        ".y", ".yy", ".jison", ".plex", ".lex", ".l", ".g4", ".rl", ".peg", ".pegjs", ".lemon",
    ];
    let lower = comment.to_ascii_lowercase();
    let body = lower.trim_start_matches(['/', '#', '*', ' ']);
    let directive = body
        .strip_prefix("line ")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    let said = lower.contains("generated from") || lower.contains("generated by");
    (directive || said)
        && lower
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | ','))
            .any(|w| GRAMMARS.iter().any(|g| w.len() > g.len() && w.ends_with(g)))
}

/// Whether JavaScript or TypeScript source is minified build output, as
/// CodeQL and Code Climate skip it: lines averaging over
/// [`MINIFIED_LINE_BYTES`] bytes (files named like bundles, `*.min.js`, are
/// not read at all: [`Lang::from_path`]). Its findings would point into a
/// bundle (a vendored library's, a compiled CoffeeScript's) whose fix
/// belongs in its source.
pub fn minified(lang: Lang, text: &str) -> bool {
    if !matches!(lang, Lang::JavaScript | Lang::TypeScript | Lang::Tsx) {
        return false;
    }
    let lines = text.lines().count().max(1);
    text.len() >= MINIFIED_MIN_BYTES && text.len() / lines > MINIFIED_LINE_BYTES
}

/// Average line length above which source is taken for minified: written
/// code averages 30-40 bytes a line, bundles thousands.
const MINIFIED_LINE_BYTES: usize = 200;
/// Below this size a file is read whatever its lines (a one-line module).
const MINIFIED_MIN_BYTES: usize = 4096;

/// How far down the header comment the marker is looked for.
const GENERATED_HEADER_LINES: usize = 40;

/// What happened to one file.
pub enum FileOutcome {
    Checked {
        path: String,
        lines: usize,
        result: SourceResult,
    },
    Skipped(Skipped),
    /// Marked as generated: counted, not checked (see [`generated_marker`]).
    Generated {
        path: String,
    },
    /// Not a file `check` reads after all (a YAML file that is not a
    /// deployment): not counted.
    Ignored,
    /// Read only for what it tells about the tree (an HTML page's inline
    /// script globals): not counted, never a finding.
    Facts(Box<crate::analyze::TreeFacts>),
    Failed(CheckError),
}

/// Reads, screens and checks one file.
pub fn check_file(path: &Path, kind: FileKind, explicit: bool, opts: &CheckOptions) -> FileOutcome {
    if kind == FileKind::Page && !explicit {
        return page_facts(path, opts);
    }
    let shown = display_path(path);
    let skip = |reason| {
        FileOutcome::Skipped(Skipped {
            path: shown.clone(),
            reason,
            explicit,
        })
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > opts.max_file_size => {
            return skip(SkipReason::TooLarge {
                bytes: m.len(),
                limit: opts.max_file_size,
            })
        }
        Ok(m) if !m.is_file() => {
            return skip(SkipReason::NotRegularFile {
                file_type: file_type_name(&m.file_type()).into(),
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
        // Source in a legacy ASCII-based encoding (Shift JIS, Latin-1 under a
        // `coding:` comment) is still code: only its strings and comments are
        // not ASCII, and no rule reads those, so the bytes that are not UTF-8
        // are read as U+FFFD (line numbers unchanged) rather than the file
        // dropped and the run called incomplete.
        Err(e) if matches!(kind, FileKind::Source(_)) => {
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
        Err(_) => return skip(SkipReason::NotUtf8),
    };
    if let FileKind::Source(lang) = kind {
        if !explicit
            && !opts.include_generated
            && (generated_marker(&text) || minified(lang, &text))
        {
            return FileOutcome::Generated { path: shown };
        }
    }
    let lines = text.lines().count();
    let checked = match kind {
        FileKind::Source(lang) => check_source_within(
            &shown,
            lang,
            &text,
            &opts.rules,
            opts.max_depth,
            Some(opts.max_file_time),
        ),
        FileKind::Deploy(d) => match crate::deploy::check(path, d, &text) {
            Ok(DeployOutcome::Hits(hits)) => {
                Ok(crate::finish_hits(&shown, &text, hits, &opts.rules))
            }
            Ok(DeployOutcome::NotDeployment) if explicit => return skip(SkipReason::Unsupported),
            Ok(DeployOutcome::NotDeployment) => return FileOutcome::Ignored,
            Ok(DeployOutcome::Template) => return skip(SkipReason::Template),
            Err(e) => {
                return skip(SkipReason::Invalid {
                    error: e.to_string(),
                })
            }
        },
        // Named on the command line: no rule reads a page, say so.
        FileKind::Page => return skip(SkipReason::Unsupported),
    };
    match checked {
        Ok(SourceResult {
            abandoned: Some(reason),
            ..
        }) => skip(reason),
        Ok(result) => FileOutcome::Checked {
            path: shown,
            lines,
            result,
        },
        Err(e) => FileOutcome::Failed(e),
    }
}

/// An HTML page's facts. A page that cannot be read, or is too large, adds
/// none and is not reported: no rule reads it.
fn page_facts(path: &Path, opts: &CheckOptions) -> FileOutcome {
    let readable =
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= opts.max_file_size);
    match std::fs::read(path) {
        Ok(bytes) if readable => FileOutcome::Facts(Box::new(crate::analyze::page_facts(
            &String::from_utf8_lossy(&bytes),
        ))),
        _ => FileOutcome::Ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::{generated_marker, minified};
    use crate::Lang;

    #[test]
    fn minified_javascript_is_told_by_its_lines() {
        let written = "function f(a) {\n  return a + 1;\n}\n".repeat(400);
        let bundle = "var a=1;".repeat(2000);
        assert!(!minified(Lang::JavaScript, &written));
        assert!(minified(Lang::JavaScript, &bundle));
        assert!(minified(Lang::Tsx, &bundle));
        // A small one-line module is read; other languages are never minified.
        assert!(!minified(Lang::JavaScript, "module.exports = 1;"));
        assert!(!minified(Lang::Python, &bundle));
    }

    #[test]
    fn parsers_made_from_a_grammar_are_generated() {
        assert!(generated_marker(
            "<?php\n\nclass S {}\n\n// line 11 \"./lexer/smarty_internal_templateparser.y\"\n"
        ));
        assert!(generated_marker(
            "<?php\n/**\n* It is generated from the configfileparser.y file\n*/\n"
        ));
        assert!(generated_marker("# Generated by Ragel from lexer.rl\n"));
        // A line number or a file name alone is no marker.
        assert!(!generated_marker("// line 3 of the table below\n"));
        assert!(!generated_marker("// see parser.y for the grammar\n"));
        assert!(!generated_marker(
            "x = 1 # generated by hand, see notes.txt\n"
        ));
    }

    #[test]
    fn generated_markers_of_common_generators_are_recognised() {
        for header in [
            "// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: a.proto\n\npackage pb\n",
            "// Copyright 2020 The Go Authors.\n\n// Code generated by generate_zipdata. DO NOT EDIT.\n\npackage tzdata\n",
            "# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n# source: a.proto\n",
            "/**\n * @generated by graphql-codegen\n */\nexport const a = 1;\n",
            "<?php\n// @generated\n$a = 1;\n",
        ] {
            assert!(generated_marker(header), "{header}");
        }
    }

    #[test]
    fn hand_written_files_are_not_taken_for_generated() {
        for text in [
            "package main\n\n// Do not edit the constants below without the team.\n",
            "x = \"Code generated. DO NOT EDIT.\"\n",
            "# Rails schema: this file is auto-generated from the database.\n",
            // The marker below the header is not the file's.
            &format!(
                "{}// Code generated by x. DO NOT EDIT.\n",
                "// a\n".repeat(60)
            ),
        ] {
            assert!(!generated_marker(text), "{text}");
        }
    }
}
