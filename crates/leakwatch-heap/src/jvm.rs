//! Comparing Java heap dumps of one JVM.
//!
//! HPROF object ids are addresses: a moving collector (every collector in
//! HotSpot, and the full collection that `jcmd GC.heap_dump` itself
//! triggers) changes them between dumps, so objects cannot be matched one
//! by one as V8 snapshots can. What survives a move is where an object
//! sits: its shortest retainer path from a GC root (a static field, a
//! thread, a local variable) as field names and classes. Each dump's objects
//! are grouped by that path (element indices become `[]`, and a run of
//! steps into the same class, as in a linked list or a tree, counts as one
//! step), and the groups are compared across dumps by count and by the
//! bytes reached through them. A group that grows at every step, judged by
//! [`leakwatch_core::few`] like a class, is a leak; the topmost such group on
//! a path is reported, the ones below it are what it keeps alive.
//!
//! What this costs in precision: a group's count is a net figure, so
//! objects replaced one for one (a bounded cache) show as no growth, which
//! is the point, but a leak that is exactly offset by shrinkage on the same
//! path is invisible; an object whose shortest path changes between dumps
//! moves from one group to another; and no single object can be followed
//! (no "this object was already there"), so the "allocated after BASE and
//! still alive" count of V8 snapshots is estimated per path as
//! `min(TARGET, FINAL) − BASE`.

use std::collections::HashMap;

use serde::Serialize;

use crate::diff::{ClassCount, ClassDelta, ClassTotals, DiffOptions, IntMap};
use crate::error::HeapError;
use crate::hprof::{simple_name, HeapDump, ObjIdx, RootKind, ThreadId, ELEMENT};
use leakwatch_core::detector::LeakState;
use leakwatch_core::few::{judge, ClassTrend, TrendInput};

const NONE: u32 = u32::MAX;

/// Stable 64-bit hash of a string (FNV-1a), the same in every dump and run.
fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Mixes a path step into its parent's signature (splitmix64's finalizer).
fn mix(parent: u64, label: u64, class: u64) -> u64 {
    let mut z = parent
        .rotate_left(5)
        .wrapping_add(label.rotate_left(23) ^ class)
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Digit runs replaced by `*`: `pool-1-thread-2` → `pool-*-thread-*`, so
/// the threads of one pool hold one root.
fn normalize_thread(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_digits = false;
    for c in name.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('*');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

fn root_rank(k: &RootKind) -> u8 {
    match k {
        RootKind::Static { .. } => 0,
        RootKind::Thread { .. } => 1,
        RootKind::JniGlobal => 2,
        RootKind::JavaFrame { .. } => 3,
        RootKind::JniLocal { .. } => 4,
        RootKind::NativeStack { .. } => 5,
        RootKind::ThreadBlock { .. } => 6,
        RootKind::StickyClass => 7,
        RootKind::Monitor => 8,
        RootKind::Other => 9,
    }
}

/// A root's grouping key and its display.
fn root_label(d: &HeapDump, kind: &RootKind, obj: ObjIdx) -> (String, String) {
    let thread = |serial: u32| -> (String, String) {
        match d.thread_names.get(&serial) {
            Some(n) => (normalize_thread(n), n.clone()),
            None => ("?".into(), format!("#{serial}")),
        }
    };
    match *kind {
        RootKind::Static { class, field } => {
            let c = &d.classes[class as usize].name;
            let f = d.label(field);
            (
                format!("S:{c}.{f}"),
                format!("{}.{f} (static)", simple_name(c)),
            )
        }
        RootKind::Thread { serial } => {
            let (key, name) = thread(serial);
            let shown = if key == name { name } else { key.clone() };
            (format!("T:{key}"), format!("thread \"{shown}\""))
        }
        RootKind::JavaFrame { thread: t, depth } => {
            let (key, name) = thread(t);
            let method = d
                .thread_frames
                .get(&t)
                .and_then(|f| f.get(depth as usize))
                .cloned()
                .unwrap_or_else(|| "?".into());
            let shown = if key == name { name } else { key.clone() };
            (
                format!("F:{method}@{key}"),
                format!("local variable in {method} (thread \"{shown}\")"),
            )
        }
        RootKind::JniLocal { thread: t } => {
            let (key, _) = thread(t);
            (
                format!("JL:{key}"),
                format!("(JNI local, thread \"{key}\")"),
            )
        }
        RootKind::NativeStack { thread: t } => {
            let (key, _) = thread(t);
            (
                format!("N:{key}"),
                format!("(native stack, thread \"{key}\")"),
            )
        }
        RootKind::ThreadBlock { thread: t } => {
            let (key, _) = thread(t);
            (format!("B:{key}"), format!("(thread block \"{key}\")"))
        }
        RootKind::JniGlobal => ("G".into(), "(JNI global)".into()),
        RootKind::StickyClass => {
            let c = d.class_name(obj);
            (
                format!("C:{c}"),
                format!("(system class) {}", simple_name(c)),
            )
        }
        RootKind::Monitor => ("M".into(), "(monitor)".into()),
        RootKind::Other => ("O".into(), "(root)".into()),
    }
}

/// Shortest retainer paths and their group signatures.
struct Paths {
    /// Parent object on the shortest path; `NONE` if unreachable; for a
    /// root object, `NONE - 1 - root index`.
    parent: Vec<u32>,
    /// Objects in BFS order.
    order: Vec<ObjIdx>,
    sig: Vec<u64>,
    /// Root labels (key, display) by root index.
    root_labels: Vec<(String, String)>,
}

/// Marks a root object's `parent`: the flag plus the root label's index.
const ROOT_FLAG: u32 = 1 << 31;

/// Whether a `parent` value names an object (not a root mark or `NONE`).
fn is_obj(p: u32) -> bool {
    p < ROOT_FLAG
}

impl Paths {
    fn root_of(&self, o: ObjIdx) -> Option<usize> {
        let p = self.parent[o as usize];
        (p != NONE && !is_obj(p)).then_some((p & !ROOT_FLAG) as usize)
    }

    fn parent_obj(&self, o: ObjIdx) -> Option<ObjIdx> {
        let p = self.parent[o as usize];
        is_obj(p).then_some(p)
    }
}

fn retainer_paths(d: &HeapDump) -> Paths {
    let n = d.object_count();
    let mut parent = vec![NONE; n];
    let mut sig = vec![0u64; n];
    let mut order: Vec<ObjIdx> = Vec::with_capacity(n);
    let mut roots: Vec<(u8, usize)> = d
        .roots
        .iter()
        .enumerate()
        .map(|(i, r)| (root_rank(&r.kind), i))
        .collect();
    roots.sort_by_key(|&(rank, i)| (rank, i));
    let mut root_labels: Vec<(String, String)> = Vec::new();
    let mut root_index: HashMap<String, u32> = HashMap::new();
    for &(_, i) in &roots {
        let r = d.roots[i];
        if parent[r.obj as usize] != NONE {
            continue;
        }
        let (key, display) = root_label(d, &r.kind, r.obj);
        let k = *root_index.entry(key.clone()).or_insert_with(|| {
            root_labels.push((key.clone(), display));
            root_labels.len() as u32 - 1
        });
        parent[r.obj as usize] = ROOT_FLAG | k;
        sig[r.obj as usize] = mix(hash_str(&key), 0, hash_str(d.class_name(r.obj)));
        order.push(r.obj);
    }
    // Class objects hold their static fields and loaders: all are roots
    // (a class lives as long as its loader, which for application classes
    // is the life of the JVM).
    let class_obj: Vec<ObjIdx> = d.classes.iter().filter_map(|c| d.find(c.id)).collect();
    for o in class_obj {
        if parent[o as usize] != NONE {
            continue;
        }
        let key = format!("K:{}", class_label(d, o));
        let k = *root_index.entry(key.clone()).or_insert_with(|| {
            root_labels.push((key.clone(), format!("class {}", class_label(d, o))));
            root_labels.len() as u32 - 1
        });
        parent[o as usize] = ROOT_FLAG | k;
        sig[o as usize] = mix(hash_str(&key), 0, 0);
        order.push(o);
    }
    let label_hash: Vec<u64> = d.labels.iter().map(|l| hash_str(l)).collect();
    let elem_hash = hash_str("[]");
    let class_hash: Vec<u64> = d.classes.iter().map(|c| hash_str(&c.name)).collect();
    let class_of = |o: u32| d.obj_class[o as usize];
    let mut head = 0;
    while head < order.len() {
        let v = order[head];
        head += 1;
        for e in d.edges(v) {
            let w = d.edge_to[e];
            if parent[w as usize] != NONE {
                continue;
            }
            parent[w as usize] = v;
            order.push(w);
            // A step into the same class as the parent (a linked list, a
            // tree) or repeating the two steps before (A → B → A → B) stays
            // in the group it repeats.
            let cw = class_of(w);
            let pv = parent[v as usize];
            let gp = is_obj(pv).then_some(pv);
            sig[w as usize] = if cw == class_of(v) {
                sig[v as usize]
            } else if let Some(g) = gp.filter(|&g| {
                class_of(g) == cw && {
                    let pg = parent[g as usize];
                    is_obj(pg) && class_of(pg) == class_of(v)
                }
            }) {
                sig[g as usize]
            } else {
                let l = d.edge_label[e];
                let lh = if l == ELEMENT {
                    elem_hash
                } else {
                    label_hash.get(l as usize).copied().unwrap_or(0)
                };
                mix(sig[v as usize], lh, class_hash[cw as usize])
            };
        }
    }
    Paths {
        parent,
        order,
        sig,
        root_labels,
    }
}

/// The Java class a class object stands for.
fn class_label(d: &HeapDump, o: ObjIdx) -> String {
    d.classes
        .iter()
        .find(|c| d.find(c.id) == Some(o))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "?".into())
}

#[derive(Debug, Clone, Copy, Default)]
struct GroupStat {
    count: u64,
    shallow: u64,
    /// Bytes reached through the group's topmost members (the BFS subtree).
    reach: u64,
    class: u32,
    /// Shallowest member (first in BFS order).
    rep: ObjIdx,
}

fn group(d: &HeapDump, p: &Paths) -> IntMap<u64, GroupStat> {
    let n = d.object_count();
    let mut sub: Vec<u64> = vec![0; n];
    for &o in p.order.iter().rev() {
        sub[o as usize] += d.obj_size[o as usize] as u64;
        if let Some(par) = p.parent_obj(o) {
            sub[par as usize] += sub[o as usize];
        }
    }
    let mut groups: IntMap<u64, GroupStat> = IntMap::default();
    for &o in &p.order {
        let s = p.sig[o as usize];
        let g = groups.entry(s).or_insert_with(|| GroupStat {
            class: d.obj_class[o as usize],
            rep: o,
            ..GroupStat::default()
        });
        g.count += 1;
        g.shallow += d.obj_size[o as usize] as u64;
        let topmost = p.parent_obj(o).is_none_or(|par| p.sig[par as usize] != s);
        if topmost {
            g.reach += sub[o as usize];
        }
    }
    groups
}

/// What an earlier dump contributes: class totals, path groups, thread identities.
#[derive(Debug, Clone, Default)]
pub struct DumpSummary {
    pub id_size: u8,
    pub timestamp_ms: u64,
    pub objects: u64,
    pub total_bytes: u64,
    pub unreachable: u64,
    pub classes: HashMap<String, ClassTotals>,
    /// Path signature → (count, bytes reached).
    groups: IntMap<u64, (u64, u64)>,
    threads: Vec<ThreadId>,
}

fn class_totals(d: &HeapDump) -> HashMap<String, ClassTotals> {
    let mut by: Vec<ClassTotals> = vec![ClassTotals::default(); d.classes.len()];
    for o in 0..d.object_count() {
        let t = &mut by[d.obj_class[o] as usize];
        t.count += 1;
        t.self_size += d.obj_size[o] as u64;
    }
    let mut out: HashMap<String, ClassTotals> = HashMap::new();
    for (c, t) in by.into_iter().enumerate() {
        if t.count > 0 {
            let e = out.entry(d.classes[c].name.clone()).or_default();
            e.count += t.count;
            e.self_size += t.self_size;
        }
    }
    out
}

fn summarize(d: &HeapDump, p: &Paths, groups: &IntMap<u64, GroupStat>) -> DumpSummary {
    DumpSummary {
        id_size: d.id_size,
        timestamp_ms: d.timestamp_ms,
        objects: d.object_count() as u64,
        total_bytes: d.obj_size.iter().map(|&s| s as u64).sum(),
        unreachable: p.parent.iter().filter(|&&x| x == NONE).count() as u64,
        classes: class_totals(d),
        groups: groups
            .iter()
            .map(|(&s, g)| (s, (g.count, g.reach)))
            .collect(),
        threads: d.threads.clone(),
    }
}

impl DumpSummary {
    /// Reads a dump, groups its objects by retainer path and keeps only the summary.
    pub fn of(d: &HeapDump) -> Self {
        let p = retainer_paths(d);
        let g = group(d, &p);
        summarize(d, &p, &g)
    }
}

/// Checks that `later` is a later dump of the JVM that wrote `earlier`:
/// same identifier size, a later timestamp, and the threads both hold
/// (`Thread.tid` is never reused in a JVM) at the same VM thread address
/// (`Thread.eetop`, which differs between JVMs). Returns a note when it
/// cannot tell (no thread in common).
pub fn check_same_jvm(
    earlier: &DumpSummary,
    later: &DumpSummary,
    earlier_name: &str,
    later_name: &str,
) -> Result<Option<String>, HeapError> {
    if earlier.id_size != later.id_size {
        return Err(HeapError::DifferentProcesses(format!(
            "{earlier_name} uses {}-byte object ids and {later_name} {}-byte ones: they come \
             from different JVMs. Take all dumps from the same running JVM",
            earlier.id_size, later.id_size
        )));
    }
    if later.timestamp_ms < earlier.timestamp_ms {
        return Err(HeapError::DifferentProcesses(format!(
            "{later_name} was taken before {earlier_name} (by the times in their headers): pass \
             the dumps in the order they were taken: BASE TARGET [FINAL]"
        )));
    }
    let before: HashMap<u64, u64> = earlier
        .threads
        .iter()
        .filter(|t| t.eetop != 0)
        .map(|t| (t.tid, t.eetop))
        .collect();
    let (mut common, mut differ) = (0u64, 0u64);
    for t in later.threads.iter().filter(|t| t.eetop != 0) {
        if let Some(&e) = before.get(&t.tid) {
            common += 1;
            differ += (e != t.eetop) as u64;
        }
    }
    if common == 0 {
        return Ok(Some(format!(
            "could not check that {earlier_name} and {later_name} come from one JVM (no running \
             thread in common)"
        )));
    }
    if differ * 2 > common {
        return Err(HeapError::DifferentProcesses(format!(
            "{later_name} and {earlier_name} do not look like dumps of the same JVM: {differ} of \
             the {common} threads they share (by Thread.tid) run on a different VM thread. Object \
             paths are only comparable within one JVM; take all dumps from the same running \
             process, in order BASE TARGET [FINAL]"
        )));
    }
    Ok(None)
}

/// One step of a Java retainer path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JvmStep {
    /// Class of the object holding the reference.
    pub holder: String,
    /// Field name, or `[]` for an array element.
    pub field: String,
    /// Class of the referenced object.
    pub class: String,
}

/// A group of objects that grows on one retainer path.
#[derive(Debug, Clone, Serialize)]
pub struct JvmCluster {
    /// The GC root: `OrderService.HISTORY (static)`, `thread "main"`, ...
    pub root: String,
    /// The path from the root's object to the group's objects.
    pub path: Vec<JvmStep>,
    /// Class of the group's objects.
    pub class: String,
    /// The group's object count in each dump.
    pub counts: Vec<u64>,
    /// Bytes reached through the group in each dump (its objects and what
    /// is reached only through them on the shortest paths).
    pub reached_bytes: Vec<u64>,
    /// Growth from the first dump to the last.
    pub delta_count: i64,
    pub delta_bytes: i64,
    /// The count series judged as classes are.
    pub trend: ClassTrend,
    /// What the group's objects reach in the last dump, by class, biggest first.
    pub keeps: Vec<ClassCount>,
    /// One-line rendering.
    pub display: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DumpStats {
    pub objects: u64,
    pub bytes: u64,
    /// Objects no GC root reaches (garbage in a dump taken without a full collection).
    pub unreachable: u64,
    pub timestamp_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JvmDiffReport {
    /// "retainer-path groups over N dumps".
    pub method: String,
    pub dumps: Vec<DumpStats>,
    pub clusters: Vec<JvmCluster>,
    /// Growing groups found (also those beyond `--top`): the verdict.
    pub clusters_found: u64,
    /// Growing groups below the noise threshold or beyond `--top`.
    pub clusters_below_threshold: u64,
    pub classes: Vec<ClassDelta>,
    /// Things the reader of the report should know (checks that could not be made).
    pub notes: Vec<String>,
}

impl JvmDiffReport {
    pub fn leak_found(&self) -> bool {
        self.clusters_found > 0
    }
}

/// Compares the last dump (in full) with the summaries of the earlier ones,
/// after checking that it comes from the same JVM as the one before it.
pub fn analyze_dumps(
    earlier: &[DumpSummary],
    last: &HeapDump,
    opts: &DiffOptions,
    mut notes: Vec<String>,
) -> Result<JvmDiffReport, HeapError> {
    let names = ["BASE", "TARGET", "FINAL"];
    let p = retainer_paths(last);
    let groups = group(last, &p);
    let last_summary = summarize(last, &p, &groups);
    if let Some(prev) = earlier.last() {
        let k = earlier.len().min(2);
        if let Some(n) = check_same_jvm(prev, &last_summary, names[k - 1], names[k])? {
            notes.push(n);
        }
    }
    let mut all: Vec<&DumpSummary> = earlier.iter().collect();
    all.push(&last_summary);
    let n = all.len();
    let times: Option<Vec<f64>> =
        Some(all.iter().map(|s| s.timestamp_ms as f64 / 1000.0).collect());

    // Judge each group of the last dump.
    let series = |sig: u64| -> (Vec<u64>, Vec<u64>) {
        all.iter()
            .map(|s| s.groups.get(&sig).copied().unwrap_or((0, 0)))
            .unzip()
    };
    let survivors = |c: &[u64]| -> u64 {
        let later = c[1..].iter().copied().min().unwrap_or(0);
        later.saturating_sub(c[0])
    };
    let mut growing: IntMap<u64, (Vec<u64>, Vec<u64>, ClassTrend)> = IntMap::default();
    let mut survivors_by_class: HashMap<&str, u64> = HashMap::new();
    for (&sig, g) in &groups {
        let (counts, reach) = series(sig);
        let surv = survivors(&counts);
        if surv > 0 {
            *survivors_by_class
                .entry(last.classes[g.class as usize].name.as_str())
                .or_default() += surv;
        }
        if counts[n - 1] <= counts[0] {
            continue;
        }
        let trend = judge(&TrendInput {
            counts: &counts,
            sizes: &reach,
            times_s: times.as_deref(),
            survivors: surv,
            min_objects: opts.min_cluster_objects,
        });
        let grows = if n >= 3 {
            trend.state == LeakState::Leak
        } else {
            counts[1] >= counts[0] + opts.min_cluster_objects
        };
        if grows {
            growing.insert(sig, (counts, reach, trend));
        }
    }
    // Only the topmost growing group on a path is reported.
    let nested = |sig: u64| -> bool {
        let mut cur = p.parent_obj(groups[&sig].rep);
        while let Some(o) = cur {
            let s = p.sig[o as usize];
            if s != sig && growing.contains_key(&s) {
                return true;
            }
            cur = p.parent_obj(o);
        }
        false
    };
    let mut top: Vec<u64> = growing.keys().copied().filter(|&s| !nested(s)).collect();
    top.sort_unstable();
    // What each reported group keeps: objects whose nearest reported group
    // on their path is it.
    let index: IntMap<u64, usize> = top.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let mut owner = vec![NONE; last.object_count()];
    let mut keeps: Vec<IntMap<u32, ClassTotals>> = vec![IntMap::default(); top.len()];
    for &o in &p.order {
        let own = match index.get(&p.sig[o as usize]) {
            Some(&i) => i as u32,
            None => p.parent_obj(o).map_or(NONE, |par| owner[par as usize]),
        };
        owner[o as usize] = own;
        if own != NONE {
            let t = keeps[own as usize]
                .entry(last.obj_class[o as usize])
                .or_default();
            t.count += 1;
            t.self_size += last.obj_size[o as usize] as u64;
        }
    }
    let mut clusters = Vec::new();
    let mut below = 0u64;
    for (i, &sig) in top.iter().enumerate() {
        let (counts, reach, trend) = growing[&sig].clone();
        let delta_bytes = reach[n - 1] as i64 - reach[0] as i64;
        let delta_count = counts[n - 1] as i64 - counts[0] as i64;
        if delta_bytes < opts.min_cluster_bytes as i64 {
            below += 1;
            continue;
        }
        let g = groups[&sig];
        let (root, path) = render_path(last, &p, g.rep);
        let class = last.classes[g.class as usize].name.clone();
        let mut kept: Vec<ClassCount> = keeps[i]
            .iter()
            .map(|(&c, t)| ClassCount {
                class: last.classes[c as usize].name.clone(),
                count: t.count,
                self_size: t.self_size,
            })
            .collect();
        kept.sort_by(|a, b| b.self_size.cmp(&a.self_size).then(a.class.cmp(&b.class)));
        kept.truncate(8);
        let mut display = root.clone();
        for s in &path {
            display.push_str(" → ");
            if s.field == "[]" {
                display.push_str(simple_name(&s.holder));
            } else {
                display.push_str(&format!("{}.{}", simple_name(&s.holder), s.field));
            }
        }
        display.push_str(&format!(
            " → {} × {}",
            crate::diff::group_thousands(counts[n - 1]),
            simple_name(&class)
        ));
        clusters.push(JvmCluster {
            root,
            path,
            class,
            counts,
            reached_bytes: reach,
            delta_count,
            delta_bytes,
            trend,
            keeps: kept,
            display,
        });
    }
    clusters.sort_by(|a, b| {
        b.delta_bytes
            .cmp(&a.delta_bytes)
            .then(a.display.cmp(&b.display))
    });
    let found = clusters.len() as u64;

    // Classes, judged like the groups.
    let tables: Vec<&HashMap<String, ClassTotals>> = all.iter().map(|s| &s.classes).collect();
    let mut classes = ClassDelta::judged_per_class(
        &tables,
        times.as_deref(),
        opts.min_cluster_objects,
        |name| (survivors_by_class.get(name).copied().unwrap_or(0), 0),
    );
    classes.retain(|c| c.delta_count != 0 || c.delta_size != 0);
    ClassDelta::keep_largest(&mut classes, opts.top_classes);
    let mut report = JvmDiffReport {
        method: format!("retainer-path groups over {n} dumps"),
        dumps: all
            .iter()
            .map(|s| DumpStats {
                objects: s.objects,
                bytes: s.total_bytes,
                unreachable: s.unreachable,
                timestamp_ms: s.timestamp_ms,
            })
            .collect(),
        clusters,
        clusters_found: found,
        clusters_below_threshold: below,
        classes,
        notes,
    };
    let extra = report.clusters.len().saturating_sub(opts.top_clusters) as u64;
    report.clusters.truncate(opts.top_clusters);
    report.clusters_below_threshold += extra;
    Ok(report)
}

/// The root label and the steps from the root object to `o`, with runs of
/// the same step shown once.
fn render_path(d: &HeapDump, p: &Paths, o: ObjIdx) -> (String, Vec<JvmStep>) {
    let mut chain = vec![o];
    let mut cur = o;
    while let Some(par) = p.parent_obj(cur) {
        chain.push(par);
        cur = par;
        if chain.len() > d.object_count() {
            break;
        }
    }
    chain.reverse();
    let root = p
        .root_of(chain[0])
        .map(|r| p.root_labels[r].1.clone())
        .unwrap_or_else(|| "(root)".into());
    let mut steps: Vec<JvmStep> = Vec::new();
    for w in chain.windows(2) {
        let (from, to) = (w[0], w[1]);
        let label = d
            .edges(from)
            .find(|&e| d.edge_to[e] == to)
            .map_or("?", |e| d.label(d.edge_label[e]));
        let step = JvmStep {
            holder: d.class_name(from).to_string(),
            field: label.to_string(),
            class: d.class_name(to).to_string(),
        };
        if steps.last() != Some(&step) {
            steps.push(step);
        }
    }
    (root, steps)
}

/// Reads two or three dump files one after the other (only one is in
/// memory at a time), checks they come from one JVM, and compares them.
/// `progress(file_index, bytes_read)` is called while reading.
pub fn diff_hprof_files(
    paths: &[&std::path::Path],
    opts: &DiffOptions,
    progress: &(dyn Fn(usize, u64) + Sync),
) -> Result<JvmDiffReport, (usize, HeapError)> {
    assert!(paths.len() == 2 || paths.len() == 3, "BASE TARGET [FINAL]");
    let names = ["BASE", "TARGET", "FINAL"];
    let last_i = paths.len() - 1;
    let mut earlier: Vec<DumpSummary> = Vec::new();
    let mut notes = Vec::new();
    let read = |i: usize| {
        let mut cb = |b: u64| progress(i, b);
        HeapDump::read_file_with_progress(paths[i], Some(&mut cb)).map_err(|e| (i, e))
    };
    for i in 0..last_i {
        let d = read(i)?;
        let s = DumpSummary::of(&d);
        drop(d);
        if let Some(prev) = earlier.last() {
            if let Some(n) = check_same_jvm(prev, &s, names[i - 1], names[i]).map_err(|e| (i, e))? {
                notes.push(n);
            }
        }
        earlier.push(s);
    }
    let last = read(last_i)?;
    analyze_dumps(&earlier, &last, opts, notes).map_err(|e| (last_i, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hprof::write::sample;

    fn opts() -> DiffOptions {
        DiffOptions {
            min_cluster_bytes: 1024,
            ..DiffOptions::default()
        }
    }

    #[test]
    fn a_growing_array_of_nodes_is_named_by_its_static_field() {
        let base = DumpSummary::of(&HeapDump::from_bytes(&sample(10, 1_000)).unwrap());
        let target = DumpSummary::of(&HeapDump::from_bytes(&sample(1_000, 61_000)).unwrap());
        let last = HeapDump::from_bytes(&sample(2_000, 121_000)).unwrap();
        let r = analyze_dumps(&[base, target], &last, &opts(), vec![]).unwrap();
        assert_eq!(r.clusters_found, 1, "{r:#?}");
        let c = &r.clusters[0];
        assert_eq!(c.root, "App.ALL (static)");
        assert_eq!(c.display, "App.ALL (static) → Object[] → 1,998 × Node");
        assert_eq!(c.counts, vec![8, 998, 1998]);
        assert_eq!(c.trend.state, LeakState::Leak);
        // The class table judges Node the same way, with the rate from the header times.
        let node = r.classes.iter().find(|k| k.class == "Node").unwrap();
        assert_eq!(node.trend.state, LeakState::Leak);
        assert!(node.trend.count_per_hour.is_some());
        // Synthetic dumps have no Thread fields: the same-JVM check says it could not tell.
        assert!(
            r.notes.iter().any(|n| n.contains("could not check")),
            "{r:#?}"
        );
    }

    #[test]
    fn steady_dumps_have_no_cluster_and_order_is_checked() {
        let a = DumpSummary::of(&HeapDump::from_bytes(&sample(500, 1_000)).unwrap());
        let b = DumpSummary::of(&HeapDump::from_bytes(&sample(500, 2_000)).unwrap());
        let last = HeapDump::from_bytes(&sample(500, 3_000)).unwrap();
        let r = analyze_dumps(&[a.clone(), b], &last, &opts(), vec![]).unwrap();
        assert_eq!(r.clusters_found, 0);
        let older = HeapDump::from_bytes(&sample(500, 500)).unwrap();
        let err = analyze_dumps(&[a], &older, &opts(), vec![]).unwrap_err();
        assert!(err.to_string().contains("order"), "{err}");
    }

    #[test]
    fn threads_tell_jvms_apart() {
        let t = |tid, eetop| ThreadId { tid, eetop };
        let s = |threads: Vec<ThreadId>| DumpSummary {
            id_size: 8,
            threads,
            ..DumpSummary::default()
        };
        let a = s(vec![t(1, 0x7f00), t(2, 0x7f10), t(3, 0)]);
        let same = s(vec![t(1, 0x7f00), t(2, 0x7f10), t(9, 0x7f90)]);
        let other = s(vec![t(1, 0x5500), t(2, 0x5510)]);
        assert!(check_same_jvm(&a, &same, "BASE", "TARGET")
            .unwrap()
            .is_none());
        let err = check_same_jvm(&a, &other, "BASE", "TARGET").unwrap_err();
        assert!(err.to_string().contains("same JVM"), "{err}");
        let four = DumpSummary {
            id_size: 4,
            ..same.clone()
        };
        assert!(check_same_jvm(&a, &four, "BASE", "TARGET").is_err());
    }

    #[test]
    fn thread_names_are_normalized() {
        assert_eq!(normalize_thread("pool-1-thread-12"), "pool-*-thread-*");
        assert_eq!(normalize_thread("main"), "main");
    }
}
