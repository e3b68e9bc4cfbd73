//! Reading a trace: header and chunk index first, then a replay that
//! stream-decompresses the chunks in order and yields the records as events.
//!
//! The reader never panics on bad input: a damaged file yields a
//! [`TraceError`] naming the byte offset; a partial last chunk (the process
//! was killed while the tracer wrote) is reported in
//! [`Trace::truncated_at`] and the rest is read normally. Memory stays
//! bounded: one chunk's decompressed records at a time (at most
//! [`MAX_CHUNK_RAW`]), plus the stack, class and module tables, which only
//! grow with records actually present.

use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer};

use crate::format::*;

/// Why a trace cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("not a leakwatch trace: the file does not start with the LWTRACE magic (it should be written by `leakwatch trace`)")]
    NotATrace,
    #[error(
        "the trace is too short for its header ({len} bytes, a trace has at least {HEADER_LEN})"
    )]
    TooShort { len: usize },
    #[error("unsupported trace format version {found}; this leakwatch reads version {VERSION}{}", version_hint(*.found))]
    Version { found: u32 },
    #[error("corrupt trace at byte offset {offset}: {what}")]
    Corrupt { offset: u64, what: &'static str },
    #[error("corrupt record in the chunk at byte offset {chunk} (byte {offset} of its decompressed records): {what}")]
    CorruptRecord {
        chunk: u64,
        offset: u64,
        what: &'static str,
    },
}

fn version_hint(found: u32) -> &'static str {
    if found < VERSION {
        " (the trace was written by an older leakwatch: re-record it with this leakwatch)"
    } else {
        " (the trace was written by a newer leakwatch)"
    }
}

/// The fixed header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    pub pid: u32,
    pub ppid: u64,
    /// 0 when every allocation was recorded.
    pub sample_every: u64,
    pub start_unix_ns: u64,
}

/// A loaded ELF object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    /// Load bias: file virtual address + base = runtime address.
    pub base: u64,
    /// PT_LOAD segments as (vaddr, memsz, flags), file virtual addresses.
    pub segments: Vec<(u64, u64, u32)>,
    pub loaded_ns: u64,
    pub unloaded_ns: Option<u64>,
}

impl Module {
    /// Whether `addr` (a runtime address) lies in one of its segments.
    pub fn contains(&self, addr: u64) -> bool {
        let Some(v) = addr.checked_sub(self.base) else {
            return false;
        };
        self.segments
            .iter()
            .any(|&(vaddr, memsz, _)| v >= vaddr && v - vaddr < memsz)
    }
}

/// One event of the stream. `ts` is nanoseconds since tracing started, at
/// the resolution of the writer's ticks ([`TICK_NS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A block of `size` bytes allocated from `stack`.
    Alloc {
        ts: u64,
        /// Index into [`Tables::classes`].
        class: u32,
        /// Index into [`Tables::stacks`].
        stack: u32,
        size: u64,
    },
    /// A block allocated earlier (with this class) is freed.
    Free {
        ts: u64,
        class: u32,
        stack: u32,
        size: u64,
    },
    /// Frees of blocks the tracer never saw allocated (allocated before
    /// tracing started, or not sampled).
    Unmatched {
        ts: u64,
        count: u64,
    },
    /// Live bytes are at their maximum so far (as the writer saw them in
    /// true order).
    Peak {
        ts: u64,
    },
    /// Index into [`Tables::modules`].
    Module {
        ts: u64,
        module: u32,
    },
    Unload {
        ts: u64,
        base: u64,
    },
    Thread {
        ts: u64,
        tid: u32,
    },
    End {
        ts: u64,
    },
}

impl Event {
    pub fn ts(&self) -> u64 {
        match *self {
            Event::Alloc { ts, .. }
            | Event::Free { ts, .. }
            | Event::Unmatched { ts, .. }
            | Event::Peak { ts }
            | Event::Module { ts, .. }
            | Event::Unload { ts, .. }
            | Event::Thread { ts, .. }
            | Event::End { ts } => ts,
        }
    }
}

/// Stacks, allocation classes and modules met during a replay. The writer
/// already deduplicated stacks across threads by content.
#[derive(Debug, Default)]
pub struct Tables {
    /// Return addresses, innermost first.
    pub stacks: Vec<Vec<u64>>,
    /// (stack, size) of each allocation class.
    pub classes: Vec<(u32, u64)>,
    pub modules: Vec<Module>,
}

impl Tables {
    /// The module holding `addr` when stack events were recorded at `ts`:
    /// the latest one loaded before `ts` that contains it, else any.
    pub fn module_of(&self, addr: u64, ts: u64) -> Option<&Module> {
        let mut best: Option<&Module> = None;
        for m in self.modules.iter().filter(|m| m.contains(addr)) {
            let alive = m.loaded_ns <= ts && m.unloaded_ns.is_none_or(|u| u >= ts);
            match best {
                None => best = Some(m),
                Some(b) => {
                    let b_alive = b.loaded_ns <= ts && b.unloaded_ns.is_none_or(|u| u >= ts);
                    if alive && !b_alive {
                        best = Some(m);
                    }
                }
            }
        }
        best
    }
}

/// A whole chunk of the file.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    /// File offset of the chunk header.
    at: usize,
    len: usize,
    raw_len: usize,
}

/// An opened trace: header plus the index of its chunks. The records are
/// decompressed by each [`Trace::replay`], one chunk at a time.
#[derive(Debug)]
pub struct Trace<'a> {
    file: &'a [u8],
    chunks: Vec<Chunk>,
    pub header: Header,
    /// Offset of a partial last chunk, when the writer was cut short.
    pub truncated_at: Option<u64>,
    pub chunk_count: usize,
}

/// A chunk holds one drain's records (the writer flushes every 20 ms or
/// when a ring is a quarter full); anything far beyond that is corruption,
/// not a reason to allocate.
pub const MAX_CHUNK_RAW: usize = 64 << 20;
/// Longest stack accepted.
const MAX_FRAMES: u64 = 4096;
/// The writer's zstd stream uses a 2 MiB window; refuse frames asking the
/// decoder for more than 16 MiB.
const WINDOW_LOG_MAX: u32 = 24;

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[at..at + 8]);
    u64::from_le_bytes(b)
}

fn corrupt(offset: usize, what: &'static str) -> TraceError {
    TraceError::Corrupt {
        offset: offset as u64,
        what,
    }
}

impl<'a> Trace<'a> {
    /// Parses the header and indexes the chunks.
    pub fn open(data: &'a [u8]) -> Result<Trace<'a>, TraceError> {
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            if data.len() < MAGIC.len() && MAGIC.starts_with(data) {
                return Err(TraceError::TooShort { len: data.len() });
            }
            return Err(TraceError::NotATrace);
        }
        if data.len() < 12 {
            return Err(TraceError::TooShort { len: data.len() });
        }
        let version = u32_at(data, 8);
        if version != VERSION && version != 3 {
            return Err(TraceError::Version { found: version });
        }
        if data.len() < HEADER_LEN {
            return Err(TraceError::TooShort { len: data.len() });
        }
        let header = Header {
            pid: u32_at(data, 12),
            sample_every: u64_at(data, 16),
            start_unix_ns: u64_at(data, 24),
            ppid: u64_at(data, 32),
        };
        let mut chunks = Vec::new();
        let mut pos = HEADER_LEN;
        let mut truncated_at = None;
        while pos < data.len() {
            if data.len() - pos < CHUNK_HEADER_LEN {
                truncated_at = Some(pos as u64);
                break;
            }
            let seq = u32_at(data, pos);
            let len = u32_at(data, pos + 4) as usize;
            let raw_len = u32_at(data, pos + 8) as usize;
            if seq as usize != chunks.len() {
                return Err(corrupt(pos, "chunk out of sequence (damaged chunk header)"));
            }
            if len == 0 {
                return Err(corrupt(pos, "empty chunk"));
            }
            if raw_len > MAX_CHUNK_RAW {
                return Err(corrupt(pos, "chunk claims an impossible decompressed size"));
            }
            let payload = pos + CHUNK_HEADER_LEN;
            if data.len() - payload < len {
                truncated_at = Some(pos as u64);
                break;
            }
            chunks.push(Chunk {
                at: pos,
                len,
                raw_len,
            });
            pos = payload + len;
        }
        Ok(Trace {
            file: data,
            chunk_count: chunks.len(),
            chunks,
            header,
            truncated_at,
        })
    }

    /// Replays every record in file order, filling `tables` with the
    /// stacks, classes and modules met on the way.
    pub fn replay(
        &self,
        tables: &mut Tables,
        mut f: impl FnMut(&Event, &Tables),
    ) -> Result<(), TraceError> {
        let mut dctx = DCtx::try_create().ok_or(corrupt(0, "cannot set up the zstd decoder"))?;
        dctx.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(|_| corrupt(0, "cannot set up the zstd decoder"))?;
        let mut buf: Vec<u8> = Vec::new();
        let mut now = 0u64;
        for c in &self.chunks {
            let payload = c.at + CHUNK_HEADER_LEN;
            decompress(
                &mut dctx,
                &self.file[payload..payload + c.len],
                c.raw_len,
                &mut buf,
            )
            .map_err(|what| corrupt(payload, what))?;
            let mut p = Parser { d: &buf, pos: 0 };
            while p.pos < buf.len() {
                let at = p.pos;
                p.record(tables, &mut now, &mut f)
                    .map_err(|what| TraceError::CorruptRecord {
                        chunk: c.at as u64,
                        offset: at as u64,
                        what,
                    })?;
            }
        }
        Ok(())
    }
}

/// Decompresses one chunk's payload, continuing the stream, into `out`
/// (exactly `raw_len` bytes, or an error).
fn decompress(
    dctx: &mut DCtx<'static>,
    payload: &[u8],
    raw_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), &'static str> {
    const BAD: &str = "chunk does not decompress to its stated size";
    out.clear();
    // One spare byte: a chunk decompressing to more than stated fills it.
    out.try_reserve_exact(raw_len + 1)
        .map_err(|_| "chunk too large to decompress")?;
    let mut input = InBuffer::around(payload);
    let mut output = OutBuffer::around(out);
    loop {
        let (in_before, out_before) = (input.pos, output.pos());
        dctx.decompress_stream(&mut output, &mut input)
            .map_err(|_| BAD)?;
        if output.pos() > raw_len {
            return Err(BAD);
        }
        if input.pos == in_before && output.pos() == out_before {
            break;
        }
    }
    if input.pos != payload.len() || output.pos() != raw_len {
        return Err(BAD);
    }
    Ok(())
}

struct Parser<'d> {
    d: &'d [u8],
    pos: usize,
}

impl Parser<'_> {
    fn uv(&mut self) -> Result<u64, &'static str> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.d.get(self.pos) else {
                return Err("record cut short by the end of its chunk");
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err("integer overflows 64 bits");
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err("integer overflows 64 bits");
            }
        }
    }

    fn iv(&mut self) -> Result<i64, &'static str> {
        let u = self.uv()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn remaining(&self) -> u64 {
        (self.d.len() - self.pos) as u64
    }

    fn class(&mut self, tables: &Tables) -> Result<(u32, u32, u64), &'static str> {
        let c = self.uv()?;
        let &(stack, size) = usize::try_from(c)
            .ok()
            .and_then(|c| tables.classes.get(c))
            .ok_or("allocation names a class never defined")?;
        Ok((c as u32, stack, size))
    }

    /// Reads one record, updating the tables and the stream's clock, and
    /// hands timed ones to `f`.
    fn record(
        &mut self,
        tables: &mut Tables,
        now: &mut u64,
        f: &mut impl FnMut(&Event, &Tables),
    ) -> Result<(), &'static str> {
        let tag = self.d[self.pos];
        self.pos += 1;
        let ts = *now;
        let ev = match tag {
            REC_ALLOC => {
                let (class, stack, size) = self.class(tables)?;
                Event::Alloc {
                    ts,
                    class,
                    stack,
                    size,
                }
            }
            REC_FREE => {
                let (class, stack, size) = self.class(tables)?;
                Event::Free {
                    ts,
                    class,
                    stack,
                    size,
                }
            }
            REC_STACK => {
                let n = self.uv()?;
                if n > MAX_FRAMES || n > self.remaining() {
                    return Err("stack longer than its record");
                }
                let mut frames = Vec::with_capacity(n as usize);
                let mut prev: i64 = 0;
                for _ in 0..n {
                    prev = prev.wrapping_add(self.iv()?);
                    frames.push(prev as u64);
                }
                if tables.stacks.len() >= u32::MAX as usize {
                    return Err("too many stacks");
                }
                tables.stacks.push(frames);
                return Ok(());
            }
            REC_CLASS => {
                let stack = self.uv()?;
                let size = self.uv()?;
                if stack >= tables.stacks.len() as u64 {
                    return Err("class names a stack never defined");
                }
                if tables.classes.len() >= u32::MAX as usize {
                    return Err("too many classes");
                }
                tables.classes.push((stack as u32, size));
                return Ok(());
            }
            REC_TIME => {
                let dts = self.uv()?;
                *now = now.checked_add(dts).ok_or("timestamp overflows")?;
                return Ok(());
            }
            REC_UNMATCHED => {
                let count = self.uv()?;
                Event::Unmatched { ts, count }
            }
            REC_MODULE => {
                let base = self.uv()?;
                let nseg = self.uv()?;
                if nseg > 256 || nseg > self.remaining() {
                    return Err("module with too many segments");
                }
                let mut segments = Vec::with_capacity(nseg as usize);
                for _ in 0..nseg {
                    let vaddr = self.uv()?;
                    let memsz = self.uv()?;
                    let flags = self.uv()? as u32;
                    segments.push((vaddr, memsz, flags));
                }
                let len = self.uv()?;
                if len > self.remaining() {
                    return Err("module name runs past its chunk");
                }
                let name = &self.d[self.pos..self.pos + len as usize];
                self.pos += len as usize;
                let module = tables.modules.len() as u32;
                tables.modules.push(Module {
                    path: String::from_utf8_lossy(name).into_owned(),
                    base,
                    segments,
                    loaded_ns: ts,
                    unloaded_ns: None,
                });
                Event::Module { ts, module }
            }
            REC_UNLOAD => {
                let base = self.uv()?;
                if let Some(m) = tables
                    .modules
                    .iter_mut()
                    .rev()
                    .find(|m| m.base == base && m.unloaded_ns.is_none())
                {
                    m.unloaded_ns = Some(ts);
                }
                Event::Unload { ts, base }
            }
            REC_THREAD => {
                let tid = self.uv()?;
                Event::Thread {
                    ts,
                    tid: tid as u32,
                }
            }
            REC_END => Event::End { ts },
            REC_PEAK => Event::Peak { ts },
            // Version 4 (stopgap until the reader handles them: phases and
            // embedded suppressions skipped, lost data refused).
            REC_PHASE => {
                self.uv()?;
                return Ok(());
            }
            REC_LSANSUPP => {
                let len = self.uv()?;
                if len > self.remaining() {
                    return Err("suppressions run past their chunk");
                }
                self.pos += len as usize;
                return Ok(());
            }
            REC_LOST => {
                return Err("the tracer lost data here (LOST record): the trace is incomplete")
            }
            _ => return Err("unknown record type"),
        };
        f(&ev, tables);
        Ok(())
    }
}
