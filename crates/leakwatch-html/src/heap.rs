//! The page of `diff`: the leak clusters with their retainer paths from a
//! GC root, the objects they keep, the class table, and turnover (objects
//! that replaced others, not a leak) listed apart. V8 heap snapshots and
//! Java heap dumps (HPROF).

use leakwatch_core::format;
use leakwatch_heap::diff::{ClassDelta, DiffReport, LeakCluster, PathStep};
use leakwatch_heap::jvm::{JvmCluster, JvmDiffReport};
use maud::{html, Markup};

use crate::page::{self, Tone};

const NAMES: [&str; 3] = ["BASE", "TARGET", "FINAL"];

fn signed_bytes(v: i64) -> String {
    if v < 0 {
        format!("-{}", format::bytes(-v as f64))
    } else {
        format!("+{}", format::bytes(v as f64))
    }
}

fn arrows(v: &[u64]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(" → ")
}

fn files_facts(files: &[&str], sizes: &[String]) -> Markup {
    html! {
        table {
            thead { tr { th { "" } th { "file" } th { "contents" } } }
            tbody {
                @for (i, f) in files.iter().enumerate() {
                    tr {
                        td { (NAMES.get(i).copied().unwrap_or("")) }
                        td.mono { (f) }
                        td { (sizes.get(i).cloned().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

fn v8_step(s: &PathStep) -> Markup {
    html! {
        @if !s.cycle.is_empty() {
            span.step {
                "( "
                @for (i, c) in s.cycle.iter().enumerate() {
                    @if i > 0 { span.arrow { "→" } }
                    (v8_step(c))
                }
                " )×" (s.repeat)
            }
        } @else {
            span.step {
                span.edge { (s.edge) }
                " " span.muted { (s.class) }
                @if s.repeat > 1 { " ×" (s.repeat) }
            }
        }
    }
}

fn v8_path(c: &LeakCluster) -> Markup {
    html! {
        div.path {
            span.root { (c.root) }
            @for s in &c.path { span.arrow { "→" } (v8_step(s)) }
        }
    }
}

fn v8_cluster(i: usize, c: &LeakCluster) -> Markup {
    html! {
        section.card {
            div.head {
                h3 { "#" (i + 1) " " span.mono { (c.class) } }
                span.state.(c.class_state.as_str()) { (c.class_state.as_str()) }
                span { "+" (format::bytes(c.new_bytes as f64)) " new" }
                span.muted { (c.new_objects) " new objects, retained " (format::bytes(c.retained_bytes as f64)) }
            }
            (v8_path(c))
            p.note {
                (c.class) " count " (arrows(&c.class_counts))
                @if let Some(why) = &c.judged_by { "; judged by " (why) }
                @if !c.sample_ids.is_empty() {
                    "; e.g. "
                    @for id in &c.sample_ids { code { "@" (id) } " " }
                    "(look them up in DevTools' Memory tab)"
                }
            }
            @if !c.classes.is_empty() {
                table {
                    thead { tr { th { "keeps alive (new objects, by class)" } th.num { "count" } th.num { "self size" } } }
                    tbody {
                        @for k in c.classes.iter().take(8) {
                            tr { td.mono { (k.class) } td.num { (k.count) } td.num { (format::bytes(k.self_size as f64)) } }
                        }
                    }
                }
            }
        }
    }
}

fn class_table(classes: &[ClassDelta], files: usize, new_header: &str) -> Markup {
    let header = NAMES[..files.min(3)].join(" → ");
    html! {
        table {
            thead {
                tr {
                    th { "class" }
                    th.num { "count (" (header) ")" }
                    th.num { "Δcount" }
                    th.num { "Δsize" }
                    th.num { (new_header) }
                    @if files > 2 { th { "trend (count)" } }
                }
            }
            tbody {
                @for c in classes {
                    tr.grow[c.growing] {
                        td.mono { (c.class) }
                        td.num { (arrows(&c.counts)) }
                        td.num { (format!("{:+}", c.delta_count)) }
                        td.num { (signed_bytes(c.delta_size)) }
                        td.num { (c.new_count) }
                        @if files > 2 {
                            td { span.state.(c.trend.state.as_str()) { (c.trend.state.as_str()) } " " (format!("{:+.0}/snapshot", c.trend.count_per_snapshot)) }
                        }
                    }
                }
            }
        }
    }
}

/// The page of a V8 heap snapshot diff; `files` are BASE, TARGET (, FINAL).
pub fn v8_diff_page(r: &DiffReport, files: &[&str]) -> String {
    let leak = r.leak_found();
    let why = if leak {
        match r.clusters.first() {
            Some(c) => format!(
                "{} leak cluster{} found; the largest keeps +{} of {} alive through {}",
                r.clusters_found,
                if r.clusters_found == 1 { "" } else { "s" },
                format::bytes(c.new_bytes as f64),
                c.class,
                c.display
            ),
            None => format!("{} leak clusters found", r.clusters_found),
        }
    } else {
        format!(
            "no leak cluster above the noise threshold ({} smaller clusters ignored)",
            r.clusters_below_threshold
        )
    };
    let sizes: Vec<String> = r
        .snapshots
        .iter()
        .map(|s| {
            format!(
                "{} nodes, {} heap",
                s.nodes,
                format::bytes(s.self_size as f64)
            )
        })
        .collect();
    let what = if files.len() == 3 {
        "allocated after BASE, still alive at TARGET and FINAL"
    } else {
        "allocated after BASE, alive at TARGET"
    };
    let body = html! {
        (page::verdict(if leak { Tone::Leak } else { Tone::Ok }, if leak { "LEAK" } else { "no leak" }, &why,
            &[format!("method: {}; objects matched by V8 node id, checked to come from one process", r.method)]))
        (files_facts(files, &sizes))
        h2 { "Leak clusters: retainer paths from a GC root" }
        p.note { "Objects " (what) ", grouped by their shortest retainer path, biggest first." }
        @if r.clusters.is_empty() {
            p.note { "None." }
        }
        @for (i, c) in r.clusters.iter().enumerate() { (v8_cluster(i, c)) }
        @if r.clusters_below_threshold > 0 {
            p.note { (r.clusters_below_threshold) " smaller clusters not shown (see --min-bytes, --top)." }
        }
        @if !r.turnover.is_empty() {
            h2 { "Turnover: replaced, not growing" }
            p.note { "New since BASE and still alive, but their class count holds steady: a bounded cache or a map that turns over, not a leak." }
            table {
                thead { tr { th { "retainer path" } th { "class" } th.num { "count" } th { "judged" } } }
                tbody {
                    @for c in &r.turnover {
                        tr {
                            td { (v8_path(c)) }
                            td.mono { (c.class) }
                            td.num { (arrows(&c.class_counts)) }
                            td { @if let Some(why) = &c.judged_by { (why) } @else { (c.class_state.as_str()) } }
                        }
                    }
                }
            }
        }
        h2 { "Classes by self-size growth" }
        (class_table(&r.classes, files.len(), "new"))
    };
    page::document("diff", &files.join("  "), body)
}

fn jvm_path(c: &JvmCluster) -> Markup {
    html! {
        div.path {
            span.root { (c.root) }
            @for s in &c.path {
                span.arrow { "→" }
                span.step { span.muted { (s.holder) } "." span.edge { (s.field) } " " span.muted { (s.class) } }
            }
        }
    }
}

/// The page of a Java heap dump diff; `files` are BASE, TARGET (, FINAL).
pub fn hprof_diff_page(r: &JvmDiffReport, files: &[&str]) -> String {
    let leak = r.leak_found();
    let why = if leak {
        match r.clusters.first() {
            Some(c) => format!(
                "{} growing object group{}; the largest: {} ({})",
                r.clusters_found,
                if r.clusters_found == 1 { "" } else { "s" },
                c.display,
                signed_bytes(c.delta_bytes)
            ),
            None => format!("{} growing object groups", r.clusters_found),
        }
    } else {
        format!(
            "no object group grows on its retainer path ({} smaller growing groups ignored)",
            r.clusters_below_threshold
        )
    };
    let sizes: Vec<String> = r
        .dumps
        .iter()
        .map(|s| {
            format!(
                "{} objects, {}{}",
                s.objects,
                format::bytes(s.bytes as f64),
                if s.unreachable > 0 {
                    format!(" ({} unreachable)", s.unreachable)
                } else {
                    String::new()
                }
            )
        })
        .collect();
    let body = html! {
        (page::verdict(if leak { Tone::Leak } else { Tone::Ok }, if leak { "LEAK" } else { "no leak" }, &why,
            &[format!("method: {}; objects matched by retainer path, not by address", r.method)]))
        (files_facts(files, &sizes))
        @for n in &r.notes { p.note { "note: " (n) } }
        h2 { "Growing object groups: retainer paths from a GC root" }
        @if r.clusters.is_empty() { p.note { "None." } }
        @for (i, c) in r.clusters.iter().enumerate() {
            section.card {
                div.head {
                    h3 { "#" (i + 1) " " span.mono { (c.class) } }
                    span.state.(c.trend.state.as_str()) { (c.trend.state.as_str()) }
                    span { (signed_bytes(c.delta_bytes)) }
                    span.muted { "count " (arrows(&c.counts)) }
                }
                (jvm_path(c))
                @if !c.keeps.is_empty() {
                    table {
                        thead { tr { th { "keeps (last dump, by class)" } th.num { "count" } th.num { "self size" } } }
                        tbody {
                            @for k in c.keeps.iter().take(8) {
                                tr { td.mono { (k.class) } td.num { (k.count) } td.num { (format::bytes(k.self_size as f64)) } }
                            }
                        }
                    }
                }
            }
        }
        @if r.clusters_below_threshold > 0 {
            p.note { (r.clusters_below_threshold) " smaller growing groups not shown (see --min-bytes, --top)." }
        }
        h2 { "Classes by self-size growth" }
        (class_table(&r.classes, files.len(), "new (est.)"))
    };
    page::document("diff", &files.join("  "), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch_core::few::ClassTrend;
    use leakwatch_core::LeakState;
    use leakwatch_heap::diff::{ClassCount, SnapshotStats};

    fn trend(state: LeakState) -> ClassTrend {
        ClassTrend {
            state,
            count_per_snapshot: 1000.0,
            bytes_per_snapshot: 64000.0,
            count_per_hour: None,
            kendall_tau: 1.0,
        }
    }

    fn cluster(class: &str, edge: &str) -> LeakCluster {
        LeakCluster {
            root: "(Global handles)".into(),
            path: vec![
                PathStep {
                    edge: edge.into(),
                    class: "Map".into(),
                    repeat: 1,
                    cycle: vec![],
                },
                PathStep {
                    edge: "next".into(),
                    class: "Node".into(),
                    repeat: 3,
                    cycle: vec![
                        PathStep {
                            edge: "next".into(),
                            class: "Node".into(),
                            repeat: 1,
                            cycle: vec![],
                        },
                        PathStep {
                            edge: "value".into(),
                            class: class.into(),
                            repeat: 1,
                            cycle: vec![],
                        },
                    ],
                },
            ],
            class: class.into(),
            count: 1,
            new_objects: 3000,
            new_bytes: 3 << 20,
            retained_bytes: 4 << 20,
            classes: vec![ClassCount {
                class: class.into(),
                count: 3000,
                self_size: 3 << 20,
            }],
            sample_ids: vec![12345, 12347],
            display: format!("(Global handles) → {edge} (Map)"),
            class_counts: vec![1000, 2000, 3000],
            class_state: LeakState::Leak,
            judged_by: None,
        }
    }

    #[test]
    fn v8_page_has_paths_class_table_and_turnover_apart() {
        let r = DiffReport {
            method: "baseline/target/final",
            snapshots: vec![
                SnapshotStats {
                    nodes: 10,
                    self_size: 100,
                };
                3
            ],
            clusters: vec![cluster("<img src=x onerror=alert(1)>", "cache")],
            clusters_found: 1,
            clusters_below_threshold: 2,
            turnover: vec![cluster("Session", "sessions")],
            classes: vec![ClassDelta {
                class: "Leaky</td><script>".into(),
                counts: vec![1000, 2000, 3000],
                sizes: vec![1, 2, 3],
                delta_count: 2000,
                delta_size: 2 << 20,
                new_count: 2000,
                new_size: 2 << 20,
                growing: true,
                trend: trend(LeakState::Leak),
            }],
        };
        let html = v8_diff_page(
            &r,
            &["a.heapsnapshot", "b.heapsnapshot", "c<x>.heapsnapshot"],
        );
        assert!(html.contains(">LEAK<"));
        assert!(html.contains("Leak clusters: retainer paths from a GC root"));
        assert!(html.contains("<span class=\"root\">(Global handles)</span>"));
        assert!(html.contains("<span class=\"edge\">cache</span>"));
        assert!(html.contains(" )×3"));
        assert!(html.contains("Turnover: replaced, not growing"));
        assert!(html.contains("1000 → 2000 → 3000"));
        assert!(html.contains("BASE → TARGET → FINAL"));
        assert!(html.contains("2.0 MiB"));
        assert!(
            !html.contains("<img") && !html.contains("</td><script>") && !html.contains("c<x>")
        );
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        crate::tests::assert_offline(&html);
        // Turnover comes after the leak clusters, in its own section.
        assert!(html.find("Turnover").unwrap() > html.find("#1").unwrap());
    }
}
