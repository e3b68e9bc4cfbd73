//! The JVM: class histograms of a running HotSpot JVM over time.
//!
//! Each poll runs `GC.class_histogram` through the attach mechanism
//! ([`attach`]), and yields each class's bytes and instance count.
//!
//! What a poll costs the target: the histogram is taken at a safepoint, with
//! every Java thread stopped while the VM walks the heap. A histogram of live
//! objects ([`HistogramMode::Live`], the default) first runs a full
//! collection; `-all` ([`HistogramMode::All`]) skips it and counts garbage
//! not yet collected too. The pause per poll is read from the JVM's own
//! counters (`sun.rt.safepointTime`) and reported; the driver stretches the
//! interval when the pauses exceed their budget. See docs/where.md for the
//! measured figures.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{GrowthSource, Metric, Options, PollCost, Unit, WhereError};

pub mod attach;
pub mod histogram;
pub mod perfdata;

use attach::{AttachError, AttachTarget};

/// Which histogram a poll takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HistogramMode {
    /// Reachable objects only: a full GC per poll, exact live counts.
    Live,
    /// Every object in the heap, garbage included: no GC, but counts rise
    /// and fall with the collector's cycle (the detector judges the floors).
    All,
}

impl HistogramMode {
    fn command(self) -> &'static str {
        match self {
            HistogramMode::Live => "GC.class_histogram",
            HistogramMode::All => "GC.class_histogram -all",
        }
    }
}

impl From<AttachError> for WhereError {
    fn from(e: AttachError) -> WhereError {
        match e {
            AttachError::Gone { pid, during } => WhereError::Gone { pid, during },
            AttachError::WrongUser { pid, .. } | AttachError::Refused { pid, .. } => {
                WhereError::Permission {
                    pid,
                    what: "attach to",
                    fix: e.to_string(),
                }
            }
            AttachError::Timeout { after, .. } => WhereError::Timeout {
                runtime: "the JVM",
                after,
            },
            AttachError::Protocol(detail) => WhereError::Protocol {
                runtime: "the JVM",
                detail,
            },
            e @ (AttachError::NotJvm { .. }
            | AttachError::Disabled { .. }
            | AttachError::NoSignalHandler { .. }
            | AttachError::HeldStill { .. }
            | AttachError::ListenerTimeout { .. }
            | AttachError::Failed { .. }) => WhereError::Unsupported(e.to_string()),
            AttachError::Io { context, source } => WhereError::Io { context, source },
        }
    }
}

/// How the histogram is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Socket,
    /// The `jcmd` tool, after the socket answered something this client
    /// did not understand.
    Jcmd,
}

/// Class histograms of one JVM; see the module docs.
pub struct JvmSource {
    target: AttachTarget,
    mode: HistogramMode,
    via: Via,
    jcmd_fallback: bool,
    timeout: Duration,
    metrics: Vec<Metric>,
    last_safepoint_s: Option<f64>,
}

impl JvmSource {
    /// Checks the JVM can be attached to (nothing is changed in it yet).
    pub fn open(pid: i32, opts: &Options) -> Result<JvmSource, WhereError> {
        let target = AttachTarget::open(pid)?;
        Ok(JvmSource {
            target,
            mode: opts.jvm_histogram,
            via: Via::Socket,
            jcmd_fallback: opts.jcmd_fallback,
            timeout: opts.poll_timeout,
            metrics: vec![
                Metric {
                    name: "bytes",
                    unit: Unit::Bytes,
                    key_kind: "class",
                },
                Metric {
                    name: "instances",
                    unit: Unit::Objects,
                    key_kind: "class",
                },
            ],
            last_safepoint_s: None,
        })
    }

    fn histogram_text(&mut self) -> Result<String, WhereError> {
        let cmd = self.mode.command();
        if self.via == Via::Socket {
            match self.target.jcmd(cmd, self.timeout) {
                Ok(text) => return Ok(text),
                Err(AttachError::Protocol(detail)) if self.jcmd_fallback => {
                    if !crate::launch::on_path("jcmd") {
                        return Err(WhereError::Protocol {
                            runtime: "the JVM",
                            detail: format!("{detail} (and no jcmd on PATH to fall back to)"),
                        });
                    }
                    self.via = Via::Jcmd;
                }
                Err(e) => return Err(e.into()),
            }
        }
        jcmd_tool(self.target.pid(), cmd, self.timeout)
    }
}

/// Runs the JDK's `jcmd PID COMMAND...`.
fn jcmd_tool(pid: i32, cmd: &str, timeout: Duration) -> Result<String, WhereError> {
    let mut child = std::process::Command::new("jcmd")
        .arg(pid.to_string())
        .args(cmd.split_whitespace())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| WhereError::io("running jcmd", e))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(WhereError::Timeout {
                    runtime: "jcmd",
                    after: timeout,
                });
            }
            Err(e) => return Err(WhereError::io("waiting for jcmd", e)),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| WhereError::io("reading jcmd's output", e))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(WhereError::Protocol {
            runtime: "jcmd",
            detail: format!(
                "{} {}",
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(text)
}

impl GrowthSource for JvmSource {
    fn describe(&self) -> String {
        let how = match self.mode {
            HistogramMode::Live => "live objects, one full GC per poll",
            HistogramMode::All => "all objects, no GC",
        };
        let via = match self.via {
            Via::Socket => "HotSpot attach",
            Via::Jcmd => "jcmd",
        };
        format!(
            "JVM pid {} ({via}: {}, {how})",
            self.target.pid(),
            self.mode.command()
        )
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    fn poll(&mut self, sink: &mut dyn FnMut(usize, &str, f64)) -> Result<PollCost, WhereError> {
        let start = Instant::now();
        let before = self
            .target
            .counters()
            .and_then(|c| c.safepoint_seconds())
            .or(self.last_safepoint_s);
        let text = self.histogram_text()?;
        let wall = start.elapsed();
        let after = self.target.counters().and_then(|c| c.safepoint_seconds());
        self.last_safepoint_s = after;
        histogram::parse(&text, |class, instances, bytes| {
            sink(0, class, bytes as f64);
            sink(1, class, instances as f64);
        })
        .map_err(|e| WhereError::Protocol {
            runtime: "the JVM",
            detail: e.to_string(),
        })?;
        // Time at safepoints during the poll: the histogram's own pause
        // (and any collection that happened to run meanwhile).
        let target_pause = match (before, after) {
            (Some(b), Some(a)) if a >= b => Some(Duration::from_secs_f64(a - b).min(wall)),
            _ => None,
        };
        Ok(PollCost { wall, target_pause })
    }

    fn close(&mut self) -> Result<(), WhereError> {
        // Nothing to undo: the attach file was removed after the listener
        // started, and the listener stays, as after any `jcmd`.
        Ok(())
    }

    fn next_steps(&self) -> Vec<String> {
        let pid = self.target.pid();
        vec![
            format!("leakwatch snapshot --jvm {pid}   (heap dumps over time, diffed: who holds the growing objects)"),
            format!("jcmd {pid} GC.heap_dump /tmp/{pid}.hprof   (one heap dump, for any HPROF viewer)"),
        ]
    }
}
