//! `analyze --prometheus` against a tiny server on loopback that answers as
//! the Prometheus HTTP API does, with series made here: the cases a real
//! Prometheus gives only by chance or with a slow setup (no series, too few
//! samples, a partial answer with warnings, an auth error, a restart loop).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the fake server saw.
#[derive(Debug, Clone)]
struct Request {
    params: HashMap<String, String>,
    authorization: Option<String>,
}

type Answer = Box<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// A fake Prometheus on 127.0.0.1; `answer` makes each response.
struct FakePrometheus {
    url: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl FakePrometheus {
    fn start(answer: Answer) -> FakePrometheus {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        // The thread ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(req) = read_request(&mut stream) else {
                    continue;
                };
                let (status, body) = answer(&req);
                log.lock().unwrap().push(req);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakePrometheus { url, seen }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?.to_string();
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        match k.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(v.trim().to_string()),
            "content-length" => length = v.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut params = HashMap::new();
    for pair in query
        .split('&')
        .chain(std::str::from_utf8(&body).ok()?.split('&'))
    {
        if let Some((k, v)) = pair.split_once('=') {
            params.insert(decode(k), decode(v));
        }
    }
    Some(Request {
        params,
        authorization,
    })
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A matrix answer: one series per (labels, points).
fn matrix(series: &[(serde_json::Value, Vec<(f64, f64)>)], warnings: &[&str]) -> String {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|(metric, points)| {
            let values: Vec<serde_json::Value> = points
                .iter()
                .map(|(t, v)| serde_json::json!([t, v.to_string()]))
                .collect();
            serde_json::json!({"metric": metric, "values": values})
        })
        .collect();
    let mut answer = serde_json::json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": result},
    });
    if !warnings.is_empty() {
        answer["warnings"] = serde_json::json!(warnings);
    }
    answer.to_string()
}

/// The range a query asked for: its grid of times.
fn grid(req: &Request) -> Vec<f64> {
    let p = |k: &str| req.params[k].parse::<f64>().unwrap();
    let (start, end, step) = (p("start"), p("end"), p("step"));
    let n = ((end - start) / step).floor() as usize;
    (0..=n).map(|k| start + k as f64 * step).collect()
}

const END: f64 = 1_800_000_000.0;

/// Runs `leakwatch analyze --prometheus URL --query QUERY` over the 10
/// minutes before END at a 1 s step, plus `extra`.
fn analyze(url: &str, query: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::cargo_bin("leakwatch")
        .unwrap()
        .args([
            "analyze",
            "--prometheus",
            url,
            "--query",
            query,
            "--range",
            "10m",
            "--step",
            "1s",
            "--end",
            &END.to_string(),
        ])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str, stderr: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{stderr}"))
}

/// The default start-time query, answered with no series: no restarts known.
fn no_start_times(req: &Request) -> Option<(u16, String)> {
    (req.params.get("query").map(String::as_str)
        == Some("process_start_time_seconds or container_start_time_seconds"))
    .then(|| (200, matrix(&[], &[])))
}

#[test]
fn a_password_in_the_url_is_never_shown() {
    let refusing = FakePrometheus::start(Box::new(|_| (401, "Unauthorized\n".to_string())));
    let with_password = refusing.url.replace("http://", "http://user:s3cret@");
    let (code, stdout, stderr) = analyze(&with_password, "up", &[]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    let shown = refusing.url.replace("http://", "http://user:xxxxx@");
    assert!(stderr.contains(&shown), "{stderr}");
    // The credentials were sent, as Basic auth.
    let sent = refusing.requests();
    assert!(
        sent.iter()
            .all(|r| r.authorization.as_deref() == Some("Basic dXNlcjpzM2NyZXQ=")),
        "{sent:?}"
    );

    // An answer: the report names the server without the password.
    let answering = FakePrometheus::start(Box::new(|req| {
        no_start_times(req).unwrap_or_else(|| {
            let points = grid(req).into_iter().map(|t| (t, 1.0)).collect();
            let labels = serde_json::json!({"__name__": "up", "job": "p"});
            (200, matrix(&[(labels, points)], &[]))
        })
    }));
    let with_password = answering.url.replace("http://", "http://user:s3cret@");
    let shown = answering.url.replace("http://", "http://user:xxxxx@");
    let (_, stdout, stderr) = analyze(&with_password, "up", &["--json"]);
    let report = json(&stdout, &stderr);
    assert_eq!(report["prometheus"], shown.as_str(), "{stdout}");
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}\n{stderr}"
    );
    let (_, stdout, stderr) = analyze(&with_password, "up", &[]);
    assert!(stdout.contains(&shown), "{stdout}");
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}\n{stderr}"
    );

    // A URL that is not one: refused, still without the password.
    let (code, stdout, stderr) = analyze("user:s3cret@127.0.0.1:9", "up", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("user:xxxxx@127.0.0.1:9"), "{stderr}");
}

fn labels(name: &str, app: &str) -> serde_json::Value {
    serde_json::json!({"__name__": name, "app": app, "instance": "10.0.0.1:80", "job": "fake"})
}

/// 2 MB more every 10 s, with a small wobble.
fn leaking(t: f64) -> f64 {
    1e8 + (t - END) * 2e5 + ((t as i64 % 7) as f64) * 1e3
}

/// A fixed working set with the same wobble.
fn steady(t: f64) -> f64 {
    5e7 + ((t as i64 % 7) as f64) * 1e3
}

/// A fake answering `app_mem_bytes` with the series `make` gives for the
/// asked grid, `up` with 1s, and no start times.
fn serving(
    make: impl Fn(&[f64]) -> Vec<(serde_json::Value, Vec<(f64, f64)>)> + Send + Sync + 'static,
) -> FakePrometheus {
    FakePrometheus::start(Box::new(move |req| {
        if let Some(answer) = no_start_times(req) {
            return answer;
        }
        let times = grid(req);
        match req.params["query"].as_str() {
            "app_mem_bytes" => (200, matrix(&make(&times), &[])),
            "up" => {
                let points = times.iter().map(|&t| (t, 1.0)).collect();
                (200, matrix(&[(labels("up", "api"), points)], &[]))
            }
            _ => (200, matrix(&[], &[])),
        }
    }))
}

fn over(times: &[f64], f: impl Fn(f64) -> f64, from: f64) -> Vec<(f64, f64)> {
    times
        .iter()
        .filter(|&&t| t >= from)
        .map(|&t| (t, f(t)))
        .collect()
}

#[test]
fn html_is_refused_up_front_with_prometheus() {
    let fake = serving(|times| vec![(labels("app_mem_bytes", "leaky"), over(times, leaking, 0.0))]);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("fleet.html");
    let (code, stdout, stderr) = analyze(
        &fake.url,
        "app_mem_bytes",
        &["--html", page.to_str().unwrap()],
    );
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("--html") && stderr.contains("cannot be used with --prometheus"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!page.exists());
    // Refused before asking anything.
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn nothing_judged_exits_2_and_says_what_to_do() {
    // No series match.
    let fake = serving(|_| vec![]);
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytez", &["--json"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "not_judged", "{stdout}");
    assert_eq!(report["series_count"], 0, "{stdout}");
    assert!(stderr.contains("matched no series"), "{stderr}");
    assert!(
        stderr.contains("check the query and the metric name"),
        "{stderr}"
    );
    assert!(stderr.contains("widen --range"), "{stderr}");
    let (code, stdout, _) = analyze(&fake.url, "app_mem_bytez", &[]);
    assert_eq!(code, Some(2));
    assert!(stdout.contains("matched no series"), "{stdout}");

    // Every series too short: the last 20 s of the range only.
    let fake = serving(|times| {
        vec![
            (
                labels("app_mem_bytes", "a"),
                over(times, leaking, END - 20.0),
            ),
            (
                labels("app_mem_bytes", "b"),
                over(times, steady, END - 20.0),
            ),
        ]
    });
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &["--json"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "not_judged", "{stdout}");
    assert_eq!(report["not_judged_count"], 2, "{stdout}");
    for r in report["results"].as_array().unwrap() {
        assert_eq!(r["verdict"], "not_judged", "{r:#}");
        // Unknown, not a climb of 0.
        assert!(r["growth_per_hour"].is_null(), "{r:#}");
        assert!(r["growth_per_hour_ci"].is_null(), "{r:#}");
        assert!(
            r["reason"]
                .as_str()
                .unwrap()
                .contains("too little data to judge"),
            "{r:#}"
        );
    }
    assert!(
        stderr.contains("nothing judged: all 2 series had too little data"),
        "{stderr}"
    );

    // One judged (a leak), one not: the leak stands, the other is counted.
    let fake = serving(|times| {
        vec![
            (labels("app_mem_bytes", "leaky"), over(times, leaking, 0.0)),
            (
                labels("app_mem_bytes", "young"),
                over(times, steady, END - 20.0),
            ),
        ]
    });
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &["--json"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "leak", "{stdout}");
    assert_eq!(report["not_judged_count"], 1, "{stdout}");
    assert!(stderr.contains("1 of 2 series not judged"), "{stderr}");

    // One judged, not leaking, one not judged: 0, with the note.
    let fake = serving(|times| {
        vec![
            (labels("app_mem_bytes", "steady"), over(times, steady, 0.0)),
            (
                labels("app_mem_bytes", "young"),
                over(times, steady, END - 20.0),
            ),
        ]
    });
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 leaking, 1 not judged"), "{stdout}");
    assert!(stderr.contains("1 of 2 series not judged"), "{stderr}");
}

#[test]
fn prometheus_warnings_are_shown_and_kept_in_the_json() {
    let fake = FakePrometheus::start(Box::new(|req| {
        let times = grid(req);
        let series = if req.params["query"] == "app_mem_bytes" {
            vec![(labels("app_mem_bytes", "steady"), over(&times, steady, 0.0))]
        } else {
            vec![]
        };
        let mut answer: serde_json::Value =
            serde_json::from_str(&matrix(&series, &["partial response: store X unavailable"]))
                .unwrap();
        answer["infos"] = serde_json::json!(["metric might not be a counter"]);
        (200, answer.to_string())
    }));
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &["--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    // Each once, though every query (series and start times) carried them.
    assert_eq!(
        report["warnings"],
        serde_json::json!([
            "partial response: store X unavailable",
            "info: metric might not be a counter"
        ]),
        "{stdout}"
    );
    assert_eq!(
        stderr
            .matches("leakwatch: Prometheus warned: partial response: store X unavailable")
            .count(),
        1,
        "{stderr}"
    );
    // Text too.
    let (_, _, stderr) = analyze(&fake.url, "app_mem_bytes", &[]);
    assert!(
        stderr.contains("Prometheus warned: partial response"),
        "{stderr}"
    );
    // None: an empty array.
    let quiet = serving(|times| vec![(labels("app_mem_bytes", "s"), over(times, steady, 0.0))]);
    let (_, stdout, stderr) = analyze(&quiet.url, "app_mem_bytes", &["--json"]);
    assert_eq!(json(&stdout, &stderr)["warnings"], serde_json::json!([]));
    assert!(!stderr.contains("warned"), "{stderr}");
}

#[test]
fn the_json_says_verdicts_units_and_times_as_every_report_does() {
    let fake = serving(|times| {
        vec![
            (labels("app_mem_bytes", "leaky"), over(times, leaking, 0.0)),
            (labels("app_mem_bytes", "steady"), over(times, steady, 0.0)),
        ]
    });
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &["--json"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "leak", "{stdout}");
    assert_eq!(report["leaking_count"], 1, "{stdout}");
    let results = report["results"].as_array().unwrap();
    let (leak, calm) = (&results[0], &results[1]);
    assert_eq!(leak["labels"]["app"], "leaky", "{stdout}");
    assert_eq!(leak["verdict"], "leak", "{leak:#}");
    assert_eq!(leak["leaking"], true, "{leak:#}");
    assert_eq!(leak["unit"], "bytes", "{leak:#}");
    // Seconds from the start of the range (600 s long), and the Unix time.
    let first = leak["first_alert_s"].as_f64().unwrap();
    assert!(first > 0.0 && first <= 600.0, "{leak:#}");
    let unix = leak["first_alert_unix_s"].as_f64().unwrap();
    assert!((unix - (END - 600.0) - first).abs() < 1e-6, "{leak:#}");
    assert!(leak["growth_per_hour"].as_f64().unwrap() > 0.0, "{leak:#}");
    // Byte amounts are integers, as in every other JSON report.
    for key in ["current", "growth_per_hour"] {
        assert!(leak[key].is_i64() || leak[key].is_u64(), "{key}: {leak:#}");
    }
    for x in leak["growth_per_hour_ci"].as_array().unwrap() {
        assert!(x.is_i64() || x.is_u64(), "{leak:#}");
    }
    assert_eq!(calm["verdict"], "ok", "{calm:#}");
    assert!(calm["first_alert_s"].is_null() && calm["first_alert_unix_s"].is_null());
    assert!(calm["growth_per_hour"].is_number(), "{calm:#}");

    // `up` has no unit: a value, and the text shows it as a number.
    let (code, stdout, stderr) = analyze(&fake.url, "up", &["--json"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "ok");
    assert_eq!(report["results"][0]["unit"], "value", "{stdout}");
    let (_, stdout, _) = analyze(&fake.url, "up", &[]);
    let row = stdout.lines().find(|l| l.starts_with("1    ")).unwrap();
    assert!(!row.contains(" B"), "{row}");
    assert_eq!(row.split_whitespace().nth(2), Some("1"), "{row}");
}

#[test]
fn a_restart_loop_too_fast_to_judge_says_so_and_exits_2() {
    // A start time new every 20 s, 2.5 MB/s of growth in each lifetime: each
    // lifetime (20 samples at a 1 s step) is too short to judge.
    const LIFETIME: f64 = 20.0;
    let started = |t: f64| (t / LIFETIME).floor() * LIFETIME;
    let fake = FakePrometheus::start(Box::new(move |req| {
        let times = grid(req);
        let last_minutes: Vec<f64> = times.into_iter().filter(|&t| t >= END - 100.0).collect();
        let series = |name: &str, f: &dyn Fn(f64) -> f64| {
            let mut l = labels(name, "saw");
            l["pid"] = "1".into();
            (
                l,
                last_minutes.iter().map(|&t| (t, f(t))).collect::<Vec<_>>(),
            )
        };
        let answer = match req.params["query"].as_str() {
            "app_mem_bytes" => vec![series("app_mem_bytes", &|t| 5e7 + (t - started(t)) * 2.5e6)],
            _ => vec![series("process_start_time_seconds", &started)],
        };
        (200, matrix(&answer, &[]))
    }));
    let (code, stdout, stderr) = analyze(&fake.url, "app_mem_bytes", &["--json"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["verdict"], "not_judged", "{stdout}");
    let saw = &report["results"][0];
    assert_eq!(saw["verdict"], "not_judged", "{saw:#}");
    assert!(saw["restarts"].as_u64().unwrap() >= 4, "{saw:#}");
    assert!(saw["growth_per_hour"].is_null(), "{saw:#}");
    assert!(saw["growth_per_hour_ci"].is_null(), "{saw:#}");
    let reason = saw["reason"].as_str().unwrap();
    assert!(
        reason.contains("each too short to judge on its own"),
        "{reason}"
    );
    assert!(stderr.contains("nothing judged"), "{stderr}");
    let (code, stdout, _) = analyze(&fake.url, "app_mem_bytes", &[]);
    assert_eq!(code, Some(2));
    assert!(!stdout.contains("0.0 B/h"), "{stdout}");
    assert!(
        stdout.contains("each too short to judge on its own"),
        "{stdout}"
    );
}
