//! Java rules.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::python::runs_once;
use super::{mentions, root_ident, unbounded_select, Ctx};
use crate::rules::Rule;

const METHOD: &[&str] = &["method_declaration", "constructor_declaration"];
pub(crate) const FN: &[&str] = &[
    "method_declaration",
    "constructor_declaration",
    "lambda_expression",
];

pub fn check(cx: &mut Ctx) {
    let statics = long_lived_fields(cx);
    containers(cx, &statics);
    listeners(cx, &statics);
    results(cx);
    threads(cx);
    resources(cx);
}

fn name_of<'a>(cx: &Ctx<'a>, n: Node<'a>) -> &'a str {
    Ctx::field(n, "name").map(|x| cx.text(x)).unwrap_or("")
}

fn once_method(name: &str) -> bool {
    name == "main"
        || runs_once(name)
        || name == "afterPropertiesSet"
        || name == "contextInitialized"
}

/// Static fields, and fields of singleton components (Spring beans, servlets).
fn long_lived_fields<'a>(cx: &Ctx<'a>) -> Vec<(&'a str, Node<'a>, Node<'a>)> {
    let mut out = Vec::new();
    for fd in cx.all("field_declaration") {
        if cx.expired() {
            break;
        }
        let modifiers = {
            let mut c = fd.walk();
            let m = fd
                .children(&mut c)
                .find(|c| c.kind() == "modifiers")
                .map(|m| cx.text(m))
                .unwrap_or("");
            m
        };
        let class_text = cx
            .enclosing(fd, &["class_declaration"])
            .map(|c| {
                let mut cc = c.walk();
                let m = c
                    .children(&mut cc)
                    .find(|x| x.kind() == "modifiers")
                    .map(|m| cx.text(m))
                    .unwrap_or("");
                m
            })
            .unwrap_or("");
        let singleton = [
            "@Service",
            "@Component",
            "@RestController",
            "@Controller",
            "@Repository",
            "@Singleton",
        ]
        .iter()
        .any(|a| class_text.contains(a));
        if !(modifiers.contains("static") || singleton) {
            continue;
        }
        for d in cx.desc_kind(fd, "variable_declarator") {
            if cx.expired() {
                break;
            }
            if let Some(n) = Ctx::field(d, "name") {
                out.push((cx.text(n), d, fd));
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Map,
    Seq,
    Set,
}

fn shape_of<'a>(cx: &Ctx<'a>, v: Node<'a>) -> Option<Shape> {
    let (ty, anon) = match v.kind() {
        "object_creation_expression" => (
            Ctx::field(v, "type").map(|t| cx.text(t)).unwrap_or(""),
            cx.desc(v).iter().any(|n| n.kind() == "class_body"),
        ),
        "method_invocation" if cx.text(v).starts_with("Collections.synchronized") => {
            return Ctx::field(v, "arguments")
                .and_then(|a| a.named_child(0))
                .and_then(|a| shape_of(cx, a));
        }
        _ => return None,
    };
    if anon {
        return None; // e.g. LinkedHashMap with removeEldestEntry
    }
    let base = ty
        .split('<')
        .next()
        .unwrap_or("")
        .rsplit('.')
        .next()
        .unwrap_or("");
    match base {
        "HashMap"
        | "ConcurrentHashMap"
        | "TreeMap"
        | "Hashtable"
        | "LinkedHashMap"
        | "ConcurrentSkipListMap" => Some(Shape::Map),
        "ArrayList"
        | "LinkedList"
        | "Vector"
        | "CopyOnWriteArrayList"
        | "ConcurrentLinkedQueue"
        | "ArrayDeque"
        | "LinkedBlockingQueue" => Some(Shape::Seq),
        "HashSet"
        | "TreeSet"
        | "LinkedHashSet"
        | "CopyOnWriteArraySet"
        | "ConcurrentSkipListSet" => Some(Shape::Set),
        _ => None,
    }
}

fn declares_local<'a>(cx: &Ctx<'a>, m: Node<'a>, name: &str) -> bool {
    cx.desc_kind(m, "variable_declarator")
        .iter()
        .chain(cx.desc_kind(m, "formal_parameter").iter())
        .any(|d| Ctx::field(*d, "name").is_some_and(|n| cx.text(n) == name))
}

fn containers<'a>(cx: &mut Ctx<'a>, fields: &[(&'a str, Node<'a>, Node<'a>)]) {
    let candidates: Vec<(&str, Shape, Node)> = fields
        .iter()
        .filter_map(|(n, d, fd)| {
            Ctx::field(*d, "value")
                .and_then(|v| shape_of(cx, v))
                .map(|s| (*n, s, *fd))
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let wanted: HashSet<&str> = candidates.iter().map(|c| c.0).collect();
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
    for (name, shape, fd) in candidates {
        let lname = name.to_ascii_lowercase();
        if lname.contains("registry") || lname.contains("listeners") || lname.contains("handlers") {
            continue;
        }
        let (mut adds, mut lookups, mut removes, mut escapes) = (Vec::new(), 0, 0, 0);
        let mut memo: HashMap<usize, bool> = HashMap::new();
        for &id in by_name.get(name).map(|v| v.as_slice()).unwrap_or(&[]) {
            if Ctx::inside(id, fd) {
                continue;
            }
            let mut u = id;
            if let Some(p) = cx.up(id).filter(|p| p.kind() == "field_access") {
                if Ctx::field(p, "field").is_some_and(|f| f.id() == id.id()) {
                    u = p;
                }
            }
            let m = cx.enclosing(u, METHOD);
            if let (Some(m), true) = (m, u.id() == id.id()) {
                if *memo
                    .entry(m.id())
                    .or_insert_with(|| declares_local(cx, m, name))
                {
                    continue;
                }
            }
            let Some(p) = cx.up(u) else { continue };
            match p.kind() {
                "method_invocation"
                    if Ctx::field(p, "object").is_some_and(|o| o.id() == u.id()) =>
                {
                    match name_of(cx, p) {
                        "put" | "putIfAbsent" | "compute" | "merge" | "add" | "addAll"
                        | "offer" | "push" | "addLast" | "addFirst" | "putAll" => {
                            if let Some(m) = m {
                                adds.push((p, m));
                            }
                        }
                        "computeIfAbsent" => {
                            lookups += 1;
                            if let Some(m) = m {
                                adds.push((p, m));
                            }
                        }
                        "get" | "containsKey" | "getOrDefault" | "contains" => lookups += 1,
                        "remove" | "clear" | "poll" | "pop" | "removeIf" | "retainAll"
                        | "removeAll" | "size" | "isEmpty" | "pollFirst" | "pollLast"
                        | "removeFirst" | "removeLast" | "entrySet" | "keySet" | "values"
                        | "iterator" | "drainTo" | "take" => removes += 1,
                        other if cx.opts.release_methods.iter().any(|r| r == other) => removes += 1,
                        _ => {}
                    }
                }
                "argument_list" | "return_statement" | "variable_declarator" => escapes += 1,
                "assignment_expression" => {
                    if Ctx::field(p, "left").is_some_and(|l| l.id() == u.id()) {
                        if m.is_some() {
                            removes += 1;
                        }
                    } else {
                        escapes += 1;
                    }
                }
                _ => {}
            }
        }
        if adds.is_empty() || removes > 0 || escapes > 0 {
            continue;
        }
        if adds.iter().all(|(_, m)| once_method(name_of(cx, *m))) {
            continue;
        }
        let (site, m) = adds[0];
        let mname = name_of(cx, m).to_string();
        if shape == Shape::Map && (lookups > 0 || lname.contains("cache")) {
            cx.hit(
                Rule::UnboundedCache,
                site,
                format!("long-lived map `{name}` is used as a cache in `{mname}()`: one entry per distinct key and nothing ever removes, clears or checks its size"),
                "use a bounded cache (Caffeine/Guava `maximumSize`, or LinkedHashMap with removeEldestEntry) or evict entries",
            );
        } else {
            cx.hit(
                Rule::GlobalAccumulator,
                site,
                format!("long-lived collection `{name}` only grows: `{mname}()` adds to it and nothing removes, clears or bounds it"),
                "bound it (drop the oldest past a limit), drain it after use, or keep it per request",
            );
        }
    }
}

fn listeners<'a>(cx: &mut Ctx<'a>, fields: &[(&'a str, Node<'a>, Node<'a>)]) {
    let statics: HashSet<&str> = fields.iter().map(|f| f.0).collect();
    for call in cx.all("method_invocation") {
        if cx.expired() {
            break;
        }
        let name = name_of(cx, call);
        let is_add = (name.starts_with("add") && name.ends_with("Listener"))
            || matches!(
                name,
                "addObserver" | "addShutdownHook" | "register" | "addHandler"
            );
        if !is_add {
            continue;
        }
        let Some(obj) = Ctx::field(call, "object") else {
            continue;
        };
        let target = cx.text(obj);
        let root = root_ident(target);
        let long_lived = statics.contains(root)
            || statics.contains(target.trim_start_matches("this."))
            || (root.chars().next().is_some_and(|c| c.is_uppercase()) && target.contains("()"));
        if !long_lived {
            continue;
        }
        let Some(m) = cx.enclosing(call, METHOD) else {
            continue;
        };
        if once_method(name_of(cx, m)) {
            continue;
        }
        if name == "register" && !target.to_ascii_lowercase().contains("bus") {
            continue;
        }
        let removal = if name.starts_with("add") {
            name.replacen("add", "remove", 1)
        } else {
            "unregister".to_string()
        };
        let removed = [
            removal.as_str(),
            "deleteObserver",
            "unregister",
            "removeShutdownHook",
            "removeHandler",
        ]
        .iter()
        .any(|r| mentions(cx.src, &format!("{target}.{r}(")));
        if removed {
            continue;
        }
        let mname = name_of(cx, m).to_string();
        cx.hit(
            Rule::ListenerLeak,
            call,
            format!("`{target}.{name}(...)` in `{mname}()` registers one more listener on a long-lived object each call and nothing removes it; the listener keeps its owner alive"),
            format!("call `{removal}` when the owner is closed, or register once").as_str(),
        );
    }
}

fn results(cx: &mut Ctx) {
    for call in cx.all("method_invocation") {
        if cx.expired() {
            break;
        }
        let name = name_of(cx, call);
        let args = Ctx::field(call, "arguments");
        let Some(m) = cx.enclosing(call, METHOD) else {
            continue;
        };
        let mtext = cx.text(m);
        let flagged = match name {
            "findAll" => {
                args.is_some_and(|a| a.named_child_count() == 0)
                    && Ctx::field(call, "object").is_some()
            }
            "getResultList" => !mtext.contains("setMaxResults("),
            "executeQuery" | "prepareStatement" | "createQuery" | "createNativeQuery"
            | "queryForList" => {
                args.and_then(|a| a.named_child(0))
                    .is_some_and(|a| a.kind() == "string_literal" && unbounded_select(cx.text(a)))
                    && !mtext.contains("setMaxResults(")
                    && !mtext.contains("setFetchSize(")
            }
            _ => false,
        };
        if flagged {
            cx.hit(
                Rule::UnboundedResults,
                call,
                format!("`{name}(...)` loads every matching row into memory at once; memory grows with the table"),
                "paginate (`Pageable`, `setMaxResults(n)`, LIMIT) or stream with `setFetchSize` and a cursor",
            );
        }
    }
}

fn loops_forever<'a>(cx: &Ctx<'a>, body: Node<'a>) -> bool {
    cx.desc_kind(body, "while_statement").into_iter().any(|w| {
        let cond = Ctx::field(w, "condition").map(|c| cx.text(c)).unwrap_or("");
        if cond != "(true)" {
            return false;
        }
        let t = cx.text(w);
        let exits = cx.desc(w).iter().any(|d| {
            matches!(
                d.kind(),
                "break_statement" | "return_statement" | "throw_statement"
            )
        });
        !exits && !t.contains("isInterrupted") && !t.contains("interrupted()")
    })
}

fn threads(cx: &mut Ctx) {
    for n in cx.all("object_creation_expression") {
        if cx.expired() {
            break;
        }
        let ty = Ctx::field(n, "type").map(|t| cx.text(t)).unwrap_or("");
        if ty != "Thread" {
            continue;
        }
        let Some(m) = cx.enclosing(n, METHOD) else {
            continue;
        };
        if once_method(name_of(cx, m)) {
            continue;
        }
        let Some(lambda) = Ctx::field(n, "arguments")
            .and_then(|a| a.named_child(0))
            .filter(|a| a.kind() == "lambda_expression")
        else {
            continue;
        };
        if loops_forever(cx, lambda) {
            let mname = name_of(cx, m).to_string();
            cx.hit(
                Rule::UnstoppableTask,
                n,
                format!("`{mname}()` starts a thread that loops forever with no exit or interrupt check: one more live thread per call"),
                "loop on `!Thread.currentThread().isInterrupted()` / a volatile flag, or use one shared executor",
            );
        }
    }
}

const CONN_CALLS: &[&str] = &[
    "getConnection",
    "createStatement",
    "prepareStatement",
    "prepareCall",
    "executeQuery",
];
const FILE_TYPES: &[&str] = &[
    "FileInputStream",
    "FileOutputStream",
    "FileReader",
    "FileWriter",
    "RandomAccessFile",
    "Socket",
    "ServerSocket",
    "ZipFile",
    "JarFile",
    "DatagramSocket",
];
const WRAPPERS: &[&str] = &[
    "BufferedReader",
    "BufferedWriter",
    "PrintWriter",
    "InputStreamReader",
    "OutputStreamWriter",
    "Scanner",
    "ObjectInputStream",
    "ObjectOutputStream",
    "DataInputStream",
    "DataOutputStream",
    "BufferedInputStream",
    "BufferedOutputStream",
];
const FILES_OPENERS: &[&str] = &[
    "newBufferedReader",
    "newBufferedWriter",
    "newInputStream",
    "newOutputStream",
    "lines",
    "list",
    "walk",
    "find",
];

fn in_try_resources<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    cx.enclosing(n, &["resource_specification", "method_declaration"])
        .is_some_and(|x| x.kind() == "resource_specification")
}

fn resources(cx: &mut Ctx) {
    let finallies = cx.all("finally_clause");
    for d in cx.all("variable_declarator") {
        if cx.expired() {
            break;
        }
        let Some(decl) = cx
            .up(d)
            .filter(|p| p.kind() == "local_variable_declaration")
        else {
            continue;
        };
        let Some(v) = Ctx::field(d, "value") else {
            continue;
        };
        let name = name_of(cx, d);
        let Some(m) = cx.enclosing(d, FN) else {
            continue;
        };
        let vtext = cx.text(v);
        let kind = match v.kind() {
            "method_invocation" => {
                let mname = name_of(cx, v);
                let obj = Ctx::field(v, "object").map(|o| cx.text(o)).unwrap_or("");
                if CONN_CALLS.contains(&mname) {
                    Some((Rule::UnreleasedConnection, ".close()"))
                } else if obj == "Files" && FILES_OPENERS.contains(&mname) {
                    Some((Rule::UnclosedResource, ".close()"))
                } else if obj == "Executors" && mname.starts_with("new") {
                    if mname.contains("Scheduled") {
                        Some((Rule::UnclearedTimer, ".shutdown"))
                    } else {
                        Some((Rule::UnstoppableTask, ".shutdown"))
                    }
                } else {
                    None
                }
            }
            "object_creation_expression" => {
                let ty = Ctx::field(v, "type").map(|t| cx.text(t)).unwrap_or("");
                let base = ty.split('<').next().unwrap_or("");
                let owns_file = WRAPPERS.contains(&base)
                    && [
                        "new File",
                        "Files.",
                        "new Socket",
                        "FileReader",
                        "FileInputStream",
                        "FileWriter",
                        "FileOutputStream",
                    ]
                    .iter()
                    .any(|w| vtext.contains(w));
                if FILE_TYPES.contains(&base) || owns_file {
                    Some((Rule::UnclosedResource, ".close()"))
                } else if base == "Timer" {
                    Some((Rule::UnclearedTimer, ".cancel()"))
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some((rule, closer)) = kind else { continue };
        let mtext = cx.text(m);
        let escapes = cx.named_in(m, "identifier", name).into_iter().any(|u| {
            u.start_byte() > d.end_byte()
                && cx.text(u) == name
                && cx.up(u).is_some_and(|p| {
                    matches!(
                        p.kind(),
                        "return_statement" | "argument_list" | "array_initializer"
                    ) || (p.kind() == "assignment_expression"
                        && Ctx::field(p, "right").is_some_and(|r| r.id() == u.id()))
                })
        });
        if escapes {
            continue;
        }
        let closed_in_finally = finallies.iter().filter(|f| Ctx::inside(**f, m)).any(|f| {
            mentions(cx.text(*f), &format!("{name}{closer}"))
                || mentions(cx.text(*f), &format!("closeQuietly({name}"))
        });
        if closed_in_finally {
            continue;
        }
        let closed_somewhere = mentions(mtext, &format!("{name}{closer}"));
        if closer != ".close()" && closed_somewhere {
            continue; // executors and timers: any shutdown/cancel counts
        }
        let ty = Ctx::field(decl, "type")
            .map(|t| cx.text(t))
            .unwrap_or("resource")
            .to_string();
        let how = if closed_somewhere {
            "is closed only on the success path: an exception before the close leaks it"
        } else {
            "is never closed"
        };
        let (msg, fix) = match rule {
            Rule::UnstoppableTask => (
                format!("executor `{name}` is created per call and never shut down: its threads stay alive forever"),
                format!("`try {{ ... }} finally {{ {name}.shutdown(); }}` or share one executor"),
            ),
            Rule::UnclearedTimer => (
                format!("timer `{name}` is created per call and never cancelled: its thread and tasks live forever"),
                format!("cancel it (`{name}.cancel()` / `{name}.shutdown()`) when done"),
            ),
            _ => (
                format!("{ty} `{name}` {how}: it holds a descriptor/connection and buffers until garbage collection, if ever"),
                format!("use try-with-resources: `try ({ty} {name} = ...) {{ ... }}`"),
            ),
        };
        cx.hit(rule, decl, msg, &fix);
    }
    // `new FileInputStream(p).readAllBytes()`: opened inline, read, never
    // closed.
    for n in cx.all("object_creation_expression") {
        if cx.expired() {
            break;
        }
        let ty = Ctx::field(n, "type").map(|t| cx.text(t)).unwrap_or("");
        if !FILE_TYPES.contains(&ty.split('<').next().unwrap_or("")) {
            continue;
        }
        let Some(p) = cx.up(n).filter(|p| {
            p.kind() == "method_invocation"
                && Ctx::field(*p, "object").is_some_and(|o| o.id() == n.id())
        }) else {
            continue;
        };
        if cx.enclosing(n, METHOD).is_none() || name_of(cx, p) == "close" {
            continue;
        }
        let m = name_of(cx, p).to_string();
        cx.hit(
            Rule::UnclosedResource,
            n,
            format!("`new {ty}(...).{m}(...)` opens a stream inline and never closes it: the descriptor stays open until garbage collection, one more per call"),
            &format!("`try ({ty} in = new {ty}(...)) {{ ... in.{m}(...) ... }}`, or `Files.readAllBytes(path)`"),
        );
    }
    // Files.lines(...) and friends used inline outside try-with-resources.
    for call in cx.all("method_invocation") {
        if cx.expired() {
            break;
        }
        let obj = Ctx::field(call, "object").map(|o| cx.text(o)).unwrap_or("");
        let name = name_of(cx, call);
        if obj != "Files" || !matches!(name, "lines" | "list" | "walk" | "find") {
            continue;
        }
        let stored = cx.up(call).is_some_and(|p| {
            matches!(
                p.kind(),
                "variable_declarator" | "return_statement" | "argument_list"
            )
        });
        if stored || in_try_resources(cx, call) {
            continue;
        }
        cx.hit(
            Rule::UnclosedResource,
            call,
            format!("`Files.{name}(...)` returns a Stream that holds an open file/directory handle until closed; used inline it is never closed"),
            format!("`try (Stream<...> s = Files.{name}(...)) {{ ... }}`").as_str(),
        );
    }
}
