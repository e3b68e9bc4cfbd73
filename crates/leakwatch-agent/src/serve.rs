//! The `/metrics` HTTP endpoint, on its own thread so that a slow or stuck
//! scraper never delays sampling.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::metrics::Metrics;

/// The port used when an address gives none (9464 is the port commonly used
/// by OpenMetrics exporters that have no registered one).
pub const DEFAULT_PORT: u16 = 9464;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "`{0}` is not an address to serve on: use HOST:PORT (e.g. 127.0.0.1:9464), :PORT or PORT"
    )]
    BadAddress(String),
    #[error("refusing to serve metrics on non-loopback address {0}: anyone who can reach it can read them. Use 127.0.0.1:PORT, or confirm with --serve-public (serve_public = true in the config)")]
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

/// A running metrics endpoint; stops when dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MetricsServer {
    /// Binds `addr` and serves `GET /metrics` on a background thread.
    pub fn start(addr: SocketAddr, metrics: Metrics) -> Result<MetricsServer, ServeError> {
        let server = tiny_http::Server::http(addr).map_err(|e| ServeError::Bind {
            addr,
            reason: e.to_string(),
        })?;
        let bound = server.server_addr().to_ip().unwrap_or(addr);
        let server = Arc::new(server);
        let s = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("leakwatch-metrics".into())
            .spawn(move || serve_loop(&s, &metrics))
            .map_err(|e| ServeError::Bind {
                addr,
                reason: e.to_string(),
            })?;
        Ok(MetricsServer {
            server,
            addr: bound,
            thread: Some(thread),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn serve_loop(server: &tiny_http::Server, metrics: &Metrics) {
    // One buffer reused for every scrape: the exposition's size is bounded by
    // the live targets.
    let mut body = String::new();
    for req in server.incoming_requests() {
        let path = req.url().split('?').next().unwrap_or("");
        let resp = match (req.method(), path) {
            (tiny_http::Method::Get, "/metrics") => {
                metrics.encode_into(&mut body);
                let header = tiny_http::Header::from_bytes("Content-Type", OPENMETRICS)
                    .expect("static header is valid");
                tiny_http::Response::from_data(body.as_bytes()).with_header(header)
            }
            (tiny_http::Method::Get, "/") => {
                tiny_http::Response::from_data(&b"leakwatch agent: metrics at /metrics\n"[..])
            }
            _ => tiny_http::Response::from_data(&b"not found: try /metrics\n"[..])
                .with_status_code(404),
        };
        // A scraper that went away is not our problem.
        let _ = req.respond(resp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn serves_metrics_over_http_and_404_elsewhere() {
        let metrics = Metrics::new();
        let _t = metrics.target("svc");
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), metrics).unwrap();
        let base = format!("http://{}", server.addr());
        let mut resp = ureq::get(&format!("{base}/metrics")).call().unwrap();
        let ct = resp
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        let body = resp.body_mut().read_to_string().unwrap();
        assert!(
            body.contains("leakwatch_restarts_total{target=\"svc\"} 0"),
            "{body}"
        );
        let err = ureq::get(&format!("{base}/nope")).call().unwrap_err();
        assert!(matches!(err, ureq::Error::StatusCode(404)), "{err}");
        // Bound port: a second server on it fails with a clear error.
        let again = MetricsServer::start(server.addr(), Metrics::new()).unwrap_err();
        assert!(again.to_string().contains("cannot listen"), "{again}");
    }
}
