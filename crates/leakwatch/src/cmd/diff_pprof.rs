//! `leakwatch diff` for pprof profiles.

use std::path::PathBuf;

use crate::cmd::diff::DiffArgs;

pub fn run(_args: &DiffArgs, paths: &[PathBuf]) -> anyhow::Result<u8> {
    anyhow::bail!(
        "{}: pprof profiles are not supported by this build",
        paths[0].display()
    )
}
