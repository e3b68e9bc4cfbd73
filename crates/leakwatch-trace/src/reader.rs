//! Reading a trace: header and chunk index first, then a replay that merges
//! every thread slot's record stream by timestamp.
//!
//! The reader never panics on bad input: a damaged file yields a
//! [`TraceError`] naming the byte offset; a partial last chunk (the process
//! was killed while the tracer wrote) is reported in
//! [`Trace::truncated_at`] and the rest is read normally.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

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
    #[error("unsupported trace format version {found}; this leakwatch reads version {VERSION}")]
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

/// One event of the merged stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Alloc {
        ts: u64,
        ptr: u64,
        size: u64,
        /// Index into [`Tables::stacks`].
        stack: u32,
    },
    Free {
        ts: u64,
        ptr: u64,
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
            | Event::Module { ts, .. }
            | Event::Unload { ts, .. }
            | Event::Thread { ts, .. }
            | Event::End { ts } => ts,
        }
    }
}

/// Stacks and modules met during a replay. Stacks are deduplicated across
/// threads by content.
#[derive(Debug, Default)]
pub struct Tables {
    /// Return addresses, innermost first.
    pub stacks: Vec<Vec<u64>>,
    index: HashMap<Vec<u64>, u32>,
    pub modules: Vec<Module>,
}

impl Tables {
    fn intern(&mut self, frames: Vec<u64>) -> u32 {
        if let Some(&i) = self.index.get(&frames) {
            return i;
        }
        let i = self.stacks.len() as u32;
        self.stacks.push(frames.clone());
        self.index.insert(frames, i);
        i
    }

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

/// An opened trace: header plus the index of its chunks.
#[derive(Debug)]
pub struct Trace<'a> {
    /// Every chunk's payload, decompressed, back to back; chunk offsets
    /// below point into it.
    data: Vec<u8>,
    _file: core::marker::PhantomData<&'a [u8]>,
    /// (start in `data`, file offset of the chunk header), in file order,
    /// to name the chunk a damaged record sits in.
    chunk_starts: Vec<(usize, u64)>,
    pub header: Header,
    /// Per slot, the (offset in `data`, length) of its chunks in file order.
    slots: Vec<Vec<(usize, usize)>>,
    /// Offset of a partial last chunk, when the writer was cut short.
    pub truncated_at: Option<u64>,
    pub chunk_count: usize,
}

const MAX_SLOTS: u32 = 1 << 16;
/// Chunks hold at most one ring's worth of bytes (1 MiB); anything far
/// beyond that is corruption, not a reason to allocate.
const MAX_CHUNK_RAW: usize = 64 << 20;

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn u64_at(d: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[at..at + 8]);
    u64::from_le_bytes(b)
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
        if data.len() < HEADER_LEN {
            return Err(TraceError::TooShort { len: data.len() });
        }
        let version = u32_at(data, 8);
        if version != VERSION {
            return Err(TraceError::Version { found: version });
        }
        let header = Header {
            pid: u32_at(data, 12),
            sample_every: u64_at(data, 16),
            start_unix_ns: u64_at(data, 24),
            ppid: u64_at(data, 32),
        };
        let mut slots: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut pos = HEADER_LEN;
        let mut truncated_at = None;
        let mut chunk_count = 0;
        let mut decoded = Vec::new();
        let mut chunk_starts = Vec::new();
        let mut decompressor =
            zstd::bulk::Decompressor::new().map_err(|_| TraceError::Corrupt {
                offset: 0,
                what: "cannot set up the zstd decompressor",
            })?;
        while pos < data.len() {
            if data.len() - pos < CHUNK_HEADER_LEN {
                truncated_at = Some(pos as u64);
                break;
            }
            let slot = u32_at(data, pos);
            let len = u32_at(data, pos + 4) as usize;
            let raw_len = u32_at(data, pos + 8) as usize;
            if slot >= MAX_SLOTS {
                return Err(TraceError::Corrupt {
                    offset: pos as u64,
                    what: "chunk names an impossible thread slot",
                });
            }
            if len == 0 || raw_len == 0 {
                return Err(TraceError::Corrupt {
                    offset: pos as u64,
                    what: "empty chunk",
                });
            }
            if raw_len > MAX_CHUNK_RAW {
                return Err(TraceError::Corrupt {
                    offset: pos as u64,
                    what: "chunk claims an impossible decompressed size",
                });
            }
            let payload = pos + CHUNK_HEADER_LEN;
            if data.len() - payload < len {
                truncated_at = Some(pos as u64);
                break;
            }
            let start = decoded.len();
            decoded.resize(start + raw_len, 0);
            match decompressor
                .decompress_to_buffer(&data[payload..payload + len], &mut decoded[start..])
            {
                Ok(n) if n == raw_len => {}
                _ => {
                    return Err(TraceError::Corrupt {
                        offset: payload as u64,
                        what: "chunk does not decompress to its stated size",
                    })
                }
            }
            let slot = slot as usize;
            if slots.len() <= slot {
                slots.resize_with(slot + 1, Vec::new);
            }
            slots[slot].push((start, raw_len));
            chunk_starts.push((start, pos as u64));
            chunk_count += 1;
            pos = payload + len;
        }
        Ok(Trace {
            data: decoded,
            _file: core::marker::PhantomData,
            chunk_starts,
            header,
            slots,
            truncated_at,
            chunk_count,
        })
    }

    /// Replays every event in timestamp order, filling `tables` with the
    /// stacks and modules met on the way.
    pub fn replay(
        &self,
        tables: &mut Tables,
        f: impl FnMut(&Event, &Tables),
    ) -> Result<(), TraceError> {
        self.replay_decoded(tables, f).map_err(|e| match e {
            TraceError::Corrupt { offset, what } => {
                let at = offset as usize;
                let i = self.chunk_starts.partition_point(|&(start, _)| start <= at);
                let (start, chunk) = self.chunk_starts[i.saturating_sub(1)];
                TraceError::CorruptRecord {
                    chunk,
                    offset: (at - start) as u64,
                    what,
                }
            }
            other => other,
        })
    }

    /// [`Trace::replay`], with record errors at offsets into `data`.
    fn replay_decoded(
        &self,
        tables: &mut Tables,
        mut f: impl FnMut(&Event, &Tables),
    ) -> Result<(), TraceError> {
        let mut cursors: Vec<Cursor> = self
            .slots
            .iter()
            .filter(|c| !c.is_empty())
            .map(|chunks| Cursor {
                chunks,
                chunk: 0,
                pos: chunks[0].0,
                end: chunks[0].0 + chunks[0].1,
                prev_ts: 0,
                prev_ptr: 0,
                local_stacks: Vec::new(),
            })
            .collect();
        let mut heap = BinaryHeap::new();
        let mut pending: Vec<Option<Event>> = vec![None; cursors.len()];
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(ev) = c.next(&self.data, tables)? {
                heap.push(Reverse((ev.ts(), i)));
                pending[i] = Some(ev);
            }
        }
        while let Some(Reverse((_, i))) = heap.pop() {
            if let Some(ev) = pending[i].take() {
                if let Event::Unload { ts, base } = ev {
                    if let Some(m) = tables
                        .modules
                        .iter_mut()
                        .rev()
                        .find(|m| m.base == base && m.unloaded_ns.is_none())
                    {
                        m.unloaded_ns = Some(ts);
                    }
                }
                f(&ev, tables);
            }
            if let Some(ev) = cursors[i].next(&self.data, tables)? {
                heap.push(Reverse((ev.ts(), i)));
                pending[i] = Some(ev);
            }
        }
        Ok(())
    }
}

struct Cursor<'c> {
    chunks: &'c [(usize, usize)],
    chunk: usize,
    pos: usize,
    end: usize,
    prev_ts: u64,
    prev_ptr: u64,
    local_stacks: Vec<u32>,
}

fn corrupt(offset: usize, what: &'static str) -> TraceError {
    TraceError::Corrupt {
        offset: offset as u64,
        what,
    }
}

impl Cursor<'_> {
    fn uv(&mut self, d: &[u8]) -> Result<u64, TraceError> {
        let start = self.pos;
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            if self.pos >= self.end {
                return Err(corrupt(start, "record cut short by the end of its chunk"));
            }
            let b = d[self.pos];
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(corrupt(start, "integer overflows 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(corrupt(start, "integer overflows 64 bits"));
            }
        }
    }

    fn iv(&mut self, d: &[u8]) -> Result<i64, TraceError> {
        let u = self.uv(d)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn ts(&mut self, d: &[u8]) -> Result<u64, TraceError> {
        let at = self.pos;
        let dts = self.uv(d)?;
        self.prev_ts = self
            .prev_ts
            .checked_add(dts)
            .ok_or_else(|| corrupt(at, "timestamp overflows"))?;
        Ok(self.prev_ts)
    }

    fn ptr(&mut self, d: &[u8]) -> Result<u64, TraceError> {
        let delta = self.iv(d)?;
        self.prev_ptr = (self.prev_ptr as i64).wrapping_add(delta) as u64;
        Ok(self.prev_ptr)
    }

    /// The next timed event of this slot; STACK records are absorbed.
    fn next(&mut self, d: &[u8], tables: &mut Tables) -> Result<Option<Event>, TraceError> {
        loop {
            if self.pos >= self.end {
                self.chunk += 1;
                let Some(&(off, len)) = self.chunks.get(self.chunk) else {
                    return Ok(None);
                };
                self.pos = off;
                self.end = off + len;
                continue;
            }
            let at = self.pos;
            let tag = d[self.pos];
            self.pos += 1;
            match tag {
                REC_ALLOC => {
                    let ts = self.ts(d)?;
                    let size = self.uv(d)?;
                    let ptr = self.ptr(d)?;
                    let id = self.uv(d)?;
                    let stack = *self
                        .local_stacks
                        .get(usize::try_from(id).unwrap_or(usize::MAX))
                        .ok_or_else(|| corrupt(at, "allocation names a stack never defined"))?;
                    return Ok(Some(Event::Alloc {
                        ts,
                        ptr,
                        size,
                        stack,
                    }));
                }
                REC_FREE => {
                    let ts = self.ts(d)?;
                    let ptr = self.ptr(d)?;
                    return Ok(Some(Event::Free { ts, ptr }));
                }
                REC_STACK => {
                    let id = self.uv(d)?;
                    if id != self.local_stacks.len() as u64 {
                        return Err(corrupt(at, "stack ids out of sequence"));
                    }
                    let n = self.uv(d)?;
                    if n > 4096 || n > (self.end - self.pos) as u64 {
                        return Err(corrupt(at, "stack longer than its record"));
                    }
                    let mut frames = Vec::with_capacity(n as usize);
                    let mut prev: i64 = 0;
                    for _ in 0..n {
                        prev = prev.wrapping_add(self.iv(d)?);
                        frames.push(prev as u64);
                    }
                    let g = tables.intern(frames);
                    self.local_stacks.push(g);
                }
                REC_MODULE => {
                    let ts = self.ts(d)?;
                    let base = self.uv(d)?;
                    let nseg = self.uv(d)?;
                    if nseg > 256 || nseg > (self.end - self.pos) as u64 {
                        return Err(corrupt(at, "module with too many segments"));
                    }
                    let mut segments = Vec::with_capacity(nseg as usize);
                    for _ in 0..nseg {
                        let vaddr = self.uv(d)?;
                        let memsz = self.uv(d)?;
                        let flags = self.uv(d)? as u32;
                        segments.push((vaddr, memsz, flags));
                    }
                    let len = self.uv(d)?;
                    if len > (self.end - self.pos) as u64 {
                        return Err(corrupt(at, "module name runs past its chunk"));
                    }
                    let name = &d[self.pos..self.pos + len as usize];
                    self.pos += len as usize;
                    let module = tables.modules.len() as u32;
                    tables.modules.push(Module {
                        path: String::from_utf8_lossy(name).into_owned(),
                        base,
                        segments,
                        loaded_ns: ts,
                        unloaded_ns: None,
                    });
                    return Ok(Some(Event::Module { ts, module }));
                }
                REC_UNLOAD => {
                    let ts = self.ts(d)?;
                    let base = self.uv(d)?;
                    return Ok(Some(Event::Unload { ts, base }));
                }
                REC_THREAD => {
                    let ts = self.ts(d)?;
                    let tid = self.uv(d)?;
                    return Ok(Some(Event::Thread {
                        ts,
                        tid: tid as u32,
                    }));
                }
                REC_END => {
                    let ts = self.ts(d)?;
                    return Ok(Some(Event::End { ts }));
                }
                _ => return Err(corrupt(at, "unknown record type")),
            }
        }
    }
}
