//! Deployment and runtime-configuration files: Kubernetes manifests,
//! docker-compose files, Dockerfiles, systemd units, and worker settings
//! (gunicorn, uWSGI, PHP-FPM, PM2, Puma, Unicorn, Procfiles).
//!
//! Their rules see what no code rule can: whether a leak ends in a clean
//! restart (a memory limit, a heap cap that fits inside it, workers that are
//! recycled, a restart policy, a liveness probe) or in a node-wide OOM. They
//! report [`Hit`]s through [`crate::finish_hits`], so suppressions,
//! fingerprints, baselines and every output format work as for code.

use std::path::Path;

use crate::analyze::Hit;
use crate::rules::Rule;

mod compose;
mod conf;
mod dockerfile;
mod k8s;
pub mod quantity;
mod runtime;
mod systemd;
pub mod yaml;

/// A kind of deployment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployKind {
    /// `.yaml`/`.yml`: a Kubernetes manifest or a compose file, told apart
    /// by content.
    Yaml,
    Dockerfile,
    Systemd,
    /// INI-style worker settings: uWSGI (`[uwsgi]`) or a PHP-FPM pool.
    Ini,
    /// `gunicorn.conf.py` and friends (Python, read for its settings).
    Gunicorn,
    /// PM2 ecosystem files.
    Pm2,
    /// `puma.rb` / `unicorn.rb` (Ruby, read for its settings).
    RubyServer,
    Procfile,
}

impl DeployKind {
    pub fn name(self) -> &'static str {
        match self {
            DeployKind::Yaml => "yaml",
            DeployKind::Dockerfile => "dockerfile",
            DeployKind::Systemd => "systemd",
            DeployKind::Ini => "ini",
            DeployKind::Gunicorn => "gunicorn",
            DeployKind::Pm2 => "pm2",
            DeployKind::RubyServer => "ruby-server",
            DeployKind::Procfile => "procfile",
        }
    }

    /// The kind of a deployment file from its name alone. Checked before the
    /// source languages: `gunicorn.conf.py` is settings, not application code.
    pub fn from_name(path: &Path) -> Option<DeployKind> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        // `Dockerfile.prod`, `Procfile.dev`: a variant. `procfile.py` (a
        // Pygments lexer) and its `.pyc` are code, not a Procfile.
        let variant = |stem: &str| {
            lower
                .strip_prefix(stem)
                .is_some_and(|rest| rest.starts_with('.'))
                && crate::Lang::from_path(path).is_none()
                && !matches!(ext, "pyc" | "pyo" | "class" | "o" | "so" | "jar")
        };
        if lower == "dockerfile"
            || lower == "containerfile"
            || variant("dockerfile")
            || lower.ends_with(".dockerfile")
        {
            return Some(DeployKind::Dockerfile);
        }
        if lower == "procfile" || variant("procfile") {
            return Some(DeployKind::Procfile);
        }
        if lower.starts_with("ecosystem.config.") || lower.starts_with("pm2.") {
            return matches!(ext, "js" | "cjs" | "json").then_some(DeployKind::Pm2);
        }
        if lower.starts_with("gunicorn") && ext == "py" {
            return Some(DeployKind::Gunicorn);
        }
        if matches!(lower.as_str(), "puma.rb" | "unicorn.rb") {
            return Some(DeployKind::RubyServer);
        }
        match ext {
            "yaml" | "yml" => Some(DeployKind::Yaml),
            "service" => Some(DeployKind::Systemd),
            "ini" if lower.contains("uwsgi") => Some(DeployKind::Ini),
            _ => None,
        }
    }

    /// Whether a file whose name says nothing may be worth sniffing: no
    /// extension, or a configuration-ish one.
    pub fn worth_sniffing(path: &Path) -> bool {
        match path.extension().and_then(|e| e.to_str()) {
            None => true,
            Some(e) => matches!(
                e,
                "conf"
                    | "cfg"
                    | "ini"
                    | "unit"
                    | "docker"
                    | "j2"
                    | "tpl"
                    | "tmpl"
                    | "template"
                    | "example"
                    | "sample"
                    | "dist"
                    | "in"
            ),
        }
    }

    /// The kind of a file from the start of its content (a unit in
    /// `ops/api`, a Dockerfile named `build/app.docker`, a PHP-FPM pool in
    /// `www.conf`).
    pub fn sniff(head: &str) -> Option<DeployKind> {
        let mut first_instruction = None;
        let mut sections = 0;
        let mut uwsgi_or_fpm = false;
        let mut api_version = false;
        let mut kind = false;
        for line in head.lines().take(200) {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                continue;
            }
            if first_instruction.is_none() {
                first_instruction = Some(t.to_string());
            }
            if matches!(t, "[Unit]" | "[Service]" | "[Install]") {
                sections += 1;
            }
            if t == "[uwsgi]" || t.starts_with("pm.max_children") || t.starts_with("pm =") {
                uwsgi_or_fpm = true;
            }
            api_version |= t.starts_with("apiVersion:");
            kind |= t.starts_with("kind:");
        }
        let first = first_instruction?;
        let upper = first.to_ascii_uppercase();
        if upper.starts_with("FROM ") || (upper.starts_with("ARG ") && head.contains("\nFROM ")) {
            return Some(DeployKind::Dockerfile);
        }
        if sections > 0 && head.contains("[Service]") {
            return Some(DeployKind::Systemd);
        }
        if uwsgi_or_fpm {
            return Some(DeployKind::Ini);
        }
        if api_version && kind {
            return Some(DeployKind::Yaml);
        }
        None
    }
}

/// Why a deployment file could not be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
}

/// What checking one deployment file gave.
pub enum DeployOutcome {
    Hits(Vec<Hit>),
    /// Not a deployment file after all (a YAML file of another kind): not
    /// checked, not counted.
    NotDeployment,
    /// A template (`{{ ... }}`), not rendered YAML.
    Template,
}

/// Checks one deployment file. `path` is read only to find files the
/// deployment names beside it (a compose service's Dockerfile, Unicorn's
/// `config.ru`).
pub fn check(path: &Path, kind: DeployKind, src: &str) -> Result<DeployOutcome, DeployError> {
    let mut out = Out::new(src);
    match kind {
        DeployKind::Yaml => {
            let parsed = match yaml::Yaml::parse(src) {
                Ok(y) => y,
                Err(_) if src.contains("{{") => return Ok(DeployOutcome::Template),
                Err(e) => {
                    // Only an error when the file looks like a deployment.
                    if src.contains("apiVersion:") || src.contains("services:") {
                        return Err(e.into());
                    }
                    return Ok(DeployOutcome::NotDeployment);
                }
            };
            let found_k8s = k8s::check(&parsed, &mut out);
            let found_compose = compose::check(&parsed, path, &mut out);
            if !found_k8s && !found_compose {
                return Ok(DeployOutcome::NotDeployment);
            }
        }
        DeployKind::Dockerfile => dockerfile::check(src, &mut out),
        DeployKind::Systemd => systemd::check(src, &mut out),
        DeployKind::Ini => conf::ini(src, &mut out),
        DeployKind::Gunicorn => conf::gunicorn(src, &mut out),
        DeployKind::Pm2 => conf::pm2(src, &mut out),
        DeployKind::RubyServer => conf::ruby_server(path, src, &mut out),
        DeployKind::Procfile => conf::procfile(src, &mut out),
    }
    Ok(DeployOutcome::Hits(out.hits))
}

/// Collects hits on whole lines of one file.
pub struct Out<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
    pub hits: Vec<Hit>,
}

impl<'a> Out<'a> {
    fn new(src: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Out {
            src,
            line_starts,
            hits: Vec::new(),
        }
    }

    /// A hit on the text of 1-based `line` (leading blanks excluded).
    pub fn hit(&mut self, rule: Rule, line: usize, message: String, fix: String) {
        let line = line.clamp(1, self.line_starts.len());
        if self.hits.iter().any(|h| h.rule == rule && h.line == line) {
            return;
        }
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.src.len());
        let text = &self.src[start..end];
        let indent = text.len() - text.trim_start().len();
        let trimmed_end = start + text.trim_end().len();
        self.hits.push(Hit {
            rule,
            start_byte: start + indent,
            end_byte: trimmed_end.max(start + indent),
            line,
            col_byte: indent,
            message,
            fix,
            unless: None,
        });
    }
}

/// The fix text of the liveness rule: a ready exec probe with `leakwatch
/// probe` (docs/crash-only.md).
pub const PROBE_FIX: &str = "add a liveness probe; one that restarts the container only when it leaks and will reach its limit within 15 minutes: `livenessProbe: {exec: {command: [\"/leakwatch/leakwatch\", \"probe\", \"--threshold\", \"15m\"]}, periodSeconds: 10, failureThreshold: 3}` (see docs/crash-only.md)";

/// The compose form of the same probe.
pub const HEALTHCHECK_FIX: &str = "add a healthcheck; one that fails only when the service leaks and will reach its limit within 15 minutes: `healthcheck: {test: [\"CMD\", \"/leakwatch/leakwatch\", \"probe\", \"--threshold\", \"15m\"], interval: 10s, retries: 3}` with `restart: unless-stopped` (see docs/crash-only.md)";

#[cfg(test)]
mod tests {
    use super::DeployKind;
    use std::path::Path;

    #[test]
    fn variants_by_name_are_deployment_files_but_code_named_alike_is_not() {
        for (name, kind) in [
            ("Dockerfile", Some(DeployKind::Dockerfile)),
            ("Dockerfile.prod", Some(DeployKind::Dockerfile)),
            ("api.dockerfile", Some(DeployKind::Dockerfile)),
            ("Procfile", Some(DeployKind::Procfile)),
            ("Procfile.dev", Some(DeployKind::Procfile)),
            // Pygments' lexers/procfile.py and its byte code.
            ("procfile.py", None),
            ("__pycache__/procfile.cpython-311.pyc", None),
            ("dockerfile.go", None),
        ] {
            assert_eq!(DeployKind::from_name(Path::new(name)), kind, "{name}");
        }
    }
}
