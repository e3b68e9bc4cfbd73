//! Any bytes given to the trace reader and the replay must yield a trace or
//! a typed error, never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Half the inputs get a valid header and are packed into the first
    // compressed chunk (sequence 0), so the fuzzer reaches the records.
    let mut buf;
    let input = if data.first().is_some_and(|b| b & 1 == 1) && data.len() > 1 {
        let packed = zstd::bulk::compress(&data[1..], 1).unwrap_or_default();
        buf = Vec::with_capacity(52 + packed.len());
        buf.extend_from_slice(b"LWTRACE\0");
        buf.extend_from_slice(&3u32.to_le_bytes());
        buf.extend_from_slice(&[0u8; 28]);
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        buf.extend_from_slice(&((data.len() - 1) as u32).to_le_bytes());
        buf.extend_from_slice(&packed);
        &buf[..]
    } else {
        data
    };
    if let Ok(trace) = leakwatch_trace::Trace::open(input) {
        let _ = leakwatch_trace::analyze(&trace);
    }
});
