//! The leak report: what is counted (leaked at exit, growing sites), what is
//! set apart (runtime residue, suppressed), what was lost; symbolized only
//! where printed, serializable (JSON version [`JSON_VERSION`]) and rendered
//! as text.
//!
//! The verdict follows one rule: only data that was judged says "no leak".
//! A complete trace (the program exited, nothing lost, nothing cut) gives
//! LEAK when bytes not suppressed and not runtime residue were still
//! allocated at exit, else "no leak". An incomplete one gives LEAK when a
//! growing site was found in what was recorded, else INCOMPLETE (exit 2),
//! saying what is missing.

use std::collections::HashMap;
use std::fmt::Write as _;

use leakwatch_core::format;
use serde::Serialize;

use crate::analysis::{Analysis, Loss};
use crate::classify::{self, module_kind, ModuleKind};
use crate::suppress::{Rule, Suppressions};
use crate::symbolize::{Frame, Symbolizer};

/// Version of the JSON report's layout (`"version"`).
pub const JSON_VERSION: u32 = 1;
/// Call stacks listed per section.
pub const TOP_STACKS: usize = 20;
/// Frames shown per stack in the text report (all with `full_stacks`).
const TEXT_FRAMES: usize = 10;

/// Exit codes of the verdict.
pub const EXIT_NO_LEAK: u8 = 0;
pub const EXIT_LEAK: u8 = 1;
pub const EXIT_INCOMPLETE: u8 = 2;

/// How to build the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Call stacks listed per section.
    pub top: usize,
    /// Every frame, the allocator's and those below `main` included.
    pub full_stacks: bool,
    /// Suppressions from files and the environment (the trace's embedded
    /// ones are added by [`build`]).
    pub suppressions: Suppressions,
}

/// One call stack (or several that symbolize alike) with what it holds.
#[derive(Debug, Clone, Serialize)]
pub struct StackEntry {
    pub bytes: u64,
    pub blocks: u64,
    /// Recorded call stacks merged into this entry.
    pub stacks: u64,
    /// The first frame in the program's own code (not the allocator, the
    /// C/C++/Rust runtimes or their `std` internals).
    pub site: Option<Frame>,
    /// Innermost first, inlined frames included; without the allocator's
    /// entry frames and what lies below `main`, unless asked for in full.
    pub frames: Vec<Frame>,
}

/// Bytes and blocks by call stack, most bytes first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    pub bytes: u64,
    pub blocks: u64,
    /// Recorded call stacks holding them (all; the list shows the top ones).
    pub stack_count: u64,
    pub stacks: Vec<StackEntry>,
}

/// A call stack whose live bytes grow without bound.
#[derive(Debug, Clone, Serialize)]
pub struct GrowingSite {
    pub live_bytes: u64,
    pub rate_bytes_per_s: f64,
    /// 95 % confidence interval of the rate (its low end is above zero).
    pub rate_low_bytes_per_s: f64,
    pub rate_high_bytes_per_s: f64,
    pub reason: String,
    /// Live bytes over the trace, one point per `series_interval_s`.
    pub series_bytes: Vec<f64>,
    pub series_interval_s: f64,
    pub site: Option<Frame>,
    pub frames: Vec<Frame>,
    /// The suppression pattern that matched it, if any (then not counted).
    pub suppressed_by: Option<String>,
    /// Only the runtime's own code on the stack and the program exited:
    /// the runtime's residue, not counted.
    pub runtime_residue: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    pub bytes: u64,
    pub t_s: f64,
    pub holders: Group,
}

/// The trace file's facts.
#[derive(Debug, Clone, Serialize)]
pub struct TraceInfo {
    pub format_version: u32,
    pub pid: u32,
    pub ppid: u64,
    /// 0: every allocation recorded; else the mean bytes between samples.
    pub sample_every_bytes: u64,
    pub start_unix_ns: u64,
    pub chunks: u64,
    /// Byte offset of a partial last chunk that was ignored.
    pub truncated_at_byte: Option<u64>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub trace: TraceInfo,
    pub duration_s: f64,
    /// The program exited normally (otherwise it was killed, crashed, or
    /// exec'd, and "live at end" is not a leak by itself).
    pub exited: bool,
    /// Recorded by attaching to a running process (`trace --pid`): blocks
    /// allocated before the attach are unknown.
    pub attached: bool,
    /// ... and the tracer detached again, the process running on.
    pub detached: bool,
    /// Exited, nothing lost, nothing cut: the leaked-at-exit numbers are
    /// exact.
    pub complete: bool,
    pub allocations: u64,
    pub frees: u64,
    pub unmatched_frees: u64,
    pub bytes_allocated: u64,
    /// Still allocated at exit, neither suppressed nor runtime residue
    /// (complete traces only).
    pub leaked: Option<Group>,
    /// Still allocated when the trace ended, when it is not complete
    /// (not proven leaked: frees may be missing).
    pub live_at_end: Option<Group>,
    /// Still allocated at exit by a language runtime's own code (complete
    /// traces only): not counted.
    pub runtime_residue: Option<Group>,
    /// Whose residue it is (`python`, `the standard library`, ...).
    pub runtimes: Vec<String>,
    /// Suppression rules that matched, with what they suppressed.
    pub suppressed: Vec<Rule>,
    pub growing: Vec<GrowingSite>,
    /// Stacks the growth detector judged (the candidates).
    pub judged_stacks: u64,
    pub peak: Peak,
    /// What the trace says was lost (LOST records, first few).
    pub lost: Vec<Loss>,
    pub lost_records: u64,
    /// Why the verdict cannot say "no leak", when it cannot.
    pub incomplete: Vec<String>,
    /// The same in a few words (empty when complete).
    pub incomplete_summary: String,
    pub notes: Vec<String>,
    /// The stacks the verdict counts, as (stack, bytes, blocks), most bytes
    /// first: leaked at exit (complete traces) or live at the end, never
    /// runtime residue or suppressed. What the flamegraph draws.
    #[serde(skip)]
    pub counted_stacks: Vec<(u32, u64, u64)>,
    /// `leak`, `no_leak`, `no_growth` (attached: no growing site in the
    /// whole attached window), `growing` (a program that did not exit, or
    /// an attach, shorter than the detector's minimum: sites grew, too
    /// briefly to call) or `incomplete`.
    pub verdict: String,
    pub exit_code: u8,
    /// True when leaks at exit or counted growing sites were found.
    pub leak: bool,
}

/// Module kind of each distinct return address, looked up once.
struct Kinds {
    by_addr: Vec<Option<FrameModule>>,
    by_module: HashMap<usize, FrameModule>,
    /// What `residue_of` needs of a frame in the program's binary, by
    /// return address: its name classified once (cc1plus: 23 k leaked
    /// stacks over the same few thousand frames, each name demangled and
    /// parsed again per stack, was a tenth of `report`).
    program_frames: Vec<Option<ProgramFrame>>,
    /// The runtime whose interpreter and JIT compiler run code in no
    /// module: the JVM, or node's V8 (see `residue_of`).
    jit: Option<&'static str>,
}

/// What `residue_of` needs of a frame's module, looked up once per address.
#[derive(Clone, Copy)]
struct FrameModule {
    kind: ModuleKind,
    /// In no module at all (JIT-compiled or interpreter code); `kind` is
    /// then `Program`.
    unmapped: bool,
    /// A library the distribution ships (`classify::is_system_library`).
    system_library: bool,
}

/// A frame in the program's binary, as `residue_of` judges it.
#[derive(Clone, Copy)]
struct ProgramFrame {
    /// Its symbol is known.
    named: bool,
    /// A start function (`_start`, `__libc_start_main`, ...).
    start: bool,
    /// A standard library's or an allocator's function.
    std_or_allocator: bool,
    /// Named `main`: Rust's shim when called from `std::rt::lang_start`.
    main: bool,
    /// `std::rt::lang_start...`.
    lang_start: bool,
    /// Rust's runtime start-up, which keeps what it allocates until exit
    /// (`std::rt::`, the main thread's info block of `set_current_info`).
    rt_init: bool,
}

impl Kinds {
    fn new(a: &Analysis) -> Self {
        Kinds {
            by_addr: vec![None; a.tables.stacks.addrs().len()],
            by_module: HashMap::new(),
            program_frames: vec![None; a.tables.stacks.addrs().len()],
            jit: a
                .tables
                .modules
                .iter()
                .find_map(|m| match module_kind(&m.path) {
                    ModuleKind::Runtime("java")
                        if m.path
                            .rsplit('/')
                            .next()
                            .is_some_and(|n| n.starts_with("libjvm.so")) =>
                    {
                        Some("java")
                    }
                    ModuleKind::Runtime("node") => Some("node"),
                    _ => None,
                }),
        }
    }

    fn program_frame(
        &mut self,
        a: &Analysis,
        sym: &mut Symbolizer,
        addr_id: u32,
        ts: u64,
    ) -> ProgramFrame {
        let i = addr_id as usize;
        if let Some(Some(f)) = self.program_frames.get(i) {
            return *f;
        }
        let addr = a.tables.stacks.addrs()[i];
        let f = match sym.symbol_name(&a.tables, addr, ts) {
            None => ProgramFrame {
                named: false,
                start: false,
                std_or_allocator: false,
                main: false,
                lang_start: false,
                rt_init: false,
            },
            Some(name) => ProgramFrame {
                named: true,
                start: classify::is_start_function(name),
                std_or_allocator: classify::is_std_function(name)
                    || classify::is_allocator_function(name),
                // `classify::is_rust_main_shim`, in two halves.
                main: classify::base_name(name) == "main",
                lang_start: classify::base_name(name).starts_with("std::rt::lang_start"),
                rt_init: {
                    let base = classify::base_name(name);
                    base.starts_with("std::rt::")
                        || base.contains("::stack_overflow::thread_info::set_current_info")
                        || base.starts_with("std::thread::current::set_current")
                },
            },
        };
        // A standard library function can hold the program's own code
        // inlined (a thread's closure inlined into Rust's
        // `__rust_begin_short_backtrace` at -O): then the frame is the
        // program's. Only these addresses need the line tables.
        let f = if f.std_or_allocator && self.holds_program_code(a, sym, addr, ts) {
            ProgramFrame {
                std_or_allocator: false,
                ..f
            }
        } else {
            f
        };
        if let Some(slot) = self.program_frames.get_mut(i) {
            *slot = Some(f);
        }
        f
    }

    /// Whether the DWARF inlined frames at `addr` hold a function of the
    /// program's own (not a standard library's, the allocator's or start-up
    /// code).
    fn holds_program_code(&self, a: &Analysis, sym: &mut Symbolizer, addr: u64, ts: u64) -> bool {
        sym.resolve(&a.tables, &[(addr, ts)]);
        sym.frames_of(addr).iter().any(|f| {
            f.inlined
                && !classify::is_internal(f)
                && !f.file.as_deref().is_some_and(classify::is_toolchain_source)
                && !classify::is_allocator_function(&f.function)
                && !classify::is_start_function(&f.function)
        })
    }

    fn of(&mut self, a: &Analysis, addr_id: u32, ts: u64) -> FrameModule {
        let i = addr_id as usize;
        if let Some(Some(k)) = self.by_addr.get(i) {
            return *k;
        }
        let addr = a.tables.stacks.addrs()[i];
        let k = if crate::python::is_python_frame(addr) {
            FrameModule {
                kind: crate::symbolize::python_frame(&a.tables, addr).kind,
                unmapped: false,
                system_library: false,
            }
        } else {
            match a.tables.module_index_of(addr.saturating_sub(1), ts) {
                Some(m) => *self.by_module.entry(m).or_insert_with(|| {
                    let path = &a.tables.modules[m].path;
                    FrameModule {
                        kind: module_kind(path),
                        unmapped: false,
                        system_library: classify::is_system_library(path),
                    }
                }),
                None => FrameModule {
                    kind: ModuleKind::Program,
                    unmapped: true,
                    system_library: false,
                },
            }
        };
        self.by_addr[i] = Some(k);
        k
    }

    /// Whose residue the stack is, when no frame on it belongs to the
    /// program's own code: every frame is an interpreter runtime's module,
    /// the system's (C/C++ runtime, loader, allocator, tracer), or, in the
    /// program's own binary, a standard library's start-up code (Rust's
    /// `std::rt`, a C++ `std::` static constructor). Frames below `main`
    /// do not count. `None`: the program's own code asked for the memory.
    ///
    /// With Python frames, for blocks live at exit (`at_exit`), the
    /// innermost Python frame decides: code of the interpreter's own
    /// (its standard library, the frozen import machinery) allocated it, as
    /// importing a module does for the module's state kept until exit, so
    /// it is residue; a line of yours, counted. A growing site is the
    /// program's as soon as one frame is (a runtime's growth caused by
    /// your call is your leak).
    fn residue_of(
        &mut self,
        a: &Analysis,
        sym: &mut Symbolizer,
        stack: u32,
        at_exit: bool,
    ) -> Option<&'static str> {
        let ts = a.stack_first_ns(stack);
        let ids: Vec<u32> = a.tables.stacks.frame_ids(stack).collect();
        if ids.is_empty() {
            return None;
        }
        let mut runtime: Option<&'static str> = None;
        let mut system_only = true;
        let mut std_code = false;
        // The previous (inner) frame was the program's `std::rt::lang_start`.
        let mut inner_lang_start = false;
        // An inner frame was Rust's runtime start-up: with LTO it is
        // inlined into the C `main`, which then is the frame above it.
        let mut inner_rt_init = false;
        if at_exit {
            let py: Vec<&crate::python::PyCode> = ids
                .iter()
                .map(|&id| a.tables.stacks.addrs()[id as usize])
                .filter(|&v| crate::python::is_python_frame(v))
                .filter_map(|v| {
                    a.tables
                        .py_codes
                        .get(crate::python::split_frame(v).0 as usize)
                })
                .collect();
            if let (Some(inner), Some(outer)) = (py.first(), py.last()) {
                // Innermost native frames of the program's own (a C
                // extension) still make it the program's; a system
                // library's (libreadline, set up by `import readline`) do
                // not.
                let native_program = ids
                    .iter()
                    .take_while(|&&id| {
                        !crate::python::is_python_frame(a.tables.stacks.addrs()[id as usize])
                    })
                    .any(|&id| {
                        let f = self.of(a, id, ts);
                        f.kind == ModuleKind::Program && !f.system_library
                    });
                let runtime = inner.is_runtime()
                    || outer.is_runtime()
                    || py.iter().any(|c| c.is_import_machinery());
                return (runtime && !native_program).then_some("python");
            }
        }
        for &id in &ids {
            let frame = self.of(a, id, ts);
            let mut kind = frame.kind;
            // In a JVM or node, Java or JavaScript code (interpreted or
            // compiled, in no module) reaches native memory through the
            // runtime's own natives, which it does not free at exit:
            // residue unless a module of yours (a JNI library, a native
            // addon) is on the stack. Growing sites are the program's, as
            // always.
            if let (true, Some(jit), true) = (at_exit, self.jit, frame.unmapped) {
                kind = ModuleKind::Runtime(jit);
            }
            match kind {
                ModuleKind::System | ModuleKind::Tracer => {
                    inner_lang_start = false;
                }
                ModuleKind::Runtime(r) => {
                    system_only = false;
                    match runtime {
                        None => runtime = Some(r),
                        Some(x) if x == r => {}
                        Some(_) => return None,
                    }
                    inner_lang_start = false;
                }
                ModuleKind::Program => {
                    // Only a standard library's own code in the program's
                    // binary can still make this residue; ask the symbol
                    // table (cheap: no line tables).
                    let f = self.program_frame(a, sym, id, ts);
                    if !f.named {
                        return None;
                    }
                    if (f.main && (inner_lang_start || inner_rt_init)) || f.start {
                        break; // below the program: nothing more to judge
                    }
                    if !f.std_or_allocator {
                        return None;
                    }
                    std_code = true;
                    system_only = false;
                    inner_lang_start = f.lang_start;
                    inner_rt_init |= f.rt_init;
                }
            }
        }
        match runtime {
            Some(r) if !std_code => Some(r),
            Some(_) => None,
            None if std_code => Some("the standard library"),
            None if system_only => Some("the C/C++ runtime"),
            None => None,
        }
    }
}

/// Resolves the addresses of the given stacks.
pub fn resolve_stacks(a: &Analysis, sym: &mut Symbolizer, stacks: &[u32]) {
    let mut addrs = Vec::new();
    for &s in stacks {
        let ts = a.stack_first_ns(s);
        addrs.extend(a.tables.stacks.frames(s).map(|ip| (ip, ts)));
    }
    sym.resolve(&a.tables, &addrs);
}

/// The symbolized frames of a stack (resolve first).
pub fn stack_frames(a: &Analysis, sym: &Symbolizer, stack: u32) -> Vec<Frame> {
    sym.frames(a.tables.stacks.frames(stack))
}

/// The first suppression rule matching a stack, tried as LeakSanitizer
/// does: frame by frame from the allocation outward, the module's path
/// first, then each (inlined) function and source file.
fn suppression_of(
    a: &Analysis,
    sym: &mut Symbolizer,
    supp: &Suppressions,
    stack: u32,
) -> Option<usize> {
    if supp.is_empty() {
        return None;
    }
    resolve_stacks(a, sym, &[stack]);
    let ts = a.stack_first_ns(stack);
    for addr in a.tables.stacks.frames(stack) {
        if let Some(m) = a.tables.module_of(addr.saturating_sub(1), ts) {
            if let Some(i) = supp.first_match(&m.path) {
                return Some(i);
            }
        }
        for f in sym.frames_of(addr) {
            if let Some(i) = supp.first_match(&f.function) {
                return Some(i);
            }
            if let Some(i) = f.file.as_deref().and_then(|file| supp.first_match(file)) {
                return Some(i);
            }
        }
    }
    None
}

/// A frame's identity for merging: function, file, line.
type SourceLoc = (String, Option<String>, Option<u32>);

/// Groups call stacks that symbolize identically (e.g. one source line
/// compiled into several call sites), most bytes first. Symbolizes only
/// the largest few (four times what is listed), so a report on millions of
/// stacks reads a few hundred.
fn group(
    a: &Analysis,
    sym: &mut Symbolizer,
    items: &[(u32, u64, u64)],
    top: usize,
    full: bool,
) -> Group {
    let shown = items.len().min(top.saturating_mul(4).max(top));
    let ids: Vec<u32> = items[..shown].iter().map(|x| x.0).collect();
    resolve_stacks(a, sym, &ids);
    let mut merged: Vec<StackEntry> = Vec::new();
    let mut index: HashMap<Vec<SourceLoc>, usize> = HashMap::new();
    for &(s, bytes, blocks) in &items[..shown] {
        let frames = stack_frames(a, sym, s);
        let key = frames
            .iter()
            .map(|f| (f.function.clone(), f.file.clone(), f.line))
            .collect::<Vec<_>>();
        match index.get(&key) {
            Some(&i) => {
                merged[i].bytes += bytes;
                merged[i].blocks += blocks;
                merged[i].stacks += 1;
            }
            None => {
                index.insert(key, merged.len());
                merged.push(entry(frames, bytes, blocks, full));
            }
        }
    }
    merged.sort_by(|x, y| {
        y.bytes
            .cmp(&x.bytes)
            .then(y.blocks.cmp(&x.blocks))
            .then_with(|| {
                x.site
                    .as_ref()
                    .map(|f| f.describe())
                    .cmp(&y.site.as_ref().map(|f| f.describe()))
            })
    });
    merged.truncate(top);
    Group {
        bytes: items.iter().map(|i| i.1).sum(),
        blocks: items.iter().map(|i| i.2).sum(),
        stack_count: items.len() as u64,
        stacks: merged,
    }
}

fn entry(frames: Vec<Frame>, bytes: u64, blocks: u64, full: bool) -> StackEntry {
    let site = classify::headline(&frames).cloned();
    let frames = if full {
        frames
    } else {
        classify::trim_frames(&frames).to_vec()
    };
    StackEntry {
        bytes,
        blocks,
        stacks: 1,
        site,
        frames,
    }
}

/// Lenient parse of the program's embedded suppressions: bad lines are
/// skipped (the program cannot be asked to fix them now) and noted.
fn add_embedded(supp: &mut Suppressions, text: &str, notes: &mut Vec<String>) {
    let mut skipped = 0;
    for line in text.lines() {
        if supp.parse(line, "embedded").is_err() {
            skipped += 1;
        }
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} line(s) of the program's __lsan_default_suppressions() text are not `leak:PATTERN` rules and were ignored"
        ));
    }
}

/// Counted stacks named by a bare address (code with no symbols: a
/// stripped binary) cannot be told apart from a runtime's start-up code,
/// which the residue rule needs names for: say so rather than guess.
fn unattributed_note(leaked: &Group) -> Option<String> {
    let (mut bytes, mut blocks, mut modules) = (0u64, 0u64, Vec::<&str>::new());
    for e in &leaked.stacks {
        let Some(site) = &e.site else { continue };
        if site.file.is_none() && site.function.starts_with("0x") {
            bytes += e.bytes;
            blocks += e.blocks;
            if !modules.contains(&site.module.as_str()) {
                modules.push(&site.module);
            }
        }
    }
    (blocks > 0).then(|| {
        format!(
            "{} in {} leaked from code with no symbols ({}: stripped, or the file is not where the trace says): there leakwatch cannot tell the program's code from a runtime's start-up, which keeps blocks until exit on purpose (a stripped Rust program's std keeps 544 B); they are counted. Rebuild with symbols to have them judged (Rust: strip = \"debuginfo\", not \"symbols\")",
            format::bytes(bytes as f64),
            plural(blocks, "block", "blocks"),
            modules.iter().map(|m| escape(m)).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Symbolizes what the report shows and assembles it.
pub fn build(a: &Analysis, sym: &mut Symbolizer, opts: &ReportOptions) -> Report {
    let top = opts.top.max(1);
    let mut notes = Vec::new();
    let mut supp = opts.suppressions.clone();
    if !a.tables.lsan_suppressions.trim().is_empty() {
        add_embedded(&mut supp, &a.tables.lsan_suppressions, &mut notes);
    }
    let complete = a.complete();
    let mut kinds = Kinds::new(a);

    // Split what is live at the end: runtime residue, suppressed, counted.
    // Residue first: it is never counted, so a suppression matching it (a
    // script's name matches the interpreter's blocks allocated under the
    // script's imports) would report as suppressed bytes that were never
    // the program's leak.
    let mut counted: Vec<(u32, u64, u64)> = Vec::new();
    let mut residue: Vec<(u32, u64, u64)> = Vec::new();
    let mut runtimes: Vec<&'static str> = Vec::new();
    for (s, bytes, blocks) in a.live_at_end() {
        let (mut bytes, mut blocks) = (bytes, blocks);
        if complete {
            if let Some(r) = kinds.residue_of(a, sym, s, true) {
                if !runtimes.contains(&r) {
                    runtimes.push(r);
                }
                residue.push((s, bytes, blocks));
                continue;
            }
            // Blocks beyond what the stack held when the runtime began to
            // finalise were allocated during finalisation.
            if let Some((fb, fn_)) = a.at_runtime_finalize(s) {
                let (rb, rn) = (bytes.saturating_sub(fb), blocks.saturating_sub(fn_));
                if rn > 0 {
                    residue.push((s, rb, rn));
                    if blocks == rn {
                        continue;
                    }
                    (bytes, blocks) = (bytes - rb, blocks - rn);
                }
            }
        }
        if let Some(i) = suppression_of(a, sym, &supp, s) {
            supp.record(i, bytes, blocks);
            continue;
        }
        counted.push((s, bytes, blocks));
    }
    let sort = |v: &mut Vec<(u32, u64, u64)>| v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    sort(&mut counted);
    sort(&mut residue);
    let live_group = group(a, sym, &counted, top, opts.full_stacks);
    let residue_group = (complete && !residue.is_empty())
        .then(|| group(a, sym, &residue, top.min(5), opts.full_stacks));

    if complete {
        if let Some(note) = unattributed_note(&live_group) {
            notes.push(note);
        }
    }

    let ids: Vec<u32> = a.growing.iter().map(|g| g.stack).collect();
    resolve_stacks(a, sym, &ids);
    let growing: Vec<GrowingSite> = a
        .growing
        .iter()
        .map(|g| {
            let frames = stack_frames(a, sym, g.stack);
            let e = entry(frames, g.live_bytes, 0, opts.full_stacks);
            let runtime_residue = complete && kinds.residue_of(a, sym, g.stack, false).is_some();
            // Its bytes are counted against the rule with the live stacks;
            // residue is never the program's, so never suppressed either.
            let suppressed_by = (!runtime_residue)
                .then(|| suppression_of(a, sym, &supp, g.stack))
                .flatten()
                .map(|i| supp.rules[i].pattern.clone());
            GrowingSite {
                live_bytes: g.live_bytes,
                rate_bytes_per_s: g.assessment.rate_per_hour / 3600.0,
                rate_low_bytes_per_s: g.assessment.rate_low_per_hour / 3600.0,
                rate_high_bytes_per_s: g.assessment.rate_high_per_hour / 3600.0,
                reason: g.assessment.evidence.reason.clone(),
                series_bytes: g.series.clone(),
                series_interval_s: a.bucket_s,
                site: e.site,
                frames: e.frames,
                suppressed_by,
                runtime_residue,
            }
        })
        .collect();

    let mut incomplete = Vec::new();
    if a.chunks == 0 {
        incomplete.push(
            "the trace holds no data after its header (the program was killed before the tracer's first write, or the file was cut)".to_string(),
        );
    }
    if let Some(off) = a.truncated_at {
        incomplete.push(format!(
            "the trace is cut short: a partial chunk at byte {off} was ignored (the process was killed while the tracer wrote, or the file was truncated)"
        ));
    }
    if a.attached {
        notes.push(format!(
            "attached to a running process{}: blocks allocated before the attach are unknown (their frees are only counted), so what is live at {} is not judged; growing sites are judged on the attached window (under a minute, or shorter than your objects live, a working set turning over looks like growth)",
            if a.detached { " and detached" } else { "" },
            if a.detached { "detach" } else { "the end" }
        ));
        if a.exited {
            notes.push("the process exited while attached".to_string());
        }
    } else if !a.exited && a.chunks > 0 {
        incomplete.push(
            "the program did not exit normally (killed, crashed or exec'd, or the trace ends early): blocks still live at the end are not leaks by themselves".to_string(),
        );
    }
    for l in &a.losses {
        incomplete.push(format!(
            "at {}: {}; from there on the trace is not whole, so what is live at the end is not proven leaked",
            format::duration(l.t_ns as f64 / 1e9),
            l.describe()
        ));
    }
    if a.loss_count > a.losses.len() as u64 {
        incomplete.push(format!(
            "{} more LOST records",
            a.loss_count - a.losses.len() as u64
        ));
    }
    if a.unfollowed_stacks > 0 {
        notes.push(format!(
            "{} call stacks were not followed over time (more than {} already were): growth among them is not judged",
            a.unfollowed_stacks,
            crate::analysis::MAX_SERIES
        ));
    }

    // An attached window "with no growing site" must have been judgeable:
    // long enough for a call stack's series to reach the detector's
    // minimum of points, and not idle (a stopped process allocates nothing).
    let min_points = leakwatch_core::DetectorConfig::default().min_samples as f64;
    let window_points = if a.bucket_s > 0.0 {
        a.duration_ns as f64 / 1e9 / a.bucket_s
    } else {
        0.0
    };
    let window_judgeable = a.allocations > 0 && window_points >= min_points;
    if a.attached && !window_judgeable {
        incomplete.push(if a.allocations == 0 {
            "nothing was allocated while attached (a stopped or idle process): there was nothing to judge; attach for longer while it works".to_string()
        } else {
            format!(
                "the attached window ({}) is too short to judge growth (a call stack needs {} points of {} each); attach for longer",
                format::duration(a.duration_ns as f64 / 1e9),
                min_points,
                format::duration(a.bucket_s)
            )
        });
    }

    let mut gaps: Vec<&str> = Vec::new();
    if a.chunks == 0 {
        gaps.push("the trace holds no data");
    } else if a.attached && !window_judgeable {
        gaps.push("attached too briefly, or to an idle process, to judge");
    } else if a.attached {
        gaps.push(if a.detached {
            "traced while attached"
        } else {
            "traced while attached, no detach recorded"
        });
    } else if !a.exited {
        gaps.push("the program did not exit normally");
    }
    if a.truncated_at.is_some() {
        gaps.push("the trace is cut short");
    }
    if a.loss_count > 0 {
        gaps.push("the tracer lost data");
    }
    let incomplete_summary = gaps.join(", ");

    let counted_growing = growing
        .iter()
        .filter(|g| g.suppressed_by.is_none() && !g.runtime_residue)
        .count();
    let leaked_any = complete && (live_group.bytes > 0 || live_group.blocks > 0);
    // The one detector's minimum (as `run` and `watch`): under it, a climb
    // cannot be told from a fill that levels off, or, attached, from blocks
    // replacing ones allocated before the attach (whose frees name no
    // stack). A program that exited is judged by what it left instead.
    let too_short_to_call =
        a.duration_ns as f64 / 1e9 < leakwatch_core::DetectorConfig::default().min_duration_s;
    let (verdict, exit_code) = if complete {
        if leaked_any {
            ("leak", EXIT_LEAK)
        } else {
            ("no_leak", EXIT_NO_LEAK)
        }
    } else if counted_growing > 0 && too_short_to_call {
        ("growing", EXIT_INCOMPLETE)
    } else if counted_growing > 0 {
        ("leak", EXIT_LEAK)
    } else if a.attached
        && window_judgeable
        && (a.detached || a.exited)
        && a.loss_count == 0
        && a.truncated_at.is_none()
        && a.chunks > 0
    {
        // The whole attached window was recorded and judged.
        ("no_growth", EXIT_NO_LEAK)
    } else {
        ("incomplete", EXIT_INCOMPLETE)
    };

    let peak = a.peak_holders();
    Report {
        version: JSON_VERSION,
        trace: TraceInfo {
            format_version: a.version,
            pid: a.header.pid,
            ppid: a.header.ppid,
            sample_every_bytes: a.header.sample_every,
            start_unix_ns: a.header.start_unix_ns,
            chunks: a.chunks as u64,
            truncated_at_byte: a.truncated_at,
        },
        duration_s: a.duration_ns as f64 / 1e9,
        exited: a.exited,
        attached: a.attached,
        detached: a.detached,
        complete,
        allocations: a.allocations,
        frees: a.frees,
        unmatched_frees: a.unmatched_frees,
        bytes_allocated: a.bytes_allocated,
        leaked: complete.then(|| live_group.clone()),
        live_at_end: (!complete).then_some(live_group),
        runtime_residue: residue_group,
        runtimes: runtimes.iter().map(|r| r.to_string()).collect(),
        suppressed: supp.used(),
        growing,
        judged_stacks: a.judged_stacks,
        peak: Peak {
            bytes: a.peak_bytes,
            t_s: a.peak_ns as f64 / 1e9,
            holders: group(a, sym, &peak, top.min(5), opts.full_stacks),
        },
        lost: a.losses.clone(),
        lost_records: a.loss_count,
        incomplete,
        incomplete_summary,
        notes,
        counted_stacks: counted,
        verdict: verdict.to_string(),
        exit_code,
        leak: exit_code == EXIT_LEAK,
    }
}

/// Text safe for a terminal: control characters (escape sequences
/// included) are shown as `\x..` / `\u{..}` instead of being interpreted.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            if (c as u32) < 0x100 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `function at file:line`, escaped for a terminal.
pub fn describe(f: &Frame) -> String {
    escape(&f.describe()).into_owned()
}

fn write_stack(out: &mut String, e: &StackEntry, head: &str, full: bool) {
    match &e.site {
        Some(site) => {
            let _ = writeln!(out, "  {head} from {}", describe(site));
        }
        None => {
            let _ = writeln!(out, "  {head}");
        }
    }
    let limit = if full { usize::MAX } else { TEXT_FRAMES };
    for f in e.frames.iter().take(limit) {
        let inl = if f.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "      {}{inl}", describe(f));
    }
    if e.frames.len() > limit {
        let _ = writeln!(
            out,
            "      ... {} more frames (--full-stacks shows them)",
            e.frames.len() - limit
        );
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `N bytes in M blocks`. In a sampled trace the bytes are scaled-up
/// estimates but the blocks are the ones the sample holds, and say so.
fn blocks_of(bytes: u64, blocks: u64, sampled: bool) -> String {
    if sampled {
        format!(
            "{bytes} bytes (estimated) in {}",
            plural(blocks, "sampled block", "sampled blocks")
        )
    } else {
        format!("{bytes} bytes in {}", plural(blocks, "block", "blocks"))
    }
}

fn write_group(out: &mut String, title: &str, g: &Group, show: usize, full: bool, sampled: bool) {
    let _ = writeln!(
        out,
        "{title}: {} from {}",
        blocks_of(g.bytes, g.blocks, sampled),
        plural(g.stack_count, "call stack", "call stacks")
    );
    for e in g.stacks.iter().take(show) {
        write_stack(out, e, &blocks_of(e.bytes, e.blocks, sampled), full);
    }
}

/// How often a sampled trace recorded an allocation, for the wording of
/// what a sample cannot show.
fn sample_rate(r: &Report) -> String {
    format!(
        "one allocation recorded per ~{} allocated",
        format::bytes(r.trace.sample_every_bytes as f64)
    )
}

/// The human report. `full` prints every frame.
pub fn render_text(r: &Report, trace_name: &str, full: bool) -> String {
    let mut out = String::new();
    let sampled = r.trace.sample_every_bytes > 0;
    let sampling = if sampled {
        format!(
            ", sampled every ~{} (sizes are estimates)",
            format::bytes(r.trace.sample_every_bytes as f64)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "trace {}: pid {}, {}, {} allocations ({}), {} frees{sampling}",
        escape(trace_name),
        r.trace.pid,
        format::duration(r.duration_s),
        r.allocations,
        format::bytes(r.bytes_allocated as f64),
        r.frees
    );
    for why in &r.incomplete {
        let _ = writeln!(out, "note: {why}");
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    match &r.leaked {
        Some(g) if g.bytes > 0 || g.blocks > 0 => {
            write_group(&mut out, "LEAKED AT EXIT", g, usize::MAX, full, sampled)
        }
        Some(_) if sampled => {
            let _ = writeln!(
                out,
                "leaked at exit: no sampled block ({}: a smaller leak can be missed)",
                sample_rate(r)
            );
        }
        Some(_) => {
            let _ = writeln!(
                out,
                "leaked at exit: nothing (every allocation the program made itself was freed)"
            );
        }
        None => {}
    }
    if let Some(g) = &r.live_at_end {
        write_group(
            &mut out,
            if r.detached {
                "still live at detach (allocated while attached; not judged)"
            } else {
                "live when the trace ended (not proven leaked)"
            },
            g,
            5,
            full,
            sampled,
        );
    }
    if let Some(g) = &r.runtime_residue {
        let who = if r.runtimes.is_empty() {
            "the runtime".to_string()
        } else {
            r.runtimes.join(", ")
        };
        let _ = writeln!(out);
        write_group(
            &mut out,
            &format!(
                "runtime residue, not counted (allocated by {who} alone and kept until exit on purpose)"
            ),
            g,
            3,
            full,
            sampled,
        );
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "suppressed (not counted):");
        for s in &r.suppressed {
            let _ = writeln!(
                out,
                "  {} from {} by leak:{} ({})",
                blocks_of(s.bytes, s.blocks, sampled),
                plural(s.stacks, "call stack", "call stacks"),
                escape(&s.pattern),
                escape(&s.source)
            );
        }
    }
    let _ = writeln!(out);
    if r.growing.is_empty() {
        let _ = writeln!(
            out,
            "growing sites: none (no call stack's live bytes grow without bound; {} judged)",
            plural(r.judged_stacks, "candidate", "candidates")
        );
    } else {
        let _ = writeln!(
            out,
            "GROWING SITES: {} whose live bytes grow without bound",
            plural(r.growing.len() as u64, "call stack", "call stacks")
        );
        for g in &r.growing {
            let mut head = format!(
                "{} live, +{}/h (95% CI {} .. {})  {}",
                format::bytes(g.live_bytes as f64),
                format::bytes(g.rate_bytes_per_s * 3600.0),
                format::bytes(g.rate_low_bytes_per_s * 3600.0),
                format::bytes(g.rate_high_bytes_per_s * 3600.0),
                format::sparkline(&g.series_bytes, 40)
            );
            if let Some(p) = &g.suppressed_by {
                let _ = write!(head, " [suppressed by leak:{}]", escape(p));
            }
            if g.runtime_residue {
                head.push_str(" [runtime residue]");
            }
            write_stack(
                &mut out,
                &StackEntry {
                    bytes: g.live_bytes,
                    blocks: 0,
                    stacks: 1,
                    site: g.site.clone(),
                    frames: g.frames.clone(),
                },
                &head,
                full,
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "peak: {} live at {}, held by:",
        format::bytes(r.peak.bytes as f64),
        format::duration(r.peak.t_s)
    );
    for e in r.peak.holders.stacks.iter().take(5) {
        let head = format!(
            "{} in {}",
            format::bytes(e.bytes as f64),
            if sampled {
                plural(e.blocks, "sampled block", "sampled blocks")
            } else {
                plural(e.blocks, "block", "blocks")
            }
        );
        write_stack(&mut out, e, &head, full);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "verdict: {}", verdict_line(r));
    out
}

/// The one-line verdict (also printed after `trace`).
pub fn verdict_line(r: &Report) -> String {
    let site = |g: &Group| {
        g.stacks
            .first()
            .and_then(|e| e.site.as_ref())
            .map(|f| format!(", largest from {}", describe(f)))
            .unwrap_or_default()
    };
    let is_sampled = r.trace.sample_every_bytes > 0;
    let sampled = if is_sampled {
        " (estimated from samples)"
    } else {
        ""
    };
    let residue_part = r.runtime_residue.as_ref().map(|g| {
        format!(
            "{} of runtime residue not counted: {}",
            format::bytes(g.bytes as f64),
            r.runtimes.join(", ")
        )
    });
    let set_apart = {
        let mut parts: Vec<String> = residue_part.iter().cloned().collect();
        let sb: u64 = r.suppressed.iter().map(|s| s.bytes).sum();
        if !r.suppressed.is_empty() {
            parts.push(format!("{} suppressed", format::bytes(sb as f64)));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join("; "))
        }
    };
    let counted_growing: Vec<&GrowingSite> = r
        .growing
        .iter()
        .filter(|g| g.suppressed_by.is_none() && !g.runtime_residue)
        .collect();
    match r.verdict.as_str() {
        "leak" if r.complete => {
            let g = r.leaked.as_ref().cloned().unwrap_or_default();
            format!(
                "LEAK: {} still allocated at exit{}{set_apart}",
                blocks_of(g.bytes, g.blocks, is_sampled),
                site(&g)
            )
        }
        "leak" => {
            let first = fastest_from(&counted_growing);
            format!(
                "LEAK: {} growing without bound{first} ({}: what was live at the end is not judged)",
                plural(counted_growing.len() as u64, "call stack", "call stacks"),
                r.incomplete_summary
            )
        }
        "no_leak" if !r.suppressed.is_empty() => {
            // Blocks were left: the rules, not the program, kept them out.
            let sb: u64 = r.suppressed.iter().map(|s| s.bytes).sum();
            let rules: Vec<String> = r
                .suppressed
                .iter()
                .map(|s| format!("leak:{} ({})", escape(&s.pattern), escape(&s.source)))
                .collect();
            format!(
                "no leak counted: {} still allocated at exit{sampled}, all of it suppressed by {}{}",
                format::bytes(sb as f64),
                rules.join(", "),
                residue_part.map(|p| format!(" ({p})")).unwrap_or_default()
            )
        }
        "no_leak" if is_sampled => format!(
            "no leak in the sample: no sampled block was still allocated at exit ({}: a leak smaller than that can be missed){set_apart}",
            sample_rate(r)
        ),
        "no_leak" => {
            format!("no leak: every allocation the program made was freed before exit{set_apart}")
        }
        "growing" => {
            let first = fastest_from(&counted_growing);
            format!(
                "GROWING, not yet called a leak: {} grew through the {} recorded{first}; under {} a fill that levels off (or, attached, blocks replacing ones allocated before the attach) looks the same: trace for longer, longer than your objects live{}",
                plural(counted_growing.len() as u64, "call stack", "call stacks"),
                format::duration(r.duration_s),
                format::duration(leakwatch_core::DetectorConfig::default().min_duration_s),
                if r.incomplete_summary.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.incomplete_summary)
                }
            )
        }
        "no_growth" => format!(
            "no growing site: no call stack's live bytes grew without bound in the {} attached",
            format::duration(r.duration_s)
        ),
        _ => format!(
            "INCOMPLETE, not \"no leak\": {}; no call stack grew without bound in the {} recorded",
            r.incomplete_summary,
            format::duration(r.duration_s)
        ),
    }
}

/// `, fastest from SITE` for the first (fastest) growing site, if named.
fn fastest_from(growing: &[&GrowingSite]) -> String {
    growing
        .first()
        .and_then(|g| g.site.as_ref())
        .map(|f| format!(", fastest from {}", describe(f)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        assert_eq!(escape("plain/path.so"), "plain/path.so");
        assert_eq!(escape("evil\x1b[2J.so"), "evil\\x1b[2J.so");
        assert_eq!(escape("a\nb\u{9b}c"), "a\\x0ab\\x9bc");
    }
}
