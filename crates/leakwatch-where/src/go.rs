//! Go programs, through their own `net/http/pprof` endpoint.
//!
//! [`open`] finds the endpoint itself: the process's listening TCP sockets
//! (from /proc, loopback ones first, sockets on every address reached
//! through loopback) are probed with `GET /debug/pprof/`. Sockets bound to
//! one non-loopback address only are never probed: the user names such an
//! endpoint with `--pprof URL`, which also overrides the search.
//!
//! Each poll reads two profiles (gzipped profile.proto):
//! - `/debug/pprof/heap`: in-use bytes and objects per allocation stack.
//!   Go publishes this profile at the end of a garbage collection cycle: its
//!   figures are those of the last completed GC, not of the poll's moment,
//!   and a poll with no GC since the previous one reads the same profile
//!   again (counted and reported; its values are the truth as of that GC).
//!   Go samples allocations (one per 512 KiB by default) and scales them, so
//!   small stacks are estimates.
//! - `/debug/pprof/goroutine` (`debug=0`): goroutines per stack.
//!
//! A key is a stack named by its first frame in the program's own code (not
//! the standard library under GOROOT, nor a module dependency), as
//! `function (file:line)`, followed by up to three callers and the library
//! function it was in, if any:
//! `main.cacheSession (/srv/app/main.go:41) ← main.handle (/srv/app/main.go:60) — in runtime.growslice`.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::time::{Duration, Instant};

use leakwatch_heap::pprof::{self, Profile};

use crate::listen::{self, ProcessHandle};
use crate::{GrowthSource, Metric, PollCost, Unit, WhereError};

const RUNTIME: &str = "Go pprof";

/// Default longest wait for one profile.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default largest profile accepted (a heap profile of a large service is a
/// few hundred KB gzipped).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;
/// Longest wait for one probe of a candidate socket.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Listening sockets probed at most.
const MAX_PROBES: usize = 16;
/// Callers kept after a key's first own frame.
const CALLERS_KEPT: usize = 3;
/// Longest key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// How the Go source is set up.
#[derive(Debug, Clone)]
pub struct GoOptions {
    /// The `net/http/pprof` base URL (`http://HOST:PORT`, or the full
    /// `.../debug/pprof/` prefix) instead of finding it. May name any host.
    pub pprof_url: Option<String>,
    /// Longest wait for one profile.
    pub timeout: Duration,
    /// Largest profile accepted.
    pub max_response_bytes: u64,
    /// Ask for `heap?gc=1`: Go runs a full garbage collection before writing
    /// the heap profile, so each poll sees the heap of its moment, at the
    /// cost of one GC per poll in the target. Off by default.
    pub gc_before_heap: bool,
}

impl Default for GoOptions {
    fn default() -> Self {
        GoOptions {
            pprof_url: None,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            gc_before_heap: false,
        }
    }
}

/// Opens the Go source of process `pid`: finds its `net/http/pprof`
/// endpoint (or uses `pprof_url`), checks it answers, and returns the source.
pub fn open(
    pid: i32,
    pprof_url: Option<&str>,
    timeout: Duration,
) -> Result<Box<dyn GrowthSource>, WhereError> {
    let opts = GoOptions {
        pprof_url: pprof_url.map(str::to_owned),
        timeout,
        ..GoOptions::default()
    };
    Ok(Box::new(GoSource::open(pid, &opts)?))
}

/// A Go program's heap and goroutine profiles.
pub struct GoSource {
    process: ProcessHandle,
    /// Ends with `/`: `http://127.0.0.1:6060/debug/pprof/`.
    base: String,
    agent: ureq::Agent,
    opts: GoOptions,
    metrics: [Metric; 3],
    last_heap: Option<u64>,
    heap_polls: u64,
    unchanged_heap_polls: u64,
    /// Reused per poll: key → (inuse bytes, inuse objects).
    heap_sums: HashMap<String, (f64, f64)>,
    goroutine_sums: HashMap<String, f64>,
}

/// The metrics, in `poll`'s order.
pub const METRICS: [Metric; 3] = [
    Metric {
        name: "inuse_bytes",
        unit: Unit::Bytes,
        key_kind: "allocation stack",
    },
    Metric {
        name: "inuse_objects",
        unit: Unit::Objects,
        key_kind: "allocation stack",
    },
    Metric {
        name: "goroutines",
        unit: Unit::Goroutines,
        key_kind: "goroutine stack",
    },
];

fn agent(timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // Loopback endpoints: an HTTP proxy from the environment must not
        // be asked for them (nor for an internal one named by --pprof).
        .proxy(None)
        .max_redirects(0)
        .build();
    ureq::Agent::new_with_config(config)
}

/// The error telling how to add the endpoint.
fn no_pprof_error(pid: i32, tried: &[String], skipped: &[String]) -> WhereError {
    let mut msg = format!(
        "process {pid} is a Go program without a net/http/pprof endpoint leakwatch can reach"
    );
    if tried.is_empty() {
        msg.push_str(" (it listens on no loopback TCP port)");
    } else {
        let _ = write!(msg, " (probed GET /debug/pprof/ on {})", tried.join(", "));
    }
    if !skipped.is_empty() {
        let _ = write!(
            msg,
            "; not probed, being bound to a non-loopback address only: {} \
             (pass --pprof http://ADDRESS/debug/pprof/ if you trust that network)",
            skipped.join(", ")
        );
    }
    msg.push_str(
        ". Add the endpoint to the program: `import _ \"net/http/pprof\"` and serve \
         http.DefaultServeMux on loopback, e.g. \
         `go func() { log.Println(http.ListenAndServe(\"localhost:6060\", nil)) }()`; \
         or, if it is mounted on another mux or path, pass --pprof URL",
    );
    WhereError::Unsupported(msg)
}

/// `http://h:p` → `http://h:p/debug/pprof/`; `http://h:p/x/debug/pprof` →
/// `.../debug/pprof/`; any other path is taken as the prefix itself.
pub fn normalize_url(url: &str) -> Result<String, WhereError> {
    let bad = || {
        WhereError::Unsupported(format!(
            "--pprof {url}: expected an http:// or https:// URL, e.g. http://127.0.0.1:6060/debug/pprof/"
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad());
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err(bad());
    }
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() {
        "/debug/pprof".to_owned()
    } else {
        path.to_owned()
    };
    Ok(format!("{scheme}://{host}{path}/"))
}

/// Whether a `/debug/pprof/` answer is net/http/pprof's index page.
pub fn looks_like_pprof_index(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 << 10)]);
    text.contains("profiles available")
        || (text.contains("goroutine") && text.contains("heap") && text.contains("pprof"))
}

impl GoSource {
    pub fn open(pid: i32, opts: &GoOptions) -> Result<Self, WhereError> {
        let process = ProcessHandle::open(pid)?;
        let agent = agent(opts.timeout);
        let base = match &opts.pprof_url {
            Some(url) => {
                let base = normalize_url(url)?;
                let probe_agent = self::agent(opts.timeout.min(PROBE_TIMEOUT * 2));
                match probe(&probe_agent, &base) {
                    Ok(()) => base,
                    Err(why) => {
                        return Err(WhereError::Unsupported(format!(
                            "--pprof {base}: {why}. Give the base of the program's net/http/pprof \
                             handlers (where GET /debug/pprof/ lists the profiles)"
                        )))
                    }
                }
            }
            None => find_endpoint(pid)?,
        };
        Ok(GoSource {
            process,
            base,
            agent,
            opts: opts.clone(),
            metrics: METRICS,
            last_heap: None,
            heap_polls: 0,
            unchanged_heap_polls: 0,
            heap_sums: HashMap::new(),
            goroutine_sums: HashMap::new(),
        })
    }

    /// The endpoint in use, ending with `/debug/pprof/` (or the prefix given).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Polls so far whose heap profile was the previous one again (no GC
    /// completed in between).
    pub fn unchanged_heap_polls(&self) -> u64 {
        self.unchanged_heap_polls
    }

    fn gone_or(&self, e: WhereError) -> WhereError {
        if self.process.alive() {
            e
        } else {
            WhereError::Gone {
                pid: self.process.pid(),
                during: " (it exited during a poll)",
            }
        }
    }

    fn fetch_profile(&self, what: &str) -> Result<Profile, WhereError> {
        let url = format!("{}{what}", self.base);
        let body = get(
            &self.agent,
            &url,
            self.opts.max_response_bytes,
            self.opts.timeout,
        )
        .map_err(|e| self.gone_or(e))?;
        decode_profile(&body, &url)
    }
}

/// A profile's body decoded, or why it is not one.
pub fn decode_profile(body: &[u8], url: &str) -> Result<Profile, WhereError> {
    pprof::decode(body).map_err(|e| WhereError::Protocol {
        runtime: RUNTIME,
        detail: format!("{url}: {e}"),
    })
}

/// GET `url`, at most `limit` bytes of body, status 200 only.
fn get(
    agent: &ureq::Agent,
    url: &str,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, WhereError> {
    let mut resp = agent
        .get(url)
        .call()
        .map_err(|e| http_error(url, e, timeout))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            let e = ureq::Error::Io(e);
            http_error(url, e, timeout)
        })?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_owned();
        return Err(WhereError::Protocol {
            runtime: RUNTIME,
            detail: format!("GET {url} answered HTTP {status}: {text}"),
        });
    }
    if body.len() as u64 > limit {
        return Err(WhereError::Protocol {
            runtime: RUNTIME,
            detail: format!(
                "GET {url}: the profile is larger than {} (the limit)",
                leakwatch_core::format::bytes(limit as f64)
            ),
        });
    }
    Ok(body)
}

/// The error of a request that did not complete.
fn http_error(url: &str, e: ureq::Error, timeout: Duration) -> WhereError {
    let timed_out = match &e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ),
        _ => false,
    };
    if timed_out {
        return timeout_error(url, timeout);
    }
    WhereError::Io {
        context: format!("GET {url}"),
        source: match e {
            ureq::Error::Io(io) => io,
            other => std::io::Error::other(other.to_string()),
        },
    }
}

/// A poll that took too long.
fn timeout_error(url: &str, timeout: Duration) -> WhereError {
    WhereError::Io {
        context: format!(
            "GET {url} did not answer within {}",
            leakwatch_core::format::duration(timeout.as_secs_f64())
        ),
        source: std::io::Error::from(std::io::ErrorKind::TimedOut),
    }
}

/// Probes `base` (ending with `/`) for the pprof index.
fn probe(agent: &ureq::Agent, base: &str) -> Result<(), String> {
    let mut resp = agent.get(base).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => "no answer within the probe's timeout".to_owned(),
        other => other.to_string(),
    })?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(256 << 10)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    if !looks_like_pprof_index(&body) {
        return Err("HTTP 200, but not the net/http/pprof index".into());
    }
    Ok(())
}

/// Finds the process's pprof endpoint among its listening sockets.
fn find_endpoint(pid: i32) -> Result<String, WhereError> {
    if listen::other_net_namespace(pid) {
        return Err(listen::namespace_error(pid));
    }
    let listeners = listen::listeners(pid).map_err(|e| match e {
        WhereError::Permission { pid, what, fix } => WhereError::Permission {
            pid,
            what,
            fix: format!(
                "{fix}; or name its endpoint with --pprof http://127.0.0.1:PORT/debug/pprof/"
            ),
        },
        other => other,
    })?;
    let probe_agent = agent(PROBE_TIMEOUT);
    let mut tried = Vec::new();
    let mut skipped = Vec::new();
    for l in &listeners {
        let Some(addr) = l.loopback_addr() else {
            skipped.push(l.local.to_string());
            continue;
        };
        if tried.len() >= MAX_PROBES {
            break;
        }
        let base = format!("http://{addr}/debug/pprof/");
        match probe(&probe_agent, &base) {
            Ok(()) => return Ok(base),
            Err(why) => tried.push(format!("{addr} ({why})")),
        }
    }
    Err(no_pprof_error(pid, &tried, &skipped))
}

impl GrowthSource for GoSource {
    fn describe(&self) -> String {
        let mut s = format!(
            "Go (net/http/pprof at {}: heap{} and goroutine profiles; heap figures are as of \
             the last completed garbage collection",
            self.base,
            if self.opts.gc_before_heap {
                " after a forced GC"
            } else {
                ""
            }
        );
        if self.heap_polls > 1 {
            let _ = write!(
                s,
                ", {} of {} polls saw no new GC and read the previous heap profile again",
                self.unchanged_heap_polls, self.heap_polls
            );
            if self.unchanged_heap_polls + 1 >= self.heap_polls {
                s.push_str(
                    " (no GC ran during the session: the heap did not change, or run longer)",
                );
            }
            if !self.opts.gc_before_heap && self.unchanged_heap_polls * 2 >= self.heap_polls {
                // GCs come rarer as a leaking heap grows: its series turns
                // into a few steps, which can read as one batch load.
                s.push_str(
                    "; with so few GCs a growing heap shows as a few steps: `--go-gc` forces \
                     one before each heap profile (one GC per poll in the target)",
                );
            }
        }
        s.push(')');
        s
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
        let heap = self.fetch_profile(if self.opts.gc_before_heap {
            "heap?gc=1"
        } else {
            "heap"
        })?;
        let goroutines = self.fetch_profile("goroutine?debug=0")?;
        let digest = sample_digest(&heap);
        self.heap_polls += 1;
        if self.last_heap == Some(digest) {
            self.unchanged_heap_polls += 1;
        }
        self.last_heap = Some(digest);
        self.heap_sums.clear();
        self.goroutine_sums.clear();
        heap_by_key(&heap, &mut self.heap_sums).map_err(|detail| WhereError::Protocol {
            runtime: RUNTIME,
            detail: format!("{}heap: {detail}", self.base),
        })?;
        goroutines_by_key(&goroutines, &mut self.goroutine_sums).map_err(|detail| {
            WhereError::Protocol {
                runtime: RUNTIME,
                detail: format!("{}goroutine: {detail}", self.base),
            }
        })?;
        for (key, &(bytes, objects)) in &self.heap_sums {
            sink(0, key, bytes);
            sink(1, key, objects);
        }
        for (key, &n) in &self.goroutine_sums {
            sink(2, key, n);
        }
        Ok(PollCost {
            wall: t0.elapsed(),
            // Go reports no pause for serving a profile; the goroutine
            // profile stops the world briefly (see docs/where.md).
            target_pause: None,
        })
    }

    fn close(&mut self) -> Result<(), WhereError> {
        // Plain GET requests: nothing was changed in the target.
        Ok(())
    }

    fn next_steps(&self) -> Vec<String> {
        let b = &self.base;
        vec![
            format!(
                "curl -s -o base.pb.gz {b}heap; sleep 600; curl -s -o later.pb.gz {b}heap; \
                 leakwatch diff base.pb.gz later.pb.gz   (or go tool pprof -sample_index=inuse_space -base base.pb.gz later.pb.gz)"
            ),
            format!(
                "curl -s '{b}goroutine?debug=2' | less   (every goroutine with its state and how long it has waited)"
            ),
        ]
    }
}

/// A digest of a profile's samples (stacks and values), without its
/// timestamp: equal digests mean Go served the same heap profile again.
fn sample_digest(p: &Profile) -> u64 {
    let mut h = DefaultHasher::new();
    for s in &p.sample {
        s.location_id.hash(&mut h);
        s.value.hash(&mut h);
    }
    h.finish()
}

/// One frame of a stack, leaf first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub function: &'a str,
    pub file: &'a str,
    pub line: i64,
}

/// Whose code a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The Go standard library and runtime.
    Std,
    /// A module dependency (module cache or vendor directory).
    Dependency,
    /// The program's own code.
    Own,
}

/// The package path of a Go function name: `net/http` for
/// `net/http.(*conn).serve`, `main` for `main.main.func1`.
pub fn package_of(function: &str) -> &str {
    let start = function.rfind('/').map_or(0, |i| i + 1);
    match function[start..].find('.') {
        Some(dot) => &function[..start + dot],
        None => function,
    }
}

/// Decides whose code a frame is. `goroot_src` is the GOROOT's `src/`
/// directory as the profile's runtime frames name it, when known.
pub fn origin(frame: &Frame<'_>, goroot_src: Option<&str>) -> Origin {
    let file = frame.file;
    if let Some(src) = goroot_src {
        if file.starts_with(src) {
            return Origin::Std;
        }
    }
    if file.contains("/pkg/mod/") || file.contains("/vendor/") {
        return Origin::Dependency;
    }
    let pkg = package_of(frame.function);
    if pkg == "main" {
        return Origin::Own;
    }
    // Without a GOROOT (or with -trimpath, where files are module-relative),
    // fall back on the import path: the standard library's first element
    // has no dot ("net/http", "runtime"), a module's usually has one.
    let first = pkg.split('/').next().unwrap_or(pkg);
    if (goroot_src.is_none() || !file.starts_with('/')) && !first.contains('.') {
        return Origin::Std;
    }
    Origin::Own
}

/// The GOROOT `src/` prefix of a profile's runtime frames, if any.
pub fn goroot_src<'a>(frames: impl Iterator<Item = Frame<'a>>) -> Option<&'a str> {
    for f in frames {
        if f.function.starts_with("runtime.") {
            if let Some(i) = f.file.rfind("/src/runtime/") {
                return Some(&f.file[..i + "/src/".len()]);
            }
        }
    }
    None
}

/// Frames of no interest at a stack's root.
fn is_root_frame(f: &Frame<'_>) -> bool {
    matches!(f.function, "runtime.goexit" | "runtime.main")
}

/// Names a stack (frames leaf first); see the module docs.
pub fn stack_key(frames: &[Frame<'_>], goroot_src: Option<&str>) -> String {
    let origins: Vec<Origin> = frames.iter().map(|f| origin(f, goroot_src)).collect();
    let first = origins
        .iter()
        .position(|&o| o == Origin::Own)
        .or_else(|| origins.iter().position(|&o| o == Origin::Dependency))
        .or_else(|| {
            // Only standard library: name it by its first frame outside the
            // runtime's own machinery (a parked goroutine's gopark).
            frames.iter().position(|f| {
                let p = package_of(f.function);
                p != "runtime" && !p.starts_with("internal/") && !is_root_frame(f)
            })
        })
        .unwrap_or(0);
    let mut key = String::new();
    let shown = frames[first.min(frames.len())..]
        .iter()
        .filter(|f| !is_root_frame(f))
        .take(1 + CALLERS_KEPT);
    for (i, f) in shown.enumerate() {
        if i > 0 {
            key.push_str(" ← ");
        }
        let file = match goroot_src {
            Some(src) => f.file.strip_prefix(src).unwrap_or(f.file),
            None => f.file,
        };
        let _ = write!(key, "{} ({}:{})", f.function, file, f.line);
    }
    if key.is_empty() {
        key.push_str("(no frames)");
    }
    if first > 0 {
        let _ = write!(key, " — in {}", frames[first - 1].function);
    }
    if key.len() > MAX_KEY_BYTES {
        let mut cut = MAX_KEY_BYTES;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
        key.push('…');
    }
    key
}

/// Resolves every sample's stack (leaf first, inlined frames expanded) and
/// calls `each(stack, values)`. Bad ids give `Err`, never a panic.
pub fn for_each_stack<'p>(
    p: &'p Profile,
    mut each: impl FnMut(&[Frame<'p>], &[i64]),
) -> Result<(), String> {
    let string = |i: i64| -> &'p str {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map_or("", String::as_str)
    };
    let functions: HashMap<u64, (&'p str, &'p str)> = p
        .function
        .iter()
        .map(|f| (f.id, (string(f.name), string(f.filename))))
        .collect();
    let locations: HashMap<u64, &'p pprof::proto::Location> =
        p.location.iter().map(|l| (l.id, l)).collect();
    let mut frames: Vec<Frame<'p>> = Vec::new();
    for s in &p.sample {
        frames.clear();
        for id in &s.location_id {
            let loc = locations
                .get(id)
                .ok_or_else(|| format!("a sample refers to location {id}, which is missing"))?;
            // Inlined functions first, the function they were inlined into last.
            for line in &loc.line {
                let (function, file) =
                    functions.get(&line.function_id).copied().ok_or_else(|| {
                        format!(
                            "location {id} refers to function {}, which is missing",
                            line.function_id
                        )
                    })?;
                frames.push(Frame {
                    function,
                    file,
                    line: line.line,
                });
            }
            if loc.line.is_empty() {
                frames.push(Frame {
                    function: "?",
                    file: "?",
                    line: 0,
                });
            }
            if frames.len() > 4096 {
                return Err("a stack has more than 4096 frames".into());
            }
        }
        each(&frames, &s.value);
    }
    Ok(())
}

fn sample_index(p: &Profile, name: &str) -> Option<usize> {
    p.sample_type.iter().position(|t| {
        usize::try_from(t.r#type)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .is_some_and(|s| s == name)
    })
}

fn profile_goroot(p: &Profile) -> Option<String> {
    let string = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.string_table.get(i))
            .map_or("", String::as_str)
    };
    goroot_src(p.function.iter().map(|f| Frame {
        function: string(f.name),
        file: string(f.filename),
        line: 0,
    }))
    .map(str::to_owned)
}

/// Sums a heap profile's in-use bytes and objects per key.
pub fn heap_by_key(p: &Profile, out: &mut HashMap<String, (f64, f64)>) -> Result<(), String> {
    let bytes =
        sample_index(p, "inuse_space").ok_or("not a heap profile (no inuse_space sample type)")?;
    let objects = sample_index(p, "inuse_objects")
        .ok_or("not a heap profile (no inuse_objects sample type)")?;
    let goroot = profile_goroot(p);
    for_each_stack(p, |frames, values| {
        let (Some(&b), Some(&o)) = (values.get(bytes), values.get(objects)) else {
            return;
        };
        if b == 0 && o == 0 {
            return;
        }
        let e = out.entry(stack_key(frames, goroot.as_deref())).or_default();
        e.0 += b as f64;
        e.1 += o as f64;
    })
}

/// Sums a goroutine profile's goroutines per key.
pub fn goroutines_by_key(p: &Profile, out: &mut HashMap<String, f64>) -> Result<(), String> {
    let count =
        sample_index(p, "goroutine").ok_or("not a goroutine profile (no goroutine sample type)")?;
    let goroot = profile_goroot(p);
    for_each_stack(p, |frames, values| {
        if let Some(&n) = values.get(count) {
            *out.entry(stack_key(frames, goroot.as_deref())).or_default() += n as f64;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_heap::pprof::proto::{Function, Line, Location, Sample, ValueType};
    use proptest::prelude::*;

    const ROOT: &str = "/usr/lib/go-1.19/src/";

    fn f<'a>(function: &'a str, file: &'a str, line: i64) -> Frame<'a> {
        Frame {
            function,
            file,
            line,
        }
    }

    #[test]
    fn packages() {
        assert_eq!(package_of("net/http.(*conn).serve"), "net/http");
        assert_eq!(package_of("main.main.func1"), "main");
        assert_eq!(package_of("github.com/a/b.(*T).M"), "github.com/a/b");
        assert_eq!(package_of("runtime.gopark"), "runtime");
        assert_eq!(package_of("weird"), "weird");
    }

    #[test]
    fn origins() {
        let g = Some(ROOT);
        let std = f(
            "net/http.(*conn).serve",
            "/usr/lib/go-1.19/src/net/http/server.go",
            1,
        );
        assert_eq!(origin(&std, g), Origin::Std);
        let own = f("main.leak", "/srv/app/main.go", 3);
        assert_eq!(origin(&own, g), Origin::Own);
        let module = f("example.com/app/cache.Put", "/srv/app/cache/cache.go", 3);
        assert_eq!(origin(&module, g), Origin::Own);
        let dotless_module = f("myservice/cache.Put", "/srv/app/cache/cache.go", 3);
        assert_eq!(origin(&dotless_module, g), Origin::Own);
        let dep = f(
            "github.com/x/y.New",
            "/root/go/pkg/mod/github.com/x/y@v1.0.0/y.go",
            9,
        );
        assert_eq!(origin(&dep, g), Origin::Dependency);
        // -trimpath: no GOROOT prefix to go by.
        let trimmed = f("net/http.(*conn).serve", "net/http/server.go", 1);
        assert_eq!(origin(&trimmed, None), Origin::Std);
        assert_eq!(origin(&f("main.x", "main.go", 1), None), Origin::Own);
        let frames = [
            f(
                "runtime.gopark",
                "/usr/lib/go-1.19/src/runtime/proc.go",
                363,
            ),
            own,
        ];
        assert_eq!(goroot_src(frames.into_iter()), Some(ROOT));
    }

    #[test]
    fn keys_name_the_first_own_frame_and_keep_callers() {
        let g = Some(ROOT);
        let stack = [
            f(
                "runtime.gopark",
                "/usr/lib/go-1.19/src/runtime/proc.go",
                363,
            ),
            f(
                "runtime.chanrecv",
                "/usr/lib/go-1.19/src/runtime/chan.go",
                583,
            ),
            f(
                "runtime.chanrecv1",
                "/usr/lib/go-1.19/src/runtime/chan.go",
                442,
            ),
            f("main.waitForReply", "/srv/app/main.go", 31),
            f("main.startWorkers.func1", "/srv/app/main.go", 36),
            f(
                "runtime.goexit",
                "/usr/lib/go-1.19/src/runtime/asm_amd64.s",
                1594,
            ),
        ];
        assert_eq!(
            stack_key(&stack, g),
            "main.waitForReply (/srv/app/main.go:31) ← main.startWorkers.func1 (/srv/app/main.go:36) — in runtime.chanrecv1"
        );
        let heap = [
            f("main.leak", "/srv/app/main.go", 20),
            f("main.a", "/srv/app/main.go", 21),
            f("main.b", "/srv/app/main.go", 22),
            f("main.c", "/srv/app/main.go", 23),
            f("main.d", "/srv/app/main.go", 24),
            f("runtime.main", "/usr/lib/go-1.19/src/runtime/proc.go", 250),
        ];
        let key = stack_key(&heap, g);
        assert!(
            key.starts_with("main.leak (/srv/app/main.go:20) ← main.a"),
            "{key}"
        );
        assert!(key.ends_with("main.c (/srv/app/main.go:23)"), "{key}");
        // All standard library: named by its first frame outside the runtime.
        let std_only = [
            f(
                "runtime.gopark",
                "/usr/lib/go-1.19/src/runtime/proc.go",
                363,
            ),
            f(
                "internal/poll.runtime_pollWait",
                "/usr/lib/go-1.19/src/runtime/netpoll.go",
                1,
            ),
            f("net.(*conn).Read", "/usr/lib/go-1.19/src/net/net.go", 183),
        ];
        assert!(stack_key(&std_only, g).starts_with("net.(*conn).Read (net/net.go:183)"));
        assert_eq!(stack_key(&[], g), "(no frames)");
    }

    #[test]
    fn urls() {
        assert_eq!(
            normalize_url("http://127.0.0.1:6060").unwrap(),
            "http://127.0.0.1:6060/debug/pprof/"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:6060/debug/pprof").unwrap(),
            "http://127.0.0.1:6060/debug/pprof/"
        );
        assert_eq!(
            normalize_url("https://h:1/admin/pprof/?x=1").unwrap(),
            "https://h:1/admin/pprof/"
        );
        assert!(normalize_url("127.0.0.1:6060").is_err());
        assert!(normalize_url("ftp://h/").is_err());
        assert!(normalize_url("http:///x").is_err());
    }

    /// A profile of `stacks` (each: leaf-first function names, values).
    fn profile(types: &[&str], stacks: &[(&[&str], Vec<i64>)]) -> Profile {
        let mut p = Profile {
            string_table: vec![String::new()],
            ..Default::default()
        };
        let intern = |p: &mut Profile, s: &str| -> i64 {
            if let Some(i) = p.string_table.iter().position(|x| x == s) {
                return i as i64;
            }
            p.string_table.push(s.to_owned());
            p.string_table.len() as i64 - 1
        };
        for t in types {
            let ty = intern(&mut p, t);
            let unit = intern(&mut p, "count");
            p.sample_type.push(ValueType { r#type: ty, unit });
        }
        for (names, values) in stacks {
            let mut ids = Vec::new();
            for name in *names {
                let id = p.function.len() as u64 + 1;
                let n = intern(&mut p, name);
                let file = if name.starts_with("main.") {
                    intern(&mut p, "/srv/app/main.go")
                } else {
                    intern(&mut p, "/usr/lib/go-1.19/src/runtime/x.go")
                };
                p.function.push(Function {
                    id,
                    name: n,
                    filename: file,
                    ..Default::default()
                });
                p.location.push(Location {
                    id,
                    line: vec![Line {
                        function_id: id,
                        line: id as i64,
                        column: 0,
                    }],
                    ..Default::default()
                });
                ids.push(id);
            }
            p.sample.push(Sample {
                location_id: ids,
                value: values.clone(),
                label: vec![],
            });
        }
        p
    }

    #[test]
    fn heap_and_goroutine_sums() {
        let heap = profile(
            &[
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space",
            ],
            &[
                (&["runtime.growslice", "main.leak"], vec![9, 900, 2, 200]),
                (&["main.churn"], vec![50, 5000, 0, 0]),
            ],
        );
        let mut sums = HashMap::new();
        heap_by_key(&heap, &mut sums).unwrap();
        assert_eq!(sums.len(), 1, "{sums:?}");
        let (key, v) = sums.iter().next().unwrap();
        assert!(key.starts_with("main.leak (/srv/app/main.go:"), "{key}");
        assert!(key.ends_with(" — in runtime.growslice"), "{key}");
        assert_eq!(*v, (200.0, 2.0));
        let g = profile(
            &["goroutine"],
            &[(&["runtime.gopark", "main.wait"], vec![7])],
        );
        let mut gs = HashMap::new();
        goroutines_by_key(&g, &mut gs).unwrap();
        assert_eq!(gs.values().copied().collect::<Vec<_>>(), vec![7.0]);
        // The wrong kind of profile is refused.
        assert!(heap_by_key(&g, &mut sums).is_err());
        assert!(goroutines_by_key(&heap, &mut gs).is_err());
        assert_ne!(sample_digest(&heap), sample_digest(&g));
    }

    #[test]
    fn dangling_ids_are_errors_not_panics() {
        let mut p = profile(&["goroutine"], &[(&["main.wait"], vec![1])]);
        p.sample[0].location_id.push(99);
        assert!(goroutines_by_key(&p, &mut HashMap::new()).is_err());
        let mut p = profile(&["goroutine"], &[(&["main.wait"], vec![1])]);
        p.location[0].line[0].function_id = 42;
        assert!(goroutines_by_key(&p, &mut HashMap::new()).is_err());
    }

    #[test]
    fn index_pages() {
        assert!(looks_like_pprof_index(
            b"<html><head><title>/debug/pprof/</title></head>Types of profiles available:"
        ));
        assert!(!looks_like_pprof_index(b"404 page not found"));
    }

    proptest! {
        #[test]
        fn keys_never_panic_and_stay_bounded(
            names in proptest::collection::vec("[a-z/.()*]{0,300}", 0..12),
            files in proptest::collection::vec("[a-z/.]{0,40}", 12),
        ) {
            let frames: Vec<Frame<'_>> = names.iter().zip(&files)
                .map(|(n, f)| Frame { function: n, file: f, line: 1 }).collect();
            let key = stack_key(&frames, Some("/usr/lib/go/src/"));
            prop_assert!(key.len() <= MAX_KEY_BYTES + '…'.len_utf8());
            let _ = stack_key(&frames, None);
        }
    }
}
