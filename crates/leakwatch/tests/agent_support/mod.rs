//! Shared helpers of the agent's integration tests: real programs and a real
//! Prometheus server, each killed when its guard is dropped.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed and reaped on drop.
pub struct Running(pub Child);

impl Running {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Python program that keeps 200 kB more every 100 ms, forever.
pub const LEAKY_PY: &str = "import time\nkeep = []\ni = 0\nwhile True:\n    keep.append('a' * 200_000 + str(i))\n    i += 1\n    time.sleep(0.1)\n";

/// A Python program that allocates and frees as much as the leaky one, but
/// keeps a fixed working set.
pub const BOUNDED_PY: &str = "import time\nkeep = ['b' * 100_000 + str(i) for i in range(200)]\ni = 0\nwhile True:\n    keep[i % 200] = 'c' * 100_000 + str(i)\n    scratch = 'd' * 2_000_000\n    del scratch\n    i += 1\n    time.sleep(0.1)\n";

pub fn spawn_python(code: &str) -> Running {
    Running(
        Command::new("python3")
            .arg("-c")
            .arg(code)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 runs"),
    )
}

/// Resident bytes of a process, from /proc/PID/statm.
pub fn rss_bytes(pid: u32) -> Option<f64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}

/// A Prometheus server on loopback with a temporary config and data dir.
pub struct PrometheusServer {
    pub url: String,
    _proc: Running,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` (host:port) every second, or
    /// returns None (with a message) when the binary is not installed.
    pub fn start(targets: &[String]) -> Option<PrometheusServer> {
        Self::start_every(targets, "1s")
    }

    /// The same, scraping every `interval` (a Prometheus duration, e.g. `500ms`).
    pub fn start_every(targets: &[String], interval: &str) -> Option<PrometheusServer> {
        let Some(bin) = which("prometheus") else {
            eprintln!(
                "SKIPPED: the `prometheus` binary is not installed (apt-get install prometheus; see .ci/deps/agent.sh)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: {interval}\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: leakwatch\n    scrape_interval: {interval}\n    scrape_timeout: {interval}\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        let cfg = dir.path().join("prometheus.yml");
        std::fs::File::create(&cfg)
            .unwrap()
            .write_all(config.as_bytes())
            .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let server = PrometheusServer {
            url: format!("http://127.0.0.1:{port}"),
            _proc: Running(child),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ureq_ready(&format!("{}/-/ready", server.url)) {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus did not become ready; log:\n{}", server.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }
}

fn ureq_ready(url: &str) -> bool {
    leakwatch_agent::fleet::Prometheus::new(
        url.trim_end_matches("/-/ready"),
        Duration::from_secs(2),
    )
    .map(|p| p.ready())
    .unwrap_or(false)
}

pub fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A minimal HTTP receiver on loopback that keeps every POSTed body.
pub struct Receiver {
    pub url: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        use std::io::{BufRead, BufReader, Read};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&bodies);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let mut reader = BufReader::new(conn);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if reader.read_exact(&mut body).is_ok() {
                    kept.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&body).into_owned());
                }
                let mut conn = reader.into_inner();
                let _ = std::io::Write::write_all(
                    &mut conn,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Receiver { url, bodies }
    }

    /// The alerts received so far, parsed.
    pub fn alerts(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    }
}
