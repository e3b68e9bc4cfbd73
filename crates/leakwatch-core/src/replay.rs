//! Replaying a recorded series row by row through fresh detectors, exactly
//! as a live run would have fed them, in bounded memory whatever the length.
//!
//! The detector's configuration depends on the sampling interval (a season
//! is assumed when samples are 5 s or more apart), so the first rows are
//! held back until their median interval is known, then everything streams.
//! Times are fed relative to the first row, so a file whose `t_s` is Unix
//! epoch seconds reads like any other.

use crate::analysis::{Report, ResourceSet};
use crate::detector::DetectorConfig;
use crate::format::SparkBuffer;
use crate::series::Resource;

/// Rows held back to choose the configuration from their median interval.
pub const INTERVAL_ROWS: usize = 64;

/// Points kept per resource for its sparkline.
pub const SPARK_POINTS: usize = 120;

/// Times at or after this many seconds are taken as Unix epoch seconds
/// (2001-09-09): no recording is that long.
pub const EPOCH_MIN_S: f64 = 1e9;

struct Row {
    t_s: f64,
    values: Vec<f64>,
    identity: Option<f64>,
}

/// Streams rows into a [`ResourceSet`].
pub struct Replay {
    resources: Vec<Resource>,
    season_s: Option<f64>,
    restart_warmup_s: Option<f64>,
    held: Vec<Row>,
    set: Option<ResourceSet>,
    spark: Vec<SparkBuffer>,
    first_t: Option<f64>,
    last_t: f64,
    last_identity: Option<f64>,
    rows: u64,
}

impl Replay {
    /// `season_s` overrides the season chosen from the sampling interval.
    pub fn new(resources: &[Resource], season_s: Option<f64>) -> Replay {
        Replay {
            resources: resources.to_vec(),
            season_s,
            restart_warmup_s: None,
            held: Vec::with_capacity(INTERVAL_ROWS + 1),
            set: None,
            spark: resources
                .iter()
                .map(|_| SparkBuffer::new(SPARK_POINTS))
                .collect(),
            first_t: None,
            last_t: 0.0,
            last_identity: None,
            rows: 0,
        }
    }

    /// How long a restarted instance warms up before it is judged.
    pub fn set_restart_warmup(&mut self, warmup_s: f64) {
        self.restart_warmup_s = Some(warmup_s);
    }

    /// Feeds one row: its time, one value per resource (NaN: not sampled)
    /// and the process identity if the file has one (instance number or
    /// start time: a change is a restart).
    pub fn push_row(&mut self, t_s: f64, values: &[f64], identity: Option<f64>) {
        let first = *self.first_t.get_or_insert(t_s);
        let t = t_s - first;
        self.rows += 1;
        self.last_t = t;
        for (s, v) in self.spark.iter_mut().zip(values) {
            s.push(*v);
        }
        match &mut self.set {
            Some(_) => self.feed(t, values, identity),
            None => {
                self.held.push(Row {
                    t_s: t,
                    values: values.to_vec(),
                    identity,
                });
                if self.held.len() > INTERVAL_ROWS {
                    self.start();
                }
            }
        }
    }

    fn start(&mut self) {
        let times: Vec<f64> = self.held.iter().map(|r| r.t_s).collect();
        let mut cfg = DetectorConfig::for_interval(crate::analysis::median_interval(&times));
        if let Some(s) = self.season_s {
            cfg.season_s = s;
        }
        let mut set = ResourceSet::new(&self.resources, &cfg);
        if let Some(w) = self.restart_warmup_s {
            set.set_restart_warmup(w);
        }
        self.set = Some(set);
        for row in std::mem::take(&mut self.held) {
            self.feed(row.t_s, &row.values, row.identity);
        }
    }

    fn feed(&mut self, t: f64, values: &[f64], identity: Option<f64>) {
        let Some(set) = &mut self.set else { return };
        if let Some(id) = identity {
            if self.last_identity.is_some_and(|last| last != id) {
                set.restart(t);
            }
            self.last_identity = Some(id);
        }
        for (r, v) in self.resources.iter().zip(values) {
            set.push(*r, t, *v);
        }
    }

    /// The detector of one resource, once streaming has started.
    pub fn detector(&self, r: Resource) -> Option<&crate::detector::Detector> {
        self.set.as_ref().and_then(|s| s.detector(r))
    }

    /// Rows seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// `t_s` of the first row as written in the file.
    pub fn start_s(&self) -> Option<f64> {
        self.first_t
    }

    /// Whether the file's times are Unix epoch seconds.
    pub fn epoch_times(&self) -> bool {
        self.first_t.is_some_and(|t| t >= EPOCH_MIN_S)
    }

    /// Seconds from the first row to the last.
    pub fn duration_s(&self) -> f64 {
        self.last_t
    }

    /// The sparkline of one resource over the whole series.
    pub fn sparkline(&self, r: Resource, width: usize) -> String {
        self.resources
            .iter()
            .position(|x| *x == r)
            .map(|i| crate::format::sparkline(self.spark[i].values(), width))
            .unwrap_or_default()
    }

    /// The report of everything fed so far; times are seconds from the first row.
    pub fn report(&mut self) -> Report {
        if self.set.is_none() {
            self.start();
        }
        self.set
            .as_ref()
            .map(ResourceSet::report)
            .unwrap_or_else(|| {
                ResourceSet::new(&self.resources, &DetectorConfig::default()).report()
            })
    }

    /// [`Replay::report`], consuming the replay.
    pub fn finish(mut self) -> Report {
        self.report()
    }
}
