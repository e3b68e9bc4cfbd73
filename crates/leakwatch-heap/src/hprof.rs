//! Java heap dumps (HPROF, as written by `jcmd PID GC.heap_dump`, `jmap
//! -dump` and `-XX:+HeapDumpOnOutOfMemoryError`) read into a compact object
//! graph, streamed through a fixed buffer: the file is never loaded or mapped
//! whole (a dump cut while being read is an error, not a SIGBUS).
//!
//! Written here rather than taken from crates.io: the one HPROF crate
//! (`jvm-hprof` 0.1, 2021, nom 5) parses a slice of the whole file (so it
//! needs the dump mapped into memory), has `unwrap`s on input-driven paths,
//! and keeps no graph; what leakwatch needs is a streaming reader that
//! keeps only ids, classes, sizes and references.
//!
//! Three passes over the file, each a sequential read (from the page cache
//! after the first): (1) strings, classes, roots, stack traces and every
//! object's id, class and size; the ids are then sorted so that (2) reads
//! the references and stores them as node numbers at once (no 64-bit id
//! per reference is ever kept); (3) reads the few strings that name the
//! threads holding a root. Class dumps may come anywhere in the file.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::HeapError;

/// Index of an object in a [`HeapDump`]'s columns (file order).
pub type ObjIdx = u32;

const NONE: u32 = u32::MAX;
/// Label of an array element edge.
pub const ELEMENT: u32 = u32::MAX;
/// Label of a class's edge to its class loader.
const LOADER_LABEL: &str = "<classloader>";

/// The first bytes of every HPROF file.
pub const MAGIC_PREFIX: &[u8] = b"JAVA PROFILE 1.0.";

/// How a GC root holds its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// A static field of a class (`class`, `field`: indices into the class
    /// table and the label table).
    Static {
        class: u32,
        field: u32,
    },
    /// A live thread's `Thread` object.
    Thread {
        serial: u32,
    },
    /// A local variable or operand in a Java frame of a thread.
    JavaFrame {
        thread: u32,
        depth: u32,
    },
    JniLocal {
        thread: u32,
    },
    NativeStack {
        thread: u32,
    },
    ThreadBlock {
        thread: u32,
    },
    JniGlobal,
    StickyClass,
    Monitor,
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct Root {
    pub obj: ObjIdx,
    pub kind: RootKind,
}

/// A class as the dump describes it.
#[derive(Debug, Clone, Default)]
pub struct ClassInfo {
    /// Java name (`java.util.ArrayList`, `java.lang.Object[]`).
    pub name: String,
    pub id: u64,
    pub super_id: u64,
    pub loader_id: u64,
    /// The class's own instance fields (type, name id), in dump order.
    fields: Vec<(u8, u64)>,
    /// Static reference fields (name id, value id).
    static_refs: Vec<(u64, u64)>,
    static_bytes: u32,
    /// Byte offset and label of each followed reference field of an
    /// instance, over the whole class chain (filled once all classes are known).
    refs: Vec<(u32, u32)>,
    /// Bytes of an instance's field data in the dump (whole chain).
    dump_bytes: u32,
    /// Estimated size of an instance on the heap.
    heap_size: u32,
    /// Whether it has a class dump (array and primitive classes may not).
    dumped: bool,
    /// Subclass of java.lang.Thread.
    is_thread: bool,
    /// Offsets of `Thread.name`, `Thread.tid`, `Thread.eetop` in an instance's data.
    thread_fields: [Option<u32>; 3],
    /// Offsets of `String.value` and `String.coder`.
    string_fields: [Option<u32>; 2],
}

/// A JVM thread's identity: `Thread.tid` (never reused in a JVM) and
/// `Thread.eetop` (the address of the VM's thread structure, which differs
/// between JVMs). Used to tell dumps of two JVMs apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadId {
    pub tid: u64,
    pub eetop: u64,
}

/// A heap dump as a graph: objects (instances, arrays, class objects) in
/// file order with their class and estimated size, references as node
/// numbers with their field label.
#[derive(Debug, Default)]
pub struct HeapDump {
    pub id_size: u8,
    /// Milliseconds since the epoch from the header: when the dump was taken.
    pub timestamp_ms: u64,
    pub classes: Vec<ClassInfo>,
    /// Field names and other edge labels.
    pub labels: Vec<String>,
    pub obj_class: Vec<u32>,
    pub obj_size: Vec<u32>,
    /// Object ids sorted, and the object at each sorted position.
    sorted_ids: Vec<u64>,
    sorted_obj: Vec<ObjIdx>,
    /// `first_edge[o]..first_edge[o + 1]` are object o's references.
    pub first_edge: Vec<u32>,
    pub edge_to: Vec<ObjIdx>,
    pub edge_label: Vec<u32>,
    pub roots: Vec<Root>,
    /// Thread serial number → the thread's name (where it could be read).
    pub thread_names: HashMap<u32, String>,
    /// Thread serial number → the method of each frame (innermost first).
    pub thread_frames: HashMap<u32, Vec<String>>,
    /// Identities of the threads in the dump, for the same-JVM check.
    pub threads: Vec<ThreadId>,
    /// References to objects the dump does not hold (ignored).
    pub dangling_refs: u64,
    pub bytes_read: u64,
}

impl HeapDump {
    pub fn object_count(&self) -> usize {
        self.obj_class.len()
    }

    pub fn edges(&self, o: ObjIdx) -> std::ops::Range<usize> {
        self.first_edge[o as usize] as usize..self.first_edge[o as usize + 1] as usize
    }

    pub fn class_name(&self, o: ObjIdx) -> &str {
        &self.classes[self.obj_class[o as usize] as usize].name
    }

    pub fn label(&self, l: u32) -> &str {
        if l == ELEMENT {
            "[]"
        } else {
            self.labels.get(l as usize).map_or("?", |s| s.as_str())
        }
    }

    /// The object with this id, if the dump holds it.
    pub fn find(&self, id: u64) -> Option<ObjIdx> {
        self.sorted_ids
            .binary_search(&id)
            .ok()
            .map(|i| self.sorted_obj[i])
    }

    /// Frees the id index once the graph is built.
    pub fn free_ids(&mut self) {
        self.sorted_ids = Vec::new();
        self.sorted_obj = Vec::new();
    }

    /// Reads a dump file (three sequential passes).
    pub fn read_file(path: &Path) -> Result<Self, HeapError> {
        Self::read_file_with_progress(path, None)
    }

    pub fn read_file_with_progress(
        path: &Path,
        mut progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<Self, HeapError> {
        let open = || {
            std::fs::File::open(path).map_err(|e| HeapError::Io {
                offset: 0,
                source: e,
            })
        };
        let len = open()?
            .metadata()
            .map_err(|e| HeapError::Io {
                offset: 0,
                source: e,
            })?
            .len();
        let mut b = Builder::default();
        // Pass 1 reports the first half of the progress, pass 2 the second.
        let mut p1 = |off: u64| {
            if let Some(p) = progress.as_mut() {
                p(off / 2)
            }
        };
        walk(open()?, &mut Pass1 { b: &mut b }, Some(&mut p1))?;
        b.finish_pass1()?;
        let mut p2 = |off: u64| {
            if let Some(p) = progress.as_mut() {
                p(len / 2 + off / 2)
            }
        };
        walk(open()?, &mut Pass2::new(&mut b), Some(&mut p2))?;
        b.finish_pass2()?;
        if b.wants_names() {
            walk(open()?, &mut Pass3 { b: &mut b, next: 0 }, None)?;
        }
        Ok(b.finish())
    }

    /// Reads a dump from memory (tests, fuzzing).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, HeapError> {
        let mut b = Builder::default();
        walk(bytes, &mut Pass1 { b: &mut b }, None)?;
        b.finish_pass1()?;
        walk(bytes, &mut Pass2::new(&mut b), None)?;
        b.finish_pass2()?;
        if b.wants_names() {
            walk(bytes, &mut Pass3 { b: &mut b, next: 0 }, None)?;
        }
        Ok(b.finish())
    }
}

/// Size in the dump of a value of basic type `t` (`None`: not a type).
fn type_size(t: u8, id_size: u8) -> Option<u32> {
    Some(match t {
        2 => id_size as u32,
        4 | 8 => 1,
        5 | 9 => 2,
        6 | 10 => 4,
        7 | 11 => 8,
        _ => return None,
    })
}

/// Size on the heap: references are 4 bytes (compressed oops, HotSpot's
/// default below 32 GB heaps; always on 32-bit JVMs).
fn heap_type_size(t: u8) -> u32 {
    match t {
        2 => 4,
        4 | 8 => 1,
        5 | 9 => 2,
        6 | 10 => 4,
        _ => 8,
    }
}

fn align8(n: u64) -> u32 {
    n.div_ceil(8).saturating_mul(8).min(u32::MAX as u64) as u32
}

fn prim_array_name(t: u8) -> &'static str {
    match t {
        4 => "boolean[]",
        5 => "char[]",
        6 => "float[]",
        7 => "double[]",
        8 => "byte[]",
        9 => "short[]",
        10 => "int[]",
        11 => "long[]",
        _ => "(unknown)[]",
    }
}

/// `java/util/ArrayList` → `java.util.ArrayList`, `[Ljava/lang/Object;` →
/// `java.lang.Object[]`, `[[I` → `int[][]`.
pub fn java_name(raw: &str) -> String {
    let dims = raw.bytes().take_while(|&b| b == b'[').count();
    if dims == 0 {
        return raw.replace('/', ".");
    }
    let elem = &raw[dims..];
    let base = match elem {
        "Z" => "boolean".to_string(),
        "C" => "char".to_string(),
        "F" => "float".to_string(),
        "D" => "double".to_string(),
        "B" => "byte".to_string(),
        "S" => "short".to_string(),
        "I" => "int".to_string(),
        "J" => "long".to_string(),
        _ => elem
            .strip_prefix('L')
            .unwrap_or(elem)
            .trim_end_matches(';')
            .replace('/', "."),
    };
    base + &"[]".repeat(dims)
}

// ---------------------------------------------------------------------------
// The streaming reader.

const BUF: usize = 1 << 20;

struct Input<'p, R: Read> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    id_size: u8,
    progress: Option<&'p mut dyn FnMut(u64)>,
    last_progress: u64,
}

impl<'p, R: Read> Input<'p, R> {
    fn new(r: R, progress: Option<&'p mut dyn FnMut(u64)>) -> Self {
        Input {
            r,
            buf: vec![0; BUF],
            pos: 0,
            end: 0,
            base: 0,
            id_size: 8,
            progress,
            last_progress: 0,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn truncated(&self, what: &str) -> HeapError {
        HeapError::Truncated {
            offset: self.base + self.end as u64,
            expected: what.to_string(),
        }
    }

    /// Makes at least `n` (≤ BUF) bytes available; false at end of file.
    fn fill(&mut self, n: usize) -> Result<bool, HeapError> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        while self.end < n {
            let k = match self.r.read(&mut self.buf[self.end..]) {
                Ok(k) => k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(HeapError::Io {
                        offset: self.base + self.end as u64,
                        source: e,
                    })
                }
            };
            if k == 0 {
                return Ok(false);
            }
            self.end += k;
        }
        if let Some(p) = self.progress.as_mut() {
            let off = self.base + self.end as u64;
            if off - self.last_progress >= 8 << 20 {
                self.last_progress = off;
                p(off);
            }
        }
        Ok(true)
    }

    fn need(&mut self, n: usize, what: &str) -> Result<(), HeapError> {
        if self.fill(n)? {
            Ok(())
        } else {
            Err(self.truncated(what))
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, HeapError> {
        self.need(1, what)?;
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    fn u16(&mut self, what: &str) -> Result<u16, HeapError> {
        self.need(2, what)?;
        let v = u16::from_be_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        self.pos += 2;
        Ok(v)
    }

    fn u32(&mut self, what: &str) -> Result<u32, HeapError> {
        self.need(4, what)?;
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn id(&mut self, what: &str) -> Result<u64, HeapError> {
        let n = self.id_size as usize;
        self.need(n, what)?;
        let v = read_id(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(v)
    }

    /// A value of basic type `t` as a u64 (ids and numbers).
    fn value(&mut self, t: u8, what: &str) -> Result<u64, HeapError> {
        let n = type_size(t, self.id_size).ok_or_else(|| HeapError::Inconsistent {
            offset: self.offset(),
            message: format!("unknown basic type {t} in {what}"),
        })? as usize;
        self.need(n, what)?;
        let v = read_id(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(v)
    }

    fn skip(&mut self, mut n: u64, what: &str) -> Result<(), HeapError> {
        loop {
            let avail = (self.end - self.pos) as u64;
            if avail >= n {
                self.pos += n as usize;
                return Ok(());
            }
            n -= avail;
            self.pos = self.end;
            if !self.fill(1)? {
                return Err(self.truncated(what));
            }
        }
    }

    /// The next `n` (≤ BUF) bytes, borrowed from the buffer.
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], HeapError> {
        self.need(n, what)?;
        self.pos += n;
        Ok(&self.buf[self.pos - n..self.pos])
    }
}

fn read_id(b: &[u8]) -> u64 {
    let mut v = 0u64;
    for &x in b {
        v = v << 8 | x as u64;
    }
    v
}

/// What each pass does with the records.
trait Visit {
    fn header(&mut self, id_size: u8, timestamp_ms: u64);
    /// A top-level record other than a heap dump; must consume `len` bytes.
    fn record<R: Read>(&mut self, tag: u8, len: u32, inp: &mut Input<R>) -> Result<(), HeapError>;
    fn class_dump<R: Read>(&mut self, inp: &mut Input<R>) -> Result<(), HeapError>;
    /// Must consume `nbytes`.
    fn instance<R: Read>(
        &mut self,
        id: u64,
        class_id: u64,
        nbytes: u32,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError>;
    /// Must consume `n` ids.
    fn obj_array<R: Read>(
        &mut self,
        id: u64,
        n: u32,
        class_id: u64,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError>;
    /// Must consume the elements (none for a "no data" array).
    fn prim_array<R: Read>(
        &mut self,
        id: u64,
        n: u32,
        elem: u8,
        has_data: bool,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError>;
    fn root(&mut self, id: u64, kind: RootKind, stack_serial: u32);
}

/// Parses the file's records in order and hands them to `v`.
fn walk<R: Read, V: Visit>(
    r: R,
    v: &mut V,
    progress: Option<&mut dyn FnMut(u64)>,
) -> Result<(), HeapError> {
    let mut inp = Input::new(r, progress);
    // Header: "JAVA PROFILE 1.0.x\0", id size, timestamp.
    let mut magic = Vec::new();
    loop {
        if magic.len() > 32 {
            return Err(not_hprof());
        }
        if !inp.fill(1)? {
            return Err(if magic.is_empty() {
                HeapError::NotHprof("the file is empty".into())
            } else {
                not_hprof()
            });
        }
        let b = inp.u8("the header")?;
        if b == 0 {
            break;
        }
        magic.push(b);
    }
    if !magic.starts_with(MAGIC_PREFIX) {
        return Err(not_hprof());
    }
    let id_size = inp.u32("the identifier size")?;
    if id_size != 4 && id_size != 8 {
        return Err(HeapError::Inconsistent {
            offset: inp.offset() - 4,
            message: format!("identifier size {id_size} (HPROF files use 4 or 8)"),
        });
    }
    inp.id_size = id_size as u8;
    let hi = inp.u32("the timestamp")? as u64;
    let lo = inp.u32("the timestamp")? as u64;
    v.header(id_size as u8, hi << 32 | lo);
    let mut segments = false;
    let mut ended = false;
    let mut heap_dumps = 0u32;
    while inp.fill(1)? {
        let at = inp.offset();
        let tag = inp.u8("a record tag")?;
        let _time = inp.u32("a record header")?;
        let len = inp.u32("a record header")?;
        match tag {
            0x0c | 0x1c => {
                heap_dumps += 1;
                segments |= tag == 0x1c;
                let end = inp.offset() + len as u64;
                heap_segment(&mut inp, v, end)?;
            }
            0x2c => {
                ended = true;
                inp.skip(len as u64, "the heap dump end record")?;
            }
            _ => {
                let end = inp.offset() + len as u64;
                v.record(tag, len, &mut inp)?;
                if inp.offset() != end {
                    return Err(HeapError::Inconsistent {
                        offset: at,
                        message: format!(
                            "record 0x{tag:02x} declares {len} bytes but its content takes {}",
                            inp.offset() - (end - len as u64)
                        ),
                    });
                }
            }
        }
    }
    if heap_dumps == 0 {
        return Err(HeapError::NotHprof(
            "it holds no heap dump (an HPROF file of allocation sites or CPU samples?): take \
             one with `jcmd PID GC.heap_dump FILE` or `jmap -dump:live,format=b,file=FILE PID`"
                .into(),
        ));
    }
    if segments && !ended {
        return Err(HeapError::Truncated {
            offset: inp.offset(),
            expected: "more heap dump segments and the HEAP DUMP END record (the dump was \
                       cut off, or is still being written)"
                .into(),
        });
    }
    Ok(())
}

fn not_hprof() -> HeapError {
    HeapError::NotHprof("it does not start with \"JAVA PROFILE 1.0.x\"".into())
}

fn root_kind_of(tag: u8) -> RootKind {
    match tag {
        0x01 => RootKind::JniGlobal,
        0x05 => RootKind::StickyClass,
        0x07 => RootKind::Monitor,
        _ => RootKind::Other,
    }
}

fn heap_segment<R: Read, V: Visit>(
    inp: &mut Input<R>,
    v: &mut V,
    end: u64,
) -> Result<(), HeapError> {
    let ids = inp.id_size as u64;
    while inp.offset() < end {
        let at = inp.offset();
        let sub = inp.u8("a heap dump record")?;
        match sub {
            // Roots: object id, then per kind.
            0xff | 0x05 | 0x07 | 0x89 | 0x8a | 0x8b | 0x8c | 0x8d | 0x90 => {
                let id = inp.id("a root")?;
                v.root(id, root_kind_of(sub), 0);
            }
            0x01 => {
                let id = inp.id("a JNI global root")?;
                inp.skip(ids, "a JNI global root")?;
                v.root(id, RootKind::JniGlobal, 0);
            }
            0x02 | 0x03 | 0x8e => {
                let id = inp.id("a frame root")?;
                let thread = inp.u32("a frame root")?;
                let depth = inp.u32("a frame root")?;
                let kind = match sub {
                    0x02 => RootKind::JniLocal { thread },
                    0x03 => RootKind::JavaFrame { thread, depth },
                    _ => RootKind::Other,
                };
                v.root(id, kind, 0);
            }
            0x04 | 0x06 => {
                let id = inp.id("a thread root")?;
                let thread = inp.u32("a thread root")?;
                let kind = if sub == 0x04 {
                    RootKind::NativeStack { thread }
                } else {
                    RootKind::ThreadBlock { thread }
                };
                v.root(id, kind, 0);
            }
            0x08 => {
                let id = inp.id("a thread object root")?;
                let serial = inp.u32("a thread object root")?;
                let stack = inp.u32("a thread object root")?;
                v.root(id, RootKind::Thread { serial }, stack);
            }
            0xfe => {
                inp.skip(4 + ids, "a heap dump info record")?;
            }
            0x20 => v.class_dump(inp)?,
            0x21 => {
                let id = inp.id("an instance")?;
                inp.skip(4, "an instance")?;
                let class = inp.id("an instance")?;
                let n = inp.u32("an instance")?;
                v.instance(id, class, n, inp)?;
            }
            0x22 => {
                let id = inp.id("an object array")?;
                inp.skip(4, "an object array")?;
                let n = inp.u32("an object array")?;
                let class = inp.id("an object array")?;
                v.obj_array(id, n, class, inp)?;
            }
            0x23 | 0xc3 => {
                let id = inp.id("a primitive array")?;
                inp.skip(4, "a primitive array")?;
                let n = inp.u32("a primitive array")?;
                let t = inp.u8("a primitive array")?;
                if t == 2 || type_size(t, 8).is_none() {
                    return Err(HeapError::Inconsistent {
                        offset: at,
                        message: format!("primitive array of basic type {t}"),
                    });
                }
                v.prim_array(id, n, t, sub == 0x23, inp)?;
            }
            _ => {
                return Err(HeapError::Inconsistent {
                    offset: at,
                    message: format!(
                        "unknown heap dump record 0x{sub:02x}: the file is corrupt or from an \
                         unsupported writer"
                    ),
                })
            }
        }
        if inp.offset() > end {
            return Err(HeapError::Inconsistent {
                offset: at,
                message: "a heap dump record runs past the end of its segment".into(),
            });
        }
    }
    Ok(())
}

/// A class dump's content.
struct RawClass {
    id: u64,
    super_id: u64,
    loader_id: u64,
    instance_size: u32,
    statics: Vec<(u64, u8, u64)>,
    static_bytes: u32,
    fields: Vec<(u8, u64)>,
    cp_refs: Vec<u64>,
}

fn read_class_dump<R: Read>(inp: &mut Input<R>) -> Result<RawClass, HeapError> {
    let what = "a class dump";
    let id = inp.id(what)?;
    inp.skip(4, what)?;
    let super_id = inp.id(what)?;
    let loader_id = inp.id(what)?;
    inp.skip(4 * inp.id_size as u64, what)?;
    let instance_size = inp.u32(what)?;
    let mut cp_refs = Vec::new();
    for _ in 0..inp.u16(what)? {
        inp.skip(2, what)?;
        let t = inp.u8(what)?;
        let v = inp.value(t, what)?;
        if t == 2 && v != 0 {
            cp_refs.push(v);
        }
    }
    let mut statics = Vec::new();
    let mut static_bytes = 0u32;
    for _ in 0..inp.u16(what)? {
        let name = inp.id(what)?;
        let t = inp.u8(what)?;
        let v = inp.value(t, what)?;
        static_bytes += heap_type_size(t);
        statics.push((name, t, v));
    }
    let nfields = inp.u16(what)?;
    let mut fields = Vec::with_capacity(nfields as usize);
    for _ in 0..nfields {
        let name = inp.id(what)?;
        let t = inp.u8(what)?;
        if type_size(t, 8).is_none() {
            return Err(HeapError::Inconsistent {
                offset: inp.offset(),
                message: format!("a field of unknown basic type {t}"),
            });
        }
        fields.push((t, name));
    }
    Ok(RawClass {
        id,
        super_id,
        loader_id,
        instance_size,
        statics,
        static_bytes,
        fields,
        cp_refs,
    })
}

// ---------------------------------------------------------------------------
// Building the graph.

/// Most bytes kept of one UTF-8 record (class, field and method names are short).
const MAX_NAME: usize = 4096;

#[derive(Default)]
struct Builder {
    id_size: u8,
    timestamp_ms: u64,
    /// UTF-8 records: id → text.
    names: HashMap<u64, String>,
    /// Class object id → name id (LOAD CLASS).
    class_names: HashMap<u64, u64>,
    /// Class serial → name id.
    class_serials: HashMap<u32, u64>,
    /// Frame id → (method name id, class serial).
    frames: HashMap<u64, (u64, u32)>,
    /// Stack trace serial → frame ids.
    traces: HashMap<u32, Vec<u64>>,
    raw_classes: Vec<RawClass>,
    classes: Vec<ClassInfo>,
    class_index: HashMap<u64, u32>,
    labels: Vec<String>,
    label_index: HashMap<String, u32>,
    prim_classes: [u32; 12],
    class_class: u32,
    obj_id: Vec<u64>,
    obj_class_id: Vec<u64>,
    obj_class: Vec<u32>,
    obj_size: Vec<u32>,
    /// Objects in pass 1 order whose class is only known by id until all are read.
    edge_total: u64,
    raw_roots: Vec<(u64, RootKind, u32)>,
    sorted_ids: Vec<u64>,
    sorted_obj: Vec<ObjIdx>,
    first_edge: Vec<u32>,
    edge_to: Vec<ObjIdx>,
    edge_label: Vec<u32>,
    dangling: u64,
    /// Thread object → (serial, stack serial) from the roots.
    thread_roots: HashMap<ObjIdx, (u32, u32)>,
    /// Per Thread instance: its object, tid, eetop.
    thread_objs: Vec<(ObjIdx, u64, u64)>,
    /// Thread serial → the String naming it and that String's value array.
    thread_name_objs: Vec<(u32, ObjIdx, ObjIdx)>,
    /// Objects read in pass 3: Strings (their coder) and arrays (their bytes).
    wanted_strings: HashMap<ObjIdx, u8>,
    wanted_arrays: HashMap<ObjIdx, Vec<u8>>,
    bytes_read: u64,
}

impl Builder {
    fn label(&mut self, name: &str) -> u32 {
        if let Some(&l) = self.label_index.get(name) {
            return l;
        }
        let l = self.labels.len() as u32;
        self.labels.push(name.to_string());
        self.label_index.insert(name.to_string(), l);
        l
    }

    fn name(&self, id: u64) -> &str {
        self.names.get(&id).map_or("", |s| s.as_str())
    }

    fn synthetic_class(&mut self, name: &str) -> u32 {
        let idx = self.classes.len() as u32;
        self.classes.push(ClassInfo {
            name: name.to_string(),
            ..ClassInfo::default()
        });
        idx
    }

    /// Class index of a class object id, creating a nameless entry for a
    /// class the dump does not describe.
    fn class_of_id(&mut self, id: u64) -> u32 {
        if let Some(&c) = self.class_index.get(&id) {
            return c;
        }
        let name = match self.class_names.get(&id) {
            Some(&n) => java_name(self.name(n)),
            None => format!("(unknown class 0x{id:x})"),
        };
        let idx = self.synthetic_class(&name);
        self.classes[idx as usize].id = id;
        self.class_index.insert(id, idx);
        idx
    }

    /// After pass 1: class layouts, sorted ids, roots.
    fn finish_pass1(&mut self) -> Result<(), HeapError> {
        // Classes with a dump.
        let raw = std::mem::take(&mut self.raw_classes);
        for rc in &raw {
            let c = self.class_of_id(rc.id);
            let info = &mut self.classes[c as usize];
            if info.dumped {
                return Err(HeapError::Inconsistent {
                    offset: 0,
                    message: format!("class 0x{:x} is dumped twice", rc.id),
                });
            }
            info.dumped = true;
            info.super_id = rc.super_id;
            info.loader_id = rc.loader_id;
            info.fields = rc.fields.clone();
            info.static_bytes = rc.static_bytes;
            info.static_refs = rc
                .statics
                .iter()
                .filter(|s| s.1 == 2 && s.2 != 0)
                .map(|s| (s.0, s.2))
                .collect();
            info.dump_bytes = rc.instance_size;
        }
        // Layouts over the class chain (the instance's class first, then its
        // superclasses, as HPROF lays out field data).
        let weak_referent = self
            .classes
            .iter()
            .position(|c| c.name == "java.lang.ref.Reference")
            .map(|i| i as u32);
        for c in 0..self.classes.len() {
            if !self.classes[c].dumped {
                continue;
            }
            let mut refs = Vec::new();
            let mut off = 0u32;
            let mut heap = 0u64;
            let mut cur = Some(c as u32);
            let mut depth = 0;
            let mut is_thread = false;
            let mut is_string = false;
            let mut thread_fields = [None; 3];
            let mut string_fields = [None; 2];
            while let Some(k) = cur {
                depth += 1;
                if depth > 256 {
                    return Err(HeapError::Inconsistent {
                        offset: 0,
                        message: "a class's superclass chain loops".into(),
                    });
                }
                let kname = self.classes[k as usize].name.clone();
                is_thread |= kname == "java.lang.Thread";
                is_string |= kname == "java.lang.String";
                let fields = self.classes[k as usize].fields.clone();
                for (t, name_id) in fields {
                    let size = type_size(t, self.id_size).unwrap_or(0);
                    let fname = self.name(name_id).to_string();
                    if kname == "java.lang.Thread" {
                        match fname.as_str() {
                            "name" if t == 2 => thread_fields[0] = Some(off),
                            "tid" if t == 11 => thread_fields[1] = Some(off),
                            "eetop" if t == 11 => thread_fields[2] = Some(off),
                            _ => {}
                        }
                    }
                    if kname == "java.lang.String" {
                        match fname.as_str() {
                            "value" if t == 2 => string_fields[0] = Some(off),
                            "coder" if t == 8 => string_fields[1] = Some(off),
                            _ => {}
                        }
                    }
                    // A weak, soft or phantom reference does not keep its referent alive.
                    let weak = Some(k) == weak_referent && fname == "referent";
                    if t == 2 && !weak {
                        let l = self.label(&fname);
                        refs.push((off, l));
                    }
                    off += size;
                    heap += heap_type_size(t) as u64;
                }
                let sup = self.classes[k as usize].super_id;
                cur = if sup == 0 {
                    None
                } else {
                    match self.class_index.get(&sup) {
                        Some(&s) if self.classes[s as usize].dumped => Some(s),
                        _ => None,
                    }
                };
            }
            let header = if self.id_size == 8 { 12 } else { 8 };
            let info = &mut self.classes[c];
            info.refs = refs;
            info.dump_bytes = off;
            info.heap_size = align8(header + heap);
            info.is_thread = is_thread;
            info.thread_fields = if is_thread { thread_fields } else { [None; 3] };
            info.string_fields = if is_string { string_fields } else { [None; 2] };
        }
        self.class_class = match self
            .classes
            .iter()
            .position(|c| c.name == "java.lang.Class")
        {
            Some(i) => i as u32,
            None => self.synthetic_class("java.lang.Class"),
        };
        // Every object's class, now that all classes are known.
        let class_ids = std::mem::take(&mut self.obj_class_id);
        for (i, cid) in class_ids.into_iter().enumerate() {
            match cid {
                // Primitive arrays got their class in pass 1; class objects
                // are instances of java.lang.Class.
                0 => {
                    if self.obj_class[i] == NONE {
                        self.obj_class[i] = self.class_class;
                    }
                }
                cid => {
                    let c = self.class_of_id(cid);
                    self.obj_class[i] = c;
                    if self.obj_size[i] == NONE {
                        self.obj_size[i] = self.classes[c as usize].heap_size;
                    }
                }
            }
        }
        for (i, s) in self.obj_size.iter_mut().enumerate() {
            if *s == NONE {
                *s = self.classes[self.obj_class[i] as usize].heap_size;
            }
        }
        // Sort the ids (dumps list objects nearly in address order, which
        // the sort takes advantage of).
        let n = self.obj_id.len();
        if n >= 1 << 31 {
            return Err(HeapError::TooLarge(format!(
                "{n} objects; at most 2^31 are supported"
            )));
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        let ids = &self.obj_id;
        if !ids.windows(2).all(|w| w[0] < w[1]) {
            order.sort_unstable_by_key(|&i| ids[i as usize]);
        }
        self.sorted_ids = order.iter().map(|&i| ids[i as usize]).collect();
        self.sorted_obj = order;
        if let Some(w) = self.sorted_ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(HeapError::Inconsistent {
                offset: 0,
                message: format!("object id 0x{:x} appears twice", w[0]),
            });
        }
        self.obj_id = Vec::new();
        if self.edge_total > u32::MAX as u64 {
            return Err(HeapError::TooLarge(format!(
                "{} references; at most {} are supported",
                self.edge_total,
                u32::MAX
            )));
        }
        self.first_edge = Vec::with_capacity(n + 1);
        self.edge_to = Vec::with_capacity(self.edge_total as usize);
        self.edge_label = Vec::with_capacity(self.edge_total as usize);
        Ok(())
    }

    fn find(&self, id: u64) -> Option<ObjIdx> {
        self.sorted_ids
            .binary_search(&id)
            .ok()
            .map(|i| self.sorted_obj[i])
    }

    fn push_edge(&mut self, to_id: u64, label: u32) {
        if to_id == 0 {
            return;
        }
        match self.find(to_id) {
            Some(o) => {
                self.edge_to.push(o);
                self.edge_label.push(label);
            }
            None => self.dangling += 1,
        }
    }

    fn finish_pass2(&mut self) -> Result<(), HeapError> {
        self.first_edge.push(self.edge_to.len() as u32);
        if self.first_edge.len() != self.obj_class.len() + 1 {
            return Err(HeapError::Inconsistent {
                offset: 0,
                message: "the file changed while it was read (a different number of objects \
                          on the second pass)"
                    .into(),
            });
        }
        // Thread names are wanted for every thread that holds a root:
        // Thread.name → String → String.value, followed in the graph.
        let follow = |b: &Builder, o: ObjIdx, field: &str| -> Option<ObjIdx> {
            let l = *b.label_index.get(field)?;
            let (s, e) = (b.first_edge[o as usize], b.first_edge[o as usize + 1]);
            (s..e)
                .find(|&i| b.edge_label[i as usize] == l)
                .map(|i| b.edge_to[i as usize])
        };
        let mut named = Vec::new();
        for &(obj, _, _) in &self.thread_objs {
            let Some(&(serial, _)) = self.thread_roots.get(&obj) else {
                continue;
            };
            let Some(string) = follow(self, obj, "name") else {
                continue;
            };
            let Some(array) = follow(self, string, "value") else {
                continue;
            };
            named.push((serial, string, array));
        }
        for &(_, string, array) in &named {
            self.wanted_strings.insert(string, 0);
            self.wanted_arrays.insert(array, Vec::new());
        }
        self.thread_name_objs = named;
        Ok(())
    }

    fn wants_names(&self) -> bool {
        !self.wanted_strings.is_empty()
    }

    fn finish(mut self) -> HeapDump {
        let mut roots = Vec::new();
        // Static fields first: they are what a user reads a path from.
        for c in 0..self.classes.len() {
            let statics = std::mem::take(&mut self.classes[c].static_refs);
            for (name_id, value) in statics {
                if let Some(obj) = self.find(value) {
                    let fname = self.name(name_id).to_string();
                    let field = self.label(&fname);
                    roots.push(Root {
                        obj,
                        kind: RootKind::Static {
                            class: c as u32,
                            field,
                        },
                    });
                }
            }
        }
        for &(id, kind, _) in &self.raw_roots {
            if let Some(obj) = self.find(id) {
                roots.push(Root { obj, kind });
            }
        }
        // Thread names from the strings read in pass 3.
        let mut thread_names = HashMap::new();
        for &(serial, string, array) in &self.thread_name_objs {
            if let (Some(&coder), Some(raw)) = (
                self.wanted_strings.get(&string),
                self.wanted_arrays.get(&array),
            ) {
                thread_names.insert(serial, decode_java_string(raw, coder));
            }
        }
        let threads = self
            .thread_objs
            .iter()
            .map(|&(_, tid, eetop)| ThreadId { tid, eetop })
            .collect();
        // Frames of each thread's stack, for naming local-variable roots.
        let mut thread_frames = HashMap::new();
        for &(serial, stack) in self.thread_roots.values() {
            if let Some(frames) = self.traces.get(&stack) {
                let names: Vec<String> = frames
                    .iter()
                    .map(|f| match self.frames.get(f) {
                        Some(&(method, class_serial)) => {
                            let class = self
                                .class_serials
                                .get(&class_serial)
                                .map(|&n| java_name(self.name(n)))
                                .unwrap_or_default();
                            format!("{}.{}", simple_name(&class), self.name(method))
                        }
                        None => String::from("?"),
                    })
                    .collect();
                thread_frames.insert(serial, names);
            }
        }
        HeapDump {
            id_size: self.id_size,
            timestamp_ms: self.timestamp_ms,
            classes: self.classes,
            labels: self.labels,
            obj_class: self.obj_class,
            obj_size: self.obj_size,
            sorted_ids: self.sorted_ids,
            sorted_obj: self.sorted_obj,
            first_edge: self.first_edge,
            edge_to: self.edge_to,
            edge_label: self.edge_label,
            roots,
            thread_names,
            thread_frames,
            threads,
            dangling_refs: self.dangling,
            bytes_read: self.bytes_read,
        }
    }
}

/// A Java string's text from its `value` array: Latin-1 (coder 0) or UTF-16 (coder 1).
fn decode_java_string(raw: &[u8], coder: u8) -> String {
    if coder == 1 {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        raw.iter().map(|&b| b as char).collect()
    }
}

/// `java.util.ArrayList` → `ArrayList`; `java.util.HashMap$Node[]` → `HashMap$Node[]`.
pub fn simple_name(name: &str) -> &str {
    let base = name.trim_end_matches("[]");
    match base.rfind('.') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

struct Pass1<'a> {
    b: &'a mut Builder,
}

impl Visit for Pass1<'_> {
    fn header(&mut self, id_size: u8, timestamp_ms: u64) {
        self.b.id_size = id_size;
        self.b.timestamp_ms = timestamp_ms;
        for t in 4..12u8 {
            if t == 2 || t == 3 {
                continue;
            }
            self.b.prim_classes[t as usize] = self.b.synthetic_class(prim_array_name(t));
        }
    }

    fn record<R: Read>(&mut self, tag: u8, len: u32, inp: &mut Input<R>) -> Result<(), HeapError> {
        let ids = inp.id_size as u32;
        match tag {
            0x01 if len >= ids => {
                let id = inp.id("a string record")?;
                let n = (len - ids) as usize;
                let keep = n.min(MAX_NAME);
                let text = String::from_utf8_lossy(inp.take(keep, "a string record")?).into_owned();
                inp.skip((n - keep) as u64, "a string record")?;
                self.b.names.insert(id, text);
            }
            0x02 if len == 8 + 2 * ids => {
                let serial = inp.u32("a class record")?;
                let id = inp.id("a class record")?;
                inp.skip(4, "a class record")?;
                let name = inp.id("a class record")?;
                self.b.class_names.insert(id, name);
                self.b.class_serials.insert(serial, name);
            }
            0x04 if len == 8 + 4 * ids => {
                let frame = inp.id("a frame record")?;
                let method = inp.id("a frame record")?;
                inp.skip(2 * ids as u64, "a frame record")?;
                let class_serial = inp.u32("a frame record")?;
                inp.skip(4, "a frame record")?;
                self.b.frames.insert(frame, (method, class_serial));
            }
            0x05 if len >= 12 => {
                let serial = inp.u32("a stack trace record")?;
                inp.skip(4, "a stack trace record")?;
                let n = inp.u32("a stack trace record")?;
                if n as u64 * ids as u64 != (len - 12) as u64 {
                    return Err(HeapError::Inconsistent {
                        offset: inp.offset(),
                        message: "a stack trace's frame count does not match its length".into(),
                    });
                }
                let mut frames = Vec::with_capacity(n.min(1024) as usize);
                for _ in 0..n {
                    frames.push(inp.id("a stack trace record")?);
                }
                self.b.traces.insert(serial, frames);
            }
            _ => inp.skip(len as u64, "a record")?,
        }
        Ok(())
    }

    fn class_dump<R: Read>(&mut self, inp: &mut Input<R>) -> Result<(), HeapError> {
        let rc = read_class_dump(inp)?;
        self.b.obj_id.push(rc.id);
        self.b.obj_class_id.push(0);
        self.b.obj_class.push(NONE);
        self.b.obj_size.push(align8(96 + rc.static_bytes as u64));
        self.b.edge_total += rc.static_refs_len() + rc.cp_refs.len() as u64 + 1;
        self.b.raw_classes.push(rc);
        Ok(())
    }

    fn instance<R: Read>(
        &mut self,
        id: u64,
        class_id: u64,
        nbytes: u32,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        inp.skip(nbytes as u64, "an instance's fields")?;
        self.b.obj_id.push(id);
        self.b.obj_class_id.push(class_id.max(1));
        self.b.obj_class.push(NONE);
        self.b.obj_size.push(NONE);
        self.b.edge_total += nbytes as u64 / inp.id_size as u64;
        Ok(())
    }

    fn obj_array<R: Read>(
        &mut self,
        id: u64,
        n: u32,
        class_id: u64,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        inp.skip(n as u64 * inp.id_size as u64, "an object array")?;
        self.b.obj_id.push(id);
        self.b.obj_class_id.push(class_id.max(1));
        self.b.obj_class.push(NONE);
        self.b.obj_size.push(align8(16 + 4 * n as u64));
        self.b.edge_total += n as u64;
        Ok(())
    }

    fn prim_array<R: Read>(
        &mut self,
        id: u64,
        n: u32,
        elem: u8,
        has_data: bool,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let size = type_size(elem, 8).unwrap_or(1) as u64;
        if has_data {
            inp.skip(n as u64 * size, "a primitive array")?;
        }
        self.b.obj_id.push(id);
        self.b.obj_class_id.push(0);
        self.b.obj_class.push(self.b.prim_classes[elem as usize]);
        self.b.obj_size.push(align8(16 + n as u64 * size));
        Ok(())
    }

    fn root(&mut self, id: u64, kind: RootKind, stack_serial: u32) {
        self.b.raw_roots.push((id, kind, stack_serial));
    }
}

impl RawClass {
    fn static_refs_len(&self) -> u64 {
        self.statics.iter().filter(|s| s.1 == 2).count() as u64
    }
}

struct Pass2<'a> {
    b: &'a mut Builder,
    next: usize,
    loader_label: u32,
    cp_label: u32,
}

impl<'a> Pass2<'a> {
    fn new(b: &'a mut Builder) -> Self {
        let loader_label = b.label(LOADER_LABEL);
        let cp_label = b.label("<constant pool>");
        // Thread roots by object, for naming.
        let roots: Vec<(u64, RootKind, u32)> = b.raw_roots.clone();
        for (id, kind, stack) in roots {
            if let RootKind::Thread { serial } = kind {
                if let Some(o) = b.find(id) {
                    b.thread_roots.insert(o, (serial, stack));
                }
            }
        }
        Pass2 {
            b,
            next: 0,
            loader_label,
            cp_label,
        }
    }

    /// Starts the next object's edge list; errors if the file changed.
    fn start(&mut self, offset: u64) -> Result<ObjIdx, HeapError> {
        let o = self.next;
        if o >= self.b.obj_class.len() {
            return Err(HeapError::Inconsistent {
                offset,
                message: "the file changed while it was read (more objects on the second pass)"
                    .into(),
            });
        }
        self.next += 1;
        self.b.first_edge.push(self.b.edge_to.len() as u32);
        Ok(o as ObjIdx)
    }
}

impl Visit for Pass2<'_> {
    fn header(&mut self, _: u8, _: u64) {}

    fn record<R: Read>(&mut self, _: u8, len: u32, inp: &mut Input<R>) -> Result<(), HeapError> {
        inp.skip(len as u64, "a record")
    }

    fn class_dump<R: Read>(&mut self, inp: &mut Input<R>) -> Result<(), HeapError> {
        let at = inp.offset();
        let rc = read_class_dump(inp)?;
        self.start(at)?;
        let ids = inp.id_size;
        let _ = ids;
        for (name, t, v) in &rc.statics {
            if *t == 2 {
                let fname = self.b.name(*name).to_string();
                let l = self.b.label(&fname);
                self.b.push_edge(*v, l);
            }
        }
        for v in &rc.cp_refs {
            self.b.push_edge(*v, self.cp_label);
        }
        self.b.push_edge(rc.loader_id, self.loader_label);
        Ok(())
    }

    fn instance<R: Read>(
        &mut self,
        _id: u64,
        class_id: u64,
        nbytes: u32,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let at = inp.offset();
        let o = self.start(at)?;
        let c = self.b.obj_class[o as usize] as usize;
        let ids = inp.id_size as usize;
        let info = &self.b.classes[c];
        if !info.dumped || info.id != class_id {
            inp.skip(nbytes as u64, "an instance's fields")?;
            return Ok(());
        }
        if info.dump_bytes != nbytes || nbytes as usize > BUF {
            return Err(HeapError::Inconsistent {
                offset: at,
                message: format!(
                    "an instance of {} has {nbytes} bytes of fields, its class dump says {}",
                    info.name, info.dump_bytes
                ),
            });
        }
        let is_thread = info.is_thread;
        let thread_fields = info.thread_fields;
        let refs = std::mem::take(&mut self.b.classes[c].refs);
        let data = inp.take(nbytes as usize, "an instance's fields")?;
        for &(off, label) in &refs {
            let v = read_id(&data[off as usize..off as usize + ids]);
            if v != 0 {
                match self.b.find(v) {
                    Some(t) => {
                        self.b.edge_to.push(t);
                        self.b.edge_label.push(label);
                    }
                    None => self.b.dangling += 1,
                }
            }
        }
        if is_thread {
            let get = |f: Option<u32>, n: usize| {
                f.map_or(0, |off| read_id(&data[off as usize..off as usize + n]))
            };
            let tid = get(thread_fields[1], 8);
            let eetop = get(thread_fields[2], 8);
            self.b.thread_objs.push((o, tid, eetop));
        }
        self.b.classes[c].refs = refs;
        Ok(())
    }

    fn obj_array<R: Read>(
        &mut self,
        _id: u64,
        n: u32,
        _class_id: u64,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let at = inp.offset();
        self.start(at)?;
        let ids = inp.id_size as usize;
        let mut left = n as usize;
        let chunk = BUF / ids;
        while left > 0 {
            let k = left.min(chunk);
            let data = inp.take(k * ids, "an object array")?;
            for e in data.chunks_exact(ids) {
                let v = read_id(e);
                if v != 0 {
                    match self.b.find(v) {
                        Some(t) => {
                            self.b.edge_to.push(t);
                            self.b.edge_label.push(ELEMENT);
                        }
                        None => self.b.dangling += 1,
                    }
                }
            }
            left -= k;
        }
        Ok(())
    }

    fn prim_array<R: Read>(
        &mut self,
        _id: u64,
        n: u32,
        elem: u8,
        has_data: bool,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let at = inp.offset();
        self.start(at)?;
        if has_data {
            let size = type_size(elem, 8).unwrap_or(1) as u64;
            inp.skip(n as u64 * size, "a primitive array")?;
        }
        Ok(())
    }

    fn root(&mut self, _: u64, _: RootKind, _: u32) {}
}

/// Reads the text of the strings that name threads (objects are counted
/// in file order, as in pass 2).
struct Pass3<'a> {
    b: &'a mut Builder,
    next: ObjIdx,
}

impl Visit for Pass3<'_> {
    fn header(&mut self, _: u8, _: u64) {}

    fn record<R: Read>(&mut self, _: u8, len: u32, inp: &mut Input<R>) -> Result<(), HeapError> {
        inp.skip(len as u64, "a record")
    }

    fn class_dump<R: Read>(&mut self, inp: &mut Input<R>) -> Result<(), HeapError> {
        self.next += 1;
        read_class_dump(inp).map(|_| ())
    }

    fn instance<R: Read>(
        &mut self,
        _: u64,
        _: u64,
        nbytes: u32,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let o = self.next;
        self.next += 1;
        if !self.b.wanted_strings.contains_key(&o) {
            return inp.skip(nbytes as u64, "an instance's fields");
        }
        let c = self.b.obj_class[o as usize] as usize;
        let coder_at = self.b.classes[c].string_fields[1];
        let data = inp.take((nbytes as usize).min(BUF), "an instance's fields")?;
        let coder = coder_at
            .and_then(|at| data.get(at as usize).copied())
            .unwrap_or(0);
        self.b.wanted_strings.insert(o, coder);
        Ok(())
    }

    fn obj_array<R: Read>(
        &mut self,
        _: u64,
        n: u32,
        _: u64,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        self.next += 1;
        inp.skip(n as u64 * inp.id_size as u64, "an object array")
    }

    fn prim_array<R: Read>(
        &mut self,
        _: u64,
        n: u32,
        elem: u8,
        has_data: bool,
        inp: &mut Input<R>,
    ) -> Result<(), HeapError> {
        let o = self.next;
        self.next += 1;
        if !has_data {
            return Ok(());
        }
        let size = n as u64 * type_size(elem, 8).unwrap_or(1) as u64;
        if elem == 8 && size <= 1024 && self.b.wanted_arrays.contains_key(&o) {
            let raw = inp.take(size as usize, "a primitive array")?.to_vec();
            self.b.wanted_arrays.insert(o, raw);
            return Ok(());
        }
        inp.skip(size, "a primitive array")
    }

    fn root(&mut self, _: u64, _: RootKind, _: u32) {}
}

/// Writes small HPROF files for tests, property tests and fuzz seeds.
#[doc(hidden)]
pub mod write {
    /// An HPROF file under construction (8-byte ids).
    #[derive(Default)]
    pub struct DumpWriter {
        out: Vec<u8>,
        heap: Vec<u8>,
        next_serial: u32,
    }

    fn record(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
        out.push(tag);
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
    }

    impl DumpWriter {
        pub fn new(timestamp_ms: u64) -> Self {
            let mut out = b"JAVA PROFILE 1.0.2\0".to_vec();
            out.extend_from_slice(&8u32.to_be_bytes());
            out.extend_from_slice(&timestamp_ms.to_be_bytes());
            DumpWriter {
                out,
                heap: Vec::new(),
                next_serial: 1,
            }
        }

        pub fn string(&mut self, id: u64, s: &str) {
            let mut b = id.to_be_bytes().to_vec();
            b.extend_from_slice(s.as_bytes());
            record(&mut self.out, 0x01, &b);
        }

        /// LOAD CLASS for `class_id` named by string `name_id` (internal form, `a/b/C`).
        pub fn load_class(&mut self, class_id: u64, name_id: u64) {
            let mut b = self.next_serial.to_be_bytes().to_vec();
            self.next_serial += 1;
            b.extend_from_slice(&class_id.to_be_bytes());
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(&name_id.to_be_bytes());
            record(&mut self.out, 0x02, &b);
        }

        /// CLASS DUMP: static fields (name id, basic type, value) and
        /// instance fields (name id, basic type).
        pub fn class_dump(
            &mut self,
            id: u64,
            super_id: u64,
            statics: &[(u64, u8, u64)],
            fields: &[(u64, u8)],
        ) {
            let h = &mut self.heap;
            h.push(0x20);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&0u32.to_be_bytes());
            h.extend_from_slice(&super_id.to_be_bytes());
            for _ in 0..5 {
                h.extend_from_slice(&0u64.to_be_bytes());
            }
            let size: u32 = fields.iter().map(|f| value_size(f.1)).sum();
            h.extend_from_slice(&size.to_be_bytes());
            h.extend_from_slice(&0u16.to_be_bytes());
            h.extend_from_slice(&(statics.len() as u16).to_be_bytes());
            for &(name, t, v) in statics {
                h.extend_from_slice(&name.to_be_bytes());
                h.push(t);
                let n = value_size(t) as usize;
                h.extend_from_slice(&v.to_be_bytes()[8 - n..]);
            }
            h.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for &(name, t) in fields {
                h.extend_from_slice(&name.to_be_bytes());
                h.push(t);
            }
        }

        /// INSTANCE DUMP with field values in the class chain's order (own class first).
        pub fn instance(&mut self, id: u64, class_id: u64, values: &[(u8, u64)]) {
            let h = &mut self.heap;
            h.push(0x21);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&0u32.to_be_bytes());
            h.extend_from_slice(&class_id.to_be_bytes());
            let size: u32 = values.iter().map(|v| value_size(v.0)).sum();
            h.extend_from_slice(&size.to_be_bytes());
            for &(t, v) in values {
                let n = value_size(t) as usize;
                h.extend_from_slice(&v.to_be_bytes()[8 - n..]);
            }
        }

        pub fn obj_array(&mut self, id: u64, class_id: u64, elems: &[u64]) {
            let h = &mut self.heap;
            h.push(0x22);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&0u32.to_be_bytes());
            h.extend_from_slice(&(elems.len() as u32).to_be_bytes());
            h.extend_from_slice(&class_id.to_be_bytes());
            for e in elems {
                h.extend_from_slice(&e.to_be_bytes());
            }
        }

        pub fn byte_array(&mut self, id: u64, data: &[u8]) {
            let h = &mut self.heap;
            h.push(0x23);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&0u32.to_be_bytes());
            h.extend_from_slice(&(data.len() as u32).to_be_bytes());
            h.push(8);
            h.extend_from_slice(data);
        }

        pub fn root_thread(&mut self, id: u64, serial: u32) {
            self.heap.push(0x08);
            self.heap.extend_from_slice(&id.to_be_bytes());
            self.heap.extend_from_slice(&serial.to_be_bytes());
            self.heap.extend_from_slice(&0u32.to_be_bytes());
        }

        pub fn root_sticky(&mut self, id: u64) {
            self.heap.push(0x05);
            self.heap.extend_from_slice(&id.to_be_bytes());
        }

        /// The file: one heap dump segment and the end record.
        pub fn finish(mut self) -> Vec<u8> {
            let heap = std::mem::take(&mut self.heap);
            record(&mut self.out, 0x1c, &heap);
            record(&mut self.out, 0x2c, &[]);
            self.out
        }
    }

    fn value_size(t: u8) -> u32 {
        match t {
            2 => 8,
            4 | 8 => 1,
            5 | 9 => 2,
            6 | 10 => 4,
            _ => 8,
        }
    }

    /// A small dump: class `App` whose static `ROOT` holds a chain of
    /// `count` `Node`s (`next`, `val`), an `Object[]` of them, a byte array
    /// and a thread root. Ids are spread like addresses.
    pub fn sample(count: u64, timestamp_ms: u64) -> Vec<u8> {
        let mut w = DumpWriter::new(timestamp_ms);
        let names = [
            "java/lang/Object",
            "App",
            "Node",
            "ROOT",
            "next",
            "val",
            "[Ljava/lang/Object;",
            "ALL",
            "java/lang/Thread",
        ];
        for (i, n) in names.iter().enumerate() {
            w.string(100 + i as u64, n);
        }
        let (object, app, node, arr, thread) = (0x1000, 0x1010, 0x1020, 0x1030, 0x1040);
        w.load_class(object, 100);
        w.load_class(app, 101);
        w.load_class(node, 102);
        w.load_class(arr, 106);
        w.load_class(thread, 108);
        let first = 0x10_0000u64;
        let node_id = |i: u64| first + 24 * i;
        let all = 0x90_0000u64;
        w.class_dump(object, 0, &[], &[]);
        w.class_dump(app, object, &[(103, 2, node_id(0)), (107, 2, all)], &[]);
        w.class_dump(node, object, &[], &[(104, 2), (105, 10)]);
        w.class_dump(arr, object, &[], &[]);
        w.class_dump(thread, object, &[], &[]);
        for i in 0..count {
            let next = if i + 1 < count { node_id(i + 1) } else { 0 };
            w.instance(node_id(i), node, &[(2, next), (10, i)]);
        }
        let elems: Vec<u64> = (0..count).map(node_id).collect();
        w.obj_array(all, arr, &elems);
        w.byte_array(0xa0_0000, b"hello");
        w.instance(0xb0_0000, thread, &[]);
        w.root_thread(0xb0_0000, 1);
        w.root_sticky(object);
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::write::{sample, DumpWriter};
    use super::*;

    #[test]
    fn reads_a_small_dump() {
        let d = HeapDump::from_bytes(&sample(10, 1000)).unwrap();
        assert_eq!(d.id_size, 8);
        assert_eq!(d.timestamp_ms, 1000);
        // 5 classes, 10 nodes, the array, the byte array, the thread.
        assert_eq!(d.object_count(), 18);
        let n0 = d.find(0x10_0000).unwrap();
        assert_eq!(d.class_name(n0), "Node");
        let e: Vec<_> = d.edges(n0).collect();
        assert_eq!(e.len(), 1);
        assert_eq!(d.label(d.edge_label[e[0]]), "next");
        assert_eq!(d.obj_size[n0 as usize], 24); // 12 header + 4 ref + 4 int, aligned
        let arr = d.find(0x90_0000).unwrap();
        assert_eq!(d.class_name(arr), "java.lang.Object[]");
        assert_eq!(d.edges(arr).len(), 10);
        assert!(d
            .roots
            .iter()
            .any(|r| matches!(r.kind, RootKind::Static { .. }) && r.obj == n0));
        assert!(d
            .roots
            .iter()
            .any(|r| matches!(r.kind, RootKind::Thread { serial: 1 })));
        let bytes = d.find(0xa0_0000).unwrap();
        assert_eq!(d.class_name(bytes), "byte[]");
        assert_eq!(d.dangling_refs, 0);
    }

    #[test]
    fn names_are_java_names() {
        assert_eq!(java_name("java/util/ArrayList"), "java.util.ArrayList");
        assert_eq!(java_name("[Ljava/lang/Object;"), "java.lang.Object[]");
        assert_eq!(java_name("[[I"), "int[][]");
        assert_eq!(java_name("[B"), "byte[]");
        assert_eq!(simple_name("java.util.HashMap$Node[]"), "HashMap$Node[]");
        assert_eq!(simple_name("Foo"), "Foo");
    }

    #[test]
    fn cut_and_corrupt_dumps_are_errors() {
        let good = sample(50, 1);
        for cut in [
            0,
            5,
            20,
            31,
            100,
            good.len() / 2,
            good.len() - 9,
            good.len() - 1,
        ] {
            let err = HeapDump::from_bytes(&good[..cut]).unwrap_err();
            assert!(
                matches!(err, HeapError::Truncated { .. } | HeapError::NotHprof(_)),
                "cut at {cut}: {err}"
            );
        }
        // Cut exactly before the end record: the missing end is noticed.
        let err = HeapDump::from_bytes(&good[..good.len() - 9]).unwrap_err();
        assert!(err.to_string().contains("HEAP DUMP END"), "{err}");
        let mut bad = good.clone();
        bad[19..23].copy_from_slice(&7u32.to_be_bytes());
        let err = HeapDump::from_bytes(&bad).unwrap_err();
        assert!(err.to_string().contains("identifier size 7"), "{err}");
        let no_heap = DumpWriter::new(0);
        let mut only_header = no_heap.finish();
        only_header.truncate(31);
        let err = HeapDump::from_bytes(&only_header).unwrap_err();
        assert!(matches!(err, HeapError::NotHprof(_)), "{err}");
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any change to a valid dump gives a dump or a typed error, never a panic.
        #[test]
        fn mutated_dumps_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut d = sample(20, 5);
            for (at, b) in edits {
                let i = at.index(d.len());
                d[i] = b;
            }
            let _ = HeapDump::from_bytes(&d);
            let len = cut.index(d.len() + 1);
            let _ = HeapDump::from_bytes(&d[..len]);
        }

        /// Arbitrary records after a valid header never panic.
        #[test]
        fn random_records_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut d = b"JAVA PROFILE 1.0.2\0\0\0\0\x08".to_vec();
            d.extend_from_slice(&[0; 8]);
            d.extend_from_slice(&body);
            let _ = HeapDump::from_bytes(&d);
        }

        /// A generated object graph is read back as written.
        #[test]
        fn graphs_round_trip(links in proptest::collection::vec((0u64..40, 0u64..40), 0..80)) {
            let mut w = DumpWriter::new(0);
            w.string(1, "java/lang/Object");
            w.string(2, "Obj");
            w.string(3, "a");
            w.string(4, "b");
            w.load_class(0x10, 1);
            w.load_class(0x20, 2);
            w.class_dump(0x10, 0, &[], &[]);
            w.class_dump(0x20, 0x10, &[], &[(3, 2), (4, 2)]);
            let id = |i: u64| 0x1000 + 16 * i;
            let mut want = vec![(0u64, 0u64); 40];
            for (k, &(from, to)) in links.iter().enumerate() {
                if k % 2 == 0 { want[from as usize].0 = id(to) } else { want[from as usize].1 = id(to) }
            }
            for i in 0..40 {
                w.instance(id(i), 0x20, &[(2, want[i as usize].0), (2, want[i as usize].1)]);
            }
            let d = HeapDump::from_bytes(&w.finish()).unwrap();
            prop_assert_eq!(d.object_count(), 42);
            for i in 0..40u64 {
                let o = d.find(id(i)).unwrap();
                let mut got: Vec<(String, u64)> = d.edges(o)
                    .map(|e| (d.label(d.edge_label[e]).to_string(), d.edge_to[e] as u64))
                    .collect();
                got.sort();
                let mut exp = Vec::new();
                for (name, v) in [("a", want[i as usize].0), ("b", want[i as usize].1)] {
                    if v != 0 {
                        exp.push((name.to_string(), d.find(v).unwrap() as u64));
                    }
                }
                exp.sort();
                prop_assert_eq!(got, exp);
            }
        }
    }
}

#[cfg(test)]
mod seeds {
    /// The fuzz seed is a small valid dump: regenerate it with
    /// `LEAKWATCH_WRITE_SEEDS=1 cargo test -p leakwatch-heap --lib seeds`.
    #[test]
    fn fuzz_seed_is_a_valid_dump() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/seeds/hprof_reader/sample.hprof");
        let bytes = super::write::sample(6, 1_700_000_000_000);
        if std::env::var_os("LEAKWATCH_WRITE_SEEDS").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        super::HeapDump::from_bytes(&bytes).unwrap();
    }
}
