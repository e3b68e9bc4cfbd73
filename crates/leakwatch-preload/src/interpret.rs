//! The writer thread's interpreter: turns the threads' raw ring records
//! (timestamps, addresses, per-thread stack ids) into the file's record
//! stream (format version 5, see `leakwatch_trace::format`), which holds
//! only allocation classes, and compresses it as one zstd stream.
//!
//! Pairing frees with allocations needs the events of every address in
//! their true order. Each address's records form a causal chain: a FREE
//! record is pushed before glibc's free runs, an ALLOC record after malloc
//! returned, and the stamps' sequence numbers follow the chain (frees are
//! stamped before the memory is released, allocations after it is
//! obtained; `writer::stamp` says why a shared counter, not a clock). So
//! (a) sequence order is a correct order for every address, and
//! (b) if an event is visible in its ring at one moment, every earlier event
//!     of its address's chain is visible in its own ring at any later moment
//!     (its push happened before).
//! Each drain therefore reads every ring's head twice, A then B (and counts
//! the rings again between, for a ring claimed meanwhile). Events before A
//! are "processable"; events in [A, B) are only "known". The drain merges
//! the rings by sequence number and processes events in that order,
//! stopping at the first one that is known but not processable: every
//! predecessor of a processable event is known (b), and has a smaller
//! number (a), so it was processed first. What stops waits for the next
//! drain, in the ring (a ring's tail only moves past processed records, so
//! memory stays bounded by the rings). The final flush processes all it
//! sees.
//!
//! The output keeps exact pairing but coarsens time: a TIME record each
//! time the processed events cross into a new 10 ms tick, and within a tick
//! each thread's records grouped together (so how threads interleave costs
//! no bytes, and a periodic program's stream is periodic). A FREE goes to
//! the group of the thread that allocated the block, in processing order:
//! it always follows its ALLOC (a class's count never goes below zero), and
//! each group replays its blocks' lives exactly, so within a tick only the
//! threads' relative timing is lost (the peak is exact to a tick).
//!
//! Runs with DRAIN_LOCK held and the hook guard set: its own allocations go
//! to the allocator untraced. They may fail (a program that runs out of
//! memory): every table grows with `try_reserve`, and a failure ends the
//! trace with a LOST record instead of aborting the program. The buffers
//! and the compressor are allocated, and the compressor warmed up, at
//! start-up.

use core::hash::{BuildHasherDefault, Hasher};
use core::sync::atomic::Ordering;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use zstd::zstd_safe::{zstd_sys::ZSTD_EndDirective, CCtx, CParameter, InBuffer, OutBuffer};

use crate::python::PY_FRAME_BIT;
use crate::ring::{self, Ring};
use crate::tables::{Index, Live};
use crate::{
    REC_ALLOC, REC_ATTACH, REC_END, REC_FREE, REC_LOST, REC_LSANSUPP, REC_MODULE, REC_NODE,
    REC_NODE_RESET, REC_PHASE, REC_PYCODE, REC_PYCODE_RING, REC_PYNODE, REC_STACK, REC_STACKREF,
    REC_THREAD, REC_UNLOAD,
};

/// Output-only records (see `leakwatch_trace::format`).
const REC_CLASS: u8 = 8;
const REC_TIME: u8 = 9;
const REC_UNMATCHED: u8 = 10;
const REC_PEAK: u8 = 11;

/// Length of a time tick (must match `leakwatch_trace::format::TICK_NS`).
const TICK_NS: u64 = 10_000_000;
/// zstd level 1 with level 3's 2 MiB window (matches reach back across
/// drains): level 3's double-fast search took 6.8 % of the CPython job's
/// CPU, level 1 2.9 %, for files 2-12 % larger on bench/trace/real.sh's
/// programs (the interpreted stream is a few bytes per event).
const ZSTD_LEVEL: i32 = 1;
const ZSTD_WINDOW_LOG: u32 = 21;
/// Write a chunk early past this many raw bytes (the reader refuses
/// chunks over 64 MiB). Its buffers are reserved at start-up.
const CHUNK_RAW_MAX: usize = 2 << 20;
/// Raw bytes a chunk may pass CHUNK_RAW_MAX by before it is cut (one
/// CONSUME_EVERY batch of events), also reserved at start-up.
const CHUNK_SLACK: usize = 1 << 20;
/// Publish tails (so producers waiting on a full ring go on) this often.
const CONSUME_EVERY: u32 = 4096;
/// Nodes made without a trie lookup kept before they are inserted.
const UNINDEXED_MAX: usize = 32;
/// How far past the record being processed the look-ahead prefetches
/// (bytes of ring records: a few dozen events).
const LOOK_AHEAD: u64 = 192;
/// Records the look-ahead cursor may pass per record peeked.
const AHEAD_STEPS: usize = 4;
/// Frames kept per output stack (the innermost ones).
const MAX_OUT_FRAMES: usize = 128;
/// The parent of an outermost frame's node.
const ROOT: u32 = u32::MAX;
/// A node whose output stack is not defined yet.
const UNDEFINED: u32 = u32::MAX;

/// A node of the global stack tree.
struct GNode {
    ip: u64,
    parent: u32,
    /// An output stack holding this node's path to the root from its frame
    /// `at_pos` on (`at_pos` 0: the node's own stack); UNDEFINED: none yet.
    /// A deep node's (depth MAX_OUT_FRAMES or more) is only its own.
    at_stack: u32,
    /// Frames from this node to the root, saturating.
    depth: u8,
    at_pos: u8,
    /// The class of this node's latest allocation and its size (class
    /// UNDEFINED: none yet): most sites allocate one size again and again,
    /// and the class index's probe was the writer's costliest cache miss.
    last_size: u32,
    last_class: u32,
    /// Whether a node under this one was ever made (if not, a child is
    /// new without looking in the trie).
    has_children: bool,
}

/// Multiplicative hash for addresses and small keys: one multiply, then
/// the high bits folded down (addresses' low bits are always zero).
#[derive(Default, Clone, Copy)]
struct Mix(u64);

impl Hasher for Mix {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // A word at a time: `[u64]` keys arrive here as one byte slice.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        if !rest.is_empty() {
            tail[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(tail) ^ (rest.len() as u64) << 56);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<Mix>>;

/// A live block: its class and the slot its ALLOC was written in, packed
/// in 64 bits.
#[inline]
fn pack(class: u32, slot: usize) -> u64 {
    class as u64 | (slot as u64) << 32
}

#[derive(Clone, Copy)]
enum Kind {
    Alloc {
        size: u64,
        stack: u64,
    },
    Free,
    /// The record's bytes from `body` to its end are copied as they are.
    Module {
        body: u64,
    },
    Unload {
        base: u64,
    },
    Thread {
        tid: u64,
    },
    Phase {
        kind: u64,
    },
    Attach {
        kind: u64,
    },
    /// The record's bytes from `body` to its end are copied as they are.
    LsanSupp {
        body: u64,
    },
    End,
}

/// A decoded record of a ring, not yet processed.
#[derive(Clone, Copy)]
struct Peek {
    start: u64,
    end: u64,
    ts: u64,
    /// The merge's order (see `writer::stamp`).
    seq: u64,
    ptr: u64,
    kind: Kind,
}

#[derive(Default)]
struct Slot {
    /// Stream position up to which records are processed.
    pos: u64,
    prev_ts: u64,
    prev_seq: u64,
    prev_ptr: u64,
    /// This ring's stack ids to global ones.
    local: Vec<u32>,
    /// This ring's Python code ids to the file's.
    py_codes: Vec<u32>,
    peek: Option<Peek>,
    /// Output records of the current tick.
    group: Vec<u8>,
    /// `group[..split]` was written before the peak marked `mark`.
    mark: u64,
    split: usize,
    /// The look-ahead cursor (a record boundary past the peeked record)
    /// and the block address there.
    ahead: u64,
    ahead_ptr: u64,
}

/// What the look-ahead read past (`Dec::skip_record`).
enum Skipped {
    Alloc { dptr: i64, size: u64, stack: u64 },
    Free { dptr: i64 },
    Node { parent: u64, dip: i64 },
    Other,
}

/// Reads varints from a ring, never past `end`.
struct Dec<'r> {
    ring: &'r Ring,
    pos: u64,
    end: u64,
}

impl Dec<'_> {
    #[inline]
    fn skip(&mut self, len: u64) -> Option<()> {
        if len > self.end - self.pos {
            return None;
        }
        self.pos += len;
        Some(())
    }

    /// Reads past a record whose tag was read, returning what the
    /// look-ahead prefetches for (None inside a record). Mirrors
    /// `Interp::refill`'s parse, for the look-ahead only (a mismatch would
    /// cost prefetches, never correctness; `Interp::desyncs` counts any).
    fn skip_record(&mut self, tag: u8) -> Option<Skipped> {
        match tag {
            REC_ALLOC => {
                self.stamp()?;
                let size = self.u()?;
                let dptr = self.i()?;
                let stack = self.u()?;
                Some(Skipped::Alloc { dptr, size, stack })
            }
            REC_FREE => {
                self.stamp()?;
                Some(Skipped::Free { dptr: self.i()? })
            }
            REC_NODE => {
                let parent = self.u()?;
                let dip = self.i()?;
                Some(Skipped::Node { parent, dip })
            }
            REC_PYNODE => {
                self.u()?;
                self.u()?;
                self.u()?;
                Some(Skipped::Other)
            }
            REC_PYCODE_RING => {
                for _ in 0..3 {
                    self.u()?;
                }
                for _ in 0..3 {
                    let len = self.u()?;
                    self.skip(len)?;
                }
                Some(Skipped::Other)
            }
            REC_MODULE => {
                self.stamp()?;
                self.u()?;
                let nseg = self.u()?;
                for _ in 0..nseg.saturating_mul(3) {
                    self.u()?;
                }
                let len = self.u()?;
                self.skip(len)?;
                Some(Skipped::Other)
            }
            REC_UNLOAD | REC_THREAD | REC_PHASE | REC_ATTACH => {
                self.stamp()?;
                self.u()?;
                Some(Skipped::Other)
            }
            REC_END => {
                self.stamp()?;
                Some(Skipped::Other)
            }
            REC_NODE_RESET => Some(Skipped::Other),
            REC_LSANSUPP => {
                self.stamp()?;
                let len = self.u()?;
                self.skip(len)?;
                Some(Skipped::Other)
            }
            _ => None,
        }
    }

    /// A timed record's stamp as deltas (ns, seq): see `ring::StampDelta`.
    #[inline]
    fn stamp(&mut self) -> Option<(u64, u64)> {
        let first = self.u()?;
        let dseq = if first & 1 != 0 { self.u()? } else { 0 };
        Some((first >> 1, dseq))
    }

    #[inline]
    fn u(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            if self.pos >= self.end || shift > 63 {
                return None;
            }
            let b = self.ring.byte(self.pos);
            self.pos += 1;
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }
    #[inline]
    fn i(&mut self) -> Option<i64> {
        let u = self.u()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

/// Makes room for `n` more elements without aborting when memory is out.
#[inline]
fn room<T>(v: &mut Vec<T>, n: usize) -> Result<(), Fail> {
    if v.capacity() - v.len() >= n {
        return Ok(());
    }
    v.try_reserve(n).map_err(|_| Fail::NoMemory)
}

/// Room for one more entry in a map.
#[inline]
fn map_room<K: Eq + core::hash::Hash, V>(m: &mut Map<K, V>) -> Result<(), Fail> {
    if m.capacity() > m.len() {
        return Ok(());
    }
    m.try_reserve(1).map_err(|_| Fail::NoMemory)
}

/// Appends a varint; the caller made room (10 bytes at most).
#[inline]
fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes one sampled allocation stands for: size / P(sampled) under
/// Poisson sampling by bytes (as the reader's analysis computes it).
/// A stack record's frames: each the zigzag delta from the one before.
fn put_frames(out: &mut Vec<u8>, frames: &[u64]) {
    let mut prev = 0i64;
    for &ip in frames {
        let ip = ip as i64;
        let z = ip.wrapping_sub(prev);
        put(out, ((z << 1) ^ (z >> 63)) as u64);
        prev = ip;
    }
}

fn scaled_size(size: u64, every: u64) -> u64 {
    if every == 0 || size == 0 {
        return size;
    }
    let p = 1.0 - (-(size as f64) / every as f64).exp();
    (size as f64 / p).round() as u64
}

/// What refilling a slot found.
enum Next {
    Processable(u64),
    Known(u64),
    Nothing,
}

pub struct Interp {
    slots: Vec<Slot>,
    /// Live blocks: address to packed (class, slot).
    live: Live,
    /// (stack, size) to class.
    classes: Index,
    /// Bytes a block of each class stands for (scaled under sampling).
    class_bytes: Vec<u64>,
    sample_every: u64,
    /// Live bytes in processing order, their maximum, and a counter bumped
    /// at each new maximum.
    total: u64,
    max: u64,
    mark: u64,
    peak_in_tick: bool,
    /// Output stacks defined so far.
    nstacks: u32,
    /// Times a look-ahead cursor was found inside a record (should be 0).
    desyncs: u64,
    /// Stacks cut to MAX_OUT_FRAMES frames, by their frames: deeper paths
    /// may share their innermost frames. (A whole path is the only one of
    /// its global node: the tree holds each path once.)
    deep_stacks: Map<Box<[u64]>, u32>,
    /// The stack tree of all rings: a node is a frame under its caller's
    /// node, with an output stack that holds its path (once defined).
    gnodes: Vec<GNode>,
    trie: Index,
    /// Nodes made without a trie lookup, not yet in the trie: inserted
    /// together (their cache misses overlap) before the next lookup.
    unindexed: Vec<(u32, u64, u32)>,
    frames: Vec<u64>,
    /// The nodes of `frames` while a stack is defined.
    path: Vec<u32>,
    /// Python code objects written (PYCODE), by their record's body.
    py_codes: Map<Box<[u8]>, u32>,
    /// STACK and CLASS definitions not yet written: they go before the
    /// groups that use them.
    defs: Vec<u8>,
    /// Slots whose group is not empty.
    dirty: Vec<u32>,
    /// The stream's clock (ns since start) and the end of its tick.
    now: u64,
    tick_end: u64,
    unmatched: u64,
    /// The records of the chunk being built, and its compressed form.
    raw: Vec<u8>,
    out: Vec<u8>,
    cctx: CCtx<'static>,
    seq: u32,
    heads: Vec<(u64, u64)>,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl From<crate::tables::NoRoom> for Fail {
    fn from(_: crate::tables::NoRoom) -> Fail {
        Fail::NoMemory
    }
}

/// Why a drain stopped early.
pub enum Fail {
    Write,
    /// The fd no longer is the trace file, which cannot be reopened.
    Fd,
    Compress,
    /// An allocation failed (the program exhausted memory).
    NoMemory,
    /// The ring held a record the hooks never write: a tracer bug.
    Corrupt,
}

impl Interp {
    pub fn new() -> Option<Interp> {
        let mut cctx = CCtx::try_create()?;
        cctx.set_parameter(CParameter::CompressionLevel(ZSTD_LEVEL))
            .ok()?;
        cctx.set_parameter(CParameter::WindowLog(ZSTD_WINDOW_LOG))
            .ok()?;
        // Warm the compressor up: its workspace is allocated on first use,
        // then kept across the session reset.
        let mut scratch = vec![0u8; 4096];
        let mut sink = Vec::new();
        sink.try_reserve(zstd::zstd_safe::compress_bound(scratch.len()) + 64)
            .ok()?;
        scratch
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8);
        {
            let mut input = InBuffer::around(&scratch);
            let mut output = OutBuffer::around(&mut sink);
            cctx.compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_end)
                .ok()?;
        }
        cctx.reset(zstd::zstd_safe::ResetDirective::SessionOnly)
            .ok()?;
        let mut raw = Vec::new();
        raw.try_reserve(CHUNK_RAW_MAX + CHUNK_SLACK).ok()?;
        let mut out = Vec::new();
        out.try_reserve(zstd::zstd_safe::compress_bound(CHUNK_RAW_MAX + CHUNK_SLACK) + 64)
            .ok()?;
        let mut live = Live::default();
        live.reserve(1 << 14).ok()?;
        let mut heads = Vec::new();
        heads.try_reserve(64).ok()?;
        let mut heap = BinaryHeap::new();
        heap.try_reserve(64).ok()?;
        Some(Interp {
            slots: Vec::new(),
            live,
            classes: Index::default(),
            class_bytes: Vec::new(),
            sample_every: crate::writer::SAMPLE_EVERY.load(Ordering::Relaxed),
            total: 0,
            max: 0,
            mark: 0,
            peak_in_tick: false,
            nstacks: 0,
            desyncs: 0,
            deep_stacks: Map::default(),
            gnodes: Vec::new(),
            trie: Index::default(),
            unindexed: Vec::new(),
            frames: Vec::new(),
            path: Vec::new(),
            py_codes: Map::default(),
            defs: Vec::new(),
            dirty: Vec::new(),
            now: 0,
            tick_end: TICK_NS,
            unmatched: 0,
            raw,
            out,
            cctx,
            seq: 0,
            heads,
            heap,
        })
    }

    /// Table sizes, for LEAKWATCH_STATS.
    pub fn stats(&self) -> String {
        format!(
            "interpreter: {} nodes, {} stacks, {} classes, {} live blocks, {} local ids, {} look-ahead desyncs",
            self.gnodes.len(),
            self.nstacks,
            self.classes.len(),
            self.live.len(),
            self.slots.iter().map(|s| s.local.len()).sum::<usize>(),
            self.desyncs
        )
    }

    /// Notes that `n` events were lost for `reason` (LOST record).
    pub fn lost(&mut self, reason: u64, n: u64) {
        if room(&mut self.raw, 24).is_ok() {
            self.raw.push(REC_LOST);
            put(&mut self.raw, reason);
            put(&mut self.raw, n);
        }
    }

    /// Writes what is pending, then a LOST record, at once (the trace ends
    /// here: out of memory, or records that came too late at exit).
    pub fn write_lost(&mut self, reason: u64, n: u64) {
        let _ = self.write_chunk();
        // Written chunks leave `raw` empty with its start-up capacity.
        self.raw.clear();
        self.lost(reason, n);
        let _ = self.write_chunk();
    }

    /// Processes what the rings hold and writes it as one chunk
    /// (more if large). `last`: the final flush, process everything.
    /// Rings whose thread is gone are freed once processed when `reap`.
    pub fn drain(&mut self, last: bool, reap: bool) -> Result<(), Fail> {
        let seen = ring::count();
        self.heads.clear();
        room(&mut self.heads, seen)?;
        for i in 0..seen {
            // SAFETY: rings are never unmapped.
            let a = unsafe { ring::get(i).as_ref() }.map_or(0, Ring::head);
            self.heads.push((a, a));
        }
        // A ring claimed since `seen` was read may hold the predecessor of
        // an event read just now (a new thread's block, freed by an older
        // thread): counted again after the heads, such rings are merged,
        // their events only known (position 0: none processable).
        let n = ring::count();
        room(&mut self.heads, n - seen)?;
        self.heads.resize(n, (0, 0));
        if self.slots.len() < n {
            let more = n - self.slots.len();
            room(&mut self.slots, more)?;
            self.slots.resize_with(n, Slot::default);
        }
        if self.heap.capacity() < n {
            self.heap.try_reserve(n).map_err(|_| Fail::NoMemory)?;
        }
        for i in 0..n {
            // SAFETY: as above.
            if let Some(r) = unsafe { ring::get(i).as_ref() } {
                let b = r.head();
                self.heads[i].1 = b;
                if last {
                    self.heads[i].0 = b;
                }
            }
        }
        let mut heap = core::mem::take(&mut self.heap);
        heap.clear();
        let res = self.merge(&mut heap, n);
        self.heap = heap;
        res?;
        self.flush_groups()?;
        if self.unmatched > 0 {
            room(&mut self.raw, 16)?;
            self.raw.push(REC_UNMATCHED);
            put(&mut self.raw, self.unmatched);
            self.unmatched = 0;
        }
        self.consume(n);
        if reap {
            self.reap(n);
        }
        self.write_chunk()
    }

    /// Merges the rings' processable records by timestamp (see the module
    /// documentation).
    fn merge(&mut self, heap: &mut BinaryHeap<Reverse<(u64, u32)>>, n: usize) -> Result<(), Fail> {
        let mut barrier = u64::MAX;
        for i in 0..n {
            match self.refill(i)? {
                Next::Processable(ts) => heap.push(Reverse((ts, i as u32))),
                Next::Known(ts) => barrier = barrier.min(ts),
                Next::Nothing => {}
            }
        }
        let mut count = 0u32;
        while let Some(mut top) = heap.peek_mut() {
            let Reverse((ts, i)) = *top;
            if ts >= barrier {
                break;
            }
            let i = i as usize;
            self.process(i)?;
            match self.refill(i)? {
                Next::Processable(ts) => *top = Reverse((ts, i as u32)),
                Next::Known(ts) => {
                    std::collections::binary_heap::PeekMut::pop(top);
                    barrier = barrier.min(ts);
                }
                Next::Nothing => {
                    std::collections::binary_heap::PeekMut::pop(top);
                }
            }
            count += 1;
            if count == CONSUME_EVERY {
                count = 0;
                self.consume(n);
                if self.raw.len() + self.defs.len() > CHUNK_RAW_MAX
                    || self.group_bytes() > CHUNK_RAW_MAX
                {
                    self.flush_groups()?;
                    self.write_chunk()?;
                }
            }
        }
        Ok(())
    }

    /// Publishes every ring's processed position as its tail.
    fn consume(&self, n: usize) {
        for (i, s) in self.slots.iter().enumerate().take(n) {
            // SAFETY: rings are never unmapped.
            if let Some(r) = unsafe { ring::get(i).as_ref() } {
                r.consume(s.pos);
            }
        }
    }

    /// Frees the rings of exited threads once everything in them is
    /// processed, so a new thread can take them.
    fn reap(&self, n: usize) {
        // SAFETY: plain syscall.
        let pid = unsafe { libc::getpid() };
        for i in 0..n {
            // SAFETY: rings are never unmapped.
            let Some(r) = (unsafe { ring::get(i).as_ref() }) else {
                continue;
            };
            if r.state.load(Ordering::Acquire) != ring::USED || r.pending() != 0 {
                continue;
            }
            // SAFETY: tgkill with signal 0 only checks the thread exists.
            let gone =
                unsafe { libc::syscall(libc::SYS_tgkill, pid, r.tid.load(Ordering::Relaxed), 0) }
                    != 0;
            if gone {
                r.release_pages();
                r.state.store(ring::FREE, Ordering::Release);
            }
        }
    }

    fn group_bytes(&self) -> usize {
        self.dirty
            .iter()
            .map(|&i| self.slots[i as usize].group.len())
            .sum()
    }

    /// Makes sure slot `i` has its next record decoded, and says whether it
    /// may be processed now. STACK records on the way are absorbed.
    fn refill(&mut self, i: usize) -> Result<Next, Fail> {
        let (a, b) = self.heads[i];
        if self.slots[i].peek.is_none() {
            // SAFETY: rings are never unmapped.
            let Some(r) = (unsafe { ring::get(i).as_ref() }) else {
                return Ok(Next::Nothing);
            };
            loop {
                let s = &mut self.slots[i];
                if s.pos >= b {
                    return Ok(Next::Nothing);
                }
                let mut d = Dec {
                    ring: r,
                    pos: s.pos + 1,
                    end: b,
                };
                let tag = r.byte(s.pos);
                let (stamp, dptr, kind) = match tag {
                    REC_ALLOC => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let size = d.u().ok_or(Fail::Corrupt)?;
                        let dptr = d.i().ok_or(Fail::Corrupt)?;
                        let stack = d.u().ok_or(Fail::Corrupt)?;
                        (stamp, dptr, Kind::Alloc { size, stack })
                    }
                    REC_FREE => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let dptr = d.i().ok_or(Fail::Corrupt)?;
                        (stamp, dptr, Kind::Free)
                    }
                    REC_NODE => {
                        self.node(&mut d, i)?;
                        self.slots[i].pos = d.pos;
                        continue;
                    }
                    REC_PYNODE => {
                        self.py_node(&mut d, i)?;
                        self.slots[i].pos = d.pos;
                        continue;
                    }
                    REC_PYCODE_RING => {
                        self.py_code(&mut d, i)?;
                        self.slots[i].pos = d.pos;
                        continue;
                    }
                    REC_NODE_RESET => {
                        // Records before it used the old ids; they are
                        // processed (refill stops at each timed record).
                        self.slots[i].local.clear();
                        self.slots[i].pos = d.pos;
                        continue;
                    }
                    REC_MODULE => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let body = d.pos;
                        d.u().ok_or(Fail::Corrupt)?;
                        let nseg = d.u().ok_or(Fail::Corrupt)?;
                        for _ in 0..nseg.saturating_mul(3) {
                            d.u().ok_or(Fail::Corrupt)?;
                        }
                        let len = d.u().ok_or(Fail::Corrupt)?;
                        if len > d.end - d.pos {
                            return Err(Fail::Corrupt);
                        }
                        d.pos += len;
                        (stamp, 0, Kind::Module { body })
                    }
                    REC_UNLOAD => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let base = d.u().ok_or(Fail::Corrupt)?;
                        (stamp, 0, Kind::Unload { base })
                    }
                    REC_THREAD => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let tid = d.u().ok_or(Fail::Corrupt)?;
                        (stamp, 0, Kind::Thread { tid })
                    }
                    REC_END => (d.stamp().ok_or(Fail::Corrupt)?, 0, Kind::End),
                    REC_PHASE => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let kind = d.u().ok_or(Fail::Corrupt)?;
                        (stamp, 0, Kind::Phase { kind })
                    }
                    REC_ATTACH => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let kind = d.u().ok_or(Fail::Corrupt)?;
                        (stamp, 0, Kind::Attach { kind })
                    }
                    REC_LSANSUPP => {
                        let stamp = d.stamp().ok_or(Fail::Corrupt)?;
                        let body = d.pos;
                        let len = d.u().ok_or(Fail::Corrupt)?;
                        if len > d.end - d.pos {
                            return Err(Fail::Corrupt);
                        }
                        d.pos += len;
                        (stamp, 0, Kind::LsanSupp { body })
                    }
                    _ => return Err(Fail::Corrupt),
                };
                let s = &mut self.slots[i];
                let peek = Peek {
                    start: s.pos,
                    end: d.pos,
                    // The stamp's deltas: (ns, seq).
                    ts: s.prev_ts.wrapping_add(stamp.0),
                    seq: s.prev_seq.wrapping_add(stamp.1),
                    ptr: (s.prev_ptr as i64).wrapping_add(dptr) as u64,
                    kind,
                };
                s.peek = Some(peek);
                self.look_ahead(i, r, &peek, b);
                break;
            }
        }
        Ok(match self.slots[i].peek {
            Some(p) if p.start < a => Next::Processable(p.seq),
            Some(p) => Next::Known(p.seq),
            None => Next::Nothing,
        })
    }

    /// Prefetches the table entries the records a few past slot `i`'s
    /// peeked one will look up, so that their cache misses overlap the
    /// work before they are processed: the live-table entries of their
    /// blocks (83 % of the drain on cppcheck), and where the look-ahead can
    /// tell them without a lookup of its own, the class of an allocation
    /// whose stack is written and the stack-tree slot of a node whose
    /// caller is known (the CPython job: 1.55 M of 2.2 M class lookups,
    /// 0.29 M of 1.14 M tree lookups; the writer's CPU -8 %). Advances the
    /// cursor by at most AHEAD_STEPS records a call (the nodes absorbed
    /// between two peeks pass it too), up to LOOK_AHEAD bytes ahead.
    #[inline]
    fn look_ahead(&mut self, i: usize, r: &Ring, peek: &Peek, b: u64) {
        let s = &mut self.slots[i];
        if s.ahead > peek.start && s.ahead < peek.end {
            self.desyncs += 1;
        }
        if s.ahead < peek.end {
            s.ahead = peek.end;
            s.ahead_ptr = peek.ptr;
        }
        for _ in 0..AHEAD_STEPS {
            if s.ahead >= b || s.ahead >= peek.end + LOOK_AHEAD {
                return;
            }
            let mut d = Dec {
                ring: r,
                pos: s.ahead + 1,
                end: b,
            };
            match d.skip_record(r.byte(s.ahead)) {
                Some(skipped) => {
                    match skipped {
                        Skipped::Alloc { dptr, size, stack } => {
                            s.ahead_ptr = (s.ahead_ptr as i64).wrapping_add(dptr) as u64;
                            self.live.prefetch(s.ahead_ptr);
                            // Its class's slot, when its stack is already
                            // known (a new one is defined first anyway).
                            let node = usize::try_from(stack).ok().and_then(|id| s.local.get(id));
                            if let Some(n) = node.and_then(|&g| self.gnodes.get(g as usize)) {
                                if n.at_stack != UNDEFINED && n.at_pos == 0 {
                                    self.classes.prefetch(n.at_stack, size);
                                }
                            }
                        }
                        Skipped::Free { dptr } => {
                            s.ahead_ptr = (s.ahead_ptr as i64).wrapping_add(dptr) as u64;
                            self.live.prefetch(s.ahead_ptr);
                        }
                        Skipped::Node { parent, dip } => {
                            // The trie slot `node` will look up, when its
                            // caller is already known and has children
                            // (else no lookup is made).
                            let parent =
                                usize::try_from(parent).ok().and_then(|p| p.checked_sub(1));
                            let g = parent.and_then(|p| s.local.get(p)).copied();
                            if let Some(pn) = g.and_then(|g| self.gnodes.get(g as usize)) {
                                if pn.has_children {
                                    let base = if pn.ip & PY_FRAME_BIT != 0 { 0 } else { pn.ip };
                                    let ip = (base as i64).wrapping_add(dip) as u64;
                                    self.trie.prefetch(g.unwrap_or(ROOT), ip);
                                }
                            }
                        }
                        Skipped::Other => {}
                    }
                    s.ahead = d.pos;
                }
                None => {
                    // Not a record (refill will say so): resync at the
                    // next peek.
                    s.ahead = 0;
                    return;
                }
            }
        }
    }

    /// Absorbs a NODE record: maps the ring's node to the global stack
    /// tree's node for the same frame under the same caller.
    fn node(&mut self, d: &mut Dec<'_>, i: usize) -> Result<(), Fail> {
        let parent = d.u().ok_or(Fail::Corrupt)?;
        let dip = d.i().ok_or(Fail::Corrupt)?;
        let (gparent, parent_ip) = match parent {
            0 => (ROOT, 0),
            p => {
                let g = *self.slots[i]
                    .local
                    .get(p as usize - 1)
                    .ok_or(Fail::Corrupt)?;
                // Frames under a Python frame are coded from 0.
                let ip = self.gnodes[g as usize].ip;
                (g, if ip & PY_FRAME_BIT != 0 { 0 } else { ip })
            }
        };
        let ip = (parent_ip as i64).wrapping_add(dip) as u64;
        self.insert_node(i, gparent, ip)
    }

    /// Absorbs a PYNODE record: a Python frame under its caller's node.
    fn py_node(&mut self, d: &mut Dec<'_>, i: usize) -> Result<(), Fail> {
        let parent = d.u().ok_or(Fail::Corrupt)?;
        let code = d.u().ok_or(Fail::Corrupt)?;
        let lasti = d.u().ok_or(Fail::Corrupt)?;
        let gparent = match parent {
            0 => ROOT,
            p => *self.slots[i]
                .local
                .get(p as usize - 1)
                .ok_or(Fail::Corrupt)?,
        };
        let gcode = *usize::try_from(code)
            .ok()
            .and_then(|c| self.slots[i].py_codes.get(c))
            .ok_or(Fail::Corrupt)?;
        let ip = PY_FRAME_BIT | (u64::from(gcode) << 32) | lasti.min(u64::from(u32::MAX));
        self.insert_node(i, gparent, ip)
    }

    /// Absorbs a PYCODE ring record: maps the ring's code id to the
    /// file's, writing a PYCODE definition for code not seen before.
    fn py_code(&mut self, d: &mut Dec<'_>, i: usize) -> Result<(), Fail> {
        let id = d.u().ok_or(Fail::Corrupt)?;
        let body = d.pos;
        d.u().ok_or(Fail::Corrupt)?; // minor
        d.u().ok_or(Fail::Corrupt)?; // first line
        for _ in 0..3 {
            let len = d.u().ok_or(Fail::Corrupt)?;
            if len > d.end - d.pos {
                return Err(Fail::Corrupt);
            }
            d.pos += len;
        }
        // SAFETY: rings are never unmapped.
        let r = unsafe { ring::get(i).as_ref() }.ok_or(Fail::Corrupt)?;
        let mut key = Vec::new();
        key.try_reserve_exact((d.pos - body) as usize)
            .map_err(|_| Fail::NoMemory)?;
        key.extend((body..d.pos).map(|p| r.byte(p)));
        let gcode = match self.py_codes.get(&key[..]) {
            Some(&g) => g,
            None => {
                map_room(&mut self.py_codes)?;
                room(&mut self.defs, key.len() + 1)?;
                let g = self.py_codes.len() as u32;
                self.defs.push(REC_PYCODE);
                self.defs.extend_from_slice(&key);
                self.py_codes.insert(key.into_boxed_slice(), g);
                g
            }
        };
        let codes = &mut self.slots[i].py_codes;
        match usize::try_from(id) {
            Ok(id) if id == codes.len() => {
                room(codes, 1)?;
                codes.push(gcode);
            }
            Ok(id) if id < codes.len() => codes[id] = gcode,
            _ => return Err(Fail::Corrupt),
        }
        Ok(())
    }

    /// Maps slot `i`'s next node to the global node for frame `ip` under
    /// `gparent`.
    fn insert_node(&mut self, i: usize, gparent: u32, ip: u64) -> Result<(), Fail> {
        room(&mut self.slots[i].local, 1)?;
        room(&mut self.gnodes, 1)?;
        let next = self.gnodes.len() as u32;
        // A chain of new frames (a stack deeper than before) comes as
        // nodes each under the one just made: those need no lookup.
        let fresh_parent = gparent != ROOT && !self.gnodes[gparent as usize].has_children;
        let found = if fresh_parent {
            if self.unindexed.len() == UNINDEXED_MAX {
                self.index_unindexed()?;
            }
            room(&mut self.unindexed, 1)?;
            self.unindexed.push((gparent, ip, next));
            Err(next)
        } else {
            if !self.unindexed.is_empty() {
                self.index_unindexed()?;
            }
            self.trie.get_or_insert(gparent, ip, next)?
        };
        let g = match found {
            Ok(g) => g,
            Err(g) => {
                if gparent != ROOT {
                    self.gnodes[gparent as usize].has_children = true;
                }
                let depth = match gparent {
                    ROOT => 1,
                    p => self.gnodes[p as usize].depth.saturating_add(1),
                };
                self.gnodes.push(GNode {
                    ip,
                    parent: gparent,
                    at_stack: UNDEFINED,
                    depth,
                    at_pos: 0,
                    last_size: 0,
                    last_class: UNDEFINED,
                    has_children: false,
                });
                g
            }
        };
        self.slots[i].local.push(g);
        Ok(())
    }

    /// Inserts the nodes made without a lookup into the trie, their
    /// cache lines fetched together first.
    fn index_unindexed(&mut self) -> Result<(), Fail> {
        for &(a, b, _) in &self.unindexed {
            self.trie.prefetch(a, b);
        }
        for &(a, b, g) in &self.unindexed {
            self.trie.insert_new(a, b, g)?;
        }
        self.unindexed.clear();
        Ok(())
    }

    /// The output stack id of global node `g` (its frames, innermost
    /// first), defining the stack in the output the first time its
    /// content is seen.
    fn stack_of(&mut self, g: u32) -> Result<u32, Fail> {
        let n = &self.gnodes[g as usize];
        if n.at_stack != UNDEFINED && n.at_pos == 0 {
            return Ok(n.at_stack);
        }
        if usize::from(n.depth) >= MAX_OUT_FRAMES {
            return self.deep_stack_of(g);
        }
        // Its new frames, up to the first node an output stack already
        // holds: the rest is written as a reference to that stack
        // (STACKREF), so each node's frame is written once.
        self.frames.clear();
        self.path.clear();
        room(&mut self.frames, MAX_OUT_FRAMES)?;
        room(&mut self.path, MAX_OUT_FRAMES)?;
        let mut at = g;
        let base = loop {
            if at == ROOT {
                break None;
            }
            let n = &self.gnodes[at as usize];
            if n.at_stack != UNDEFINED {
                break Some((n.at_stack, n.at_pos));
            }
            self.frames.push(n.ip);
            self.path.push(at);
            at = n.parent;
        };
        room(&mut self.defs, 32 + 10 * self.frames.len())?;
        let id = self.nstacks;
        self.nstacks += 1;
        self.defs.push(if base.is_some() {
            REC_STACKREF
        } else {
            REC_STACK
        });
        put(&mut self.defs, self.frames.len() as u64);
        put_frames(&mut self.defs, &self.frames);
        if let Some((stack, pos)) = base {
            put(&mut self.defs, u64::from(stack));
            put(&mut self.defs, u64::from(pos));
        }
        for (pos, &node) in self.path.iter().enumerate() {
            let n = &mut self.gnodes[node as usize];
            n.at_stack = id;
            n.at_pos = pos as u8;
        }
        let n = &mut self.gnodes[g as usize];
        n.at_stack = id;
        n.at_pos = 0;
        Ok(id)
    }

    /// `stack_of` for a node MAX_OUT_FRAMES or more deep: its innermost
    /// frames, which deeper paths may share, written in full.
    #[cold]
    fn deep_stack_of(&mut self, g: u32) -> Result<u32, Fail> {
        self.frames.clear();
        room(&mut self.frames, MAX_OUT_FRAMES)?;
        let mut at = g;
        while at != ROOT && self.frames.len() < MAX_OUT_FRAMES {
            let n = &self.gnodes[at as usize];
            self.frames.push(n.ip);
            at = n.parent;
        }
        let n = self.frames.len() as u64;
        let id = match self.deep_stacks.get(&self.frames[..]).copied() {
            Some(id) => id,
            None => {
                room(&mut self.defs, 16 + 10 * n as usize)?;
                let id = self.nstacks;
                map_room(&mut self.deep_stacks)?;
                let mut key = Vec::new();
                key.try_reserve_exact(self.frames.len())
                    .map_err(|_| Fail::NoMemory)?;
                key.extend_from_slice(&self.frames);
                self.deep_stacks.insert(key.into_boxed_slice(), id);
                self.nstacks += 1;
                self.defs.push(REC_STACK);
                put(&mut self.defs, n);
                put_frames(&mut self.defs, &self.frames);
                id
            }
        };
        let n = &mut self.gnodes[g as usize];
        n.at_stack = id;
        n.at_pos = 0;
        Ok(id)
    }

    /// Writes the groups (after pending definitions), in slot order. When
    /// live bytes reached a new maximum in them, each group is cut where
    /// it stood at that moment and a PEAK record put between the two
    /// halves: the records before it are exactly those processed up to the
    /// peak, so the reader sees the peak's true size and holders.
    fn flush_groups(&mut self) -> Result<(), Fail> {
        let need = self.defs.len() + self.group_bytes() + 1;
        room(&mut self.raw, need)?;
        self.raw.extend_from_slice(&self.defs);
        self.defs.clear();
        self.dirty.sort_unstable();
        let peak = core::mem::take(&mut self.peak_in_tick);
        for &i in &self.dirty {
            let s = &mut self.slots[i as usize];
            if !peak || s.mark != self.mark {
                s.split = s.group.len();
            }
            self.raw.extend_from_slice(&s.group[..s.split]);
        }
        if peak {
            self.raw.push(REC_PEAK);
        }
        for &i in &self.dirty {
            let s = &mut self.slots[i as usize];
            self.raw.extend_from_slice(&s.group[s.split..]);
            s.group.clear();
            s.mark = u64::MAX;
        }
        self.dirty.clear();
        Ok(())
    }

    /// The group of slot `i`, marked dirty, with room for `need` bytes.
    #[inline]
    fn group(&mut self, i: usize, need: usize) -> Result<&mut Vec<u8>, Fail> {
        room(&mut self.dirty, 1)?;
        let s = &mut self.slots[i];
        room(&mut s.group, need)?;
        if s.group.is_empty() {
            self.dirty.push(i as u32);
        }
        if s.mark != self.mark {
            // First record since the last new maximum: all before it came
            // earlier.
            s.split = s.group.len();
            s.mark = self.mark;
        }
        Ok(&mut s.group)
    }

    /// Moves the stream's clock to `ts` when it enters a new tick (or
    /// always, with `exact`), writing the groups of the tick that ends.
    fn advance(&mut self, ts: u64, exact: bool) -> Result<(), Fail> {
        if ts >= self.tick_end || (exact && ts > self.now) {
            self.flush_groups()?;
            room(&mut self.raw, 16)?;
            self.raw.push(REC_TIME);
            put(&mut self.raw, ts - self.now);
            self.now = ts;
            self.tick_end = (ts / TICK_NS + 1) * TICK_NS;
        }
        Ok(())
    }

    /// Writes a FREE for a live block (packed as by `pack`) in the group of
    /// the slot that allocated it: after its ALLOC, and in processing order
    /// with that thread's other records, so each group replays its own
    /// blocks' lives exactly (a free by another thread would otherwise
    /// count after all of this tick's allocations).
    #[inline]
    /// The class of an allocation of `size` bytes at global node `node`,
    /// defined in the output the first time it is seen.
    fn class_of(&mut self, node: u32, size: u64) -> Result<u32, Fail> {
        let n = &self.gnodes[node as usize];
        if n.last_class != UNDEFINED && u64::from(n.last_size) == size {
            return Ok(n.last_class);
        }
        let class = self.class_of_uncached(node, size)?;
        if let Ok(small) = u32::try_from(size) {
            let n = &mut self.gnodes[node as usize];
            n.last_size = small;
            n.last_class = class;
        }
        Ok(class)
    }

    fn class_of_uncached(&mut self, node: u32, size: u64) -> Result<u32, Fail> {
        let stack = self.stack_of(node)?;
        room(&mut self.defs, 24)?;
        room(&mut self.class_bytes, 1)?;
        let next = self.class_bytes.len() as u32;
        Ok(match self.classes.get_or_insert(stack, size, next)? {
            Ok(class) => class,
            Err(class) => {
                self.defs.push(REC_CLASS);
                put(&mut self.defs, stack as u64);
                put(&mut self.defs, size);
                self.class_bytes.push(scaled_size(size, self.sample_every));
                class
            }
        })
    }

    fn free(&mut self, i: usize, v: u64) -> Result<(), Fail> {
        let class = v as u32;
        let bytes = self.class_bytes.get(class as usize).copied().unwrap_or(0);
        self.total = self.total.saturating_sub(bytes);
        let from = (v >> 32) as usize;
        let g = self.group(if from < self.slots.len() { from } else { i }, 12)?;
        g.push(REC_FREE);
        put(g, class as u64);
        Ok(())
    }

    /// Processes slot `i`'s peeked record.
    fn process(&mut self, i: usize) -> Result<(), Fail> {
        let s = &mut self.slots[i];
        let Some(p) = s.peek.take() else {
            return Ok(());
        };
        s.pos = p.end;
        s.prev_ts = p.ts;
        s.prev_seq = p.seq;
        s.prev_ptr = p.ptr;
        // Late records (a preempted thread) join the current tick.
        self.advance(p.ts, matches!(p.kind, Kind::End))?;
        match p.kind {
            Kind::Alloc { size, stack } => {
                let node = *usize::try_from(stack)
                    .ok()
                    .and_then(|id| self.slots[i].local.get(id))
                    .ok_or(Fail::Corrupt)?;
                let class = self.class_of(node, size)?;
                if let Some(old) = self.live.insert(p.ptr, pack(class, i))? {
                    // Freed behind the tracer's back: the old block is gone.
                    self.free(i, old)?;
                }
                let g = self.group(i, 12)?;
                g.push(REC_ALLOC);
                put(g, class as u64);
                self.total = self
                    .total
                    .saturating_add(scaled_size(size, self.sample_every));
                if self.total > self.max {
                    self.max = self.total;
                    self.mark += 1;
                    self.peak_in_tick = true;
                }
            }
            Kind::Free => match self.live.remove(p.ptr) {
                Some(old) => self.free(i, old)?,
                None => self.unmatched += 1,
            },
            Kind::Module { body } => {
                // SAFETY: rings are never unmapped.
                let r = unsafe { ring::get(i).as_ref() }.ok_or(Fail::Corrupt)?;
                let g = self.group(i, 1 + (p.end - body) as usize)?;
                g.push(REC_MODULE);
                for pos in body..p.end {
                    g.push(r.byte(pos));
                }
            }
            Kind::Unload { base } => {
                let g = self.group(i, 12)?;
                g.push(REC_UNLOAD);
                put(g, base);
            }
            Kind::Thread { tid } => {
                let g = self.group(i, 12)?;
                g.push(REC_THREAD);
                put(g, tid);
            }
            Kind::Phase { kind } => {
                let g = self.group(i, 12)?;
                g.push(REC_PHASE);
                put(g, kind);
            }
            Kind::Attach { kind } => {
                let g = self.group(i, 12)?;
                g.push(REC_ATTACH);
                put(g, kind);
            }
            Kind::LsanSupp { body } => {
                // SAFETY: rings are never unmapped.
                let r = unsafe { ring::get(i).as_ref() }.ok_or(Fail::Corrupt)?;
                let g = self.group(i, 1 + (p.end - body) as usize)?;
                g.push(REC_LSANSUPP);
                for pos in body..p.end {
                    g.push(r.byte(pos));
                }
            }
            Kind::End => self.group(i, 1)?.push(REC_END),
        }
        Ok(())
    }

    /// Compresses `raw` into the stream, flushed, and writes it as a chunk.
    fn write_chunk(&mut self) -> Result<(), Fail> {
        if self.raw.is_empty() {
            return Ok(());
        }
        self.out.clear();
        room(
            &mut self.out,
            zstd::zstd_safe::compress_bound(self.raw.len()) + 64,
        )?;
        self.out.extend_from_slice(&[0; 12]);
        let mut input = InBuffer::around(&self.raw);
        let mut output = OutBuffer::around_pos(&mut self.out, 12);
        loop {
            let left = self
                .cctx
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .map_err(|_| Fail::Compress)?;
            if left == 0 && input.pos == self.raw.len() {
                break;
            }
            if output.pos() == output.capacity() {
                // Cannot happen with compress_bound's room; never spin.
                return Err(Fail::Compress);
            }
        }
        let len = self.out.len() - 12;
        self.out[..4].copy_from_slice(&self.seq.to_le_bytes());
        self.out[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        self.out[8..12].copy_from_slice(&(self.raw.len() as u32).to_le_bytes());
        self.seq += 1;
        self.raw.clear();
        crate::writer::write_trace(&self.out)
    }
}
