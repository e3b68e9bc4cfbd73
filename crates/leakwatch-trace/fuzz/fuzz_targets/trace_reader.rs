//! Any bytes given to the trace reader, the replay and the report must
//! yield a report or a typed error, never a panic, a hang or unbounded
//! memory (run with `-rss_limit_mb=512`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Half the inputs get a valid header (version 3, 4 or 5) and are
    // packed into the first compressed chunk (sequence 0), so the fuzzer
    // reaches the records.
    let mut buf;
    let input = if data.first().is_some_and(|b| b & 1 == 1) && data.len() > 1 {
        let packed = zstd::bulk::compress(&data[1..], 1).unwrap_or_default();
        let version: u32 = 3 + u32::from(data[0] >> 1 & 3).min(2);
        buf = Vec::with_capacity(52 + packed.len());
        buf.extend_from_slice(b"LWTRACE\0");
        buf.extend_from_slice(&version.to_le_bytes());
        buf.extend_from_slice(&[0u8; 28]);
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        buf.extend_from_slice(&((data.len() - 1) as u32).to_le_bytes());
        buf.extend_from_slice(&packed);
        &buf[..]
    } else {
        data
    };
    let Ok(reader) = leakwatch_trace::TraceReader::open(input) else {
        return;
    };
    let Ok(analysis) = leakwatch_trace::analyze(reader) else {
        return;
    };
    // The report's classification, residue and suppression logic on the
    // crafted tables (module paths that do not exist are not opened).
    let mut sym = leakwatch_trace::Symbolizer::new();
    let opts = leakwatch_trace::ReportOptions {
        top: 5,
        ..Default::default()
    };
    let report = leakwatch_trace::build_report(&analysis, &mut sym, &opts);
    let _ = leakwatch_trace::render_text(&report, "fuzz.lwt", false);
});
