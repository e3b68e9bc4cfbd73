//! Which runtime a process runs, from the outside.

use serde::Serialize;

/// The runtimes `where` knows how to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// HotSpot JVM (libjvm.so mapped).
    Jvm,
    /// A Go program (Go build info in the executable).
    Go,
    /// Node.js (the node executable, or libnode).
    Node,
    /// CPython (python executable or libpython mapped).
    Python,
    /// CRuby (ruby executable or libruby mapped).
    Ruby,
    /// Anything else: native code, for `trace --pid`.
    Native,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Jvm => "jvm",
            Runtime::Go => "go",
            Runtime::Node => "node",
            Runtime::Python => "python",
            Runtime::Ruby => "ruby",
            Runtime::Native => "native",
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
