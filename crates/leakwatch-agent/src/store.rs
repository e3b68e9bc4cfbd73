//! Embedded history store (SQLite through rusqlite, bundled): per-target
//! samples and serialized detector state, so a restarted agent keeps its
//! history and its detectors resume where they were.
//!
//! Targets are keyed by a stable name (process name pattern, cgroup path,
//! container name), not by pid, so a restarted service joins its history.
//!
//! Layout: `samples` holds raw rows (one per target per tick, one column per
//! resource) for `raw_retention`; [`Store::compact`] folds older rows into
//! `rollups` of `rollup` seconds (min, max, mean per resource), drops rollups
//! older than `retention`, and when the file's live pages exceed `max_bytes`
//! it shortens raw history first and then drops the oldest rollups, so the
//! file stays bounded whatever the number of targets.

use std::path::Path;

use leakwatch_core::Resource;
use rusqlite::{params, Connection, OptionalExtension};

use crate::metrics::resource_label;

const SCHEMA_VERSION: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("history store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("history store {path} has schema version {found}, this leakwatch knows {SCHEMA_VERSION}: move it aside or use another --store path")]
    Version { path: String, found: i64 },
    #[error("cannot create the directory of the history store {path}: {source}")]
    Dir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to use {path} as the history store: {reason}")]
    Unsafe { path: String, reason: String },
}

/// Retention and size settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Raw samples are kept this long (seconds), then rolled up.
    pub raw_retention_s: f64,
    /// Width of a rollup bucket (seconds).
    pub rollup_s: f64,
    /// Rollups are kept this long (seconds).
    pub retention_s: f64,
    /// Bound on the live size of the database file.
    pub max_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            raw_retention_s: 86_400.0,
            rollup_s: 300.0,
            retention_s: 30.0 * 86_400.0,
            max_bytes: 512 << 20,
        }
    }
}

/// What the store remembers of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRecord {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub first_seen_s: Option<f64>,
    pub last_seen_s: Option<f64>,
    pub restarts: u64,
    pub oom_kills: u64,
    /// The instance last seen (pid, container id): a different one is a restart.
    pub instance: Option<String>,
    /// Serialized detector state (postcard: binary, keeps the infinities
    /// JSON cannot), as saved by [`Store::save_target`].
    pub state: Option<Vec<u8>>,
}

/// One row of history: raw (min = max = mean) or a rollup.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub t_s: f64,
    pub n: u64,
    pub rolled_up: bool,
    /// Per resource (in [`Resource::ALL`] order): (min, max, mean).
    pub values: [Option<(f64, f64, f64)>; 8],
}

impl HistoryRow {
    pub fn mean(&self, r: Resource) -> Option<f64> {
        self.values[index(r)].map(|v| v.2)
    }
}

/// Creates `path` 0600 if missing, never following a symlink; checks that
/// what is there is a regular file of ours with one link, and tightens a
/// looser mode (a store made by an older leakwatch) to 0600.
fn secure_create(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => {
                "it is a symbolic link (someone may have planted it to make the agent overwrite another file): remove it or choose another --store path".to_string()
            }
            _ => format!("cannot create it: {e}"),
        })?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file: choose a file path for --store".into());
    }
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "it is owned by uid {}, not by the user running the agent (uid {me}): move it aside or chown it",
            meta.uid()
        ));
    }
    if meta.nlink() > 1 {
        return Err(format!(
            "it has {} hard links: a store must be its own file; move it aside",
            meta.nlink()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make it private (0600): {e}"))?;
    }
    Ok(())
}

fn index(r: Resource) -> usize {
    Resource::ALL
        .iter()
        .position(|x| *x == r)
        .expect("every resource is in ALL")
}

/// The history store; see the module docs.
pub struct Store {
    conn: Connection,
    path: String,
    cfg: StoreConfig,
    pending: Vec<(i64, f64, [Option<f64>; 8])>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn columns() -> impl Iterator<Item = &'static str> {
    Resource::ALL.into_iter().map(resource_label)
}

impl Store {
    /// Opens (or creates) the store at `path`.
    ///
    /// The store holds process names and memory figures, and the agent runs
    /// as root: a missing directory is created 0700, the file 0600 (SQLite
    /// gives its `-wal` and `-shm` files the file's mode), a symlink or a
    /// non-regular file at `path` is refused rather than followed, and so
    /// is a file owned by another user or with other hard links.
    pub fn open(path: &Path, cfg: StoreConfig) -> Result<Store, StoreError> {
        let p = path.display().to_string();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| StoreError::Dir {
                    path: p.clone(),
                    source,
                })?;
        }
        // Resolve the directory once, so no symlink is left in the path
        // SQLite opens and SQLITE_OPEN_NOFOLLOW refuses one planted at the
        // file's own name between our check and its open.
        let real_dir = std::fs::canonicalize(dir).map_err(|source| StoreError::Dir {
            path: p.clone(),
            source,
        })?;
        let Some(name) = path.file_name() else {
            return Err(StoreError::Unsafe {
                path: p,
                reason: "it names a directory, not a file".into(),
            });
        };
        let file = real_dir.join(name);
        secure_create(&file).map_err(|reason| StoreError::Unsafe {
            path: p.clone(),
            reason,
        })?;
        let sql = |source| StoreError::Sqlite {
            path: p.clone(),
            source,
        };
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(&file, flags).map_err(sql)?;
        // auto_vacuum must be chosen before the first table exists.
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
        .map_err(sql)?;
        let raw_cols: Vec<String> = columns().map(|c| format!("{c} REAL")).collect();
        let roll_cols: Vec<String> = columns()
            .map(|c| format!("{c}_min REAL, {c}_max REAL, {c}_mean REAL"))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS targets (
                id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                first_seen REAL, last_seen REAL,
                restarts INTEGER NOT NULL DEFAULT 0, oom_kills INTEGER NOT NULL DEFAULT 0,
                instance TEXT, state BLOB);
             CREATE TABLE IF NOT EXISTS samples (
                target INTEGER NOT NULL, t REAL NOT NULL, {},
                PRIMARY KEY (target, t)) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS rollups (
                target INTEGER NOT NULL, t0 REAL NOT NULL, n INTEGER NOT NULL, {},
                PRIMARY KEY (target, t0)) WITHOUT ROWID;
             INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', {SCHEMA_VERSION});",
            raw_cols.join(", "),
            roll_cols.join(", ")
        ))
        .map_err(sql)?;
        let found: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::Version { path: p, found });
        }
        Ok(Store {
            conn,
            path: p,
            cfg,
            pending: Vec::new(),
        })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The record of `key`, created (with `kind`) if new.
    pub fn target(&self, key: &str, kind: &str) -> Result<TargetRecord, StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO targets (key, kind) VALUES (?1, ?2)",
                params![key, kind],
            )
            .map_err(self.err())?;
        self.conn
            .query_row(
                "SELECT id, key, kind, first_seen, last_seen, restarts, oom_kills, instance, state
                 FROM targets WHERE key = ?1",
                params![key],
                |r| {
                    Ok(TargetRecord {
                        id: r.get(0)?,
                        key: r.get(1)?,
                        kind: r.get(2)?,
                        first_seen_s: r.get(3)?,
                        last_seen_s: r.get(4)?,
                        restarts: r.get::<_, i64>(5)?.max(0) as u64,
                        oom_kills: r.get::<_, i64>(6)?.max(0) as u64,
                        instance: r.get(7)?,
                        state: r.get(8)?,
                    })
                },
            )
            .map_err(self.err())
    }

    /// Every target the store knows, by key.
    pub fn target_keys(&self) -> Result<Vec<String>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT key FROM targets ORDER BY key")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| r.get(0))
            .map_err(self.err())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.err())?;
        Ok(rows)
    }

    /// Saves a target's counters, instance and serialized detector state.
    pub fn save_target(&self, rec: &TargetRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE targets SET first_seen = ?2, last_seen = ?3, restarts = ?4, oom_kills = ?5,
                 instance = ?6, state = ?7 WHERE id = ?1",
                params![
                    rec.id,
                    rec.first_seen_s,
                    rec.last_seen_s,
                    rec.restarts as i64,
                    rec.oom_kills as i64,
                    rec.instance,
                    rec.state
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Queues one sample (written by [`Store::flush`]). NaN = not measured.
    pub fn append(&mut self, target_id: i64, t_s: f64, values: &[(Resource, f64)]) {
        let mut row = [None; 8];
        for &(r, v) in values {
            if v.is_finite() {
                row[index(r)] = Some(v);
            }
        }
        self.pending.push((target_id, t_s, row));
    }

    /// Writes queued samples in one transaction.
    pub fn flush(&mut self) -> Result<usize, StoreError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let placeholders: Vec<String> = (0..10).map(|i| format!("?{}", i + 1)).collect();
        let sql = format!(
            "INSERT OR REPLACE INTO samples (target, t, {}) VALUES ({})",
            columns().collect::<Vec<_>>().join(", "),
            placeholders.join(", ")
        );
        let path = self.path.clone();
        let e = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(e)?;
        {
            let mut st = tx.prepare_cached(&sql).map_err(e)?;
            for (id, t, v) in &self.pending {
                st.execute(params![
                    id, t, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
                ])
                .map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        let n = self.pending.len();
        self.pending.clear();
        Ok(n)
    }

    /// The history of a target in time order: rollups, then raw samples.
    pub fn history(&self, target_id: i64) -> Result<Vec<HistoryRow>, StoreError> {
        let mut out = Vec::new();
        let roll_cols: Vec<String> = columns()
            .map(|c| format!("{c}_min, {c}_max, {c}_mean"))
            .collect();
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT t0, n, {} FROM rollups WHERE target = ?1 ORDER BY t0",
                roll_cols.join(", ")
            ))
            .map_err(self.err())?;
        let mut rows = st.query(params![target_id]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let mut values = [None; 8];
            for (i, v) in values.iter_mut().enumerate() {
                let min: Option<f64> = r.get(2 + 3 * i).map_err(self.err())?;
                let max: Option<f64> = r.get(3 + 3 * i).map_err(self.err())?;
                let mean: Option<f64> = r.get(4 + 3 * i).map_err(self.err())?;
                if let (Some(a), Some(b), Some(c)) = (min, max, mean) {
                    *v = Some((a, b, c));
                }
            }
            out.push(HistoryRow {
                t_s: r.get(0).map_err(self.err())?,
                n: r.get::<_, i64>(1).map_err(self.err())?.max(0) as u64,
                rolled_up: true,
                values,
            });
        }
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT t, {} FROM samples WHERE target = ?1 ORDER BY t",
                columns().collect::<Vec<_>>().join(", ")
            ))
            .map_err(self.err())?;
        let mut rows = st.query(params![target_id]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let mut values = [None; 8];
            for (i, v) in values.iter_mut().enumerate() {
                let x: Option<f64> = r.get(1 + i).map_err(self.err())?;
                *v = x.map(|x| (x, x, x));
            }
            out.push(HistoryRow {
                t_s: r.get(0).map_err(self.err())?,
                n: 1,
                rolled_up: false,
                values,
            });
        }
        Ok(out)
    }

    /// Rolls raw samples before `cut` (aligned down to a bucket) into rollups.
    fn roll_up_before(&self, cut: f64) -> Result<usize, StoreError> {
        let r = self.cfg.rollup_s.max(1.0);
        let cut = (cut / r).floor() * r;
        let aggs: Vec<String> = columns()
            .map(|c| format!("MIN({c}), MAX({c}), AVG({c})"))
            .collect();
        let names: Vec<String> = columns()
            .map(|c| format!("{c}_min, {c}_max, {c}_mean"))
            .collect();
        // A bucket lies wholly before the aligned cut, so it is rolled up
        // once, from all its samples.
        let n = self
            .conn
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO rollups (target, t0, n, {})
                     SELECT target, CAST(t / ?1 AS INTEGER) * ?1 AS b, COUNT(*), {}
                     FROM samples WHERE t < ?2 GROUP BY target, b",
                    names.join(", "),
                    aggs.join(", ")
                ),
                params![r, cut],
            )
            .map_err(self.err())?;
        self.conn
            .execute("DELETE FROM samples WHERE t < ?1", params![cut])
            .map_err(self.err())?;
        Ok(n)
    }

    /// Live bytes of the database (pages in use).
    pub fn live_bytes(&self) -> Result<u64, StoreError> {
        let get = |pragma: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))
                .map_err(self.err())
        };
        let pages = get("page_count")? - get("freelist_count")?;
        Ok((pages.max(0) as u64) * get("page_size")?.max(0) as u64)
    }

    /// Applies retention and the size bound (see the module docs). Call it
    /// every few minutes.
    pub fn compact(&mut self, now_s: f64) -> Result<(), StoreError> {
        self.flush()?;
        self.roll_up_before(now_s - self.cfg.raw_retention_s)?;
        self.conn
            .execute(
                "DELETE FROM rollups WHERE t0 < ?1",
                params![now_s - self.cfg.retention_s],
            )
            .map_err(self.err())?;
        for _ in 0..16 {
            if self.live_bytes()? <= self.cfg.max_bytes {
                break;
            }
            let oldest_raw: Option<f64> = self
                .conn
                .query_row("SELECT MIN(t) FROM samples", [], |r| r.get(0))
                .optional()
                .map_err(self.err())?
                .flatten();
            let bucket = self.cfg.rollup_s.max(1.0);
            match oldest_raw {
                // Raw history spans more than a few buckets: halve it.
                Some(t) if now_s - t > 4.0 * bucket => {
                    self.roll_up_before(t + (now_s - t) / 2.0)?;
                }
                _ => {
                    // Drop the oldest quarter of the rollups' time span.
                    let span: Option<(f64, f64)> = self
                        .conn
                        .query_row("SELECT MIN(t0), MAX(t0) FROM rollups", [], |r| {
                            Ok(r.get::<_, Option<f64>>(0)?.zip(r.get::<_, Option<f64>>(1)?))
                        })
                        .map_err(self.err())?;
                    let Some((lo, hi)) = span else { break };
                    let cut = if hi > lo {
                        lo + (hi - lo) / 4.0
                    } else {
                        hi + 1.0
                    };
                    self.conn
                        .execute("DELETE FROM rollups WHERE t0 <= ?1", params![cut])
                        .map_err(self.err())?;
                }
            }
        }
        self.conn
            .execute_batch("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(self.err())?;
        Ok(())
    }

    /// Forgets a target and its history.
    pub fn remove_target(&self, target_id: i64) -> Result<(), StoreError> {
        for sql in [
            "DELETE FROM samples WHERE target = ?1",
            "DELETE FROM rollups WHERE target = ?1",
            "DELETE FROM targets WHERE id = ?1",
        ] {
            self.conn
                .execute(sql, params![target_id])
                .map_err(self.err())?;
        }
        Ok(())
    }

    /// Keeps what `watch --where` found in a target when its alert fired
    /// (the alert's `where` object as JSON); the newest 100 per target.
    pub fn record_cause(&self, target: &str, t_s: f64, cause_json: &str) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS alert_causes (
                    target TEXT NOT NULL, t REAL NOT NULL, cause TEXT NOT NULL)",
            )
            .map_err(self.err())?;
        self.conn
            .execute(
                "INSERT INTO alert_causes (target, t, cause) VALUES (?1, ?2, ?3)",
                params![target, t_s, cause_json],
            )
            .map_err(self.err())?;
        self.conn
            .execute(
                "DELETE FROM alert_causes WHERE target = ?1 AND rowid NOT IN
                 (SELECT rowid FROM alert_causes WHERE target = ?1 ORDER BY t DESC LIMIT 100)",
                params![target],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The causes kept for `target`, oldest first: (unix seconds, JSON).
    pub fn causes(&self, target: &str) -> Result<Vec<(f64, String)>, StoreError> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'alert_causes'",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare("SELECT t, cause FROM alert_causes WHERE target = ?1 ORDER BY t")
            .map_err(self.err())?;
        let rows = st
            .query_map(params![target], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?
            .collect::<Result<Vec<(f64, String)>, _>>()
            .map_err(self.err())?;
        Ok(rows)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StoreConfig {
        StoreConfig {
            raw_retention_s: 86_400.0,
            rollup_s: 300.0,
            retention_s: 30.0 * 86_400.0,
            max_bytes: 1 << 30,
        }
    }

    #[test]
    fn the_store_is_private_and_never_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("new-dir").join("history.db");
        let mut store = Store::open(&path, StoreConfig::default()).unwrap();
        let rec = store.target("svc", "process").unwrap();
        store.append(rec.id, 1.0, &[(Resource::RssBytes, 1e6)]);
        store.flush().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        for side in ["history.db-wal", "history.db-shm"] {
            let p = path.with_file_name(side);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{side}");
            }
        }
        drop(store);

        // A symlink planted at the store's path, pointing at a victim file.
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"").unwrap();
        let planted = d.path().join("planted.db");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let err = Store::open(&planted, StoreConfig::default()).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"");

        // A directory or a fifo at the path.
        let err = Store::open(d.path(), StoreConfig::default()).unwrap_err();
        assert!(
            matches!(err, StoreError::Unsafe { .. } | StoreError::Sqlite { .. }),
            "{err}"
        );
        let fifo = d.path().join("fifo.db");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: c is a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = Store::open(&fifo, StoreConfig::default()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        // A store made 0644 by an older version is tightened.
        let old = d.path().join("old.db");
        std::fs::write(&old, b"").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&old, StoreConfig::default()).unwrap());
        assert_eq!(mode(&old), 0o600);

        // A hard link to another file is refused.
        let linked = d.path().join("linked.db");
        std::fs::hard_link(&victim, &linked).unwrap();
        let err = Store::open(&linked, StoreConfig::default()).unwrap_err();
        assert!(err.to_string().contains("hard links"), "{err}");
    }

    #[test]
    fn old_samples_are_rolled_up_into_min_max_mean() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("h.db"), cfg()).unwrap();
        let t = s.target("svc", "process").unwrap();
        // Two days at 10 s: a saw-tooth whose rollups must keep its extremes.
        let n = 2 * 86_400 / 10;
        for i in 0..n {
            let ts = i as f64 * 10.0;
            let v = 1000.0 + (i % 30) as f64;
            s.append(t.id, ts, &[(Resource::RssBytes, v), (Resource::Fds, 7.0)]);
        }
        s.flush().unwrap();
        let now = n as f64 * 10.0;
        s.compact(now).unwrap();
        let h = s.history(t.id).unwrap();
        let rolled: Vec<&HistoryRow> = h.iter().filter(|r| r.rolled_up).collect();
        let raw: Vec<&HistoryRow> = h.iter().filter(|r| !r.rolled_up).collect();
        assert!(raw.iter().all(|r| r.t_s >= now - 86_400.0 - 300.0));
        assert!(raw.len() >= 8640 && raw.len() <= 8640 + 30, "{}", raw.len());
        assert_eq!(rolled.len(), 86_400 / 300);
        assert!(rolled.iter().all(|r| r.n == 30));
        let (min, max, mean) = rolled[0].values[index(Resource::RssBytes)].unwrap();
        assert_eq!((min, max), (1000.0, 1029.0));
        assert!((mean - 1014.5).abs() < 1e-9);
        assert_eq!(rolled[0].mean(Resource::Fds), Some(7.0));
        assert_eq!(rolled[0].mean(Resource::PssBytes), None);
        // Time order, rollups first.
        assert!(h.windows(2).all(|w| w[0].t_s < w[1].t_s));
        // Compacting again changes nothing.
        s.compact(now).unwrap();
        assert_eq!(s.history(t.id).unwrap().len(), h.len());
    }

    #[test]
    fn size_stays_bounded_with_many_targets() {
        let dir = tempfile::tempdir().unwrap();
        let max = 2 << 20;
        let mut s = Store::open(
            &dir.path().join("h.db"),
            StoreConfig {
                max_bytes: max,
                ..cfg()
            },
        )
        .unwrap();
        let ids: Vec<i64> = (0..50)
            .map(|i| s.target(&format!("t{i}"), "process").unwrap().id)
            .collect();
        let mut t = 0.0;
        for round in 0..6 {
            for _ in 0..720 {
                for id in &ids {
                    s.append(*id, t, &[(Resource::RssBytes, t), (Resource::Threads, 3.0)]);
                }
                t += 10.0;
            }
            s.flush().unwrap();
            s.compact(t).unwrap();
            assert!(
                s.live_bytes().unwrap() <= max,
                "round {round}: {} > {max}",
                s.live_bytes().unwrap()
            );
        }
        let file = std::fs::metadata(dir.path().join("h.db")).unwrap().len();
        assert!(file <= 2 * max, "file {file}");
        // The newest data survived raw; the oldest was down-sampled to fit.
        let h = s.history(ids[0]).unwrap();
        assert!(h.last().unwrap().t_s >= t - 20.0);
        assert!(!h.last().unwrap().rolled_up);
        assert!(h.first().unwrap().rolled_up);
        assert!(h.len() < 6 * 720 / 2, "{}", h.len());
    }

    #[test]
    fn records_and_state_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/h.db");
        {
            let mut s = Store::open(&path, cfg()).unwrap();
            let mut t = s.target("docker/web", "container").unwrap();
            assert_eq!(t.restarts, 0);
            assert_eq!(t.state, None);
            s.append(t.id, 1.0, &[(Resource::CgroupBytes, 5.0)]);
            t.restarts = 2;
            t.oom_kills = 1;
            t.instance = Some("abc".into());
            t.state = Some(vec![1, 2, 3]);
            t.last_seen_s = Some(1.0);
            s.save_target(&t).unwrap();
        }
        let s = Store::open(&path, cfg()).unwrap();
        let t = s.target("docker/web", "container").unwrap();
        assert_eq!((t.restarts, t.oom_kills), (2, 1));
        assert_eq!(t.state.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(t.instance.as_deref(), Some("abc"));
        assert_eq!(s.history(t.id).unwrap().len(), 1);
        assert_eq!(s.target_keys().unwrap(), ["docker/web"]);
        s.remove_target(t.id).unwrap();
        assert!(s.target_keys().unwrap().is_empty());
    }

    #[test]
    fn alert_causes_are_kept_bounded_per_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), cfg()).unwrap();
        assert!(store.causes("svc").unwrap().is_empty());
        for i in 0..120 {
            store
                .record_cause("svc", f64::from(i), &format!("{{\"n\":{i}}}"))
                .unwrap();
        }
        store.record_cause("other", 5.0, "{}").unwrap();
        let kept = store.causes("svc").unwrap();
        assert_eq!(kept.len(), 100);
        assert_eq!(kept[0], (20.0, "{\"n\":20}".to_owned()));
        assert_eq!(store.causes("other").unwrap().len(), 1);
    }

    #[test]
    fn unwritable_path_is_a_clear_error() {
        let err = Store::open(Path::new("/proc/leakwatch/h.db"), cfg()).unwrap_err();
        assert!(err.to_string().contains("/proc/leakwatch/h.db"), "{err}");
    }
}
