//! Prints every event of a trace, one per line, in replay order
//! (a debugging aid: `cargo run --example dump -- TRACE`).

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump TRACE");
        std::process::exit(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let result = leakwatch_trace::TraceReader::open(file).and_then(|mut trace| {
        println!("{:?} version {}", trace.header, trace.version);
        let mut tables = leakwatch_trace::Tables::default();
        let r = trace.replay(
            &mut tables,
            |ev, t| match ev {
                leakwatch_trace::Event::Module { module, .. } => {
                    println!("{ev:?} {}", t.modules[*module as usize].path)
                }
                _ => println!("{ev:?}"),
            },
            |_| {},
        );
        println!("truncated_at={:?}", trace.truncated_at());
        if !tables.lsan_suppressions.is_empty() {
            println!("embedded suppressions:\n{}", tables.lsan_suppressions);
        }
        r
    });
    if let Err(e) = result {
        eprintln!("{e}");
        std::process::exit(2);
    }
}
