//! Renders a report as text (rustc-style snippets), JSON or SARIF 2.1.0.

use std::fmt::Write as _;

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
    let start = f.column.saturating_sub(1);
    let line_len = line.chars().count();
    let end = if f.end_line == f.line {
        f.end_column.saturating_sub(1)
    } else {
        line_len
    };
    let width = end.clamp(start + 1, line_len.max(start + 1)) - start;
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        f.severity.as_str(),
        f.rule.id(),
        f.message
    );
    let _ = writeln!(out, "{pad}--> {}:{}:{}", f.path, f.line, f.column);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{num} | {line}");
    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(width));
    let _ = writeln!(out, "{pad} = fix: {}", f.fix);
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
                sk.path,
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
    let mut v: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
    if items.len() > 3 {
        v.push("...");
    }
    v.join(", ")
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
        }
    });
    serde_json::to_string_pretty(&v).expect("report serializes") + "\n"
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
        "help": { "text": rule.explain() },
        "defaultConfiguration": { "level": opts.severity(rule).as_str() },
        "properties": { "tags": ["memory", "leak"] }
    })
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
                "message": { "text": format!("{} Fix: {}", f.message, f.fix) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path), "uriBaseId": "%SRCROOT%" },
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
                "level": "note",
                "message": { "text": format!("skipped: {}", serde_json::to_string(&s.reason).unwrap_or_default()) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&s.path) } } }]
            })
        })
        .chain(report.parse_errors.iter().map(|p| {
            json!({
                "level": "warning",
                "message": { "text": "syntax errors: file only partly parsed" },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(p) } } }]
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
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications
            }],
            "results": results
        }]
    });
    serde_json::to_string_pretty(&v).expect("sarif serializes") + "\n"
}

/// A relative URI reference: `/`-separated, spaces and `%` escaped.
fn uri(path: &str) -> String {
    let mut s = String::new();
    for c in path.chars() {
        match c {
            ' ' => s.push_str("%20"),
            '%' => s.push_str("%25"),
            '#' => s.push_str("%23"),
            '?' => s.push_str("%3F"),
            c => s.push(c),
        }
    }
    s
}
