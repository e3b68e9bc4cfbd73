//! Dockerfiles: the final stage's base image, ENV, ENTRYPOINT and CMD. No
//! memory limit is known here, so only what is wrong at any limit is judged
//! (a JDK that ignores limits, MaxRAMPercentage ≥ 100, workers never
//! recycled). A missing HEALTHCHECK is not: orchestrators that restart on
//! it (compose) are judged in their own files, and Kubernetes ignores it.

use std::collections::HashMap;

use super::runtime::{self, Env, Launch, Word};
use super::Out;

#[derive(Clone, Default)]
struct Stage {
    image: Option<(String, usize)>,
    /// Build arguments with their defaults: ENV values may use them.
    args: Vec<Env>,
    env: Vec<Env>,
    entrypoint: Vec<Word>,
    cmd: Vec<Word>,
}

/// Instructions with their continuation lines joined, each with the line
/// it starts on.
fn instructions(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in src.lines().enumerate() {
        let t = raw.trim();
        if current.is_none() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if current.is_some() && t.starts_with('#') {
            continue;
        }
        let (start, mut text) = current.take().unwrap_or((i + 1, String::new()));
        if let Some(body) = t.strip_suffix('\\') {
            text.push_str(body);
            text.push(' ');
            current = Some((start, text));
        } else {
            text.push_str(t);
            out.push((start, text));
        }
    }
    if let Some(c) = current {
        out.push(c);
    }
    out
}

fn words_of(args: &str, line: usize) -> Vec<Word> {
    let args = args.trim();
    if args.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(args) {
            return list
                .iter()
                .flat_map(|s| s.split_whitespace())
                .map(|w| Word {
                    text: w.to_string(),
                    line,
                })
                .collect();
        }
    }
    args.split_whitespace()
        .map(|w| Word {
            text: w.to_string(),
            line,
        })
        .collect()
}

fn env_of(args: &str, line: usize) -> Vec<Env> {
    let args = args.trim();
    let unquote = |s: &str| s.trim_matches('"').trim_matches('\'').to_string();
    // `ENV NAME value with spaces` (legacy) or `ENV A=1 B="x y"`.
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let value = args[first.len()..].trim();
        return vec![Env {
            name: first.to_string(),
            value: unquote(value),
            line,
        }];
    }
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let (value, next) = if let Some(qc) = quote {
            let q = &after[1..];
            let end = q.find(qc).unwrap_or(q.len());
            (q[..end].to_string(), q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push(Env { name, value, line });
        rest = next.trim_start();
    }
    out
}

/// `${NAME}` and `$NAME` replaced by the ENV or ARG value seen so far
/// (unknown names expand to nothing, as in a build without --build-arg).
fn expand(value: &str, args: &[Env], env: &[Env]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .chain(args.iter().rev())
            .find(|e| e.name == name)
            .map(|e| e.value.clone())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            let name = inner[..end].split(':').next().unwrap_or("");
            out.push_str(&lookup(name));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..end]));
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

pub fn check(src: &str, out: &mut Out) {
    let Some(cur) = final_stage(src) else {
        return;
    };
    let launch = Launch {
        what: "this image".into(),
        words: launch_words(&cur),
        env: cur.env,
        image: cur.image,
        limit: None,
    };
    runtime::check(&launch, out);
}

/// What the image runs: its final stage's ENTRYPOINT, then its CMD (empty
/// when it sets neither).
pub fn command_words(src: &str) -> Vec<Word> {
    final_stage(src)
        .map(|s| launch_words(&s))
        .unwrap_or_default()
}

fn launch_words(stage: &Stage) -> Vec<Word> {
    let mut words = stage.entrypoint.clone();
    words.extend(stage.cmd.iter().cloned());
    words
}

/// The final stage, `None` for a file with no FROM.
fn final_stage(src: &str) -> Option<Stage> {
    // Named stages, for `FROM builder`: a stage inherits its parent's
    // image and environment.
    let mut stages: HashMap<String, Stage> = HashMap::new();
    let mut alias: Option<String> = None;
    let mut cur = Stage::default();
    let mut any = false;
    for (line, text) in instructions(src) {
        let (op, args) = text.split_once(char::is_whitespace).unwrap_or((&text, ""));
        match op.to_ascii_uppercase().as_str() {
            "FROM" => {
                any = true;
                let parts: Vec<&str> = args
                    .split_whitespace()
                    .filter(|p| !p.starts_with("--"))
                    .collect();
                let image = parts.first().copied().unwrap_or("");
                cur = match stages.get(&image.to_ascii_lowercase()) {
                    Some(parent) => parent.clone(),
                    None => Stage {
                        image: Some((image.to_string(), line)),
                        ..Stage::default()
                    },
                };
                alias = match (parts.get(1), parts.get(2)) {
                    (Some(kw), Some(name)) if kw.eq_ignore_ascii_case("as") => {
                        Some(name.to_ascii_lowercase())
                    }
                    _ => None,
                };
            }
            "ARG" => {
                for a in env_of(args, line) {
                    cur.args.retain(|e| e.name != a.name);
                    cur.args.push(a);
                }
            }
            "ENV" => {
                for mut e in env_of(args, line) {
                    e.value = expand(&e.value, &cur.args, &cur.env);
                    cur.env.push(e);
                }
            }
            "ENTRYPOINT" => {
                cur.entrypoint = words_of(args, line);
                cur.cmd.clear();
            }
            "CMD" => cur.cmd = words_of(args, line),
            _ => {}
        }
        if let Some(a) = &alias {
            stages.insert(a.clone(), cur.clone());
        }
    }
    any.then_some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_forms_and_continuations() {
        let e = env_of("A=1 B=\"x y\" C=3", 4);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].value, "x y");
        let e = env_of("JAVA_OPTS -Xmx1g -Xss1m", 2);
        assert_eq!(
            (e[0].name.as_str(), e[0].value.as_str()),
            ("JAVA_OPTS", "-Xmx1g -Xss1m")
        );
        let args = env_of("OPTS='-Xss1m -XX:+UseCGroupMemoryLimitForHeap '", 1);
        let e = expand("${JAVA_OPTS} ${OPTS} $X $", &args, &[]);
        assert_eq!(
            e.split_whitespace().collect::<Vec<_>>(),
            ["-Xss1m", "-XX:+UseCGroupMemoryLimitForHeap", "$"]
        );
        let ins = instructions("FROM a\n# c\nCMD gunicorn \\\n  app:app\n");
        assert_eq!(ins[1], (3, "CMD gunicorn  app:app".to_string()));
    }
}
