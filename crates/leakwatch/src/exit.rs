//! Exit codes and error printing shared by every subcommand.

/// No leak found (or the command succeeded).
pub const OK: u8 = 0;
/// A leak was found (or, for `check`, findings were reported).
pub const LEAK: u8 = 1;
/// Bad usage or a runtime error.
pub const ERROR: u8 = 2;
/// Stdout was closed by its reader (`| head`): what a shell reports for a
/// process ended by SIGPIPE (128 + 13).
pub const BROKEN_PIPE: u8 = 141;
/// Bad usage (clap's own errors).
pub const USAGE: u8 = 2;

/// Prints `error: ...` with its chain of causes, never a backtrace.
pub fn report_error(e: &anyhow::Error) {
    let mut msg = format!("error: {e}");
    for cause in e.chain().skip(1) {
        msg.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("{msg}");
}

/// Writes `bytes` to stdout and flushes: `OK`, or `BROKEN_PIPE` when the
/// reader has gone (`| head`), which is not an error.
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(BROKEN_PIPE),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}
