//! `watch` itself must not leak: sampled fast for a long stretch, its own
//! RSS stays flat.

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn watch_rss_stays_flat_over_many_samples() {
    let mut target = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut watch = std::process::Command::new(assert_cmd::cargo::cargo_bin("leakwatch"))
        .args([
            "watch",
            "--json",
            "--interval",
            "5ms",
            "--duration",
            "40s",
            "--pid",
            &target.id().to_string(),
            "--out",
        ])
        .arg(dir.path().join("w.csv"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(8));
    let early = rss_kib(watch.id());
    std::thread::sleep(std::time::Duration::from_secs(28));
    let late = rss_kib(watch.id());
    watch.wait().unwrap();
    target.kill().unwrap();
    target.wait().unwrap();
    let rows = std::fs::read_to_string(dir.path().join("w.csv"))
        .unwrap()
        .lines()
        .count();
    assert!(rows > 3000, "only {rows} samples");
    assert!(
        late <= early + 256,
        "watch RSS grew from {early} KiB to {late} KiB over {rows} samples"
    );
}
