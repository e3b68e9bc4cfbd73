//! `leakwatch diff` on bad Java heap dumps: truncated, corrupted and
//! mismatched files give a clear error naming the file and exit 2, never a
//! panic. The dump is a real one, written by an OpenJDK 17 program.

#[path = "hprof/java.rs"]
mod java;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn diff_err(files: &[&Path]) -> String {
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Offset of the first record with `tag` after the header.
fn first_record(d: &[u8], tag: u8) -> usize {
    let mut at = d.iter().position(|&b| b == 0).unwrap() + 1 + 4 + 8;
    loop {
        if d[at] == tag {
            return at;
        }
        let len = u32::from_be_bytes(d[at + 5..at + 9].try_into().unwrap()) as usize;
        at += 9 + len;
    }
}

#[test]
fn truncated_corrupted_and_mismatched_dumps_exit_2() {
    let p = java::compile();
    let files = p.dumps("static-list", p.dir.path(), 2, 2000);
    let good = std::fs::read(&files[0]).unwrap();
    let dir = p.dir.path();

    // Cut in the middle of the heap dump: the byte offset is named.
    let cut = write(dir, "cut.hprof", &good[..good.len() / 2]);
    let err = diff_err(&[&files[0], &cut]);
    assert!(err.contains("cut.hprof"), "{err}");
    assert!(err.contains("ends early at byte"), "{err}");

    // Cut exactly at a record boundary, before the HEAP DUMP END record.
    let end = first_record(&good, 0x2c);
    let at_boundary = write(dir, "boundary.hprof", &good[..end]);
    let err = diff_err(&[&files[0], &at_boundary]);
    assert!(err.contains("HEAP DUMP END"), "{err}");

    // A corrupt heap dump record tag.
    let mut bad = good.clone();
    let seg = first_record(&good, 0x1c);
    bad[seg + 9] = 0x77;
    let corrupt = write(dir, "corrupt.hprof", &bad);
    let err = diff_err(&[&corrupt, &files[1]]);
    assert!(err.contains("corrupt.hprof"), "{err}");
    assert!(err.contains("unknown heap dump record 0x77"), "{err}");

    // A segment length that runs past the file.
    let mut bad = good.clone();
    bad[seg + 5..seg + 9].copy_from_slice(&u32::MAX.to_be_bytes());
    let long = write(dir, "long.hprof", &bad);
    let err = diff_err(&[&long, &files[1]]);
    assert!(err.contains("long.hprof"), "{err}");

    // A header with an impossible identifier size.
    let mut bad = good.clone();
    let id_at = good.iter().position(|&b| b == 0).unwrap() + 1;
    bad[id_at..id_at + 4].copy_from_slice(&3u32.to_be_bytes());
    let ids = write(dir, "ids.hprof", &bad);
    let err = diff_err(&[&ids, &files[1]]);
    assert!(err.contains("identifier size 3"), "{err}");

    // An HPROF file without a heap dump (only the header and strings).
    let strings = first_record(&good, 0x02);
    let no_heap = write(dir, "noheap.hprof", &good[..strings]);
    let err = diff_err(&[&no_heap, &files[1]]);
    assert!(err.contains("holds no heap dump"), "{err}");

    // Mismatched kinds: a heap dump and a V8 snapshot, a dump and text.
    let json = write(dir, "a.heapsnapshot", br#"{"snapshot":{}}"#);
    let err = diff_err(&[&files[0], &json]);
    assert!(err.contains("pass dumps of the same kind"), "{err}");
    let err = diff_err(&[&json, &files[0]]);
    assert!(err.contains("pass snapshots of the same kind"), "{err}");

    // The same dump twice is not a leak (and not an error).
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .arg(&files[0])
        .arg(&files[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}
