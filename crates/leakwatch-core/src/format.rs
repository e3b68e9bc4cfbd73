//! Human-readable numbers, durations and sparklines shared by every report.

/// `12.3 MiB`-style sizes (binary units, as `free -h` and heaptrack show).
pub fn bytes(v: f64) -> String {
    let mut s = String::new();
    let _ = write_bytes(&mut s, v);
    s
}

/// [`bytes`] written into `out`, without an intermediate String.
pub fn write_bytes(out: &mut impl std::fmt::Write, v: f64) -> std::fmt::Result {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let sign = if v < 0.0 { "-" } else { "" };
    let mut x = v.abs();
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if !x.is_finite() {
        return write!(out, "{sign}∞ B");
    }
    if x >= 1024.0 {
        // Past any real memory (bad data): a short number, not 300 digits.
        return write!(out, "{sign}{:.1e} B", v.abs());
    }
    if u == 0 {
        write!(out, "{sign}{x:.0} {}", UNITS[u])
    } else {
        write!(out, "{sign}{x:.1} {}", UNITS[u])
    }
}

/// `1h 02m`, `3m 20s`, `4.5s`-style durations.
pub fn duration(secs: f64) -> String {
    let mut s = String::new();
    let _ = write_duration(&mut s, secs);
    s
}

/// [`duration`] written into `out`, without an intermediate String.
pub fn write_duration(out: &mut impl std::fmt::Write, secs: f64) -> std::fmt::Result {
    if !secs.is_finite() {
        return out.write_str("∞");
    }
    let s = secs.max(0.0);
    if s > 0.0 && s < 1.0 {
        return write!(out, "{:.0}ms", s * 1000.0);
    }
    if s < 10.0 {
        return write!(out, "{s:.1}s");
    }
    let total = s.round() as u64;
    let (d, h, m, sec) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if d > 0 {
        write!(out, "{d}d {h:02}h")
    } else if h > 0 {
        write!(out, "{h}h {m:02}m")
    } else if m > 0 {
        write!(out, "{m}m {sec:02}s")
    } else {
        write!(out, "{sec}s")
    }
}

/// Why a size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a size: use a number of bytes with an optional unit, like 512KiB, 64M or 2GB"
)]
pub struct SizeError {
    pub input: String,
}

/// Parses sizes: a number with an optional unit, any case. Bare K, M, G, T
/// and KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB are decimal.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let err = || SizeError {
        input: input.to_string(),
    };
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| err())?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024f64.powi(2),
        "mb" => 1e6,
        "g" | "gib" => 1024f64.powi(3),
        "gb" => 1e9,
        "t" | "tib" => 1024f64.powi(4),
        "tb" => 1e12,
        _ => return Err(err()),
    };
    let v = n * mult;
    if !v.is_finite() || v >= u64::MAX as f64 {
        return Err(err());
    }
    Ok(v as u64)
}

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: expected a number with a unit, like 250ms, 30s, 5m, 2h or 1d")]
pub struct DurationError {
    pub input: String,
}

/// Parses `250ms`, `30s`, `5m`, `2h`, `1d`, `1h30m` or a bare number of seconds.
pub fn parse_duration(input: &str) -> Result<f64, DurationError> {
    let err = || DurationError {
        input: input.to_string(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err());
    }
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(err())
        };
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total += value * factor;
    }
    Ok(total)
}

/// A Unix time as `2024-05-01 12:00:00 UTC` (proleptic Gregorian calendar).
pub fn utc(unix_s: f64) -> String {
    let secs = unix_s.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// One line of block characters showing the shape of `values`, `width` wide.
/// Each column shows the minimum of its slice, the floor the detector judges.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let cols = width.min(values.len());
    let mins: Vec<f64> = (0..cols)
        .map(|c| {
            let a = c * values.len() / cols;
            let b = ((c + 1) * values.len() / cols).max(a + 1);
            values[a..b].iter().copied().fold(f64::INFINITY, f64::min)
        })
        .collect();
    let lo = mins.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = mins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    mins.iter()
        .map(|v| {
            if hi <= lo {
                BARS[0]
            } else {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// A bounded summary of a series for its sparkline: at most `cap` points,
/// each the minimum of an equal run of samples. When full, neighbours merge
/// pairwise, so a series of any length fits in `cap` points and pushing a
/// sample never allocates.
#[derive(Debug, Clone)]
pub struct SparkBuffer {
    cap: usize,
    per_point: usize,
    pending: usize,
    values: Vec<f64>,
}

impl SparkBuffer {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(2);
        SparkBuffer {
            cap,
            per_point: 1,
            pending: 0,
            values: Vec::with_capacity(cap),
        }
    }

    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        match self.values.last_mut() {
            Some(last) if self.pending > 0 => *last = last.min(v),
            _ => self.values.push(v),
        }
        self.pending = (self.pending + 1) % self.per_point;
        if self.values.len() >= self.cap && self.pending == 0 {
            let half = self.values.len().div_ceil(2);
            for i in 0..half {
                let a = self.values[2 * i];
                self.values[i] = self.values.get(2 * i + 1).map_or(a, |b| a.min(*b));
            }
            self.values.truncate(half);
            self.per_point *= 2;
        }
    }

    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(-3.0 * 1024.0 * 1024.0), "-3.0 MiB");
        assert_eq!(bytes(2.0 * 1024f64.powi(6)), "2.0 EiB");
        // Bad data stays a short line.
        assert_eq!(bytes(1e300), "1.0e300 B");
        assert_eq!(bytes(f64::INFINITY), "∞ B");
        assert!(bytes(-1e300).starts_with("-1.0e300"));
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("60s").unwrap(), 60.0);
        assert_eq!(parse_duration("250ms").unwrap(), 0.25);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("2.5").unwrap(), 2.5);
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("256KiB"), Ok(262_144));
        assert_eq!(parse_size("100k"), Ok(102_400));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5G"), Ok(1_610_612_736));
        assert_eq!(parse_size(" 42 "), Ok(42));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in ["MiB", "ten", "5x", "", "1e400", "99999999999TB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("lots")
            .unwrap_err()
            .to_string()
            .contains("not a size"));
        assert!(parse_duration("-1").is_err());
        assert_eq!(duration(3725.0), "1h 02m");
        assert_eq!(duration(4.25), "4.2s");
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(0.0), "0.0s");
    }

    #[test]
    fn sparkline_shows_a_rise() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let s = sparkline(&v, 8);
        assert_eq!(s.chars().count(), 8);
        assert!(s.starts_with('▁') && s.ends_with('█'));
        assert_eq!(sparkline(&[1.0, 1.0], 4), "▁▁");
    }

    #[test]
    fn unix_times_print_as_utc_dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn spark_buffer_stays_bounded_and_keeps_the_shape() {
        let mut b = SparkBuffer::new(120);
        for i in 0..1_000_000 {
            b.push(f64::from(i));
        }
        assert!(b.values().len() <= 120);
        assert!(b.values().windows(2).all(|w| w[0] < w[1]));
        assert_eq!(b.values()[0], 0.0);
        b.push(f64::NAN);
        assert!(b.values().iter().all(|v| v.is_finite()));
    }

    proptest::proptest! {
        #[test]
        fn parse_duration_never_panics(s in "\\PC{0,12}") {
            let _ = parse_duration(&s);
        }
    }
}
