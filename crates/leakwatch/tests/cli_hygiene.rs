//! CLI hygiene on every command (issue 15): a closed stdout ends quietly,
//! colour only when asked or on terminals, completions and man pages,
//! `--version` with the commit, `"version": 1` on every JSON output.

mod common;
use common::*;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("leakwatch")
}

/// A C program that leaks a little and exits: the input of `trace`.
fn leaky_c(dir: &Path) -> PathBuf {
    let src = dir.join("leak.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\n#include <string.h>\n\
         int main(void) { for (int i = 0; i < 50; i++) { char *p = malloc(100); memset(p, 1, 100); } \
         return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("leak");
    let st = Command::new("cc")
        .arg("-O0")
        .arg("-g")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    exe
}

/// A CSV as `run --out` writes it: 3 minutes of a steady climb.
fn recording(dir: &Path) -> PathBuf {
    let p = dir.join("rec.csv");
    let mut s = String::from("t_s,rss_bytes,fds,threads\n");
    for i in 0..360 {
        let t = i as f64 * 0.5;
        s.push_str(&format!("{t:.1},{},{},4\n", 50_000_000 + i * 200_000, 10));
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// Runs leakwatch with its stdout a pipe whose reader has already gone
/// (what `| head -1` leaves once head has exited): every write fails. With
/// `and_stderr`, stderr is that pipe too (`2>&1 | head -1`), for commands
/// that report on stderr; its text is then lost.
fn with_closed_stdout(args: &[String], and_stderr: bool) -> (Option<i32>, String) {
    let writer = closed_pipe();
    let mut cmd = Command::new(bin());
    cmd.args(args).stdin(Stdio::null());
    if and_stderr {
        cmd.stdout(writer.try_clone().unwrap()).stderr(writer);
    } else {
        cmd.stdout(writer).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    // The parent's copies of the write end are closed: only leakwatch holds it.
    drop(cmd);
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    let status = child.wait().unwrap();
    (status.code(), err)
}

/// The write end of a pipe whose read end is closed.
fn closed_pipe() -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd as _;
    let mut fds = [0; 2];
    // SAFETY: pipe2(2) fills two fresh descriptors, each owned once below.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: as above.
    unsafe {
        drop(std::os::fd::OwnedFd::from_raw_fd(fds[0]));
        std::os::fd::OwnedFd::from_raw_fd(fds[1])
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// `leakwatch ... | head -1` on every command that prints: exit 0 or 141,
/// never a panic, never an error about the pipe.
#[test]
fn closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exe = leaky_c(d);
    let csv = recording(d);
    let trace = d.join("t.lwt");
    let st = Command::new(bin())
        .args(["trace", "--no-summary", "-o"])
        .arg(&trace)
        .arg("--")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(trace.is_file(), "{}", String::from_utf8_lossy(&st.stderr));
    let src = d.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        src.join("app.py"),
        "_cache = {}\n\ndef handle(request):\n    _cache[request.id] = request.body\n    return len(_cache)\n",
    )
    .unwrap();
    let heap = repo_root().join("crates/leakwatch-heap/fuzz/seeds/pprof_reader/heap1.pb.gz");
    let sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let p = |x: &Path| x.display().to_string();

    let mut cases: Vec<Vec<String>> = vec![
        s(&["--help"]),
        s(&["--version"]),
        s(&["completions", "bash"]),
        s(&["man"]),
        s(&[
            "run",
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--",
            "sleep",
            "10",
        ]),
        s(&[
            "run",
            "--json",
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--",
            "sleep",
            "10",
        ]),
        s(&[
            "watch",
            "--pid",
            &pid,
            "--duration",
            "1s",
            "--interval",
            "100ms",
        ]),
        s(&[
            "watch",
            "--pid",
            &pid,
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--json",
        ]),
        s(&["analyze", &p(&csv)]),
        s(&["analyze", "--json", &p(&csv)]),
        s(&["check", &p(&src)]),
        s(&["check", "--explain"]),
        s(&["report", &p(&trace)]),
        s(&["report", "--json", &p(&trace)]),
        s(&["diff", &p(&heap), &p(&heap)]),
        s(&["probe", "--pid", &pid]),
        s(&[
            "where",
            "--json",
            "--duration",
            "2s",
            "--interval",
            "500ms",
            "--",
            "python3",
            "-c",
            "import time; time.sleep(30)",
        ]),
    ];
    for sub in [
        "run",
        "watch",
        "analyze",
        "check",
        "diff",
        "snapshot",
        "trace",
        "report",
        "where",
        "probe",
        "completions",
        "man",
    ] {
        cases.push(s(&[sub, "--help"]));
    }
    let mut cases: Vec<(Vec<String>, bool)> = cases.into_iter().map(|c| (c, false)).collect();
    // Commands that report on stderr, piped with it.
    for c in [
        s(&["trace", "-o", &p(&d.join("t2.lwt")), "--", &p(&exe)]),
        s(&[
            "run",
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--",
            "sleep",
            "10",
        ]),
        s(&["check", &p(&src)]),
    ] {
        cases.push((c, true));
    }
    let mut failures = Vec::new();
    for (args, and_stderr) in &cases {
        let (code, err) = with_closed_stdout(args, *and_stderr);
        let quiet = !err.contains("panicked") && !err.to_lowercase().contains("broken pipe");
        if !matches!(code, Some(0) | Some(141)) || !quiet {
            failures.push(format!(
                "leakwatch {}{}: exit {code:?}\n{err}",
                args.join(" "),
                if *and_stderr { " 2>&1" } else { "" }
            ));
        }
    }
    let mut sleeper = sleeper;
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

/// NO_COLOR and --color=never: no escape sequence anywhere, even where
/// --color=always colours (the verdict line and the states).
#[test]
fn no_color_and_color_never_print_no_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = recording(dir.path());
    let analyze = |extra: &[&str], env: Option<&str>| {
        let mut c = Command::new(bin());
        c.args(extra).arg("analyze").arg(&csv);
        c.env_remove("NO_COLOR");
        if let Some(v) = env {
            c.env("NO_COLOR", v);
        }
        let o = c.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap() + &String::from_utf8(o.stderr).unwrap()
    };
    let always = analyze(&["--color", "always"], None);
    assert!(
        always.contains("\x1b["),
        "--color always did not colour: {always}"
    );
    assert!(always.contains("LEAK"), "{always}");
    for (extra, env) in [
        (&["--color", "never"][..], None),
        (&["--color=never"][..], Some("1")),
        (&[][..], Some("1")),
        // Not a terminal: auto is off even without NO_COLOR.
        (&[][..], None),
    ] {
        let text = analyze(extra, env);
        assert!(
            !text.contains('\x1b'),
            "escape sequence with {extra:?} NO_COLOR={env:?}: {text:?}"
        );
        assert!(text.contains("LEAK"), "{text}");
    }
    // The flag is accepted by every command (it is global).
    let o = Command::new(bin())
        .args(["check", "--color", "never", "--explain"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}

/// `report`, `trace` and `check` colour their findings on request (and
/// only then): the report's and trace's verdict, check's `warning[rule]`.
#[test]
fn report_trace_and_check_colour_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let exe = leaky_c(dir.path());
    let trace = dir.path().join("t.lwt");
    let run = |args: &[&str], no_color: bool| {
        let mut c = Command::new(bin());
        c.args(args).current_dir(dir.path()).env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let o = c.output().unwrap();
        String::from_utf8(o.stdout).unwrap() + &String::from_utf8(o.stderr).unwrap()
    };
    let traced = run(
        &[
            "--color",
            "always",
            "trace",
            "-o",
            trace.to_str().unwrap(),
            "--",
            exe.to_str().unwrap(),
        ],
        false,
    );
    assert!(
        traced.contains("\x1b[") && traced.contains("LEAK"),
        "{traced}"
    );
    let examples = common::repo_root().join("examples");
    for args in [
        &["report", trace.to_str().unwrap()][..],
        &["check", examples.to_str().unwrap()][..],
    ] {
        let always = run(&[&["--color", "always"][..], args].concat(), false);
        assert!(always.contains("\x1b["), "{args:?}: {always}");
        for (flags, no_color) in [
            (&["--color", "never"][..], false),
            (&[][..], true),
            (&[][..], false),
        ] {
            let text = run(&[flags, args].concat(), no_color);
            assert!(
                !text.contains('\x1b'),
                "{args:?} {flags:?} NO_COLOR={no_color}: {text}"
            );
            assert!(
                text.contains("LEAKED AT EXIT") || text.contains("warning["),
                "{text}"
            );
        }
    }
}

/// bash loads the bash completion and gets a `complete` rule for
/// leakwatch; zsh and fish scripts are generated and name the commands.
#[test]
fn shell_completions_load_in_bash_and_are_generated_for_zsh_and_fish() {
    let script = format!(
        "source <({} completions bash) && complete -p leakwatch",
        bin().display()
    );
    let o = Command::new("bash").args(["-c", &script]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "bash could not load it: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("complete") && out.contains("leakwatch"),
        "{out}"
    );
    for (shell, check) in [("zsh", "zsh -n"), ("fish", "fish --no-execute")] {
        let o = Command::new(bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success());
        let text = String::from_utf8(o.stdout).unwrap();
        for sub in [
            "run", "watch", "analyze", "trace", "report", "where", "probe",
        ] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
        // Parsed (not run) by the shell itself, where it is installed.
        let bin_name = check.split(' ').next().unwrap();
        if has_command(bin_name) {
            let f = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(f.path(), &text).unwrap();
            let o = Command::new("sh")
                .args(["-c", &format!("{check} {}", f.path().display())])
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{shell} rejects its completion: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        } else {
            eprintln!("{bin_name} not installed: generated but not parsed");
        }
    }
    for shell in ["elvish", "powershell"] {
        let o = Command::new(bin())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success() && !o.stdout.is_empty(), "{shell}");
    }
}

/// `leakwatch man` is a roff page that man(1) formats; --dir writes one
/// page per command.
#[test]
fn man_pages_are_roff_for_every_command() {
    let o = Command::new(bin()).arg("man").output().unwrap();
    assert!(o.status.success());
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(page.contains(".TH leakwatch"), "{page}");
    assert!(page.contains("completions"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for page in [
        "leakwatch.1",
        "leakwatch-run.1",
        "leakwatch-trace.1",
        "leakwatch-where.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page} missing");
    }
    if has_command("man") {
        let o = Command::new("man")
            .arg("-l")
            .arg(dir.path().join("leakwatch-run.1"))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("--duration"),
            "man could not format it: {text}"
        );
    }
}

/// `--version` names the crate version and the commit it was built from.
#[test]
fn version_names_the_commit() {
    let o = Command::new(bin()).arg("--version").output().unwrap();
    assert!(o.status.success());
    let v = String::from_utf8(o.stdout).unwrap();
    assert!(
        v.starts_with(&format!("leakwatch {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    match head {
        // Built from this checkout (the binary may predate the last
        // commit only if cargo did not rebuild, which build.rs prevents).
        Some(h) => assert!(v.contains(&h), "{v} is not HEAD {h}"),
        None => assert!(v.contains("unknown"), "{v}"),
    }
}

/// Every --json output carries "version": 1 (the others are in their own
/// commands' tests: check, diff, where, report, probe).
#[test]
fn json_outputs_of_run_watch_and_analyze_are_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let csv = recording(dir.path());
    let o = leakwatch()
        .args(["analyze", "--json"])
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(json(&o)["version"], 1);
    let o = leakwatch()
        .args([
            "run",
            "--json",
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--",
            "sleep",
            "5",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(
        json(&o)["version"],
        1,
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let o = leakwatch()
        .args([
            "watch",
            "--json",
            "--duration",
            "1s",
            "--interval",
            "100ms",
            "--pid",
        ])
        .arg(sleeper.id().to_string())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let lines = json_lines(&String::from_utf8_lossy(&o.stdout));
    assert!(!lines.is_empty());
    for l in &lines {
        assert_eq!(l["version"], 1, "{l}");
    }
    let o = leakwatch()
        .args(["check", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(json(&o)["version"], 1);
}

/// Every example in a command's `--help` stands on a line of its own: an
/// example in a doc comment (the command's about) is reflowed by clap into
/// one paragraph, so examples belong in `after_help`.
#[test]
fn help_examples_are_one_per_line() {
    let mut failures = Vec::new();
    for sub in [
        "run", "watch", "analyze", "check", "diff", "snapshot", "trace", "report", "where",
        "probe", "agent",
    ] {
        for flag in ["-h", "--help"] {
            let out = Command::new(bin()).args([sub, flag]).output().unwrap();
            let help = String::from_utf8_lossy(&out.stdout);
            for line in help.lines() {
                if line.matches(&format!("leakwatch {sub}")).count() > 1 {
                    failures.push(format!("leakwatch {sub} {flag}: {line}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
