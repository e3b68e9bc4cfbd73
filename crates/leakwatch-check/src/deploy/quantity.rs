//! Memory sizes in the units each tool writes them in. Every parser returns
//! bytes; none accepts a size it does not understand (then no finding rests
//! on it).

/// A Kubernetes resource quantity (`512Mi`, `2Gi`, `1G`, `500M`, `1e9`,
/// `129e6`, `1.5Gi`, plain bytes; `m` is milli-bytes).
pub fn k8s(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "m" => 1e-3,
        u if u.starts_with(['e', 'E']) => 10f64.powi(u[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    bytes(num.parse::<f64>().ok()? * mult)
}

/// A docker-compose / Docker size (`512m`, `2g`, `1gb`, `1024k`, `1.5G`,
/// bytes; units are powers of 1024, case-insensitive).
pub fn docker(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024f64.powi(2),
        "g" | "gb" | "gib" => 1024f64.powi(3),
        "t" | "tb" | "tib" => 1024f64.powi(4),
        _ => return None,
    };
    bytes(num.parse::<f64>().ok()? * mult)
}

/// A JVM size (`-Xmx` / `-XX:MaxHeapSize=` value: `512m`, `2g`, `1024k`,
/// `2G`, bytes; powers of 1024).
pub fn jvm(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1024u64),
        'm' | 'M' => (&s[..s.len() - 1], 1024 * 1024),
        'g' | 'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        't' | 'T' => (&s[..s.len() - 1], 1024u64.pow(4)),
        c if c.is_ascii_digit() => (s, 1),
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// A Go `GOMEMLIMIT` (`512MiB`, `1GiB`, `1073741824`, `2B`; only the IEC
/// suffixes and B, as the runtime accepts).
pub fn go(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        "GiB" => 1024 * 1024 * 1024,
        "TiB" => 1024u64.pow(4),
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// A systemd size (`MemoryMax=1G`: K, M, G, T are powers of 1024;
/// `infinity` and percentages are not a byte count).
pub fn systemd(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.ends_with('%') || s == "infinity" {
        return None;
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "K" => 1024.0,
        "M" => 1024f64.powi(2),
        "G" => 1024f64.powi(3),
        "T" => 1024f64.powi(4),
        _ => return None,
    };
    bytes(num.parse::<f64>().ok()? * mult)
}

fn bytes(v: f64) -> Option<u64> {
    (0.0..1.8e19).contains(&v).then_some(v.round() as u64)
}

/// A size for people: `1.5 GiB`, `768 MiB`.
pub fn human(b: u64) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    let f = b as f64;
    if f >= GIB {
        format!("{:.1} GiB", f / GIB)
    } else if f >= MIB {
        format!("{:.0} MiB", f / MIB)
    } else {
        format!("{:.0} KiB", f / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1024 * 1024;
    const GI: u64 = 1024 * MI;

    #[test]
    fn kubernetes_quantities() {
        assert_eq!(k8s("512Mi"), Some(512 * MI));
        assert_eq!(k8s("2Gi"), Some(2 * GI));
        assert_eq!(k8s("1.5Gi"), Some(3 * GI / 2));
        assert_eq!(k8s("1G"), Some(1_000_000_000));
        assert_eq!(k8s("500M"), Some(500_000_000));
        assert_eq!(k8s("1e9"), Some(1_000_000_000));
        assert_eq!(k8s("129e6"), Some(129_000_000));
        assert_eq!(k8s("134217728"), Some(128 * MI));
        assert_eq!(k8s("1024000m"), Some(1024));
        assert_eq!(k8s("2GB"), None);
        assert_eq!(k8s("lots"), None);
    }

    #[test]
    fn docker_jvm_go_systemd_sizes() {
        assert_eq!(docker("512m"), Some(512 * MI));
        assert_eq!(docker("2G"), Some(2 * GI));
        assert_eq!(docker("1gb"), Some(GI));
        assert_eq!(docker("1.5g"), Some(3 * GI / 2));
        assert_eq!(jvm("3g"), Some(3 * GI));
        assert_eq!(jvm("1536m"), Some(1536 * MI));
        assert_eq!(jvm("2097152k"), Some(2 * GI));
        assert_eq!(jvm("1.5g"), None);
        assert_eq!(go("1800MiB"), Some(1800 * MI));
        assert_eq!(go("2GiB"), Some(2 * GI));
        assert_eq!(go("2GB"), None);
        assert_eq!(systemd("1G"), Some(GI));
        assert_eq!(systemd("512M"), Some(512 * MI));
        assert_eq!(systemd("50%"), None);
        assert_eq!(systemd("infinity"), None);
        assert_eq!(human(3 * GI / 2), "1.5 GiB");
        assert_eq!(human(768 * MI), "768 MiB");
    }
}
