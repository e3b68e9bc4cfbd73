//! Fuzzes the deployment-file readers `check` runs on untrusted repositories:
//! the YAML reader (anchors and aliases included) with the Kubernetes and
//! compose rules, Dockerfiles, systemd units, INI worker settings,
//! gunicorn/PM2/Puma/Unicorn settings and Procfiles, and the repository's
//! leakwatch.toml. The first byte picks the kind (0xf0 and above: the
//! config); memory must stay bounded (run with -rss_limit_mb=512: an alias bomb
//! that expands fails the run).
#![no_main]

use std::path::Path;

use leakwatch_check::deploy::{check, yaml::Yaml, DeployKind, DeployOutcome};
use libfuzzer_sys::fuzz_target;

const KINDS: [DeployKind; 8] = [
    DeployKind::Yaml,
    DeployKind::Dockerfile,
    DeployKind::Systemd,
    DeployKind::Ini,
    DeployKind::Gunicorn,
    DeployKind::Pm2,
    DeployKind::RubyServer,
    DeployKind::Procfile,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let src = String::from_utf8_lossy(rest);
    if pick >= 0xf0 {
        // The repository's own leakwatch.toml ([check] section): also
        // untrusted when a CI job checks a pull request.
        let _ = leakwatch_check::CheckSection::parse(&src);
        return;
    }
    let kind = KINDS[pick as usize % KINDS.len()];
    if kind == DeployKind::Yaml {
        // The reader alone, then the rules on what it read.
        let _ = Yaml::parse(&src);
    }
    // A directory that does not exist: files named beside the deployment
    // (a compose service's Dockerfile, Unicorn's config.ru) are not found.
    let path = Path::new("/nonexistent/leakwatch-fuzz/deploy.yaml");
    if let Ok(DeployOutcome::Hits(hits)) = check(path, kind, &src) {
        let lines = src.lines().count().max(1);
        for h in hits {
            assert!(h.line >= 1 && h.line <= lines + 1, "line {} of {lines}", h.line);
        }
    }
});
