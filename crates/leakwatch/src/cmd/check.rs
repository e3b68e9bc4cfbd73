//! `leakwatch check [PATHS...]`: finds leak-prone code before it ships.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use leakwatch_check::baseline::Baseline;
use leakwatch_check::config::parse_rule_list;
use leakwatch_check::{check_paths, output, CheckOptions, CheckSection, Rule, RuleOptions};

use crate::exit;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

/// Check Python, JavaScript/TypeScript (JSX/TSX), Go, Java, Ruby and PHP
/// code for leak-prone patterns: unbounded caches, listeners never removed,
/// global accumulators, captured closures, unbounded result sets,
/// goroutines/threads with no exit, unreleased connections, unclosed files,
/// uncleared timers and accidental globals.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  leakwatch check                          # the current directory
  leakwatch check src/ --format sarif -o leakwatch.sarif
  leakwatch check --write-baseline .leakwatch-baseline.json
  leakwatch check --baseline .leakwatch-baseline.json
  leakwatch check --explain unbounded-cache

Exit codes: 0 no findings, 1 findings, 2 error or incomplete (a file that
should have been checked could not be: every skipped file is listed with the
reason). 141 when the reader of stdout went away (`| head`).")]
pub struct CheckArgs {
    /// Files or directories to check (default: the current directory).
    /// .gitignore files are respected.
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json` (every command takes `--json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Only these rules (comma-separated ids, or ALL).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Hide findings recorded in this baseline file.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Write the current findings to FILE as a baseline and exit 0.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Configuration file (default: leakwatch.toml in the first path or its parents).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print a rule's documentation (leaky examples and accepted fixes);
    /// without a rule, list the rules.
    #[arg(long, value_name = "RULE", num_args = 0..=1, default_missing_value = "")]
    pub explain: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Check files marked as generated too (`// Code generated ... DO NOT
    /// EDIT.`, `@generated` in their header comment). By default they are
    /// counted and not checked: their fix belongs in the generator. A file
    /// named on the command line is always checked.
    #[arg(long)]
    pub include_generated: bool,
}

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    if let Some(rule) = &args.explain {
        return explain(rule);
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let config_path = args
        .config
        .clone()
        .or_else(|| CheckSection::discover(&paths[0]));
    let section = match &config_path {
        Some(p) => CheckSection::load(p)?,
        None => CheckSection::default(),
    };
    let select: Vec<Rule> = parse_rule_list(&args.select)?;
    let ignore: Vec<Rule> = parse_rule_list(&args.ignore)?;
    let rules = RuleOptions::resolve(&section, &select, &ignore)?;
    let opts = CheckOptions {
        rules: rules.clone(),
        max_file_size: section
            .max_file_size
            .unwrap_or(leakwatch_check::DEFAULT_MAX_FILE_SIZE),
        exclude: section.exclude.clone(),
        max_depth: section
            .max_depth
            .unwrap_or(leakwatch_check::DEFAULT_MAX_DEPTH),
        max_file_time: section
            .max_file_seconds
            .map(std::time::Duration::from_secs)
            .unwrap_or(leakwatch_check::DEFAULT_MAX_FILE_TIME),
        include_generated: args.include_generated || section.include_generated.unwrap_or(false),
    };
    // Output paths first: a bad -o fails before the tree is checked.
    for p in [&args.output, &args.write_baseline].into_iter().flatten() {
        leakwatch_files::check_output_path(p)?;
    }
    let mut report = check_paths(&paths, &opts)?;
    let incomplete = report.lost().count() > 0;
    if let Some(path) = &args.write_baseline {
        Baseline::from_findings(&report.findings, &baseline_root(path)).write(path)?;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "wrote {} findings to baseline {}",
            report.findings.len(),
            path.display()
        );
        if incomplete {
            let _ = write!(err, "{}", output::summary(&report));
            return Ok(exit::ERROR);
        }
        return Ok(exit::OK);
    }
    if let Some(path) = &args.baseline {
        Baseline::load(path)?.apply(&mut report, &baseline_root(path));
    }
    let format = if args.json { Format::Json } else { args.format };
    let rendered = match format {
        Format::Text if args.output.is_none() => {
            crate::term::paint_check_text(&output::text(&report), crate::term::stdout_color())
        }
        Format::Text => output::text(&report),
        Format::Json => output::json(&report),
        Format::Sarif => output::sarif(&report, &rules),
    };
    match &args.output {
        Some(p) => leakwatch_files::write_replacing(p, rendered.as_bytes(), 0o644)?,
        None => {
            if let Err(e) = write_stdout(rendered.as_bytes()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    // The reader (`| head`) has what it wanted: end quietly.
                    return Ok(BROKEN_PIPE);
                }
                return Err(e).context("cannot write the report to stdout");
            }
        }
    }
    if !matches!(format, Format::Text) || args.output.is_some() {
        let _ = write!(std::io::stderr().lock(), "{}", output::summary(&report));
    }
    Ok(if incomplete {
        exit::ERROR
    } else if report.findings.is_empty() {
        exit::OK
    } else {
        exit::LEAK
    })
}

/// What a shell reports for a process ended by SIGPIPE (128 + 13).
const BROKEN_PIPE: u8 = 141;

fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn explain(rule: &str) -> anyhow::Result<u8> {
    let text = if rule.is_empty() {
        let mut t = String::from("Rules (use `leakwatch check --explain RULE` for details):\n\n");
        for &r in Rule::ALL {
            let mut langs: Vec<&str> = r.languages().iter().map(|l| l.name()).collect();
            langs.extend(r.file_kinds());
            t.push_str(&format!(
                "  {:<22} {}  [{}]\n",
                r.id(),
                r.summary(),
                langs.join(", ")
            ));
        }
        t
    } else {
        let r = Rule::from_id(rule).with_context(|| {
            format!("unknown rule `{rule}`; run `leakwatch check --explain` to list them")
        })?;
        r.explain().to_string()
    };
    match write_stdout(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(BROKEN_PIPE),
        Err(e) => Err(e).context("cannot write to stdout"),
        Ok(()) => Ok(exit::OK),
    }
}

/// The directory paths in baseline fingerprints are relative to: the
/// baseline file's own, so the same tree checked from anywhere, by a
/// relative or an absolute path, matches the same baseline.
fn baseline_root(baseline: &std::path::Path) -> PathBuf {
    match baseline.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
