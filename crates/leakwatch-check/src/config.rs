//! `[check]` settings from the project's `leakwatch.toml`, merged with flags.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::rules::Rule;
use crate::CheckError;

/// SARIF-style severity of a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// The whole file: other tables belong to other subcommands and are ignored.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    check: CheckSection,
}

/// The `[check]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CheckSection {
    /// Only these rules (default: all).
    pub select: Option<Vec<String>>,
    /// Never these rules.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Extra gitignore-style patterns of paths to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Files larger than this many bytes are skipped and counted.
    pub max_file_size: Option<u64>,
    /// Parsing plus analysis of one file stops after this many seconds
    /// (the file is then listed as skipped).
    pub max_file_seconds: Option<u64>,
    /// Files nested deeper than this many syntax levels are skipped.
    pub max_depth: Option<usize>,
    /// Check files marked as generated too (default: counted, not checked).
    pub include_generated: Option<bool>,
    /// Per-rule options, keyed by rule id.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSection>,
}

/// `[check.rules.<id>]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleSection {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    /// accidental-global: names that are real globals in this project.
    #[serde(default)]
    pub globals: Vec<String>,
    /// unbounded-cache / global-accumulator: project methods that evict
    /// (e.g. `evict`, `trim`).
    #[serde(default)]
    pub release_methods: Vec<String>,
    /// listener-leak: extra long-lived emitter names (e.g. `bus`).
    #[serde(default)]
    pub targets: Vec<String>,
}

impl CheckSection {
    /// Reads `[check]` from a TOML file.
    pub fn load(path: &Path) -> Result<CheckSection, CheckError> {
        let text = std::fs::read_to_string(path).map_err(|source| CheckError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| CheckError::Config {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<CheckSection, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for id in file.check.rules.keys() {
            if Rule::from_id(id).is_none() {
                return Err(format!(
                    "unknown rule `{id}` in [check.rules]; see `leakwatch check --explain`"
                ));
            }
        }
        Ok(file.check)
    }

    /// Looks for `leakwatch.toml` in `start` and its ancestors.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let abs = std::fs::canonicalize(start).ok()?;
        let mut dir: Option<&Path> = Some(if abs.is_dir() { &abs } else { abs.parent()? });
        while let Some(d) = dir {
            let candidate = d.join("leakwatch.toml");
            if candidate.is_file() {
                return Some(candidate);
            }
            dir = d.parent();
        }
        None
    }
}

/// Parses a comma-separated or repeated list of rule ids.
pub fn parse_rule_list(items: &[String]) -> Result<Vec<Rule>, CheckError> {
    let mut out = Vec::new();
    for item in items {
        for part in item.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.eq_ignore_ascii_case("ALL") {
                out.extend(Rule::ALL.iter().copied());
                continue;
            }
            out.push(Rule::from_id(part).ok_or_else(|| CheckError::UnknownRule(part.to_string()))?);
        }
    }
    Ok(out)
}

/// Resolved settings the analyzers consult.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    enabled: BTreeSet<Rule>,
    severity: BTreeMap<Rule, Severity>,
    pub extra_globals: Vec<String>,
    pub release_methods: Vec<String>,
    pub listener_targets: Vec<String>,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            enabled: Rule::ALL.iter().copied().collect(),
            severity: BTreeMap::new(),
            extra_globals: Vec::new(),
            release_methods: Vec::new(),
            listener_targets: Vec::new(),
        }
    }
}

impl RuleOptions {
    /// Merges the config file with command-line `--select` / `--ignore`
    /// (flags win over the file).
    pub fn resolve(
        section: &CheckSection,
        cli_select: &[Rule],
        cli_ignore: &[Rule],
    ) -> Result<RuleOptions, CheckError> {
        let mut enabled: BTreeSet<Rule> = if !cli_select.is_empty() {
            cli_select.iter().copied().collect()
        } else if let Some(sel) = &section.select {
            parse_rule_list(sel)?.into_iter().collect()
        } else {
            Rule::ALL.iter().copied().collect()
        };
        for r in parse_rule_list(&section.ignore)? {
            enabled.remove(&r);
        }
        let mut opts = RuleOptions::default();
        for (id, rs) in &section.rules {
            let rule = Rule::from_id(id).ok_or_else(|| CheckError::UnknownRule(id.clone()))?;
            if rs.enabled == Some(false) {
                enabled.remove(&rule);
            }
            if let Some(s) = rs.severity {
                opts.severity.insert(rule, s);
            }
            opts.extra_globals.extend(rs.globals.iter().cloned());
            opts.release_methods
                .extend(rs.release_methods.iter().cloned());
            opts.listener_targets.extend(rs.targets.iter().cloned());
        }
        for r in cli_ignore {
            enabled.remove(r);
        }
        opts.enabled = enabled;
        Ok(opts)
    }

    pub fn enabled(&self, rule: Rule) -> bool {
        self.enabled.contains(&rule)
    }

    pub fn severity(&self, rule: Rule) -> Severity {
        self.severity
            .get(&rule)
            .copied()
            .unwrap_or(Severity::Warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_check_table_and_rule_options() {
        let cfg = CheckSection::parse(
            r#"
            [run]
            duration = "60s"
            [check]
            ignore = ["closure-capture"]
            [check.rules.unbounded-cache]
            severity = "error"
            [check.rules.accidental-global]
            globals = ["jQuery"]
            "#,
        )
        .unwrap();
        let opts = RuleOptions::resolve(&cfg, &[], &[Rule::UnclearedTimer]).unwrap();
        assert!(!opts.enabled(Rule::ClosureCapture));
        assert!(!opts.enabled(Rule::UnclearedTimer));
        assert!(opts.enabled(Rule::UnboundedCache));
        assert_eq!(opts.severity(Rule::UnboundedCache), Severity::Error);
        assert_eq!(opts.extra_globals, vec!["jQuery".to_string()]);
    }

    #[test]
    fn rejects_unknown_rules_and_keys() {
        assert!(CheckSection::parse("[check.rules.no-such-rule]\nenabled = false").is_err());
        assert!(CheckSection::parse("[check]\nselekt = []").is_err());
        assert!(parse_rule_list(&["unbounded-cache,bogus".into()]).is_err());
    }
}
