//! The reader and the replay on hand-built traces: exact accounting, one
//! zstd stream across chunks, growing-site detection, and no panic on any
//! damaged input.

use leakwatch_trace::format::*;
use leakwatch_trace::{analyze, Trace, TraceError};
use proptest::prelude::*;
use zstd::zstd_safe::{zstd_sys::ZSTD_EndDirective, CCtx, InBuffer, OutBuffer};

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

/// Encodes records the way the preload library's writer does.
#[derive(Default)]
struct Recs {
    buf: Vec<u8>,
    stacks: u32,
    classes: u32,
}

impl Recs {
    fn stack(&mut self, frames: &[u64]) -> u32 {
        self.buf.push(REC_STACK);
        uv(&mut self.buf, frames.len() as u64);
        let mut prev = 0i64;
        for &f in frames {
            iv(&mut self.buf, (f as i64).wrapping_sub(prev));
            prev = f as i64;
        }
        self.stacks += 1;
        self.stacks - 1
    }
    fn class(&mut self, stack: u32, size: u64) -> u32 {
        self.buf.push(REC_CLASS);
        uv(&mut self.buf, stack as u64);
        uv(&mut self.buf, size);
        self.classes += 1;
        self.classes - 1
    }
    fn alloc(&mut self, class: u32) {
        self.buf.push(REC_ALLOC);
        uv(&mut self.buf, class as u64);
    }
    fn free(&mut self, class: u32) {
        self.buf.push(REC_FREE);
        uv(&mut self.buf, class as u64);
    }
    fn time(&mut self, dts: u64) {
        self.buf.push(REC_TIME);
        uv(&mut self.buf, dts);
    }
    fn unmatched(&mut self, n: u64) {
        self.buf.push(REC_UNMATCHED);
        uv(&mut self.buf, n);
    }
    fn peak(&mut self) {
        self.buf.push(REC_PEAK);
    }
    fn end(&mut self) {
        self.buf.push(REC_END);
    }
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
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

/// A trace file: the header, then chunks of one zstd stream, each flushed.
struct File {
    out: Vec<u8>,
    cctx: CCtx<'static>,
    seq: u32,
}

impl File {
    fn new() -> File {
        File {
            out: header(),
            cctx: CCtx::create(),
            seq: 0,
        }
    }
    fn chunk(&mut self, raw: &[u8]) -> usize {
        let mut packed: Vec<u8> =
            Vec::with_capacity(zstd::zstd_safe::compress_bound(raw.len()) + 64);
        let mut input = InBuffer::around(raw);
        let mut output = OutBuffer::around(&mut packed);
        loop {
            let left = self
                .cctx
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .unwrap();
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
}

/// Two chunks of one stream: definitions in the first, uses in the second
/// (so the second only decodes as a continuation of the first).
fn small_trace() -> Vec<u8> {
    let mut r = Recs::default();
    let mut f = File::new();
    let s0 = r.stack(&[0x401000, 0x402000]);
    let c64 = r.class(s0, 64);
    let c80 = r.class(s0, 80);
    let c16 = r.class(s0, 16);
    r.alloc(c64);
    r.unmatched(2);
    f.chunk(&r.take());
    r.time(15_000_000);
    r.free(c64);
    r.alloc(c80);
    r.alloc(c16);
    r.free(c16);
    r.time(7_000_000);
    r.end();
    f.chunk(&r.take());
    f.out
}

#[test]
fn classes_account_exactly_across_chunks() {
    let file = small_trace();
    let trace = Trace::open(&file).unwrap();
    assert_eq!(trace.truncated_at, None);
    assert_eq!(trace.chunk_count, 2);
    let a = analyze(&trace).unwrap();
    assert!(a.exited);
    assert_eq!(a.allocations, 3);
    assert_eq!(a.frees, 2);
    assert_eq!(a.unmatched_frees, 2);
    assert_eq!(a.stacks[0].live_bytes, 80);
    assert_eq!(a.stacks[0].live_blocks, 1);
    assert_eq!(a.stacks[0].bytes, 160);
    assert_eq!(a.peak_bytes, 96);
    assert_eq!(a.peak_ns, 15_000_000);
    assert_eq!(a.duration_ns, 22_000_000);
    assert_eq!(a.tables.classes, vec![(0, 64), (0, 80), (0, 16)]);
}

/// Two threads' short-lived 100-byte blocks, grouped per thread in one
/// tick: in record order both look live at once, but the writer's PEAK mark
/// says only one ever was.
#[test]
fn peak_mark_is_exact_where_grouping_blurs() {
    let mut r = Recs::default();
    let mut f = File::new();
    let s0 = r.stack(&[0x401000]);
    let s1 = r.stack(&[0x402000]);
    let c0 = r.class(s0, 100);
    let c1 = r.class(s1, 100);
    // Thread 0 allocated at the tick's end, thread 1 allocated and freed
    // before that; the first allocation was the peak.
    r.alloc(c1);
    r.peak();
    r.free(c1);
    r.alloc(c0);
    f.chunk(&r.take());
    let trace = Trace::open(&f.out).unwrap();
    let a = analyze(&trace).unwrap();
    assert_eq!(a.peak_bytes, 100);
    assert_eq!(a.peak_holders, vec![(1, 100, 1)]);
    assert_eq!(a.stacks[0].live_bytes, 100);
}

#[test]
fn truncated_last_chunk_is_reported_not_fatal() {
    let file = small_trace();
    for cut in (file.len() - 20)..file.len() {
        let trace = Trace::open(&file[..cut]).unwrap();
        assert!(trace.truncated_at.is_some(), "cut at {cut}");
        let a = analyze(&trace).unwrap();
        assert_eq!(a.allocations, 1, "the first chunk is read");
        assert!(!a.exited);
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
    h[8] = 2;
    let err = Trace::open(&h).unwrap_err();
    assert_eq!(err, TraceError::Version { found: 2 });
    let msg = err.to_string();
    assert!(
        msg.contains("version 2") && msg.contains("re-record it with this leakwatch"),
        "{msg}"
    );
}

#[test]
fn damaged_record_names_its_offset() {
    let mut r = Recs::default();
    let mut f = File::new();
    let s0 = r.stack(&[0x401000]);
    let c = r.class(s0, 64);
    r.alloc(c);
    f.chunk(&r.take());
    r.alloc(c);
    r.buf.push(0x7f); // an impossible record type
    let second = f.chunk(&r.take());
    let trace = Trace::open(&f.out).unwrap();
    let err = analyze(&trace).unwrap_err();
    assert_eq!(
        err,
        TraceError::CorruptRecord {
            chunk: second as u64,
            offset: 2,
            what: "unknown record type"
        }
    );
    assert!(err.to_string().contains(&format!("byte offset {second}")));
}

#[test]
fn undefined_class_is_corrupt() {
    let mut r = Recs::default();
    let mut f = File::new();
    r.stack(&[0x401000]);
    r.alloc(0);
    f.chunk(&r.take());
    let trace = Trace::open(&f.out).unwrap();
    assert_eq!(
        analyze(&trace).unwrap_err(),
        TraceError::CorruptRecord {
            chunk: HEADER_LEN as u64,
            offset: 6,
            what: "allocation names a class never defined"
        }
    );
}

#[test]
fn undecodable_chunk_is_corrupt() {
    let mut file = header();
    let payload = [REC_END, 5];
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&payload); // raw bytes, not a zstd frame
    let trace = Trace::open(&file).unwrap();
    assert_eq!(
        analyze(&trace).unwrap_err(),
        TraceError::Corrupt {
            offset: 52,
            what: "chunk does not decompress to its stated size"
        }
    );
}

#[test]
fn wrong_raw_length_is_corrupt() {
    let mut file = small_trace();
    // The first chunk's raw_len, one too many.
    let at = HEADER_LEN + 8;
    let raw = u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
    file[at..at + 4].copy_from_slice(&(raw + 1).to_le_bytes());
    let trace = Trace::open(&file).unwrap();
    assert!(matches!(
        analyze(&trace).unwrap_err(),
        TraceError::Corrupt { offset: 52, .. }
    ));
}

#[test]
fn chunk_out_of_sequence_is_corrupt() {
    let mut file = small_trace();
    file[HEADER_LEN] = 7;
    assert_eq!(
        Trace::open(&file).unwrap_err(),
        TraceError::Corrupt {
            offset: HEADER_LEN as u64,
            what: "chunk out of sequence (damaged chunk header)"
        }
    );
}

/// A steady leak among churn, 1 ms apart (a TIME record per 10 ms tick):
/// the leaking stack is the only growing site.
#[test]
fn growing_site_found_among_churn() {
    let mut r = Recs::default();
    let mut f = File::new();
    let leak = r.stack(&[0x500000]);
    let churn = r.stack(&[0x600000]);
    let leak_class = r.class(leak, 64);
    let churn_classes: Vec<u32> = (0..20).map(|k| r.class(churn, 100 + k * 20)).collect();
    let mut live_churn: Vec<u32> = Vec::new();
    for i in 0..20_000u64 {
        if i % 10 == 0 && i > 0 {
            r.time(10_000_000);
        }
        let c = churn_classes[(i as usize * 7) % 20];
        r.alloc(c);
        live_churn.push(c);
        if live_churn.len() > 50 {
            let old = live_churn.remove((i as usize * 7) % 50);
            r.free(old);
        }
        if i % 10 == 0 {
            r.alloc(leak_class);
        }
        if i % 1000 == 999 {
            f.chunk(&r.take());
        }
    }
    let trace = Trace::open(&f.out).unwrap();
    assert_eq!(trace.chunk_count, 20);
    let a = analyze(&trace).unwrap();
    assert!(!a.exited);
    let growing: Vec<u32> = a.growing.iter().map(|g| g.stack).collect();
    assert_eq!(growing, vec![0], "only the leaking stack grows");
    assert_eq!(a.stacks[0].live_bytes, 2000 * 64);
    assert_eq!(a.stacks[1].live_blocks, 50);
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
    fn arbitrary_records_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut f = File::new();
        f.chunk(&body);
        if let Ok(trace) = Trace::open(&f.out) {
            let _ = analyze(&trace);
        }
    }

    #[test]
    fn mutated_valid_traces_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut file = small_trace();
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
