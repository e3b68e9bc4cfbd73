//! An answer on the HotSpot attach socket: a result code line and output,
//! or a clean error.
#![no_main]

use leakwatch_where::jvm::attach;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = attach::decode_answer(data);
});
