//! Judging several resources of one target together: what `run`, `watch`
//! and `analyze` all report.

use serde::Serialize;

use crate::detector::{Assessment, Detector, DetectorConfig, LeakState, Transition};
use crate::series::{Resource, Series};

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Leak,
}

/// One detector per resource, fed sample rows together.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResourceSet {
    detectors: Vec<(Resource, Detector)>,
}

/// A state change of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResourceTransition {
    pub resource: Resource,
    #[serde(flatten)]
    pub transition: Transition,
}

impl ResourceSet {
    pub fn new(resources: &[Resource], cfg: &DetectorConfig) -> Self {
        ResourceSet {
            detectors: resources
                .iter()
                .map(|r| (*r, Detector::new(cfg.clone())))
                .collect(),
        }
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource> + '_ {
        self.detectors.iter().map(|(r, _)| *r)
    }

    pub fn detector(&self, r: Resource) -> Option<&Detector> {
        self.detectors.iter().find(|(x, _)| *x == r).map(|(_, d)| d)
    }

    pub fn set_limit(&mut self, r: Resource, limit: Option<f64>) {
        if let Some((_, d)) = self.detectors.iter_mut().find(|(x, _)| *x == r) {
            d.set_limit(limit);
        }
    }

    /// Feeds one value of one resource; NaN (not sampled) is skipped.
    pub fn push(&mut self, r: Resource, t_s: f64, v: f64) -> Option<ResourceTransition> {
        let (_, d) = self.detectors.iter_mut().find(|(x, _)| *x == r)?;
        d.push(t_s, v).map(|transition| ResourceTransition {
            resource: r,
            transition,
        })
    }

    /// The worst state over all resources (leak > growing > plateau > stable > collecting).
    pub fn overall_state(&self) -> LeakState {
        let rank = |s: LeakState| match s {
            LeakState::Collecting => 0,
            LeakState::Stable => 1,
            LeakState::Plateau => 2,
            LeakState::Growing => 3,
            LeakState::Leak => 4,
        };
        self.detectors
            .iter()
            .map(|(_, d)| d.state())
            .max_by_key(|s| rank(*s))
            .unwrap_or(LeakState::Collecting)
    }

    /// Builds the report of everything seen so far.
    pub fn report(&self) -> Report {
        let resources: Vec<ResourceReport> = self
            .detectors
            .iter()
            .filter(|(_, d)| d.samples() > 0)
            .map(|(r, d)| {
                let a = d.assessment();
                ResourceReport {
                    resource: *r,
                    verdict: if a.first_alert_s.is_some() {
                        Verdict::Leak
                    } else {
                        Verdict::Ok
                    },
                    first_alert_s: a.first_alert_s,
                    state: a.state,
                    growth_per_hour: a.rate_per_hour,
                    assessment: a,
                }
            })
            .collect();
        let first_alert_s = resources
            .iter()
            .filter_map(|r| r.first_alert_s)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))));
        Report {
            verdict: if first_alert_s.is_some() {
                Verdict::Leak
            } else {
                Verdict::Ok
            },
            first_alert_s,
            state: self.overall_state(),
            resources,
        }
    }
}

/// The judgement of one resource.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    pub resource: Resource,
    /// `leak` once the detector has alerted on this resource.
    pub verdict: Verdict,
    pub first_alert_s: Option<f64>,
    /// State at the end (a leak that stopped growing shows `plateau` here).
    pub state: LeakState,
    pub growth_per_hour: f64,
    pub assessment: Assessment,
}

/// The judgement of a whole target.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub first_alert_s: Option<f64>,
    pub state: LeakState,
    pub resources: Vec<ResourceReport>,
}

/// Replays a recorded series through fresh detectors, row by row, exactly as
/// a live run would have fed them.
pub fn analyze_series(series: &Series, cfg: &DetectorConfig) -> Report {
    let resources: Vec<Resource> = series.columns.iter().map(|(r, _)| *r).collect();
    let mut set = ResourceSet::new(&resources, cfg);
    for (i, t) in series.t_s.iter().enumerate() {
        for (r, values) in &series.columns {
            set.push(*r, *t, values[i]);
        }
    }
    set.report()
}

/// Median spacing of the sample times, for choosing a configuration.
pub fn median_interval(t_s: &[f64]) -> f64 {
    let d: Vec<f64> = t_s
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 0.0)
        .collect();
    crate::stats::median(&d)
}
