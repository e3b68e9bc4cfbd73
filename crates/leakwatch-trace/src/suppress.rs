//! LeakSanitizer-format suppressions: `leak:PATTERN` lines, from a file
//! (`--suppressions`, `LSAN_OPTIONS=suppressions=FILE`) or embedded in the
//! program (`__lsan_default_suppressions()`, recorded in the trace).
//!
//! The semantics are LeakSanitizer's: a pattern is a substring match, `*`
//! matches any run of characters, `^` anchors at the start and `$` at the
//! end; it is tried, frame by frame from the allocation outward, against the
//! module's path, then each (inlined) function name and source file name.
//! The first rule that matches a leak's stack suppresses it. Lines are
//! trimmed; empty lines and `#` comments are skipped.

use serde::Serialize;

/// A suppression file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SuppressionError {
    #[error("{source_name}:{line}: `{text}` is not a suppression: the format is `leak:PATTERN` (LeakSanitizer's; `#` starts a comment)")]
    Syntax {
        source_name: String,
        line: usize,
        text: String,
    },
    #[error("{source_name}:{line}: suppression type `{kind}` is not a leak suppression (LeakSanitizer reads only `leak:` lines)")]
    Kind {
        source_name: String,
        line: usize,
        kind: String,
    },
}

/// One `leak:` rule and what it suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub pattern: String,
    /// Where the rule came from (a file path, `LSAN_OPTIONS`, or
    /// `embedded` for `__lsan_default_suppressions()`).
    pub source: String,
    /// Call stacks, blocks and bytes it suppressed.
    pub stacks: u64,
    pub blocks: u64,
    pub bytes: u64,
}

/// The rules in force, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Suppressions {
    pub rules: Vec<Rule>,
}

/// Suppression types sanitizers define; only `leak` concerns LeakSanitizer
/// (the others are skipped, as a combined file for several sanitizers
/// holds them).
const OTHER_SANITIZER_KINDS: &[&str] = &[
    "race",
    "race_top",
    "thread",
    "mutex",
    "signal",
    "deadlock",
    "called_from_lib",
    "interceptor_via_fun",
    "interceptor_via_lib",
    "interceptor_name",
    "odr_violation",
    "init-order",
    "src",
    "fun",
    "type",
    "vptr_check",
    "alignment",
];

impl Suppressions {
    /// Adds the `leak:` lines of `text`.
    pub fn parse(&mut self, text: &str, source_name: &str) -> Result<(), SuppressionError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, pattern)) = line.split_once(':') else {
                return Err(SuppressionError::Syntax {
                    source_name: source_name.to_string(),
                    line: i + 1,
                    text: line.to_string(),
                });
            };
            let kind = kind.trim();
            if kind != "leak" {
                if OTHER_SANITIZER_KINDS.contains(&kind) || kind.contains('-') {
                    continue;
                }
                return Err(SuppressionError::Kind {
                    source_name: source_name.to_string(),
                    line: i + 1,
                    kind: kind.to_string(),
                });
            }
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(SuppressionError::Syntax {
                    source_name: source_name.to_string(),
                    line: i + 1,
                    text: line.to_string(),
                });
            }
            self.rules.push(Rule {
                pattern: pattern.to_string(),
                source: source_name.to_string(),
                stacks: 0,
                blocks: 0,
                bytes: 0,
            });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule matching `text`.
    pub fn first_match(&self, text: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| template_match(&r.pattern, text))
    }

    /// Counts a suppressed stack against rule `i`.
    pub fn record(&mut self, i: usize, bytes: u64, blocks: u64) {
        if let Some(r) = self.rules.get_mut(i) {
            r.stacks += 1;
            r.blocks += blocks;
            r.bytes += bytes;
        }
    }

    /// Rules that suppressed something.
    pub fn used(&self) -> Vec<Rule> {
        self.rules
            .iter()
            .filter(|r| r.stacks > 0)
            .cloned()
            .collect()
    }
}

/// The `suppressions=` path of an `LSAN_OPTIONS` value, if set. Options are
/// separated by spaces, commas, colons, tabs or newlines; a value may be
/// quoted with `'` or `"`.
pub fn lsan_options_suppressions(options: &str) -> Option<String> {
    let mut found = None;
    let b = options.as_bytes();
    let mut i = 0;
    let sep = |c: u8| matches!(c, b' ' | b',' | b':' | b'\t' | b'\n' | b'\r');
    while i < b.len() {
        while i < b.len() && sep(b[i]) {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !sep(b[i]) {
            i += 1;
        }
        let key = &options[key_start..i];
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if i < b.len() && (b[i] == b'\'' || b[i] == b'"') {
            let q = b[i];
            let start = i + 1;
            i = start;
            while i < b.len() && b[i] != q {
                i += 1;
            }
            let v = &options[start..i.min(b.len())];
            i += 1;
            v
        } else {
            let start = i;
            while i < b.len() && !sep(b[i]) {
                i += 1;
            }
            &options[start..i]
        };
        if key == "suppressions" {
            found = Some(value.to_string());
        }
    }
    found.filter(|v| !v.is_empty())
}

/// LeakSanitizer's pattern match (sanitizer_common's `TemplateMatch`):
/// parts between `*` must appear in order, each at its first occurrence
/// after the previous; `^` anchors the first part at the start; `$` ends
/// the match at the end of the text (or anywhere after a `*`).
pub fn template_match(templ: &str, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    let mut t = templ;
    let mut s = text;
    let mut start = false;
    if let Some(rest) = t.strip_prefix('^') {
        start = true;
        t = rest;
    }
    let mut asterisk = false;
    while !t.is_empty() {
        if let Some(rest) = t.strip_prefix('*') {
            t = rest;
            start = false;
            asterisk = true;
            continue;
        }
        if t.starts_with('$') {
            return s.is_empty() || asterisk;
        }
        if s.is_empty() {
            return false;
        }
        let end = t.find(['*', '$']).unwrap_or(t.len());
        let part = &t[..end];
        let Some(pos) = s.find(part) else {
            return false;
        };
        if start && pos != 0 {
            return false;
        }
        s = &s[pos + part.len()..];
        t = &t[end..];
        start = false;
        asterisk = false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsan_pattern_semantics() {
        assert!(template_match("leak_here", "void leak_here(int)"));
        assert!(template_match("^leak", "leak_here"));
        assert!(!template_match("^here", "leak_here"));
        assert!(template_match("here$", "leak_here"));
        assert!(!template_match("leak$", "leak_here"));
        assert!(template_match("lib*.so", "/usr/lib/libfoo.so.1"));
        assert!(template_match("^/usr/*foo*$", "/usr/lib/libfoo.so"));
        assert!(
            template_match("a*$", "abc"),
            "`$` after `*` matches anywhere"
        );
        assert!(!template_match("x", ""));
        assert!(template_match("", "anything"));
        // First occurrence, no backtracking (as LeakSanitizer).
        assert!(!template_match("^ab*b$", "abxbz"));
    }

    #[test]
    fn files_parse_like_lsan() {
        let mut s = Suppressions::default();
        s.parse(
            "# third-party\n\nleak:libfoo.so\n  leak:^init_cache$  \nrace:whatever\n",
            "supp.txt",
        )
        .unwrap();
        let pats: Vec<&str> = s.rules.iter().map(|r| r.pattern.as_str()).collect();
        assert_eq!(pats, ["libfoo.so", "^init_cache$"]);
        assert_eq!(s.first_match("/opt/libfoo.so"), Some(0));
        assert_eq!(s.first_match("init_cache"), Some(1));
        assert_eq!(s.first_match("init_cache2"), None);
        let err = Suppressions::default()
            .parse("leak:a\nnot a rule\n", "f")
            .unwrap_err();
        assert_eq!(
            err.to_string().split(':').take(2).collect::<Vec<_>>(),
            ["f", "2"]
        );
        assert!(Suppressions::default().parse("leek:x\n", "f").is_err());
    }

    #[test]
    fn lsan_options_name_the_file() {
        assert_eq!(
            lsan_options_suppressions("detect_leaks=1:suppressions=/tmp/s.txt:verbosity=0"),
            Some("/tmp/s.txt".to_string())
        );
        assert_eq!(
            lsan_options_suppressions("suppressions='/tmp/a b.txt' report_objects=1"),
            Some("/tmp/a b.txt".to_string())
        );
        assert_eq!(lsan_options_suppressions("verbosity=1"), None);
        assert_eq!(lsan_options_suppressions("suppressions="), None);
    }
}
