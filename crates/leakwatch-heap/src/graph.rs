//! Graph algorithms over a [`HeapSnapshot`]: the dominator tree (semi-NCA, a
//! Lengauer–Tarjan variant with iterative path compression, O(E log N) and no
//! recursion), retained sizes, and shortest retainer paths from the root (one
//! BFS that records each node's parent edge). Weak edges are ignored by both,
//! as in Chrome DevTools: they do not keep anything alive.

use crate::snapshot::{EdgeKind, HeapSnapshot, NodeIdx};

pub const NONE: u32 = u32::MAX;

/// Dominator tree in preorder (DFS) numbering plus retained sizes.
pub struct Dominators {
    /// DFS number of each node, `NONE` if unreachable from the root.
    pub dfn: Vec<u32>,
    /// Node at each DFS number.
    pub order: Vec<NodeIdx>,
    /// Immediate dominator of each DFS number, as a DFS number (root: itself).
    pub idom: Vec<u32>,
    /// Retained size by DFS number (see [`Dominators::retained`]).
    retained_by_dfn: Vec<u64>,
}

impl Dominators {
    pub fn reachable(&self, n: NodeIdx) -> bool {
        self.dfn[n as usize] != NONE
    }

    /// Retained size of a node: itself plus everything it dominates (0 if unreachable).
    pub fn retained(&self, n: NodeIdx) -> u64 {
        match self.dfn[n as usize] {
            NONE => 0,
            d => self.retained_by_dfn[d as usize],
        }
    }

    /// The node's immediate dominator (the root dominates itself).
    pub fn idom_of(&self, n: NodeIdx) -> Option<NodeIdx> {
        let d = self.dfn[n as usize];
        if d == NONE {
            return None;
        }
        Some(self.order[self.idom[d as usize] as usize])
    }
}

fn follows(snap: &HeapSnapshot, e: usize) -> bool {
    snap.edge_kind(e) != EdgeKind::Weak
}

/// Computes dominators from node 0 (V8's synthetic root) and frees the
/// snapshot's edges once the predecessor lists are built: nothing after needs
/// them, and dropping them before the semi-dominator pass is what keeps peak
/// memory below the snapshot file's size.
pub fn dominators(snap: &mut HeapSnapshot) -> Dominators {
    let n = snap.node_count();
    let mut dfn = vec![NONE; n];
    let mut order: Vec<NodeIdx> = Vec::with_capacity(n);
    let mut parent: Vec<u32> = Vec::with_capacity(n);
    if n == 0 || !snap.has_edges() {
        snap.free_edges();
        if n > 0 {
            dfn[0] = 0;
            order.push(0);
            return Dominators {
                dfn,
                order,
                idom: vec![0],
                retained_by_dfn: vec![snap.self_size(0)],
            };
        }
        return Dominators {
            dfn,
            order,
            idom: vec![],
            retained_by_dfn: vec![],
        };
    }
    // Weak edges keep nothing alive: mark them by a `NONE` target, so the
    // edge kinds (and names) can be freed before the big arrays below exist.
    for e in 0..snap.edge_to.len() {
        if !follows(snap, e) {
            snap.edge_to[e] = NONE;
        }
    }
    snap.edge_type = Vec::new();
    snap.free_edge_names();
    // Iterative preorder DFS: stack of (node, next edge).
    let mut stack: Vec<(NodeIdx, u32)> = vec![(0, snap.first_edge[0])];
    dfn[0] = 0;
    order.push(0);
    parent.push(0);
    while let Some(top) = stack.last_mut() {
        let (v, ref mut next) = *top;
        let end = snap.first_edge[v as usize + 1];
        let mut pushed = None;
        while *next < end {
            let e = *next as usize;
            *next += 1;
            let w = snap.edge_to[e];
            if w != NONE && dfn[w as usize] == NONE {
                dfn[w as usize] = order.len() as u32;
                parent.push(dfn[v as usize]);
                order.push(w);
                pushed = Some(w);
                break;
            }
        }
        match pushed {
            Some(w) => stack.push((w, snap.first_edge[w as usize])),
            None => {
                stack.pop();
            }
        }
    }
    drop(stack);
    let m = order.len();
    // Edge targets to DFS numbers in place (the node → DFS number map is
    // then rebuilt from `order` only at the end), counting each node's
    // predecessors on the way for the predecessor lists in DFS-number
    // space (CSR).
    let mut pred_start = vec![0u32; m + 1];
    for &v in &order {
        for e in snap.edges(v) {
            let w = snap.edge_to[e];
            if w != NONE {
                let d = dfn[w as usize];
                snap.edge_to[e] = d;
                pred_start[d as usize + 1] += 1;
            }
        }
    }
    drop(dfn);
    for i in 0..m {
        pred_start[i + 1] += pred_start[i];
    }
    // Fill using pred_start[w] as a cursor, then shift the starts back.
    let mut preds = vec![0u32; pred_start[m] as usize];
    for (d, &v) in order.iter().enumerate() {
        for e in snap.edges(v) {
            let w = snap.edge_to[e];
            if w != NONE {
                preds[pred_start[w as usize] as usize] = d as u32;
                pred_start[w as usize] += 1;
            }
        }
    }
    for i in (1..=m).rev() {
        pred_start[i] = pred_start[i - 1];
    }
    pred_start[0] = 0;
    // From here on only DFS numbers are used: the edges go.
    snap.free_edges();

    let mut semi: Vec<u32> = (0..m as u32).collect();
    let mut label: Vec<u32> = (0..m as u32).collect();
    let mut ancestor = vec![NONE; m];
    let mut chain: Vec<u32> = Vec::new();
    for w in (1..m).rev() {
        for &v in &preds[pred_start[w] as usize..pred_start[w + 1] as usize] {
            let u = eval(v, &mut ancestor, &mut label, &semi, &mut chain);
            if semi[u as usize] < semi[w] {
                semi[w] = semi[u as usize];
            }
        }
        ancestor[w] = parent[w];
    }
    drop(preds);
    drop(pred_start);
    drop(ancestor);
    drop(label);
    let mut idom = parent;
    idom[0] = 0;
    for w in 1..m {
        let mut d = idom[w];
        while d > semi[w] {
            d = idom[d as usize];
        }
        idom[w] = d;
    }
    drop(semi);
    let mut by_dfn: Vec<u64> = order.iter().map(|&v| snap.self_size(v)).collect();
    for w in (1..m).rev() {
        let s = by_dfn[w];
        by_dfn[idom[w] as usize] += s;
    }
    let mut dfn = vec![NONE; n];
    for (d, &v) in order.iter().enumerate() {
        dfn[v as usize] = d as u32;
    }
    Dominators {
        dfn,
        order,
        idom,
        retained_by_dfn: by_dfn,
    }
}

/// LT's EVAL with path compression, iterative so deep heaps cannot overflow the stack.
fn eval(
    v: u32,
    ancestor: &mut [u32],
    label: &mut [u32],
    semi: &[u32],
    chain: &mut Vec<u32>,
) -> u32 {
    if ancestor[v as usize] == NONE {
        return v;
    }
    chain.clear();
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != NONE {
        chain.push(x);
        x = ancestor[x as usize];
    }
    while let Some(y) = chain.pop() {
        let a = ancestor[y as usize];
        if semi[label[a as usize] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[a as usize];
        }
        ancestor[y as usize] = ancestor[a as usize];
    }
    label[v as usize]
}

/// The edge that first reached a node on its shortest path: its kind and
/// its name (a string index, or an element index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeLabel {
    pub kind: EdgeKind,
    pub name: u32,
}

/// Shortest paths from the root: each reachable node's parent node and the
/// label of the edge from it. Labels are copied out of the snapshot so its
/// edge columns can be freed before the dominator tree is computed.
pub struct RetainerTree {
    /// Node that first reached each node; `NONE` for unreachable nodes, the
    /// root points to itself.
    parent_node: Vec<u32>,
    /// Name of that edge (see [`EdgeLabel`]).
    parent_name: Vec<u32>,
    parent_kind: Vec<EdgeKind>,
}

impl RetainerTree {
    /// The path from the root to `n` as (edge, node) steps; empty for the root or unreachable nodes.
    pub fn path(&self, n: NodeIdx) -> Vec<(EdgeLabel, NodeIdx)> {
        let mut steps = Vec::new();
        let mut cur = n;
        while let Some(p) = self.parent(cur) {
            steps.push((self.label(cur), cur));
            cur = p;
            if steps.len() > self.parent_node.len() {
                break;
            }
        }
        steps.reverse();
        steps
    }

    pub fn parent(&self, n: NodeIdx) -> Option<NodeIdx> {
        match self.parent_node[n as usize] {
            NONE => None,
            p if p == n => None,
            p => Some(p),
        }
    }

    /// Label of the edge from `n`'s parent (meaningless for the root).
    pub fn label(&self, n: NodeIdx) -> EdgeLabel {
        EdgeLabel {
            kind: self.parent_kind[n as usize],
            name: self.parent_name[n as usize],
        }
    }
}

/// BFS from the root skipping weak edges. Edges into user-visible roots are
/// explored before internal ones at each level, so paths prefer what a user
/// wrote (a global, a closure variable) over engine internals of equal length.
pub fn retainer_tree(snap: &HeapSnapshot) -> RetainerTree {
    let n = snap.node_count();
    let mut tree = RetainerTree {
        parent_node: vec![NONE; n],
        parent_name: vec![0; n],
        parent_kind: vec![EdgeKind::Other; n],
    };
    if n == 0 || !snap.has_edges() {
        return tree;
    }
    tree.parent_node[0] = 0;
    let mut frontier: Vec<NodeIdx> = vec![0];
    let mut next: Vec<NodeIdx> = Vec::new();
    let mut deferred: Vec<(usize, NodeIdx, NodeIdx)> = Vec::new();
    let reach = |tree: &mut RetainerTree, e: usize, v: NodeIdx, w: NodeIdx| {
        tree.parent_node[w as usize] = v;
        tree.parent_name[w as usize] = snap.edge_name[e];
        tree.parent_kind[w as usize] = snap.edge_kind(e);
    };
    while !frontier.is_empty() {
        for &v in &frontier {
            for e in snap.edges(v) {
                if !follows(snap, e) {
                    continue;
                }
                let w = snap.edge_to[e];
                if tree.parent_node[w as usize] != NONE {
                    continue;
                }
                if matches!(snap.edge_kind(e), EdgeKind::Internal | EdgeKind::Hidden) {
                    deferred.push((e, v, w));
                    continue;
                }
                reach(&mut tree, e, v, w);
                next.push(w);
            }
        }
        for (e, v, w) in deferred.drain(..) {
            if tree.parent_node[w as usize] == NONE {
                reach(&mut tree, e, v, w);
                next.push(w);
            }
        }
        std::mem::swap(&mut frontier, &mut next);
        next.clear();
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Keep;

    /// Builds a snapshot JSON from an edge list; node i has id 2i+1 and self size 10.
    pub(crate) fn snapshot_json(nodes: usize, edges: &[(usize, usize, &str)]) -> String {
        let mut out = String::from(
            r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["synthetic","object"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["property","weak"],"string_or_number","node"]}},"nodes":["#,
        );
        let mut strings = vec!["".to_string(), "Obj".to_string()];
        let mut node_parts = vec![];
        for i in 0..nodes {
            let count = edges.iter().filter(|e| e.0 == i).count();
            node_parts.push(format!(
                "{},1,{},10,{}",
                if i == 0 { 0 } else { 1 },
                2 * i + 1,
                count
            ));
        }
        out += &node_parts.join(",");
        out += r#"],"edges":["#;
        let mut edge_parts = vec![];
        for i in 0..nodes {
            for (from, to, kind) in edges {
                if *from == i {
                    strings.push(format!("e{from}_{to}"));
                    let t = if *kind == "weak" { 1 } else { 0 };
                    edge_parts.push(format!("{t},{},{}", strings.len() - 1, to * 5));
                }
            }
        }
        out += &edge_parts.join(",");
        out += r#"],"strings":["#;
        out += &strings
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",");
        out += "]}";
        out
    }

    /// Naive dominators: d dominates w iff w is unreachable from the root without d.
    fn naive_idom(nodes: usize, edges: &[(usize, usize, &str)]) -> Vec<Option<usize>> {
        let reach = |skip: Option<usize>| {
            let mut seen = vec![false; nodes];
            let mut stack = vec![0usize];
            if skip == Some(0) {
                return seen;
            }
            seen[0] = true;
            while let Some(v) = stack.pop() {
                for (f, t, k) in edges {
                    if *f == v && *k != "weak" && !seen[*t] && Some(*t) != skip {
                        seen[*t] = true;
                        stack.push(*t);
                    }
                }
            }
            seen
        };
        let all = reach(None);
        let doms: Vec<Vec<bool>> = (0..nodes).map(|d| reach(Some(d))).collect();
        (0..nodes)
            .map(|w| {
                if w == 0 || !all[w] {
                    return None;
                }
                // Strict dominators of w; the immediate one is dominated by all others.
                let strict: Vec<usize> = (0..nodes).filter(|&d| d != w && !doms[d][w]).collect();
                strict
                    .iter()
                    .copied()
                    .find(|&c| {
                        strict
                            .iter()
                            .all(|&o| o == c || !doms[o][c] || o == 0 && c == 0)
                    })
                    .or(Some(0))
            })
            .collect()
    }

    #[test]
    fn diamond_and_chain() {
        // 0 -> 1 -> 2, 0 -> 3 -> 2, 2 -> 4, 4 -weak-> 5
        let edges = [
            (0, 1, "p"),
            (1, 2, "p"),
            (0, 3, "p"),
            (3, 2, "p"),
            (2, 4, "p"),
            (4, 5, "weak"),
        ];
        let s = HeapSnapshot::from_bytes(snapshot_json(6, &edges).as_bytes(), Keep::Everything)
            .unwrap();
        let r = retainer_tree(&s);
        assert_eq!(r.path(4).len(), 3);
        let mut s = s;
        let d = dominators(&mut s);
        assert!(!s.has_edges(), "edges are freed");
        assert_eq!(d.idom_of(2), Some(0));
        assert_eq!(d.idom_of(4), Some(2));
        assert!(!d.reachable(5));
        assert_eq!(d.retained(2), 20);
        assert_eq!(d.retained(0), 50);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_naive_dominators(raw in proptest::collection::vec((0usize..12, 0usize..12, any::<bool>()), 0..40)) {
            let nodes = 12;
            let edges: Vec<(usize, usize, &str)> = raw.iter().map(|&(a, b, w)| (a, b, if w { "weak" } else { "p" })).collect();
            let mut s = HeapSnapshot::from_bytes(snapshot_json(nodes, &edges).as_bytes(), Keep::Everything).unwrap();
            // BFS paths are shortest: compare with BFS depth.
            let r = retainer_tree(&s);
            let d = dominators(&mut s);
            let naive = naive_idom(nodes, &edges);
            for w in 1..nodes {
                prop_assert_eq!(d.idom_of(w as u32).map(|x| x as usize), naive[w], "node {}", w);
            }
            for w in 1..nodes {
                prop_assert_eq!(r.path(w as u32).is_empty(), naive[w].is_none());
            }
        }
    }
}
