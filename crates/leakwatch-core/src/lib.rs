//! leakwatch's core: the leak detector and the formats it reads, as plain
//! library code with no I/O of its own. The same [`detector::Detector`]
//! judges a process's memory, a cgroup, an allocation site's live bytes and a
//! heap snapshot's object class.

pub mod analysis;
pub mod detector;
pub mod few;
pub mod format;
pub mod keyed;
pub mod replay;
pub mod series;
pub mod stats;

pub use analysis::{
    analyze_series, too_short_to_judge, Report, ResourceReport, ResourceSet, Verdict,
};
pub use detector::{
    Assessment, Detector, DetectorConfig, Evidence, LeakState, Lifetime, LimitKind, Transition,
};
pub use keyed::{KeyedDetectors, KeyedReport};
pub use series::{parse_csv, Resource, Row, Series, SeriesError, SeriesReader};
