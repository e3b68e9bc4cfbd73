//! docker-compose files (Compose Specification and the v2/v3 formats).

use std::path::Path;

use super::dockerfile;
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

/// Compose's default files, which `docker compose` reads with no `-f`, and
/// the override files it then merges onto them, key by key.
const BASE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// The first of `names` beside `path`, parsed (a small regular file only).
fn sibling(path: &Path, names: &[&str]) -> Option<Yaml> {
    let dir = path.parent().unwrap_or(Path::new("."));
    names.iter().find_map(|n| {
        let file = dir.join(n);
        let m = std::fs::metadata(&file).ok()?;
        if !m.is_file() || m.len() > 4 * 1024 * 1024 {
            return None;
        }
        Yaml::parse(&std::fs::read_to_string(&file).ok()?).ok()
    })
}

/// The `services` mapping of a compose document.
fn services(y: &Yaml) -> Option<usize> {
    let &doc = y.docs.first()?;
    if !y.is_map(doc) || y.get(doc, "apiVersion").is_some() {
        return None;
    }
    y.get(doc, "services").filter(|s| y.is_map(*s))
}

/// Checks a compose file; returns whether the file was one. A default file
/// and its override are judged as `docker compose` runs them, merged: the
/// base file's services with the override's keys on top (findings on the
/// base file's lines), and in the override only the services the base does
/// not define.
pub fn check(y: &Yaml, path: &Path, out: &mut Out) -> bool {
    let Some(services_node) = services(y) else {
        return false;
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (overrides, base) = if BASE_NAMES.contains(&name) {
        (sibling(path, &OVERRIDE_NAMES), None)
    } else if OVERRIDE_NAMES.contains(&name) {
        (None, sibling(path, &BASE_NAMES))
    } else {
        (None, None)
    };
    fn named<'y>(other: Option<&'y Yaml>, service: &str) -> Option<(&'y Yaml, usize)> {
        let o = other?;
        let s = services(o)?;
        o.get(s, service).filter(|n| o.is_map(*n)).map(|n| (o, n))
    }
    let mut any = false;
    for (k, svc) in y.entries(services_node) {
        let Some(service_name) = y.str(k) else {
            continue;
        };
        if !y.is_map(svc) {
            continue;
        }
        if named(base.as_ref(), service_name).is_some() {
            // Judged with the default file it is merged onto.
            any = true;
            continue;
        }
        let layers = Layers {
            top: named(overrides.as_ref(), service_name),
            own: (y, svc),
            line: y.nodes[k].line,
        };
        // A service needs something to run to be one.
        if layers.path("image").is_none() && layers.path("build").is_none() {
            continue;
        }
        any = true;
        service(&layers, path, out, service_name);
    }
    any
}

/// A service as compose runs it: the keys of an override merged onto it
/// (when there is one) before its own. Values found in the override are
/// reported on the service's own line, the only line of this file they
/// have.
struct Layers<'a> {
    top: Option<(&'a Yaml, usize)>,
    own: (&'a Yaml, usize),
    line: usize,
}

impl<'a> Layers<'a> {
    /// A key or dotted path, looked up in the override first (compose merges
    /// mappings key by key, so the deepest key decides).
    fn path(&self, path: &str) -> Option<(&'a Yaml, usize)> {
        self.top
            .and_then(|(y, s)| y.path(s, path).map(|n| (y, n)))
            .or_else(|| {
                let (y, s) = self.own;
                y.path(s, path).map(|n| (y, n))
            })
    }

    fn str(&self, path: &str) -> Option<&'a str> {
        self.path(path).and_then(|(y, n)| y.str(n))
    }

    /// The line of a value in this file.
    fn line_of(&self, (y, n): (&Yaml, usize)) -> usize {
        if std::ptr::eq(y, self.own.0) {
            y.nodes[n].line
        } else {
            self.line
        }
    }
}

fn service(s: &Layers, path: &Path, out: &mut Out, name: &str) {
    let what = format!("service `{name}`");
    let line = s.line;
    let limit_node = s
        .path("mem_limit")
        .or_else(|| s.path("deploy.resources.limits.memory"));
    let limit = limit_node.and_then(|(y, n)| y.str(n)).and_then(|v| {
        quantity::docker(v).map(|b| Limit {
            bytes: b,
            shown: v.to_string(),
        })
    });
    let mut words = Vec::new();
    for key in ["entrypoint", "command"] {
        let Some((y, n)) = s.path(key) else { continue };
        let items: Vec<usize> = if y.str(n).is_some() {
            vec![n]
        } else {
            y.seq(n).to_vec()
        };
        for item in items {
            if let Some(text) = y.str(item) {
                words.extend(text.split_whitespace().map(|w| Word {
                    text: w.to_string(),
                    line: s.line_of((y, item)),
                }));
            }
        }
    }
    // Variables of both files, the override's last (it wins).
    let mut env = Vec::new();
    for (y, e) in [Some(s.own), s.top]
        .into_iter()
        .flatten()
        .filter_map(|(y, svc)| y.get(svc, "environment").map(|e| (y, e)))
    {
        if y.is_map(e) {
            for (k, v) in y.entries(e) {
                if let (Some(n), Some(val)) = (y.str(k), y.str(v)) {
                    env.push(Env {
                        name: n.into(),
                        value: val.into(),
                        line: s.line_of((y, v)),
                    });
                }
            }
        } else {
            for item in y.seq(e) {
                if let Some((n, val)) = y.str(*item).and_then(|t| t.split_once('=')) {
                    env.push(Env {
                        name: n.into(),
                        value: val.into(),
                        line: s.line_of((y, *item)),
                    });
                }
            }
        }
    }
    let image = s
        .path("image")
        .and_then(|(y, i)| y.str(i).map(|v| (v.to_string(), s.line_of((y, i)))));
    let launch = Launch {
        what: what.clone(),
        words,
        env,
        image,
        limit,
    };
    runtime::check(&launch, out);

    let restart = s.path("restart");
    let restart_value = restart.and_then(|(y, r)| y.str(r)).unwrap_or("");
    let swarm_restart = s.str("deploy.restart_policy.condition");
    let has_ports = s.path("ports").is_some() || s.path("expose").is_some();
    let server = has_ports || launch.looks_like_server();
    // A shell container kept alive to exec into serves and holds nothing.
    let keeps_alive = launch.only_keeps_alive()
        || (launch.words.is_empty()
            && s.path("build")
                .is_some_and(|b| build_only_keeps_alive(b, path)));
    let one_shot = one_shot_name(name)
        || launch.looks_one_shot()
        || ((launch.starts_a_tool() || keeps_alive) && !has_ports)
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
            s.line_of(r),
            format!(
                "{what} serves but has restart: \"no\": after an OOM kill or a crash it stays down"
            ),
            "use `restart: unless-stopped`".into(),
        );
    }
    let probed = s.path("healthcheck").is_some()
        || s.path("build")
            .is_some_and(|b| build_has_healthcheck(b, path));
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
fn build_has_healthcheck(build: (&Yaml, usize), path: &Path) -> bool {
    built_dockerfile(build, path).is_some_and(|t| {
        t.lines().any(|l| {
            l.trim_start()
                .to_ascii_uppercase()
                .starts_with("HEALTHCHECK ")
                && !l.to_ascii_uppercase().contains("NONE")
        })
    })
}

/// Whether the Dockerfile the service builds only keeps the container
/// alive (its ENTRYPOINT and CMD are `tail -f /dev/null` or `sleep
/// infinity`).
fn build_only_keeps_alive(build: (&Yaml, usize), path: &Path) -> bool {
    built_dockerfile(build, path).is_some_and(|text| {
        Launch {
            words: dockerfile::command_words(&text),
            ..Launch::default()
        }
        .only_keeps_alive()
    })
}

/// The text of the Dockerfile a service builds, when it is there and small.
fn built_dockerfile((y, build): (&Yaml, usize), path: &Path) -> Option<String> {
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
        Ok(m) if m.is_file() && m.len() < 1024 * 1024 => std::fs::read_to_string(&file).ok(),
        _ => None,
    }
}
