//! `leakwatch probe` end to end under real memory limits: a leaking service
//! and a plateauing one, each in a memory cgroup that the test creates with
//! a limit (v1 or v2, detected at run time; skipped with the reason where
//! cgroups cannot be written), each probed every second the way a kubelet
//! runs an exec liveness probe. The leaking one is probed from inside its
//! cgroup (self-detection, as an exec probe runs in the container); the
//! plateauing one with `--cgroup` from outside.
//!
//! Scaling: production is a leak reaching its limit over hours, probed every
//! 10 s, failing at 15 minutes before the limit, and this test must show at
//! least 5 minutes of warning. Here the leak fills a 96 MiB limit in about
//! two minutes, probed every 1 s, with `--threshold 60s` (15 min / 15) and a
//! required warning of 20 s (5 min / 15). Only the scenario and the
//! threshold are scaled, never the detector: its own floor of 60 s of
//! history before any leak call is why the leak must run about two minutes.
//!
//! The agent watches both cgroups at the same time, and its
//! `/healthz/TARGET` is asked every second too, like an `httpGet` probe.
//!
//! Asserted: the leaking one's probe fails (exit 1) at least 20 s before
//! the OOM kill, with a projected time to the limit of at least 20 s, and
//! never errs; the agent's `/healthz/leak` answers 503 at least 20 s before
//! it too; after the OOM kill a restarted service in the same cgroup is a
//! new incarnation that both pass ("could not judge yet"); the plateauing
//! one (fast warm-up fill, saw-tooth, bursts) never fails either.

mod agent_support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agent_support::Running;

const LIMIT: u64 = 96 << 20;
const THRESHOLD_S: f64 = 60.0;
const REQUIRED_WARNING_S: f64 = 20.0;

/// 70 kB more every 100 ms (0.7 MB/s), forever.
const LEAKING_PY: &str = "import time\nkeep = []\ni = 0\nwhile True:\n    keep.append('a' * 70_000 + str(i))\n    i += 1\n    time.sleep(0.1)\n";

/// Warm-up: a 40 MB cache filled in ~8 s. Then flat, with a saw-tooth
/// (a buffer list growing by 200 kB chunks for 5 s and cleared, like a
/// collector's cycle) and a 12 MB burst every 15 s, all given back.
const PLATEAU_PY: &str = "import time\ncache = []\nfor i in range(200):\n    cache.append('c' * 200_000 + str(i))\n    time.sleep(0.04)\nsaw = []\ni = 0\nwhile True:\n    saw.append('s' * 200_000 + str(i))\n    if len(saw) >= 50:\n        saw = []\n    if i % 150 == 0:\n        burst = ['b' * 400_000 + str(j) for j in range(30)]\n        del burst\n    i += 1\n    time.sleep(0.1)\n";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Version {
    V1,
    V2,
}

/// A memory cgroup with a limit, removed (after its processes) on drop.
struct Cgroup {
    dir: PathBuf,
    version: Version,
}

impl Cgroup {
    fn create(name: &str) -> Result<Cgroup, String> {
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let v2 = Path::new("/sys/fs/cgroup");
        let leaf = format!("leakwatch-probe-{}-{name}", std::process::id());
        if v1.join("memory.limit_in_bytes").exists() {
            let dir = v1.join(leaf);
            std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            let cg = Cgroup {
                dir,
                version: Version::V1,
            };
            cg.write("memory.limit_in_bytes", &LIMIT.to_string())?;
            // No swap, so the limit is reached rather than swapped past.
            let _ = cg.write("memory.memsw.limit_in_bytes", &LIMIT.to_string());
            let _ = cg.write("memory.swappiness", "0");
            Ok(cg)
        } else if v2.join("cgroup.controllers").exists() {
            let controllers = std::fs::read_to_string(v2.join("cgroup.controllers"))
                .map_err(|e| e.to_string())?;
            if !controllers.split_whitespace().any(|c| c == "memory") {
                return Err("the cgroup v2 root has no memory controller".into());
            }
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+memory");
            let dir = v2.join(leaf);
            std::fs::create_dir(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
            let cg = Cgroup {
                dir,
                version: Version::V2,
            };
            cg.write("memory.max", &LIMIT.to_string())?;
            let _ = cg.write("memory.swap.max", "0");
            Ok(cg)
        } else {
            Err("no cgroup v1 memory hierarchy and no cgroup v2 mount under /sys/fs/cgroup".into())
        }
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.dir.join(file), value)
            .map_err(|e| format!("writing {}/{file}: {e}", self.dir.display()))
    }

    /// Runs `program args` inside this cgroup (the shell moves itself in,
    /// then execs).
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec \"$@\"",
                self.dir.display()
            ))
            .arg("sh")
            .arg(program)
            .args(args);
        c
    }

    fn oom_kills(&self) -> u64 {
        let file = match self.version {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        };
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[derive(Debug, Clone)]
struct ProbeRun {
    t: f64,
    code: i32,
    health: String,
    ttl: Option<f64>,
    current: f64,
    message: String,
}

/// The status code of `GET path` on the agent (0 when it cannot answer).
fn http_status(port: u16, path: &str) -> u16 {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
        return 0;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn python() -> PathBuf {
    agent_support::which("python3").expect("python3 on PATH")
}

fn run_probe(cmd: &mut Command, t: f64) -> ProbeRun {
    let out = cmd.stdin(Stdio::null()).output().expect("probe runs");
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "probe printed no JSON (exit {code}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(v["version"], 1, "{v}");
    ProbeRun {
        t,
        code,
        health: v["health"].as_str().unwrap_or("").to_string(),
        ttl: v["time_to_limit_s"].as_f64(),
        current: v["current_bytes"].as_f64().unwrap_or(f64::NAN),
        message: v["message"].as_str().unwrap_or("").to_string(),
    }
}

fn show(runs: &[ProbeRun]) -> String {
    runs.iter()
        .map(|r| {
            format!(
                "{:6.1}s exit {} {:<8} {:>6.1} MiB ttl {:>7} {}",
                r.t,
                r.code,
                r.health,
                r.current / 1048576.0,
                r.ttl.map_or("-".into(), |t| format!("{t:.0}s")),
                r.message.chars().take(90).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn probe_fails_a_leak_before_its_limit_and_never_a_plateau() {
    if agent_support::which("python3").is_none() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let leak_cg = match Cgroup::create("leak") {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED: cannot create a memory cgroup with a limit: {why} (needs root and a writable /sys/fs/cgroup)");
            return;
        }
    };
    let plateau_cg = Cgroup::create("plateau").expect("a second cgroup like the first");
    eprintln!(
        "cgroup {:?}: {} and {}",
        leak_cg.version,
        leak_cg.dir.display(),
        plateau_cg.dir.display()
    );
    let bin = assert_cmd::cargo::cargo_bin("leakwatch");
    let state = tempfile::tempdir().unwrap();
    let leak_state = state.path().join("leak.state");
    let plateau_state = state.path().join("plateau.state");
    let threshold = format!("{THRESHOLD_S}s");

    let mut leaking = Running(
        leak_cg
            .command(&python(), &["-c", LEAKING_PY])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let plateau = Running(
        plateau_cg
            .command(&python(), &["-c", PLATEAU_PY])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Like a kubelet: an exec probe inside the leaking "container" (no
    // target given: the probe judges its own cgroup), and the plateauing
    // one judged by path.
    let leak_probe = || {
        leak_cg.command(
            &bin,
            &[
                "probe",
                "--json",
                "--threshold",
                &threshold,
                "--state",
                leak_state.to_str().unwrap(),
            ],
        )
    };
    let plateau_probe = || {
        let mut c = Command::new(&bin);
        c.args(["probe", "--json", "--threshold", &threshold])
            .arg("--cgroup")
            .arg(&plateau_cg.dir)
            .arg("--state")
            .arg(&plateau_state);
        c
    };

    // The agent on both cgroups, its per-target liveness asked each second.
    let port = agent_support::free_port();
    let agent_cfg = state.path().join("agent.toml");
    std::fs::write(
        &agent_cfg,
        format!(
            "interval = \"1s\"\n[[target]]\nname = \"leak\"\ncgroup = \"{}\"\n[[target]]\nname = \"plateau\"\ncgroup = \"{}\"\n",
            leak_cg.dir.display(),
            plateau_cg.dir.display()
        ),
    )
    .unwrap();
    let _agent = Running(
        Command::new(&bin)
            .args(["watch", "--config"])
            .arg(&agent_cfg)
            .args(["--serve", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let healthz = format!("/healthz/leak?threshold={threshold}");
    let healthz_plateau = format!("/healthz/plateau?threshold={threshold}");
    let mut agent_leak: Vec<(f64, u16)> = Vec::new();
    let mut agent_plateau: Vec<(f64, u16)> = Vec::new();

    let start = Instant::now();
    let mut leak_runs: Vec<ProbeRun> = Vec::new();
    let mut plateau_runs: Vec<ProbeRun> = Vec::new();
    let mut oom_at = None;
    let mut tick = start;
    while start.elapsed() < Duration::from_secs(240) {
        let t = start.elapsed().as_secs_f64();
        if oom_at.is_none() {
            if leak_cg.oom_kills() > 0 || leaking.0.try_wait().unwrap().is_some() {
                oom_at = Some(t);
            } else {
                leak_runs.push(run_probe(&mut leak_probe(), t));
                agent_leak.push((t, http_status(port, &healthz)));
            }
        }
        plateau_runs.push(run_probe(&mut plateau_probe(), t));
        agent_plateau.push((t, http_status(port, &healthz_plateau)));
        if oom_at.is_some_and(|o| t > o + 3.0) {
            break;
        }
        tick += Duration::from_secs(1);
        if let Some(wait) = tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    eprintln!(
        "leaking service, probed from inside its cgroup:\n{}",
        show(&leak_runs)
    );
    let oom_at = oom_at.unwrap_or_else(|| {
        panic!(
            "the leaking service was never OOM-killed in 4 minutes:\n{}",
            show(&leak_runs)
        )
    });
    assert!(
        leak_runs.iter().all(|r| r.code != 2),
        "the probe erred:\n{}",
        show(&leak_runs)
    );
    assert!(
        leak_runs[0].code == 0 && leak_runs[0].health == "not_yet",
        "the first run cannot judge: {:?}",
        leak_runs[0]
    );
    let first_fail = leak_runs
        .iter()
        .find(|r| r.code == 1)
        .unwrap_or_else(|| panic!("the probe never failed the leak:\n{}", show(&leak_runs)));
    assert_eq!(first_fail.health, "failing");
    let warning = oom_at - first_fail.t;
    let projected = first_fail.ttl.unwrap();
    eprintln!(
        "first failure at {:.1}s, projected time to the limit then {projected:.0}s, OOM kill at {oom_at:.1}s: {warning:.1}s of warning (required {REQUIRED_WARNING_S}s, threshold {THRESHOLD_S}s)",
        first_fail.t
    );
    assert!(
        warning >= REQUIRED_WARNING_S,
        "only {warning:.1}s between the first failure and the OOM kill"
    );
    assert!((REQUIRED_WARNING_S..THRESHOLD_S).contains(&projected));
    let agent_first_503 = agent_leak
        .iter()
        .find(|(_, c)| *c == 503)
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("/healthz/leak never answered 503: {agent_leak:?}"));
    eprintln!(
        "agent /healthz/leak: first 503 at {agent_first_503:.1}s, {:.1}s before the OOM kill",
        oom_at - agent_first_503
    );
    assert!(
        oom_at - agent_first_503 >= REQUIRED_WARNING_S,
        "{agent_leak:?}"
    );
    assert!(
        agent_plateau.iter().all(|(_, c)| *c != 503),
        "/healthz/plateau failed: {agent_plateau:?}"
    );
    assert!(
        agent_plateau.iter().filter(|(_, c)| *c == 200).count() > agent_plateau.len() / 2,
        "/healthz/plateau did not answer: {agent_plateau:?}"
    );

    // The OOM kill (or a kubelet acting on the failure) restarts the service
    // in the same cgroup: a new incarnation, which the probe cannot judge yet.
    drop(leaking);
    let _restarted = Running(
        leak_cg
            .command(&python(), &["-c", LEAKING_PY])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let after = run_probe(&mut leak_probe(), start.elapsed().as_secs_f64());
    assert_eq!(
        (after.code, after.health.as_str()),
        (0, "not_yet"),
        "{after:?}"
    );
    // The agent sees the restart (a new first process) within a few ticks.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_status(port, &healthz) != 200 {
        assert!(
            Instant::now() < deadline,
            "/healthz/leak still fails after the restart"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    eprintln!(
        "plateauing service, probed by --cgroup:\n{}",
        show(&plateau_runs)
    );
    assert!(
        plateau_runs.iter().all(|r| r.code == 0),
        "the plateauing service failed the probe:\n{}",
        show(&plateau_runs)
    );
    assert!(
        plateau_runs.iter().any(|r| r.health == "healthy"),
        "the plateauing service was never judged:\n{}",
        show(&plateau_runs)
    );
    assert_eq!(plateau_cg.oom_kills(), 0);
    drop(plateau);
}
