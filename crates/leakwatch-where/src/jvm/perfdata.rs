//! HotSpot's performance counters (the `hsperfdata_USER/PID` file every
//! JVM maps, unless started with `-XX:-UsePerfData`): whether the attach
//! mechanism is enabled, and the time the JVM spent stopped at safepoints.
//!
//! Layout (HotSpot `perfMemory.hpp`): a 32-byte prologue (magic `CA FE C0
//! C0`, byte order, version, accessible flag, used bytes, overflow,
//! modification time, offset and count of entries), then entries of a
//! 20-byte header (length, name offset, vector length, type, flags, units,
//! variability, data offset) followed by the name and the data. The file
//! belongs to the target: every offset is checked, nothing is trusted.

/// The counters `where` uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// `sun.rt.jvmCapabilities`' first character: the attach listener can
    /// be started (false with `-XX:+DisableAttachMechanism`).
    pub attach_supported: Option<bool>,
    /// `sun.rt.safepointTime`: total ticks the Java threads were stopped.
    pub safepoint_ticks: Option<i64>,
    /// `sun.os.hrt.frequency`: ticks per second.
    pub tick_frequency: Option<i64>,
    /// `java.property.java.vm.version`.
    pub vm_version: Option<String>,
}

impl Counters {
    /// Total time at safepoints, in seconds.
    pub fn safepoint_seconds(&self) -> Option<f64> {
        let f = self.tick_frequency.filter(|f| *f > 0)?;
        Some(self.safepoint_ticks? as f64 / f as f64)
    }
}

/// Why a buffer is not a readable counters file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerfError {
    #[error("not a HotSpot performance data file (bad magic)")]
    Magic,
    #[error("the performance data is not ready yet (the JVM is starting)")]
    NotAccessible,
    #[error("the performance data is cut short or inconsistent at byte {0}")]
    Corrupt(usize),
}

/// One counter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Long(i64),
    /// A byte vector (strings), cut at its first NUL.
    Bytes(&'a [u8]),
    /// A type this reader does not decode.
    Other,
}

const PROLOGUE: usize = 32;
const ENTRY_HEADER: usize = 20;
/// Entries beyond this are not read (HotSpot has about 300).
const MAX_ENTRIES: usize = 100_000;

struct Reader<'a> {
    buf: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.buf.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn i32(&self, at: usize) -> Option<i32> {
        let b = self.bytes::<4>(at)?;
        Some(if self.little {
            i32::from_le_bytes(b)
        } else {
            i32::from_be_bytes(b)
        })
    }
    fn i64(&self, at: usize) -> Option<i64> {
        let b = self.bytes::<8>(at)?;
        Some(if self.little {
            i64::from_le_bytes(b)
        } else {
            i64::from_be_bytes(b)
        })
    }
    fn offset(&self, at: usize) -> Option<usize> {
        usize::try_from(self.i32(at)?).ok()
    }
}

/// Calls `each(name, value)` for every counter in `buf`.
pub fn for_each(buf: &[u8], mut each: impl FnMut(&[u8], Value<'_>)) -> Result<(), PerfError> {
    if buf.get(..4) != Some(&[0xca, 0xfe, 0xc0, 0xc0][..]) {
        return Err(PerfError::Magic);
    }
    if buf.len() < PROLOGUE {
        return Err(PerfError::Corrupt(buf.len()));
    }
    let r = Reader {
        buf,
        little: buf[4] == 1,
    };
    if buf[7] == 0 {
        return Err(PerfError::NotAccessible);
    }
    let used = r.offset(8).ok_or(PerfError::Corrupt(8))?.min(buf.len());
    let mut at = r.offset(24).ok_or(PerfError::Corrupt(24))?;
    let count = r.offset(28).ok_or(PerfError::Corrupt(28))?;
    for _ in 0..count.min(MAX_ENTRIES) {
        let end_of_header = at.checked_add(ENTRY_HEADER).ok_or(PerfError::Corrupt(at))?;
        if end_of_header > used {
            return Err(PerfError::Corrupt(at));
        }
        let len = r.offset(at).ok_or(PerfError::Corrupt(at))?;
        let entry_end = at.checked_add(len).ok_or(PerfError::Corrupt(at))?;
        if len < ENTRY_HEADER || entry_end > used {
            return Err(PerfError::Corrupt(at));
        }
        let entry = &buf[at..entry_end];
        let name_at = r.offset(at + 4).ok_or(PerfError::Corrupt(at))?;
        let vector = r.offset(at + 8).ok_or(PerfError::Corrupt(at))?;
        let kind = buf[at + 12];
        let data_at = r.offset(at + 16).ok_or(PerfError::Corrupt(at))?;
        let name = entry.get(name_at..).ok_or(PerfError::Corrupt(at))?;
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        let value = match (kind, vector) {
            (b'J', 0) if data_at.saturating_add(8) <= len => {
                Value::Long(r.i64(at + data_at).ok_or(PerfError::Corrupt(at))?)
            }
            (b'J', 0) => return Err(PerfError::Corrupt(at)),
            (b'B', n) if n > 0 => {
                let data = entry
                    .get(data_at..data_at.saturating_add(n).min(entry.len()))
                    .ok_or(PerfError::Corrupt(at))?;
                Value::Bytes(&data[..data.iter().position(|&b| b == 0).unwrap_or(data.len())])
            }
            _ => Value::Other,
        };
        each(name, value);
        at = entry_end;
    }
    Ok(())
}

/// The counters `where` uses, from a whole file's bytes.
pub fn parse(buf: &[u8]) -> Result<Counters, PerfError> {
    let mut c = Counters::default();
    for_each(buf, |name, value| match (name, value) {
        (b"sun.rt.jvmCapabilities", Value::Bytes(b)) => {
            c.attach_supported = b.first().map(|&x| x == b'1');
        }
        (b"sun.rt.safepointTime", Value::Long(v)) => c.safepoint_ticks = Some(v),
        (b"sun.os.hrt.frequency", Value::Long(v)) => c.tick_frequency = Some(v),
        (b"java.property.java.vm.version", Value::Bytes(b)) => {
            c.vm_version = Some(String::from_utf8_lossy(b).into_owned());
        }
        _ => {}
    })?;
    Ok(c)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A counters file as HotSpot lays it out, little-endian.
    pub(crate) fn file(entries: &[(&str, Value<'_>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in entries {
            let mut e = vec![0u8; ENTRY_HEADER];
            let name_at = e.len();
            e.extend_from_slice(name.as_bytes());
            e.push(0);
            while e.len() % 8 != 0 {
                e.push(0);
            }
            let data_at = e.len();
            let (kind, vector) = match value {
                Value::Long(v) => {
                    e.extend_from_slice(&v.to_le_bytes());
                    (b'J', 0)
                }
                Value::Bytes(b) => {
                    e.extend_from_slice(b);
                    e.push(0);
                    (b'B', b.len() + 1)
                }
                Value::Other => (b'D', 0),
            };
            let len = e.len() as i32;
            e[0..4].copy_from_slice(&len.to_le_bytes());
            e[4..8].copy_from_slice(&(name_at as i32).to_le_bytes());
            e[8..12].copy_from_slice(&(vector as i32).to_le_bytes());
            e[12] = kind;
            e[16..20].copy_from_slice(&(data_at as i32).to_le_bytes());
            body.extend_from_slice(&e);
        }
        let mut f = vec![0xca, 0xfe, 0xc0, 0xc0, 1, 2, 0, 1];
        f.extend_from_slice(&((PROLOGUE + body.len()) as i32).to_le_bytes());
        f.extend_from_slice(&0i32.to_le_bytes());
        f.extend_from_slice(&0i64.to_le_bytes());
        f.extend_from_slice(&(PROLOGUE as i32).to_le_bytes());
        f.extend_from_slice(&(entries.len() as i32).to_le_bytes());
        f.extend_from_slice(&body);
        f.resize(f.len() + 64, 0);
        f
    }

    #[test]
    fn reads_the_counters_it_needs() {
        let f = file(&[
            ("sun.rt._sync_Inflations", Value::Long(3)),
            ("sun.rt.jvmCapabilities", Value::Bytes(b"1100000")),
            ("sun.os.hrt.frequency", Value::Long(1_000_000_000)),
            ("sun.rt.safepointTime", Value::Long(30_187_714)),
            ("java.property.java.vm.version", Value::Bytes(b"17.0.15+6")),
            ("sun.gc.whatever", Value::Other),
        ]);
        let c = parse(&f).unwrap();
        assert_eq!(c.attach_supported, Some(true));
        assert_eq!(c.safepoint_ticks, Some(30_187_714));
        assert!((c.safepoint_seconds().unwrap() - 0.030_187_714).abs() < 1e-12);
        assert_eq!(c.vm_version.as_deref(), Some("17.0.15+6"));
        let disabled = parse(&file(&[("sun.rt.jvmCapabilities", Value::Bytes(b"0100"))])).unwrap();
        assert_eq!(disabled.attach_supported, Some(false));
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert_eq!(parse(b"").unwrap_err(), PerfError::Magic);
        assert_eq!(
            parse(b"\xca\xfe\xc0\xc0\x01").unwrap_err(),
            PerfError::Corrupt(5)
        );
        let mut f = file(&[("sun.rt.safepointTime", Value::Long(1))]);
        f[7] = 0;
        assert_eq!(parse(&f).unwrap_err(), PerfError::NotAccessible);
        let f = file(&[("sun.rt.safepointTime", Value::Long(1))]);
        for cut in 0..f.len() {
            let _ = parse(&f[..cut]);
        }
        // An entry that claims to be longer than the file.
        let mut f = file(&[("sun.rt.safepointTime", Value::Long(1))]);
        f[PROLOGUE..PROLOGUE + 4].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(matches!(parse(&f), Err(PerfError::Corrupt(_))));
    }

    #[test]
    fn this_machine_s_jvms_if_any() {
        // Any live JVM's file on this machine parses (nothing to check
        // when none runs).
        let Ok(dirs) = std::fs::read_dir("/tmp") else {
            return;
        };
        for d in dirs.flatten() {
            if !d.file_name().to_string_lossy().starts_with("hsperfdata_") {
                continue;
            }
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                if let Ok(buf) = std::fs::read(f.path()) {
                    if let Ok(c) = parse(&buf) {
                        assert!(c.tick_frequency.is_some_and(|f| f > 0));
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = parse(&data);
            let mut with_magic = vec![0xca, 0xfe, 0xc0, 0xc0];
            with_magic.extend_from_slice(&data);
            let _ = parse(&with_magic);
        }

        #[test]
        fn counters_read_back(
            safepoint in proptest::prelude::any::<i64>(),
            freq in 1i64..i64::MAX,
            caps in "[01]{1,64}",
            noise in proptest::collection::vec(("[a-z.]{1,40}", proptest::prelude::any::<i64>()), 0..20),
        ) {
            let mut entries: Vec<(String, Value<'_>)> =
                noise.iter().map(|(n, v)| (format!("x.{n}"), Value::Long(*v))).collect();
            entries.push(("sun.rt.safepointTime".into(), Value::Long(safepoint)));
            entries.push(("sun.os.hrt.frequency".into(), Value::Long(freq)));
            entries.push(("sun.rt.jvmCapabilities".into(), Value::Bytes(caps.as_bytes())));
            let refs: Vec<(&str, Value<'_>)> = entries.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            let c = parse(&file(&refs)).unwrap();
            proptest::prop_assert_eq!(c.safepoint_ticks, Some(safepoint));
            proptest::prop_assert_eq!(c.tick_frequency, Some(freq));
            proptest::prop_assert_eq!(c.attach_supported, Some(caps.starts_with('1')));
        }
    }
}
