//! Parsers for /proc and cgroup files. They take bytes already read and
//! never fail loudly: a missing field is `None`.

/// Value of `key` in `Key:   123 kB` style files (status, smaps_rollup,
/// meminfo), in the file's unit scaled to bytes when it says `kB`.
pub fn kb_field(text: &[u8], key: &[u8]) -> Option<u64> {
    for line in text.split(|b| *b == b'\n') {
        if line.len() > key.len() && line.starts_with(key) && line[key.len()] == b':' {
            let rest = &line[key.len() + 1..];
            let mut fields = rest
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty());
            let value = parse_u64(fields.next()?)?;
            return Some(match fields.next() {
                Some(b"kB") => value.saturating_mul(1024),
                _ => value,
            });
        }
    }
    None
}

/// Value of `key` in `key value` files (cgroup memory.stat, memory.events).
pub fn space_field(text: &[u8], key: &[u8]) -> Option<u64> {
    for line in text.split(|b| *b == b'\n') {
        if line.len() > key.len() && line.starts_with(key) && line[key.len()] == b' ' {
            return parse_u64(trim(&line[key.len() + 1..]));
        }
    }
    None
}

/// A single number file (`memory.current`); `max` reads as `None`.
pub fn single_u64(text: &[u8]) -> Option<u64> {
    parse_u64(trim(text))
}

/// Fields of /proc/PID/stat after the command name, which may itself hold
/// spaces and parentheses: everything after the *last* `)`. Index 0 is the
/// state (field 3 in proc(5)).
pub fn stat_fields(text: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let close = text.iter().rposition(|b| *b == b')')?;
    Some(
        text[close + 1..]
            .split(|b| *b == b' ')
            .filter(|f| !f.is_empty()),
    )
}

/// (state, ppid, num_threads, starttime) from /proc/PID/stat.
pub fn stat_summary(text: &[u8]) -> Option<(u8, i32, u64, u64)> {
    let mut f = stat_fields(text)?;
    let state = *f.next()?.first()?;
    let ppid = parse_u64(f.next()?)? as i32;
    // Fields 5..=19 (pgrp .. nice) are skipped; num_threads is field 20, starttime 22.
    let mut f = f.skip(15);
    let threads = parse_u64(f.next()?)?;
    let _itrealvalue = f.next()?;
    let start = parse_u64(f.next()?)?;
    Some((state, ppid, threads, start))
}

/// The flags field (field 9) of /proc/PID/stat.
pub fn stat_flags(text: &[u8]) -> Option<u64> {
    // Fields after the command: state (3), ppid, pgrp, session, tty_nr,
    // tpgid, flags (9).
    parse_u64(stat_fields(text)?.nth(6)?)
}

/// The command name (field 2, between the first `(` and the last `)`).
pub fn stat_comm(text: &[u8]) -> Option<&str> {
    let open = text.iter().position(|b| *b == b'(')?;
    let close = text.iter().rposition(|b| *b == b')')?;
    std::str::from_utf8(text.get(open + 1..close)?).ok()
}

/// (resident pages, shared pages) from /proc/PID/statm.
pub fn statm(text: &[u8]) -> Option<(u64, u64)> {
    let mut f = trim(text).split(|b| *b == b' ');
    let _size = f.next()?;
    let resident = parse_u64(f.next()?)?;
    let shared = parse_u64(f.next()?)?;
    Some((resident, shared))
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kb_fields() {
        let t = b"Rss:               14336 kB\nPss:                9133 kB\nAnonymous:          7084 kB\nSwap: 0 kB\n";
        assert_eq!(kb_field(t, b"Rss"), Some(14336 * 1024));
        assert_eq!(kb_field(t, b"Pss"), Some(9133 * 1024));
        assert_eq!(kb_field(t, b"Anonymous"), Some(7084 * 1024));
        assert_eq!(kb_field(t, b"Pss_Anon"), None);
        assert_eq!(kb_field(b"Threads:\t7\n", b"Threads"), Some(7));
    }

    #[test]
    fn reads_stat_with_hostile_command_names() {
        let t = b"1234 (a) b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 7 0 4242 1000 200 18446744073709551615";
        assert_eq!(stat_summary(t), Some((b'S', 1, 7, 4242)));
        assert_eq!(stat_summary(b"garbage"), None);
        assert_eq!(stat_summary(b"1 (x) S 1"), None);
        assert_eq!(stat_flags(t), Some(4194560));
        assert_eq!(stat_comm(t), Some("a) b) c"));
        let kthread = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0";
        assert_eq!(stat_flags(kthread), Some(2129984));
        assert_eq!(stat_flags(b"1 (x) S 1"), None);
        assert_eq!(stat_comm(b")("), None);
    }

    #[test]
    fn reads_cgroup_files() {
        assert_eq!(single_u64(b"123456\n"), Some(123456));
        assert_eq!(single_u64(b"max\n"), None);
        let stat = b"anon 100\nfile 200\nkernel_stack 3\n";
        assert_eq!(space_field(stat, b"anon"), Some(100));
        assert_eq!(space_field(stat, b"file"), Some(200));
        assert_eq!(space_field(b"oom 1\noom_kill 2\n", b"oom_kill"), Some(2));
        assert_eq!(statm(b"1000 200 50 1 0 300 0\n"), Some((200, 50)));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = kb_field(&bytes, b"Rss");
            let _ = space_field(&bytes, b"anon");
            let _ = single_u64(&bytes);
            let _ = stat_summary(&bytes);
            let _ = statm(&bytes);
        }
    }
}
