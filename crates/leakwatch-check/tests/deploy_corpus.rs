//! Precision and recall of the deployment rules on the labelled corpus under
//! tests/corpus-deploy/<kind>/ (kind: kubernetes, compose, dockerfile,
//! systemd, procfile, gunicorn, uwsgi, php-fpm, pm2, puma, unicorn), checked
//! through the whole engine (`check_paths`: walking, recognition by name and
//! by content, parsing, suppressions).
//!
//! `expect: rule-id` marks a leaky line; `expect-next: rule-id` (a comment
//! line of its own, for formats without trailing comments: Dockerfiles,
//! systemd units, Procfiles) marks the next line that is not a comment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use leakwatch_check::{check_paths, CheckOptions, Rule};

fn markers(src: &str) -> BTreeSet<(usize, Rule)> {
    let lines: Vec<&str> = src.lines().collect();
    let mut set = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let (ids, target) = if let Some(pos) = line.find("expect-next: ") {
            let next = (i + 1..lines.len())
                .find(|j| !lines[*j].trim_start().starts_with('#'))
                .expect("expect-next with no line after it");
            (&line[pos + 13..], next + 1)
        } else if let Some(pos) = line.find("expect: ") {
            (&line[pos + 8..], i + 1)
        } else {
            continue;
        };
        for id in ids.split(',') {
            let id = id.trim();
            let rule =
                Rule::from_id(id).unwrap_or_else(|| panic!("bad marker `{id}` on line {}", i + 1));
            set.insert((target, rule));
        }
    }
    set
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn deployment_corpus_precision_and_recall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-deploy");
    let report = check_paths(std::slice::from_ref(&root), &CheckOptions::default()).unwrap();
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    let mut got: BTreeMap<String, BTreeSet<(usize, Rule)>> = BTreeMap::new();
    for f in &report.findings {
        got.entry(f.path.clone())
            .or_default()
            .insert((f.line, f.rule));
    }
    let (mut tp, mut fp, mut fneg) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut problems = Vec::new();
    let mut leaky_cover: BTreeSet<(Rule, String)> = BTreeSet::new();
    let mut clean_cover: BTreeSet<(Rule, String)> = BTreeSet::new();
    let files = files_under(&root);
    for path in &files {
        let kind = path
            .strip_prefix(&root)
            .unwrap()
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let src = std::fs::read_to_string(path).unwrap();
        let want = markers(&src);
        let shown = leakwatch_check::display_path(path);
        let have = got.remove(&shown).unwrap_or_default();
        for &r in Rule::ALL.iter().filter(|r| r.is_deployment()) {
            if want.iter().any(|(_, w)| *w == r) {
                leaky_cover.insert((r, kind.clone()));
            } else if path.to_string_lossy().contains("ok") {
                clean_cover.insert((r, kind.clone()));
            }
        }
        for k in have.intersection(&want) {
            *tp.entry(k.1).or_insert(0usize) += 1;
        }
        for k in have.difference(&want) {
            *fp.entry(k.1).or_insert(0usize) += 1;
            problems.push(format!("FP {}:{} {}", shown, k.0, k.1.id()));
        }
        for k in want.difference(&have) {
            *fneg.entry(k.1).or_insert(0usize) += 1;
            problems.push(format!("FN {}:{} {}", shown, k.0, k.1.id()));
        }
    }
    assert!(got.is_empty(), "findings on files not walked here: {got:?}");
    println!("deployment corpus: {} files", files.len());
    println!(
        "{:<22} {:>4} {:>4} {:>4} {:>9} {:>7}",
        "rule", "TP", "FP", "FN", "precision", "recall"
    );
    let mut below = Vec::new();
    for &r in Rule::ALL.iter().filter(|r| r.is_deployment()) {
        let g = |m: &BTreeMap<Rule, usize>| m.get(&r).copied().unwrap_or(0);
        let (a, b, c) = (g(&tp), g(&fp), g(&fneg));
        let (p, rc) = (
            a as f64 / (a + b).max(1) as f64,
            a as f64 / (a + c).max(1) as f64,
        );
        println!(
            "{:<22} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}",
            r.id(),
            a,
            b,
            c,
            p,
            rc
        );
        if p < 0.95 || rc < 0.95 || a == 0 {
            below.push(format!(
                "{}: precision {p:.3}, recall {rc:.3}, {a} found",
                r.id()
            ));
        }
    }
    for p in &problems {
        println!("{p}");
    }
    let mut missing = Vec::new();
    for &r in Rule::ALL.iter().filter(|r| r.is_deployment()) {
        for kind in r.file_kinds() {
            if !leaky_cover.contains(&(r, kind.to_string())) {
                missing.push(format!("no leaky case for {} in {kind}", r.id()));
            }
            if !clean_cover.contains(&(r, kind.to_string())) {
                missing.push(format!("no clean look-alike for {} in {kind}", r.id()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "corpus coverage gaps:\n{}",
        missing.join("\n")
    );
    assert!(below.is_empty(), "rules below 0.95:\n{}", below.join("\n"));
}
