//! leakwatch's allocation traces: the file format written by
//! `libleakwatch_preload.so`, a reader that never panics on bad input, the
//! replay into leak numbers (leaked at exit, growing sites judged by
//! [`leakwatch_core::Detector`], peak), symbolization after the run, the
//! report, and flamegraph/pprof exports.

pub mod analysis;
pub mod export;
pub mod format;
pub mod reader;
pub mod report;
pub mod symbolize;

pub use analysis::{analyze, Analysis};
pub use reader::{Event, Header, Module, Tables, Trace, TraceError};
pub use report::{build as build_report, render_text, Report};
pub use symbolize::{Frame, Symbolizer};
