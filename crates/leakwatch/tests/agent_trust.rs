//! Regression tests of the agent's and `watch`'s trust findings (issue 14),
//! one per finding, each against the real binary: half-open connections
//! must not cost threads, alert URLs other than http(s) are refused at
//! start-up, the store is private and never written through a symlink,
//! kernel threads, zombies and an empty --name are clear errors, and a
//! removed cgroup ends `watch --cgroup` with a message instead of
//! "exited" every tick. (Label escaping: `agent_promtool.rs` and the
//! metrics unit tests; redirects: the alert unit tests.)

mod agent_support;

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_support::*;

fn leakwatch() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
}

fn threads_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the agent never served");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn half_open_connections_cost_no_threads_and_are_timed_out() {
    let target = spawn_python("import time\ntime.sleep(120)\n");
    let port = free_port();
    let agent = Running(
        leakwatch()
            .args(["watch", "--pid", &target.pid().to_string()])
            .args([
                "--serve",
                &format!("127.0.0.1:{port}"),
                "--interval",
                "0.5s",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port);
    std::thread::sleep(Duration::from_millis(500));
    let before = threads_of(agent.pid());
    // 500 connections that never send a byte (a slowloris, or a port scan).
    let idle: Vec<TcpStream> = (0..500)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    assert!(idle.len() >= 400, "only {} connections", idle.len());
    std::thread::sleep(Duration::from_secs(1));
    let during = threads_of(agent.pid());
    assert!(
        during <= before,
        "{during} threads with 500 idle connections, {before} before"
    );
    // A scraper still gets its answer meanwhile.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::io::Write::write_all(&mut s, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The idle connections are closed, by eviction or by the 5 s head timeout.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut newest = &idle[idle.len() - 1];
    newest
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(newest.read(&mut buf).unwrap_or(0), 0, "still open");
    assert!(Instant::now() < deadline);
    drop(idle);
}

#[test]
fn webhook_urls_other_than_http_are_refused_at_start() {
    let target = spawn_python("import time\ntime.sleep(60)\n");
    let pid = target.pid().to_string();
    for url in ["file:///etc/passwd", "ftp://127.0.0.1/x", "/tmp/hook"] {
        let out = leakwatch()
            .args(["watch", "--pid", &pid, "--duration", "3s", "--webhook", url])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(err.contains("http:// or https://"), "{url}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(
        &cfg,
        format!("[alerts]\nwebhook = \"file:///etc/passwd\"\n[[target]]\npid = {pid}\n"),
    )
    .unwrap();
    let out = leakwatch()
        .args(["watch", "--duration", "3s", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scheme `file`"));
}

#[test]
fn the_store_is_private_and_a_planted_symlink_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let target = spawn_python("import time\ntime.sleep(60)\n");
    let pid = target.pid().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state").join("history.db");
    let out = leakwatch()
        .args(["watch", "--pid", &pid, "--duration", "1s", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    // A second of history: not judged (exit 2), as `watch` says, not an error.
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("too little data to judge"), "{err}");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store), 0o600);
    assert_eq!(mode(store.parent().unwrap()), 0o700);

    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"").unwrap();
    let planted = dir.path().join("planted.db");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = leakwatch()
        .args(["watch", "--pid", &pid, "--duration", "1s", "--store"])
        .arg(&planted)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"",
        "written through the link"
    );
}

#[test]
fn kernel_threads_zombies_and_empty_names_are_clear_errors() {
    let run = |args: &[&str]| {
        let out = leakwatch()
            .arg("watch")
            .args(args)
            .args(["--duration", "3s"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
        let (code, err) = run(&["--pid", "2"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("kernel thread"), "{err}");
        let (code, err) = run(&["--pid", "2", "--serve", "127.0.0.1:0"]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("kernel thread"), "{err}");
    } else {
        eprintln!("SKIPPED the kernel-thread half: pid 2 is not kthreadd here (a pid namespace)");
    }
    let (code, err) = run(&["--name", ""]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pattern is empty"), "{err}");
    let (code, err) = run(&["--name", "  "]);
    assert_eq!(code, Some(2), "{err}");

    // A zombie: a child of a parent that does not reap it.
    let mut parent = Running(
        Command::new("python3")
            .args([
                "-c",
                "import os, sys, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)\n",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    let mut out = parent.0.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0] as char);
    }
    let zombie = line.trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(format!("/proc/{zombie}/stat"))
        .unwrap_or_default()
        .contains(") Z ")
    {
        assert!(Instant::now() < deadline, "no zombie");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, err) = run(&["--pid", &zombie]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("zombie") && err.contains(&parent.pid().to_string()),
        "{err}"
    );
}

#[test]
fn a_removed_cgroup_ends_the_watch_with_a_message() {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let root = if v1.join("memory.usage_in_bytes").exists() {
        v1.to_path_buf()
    } else {
        Path::new("/sys/fs/cgroup").to_path_buf()
    };
    let dir = root.join(format!("leakwatch-trust-{}", std::process::id()));
    if std::fs::create_dir(&dir).is_err()
        || !(dir.join("memory.usage_in_bytes").exists() || dir.join("memory.current").exists())
    {
        let _ = std::fs::remove_dir(&dir);
        eprintln!(
            "SKIPPED: cannot create a memory cgroup under {} (needs root)",
            root.display()
        );
        return;
    }
    let mut watch = leakwatch()
        .args(["watch", "--cgroup"])
        .arg(&dir)
        .args(["--interval", "0.2s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::remove_dir(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = watch.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = watch.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    watch
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = watch.wait();
    assert!(
        status.is_some(),
        "watch went on after its cgroup was removed:\n{err}"
    );
    assert!(err.contains("was removed"), "{err}");
    assert!(err.matches("exited").count() <= 1, "{err}");
    // Not an error: exit 2 only because seconds of samples are too little
    // to judge (never "no leak").
    assert!(
        status.unwrap().code() != Some(2) || err.contains("too little data to judge"),
        "{err}"
    );
}
