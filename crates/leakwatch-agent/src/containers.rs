//! Discovery of container and service cgroups on the host, cgroup v1
//! (memory controller hierarchy) or v2 (unified), named by what the path and
//! the runtimes' metadata on disk tell.
//!
//! Recognised cgroup paths (systemd and cgroupfs drivers):
//! - Docker: `.../docker-<id>.scope`, `/docker/<id>`
//! - containerd / CRI: `.../cri-containerd-<id>.scope`; CRI-O: `crio-<id>.scope`;
//!   Podman: `libpod-<id>.scope`
//! - Kubernetes: `kubepods[/burstable|/besteffort]/pod<uid>/<id>` and
//!   `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/<runtime>-<id>.scope`
//! - systemd services: `system.slice/<unit>.service`
//!
//! Names are stable across restarts where the metadata allows:
//! `k8s/<namespace>/<pod>/<container>` from `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
//! (the kubelet's symlinks), `docker/<name>` from Docker's
//! `containers/<id>/config.v2.json`, otherwise `<runtime>/<short id>`;
//! `systemd/<unit>` for services.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("no memory cgroup hierarchy under {0}: neither cgroup v1 (memory/memory.usage_in_bytes) nor v2 with the memory controller (cgroup.controllers) was found")]
    NoMemoryHierarchy(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    V1,
    V2,
}

/// One discovered container or service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Stable name: metrics label, store key, alert target.
    pub name: String,
    /// `docker`, `containerd`, `crio`, `podman`, `cri` (Kubernetes, runtime
    /// unknown), `systemd`.
    pub runtime: &'static str,
    /// Full container id; for services, the unit name.
    pub id: String,
    pub pod_uid: Option<String>,
    /// Kubernetes QoS class: guaranteed, burstable, besteffort.
    pub qos: Option<&'static str>,
    /// Absolute cgroup directory.
    pub cgroup: PathBuf,
}

/// Where to look: the cgroup mount and the runtimes' metadata.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The memory hierarchy's root directory.
    pub memory_root: PathBuf,
    pub layout: CgroupLayout,
    /// Kubelet's `/var/log/containers` (symlinks named by pod, namespace, container, id).
    pub k8s_log_dir: PathBuf,
    /// Docker's `/var/lib/docker/containers`.
    pub docker_dir: PathBuf,
    /// Include systemd services (`*.service` under `system.slice`).
    pub services: bool,
}

/// Finds the memory hierarchy under a cgroup mount root (`/sys/fs/cgroup`).
pub fn memory_root(cgroup_root: &Path) -> Result<(PathBuf, CgroupLayout), DiscoveryError> {
    let v1 = cgroup_root.join("memory");
    if v1.join("memory.usage_in_bytes").is_file() {
        return Ok((v1, CgroupLayout::V1));
    }
    for dir in [cgroup_root.to_path_buf(), cgroup_root.join("unified")] {
        let controllers =
            std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == "memory") {
            return Ok((dir, CgroupLayout::V2));
        }
    }
    Err(DiscoveryError::NoMemoryHierarchy(
        cgroup_root.display().to_string(),
    ))
}

impl Discovery {
    /// Discovery on this host's usual paths under `cgroup_root`.
    pub fn host(cgroup_root: &Path) -> Result<Discovery, DiscoveryError> {
        let (memory_root, layout) = memory_root(cgroup_root)?;
        Ok(Discovery {
            memory_root,
            layout,
            k8s_log_dir: PathBuf::from("/var/log/containers"),
            docker_dir: PathBuf::from("/var/lib/docker/containers"),
            services: true,
        })
    }

    /// Every container (and service) cgroup now, sorted by name.
    pub fn discover(&self) -> Vec<Container> {
        let k8s = k8s_names(&self.k8s_log_dir);
        let mut out = Vec::new();
        let mut stack = vec![(self.memory_root.clone(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = e.path();
                let Ok(rel) = path.strip_prefix(&self.memory_root) else {
                    continue;
                };
                if let Some(mut c) = classify(rel) {
                    if c.runtime == "systemd" && !self.services {
                        continue;
                    }
                    c.cgroup = path.clone();
                    c.name = self.name_of(&c, &k8s);
                    out.push(c);
                    // A container's own sub-cgroups are part of it.
                    continue;
                }
                if depth < 12 {
                    stack.push((path, depth + 1));
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name && a.id == b.id);
        out
    }

    fn name_of(&self, c: &Container, k8s: &[(String, String)]) -> String {
        let short: String = c.id.chars().take(12).collect();
        if c.runtime == "systemd" {
            return format!("systemd/{}", c.id);
        }
        if let Some((_, name)) = k8s.iter().find(|(id, _)| *id == c.id) {
            return format!("k8s/{name}");
        }
        if let Some(uid) = &c.pod_uid {
            return format!("k8s/pod{uid}/{short}");
        }
        if c.runtime == "docker" {
            if let Some(name) = docker_name(&self.docker_dir, &c.id) {
                return format!("docker/{name}");
            }
        }
        format!("{}/{short}", c.runtime)
    }
}

fn is_id(s: &str) -> bool {
    s.len() >= 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Recognises a container or service from its cgroup path relative to the
/// hierarchy's root. Public for fuzzing: paths are untrusted input.
pub fn classify(rel: &Path) -> Option<Container> {
    let parts: Vec<&str> = rel
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    let last = *parts.last()?;
    let mut pod_uid = None;
    let mut qos = None;
    for p in &parts {
        if let Some(uid) = p.strip_prefix("pod").filter(|u| u.len() >= 32) {
            pod_uid = Some(uid.to_string());
        }
        // kubepods-burstable-pod<uid_with_underscores>.slice
        if let Some(slice) = p
            .strip_prefix("kubepods-")
            .and_then(|s| s.strip_suffix(".slice"))
        {
            if let Some(i) = slice.find("pod") {
                let uid = &slice[i + 3..];
                if uid.len() >= 32 {
                    pod_uid = Some(uid.replace('_', "-"));
                }
            }
            if slice.starts_with("burstable") {
                qos = Some("burstable");
            } else if slice.starts_with("besteffort") {
                qos = Some("besteffort");
            }
        }
        match *p {
            "burstable" => qos = Some("burstable"),
            "besteffort" => qos = Some("besteffort"),
            _ => {}
        }
    }
    let in_kubepods = parts.iter().any(|p| p.starts_with("kubepods"));
    if in_kubepods && pod_uid.is_some() && qos.is_none() {
        qos = Some("guaranteed");
    }
    let scoped = |prefix: &str| {
        last.strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(".scope"))
            .filter(|id| is_id(id))
            .map(str::to_string)
    };
    let (runtime, id) = if let Some(id) = scoped("docker-") {
        ("docker", id)
    } else if let Some(id) = scoped("cri-containerd-") {
        ("containerd", id)
    } else if let Some(id) = scoped("crio-") {
        ("crio", id)
    } else if let Some(id) = scoped("libpod-") {
        ("podman", id)
    } else if is_id(last) && parts.len() >= 2 && parts[parts.len() - 2] == "docker" {
        ("docker", last.to_string())
    } else if is_id(last) && pod_uid.is_some() {
        ("cri", last.to_string())
    } else if let Some(unit) = last.strip_suffix(".service") {
        if parts.len() == 2 && parts[0] == "system.slice" && !unit.is_empty() {
            ("systemd", last.to_string())
        } else {
            return None;
        }
    } else {
        return None;
    };
    Some(Container {
        name: String::new(),
        runtime,
        id,
        pod_uid: if in_kubepods { pod_uid } else { None },
        qos: if in_kubepods { qos } else { None },
        cgroup: PathBuf::new(),
    })
}

/// (container id, "namespace/pod/container") from the kubelet's log symlinks,
/// named `<pod>_<namespace>_<container>-<id>.log`.
fn k8s_names(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| parse_k8s_log_name(e.file_name().to_str()?))
        .collect()
}

/// Parses `<pod>_<namespace>_<container>-<id>.log`. Public for fuzzing.
pub fn parse_k8s_log_name(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    if !is_id(id) {
        return None;
    }
    let mut it = rest.splitn(3, '_');
    let pod = it.next().filter(|s| !s.is_empty())?;
    let ns = it.next().filter(|s| !s.is_empty())?;
    let container = it.next().filter(|s| !s.is_empty())?;
    Some((id.to_string(), format!("{ns}/{pod}/{container}")))
}

/// The container's name from Docker's config.v2.json (`"Name": "/web"`).
fn docker_name(dir: &Path, id: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(id).join("config.v2.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = v.get("Name")?.as_str()?.trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_string())
}

/// Pids in a cgroup (its `cgroup.procs`), for restart detection.
pub fn cgroup_pids(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// The cgroup's cumulative OOM-kill counter: `oom_kill N` in
/// `memory.events` (v2) or `memory.oom_control` (v1).
pub fn oom_kill_counter(dir: &Path) -> Option<u64> {
    ["memory.events", "memory.oom_control"]
        .iter()
        .find_map(|file| {
            let text = std::fs::read_to_string(dir.join(file)).ok()?;
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == "oom_kill").then(|| v.trim().parse().ok())?
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
    const ID2: &str = "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999";
    const ID3: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901";

    fn c(rel: &str) -> Option<(&'static str, String, Option<String>, Option<&'static str>)> {
        classify(Path::new(rel)).map(|c| (c.runtime, c.id, c.pod_uid, c.qos))
    }

    #[test]
    fn recognises_runtime_paths() {
        assert_eq!(
            c(&format!("system.slice/docker-{ID}.scope")),
            Some(("docker", ID.into(), None, None))
        );
        assert_eq!(
            c(&format!("docker/{ID}")),
            Some(("docker", ID.into(), None, None))
        );
        assert_eq!(
            c(&format!("system.slice/cri-containerd-{ID}.scope")),
            Some(("containerd", ID.into(), None, None))
        );
        assert_eq!(
            c(&format!("machine.slice/libpod-{ID}.scope")),
            Some(("podman", ID.into(), None, None))
        );
        assert_eq!(
            c(&format!("kubepods/burstable/pod{UID}/{ID}")),
            Some(("cri", ID.into(), Some(UID.into()), Some("burstable")))
        );
        assert_eq!(
            c(&format!("kubepods/pod{UID}/{ID}")),
            Some(("cri", ID.into(), Some(UID.into()), Some("guaranteed")))
        );
        let under = UID.replace('-', "_");
        assert_eq!(
            c(&format!(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{under}.slice/cri-containerd-{ID}.scope"
            )),
            Some(("containerd", ID.into(), Some(UID.into()), Some("besteffort")))
        );
        assert_eq!(
            c("system.slice/nginx.service"),
            Some(("systemd", "nginx.service".into(), None, None))
        );
        // Not containers: slices, pods themselves, user sessions, short names.
        assert_eq!(c("system.slice"), None);
        assert_eq!(c(&format!("kubepods/burstable/pod{UID}")), None);
        assert_eq!(c("user.slice/user-1000.slice/session-2.scope"), None);
        assert_eq!(c("docker/abc"), None);
        assert_eq!(c("user.slice/user@1000.service/app.slice/x.service"), None);
    }

    #[test]
    fn k8s_log_names() {
        assert_eq!(
            parse_k8s_log_name(&format!("web-7d9f_prod_nginx-{ID}.log")),
            Some((ID.to_string(), "prod/web-7d9f/nginx".to_string()))
        );
        assert_eq!(parse_k8s_log_name("web_prod_nginx-xyz.log"), None);
        assert_eq!(parse_k8s_log_name(&format!("_prod_nginx-{ID}.log")), None);
    }

    fn touch_cgroup(root: &Path, rel: &str, v2: bool) {
        let d = root.join(rel);
        std::fs::create_dir_all(&d).unwrap();
        let f = if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        std::fs::write(d.join(f), "1000\n").unwrap();
        std::fs::write(d.join("cgroup.procs"), "42\n43\n").unwrap();
    }

    #[test]
    fn discovers_and_names_a_v2_host_tree() {
        let host = tempfile::tempdir().unwrap();
        let cg = host.path().join("cgroup");
        std::fs::create_dir_all(&cg).unwrap();
        std::fs::write(cg.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        let under = UID.replace('-', "_");
        touch_cgroup(&cg, &format!("system.slice/docker-{ID}.scope"), true);
        touch_cgroup(&cg, &format!("system.slice/docker-{ID3}.scope"), true);
        touch_cgroup(&cg, "system.slice/cron.service", true);
        touch_cgroup(
            &cg,
            &format!("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{under}.slice/cri-containerd-{ID2}.scope"),
            true,
        );
        touch_cgroup(&cg, "user.slice/user-0.slice", true);
        // Metadata: Docker names one container; the kubelet names the pod's.
        let docker = host.path().join("docker");
        std::fs::create_dir_all(docker.join(ID)).unwrap();
        std::fs::write(
            docker.join(ID).join("config.v2.json"),
            r#"{"ID":"x","Name":"/web"}"#,
        )
        .unwrap();
        let logs = host.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join(format!("api-5c_shop_server-{ID2}.log")), "").unwrap();

        let (root, layout) = memory_root(&cg).unwrap();
        assert_eq!(layout, CgroupLayout::V2);
        let d = Discovery {
            memory_root: root,
            layout,
            k8s_log_dir: logs,
            docker_dir: docker,
            services: true,
        };
        let found = d.discover();
        let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "docker/0123456789ab",
                "docker/web",
                "k8s/shop/api-5c/server",
                "systemd/cron.service"
            ]
        );
        let k = &found[2];
        assert_eq!(k.qos, Some("burstable"));
        assert_eq!(k.pod_uid.as_deref(), Some(UID));
        assert!(k.cgroup.ends_with(format!("cri-containerd-{ID2}.scope")));
        assert_eq!(cgroup_pids(&k.cgroup), [42, 43]);
    }

    #[test]
    fn detects_a_v1_layout_and_reports_a_missing_one() {
        let host = tempfile::tempdir().unwrap();
        touch_cgroup(host.path(), "memory", false);
        touch_cgroup(host.path(), &format!("memory/docker/{ID}"), false);
        let d = Discovery {
            services: false,
            k8s_log_dir: host.path().join("none"),
            docker_dir: host.path().join("none"),
            ..Discovery::host(host.path()).unwrap()
        };
        assert_eq!(d.layout, CgroupLayout::V1);
        let found = d.discover();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "docker/4f3c2b1a0e9d");
        let empty = tempfile::tempdir().unwrap();
        let e = memory_root(empty.path()).unwrap_err();
        assert!(e.to_string().contains("no memory cgroup hierarchy"), "{e}");
    }

    #[test]
    fn oom_kill_counters_of_v1_and_v2() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(oom_kill_counter(d.path()), None);
        std::fs::write(
            d.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        )
        .unwrap();
        assert_eq!(oom_kill_counter(d.path()), Some(3));
        std::fs::write(
            d.path().join("memory.events"),
            "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n",
        )
        .unwrap();
        assert_eq!(oom_kill_counter(d.path()), Some(2));
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(parts in proptest::collection::vec("[a-z0-9_.@-]{0,80}", 0..8)) {
            let p: PathBuf = parts.iter().collect();
            let _ = classify(&p);
            if let Some(last) = parts.last() {
                let _ = parse_k8s_log_name(last);
            }
        }
    }
}
