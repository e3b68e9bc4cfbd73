//! The text of `GC.class_histogram` as the JVM answers it: any text parses
//! to classes with counts or a clean error, with bounded class names.
#![no_main]

use leakwatch_where::jvm::histogram;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut classes = 0u64;
    if let Ok(t) = histogram::parse(&text, |name, _, _| {
        assert!(!name.is_empty() && name.len() <= 1024);
        classes += 1;
    }) {
        assert_eq!(t.classes, classes);
    }
});
