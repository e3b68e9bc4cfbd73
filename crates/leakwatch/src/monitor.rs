//! The sampling loop shared by `run` and `watch`: sample the target on a
//! fixed cadence, feed the detectors, record the CSV, print progress and
//! events. Nothing here grows with the length of the run: the detectors and
//! the sparkline buffer are bounded, and rows go straight to the file.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use leakwatch_core::analysis::ResourceTransition;
use leakwatch_core::format::SparkBuffer;
use leakwatch_core::{format, DetectorConfig, LeakState, LimitKind, Report, Resource, ResourceSet};
use leakwatch_probe::{Target, TargetEvent};

/// Settings common to `run` and `watch`.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub interval_s: f64,
    pub duration_s: Option<f64>,
    pub json_events: bool,
    pub out: Option<PathBuf>,
    pub season_s: Option<f64>,
    pub restart_warmup_s: f64,
}

/// Why sampling stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Duration,
    TargetExited,
    Interrupted,
    /// The caller's `keep_going` said stop (e.g. the load generator ended).
    Caller,
}

pub struct Monitor {
    target: Target,
    set: ResourceSet,
    csv: Option<CsvOut>,
    values: Vec<f64>,
    events: Vec<TargetEvent>,
    spark: Vec<SparkBuffer>,
    settings: MonitorSettings,
    tty: bool,
    status: String,
    /// The process sampled now and when it started (Unix seconds), written
    /// into every CSV row so a replay knows every restart.
    pid: Option<i32>,
    start_time_s: Option<f64>,
    pub samples: u64,
    pub elapsed_s: f64,
}

struct CsvOut {
    path: PathBuf,
    w: BufWriter<File>,
    with_identity: bool,
}

impl Monitor {
    pub fn new(target: Target, settings: MonitorSettings) -> anyhow::Result<Monitor> {
        let mut cfg = DetectorConfig::for_interval(settings.interval_s);
        if let Some(s) = settings.season_s {
            cfg.season_s = s;
        }
        let resources: Vec<Resource> = target.resources().to_vec();
        let mut set = ResourceSet::new(&resources, &cfg);
        set.set_restart_warmup(settings.restart_warmup_s);
        // Processes have an identity (instance, pid, start time); a cgroup
        // has none of its own.
        let pid = match target.spec() {
            leakwatch_probe::TargetSpec::Pid { pid, .. } => Some(*pid),
            _ => None,
        };
        let with_identity = !matches!(target.spec(), leakwatch_probe::TargetSpec::Cgroup { .. });
        let csv = match &settings.out {
            Some(path) => Some(CsvOut::create(path, &resources, with_identity)?),
            None => None,
        };
        Ok(Monitor {
            spark: resources.iter().map(|_| SparkBuffer::new(120)).collect(),
            target,
            set,
            csv,
            values: Vec::new(),
            events: Vec::new(),
            settings,
            tty: std::io::stderr().is_terminal(),
            status: String::with_capacity(160),
            start_time_s: pid.and_then(process_start_unix_s),
            pid,
            samples: 0,
            elapsed_s: 0.0,
        })
    }

    pub fn report(&self) -> Report {
        self.set.report()
    }

    /// The sparkline of one resource over the whole run.
    pub fn sparkline(&self, r: Resource) -> String {
        let i = self.target.resources().iter().position(|x| *x == r);
        i.map(|i| format::sparkline(self.spark[i].values(), 60))
            .unwrap_or_default()
    }

    /// Samples until the duration ends, the target exits (for pid targets),
    /// a signal arrives, or `keep_going` returns false.
    pub fn run_loop(
        &mut self,
        stop: &AtomicBool,
        exit_on_target_exit: bool,
        mut keep_going: impl FnMut() -> bool,
    ) -> anyhow::Result<StopReason> {
        let start = Instant::now();
        for r in self.target.resources().to_vec() {
            let limit = self.target.limit(r);
            self.set
                .set_named_limit(r, limit, limit_kind(r, limit.unwrap_or(0.0)));
        }
        let interval = Duration::from_secs_f64(self.settings.interval_s.max(0.01));
        let mut warned = false;
        let mut next = start;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(StopReason::Interrupted);
            }
            let t = start.elapsed().as_secs_f64();
            if self.settings.duration_s.is_some_and(|d| t >= d) {
                return Ok(StopReason::Duration);
            }
            if !keep_going() {
                return Ok(StopReason::Caller);
            }
            self.elapsed_s = t;
            let sampled = self.sample_once(t)?;
            if sampled && !warned {
                warned = true;
                for w in self.target.unavailable() {
                    self.clear_status();
                    eprintln!("leakwatch: warning: {w}");
                }
            }
            if !sampled && exit_on_target_exit && self.target_exited() {
                return Ok(StopReason::TargetExited);
            }
            next += interval;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else {
                // Fell behind (suspended, overloaded): skip missed ticks rather than burst.
                next = now;
            }
        }
    }

    fn target_exited(&self) -> bool {
        self.target.pids().is_empty()
    }

    fn sample_once(&mut self, t: f64) -> anyhow::Result<bool> {
        self.events.clear();
        let ok = match self.target.read(&mut self.values, &mut self.events) {
            Ok(ok) => ok,
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("sampling {}", self.target.label()))
                )
            }
        };
        let events = std::mem::take(&mut self.events);
        for e in &events {
            match e {
                TargetEvent::Restarted { pids, .. } => {
                    self.set.restart(t);
                    self.pid = pids.first().copied();
                    self.start_time_s = self.pid.and_then(process_start_unix_s);
                }
                TargetEvent::Attached { pids } => {
                    self.pid = pids.first().copied();
                    self.start_time_s = self.pid.and_then(process_start_unix_s);
                }
                _ => {}
            }
            self.emit_target_event(t, e);
        }
        self.events = events;
        if !ok {
            return Ok(false);
        }
        self.samples += 1;
        // Disjoint field borrows, so nothing is copied per sample.
        for (i, r) in self.target.resources().iter().enumerate() {
            let v = self.values[i];
            if v.is_finite() {
                self.spark[i].push(v);
            }
            if let Some(tr) = self.set.push(*r, t, v) {
                emit_transition(
                    &self.set,
                    &self.target,
                    self.settings.json_events,
                    self.tty,
                    &tr,
                );
            }
        }
        if let Some(csv) = &mut self.csv {
            let instance = self.target.instance().max(1);
            csv.row(t, &self.values, instance, self.pid, self.start_time_s)?;
        }
        if self.tty {
            self.status_line(t);
        }
        Ok(true)
    }

    /// Redraws the one-line status on the terminal, formatted into a kept buffer.
    fn status_line(&mut self, t: f64) {
        use std::fmt::Write as _;
        let main = self.target.resources()[0];
        let Some(a) = self.set.detector(main).and_then(|d| d.latest()) else {
            return;
        };
        let line = &mut self.status;
        line.clear();
        line.push_str("\r\x1b[K[");
        match self.settings.duration_s {
            Some(total) => line.push_str(&crate::term::progress(t, total)),
            None => {
                let _ = format::write_duration(line, t);
            }
        }
        let _ = write!(line, "] {} ", main.column());
        let _ = main.write_value(line, a.current);
        line.push_str("  ");
        let _ = main.write_rate(line, a.rate_per_hour);
        let _ = write!(line, "  {}", self.set.overall_state());
        for (label, r) in [("fds", Resource::Fds), ("threads", Resource::Threads)] {
            if let Some(x) = self.set.detector(r).and_then(|d| d.latest()) {
                let _ = write!(line, "  {label} {:.0}", x.current);
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    /// Clears the status line before other output.
    pub fn clear_status(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }

    fn emit_target_event(&self, t: f64, e: &TargetEvent) {
        let (name, detail) = match e {
            TargetEvent::Attached { pids } => ("attached", format!("pids {pids:?}")),
            TargetEvent::Exited => ("exited", String::new()),
            TargetEvent::Restarted { instance, pids } => {
                ("restart", format!("instance {instance}, pids {pids:?}"))
            }
            TargetEvent::OomKilled { total } => ("oom_kill", format!("{total} OOM kills so far")),
        };
        if self.settings.json_events {
            let mut v = serde_json::json!({"version": 1, "event": name, "t_s": t, "target": self.target.label()});
            match e {
                TargetEvent::Attached { pids } => v["pids"] = serde_json::json!(pids),
                TargetEvent::Restarted { instance, pids } => {
                    v["instance"] = serde_json::json!(instance);
                    v["restarts"] = serde_json::json!(instance - 1);
                    v["pids"] = serde_json::json!(pids);
                }
                TargetEvent::OomKilled { total } => v["oom_kills"] = serde_json::json!(total),
                TargetEvent::Exited => {}
            }
            println!("{v}");
        } else {
            self.clear_status();
            eprintln!(
                "[{}] {} {name} {detail}",
                format::duration(t),
                self.target.label()
            );
        }
    }

    /// Flushes the CSV; called on every exit path.
    pub fn finish(&mut self) -> anyhow::Result<Option<PathBuf>> {
        self.clear_status();
        match &mut self.csv {
            Some(csv) => {
                csv.w
                    .flush()
                    .with_context(|| format!("writing {}", csv.path.display()))?;
                Ok(Some(csv.path.clone()))
            }
            None => Ok(None),
        }
    }
}

/// Prints one state change (text on stderr, or a JSON line on stdout).
fn emit_transition(
    set: &ResourceSet,
    target: &Target,
    json: bool,
    tty: bool,
    tr: &ResourceTransition,
) {
    let Some(d) = set.detector(tr.resource) else {
        return;
    };
    let a = d.assessment();
    let alert = tr.transition.to == LeakState::Leak;
    if json {
        let v = serde_json::json!({
            "version": 1,
            "event": if alert { "alert" } else { "state" },
            "t_s": tr.transition.t_s,
            "target": target.label(),
            "resource": tr.resource,
            "from": tr.transition.from,
            "to": tr.transition.to,
            "value": a.current,
            "growth_per_hour": a.rate_per_hour,
            "growth_per_hour_ci": [a.rate_low_per_hour, a.rate_high_per_hour],
            "time_to_limit_s": a.time_to_limit_s,
            "limit_kind": a.limit_kind,
            "reason": a.evidence.reason,
        });
        println!("{v}");
    } else {
        if tty {
            eprint!("\r\x1b[K");
        }
        let ttl = a
            .time_to_limit_s
            .map(|s| {
                let which = a
                    .limit_kind
                    .map_or_else(|| "limit".to_string(), |k| k.to_string());
                format!(", {which} reached in ~{}", format::duration(s))
            })
            .unwrap_or_default();
        let color = crate::term::stderr_color();
        let tone = match tr.transition.to {
            LeakState::Leak => crate::term::Tone::Bad,
            LeakState::Growing => crate::term::Tone::Warn,
            _ => crate::term::Tone::Good,
        };
        eprintln!(
            "{}[{}] {} {}: {} -> {} ({}{}) {}",
            if alert {
                crate::term::paint("ALERT", crate::term::Tone::Bad, color) + " "
            } else {
                String::new()
            },
            format::duration(tr.transition.t_s),
            target.label(),
            tr.resource,
            tr.transition.from,
            crate::term::paint(&tr.transition.to.to_string(), tone, color),
            tr.resource.show_rate(a.rate_per_hour),
            ttl,
            a.evidence.reason
        );
    }
}

/// Opens `path` for writing from scratch, never through a symbolic link
/// (O_NOFOLLOW) and only as a regular file: a link, device, FIFO or
/// directory at the path is refused, not written into.
fn create_regular(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = || {
        anyhow::anyhow!(
            "--out {}: exists and is not a regular file (links, directories and devices are refused); choose another path",
            path.display()
        )
    };
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return Err(refuse());
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) || e.raw_os_error() == Some(libc::ENXIO) {
                refuse()
            } else {
                anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
            }
        })?;
    // Checked on the open file: what was opened is what is written.
    if !file.metadata().is_ok_and(|m| m.file_type().is_file()) {
        return Err(refuse());
    }
    file.set_len(0)
        .with_context(|| format!("cannot truncate {}", path.display()))?;
    // SAFETY: fcntl on our own descriptor: back to blocking writes.
    unsafe {
        use std::os::fd::AsRawFd;
        libc::fcntl(file.as_raw_fd(), libc::F_SETFL, 0);
    }
    Ok(file)
}

impl CsvOut {
    fn create(path: &Path, resources: &[Resource], with_identity: bool) -> anyhow::Result<CsvOut> {
        let file = create_regular(path)?;
        let mut w = BufWriter::new(file);
        let mut header = String::from("t_s");
        for r in resources {
            header.push(',');
            header.push_str(r.column());
        }
        if with_identity {
            // A change of any of them between rows is a restart.
            header.push_str(",instance,pid,start_time_s");
        }
        writeln!(w, "{header}")?;
        w.flush()?;
        Ok(CsvOut {
            path: path.to_path_buf(),
            w,
            with_identity,
        })
    }

    /// Writes and flushes one row, so a killed run leaves every sample taken.
    fn row(
        &mut self,
        t: f64,
        values: &[f64],
        instance: u64,
        pid: Option<i32>,
        start_time_s: Option<f64>,
    ) -> anyhow::Result<()> {
        write!(self.w, "{t:.3}")?;
        for v in values {
            if v.is_finite() {
                write!(self.w, ",{v:.0}")?;
            } else {
                write!(self.w, ",")?;
            }
        }
        if self.with_identity {
            write!(self.w, ",{instance},")?;
            if let Some(pid) = pid {
                write!(self.w, "{pid}")?;
            }
            write!(self.w, ",")?;
            if let Some(s) = start_time_s {
                write!(self.w, "{s:.2}")?;
            }
        }
        writeln!(self.w)?;
        self.w
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// What the limit of `r` is: the probe gives the cgroup's memory limit when
/// one is set and below the host's memory, else the host's memory.
pub(crate) fn limit_kind(r: Resource, limit: f64) -> LimitKind {
    match r {
        Resource::Fds => LimitKind::FdSoftLimit,
        Resource::Threads => LimitKind::ThreadsMax,
        _ => match leakwatch_probe::system::mem_total() {
            Some(host) if host as f64 == limit => LimitKind::HostMemory,
            _ => LimitKind::CgroupMemory,
        },
    }
}

/// When `pid` started, in Unix seconds: its start in clock ticks after boot
/// (/proc/PID/stat, field 22) plus the boot time (/proc/stat `btime`).
/// Read once per attach or restart, never per sample.
fn process_start_unix_s(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 2..];
    let ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let btime: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| btime + ticks / hz as f64)
}

/// Installs SIGINT/SIGTERM/SIGHUP handlers that set the returned flag, so
/// an interrupted run still prints its verdict, keeps its CSV and cleans
/// up what it changed (a Node inspector it opened, a program it started).
/// SIGHUP is a closed terminal or a dropped ssh session: by default it
/// would kill leakwatch with nothing cleaned up.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&flag))
            .context("installing signal handlers")?;
    }
    Ok(flag)
}
