//! leakwatch's production agent, as a library the `watch` and `analyze`
//! commands drive:
//!
//! - [`metrics`]: Prometheus/OpenMetrics exposition of targets and detectors;
//!   [`serve`]: the `/metrics` endpoint on its own thread, loopback by default.
//! - [`fleet`]: detector over every series of a PromQL range query.
//!
//! Nothing here samples processes: callers hand in values they measured.

pub mod agent;
pub mod alert;
pub mod config;
pub mod containers;
pub mod fleet;
pub mod health;
pub mod metrics;
pub mod selfstat;
pub mod serve;
pub mod store;
