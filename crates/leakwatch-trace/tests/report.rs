//! The report's judgement on crafted traces (module paths that do not exist:
//! classification goes by path, symbolization falls back to offsets):
//! runtime residue, finalisation, suppressions by module, verdicts.

use leakwatch_trace::format::*;
use leakwatch_trace::synth::{Records, TraceWriter};
use leakwatch_trace::{
    analyze, build_report, Report, ReportOptions, Suppressions, Symbolizer, TraceReader,
};

const APP: u64 = 0x40_0000;
const PY: u64 = 0x7f00_0000_0000;
const LIBC: u64 = 0x7f20_0000_0000;

fn modules(r: &mut Records) {
    r.module(APP, &[(0, 0x10_0000, 5)], b"/nonexistent/bin/app");
    r.module(
        PY,
        &[(0, 0x10_0000, 5)],
        b"/nonexistent/lib/libpython3.12.so.1.0",
    );
    r.module(LIBC, &[(0, 0x10_0000, 5)], b"/nonexistent/lib/libc.so.6");
}

fn report_of(records: Vec<u8>, supp: Suppressions) -> Report {
    let mut w = TraceWriter::new(VERSION, 1);
    w.chunk(&records);
    let a = analyze(TraceReader::open(&w.out[..]).unwrap()).unwrap();
    let mut sym = Symbolizer::new();
    build_report(
        &a,
        &mut sym,
        &ReportOptions {
            top: 10,
            full_stacks: false,
            suppressions: supp,
        },
    )
}

#[test]
fn runtime_only_stacks_are_residue_and_program_frames_are_not() {
    let mut r = Records::default();
    modules(&mut r);
    // Interned strings: libpython alone (libc on top is the system's).
    let interned = r.stack(&[LIBC + 0x100, PY + 0x1000, PY + 0x2000]);
    // An extension or ctypes: one frame outside the runtime makes it yours.
    let ext = r.stack(&[APP + 0x1000, PY + 0x2000]);
    // libc alone (the C runtime's own start-up).
    let crt = r.stack(&[LIBC + 0x200, LIBC + 0x300]);
    // An address in no module: unknown code is never residue.
    let jit = r.stack(&[0x1234_5678, PY + 0x2000]);
    for (s, size) in [(interned, 100), (ext, 200), (crt, 300), (jit, 400)] {
        let c = r.class(s, size);
        r.alloc(c);
    }
    r.end();
    let rep = report_of(r.take(), Suppressions::default());
    assert!(rep.complete);
    let leaked = rep.leaked.as_ref().unwrap();
    assert_eq!((leaked.bytes, leaked.blocks), (600, 2));
    let residue = rep.runtime_residue.as_ref().unwrap();
    assert_eq!((residue.bytes, residue.blocks), (400, 2));
    assert_eq!(rep.runtimes, ["the C/C++ runtime", "python"]);
    assert_eq!(rep.verdict, "leak");
}

#[test]
fn residue_needs_a_complete_trace() {
    let mut r = Records::default();
    modules(&mut r);
    let interned = r.stack(&[PY + 0x1000]);
    let c = r.class(interned, 100);
    r.alloc(c);
    // No END: killed. What is live is not judged, residue or not.
    let rep = report_of(r.take(), Suppressions::default());
    assert!(!rep.complete);
    assert!(rep.runtime_residue.is_none());
    assert_eq!(rep.live_at_end.as_ref().unwrap().bytes, 100);
    assert_eq!(rep.exit_code, 2);
    assert_eq!(rep.verdict, "incomplete");
}

/// With PHASE 2, what a program stack allocated during the runtime's
/// finalisation beyond what it held when finalisation began is residue.
#[test]
fn blocks_allocated_during_finalisation_are_residue() {
    let mut r = Records::default();
    modules(&mut r);
    let s = r.stack(&[APP + 0x1000]);
    let c = r.class(s, 50);
    r.alloc(c); // before: counted
    r.alloc(c);
    r.time(TICK_NS);
    r.phase(PHASE_RUNTIME_FINALIZE);
    r.free(c); // one of the two freed during finalisation
    r.alloc(c); // three allocated during it, still live
    r.alloc(c);
    r.alloc(c);
    r.end();
    let rep = report_of(r.take(), Suppressions::default());
    // Live at exit: 4 blocks; held at finalisation: 2; so at least 2 were
    // allocated during it.
    let leaked = rep.leaked.as_ref().unwrap();
    assert_eq!((leaked.bytes, leaked.blocks), (100, 2));
    let residue = rep.runtime_residue.as_ref().unwrap();
    assert_eq!((residue.bytes, residue.blocks), (100, 2));
}

#[test]
fn suppression_by_module_path_is_counted_per_rule() {
    let mut r = Records::default();
    modules(&mut r);
    r.lsan_suppressions("leak:^/nonexistent/bin/*$\n");
    let s = r.stack(&[APP + 0x1000, LIBC + 0x100]);
    let c = r.class(s, 77);
    r.alloc(c);
    r.alloc(c);
    r.end();
    let mut supp = Suppressions::default();
    supp.parse("leak:never_matches\n", "file.supp").unwrap();
    let rep = report_of(r.take(), supp);
    assert_eq!(rep.verdict, "no_leak");
    assert_eq!(rep.exit_code, 0);
    assert_eq!(rep.suppressed.len(), 1);
    let rule = &rep.suppressed[0];
    assert_eq!(rule.pattern, "^/nonexistent/bin/*$");
    assert_eq!(rule.source, "embedded");
    assert_eq!((rule.stacks, rule.blocks, rule.bytes), (1, 2, 154));
}

#[test]
fn no_data_is_not_no_leak() {
    let w = TraceWriter::new(VERSION, 1);
    let a = analyze(TraceReader::open(&w.out[..]).unwrap()).unwrap();
    let rep = build_report(&a, &mut Symbolizer::new(), &ReportOptions::default());
    assert_eq!(rep.exit_code, 2);
    assert!(
        rep.incomplete[0].contains("no data"),
        "{:?}",
        rep.incomplete
    );
    // An exited program that allocated nothing was judged: no leak.
    let mut r = Records::default();
    r.end();
    let rep = report_of(r.take(), Suppressions::default());
    assert_eq!(rep.exit_code, 0);
}

/// A report and the flamegraph drawn from it, of a crafted trace.
fn report_and_flamegraph(
    w: &mut TraceWriter,
    records: Vec<u8>,
    supp: Suppressions,
) -> (Report, String) {
    w.chunk(&records);
    let a = analyze(TraceReader::open(&w.out[..]).unwrap()).unwrap();
    let mut sym = Symbolizer::new();
    let rep = build_report(
        &a,
        &mut sym,
        &ReportOptions {
            top: 10,
            full_stacks: false,
            suppressions: supp,
        },
    );
    let mut svg = Vec::new();
    leakwatch_trace::export::flamegraph(&a, &rep, &mut sym, false, &mut svg).unwrap();
    (rep, String::from_utf8(svg).unwrap())
}

/// The flamegraph ("bytes leaked at exit") draws what the verdict counts:
/// neither the runtime's residue nor suppressed stacks, which its subtitle
/// names instead (hunt 4, case 07: a clean Python script drew 72 KiB of
/// residue as "leaked"; a suppressed stack stayed in the picture).
#[test]
fn the_flamegraph_draws_only_what_the_verdict_counts() {
    let mut r = Records::default();
    modules(&mut r);
    let residue = r.stack(&[PY + 0x1000, PY + 0x2000]);
    let suppressed = r.stack(&[LIBC + 0x100, APP + 0x3000]);
    let leaked = r.stack(&[APP + 0x1000, PY + 0x2000]);
    for (s, size) in [(residue, 7000), (suppressed, 300), (leaked, 200)] {
        let c = r.class(s, size);
        r.alloc(c);
    }
    r.end();
    let mut supp = Suppressions::default();
    supp.parse("leak:0x3000\n", "s.supp").unwrap();
    let (rep, svg) = report_and_flamegraph(&mut TraceWriter::new(VERSION, 1), r.take(), supp);
    assert_eq!(rep.leaked.as_ref().unwrap().bytes, 200);
    assert_eq!(rep.suppressed[0].bytes, 300, "{:?}", rep.suppressed);
    assert!(
        svg.contains("<title>all (200 bytes, 100%)</title>"),
        "{svg}"
    );
    assert!(
        svg.contains(
            "not counted, not shown: 6.8 KiB of runtime residue (python), 300 B suppressed"
        ),
        "{svg}"
    );

    // Residue alone: nothing counted, nothing drawn as leaked.
    let mut r = Records::default();
    modules(&mut r);
    let residue = r.stack(&[PY + 0x1000, PY + 0x2000]);
    let c = r.class(residue, 7000);
    r.alloc(c);
    r.end();
    let (rep, svg) = report_and_flamegraph(
        &mut TraceWriter::new(VERSION, 1),
        r.take(),
        Suppressions::default(),
    );
    assert_eq!(rep.verdict, "no_leak");
    assert!(!svg.contains("7000 bytes"), "{svg}");
    assert!(svg.contains("bytes leaked at exit (none)"), "{svg}");
    assert!(svg.contains("6.8 KiB of runtime residue (python)"), "{svg}");
}

/// Everything left at exit suppressed: the verdict says bytes were left
/// and by which rules they were kept out, not that every allocation was
/// freed (hunt 4, case 18d).
#[test]
fn a_fully_suppressed_leak_is_not_called_freed() {
    let mut r = Records::default();
    modules(&mut r);
    let s = r.stack(&[APP + 0x1000]);
    let c = r.class(s, 500);
    r.alloc(c);
    r.end();
    let mut supp = Suppressions::default();
    supp.parse("leak:/nonexistent/bin/app\n", "all.supp")
        .unwrap();
    let rep = report_of(r.take(), supp);
    assert_eq!((rep.verdict.as_str(), rep.exit_code), ("no_leak", 0));
    let line = leakwatch_trace::report::verdict_line(&rep);
    assert_eq!(
        line,
        "no leak counted: 500 B still allocated at exit, all of it suppressed by leak:/nonexistent/bin/app (all.supp)"
    );
}

/// A sampled trace with no leaked block in the sample says what a sample
/// can say, and its block counts are labelled as sampled, beside bytes
/// scaled up to estimates (hunt 4, case 05).
#[test]
fn sampled_traces_say_what_the_sample_can_show() {
    let every = 512 * 1024;
    let mut r = Records::default();
    modules(&mut r);
    let s = r.stack(&[APP + 0x1000]);
    let c = r.class(s, 1000);
    r.alloc(c);
    r.free(c);
    r.unmatched(5000);
    r.end();
    let (rep, _) = report_and_flamegraph(
        &mut TraceWriter::with_sampling(VERSION, 1, every),
        r.take(),
        Suppressions::default(),
    );
    assert_eq!((rep.verdict.as_str(), rep.exit_code), ("no_leak", 0));
    let line = leakwatch_trace::report::verdict_line(&rep);
    assert!(
        line.starts_with("no leak in the sample: no sampled block was still allocated at exit (one allocation recorded per ~512.0 KiB allocated: a leak smaller than that can be missed)"),
        "{line}"
    );
    assert!(!line.contains("every allocation"), "{line}");
    let text = leakwatch_trace::render_text(&rep, "t.lwt", false);
    assert!(!text.contains("every allocation"), "{text}");

    let mut r = Records::default();
    modules(&mut r);
    let s = r.stack(&[APP + 0x1000]);
    let c = r.class(s, 1000);
    for _ in 0..3 {
        r.alloc(c);
    }
    r.end();
    let (rep, _) = report_and_flamegraph(
        &mut TraceWriter::with_sampling(VERSION, 1, every),
        r.take(),
        Suppressions::default(),
    );
    let g = rep.leaked.as_ref().unwrap();
    assert_eq!(g.blocks, 3);
    assert!(g.bytes > 3000 * 100, "scaled up: {}", g.bytes);
    let line = leakwatch_trace::report::verdict_line(&rep);
    assert!(
        line.starts_with(&format!(
            "LEAK: {} bytes (estimated) in 3 sampled blocks still allocated at exit",
            g.bytes
        )),
        "{line}"
    );
    let text = leakwatch_trace::render_text(&rep, "t.lwt", false);
    assert!(text.contains("in 3 sampled blocks"), "{text}");
}
