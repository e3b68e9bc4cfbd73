//! The agent's own resource use, read from /proc/self: the figures behind
//! the standard `process_*` metrics.

/// One reading of this process's figures (`None` where /proc could not tell).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SelfStat {
    pub resident_bytes: Option<u64>,
    pub virtual_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

/// Reads every figure of [`SelfStat`].
pub fn read() -> SelfStat {
    let statm = std::fs::read_to_string("/proc/self/statm").ok();
    let page = |i: usize| -> Option<u64> {
        let pages: u64 = statm.as_deref()?.split_whitespace().nth(i)?.parse().ok()?;
        Some(pages * page_size())
    };
    SelfStat {
        resident_bytes: page(1),
        virtual_bytes: page(0),
        cpu_seconds: cpu_seconds(),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64),
        max_fds: max_fds(),
    }
}

/// The soft limit on open files (what `process_max_fds` reports).
pub fn max_fds() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
    Some(lim.rlim_cur as u64)
}

/// When this process started, in Unix seconds: boot time (`btime` of
/// /proc/stat) plus the start time in clock ticks of /proc/self/stat.
pub fn start_time_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ")": state is field 3; starttime is field 22.
    let ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot + ticks / clock_ticks())
}

/// Resident set size of this process in bytes (/proc/self/statm).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// User plus system CPU time of this process in seconds (/proc/self/stat).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_seconds_from_stat(&stat, clock_ticks())
}

/// Parses utime + stime out of a /proc/PID/stat line. The command name (field
/// 2) may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn cpu_seconds_from_stat(stat: &str, ticks_per_s: f64) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": state is field 3; utime is field 14 and stime 15.
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / ticks_per_s)
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_the_name() {
        let line =
            "42 (my (odd) prog) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 50";
        assert_eq!(cpu_seconds_from_stat(line, 100.0), Some(3.0));
    }

    #[test]
    fn own_figures_are_read() {
        assert!(resident_bytes().unwrap() > 0);
        let own = read();
        assert!(own.virtual_bytes.unwrap() >= own.resident_bytes.unwrap());
        assert!(own.open_fds.unwrap() >= 3);
        assert!(own.max_fds.unwrap() >= own.open_fds.unwrap());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = start_time_seconds().unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start}"
        );
        assert!(cpu_seconds().unwrap() >= 0.0);
    }
}
