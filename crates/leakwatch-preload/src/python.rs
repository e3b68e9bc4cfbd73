//! Python frames: when the traced process runs CPython (3.8 to 3.13), each
//! recorded stack gets the Python frames (code object, instruction)
//! spliced in at the interpreter's eval-loop frames, the way py-spy and
//! memray's native mode show them.
//!
//! Found at start-up and after each `dlopen`: the eval loop
//! (`_PyEval_EvalFrameDefault`, its address range from the dynamic symbol
//! table), `_PyRuntime` and `PyCode_Type`, and the version (from the
//! module's name, `libpython3.X` or `python3.X`), which picks the
//! structure offsets below (generated from each version's own headers
//! with `offsetof`; see `tests/python_offsets.rs`, which checks them
//! against every installed interpreter).
//!
//! On the hot path, only when the unwound native stack holds an eval-loop
//! frame:
//! 1. the thread's own `PyThreadState` comes from the interpreter's
//!    thread-specific key (`_PyRuntime.autoTSSkey`, read with
//!    `pthread_getspecific`: no GIL, no call into Python). It is the
//!    calling thread's current state, alive while the thread runs the eval
//!    loop, which it does (its frame is on the stack);
//! 2. its frame chain is read innermost first. The frames are the calling
//!    thread's own, written only by itself, and it is inside the allocator
//!    called from them, so they are consistent and alive (frames hold
//!    strong references to their code objects); each pointer is still
//!    checked (non-null, aligned, a user address; code objects by their
//!    type) and the walk stops at the first that fails;
//! 3. a code object the thread has not met yet (a per-thread direct-mapped
//!    table, checked by the code's name and line table pointers) is copied
//!    with `process_vm_readv` on ourselves (an invalid pointer there gives
//!    EFAULT, never a crash) into a PYCODE ring record: qualified name,
//!    file, first line and line table, so lines are computed after the run
//!    from (code, instruction);
//! 4. the frames are grouped per eval-loop invocation (3.8-3.10: one frame
//!    each; 3.11: up to an `is_entry` frame; 3.12+: up to the C-stack shim
//!    frame) and group k replaces the k-th eval-loop frame from the inside;
//!    the spliced stack's nodes are written with `Ring::new_py_node` and
//!    remembered per thread by a hash of (native stack, Python frames).
//!
//! Nothing here allocates after a thread's first Python stack (its state
//! is one anonymous mapping) or takes a lock.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::ring::{path_hash, Ring, PATH_ROOT};

/// Bit 63 of a frame value marks a Python frame (user addresses never have
/// it): in the ring `code << 32 | lasti` per thread, in the file
/// `code << 32 | lasti` with the file's code ids.
pub const PY_FRAME_BIT: u64 = 1 << 63;

/// Structure offsets of one CPython minor version (x86_64).
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub minor: u32,
    pub runtime_autotss: usize,
    pub tstate_frame: usize,
    /// Offset of `current_frame` in the `_PyCFrame` the thread state
    /// points to (3.11, 3.12); `usize::MAX`: the thread state holds the
    /// frame itself.
    pub cframe_current_frame: usize,
    pub frame_previous: usize,
    pub frame_code: usize,
    pub frame_instr: usize,
    pub frame_owner: usize,
    pub frame_is_entry: usize,
    pub code_qualname: usize,
    pub code_linetable: usize,
    pub code_code: usize,
    pub code_filename: usize,
    pub code_name: usize,
    pub code_firstlineno: usize,
    pub unicode_ascii_data: usize,
    pub unicode_utf8_length: usize,
    pub unicode_utf8: usize,
}

const NONE: usize = usize::MAX;

/// Offsets per minor version, from `offsetof` on each version's headers.
pub const LAYOUTS: [Layout; 6] = [
    Layout {
        minor: 8,
        runtime_autotss: 1392,
        tstate_frame: 24,
        cframe_current_frame: NONE,
        frame_previous: 24,
        frame_code: 32,
        frame_instr: 104,
        frame_owner: NONE,
        frame_is_entry: NONE,
        code_qualname: NONE,
        code_linetable: 120,
        code_code: NONE,
        code_filename: 104,
        code_name: 112,
        code_firstlineno: 40,
        unicode_ascii_data: 48,
        unicode_utf8_length: 48,
        unicode_utf8: 56,
    },
    Layout {
        minor: 9,
        runtime_autotss: 584,
        tstate_frame: 24,
        cframe_current_frame: NONE,
        frame_previous: 24,
        frame_code: 32,
        frame_instr: 104,
        frame_owner: NONE,
        frame_is_entry: NONE,
        code_qualname: NONE,
        code_linetable: 120,
        code_code: NONE,
        code_filename: 104,
        code_name: 112,
        code_firstlineno: 40,
        unicode_ascii_data: 48,
        unicode_utf8_length: 48,
        unicode_utf8: 56,
    },
    Layout {
        minor: 10,
        runtime_autotss: 584,
        tstate_frame: 24,
        cframe_current_frame: NONE,
        frame_previous: 24,
        frame_code: 32,
        frame_instr: 96,
        frame_owner: NONE,
        frame_is_entry: NONE,
        code_qualname: NONE,
        code_linetable: 120,
        code_code: NONE,
        code_filename: 104,
        code_name: 112,
        code_firstlineno: 40,
        unicode_ascii_data: 48,
        unicode_utf8_length: 48,
        unicode_utf8: 56,
    },
    Layout {
        minor: 11,
        runtime_autotss: 592,
        tstate_frame: 56,
        cframe_current_frame: 8,
        frame_previous: 48,
        frame_code: 32,
        frame_instr: 56,
        frame_owner: 69,
        frame_is_entry: 68,
        code_qualname: 128,
        code_linetable: 136,
        code_code: 184,
        code_filename: 112,
        code_name: 120,
        code_firstlineno: 72,
        unicode_ascii_data: 48,
        unicode_utf8_length: 48,
        unicode_utf8: 56,
    },
    Layout {
        minor: 12,
        runtime_autotss: 1544,
        tstate_frame: 56,
        cframe_current_frame: 0,
        frame_previous: 8,
        frame_code: 0,
        frame_instr: 56,
        frame_owner: 70,
        frame_is_entry: NONE,
        code_qualname: 128,
        code_linetable: 136,
        code_code: 192,
        code_filename: 112,
        code_name: 120,
        code_firstlineno: 68,
        unicode_ascii_data: 40,
        unicode_utf8_length: 40,
        unicode_utf8: 48,
    },
    Layout {
        minor: 13,
        runtime_autotss: 2160,
        tstate_frame: 72,
        cframe_current_frame: NONE,
        frame_previous: 8,
        frame_code: 0,
        frame_instr: 56,
        frame_owner: 70,
        frame_is_entry: NONE,
        code_qualname: 128,
        code_linetable: 136,
        code_code: 200,
        code_filename: 112,
        code_name: 120,
        code_firstlineno: 68,
        unicode_ascii_data: 40,
        unicode_utf8_length: 40,
        unicode_utf8: 48,
    },
];

/// 3.12+: a frame owned by the C stack is the eval loop's entry shim.
const FRAME_OWNED_BY_CSTACK: u8 = 3;

/// Index into LAYOUTS + 1 (0: no supported CPython in the process).
static LAYOUT: AtomicUsize = AtomicUsize::new(0);
static EVAL_LO: AtomicU64 = AtomicU64::new(0);
static EVAL_HI: AtomicU64 = AtomicU64::new(0);
/// The mapped range of the module holding the eval loop (the executable
/// or libpython), whose native frames under a Python frame are dropped
/// unless `LEAKWATCH_PY_NATIVE=all` (an empty range then).
static INTERP_LO: AtomicU64 = AtomicU64::new(0);
static INTERP_HI: AtomicU64 = AtomicU64::new(0);
static RUNTIME: AtomicU64 = AtomicU64::new(0);
static CODE_TYPE: AtomicU64 = AtomicU64::new(0);
static PID: AtomicU64 = AtomicU64::new(0);

#[repr(C)]
struct DlInfo {
    fname: *const c_char,
    fbase: *mut c_void,
    sname: *const c_char,
    saddr: *mut c_void,
}

#[repr(C)]
struct ElfSym {
    name: u32,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

extern "C" {
    fn dladdr1(
        addr: *const c_void,
        info: *mut DlInfo,
        extra: *mut *mut c_void,
        flags: c_int,
    ) -> c_int;
}
const RTLD_DL_SYMENT: c_int = 1;

/// Whether stacks get Python frames.
#[inline(always)]
pub fn enabled() -> bool {
    LAYOUT.load(Ordering::Relaxed) != 0
}

/// Whether native unwinding stops at the innermost eval-loop frame (the
/// default): the Python frames describe the stack from there outward, so
/// the interpreter's native frames between and around them are not
/// unwound. `LEAKWATCH_PY_NATIVE=all` (`trace --python-native-frames`)
/// keeps them.
static STOP_AT_EVAL: AtomicUsize = AtomicUsize::new(1);

/// Sets whether unwinding stops at the innermost eval-loop frame.
pub fn set_stop_at_eval(stop: bool) {
    STOP_AT_EVAL.store(usize::from(stop), Ordering::Relaxed);
}

/// The return-address range at which native unwinding stops: the eval
/// loop's `(lo, hi]`, or an empty range.
#[inline(always)]
pub fn unwind_stop() -> (u64, u64) {
    if STOP_AT_EVAL.load(Ordering::Relaxed) == 0 {
        return (0, 0);
    }
    (
        EVAL_LO.load(Ordering::Relaxed),
        EVAL_HI.load(Ordering::Relaxed),
    )
}

fn layout() -> Option<&'static Layout> {
    match LAYOUT.load(Ordering::Acquire) {
        0 => None,
        i => LAYOUTS.get(i - 1),
    }
}

/// The minor version in a module path holding `python3.X` (the
/// executable, `libpython3.X.so...`).
pub fn minor_of_path(path: &[u8]) -> Option<u32> {
    let pat = b"python3.";
    let at = path.windows(pat.len()).rposition(|w| w == pat)?;
    let digits = &path[at + pat.len()..];
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    core::str::from_utf8(&digits[..n]).ok()?.parse().ok()
}

/// Looks for CPython in the process (call after the C library is
/// initialised: it uses `dlsym`; and after `dlopen`). The caller holds the
/// hook guard.
pub fn detect() {
    if enabled() || crate::writer::getenv(c"LEAKWATCH_PYTHON_FRAMES") == Some(b"0") {
        return;
    }
    set_stop_at_eval(crate::writer::getenv(c"LEAKWATCH_PY_NATIVE") != Some(b"all"));
    // SAFETY: dlsym/dladdr1 with NUL-terminated names and valid out
    // pointers; the returned strings belong to the loader.
    unsafe {
        let eval = libc::dlsym(libc::RTLD_DEFAULT, c"_PyEval_EvalFrameDefault".as_ptr());
        if eval.is_null() {
            return;
        }
        let mut info: DlInfo = core::mem::zeroed();
        let mut sym: *mut c_void = core::ptr::null_mut();
        if dladdr1(eval, &mut info, &mut sym, RTLD_DL_SYMENT) == 0 || sym.is_null() {
            return;
        }
        let size = (*sym.cast::<ElfSym>()).size;
        if info.fname.is_null() || size == 0 {
            return;
        }
        let path = core::ffi::CStr::from_ptr(info.fname).to_bytes();
        let mut minor = minor_of_path(path);
        if minor.is_none() {
            // The executable, named as the loader saw it (a `python3` link).
            let f = libc::dlsym(libc::RTLD_DEFAULT, c"Py_GetVersion".as_ptr());
            if !f.is_null() {
                let f: extern "C" fn() -> *const c_char = core::mem::transmute(f);
                let v = core::ffi::CStr::from_ptr(f()).to_bytes();
                let mut tagged = [0u8; 16];
                tagged[..6].copy_from_slice(b"python");
                let n = v.len().min(10);
                tagged[6..6 + n].copy_from_slice(&v[..n]);
                minor = minor_of_path(&tagged[..6 + n]);
            }
        }
        let Some(idx) = minor.and_then(|m| LAYOUTS.iter().position(|l| l.minor == m)) else {
            // Once per process: detection runs again after every dlopen
            // (each extension module an old CPython imports).
            static SAID: core::sync::atomic::AtomicBool =
                core::sync::atomic::AtomicBool::new(false);
            if !SAID.swap(true, core::sync::atomic::Ordering::Relaxed) {
                crate::log(b"CPython found, but not a version whose frames are known (3.8 to 3.13): native frames only");
            }
            return;
        };
        let runtime = libc::dlsym(libc::RTLD_DEFAULT, c"_PyRuntime".as_ptr());
        let code_type = libc::dlsym(libc::RTLD_DEFAULT, c"PyCode_Type".as_ptr());
        if runtime.is_null() || code_type.is_null() {
            return;
        }
        PID.store(libc::getpid() as u64, Ordering::Relaxed);
        EVAL_LO.store(eval as u64, Ordering::Relaxed);
        EVAL_HI.store(eval as u64 + size, Ordering::Relaxed);
        if STOP_AT_EVAL.load(Ordering::Relaxed) != 0 {
            let (lo, hi) = crate::modules::range_of(eval as usize);
            INTERP_LO.store(lo as u64, Ordering::Relaxed);
            INTERP_HI.store(hi as u64, Ordering::Relaxed);
        }
        RUNTIME.store(runtime as u64, Ordering::Relaxed);
        CODE_TYPE.store(code_type as u64, Ordering::Relaxed);
        LAYOUT.store(idx + 1, Ordering::Release);
    }
}

// ---------------------------------------------------------------------------
// Per-thread state.

const CODES: usize = 1024;
const SPLICED: usize = 4096;
/// Most Python frames read per stack.
const MAX_PY: usize = 256;
/// Most native frames spliced into (the memo's depth).
pub const MAX_NATIVE: usize = 512;
/// Staging buffer of a PYCODE ring record.
const CODE_REC: usize = 72 * 1024;
const MAX_NAME: usize = 512;
const MAX_FILE: usize = 2048;
const MAX_TABLE: usize = 64 * 1024;

#[derive(Clone, Copy)]
struct CodeSlot {
    code: u64,
    name: u64,
    table: u64,
    /// This thread's id of the code + 1 (0: empty).
    id: u32,
}

#[derive(Clone, Copy)]
struct Spliced {
    hash: u64,
    leaf: u32,
}

#[derive(Clone, Copy, Default)]
struct PyFrame {
    code: u32,
    lasti: u32,
    /// The last frame of its eval-loop invocation.
    ends_group: bool,
}

/// A thread's Python state: its code ids and spliced stacks (zeroed
/// memory is empty).
pub struct ThreadPy {
    next_code: u32,
    codes: [CodeSlot; CODES],
    spliced: [Spliced; SPLICED],
    frames: [PyFrame; MAX_PY],
    rec: [u8; CODE_REC],
    /// The last spliced walk: each step's key (a native return address
    /// or a Python frame's node key) and the ring's node for the path up
    /// to it, outermost first. A new walk reuses the nodes of the steps it
    /// shares with it instead of looking each up in the ring's node cache
    /// (the stacks of one thread differ near their top).
    path: [u64; PATH],
    path_nodes: [u32; PATH],
    path_len: usize,
    /// The native return addresses of a splice, outermost first.
    native: [u64; MAX_NATIVE],
    /// The walk being made: each step's key and `ring::path_hash`, all
    /// known before the first node lookup, so the node-cache slots of the
    /// steps that differ from the last walk load together.
    step_keys: [u64; PATH],
    step_paths: [u64; PATH],
    /// The code id of each Python step (its key keeps 31 bits of it).
    step_codes: [u32; PATH],
}

/// Steps of a spliced walk: native frames and Python frames.
const PATH: usize = MAX_NATIVE + MAX_PY;

impl ThreadPy {
    /// Forgets the code ids and stacks (a new file in a forked child).
    pub fn clear(&mut self) {
        self.next_code = 0;
        // SAFETY: plain data, zero is empty.
        unsafe {
            core::ptr::write_bytes(self.codes.as_mut_ptr(), 0, CODES);
            core::ptr::write_bytes(self.spliced.as_mut_ptr(), 0, SPLICED);
        }
        self.path_len = 0;
    }

    /// Forgets the spliced stacks (their keys name memo ids that are
    /// about to be reused).
    pub fn forget_spliced(&mut self) {
        // SAFETY: plain data, zero is empty.
        unsafe { core::ptr::write_bytes(self.spliced.as_mut_ptr(), 0, SPLICED) };
    }

    /// Forgets every written node id it holds (the ring's ids start
    /// again).
    pub fn forget_nodes(&mut self) {
        self.forget_spliced();
        self.path_len = 0;
    }
}

/// The state lives in its own mapping, apart from the ring: the
/// reference does not borrow the ring.
fn thread_py<'a>(r: &mut Ring) -> Option<&'a mut ThreadPy> {
    if r.py.is_null() {
        let size = core::mem::size_of::<ThreadPy>().next_multiple_of(4096);
        // SAFETY: an anonymous private mapping, zeroed (a valid empty state).
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        r.py = p.cast();
    }
    // SAFETY: this ring's own state, in a mapping of its own, used only by
    // its owning thread.
    unsafe { r.py.cast::<ThreadPy>().as_mut() }
}

// ---------------------------------------------------------------------------
// Memory reads.

#[inline(always)]
fn plausible(p: u64) -> bool {
    (4096..(1 << 47)).contains(&p) && p.is_multiple_of(8)
}

/// Reads a word of the calling thread's own live interpreter state (see
/// the module documentation for why these are direct loads).
#[inline(always)]
unsafe fn word(p: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { (p as *const u64).read_volatile() }
}

/// Copies `len` bytes at `addr` with process_vm_readv on ourselves: an
/// unmapped address gives an error, never a fault.
fn copy(addr: u64, out: &mut [u8]) -> bool {
    if out.is_empty() {
        return true;
    }
    let local = libc::iovec {
        iov_base: out.as_mut_ptr().cast(),
        iov_len: out.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut c_void,
        iov_len: out.len(),
    };
    // SAFETY: valid iovecs; the kernel checks the remote range.
    let n = unsafe {
        libc::process_vm_readv(PID.load(Ordering::Relaxed) as i32, &local, 1, &remote, 1, 0)
    };
    n == out.len() as isize
}

fn copy_u64(addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    copy(addr, &mut b).then(|| u64::from_le_bytes(b))
}

/// Appends a str object's UTF-8 text (at most `max` bytes) to `out` as
/// `len bytes`; `?` when it cannot be read.
fn put_str(l: &Layout, obj: u64, out: &mut Enc<'_>, max: usize) {
    let mut head = [0u8; 64];
    let ok = plausible(obj) && copy(obj, &mut head);
    let state = u32::from_le_bytes(head[32..36].try_into().unwrap_or([0; 4]));
    let len = u64::from_le_bytes(head[16..24].try_into().unwrap_or([0; 8]));
    let compact = state & (1 << 5) != 0;
    let ascii = state & (1 << 6) != 0;
    let (data, n) = if !ok {
        (0, 0)
    } else if compact && ascii {
        (obj + l.unicode_ascii_data as u64, len as usize)
    } else {
        let at = l.unicode_utf8_length;
        let ulen = u64::from_le_bytes(head[at..at + 8].try_into().unwrap_or([0; 8]));
        let p = copy_u64(obj + l.unicode_utf8 as u64).unwrap_or(0);
        (p, ulen as usize)
    };
    let n = n.min(max);
    if data != 0 && out.bytes_from(data, n) {
        return;
    }
    // A compact non-ASCII name (`köp`) has no UTF-8 copy until something
    // asks for one: read its code points (1, 2 or 4 bytes each) and encode.
    let kind = ((state >> 2) & 7) as usize;
    if ok && compact && !ascii && matches!(kind, 1 | 2 | 4) {
        // After PyCompactUnicodeObject: utf8_length, utf8 (and, up to
        // 3.11, wstr_length).
        let at = obj + (l.unicode_utf8 + 8 + if l.minor <= 11 { 8 } else { 0 }) as u64;
        let chars = (len as usize).min(MAX_DECODED_CHARS);
        let mut raw = [0u8; MAX_DECODED_CHARS * 4];
        let mut utf8 = [0u8; MAX_DECODED_CHARS * 4];
        if copy(at, &mut raw[..chars * kind]) {
            let mut w = 0;
            for i in 0..chars {
                let b = &raw[i * kind..(i + 1) * kind];
                let cp = match kind {
                    1 => u32::from(b[0]),
                    2 => u32::from(u16::from_le_bytes([b[0], b[1]])),
                    _ => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                };
                let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                if w + c.len_utf8() > max.min(utf8.len()) {
                    break;
                }
                w += c.encode_utf8(&mut utf8[w..]).len();
            }
            out.bytes(&utf8[..w]);
            return;
        }
    }
    out.bytes(b"?");
}

/// Code points of a non-ASCII name decoded at most (a stack buffer: the
/// hook allocates nothing).
const MAX_DECODED_CHARS: usize = 256;

/// A bounded writer into the staging buffer.
struct Enc<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Enc<'_> {
    fn u(&mut self, mut v: u64) {
        while v >= 0x80 && self.len < self.buf.len() {
            self.buf[self.len] = v as u8 | 0x80;
            self.len += 1;
            v >>= 7;
        }
        if self.len < self.buf.len() {
            self.buf[self.len] = v as u8;
            self.len += 1;
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        let n = b.len().min(self.buf.len().saturating_sub(self.len + 10));
        self.u(n as u64);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }

    /// `len bytes` copied from memory at `addr`; false (nothing written)
    /// when it cannot be read.
    fn bytes_from(&mut self, addr: u64, n: usize) -> bool {
        let n = n.min(self.buf.len().saturating_sub(self.len + 10));
        let save = self.len;
        self.u(n as u64);
        let at = self.len;
        if !copy(addr, &mut self.buf[at..at + n]) {
            self.len = save;
            return false;
        }
        self.len += n;
        true
    }
}

/// This thread's id of code object `code`, writing a PYCODE ring record
/// the first time (or when the address now holds another code object).
fn code_id(l: &Layout, tp: &mut ThreadPy, r: &mut Ring, code: u64) -> Option<u32> {
    // SAFETY: a live code object of the thread's own frame (type checked
    // by the caller).
    let (name, table) = unsafe {
        (
            word(code + l.code_name as u64),
            word(code + l.code_linetable as u64),
        )
    };
    // Two-way: a loop's caller and callee may share a slot.
    let h = (code >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let set = ((h ^ (h >> 31)) >> 40) as usize & (CODES - 2);
    for idx in [set, set + 1] {
        let s = tp.codes[idx];
        if s.id != 0 && s.code == code && s.name == name && s.table == table {
            return Some(s.id - 1);
        }
    }
    // Replace the way not used last (ids grow: the older one).
    let idx = if tp.codes[set].id <= tp.codes[set + 1].id {
        set
    } else {
        set + 1
    };
    let id = tp.next_code;
    let mut e = Enc {
        buf: &mut tp.rec,
        len: 0,
    };
    e.buf[0] = crate::REC_PYCODE_RING;
    e.len = 1;
    e.u(u64::from(id));
    e.u(u64::from(l.minor));
    let mut first = [0u8; 4];
    if !copy(code + l.code_firstlineno as u64, &mut first) {
        return None;
    }
    e.u(u64::from(u32::from_le_bytes(first)));
    let qual = if l.code_qualname != NONE {
        copy_u64(code + l.code_qualname as u64).unwrap_or(name)
    } else {
        name
    };
    put_str(l, qual, &mut e, MAX_NAME);
    let file = copy_u64(code + l.code_filename as u64).unwrap_or(0);
    put_str(l, file, &mut e, MAX_FILE);
    // The line table is a bytes object: size at 16, data at 32.
    let tlen = if plausible(table) {
        copy_u64(table + 16).unwrap_or(0) as usize
    } else {
        0
    };
    if tlen == 0 || !e.bytes_from(table + 32, tlen.min(MAX_TABLE)) {
        e.bytes(b"");
    }
    let len = e.len;
    tp.next_code += 1;
    tp.codes[idx] = CodeSlot {
        code,
        name,
        table,
        id: id + 1,
    };
    r.push(&tp.rec[..len]);
    Some(id)
}

/// Reads the calling thread's Python frames into `tp.frames` (innermost
/// first); returns how many.
fn read_frames(l: &Layout, tp: &mut ThreadPy, r: &mut Ring) -> usize {
    let runtime = RUNTIME.load(Ordering::Relaxed);
    // SAFETY: _PyRuntime is a static of the loaded interpreter.
    let (inited, key) = unsafe {
        let p = (runtime + l.runtime_autotss as u64) as *const u32;
        (p.read_volatile(), p.add(1).read_volatile())
    };
    if inited == 0 {
        return 0;
    }
    // SAFETY: plain libc call; an unknown key gives null.
    let tstate = unsafe { libc::pthread_getspecific(key) } as u64;
    if !plausible(tstate) {
        return 0;
    }
    // SAFETY: the calling thread's own live thread state.
    let mut frame = unsafe { word(tstate + l.tstate_frame as u64) };
    if l.cframe_current_frame != NONE {
        if !plausible(frame) {
            return 0;
        }
        // SAFETY: the thread's current C frame, live on its stack.
        frame = unsafe { word(frame + l.cframe_current_frame as u64) };
    }
    let code_type = CODE_TYPE.load(Ordering::Relaxed);
    let mut n = 0;
    let mut steps = 0;
    while plausible(frame) && n < MAX_PY && steps < 4 * MAX_PY {
        steps += 1;
        // SAFETY: a frame of the thread's own chain (see the module
        // documentation); each pointer checked before use.
        unsafe {
            let owner = if l.frame_owner != NONE {
                ((frame + l.frame_owner as u64) as *const u8).read_volatile()
            } else {
                0
            };
            let next = word(frame + l.frame_previous as u64);
            if l.minor >= 12 && owner == FRAME_OWNED_BY_CSTACK {
                if n > 0 {
                    tp.frames[n - 1].ends_group = true;
                }
                frame = next;
                continue;
            }
            let code = word(frame + l.frame_code as u64);
            if !plausible(code) || word(code + 8) != code_type {
                break;
            }
            let lasti = if l.code_code == NONE {
                // PyFrameObject.f_lasti, an int (bytes before 3.10, code
                // units from 3.10).
                ((frame + l.frame_instr as u64) as *const i32)
                    .read_volatile()
                    .max(0) as u32
            } else {
                let instr = word(frame + l.frame_instr as u64);
                let start = code + l.code_code as u64;
                (instr.saturating_sub(start) / 2).min(u32::MAX as u64) as u32
            };
            let ends_group = match l.minor {
                8..=10 => true,
                11 => ((frame + l.frame_is_entry as u64) as *const u8).read_volatile() != 0,
                _ => false,
            };
            let Some(id) = code_id(l, tp, r, code) else {
                break;
            };
            tp.frames[n] = PyFrame {
                code: id,
                lasti,
                ends_group,
            };
            n += 1;
            frame = next;
        }
    }
    if n > 0 {
        tp.frames[n - 1].ends_group = true;
    }
    n
}

/// The native stack `native` gives (outermost first) written as a chain
/// of nodes; returns its leaf.
#[cold]
fn native_chain(r: &mut Ring, native: impl FnOnce(&mut [u64]) -> usize) -> u32 {
    let mut buf = [0u64; MAX_NATIVE];
    let n = native(&mut buf);
    r.new_chain_outermost_first(&buf[..n])
}

#[inline(always)]
pub fn is_eval(ip: u64, lo: u64, hi: u64) -> bool {
    // A return address points after its call.
    ip > lo && ip <= hi
}

/// Splices the calling thread's Python frames into the native stack whose
/// leaf node is `leaf` (`ips`: its return addresses, outermost first).
/// Returns the leaf node of the spliced stack (`leaf` when there are no
/// Python frames). `written`: whether `leaf` is a node written into the
/// ring, else one of the memo's unwritten ids (`Ring::memo_node`), for
/// which the native stack is written here when it is the result.
pub fn splice(
    r: &mut Ring,
    leaf: u32,
    written: bool,
    native: impl FnOnce(&mut [u64]) -> usize,
) -> u32 {
    let Some(tp) = layout().and_then(|l| thread_py(r).map(|tp| (l, tp))) else {
        return if written {
            leaf
        } else {
            native_chain(r, native)
        };
    };
    let (l, tp) = tp;
    let n = read_frames(l, tp, r);
    if n == 0 && written {
        return leaf;
    }
    // The result depends only on the native stack (which `leaf` names,
    // in the space `written` says) and the Python frames: a hit needs
    // neither the native return addresses nor a pass over them.
    let mut hash = (leaf as u64 ^ 0x5851_F42D_4C95_7F2D ^ u64::from(written) << 40)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for f in &tp.frames[..n] {
        let v = (u64::from(f.code) << 33) | (u64::from(f.lasti) << 1) | u64::from(f.ends_group);
        hash = (hash.rotate_left(23) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    hash |= 1;
    let idx = (hash >> 40) as usize & (SPLICED - 1);
    if tp.spliced[idx].hash == hash {
        return tp.spliced[idx].leaf;
    }
    // The thread's scratch buffer: a zeroed one on the stack cost a 4 KiB
    // memset per miss.
    let nips = native(&mut tp.native).min(MAX_NATIVE);
    let ips = &tp.native[..nips];
    let (lo, hi) = (
        EVAL_LO.load(Ordering::Relaxed),
        EVAL_HI.load(Ordering::Relaxed),
    );
    let evals = ips.iter().filter(|&&ip| is_eval(ip, lo, hi)).count();
    if evals == 0 && written {
        // Not called from Python code (a C thread, a finaliser run from
        // native code): the native stack alone.
        tp.spliced[idx] = Spliced { hash, leaf };
        return leaf;
    }
    let mut starts = [0u16; MAX_PY + 1];
    let mut groups = 0;
    for (i, f) in tp.frames[..n].iter().enumerate() {
        if i == 0 || tp.frames[i - 1].ends_group {
            starts[groups] = i as u16;
            groups += 1;
        }
        let _ = f;
    }
    starts[groups] = n as u16;
    // The walk's steps, outermost first: native frames; the j-th eval
    // frame from the outside takes group (evals - 1 - j) of Python frames,
    // the outermost takes any groups beyond the eval frames too.
    let mut nsteps = 0usize;
    let mut path = PATH_ROOT;
    let mut push = |tp: &mut ThreadPy, key: u64, code: u32| {
        path = path_hash(path, key);
        tp.step_keys[nsteps] = key;
        tp.step_codes[nsteps] = code;
        tp.step_paths[nsteps] = path;
        nsteps += 1;
    };
    // The interpreter's own frames under a Python frame are how CPython
    // ran that line, not your code: dropped (as memray shows Python
    // frames), which also spares writing the C parser's deep recursion
    // as distinct stacks (99 % of the CPython job's stack nodes).
    // Extensions' and libraries' frames stay, and so do frames outside
    // the outermost Python frame (j == 0: an embedding program's, or a
    // whole-stack unwind's start-up frames, as before).
    let (interp_lo, interp_hi) = (
        INTERP_LO.load(Ordering::Relaxed),
        INTERP_HI.load(Ordering::Relaxed),
    );
    let mut j = 0usize;
    for k in 0..nips {
        let ip = tp.native[k];
        if !is_eval(ip, lo, hi) {
            if j == 0 || ip < interp_lo || ip >= interp_hi {
                push(tp, ip, 0);
            }
            continue;
        }
        let g = evals - 1 - j;
        let (g_in, g_out) = if j == 0 { (g, groups) } else { (g, g + 1) };
        j += 1;
        if g_in >= groups {
            // No Python frames left for this invocation: keep it native.
            push(tp, ip, 0);
            continue;
        }
        let (first, last) = (starts[g_in] as usize, starts[g_out.min(groups)] as usize);
        for k in (first..last).rev() {
            let f = tp.frames[k];
            let key = PY_FRAME_BIT | (u64::from(f.code) << 32) | u64::from(f.lasti);
            push(tp, key, f.code);
        }
    }
    // The last walk's nodes serve while its steps are the same (the
    // stacks of one thread differ near their top); the slots of the
    // others are prefetched, then their nodes made in order.
    let mut same = 0usize;
    while same < nsteps.min(tp.path_len) && tp.path[same] == tp.step_keys[same] {
        same += 1;
    }
    for &path in &tp.step_paths[same..nsteps] {
        r.prefetch_node(path);
    }
    let mut parent = same.checked_sub(1).map(|k| tp.path_nodes[k]);
    for k in same..nsteps {
        let (key, path) = (tp.step_keys[k], tp.step_paths[k]);
        let node = if key & PY_FRAME_BIT != 0 {
            r.new_py_node(path, parent, tp.step_codes[k], key as u32)
        } else {
            // Frames under a Python frame are delta-coded from 0.
            let parent_ip = match k {
                0 => 0,
                _ if tp.step_keys[k - 1] & PY_FRAME_BIT != 0 => 0,
                _ => tp.step_keys[k - 1],
            };
            r.new_splice_node(path, parent, key, parent_ip)
        };
        tp.path[k] = key;
        tp.path_nodes[k] = node;
        tp.path_len = k + 1;
        parent = Some(node);
    }
    // No frame at all: the empty stack, a node of address 0 (as
    // `Ring::new_chain` writes it).
    let out = match parent {
        Some(p) => p,
        None if written => leaf,
        None => r.new_chain(&[]),
    };
    tp.spliced[idx] = Spliced { hash, leaf: out };
    out
}
