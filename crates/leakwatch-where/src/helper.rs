//! Sources that run inside the target: a small script leakwatch has the
//! interpreter load at start-up (Python: tracemalloc from a
//! `sitecustomize`; Ruby: ObjectSpace from a `RUBYOPT=-r` script; see
//! [`crate::launch`]), which connects back over a UNIX socket and answers
//! each poll.
//!
//! The protocol is lines of text. The helper says hello once:
//! `hello leakwatch-where 1 RUNTIME VERSION PID`. Then for each
//! `poll SEQ` it answers `begin SEQ`, one `v METRIC VALUE KEY` per key
//! (METRIC indexes the source's metrics; KEY is the rest of the line), and
//! `end SEQ PAUSE_US` (how long it held the interpreter); or `error SEQ
//! TEXT`. `stop` ends it: the helper stops its tracing and closes.
//!
//! The answers come from inside the target program: lines, keys and values
//! are bounded and checked, and an answer to an older poll (one that timed
//! out) is skipped whole.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::{GrowthSource, Metric, PollCost, Unit, WhereError};

/// Longest protocol line (a key is a class name or `function (file:line)`).
pub const MAX_LINE: usize = 8192;
/// Most keys taken from one answer; the rest are counted and ignored.
pub const MAX_KEYS_PER_POLL: usize = 100_000;

/// The hello line's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub runtime: String,
    pub version: String,
    pub pid: i32,
}

/// One parsed line of a helper's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Line<'a> {
    Hello {
        runtime: &'a str,
        version: &'a str,
        pid: i32,
    },
    Begin(u64),
    Value {
        metric: usize,
        value: f64,
        key: &'a str,
    },
    End {
        seq: u64,
        pause_us: u64,
    },
    Error {
        seq: u64,
        text: &'a str,
    },
}

/// Parses one line (without its newline); `None` for anything malformed.
pub fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    match word {
        "v" => {
            let (metric, rest) = rest.split_once(' ')?;
            let (value, key) = rest.split_once(' ')?;
            let metric: usize = metric.parse().ok()?;
            let value: f64 = value.parse().ok()?;
            if !value.is_finite() || value < 0.0 || key.is_empty() {
                return None;
            }
            Some(Line::Value { metric, value, key })
        }
        "begin" => Some(Line::Begin(rest.trim().parse().ok()?)),
        "end" => {
            let mut f = rest.split_whitespace();
            let seq = f.next()?.parse().ok()?;
            let pause_us = f.next().map_or(Some(0), |p| p.parse().ok())?;
            Some(Line::End { seq, pause_us })
        }
        "error" => {
            let (seq, text) = rest.split_once(' ').unwrap_or((rest, ""));
            Some(Line::Error {
                seq: seq.parse().ok()?,
                text,
            })
        }
        "hello" => {
            let mut f = rest.split_whitespace();
            if f.next()? != "leakwatch-where" || f.next()? != "1" {
                return None;
            }
            let runtime = f.next()?;
            let version = f.next()?;
            let pid = f.next()?.parse().ok()?;
            Some(Line::Hello {
                runtime,
                version,
                pid,
            })
        }
        _ => None,
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes into `buf` (without the
/// newline). Longer lines are consumed and reported as `Ok(false)`.
/// `Ok(None)` at end of stream.
pub fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                None
            } else {
                Some(!too_long)
            });
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if buf.len() + take > MAX_LINE {
            too_long = true;
        } else {
            buf.extend_from_slice(&chunk[..take]);
        }
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(!too_long));
        }
    }
}

/// Waits for the hello line on a fresh connection.
pub fn read_hello(stream: &UnixStream, timeout: Duration) -> Result<Hello, WhereError> {
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| WhereError::io("setting a timeout on the helper socket", e))?;
    let mut r = BufReader::new(
        stream
            .try_clone()
            .map_err(|e| WhereError::io("helper socket", e))?,
    );
    let mut buf = Vec::new();
    let bad = |detail: String| WhereError::Protocol {
        runtime: "the program's helper",
        detail,
    };
    match read_line(&mut r, &mut buf) {
        Ok(Some(true)) => {}
        Ok(_) => return Err(bad("no hello line".into())),
        Err(e) => return Err(WhereError::io("reading the helper's hello", e)),
    }
    let text = String::from_utf8_lossy(&buf);
    match parse_line(&text) {
        Some(Line::Hello {
            runtime,
            version,
            pid,
        }) => Ok(Hello {
            runtime: runtime.to_owned(),
            version: version.to_owned(),
            pid,
        }),
        _ => Err(bad(format!(
            "not a hello: {:?}",
            text.chars().take(100).collect::<String>()
        ))),
    }
}

/// Reading one poll's answer, line by line: takes the values of the answer
/// to poll `seq` only (an answer to an older, timed-out poll is skipped),
/// bounded in keys.
#[derive(Debug)]
pub struct AnswerReader {
    seq: u64,
    metrics: usize,
    in_answer: bool,
    keys: usize,
    /// Keys beyond [`MAX_KEYS_PER_POLL`], ignored.
    pub overflow_keys: u64,
}

/// What a line did to the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read on.
    More,
    /// The answer is complete; the helper held the interpreter this long.
    Done { pause_us: u64 },
    /// The helper could not answer this poll.
    Failed(String),
}

impl AnswerReader {
    pub fn new(seq: u64, metrics: usize) -> Self {
        AnswerReader {
            seq,
            metrics,
            in_answer: false,
            keys: 0,
            overflow_keys: 0,
        }
    }

    /// Feeds one line (without its newline); values go to `sink`.
    pub fn feed(&mut self, line: &[u8], sink: &mut dyn FnMut(usize, &str, f64)) -> Step {
        let Ok(text) = std::str::from_utf8(line) else {
            return Step::More;
        };
        match parse_line(text) {
            Some(Line::Begin(s)) => self.in_answer = s == self.seq,
            Some(Line::Value { metric, value, key }) if self.in_answer && metric < self.metrics => {
                if self.keys < MAX_KEYS_PER_POLL {
                    sink(metric, key, value);
                    self.keys += 1;
                } else {
                    self.overflow_keys += 1;
                }
            }
            Some(Line::End { seq, pause_us }) if seq == self.seq && self.in_answer => {
                return Step::Done { pause_us };
            }
            Some(Line::Error { seq, text }) if seq == self.seq => {
                return Step::Failed(text.chars().take(500).collect());
            }
            // Answers to older polls, unknown or malformed lines.
            _ => {}
        }
        Step::More
    }
}

/// A growth source answered by a helper inside the target.
pub struct HelperSource {
    runtime: &'static str,
    hello: Hello,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    metrics: Vec<Metric>,
    seq: u64,
    timeout: Duration,
    line: Vec<u8>,
    describe: String,
    next_steps: Vec<String>,
    /// Keys beyond [`MAX_KEYS_PER_POLL`] in the last answer.
    pub overflow_keys: u64,
    closed: bool,
}

impl HelperSource {
    /// Python's tracemalloc: bytes and blocks per allocation site.
    /// `command`: how the program was started, for the next steps.
    pub fn python(
        stream: UnixStream,
        hello: Hello,
        timeout: Duration,
        command: &str,
    ) -> Result<Self, WhereError> {
        let site = "allocation site";
        let metrics = vec![
            Metric {
                name: "bytes",
                unit: Unit::Bytes,
                key_kind: site,
            },
            Metric {
                name: "blocks",
                unit: Unit::Objects,
                key_kind: site,
            },
        ];
        let describe = format!(
            "Python {} pid {} (tracemalloc started by leakwatch: live bytes per allocation site)",
            hello.version, hello.pid
        );
        let next = vec![
            format!("leakwatch trace -- {command}   (the allocation stacks of the growing sites)"),
            "PYTHONTRACEMALLOC=25 and tracemalloc.get_object_traceback(obj)   (whole tracebacks of an object from a growing site)".into(),
        ];
        Self::new("Python", stream, hello, metrics, describe, next, timeout)
    }

    /// Ruby's ObjectSpace: live objects per class. `command`: how the
    /// program was started, for the next steps.
    pub fn ruby(
        stream: UnixStream,
        hello: Hello,
        timeout: Duration,
        command: &str,
    ) -> Result<Self, WhereError> {
        let metrics = vec![Metric {
            name: "instances",
            unit: Unit::Objects,
            key_kind: "class",
        }];
        let describe = format!(
            "Ruby {} pid {} (ObjectSpace after a full GC: live objects per class)",
            hello.version, hello.pid
        );
        let next = vec![
            "require 'objspace'; ObjectSpace.trace_object_allocations_start, then ObjectSpace.allocation_sourcefile/sourceline(obj)   (where the growing class's objects are made)".into(),
            format!("leakwatch trace -- {command}   (native allocation stacks)"),
        ];
        Self::new("Ruby", stream, hello, metrics, describe, next, timeout)
    }

    fn new(
        runtime: &'static str,
        stream: UnixStream,
        hello: Hello,
        metrics: Vec<Metric>,
        describe: String,
        next_steps: Vec<String>,
        timeout: Duration,
    ) -> Result<Self, WhereError> {
        let writer = stream
            .try_clone()
            .map_err(|e| WhereError::io("helper socket", e))?;
        Ok(HelperSource {
            runtime,
            hello,
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
            metrics,
            seq: 0,
            timeout,
            line: Vec::with_capacity(256),
            describe,
            next_steps,
            overflow_keys: 0,
            closed: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.hello.pid
    }

    fn gone(&self) -> WhereError {
        WhereError::Gone {
            pid: self.hello.pid,
            during: " (it exited during polling)",
        }
    }
}

impl GrowthSource for HelperSource {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError> {
        let start = Instant::now();
        self.seq += 1;
        let seq = self.seq;
        if let Err(e) = writeln!(self.writer, "poll {seq}") {
            return Err(match e.kind() {
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => self.gone(),
                _ => WhereError::io("asking the helper for a poll", e),
            });
        }
        let deadline = start + self.timeout;
        let mut answer = AnswerReader::new(seq, self.metrics.len());
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(WhereError::Timeout {
                    runtime: self.runtime,
                    after: self.timeout,
                });
            }
            let _ = self.reader.get_ref().set_read_timeout(Some(left));
            let ok = match read_line(&mut self.reader, &mut self.line) {
                Ok(Some(ok)) => ok,
                Ok(None) => break Err(self.gone()),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break Err(WhereError::Timeout {
                        runtime: self.runtime,
                        after: self.timeout,
                    })
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break Err(self.gone()),
                Err(e) => break Err(WhereError::io("reading the helper's answer", e)),
            };
            if !ok {
                continue;
            }
            match answer.feed(&self.line, sink) {
                Step::More => {}
                Step::Done { pause_us } => {
                    break Ok(PollCost {
                        wall: start.elapsed(),
                        target_pause: Some(Duration::from_micros(pause_us)),
                    })
                }
                Step::Failed(detail) => {
                    break Err(WhereError::Protocol {
                        runtime: self.runtime,
                        detail,
                    })
                }
            }
        };
        self.overflow_keys = answer.overflow_keys;
        result
    }

    fn close(&mut self) -> Result<(), WhereError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        // The helper stops its tracing and closes; a program that already
        // exited is fine too.
        let _ = self.writer.write_all(b"stop\n");
        let _ = self.writer.shutdown(std::net::Shutdown::Write);
        // Give it a moment to acknowledge by closing, so tracing is off
        // before the caller goes on.
        let _ = self
            .reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(2)));
        let mut sink = [0u8; 4096];
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            match self.reader.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Ok(())
    }

    fn next_steps(&self) -> Vec<String> {
        self.next_steps.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            parse_line("hello leakwatch-where 1 python 3.11.7 4242"),
            Some(Line::Hello {
                runtime: "python",
                version: "3.11.7",
                pid: 4242
            })
        );
        assert_eq!(parse_line("hello leakwatch-where 2 python 3 1"), None);
        assert_eq!(parse_line("begin 7"), Some(Line::Begin(7)));
        assert_eq!(
            parse_line("v 1 120 handle (app.py:12)"),
            Some(Line::Value {
                metric: 1,
                value: 120.0,
                key: "handle (app.py:12)"
            })
        );
        assert_eq!(
            parse_line("end 7 1500"),
            Some(Line::End {
                seq: 7,
                pause_us: 1500
            })
        );
        assert_eq!(
            parse_line("error 7 MemoryError: boom"),
            Some(Line::Error {
                seq: 7,
                text: "MemoryError: boom"
            })
        );
        for bad in [
            "",
            "v",
            "v 0",
            "v 0 1",
            "v 0 1 ",
            "v x 1 k",
            "v 0 NaN k",
            "v 0 inf k",
            "v 0 -1 k",
            "begin",
            "begin -1",
            "end x",
            "bogus 1",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn long_lines_are_cut_and_reported() {
        let long = "x".repeat(MAX_LINE + 10);
        let text = format!("begin 1\n{long}\nend 1 5\nlast");
        let mut r = BufReader::with_capacity(16, text.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"begin 1");
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), Some(false));
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"end 1 5");
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), Some(true));
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), None);
    }

    /// A fake helper on the other end of a socket pair.
    fn pair(
        answer: impl FnOnce(&mut BufReader<UnixStream>, &mut UnixStream) + Send + 'static,
    ) -> HelperSource {
        let (ours, theirs) = UnixStream::pair().unwrap();
        std::thread::spawn(move || {
            let mut w = theirs.try_clone().unwrap();
            let mut r = BufReader::new(theirs);
            answer(&mut r, &mut w);
        });
        let hello = Hello {
            runtime: "ruby".into(),
            version: "3.1.2".into(),
            pid: 1,
        };
        HelperSource::ruby(ours, hello, Duration::from_millis(500), "ruby x.rb").unwrap()
    }

    #[test]
    fn a_poll_takes_its_own_answer_and_skips_a_stale_one() {
        let mut src = pair(|r, w| {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert_eq!(l, "poll 1\n");
            // A stale answer (seq 0) first, then ours with junk inside.
            w.write_all(b"begin 0\nv 0 99 Stale\nend 0 1\nbegin 1\nv 0 5 Foo\nv 9 1 BadMetric\nnonsense\nv 0 7 Bar\nend 1 250\n")
                .unwrap();
            l.clear();
            r.read_line(&mut l).unwrap();
            assert_eq!(l, "stop\n");
        });
        let mut got = Vec::new();
        let cost = src
            .poll(&mut |m, k, v| got.push((m, k.to_owned(), v)))
            .unwrap();
        assert_eq!(got, [(0, "Foo".into(), 5.0), (0, "Bar".into(), 7.0)]);
        assert_eq!(cost.target_pause, Some(Duration::from_micros(250)));
        src.close().unwrap();
    }

    #[test]
    fn silence_is_a_timeout_and_a_hang_up_is_gone() {
        let mut src = pair(|r, _w| {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            std::thread::sleep(Duration::from_millis(800));
        });
        let e = src.poll(&mut |_, _, _| {}).unwrap_err();
        assert!(e.is_transient(), "{e}");
        std::thread::sleep(Duration::from_millis(500));
        let e = src.poll(&mut |_, _, _| {}).unwrap_err();
        assert!(matches!(e, WhereError::Gone { .. }), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_line_parses_or_is_ignored(line in "\\PC{0,200}") {
            if let Some(Line::Value { value, key, .. }) = parse_line(&line) {
                proptest::prop_assert!(value.is_finite() && value >= 0.0 && !key.is_empty());
            }
        }

        #[test]
        fn values_read_back(metric in 0usize..4, value in 0u64..1<<53, key in "[^\\n\\r]{1,80}") {
            proptest::prop_assume!(!key.trim_end_matches('\r').is_empty() && !key.ends_with('\r'));
            let line = format!("v {metric} {value} {key}");
            proptest::prop_assert_eq!(
                parse_line(&line),
                Some(Line::Value { metric, value: value as f64, key: &key })
            );
        }

        #[test]
        fn an_answer_takes_only_its_own_values(seq in 1u64..1000, stale in 0u64..1000, n in 0usize..20) {
            proptest::prop_assume!(stale != seq);
            let mut text = format!("begin {stale}\nv 0 1 stale\nend {stale} 1\nbegin {seq}\n");
            for i in 0..n {
                text.push_str(&format!("v 0 {i} k{i}\n"));
            }
            text.push_str(&format!("end {seq} 7\n"));
            let mut a = AnswerReader::new(seq, 1);
            let mut got = Vec::new();
            let mut last = Step::More;
            for l in text.lines() {
                last = a.feed(l.as_bytes(), &mut |_, k, _| got.push(k.to_owned()));
                if last != Step::More {
                    break;
                }
            }
            proptest::prop_assert_eq!(last, Step::Done { pause_us: 7 });
            proptest::prop_assert_eq!(got.len(), n);
            proptest::prop_assert!(!got.iter().any(|k| k == "stale"));
        }
    }
}
