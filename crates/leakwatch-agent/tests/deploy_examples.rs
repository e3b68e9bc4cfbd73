//! The example configurations shipped in deploy/ parse with the agent's
//! config loader (they are documented, not tested against a cluster).

use std::path::Path;

use leakwatch_agent::config::AgentConfig;

fn deploy(file: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn systemd_example_config_parses() {
    let c = AgentConfig::parse(&deploy("leakwatch.toml"), "deploy/leakwatch.toml").unwrap();
    assert!(c.containers);
    assert_eq!(c.serve.address.as_deref(), Some("127.0.0.1:9464"));
    assert!(c.alerts.alertmanager);
    let unit = deploy("leakwatch.service");
    assert!(unit
        .contains("ExecStart=/usr/local/bin/leakwatch watch --config /etc/leakwatch/agent.toml"));
}

#[test]
fn daemonset_embedded_config_parses() {
    let yaml = deploy("daemonset.yaml");
    let start = yaml.find("agent.toml: |").expect("config map entry") + "agent.toml: |".len();
    let body: String = yaml[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("    ") || l.trim().is_empty())
        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
        .collect();
    let c = AgentConfig::parse(&body, "daemonset agent.toml").unwrap();
    assert!(c.containers && c.serve.public);
    assert_eq!(c.serve.address.as_deref(), Some("0.0.0.0:9464"));
    assert!(yaml.contains("hostPID: true"));
}
