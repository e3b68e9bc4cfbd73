//! `leakwatch check` end to end: the real binary on real files.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const LEAKY_PY: &str = "\
_cache = {}


def price(sku):
    if sku in _cache:
        return _cache[sku]
    _cache[sku] = load(sku)
    return _cache[sku]
";

const CLEAN_PY: &str = "\
def price(sku):
    with open(sku) as f:
        return f.read()
";

fn lw(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("leakwatch").unwrap();
    c.current_dir(dir);
    c
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = d.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    d
}

fn stdout(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn text_output_matches_golden_file() {
    let d = project(&[("app/pricing.py", LEAKY_PY), ("app/ok.py", CLEAN_PY)]);
    let out = stdout(lw(d.path()).args(["check", "app"]), 1);
    let golden = include_str!("golden/check_text.txt");
    assert_eq!(out, golden, "text output changed:\n{out}");
}

#[test]
fn clean_tree_exits_zero() {
    let d = project(&[("ok.py", CLEAN_PY)]);
    let out = stdout(lw(d.path()).args(["check", "."]), 0);
    assert!(out.starts_with("0 findings"), "{out}");
}

#[test]
fn missing_path_is_an_error_with_exit_2() {
    let d = project(&[]);
    let out = lw(d.path()).args(["check", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such file or directory: nope"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn json_output_has_findings_and_summary() {
    let d = project(&[("a.py", LEAKY_PY)]);
    let out = stdout(lw(d.path()).args(["check", "a.py", "--format", "json"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "unbounded-cache");
    assert_eq!(f["path"], "a.py");
    assert_eq!(f["line"], 7);
    assert_eq!(f["column"], 5);
    assert!(f["fix"].as_str().unwrap().contains("lru_cache"));
    assert_eq!(v["summary"]["files_checked"], 1);
    assert_eq!(f["fingerprint"].as_str().unwrap().len(), 16);
}

/// Checks the fields SARIF 2.1.0's schema marks as required (sarifLog,
/// run, tool, toolComponent, result, message, location pieces, region),
/// plus what GitHub code scanning needs (rule ids, a level, a uri).
fn assert_sarif_shape(v: &Value) {
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif"));
    let runs = v["runs"].as_array().expect("runs is required");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert!(driver["name"].is_string(), "tool.driver.name is required");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 10);
    for r in rules {
        assert!(r["id"].is_string(), "reportingDescriptor.id is required");
        assert!(r["shortDescription"]["text"].is_string());
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
    }
    for inv in run["invocations"].as_array().unwrap() {
        assert!(
            inv["executionSuccessful"].is_boolean(),
            "invocation.executionSuccessful is required"
        );
        for n in inv["toolExecutionNotifications"].as_array().unwrap() {
            assert!(
                n["message"]["text"].is_string(),
                "notification.message is required"
            );
        }
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert!(
            r["message"]["text"].is_string(),
            "result.message is required"
        );
        let id = r["ruleId"].as_str().unwrap();
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], id, "ruleIndex points at the rule");
        assert!(["none", "note", "warning", "error"].contains(&r["level"].as_str().unwrap()));
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.starts_with('/') && !uri.contains('\\'),
            "relative uri: {uri}"
        );
        let region = &loc["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        assert!(region["endLine"].as_u64().unwrap() >= region["startLine"].as_u64().unwrap());
        assert!(r["partialFingerprints"].as_object().unwrap().len() == 1);
    }
}

#[test]
fn sarif_output_has_the_required_shape() {
    let d = project(&[("src/a.py", LEAKY_PY), ("src/bin.py", "\0\0\0")]);
    let out = stdout(lw(d.path()).args(["check", "src", "--format", "sarif"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_sarif_shape(&v);
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/a.py"
    );
    let notes = v["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1, "the binary file is reported as skipped");
}

#[test]
fn inline_suppression_hides_only_the_named_rule() {
    let suppressed = LEAKY_PY.replace(
        "    _cache[sku] = load(sku)\n",
        "    _cache[sku] = load(sku)  # leakwatch: ignore[unbounded-cache]\n",
    );
    let wrong_rule = LEAKY_PY.replace(
        "    _cache[sku] = load(sku)\n",
        "    # leakwatch: ignore[listener-leak]\n    _cache[sku] = load(sku)\n",
    );
    let d = project(&[("a.py", &suppressed), ("b.py", &wrong_rule)]);
    let out = stdout(lw(d.path()).args(["check", ".", "--format", "json"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let files: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["b.py"]);
    assert_eq!(v["summary"]["suppressed"], 1);
}

#[test]
fn config_file_disables_rules_and_bad_config_is_exit_2() {
    let d = project(&[
        ("a.py", LEAKY_PY),
        (
            "leakwatch.toml",
            "[check]\nignore = [\"unbounded-cache\"]\n",
        ),
    ]);
    stdout(lw(d.path()).args(["check", "."]), 0);
    fs::write(
        d.path().join("leakwatch.toml"),
        "[check.rules.unbounded-cache]\nseverity = \"error\"\n",
    )
    .unwrap();
    let out = stdout(lw(d.path()).args(["check", ".", "--format", "json"]), 1);
    assert!(out.contains("\"severity\": \"error\""));
    fs::write(
        d.path().join("leakwatch.toml"),
        "[check]\nselect = [\"no-such-rule\"]\n",
    )
    .unwrap();
    let out = lw(d.path()).args(["check", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule `no-such-rule`"));
}

#[test]
fn select_and_ignore_flags() {
    let d = project(&[("a.py", LEAKY_PY)]);
    stdout(
        lw(d.path()).args(["check", ".", "--select", "listener-leak,unclosed-resource"]),
        0,
    );
    stdout(
        lw(d.path()).args(["check", ".", "--ignore", "unbounded-cache"]),
        0,
    );
    stdout(
        lw(d.path()).args(["check", ".", "--select", "unbounded-cache"]),
        1,
    );
    let out = lw(d.path())
        .args(["check", ".", "--select", "bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn baseline_survives_line_shifts_and_reports_new_findings() {
    let d = project(&[("a.py", LEAKY_PY)]);
    stdout(
        lw(d.path()).args(["check", ".", "--write-baseline", "base.json"]),
        0,
    );
    // Shift every line down and re-indent nothing: the old finding stays known.
    fs::write(d.path().join("a.py"), format!("import os\n\n\n{LEAKY_PY}")).unwrap();
    let out = stdout(
        lw(d.path()).args(["check", ".", "--baseline", "base.json"]),
        0,
    );
    assert!(out.contains("1 in baseline"), "{out}");
    // A new leak is reported.
    fs::write(
        d.path().join("a.py"),
        format!("import os\n{LEAKY_PY}\nLOG = []\n\ndef track(x):\n    LOG.append(x)\n"),
    )
    .unwrap();
    let out = stdout(
        lw(d.path()).args(["check", ".", "--baseline", "base.json", "--format", "json"]),
        1,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["findings"][0]["rule"], "global-accumulator");
    fs::write(d.path().join("bad.json"), "{not json").unwrap();
    let out = lw(d.path())
        .args(["check", ".", "--baseline", "bad.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_documents_every_rule() {
    let d = project(&[]);
    let list = stdout(lw(d.path()).args(["check", "--explain"]), 0);
    for id in [
        "unbounded-cache",
        "listener-leak",
        "global-accumulator",
        "closure-capture",
        "unbounded-results",
        "unstoppable-task",
        "unreleased-connection",
        "unclosed-resource",
        "uncleared-timer",
        "accidental-global",
    ] {
        assert!(list.contains(id));
        let doc = stdout(lw(d.path()).args(["check", "--explain", id]), 0);
        assert!(
            doc.contains("Leaky:") && doc.contains("Accepted fixes:"),
            "{id}"
        );
    }
    let out = lw(d.path())
        .args(["check", "--explain", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_inputs_are_counted_never_fatal() {
    let d = project(&[
        ("src/leak.py", LEAKY_PY),
        ("src/broken.py", "def (:\n    return [\n"),
        ("src/broken.js", "function ( { {{ ]]\n"),
        ("src/binary.py", "\u{0}\u{1}\u{2}ELF"),
    ]);
    let src = d.path().join("src");
    fs::write(src.join("latin1.js"), b"var caf\xe9 = 1;\n").unwrap();
    let huge = "x = 1\n".repeat(600_000); // 3.6 MB > 2 MB default limit
    fs::write(src.join("huge.py"), huge).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.py", src.join("dangling.py")).unwrap();
    fs::create_dir(src.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", src.join("loop/up")).unwrap();
    let out = stdout(lw(d.path()).args(["check", "src", "--format", "json"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let s = &v["summary"];
    let reasons: Vec<&str> = s["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reason"].as_str().unwrap())
        .collect();
    for want in ["binary", "not-utf8", "too-large", "walk-error"] {
        assert!(reasons.contains(&want), "missing {want} in {reasons:?}");
    }
    let parse_errors: Vec<&str> = s["parse_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(parse_errors, vec!["src/broken.js", "src/broken.py"]);
    assert_eq!(
        v["findings"].as_array().unwrap().len(),
        1,
        "the leak is still found"
    );
    // Text mode tells the user what was skipped.
    let text = stdout(lw(d.path()).args(["check", "src"]), 1);
    assert!(text.contains("2 files only partly parsed"), "{text}");
    assert!(text.contains("1 binary"), "{text}");
}

#[test]
fn config_exclude_patterns_skip_paths() {
    let d = project(&[
        ("src/ok.py", CLEAN_PY),
        ("src/generated/leak.py", LEAKY_PY),
        ("leakwatch.toml", "[check]\nexclude = [\"generated/\"]\n"),
    ]);
    stdout(lw(d.path()).args(["check", "src"]), 0);
    fs::write(d.path().join("leakwatch.toml"), "[check]\n").unwrap();
    stdout(lw(d.path()).args(["check", "src"]), 1);
}

#[test]
fn gitignored_files_are_not_checked() {
    let d = project(&[
        ("a.py", CLEAN_PY),
        ("vendor/leak.py", LEAKY_PY),
        (".gitignore", "vendor/\n"),
    ]);
    stdout(lw(d.path()).args(["check", "."]), 0);
}
