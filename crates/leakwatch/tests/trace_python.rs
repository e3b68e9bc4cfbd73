//! `leakwatch trace` on real Python programs written here, run by the
//! pyenv CPython builds installed (3.8 to 3.13; a missing version is
//! skipped with a printed reason): stacks carry Python frames, so the
//! growing site is the Python line that leaks and no churning line; a C
//! extension built here keeps its native frame under the Python frame that
//! called it; threads; a SIGKILLed interpreter leaves a readable trace.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn leakwatch() -> PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

/// The interpreter of CPython 3.`minor` under pyenv, if installed.
fn python(minor: u32) -> Option<PathBuf> {
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".pyenv"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("3.{minor}.")))
        })
        .map(|p| p.join(format!("bin/python3.{minor}")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    let p = found.pop();
    if p.is_none() {
        eprintln!("skipped: CPython 3.{minor} is not installed under pyenv");
    }
    p
}

fn line_of(src: &str, marker: &str) -> u64 {
    src.lines()
        .position(|l| l.contains(marker))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("no {marker}"))
}

fn report_json(trace: &Path) -> (Value, i32) {
    let out = Command::new(leakwatch())
        .args(["report", "--json", "--top", "50"])
        .arg(trace)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report --json is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

fn site(e: &Value) -> (String, String, u64) {
    (
        e["site"]["function"].as_str().unwrap_or("").to_string(),
        e["site"]["file"].as_str().unwrap_or("").to_string(),
        e["site"]["line"].as_u64().unwrap_or(0),
    )
}

fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

const WORKER: &str = r#"
import json, time

cache = []

def churn(i):
    d = {"k": str(i) * 10, "v": [i] * 20}   # CHURN1
    s = json.dumps(d)                         # CHURN2
    return len(s)

def record_audit(i):
    cache.append("audit-%d-%s" % (i, "x" * 200))   # LEAK

def main():
    print("ready", flush=True)
    i = 0
    while True:
        churn(i)
        churn(i + 1)
        record_audit(i)
        i += 1
        if i % 100 == 0:
            time.sleep(0.002)

main()
"#;

/// A worker whose leak is one line among churning lines: the only growing
/// sites are that line, in every installed version from 3.8 to 3.13.
#[test]
fn worker_leak_is_named_by_its_python_line_in_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("worker.py");
    std::fs::write(&script, WORKER).unwrap();
    let leak_line = line_of(WORKER, "# LEAK");
    let mut tested = Vec::new();
    for minor in 8..=13 {
        let Some(py) = python(minor) else { continue };
        let trace = dir.path().join(format!("w{minor}.lwt"));
        let mut lw = Command::new(leakwatch())
            .arg("trace")
            .arg("-o")
            .arg(&trace)
            .arg("--")
            .arg(&py)
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Start-up (imports, site-packages) runs traced too, and slowly:
        // the leak must run for most of the trace to be judged growing.
        let spawned = std::time::Instant::now();
        let mut line = String::new();
        BufReader::new(lw.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        let child = children_of(lw.id())[0];
        std::thread::sleep(Duration::from_secs(4).max(spawned.elapsed() * 2));
        // SAFETY: signalling our grandchild.
        unsafe { libc::kill(child as i32, libc::SIGTERM) };
        // Seconds, under the detector's one-minute minimum: the line is
        // named as growing, not yet called a leak (exit 2).
        let status = lw.wait().unwrap();
        assert_eq!(status.code(), Some(2), "3.{minor}: growing");
        let (r, code) = report_json(&trace);
        assert_eq!(code, 2, "3.{minor}: {r}");
        assert_eq!(r["verdict"], "growing", "3.{minor}");
        let growing = r["growing"].as_array().unwrap();
        assert!(!growing.is_empty(), "3.{minor}: no growing site");
        for g in growing {
            let (f, file, line) = site(g);
            assert_eq!(
                (f.as_str(), line),
                ("record_audit", leak_line),
                "3.{minor}: only the leaking line grows, not {f} at {file}:{line}"
            );
            assert!(file.ends_with("worker.py"), "{file}");
            // The Python caller is in the stack too, below the site.
            let frames = g["frames"].as_array().unwrap();
            // The line's innermost frame: how the interpreter ran it (its
            // string formatting, its allocator) is not on the stack.
            assert_eq!(
                (&frames[0]["function"], &frames[0]["module"]),
                (&Value::from("record_audit"), &Value::from("python")),
                "3.{minor}: {frames:?}"
            );
            assert!(
                frames
                    .iter()
                    .any(|fr| fr["function"] == "main" && fr["module"] == "python"),
                "3.{minor}: main() is on the stack"
            );
        }
        tested.push(minor);
    }
    eprintln!("tested CPython 3.{tested:?}");
    assert!(
        !tested.is_empty(),
        "no CPython 3.8-3.13 installed under pyenv"
    );
}

/// Builds the C extension `name` from `source` into `dir/name.so` against
/// the headers of the CPython 3.`minor` at `py`.
fn build_extension(py: &Path, minor: u32, dir: &Path, name: &str, source: &str) {
    let include = py
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join(format!("include/python3.{minor}"));
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let ok = Command::new("gcc")
        .args(["-shared", "-fPIC", "-g", "-O1", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(dir.join(format!("{name}.so")))
        .status()
        .unwrap()
        .success();
    assert!(ok, "gcc failed on {name}.c");
}

const EXT_C: &str = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
void *leakext_kept[64];  /* exported: the stores stay */
static int nkept;
static PyObject *grab(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n)) return NULL;
    void *p = malloc((size_t)n);            /* LEAK(grab) */
    if (nkept < 64) leakext_kept[nkept++] = p;
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"grab", grab, METH_VARARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "leakext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_leakext(void) { return PyModule_Create(&mod); }
"#;

const EXT_PY: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import leakext

def keep_buffers():
    for _ in range(3):
        leakext.grab(4321)   # CALL

keep_buffers()
"#;

/// A leak inside a C extension built here: the native frame of the
/// extension's function, then the Python line that called it.
#[test]
fn c_extension_leak_has_its_python_caller_above_its_native_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mut tested = 0;
    for minor in [9, 12] {
        let Some(py) = python(minor) else { continue };
        let ext_dir = dir.path().join(format!("ext{minor}"));
        build_extension(&py, minor, &ext_dir, "leakext", EXT_C);
        let script = dir.path().join("use_ext.py");
        std::fs::write(&script, EXT_PY).unwrap();
        let trace = dir.path().join(format!("ext{minor}.lwt"));
        let out = Command::new(leakwatch())
            .arg("trace")
            .arg("-o")
            .arg(&trace)
            .arg("--")
            .arg(&py)
            .arg(&script)
            .arg(&ext_dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "3.{minor}: {err}");
        let (r, _) = report_json(&trace);
        let leaked = r["leaked"]["stacks"].as_array().unwrap();
        let ours: Vec<&Value> = leaked
            .iter()
            .filter(|e| e["site"]["function"] == "grab")
            .collect();
        assert_eq!(ours.len(), 1, "3.{minor}: {leaked:?}");
        assert_eq!(ours[0]["bytes"], 3 * 4321);
        assert_eq!(ours[0]["blocks"], 3);
        assert_eq!(
            ours[0]["site"]["line"].as_u64(),
            Some(line_of(EXT_C, "LEAK(grab)"))
        );
        let frames = ours[0]["frames"].as_array().unwrap();
        let native = frames.iter().position(|f| f["function"] == "grab").unwrap();
        let caller = frames
            .iter()
            .position(|f| f["function"] == "keep_buffers" && f["module"] == "python")
            .unwrap_or_else(|| panic!("3.{minor}: no Python caller in {frames:?}"));
        assert!(
            native < caller,
            "native frame below (inside) the Python frame"
        );
        assert_eq!(
            frames[caller]["line"].as_u64(),
            Some(line_of(EXT_PY, "# CALL"))
        );
        // Nothing else of the script's counts as leaked.
        assert_eq!(r["leaked"]["bytes"], 3 * 4321, "3.{minor}: {}", r["leaked"]);
        tested += 1;
    }
    assert!(tested > 0, "no CPython 3.9 or 3.12 under pyenv");
}

const THREADS: &str = r#"
import threading, time, sys
kept = []
def fill_a():
    for i in range(2000):
        kept.append("a" * 300 + str(i))   # LEAK_A
def fill_b():
    for i in range(2000):
        kept.append("b" * 500 + str(i))   # LEAK_B
ts = [threading.Thread(target=fill_a), threading.Thread(target=fill_b)]
for t in ts: t.start()
for t in ts: t.join()
print("ready", flush=True)
time.sleep(600)
"#;

/// Threads allocate from their own Python functions; the interpreter is
/// then killed with SIGKILL: the trace is readable and names both lines.
#[test]
fn threads_then_sigkill_leave_a_readable_trace_naming_each_thread_line() {
    let Some(py) = python(12).or_else(|| python(11)).or_else(|| python(10)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("threads.py");
    std::fs::write(&script, THREADS).unwrap();
    let trace = dir.path().join("threads.lwt");
    let mut lw = Command::new(leakwatch())
        .arg("trace")
        .arg("-o")
        .arg(&trace)
        .arg("--")
        .arg(&py)
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(lw.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    // Let the writer flush (every 20 ms).
    std::thread::sleep(Duration::from_millis(300));
    let child = children_of(lw.id())[0];
    // SAFETY: killing our grandchild.
    unsafe { libc::kill(child as i32, libc::SIGKILL) };
    let out = lw.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("killed by signal 9"), "{err}");
    let (r, _) = report_json(&trace);
    assert_eq!(r["exited"], false);
    let live = r["live_at_end"]["stacks"].as_array().unwrap();
    for (marker, size) in [("# LEAK_A", 300), ("# LEAK_B", 500)] {
        let want = line_of(THREADS, marker);
        let blocks: u64 = live
            .iter()
            .filter(|e| e["site"]["line"].as_u64() == Some(want) && e["site"]["module"] == "python")
            .map(|e| {
                assert!(e["bytes"].as_u64().unwrap() >= e["blocks"].as_u64().unwrap() * size);
                e["blocks"].as_u64().unwrap()
            })
            .sum();
        assert!(blocks >= 2000, "{marker}: {blocks} blocks in {live:?}");
    }
}

const CALLBACK_C: &str = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
void *cbext_kept[64];  /* exported: the stores stay */
static int nkept;
/* Calls back into Python: a native frame between two Python frames. */
static PyObject *call_back(PyObject *self, PyObject *f) {
    return PyObject_CallObject(f, NULL);
}
static PyObject *grab(PyObject *self, PyObject *arg) {
    void *p = malloc((size_t)PyLong_AsSsize_t(arg));   /* LEAK(grab) */
    if (nkept < 64) cbext_kept[nkept++] = p;
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"call_back", call_back, METH_O, ""}, {"grab", grab, METH_O, ""},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "cbext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_cbext(void) { return PyModule_Create(&mod); }
"#;

const CALLBACK_PY: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import cbext

def store():
    cbext.grab(7777)   # STORE

def via_extension():
    for _ in range(3):
        cbext.call_back(store)   # CALL

via_extension()
"#;

/// By default a stack is the Python frames and the native frames below
/// the innermost one that are not the interpreter's: the extension's
/// function between two Python frames is not unwound, and the
/// interpreter's call machinery between the extension and its Python
/// caller is dropped. `--python-native-frames` keeps both. Either way the
/// leak is named by its Python line, with the Python caller on the stack.
#[test]
fn native_frames_between_python_frames_are_kept_only_when_asked() {
    let Some(py) = python(12).or_else(|| python(11)).or_else(|| python(9)) else {
        return;
    };
    let minor: u32 = py
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("python3."))
        .and_then(|m| m.parse().ok())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    build_extension(&py, minor, dir.path(), "cbext", CALLBACK_C);
    let script = dir.path().join("callback.py");
    std::fs::write(&script, CALLBACK_PY).unwrap();
    for all_native in [false, true] {
        let trace = dir.path().join(format!("cb-{all_native}.lwt"));
        let mut cmd = Command::new(leakwatch());
        cmd.arg("trace").arg("-o").arg(&trace);
        if all_native {
            cmd.arg("--python-native-frames");
        }
        let out = cmd
            .arg("--")
            .arg(&py)
            .arg(&script)
            .arg(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{all_native}: {err}");
        let (r, _) = report_json(&trace);
        let leaked = r["leaked"]["stacks"].as_array().unwrap();
        let ours: Vec<&Value> = leaked.iter().filter(|e| site(e).0 == "grab").collect();
        // One stack, or two: 3.11+ calls the C function through the
        // generic call path until the call site is specialised.
        let bytes: u64 = ours.iter().map(|e| e["bytes"].as_u64().unwrap()).sum();
        assert_eq!(bytes, 3 * 7777, "{all_native}: {leaked:?}");
        assert_eq!(
            r["leaked"]["bytes"],
            3 * 7777,
            "{all_native}: {}",
            r["leaked"]
        );
        for e in ours {
            let frames = e["frames"].as_array().unwrap();
            let at = |name: &str, python: bool| {
                frames
                    .iter()
                    .position(|f| f["function"] == name && (f["module"] == "python") == python)
            };
            let store = at("store", true).expect("store() on the stack");
            assert_eq!(
                frames[store]["line"].as_u64(),
                Some(line_of(CALLBACK_PY, "# STORE"))
            );
            assert!(at("grab", false).is_some_and(|g| g < store), "{frames:?}");
            // The interpreter's own frames (its call machinery, its main)
            // are dropped by default.
            let interpreter_frames = frames
                .iter()
                .filter(|f| {
                    f["module"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("python3.") || m.starts_with("libpython3."))
                })
                .count();
            assert_eq!(
                interpreter_frames > 0,
                all_native,
                "{all_native}: interpreter frames: {frames:?}"
            );
            let caller = at("via_extension", true)
                .unwrap_or_else(|| panic!("{all_native}: no Python caller in {frames:?}"));
            assert_eq!(
                frames[caller]["line"].as_u64(),
                Some(line_of(CALLBACK_PY, "# CALL"))
            );
            match at("call_back", false) {
                Some(native) => {
                    assert!(
                        all_native,
                        "the extension's frame unwound by default: {frames:?}"
                    );
                    assert!(store < native && native < caller, "{frames:?}");
                }
                None => assert!(
                    !all_native,
                    "--python-native-frames: no call_back in {frames:?}"
                ),
            }
        }
    }
}

/// A CPython whose frames the tracer does not know (3.7) says so once, not
/// once per extension module it imports (each import is a dlopen, after
/// which the tracer looks for CPython again).
#[test]
fn an_unknown_cpython_is_named_once() {
    let Some(py) = python(7) else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(leakwatch())
        .args(["trace", "--no-summary", "-o"])
        .arg(dir.path().join("t.lwt"))
        .arg("--")
        .arg(&py)
        .args(["-c", "import json, zlib, ctypes, sqlite3, decimal"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("not a version whose frames are known").count(),
        1,
        "{err}"
    );
}

const SUPPRESSED_PY: &str = r#"
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]

def keep():
    return [libc.malloc(12345) for _ in range(3)]   # LEAK

kept = keep()
import json, decimal   # the interpreter keeps what these imports set up
print("kept", len(kept), flush=True)
"#;

/// A suppression naming the script (`leak:script.py`) matches the
/// script's leak, and also the interpreter's residue allocated under the
/// script's lines (its imports): residue is set apart first and never
/// counted, so only what would have been the script's leak is reported as
/// suppressed, never the residue (hunt 4, "Python suppressions": 208.5 KiB
/// suppressed for a 36 KiB leak).
#[test]
fn a_suppression_of_the_script_suppresses_its_leak_not_the_residue() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("suppress_me.py");
    std::fs::write(&script, SUPPRESSED_PY).unwrap();
    let supp = dir.path().join("py.supp");
    std::fs::write(&supp, "leak:suppress_me.py\n").unwrap();
    let mut tested = 0;
    for minor in [9, 12] {
        let Some(py) = python(minor) else { continue };
        let trace = dir.path().join(format!("s{minor}.lwt"));
        let out = Command::new(leakwatch())
            .arg("trace")
            .arg("-o")
            .arg(&trace)
            .arg("--suppressions")
            .arg(&supp)
            .arg("--")
            .arg(&py)
            .arg(&script)
            .env("PYTHONMALLOC", "malloc")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "3.{minor}: {err}");
        assert!(
            err.contains("no leak counted: 36.2 KiB still allocated at exit, all of it suppressed by leak:suppress_me.py"),
            "3.{minor}: {err}"
        );
        let report = |extra: &[&std::ffi::OsStr]| -> Value {
            let out = Command::new(leakwatch())
                .args(["report", "--json"])
                .args(extra)
                .arg(&trace)
                .output()
                .unwrap();
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let plain = report(&[]);
        let suppressed = report(&["--suppressions".as_ref(), supp.as_os_str()]);
        assert_eq!(
            plain["leaked"]["bytes"],
            3 * 12345,
            "3.{minor}: {}",
            plain["leaked"]
        );
        assert_eq!(plain["leaked"]["blocks"], 3);
        assert_eq!(suppressed["leaked"]["bytes"], 0);
        let rules = suppressed["suppressed"].as_array().unwrap();
        assert_eq!(rules.len(), 1, "3.{minor}: {rules:?}");
        assert_eq!(
            (rules[0]["bytes"].as_u64(), rules[0]["blocks"].as_u64()),
            (Some(3 * 12345), Some(3)),
            "3.{minor}: only the script's leak is suppressed: {rules:?}"
        );
        // The residue is the same with the suppression as without it.
        assert!(plain["runtime_residue"]["bytes"].as_u64().unwrap() > 0);
        assert_eq!(
            suppressed["runtime_residue"]["bytes"], plain["runtime_residue"]["bytes"],
            "3.{minor}"
        );
        tested += 1;
    }
    assert!(tested > 0, "no CPython 3.9 or 3.12 under pyenv");
}
