//! Exit codes and error printing shared by every subcommand.

/// No leak found (or the command succeeded).
pub const OK: u8 = 0;
/// A leak was found (or, for `check`, findings were reported).
pub const LEAK: u8 = 1;
/// Bad usage or a runtime error.
pub const ERROR: u8 = 2;
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
