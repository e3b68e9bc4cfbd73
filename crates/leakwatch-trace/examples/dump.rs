//! Prints every event of a trace, one per line, in replay order
//! (a debugging aid: `cargo run --example dump -- TRACE`).

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump TRACE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let result = leakwatch_trace::Trace::open(&data).and_then(|trace| {
        println!("{:?} truncated_at={:?}", trace.header, trace.truncated_at);
        let mut tables = leakwatch_trace::Tables::default();
        trace.replay(&mut tables, |ev, t| match ev {
            leakwatch_trace::Event::Module { module, .. } => {
                println!("{ev:?} {}", t.modules[*module as usize].path)
            }
            _ => println!("{ev:?}"),
        })
    });
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(2);
    }
}
