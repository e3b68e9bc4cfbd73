//! Per-thread single-producer/single-consumer byte rings and their registry.
//!
//! Each traced thread owns one ring (found through a thread-local pointer)
//! and appends whole records to it; the writer thread is the only consumer.
//! Rings are never unmapped: when their thread is gone the writer drains them
//! and marks them free for the next new thread, so memory stays bounded by
//! the peak number of live threads.

use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Ring capacity in bytes (a power of two).
pub const RING_BYTES: usize = 1 << 20;
/// Fill level at which a producer wakes the writer before its period ends.
/// The writer empties the ring nearly to the head it saw, so half leaves it
/// a full half of headroom, and halves the drains (each costs a chunk) of a
/// busy thread compared with a quarter.
const WAKE_AT: u64 = (RING_BYTES / 2) as u64;
/// Most threads traced at once; threads past this run untraced.
pub const MAX_RINGS: usize = 4096;
/// Direct-mapped cache of stacks already emitted into this ring (pages
/// are committed as they are touched).
const STACK_CACHE: usize = 1 << 13;
/// Direct-mapped cache of stack nodes already written into this ring, by
/// (caller's node, return address). Large: a node evicted and written again
/// gets a new id, so every node below it misses too (its key names the old
/// parent id) and the whole subtree is written again. At 16 Ki entries
/// CPython's deep stacks wrote 2.4 M nodes for 1.1 M distinct ones; pages
/// are committed only as entries are touched (2 MiB at most per ring).
const NODE_CACHE: usize = 1 << 17;
/// Direct-mapped cache of the memo's unwritten nodes (`memo_node`).
const SHADOW_CACHE: usize = 1 << 14;

/// Hash of a stack path: the outermost frame's `path_hash(PATH_ROOT, ip)`,
/// then each callee's `path_hash(caller's, ip)`. Names the node cache slot
/// of every node (`Ring::new_node`).
pub const PATH_ROOT: u64 = 0x243F_6A88_85A3_08D3;

#[inline(always)]
pub fn path_hash(caller: u64, ip: u64) -> u64 {
    (caller.rotate_left(23) ^ ip).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

pub const FREE: u32 = 0;
pub const USED: u32 = 1;

#[repr(C, align(64))]
struct Padded<T>(T);

#[repr(C)]
#[derive(Clone, Copy)]
struct CacheEntry {
    hash: u64,
    id: u32,
}

/// A written node in the node cache, known by its whole path: after a
/// node was evicted and written again under a new id, the nodes below it
/// are still found (keyed by their caller's id, the whole subtree under a
/// re-written node was written again: 40 % of the CPython job's node
/// records named nodes the writer already had). The path hash is 64 bits
/// of the return addresses from the outermost frame; the low half of the
/// frame's own address is compared too.
#[repr(C)]
#[derive(Clone, Copy)]
struct PathEntry {
    path: u64,
    ip_lo: u32,
    /// This node + 1 (0: empty entry).
    id: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct NodeEntry {
    ip: u64,
    /// The caller's node + 1 (0: outermost).
    parent: u32,
    /// This node + 1 (0: empty entry).
    id: u32,
}

#[repr(C)]
pub struct Ring {
    head: Padded<AtomicU64>,
    tail: Padded<AtomicU64>,
    pub state: AtomicU32,
    /// Kernel thread id of the owner, so the writer can tell when it is gone.
    pub tid: AtomicU32,
    pub slot: u32,
    data: *mut u8,
    cache: *mut CacheEntry,
    nodes: *mut PathEntry,
    /// Cache of the memo's unwritten nodes (see `memo_node`).
    shadow: *mut NodeEntry,
    /// Producer-private state below, on cache lines of its own: the writer
    /// reads the fields above for every byte it decodes, and the producer
    /// writes these on every event (sharing a line cost a third of the
    /// producer's time).
    _private: Padded<()>,
    /// Set by the owning thread while a hook records an event: the final
    /// flush waits for it to clear before the last drain, so an event whose
    /// hook began before tracing ended is written whole (`writer::finish`).
    /// Written on every event, read by another thread only then: it sits
    /// with the producer's private fields.
    pub busy: AtomicBool,
    pub prev_ts: u64,
    pub prev_seq: u64,
    pub prev_ptr: u64,
    next_stack_id: u32,
    next_shadow_id: u32,
    pub sample_countdown: i64,
    pub rng: u64,
    /// The owning thread's stack range (valid once `stack_known`, learnt
    /// at its first stack capture: see `hooks::stack_id`) and unwind rule
    /// cache.
    pub stack: (u64, u64),
    pub stack_known: bool,
    pub unwind_cache: *mut crate::unwind::Cache,
    /// The owning thread's memo of recent unwinds (see `unwind::Memo`).
    pub memo: *mut crate::memo::Memo,
    /// The owning thread's Python state (see `python`), made on first need.
    pub py: *mut crate::python::ThreadPy,
}

/// When an event happened, as the rings record it: `seq` orders it against
/// every other thread's events (see `writer::stamp`), `ns` (nanoseconds
/// since tracing started) places it in time.
#[derive(Clone, Copy, Default)]
pub struct Stamp {
    pub ns: u64,
    pub seq: u64,
}

static RINGS: [AtomicPtr<Ring>; MAX_RINGS] = [const { AtomicPtr::new(null_mut()) }; MAX_RINGS];
static RING_COUNT: AtomicUsize = AtomicUsize::new(0);
/// Set once a second ring is claimed: events take a number from the shared
/// sequence from then on (see `writer::stamp`).
static MULTI: AtomicBool = AtomicBool::new(false);

/// Whether more than one thread has recorded (ever).
#[inline(always)]
pub fn multi() -> bool {
    MULTI.load(Ordering::Relaxed)
}

/// Number of ring slots handed out so far.
pub fn count() -> usize {
    RING_COUNT.load(Ordering::Acquire).min(MAX_RINGS)
}

/// The ring in `slot`, if it has been created.
pub fn get(slot: usize) -> *mut Ring {
    RINGS[slot].load(Ordering::Acquire)
}

/// Claims a free ring for the calling thread, or creates one. Null when the
/// registry is full or memory cannot be mapped.
pub unsafe fn claim(tid: u32) -> *mut Ring {
    for slot in 0..count() {
        let r = get(slot);
        if r.is_null() {
            continue;
        }
        // SAFETY: rings are never unmapped.
        let ring = unsafe { &*r };
        if ring
            .state
            .compare_exchange(FREE, USED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // A ring another thread used: more than one thread records
            // (set before this one's first record: see `writer::stamp`).
            MULTI.store(true, Ordering::SeqCst);
            ring.tid.store(tid, Ordering::Release);
            return r;
        }
    }
    let slot = RING_COUNT.fetch_add(1, Ordering::AcqRel);
    if slot > 0 {
        // Slot 0 goes to one thread only; any other means a second one.
        MULTI.store(true, Ordering::SeqCst);
    }
    if slot >= MAX_RINGS {
        return null_mut();
    }
    let header = core::mem::size_of::<Ring>().next_multiple_of(4096);
    let cache_bytes = STACK_CACHE * core::mem::size_of::<CacheEntry>();
    let node_bytes = NODE_CACHE * core::mem::size_of::<PathEntry>();
    let shadow_bytes = SHADOW_CACHE * core::mem::size_of::<NodeEntry>();
    let total = header + RING_BYTES + cache_bytes + node_bytes + shadow_bytes;
    // SAFETY: anonymous private mapping; pages are committed lazily and zeroed.
    let mem = unsafe {
        libc::mmap(
            null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if mem == libc::MAP_FAILED {
        return null_mut();
    }
    let base = mem.cast::<u8>();
    let r = base.cast::<Ring>();
    // SAFETY: the mapping is large enough and suitably aligned (page aligned).
    unsafe {
        r.write(Ring {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            state: AtomicU32::new(USED),
            tid: AtomicU32::new(tid),
            slot: slot as u32,
            data: base.add(header),
            cache: base.add(header + RING_BYTES).cast(),
            nodes: base.add(header + RING_BYTES + cache_bytes).cast(),
            shadow: base
                .add(header + RING_BYTES + cache_bytes + node_bytes)
                .cast(),
            _private: Padded(()),
            busy: AtomicBool::new(false),
            prev_ts: 0,
            prev_seq: 0,
            prev_ptr: 0,
            next_stack_id: 0,
            next_shadow_id: 0,
            sample_countdown: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ (tid as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9),
            stack: (0, 0),
            stack_known: false,
            unwind_cache: null_mut(),
            memo: null_mut(),
            py: null_mut(),
        });
    }
    RINGS[slot].store(r, Ordering::Release);
    r
}

impl Ring {
    /// `s` as deltas from this ring's previous stamp, which it becomes.
    /// Clamped so that a ring's stamps never go back (its records are
    /// merged in their own order anyway).
    #[inline(always)]
    pub fn stamp_delta(&mut self, s: Stamp) -> StampDelta {
        let d = StampDelta {
            dns: s.ns.saturating_sub(self.prev_ts),
            dseq: s.seq.saturating_sub(self.prev_seq),
        };
        self.prev_ts = self.prev_ts.max(s.ns);
        self.prev_seq = self.prev_seq.max(s.seq);
        d
    }

    /// Bytes waiting for the writer.
    pub fn pending(&self) -> u64 {
        self.head.0.load(Ordering::Acquire) - self.tail.0.load(Ordering::Acquire)
    }

    /// Appends a record of at most `MAX` bytes encoded by `encode` straight
    /// into the ring when it has `MAX` contiguous free bytes (no staging
    /// buffer, whose byte-wise writes then wide reads stall store
    /// forwarding); else encodes into a buffer and pushes that.
    #[inline(always)]
    pub fn push_with<const MAX: usize>(&mut self, tag: u8, encode: impl FnOnce(&mut Enc)) {
        let head = self.head.0.load(Ordering::Relaxed);
        let start = (head as usize) & (RING_BYTES - 1);
        let tail = self.tail.0.load(Ordering::Acquire);
        if start + MAX > RING_BYTES || (RING_BYTES as u64) - (head - tail) < MAX as u64 {
            let mut rec = Rec::<MAX>::new(tag);
            let mut enc = Enc {
                // SAFETY: the buffer holds MAX bytes, the encoder writes
                // fewer (callers size MAX for their worst case).
                at: unsafe { rec.buf.as_mut_ptr().add(1) },
            };
            encode(&mut enc);
            // SAFETY: both pointers are into `rec.buf`.
            rec.len = unsafe { enc.at.offset_from(rec.buf.as_ptr()) } as usize;
            return self.push(rec.as_slice());
        }
        // SAFETY: [start, start + MAX) is inside the data area and free (not
        // between tail and head); the consumer reads only up to the head
        // published below, after the bytes are written.
        let len = unsafe {
            let dst = self.data.add(start);
            dst.write(tag);
            let mut enc = Enc { at: dst.add(1) };
            encode(&mut enc);
            enc.at.offset_from(dst) as u64
        };
        self.head.0.store(head + len, Ordering::Release);
        if head + len - tail > WAKE_AT {
            crate::writer::wake();
        }
    }

    /// Appends one whole record. Waits for the writer when the ring is full;
    /// gives up (drops the record) when tracing stops meanwhile.
    pub fn push(&mut self, rec: &[u8]) {
        let len = rec.len() as u64;
        let head = self.head.0.load(Ordering::Relaxed);
        let mut waits = 0u32;
        loop {
            let tail = self.tail.0.load(Ordering::Acquire);
            if RING_BYTES as u64 - (head - tail) >= len {
                break;
            }
            if !crate::writer::running() {
                return;
            }
            if !crate::writer::writer_started() {
                // Before this library's constructor: no writer thread yet.
                crate::writer::drain_inline();
                continue;
            }
            crate::writer::wake();
            // Yield a few times, then sleep: spinning producers would take
            // the CPU from the writer they are waiting for.
            waits += 1;
            if waits < 16 {
                // SAFETY: plain syscall.
                unsafe { libc::sched_yield() };
            } else {
                crate::writer::pause_ns(50_000);
            }
        }
        let start = (head as usize) & (RING_BYTES - 1);
        let first = rec.len().min(RING_BYTES - start);
        // SAFETY: both ranges lie inside the ring's data area; the consumer
        // does not read past `head`, which is published after the copy.
        unsafe {
            core::ptr::copy_nonoverlapping(rec.as_ptr(), self.data.add(start), first);
            if first < rec.len() {
                core::ptr::copy_nonoverlapping(
                    rec.as_ptr().add(first),
                    self.data,
                    rec.len() - first,
                );
            }
        }
        self.head.0.store(head + len, Ordering::Release);
        if head + len - self.tail.0.load(Ordering::Relaxed) > WAKE_AT {
            crate::writer::wake();
        }
    }

    /// The producer's published head: every byte before it holds whole
    /// records. Consumer side only.
    #[inline]
    pub fn head(&self) -> u64 {
        self.head.0.load(Ordering::Acquire)
    }

    /// The byte at stream position `pos`, which must lie between the tail
    /// and a head read earlier. Consumer side only.
    #[inline(always)]
    pub fn byte(&self, pos: u64) -> u8 {
        // SAFETY: the index is masked into the data area; bytes in
        // [tail, head) were published by the producer and are not
        // overwritten until `consume` moves `tail` past them.
        unsafe { *self.data.add(pos as usize & (RING_BYTES - 1)) }
    }

    /// Gives the ring's pages back to the kernel (its thread is gone and
    /// everything was written), so idle rings cost no memory.
    pub fn release_pages(&self) {
        // SAFETY: the data area is this ring's own mapping; nobody produces
        // into a ring that is not claimed, and the consumer has read it all.
        unsafe { libc::madvise(self.data.cast(), RING_BYTES, libc::MADV_DONTNEED) };
    }

    /// Marks bytes up to `head` as processed: the producer may reuse them.
    /// Consumer side only.
    pub fn consume(&self, head: u64) {
        self.tail.0.store(head, Ordering::Release);
    }

    /// The leaf node of an already written stack with this hash (libgcc's
    /// unwinds, which have no incremental memo), if the cache knows it.
    pub fn cached_stack(&self, hash: u64) -> Option<u32> {
        // The high bits: the hashes' low bits mix only the addresses' low
        // bits, and bit 0 is always set.
        let idx = (hash >> 40) as usize & (STACK_CACHE - 1);
        // SAFETY: idx < STACK_CACHE, the cache lies in this ring's mapping.
        let e = unsafe { &*self.cache.add(idx) };
        (e.hash == hash && hash != 0).then_some(e.id)
    }

    /// Remembers the leaf node written for a stack with this hash.
    pub fn remember_stack(&mut self, hash: u64, leaf: u32) {
        let idx = (hash >> 40) as usize & (STACK_CACHE - 1);
        // SAFETY: idx < STACK_CACHE, the cache lies in this ring's mapping.
        unsafe { *self.cache.add(idx) = CacheEntry { hash, id: leaf } };
    }

    /// The id of the written node whose path hash is `path` and frame
    /// `ip`, if the node cache holds it.
    #[inline(always)]
    fn cached_node(&self, path: u64, ip: u64) -> Option<u32> {
        let idx = (path >> 40) as usize & (NODE_CACHE - 1);
        // SAFETY: idx < NODE_CACHE, the cache lies in this ring's mapping.
        let e = unsafe { &*self.nodes.add(idx) };
        (e.id != 0 && e.path == path && e.ip_lo == ip as u32).then(|| e.id - 1)
    }

    /// The node of frame `key` at `path` under `parent`: `Ok` with its id
    /// when the node cache holds it, else `Err` with a new id, remembered
    /// (the caller writes its record). `skip_under_newest`: under the node
    /// made last, a new id without a lookup (see `new_splice_node`).
    #[inline(always)]
    fn cached_or_new(
        &mut self,
        path: u64,
        parent: Option<u32>,
        key: u64,
        skip_under_newest: bool,
    ) -> Result<u32, u32> {
        let idx = (path >> 40) as usize & (NODE_CACHE - 1);
        let newest = skip_under_newest && parent.is_some_and(|p| p + 1 == self.next_stack_id);
        if !newest {
            if let Some(id) = self.cached_node(path, key) {
                return Ok(id);
            }
        }
        let id = self.next_stack_id;
        self.next_stack_id += 1;
        // SAFETY: idx < NODE_CACHE, the cache lies in this ring's mapping.
        unsafe {
            *self.nodes.add(idx) = PathEntry {
                path,
                ip_lo: key as u32,
                id: id + 1,
            }
        };
        Err(id)
    }

    /// Writes a NODE record: a new stack node, frame `ip` called from
    /// node `parent` (None: the outermost frame), unless the node cache
    /// holds it. Returns its id. The cache slot is `path`, the node's
    /// `path_hash`: computed from the frames alone, with no node id, so a
    /// chain of new frames has all its slots known, and prefetched, before
    /// the first lookup (a slot from the parent's id made each lookup wait
    /// for the previous one's cache miss: 37 % of `Memo::capture` on
    /// cc1plus). Every writer of nodes uses the same slots.
    #[inline]
    pub fn new_node(&mut self, path: u64, parent: Option<u32>, ip: u64, parent_ip: u64) -> u32 {
        self.node(path, parent, ip, parent_ip, false)
    }

    /// `new_node` for the Python splice: under the node made last it
    /// writes without a lookup (a load miss per new frame cost its thread
    /// 14 % on the CPython job before its slots were prefetched), at the
    /// price of writing again nodes a re-written caller's subtree already
    /// had.
    #[inline]
    pub fn new_splice_node(
        &mut self,
        path: u64,
        parent: Option<u32>,
        ip: u64,
        parent_ip: u64,
    ) -> u32 {
        self.node(path, parent, ip, parent_ip, true)
    }

    #[inline(always)]
    fn node(
        &mut self,
        path: u64,
        parent: Option<u32>,
        ip: u64,
        parent_ip: u64,
        skip_under_newest: bool,
    ) -> u32 {
        let id = match self.cached_or_new(path, parent, ip, skip_under_newest) {
            Ok(id) => return id,
            Err(id) => id,
        };
        let dip = (ip as i64).wrapping_sub(parent_ip as i64);
        self.push_with::<21>(crate::REC_NODE, |e| {
            e.u(parent.map_or(0, |p| p as u64 + 1));
            e.i(dip);
        });
        id
    }

    /// The memo's node for frame `ip` under `parent`: written into the
    /// ring (`new_node`) unless `shadow`, when the stack the memo finds is
    /// only the key of the Python splice that follows (which writes the
    /// nodes of the stack it makes): then an id of a space of its own,
    /// never written (half of the CPython job's node records were memo
    /// nodes no allocation named). The same frame under the same caller
    /// gets the same id while the entry stays in this cache.
    #[inline]
    pub fn memo_node(
        &mut self,
        shadow: bool,
        path: u64,
        parent: Option<u32>,
        ip: u64,
        parent_ip: u64,
    ) -> u32 {
        if !shadow {
            return self.new_node(path, parent, ip, parent_ip);
        }
        let p = parent.map_or(0, |p| p + 1);
        let idx = (path >> 40) as usize & (SHADOW_CACHE - 1);
        // SAFETY: idx < SHADOW_CACHE, the cache lies in this ring's mapping.
        let e = unsafe { &mut *self.shadow.add(idx) };
        // As in `new_node`: nothing is cached under the id made last.
        let newest = p != 0 && p == self.next_shadow_id;
        if !newest && e.id != 0 && e.ip == ip && e.parent == p {
            return e.id - 1;
        }
        let id = self.next_shadow_id;
        self.next_shadow_id += 1;
        *e = NodeEntry {
            ip,
            parent: p,
            id: id + 1,
        };
        id
    }

    /// Starts loading the node-cache slot of `path` (`new_node`,
    /// `new_py_node`).
    #[inline(always)]
    pub fn prefetch_node(&self, path: u64) {
        self.prefetch_memo_node(false, path);
    }

    /// Starts loading the cache slot `memo_node` will read for `path`.
    #[inline(always)]
    pub fn prefetch_memo_node(&self, shadow: bool, path: u64) {
        let slot = if shadow {
            // SAFETY: in bounds of the shadow cache (masked index).
            unsafe { self.shadow.add((path >> 40) as usize & (SHADOW_CACHE - 1)) }.cast::<u8>()
        } else {
            // SAFETY: in bounds of the node cache (masked index).
            unsafe { self.nodes.add((path >> 40) as usize & (NODE_CACHE - 1)) }.cast::<u8>()
        };
        // SAFETY: a prefetch hint has no effect on memory; SSE is baseline
        // on x86-64.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(slot.cast())
        };
    }

    /// Whether the memo's unwritten ids are close to running out (a
    /// capture takes at most `memo::DEPTH` of them); the caller then
    /// starts them again with `reset_shadow`.
    #[inline]
    pub fn shadow_ids_low(&self) -> bool {
        self.next_shadow_id > u32::MAX - 4096
    }

    /// Starts the memo's unwritten ids again from 0. The caller forgets
    /// every id handed out before (the memo, the splice cache).
    #[cold]
    pub fn reset_shadow(&mut self) {
        self.next_shadow_id = 0;
        // SAFETY: the cache spans SHADOW_CACHE entries of this ring's mapping.
        unsafe { core::ptr::write_bytes(self.shadow, 0, SHADOW_CACHE) };
    }

    /// Writes a PYNODE record: a Python frame (the thread's code id
    /// `code`, at instruction `lasti`) called from node `parent`. Native
    /// nodes under it are delta-coded from 0, not from its key.
    /// `path` as in `new_node`, its key the frame's.
    #[inline]
    pub fn new_py_node(&mut self, path: u64, parent: Option<u32>, code: u32, lasti: u32) -> u32 {
        let key = crate::python::PY_FRAME_BIT | (u64::from(code) << 32) | u64::from(lasti);
        // Made by the splice only: as `new_splice_node`.
        let id = match self.cached_or_new(path, parent, key, true) {
            Ok(id) => return id,
            Err(id) => id,
        };
        self.push_with::<21>(crate::REC_PYNODE, |e| {
            e.u(parent.map_or(0, |p| p as u64 + 1));
            e.u(u64::from(code));
            e.u(u64::from(lasti));
        });
        id
    }

    /// Writes a stack as a chain of nodes (`ips` innermost first); returns
    /// its leaf node.
    pub fn new_chain(&mut self, ips: &[usize]) -> u32 {
        self.chain(ips.iter().rev().map(|&ip| ip as u64))
    }

    /// `new_chain` of return addresses outermost first.
    pub fn new_chain_outermost_first(&mut self, ips: &[u64]) -> u32 {
        self.chain(ips.iter().copied())
    }

    fn chain(&mut self, outermost_first: impl Iterator<Item = u64>) -> u32 {
        let mut parent = None;
        let mut parent_ip = 0u64;
        let mut path = PATH_ROOT;
        for ip in outermost_first {
            path = path_hash(path, ip);
            parent = Some(self.new_node(path, parent, ip, parent_ip));
            parent_ip = ip;
        }
        // An empty stack is a node of address 0.
        parent.unwrap_or_else(|| self.new_node(path_hash(PATH_ROOT, 0), None, 0, 0))
    }

    /// Stack nodes written into this ring since its ids last started
    /// again.
    pub fn stacks_written(&self) -> u64 {
        self.next_stack_id as u64
    }

    /// Whether this ring's node ids reached `writer::NODE_ID_LIMIT`: the
    /// caller then starts them again with `reset_node_ids`.
    #[inline]
    pub fn node_ids_high(&self) -> bool {
        self.next_stack_id >= crate::writer::NODE_ID_LIMIT.load(Ordering::Relaxed)
    }

    /// Starts the node ids again from 0, telling the writer (NODE_RESET,
    /// in order with the records that used the old ids). The caller
    /// forgets every other place that holds one (the memo, the Python
    /// splice caches).
    #[cold]
    pub fn reset_node_ids(&mut self) {
        self.push_with::<1>(crate::REC_NODE_RESET, |_| {});
        self.next_stack_id = 0;
        // SAFETY: the caches span their entries of this ring's mapping.
        unsafe {
            core::ptr::write_bytes(self.cache, 0, STACK_CACHE);
            core::ptr::write_bytes(self.nodes, 0, NODE_CACHE);
        }
    }

    /// Forgets everything: used in a forked child that starts a new file.
    pub fn reset(&mut self, state: u32, tid: u32) {
        self.head.0.store(0, Ordering::Relaxed);
        self.tail.0.store(0, Ordering::Relaxed);
        self.prev_ts = 0;
        self.prev_seq = 0;
        self.prev_ptr = 0;
        self.next_stack_id = 0;
        // A thread that was inside a hook at the fork does not exist here.
        self.busy.store(false, Ordering::Relaxed);
        // SAFETY: the cache spans STACK_CACHE entries of this ring's mapping.
        unsafe {
            core::ptr::write_bytes(self.cache, 0, STACK_CACHE);
            core::ptr::write_bytes(self.nodes, 0, NODE_CACHE);
        }
        // Memoized stack ids were emitted into the parent's file.
        // SAFETY: the memo is this ring's own.
        if let Some(memo) = unsafe { self.memo.as_mut() } {
            memo.clear();
        }
        // So are its Python code ids and spliced stacks.
        // SAFETY: the Python state is this ring's own.
        if let Some(py) = unsafe { self.py.as_mut() } {
            py.clear();
        }
        self.tid.store(tid, Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }
}

/// A stamp as a timed record's first field holds it: `dns * 2 + 1` then
/// `dseq` when the sequence moved, else `dns * 2` alone (a lone thread's
/// sequence never moves: its records stay as small as before).
#[derive(Clone, Copy)]
pub struct StampDelta {
    pub dns: u64,
    pub dseq: u64,
}

impl StampDelta {
    #[inline(always)]
    pub fn first(self) -> u64 {
        (self.dns << 1) | (self.dseq != 0) as u64
    }
}

/// A varint writer over memory the caller sized for the record.
pub struct Enc {
    at: *mut u8,
}

impl Enc {
    #[inline(always)]
    pub fn u(&mut self, mut v: u64) {
        // SAFETY: `push_with` guarantees room for the record's worst case.
        unsafe {
            while v >= 0x80 {
                self.at.write(v as u8 | 0x80);
                self.at = self.at.add(1);
                v >>= 7;
            }
            self.at.write(v as u8);
            self.at = self.at.add(1);
        }
    }

    /// Zigzag-encoded signed value.
    #[inline(always)]
    pub fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A timed record's stamp (at most 20 bytes).
    #[inline(always)]
    pub fn stamp(&mut self, d: StampDelta) {
        self.u(d.first());
        if d.dseq != 0 {
            self.u(d.dseq);
        }
    }
}

/// A small record encoder over a stack buffer.
pub struct Rec<const N: usize> {
    pub buf: [u8; N],
    pub len: usize,
}

impl<const N: usize> Rec<N> {
    #[inline]
    pub fn new(tag: u8) -> Self {
        let mut r = Rec {
            buf: [0; N],
            len: 1,
        };
        r.buf[0] = tag;
        r
    }

    #[inline]
    pub fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf[self.len] = (v as u8) | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.buf[self.len] = v as u8;
        self.len += 1;
    }

    /// A timed record's stamp (at most 20 bytes).
    #[inline]
    pub fn stamp(&mut self, d: StampDelta) {
        self.u(d.first());
        if d.dseq != 0 {
            self.u(d.dseq);
        }
    }

    pub fn bytes(&mut self, b: &[u8]) {
        let n = b.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}
