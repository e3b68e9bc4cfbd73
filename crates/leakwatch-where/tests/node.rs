//! The Node source on real Node workers written here, started *without*
//! `--inspect`: leakwatch opens the inspector with SIGUSR1, samples the heap
//! over a session, names the leaking function (script:line) and not the
//! churn or the bounded cache, and closes the inspector again (checked in
//! /proc: the port no longer listens); the worker still serves after.
//! Faults: the inspector port taken by another process, a target that
//! exits mid-poll, another user's process, a process without SIGUSR1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use leakwatch_core::LeakState;
use leakwatch_where::listen;
use leakwatch_where::node::{NodeOptions, NodeSource};
use leakwatch_where::{GrowthSource, Session, WhereError, WhereReport};

/// A worker: every 10 ms, five jobs go through a pipeline of steps (a
/// middleware chain: the call site sees more targets than V8 inlines, so
/// each step keeps its own frame). One step remembers every job forever
/// (the leak), one caches results in a Map of at most 1000 entries, one
/// allocates garbage; an HTTP server answers "pong" on a loopback port.
const WORKER: &str = include_str!("programs/worker.js");

/// The 1-based line of the first line of WORKER containing `text`.
fn worker_line(text: &str) -> usize {
    WORKER.lines().position(|l| l.contains(text)).unwrap() + 1
}

/// Tests that let Node open its default port, 9229, run one at a time.
static DEFAULT_PORT: Mutex<()> = Mutex::new(());

fn worker_script() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("where-node");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("worker-{}.js", std::process::id()));
    if !path.exists() {
        std::fs::write(&path, WORKER).unwrap();
    }
    path
}

/// The running worker; killed when the test ends, pass or fail.
struct Worker {
    child: Child,
    port: u16,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    fn start(node_args: &[&str]) -> Worker {
        Self::start_with(Command::new("node").args(node_args).arg(worker_script()))
    }

    fn start_with(cmd: &mut Command) -> Worker {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node is installed");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("worker printed '{line}'"));
        Worker { child, port }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn ping(&self) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("worker accepts");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// The worker's listening ports, from /proc.
    fn listening_ports(&self) -> Vec<u16> {
        listen::listeners(self.pid())
            .unwrap()
            .iter()
            .map(|l| l.local.port())
            .collect()
    }
}

fn drive(source: Box<dyn GrowthSource>, duration: Duration, interval: Duration) -> WhereReport {
    let mut session = Session::new(
        source,
        &leakwatch_where::detector_config(duration.as_secs_f64()),
        4096,
    );
    let start = Instant::now();
    let mut next = start;
    while start.elapsed() < duration {
        session
            .poll(start.elapsed().as_secs_f64())
            .unwrap_or_else(|e| panic!("poll failed: {e}"));
        next += interval;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let report = session.report(20);
    session.close().unwrap();
    report
}

fn print_report(report: &WhereReport) {
    eprintln!(
        "{}: {} polls over {:.1}s, longest poll {:?}",
        report.source, report.polls, report.duration_s, report.max_poll
    );
    for m in &report.metrics {
        for k in m.keys.iter().take(8) {
            eprintln!(
                "  {:<10} {:<8?} {:>10.0} → {:>10.0}  {}",
                m.metric.name, k.state, k.first_value, k.last_value, k.key
            );
        }
    }
}

#[test]
fn names_the_leaking_function_and_closes_the_inspector_again() {
    let _port = DEFAULT_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let worker = Worker::start(&[]);
    std::thread::sleep(Duration::from_secs(1));
    let before = worker.listening_ports();
    assert!(!before.contains(&9229), "{before:?}");

    let source = NodeSource::open(worker.pid(), &NodeOptions::default()).unwrap();
    assert!(source.opened_inspector());
    assert_eq!(source.inspector_addr().to_string(), "127.0.0.1:9229");
    assert!(worker.listening_ports().contains(&9229));

    let report = drive(
        Box::new(source),
        Duration::from_secs(36),
        Duration::from_millis(500),
    );
    print_report(&report);
    assert!(report.leak);
    let sites = &report.metrics[0].keys;
    let leaks: Vec<&str> = sites
        .iter()
        .filter(|k| k.state == LeakState::Leak)
        .map(|k| k.key.as_str())
        .collect();
    let script = worker_script();
    let want = format!(
        "recordJob ({}:{})",
        script.display(),
        worker_line("function recordJob(")
    );
    assert!(leaks.contains(&want.as_str()), "{want} not in {leaks:#?}");
    for k in &leaks {
        assert!(
            !k.starts_with("cacheResult") && !k.starts_with("transform"),
            "a bounded or churning site called a leak: {k}"
        );
    }

    // Closed again: the process listens exactly where it did before.
    assert_eq!(worker.listening_ports(), before);
    assert!(worker.ping().ends_with("pong"));
}

#[test]
fn can_be_opened_again_after_closing() {
    let worker = Worker::start(&["--inspect-port=0"]);
    let before = worker.listening_ports();
    for _ in 0..2 {
        let mut source = NodeSource::open(worker.pid(), &NodeOptions::default()).unwrap();
        assert!(source.opened_inspector());
        let port = source.inspector_addr().port();
        assert_ne!(port, 9229, "--inspect-port=0 picks a free port");
        assert!(worker.listening_ports().contains(&port));
        let mut keys = 0;
        source.poll(&mut |_, _, _| keys += 1).unwrap();
        source.close().unwrap();
        assert_eq!(worker.listening_ports(), before);
    }
    assert!(worker.ping().ends_with("pong"));
}

#[test]
fn an_inspector_already_open_is_used_and_left_open() {
    let worker = Worker::start(&["--inspect=127.0.0.1:0"]);
    let before = worker.listening_ports();
    // --inspect=...:0 picks a random port: the configured port is 0, so
    // leakwatch cannot tell it is already open and signals; Node answers
    // SIGUSR1 with its open inspector, which must stay open.
    let mut source = NodeSource::open(worker.pid(), &NodeOptions::default()).unwrap();
    source.poll(&mut |_, _, _| {}).unwrap();
    source.close().unwrap();
    let after = worker.listening_ports();
    assert_eq!(
        after, before,
        "the inspector it was started with is still open"
    );
    assert!(worker.ping().ends_with("pong"));
}

#[test]
fn a_taken_inspector_port_is_a_clear_error_and_the_target_is_not_signalled() {
    let squatter = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = squatter.local_addr().unwrap().port();
    let worker = Worker::start(&[&format!("--inspect-port={taken}")]);
    let before = worker.listening_ports();
    let e = NodeSource::open(worker.pid(), &NodeOptions::default())
        .err()
        .expect("refused");
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(matches!(e, WhereError::Unsupported(_)));
    assert!(
        msg.contains(&format!(
            "127.0.0.1:{taken}, is taken by process {}",
            std::process::id()
        )),
        "{msg}"
    );
    assert!(msg.contains("not signalled"), "{msg}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(worker.listening_ports(), before);
    assert!(worker.ping().ends_with("pong"));
}

#[test]
fn a_worker_that_exits_mid_session_is_gone() {
    let script = worker_script();
    let worker = Worker::start_with(Command::new("node").arg("--inspect-port=0").arg("-e").arg(
        format!(
            "require({:?}); setTimeout(() => process.exit(0), 3000)",
            script.display().to_string()
        ),
    ));
    let mut source = NodeSource::open(worker.pid(), &NodeOptions::default()).unwrap();
    let start = Instant::now();
    let err = loop {
        match source.poll(&mut |_, _, _| {}) {
            Ok(_) => {
                assert!(start.elapsed() < Duration::from_secs(20), "never failed");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => break e,
        }
    };
    eprintln!("{err}");
    assert!(matches!(err, WhereError::Gone { .. }), "{err}");
    source.close().unwrap();
    // Not held back: it exits once leakwatch has let it go.
    let mut worker = worker;
    let deadline = Instant::now() + Duration::from_secs(10);
    while worker.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the worker did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_process_without_a_sigusr1_handler_is_not_signalled() {
    // Not Node: SIGUSR1 would kill it.
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let e = NodeSource::open(sleeper.id() as i32, &NodeOptions::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("no SIGUSR1 handler"), "{e}");
    assert!(sleeper.try_wait().unwrap().is_none(), "still running");
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}

/// Runs as an unprivileged user, in a child test process (see below).
#[test]
#[ignore = "run by another_users_worker_is_refused_with_the_fix as user nobody"]
fn open_as_another_user() {
    let Ok(pid) = std::env::var("LEAKWATCH_TEST_NODE_PID") else {
        return;
    };
    let e = NodeSource::open(pid.parse().unwrap(), &NodeOptions::default())
        .err()
        .expect("refused");
    println!("ERROR: {e}");
    assert!(matches!(e, WhereError::Permission { .. }), "{e}");
}

#[test]
fn another_users_worker_is_refused_with_the_fix() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run the observer as another user");
        return;
    }
    let worker = Worker::start(&["--inspect-port=0"]);
    let before = worker.listening_ports();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "open_as_another_user",
            "--ignored",
            "--nocapture",
        ])
        .env("LEAKWATCH_TEST_NODE_PID", worker.pid().to_string())
        .output()
        .expect("setpriv runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ERROR: not permitted to"), "{stdout}");
    assert_eq!(worker.listening_ports(), before);
    assert!(worker.ping().ends_with("pong"));
}
