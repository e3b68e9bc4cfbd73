//! `run --junit` handed to its consumer: Jenkins' JUnit XSD (the leak case
//! is validated in soak_gate.rs, which needs a two-minute soak).

mod common;
use common::*;

/// The `time` attribute of every element named `tag`, in order.
fn times(xml: &str, tag: &str) -> Vec<f64> {
    xml.match_indices(&format!("<{tag} "))
        .filter_map(|(i, _)| {
            let rest = &xml[i..];
            let end = rest.find('>')?;
            let attrs = &rest[..end];
            let t = attrs.split("time=\"").nth(1)?;
            t[..t.find('"')?].parse().ok()
        })
        .collect()
}

/// A run too short to judge, of a command line holding control characters:
/// the report passes the XSD, every case is <skipped> (not passed), the
/// suite counts errors and skipped, and the cases' times add up to the
/// suite's (mergers sum them).
#[test]
fn short_run_with_control_characters_is_valid_junit_with_skipped_cases() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("soak.xml");
    let out = leakwatch()
        .args(["run", "--duration", "2s", "--interval", "100ms", "--junit"])
        .arg(&junit)
        .args([
            "--",
            "sh",
            "-c",
            "sleep 30",
            "\u{1b}[31mred\u{1}\u{7}\u{1b}[0m",
        ])
        .output()
        .unwrap();
    // Too short to judge: the gate fails (exit 2), never a pass.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&junit).expect("JUnit file written");
    assert_valid_junit(&junit);
    assert!(
        !xml.chars().any(|c| c.is_control() && !"\n\r\t".contains(c)),
        "control characters in {xml:?}"
    );
    let cases = xml.matches("<testcase ").count();
    assert!(cases >= 3, "{xml}");
    assert_eq!(xml.matches("<skipped").count(), cases, "{xml}");
    assert!(xml.contains(&format!("skipped=\"{cases}\"")), "{xml}");
    assert!(xml.contains("errors=\"0\""), "{xml}");
    let suite = times(&xml, "testsuite");
    let case_sum: f64 = times(&xml, "testcase").iter().sum();
    assert_eq!(suite.len(), 1, "{xml}");
    assert!(
        (case_sum - suite[0]).abs() <= 0.002 * cases as f64,
        "cases add up to {case_sum}s, the soak took {}s: {xml}",
        suite[0]
    );
}

/// A JUnit or CSV path that cannot be written fails before the target
/// starts (issue 14: --junit used to fail after the whole soak, losing the
/// verdict).
#[test]
fn unwritable_output_paths_fail_before_the_target_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let out = leakwatch()
        .args([
            "run",
            "--duration",
            "10m",
            "--junit",
            "/nonexistent-leakwatch-dir/soak.xml",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!("touch {}; sleep 600", marker.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent-leakwatch-dir"), "{err}");
    assert!(!marker.exists(), "the target was started");

    // The same for the CSV, and for a path that is a directory.
    for bad in ["/nonexistent-leakwatch-dir/run.csv", "/tmp"] {
        let out = leakwatch()
            .args(["run", "--duration", "10m", "--out", bad, "--", "sh", "-c"])
            .arg(format!("touch {}; sleep 600", marker.display()))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(bad), "{err}");
        assert!(!marker.exists(), "the target was started for --out {bad}");
    }
}
