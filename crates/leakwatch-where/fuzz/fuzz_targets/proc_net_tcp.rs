//! Any text as /proc/net/tcp or tcp6, /proc/PID/stat or an fd link target.
#![no_main]

use leakwatch_where::listen;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for v6 in [false, true] {
        for l in listen::parse_net_tcp(&text, v6) {
            let _ = l.loopback_addr();
        }
    }
    let _ = listen::parse_stat_state(data);
    let _ = listen::parse_socket_link(&text);
});
