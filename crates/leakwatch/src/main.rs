//! The `leakwatch` command line: parses arguments into plain settings and
//! hands them to the library crates. No analysis happens here.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cmd;
mod embedded_preload;
mod exit;
mod monitor;
mod term;

/// `--version`: the crate's version and the commit it was built from
/// ("unknown" outside a git checkout, e.g. from a source tarball).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("LEAKWATCH_GIT_COMMIT"),
    ")"
);

/// Find memory leaks on Linux: is it leaking, where, and will it leak.
#[derive(Debug, Parser)]
#[command(name = "leakwatch", version = VERSION, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    /// Colour the verdicts and alerts: auto (on terminals, unless NO_COLOR
    /// is set), always, or never.
    #[arg(long, global = true, value_enum, default_value_t = term::ColorChoice::Auto)]
    color: term::ColorChoice,
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
    Completions(CompletionsArgs),
    Man(ManArgs),
}

/// Print a shell completion script on stdout.
///
/// bash: `source <(leakwatch completions bash)` (or save it under
/// /usr/share/bash-completion/completions/leakwatch); zsh: save it as
/// `_leakwatch` in a directory of your $fpath; fish: save it as
/// ~/.config/fish/completions/leakwatch.fish.
#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Print the man page (roff) on stdout, or write one page per command.
///
/// `leakwatch man | man -l -` reads it; `leakwatch man --dir
/// /usr/local/share/man/man1` installs leakwatch.1 and leakwatch-CMD.1.
#[derive(Debug, clap::Args)]
struct ManArgs {
    /// Write leakwatch.1 and one page per subcommand into this directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
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
    term::init_color(cli.color);
    quiet_broken_pipe();
    // A closed stdout (`leakwatch ... | head -1`) ends the command quietly
    // with the shell's SIGPIPE status; anything else unwinds as before.
    match std::panic::catch_unwind(move || dispatch(cli.command)) {
        Ok(code) => code,
        Err(payload) if is_broken_pipe(payload.as_ref()) => ExitCode::from(exit::BROKEN_PIPE),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

fn dispatch(command: Command) -> ExitCode {
    let result = match command {
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
        Command::Completions(args) => completions(args),
        Command::Man(args) => man(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            exit::report_error(&e);
            ExitCode::from(exit::ERROR)
        }
    }
}

fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "leakwatch", &mut script);
    exit::write_stdout(&script)
}

fn man(args: ManArgs) -> anyhow::Result<u8> {
    use anyhow::Context as _;
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            // Written into a private directory beside them, then renamed
            // into place: a link planted at a page's name is refused,
            // never written through.
            let tmp = tempfile::Builder::new()
                .prefix(".leakwatch-man.")
                .tempdir_in(&dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            clap_mangen::generate_to(cmd, tmp.path())
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            for entry in std::fs::read_dir(tmp.path())? {
                let entry = entry?;
                let dest = dir.join(entry.file_name());
                if let Ok(m) = std::fs::symlink_metadata(&dest) {
                    if !m.file_type().is_file() {
                        anyhow::bail!(
                            "{} exists and is not a regular file (links, directories and devices are refused); remove it or choose another --dir",
                            dest.display()
                        );
                    }
                }
                std::fs::rename(entry.path(), &dest)
                    .with_context(|| format!("cannot write {}", dest.display()))?;
            }
            eprintln!("leakwatch: man pages written to {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            return exit::write_stdout(&page);
        }
    }
    Ok(exit::OK)
}

/// Whether a panic is `print!`'s on a closed stdout or stderr.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    msg.starts_with("failed printing to std") && msg.contains("Broken pipe")
}

/// Keeps `print!`'s broken-pipe panic off the terminal; every other panic
/// is reported as before.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe(info.payload()) {
            default(info);
        }
    }));
}
