//! The small file `leakwatch probe` keeps between its runs: the detector of
//! the target's current incarnation.
//!
//! An exec probe is a new process every few seconds, so its history lives
//! here: bounded (the detector keeps at most 128 buckets; a file over
//! [`MAX_STATE_BYTES`] is not read), written atomically (a temporary file
//! created exclusively, 0600, renamed into place: a probe killed mid-write
//! leaves the old state), never opened through a symlink, and only trusted
//! when it belongs to the user running the probe. A file that cannot be
//! decoded (another version, damage) is discarded with a note and the probe
//! starts over: it then says it cannot judge yet, which passes.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use leakwatch_core::Detector;
use serde::{Deserialize, Serialize};

/// State files larger than this are not read (a detector takes a few KiB).
pub const MAX_STATE_BYTES: u64 = 256 * 1024;

const MAGIC: &[u8; 8] = b"LWPROBE\x01";

/// What one target's probe remembers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeState {
    /// The format's version.
    pub version: u32,
    /// The incarnation judged: a different one (new pid start time, new
    /// cgroup, reboot) starts over.
    pub identity: String,
    /// The resource judged (`anon`, `rss`, `cgroup_anon`, `cgroup`).
    pub resource: String,
    pub detector: Detector,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("probe state {path}: {reason}")]
    Unsafe { path: String, reason: String },
    #[error("probe state {path}: {source} (give a writable --state FILE)")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What [`load`] found.
#[derive(Debug)]
pub enum Loaded {
    /// No state yet.
    Missing,
    Found(Box<ProbeState>),
    /// A file that was there but is not usable, and why; it will be replaced.
    Discarded(String),
}

pub fn encode(state: &ProbeState) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    // Serializing plain data into a Vec cannot fail.
    if let Ok(body) = postcard::to_allocvec(state) {
        out.extend_from_slice(&body);
    }
    out
}

/// Decodes a state file's bytes (untrusted input: never panics).
pub fn decode(bytes: &[u8]) -> Result<ProbeState, String> {
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(format!("larger than {MAX_STATE_BYTES} bytes"));
    }
    let body = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a leakwatch probe state of this version")?;
    let state: ProbeState =
        postcard::from_bytes(body).map_err(|e| format!("cannot be decoded ({e})"))?;
    if state.version != 1 {
        return Err(format!("has format version {}", state.version));
    }
    Ok(state)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn unsafe_(path: &Path, reason: impl Into<String>) -> StateError {
    StateError::Unsafe {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Reads the state at `path`.
pub fn load(path: &Path) -> Result<Loaded, StateError> {
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(unsafe_(
            path,
            "is a symbolic link: refusing to follow it (remove it, or give another --state FILE)",
        )),
        Err(e) => return Err(io(path)(e)),
    };
    let meta = f.metadata().map_err(io(path))?;
    if !meta.file_type().is_file() {
        return Err(unsafe_(
            path,
            "is not a regular file: give a file path as --state",
        ));
    }
    if meta.uid() != euid() {
        return Err(unsafe_(
            path,
            format!(
                "belongs to uid {}, not to the user running the probe (uid {}): another user could feed it a history; remove it or give another --state FILE",
                meta.uid(),
                euid()
            ),
        ));
    }
    if meta.len() > MAX_STATE_BYTES {
        return Ok(Loaded::Discarded(format!(
            "is {} bytes, over the {MAX_STATE_BYTES}-byte bound",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    Ok(match decode(&bytes) {
        Ok(s) => Loaded::Found(Box::new(s)),
        Err(why) => Loaded::Discarded(why),
    })
}

/// Writes the state atomically: a temporary file beside it, created
/// exclusively with mode 0600, then renamed over `path` (a rename replaces
/// a symlink planted at `path` instead of writing through it).
pub fn save(path: &Path, state: &ProbeState) -> Result<(), StateError> {
    let bytes = encode(state);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| unsafe_(path, "names a directory, not a file"))?;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(
        ".{}.{}.{nonce}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&tmp)
        .map_err(io(path))?;
    let written = f.write_all(&bytes).and_then(|()| f.flush());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    Ok(())
}

/// Where state files go by default: `$XDG_RUNTIME_DIR/leakwatch-probe`, else
/// `/tmp/leakwatch-probe-UID`; created 0700 and checked to be ours and not
/// a symlink (a shared /tmp is writable by everyone).
pub fn default_dir() -> Result<PathBuf, StateError> {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("leakwatch-probe"),
        None => std::env::temp_dir().join(format!("leakwatch-probe-{}", euid())),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(&dir)(e)),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(io(&dir))?;
    if !meta.file_type().is_dir() || meta.uid() != euid() || meta.mode() & 0o022 != 0 {
        return Err(unsafe_(
            &dir,
            "is not a private directory of the user running the probe (a symlink, another user's, or writable by others): give --state FILE in a directory of yours",
        ));
    }
    Ok(dir)
}

/// A stable, file-name-safe name for a target (FNV-1a of its description:
/// stable across Rust versions, unlike the standard library's hasher).
pub fn file_name_for(description: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in description.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("probe-{h:016x}.state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::DetectorConfig;

    fn state() -> ProbeState {
        let mut d = Detector::new(DetectorConfig::default());
        d.set_limit(Some(1e9));
        for i in 0..500 {
            d.push(i as f64, 1e8 + 1e5 * i as f64);
        }
        ProbeState {
            version: 1,
            identity: "cgroup:/x:42:boot".into(),
            resource: "cgroup_anon".into(),
            detector: d,
        }
    }

    #[test]
    fn round_trips_atomically_private_and_bounded() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("p.state");
        assert!(matches!(load(&path).unwrap(), Loaded::Missing));
        let s = state();
        save(&path, &s).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(meta.len() < 32 * 1024, "{} bytes", meta.len());
        let Loaded::Found(back) = load(&path).unwrap() else {
            panic!("not found")
        };
        assert_eq!(back.identity, s.identity);
        assert_eq!(back.detector.samples(), 500);
        assert_eq!(back.detector.state(), s.detector.state());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn hostile_or_damaged_files_are_refused_or_discarded() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = d.path().join("link.state");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = load(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // Saving replaces the link, never writes through it.
        save(&link, &state()).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // Damaged, foreign or oversized content: discarded with the reason.
        let p = d.path().join("bad.state");
        std::fs::write(&p, b"LWPROBE\x01\xff\xff\xff").unwrap();
        assert!(matches!(load(&p).unwrap(), Loaded::Discarded(_)));
        std::fs::write(&p, b"{\"json\": true}").unwrap();
        assert!(matches!(load(&p).unwrap(), Loaded::Discarded(_)));
        std::fs::write(&p, vec![0u8; MAX_STATE_BYTES as usize + 1]).unwrap();
        match load(&p).unwrap() {
            Loaded::Discarded(why) => assert!(why.contains("bound"), "{why}"),
            other => panic!("{other:?}"),
        }
        // A directory at the path.
        let e = load(d.path()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn file_names_are_stable_and_safe() {
        assert_eq!(file_name_for("self"), file_name_for("self"));
        assert_ne!(file_name_for("pid:1"), file_name_for("pid:2"));
        let n = file_name_for("../../etc/passwd");
        assert!(n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    }

    proptest::proptest! {
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = decode(&bytes);
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = decode(&with_magic);
        }
    }
}
