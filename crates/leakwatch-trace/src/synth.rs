//! Writing traces without a traced program: for tests (damaged, crafted and
//! version 4 traces), fuzzing seeds and benchmarks of the reader. The
//! encoding is the tracer's (see [`crate::format`]); nothing here is used to
//! record real programs.

use zstd::zstd_safe::{zstd_sys::ZSTD_EndDirective, CCtx, InBuffer, OutBuffer};

use crate::format::*;

fn uv(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn iv(out: &mut Vec<u8>, v: i64) {
    uv(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A stack record's frames, delta-coded.
fn put_frames(out: &mut Vec<u8>, frames: &[u64]) {
    let mut prev = 0i64;
    for &f in frames {
        iv(out, (f as i64).wrapping_sub(prev));
        prev = f as i64;
    }
}

/// Records, encoded as the tracer's writer does; [`TraceWriter::chunk`]
/// packs them.
#[derive(Debug, Default)]
pub struct Records {
    pub buf: Vec<u8>,
    stacks: u32,
    classes: u32,
}

impl Records {
    /// Defines the next stack (return addresses, innermost first).
    pub fn stack(&mut self, frames: &[u64]) -> u32 {
        self.buf.push(REC_STACK);
        uv(&mut self.buf, frames.len() as u64);
        put_frames(&mut self.buf, frames);
        self.stacks += 1;
        self.stacks - 1
    }
    /// Defines the next stack as `frames` (innermost first) followed by
    /// the frames of stack `base` from its frame `skip` on (format 5).
    pub fn stack_ref(&mut self, frames: &[u64], base: u32, skip: u32) -> u32 {
        self.buf.push(REC_STACKREF);
        uv(&mut self.buf, frames.len() as u64);
        put_frames(&mut self.buf, frames);
        uv(&mut self.buf, u64::from(base));
        uv(&mut self.buf, u64::from(skip));
        self.stacks += 1;
        self.stacks - 1
    }
    /// Defines the next allocation class.
    pub fn class(&mut self, stack: u32, size: u64) -> u32 {
        self.buf.push(REC_CLASS);
        uv(&mut self.buf, u64::from(stack));
        uv(&mut self.buf, size);
        self.classes += 1;
        self.classes - 1
    }
    pub fn alloc(&mut self, class: u32) {
        self.buf.push(REC_ALLOC);
        uv(&mut self.buf, u64::from(class));
    }
    pub fn free(&mut self, class: u32) {
        self.buf.push(REC_FREE);
        uv(&mut self.buf, u64::from(class));
    }
    pub fn time(&mut self, dts: u64) {
        self.buf.push(REC_TIME);
        uv(&mut self.buf, dts);
    }
    pub fn unmatched(&mut self, n: u64) {
        self.buf.push(REC_UNMATCHED);
        uv(&mut self.buf, n);
    }
    pub fn peak(&mut self) {
        self.buf.push(REC_PEAK);
    }
    pub fn end(&mut self) {
        self.buf.push(REC_END);
    }
    pub fn thread(&mut self, tid: u32) {
        self.buf.push(REC_THREAD);
        uv(&mut self.buf, u64::from(tid));
    }
    /// A module: load bias, PT_LOAD segments (vaddr, memsz, flags), path.
    pub fn module(&mut self, base: u64, segments: &[(u64, u64, u32)], path: &[u8]) {
        self.buf.push(REC_MODULE);
        uv(&mut self.buf, base);
        uv(&mut self.buf, segments.len() as u64);
        for &(v, m, f) in segments {
            uv(&mut self.buf, v);
            uv(&mut self.buf, m);
            uv(&mut self.buf, u64::from(f));
        }
        uv(&mut self.buf, path.len() as u64);
        self.buf.extend_from_slice(path);
    }
    pub fn unload(&mut self, base: u64) {
        self.buf.push(REC_UNLOAD);
        uv(&mut self.buf, base);
    }
    /// Version 4: data lost from here on.
    pub fn lost(&mut self, reason: u64, detail: u64) {
        self.buf.push(REC_LOST);
        uv(&mut self.buf, reason);
        uv(&mut self.buf, detail);
    }
    /// Version 4: the process entered a phase.
    pub fn phase(&mut self, kind: u64) {
        self.buf.push(REC_PHASE);
        uv(&mut self.buf, kind);
    }
    /// Version 4: the program's embedded suppressions.
    pub fn lsan_suppressions(&mut self, text: &str) {
        self.buf.push(REC_LSANSUPP);
        uv(&mut self.buf, text.len() as u64);
        self.buf.extend_from_slice(text.as_bytes());
    }
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// A trace file being built in memory: the header, then chunks of one zstd
/// stream, each flushed (as the tracer writes them).
pub struct TraceWriter {
    pub out: Vec<u8>,
    cctx: CCtx<'static>,
    seq: u32,
}

impl TraceWriter {
    /// A trace of `version` (3 or 4) for process `pid`, every allocation
    /// recorded.
    pub fn new(version: u32, pid: u32) -> Self {
        Self::with_sampling(version, pid, 0)
    }

    pub fn with_sampling(version: u32, pid: u32, sample_every: u64) -> Self {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&pid.to_le_bytes());
        out.extend_from_slice(&sample_every.to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&1u64.to_le_bytes());
        TraceWriter {
            out,
            cctx: CCtx::create(),
            seq: 0,
        }
    }

    /// Appends one chunk holding `raw` records; returns its file offset.
    pub fn chunk(&mut self, raw: &[u8]) -> usize {
        let mut packed: Vec<u8> =
            Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()) + 64);
        let mut input = InBuffer::around(raw);
        let mut output = OutBuffer::around(&mut packed);
        loop {
            let left = self
                .cctx
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .unwrap_or(0);
            if left == 0 && input.pos == raw.len() {
                break;
            }
        }
        let at = self.out.len();
        self.out.extend_from_slice(&self.seq.to_le_bytes());
        self.out
            .extend_from_slice(&(packed.len() as u32).to_le_bytes());
        self.out
            .extend_from_slice(&(raw.len() as u32).to_le_bytes());
        self.out.extend_from_slice(&packed);
        self.seq += 1;
        at
    }

    /// Writes the chunk to `w` instead of keeping it (for traces larger
    /// than memory); the header must have been written first with
    /// [`Self::take_out`].
    pub fn take_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
}

/// A copy of a trace with `first` (encoded records) put before all its own
/// records, e.g. to add a version 4 record to a trace a tracer wrote.
pub fn with_records_first(trace: &[u8], first: &[u8]) -> Result<Vec<u8>, crate::TraceError> {
    let (header, chunks) = crate::reader::raw_chunks(trace)?;
    let mut w = TraceWriter {
        out: header,
        cctx: CCtx::create(),
        seq: 0,
    };
    let mut pending = first.to_vec();
    for c in chunks {
        pending.extend_from_slice(&c);
        w.chunk(&pending);
        pending.clear();
    }
    if !pending.is_empty() {
        w.chunk(&pending);
    }
    Ok(w.out)
}
