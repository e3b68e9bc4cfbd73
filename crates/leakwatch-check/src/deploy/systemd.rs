//! systemd service units. Memory limits and restart policies are asked of
//! application services only (a language runtime or an application server
//! in ExecStart): system daemons written in C are sized by their authors.

use super::quantity;
use super::runtime::{self, Env, Launch, Limit, Word};
use super::Out;
use crate::rules::Rule;

/// One `Key=value` of the [Service] section and its line.
struct Setting {
    key: String,
    value: String,
    line: usize,
}

fn service_settings(src: &str) -> Option<(usize, Vec<Setting>)> {
    let mut section = String::new();
    let mut service_line = None;
    let mut out = Vec::new();
    let mut pending: Option<Setting> = None;
    for (i, raw) in src.lines().enumerate() {
        let t = raw.trim();
        if let Some(mut p) = pending.take() {
            if let Some(body) = t.strip_suffix('\\') {
                p.value.push(' ');
                p.value.push_str(body.trim());
                pending = Some(p);
            } else {
                p.value.push(' ');
                p.value.push_str(t);
                out.push(p);
            }
            continue;
        }
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            section = t.to_string();
            if section == "[Service]" {
                service_line = Some(i + 1);
            }
            continue;
        }
        if section != "[Service]" {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let s = Setting {
            key: k.trim().to_string(),
            value: v.trim().to_string(),
            line: i + 1,
        };
        if let Some(body) = s.value.strip_suffix('\\') {
            pending = Some(Setting {
                value: body.trim().to_string(),
                ..s
            });
        } else {
            out.push(s);
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    service_line.map(|l| (l, out))
}

/// Whether a program name is an application runtime or server.
fn app_runtime(word: &str) -> bool {
    let w = word.trim_start_matches(['-', '@', ':', '+', '!']);
    let b = w.rsplit('/').next().unwrap_or(w);
    let exact = [
        "java",
        "node",
        "nodejs",
        "gunicorn",
        "uwsgi",
        "uvicorn",
        "hypercorn",
        "daphne",
        "celery",
        "puma",
        "unicorn",
        "rackup",
        "rails",
        "sidekiq",
        "dotnet",
        "deno",
        "bun",
        "pm2",
        "pm2-runtime",
        "npm",
        "yarn",
        "bundle",
        "waitress-serve",
        "beam.smp",
        "elixir",
        "mix",
    ];
    exact.contains(&b)
        || b.starts_with("python")
        || b.starts_with("php-fpm")
        || (b.starts_with("php") && b[3..].chars().all(|c| c.is_ascii_digit() || c == '.'))
        || (b.starts_with("ruby") && b[4..].chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn environment(value: &str, line: usize, out: &mut Vec<Env>) {
    // Environment="A=1" "B=x y" C=2
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (item, next) = if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if let Some((n, v)) = item.split_once('=') {
            out.push(Env {
                name: n.to_string(),
                value: v.to_string(),
                line,
            });
        }
        rest = next.trim_start();
    }
}

pub fn check(src: &str, out: &mut Out) {
    let Some((_service_line, settings)) = service_settings(src) else {
        return;
    };
    let last = |key: &str| settings.iter().rev().find(|s| s.key == key);
    let one_shot = last("Type").is_some_and(|s| s.value == "oneshot")
        || last("RemainAfterExit")
            .is_some_and(|s| matches!(s.value.as_str(), "yes" | "true" | "1"));
    let Some(exec) = settings
        .iter()
        .find(|s| s.key == "ExecStart" && !s.value.is_empty())
    else {
        return;
    };
    let words: Vec<Word> = exec
        .value
        .split_whitespace()
        .map(|w| Word {
            text: w.to_string(),
            line: exec.line,
        })
        .collect();
    let mut env = Vec::new();
    for s in settings.iter().filter(|s| s.key == "Environment") {
        environment(&s.value, s.line, &mut env);
    }
    let limit_setting = ["MemoryMax", "MemoryLimit", "MemoryHigh"]
        .iter()
        .find_map(|k| last(k).filter(|s| s.value != "infinity" && !s.value.is_empty()));
    let limit = limit_setting.and_then(|s| {
        quantity::systemd(&s.value).map(|b| Limit {
            bytes: b,
            shown: format!("{}={}", s.key, s.value),
        })
    });
    // The program, past wrappers (env, sh -c, nice...).
    let is_app = words.iter().take(6).any(|w| app_runtime(&w.text));
    let launch = Launch {
        what: "this unit".into(),
        words,
        env,
        image: None,
        limit,
    };
    runtime::check(&launch, out);
    if !is_app || one_shot {
        return;
    }
    if limit_setting.is_none() {
        out.hit(
            Rule::MemoryLimitMissing,
            exec.line,
            "this application service has no MemoryMax= (or MemoryHigh=): a leak grows until the whole machine runs short and the kernel OOM-kills whatever it picks".into(),
            "add `MemoryMax=1G` (about 1.5× the steady-state working set) and `MemoryHigh=` a little below it to the [Service] section".into(),
        );
    }
    match last("Restart") {
        None => out.hit(
            Rule::NoRestartPolicy,
            exec.line,
            "this application service has no Restart=: after an OOM kill or a crash it stays down"
                .into(),
            "add `Restart=on-failure` (or `always`) with `RestartSec=2`".into(),
        ),
        Some(r) if r.value == "no" => out.hit(
            Rule::NoRestartPolicy,
            r.line,
            "this application service has Restart=no: after an OOM kill or a crash it stays down"
                .into(),
            "use `Restart=on-failure` (or `always`) with `RestartSec=2`".into(),
        ),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes() {
        assert!(app_runtime("/usr/bin/python3.11"));
        assert!(app_runtime("/usr/sbin/php-fpm8.2"));
        assert!(app_runtime("-/usr/bin/java"));
        assert!(!app_runtime("/usr/sbin/sshd"));
        assert!(!app_runtime("/usr/bin/phpize"));
        assert!(!app_runtime("/usr/bin/rubygems"));
    }
}
