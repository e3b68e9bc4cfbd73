//! `leakwatch diff BASE TARGET` for pprof profiles: the stacks whose in-use
//! memory or goroutine count grew, like `go tool pprof -base BASE TARGET`.

use std::path::PathBuf;

use anyhow::Context;
use leakwatch_core::format;
use leakwatch_heap::pprof::{decode, diff_profiles, ProfileDiff, ProfileKind};

use crate::cmd::diff::DiffArgs;
use crate::exit;

/// Goroutine stacks that gained fewer goroutines than this are not reported as a leak.
const MIN_GOROUTINE_GROWTH: i64 = 10;

pub fn run(args: &DiffArgs, paths: &[PathBuf]) -> anyhow::Result<u8> {
    let read = |p: &PathBuf| -> anyhow::Result<_> {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        decode(&bytes).with_context(|| format!("cannot use {}", p.display()))
    };
    let base = read(&paths[0])?;
    let target = read(&paths[1])?;
    let diff = diff_profiles(&base, &target, args.top).with_context(|| {
        format!(
            "cannot compare {} with {}",
            paths[0].display(),
            paths[1].display()
        )
    })?;
    let threshold = match diff.kind {
        ProfileKind::Heap => args.min_bytes as i64,
        ProfileKind::Goroutine => MIN_GOROUTINE_GROWTH,
        ProfileKind::Other => 1,
    };
    // Judged on every stack, not only the `--top` listed, and in a sampled
    // heap profile only on growth beyond what sampling alone makes likely.
    let leaking = diff.largest_significant_growth >= threshold;
    if args.json {
        let out = serde_json::json!({
            "version": crate::cmd::diff::JSON_VERSION,
            "format": "pprof",
            "files": paths,
            "leak": leaking,
            "threshold": threshold,
            "report": diff,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_text(&diff, paths, threshold, leaking);
    }
    Ok(if leaking { exit::LEAK } else { exit::OK })
}

fn show(kind: ProfileKind, v: i64) -> String {
    match kind {
        ProfileKind::Heap => {
            let s = format::bytes(v.unsigned_abs() as f64);
            if v < 0 {
                format!("-{s}")
            } else {
                s
            }
        }
        _ => v.to_string(),
    }
}

fn print_text(d: &ProfileDiff, paths: &[PathBuf], threshold: i64, leaking: bool) {
    let what = match d.kind {
        ProfileKind::Heap => "heap profile, in-use bytes",
        ProfileKind::Goroutine => "goroutine profile, goroutines",
        ProfileKind::Other => "profile",
    };
    println!("pprof diff ({what}: {})", d.value);
    println!(
        "  BASE   {}  total {}",
        paths[0].display(),
        show(d.kind, d.base_total)
    );
    println!(
        "  TARGET {}  total {}",
        paths[1].display(),
        show(d.kind, d.target_total)
    );
    if let Some(p) = d.sampling_period {
        println!(
            "  sampled: one allocation per {} on average, scaled up; a stack's growth within two standard deviations of that sampling is not counted",
            show(d.kind, p)
        );
    }
    println!();
    if !leaking {
        if d.largest_growth >= threshold {
            println!(
                "no stack grew beyond its sampling noise ({} stacks grew, by up to {}: within it; {} shrank); compare profiles further apart, or follow the process with `leakwatch where --pid PID`",
                d.grown_stacks,
                show(d.kind, d.largest_growth),
                d.shrunk
            );
        } else {
            println!(
                "no stack grew by {} or more ({} stacks grew less, {} shrank)",
                show(d.kind, threshold),
                d.grown.len(),
                d.shrunk
            );
        }
        return;
    }
    if d.grown.is_empty() {
        println!(
            "{} stacks grew, by up to {} (none listed: --top 0)",
            d.grown_stacks,
            show(d.kind, d.largest_growth)
        );
        return;
    }
    println!("stacks that grew most:");
    for (i, s) in d.grown.iter().enumerate() {
        let objects = s
            .objects
            .map(|o| format!(", {:+} objects ({} → {})", o[2], o[0], o[1]))
            .unwrap_or_default();
        let noise = match s.sampling_noise {
            Some(n) if s.delta <= n => format!("; within sampling noise ±{}", show(d.kind, n)),
            _ => String::new(),
        };
        println!(
            "{:>3}. +{}  ({} → {}{objects}{noise})",
            i + 1,
            show(d.kind, s.delta),
            show(d.kind, s.base),
            show(d.kind, s.target)
        );
        for f in s.stack.iter().take(8) {
            println!("       {f}");
        }
        if s.stack.len() > 8 {
            println!("       … {} more frames", s.stack.len() - 8);
        }
    }
}
