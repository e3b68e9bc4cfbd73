//! Turning recorded return addresses into functions and source lines, after
//! the run, from the module map recorded in the trace (blazesym: DWARF line
//! tables with inlined functions, ELF symbols).
//!
//! Module paths come from the trace, which may be damaged or crafted: a
//! module is opened only if its path (symbolic links resolved) is a regular
//! file, opened non-blocking without following links, and blazesym then
//! reads that very open file (through `/proc/self/fd/N`), so a FIFO, a
//! device or a file swapped in between is never read. A path recorded
//! relative (the loader keeps `dlopen("./libplug.so")` as given) is looked
//! up in the report's current directory, then the trace's directory, and
//! used only where the file's loadable segments match the recorded ones.
//!
//! Every name is demangled here (C++, Rust legacy and v0), inlined frames'
//! linkage names included: Rust names by `rustc-demangle`; C++ names by the
//! C++ runtime's own `__cxa_demangle` (libstdc++, loaded on first need:
//! the demangler `c++filt` and gdb use, so names read as users know them),
//! else by `cpp_demangle` (which fails on some valid names, e.g.
//! `std::make_shared`'s, whose return type holds an expression, and prints
//! empty parameter packs as `, >(&&)`).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer as Blaze};
use serde::Serialize;

use crate::classify::{module_kind, ModuleKind};
use crate::reader::{AddrMap, Module, Tables};

/// One source-level frame. An address inside inlined code yields several,
/// the innermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub function: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// File name of the ELF object.
    pub module: String,
    /// The runtime return address this frame came from.
    pub addr: u64,
    /// True for a function inlined into the next frame.
    pub inlined: bool,
    /// Whose code the module is.
    #[serde(skip)]
    pub kind: ModuleKind,
}

impl Frame {
    /// `function at file:line` (or `in module` without line info).
    pub fn describe(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{} at {}:{}", self.function, f, l),
            (Some(f), None) => format!("{} at {}", self.function, f),
            _ => format!("{} in {}", self.function, self.module),
        }
    }
}

/// The frame of a Python frame value (see `format`): the code's
/// qualified name, file and the instruction's line.
pub fn python_frame(tables: &Tables, addr: u64) -> Frame {
    let (code, lasti) = crate::python::split_frame(addr);
    match tables.py_codes.get(code as usize) {
        Some(c) => Frame {
            function: c.name.clone(),
            file: Some(c.file.clone()),
            line: c.line_of(lasti),
            module: "python".into(),
            addr,
            inlined: false,
            kind: if c.is_runtime() {
                ModuleKind::Runtime("python")
            } else {
                ModuleKind::Program
            },
        },
        None => Frame {
            function: format!("<python code {code}>"),
            file: None,
            line: None,
            module: "python".into(),
            addr,
            inlined: false,
            kind: ModuleKind::Program,
        },
    }
}

/// Resolves addresses once each and remembers the answers.
pub struct Symbolizer {
    blaze: Blaze,
    /// ELF symbols only (no DWARF): a cheap name for classifying frames.
    blaze_symtab: Blaze,
    names: AddrMap<Option<String>>,
    cache: AddrMap<Vec<Frame>>,
    /// Per module index, the checked open file and the path blazesym reads
    /// it through (None: not a readable regular file).
    opened: HashMap<usize, Option<(File, PathBuf)>>,
    /// Per module index, the file its ELF symbols are read from when it is
    /// not the module itself: the separate debug file of a module stripped
    /// of its symbol table (`/usr/lib/debug/.build-id/...`).
    symbol_files: HashMap<usize, Option<(File, PathBuf)>>,
    /// Directories a module path recorded relative (`dlopen("./libplug.so")`,
    /// `LD_LIBRARY_PATH=build`) is looked up in, in order.
    relative_bases: Vec<PathBuf>,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Self::new()
    }
}

fn file_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn code_path(ci: &blazesym::symbolize::CodeInfo<'_>) -> String {
    ci.to_path().to_string_lossy().into_owned()
}

/// Opens a module named in a trace. A relative path (the loader records
/// `dlopen`'s argument as given) is looked up in each of `bases` in turn,
/// and taken only where the file's loadable segments are the ones the
/// trace recorded, so a library of the same name elsewhere is never read
/// in its place.
fn open_recorded_module(m: &Module, bases: &[PathBuf]) -> Option<(File, PathBuf)> {
    if m.path.starts_with('/') {
        return open_module(&m.path);
    }
    if m.path.is_empty() || m.path.starts_with('[') {
        return None; // the main program's "" and "[vdso]"-like pseudo-paths
    }
    bases.iter().find_map(|base| {
        let candidate = base.join(&m.path);
        let opened = open_module(candidate.to_str()?)?;
        (load_segments(&opened.0).as_deref() == Some(&m.segments[..])).then_some(opened)
    })
}

/// One of the header tables of a 64-bit little-endian ELF file (program
/// or section headers), read whole: the table and its entry size. `at`:
/// the header's offsets of the table's file offset, entry size and count;
/// entries shorter than `min_entry` or more than `max_entries` are refused
/// (a damaged file is not read further).
fn elf64_table(
    file: &File,
    at: (usize, usize, usize),
    min_entry: usize,
    max_entries: usize,
) -> Option<(Vec<u8>, usize)> {
    use std::os::unix::fs::FileExt;
    let mut eh = [0u8; 64];
    file.read_exact_at(&mut eh, 0).ok()?;
    // ELF magic, ELFCLASS64, ELFDATA2LSB.
    if eh[..4] != *b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let offset = u64::from_le_bytes(eh[at.0..at.0 + 8].try_into().ok()?);
    let entry = usize::from(u16::from_le_bytes([eh[at.1], eh[at.1 + 1]]));
    let count = usize::from(u16::from_le_bytes([eh[at.2], eh[at.2 + 1]]));
    if entry < min_entry || count > max_entries {
        return None;
    }
    let mut table = vec![0u8; entry * count];
    file.read_exact_at(&mut table, offset).ok()?;
    Some((table, entry))
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

/// The PT_LOAD segments of a 64-bit little-endian ELF file as the tracer
/// records them: (p_vaddr, p_memsz, p_flags), in file order.
fn load_segments(file: &File) -> Option<Vec<(u64, u64, u32)>> {
    const PT_LOAD: u32 = 1;
    /// A loader refuses more than this.
    const MAX_PHDRS: usize = 4096;
    let (table, entry) = elf64_table(file, (0x20, 0x36, 0x38), 56, MAX_PHDRS)?;
    Some(
        table
            .chunks_exact(entry)
            .filter(|p| u32_at(p, 0) == PT_LOAD)
            .map(|p| (u64_at(p, 0x10), u64_at(p, 0x28), u32_at(p, 4)))
            .collect(),
    )
}

/// Opens a module named in a trace, if it is a regular file.
fn open_module(path: &str) -> Option<(File, PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    if !path.starts_with('/') {
        return None; // "[vdso]", "" and other pseudo-paths
    }
    // Resolving links reads no file (lstat and readlink only).
    let canonical = std::fs::canonicalize(path).ok()?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&canonical)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let via_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let through = if via_fd.exists() { via_fd } else { canonical };
    Some((file, through))
}

/// Whether a 64-bit little-endian ELF file has a symbol table section
/// (`.symtab`, not only the dynamic one); None when it cannot be read.
fn has_symbol_table(file: &File) -> Option<bool> {
    const SHT_SYMTAB: u32 = 2;
    /// More sections than any real object has.
    const MAX_SECTIONS: usize = 1 << 16;
    let (table, entry) = elf64_table(file, (0x28, 0x3a, 0x3c), 64, MAX_SECTIONS)?;
    Some(
        table
            .chunks_exact(entry)
            .any(|sh| u32_at(sh, 4) == SHT_SYMTAB),
    )
}

/// The separate debug file holding the symbol table of a module stripped
/// of its own (Debian's `-dbg` and `-dbgsym` packages, found by build ID).
fn debug_symbol_file(module: &File, through: &Path) -> Option<(File, PathBuf)> {
    if has_symbol_table(module)? {
        return None;
    }
    let id = blazesym::helper::read_elf_build_id(through).ok()??;
    if id.len() < 2 {
        return None;
    }
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let path = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
    let (file, through) = open_module(&path)?;
    has_symbol_table(&file)?.then_some((file, through))
}

/// A source that reads ELF symbols only, never DWARF: cheap, and enough
/// to name a function.
fn symbols_only(path: PathBuf) -> Source<'static> {
    let mut elf = Elf::new(path);
    elf.debug_syms = false;
    Source::Elf(elf)
}

/// Whether a name is still a mangled symbol.
fn looks_mangled(name: &str) -> bool {
    name.starts_with("_Z") || name.starts_with("__Z") || name.starts_with("_R")
}

/// Demangles a C++ or Rust symbol, or returns it unchanged.
pub fn demangle(name: &str) -> String {
    if !looks_mangled(name) {
        return name.to_string();
    }
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    if let Some(d) = cxa_demangle(name) {
        return d;
    }
    match cpp_demangle::Symbol::new(name) {
        Ok(sym) => sym.demangle().unwrap_or_else(|_| name.to_string()),
        Err(_) => name.to_string(),
    }
}

type CxaDemangle = unsafe extern "C" fn(
    *const libc::c_char,
    *mut libc::c_char,
    *mut libc::size_t,
    *mut libc::c_int,
) -> *mut libc::c_char;

/// libstdc++'s `__cxa_demangle`, if the library is installed.
fn cxa_demangle_fn() -> Option<CxaDemangle> {
    static FN: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let addr = *FN.get_or_init(|| {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the library stays
        // loaded (never dlclosed), so the symbol's address stays valid.
        unsafe {
            let lib = libc::dlopen(
                c"libstdc++.so.6".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_LOCAL,
            );
            if lib.is_null() {
                return None;
            }
            let sym = libc::dlsym(lib, c"__cxa_demangle".as_ptr());
            (!sym.is_null()).then_some(sym as usize)
        }
    });
    // SAFETY: the address is __cxa_demangle's, whose C signature is CxaDemangle.
    addr.map(|a| unsafe { std::mem::transmute::<usize, CxaDemangle>(a) })
}

/// The C++ runtime's demangler.
fn cxa_demangle(name: &str) -> Option<String> {
    // Real names are far shorter; the bound keeps the C demangler's
    // recursion (itself limited) away from crafted input sizes.
    if name.len() > 8192 || !name.starts_with("_Z") {
        return None;
    }
    let f = cxa_demangle_fn()?;
    let c = std::ffi::CString::new(name).ok()?;
    let mut status: libc::c_int = -1;
    // SAFETY: a NUL-terminated input, a null output buffer (the demangler
    // allocates it with malloc), a valid status pointer; the result is
    // freed with free as the ABI requires.
    unsafe {
        let out = f(
            c.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut status,
        );
        if out.is_null() {
            return None;
        }
        let s = (status == 0).then(|| std::ffi::CStr::from_ptr(out).to_string_lossy().into_owned());
        libc::free(out.cast());
        s
    }
}

impl Symbolizer {
    pub fn new() -> Self {
        Symbolizer {
            blaze: Blaze::builder()
                .enable_code_info(true)
                .enable_inlined_fns(true)
                .enable_demangling(false)
                .build(),
            blaze_symtab: Blaze::builder()
                .enable_code_info(false)
                .enable_inlined_fns(false)
                .enable_demangling(false)
                .build(),
            names: AddrMap::default(),
            cache: AddrMap::default(),
            opened: HashMap::new(),
            symbol_files: HashMap::new(),
            relative_bases: std::env::current_dir().into_iter().collect(),
        }
    }

    /// Also looks up module paths recorded relative in `dir` (after the
    /// directories given before; the current directory is the first). The
    /// trace's own directory is the usual one: a program run from its
    /// build directory wrote its trace there.
    pub fn add_relative_base(&mut self, dir: &Path) {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if !self.relative_bases.contains(&dir) {
            self.relative_bases.push(dir);
        }
    }

    /// Resolves every address in `addrs` not resolved yet. `ts` is when the
    /// stacks were recorded, to pick the right module after a dlclose.
    pub fn resolve(&mut self, tables: &Tables, addrs: &[(u64, u64)]) {
        let mut by_module: HashMap<usize, Vec<u64>> = HashMap::new();
        let mut unknown = Vec::new();
        for &(addr, ts) in addrs {
            if self.cache.contains_key(&addr) {
                continue;
            }
            if crate::python::is_python_frame(addr) {
                self.cache.insert(addr, vec![python_frame(tables, addr)]);
                continue;
            }
            // Return addresses point after the call: look up the call itself.
            match tables.module_index_of(addr.saturating_sub(1), ts) {
                Some(idx) => by_module.entry(idx).or_default().push(addr),
                None => unknown.push(addr),
            }
            self.cache.insert(addr, Vec::new());
        }
        for addr in unknown {
            self.cache.insert(
                addr,
                vec![Frame {
                    function: format!("{addr:#x}"),
                    file: None,
                    line: None,
                    module: "?".into(),
                    addr,
                    inlined: false,
                    kind: ModuleKind::Program,
                }],
            );
        }
        let mut by_module: Vec<(usize, Vec<u64>)> = by_module.into_iter().collect();
        by_module.sort_by_key(|x| x.0);
        for (idx, addrs) in by_module {
            let m = &tables.modules[idx];
            let module = file_name(&m.path);
            let kind = module_kind(&m.path);
            let offsets: Vec<u64> = addrs
                .iter()
                .map(|a| a.saturating_sub(1).wrapping_sub(m.base))
                .collect();
            // The C and C++ runtimes' frames are never the program's code:
            // they are named from their ELF symbols, without reading (and
            // decompressing) their DWARF, which costs more than the rest of
            // the report (libc's debug file: 50 ms).
            let results = if kind == ModuleKind::System {
                match self.symbol_source(tables, idx) {
                    Some(p) => self
                        .blaze_symtab
                        .symbolize(&symbols_only(p), Input::VirtOffset(&offsets))
                        .unwrap_or_default(),
                    None => Vec::new(),
                }
            } else {
                match self.module_path(tables, idx) {
                    Some(p) => self
                        .blaze
                        .symbolize(&Source::Elf(Elf::new(p)), Input::VirtOffset(&offsets))
                        .unwrap_or_default(),
                    None => Vec::new(),
                }
            };
            for (i, &addr) in addrs.iter().enumerate() {
                let frames = match results.get(i) {
                    Some(Symbolized::Sym(sym)) => {
                        let mut frames = Vec::new();
                        // blazesym lists inlined callees outermost first,
                        // each with the location inside it.
                        for inl in sym.inlined.iter().rev() {
                            frames.push(Frame {
                                function: demangle(&inl.name),
                                file: inl.code_info.as_ref().map(code_path),
                                line: inl.code_info.as_ref().and_then(|c| c.line),
                                module: module.clone(),
                                addr,
                                inlined: true,
                                kind,
                            });
                        }
                        frames.push(Frame {
                            function: demangle(&sym.name),
                            file: sym.code_info.as_deref().map(code_path),
                            line: sym.code_info.as_ref().and_then(|c| c.line),
                            module: module.clone(),
                            addr,
                            inlined: false,
                            kind,
                        });
                        frames
                    }
                    _ => vec![Frame {
                        function: format!("{:#x}", addr.wrapping_sub(m.base)),
                        file: None,
                        line: None,
                        module: module.clone(),
                        addr,
                        inlined: false,
                        kind,
                    }],
                };
                self.cache.insert(addr, frames);
            }
        }
    }

    /// The demangled name of the function holding `addr` from the ELF
    /// symbol table alone (no line tables, no inlining: cheap enough to
    /// classify every stack live at exit).
    pub fn symbol_name(&mut self, tables: &Tables, addr: u64, ts: u64) -> Option<&str> {
        if crate::python::is_python_frame(addr) && !self.names.contains_key(&addr) {
            let name = python_frame(tables, addr).function;
            self.names.insert(addr, Some(name));
        }
        if !self.names.contains_key(&addr) {
            let name = tables
                .module_index_of(addr.saturating_sub(1), ts)
                .and_then(|idx| {
                    let through = self.symbol_source(tables, idx)?;
                    let offset = addr
                        .saturating_sub(1)
                        .wrapping_sub(tables.modules[idx].base);
                    match self
                        .blaze_symtab
                        .symbolize_single(&symbols_only(through), Input::VirtOffset(offset))
                    {
                        Ok(Symbolized::Sym(sym)) => Some(demangle(&sym.name)),
                        _ => None,
                    }
                });
            self.names.insert(addr, name);
        }
        self.names.get(&addr).and_then(|n| n.as_deref())
    }

    /// The path blazesym reads module `idx` through (None: not readable).
    fn module_path(&mut self, tables: &Tables, idx: usize) -> Option<PathBuf> {
        let m = &tables.modules[idx];
        self.opened
            .entry(idx)
            .or_insert_with(|| open_recorded_module(m, &self.relative_bases))
            .as_ref()
            .map(|(_, p)| p.clone())
    }

    /// The path module `idx`'s ELF symbols are read through: its debug
    /// file's when the module has no symbol table of its own.
    fn symbol_source(&mut self, tables: &Tables, idx: usize) -> Option<PathBuf> {
        let through = self.module_path(tables, idx)?;
        if !self.symbol_files.contains_key(&idx) {
            let separate = self.opened[&idx]
                .as_ref()
                .and_then(|(file, _)| debug_symbol_file(file, &through));
            self.symbol_files.insert(idx, separate);
        }
        Some(match &self.symbol_files[&idx] {
            Some((_, p)) => p.clone(),
            None => through,
        })
    }

    /// The frames of a stack, innermost first, after [`Self::resolve`].
    pub fn frames(&self, stack: impl Iterator<Item = u64>) -> Vec<Frame> {
        let mut out = Vec::new();
        for a in stack {
            if let Some(f) = self.cache.get(&a) {
                out.extend(f.iter().cloned());
            }
        }
        out
    }

    /// The frames one address resolved to.
    pub fn frames_of(&self, addr: u64) -> &[Frame] {
        self.cache.get(&addr).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cpp_demangle_rejects_are_demangled_by_the_cxx_runtime() {
        let n = "_ZSt11make_sharedI7PartnerJEESt10shared_ptrINSt9enable_ifIXntsrSt8is_arrayIT_E5valueES4_E4typeEEDpOT0_";
        assert!(
            cpp_demangle::Symbol::new(n).is_err(),
            "cpp_demangle learned it"
        );
        let d = demangle(n);
        if cxa_demangle_fn().is_some() {
            assert_eq!(
                d,
                "std::shared_ptr<std::enable_if<!std::is_array<Partner>::value, Partner>::type> std::make_shared<Partner>()"
            );
        } else {
            assert_eq!(d, n, "without libstdc++ the name stays as it was");
        }
    }

    #[test]
    fn rust_and_plain_names() {
        assert_eq!(
            demangle("_ZN5leaky10leaky_rust17h0123456789abcdefE"),
            "leaky::leaky_rust"
        );
        assert_eq!(
            demangle("_RNvCs1234_5leaky10leaky_rust"),
            "leaky::leaky_rust"
        );
        assert_eq!(demangle("_Z10leak_arrayv"), "leak_array()");
        let d = demangle("_ZNSt14__shared_countILN9__gnu_cxx12_Lock_policyE2EEC2I7PartnerSaIvEJEEERPT_St20_Sp_alloc_shared_tagIT0_EDpOT1_");
        if cxa_demangle_fn().is_some() {
            // Exactly as c++filt prints it.
            assert_eq!(d, "std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<Partner, std::allocator<void>>(Partner*&, std::_Sp_alloc_shared_tag<std::allocator<void> >)");
        } else {
            assert!(d.starts_with("std::__shared_count<"), "{d}");
        }
        assert_eq!(demangle("main"), "main");
        assert_eq!(demangle("_Zgarbage"), "_Zgarbage");
    }

    /// A relative module path is found in a base directory only when the
    /// file there has the recorded segments (hunt 4, case 04).
    #[test]
    fn relative_module_paths_are_found_where_the_segments_match() {
        let exe = std::env::current_exe().unwrap();
        let file = File::open(&exe).unwrap();
        let segments = load_segments(&file).unwrap();
        assert!(!segments.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::copy(&exe, dir.path().join("libplug.so")).unwrap();
        // A different ELF file of the same name in the first directory.
        std::fs::copy("/bin/sh", other.path().join("libplug.so")).unwrap();
        let module = |path: &str, segments: Vec<(u64, u64, u32)>| Module {
            path: path.to_string(),
            base: 0,
            segments,
            loaded_ns: 0,
            unloaded_ns: None,
        };
        let bases = [other.path().to_path_buf(), dir.path().to_path_buf()];
        let m = module("./libplug.so", segments.clone());
        let (found, _) = open_recorded_module(&m, &bases).expect("found in the second base");
        assert_eq!(
            found.metadata().unwrap().len(),
            std::fs::metadata(&exe).unwrap().len()
        );
        // Not in any base with those segments: not read at all.
        assert!(open_recorded_module(&m, &bases[..1]).is_none());
        let wrong = module("libplug.so", vec![(0, 1, 5)]);
        assert!(open_recorded_module(&wrong, &bases).is_none());
        assert!(open_recorded_module(&module("", segments.clone()), &bases).is_none());
        assert!(open_recorded_module(&module("[vdso]", segments), &bases).is_none());
    }

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.so");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(open_module(fifo.to_str().unwrap()).is_none());
        assert!(open_module("/dev/null").is_none());
        assert!(open_module(dir.path().to_str().unwrap()).is_none());
        assert!(open_module("[vdso]").is_none());
        let real = dir.path().join("lib.so");
        std::fs::write(&real, b"\x7fELF").unwrap();
        let link = dir.path().join("link.so");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let (_f, through) = open_module(link.to_str().unwrap()).unwrap();
        assert!(through.to_string_lossy().starts_with("/proc/self/fd/"));
    }

    #[test]
    fn symbol_tables_are_found_in_the_module_or_its_debug_file() {
        // A test binary keeps its symbol table.
        let exe = std::env::current_exe().unwrap();
        let (file, through) = open_module(exe.to_str().unwrap()).unwrap();
        assert_eq!(has_symbol_table(&file), Some(true));
        assert!(debug_symbol_file(&file, &through).is_none());
        // Not ELF, or cut short: no answer, and no debug file looked for.
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.so");
        std::fs::write(&short, b"\x7fELF\x02\x01").unwrap();
        let (file, through) = open_module(short.to_str().unwrap()).unwrap();
        assert_eq!(has_symbol_table(&file), None);
        assert!(debug_symbol_file(&file, &through).is_none());
        // A stripped copy has none; its build ID names no debug file here.
        let stripped = dir.path().join("stripped");
        let ok = std::process::Command::new("strip")
            .arg("-o")
            .arg(&stripped)
            .arg(&exe)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped the stripped case: no `strip` (binutils) here");
            return;
        }
        let (file, through) = open_module(stripped.to_str().unwrap()).unwrap();
        assert_eq!(has_symbol_table(&file), Some(false));
        assert!(debug_symbol_file(&file, &through).is_none());
        // Debian's libc is stripped; with libc6-dbg its symbols are found.
        let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        let Some((file, through)) = open_module(libc) else {
            return;
        };
        if has_symbol_table(&file) == Some(false)
            && std::path::Path::new("/usr/lib/debug/.build-id").is_dir()
            && std::process::Command::new("dpkg")
                .args(["-s", "libc6-dbg"])
                .output()
                .is_ok_and(|o| o.status.success())
        {
            let (debug, _) = debug_symbol_file(&file, &through).expect("libc6-dbg's file");
            assert_eq!(has_symbol_table(&debug), Some(true));
        }
    }
}
