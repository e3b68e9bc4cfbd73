//! leakwatch's allocation traces: the file format written by
//! `libleakwatch_preload.so`, a streaming reader that never panics on bad
//! input, the one-pass replay into leak numbers (leaked at exit, growing
//! sites judged by [`leakwatch_core::Detector`], peak, losses), which code
//! is whose (program, runtime, system), LeakSanitizer-format suppressions,
//! symbolization after the run, the report, and flamegraph/pprof exports.

pub mod analysis;
pub mod attach;
pub mod classify;
pub mod export;
pub mod format;
pub mod python;
pub mod reader;
pub mod report;
pub mod suppress;
pub mod symbolize;
pub mod synth;

pub use analysis::{analyze, analyze_with_progress, Analysis};
pub use reader::{Event, Header, Limits, Module, Tables, TraceError, TraceReader};
pub use report::{build as build_report, render_text, Report, ReportOptions};
pub use suppress::Suppressions;
pub use symbolize::{Frame, Symbolizer};
