//! What `run` and `watch` sample: a process, a process tree, every process
//! matching a name (joined across restarts), or a cgroup. Each read yields
//! values per [`Resource`] plus lifecycle events.

use leakwatch_core::Resource;

use crate::cgroup::CgroupProbe;
use crate::process::{find_by_name, ProcessProbe, SampleDepth, TreeProbe};
use crate::{system, ProbeError};

/// What to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Pid { pid: i32, tree: bool },
    Name { pattern: String, tree: bool },
    Cgroup { path: String },
}

/// Something that happened to the target between two reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetEvent {
    /// The first instance was found (pids).
    Attached { pids: Vec<i32> },
    /// The target is gone: a pid exited, or every process matching the name did.
    Exited,
    /// A new instance replaced the old one (restart); `instance` counts from 1.
    Restarted { instance: u64, pids: Vec<i32> },
    /// The cgroup's OOM-kill counter rose to `total`.
    OomKilled { total: u64 },
}

/// A sampled target.
pub struct Target {
    spec: TargetSpec,
    depth: SampleDepth,
    resources: Vec<Resource>,
    kind: Kind,
    /// Counts instances seen (name targets), starting at 1.
    instance: u64,
    oom_kills: Option<u64>,
    /// Reads since the last /proc scan for new matching processes.
    reads_since_scan: u32,
}

/// While a name target has live members, /proc is scanned for new ones only
/// every this many reads: a scan costs far more than sampling the members.
const NAME_RESCAN_EVERY: u32 = 5;

enum Kind {
    Process(Option<TreeOrSingle>),
    Name(Vec<TreeOrSingle>),
    Cgroup(CgroupProbe),
}

enum TreeOrSingle {
    Single(ProcessProbe),
    Tree(TreeProbe),
}

impl TreeOrSingle {
    fn attach(pid: i32, tree: bool, depth: SampleDepth) -> Result<Self, ProbeError> {
        Ok(if tree {
            TreeOrSingle::Tree(TreeProbe::attach(pid, depth)?)
        } else {
            TreeOrSingle::Single(ProcessProbe::attach(pid, depth)?)
        })
    }
    fn pid(&self) -> i32 {
        match self {
            TreeOrSingle::Single(p) => p.pid(),
            TreeOrSingle::Tree(t) => t.root().pid(),
        }
    }
    fn sample(&mut self) -> Result<crate::ProcessSample, ProbeError> {
        match self {
            TreeOrSingle::Single(p) => p.sample(),
            TreeOrSingle::Tree(t) => t.sample(),
        }
    }
}

const PROCESS_RESOURCES: [Resource; 6] = [
    Resource::RssBytes,
    Resource::PssBytes,
    Resource::AnonBytes,
    Resource::SwapBytes,
    Resource::Threads,
    Resource::Fds,
];

impl Target {
    /// Opens a target. A pid or cgroup must exist now; a name may match
    /// nothing yet (the service may be starting).
    pub fn open(spec: TargetSpec, depth: SampleDepth) -> Result<Target, ProbeError> {
        let (kind, resources) = match &spec {
            TargetSpec::Pid { pid, tree } => (
                Kind::Process(Some(TreeOrSingle::attach(*pid, *tree, depth)?)),
                PROCESS_RESOURCES.to_vec(),
            ),
            // An empty pattern would match nothing, forever, and end in an
            // empty "no leak".
            TargetSpec::Name { pattern, .. } if pattern.trim().is_empty() => {
                return Err(ProbeError::EmptyPattern)
            }
            TargetSpec::Name { .. } => (Kind::Name(Vec::new()), PROCESS_RESOURCES.to_vec()),
            TargetSpec::Cgroup { path } => (
                Kind::Cgroup(CgroupProbe::open(path)?),
                vec![Resource::CgroupBytes, Resource::CgroupAnonBytes],
            ),
        };
        let resources = if depth == SampleDepth::Fast {
            resources
                .into_iter()
                .filter(|r| !matches!(r, Resource::PssBytes | Resource::SwapBytes))
                .collect()
        } else {
            resources
        };
        Ok(Target {
            spec,
            depth,
            resources,
            kind,
            instance: 0,
            oom_kills: None,
            reads_since_scan: 0,
        })
    }

    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// The resources this target reports, in CSV column order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// Current instance number (1 for the first; 0 before any was found).
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// Pids sampled now.
    pub fn pids(&self) -> Vec<i32> {
        match &self.kind {
            Kind::Process(Some(p)) => vec![p.pid()],
            Kind::Process(None) | Kind::Cgroup(_) => Vec::new(),
            Kind::Name(ps) => ps.iter().map(TreeOrSingle::pid).collect(),
        }
    }

    /// A short name for messages.
    pub fn label(&self) -> String {
        match &self.spec {
            TargetSpec::Pid { pid, .. } => format!("pid {pid}"),
            TargetSpec::Name { pattern, .. } => pattern.clone(),
            TargetSpec::Cgroup { path } => path.clone(),
        }
    }

    /// Resources that cannot be read for this target, with the reason and
    /// the fix, for a warning at start (another user's process hides its fd
    /// table and smaps from us).
    pub fn unavailable(&self) -> Vec<String> {
        let mut out = Vec::new();
        let probes: Vec<&ProcessProbe> = match &self.kind {
            Kind::Process(Some(TreeOrSingle::Single(p))) => vec![p],
            Kind::Process(Some(TreeOrSingle::Tree(t))) => vec![t.root()],
            Kind::Name(ms) => ms
                .iter()
                .map(|m| match m {
                    TreeOrSingle::Single(p) => p,
                    TreeOrSingle::Tree(t) => t.root(),
                })
                .collect(),
            _ => Vec::new(),
        };
        if let Some(p) = probes.iter().find(|p| p.fds_denied()) {
            out.push(format!(
                "cannot read /proc/{}/fd: open fds are not sampled (run as the target's user or as root)",
                p.pid()
            ));
        }
        if let Some(p) = probes.iter().find(|p| p.pss_unavailable()) {
            out.push(format!(
                "cannot read /proc/{}/smaps_rollup: PSS and swap are not sampled (another user's process, or a kernel older than 4.14)",
                p.pid()
            ));
        }
        out
    }

    /// The limit each resource can grow to, for time-to-limit estimates.
    pub fn limit(&self, r: Resource) -> Option<f64> {
        let pid = self.pids().first().copied();
        let v = match (r, &self.kind) {
            (Resource::CgroupBytes | Resource::CgroupAnonBytes, Kind::Cgroup(c)) => {
                c.limit().or_else(system::mem_total)
            }
            (Resource::Fds, _) => pid.and_then(system::fd_limit_of),
            (Resource::Threads, _) => system::threads_max(),
            (_, _) => pid
                .and_then(system::memory_limit_of)
                .or_else(system::mem_total),
        };
        v.map(|v| v as f64)
    }

    /// Reads one sample into `values` (one entry per [`Target::resources`],
    /// NaN where unavailable) and appends lifecycle events. Returns `false`
    /// when nothing could be sampled (the target is gone or not there yet).
    pub fn read(
        &mut self,
        values: &mut Vec<f64>,
        events: &mut Vec<TargetEvent>,
    ) -> Result<bool, ProbeError> {
        values.clear();
        values.resize(self.resources.len(), f64::NAN);
        match &mut self.kind {
            Kind::Process(slot) => {
                let Some(p) = slot else { return Ok(false) };
                if self.instance == 0 {
                    self.instance = 1;
                }
                match p.sample() {
                    Ok(s) => {
                        fill(&self.resources, &s, values);
                        Ok(true)
                    }
                    Err(e) if e.is_gone() => {
                        *slot = None;
                        events.push(TargetEvent::Exited);
                        Ok(false)
                    }
                    Err(e) => Err(e),
                }
            }
            Kind::Name(members) => {
                let TargetSpec::Name { pattern, tree } = &self.spec else {
                    unreachable!("name kind")
                };
                let had_members = !members.is_empty();
                let mut total = crate::ProcessSample::default();
                let mut any = false;
                let mut lost = false;
                let mut i = 0;
                while i < members.len() {
                    match members[i].sample() {
                        Ok(s) => {
                            add(&mut total, &s);
                            any = true;
                            i += 1;
                        }
                        Err(_) => {
                            members.swap_remove(i);
                            lost = true;
                        }
                    }
                }
                // New matching processes: with --tree, children of a member are
                // already counted inside it.
                let mut fresh = Vec::new();
                self.reads_since_scan += 1;
                let scan = members.is_empty() || lost || self.reads_since_scan >= NAME_RESCAN_EVERY;
                if scan {
                    self.reads_since_scan = 0;
                }
                // Only a scan allocates: reading known members does not.
                let candidates = if scan {
                    find_by_name(pattern)
                } else {
                    Vec::new()
                };
                let known: Vec<i32> = if candidates.is_empty() {
                    Vec::new()
                } else {
                    members.iter().map(TreeOrSingle::pid).collect()
                };
                for pid in candidates {
                    if known.contains(&pid) || (*tree && is_descendant_of_any(pid, &known)) {
                        continue;
                    }
                    if let Ok(mut m) = TreeOrSingle::attach(pid, *tree, self.depth) {
                        if let Ok(s) = m.sample() {
                            add(&mut total, &s);
                            any = true;
                            fresh.push(pid);
                            members.push(m);
                        }
                    }
                }
                if lost && members.is_empty() {
                    events.push(TargetEvent::Exited);
                }
                if !fresh.is_empty() {
                    if self.instance == 0 {
                        self.instance = 1;
                        events.push(TargetEvent::Attached { pids: fresh });
                    } else if lost || !had_members {
                        self.instance += 1;
                        events.push(TargetEvent::Restarted {
                            instance: self.instance,
                            pids: fresh,
                        });
                    }
                }
                if any {
                    fill(&self.resources, &total, values);
                }
                Ok(any)
            }
            Kind::Cgroup(c) => {
                if self.instance == 0 {
                    self.instance = 1;
                }
                let s = match c.sample() {
                    Ok(s) => s,
                    Err(e) if e.is_gone() => {
                        events.push(TargetEvent::Exited);
                        return Ok(false);
                    }
                    Err(e) => return Err(e),
                };
                if let (Some(before), Some(now)) = (self.oom_kills, s.oom_kills) {
                    if now > before {
                        events.push(TargetEvent::OomKilled { total: now });
                    }
                }
                self.oom_kills = s.oom_kills;
                for (v, r) in values.iter_mut().zip(&self.resources) {
                    *v = match r {
                        Resource::CgroupBytes => s.usage_bytes as f64,
                        Resource::CgroupAnonBytes => s.anon_bytes.map_or(f64::NAN, |a| a as f64),
                        _ => f64::NAN,
                    };
                }
                Ok(true)
            }
        }
    }
}

fn is_descendant_of_any(pid: i32, roots: &[i32]) -> bool {
    let mut cur = pid;
    for _ in 0..64 {
        let Ok(stat) = std::fs::read(format!("/proc/{cur}/stat")) else {
            return false;
        };
        let Some((_, ppid, _, _)) = crate::parse::stat_summary(&stat) else {
            return false;
        };
        if roots.contains(&ppid) {
            return true;
        }
        if ppid <= 1 {
            return false;
        }
        cur = ppid;
    }
    false
}

fn add(total: &mut crate::ProcessSample, s: &crate::ProcessSample) {
    total.rss_bytes += s.rss_bytes;
    total.threads += s.threads;
    let add_opt = |a: &mut Option<u64>, b: Option<u64>| {
        if let Some(b) = b {
            *a = Some(a.unwrap_or(0) + b);
        }
    };
    add_opt(&mut total.pss_bytes, s.pss_bytes);
    add_opt(&mut total.anon_bytes, s.anon_bytes);
    add_opt(&mut total.swap_bytes, s.swap_bytes);
    add_opt(&mut total.fds, s.fds);
}

fn fill(resources: &[Resource], s: &crate::ProcessSample, values: &mut [f64]) {
    let opt = |v: Option<u64>| v.map_or(f64::NAN, |v| v as f64);
    for (v, r) in values.iter_mut().zip(resources) {
        *v = match r {
            Resource::RssBytes => s.rss_bytes as f64,
            Resource::PssBytes => opt(s.pss_bytes),
            Resource::AnonBytes => opt(s.anon_bytes),
            Resource::SwapBytes => opt(s.swap_bytes),
            Resource::Threads => s.threads as f64,
            Resource::Fds => opt(s.fds),
            _ => f64::NAN,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_target_counts_restarts() {
        let marker = format!("lwtest{}", std::process::id());
        let spawn = || {
            // bash, not sh: dash has no `exec -a`.
            std::process::Command::new("bash")
                .args(["-c", "exec -a \"$0\" sleep 30", &marker])
                .spawn()
                .unwrap()
        };
        let mut t = Target::open(
            TargetSpec::Name {
                pattern: marker.clone(),
                tree: false,
            },
            SampleDepth::Fast,
        )
        .unwrap();
        let (mut values, mut events) = (Vec::new(), Vec::new());
        assert!(
            !t.read(&mut values, &mut events).unwrap(),
            "nothing matches yet"
        );
        let mut a = spawn();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(t.read(&mut values, &mut events).unwrap());
        assert!(
            matches!(events.as_slice(), [TargetEvent::Attached { .. }]),
            "{events:?}"
        );
        assert!(values[0] > 0.0);
        events.clear();
        a.kill().unwrap();
        a.wait().unwrap();
        assert!(!t.read(&mut values, &mut events).unwrap());
        assert_eq!(events, vec![TargetEvent::Exited]);
        events.clear();
        let mut b = spawn();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(t.read(&mut values, &mut events).unwrap());
        assert!(
            matches!(
                events.as_slice(),
                [TargetEvent::Restarted { instance: 2, .. }]
            ),
            "{events:?}"
        );
        b.kill().unwrap();
        b.wait().unwrap();
    }
}
