//! Replaying a trace into the numbers of the report, in one streaming pass:
//! what was still allocated at the end (by call stack), the peak and who
//! held it, what was lost, and the call stacks whose live bytes grow without
//! bound.
//!
//! Memory is bounded by the distinct stacks and classes, never by the
//! number of events. Per stack the pass keeps its totals, its live bytes at
//! the peak, and a small fixed-size series of its live bytes: one point per
//! time bucket (the bucket's lowest value, the lower envelope the detector
//! judges), at most [`SERIES_POINTS`] of them. The buckets start one writer
//! tick wide and double when the trace outgrows them (neighbouring points
//! merge, each stack's series lazily, when it is next touched). Stacks that
//! never hold bytes across a bucket boundary (short-lived blocks) get no
//! series at all.
//!
//! Growing sites are judged once, at the end, by [`leakwatch_core::Detector`]
//! on the series of the *candidate* stacks only: those still holding bytes
//! at the end whose floor rose (the lowest point of the last quarter of the
//! series is above the lowest of the quarter before). The detector's own
//! tests need exactly that rise, so nothing it would call a leak is skipped;
//! everything else costs nothing to judge.

use leakwatch_core::{Assessment, Detector, DetectorConfig, LeakState};

use crate::format::{ATTACH_DETACH, ATTACH_START, PHASE_EXIT, PHASE_RUNTIME_FINALIZE, TICK_NS};
use crate::reader::{Event, Header, Tables, TraceError, TraceReader};

/// Per call stack totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StackStats {
    /// Bytes allocated from this stack and not freed (so far).
    pub live_bytes: u64,
    pub live_blocks: u64,
    /// Allocations ever made from this stack.
    pub allocs: u64,
    pub bytes: u64,
}

/// A call stack whose live bytes the detector judged to grow without bound.
#[derive(Debug, Clone)]
pub struct Growing {
    pub stack: u32,
    pub assessment: Assessment,
    /// Live bytes over the trace: the lowest value of each time bucket.
    pub series: Vec<f64>,
    /// Live bytes when the series ended (the end of the trace, or the
    /// moment data was lost).
    pub live_bytes: u64,
}

/// Data the trace says it lost (format version 4 LOST records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Loss {
    /// Nanoseconds since the trace started.
    pub t_ns: u64,
    /// 1 out of memory, 2 the trace's file descriptor was closed or
    /// replaced, 3 the process ended with events not yet written.
    pub reason: u64,
    /// Events dropped, when known.
    pub detail: u64,
}

impl Loss {
    pub fn describe(&self) -> String {
        match self.reason {
            crate::format::LOST_OUT_OF_MEMORY => {
                "the tracer ran out of memory and stopped recording".to_string()
            }
            crate::format::LOST_FD => "the program closed or replaced the trace's file descriptor and the trace could not be reopened".to_string(),
            crate::format::LOST_AT_END => format!(
                "the process ended with {} events not yet written",
                self.detail
            ),
            r => format!("data was lost (reason {r}, detail {})", self.detail),
        }
    }
}

/// Points kept per stack series (a power of two).
pub const SERIES_POINTS: usize = 64;
/// Stacks followed over time at most (each costs `SERIES_POINTS` × 4
/// bytes: 64 MiB in all); later stacks are counted in
/// [`Analysis::unfollowed_stacks`].
pub const MAX_SERIES: usize = 1 << 18;
/// Losses kept in detail (all are counted).
const MAX_LOSSES: usize = 16;
const NO_SLOT: u32 = u32::MAX;

/// Everything the pass keeps per stack that was allocated from.
#[derive(Debug, Clone, Copy)]
struct StackState {
    stats: StackStats,
    peak_bytes: u64,
    peak_blocks: u64,
    /// Peak generation in which the stack last changed.
    dirty_gen: u32,
    /// Writer tick of the first allocation (for module choice).
    first_tick: u32,
    /// Open bucket of the series, at `level`.
    last: u32,
    level: u8,
    /// Slot in the series slab, or NO_SLOT while every closed point is 0.
    slot: u32,
    /// Lowest live bytes in the open bucket.
    open_min: u64,
    /// Found no room in the series slab.
    unfollowed: bool,
}

/// The time grid the series share.
#[derive(Debug, Clone, Copy)]
struct Grid {
    origin: u64,
    level: u8,
    /// Bucket of the current time, at `level`.
    cur: u32,
}

impl Grid {
    fn width(&self) -> u64 {
        TICK_NS << self.level
    }

    /// Moves the current bucket to the one holding `ts`, coarsening the
    /// grid while it would run past the series' end.
    fn advance_to(&mut self, ts: u64) {
        let mut idx = ts.saturating_sub(self.origin) / self.width();
        while idx >= SERIES_POINTS as u64 {
            self.level += 1;
            idx = ts.saturating_sub(self.origin) / self.width();
        }
        self.cur = idx as u32;
    }
}

/// The series storage and the bookkeeping around it.
#[derive(Debug, Default)]
struct Slab {
    points: Vec<f32>,
    dropped: u64,
}

impl Slab {
    fn slot_mut(&mut self, slot: u32) -> &mut [f32] {
        let at = slot as usize * SERIES_POINTS;
        &mut self.points[at..at + SERIES_POINTS]
    }

    /// Writes point `i` of the state's series.
    #[inline]
    fn write(&mut self, st: &mut StackState, i: u32, value: u64) {
        if st.slot == NO_SLOT {
            if value == 0 {
                return;
            }
            if self.points.len() / SERIES_POINTS >= MAX_SERIES {
                if !st.unfollowed {
                    self.dropped += 1;
                    st.unfollowed = true;
                }
                return;
            }
            st.slot = (self.points.len() / SERIES_POINTS) as u32;
            self.points.resize(self.points.len() + SERIES_POINTS, 0.0);
        }
        if let Some(p) = self.slot_mut(st.slot).get_mut(i as usize) {
            *p = value as f32;
        }
    }

    /// Halves the state's resolution once: closed points merge pairwise.
    fn halve(&mut self, st: &mut StackState) {
        let last = st.last as usize;
        if st.slot != NO_SLOT {
            let p = self.slot_mut(st.slot);
            for i in 0..last / 2 {
                p[i] = p[2 * i].min(p[2 * i + 1]);
            }
            if last % 2 == 1 {
                st.open_min = st.open_min.min(p[last - 1] as u64);
            }
            for v in p.iter_mut().skip(last / 2) {
                *v = 0.0;
            }
        } else if last % 2 == 1 {
            st.open_min = 0;
        }
        st.last /= 2;
        st.level += 1;
    }

    /// Brings the state to the grid's current bucket: closes its open
    /// bucket and fills the buckets it was not touched in with its
    /// (unchanged) live bytes.
    #[inline]
    fn sync(&mut self, st: &mut StackState, grid: &Grid) {
        while st.level < grid.level {
            self.halve(st);
        }
        if st.last < grid.cur {
            let v = st.stats.live_bytes;
            let (from, to) = (st.last, grid.cur);
            self.write(st, from, st.open_min);
            if v != 0 {
                for i in from + 1..to {
                    self.write(st, i, v);
                }
            }
            st.last = to;
            st.open_min = v;
        }
    }
}

/// Everything the report needs, before symbolization.
#[derive(Debug)]
pub struct Analysis {
    pub tables: Tables,
    pub header: Header,
    pub version: u32,
    /// Offset of a partial last chunk, when the trace was cut short.
    pub truncated_at: Option<u64>,
    /// Whole chunks read (0: the trace holds no data at all).
    pub chunks: usize,
    pub duration_ns: u64,
    /// The process exited normally (an END record was seen).
    pub exited: bool,
    /// The tracer was attached to a running process (`trace --pid`):
    /// blocks allocated before are unknown.
    pub attached: bool,
    /// ... and detached again, the process running on.
    pub detached: bool,
    pub allocations: u64,
    pub frees: u64,
    /// Frees of addresses the trace never saw allocated (allocated before
    /// tracing started, or by an untraced path).
    pub unmatched_frees: u64,
    pub bytes_allocated: u64,
    pub peak_bytes: u64,
    pub peak_ns: u64,
    /// Call stacks whose live bytes grow without bound, fastest first.
    pub growing: Vec<Growing>,
    /// Stacks the detector judged (the candidates).
    pub judged_stacks: u64,
    /// Stacks not followed over time because [`MAX_SERIES`] were already.
    pub unfollowed_stacks: u64,
    /// Data lost, as the trace says (first few), and how many LOST records.
    pub losses: Vec<Loss>,
    pub loss_count: u64,
    /// When the process started exiting (PHASE 1), if recorded.
    pub exit_started_ns: Option<u64>,
    /// When a runtime started finalising (PHASE 2), if recorded.
    pub runtime_finalize_ns: Option<u64>,
    /// Width of a series point, seconds.
    pub bucket_s: f64,
    /// Stack id → index into `states` (NO_SLOT when never allocated from).
    slots: Vec<u32>,
    states: Vec<StackState>,
    /// (bytes, blocks) per state when runtime finalisation started.
    at_finalize: Vec<(u64, u64)>,
}

/// Bytes one sampled allocation stands for, under Poisson sampling by bytes
/// with mean `every`: size / P(sampled).
pub fn scaled_size(size: u64, every: u64) -> u64 {
    if every == 0 || size == 0 {
        return size;
    }
    let p = 1.0 - (-(size as f64) / every as f64).exp();
    (size as f64 / p).round() as u64
}

/// The detector configuration for a trace of `span_s` seconds: the defaults
/// chosen as for a series of 400 samples over the span (as `run` samples),
/// except that no leak needs more history than a third of the run.
pub fn detector_config(span_s: f64) -> DetectorConfig {
    let mut cfg = DetectorConfig::for_interval(span_s / 400.0);
    cfg.min_duration_s = cfg.min_duration_s.min(span_s * 0.3);
    cfg
}

/// Candidate stacks judged together (their series held at once).
const JUDGE_BATCH: usize = 4096;

/// Judges one candidate stack's series (`points`, one per grid bucket of
/// `width` ns, the last one ending at `span_ns`): a growing site when the
/// detector calls a leak whose rate's interval excludes zero.
fn judge_series(
    cfg: &DetectorConfig,
    stack: u32,
    points: &[f64],
    width: u64,
    span_ns: u64,
) -> Option<Growing> {
    // Only a final leak counts here: windows that cannot be one skip the
    // tests that would only explain them (same results, less work).
    let mut d = Detector::new(cfg.clone()).final_leak_only();
    let last = points.len() - 1;
    for (i, &v) in points.iter().enumerate() {
        let t0 = i as u64 * width;
        let t1 = if i == last {
            span_ns.max(t0)
        } else {
            t0 + width
        };
        d.push((t0 + t1) as f64 / 2e9, v);
    }
    let a = d.assessment();
    // A rate whose confidence interval reaches zero is not growth,
    // whatever the state's history says.
    (a.state == LeakState::Leak && a.rate_per_hour > 0.0 && a.rate_low_per_hour > 0.0).then(|| {
        Growing {
            stack,
            assessment: a,
            series: points.to_vec(),
            live_bytes: points[last] as u64,
        }
    })
}

/// Whether a series is worth the detector's time: the stack still holds
/// bytes at the end, and the floor of the last quarter is above the floor
/// of the quarter before. The detector calls a leak only when the floors of
/// the recent half rise steadily (Kendall's tau ≥ its `min_tau`, a positive
/// lower slope bound), which implies this rise; the length check is its own
/// `min_samples`.
pub fn is_candidate(points: &[f64], min_samples: u64) -> bool {
    let n = points.len();
    if (n as u64) < min_samples || n < 8 || points.last().is_none_or(|&v| v <= 0.0) {
        return false;
    }
    let floor = |s: &[f64]| s.iter().copied().fold(f64::INFINITY, f64::min);
    floor(&points[3 * n / 4..]) > floor(&points[n / 2..3 * n / 4])
}

/// Replays the trace once. The writer already paired every free with its
/// allocation, so no address map is needed: a free names the class (stack,
/// size) of the block it releases.
pub fn analyze<R: std::io::Read>(reader: TraceReader<R>) -> Result<Analysis, TraceError> {
    analyze_with_progress(reader, |_| {})
}

/// [`analyze`], calling `progress` with the bytes read after each chunk.
pub fn analyze_with_progress<R: std::io::Read>(
    mut reader: TraceReader<R>,
    progress: impl FnMut(u64),
) -> Result<Analysis, TraceError> {
    let header = reader.header.clone();
    let every = header.sample_every;
    let mut tables = Tables::default();
    let mut p = Pass::new(every);
    reader.replay(&mut tables, |ev, tables| p.event(ev, tables), progress)?;
    Ok(p.finish(
        tables,
        header,
        reader.version,
        reader.truncated_at(),
        reader.chunk_count(),
    ))
}

/// The state of the pass.
struct Pass {
    every: u64,
    /// Per class, the bytes one block stands for under sampling.
    scaled: Vec<u64>,
    slots: Vec<u32>,
    states: Vec<StackState>,
    slab: Slab,
    grid: Grid,
    grid_ts: u64,
    /// Whether the series stopped (data was lost).
    frozen: bool,
    allocations: u64,
    frees: u64,
    unmatched: u64,
    bytes_allocated: u64,
    total: u64,
    peak: u64,
    peak_ns: u64,
    marks_seen: bool,
    gen: u32,
    dirty: Vec<u32>,
    first_ns: Option<u64>,
    last_ns: u64,
    series_end_ns: Option<u64>,
    exited: bool,
    attached: bool,
    detached: bool,
    losses: Vec<Loss>,
    loss_count: u64,
    exit_started_ns: Option<u64>,
    runtime_finalize_ns: Option<u64>,
    at_finalize: Vec<(u64, u64)>,
}

impl Pass {
    fn new(every: u64) -> Self {
        Pass {
            every,
            scaled: Vec::new(),
            slots: Vec::new(),
            states: Vec::new(),
            slab: Slab::default(),
            grid: Grid {
                origin: 0,
                level: 0,
                cur: 0,
            },
            grid_ts: 0,
            frozen: false,
            allocations: 0,
            frees: 0,
            unmatched: 0,
            bytes_allocated: 0,
            total: 0,
            peak: 0,
            peak_ns: 0,
            marks_seen: false,
            gen: 1,
            dirty: Vec::new(),
            first_ns: None,
            last_ns: 0,
            series_end_ns: None,
            exited: false,
            attached: false,
            detached: false,
            losses: Vec::new(),
            loss_count: 0,
            exit_started_ns: None,
            runtime_finalize_ns: None,
            at_finalize: Vec::new(),
        }
    }

    /// The bytes a block of `class` stands for.
    #[inline]
    fn size_of(&mut self, class: u32, size: u64) -> u64 {
        if self.every == 0 {
            return size;
        }
        let c = class as usize;
        if self.scaled.len() <= c {
            self.scaled.resize(c + 1, u64::MAX);
        }
        if self.scaled[c] == u64::MAX {
            self.scaled[c] = scaled_size(size, self.every);
        }
        self.scaled[c]
    }

    /// The state of `stack`, created on its first allocation.
    #[inline]
    fn state(&mut self, stack: u32, ts: u64, create: bool) -> Option<usize> {
        let s = stack as usize;
        if let Some(&slot) = self.slots.get(s) {
            if slot != NO_SLOT {
                return Some(slot as usize);
            }
        }
        if !create {
            return None;
        }
        if self.slots.len() <= s {
            self.slots.resize(s + 1, NO_SLOT);
        }
        let slot = self.states.len();
        self.slots[s] = slot as u32;
        self.states.push(StackState {
            stats: StackStats::default(),
            peak_bytes: 0,
            peak_blocks: 0,
            dirty_gen: 0,
            first_tick: (ts / TICK_NS).min(u64::from(u32::MAX)) as u32,
            last: self.grid.cur,
            level: self.grid.level,
            slot: NO_SLOT,
            open_min: 0,
            unfollowed: false,
        });
        Some(slot)
    }

    /// Copies the stacks changed since the last peak into the peak snapshot.
    fn commit_peak(&mut self, ts: u64) {
        for &i in &self.dirty {
            let st = &mut self.states[i as usize];
            st.peak_bytes = st.stats.live_bytes;
            st.peak_blocks = st.stats.live_blocks;
        }
        self.dirty.clear();
        self.gen = self.gen.wrapping_add(1).max(1);
        self.peak = self.total;
        self.peak_ns = ts;
    }

    #[inline]
    fn touch(&mut self, i: usize) {
        let st = &mut self.states[i];
        if st.dirty_gen != self.gen {
            st.dirty_gen = self.gen;
            self.dirty.push(i as u32);
        }
        if !self.frozen {
            self.slab.sync(st, &self.grid);
        }
    }

    fn event(&mut self, ev: &Event, _tables: &Tables) {
        let ts = ev.ts();
        if self.first_ns.is_none() {
            self.first_ns = Some(ts);
            self.grid.origin = ts;
            self.grid_ts = ts;
        }
        self.last_ns = self.last_ns.max(ts);
        if ts != self.grid_ts && !self.frozen {
            self.grid_ts = ts;
            self.grid.advance_to(ts);
        }
        match *ev {
            Event::Alloc {
                class, stack, size, ..
            } => {
                let size = self.size_of(class, size);
                let Some(i) = self.state(stack, ts, true) else {
                    return;
                };
                self.touch(i);
                let st = &mut self.states[i];
                st.stats.live_bytes = st.stats.live_bytes.saturating_add(size);
                st.stats.live_blocks += 1;
                st.stats.allocs += 1;
                st.stats.bytes = st.stats.bytes.saturating_add(size);
                self.allocations += 1;
                self.bytes_allocated = self.bytes_allocated.saturating_add(size);
                self.total = self.total.saturating_add(size);
                if !self.marks_seen && self.total > self.peak {
                    self.commit_peak(ts);
                }
            }
            Event::Free {
                class, stack, size, ..
            } => {
                let size = self.size_of(class, size);
                self.frees += 1;
                // The writer never frees a block it did not allocate; a
                // damaged file may, and must not underflow.
                let Some(i) = self.state(stack, ts, false) else {
                    return;
                };
                self.touch(i);
                let st = &mut self.states[i];
                st.stats.live_bytes = st.stats.live_bytes.saturating_sub(size);
                st.stats.live_blocks = st.stats.live_blocks.saturating_sub(1);
                st.open_min = st.open_min.min(st.stats.live_bytes);
                self.total = self.total.saturating_sub(size);
            }
            Event::Unmatched { count, .. } => self.unmatched = self.unmatched.saturating_add(count),
            Event::Peak { .. } => {
                self.marks_seen = true;
                self.commit_peak(ts);
            }
            Event::End { .. } => self.exited = true,
            Event::Lost { reason, detail, .. } => {
                self.loss_count += 1;
                if self.losses.len() < MAX_LOSSES {
                    self.losses.push(Loss {
                        t_ns: ts,
                        reason,
                        detail,
                    });
                }
                if !self.frozen {
                    self.freeze(ts);
                }
            }
            Event::Phase { kind, .. } => {
                if kind == PHASE_EXIT && self.exit_started_ns.is_none() {
                    self.exit_started_ns = Some(ts);
                }
                if kind == PHASE_RUNTIME_FINALIZE && self.runtime_finalize_ns.is_none() {
                    self.runtime_finalize_ns = Some(ts);
                    self.at_finalize = self
                        .states
                        .iter()
                        .map(|s| (s.stats.live_bytes, s.stats.live_blocks))
                        .collect();
                }
            }
            Event::Attach { kind, .. } => match kind {
                ATTACH_START => self.attached = true,
                ATTACH_DETACH => self.detached = true,
                _ => {}
            },
            Event::Module { .. } | Event::Unload { .. } | Event::Thread { .. } => {}
        }
    }

    /// Ends every series at `ts`: brings each to the bucket holding `ts`
    /// and writes its open bucket as the last point.
    fn freeze(&mut self, ts: u64) {
        self.frozen = true;
        self.series_end_ns = Some(ts);
        self.grid.advance_to(ts.max(self.grid.origin));
        let grid = self.grid;
        for st in &mut self.states {
            self.slab.sync(st, &grid);
            let (last, min) = (st.last, st.open_min);
            self.slab.write(st, last, min);
        }
    }

    fn finish(
        mut self,
        tables: Tables,
        header: Header,
        version: u32,
        truncated_at: Option<u64>,
        chunks: usize,
    ) -> Analysis {
        let start = self.first_ns.unwrap_or(0);
        if !self.frozen {
            let end = self.last_ns;
            self.freeze(end);
        }
        let series_end = self.series_end_ns.unwrap_or(self.last_ns);
        let span_s = series_end.saturating_sub(start) as f64 / 1e9;
        let cfg = detector_config(span_s);
        let width = self.grid.width();
        let mut growing = Vec::new();
        let mut judged = 0u64;
        // Candidates are judged in batches, each batch spread over the
        // cores (after `trace`, the program's cores are free): the
        // judgement was most of what is left once the program ended.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let mut batch: Vec<(u32, Vec<f64>)> = Vec::new();
        let judge = |batch: &mut Vec<(u32, Vec<f64>)>, growing: &mut Vec<Growing>| {
            let chunk = batch.len().div_ceil(threads).max(1);
            let found: Vec<Vec<Growing>> = std::thread::scope(|scope| {
                let workers: Vec<_> = batch
                    .chunks(chunk)
                    .map(|part| {
                        let cfg = &cfg;
                        scope.spawn(move || {
                            part.iter()
                                .filter_map(|(stack, points)| {
                                    judge_series(
                                        cfg,
                                        *stack,
                                        points,
                                        width,
                                        series_end.saturating_sub(start),
                                    )
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            growing.extend(found.into_iter().flatten());
            batch.clear();
        };
        for (stack, &slot) in self.slots.iter().enumerate() {
            if slot == NO_SLOT {
                continue;
            }
            let st = self.states[slot as usize];
            if st.slot == NO_SLOT {
                continue;
            }
            let points: Vec<f64> = self.slab.slot_mut(st.slot)[..=st.last as usize]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            if !is_candidate(&points, cfg.min_samples) {
                continue;
            }
            judged += 1;
            batch.push((stack as u32, points));
            if batch.len() == JUDGE_BATCH {
                judge(&mut batch, &mut growing);
            }
        }
        if !batch.is_empty() {
            judge(&mut batch, &mut growing);
        }
        growing.sort_by(|a, b| {
            b.assessment
                .rate_per_hour
                .total_cmp(&a.assessment.rate_per_hour)
                .then(a.stack.cmp(&b.stack))
        });
        Analysis {
            tables,
            header,
            version,
            truncated_at,
            chunks,
            duration_ns: self.last_ns.saturating_sub(start),
            exited: self.exited,
            attached: self.attached,
            detached: self.detached,
            allocations: self.allocations,
            frees: self.frees,
            unmatched_frees: self.unmatched,
            bytes_allocated: self.bytes_allocated,
            peak_bytes: self.peak,
            peak_ns: self.peak_ns.saturating_sub(start),
            growing,
            judged_stacks: judged,
            unfollowed_stacks: self.slab.dropped,
            losses: self.losses,
            loss_count: self.loss_count,
            exit_started_ns: self.exit_started_ns.map(|t| t.saturating_sub(start)),
            runtime_finalize_ns: self.runtime_finalize_ns.map(|t| t.saturating_sub(start)),
            bucket_s: width as f64 / 1e9,
            slots: self.slots,
            states: self.states,
            at_finalize: self.at_finalize,
        }
    }
}

impl Analysis {
    /// Totals of one stack (zero for a stack never allocated from).
    pub fn stack_stats(&self, stack: u32) -> StackStats {
        self.state(stack).map(|s| s.stats).unwrap_or_default()
    }

    fn state(&self, stack: u32) -> Option<&StackState> {
        match self.slots.get(stack as usize) {
            Some(&slot) if slot != NO_SLOT => self.states.get(slot as usize),
            _ => None,
        }
    }

    /// Every stack allocated from, with its totals, in stack order.
    pub fn allocating_stacks(&self) -> impl Iterator<Item = (u32, StackStats)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, &s)| s != NO_SLOT)
            .map(|(i, &s)| (i as u32, self.states[s as usize].stats))
    }

    /// (stack, bytes, blocks) still live at the end, most bytes first.
    pub fn live_at_end(&self) -> Vec<(u32, u64, u64)> {
        let mut v: Vec<(u32, u64, u64)> = self
            .allocating_stacks()
            .filter(|(_, s)| s.live_blocks > 0)
            .map(|(i, s)| (i, s.live_bytes, s.live_blocks))
            .collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        v
    }

    /// (stack, bytes, blocks) live at the peak, most bytes first.
    pub fn peak_holders(&self) -> Vec<(u32, u64, u64)> {
        let mut v: Vec<(u32, u64, u64)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, &s)| s != NO_SLOT)
            .map(|(i, &s)| {
                let st = &self.states[s as usize];
                (i as u32, st.peak_bytes, st.peak_blocks)
            })
            .filter(|x| x.2 > 0)
            .collect();
        v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        v
    }

    /// When the stack was first allocated from, ns since tracing started
    /// (to pick the right module after a dlclose).
    pub fn stack_first_ns(&self, stack: u32) -> u64 {
        self.state(stack)
            .map(|s| u64::from(s.first_tick) * TICK_NS)
            .unwrap_or(0)
    }

    /// (bytes, blocks) the stack held when runtime finalisation started,
    /// when the trace marks that moment.
    pub fn at_runtime_finalize(&self, stack: u32) -> Option<(u64, u64)> {
        self.runtime_finalize_ns?;
        match self.slots.get(stack as usize) {
            Some(&slot) if slot != NO_SLOT => Some(
                self.at_finalize
                    .get(slot as usize)
                    .copied()
                    .unwrap_or((0, 0)),
            ),
            _ => Some((0, 0)),
        }
    }

    /// The trace holds everything up to a normal exit: END seen, nothing
    /// lost, not cut short.
    pub fn complete(&self) -> bool {
        // Attached: blocks from before the attach are unknown.
        self.exited && !self.attached && self.loss_count == 0 && self.truncated_at.is_none()
    }

    /// Approximate heap bytes held (tables, per-stack state, series).
    pub fn heap_bytes(&self) -> usize {
        self.tables.heap_bytes()
            + self.slots.capacity() * 4
            + self.states.capacity() * std::mem::size_of::<StackState>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> StackState {
        StackState {
            stats: StackStats::default(),
            peak_bytes: 0,
            peak_blocks: 0,
            dirty_gen: 0,
            first_tick: 0,
            last: 0,
            level: 0,
            slot: NO_SLOT,
            open_min: 0,
            unfollowed: false,
        }
    }

    fn series(slab: &mut Slab, st: &StackState) -> Vec<f32> {
        if st.slot == NO_SLOT {
            return vec![0.0; st.last as usize + 1];
        }
        slab.slot_mut(st.slot)[..=st.last as usize].to_vec()
    }

    /// Live bytes set at given ticks; the series holds each bucket's lowest
    /// value, merged pairwise as the grid coarsens.
    #[test]
    fn series_keep_bucket_floors_across_coarsening() {
        let mut slab = Slab::default();
        let mut grid = Grid {
            origin: 0,
            level: 0,
            cur: 0,
        };
        let mut st = state();
        // One value per tick: 10, 20, 5 (a dip), 30, ..., over 200 ticks.
        let mut want_raw = Vec::new();
        for tick in 0..200u64 {
            grid.advance_to(tick * TICK_NS);
            slab.sync(&mut st, &grid);
            let v = if tick == 2 { 5 } else { 10 * (tick + 1) };
            st.stats.live_bytes = v;
            st.open_min = st.open_min.min(v);
            want_raw.push(v);
        }
        grid.advance_to(199 * TICK_NS);
        slab.sync(&mut st, &grid);
        let (last, min) = (st.last, st.open_min);
        slab.write(&mut st, last, min);
        // 200 ticks at 64 points: buckets of 4 ticks.
        assert_eq!(grid.level, 2);
        let got = series(&mut slab, &st);
        assert_eq!(got.len(), 50);
        // Each bucket's floor is the value at its start, the live bytes
        // carried in (the bucket of tick 0 starts from 0).
        assert_eq!(got[0], 0.0);
        // Bucket 1 (ticks 4..8) starts from the value set at tick 3.
        assert_eq!(got[1], 40.0);
        assert_eq!(got[10], 400.0);
        assert!(got.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn idle_stack_is_filled_with_its_constant_value() {
        let mut slab = Slab::default();
        let mut grid = Grid {
            origin: 0,
            level: 0,
            cur: 0,
        };
        let mut st = state();
        st.stats.live_bytes = 100;
        grid.advance_to(30 * TICK_NS);
        slab.sync(&mut st, &grid);
        let got = series(&mut slab, &st);
        assert_eq!(got.len(), 31);
        assert_eq!(got[0], 0.0, "the first bucket started empty");
        assert!(got[1..30].iter().all(|&v| v == 100.0));
    }

    #[test]
    fn candidates_need_a_rising_floor_and_bytes_at_the_end() {
        let rising: Vec<f64> = (0..64).map(|i| i as f64).collect();
        assert!(is_candidate(&rising, 24));
        let flat: Vec<f64> = vec![5.0; 64];
        assert!(!is_candidate(&flat, 24));
        let churn: Vec<f64> = (0..64).map(|i| (i % 2) as f64 * 100.0).collect();
        assert!(!is_candidate(&churn, 24));
        let mut freed = rising.clone();
        *freed.last_mut().unwrap() = 0.0;
        assert!(!is_candidate(&freed, 24));
        assert!(!is_candidate(&rising[..20], 24), "too short to judge");
    }
}
