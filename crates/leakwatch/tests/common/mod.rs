//! Helpers for the CLI's integration tests: real programs, real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn example(name: &str) -> String {
    repo_root()
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

pub fn leakwatch() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("leakwatch").unwrap()
}

/// Compiles examples/NAME.c into `dir` and returns the binary's path.
pub fn build_c(name: &str, dir: &Path) -> String {
    let out = dir.join(name);
    let status = std::process::Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&out)
        .arg(repo_root().join("examples").join(format!("{name}.c")))
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc failed for {name}");
    out.display().to_string()
}

pub fn json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Events printed as JSON lines (`watch --json`).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The verdict of each resource in a report, as `resource=verdict`.
pub fn verdicts(v: &serde_json::Value) -> Vec<String> {
    v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["resource"].as_str().unwrap(),
                r["verdict"].as_str().unwrap()
            )
        })
        .collect()
}

pub fn has_command(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Hands a JUnit XML file to its consumer's schema: the Jenkins JUnit
/// plugin's XSD (tests/schemas/junit-10.xsd), through python xmlschema
/// (.ci/deps/cli.sh installs it). Panics with the validator's reasons.
pub fn assert_valid_junit(xml: &Path) {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas");
    let out = std::process::Command::new("python3")
        .arg(schemas.join("validate_xml.py"))
        .arg(schemas.join("junit-10.xsd"))
        .arg(xml)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{} fails the Jenkins JUnit XSD:\n{}{}\n{}",
        xml.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(xml).unwrap_or_default()
    );
}
