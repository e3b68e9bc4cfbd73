//! Worker settings: uWSGI and PHP-FPM (INI), gunicorn config files, PM2
//! ecosystem files, Puma and Unicorn configs, Procfiles.

use std::path::Path;

use super::runtime::{self, Launch, Word};
use super::Out;
use crate::rules::Rule;

/// Sections of an INI file: (header line, header, [(key, value, line)]).
type Section = (usize, String, Vec<(String, String, usize)>);

fn ini_sections(src: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for (i, raw) in src.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') {
            let end = t.find(']').unwrap_or(t.len());
            out.push((i + 1, t[1..end].trim().to_string(), Vec::new()));
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let v = v.split(" ;").next().unwrap_or(v).trim().trim_matches('"');
        if let Some(sec) = out.last_mut() {
            sec.2.push((k.trim().to_string(), v.to_string(), i + 1));
        }
    }
    out
}

fn positive(v: &str) -> bool {
    v.trim().parse::<u64>().is_ok_and(|n| n > 0)
}

pub fn ini(src: &str, out: &mut Out) {
    for (header_line, name, keys) in ini_sections(src) {
        let get = |k: &str| keys.iter().rev().find(|(key, _, _)| key == k);
        if name == "uwsgi" {
            let recycled = [
                "max-requests",
                "max_requests",
                "reload-on-rss",
                "reload_on_rss",
                "max-worker-lifetime",
                "max_worker_lifetime",
                "reload-on-as",
                "evil-reload-on-rss",
            ]
            .iter()
            .any(|k| get(k).is_some_and(|(_, v, _)| positive(v)));
            if !recycled {
                out.hit(
                    Rule::WorkersNotRecycled,
                    header_line,
                    "uWSGI never recycles its workers here (no max-requests, reload-on-rss or max-worker-lifetime): a leak grows each worker until the OOM killer ends it, dropping in-flight requests".into(),
                    "add `max-requests = 1000` and `reload-on-rss = 512` (MiB) to [uwsgi]".into(),
                );
            }
            continue;
        }
        // A PHP-FPM pool: a section with a process manager.
        let Some((_, pm, pm_line)) = get("pm") else {
            continue;
        };
        match get("pm.max_requests") {
            Some((_, v, line)) if !positive(v) => out.hit(
                Rule::WorkersNotRecycled,
                *line,
                format!("pm.max_requests = {v} in pool [{name}]: PHP-FPM children are never respawned, so a leak in an extension or a long-lived static grows every child for good"),
                "set `pm.max_requests = 500`".into(),
            ),
            Some(_) => {}
            None => out.hit(
                Rule::WorkersNotRecycled,
                *pm_line,
                format!("pool [{name}] (pm = {pm}) has no pm.max_requests, so its default 0 applies: PHP-FPM children are never respawned and a leak in an extension or a long-lived static grows every child for good"),
                "add `pm.max_requests = 500`".into(),
            ),
        }
    }
}

pub fn gunicorn(src: &str, out: &mut Out) {
    let mut recycled = false;
    let mut anchor = None;
    let mut workers_line = None;
    for (i, raw) in src.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('#') {
            continue;
        }
        if let Some(rest) = t.strip_prefix("max_requests") {
            let v = rest.trim_start().trim_start_matches('=').trim();
            // A number, or a value read from the environment or elsewhere.
            recycled |= !v.starts_with('0') && !v.is_empty() && !rest.starts_with("_jitter");
        }
        if t.starts_with("workers") && !t.starts_with("workers_") {
            workers_line.get_or_insert(i + 1);
        }
        if t.starts_with("bind") {
            anchor.get_or_insert(i + 1);
        }
    }
    let anchor = workers_line.or(anchor);
    if !recycled {
        out.hit(
            Rule::WorkersNotRecycled,
            anchor.unwrap_or(1),
            "this gunicorn config never recycles workers (no max_requests): a leak in the application grows each worker until the OOM killer ends it, dropping in-flight requests".into(),
            "add `max_requests = 1000` and `max_requests_jitter = 100`".into(),
        );
    }
}

/// The app objects of a PM2 ecosystem file (JSON or JS): their text and
/// first line. A light scan of brace-balanced objects inside `apps: [...]`.
fn pm2_apps(src: &str) -> Vec<(String, usize)> {
    let Some(apps) = src.find("apps") else {
        return Vec::new();
    };
    let Some(open) = src[apps..].find('[').map(|o| apps + o) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    let mut quote: Option<char> = None;
    for (i, c) in src[open + 1..].char_indices() {
        let at = open + 1 + i;
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' => {
                if depth == 0 {
                    start = Some(at);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if let Some(s) = start.take() {
                        let line = src[..s].matches('\n').count() + 1;
                        out.push((src[s..=at].to_string(), line));
                    }
                }
            }
            ']' if depth == 0 => break,
            _ => {}
        }
    }
    out
}

pub fn pm2(src: &str, out: &mut Out) {
    for (app, line) in pm2_apps(src) {
        if !app.contains("script") || app.contains("max_memory_restart") {
            continue;
        }
        out.hit(
            Rule::WorkersNotRecycled,
            line,
            "this PM2 app is never restarted when it grows (no max_memory_restart): a leak runs until the OOM killer ends it".into(),
            "add `max_memory_restart: \"400M\"` (below the memory limit)".into(),
        );
    }
}

pub fn ruby_server(path: &Path, src: &str, out: &mut Out) {
    let code: Vec<(usize, &str)> = src
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.starts_with('#'))
        .collect();
    // A module or class defined here makes it library code that happens to
    // be named `unicorn.rb` (a metrics gem's Unicorn support), not settings.
    if code
        .iter()
        .any(|(_, l)| l.starts_with("module ") || l.starts_with("class "))
    {
        return;
    }
    let killer_here = src.contains("WorkerKiller") || src.contains("worker_killer");
    // Unicorn's killer is middleware in config.ru, beside or above config/.
    let killer_beside = || {
        let dir = path.parent().unwrap_or(Path::new("."));
        [dir.join("config.ru"), dir.join("../config.ru")]
            .iter()
            .any(|p| {
                std::fs::metadata(p).is_ok_and(|m| m.len() < 1024 * 1024)
                    && std::fs::read_to_string(p).is_ok_and(|t| t.contains("WorkerKiller"))
            })
    };
    for (line, l) in &code {
        let puma_workers = directive(l, "workers");
        if let Some(n) = puma_workers {
            let count = n.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
            let clustered = count.parse::<u64>().map_or(!n.is_empty(), |c| c > 0);
            if clustered && !killer_here {
                out.hit(
                    Rule::WorkersNotRecycled,
                    *line,
                    "Puma runs clustered workers that are never recycled (no puma_worker_killer): a leak grows each worker until the OOM killer ends it".into(),
                    "add the puma_worker_killer gem: `before_fork { PumaWorkerKiller.config { |c| c.ram = 1024 }; PumaWorkerKiller.start }` (or PumaWorkerKiller.enable_rolling_restart)".into(),
                );
            }
            return;
        }
        if directive(l, "worker_processes").is_some() {
            if !killer_here && !killer_beside() {
                out.hit(
                    Rule::WorkersNotRecycled,
                    *line,
                    "Unicorn workers are never recycled (no unicorn-worker-killer here or in config.ru): a leak grows each worker until the OOM killer ends it".into(),
                    "add unicorn-worker-killer to config.ru: `use Unicorn::WorkerKiller::MaxRequests, 3072, 4096` and `use Unicorn::WorkerKiller::Oom, 192 * 1024**2, 256 * 1024**2`".into(),
                );
            }
            return;
        }
    }
}

/// The argument of the DSL call `name` (`workers 4`, `workers(4)`) on line
/// `l`, or None when the line is something else: another name
/// (`workers_count`), or a variable of that name assigned or used
/// (`workers = ObjectSpace.each_object(...)`, `workers.first`).
fn directive<'a>(l: &'a str, name: &str) -> Option<&'a str> {
    let rest = l.strip_prefix(name)?;
    if !rest.starts_with([' ', '\t', '(']) {
        return None;
    }
    let arg = rest.trim().trim_start_matches('(').trim();
    let operator = arg.starts_with([
        '=', '.', ',', '[', ')', '<', '+', '-', '*', '/', '|', '&', '?', ':',
    ]);
    (!operator).then_some(arg)
}

pub fn procfile(src: &str, out: &mut Out) {
    for (i, raw) in src.lines().enumerate() {
        let Some((name, cmd)) = raw.split_once(':') else {
            continue;
        };
        if name.trim().starts_with('#') || cmd.trim().is_empty() {
            continue;
        }
        let words = cmd
            .split_whitespace()
            .map(|w| Word {
                text: w.to_string(),
                line: i + 1,
            })
            .collect();
        let launch = Launch {
            what: format!("process `{}`", name.trim()),
            words,
            ..Launch::default()
        };
        runtime::check(&launch, out);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_directive_is_the_call_not_a_variable_of_its_name() {
        assert_eq!(super::directive("workers 4", "workers"), Some("4"));
        assert_eq!(
            super::directive("workers(ENV['N'])", "workers"),
            Some("ENV['N'])")
        );
        assert_eq!(
            super::directive("workers = ObjectSpace.each_object(W)", "workers"),
            None
        );
        assert_eq!(super::directive("workers.first", "workers"), None);
        assert_eq!(super::directive("workers_count = 2", "workers"), None);
        assert_eq!(
            super::directive("worker_processes 3", "worker_processes"),
            Some("3")
        );
    }
}
