//! The rule engine: one parse per file, a preorder node table with subtree
//! ranges for fast scope queries, and one analyzer per language family.

use std::cell::Cell;
use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::config::RuleOptions;
use crate::lang::Lang;
use crate::rules::Rule;

mod go;
mod growth;
mod java;
mod js;
mod php;
mod python;
mod ruby;
mod tree;

pub use tree::{ArgMask, MethodRef, Slot, StoredArgs, TreeFacts, Unless};

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
    /// Set when the finding rests on what other files may refute.
    pub unless: Option<Unless>,
}

/// Per-file limits that keep the analysis linear in the file size: files
/// nested deeper than `max_depth` named levels are not analysed (every
/// ancestor query is bounded by the depth), and the analysis stops at
/// `deadline`. Either way the file is reported as skipped, never judged.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub deadline: Option<std::time::Instant>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
            deadline: None,
        }
    }
}

/// What an HTML page tells about the tree: the names its inline scripts
/// declare at their top level, globals every script of the page shares.
pub(crate) fn page_facts(page: &str) -> TreeFacts {
    let mut facts = TreeFacts::default();
    let names = js::inline_script_globals(page);
    if names.is_empty() {
        return facts;
    }
    for script in loaded_scripts(page) {
        for name in &names {
            facts.page_global(&script, name);
        }
    }
    facts
}

/// The file names of the scripts a page loads (`<script src="js/app.js?v=2">`
/// gives `app.js`).
fn loaded_scripts(page: &str) -> Vec<String> {
    let lower = page.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find("<script").map(|i| at + i) {
        let end = lower[open..].find('>').map_or(page.len(), |i| open + i);
        let tag = &page[open..end];
        let tag_lower = &lower[open..end];
        // The `src` attribute itself, not `data-src`.
        let src = tag_lower
            .match_indices("src=")
            .map(|(i, _)| i)
            .find(|&i| i > 0 && tag_lower.as_bytes()[i - 1].is_ascii_whitespace())
            .map(|i| i + 4);
        if let Some(src) = src {
            let rest = &tag[src..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest.split([' ', '\t', '\n']).next().unwrap_or(""),
            };
            let path = value.split(['?', '#']).next().unwrap_or("");
            let file = path.rsplit('/').next().unwrap_or("");
            if !file.is_empty() {
                out.push(file.to_string());
            }
        }
        at = end;
    }
    out
}

/// The name other files of the tree import a file by: a Python module's
/// stem (`wmlparser3` for `wesnoth/wmlparser3.py`), a package's directory
/// for its `__init__.py`. A script without `.py`, or `__main__.py`, is run,
/// never imported.
fn importable_name(lang: Lang, path: &str) -> Option<String> {
    if lang != Lang::Python {
        return None;
    }
    let path = std::path::Path::new(path);
    if path.extension().and_then(|e| e.to_str()) != Some("py") {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    match stem {
        "__main__" => None,
        "__init__" => path
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|d| d.to_str())
            .map(str::to_string),
        _ => Some(stem.to_string()),
    }
}

/// Deeper than any hand-written code (Django's deepest file is under 60
/// named levels); only generated or hostile files reach it.
pub const DEFAULT_MAX_DEPTH: usize = 1500;

/// Why an analysis was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    TooDeep { depth: usize },
    TimeLimit,
}

/// Runs every analyzer for `lang` over a parsed tree, the file taken as its
/// own tree.
pub fn analyze(lang: Lang, src: &str, tree: &Tree, opts: &RuleOptions) -> Vec<Hit> {
    let Ok((mut hits, facts)) = analyze_within(lang, src, tree, opts, Limits::default(), "") else {
        return Vec::new();
    };
    hits.retain(|h| !h.unless.as_ref().is_some_and(|u| facts.holds(u)));
    hits
}

/// [`analyze`] within per-file limits; `path` names the file (empty for a
/// text of no file).
pub fn analyze_within(
    lang: Lang,
    src: &str,
    tree: &Tree,
    opts: &RuleOptions,
    limits: Limits,
    path: &str,
) -> Result<(Vec<Hit>, TreeFacts), Abandoned> {
    let mut cx = Ctx::new(src, lang, tree, opts, limits.deadline);
    cx.importable_as = importable_name(lang, path);
    cx.file_name = path.rsplit(['/', '\\']).next().unwrap_or("").to_string();
    if cx.max_depth > limits.max_depth {
        return Err(Abandoned::TooDeep {
            depth: cx.max_depth,
        });
    }
    match lang {
        Lang::Python => python::check(&mut cx),
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => js::check(&mut cx),
        Lang::Go => go::check(&mut cx),
        Lang::Java => java::check(&mut cx),
        Lang::Ruby => ruby::check(&mut cx),
        Lang::Php => php::check(&mut cx),
    }
    if cx.expired() {
        // Queries answered empty after the deadline: what was found may
        // rest on missing facts (a removal not seen), so nothing is kept.
        return Err(Abandoned::TimeLimit);
    }
    let mut hits = std::mem::take(&mut cx.hits);
    if cx.root.has_error() {
        // Where the parse failed, scopes and declarations are unreliable:
        // drop findings that touch an error and declaration-based rules.
        let mut errors: Vec<(usize, usize)> = cx
            .nodes
            .iter()
            .filter(|n| n.is_error() || n.is_missing())
            .map(|n| (n.start_byte(), n.end_byte()))
            .collect();
        errors.sort_unstable();
        // Longest error end among errors starting at or before each one.
        let mut reach = Vec::with_capacity(errors.len());
        let mut far = 0;
        for (_, e) in &errors {
            far = far.max(*e);
            reach.push(far);
        }
        hits.retain(|h| {
            if h.rule == Rule::AccidentalGlobal {
                return false;
            }
            let upto = errors.partition_point(|(s, _)| *s <= h.end_byte);
            upto == 0 || reach[upto - 1] < h.start_byte
        });
    }
    hits.sort_by_key(|h| (h.start_byte, h.rule));
    hits.dedup_by(|a, b| a.rule == b.rule && a.line == b.line);
    Ok((hits, std::mem::take(&mut cx.facts)))
}

/// The node kinds that open a function scope in each language: the
/// ancestor query for them is answered from a precomputed table.
fn function_kinds(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => python::FN,
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => js::FN,
        Lang::Go => go::FN,
        Lang::Java => java::FN,
        Lang::Ruby => ruby::FN,
        Lang::Php => php::FN,
    }
}

const NONE: u32 = u32::MAX;

/// Per-file analysis context: the source, every named node in preorder,
/// where each node's subtree ends in that order, its parent and its nearest
/// enclosing function (so ancestor queries never walk the tree: tree-sitter's
/// own `parent()` descends from the root, which made deep files cubic).
pub(crate) struct Ctx<'a> {
    pub src: &'a str,
    pub lang: Lang,
    pub root: Node<'a>,
    pub nodes: Vec<Node<'a>>,
    subtree_end: Vec<u32>,
    parent: Vec<u32>,
    func: Vec<u32>,
    fn_kinds: &'static [&'static str],
    by_kind: HashMap<&'static str, Vec<u32>>,
    pub max_depth: usize,
    pub hits: Vec<Hit>,
    /// What this file tells about its tree (calls, class methods).
    pub facts: TreeFacts,
    pub opts: &'a RuleOptions,
    deadline: Option<std::time::Instant>,
    work: Cell<u32>,
    expired: Cell<bool>,
    /// (kind, text) -> indices in preorder, built on first use.
    by_text: std::cell::OnceCell<HashMap<(&'static str, &'a str), Vec<u32>>>,
    /// The name other files import this one by, if it can be imported
    /// (a Python `.py` file: its stem; `__init__.py`: its directory's).
    pub importable_as: Option<String>,
    /// The file's name, without its directory (empty for a text of no
    /// file): what an HTML page's `<script src>` names it by.
    pub file_name: String,
}

impl<'a> Ctx<'a> {
    fn new(
        src: &'a str,
        lang: Lang,
        tree: &'a Tree,
        opts: &'a RuleOptions,
        deadline: Option<std::time::Instant>,
    ) -> Self {
        let root = tree.root_node();
        let fn_kinds = function_kinds(lang);
        let mut nodes: Vec<Node<'a>> = Vec::new();
        let mut subtree_end: Vec<u32> = Vec::new();
        let mut parent: Vec<u32> = Vec::new();
        let mut func: Vec<u32> = Vec::new();
        let mut by_kind: HashMap<&'static str, Vec<u32>> = HashMap::new();
        // The ancestor stack: one entry per cursor depth, the node's index
        // if it is named.
        let mut stack: Vec<Option<u32>> = Vec::new();
        // Named ancestors only, with the nearest enclosing function of each.
        let mut named: Vec<(u32, u32)> = Vec::new();
        let mut max_depth = 0;
        let mut cursor = root.walk();
        'walk: loop {
            let node = cursor.node();
            if node.is_named() {
                let idx = nodes.len() as u32;
                let (par, par_fn) = named.last().copied().unwrap_or((NONE, NONE));
                let encl = match par {
                    NONE => NONE,
                    p if fn_kinds.contains(&nodes[p as usize].kind()) => p,
                    _ => par_fn,
                };
                nodes.push(node);
                subtree_end.push(idx + 1);
                parent.push(par);
                func.push(encl);
                by_kind.entry(node.kind()).or_default().push(idx);
                stack.push(Some(idx));
                named.push((idx, encl));
                max_depth = max_depth.max(named.len());
            } else {
                stack.push(None);
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if let Some(Some(i)) = stack.pop() {
                    subtree_end[i as usize] = nodes.len() as u32;
                    named.pop();
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
                subtree_end[i as usize] = nodes.len() as u32;
            }
        }
        Ctx {
            src,
            lang,
            root,
            nodes,
            subtree_end,
            parent,
            func,
            fn_kinds,
            by_kind,
            max_depth,
            hits: Vec::new(),
            facts: TreeFacts::default(),
            opts,
            deadline,
            work: Cell::new(0),
            expired: Cell::new(false),
            by_text: std::cell::OnceCell::new(),
            importable_as: None,
            file_name: String::new(),
        }
    }

    /// Descendants of `scope` of one kind whose text is `text`, from an
    /// index (so looking up a name in a huge function costs its uses, not
    /// the function's size). Only leaf-like kinds are indexed.
    pub fn named_in(&self, scope: Node<'a>, kind: &'static str, text: &str) -> Vec<Node<'a>> {
        let index = self.by_text.get_or_init(|| {
            let mut m: HashMap<(&'static str, &'a str), Vec<u32>> = HashMap::new();
            for (i, n) in self.nodes.iter().enumerate() {
                if n.named_child_count() == 0 && n.end_byte() - n.start_byte() <= 256 {
                    m.entry((n.kind(), self.text(*n)))
                        .or_default()
                        .push(i as u32);
                }
            }
            m
        });
        let Some(v) = index.get(&(kind, text)) else {
            return Vec::new();
        };
        let Some(i) = self.position(scope) else {
            return Vec::new();
        };
        let end = self.subtree_end[i];
        let from = v.partition_point(|&j| j <= i as u32);
        let upto = v.partition_point(|&j| j < end);
        if !self.spend(upto.saturating_sub(from)) {
            return Vec::new();
        }
        v[from..upto.max(from)]
            .iter()
            .map(|&j| self.nodes[j as usize])
            .collect()
    }

    /// Counts work and checks the deadline every few thousand units.
    fn spend(&self, units: usize) -> bool {
        if self.expired.get() {
            return false;
        }
        let Some(deadline) = self.deadline else {
            return true;
        };
        let w = self.work.get().wrapping_add(units.min(1 << 20) as u32 + 1);
        self.work.set(w & 0x3fff);
        if w > 0x3fff && std::time::Instant::now() > deadline {
            self.expired.set(true);
            return false;
        }
        true
    }

    /// True once the per-file deadline has passed: every query then
    /// answers empty and the analyzers' loops stop.
    pub fn expired(&self) -> bool {
        self.expired.get() || !self.spend(0)
    }

    /// Index of a named node in preorder: nodes are sorted by start byte
    /// and, on ties, ancestors (longer spans) first, so a binary search on
    /// (start, -end) lands on it or on the few wrappers with the same span.
    fn position(&self, n: Node) -> Option<usize> {
        let (start, end) = (n.start_byte(), n.end_byte());
        let mut i = self.nodes.partition_point(|x| {
            let s = x.start_byte();
            s < start || (s == start && x.end_byte() > end)
        });
        // Zero-width nodes (MISSING tokens) may sit before it with the same
        // start; any other node there is an ancestor with the same span.
        while i < self.nodes.len() && self.nodes[i].start_byte() == start {
            let x = self.nodes[i];
            if x.id() == n.id() {
                return Some(i);
            }
            if x.end_byte() < end && x.end_byte() > x.start_byte() {
                return None;
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
            Some(i) => {
                let end = self.subtree_end[i] as usize;
                if !self.spend(end - i) {
                    return &[];
                }
                &self.nodes[i + 1..end]
            }
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
        let v = self.by_kind.get(kind).map(Vec::as_slice).unwrap_or(&[]);
        if !self.spend(v.len()) {
            return Vec::new();
        }
        v.iter().map(|&i| self.nodes[i as usize]).collect()
    }

    /// The parent of a node (from the table: constant time).
    pub fn up(&self, n: Node<'a>) -> Option<Node<'a>> {
        match self.position(n) {
            Some(i) => match self.parent[i] {
                NONE => None,
                p => Some(self.nodes[p as usize]),
            },
            // Anonymous tokens are not in the table.
            None => n.parent(),
        }
    }

    /// The nearest strict ancestor whose kind is one of `kinds`.
    pub fn enclosing(&self, n: Node<'a>, kinds: &[&str]) -> Option<Node<'a>> {
        let mut i = match self.position(n) {
            Some(i) => i,
            None => return n.parent().and_then(|p| self.enclosing_or_self(p, kinds)),
        };
        if kinds == self.fn_kinds {
            return match self.func[i] {
                NONE => None,
                f => Some(self.nodes[f as usize]),
            };
        }
        let mut steps = 0;
        loop {
            let p = self.parent[i];
            if p == NONE {
                break;
            }
            i = p as usize;
            steps += 1;
            if kinds.contains(&self.nodes[i].kind()) {
                let _ = self.spend(steps);
                return Some(self.nodes[i]);
            }
        }
        let _ = self.spend(steps);
        None
    }

    fn enclosing_or_self(&self, n: Node<'a>, kinds: &[&str]) -> Option<Node<'a>> {
        if kinds.contains(&n.kind()) {
            Some(n)
        } else {
            self.enclosing(n, kinds)
        }
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
        self.hit_unless(rule, node, message, fix, None);
    }

    /// A finding that stands unless the tree shows `unless`.
    pub fn hit_unless(
        &mut self,
        rule: Rule,
        node: Node,
        message: String,
        fix: &str,
        unless: Option<Unless>,
    ) {
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
            unless,
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

/// Finds an SQL statement that reads rows with no LIMIT and no key lookup,
/// skipping catalog queries and single-row aggregates. `sql` is a string
/// literal's text (quotes, prefixes and any layout of whitespace allowed).
pub fn unbounded_select(sql: &str) -> bool {
    // One space between words, so multi-line SQL reads like one line.
    let up = sql
        .to_ascii_uppercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let up = format!(
        " {} ",
        up.trim_matches(|c: char| matches!(c, '"' | '\'' | '`' | ' '))
    );
    let trimmed = up
        .trim_start()
        .trim_start_matches(['"', '\'', '`', 'F', 'R', 'B'])
        .trim_start_matches(['"', '\'', '`'])
        .trim_start();
    if !trimmed.starts_with("SELECT") {
        return false;
    }
    let bounded = [" LIMIT ", "FETCH FIRST", " TOP ", "ROWNUM", " OFFSET "];
    if bounded.iter().any(|b| up.contains(b)) {
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
    if !up.contains(" FROM ") {
        return false;
    }
    // A primary-key lookup returns one row.
    let pk = ["WHERE ID =", "WHERE ID=", ".ID =", " PK =", "WHERE UUID ="];
    if pk.iter().any(|p| up.contains(p)) {
        return false;
    }
    // A WHERE that pins a column to a bound parameter (`sku = %s`,
    // `id = ?`, `user_id IN (?, ?)`) reads the rows of one key, not a table.
    if let Some(pos) = up.find(" WHERE ") {
        let clause = &up[pos + 7..];
        let clause = ["GROUP BY", "ORDER BY", "HAVING", "UNION"]
            .iter()
            .filter_map(|k| clause.find(k))
            .min()
            .map_or(clause, |end| &clause[..end]);
        let compact: String = clause.chars().filter(|c| *c != ' ').collect();
        let placeholder = [
            "=?", "=%S", "=$", "=:", "=%(", "=@", "IN(?", "IN(%S", "IN($", "IN(:",
        ];
        if placeholder.iter().any(|p| compact.contains(p)) {
            return false;
        }
    }
    true
}

/// The findings of `src` checked alone as `lang`, as (rule, line): what
/// the analyzers' unit tests compare.
#[cfg(test)]
pub(crate) fn rules_and_lines(lang: crate::Lang, src: &str) -> Vec<(Rule, usize)> {
    let name = match lang {
        crate::Lang::Ruby => "x.rb",
        crate::Lang::Php => "x.php",
        crate::Lang::Python => "x.py",
        crate::Lang::Go => "x.go",
        crate::Lang::Java => "X.java",
        crate::Lang::TypeScript => "x.ts",
        crate::Lang::Tsx => "x.tsx",
        _ => "x.js",
    };
    let r = crate::check_source(name, lang, src, &crate::RuleOptions::default()).unwrap();
    r.findings.iter().map(|f| (f.rule, f.line)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fragments that steer random pages into the page reader's paths.
    const PAGE_TOKENS: &[&str] = &[
        "<script",
        "<SCRIPT",
        ">",
        "</script>",
        " src=",
        " SRC=",
        "data-src=",
        "\"",
        "'",
        "a.js",
        "/",
        "?",
        "#",
        "var x = 1;",
        "let y;",
        "function f() {",
        "}",
        " ",
        "\n",
        "é",
        "<",
        "=",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// An HTML page is untrusted input: any text, and any jumble of
        /// tags and attributes, is read without a panic.
        #[test]
        fn any_page_is_read_without_a_panic(
            text in proptest::prelude::any::<String>(),
            parts in proptest::collection::vec(proptest::sample::select(PAGE_TOKENS), 0..60),
        ) {
            let _ = page_facts(&text);
            let _ = loaded_scripts(&text);
            let page: String = parts.concat();
            let _ = page_facts(&page);
            for file in loaded_scripts(&page) {
                proptest::prop_assert!(!file.is_empty() && !file.contains('/'));
            }
        }
    }

    #[test]
    fn a_page_names_the_scripts_it_loads_by_file_name() {
        let page = "<script src=\"js/app.js?v=2\"></script>\n<SCRIPT type='text/javascript' SRC='/static/menu.js#x'></SCRIPT>\n<script src=plain.js defer></script>\n<script data-src=\"lazy.js\"></script>\n<script>var inline = 1;</script>\n<script src=\"\"></script>\n";
        assert_eq!(loaded_scripts(page), ["app.js", "menu.js", "plain.js"]);
        let facts = page_facts(page);
        assert!(facts.holds(&Unless::ScriptGlobal {
            name: "inline".into(),
            script: "menu.js".into()
        }));
        assert!(!facts.holds(&Unless::ScriptGlobal {
            name: "inline".into(),
            script: "lazy.js".into()
        }));
        // Cut short, or not HTML at all: no panic, nothing loaded.
        assert!(loaded_scripts("<script src=\"a.js").len() <= 1);
        assert!(loaded_scripts("<scri\u{e9}pt src=").is_empty());
    }

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
        // Layout does not matter; a key bound to a parameter bounds it.
        assert!(unbounded_select(
            "\"\"\"\n  SELECT id, name\n  FROM customers\n\"\"\""
        ));
        assert!(!unbounded_select(
            "\"SELECT price FROM prices WHERE sku = %s\""
        ));
        assert!(!unbounded_select(
            "'SELECT * FROM t WHERE org_id = ? ORDER BY id'"
        ));
        assert!(!unbounded_select("'SELECT * FROM t WHERE id IN (?, ?)'"));
        // A WHERE on a literal or a range still reads an open-ended set.
        assert!(unbounded_select(
            "\"SELECT id FROM invoices WHERE status = 'open'\""
        ));
        assert!(unbounded_select("'SELECT * FROM events WHERE at > now()'"));
    }
}
