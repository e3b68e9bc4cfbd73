//! Renders a report as text (rustc-style snippets), JSON or SARIF 2.1.0.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use crate::rules::Rule;
use crate::{CheckReport, Finding, RuleOptions};

/// Text: one block per finding with the spot marked, then a summary.
pub fn text(report: &CheckReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        render_finding(&mut out, f);
    }
    out.push_str(&summary(report));
    out
}

fn render_finding(out: &mut String, f: &Finding) {
    let num = f.line.to_string();
    let pad = " ".repeat(num.len());
    let line = f.snippet.replace('\t', " ");
    let start = f.snippet_column.saturating_sub(1);
    let line_len = line.chars().count();
    let end = if f.end_line == f.line {
        (f.end_column + f.snippet_column)
            .saturating_sub(f.column + 1)
            .min(line_len)
    } else {
        line_len
    };
    let width = end.clamp(start + 1, line_len.max(start + 1)) - start;
    // Escaped for the terminal; the marker is measured on the escaped text
    // so it still sits under the spot.
    let chars: Vec<char> = line.chars().collect();
    let part = |from: usize, to: usize| -> String {
        chars[from.min(chars.len())..to.min(chars.len())]
            .iter()
            .collect()
    };
    let esc_start = escape(&part(0, start)).chars().count() + start.saturating_sub(line_len);
    let esc_width = escape(&part(start, start + width)).chars().count().max(1);
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        f.severity.as_str(),
        f.rule.id(),
        escape(&f.message)
    );
    let _ = writeln!(out, "{pad}--> {}:{}:{}", escape(&f.path), f.line, f.column);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{num} | {}", escape(&line));
    let _ = writeln!(
        out,
        "{pad} | {}{}",
        " ".repeat(esc_start),
        "^".repeat(esc_width)
    );
    let _ = writeln!(out, "{pad} = fix: {}", escape(&f.fix));
    out.push('\n');
}

/// The closing summary line(s), also used by the CLI for JSON/SARIF on stderr.
pub fn summary(report: &CheckReport) -> String {
    let mut s = String::new();
    let files_with: std::collections::BTreeSet<&str> =
        report.findings.iter().map(|f| f.path.as_str()).collect();
    let _ = writeln!(
        s,
        "{} finding{} in {} file{} ({} files, {} lines checked; {} suppressed, {} in baseline)",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        files_with.len(),
        if files_with.len() == 1 { "" } else { "s" },
        report.files_checked,
        report.lines_checked,
        report.suppressed,
        report.baselined,
    );
    if !report.parse_errors.is_empty() {
        let _ = writeln!(
            s,
            "{} file{} only partly parsed (syntax errors; checked what parsed): {}",
            report.parse_errors.len(),
            if report.parse_errors.len() == 1 {
                ""
            } else {
                "s"
            },
            preview(&report.parse_errors)
        );
    }
    if !report.generated.is_empty() {
        let n = report.generated.len();
        let _ = writeln!(
            s,
            "{n} generated file{} not checked (marked `Code generated ... DO NOT EDIT` or `@generated`, or minified JavaScript; fix their generator or source, or set `include-generated = true` in [check]): {}",
            if n == 1 { "" } else { "s" },
            preview(&report.generated)
        );
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            s,
            "skipped {} file{}:",
            report.skipped.len(),
            if report.skipped.len() == 1 { "" } else { "s" },
        );
        for sk in &report.skipped {
            let _ = writeln!(
                s,
                "  {}: {} ({})",
                escape(&sk.path),
                sk.reason.label(),
                sk.reason.detail()
            );
        }
    }
    let lost = report.lost().count();
    if lost > 0 {
        let _ = writeln!(
            s,
            "incomplete: {lost} file{} that should have been checked {} not (listed above), so this run cannot say there is no leak (exit 2)",
            if lost == 1 { "" } else { "s" },
            if lost == 1 { "was" } else { "were" },
        );
    }
    s
}

fn preview(items: &[String]) -> String {
    let mut v: Vec<std::borrow::Cow<'_, str>> = items.iter().take(3).map(|i| escape(i)).collect();
    if items.len() > 3 {
        v.push("...".into());
    }
    v.join(", ")
}

/// Text safe for a terminal: control characters (escape sequences, bells,
/// carriage returns) in file names and source lines are shown as `\x..` /
/// `\u{..}` instead of being interpreted by the terminal.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            if (c as u32) < 0x100 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON: findings plus counts.
pub fn json(report: &CheckReport) -> String {
    let v = json!({
        "version": 1,
        "tool": "leakwatch check",
        "findings": report.findings,
        "summary": {
            "findings": report.findings.len(),
            "files_checked": report.files_checked,
            "lines_checked": report.lines_checked,
            "suppressed": report.suppressed,
            "baselined": report.baselined,
            "parse_errors": report.parse_errors,
            "skipped": report.skipped,
            "generated": report.generated,
        }
    });
    serde_json::to_string_pretty(&v).expect("report serializes") + "\n"
}

/// Where each rule is documented: its section of docs/check.md.
pub const DOCS_URL: &str = "https://github.com/leakwatch/leakwatch/blob/main/docs/check.md";

/// The documentation address of a rule (an anchor of docs/check.md).
pub fn help_uri(rule: Rule) -> String {
    format!("{DOCS_URL}#{}", rule.id())
}

fn sarif_rule(rule: Rule, opts: &RuleOptions) -> Value {
    json!({
        "id": rule.id(),
        "name": rule.id().split('-').map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }).collect::<String>(),
        "shortDescription": { "text": rule.summary() },
        "fullDescription": { "text": first_paragraph(rule.explain()) },
        "help": { "text": rule.explain(), "markdown": help_markdown(rule) },
        "helpUri": help_uri(rule),
        "defaultConfiguration": { "level": opts.severity(rule).as_str() },
        "properties": { "tags": ["memory", "leak"] }
    })
}

/// The `--explain` text as markdown: the title in bold, "Leaky:"-style
/// headings in bold, indented examples as code blocks, and a link to the
/// rule's documentation.
pub fn help_markdown(rule: Rule) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for (i, line) in rule.explain().lines().enumerate() {
        let code = line.starts_with("    ");
        if code && !in_code {
            out.push_str("```\n");
            in_code = true;
        } else if !code && in_code && !line.trim().is_empty() {
            out.push_str("```\n\n");
            in_code = false;
        }
        if in_code {
            if !line.trim().is_empty() {
                out.push_str(&line[4..]);
                out.push('\n');
            }
        } else if i == 0 {
            out.push_str(&format!("**{line}**\n"));
        } else if line.ends_with(':') && !line.starts_with(' ') {
            out.push_str(&format!("**{line}**\n\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if in_code {
        out.push_str("```\n");
    }
    out.push_str(&format!(
        "\nSee [{}]({}) for every language's examples.\n",
        rule.id(),
        help_uri(rule)
    ));
    out
}

/// The explanation's first paragraph (after the title line), on one line.
fn first_paragraph(doc: &str) -> String {
    doc.lines()
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sentence: ends with a full stop unless it already ends a sentence.
fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// The SARIF message of a finding: what leaks and why, then the fix, each a
/// sentence.
pub fn sarif_message(f: &Finding) -> String {
    format!("{} Fix: {}", sentence(&f.message), sentence(&f.fix))
}

/// SARIF 2.1.0 for GitHub code scanning and GitLab.
pub fn sarif(report: &CheckReport, opts: &RuleOptions) -> String {
    let rules: Vec<Value> = Rule::ALL.iter().map(|r| sarif_rule(*r, opts)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0);
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": index,
                "level": f.severity.as_str(),
                "message": { "text": sarif_message(f) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact(&f.path),
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                            "snippet": { "text": f.snippet }
                        }
                    }
                }],
                "partialFingerprints": { "leakwatch/v1": f.fingerprint }
            })
        })
        .collect();
    let notifications: Vec<Value> = report
        .skipped
        .iter()
        .map(|s| {
            json!({
                "level": if s.loses_data() { "error" } else { "note" },
                "message": { "text": sentence(&format!("skipped: {} ({})", s.reason.label(), s.reason.detail())) },
                "locations": [{ "physicalLocation": { "artifactLocation": artifact(&s.path) } }]
            })
        })
        .chain(report.parse_errors.iter().map(|p| {
            json!({
                "level": "warning",
                "message": { "text": "Syntax errors: the file was only partly parsed." },
                "locations": [{ "physicalLocation": { "artifactLocation": artifact(p) } }]
            })
        }))
        .collect();
    let v = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "leakwatch",
                    "informationUri": "https://github.com/leakwatch/leakwatch",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules
                }
            },
            "invocations": [{
                "executionSuccessful": report.lost().next().is_none(),
                "toolExecutionNotifications": notifications
            }],
            "results": results
        }]
    });
    serde_json::to_string_pretty(&v).expect("sarif serializes") + "\n"
}

/// What may stay unescaped in a path segment of a URI (RFC 3986 `pchar`:
/// unreserved characters and sub-delimiters, plus `@`). `:` is escaped too,
/// so a first segment can never read as a scheme.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// A path as a URI reference (RFC 3986): each segment percent-encoded as
/// UTF-8, `/` kept as the separator.
pub fn uri(path: &str) -> String {
    path.split('/')
        .map(|seg| utf8_percent_encode(seg, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// A SARIF artifactLocation: a relative path under %SRCROOT%, or an
/// absolute `file://` URI for an absolute path.
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", uri(path)) })
    } else {
        json!({ "uri": uri(path), "uriBaseId": "%SRCROOT%" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_per_rfc_3986() {
        assert_eq!(uri("src/app.py"), "src/app.py");
        assert_eq!(
            uri("src/ünï code [v2]/app#1.py"),
            "src/%C3%BCn%C3%AF%20code%20%5Bv2%5D/app%231.py"
        );
        assert_eq!(uri("a:b/100%.py"), "a%3Ab/100%25.py");
        assert_eq!(uri("../x?.py"), "../x%3F.py");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(escape("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("x\u{9b}y"), "x\\x9by");
    }

    #[test]
    fn messages_are_sentences() {
        assert_eq!(sentence("grows"), "grows.");
        assert_eq!(sentence("done."), "done.");
    }

    #[test]
    fn help_markdown_has_code_blocks_and_a_link() {
        let md = help_markdown(Rule::UnboundedCache);
        assert!(md.starts_with("**unbounded-cache:"));
        assert!(md.contains("```\n_cache = {}\n"));
        assert!(md.contains(
            "(https://github.com/leakwatch/leakwatch/blob/main/docs/check.md#unbounded-cache)"
        ));
        assert_eq!(md.matches("```").count() % 2, 0);
    }
}
