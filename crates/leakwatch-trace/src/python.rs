//! Python frames in traces (format version 4, record PYCODE): the code
//! objects the tracer met, and the line of an instruction from each
//! version's own line table (3.8-3.9 `co_lnotab`, 3.10 `co_linetable`,
//! 3.11+ the location table), decoded here after the run rather than in
//! the traced process.

/// Bit 63 of a frame value marks a Python frame: `code << 32 | lasti`.
pub const PY_FRAME_BIT: u64 = 1 << 63;

/// Whether a stack frame value is a Python frame.
#[inline]
pub fn is_python_frame(v: u64) -> bool {
    v & PY_FRAME_BIT != 0
}

/// The code id and instruction of a Python frame value.
#[inline]
pub fn split_frame(v: u64) -> (u32, u32) {
    (((v >> 32) & 0x7fff_ffff) as u32, v as u32)
}

/// A Python code object as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyCode {
    /// CPython's minor version (3.X): how `table` and `lasti` read.
    pub minor: u32,
    pub first_line: u32,
    /// `co_qualname` (3.11+), else `co_name`.
    pub name: String,
    pub file: String,
    /// The line table's bytes.
    pub table: Vec<u8>,
}

impl PyCode {
    /// The source line of instruction `lasti` (bytes before 3.10, code
    /// units from 3.10), if the table says.
    pub fn line_of(&self, lasti: u32) -> Option<u32> {
        let line = match self.minor {
            0..=9 => lnotab_line(&self.table, self.first_line, lasti),
            10 => linetable310_line(&self.table, self.first_line, lasti.saturating_mul(2)),
            _ => location_line(&self.table, self.first_line, lasti),
        };
        line.filter(|&l| l > 0).map(|l| l as u32)
    }

    /// Whether the code is the interpreter's own: its standard library
    /// (`.../lib/python3.X/...` outside `site-packages`) and frozen
    /// modules (`<frozen importlib._bootstrap>`).
    pub fn is_runtime(&self) -> bool {
        let f = &self.file;
        if f.starts_with("<frozen ") {
            return true;
        }
        let Some(at) = f.find("/lib/python3.") else {
            return false;
        };
        !f[at..].contains("/site-packages/") && !f[at..].contains("/dist-packages/")
    }
}

impl PyCode {
    /// Whether the code is the import machinery (a module being imported:
    /// what it allocates is the module's state).
    pub fn is_import_machinery(&self) -> bool {
        self.file.starts_with("<frozen importlib") || self.file.contains("/importlib/_bootstrap")
    }
}

/// 3.8 and 3.9: pairs (address increment, signed line increment), byte
/// addresses.
fn lnotab_line(t: &[u8], first: u32, addr: u32) -> Option<i64> {
    let mut line = i64::from(first);
    let mut a: u32 = 0;
    for p in t.chunks_exact(2) {
        a = a.saturating_add(u32::from(p[0]));
        if a > addr {
            break;
        }
        line += i64::from(p[1] as i8);
    }
    Some(line)
}

/// 3.10: pairs (byte length, signed line delta; -128: no line).
fn linetable310_line(t: &[u8], first: u32, addr: u32) -> Option<i64> {
    let mut line = i64::from(first);
    let mut end: u32 = 0;
    for p in t.chunks_exact(2) {
        let start = end;
        end = end.saturating_add(u32::from(p[0]));
        let delta = p[1] as i8;
        let here = if delta == -128 {
            None
        } else {
            line += i64::from(delta);
            Some(line)
        };
        if start <= addr && addr < end {
            return here;
        }
    }
    None
}

/// 3.11+: the location table (entries of a start byte `1 code:4
/// length-1:3`, then per code: 0-9 one byte of columns, 10-12 line delta
/// code-10 and two bytes, 13 a signed varint line delta, 14 a signed line
/// delta and three varints, 15 nothing: no location). Addresses in code
/// units.
fn location_line(t: &[u8], first: u32, addr: u32) -> Option<i64> {
    let mut line = i64::from(first);
    let mut at = 0usize;
    let mut pc: u32 = 0;
    let varint = |at: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *t.get(*at)?;
            *at += 1;
            v |= u64::from(b & 63) << shift;
            if b & 64 == 0 || shift > 56 {
                return Some(v);
            }
            shift += 6;
        }
    };
    let svarint = |at: &mut usize| -> Option<i64> {
        let u = varint(at)?;
        Some(if u & 1 != 0 {
            -((u >> 1) as i64)
        } else {
            (u >> 1) as i64
        })
    };
    while at < t.len() {
        let b = t[at];
        at += 1;
        let code = (b >> 3) & 15;
        let len = u32::from(b & 7) + 1;
        let here = match code {
            0..=9 => {
                at += 1;
                Some(line)
            }
            10..=12 => {
                line += i64::from(code - 10);
                at += 2;
                Some(line)
            }
            13 => {
                line += svarint(&mut at)?;
                Some(line)
            }
            14 => {
                line += svarint(&mut at)?;
                varint(&mut at)?;
                varint(&mut at)?;
                varint(&mut at)?;
                Some(line)
            }
            _ => None,
        };
        if pc <= addr && addr < pc.saturating_add(len) {
            return here;
        }
        pc = pc.saturating_add(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(minor: u32, first: u32, table: &[u8]) -> PyCode {
        PyCode {
            minor,
            first_line: first,
            name: "f".into(),
            file: "/app/x.py".into(),
            table: table.to_vec(),
        }
    }

    #[test]
    fn lnotab_lines() {
        // +2 lines at byte 0, +1 line at byte 6, -1 (signed) at byte 10.
        let c = code(8, 10, &[0, 2, 6, 1, 4, 0xff]);
        assert_eq!(c.line_of(0), Some(12));
        assert_eq!(c.line_of(5), Some(12));
        assert_eq!(c.line_of(6), Some(13));
        assert_eq!(c.line_of(10), Some(12));
    }

    #[test]
    fn linetable_310_lines() {
        // 4 bytes on line first+1, 6 bytes without a line, 2 bytes +2.
        let c = code(10, 5, &[4, 1, 6, 0x80, 2, 2]);
        assert_eq!(c.line_of(0), Some(6));
        assert_eq!(c.line_of(1), Some(6));
        assert_eq!(c.line_of(2), None);
        assert_eq!(c.line_of(5), Some(8));
    }

    #[test]
    fn location_table_lines() {
        // Entry 1: code 13 (no columns), 2 units, line +1 (svarint 2).
        // Entry 2: code 10 (one-line, delta 0), 3 units, two column bytes.
        // Entry 3: code 11 (delta +1), 1 unit. Entry 4: code 15, 1 unit.
        // Entry 5: code 14 (long), 1 unit, line -1 (svarint 3), 3 varints.
        let t = [
            0x80 | (13 << 3) | 1,
            2,
            0x80 | (10 << 3) | 2,
            1,
            5,
            0x80 | (11 << 3),
            1,
            2,
            0x80 | (15 << 3),
            0x80 | (14 << 3),
            3,
            0,
            1,
            2,
        ];
        let c = code(12, 20, &t);
        assert_eq!(c.line_of(0), Some(21));
        assert_eq!(c.line_of(1), Some(21));
        assert_eq!(c.line_of(2), Some(21));
        assert_eq!(c.line_of(4), Some(21));
        assert_eq!(c.line_of(5), Some(22));
        assert_eq!(c.line_of(6), None);
        assert_eq!(c.line_of(7), Some(21));
        assert_eq!(c.line_of(8), None, "past the table");
    }

    #[test]
    fn damaged_tables_never_panic() {
        for minor in [8, 10, 12] {
            for t in [
                &[][..],
                &[0xff],
                &[0xf0, 0xff, 0xff, 0xff],
                &[0x80 | (14 << 3), 0x7f],
            ] {
                let c = code(minor, 1, t);
                for lasti in [0, 1, 7, u32::MAX] {
                    let _ = c.line_of(lasti);
                }
            }
        }
    }

    #[test]
    fn runtime_code_is_the_standard_library_and_frozen_modules() {
        let mut c = code(12, 1, &[]);
        for (file, runtime) in [
            ("<frozen importlib._bootstrap>", true),
            ("/usr/lib/python3.12/json/decoder.py", true),
            (
                "/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py",
                true,
            ),
            ("/usr/lib/python3/dist-packages/yaml/__init__.py", false),
            ("/venv/lib/python3.12/site-packages/requests/api.py", false),
            ("/srv/app/worker.py", false),
            ("<string>", false),
        ] {
            c.file = file.into();
            assert_eq!(c.is_runtime(), runtime, "{file}");
        }
    }
}
