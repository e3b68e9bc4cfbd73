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
