//! JavaScript and TypeScript (including JSX/TSX) rules.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::python::runs_once;
use super::{mentions, root_ident, unbounded_select, Ctx, Unless};
use crate::lang::Lang;
use crate::rules::Rule;

pub(crate) const FN: &[&str] = &[
    "function_declaration",
    "function_expression",
    "function",
    "arrow_function",
    "method_definition",
    "generator_function_declaration",
    "generator_function",
];
const WELL_KNOWN_EMITTERS: &[&str] = &["window", "document", "process", "globalThis", "global"];

pub fn check(cx: &mut Ctx) {
    let module = module_names(cx);
    module_containers(cx, &module);
    listeners(cx, &module);
    effects(cx);
    closures(cx, &module);
    pinned_inputs(cx, &module);
    results(cx);
    chain_reads(cx);
    timers(cx);
    resources(cx);
    redis_clients(cx);
    if cx.lang == Lang::JavaScript {
        accidental_globals(cx);
    }
}

/// A function's name, or the name it is bound to, or the call it is passed to.
fn fn_name<'a>(cx: &Ctx<'a>, f: Node<'a>) -> &'a str {
    if let Some(n) = Ctx::field(f, "name") {
        return cx.text(n);
    }
    let Some(p) = cx.up(f) else { return "" };
    match p.kind() {
        "variable_declarator" => Ctx::field(p, "name").map(|n| cx.text(n)).unwrap_or(""),
        "pair" => Ctx::field(p, "key").map(|n| cx.text(n)).unwrap_or(""),
        "assignment_expression" => Ctx::field(p, "left").map(|n| cx.text(n)).unwrap_or(""),
        "arguments" => cx
            .up(p)
            .and_then(|c| Ctx::field(c, "function"))
            .map(|n| cx.text(n))
            .unwrap_or(""),
        _ => "",
    }
}

/// Declarations at program level: name -> declarator value.
fn top_declarations<'a>(cx: &Ctx<'a>) -> Vec<(Node<'a>, Option<Node<'a>>, bool)> {
    let mut out = Vec::new();
    let mut cur = cx.root.walk();
    for stmt in cx.root.named_children(&mut cur) {
        let (decl, exported) = if stmt.kind() == "export_statement" {
            match Ctx::field(stmt, "declaration") {
                Some(d) => (d, true),
                None => continue,
            }
        } else {
            (stmt, false)
        };
        if matches!(decl.kind(), "lexical_declaration" | "variable_declaration") {
            let mut c2 = decl.walk();
            for d in decl.named_children(&mut c2) {
                if d.kind() == "variable_declarator" {
                    if let Some(n) = Ctx::field(d, "name") {
                        out.push((n, Ctx::field(d, "value"), exported));
                    }
                }
            }
        }
    }
    out
}

fn module_names<'a>(cx: &Ctx<'a>) -> HashSet<&'a str> {
    let mut names: HashSet<&str> = top_declarations(cx)
        .into_iter()
        .map(|(n, _, _)| cx.text(n))
        .collect();
    let mut cur = cx.root.walk();
    for stmt in cx.root.named_children(&mut cur) {
        match stmt.kind() {
            "import_statement" => {
                for id in cx.desc_kind(stmt, "identifier") {
                    if cx.expired() {
                        break;
                    }
                    names.insert(cx.text(id));
                }
            }
            "class_declaration" | "function_declaration" => {
                if let Some(n) = Ctx::field(stmt, "name") {
                    names.insert(cx.text(n));
                }
            }
            _ => {}
        }
    }
    names
}

/// Names declared in function `f` itself (parameters and declarators).
fn declares<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    let params = Ctx::field(f, "parameters").or_else(|| Ctx::field(f, "parameter"));
    if let Some(p) = params {
        if cx.text(p) == name
            || cx
                .desc_kind(p, "identifier")
                .iter()
                .any(|i| cx.text(*i) == name)
        {
            return true;
        }
    }
    cx.desc_kind(f, "variable_declarator").iter().any(|d| {
        Ctx::field(*d, "name").is_some_and(|n| {
            cx.text(n) == name
                || cx
                    .desc_kind(n, "identifier")
                    .iter()
                    .any(|i| cx.text(*i) == name)
        })
    })
}

/// Whether `name` at `u` refers to something local to an enclosing function.
fn locally_bound<'a>(
    cx: &Ctx<'a>,
    u: Node<'a>,
    name: &str,
    memo: &mut HashMap<usize, bool>,
) -> bool {
    let mut cur = cx.enclosing(u, FN);
    while let Some(f) = cur {
        let d = *memo.entry(f.id()).or_insert_with(|| declares(cx, f, name));
        if d {
            return true;
        }
        cur = cx.enclosing(f, FN);
    }
    false
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Map,
    Seq,
    Set,
}

fn container_shape<'a>(cx: &Ctx<'a>, v: Node<'a>) -> Option<Shape> {
    match v.kind() {
        "new_expression" => {
            let c = Ctx::field(v, "constructor")
                .map(|c| cx.text(c))
                .unwrap_or("");
            let args = Ctx::field(v, "arguments")
                .map(|a| cx.text(a))
                .unwrap_or("()");
            match c {
                "Map" | "Object" => Some(Shape::Map),
                "Set" => Some(Shape::Set),
                "Array" if args == "()" => Some(Shape::Seq),
                _ => None,
            }
        }
        "object" if v.named_child_count() == 0 => Some(Shape::Map),
        "array" if v.named_child_count() == 0 => Some(Shape::Seq),
        "call_expression" if cx.text(v).starts_with("Object.create(null") => Some(Shape::Map),
        "as_expression" | "satisfies_expression" => {
            v.named_child(0).and_then(|c| container_shape(cx, c))
        }
        _ => None,
    }
}

#[derive(Default)]
struct Uses<'a> {
    adds: Vec<(Node<'a>, Node<'a>)>,
    lookups: usize,
    removes: usize,
    escapes: usize,
}

fn classify_use<'a>(
    cx: &Ctx<'a>,
    u: Node<'a>,
    f: Option<Node<'a>>,
    shape: Shape,
    uses: &mut Uses<'a>,
) {
    let Some(p) = cx.up(u) else { return };
    let is = |node: Node, field: &str| Ctx::field(node, field).is_some_and(|x| x.id() == u.id());
    match p.kind() {
        "member_expression" if is(p, "object") => {
            let prop = Ctx::field(p, "property").map(|a| cx.text(a)).unwrap_or("");
            let g = cx.up(p);
            let called = g.is_some_and(|g| {
                g.kind() == "call_expression"
                    && Ctx::field(g, "function").is_some_and(|x| x.id() == p.id())
            });
            if called {
                match prop {
                    "set" | "push" | "unshift" | "add" => {
                        if let Some(f) = f {
                            uses.adds.push((g.unwrap_or(p), f));
                        }
                    }
                    "delete" | "clear" | "shift" | "pop" | "splice" => uses.removes += 1,
                    "get" | "has" => uses.lookups += 1,
                    m if cx.opts.release_methods.iter().any(|r| r == m) => uses.removes += 1,
                    _ => {}
                }
            } else if prop == "length" || prop == "size" {
                uses.removes += 1; // a size check or truncation bounds it
            }
        }
        "subscript_expression" if is(p, "object") => {
            let g = cx.up(p);
            let gk = g.map(|g| g.kind()).unwrap_or("");
            let left = g.is_some_and(|g| Ctx::field(g, "left").is_some_and(|l| l.id() == p.id()));
            if (gk == "assignment_expression" || gk == "augmented_assignment_expression") && left {
                // `arr[i] = v` replaces an item; `arr[arr.length] = v` and map
                // writes grow.
                let index = Ctx::field(p, "index").map(|i| cx.text(i)).unwrap_or("");
                let grows = shape != Shape::Seq || index.contains(".length");
                if let (Some(f), true) = (f, grows) {
                    uses.adds.push((g.unwrap_or(p), f));
                }
            } else if gk == "unary_expression"
                && g.is_some_and(|g| cx.text(g).starts_with("delete"))
            {
                uses.removes += 1;
            } else {
                uses.lookups += 1;
            }
        }
        "binary_expression" => uses.lookups += 1,
        "arguments" => {
            let callee = cx
                .up(p)
                .and_then(|c| Ctx::field(c, "function"))
                .map(|c| cx.text(c))
                .unwrap_or("");
            if callee == "Object.keys" {
                uses.removes += 1;
            } else if !(callee.starts_with("console.")
                || callee == "JSON.stringify"
                || callee == "Array.from"
                || callee == "Object.values"
                || callee == "Object.entries")
            {
                uses.escapes += 1;
            }
        }
        "assignment_expression" => {
            if is(p, "left") {
                uses.removes += 1;
            } else {
                uses.escapes += 1;
            }
        }
        "return_statement"
        | "pair"
        | "array"
        | "variable_declarator"
        | "export_specifier"
        | "spread_element"
        | "arrow_function" => uses.escapes += 1,
        _ => {}
    }
}

/// Whether `f` is a callback of a synchronous iteration (`forEach`, `map`,
/// d3's or jQuery's `each`) made at the module's top level, directly or
/// through other such callbacks, or inside a wrapped module (an IIFE, a
/// bundle's `(function (module, exports) { ... })`): it runs once per
/// element while the module loads, not per request or event.
fn iterated_at_load<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    const ITERATE: &[&str] = &[
        "each", "forEach", "map", "filter", "reduce", "some", "every", "find", "flatMap",
    ];
    let mut f = f;
    loop {
        let Some(call) = cx
            .up(f)
            .filter(|a| a.kind() == "arguments")
            .and_then(|a| cx.up(a))
            .filter(|c| c.kind() == "call_expression")
        else {
            return false;
        };
        let iterates = Ctx::field(call, "function")
            .filter(|m| m.kind() == "member_expression")
            .and_then(|m| Ctx::field(m, "property"))
            .is_some_and(|p| ITERATE.contains(&cx.text(p)));
        if !iterates {
            return false;
        }
        let mut outer = cx.enclosing(call, FN);
        while let Some(g) = outer.filter(|g| runs_once_as_a_wrapper(cx, *g)) {
            outer = cx.enclosing(g, FN);
        }
        match outer {
            None => return true,
            Some(g) => f = g,
        }
    }
}

/// Whether the body of function `f` runs once as the script loads: it is
/// called where it is defined, or is the factory a UMD header hands to its
/// own IIFE, and so is every function around it up to the top level.
fn runs_at_load<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let mut g = Some(f);
    while let Some(h) = g {
        if !(immediately_invoked(cx, h) || umd_factory(cx, h)) {
            return false;
        }
        g = cx.enclosing(h, FN);
    }
    true
}

/// Whether function `f` is handed to a function called where it is defined
/// (`(function (root, factory) { ... }(this, function () { ... }))`, the
/// factory of a UMD header).
fn umd_factory<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let arg = outside_parentheses(cx, f);
    cx.up(arg)
        .filter(|a| a.kind() == "arguments")
        .and_then(|a| cx.up(a))
        .and_then(|c| Ctx::field(c, "function"))
        .is_some_and(|callee| {
            let mut inner = callee;
            while inner.kind() == "parenthesized_expression" {
                match inner.named_child(0) {
                    Some(x) => inner = x,
                    None => return false,
                }
            }
            matches!(
                inner.kind(),
                "function_expression" | "function" | "arrow_function"
            )
        })
}

/// Whether function `g` wraps a module and runs once as the script loads:
/// a parenthesized function (an IIFE, a bundle's `(function (module,
/// exports) { ... })`), or the factory a UMD header's IIFE is handed
/// (`(function (root, factory) { ... })(this, function () { ... })`).
fn runs_once_as_a_wrapper<'a>(cx: &Ctx<'a>, g: Node<'a>) -> bool {
    if !matches!(
        g.kind(),
        "function_expression" | "function" | "arrow_function"
    ) {
        return false;
    }
    cx.up(g)
        .is_some_and(|p| p.kind() == "parenthesized_expression")
        || umd_factory(cx, g)
}

fn module_containers(cx: &mut Ctx, _module: &HashSet<&str>) {
    let containers: Vec<(&str, Shape, Node)> = top_declarations(cx)
        .into_iter()
        .filter(|(n, _, exported)| n.kind() == "identifier" && !exported)
        .filter_map(|(n, v, _)| {
            let v = v?;
            container_shape(cx, v).map(|s| (cx.text(n), s, n))
        })
        .collect();
    if containers.is_empty() {
        return;
    }
    let wanted: HashSet<&str> = containers.iter().map(|c| c.0).collect();
    let mut by_name: HashMap<&str, Vec<Node>> = HashMap::new();
    let mut shorthand: HashSet<&str> = HashSet::new();
    for n in &cx.nodes {
        let t = cx.text(*n);
        if !wanted.contains(t) {
            continue;
        }
        match n.kind() {
            "identifier" => by_name.entry(t).or_default().push(*n),
            "shorthand_property_identifier" => {
                shorthand.insert(t);
            }
            _ => {}
        }
    }
    for (name, shape, decl) in containers {
        let lname = name.to_ascii_lowercase();
        if shorthand.contains(name)
            || lname.contains("registry")
            || lname.contains("handlers")
            || lname.contains("plugins")
        {
            continue;
        }
        let mut uses = Uses::default();
        let mut memo = HashMap::new();
        for &u in by_name.get(name).map(|v| v.as_slice()).unwrap_or(&[]) {
            if u.id() == decl.id() || locally_bound(cx, u, name, &mut memo) {
                continue;
            }
            classify_use(cx, u, cx.enclosing(u, FN), shape, &mut uses);
        }
        // Adds made while the module loads: in an iteration at load, or in
        // a function only the top level calls (a launcher's `run(...)`
        // twice); not in a callback such a function hands on, which runs
        // per event.
        uses.adds.retain(|(_, f)| {
            let handed_on = cx.up(*f).is_some_and(|p| p.kind() == "arguments");
            !iterated_at_load(cx, *f) && (handed_on || !startup_only_in(cx, *f, false))
        });
        if uses.adds.is_empty() || uses.removes > 0 || uses.escapes > 0 {
            continue;
        }
        if uses.adds.iter().all(|(_, f)| runs_once(fn_name(cx, *f))) {
            continue;
        }
        let (site, f) = uses.adds[0];
        let fname = fn_name(cx, f).to_string();
        let fname = if fname.is_empty() {
            "a callback".to_string()
        } else {
            format!("`{fname}`")
        };
        if shape == Shape::Map && (uses.lookups > 0 || lname.contains("cache")) {
            cx.hit(
                Rule::UnboundedCache,
                site,
                format!("module-level `{name}` is used as a cache in {fname}: one entry per distinct key and nothing ever deletes, clears or checks its size"),
                "bound it: an LRU (e.g. lru-cache with max), delete stale keys, or clear when `.size` passes a limit",
            );
        } else {
            let what = match shape {
                Shape::Map => "map",
                Shape::Seq => "array",
                Shape::Set => "set",
            };
            cx.hit(
                Rule::GlobalAccumulator,
                site,
                format!("module-level {what} `{name}` only grows: {fname} adds to it and nothing removes from, clears or bounds it"),
                "cap it (drop the oldest when `.length`/`.size` passes a limit), drain it after use, or keep it per request",
            );
        }
    }
}

const ADD_LISTENER: &[&str] = &[
    "on",
    "addListener",
    "addEventListener",
    "prependListener",
    "subscribe",
];
const REMOVE_LISTENER: &[&str] = &[
    "off",
    "removeListener",
    "removeEventListener",
    "removeAllListeners",
    "unsubscribe",
];

fn is_once<'a>(cx: &Ctx<'a>, args: Option<Node>) -> bool {
    let a = args.map(|a| cx.text(a)).unwrap_or("");
    a.contains("once: true") || a.contains("once:true") || a.contains("signal")
}

/// Whether the listener waits for the page's own start (`DOMContentLoaded`,
/// or `load` on `window`): events that fire once per page, so the code that
/// registers them is the page's start-up (highlight.js's
/// `initHighlightingOnLoad`), however it is reached.
fn page_lifecycle(cx: &Ctx, target: &str, args: Option<Node>) -> bool {
    let Some(event) = args
        .and_then(|a| a.named_child(0))
        .filter(|e| e.kind() == "string")
    else {
        return false;
    };
    let event = cx.text(event).trim_matches(['"', '\'', '`']);
    event == "DOMContentLoaded" || (event == "load" && target == "window")
}

/// Whether `n` runs behind a once-flag: inside `if (!started) { started =
/// true; ... }` (the flag set in the same branch), so at most once.
/// Values that leave a once-flag unset.
const UNSET: [&str; 4] = ["undefined", "null", "false", "void 0"];

/// The flag an `if` condition (whitespace removed) tests for "not set
/// yet", and whether setting it to any value closes the guard: `(!F)`
/// (closed by `F = true`), or `(typeof F == 'undefined')`, `(F ===
/// undefined)`, `(F == null)` (closed by any value).
fn unset_test(cond: &str) -> Option<(&str, bool)> {
    let inner = cond.strip_prefix('(')?.strip_suffix(')')?;
    let is_flag = |f: &str| {
        !f.is_empty()
            && f.chars()
                .all(|c| super::is_ident_char(c) || c == '.' || c == '$')
    };
    if let Some(f) = inner.strip_prefix('!').filter(|f| is_flag(f)) {
        return Some((f, false));
    }
    let (lhs, rhs) = inner.split_once("===").or_else(|| inner.split_once("=="))?;
    let flag = match (lhs.strip_prefix("typeof"), rhs) {
        (Some(f), "'undefined'" | "\"undefined\"") => f,
        (None, "undefined" | "null") => lhs,
        _ => return None,
    };
    is_flag(flag).then_some((flag, true))
}

fn behind_once_flag<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    let mut cur = cx.up(n);
    while let Some(p) = cur {
        if FN.contains(&p.kind()) {
            return false;
        }
        if p.kind() == "if_statement" {
            let cond: String = Ctx::field(p, "condition")
                .map(|c| cx.text(c))
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if let Some((flag, any_value)) = unset_test(&cond) {
                // The guarded block sets the flag (to `true`, or, for a
                // test of "not there yet", to anything), and nothing in
                // the file unsets it again.
                let sets_flag = Ctx::field(p, "consequence").is_some_and(|body| {
                    Ctx::inside(n, body)
                        && cx.desc(body).iter().any(|a| {
                            a.kind() == "assignment_expression"
                                && Ctx::field(*a, "left").is_some_and(|l| cx.text(l) == flag)
                                && Ctx::field(*a, "right").is_some_and(|r| {
                                    let v = cx.text(r);
                                    v == "true" || (any_value && !UNSET.contains(&v))
                                })
                        })
                });
                let unset_again = cx.all("assignment_expression").into_iter().any(|a| {
                    Ctx::field(a, "left").is_some_and(|l| cx.text(l) == flag)
                        && Ctx::field(a, "right").is_some_and(|r| UNSET.contains(&cx.text(r)))
                }) || mentions(cx.src, &format!("delete {flag}"));
                if sets_flag && !unset_again {
                    return true;
                }
            }
        }
        cur = cx.up(p);
    }
    false
}

/// `vjs.on(el, 'click', fn)`: a namespace's helper that adds the listener
/// to its first argument (video.js, bean, `goog.events.listen`), the event
/// type second, where an emitter's own `on` takes the type first: the
/// listener is the element's, not the namespace's.
fn adds_to_its_first_argument(args: Option<Node>) -> bool {
    let Some(args) = args.filter(|a| a.named_child_count() >= 3) else {
        return false;
    };
    let is_type =
        |n: Option<Node>| n.is_some_and(|n| matches!(n.kind(), "string" | "template_string"));
    !is_type(args.named_child(0)) && is_type(args.named_child(1))
}

fn listeners(cx: &mut Ctx, module: &HashSet<&str>) {
    let extra = cx.opts.listener_targets.clone();
    let mut memo = HashMap::new();
    let mut startup: HashMap<usize, bool> = HashMap::new();
    let removed = removals(cx);
    for call in cx.all("call_expression") {
        if cx.expired() {
            return;
        }
        let Some(func) = Ctx::field(call, "function").filter(|f| f.kind() == "member_expression")
        else {
            continue;
        };
        let method = Ctx::field(func, "property")
            .map(|p| cx.text(p))
            .unwrap_or("");
        if !ADD_LISTENER.contains(&method) {
            continue;
        }
        let Some(obj) = Ctx::field(func, "object") else {
            continue;
        };
        let target = cx.text(obj);
        let root = root_ident(target);
        let args = Ctx::field(call, "arguments");
        if args.is_none_or(|a| a.named_child_count() < if method == "subscribe" { 1 } else { 2 }) {
            continue;
        }
        // A call chain or a computed target is not a named emitter.
        if target.len() > 200 || target.contains('(') {
            continue;
        }
        if adds_to_its_first_argument(args) {
            continue;
        }
        if root == "this" {
            // `this.events.on(...)` in a per-connection handler of a class
            // whose field is an emitter it owns, with no removal anywhere.
            if per_connection_field_listener(cx, call, target, &removed) {
                let m = method;
                cx.hit(
                    Rule::ListenerLeak,
                    call,
                    format!("`{target}.{m}(...)` runs once per connection and adds a listener to the long-lived `{target}`; none is ever removed, so each keeps its connection's closure alive after it closes"),
                    "keep the handler and remove it when the connection closes (`client.on('close', () => emitter.off(type, handler))`)",
                );
            }
            continue;
        }
        let Some(f) = cx.enclosing(call, FN) else {
            continue;
        };
        if runs_once(fn_name(cx, f))
            || is_once(cx, args)
            || immediately_invoked(cx, f)
            || runs_at_load(cx, f)
            || iterated_at_load(cx, f)
            || page_lifecycle(cx, target, args)
            || passed_to_page_start(cx, f)
        {
            continue;
        }
        let long_lived = WELL_KNOWN_EMITTERS.contains(&root)
            || extra.iter().any(|e| e == target)
            || (module.contains(root)
                && !locally_bound(cx, obj, root, &mut memo)
                && !made_just_before(cx, f, call, target));
        if !long_lived {
            continue;
        }
        if *startup.entry(f.id()).or_insert_with(|| startup_only(cx, f)) {
            continue;
        }
        if behind_once_flag(cx, call) {
            continue;
        }
        // `const off = x.subscribe(...)`: the handle is kept for removal.
        if cx
            .up(call)
            .is_some_and(|p| p.kind() != "expression_statement")
        {
            continue;
        }
        if removal_exists(cx, &removed, target, args) || event_api(cx, call, target, &removed) {
            continue;
        }
        // An EventTarget adds a given function once: the same top-level
        // function added again is ignored (an emitter's `on` adds it again).
        if method == "addEventListener"
            && args
                .and_then(|a| a.named_child(1))
                .is_some_and(|h| h.kind() == "identifier" && top_level_function(cx, cx.text(h)))
        {
            continue;
        }
        let fname = fn_name(cx, f);
        let fname = if fname.is_empty() {
            "this callback".to_string()
        } else {
            format!("`{fname}`")
        };
        cx.hit(
            Rule::ListenerLeak,
            call,
            format!("`{target}.{method}(...)` in {fname} adds a listener to the long-lived `{target}` every time it runs and none is ever removed; each one keeps its closure alive"),
            "remove it when done (`off`/`removeEventListener`), use `once`, or register it once outside the repeated code",
        );
    }
}

/// Whether module-level `name` was set, in function `f` before `call`, to
/// an object made there (`server = spawn(...)`, `conn = new Socket()`): the
/// listener goes on that new object, and dies with it once it is replaced.
fn made_just_before<'a>(cx: &Ctx<'a>, f: Node<'a>, call: Node<'a>, name: &str) -> bool {
    const MAKES: &[&str] = &[
        "spawn",
        "fork",
        "exec",
        "execFile",
        "connect",
        "createConnection",
        "createServer",
        "createReadStream",
        "createWriteStream",
    ];
    cx.desc_kind(f, "assignment_expression")
        .into_iter()
        .any(|a| {
            a.end_byte() <= call.start_byte()
                && cx.enclosing(a, FN).map(|g| g.id()) == Some(f.id())
                && Ctx::field(a, "left")
                    .is_some_and(|l| l.kind() == "identifier" && cx.text(l) == name)
                && Ctx::field(a, "right").is_some_and(|r| match r.kind() {
                    "new_expression" => true,
                    "call_expression" => Ctx::field(r, "function").is_some_and(|c| {
                        let callee = cx.text(c);
                        MAKES.contains(&callee.rsplit('.').next().unwrap_or(callee))
                    }),
                    _ => false,
                })
        })
}

/// Whether `name` is a function declared at the file's top level
/// (`function onResize() {}`, `const onResize = () => {}`) and never
/// assigned again: the same function object for the life of the page.
fn top_level_function(cx: &Ctx, name: &str) -> bool {
    let is_function = |v: Node| {
        matches!(
            v.kind(),
            "function_expression" | "function" | "arrow_function"
        )
    };
    let mut cur = cx.root.walk();
    let declared = cx.root.named_children(&mut cur).any(|d| {
        d.kind() == "function_declaration"
            && Ctx::field(d, "name").is_some_and(|n| cx.text(n) == name)
    }) || top_declarations(cx)
        .into_iter()
        .any(|(n, value, _)| cx.text(n) == name && value.is_some_and(is_function));
    declared
        && !cx.all("assignment_expression").into_iter().any(|a| {
            Ctx::field(a, "left").is_some_and(|l| l.kind() == "identifier" && cx.text(l) == name)
        })
}

/// Whether `f` (or a function enclosing it) is only ever called while the
/// program starts: every call site in the file is at top level, in a
/// function named like an initializer, or in a DOMContentLoaded/load handler.
/// Unknown callers (no call site in this file) do not count as startup.
fn startup_only<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    startup_only_in(cx, f, true)
}

/// [`startup_only`] for `f` itself (`outward`: or a function around it).
fn startup_only_in<'a>(cx: &Ctx<'a>, f: Node<'a>, outward: bool) -> bool {
    let mut cur = Some(f);
    while let Some(func) = cur {
        // A callback's "name" is the call it is passed to: not its own.
        let passed = cx.up(func).is_some_and(|p| p.kind() == "arguments");
        let mut name = if passed { "" } else { fn_name(cx, func) };
        // A class's constructor runs where the class is constructed: a
        // store the module makes once (`export default new Store()`) is
        // made once, unless the class is exported for others to make.
        let mut constructs_only = false;
        if name == "constructor" && func.kind() == "method_definition" {
            let class_name = |class: Node<'a>| Ctx::field(class, "name").map_or("", |n| cx.text(n));
            // Exported as it is declared, or later (`export default Store;`,
            // `export { Store }`, `module.exports = Store`).
            let exported = |class: Node<'a>| {
                let n = class_name(class);
                cx.up(class).is_some_and(|p| p.kind() == "export_statement")
                    || cx.all("export_statement").into_iter().any(|e| {
                        let t = cx.text(e);
                        Ctx::field(e, "declaration").is_none()
                            && mentions(t, n)
                            && !mentions(t, &format!("new {n}"))
                    })
                    || mentions(cx.src, &format!("exports = {n}"))
                    || mentions(cx.src, &format!("exports.{n} = {n}"))
            };
            name = match cx.enclosing(func, &["class_declaration"]) {
                Some(class) if !class_name(class).is_empty() && !exported(class) => {
                    constructs_only = true;
                    class_name(class)
                }
                _ => "",
            };
        }
        let short = name.rsplit('.').next().unwrap_or(name);
        // `Router.start` is called as `Router.start()` (or `this.start()`),
        // never as another object's `LoginDialog.start()`.
        let owner = name
            .strip_suffix(short)
            .and_then(|o| o.strip_suffix('.'))
            .filter(|o| !o.is_empty() && o.chars().all(super::is_ident_char));
        if !short.is_empty() && short.chars().all(super::is_ident_char) {
            // Calls and constructions (`new navMenu('primary')`).
            let mut sites: Vec<Node> = if constructs_only {
                Vec::new()
            } else {
                cx.all("call_expression")
            };
            sites.extend(cx.all("new_expression"));
            sites.retain(|c| {
                Ctx::field(*c, "function")
                    .or_else(|| Ctx::field(*c, "constructor"))
                    .is_some_and(|callee| {
                        let t = cx.text(callee);
                        match (
                            t.strip_suffix(short).and_then(|o| o.strip_suffix('.')),
                            owner,
                        ) {
                            _ if t == short => true,
                            (Some(o), Some(own)) => o == own || o == "this",
                            (Some(_), None) => true,
                            (None, _) => false,
                        }
                    })
            });
            let at_startup = |site: Node<'a>| {
                let mut g = cx.enclosing(site, FN);
                while let Some(outer) = g {
                    let on = fn_name(cx, outer);
                    let args_text = cx.up(outer).map(|p| cx.text(p)).unwrap_or("");
                    if runs_once(on) || starts_page(args_text, on) {
                        return true;
                    }
                    if !matches!(
                        outer.kind(),
                        "arrow_function" | "function_expression" | "function"
                    ) || cx
                        .up(outer)
                        .is_none_or(|p| p.kind() != "parenthesized_expression")
                    {
                        return false;
                    }
                    g = cx.enclosing(outer, FN); // an IIFE: look further out
                }
                true // top level
            };
            // `addEventListener('DOMContentLoaded', onLoad)`, `$(onLoad)`,
            // `jQuery(edittable.loadEditor)`: handed by name to the page's
            // one start.
            let mut handed: Vec<Node> = cx.all("identifier");
            if name.contains('.') {
                handed.extend(cx.all("member_expression"));
            }
            let handed_to_page_start = handed.into_iter().any(|i| {
                let t = cx.text(i);
                (if i.kind() == "identifier" {
                    t == short
                } else {
                    t == name
                }) && cx.up(i).is_some_and(|a| {
                    a.kind() == "arguments"
                        && cx.up(a).is_some_and(|c| {
                            let callee = Ctx::field(c, "function").map_or("", |x| cx.text(x));
                            starts_page(cx.text(a), callee)
                        })
                })
            }) || (!constructs_only && assigned_to_onload(cx, name));
            if (!sites.is_empty() || handed_to_page_start) && sites.iter().all(|s| at_startup(*s)) {
                return true;
            }
        }
        if !outward {
            return false;
        }
        cur = cx.enclosing(func, FN);
    }
    false
}

/// Whether the function named `name` is handed to the page's load by
/// assignment: `window.onload = Router.start`, `onload = init`.
fn assigned_to_onload(cx: &Ctx, name: &str) -> bool {
    !name.is_empty()
        && cx.all("assignment_expression").into_iter().any(|a| {
            let left = Ctx::field(a, "left").map_or("", |l| cx.text(l));
            matches!(left, "window.onload" | "onload" | "document.body.onload")
                && Ctx::field(a, "right").is_some_and(|r| cx.text(r) == name)
        })
}

/// Whether `f` is the callback of the page's one start: jQuery's ready
/// (`$(function () { ... })`, `jQuery(document).ready(fn)`) or a
/// `DOMContentLoaded` listener: it runs once per page.
fn passed_to_page_start<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let Some(args) = cx.up(f).filter(|a| a.kind() == "arguments") else {
        return false;
    };
    let Some(call) = cx.up(args).filter(|c| c.kind() == "call_expression") else {
        return false;
    };
    let callee = Ctx::field(call, "function").map_or("", |c| cx.text(c));
    starts_page(cx.text(args), callee)
}

/// Whether a call made with arguments `args` (their text, parentheses
/// included) to `callee` hands its function to the page's one start:
/// `DOMContentLoaded`, `load` (on window), jQuery's ready.
fn starts_page(args: &str, callee: &str) -> bool {
    // `( 'load', ...)` in WordPress's spacing as well as `('load', ...)`.
    let first = args.strip_prefix('(').unwrap_or(args).trim_start();
    args.contains("DOMContentLoaded")
        || first.starts_with("'load'")
        || first.starts_with("\"load\"")
        || callee.ends_with(".ready")
        || callee == "$"
        || callee == "jQuery"
}

/// `this.X.on(type, inline)` inside a method named for connections
/// (`handleConnection`, `onConnection`...) of a class with a field `X`
/// created as an emitter, and no removal on `this.X` in the file.
fn per_connection_field_listener<'a>(
    cx: &Ctx<'a>,
    call: Node<'a>,
    target: &str,
    removed: &[Removal],
) -> bool {
    let Some(field) = target.strip_prefix("this.").filter(|f| !f.contains('.')) else {
        return false;
    };
    let Some(m) = cx.enclosing(call, &["method_definition"]) else {
        return false;
    };
    let mname = fn_name(cx, m).to_ascii_lowercase();
    if !(mname.contains("connection") || mname.contains("connect") || mname == "onopen") {
        return false;
    }
    let Some(class) = cx.enclosing(m, &["class_declaration", "class"]) else {
        return false;
    };
    let owns_emitter = cx.desc(class).iter().any(|d| {
        matches!(d.kind(), "public_field_definition" | "field_definition")
            && Ctx::field(*d, "name")
                .or_else(|| Ctx::field(*d, "property"))
                .is_some_and(|n| cx.text(n) == field)
            && Ctx::field(*d, "value").is_some_and(|v| {
                let t = cx.text(v);
                t.starts_with("new EventEmitter")
                    || t.starts_with("new Subject")
                    || t.starts_with("new EventTarget")
            })
    });
    owns_emitter && !removed.iter().any(|r| r.target == target)
}

/// Every listener removal in the file: (target, arguments text).
struct Removal<'a> {
    target: &'a str,
    args: &'a str,
    type_is_parameter: bool,
}

/// Every listener removal in the file: its target, its arguments' text, and
/// whether the event type it names is a parameter of the function around
/// it (an event API's `off(eventName, listener)`).
fn removals<'a>(cx: &Ctx<'a>) -> Vec<Removal<'a>> {
    let mut out = Vec::new();
    for c in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let Some(func) = Ctx::field(c, "function").filter(|f| f.kind() == "member_expression")
        else {
            continue;
        };
        let method = Ctx::field(func, "property")
            .map(|p| cx.text(p))
            .unwrap_or("");
        if !REMOVE_LISTENER.contains(&method) {
            continue;
        }
        let target = Ctx::field(func, "object").map(|o| cx.text(o)).unwrap_or("");
        let args = Ctx::field(c, "arguments").map(|a| cx.text(a)).unwrap_or("");
        out.push(Removal {
            target,
            args,
            type_is_parameter: first_argument_is_a_parameter(cx, c),
        });
    }
    out
}

/// Whether the call's first argument is an identifier naming a parameter
/// of the function around it.
fn first_argument_is_a_parameter<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    let Some(first) = Ctx::field(call, "arguments")
        .and_then(|a| a.named_child(0))
        .filter(|a| a.kind() == "identifier")
    else {
        return false;
    };
    let name = cx.text(first);
    cx.enclosing(call, FN)
        .and_then(|f| Ctx::field(f, "parameters"))
        .is_some_and(|ps| {
            let mut cur = ps.walk();
            // JS names a parameter by an identifier, TS by a pattern
            // with its type (`eventName: string`).
            let found = ps.named_children(&mut cur).any(|p| match p.kind() {
                "identifier" => cx.text(p) == name,
                "required_parameter" | "optional_parameter" => {
                    Ctx::field(p, "pattern").is_some_and(|pat| cx.text(pat) == name)
                }
                _ => false,
            });
            found
        })
}

/// An event API: the listener is added for an event type its caller
/// passes (`on(eventName, listener)`), and the file also removes, from the
/// same target, listeners for a type its caller passes (the matching
/// `off(eventName, listener)`): how many stay is the callers' to decide.
fn event_api<'a>(cx: &Ctx<'a>, call: Node<'a>, target: &str, removed: &[Removal]) -> bool {
    first_argument_is_a_parameter(cx, call)
        && removed
            .iter()
            .any(|r| r.type_is_parameter && r.target == target)
}

/// Whether the file removes this listener: the same target and the same
/// handler (an inline function can only go with `removeAllListeners`).
fn removal_exists<'a>(
    cx: &Ctx<'a>,
    removed: &[Removal],
    target: &str,
    args: Option<Node<'a>>,
) -> bool {
    if mentions(cx.src, &format!("{target}.removeAllListeners(")) {
        return true;
    }
    let handler = args.and_then(|a| a.named_child(1));
    // `add(type, this.onMove = function (e) {...})` keeps the handler in
    // `this.onMove`, which a removal can name.
    let handler = handler.map(|h| {
        if h.kind() == "assignment_expression" {
            Ctx::field(h, "left").unwrap_or(h)
        } else {
            h
        }
    });
    let inline = handler.is_some_and(|h| {
        matches!(
            h.kind(),
            "arrow_function" | "function_expression" | "function"
        )
    });
    if inline {
        return false;
    }
    let handler_text = handler.map(|h| cx.text(h)).unwrap_or("");
    // `self.onClick` where the function around says `var self = this` is
    // `this.onClick`, as a teardown method names it.
    let as_this = handler
        .filter(|h| h.kind() == "member_expression")
        .and_then(|h| as_this_member(cx, h, handler_text));
    removed.iter().any(|r| {
        r.target == target
            && (handler_text.is_empty()
                || r.args.contains(handler_text)
                || as_this.as_deref().is_some_and(|t| mentions(r.args, t)))
    })
}

/// The callback of a React effect hook call, if `call` is one.
fn effect_callback<'a>(cx: &Ctx<'a>, call: Node<'a>) -> Option<Node<'a>> {
    let f = Ctx::field(call, "function").map(|f| cx.text(f))?;
    if !matches!(
        f,
        "useEffect" | "React.useEffect" | "useLayoutEffect" | "React.useLayoutEffect"
    ) {
        return None;
    }
    Ctx::field(call, "arguments")?.named_child(0).filter(|c| {
        matches!(
            c.kind(),
            "arrow_function" | "function_expression" | "function"
        )
    })
}

/// The cleanup text of an effect for one call in it: what its top-level
/// `return` returns, and what a `return` in a block around the call returns
/// after it (`if (id) { const t = setTimeout(...); return () =>
/// clearTimeout(t); }`: the effect's cleanup whenever that timer starts).
/// A `return` of a nested function, or of a block the call is not in, is
/// no cleanup of it.
fn effect_cleanup<'a>(cx: &Ctx<'a>, cb: Node<'a>, call: Node<'a>) -> Option<String> {
    let body = Ctx::field(cb, "body")?;
    if body.kind() != "statement_block" {
        return Some(cx.text(body).to_string()); // `() => subscribe(...)` returns the unsubscribe
    }
    let mut cur = body.walk();
    let mut out: Vec<&str> = body
        .named_children(&mut cur)
        .filter(|s| s.kind() == "return_statement")
        .map(|r| cx.text(r))
        .take(1)
        .collect();
    for r in cx.desc_kind(body, "return_statement") {
        if cx.enclosing(r, FN).map(|f| f.id()) != Some(cb.id())
            || cx.up(r).is_some_and(|b| b.id() == body.id())
            || r.start_byte() < call.end_byte()
        {
            continue;
        }
        if cx
            .up(r)
            .is_some_and(|b| b.kind() == "statement_block" && Ctx::inside(call, b))
        {
            out.push(cx.text(r));
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out.join("\n"))
    }
}

fn effects(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let Some(cb) = effect_callback(cx, call) else {
            continue;
        };
        for inner in cx.desc_kind(cb, "call_expression") {
            if cx.expired() {
                break;
            }
            if cx.enclosing(inner, FN).map(|f| f.id()) != Some(cb.id()) {
                continue;
            }
            let cleanup = effect_cleanup(cx, cb, inner).unwrap_or_default();
            let cleanup = cleanup.as_str();
            let callee = Ctx::field(inner, "function")
                .map(|f| cx.text(f))
                .unwrap_or("");
            let args = Ctx::field(inner, "arguments");
            let method = callee.rsplit('.').next().unwrap_or("");
            if callee.contains('.') && ADD_LISTENER.contains(&method) && !is_once(cx, args) {
                let target = &callee[..callee.len() - method.len() - 1];
                let stored = cx
                    .up(inner)
                    .is_some_and(|p| p.kind() != "expression_statement");
                let cleaned = REMOVE_LISTENER
                    .iter()
                    .any(|m| cleanup.contains(&format!("{target}.{m}(")))
                    || (stored && !cleanup.is_empty());
                if !cleaned {
                    cx.hit(
                        Rule::ListenerLeak,
                        inner,
                        format!("effect subscribes with `{callee}(...)` but its cleanup never removes it: one more listener (holding the component's closure) per mount"),
                        "return a cleanup: `return () => target.removeEventListener(type, handler)`",
                    );
                }
            }
            if (callee == "setTimeout" || callee == "window.setTimeout")
                && !cleanup.contains("clearTimeout")
            {
                {
                    cx.hit(
                        Rule::UnclearedTimer,
                        inner,
                        "effect starts a timeout that its cleanup never clears: it fires after unmount and keeps the component's closure alive until then".into(),
                        "`const id = setTimeout(...); return () => clearTimeout(id);`",
                    );
                }
            }
        }
    }
}

fn closures(cx: &mut Ctx, module: &HashSet<&str>) {
    // (a) interval / long timeout callbacks that pin a whole parameter.
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        let args = Ctx::field(call, "arguments");
        let long_lived = match callee {
            "setInterval" | "window.setInterval" => true,
            "setTimeout" | "window.setTimeout" => args
                .and_then(|a| a.named_child(1))
                .and_then(|d| const_number(cx, d, 0))
                .is_some_and(|ms| ms >= 60_000.0),
            _ => false,
        };
        if !long_lived {
            continue;
        }
        let Some(cb) = args.and_then(|a| a.named_child(0)).filter(|c| {
            matches!(
                c.kind(),
                "arrow_function" | "function_expression" | "function"
            )
        }) else {
            continue;
        };
        let Some(f) = cx.enclosing(call, FN) else {
            continue;
        };
        // A timer that stops itself (its callback clears its handle once
        // done: a poll until something shows) pins what it captures only
        // until then.
        if clears_handle_in(cx, call, f, Some(cb)) {
            continue;
        }
        let Some(params) = Ctx::field(f, "parameters") else {
            continue;
        };
        let mut pnames = Vec::new();
        let mut cur = params.walk();
        for p in params.named_children(&mut cur) {
            let id = match p.kind() {
                "identifier" => Some(p),
                "required_parameter" | "optional_parameter" => {
                    Ctx::field(p, "pattern").filter(|x| x.kind() == "identifier")
                }
                _ => None,
            };
            if let Some(id) = id {
                pnames.push(cx.text(id));
            }
        }
        // Locals of the function bound to a parameter's field or a call's
        // result (a request body, a parsed upload): the same capture.
        for d in cx.desc_kind(f, "variable_declarator") {
            if cx.enclosing(d, FN).map(|x| x.id()) != Some(f.id())
                || d.start_byte() > call.start_byte()
            {
                continue;
            }
            let (Some(n), Some(v)) = (Ctx::field(d, "name"), Ctx::field(d, "value")) else {
                continue;
            };
            let v = if v.kind() == "await_expression" {
                v.named_child(0).unwrap_or(v)
            } else {
                v
            };
            if n.kind() == "identifier"
                && matches!(v.kind(), "member_expression" | "call_expression")
            {
                pnames.push(cx.text(n));
            }
        }
        for p in pnames {
            let uses: Vec<Node> = cx
                .desc_kind(cb, "identifier")
                .into_iter()
                .filter(|i| cx.text(*i) == p)
                .collect();
            if uses.is_empty() {
                continue;
            }
            let only_fields = uses.iter().all(|u| {
                cx.up(*u).is_some_and(|m| {
                    m.kind() == "member_expression"
                        && Ctx::field(m, "object").is_some_and(|o| o.id() == u.id())
                        && cx.up(m).is_none_or(|g| {
                            !(g.kind() == "call_expression"
                                && Ctx::field(g, "function").is_some_and(|x| x.id() == m.id()))
                        })
                })
            });
            if only_fields {
                cx.hit(
                    Rule::ClosureCapture,
                    call,
                    format!("the `{callee}` callback only reads fields of `{p}` but captures the whole object, keeping it alive as long as the timer lives"),
                    "copy the needed fields into locals before creating the callback (`const { id } = p;`)",
                );
                break;
            }
        }
    }
    // (b) the chained `originalThing` pattern.
    for f in cx.nodes.clone() {
        if cx.expired() {
            break;
        }
        if !FN.contains(&f.kind()) {
            continue;
        }
        for d in cx.desc_kind(f, "variable_declarator") {
            if cx.expired() {
                break;
            }
            if cx.enclosing(d, FN).map(|x| x.id()) != Some(f.id()) {
                continue;
            }
            let (Some(alias), Some(v)) = (Ctx::field(d, "name"), Ctx::field(d, "value")) else {
                continue;
            };
            if v.kind() != "identifier" || !module.contains(cx.text(v)) {
                continue;
            }
            let global = cx.text(v);
            let alias = cx.text(alias);
            let captured = cx.desc(f).iter().any(|n| {
                FN.contains(&n.kind())
                    && cx
                        .desc_kind(*n, "identifier")
                        .iter()
                        .any(|i| cx.text(*i) == alias)
            });
            if !captured || mentions(cx.text(f), &format!("{alias} = null")) {
                continue;
            }
            let replaced = cx
                .desc_kind(f, "assignment_expression")
                .into_iter()
                .find(|a| {
                    Ctx::field(*a, "left").is_some_and(|l| cx.text(l) == global)
                        && Ctx::field(*a, "right")
                            .is_some_and(|r| cx.desc(r).iter().any(|n| FN.contains(&n.kind())))
                });
            if let Some(a) = replaced {
                cx.hit(
                    Rule::ClosureCapture,
                    a,
                    format!("each new `{global}` holds closures that share a scope with `{alias}` (the previous `{global}`): every generation stays reachable and none is ever freed"),
                    format!("set `{alias} = null` when done, or avoid capturing the previous object").as_str(),
                );
            }
        }
    }
}

/// The value of a constant numeric expression: literals, `* + - /`,
/// parentheses and `const` names of this file (`15 * 60 * 1000`,
/// `FIFTEEN_MINUTES`).
fn const_number(cx: &Ctx, n: Node, depth: usize) -> Option<f64> {
    if depth > 8 {
        return None;
    }
    match n.kind() {
        "number" => cx.text(n).replace('_', "").parse::<f64>().ok(),
        "parenthesized_expression" => n
            .named_child(0)
            .and_then(|x| const_number(cx, x, depth + 1)),
        "binary_expression" => {
            let a = const_number(cx, Ctx::field(n, "left")?, depth + 1)?;
            let b = const_number(cx, Ctx::field(n, "right")?, depth + 1)?;
            match Ctx::field(n, "operator").map(|o| cx.text(o))? {
                "*" => Some(a * b),
                "+" => Some(a + b),
                "-" => Some(a - b),
                "/" if b != 0.0 => Some(a / b),
                _ => None,
            }
        }
        "identifier" => {
            let name = cx.text(n);
            cx.named_in(cx.root, "identifier", name)
                .into_iter()
                .find_map(|id| {
                    let d = cx.up(id).filter(|d| d.kind() == "variable_declarator")?;
                    if Ctx::field(d, "name")?.id() != id.id()
                        || !cx.up(d)?.kind().contains("declaration")
                    {
                        return None;
                    }
                    const_number(cx, Ctx::field(d, "value")?, depth + 1)
                })
        }
        _ => None,
    }
}

/// `obj.prop = () => ...raw...` where `obj` is then filed in a module-level
/// collection and the closure reads a parameter of the function (the raw
/// input the object was built from): the entry pins the whole input.
fn pinned_inputs(cx: &mut Ctx, module: &HashSet<&str>) {
    for a in cx.all("assignment_expression") {
        if cx.expired() {
            break;
        }
        let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
            continue;
        };
        if l.kind() != "member_expression"
            || !matches!(
                r.kind(),
                "arrow_function" | "function_expression" | "function"
            )
        {
            continue;
        }
        let Some(obj) = Ctx::field(l, "object").filter(|o| o.kind() == "identifier") else {
            continue;
        };
        let obj = cx.text(obj);
        let Some(f) = cx.enclosing(a, FN) else {
            continue;
        };
        // The object is added to a module-level collection in the function.
        let filed = cx.named_in(f, "identifier", obj).into_iter().any(|u| {
            let Some(args) = cx.up(u).filter(|p| p.kind() == "arguments") else {
                return false;
            };
            let Some(call) = cx.up(args) else {
                return false;
            };
            let callee = Ctx::field(call, "function")
                .map(|c| cx.text(c))
                .unwrap_or("");
            callee.rsplit_once('.').is_some_and(|(target, m)| {
                matches!(m, "set" | "push" | "add" | "unshift") && module.contains(target)
            })
        });
        if !filed {
            continue;
        }
        let params: Vec<&str> = Ctx::field(f, "parameters")
            .map(|p| {
                cx.desc_kind(p, "identifier")
                    .into_iter()
                    .map(|i| cx.text(i))
                    .collect()
            })
            .unwrap_or_default();
        let captured = cx
            .desc_kind(r, "identifier")
            .into_iter()
            .map(|i| cx.text(i))
            .find(|n| params.contains(n) && *n != obj);
        if let Some(p) = captured {
            cx.hit(
                Rule::ClosureCapture,
                a,
                format!("`{obj}` is kept in a module-level collection and this closure on it captures `{p}`: every entry pins its whole `{p}` for as long as it is indexed"),
                "compute what the closure returns up front (`const preview = raw.slice(0, 200)`) and capture that",
            );
        }
    }
}

/// knex `db('t').select(...)` and mongoose `Model.find({})` whole-table
/// reads: flagged at the outermost call of the chain when nothing in it
/// narrows or limits the query.
fn chain_reads(cx: &mut Ctx) {
    const NARROW: &[&str] = &[
        ".where",
        ".limit(",
        ".first(",
        ".paginate(",
        ".stream(",
        ".cursor(",
        ".whereIn(",
        ".findOne(",
        ".offset(",
        ".skip(",
        ".pluck(",
        ".count(",
    ];
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        // Outermost: not the object of a further call in the chain.
        if cx.up(call).is_some_and(|p| p.kind() == "member_expression") {
            continue;
        }
        let text = cx.text(call);
        if text.len() > 400
            || cx.enclosing(call, FN).is_none()
            || NARROW.iter().any(|m| text.contains(m))
        {
            continue;
        }
        let head = text.split('(').next().unwrap_or("");
        let knex = matches!(head, "db" | "knex" | "trx" | "this.db" | "this.knex")
            && text.contains(".select(")
            && (text[head.len()..].starts_with("(\"") || text[head.len()..].starts_with("('"));
        let root = head.split('.').next().unwrap_or("");
        let mongoose = head.ends_with(".find")
            && head.matches('.').count() == 1
            && root.starts_with(|c: char| c.is_ascii_uppercase())
            && {
                let rest = &text[head.len()..];
                rest.starts_with("({})") || rest.starts_with("()")
            };
        if knex || mongoose {
            cx.hit(
                Rule::UnboundedResults,
                call,
                format!("`{}` reads every row/document of the collection into memory at once; memory grows with the data", text.lines().next().unwrap_or("")),
                "filter and `.limit(n)` it, paginate, or stream it (`.stream()` / `.cursor()`)",
            );
        }
    }
}

fn results(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let Some(func) = Ctx::field(call, "function").filter(|f| f.kind() == "member_expression")
        else {
            continue;
        };
        let method = Ctx::field(func, "property")
            .map(|p| cx.text(p))
            .unwrap_or("");
        let obj = Ctx::field(func, "object").map(|o| cx.text(o)).unwrap_or("");
        let args = Ctx::field(call, "arguments");
        let first = args.and_then(|a| a.named_child(0));
        if cx.enclosing(call, FN).is_none() {
            continue;
        }
        let root = root_ident(obj);
        let flagged = match method {
            "findAll" => {
                let modelish = root.chars().next().is_some_and(|c| c.is_uppercase())
                    || root.to_ascii_lowercase().contains("repo")
                    || root.to_ascii_lowercase().contains("model");
                modelish
                    && first.is_none_or(|a| a.kind() == "object" && !cx.text(a).contains("limit"))
            }
            // MongoDB's `find().toArray()`, not a DOM library's: jQuery's
            // (`$(el).find(sel)`, `this.$element.find(sel)`) or any `find`
            // given a CSS selector (CKEditor's `element.find('a')`) lists a
            // page's elements, no table.
            "toArray" => {
                let jquery = root.starts_with('$')
                    || root == "jQuery"
                    || obj.starts_with("$(")
                    || obj.starts_with("jQuery(")
                    || obj.contains(".$")
                    || holds_jquery(cx, call, root);
                let by_selector =
                    Ctx::field(func, "object").is_some_and(|o| finds_by_selector(cx, o));
                obj.contains(".find(") && !obj.contains(".limit(") && !jquery && !by_selector
            }
            "query" | "all" | "execute" => first
                .filter(|a| matches!(a.kind(), "string" | "template_string"))
                .is_some_and(|a| unbounded_select(cx.text(a))),
            _ => false,
        };
        if flagged {
            cx.hit(
                Rule::UnboundedResults,
                call,
                format!("`{obj}.{method}(...)` loads every matching row into memory at once; memory grows with the table"),
                "add a limit and paginate (`limit`/`LIMIT`/`.limit(n)`) or stream with a cursor",
            );
        }
    }
}

/// Whether `name` is a local of the function around `at` whose value is a
/// jQuery object: declared or assigned there as `$(...)` or `jQuery(...)`
/// (DataTables' `jqRows = $(rows)`), and given no other value there.
fn holds_jquery<'a>(cx: &Ctx<'a>, at: Node<'a>, name: &str) -> bool {
    let Some(f) = cx.enclosing(at, FN) else {
        return false;
    };
    if name.is_empty() {
        return false;
    }
    let mut values = cx.desc(f).iter().filter_map(|n| {
        let (bind, value) = match n.kind() {
            // `let body;` gives no value: only the assignments count.
            "variable_declarator" => (Ctx::field(*n, "name")?, Ctx::field(*n, "value")?),
            "assignment_expression" => (Ctx::field(*n, "left")?, Ctx::field(*n, "right")?),
            _ => return None,
        };
        (bind.kind() == "identifier" && cx.text(bind) == name).then_some(value)
    });
    let mut any = false;
    let all = values.all(|v| {
        any = true;
        Some(v)
            .filter(|v| v.kind() == "call_expression")
            .and_then(|v| Ctx::field(v, "function"))
            .is_some_and(|callee| matches!(cx.text(callee), "$" | "jQuery"))
    });
    any && all
}

/// Whether a call chain (`x.find('a').filter(f)`) has a `find` whose
/// first argument is a string: a CSS selector, where a database query
/// takes an object.
fn finds_by_selector<'a>(cx: &Ctx<'a>, chain: Node<'a>) -> bool {
    let mut cur = Some(chain);
    while let Some(call) = cur.filter(|c| c.kind() == "call_expression") {
        let member = Ctx::field(call, "function").filter(|f| f.kind() == "member_expression");
        let is_find = member
            .and_then(|m| Ctx::field(m, "property"))
            .is_some_and(|p| cx.text(p) == "find");
        if is_find {
            let mut first = Ctx::field(call, "arguments").and_then(|a| a.named_child(0));
            while let Some(b) = first.filter(|b| b.kind() == "binary_expression") {
                first = Ctx::field(b, "left");
            }
            return first.is_some_and(|a| matches!(a.kind(), "string" | "template_string"));
        }
        cur = member.and_then(|m| Ctx::field(m, "object"));
    }
    false
}

/// `n`, or the outermost parentheses wrapped around it (`((function () {}))`).
fn outside_parentheses<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Node<'a> {
    let mut outer = n;
    while let Some(p) = cx
        .up(outer)
        .filter(|p| p.kind() == "parenthesized_expression")
    {
        outer = p;
    }
    outer
}

/// Whether function `f` is called where it is defined (`(function () {
/// ... })()`, a module wrapper): its body runs once.
fn immediately_invoked<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let mut callee = outside_parentheses(cx, f);
    // `(function () { ... }).call(this)` (CoffeeScript's and many bundles'
    // module wrapper) and `.apply(this, arguments)` invoke it too.
    if callee.id() != f.id() {
        if let Some(m) = cx.up(callee).filter(|m| {
            m.kind() == "member_expression"
                && Ctx::field(*m, "property")
                    .is_some_and(|p| matches!(cx.text(p), "call" | "apply"))
        }) {
            callee = m;
        }
    }
    cx.up(callee).is_some_and(|c| {
        c.kind() == "call_expression"
            && Ctx::field(c, "function").is_some_and(|x| x.id() == callee.id())
    })
}

fn stored_name<'a>(cx: &Ctx<'a>, call: Node<'a>) -> Option<&'a str> {
    let mut p = cx.up(call)?;
    if p.kind() == "await_expression" {
        p = cx.up(p)?;
    }
    match p.kind() {
        "variable_declarator" => Ctx::field(p, "name").map(|n| cx.text(n)),
        "assignment_expression" => Ctx::field(p, "left").map(|n| cx.text(n)),
        _ => None,
    }
}

/// Every name the handle returned by `call` is stored under: a chained
/// assignment (`shown = this.shown = setInterval(...)`) stores it twice.
fn stored_names<'a>(cx: &Ctx<'a>, call: Node<'a>) -> Vec<&'a str> {
    let mut names = Vec::new();
    let mut cur = call;
    while let Some(p) = cx.up(cur) {
        match p.kind() {
            "await_expression" | "parenthesized_expression" => {}
            "variable_declarator" => {
                names.extend(Ctx::field(p, "name").map(|n| cx.text(n)));
                break;
            }
            "assignment_expression"
                if Ctx::field(p, "right").is_some_and(|r| r.id() == cur.id()) =>
            {
                names.extend(Ctx::field(p, "left").map(|n| cx.text(n)));
            }
            _ => break,
        }
        cur = p;
    }
    names
}

/// Whether the timer started by `call` (in function `f`) can be stopped:
/// its handle, under any name it is stored as, is passed to
/// `clearInterval`/`clearTimeout` somewhere in the file (spacing
/// ignored: `clearInterval( this.shown )`), or `f` returns it.
fn handle_cleared<'a>(cx: &Ctx<'a>, call: Node<'a>, f: Node<'a>) -> bool {
    clears_handle_in(cx, call, f, None)
}

/// [`handle_cleared`], with the clearing call looked for only inside
/// `within` when given (a timer's own callback).
fn clears_handle_in<'a>(
    cx: &Ctx<'a>,
    call: Node<'a>,
    f: Node<'a>,
    within: Option<Node<'a>>,
) -> bool {
    let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut names: Vec<String> = stored_names(cx, call).into_iter().map(squeeze).collect();
    if names.is_empty() {
        return false;
    }
    let through_this: Vec<String> = names
        .iter()
        .filter_map(|n| as_this_member(cx, call, n))
        .collect();
    names.extend(through_this);
    // A handle kept in a table under a key (`timers[slot] = setInterval(...)`)
    // is cleared by a clear of any entry of that table: the cleanup path
    // names the key its own way (`clearInterval(timers[i])` in a loop).
    let tables: Vec<String> = names.iter().filter_map(|n| keyed_table(n)).collect();
    let names_handle = |arg: &str| {
        names.iter().any(|n| n == arg) || keyed_table(arg).is_some_and(|t| tables.contains(&t))
    };
    let textual = within.is_none()
        && (names.iter().any(|name| {
            mentions(cx.src, &format!("clearInterval({name}"))
                || mentions(cx.src, &format!("clearTimeout({name}"))
                || mentions(cx.text(f), &format!("return {name}"))
        }) || tables.iter().any(|t| {
            mentions(cx.src, &format!("clearInterval({t}["))
                || mentions(cx.src, &format!("clearTimeout({t}["))
        }));
    let calls = match within {
        Some(w) => cx.desc_kind(w, "call_expression"),
        None => cx.all("call_expression"),
    };
    textual
        || calls.into_iter().any(|c| {
            let callee = Ctx::field(c, "function").map(|x| squeeze(cx.text(x)));
            let clears = callee.is_some_and(|t| {
                let t = t
                    .strip_prefix("window.")
                    .or_else(|| t.strip_prefix("global."))
                    .unwrap_or(&t);
                t == "clearInterval" || t == "clearTimeout"
            });
            clears
                && Ctx::field(c, "arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|a| names_handle(&squeeze(cx.text(a))))
        })
}

/// `this.loopId` for a handle stored as `_this.loopId` in a function
/// inside one that declares `var _this = this` (how Babel, TypeScript and
/// CoffeeScript reach `this` from a callback): a method clears it as
/// `clearInterval(this.loopId)`.
fn as_this_member<'a>(cx: &Ctx<'a>, call: Node<'a>, name: &str) -> Option<String> {
    let (alias, member) = name.split_once('.')?;
    if alias == "this" || member.is_empty() {
        return None;
    }
    let mut scope = cx.enclosing(call, FN);
    while let Some(f) = scope {
        let declares_alias = cx.desc_kind(f, "variable_declarator").into_iter().any(|d| {
            Ctx::field(d, "name").is_some_and(|n| cx.text(n) == alias)
                && Ctx::field(d, "value").is_some_and(|v| v.kind() == "this")
        });
        if declares_alias {
            return Some(format!("this.{member}"));
        }
        scope = cx.enclosing(f, FN);
    }
    None
}

/// The table of a keyed handle name, `timers` for `timers[slot]` (and
/// `this.timers` for `this.timers[id]`); `None` for a plain name.
fn keyed_table(name: &str) -> Option<String> {
    let base = name.strip_suffix(']')?;
    let open = base.rfind('[')?;
    let table = &base[..open];
    (!table.is_empty() && !table.contains('[')).then(|| table.to_string())
}

fn timers(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        if !matches!(
            callee,
            "setInterval" | "window.setInterval" | "global.setInterval"
        ) {
            continue;
        }
        let Some(f) = cx.enclosing(call, FN) else {
            continue;
        };
        let dropped = cx
            .up(call)
            .is_some_and(|p| p.kind() == "expression_statement");
        let fname = fn_name(cx, f);
        if dropped {
            if runs_once(fname) || passed_to_page_start(cx, f) || runs_at_load(cx, f) {
                continue;
            }
            cx.hit(
                Rule::UnstoppableTask,
                call,
                "the handle of this `setInterval` is dropped, so it can never be cleared: it runs, and keeps its closure alive, forever, one more each time this code runs".into(),
                "keep the handle and `clearInterval(handle)` on shutdown/unmount",
            );
            continue;
        }
        let Some(name) = stored_name(cx, call) else {
            continue;
        };
        if !handle_cleared(cx, call, f) {
            cx.hit(
                Rule::UnclearedTimer,
                call,
                format!("interval stored in `{name}` is never cleared: it runs, and keeps its closure alive, for the life of the process"),
                format!("call `clearInterval({name})` in the cleanup/close/unmount path").as_str(),
            );
        }
    }
}

fn resources(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        let Some(f) = cx.enclosing(call, FN) else {
            continue;
        };

        let lcallee = callee.to_ascii_lowercase();
        let conn = callee.ends_with(".getConnection")
            || (callee.ends_with(".connect") && lcallee.contains("pool"))
            || (callee.ends_with(".acquire") && lcallee.contains("pool"))
            || callee == "mysql.createConnection";
        let file = matches!(
            callee,
            "fs.openSync"
                | "fs.promises.open"
                | "fsp.open"
                | "fs.createWriteStream"
                | "fs.createReadStream"
        );
        // fs.open(path, flags, (err, fd) => ...) with no fs.close(fd)
        if callee == "fs.open" {
            let cb = Ctx::field(call, "arguments").and_then(|a| {
                let n = a.named_child_count();
                a.named_child(n.saturating_sub(1))
            });
            if let Some(cb) = cb.filter(|c| FN.contains(&c.kind())) {
                let fd = Ctx::field(cb, "parameters")
                    .and_then(|p| p.named_child(1))
                    .map(|p| cx.text(p))
                    .unwrap_or("fd");
                // `fd = _fd;` hands the descriptor to a variable outside the
                // callback: closed where that variable is (`fs.close(fd)`
                // after the writes it waits for).
                let handed_out = cx.desc(cb).iter().find_map(|a| {
                    (a.kind() == "assignment_expression"
                        && Ctx::field(*a, "right").is_some_and(|r| cx.text(r) == fd))
                    .then(|| Ctx::field(*a, "left").map(|l| cx.text(l)))
                    .flatten()
                });
                let closed = |name: &str| {
                    mentions(cx.text(cb), &format!("close({name}"))
                        || mentions(cx.text(cb), &format!("closeSync({name}"))
                };
                let scope = cx.text(cx.enclosing(call, FN).unwrap_or(cx.root));
                let closed_outside = handed_out.is_some_and(|outer| {
                    mentions(scope, &format!("close({outer}"))
                        || mentions(scope, &format!("closeSync({outer}"))
                });
                if !closed(fd) && !closed_outside {
                    cx.hit(
                        Rule::UnclosedResource,
                        call,
                        format!("`fs.open` callback never closes `{fd}`: one file descriptor leaks per call"),
                        format!("call `fs.close({fd}, cb)` on every path, including errors").as_str(),
                    );
                }
            }
            continue;
        }
        if !conn && !file {
            continue;
        }
        let Some(name) = stored_name(cx, call) else {
            continue;
        };
        let closers: &[&str] = if conn {
            &["release", "end", "destroy", "close"]
        } else {
            &["close", "end", "destroy", "pipe", "on"]
        };
        let released = js_released(cx, f, name, closers);
        if released {
            continue;
        }
        if conn {
            cx.hit(
                Rule::UnreleasedConnection,
                call,
                format!("connection `{name}` from `{callee}()` is never released: the pool runs dry and each checkout keeps its socket"),
                format!("`try {{ ... }} finally {{ {name}.release(); }}`").as_str(),
            );
        } else {
            cx.hit(
                Rule::UnclosedResource,
                call,
                format!("`{name}` from `{callee}()` is never closed: one file descriptor leaks per call"),
                "close it in `finally` (`fs.closeSync(fd)` / `await handle.close()` / `stream.end()`)",
            );
        }
    }
}

/// Whether local `name` in function `f` is closed with one of `methods`,
/// passed to a closing helper, piped or returned (ownership handed back).
/// Structural, from the name's uses: a text search of the function per
/// resource made huge functions quadratic.
fn js_released<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str, methods: &[&str]) -> bool {
    if name.contains('.') || name.contains('[') {
        return true; // stored on an object: it lives as long as its owner
    }
    cx.named_in(f, "identifier", name).into_iter().any(|u| {
        let Some(p) = cx.up(u) else { return false };
        match p.kind() {
            "member_expression" if Ctx::field(p, "object").is_some_and(|o| o.id() == u.id()) => {
                let prop = Ctx::field(p, "property").map(|x| cx.text(x)).unwrap_or("");
                methods.contains(&prop) && cx.up(p).is_some_and(|c| c.kind() == "call_expression")
            }
            "arguments" => {
                let callee = cx
                    .up(p)
                    .and_then(|c| Ctx::field(c, "function"))
                    .map(|c| cx.text(c))
                    .unwrap_or("");
                let last = callee.rsplit('.').next().unwrap_or(callee);
                matches!(
                    last,
                    "closeSync" | "close" | "release" | "pipeline" | "pipe" | "finished" | "end"
                )
            }
            "return_statement" => true,
            _ => false,
        }
    })
}

/// Redis clients created in a function and never quit: each keeps a socket
/// (and its reconnect timer) for the life of the process.
fn redis_clients(cx: &mut Ctx) {
    let mut sites = cx.all("call_expression");
    sites.extend(cx.all("new_expression"));
    for site in sites {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(site, "function")
            .or_else(|| Ctx::field(site, "constructor"))
            .map(|c| cx.text(c))
            .unwrap_or("");
        let is_client = if site.kind() == "new_expression" {
            matches!(callee, "Redis" | "IORedis" | "Redis.Cluster")
        } else {
            matches!(
                callee,
                "createClient" | "redis.createClient" | "createCluster"
            )
        };
        if !is_client {
            continue;
        }
        let Some(f) = cx.enclosing(site, FN) else {
            continue;
        };
        if runs_once(fn_name(cx, f)) {
            continue;
        }
        let Some(name) = stored_name(cx, site) else {
            continue;
        };
        if js_released(
            cx,
            f,
            name,
            &["quit", "disconnect", "close", "destroy", "end"],
        ) {
            continue;
        }
        cx.hit(
            Rule::UnreleasedConnection,
            site,
            format!("Redis client `{name}` is created on every call and never closed: each keeps a socket and its reconnect timer alive"),
            format!("create one client at startup and share it, or `await {name}.quit()` in `finally`").as_str(),
        );
    }
}

const KNOWN_GLOBALS: &[&str] = &[
    "window",
    "document",
    "module",
    "exports",
    "global",
    "globalThis",
    "process",
    "console",
    "self",
    "location",
    "name",
    "status",
    "onload",
    "onerror",
    "onmessage",
    "onbeforeunload",
    "top",
    "parent",
    "opener",
    "undefined",
    "require",
    "__dirname",
    "__filename",
    "localStorage",
    "sessionStorage",
    "history",
    "navigator",
    "performance",
    "frames",
    "define",
    "jQuery",
    "$",
];

/// The names a server page's inline scripts declare at their top level
/// (`var sel_start_date = 0;` in a `<script>` a PHP page echoes): globals
/// that the page's external scripts share. Read from the text: a line of a
/// `<script>` element that starts with `var`, `let`, `const` or `function`
/// outside any braces.
pub(crate) fn inline_script_globals(page: &str) -> Vec<String> {
    let lower = page.to_ascii_lowercase();
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find("<script").map(|i| at + i) {
        let Some(body) = lower[open..].find('>').map(|i| open + i + 1) else {
            break;
        };
        let end = lower[body..]
            .find("</script")
            .map_or(page.len(), |i| body + i);
        top_level_declarations(&page[body..end], &mut names);
        at = end;
    }
    names
}

/// The names a script that PHP writes declares at its top level: a file
/// with no `<script>` element whose text outside `<?php ... ?>` is
/// JavaScript (ZoneMinder's `views/js/watch.js.php`, echoed into the page
/// beside `watch.js`). Its PHP blocks are left out, braces and all.
pub(crate) fn php_written_script_globals(page: &str) -> Vec<String> {
    let mut names = Vec::new();
    if page.to_ascii_lowercase().contains("<script") {
        return names;
    }
    let mut script = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(open) = rest.find("<?") {
        script.push_str(&rest[..open]);
        match rest[open..].find("?>") {
            Some(close) => {
                // A value the block echoes stands in for it.
                script.push('0');
                rest = &rest[open + close + 2..];
            }
            None => {
                rest = "";
            }
        }
    }
    script.push_str(rest);
    top_level_declarations(&script, &mut names);
    names
}

/// Pushes the names declared at the top level of a script's text: a line
/// that starts with `var`, `let`, `const` or `function` outside any braces.
fn top_level_declarations(script: &str, names: &mut Vec<String>) {
    let mut depth = 0usize;
    for line in script.lines() {
        let code = line.trim_start();
        if depth == 0 {
            let declared = ["var ", "let ", "const ", "function "]
                .iter()
                .find_map(|kw| code.strip_prefix(kw));
            if let Some(rest) = declared {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
                    .collect();
                if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                    names.push(name);
                }
            }
        }
        for c in line.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
}

/// Records the names a browser script declares at its top level for the
/// tree ([`Unless::ScriptGlobal`]); strict scripts' too (strict mode stops
/// a script creating globals by assignment, not declaring them). An ES
/// module's and a CommonJS module's declarations are their own.
fn record_script_globals(cx: &mut Ctx, explicit: &[&str]) {
    let src = cx.src;
    // An AMD loader's `require([...], function () {...})` (Dojo, RequireJS)
    // takes an array: such a file is still a plain script.
    let commonjs = mentions(src, "module.exports")
        || mentions(src, "exports.")
        || cx.all("call_expression").into_iter().any(|c| {
            Ctx::field(c, "function").is_some_and(|f| cx.text(f) == "require")
                && Ctx::field(c, "arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|a| matches!(a.kind(), "string" | "template_string"))
        });
    if commonjs {
        return;
    }
    // `var`, `let`, `const` and functions: a classic script's top-level
    // `let` and `const` are shared by the page's scripts too.
    let top: Vec<String> = cx
        .nodes
        .iter()
        .filter(|n| {
            matches!(n.kind(), "variable_declarator" | "function_declaration")
                && cx.enclosing(**n, FN).is_none_or(|f| f.id() == n.id())
                && (n.kind() == "function_declaration"
                    || cx.up(**n).is_some_and(|d| {
                        matches!(d.kind(), "variable_declaration" | "lexical_declaration")
                    }))
        })
        .filter_map(|n| Ctx::field(*n, "name"))
        .filter(|b| b.kind() == "identifier")
        .map(|b| cx.text(b).to_string())
        .collect();
    let explicit: Vec<String> = explicit.iter().map(|n| n.to_string()).collect();
    for name in top.into_iter().chain(explicit) {
        cx.facts.script_global(&name);
    }
}

/// Names a script makes global on purpose: `window.textChanged = false`,
/// `globalThis.x = ...`, and a bare `sel_mm = ...;` at the script's top
/// level (outside any function: it runs as the script loads, the old
/// scripts' way to make a page-wide global). A bare assignment to one in a
/// function later sets that global; it creates nothing.
fn window_properties<'a>(cx: &Ctx<'a>) -> Vec<&'a str> {
    let mut names: Vec<&'a str> = cx
        .all("assignment_expression")
        .into_iter()
        .filter_map(|a| Ctx::field(a, "left"))
        .filter(|l| l.kind() == "member_expression")
        .filter(|l| {
            Ctx::field(*l, "object").is_some_and(|o| matches!(cx.text(o), "window" | "globalThis"))
        })
        .filter_map(|l| Ctx::field(l, "property"))
        .filter(|p| p.kind() == "property_identifier")
        .map(|p| cx.text(p))
        .collect();
    names.extend(
        cx.all("assignment_expression")
            .into_iter()
            .filter(|a| cx.enclosing(*a, FN).is_none())
            .filter(|a| {
                cx.enclosing(*a, &["with_statement", "class_body"])
                    .is_none()
            })
            .filter_map(|a| Ctx::field(a, "left"))
            .filter(|l| l.kind() == "identifier")
            .map(|l| cx.text(l)),
    );
    names
}

fn accidental_globals(cx: &mut Ctx) {
    let src = cx.src;
    let mut cur = cx.root.walk();
    let is_module = cx
        .root
        .named_children(&mut cur)
        .any(|s| matches!(s.kind(), "import_statement" | "export_statement"));
    if is_module {
        return;
    }
    let explicit = window_properties(cx);
    record_script_globals(cx, &explicit);
    let head = src.trim_start();
    if head.starts_with("'use strict'")
        || head.starts_with("\"use strict\"")
        || head.starts_with("#!") && src.contains("'use strict'")
    {
        return;
    }
    let mut declared: HashSet<&str> = explicit.into_iter().collect();
    for n in &cx.nodes {
        let bind: Option<Node> = match n.kind() {
            "variable_declarator" => Ctx::field(*n, "name"),
            "function_declaration"
            | "class_declaration"
            | "function_expression"
            | "function"
            | "generator_function_declaration"
            | "class" => Ctx::field(*n, "name"),
            "formal_parameters" | "catch_clause" => Some(*n),
            "arrow_function" => Ctx::field(*n, "parameter"),
            "for_in_statement" => Ctx::field(*n, "left").filter(|_| {
                cx.text(*n).contains("var ")
                    || cx.text(*n).contains("let ")
                    || cx.text(*n).contains("const ")
            }),
            _ => None,
        };
        if let Some(b) = bind {
            if b.kind() == "identifier" {
                declared.insert(cx.text(b));
            }
            for i in cx.desc(b) {
                if matches!(
                    i.kind(),
                    "identifier" | "shorthand_property_identifier_pattern"
                ) {
                    declared.insert(cx.text(*i));
                }
            }
        }
    }
    let comment_globals: Vec<&str> = cx
        .all("comment")
        .into_iter()
        .map(|c| cx.text(c))
        .filter(|t| t.starts_with("/* global") || t.starts_with("/*global"))
        .collect();
    // `if (typeof __e == 'number') __e = core;` (core-js, UMD wrappers):
    // code that probes a name with `typeof` knows it as a global it means
    // to set, not one it creates by mistake. Each probed name maps to the
    // byte from which its assignments count as probed: anywhere for
    // `typeof x`; after the probe for `typeof(x)`, written as a call, which
    // guards an assignment coming after it (`if (typeof(arrTimer) ==
    // "undefined") arrTimer = []`) but, before it, checks the value just
    // set (`x = f(); if (typeof(x) == 'undefined')`).
    let mut probed: HashMap<&str, usize> = HashMap::new();
    for u in cx.all("unary_expression") {
        if !cx.text(u).starts_with("typeof") {
            continue;
        }
        let Some(mut a) = Ctx::field(u, "argument") else {
            continue;
        };
        let mut from = 0;
        while a.kind() == "parenthesized_expression" {
            from = u.start_byte();
            let Some(inner) = a.named_child(0) else {
                break;
            };
            a = inner;
        }
        if a.kind() == "identifier" {
            let at = probed.entry(cx.text(a)).or_insert(from);
            *at = (*at).min(from);
        }
    }
    let extra = cx.opts.extra_globals.clone();
    for a in cx.all("assignment_expression") {
        if cx.expired() {
            break;
        }
        let Some(l) = Ctx::field(a, "left") else {
            continue;
        };
        let Some(f) = cx.enclosing(a, FN) else {
            continue;
        };
        // Inside `with (Calendar) { _C = null; }` a bare name may be the
        // object's property (jscalendar's `Calendar._C`): which one is
        // known only at run time.
        if cx.enclosing(a, &["with_statement"]).is_some() {
            continue;
        }
        if l.kind() == "identifier" {
            let name = cx.text(l);
            if declared.contains(name)
                || probed.get(name).is_some_and(|&from| from <= a.start_byte())
                || KNOWN_GLOBALS.contains(&name)
                || extra.iter().any(|e| e == name)
                || comment_globals.iter().any(|c| mentions(c, name))
            {
                continue;
            }
            cx.hit_unless(
                Rule::AccidentalGlobal,
                a,
                format!("`{name}` is declared nowhere: in sloppy mode this assignment creates a global that lives (with what it references) forever"),
                format!("declare it: `let {name} = ...` (or add \"use strict\")").as_str(),
                Some(Unless::ScriptGlobal {
                    name: name.to_string(),
                    script: cx.file_name.clone(),
                }),
            );
            continue;
        }
        // `this.x = ...` in a plain function called without `new`.
        if l.kind() != "member_expression"
            || Ctx::field(l, "object").map(|o| o.kind()) != Some("this")
            || f.kind() != "function_declaration"
            || cx.up(f).map(|p| p.id()) != Some(cx.root.id())
        {
            continue;
        }
        let fname = fn_name(cx, f);
        if fname.is_empty() {
            continue;
        }
        let decl_name = Ctx::field(f, "name");
        let uses: Vec<Node> = cx
            .all("identifier")
            .into_iter()
            .filter(|i| cx.text(*i) == fname && Some(i.id()) != decl_name.map(|d| d.id()))
            .collect();
        let plain_calls = !uses.is_empty()
            && uses.iter().all(|u| {
                cx.up(*u).is_some_and(|p| {
                    p.kind() == "call_expression"
                        && Ctx::field(p, "function").is_some_and(|x| x.id() == u.id())
                })
            });
        if plain_calls && !mentions(src, &format!("new {fname}")) {
            let prop = Ctx::field(l, "property").map(|p| cx.text(p)).unwrap_or("");
            cx.hit(
                Rule::AccidentalGlobal,
                a,
                format!("`{fname}` is only ever called as a plain function, so `this` is the global object: `this.{prop}` becomes a global that is never freed"),
                format!("use a local (`const {prop} = ...`) or call it with `new`").as_str(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Lang, Rule};

    fn hits(src: &str) -> Vec<(Rule, usize)> {
        crate::analyze::rules_and_lines(Lang::JavaScript, src)
    }

    /// jQuery's ready callback runs once per page: a timer or listener it
    /// sets up is the page's start-up; one set up per call is not.
    #[test]
    fn jquerys_ready_callback_is_the_pages_start() {
        let src = "$(function () {\n  var draft = 1;\n  setInterval(function () { save(draft); }, 5000);\n  window.addEventListener('resize', function () { layout(draft); });\n});\n";
        assert_eq!(hits(src), []);
        let per_call = src.replace("$(function () {", "bus.on('tab', function () {");
        assert_eq!(
            hits(&per_call),
            [(Rule::UnstoppableTask, 3), (Rule::ListenerLeak, 4)]
        );
    }

    /// `window.x = ...` makes `x` a global on purpose: a bare assignment to
    /// it later creates nothing.
    #[test]
    fn a_window_property_is_a_declared_global() {
        let src = "window.textChanged = false;\nfunction edited() {\n  textChanged = true;\n  other = 1;\n}\n";
        assert_eq!(hits(src), [(Rule::AccidentalGlobal, 4)]);
    }

    /// A bare assignment at a script's top level makes that global on
    /// purpose: a function setting it later creates nothing; a name the
    /// top level never sets is still created by the function.
    #[test]
    fn a_top_level_bare_assignment_is_a_declared_global() {
        let src = "sel_mm = 1;\nif (cookie) {\n  sel_sort = cookie.sort;\n}\nfunction goto_page(mm, sort) {\n  sel_mm = mm;\n  sel_sort = sort;\n  other = 1;\n}\n";
        assert_eq!(hits(src), [(Rule::AccidentalGlobal, 8)]);
        let in_fn = src.replace("sel_mm = 1;\n", "function init() {\n  sel_mm = 1;\n}\n");
        assert_eq!(
            hits(&in_fn),
            [
                (Rule::AccidentalGlobal, 2),
                (Rule::AccidentalGlobal, 8),
                (Rule::AccidentalGlobal, 10)
            ]
        );
    }

    /// `typeof(x)` probes a global as `typeof x` does.
    #[test]
    fn a_parenthesized_typeof_probes_the_name() {
        let src = "function start(id) {\n  if (typeof(timers) == 'undefined') timers = [];\n  timers[id] = Date.now();\n}\n";
        assert_eq!(hits(src), []);
        let other = src.replace("typeof(timers)", "typeof(window)");
        assert_eq!(hits(&other), [(Rule::AccidentalGlobal, 2)]);
        // A check of the value just set is no probe of a global.
        let after = "function label(s) {\n  shown = names[s];\n  return typeof(shown) == 'undefined' ? s : shown;\n}\n";
        assert_eq!(hits(after), [(Rule::AccidentalGlobal, 2)]);
    }

    /// `addEventListener` adds a given function to a target once: a
    /// top-level function added on every call is there once; a closure
    /// made per call, or an emitter's `on`, adds one more each time.
    #[test]
    fn the_same_top_level_function_is_added_to_a_target_once() {
        let src = "function onResize() { layout(); }\nfunction activate() {\n  window.addEventListener('resize', onResize);\n}\nbus.on('tab', activate);\n";
        assert_eq!(hits(src), []);
        let arrow = src.replace(
            "function onResize() { layout(); }",
            "const onResize = () => layout();",
        );
        assert_eq!(hits(&arrow), []);
        let closure = src.replace("'resize', onResize", "'resize', () => layout()");
        assert_eq!(hits(&closure), [(Rule::ListenerLeak, 3)]);
        let reassigned = format!("{src}onResize = function () {{ relayout(); }};\n");
        assert_eq!(hits(&reassigned), [(Rule::ListenerLeak, 3)]);
        let local = src.replace(
            "function onResize() { layout(); }\nfunction activate() {\n",
            "function activate() {\n  function onResize() { layout(); }\n",
        );
        assert_eq!(hits(&local), [(Rule::ListenerLeak, 3)]);
    }

    /// A handle kept in a table under a key is cleared by a clear of that
    /// table's entries, whatever the cleanup names the key; a clear of
    /// another table's entries clears nothing here.
    #[test]
    fn a_keyed_timer_is_cleared_through_its_table() {
        let src = "var timers = [];\nfunction show(slot) {\n  timers[slot] = setInterval(function () { tick(slot); }, 1000);\n}\nfunction hangup() {\n  for (var i = 0; i < timers.length; i++) clearInterval(timers[i]);\n}\n";
        assert_eq!(hits(src), []);
        let spaced = src.replace(
            "clearInterval(timers[i])",
            "clearInterval( timers[ feed.slot ] )",
        );
        assert_eq!(hits(&spaced), []);
        let other = src.replace("clearInterval(timers[i])", "clearInterval(pollers[i])");
        assert_eq!(hits(&other), [(Rule::UnclearedTimer, 3)]);
    }

    /// `vjs.on(el, 'click', fn)` adds to the element it is given; the
    /// namespace's own `on('ready', fn)` per call adds to the namespace.
    #[test]
    fn a_helper_that_adds_to_its_first_argument_is_the_elements() {
        let src = "var vjs = {};\nvjs.Menu = function () {};\nvjs.Menu.prototype.createEl = function () {\n  var el = document.createElement('div');\n  vjs.on(el, 'click', function (e) { e.preventDefault(); });\n  return el;\n};\n";
        assert_eq!(hits(src), []);
        let own = src.replace("vjs.on(el, 'click', ", "vjs.on('click', ");
        assert_eq!(hits(&own), [(Rule::ListenerLeak, 5)]);
    }

    /// A top-level `forEach` runs its callback once per item as the script
    /// loads, in a bundle's module wrapper too; the same loop in a function
    /// that runs per call adds one more each call.
    #[test]
    fn a_for_each_at_load_registers_once() {
        let src = "var EVENTS = ['click', 'mouseup'];\nEVENTS.forEach(function (name) {\n  document.addEventListener(name, function (e) { route(e); });\n});\n";
        assert_eq!(hits(src), []);
        let bundled = format!("[(function (module, exports) {{\n{src}}})];\n");
        assert_eq!(hits(&bundled), []);
        let umd = format!("(function (root, factory) {{\n  root.Q = factory();\n}})(this, function () {{\n{src}}});\n");
        assert_eq!(hits(&umd), []);
        let per_call = format!("function attach() {{\n{src}}}\nbus.on('open', attach);\n");
        assert_eq!(hits(&per_call), [(Rule::ListenerLeak, 4)]);
    }

    /// In a `with` block a bare name may be the object's property.
    #[test]
    fn an_assignment_inside_with_may_be_the_objects_property() {
        let src = "Calendar._C = null;\nCalendar.tableMouseUp = function (ev) {\n  with (Calendar) {\n    _C = null;\n  }\n  last = ev;\n};\n";
        assert_eq!(hits(src), [(Rule::AccidentalGlobal, 6)]);
    }

    /// `find(...).toArray()` is MongoDB's whole result, except on jQuery
    /// objects, whose `find` lists a page's elements.
    #[test]
    fn jquerys_find_to_array_is_no_query() {
        let mongo =
            "async function all(db) {\n  return db.collection('events').find({}).toArray();\n}\n";
        assert_eq!(hits(mongo), [(Rule::UnboundedResults, 2)]);
        for dom in [
            "panel.element.find('[role=option]')",
            "editor.editable().find('img[src=\"' + blob + '\"]')",
            "$(node).find('li')",
            "this.$element.find('li')",
            "$list.find('li')",
            "jQuery(node).find('li')",
        ] {
            let src = mongo.replace("db.collection('events').find({})", dom);
            assert_eq!(hits(&src), [], "{dom}");
        }
        // A local holding `$(...)` is a jQuery object (DataTables'
        // `jqRows = $(rows)`); one holding a collection is not.
        let local = "function rows(sel) {\n  var jqRows = $(this.nodes());\n  return jqRows.find(sel).toArray();\n}\n";
        assert_eq!(hits(local), []);
        let coll = local.replace("$(this.nodes())", "db.collection('events')");
        assert_eq!(hits(&coll), [(Rule::UnboundedResults, 3)]);
        let both = local.replace(
            "  return",
            "  if (sel) jqRows = db.collection('events');\n  return",
        );
        assert_eq!(hits(&both), [(Rule::UnboundedResults, 4)]);
    }

    /// A constructor made only in the window's `load` handler (spaced as
    /// WordPress spaces its calls) runs once per page; made per click, its
    /// document listeners pile up.
    #[test]
    fn a_constructor_made_at_load_runs_once() {
        let src = "( function() {\n\tvar navMenu = function( id ) {\n\t\tdocument.addEventListener( 'keydown', function( event ) { close( id, event ); } );\n\t};\n\twindow.addEventListener( 'load', function() {\n\t\tnew navMenu( 'primary' );\n\t} );\n}() );\n";
        assert_eq!(hits(src), []);
        let per_click = src.replace("'load'", "'click'");
        assert_eq!(hits(&per_click), [(Rule::ListenerLeak, 3)]);
    }

    /// An on/off pair over the caller's event types is an API; an `on`
    /// whose target only ever loses a fixed event's listener is not.
    #[test]
    fn an_event_api_with_its_off_leaves_the_count_to_its_callers() {
        let src = "var a = {};\na.on = function (type, fn) {\n  function w(e) { fn(e); }\n  fn.w = w;\n  window.addEventListener(type, w);\n};\na.off = function (type, fn) {\n  window.removeEventListener(type, fn.w);\n};\n";
        assert_eq!(hits(src), []);
        let fixed_off = src.replace(
            "removeEventListener(type, fn.w)",
            "removeEventListener('x', onX)",
        );
        assert_eq!(hits(&fixed_off), [(Rule::ListenerLeak, 5)]);
        let other_target = src.replace(
            "window.removeEventListener(type, fn.w)",
            "document.removeEventListener(type, onX)",
        );
        assert_eq!(hits(&other_target), [(Rule::ListenerLeak, 5)]);
    }

    #[test]
    fn unset_tests_name_their_flag() {
        assert_eq!(super::unset_test("(!ready)"), Some(("ready", false)));
        assert_eq!(
            super::unset_test("(typeof$.jqplot.visiblePlots=='undefined')"),
            Some(("$.jqplot.visiblePlots", true))
        );
        assert_eq!(
            super::unset_test("(window.hook===undefined)"),
            Some(("window.hook", true))
        );
        assert_eq!(super::unset_test("(hook==null)"), Some(("hook", true)));
        assert_eq!(super::unset_test("(hook!==undefined)"), None);
        assert_eq!(super::unset_test("(a.b()==null)"), None);
        assert_eq!(super::unset_test("(x==1)"), None);
    }

    /// A class the module constructs once, at its top level, and does not
    /// export: its constructor's listeners are added once.
    #[test]
    fn a_class_the_module_makes_once_adds_its_listeners_once() {
        let src = "class Store {\n  constructor() {\n    window.addEventListener('hashchange', () => this.sync());\n  }\n}\nexport default new Store();\n";
        assert_eq!(hits(src), []);
        // Exported for others to make, or made per call: flagged.
        let exported = format!("{src}export {{ Store }};\n");
        assert_eq!(hits(&exported), [(Rule::ListenerLeak, 3)]);
        let per_call = src.replace(
            "export default new Store();",
            "export function mount() { return new Store(); }",
        );
        assert_eq!(hits(&per_call), [(Rule::ListenerLeak, 3)]);
    }

    /// `window.onload = Router.start` runs it once per page; another
    /// object's `start()` is no call of it, `Router.start()` in a handler is.
    #[test]
    fn a_qualified_function_handed_to_jquerys_ready_runs_once() {
        let src = "var e = {};\ne.load = function () {\n  document.body.addEventListener('mousedown', function () { hide(); });\n};\njQuery(e.load);\n";
        assert_eq!(hits(src), []);
        let again = format!("{src}button.onclick = function () {{ e.load(); }};\n");
        assert_eq!(hits(&again), [(Rule::ListenerLeak, 3)]);
        let other = src.replace("jQuery(e.load);", "jQuery(f.load);");
        assert_eq!(hits(&other), [(Rule::ListenerLeak, 3)]);
    }

    #[test]
    fn a_dropped_interval_in_an_iife_at_load_runs_once() {
        let src = "(function () {\n  function hook() {}\n  setInterval(hook, 2000);\n})();\n";
        assert_eq!(hits(src), []);
        let per_click = format!("button.onclick = function () {{\n{src}}};\n");
        assert_eq!(hits(&per_click), [(Rule::UnstoppableTask, 4)]);
    }

    #[test]
    fn a_umd_factory_runs_once_at_load() {
        let src = "(function (g, factory) {\n  g.S = factory();\n}(this, function () {\n  document.addEventListener('click', function () { go(); });\n  return 1;\n}));\n";
        assert_eq!(hits(src), []);
        let parenthesized = src
            .replace("}(this, function () {", "}(this, (function () {")
            .replace("}));", "})));");
        assert_eq!(hits(&parenthesized), []);
        // Handed to a named function, the factory may run any number of times.
        let handed = src
            .replace(
                "(function (g, factory) {\n  g.S = factory();\n}(this,",
                "define(this,",
            )
            .replace("}));", "});");
        assert_eq!(hits(&handed), [(Rule::ListenerLeak, 2)]);
    }

    #[test]
    fn a_handle_stored_through_an_alias_of_this_is_cleared_through_this() {
        let src = "S.prototype.start = function () {\n  var _this = this;\n  el.on('drag', function () {\n    _this._loop = setInterval(_this.tick, 50);\n  });\n};\nS.prototype.stop = function () {\n  clearInterval(this._loop);\n};\n";
        assert_eq!(hits(src), []);
        let other = src.replace("clearInterval(this._loop)", "clearInterval(this._scroll)");
        assert_eq!(hits(&other), [(Rule::UnclearedTimer, 4)]);
        let not_this = src.replace("var _this = this;", "var _this = other;");
        assert_eq!(hits(&not_this), [(Rule::UnclearedTimer, 4)]);
    }

    #[test]
    fn a_method_assigned_to_window_onload_runs_once() {
        let src = "var Router = {};\nRouter.start = function () {\n  window.addEventListener('popstate', function () { go(); });\n};\nfunction relogin() { LoginDialog.start(); }\nwindow.onload = Router.start;\n";
        assert_eq!(hits(src), []);
        let again = src.replace("LoginDialog.start();", "Router.start();");
        assert_eq!(hits(&again), [(Rule::ListenerLeak, 3)]);
        let not_onload = src.replace(
            "window.onload = Router.start;",
            "window.onresize = Router.start;",
        );
        assert_eq!(hits(&not_onload), [(Rule::ListenerLeak, 3)]);
    }

    /// A function handed by name to the page's start (`DOMContentLoaded`,
    /// `$(onLoad)`) runs once: its listeners are start-up; called per
    /// message, they are not.
    #[test]
    fn a_handler_named_for_the_page_start_runs_once() {
        let src = "(function () {\n  function onLoad() {\n    document.addEventListener('click', function (e) { track(e); });\n  }\n  document.addEventListener('DOMContentLoaded', onLoad, false);\n})();\n";
        assert_eq!(hits(src), []);
        let per_message = src.replace(
            "document.addEventListener('DOMContentLoaded', onLoad, false);",
            "window.addEventListener('message', function () { onLoad(); });",
        );
        assert_eq!(hits(&per_message), [(Rule::ListenerLeak, 3)]);
    }

    /// A descriptor handed from `fs.open`'s callback to a variable of the
    /// function around it is closed where that variable is.
    #[test]
    fn an_fd_handed_to_an_outer_variable_is_closed_there() {
        let src = "function save(path, buf) {\n  var fd;\n  function flush() {\n    fs.write(fd, buf, 0, buf.length, 0, function () { fs.close(fd); });\n  }\n  fs.open(path, 'w', function (err, _fd) {\n    if (err) return;\n    fd = _fd;\n    flush();\n  });\n}\n";
        assert_eq!(hits(src), []);
        let never = src.replace("fs.close(fd);", "");
        assert_eq!(hits(&never), [(Rule::UnclosedResource, 6)]);
    }

    /// A handler kept by an assignment inside the call is removed by that
    /// name; an inline handler kept nowhere cannot be.
    #[test]
    fn a_handler_assigned_in_the_call_is_removable() {
        let src = "Bar.prototype.start = function () {\n  var self = this;\n  document.addEventListener('mousemove', this.onMove = function (e) { self.move(e); }, false);\n};\nBar.prototype.stop = function () {\n  document.removeEventListener('mousemove', this.onMove, false);\n};\n";
        assert_eq!(hits(src), []);
        let kept_nowhere = src.replace("this.onMove = function", "function");
        assert_eq!(hits(&kept_nowhere), [(Rule::ListenerLeak, 3)]);
    }

    /// `self.onClick` added where `var self = this` is the `this.onClick`
    /// a teardown removes; an alias of something else, or another handler
    /// removed, is no removal of it.
    #[test]
    fn a_handler_added_through_a_this_alias_is_removable() {
        let src = "export default {\n  mounted() {\n    var self = this;\n    document.addEventListener('click', self.onOut);\n  },\n  beforeUnmount() {\n    document.removeEventListener('click', this.onOut);\n  },\n};\n";
        assert_eq!(hits(src), []);
        let other_alias = src.replace("var self = this;", "var self = store;");
        assert_eq!(hits(&other_alias), [(Rule::ListenerLeak, 4)]);
        let other_handler = src.replace("this.onOut);", "this.onIn);");
        assert_eq!(hits(&other_handler), [(Rule::ListenerLeak, 4)]);
    }

    /// A module wrapper invoked with `.call(this)` or `.apply(this, ...)`
    /// runs once, as `(function () { ... })()` does; a named function run
    /// with `.call` from a repeated handler does not.
    #[test]
    fn a_wrapper_invoked_with_call_runs_once() {
        let wrapper = "(function () {\n  window.addEventListener('message', function (e) { run(e); });\n}).call(this);\n";
        assert_eq!(hits(wrapper), []);
        assert_eq!(
            hits(&wrapper.replace(".call(this)", ".apply(this, arguments)")),
            []
        );
        let named = "function track() {\n  window.addEventListener('resize', function () { layout(); });\n}\nbus.on('message', function () { track.call(this); });\n";
        assert_eq!(hits(named), [(Rule::ListenerLeak, 2)]);
    }

    /// `DOMContentLoaded` (and `load` on `window`) fire once per page: the
    /// code that waits for them is the page's start-up. Other events on
    /// `window` fire again and again.
    #[test]
    fn listeners_for_the_page_start_are_start_up() {
        let src = "var h = new function () {\n  function m() {\n    var p = function () { run(); };\n    window.addEventListener('DOMContentLoaded', p, false);\n    window.addEventListener('load', p, false);\n  }\n  this.onLoad = m;\n}();\n";
        assert_eq!(hits(src), []);
        let resize = src.replace("'load'", "'resize'");
        assert_eq!(hits(&resize), [(Rule::ListenerLeak, 5)]);
    }

    /// A listener on the object the same function has just made and stored
    /// in a module variable (`server = spawn(...)`) goes on that object; one
    /// on the module's object, or on one a getter hands back, does not.
    #[test]
    fn a_listener_on_a_child_just_spawned_is_on_that_child() {
        let src = "let server = null;\nprocess.on('message', () => {\n  server = spawn('php', []);\n  server.on('exit', () => done());\n});\n";
        assert_eq!(hits(src), []);
        let kept = src.replace("  server = spawn('php', []);\n", "  start();\n");
        assert_eq!(hits(&kept), [(Rule::ListenerLeak, 4)]);
        let fetched = src.replace("spawn('php', [])", "getServer()");
        assert_eq!(hits(&fetched), [(Rule::ListenerLeak, 4)]);
    }

    /// Adds in a function only the module's top level calls are made while
    /// it loads (a launcher's `run(...)` twice); called per event too, or
    /// from a callback it hands on, they grow.
    #[test]
    fn adds_of_a_function_only_the_top_level_calls_are_bounded() {
        let src = "const procs = [];\nconst run = (cmd) => {\n  const p = spawn(cmd);\n  procs.push(p);\n  return p;\n};\nrun('a');\nrun('b');\n";
        assert_eq!(hits(src), []);
        let per_event = format!("{src}process.on('message', (m) => run(m.cmd));\n");
        assert_eq!(hits(&per_event), [(Rule::GlobalAccumulator, 4)]);
        let in_callback = src.replace(
            "  procs.push(p);\n",
            "  p.on('exit', () => procs.push(p));\n",
        );
        assert_eq!(hits(&in_callback), [(Rule::GlobalAccumulator, 4)]);
    }

    /// A React effect's cleanup may be returned from the branch that starts
    /// the timer (`if (id) { const t = setTimeout(...); return () =>
    /// clearTimeout(t); }`); one returned from another branch, or by a
    /// nested function, is no cleanup of it.
    #[test]
    fn an_effects_cleanup_may_come_from_the_timers_own_branch() {
        let src = "function A({ id }) {\n  useEffect(() => {\n    if (id) {\n      const t = setTimeout(() => load(id), 500);\n      return () => clearTimeout(t);\n    }\n  }, [id]);\n}\n";
        assert_eq!(hits(src), []);
        let other_branch = src.replace(
            "      return () => clearTimeout(t);\n    }\n",
            "    } else {\n      return () => clearTimeout(t);\n    }\n",
        );
        assert_eq!(hits(&other_branch), [(Rule::UnclearedTimer, 4)]);
        let nested = src.replace(
            "      return () => clearTimeout(t);\n",
            "      const later = () => { return () => clearTimeout(t); };\n",
        );
        assert_eq!(hits(&nested), [(Rule::UnclearedTimer, 4)]);
    }
}
