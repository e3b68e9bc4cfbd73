//! A small synchronous Chrome DevTools Protocol client for Node's inspector
//! (`node --inspect`, or a running Node sent SIGUSR1): finds the target with
//! `GET /json/list`, opens its WebSocket, and [`Inspector::call`]s methods,
//! waiting for each one's result and skipping the events in between (or
//! handing them to a callback, as [`Inspector::take_heap_snapshot`] does with
//! the snapshot's chunks).
//!
//! Results are returned as raw JSON text ([`RawValue`]), parsed by the
//! caller: a sampling heap profile is a tree as deep as the deepest stack,
//! deeper than a generic JSON value may nest, so each caller parses its own
//! shape with its own bounds.
//!
//! The inspector can run arbitrary code in the process, so only loopback
//! addresses are accepted unless the caller allows remote ones, and we only
//! ever connect to the address the user gave (never to a host named in the
//! target list).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// Largest inspector message accepted (a sampling profile of a big program
/// is a few MB; a snapshot arrives in chunks of about 100 KB).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Largest `/json/list` answer accepted.
pub const MAX_LIST_BYTES: usize = 1 << 20;

/// What went wrong talking to an inspector, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    /// Could not reach or set up the inspector (refused, bad address,
    /// handshake refused).
    #[error("{0}")]
    Connect(String),
    /// No answer to `method` within `after`.
    #[error("the inspector did not answer {method} within {after:?}")]
    Timeout { method: String, after: Duration },
    /// The connection ended (the process exited or closed its inspector).
    #[error("the inspector connection ended{while_}: {detail}")]
    Closed { while_: String, detail: String },
    /// The method failed on the other side (a CDP error object).
    #[error("{method} failed: {message} (code {code})")]
    Remote {
        method: String,
        code: i64,
        message: String,
    },
    /// Something that is not the DevTools protocol.
    #[error("{0}")]
    Protocol(String),
    /// Writing what we received failed (a snapshot's output file).
    #[error("{context}: {source}")]
    Output {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl From<CdpError> for crate::HeapError {
    fn from(e: CdpError) -> Self {
        crate::HeapError::Inspector(e.to_string())
    }
}

/// Resolves `HOST:PORT`, refusing non-loopback addresses unless `allow_remote`.
pub fn resolve_endpoint(host_port: &str, allow_remote: bool) -> Result<SocketAddr, CdpError> {
    let addrs: Vec<SocketAddr> = host_port
        .to_socket_addrs()
        .map_err(|e| {
            CdpError::Connect(format!(
                "cannot resolve '{host_port}' (expected HOST:PORT, e.g. 127.0.0.1:9229): {e}"
            ))
        })?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.ip().is_loopback())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| CdpError::Connect(format!("'{host_port}' resolves to no address")))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(CdpError::Connect(format!(
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

/// Parses a `/json/list` body.
pub fn parse_target_list(body: &[u8]) -> Result<Vec<Target>, CdpError> {
    serde_json::from_slice(body)
        .map_err(|e| CdpError::Protocol(format!("not a DevTools target list: {e}")))
}

/// An HTTP/1.x response head: the status code and the Content-Length, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub content_length: Option<usize>,
}

/// Parses an HTTP/1.x response head (the bytes before the blank line).
pub fn parse_response_head(head: &[u8]) -> Result<ResponseHead, CdpError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(CdpError::Protocol(format!(
            "not an HTTP response: '{}'",
            status_line.chars().take(80).collect::<String>()
        )));
    };
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| {
            CdpError::Protocol(format!(
                "not an HTTP/1 response: '{}'",
                status_line.chars().take(80).collect::<String>()
            ))
        })?;
    let content_length = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            v.trim().parse().ok()
        } else {
            None
        }
    });
    Ok(ResponseHead {
        status,
        content_length,
    })
}

/// `GET /json/list` over a plain HTTP/1.1 connection.
pub fn list_targets(addr: SocketAddr, timeout: Duration) -> Result<Vec<Target>, CdpError> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        CdpError::Connect(format!(
            "cannot connect to {addr}: {e}. Is Node running with --inspect={addr}?"
        ))
    })?;
    s.set_read_timeout(Some(timeout)).ok();
    s.set_write_timeout(Some(timeout)).ok();
    write!(
        s,
        "GET /json/list HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| CdpError::Connect(format!("cannot send to {addr}: {e}")))?;
    // Node keeps the connection open despite `Connection: close`: read the
    // headers, then exactly Content-Length bytes.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(CdpError::Protocol(format!(
                "{addr} sent oversized HTTP headers"
            )));
        }
        let n = s
            .read(&mut chunk)
            .map_err(|e| CdpError::Connect(format!("no answer from {addr}: {e}")))?;
        if n == 0 {
            return Err(CdpError::Connect(format!(
                "{addr} closed the connection: is it a Node inspector port?"
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = parse_response_head(&buf[..header_end - 4])
        .map_err(|e| CdpError::Protocol(format!("{addr}: {e}: is it a Node inspector port?")))?;
    if head.status != 200 {
        return Err(CdpError::Protocol(format!(
            "{addr} answered HTTP {} to /json/list: is it a Node inspector port?",
            head.status
        )));
    }
    if head.content_length.is_some_and(|n| n > MAX_LIST_BYTES) {
        return Err(CdpError::Protocol(format!(
            "{addr}/json/list is larger than {MAX_LIST_BYTES} bytes: not a Node inspector"
        )));
    }
    let want = head.content_length.unwrap_or(MAX_LIST_BYTES + 1);
    let mut body = buf[header_end..].to_vec();
    while body.len() < want.min(MAX_LIST_BYTES + 1) {
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            // Without a length, the end is the connection's end.
            Err(_) if head.content_length.is_none() && !body.is_empty() => 0,
            Err(e) => {
                return Err(CdpError::Connect(format!(
                    "{addr} stopped answering /json/list: {e}"
                )))
            }
        };
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if body.len() > MAX_LIST_BYTES {
        return Err(CdpError::Protocol(format!(
            "{addr}/json/list is larger than {MAX_LIST_BYTES} bytes: not a Node inspector"
        )));
    }
    body.truncate(want);
    parse_target_list(&body).map_err(|e| CdpError::Protocol(format!("{addr}/json/list: {e}")))
}

/// The path part of `ws://host:port/path`.
fn ws_path(url: &str) -> Result<&str, CdpError> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| CdpError::Protocol(format!("unexpected WebSocket URL '{url}'")))?;
    Ok(rest.find('/').map_or("/", |i| &rest[i..]))
}

/// One message from the inspector: a method's result (with its `id`) or an
/// event (with a `method`).
#[derive(Debug, Deserialize)]
pub struct Incoming {
    pub id: Option<u64>,
    pub method: Option<String>,
    pub params: Option<Box<RawValue>>,
    pub result: Option<Box<RawValue>>,
    pub error: Option<RemoteError>,
}

/// A CDP error object.
#[derive(Debug, Deserialize)]
pub struct RemoteError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

/// Parses one inspector message. Nested values stay raw text, so any depth
/// is accepted here (serde_json skips raw values without recursing).
pub fn parse_message(text: &str) -> Result<Incoming, CdpError> {
    serde_json::from_str(text).map_err(|e| {
        CdpError::Protocol(format!(
            "unexpected inspector message ({e}): {}",
            text.chars().take(120).collect::<String>()
        ))
    })
}

/// Called with each event (method, params) that arrives while waiting for
/// a result; an error ends the wait.
pub type EventHandler<'a> = dyn FnMut(&str, Option<&RawValue>) -> Result<(), CdpError> + 'a;

/// An open inspector session.
pub struct Inspector {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    timeout: Duration,
}

#[derive(Deserialize)]
struct ChunkParams {
    chunk: Option<String>,
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

impl Inspector {
    /// Connects to the first Node target at `addr`; `timeout` bounds the
    /// connection and, later, each call.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, CdpError> {
        let targets = list_targets(addr, Duration::from_secs(10).min(timeout))?;
        let target = targets
            .iter()
            .find(|t| t.kind == "node" && !t.ws_url.is_empty())
            .or_else(|| targets.iter().find(|t| !t.ws_url.is_empty()))
            .ok_or_else(|| {
                CdpError::Connect(format!(
                    "{addr} lists no debuggable target (is another debugger attached?)"
                ))
            })?;
        Self::connect_target(addr, target, timeout)
    }

    /// Opens `target`'s WebSocket, always at `addr` (whatever host the
    /// target's URL names).
    pub fn connect_target(
        addr: SocketAddr,
        target: &Target,
        timeout: Duration,
    ) -> Result<Self, CdpError> {
        let path = ws_path(&target.ws_url)?;
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| CdpError::Connect(format!("cannot connect to {addr}: {e}")))?;
        stream.set_read_timeout(Some(timeout)).ok();
        stream.set_write_timeout(Some(timeout)).ok();
        stream.set_nodelay(true).ok();
        let url = format!("ws://{addr}{path}");
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (ws, _) = tungstenite::client::client_with_config(url.as_str(), stream, Some(config))
            .map_err(|e| {
            CdpError::Connect(format!(
                "WebSocket handshake with {url} failed: {e} (only one debugger can attach at a time)"
            ))
        })?;
        Ok(Inspector {
            ws,
            next_id: 1,
            timeout,
        })
    }

    /// The longest wait for one call's result.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends `method` without waiting for its result; returns its id.
    pub fn send(&mut self, method: &str, params: serde_json::Value) -> Result<u64, CdpError> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({"id": id, "method": method, "params": params});
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| CdpError::Closed {
                while_: format!(" while sending {method}"),
                detail: e.to_string(),
            })?;
        Ok(id)
    }

    /// Calls `method` and waits for its result (raw JSON), skipping events.
    pub fn call(
        &mut self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<Box<RawValue>, CdpError> {
        self.call_with_events(method, params, &mut |_, _| Ok(()))
    }

    /// Calls `method` and waits for its result, handing every event that
    /// arrives meanwhile to `on_event(method, params)`.
    pub fn call_with_events(
        &mut self,
        method: &str,
        params: serde_json::Value,
        on_event: &mut EventHandler<'_>,
    ) -> Result<Box<RawValue>, CdpError> {
        let id = self.send(method, params)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(CdpError::Timeout {
                    method: method.to_owned(),
                    after: self.timeout,
                });
            }
            // A read timeout of zero means "block forever": never pass it.
            let wait = (deadline - now).max(Duration::from_millis(1));
            self.ws.get_ref().set_read_timeout(Some(wait)).ok();
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => continue,
                Err(e) => {
                    return Err(CdpError::Closed {
                        while_: format!(" while waiting for {method}"),
                        detail: e.to_string(),
                    })
                }
            };
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(frame) => {
                    return Err(CdpError::Closed {
                        while_: format!(" while waiting for {method}"),
                        detail: frame.map_or_else(
                            || "the process closed the session".to_owned(),
                            |f| format!("the process closed the session ({})", f.reason),
                        ),
                    })
                }
                _ => continue,
            };
            let incoming = parse_message(text.as_str())?;
            if let Some(event) = incoming.method.as_deref() {
                if incoming.id.is_none() {
                    on_event(event, incoming.params.as_deref())?;
                    continue;
                }
            }
            if incoming.id != Some(id) {
                // The answer to an earlier call we did not wait for.
                continue;
            }
            if let Some(e) = incoming.error {
                return Err(CdpError::Remote {
                    method: method.to_owned(),
                    code: e.code,
                    message: e.message,
                });
            }
            return incoming.result.ok_or_else(|| {
                CdpError::Protocol(format!("the answer to {method} has no result"))
            });
        }
    }

    /// Takes a heap snapshot, writing it to `out` chunk by chunk as it
    /// arrives; returns the bytes written.
    pub fn take_heap_snapshot(&mut self, out: &mut dyn Write) -> Result<u64, CdpError> {
        let mut written = 0u64;
        self.call_with_events(
            "HeapProfiler.takeHeapSnapshot",
            serde_json::json!({"reportProgress": false}),
            &mut |method, params| {
                if method != "HeapProfiler.addHeapSnapshotChunk" {
                    return Ok(());
                }
                let Some(params) = params else { return Ok(()) };
                let chunk: ChunkParams = serde_json::from_str(params.get())
                    .map_err(|e| CdpError::Protocol(format!("unexpected snapshot chunk: {e}")))?;
                if let Some(chunk) = chunk.chunk {
                    out.write_all(chunk.as_bytes())
                        .map_err(|e| CdpError::Output {
                            context: "cannot write the snapshot".into(),
                            source: e,
                        })?;
                    written += chunk.len() as u64;
                }
                Ok(())
            },
        )?;
        out.flush().map_err(|e| CdpError::Output {
            context: "cannot write the snapshot".into(),
            source: e,
        })?;
        Ok(written)
    }

    /// Closes the session politely (the process keeps running): sends the
    /// close frame and waits briefly for the other side's, so the process
    /// sees the session end before we return.
    pub fn close(mut self) {
        if self.ws.close(None).is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(1).min(self.timeout);
        while Instant::now() < deadline {
            let wait = (deadline - Instant::now()).max(Duration::from_millis(1));
            self.ws.get_ref().set_read_timeout(Some(wait)).ok();
            match self.ws.read() {
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => continue,
                // ConnectionClosed: the closing handshake completed.
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn messages_results_events_and_errors() {
        let m = parse_message(r#"{"id":3,"result":{"profile":{"head":{"children":[[[[[]]]]]}}}}"#)
            .unwrap();
        assert_eq!(m.id, Some(3));
        assert!(m.result.unwrap().get().starts_with("{\"profile\""));
        let e = parse_message(
            r#"{"method":"HeapProfiler.addHeapSnapshotChunk","params":{"chunk":"{}"}}"#,
        )
        .unwrap();
        assert_eq!(
            e.method.as_deref(),
            Some("HeapProfiler.addHeapSnapshotChunk")
        );
        let r = parse_message(r#"{"id":4,"error":{"code":-32601,"message":"'X.y' wasn't found"}}"#)
            .unwrap();
        assert_eq!(r.error.unwrap().code, -32601);
        assert!(parse_message("[1,2]").is_err());
        assert!(parse_message("{").is_err());
    }

    #[test]
    fn a_result_nested_deeper_than_serde_json_recurses_is_fine() {
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        let m = parse_message(&format!(r#"{{"id":1,"result":{deep}}}"#)).unwrap();
        assert_eq!(m.result.unwrap().get().len(), 10000);
    }

    #[test]
    fn target_lists_and_response_heads() {
        let list = br#"[{"description":"node.js instance","id":"b1","title":"worker.js","type":"node","webSocketDebuggerUrl":"ws://127.0.0.1:9229/b1"}]"#;
        let t = parse_target_list(list).unwrap();
        assert_eq!(t[0].ws_url, "ws://127.0.0.1:9229/b1");
        assert_eq!(t[0].kind, "node");
        assert!(parse_target_list(b"{}").is_err());
        let h = parse_response_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42",
        )
        .unwrap();
        assert_eq!(
            h,
            ResponseHead {
                status: 200,
                content_length: Some(42)
            }
        );
        let h = parse_response_head(b"HTTP/1.0 404 Not Found").unwrap();
        assert_eq!(h.status, 404);
        assert_eq!(h.content_length, None);
        assert!(parse_response_head(b"SSH-2.0-OpenSSH_9.2").is_err());
        assert!(parse_response_head(b"").is_err());
    }

    proptest! {
        #[test]
        fn message_parsing_never_panics(text in ".{0,300}") {
            let _ = parse_message(&text);
        }

        #[test]
        fn head_and_list_parsing_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_response_head(&bytes);
            let _ = parse_target_list(&bytes);
        }
    }
}
