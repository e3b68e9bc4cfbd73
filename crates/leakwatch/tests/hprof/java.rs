//! Shared by the HPROF tests: compiles tests/hprof/Leaks.java with the
//! JDK's javac into a temporary directory and runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A compiled copy of Leaks.java.
pub struct Program {
    pub dir: tempfile::TempDir,
}

pub fn compile() -> Program {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hprof/Leaks.java");
    let status = Command::new("javac")
        .arg("-d")
        .arg(dir.path())
        .arg(&src)
        .status()
        .expect("javac (OpenJDK 17) is installed: .ci/deps installs openjdk-17-jdk-headless");
    assert!(status.success(), "javac failed");
    Program { dir }
}

impl Program {
    pub fn java(&self) -> Command {
        let mut c = Command::new("java");
        c.arg("-Xshare:auto").arg("-cp").arg(self.dir.path());
        c
    }

    /// Runs MODE for `rounds` dumps of its own heap, `per_round` operations
    /// apart, into `out`; returns the dump paths.
    pub fn dumps(&self, mode: &str, out: &Path, rounds: u32, per_round: u32) -> Vec<PathBuf> {
        let status = self
            .java()
            .args(["Leaks", mode])
            .arg(out)
            .arg(rounds.to_string())
            .arg(per_round.to_string())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "java Leaks {mode} failed");
        (0..rounds)
            .map(|r| out.join(format!("dump{r}.hprof")))
            .collect()
    }
}
