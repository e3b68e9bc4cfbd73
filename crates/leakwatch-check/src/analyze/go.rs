//! Go rules.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::python::runs_once;
use super::{mentions, root_ident, unbounded_select, Ctx};
use crate::rules::Rule;

pub(crate) const FN: &[&str] = &["function_declaration", "method_declaration", "func_literal"];

pub fn check(cx: &mut Ctx) {
    package_containers(cx);
    results(cx);
    goroutines(cx);
    resources(cx);
    timers(cx);
}

fn fn_name<'a>(cx: &Ctx<'a>, f: Node<'a>) -> &'a str {
    Ctx::field(f, "name").map(|n| cx.text(n)).unwrap_or("")
}

/// The named function (not literal) a node is in.
fn outer_fn<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Option<Node<'a>> {
    cx.enclosing(n, &["function_declaration", "method_declaration"])
}

fn once_fn(name: &str) -> bool {
    name == "main" || name == "init" || name.starts_with("Test") || runs_once(name)
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Map,
    Seq,
    SyncMap,
}

fn shape_of<'a>(cx: &Ctx<'a>, spec: Node<'a>) -> Option<Shape> {
    let ty = Ctx::field(spec, "type");
    let value = Ctx::field(spec, "value").and_then(|v| v.named_child(0));
    let from_type = |t: Node| match t.kind() {
        "map_type" => Some(Shape::Map),
        "slice_type" => Some(Shape::Seq),
        "qualified_type" if cx.text(t) == "sync.Map" => Some(Shape::SyncMap),
        _ => None,
    };
    match value {
        None => ty.and_then(from_type),
        Some(v) => match v.kind() {
            "composite_literal" => Ctx::field(v, "type").and_then(from_type),
            "call_expression" if cx.text(v).starts_with("make(") => Ctx::field(v, "arguments")
                .and_then(|a| a.named_child(0))
                .and_then(from_type),
            _ => None,
        },
    }
}

fn declares<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    for kind in [
        "short_var_declaration",
        "var_spec",
        "parameter_declaration",
        "range_clause",
    ] {
        for d in cx.desc_kind(f, kind) {
            if cx.expired() {
                break;
            }
            let names = Ctx::field(d, "left").or_else(|| Ctx::field(d, "name"));
            if names.is_some_and(|n| {
                cx.text(n) == name
                    || cx
                        .desc_kind(n, "identifier")
                        .iter()
                        .any(|i| cx.text(*i) == name)
            }) {
                return true;
            }
        }
    }
    Ctx::field(f, "parameters").is_some_and(|p| {
        cx.desc_kind(p, "identifier")
            .iter()
            .any(|i| cx.text(*i) == name)
    }) || Ctx::field(f, "receiver").is_some_and(|p| {
        cx.desc_kind(p, "identifier")
            .iter()
            .any(|i| cx.text(*i) == name)
    })
}

fn package_containers(cx: &mut Ctx) {
    let mut containers: Vec<(&str, Shape, Node)> = Vec::new();
    let mut cur = cx.root.walk();
    for decl in cx.root.named_children(&mut cur) {
        if decl.kind() != "var_declaration" {
            continue;
        }
        for spec in cx.desc_kind(decl, "var_spec") {
            if cx.expired() {
                break;
            }
            let Some(name) = Ctx::field(spec, "name") else {
                continue;
            };
            if let Some(shape) = shape_of(cx, spec) {
                containers.push((cx.text(name), shape, spec));
            }
        }
    }
    if containers.is_empty() {
        return;
    }
    let wanted: HashSet<&str> = containers.iter().map(|c| c.0).collect();
    stored_closures(cx, &wanted);
    let mut by_name: HashMap<&str, Vec<Node>> = HashMap::new();
    for id in cx.all("identifier") {
        if cx.expired() {
            break;
        }
        let t = cx.text(id);
        if wanted.contains(t) {
            by_name.entry(t).or_default().push(id);
        }
    }
    for (name, shape, spec) in containers {
        let lname = name.to_ascii_lowercase();
        if lname.contains("registry") || lname.contains("handlers") || lname.contains("plugins") {
            continue;
        }
        let (mut adds, mut lookups, mut removes, mut escapes) = (Vec::new(), 0, 0, 0);
        let mut memo: HashMap<usize, bool> = HashMap::new();
        for &u in by_name.get(name).map(|v| v.as_slice()).unwrap_or(&[]) {
            if Ctx::inside(u, spec) {
                continue;
            }
            let f = cx.enclosing(u, FN);
            if let Some(f) = f {
                if *memo.entry(f.id()).or_insert_with(|| declares(cx, f, name)) {
                    continue;
                }
            }
            let Some(p) = cx.up(u) else { continue };
            match p.kind() {
                "index_expression" => {
                    let assigned = cx.up(p).is_some_and(|el| {
                        el.kind() == "expression_list"
                            && cx.up(el).is_some_and(|a| {
                                a.kind() == "assignment_statement"
                                    && Ctx::field(a, "left").is_some_and(|l| l.id() == el.id())
                            })
                    });
                    // `s[i] = v` replaces an element; only map writes grow.
                    if assigned && shape == Shape::Seq {
                    } else if assigned {
                        if let Some(f) = f {
                            adds.push((cx.up(p).and_then(|e| cx.up(e)).unwrap_or(p), f));
                        }
                    } else {
                        lookups += 1;
                    }
                }
                "argument_list" => {
                    let call = cx.up(p);
                    let callee = call
                        .and_then(|c| Ctx::field(c, "function"))
                        .map(|c| cx.text(c))
                        .unwrap_or("");
                    match callee {
                        "delete" | "clear" => removes += 1,
                        // A size only bounds it when compared (`if len(x) > N`),
                        // not when printed or returned.
                        "len" | "cap" => {
                            let compared = call.and_then(|c| cx.up(c)).is_some_and(|b| {
                                b.kind() == "binary_expression"
                                    && Ctx::field(b, "operator").is_some_and(|o| {
                                        matches!(cx.text(o), ">" | ">=" | "<" | "<=" | "==" | "!=")
                                    })
                            });
                            if compared {
                                removes += 1;
                            }
                        }
                        "append" => {
                            // `X = append(X, v)` grows; anything else aliases it.
                            let grows = call
                                .and_then(|c| cx.up(c))
                                .and_then(|el| cx.up(el))
                                .is_some_and(|a| {
                                    a.kind() == "assignment_statement"
                                        && Ctx::field(a, "left").is_some_and(|l| cx.text(l) == name)
                                });
                            if grows {
                                if let Some(f) = f {
                                    adds.push((
                                        call.and_then(|c| cx.up(c))
                                            .and_then(|e| cx.up(e))
                                            .unwrap_or(p),
                                        f,
                                    ));
                                }
                            } else {
                                escapes += 1;
                            }
                        }
                        _ => escapes += 1,
                    }
                }
                "expression_list" => {
                    let owner = cx.up(p);
                    let is_left = owner.is_some_and(|a| {
                        a.kind() == "assignment_statement"
                            && Ctx::field(a, "left").is_some_and(|l| l.id() == p.id())
                    });
                    if is_left {
                        let rhs = owner
                            .and_then(|a| Ctx::field(a, "right"))
                            .map(|r| cx.text(r))
                            .unwrap_or("");
                        if !rhs.starts_with(&format!("append({name}")) && f.is_some() {
                            removes += 1; // reset or re-slice
                        }
                    } else if owner.is_some_and(|o| o.kind() != "range_clause") {
                        escapes += 1;
                    }
                }
                "selector_expression" => {
                    let m = Ctx::field(p, "field").map(|x| cx.text(x)).unwrap_or("");
                    match m {
                        "Store" | "LoadOrStore" | "Swap" => {
                            if let Some(f) = f {
                                adds.push((cx.up(p).unwrap_or(p), f));
                            }
                            if m == "LoadOrStore" {
                                lookups += 1;
                            }
                        }
                        "Load" => lookups += 1,
                        "Delete" | "LoadAndDelete" | "Range" | "Clear" | "CompareAndDelete" => {
                            removes += 1
                        }
                        _ => {}
                    }
                }
                "unary_expression" | "keyed_element" | "literal_element" | "return_statement" => {
                    escapes += 1
                }
                _ => {}
            }
        }
        if adds.is_empty() || removes > 0 || escapes > 0 {
            continue;
        }
        if adds.iter().all(|(_, f)| {
            let named = outer_fn(cx, *f).map(|o| fn_name(cx, o)).unwrap_or("");
            let own = fn_name(cx, *f);
            once_fn(own) || once_fn(named) || startup_only(cx, own) || startup_only(cx, named)
        }) {
            continue;
        }
        let (site, f) = adds[0];
        let fname = outer_fn(cx, site)
            .map(|o| fn_name(cx, o))
            .unwrap_or(fn_name(cx, f))
            .to_string();
        if shape != Shape::Seq && (lookups > 0 || lname.contains("cache")) {
            cx.hit(
                Rule::UnboundedCache,
                site,
                format!("package-level map `{name}` is used as a cache in `{fname}`: one entry per distinct key and nothing ever deletes or checks `len`"),
                "bound it: delete entries (`delete(m, k)`), check `len(m)`, or use an LRU/TTL cache",
            );
        } else {
            cx.hit(
                Rule::GlobalAccumulator,
                site,
                format!("package-level `{name}` only grows: `{fname}` adds to it and nothing removes, re-slices, resets or bounds it"),
                "cap it (drop the oldest when len passes a limit), reset it after use, or keep it per request",
            );
        }
    }
}

/// Whether every call of function `name` in this file is made from a
/// function that runs once (init, main, setup...): a registration helper.
/// Unknown callers (no call in this file) do not count as start-up.
fn startup_only(cx: &Ctx, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let suffix = format!(".{name}");
    let calls: Vec<Node> = cx
        .all("call_expression")
        .into_iter()
        .filter(|c| {
            Ctx::field(*c, "function").is_some_and(|f| {
                let t = cx.text(f);
                t == name || t.ends_with(&suffix)
            })
        })
        .collect();
    !calls.is_empty()
        && calls
            .iter()
            .all(|c| outer_fn(cx, *c).is_some_and(|o| once_fn(fn_name(cx, o))))
}

/// Whether a variable of function `f` holds bulk data: a slice, map or
/// pointer parameter, or a local from `io.ReadAll`/`os.ReadFile`/`make([]`.
fn bulky<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    cx.named_in(f, "identifier", name).into_iter().any(|id| {
        let Some(p) = cx.up(id) else { return false };
        match p.kind() {
            "parameter_declaration" => Ctx::field(p, "type").is_some_and(|t| {
                matches!(
                    t.kind(),
                    "slice_type" | "map_type" | "array_type" | "pointer_type"
                )
            }),
            "expression_list" => cx.up(p).is_some_and(|d| {
                d.kind() == "short_var_declaration"
                    && Ctx::field(d, "left").is_some_and(|l| l.id() == p.id())
                    && Ctx::field(d, "right").is_some_and(|r| {
                        let t = cx.text(r);
                        [
                            "io.ReadAll(",
                            "ioutil.ReadAll(",
                            "os.ReadFile(",
                            "ioutil.ReadFile(",
                            "make([]",
                            "[]byte(",
                        ]
                        .iter()
                        .any(|p| t.starts_with(p))
                    })
            }),
            _ => false,
        }
    })
}

/// Function literals filed in a package-level collection from a function,
/// capturing a slice/map/buffer of that function: the data lives as long as
/// the entry.
fn stored_closures(cx: &mut Ctx, package: &HashSet<&str>) {
    for lit in cx.all("func_literal") {
        if cx.expired() {
            break;
        }
        let Some(f) = cx.enclosing(lit, FN) else {
            continue;
        };
        // `X[k] = func...` or `X = append(X, func...)`.
        let target = cx.up(lit).and_then(|p| {
            if p.kind() == "expression_list" {
                let a = cx.up(p).filter(|a| a.kind() == "assignment_statement")?;
                let l = Ctx::field(a, "left")?;
                let l = l.named_child(0)?;
                if l.kind() == "index_expression" {
                    return Ctx::field(l, "operand").map(|o| cx.text(o));
                }
                None
            } else if p.kind() == "argument_list" {
                let call = cx.up(p)?;
                (Ctx::field(call, "function").map(|c| cx.text(c)) == Some("append"))
                    .then(|| p.named_child(0).map(|a| cx.text(a)))
                    .flatten()
            } else {
                None
            }
        });
        let Some(target) = target.filter(|t| package.contains(t)) else {
            continue;
        };
        let params: Vec<&str> = Ctx::field(lit, "parameters")
            .map(|p| {
                cx.desc_kind(p, "identifier")
                    .into_iter()
                    .map(|i| cx.text(i))
                    .collect()
            })
            .unwrap_or_default();
        let captured = cx
            .desc_kind(lit, "identifier")
            .into_iter()
            .map(|i| cx.text(i))
            .find(|n| !params.contains(n) && bulky(cx, f, n));
        if let Some(name) = captured {
            cx.hit(
                Rule::ClosureCapture,
                lit,
                format!("this func literal is kept in package-level `{target}` and captures `{name}`: the whole buffer stays alive as long as the entry does"),
                "capture only what the callback needs (`n := len(data)`), not the data",
            );
        }
    }
}

fn string_args<'a>(cx: &Ctx<'a>, call: Node<'a>) -> Vec<&'a str> {
    let Some(args) = Ctx::field(call, "arguments") else {
        return Vec::new();
    };
    let mut cur = args.walk();
    let v = args
        .named_children(&mut cur)
        .filter(|a| {
            matches!(
                a.kind(),
                "interpreted_string_literal" | "raw_string_literal"
            )
        })
        .map(|a| cx.text(a))
        .collect();
    v
}

fn results(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        let method = callee.rsplit('.').next().unwrap_or("");
        let flagged = match method {
            "Query" | "QueryContext" | "Select" | "Queryx" | "QueryxContext" => {
                callee.contains('.') && string_args(cx, call).iter().any(|s| unbounded_select(s))
            }
            "Find" => {
                let root = root_ident(callee);
                matches!(root, "db" | "DB" | "tx" | "gdb" | "orm")
                    && !callee.contains(".Limit(")
                    && !callee.contains(".Where(")
                    && !callee.contains(".First(")
                    && cx.enclosing(call, FN).is_some()
            }
            _ => false,
        };
        if flagged {
            cx.hit(
                Rule::UnboundedResults,
                call,
                format!("`{callee}(...)` reads every row of the table into memory; memory grows with the table"),
                "add LIMIT/pagination (`.Limit(n)`), or stream rows and process them one at a time",
            );
        }
    }
}

/// A `for` loop that can end from inside: return, labeled break, break that
/// belongs to this loop, goto, panic or exit.
fn loop_can_exit<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    cx.desc(f).iter().any(|d| match d.kind() {
        "return_statement" | "goto_statement" => {
            cx.enclosing(*d, FN).is_some_and(|x| Ctx::inside(f, x))
        }
        "break_statement" => {
            d.named_child_count() > 0
                || cx
                    .enclosing(
                        *d,
                        &[
                            "for_statement",
                            "select_statement",
                            "expression_switch_statement",
                            "type_switch_statement",
                        ],
                    )
                    .is_some_and(|x| x.id() == f.id())
        }
        "call_expression" => {
            let t = cx.text(*d);
            t.starts_with("os.Exit(")
                || t.starts_with("panic(")
                || t.starts_with("log.Fatal")
                || t.starts_with("runtime.Goexit(")
        }
        _ => false,
    })
}

fn forever_loop<'a>(cx: &Ctx<'a>, body: Node<'a>) -> Option<&'static str> {
    for f in cx.desc_kind(body, "for_statement") {
        if cx.expired() {
            break;
        }
        if cx.enclosing(f, FN).is_some_and(|x| {
            Ctx::inside(x, body) && x.id() != cx.up(body).map(|p| p.id()).unwrap_or(0)
        }) {
            continue; // inside a nested func literal
        }
        let header: Vec<Node> = {
            let mut c = f.walk();
            f.named_children(&mut c)
                .filter(|n| n.kind() != "block" && n.kind() != "comment")
                .collect()
        };
        let endless = match header.first() {
            None => Some("an endless `for {}`"),
            Some(h) if h.kind() == "range_clause" => {
                let r = Ctx::field(*h, "right").map(|r| cx.text(r)).unwrap_or("");
                (r.starts_with("time.Tick(") || r.ends_with(".C"))
                    .then_some("a range over a ticker")
            }
            Some(h) if cx.text(*h) == "true" => Some("`for true`"),
            _ => None,
        };
        if let Some(what) = endless {
            if !loop_can_exit(cx, f) {
                return Some(what);
            }
        }
    }
    None
}

/// `ch := make(chan T)` (unbuffered) in function `f`.
fn unbuffered_local<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    cx.named_in(f, "identifier", name).into_iter().any(|id| {
        cx.up(id)
            .filter(|p| p.kind() == "expression_list")
            .and_then(|p| cx.up(p))
            .filter(|d| d.kind() == "short_var_declaration")
            .and_then(|d| Ctx::field(d, "right"))
            .is_some_and(|r| {
                let t: String = cx.text(r).chars().filter(|c| !c.is_whitespace()).collect();
                t.starts_with("make(chan") && !t.contains(',')
            })
    })
}

/// A goroutine that will block forever once its counterpart has gone: it
/// receives on a local unbuffered channel nobody closes, outside any select
/// (a long-poll after the client left), or sends its result on one while the
/// caller can return early from a select (a timeout).
fn blocked_forever<'a>(cx: &Ctx<'a>, outer: Node<'a>, body: Node<'a>) -> Option<String> {
    let outer_text = cx.text(outer);
    for d in cx.desc(body).to_vec() {
        let in_select = cx
            .enclosing(d, &["select_statement", "func_literal"])
            .is_some_and(|x| x.kind() == "select_statement");
        if in_select {
            continue;
        }
        match d.kind() {
            "unary_expression" if cx.text(d).starts_with("<-") => {
                let ch = Ctx::field(d, "operand").map(|o| cx.text(o)).unwrap_or("");
                if unbuffered_local(cx, outer, ch) && !mentions(outer_text, &format!("close({ch})"))
                {
                    return Some(format!("waits on `<-{ch}`, an unbuffered channel nobody closes: when the client leaves, nothing ever sends and it blocks forever"));
                }
            }
            "send_statement" => {
                let ch = Ctx::field(d, "channel").map(|o| cx.text(o)).unwrap_or("");
                if !unbuffered_local(cx, outer, ch) {
                    continue;
                }
                // The caller receives in a select with another way out.
                let early_exit = cx
                    .desc_kind(outer, "select_statement")
                    .into_iter()
                    .any(|s| {
                        !Ctx::inside(s, body)
                            && mentions(cx.text(s), &format!("<-{ch}"))
                            && cx.desc(s).iter().any(|x| x.kind() == "return_statement")
                    });
                if early_exit {
                    return Some(format!("sends its result on `{ch}`, unbuffered: after the caller's select has returned (timeout or cancel), the send blocks forever"));
                }
            }
            _ => {}
        }
    }
    None
}

fn goroutines(cx: &mut Ctx) {
    let decls: Vec<Node> = cx.all("function_declaration");
    for g in cx.all("go_statement") {
        if cx.expired() {
            break;
        }
        let Some(call) = g.named_child(0).filter(|c| c.kind() == "call_expression") else {
            continue;
        };
        let Some(outer) = outer_fn(cx, g) else {
            continue;
        };
        if once_fn(fn_name(cx, outer)) {
            continue;
        }
        let callee = Ctx::field(call, "function");
        let body = match callee {
            Some(c) if c.kind() == "func_literal" => Ctx::field(c, "body"),
            Some(c) if c.kind() == "identifier" => decls
                .iter()
                .find(|d| fn_name(cx, **d) == cx.text(c))
                .and_then(|d| Ctx::field(*d, "body")),
            _ => None,
        };
        let Some(body) = body else { continue };
        if callee.is_some_and(|c| c.kind() == "func_literal") {
            let scope = cx.enclosing(g, FN).unwrap_or(outer);
            if let Some(why) = blocked_forever(cx, scope, body) {
                let outer_name = fn_name(cx, outer).to_string();
                cx.hit(
                    Rule::UnstoppableTask,
                    g,
                    format!("goroutine started in `{outer_name}` {why}; one leaked goroutine (and what it holds) per call"),
                    "select on the request's `ctx.Done()` as well, or make the channel buffered (`make(chan T, 1)`) so the send never blocks",
                );
                continue;
            }
        }
        if let Some(what) = forever_loop(cx, body) {
            let outer_name = fn_name(cx, outer).to_string();
            cx.hit(
                Rule::UnstoppableTask,
                g,
                format!("goroutine started in `{outer_name}` runs {what} with no exit (no return, no ctx.Done(), no close path): one more blocked goroutine, and its stack and captures, per call"),
                "select on `<-ctx.Done()` (or a quit channel) and return, or start one worker at startup",
            );
        }
    }
}

fn left_names<'a>(cx: &Ctx<'a>, stmt: Node<'a>) -> Vec<&'a str> {
    Ctx::field(stmt, "left")
        .map(|l| {
            let mut c = l.walk();
            l.named_children(&mut c).map(|n| cx.text(n)).collect()
        })
        .unwrap_or_default()
}

const STD_READERS: &[&str] = &[
    "io.", "bufio.", "fmt.", "json.", "ioutil.", "os.", "strings.", "bytes.", "csv.", "gob.",
    "xml.", "log.", "errors.", "scanner.", "tar.", "zip.", "gzip.", "yaml.",
];

fn released_or_escapes<'a>(
    cx: &Ctx<'a>,
    scope: Node<'a>,
    name: &str,
    closer: &str,
    after: usize,
) -> bool {
    let text = cx.text(scope);
    if mentions(text, &format!("{name}{closer}")) {
        return true;
    }
    cx.named_in(scope, "identifier", name).into_iter().any(|u| {
        if u.start_byte() <= after || cx.text(u) != name {
            return false;
        }
        let Some(p) = cx.up(u) else { return false };
        match p.kind() {
            "expression_list" => cx.up(p).is_some_and(|r| {
                r.kind() == "return_statement"
                    || (r.kind() == "assignment_statement"
                        && Ctx::field(r, "right").is_some_and(|x| x.id() == p.id()))
            }),
            "return_statement" | "keyed_element" | "literal_element" | "send_statement" => true,
            "argument_list" => {
                let callee = cx
                    .up(p)
                    .and_then(|c| Ctx::field(c, "function"))
                    .map(|c| cx.text(c))
                    .unwrap_or("");
                !STD_READERS.iter().any(|s| callee.starts_with(s))
                    || callee.to_ascii_lowercase().contains("close")
            }
            _ => false,
        }
    })
}

fn resources(cx: &mut Ctx) {
    let mut stmts = cx.all("short_var_declaration");
    stmts.extend(cx.all("assignment_statement"));
    for s in stmts {
        if cx.expired() {
            break;
        }
        let Some(call) = Ctx::field(s, "right")
            .and_then(|r| r.named_child(0))
            .filter(|c| c.kind() == "call_expression")
        else {
            continue;
        };
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        let names = left_names(cx, s);
        let Some(&name) = names.first() else { continue };
        if name == "_" {
            continue;
        }
        let Some(scope) = cx.enclosing(s, FN) else {
            continue;
        };
        let method = callee.rsplit('.').next().unwrap_or("");
        let recv = callee
            .strip_suffix(method)
            .unwrap_or("")
            .to_ascii_lowercase();
        let two = names.len() == 2;
        let (rule, closer, what) =
            if matches!(
                callee,
                "http.Get" | "http.Post" | "http.Head" | "http.PostForm"
            ) || (matches!(method, "Do" | "Get" | "Post" | "Head" | "PostForm")
                && (recv.contains("client") || recv.starts_with("http."))
                && two)
            {
                (
                    Rule::UnreleasedConnection,
                    ".Body.Close(",
                    "HTTP response body",
                )
            } else if two
                && matches!(
                    method,
                    "Query" | "QueryContext" | "Queryx" | "QueryxContext"
                )
                && callee.contains('.')
            {
                (Rule::UnreleasedConnection, ".Close(", "sql.Rows")
            } else if two
                && matches!(method, "Conn" | "Prepare" | "PrepareContext")
                && (recv.contains("db") || recv.contains("pool"))
            {
                (
                    Rule::UnreleasedConnection,
                    ".Close(",
                    "database connection/statement",
                )
            } else if two
                && matches!(
                    callee,
                    "os.Open"
                        | "os.Create"
                        | "os.OpenFile"
                        | "net.Dial"
                        | "net.DialTimeout"
                        | "net.Listen"
                        | "net.DialTCP"
                        | "net.DialUDP"
                        | "net.ListenPacket"
                )
            {
                (Rule::UnclosedResource, ".Close(", "file/socket")
            } else {
                continue;
            };
        if released_or_escapes(cx, scope, name, closer, s.end_byte()) {
            continue;
        }
        // Kept in a field (`c.conn, err = net.Dial(...)`): the object owns
        // it, and another of its methods may close it (`c.conn.Close()`).
        if let Some((_, field)) = name.rsplit_once('.') {
            if mentions(cx.src, &format!(".{field}{closer}")) {
                continue;
            }
        }
        let fix = if closer == ".Body.Close(" {
            format!("`defer {name}.Body.Close()` right after the error check")
        } else {
            format!("`defer {name}.Close()` right after the error check")
        };
        cx.hit(
            rule,
            s,
            format!("{what} `{name}` from `{callee}` is never closed: it holds a connection/descriptor and its buffers for as long as it lives"),
            &fix,
        );
    }
    // defer Close() inside a loop
    for d in cx.all("defer_statement") {
        if cx.expired() {
            break;
        }
        let t = cx.text(d);
        if !t.contains(".Close()") {
            continue;
        }
        let in_loop = cx
            .enclosing(
                d,
                &[
                    "for_statement",
                    "func_literal",
                    "function_declaration",
                    "method_declaration",
                ],
            )
            .filter(|x| x.kind() == "for_statement")
            .is_some_and(|l| !ranges_over_a_literal(l));
        if in_loop {
            cx.hit(
                Rule::UnclosedResource,
                d,
                "`defer ...Close()` inside a loop only runs when the function returns: every iteration's file/connection stays open until then".into(),
                "close at the end of each iteration, or move the loop body into a helper function with its own defer",
            );
        }
    }
}

/// Whether `for_loop` ranges over a literal the code writes out (`range
/// []string{"a.tar.gz", "b.tar.gz"}`): as many iterations as it names, so
/// a deferred close there keeps a fixed few open until the return.
fn ranges_over_a_literal(for_loop: Node) -> bool {
    let mut walk = for_loop.walk();
    let clause = for_loop
        .named_children(&mut walk)
        .find(|c| c.kind() == "range_clause");
    clause
        .and_then(|r| Ctx::field(r, "right"))
        .is_some_and(|r| r.kind() == "composite_literal")
}

fn timers(cx: &mut Ctx) {
    for call in cx.all("call_expression") {
        if cx.expired() {
            break;
        }
        let callee = Ctx::field(call, "function")
            .map(|f| cx.text(f))
            .unwrap_or("");
        if callee != "time.Tick" && callee != "time.NewTicker" {
            continue;
        }
        let Some(outer) = outer_fn(cx, call) else {
            continue;
        };
        if fn_name(cx, outer) == "main" {
            continue;
        }
        if callee == "time.Tick" {
            cx.hit(
                Rule::UnclearedTimer,
                call,
                "`time.Tick` outside main leaks its ticker: it can never be stopped (and, before Go 1.23, never collected)".into(),
                "`t := time.NewTicker(d); defer t.Stop()` and range over `t.C`",
            );
            continue;
        }
        let Some(stmt) = cx.up(call).and_then(|p| cx.up(p)) else {
            continue;
        };
        if !matches!(
            stmt.kind(),
            "short_var_declaration" | "assignment_statement"
        ) {
            continue;
        }
        let Some(&name) = left_names(cx, stmt).first() else {
            continue;
        };
        let scope = cx.enclosing(call, FN).unwrap_or(outer);
        if released_or_escapes(cx, scope, name, ".Stop(", stmt.end_byte()) {
            continue;
        }
        cx.hit(
            Rule::UnclearedTimer,
            stmt,
            format!(
                "ticker `{name}` is never stopped: it keeps firing and is never garbage-collected"
            ),
            format!("`defer {name}.Stop()` right after creating it").as_str(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{Lang, Rule};

    fn hits(src: &str) -> Vec<(Rule, usize)> {
        crate::analyze::rules_and_lines(Lang::Go, src)
    }

    /// A deferred close in a loop over a literal list keeps as many files
    /// open as the list names; over a slice it gets, one per element.
    #[test]
    fn a_deferred_close_in_a_loop_over_a_literal_is_bounded() {
        let src = "package p\n\nimport \"os\"\n\nfunc Load(paths []string) {\n\tfor _, name := range []string{\"a\", \"b\"} {\n\t\tf, _ := os.Open(name)\n\t\tdefer f.Close()\n\t}\n}\n";
        assert_eq!(hits(src), []);
        let over_parameter = src.replace("[]string{\"a\", \"b\"}", "paths");
        assert_eq!(hits(&over_parameter), [(Rule::UnclosedResource, 8)]);
    }
}
