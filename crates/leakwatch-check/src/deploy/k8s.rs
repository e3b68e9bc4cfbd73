//! Kubernetes manifests: workloads (Deployment, StatefulSet, DaemonSet,
//! ReplicaSet, ReplicationController, Pod, Job, CronJob), in any number of
//! documents and in `List`s; rendered Helm and Kustomize output is plain
//! YAML of the same shape.

use super::quantity;
use super::runtime::{self, Env, Launch, Limit, Word};
use super::yaml::Yaml;
use super::{Out, PROBE_FIX};
use crate::rules::Rule;

/// Checks every workload in the file; returns whether any document was a
/// Kubernetes object.
pub fn check(y: &Yaml, out: &mut Out) -> bool {
    let mut objects = Vec::new();
    for &doc in &y.docs {
        if !y.is_map(doc) {
            continue;
        }
        if y.get(doc, "apiVersion").is_none() || y.get(doc, "kind").is_none() {
            continue;
        }
        if y.path_str(doc, "kind") == Some("List") {
            if let Some(items) = y.get(doc, "items") {
                objects.extend(y.seq(items).iter().copied().filter(|i| y.is_map(*i)));
            }
        } else {
            objects.push(doc);
        }
    }
    if objects.is_empty() {
        return false;
    }
    // A LimitRange in the same file gives containers a default limit.
    let default_limit = objects.iter().any(|&o| {
        y.path_str(o, "kind") == Some("LimitRange")
            && y.path(o, "spec.limits").is_some_and(|l| {
                y.seq(l)
                    .iter()
                    .any(|item| y.path(*item, "default.memory").is_some())
            })
    });
    for &o in &objects {
        let kind = y.path_str(o, "kind").unwrap_or("");
        let name = y.path_str(o, "metadata.name").unwrap_or("?");
        let (pod, job) = match kind {
            "Pod" => (y.get(o, "spec"), false),
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "ReplicationController" => {
                (y.path(o, "spec.template.spec"), false)
            }
            "Job" => (y.path(o, "spec.template.spec"), true),
            "CronJob" => (y.path(o, "spec.jobTemplate.spec.template.spec"), true),
            _ => (None, false),
        };
        let Some(pod) = pod else { continue };
        pod_spec(y, out, pod, kind, name, job, default_limit);
    }
    true
}

fn pod_spec(
    y: &Yaml,
    out: &mut Out,
    pod: usize,
    kind: &str,
    name: &str,
    job: bool,
    default_limit: bool,
) {
    let restart = y.get(pod, "restartPolicy");
    let restart_value = restart.and_then(|r| y.str(r)).unwrap_or("Always");
    // A bare Pod that is not restarted is a one-shot task unless it serves.
    let one_shot = job || restart_value != "Always";
    let mut regular: Vec<(usize, bool)> = Vec::new();
    if let Some(cs) = y.get(pod, "containers") {
        regular.extend(y.seq(cs).iter().map(|c| (*c, false)));
    }
    if let Some(cs) = y.get(pod, "initContainers") {
        // Native sidecars (restartPolicy: Always) run for the pod's life;
        // other init containers run to completion first.
        for c in y.seq(cs) {
            let sidecar = y.path_str(*c, "restartPolicy") == Some("Always");
            if sidecar {
                regular.push((*c, true));
            } else {
                init_container(y, out, *c, kind, name);
            }
        }
    }
    let serving = regular.len();
    for (i, &(c, _sidecar)) in regular.iter().enumerate() {
        if !y.is_map(c) {
            continue;
        }
        let cname = y.path_str(c, "name").unwrap_or("?");
        let what = format!("container `{cname}` of {kind} `{name}`");
        let line = y.nodes[c].line;
        let limit_node = y.path(c, "resources.limits.memory");
        let limit = limit_node.and_then(|n| y.str(n)).and_then(|s| {
            quantity::k8s(s).map(|b| Limit {
                bytes: b,
                shown: s.to_string(),
            })
        });
        let launch = launch_of(y, c, &what, limit);
        if limit_node.is_none() && !default_limit {
            out.hit(
                Rule::MemoryLimitMissing,
                line,
                format!("{what} has no memory limit: a leak grows until the node runs short and the kernel OOM-kills whatever it picks (other pods too) instead of restarting this container"),
                "set resources.limits.memory (about 1.5× the steady-state working set) and requests.memory".into(),
            );
        }
        runtime::check(&launch, out);
        let has_ports = y.get(c, "ports").is_some_and(|p| !y.seq(p).is_empty());
        let first = i == 0;
        let server = has_ports || launch.looks_like_server() || (first && serving == 1);
        if !one_shot && server && y.get(c, "livenessProbe").is_none() && !launch.looks_one_shot() {
            out.hit(
                Rule::NoLivenessProbe,
                line,
                format!("{what} runs for the life of the pod with no livenessProbe: when it leaks, nothing restarts it gracefully before the OOM killer drops its in-flight work"),
                PROBE_FIX.into(),
            );
        }
        if kind == "Pod"
            && restart_value == "Never"
            && (has_ports || launch.looks_like_server())
            && !launch.looks_one_shot()
        {
            if let Some(r) = restart {
                out.hit(
                    Rule::NoRestartPolicy,
                    y.nodes[r].line,
                    format!("Pod `{name}` serves ({what}) but has restartPolicy: Never: after an OOM kill it stays dead"),
                    "run servers under a Deployment (or restartPolicy: Always); keep Never/OnFailure for one-shot Pods".into(),
                );
            }
        }
    }
}

/// Init containers run to completion: only their heap settings are judged.
fn init_container(y: &Yaml, out: &mut Out, c: usize, kind: &str, name: &str) {
    if !y.is_map(c) {
        return;
    }
    let cname = y.path_str(c, "name").unwrap_or("?");
    let what = format!("init container `{cname}` of {kind} `{name}`");
    let limit = y.path_str(c, "resources.limits.memory").and_then(|s| {
        quantity::k8s(s).map(|b| Limit {
            bytes: b,
            shown: s.to_string(),
        })
    });
    let launch = launch_of(y, c, &what, limit);
    runtime::check(&launch, out);
}

fn launch_of(y: &Yaml, c: usize, what: &str, limit: Option<Limit>) -> Launch {
    let mut words = Vec::new();
    for key in ["command", "args"] {
        let Some(n) = y.get(c, key) else { continue };
        let items: Vec<usize> = if y.str(n).is_some() {
            vec![n]
        } else {
            y.seq(n).to_vec()
        };
        for item in items {
            if let Some(s) = y.str(item) {
                for w in s.split_whitespace() {
                    words.push(Word {
                        text: w.to_string(),
                        line: y.nodes[item].line,
                    });
                }
            }
        }
    }
    let mut env = Vec::new();
    if let Some(list) = y.get(c, "env") {
        for e in y.seq(list) {
            if let (Some(n), Some(v)) = (y.path_str(*e, "name"), y.get(*e, "value")) {
                if let Some(value) = y.str(v) {
                    env.push(Env {
                        name: n.to_string(),
                        value: value.to_string(),
                        line: y.nodes[v].line,
                    });
                }
            }
        }
    }
    let image = y
        .get(c, "image")
        .and_then(|i| y.str(i).map(|s| (s.to_string(), y.nodes[i].line)));
    Launch {
        what: what.to_string(),
        words,
        env,
        image,
        limit,
    }
}
