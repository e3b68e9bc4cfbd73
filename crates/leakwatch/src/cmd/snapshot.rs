//! `leakwatch snapshot --node-inspect HOST:PORT`: takes heap snapshots of a
//! running Node process through its inspector, then diffs them.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use leakwatch_core::format;
use leakwatch_heap::files::{create_private_dir, PendingFile};
use leakwatch_heap::inspector::{resolve_endpoint, Inspector};
use std::io::Write;

use crate::cmd::diff::diff_snapshots;

/// Take heap snapshots of a running Node process and diff them.
///
/// Start Node with --inspect=127.0.0.1:9229 (or send it SIGUSR1), then:
///   leakwatch snapshot --node-inspect 127.0.0.1:9229 --count 3 --every 30s
/// Snapshots are written to --out-dir and compared as BASE TARGET FINAL
/// (exit 1 when leak clusters are found). A snapshot pauses the process
/// while it is taken. Only loopback addresses unless --allow-remote.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The inspector's HOST:PORT (Node's --inspect address).
    #[arg(long, value_name = "HOST:PORT")]
    pub node_inspect: String,
    /// How many snapshots to take (2 or more; with 3 or more the first, the
    /// middle and the last are diffed as BASE TARGET FINAL).
    #[arg(long, default_value_t = 3)]
    pub count: u32,
    /// Time between snapshots, e.g. 30s or 5m.
    #[arg(long, default_value = "30s", value_parser = crate::cmd::analyze::parse_duration_arg)]
    pub every: f64,
    /// Where to write the .heapsnapshot files.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Connect to a non-loopback address (the inspector gives full control of the process).
    #[arg(long)]
    pub allow_remote: bool,
    /// Only take the snapshots, do not diff them.
    #[arg(long)]
    pub no_diff: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    pub json: bool,
    /// How many clusters and classes to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Leak clusters whose new objects weigh less than this are noise.
    #[arg(long, default_value = "256KiB", value_parser = format::parse_size)]
    pub min_bytes: u64,
}

pub fn run(args: SnapshotArgs) -> anyhow::Result<u8> {
    if args.count < 2 && !args.no_diff {
        bail!("--count must be at least 2 to diff (or pass --no-diff)");
    }
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let addr = resolve_endpoint(&args.node_inspect, args.allow_remote)?;
    create_private_dir(&args.out_dir)
        .with_context(|| format!("cannot use --out-dir {}", args.out_dir.display()))?;
    let timeout = Duration::from_secs(300);
    let mut session = Inspector::connect(addr, timeout)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut files = Vec::new();
    let start = Instant::now();
    for i in 0..args.count {
        if i > 0 {
            let due = start + Duration::from_secs_f64(args.every * i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let path = args.out_dir.join(format!(
            "node-{}-{stamp}-{}.heapsnapshot",
            addr.port(),
            i + 1
        ));
        // Written under a hidden partial name, renamed once complete: a
        // run killed here leaves no cut snapshot under a snapshot's name.
        let mut pending = PendingFile::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let t0 = Instant::now();
        let bytes = {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, pending.file());
            let bytes = session
                .take_heap_snapshot(&mut w)
                .with_context(|| format!("snapshot {} of {}", i + 1, args.count))?;
            w.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            bytes
        };
        pending
            .commit()
            .with_context(|| format!("cannot finish {}", path.display()))?;
        eprintln!(
            "wrote {} ({}, took {})",
            path.display(),
            format::bytes(bytes as f64),
            format::duration(t0.elapsed().as_secs_f64())
        );
        files.push(path);
    }
    session.close();
    if args.no_diff {
        return Ok(crate::exit::OK);
    }
    let chosen: Vec<PathBuf> = if files.len() >= 3 {
        vec![
            files[0].clone(),
            files[files.len() / 2].clone(),
            files[files.len() - 1].clone(),
        ]
    } else {
        files.clone()
    };
    diff_snapshots(&chosen, args.json, args.top, args.min_bytes)
}
