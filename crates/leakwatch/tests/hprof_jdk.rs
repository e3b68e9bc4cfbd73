//! `leakwatch diff` on real HPROF heap dumps of OpenJDK 17 programs written
//! by the test (tests/hprof/Leaks.java, compiled with javac into a temporary
//! directory): each leak is named by its retaining field from a GC root, and
//! a bounded LinkedHashMap cache is not a leak.

#[path = "hprof/java.rs"]
mod java;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;

fn diff_json(files: &[PathBuf]) -> (i32, Value) {
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .args(files)
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr: {stderr}"));
    (out.status.code().unwrap(), json)
}

fn diff_text(files: &[PathBuf]) -> (i32, String, String) {
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .arg("diff")
        .args(files)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fields(cluster: &Value) -> Vec<String> {
    cluster["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["field"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn static_list_leak_names_the_static_field() {
    let p = java::compile();
    let files = p.dumps("static-list", p.dir.path(), 3, 20_000);
    let (code, json) = diff_json(&files);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["version"], 1);
    assert_eq!(json["format"], "hprof");
    let clusters = json["report"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let top = &clusters[0];
    assert_eq!(
        top["root"], "Leaks$OrderService.HISTORY (static)",
        "{top:#}"
    );
    assert_eq!(top["class"], "Leaks$OrderEvent");
    assert_eq!(fields(top), ["elementData", "[]"]);
    // 200 at warm-up, then 20,000 per round.
    assert_eq!(top["counts"], serde_json::json!([200, 20200, 40200]));
    assert_eq!(top["trend"]["state"], "leak");
    // What the events keep: their payloads and customer strings.
    let kept: Vec<&str> = top["keeps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["class"].as_str().unwrap())
        .collect();
    assert!(
        kept.contains(&"byte[]") && kept.contains(&"java.lang.String"),
        "{kept:?}"
    );
    // The class table agrees.
    let classes = json["report"]["classes"].as_array().unwrap();
    let event = classes
        .iter()
        .find(|c| c["class"] == "Leaks$OrderEvent")
        .unwrap();
    assert_eq!(event["trend"]["state"], "leak", "{event:#}");

    let (code, text, _) = diff_text(&files);
    assert_eq!(code, 1);
    assert!(
        text.contains(
            "Leaks$OrderService.HISTORY (static) → ArrayList.elementData → Object[] → 40,200 × Leaks$OrderEvent"
        ),
        "{text}"
    );
}

#[test]
fn listener_leak_names_the_listener_list() {
    let p = java::compile();
    let files = p.dumps("listeners", p.dir.path(), 3, 20_000);
    let (code, json) = diff_json(&files);
    assert_eq!(code, 1, "{json:#}");
    let clusters = json["report"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let top = &clusters[0];
    assert_eq!(top["root"], "Leaks.FEED (static)", "{top:#}");
    assert_eq!(top["class"], "Leaks$QuoteWidget");
    assert_eq!(fields(top), ["listeners", "elementData", "[]"]);
    assert_eq!(top["path"][0]["holder"], "Leaks$PriceFeed");
}

#[test]
fn threadlocal_leak_in_a_pool_names_the_thread_and_field() {
    let p = java::compile();
    let files = p.dumps("threadlocal", p.dir.path(), 3, 20_000);
    let (code, json) = diff_json(&files);
    assert_eq!(code, 1, "{json:#}");
    let clusters = json["report"]["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    let top = &clusters[0];
    // Both pool threads hold one root: their names with the numbers starred.
    assert_eq!(top["root"], "thread \"pool-*-thread-*\"", "{top:#}");
    assert_eq!(top["class"], "byte[]");
    let f = fields(top);
    assert_eq!(f[0], "threadLocals", "{f:?}");
    assert!(f.contains(&"value".to_string()), "{f:?}");
    assert_eq!(top["path"][0]["holder"], "java.lang.Thread");
}

#[test]
fn bounded_linkedhashmap_cache_is_not_a_leak() {
    let p = java::compile();
    // The cache holds 5,000 sessions and was filled before the first dump;
    // 20,000 more turn it over between dumps.
    let files = p.dumps("lru", p.dir.path(), 3, 20_000);
    let (code, json) = diff_json(&files);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["report"]["clusters"].as_array().unwrap().len(), 0);
    assert_eq!(json["report"]["clusters_found"], 0);
    for class in json["report"]["classes"].as_array().unwrap() {
        assert_ne!(class["trend"]["state"], "leak", "{class:#}");
    }
    // With two dumps nothing grew either.
    let (code, _) = diff_json(&files[..2]);
    assert_eq!(code, 0);
}

/// A JVM left running in `wait` mode, killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // A killed JVM cannot remove its attach socket; don't leave it in /tmp.
        let _ = std::fs::remove_file(format!("/tmp/.java_pid{}", self.0.id()));
    }
}

fn start_waiting(p: &java::Program, mode: &str) -> Running {
    let mut child = p
        .java()
        .args(["Leaks", mode])
        .arg(p.dir.path())
        .args(["0", "20000", "wait"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    Running(child)
}

#[test]
fn dumps_from_jcmd_jmap_and_out_of_memory_are_read() {
    let p = java::compile();
    let jvm = start_waiting(&p, "static-list");
    let pid = jvm.0.id().to_string();
    let out = p.dir.path();
    let a = out.join("jcmd.hprof");
    let b = out.join("jmap.hprof");
    let ok = std::process::Command::new("jcmd")
        .args([&pid, "GC.heap_dump"])
        .arg(&a)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let ok = std::process::Command::new("jmap")
        .arg(format!("-dump:live,format=b,file={}", b.display()))
        .arg(&pid)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    drop(jvm);
    // Two dumps: the list grew by ~2,000 events in 1.5 s (200 every 100 ms).
    let (code, json) = diff_json(&[a, b]);
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(
        json["report"]["clusters"][0]["root"], "Leaks$OrderService.HISTORY (static)",
        "{json:#}"
    );

    // -XX:+HeapDumpOnOutOfMemoryError: two dumps of its own, then it runs
    // out of its 48 MB heap and the JVM writes the third.
    let oom = out.join("oom.hprof");
    let status = p
        .java()
        .args(["-Xmx48m", "-XX:+HeapDumpOnOutOfMemoryError"])
        .arg(format!("-XX:HeapDumpPath={}", oom.display()))
        .args(["Leaks", "static-list"])
        .arg(out)
        .args(["2", "20000", "oom"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the program ends with OutOfMemoryError");
    assert!(oom.exists(), "the JVM wrote its dump");
    let files = [out.join("dump0.hprof"), out.join("dump1.hprof"), oom];
    let (code, json) = diff_json(&files);
    assert_eq!(code, 1, "{json:#}");
    let top = &json["report"]["clusters"][0];
    assert_eq!(
        top["root"], "Leaks$OrderService.HISTORY (static)",
        "{top:#}"
    );
    assert_eq!(top["class"], "Leaks$OrderEvent");
}

#[test]
fn dumps_of_two_jvms_are_refused() {
    let p = java::compile();
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let fa = p.dumps("static-list", a.path(), 2, 1000);
    let fb = p.dumps("static-list", b.path(), 2, 1000);
    let (code, _, err) = diff_text(&[fa[0].clone(), fb[1].clone()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("same JVM"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // One JVM, wrong order.
    let (code, _, err) = diff_text(&[fa[1].clone(), fa[0].clone()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("order"), "{err}");
}

#[test]
fn snapshot_jvm_takes_private_dumps_and_diffs_them() {
    use std::os::unix::fs::PermissionsExt;
    let p = java::compile();
    let jvm = start_waiting(&p, "static-list");
    let pid = jvm.0.id().to_string();
    let out_dir = p.dir.path().join("dumps");
    // A relative --out-dir, from another directory than the JVM's: the
    // JVM writes the dump, and used to resolve the path against its own.
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .current_dir(p.dir.path())
        .args(["snapshot", "--jvm", &pid, "--count", "3", "--every", "1s"])
        .args(["--out-dir", "dumps"])
        .arg("--json")
        .output()
        .unwrap();
    drop(jvm);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Taken through the attach client, without jcmd.
    assert!(!stderr.contains("using jcmd"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["report"]["clusters"][0]["root"], "Leaks$OrderService.HISTORY (static)",
        "{json:#}"
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out_dir), 0o700);
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "only the three dumps, no staging left: {names:?}"
    );
    for n in &names {
        assert!(
            n.starts_with(&format!("jvm-{pid}-")) && n.ends_with(".hprof"),
            "{n}"
        );
        assert_eq!(mode(&out_dir.join(n)), 0o600, "{n}");
    }

    // Not a JVM: a clear error, exit 2.
    let me = std::process::id().to_string();
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .args(["snapshot", "--jvm", &me, "--out-dir"])
        .arg(p.dir.path().join("none"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a HotSpot JVM"), "{stderr}");
}

/// Ctrl-C between two dumps: the complete dump is kept, nothing half-made
/// is left (no staging directory, no partial file), and the run says what
/// it had; it used to die at once (exit 130) with its staging left behind.
#[test]
fn snapshot_jvm_interrupted_keeps_its_dumps_and_leaves_nothing_else() {
    let p = java::compile();
    let jvm = start_waiting(&p, "static-list");
    let out_dir = p.dir.path().join("cut");
    let mut lw = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args(["snapshot", "--jvm", &jvm.0.id().to_string()])
        .args(["--count", "3", "--every", "30s", "--out-dir"])
        .arg(&out_dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(lw.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.starts_with("wrote "), "{first}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(lw.id() as i32, libc::SIGINT) };
    let status = lw.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    drop(jvm);
    assert_eq!(status.code(), Some(2), "{rest}");
    assert!(rest.contains("interrupted after 1 of 3 dumps"), "{rest}");
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "only the complete dump: {names:?}");
    assert!(names[0].ends_with("-1.hprof"), "{names:?}");
}
