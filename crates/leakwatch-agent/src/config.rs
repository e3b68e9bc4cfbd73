//! The agent's TOML configuration. Every option has a command-line flag of
//! `leakwatch watch` that overrides it.
//!
//! ```toml
//! interval = "10s"          # time between samples
//! season = "24h"            # traffic season; default: 24h at intervals >= 5s
//! restart_warmup = "10s"    # a restarted instance's start-up is ignored this long
//! containers = true         # watch every container cgroup on the host
//! cgroup_root = "/sys/fs/cgroup"
//!
//! [serve]
//! address = "127.0.0.1:9464"
//! public = false            # true to allow a non-loopback address
//!
//! [alerts]
//! stdout = true             # JSON lines on stdout
//! webhook = "http://127.0.0.1:9093"
//! alertmanager = true       # the webhook is an Alertmanager (API v2 payload)
//! cooldown = "30m"
//! queue = 256
//! max_attempts = 12
//!
//! [store]
//! path = "/var/lib/leakwatch/history.db"
//! raw_retention = "24h"
//! rollup = "5m"
//! retention = "30d"
//! max_size = "512MiB"
//!
//! [[target]]
//! name = "api"              # stable name (default: the selector)
//! process = "api-server"    # or pid = 1234, or cgroup = "/system.slice/api.service"
//! tree = false
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::store::StoreConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The I/O error is in the message, not a `source`: the CLI would print
    // it a second time as "caused by".
    #[error("cannot read config {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: String, message: String },
}

/// A duration written as text ("30s", "5m", "24h", "30d").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) if n >= 0.0 => Ok(Seconds(n)),
            Raw::Number(n) => Err(serde::de::Error::custom(format!(
                "{n} is not a duration: durations are positive"
            ))),
            Raw::Text(s) => leakwatch_core::format::parse_duration(&s)
                .map(Seconds)
                .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}"))),
        }
    }
}

/// A size written as bytes or text ("512MiB", "2GB", "100k").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bytes(pub u64);

/// Sizes in the config file are parsed like the command line's.
pub use leakwatch_core::format::parse_size;

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(Bytes(n)),
            Raw::Text(s) => parse_size(&s).map(Bytes).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub address: Option<String>,
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    #[serde(default)]
    pub stdout: bool,
    pub webhook: Option<String>,
    #[serde(default)]
    pub alertmanager: bool,
    pub cooldown: Option<Seconds>,
    pub queue: Option<usize>,
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub path: Option<PathBuf>,
    pub raw_retention: Option<Seconds>,
    pub rollup: Option<Seconds>,
    pub retention: Option<Seconds>,
    pub max_size: Option<Bytes>,
}

impl StoreSection {
    /// The store settings, defaults filled in.
    pub fn store_config(&self) -> StoreConfig {
        let d = StoreConfig::default();
        StoreConfig {
            raw_retention_s: self.raw_retention.map_or(d.raw_retention_s, |s| s.0),
            rollup_s: self.rollup.map_or(d.rollup_s, |s| s.0.max(1.0)),
            retention_s: self.retention.map_or(d.retention_s, |s| s.0),
            max_bytes: self.max_size.map_or(d.max_bytes, |b| b.0),
        }
    }
}

/// One configured target: exactly one of `pid`, `process`, `cgroup`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Stable name (metrics label, store key, alerts).
    pub name: Option<String>,
    pub pid: Option<i32>,
    /// Process name pattern (as `watch --name`).
    pub process: Option<String>,
    pub cgroup: Option<String>,
    #[serde(default)]
    pub tree: bool,
}

/// What a target selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Pid(i32),
    Process(String),
    Cgroup(String),
}

impl TargetConfig {
    pub fn selector(&self) -> Result<Selector, String> {
        match (&self.pid, &self.process, &self.cgroup) {
            (Some(p), None, None) => Ok(Selector::Pid(*p)),
            (None, Some(n), None) => Ok(Selector::Process(n.clone())),
            (None, None, Some(c)) => Ok(Selector::Cgroup(c.clone())),
            _ => Err("each [[target]] needs exactly one of pid, process, cgroup".into()),
        }
    }

    /// The stable name: `name`, else the selector itself.
    pub fn key(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match self.selector() {
            Ok(Selector::Pid(p)) => format!("pid {p}"),
            Ok(Selector::Process(n)) => n,
            Ok(Selector::Cgroup(c)) => c,
            Err(_) => String::new(),
        }
    }
}

/// Checks a list of targets (the config's, or the command line's and the
/// config's together): each selects exactly one thing, and each name is
/// printable and used once. The error names the target by its position.
pub fn check_targets(targets: &[TargetConfig]) -> Result<(), String> {
    let mut first_of: std::collections::HashMap<String, usize> = Default::default();
    for (i, t) in targets.iter().enumerate() {
        let err = |message: String| format!("target #{}: {message}", i + 1);
        t.selector().map_err(err)?;
        let key = t.key();
        // The name labels its metrics, keys its history and names it in
        // logs and alerts: a line break or escape code would forge lines.
        if key.chars().any(char::is_control) {
            return Err(err(format!(
                "name {key:?} holds a control character: use printable text"
            )));
        }
        // Two targets under one name would share one history: the second's
        // samples read as restarts of the first, and a leak in either
        // disappears.
        if let Some(first) = first_of.insert(key.clone(), i) {
            return Err(err(format!(
                "name {key:?} is already target #{}'s: give each target its own name",
                first + 1
            )));
        }
    }
    Ok(())
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub interval: Option<Seconds>,
    pub season: Option<Seconds>,
    pub restart_warmup: Option<Seconds>,
    #[serde(default)]
    pub containers: bool,
    pub cgroup_root: Option<PathBuf>,
    #[serde(default)]
    pub serve: ServeConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetConfig>,
}

impl AgentConfig {
    /// Parses TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<AgentConfig, ConfigError> {
        let cfg: AgentConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        check_targets(&cfg.targets).map_err(|message| ConfigError::Parse {
            path: origin.to_string(),
            message,
        })?;
        if let Some(i) = cfg.interval {
            if i.0 <= 0.0 {
                return Err(ConfigError::Parse {
                    path: origin.to_string(),
                    message: "interval must be more than 0".into(),
                });
            }
        }
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: p.clone(),
            error,
        })?;
        Self::parse(&text, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
interval = "10s"
season = "24h"
restart_warmup = 5
containers = true
cgroup_root = "/tmp/cg"

[serve]
address = "127.0.0.1:9464"

[alerts]
stdout = true
webhook = "http://127.0.0.1:9093"
alertmanager = true
cooldown = "30m"
queue = 64

[store]
path = "/var/lib/leakwatch/history.db"
raw_retention = "12h"
rollup = "1m"
retention = "7d"
max_size = "256MiB"

[[target]]
name = "api"
process = "api-server"

[[target]]
cgroup = "/system.slice/db.service"
"#;

    #[test]
    fn two_targets_under_one_name_are_refused() {
        let text = "[[target]]\nname = \"a\"\nprocess = \"x\"\n\n[[target]]\nname = \"a\"\nprocess = \"y\"\n";
        let e = AgentConfig::parse(text, "dup.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("target #2") && e.contains("target #1's"), "{e}");
        // Unnamed targets are keyed by their selector: the same one twice too.
        let text = "[[target]]\nprocess = \"x\"\n\n[[target]]\nprocess = \"x\"\n";
        assert!(AgentConfig::parse(text, "dup.toml").is_err());
        let text = "[[target]]\nprocess = \"x\"\n\n[[target]]\nprocess = \"y\"\n";
        assert!(AgentConfig::parse(text, "ok.toml").is_ok());
    }

    #[test]
    fn a_name_with_a_control_character_is_refused() {
        let text = "[[target]]\nname = \"a\\nb\"\nprocess = \"x\"\n";
        let e = AgentConfig::parse(text, "c.toml").unwrap_err().to_string();
        assert!(e.contains("control character"), "{e}");
    }

    #[test]
    fn full_config_parses() {
        let c = AgentConfig::parse(FULL, "test.toml").unwrap();
        assert_eq!(c.interval, Some(Seconds(10.0)));
        assert_eq!(c.season, Some(Seconds(86_400.0)));
        assert_eq!(c.restart_warmup, Some(Seconds(5.0)));
        assert!(c.containers);
        assert_eq!(c.serve.address.as_deref(), Some("127.0.0.1:9464"));
        assert!(c.alerts.alertmanager);
        assert_eq!(c.alerts.cooldown, Some(Seconds(1800.0)));
        let s = c.store.store_config();
        assert_eq!(s.raw_retention_s, 43_200.0);
        assert_eq!(s.rollup_s, 60.0);
        assert_eq!(s.retention_s, 7.0 * 86_400.0);
        assert_eq!(s.max_bytes, 256 << 20);
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets[0].key(), "api");
        assert_eq!(
            c.targets[0].selector().unwrap(),
            Selector::Process("api-server".into())
        );
        assert_eq!(c.targets[1].key(), "/system.slice/db.service");
    }

    #[test]
    fn empty_config_is_all_defaults() {
        let c = AgentConfig::parse("", "empty").unwrap();
        assert_eq!(c, AgentConfig::default());
        assert_eq!(c.store.store_config(), StoreConfig::default());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let e = AgentConfig::parse("intervall = \"1s\"", "a.toml").unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("config a.toml:") && m.contains("intervall"),
            "{m}"
        );
        let e = AgentConfig::parse("interval = \"soon\"", "a.toml").unwrap_err();
        assert!(e.to_string().contains("soon"), "{e}");
        let e = AgentConfig::parse("[[target]]\npid = 1\nprocess = \"x\"\n", "a.toml").unwrap_err();
        assert!(e.to_string().contains("exactly one of"), "{e}");
        let e = AgentConfig::parse("[store]\nmax_size = \"12 parsecs\"\n", "a.toml").unwrap_err();
        assert!(e.to_string().contains("is not a size"), "{e}");
        let e = AgentConfig::load(Path::new("/nonexistent/leakwatch.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/leakwatch.toml"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = AgentConfig::parse(&s, "fuzz");
            let _ = parse_size(&s);
        }
    }
}
