//! docker-compose files (Compose Specification and the v2/v3 formats).

use std::path::Path;

use super::quantity;
use super::runtime::{self, Env, Launch, Limit, Word};
use super::yaml::Yaml;
use super::{Out, HEALTHCHECK_FIX};
use crate::rules::Rule;

/// Service names of one-shot tasks.
fn one_shot_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "migrat",
        "init",
        "setup",
        "seed",
        "test",
        "build",
        "backup",
        "cli",
        "tools",
        "job",
        "once",
        "bootstrap",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// Checks a compose file; returns whether the file was one.
pub fn check(y: &Yaml, path: &Path, out: &mut Out) -> bool {
    let Some(&doc) = y.docs.first() else {
        return false;
    };
    if !y.is_map(doc) || y.get(doc, "apiVersion").is_some() {
        return false;
    }
    let Some(services) = y.get(doc, "services") else {
        return false;
    };
    if !y.is_map(services) {
        return false;
    }
    let mut any = false;
    for (k, svc) in y.entries(services) {
        let Some(name) = y.str(k) else { continue };
        if !y.is_map(svc) {
            continue;
        }
        // A service needs something to run to be one.
        if y.get(svc, "image").is_none() && y.get(svc, "build").is_none() {
            continue;
        }
        any = true;
        service(y, path, out, name, svc, y.nodes[k].line);
    }
    any
}

fn service(y: &Yaml, path: &Path, out: &mut Out, name: &str, svc: usize, line: usize) {
    let what = format!("service `{name}`");
    let limit_node = y
        .get(svc, "mem_limit")
        .or_else(|| y.path(svc, "deploy.resources.limits.memory"));
    let limit = limit_node.and_then(|n| y.str(n)).and_then(|s| {
        quantity::docker(s).map(|b| Limit {
            bytes: b,
            shown: s.to_string(),
        })
    });
    let mut words = Vec::new();
    for key in ["entrypoint", "command"] {
        let Some(n) = y.get(svc, key) else { continue };
        let items: Vec<usize> = if y.str(n).is_some() {
            vec![n]
        } else {
            y.seq(n).to_vec()
        };
        for item in items {
            if let Some(s) = y.str(item) {
                words.extend(s.split_whitespace().map(|w| Word {
                    text: w.to_string(),
                    line: y.nodes[item].line,
                }));
            }
        }
    }
    let mut env = Vec::new();
    if let Some(e) = y.get(svc, "environment") {
        if y.is_map(e) {
            for (k, v) in y.entries(e) {
                if let (Some(n), Some(val)) = (y.str(k), y.str(v)) {
                    env.push(Env {
                        name: n.into(),
                        value: val.into(),
                        line: y.nodes[v].line,
                    });
                }
            }
        } else {
            for item in y.seq(e) {
                if let Some((n, val)) = y.str(*item).and_then(|s| s.split_once('=')) {
                    env.push(Env {
                        name: n.into(),
                        value: val.into(),
                        line: y.nodes[*item].line,
                    });
                }
            }
        }
    }
    let image = y
        .get(svc, "image")
        .and_then(|i| y.str(i).map(|s| (s.to_string(), y.nodes[i].line)));
    let launch = Launch {
        what: what.clone(),
        words,
        env,
        image,
        limit,
    };
    runtime::check(&launch, out);

    let restart = y.get(svc, "restart");
    let restart_value = restart.and_then(|r| y.str(r)).unwrap_or("");
    let swarm_restart = y.path_str(svc, "deploy.restart_policy.condition");
    let has_ports = y.get(svc, "ports").is_some() || y.get(svc, "expose").is_some();
    let server = has_ports || launch.looks_like_server();
    let one_shot = one_shot_name(name)
        || launch.looks_one_shot()
        || (matches!(restart_value, "on-failure" | "no") && !server)
        || swarm_restart.is_some_and(|c| c != "any");
    if one_shot {
        return;
    }
    if limit_node.is_none() {
        out.hit(
            Rule::MemoryLimitMissing,
            line,
            format!("{what} has no memory limit (mem_limit or deploy.resources.limits.memory): a leak grows until the host runs short and the kernel OOM-kills whatever it picks"),
            "set `mem_limit: 1g` (or deploy.resources.limits.memory) at about 1.5× the steady-state working set".into(),
        );
    }
    if restart.is_none() && swarm_restart.is_none() {
        out.hit(
            Rule::NoRestartPolicy,
            line,
            format!("{what} runs for good but has no restart policy: after an OOM kill or a crash it stays down"),
            "add `restart: unless-stopped` (or deploy.restart_policy.condition: any)".into(),
        );
    } else if let (Some(r), true) = (restart, restart_value == "no" && server) {
        out.hit(
            Rule::NoRestartPolicy,
            y.nodes[r].line,
            format!(
                "{what} serves but has restart: \"no\": after an OOM kill or a crash it stays down"
            ),
            "use `restart: unless-stopped`".into(),
        );
    }
    let probed = y.get(svc, "healthcheck").is_some() || build_has_healthcheck(y, svc, path);
    if server && !probed {
        out.hit(
            Rule::NoLivenessProbe,
            line,
            format!("{what} runs for good with no healthcheck: when it leaks, nothing notices before the OOM killer drops its in-flight work"),
            HEALTHCHECK_FIX.into(),
        );
    }
}

/// Whether the Dockerfile the service builds (beside the compose file) has
/// a HEALTHCHECK: then the image carries its own.
fn build_has_healthcheck(y: &Yaml, svc: usize, path: &Path) -> bool {
    let Some(build) = y.get(svc, "build") else {
        return false;
    };
    let (context, dockerfile) = match y.str(build) {
        Some(c) => (c.to_string(), "Dockerfile".to_string()),
        None => (
            y.path_str(build, "context").unwrap_or(".").to_string(),
            y.path_str(build, "dockerfile")
                .unwrap_or("Dockerfile")
                .to_string(),
        ),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let file = dir.join(context).join(dockerfile);
    match std::fs::metadata(&file) {
        Ok(m) if m.is_file() && m.len() < 1024 * 1024 => std::fs::read_to_string(&file)
            .map(|t| {
                t.lines().any(|l| {
                    l.trim_start()
                        .to_ascii_uppercase()
                        .starts_with("HEALTHCHECK ")
                        && !l.to_ascii_uppercase().contains("NONE")
                })
            })
            .unwrap_or(false),
        _ => false,
    }
}
