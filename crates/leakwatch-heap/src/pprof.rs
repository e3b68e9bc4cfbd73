//! pprof profiles (profile.proto, gzipped or raw): Go's heap and goroutine
//! profiles and any other tool writing the format. [`diff_profiles`] does
//! what `go tool pprof -base BASE TARGET` shows: per call stack, how much the
//! primary value (in-use bytes for heap profiles, goroutines for goroutine
//! profiles) grew, biggest growth first.

use std::collections::HashMap;
use std::io::Read;

use prost::Message;
use serde::Serialize;

use crate::error::HeapError;

/// Generated from proto/profile.proto by build.rs.
#[allow(clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/perftools.profiles.rs"));
}

pub use proto::Profile;

/// Upper bound on a decompressed profile: protects against gzip bombs.
const MAX_PROFILE_BYTES: u64 = 2 << 30;

/// Decodes a profile from gzipped or raw profile.proto bytes and checks that
/// its indices are consistent.
pub fn decode(bytes: &[u8]) -> Result<Profile, HeapError> {
    let raw;
    let data: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_PROFILE_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                HeapError::NotProfile(format!("gzip data is corrupt or truncated: {e}"))
            })?;
        if out.len() as u64 > MAX_PROFILE_BYTES {
            return Err(HeapError::NotProfile(
                "decompresses to more than 2 GiB".into(),
            ));
        }
        raw = out;
        &raw
    } else {
        bytes
    };
    let p = Profile::decode(data)
        .map_err(|e| HeapError::NotProfile(format!("not a valid profile.proto message: {e}")))?;
    validate(&p)?;
    Ok(p)
}

fn validate(p: &Profile) -> Result<(), HeapError> {
    let bad = |m: String| Err(HeapError::NotProfile(m));
    if p.sample_type.is_empty() {
        return bad("it has no sample types (an empty or non-profile message)".into());
    }
    if p.string_table.first().map(String::as_str) != Some("") {
        return bad("its string table does not start with \"\" as profile.proto requires".into());
    }
    let strings = p.string_table.len() as i64;
    let check_str = |i: i64, what: &str| -> Result<(), HeapError> {
        if i < 0 || i >= strings {
            Err(HeapError::NotProfile(format!(
                "{what} refers to string {i}, but the table has {strings}"
            )))
        } else {
            Ok(())
        }
    };
    for t in &p.sample_type {
        check_str(t.r#type, "a sample type")?;
        check_str(t.unit, "a sample unit")?;
    }
    for f in &p.function {
        check_str(f.name, "a function name")?;
        check_str(f.filename, "a function file name")?;
    }
    for s in &p.sample {
        if s.value.len() != p.sample_type.len() {
            return bad(format!(
                "a sample has {} values for {} sample types",
                s.value.len(),
                p.sample_type.len()
            ));
        }
    }
    Ok(())
}

/// What kind of profile, judged from its sample types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// Go-style heap profile: compared on inuse_space (and inuse_objects).
    Heap,
    /// Goroutine profile: compared on the goroutine count.
    Goroutine,
    /// Anything else: compared on its default (or last) sample type.
    Other,
}

/// The sample types a profile has, as `type/unit` names.
pub fn sample_types(p: &Profile) -> Vec<String> {
    p.sample_type
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                p.string_table[t.r#type as usize], p.string_table[t.unit as usize]
            )
        })
        .collect()
}

fn type_index(p: &Profile, name: &str) -> Option<usize> {
    p.sample_type
        .iter()
        .position(|t| p.string_table[t.r#type as usize] == name)
}

/// Picks what to compare: (kind, primary value index, secondary value index).
fn choose_values(p: &Profile) -> (ProfileKind, usize, Option<usize>) {
    if let Some(space) = type_index(p, "inuse_space") {
        return (ProfileKind::Heap, space, type_index(p, "inuse_objects"));
    }
    if let Some(g) = type_index(p, "goroutine") {
        return (ProfileKind::Goroutine, g, None);
    }
    let default = p.default_sample_type;
    let idx = p
        .sample_type
        .iter()
        .position(|t| default != 0 && t.r#type == default)
        .unwrap_or(p.sample_type.len() - 1);
    (ProfileKind::Other, idx, None)
}

/// Aggregates a profile's samples by call stack (function names, leaf first).
fn by_stack(
    p: &Profile,
    primary: usize,
    secondary: Option<usize>,
) -> HashMap<Vec<String>, (i64, i64)> {
    let functions: HashMap<u64, &proto::Function> = p.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &proto::Location> = p.location.iter().map(|l| (l.id, l)).collect();
    let mut out: HashMap<Vec<String>, (i64, i64)> = HashMap::new();
    for s in &p.sample {
        let mut frames = Vec::new();
        for id in &s.location_id {
            match locations.get(id) {
                Some(loc) if !loc.line.is_empty() => {
                    // Inlined frames come first, the caller they were inlined into last.
                    for line in &loc.line {
                        let name = functions
                            .get(&line.function_id)
                            .map(|f| p.string_table[f.name as usize].clone())
                            .unwrap_or_else(|| format!("function#{}", line.function_id));
                        frames.push(name);
                    }
                }
                Some(loc) => frames.push(format!("0x{:x}", loc.address)),
                None => frames.push(format!("location#{id}")),
            }
        }
        let e = out.entry(frames).or_default();
        e.0 = e.0.saturating_add(s.value[primary]);
        if let Some(i) = secondary {
            e.1 = e.1.saturating_add(s.value[i]);
        }
    }
    out
}

/// A call stack whose value changed between BASE and TARGET.
#[derive(Debug, Clone, Serialize)]
pub struct StackDelta {
    /// Function names, the allocating (or blocked) function first.
    pub stack: Vec<String>,
    pub base: i64,
    pub target: i64,
    pub delta: i64,
    /// For heap profiles: in-use objects in BASE, TARGET, and their change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<[i64; 3]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileDiff {
    pub kind: ProfileKind,
    /// The compared value, e.g. `inuse_space/bytes` or `goroutine/count`.
    pub value: String,
    pub base_total: i64,
    pub target_total: i64,
    /// Stacks that grew, biggest growth first.
    pub grown: Vec<StackDelta>,
    /// How many stacks shrank or vanished.
    pub shrunk: u64,
}

/// Compares two profiles of the same kind.
pub fn diff_profiles(
    base: &Profile,
    target: &Profile,
    top: usize,
) -> Result<ProfileDiff, HeapError> {
    let (bt, tt) = (sample_types(base), sample_types(target));
    if bt != tt {
        return Err(HeapError::ProfileMismatch(format!(
            "BASE has sample types [{}] but TARGET has [{}]: compare two profiles of the same kind (heap with heap, goroutine with goroutine)",
            bt.join(", "),
            tt.join(", ")
        )));
    }
    let (kind, primary, secondary) = choose_values(target);
    let b = by_stack(base, primary, secondary);
    let t = by_stack(target, primary, secondary);
    let base_total = b.values().map(|v| v.0).sum();
    let target_total = t.values().map(|v| v.0).sum();
    let mut grown: Vec<StackDelta> = Vec::new();
    for (stack, &(tv, to)) in &t {
        let (bv, bo) = b.get(stack).copied().unwrap_or((0, 0));
        if tv > bv {
            grown.push(StackDelta {
                stack: stack.clone(),
                base: bv,
                target: tv,
                delta: tv - bv,
                objects: secondary.map(|_| [bo, to, to - bo]),
            });
        }
    }
    let shrunk = b
        .iter()
        .filter(|(s, v)| t.get(*s).is_none_or(|tv| tv.0 < v.0))
        .count() as u64;
    grown.sort_by(|x, y| y.delta.cmp(&x.delta).then(x.stack.cmp(&y.stack)));
    grown.truncate(top);
    Ok(ProfileDiff {
        kind,
        value: tt[primary].clone(),
        base_total,
        target_total,
        grown,
        shrunk,
    })
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;

    /// A heap profile with one stack per (leaf, bytes) pair.
    pub(crate) fn heap_profile(stacks: &[(&str, i64)]) -> Profile {
        let mut strings = vec![
            "".to_string(),
            "inuse_objects".into(),
            "count".into(),
            "inuse_space".into(),
            "bytes".into(),
            "main".into(),
        ];
        let mut p = Profile {
            sample_type: vec![
                ValueType { r#type: 1, unit: 2 },
                ValueType { r#type: 3, unit: 4 },
            ],
            ..Default::default()
        };
        p.function.push(Function {
            id: 1,
            name: 5,
            ..Default::default()
        });
        p.location.push(Location {
            id: 1,
            line: vec![Line {
                function_id: 1,
                line: 1,
                column: 0,
            }],
            ..Default::default()
        });
        for (i, (leaf, bytes)) in stacks.iter().enumerate() {
            let id = i as u64 + 2;
            strings.push(leaf.to_string());
            p.function.push(Function {
                id,
                name: strings.len() as i64 - 1,
                ..Default::default()
            });
            p.location.push(Location {
                id,
                line: vec![Line {
                    function_id: id,
                    line: 1,
                    column: 0,
                }],
                ..Default::default()
            });
            p.sample.push(Sample {
                location_id: vec![id, 1],
                value: vec![bytes / 64, *bytes],
                label: vec![],
            });
        }
        p.string_table = strings;
        p
    }

    #[test]
    fn heap_diff_ranks_growth() {
        let base = heap_profile(&[("grow", 1000), ("steady", 5000), ("gone", 700)]);
        let target = heap_profile(&[("grow", 90000), ("steady", 5000), ("new", 3000)]);
        let gz = {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&target.encode_to_vec()).unwrap();
            e.finish().unwrap()
        };
        let target = decode(&gz).unwrap();
        let base = decode(&base.encode_to_vec()).unwrap();
        let d = diff_profiles(&base, &target, 10).unwrap();
        assert_eq!(d.kind, ProfileKind::Heap);
        assert_eq!(d.value, "inuse_space/bytes");
        assert_eq!(d.grown.len(), 2);
        assert_eq!(d.grown[0].stack, vec!["grow", "main"]);
        assert_eq!(d.grown[0].delta, 89000);
        assert_eq!(d.grown[1].stack[0], "new");
        assert_eq!(d.shrunk, 1);
    }

    #[test]
    fn rejects_garbage_and_mismatch() {
        assert!(matches!(decode(b"hello"), Err(HeapError::NotProfile(_))));
        assert!(matches!(
            decode(&[0x1f, 0x8b, 8, 0, 1]),
            Err(HeapError::NotProfile(_))
        ));
        let mut bad = heap_profile(&[("a", 1)]);
        bad.sample[0].value.pop();
        assert!(decode(&bad.encode_to_vec()).is_err());
        let mut other = heap_profile(&[("a", 1)]);
        other.string_table[3] = "alloc_space".into();
        let e = diff_profiles(&heap_profile(&[]), &other, 5).unwrap_err();
        assert!(matches!(e, HeapError::ProfileMismatch(_)));
    }
}
