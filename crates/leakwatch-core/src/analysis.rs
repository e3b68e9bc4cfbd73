//! Judging several resources of one target together: what `run`, `watch`
//! and `analyze` all report.

use serde::Serialize;

use crate::detector::{Assessment, Detector, DetectorConfig, LeakState, LimitKind, Transition};
use crate::series::{Resource, Series};

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Leak,
}

/// Holds back a restarted instance's first samples: its start-up is not growth.
///
/// Each instance (lifetime) is judged on its own by the detector, which also
/// remembers how the earlier ones climbed: a leak masked by restarts (OOM
/// kill, crash loop, nightly restart) shows as the same steady climb in
/// every lifetime.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RestartWarmup {
    warmup_s: f64,
    restart_at: Option<f64>,
}

impl RestartWarmup {
    pub fn new(warmup_s: f64) -> Self {
        RestartWarmup {
            warmup_s,
            restart_at: None,
        }
    }

    /// A new instance started at `t_s`.
    pub fn restart(&mut self, t_s: f64) {
        self.restart_at = Some(t_s);
    }

    /// Whether a sample at `t_s` is judged (false while the new instance warms up).
    pub fn judged(&mut self, t_s: f64) -> bool {
        match self.restart_at {
            Some(r) if t_s - r < self.warmup_s => false,
            Some(_) => {
                self.restart_at = None;
                true
            }
            None => true,
        }
    }
}

/// Seconds a restarted instance is given to warm up before it is joined.
pub const DEFAULT_RESTART_WARMUP_S: f64 = 10.0;

/// One detector per resource, fed sample rows together.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ResourceSet {
    detectors: Vec<(Resource, Detector)>,
    #[serde(alias = "joiners")]
    warmups: Vec<RestartWarmup>,
    restarts: u32,
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
            warmups: resources
                .iter()
                .map(|_| RestartWarmup::new(DEFAULT_RESTART_WARMUP_S))
                .collect(),
            restarts: 0,
        }
    }

    /// Sets how long a restarted instance warms up before it is joined.
    pub fn set_restart_warmup(&mut self, warmup_s: f64) {
        for w in &mut self.warmups {
            *w = RestartWarmup::new(warmup_s);
        }
    }

    /// The target restarted at `t_s`: a new instance of the same service.
    pub fn restart(&mut self, t_s: f64) {
        self.restarts += 1;
        for (w, (_, d)) in self.warmups.iter_mut().zip(&mut self.detectors) {
            w.restart(t_s);
            d.restart();
        }
    }

    /// Restarts joined so far.
    pub fn restarts(&self) -> u32 {
        self.restarts
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

    /// The limit of one resource and what it is (named in every report).
    pub fn set_named_limit(&mut self, r: Resource, limit: Option<f64>, kind: LimitKind) {
        if let Some((_, d)) = self.detectors.iter_mut().find(|(x, _)| *x == r) {
            d.set_named_limit(limit, kind);
        }
    }

    /// Feeds one value of one resource; NaN (not sampled) is skipped.
    pub fn push(&mut self, r: Resource, t_s: f64, v: f64) -> Option<ResourceTransition> {
        let i = self.detectors.iter().position(|(x, _)| *x == r)?;
        if !v.is_finite() {
            return None;
        }
        if !self.warmups[i].judged(t_s) {
            return None;
        }
        self.detectors[i]
            .1
            .push(t_s, v)
            .map(|transition| ResourceTransition {
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
            restarts: self.restarts,
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
    /// Restarts of the target joined into its history.
    pub restarts: u32,
    pub resources: Vec<ResourceReport>,
}

impl Report {
    /// Whether the detectors could judge the target (see
    /// [`Assessment::judged`]): `run`, `watch`, `analyze` and the agent say
    /// "not_judged" and exit 2 otherwise.
    pub fn judged(&self) -> bool {
        self.verdict == Verdict::Leak || self.state != LeakState::Collecting
    }
}

/// Why data was too short to judge, in words: the samples and span seen
/// against what the detector needs. With restarts, each lifetime is
/// measured on its own, so the lifetimes were too short, not the whole
/// (more of the same does not help; more samples per lifetime does).
/// Callers add what to do in their own terms (flags differ).
pub fn too_short_to_judge(
    samples: u64,
    duration_s: f64,
    restarts: u64,
    cfg: &DetectorConfig,
) -> String {
    use crate::format::duration;
    if restarts == 0 {
        return format!(
            "{samples} samples over {}, and a leak needs at least {} of samples ({} samples), more with a daily season",
            duration(duration_s),
            duration(cfg.min_duration_s),
            cfg.min_samples,
        );
    }
    let lifetimes = restarts + 1;
    format!(
        "{restarts} restart(s) split its {samples} samples over {} into {lifetimes} lifetimes of about {} ({} samples) each, each too short to judge on its own: a lifetime needs at least {} samples (a leak masked by restarts is found from lifetimes that each climbed)",
        duration(duration_s),
        duration(duration_s / lifetimes as f64),
        samples / lifetimes,
        cfg.min_samples,
    )
}

/// Replays a recorded series through fresh detectors, row by row, exactly as
/// a live run would have fed them (see [`crate::replay::Replay`]). `cfg`
/// gives the season; times in the report are seconds from the first row.
pub fn analyze_series(series: &Series, cfg: &DetectorConfig) -> Report {
    let resources: Vec<Resource> = series.columns.iter().map(|(r, _)| *r).collect();
    let mut replay = crate::replay::Replay::new(&resources, Some(cfg.season_s));
    let mut row = vec![f64::NAN; resources.len()];
    for (i, t) in series.t_s.iter().enumerate() {
        for (slot, (_, values)) in row.iter_mut().zip(&series.columns) {
            *slot = values[i];
        }
        replay.push_row(*t, &row, series.instance.get(i).map(|n| *n as f64));
    }
    replay.finish()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restarted_instance_warms_up_before_it_is_judged() {
        let mut w = RestartWarmup::new(5.0);
        assert!(w.judged(0.0));
        w.restart(2.0);
        assert!(!w.judged(3.0), "warming up");
        assert!(w.judged(7.0));
        assert!(w.judged(8.0));
    }

    #[test]
    fn the_same_climb_in_each_lifetime_is_a_leak_and_a_restarted_flat_service_stays_ok() {
        let cfg = DetectorConfig::default();
        let run = |leaky: bool| {
            let mut set = ResourceSet::new(&[Resource::RssBytes], &cfg);
            set.set_restart_warmup(3.0);
            let mut t = 0.0;
            for _instance in 0..6 {
                set.restart(t);
                for age in 0..120 {
                    let warm = if age < 2 { 10e6 * age as f64 } else { 20e6 };
                    let growth = if leaky { 0.5e6 * age as f64 } else { 0.0 };
                    set.push(Resource::RssBytes, t, warm + growth);
                    t += 0.5;
                }
            }
            set.report()
        };
        let leak = run(true);
        assert_eq!(
            leak.verdict,
            Verdict::Leak,
            "{:?}",
            leak.resources[0].assessment.evidence
        );
        assert_eq!(leak.restarts, 6);
        assert_eq!(run(false).verdict, Verdict::Ok);
    }
}
