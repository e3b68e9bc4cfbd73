//! The rule engine: one parse per file, a preorder node table with subtree
//! ranges for fast scope queries, and one analyzer per language family.

use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::config::RuleOptions;
use crate::lang::Lang;
use crate::rules::Rule;

mod go;
mod java;
mod js;
mod python;

/// A finding before it is given a path and a snippet.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: Rule,
    pub start_byte: usize,
    pub end_byte: usize,
    pub line: usize,
    pub col_byte: usize,
    pub message: String,
    pub fix: String,
}

/// Runs every analyzer for `lang` over a parsed tree.
pub fn analyze(lang: Lang, src: &str, tree: &Tree, opts: &RuleOptions) -> Vec<Hit> {
    let mut cx = Ctx::new(src, lang, tree, opts);
    match lang {
        Lang::Python => python::check(&mut cx),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => js::check(&mut cx),
        Lang::Go => go::check(&mut cx),
        Lang::Java => java::check(&mut cx),
    }
    let mut hits = std::mem::take(&mut cx.hits);
    if cx.root.has_error() {
        // Where the parse failed, scopes and declarations are unreliable:
        // drop findings that touch an error and declaration-based rules.
        let errors: Vec<(usize, usize)> = cx
            .nodes
            .iter()
            .filter(|n| n.is_error() || n.is_missing())
            .map(|n| (n.start_byte(), n.end_byte()))
            .collect();
        hits.retain(|h| {
            h.rule != Rule::AccidentalGlobal
                && !errors
                    .iter()
                    .any(|(s, e)| h.start_byte <= *e && *s <= h.end_byte)
        });
    }
    hits.sort_by_key(|h| (h.start_byte, h.rule));
    hits.dedup_by(|a, b| a.rule == b.rule && a.line == b.line);
    hits
}

/// Per-file analysis context: the source, every node in preorder and where
/// each node's subtree ends in that order.
pub(crate) struct Ctx<'a> {
    pub src: &'a str,
    pub lang: Lang,
    pub root: Node<'a>,
    pub nodes: Vec<Node<'a>>,
    subtree_end: Vec<usize>,
    by_kind: HashMap<&'static str, Vec<usize>>,
    pub hits: Vec<Hit>,
    pub opts: &'a RuleOptions,
}

impl<'a> Ctx<'a> {
    fn new(src: &'a str, lang: Lang, tree: &'a Tree, opts: &'a RuleOptions) -> Self {
        let root = tree.root_node();
        let mut nodes = Vec::new();
        let mut subtree_end = Vec::new();
        let mut by_kind: HashMap<&'static str, Vec<usize>> = HashMap::new();
        // One entry per cursor depth: the node's index if it is named.
        let mut stack: Vec<Option<usize>> = Vec::new();
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            if node.is_named() {
                let idx = nodes.len();
                nodes.push(node);
                subtree_end.push(idx + 1);
                by_kind.entry(node.kind()).or_default().push(idx);
                stack.push(Some(idx));
            } else {
                stack.push(None);
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if let Some(Some(i)) = stack.pop() {
                    subtree_end[i] = nodes.len();
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        while let Some(top) = stack.pop() {
            if let Some(i) = top {
                subtree_end[i] = nodes.len();
            }
        }
        Ctx {
            src,
            lang,
            root,
            nodes,
            subtree_end,
            by_kind,
            hits: Vec::new(),
            opts,
        }
    }

    /// Index of a named node in preorder: nodes are sorted by start byte
    /// (ancestors first on ties), so binary search then a short scan.
    fn position(&self, n: Node) -> Option<usize> {
        let start = n.start_byte();
        let mut i = self.nodes.partition_point(|x| x.start_byte() < start);
        while i < self.nodes.len() && self.nodes[i].start_byte() == start {
            if self.nodes[i].id() == n.id() {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// The source text of a node.
    pub fn text(&self, n: Node) -> &'a str {
        self.src.get(n.start_byte()..n.end_byte()).unwrap_or("")
    }

    /// Every descendant of `n` (not `n` itself), in preorder.
    pub fn desc(&self, n: Node<'a>) -> &[Node<'a>] {
        match self.position(n) {
            Some(i) => &self.nodes[i + 1..self.subtree_end[i]],
            None => &[],
        }
    }

    /// Named descendants of `n` with the given kind.
    pub fn desc_kind(&self, n: Node<'a>, kind: &str) -> Vec<Node<'a>> {
        self.desc(n)
            .iter()
            .copied()
            .filter(|d| d.kind() == kind)
            .collect()
    }

    /// All nodes of a kind in the file.
    pub fn all(&self, kind: &str) -> Vec<Node<'a>> {
        self.by_kind
            .get(kind)
            .map(|v| v.iter().map(|&i| self.nodes[i]).collect())
            .unwrap_or_default()
    }

    /// The nearest strict ancestor whose kind is one of `kinds`.
    pub fn enclosing(&self, n: Node<'a>, kinds: &[&str]) -> Option<Node<'a>> {
        let mut cur = n.parent();
        while let Some(p) = cur {
            if kinds.contains(&p.kind()) {
                return Some(p);
            }
            cur = p.parent();
        }
        None
    }

    /// True when `inner` lies inside `outer` (or is it).
    pub fn inside(inner: Node, outer: Node) -> bool {
        inner.start_byte() >= outer.start_byte() && inner.end_byte() <= outer.end_byte()
    }

    pub fn field(n: Node<'a>, name: &str) -> Option<Node<'a>> {
        n.child_by_field_name(name)
    }

    pub fn enabled(&self, rule: Rule) -> bool {
        self.opts.enabled(rule)
    }

    pub fn hit(&mut self, rule: Rule, node: Node, message: String, fix: &str) {
        if !self.enabled(rule) {
            return;
        }
        let p = node.start_position();
        self.hits.push(Hit {
            rule,
            start_byte: node.start_byte(),
            end_byte: node.end_byte(),
            line: p.row + 1,
            col_byte: p.column,
            message,
            fix: fix.to_string(),
        });
    }
}

pub fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// True when `needle` occurs in `hay` not glued to a longer identifier on
/// either side (so `f.close(` does not match `buf.close(`).
pub fn mentions(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let first_ident = needle.chars().next().is_some_and(is_ident_char);
    // `f.close(` must not match `self.f.close(`; `closeSync(fd` may follow `fs.`.
    let qualified = needle
        .split('(')
        .next()
        .is_some_and(|head| head.contains('.'));
    let last_ident = needle.chars().last().is_some_and(is_ident_char);
    let mut from = 0;
    while let Some(pos) = hay[from..].find(needle) {
        let start = from + pos;
        let end = start + needle.len();
        let before_ok = !first_ident
            || hay[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !is_ident_char(c) && (c != '.' || !qualified));
        let after_ok = !last_ident || hay[end..].chars().next().is_none_or(|c| !is_ident_char(c));
        if before_ok && after_ok {
            return true;
        }
        from = start + needle.len().max(1);
        while from < hay.len() && !hay.is_char_boundary(from) {
            from += 1;
        }
        if from >= hay.len() {
            break;
        }
    }
    false
}

/// True when any of `needles` is mentioned in `hay`.
pub fn mentions_any(hay: &str, needles: &[String]) -> bool {
    needles.iter().any(|n| mentions(hay, n))
}

/// The identifier at the root of a dotted/member chain (`a` in `a.b.c`).
pub fn root_ident(text: &str) -> &str {
    let end = text
        .char_indices()
        .find(|(_, c)| !is_ident_char(*c))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    &text[..end]
}

/// Finds an SQL statement that reads rows with no LIMIT, skipping catalog
/// queries and single-row aggregates. `sql` is a string literal's text.
pub fn unbounded_select(sql: &str) -> bool {
    let up = sql.to_ascii_uppercase();
    let trimmed = up
        .trim_start_matches(['"', '\'', '`', 'F', 'R', 'B'])
        .trim_start();
    if !trimmed.starts_with("SELECT") {
        return false;
    }
    let bounded = [
        " LIMIT ",
        " LIMIT\n",
        "LIMIT %",
        "LIMIT ?",
        "LIMIT $",
        "FETCH FIRST",
        " TOP ",
        "ROWNUM",
        " OFFSET ",
    ];
    if bounded.iter().any(|b| up.contains(b))
        || up.trim_end_matches(['"', '\'', '`']).ends_with("LIMIT 1")
    {
        return false;
    }
    let catalog = [
        "INFORMATION_SCHEMA",
        "PG_",
        "SQLITE_MASTER",
        "SQLITE_SCHEMA",
        "PRAGMA",
        "USER_",
        "ALL_",
        "SYS.",
        "DUAL",
        "VERSION()",
    ];
    if catalog.iter().any(|c| up.contains(c)) {
        return false;
    }
    let aggregates = ["COUNT(", "SUM(", "MAX(", "MIN(", "AVG(", "EXISTS("];
    let select_list = up.split(" FROM ").next().unwrap_or("");
    if aggregates.iter().any(|a| select_list.contains(a)) && !up.contains("GROUP BY") {
        return false;
    }
    // A primary-key lookup returns one row.
    let pk = ["WHERE ID =", "WHERE ID=", ".ID =", " PK =", "WHERE UUID ="];
    if pk.iter().any(|p| up.contains(p)) {
        return false;
    }
    up.contains(" FROM ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_respects_identifier_boundaries() {
        assert!(mentions("x; f.close()", "f.close("));
        assert!(!mentions("buf.close()", "f.close("));
        assert!(!mentions("self.f.close()", "f.close("));
        assert!(mentions(
            "clearInterval(this.timer)",
            "clearInterval(this.timer"
        ));
        assert!(!mentions("cache_size", "cache"));
        assert!(mentions("fs.closeSync(fd)", "closeSync(fd"));
    }

    #[test]
    fn sql_limits() {
        assert!(unbounded_select("\"SELECT * FROM events\""));
        assert!(!unbounded_select("\"SELECT * FROM events LIMIT 10\""));
        assert!(!unbounded_select("'SELECT count(*) FROM events'"));
        assert!(!unbounded_select(
            "'SELECT table_name FROM information_schema.tables'"
        ));
        assert!(!unbounded_select("'UPDATE t SET x = 1'"));
    }
}
