//! Which runtime a process runs, from the outside.

use std::path::Path;

use serde::Serialize;

use crate::{procfs, WhereError};

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

/// A runtime and what it was recognised by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub runtime: Runtime,
    /// E.g. "libjvm.so mapped (/usr/lib/jvm/.../libjvm.so)".
    pub evidence: String,
}

/// Detects the runtime of a running process from its executable and the
/// libraries it has mapped (/proc/PID/exe and /proc/PID/maps).
pub fn detect(pid: i32) -> Result<Detection, WhereError> {
    procfs::refuse_thread_id(&procfs::status(pid)?)?;
    let exe = procfs::exe(pid)?;
    let mapped = procfs::mapped_files(pid)?;
    let exe_s = exe.display().to_string();
    let exe_in_proc = format!("/proc/{pid}/exe");
    Ok(classify(&exe_s, &mapped, || {
        has_go_buildinfo(Path::new(&exe_in_proc))
    }))
}

fn file_name(path: &str) -> &str {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.rsplit('/').next().unwrap_or(path)
}

/// `libNAME.so`, `libNAME-3.1.so.3.1`, `libNAME3.11.so.1.0`: the library's
/// name part is `stem` followed by a version or nothing.
fn is_lib(path: &str, stem: &str) -> bool {
    let name = file_name(path);
    let Some(rest) = name.strip_prefix(stem) else {
        return false;
    };
    let Some(i) = rest.find(".so") else {
        return false;
    };
    rest[..i]
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '_' || c == 'm' || c == 'd')
}

/// `python3`, `python3.11`, `python3.11d`, `ruby`, `ruby3.1`.
fn is_exe(path: &str, stem: &str) -> bool {
    file_name(path).strip_prefix(stem).is_some_and(|rest| {
        rest.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == 'd' || c == 'm')
    })
}

/// The runtime of an executable with these mapped files; `go_buildinfo`
/// is asked only when nothing else matched (it reads the executable).
pub fn classify(exe: &str, mapped: &[String], go_buildinfo: impl FnOnce() -> bool) -> Detection {
    let found = |runtime, evidence: String| Detection { runtime, evidence };
    if let Some(p) = mapped.iter().find(|p| file_name(p) == "libjvm.so") {
        return found(Runtime::Jvm, format!("libjvm.so mapped ({p})"));
    }
    if is_exe(exe, "node") || is_exe(exe, "nodejs") {
        return found(Runtime::Node, format!("executable {exe}"));
    }
    if let Some(p) = mapped.iter().find(|p| is_lib(p, "libnode")) {
        return found(Runtime::Node, format!("libnode mapped ({p})"));
    }
    if let Some(p) = mapped.iter().find(|p| is_lib(p, "libpython")) {
        return found(Runtime::Python, format!("libpython mapped ({p})"));
    }
    if is_exe(exe, "python") {
        return found(Runtime::Python, format!("executable {exe}"));
    }
    if let Some(p) = mapped.iter().find(|p| is_lib(p, "libruby")) {
        return found(Runtime::Ruby, format!("libruby mapped ({p})"));
    }
    if is_exe(exe, "ruby") {
        return found(Runtime::Ruby, format!("executable {exe}"));
    }
    if go_buildinfo() {
        return found(Runtime::Go, format!("Go build info in {exe}"));
    }
    found(
        Runtime::Native,
        format!("executable {exe}: no runtime found"),
    )
}

/// Whether the ELF file has Go's build information (the `.go.buildinfo`
/// section, or the `.note.go.buildid` note of older toolchains).
pub fn has_go_buildinfo(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // Reads only the headers and the section table, not the whole file.
    let cache = object::ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else {
        return false;
    };
    use object::Object;
    elf.section_by_name(".go.buildinfo").is_some()
        || elf.section_by_name(".note.go.buildid").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_of(exe: &str, mapped: &[&str], go: bool) -> Runtime {
        let mapped: Vec<String> = mapped.iter().map(|s| s.to_string()).collect();
        classify(exe, &mapped, || go).runtime
    }

    #[test]
    fn runtimes_by_executable_and_libraries() {
        let jvm = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so";
        assert_eq!(
            classify_of("/usr/lib/jvm/java-17/bin/java", &[jvm], false),
            Runtime::Jvm
        );
        assert_eq!(classify_of("/usr/bin/node", &[], false), Runtime::Node);
        assert_eq!(
            classify_of("/opt/app/server", &["/usr/lib/libnode.so.108"], false),
            Runtime::Node
        );
        assert_eq!(
            classify_of("/usr/bin/python3.11", &[], false),
            Runtime::Python
        );
        assert_eq!(
            classify_of(
                "/usr/bin/uwsgi",
                &["/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"],
                false
            ),
            Runtime::Python
        );
        assert_eq!(
            classify_of(
                "/usr/bin/ruby3.1",
                &["/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1.2"],
                false
            ),
            Runtime::Ruby
        );
        assert_eq!(classify_of("/usr/bin/ruby", &[], false), Runtime::Ruby);
        assert_eq!(classify_of("/srv/api", &[], true), Runtime::Go);
        assert_eq!(classify_of("/usr/sbin/nginx", &[], false), Runtime::Native);
        // Names that merely start like a runtime's are not it.
        assert_eq!(
            classify_of("/usr/bin/nodemon-x", &[], false),
            Runtime::Native
        );
        assert_eq!(
            classify_of("/usr/bin/rubygem-tool", &["/lib/librubyish.so"], false),
            Runtime::Native
        );
        // A deleted (upgraded) executable still counts.
        assert_eq!(
            classify_of("/usr/bin/python3.11 (deleted)", &[], false),
            Runtime::Python
        );
    }

    #[test]
    fn this_test_binary_is_native_and_not_go() {
        let me = detect(std::process::id() as i32).unwrap();
        assert_eq!(me.runtime, Runtime::Native, "{}", me.evidence);
        assert!(!has_go_buildinfo(Path::new("/proc/self/exe")));
        assert!(!has_go_buildinfo(Path::new("/nonexistent")));
    }
}
