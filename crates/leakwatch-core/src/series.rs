//! Recorded series: the CSV that `run --out` and `watch --out` write and
//! `analyze` reads. Parsing takes text already read by the caller.

use std::io::BufRead;

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

/// A recorded series: sample times and one column per known resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub t_s: Vec<f64>,
    pub columns: Vec<(Resource, Vec<f64>)>,
    /// Instance number per row when the file has an `instance` column
    /// (written by `watch --name`): a change marks a restart. Empty otherwise.
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

/// Why a series could not be read. Lines are numbered from 1 (the header).
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("the file is empty: expected a header row starting with t_s")]
    Empty,
    #[error("line 1: the first column must be t_s (seconds), found {found:?}")]
    BadHeader { found: String },
    #[error("line 1: no known resource column; expected any of rss_bytes, pss_bytes, anon_bytes, swap_bytes, threads, fds, cgroup_bytes")]
    NoKnownColumns,
    #[error("line {line}: expected {expected} fields like the header, found {found}")]
    FieldCount {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: column {column}: {value:?} is not a number")]
    NotANumber {
        line: usize,
        column: String,
        value: String,
    },
    #[error("line {line}: time {t} goes backwards (previous row had {prev})")]
    TimeGoesBack { line: usize, t: f64, prev: f64 },
    #[error("no data rows after the header")]
    NoRows,
    #[error("reading line {line}: {source}")]
    Io { line: usize, source: std::io::Error },
}

/// Reads the CSV from `input`. Unknown columns are ignored; an empty cell
/// (a value that could not be sampled) is skipped for that column.
pub fn parse_csv(input: impl BufRead) -> Result<Series, SeriesError> {
    let mut lines = input.lines().enumerate();
    let header = loop {
        match lines.next() {
            None => return Err(SeriesError::Empty),
            Some((i, l)) => {
                let l = l.map_err(|source| SeriesError::Io {
                    line: i + 1,
                    source,
                })?;
                if !l.trim().is_empty() {
                    break l;
                }
            }
        }
    };
    let names: Vec<&str> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(str::trim)
        .collect();
    if names.first().copied() != Some("t_s") {
        return Err(SeriesError::BadHeader {
            found: names.first().unwrap_or(&"").to_string(),
        });
    }
    let known: Vec<(usize, Resource)> = names
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, n)| Resource::from_column(n).map(|r| (i, r)))
        .collect();
    if known.is_empty() {
        return Err(SeriesError::NoKnownColumns);
    }
    let instance_col = names.iter().position(|n| *n == "instance");
    let mut series = Series {
        t_s: Vec::new(),
        columns: known.iter().map(|(_, r)| (*r, Vec::new())).collect(),
        instance: Vec::new(),
    };
    let mut prev_t = f64::NEG_INFINITY;
    for (i, line) in lines {
        let lineno = i + 1;
        let line = line.map_err(|source| SeriesError::Io {
            line: lineno,
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(SeriesError::FieldCount {
                line: lineno,
                expected: names.len(),
                found: fields.len(),
            });
        }
        let t = parse_number(fields[0], lineno, "t_s")?;
        if t < prev_t {
            return Err(SeriesError::TimeGoesBack {
                line: lineno,
                t,
                prev: prev_t,
            });
        }
        prev_t = t;
        series.t_s.push(t);
        if let Some(i) = instance_col {
            let n = parse_number(fields[i], lineno, "instance")?;
            series.instance.push(n as u64);
        }
        for (col, (idx, r)) in known.iter().enumerate() {
            let cell = fields[*idx];
            let v = if cell.is_empty() {
                f64::NAN
            } else {
                parse_number(cell, lineno, r.column())?
            };
            series.columns[col].1.push(v);
        }
    }
    if series.t_s.is_empty() {
        return Err(SeriesError::NoRows);
    }
    Ok(series)
}

fn parse_number(cell: &str, line: usize, column: &str) -> Result<f64, SeriesError> {
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(SeriesError::NotANumber {
            line,
            column: column.to_string(),
            value: cell.to_string(),
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
        let e = parse_csv("time,rss_bytes\n".as_bytes()).unwrap_err();
        assert!(matches!(e, SeriesError::BadHeader { .. }));
        assert!(matches!(
            parse_csv("".as_bytes()).unwrap_err(),
            SeriesError::Empty
        ));
        assert!(matches!(
            parse_csv("t_s,foo\n0,1\n".as_bytes()).unwrap_err(),
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
    fn empty_cells_are_gaps() {
        let s = parse_csv("t_s,rss_bytes,pss_bytes\n0,1,\n1,2,5\n".as_bytes()).unwrap();
        assert!(s.column(Resource::PssBytes).unwrap()[0].is_nan());
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
