//! A small streaming JSON scanner over any [`Read`]: just enough JSON to walk
//! a heap snapshot's top level, read its huge numeric arrays without building
//! a value tree, and read strings with their escapes. Memory use is one
//! fixed-size buffer; every error carries the byte offset where it happened.

use std::io::Read;

use crate::error::HeapError;

const BUF_SIZE: usize = 1 << 20;

/// A buffered byte source that knows its absolute offset.
pub struct Scanner<'p, R> {
    reader: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf[0]`.
    base: u64,
    eof: bool,
    progress: Option<&'p mut dyn FnMut(u64)>,
    next_report: u64,
}

impl<'p, R: Read> Scanner<'p, R> {
    pub fn new(reader: R) -> Self {
        Scanner {
            reader,
            buf: vec![0u8; BUF_SIZE].into_boxed_slice(),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            progress: None,
            next_report: 0,
        }
    }

    /// Calls `f(bytes_consumed)` every few megabytes.
    pub fn set_progress(&mut self, f: &'p mut dyn FnMut(u64)) {
        self.progress = Some(f);
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn refill(&mut self) -> Result<bool, HeapError> {
        if self.eof {
            return Ok(false);
        }
        self.base += self.len as u64;
        self.pos = 0;
        self.len = 0;
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.len = n;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(HeapError::Io {
                        offset: self.base,
                        source: e,
                    })
                }
            }
        }
        if let Some(report) = self.progress.as_mut() {
            if self.base >= self.next_report {
                report(self.base);
                self.next_report = self.base + (16 << 20);
            }
        }
        Ok(true)
    }

    /// The next byte without consuming it; `None` at end of input.
    #[inline]
    pub fn peek(&mut self) -> Result<Option<u8>, HeapError> {
        if self.pos >= self.len && !self.refill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    #[inline]
    fn bump(&mut self) {
        self.pos += 1;
    }

    /// Skips whitespace and returns the next byte (not consumed).
    pub fn peek_token(&mut self) -> Result<Option<u8>, HeapError> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.bump(),
                other => return Ok(other),
            }
        }
    }

    fn unexpected(&self, what: &str, got: Option<u8>) -> HeapError {
        match got {
            None => HeapError::Truncated {
                offset: self.offset(),
                expected: what.to_string(),
            },
            Some(b) => HeapError::Syntax {
                offset: self.offset(),
                message: format!("expected {what}, found {}", show_byte(b)),
            },
        }
    }

    /// Consumes `byte` after optional whitespace.
    pub fn expect(&mut self, byte: u8) -> Result<(), HeapError> {
        let got = self.peek_token()?;
        if got == Some(byte) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", byte as char), got))
        }
    }

    /// Reads a JSON string (after optional whitespace), appending its decoded
    /// text to `out`. Invalid UTF-8 and lone surrogates become U+FFFD.
    pub fn read_string(&mut self, out: &mut String) -> Result<(), HeapError> {
        self.expect(b'"')?;
        let mut raw: Vec<u8> = Vec::new();
        loop {
            // Fast path: copy a run of plain bytes from the buffer.
            if self.pos >= self.len && !self.refill()? {
                return Err(self.unexpected("end of string", None));
            }
            let chunk = &self.buf[self.pos..self.len];
            let stop = chunk
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .unwrap_or(chunk.len());
            raw.extend_from_slice(&chunk[..stop]);
            self.pos += stop;
            if stop == chunk.len() {
                continue;
            }
            let b = self.buf[self.pos];
            self.bump();
            if b == b'"' {
                break;
            }
            let esc = self.peek()?;
            if esc.is_some() {
                self.bump();
            }
            match esc {
                Some(b'"') => raw.push(b'"'),
                Some(b'\\') => raw.push(b'\\'),
                Some(b'/') => raw.push(b'/'),
                Some(b'b') => raw.push(8),
                Some(b'f') => raw.push(12),
                Some(b'n') => raw.push(b'\n'),
                Some(b'r') => raw.push(b'\r'),
                Some(b't') => raw.push(b'\t'),
                Some(b'u') => {
                    let unit = self.read_hex4()?;
                    let ch = if (0xD800..0xDC00).contains(&unit) {
                        // A high surrogate: pair it with a following low one if present.
                        if self.peek()? == Some(b'\\') {
                            self.bump();
                            if self.peek()? == Some(b'u') {
                                self.bump();
                                let low = self.read_hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                    char::from_u32(c).unwrap_or('\u{FFFD}')
                                } else {
                                    push_char(&mut raw, '\u{FFFD}');
                                    char::from_u32(low).unwrap_or('\u{FFFD}')
                                }
                            } else {
                                let got = self.peek()?;
                                return Err(self.unexpected("'u' after '\\'", got));
                            }
                        } else {
                            '\u{FFFD}'
                        }
                    } else {
                        char::from_u32(unit).unwrap_or('\u{FFFD}')
                    };
                    push_char(&mut raw, ch);
                }
                other => return Err(self.unexpected("a string escape", other)),
            }
        }
        match String::from_utf8(raw) {
            Ok(s) => out.push_str(&s),
            Err(e) => out.push_str(&String::from_utf8_lossy(e.as_bytes())),
        }
        Ok(())
    }

    fn read_hex4(&mut self) -> Result<u32, HeapError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.peek()?;
            let d = match b {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                other => return Err(self.unexpected("a hex digit", other)),
            };
            self.bump();
            v = v * 16 + d as u32;
        }
        Ok(v)
    }

    /// Skips an array that holds only numbers (a snapshot's `edges` when
    /// they are not needed): the closing bracket is found with `memchr`,
    /// without reading the numbers. A nested array or object is an error.
    pub fn skip_flat_array(&mut self) -> Result<(), HeapError> {
        self.expect(b'[')?;
        loop {
            if self.pos >= self.len && !self.refill()? {
                return Err(HeapError::Truncated {
                    offset: self.offset(),
                    expected: "the rest of a number array".into(),
                });
            }
            let hay = &self.buf[self.pos..self.len];
            match memchr::memchr3(b']', b'[', b'{', hay) {
                Some(i) => {
                    let b = hay[i];
                    self.pos += i;
                    if b != b']' {
                        return Err(self.unexpected("a number", Some(b)));
                    }
                    self.bump();
                    return Ok(());
                }
                None => self.pos = self.len,
            }
        }
    }

    /// Skips numbers, separators and nested brackets from `depth` on (a
    /// number array such as `locations` or `trace_tree`, a byte at a time
    /// through a table); stops at any other byte (left for the generic
    /// skipper) or when the outermost array closes. Returns the depth.
    fn skip_number_tokens(&mut self, mut depth: u32) -> Result<u32, HeapError> {
        const fn table() -> [u8; 256] {
            let mut t = [0u8; 256];
            let mut c = b'0';
            while c <= b'9' {
                t[c as usize] = 1;
                c += 1;
            }
            let mut i = 0;
            let other = b",-+.eE \n\r\t";
            while i < other.len() {
                t[other[i] as usize] = 1;
                i += 1;
            }
            t[b'[' as usize] = 2;
            t[b']' as usize] = 3;
            t
        }
        static CLASS: [u8; 256] = table();
        loop {
            if self.pos >= self.len && !self.refill()? {
                return Err(HeapError::Truncated {
                    offset: self.offset(),
                    expected: "the rest of an array".into(),
                });
            }
            let buf = &self.buf[..self.len];
            let mut i = self.pos;
            while i < buf.len() {
                match CLASS[buf[i] as usize] {
                    1 => i += 1,
                    2 => {
                        depth += 1;
                        if depth > 1024 {
                            self.pos = i;
                            return Err(HeapError::Syntax {
                                offset: self.offset(),
                                message: "nesting deeper than 1024 levels".into(),
                            });
                        }
                        i += 1;
                    }
                    3 => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            self.pos = i;
                            return Ok(0);
                        }
                    }
                    _ => {
                        self.pos = i;
                        return Ok(depth);
                    }
                }
            }
            self.pos = i;
        }
    }

    /// Skips one JSON value of any kind, returning nothing; bounded memory
    /// whatever its size (only nesting depth is tracked).
    pub fn skip_value(&mut self) -> Result<(), HeapError> {
        let mut depth: u32 = 0;
        let mut scratch = String::new();
        loop {
            let b = self.peek_token()?;
            match b {
                Some(b'[') => {
                    self.bump();
                    depth += 1;
                    if depth > 1024 {
                        return Err(HeapError::Syntax {
                            offset: self.offset(),
                            message: "nesting deeper than 1024 levels".into(),
                        });
                    }
                    // Number arrays (the bulk of what is skipped) go fast;
                    // anything else is left to the loop below.
                    if self.peek_token()? != Some(b']') {
                        depth = self.skip_number_tokens(depth)?;
                        if depth == 0 {
                            return Ok(());
                        }
                    }
                    continue;
                }
                Some(b'{') => {
                    self.bump();
                    depth += 1;
                    if depth > 1024 {
                        return Err(HeapError::Syntax {
                            offset: self.offset(),
                            message: "nesting deeper than 1024 levels".into(),
                        });
                    }
                    continue;
                }
                Some(b'}' | b']') if depth > 0 => {
                    self.bump();
                    depth -= 1;
                }
                Some(b'"') => {
                    scratch.clear();
                    self.read_string(&mut scratch)?;
                    if self.peek_token()? == Some(b':') && depth > 0 {
                        self.bump();
                        continue;
                    }
                }
                Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                    while let Some(c) = self.peek()? {
                        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') {
                            self.bump();
                        } else {
                            break;
                        }
                    }
                }
                other => return Err(self.unexpected("a JSON value", other)),
            }
            if depth == 0 {
                return Ok(());
            }
            match self.peek_token()? {
                Some(b',') => self.bump(),
                Some(b']' | b'}') => {}
                other => return Err(self.unexpected("',' or a closing bracket", other)),
            }
        }
    }

    /// Copies one JSON value's raw bytes (for small values such as the
    /// snapshot header). Fails if it exceeds `limit` bytes.
    pub fn capture_value(&mut self, limit: usize) -> Result<Vec<u8>, HeapError> {
        self.peek_token()?;
        let start = self.offset();
        // Re-scan with a tee: simplest is to record bytes as they are consumed.
        let mut out = Vec::new();
        let mut depth: u32 = 0;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let b = match self.peek()? {
                Some(b) => b,
                None => {
                    return Err(HeapError::Truncated {
                        offset: self.offset(),
                        expected: "end of the value that starts at byte ".to_string()
                            + &start.to_string(),
                    })
                }
            };
            self.bump();
            out.push(b);
            if out.len() > limit {
                return Err(HeapError::Syntax {
                    offset: start,
                    message: format!("value is larger than {limit} bytes"),
                });
            }
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return Err(self.unexpected("a JSON value", Some(b)));
                    }
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                _ if depth == 0 => {
                    // A scalar at top level: read until a delimiter.
                    while let Some(c) = self.peek()? {
                        if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                            break;
                        }
                        self.bump();
                        out.push(c);
                    }
                    return Ok(out);
                }
                _ => {}
            }
        }
    }

    /// Reads an array of non-negative integers, handing them to `sink` in
    /// batches of `batch` numbers (the last batch may be shorter), with the
    /// offset of the byte after each batch; returns how many were read.
    ///
    /// This is the hot loop for the `nodes` and `edges` arrays (hundreds of
    /// MB of short numbers). A plain byte loop that accumulates digits is
    /// what this CPU does fastest (faster than decoding 8 bytes at a time,
    /// whose every number waits on the previous one's length); it takes the
    /// usual separators (`,` and V8's `\n,`) itself and leaves anything
    /// else (other whitespace, the closing bracket, errors, the end of the
    /// buffer) to [`Self::array_byte`].
    pub fn read_u64_batches(
        &mut self,
        batch: usize,
        mut sink: impl FnMut(&[u64], u64) -> Result<(), HeapError>,
    ) -> Result<u64, HeapError> {
        self.expect(b'[')?;
        if self.peek_token()? == Some(b']') {
            self.bump();
            return Ok(0);
        }
        let batch = batch.max(1);
        let mut vals = vec![0u64; batch];
        let mut k = 0;
        let mut count: u64 = 0;
        let mut num = Number::default();
        loop {
            if self.pos >= self.len && !self.refill()? {
                return Err(HeapError::Truncated {
                    offset: self.offset(),
                    expected: "the rest of a number array".into(),
                });
            }
            let buf = &self.buf[..self.len];
            let mut i = self.pos;
            if !num.closed {
                let (mut v, mut nd) = (num.value, num.digits);
                while i < buf.len() {
                    let b = buf[i];
                    let d = b.wrapping_sub(b'0');
                    if d < 10 {
                        v = v.wrapping_mul(10).wrapping_add(d as u64);
                        nd += 1;
                        i += 1;
                        continue;
                    }
                    // A complete number of at most 19 digits (which cannot overflow).
                    if nd.wrapping_sub(1) >= 19 {
                        break;
                    }
                    if b == b',' {
                        i += 1;
                    } else if b == b'\n' && buf.get(i + 1) == Some(&b',') {
                        i += 2;
                    } else {
                        break;
                    }
                    vals[k] = v;
                    k += 1;
                    v = 0;
                    nd = 0;
                    if k == batch {
                        count += k as u64;
                        k = 0;
                        if let Err(e) = sink(&vals, self.base + i as u64) {
                            self.pos = i;
                            return Err(e);
                        }
                    }
                }
                num.value = v;
                num.digits = nd;
            }
            self.pos = i;
            if i == self.len {
                continue;
            }
            match self.array_byte(&mut num)? {
                Some(false) => {}
                ended => {
                    vals[k] = num.value;
                    k += 1;
                    num = Number::default();
                    if ended == Some(true) || k == batch {
                        count += k as u64;
                        sink(&vals[..k], self.offset())?;
                        k = 0;
                    }
                    if ended == Some(true) {
                        return Ok(count);
                    }
                }
            }
        }
    }

    /// One byte of a number array the slow way (`self.buf[self.pos]`, which
    /// must exist): `Some(true)` when it closed the array after `num`,
    /// `None` when it ended `num` with a `,`, `Some(false)` otherwise.
    fn array_byte(&mut self, num: &mut Number) -> Result<Option<bool>, HeapError> {
        if num.digits > 19 {
            return Err(HeapError::Syntax {
                offset: self.offset(),
                message: "number too large".into(),
            });
        }
        let b = self.buf[self.pos];
        match b {
            b'0'..=b'9' if !num.closed => {
                num.digits += 1;
                num.value = num.value.wrapping_mul(10).wrapping_add((b - b'0') as u64);
            }
            b' ' | b'\n' | b'\r' | b'\t' => num.closed = num.digits > 0,
            b',' | b']' if num.digits > 0 => {
                self.bump();
                return Ok(if b == b']' { Some(true) } else { None });
            }
            _ => {
                let what = if num.digits > 0 {
                    "',' or ']'"
                } else {
                    "a non-negative integer"
                };
                return Err(self.unexpected(what, Some(b)));
            }
        }
        self.bump();
        Ok(Some(false))
    }
}

/// The number being read by [`Scanner::read_u64_batches`]: its value and
/// digits so far, and whether whitespace has ended it (so the next byte
/// that is not whitespace must be a separator).
#[derive(Default)]
struct Number {
    value: u64,
    digits: u32,
    closed: bool,
}

fn push_char(raw: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    raw.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner(s: &str) -> Scanner<'static, &[u8]> {
        Scanner::new(s.as_bytes())
    }

    #[test]
    fn reads_numbers_across_whitespace() {
        let mut got = vec![];
        let n = scanner(" [1, 22 ,\n333]")
            .read_u64_batches(2, |vs, _| {
                got.extend_from_slice(vs);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(got, vec![1, 22, 333]);
    }

    /// A reader that hands out at most `step` bytes per read.
    struct Dribble<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// The numbers of the array `text` starts with (reading stops at its `]`).
    fn naive_array(text: &str) -> Option<Vec<u64>> {
        let inner = text.trim_start().strip_prefix('[')?;
        let inner = &inner[..inner.find(']')?];
        if inner.trim().is_empty() {
            return Some(vec![]);
        }
        inner
            .split(',')
            .map(|t| {
                let t = t.trim_matches(|c: char| c.is_ascii_whitespace());
                if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    t.parse().ok()
                }
            })
            .collect()
    }

    #[test]
    fn arrays_read_the_same_in_any_chunking() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let n = (next() % 200) as usize;
            let mut text = String::from("[");
            for k in 0..n {
                if k > 0 {
                    text.push_str(match next() % 6 {
                        0 => "\n,",
                        1 => " , ",
                        _ => ",",
                    });
                }
                let digits = 1 + (next() % 12) as u32;
                text.push_str(&(next() % 10u64.pow(digits)).to_string());
            }
            text.push(']');
            // Some broken ones too.
            if round % 5 == 0 && n > 2 {
                let at = (next() as usize) % text.len();
                let bad = [",", "]", "x", "-", " ", "[", "123456789012345678901"];
                text.insert_str(at, bad[(next() as usize) % bad.len()]);
            }
            let want = naive_array(&text);
            for step in [1, 3, 7, 24, 1 << 20] {
                let mut got = vec![];
                let r = Scanner::new(Dribble {
                    data: text.as_bytes(),
                    step,
                })
                .read_u64_batches(1 + step % 5, |vs, _| {
                    got.extend_from_slice(vs);
                    Ok(())
                });
                match (&want, r) {
                    (Some(w), Ok(count)) => {
                        assert_eq!(&got, w, "{text:?} step {step}");
                        assert_eq!(count, w.len() as u64);
                    }
                    (None, Err(_)) => {}
                    (w, r) => panic!("{text:?} step {step}: want {w:?}, got {r:?}"),
                }
            }
        }
    }

    #[test]
    fn rejects_bad_arrays() {
        for bad in ["[1,,2]", "[1 2]", "[-1]", "[1.5]", "[1,", "[", "[1,]"] {
            let r = scanner(bad).read_u64_batches(4, |_, _| Ok(()));
            assert!(r.is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn decodes_string_escapes() {
        let mut s = String::new();
        scanner(r#""a\"b\\c\n\u00e9\ud83d\ude00\ud800x""#)
            .read_string(&mut s)
            .unwrap();
        assert_eq!(s, "a\"b\\c\né😀\u{FFFD}x");
    }

    #[test]
    fn skips_nested_values() {
        let mut sc = scanner(r#"{"a":[1,{"b":"]"}],"c":null} 7"#);
        sc.skip_value().unwrap();
        assert_eq!(sc.peek_token().unwrap(), Some(b'7'));
    }

    /// The byte offset just past the first JSON value in `text`.
    fn end_of_first_value(text: &str) -> usize {
        let mut it = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        it.next().unwrap().unwrap();
        it.byte_offset()
    }

    #[test]
    fn skipping_stops_after_the_value_in_any_chunking() {
        let values = [
            "[]",
            "[ ]",
            "[1,2,3]",
            "[1,\n2 ,-3.5e+2,[4,[5]],[]]",
            r#"[1,"]",[2,{"a":[3]}],"[",4]"#,
            r#"[[1,2],"x\"]",[[[]]],{"b":[1,{"c":"]"}]},null,true]"#,
            r#"{"edges":[1,2,3],"s":["a","b]"]}"#,
        ];
        for v in values {
            let text = format!("{v} 7");
            let end = end_of_first_value(&text);
            for step in [1, 2, 5, 1 << 20] {
                let mut sc = Scanner::new(Dribble {
                    data: text.as_bytes(),
                    step,
                });
                sc.skip_value().unwrap();
                assert_eq!(sc.offset(), end as u64, "{v:?} step {step}");
                assert_eq!(sc.peek_token().unwrap(), Some(b'7'), "{v:?} step {step}");
            }
        }
    }

    #[test]
    fn flat_arrays_are_skipped_and_anything_nested_is_refused() {
        for step in [1, 3, 1 << 20] {
            let text = "[1,22,\n333, 4] 7";
            let mut sc = Scanner::new(Dribble {
                data: text.as_bytes(),
                step,
            });
            sc.skip_flat_array().unwrap();
            assert_eq!(sc.peek_token().unwrap(), Some(b'7'));
            for bad in ["[1,[2]]", "[1,{}]", "[1,2", "[", "7"] {
                let mut sc = Scanner::new(Dribble {
                    data: bad.as_bytes(),
                    step,
                });
                assert!(sc.skip_flat_array().is_err(), "{bad:?} step {step}");
            }
        }
    }

    #[test]
    fn truncated_and_deep_arrays_are_errors_when_skipped() {
        for bad in ["[1,2", "[[1,2]", "[1,\"a", "[1,{\"a\":[2"] {
            assert!(scanner(bad).skip_value().is_err(), "{bad:?}");
        }
        let deep = "[".repeat(2000) + &"]".repeat(2000);
        assert!(scanner(&deep).skip_value().is_err());
    }

    #[test]
    fn captures_values() {
        let mut sc = scanner(r#" {"a":"}"} ,"#);
        assert_eq!(sc.capture_value(100).unwrap(), br#"{"a":"}"}"#.to_vec());
    }
}
