//! What kind of file a path is, and the tree-sitter grammar of each source
//! language.
//!
//! Two levels: [`FileKind`] is what the walker and the per-file dispatch see
//! (every kind of file `check` reads); [`Lang`] is the subset read with a
//! tree-sitter grammar and the code rules of `analyze/`. A family of files
//! that are not tree-sitter languages (YAML manifests, Dockerfiles, INI-like
//! units...) adds a `FileKind` variant, recognises it in
//! [`FileKind::from_path`], and dispatches it in `walk::check_file`; its
//! rules report through [`crate::finish_hits`] so suppressions,
//! fingerprints, baselines and every output work unchanged.

use std::path::Path;

use serde::Serialize;

/// A source language read with tree-sitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    Ruby,
    Php,
}

/// Every kind of file `check` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FileKind {
    /// Source code in a tree-sitter language.
    Source(Lang),
    /// A deployment or runtime-configuration file.
    Deploy(crate::deploy::DeployKind),
    /// An HTML page or template (`.html`, `.htm`): no rule reads it, but
    /// its inline scripts declare globals the tree's scripts share.
    Page,
}

impl FileKind {
    /// The kind of a file from its name; `None` for files `check` does not
    /// read. Names that are not UTF-8 are recognised by their extension.
    pub fn from_path(path: &Path) -> Option<FileKind> {
        crate::deploy::DeployKind::from_name(path)
            .map(FileKind::Deploy)
            .or_else(|| Lang::from_path(path).map(FileKind::Source))
            .or_else(|| {
                let ext = path.extension()?.to_str()?.to_ascii_lowercase();
                matches!(ext.as_str(), "html" | "htm").then_some(FileKind::Page)
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            FileKind::Source(l) => l.name(),
            FileKind::Deploy(d) => d.name(),
            FileKind::Page => "HTML page",
        }
    }
}

impl Lang {
    pub const ALL: &'static [Lang] = &[
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::Ruby,
        Lang::Php,
    ];

    /// The language of a file from its name; `None` for files we do not check
    /// (including minified bundles and TypeScript declaration files).
    pub fn from_path(path: &Path) -> Option<Lang> {
        let name = path.file_name()?.to_string_lossy();
        if [".min.js", "-min.js", ".bundle.js", ".d.ts"]
            .iter()
            .any(|end| name.ends_with(end))
        {
            return None;
        }
        if matches!(name.as_ref(), "Rakefile" | "Gemfile" | "config.ru") {
            return Some(Lang::Ruby);
        }
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "py" => Lang::Python,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "rb" | "rake" | "ru" => Lang::Ruby,
            "php" => Lang::Php,
            _ => return None,
        })
    }

    /// The language of a script from its `#!` line (`#!/usr/bin/env ruby`,
    /// `#!/usr/bin/python3 -u`): executables in `bin/` have no extension,
    /// and a tree's boot code is often there.
    pub fn from_shebang(first_line: &str) -> Option<Lang> {
        let rest = first_line.strip_prefix("#!")?;
        let mut words = rest.split_whitespace();
        let mut prog = words.next()?.rsplit('/').next()?;
        if prog == "env" {
            prog = words.find(|w| !w.starts_with('-'))?;
        }
        let base = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match base {
            "ruby" | "jruby" => Lang::Ruby,
            "python" | "pypy" => Lang::Python,
            "php" => Lang::Php,
            "node" | "nodejs" => Lang::JavaScript,
            _ => return None,
        })
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            // The full grammar: a .php file may mix HTML and `<?php` blocks.
            Lang::Php => tree_sitter_php::LANGUAGE_PHP.into(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::Ruby => "ruby",
            Lang::Php => "php",
        }
    }

    pub fn is_js_family(self) -> bool {
        matches!(self, Lang::JavaScript | Lang::TypeScript | Lang::Tsx)
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn scripts_are_known_by_their_interpreter() {
        assert_eq!(Lang::from_shebang("#!/usr/bin/env ruby"), Some(Lang::Ruby));
        assert_eq!(
            Lang::from_shebang("#!/usr/bin/ruby3.1 -w"),
            Some(Lang::Ruby)
        );
        assert_eq!(
            Lang::from_shebang("#!/usr/bin/env -S python3 -u"),
            Some(Lang::Python)
        );
        assert_eq!(Lang::from_shebang("#!/usr/bin/php"), Some(Lang::Php));
        assert_eq!(
            Lang::from_shebang("#!/usr/bin/env node"),
            Some(Lang::JavaScript)
        );
        assert_eq!(Lang::from_shebang("#!/bin/sh"), None);
        assert_eq!(Lang::from_shebang("# ruby"), None);
    }
}
