//! Human-readable numbers, durations and sparklines shared by every report.

/// `12.3 MiB`-style sizes (binary units, as `free -h` and heaptrack show).
pub fn bytes(v: f64) -> String {
    let mut s = String::new();
    let _ = write_bytes(&mut s, v);
    s
}

/// [`bytes`] written into `out`, without an intermediate String.
pub fn write_bytes(out: &mut impl std::fmt::Write, v: f64) -> std::fmt::Result {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let sign = if v < 0.0 { "-" } else { "" };
    let mut x = v.abs();
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(-3.0 * 1024.0 * 1024.0), "-3.0 MiB");
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
        assert!(parse_duration("-1").is_err());
        assert_eq!(duration(3725.0), "1h 02m");
        assert_eq!(duration(4.25), "4.2s");
    }

    #[test]
    fn sparkline_shows_a_rise() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let s = sparkline(&v, 8);
        assert_eq!(s.chars().count(), 8);
        assert!(s.starts_with('▁') && s.ends_with('█'));
        assert_eq!(sparkline(&[1.0, 1.0], 4), "▁▁");
    }

    proptest::proptest! {
        #[test]
        fn parse_duration_never_panics(s in "\\PC{0,12}") {
            let _ = parse_duration(&s);
        }
    }
}
