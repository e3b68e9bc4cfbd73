//! A minimal Chrome DevTools Protocol client for Node's inspector
//! (`node --inspect`): finds the target with `GET /json/list`, opens its
//! WebSocket and asks `HeapProfiler.takeHeapSnapshot`, streaming the
//! `HeapProfiler.addHeapSnapshotChunk` notifications to a writer.
//!
//! The inspector can run arbitrary code in the process, so only loopback
//! addresses are accepted unless the caller allows remote ones, and we only
//! ever connect to the address the user gave (never to a host named in the
//! target list).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;
use tungstenite::{Message, WebSocket};

use crate::error::HeapError;

fn err(m: impl Into<String>) -> HeapError {
    HeapError::Inspector(m.into())
}

/// Resolves `HOST:PORT`, refusing non-loopback addresses unless `allow_remote`.
pub fn resolve_endpoint(host_port: &str, allow_remote: bool) -> Result<SocketAddr, HeapError> {
    let addrs: Vec<SocketAddr> = host_port
        .to_socket_addrs()
        .map_err(|e| {
            err(format!(
                "cannot resolve '{host_port}' (expected HOST:PORT, e.g. 127.0.0.1:9229): {e}"
            ))
        })?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.ip().is_loopback())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| err(format!("'{host_port}' resolves to no address")))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(err(format!(
            "{addr} is not a loopback address: the inspector gives full control of the process, \
             so leakwatch only connects to 127.0.0.1/::1 by default. Tunnel the port \
             (ssh -L 9229:127.0.0.1:9229 host) or pass --allow-remote if you trust the network"
        )));
    }
    Ok(addr)
}

/// One debuggable target from `/json/list`.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub title: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(rename = "webSocketDebuggerUrl", default)]
    pub ws_url: String,
}

/// `GET /json/list` over a plain HTTP/1.1 connection.
pub fn list_targets(addr: SocketAddr, timeout: Duration) -> Result<Vec<Target>, HeapError> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        err(format!(
            "cannot connect to {addr}: {e}. Is Node running with --inspect={addr}?"
        ))
    })?;
    s.set_read_timeout(Some(timeout)).ok();
    write!(
        s,
        "GET /json/list HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| err(format!("cannot send to {addr}: {e}")))?;
    // Node keeps the connection open despite `Connection: close`: read the
    // headers, then exactly Content-Length bytes.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(err(format!("{addr} sent oversized HTTP headers")));
        }
        let n = s
            .read(&mut chunk)
            .map_err(|e| err(format!("no answer from {addr}: {e}")))?;
        if n == 0 {
            return Err(err(format!(
                "{addr} closed the connection: is it a Node inspector port?"
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(err(format!(
            "{addr} answered '{}' to /json/list: is it a Node inspector port?",
            head.lines().next().unwrap_or("")
        )));
    }
    let length: Option<usize> = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            v.trim().parse().ok()
        } else {
            None
        }
    });
    let mut body = buf[header_end..].to_vec();
    let want = length.unwrap_or(16 << 20).min(16 << 20);
    while body.len() < want {
        let n = s
            .read(&mut chunk)
            .map_err(|e| err(format!("{addr} stopped answering /json/list: {e}")))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let json = String::from_utf8_lossy(&body);
    serde_json::from_str(&json).map_err(|e| {
        err(format!(
            "{addr}/json/list is not a DevTools target list: {e}"
        ))
    })
}

/// The path part of `ws://host:port/path`.
fn ws_path(url: &str) -> Result<&str, HeapError> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| err(format!("unexpected WebSocket URL '{url}'")))?;
    Ok(rest.find('/').map_or("/", |i| &rest[i..]))
}

/// An open inspector session.
pub struct Inspector {
    ws: WebSocket<TcpStream>,
    next_id: u64,
}

#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    method: Option<String>,
    params: Option<ChunkParams>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkParams {
    chunk: Option<String>,
}

impl Inspector {
    /// Connects to the first Node target at `addr`.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, HeapError> {
        let targets = list_targets(addr, Duration::from_secs(10).min(timeout))?;
        let target = targets
            .iter()
            .find(|t| t.kind == "node" && !t.ws_url.is_empty())
            .or_else(|| targets.iter().find(|t| !t.ws_url.is_empty()))
            .ok_or_else(|| {
                err(format!(
                    "{addr} lists no debuggable target (is another debugger attached?)"
                ))
            })?;
        let path = ws_path(&target.ws_url)?;
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| err(format!("cannot connect to {addr}: {e}")))?;
        stream.set_read_timeout(Some(timeout)).ok();
        stream.set_nodelay(true).ok();
        let url = format!("ws://{addr}{path}");
        let (ws, _) = tungstenite::client::client(url.as_str(), stream).map_err(|e| {
            err(format!(
                "WebSocket handshake with {url} failed: {e} (only one debugger can attach at a time)"
            ))
        })?;
        Ok(Inspector { ws, next_id: 1 })
    }

    fn send(&mut self, method: &str, params: serde_json::Value) -> Result<u64, HeapError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({"id": id, "method": method, "params": params});
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| err(format!("cannot send {method}: {e}")))?;
        Ok(id)
    }

    /// Takes a heap snapshot, writing it to `out` chunk by chunk as it
    /// arrives; returns the bytes written.
    pub fn take_heap_snapshot(&mut self, out: &mut dyn Write) -> Result<u64, HeapError> {
        let id = self.send(
            "HeapProfiler.takeHeapSnapshot",
            serde_json::json!({"reportProgress": false}),
        )?;
        let mut written = 0u64;
        loop {
            let msg = self
                .ws
                .read()
                .map_err(|e| err(format!("connection lost while taking a snapshot: {e}")))?;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(_) => return Err(err("the process closed the inspector session")),
                _ => continue,
            };
            let incoming: Incoming = serde_json::from_str(text.as_str())
                .map_err(|e| err(format!("unexpected inspector message: {e}")))?;
            if incoming.method.as_deref() == Some("HeapProfiler.addHeapSnapshotChunk") {
                if let Some(chunk) = incoming.params.and_then(|p| p.chunk) {
                    out.write_all(chunk.as_bytes())
                        .map_err(|e| err(format!("cannot write the snapshot: {e}")))?;
                    written += chunk.len() as u64;
                }
                continue;
            }
            if incoming.id == Some(id) {
                if let Some(e) = incoming.error {
                    return Err(err(format!("takeHeapSnapshot failed: {e}")));
                }
                out.flush()
                    .map_err(|e| err(format!("cannot write the snapshot: {e}")))?;
                return Ok(written);
            }
        }
    }

    /// Closes the session politely (the process keeps running).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_remote_by_default() {
        let e = resolve_endpoint("192.0.2.10:9229", false).unwrap_err();
        assert!(e.to_string().contains("not a loopback address"), "{e}");
        assert!(resolve_endpoint("192.0.2.10:9229", true).is_ok());
        assert!(resolve_endpoint("127.0.0.1:9229", false).is_ok());
        assert!(resolve_endpoint("[::1]:9229", false).is_ok());
        assert!(resolve_endpoint("no-port", false).is_err());
    }

    #[test]
    fn ws_paths() {
        assert_eq!(ws_path("ws://127.0.0.1:9229/abc-def").unwrap(), "/abc-def");
        assert!(ws_path("http://x/").is_err());
    }
}
