//! What leakwatch prints on terminals and only there: colour
//! (`--color auto|always|never`, `NO_COLOR`) and progress lines.
//!
//! Colour is decided once per stream at start-up; everything else asks
//! [`stdout_color`] / [`stderr_color`] or paints through [`paint`], so piped
//! output and files never carry escape sequences unless `--color always`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;
use leakwatch_core::format;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal, `NO_COLOR` is unset or empty
    /// and `TERM` is not `dumb`.
    #[default]
    Auto,
    /// Always colour (even into pipes and files, and despite `NO_COLOR`).
    Always,
    /// Never colour.
    Never,
}

static STDOUT_COLOR: AtomicBool = AtomicBool::new(false);
static STDERR_COLOR: AtomicBool = AtomicBool::new(false);

/// Decides colour for stdout and stderr; called once from `main`.
pub fn init_color(choice: ColorChoice) {
    let env_no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let decide = |tty: bool| match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !env_no_color && !dumb,
    };
    STDOUT_COLOR.store(decide(std::io::stdout().is_terminal()), Ordering::Relaxed);
    STDERR_COLOR.store(decide(std::io::stderr().is_terminal()), Ordering::Relaxed);
}

/// Whether text for stdout may be coloured.
pub fn stdout_color() -> bool {
    STDOUT_COLOR.load(Ordering::Relaxed)
}

/// Whether text for stderr may be coloured.
pub fn stderr_color() -> bool {
    STDERR_COLOR.load(Ordering::Relaxed)
}

/// What a piece of text means, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A leak, an alert, a failure.
    Bad,
    /// Growing or not judged yet.
    Warn,
    /// No leak.
    Good,
}

impl Tone {
    fn style(self) -> Style {
        let color = match self {
            Tone::Bad => AnsiColor::Red,
            Tone::Warn => AnsiColor::Yellow,
            Tone::Good => AnsiColor::Green,
        };
        Style::new().bold().fg_color(Some(color.into()))
    }
}

/// `text` in the colour of `tone` when `color` is true, else unchanged.
pub fn paint(text: &str, tone: Tone, color: bool) -> String {
    if color {
        let s = tone.style();
        format!("{s}{text}{s:#}")
    } else {
        text.to_string()
    }
}

/// The progress of a run of known length: `1m 30s / 5m 0s (30%), ETA 3m 30s`.
pub fn progress(elapsed_s: f64, total_s: f64) -> String {
    let total = total_s.max(f64::MIN_POSITIVE);
    let done = (elapsed_s / total).clamp(0.0, 1.0);
    format!(
        "{} / {} ({:.0}%), ETA {}",
        format::duration(elapsed_s.max(0.0)),
        format::duration(total_s),
        done * 100.0,
        format::duration((total_s - elapsed_s).max(0.0))
    )
}

/// The progress of a parse of `done` out of `total` bytes, with an ETA
/// from the rate so far.
pub fn parse_progress(what: &str, done: u64, total: u64, elapsed_s: f64) -> String {
    let frac = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let eta = if frac > 0.0 && elapsed_s > 0.0 {
        format!(
            ", ETA {}",
            format::duration(elapsed_s * (1.0 - frac) / frac)
        )
    } else {
        String::new()
    };
    format!(
        "{what}: {} / {} ({:.0}%), {} elapsed{eta}",
        format::bytes(done as f64),
        format::bytes(total as f64),
        frac * 100.0,
        format::duration(elapsed_s)
    )
}

/// Wraps a file being parsed and shows [`parse_progress`] on stderr while
/// it is read, when stderr is a terminal and the parse has taken over a
/// second (short parses print nothing). The line is cleared on drop.
pub struct ProgressReader<R> {
    inner: R,
    what: &'static str,
    total: u64,
    done: u64,
    started: std::time::Instant,
    last_shown: Option<std::time::Instant>,
    tty: bool,
}

impl<R> ProgressReader<R> {
    pub fn new(inner: R, total: u64, what: &'static str) -> Self {
        ProgressReader {
            inner,
            what,
            total,
            done: 0,
            started: std::time::Instant::now(),
            last_shown: None,
            tty: std::io::stderr().is_terminal(),
        }
    }
}

impl<R: std::io::Read> std::io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.tty {
            let now = std::time::Instant::now();
            let due = match self.last_shown {
                None => now.duration_since(self.started).as_secs_f64() >= 1.0,
                Some(t) => now.duration_since(t).as_secs_f64() >= 0.25,
            };
            if due {
                self.last_shown = Some(now);
                let line = parse_progress(
                    self.what,
                    self.done,
                    self.total,
                    self.started.elapsed().as_secs_f64(),
                );
                eprint!("\r\x1b[K{line}");
            }
        }
        Ok(n)
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        if self.last_shown.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_names_elapsed_total_and_eta() {
        let p = progress(90.0, 300.0);
        assert!(p.contains("30%"), "{p}");
        assert!(p.contains(&format::duration(210.0)), "{p}");
        assert!(p.starts_with(&format::duration(90.0)), "{p}");
        // Past the end (the last tick) it never shows a negative ETA.
        assert!(progress(310.0, 300.0).contains("100%"));
    }

    #[test]
    fn parse_progress_extrapolates_the_rate() {
        let p = parse_progress("reading", 25, 100, 10.0);
        assert!(p.contains("25%"), "{p}");
        assert!(
            p.contains(&format!("ETA {}", format::duration(30.0))),
            "{p}"
        );
    }

    #[test]
    fn progress_reader_passes_every_byte_through() {
        use std::io::Read as _;
        let data = vec![7u8; 100_000];
        let mut r = ProgressReader::new(&data[..], data.len() as u64, "reading");
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.done, 100_000);
    }

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(paint("LEAK", Tone::Bad, false), "LEAK");
        let c = paint("LEAK", Tone::Bad, true);
        assert!(
            c.starts_with('\x1b') && c.contains("LEAK") && c.ends_with('m'),
            "{c:?}"
        );
    }
}

/// Colours the headlines of a `report`: unindented lines that open a
/// section. An upper-case headline ("LEAKED AT EXIT: ...") is a finding;
/// "INCOMPLETE" a warning; "leaked at exit: nothing" and "no ..." are good.
pub fn paint_report_headlines(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let head = body.split(':').next().unwrap_or("");
        let tone = if body.starts_with(' ') || body.is_empty() {
            None
        } else if head.starts_with("INCOMPLETE") {
            Some(Tone::Warn)
        } else if head.chars().any(|c| c.is_ascii_uppercase())
            && !head.chars().any(|c| c.is_ascii_lowercase())
        {
            Some(Tone::Bad)
        } else if body.starts_with("leaked at exit: nothing") || body.starts_with("no ") {
            Some(Tone::Good)
        } else {
            None
        };
        match tone {
            Some(t) => {
                out.push_str(&paint(body, t, true));
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Colours `check`'s text report the way rustc colours diagnostics: the
/// `warning[rule]` head and the `^^^` marker.
pub fn paint_check_text(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("warning[") {
            if let Some(end) = rest.find("]:") {
                let head = &line[..8 + end + 2];
                out.push_str(&paint(head, Tone::Warn, true));
                out.push_str(&line[head.len()..]);
                continue;
            }
        }
        // A marker line: gutter, `|`, then only spaces and carets.
        if let Some((gutter, marks)) = line.split_once('|') {
            let marks_t = marks.trim_end_matches('\n');
            if gutter.trim().is_empty()
                && marks_t.contains('^')
                && marks_t.chars().all(|c| c == ' ' || c == '^')
            {
                let lead = marks_t.len() - marks_t.trim_start().len();
                out.push_str(gutter);
                out.push('|');
                out.push_str(&marks_t[..lead]);
                out.push_str(&paint(marks_t.trim_start(), Tone::Warn, true));
                out.push_str(&marks[marks_t.len()..]);
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod paint_tests {
    use super::*;

    #[test]
    fn report_headlines_are_painted_and_nothing_else() {
        let text = "trace t.lwt: pid 1\n\nLEAKED AT EXIT: 12 bytes\n  12 bytes from f at a.c:3\n";
        let painted = paint_report_headlines(text, true);
        assert!(painted.contains("\x1b["));
        assert!(painted.contains("  12 bytes from f at a.c:3\n"));
        assert!(painted.starts_with("trace t.lwt: pid 1\n"));
        assert_eq!(paint_report_headlines(text, false), text);
        let strip = |s: &str| {
            let mut o = String::new();
            let mut esc = false;
            for c in s.chars() {
                if c == '\x1b' {
                    esc = true;
                } else if esc {
                    esc = c != 'm';
                } else {
                    o.push(c);
                }
            }
            o
        };
        assert_eq!(strip(&painted), text);
        let clean = "leaked at exit: nothing (every allocation was freed)\n";
        assert!(paint_report_headlines(clean, true).contains("32m"));
    }

    #[test]
    fn check_heads_and_markers_are_painted() {
        let text = "warning[unbounded-cache]: dict grows\n  --> a.py:3:9\n   |\n 3 |     cache[k] = v\n   |     ^^^^^^^^\n";
        let painted = paint_check_text(text, true);
        assert!(painted.starts_with("\x1b["));
        assert!(painted.contains("]:\x1b[0m dict grows\n"));
        assert!(painted.contains(" 3 |     cache[k] = v\n"));
        assert!(painted.contains("   |     \x1b["));
        assert_eq!(paint_check_text(text, false), text);
    }
}
