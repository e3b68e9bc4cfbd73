//! The reader and the replay on hand-built traces: exact accounting, one
//! zstd stream across chunks, growing-site detection, version 4 and 5 records,
//! bounded tables, and no panic on any damaged input.

use leakwatch_trace::format::*;
use leakwatch_trace::synth::{Records, TraceWriter};
use leakwatch_trace::{analyze, Analysis, Limits, TraceError, TraceReader};
use proptest::prelude::*;

fn header() -> Vec<u8> {
    TraceWriter::new(VERSION, 42).out
}

fn writer() -> TraceWriter {
    TraceWriter::new(VERSION, 42)
}

fn read(file: &[u8]) -> Result<Analysis, TraceError> {
    analyze(TraceReader::open(file)?)
}

/// Two chunks of one stream: definitions in the first, uses in the second
/// (so the second only decodes as a continuation of the first).
fn small_trace() -> Vec<u8> {
    let mut r = Records::default();
    let mut f = writer();
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
    let a = read(&file).unwrap();
    assert_eq!(a.truncated_at, None);
    assert_eq!(a.chunks, 2);
    assert!(a.exited && a.complete());
    assert_eq!(a.allocations, 3);
    assert_eq!(a.frees, 2);
    assert_eq!(a.unmatched_frees, 2);
    let s = a.stack_stats(0);
    assert_eq!((s.live_bytes, s.live_blocks, s.bytes), (80, 1, 160));
    assert_eq!(a.peak_bytes, 96);
    assert_eq!(a.peak_ns, 15_000_000);
    assert_eq!(a.duration_ns, 22_000_000);
    let sizes: Vec<u64> = a.tables.classes.iter().map(|c| c.size).collect();
    let stacks: Vec<u32> = a.tables.classes.iter().map(|c| c.stack).collect();
    assert_eq!(sizes, vec![64, 80, 16]);
    assert_eq!(stacks, vec![0, 0, 0]);
    assert_eq!(
        a.tables.stacks.frames(0).collect::<Vec<_>>(),
        [0x401000, 0x402000]
    );
    assert_eq!(a.live_at_end(), vec![(0, 80, 1)]);
}

#[test]
fn version_3_traces_are_still_read() {
    let mut f = TraceWriter::new(3, 7);
    let mut r = Records::default();
    let s = r.stack(&[0x1000]);
    let c = r.class(s, 10);
    r.alloc(c);
    r.end();
    f.chunk(&r.take());
    let a = read(&f.out).unwrap();
    assert_eq!(a.version, 3);
    assert_eq!(a.live_at_end(), vec![(0, 10, 1)]);
}

/// Two threads' short-lived 100-byte blocks, grouped per thread in one
/// tick: in record order both look live at once, but the writer's PEAK mark
/// says only one ever was.
#[test]
fn peak_mark_is_exact_where_grouping_blurs() {
    let mut r = Records::default();
    let mut f = writer();
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
    let a = read(&f.out).unwrap();
    assert_eq!(a.peak_bytes, 100);
    assert_eq!(a.peak_holders(), vec![(1, 100, 1)]);
    assert_eq!(a.stack_stats(0).live_bytes, 100);
}

/// The peak snapshot is kept by copying only the stacks changed since the
/// last peak: a later, lower moment must not leak into it.
#[test]
fn peak_snapshot_is_the_state_at_the_last_mark() {
    let mut r = Records::default();
    let mut f = writer();
    let a_s = r.stack(&[0x1]);
    let b_s = r.stack(&[0x2]);
    let a = r.class(a_s, 10);
    let b = r.class(b_s, 1000);
    for _ in 0..5 {
        r.alloc(a);
    }
    r.alloc(b);
    r.peak(); // 1050: five a's and the b
    r.free(b);
    for _ in 0..5 {
        r.alloc(a);
    }
    r.time(TICK_NS);
    r.alloc(b);
    r.alloc(b);
    r.peak(); // 2100: ten a's and two b's
    r.free(b);
    r.free(b);
    r.free(a);
    f.chunk(&r.take());
    let an = read(&f.out).unwrap();
    assert_eq!(an.peak_bytes, 2100);
    assert_eq!(an.peak_ns, TICK_NS);
    assert_eq!(an.peak_holders(), vec![(1, 2000, 2), (0, 100, 10)]);
    // Without marks (an older writer), the running maximum is used.
    let mut r = Records::default();
    let mut f = writer();
    let s = r.stack(&[0x1]);
    let c = r.class(s, 10);
    r.alloc(c);
    r.alloc(c);
    r.free(c);
    f.chunk(&r.take());
    let an = read(&f.out).unwrap();
    assert_eq!(an.peak_bytes, 20);
    assert_eq!(an.peak_holders(), vec![(0, 20, 2)]);
}

#[test]
fn truncated_last_chunk_is_reported_not_fatal() {
    let file = small_trace();
    for cut in (file.len() - 20)..file.len() {
        let a = read(&file[..cut]).unwrap();
        assert!(a.truncated_at.is_some(), "cut at {cut}");
        assert_eq!(a.allocations, 1, "the first chunk is read");
        assert!(!a.exited);
        assert!(!a.complete());
    }
    // Cut right after the header: no data at all.
    let a = read(&file[..HEADER_LEN]).unwrap();
    assert_eq!(a.chunks, 0);
    assert!(!a.complete());
}

#[test]
fn header_errors_are_typed() {
    let open = |b: &[u8]| TraceReader::open(b).map(|_| ());
    assert_eq!(open(b"").unwrap_err(), TraceError::TooShort { len: 0 });
    assert_eq!(open(b"LWTR").unwrap_err(), TraceError::TooShort { len: 4 });
    assert_eq!(
        open(b"hello world, this is not a trace at all").unwrap_err(),
        TraceError::NotATrace
    );
    let mut h = header();
    h[8] = 9;
    assert_eq!(open(&h).unwrap_err(), TraceError::Version { found: 9 });
    h[8] = 2;
    let err = open(&h).unwrap_err();
    assert_eq!(err, TraceError::Version { found: 2 });
    let msg = err.to_string();
    assert!(
        msg.contains("version 2") && msg.contains("re-record it with this leakwatch"),
        "{msg}"
    );
    assert_eq!(
        open(&header()[..20]).unwrap_err(),
        TraceError::TooShort { len: 20 }
    );
}

#[test]
fn damaged_record_names_its_offset() {
    let mut r = Records::default();
    let mut f = writer();
    let s0 = r.stack(&[0x401000]);
    let c = r.class(s0, 64);
    r.alloc(c);
    f.chunk(&r.take());
    r.alloc(c);
    r.buf.push(0x7f); // an impossible record type
    let second = f.chunk(&r.take());
    let err = read(&f.out).unwrap_err();
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
    let mut r = Records::default();
    let mut f = writer();
    r.stack(&[0x401000]);
    r.alloc(0);
    f.chunk(&r.take());
    assert_eq!(
        read(&f.out).unwrap_err(),
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
    assert_eq!(
        read(&file).unwrap_err(),
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
    assert!(matches!(
        read(&file).unwrap_err(),
        TraceError::Corrupt { offset: 52, .. }
    ));
}

#[test]
fn chunk_out_of_sequence_is_corrupt() {
    let mut file = small_trace();
    file[HEADER_LEN] = 7;
    assert_eq!(
        read(&file).unwrap_err(),
        TraceError::Corrupt {
            offset: HEADER_LEN as u64,
            what: "chunk out of sequence (damaged chunk header)"
        }
    );
}

/// Version 4's records: LOST freezes the growth series and makes the trace
/// incomplete, PHASE marks exit and finalisation, LSANSUPP carries text.
#[test]
fn version_4_records_are_read() {
    let mut r = Records::default();
    let mut f = writer();
    let s = r.stack(&[0x1000]);
    let c = r.class(s, 32);
    r.lsan_suppressions("leak:third_party\n");
    r.alloc(c);
    r.time(TICK_NS);
    r.alloc(c);
    r.phase(PHASE_EXIT);
    r.time(TICK_NS);
    r.phase(PHASE_RUNTIME_FINALIZE);
    r.alloc(c);
    r.lsan_suppressions("leak:more");
    r.lost(LOST_AT_END, 17);
    r.end();
    f.chunk(&r.take());
    let a = read(&f.out).unwrap();
    assert!(a.exited);
    assert!(!a.complete(), "a trace with LOST is incomplete");
    assert_eq!(a.loss_count, 1);
    assert_eq!(a.losses[0].reason, LOST_AT_END);
    assert_eq!(a.losses[0].detail, 17);
    assert!(a.losses[0].describe().contains("17 events"));
    assert_eq!(a.exit_started_ns, Some(TICK_NS));
    assert_eq!(a.runtime_finalize_ns, Some(2 * TICK_NS));
    assert_eq!(a.at_runtime_finalize(s), Some((64, 2)));
    assert_eq!(a.tables.lsan_suppressions, "leak:third_party\nleak:more");
}

/// A STACKREF stack is its own frames followed by its base's from `skip`
/// on; a base never defined, a skip past the base's end or a stack past
/// the longest accepted are errors naming the record.
#[test]
fn version_5_stack_references_share_callers() {
    let mut r = Records::default();
    let mut f = writer();
    let outer = r.stack(&[0x30, 0x20, 0x10]);
    let inner = r.stack_ref(&[0x50, 0x40], outer, 1);
    let same = r.stack_ref(&[], inner, 0);
    let only_base_tail = r.stack_ref(&[0x60], outer, 3);
    let c = r.class(inner, 8);
    r.alloc(c);
    r.end();
    f.chunk(&r.take());
    let a = read(&f.out).unwrap();
    let frames = |s: u32| a.tables.stacks.frames(s).collect::<Vec<_>>();
    assert_eq!(frames(outer), [0x30, 0x20, 0x10]);
    assert_eq!(frames(inner), [0x50, 0x40, 0x20, 0x10]);
    assert_eq!(frames(same), frames(inner));
    assert_eq!(frames(only_base_tail), [0x60]);
    // Each distinct address is interned once.
    assert_eq!(a.tables.stacks.addrs().len(), 6);

    let bad = |build: &dyn Fn(&mut Records)| {
        let mut r = Records::default();
        let mut f = writer();
        r.stack(&[0x10, 0x20]);
        build(&mut r);
        r.end();
        f.chunk(&r.take());
        match read(&f.out) {
            Err(TraceError::CorruptRecord { what, .. }) => what,
            other => panic!("expected a corrupt record, got {other:?}"),
        }
    };
    assert!(bad(&|r| {
        r.stack_ref(&[0x1], 1, 0);
    })
    .contains("never defined"));
    assert!(bad(&|r| {
        r.stack_ref(&[0x1], 0, 3);
    })
    .contains("skips more frames"));
    let long: Vec<u64> = (1..=4095).collect();
    assert!(bad(&|r| {
        r.stack_ref(&long, 0, 0);
    })
    .contains("longer"));
}

/// The caps on input-driven tables turn a tiny hostile file into an error,
/// not gigabytes: millions of empty stacks compress to a few kilobytes.
#[test]
fn table_caps_are_errors_naming_the_cap() {
    let mut r = Records::default();
    let mut f = writer();
    for _ in 0..2000 {
        r.stack(&[]);
    }
    f.chunk(&r.take());
    let limits = Limits {
        stacks: 1000,
        ..Limits::default()
    };
    let err = analyze(TraceReader::open(&f.out[..]).unwrap().with_limits(limits)).unwrap_err();
    assert!(
        matches!(
            err,
            TraceError::Limit {
                what: "call stacks",
                limit: 1000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("more than 1000"), "{err}");

    let mut r = Records::default();
    let mut f = writer();
    let s = r.stack(&[1]);
    for i in 0..50 {
        r.class(s, i);
    }
    f.chunk(&r.take());
    let limits = Limits {
        classes: 10,
        ..Limits::default()
    };
    let err = analyze(TraceReader::open(&f.out[..]).unwrap().with_limits(limits)).unwrap_err();
    assert!(matches!(
        err,
        TraceError::Limit {
            what: "allocation classes",
            ..
        }
    ));

    let mut r = Records::default();
    let mut f = writer();
    r.stack(&[1, 2, 3, 4, 5, 6]);
    f.chunk(&r.take());
    let limits = Limits {
        frames: 5,
        ..Limits::default()
    };
    let err = analyze(TraceReader::open(&f.out[..]).unwrap().with_limits(limits)).unwrap_err();
    assert!(matches!(
        err,
        TraceError::Limit {
            what: "frames in all call stacks",
            ..
        }
    ));
}

/// A steady leak among churn, 1 ms apart (a TIME record per 10 ms tick):
/// the leaking stack is the only growing site, judged among few candidates.
#[test]
fn growing_site_found_among_churn() {
    let mut r = Records::default();
    let mut f = writer();
    let leak = r.stack(&[0x500000]);
    let churn = r.stack(&[0x600000]);
    let cache = r.stack(&[0x700000]);
    let leak_class = r.class(leak, 64);
    let cache_class = r.class(cache, 256);
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
        // A cache that fills in the first tenth, then holds.
        if i < 2000 && i % 20 == 0 {
            r.alloc(cache_class);
        }
        if i % 1000 == 999 {
            f.chunk(&r.take());
        }
    }
    let a = read(&f.out).unwrap();
    assert_eq!(a.chunks, 20);
    assert!(!a.exited);
    let growing: Vec<u32> = a.growing.iter().map(|g| g.stack).collect();
    assert_eq!(growing, vec![0], "only the leaking stack grows");
    assert!(a.judged_stacks <= 2, "judged {}", a.judged_stacks);
    let g = &a.growing[0];
    assert!(g.assessment.rate_low_per_hour > 0.0);
    assert!(g.series.len() >= 32 && g.series.len() <= 64);
    assert_eq!(a.stack_stats(0).live_bytes, 2000 * 64);
    assert_eq!(a.stack_stats(1).live_blocks, 50);
}

/// Data lost midway: the series stop there, so the stack that only grew
/// afterwards (where frees may be missing) is not called growing.
#[test]
fn growth_after_a_loss_is_not_judged() {
    let mut r = Records::default();
    let mut f = writer();
    let s = r.stack(&[0x500000]);
    let c = r.class(s, 64);
    for i in 0..4000u64 {
        if i % 10 == 0 && i > 0 {
            r.time(10_000_000);
        }
        if i == 2000 {
            r.lost(LOST_OUT_OF_MEMORY, 0);
        }
        if i >= 2000 {
            r.alloc(c);
        }
    }
    f.chunk(&r.take());
    let a = read(&f.out).unwrap();
    assert!(a.growing.is_empty());
    assert_eq!(a.loss_count, 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut file = header();
        file.extend_from_slice(&body);
        let _ = read(&file);
        let _ = read(&body);
    }

    #[test]
    fn arbitrary_records_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut f = writer();
        f.chunk(&body);
        let _ = read(&f.out);
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
        let _ = read(&file[..cut]);
    }

    /// Stacks defined by reference read back as the frames they stand for,
    /// whatever base and skip they name.
    #[test]
    fn stack_references_equal_their_expansion(
        defs in proptest::collection::vec(
            (proptest::collection::vec(1u64..1 << 40, 0..6), any::<u32>(), any::<u32>()),
            1..40,
        ),
    ) {
        let mut r = Records::default();
        let mut f = writer();
        let mut want: Vec<Vec<u64>> = vec![vec![7, 8, 9]];
        r.stack(&want[0]);
        for (own, base, skip) in defs {
            let base = base % want.len() as u32;
            let skip = skip % (want[base as usize].len() as u32 + 1);
            let mut frames = own.clone();
            frames.extend_from_slice(&want[base as usize][skip as usize..]);
            if frames.len() > 4096 {
                continue;
            }
            r.stack_ref(&own, base, skip);
            want.push(frames);
        }
        r.end();
        f.chunk(&r.take());
        let a = read(&f.out).unwrap();
        for (s, frames) in want.iter().enumerate() {
            prop_assert_eq!(&a.tables.stacks.frames(s as u32).collect::<Vec<_>>(), frames);
        }
    }

    /// The one-pass series agree with a direct replay: the live bytes at
    /// the end and the allocation counts, whatever the interleaving.
    #[test]
    fn one_pass_totals_match_a_direct_count(
        ops in proptest::collection::vec((0u8..4, 0u32..3, 1u64..500), 1..400),
    ) {
        let mut r = Records::default();
        let mut f = writer();
        let stacks: Vec<u32> = (0..3u64).map(|k| r.stack(&[0x1000 + k])).collect();
        let mut live: Vec<Vec<u32>> = vec![Vec::new(); 3];
        let mut allocs = 0u64;
        for (op, s, size) in ops {
            let s = s as usize;
            match op {
                0 | 1 => {
                    let c = r.class(stacks[s], size);
                    r.alloc(c);
                    live[s].push(c);
                    allocs += 1;
                }
                2 => {
                    if let Some(c) = live[s].pop() {
                        r.free(c);
                    }
                }
                _ => r.time(size * 1_000_000),
            }
        }
        f.chunk(&r.take());
        let a = read(&f.out).unwrap();
        prop_assert_eq!(a.allocations, allocs);
        // Recomputed from the classes still live.
        let sizes = &a.tables.classes;
        for (s, classes) in live.iter().enumerate() {
            let want: u64 = classes.iter().map(|&c| sizes[c as usize].size).sum();
            prop_assert_eq!(a.stack_stats(s as u32).live_bytes, want);
        }
    }
}
