//! The text of `GC.class_histogram` (what `jmap -histo` and `jcmd PID
//! GC.class_histogram` print):
//!
//! ```text
//!  num     #instances         #bytes  class name (module)
//! -------------------------------------------------------
//!    1:         14081         701440  [B (java.base@17.0.15)
//!    2:           452          10848  Svc$CacheEntry
//! Total         50188        2168496
//! ```
//!
//! The text comes from the target: lines are bounded, anything unexpected
//! is skipped or reported, never trusted.

/// One histogram's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub classes: u64,
    pub instances: u64,
    pub bytes: u64,
}

/// Why a text is not a histogram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramError {
    /// No header line: the JVM printed something else (an error message).
    #[error("not a class histogram: {0}")]
    NotAHistogram(String),
}

/// Longest class name kept (HotSpot's own limit is 65535 bytes).
const MAX_NAME: usize = 1024;

/// Calls `each(class, instances, bytes)` for each class line of a
/// histogram; class names are shown as in Java source (`byte[]`,
/// `java.lang.String[]`), without the module.
pub fn parse(text: &str, mut each: impl FnMut(&str, u64, u64)) -> Result<Totals, HistogramError> {
    let mut header = false;
    let mut totals = Totals::default();
    let mut name = String::new();
    for line in text.lines() {
        let t = line.trim();
        if !header {
            if t.contains("#instances") && t.contains("#bytes") {
                header = true;
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix("Total") {
            let mut f = rest.split_whitespace().map(|x| x.parse::<u64>());
            if let (Some(Ok(i)), Some(Ok(b))) = (f.next(), f.next()) {
                totals.instances = i;
                totals.bytes = b;
            }
            continue;
        }
        let Some((num, rest)) = t.split_once(':') else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let rest = rest.trim_start();
        let Some((instances, rest)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some((bytes, class)) = rest.split_once(char::is_whitespace) else {
            continue;
        };
        let (Ok(instances), Ok(bytes)) = (instances.parse::<u64>(), bytes.parse::<u64>()) else {
            continue;
        };
        let class = without_module(class.trim());
        if class.is_empty() {
            continue;
        }
        name.clear();
        java_name(class, &mut name);
        if name.len() > MAX_NAME {
            let mut cut = MAX_NAME;
            while !name.is_char_boundary(cut) {
                cut -= 1;
            }
            name.truncate(cut);
        }
        totals.classes += 1;
        each(&name, instances, bytes);
    }
    if !header {
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("(nothing)");
        let first: String = first.chars().take(300).collect();
        return Err(HistogramError::NotAHistogram(first));
    }
    Ok(totals)
}

/// `java.lang.String (java.base@17.0.15)` → `java.lang.String`.
fn without_module(class: &str) -> &str {
    match class.rfind(" (") {
        Some(i) if class.ends_with(')') => &class[..i],
        _ => class,
    }
}

/// A JVM type name as Java source writes it: `[B` → `byte[]`,
/// `[[Ljava.lang.Object;` → `java.lang.Object[][]`; others unchanged.
pub fn java_name(class: &str, out: &mut String) {
    let dims = class.bytes().take_while(|&b| b == b'[').count();
    if dims == 0 {
        out.push_str(class);
        return;
    }
    let elem = &class[dims..];
    let base = match elem {
        "B" => "byte",
        "C" => "char",
        "D" => "double",
        "F" => "float",
        "I" => "int",
        "J" => "long",
        "S" => "short",
        "Z" => "boolean",
        _ => match elem.strip_prefix('L').and_then(|e| e.strip_suffix(';')) {
            Some(e) if !e.is_empty() => e,
            _ => {
                out.push_str(class);
                return;
            }
        },
    };
    out.push_str(base);
    for _ in 0..dims {
        out.push_str("[]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "24084:
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:         14081         701440  [B (java.base@17.0.15)
   2:         13140         315360  java.lang.String (java.base@17.0.15)
   5:          1460         127304  [Ljava.lang.Object; (java.base@17.0.15)
  19:           452          10848  Svc$CacheEntry
  71:            45           1080  Svc$LeakedSession
  80:             3             96  Svc$$Lambda$14/0x0000000800c03000
  81:             1             32  [[I (java.base@17.0.15)
Total         50188        2168496
";

    #[test]
    fn classes_counts_and_totals() {
        let mut got = Vec::new();
        let t = parse(SAMPLE, |c, i, b| got.push((c.to_owned(), i, b))).unwrap();
        assert_eq!(
            got,
            [
                ("byte[]".to_owned(), 14081, 701_440),
                ("java.lang.String".to_owned(), 13140, 315_360),
                ("java.lang.Object[]".to_owned(), 1460, 127_304),
                ("Svc$CacheEntry".to_owned(), 452, 10848),
                ("Svc$LeakedSession".to_owned(), 45, 1080),
                ("Svc$$Lambda$14/0x0000000800c03000".to_owned(), 3, 96),
                ("int[][]".to_owned(), 1, 32),
            ]
        );
        assert_eq!(
            t,
            Totals {
                classes: 7,
                instances: 50188,
                bytes: 2_168_496
            }
        );
    }

    #[test]
    fn an_error_message_is_not_a_histogram() {
        let e = parse(
            "java.lang.IllegalArgumentException: Unknown diagnostic command\n",
            |_, _, _| panic!("no classes"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Unknown diagnostic command"), "{e}");
        assert!(parse("", |_, _, _| {}).is_err());
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let text = " num     #instances         #bytes  class name\n\
                    x: 1 2 A\n 3: -1 2 B\n 4: 1\n 5: 1 2 \n 6: 1 2 [L;\n 7: 99999999999999999999 1 C\n";
        let mut got = Vec::new();
        parse(text, |c, i, b| got.push((c.to_owned(), i, b))).unwrap();
        assert_eq!(got, [("[L;".to_owned(), 1, 2)]);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_fails_cleanly(text in "\\PC{0,400}") {
            let _ = parse(&text, |c, _, _| assert!(!c.is_empty() && c.len() <= MAX_NAME));
            let with_header = format!(" num     #instances         #bytes  class name (module)\n{text}");
            let parsed = parse(&with_header, |_, _, _| ()).is_ok();
            proptest::prop_assert!(parsed);
        }

        #[test]
        fn classes_read_back(rows in proptest::collection::vec(("[A-Za-z][A-Za-z0-9$.]{0,30}", 0u64..1<<40, 0u64..1<<50), 0..50)) {
            let mut text = String::from(" num     #instances         #bytes  class name (module)\n---\n");
            for (i, (c, n, b)) in rows.iter().enumerate() {
                text.push_str(&format!("{:>4}: {n:>13} {b:>14}  {c} (java.base@17.0.15)\n", i + 1));
            }
            let mut got = Vec::new();
            parse(&text, |c, n, b| got.push((c.to_owned(), n, b))).unwrap();
            proptest::prop_assert_eq!(got, rows);
        }
    }
}
