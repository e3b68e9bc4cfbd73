//! Inline suppression comments:
//! `# leakwatch: ignore[unbounded-cache]`, `// leakwatch: ignore[a, b]`, or a
//! bare `leakwatch: ignore` for every rule, on the finding's line or alone on
//! the line above it.

use crate::rules::Rule;

const MARKER: &str = "leakwatch: ignore";

/// Whether the marker on this line covers `rule`.
fn covers(line: &str, rule: Rule) -> bool {
    let Some(pos) = line.find(MARKER) else {
        return false;
    };
    let rest = &line[pos + MARKER.len()..];
    let Some(list) = rest.strip_prefix('[') else {
        return true; // bare marker: every rule
    };
    let list = list.split(']').next().unwrap_or("");
    list.split(',').any(|id| Rule::from_id(id) == Some(rule))
}

fn comment_only(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//") || t.starts_with("/*") || t.starts_with('*')
}

pub fn is_suppressed(lines: &[&str], idx: usize, rule: Rule) -> bool {
    if lines.get(idx).is_some_and(|l| covers(l, rule)) {
        return true;
    }
    idx > 0
        && lines
            .get(idx - 1)
            .is_some_and(|l| comment_only(l) && covers(l, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        let lines = [
            "x = 1  # leakwatch: ignore[unbounded-cache]",
            "// leakwatch: ignore[listener-leak, uncleared-timer]",
            "setInterval(f)",
            "y  # leakwatch: ignore",
            "z  # leakwatch: ignore[bogus]",
        ];
        assert!(is_suppressed(&lines, 0, Rule::UnboundedCache));
        assert!(!is_suppressed(&lines, 0, Rule::GlobalAccumulator));
        assert!(is_suppressed(&lines, 2, Rule::UnclearedTimer));
        assert!(!is_suppressed(&lines, 2, Rule::UnstoppableTask));
        assert!(is_suppressed(&lines, 3, Rule::ClosureCapture));
        assert!(!is_suppressed(&lines, 4, Rule::ClosureCapture));
    }
}
