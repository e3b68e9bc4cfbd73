//! Helpers of the `where` tests: the test programs in tests/where/, started
//! for real, and what the tests read back.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn programs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/where")
}

pub fn leakwatch() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("leakwatch").unwrap()
}

/// Compiles tests/where/WhereSvc.java into `dir` (readable by everyone, so
/// a JVM started as another user can load it).
pub fn compile_java(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = dir.join("WhereSvc.java");
    std::fs::copy(programs().join("WhereSvc.java"), &src).unwrap();
    let out = Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(&src)
        .output()
        .expect("javac (OpenJDK 17) is installed: .ci/deps/where.sh");
    assert!(
        out.status.success(),
        "javac failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644));
    }
}

/// A running WhereSvc; killed on drop.
pub struct Jvm {
    pub child: Child,
    pub pid: i32,
    pub port: u16,
    pub cwd: PathBuf,
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Jvm {
    /// Starts `java [flags] WhereSvc [args]` in `dir` (compiled there), as
    /// the user `user` when given (through setpriv), and waits until it
    /// serves.
    pub fn start(dir: &Path, flags: &[&str], args: &[&str], user: Option<&str>) -> Jvm {
        let mut cmd = match user {
            Some(u) => {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={u}"),
                    &format!("--regid={u}"),
                    "--clear-groups",
                    "java",
                ]);
                c
            }
            None => Command::new("java"),
        };
        cmd.args(["-Xmx64m", "-Dsun.net.httpserver.nodelay=true"])
            .args(flags)
            .arg("-cp")
            .arg(dir)
            .arg("WhereSvc")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("java is installed");
        let pid = child.id() as i32;
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = Arc::clone(&output);
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(p) = line.strip_prefix("listening ") {
                        let _ = tx.send(p.trim().parse::<u16>().unwrap());
                    }
                    out.lock().unwrap().push(line);
                }
            });
        }
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the JVM did not start: {:?}", output.lock().unwrap()));
        Jvm {
            child,
            pid,
            port,
            cwd: dir.to_owned(),
            output,
        }
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// GET / : "ok N" with N requests handled so far.
    pub fn handled(&self) -> Option<u64> {
        http_get(self.port)?
            .lines()
            .last()?
            .strip_prefix("ok ")?
            .trim()
            .parse()
            .ok()
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed JVM cannot remove its attach socket; don't leave it in /tmp.
        let _ = std::fs::remove_file(format!("/tmp/.java_pid{}", self.pid));
    }
}

pub fn http_get(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// No attach file of ours left in the JVM's working directory or /tmp.
pub fn no_attach_files_left(jvm: &Jvm) {
    let name = format!(".attach_pid{}", jvm.pid);
    for dir in [jvm.cwd.clone(), PathBuf::from("/tmp")] {
        assert!(
            !dir.join(&name).exists(),
            "{name} left in {}",
            dir.display()
        );
    }
}

/// The state of every key of `metric` in a `where --json` report.
pub fn states(report: &serde_json::Value, metric: &str) -> Vec<(String, String)> {
    report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == metric)
        .flat_map(|m| m["keys"].as_array().unwrap().iter())
        .map(|k| {
            (
                k["key"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The state of the key matching `pred`, which must be there once at least.
pub fn state_of(
    report: &serde_json::Value,
    metric: &str,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    states(report, metric)
        .into_iter()
        .filter(|(k, _)| pred(k))
        .map(|(_, s)| s)
        .collect()
}

pub fn json_of(stdout: &[u8], stderr: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(stderr)
        )
    })
}

/// Waits until `f` holds, at most `max`.
pub fn wait_for(max: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < max {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
