//! Whose code a frame is: the program's own, a language runtime's (an
//! interpreter and its standard modules), or the system's (the C and C++
//! runtimes, the allocator, the tracer). The report's headline for a stack
//! is its first frame in the program's own code; blocks a runtime leaves at
//! exit on purpose are "runtime residue" (see [`ModuleKind::Runtime`]).

use std::path::Path;

use crate::symbolize::Frame;

/// What a loaded module is, judged by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleKind {
    /// The C, C++ and Rust runtimes, the dynamic loader and allocators:
    /// never the user's code, never a runtime's residue by themselves.
    System,
    /// leakwatch's own tracer.
    Tracer,
    /// An interpreter or VM and the modules that ship with it (CPython's
    /// executable, `libpython`, its `lib-dynload` extension modules; node,
    /// ruby, perl, php, the JVM). Blocks they still hold at exit, allocated
    /// with only runtime and system code on the stack, are the runtime's
    /// residue, not the program's leak.
    Runtime(&'static str),
    /// Everything else: the program, its own libraries, extensions it built.
    Program,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `name` is `prefix` followed by a version (digits and dots) and
/// an optional build suffix letter or two (`python3.11`, `python3.13t`).
fn versioned(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    tail.len() <= 2 && tail.chars().all(|c| c.is_ascii_lowercase())
}

/// The kind of the module at `path` (as the loader named it).
pub fn module_kind(path: &str) -> ModuleKind {
    let name = file_name(path);
    const SYSTEM: &[&str] = &[
        "libc.so",
        "libc-",
        "ld-linux",
        "ld-",
        "libstdc++",
        "libgcc_s",
        "libm.so",
        "libm-",
        "libpthread",
        "libdl.so",
        "libdl-",
        "librt.so",
        "libc++",
        "libunwind",
        "libjemalloc",
        "libtcmalloc",
        "libmimalloc",
        "linux-vdso",
    ];
    if name.starts_with("libleakwatch_preload") {
        return ModuleKind::Tracer;
    }
    if SYSTEM.iter().any(|p| name.starts_with(p)) {
        return ModuleKind::System;
    }
    if versioned(name, "python") || name.starts_with("libpython") || path.contains("/lib-dynload/")
    {
        return ModuleKind::Runtime("python");
    }
    if name == "node" || name == "nodejs" || name.starts_with("libnode.so") {
        return ModuleKind::Runtime("node");
    }
    if versioned(name, "ruby") || name.starts_with("libruby") || ruby_standard_extension(path) {
        return ModuleKind::Runtime("ruby");
    }
    if versioned(name, "perl") || name.starts_with("libperl") || perl_core_extension(path) {
        return ModuleKind::Runtime("perl");
    }
    if versioned(name, "tclsh") || name.starts_with("libtcl") {
        return ModuleKind::Runtime("tcl");
    }
    if versioned(name, "php") || name.starts_with("libphp") {
        return ModuleKind::Runtime("php");
    }
    // The JDK's own libraries: the launcher's (`libjli.so`, whose
    // `JavaMain` starts every Java thread's stack), the class library's
    // natives; Debian and Red Hat install every JDK under /usr/lib/jvm.
    const JDK: &[&str] = &["libjli.so", "libjava.so", "libjimage.so", "libjsig.so"];
    if name.starts_with("libjvm.so")
        || JDK.contains(&name)
        || path.contains("/lib/jvm/")
        || (name == "java" && Path::new(path).is_absolute())
    {
        return ModuleKind::Runtime("java");
    }
    ModuleKind::Program
}

/// Whether `path` is a shared library installed in the system's library
/// directories (`/usr/lib/x86_64-linux-gnu/libreadline.so.8`), not in a
/// language's package directory: a library the distribution ships, not
/// the program's own code.
pub fn is_system_library(path: &str) -> bool {
    const DIRS: [&str; 4] = ["/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/"];
    const PACKAGES: [&str; 4] = ["site-packages", "dist-packages", "node_modules", "/gems/"];
    let name = file_name(path);
    DIRS.iter().any(|d| path.starts_with(d))
        && name.starts_with("lib")
        && name.contains(".so")
        && !PACKAGES.iter().any(|p| path.contains(p))
}

/// Whether `path` is an XS module of Perl's own core library, as Debian
/// installs it (`/usr/lib/x86_64-linux-gnu/perl/5.36/auto/POSIX/POSIX.so`,
/// `.../perl-base/auto/List/Util/Util.so`): not a CPAN module's (`perl5`,
/// `site_perl`, anything under /usr/local).
fn perl_core_extension(path: &str) -> bool {
    if !path.ends_with(".so") || !path.contains("/auto/") || path.starts_with("/usr/local/") {
        return false;
    }
    let parts: Vec<&str> = path.split('/').collect();
    parts.contains(&"perl-base")
        || version_dir_under(&parts, "perl", 2) && !parts.contains(&"site_perl")
}

/// Whether the path's components hold `dir` followed by a version
/// directory: `parts` dot-separated numbers or more (`5.36`, `3.1.0`).
fn version_dir_under(components: &[&str], dir: &str, parts: usize) -> bool {
    components.windows(2).any(|w| {
        w[0] == dir
            && w[1].split('.').count() >= parts
            && w[1]
                .split('.')
                .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Whether `path` is an extension module of Ruby's own standard library:
/// in the interpreter's version directory (`.../ruby/3.1.0/enc/encdb.so`,
/// `.../lib/ruby/3.1.0/x86_64-linux/socket.so`), not in a gem's
/// (`.../ruby/gems/3.1.0/...`, `vendor_ruby`, `site_ruby`).
fn ruby_standard_extension(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    // Fiddle, the foreign function interface, allocates at the script's
    // request: not the runtime's.
    if parts.last() == Some(&"fiddle.so") {
        return false;
    }
    version_dir_under(&parts, "ruby", 3)
        && !parts
            .iter()
            .any(|p| *p == "gems" || *p == "vendor_ruby" || *p == "site_ruby")
        && path.ends_with(".so")
}

/// The qualified name of a demangled function, without its return type
/// and parameter list: `std::shared_ptr<T> make_node<int>(int)` gives
/// `make_node<int>`, `void std::vector<int>::push_back(int const&)` gives
/// `std::vector<int>::push_back`.
pub fn base_name(function: &str) -> &str {
    let b = function.as_bytes();
    // The parameter list: the last top-level `(...)` group, ignoring a
    // trailing qualifier (` const`, ` &&`, `[clone .cold]`).
    let mut depth_angle = 0i32;
    let mut depth_paren = 0i32;
    let mut params_at = None;
    for (i, &c) in b.iter().enumerate() {
        // Bytes, not `str`: `i` may fall inside a UTF-8 character (`köp`).
        let before = &b[..i];
        // `operator<`, `operator<<`, `operator>`, `operator->` and
        // `operator()` are names, not brackets.
        let operator = before.ends_with(b"operator");
        match c {
            b'<' if !operator && !before.ends_with(b"operator<") => depth_angle += 1,
            b'>' if depth_angle > 0 && !operator && !before.ends_with(b"-") => depth_angle -= 1,
            b'(' => {
                if depth_paren == 0 && depth_angle == 0 && !operator {
                    params_at = Some(i);
                }
                depth_paren += 1;
            }
            b')' => depth_paren -= 1,
            _ => {}
        }
    }
    let head = match params_at {
        // `(anonymous namespace)::f()`: a group at the very start is a name.
        Some(0) => function,
        Some(p) => &function[..p],
        None => function,
    };
    // The return type: everything before the last top-level space.
    let hb = head.as_bytes();
    let (mut da, mut dp) = (0i32, 0i32);
    let mut cut = 0;
    for (j, &c) in hb.iter().enumerate() {
        match c {
            b'<' => da += 1,
            b'>' => da -= 1,
            b'(' => dp += 1,
            b')' => dp -= 1,
            b' ' if da <= 0 && dp <= 0 => {
                let before = &head[..j];
                // `operator new`, `operator delete[]`, `unsigned int` casts.
                if !before.ends_with("operator") {
                    cut = j + 1;
                }
            }
            _ => {}
        }
    }
    head[cut..].trim()
}

/// Functions of the allocator and the language runtimes' allocation paths:
/// skipped to find where an allocation was asked for.
pub fn is_allocator_function(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "operator new",
        "malloc",
        "calloc",
        "realloc",
        "reallocarray",
        "posix_memalign",
        "aligned_alloc",
        "memalign",
        "valloc",
        "pvalloc",
        "__libc_",
        "__rust_alloc",
        "__rust_realloc",
        "__rust_alloc_zeroed",
        "__rdl_",
        "__rg_",
        // The same shims as newer toolchains name them, seen when LTO
        // inlines them into the program (`__rustc::__rdl_alloc`).
        "__rustc::__rust_alloc",
        "__rustc::__rust_realloc",
        "__rustc::__rust_alloc_zeroed",
        "__rustc::__rdl_",
        "__rustc::__rg_",
        "alloc::",
        "<alloc::",
        "std::alloc::",
        "<std::alloc::",
        "std::sys::alloc",
        "std::sys::pal::unix::alloc",
        "<std::sys::alloc",
        "core::alloc::",
        "__gnu_cxx::new_allocator",
        "__gnu_cxx::__new_allocator",
        "std::allocator",
        "std::__new_allocator",
        "std::allocator_traits",
        // Well-known wrappers that only allocate or abort (libiberty, glib,
        // SQLite, CPython's raw allocator): the caller is the site.
        "xmalloc",
        "xcalloc",
        "xrealloc",
        "xstrdup",
        "xmemdup",
        "g_malloc",
        "g_malloc0",
        "g_realloc",
        "g_try_malloc",
        "sqlite3Malloc",
        "sqlite3_malloc",
        "sqlite3_realloc",
        "PyMem_RawMalloc",
        "PyMem_RawCalloc",
        "PyMem_RawRealloc",
        "_PyMem_RawMalloc",
        "_PyMem_RawCalloc",
        "_PyMem_RawRealloc",
    ];
    let name = base_name(name);
    // A prefix ending in a separator matches anything after it; a whole
    // identifier matches only itself (`malloc`, `malloc@plt`, not
    // `mallocate_buffers`).
    PREFIXES.iter().any(|p| {
        name.strip_prefix(p).is_some_and(|rest| {
            p.ends_with([':', '_'])
                || !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

/// Functions of the standard libraries' own code (C++ `std::` and GNU
/// internals, Rust's `core`, `alloc` and `std`).
pub fn is_std_function(name: &str) -> bool {
    let base = base_name(name);
    const PREFIXES: &[&str] = &[
        "std::",
        "__gnu_cxx::",
        "__cxxabiv1::",
        "__cxa_",
        "__gnu_",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "<&",
        "__rust_",
        "__rdl_",
        "__rg_",
        "__rustc::",
    ];
    PREFIXES.iter().any(|p| base.starts_with(p))
}

/// Whether a frame is part of the allocation machinery or the standard
/// libraries rather than the code that asked for memory.
pub fn is_internal(f: &Frame) -> bool {
    matches!(f.kind, ModuleKind::System | ModuleKind::Tracer)
        || is_allocator_function(&f.function)
        || is_std_function(&f.function)
        || f.file.as_deref().is_some_and(|file| {
            file.contains("/library/alloc/src/")
                || file.contains("/library/core/src/")
                || file.contains("/library/std/src/")
        })
}

/// Whether a frame is the allocator's own entry (malloc and friends, the
/// allocator-level C++ and Rust functions, the tracer): hidden from the
/// default stack listing.
pub fn is_allocator_frame(f: &Frame) -> bool {
    matches!(f.kind, ModuleKind::Tracer)
        || (f.kind == ModuleKind::System && is_allocator_function(base_name(&f.function)))
        || is_allocator_function(base_name(&f.function))
        || f.file.as_deref().is_some_and(|file| {
            file.contains("/library/alloc/src/") || file.contains("/library/core/src/alloc")
        })
}

/// Whether `name` (called from `inner`) is Rust's generated C `main`,
/// which only starts the Rust runtime: not the program's code.
pub fn is_rust_main_shim(name: &str, inner: Option<&str>) -> bool {
    base_name(name) == "main"
        && inner.is_some_and(|i| base_name(i).starts_with("std::rt::lang_start"))
}

/// The frame to name a stack by: the first in the program's own code (or
/// a runtime's), else the first outside the allocator, else the first;
/// never one below `main`.
pub fn headline(frames: &[Frame]) -> Option<&Frame> {
    let trimmed = trim_frames(frames);
    let frames = if trimmed.is_empty() { frames } else { trimmed };
    // With Python frames, the first in the program's own code (a Python
    // line of yours, or a C extension's function), not the interpreter's.
    if frames.iter().any(|f| f.module == "python") {
        // A shared library the interpreter or an extension calls through
        // (libffi under ctypes, a bundled libxml2) is not the line that
        // asked: extension modules are not named `lib*.so`.
        let library = |f: &Frame| {
            f.module != "python" && f.module.starts_with("lib") && f.module.contains(".so")
        };
        if let Some(f) = frames
            .iter()
            .find(|f| f.kind == ModuleKind::Program && !is_internal(f) && !library(f))
        {
            return Some(f);
        }
    }
    frames
        .iter()
        .enumerate()
        .find(|(i, f)| {
            let shim = *i > 0 && is_rust_main_shim(&f.function, Some(&frames[i - 1].function));
            !(is_internal(f) || shim)
        })
        .map(|(_, f)| f)
        .or_else(|| frames.iter().find(|f| !is_allocator_frame(f)))
        .or(frames.first())
}

/// Frames that run the program rather than belong to it: everything from
/// the C `main` outward is cut after `main`; these are cut wherever they
/// are (thread start, Rust's runtime start).
fn is_start_frame(f: &Frame) -> bool {
    is_start_function(&f.function)
}

/// Functions that start threads: the frames a thread's own code runs
/// above (see [`trim_frames`]).
fn is_thread_start_function(function: &str) -> bool {
    matches!(
        base_name(function),
        "start_thread"
            | "clone"
            | "clone3"
            | "__clone"
            | "__clone3"
            | "__GI___clone"
            | "__GI___clone3"
    )
}

/// Sources of the toolchain's own libraries: C/C++ system headers, Rust's
/// precompiled standard library and the crates it vendors. Code inlined
/// from them is the library's, not the program's.
pub fn is_toolchain_source(file: &str) -> bool {
    const TOOLCHAIN_SOURCES: &[&str] =
        &["/usr/include/", "/usr/lib/gcc/", "/rustc/", "/rust/deps/"];
    TOOLCHAIN_SOURCES.iter().any(|p| file.starts_with(p))
}

/// Functions that start processes and threads (see [`trim_frames`]).
pub fn is_start_function(function: &str) -> bool {
    let name = base_name(function);
    matches!(
        name,
        "_start"
            // The loader's entry: below the constructors that run before
            // main (what calls them, `_dl_init`, stays: dlopen runs them too).
            | "_dl_start_user"
            | "_dl_start"
            | "__libc_start_main"
            | "__libc_start_main_impl"
            | "__libc_start_main_alias_2"
            | "__libc_start_call_main"
    ) || is_thread_start_function(function)
}

/// The frames a report shows by default: without the allocator's entry
/// frames at the top, and without what lies below `main` (the C library's
/// start-up, Rust's runtime start). A thread's stack ends at its own start
/// routine: below the outermost frame of the program's own code, the
/// runtime's frames that started it (libstdc++'s
/// `execute_native_thread_routine` and `std::thread`'s invoker, Rust's
/// `FnOnce::call_once`) are cut with the C library's `start_thread`; a
/// thread with no frame of the program's own keeps them. Innermost first.
pub fn trim_frames(frames: &[Frame]) -> &[Frame] {
    &frames[trimmed_range(frames)]
}

/// What one frame means to [`trimmed_range`], computed once per frame so
/// that callers cutting many stacks made of the same frames (a profile)
/// need not judge each frame again for every stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimRole {
    /// The allocator's own entry frame (cut from the top).
    allocator: bool,
    /// Not the program's own code: the system's libraries, a standard
    /// library's or the allocator's function, or code inlined from the
    /// toolchain's headers (cut below a thread's outermost own frame).
    runtime: bool,
    end: TrimEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrimEnd {
    /// Neither `main` nor below it.
    Neither,
    /// `main` itself: kept, and the stack ends there.
    Main,
    /// Below `main`: a process start frame, or the tracer's wrapper of
    /// `main` (shown when `main` tail-called the function below it, as
    /// CPython's does): the stack ends before it.
    Below,
    /// A thread's start (the C library's `start_thread`, Rust's
    /// `__rust_begin_short_backtrace`, which also starts Rust's `main`):
    /// the stack ends before it, and before the runtime's frames above it
    /// that lie below the program's own code.
    ThreadStart,
}

/// The [`TrimRole`] of a frame.
pub fn trim_role(f: &Frame) -> TrimRole {
    let name = base_name(&f.function);
    let end = if name == "main" && !f.inlined {
        TrimEnd::Main
    } else if name.contains("__rust_begin_short_backtrace") || is_thread_start_function(name) {
        TrimEnd::ThreadStart
    } else if is_start_frame(f) || (f.kind == ModuleKind::Tracer && name.ends_with("traced_main")) {
        TrimEnd::Below
    } else {
        TrimEnd::Neither
    };
    TrimRole {
        allocator: is_allocator_frame(f),
        runtime: is_internal(f) || f.file.as_deref().is_some_and(is_toolchain_source),
        end,
    }
}

/// Where [`trim_frames`] cuts: the range of `frames` it keeps.
pub fn trimmed_range(frames: &[Frame]) -> std::ops::Range<usize> {
    let roles: Vec<TrimRole> = frames.iter().map(trim_role).collect();
    trimmed_range_of(&roles)
}

/// [`trimmed_range`] from the frames' roles.
pub fn trimmed_range_of(roles: &[TrimRole]) -> std::ops::Range<usize> {
    let start = roles.iter().position(|r| !r.allocator).unwrap_or(0);
    let mut end = roles.len();
    for (i, r) in roles.iter().enumerate().skip(start) {
        match r.end {
            TrimEnd::Main => {
                end = i + 1;
                break;
            }
            TrimEnd::Below => {
                end = i;
                break;
            }
            TrimEnd::ThreadStart => {
                end = i;
                // Up to the outermost frame of the program's own, if any.
                if let Some(own) = roles[start..i].iter().rposition(|r| !r.runtime) {
                    end = start + own + 1;
                }
                break;
            }
            TrimEnd::Neither => {}
        }
    }
    let end = end.max(start.min(roles.len()));
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_told_apart_by_path() {
        assert_eq!(
            module_kind("/lib/x86_64-linux-gnu/libc.so.6"),
            ModuleKind::System
        );
        assert_eq!(
            module_kind("/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30"),
            ModuleKind::System
        );
        assert_eq!(
            module_kind("/work/target/release/deps/libleakwatch_preload.so"),
            ModuleKind::Tracer
        );
        assert_eq!(
            module_kind("/root/.pyenv/versions/3.11.7/bin/python3.11"),
            ModuleKind::Runtime("python")
        );
        assert_eq!(
            module_kind("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"),
            ModuleKind::Runtime("python")
        );
        assert_eq!(
            module_kind("/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so"),
            ModuleKind::Runtime("python")
        );
        assert_eq!(
            module_kind("/usr/bin/python3.13t"),
            ModuleKind::Runtime("python")
        );
        // Runtimes' own extension modules and launcher libraries.
        for ruby in [
            "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/enc/encdb.so",
            "/root/.rbenv/versions/3.2.2/lib/ruby/3.2.0/x86_64-linux/socket.so",
        ] {
            assert_eq!(module_kind(ruby), ModuleKind::Runtime("ruby"), "{ruby}");
        }
        for java in [
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/libjli.so",
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/libnio.so",
            "/opt/jdk-21/lib/libjava.so",
        ] {
            assert_eq!(module_kind(java), ModuleKind::Runtime("java"), "{java}");
        }
        for perl in [
            "/usr/lib/x86_64-linux-gnu/perl/5.36/auto/POSIX/POSIX.so",
            "/usr/lib/x86_64-linux-gnu/perl-base/auto/List/Util/Util.so",
        ] {
            assert_eq!(module_kind(perl), ModuleKind::Runtime("perl"), "{perl}");
        }
        assert_eq!(
            module_kind("/usr/lib/x86_64-linux-gnu/libtcl8.6.so"),
            ModuleKind::Runtime("tcl")
        );
        assert_eq!(module_kind("/usr/bin/tclsh8.6"), ModuleKind::Runtime("tcl"));
        // Gems' and CPAN modules' extensions are the program's, as are
        // look-alike names.
        for program in [
            "/var/lib/gems/3.1.0/gems/nokogiri-1.15.0/lib/nokogiri/nokogiri.so",
            "/usr/lib/x86_64-linux-gnu/ruby/vendor_ruby/3.1.0/ffi_c.so",
            "/usr/local/lib/site_ruby/3.1.0/x86_64-linux/mine.so",
            "/home/me/ruby/3.1.0/notes.txt",
            "/usr/lib/x86_64-linux-gnu/libzip.so.4",
            "/usr/lib/x86_64-linux-gnu/ruby/3.1.0/fiddle.so",
            "/usr/lib/x86_64-linux-gnu/perl5/5.36/auto/DBI/DBI.so",
            "/usr/local/lib/x86_64-linux-gnu/perl/5.36.0/auto/JSON/XS/XS.so",
            "/usr/local/lib/site_perl/auto/Mine/Mine.so",
        ] {
            assert_eq!(module_kind(program), ModuleKind::Program, "{program}");
        }
        // A program that merely starts with the word is the program.
        assert_eq!(module_kind("/home/me/python_tool"), ModuleKind::Program);
        assert_eq!(module_kind("/tmp/x/leaky"), ModuleKind::Program);
        assert_eq!(
            module_kind("/usr/lib/x86_64-linux-gnu/libffi.so.8"),
            ModuleKind::Program
        );
        assert_eq!(module_kind("/usr/bin/node"), ModuleKind::Runtime("node"));
    }

    #[test]
    fn system_libraries_are_told_from_package_extensions() {
        assert!(is_system_library(
            "/usr/lib/x86_64-linux-gnu/libreadline.so.8"
        ));
        assert!(is_system_library("/lib/x86_64-linux-gnu/libz.so.1.2.13"));
        for not in [
            "/usr/lib/python3/dist-packages/numpy/core/libnumpy_thing.so",
            "/usr/local/lib/libmine.so",
            "/home/me/build/libplugin.so",
            "/usr/lib/python3.11/lib-dynload/readline.cpython-311-x86_64-linux-gnu.so",
            "/usr/bin/python3.11",
        ] {
            assert!(!is_system_library(not), "{not}");
        }
    }

    #[test]
    fn base_names_drop_return_types_and_parameters() {
        assert_eq!(base_name("leak_array()"), "leak_array");
        assert_eq!(base_name("link_partners"), "link_partners");
        assert_eq!(
            base_name("std::shared_ptr<Node> make_node<int>(int)"),
            "make_node<int>"
        );
        assert_eq!(
            base_name("void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"),
            "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>"
        );
        assert_eq!(
            base_name("std::shared_ptr<std::enable_if<!std::is_array<Partner>::value, Partner>::type> std::make_shared<Partner>()"),
            "std::make_shared<Partner>"
        );
        assert_eq!(base_name("operator new(unsigned long)"), "operator new");
        assert_eq!(base_name("Foo::operator()(int) const"), "Foo::operator()");
        assert_eq!(
            base_name("(anonymous namespace)::helper(int)"),
            "(anonymous namespace)::helper"
        );
        assert_eq!(base_name("leaky::leaky_rust"), "leaky::leaky_rust");
        assert_eq!(
            base_name("link_partners(int)::{lambda()#1}::operator()() const"),
            "link_partners(int)::{lambda()#1}::operator()"
        );
        // Names outside ASCII (C identifiers may be UTF-8): a byte index
        // inside `ö` used to panic.
        assert_eq!(base_name("köp"), "köp");
        assert_eq!(base_name("void* köp(int)"), "köp");
        assert_eq!(base_name("Ä::größe<Ü>(char)"), "Ä::größe<Ü>");
    }

    proptest::proptest! {
        #[test]
        fn base_name_never_panics_and_returns_a_part(name in "\\PC{0,40}") {
            let base = base_name(&name);
            proptest::prop_assert!(name.contains(base));
        }
    }

    #[test]
    fn allocator_functions_are_whole_names_or_namespaces() {
        assert!(is_allocator_function("malloc"));
        assert!(is_allocator_function("operator new(unsigned long)"));
        assert!(is_allocator_function("operator new[](unsigned long)"));
        assert!(is_allocator_function("xcalloc"));
        assert!(is_allocator_function("__libc_malloc"));
        assert!(is_allocator_function("alloc::raw_vec::finish_grow"));
        assert!(is_allocator_function(
            "std::allocator<int>::allocate(unsigned long)"
        ));
        assert!(is_allocator_function("__rustc::__rdl_alloc"));
        assert!(is_allocator_function("__rustc::__rust_alloc_zeroed"));
        assert!(!is_allocator_function(
            "__rustc::__rust_alloc_error_handler"
        ));
        assert!(!is_allocator_function("mallocate_buffers"));
        assert!(!is_allocator_function("malloc_user_table(int)"));
        assert!(!is_allocator_function("reallocate_pool"));
    }

    #[test]
    fn std_functions_are_recognised_without_catching_user_templates() {
        assert!(is_std_function("std::__allocated_ptr<std::allocator<X> > std::__allocate_guarded<std::allocator<X> >(std::allocator<X>&)"));
        assert!(is_std_function(
            "<alloc::vec::Vec<T,A> as core::clone::Clone>::clone"
        ));
        assert!(!is_std_function(
            "std::shared_ptr<Node> make_node<int>(int)"
        ));
        assert!(!is_std_function(
            "Cache<std::string>::insert(std::string const&)"
        ));
        assert!(!is_std_function(
            "<leaky::Foo as core::ops::drop::Drop>::drop"
        ));
    }

    /// The function names `trim_frames` keeps, innermost first.
    fn kept(frames: &[Frame]) -> Vec<&str> {
        trim_frames(frames)
            .iter()
            .map(|f| f.function.as_str())
            .collect()
    }

    fn frame(function: &str, module: &str, inlined: bool) -> Frame {
        Frame {
            function: function.into(),
            file: None,
            line: None,
            module: module.rsplit('/').next().unwrap().into(),
            addr: 0,
            inlined,
            kind: module_kind(module),
        }
    }

    #[test]
    fn make_shared_is_named_by_its_caller_and_start_up_is_trimmed() {
        let frames = vec![
            frame(
                "operator new(unsigned long)",
                "/usr/lib/libstdc++.so.6",
                false,
            ),
            frame(
                "std::__allocated_ptr<A> std::__allocate_guarded<A>(A&)",
                "/tmp/p",
                true,
            ),
            frame(
                "std::shared_ptr<Partner> std::make_shared<Partner>()",
                "/tmp/p",
                true,
            ),
            frame("link_partners", "/tmp/p", true),
            frame("main", "/tmp/p", false),
            frame("__libc_start_call_main", "/lib/libc.so.6", false),
            frame("__libc_start_main_impl", "/lib/libc.so.6", false),
            frame("_start", "/tmp/p", false),
        ];
        assert_eq!(headline(&frames).unwrap().function, "link_partners");
        let shown = kept(&frames);
        assert_eq!(
            shown,
            [
                "std::__allocated_ptr<A> std::__allocate_guarded<A>(A&)",
                "std::shared_ptr<Partner> std::make_shared<Partner>()",
                "link_partners",
                "main"
            ]
        );
    }

    #[test]
    fn thread_and_rust_start_frames_are_trimmed() {
        let frames = vec![
            frame("malloc", "/x/libleakwatch_preload.so", false),
            frame("worker", "/tmp/p", false),
            frame("start_thread", "/lib/libc.so.6", false),
            frame("clone3", "/lib/libc.so.6", false),
        ];
        let shown = kept(&frames);
        assert_eq!(shown, ["worker"]);
        let frames = vec![
            frame("leaky::leaky_rust", "/tmp/r", false),
            frame("leaky::main", "/tmp/r", false),
            frame("core::ops::function::FnOnce::call_once", "/tmp/r", false),
            frame(
                "std::sys::backtrace::__rust_begin_short_backtrace",
                "/tmp/r",
                false,
            ),
            frame("std::rt::lang_start::{{closure}}", "/tmp/r", false),
            frame("main", "/tmp/r", false),
        ];
        let shown = kept(&frames);
        // Rust's `main` is started like a thread: its stack ends at the
        // user's `main`, not at std's `FnOnce::call_once` below it.
        assert_eq!(shown, ["leaky::leaky_rust", "leaky::main"]);
        assert_eq!(headline(&frames).unwrap().function, "leaky::leaky_rust");
        // The Rust runtime's own start-up: no user frame, named by std.
        let frames = vec![
            frame("alloc::alloc::alloc", "/tmp/r", false),
            frame("std::thread::Thread::new", "/tmp/r", false),
            frame("std::rt::lang_start_internal", "/tmp/r", false),
            frame("main", "/tmp/r", false),
            frame("__libc_start_call_main", "/lib/libc.so.6", false),
        ];
        assert_eq!(
            headline(&frames).unwrap().function,
            "std::thread::Thread::new"
        );
    }

    #[test]
    fn a_threads_stack_ends_at_its_outermost_own_frame() {
        let mut lambda = frame("operator()", "/tmp/p", true);
        lambda.file = Some("/src/p.cpp".into());
        let mut invoke = frame("__invoke_impl<void, main()::<lambda()> >", "/tmp/p", true);
        invoke.file = Some("/usr/include/c++/12/bits/invoke.h".into());
        let mut run = frame("_M_run", "/tmp/p", false);
        run.file = Some("/usr/include/c++/12/bits/std_thread.h".into());
        let frames = vec![
            frame("malloc", "/x/libleakwatch_preload.so", false),
            lambda,
            invoke,
            run,
            frame("0xd44a3", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", false),
            frame("start_thread", "/lib/libc.so.6", false),
            frame("clone3", "/lib/libc.so.6", false),
        ];
        let shown = kept(&frames);
        assert_eq!(shown, ["operator()"]);
        // A thread with no frame of the program's own keeps its runtime's.
        let frames = vec![
            frame("malloc", "/x/libleakwatch_preload.so", false),
            frame("0xa1", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", false),
            frame("0xd44a3", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", false),
            frame("start_thread", "/lib/libc.so.6", false),
        ];
        let shown = kept(&frames);
        assert_eq!(shown, ["0xa1", "0xd44a3"]);
        // Frames below `main` are cut at `main` itself, never trimmed back
        // past it: the loader's constructors keep what called them.
        let frames = vec![
            frame("std::vector<int>::push_back(int const&)", "/tmp/p", true),
            frame("main", "/tmp/p", false),
            frame("__libc_start_call_main", "/lib/libc.so.6", false),
        ];
        assert_eq!(trim_frames(&frames).len(), 2);
    }

    #[test]
    fn the_tracers_main_wrapper_is_cut_when_main_tail_called() {
        // CPython's `main` tail-calls Py_BytesMain: no `main` frame.
        let frames = vec![
            frame("malloc", "/x/libleakwatch_preload.so", false),
            frame("PyType_Ready", "/usr/bin/python3.11", false),
            frame("Py_BytesMain", "/usr/bin/python3.11", false),
            frame(
                "leakwatch_preload::process::traced_main",
                "/x/libleakwatch_preload.so",
                false,
            ),
            frame("__libc_start_call_main", "/lib/libc.so.6", false),
        ];
        let shown = kept(&frames);
        assert_eq!(shown, ["PyType_Ready", "Py_BytesMain"]);
    }

    #[test]
    fn a_ctypes_call_is_named_by_its_python_line_not_libffi() {
        // A Python line of the program's own (as symbolize.rs makes it).
        let mut py = frame("läck", "python", false);
        py.file = Some("/app/leak.py".into());
        py.line = Some(14);
        py.kind = ModuleKind::Program;
        let frames = vec![
            frame("malloc", "/lib/x86_64-linux-gnu/libc.so.6", false),
            frame("0x6f7a", "/lib/x86_64-linux-gnu/libffi.so.8", false),
            frame("ffi_call", "/lib/x86_64-linux-gnu/libffi.so.8", false),
            frame(
                "_ctypes_callproc",
                "/usr/lib/python3.11/lib-dynload/_ctypes.cpython-311-x86_64-linux-gnu.so",
                false,
            ),
            py,
        ];
        assert_eq!(headline(&frames).unwrap().function, "läck");
        // An extension module's own function still heads its stack.
        let mut ext = frames.clone();
        ext[1] = frame(
            "make_buffer",
            "/app/venv/lib/python3.11/site-packages/_fast.cpython-311-x86_64-linux-gnu.so",
            false,
        );
        assert_eq!(headline(&ext).unwrap().function, "make_buffer");
    }

    #[test]
    fn constructor_stacks_stop_at_the_loaders_entry() {
        let frames = vec![
            frame("make_table", "/tmp/libplug.so", false),
            frame("call_init", "/lib64/ld-linux-x86-64.so.2", true),
            frame("call_init", "/lib64/ld-linux-x86-64.so.2", false),
            frame("_dl_init", "/lib64/ld-linux-x86-64.so.2", false),
            frame("_dl_start_user", "/lib64/ld-linux-x86-64.so.2", false),
        ];
        let shown = kept(&frames);
        assert_eq!(shown, ["make_table", "call_init", "call_init", "_dl_init"]);
        assert_eq!(headline(&frames).unwrap().function, "make_table");
    }
}
