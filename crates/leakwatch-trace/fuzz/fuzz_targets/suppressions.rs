//! LeakSanitizer suppression text (a user's file or a program's embedded
//! `__lsan_default_suppressions()`, recorded in a trace) and its patterns:
//! parsing and matching never panic, and matching is linear enough not to
//! hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (rules, subject) = text.split_once('\u{0}').unwrap_or((&text, "subject"));
    let mut s = leakwatch_trace::Suppressions::default();
    let _ = s.parse(rules, "fuzz");
    let _ = s.first_match(subject);
    let _ = leakwatch_trace::suppress::lsan_options_suppressions(rules);
    for line in rules.lines() {
        let _ = leakwatch_trace::suppress::template_match(line, subject);
    }
});
