//! `run --junit`: the soak's verdict as a JUnit XML report that CI servers
//! read (Jenkins, GitLab, GitHub actions), written with quick-junit.
//!
//! One test case per resource: failed when it leaks, skipped when the run was
//! too short to judge it, passed otherwise. The resources are judged over the
//! same soak, so each case carries an equal share of its wall time: tools
//! that merge reports add the cases' times up, and the sum is the soak's.
//!
//! quick-junit writes a `disabled` attribute on `<testsuite>` that Jenkins'
//! schema does not have, and no `skipped` count, which it does; a quick-xml
//! pass over its output fixes both.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use leakwatch_core::{LeakState, Report, Verdict};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

/// The report's XML.
pub fn render(
    command: &str,
    report: &Report,
    elapsed_s: f64,
    load_error: Option<&str>,
) -> anyhow::Result<String> {
    let share = if report.resources.is_empty() {
        0.0
    } else {
        elapsed_s.max(0.0) / report.resources.len() as f64
    };
    let mut suite = TestSuite::new(format!("leakwatch soak: {command}"));
    suite.set_time(Duration::from_secs_f64(elapsed_s.max(0.0)));
    for r in &report.resources {
        let a = &r.assessment;
        let status = if r.verdict == Verdict::Leak {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("leak")
                .set_message(format!(
                    "{} leaks: {}",
                    r.resource,
                    r.resource.show_rate(a.rate_per_hour)
                ))
                .set_description(a.evidence.reason.as_str());
            s
        } else if r.state == LeakState::Collecting {
            let mut s = TestCaseStatus::skipped();
            s.set_type("not_judged").set_message(format!(
                "not enough data to judge {} (a leak needs at least a minute of samples): {}",
                r.resource, a.evidence.reason
            ));
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(format!("{} does not leak", r.resource), status);
        case.set_classname("leakwatch.soak")
            .set_time(Duration::from_secs_f64(share))
            .set_system_out(format!(
                "state {} now {} rate {}",
                r.state,
                r.resource.show(a.current),
                r.resource.show_rate(a.rate_per_hour)
            ));
        suite.add_test_case(case);
    }
    if let Some(why) = load_error {
        // The soak ran without its load: an error of the gate itself, so a
        // CI reading only the XML does not see a pass either.
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
        s.set_type("load_failed").set_message(why.to_string());
        let mut case = TestCase::new("the load command runs to the end", s);
        case.set_classname("leakwatch.soak");
        suite.add_test_case(case);
    }
    let mut junit = quick_junit::Report::new("leakwatch");
    junit.set_time(Duration::from_secs_f64(elapsed_s.max(0.0)));
    junit.add_test_suite(suite);
    let xml = junit
        .to_string()
        .context("cannot serialise the JUnit report")?;
    jenkins_dialect(&xml)
}

/// Drops `disabled` from `<testsuite>` and adds its `skipped` count.
fn jenkins_dialect(xml: &str) -> anyhow::Result<String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::new());
    let mut skipped_per_suite = count_skipped(xml)?.into_iter();
    loop {
        match reader.read_event().context("re-reading the JUnit report")? {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"testsuite" => {
                let mut tag = BytesStart::new("testsuite");
                for attr in e.attributes() {
                    let attr = attr.context("re-reading the JUnit report")?;
                    if attr.key.as_ref() != b"disabled" {
                        tag.push_attribute(attr);
                    }
                }
                let skipped = skipped_per_suite.next().unwrap_or(0);
                tag.push_attribute(("skipped", skipped.to_string().as_str()));
                writer.write_event(Event::Start(tag))?;
            }
            e => writer.write_event(e)?,
        }
    }
    let mut out = String::from_utf8(writer.into_inner()).context("JUnit report")?;
    out.push('\n');
    Ok(out)
}

/// The number of `<skipped>` cases in each `<testsuite>`, in order.
fn count_skipped(xml: &str) -> anyhow::Result<Vec<usize>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = Vec::new();
    loop {
        match reader.read_event().context("re-reading the JUnit report")? {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"testsuite" => counts.push(0),
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"skipped" => {
                if let Some(c) = counts.last_mut() {
                    *c += 1;
                }
            }
            _ => {}
        }
    }
    Ok(counts)
}

/// The JUnit file, checked and opened before the soak starts so that a bad
/// path fails at once rather than after the whole soak (the report is
/// written into a temporary file beside it and renamed into place).
pub struct JunitOut {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl JunitOut {
    pub fn prepare(path: &Path) -> anyhow::Result<JunitOut> {
        leakwatch_files::check_output_path(path).map_err(|e| anyhow::anyhow!("--junit {e}"))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".leakwatch-junit-")
            .tempfile_in(dir)
            .with_context(|| {
                format!(
                    "--junit {}: cannot write in {} (does the directory exist and is it writable?)",
                    path.display(),
                    dir.display()
                )
            })?;
        Ok(JunitOut {
            path: path.to_path_buf(),
            tmp,
        })
    }

    pub fn write(mut self, xml: &str) -> anyhow::Result<()> {
        self.tmp
            .write_all(xml.as_bytes())
            .and_then(|()| self.tmp.as_file().sync_all())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        // A JUnit report is meant to be read: the usual 0644, not the
        // temporary file's 0600.
        use std::os::unix::fs::PermissionsExt as _;
        let _ = self
            .tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
        self.tmp
            .persist(&self.path)
            .map(|_| ())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::{DetectorConfig, Resource, ResourceSet};

    fn report(leak: bool, seconds: f64) -> Report {
        let cfg = DetectorConfig::for_interval(1.0);
        let mut set = ResourceSet::new(&[Resource::RssBytes, Resource::Fds], &cfg);
        let mut t = 0.0;
        while t < seconds {
            let rss = if leak { 1e8 + t * 1e6 } else { 1e8 };
            set.push(Resource::RssBytes, t, rss);
            set.push(Resource::Fds, t, 10.0);
            t += 1.0;
        }
        set.report()
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        let xml = render(
            "prog \u{1b}[31mred\u{1}\u{7}",
            &report(false, 120.0),
            120.0,
            None,
        )
        .unwrap();
        assert!(
            !xml.chars().any(|c| c.is_control() && !"\n\t\r".contains(c)),
            "{xml:?}"
        );
        assert!(xml.contains("prog red"), "{xml}");
    }

    #[test]
    fn suites_carry_errors_and_skipped_but_not_disabled() {
        let xml = render("prog", &report(false, 5.0), 5.0, None).unwrap();
        assert!(xml.contains("errors=\"0\""), "{xml}");
        assert!(!xml.contains("disabled="), "{xml}");
        assert!(xml.contains("skipped=\"2\""), "{xml}");
        assert_eq!(xml.matches("<skipped").count(), 2, "{xml}");
    }

    #[test]
    fn case_times_add_up_to_the_soak() {
        let xml = render("prog", &report(true, 600.0), 600.0, None).unwrap();
        assert_eq!(xml.matches("time=\"300.000\"").count(), 2, "{xml}");
        assert!(xml.contains("<failure"), "{xml}");
    }

    #[test]
    fn a_missing_directory_fails_before_the_soak() {
        let e = JunitOut::prepare(Path::new("/nonexistent-dir-for-leakwatch/x.xml"))
            .err()
            .expect("refused");
        assert!(
            format!("{e:#}")
                .contains("the directory /nonexistent-dir-for-leakwatch does not exist"),
            "{e:#}"
        );
    }
}
