//! V8 `.heapsnapshot` reader.
//!
//! The file is one JSON object: a small `snapshot` header whose `meta` names
//! the fields of each node and edge, then the flat `nodes` and `edges` integer
//! arrays (hundreds of MB), then the `strings` table. We stream it once with
//! [`Scanner`], reading the layout from `meta` (no hard-coded offsets) and
//! storing nodes and edges as compact columns, so memory is a fraction of the
//! file size and never a JSON value tree.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::error::HeapError;
use crate::scan::Scanner;

/// Index of a node in a snapshot's columns (not the V8 object id).
pub type NodeIdx = u32;

/// All strings of a snapshot in one buffer.
#[derive(Debug, Default)]
pub struct StringTable {
    buf: String,
    ends: Vec<u32>,
}

impl StringTable {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `index`, or "" when out of range (a corrupt index never panics).
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.buf[start..self.ends[i] as usize]
    }

    fn push_from<R: Read>(&mut self, sc: &mut Scanner<'_, R>) -> Result<(), HeapError> {
        sc.read_string(&mut self.buf)?;
        let end = u32::try_from(self.buf.len()).map_err(|_| HeapError::Inconsistent {
            offset: sc.offset(),
            message: "string table larger than 4 GiB".into(),
        })?;
        self.ends.push(end);
        Ok(())
    }
}

/// Node and edge kinds, from `meta.node_types[type]` / `meta.edge_types[type]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Hidden,
    Array,
    String,
    Object,
    Code,
    Closure,
    RegExp,
    Number,
    Native,
    Synthetic,
    ConsString,
    SlicedString,
    Symbol,
    BigInt,
    ObjectShape,
    Other,
}

impl NodeKind {
    fn from_name(name: &str) -> Self {
        match name {
            "hidden" => NodeKind::Hidden,
            "array" => NodeKind::Array,
            "string" => NodeKind::String,
            "object" => NodeKind::Object,
            "code" => NodeKind::Code,
            "closure" => NodeKind::Closure,
            "regexp" => NodeKind::RegExp,
            "number" => NodeKind::Number,
            "native" => NodeKind::Native,
            "synthetic" => NodeKind::Synthetic,
            "concatenated string" => NodeKind::ConsString,
            "sliced string" => NodeKind::SlicedString,
            "symbol" => NodeKind::Symbol,
            "bigint" => NodeKind::BigInt,
            "object shape" => NodeKind::ObjectShape,
            _ => NodeKind::Other,
        }
    }

    pub fn is_string(self) -> bool {
        matches!(
            self,
            NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Context,
    Element,
    Property,
    Internal,
    Hidden,
    Shortcut,
    Weak,
    Other,
}

impl EdgeKind {
    fn from_name(name: &str) -> Self {
        match name {
            "context" => EdgeKind::Context,
            "element" => EdgeKind::Element,
            "property" => EdgeKind::Property,
            "internal" => EdgeKind::Internal,
            "hidden" => EdgeKind::Hidden,
            "shortcut" => EdgeKind::Shortcut,
            "weak" => EdgeKind::Weak,
            _ => EdgeKind::Other,
        }
    }

    /// Element and hidden edges carry an index, the others a string index.
    pub fn name_is_index(self) -> bool {
        matches!(self, EdgeKind::Element | EdgeKind::Hidden)
    }
}

#[derive(Debug, Deserialize)]
struct Header {
    meta: RawMeta,
    node_count: Option<u64>,
    edge_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct RawMeta {
    node_fields: Vec<String>,
    node_types: Vec<serde_json::Value>,
    edge_fields: Vec<String>,
    edge_types: Vec<serde_json::Value>,
}

/// Where each needed field sits in a node/edge record, from `meta`.
#[derive(Debug, Clone)]
struct Layout {
    node_width: usize,
    n_type: usize,
    n_name: usize,
    n_id: usize,
    n_self_size: usize,
    n_edge_count: usize,
    node_kinds: Vec<NodeKind>,
    edge_width: usize,
    e_type: usize,
    e_name: usize,
    e_to: usize,
    edge_kinds: Vec<EdgeKind>,
}

fn field(fields: &[String], name: &str, what: &str) -> Result<usize, HeapError> {
    fields.iter().position(|f| f == name).ok_or_else(|| {
        HeapError::BadMeta(format!(
            "{what} has no \"{name}\" field (fields: {})",
            fields.join(", ")
        ))
    })
}

fn type_names(
    values: &[serde_json::Value],
    idx: usize,
    what: &str,
) -> Result<Vec<String>, HeapError> {
    let list = values
        .get(idx)
        .and_then(|v| v.as_array())
        .ok_or_else(|| HeapError::BadMeta(format!("{what}[{idx}] is not a list of type names")))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| HeapError::BadMeta(format!("{what} holds a non-string type name")))
        })
        .collect()
}

impl Layout {
    fn from_meta(meta: &RawMeta) -> Result<Self, HeapError> {
        let n_type = field(&meta.node_fields, "type", "meta.node_fields")?;
        let e_type = field(&meta.edge_fields, "type", "meta.edge_fields")?;
        let node_kinds = type_names(&meta.node_types, n_type, "meta.node_types")?
            .iter()
            .map(|s| NodeKind::from_name(s))
            .collect();
        let edge_kinds = type_names(&meta.edge_types, e_type, "meta.edge_types")?
            .iter()
            .map(|s| EdgeKind::from_name(s))
            .collect();
        if meta.node_types.len() != meta.node_fields.len()
            || meta.edge_types.len() != meta.edge_fields.len()
        {
            return Err(HeapError::BadMeta(
                "node_types/edge_types do not have one entry per field".into(),
            ));
        }
        Ok(Layout {
            node_width: meta.node_fields.len(),
            n_type,
            n_name: field(&meta.node_fields, "name", "meta.node_fields")?,
            n_id: field(&meta.node_fields, "id", "meta.node_fields")?,
            n_self_size: field(&meta.node_fields, "self_size", "meta.node_fields")?,
            n_edge_count: field(&meta.node_fields, "edge_count", "meta.node_fields")?,
            node_kinds,
            edge_width: meta.edge_fields.len(),
            e_type,
            e_name: field(&meta.edge_fields, "name_or_index", "meta.edge_fields")?,
            e_to: field(&meta.edge_fields, "to_node", "meta.edge_fields")?,
            edge_kinds,
        })
    }
}

/// What to keep while reading: everything, or only what a class summary and
/// id comparison need (no edges), which is cheaper for BASE and TARGET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    Everything,
    NodesOnly,
}

/// A parsed heap snapshot in columnar form.
#[derive(Debug, Default)]
pub struct HeapSnapshot {
    node_kinds: Vec<NodeKind>,
    edge_kinds: Vec<EdgeKind>,
    pub node_type: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    /// Self sizes that fit in 32 bits (nearly all); larger ones are
    /// `u32::MAX` here and kept in `big_self_sizes`. Use [`Self::self_size`].
    node_self_size: Vec<u32>,
    big_self_sizes: std::collections::HashMap<NodeIdx, u64>,
    /// `first_edge[i]..first_edge[i+1]` are node i's outgoing edges (empty when edges were not kept).
    pub first_edge: Vec<u32>,
    pub edge_type: Vec<u8>,
    pub edge_name: Vec<u32>,
    pub edge_to: Vec<NodeIdx>,
    pub strings: StringTable,
    /// Total edges in the file (also when they were not kept).
    pub edge_total: u64,
    /// Size of the input in bytes.
    pub bytes_read: u64,
}

impl HeapSnapshot {
    pub fn node_count(&self) -> usize {
        self.node_id.len()
    }

    /// The node's own size in bytes.
    pub fn self_size(&self, n: NodeIdx) -> u64 {
        match self.node_self_size[n as usize] {
            u32::MAX => self
                .big_self_sizes
                .get(&n)
                .copied()
                .unwrap_or(u32::MAX as u64),
            s => s as u64,
        }
    }

    fn push_self_size(&mut self, size: u64) {
        match u32::try_from(size) {
            Ok(s) if s != u32::MAX => self.node_self_size.push(s),
            _ => {
                let n = self.node_self_size.len() as NodeIdx;
                self.big_self_sizes.insert(n, size);
                self.node_self_size.push(u32::MAX);
            }
        }
    }

    pub fn has_edges(&self) -> bool {
        !self.first_edge.is_empty()
    }

    /// Frees the edge names (labels), which only the retainer paths need:
    /// once those are computed, the dominator tree needs just edge targets and kinds.
    pub fn free_edge_names(&mut self) {
        self.edge_name = Vec::new();
    }

    /// Frees all edge columns; [`Self::has_edges`] is false afterwards.
    pub fn free_edges(&mut self) {
        self.first_edge = Vec::new();
        self.edge_type = Vec::new();
        self.edge_name = Vec::new();
        self.edge_to = Vec::new();
    }

    pub fn kind(&self, n: NodeIdx) -> NodeKind {
        self.node_kinds
            .get(self.node_type[n as usize] as usize)
            .copied()
            .unwrap_or(NodeKind::Other)
    }

    pub fn name(&self, n: NodeIdx) -> &str {
        self.strings.get(self.node_name[n as usize])
    }

    pub fn edge_kind(&self, e: usize) -> EdgeKind {
        self.edge_kinds
            .get(self.edge_type[e] as usize)
            .copied()
            .unwrap_or(EdgeKind::Other)
    }

    pub fn edges(&self, n: NodeIdx) -> std::ops::Range<usize> {
        self.first_edge[n as usize] as usize..self.first_edge[n as usize + 1] as usize
    }

    /// The edge's label as DevTools shows it: a property/variable name, or
    /// `[i]` for elements.
    pub fn edge_label(&self, e: usize) -> String {
        let kind = self.edge_kind(e);
        if kind.name_is_index() {
            format!("[{}]", self.edge_name[e])
        } else {
            self.strings.get(self.edge_name[e]).to_string()
        }
    }

    /// The class DevTools' Summary/Comparison views group this node under.
    pub fn class_name(&self, n: NodeIdx) -> &str {
        self.class_of_key(self.class_key(n))
    }

    /// A number standing for the node's class, cheaper to hash than its
    /// name: the name's string index for objects (named by their
    /// constructor), otherwise one number per node kind. Different keys
    /// can still name the same class (an object and a native object of one
    /// name): group by [`Self::class_of_key`] in the end.
    pub fn class_key(&self, n: NodeIdx) -> u64 {
        match self.kind(n) {
            NodeKind::Object | NodeKind::Native | NodeKind::Synthetic => {
                self.node_name[n as usize] as u64
            }
            _ => 1 << 32 | self.node_type[n as usize] as u64,
        }
    }

    /// The class name of a [`Self::class_key`].
    pub fn class_of_key(&self, key: u64) -> &str {
        if key >> 32 == 0 {
            return self.strings.get(key as u32);
        }
        let kind = self
            .node_kinds
            .get(key as u8 as usize)
            .copied()
            .unwrap_or(NodeKind::Other);
        match kind {
            NodeKind::Object | NodeKind::Native | NodeKind::Synthetic => "",
            NodeKind::Closure => "(closure)",
            NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => "(string)",
            NodeKind::Array => "(array)",
            NodeKind::Code => "(compiled code)",
            NodeKind::Hidden => "(system)",
            NodeKind::RegExp => "(regexp)",
            NodeKind::Number => "(number)",
            NodeKind::Symbol => "(symbol)",
            NodeKind::BigInt => "(bigint)",
            NodeKind::ObjectShape => "(object shape)",
            NodeKind::Other => "(other)",
        }
    }

    /// Reads a snapshot file.
    pub fn read_file(path: &Path, keep: Keep) -> Result<Self, HeapError> {
        Self::read_file_with_progress(path, keep, None)
    }

    pub fn read_file_with_progress(
        path: &Path,
        keep: Keep,
        progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<Self, HeapError> {
        let file = std::fs::File::open(path).map_err(|e| HeapError::Io {
            offset: 0,
            source: e,
        })?;
        let mut sc = Scanner::new(file);
        if let Some(p) = progress {
            sc.set_progress(p);
        }
        Self::read_from(&mut sc, keep)
    }

    /// Reads a snapshot from memory (tests, fuzzing).
    pub fn from_bytes(bytes: &[u8], keep: Keep) -> Result<Self, HeapError> {
        Self::read_from(&mut Scanner::new(bytes), keep)
    }

    fn read_from<R: Read>(sc: &mut Scanner<'_, R>, keep: Keep) -> Result<Self, HeapError> {
        match sc.peek_token()? {
            Some(b'{') => {}
            None => return Err(HeapError::NotSnapshot("the file is empty".into())),
            Some(_) => {
                return Err(HeapError::NotSnapshot(
                    "it does not start with '{' (a .heapsnapshot is one JSON object)".into(),
                ))
            }
        }
        sc.expect(b'{')?;
        let mut snap = HeapSnapshot::default();
        let mut layout: Option<Layout> = None;
        let mut expected_nodes = None;
        let mut expected_edges = None;
        let mut have_nodes = false;
        let mut have_edges = false;
        let mut have_strings = false;
        // Edge count of each node (only when edges are kept), becoming the
        // `first_edge` offsets in place; and their sum, to check the edges array.
        let mut edge_counts: Vec<u32> = Vec::new();
        let mut edge_sum = 0u64;
        let mut key = String::new();
        if sc.peek_token()? == Some(b'}') {
            return Err(HeapError::NotSnapshot("it is an empty JSON object".into()));
        }
        loop {
            key.clear();
            let key_at = sc.offset();
            let next = sc.peek_token()?;
            if next.is_none() {
                return Err(HeapError::Truncated {
                    offset: sc.offset(),
                    expected: "a top-level field name".into(),
                });
            }
            if next != Some(b'"') {
                return Err(HeapError::NotSnapshot(format!(
                    "expected a field name at byte {key_at}"
                )));
            }
            sc.read_string(&mut key)?;
            sc.expect(b':')?;
            match key.as_str() {
                "snapshot" => {
                    let raw = sc.capture_value(16 << 20)?;
                    let header: Header = serde_json::from_slice(&raw).map_err(|e| {
                        HeapError::BadMeta(format!(
                            "the \"snapshot\" header at byte {key_at} is not a valid snapshot header: {e}"
                        ))
                    })?;
                    let l = Layout::from_meta(&header.meta)?;
                    expected_nodes = header.node_count;
                    expected_edges = header.edge_count;
                    if let Some(n) = expected_nodes {
                        // A header can lie: reserve at most a modest amount up front.
                        let n = n.min(1 << 22) as usize;
                        snap.node_type.reserve_exact(n);
                        snap.node_name.reserve_exact(n);
                        snap.node_id.reserve_exact(n);
                        snap.node_self_size.reserve_exact(n);
                        if keep == Keep::Everything {
                            edge_counts.reserve_exact(n + 1);
                        }
                    }
                    if let (Some(e), Keep::Everything) = (expected_edges, keep) {
                        let e = e.min(1 << 24) as usize;
                        snap.edge_type.reserve_exact(e);
                        snap.edge_name.reserve_exact(e);
                        snap.edge_to.reserve_exact(e);
                    }
                    snap.node_kinds = l.node_kinds.clone();
                    snap.edge_kinds = l.edge_kinds.clone();
                    layout = Some(l);
                }
                "nodes" => {
                    let l = layout.as_ref().ok_or_else(|| {
                        HeapError::BadMeta("\"nodes\" comes before the \"snapshot\" header".into())
                    })?;
                    read_nodes(sc, l, &mut snap, keep, &mut edge_counts, &mut edge_sum)?;
                    have_nodes = true;
                }
                "edges" => {
                    let l = layout.as_ref().ok_or_else(|| {
                        HeapError::BadMeta("\"edges\" comes before the \"snapshot\" header".into())
                    })?;
                    if !have_nodes {
                        return Err(HeapError::BadMeta(
                            "\"edges\" comes before \"nodes\"".into(),
                        ));
                    }
                    if keep == Keep::Everything {
                        read_edges(sc, l, &mut snap, keep)?;
                    } else {
                        // Not needed: found the end without reading the
                        // numbers (most of the file's bytes). The count is
                        // then the nodes' own (what the header is checked against).
                        sc.skip_flat_array()?;
                        snap.edge_total = edge_sum;
                    }
                    have_edges = true;
                }
                "strings" => {
                    sc.expect(b'[')?;
                    if sc.peek_token()? == Some(b']') {
                        sc.expect(b']')?;
                    } else {
                        loop {
                            snap.strings.push_from(sc)?;
                            match sc.peek_token()? {
                                Some(b',') => sc.expect(b',')?,
                                Some(b']') => {
                                    sc.expect(b']')?;
                                    break;
                                }
                                other => {
                                    return Err(match other {
                                        None => HeapError::Truncated {
                                            offset: sc.offset(),
                                            expected: "the rest of the strings array".into(),
                                        },
                                        Some(b) => HeapError::Syntax {
                                            offset: sc.offset(),
                                            message: format!(
                                                "expected ',' or ']' in strings, found '{}'",
                                                b as char
                                            ),
                                        },
                                    })
                                }
                            }
                        }
                    }
                    have_strings = true;
                }
                _ => sc.skip_value()?,
            }
            match sc.peek_token()? {
                Some(b',') => sc.expect(b',')?,
                Some(b'}') => {
                    sc.expect(b'}')?;
                    break;
                }
                None => {
                    return Err(HeapError::Truncated {
                        offset: sc.offset(),
                        expected: "',' or '}' after a top-level field".into(),
                    })
                }
                Some(b) => {
                    return Err(HeapError::Syntax {
                        offset: sc.offset(),
                        message: format!("expected ',' or '}}', found '{}'", b as char),
                    })
                }
            }
        }
        snap.bytes_read = sc.offset();
        if layout.is_none() {
            return Err(HeapError::NotSnapshot(
                "a JSON object without a \"snapshot\" header (is this a heap snapshot?)".into(),
            ));
        }
        for (present, what) in [
            (have_nodes, "nodes"),
            (have_edges, "edges"),
            (have_strings, "strings"),
        ] {
            if !present {
                return Err(HeapError::NotSnapshot(format!("no \"{what}\" array")));
            }
        }
        let end = sc.offset();
        let inconsistent = |message: String| HeapError::Inconsistent {
            offset: end,
            message,
        };
        if let Some(n) = expected_nodes {
            if n != snap.node_count() as u64 {
                return Err(inconsistent(format!(
                    "header says {n} nodes, the nodes array holds {}",
                    snap.node_count()
                )));
            }
        }
        if let Some(e) = expected_edges {
            if e != snap.edge_total {
                return Err(inconsistent(format!(
                    "header says {e} edges, the edges array holds {}",
                    snap.edge_total
                )));
            }
        }
        let sum = edge_sum;
        if sum != snap.edge_total {
            return Err(inconsistent(format!(
                "nodes declare {sum} edges in total, the edges array holds {}",
                snap.edge_total
            )));
        }
        let strings = snap.strings.len() as u64;
        if let Some(bad) = snap.node_name.iter().find(|&&s| s as u64 >= strings) {
            return Err(inconsistent(format!(
                "a node name refers to string {bad}, but there are only {strings} strings"
            )));
        }
        if keep == Keep::Everything {
            let nodes = snap.node_count() as u32;
            for e in 0..snap.edge_to.len() {
                if snap.edge_to[e] >= nodes {
                    return Err(inconsistent(format!("edge {e} points past the last node")));
                }
                if !snap.edge_kind(e).name_is_index() && snap.edge_name[e] as u64 >= strings {
                    return Err(inconsistent(format!(
                        "edge {e} names string {}, but there are only {strings} strings",
                        snap.edge_name[e]
                    )));
                }
            }
            if sum > u32::MAX as u64 {
                return Err(inconsistent(format!(
                    "{sum} edges; at most {} are supported",
                    u32::MAX
                )));
            }
            // Exclusive prefix sums in place: counts become start offsets.
            let mut acc: u32 = 0;
            for c in edge_counts.iter_mut() {
                let count = *c;
                *c = acc;
                acc += count;
            }
            edge_counts.push(acc);
            snap.first_edge = edge_counts;
        }
        Ok(snap)
    }
}

fn to_u32(v: u64, offset: u64, what: &str) -> Result<u32, HeapError> {
    u32::try_from(v).map_err(|_| HeapError::Inconsistent {
        offset,
        message: format!("{what} {v} does not fit in 32 bits"),
    })
}

/// Numbers handed over per batch by the scanner: whole records of `width`.
fn batch_of(width: usize) -> usize {
    width * 1024
}

fn read_nodes<R: Read>(
    sc: &mut Scanner<'_, R>,
    l: &Layout,
    snap: &mut HeapSnapshot,
    keep: Keep,
    edge_counts: &mut Vec<u32>,
    edge_sum: &mut u64,
) -> Result<(), HeapError> {
    let width = l.node_width;
    if width > 16 {
        return Err(HeapError::BadMeta(format!(
            "nodes have {width} fields; at most 16 are supported"
        )));
    }
    let kinds = l.node_kinds.len() as u64;
    let n = sc.read_u64_batches(batch_of(width), |vals, offset| {
        for record in vals.chunks_exact(width) {
            let t = record[l.n_type];
            if t >= kinds {
                return Err(HeapError::Inconsistent {
                    offset,
                    message: format!("node type {t} is not in meta.node_types"),
                });
            }
            snap.node_type.push(t as u8);
            snap.node_name
                .push(to_u32(record[l.n_name], offset, "node name index")?);
            snap.node_id
                .push(to_u32(record[l.n_id], offset, "node id")?);
            snap.push_self_size(record[l.n_self_size]);
            let count = to_u32(record[l.n_edge_count], offset, "edge count")?;
            *edge_sum += count as u64;
            if keep == Keep::Everything {
                edge_counts.push(count);
            }
        }
        Ok(())
    })?;
    if n % width as u64 != 0 {
        return Err(HeapError::Inconsistent {
            offset: sc.offset(),
            message: format!(
                "the nodes array holds {n} numbers, not a multiple of the {width} node fields"
            ),
        });
    }
    Ok(())
}

fn read_edges<R: Read>(
    sc: &mut Scanner<'_, R>,
    l: &Layout,
    snap: &mut HeapSnapshot,
    keep: Keep,
) -> Result<(), HeapError> {
    let width = l.edge_width;
    let node_width = l.node_width as u64;
    if width > 8 {
        return Err(HeapError::BadMeta(format!(
            "edges have {width} fields; at most 8 are supported"
        )));
    }
    let kinds = l.edge_kinds.len() as u64;
    let mut count = 0u64;
    let n = sc.read_u64_batches(batch_of(width), |vals, offset| {
        if keep != Keep::Everything {
            count += (vals.len() / width) as u64;
            return Ok(());
        }
        for record in vals.chunks_exact(width) {
            count += 1;
            let t = record[l.e_type];
            let to = record[l.e_to];
            if t >= kinds || to % node_width != 0 {
                return Err(HeapError::Inconsistent {
                    offset,
                    message: format!(
                        "edge {} has type {t} / to_node {to}, which the meta does not allow",
                        count - 1
                    ),
                });
            }
            snap.edge_type.push(t as u8);
            snap.edge_name
                .push(to_u32(record[l.e_name], offset, "edge name")?);
            snap.edge_to
                .push(to_u32(to / node_width, offset, "edge target")?);
        }
        Ok(())
    })?;
    if n % width as u64 != 0 {
        return Err(HeapError::Inconsistent {
            offset: sc.offset(),
            message: format!(
                "the edges array holds {n} numbers, not a multiple of the {width} edge fields"
            ),
        });
    }
    snap.edge_total = count;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny snapshot with the fields in an unusual order, to prove offsets come from meta.
    pub(crate) const TINY: &str = r#"{"snapshot":{"meta":{"node_fields":["id","type","name","edge_count","self_size"],
"node_types":["number",["synthetic","object","string"],"string","number","number"],
"edge_fields":["to_node","type","name_or_index"],"edge_types":["node",["property","element","weak"],"string_or_number"]},
"node_count":3,"edge_count":2},
"nodes":[1,0,0,1,0, 3,1,1,1,100, 5,2,2,0,20],
"edges":[5,0,3, 10,0,4],
"strings":["","Foo","hello","child","name"]}"#;

    #[test]
    fn reads_fields_in_meta_order() {
        let s = HeapSnapshot::from_bytes(TINY.as_bytes(), Keep::Everything).unwrap();
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.node_id, vec![1, 3, 5]);
        assert_eq!(s.kind(1), NodeKind::Object);
        assert_eq!(s.name(1), "Foo");
        assert_eq!(s.self_size(2), 20);
        assert_eq!(s.edges(0), 0..1);
        assert_eq!(s.edge_to[0], 1);
        assert_eq!(s.edge_label(1), "name");
        assert_eq!(s.edge_to[1], 2);
        assert_eq!(s.class_name(2), "(string)");
    }

    #[test]
    fn nodes_only_skips_edges() {
        let s = HeapSnapshot::from_bytes(TINY.as_bytes(), Keep::NodesOnly).unwrap();
        assert_eq!(s.edge_total, 2);
        assert!(!s.has_edges());
    }

    #[test]
    fn truncation_is_reported_with_offset() {
        for cut in [10, 200, 400, TINY.len() - 3] {
            let err =
                HeapSnapshot::from_bytes(&TINY.as_bytes()[..cut], Keep::Everything).unwrap_err();
            assert!(
                matches!(err, HeapError::Truncated { .. }),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn self_sizes_above_4_gib_are_kept() {
        let big = TINY.replace("5,2,2,0,20]", "5,2,2,0,6000000000]");
        let s = HeapSnapshot::from_bytes(big.as_bytes(), Keep::Everything).unwrap();
        assert_eq!(s.self_size(2), 6_000_000_000);
        assert_eq!(s.self_size(1), 100);
    }

    #[test]
    fn wrong_meta_is_rejected() {
        let bad = TINY.replace("\"self_size\"]", "\"size\"]");
        let err = HeapSnapshot::from_bytes(bad.as_bytes(), Keep::Everything).unwrap_err();
        assert!(matches!(err, HeapError::BadMeta(_)), "{err}");
        assert!(err.to_string().contains("self_size"));
    }

    #[test]
    fn other_json_is_not_a_snapshot() {
        let err = HeapSnapshot::from_bytes(br#"{"a": [1,2]}"#, Keep::Everything).unwrap_err();
        assert!(matches!(err, HeapError::NotSnapshot(_)), "{err}");
        let err = HeapSnapshot::from_bytes(b"\x1f\x8b\x08", Keep::Everything).unwrap_err();
        assert!(matches!(err, HeapError::NotSnapshot(_)), "{err}");
    }

    #[test]
    fn edge_past_last_node_is_rejected() {
        let bad = TINY.replace("\"edges\":[5,0,3", "\"edges\":[50,0,3");
        let err = HeapSnapshot::from_bytes(bad.as_bytes(), Keep::Everything).unwrap_err();
        assert!(matches!(err, HeapError::Inconsistent { .. }), "{err}");
    }
}
