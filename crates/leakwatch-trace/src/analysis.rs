//! Replaying a trace into the numbers of the report: what was still
//! allocated at exit (by call stack), each call stack's live bytes over time
//! judged by the leak detector, and the peak with who held it.

use leakwatch_core::{Assessment, Detector, DetectorConfig, LeakState};

use crate::reader::{Event, Tables, Trace, TraceError};

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
    /// Live bytes at each tick (downsampled to at most 120 points).
    pub series: Vec<f64>,
}

/// Everything the report needs, before symbolization.
#[derive(Debug)]
pub struct Analysis {
    pub tables: Tables,
    pub duration_ns: u64,
    /// The process exited normally (an END record was seen).
    pub exited: bool,
    pub allocations: u64,
    pub frees: u64,
    /// Frees of addresses the trace never saw allocated (allocated before
    /// tracing started, or by an untraced path).
    pub unmatched_frees: u64,
    pub bytes_allocated: u64,
    /// Per stack, indexed like `tables.stacks`, as at the end of the trace.
    pub stacks: Vec<StackStats>,
    pub peak_bytes: u64,
    pub peak_ns: u64,
    /// Live bytes and blocks per stack at the peak (stacks holding none omitted).
    pub peak_holders: Vec<(u32, u64, u64)>,
    pub growing: Vec<Growing>,
    /// When stacks were first seen (for module choice at symbolization).
    pub stack_first_ns: Vec<u64>,
    /// The detector's tick in seconds.
    pub tick_s: f64,
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

/// The detector configuration for a trace of `span_s` seconds sampled every
/// `tick_s`: the defaults, except that no leak needs more history than a
/// third of the run.
pub fn detector_config(span_s: f64, tick_s: f64) -> DetectorConfig {
    let mut cfg = DetectorConfig::for_interval(tick_s);
    cfg.min_duration_s = cfg.min_duration_s.min(span_s * 0.3);
    cfg
}

/// The bytes a block of `class` stands for, computed once per class
/// (scaling under sampling takes a logarithm).
fn class_size(scaled: &mut Vec<u64>, tables: &Tables, class: u32, size: u64, every: u64) -> u64 {
    if every == 0 {
        return size;
    }
    let c = class as usize;
    if scaled.len() < tables.classes.len() {
        scaled.resize(tables.classes.len(), u64::MAX);
    }
    match scaled.get_mut(c) {
        Some(v) if *v != u64::MAX => *v,
        Some(v) => {
            *v = scaled_size(size, every);
            *v
        }
        None => scaled_size(size, every),
    }
}

/// Most ticks fed to each site's detector.
const TICKS: f64 = 400.0;
const MIN_TICK_S: f64 = 0.02;

/// Replays the trace twice: once for totals and the peak's time, once to
/// feed the detectors and take the peak snapshot. The writer already paired
/// every free with its allocation, so no address map is needed: a free names
/// the class (stack, size) of the block it releases.
pub fn analyze(trace: &Trace<'_>) -> Result<Analysis, TraceError> {
    let every = trace.header.sample_every;
    let mut tables = Tables::default();
    // Per class, the bytes one block stands for (scaled under sampling).
    let mut scaled: Vec<u64> = Vec::new();
    let mut stacks: Vec<StackStats> = Vec::new();
    let mut stack_first_ns: Vec<u64> = Vec::new();
    let (mut allocations, mut frees, mut unmatched, mut bytes_allocated) = (0u64, 0u64, 0u64, 0u64);
    let (mut total, mut peak, mut peak_ns, mut peak_event) = (0u64, 0u64, 0u64, 0u64);
    // The writer's PEAK marks, when present, are exact; the maximum over
    // the records' order is only exact to a tick (threads are grouped).
    let mut marked: Option<(u64, u64, u64)> = None;
    let (mut first_ns, mut last_ns, mut exited) = (None::<u64>, 0u64, false);
    let mut event_no = 0u64;
    trace.replay(&mut tables, |ev, tables| {
        event_no += 1;
        let ts = ev.ts();
        first_ns.get_or_insert(ts);
        last_ns = last_ns.max(ts);
        match *ev {
            Event::Alloc {
                class, stack, size, ..
            } => {
                let size = class_size(&mut scaled, tables, class, size, every);
                let s = stack as usize;
                if stacks.len() <= s {
                    stacks.resize(s + 1, StackStats::default());
                    stack_first_ns.resize(s + 1, ts);
                }
                allocations += 1;
                bytes_allocated = bytes_allocated.saturating_add(size);
                let st = &mut stacks[s];
                st.live_bytes = st.live_bytes.saturating_add(size);
                st.live_blocks += 1;
                st.allocs += 1;
                st.bytes = st.bytes.saturating_add(size);
                total = total.saturating_add(size);
                if total > peak {
                    peak = total;
                    peak_ns = ts;
                    peak_event = event_no;
                }
            }
            Event::Free {
                class, stack, size, ..
            } => {
                let size = class_size(&mut scaled, tables, class, size, every);
                frees += 1;
                // The writer never frees a block it did not allocate; a
                // damaged file may, and must not underflow.
                if let Some(o) = stacks.get_mut(stack as usize) {
                    o.live_bytes = o.live_bytes.saturating_sub(size);
                    o.live_blocks = o.live_blocks.saturating_sub(1);
                }
                total = total.saturating_sub(size);
            }
            Event::Unmatched { count, .. } => unmatched = unmatched.saturating_add(count),
            Event::Peak { .. } => marked = Some((total, ts, event_no)),
            Event::End { .. } => exited = true,
            _ => {}
        }
    })?;
    if let Some((bytes, ns, event)) = marked {
        (peak, peak_ns, peak_event) = (bytes, ns, event);
    }
    let start_ns = first_ns.unwrap_or(0);
    let span_s = (last_ns.saturating_sub(start_ns)) as f64 / 1e9;
    let tick_s = (span_s / TICKS).max(MIN_TICK_S);
    let tick_ns = (tick_s * 1e9) as u64;
    let cfg = detector_config(span_s, tick_s);

    // Second pass: per-stack series for the detectors and the peak snapshot.
    let mut tables2 = Tables::default();
    let mut cur: Vec<u64> = vec![0; stacks.len()];
    let mut blocks: Vec<u64> = vec![0; stacks.len()];
    let mut detectors: Vec<Option<(Detector, Vec<f64>)>> =
        (0..stacks.len()).map(|_| None).collect();
    let mut active: Vec<u32> = Vec::new();
    let mut next_tick = start_ns + tick_ns;
    let mut peak_holders = Vec::new();
    let mut event_no = 0u64;
    let push_tick = |t_ns: u64,
                     active: &[u32],
                     cur: &[u64],
                     detectors: &mut Vec<Option<(Detector, Vec<f64>)>>| {
        let t_s = (t_ns - start_ns) as f64 / 1e9;
        for &s in active {
            if let Some((d, series)) = detectors[s as usize].as_mut() {
                let v = cur[s as usize] as f64;
                d.push(t_s, v);
                series.push(v);
            }
        }
    };
    trace.replay(&mut tables2, |ev, tables| {
        event_no += 1;
        let ts = ev.ts();
        while ts >= next_tick {
            push_tick(next_tick, &active, &cur, &mut detectors);
            next_tick += tick_ns;
        }
        match *ev {
            Event::Alloc {
                class, stack, size, ..
            } => {
                let size = class_size(&mut scaled, tables, class, size, every);
                let s = stack as usize;
                // The first pass saw the same stacks, so s < stacks.len().
                if s >= cur.len() {
                    return;
                }
                if detectors[s].is_none() {
                    detectors[s] = Some((Detector::new(cfg.clone()), Vec::new()));
                    active.push(stack);
                }
                cur[s] = cur[s].saturating_add(size);
                blocks[s] += 1;
            }
            Event::Free {
                class, stack, size, ..
            } => {
                let size = class_size(&mut scaled, tables, class, size, every);
                let s = stack as usize;
                if s < cur.len() {
                    cur[s] = cur[s].saturating_sub(size);
                    blocks[s] = blocks[s].saturating_sub(1);
                }
            }
            _ => {}
        }
        if event_no == peak_event {
            peak_holders = cur
                .iter()
                .zip(&blocks)
                .enumerate()
                .filter(|(_, (b, _))| **b > 0)
                .map(|(i, (b, n))| (i as u32, *b, *n))
                .collect();
        }
    })?;
    push_tick(last_ns.max(start_ns), &active, &cur, &mut detectors);

    let mut growing = Vec::new();
    for (s, d) in detectors.into_iter().enumerate() {
        let Some((d, series)) = d else { continue };
        let a = d.assessment();
        if a.state == LeakState::Leak {
            growing.push(Growing {
                stack: s as u32,
                assessment: a,
                series: downsample(&series, 120),
            });
        }
    }
    growing.sort_by(|a, b| {
        b.assessment
            .rate_per_hour
            .total_cmp(&a.assessment.rate_per_hour)
    });
    Ok(Analysis {
        tables,
        duration_ns: last_ns.saturating_sub(start_ns),
        exited,
        allocations,
        frees,
        unmatched_frees: unmatched,
        bytes_allocated,
        stacks,
        peak_bytes: peak,
        peak_ns: peak_ns.saturating_sub(start_ns),
        peak_holders,
        growing,
        stack_first_ns,
        tick_s,
    })
}

fn downsample(v: &[f64], n: usize) -> Vec<f64> {
    if v.len() <= n {
        return v.to_vec();
    }
    (0..n).map(|i| v[i * v.len() / n]).collect()
}
