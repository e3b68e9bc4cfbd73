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
    assert!(rules.len() >= 10);
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

/// A CI job checks the tree by its absolute path ($GITHUB_WORKSPACE) or
/// from its parent: the baseline written with `check .` still matches,
/// because its fingerprints take paths relative to the baseline's folder.
#[test]
fn baseline_matches_whatever_path_names_the_tree() {
    let parent = tempfile::tempdir().unwrap();
    let proj = parent.path().join("proj");
    fs::create_dir_all(proj.join("src")).unwrap();
    fs::write(proj.join("src").join("a.py"), LEAKY_PY).unwrap();
    stdout(
        lw(&proj).args(["check", ".", "--write-baseline", ".leakwatch-baseline.json"]),
        0,
    );
    let abs = proj.display().to_string();
    for (dir, args) in [
        (
            &proj,
            vec!["check", ".", "--baseline", ".leakwatch-baseline.json"],
        ),
        (
            &proj,
            vec!["check", &abs, "--baseline", ".leakwatch-baseline.json"],
        ),
        (
            &proj,
            vec!["check", "src", "--baseline", ".leakwatch-baseline.json"],
        ),
        (
            &parent.path().to_path_buf(),
            vec![
                "check",
                "proj",
                "--baseline",
                "proj/.leakwatch-baseline.json",
            ],
        ),
    ] {
        let out = stdout(lw(dir).args(&args), 0);
        assert!(out.contains("1 in baseline"), "{args:?}: {out}");
    }
    // Another tree with the same file is not covered by this baseline.
    let other = parent.path().join("other");
    fs::create_dir_all(other.join("src")).unwrap();
    fs::write(other.join("src").join("a.py"), LEAKY_PY).unwrap();
    stdout(
        lw(parent.path()).args([
            "check",
            "other",
            "--baseline",
            "proj/.leakwatch-baseline.json",
        ]),
        1,
    );
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
        if id != "accidental-global" {
            assert!(
                doc.contains("Ruby") && doc.contains("PHP"),
                "{id}: no Ruby/PHP example"
            );
        }
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
    // Source in a legacy encoding is still checked; a deployment file that
    // is not UTF-8 cannot be read as YAML.
    fs::write(
        src.join("deploy.yaml"),
        b"apiVersion: apps/v1\nkind: Deployment\n# caf\xe9\nmetadata: {name: x}\n",
    )
    .unwrap();
    let huge = "x = 1\n".repeat(600_000); // 3.6 MB > 2 MB default limit
    fs::write(src.join("huge.py"), huge).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.py", src.join("dangling.py")).unwrap();
    fs::create_dir(src.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", src.join("loop/up")).unwrap();
    // The not-UTF-8 deployment file was not judged: the run is incomplete
    // (exit 2), and still reports the leak it found.
    let out = stdout(lw(d.path()).args(["check", "src", "--format", "json"]), 2);
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
    let text = stdout(lw(d.path()).args(["check", "src"]), 2);
    assert!(text.contains("2 files only partly parsed"), "{text}");
    assert!(text.contains("src/binary.py: binary"), "{text}");
    assert!(text.contains("src/deploy.yaml: not UTF-8"), "{text}");
    assert!(!text.contains("latin1.js"), "{text}");
    assert!(text.contains("src/huge.py: too large"), "{text}");
    assert!(
        text.contains("incomplete: 1 file that should have been checked was not"),
        "{text}"
    );
    // Without the file that could not be judged, policy skips (binary, too
    // large, symlink loops) leave the verdict intact: exit 1 for the leak.
    fs::remove_file(src.join("deploy.yaml")).unwrap();
    stdout(lw(d.path()).args(["check", "src"]), 1);
}

#[test]
fn source_in_a_legacy_encoding_is_checked_not_skipped() {
    let d = project(&[]);
    let src = d.path().join("src");
    fs::create_dir_all(&src).unwrap();
    // Shift JIS in a comment and a string, as Ruby 1.8-era code has.
    fs::write(
        src.join("sjis.rb"),
        b"# \x83e\x83X\x83g\nclass Store\n  @@seen = []\n  def self.track(request)\n    @@seen << request.params[:id] # \x93\xfa\x96{\n  end\nend\n",
    )
    .unwrap();
    let out = stdout(lw(d.path()).args(["check", "src", "--format", "json"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["summary"]["skipped"].as_array().unwrap().len(),
        0,
        "{out}"
    );
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "global-accumulator", "{out}");
    assert_eq!(f["line"], 5, "line numbers are the file's: {out}");
}

/// Every file that is not checked is listed with the reason, in text and
/// JSON; a file named on the command line that cannot be checked, or source
/// that could not be judged, makes the run incomplete (exit 2).
#[test]
fn every_skipped_file_is_listed_and_lost_ones_make_exit_2() {
    use std::os::unix::ffi::OsStrExt;
    let d = project(&[("ok.py", CLEAN_PY), ("notes.txt", "hello\n")]);
    let fifo = d.path().join("pipe.py");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // A FIFO named explicitly: listed, never opened (a read would block).
    let out = stdout(
        lw(d.path()).args(["check", "ok.py", "pipe.py", "--format", "json"]),
        2,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let sk = &v["summary"]["skipped"][0];
    assert_eq!(sk["path"], "pipe.py");
    assert_eq!(sk["reason"], "not-regular-file");
    assert_eq!(sk["file_type"], "FIFO");
    assert_eq!(sk["explicit"], true);
    // Walking, a FIFO is not source: not listed, nothing lost.
    stdout(lw(d.path()).args(["check", "."]), 0);
    // A file of no supported language named explicitly.
    let text = stdout(lw(d.path()).args(["check", "ok.py", "notes.txt"]), 2);
    assert!(
        text.contains("notes.txt: not a supported language"),
        "{text}"
    );
    // A file name that is not UTF-8, found by walking.
    let raw = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    fs::write(d.path().join(raw), LEAKY_PY).unwrap();
    let text = stdout(lw(d.path()).args(["check", "."]), 2);
    assert!(text.contains("name not UTF-8"), "{text}");
    assert!(text.contains("rename it"), "{text}");
}

/// The shapes that made the checker cubic (every node walked all its
/// parents): 800 chained calls are checked, 50,000 nested calls are
/// listed as too deep instead of running for minutes. (The chain is one
/// call a line: on one line it would be taken for minified code.)
#[test]
fn deep_and_chained_files_are_bounded() {
    let chain = format!(
        "function f(a) {{ return a{}; }}\n",
        "\n  .on('x', g)".repeat(700)
    );
    let nested = format!(
        "class A {{ void f() {{ int x = {}1{}; }} }}\n",
        "g(".repeat(50_000),
        ")".repeat(50_000)
    );
    let d = project(&[("chain.js", &chain), ("Nested.java", &nested)]);
    let out = stdout(lw(d.path()).args(["check", ".", "--format", "json"]), 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["files_checked"], 1, "{out}");
    let sk = &v["summary"]["skipped"][0];
    assert_eq!(sk["path"], "Nested.java");
    assert_eq!(sk["reason"], "too-deep");
    assert!(sk["depth"].as_u64().unwrap() > 1500);
    // With the limit raised, the deep file is analysed, and the per-file
    // time limit still bounds it.
    fs::write(
        d.path().join("leakwatch.toml"),
        "[check]\nmax-depth = 1000000\nmax-file-seconds = 5\n",
    )
    .unwrap();
    let out = lw(d.path())
        .args(["check", "Nested.java"])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
}

#[test]
fn broken_pipe_ends_quietly() {
    use std::io::Read;
    let many: String = (0..3000)
        .map(|i| format!("def f{i}(p):\n    h{i} = open(p)\n    return 1\n\n"))
        .collect();
    let d = project(&[("many.py", &many)]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args(["check", "."])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 64`
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
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

/// The SARIF output is valid against the SARIF 2.1.0 schema (kept under
/// tests/schemas/), formats included, on a tree whose paths have non-ASCII
/// characters, spaces, brackets and `#`; rules carry a helpUri and markdown
/// help; messages are sentences.
#[test]
fn sarif_validates_against_the_schema_with_awkward_paths() {
    let d = project(&[
        ("src/ünï code [v2]/app#1.py", LEAKY_PY),
        ("src/(legacy)/x%y.py", LEAKY_PY),
    ]);
    let out = stdout(lw(d.path()).args(["check", "src", "--format", "sarif"]), 1);
    let sarif = d.path().join("out.sarif");
    fs::write(&sarif, &out).unwrap();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let v = std::process::Command::new("python3")
        .arg(schemas.join("validate_json.py"))
        .arg(schemas.join("sarif-2.1.0.json"))
        .arg(&sarif)
        .output()
        .expect("python3 runs (installed by .ci/deps/check.sh)");
    assert!(
        v.status.success(),
        "SARIF fails the schema ({:?}):\n{}{}",
        v.status.code(),
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let run = &v["runs"][0];
    let uris: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        uris.contains(&"src/%C3%BCn%C3%AF%20code%20%5Bv2%5D/app%231.py"),
        "{uris:?}"
    );
    assert!(uris.contains(&"src/(legacy)/x%25y.py"), "{uris:?}");
    for r in run["tool"]["driver"]["rules"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        assert!(r["helpUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("docs/check.md#{id}")));
        assert!(r["help"]["markdown"].as_str().unwrap().contains("```"));
    }
    let msg = run["results"][0]["message"]["text"].as_str().unwrap();
    assert!(msg.contains(". Fix: ") && msg.ends_with('.'), "{msg}");
    // The docs have the anchors the helpUris point to.
    let docs =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/check.md"))
            .unwrap();
    for r in run["tool"]["driver"]["rules"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        assert!(
            docs.contains(&format!("\n### {id}\n")),
            "docs/check.md has no `### {id}` section"
        );
    }
}

const DEPLOYMENT_NO_LIMIT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:1.4
          args: [\"java\", \"-Xmx3g\", \"-jar\", \"/app.jar\"]
          ports: [{containerPort: 8080}]
          resources:
            requests: {cpu: 500m}
";

const UNIT_NO_LIMIT: &str = "\
[Unit]
Description=API

[Service]
ExecStart=/usr/bin/node /srv/api/server.js
";

#[test]
fn deployment_files_go_through_every_output() {
    let d = project(&[
        ("deploy/app.yml", DEPLOYMENT_NO_LIMIT),
        ("ops/api", UNIT_NO_LIMIT),
        ("src/pricing.py", LEAKY_PY),
    ]);
    let text = stdout(lw(d.path()).args(["check", "."]), 1);
    assert!(text.contains("warning[memory-limit-missing]"), "{text}");
    assert!(
        text.contains("\"/leakwatch/leakwatch\", \"probe\", \"--threshold\", \"15m\"")
            && text.contains("docs/crash-only.md"),
        "the liveness fix gives a ready probe:\n{text}"
    );
    let v: Value = serde_json::from_str(&stdout(
        lw(d.path()).args(["check", ".", "--format", "json"]),
        1,
    ))
    .unwrap();
    let mut got: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("deploy/app.yml", "memory-limit-missing", 13),
        ("deploy/app.yml", "no-liveness-probe", 13),
        ("ops/api", "memory-limit-missing", 5),
        ("ops/api", "no-restart-policy", 5),
        ("src/pricing.py", "unbounded-cache", 7),
    ];
    let want: Vec<(String, String, u64)> = want
        .iter()
        .map(|(p, r, l)| (p.to_string(), r.to_string(), *l))
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["version"], 1);
    // The heap is not judged without a limit to judge it against.
    assert!(!got.iter().any(|(_, r, _)| r == "heap-cap-mismatch"));

    // SARIF: valid against the schema, with the deployment rules' help.
    let out = stdout(lw(d.path()).args(["check", ".", "--format", "sarif"]), 1);
    let sarif = d.path().join("out.sarif");
    fs::write(&sarif, &out).unwrap();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let ok = std::process::Command::new("python3")
        .arg(schemas.join("validate_json.py"))
        .arg(schemas.join("sarif-2.1.0.json"))
        .arg(&sarif)
        .status()
        .expect("python3 runs");
    assert!(ok.success(), "SARIF fails the schema");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert!(s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["ruleId"] == "no-liveness-probe"));

    // A suppression comment on the line above, then a limit with a heap
    // that does not fit: the heap rule fires with the numbers.
    let fixed = DEPLOYMENT_NO_LIMIT
        .replace(
            "        - name: api\n",
            "        # leakwatch: ignore[no-liveness-probe]\n        - name: api\n",
        )
        .replace("requests: {cpu: 500m}", "limits: {memory: 2Gi}");
    fs::write(d.path().join("deploy/app.yml"), fixed).unwrap();
    let v: Value = serde_json::from_str(&stdout(
        lw(d.path()).args(["check", "deploy", "--format", "json"]),
        1,
    ))
    .unwrap();
    let f = &v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule"], "heap-cap-mismatch");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("-Xmx3g") && msg.contains("2Gi"), "{msg}");
    assert!(f[0]["fix"]
        .as_str()
        .unwrap()
        .contains("MaxRAMPercentage=75"));
    assert_eq!(v["summary"]["suppressed"], 1);

    // A baseline accepts today's findings; a new one is reported.
    stdout(
        lw(d.path()).args(["check", ".", "--write-baseline", "base.json"]),
        0,
    );
    stdout(
        lw(d.path()).args(["check", ".", "--baseline", "base.json"]),
        0,
    );
    fs::write(
        d.path().join("docker-compose.yml"),
        "services:\n  web:\n    image: app:1\n    command: gunicorn app:app\n    restart: always\n    mem_limit: 1g\n",
    )
    .unwrap();
    let v: Value = serde_json::from_str(&stdout(
        lw(d.path()).args(["check", ".", "--baseline", "base.json", "--format", "json"]),
        1,
    ))
    .unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["no-liveness-probe", "workers-not-recycled"]);
}

#[test]
fn explain_documents_the_deployment_rules() {
    let d = project(&[]);
    let list = stdout(lw(d.path()).args(["check", "--explain"]), 0);
    for id in [
        "memory-limit-missing",
        "heap-cap-mismatch",
        "workers-not-recycled",
        "no-restart-policy",
        "no-liveness-probe",
    ] {
        assert!(list.contains(id), "{list}");
        let doc = stdout(lw(d.path()).args(["check", "--explain", id]), 0);
        assert!(
            doc.contains("Leaky:") && doc.contains("Accepted fixes:"),
            "{id}"
        );
    }
    assert!(list.contains("kubernetes"), "{list}");
    let probe = stdout(
        lw(d.path()).args(["check", "--explain", "no-liveness-probe"]),
        0,
    );
    assert!(probe.contains("leakwatch\", \"probe\""), "{probe}");
}

#[test]
fn hostile_deployment_files_are_listed_and_the_rest_is_checked() {
    // An alias bomb: 9^30 strings if expanded.
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nl0: &l0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..30 {
        let p = i - 1;
        bomb.push_str(&format!(
            "l{i}: &l{i} [*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p}]\n"
        ));
    }
    // The same bomb where a workload's containers are.
    let workload_bomb = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nx: &c {name: c, image: i}\nx1: &c1 [*c, *c, *c, *c, *c, *c, *c, *c]\nspec:\n  template:\n    spec:\n      containers: *c1\n".to_string();
    let d = project(&[
        ("k8s/bomb.yaml", &bomb),
        ("k8s/workload-bomb.yaml", &workload_bomb),
        ("k8s/binary.yaml", "\u{0}\u{1}\u{2}\u{3}"),
        ("k8s/broken.yaml", "apiVersion: v1\nkind: Pod\nspec: [unclosed\n"),
        ("k8s/chart.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\n"),
        ("k8s/app.yaml", DEPLOYMENT_NO_LIMIT),
        ("k8s/notes.yaml", "title: not a deployment\nitems: [1, 2]\n"),
    ]);
    fs::write(
        d.path().join("k8s/latin1.yaml"),
        b"apiVersion: v1\nkind: Pod\n# caf\xe9\n",
    )
    .unwrap();
    // 100 MB of manifests: over the default size limit, listed, never read.
    {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::new(fs::File::create(d.path().join("k8s/huge.yaml")).unwrap());
        let doc = DEPLOYMENT_NO_LIMIT.to_string() + "---\n";
        let mut written = 0;
        while written < 100 * 1024 * 1024 {
            f.write_all(doc.as_bytes()).unwrap();
            written += doc.len();
        }
    }
    let v: Value = serde_json::from_str(&stdout(
        lw(d.path()).args(["check", "k8s", "--format", "json"]),
        2,
    ))
    .unwrap();
    let skipped: Vec<(String, String)> = v["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (path, reason) in [
        ("k8s/binary.yaml", "binary"),
        ("k8s/broken.yaml", "invalid"),
        ("k8s/chart.yaml", "template"),
        ("k8s/huge.yaml", "too-large"),
        ("k8s/latin1.yaml", "not-utf8"),
    ] {
        assert!(
            skipped.contains(&(path.to_string(), reason.to_string())),
            "{path} {reason} not in {skipped:?}"
        );
    }
    assert_eq!(skipped.len(), 5, "{skipped:?}");
    let rules: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    assert!(
        rules.contains(&("k8s/app.yaml", "memory-limit-missing")),
        "{rules:?}"
    );
    // The bomb's one container is judged once per reference, not per expansion.
    let bombs = rules
        .iter()
        .filter(|(p, _)| *p == "k8s/workload-bomb.yaml")
        .count();
    assert!(bombs <= 9 * 2, "{rules:?}");
}

/// Minified JavaScript under a plain name (a bundle's lines) is build
/// output: counted with the generated files, not checked. Checked on
/// request, a finding on its one long line carries the part around the
/// spot, not half a megabyte.
#[test]
fn minified_javascript_is_counted_not_checked() {
    let filler = "var a0=1;".repeat(600);
    let leak = "app.get('/s',(req,res)=>{bus.on('message',(m)=>res.write(m))});";
    let bundle = format!("const bus=require('b');{filler}{leak}{filler}\n");
    let d = project(&[("web/app.js", bundle.as_str())]);
    let out = stdout(lw(d.path()).args(["check", "--json", "."]), 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]), "{out}");
    assert_eq!(v["summary"]["generated"], serde_json::json!(["web/app.js"]));
    let out = stdout(
        lw(d.path()).args(["check", "--json", "--include-generated", "web/app.js"]),
        1,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "listener-leak", "{out}");
    let snippet = f["snippet"].as_str().unwrap();
    assert!(snippet.chars().count() <= 242, "{snippet}");
    assert!(
        snippet.starts_with('…') && snippet.ends_with('…'),
        "{snippet}"
    );
    // The spot, counted within the snippet, is the listener's call.
    let at = f["snippet_column"].as_u64().unwrap() as usize;
    let from_spot: String = snippet.chars().skip(at - 1).take(6).collect();
    assert_eq!(from_spot, "bus.on", "{snippet}");
    let text = lw(d.path())
        .args(["check", "--include-generated", "web/app.js"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.lines().all(|l| l.chars().count() < 400), "{shown}");
}

/// A generated file (Go's `Code generated ... DO NOT EDIT.`) is counted and
/// not checked, even one too deep to parse (Go's own tzdata/zipdata.go made
/// a whole run of Go's tree "incomplete", exit 2); `--include-generated`
/// checks it, and so does naming it on the command line.
#[test]
fn generated_files_are_counted_not_checked() {
    let deep = format!(
        "// Code generated by generate_zipdata. DO NOT EDIT.\n\npackage tzdata\n\nconst zipdata = {}\"z\"\n",
        "\"a\" + ".repeat(3000)
    );
    let leaky_go = "\
// Code generated by protoc-gen-go. DO NOT EDIT.

package pb

import \"net/http\"

var seen = map[string][]byte{}

func Handle(w http.ResponseWriter, r *http.Request) {
\tseen[r.URL.Path] = []byte(r.URL.RawQuery)
}
";
    // A parser made from a grammar by a generator (PHP's ParserGenerator,
    // as Smarty's) says so with a line directive into the grammar.
    let leaky_parser = "<?php\n\nclass TP_yyStackEntry {}\n\n// line 11 \"./lexer/template_parser.y\"\n\nclass TemplateParser\n{\n    public function handle($request)\n    {\n        static $seen = array();\n        $seen[$request->path] = $request->body;\n    }\n}\n";
    let d = project(&[
        ("zz/zipdata.go", deep.as_str()),
        ("pb/reg.pb.go", leaky_go),
        ("lexer/parser.php", leaky_parser),
        ("app/pricing.py", LEAKY_PY),
    ]);
    let out = stdout(lw(d.path()).args(["check", "--json", "."]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/pricing.py"], "{out}");
    assert_eq!(
        v["summary"]["generated"],
        serde_json::json!(["lexer/parser.php", "pb/reg.pb.go", "zz/zipdata.go"])
    );
    assert_eq!(v["summary"]["skipped"], serde_json::json!([]));
    let text = lw(d.path()).args(["check", "."]).output().unwrap();
    assert_eq!(text.status.code(), Some(1));
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.contains("3 generated files not checked"), "{shown}");
    assert!(shown.contains("include-generated"), "{shown}");
    assert!(!shown.contains("incomplete"), "{shown}");

    // Checked on request: the generated store is a finding, the deep file
    // a lost one (exit 2).
    let out = lw(d.path())
        .args(["check", "--json", "--include-generated", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "pb/reg.pb.go")
            && v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"] == "lexer/parser.php"),
        "{v}"
    );
    assert_eq!(v["summary"]["skipped"][0]["reason"], "too-deep");
    // Named on the command line: checked.
    let out = stdout(lw(d.path()).args(["check", "--json", "pb/reg.pb.go"]), 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["path"], "pb/reg.pb.go");
}
