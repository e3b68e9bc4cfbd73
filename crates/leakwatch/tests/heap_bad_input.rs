//! `leakwatch diff` on bad input: a clear error and exit code 2, never a panic.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

const SNAPSHOT: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["synthetic","object"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["property","weak"],"string_or_number","node"]},"node_count":2,"edge_count":1},
"nodes":[0,0,1,0,1,1,1,3,64,0],
"edges":[0,2,5],
"strings":["","Thing","thing"]}"#;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn diff_err(base: &Path, target: &Path) -> String {
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .arg(base)
        .arg(target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn identical_snapshots_show_no_leak() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.heapsnapshot", SNAPSHOT.as_bytes());
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .arg(&a)
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no leak cluster"), "{text}");
}

#[test]
fn truncated_json_names_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.heapsnapshot", SNAPSHOT.as_bytes());
    let cut = write(dir.path(), "cut.heapsnapshot", &SNAPSHOT.as_bytes()[..300]);
    let err = diff_err(&good, &cut);
    assert!(err.contains("cut.heapsnapshot"), "{err}");
    assert!(err.contains("ends early at byte 300"), "{err}");
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn wrong_meta_names_the_missing_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = SNAPSHOT.replace(r#""edge_count"],"node_types""#, r#""edges"],"node_types""#);
    let p = write(dir.path(), "meta.heapsnapshot", bad.as_bytes());
    let err = diff_err(&p, &p);
    assert!(err.contains("edge_count"), "{err}");
    assert!(err.contains("meta"), "{err}");
}

#[test]
fn non_snapshot_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = write(dir.path(), "notes.txt", b"hello, not a snapshot\n");
    let err = diff_err(&text, &text);
    assert!(err.contains("neither a V8 heap snapshot"), "{err}");

    let json = write(
        dir.path(),
        "package.json",
        br#"{"name":"x","version":"1.0.0"}"#,
    );
    let err = diff_err(&json, &json);
    assert!(err.contains("not a V8 heap snapshot"), "{err}");

    let empty = write(dir.path(), "empty.heapsnapshot", b"");
    diff_err(&empty, &empty);

    let gz = write(
        dir.path(),
        "bad.pb.gz",
        &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
    );
    let err = diff_err(&gz, &gz);
    assert!(err.contains("not a pprof profile"), "{err}");

    let missing = dir.path().join("missing.heapsnapshot");
    let err = diff_err(&missing, &missing);
    assert!(err.contains("missing.heapsnapshot"), "{err}");
}

#[test]
fn mixed_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "a.heapsnapshot", SNAPSHOT.as_bytes());
    let gz = write(dir.path(), "b.pb.gz", &[0x1f, 0x8b, 8, 0]);
    let err = diff_err(&snap, &gz);
    assert!(err.contains("pass snapshots of the same kind"), "{err}");
}
