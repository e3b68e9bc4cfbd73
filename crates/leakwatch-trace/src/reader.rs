//! Reading a trace: one streaming pass over any [`Read`] (a buffered file,
//! never a memory map: a file truncated while it is read would kill the
//! reader with SIGBUS). The header is read by [`TraceReader::open`]; then
//! [`TraceReader::replay`] reads the chunks in order, continues the one zstd
//! stream through them and yields their records as events.
//!
//! The reader never panics on bad input: a damaged file yields a
//! [`TraceError`] naming the byte offset; a partial last chunk (the process
//! was killed while the tracer wrote) ends the replay and is reported in
//! [`TraceReader::truncated_at`]. Memory stays bounded whatever the input:
//! one chunk at a time (at most [`MAX_CHUNK_RAW`] decompressed), and tables
//! that grow only with definitions actually present, each capped (see
//! [`Limits`]) with an error that names the cap.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

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
    #[error("unsupported trace format version {found}; this leakwatch reads versions {OLDEST_VERSION} to {VERSION}{}", version_hint(*.found))]
    Version { found: u32 },
    #[error("corrupt trace at byte offset {offset}: {what}")]
    Corrupt { offset: u64, what: &'static str },
    #[error("corrupt record in the chunk at byte offset {chunk} (byte {offset} of its decompressed records): {what}")]
    CorruptRecord {
        chunk: u64,
        offset: u64,
        what: &'static str,
    },
    #[error("the trace exceeds a limit of this reader in the chunk at byte offset {chunk}: {what} (more than {limit}); a real program's trace stays far below it, so the file is damaged or crafted")]
    Limit {
        chunk: u64,
        what: &'static str,
        limit: u64,
    },
    #[error("cannot read the trace at byte offset {offset}: {message}")]
    Io { offset: u64, message: String },
}

fn version_hint(found: u32) -> &'static str {
    if found < OLDEST_VERSION {
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

    /// Whether the module was mapped at `ts`.
    pub fn alive_at(&self, ts: u64) -> bool {
        self.loaded_ns <= ts && self.unloaded_ns.is_none_or(|u| u >= ts)
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
    /// Tracing lost data from here on (format version 4): `reason` is one
    /// of the `LOST_*` constants, `detail` the events dropped when known.
    Lost {
        ts: u64,
        reason: u64,
        detail: u64,
    },
    /// The process entered a phase (format version 4): `PHASE_*`.
    Phase {
        ts: u64,
        kind: u64,
    },
    /// The tracer attached to or detached from a running process
    /// (format version 4): `ATTACH_*`.
    Attach {
        ts: u64,
        kind: u64,
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
            | Event::End { ts }
            | Event::Lost { ts, .. }
            | Event::Phase { ts, .. }
            | Event::Attach { ts, .. } => ts,
        }
    }
}

/// A multiplicative hash for return addresses (the standard SipHash costs
/// more than the rest of the frame's decoding; the keys are not chosen by
/// an adversary who gains anything from collisions beyond a slower read,
/// and the table is capped).
#[derive(Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
}

pub(crate) type AddrMap<V> = HashMap<u64, V, BuildHasherDefault<AddrHasher>>;

/// The caller of an outermost frame's node.
const ROOT: u32 = u32::MAX;

/// Call stacks, stored compactly: every distinct return address once, and
/// the stacks as a tree of frames (each node a frame and its caller's
/// node), a stack naming its innermost node. A stack defined as new frames
/// on top of another's callers (STACKREF) adds only its new frames: a
/// CPython trace's 8.5 million frames are 1.2 million nodes.
#[derive(Debug)]
pub struct Stacks {
    /// Per node: its caller's node (ROOT for an outermost frame) and its
    /// return address as an index into `addrs`.
    nodes: Vec<(u32, u32)>,
    /// Per stack: its innermost node (ROOT when empty) and its depth.
    leaves: Vec<(u32, u32)>,
    /// The stack being defined: its new frames (indices into `addrs`),
    /// innermost first, and the node and depth of the callers they sit on.
    pending: Vec<u32>,
    pending_under: (u32, u32),
    addrs: Vec<u64>,
    index: AddrMap<u32>,
    /// Python views (see [`Stacks::start_python_views`]); `None` before.
    python_views: Option<PythonViews>,
}

/// After an attach, CPython's allocator domains are wrapped, and the
/// tracer records the blocks they hand out with the thread's whole native
/// stack: the interpreter's frames between the Python frames and below the
/// outermost one (`run_mod`, `Py_RunMain`, `main`). Every other stack with
/// Python frames, launched or attached, has native frames only inside the
/// innermost Python frame (unwinding stops at the innermost eval loop).
/// The views make the wrapped ones read the same: each stack with Python
/// frames is shown as its native frames up to the innermost Python frame,
/// then its Python frames alone, and stacks whose views are equal are one
/// stack (their classes count under the first), so a Python line's blocks
/// are one series whichever allocator served them.
#[derive(Debug, Default)]
struct PythonViews {
    /// Per stack, its leaf and depth as the tracer defined it (what
    /// STACKREF refers to); `Stacks::leaves` holds the views.
    recorded: Vec<(u32, u32)>,
    /// Per stack, the stack its classes are counted under.
    canonical: Vec<u32>,
    /// The nodes of views, shared: (caller node, address index) -> node.
    interned: HashMap<(u32, u32), u32>,
    /// A view's leaf node -> the first stack with that view.
    by_view: HashMap<u32, u32>,
}

impl Default for Stacks {
    fn default() -> Self {
        Stacks {
            nodes: Vec::new(),
            leaves: Vec::new(),
            pending: Vec::new(),
            pending_under: (ROOT, 0),
            addrs: Vec::new(),
            index: AddrMap::default(),
            python_views: None,
        }
    }
}

/// A stack's frames, innermost first, as indices into [`Stacks::addrs`].
#[derive(Clone)]
pub struct FrameIds<'a> {
    nodes: &'a [(u32, u32)],
    node: u32,
    left: usize,
}

impl Iterator for FrameIds<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        let &(caller, addr) = self.nodes.get(self.node as usize)?;
        self.node = caller;
        self.left = self.left.saturating_sub(1);
        Some(addr)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for FrameIds<'_> {}

impl Stacks {
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Frames in stack `id` (0 for an unknown id).
    pub fn depth(&self, id: u32) -> usize {
        self.leaves.get(id as usize).map_or(0, |&(_, d)| d as usize)
    }

    /// Stack `id`'s leaf and depth as the tracer defined it, before any
    /// view (what a later STACKREF builds on).
    fn recorded_leaf(&self, id: u32) -> Option<(u32, u32)> {
        match &self.python_views {
            Some(v) => v.recorded.get(id as usize).copied(),
            None => self.leaves.get(id as usize).copied(),
        }
    }

    /// The stack whose classes stack `id`'s are counted under: itself,
    /// unless an earlier stack has the same Python view.
    pub fn canonical(&self, id: u32) -> u32 {
        self.python_views
            .as_ref()
            .and_then(|v| v.canonical.get(id as usize).copied())
            .unwrap_or(id)
    }

    /// Shows every stack defined so far, and every later one, through its
    /// Python view (see [`PythonViews`]): for a trace recorded while
    /// attached.
    pub fn start_python_views(&mut self) {
        if self.python_views.is_some() {
            return;
        }
        self.python_views = Some(PythonViews {
            recorded: self.leaves.clone(),
            canonical: (0..self.leaves.len() as u32).collect(),
            ..PythonViews::default()
        });
        for id in 0..self.leaves.len() as u32 {
            self.view_python(id);
        }
    }

    /// Replaces stack `id`'s frames by its Python view, if it has Python
    /// frames, and finds the stack it is counted under.
    fn view_python(&mut self, id: u32) {
        let ids: Vec<u32> = self.frame_ids(id).collect();
        let Some(innermost) = ids
            .iter()
            .position(|&a| crate::python::is_python_frame(self.addrs[a as usize]))
        else {
            return;
        };
        let view: Vec<u32> = ids[..innermost]
            .iter()
            .copied()
            .chain(
                ids[innermost..]
                    .iter()
                    .copied()
                    .filter(|&a| crate::python::is_python_frame(self.addrs[a as usize])),
            )
            .collect();
        let Some(v) = self.python_views.as_mut() else {
            return;
        };
        let mut node = ROOT;
        for &addr in view.iter().rev() {
            node = *v.interned.entry((node, addr)).or_insert_with(|| {
                self.nodes.push((node, addr));
                (self.nodes.len() - 1) as u32
            });
        }
        self.leaves[id as usize] = (node, view.len() as u32);
        v.canonical[id as usize] = *v.by_view.entry(node).or_insert(id);
    }

    /// The return addresses of stack `id`, innermost first (empty for an
    /// unknown id).
    pub fn frames(&self, id: u32) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.frame_ids(id).map(|a| self.addrs[a as usize])
    }

    /// The stack's frames as indices into [`Self::addrs`], innermost first.
    pub fn frame_ids(&self, id: u32) -> FrameIds<'_> {
        let (node, depth) = self.leaves.get(id as usize).copied().unwrap_or((ROOT, 0));
        FrameIds {
            nodes: &self.nodes,
            node,
            left: depth as usize,
        }
    }

    /// Every distinct return address met.
    pub fn addrs(&self) -> &[u64] {
        &self.addrs
    }

    /// Frames stored: the tree's nodes.
    pub fn frame_count(&self) -> usize {
        self.nodes.len()
    }

    /// Adds the next new frame (innermost first) of the stack being defined.
    fn push_frame(&mut self, addr: u64, limits: &Limits) -> Result<(), (&'static str, u64)> {
        if (self.nodes.len() + self.pending.len()) as u64 >= limits.frames {
            return Err(("frames in all call stacks", limits.frames));
        }
        let next = self.addrs.len() as u32;
        let id = *self.index.entry(addr).or_insert(next);
        if id == next {
            self.addrs.push(addr);
        }
        self.pending.push(id);
        Ok(())
    }

    /// Puts the stack being defined on frames `skip..` of stack `base`
    /// (already defined, `skip` at most its depth): they are shared, not
    /// copied.
    fn push_suffix(&mut self, base: u32, skip: usize) {
        let (mut node, depth) = self.recorded_leaf(base).unwrap_or((ROOT, 0));
        for _ in 0..skip {
            match self.nodes.get(node as usize) {
                Some(&(caller, _)) => node = caller,
                None => break,
            }
        }
        self.pending_under = (node, (depth as usize).saturating_sub(skip) as u32);
    }

    fn finish_stack(&mut self) {
        let (mut node, under) = self.pending_under;
        for &addr in self.pending.iter().rev() {
            self.nodes.push((node, addr));
            node = (self.nodes.len() - 1) as u32;
        }
        self.leaves.push((node, under + self.pending.len() as u32));
        self.pending.clear();
        self.pending_under = (ROOT, 0);
        if let Some(v) = self.python_views.as_mut() {
            let id = self.leaves.len() as u32 - 1;
            v.recorded.push(self.leaves[id as usize]);
            v.canonical.push(id);
            self.view_python(id);
        }
    }

    fn bytes(&self) -> usize {
        self.nodes.capacity() * 8
            + self.leaves.capacity() * 8
            + self.addrs.capacity() * 8
            + self.index.capacity() * 16
            + self.python_views.as_ref().map_or(0, |v| {
                v.recorded.capacity() * 8
                    + v.canonical.capacity() * 4
                    + v.interned.capacity() * 16
                    + v.by_view.capacity() * 12
            })
    }
}

/// An allocation class: the blocks of one size allocated from one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    pub stack: u32,
    pub size: u64,
}

/// Stacks, allocation classes and modules met during a replay. The writer
/// already deduplicated stacks across threads by content.
#[derive(Debug, Default)]
pub struct Tables {
    pub stacks: Stacks,
    /// Each allocation class, by id: its stack and size side by side (the
    /// replay reads both for every event: one cache line, not two).
    pub classes: Vec<Class>,
    pub modules: Vec<Module>,
    /// The program's embedded `__lsan_default_suppressions()` text, when
    /// the tracer found one (format version 4).
    pub lsan_suppressions: String,
    /// Python code objects (PYCODE records), by id.
    pub py_codes: Vec<crate::python::PyCode>,
    /// Bytes held by `py_codes`.
    pub py_code_bytes: u64,
}

impl Tables {
    /// The module holding `addr` when stack events were recorded at `ts`:
    /// the latest one loaded before `ts` that contains it, else any.
    pub fn module_of(&self, addr: u64, ts: u64) -> Option<&Module> {
        self.module_index_of(addr, ts).map(|i| &self.modules[i])
    }

    /// Like [`Self::module_of`], as an index into `modules`.
    pub fn module_index_of(&self, addr: u64, ts: u64) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (i, m) in self.modules.iter().enumerate() {
            if !m.contains(addr) {
                continue;
            }
            match best {
                None => best = Some(i),
                Some(b) if m.alive_at(ts) && !self.modules[b].alive_at(ts) => best = Some(i),
                Some(_) => {}
            }
        }
        best
    }

    /// Number of allocation classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// Approximate heap bytes held by the tables.
    pub fn heap_bytes(&self) -> usize {
        self.stacks.bytes()
            + self.classes.capacity() * std::mem::size_of::<Class>()
            + self.modules.capacity() * std::mem::size_of::<Module>()
    }
}

/// Caps on what one trace may define. Real traces stay far below them:
/// CPython parsing 60 modules (2.3 million allocations with 230-frame
/// stacks) defines 232,000 stacks with 8.5 million frames; a compiler
/// run, 83,000 stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub stacks: u64,
    pub frames: u64,
    pub classes: u64,
    pub modules: u64,
    /// Bytes of embedded suppression text.
    pub suppression_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stacks: 4 << 20,
            frames: 64 << 20,
            classes: 8 << 20,
            modules: 1 << 18,
            suppression_bytes: 1 << 20,
        }
    }
}

/// A chunk holds one drain's records (the writer flushes every 20 ms or
/// when a ring is half full); anything far beyond that is corruption, not
/// a reason to allocate.
pub const MAX_CHUNK_RAW: usize = 64 << 20;
/// Compressed payloads may exceed their raw size by zstd's framing only.
const MAX_CHUNK_PACKED: usize = MAX_CHUNK_RAW + (1 << 20);
/// Longest stack accepted.
const MAX_FRAMES: u64 = 4096;
/// Most Python code objects and bytes of their names and line tables.
const MAX_PY_CODES: usize = 1 << 20;
const MAX_PY_CODE_BYTES: u64 = 256 << 20;
/// Longest module path accepted (Linux's PATH_MAX).
const MAX_NAME: u64 = 4096;
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

fn corrupt(offset: u64, what: &'static str) -> TraceError {
    TraceError::Corrupt { offset, what }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8], offset: u64) -> Result<usize, TraceError> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(TraceError::Io {
                    offset: offset + n as u64,
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(n)
}

/// A trace being read, one pass.
pub struct TraceReader<R: Read> {
    input: R,
    pub header: Header,
    pub version: u32,
    /// File offset of the next chunk header.
    pos: u64,
    seq: u32,
    truncated_at: Option<u64>,
    limits: Limits,
}

impl<R: Read> std::fmt::Debug for TraceReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceReader")
            .field("header", &self.header)
            .field("version", &self.version)
            .field("pos", &self.pos)
            .finish()
    }
}

impl<R: Read> TraceReader<R> {
    /// Reads and checks the header.
    pub fn open(mut input: R) -> Result<Self, TraceError> {
        let mut head = [0u8; HEADER_LEN];
        let n = read_full(&mut input, &mut head, 0)?;
        let data = &head[..n];
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
        if !(OLDEST_VERSION..=VERSION).contains(&version) {
            return Err(TraceError::Version { found: version });
        }
        if data.len() < HEADER_LEN {
            return Err(TraceError::TooShort { len: data.len() });
        }
        if u64_at(data, 16) > crate::format::MAX_SAMPLE_EVERY {
            return Err(corrupt(
                16,
                "the header's sampling interval is over 1 TiB (a damaged header)",
            ));
        }
        let header = Header {
            pid: u32_at(data, 12),
            sample_every: u64_at(data, 16),
            start_unix_ns: u64_at(data, 24),
            ppid: u64_at(data, 32),
        };
        Ok(TraceReader {
            input,
            header,
            version,
            pos: HEADER_LEN as u64,
            seq: 0,
            truncated_at: None,
            limits: Limits::default(),
        })
    }

    /// Replaces the table caps (tests use small ones).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Offset of a partial last chunk, when the writer was cut short
    /// (known once [`Self::replay`] has returned).
    pub fn truncated_at(&self) -> Option<u64> {
        self.truncated_at
    }

    /// Whole chunks read so far.
    pub fn chunk_count(&self) -> usize {
        self.seq as usize
    }

    /// Bytes of the file consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.pos
    }

    /// Reads every chunk in file order, filling `tables` with the stacks,
    /// classes and modules met on the way and handing each event to `f`.
    /// `progress` is called after each chunk with the bytes read so far.
    pub fn replay(
        &mut self,
        tables: &mut Tables,
        mut f: impl FnMut(&Event, &Tables),
        mut progress: impl FnMut(u64),
    ) -> Result<(), TraceError> {
        let mut dctx = DCtx::try_create().ok_or(corrupt(0, "cannot set up the zstd decoder"))?;
        dctx.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(|_| corrupt(0, "cannot set up the zstd decoder"))?;
        let mut packed: Vec<u8> = Vec::new();
        let mut raw: Vec<u8> = Vec::new();
        let mut now = 0u64;
        loop {
            let at = self.pos;
            let mut ch = [0u8; CHUNK_HEADER_LEN];
            let n = read_full(&mut self.input, &mut ch, at)?;
            if n == 0 {
                return Ok(());
            }
            if n < CHUNK_HEADER_LEN {
                self.truncated_at = Some(at);
                return Ok(());
            }
            let seq = u32_at(&ch, 0);
            let len = u32_at(&ch, 4) as usize;
            let raw_len = u32_at(&ch, 8) as usize;
            if seq != self.seq {
                return Err(corrupt(at, "chunk out of sequence (damaged chunk header)"));
            }
            if len == 0 {
                return Err(corrupt(at, "empty chunk"));
            }
            if raw_len > MAX_CHUNK_RAW || len > MAX_CHUNK_PACKED {
                return Err(corrupt(at, "chunk claims an impossible size"));
            }
            let payload = at + CHUNK_HEADER_LEN as u64;
            packed.clear();
            let got = (&mut self.input)
                .take(len as u64)
                .read_to_end(&mut packed)
                .map_err(|e| TraceError::Io {
                    offset: payload,
                    message: e.to_string(),
                })?;
            if got < len {
                self.truncated_at = Some(at);
                return Ok(());
            }
            decompress(&mut dctx, &packed, raw_len, &mut raw)
                .map_err(|what| corrupt(payload, what))?;
            self.pos = payload + len as u64;
            self.seq += 1;
            let mut p = Parser {
                d: &raw,
                pos: 0,
                limits: &self.limits,
            };
            while p.pos < raw.len() {
                let rec = p.pos;
                p.record(tables, &mut now, &mut f).map_err(|e| match e {
                    RecordError::Corrupt(what) => TraceError::CorruptRecord {
                        chunk: at,
                        offset: rec as u64,
                        what,
                    },
                    RecordError::Limit(what, limit) => TraceError::Limit {
                        chunk: at,
                        what,
                        limit,
                    },
                })?;
            }
            progress(self.pos);
        }
    }
}

/// The header and every whole chunk's decompressed records (for tools and
/// tests that rewrite traces; see [`crate::synth::with_records_first`]).
pub fn raw_chunks(data: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>), TraceError> {
    TraceReader::open(data)?;
    let mut dctx = DCtx::try_create().ok_or(corrupt(0, "cannot set up the zstd decoder"))?;
    let mut chunks = Vec::new();
    let mut pos = HEADER_LEN;
    while data.len() - pos >= CHUNK_HEADER_LEN {
        let len = u32_at(data, pos + 4) as usize;
        let raw_len = u32_at(data, pos + 8) as usize;
        let payload = pos + CHUNK_HEADER_LEN;
        if raw_len > MAX_CHUNK_RAW || data.len() - payload < len {
            break;
        }
        let mut raw = Vec::new();
        decompress(&mut dctx, &data[payload..payload + len], raw_len, &mut raw)
            .map_err(|what| corrupt(payload as u64, what))?;
        chunks.push(raw);
        pos = payload + len;
    }
    Ok((data[..HEADER_LEN].to_vec(), chunks))
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

enum RecordError {
    Corrupt(&'static str),
    Limit(&'static str, u64),
}

impl From<&'static str> for RecordError {
    fn from(what: &'static str) -> Self {
        RecordError::Corrupt(what)
    }
}

struct Parser<'d> {
    d: &'d [u8],
    pos: usize,
    limits: &'d Limits,
}

impl Parser<'_> {
    #[inline]
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

    #[inline]
    fn iv(&mut self) -> Result<i64, &'static str> {
        let u = self.uv()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    fn remaining(&self) -> u64 {
        (self.d.len() - self.pos) as u64
    }

    #[inline]
    fn class(&mut self, tables: &Tables) -> Result<(u32, u32, u64), &'static str> {
        let c = self.uv()?;
        let i = usize::try_from(c).map_err(|_| "allocation names a class never defined")?;
        match tables.classes.get(i) {
            Some(k) => Ok((c as u32, k.stack, k.size)),
            None => Err("allocation names a class never defined"),
        }
    }

    fn bytes(&mut self, what: &'static str) -> Result<&[u8], &'static str> {
        let len = self.uv()?;
        if len > self.remaining() {
            return Err(what);
        }
        let s = &self.d[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        Ok(s)
    }

    /// Reads one record, updating the tables and the stream's clock, and
    /// hands timed ones to `f`.
    #[inline]
    fn record(
        &mut self,
        tables: &mut Tables,
        now: &mut u64,
        f: &mut impl FnMut(&Event, &Tables),
    ) -> Result<(), RecordError> {
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
            REC_TIME => {
                let dts = self.uv()?;
                *now = now.checked_add(dts).ok_or("timestamp overflows")?;
                return Ok(());
            }
            REC_STACK => {
                let n = self.uv()?;
                if n > MAX_FRAMES || n > self.remaining() {
                    return Err("stack longer than its record".into());
                }
                if tables.stacks.len() as u64 >= self.limits.stacks {
                    return Err(RecordError::Limit("call stacks", self.limits.stacks));
                }
                let mut prev: i64 = 0;
                for _ in 0..n {
                    prev = prev.wrapping_add(self.iv()?);
                    tables
                        .stacks
                        .push_frame(prev as u64, self.limits)
                        .map_err(|(what, limit)| RecordError::Limit(what, limit))?;
                }
                tables.stacks.finish_stack();
                return Ok(());
            }
            REC_STACKREF => {
                // New innermost frames, then the callers this stack shares
                // with one defined before (format version 5). Errors end
                // the replay, so a stack left half-defined is never read.
                let k = self.uv()?;
                if k > MAX_FRAMES || k > self.remaining() {
                    return Err("stack longer than its record".into());
                }
                if tables.stacks.len() as u64 >= self.limits.stacks {
                    return Err(RecordError::Limit("call stacks", self.limits.stacks));
                }
                let mut prev: i64 = 0;
                for _ in 0..k {
                    prev = prev.wrapping_add(self.iv()?);
                    tables
                        .stacks
                        .push_frame(prev as u64, self.limits)
                        .map_err(|(what, limit)| RecordError::Limit(what, limit))?;
                }
                let base = self.uv()?;
                let skip = self.uv()?;
                if base >= tables.stacks.len() as u64 {
                    return Err("stack refers to a stack never defined".into());
                }
                let base_len = tables
                    .stacks
                    .recorded_leaf(base as u32)
                    .map_or(0, |(_, depth)| depth as u64);
                if skip > base_len {
                    return Err("stack skips more frames than its base has".into());
                }
                if k + (base_len - skip) > MAX_FRAMES {
                    return Err("stack longer than its record".into());
                }
                tables.stacks.push_suffix(base as u32, skip as usize);
                tables.stacks.finish_stack();
                return Ok(());
            }
            REC_CLASS => {
                let stack = self.uv()?;
                let size = self.uv()?;
                if stack >= tables.stacks.len() as u64 {
                    return Err("class names a stack never defined".into());
                }
                if tables.classes.len() as u64 >= self.limits.classes {
                    return Err(RecordError::Limit(
                        "allocation classes",
                        self.limits.classes,
                    ));
                }
                tables.classes.push(Class {
                    stack: tables.stacks.canonical(stack as u32),
                    size,
                });
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
                    return Err("module with too many segments".into());
                }
                if tables.modules.len() as u64 >= self.limits.modules {
                    return Err(RecordError::Limit("loaded modules", self.limits.modules));
                }
                let mut segments = Vec::with_capacity(nseg as usize);
                for _ in 0..nseg {
                    let vaddr = self.uv()?;
                    let memsz = self.uv()?;
                    let flags = self.uv()? as u32;
                    segments.push((vaddr, memsz, flags));
                }
                let name = self.bytes("module name runs past its chunk")?;
                if name.len() as u64 > MAX_NAME {
                    return Err("module name longer than a path can be".into());
                }
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
            REC_LOST => {
                let reason = self.uv()?;
                let detail = self.uv()?;
                Event::Lost { ts, reason, detail }
            }
            REC_PHASE => {
                let kind = self.uv()?;
                Event::Phase { ts, kind }
            }
            REC_LSANSUPP => {
                let limit = self.limits.suppression_bytes;
                let text = self.bytes("suppression text runs past its chunk")?;
                if (tables.lsan_suppressions.len() + text.len()) as u64 > limit {
                    return Err(RecordError::Limit("bytes of embedded suppressions", limit));
                }
                let text = String::from_utf8_lossy(text);
                if !tables.lsan_suppressions.is_empty() && !tables.lsan_suppressions.ends_with('\n')
                {
                    tables.lsan_suppressions.push('\n');
                }
                tables.lsan_suppressions.push_str(&text);
                return Ok(());
            }
            REC_PYCODE => {
                let minor = self.uv()?;
                let first_line = self.uv()?;
                let name = String::from_utf8_lossy(self.bytes("Python name runs past its chunk")?)
                    .into_owned();
                let file = String::from_utf8_lossy(self.bytes("Python file runs past its chunk")?)
                    .into_owned();
                let table = self
                    .bytes("Python line table runs past its chunk")?
                    .to_vec();
                let size = (name.len() + file.len() + table.len()) as u64;
                if tables.py_codes.len() >= MAX_PY_CODES
                    || tables.py_code_bytes + size > MAX_PY_CODE_BYTES
                {
                    return Err(RecordError::Limit(
                        "Python code objects",
                        MAX_PY_CODES as u64,
                    ));
                }
                tables.py_code_bytes += size;
                tables.py_codes.push(crate::python::PyCode {
                    minor: minor.min(u64::from(u32::MAX)) as u32,
                    first_line: first_line.min(u64::from(u32::MAX)) as u32,
                    name,
                    file,
                    table,
                });
                return Ok(());
            }
            REC_ATTACH => {
                let kind = self.uv()?;
                if kind == ATTACH_START {
                    // The writer puts the stacks and classes a drain defines
                    // before its events: views apply to those too.
                    tables.stacks.start_python_views();
                    for c in &mut tables.classes {
                        c.stack = tables.stacks.canonical(c.stack);
                    }
                }
                Event::Attach { ts, kind }
            }
            _ => return Err("unknown record type".into()),
        };
        f(&ev, tables);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_share_addresses_and_keep_order() {
        let lim = Limits::default();
        let mut s = Stacks::default();
        for a in [10u64, 20, 30] {
            s.push_frame(a, &lim).unwrap();
        }
        s.finish_stack();
        s.finish_stack(); // an empty stack
        for a in [20u64, 40] {
            s.push_frame(a, &lim).unwrap();
        }
        s.finish_stack();
        assert_eq!(s.len(), 3);
        assert_eq!(s.frames(0).collect::<Vec<_>>(), [10, 20, 30]);
        assert_eq!(s.frames(1).count(), 0);
        assert_eq!(s.frames(2).collect::<Vec<_>>(), [20, 40]);
        assert_eq!(s.addrs(), &[10, 20, 30, 40]);
        assert_eq!(s.frames(99).count(), 0, "unknown ids are empty");
    }

    #[test]
    fn python_views_cut_native_frames_outside_the_innermost_python_frame() {
        use crate::python::PY_FRAME_BIT;
        let lim = Limits::default();
        let (py_audit, py_module) = (PY_FRAME_BIT | 1 << 32 | 4, PY_FRAME_BIT | 2 << 32 | 8);
        let define = |s: &mut Stacks, frames: &[u64]| {
            for &a in frames {
                s.push_frame(a, &lim).unwrap();
            }
            s.finish_stack();
        };
        let mut s = Stacks::default();
        // Through malloc: native frames stop at the innermost eval loop.
        define(&mut s, &[0x10, py_audit, py_module]);
        // Through a wrapped allocator domain: the eval loop's frames
        // between and below the Python frames too.
        define(&mut s, &[0x10, py_audit, 0x90, py_module, 0x91, 0x92]);
        s.start_python_views();
        // Defined after the attach: viewed as it is defined.
        define(&mut s, &[0x20, 0x10, py_audit, 0x93, py_module, 0x94]);
        // No Python frame: left alone.
        define(&mut s, &[0x30, 0x31]);
        // A stack built on the recorded frames of stack 1 (its eval loop
        // frames included), not on its view.
        s.push_frame(0x40, &lim).unwrap();
        s.push_suffix(1, 2);
        s.finish_stack();
        let frames = |s: &Stacks, id| s.frames(id).collect::<Vec<_>>();
        assert_eq!(frames(&s, 0), [0x10, py_audit, py_module]);
        assert_eq!(frames(&s, 1), [0x10, py_audit, py_module]);
        assert_eq!(frames(&s, 2), [0x20, 0x10, py_audit, py_module]);
        assert_eq!(frames(&s, 3), [0x30, 0x31]);
        assert_eq!(frames(&s, 4), [0x40, 0x90, py_module]);
        // Stacks with the same view are counted as one.
        assert_eq!(
            (0..5).map(|id| s.canonical(id)).collect::<Vec<_>>(),
            [0, 0, 2, 3, 4]
        );
        // Without an attach nothing changes.
        let mut plain = Stacks::default();
        define(&mut plain, &[0x10, py_audit, 0x90, py_module, 0x91]);
        assert_eq!(frames(&plain, 0), [0x10, py_audit, 0x90, py_module, 0x91]);
        assert_eq!(plain.canonical(0), 0);
    }

    #[test]
    fn frame_cap_is_an_error() {
        let lim = Limits {
            frames: 2,
            ..Limits::default()
        };
        let mut s = Stacks::default();
        s.push_frame(1, &lim).unwrap();
        s.push_frame(2, &lim).unwrap();
        assert!(s.push_frame(3, &lim).is_err());
    }
}
