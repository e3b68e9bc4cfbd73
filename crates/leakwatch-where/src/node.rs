//! Node.js, through its inspector and V8's sampling heap profiler.
//!
//! A running Node process opens its inspector when sent SIGUSR1, listening
//! on 127.0.0.1:9229 (or the port of `--inspect-port`): loopback only, so
//! leakwatch must run on the same machine and network namespace. [`open`]:
//! 1. checks the process handles SIGUSR1 (a process that does not would be
//!    killed by it) and that nobody else holds the inspector port (Node
//!    would then fail to listen, and say so on the target's stderr);
//! 2. sends SIGUSR1, finds the new listening socket in /proc (the port may
//!    not be 9229), asks `/json/list` there and opens the WebSocket;
//! 3. starts `HeapProfiler.startSampling`.
//!
//! If the inspector was already open (started with `--inspect`), it is
//! used as it is and left open at the end.
//!
//! Each poll asks `HeapProfiler.getSamplingProfile`: the sampled objects
//! still alive, by the call stack that allocated them. An allocation site is
//! the first frame of the stack in the program's own code (not `node:`
//! internals, not `node_modules`), named `function (script:line)`; V8
//! records functions, so the line is where the function starts. Its value
//! is the live bytes of its samples (V8 scales each sample to the bytes it
//! stands for). Only objects allocated since sampling started are seen.
//!
//! [`NodeSource::close`] stops sampling, closes the inspector again if we
//! opened it (`inspector.close()` through `Runtime.evaluate`, deferred by a
//! timer so that it does not wait for our own session to end while we wait
//! for its answer), closes the WebSocket and checks in /proc that the port
//! is no longer listening. No heap snapshot is ever taken (it pauses the
//! process for seconds).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use leakwatch_heap::inspector::{self, CdpError, Inspector};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::listen::{self, Listener, ProcessHandle};
use crate::{GrowthSource, Metric, PollCost, Unit, WhereError};

const RUNTIME: &str = "Node inspector";

/// V8's and Chrome DevTools' default sampling interval: one sample per
/// 32 KiB allocated on average. A leak of 1 MiB gives about 32 live samples
/// (a ±18 % estimate per poll, which a trend over dozens of polls absorbs),
/// and the cost (a stack walk per sample) is a few microseconds per 32 KiB
/// allocated: see docs/where.md for the measured cost.
pub const DEFAULT_SAMPLING_INTERVAL: u64 = 32 << 10;
/// Default longest wait for one inspector call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Node's inspector port when none is configured.
pub const DEFAULT_INSPECTOR_PORT: u16 = 9229;
/// How long Node may take to open its inspector after SIGUSR1, and to
/// close it again.
const INSPECTOR_WAIT: Duration = Duration::from_secs(5);
/// A sampling profile's tree is as deep as the deepest sampled stack (V8
/// keeps at most 128 frames); anything deeper is not V8's.
pub const MAX_PROFILE_DEPTH: u32 = 512;
/// Most nodes accepted in one sampling profile.
pub const MAX_PROFILE_NODES: usize = 1 << 21;
/// Longest site name, in bytes.
const MAX_KEY_BYTES: usize = 512;

/// How the Node source is set up.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Longest wait for one inspector call.
    pub timeout: Duration,
    /// Average bytes allocated between two samples.
    pub sampling_interval: u64,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            timeout: DEFAULT_TIMEOUT,
            sampling_interval: DEFAULT_SAMPLING_INTERVAL,
        }
    }
}

/// Opens the Node source of process `pid` (see the module docs).
pub fn open(pid: i32, timeout: Duration) -> Result<Box<dyn GrowthSource>, WhereError> {
    let opts = NodeOptions {
        timeout,
        ..NodeOptions::default()
    };
    Ok(Box::new(NodeSource::open(pid, &opts)?))
}

/// The metric, in `poll`'s order.
pub const METRICS: [Metric; 1] = [Metric {
    name: "live_bytes",
    unit: Unit::Bytes,
    key_kind: "allocation site",
}];

/// A running Node process's sampling heap profile.
pub struct NodeSource {
    process: ProcessHandle,
    inspector: Option<Inspector>,
    /// Where the inspector listens.
    addr: SocketAddr,
    /// The inspector's listening socket, to check it closes again.
    inspector_inode: Option<u64>,
    /// We opened the inspector (SIGUSR1), so we close it at the end.
    opened_by_us: bool,
    opts: NodeOptions,
    metrics: [Metric; 1],
    sums: HashMap<String, f64>,
    closed: bool,
    /// Node said it finished and waits for us to disconnect before exiting.
    exiting: bool,
}

/// The event Node sends when its program has ended and it waits for the
/// debugger sessions to disconnect before the process exits.
const WAITING_FOR_DISCONNECT: &str = "NodeRuntime.waitingForDisconnect";

fn cdp_error(process: &ProcessHandle, e: CdpError) -> WhereError {
    if !process.alive() {
        return WhereError::Gone {
            pid: process.pid(),
            during: " (it exited while leakwatch talked to its inspector)",
        };
    }
    match e {
        CdpError::Timeout { method, after } => WhereError::Io {
            context: format!(
                "the Node inspector did not answer {method} within {}",
                leakwatch_core::format::duration(after.as_secs_f64())
            ),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        },
        other => WhereError::Protocol {
            runtime: RUNTIME,
            detail: other.to_string(),
        },
    }
}

/// The signal masks of /proc/PID/status: (caught, ignored, blocked).
pub fn parse_signal_masks(status: &str) -> Option<(u64, u64, u64)> {
    let field = |name: &str| {
        status.lines().find_map(|l| {
            let v = l.strip_prefix(name)?.strip_prefix(':')?;
            u64::from_str_radix(v.trim(), 16).ok()
        })
    };
    Some((field("SigCgt")?, field("SigIgn")?, field("SigBlk")?))
}

/// Whether the process has a handler for SIGUSR1 (Node's, which opens the
/// inspector). Without one, SIGUSR1 would terminate it.
fn handles_sigusr1(pid: i32) -> Result<bool, WhereError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| listen::proc_error(pid, "read", e))?;
    let (caught, ignored, _) = parse_signal_masks(&status).ok_or_else(|| WhereError::Protocol {
        runtime: "/proc",
        detail: format!("/proc/{pid}/status has no signal masks"),
    })?;
    let bit = 1u64 << (libc::SIGUSR1 - 1);
    Ok(caught & bit != 0 && ignored & bit == 0)
}

/// What Node's options say about its inspector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorConfig {
    /// The port it opens on (`--inspect-port`, `--inspect[-brk|-wait]=[HOST:]PORT`,
    /// `--debug-port`), 9229 when none is given, 0 for "any free port".
    pub port: u16,
    /// Started with `--inspect`, `--inspect-brk` or `--inspect-wait`: the
    /// inspector was opened at start-up.
    pub open_at_start: bool,
}

/// Reads Node's inspector options from its command line (the options
/// before the script) and `NODE_OPTIONS`.
pub fn inspector_config(cmdline: &[&str], node_options: Option<&str>) -> InspectorConfig {
    fn port_of(value: &str) -> Option<u16> {
        value.rsplit(':').next()?.parse().ok()
    }
    let mut config = InspectorConfig {
        port: DEFAULT_INSPECTOR_PORT,
        open_at_start: false,
    };
    let mut scan = |args: &mut dyn Iterator<Item = &str>, stop_at_script: bool| {
        while let Some(arg) = args.next() {
            if arg == "--" || (stop_at_script && !arg.starts_with('-')) {
                break;
            }
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (arg, None),
            };
            match name {
                "--inspect-port" | "--debug-port" => {
                    let v = value.or_else(|| args.next().map(str::to_owned));
                    if let Some(p) = v.as_deref().and_then(port_of) {
                        config.port = p;
                    }
                }
                "--inspect" | "--inspect-brk" | "--inspect-wait" => {
                    config.open_at_start = true;
                    if let Some(p) = value.as_deref().and_then(port_of) {
                        config.port = p;
                    }
                }
                _ => {}
            }
        }
    };
    if let Some(opts) = node_options {
        scan(&mut opts.split_ascii_whitespace(), false);
    }
    scan(&mut cmdline.iter().skip(1).copied(), true);
    config
}

/// Node's inspector options for process `pid`, from /proc. Its environment
/// may be unreadable (another user): then only its command line counts.
fn configured(pid: i32) -> InspectorConfig {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    let args: Vec<&str> = cmdline.split('\0').filter(|a| !a.is_empty()).collect();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    let node_options = environ
        .split('\0')
        .find_map(|v| v.strip_prefix("NODE_OPTIONS="));
    inspector_config(&args, node_options)
}

/// An inspector already listening among `listeners` (probed with
/// `/json/list`, at most 16 of them).
fn find_open_inspector(
    listeners: &[Listener],
) -> Option<(SocketAddr, Vec<inspector::Target>, u64)> {
    listeners
        .iter()
        .filter_map(|l| Some((l.loopback_addr()?, l.inode)))
        .take(16)
        .find_map(|(addr, inode)| {
            let targets = inspector::list_targets(addr, Duration::from_secs(2)).ok()?;
            Some((addr, targets, inode))
        })
}

/// Whether a listener on `l` keeps Node from listening on 127.0.0.1:`port`.
fn blocks_port(l: &Listener, port: u16) -> bool {
    l.local.port() == port && (l.local.ip().is_loopback() || l.local.ip().is_unspecified())
}

impl NodeSource {
    pub fn open(pid: i32, opts: &NodeOptions) -> Result<Self, WhereError> {
        let process = ProcessHandle::open(pid)?;
        if listen::other_net_namespace(pid) {
            return Err(listen::namespace_error(pid));
        }
        let before = listen::listeners(pid)?;
        let config = configured(pid);
        let port = config.port;

        // Already open (started with --inspect, or signalled before)?
        if config.open_at_start || port == 0 {
            if let Some((addr, targets, inode)) = find_open_inspector(&before) {
                return Self::start(process, addr, &targets, Some(inode), false, opts);
            }
        } else if let Some(l) = before.iter().find(|l| l.local.port() == port) {
            if let Some(addr) = l.loopback_addr() {
                if let Ok(targets) = inspector::list_targets(addr, Duration::from_secs(2)) {
                    return Self::start(process, addr, &targets, Some(l.inode), false, opts);
                }
            }
            return Err(WhereError::Unsupported(format!(
                "process {pid} itself listens on {}, the port its inspector would open on, \
                 and it is not an inspector: restart it with --inspect-port=PORT (a free \
                 port) to let leakwatch open the inspector. The process was not signalled \
                 and is left as it was",
                l.local
            )));
        }
        if !handles_sigusr1(pid)? {
            return Err(WhereError::Unsupported(format!(
                "process {pid} has no SIGUSR1 handler, so leakwatch cannot open its inspector \
                 (Node started with --disable-sigusr1, or the signal is ignored; sending it \
                 anyway could terminate the process). Restart it with --inspect=127.0.0.1:9229, \
                 then run leakwatch again. The process was not signalled"
            )));
        }
        if port != 0 {
            let ours: HashSet<u64> = before.iter().map(|l| l.inode).collect();
            let taken = listen::namespace_listeners(pid)?
                .into_iter()
                .find(|l| blocks_port(l, port) && !ours.contains(&l.inode));
            if let Some(l) = taken {
                let owner = match listen::socket_owner(l.inode) {
                    Some((p, name)) => format!("process {p} ({name})"),
                    None => "another process".to_owned(),
                };
                return Err(WhereError::Unsupported(format!(
                    "the inspector port of Node process {pid}, 127.0.0.1:{port}, is taken by \
                     {owner} (listening on {}): Node could not open its inspector there. Free \
                     the port, or restart the target with --inspect-port=PORT. The target was \
                     not signalled and is left as it was",
                    l.local
                )));
            }
        }

        if let Some(why) = crate::procfs::status(pid)
            .ok()
            .as_ref()
            .and_then(crate::procfs::held_still)
        {
            return Err(WhereError::Unsupported(format!(
                "Node process {pid} is {why}. SIGUSR1 would open its inspector only when it \
                 runs again, after leakwatch has given up, and nobody would close it. The \
                 process was not signalled"
            )));
        }
        // SAFETY: kill(2) with a pid and a signal number has no memory effects.
        let rc = unsafe { libc::kill(pid, libc::SIGUSR1) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPERM) => WhereError::Permission {
                    pid,
                    what: "signal (SIGUSR1, to open the inspector of)",
                    fix: format!(
                        "the process belongs to another user: run leakwatch as that user or as \
                         root (e.g. sudo -u $(stat -c %U /proc/{pid}) leakwatch where --pid {pid})"
                    ),
                },
                Some(libc::ESRCH) => WhereError::Gone { pid, during: "" },
                _ => WhereError::Io {
                    context: format!("sending SIGUSR1 to process {pid}"),
                    source: e,
                },
            });
        }
        let known: HashSet<u64> = before.iter().map(|l| l.inode).collect();
        let deadline = Instant::now() + INSPECTOR_WAIT;
        let mut last_error = String::from("no new listening socket appeared");
        loop {
            if !process.alive() {
                return Err(WhereError::Gone {
                    pid,
                    during: " (it exited after SIGUSR1: was it Node?)",
                });
            }
            let now_listening = listen::listeners(pid)?;
            for l in now_listening.iter().filter(|l| !known.contains(&l.inode)) {
                let Some(addr) = l.loopback_addr() else {
                    last_error = format!(
                        "the inspector listens on {}, not on loopback: leakwatch does not \
                         connect there",
                        l.local
                    );
                    continue;
                };
                match inspector::list_targets(addr, Duration::from_secs(2)) {
                    Ok(targets) => {
                        let started =
                            Self::start(process, addr, &targets, Some(l.inode), true, opts);
                        return started;
                    }
                    Err(e) => last_error = format!("{addr}: {e}"),
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Opened earlier on another port (inspector.open() in the program):
        // SIGUSR1 changed nothing; use it and leave it open.
        if let Some((addr, targets, inode)) = find_open_inspector(&before) {
            return Self::start(process, addr, &targets, Some(inode), false, opts);
        }
        Err(WhereError::Unsupported(format!(
            "Node process {pid} did not open its inspector within {} of SIGUSR1 ({last_error}). \
             Its stderr says why (\"Starting inspector on ... failed\" when the port is taken); \
             a Node built without the inspector cannot be observed this way",
            leakwatch_core::format::duration(INSPECTOR_WAIT.as_secs_f64())
        )))
    }

    /// Connects to the inspector at `addr` and starts sampling; on failure,
    /// closes what it opened.
    fn start(
        process: ProcessHandle,
        addr: SocketAddr,
        targets: &[inspector::Target],
        inode: Option<u64>,
        opened_by_us: bool,
        opts: &NodeOptions,
    ) -> Result<Self, WhereError> {
        let mut source = NodeSource {
            process,
            inspector: None,
            addr,
            inspector_inode: inode,
            opened_by_us,
            opts: opts.clone(),
            metrics: METRICS,
            sums: HashMap::new(),
            closed: false,
            exiting: false,
        };
        let result = source.connect_and_sample(targets);
        match result {
            Ok(()) => Ok(source),
            Err(e) => {
                // Leave it as found, then report the first error.
                let _ = source.close();
                Err(e)
            }
        }
    }

    fn connect_and_sample(&mut self, targets: &[inspector::Target]) -> Result<(), WhereError> {
        let target = targets
            .iter()
            .find(|t| t.kind == "node" && !t.ws_url.is_empty())
            .or_else(|| targets.iter().find(|t| !t.ws_url.is_empty()))
            .ok_or_else(|| WhereError::Protocol {
                runtime: RUNTIME,
                detail: format!("{} lists no debuggable target", self.addr),
            })?;
        let mut insp = Inspector::connect_target(self.addr, target, self.opts.timeout)
            .map_err(|e| cdp_error(&self.process, e))?;
        let started = insp.call(
            "HeapProfiler.startSampling",
            serde_json::json!({ "samplingInterval": self.opts.sampling_interval }),
        );
        self.inspector = Some(insp);
        started.map_err(|e| cdp_error(&self.process, e))?;
        // A Node process whose program ends waits for every session to
        // disconnect before it exits: ask to be told, so that a poll can
        // let it go (Node 12 and later; older ones just do not say).
        if let Some(insp) = self.inspector.as_mut() {
            match insp.call(
                "NodeRuntime.notifyWhenWaitingForDisconnect",
                serde_json::json!({ "enabled": true }),
            ) {
                Ok(_) | Err(CdpError::Remote { .. }) => {}
                Err(e) => return Err(cdp_error(&self.process, e)),
            }
        }
        Ok(())
    }

    /// Where the inspector listens.
    pub fn inspector_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether leakwatch opened the inspector (and so closes it at the end).
    pub fn opened_inspector(&self) -> bool {
        self.opened_by_us
    }

    /// Asks Node to close its inspector once our session has ended.
    fn close_inspector(insp: &mut Inspector) -> Result<(), CdpError> {
        // inspector.close() waits for every session to end, ours included:
        // called directly it would wait for us while we wait for its
        // answer. A timer runs it after we have our answer and hung up;
        // unref'd, so it never keeps an exiting process alive.
        let expression = "(() => { const p = globalThis.process; \
            const inspector = typeof p.getBuiltinModule === 'function' \
              ? p.getBuiltinModule('inspector') \
              : (typeof require === 'function' ? require('inspector') : p.mainModule.require('inspector')); \
            setTimeout(() => inspector.close(), 20).unref(); return 'closing'; })()";
        let result = insp.call(
            "Runtime.evaluate",
            serde_json::json!({
                "expression": expression,
                "includeCommandLineAPI": true,
                "returnByValue": true,
                "silent": true,
            }),
        )?;
        let parsed: serde_json::Value = serde_json::from_str(result.get())
            .map_err(|e| CdpError::Protocol(format!("Runtime.evaluate answered oddly: {e}")))?;
        if let Some(exc) = parsed.get("exceptionDetails") {
            return Err(CdpError::Protocol(format!(
                "require('inspector').close() failed in the process: {}",
                exc.get("exception")
                    .and_then(|x| x.get("description"))
                    .and_then(|d| d.as_str())
                    .unwrap_or("an exception")
            )));
        }
        Ok(())
    }

    /// Waits until the inspector's socket is gone from the process.
    fn wait_inspector_closed(&self) -> Result<(), WhereError> {
        let Some(inode) = self.inspector_inode else {
            return Ok(());
        };
        let pid = self.process.pid();
        let deadline = Instant::now() + INSPECTOR_WAIT;
        loop {
            match listen::listeners(pid) {
                Ok(l) if !l.iter().any(|l| l.inode == inode) => return Ok(()),
                Err(WhereError::Gone { .. }) => return Ok(()),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            if !self.process.alive() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(WhereError::Protocol {
                    runtime: RUNTIME,
                    detail: format!(
                        "the inspector of process {pid} is still listening on {} after \
                         leakwatch asked Node to close it (it accepts loopback connections \
                         only; restart the process to close it)",
                        self.addr
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl GrowthSource for NodeSource {
    fn describe(&self) -> String {
        format!(
            "Node.js (inspector at {}{}: V8 sampling heap profiler, one sample per {} \
             allocated; live sampled bytes per allocation site)",
            self.addr,
            if self.opened_by_us {
                ", opened with SIGUSR1 and closed again at the end"
            } else {
                ", already open"
            },
            leakwatch_core::format::bytes(self.opts.sampling_interval as f64)
        )
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError> {
        let t0 = Instant::now();
        if !self.process.alive() {
            return Err(WhereError::Gone {
                pid: self.process.pid(),
                during: " (it exited between polls)",
            });
        }
        let insp = self
            .inspector
            .as_mut()
            .ok_or_else(|| WhereError::Protocol {
                runtime: RUNTIME,
                detail: "the session is closed".into(),
            })?;
        let mut exiting = false;
        let asked = Instant::now();
        let answer = insp.call_with_events(
            "HeapProfiler.getSamplingProfile",
            serde_json::json!({}),
            &mut |event, _| {
                exiting |= event == WAITING_FOR_DISCONNECT;
                Ok(())
            },
        );
        if exiting {
            // Let it exit now rather than at the end of the session.
            self.exiting = true;
            if let Some(insp) = self.inspector.take() {
                insp.close();
            }
            return Err(WhereError::Gone {
                pid: self.process.pid(),
                during: " (its program ended: Node was waiting for leakwatch to disconnect, \
                          which it did)",
            });
        }
        // V8 builds and serializes the profile on the JavaScript thread:
        // from the request to the whole answer is how long the event loop
        // was held, at most (the rest is the socket, on Node's I/O thread).
        let held = asked.elapsed();
        let raw = answer.map_err(|e| cdp_error(&self.process, e))?;
        let nodes = parse_sampling_profile(raw.get()).map_err(|detail| WhereError::Protocol {
            runtime: RUNTIME,
            detail: format!("HeapProfiler.getSamplingProfile: {detail}"),
        })?;
        drop(raw);
        self.sums.clear();
        live_bytes_by_site(&nodes, &mut self.sums);
        for (key, &bytes) in &self.sums {
            sink(0, key, bytes);
        }
        Ok(PollCost {
            wall: t0.elapsed(),
            // An upper bound of the event loop's pause, so that the pause
            // budget spaces polls of a large profile (it grows with the
            // live samples: bench/where/RESULTS.md measured 60 to 340 ms
            // under load, and a third less throughput at a fixed 2 s).
            target_pause: Some(held),
        })
    }

    fn close(&mut self) -> Result<(), WhereError> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut first_error: Option<WhereError> = None;
        if self.exiting {
            // Ending: nothing to restore, only let it go.
            if let Some(insp) = self.inspector.take() {
                insp.close();
            }
            return Ok(());
        }
        if let Some(mut insp) = self.inspector.take() {
            if self.process.alive() {
                // Its answer is the last profile, unused.
                if let Err(e) = insp.call("HeapProfiler.stopSampling", serde_json::json!({})) {
                    first_error.get_or_insert(cdp_error(&self.process, e));
                }
                if self.opened_by_us {
                    if let Err(e) = Self::close_inspector(&mut insp) {
                        first_error.get_or_insert(cdp_error(&self.process, e));
                    }
                }
            }
            insp.close();
        } else if self.opened_by_us && self.process.alive() {
            // We signalled but never got a session: open one only to close
            // the inspector again.
            if let Ok(targets) = inspector::list_targets(self.addr, Duration::from_secs(2)) {
                if let Some(t) = targets.iter().find(|t| !t.ws_url.is_empty()) {
                    if let Ok(mut insp) = Inspector::connect_target(self.addr, t, self.opts.timeout)
                    {
                        if let Err(e) = Self::close_inspector(&mut insp) {
                            first_error.get_or_insert(cdp_error(&self.process, e));
                        }
                        insp.close();
                    }
                }
            }
        }
        if self.opened_by_us && self.process.alive() {
            if let Err(e) = self.wait_inspector_closed() {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) if self.process.alive() => Err(e),
            // A process that exited has nothing left to restore.
            _ => Ok(()),
        }
    }

    fn next_steps(&self) -> Vec<String> {
        vec![format!(
            "leakwatch snapshot --node-inspect {} --count 3 --every 5m   (heap snapshots \
             diffed as BASE TARGET FINAL: the growing objects and what retains them; each \
             snapshot pauses the process; start the inspector first with kill -USR1 {})",
            self.addr,
            self.process.pid()
        )]
    }
}

impl Drop for NodeSource {
    fn drop(&mut self) {
        // Leave the target as found even if the caller forgot to close.
        let _ = self.close();
    }
}

/// One node of a sampling heap profile, flattened (parents before children).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteNode {
    /// Index of the parent node; `None` for the root.
    pub parent: Option<u32>,
    pub function: String,
    pub url: String,
    /// 0-based, as the protocol gives it (-1 when unknown).
    pub line: i64,
    /// Bytes of live samples allocated by this function itself.
    pub self_size: f64,
}

#[derive(Deserialize)]
struct ResultShape<'a> {
    #[serde(borrow)]
    profile: &'a RawValue,
}

#[derive(Deserialize)]
struct ProfileShape<'a> {
    #[serde(borrow)]
    head: &'a RawValue,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CallFrame {
    #[serde(default)]
    function_name: String,
    #[serde(default)]
    url: String,
    #[serde(default = "minus_one")]
    line_number: i64,
}

fn minus_one() -> i64 {
    -1
}

/// Parses the result of `HeapProfiler.getSamplingProfile` into a flat list
/// of nodes. The tree is walked by serde with recursion bounded by
/// [`MAX_PROFILE_DEPTH`] (serde_json's own limit, 128 levels, is below what
/// a 128-frame stack needs), and never built as a tree, so nothing recurses
/// when it is dropped.
pub fn parse_sampling_profile(result: &str) -> Result<Vec<SiteNode>, String> {
    let shape: ResultShape<'_> = serde_json::from_str(result).map_err(|e| e.to_string())?;
    let profile: ProfileShape<'_> =
        serde_json::from_str(shape.profile.get()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(profile.head.get());
    de.disable_recursion_limit();
    Flattener {
        out: &mut out,
        parent: None,
        depth: 0,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(out)
}

struct Flattener<'v> {
    out: &'v mut Vec<SiteNode>,
    parent: Option<u32>,
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for Flattener<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Flattener<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sampling heap profile node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth > MAX_PROFILE_DEPTH {
            return Err(de::Error::custom(format!(
                "the profile tree is deeper than {MAX_PROFILE_DEPTH} levels"
            )));
        }
        if self.out.len() >= MAX_PROFILE_NODES {
            return Err(de::Error::custom(format!(
                "the profile has more than {MAX_PROFILE_NODES} nodes"
            )));
        }
        let index = self.out.len();
        self.out.push(SiteNode {
            parent: self.parent,
            line: -1,
            ..SiteNode::default()
        });
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "callFrame" => {
                    let cf: CallFrame = map.next_value()?;
                    let node = &mut self.out[index];
                    node.function = cf.function_name;
                    node.url = cf.url;
                    node.line = cf.line_number;
                }
                "selfSize" => {
                    let size: f64 = map.next_value()?;
                    self.out[index].self_size = if size.is_finite() && size > 0.0 {
                        size
                    } else {
                        0.0
                    };
                }
                "children" => map.next_value_seed(Children {
                    out: &mut *self.out,
                    parent: index as u32,
                    depth: self.depth + 1,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Children<'v> {
    out: &'v mut Vec<SiteNode>,
    parent: u32,
    depth: u32,
}

impl<'de> DeserializeSeed<'de> for Children<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Children<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of profile nodes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Flattener {
                out: &mut *self.out,
                parent: Some(self.parent),
                depth: self.depth,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// Whose code a call frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// The program's own scripts.
    Own,
    /// A package under node_modules.
    Dependency,
    /// Node's own JavaScript (`node:internal/...`).
    Node,
    /// No script: V8 itself, `(root)`, `(V8 API)`, `(GC)`, `(program)`.
    Vm,
}

/// Decides whose code a frame with this script URL is.
pub fn origin(url: &str) -> Origin {
    if url.is_empty() {
        Origin::Vm
    } else if url.starts_with("node:") || url.starts_with("internal/") {
        Origin::Node
    } else if url.contains("/node_modules/") {
        Origin::Dependency
    } else {
        Origin::Own
    }
}

/// `function (script:line)`, line 1-based, the script without `file://`.
pub fn site_name(node: &SiteNode) -> String {
    let function = if node.function.is_empty() {
        "(anonymous)"
    } else {
        node.function.as_str()
    };
    let mut name = if node.url.is_empty() {
        function.to_owned()
    } else {
        let script = node.url.strip_prefix("file://").unwrap_or(&node.url);
        if node.line >= 0 {
            format!("{function} ({script}:{})", node.line + 1)
        } else {
            format!("{function} ({script})")
        }
    };
    if name.len() > MAX_KEY_BYTES {
        let mut cut = MAX_KEY_BYTES;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.push('…');
    }
    name
}

/// Sums live sampled bytes per allocation site: each node's own bytes go to
/// its nearest frame (itself or a caller) in the program's own code, or
/// failing that in a dependency, in Node's own code, or the node itself.
pub fn live_bytes_by_site(nodes: &[SiteNode], out: &mut HashMap<String, f64>) {
    // best[i]: the index of node i's nearest ancestor-or-self of each origin.
    let mut nearest: Vec<[Option<u32>; 3]> = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let mut here = n
            .parent
            .and_then(|p| nearest.get(p as usize).copied())
            .unwrap_or([None; 3]);
        match origin(&n.url) {
            Origin::Own => here[0] = Some(i as u32),
            Origin::Dependency => here[1] = Some(i as u32),
            Origin::Node => here[2] = Some(i as u32),
            Origin::Vm => {}
        }
        nearest.push(here);
        if n.self_size <= 0.0 {
            continue;
        }
        let site = here[0].or(here[1]).or(here[2]).map_or(i, |s| s as usize);
        *out.entry(site_name(&nodes[site])).or_default() += n.self_size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node(function: &str, url: &str, line: i64, size: u64, children: &str) -> String {
        format!(
            r#"{{"callFrame":{{"functionName":"{function}","scriptId":"1","url":"{url}","lineNumber":{line},"columnNumber":0}},"selfSize":{size},"id":1,"children":[{children}]}}"#
        )
    }

    #[test]
    fn sites_are_the_nearest_own_frame() {
        let leak = node(
            "push",
            "node:internal/x",
            3,
            4096,
            &node("", "", -1, 100, ""),
        );
        let own = node("remember", "file:///srv/app/worker.js", 9, 1000, &leak);
        let dep = node(
            "parse",
            "file:///srv/app/node_modules/qs/index.js",
            0,
            50,
            "",
        );
        let internal_only = node("readFile", "node:fs", 40, 70, "");
        let head = node("(root)", "", -1, 0, &format!("{own},{dep},{internal_only}"));
        let json = format!(r#"{{"profile":{{"head":{head},"samples":[]}}}}"#);
        let nodes = parse_sampling_profile(&json).unwrap();
        assert_eq!(nodes.len(), 6);
        assert_eq!(nodes[0].function, "(root)");
        assert_eq!(nodes[1].parent, Some(0));
        let mut sums = HashMap::new();
        live_bytes_by_site(&nodes, &mut sums);
        assert_eq!(
            sums["remember (/srv/app/worker.js:10)"],
            1000.0 + 4096.0 + 100.0
        );
        assert_eq!(sums["parse (/srv/app/node_modules/qs/index.js:1)"], 50.0);
        assert_eq!(sums["readFile (node:fs:41)"], 70.0);
        assert_eq!(sums.len(), 3);
    }

    #[test]
    fn deep_profiles_parse_and_deeper_ones_are_refused() {
        fn chain(depth: usize) -> String {
            let mut s = node("leaf", "file:///a.js", 0, 10, "");
            for i in 0..depth {
                s = node(&format!("f{i}"), "file:///a.js", i as i64, 0, &s);
            }
            format!(r#"{{"profile":{{"head":{s}}}}}"#)
        }
        // 300 nested nodes (600 JSON levels): beyond serde_json's default
        // limit, within ours. Run on a thread with a small stack, as the
        // agent's threads may have.
        let ok = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| parse_sampling_profile(&chain(300)).map(|n| n.len()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(ok, Ok(301));
        let deep = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| parse_sampling_profile(&chain(5000)))
            .unwrap()
            .join()
            .unwrap();
        assert!(deep.unwrap_err().contains("deeper than"));
    }

    #[test]
    fn malformed_profiles_are_errors() {
        assert!(parse_sampling_profile("{}").is_err());
        assert!(parse_sampling_profile(r#"{"profile":{"head":[]}}"#).is_err());
        assert!(parse_sampling_profile(r#"{"profile":{"head":{"children":{}}}}"#).is_err());
        assert!(parse_sampling_profile(r#"{"profile":{"head":{"selfSize":"x"}}}"#).is_err());
        let nodes =
            parse_sampling_profile(r#"{"profile":{"head":{"selfSize":-5,"extra":[[[]]]}}}"#)
                .unwrap();
        assert_eq!(nodes[0].self_size, 0.0);
    }

    #[test]
    fn names() {
        let n = SiteNode {
            parent: None,
            function: String::new(),
            url: "file:///srv/a.js".into(),
            line: 4,
            self_size: 1.0,
        };
        assert_eq!(site_name(&n), "(anonymous) (/srv/a.js:5)");
        assert_eq!(origin("node:internal/streams/readable"), Origin::Node);
        assert_eq!(origin(""), Origin::Vm);
        assert_eq!(origin("/srv/app/x.js"), Origin::Own);
    }

    #[test]
    fn inspector_options() {
        let port = |args: &[&str], env: Option<&str>| inspector_config(args, env).port;
        assert_eq!(
            inspector_config(&["node", "app.js"], None),
            InspectorConfig {
                port: 9229,
                open_at_start: false
            }
        );
        assert_eq!(port(&["node", "--inspect-port=9333", "app.js"], None), 9333);
        assert_eq!(port(&["node", "--inspect-port", "0", "app.js"], None), 0);
        // Arguments after the script are the program's, not Node's.
        assert_eq!(port(&["node", "app.js", "--inspect-port=1"], None), 9229);
        let c = inspector_config(
            &["node", "app.js"],
            Some("--max-old-space-size=100 --inspect=127.0.0.1:9400"),
        );
        assert_eq!(
            c,
            InspectorConfig {
                port: 9400,
                open_at_start: true
            }
        );
        assert_eq!(port(&["node", "--inspect-brk=9500", "app.js"], None), 9500);
        assert!(inspector_config(&["node", "--inspect", "app.js"], None).open_at_start);
    }

    #[test]
    fn signal_masks() {
        let status = "Name:\tnode\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000188004602\n";
        let (caught, ignored, blocked) = parse_signal_masks(status).unwrap();
        assert_eq!(blocked, 0);
        assert_ne!(caught & (1 << (libc::SIGUSR1 - 1)), 0);
        assert_eq!(ignored & (1 << (libc::SIGUSR1 - 1)), 0);
        assert!(parse_signal_masks("Name: x").is_none());
    }

    proptest! {
        #[test]
        fn profile_parsing_never_panics(text in ".{0,400}") {
            if let Ok(nodes) = parse_sampling_profile(&text) {
                let mut sums = HashMap::new();
                live_bytes_by_site(&nodes, &mut sums);
            }
        }

        #[test]
        fn every_live_byte_lands_on_one_site(sizes in proptest::collection::vec(0u32..100_000, 1..40), urls in proptest::collection::vec(0usize..4, 40)) {
            // A chain: each node the child of the previous one.
            let kinds = ["", "node:internal/a", "file:///srv/node_modules/m/i.js", "file:///srv/app.js"];
            let mut s = String::new();
            for (i, size) in sizes.iter().enumerate().rev() {
                s = node(&format!("f{i}"), kinds[urls[i]], i as i64, u64::from(*size), &s);
            }
            let nodes = parse_sampling_profile(&format!(r#"{{"profile":{{"head":{s}}}}}"#)).unwrap();
            let mut sums = HashMap::new();
            live_bytes_by_site(&nodes, &mut sums);
            let total: f64 = sizes.iter().map(|&x| f64::from(x)).sum();
            prop_assert_eq!(sums.values().sum::<f64>(), total);
        }
    }
}
