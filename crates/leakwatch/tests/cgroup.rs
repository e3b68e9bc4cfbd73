//! `watch --cgroup` on a real memory cgroup created by the test (v1 here;
//! skipped with a message where cgroups cannot be created).

mod common;
use common::*;

struct TempCgroup(std::path::PathBuf);

impl Drop for TempCgroup {
    fn drop(&mut self) {
        if let Ok(pids) = std::fs::read_to_string(self.0.join("cgroup.procs")) {
            for pid in pids.lines() {
                let _ = std::process::Command::new("kill")
                    .args(["-9", pid])
                    .status();
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn make_cgroup(limit: u64) -> Option<TempCgroup> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let v1 = mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let opts = right.split(' ').nth(2)?;
        (right.starts_with("cgroup ") && opts.split(',').any(|o| o == "memory"))
            .then(|| left.split(' ').nth(4).unwrap().to_string())
    })?;
    let dir = std::path::Path::new(&v1).join(format!("leakwatch-it-{}", std::process::id()));
    std::fs::create_dir(&dir).ok()?;
    std::fs::write(dir.join("memory.limit_in_bytes"), limit.to_string()).ok()?;
    Some(TempCgroup(dir))
}

#[test]
fn watch_cgroup_sees_a_leak_and_its_time_to_limit() {
    let limit = 1u64 << 30;
    let Some(cg) = make_cgroup(limit) else {
        eprintln!("SKIPPED: cannot create a v1 memory cgroup here (needs root and a v1 memory controller)");
        return;
    };
    let mut leaky = std::process::Command::new("python3")
        .arg(example("leaky_cache.py"))
        .spawn()
        .unwrap();
    std::fs::write(cg.0.join("cgroup.procs"), leaky.id().to_string()).unwrap();
    let out = leakwatch()
        .args([
            "watch",
            "--json",
            "--interval",
            "250ms",
            "--duration",
            "75s",
            "--cgroup",
        ])
        .arg(&cg.0)
        .output()
        .unwrap();
    let _ = leaky.kill();
    let _ = leaky.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let events = json_lines(&text);
    let alert = events
        .iter()
        .find(|e| e["event"] == "alert" && e["resource"] == "cgroup_bytes")
        .unwrap_or_else(|| panic!("no alert on cgroup_bytes: {text}"));
    let ttl = alert["time_to_limit_s"].as_f64().expect("time to limit");
    assert!(ttl > 0.0 && ttl < 86_400.0, "{ttl}");
    let summary = events.last().unwrap();
    assert_eq!(summary["verdict"], "leak");
    let usage = summary["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "cgroup_bytes")
        .unwrap();
    assert_eq!(usage["limit"].as_f64().unwrap(), limit as f64);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn watch_cgroup_counts_an_oom_kill() {
    let Some(cg) = make_cgroup(40 << 20) else {
        eprintln!("SKIPPED: cannot create a v1 memory cgroup here (needs root and a v1 memory controller)");
        return;
    };
    // Swap would let the leak outlive the limit: forbid it where the kernel allows.
    let _ = std::fs::write(
        cg.0.join("memory.memsw.limit_in_bytes"),
        (40u64 << 20).to_string(),
    );
    let script = format!(
        "echo $$ > {}/cgroup.procs; exec python3 {}",
        cg.0.display(),
        example("leaky_cache.py")
    );
    let mut leaky = std::process::Command::new("sh")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let out = leakwatch()
        .args([
            "watch",
            "--json",
            "--interval",
            "250ms",
            "--duration",
            "100s",
            "--cgroup",
        ])
        .arg(&cg.0)
        .output()
        .unwrap();
    let _ = leaky.kill();
    let _ = leaky.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.contains("\"event\":\"oom_kill\"")),
        "no oom_kill event: {text}"
    );
}
