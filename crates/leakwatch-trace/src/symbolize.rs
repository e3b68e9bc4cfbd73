//! Turning recorded return addresses into functions and source lines, after
//! the run, from the module map recorded in the trace (blazesym: DWARF line
//! tables with inlined functions, ELF symbols, Rust and C++ demangling).

use std::collections::HashMap;
use std::path::Path;

use blazesym::symbolize::source::{Elf, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer as Blaze};
use serde::Serialize;

use crate::reader::Tables;

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

/// Resolves addresses once each and remembers the answers.
pub struct Symbolizer {
    blaze: Blaze,
    cache: HashMap<u64, Vec<Frame>>,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Self::new()
    }
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

fn code_path(ci: &blazesym::symbolize::CodeInfo<'_>) -> String {
    ci.to_path().to_string_lossy().into_owned()
}

impl Symbolizer {
    pub fn new() -> Self {
        Symbolizer {
            blaze: Blaze::builder()
                .enable_code_info(true)
                .enable_inlined_fns(true)
                .enable_demangling(true)
                .build(),
            cache: HashMap::new(),
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
            // Return addresses point after the call: look up the call itself.
            let lookup = addr.saturating_sub(1);
            match tables.module_of(lookup, ts) {
                Some(m) => {
                    let idx = tables
                        .modules
                        .iter()
                        .position(|x| std::ptr::eq(x, m))
                        .unwrap_or(0);
                    by_module.entry(idx).or_default().push(addr);
                }
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
                }],
            );
        }
        for (idx, addrs) in by_module {
            let m = &tables.modules[idx];
            let offsets: Vec<u64> = addrs
                .iter()
                .map(|a| a.saturating_sub(1).wrapping_sub(m.base))
                .collect();
            let module = file_name(&m.path);
            let src = Source::Elf(Elf::new(&m.path));
            let results = self
                .blaze
                .symbolize(&src, Input::VirtOffset(&offsets))
                .unwrap_or_default();
            for (i, &addr) in addrs.iter().enumerate() {
                let frames = match results.get(i) {
                    Some(Symbolized::Sym(sym)) => {
                        let mut frames = Vec::new();
                        // blazesym lists inlined callees outermost first,
                        // each with the location inside it.
                        for inl in sym.inlined.iter().rev() {
                            frames.push(Frame {
                                function: inl.name.to_string(),
                                file: inl.code_info.as_ref().map(code_path),
                                line: inl.code_info.as_ref().and_then(|c| c.line),
                                module: module.clone(),
                                addr,
                                inlined: true,
                            });
                        }
                        frames.push(Frame {
                            function: sym.name.to_string(),
                            file: sym.code_info.as_deref().map(code_path),
                            line: sym.code_info.as_ref().and_then(|c| c.line),
                            module: module.clone(),
                            addr,
                            inlined: false,
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
                    }],
                };
                self.cache.insert(addr, frames);
            }
        }
    }

    /// The frames of a stack, innermost first, after [`Self::resolve`].
    pub fn frames(&self, stack: &[u64]) -> Vec<Frame> {
        stack
            .iter()
            .flat_map(|a| self.cache.get(a).cloned().unwrap_or_default())
            .collect()
    }
}
