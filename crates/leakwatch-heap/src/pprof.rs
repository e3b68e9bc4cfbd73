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

/// Bounds on what a profile may cost to read, so that a small hostile file
/// cannot take gigabytes: a few bytes of protobuf can stand for an empty
/// string (24 bytes once decoded) or a location id that expands to
/// thousands of inlined frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed profile.
    pub max_decompressed_bytes: u64,
    /// Largest estimated memory of the decoded tables (strings, samples,
    /// locations, functions, mappings).
    pub max_decoded_bytes: u64,
    /// Most frames one sample's stack may expand to (locations × inlined lines).
    pub max_stack_frames: usize,
    /// Most frames all samples together may expand to.
    pub max_total_frames: u64,
}

impl Limits {
    /// Limits for an input of `len` bytes: proportional to it, with a floor
    /// that any real profile fits in and an absolute ceiling.
    pub fn for_input(len: usize) -> Self {
        let len = len as u64;
        Limits {
            max_decompressed_bytes: (len.saturating_mul(64)).clamp(64 << 20, 1 << 30),
            max_decoded_bytes: (len.saturating_mul(256)).clamp(128 << 20, 2 << 30),
            max_stack_frames: 4096,
            max_total_frames: (len.saturating_mul(64)).clamp(4 << 20, 64 << 20),
        }
    }
}

/// Decodes a profile from gzipped or raw profile.proto bytes and checks that
/// its indices are consistent, within [`Limits::for_input`].
pub fn decode(bytes: &[u8]) -> Result<Profile, HeapError> {
    decode_with(bytes, &Limits::for_input(bytes.len()))
}

/// [`decode`] with explicit limits.
pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<Profile, HeapError> {
    let raw;
    let data: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limits.max_decompressed_bytes + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                HeapError::NotProfile(format!("gzip data is corrupt or truncated: {e}"))
            })?;
        if out.len() as u64 > limits.max_decompressed_bytes {
            return Err(HeapError::TooLarge(format!(
                "the {} gzip data decompresses to more than {} (64 times the file size is read, \
                 at least 64 MiB and never more than 1 GiB)",
                human(bytes.len() as u64),
                human(limits.max_decompressed_bytes)
            )));
        }
        raw = out;
        &raw
    } else {
        bytes
    };
    let estimate = decoded_estimate(data)?;
    if estimate > limits.max_decoded_bytes {
        return Err(HeapError::TooLarge(format!(
            "its tables would take about {} once decoded, more than the {} allowed for a {} \
             profile (a few bytes of protobuf can stand for an empty string or sample: this \
             file is built to exhaust memory, or is not a real profile)",
            human(estimate),
            human(limits.max_decoded_bytes),
            human(bytes.len() as u64)
        )));
    }
    let p = Profile::decode(data)
        .map_err(|e| HeapError::NotProfile(format!("not a valid profile.proto message: {e}")))?;
    validate(&p, limits)?;
    Ok(p)
}

fn human(bytes: u64) -> String {
    leakwatch_core::format::bytes(bytes as f64)
}

/// Reads a varint at `*at`; `None` at a cut or overlong varint.
fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Upper estimate of the memory the decoded message takes, from its
/// top-level fields (each table entry's struct plus what its bytes can
/// expand to: a nested varint becomes 8 bytes, a 2-byte nested message up
/// to a 24-byte struct), doubled for vector growth. Malformed framing is
/// left to the decoder to report.
fn decoded_estimate(data: &[u8]) -> Result<u64, HeapError> {
    let mut at = 0usize;
    let mut total = 0u64;
    while at < data.len() {
        let Some(tag) = varint(data, &mut at) else {
            break;
        };
        let (field, wire) = (tag >> 3, tag & 7);
        let len = match wire {
            0 => {
                if varint(data, &mut at).is_none() {
                    break;
                }
                total = total.saturating_add(if field == 13 { 8 } else { 0 });
                continue;
            }
            1 => 8,
            5 => 4,
            2 => match varint(data, &mut at) {
                Some(l) => l,
                None => break,
            },
            _ => break,
        };
        let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
        if wire == 2 {
            // Saturating: a length field can claim up to 2^64 bytes (the
            // decoder then reports the cut message; the estimate must not
            // wrap to a small number on the way).
            total = total.saturating_add(match field {
                1 | 11 => 16,
                2 => len.saturating_mul(16).saturating_add(72),
                3 => 96,
                4 => len.saturating_mul(12).saturating_add(80),
                5 => 40,
                6 => len.saturating_add(24),
                13 => len.saturating_mul(8),
                _ => 0,
            });
        }
        at = at.saturating_add(len_usize);
    }
    Ok(total.saturating_mul(2))
}

fn validate(p: &Profile, limits: &Limits) -> Result<(), HeapError> {
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
    // What the stacks expand to: each location id stands for all of its
    // (inlined) lines, so a few bytes can name millions of frames.
    let lines: HashMap<u64, u64> = p
        .location
        .iter()
        .map(|l| (l.id, l.line.len().max(1) as u64))
        .collect();
    let mut total = 0u64;
    for s in &p.sample {
        let frames: u64 = s
            .location_id
            .iter()
            .map(|id| lines.get(id).copied().unwrap_or(1))
            .sum();
        if frames > limits.max_stack_frames as u64 {
            return Err(HeapError::TooLarge(format!(
                "a sample's stack expands to {frames} frames ({} locations with their inlined \
                 lines); at most {} are read (runtimes record far fewer)",
                s.location_id.len(),
                limits.max_stack_frames
            )));
        }
        total += frames;
        if total > limits.max_total_frames {
            return Err(HeapError::TooLarge(format!(
                "the samples' stacks expand to more than {} frames in total, too many for a \
                 profile of this size",
                limits.max_total_frames
            )));
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

/// One frame of a stack, cheap to hash: a function name's string index, a
/// location without line information (its address), or a missing location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Frame {
    Function(u64),
    UnknownFunction(u64),
    Address(u64),
    UnknownLocation(u64),
}

/// Function names of both profiles in one table.
#[derive(Default)]
struct Interner<'a> {
    ids: HashMap<&'a str, u64>,
    names: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, name: &'a str) -> u64 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u64;
        self.names.push(name);
        self.ids.insert(name, id);
        id
    }

    /// The name of a frame whose function was interned.
    fn name(&self, f: Frame) -> String {
        match f {
            Frame::Function(id) => self.names[id as usize].to_string(),
            Frame::UnknownFunction(id) => format!("function#{id}"),
            Frame::Address(a) => format!("0x{a:x}"),
            Frame::UnknownLocation(id) => format!("location#{id}"),
        }
    }
}

/// Re-keys a profile's stacks with interned function names.
fn canonical<'a>(
    p: &'a Profile,
    stacks: HashMap<Vec<Frame>, (i64, i64)>,
    interner: &mut Interner<'a>,
) -> HashMap<Vec<Frame>, (i64, i64)> {
    let mut out: HashMap<Vec<Frame>, (i64, i64)> = HashMap::with_capacity(stacks.len());
    for (mut k, v) in stacks {
        for f in k.iter_mut() {
            if let Frame::Function(s) = *f {
                *f = Frame::Function(interner.id(&p.string_table[s as usize]));
            }
        }
        let e = out.entry(k).or_default();
        e.0 = e.0.saturating_add(v.0);
        e.1 = e.1.saturating_add(v.1);
    }
    out
}

/// Aggregates a profile's samples by call stack (leaf first). Stacks are
/// keyed by frame numbers, not strings: names are only made for the stacks
/// that are printed.
fn by_stack(
    p: &Profile,
    primary: usize,
    secondary: Option<usize>,
) -> HashMap<Vec<Frame>, (i64, i64)> {
    let functions: HashMap<u64, &proto::Function> = p.function.iter().map(|f| (f.id, f)).collect();
    let locations: HashMap<u64, &proto::Location> = p.location.iter().map(|l| (l.id, l)).collect();
    let mut out: HashMap<Vec<Frame>, (i64, i64)> = HashMap::new();
    let mut frames = Vec::new();
    for s in &p.sample {
        frames.clear();
        for id in &s.location_id {
            match locations.get(id) {
                Some(loc) if !loc.line.is_empty() => {
                    // Inlined frames come first, the caller they were inlined into last.
                    for line in &loc.line {
                        frames.push(match functions.get(&line.function_id) {
                            Some(f) => Frame::Function(f.name as u64),
                            None => Frame::UnknownFunction(line.function_id),
                        });
                    }
                }
                Some(loc) => frames.push(Frame::Address(loc.address)),
                None => frames.push(Frame::UnknownLocation(*id)),
            }
        }
        let e = match out.get_mut(frames.as_slice()) {
            Some(e) => e,
            None => out.entry(frames.clone()).or_default(),
        };
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
    /// For sampled heap profiles: the change sampling alone makes likely
    /// (two standard deviations); a smaller `delta` is not growth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_noise: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileDiff {
    pub kind: ProfileKind,
    /// The compared value, e.g. `inuse_space/bytes` or `goroutine/count`.
    pub value: String,
    pub base_total: i64,
    pub target_total: i64,
    /// Stacks that grew, biggest growth first (the first `top`).
    pub grown: Vec<StackDelta>,
    /// How many stacks grew in all (also those not listed).
    pub grown_stacks: u64,
    /// The largest growth of any stack (0 if none grew), whatever `top`
    /// lists.
    pub largest_growth: i64,
    /// The largest growth beyond its sampling noise (the same as
    /// `largest_growth` for unsampled profiles): what the verdict is based on.
    pub largest_significant_growth: i64,
    /// Bytes per sample of a sampled heap profile (Go: 512 KiB), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_period: Option<i64>,
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
    // The two profiles number their strings differently: function names
    // are interned into one table so stacks compare without string copies.
    let mut interner = Interner::default();
    let b = canonical(base, by_stack(base, primary, secondary), &mut interner);
    let t = canonical(target, by_stack(target, primary, secondary), &mut interner);
    let base_total = b.values().fold(0i64, |a, v| a.saturating_add(v.0));
    let target_total = t.values().fold(0i64, |a, v| a.saturating_add(v.0));
    // A sampled heap profile (Go's: one allocation per `period` bytes on
    // average, scaled up) moves a stack by about `period` per sample: two
    // profiles of a steady program differ by a few of them.
    let sampling_period =
        (kind == ProfileKind::Heap && target.period > 0 && base.period == target.period)
            .then_some(target.period);
    let mut grown: Vec<StackDelta> = Vec::new();
    let mut grown_stacks = 0u64;
    let mut largest_growth = 0i64;
    let mut largest_significant_growth = 0i64;
    for (stack, &(tv, to)) in &t {
        let (bv, bo) = b.get(stack).copied().unwrap_or((0, 0));
        if tv > bv {
            grown_stacks += 1;
            let delta = tv.saturating_sub(bv);
            largest_growth = largest_growth.max(delta);
            let sampling_noise = sampling_period.map(|p| sampling_noise(bv, tv, p));
            if sampling_noise.is_none_or(|n| delta > n) {
                largest_significant_growth = largest_significant_growth.max(delta);
            }
            grown.push(StackDelta {
                stack: stack.iter().map(|&f| interner.name(f)).collect(),
                base: bv,
                target: tv,
                delta,
                objects: secondary.map(|_| [bo, to, to.saturating_sub(bo)]),
                sampling_noise,
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
        grown_stacks,
        largest_growth,
        largest_significant_growth,
        sampling_period,
        shrunk,
    })
}

/// Two standard deviations of the difference of two sampled estimates of
/// `base` and `target` bytes, each about `period` bytes per sample with a
/// Poisson count of samples (and at least one sample's worth).
pub fn sampling_noise(base: i64, target: i64, period: i64) -> i64 {
    let p = period.max(1) as f64;
    let samples = (base.max(0) as f64 + target.max(0) as f64) / p;
    (2.0 * p * samples.max(1.0).sqrt()).round() as i64
}

#[cfg(test)]
mod tests {
    use super::proto::*;
    use super::*;

    #[test]
    fn a_huge_claimed_length_saturates_the_estimate_rather_than_wrapping() {
        // Field 2 (a sample), length 2^60: 72 + 16 * 2^60 wraps to 72 in
        // u64 (found by leakwatch-where's pprof_responses fuzz target).
        let mut data = vec![0x12];
        data.extend([0x80; 8]);
        data.push(0x10);
        assert_eq!(decoded_estimate(&data).unwrap(), u64::MAX);
        assert!(decode(&data).is_err());
        // The fuzzer's input itself: an error, not a panic.
        let found = b"\x1d\x00\x00\xa2\xa2\xa2\xa2\xa2\xa2\xa2\x01\x00\x00\x00\x00\x00\x00D\"\xa2\xa2\xa2\xa2\xa2\xa2\xa2\xa2*";
        assert!(decode(found).is_err());
    }

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
    fn growth_within_sampling_noise_is_not_significant() {
        const P: i64 = 512 * 1024;
        let sampled = |stacks: &[(&str, i64)]| {
            let mut p = heap_profile(stacks);
            p.period = P;
            p
        };
        // A steady stack one sample up (11.5 -> 12.5 MiB): noise.
        let d = diff_profiles(
            &sampled(&[("steady", 23 * P)]),
            &sampled(&[("steady", 25 * P)]),
            10,
        )
        .unwrap();
        assert_eq!(d.sampling_period, Some(P));
        assert_eq!(d.largest_growth, 2 * P);
        assert_eq!(d.largest_significant_growth, 0);
        assert!(d.grown[0].sampling_noise.unwrap() > 2 * P);
        // A leak well past it (12 -> 40 MiB) counts.
        let d = diff_profiles(
            &sampled(&[("leak", 24 * P)]),
            &sampled(&[("leak", 80 * P)]),
            10,
        )
        .unwrap();
        assert_eq!(d.largest_significant_growth, 56 * P);
        // Unsampled profiles (period 0): every growth counts.
        let d =
            diff_profiles(&heap_profile(&[("a", 10)]), &heap_profile(&[("a", 20)]), 10).unwrap();
        assert_eq!(
            (d.sampling_period, d.largest_significant_growth),
            (None, 10)
        );
        assert_eq!(sampling_noise(0, 0, P), 2 * P);
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
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn empty_string_bomb_is_refused_before_decoding() {
        // 32 M empty strings: 64 MB of protobuf, 64 KB gzipped, ~0.9 GB decoded.
        let mut raw = heap_profile(&[("a", 1)]).encode_to_vec();
        raw.extend(std::iter::repeat_n([0x32u8, 0x00], 32 << 20).flatten());
        let gz = gzip(&raw);
        assert!(gz.len() < 128 << 10, "{}", gz.len());
        let err = decode(&gz).unwrap_err();
        assert!(matches!(err, HeapError::TooLarge(_)), "{err}");
        // Half as many fit the decompression limit: the estimate of the
        // decoded tables refuses them.
        let mut raw = heap_profile(&[("a", 1)]).encode_to_vec();
        raw.extend(std::iter::repeat_n([0x32u8, 0x00], 16 << 20).flatten());
        let err = decode(&gzip(&raw)).unwrap_err();
        assert!(err.to_string().contains("decoded"), "{err}");
    }

    #[test]
    fn inlined_frame_bomb_is_refused() {
        // One location with 1,000 inlined lines, referenced 1,000 times by each of 100 samples.
        let mut p = heap_profile(&[("a", 1)]);
        p.location[0].line = (0..1000)
            .map(|_| Line {
                function_id: 1,
                line: 1,
                column: 0,
            })
            .collect();
        for _ in 0..100 {
            p.sample.push(Sample {
                location_id: vec![1; 1000],
                value: vec![1, 1],
                label: vec![],
            });
        }
        let gz = gzip(&p.encode_to_vec());
        assert!(gz.len() < 8 << 10, "{}", gz.len());
        let err = decode(&gz).unwrap_err();
        assert!(matches!(err, HeapError::TooLarge(_)), "{err}");
        assert!(err.to_string().contains("frames"), "{err}");
    }

    #[test]
    fn gzip_bomb_is_cut_at_the_decompressed_limit() {
        let limits = Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::for_input(0)
        };
        let gz = gzip(&vec![0u8; 4 << 20]);
        let err = decode_with(&gz, &limits).unwrap_err();
        assert!(matches!(err, HeapError::TooLarge(_)), "{err}");
    }

    #[test]
    fn limits_scale_with_input_within_caps() {
        let small = Limits::for_input(1000);
        assert_eq!(small.max_decompressed_bytes, 64 << 20);
        let big = Limits::for_input(100 << 20);
        assert_eq!(big.max_decompressed_bytes, 1 << 30);
        assert!(big.max_decoded_bytes <= 2 << 30);
    }

    #[test]
    fn top_zero_still_reports_the_largest_growth() {
        let base = heap_profile(&[("grow", 1000)]);
        let target = heap_profile(&[("grow", 90000)]);
        let d = diff_profiles(&base, &target, 0).unwrap();
        assert!(d.grown.is_empty());
        assert_eq!(d.grown_stacks, 1);
        assert_eq!(d.largest_growth, 89000);
    }
}
