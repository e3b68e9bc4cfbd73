//! What a container, service or unit runs, read from its command, its
//! environment and its image: the heap cap of its runtime against the memory
//! limit, and whether its workers are recycled. Shared by every file kind.

use super::quantity::{self, human};
use super::Out;
use crate::rules::Rule;

/// One word of a command line and the line it is written on.
#[derive(Debug, Clone)]
pub struct Word {
    pub text: String,
    pub line: usize,
}

/// An environment variable and the line it is set on.
#[derive(Debug, Clone)]
pub struct Env {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// A memory limit as written and in bytes.
#[derive(Debug, Clone)]
pub struct Limit {
    pub bytes: u64,
    pub shown: String,
}

/// Everything known about how one thing is launched.
#[derive(Debug, Default)]
pub struct Launch {
    /// "container `api` of Deployment `web`", "service `web`", "this unit".
    pub what: String,
    pub words: Vec<Word>,
    pub env: Vec<Env>,
    /// The image and its line, when known.
    pub image: Option<(String, usize)>,
    pub limit: Option<Limit>,
}

fn base(word: &str) -> &str {
    let w = word
        .trim_matches(|c| c == '"' || c == '\'' || c == ';' || c == '[' || c == ']' || c == ',');
    w.rsplit('/').next().unwrap_or(w)
}

impl Launch {
    fn env(&self, name: &str) -> Option<&Env> {
        self.env.iter().rev().find(|e| e.name == name)
    }

    fn has_word(&self, pred: impl Fn(&str) -> bool) -> Option<&Word> {
        self.words.iter().find(|w| pred(base(&w.text)))
    }

    /// Whether the command runs one of these programs (by base name).
    pub fn runs(&self, programs: &[&str]) -> bool {
        self.has_word(|b| programs.contains(&b)).is_some()
    }

    /// Whether this looks like a long-running server, from its command and
    /// image (ports are judged by the caller).
    pub fn looks_like_server(&self) -> bool {
        let servers = [
            "gunicorn",
            "uwsgi",
            "uvicorn",
            "hypercorn",
            "daphne",
            "waitress-serve",
            "puma",
            "unicorn",
            "rackup",
            "node",
            "nodejs",
            "pm2-runtime",
            "nginx",
            "httpd",
            "apache2",
            "php-fpm",
            "sidekiq",
            "java",
            "dotnet",
            "deno",
            "bun",
        ];
        if self.runs(&servers) {
            return true;
        }
        let text = self.command_text();
        if text.contains("runserver")
            || text.contains("celery") && text.contains("worker")
            || text.contains("rails s")
            || text.contains("npm start")
            || text.contains("yarn start")
            || text.contains("flask run")
        {
            return true;
        }
        let Some((image, _)) = &self.image else {
            return false;
        };
        let name = image_name(image);
        [
            "nginx",
            "httpd",
            "redis",
            "postgres",
            "mysql",
            "mariadb",
            "mongo",
            "rabbitmq",
            "memcached",
            "elasticsearch",
            "traefik",
            "caddy",
            "haproxy",
            "tomcat",
            "jetty",
            "wordpress",
            "keycloak",
            "grafana",
            "prometheus",
        ]
        .iter()
        .any(|s| name == *s || name.ends_with(&format!("/{s}")))
    }

    /// Whether the command is a one-shot task (migrations, seeds, tests).
    pub fn looks_one_shot(&self) -> bool {
        let text = self.command_text();
        [
            "migrate",
            "db upgrade",
            "alembic",
            "collectstatic",
            "seed",
            "pytest",
            "npm test",
            "npm run build",
            "db:migrate",
            "flyway",
            "liquibase",
        ]
        .iter()
        .any(|k| text.contains(k))
    }

    /// Whether the command starts a package manager or a test runner, a
    /// tool that does its job and exits (`entrypoint: /usr/bin/composer`,
    /// `npm ci`). Callers decide for services that publish a port.
    pub fn starts_a_tool(&self) -> bool {
        let mut words = self.words.iter().map(|w| base(&w.text));
        let Some(first) = words.next() else {
            // No command: the image's own entrypoint, a tool's when the
            // image is named after it (`image: graze/composer`, `composer:2`).
            return self.image.as_ref().is_some_and(|(image, _)| {
                let name = image_name(image);
                ["composer", "phpunit"].contains(&name.rsplit('/').next().unwrap_or(name))
            });
        };
        let second = words.next().unwrap_or("");
        if SHELLS.contains(&first) && is_command_flag(second) {
            // `bash -c "composer install && vendor/bin/phpunit"`: what the
            // string runs last is what the container runs until it exits.
            return self
                .shell_string_commands()
                .last()
                .is_some_and(|cmd| tool_command(cmd));
        }
        let all: Vec<&str> = self.words.iter().map(|w| base(&w.text)).collect();
        tool_command(&all)
    }

    /// The commands of a `sh -c "..."` string, split at `&&`, `||` and `;`,
    /// each as base names without a leading `exec`; empty for any other
    /// command.
    fn shell_string_commands(&self) -> Vec<Vec<&str>> {
        let mut words = self.words.iter().map(|w| w.text.as_str());
        let (Some(sh), Some(flag)) = (words.next(), words.next()) else {
            return Vec::new();
        };
        if !SHELLS.contains(&base(sh)) || !is_command_flag(base(flag)) {
            return Vec::new();
        }
        let mut out: Vec<Vec<&str>> = vec![Vec::new()];
        for w in words {
            let ends = w.ends_with(';');
            let b = base(w);
            if matches!(b, "&&" | "||" | "") {
                out.push(Vec::new());
                continue;
            }
            let cur = out.last_mut().expect("one command at least");
            if !(cur.is_empty() && b == "exec") {
                cur.push(b);
            }
            if ends {
                out.push(Vec::new());
            }
        }
        out.retain(|c| !c.is_empty());
        out
    }

    /// Whether the command only keeps the container alive (`tail -f
    /// /dev/null`, `sleep infinity`): a shell to exec into, which serves
    /// and holds nothing. Callers decide for services that publish a port.
    /// A bare shell (`command: bash`) is one too: a container to `run` or
    /// exec commands in, not a server.
    pub fn only_keeps_alive(&self) -> bool {
        let words: Vec<&str> = self.words.iter().map(|w| base(&w.text)).collect();
        matches!(
            words.as_slice(),
            ["tail", "-f", "null"] | ["sleep", "infinity" | "inf"]
        ) || matches!(words.as_slice(), [sh] if SHELLS.contains(sh))
    }

    pub fn command_text(&self) -> String {
        self.words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Shells that run a `-c` string or, alone, wait for commands.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh"];

/// `-c`, `-lc`, `-ec`: a shell flag that runs the next word as a command.
fn is_command_flag(flag: &str) -> bool {
    flag.len() >= 2 && flag.starts_with('-') && !flag.starts_with("--") && flag.ends_with('c')
}

/// Whether a command (base names) starts a package manager or a test
/// runner: `composer ...`, `vendor/bin/phpunit`, `npm ci`, `bundle install`,
/// `bundle exec rspec`.
fn tool_command(cmd: &[&str]) -> bool {
    let first = cmd.first().copied().unwrap_or("");
    let second = cmd.get(1).copied().unwrap_or("");
    if first == "bundle" && second == "exec" {
        return tool_command(&cmd[2..]); // `bundle exec rspec`
    }
    [
        "composer", "phpunit", "rspec", "jest", "mocha", "pip", "pip3",
    ]
    .contains(&first)
        || (["npm", "yarn", "pnpm", "bundle"].contains(&first)
            && ["install", "ci", "test"].contains(&second))
}

/// A name like `openjdk` from `docker.io/library/openjdk:8u181-jre@sha256:..`.
fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    let name_len = last.find(':').unwrap_or(last.len());
    &no_digest[..no_digest.len() - last.len() + name_len]
}

/// An image whose JDK 8 predates container support (8u191): it sizes its
/// default heap from the host's memory, not the container's.
fn old_jdk8(image: &str) -> bool {
    let name = image_name(image);
    let short = name.rsplit('/').next().unwrap_or(name);
    let tag = image
        .split('@')
        .next()
        .unwrap_or(image)
        .rsplit('/')
        .next()
        .and_then(|l| l.split_once(':'))
        .map(|(_, t)| t)
        .unwrap_or("latest");
    if short == "java" {
        // The deprecated `java` image stopped at 8u111.
        return true;
    }
    if !matches!(
        short,
        "openjdk" | "jdk" | "jre" | "zulu-openjdk" | "adoptopenjdk"
    ) {
        return false;
    }
    let Some(rest) = tag
        .strip_prefix("8u")
        .or_else(|| tag.strip_prefix("1.8.0_"))
    else {
        return false;
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<u32>().is_ok_and(|u| u <= 191)
}

/// A JVM flag found, the line it is on and where it came from.
struct Flag {
    value: String,
    line: usize,
    source: String,
}

const JVM_ENV_BEFORE: &[&str] = &[
    "JAVA_TOOL_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "JAVA_OPTS",
    "CATALINA_OPTS",
];

/// The JVM options in the order the JVM applies them (the last wins):
/// JAVA_TOOL_OPTIONS, the launcher variables, the command line, then
/// _JAVA_OPTIONS.
fn jvm_options(l: &Launch) -> Vec<Flag> {
    let mut out = Vec::new();
    let push_env = |name: &str, out: &mut Vec<Flag>| {
        if let Some(e) = l.env(name) {
            for w in e.value.split_whitespace() {
                out.push(Flag {
                    value: w.to_string(),
                    line: e.line,
                    source: name.to_string(),
                });
            }
        }
    };
    for name in JVM_ENV_BEFORE {
        push_env(name, &mut out);
    }
    for w in &l.words {
        out.push(Flag {
            value: w
                .text
                .trim_matches(|c| c == '"' || c == '\'' || c == ',')
                .to_string(),
            line: w.line,
            source: "the command".into(),
        });
    }
    push_env("_JAVA_OPTIONS", &mut out);
    out
}

pub fn check(l: &Launch, out: &mut Out) {
    heap(l, out);
    recycling(l, out);
}

fn heap(l: &Launch, out: &mut Out) {
    let jvm = jvm_options(l);
    let xmx = jvm.iter().rev().find_map(|f| {
        let v = f
            .value
            .strip_prefix("-Xmx")
            .or_else(|| f.value.strip_prefix("-XX:MaxHeapSize="))?;
        Some((quantity::jvm(v)?, f))
    });
    let max_ram_pct = jvm.iter().rev().find_map(|f| {
        let v = f.value.strip_prefix("-XX:MaxRAMPercentage=")?;
        Some((v.parse::<f64>().ok()?, f))
    });
    if let (Some((bytes, flag)), Some(limit)) = (&xmx, &l.limit) {
        if *bytes >= limit.bytes {
            let target = limit.bytes / 4 * 3;
            out.hit(
                Rule::HeapCapMismatch,
                flag.line,
                format!(
                    "{} ({}, from {}) ≥ the memory limit {} ({}) of {}: the heap alone can fill the container, and metaspace, thread stacks and direct buffers come on top, so a leak ends in an OOM kill instead of an OutOfMemoryError",
                    flag.value, human(*bytes), flag.source, limit.shown, human(limit.bytes), l.what
                ),
                format!(
                    "use -XX:MaxRAMPercentage=75 instead of -Xmx (it follows the limit), or -Xmx{}m at most",
                    target / (1024 * 1024)
                ),
            );
        }
    }
    if let Some((pct, flag)) = &max_ram_pct {
        if *pct >= 100.0 {
            out.hit(
                Rule::HeapCapMismatch,
                flag.line,
                format!(
                    "{} (from {}) lets the heap take the whole memory limit of {}: nothing is left for metaspace, threads and native memory, so the kernel's OOM killer ends the process before the JVM can",
                    flag.value, flag.source, l.what
                ),
                "use -XX:MaxRAMPercentage=75 (at most 80)".into(),
            );
        }
    }
    if let Some((image, line)) = &l.image {
        let capped = jvm.iter().any(|f| {
            f.value.starts_with("-Xmx")
                || f.value.starts_with("-XX:MaxHeapSize=")
                || f.value.starts_with("-XX:MaxRAM")
                || f.value.contains("UseCGroupMemoryLimitForHeap")
        });
        if old_jdk8(image) && !capped {
            out.hit(
                Rule::HeapCapMismatch,
                *line,
                format!(
                    "{image} runs a JDK 8 older than 8u191, which is not container-aware: with no heap flag it sizes its heap from the host's memory, not the limit of {}, and is OOM-killed long before its garbage collector works hard",
                    l.what
                ),
                "use a JDK 8u191+ (or 11+) image with -XX:MaxRAMPercentage=75, or set -Xmx to about 75% of the limit".into(),
            );
        }
    }
    // Node: --max-old-space-size is in MiB; NODE_OPTIONS first, then the
    // command line (which wins).
    let mut node_flag: Option<(u64, String, usize)> = None;
    let node_env = l.env("NODE_OPTIONS");
    let from_env = node_env.into_iter().flat_map(|e| {
        e.value
            .split_whitespace()
            .map(move |w| (w.to_string(), e.line))
    });
    let from_words = l.words.iter().map(|w| (w.text.clone(), w.line));
    for (w, line) in from_env.chain(from_words) {
        let w = w.trim_matches(|c| c == '"' || c == '\'' || c == ',');
        if let Some(v) = w
            .strip_prefix("--max-old-space-size=")
            .or_else(|| w.strip_prefix("--max_old_space_size="))
        {
            if let Ok(mib) = v.parse::<u64>() {
                node_flag = Some((mib * 1024 * 1024, w.to_string(), line));
            }
        }
    }
    if let (Some((bytes, flag, line)), Some(limit)) = (&node_flag, &l.limit) {
        if *bytes >= limit.bytes {
            out.hit(
                Rule::HeapCapMismatch,
                *line,
                format!(
                    "{flag} ({}) ≥ the memory limit {} ({}) of {}: V8 will not collect hard until the heap nears that size, so a leak ends in an OOM kill instead of a heap-limit crash with a stack trace",
                    human(*bytes), limit.shown, human(limit.bytes), l.what
                ),
                format!(
                    "set --max-old-space-size to about 75% of the limit: --max-old-space-size={}",
                    limit.bytes / 4 * 3 / (1024 * 1024)
                ),
            );
        }
    }
    if let (Some(e), Some(limit)) = (l.env("GOMEMLIMIT"), &l.limit) {
        if let Some(bytes) = quantity::go(&e.value) {
            if bytes >= limit.bytes {
                out.hit(
                    Rule::HeapCapMismatch,
                    e.line,
                    format!(
                        "GOMEMLIMIT={} ({}) ≥ the memory limit {} ({}) of {}: the Go runtime will not collect harder before the kernel kills it",
                        e.value, human(bytes), limit.shown, human(limit.bytes), l.what
                    ),
                    format!(
                        "set GOMEMLIMIT to about 90% of the limit: GOMEMLIMIT={}MiB",
                        limit.bytes / 10 * 9 / (1024 * 1024)
                    ),
                );
            }
        }
    }
}

fn flag_value<'a>(words: &'a [Word], names: &[&str]) -> Option<&'a str> {
    for (i, w) in words.iter().enumerate() {
        let t = w.text.trim_matches(|c| c == '"' || c == '\'' || c == ',');
        for n in names {
            if let Some(v) = t.strip_prefix(n) {
                if let Some(v) = v.strip_prefix('=') {
                    return Some(v);
                }
                if v.is_empty() {
                    return words
                        .get(i + 1)
                        .map(|w| w.text.trim_matches(|c| c == '"' || c == '\'' || c == ','));
                }
            }
        }
    }
    None
}

fn positive(v: Option<&str>) -> bool {
    v.and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || v.is_some_and(|v| v.starts_with('$'))
}

fn env_words(e: Option<&Env>) -> Vec<Word> {
    e.map(|e| {
        e.value
            .split_whitespace()
            .map(|w| Word {
                text: w.to_string(),
                line: e.line,
            })
            .collect()
    })
    .unwrap_or_default()
}

fn recycling(l: &Launch, out: &mut Out) {
    if let Some(w) = l.has_word(|b| b == "gunicorn") {
        let env = env_words(l.env("GUNICORN_CMD_ARGS"));
        let recycled = positive(flag_value(&l.words, &["--max-requests"]))
            || positive(flag_value(&env, &["--max-requests"]));
        let config_elsewhere = flag_value(&l.words, &["-c", "--config"]).is_some()
            || flag_value(&env, &["-c", "--config"]).is_some();
        if !recycled && !config_elsewhere {
            out.hit(
                Rule::WorkersNotRecycled,
                w.line,
                format!("gunicorn in {} never recycles its workers (no --max-requests): a leak in the application grows each worker until the limit or the OOM killer ends it, dropping in-flight requests", l.what),
                "add `--max-requests 1000 --max-requests-jitter 100` (or GUNICORN_CMD_ARGS=\"--max-requests 1000 --max-requests-jitter 100\")".into(),
            );
        }
    }
    if let Some(w) = l.has_word(|b| b == "uwsgi") {
        let recycled = [
            "--max-requests",
            "--reload-on-rss",
            "--max-worker-lifetime",
            "--reload-on-as",
            "--evil-reload-on-rss",
        ]
        .iter()
        .any(|f| positive(flag_value(&l.words, &[f])))
            || [
                "UWSGI_MAX_REQUESTS",
                "UWSGI_RELOAD_ON_RSS",
                "UWSGI_MAX_WORKER_LIFETIME",
            ]
            .iter()
            .any(|n| l.env(n).is_some());
        let config_elsewhere = flag_value(&l.words, &["--ini", "--yaml", "--xml", "--json"])
            .is_some()
            || l.words.iter().any(|w| w.text.ends_with(".ini"))
            || l.env("UWSGI_INI").is_some();
        if !recycled && !config_elsewhere {
            out.hit(
                Rule::WorkersNotRecycled,
                w.line,
                format!("uWSGI in {} never recycles its workers (no --max-requests, --reload-on-rss or --max-worker-lifetime): a leak grows each worker until the OOM killer ends it", l.what),
                "add `--max-requests 1000 --reload-on-rss 512` (MiB)".into(),
            );
        }
    }
    if let Some(w) = l.has_word(|b| b == "celery") {
        if l.words.iter().any(|w| base(&w.text) == "worker") {
            let recycled = positive(flag_value(
                &l.words,
                &["--max-tasks-per-child", "--maxtasksperchild"],
            )) || positive(flag_value(&l.words, &["--max-memory-per-child"]))
                || [
                    "CELERY_WORKER_MAX_TASKS_PER_CHILD",
                    "CELERYD_MAX_TASKS_PER_CHILD",
                    "CELERY_WORKER_MAX_MEMORY_PER_CHILD",
                    "CELERYD_MAX_MEMORY_PER_CHILD",
                ]
                .iter()
                .any(|n| l.env(n).is_some());
            if !recycled {
                out.hit(
                    Rule::WorkersNotRecycled,
                    w.line,
                    format!("the Celery worker in {} never replaces its pool processes (no --max-tasks-per-child or --max-memory-per-child on its command line): a leak in a task grows every process for the worker's life", l.what),
                    "add `--max-tasks-per-child 100` or `--max-memory-per-child 300000` (KiB), or set worker_max_tasks_per_child in the app's config".into(),
                );
            }
        }
    }
    if let Some(w) = l.has_word(|b| b == "pm2" || b == "pm2-runtime") {
        let ecosystem = l.words.iter().any(|w| {
            let t = base(&w.text);
            t.starts_with("ecosystem")
                || t.ends_with(".json")
                || t.ends_with(".config.js")
                || t.ends_with(".yml")
                || t.ends_with(".yaml")
        });
        let recycled = flag_value(&l.words, &["--max-memory-restart"]).is_some();
        if !ecosystem && !recycled {
            out.hit(
                Rule::WorkersNotRecycled,
                w.line,
                format!(
                    "PM2 in {} never restarts a process that grows (no --max-memory-restart)",
                    l.what
                ),
                "add `--max-memory-restart 400M` (below the container's limit)".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images() {
        assert!(old_jdk8("openjdk:8u181-jre-alpine"));
        assert!(old_jdk8("docker.io/library/openjdk:8u131"));
        assert!(old_jdk8("java:8"));
        assert!(!old_jdk8("openjdk:8u292-jre"));
        assert!(!old_jdk8("openjdk:8-jre"));
        assert!(!old_jdk8("eclipse-temurin:8u372-b07-jre"));
        assert!(!old_jdk8("openjdk:17"));
        assert_eq!(
            image_name("registry:5000/team/api:1.2"),
            "registry:5000/team/api"
        );
    }

    fn launch(command: &str, image: Option<&str>) -> Launch {
        Launch {
            words: command
                .split_whitespace()
                .map(|w| Word {
                    text: w.into(),
                    line: 1,
                })
                .collect(),
            image: image.map(|i| (i.to_string(), 1)),
            ..Launch::default()
        }
    }

    #[test]
    fn tools_by_image_and_shells_kept_alive() {
        assert!(launch("", Some("graze/composer")).starts_a_tool());
        assert!(launch("", Some("composer:2")).starts_a_tool());
        // Named after a tool, but told to serve.
        assert!(!launch("php -S 0.0.0.0:80", Some("composer:2")).starts_a_tool());
        assert!(!launch("", Some("registry.example.com/composer-api:1")).starts_a_tool());
        assert!(!launch("", Some("node:20")).starts_a_tool());
        assert!(launch("tail -f /dev/null", None).only_keeps_alive());
        assert!(launch("sleep infinity", None).only_keeps_alive());
        assert!(!launch("tail -f /var/log/app.log", None).only_keeps_alive());
        assert!(!launch("sleep 30", None).only_keeps_alive());
    }

    /// A `sh -c` string's last command decides; a bare shell waits for
    /// commands; a shell running a server or a script is neither.
    #[test]
    fn tools_in_a_shell_string_and_bare_shells() {
        let papi = "bash -c \"composer install && vendor/bin/install-wp-tests.sh db root && vendor/bin/phpunit\"";
        assert!(launch(papi, None).starts_a_tool());
        assert!(launch("sh -c 'npm ci; exec npm test'", None).starts_a_tool());
        assert!(launch("sh -c 'bundle install; exec bundle exec rspec'", None).starts_a_tool());
        assert!(!launch("sh -c 'bundle install; exec bundle exec puma'", None).starts_a_tool());
        assert!(!launch("sh -c \"composer install && php-fpm\"", None).starts_a_tool());
        assert!(!launch("bash -c \"npm install && npm start\"", None).starts_a_tool());
        assert!(!launch("bash ./run.sh", None).starts_a_tool());
        assert!(launch("bash", None).only_keeps_alive());
        assert!(launch("/bin/sh", None).only_keeps_alive());
        assert!(!launch("bash ./serve.sh", None).only_keeps_alive());
        assert!(!launch("bash -c \"bundle exec puma\"", None).only_keeps_alive());
    }
}
