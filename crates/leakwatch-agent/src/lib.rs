//! leakwatch's production agent, as a library the `watch` and `analyze`
//! commands drive:
//!
//! - [`metrics`]: Prometheus text-format and OpenMetrics exposition of
//!   targets and detectors; [`serve`]: the bounded HTTP endpoint (`/metrics`,
//!   `/healthz`, `/healthz/TARGET`), loopback by default.
//! - [`health`]: leak-aware liveness (the agent's `/healthz/TARGET` and
//!   `leakwatch probe`); [`probe_state`]: the probe's state between runs.
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
pub mod probe_state;
pub mod redact;
pub mod selfstat;
pub mod serve;
pub mod store;
