//! The reader and the replay on hand-built traces: exact accounting across
//! threads, growing-site detection, and no panic on any damaged input.

use leakwatch_trace::format::*;
use leakwatch_trace::{analyze, Trace, TraceError};
use proptest::prelude::*;

/// Encodes records the way the preload library does.
#[derive(Default)]
struct Slot {
    buf: Vec<u8>,
    ts: u64,
    ptr: u64,
    stacks: u64,
}

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

impl Slot {
    fn ts(&mut self, ts: u64) {
        uv(&mut self.buf, ts - self.ts);
        self.ts = ts;
    }
    fn ptr(&mut self, p: u64) {
        iv(&mut self.buf, p.wrapping_sub(self.ptr) as i64);
        self.ptr = p;
    }
    fn stack(&mut self, frames: &[u64]) -> u64 {
        self.buf.push(REC_STACK);
        uv(&mut self.buf, self.stacks);
        uv(&mut self.buf, frames.len() as u64);
        let mut prev = 0i64;
        for &f in frames {
            iv(&mut self.buf, (f as i64).wrapping_sub(prev));
            prev = f as i64;
        }
        self.stacks += 1;
        self.stacks - 1
    }
    fn alloc(&mut self, ts: u64, ptr: u64, size: u64, stack: u64) {
        self.buf.push(REC_ALLOC);
        self.ts(ts);
        uv(&mut self.buf, size);
        self.ptr(ptr);
        uv(&mut self.buf, stack);
    }
    fn free(&mut self, ts: u64, ptr: u64) {
        self.buf.push(REC_FREE);
        self.ts(ts);
        self.ptr(ptr);
    }
    fn end(&mut self, ts: u64) {
        self.buf.push(REC_END);
        self.ts(ts);
    }
}

fn header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&42u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&1u64.to_le_bytes());
    h
}

fn chunk(out: &mut Vec<u8>, slot: u32, payload: &[u8]) {
    let packed = zstd::bulk::compress(payload, 1).unwrap();
    out.extend_from_slice(&slot.to_le_bytes());
    out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&packed);
}

/// Two threads; the address 0x1000 is allocated by thread 0, freed by
/// thread 1, then reused by thread 0 and leaked. Thread 1's chunk comes
/// first in the file: only the timestamps give the true order.
fn cross_thread_trace() -> Vec<u8> {
    let mut t0 = Slot::default();
    let mut t1 = Slot::default();
    let s0 = t0.stack(&[0x401000, 0x402000]);
    t0.alloc(100, 0x1000, 64, s0);
    t1.free(200, 0x1000);
    t0.alloc(300, 0x1000, 80, s0);
    t0.alloc(400, 0x2000, 16, s0);
    t1.free(500, 0x2000);
    t0.end(600);
    let mut file = header();
    chunk(&mut file, 1, &t1.buf);
    chunk(&mut file, 0, &t0.buf);
    file
}

#[test]
fn cross_thread_frees_are_ordered_by_time_not_file_position() {
    let file = cross_thread_trace();
    let trace = Trace::open(&file).unwrap();
    assert_eq!(trace.truncated_at, None);
    let a = analyze(&trace).unwrap();
    assert!(a.exited);
    assert_eq!(a.allocations, 3);
    assert_eq!(a.frees, 2);
    assert_eq!(a.unmatched_frees, 0);
    assert_eq!(a.stacks[0].live_bytes, 80);
    assert_eq!(a.stacks[0].live_blocks, 1);
    assert_eq!(a.peak_bytes, 96);
}

#[test]
fn truncated_last_chunk_is_reported_not_fatal() {
    let file = cross_thread_trace();
    for cut in (file.len() - 20)..file.len() {
        let trace = Trace::open(&file[..cut]).unwrap();
        assert!(trace.truncated_at.is_some(), "cut at {cut}");
        analyze(&trace).unwrap();
    }
}

#[test]
fn header_errors_are_typed() {
    assert_eq!(
        Trace::open(b"").unwrap_err(),
        TraceError::TooShort { len: 0 }
    );
    assert_eq!(
        Trace::open(b"LWTR").unwrap_err(),
        TraceError::TooShort { len: 4 }
    );
    assert_eq!(
        Trace::open(b"hello world, this is not a trace at all").unwrap_err(),
        TraceError::NotATrace
    );
    let mut h = header();
    h[8] = 9;
    assert_eq!(
        Trace::open(&h).unwrap_err(),
        TraceError::Version { found: 9 }
    );
}

#[test]
fn damaged_record_names_its_offset() {
    let mut t0 = Slot::default();
    let s0 = t0.stack(&[0x401000]);
    t0.alloc(100, 0x1000, 64, s0);
    let good = t0.buf.len();
    t0.buf.push(0x7f); // an impossible record type
    let mut file = header();
    chunk(&mut file, 0, &t0.buf[..good]);
    let second = file.len();
    chunk(&mut file, 0, &t0.buf[good..]);
    let trace = Trace::open(&file).unwrap();
    let err = analyze(&trace).unwrap_err();
    assert_eq!(
        err,
        TraceError::CorruptRecord {
            chunk: second as u64,
            offset: 0,
            what: "unknown record type"
        }
    );
    assert!(err.to_string().contains(&format!("byte offset {second}")));
}

#[test]
fn undecodable_chunk_is_corrupt() {
    let mut file = header();
    let payload = [REC_END, 5];
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&payload); // raw bytes, not a zstd frame
    assert_eq!(
        Trace::open(&file).unwrap_err(),
        TraceError::Corrupt {
            offset: 52,
            what: "chunk does not decompress to its stated size"
        }
    );
}

/// A steady leak among churn, sampled densely: the leaking stack is the
/// only growing site.
#[test]
fn growing_site_found_among_churn() {
    let mut t = Slot::default();
    let leak = t.stack(&[0x500000]);
    let churn = t.stack(&[0x600000]);
    let mut next_ptr = 0x10_0000u64;
    let mut live_churn: Vec<u64> = Vec::new();
    let mut ts = 0u64;
    for i in 0..20_000u64 {
        ts += 1_000_000; // 1 ms apart: a 20 s trace
        let p = next_ptr;
        next_ptr += 0x100;
        t.alloc(ts, p, 100 + (i * 37) % 400, churn);
        live_churn.push(p);
        if live_churn.len() > 50 {
            let old = live_churn.remove((i as usize * 7) % 50);
            t.free(ts + 1, old);
        }
        if i % 10 == 0 {
            t.alloc(ts + 2, next_ptr, 64, leak);
            next_ptr += 0x100;
        }
    }
    let mut file = header();
    chunk(&mut file, 0, &t.buf);
    let trace = Trace::open(&file).unwrap();
    let a = analyze(&trace).unwrap();
    assert!(!a.exited);
    let growing: Vec<u32> = a.growing.iter().map(|g| g.stack).collect();
    assert_eq!(growing, vec![0], "only the leaking stack grows");
    assert_eq!(a.stacks[0].live_bytes, 2000 * 64);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut file = header();
        file.extend_from_slice(&body);
        if let Ok(trace) = Trace::open(&file) {
            let _ = analyze(&trace);
        }
        let _ = Trace::open(&body);
    }

    #[test]
    fn mutated_valid_traces_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut file = cross_thread_trace();
        for (at, b) in edits {
            let i = at % file.len();
            file[i] = b;
        }
        let cut = cut % (file.len() + 1);
        if let Ok(trace) = Trace::open(&file[..cut]) {
            let _ = analyze(&trace);
        }
    }
}
