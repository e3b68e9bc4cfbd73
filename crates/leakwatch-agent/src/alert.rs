//! Alerts: one per leak, a resolve message when it ends, delivered in the
//! background so that sampling never waits on a slow or dead receiver.
//!
//! [`Deduper`] turns detector states into alert events: a firing alert when a
//! (target, resource) enters `leak`, nothing while it stays there, a resolved
//! one when it leaves `leak` or the target ends, and a cool-down after a
//! resolve during which a new leak on the same key is held back (flapping
//! around the threshold is one alert, not a storm).
//!
//! Each sink ([`JsonLinesSink`], [`WebhookSink`], [`AlertmanagerSink`]) gets
//! its own [`Dispatcher`]: a thread, a bounded queue (the oldest alert is
//! dropped and counted when full), and retries with exponential back-off.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use leakwatch_core::{Assessment, LeakState, Resource};
use serde::Serialize;

use crate::metrics::resource_label;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert event, as sent to every sink.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub status: AlertStatus,
    pub target: String,
    /// `rss`, `pss`, `anon`, `swap`, `threads`, `fds`, `cgroup`, `cgroup_anon`.
    pub resource: &'static str,
    /// The detector state when the event was made.
    pub state: LeakState,
    /// Unix seconds when the leak alert started.
    pub started_at_s: f64,
    /// Unix seconds when it ended (resolved alerts only).
    pub ended_at_s: Option<f64>,
    pub current: f64,
    pub growth_per_hour: f64,
    pub time_to_limit_s: Option<f64>,
    pub limit: Option<f64>,
    /// Why: the detector's evidence, or why the alert resolved.
    pub reason: String,
    /// What grows inside the target, when `watch --where` looked (sent
    /// again with the firing alert once its session ended).
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub cause: Option<AlertCause>,
}

/// What `leakwatch where` found growing in an alert's target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertCause {
    pub pid: i32,
    /// `jvm`, `go`, `node`, `python`, `ruby`, `native`.
    pub runtime: String,
    /// How it was read, e.g. "JVM pid 42 (HotSpot attach: GC.class_histogram, ...)".
    pub source: String,
    pub polls: u64,
    pub duration_s: f64,
    /// The growing classes or sites, leaks first, at most a handful.
    pub growing: Vec<GrowingKey>,
    /// Why nothing could be told (an unsupported runtime, attach refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One growing class or allocation site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowingKey {
    /// The series: `bytes`, `instances`, `inuse_bytes`, `goroutines`.
    pub metric: String,
    /// The class or site.
    pub key: String,
    pub state: LeakState,
    pub current: f64,
    pub growth_per_hour: f64,
    /// `bytes`, `objects` or `goroutines`.
    pub unit: String,
    /// E.g. "WhereSvc$LeakedSession: +350k objects/h (leak)".
    pub summary: String,
}

impl AlertCause {
    /// One line: the growing keys' summaries, or why there are none.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("where: {e}");
        }
        if self.growing.is_empty() {
            return format!(
                "where: no class or site grows ({} polls over {:.0}s)",
                self.polls, self.duration_s
            );
        }
        let keys: Vec<&str> = self.growing.iter().map(|g| g.summary.as_str()).collect();
        format!("growing: {}", keys.join("; "))
    }
}

impl Alert {
    /// A short human summary.
    pub fn summary(&self) -> String {
        let r = Resource::ALL
            .into_iter()
            .find(|r| resource_label(*r) == self.resource);
        let show = |v: f64| r.map_or(format!("{v:.0}"), |r| r.show(v));
        match self.status {
            AlertStatus::Firing => {
                let ttl = self.time_to_limit_s.map_or(String::new(), |t| {
                    format!(", limit in ~{}", leakwatch_core::format::duration(t))
                });
                let cause = self
                    .cause
                    .as_ref()
                    .map_or(String::new(), |c| format!("; {}", c.summary()));
                format!(
                    "{} leaks {}: {} now, +{}/h{}{}",
                    self.target,
                    self.resource,
                    show(self.current),
                    show(self.growth_per_hour),
                    ttl,
                    cause
                )
            }
            AlertStatus::Resolved => {
                format!(
                    "{} {} leak resolved: {}",
                    self.target, self.resource, self.reason
                )
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct KeyState {
    resource: Resource,
    /// Start of the firing alert, if one is open.
    firing_since: Option<f64>,
    /// When the last alert on this key resolved.
    resolved_at: Option<f64>,
}

/// Turns detector states into one alert per leak (see the module docs).
#[derive(Debug)]
pub struct Deduper {
    cooldown_s: f64,
    keys: HashMap<String, Vec<KeyState>>,
}

impl Deduper {
    pub fn new(cooldown_s: f64) -> Self {
        Deduper {
            cooldown_s: cooldown_s.max(0.0),
            keys: HashMap::new(),
        }
    }

    /// Feeds one judgement; returns an alert when one must be sent.
    pub fn observe(
        &mut self,
        target: &str,
        resource: Resource,
        a: &Assessment,
        now_s: f64,
    ) -> Option<Alert> {
        let leaking = a.state == LeakState::Leak;
        let keys = match self.keys.get_mut(target) {
            Some(k) => k,
            // Nothing to remember about a target that never leaked.
            None if !leaking => return None,
            None => self.keys.entry(target.to_string()).or_default(),
        };
        let k = match keys.iter().position(|k| k.resource == resource) {
            Some(i) => &mut keys[i],
            None if !leaking => return None,
            None => {
                keys.push(KeyState {
                    resource,
                    firing_since: None,
                    resolved_at: None,
                });
                keys.last_mut().expect("just pushed")
            }
        };
        match (leaking, k.firing_since) {
            (true, None) => {
                if k.resolved_at.is_some_and(|r| now_s - r < self.cooldown_s) {
                    return None;
                }
                k.firing_since = Some(now_s);
                Some(make(
                    target,
                    resource,
                    a,
                    AlertStatus::Firing,
                    now_s,
                    None,
                    a.evidence.reason.clone(),
                ))
            }
            (false, Some(since)) => {
                k.firing_since = None;
                k.resolved_at = Some(now_s);
                Some(make(
                    target,
                    resource,
                    a,
                    AlertStatus::Resolved,
                    since,
                    Some(now_s),
                    format!("state is now {}", a.state),
                ))
            }
            _ => None,
        }
    }

    /// The target ended: resolves its open alerts. Its cool-downs are kept
    /// (a restarted service joins its history) until they expire.
    pub fn target_ended(
        &mut self,
        target: &str,
        last: &[(Resource, Assessment)],
        now_s: f64,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        if let Some(keys) = self.keys.get_mut(target) {
            for k in keys.iter_mut() {
                if let Some(since) = k.firing_since.take() {
                    k.resolved_at = Some(now_s);
                    if let Some((_, a)) = last.iter().find(|(r, _)| *r == k.resource) {
                        out.push(make(
                            target,
                            k.resource,
                            a,
                            AlertStatus::Resolved,
                            since,
                            Some(now_s),
                            "target ended".into(),
                        ));
                    }
                }
            }
        }
        self.prune(now_s);
        out
    }

    /// Open alerts (firing) right now.
    pub fn firing(&self) -> usize {
        self.keys
            .values()
            .flatten()
            .filter(|k| k.firing_since.is_some())
            .count()
    }

    /// Forgets keys with nothing open and their cool-down over: memory stays
    /// bounded by live leaks.
    pub fn prune(&mut self, now_s: f64) {
        let cooldown = self.cooldown_s;
        self.keys.retain(|_, keys| {
            keys.retain(|k| {
                k.firing_since.is_some() || k.resolved_at.is_some_and(|r| now_s - r < cooldown)
            });
            !keys.is_empty()
        });
    }
}

fn make(
    target: &str,
    resource: Resource,
    a: &Assessment,
    status: AlertStatus,
    started_at_s: f64,
    ended_at_s: Option<f64>,
    reason: String,
) -> Alert {
    Alert {
        status,
        target: target.to_string(),
        resource: resource_label(resource),
        state: a.state,
        started_at_s,
        ended_at_s,
        current: a.current,
        growth_per_hour: a.rate_per_hour,
        time_to_limit_s: a.time_to_limit_s,
        limit: a.limit,
        reason,
        cause: None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot deliver to {url}: {reason}")]
    Http { url: String, reason: String },
    /// The receiver answered something that retrying cannot fix (a
    /// redirect): the alert is given up at once, with this reason logged.
    #[error("{url} refused the alert: {reason}")]
    Refused { url: String, reason: String },
    #[error("cannot write alert: {0}")]
    Io(#[from] std::io::Error),
}

/// Where alerts go. Called on the dispatcher's thread only.
pub trait Sink: Send + 'static {
    /// For error messages.
    fn describe(&self) -> String;
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError>;
}

/// One JSON object per line (stdout by default).
pub struct JsonLinesSink<W: Write + Send + 'static> {
    out: W,
}

impl JsonLinesSink<std::io::Stdout> {
    pub fn stdout() -> Self {
        JsonLinesSink {
            out: std::io::stdout(),
        }
    }
}

impl<W: Write + Send + 'static> JsonLinesSink<W> {
    pub fn new(out: W) -> Self {
        JsonLinesSink { out }
    }
}

impl<W: Write + Send + 'static> Sink for JsonLinesSink<W> {
    fn describe(&self) -> String {
        "JSON lines".into()
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let mut line =
            serde_json::to_vec(&JsonAlert::from(alert)).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.out.flush()?;
        Ok(())
    }
}

/// The JSON form of an alert for stdout and webhooks: the alert plus a
/// summary and the format's name.
#[derive(Serialize)]
struct JsonAlert<'a> {
    kind: &'static str,
    summary: String,
    #[serde(flatten)]
    alert: &'a Alert,
}

impl<'a> From<&'a Alert> for JsonAlert<'a> {
    fn from(alert: &'a Alert) -> Self {
        JsonAlert {
            kind: "leakwatch.alert.v1",
            summary: alert.summary(),
            alert,
        }
    }
}

/// A webhook or Alertmanager URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("alert URL `{url}` {reason}")]
pub struct InvalidUrl {
    pub url: String,
    pub reason: String,
}

/// Checks an alert receiver's URL at start-up: only `http://` and
/// `https://` with a host are accepted (`file:///etc/passwd`, `ftp://`, a
/// bare path or a typo fail here, not at the first alert, hours later).
pub fn validate_url(url: &str) -> Result<(), InvalidUrl> {
    let bad = |reason: &str| InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "holds spaces or control characters: give the receiver's URL as http://HOST:PORT/PATH",
        ));
    }
    // The scheme first: `file:///etc/passwd` is not even an HTTP URI.
    if let Some((scheme, _)) = url.split_once(':') {
        let scheme = scheme.to_ascii_lowercase();
        let looks_like_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic());
        if looks_like_scheme && scheme != "http" && scheme != "https" && url.contains("://") {
            return Err(bad(&format!(
                "has scheme `{scheme}`: alerts are sent over http:// or https:// only"
            )));
        }
    }
    let uri: ureq::http::Uri = url.parse().map_err(|e| {
        bad(&format!(
            "is not a URL ({e}): give the receiver's URL as http://HOST:PORT/PATH"
        ))
    })?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        Some(other) => {
            return Err(bad(&format!(
                "has scheme `{other}`: alerts are sent over http:// or https:// only"
            )))
        }
        None => {
            return Err(bad(
                "has no scheme: write it as http://HOST:PORT/PATH or https://...",
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("has no host: write it as http://HOST:PORT/PATH"));
    }
    Ok(())
}

/// The HTTP client of alert sinks. Redirects are not followed: a receiver
/// that answers 3xx is reported (with where it points) and the alert is
/// given up, because following it would send alert contents to a place
/// nobody configured, and a 301/302 would turn the POST into a GET.
fn http_agent(timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .build();
    ureq::Agent::new_with_config(config)
}

/// POSTs each alert as one JSON object.
pub struct WebhookSink {
    url: String,
    agent: ureq::Agent,
}

impl WebhookSink {
    pub fn new(url: &str, timeout: Duration) -> Self {
        WebhookSink {
            url: url.to_string(),
            agent: http_agent(timeout),
        }
    }
}

fn post(agent: &ureq::Agent, url: &str, body: Vec<u8>) -> Result<(), SinkError> {
    let resp = agent
        .post(url)
        .content_type("application/json")
        .send(&body[..])
        .map_err(|e| SinkError::Http {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    if resp.status().is_redirection() {
        let to = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("(no Location header)");
        return Err(SinkError::Refused {
            url: url.to_string(),
            reason: format!(
                "it answered {} redirecting to {to}; leakwatch does not follow redirects for alerts: configure the final URL",
                resp.status()
            ),
        });
    }
    Ok(())
}

impl Sink for WebhookSink {
    fn describe(&self) -> String {
        format!("webhook {}", self.url)
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let body = serde_json::to_vec(&JsonAlert::from(alert)).map_err(std::io::Error::other)?;
        post(&self.agent, &self.url, body)
    }
}

/// POSTs alerts in the Alertmanager API v2 format (`POST /api/v2/alerts`, a
/// JSON array of `{labels, annotations, startsAt, endsAt, generatorURL}`).
///
/// Alertmanager resolves an alert it has not heard of for `resolve_timeout`
/// (5 minutes by default); the agent re-sends firing alerts through
/// [`Alerting::resend_firing`] to keep them open.
pub struct AlertmanagerSink {
    url: String,
    agent: ureq::Agent,
    instance: String,
}

impl AlertmanagerSink {
    /// `base` is Alertmanager's base URL; `/api/v2/alerts` is appended unless
    /// already there.
    pub fn new(base: &str, timeout: Duration) -> Self {
        let base = base.trim_end_matches('/');
        let url = if base.ends_with("/api/v2/alerts") {
            base.to_string()
        } else {
            format!("{base}/api/v2/alerts")
        };
        AlertmanagerSink {
            url,
            agent: http_agent(timeout),
            instance: hostname(),
        }
    }

    /// The payload of one alert.
    pub fn payload(alert: &Alert, instance: &str) -> serde_json::Value {
        let mut a = serde_json::json!({
            "labels": {
                "alertname": "MemoryLeak",
                "severity": "warning",
                "target": alert.target,
                "resource": alert.resource,
                "instance": instance,
                "source": "leakwatch",
            },
            "annotations": {
                "summary": alert.summary(),
                "description": alert.reason,
                "growth_per_hour": format!("{}", alert.growth_per_hour),
                "current": format!("{}", alert.current),
            },
            "startsAt": rfc3339(alert.started_at_s),
        });
        if let Some(t) = alert.time_to_limit_s {
            a["annotations"]["time_to_limit_seconds"] = format!("{t:.0}").into();
        }
        if let Some(c) = &alert.cause {
            let lines: Vec<&str> = c.growing.iter().map(|g| g.summary.as_str()).collect();
            a["annotations"]["where"] = if lines.is_empty() {
                c.summary()
            } else {
                lines.join("\n")
            }
            .into();
            a["annotations"]["where_source"] = c.source.clone().into();
        }
        if let Some(end) = alert.ended_at_s {
            a["endsAt"] = rfc3339(end).into();
        }
        a
    }
}

impl Sink for AlertmanagerSink {
    fn describe(&self) -> String {
        format!("Alertmanager {}", self.url)
    }
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let body = serde_json::to_vec(&[Self::payload(alert, &self.instance)])
            .map_err(std::io::Error::other)?;
        post(&self.agent, &self.url, body)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Formats Unix seconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(unix_s: f64) -> String {
    let ms = (unix_s * 1000.0).round() as i64;
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// Queue and retry settings of a dispatcher.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Alerts waiting beyond this drop the oldest.
    pub queue_capacity: usize,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts per alert before it is given up (counted as failed).
    pub max_attempts: u32,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            queue_capacity: 256,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            max_attempts: 12,
        }
    }
}

/// Counters of one dispatcher.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    pub attempts: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

struct Shared {
    queue: Mutex<(VecDeque<Alert>, bool)>,
    wake: Condvar,
    stats: DeliveryStats,
}

/// A sink's delivery thread; see the module docs.
pub struct Dispatcher {
    shared: Arc<Shared>,
    capacity: usize,
    thread: Option<JoinHandle<()>>,
    describe: String,
    repeat_firing: bool,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("sink", &self.describe)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub fn spawn(sink: Box<dyn Sink>, cfg: DeliveryConfig) -> Dispatcher {
        let shared = Arc::new(Shared {
            queue: Mutex::new((VecDeque::with_capacity(cfg.queue_capacity.min(1024)), false)),
            wake: Condvar::new(),
            stats: DeliveryStats::default(),
        });
        let describe = sink.describe();
        let s = Arc::clone(&shared);
        let capacity = cfg.queue_capacity.max(1);
        let thread = std::thread::Builder::new()
            .name("leakwatch-alerts".into())
            .spawn(move || deliver_loop(sink, &s, &cfg))
            .expect("spawning the alert thread");
        Dispatcher {
            shared,
            capacity,
            thread: Some(thread),
            describe,
            repeat_firing: false,
        }
    }

    /// Marks this sink as one that needs firing alerts repeated (Alertmanager
    /// forgets alerts it has not heard of for its resolve_timeout).
    pub fn repeating(mut self) -> Self {
        self.repeat_firing = true;
        self
    }

    /// Queues an alert; never blocks on delivery. When the queue is full the
    /// oldest waiting alert is dropped and counted.
    pub fn send(&self, alert: Alert) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.0.len() >= self.capacity {
            q.0.pop_front();
            self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        q.0.push_back(alert);
        drop(q);
        self.shared.wake.notify_one();
    }

    pub fn stats(&self) -> &DeliveryStats {
        &self.shared.stats
    }

    /// Stops after delivering what is queued, waiting at most `grace`.
    pub fn shutdown(mut self, grace: Duration) {
        self.close(grace);
    }

    fn close(&mut self, grace: Duration) {
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.1 = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + grace;
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
            // Otherwise the thread is stuck retrying a dead receiver: leave
            // it; the process is exiting.
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.close(Duration::from_secs(2));
    }
}

fn deliver_loop(mut sink: Box<dyn Sink>, shared: &Shared, cfg: &DeliveryConfig) {
    loop {
        let alert = {
            let mut q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(a) = q.0.pop_front() {
                    break a;
                }
                if q.1 {
                    return;
                }
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let mut backoff = cfg.initial_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            shared.stats.attempts.fetch_add(1, Ordering::Relaxed);
            match sink.deliver(&alert) {
                Ok(()) => {
                    shared.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e @ SinkError::Refused { .. }) => {
                    shared.stats.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("leakwatch: alert not delivered: {e}");
                    break;
                }
                Err(e) if attempt >= cfg.max_attempts => {
                    shared.stats.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("leakwatch: giving up on an alert after {attempt} attempts: {e}");
                    break;
                }
                Err(_) => {
                    // Wait out the back-off (new alerts arriving do not cut
                    // it short); on shutdown, retry at a quick pace instead.
                    let q = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
                    if q.1 {
                        drop(q);
                        std::thread::sleep(backoff.min(Duration::from_millis(200)));
                    } else {
                        let _ = shared.wake.wait_timeout_while(q, backoff, |q| !q.1);
                    }
                    backoff = (backoff * 2).min(cfg.max_backoff);
                }
            }
        }
    }
}

/// The deduper and every sink's dispatcher together: what the agent calls.
#[derive(Debug)]
pub struct Alerting {
    dedup: Deduper,
    dispatchers: Vec<Dispatcher>,
    /// Firing alerts, to re-send to Alertmanager-style sinks.
    open: HashMap<(String, &'static str), Alert>,
}

impl Alerting {
    pub fn new(cooldown_s: f64, dispatchers: Vec<Dispatcher>) -> Self {
        Alerting {
            dedup: Deduper::new(cooldown_s),
            dispatchers,
            open: HashMap::new(),
        }
    }

    fn emit(&mut self, alert: Alert) {
        let key = (alert.target.clone(), alert.resource);
        match alert.status {
            AlertStatus::Firing => {
                self.open.insert(key, alert.clone());
            }
            AlertStatus::Resolved => {
                self.open.remove(&key);
            }
        }
        for d in &self.dispatchers {
            d.send(alert.clone());
        }
    }

    /// Feeds one judgement; returns the alert sent, if any.
    pub fn observe(
        &mut self,
        target: &str,
        resource: Resource,
        a: &Assessment,
        now_s: f64,
    ) -> Option<Alert> {
        let alert = self.dedup.observe(target, resource, a, now_s)?;
        self.emit(alert.clone());
        Some(alert)
    }

    /// Whether anything (an open alert or a cool-down) is kept for `target`:
    /// judgements of other targets need not be fed unless they leak.
    pub fn tracks(&self, target: &str) -> bool {
        self.dedup.keys.contains_key(target)
    }

    /// Attaches what `watch --where` found to the target's firing alerts
    /// and sends them again (Alertmanager updates the annotations of an
    /// alert it knows; webhooks get the same alert with `where`). Returns
    /// the alerts sent: none when they resolved meanwhile.
    pub fn attach_cause(&mut self, target: &str, cause: &AlertCause) -> Vec<Alert> {
        let mut sent = Vec::new();
        for ((t, _), alert) in self.open.iter_mut() {
            if t == target {
                alert.cause = Some(cause.clone());
                sent.push(alert.clone());
            }
        }
        for a in &sent {
            for d in &self.dispatchers {
                d.send(a.clone());
            }
        }
        sent
    }

    /// Resolves the open alerts of a target that ended.
    pub fn target_ended(
        &mut self,
        target: &str,
        last: &[(Resource, Assessment)],
        now_s: f64,
    ) -> Vec<Alert> {
        let alerts = self.dedup.target_ended(target, last, now_s);
        for a in &alerts {
            self.emit(a.clone());
        }
        alerts
    }

    /// Alerts dropped by full queues, over all sinks.
    pub fn dropped_total(&self) -> u64 {
        self.dispatchers
            .iter()
            .map(|d| d.stats().dropped.load(Ordering::Relaxed))
            .sum()
    }

    pub fn dispatchers(&self) -> &[Dispatcher] {
        &self.dispatchers
    }

    /// Sends every firing alert again to the sinks marked
    /// [`Dispatcher::repeating`]; call it every minute or so.
    pub fn resend_firing(&self) {
        for d in self.dispatchers.iter().filter(|d| d.repeat_firing) {
            for a in self.open.values() {
                d.send(a.clone());
            }
        }
    }

    /// Alerts currently firing.
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.open.values()
    }

    /// Stops every dispatcher after delivering what is queued (at most `grace` each).
    pub fn shutdown(self, grace: Duration) {
        for d in self.dispatchers {
            d.shutdown(grace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::Evidence;

    fn assessment(state: LeakState) -> Assessment {
        Assessment {
            state,
            samples: 100,
            duration_s: 100.0,
            current: 1e8,
            rate_per_hour: 3.6e8,
            rate_low_per_hour: 3e8,
            rate_high_per_hour: 4e8,
            first_alert_s: None,
            time_to_limit_s: Some(1800.0),
            limit: Some(1e9),
            limit_kind: None,
            evidence: Evidence {
                reason: "rising".into(),
                ..Evidence::default()
            },
        }
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        for ok in [
            "http://127.0.0.1:9093",
            "https://alerts.example.com/hook?x=1",
            "http://[::1]:8080/a",
        ] {
            assert!(validate_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("file:///etc/passwd", "scheme `file`"),
            ("ftp://host/x", "scheme `ftp`"),
            ("/var/run/hook", "no scheme"),
            ("127.0.0.1:9093", "scheme"),
            ("http://", "not a URL"),
            ("http://exa mple.com", "spaces"),
            ("gopher://x", "scheme `gopher`"),
        ] {
            let e = validate_url(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_redirect_is_refused_not_followed() {
        use std::io::Read;
        use std::net::TcpListener;
        // Where the redirect points: it must never be contacted.
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let elsewhere_addr = elsewhere.local_addr().unwrap();
        let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", redirector.local_addr().unwrap());
        let t = std::thread::spawn(move || {
            let (mut c, _) = redirector.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = write!(
                c,
                "HTTP/1.1 302 Found\r\nLocation: http://{elsewhere_addr}/stolen\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        });
        let mut sink = WebhookSink::new(&url, Duration::from_secs(5));
        let alert = make(
            "svc",
            Resource::RssBytes,
            &assessment(LeakState::Leak),
            AlertStatus::Firing,
            0.0,
            None,
            "r".into(),
        );
        let err = sink.deliver(&alert).unwrap_err();
        t.join().unwrap();
        assert!(matches!(err, SinkError::Refused { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("302") && msg.contains("/stolen"), "{msg}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            elsewhere.accept().is_err(),
            "the redirect was followed to {elsewhere_addr}"
        );
    }

    #[test]
    fn one_alert_per_leak_then_resolve_then_cooldown() {
        let mut d = Deduper::new(600.0);
        let leak = assessment(LeakState::Leak);
        let stable = assessment(LeakState::Stable);
        assert!(d.observe("a", Resource::RssBytes, &stable, 0.0).is_none());
        let fire = d.observe("a", Resource::RssBytes, &leak, 10.0).unwrap();
        assert_eq!(fire.status, AlertStatus::Firing);
        assert_eq!(fire.started_at_s, 10.0);
        for t in 11..100 {
            assert!(d
                .observe("a", Resource::RssBytes, &leak, t as f64)
                .is_none());
        }
        // Another resource of the same target is its own alert.
        assert!(d.observe("a", Resource::Fds, &leak, 50.0).is_some());
        let res = d.observe("a", Resource::RssBytes, &stable, 100.0).unwrap();
        assert_eq!(res.status, AlertStatus::Resolved);
        assert_eq!((res.started_at_s, res.ended_at_s), (10.0, Some(100.0)));
        // Within the cool-down a new leak is held back...
        assert!(d.observe("a", Resource::RssBytes, &leak, 200.0).is_none());
        // ... and fires once the cool-down is over if it still leaks.
        let again = d.observe("a", Resource::RssBytes, &leak, 701.0).unwrap();
        assert_eq!(again.status, AlertStatus::Firing);
        let ended = d.target_ended(
            "a",
            &[(Resource::RssBytes, leak.clone()), (Resource::Fds, leak)],
            800.0,
        );
        assert_eq!(ended.len(), 2);
        assert!(ended.iter().all(|a| a.reason == "target ended"));
        assert_eq!(d.firing(), 0);
        d.prune(10_000.0);
        assert!(d.keys.is_empty());
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400.5), "2000-02-29T00:00:00.500Z");
        assert_eq!(rfc3339(1_795_378_075.0), "2026-11-22T20:07:55.000Z");
    }

    #[test]
    fn alertmanager_payload_shape() {
        let mut d = Deduper::new(0.0);
        let fire = d
            .observe("svc", Resource::RssBytes, &assessment(LeakState::Leak), 0.0)
            .unwrap();
        let p = AlertmanagerSink::payload(&fire, "host1");
        assert_eq!(p["labels"]["alertname"], "MemoryLeak");
        assert_eq!(p["labels"]["target"], "svc");
        assert_eq!(p["labels"]["resource"], "rss");
        assert_eq!(p["startsAt"], "1970-01-01T00:00:00.000Z");
        assert!(p.get("endsAt").is_none());
        assert_eq!(p["annotations"]["time_to_limit_seconds"], "1800");
        let res = d.target_ended(
            "svc",
            &[(Resource::RssBytes, assessment(LeakState::Leak))],
            60.0,
        );
        let p = AlertmanagerSink::payload(&res[0], "host1");
        assert_eq!(p["endsAt"], "1970-01-01T00:01:00.000Z");
    }

    #[test]
    fn a_cause_rides_on_the_firing_alert_and_its_annotations() {
        let mut a = Alerting::new(0.0, vec![]);
        let fire = a
            .observe("svc", Resource::RssBytes, &assessment(LeakState::Leak), 1.0)
            .unwrap();
        assert!(fire.cause.is_none());
        let v = serde_json::to_value(JsonAlert::from(&fire)).unwrap();
        assert!(v.get("where").is_none());
        let cause = AlertCause {
            pid: 42,
            runtime: "jvm".into(),
            source: "JVM pid 42".into(),
            polls: 30,
            duration_s: 60.0,
            growing: vec![GrowingKey {
                metric: "instances".into(),
                key: "Svc$Session".into(),
                state: LeakState::Leak,
                current: 5000.0,
                growth_per_hour: 3.6e5,
                unit: "objects".into(),
                summary: "Svc$Session +360000 objects/h (leak)".into(),
            }],
            error: None,
        };
        assert!(a.attach_cause("other", &cause).is_empty());
        let sent = a.attach_cause("svc", &cause);
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].summary().contains("growing: Svc$Session"),
            "{}",
            sent[0].summary()
        );
        let v = serde_json::to_value(JsonAlert::from(&sent[0])).unwrap();
        assert_eq!(v["where"]["growing"][0]["key"], "Svc$Session");
        assert_eq!(v["where"]["growing"][0]["state"], "leak");
        let p = AlertmanagerSink::payload(&sent[0], "host1");
        assert_eq!(
            p["annotations"]["where"],
            "Svc$Session +360000 objects/h (leak)"
        );
        // Re-sent to Alertmanager with the cause.
        assert!(a.firing().all(|f| f.cause.is_some()));
        // Resolved: nothing left to attach to.
        a.target_ended(
            "svc",
            &[(Resource::RssBytes, assessment(LeakState::Leak))],
            2.0,
        );
        assert!(a.attach_cause("svc", &cause).is_empty());
    }

    /// A sink that always fails and counts its calls.
    struct Failing(Arc<AtomicU64>);
    impl Sink for Failing {
        fn describe(&self) -> String {
            "failing".into()
        }
        fn deliver(&mut self, _: &Alert) -> Result<(), SinkError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Err(SinkError::Io(std::io::Error::other("down")))
        }
    }

    #[test]
    fn full_queue_drops_oldest_and_send_never_blocks() {
        let calls = Arc::new(AtomicU64::new(0));
        let d = Dispatcher::spawn(
            Box::new(Failing(Arc::clone(&calls))),
            DeliveryConfig {
                queue_capacity: 4,
                initial_backoff: Duration::from_secs(30),
                max_backoff: Duration::from_secs(30),
                max_attempts: 3,
            },
        );
        let mut dd = Deduper::new(0.0);
        let alert = dd
            .observe("x", Resource::RssBytes, &assessment(LeakState::Leak), 0.0)
            .unwrap();
        let t0 = Instant::now();
        for _ in 0..1000 {
            d.send(alert.clone());
        }
        assert!(t0.elapsed() < Duration::from_secs(5));
        // One is being retried by the thread, 4 wait, the rest were dropped.
        std::thread::sleep(Duration::from_millis(100));
        let dropped = d.stats().dropped.load(Ordering::Relaxed);
        assert!((995..=996).contains(&dropped), "{dropped}");
        assert!(calls.load(Ordering::Relaxed) >= 1);
    }

    #[test]
    fn json_lines_sink_writes_one_object_per_line() {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let d = Dispatcher::spawn(
            Box::new(JsonLinesSink::new(buf.clone())),
            DeliveryConfig::default(),
        );
        let mut a = Alerting::new(0.0, vec![d]);
        a.observe("t", Resource::RssBytes, &assessment(LeakState::Leak), 1.0);
        a.observe("t", Resource::RssBytes, &assessment(LeakState::Leak), 2.0);
        a.target_ended(
            "t",
            &[(Resource::RssBytes, assessment(LeakState::Leak))],
            3.0,
        );
        a.shutdown(Duration::from_secs(5));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["status"], "firing");
        assert_eq!(lines[0]["kind"], "leakwatch.alert.v1");
        assert_eq!(lines[1]["status"], "resolved");
        assert_eq!(lines[1]["reason"], "target ended");
    }
}
