//! Fuzzes the whole per-file pipeline: parse, rule engine, suppression and
//! fingerprinting, on arbitrary text in every language.
#![no_main]

use leakwatch_check::{check_source, Lang, RuleOptions};
use libfuzzer_sys::fuzz_target;

const LANGS: [Lang; 6] = [Lang::Python, Lang::JavaScript, Lang::TypeScript, Lang::Tsx, Lang::Go, Lang::Java];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let lang = LANGS[pick as usize % LANGS.len()];
    let src = String::from_utf8_lossy(rest);
    let opts = RuleOptions::default();
    if let Ok(r) = check_source("fuzz", lang, &src, &opts) {
        let lines = src.lines().count().max(1);
        for f in r.findings {
            assert!(f.line >= 1 && f.line <= lines + 1, "line {} of {lines}", f.line);
            assert!(f.column >= 1 && f.end_column > 0);
        }
    }
});
