//! Property tests: the snapshot and pprof readers never panic, and a
//! truncated snapshot is always reported as an error with an offset.

use leakwatch_heap::diff::{analyze, DiffOptions, SnapshotSummary};
use leakwatch_heap::pprof::decode;
use leakwatch_heap::{HeapError, HeapSnapshot, Keep};
use proptest::prelude::*;

const VALID: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]},"node_count":4,"edge_count":4},
"nodes":[9,0,1,0,2,0,0
,3,1,3,40,2,0,0
,3,2,5,16,0,0,0
,2,3,7,24,0,0,0],
"edges":[5,4,7,2,5,14
,2,6,14,6,0,21],
"trace_function_infos":[],"trace_tree":[],"samples":[],"locations":[],
"strings":["","Map","Object","x\"y\u00e9","table","global","requests"]}"#;

fn check(mut snap: HeapSnapshot) {
    let s = SnapshotSummary::of(&snap);
    let empty = SnapshotSummary::of(&HeapSnapshot::default());
    let _ = analyze(&mut [empty], &mut snap, &s, &DiffOptions::default());
}

#[test]
fn valid_fixture_parses() {
    let s = HeapSnapshot::from_bytes(VALID.as_bytes(), Keep::Everything).unwrap();
    assert_eq!(s.node_count(), 4);
    assert_eq!(s.name(3), "x\"yé");
    assert_eq!(s.edge_label(1), "global");
    assert_eq!(s.edge_label(2), "requests");
    check(s);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn truncated_snapshots_are_errors(cut in 0usize..VALID.len()) {
        let r = HeapSnapshot::from_bytes(&VALID.as_bytes()[..cut], Keep::Everything);
        match r {
            Err(HeapError::Truncated { offset, .. }) => prop_assert!(offset as usize <= cut),
            Err(HeapError::NotSnapshot(_)) => prop_assert!(cut < 2),
            Err(e) => prop_assert!(false, "cut {}: unexpected {}", cut, e),
            Ok(_) => prop_assert!(false, "cut {} parsed", cut),
        }
    }

    #[test]
    fn mutated_snapshots_never_panic(pos in 0usize..VALID.len(), byte in any::<u8>()) {
        let mut b = VALID.as_bytes().to_vec();
        b[pos] = byte;
        if let Ok(s) = HeapSnapshot::from_bytes(&b, Keep::Everything) {
            check(s);
        }
        let _ = HeapSnapshot::from_bytes(&b, Keep::NodesOnly);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = HeapSnapshot::from_bytes(&data, Keep::Everything);
        let _ = decode(&data);
    }

    #[test]
    fn json_like_noise_never_panics(s in r#"\{"snapshot":[\{\}\[\]",:0-9a-z ]{0,200}"#) {
        if let Ok(snap) = HeapSnapshot::from_bytes(s.as_bytes(), Keep::Everything) {
            check(snap);
        }
    }
}
