//! The agent's HTTP endpoint: `/metrics` (Prometheus text format 0.0.4 or
//! OpenMetrics, negotiated), `/healthz` (the agent's own liveness) and
//! `/healthz/TARGET` (a target's leak-aware liveness, see
//! [`crate::health`]), on threads of their own so that a slow or stuck
//! scraper never delays sampling.
//!
//! Bounded whatever clients do: one I/O thread reads request heads of at
//! most [`ServeOptions::max_connections`] connections at once with
//! `poll(2)` (a new connection beyond that evicts the oldest one still
//! sending its head), each head must arrive within
//! [`ServeOptions::request_timeout`] and fit in 8 KiB, and a fixed pool of
//! [`ServeOptions::workers`] threads writes the answers (with a write
//! timeout). 500 half-open connections cost 500 short-lived sockets, never
//! 500 threads. Requests are parsed by `httparse` (hyper's parser); every
//! answer closes its connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::health::{Health, HealthBoard, TargetHealth, DEFAULT_THRESHOLD_S};
use crate::metrics::{Format, Metrics};

/// The port used when an address gives none (9464 is the port commonly used
/// by OpenMetrics exporters that have no registered one).
pub const DEFAULT_PORT: u16 = 9464;

/// Longest request head accepted.
const MAX_HEAD: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "`{0}` is not an address to serve on: use HOST:PORT (e.g. 127.0.0.1:9464), :PORT or PORT"
    )]
    BadAddress(String),
    #[error("refusing to serve metrics on non-loopback address {0}: anyone who can reach it can read them. Use 127.0.0.1:PORT, or confirm with --serve-public (or `public = true` under [serve] in the config)")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {reason} (is the port already in use?)")]
    Bind { addr: SocketAddr, reason: String },
}

/// Parses `HOST:PORT`, `:PORT` or `PORT` (the last two on 127.0.0.1) and
/// refuses a non-loopback address unless `allow_public`.
pub fn parse_serve_addr(s: &str, allow_public: bool) -> Result<SocketAddr, ServeError> {
    let s = s.trim();
    let bad = || ServeError::BadAddress(s.to_string());
    let addr = if let Ok(port) = s.trim_start_matches(':').parse::<u16>() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    } else if let Ok(a) = s.parse::<SocketAddr>() {
        a
    } else {
        // Host names (localhost): resolve, preferring a loopback answer.
        let addrs: Vec<SocketAddr> = s.to_socket_addrs().map_err(|_| bad())?.collect();
        addrs
            .iter()
            .find(|a| a.ip().is_loopback())
            .or(addrs.first())
            .copied()
            .ok_or_else(bad)?
    };
    if !addr.ip().is_loopback() && !allow_public {
        return Err(ServeError::NotLoopback(addr));
    }
    Ok(addr)
}

/// Limits and options of the endpoint.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Connections whose request head is still being read, at most.
    pub max_connections: usize,
    /// Threads answering requests.
    pub workers: usize,
    /// A request head must arrive within this; an answer must be written
    /// within it too.
    pub request_timeout: Duration,
    /// Enables `/healthz` on the sampling loop and `/healthz/TARGET`.
    pub health: Option<HealthBoard>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: 64,
            workers: 2,
            request_timeout: Duration::from_secs(5),
            health: None,
        }
    }
}

/// A running endpoint; stops when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MetricsServer {
    /// Binds `addr` and serves `/metrics` with the default limits.
    pub fn start(addr: SocketAddr, metrics: Metrics) -> Result<MetricsServer, ServeError> {
        Self::start_with(addr, metrics, ServeOptions::default())
    }

    /// Binds `addr` and serves on background threads (see the module docs).
    pub fn start_with(
        addr: SocketAddr,
        metrics: Metrics,
        opts: ServeOptions,
    ) -> Result<MetricsServer, ServeError> {
        let bind_err = |e: std::io::Error| ServeError::Bind {
            addr,
            reason: e.to_string(),
        };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let bound = listener.local_addr().unwrap_or(addr);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = opts.workers.max(1);
        let (tx, rx) = sync_channel::<Job>(workers * 4);
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(workers + 1);
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            let metrics = metrics.clone();
            let health = opts.health.clone();
            let timeout = opts.request_timeout;
            let t = std::thread::Builder::new()
                .name(format!("leakwatch-http-{i}"))
                .spawn(move || worker_loop(&rx, &metrics, health.as_ref(), timeout))
                .map_err(bind_err)?;
            threads.push(t);
        }
        let s = Arc::clone(&stop);
        let limits = (opts.max_connections.max(1), opts.request_timeout);
        let t = std::thread::Builder::new()
            .name("leakwatch-http".into())
            .spawn(move || io_loop(&listener, &tx, limits.0, limits.1, &s))
            .map_err(bind_err)?;
        threads.push(t);
        Ok(MetricsServer {
            addr: bound,
            stop,
            threads,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The I/O thread notices within one poll period and drops the job
        // sender, which ends the workers.
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Other,
}

/// A request whose head was read, handed to a worker.
struct Job {
    stream: TcpStream,
    method: Method,
    path: String,
    query: String,
    accept: Option<String>,
}

/// A connection whose head is still arriving.
struct Pending {
    stream: TcpStream,
    buf: Vec<u8>,
    since: Instant,
}

enum Parsed {
    Partial,
    Done(Job),
    Bad(&'static str),
}

fn parse_head(p: &mut Pending) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&p.buf) {
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Ok(httparse::Status::Complete(_)) => {
            let method = match req.method {
                Some("GET") => Method::Get,
                Some("HEAD") => Method::Head,
                _ => Method::Other,
            };
            let target = req.path.unwrap_or("/");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let accept = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("accept"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .map(str::to_string);
            let Ok(stream) = p.stream.try_clone() else {
                return Parsed::Bad("500 Internal Server Error");
            };
            Parsed::Done(Job {
                stream,
                method,
                path: path.to_string(),
                query: query.to_string(),
                accept,
            })
        }
        Err(httparse::Error::TooManyHeaders) => Parsed::Bad("431 Request Header Fields Too Large"),
        Err(_) => Parsed::Bad("400 Bad Request"),
    }
}

/// Best effort: a short answer on a non-blocking socket, then close.
fn refuse(stream: &mut TcpStream, status: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

fn io_loop(
    listener: &TcpListener,
    jobs: &SyncSender<Job>,
    max_connections: usize,
    timeout: Duration,
    stop: &AtomicBool,
) {
    let mut pending: Vec<Pending> = Vec::with_capacity(max_connections);
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(max_connections + 1);
    let mut ready: Vec<usize> = Vec::with_capacity(max_connections);
    let mut chunk = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        fds.clear();
        fds.push(libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for p in &pending {
            fds.push(libc::pollfd {
                fd: p.stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let now = Instant::now();
        let wait = pending
            .iter()
            .map(|p| (p.since + timeout).saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::MAX)
            .min(Duration::from_millis(200));
        // SAFETY: fds is a valid array of fds.len() pollfd structs.
        let n = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                wait.as_millis() as libc::c_int,
            )
        };
        if n < 0 {
            // EINTR: poll again.
            continue;
        }
        ready.clear();
        ready.extend(
            fds.iter()
                .enumerate()
                .skip(1)
                .filter(|(_, f)| f.revents != 0)
                .map(|(i, _)| i - 1),
        );
        // Highest index first: swap_remove only moves entries already handled.
        for &i in ready.iter().rev() {
            let p = &mut pending[i];
            let outcome = loop {
                match p.stream.read(&mut chunk) {
                    Ok(0) => break Some(None),
                    Ok(n) => {
                        p.buf.extend_from_slice(&chunk[..n]);
                        if p.buf.len() > MAX_HEAD {
                            break Some(Some(Parsed::Bad("431 Request Header Fields Too Large")));
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        break match parse_head(p) {
                            Parsed::Partial => None,
                            done => Some(Some(done)),
                        };
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break Some(None),
                }
            };
            let Some(outcome) = outcome else { continue };
            let mut p = pending.swap_remove(i);
            match outcome {
                // Closed before a complete head: nothing to answer.
                None => {}
                Some(Parsed::Done(job)) => match jobs.try_send(job) {
                    Ok(()) => {}
                    Err(TrySendError::Full(mut job)) => {
                        refuse(&mut job.stream, "503 Service Unavailable")
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                },
                Some(Parsed::Bad(status)) => refuse(&mut p.stream, status),
                Some(Parsed::Partial) => {}
            }
        }
        // Heads that did not arrive in time: close (slow or half-open clients).
        let now = Instant::now();
        pending.retain(|p| now.duration_since(p.since) < timeout);
        if fds[0].revents != 0 {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        if pending.len() >= max_connections {
                            // Evict the oldest: a flood of idle connections
                            // cannot lock out a scraper that sends its request.
                            if let Some(oldest) = pending
                                .iter()
                                .enumerate()
                                .min_by_key(|(_, p)| p.since)
                                .map(|(i, _)| i)
                            {
                                pending.swap_remove(oldest);
                            }
                        }
                        pending.push(Pending {
                            stream,
                            buf: Vec::new(),
                            since: Instant::now(),
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // WouldBlock, or out of fds (EMFILE): try again next round.
                    Err(_) => break,
                }
            }
        }
    }
}

fn worker_loop(
    jobs: &Mutex<Receiver<Job>>,
    metrics: &Metrics,
    health: Option<&HealthBoard>,
    timeout: Duration,
) {
    // Buffers reused for every scrape: the exposition's size is bounded by
    // the live targets.
    let mut body = String::new();
    let mut scratch = String::new();
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(|e| e.into_inner());
            match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            }
        };
        answer(job, metrics, health, timeout, &mut body, &mut scratch);
    }
}

struct Answer<'a> {
    status: &'static str,
    content_type: &'static str,
    body: &'a [u8],
    extra: &'static str,
}

fn answer(
    mut job: Job,
    metrics: &Metrics,
    health: Option<&HealthBoard>,
    timeout: Duration,
    body: &mut String,
    scratch: &mut String,
) {
    let _ = job.stream.set_nonblocking(false);
    let _ = job.stream.set_write_timeout(Some(timeout));
    let text = "text/plain; charset=utf-8";
    let json = "application/json";
    let wants_json = job
        .accept
        .as_deref()
        .is_some_and(|a| a.contains("application/json"))
        || query_param(&job.query, "format").as_deref() == Some("json");
    let a = if job.method == Method::Other {
        Answer {
            status: "405 Method Not Allowed",
            content_type: text,
            body: b"only GET and HEAD\n",
            extra: "Allow: GET, HEAD\r\n",
        }
    } else if job.path == "/metrics" {
        let format = Format::negotiate(job.accept.as_deref());
        metrics.encode_into(body, scratch, format);
        Answer {
            status: "200 OK",
            content_type: format.content_type(),
            body: body.as_bytes(),
            extra: "",
        }
    } else if job.path == "/healthz" || job.path == "/healthz/" {
        body.clear();
        let alive = health.map_or(Ok(()), HealthBoard::agent_alive);
        let status = match alive {
            Ok(()) => "200 OK",
            Err(_) => "503 Service Unavailable",
        };
        if wants_json {
            let v = match alive {
                Ok(()) => serde_json::json!({"version": 1, "health": "healthy", "message": "ok"}),
                Err(s) => serde_json::json!({"version": 1, "health": "failing",
                    "message": format!("the sampling loop has not ticked for {s:.0}s")}),
            };
            body.push_str(&v.to_string());
            body.push('\n');
        } else {
            match alive {
                Ok(()) => body.push_str("ok\n"),
                Err(s) => body.push_str(&format!(
                    "the sampling loop has not ticked for {s:.0}s: the agent is stuck\n"
                )),
            }
        }
        Answer {
            status,
            content_type: if wants_json { json } else { text },
            body: body.as_bytes(),
            extra: "",
        }
    } else if let Some(raw) = job.path.strip_prefix("/healthz/") {
        body.clear();
        let threshold = match query_param(&job.query, "threshold") {
            None => Ok(DEFAULT_THRESHOLD_S),
            Some(t) => leakwatch_core::format::parse_duration(&t)
                .map_err(|e| format!("threshold `{t}`: {e}\n")),
        };
        let key = percent_decode(raw);
        let (status, ctype) = match (health, threshold, key) {
            (None, _, _) => {
                body.push_str("per-target health needs the agent's health board\n");
                ("404 Not Found", text)
            }
            (_, Err(e), _) | (_, _, Err(e)) => {
                body.push_str(&e);
                ("400 Bad Request", text)
            }
            (Some(board), Ok(threshold), Ok(key)) => match board.target(&key, threshold) {
                TargetHealth::Unknown => {
                    let known = board.keys();
                    body.push_str(&format!(
                        "unknown target `{key}`; watched: {}\n",
                        if known.is_empty() {
                            "none yet".to_string()
                        } else {
                            known.join(", ")
                        }
                    ));
                    ("404 Not Found", text)
                }
                TargetHealth::Judged(j) => {
                    let status = if j.health == Health::Failing {
                        "503 Service Unavailable"
                    } else {
                        "200 OK"
                    };
                    if wants_json {
                        let mut v = serde_json::to_value(&j).unwrap_or_default();
                        v["target"] = key.into();
                        body.push_str(&v.to_string());
                        body.push('\n');
                        (status, json)
                    } else {
                        body.push_str(&format!("{}: {}\n", j.health.as_str(), j.message));
                        (status, text)
                    }
                }
            },
        };
        Answer {
            status,
            content_type: ctype,
            body: body.as_bytes(),
            extra: "",
        }
    } else if job.path == "/" {
        Answer {
            status: "200 OK",
            content_type: text,
            body: b"leakwatch agent: /metrics, /healthz, /healthz/TARGET\n",
            extra: "",
        }
    } else {
        Answer {
            status: "404 Not Found",
            content_type: text,
            body: b"not found: try /metrics, /healthz or /healthz/TARGET\n",
            extra: "",
        }
    };
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
        a.status,
        a.content_type,
        a.body.len(),
        a.extra
    );
    // A scraper that went away is not our problem.
    if job.stream.write_all(head.as_bytes()).is_ok() && job.method != Method::Head {
        let _ = job.stream.write_all(a.body);
    }
    let _ = job.stream.flush();
}

/// The value of `name` in a query string, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| percent_decode(v).ok())
}

/// Decodes `%XX` escapes (target names hold `/` and may hold anything).
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in `{s}`\n"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` is not UTF-8 once decoded\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that start a server hold this, so a test counting the
    /// server's threads sees only its own (tests run in parallel threads
    /// of one process).
    static SERVER_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn one_server_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        SERVER_TESTS.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This process's threads named by the server ("leakwatch-http...").
    fn http_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.starts_with("leakwatch-http"))
            })
            .count()
    }

    #[test]
    fn addresses_default_to_loopback_and_refuse_public() {
        assert_eq!(
            parse_serve_addr("9464", false).unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert_eq!(
            parse_serve_addr(":9000", false).unwrap(),
            "127.0.0.1:9000".parse().unwrap()
        );
        assert_eq!(
            parse_serve_addr("[::1]:9000", false).unwrap(),
            "[::1]:9000".parse().unwrap()
        );
        assert!(parse_serve_addr("localhost:9000", false)
            .unwrap()
            .ip()
            .is_loopback());
        let err = parse_serve_addr("0.0.0.0:9464", false).unwrap_err();
        assert!(err.to_string().contains("--serve-public"), "{err}");
        assert!(parse_serve_addr("0.0.0.0:9464", true).is_ok());
        assert!(matches!(
            parse_serve_addr("nonsense::", false),
            Err(ServeError::BadAddress(_))
        ));
    }

    fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (String, String) {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n{accept}\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (head.to_string(), body.to_string())
    }

    #[test]
    fn serves_both_formats_health_and_404() {
        let _one = one_server_at_a_time();
        let metrics = Metrics::new();
        let _t = metrics.target("svc");
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics).unwrap();
        let (head, body) = get(server.addr(), "/metrics", None);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        assert!(
            body.contains("leakwatch_restarts_total{target=\"svc\"} 0"),
            "{body}"
        );
        assert!(!body.contains("# EOF"));
        let (head, body) = get(
            server.addr(),
            "/metrics",
            Some("application/openmetrics-text;version=1.0.0"),
        );
        assert!(head.contains("application/openmetrics-text"), "{head}");
        assert!(body.ends_with("# EOF\n"), "{body}");
        let (head, body) = get(server.addr(), "/healthz", None);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "ok\n");
        let (head, _) = get(server.addr(), "/nope", None);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        // Bound port: a second server on it fails with a clear error.
        let again = MetricsServer::start(server.addr(), Metrics::new()).unwrap_err();
        assert!(again.to_string().contains("cannot listen"), "{again}");
    }

    #[test]
    fn half_open_connections_neither_spawn_threads_nor_block_a_scrape() {
        let _one = one_server_at_a_time();
        let threads = http_threads;
        let before = threads();
        let opts = ServeOptions {
            max_connections: 16,
            request_timeout: Duration::from_millis(500),
            ..ServeOptions::default()
        };
        let server =
            MetricsServer::start_with("127.0.0.1:0".parse().unwrap(), Metrics::new(), opts)
                .unwrap();
        // A thread names itself once it runs: wait until all three have.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while threads() - before < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = threads();
        // 200 connections that never send a byte.
        let idle: Vec<TcpStream> = (0..200)
            .map(|_| TcpStream::connect(server.addr()).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        assert!(threads() <= started, "{} threads", threads());
        assert_eq!(started - before, 3, "one I/O thread and two workers");
        // A scraper still gets its answer while they hang around.
        let (head, _) = get(server.addr(), "/metrics", None);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // The idle ones are closed: reading gives EOF, not a hang.
        let mut first = &idle[idle.len() - 1];
        first
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(first.read(&mut buf).unwrap_or(0), 0);
        drop(server);
        assert!(threads() <= before, "threads left behind");
    }

    #[test]
    fn heads_too_long_or_broken_are_refused() {
        let _one = one_server_at_a_time();
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Metrics::new()).unwrap();
        let mut s = TcpStream::connect(server.addr()).unwrap();
        let long = "a".repeat(10_000);
        let _ = write!(s, "GET /{long} HTTP/1.1\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 431"), "{out}");
        let mut s = TcpStream::connect(server.addr()).unwrap();
        write!(s, "\x01\x02 nonsense\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        let mut s = TcpStream::connect(server.addr()).unwrap();
        write!(s, "POST /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 405"), "{out}");
    }

    #[test]
    fn per_target_health_is_served() {
        let _one = one_server_at_a_time();
        use crate::health::{detector_config, IncarnationHealth};
        use leakwatch_core::Resource;
        let board = HealthBoard::new(60.0);
        let mut h = IncarnationHealth::new(Resource::CgroupAnonBytes, &detector_config(None));
        h.detector.set_limit(Some(1e9));
        for i in 0..300 {
            h.detector.push(i as f64, 1e8 + 1e6 * i as f64);
        }
        board.update("k8s/ns/pod/app", &h);
        let opts = ServeOptions {
            health: Some(board),
            ..ServeOptions::default()
        };
        let server =
            MetricsServer::start_with("127.0.0.1:0".parse().unwrap(), Metrics::new(), opts)
                .unwrap();
        let (head, body) = get(server.addr(), "/healthz/k8s/ns/pod/app", None);
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        assert!(body.starts_with("failing: LEAKING"), "{body}");
        let (head, body) = get(
            server.addr(),
            "/healthz/k8s%2Fns%2Fpod%2Fapp?threshold=1m",
            None,
        );
        assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
        let (_, body) = get(
            server.addr(),
            "/healthz/k8s/ns/pod/app",
            Some("application/json"),
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["health"], "failing");
        assert_eq!(v["target"], "k8s/ns/pod/app");
        let (head, body) = get(server.addr(), "/healthz/other", None);
        assert!(head.starts_with("HTTP/1.1 404"), "{head}");
        assert!(body.contains("k8s/ns/pod/app"), "{body}");
        let (head, _) = get(server.addr(), "/healthz/x?threshold=soon", None);
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    }

    proptest::proptest! {
        #[test]
        fn percent_decoding_never_panics(s in ".*") {
            let _ = percent_decode(&s);
            let _ = query_param(&s, "threshold");
        }
    }
}
