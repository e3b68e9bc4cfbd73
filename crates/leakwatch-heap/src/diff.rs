//! Comparing heap snapshots of one process.
//!
//! Two views, as in Chrome DevTools and memlab:
//! - the class comparison: per constructor, count and self size in each
//!   snapshot and how many objects are new since BASE;
//! - leak clusters (memlab's baseline/target/final method): objects allocated
//!   after BASE (V8 object ids are stable within a process and increase), still
//!   alive at TARGET and FINAL. The topmost such objects in the dominator tree
//!   are grouped by their shortest retainer path from a GC root, so a cluster
//!   reads `context → requests (Map) → table → [] → 41,203 × Object  +12.3 MB`.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::HeapError;
use crate::graph::{dominators, retainer_tree, Dominators, EdgeLabel, RetainerTree, NONE};
use crate::ids::{stored_sig, IdIndex};
use crate::snapshot::{EdgeKind, HeapSnapshot, NodeIdx, NodeKind};
use leakwatch_core::detector::LeakState;
use leakwatch_core::few::{judge, ClassTrend, TrendInput};

/// Per-class totals of one snapshot.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ClassTotals {
    pub count: u64,
    pub self_size: u64,
}

/// What a snapshot contributes when it is not the one analysed in full:
/// its object ids (for "allocated after" and "still alive") and class totals.
#[derive(Debug, Clone)]
pub struct SnapshotSummary {
    /// V8 object ids with their class signatures until [`Self::drop_signatures`].
    ids: IdIndex,
    pub classes: HashMap<String, ClassTotals>,
    pub node_count: u64,
    pub total_self_size: u64,
    /// When the snapshot was taken (seconds since the Unix epoch; the file's
    /// modification time), if known.
    pub taken_at_s: Option<f64>,
}

fn signature(kind: NodeKind, class: &str) -> u32 {
    // FNV-1a: stable across runs, cheap, enough to spot id reuse.
    let mut h: u32 = 0x811c9dc5 ^ kind as u32;
    for b in class.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x01000193);
    }
    stored_sig(h)
}

/// The class name used for signatures: strings are keyed by kind only, as
/// their content is the node name.
fn sig_class(snap: &HeapSnapshot, n: NodeIdx) -> &str {
    match snap.kind(n) {
        k if k.is_string() => "",
        _ => snap.class_name(n),
    }
}

/// A fast hasher for integer keys (FxHash's step): class keys are hashed
/// once per node, where SipHash on class names was a visible cost.
#[derive(Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

/// Per-class totals keyed by [`HeapSnapshot::class_key`], then by class name.
fn totals_by_name(
    snap: &HeapSnapshot,
    by_key: IntMap<u64, ClassTotals>,
) -> HashMap<&str, ClassTotals> {
    let mut out: HashMap<&str, ClassTotals> = HashMap::with_capacity(by_key.len());
    for (key, t) in by_key {
        let e = out.entry(snap.class_of_key(key)).or_default();
        e.count += t.count;
        e.self_size += t.self_size;
    }
    out
}

impl SnapshotSummary {
    /// Class totals only, no ids (enough for the last snapshot once checked).
    pub fn classes_of(snap: &HeapSnapshot) -> Self {
        Self::build(snap, false)
    }

    pub fn of(snap: &HeapSnapshot) -> Self {
        Self::build(snap, true)
    }

    fn build(snap: &HeapSnapshot, with_ids: bool) -> Self {
        let ids = if with_ids {
            IdIndex::build(|| {
                (0..snap.node_count() as NodeIdx).map(|n| {
                    (
                        snap.node_id[n as usize],
                        signature(snap.kind(n), sig_class(snap, n)),
                    )
                })
            })
        } else {
            IdIndex::default()
        };
        let mut by_key: IntMap<u64, ClassTotals> = IntMap::default();
        let mut total = 0u64;
        for n in 0..snap.node_count() as NodeIdx {
            let size = snap.self_size(n);
            total += size;
            if snap.kind(n) == NodeKind::Synthetic {
                continue;
            }
            let t = by_key.entry(snap.class_key(n)).or_default();
            t.count += 1;
            t.self_size += size;
        }
        let classes = totals_by_name(snap, by_key)
            .into_iter()
            .map(|(name, t)| (name.to_string(), t))
            .collect();
        SnapshotSummary {
            ids,
            classes,
            node_count: snap.node_count() as u64,
            total_self_size: total,
            taken_at_s: None,
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        self.ids.contains(id)
    }

    fn sig_of(&self, id: u32) -> Option<u32> {
        self.ids.sig_of(id)
    }

    /// Frees the class signatures once the same-process check is done.
    pub fn drop_signatures(&mut self) {
        self.ids.drop_signatures();
    }

    /// Frees the ids too (for the last snapshot, whose class totals are all
    /// that is needed after the check).
    pub fn drop_ids(&mut self) {
        self.ids = IdIndex::default();
    }

    /// Largest V8 heap object id. Heap objects have odd ids from a counter;
    /// even ids belong to embedder (native) nodes and are derived from
    /// addresses, so they say nothing about allocation order.
    fn max_id(&self) -> u32 {
        self.ids.max_odd()
    }
}

/// How consistent a later snapshot's ids are with an earlier one's.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IdConsistency {
    /// Later objects whose id is within the earlier id range.
    pub old_range: u64,
    /// Of those, ids absent from the earlier snapshot or naming a different kind of object.
    pub conflicting: u64,
}

/// Checks that `later` was taken after `earlier` in the same process. V8
/// gives each object an id the first time a snapshot sees it and never reuses
/// one, so in the same process an id at or below the earlier maximum must be
/// an object the earlier snapshot also held, of the same class. A snapshot of
/// another process (or an earlier one passed as later) breaks this for a
/// large share of ids.
pub fn check_same_process(
    earlier: &SnapshotSummary,
    later: &SnapshotSummary,
    earlier_name: &str,
    later_name: &str,
) -> Result<IdConsistency, HeapError> {
    check_ids(
        earlier,
        later.ids.odd_pairs(),
        later.max_id(),
        earlier_name,
        later_name,
    )
}

/// [`check_same_process`] against a parsed snapshot, without the sorted id
/// copy a [`SnapshotSummary`] holds (for the last snapshot, which is big).
pub fn check_same_process_snapshot(
    earlier: &SnapshotSummary,
    later: &HeapSnapshot,
    earlier_name: &str,
    later_name: &str,
) -> Result<IdConsistency, HeapError> {
    // Only ids in the earlier range are checked: skip hashing the others.
    let max = earlier.max_id();
    let pairs = (0..later.node_count() as NodeIdx)
        .filter(|&n| {
            let id = later.node_id[n as usize];
            id <= max && id % 2 == 1
        })
        .map(|n| {
            (
                later.node_id[n as usize],
                signature(later.kind(n), sig_class(later, n)),
            )
        });
    let later_max = later
        .node_id
        .iter()
        .copied()
        .filter(|id| id % 2 == 1)
        .max()
        .unwrap_or(0);
    check_ids(earlier, pairs, later_max, earlier_name, later_name)
}

/// The id check over `later`'s (id, class signature) pairs, in any order.
fn check_ids(
    earlier: &SnapshotSummary,
    later: impl Iterator<Item = (u32, u32)>,
    later_max_id: u32,
    earlier_name: &str,
    later_name: &str,
) -> Result<IdConsistency, HeapError> {
    let max = earlier.max_id();
    let mut c = IdConsistency {
        old_range: 0,
        conflicting: 0,
    };
    for (id, sig) in later {
        if id > max || id % 2 == 0 {
            continue;
        }
        c.old_range += 1;
        if earlier.sig_of(id) != Some(sig) {
            c.conflicting += 1;
        }
    }
    let shared = c.old_range - c.conflicting;
    if later_max_id < max && c.conflicting * 10 <= c.old_range {
        return Err(HeapError::DifferentProcesses(format!(
            "{later_name} looks older than {earlier_name}: it holds no object allocated after \
             {earlier_name} (its newest object id {} is below {max}). Pass the snapshots in the \
             order they were taken: BASE TARGET [FINAL]",
            later_max_id
        )));
    }
    // Allow some churn from classes whose name changes (e.g. a function's
    // inferred name) but not a different heap.
    if c.old_range == 0 || c.conflicting * 10 > c.old_range {
        let later_older = later_max_id < max;
        return Err(HeapError::DifferentProcesses(format!(
            "{later_name} and {earlier_name} do not look like snapshots of the same process: \
             {} of {} objects in {later_name} with ids from {earlier_name}'s range are not the \
             same objects ({} shared){}. Node ids are only comparable within one process; \
             take all snapshots from the same running process, in order BASE TARGET [FINAL]",
            c.conflicting,
            c.old_range,
            shared,
            if later_older {
                "; the ids also suggest the snapshots are in the wrong order"
            } else {
                ""
            }
        )));
    }
    Ok(c)
}

/// Settings for [`analyze`].
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Clusters whose new retained bytes are below this are noise.
    pub min_cluster_bytes: u64,
    /// Clusters with fewer new objects than this are noise.
    pub min_cluster_objects: u64,
    /// How many classes to list.
    pub top_classes: usize,
    /// How many clusters to list.
    pub top_clusters: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            min_cluster_bytes: 256 * 1024,
            min_cluster_objects: 100,
            top_classes: 15,
            top_clusters: 10,
        }
    }
}

/// One step of a retainer path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathStep {
    /// Edge label: property or variable name, `[]` for elements.
    pub edge: String,
    /// Class of the node the edge leads to.
    pub class: String,
    /// How many times this step repeats (a chain such as a linked list or
    /// closures capturing the previous object); 1 for a plain step.
    pub repeat: u64,
    /// The repeated steps, when `repeat > 1`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycle: Vec<PathStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassCount {
    pub class: String,
    pub count: u64,
    pub self_size: u64,
}

/// Objects that leaked through one retainer path.
#[derive(Debug, Clone, Serialize)]
pub struct LeakCluster {
    /// Where the path starts (a GC root category such as `(Global handles)`).
    pub root: String,
    pub path: Vec<PathStep>,
    /// Class of the leaked objects at the end of the path.
    pub class: String,
    /// How many such objects (topmost leaked objects in the dominator tree).
    pub count: u64,
    /// New objects (allocated after BASE) they keep alive, including themselves.
    pub new_objects: u64,
    /// Self size of those new objects: what the leak grew by.
    pub new_bytes: u64,
    /// Retained size of the leaked objects in the last snapshot.
    pub retained_bytes: u64,
    /// The new objects by class, biggest first.
    pub classes: Vec<ClassCount>,
    /// V8 ids of a few leaked objects, to look up in DevTools.
    pub sample_ids: Vec<u32>,
    /// One-line rendering of the path.
    pub display: String,
    /// Count of `class` in each snapshot, and how the class table judged
    /// that series: a cluster is a leak only if its class grows.
    pub class_counts: Vec<u64>,
    pub class_state: LeakState,
    /// Why the cluster was judged by its container rather than its class
    /// (an engine category such as `(string)` beside a program class).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassDelta {
    pub class: String,
    /// Count in each snapshot, in order.
    pub counts: Vec<u64>,
    /// Self size in each snapshot, in order.
    pub sizes: Vec<u64>,
    pub delta_count: i64,
    pub delta_size: i64,
    /// Objects in the last snapshot allocated after BASE (and alive at TARGET when there is a FINAL).
    pub new_count: u64,
    pub new_size: u64,
    /// The count grew between every pair of consecutive snapshots.
    pub growing: bool,
    /// The series judged as leakwatch judges memory series (see [`leakwatch_core::few`]).
    pub trend: ClassTrend,
}

impl ClassDelta {
    /// One row per class named in any of `tables` (one per snapshot or
    /// dump, in order), sorted by name: its count and self size in each,
    /// judged by the core's [`judge`]. `new_of` gives a class's objects
    /// (count, bytes) allocated since the first snapshot, which the trend
    /// counts as survivors.
    pub(crate) fn judged_per_class(
        tables: &[&HashMap<String, ClassTotals>],
        times_s: Option<&[f64]>,
        min_objects: u64,
        new_of: impl Fn(&str) -> (u64, u64),
    ) -> Vec<ClassDelta> {
        let mut names: Vec<&String> = tables.iter().flat_map(|t| t.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let column = |f: fn(&ClassTotals) -> u64| -> Vec<u64> {
                    tables.iter().map(|t| t.get(name).map_or(0, f)).collect()
                };
                let counts = column(|t| t.count);
                let sizes = column(|t| t.self_size);
                let (new_count, new_size) = new_of(name);
                let trend = judge(&TrendInput {
                    counts: &counts,
                    sizes: &sizes,
                    times_s,
                    survivors: new_count,
                    min_objects,
                });
                let delta = |v: &[u64]| *v.last().unwrap_or(&0) as i64 - v[0] as i64;
                ClassDelta {
                    trend,
                    class: name.clone(),
                    delta_count: delta(&counts),
                    delta_size: delta(&sizes),
                    growing: counts.windows(2).all(|w| w[1] > w[0]),
                    counts,
                    sizes,
                    new_count,
                    new_size,
                }
            })
            .collect()
    }

    /// Largest growth in bytes first (then in count, then by name), the
    /// first `top` kept.
    pub(crate) fn keep_largest(classes: &mut Vec<ClassDelta>, top: usize) {
        classes.sort_by(|a, b| {
            b.delta_size
                .cmp(&a.delta_size)
                .then(b.delta_count.cmp(&a.delta_count))
                .then(a.class.cmp(&b.class))
        });
        classes.truncate(top);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// "baseline/target/final" or "baseline/target".
    pub method: &'static str,
    pub snapshots: Vec<SnapshotStats>,
    pub clusters: Vec<LeakCluster>,
    /// Leak clusters above the noise threshold, also those beyond `--top`:
    /// the verdict (exit code) is based on this, not on what was listed.
    pub clusters_found: u64,
    /// Clusters below the noise threshold, or beyond `--top`, that were left out.
    pub clusters_below_threshold: u64,
    /// Clusters of objects that replaced others ("replaced, not growing"):
    /// new since BASE and still alive, but their class holds a steady count,
    /// as in a bounded cache or a session map that turns over. Not leaks.
    pub turnover: Vec<LeakCluster>,
    pub classes: Vec<ClassDelta>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotStats {
    pub nodes: u64,
    pub self_size: u64,
}

/// Engine internals that are never reported as a leak by themselves; when
/// they leak, it is through a user object that is.
pub fn is_noise(snap: &HeapSnapshot, n: NodeIdx) -> bool {
    match snap.kind(n) {
        NodeKind::Hidden
        | NodeKind::Array
        | NodeKind::Code
        | NodeKind::Synthetic
        | NodeKind::Number
        | NodeKind::ObjectShape
        | NodeKind::Symbol
        | NodeKind::Other => true,
        NodeKind::Object | NodeKind::Native => {
            let name = snap.name(n);
            name.starts_with("system / ") || name.starts_with("(") || name.is_empty()
        }
        _ => false,
    }
}

fn edge_token(snap: &HeapSnapshot, e: EdgeLabel) -> String {
    if e.kind.name_is_index() {
        return "[]".into();
    }
    let name = snap.strings.get(e.name);
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        "[]".into()
    } else {
        name.to_string()
    }
}

/// [`edge_token`] as a number: `u32::MAX` for `[]`, else the name's string index.
fn edge_token_id(snap: &HeapSnapshot, e: EdgeLabel) -> u32 {
    if e.kind.name_is_index() {
        return u32::MAX;
    }
    let name = snap.strings.get(e.name);
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        u32::MAX
    } else {
        e.name
    }
}

/// Numbers for retainer paths: nodes whose paths from the root have the
/// same edges (as [`edge_token_id`]) and the same node classes and kinds get
/// the same number. Each node's number is computed once.
#[derive(Default)]
struct PathIds {
    of_node: IntMap<NodeIdx, u32>,
    of_step: IntMap<(u32, u32, u64, u8), u32>,
}

impl PathIds {
    fn id(&mut self, snap: &HeapSnapshot, tree: &RetainerTree, n: NodeIdx) -> u32 {
        // Up to the root or the nearest numbered node, then down again.
        let mut up = Vec::new();
        let mut cur = n;
        let mut id = loop {
            if let Some(&id) = self.of_node.get(&cur) {
                break id;
            }
            match tree.parent(cur) {
                Some(p) if up.len() <= snap.node_count() => {
                    up.push(cur);
                    cur = p;
                }
                _ => break 0, // the root (or a node off the tree): the empty path
            }
        };
        for &v in up.iter().rev() {
            let step = (
                id,
                edge_token_id(snap, tree.label(v)),
                snap.class_key(v),
                snap.kind(v) as u8,
            );
            let next = self.of_step.len() as u32 + 1;
            id = *self.of_step.entry(step).or_insert(next);
            self.of_node.insert(v, id);
        }
        id
    }
}

/// GC root categories that hold the engine's own string tables.
fn is_engine_string_root(label: &str) -> bool {
    matches!(
        label,
        "(Internalized strings)" | "(External strings)" | "(String table)"
    )
}

/// Whether the path step's class is worth printing (internal arrays and
/// hidden nodes are not).
fn shows_class(class: &str) -> bool {
    !matches!(class, "(array)" | "(system)" | "(object shape)") && !class.starts_with("system / ")
}

/// Replaces a repeated run of steps by one copy with its repeat count, so a
/// chain (closures capturing the previous object) clusters by its shape,
/// not its length.
pub fn collapse_repeats(steps: Vec<PathStep>) -> Vec<PathStep> {
    let mut steps = steps;
    if steps.len() > 4096 {
        return steps;
    }
    let mut period = 1;
    while period * 2 <= steps.len() {
        let mut out: Vec<PathStep> = Vec::with_capacity(steps.len());
        let mut i = 0;
        let mut changed = false;
        while i < steps.len() {
            let mut reps = 1;
            while i + (reps + 1) * period <= steps.len()
                && steps[i..i + period] == steps[i + reps * period..i + (reps + 1) * period]
            {
                reps += 1;
            }
            if reps > 1 {
                changed = true;
                if period == 1 {
                    let mut s = steps[i].clone();
                    s.repeat *= reps as u64;
                    out.push(s);
                } else {
                    out.push(PathStep {
                        edge: String::new(),
                        class: String::new(),
                        repeat: reps as u64,
                        cycle: steps[i..i + period].to_vec(),
                    });
                }
                i += reps * period;
            } else {
                out.push(steps[i].clone());
                i += 1;
            }
        }
        steps = out;
        if !changed {
            period += 1;
        }
    }
    steps
}

fn render_step(s: &PathStep, out: &mut String) {
    if !s.cycle.is_empty() {
        out.push('(');
        for (i, c) in s.cycle.iter().enumerate() {
            if i > 0 {
                out.push_str(" → ");
            }
            render_step(c, out);
        }
        out.push_str(&format!(")×{}", s.repeat));
        return;
    }
    out.push_str(&s.edge);
    if shows_class(&s.class) {
        if s.class.starts_with('(') {
            out.push_str(&format!(" {}", s.class));
        } else {
            out.push_str(&format!(" ({})", s.class));
        }
    }
    if s.repeat > 1 {
        out.push_str(&format!("×{}", s.repeat));
    }
}

/// A path's clustering key: the rendering without repeat counts.
fn path_key(steps: &[PathStep], out: &mut String) {
    for s in steps {
        if s.cycle.is_empty() {
            out.push_str(&s.edge);
            out.push('\u{1}');
            out.push_str(&s.class);
            out.push_str(if s.repeat > 1 { "\u{2}*" } else { "\u{2}" });
        } else {
            out.push('(');
            path_key(&s.cycle, out);
            out.push(')');
        }
    }
}

pub fn render_path(root: &str, steps: &[PathStep]) -> String {
    let mut out = String::from(root);
    for s in steps {
        out.push_str(" → ");
        render_step(s, &mut out);
    }
    out
}

pub(crate) fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Analyses the last snapshot (parsed with edges) against the summaries of
/// the earlier ones: `earlier[0]` is BASE, `earlier[1]` (if any) is TARGET
/// and `last` is then FINAL. The last snapshot's edges are freed on the way
/// (to bound peak memory); its nodes and strings stay.
/// The earlier summaries' ids are freed once the new objects are known.
pub fn analyze(
    earlier: &mut [SnapshotSummary],
    last: &mut HeapSnapshot,
    last_summary: &SnapshotSummary,
    opts: &DiffOptions,
) -> DiffReport {
    let classes = compare_classes(earlier, last, last_summary, opts);
    let tree = retainer_tree(last);
    let mut report = find_clusters(classes, last, tree, opts);
    report.truncate_clusters(opts.top_clusters);
    report
}

impl DiffReport {
    /// Keeps the first `top` clusters for printing; [`DiffReport::clusters_found`]
    /// still counts them all.
    pub fn truncate_clusters(&mut self, top: usize) {
        let extra = self.clusters.len().saturating_sub(top) as u64;
        self.clusters.truncate(top);
        self.turnover.truncate(top);
        self.clusters_below_threshold += extra;
    }

    /// Whether a leak was found (whatever was listed).
    pub fn leak_found(&self) -> bool {
        self.clusters_found > 0
    }
}

/// The first part of [`analyze`], which only reads the last snapshot (so
/// it can run while another thread computes its [`RetainerTree`]): which
/// objects are new, and the class comparison.
struct ClassComparison {
    after_base: Vec<bool>,
    candidate: Vec<bool>,
    report: DiffReport,
    /// Every class's count series and judgement (also classes not listed),
    /// for judging the leak clusters the same way.
    class_trends: HashMap<String, (Vec<u64>, LeakState)>,
}

fn compare_classes(
    earlier: &mut [SnapshotSummary],
    last: &HeapSnapshot,
    last_summary: &SnapshotSummary,
    opts: &DiffOptions,
) -> ClassComparison {
    let base = &earlier[0];
    let target = earlier.get(1);
    let n = last.node_count();

    // Which objects are new: allocated after BASE and (with a FINAL) alive at TARGET.
    let mut after_base = vec![false; n];
    let mut candidate = vec![false; n];
    // Class comparison: objects new since BASE (and alive at TARGET) per class.
    let mut new_by_key: IntMap<u64, ClassTotals> = IntMap::default();
    for v in 0..n {
        let id = last.node_id[v];
        let nb = !base.contains(id);
        after_base[v] = nb;
        let kept = nb && target.is_none_or(|t| t.contains(id));
        candidate[v] = kept && id % 2 == 1 && !is_noise(last, v as NodeIdx);
        if kept && last.kind(v as u32) != NodeKind::Synthetic {
            let e = new_by_key.entry(last.class_key(v as NodeIdx)).or_default();
            e.count += 1;
            e.self_size += last.self_size(v as NodeIdx);
        }
    }
    let new_by_class = totals_by_name(last, new_by_key);
    let has_target = target.is_some();
    for s in earlier.iter_mut() {
        s.drop_ids();
    }
    let mut all: Vec<&SnapshotSummary> = earlier.iter().collect();
    all.push(last_summary);
    let times: Option<Vec<f64>> = all.iter().map(|s| s.taken_at_s).collect();
    let tables: Vec<&HashMap<String, ClassTotals>> = all.iter().map(|s| &s.classes).collect();
    let mut classes = ClassDelta::judged_per_class(
        &tables,
        times.as_deref(),
        opts.min_cluster_objects,
        |name| {
            new_by_class
                .get(name)
                .map_or((0, 0), |t| (t.count, t.self_size))
        },
    );
    let class_trends: HashMap<String, (Vec<u64>, LeakState)> = classes
        .iter()
        .map(|c| (c.class.clone(), (c.counts.clone(), c.trend.state)))
        .collect();
    classes.retain(|c| c.delta_count != 0 || c.delta_size != 0 || c.new_count != 0);
    ClassDelta::keep_largest(&mut classes, opts.top_classes);

    let report = DiffReport {
        method: if has_target {
            "baseline/target/final"
        } else {
            "baseline/target"
        },
        snapshots: all
            .iter()
            .map(|s| SnapshotStats {
                nodes: s.node_count,
                self_size: s.total_self_size,
            })
            .collect(),
        clusters: Vec::new(),
        clusters_found: 0,
        clusters_below_threshold: 0,
        turnover: Vec::new(),
        classes,
    };
    ClassComparison {
        after_base,
        candidate,
        report,
        class_trends,
    }
}

/// The second part of [`analyze`]: the leak clusters, from the last
/// snapshot's retainer tree and dominators (its edges are freed on the way).
fn find_clusters(
    c: ClassComparison,
    last: &mut HeapSnapshot,
    tree: RetainerTree,
    opts: &DiffOptions,
) -> DiffReport {
    let mut report = c.report;
    if last.has_edges() {
        let (clusters, below) = leak_clusters(last, tree, &c.after_base, &c.candidate, opts);
        // Growth, not turnover: a cluster's objects are new since BASE and
        // still alive, but if their class holds a steady count they only
        // replaced others (a bounded cache, sessions that expire).
        let (grow, steady): (Vec<LeakCluster>, Vec<LeakCluster>) = clusters
            .into_iter()
            .map(|mut k| {
                if let Some((counts, state)) = c.class_trends.get(&k.class) {
                    k.class_counts = counts.clone();
                    k.class_state = *state;
                }
                k
            })
            .partition(grows);
        let (grow, steady) = by_container(grow, steady);
        report.clusters_found = grow.len() as u64;
        report.clusters = grow;
        report.turnover = steady;
        report.turnover.truncate(opts.top_clusters);
        report.clusters_below_threshold = below;
    }
    report
}

struct ClusterAcc {
    root: String,
    path: Vec<PathStep>,
    class: String,
    count: u64,
    retained: u64,
    new_objects: u64,
    new_bytes: u64,
    /// New objects kept alive, by [`HeapSnapshot::class_key`].
    classes: IntMap<u64, ClassTotals>,
    sample_ids: Vec<u32>,
    max_repeat_path: Vec<PathStep>,
    /// Sum of the repeat counts of `max_repeat_path`.
    max_repeats: u64,
}

fn leak_clusters(
    snap: &mut HeapSnapshot,
    tree: RetainerTree,
    after_base: &[bool],
    candidate: &[bool],
    opts: &DiffOptions,
) -> (Vec<LeakCluster>, u64) {
    // The retainer paths came first: they copy the few edge labels they
    // need, so the dominator pass can run with the edge names (then all
    // edges) freed.
    snap.free_edge_names();
    let dom = dominators(snap);
    let m = dom.order.len();
    // owner[d]: DFS number of the leak root whose dominator subtree holds d
    // through a chain of new objects.
    let mut owner = vec![NONE; m];
    let mut roots: Vec<NodeIdx> = Vec::new();
    for d in 1..m {
        let v = dom.order[d];
        let up = owner[dom.idom[d] as usize];
        // Ownership flows only through new objects: a new object (say a
        // re-created timer list) that dominates an old one (the Map) must not
        // swallow the new objects the old one holds.
        if up != NONE && after_base[v as usize] {
            owner[d] = up;
        } else if candidate[v as usize] {
            owner[d] = d as u32;
            roots.push(v);
        }
    }

    // Group leak roots by retainer path. A path's steps and clustering key
    // are strings, so they are built once per distinct path: parents are
    // first numbered by their path's edges and classes (integers, each
    // node visited once), and roots by that number, their edge and class.
    struct Prefix {
        root_label: String,
        steps: Vec<PathStep>,
        key: String,
        repeats: u64,
    }
    let mut path_ids = PathIds::default();
    let mut prefix_cache: IntMap<u32, Prefix> = IntMap::default();
    let mut clusters: Vec<ClusterAcc> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    // (parent's path id, leaf edge, leaf class key) → cluster, or `None`
    // for engine-interned strings.
    let mut by_ids: IntMap<(u32, u32, u64), Option<usize>> = IntMap::default();
    let mut cluster_of_root: IntMap<u32, usize> = IntMap::default();
    let mut engine_strings = false;
    let mut key = String::new();
    for &r in &roots {
        let Some(parent) = tree.parent(r) else {
            continue;
        };
        let pid = path_ids.id(snap, &tree, parent);
        let label = tree.label(r);
        let ids = (pid, edge_token_id(snap, label), snap.class_key(r));
        if let Some(&known) = by_ids.get(&ids) {
            let Some(idx) = known else {
                continue;
            };
            add_root(&mut clusters[idx], snap, &dom, r, &prefix_cache[&pid]);
            cluster_of_root.insert(dom.dfn[r as usize], idx);
            continue;
        }
        let prefix = prefix_cache.entry(pid).or_insert_with(|| {
            let steps = tree.path(parent);
            let mut root_label = String::from("(root)");
            let mut out = Vec::new();
            let mut leading = true;
            for (e, node) in steps {
                if leading && snap.kind(node) == NodeKind::Synthetic {
                    root_label = snap.name(node).to_string();
                    continue;
                }
                leading = false;
                out.push(PathStep {
                    edge: edge_token(snap, e),
                    class: snap.class_name(node).to_string(),
                    repeat: 1,
                    cycle: vec![],
                });
            }
            // The synthetic root's element edge to the global object reads
            // better as "(global)".
            if root_label == "(root)" && out.first().is_some_and(|s| s.edge == "[]") {
                let first = out.remove(0);
                let name = first.class.trim().trim_end_matches('/').trim();
                root_label = format!("({name})");
            }
            let steps = collapse_repeats(out);
            let mut key = root_label.clone();
            path_key(&steps, &mut key);
            Prefix {
                repeats: steps.iter().map(|s| s.repeat).sum(),
                root_label,
                steps,
                key,
            }
        });
        // Strings the engine interned (property names, literals) are reached
        // from its string tables, not from anything the program holds.
        if is_engine_string_root(&prefix.root_label) && snap.kind(r).is_string() {
            engine_strings = true;
            by_ids.insert(ids, None);
            continue;
        }
        let leaf_edge = edge_token(snap, label);
        let leaf_class = snap.class_name(r);
        key.clear();
        key.push_str(&prefix.key);
        key.push('\u{3}');
        key.push_str(&leaf_edge);
        key.push('\u{3}');
        key.push_str(leaf_class);
        let idx = match by_key.get(key.as_str()) {
            Some(&idx) => idx,
            None => {
                let mut path = prefix.steps.clone();
                path.push(PathStep {
                    edge: leaf_edge,
                    class: String::new(),
                    repeat: 1,
                    cycle: vec![],
                });
                clusters.push(ClusterAcc {
                    root: prefix.root_label.clone(),
                    path,
                    class: leaf_class.to_string(),
                    count: 0,
                    retained: 0,
                    new_objects: 0,
                    new_bytes: 0,
                    classes: IntMap::default(),
                    sample_ids: Vec::new(),
                    max_repeat_path: Vec::new(),
                    max_repeats: 0,
                });
                by_key.insert(key.clone(), clusters.len() - 1);
                clusters.len() - 1
            }
        };
        by_ids.insert(ids, Some(idx));
        add_root(&mut clusters[idx], snap, &dom, r, prefix);
        cluster_of_root.insert(dom.dfn[r as usize], idx);
    }
    fn add_root(
        c: &mut ClusterAcc,
        snap: &HeapSnapshot,
        dom: &Dominators,
        r: NodeIdx,
        prefix: &Prefix,
    ) {
        c.count += 1;
        c.retained += dom.retained(r);
        if c.sample_ids.len() < 5 {
            c.sample_ids.push(snap.node_id[r as usize]);
        }
        // Keep the rendering with the longest chain for display.
        if prefix.repeats > c.max_repeats || c.max_repeat_path.is_empty() {
            c.max_repeat_path = prefix.steps.clone();
            c.max_repeats = prefix.repeats;
        }
    }

    // Count the new objects each cluster keeps alive.
    for d in 1..m {
        let o = owner[d];
        if o == NONE {
            continue;
        }
        let v = dom.order[d] as usize;
        if !after_base[v] {
            continue;
        }
        if let Some(&idx) = cluster_of_root.get(&o) {
            let c = &mut clusters[idx];
            let size = snap.self_size(v as NodeIdx);
            c.new_objects += 1;
            c.new_bytes += size;
            if !is_noise(snap, v as NodeIdx) || snap.kind(v as NodeIdx) == NodeKind::Array {
                let t = c.classes.entry(snap.class_key(v as NodeIdx)).or_default();
                t.count += 1;
                t.self_size += size;
            }
        }
    }

    let mut below = engine_strings as u64;
    let mut out: Vec<LeakCluster> = Vec::new();
    for c in clusters {
        if c.new_bytes < opts.min_cluster_bytes || c.new_objects < opts.min_cluster_objects {
            below += 1;
            continue;
        }
        let mut classes: Vec<ClassCount> = totals_by_name(snap, c.classes)
            .into_iter()
            .map(|(class, t)| ClassCount {
                class: class.to_string(),
                count: t.count,
                self_size: t.self_size,
            })
            .collect();
        classes.sort_by(|a, b| b.self_size.cmp(&a.self_size).then(a.class.cmp(&b.class)));
        // A chain (each leaked object holding the previous one) has one
        // topmost object; count the leaked objects of its class instead.
        let chained = c.max_repeat_path.iter().any(|s| s.repeat > 1);
        let count = if chained {
            classes
                .iter()
                .find(|k| k.class == c.class)
                .map_or(c.count, |k| k.count.max(c.count))
        } else {
            c.count
        };
        classes.truncate(8);
        let leaf_edge = c.path.last().map(|s| s.edge.clone()).unwrap_or_default();
        let mut shown = c.max_repeat_path.clone();
        let mut display = render_path(&c.root, &shown);
        display.push_str(&format!(
            " → {} → {} × {}",
            leaf_edge,
            group_thousands(count),
            c.class
        ));
        shown.push(PathStep {
            edge: leaf_edge,
            class: c.class.clone(),
            repeat: 1,
            cycle: vec![],
        });
        out.push(LeakCluster {
            root: c.root,
            path: shown,
            class: c.class,
            count,
            new_objects: c.new_objects,
            new_bytes: c.new_bytes,
            retained_bytes: c.retained,
            classes,
            sample_ids: c.sample_ids,
            display,
            class_counts: Vec::new(),
            class_state: LeakState::Collecting,
            judged_by: None,
        });
    }
    out.sort_by(|a, b| {
        b.new_bytes
            .cmp(&a.new_bytes)
            .then(a.display.cmp(&b.display))
    });
    (out, below)
}

/// Whether a cluster grows: with three snapshots or more, its class's
/// count series is judged a leak or growing (the class table's judgement);
/// with two, its class count rose by at least half the cluster's objects.
fn grows(k: &LeakCluster) -> bool {
    match k.class_counts.as_slice() {
        [b, t] => t.saturating_sub(*b) * 2 >= k.count,
        c if c.len() >= 3 => matches!(k.class_state, LeakState::Leak | LeakState::Growing),
        _ => true,
    }
}

/// Each step's clustering key (edge and class, without repeat counts).
fn step_keys(path: &[PathStep]) -> Vec<String> {
    path.iter()
        .map(|st| {
            let mut k = String::new();
            path_key(std::slice::from_ref(st), &mut k);
            k
        })
        .collect()
}

/// A class named by the program (a constructor), not an engine category
/// such as `(string)` or `(closure)` that many unrelated objects share.
fn is_specific(class: &str) -> bool {
    !class.starts_with('(')
}

/// Two refinements of the per-class growth judgement, by where clusters sit:
/// - a cluster below a leak cluster's objects (the leak's records hold
///   strings that another path also reaches) is part of that leak and is
///   merged into it; one below a turnover cluster's objects (the bodies of
///   a cache's values) is replaced with them and merged into that;
/// - clusters of an engine category (`(string)` keys of a cache's Map) in
///   the same container as a cluster of a program class take that
///   cluster's verdict: a container whose entries hold steady is turnover
///   even though strings grow elsewhere in the heap.
fn by_container(
    grow: Vec<LeakCluster>,
    steady: Vec<LeakCluster>,
) -> (Vec<LeakCluster>, Vec<LeakCluster>) {
    let mut all: Vec<(bool, Vec<String>, LeakCluster)> = grow
        .into_iter()
        .map(|c| (true, step_keys(&c.path), c))
        .chain(steady.into_iter().map(|c| (false, step_keys(&c.path), c)))
        .collect();
    // Container verdicts from the biggest cluster of a program class in each.
    let container = |root: &str, keys: &[String]| {
        let mut k = root.to_string();
        for s in &keys[..keys.len().saturating_sub(1)] {
            k.push('\u{4}');
            k.push_str(s);
        }
        k
    };
    let mut verdict: HashMap<String, (u64, bool, String)> = HashMap::new();
    for (g, keys, c) in &all {
        if is_specific(&c.class) {
            let e =
                verdict
                    .entry(container(&c.root, keys))
                    .or_insert((c.count, *g, c.class.clone()));
            if c.count > e.0 {
                *e = (c.count, *g, c.class.clone());
            }
        }
    }
    for (g, keys, c) in all.iter_mut() {
        if !is_specific(&c.class) {
            if let Some((_, v, by)) = verdict.get(&container(&c.root, keys)) {
                *g = *v;
                c.judged_by = Some(format!(
                    "held by the same container as the {by} objects, which {}",
                    if *v { "grow" } else { "hold a steady count" }
                ));
            }
        }
    }
    // A cluster that sits below another cluster's objects belongs to it
    // (the nearest such parent): below a growing cluster it is part of the
    // leak; below a turnover cluster (strings in the values of a cache's
    // entries) it is replaced with those entries, whatever its class does
    // elsewhere in the heap.
    all.sort_by_key(|(_, keys, _)| keys.len());
    let mut kept: Vec<(bool, Vec<String>, LeakCluster)> = Vec::new();
    for (g, keys, c) in all {
        let parent = kept
            .iter_mut()
            .filter(|(_, pk, p)| {
                p.root == c.root && pk.len() < keys.len() && keys[..pk.len()] == pk[..]
            })
            .max_by_key(|(_, pk, _)| pk.len());
        match parent {
            Some((true, _, p)) if g => merge_into(p, c),
            Some((false, _, p)) => merge_into(p, c),
            _ => kept.push((g, keys, c)),
        }
    }
    let (grow, steady): (Vec<_>, Vec<_>) = kept.into_iter().partition(|(g, _, _)| *g);
    let mut grow: Vec<LeakCluster> = grow.into_iter().map(|(_, _, c)| c).collect();
    let mut steady: Vec<LeakCluster> = steady.into_iter().map(|(_, _, c)| c).collect();
    let order = |a: &LeakCluster, b: &LeakCluster| {
        b.new_bytes
            .cmp(&a.new_bytes)
            .then(a.display.cmp(&b.display))
    };
    grow.sort_by(order);
    steady.sort_by(order);
    (grow, steady)
}

/// Adds what `c` keeps alive to `into`.
fn merge_into(into: &mut LeakCluster, c: LeakCluster) {
    into.new_objects += c.new_objects;
    into.new_bytes += c.new_bytes;
    into.retained_bytes += c.retained_bytes;
    for k in c.classes {
        match into.classes.iter_mut().find(|x| x.class == k.class) {
            Some(x) => {
                x.count += k.count;
                x.self_size += k.self_size;
            }
            None => into.classes.push(k),
        }
    }
    into.classes
        .sort_by(|a, b| b.self_size.cmp(&a.self_size).then(a.class.cmp(&b.class)));
    into.classes.truncate(8);
}

/// Whether an edge keeps its target alive (not weak).
pub fn is_strong(snap: &HeapSnapshot, e: usize) -> bool {
    snap.edge_kind(e) != EdgeKind::Weak
}

/// A file's modification time in seconds since the epoch: when a snapshot
/// file was written, i.e. when it was taken.
fn mtime_s(path: &std::path::Path) -> Option<f64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
}

/// Whether the last snapshot is read at the same time as the others
/// (`LEAKWATCH_HEAP_OVERLAP=0` turns it off, for measuring).
fn overlap_last() -> bool {
    std::env::var_os("LEAKWATCH_HEAP_OVERLAP").is_none_or(|v| v != "0")
}

/// Reads BASE, TARGET and optionally FINAL snapshot files (frees columns as it
/// goes: a binary that wants those pages back in the system promptly should fix
/// glibc's mmap threshold, as `leakwatch diff` does).
/// (concurrently,
/// one thread each; only the last is kept with its edges, the others are
/// reduced to ids and class totals as soon as they are read), checks they
/// come from one process, and analyses them. `progress(file_index,
/// bytes_read)` is called while reading.
pub fn diff_snapshot_files(
    paths: &[&std::path::Path],
    opts: &DiffOptions,
    progress: &(dyn Fn(usize, u64) + Sync),
) -> Result<DiffReport, (usize, HeapError)> {
    use crate::snapshot::Keep;
    assert!(paths.len() == 2 || paths.len() == 3, "BASE TARGET [FINAL]");
    let names = ["BASE", "TARGET", "FINAL"];
    let last_i = paths.len() - 1;
    // BASE and TARGET are read concurrently and reduced to summaries; the
    // last one is read in full once BASE (the smaller) is done, so their node
    // columns and its edges are never all in memory together (that overlap
    // was the peak), while its read still overlaps TARGET's tail.
    let (earlier, last) = std::thread::scope(|scope| {
        let mut handles: Vec<_> = paths[..last_i]
            .iter()
            .enumerate()
            .map(|(i, path)| {
                scope.spawn(move || {
                    let mut cb = |b: u64| progress(i, b);
                    let snap =
                        HeapSnapshot::read_file_with_progress(path, Keep::NodesOnly, Some(&mut cb))
                            .map_err(|e| (i, e))?;
                    let mut summary = SnapshotSummary::of(&snap);
                    summary.taken_at_s = mtime_s(path);
                    Ok::<_, (usize, HeapError)>(summary)
                })
            })
            .collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, _>| {
            h.join().expect("snapshot reader thread does not panic")
        };
        if overlap_last() {
            // All three at once: the last file's parse (the longest) starts
            // at once instead of after BASE's.
            let last = scope.spawn(move || {
                let mut cb = |b: u64| progress(last_i, b);
                HeapSnapshot::read_file_with_progress(
                    paths[last_i],
                    Keep::Everything,
                    Some(&mut cb),
                )
                .map_err(|e| (last_i, e))
            });
            let earlier: Vec<_> = handles.into_iter().map(join).collect();
            let last = last.join().expect("snapshot reader thread does not panic");
            return (earlier, Some(last));
        }
        let mut earlier: Vec<Result<SnapshotSummary, (usize, HeapError)>> =
            vec![join(handles.remove(0))];
        let last = if earlier[0].is_ok() {
            let mut cb = |b: u64| progress(last_i, b);
            Some(
                HeapSnapshot::read_file_with_progress(
                    paths[last_i],
                    Keep::Everything,
                    Some(&mut cb),
                )
                .map_err(|e| (last_i, e)),
            )
        } else {
            None
        };
        earlier.extend(handles.into_iter().map(join));
        (earlier, last)
    });
    let mut summaries = Vec::with_capacity(earlier.len());
    for s in earlier {
        summaries.push(s?);
    }
    for i in 1..summaries.len() {
        let (prev, cur) = summaries.split_at_mut(i);
        check_same_process(&prev[i - 1], &cur[0], names[i - 1], names[i]).map_err(|e| (i, e))?;
        prev[i - 1].drop_signatures();
    }
    let mut last = last.expect("read once BASE was")?;
    // The retainer tree (a BFS over all edges) is built on a second thread
    // while this one checks the ids and compares classes: both only read
    // the snapshot, and neither adds to the peak, which comes later with
    // the dominators.
    let (tree, classes) = std::thread::scope(|scope| {
        let last = &last;
        let tree = scope.spawn(move || retainer_tree(last));
        let classes = (|| {
            let prev = summaries.last_mut().expect("at least BASE");
            check_same_process_snapshot(prev, last, names[last_i - 1], names[last_i])
                .map_err(|e| (last_i, e))?;
            prev.drop_signatures();
            let mut last_summary = SnapshotSummary::classes_of(last);
            last_summary.taken_at_s = mtime_s(paths[last_i]);
            Ok(compare_classes(&mut summaries, last, &last_summary, opts))
        })();
        let tree = tree
            .join()
            .expect("the retainer tree thread does not panic");
        (tree, classes)
    });
    let mut report = find_clusters(classes?, &mut last, tree, opts);
    report.truncate_clusters(opts.top_clusters);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(e: &str) -> PathStep {
        PathStep {
            edge: e.into(),
            class: "C".into(),
            repeat: 1,
            cycle: vec![],
        }
    }

    #[test]
    fn collapses_chains() {
        let steps: Vec<PathStep> = ["a", "x", "y", "x", "y", "x", "y", "b"]
            .iter()
            .map(|s| step(s))
            .collect();
        let c = collapse_repeats(steps);
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].repeat, 3);
        assert_eq!(c[1].cycle.len(), 2);
        assert_eq!(
            render_path("(r)", &c),
            "(r) → a (C) → (x (C) → y (C))×3 → b (C)"
        );
        let same = collapse_repeats(vec![step("a"), step("a")]);
        assert_eq!(same.len(), 1);
        assert_eq!(same[0].repeat, 2);
    }

    /// A cluster at the end of `steps` (edge, class), `new_bytes` of new objects.
    fn cluster(steps: &[(&str, &str)], count: u64, new_bytes: u64) -> LeakCluster {
        let path: Vec<PathStep> = steps
            .iter()
            .map(|(e, c)| PathStep {
                edge: (*e).into(),
                class: (*c).into(),
                repeat: 1,
                cycle: vec![],
            })
            .collect();
        let class = path.last().unwrap().class.clone();
        LeakCluster {
            root: "(global)".into(),
            display: render_path("(global)", &path),
            path,
            classes: vec![ClassCount {
                class: class.clone(),
                count,
                self_size: new_bytes,
            }],
            class,
            count,
            new_objects: count,
            new_bytes,
            retained_bytes: new_bytes,
            sample_ids: vec![],
            class_counts: vec![],
            class_state: LeakState::Collecting,
            judged_by: None,
        }
    }

    #[test]
    fn clusters_below_turnover_are_turnover_and_below_a_leak_are_the_leak() {
        let cache = [("cache", "LRUCache"), ("map", "Map"), ("table", "(array)")];
        let entries = cache.iter().copied().chain([("[]", "CacheEntry")]);
        let bodies: Vec<_> = entries
            .clone()
            .chain([("value", "Object"), ("body", "(string)")])
            .collect();
        let records = [
            ("log", "RequestLog"),
            ("records", "Array"),
            ("[]", "RequestRecord"),
        ];
        let paths: Vec<_> = records
            .iter()
            .copied()
            .chain([("path", "(string)")])
            .collect();
        let grow = vec![
            cluster(&records, 800, 8000),
            cluster(&paths, 700, 7000),
            // (string) grows in the heap (the records' paths), so the class
            // judgement alone calls the cache's bodies a leak.
            cluster(&bodies, 100, 2600),
        ];
        let steady = vec![cluster(&entries.collect::<Vec<_>>(), 400, 4000)];
        let (grow, steady) = by_container(grow, steady);
        assert_eq!(grow.len(), 1, "{grow:#?}");
        assert_eq!(grow[0].class, "RequestRecord");
        assert_eq!(grow[0].new_bytes, 15000);
        assert_eq!(steady.len(), 1, "{steady:#?}");
        assert_eq!(steady[0].class, "CacheEntry");
        assert_eq!(steady[0].new_bytes, 6600);
        assert!(steady[0].classes.iter().any(|c| c.class == "(string)"));
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(41203), "41,203");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000000), "1,000,000");
    }
}
