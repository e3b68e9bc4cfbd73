//! Golden report: `leakwatch diff` text output on three small synthetic
//! snapshots whose content is fixed (unlike real Node snapshots), so the
//! whole report format is pinned. Regenerate with UPDATE_GOLDEN=1.

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;

/// A heap with `global.requests = new Map()` holding `live` Request objects
/// (ids stable across snapshots, each with a 600-byte body string), plus
/// `temp` short-lived Temp objects under `global.pending`.
/// `interned` strings hang off the engine's "(Internalized strings)" root.
fn snapshot(
    live: std::ops::Range<u32>,
    temp: std::ops::Range<u32>,
    interned: std::ops::Range<u32>,
) -> String {
    const STRINGS: [&str; 12] = [
        "",
        "global",
        "requests",
        "Map",
        "table",
        "Request",
        "body",
        "xxxx",
        "Temp",
        "pending",
        "Array",
        "(Internalized strings)",
    ];
    let s = |name: &str| STRINGS.iter().position(|x| *x == name).unwrap();
    const PROPERTY: usize = 0;
    const ELEMENT: usize = 1;
    const INTERNAL: usize = 2;
    let first_obj = 6;
    let first_temp = first_obj + 2 * live.len();
    let first_interned = first_temp + temp.len();
    // (type, name, id, self_size, edges as (type, name_or_index, to_node_index)).
    // Types: 0 synthetic, 1 object, 2 array, 3 string.
    type Node = (usize, usize, usize, usize, Vec<(usize, usize, usize)>);
    let mut nodes: Vec<Node> = vec![
        (0, s(""), 1, 0, vec![(ELEMENT, 1, 1), (ELEMENT, 2, 5)]),
        (
            1,
            s("global"),
            3,
            100,
            vec![(PROPERTY, s("requests"), 2), (PROPERTY, s("pending"), 4)],
        ),
        (1, s("Map"), 5, 40, vec![(INTERNAL, s("table"), 3)]),
        (
            2,
            s(""),
            7,
            16 + 8 * live.len(),
            (0..live.len())
                .map(|k| (ELEMENT, k, first_obj + 2 * k))
                .collect(),
        ),
        (
            1,
            s("Array"),
            9,
            32,
            (0..temp.len())
                .map(|k| (ELEMENT, k, first_temp + k))
                .collect(),
        ),
        (
            0,
            s("(Internalized strings)"),
            11,
            0,
            (0..interned.len())
                .map(|k| (ELEMENT, k, first_interned + k))
                .collect(),
        ),
    ];
    // V8 numbers objects in allocation order: Requests 0..1100 and Temps
    // 0..300 come before TARGET, the rest after.
    let request_id = |i: usize| if i < 1100 { 1001 + 4 * i } else { 7001 + 4 * i };
    let temp_id = |j: usize| if j < 300 { 5401 + 2 * j } else { 20001 + 2 * j };
    for (k, i) in live.enumerate() {
        let i = i as usize;
        nodes.push((
            1,
            s("Request"),
            request_id(i),
            48,
            vec![(PROPERTY, s("body"), first_obj + 2 * k + 1)],
        ));
        nodes.push((3, s("xxxx"), request_id(i) + 2, 600, vec![]));
    }
    for i in temp {
        nodes.push((1, s("Temp"), temp_id(i as usize), 500, vec![]));
    }
    for i in interned {
        nodes.push((3, s("xxxx"), 6001 + 2 * i as usize, 200, vec![]));
    }
    let mut out = String::from(
        r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["synthetic","object","array","string"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["property","element","internal"],"string_or_number","node"]}},"nodes":["#,
    );
    let n: Vec<String> = nodes
        .iter()
        .map(|(t, name, id, size, e)| format!("{t},{name},{id},{size},{}", e.len()))
        .collect();
    out += &n.join(",");
    out += r#"],"edges":["#;
    let e: Vec<String> = nodes
        .iter()
        .flat_map(|n| n.4.iter())
        .map(|(t, name, to)| format!("{t},{name},{}", to * 5))
        .collect();
    out += &e.join(",");
    out += r#"],"strings":["#;
    let q: Vec<String> = STRINGS.iter().map(|x| format!("\"{x}\"")).collect();
    out += &q.join(",");
    out += "]}";
    out
}

#[test]
fn report_matches_golden_file() {
    let dir = tempfile::tempdir().unwrap();
    // Taken a minute apart (the file times are the snapshot times).
    let t0 = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (i, (name, json)) in [
        ("base", snapshot(0..100, 0..0, 0..0)),
        ("target", snapshot(0..1100, 0..300, 0..2000)),
        ("final", snapshot(0..2100, 300..310, 0..2000)),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.path().join(format!("{name}.heapsnapshot"));
        std::fs::write(&path, json).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(t0 + std::time::Duration::from_secs(60 * i as u64))
            .unwrap();
    }
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "diff",
            "base.heapsnapshot",
            "target.heapsnapshot",
            "final.heapsnapshot",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = String::from_utf8(out.stdout).unwrap();
    let _ = writeln!(text);
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/heap/golden_synthetic.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(text, want);
    // On request the verdict headline is coloured; the words are the same.
    let coloured = Command::cargo_bin("leakwatch")
        .unwrap()
        .current_dir(dir.path())
        .args(["--color", "always", "diff"])
        .args([
            "base.heapsnapshot",
            "target.heapsnapshot",
            "final.heapsnapshot",
        ])
        .output()
        .unwrap();
    let coloured = String::from_utf8(coloured.stdout).unwrap();
    assert!(coloured.contains("\x1b["), "{coloured}");
    let plain: String = {
        let mut out = String::new();
        let mut in_escape = false;
        for c in coloured.chars() {
            match (in_escape, c) {
                (_, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    };
    assert_eq!(plain + "\n", want);
    // What the golden file must say, independently of its exact layout.
    assert!(
        text.contains("(global) → requests (Map) → table → [] → 1,000 × Request  +632.8 KiB"),
        "{text}"
    );
    assert!(!text.contains("Temp ("), "{text}");
    // 2,000 new strings under the engine's string table are not a leak cluster.
    assert!(!text.contains("Internalized"), "{text}");
    assert!(text.contains("(1 smaller clusters not shown"), "{text}");
    // The class trends: Request rises by 1000 a snapshot, steadily (a leak);
    // strings rise too but slow down (3000 then 1000: growing); Temp spikes
    // and falls back (stable).
    let line = |class: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(class))
            .unwrap_or_else(|| panic!("no {class} line in {text}"))
            .to_string()
    };
    assert!(line("Request").ends_with("leak +1000/snapshot"), "{text}");
    assert!(
        line("(string)").ends_with("growing +2000/snapshot"),
        "{text}"
    );
    assert!(line("Temp").contains("stable"), "{text}");

    // The JSON report carries the same judgement, with the rate from the file times.
    let out = Command::cargo_bin("leakwatch")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "diff",
            "--json",
            "base.heapsnapshot",
            "target.heapsnapshot",
            "final.heapsnapshot",
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let classes = json["report"]["classes"].as_array().unwrap();
    let request = classes.iter().find(|c| c["class"] == "Request").unwrap();
    assert_eq!(request["trend"]["state"], "leak", "{request:#}");
    assert_eq!(request["trend"]["count_per_snapshot"], 1000.0);
    let per_hour = request["trend"]["count_per_hour"].as_f64().unwrap();
    assert!((per_hour - 60_000.0).abs() < 1.0, "{request:#}");
    assert_eq!(json["version"], 1, "{json:#}");

    // `--top 0` lists nothing but the verdict stands: the exit code says
    // what was found, not what was printed.
    for args in [vec!["--top", "0"], vec!["--top", "0", "--json"]] {
        let out = Command::cargo_bin("leakwatch")
            .unwrap()
            .current_dir(dir.path())
            .arg("diff")
            .args(&args)
            .args([
                "base.heapsnapshot",
                "target.heapsnapshot",
                "final.heapsnapshot",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        if args.len() == 2 {
            assert!(
                text.contains("1 leak clusters found (none listed"),
                "{text}"
            );
        } else {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["report"]["clusters_found"], 1, "{json:#}");
        }
    }
}
