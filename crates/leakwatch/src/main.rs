//! The `leakwatch` command line: parses arguments into plain settings and
//! hands them to the library crates. No analysis happens here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod exit;
mod monitor;

/// Find memory leaks on Linux: is it leaking, where, and will it leak.
#[derive(Debug, Parser)]
#[command(name = "leakwatch", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  leakwatch run --duration 90s -- python3 examples/leaky_cache.py
  leakwatch watch --name my-service --json
  leakwatch analyze recording.csv
  leakwatch check src/ --format sarif -o leakwatch.sarif
  leakwatch trace -- ./my-server --port 8080
  leakwatch report leakwatch-my-server.1234.lwt
  leakwatch where --pid 4242
  leakwatch probe --threshold 15m      (liveness probe: fails when leaking near the limit)

Exit codes: 0 no leak, 1 leak found, 2 usage or runtime error.";

#[derive(Debug, Subcommand)]
enum Command {
    Run(cmd::run::RunArgs),
    Watch(cmd::watch::WatchArgs),
    Analyze(cmd::analyze::AnalyzeArgs),
    Check(cmd::check::CheckArgs),
    Diff(cmd::diff::DiffArgs),
    Snapshot(cmd::snapshot::SnapshotArgs),
    Trace(cmd::trace::TraceArgs),
    Report(cmd::report::ReportArgs),
    Where(cmd::where_::WhereArgs),
    Probe(cmd::probe::ProbeArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Watch(args) => cmd::watch::run(args),
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Snapshot(args) => cmd::snapshot::run(args),
        Command::Trace(args) => cmd::trace::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Where(args) => cmd::where_::run(args),
        Command::Probe(args) => cmd::probe::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            exit::report_error(&e);
            ExitCode::from(exit::ERROR)
        }
    }
}
