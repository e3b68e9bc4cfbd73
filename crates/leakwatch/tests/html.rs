//! `--html` pages made from real runs, opened by their real consumer: a
//! browser. Each page is rendered by headless Chromium (Debian's
//! `chromium`, installed by .ci/deps/html.sh): the screenshot must not be
//! blank, the page's script must run to its end, and the page must hold no
//! reference to anything outside itself.
//!
//! Pages: `run` and `analyze` of a leaking Python program (75 s: a leak
//! needs a minute of samples), `watch --out` of a sleeping process,
//! `report` of a trace of a leaking C program, `diff` of three Node heap
//! snapshots with a leak and turnover, and `where` on a Python program.
//!
//! With LEAKWATCH_HTML_SHOTS=DIR the pages and their screenshots are kept there.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LEAKWATCH_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// Chromium's flags for a page that must load nothing from the network.
fn browser(exe: &Path, profile: &Path) -> Command {
    let mut c = Command::new(exe);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

/// Opens `page` in Chromium and checks what a person would see: a
/// screenshot with something drawn on it, and a script that ran to its end.
/// Returns the screenshot's path (None when Chromium is absent).
fn render(page: &Path, name: &str) -> Option<PathBuf> {
    let Some(exe) = chromium() else {
        eprintln!("SKIPPED rendering {name}: no chromium (apt-get install chromium; see .ci/deps/html.sh)");
        return None;
    };
    let dir = page.parent().unwrap();
    let profile = dir.join(format!("chromium-{name}"));
    let shot = dir.join(format!("{name}.png"));
    let url = format!("file://{}", page.display());
    let out = browser(&exe, &profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.is_file(),
        "chromium wrote no screenshot of {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(keep) = std::env::var_os("LEAKWATCH_HTML_SHOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&shot, Path::new(&keep).join(format!("{name}.png"))).unwrap();
        std::fs::copy(page, Path::new(&keep).join(format!("{name}.html"))).unwrap();
    }
    let (w, h, drawn, colours) = inspect_png(&shot);
    assert_eq!((w, h), (WIDTH, HEIGHT), "{name}");
    // A blank page has no pixel that is not white (the page's panels are
    // near-white and do not count): text and charts make a few percent.
    let fraction = drawn as f64 / f64::from(w * h);
    assert!(
        fraction > 0.01,
        "{name}: only {:.2}% of the screenshot is not white",
        fraction * 100.0
    );
    assert!(colours >= 3, "{name}: the screenshot has {colours} colours");
    // The script's last statement marks the document: it ran without error.
    let dom = browser(&exe, &profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-ready=\"1\""),
        "{name}: the page's script did not run to its end"
    );
    check_hover(&exe, &profile, page, name);
    Some(shot)
}

/// Moves the pointer over the page's first chart (an event dispatched by a
/// script added to a copy of the page) and reads the hover read-out that
/// the page's own script shows.
fn check_hover(exe: &Path, profile: &Path, page: &Path, name: &str) {
    let html = std::fs::read_to_string(page).unwrap();
    if !html.contains("class=\"hov\"") {
        return;
    }
    const POINTER: &str = "<script>window.addEventListener('load',function(){\
        var s=document.querySelector('svg.chart');var r=s.getBoundingClientRect();\
        s.dispatchEvent(new MouseEvent('mousemove',{clientX:r.left+r.width*0.6,clientY:r.top+r.height*0.5,bubbles:true}));\
        var t=document.querySelector('.tip');\
        document.documentElement.setAttribute('data-hover',t&&t.style.display==='block'?t.textContent:'none');});</script>";
    let copy = page.with_file_name(format!("{name}.hover.html"));
    std::fs::write(
        &copy,
        html.replacen("</body>", &format!("{POINTER}</body>"), 1),
    )
    .unwrap();
    let dom = browser(exe, profile)
        .arg("--dump-dom")
        .arg(format!("file://{}", copy.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let hover = dom
        .split("data-hover=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("");
    // "at 43s" and at least one series' value with a digit.
    assert!(
        hover.starts_with("at ")
            && hover.contains(": ")
            && hover.chars().any(|c| c.is_ascii_digit()),
        "{name}: no hover values under the pointer: {hover:?}"
    );
}

/// (width, height, pixels that are not white, distinct colour families
/// among them: red-, green-, blue-dominant and grey).
fn inspect_png(path: &Path) -> (u32, u32, u64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let mut drawn = 0u64;
    let mut families = [false; 4];
    for px in buf[..info.buffer_size()].chunks(channels) {
        let (r, g, b) = (px[0], px[1], px[2]);
        if r > 245 && g > 245 && b > 245 {
            continue;
        }
        drawn += 1;
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let family = if max - min < 24 {
            3
        } else if r == max {
            0
        } else if g == max {
            1
        } else {
            2
        };
        families[family] = true;
    }
    (
        info.width,
        info.height,
        drawn,
        families.iter().filter(|f| **f).count(),
    )
}

/// The checks every page gets: it exists, is one self-contained document
/// with no external reference, and holds `wants`.
fn check_page(page: &Path, wants: &[&str]) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let refs = leakwatch_html::external_references(&html);
    assert!(
        refs.is_empty(),
        "{}: external references {refs:?}",
        page.display()
    );
    for w in wants {
        assert!(html.contains(w), "{} lacks {w:?}", page.display());
    }
    html
}

#[test]
fn run_and_analyze_pages_of_a_leaking_python_program() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("samples.csv");
    let page = dir.path().join("run.html");
    let out = leakwatch()
        .args(["run", "--json", "--duration", "75s", "--out"])
        .arg(&csv)
        .arg("--html")
        .arg(&page)
        .args(["--", "python3", &example("leaky_cache.py")])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["verdict"], "leak", "{v:#}");
    assert_eq!(out.status.code(), Some(1));
    let html = check_page(
        &page,
        &[
            ">LEAK<",
            "rss_bytes leaks at",
            "Resident memory (RSS)",
            "Open file descriptors",
            "Threads",
            "lower envelope (floor of each slice)",
            "trend: 95% confidence band",
            "first alert ",
            "Projection to the limit",
            "leaky_cache.py",
        ],
    );
    // The limit is named: the host's memory or the cgroup's limit.
    assert!(
        html.contains("host memory (") || html.contains("cgroup memory limit ("),
        "no named limit"
    );
    render(&page, "run");

    // The recording replayed by analyze gives the same kind of page.
    let page = dir.path().join("analyze.html");
    let out = leakwatch()
        .arg("analyze")
        .arg(&csv)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_page(
        &page,
        &[
            ">LEAK<",
            "samples.csv",
            "lower envelope (floor of each slice)",
        ],
    );
    render(&page, "analyze");
}

#[test]
fn run_html_without_out_leaves_no_samples_file() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("short.html");
    let out = leakwatch()
        .args(["run", "--interval", "100ms", "--html"])
        .arg(&page)
        .args(["--", "sleep", "1"])
        .output()
        .unwrap();
    // Seconds of samples: too little to judge (exit 2), the page written.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("samples written"), "{stdout}");
    check_page(&page, &["not enough data to judge", "sleep 1"]);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("short.html")]);
}

#[test]
fn watch_page_needs_out_and_shows_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakwatch()
        .args(["watch", "--pid", "1", "--html", "x.html"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));

    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let csv = dir.path().join("watch.csv");
    let page = dir.path().join("watch.html");
    let out = leakwatch()
        .args(["watch", "--pid", &sleeper.id().to_string()])
        .args(["--duration", "3s", "--interval", "200ms", "--out"])
        .arg(&csv)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    // Seconds of samples: too little to judge (exit 2), the page written.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_page(
        &page,
        &[
            "not enough data to judge",
            "Resident memory (RSS)",
            "samples",
        ],
    );
    render(&page, "watch");
}

const TRACED: &str = r#"
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node { struct node *next; char pad[248]; };
static struct node *head;
static char *cache[64];

__attribute__((noinline)) static void remember_request(void) {
    struct node *n = malloc(sizeof *n);
    memset(n, 1, sizeof *n);
    n->next = head;
    head = n;
}

__attribute__((noinline)) static void cache_put(int i) {
    free(cache[i % 64]);
    cache[i % 64] = malloc(1024);
}

__attribute__((noinline)) static void churn(void) {
    char *p = malloc(4096);
    memset(p, 2, 4096);
    free(p);
}

int main(void) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    for (int i = 0; i < 1200; i++) {
        remember_request();
        cache_put(i);
        churn();
        nanosleep(&ts, 0);
    }
    head = 0;
    return 0;
}
"#;

#[test]
fn report_page_of_a_traced_c_program() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("traced.c");
    std::fs::write(&src, TRACED).unwrap();
    let exe = dir.path().join("traced");
    let status = Command::new("gcc")
        .args(["-O1", "-g", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("gcc runs (see .ci/deps/trace.sh)");
    assert!(status.success());
    let trace = dir.path().join("t.lwt");
    let out = leakwatch()
        .arg("trace")
        .arg("-o")
        .arg(&trace)
        .arg("--")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(trace.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = dir.path().join("report.html");
    let out = leakwatch()
        .arg("report")
        .arg(&trace)
        .arg("--html")
        .arg(&page)
        .env_remove("LSAN_OPTIONS")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = check_page(
        &page,
        &[
            ">LEAK<",
            "Growing sites: live bytes over time",
            "remember_request",
            "Leaked at exit",
            "Who held the peak",
            "Flamegraph",
            "sandbox=\"allow-scripts\"",
        ],
    );
    // The flamegraph's frames are in its document (escaped in srcdoc).
    assert!(html.contains("remember_request"));
    assert!(html.matches("srcdoc=").count() == 1);
    render(&page, "report");
    // Nothing on the console: the embedded flamegraph's script used to set
    // a width of -20 (hunt 4, case 19).
    if let Some(messages) = console_messages(&page, "report") {
        assert!(
            messages.is_empty(),
            "the report page logs to the console: {messages:#?}"
        );
    }
}

/// What the page logs to the browser's console (errors included) while it
/// loads and its scripts run; None when Chromium is absent.
fn console_messages(page: &Path, name: &str) -> Option<Vec<String>> {
    let exe = chromium()?;
    let profile = page
        .parent()
        .unwrap()
        .join(format!("chromium-{name}-console"));
    let out = browser(&exe, &profile)
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("</html>"), "{name}: chromium loaded no page");
    Some(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn diff_page_of_node_heap_snapshots() {
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("SKIPPED: node is not installed (see .ci/deps/heap.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("node")
        .arg(root.join("tests/heap/drive_scenario.js"))
        .arg(root.join("tests/heap/node_turnover_leak.js"))
        .arg(dir.path())
        .args(["400", "200"])
        .status()
        .unwrap();
    assert!(status.success());
    let files = ["base", "target", "final"].map(|s| dir.path().join(format!("{s}.heapsnapshot")));
    let page = dir.path().join("diff.html");
    let out = leakwatch()
        .arg("diff")
        .args(&files)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_page(
        &page,
        &[
            ">LEAK<",
            "Leak clusters: retainer paths from a GC root",
            "RequestRecord",
            "<span class=\"edge\">records</span>",
            "Turnover: replaced, not growing",
            "Classes by self-size growth",
            "BASE → TARGET → FINAL",
        ],
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&page).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "heap pages may hold the program's strings");
    render(&page, "diff");
}

/// The interpreter itself, not a version manager's shell shim (whose shell
/// would be the process observed until it execs Python).
fn real_python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Keeps a few small strings per tick: cheap for tracemalloc to snapshot.
const WHERE_PY: &str = r#"
import time
kept = []

def remember_request(i):
    kept.append("request %d " % i + "x" * 200)

i = 0
while True:
    for _ in range(20):
        i += 1
        remember_request(i)
    time.sleep(0.05)
"#;

#[test]
fn where_page_of_a_python_program() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("remember.py");
    std::fs::write(&program, WHERE_PY).unwrap();
    let page = dir.path().join("where.html");
    let out = leakwatch()
        .args(["where", "--duration", "40s", "--interval", "1s"])
        // tracemalloc's snapshots may take more than 1% of a second: keep
        // the interval (the pause does not matter to this test).
        .args(["--pause-budget", "50%", "--html"])
        .arg(&page)
        .arg("--")
        .arg(real_python())
        .arg(&program)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_page(
        &page,
        &[
            ">LEAK<",
            "per allocation site",
            "remember_request",
            "trend: 95% confidence band",
        ],
    );
    render(&page, "where");
}

#[test]
fn hostile_names_stay_text_in_the_page() {
    // A command line that is markup: it must show as text, never run.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    let out = leakwatch()
        .args(["run", "--interval", "100ms", "--html"])
        .arg(&page)
        .args([
            "--",
            "sh",
            "-c",
            "sleep 1 # <script>alert(1)</script><img src=x>",
        ])
        .output()
        .unwrap();
    // Seconds of samples: too little to judge (exit 2), the page written.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = check_page(
        &page,
        &["&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x&gt;"],
    );
    assert_eq!(
        html.matches("<script>").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("<img"));
}
