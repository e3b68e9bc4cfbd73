//! Other allocation interposers in the same process.
//!
//! Allocators (jemalloc, tcmalloc, mimalloc; linked or preloaded) are
//! traced through: the hooks call whatever definition comes next. Other
//! tools that trace or replace the allocator for their own checks are
//! refused at start with a message, the program then running untraced:
//! - heaptrack's and bytehound's preloads trace every allocation
//!   themselves: each would count the other's internal allocations, and
//!   their recursion guards around lazily resolved symbols are not made to
//!   nest with another tracer;
//! - sanitizer runtimes (ASan, LSan, TSan, MSan, HWASan) replace malloc
//!   inside the program itself (clang links them into the executable,
//!   which the dynamic linker searches before any preload), so the hooks
//!   would never see an allocation: "no leak" would be a lie;
//! - valgrind redirects malloc to its own replacement below every preload:
//!   same.

use core::ffi::{c_int, c_void, CStr};

/// Module name fragments of refused tools, with the message for each.
const MODULES: &[(&[u8], &[u8])] = &[
    (
        b"libheaptrack_",
        b"heaptrack's tracer is also loaded in this process: run one tracer at a time \
          (leakwatch trace, or heaptrack, not both); running untraced",
    ),
    (
        b"libbytehound",
        b"bytehound's tracer is also loaded in this process: run one tracer at a time; \
          running untraced",
    ),
    (
        b"vgpreload_",
        b"the program runs under valgrind, which replaces malloc before the tracer can see \
          it: use valgrind's own leak check, or run leakwatch trace without valgrind; \
          running untraced",
    ),
    (b"libasan.so", SANITIZER),
    (b"liblsan.so", SANITIZER),
    (b"libtsan.so", SANITIZER),
    (b"libhwasan.so", SANITIZER),
];

const SANITIZER: &[u8] =
    b"the program is built with a sanitizer (-fsanitize=address, leak, thread \
    or memory), whose runtime replaces malloc before the tracer can see it: use the \
    sanitizer's own leak report (ASAN_OPTIONS=detect_leaks=1), or rebuild without \
    -fsanitize to trace it; running untraced";

/// Entry points a sanitizer runtime linked into the program exports.
const SANITIZER_SYMBOLS: &[&CStr] = &[
    c"__asan_init",
    c"__lsan_init",
    c"__tsan_init",
    c"__msan_init",
    c"__hwasan_init",
];

/// Why this process must not be traced, if another tool stands in the way.
pub fn refuse() -> Option<&'static [u8]> {
    for name in SANITIZER_SYMBOLS {
        // SAFETY: dlsym with a NUL-terminated name.
        if !unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }.is_null() {
            return Some(SANITIZER);
        }
    }
    let mut found: Option<&'static [u8]> = None;
    unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _: usize, arg: *mut c_void) -> c_int {
        // SAFETY: valid for the callback's duration; arg is `found`.
        let (info, found) = unsafe { (&*info, &mut *arg.cast::<Option<&'static [u8]>>()) };
        if info.dlpi_name.is_null() {
            return 0;
        }
        // SAFETY: NUL-terminated object name.
        let name = unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes();
        let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
        for (fragment, why) in MODULES {
            if base.windows(fragment.len()).any(|w| w == *fragment) {
                *found = Some(why);
                return 1;
            }
        }
        0
    }
    // SAFETY: the callback only writes `found`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(visit),
            (&mut found as *mut Option<&'static [u8]>).cast(),
        )
    };
    found
}
