//! A process's listening TCP sockets, from /proc: its socket inodes
//! (`/proc/PID/fd/*` links to `socket:[INODE]`) matched against the listening
//! sockets of its network namespace (`/proc/PID/net/tcp` and `tcp6`).
//!
//! The Go source probes these for `net/http/pprof`; the Node source finds the
//! inspector port Node opened on SIGUSR1 and checks that it is closed again.
//! [`ProcessHandle`] tells whether the process found at the start still runs.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::WhereError;

/// One listening TCP socket of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listener {
    /// The address it is bound to (`0.0.0.0` or `::` for every address).
    pub local: SocketAddr,
    pub inode: u64,
}

impl Listener {
    /// Where leakwatch may connect to it without leaving the machine: the
    /// socket itself if it is bound to loopback, the loopback address of its
    /// family if it is bound to every address, `None` for a socket bound to
    /// one non-loopback address only.
    pub fn loopback_addr(&self) -> Option<SocketAddr> {
        let ip = self.local.ip();
        if ip.is_loopback() {
            return Some(self.local);
        }
        if ip.is_unspecified() {
            let lo = match ip {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            return Some(SocketAddr::new(lo, self.local.port()));
        }
        // An IPv4 address mapped into IPv6 (::ffff:127.0.0.1).
        if let IpAddr::V6(v6) = ip {
            if let Some(v4) = v6.to_ipv4_mapped() {
                if v4.is_loopback() {
                    return Some(SocketAddr::new(IpAddr::V4(v4), self.local.port()));
                }
            }
        }
        None
    }

    /// Loopback sockets first, then sockets on every address, then the rest;
    /// by port within each group (so probing order is stable).
    fn rank(&self) -> (u8, u16) {
        let ip = self.local.ip();
        let group = if ip.is_loopback() {
            0
        } else if ip.is_unspecified() {
            1
        } else {
            2
        };
        (group, self.local.port())
    }
}

/// TCP state number of LISTEN in /proc/net/tcp.
const TCP_LISTEN: u8 = 0x0A;

/// Parses the text of /proc/net/tcp (`v6` false) or /proc/net/tcp6 (`v6`
/// true), returning the sockets in LISTEN state. Lines that do not parse are
/// skipped: the kernel writes this file, but a parser of it never panics.
pub fn parse_net_tcp(text: &str, v6: bool) -> Vec<Listener> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when
        // retrnsmt uid timeout inode ...
        let mut fields = line.split_ascii_whitespace();
        let (Some(_sl), Some(local), Some(_remote), Some(state)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if u8::from_str_radix(state, 16).ok() != Some(TCP_LISTEN) {
            continue;
        }
        let Some(inode) = fields.nth(5).and_then(|f| f.parse::<u64>().ok()) else {
            continue;
        };
        if let Some(local) = parse_hex_addr(local, v6) {
            out.push(Listener { local, inode });
        }
    }
    out
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6). The kernel
/// prints the address as 32-bit words in host byte order, the port as a number.
fn parse_hex_addr(field: &str, v6: bool) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = addr.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = if v6 {
        if addr.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for i in 0..4 {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
        }
        IpAddr::V6(Ipv6Addr::from(bytes))
    } else {
        if addr.len() != 8 {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from(word(0)?))
    };
    Some(SocketAddr::new(ip, port))
}

/// An open `/proc/PID/stat`: it keeps pointing at the process it was opened
/// for (a pid reused by a new process is not mistaken for it), so it tells
/// whether *that* process still runs.
#[derive(Debug)]
pub struct ProcessHandle {
    pid: i32,
    stat: std::fs::File,
}

impl ProcessHandle {
    /// Opens the process; a pid that does not exist, or a zombie, is gone.
    pub fn open(pid: i32) -> Result<Self, WhereError> {
        if pid <= 0 {
            return Err(WhereError::Unsupported(format!(
                "{pid} is not a process id (give the pid of a running process, e.g. from `pgrep -f NAME`)"
            )));
        }
        let stat = std::fs::File::open(format!("/proc/{pid}/stat"))
            .map_err(|e| proc_error(pid, "read", e))?;
        let h = ProcessHandle { pid, stat };
        match h.state() {
            Some('Z' | 'X' | 'x') => Err(WhereError::Gone {
                pid,
                during: " (it exited and is waiting for its parent to reap it)",
            }),
            Some(_) => Ok(h),
            None => Err(WhereError::Gone { pid, during: "" }),
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The state letter of /proc/PID/stat, `None` once the process is gone.
    fn state(&self) -> Option<char> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 512];
        let n = self.stat.read_at(&mut buf, 0).ok()?;
        parse_stat_state(&buf[..n])
    }

    /// Whether the process still runs (a zombie does not).
    pub fn alive(&self) -> bool {
        !matches!(self.state(), None | Some('Z' | 'X' | 'x'))
    }
}

/// The state letter of /proc/PID/stat text: the field after the command
/// name, which is in parentheses and may itself contain ") ".
pub fn parse_stat_state(stat: &[u8]) -> Option<char> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = stat.get(close + 1..)?;
    rest.iter()
        .find(|b| !b.is_ascii_whitespace())
        .map(|&b| b as char)
}

/// The inode of a `socket:[INODE]` link target.
pub fn parse_socket_link(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Maps an error reading /proc/PID/... to what it means for the user.
pub(crate) fn proc_error(pid: i32, what: &'static str, e: std::io::Error) -> WhereError {
    match e.kind() {
        ErrorKind::NotFound => WhereError::Gone { pid, during: "" },
        ErrorKind::PermissionDenied => WhereError::Permission {
            pid,
            what,
            fix: format!(
                "the process belongs to another user: run leakwatch as that user or as root \
                 (e.g. sudo -u $(stat -c %U /proc/{pid}) leakwatch where --pid {pid})"
            ),
        },
        _ if e.raw_os_error() == Some(libc::ESRCH) => WhereError::Gone { pid, during: "" },
        _ => WhereError::Io {
            context: format!("reading /proc/{pid} to {what} it"),
            source: e,
        },
    }
}

/// The socket inodes the process holds open.
pub fn socket_inodes(pid: i32) -> Result<HashSet<u64>, WhereError> {
    let dir = format!("/proc/{pid}/fd");
    let entries = std::fs::read_dir(&dir).map_err(|e| proc_error(pid, "list the sockets of", e))?;
    let mut out = HashSet::new();
    for entry in entries {
        let Ok(entry) = entry else { continue };
        // An fd closed between the listing and the readlink is simply gone.
        if let Ok(target) = std::fs::read_link(entry.path()) {
            if let Some(inode) = target.to_str().and_then(parse_socket_link) {
                out.insert(inode);
            }
        }
    }
    Ok(out)
}

/// Every listening TCP socket of the process's network namespace.
pub fn namespace_listeners(pid: i32) -> Result<Vec<Listener>, WhereError> {
    let mut out = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let path = format!("/proc/{pid}/net/{file}");
        match std::fs::read_to_string(&path) {
            Ok(text) => out.extend(parse_net_tcp(&text, v6)),
            // No IPv6 in this kernel or namespace.
            Err(e) if v6 && e.kind() == ErrorKind::NotFound => {
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(WhereError::Gone { pid, during: "" });
                }
            }
            Err(e) => return Err(proc_error(pid, "read the sockets of", e)),
        }
    }
    Ok(out)
}

/// The process's own listening TCP sockets, loopback ones first.
pub fn listeners(pid: i32) -> Result<Vec<Listener>, WhereError> {
    let inodes = socket_inodes(pid)?;
    let mut own: Vec<Listener> = namespace_listeners(pid)?
        .into_iter()
        .filter(|l| inodes.contains(&l.inode))
        .collect();
    own.sort_by_key(Listener::rank);
    own.dedup();
    Ok(own)
}

/// Whether the process lives in another network namespace than leakwatch
/// (a container): its loopback is then not ours.
pub fn other_net_namespace(pid: i32) -> bool {
    let ours = std::fs::read_link("/proc/self/ns/net");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net"));
    matches!((ours, theirs), (Ok(a), Ok(b)) if a != b)
}

/// The error for a process in another network namespace.
pub(crate) fn namespace_error(pid: i32) -> WhereError {
    WhereError::Unsupported(format!(
        "process {pid} runs in another network namespace (a container?): its loopback \
         address is not leakwatch's. Run leakwatch inside it, e.g. \
         `nsenter -t {pid} -n leakwatch where --pid {pid}`"
    ))
}

/// Who else holds a listening socket with this inode: (pid, command name).
/// Scans /proc; used only to word an error.
pub fn socket_owner(inode: u64) -> Option<(i32, String)> {
    let want = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str()) {
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_default();
                return Some((pid, name));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0
   1: 00000000:17C1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41235 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D3A4 01 00000000:00000000 00:00000000 00000000     0        0 41236 1 0000000000000000 20 4 30 10 -1
   3: 0A00000A:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41237 1 0000000000000000 100 0 0 10 0
";

    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:2329 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51000 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51001 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51002 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn parses_listening_ipv4_sockets_only() {
        let l = parse_net_tcp(TCP, false);
        let got: Vec<(String, u64)> = l.iter().map(|l| (l.local.to_string(), l.inode)).collect();
        assert_eq!(
            got,
            vec![
                ("127.0.0.1:8080".to_owned(), 41234),
                ("0.0.0.0:6081".to_owned(), 41235),
                ("10.0.0.10:80".to_owned(), 41237),
            ]
        );
        assert_eq!(
            l[0].loopback_addr(),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            l[1].loopback_addr(),
            Some("127.0.0.1:6081".parse().unwrap())
        );
        assert_eq!(l[2].loopback_addr(), None);
    }

    #[test]
    fn parses_ipv6_words_in_host_order() {
        let l = parse_net_tcp(TCP6, true);
        assert_eq!(l[0].local, "[::1]:9001".parse().unwrap());
        assert_eq!(l[1].local, "[::]:8081".parse().unwrap());
        assert_eq!(l[1].loopback_addr(), Some("[::1]:8081".parse().unwrap()));
        assert_eq!(l[2].local.ip().to_string(), "::ffff:127.0.0.1");
        assert_eq!(
            l[2].loopback_addr(),
            Some("127.0.0.1:8082".parse().unwrap())
        );
    }

    #[test]
    fn ranks_loopback_first() {
        let mut l = parse_net_tcp(TCP, false);
        l.sort_by_key(Listener::rank);
        assert_eq!(l[0].local.port(), 8080);
        assert_eq!(l[1].local.port(), 6081);
        assert_eq!(l[2].local.port(), 80);
    }

    #[test]
    fn socket_links() {
        assert_eq!(parse_socket_link("socket:[12345]"), Some(12345));
        assert_eq!(parse_socket_link("pipe:[12345]"), None);
        assert_eq!(parse_socket_link("socket:[x]"), None);
        assert_eq!(parse_socket_link("/dev/null"), None);
    }

    #[test]
    fn finds_our_own_listener_in_proc() {
        let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let pid = std::process::id() as i32;
        let mine = listeners(pid).unwrap();
        assert!(
            mine.iter()
                .any(|l| l.local.port() == port && l.local.ip().is_loopback()),
            "{mine:?}"
        );
        let inode = mine.iter().find(|l| l.local.port() == port).unwrap().inode;
        assert_eq!(socket_owner(inode).map(|o| o.0), Some(pid));
        assert!(!other_net_namespace(pid));
        drop(sock);
        assert!(!listeners(pid)
            .unwrap()
            .iter()
            .any(|l| l.local.port() == port));
    }

    #[test]
    fn stat_states_and_handles() {
        assert_eq!(parse_stat_state(b"42 (node) S 1 42"), Some('S'));
        assert_eq!(parse_stat_state(b"42 (a) Z (b) R 1"), Some('R'));
        assert_eq!(parse_stat_state(b"42 (node"), None);
        let me = ProcessHandle::open(std::process::id() as i32).unwrap();
        assert!(me.alive());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let h = ProcessHandle::open(child.id() as i32);
        child.wait().unwrap();
        // Opened before it exited (or found already a zombie): gone after the reap.
        if let Ok(h) = h {
            assert!(!h.alive());
        }
        assert!(ProcessHandle::open(0).is_err());
    }

    #[test]
    fn a_missing_process_is_gone() {
        // Pid numbers above the kernel's maximum never exist.
        let e = listeners(i32::MAX).unwrap_err();
        assert!(matches!(e, WhereError::Gone { .. }), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(text in ".{0,400}", v6 in any::<bool>()) {
            let _ = parse_net_tcp(&text, v6);
        }

        #[test]
        fn round_trips_ipv4_listeners(ip in any::<u32>(), port in any::<u16>(), inode in any::<u64>()) {
            let addr = Ipv4Addr::from(ip);
            let hex = format!("{:08X}", u32::from_ne_bytes(addr.octets()));
            let text = format!("header\n 0: {hex}:{port:04X} 00000000:0000 0A 0:0 0:0 0 0 0 {inode} 1\n");
            let l = parse_net_tcp(&text, false);
            prop_assert_eq!(l, vec![Listener { local: SocketAddr::new(IpAddr::V4(addr), port), inode }]);
        }
    }
}
