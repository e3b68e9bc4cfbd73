//! What a helper inside the target program (Python, Ruby) sends back: any
//! bytes, read as lines of at most MAX_LINE, fed to one poll's answer. Only
//! values of the poll's own answer, finite and non-negative, of known
//! metrics, at most MAX_KEYS_PER_POLL, reach the session.
#![no_main]

use std::io::BufReader;

use leakwatch_where::helper::{read_line, AnswerReader, Step, MAX_KEYS_PER_POLL, MAX_LINE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = BufReader::with_capacity(64, data);
    let mut line = Vec::new();
    let mut answer = AnswerReader::new(1, 2);
    let mut keys = 0usize;
    while let Ok(Some(ok)) = read_line(&mut r, &mut line) {
        assert!(line.len() <= MAX_LINE);
        if !ok {
            continue;
        }
        let step = answer.feed(&line, &mut |metric, key, value| {
            assert!(metric < 2 && value.is_finite() && value >= 0.0 && !key.is_empty());
            keys += 1;
        });
        if step != Step::More {
            break;
        }
    }
    assert!(keys <= MAX_KEYS_PER_POLL);
});
