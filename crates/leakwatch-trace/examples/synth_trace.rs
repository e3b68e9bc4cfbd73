//! Writes a synthetic trace of N events (alloc/free pairs over 1000 call
//! stacks plus a slow leak), chunk by chunk, to test the reader's memory
//! and speed on event counts no real run needs to produce:
//! `cargo run --release --example synth_trace -- OUT.lwt 100000000`.

use std::io::Write;

use leakwatch_trace::format::{TICK_NS, VERSION};
use leakwatch_trace::synth::{Records, TraceWriter};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(n)) = (args.next(), args.next().and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: synth_trace OUT.lwt EVENTS");
        std::process::exit(2);
    };
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut w = TraceWriter::new(VERSION, 1);
    file.write_all(&w.take_out())?;
    let mut r = Records::default();
    r.module(0x400000, &[(0, 0x100000, 5)], b"/opt/app/bin/server");
    let classes: Vec<u32> = (0..1000u64)
        .map(|k| {
            let s = r.stack(&[0x400000 + 16 * k, 0x480000 + k]);
            r.class(s, 16 + k % 200)
        })
        .collect();
    let leak = r.class(999, 48);
    let (mut events, mut tick) = (0u64, 0u64);
    while events < n {
        for i in 0..1000usize {
            let c = classes[(i * 7 + tick as usize) % 1000];
            r.alloc(c);
            r.free(c);
            events += 2;
        }
        if tick.is_multiple_of(4) {
            r.alloc(leak);
            events += 1;
        }
        r.time(TICK_NS);
        tick += 1;
        if tick.is_multiple_of(256) {
            w.chunk(&r.take());
            file.write_all(&w.take_out())?;
        }
    }
    r.end();
    w.chunk(&r.take());
    file.write_all(&w.take_out())?;
    file.flush()?;
    eprintln!("{events} events");
    Ok(())
}
