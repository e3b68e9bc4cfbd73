//! The attach client on a real OpenJDK 17 JVM, as `snapshot --jvm` will use
//! it: a diagnostic command, a heap dump written by the JVM, an operation
//! the JVM refuses, and nothing left behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use leakwatch_where::jvm::attach::{AttachError, AttachTarget};

struct Java(std::process::Child);

impl Drop for Java {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        // Only a JVM that exits removes its attach socket; a killed one
        // leaves it in /tmp.
        let _ = std::fs::remove_file(format!("/tmp/.java_pid{}", self.0.id()));
    }
}

/// The test service of the CLI's `where` tests, compiled into `dir`.
fn start_jvm(dir: &Path) -> Java {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../leakwatch/tests/where/WhereSvc.java");
    let ok = Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(&src)
        .status()
        .expect("javac (OpenJDK 17) is installed: .ci/deps/where.sh");
    assert!(ok.success());
    let mut child = Command::new("java")
        .args(["-Xmx64m", "-cp"])
        .arg(dir)
        .arg("WhereSvc")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("java runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening"), "{line}");
    Java(child)
}

#[test]
fn commands_heap_dumps_and_refusals_on_a_real_jvm() {
    let dir = tempfile::tempdir().unwrap();
    let java = start_jvm(dir.path());
    let pid = java.0.id() as i32;
    let target = AttachTarget::open(pid).unwrap();
    assert_eq!(target.nspid(), pid);
    let t = Duration::from_secs(30);

    // Starts the listener (attach file + SIGQUIT), then reuses it.
    let version = target.jcmd("VM.version", t).unwrap();
    assert!(version.contains("OpenJDK"), "{version}");
    let again = target.jcmd("VM.uptime", t).unwrap();
    assert!(again.trim().ends_with('s'), "{again}");

    // A heap dump, written by the JVM into its own filesystem.
    let hprof = dir.path().join("dump.hprof");
    let out = target
        .dump_heap(hprof.to_str().unwrap(), true, Duration::from_secs(60))
        .unwrap();
    assert!(out.contains("Heap dump file created"), "{out}");
    let seen = target.path_in_target(hprof.to_str().unwrap());
    let head = std::fs::read(&seen).unwrap();
    assert!(
        head.starts_with(b"JAVA PROFILE 1.0.2\0"),
        "{:?}",
        &head[..20]
    );

    // What the JVM refuses comes back as its own message.
    match target.jcmd("No.such_command", t) {
        Err(AttachError::Failed { message, .. }) => {
            assert!(message.contains("Unknown diagnostic command"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Its performance counters are readable (the pause of each poll).
    let c = target.counters().expect("the JVM has hsperfdata");
    assert_eq!(c.attach_supported, Some(true));
    assert!(c.safepoint_seconds().is_some());
    // No attach file left in its working directory or /tmp.
    for d in [dir.path(), Path::new("/tmp")] {
        assert!(!d.join(format!(".attach_pid{pid}")).exists());
    }
}
