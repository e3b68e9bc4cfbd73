//! Recorded series: the CSV that `run --out` and `watch --out` write and
//! `analyze` reads. Parsing takes text already read by the caller.

use std::io::Read;

use serde::{Deserialize, Serialize};

/// A measured resource of a process or cgroup: one CSV column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    RssBytes,
    PssBytes,
    AnonBytes,
    SwapBytes,
    Threads,
    Fds,
    CgroupBytes,
    CgroupAnonBytes,
}

impl Resource {
    pub const ALL: [Resource; 8] = [
        Resource::RssBytes,
        Resource::PssBytes,
        Resource::AnonBytes,
        Resource::SwapBytes,
        Resource::Threads,
        Resource::Fds,
        Resource::CgroupBytes,
        Resource::CgroupAnonBytes,
    ];

    /// The CSV column name.
    pub fn column(self) -> &'static str {
        match self {
            Resource::RssBytes => "rss_bytes",
            Resource::PssBytes => "pss_bytes",
            Resource::AnonBytes => "anon_bytes",
            Resource::SwapBytes => "swap_bytes",
            Resource::Threads => "threads",
            Resource::Fds => "fds",
            Resource::CgroupBytes => "cgroup_bytes",
            Resource::CgroupAnonBytes => "cgroup_anon_bytes",
        }
    }

    pub fn from_column(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.column() == name)
    }

    pub fn is_bytes(self) -> bool {
        !matches!(self, Resource::Threads | Resource::Fds)
    }

    /// Formats a value of this resource for people.
    pub fn show(self, v: f64) -> String {
        if self.is_bytes() {
            crate::format::bytes(v)
        } else {
            format!("{v:.0}")
        }
    }

    /// [`Resource::show`] written into `out`.
    pub fn write_value(self, out: &mut impl std::fmt::Write, v: f64) -> std::fmt::Result {
        if self.is_bytes() {
            crate::format::write_bytes(out, v)
        } else {
            write!(out, "{v:.0}")
        }
    }

    /// [`Resource::show_rate`] written into `out`.
    pub fn write_rate(self, out: &mut impl std::fmt::Write, per_hour: f64) -> std::fmt::Result {
        if self.is_bytes() {
            crate::format::write_bytes(out, per_hour)?;
            out.write_str("/h")
        } else {
            write!(out, "{per_hour:+.1}/h")
        }
    }

    /// Formats a rate per hour of this resource.
    pub fn show_rate(self, per_hour: f64) -> String {
        if self.is_bytes() {
            format!("{}/h", crate::format::bytes(per_hour))
        } else {
            format!("{per_hour:+.1}/h")
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.column())
    }
}

/// A recorded series held in memory: sample times and one column per known
/// resource. `analyze` streams rows with [`SeriesReader`] instead; this is
/// for tests and small inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub t_s: Vec<f64>,
    pub columns: Vec<(Resource, Vec<f64>)>,
    /// Instance number per row when the file has an `instance` column
    /// (written by `run` and `watch`): a change marks a restart. Empty otherwise.
    pub instance: Vec<u64>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.t_s.len()
    }
    pub fn is_empty(&self) -> bool {
        self.t_s.is_empty()
    }
    pub fn column(&self, r: Resource) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(c, _)| *c == r)
            .map(|(_, v)| v.as_slice())
    }
}

/// Longest line (record) accepted: a recording's rows are a few hundred
/// bytes, so anything longer is not one, and reading it whole could
/// exhaust memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Columns that tell process lifetimes apart, in order of preference: a
/// change of value between rows is a restart.
pub const IDENTITY_COLUMNS: [&str; 3] = ["instance", "start_time_s", "pid"];

/// Why a series could not be read. Lines are numbered from 1 (the header).
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("the file is empty: expected a header row starting with t_s")]
    Empty,
    #[error("line 1: the first column must be the time (t_s in seconds, or a monitoring export's time, timestamp, ts, _time, date or datetime column), found {found:?}")]
    BadHeader { found: String },
    #[error("line 1: the header {found:?} is one column separated by {separator}: leakwatch reads comma-separated files; convert it first (e.g. `tr '{tr}' ',' < FILE`)")]
    NotCommaSeparated {
        found: String,
        separator: &'static str,
        tr: &'static str,
    },
    #[error("line 1: no known resource column; expected any of rss_bytes, pss_bytes, anon_bytes, swap_bytes, threads, fds, cgroup_bytes, cgroup_anon_bytes (or, in a monitoring export, one value column after the time)")]
    NoKnownColumns,
    #[error("line {line}: expected {expected} fields like the header, found {found}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: column {column}: {value:?} is not a time (seconds or milliseconds since the epoch, RFC 3339, or YYYY-MM-DD HH:MM:SS in UTC)")]
    NotATime {
        line: usize,
        column: String,
        value: String,
    },
    #[error("line {line}: column {column}: {value:?} is not a number")]
    NotANumber {
        line: usize,
        column: String,
        value: String,
    },
    #[error("line {line}: time {t} goes backwards (previous row had {prev})")]
    TimeGoesBack { line: usize, t: f64, prev: f64 },
    #[error("line {line} is longer than {max} bytes: not a leakwatch series (is the file binary, or missing its line ends?)")]
    LineTooLong { line: usize, max: usize },
    #[error("no data rows after the header")]
    NoRows,
    #[error("reading line {line}: {source}")]
    Io { line: usize, source: std::io::Error },
}

/// Counts the bytes of the current line (newlines inside quotes do not end
/// it) and fails once it passes [`MAX_LINE_BYTES`], before the CSV reader
/// buffers any more of it.
struct LineLimit<R> {
    inner: R,
    in_line: usize,
    quoted: bool,
    tripped: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => {
                    self.in_line = 0;
                    continue;
                }
                _ => {}
            }
            self.in_line += 1;
            if self.in_line > MAX_LINE_BYTES {
                self.tripped.set(true);
                return Err(std::io::Error::other("line too long"));
            }
        }
        Ok(n)
    }
}

/// One row of a series, borrowed from the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub t_s: f64,
    /// One value per [`SeriesReader::resources`]; NaN for an empty cell
    /// (a value that could not be sampled).
    pub values: &'a [f64],
    /// The process identity (instance, start time or pid) when the file has
    /// one and the cell is not empty.
    pub identity: Option<f64>,
}

/// Reads a series row by row (RFC 4180 CSV: quoted fields may hold commas,
/// quotes and line breaks), in memory bounded by [`MAX_LINE_BYTES`] whatever
/// the file's length. The first column is `t_s` (or an unnamed index column,
/// as pandas writes, then `t_s`); unknown columns are ignored.
pub struct SeriesReader<R> {
    csv: csv::Reader<LineLimit<R>>,
    tripped: std::rc::Rc<std::cell::Cell<bool>>,
    record: csv::ByteRecord,
    fields: usize,
    /// Column of `t_s`: 0, or 1 after an unnamed index column (pandas).
    t_col: usize,
    known: Vec<(usize, Resource)>,
    resources: Vec<Resource>,
    identity: Option<(usize, &'static str)>,
    /// The time column's name as written (`t_s`, or an export's).
    t_name: String,
    /// In a monitoring export without our column names: the column read as
    /// memory in bytes, as written in the header.
    value_column: Option<String>,
    values: Vec<f64>,
    prev_t: f64,
    rows: u64,
}

/// Time column names of monitoring exports (Grafana's `Time`, InfluxDB's
/// `_time`, Netdata's `time`, most tools' `timestamp`), compared without
/// case.
const TIME_COLUMNS: [&str; 7] = [
    "t_s",
    "time",
    "timestamp",
    "ts",
    "_time",
    "date",
    "datetime",
];

/// Value column names taken as memory in bytes when a file has none of
/// ours (compared without case, as parts of the name).
const MEMORY_HINTS: [&str; 7] = [
    "mem",
    "rss",
    "bytes",
    "working_set",
    "heap",
    "used",
    "value",
];

impl<R: Read> SeriesReader<R> {
    /// Reads the header row.
    pub fn new(input: R) -> Result<Self, SeriesError> {
        let tripped = std::rc::Rc::new(std::cell::Cell::new(false));
        let limited = LineLimit {
            inner: input,
            in_line: 0,
            quoted: false,
            tripped: tripped.clone(),
        };
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(limited);
        let mut header = csv::ByteRecord::new();
        let mut reader = SeriesReader {
            csv,
            tripped,
            record: csv::ByteRecord::new(),
            fields: 0,
            t_col: 0,
            known: Vec::new(),
            resources: Vec::new(),
            identity: None,
            t_name: String::new(),
            value_column: None,
            values: Vec::new(),
            prev_t: f64::NEG_INFINITY,
            rows: 0,
        };
        loop {
            let more = reader.read(&mut header, 1)?;
            if !more {
                return Err(SeriesError::Empty);
            }
            if !(header.len() == 1 && header[0].is_empty()) {
                break;
            }
        }
        let names: Vec<String> = header
            .iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        let is_time = |n: &str| TIME_COLUMNS.iter().any(|t| n.eq_ignore_ascii_case(t));
        // pandas writes its row index first, in a column with no name.
        let index_first = names.len() > 1
            && matches!(names[0].as_str(), "" | "Unnamed: 0" | "index")
            && is_time(&names[1]);
        reader.t_col = usize::from(index_first);
        match names.get(reader.t_col) {
            Some(n) if is_time(n) => reader.t_name = n.clone(),
            _ => {
                let first = names.first().cloned().unwrap_or_default();
                if names.len() == 1 {
                    for (sep, separator, tr) in [
                        (';', "semicolons", ";"),
                        ('\t', "tabs", "\\t"),
                        ('|', "bars", "|"),
                    ] {
                        if first.contains(sep) {
                            return Err(SeriesError::NotCommaSeparated {
                                found: first,
                                separator,
                                tr,
                            });
                        }
                    }
                }
                return Err(SeriesError::BadHeader { found: first });
            }
        }
        reader.known = names
            .iter()
            .enumerate()
            .skip(reader.t_col + 1)
            .filter_map(|(i, n)| Resource::from_column(n).map(|r| (i, r)))
            .collect();
        if reader.known.is_empty() {
            // A monitoring export (Grafana, InfluxDB, Netdata...): its one
            // memory column, by name, else its only value column.
            let others: Vec<usize> = (reader.t_col + 1..names.len())
                .filter(|&i| !IDENTITY_COLUMNS.contains(&names[i].as_str()))
                .collect();
            let hinted = others.iter().copied().find(|&i| {
                let lower = names[i].to_ascii_lowercase();
                MEMORY_HINTS.iter().any(|h| lower.contains(h))
            });
            let chosen = hinted.or(match others.as_slice() {
                [only] => Some(*only),
                _ => None,
            });
            let Some(i) = chosen else {
                return Err(SeriesError::NoKnownColumns);
            };
            reader.known = vec![(i, Resource::RssBytes)];
            reader.value_column = Some(names[i].clone());
        }
        reader.resources = reader.known.iter().map(|(_, r)| *r).collect();
        reader.identity = IDENTITY_COLUMNS
            .iter()
            .find_map(|id| names.iter().position(|n| n == id).map(|i| (i, *id)));
        reader.fields = names.len();
        reader.values = vec![f64::NAN; reader.known.len()];
        Ok(reader)
    }

    /// Reads the next record into `into`; false at the end of the input.
    fn read(&mut self, into: &mut csv::ByteRecord, line: usize) -> Result<bool, SeriesError> {
        match self.csv.read_byte_record(into) {
            Ok(more) => Ok(more),
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line() as usize).max(line);
                if self.tripped.get() {
                    return Err(SeriesError::LineTooLong {
                        line,
                        max: MAX_LINE_BYTES,
                    });
                }
                Err(match e.into_kind() {
                    csv::ErrorKind::Io(source) => SeriesError::Io { line, source },
                    other => SeriesError::Io {
                        line,
                        source: std::io::Error::other(format!("{other:?}")),
                    },
                })
            }
        }
    }

    /// The resources of the file, in column order ([`Row::values`] follows it).
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// In a monitoring export without leakwatch's column names: the column
    /// read as memory in bytes (reported as `rss_bytes`).
    pub fn value_column(&self) -> Option<&str> {
        self.value_column.as_deref()
    }

    /// The column telling lifetimes apart, if the file has one.
    pub fn identity_column(&self) -> Option<&'static str> {
        self.identity.map(|(_, name)| name)
    }

    /// Data rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The next row, `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, SeriesError> {
        let mut record = std::mem::take(&mut self.record);
        let result = self.next_into(&mut record);
        self.record = record;
        match result? {
            None => Ok(None),
            Some((t_s, identity)) => Ok(Some(Row {
                t_s,
                values: &self.values,
                identity,
            })),
        }
    }

    fn next_into(
        &mut self,
        record: &mut csv::ByteRecord,
    ) -> Result<Option<(f64, Option<f64>)>, SeriesError> {
        loop {
            let line_guess = self.rows as usize + 2;
            if !self.read(record, line_guess)? {
                return Ok(None);
            }
            let line = record.position().map_or(line_guess, |p| p.line() as usize);
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            if record.len() != self.fields {
                return Err(SeriesError::FieldCount {
                    line,
                    expected: self.fields,
                    found: record.len(),
                });
            }
            let t = parse_time(&record[self.t_col], line, &self.t_name)?;
            if t < self.prev_t {
                return Err(SeriesError::TimeGoesBack {
                    line,
                    t,
                    prev: self.prev_t,
                });
            }
            self.prev_t = t;
            let identity = match self.identity {
                Some((i, name)) if !record[i].is_empty() => {
                    Some(parse_number(&record[i], line, name)?)
                }
                _ => None,
            };
            for (slot, (idx, r)) in self.values.iter_mut().zip(&self.known) {
                let cell = &record[*idx];
                *slot = if is_gap(cell) {
                    f64::NAN
                } else {
                    parse_number(cell, line, r.column())?
                };
            }
            self.rows += 1;
            return Ok(Some((t, identity)));
        }
    }
}

/// Reads the whole CSV into memory (see [`SeriesReader`] to stream it).
pub fn parse_csv(input: impl Read) -> Result<Series, SeriesError> {
    let mut reader = SeriesReader::new(input)?;
    let mut series = Series {
        t_s: Vec::new(),
        columns: reader
            .resources()
            .iter()
            .map(|r| (*r, Vec::new()))
            .collect(),
        instance: Vec::new(),
    };
    let with_instance = reader.identity_column().is_some();
    while let Some(row) = reader.next_row()? {
        series.t_s.push(row.t_s);
        if with_instance {
            series.instance.push(row.identity.map_or(0, |i| i as u64));
        }
        for ((_, col), v) in series.columns.iter_mut().zip(row.values) {
            col.push(*v);
        }
    }
    if series.t_s.is_empty() {
        return Err(SeriesError::NoRows);
    }
    Ok(series)
}

/// A time cell in seconds: a number of seconds (leakwatch's own `t_s`, from
/// any origin, or Unix time), of milliseconds, microseconds or nanoseconds
/// since the epoch (told apart by size: seconds since the epoch stay under
/// 10^11 until the year 5138), or a date and time (RFC 3339, or
/// `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC) as monitoring tools export it.
fn parse_time(cell: &[u8], line: usize, column: &str) -> Result<f64, SeriesError> {
    let text = std::str::from_utf8(cell).unwrap_or("");
    if let Ok(v) = text.parse::<f64>() {
        if !v.is_finite() {
            return Err(not_a_number(cell, line, column));
        }
        let scale = match v.abs() {
            a if a >= 1e17 => 1e-9,
            a if a >= 1e14 => 1e-6,
            a if a >= 1e11 => 1e-3,
            _ => 1.0,
        };
        return Ok(v * scale);
    }
    let from_date = chrono::DateTime::parse_from_rfc3339(text)
        .map(|d| d.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y/%m/%d %H:%M:%S%.f"));
    match from_date {
        Ok(d) => {
            let utc = d.and_utc();
            Ok(utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_nanos()) * 1e-9)
        }
        Err(_) => Err(SeriesError::NotATime {
            line,
            column: column.to_string(),
            value: String::from_utf8_lossy(&cell[..cell.len().min(64)]).into_owned(),
        }),
    }
}

fn not_a_number(cell: &[u8], line: usize, column: &str) -> SeriesError {
    SeriesError::NotANumber {
        line,
        column: column.to_string(),
        value: String::from_utf8_lossy(&cell[..cell.len().min(64)]).into_owned(),
    }
}

/// A cell with no measurement: empty, or the marker a monitoring export
/// writes for a gap (Prometheus `NaN`, Grafana and InfluxDB `null`, pandas
/// `None`, `-`, `n/a`, an infinity): a gap in the series, as an empty cell.
fn is_gap(cell: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"nan",
        b"-nan",
        b"null",
        b"none",
        b"-",
        b"n/a",
        b"na",
        b"inf",
        b"+inf",
        b"-inf",
        b"infinity",
        b"+infinity",
        b"-infinity",
        b"undefined",
    ];
    cell.is_empty() || MARKERS.iter().any(|m| cell.eq_ignore_ascii_case(m))
}

fn parse_number(cell: &[u8], line: usize, column: &str) -> Result<f64, SeriesError> {
    match std::str::from_utf8(cell)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(SeriesError::NotANumber {
            line,
            column: column.to_string(),
            value: String::from_utf8_lossy(&cell[..cell.len().min(64)]).into_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_columns_and_ignores_others() {
        let s = parse_csv("t_s,rss_bytes,extra,fds\n0,100,x,3\n1,200,y,4\n".as_bytes()).unwrap();
        assert_eq!(s.t_s, vec![0.0, 1.0]);
        assert_eq!(s.column(Resource::RssBytes).unwrap(), &[100.0, 200.0]);
        assert_eq!(s.column(Resource::Fds).unwrap(), &[3.0, 4.0]);
        assert!(s.column(Resource::Threads).is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_csv("t_s,rss_bytes\n0,1\n1,abc\n".as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 3: column rss_bytes: \"abc\" is not a number"
        );
        let e = parse_csv("t_s,rss_bytes\n0,1,2\n".as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
        let e = parse_csv("when,rss_bytes\n".as_bytes()).unwrap_err();
        assert!(matches!(e, SeriesError::BadHeader { .. }));
        assert!(matches!(
            parse_csv("".as_bytes()).unwrap_err(),
            SeriesError::Empty
        ));
        assert!(matches!(
            parse_csv("t_s,foo,bar\n0,1,2\n".as_bytes()).unwrap_err(),
            SeriesError::NoKnownColumns
        ));
        assert!(matches!(
            parse_csv("t_s,fds\n".as_bytes()).unwrap_err(),
            SeriesError::NoRows
        ));
        let e = parse_csv("t_s,fds\n5,1\n4,1\n".as_bytes()).unwrap_err();
        assert!(matches!(e, SeriesError::TimeGoesBack { line: 3, .. }));
    }

    #[test]
    fn monitoring_exports_are_read_with_their_times_and_value_column() {
        // Grafana: "Time" as a UTC date and time, one series column.
        let g = "\"Time\",\"container_memory_working_set_bytes{pod=\"\"api\"\"}\"\n\
                 2026-11-30 00:00:00,100\n2026-11-30 00:01:00.5,200\n";
        let mut r = SeriesReader::new(g.as_bytes()).unwrap();
        assert_eq!(
            r.value_column(),
            Some("container_memory_working_set_bytes{pod=\"api\"}")
        );
        assert_eq!(r.resources(), [Resource::RssBytes]);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!((row.t_s, row.values[0]), (1_795_996_800.0, 100.0));
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(row.t_s, 1_795_996_860.5);
        // InfluxDB: RFC 3339 with an offset; the memory column by its name
        // among others; milliseconds since the epoch are told by size.
        let s = parse_csv(
            "_time,host,mem_used,cpu\n2026-11-30T01:00:00+01:00,a,5,9\n2026-11-30T00:00:10Z,a,6,9\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(s.t_s, [1_795_996_800.0, 1_795_996_810.0]);
        assert_eq!(s.column(Resource::RssBytes).unwrap(), [5.0, 6.0]);
        let s =
            parse_csv("timestamp,value\n1795996800000,1\n1795996801500,2\n".as_bytes()).unwrap();
        assert_eq!(s.t_s, [1_795_996_800.0, 1_795_996_801.5]);
        // leakwatch's own files are read as before: known columns only.
        let mut r = SeriesReader::new("t_s,rss_bytes,note\n0,1,x\n".as_bytes()).unwrap();
        assert_eq!(r.value_column(), None);
        assert_eq!(r.next_row().unwrap().unwrap().t_s, 0.0);
    }

    #[test]
    fn exports_that_cannot_be_read_say_why() {
        // Two value columns and no memory name: which one is ambiguous.
        assert!(matches!(
            parse_csv("time,cpu,load\n0,1,2\n".as_bytes()),
            Err(SeriesError::NoKnownColumns)
        ));
        let e = parse_csv("Time,Value\n2026-13-40 00:00:00,1\n".as_bytes()).unwrap_err();
        assert!(matches!(e, SeriesError::NotATime { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("RFC 3339"), "{e}");
        assert!(matches!(
            parse_csv("when,rss_bytes\n0,1\n".as_bytes()),
            Err(SeriesError::BadHeader { .. })
        ));
    }

    #[test]
    fn empty_cells_are_gaps() {
        let s = parse_csv("t_s,rss_bytes,pss_bytes\n0,1,\n1,2,5\n".as_bytes()).unwrap();
        assert!(s.column(Resource::PssBytes).unwrap()[0].is_nan());
    }

    #[test]
    fn exporters_gap_markers_are_gaps_and_other_words_are_errors() {
        // Prometheus writes NaN, Grafana and InfluxDB null, pandas None.
        let text = "time,mem\n1,100\n2,NaN\n3,null\n4,None\n5,-\n6,+Inf\n7,n/a\n8,130\n";
        let s = parse_csv(text.as_bytes()).unwrap();
        let v = s.column(Resource::RssBytes).unwrap();
        assert_eq!(v.len(), 8);
        assert_eq!((v[0], v[7]), (100.0, 130.0));
        assert!(v[1..7].iter().all(|x| x.is_nan()), "{v:?}");
        let e = parse_csv("t_s,rss_bytes\n0,lots\n".as_bytes()).unwrap_err();
        assert!(matches!(e, SeriesError::NotANumber { .. }), "{e}");
    }

    #[test]
    fn a_file_separated_by_semicolons_or_tabs_is_named_as_such() {
        for (text, sep) in [
            ("t_s;rss_bytes\n0;1\n", "semicolons"),
            ("t_s\trss_bytes\n0\t1\n", "tabs"),
        ] {
            let e = parse_csv(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(sep) && e.contains("tr '"), "{e}");
        }
    }

    #[test]
    fn quoted_fields_and_pandas_index_columns_are_read() {
        let text = "t_s,rss_bytes,note\r\n0,100,\"a, b\"\r\n1,200,\"say \"\"hi\"\"\nthere\"\r\n";
        let s = parse_csv(text.as_bytes()).unwrap();
        assert_eq!(s.t_s, vec![0.0, 1.0]);
        assert_eq!(s.column(Resource::RssBytes).unwrap(), &[100.0, 200.0]);
        let pandas = ",t_s,rss_bytes\n0,0.0,100\n1,30.0,200\n";
        let s = parse_csv(pandas.as_bytes()).unwrap();
        assert_eq!(s.t_s, vec![0.0, 30.0]);
        let quoted_header = "\"t_s\",\"fds\"\n0,3\n";
        assert_eq!(parse_csv(quoted_header.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn an_endless_line_is_refused_not_buffered() {
        let mut text = b"t_s,rss_bytes\n0,1\n".to_vec();
        text.extend(std::iter::repeat_n(b'7', 10 * MAX_LINE_BYTES));
        let e = parse_csv(text.as_slice()).unwrap_err();
        assert!(matches!(e, SeriesError::LineTooLong { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("longer than 65536 bytes"), "{e}");
        // The same inside an unterminated quote.
        let mut text = b"t_s,rss_bytes\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'\n', 2 * MAX_LINE_BYTES));
        assert!(matches!(
            parse_csv(text.as_slice()).unwrap_err(),
            SeriesError::LineTooLong { .. }
        ));
    }

    #[test]
    fn identity_columns_mark_lifetimes() {
        let text = "t_s,rss_bytes,pid,start_time_s\n0,1,10,1700000000\n1,2,11,1700000001\n2,3,,\n";
        let mut r = SeriesReader::new(text.as_bytes()).unwrap();
        assert_eq!(r.identity_column(), Some("start_time_s"));
        assert_eq!(
            r.next_row().unwrap().unwrap().identity,
            Some(1_700_000_000.0)
        );
        assert_eq!(
            r.next_row().unwrap().unwrap().identity,
            Some(1_700_000_001.0)
        );
        assert_eq!(r.next_row().unwrap().unwrap().identity, None);
        assert!(r.next_row().unwrap().is_none());
        assert_eq!(r.rows(), 3);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
            let _ = parse_csv(s.as_bytes());
        }
        #[test]
        fn never_panics_on_csv_like_text(rows in proptest::collection::vec("[0-9a-z.,-]{0,30}", 0..20)) {
            let text = format!("t_s,rss_bytes,fds\n{}", rows.join("\n"));
            let _ = parse_csv(text.as_bytes());
        }
    }
}
