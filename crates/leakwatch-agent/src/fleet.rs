//! Fleet analysis over an existing Prometheus: pull every series a PromQL
//! query matches over a range (`/api/v1/query_range`), feed each through its
//! own [`leakwatch_core::Detector`], and rank the leaking ones.
//!
//! Prometheus refuses a range query of more than 11,000 points per series,
//! so long ranges are split into consecutive chunks on the same step grid.
//! Chunks arrive in time order and are fed to the detectors as they come, so
//! memory is bounded by the number of series, not by the range.
//!
//! Restarts: each series' start time (`process_start_time_seconds`,
//! `container_start_time_seconds`, or any `--start-query`) is pulled over the
//! same grid. A change of start time is a restart: the detector is told, so
//! each lifetime is judged on its own and the same climb in several
//! lifetimes is a leak. Series that differ only in labels naming one
//! instance ([`INSTANCE_LABELS`]: a container's id and runtime name change
//! on every restart) and carry a start time are one service's lifetimes,
//! joined into one history in start-time order.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use leakwatch_core::{Detector, DetectorConfig, LeakState};

use crate::redact::{redact_url, scrub, url_password};
use serde::{Deserialize, Serialize};

/// Prometheus' own limit on points per series in one range query.
pub const PROMETHEUS_MAX_POINTS: u64 = 11_000;
/// Points asked for per chunk: under the limit, with room for rounding.
pub const CHUNK_POINTS: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("`{0}` is not a Prometheus URL: use http://HOST:PORT (the server's base URL, without /api/v1)")]
    BadUrl(String),
    #[error("cannot reach Prometheus at {url}: {reason}. Check the URL and that the server is up")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus rejected the query ({error_type}): {error}")]
    Query { error_type: String, error: String },
    #[error("Prometheus at {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error("unexpected answer from {url}: {reason} (is this a Prometheus server?)")]
    BadResponse { url: String, reason: String },
    #[error("bad range: {0}")]
    BadRange(String),
}

/// Labels that name one instance of a service rather than the service:
/// cAdvisor's container `id` and runtime `name` change on every restart.
pub const INSTANCE_LABELS: &[&str] = &["id", "name", "container_id", "image_id", "pid"];

/// The start-time query used unless another is given: the process
/// collectors' and cAdvisor's start times.
pub const DEFAULT_START_QUERY: &str = "process_start_time_seconds or container_start_time_seconds";

/// What to analyze.
#[derive(Debug, Clone)]
pub struct FleetQuery {
    /// Base URL of the Prometheus server, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    pub query: String,
    /// Unix seconds.
    pub start_s: f64,
    pub end_s: f64,
    pub step_s: f64,
    /// Season override for the detector (None: chosen from the step).
    pub season_s: Option<f64>,
    /// PromQL giving each series' limit (matched on labels other than
    /// `__name__`), for time-to-limit; e.g. `container_spec_memory_limit_bytes`.
    pub limit_query: Option<String>,
    /// PromQL giving each series' start time (Unix seconds), matched on
    /// labels other than `__name__`; a change marks a restart. `None`: no
    /// identity, restarts are only found in the data.
    pub start_query: Option<String>,
    pub timeout: Duration,
}

/// The verdict on a series, or on the whole query: as every leakwatch
/// report, data too short to judge is never "ok".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetVerdict {
    Leak,
    Ok,
    NotJudged,
}

/// What a series' values are: bytes when the metric says so by its name
/// (Prometheus' naming convention: a `_bytes` suffix), else plain values
/// (`up`, a count), shown as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    Value,
}

impl Unit {
    /// The unit of a series: its `__name__`, or, for an expression whose
    /// result has none (`sum by (pod) (...)`), the metric names in the query.
    pub fn of(labels: &BTreeMap<String, String>, query: &str) -> Unit {
        let bytes = |name: &str| name.ends_with("_bytes");
        let by_name = match labels.get("__name__") {
            Some(name) => bytes(name),
            None => query
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .any(bytes),
        };
        if by_name {
            Unit::Bytes
        } else {
            Unit::Value
        }
    }

    /// An amount in this unit, for people: `1.5 MiB`, or `1`, `0.25`.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Bytes => leakwatch_core::format::bytes(v),
            Unit::Value => show_value(v),
        }
    }
}

/// A plain value, short: integers as such, others with up to 4 significant
/// digits, very large or small ones in exponent form.
fn show_value(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let magnitude = v.abs();
    if !(1e-3..1e6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The judgement of one series.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesResult {
    /// The series in PromQL selector form: `name{label="value",...}`.
    pub series: String,
    pub labels: BTreeMap<String, String>,
    /// `leak` (an alert at any point of the range), `ok`, or `not_judged`
    /// (too little data: no growth figures).
    pub verdict: FleetVerdict,
    /// Whether the detector alerted at any point of the range.
    pub leaking: bool,
    /// State at the end of the range.
    pub state: LeakState,
    pub samples: u64,
    pub duration_s: f64,
    pub unit: Unit,
    pub current: f64,
    /// Unknown (None) when the series was not judged.
    pub growth_per_hour: Option<f64>,
    pub growth_per_hour_ci: Option<[f64; 2]>,
    /// Seconds from the start of the analysed range to the first leak alert.
    pub first_alert_s: Option<f64>,
    /// The same as a Unix time.
    pub first_alert_unix_s: Option<f64>,
    pub limit: Option<f64>,
    pub time_to_limit_s: Option<f64>,
    /// Restarts seen: known from the start time, or found in the data.
    pub restarts: u64,
    /// Distinct start times seen (lifetimes known from the identity; 0
    /// when the series has no start time).
    pub instances: u64,
    /// Series joined into this history (more than one when an instance
    /// label changed across restarts).
    pub joined_series: usize,
    pub reason: String,
}

/// The ranked answer.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// `leak` when any series leaks; `not_judged` when no series could be
    /// judged (none matched, or all too short); else `ok`.
    pub verdict: FleetVerdict,
    /// The server, its password hidden.
    pub prometheus: String,
    pub query: String,
    pub start_s: f64,
    pub end_s: f64,
    pub step_s: f64,
    /// Range queries made (one per chunk).
    pub chunks: usize,
    pub series_count: usize,
    pub leaking_count: usize,
    /// Series with too little data to judge.
    pub not_judged_count: usize,
    /// Prometheus' warnings (a partial answer, e.g. a store that did not
    /// answer) and infos: when any, the data may be incomplete.
    pub warnings: Vec<String>,
    /// Leaking series first, soonest to hit their limit first, then by growth.
    pub results: Vec<SeriesResult>,
}

/// Splits `[start, end]` into chunks of at most [`CHUNK_POINTS`] points on
/// the grid `start + k * step`, each chunk starting one step after the last.
pub fn chunks(start_s: f64, end_s: f64, step_s: f64) -> Result<Vec<(f64, f64)>, FleetError> {
    if !(step_s.is_finite() && step_s > 0.0) {
        return Err(FleetError::BadRange(format!(
            "step must be positive, got {step_s}"
        )));
    }
    if !(start_s.is_finite() && end_s.is_finite()) || end_s < start_s {
        return Err(FleetError::BadRange(format!(
            "the range must end after it starts ({start_s} .. {end_s})"
        )));
    }
    let total_steps = ((end_s - start_s) / step_s).floor() as u64;
    if total_steps > 100_000_000 {
        return Err(FleetError::BadRange(format!(
            "{total_steps} points per series is too many: use a longer --step"
        )));
    }
    let per = CHUNK_POINTS - 1;
    let mut out = Vec::new();
    let mut k = 0u64;
    loop {
        let last = (k + per).min(total_steps);
        out.push((start_s + k as f64 * step_s, start_s + last as f64 * step_s));
        if last >= total_steps {
            break;
        }
        k = last + 1;
    }
    Ok(out)
}

/// One series of a Prometheus matrix answer.
#[derive(Debug, Deserialize)]
struct MatrixSeries {
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Debug, Deserialize)]
struct ApiResponse<T> {
    status: String,
    data: Option<ApiData<T>>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    /// Prometheus' warnings (e.g. a partial answer) and infos, since 2.x/3.x.
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ApiData<T> {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<T>,
}

/// Prometheus sample values are strings: numbers, `NaN`, `+Inf`, `-Inf`.
fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}

/// Formats labels as a PromQL selector, `__name__` first.
pub fn selector(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", rest.join(","))
    }
}

/// Labels without `__name__`: how a limit series is matched to a usage series.
fn identity(labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in labels {
        if k != "__name__" {
            out.push_str(k);
            out.push('\u{1}');
            out.push_str(v);
            out.push('\u{2}');
        }
    }
    out
}

/// Parses a Prometheus HTTP API answer (`status`, then `data.result` of the
/// `expect`ed type, or Prometheus' `errorType`/`error`). Untrusted input.
/// A successful answer's result and the warnings and infos that came with it.
struct Answer<T> {
    result: Vec<T>,
    notes: Vec<String>,
}

fn parse_answer<T: for<'de> Deserialize<'de>>(
    url: &str,
    status: u16,
    body: &[u8],
    expect: &str,
) -> Result<Answer<T>, FleetError> {
    let parsed: ApiResponse<T> = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            if status != 200 {
                let text = String::from_utf8_lossy(body);
                return Err(FleetError::Http {
                    url: url.to_string(),
                    status,
                    body: text.chars().take(300).collect(),
                });
            }
            return Err(FleetError::BadResponse {
                url: url.to_string(),
                reason: format!("not Prometheus API JSON ({e})"),
            });
        }
    };
    if parsed.status != "success" {
        return Err(FleetError::Query {
            error_type: parsed.error_type.unwrap_or_else(|| "error".into()),
            error: parsed.error.unwrap_or_else(|| format!("HTTP {status}")),
        });
    }
    let data = parsed.data.ok_or_else(|| FleetError::BadResponse {
        url: url.to_string(),
        reason: "no data in a successful answer".into(),
    })?;
    if data.result_type != expect {
        return Err(FleetError::BadResponse {
            url: url.to_string(),
            reason: format!(
                "expected a {expect} result, got a {} (use a query that returns an instant vector, e.g. a metric name with label matchers)",
                data.result_type
            ),
        });
    }
    // A partial answer must not pass as complete: the warnings are kept
    // for the report. Infos are notes (e.g. a counter-looking name).
    let notes = parsed
        .warnings
        .into_iter()
        .chain(parsed.infos.into_iter().map(|i| format!("info: {i}")))
        .collect();
    Ok(Answer {
        result: data.result,
        notes,
    })
}

/// Parses a `query_range` answer into (labels, samples) per series; for
/// fuzzing and tests.
pub fn parse_matrix(body: &[u8]) -> Result<Vec<LabelledSeries>, FleetError> {
    let series: Vec<MatrixSeries> = parse_answer("-", 200, body, "matrix")?.result;
    Ok(series
        .into_iter()
        .map(|s| {
            let points = s.values.iter().map(|(t, v)| (*t, parse_value(v))).collect();
            (s.metric, points)
        })
        .collect())
}

/// A series' labels and its (time, value) points.
pub type LabelledSeries = (BTreeMap<String, String>, Vec<(f64, f64)>);

/// A series' labels and one value.
pub type Labelled = (BTreeMap<String, String>, f64);

/// A small Prometheus HTTP API client.
#[derive(Debug)]
pub struct Prometheus {
    base: String,
    /// The base URL as it may be shown: its password hidden.
    shown: String,
    /// The password given in the URL, scrubbed from any message quoting it.
    secret: Option<String>,
    /// Warnings and infos Prometheus sent with its answers.
    notes: std::sync::Mutex<Vec<String>>,
    agent: ureq::Agent,
}

/// Answers larger than this are refused rather than read into memory.
const MAX_BODY: u64 = 1 << 30;

impl Prometheus {
    /// Warnings and infos of every answer so far, each once, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub fn new(url: &str, timeout: Duration) -> Result<Prometheus, FleetError> {
        let base = url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/api/v1").unwrap_or(base).to_string();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.len() <= "https://".len()
        {
            return Err(FleetError::BadUrl(redact_url(url)));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build();
        Ok(Prometheus {
            shown: redact_url(&base),
            secret: url_password(&base),
            notes: Default::default(),
            base,
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// Whether the server answers its readiness endpoint (`/-/ready`).
    pub fn ready(&self) -> bool {
        self.agent
            .get(format!("{}/-/ready", self.base))
            .call()
            .is_ok_and(|r| r.status() == 200)
    }

    /// The base URL to show: with its password hidden (`user:xxxxx@`).
    pub fn base_url(&self) -> &str {
        &self.shown
    }

    /// `text` without the URL's password.
    fn hide(&self, text: &str) -> String {
        scrub(text, self.secret.as_deref())
    }

    fn get<T: for<'de> Deserialize<'de>>(
        &self,
        endpoint: &str,
        params: &[(&str, String)],
        expect: &str,
    ) -> Result<Vec<T>, FleetError> {
        let url = format!("{}{}", self.base, endpoint);
        let mut req = self.agent.get(&url);
        for (k, v) in params {
            req = req.query(*k, v);
        }
        let mut resp = req.call().map_err(|e| FleetError::Unreachable {
            url: self.shown.clone(),
            reason: self.hide(&e.to_string()),
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| FleetError::Unreachable {
                url: self.shown.clone(),
                reason: self.hide(&format!("reading the answer failed: {e}")),
            })?;
        let shown = format!("{}{}", self.shown, endpoint);
        let answer = parse_answer(&shown, status, &body, expect).map_err(|e| self.hide_in(e))?;
        if let Ok(mut notes) = self.notes.lock() {
            for note in answer.notes {
                let note = self.hide(&note);
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
        Ok(answer.result)
    }

    /// The error with the URL's password scrubbed from every text in it
    /// (a server may echo the request back).
    fn hide_in(&self, e: FleetError) -> FleetError {
        match e {
            FleetError::Query { error_type, error } => FleetError::Query {
                error_type: self.hide(&error_type),
                error: self.hide(&error),
            },
            FleetError::Http { url, status, body } => FleetError::Http {
                url: self.hide(&url),
                status,
                body: self.hide(&body),
            },
            FleetError::BadResponse { url, reason } => FleetError::BadResponse {
                url: self.hide(&url),
                reason: self.hide(&reason),
            },
            other => other,
        }
    }

    /// One `/api/v1/query_range` call.
    fn query_range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<MatrixSeries>, FleetError> {
        self.get(
            "/api/v1/query_range",
            &[
                ("query", query.to_string()),
                ("start", format!("{start:.3}")),
                ("end", format!("{end:.3}")),
                ("step", format!("{step}")),
            ],
            "matrix",
        )
    }

    /// One `/api/v1/query` call at `time` (Unix seconds): each series'
    /// labels and value.
    pub fn query_instant(&self, query: &str, time: f64) -> Result<Vec<Labelled>, FleetError> {
        let v: Vec<VectorSample> = self.get(
            "/api/v1/query",
            &[("query", query.to_string()), ("time", format!("{time:.3}"))],
            "vector",
        )?;
        Ok(v.into_iter()
            .map(|s| (s.metric, parse_value(&s.value.1)))
            .collect())
    }
}

struct Tracked {
    /// Labels of the newest instance.
    labels: BTreeMap<String, String>,
    detector: Detector,
    limit: Option<f64>,
    /// Start time of the current lifetime, when known.
    start_s: Option<f64>,
    instances: u64,
    members: std::collections::BTreeSet<String>,
}

/// Start times per series identity, over one chunk: (time, start) sorted.
type StartTimes = HashMap<String, Vec<(f64, f64)>>;

fn start_times(
    prom: &Prometheus,
    query: &str,
    start: f64,
    end: f64,
    step: f64,
) -> Result<StartTimes, FleetError> {
    let mut out = StartTimes::new();
    for s in prom.query_range(query, start, end, step)? {
        let mut points: Vec<(f64, f64)> = s
            .values
            .iter()
            .map(|(t, v)| (*t, parse_value(v)))
            .filter(|(t, v)| t.is_finite() && v.is_finite())
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.entry(identity(&s.metric)).or_default().extend(points);
    }
    Ok(out)
}

/// The start time in force at `t`: the latest one at or before it.
fn start_at(points: &[(f64, f64)], t: f64) -> Option<f64> {
    let i = points.partition_point(|p| p.0 <= t);
    i.checked_sub(1).map(|i| points[i].1)
}

/// The key of the history a series belongs to: its labels, without the
/// instance labels when its start time is known (so a restarted
/// container's new series continues the old one's history).
fn history_key(labels: &BTreeMap<String, String>, joined: bool) -> String {
    let mut out = String::new();
    for (k, v) in labels {
        if joined && INSTANCE_LABELS.contains(&k.as_str()) {
            continue;
        }
        out.push_str(k);
        out.push('\u{1}');
        out.push_str(v);
        out.push('\u{2}');
    }
    out
}

/// One point of a history: (time, start time or NaN, value).
type Point = (f64, f64, f64);

/// Feeds one chunk of a history's points (from one or more series) to its
/// detector in time order. At a time two instances both answer (the old
/// one's last sample is still within Prometheus' lookback), the newer one
/// is the live one; a newer start time than the current lifetime's is a
/// restart, an older one a stale sample of an ended instance.
fn feed(t: &mut Tracked, points: &mut [Point]) {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for i in 0..points.len() {
        if points.get(i + 1).is_some_and(|n| n.0 == points[i].0) {
            continue;
        }
        let (ts, start, v) = points[i];
        if start.is_finite() {
            match t.start_s {
                Some(current) if start < current - 1e-3 => continue,
                Some(current) if start > current + 1e-3 => {
                    t.detector.restart();
                    t.instances += 1;
                    t.start_s = Some(start);
                }
                Some(_) => {}
                None => {
                    t.instances += 1;
                    t.start_s = Some(start);
                }
            }
        }
        // The detector ignores NaN and repeated timestamps itself.
        t.detector.push(ts, v);
    }
}

/// Pulls the range chunk by chunk, judges every series and ranks them.
pub fn analyze(q: &FleetQuery) -> Result<FleetReport, FleetError> {
    let prom = Prometheus::new(&q.url, q.timeout)?;
    let spans = chunks(q.start_s, q.end_s, q.step_s)?;
    let mut cfg = DetectorConfig::for_interval(q.step_s);
    if let Some(season) = q.season_s {
        cfg.season_s = season;
    }
    let mut tracked: HashMap<String, Tracked> = HashMap::new();
    for &(start, end) in &spans {
        let starts = match &q.start_query {
            Some(sq) => start_times(&prom, sq, start, end, q.step_s)?,
            None => StartTimes::new(),
        };
        // This chunk's points, per history (one or more series).
        let mut chunk: HashMap<String, (BTreeMap<String, String>, Vec<Point>)> = HashMap::new();
        for s in prom.query_range(&q.query, start, end, q.step_s)? {
            let started = starts.get(&identity(&s.metric));
            let key = history_key(&s.metric, started.is_some());
            let member = identity(&s.metric);
            let points: Vec<Point> = s
                .values
                .iter()
                .map(|(ts, v)| {
                    let st = started.and_then(|p| start_at(p, *ts));
                    (*ts, st.unwrap_or(f64::NAN), parse_value(v))
                })
                .collect();
            let newest = points.last().map_or(f64::NAN, |p| p.1);
            let entry = chunk
                .entry(key.clone())
                .or_insert_with(|| (s.metric.clone(), Vec::new()));
            let entry_newest = entry.1.iter().map(|p| p.1).fold(f64::NAN, f64::max);
            if newest > entry_newest {
                entry.0 = s.metric.clone();
            }
            entry.1.extend(points);
            let t = tracked.entry(key).or_insert_with(|| Tracked {
                labels: s.metric.clone(),
                detector: Detector::new(cfg.clone()),
                limit: None,
                start_s: None,
                instances: 0,
                members: Default::default(),
            });
            t.members.insert(member);
        }
        for (key, (labels, mut points)) in chunk {
            if let Some(t) = tracked.get_mut(&key) {
                t.labels = labels;
                feed(t, &mut points);
            }
        }
    }
    if let Some(lq) = &q.limit_query {
        let limits: HashMap<String, f64> = prom
            .query_instant(lq, q.end_s)?
            .into_iter()
            .map(|(labels, v)| (identity(&labels), v))
            .collect();
        for t in tracked.values_mut() {
            // cAdvisor reports "no limit" as 0.
            t.limit = limits
                .get(&identity(&t.labels))
                .copied()
                .filter(|l| l.is_finite() && *l > 0.0);
        }
    }
    let mut results: Vec<SeriesResult> = tracked
        .into_values()
        .filter(|t| t.detector.samples() > 0)
        .map(|t| {
            let unit = Unit::of(&t.labels, &q.query);
            let mut r = result_of(t.labels, &t.detector, t.limit, unit, q, &cfg);
            r.instances = t.instances;
            r.joined_series = t.members.len();
            r
        })
        .collect();
    rank(&mut results);
    let count = |v: FleetVerdict| results.iter().filter(|r| r.verdict == v).count();
    let (leaking_count, not_judged_count) =
        (count(FleetVerdict::Leak), count(FleetVerdict::NotJudged));
    Ok(FleetReport {
        verdict: if leaking_count > 0 {
            FleetVerdict::Leak
        } else if not_judged_count == results.len() {
            FleetVerdict::NotJudged
        } else {
            FleetVerdict::Ok
        },
        prometheus: prom.base_url().to_string(),
        query: q.query.clone(),
        start_s: q.start_s,
        end_s: q.end_s,
        step_s: q.step_s,
        chunks: spans.len(),
        series_count: results.len(),
        leaking_count,
        not_judged_count,
        warnings: prom.warnings(),
        results,
    })
}

fn result_of(
    labels: BTreeMap<String, String>,
    d: &Detector,
    limit: Option<f64>,
    unit: Unit,
    q: &FleetQuery,
    cfg: &DetectorConfig,
) -> SeriesResult {
    let a = d.assessment();
    let leaking = a.first_alert_s.is_some();
    let judged = a.judged();
    let restarts = d.lifetimes_ended();
    let reason = if judged {
        a.evidence.reason
    } else {
        not_judged_reason(a.samples, a.duration_s, restarts, q.step_s, cfg)
    };
    // The limit is known only after the range was read, so time-to-limit is
    // computed here the way the detector computes it.
    let time_to_limit_s = match (limit, a.state) {
        (Some(l), LeakState::Leak | LeakState::Growing) if a.rate_per_hour > 0.0 => {
            Some((l - a.current).max(0.0) / a.rate_per_hour * 3600.0)
        }
        _ => None,
    };
    SeriesResult {
        series: selector(&labels),
        labels,
        verdict: if leaking {
            FleetVerdict::Leak
        } else if judged {
            FleetVerdict::Ok
        } else {
            FleetVerdict::NotJudged
        },
        leaking,
        state: a.state,
        samples: a.samples,
        duration_s: a.duration_s,
        unit,
        current: a.current,
        growth_per_hour: judged.then_some(a.rate_per_hour),
        growth_per_hour_ci: judged.then_some([a.rate_low_per_hour, a.rate_high_per_hour]),
        // The detector is fed Unix times; every other report counts from
        // the start of what was analysed.
        first_alert_s: a.first_alert_s.map(|t| t - q.start_s),
        first_alert_unix_s: a.first_alert_s,
        limit,
        time_to_limit_s,
        restarts,
        instances: 0,
        joined_series: 1,
        reason,
    }
}

/// Why a series was not judged, in words, with what would help.
fn not_judged_reason(
    samples: u64,
    duration_s: f64,
    restarts: u64,
    step_s: f64,
    cfg: &DetectorConfig,
) -> String {
    use leakwatch_core::format::duration;
    let why = leakwatch_core::too_short_to_judge(samples, duration_s, restarts, cfg);
    if restarts == 0 {
        return format!("too little data to judge: {why}: widen --range");
    }
    format!(
        "too little data to judge: {why}; a shorter --step gives each lifetime more samples if Prometheus scrapes that often ({} samples take {} at a {} step)",
        cfg.min_samples,
        duration(cfg.min_samples as f64 * step_s),
        duration(step_s),
    )
}

/// Leaking first; among them the soonest to reach their limit, then the
/// fastest growing; the rest by growth.
pub fn rank(results: &mut [SeriesResult]) {
    results.sort_by(|a, b| {
        b.leaking
            .cmp(&a.leaking)
            .then_with(|| match (a.time_to_limit_s, b.time_to_limit_s) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| {
                let growth = |r: &SeriesResult| r.growth_per_hour.unwrap_or(f64::NEG_INFINITY);
                growth(b).total_cmp(&growth(a))
            })
            .then_with(|| a.series.cmp(&b.series))
    });
}

/// The text report.
pub fn render_text(r: &FleetReport) -> String {
    use leakwatch_core::format::{duration, utc};
    use std::fmt::Write as _;
    let mut out = String::new();
    let not_judged = match r.not_judged_count {
        0 => String::new(),
        n => format!(", {n} not judged (too little data)"),
    };
    let _ = writeln!(
        out,
        "{} series from {} over {} at {} step ({} range {}): {} leaking{not_judged}",
        r.series_count,
        r.prometheus,
        duration(r.end_s - r.start_s),
        duration(r.step_s),
        r.chunks,
        if r.chunks == 1 { "query" } else { "queries" },
        r.leaking_count,
    );
    if r.results.is_empty() {
        let _ = writeln!(
            out,
            "the query matched no series with samples from {} to {}",
            utc(r.start_s),
            utc(r.end_s)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<4} {:<10} {:>12} {:>14} {:>14}  series",
        "rank", "state", "now", "growth/h", "time-to-limit"
    );
    for (i, s) in r.results.iter().enumerate() {
        let state = if s.leaking && s.state != LeakState::Leak {
            format!("{}*", s.state)
        } else {
            s.state.to_string()
        };
        let _ = writeln!(
            out,
            "{:<4} {:<10} {:>12} {:>14} {:>14}  {}{}",
            i + 1,
            if s.leaking {
                state.to_uppercase()
            } else {
                state
            },
            s.unit.show(s.current),
            s.growth_per_hour
                .map_or("-".to_string(), |g| format!("{}/h", s.unit.show(g))),
            s.time_to_limit_s.map_or("-".to_string(), duration),
            s.series,
            match s.restarts {
                0 => String::new(),
                1 => "  (1 restart)".to_string(),
                n => format!("  ({n} restarts)"),
            }
        );
    }
    if r.results
        .iter()
        .any(|s| s.leaking && s.state != LeakState::Leak)
    {
        let _ = writeln!(
            out,
            "\n* leaked during the range, no longer growing at its end"
        );
    }
    // Why each unjudged series was not judged; a few, the rest counted.
    const SHOWN: usize = 10;
    let unjudged: Vec<&SeriesResult> = r
        .results
        .iter()
        .filter(|s| s.verdict == FleetVerdict::NotJudged)
        .collect();
    if !unjudged.is_empty() {
        let _ = writeln!(out, "\nnot judged:");
        for s in unjudged.iter().take(SHOWN) {
            let _ = writeln!(out, "  {}: {}", s.series, s.reason);
        }
        if unjudged.len() > SHOWN {
            let _ = writeln!(out, "  ... and {} more", unjudged.len() - SHOWN);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_on_the_step_grid_under_the_limit() {
        let c = chunks(0.0, 3.0 * 86400.0, 15.0).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0], (0.0, 9999.0 * 15.0));
        assert_eq!(c[1].0, 10000.0 * 15.0);
        assert_eq!(c[1].1, 3.0 * 86400.0);
        for (s, e) in &c {
            assert!((((e - s) / 15.0) as u64) < PROMETHEUS_MAX_POINTS);
        }
        assert_eq!(chunks(100.0, 100.0, 60.0).unwrap(), vec![(100.0, 100.0)]);
        assert!(chunks(10.0, 0.0, 1.0).is_err());
        assert!(chunks(0.0, 10.0, 0.0).is_err());
    }

    #[test]
    fn answers_and_errors_parse() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"m","pod":"a"},"values":[[1.5,"10"],[2.5,"NaN"]]}]}}"#;
        let m = parse_matrix(ok).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0["pod"], "a");
        assert_eq!(m[0].1[0], (1.5, 10.0));
        assert!(m[0].1[1].1.is_nan());
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        let e = parse_answer::<MatrixSeries>("u", 400, bad, "matrix")
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "Prometheus rejected the query (bad_data): parse error at char 5"
        );
        let e = parse_answer::<MatrixSeries>("u", 502, b"<html>bad gateway</html>", "matrix")
            .err()
            .unwrap();
        assert!(matches!(e, FleetError::Http { status: 502, .. }), "{e}");
        let vec = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        let e = parse_matrix(vec).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected a matrix result, got a vector"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_answers_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_matrix(&body);
        }

        #[test]
        fn chunks_always_cover_the_range(start in 0f64..1e9, len in 0f64..1e7, step in 1f64..3600.0) {
            let c = chunks(start, start + len, step).unwrap();
            proptest::prop_assert_eq!(c[0].0, start);
            for w in c.windows(2) {
                proptest::prop_assert!((w[1].0 - (w[0].1 + step)).abs() < 1e-6 * step.max(1.0) * 1e3);
            }
            for (s, e) in &c {
                proptest::prop_assert!((((e - s) / step).round() as u64) < CHUNK_POINTS);
            }
            proptest::prop_assert!(start + len - c.last().unwrap().1 < step);
        }
    }

    #[test]
    fn selector_and_values() {
        let mut l = BTreeMap::new();
        l.insert("__name__".to_string(), "mem".to_string());
        l.insert("pod".to_string(), "a\"b".to_string());
        assert_eq!(selector(&l), "mem{pod=\"a\\\"b\"}");
        assert!(parse_value("NaN").is_nan());
        assert_eq!(parse_value("+Inf"), f64::INFINITY);
        assert_eq!(parse_value("1e3"), 1000.0);
    }

    #[test]
    fn ranking_puts_soonest_leak_first() {
        let mk = |name: &str, leaking, ttl: Option<f64>, g: f64| SeriesResult {
            series: name.into(),
            labels: BTreeMap::new(),
            verdict: if leaking {
                FleetVerdict::Leak
            } else {
                FleetVerdict::Ok
            },
            leaking,
            state: if leaking {
                LeakState::Leak
            } else {
                LeakState::Stable
            },
            samples: 1,
            duration_s: 1.0,
            unit: Unit::Bytes,
            current: 0.0,
            growth_per_hour: Some(g),
            growth_per_hour_ci: Some([g, g]),
            first_alert_s: None,
            first_alert_unix_s: None,
            limit: None,
            time_to_limit_s: ttl,
            restarts: 0,
            instances: 0,
            joined_series: 1,
            reason: String::new(),
        };
        let mut v = vec![
            mk("ok", false, None, 1e9),
            mk("slow", true, None, 10.0),
            mk("late", true, Some(1e6), 1.0),
            mk("soon", true, Some(10.0), 1.0),
            mk("fast", true, None, 1e6),
        ];
        rank(&mut v);
        let order: Vec<&str> = v.iter().map(|r| r.series.as_str()).collect();
        assert_eq!(order, ["soon", "late", "fast", "slow", "ok"]);
    }

    #[test]
    fn text_report_ranks_and_marks_leaks() {
        let mut labels = BTreeMap::new();
        labels.insert("__name__".to_string(), "mem".to_string());
        labels.insert("pod".to_string(), "api".to_string());
        let leak = SeriesResult {
            series: selector(&labels),
            labels,
            verdict: FleetVerdict::Leak,
            leaking: true,
            state: LeakState::Leak,
            samples: 100,
            duration_s: 6000.0,
            unit: Unit::Bytes,
            current: 512.0 * 1024.0 * 1024.0,
            growth_per_hour: Some(40.0 * 1024.0 * 1024.0),
            growth_per_hour_ci: Some([0.0, 0.0]),
            first_alert_s: Some(1.0),
            first_alert_unix_s: Some(1.0),
            limit: Some(1024.0 * 1024.0 * 1024.0),
            time_to_limit_s: Some(12.8 * 3600.0),
            restarts: 0,
            instances: 0,
            joined_series: 1,
            reason: String::new(),
        };
        let report = FleetReport {
            verdict: FleetVerdict::Leak,
            prometheus: "http://p:9090".into(),
            query: "mem".into(),
            start_s: 0.0,
            end_s: 3.0 * 86400.0,
            step_s: 60.0,
            chunks: 1,
            series_count: 1,
            leaking_count: 1,
            not_judged_count: 0,
            warnings: vec![],
            results: vec![leak.clone()],
        };
        let text = render_text(&report);
        assert!(
            text.starts_with("1 series from http://p:9090 over 3d"),
            "{text}"
        );
        assert!(text.contains("1 range query): 1 leaking"), "{text}");
        let row = text.lines().find(|l| l.starts_with("1    ")).unwrap();
        assert!(
            row.contains("LEAK") && row.contains("mem{pod=\"api\"}"),
            "{row}"
        );
        assert!(
            row.contains("512.0 MiB") && row.contains("40.0 MiB/h"),
            "{row}"
        );
        let empty = FleetReport {
            results: vec![],
            series_count: 0,
            leaking_count: 0,
            ..report
        };
        assert!(render_text(&empty).contains("matched no series"));

        // A unit-less series (`up`) is shown as numbers; one not judged has
        // no growth, and says why.
        let mut up = leak;
        up.series = "up{job=\"p\"}".into();
        up.unit = Unit::Value;
        up.current = 1.0;
        up.verdict = FleetVerdict::NotJudged;
        up.leaking = false;
        up.state = LeakState::Collecting;
        up.growth_per_hour = None;
        up.time_to_limit_s = None;
        up.reason = "too little data to judge: 5 samples".into();
        let text = render_text(&FleetReport {
            not_judged_count: 1,
            leaking_count: 0,
            verdict: FleetVerdict::NotJudged,
            results: vec![up],
            ..empty
        });
        assert!(
            text.contains("0 leaking, 1 not judged (too little data)"),
            "{text}"
        );
        let row = text.lines().find(|l| l.starts_with("1    ")).unwrap();
        assert!(!row.contains(" B"), "{row}");
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..5], ["1", "collecting", "1", "-", "-"], "{row}");
        assert!(
            text.contains("not judged:\n  up{job=\"p\"}: too little data to judge: 5 samples"),
            "{text}"
        );
    }

    #[test]
    fn units_follow_the_metric_name_and_values_read_plainly() {
        let labels = |name: Option<&str>| {
            name.map(|n| ("__name__".to_string(), n.to_string()))
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(Unit::of(&labels(Some("app_mem_bytes")), "x"), Unit::Bytes);
        assert_eq!(Unit::of(&labels(Some("up")), "up"), Unit::Value);
        assert_eq!(
            Unit::of(
                &labels(None),
                "sum by (pod) (container_memory_working_set_bytes{a=\"b\"})"
            ),
            Unit::Bytes
        );
        assert_eq!(Unit::of(&labels(None), "count(up)"), Unit::Value);
        assert_eq!(Unit::Value.show(1.0), "1");
        assert_eq!(Unit::Value.show(0.25), "0.25");
        assert_eq!(Unit::Value.show(1234.5678), "1235");
        assert_eq!(Unit::Value.show(12.345678), "12.35");
        assert_eq!(Unit::Value.show(2.5e9), "2500000000");
        assert_eq!(Unit::Value.show(2.5e-5), "2.500e-5");
        assert_eq!(Unit::Bytes.show(1024.0), "1.0 KiB");
    }

    #[test]
    fn warnings_and_infos_are_kept_with_the_answer() {
        let body = br#"{"status":"success","warnings":["partial response: store X unavailable"],"infos":["metric might not be a counter"],"data":{"resultType":"matrix","result":[]}}"#;
        let answer = parse_answer::<MatrixSeries>("u", 200, body, "matrix").unwrap();
        assert_eq!(
            answer.notes,
            [
                "partial response: store X unavailable",
                "info: metric might not be a counter"
            ]
        );
        let plain = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_answer::<MatrixSeries>("u", 200, plain, "matrix")
            .unwrap()
            .notes
            .is_empty());
    }

    #[test]
    fn a_series_too_short_to_judge_says_why_and_what_helps() {
        let cfg = DetectorConfig::default();
        let plain = not_judged_reason(10, 9.0, 0, 1.0, &cfg);
        assert!(plain.contains("10 samples over 9.0s"), "{plain}");
        assert!(plain.contains("widen --range"), "{plain}");
        let looping = not_judged_reason(100, 100.0, 4, 1.0, &cfg);
        assert!(
            looping.contains(
                "5 lifetimes of about 20s (20 samples) each, each too short to judge on its own"
            ),
            "{looping}"
        );
        assert!(
            looping.contains("24 samples take 24s at a 1.0s step"),
            "{looping}"
        );
    }

    #[test]
    fn bad_urls_and_unreachable_servers_say_so() {
        assert!(matches!(
            Prometheus::new("localhost:9090", Duration::from_secs(1)),
            Err(FleetError::BadUrl(_))
        ));
        // A port nobody listens on: bind one and drop it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let q = FleetQuery {
            url: format!("http://127.0.0.1:{port}"),
            query: "up".into(),
            start_s: 0.0,
            end_s: 60.0,
            step_s: 15.0,
            season_s: None,
            limit_query: None,
            start_query: Some(DEFAULT_START_QUERY.into()),
            timeout: Duration::from_secs(2),
        };
        let err = analyze(&q).unwrap_err();
        assert!(matches!(err, FleetError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("cannot reach Prometheus"), "{err}");
    }

    fn tracked() -> Tracked {
        Tracked {
            labels: BTreeMap::new(),
            detector: Detector::new(DetectorConfig::default()),
            limit: None,
            start_s: None,
            instances: 0,
            members: Default::default(),
        }
    }

    #[test]
    fn a_new_start_time_is_a_restart_and_stale_samples_of_the_old_instance_are_dropped() {
        let mut t = tracked();
        // Two instances answer at t = 10..12 (the old one within lookback):
        // the newer start time wins, the old one's later samples are stale.
        let mut points: Vec<Point> = (0..20)
            .map(|i| (i as f64, 100.0, 1e6 + i as f64))
            .filter(|p| p.0 <= 12.0)
            .chain((10..20).map(|i| (i as f64, 109.5, 2e5 + i as f64)))
            .collect();
        feed(&mut t, &mut points);
        assert_eq!(t.instances, 2);
        assert_eq!(t.start_s, Some(109.5));
        assert_eq!(t.detector.samples(), 20);
        assert_eq!(t.detector.assessment().current, 2e5 + 19.0);
        // Without start times nothing is a known restart.
        let mut bare = tracked();
        let mut points: Vec<Point> = (0..5).map(|i| (i as f64, f64::NAN, 1.0)).collect();
        feed(&mut bare, &mut points);
        assert_eq!((bare.instances, bare.start_s), (0, None));
    }

    #[test]
    fn instance_labels_are_left_out_of_a_joined_history_only() {
        let a: BTreeMap<String, String> =
            [("container", "api"), ("id", "/docker/aaa"), ("pod", "p")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let mut b = a.clone();
        b.insert("id".into(), "/docker/bbb".into());
        assert_eq!(history_key(&a, true), history_key(&b, true));
        assert_ne!(history_key(&a, false), history_key(&b, false));
        assert_eq!(start_at(&[(1.0, 5.0), (3.0, 7.0)], 2.0), Some(5.0));
        assert_eq!(start_at(&[(1.0, 5.0), (3.0, 7.0)], 0.5), None);
        assert_eq!(start_at(&[(1.0, 5.0), (3.0, 7.0)], 3.0), Some(7.0));
    }
}
