//! Python rules.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::{mentions, root_ident, unbounded_select, Ctx, Unless};
use crate::rules::Rule;

pub(crate) const FN: &[&str] = &["function_definition", "lambda"];

pub fn check(cx: &mut Ctx) {
    imports(cx);
    // Judged once per file: it reads every `while` loop of the file.
    let life = store_life(cx);
    decorated_caches(cx, &life);
    module_containers(cx, &life);
    // Not only when the module has containers of its own.
    class_containers(cx, &life);
    closures(cx);
    listeners(cx);
    results(cx);
    threads(cx);
    resources(cx);
}

/// Functions whose name says they run once (startup, registration). Names
/// are split into words (snake_case and camelCase) so `upload_view` is not
/// mistaken for a loader.
pub(crate) fn runs_once(name: &str) -> bool {
    if name == "__init__" || name == "constructor" {
        return false; // runs once per instance: repeatedly
    }
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in name.chars() {
        if c == '_' || c == '.' || c == '$' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else if c.is_uppercase()
            && !cur.is_empty()
            && !cur.chars().last().is_some_and(char::is_uppercase)
        {
            words.push(std::mem::take(&mut cur));
            cur.push(c.to_ascii_lowercase());
        } else {
            cur.push(c.to_ascii_lowercase());
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    const ONCE: &[&str] = &[
        "register",
        "registers",
        "registration",
        "setup",
        "install",
        "configure",
        "init",
        "ready",
        "main",
        "bootstrap",
        "initialize",
        "initialise",
        "startup",
        "autodiscover",
        "decorator",
        "wrapper",
        "populate",
        "boot",
    ];
    words.iter().any(|w| ONCE.contains(&w.as_str()))
        || words.windows(2).any(|w| w[0] == "set" && w[1] == "up")
}

/// Whether `f` itself blocks serving until the process ends
/// (`cherrypy.engine.block()`, `server.serve_forever()`,
/// `loop.run_forever()`, a GUI's `mainloop()`): whatever it sets up before
/// that call, it sets up once per process.
fn serves_until_exit<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    cx.desc_kind(f, "call").into_iter().any(|c| {
        let callee = call_parts(cx, c).0;
        let last = callee.rsplit('.').next().unwrap_or(callee);
        let serving = matches!(last, "serve_forever" | "run_forever" | "mainloop")
            || callee.ends_with("engine.block")
            || matches!(
                callee,
                "uvicorn.run" | "web.run_app" | "aiohttp.web.run_app"
            );
        serving
            && cx
                .enclosing(c, &["function_definition"])
                .is_some_and(|e| e.id() == f.id())
    })
}

fn fn_name<'a>(cx: &Ctx<'a>, f: Node<'a>) -> &'a str {
    Ctx::field(f, "name")
        .map(|n| cx.text(n))
        .unwrap_or("<lambda>")
}

fn call_parts<'a>(cx: &Ctx<'a>, call: Node<'a>) -> (&'a str, Option<Node<'a>>) {
    let f = Ctx::field(call, "function");
    (
        f.map(|f| cx.text(f)).unwrap_or(""),
        Ctx::field(call, "arguments"),
    )
}

fn kwarg<'a>(cx: &Ctx<'a>, args: Option<Node<'a>>, name: &str) -> Option<&'a str> {
    let args = args?;
    let mut cur = args.walk();
    for a in args.named_children(&mut cur) {
        if a.kind() == "keyword_argument"
            && Ctx::field(a, "name").is_some_and(|n| cx.text(n) == name)
        {
            return Ctx::field(a, "value").map(|v| cx.text(v));
        }
    }
    None
}

fn first_arg<'a>(args: Option<Node<'a>>) -> Option<Node<'a>> {
    let args = args?;
    let mut cur = args.walk();
    let first = args
        .named_children(&mut cur)
        .find(|a| a.kind() != "comment" && a.kind() != "keyword_argument");
    first
}

/// Classes of this file that derive from an Enum type.
fn enum_classes<'a>(cx: &Ctx<'a>) -> Vec<&'a str> {
    cx.all("class_definition")
        .into_iter()
        .filter(|c| {
            Ctx::field(*c, "superclasses").is_some_and(|s| {
                let t = cx.text(s);
                ["Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"]
                    .iter()
                    .any(|e| mentions(t, e))
            })
        })
        .filter_map(|c| Ctx::field(c, "name").map(|n| cx.text(n)))
        .collect()
}

/// Every name this file's `import` statements mention, as a fact of the
/// tree ([`Unless::NotImported`]).
fn imports(cx: &mut Ctx) {
    let mut names = Vec::new();
    for kind in ["import_statement", "import_from_statement"] {
        for st in cx.all(kind) {
            for id in cx.desc_kind(st, "identifier") {
                names.push(cx.text(id));
            }
        }
    }
    for n in names {
        cx.facts.python_import(n);
    }
}

/// How long a file's module- and class-level stores and caches live.
enum StoreLife {
    /// A service's or a library's: as long as the process.
    Process,
    /// A one-run script's that nothing can import: its run (not reported).
    OneRun,
    /// A one-run script's, unless a file of the tree imports the module:
    /// then a library's.
    OneRunUnless(Unless),
}

impl StoreLife {
    /// The condition that keeps a store finding out (`None`: none does).
    fn unless(&self) -> Option<Unless> {
        match self {
            StoreLife::OneRunUnless(u) => Some(u.clone()),
            StoreLife::Process | StoreLife::OneRun => None,
        }
    }
}

fn store_life(cx: &Ctx) -> StoreLife {
    if !one_shot_script(cx) {
        return StoreLife::Process;
    }
    match &cx.importable_as {
        Some(m) => StoreLife::OneRunUnless(Unless::NotImported { module: m.clone() }),
        None => StoreLife::OneRun,
    }
}

fn decorated_caches(cx: &mut Ctx, life: &StoreLife) {
    // A script's caches, like its stores, last one run.
    if matches!(life, StoreLife::OneRun) {
        return;
    }
    let enums = enum_classes(cx);
    for decorator in cx.all("decorator") {
        if cx.expired() {
            break;
        }
        // The expression, without a trailing comment tree-sitter may attach.
        let Some(dec) = (0..decorator.named_child_count())
            .filter_map(|i| decorator.named_child(i))
            .find(|c| c.kind() != "comment")
        else {
            continue;
        };
        let t = cx.text(dec).trim().to_string();
        let name = t.split('(').next().unwrap_or("").trim();
        let def = cx.up(decorator).and_then(|d| Ctx::field(d, "definition"));
        // A cached function of no arguments is a lazy singleton: one entry.
        let takes_args = def
            .and_then(|d| Ctx::field(d, "parameters"))
            .map(|p| {
                let mut c = p.walk();
                let n = p
                    .named_children(&mut c)
                    .filter(|a| !matches!(cx.text(*a), "self" | "cls") && a.kind() != "comment")
                    .count();
                n > 0
            })
            .unwrap_or(true);
        if !takes_args {
            continue;
        }
        // Every argument of a small closed domain (an Enum of this file, a
        // bool, a Literal): the cache holds at most that many entries.
        let closed_domain = def
            .and_then(|d| Ctx::field(d, "parameters"))
            .is_some_and(|p| {
                let mut c = p.walk();
                let params: Vec<Node> = p
                    .named_children(&mut c)
                    .filter(|a| !matches!(cx.text(*a), "self" | "cls") && a.kind() != "comment")
                    .collect();
                params.iter().all(|a| {
                    Ctx::field(*a, "type").is_some_and(|t| {
                        let ty = cx.text(t);
                        ty == "bool" || ty.starts_with("Literal[") || enums.contains(&ty)
                    })
                })
            });
        if closed_domain {
            continue;
        }
        if (name == "functools.cache" || name == "cache")
            && (mentions(cx.src, "functools") || name.contains('.'))
        {
            cx.hit_unless(
                Rule::UnboundedCache,
                dec,
                "`@cache` keeps every distinct argument and its result forever: the cache has no size limit".into(),
                "use `@functools.lru_cache(maxsize=N)` with a bound that fits the key space",
                life.unless(),
            );
            continue;
        }
        if name != "lru_cache" && name != "functools.lru_cache" {
            continue;
        }
        let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("maxsize=None") || compact.contains("lru_cache(None") {
            cx.hit_unless(
                Rule::UnboundedCache,
                dec,
                "`lru_cache(maxsize=None)` never evicts: every distinct argument stays cached forever".into(),
                "give it a bound: `@functools.lru_cache(maxsize=1024)`",
                life.unless(),
            );
            continue;
        }
        let Some(def) = def else { continue };
        let in_class = cx
            .up(def)
            .and_then(|d| cx.up(d))
            .and_then(|b| cx.up(b))
            .is_some_and(|c| c.kind() == "class_definition");
        let decorated = cx.up(def).map(|d| cx.text(d)).unwrap_or("");
        let first_param = Ctx::field(def, "parameters")
            .and_then(|p| p.named_child(0))
            .map(|p| cx.text(p))
            .unwrap_or("");
        if in_class
            && first_param == "self"
            && !decorated.contains("@staticmethod")
            && !decorated.contains("@classmethod")
        {
            cx.hit_unless(
                Rule::UnboundedCache,
                dec,
                format!(
                    "`lru_cache` on method `{}` keys on `self`: every instance it sees is kept alive by the cache",
                    fn_name(cx, def)
                ),
                "cache a module-level function of the needed fields, or use a per-instance cache (functools.cached_property or a dict on self)",
                life.unless(),
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Map,
    Seq,
    Set,
}

fn container_shape<'a>(cx: &Ctx<'a>, right: Node<'a>) -> Option<Shape> {
    match right.kind() {
        "dictionary" => Some(Shape::Map),
        "list" => Some(Shape::Seq),
        "set" => Some(Shape::Set),
        "call" => {
            let (f, args) = call_parts(cx, right);
            let base = f.rsplit('.').next().unwrap_or(f);
            match base {
                "dict" | "defaultdict" | "OrderedDict" | "Counter" => Some(Shape::Map),
                "list" => Some(Shape::Seq),
                "set" => Some(Shape::Set),
                "deque" => {
                    let a = args.map(|a| cx.text(a)).unwrap_or("");
                    // deque(maxlen=N) or deque(iterable, N) is bounded.
                    if a.contains("maxlen") || a.contains(',') {
                        None
                    } else {
                        Some(Shape::Seq)
                    }
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Module-level bindings (assignments and imports).
fn module_names<'a>(cx: &Ctx<'a>) -> HashSet<&'a str> {
    let mut names = HashSet::new();
    let mut cur = cx.root.walk();
    for stmt in cx.root.named_children(&mut cur) {
        match stmt.kind() {
            "import_statement" | "import_from_statement" => {
                for id in cx.desc_kind(stmt, "identifier") {
                    if cx.expired() {
                        break;
                    }
                    names.insert(cx.text(id));
                }
            }
            "expression_statement" => {
                if let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") {
                    if let Some(l) = Ctx::field(a, "left").filter(|l| l.kind() == "identifier") {
                        names.insert(cx.text(l));
                    }
                }
            }
            _ => {}
        }
    }
    names
}

/// An add that registers rather than caches: inside a function (or one of
/// its enclosing functions) named like a one-time step, or a decorator-style
/// function that files its argument and returns it (`def register(fn): X.append(fn); return fn`).
fn registration<'a>(cx: &Ctx<'a>, site: Node<'a>, f: Node<'a>) -> bool {
    // `loaded[name] = importlib.import_module(path)`: an imported module is
    // kept by `sys.modules` anyway; the store adds no memory of its own.
    let imported = Ctx::field(site, "right")
        .filter(|r| site.kind() == "assignment" && r.kind() == "call")
        .is_some_and(|r| {
            matches!(
                call_parts(cx, r).0,
                "importlib.import_module" | "import_module" | "__import__"
            )
        });
    if imported {
        return true;
    }
    let mut cur = Some(f);
    while let Some(func) = cur {
        if runs_once(fn_name(cx, func)) {
            return true;
        }
        cur = cx.enclosing(func, &["function_definition"]);
    }
    let params: Vec<&str> = Ctx::field(f, "parameters")
        .map(|p| {
            cx.desc_kind(p, "identifier")
                .into_iter()
                .map(|i| cx.text(i))
                .collect()
        })
        .unwrap_or_default();
    let site_text = cx.text(site);
    cx.desc_kind(f, "return_statement").into_iter().any(|r| {
        let returned = cx.text(r).trim_start_matches("return").trim();
        params.contains(&returned)
            && (site_text.ends_with(&format!("({returned})"))
                || site_text.ends_with(&format!("= {returned}")))
    })
}

#[derive(Default)]
struct Uses<'a> {
    adds: Vec<(Node<'a>, Node<'a>)>, // (site, enclosing function)
    lookups: usize,
    removes: usize,
    escapes: usize,
}

/// Whether identifier `name` is a local (parameter or assigned without
/// `global`) in function `f`.
fn shadowed<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    if cx
        .desc_kind(f, "global_statement")
        .iter()
        .any(|g| cx.text(*g).split([' ', ',']).any(|w| w.trim() == name))
    {
        return false;
    }
    if let Some(p) = Ctx::field(f, "parameters") {
        if cx
            .desc_kind(p, "identifier")
            .iter()
            .any(|i| cx.text(*i) == name)
            || cx.text(p) == name
        {
            return true;
        }
    }
    cx.desc_kind(f, "assignment").iter().any(|a| {
        Ctx::field(*a, "left").is_some_and(|l| l.kind() == "identifier" && cx.text(l) == name)
    })
}

const ADD_METHODS: &[&str] = &[
    "append",
    "extend",
    "add",
    "update",
    "setdefault",
    "insert",
    "appendleft",
    "extendleft",
    "__setitem__",
];
const REMOVE_METHODS: &[&str] = &[
    "pop",
    "popitem",
    "remove",
    "clear",
    "discard",
    "popleft",
    "__delitem__",
    "difference_update",
    "intersection_update",
    "rotate",
];
const READ_ONLY_CALLS: &[&str] = &[
    "list",
    "sorted",
    "iter",
    "tuple",
    "print",
    "str",
    "repr",
    "any",
    "all",
    "sum",
    "min",
    "max",
    "enumerate",
    "zip",
    "isinstance",
    "set",
    "dict",
    "frozenset",
    "reversed",
    "bool",
    "hash",
    "id",
    "json.dumps",
    "type",
];

fn classify_use<'a>(
    cx: &Ctx<'a>,
    u: Node<'a>,
    f: Option<Node<'a>>,
    shape: Shape,
    uses: &mut Uses<'a>,
) {
    let Some(p) = cx.up(u) else { return };
    let is_field =
        |node: Node, field: &str| Ctx::field(node, field).is_some_and(|x| x.id() == u.id());
    let extra_release = &cx.opts.release_methods;
    match p.kind() {
        "attribute" if is_field(p, "object") => {
            let m = Ctx::field(p, "attribute").map(|a| cx.text(a)).unwrap_or("");
            let called = cx.up(p).is_some_and(|g| g.kind() == "call");
            if !called {
                return;
            }
            if ADD_METHODS.contains(&m) {
                if let Some(f) = f {
                    uses.adds.push((cx.up(p).unwrap_or(p), f));
                }
                if m == "setdefault" {
                    uses.lookups += 1;
                }
            } else if REMOVE_METHODS.contains(&m) || extra_release.iter().any(|r| r == m) {
                uses.removes += 1;
            } else if m == "get" || m == "__contains__" || m == "__getitem__" {
                uses.lookups += 1;
            }
        }
        "subscript" if is_field(p, "value") => {
            let slice = cx.desc(p).iter().any(|d| d.kind() == "slice");
            let g = cx.up(p);
            let gk = g.map(|g| g.kind()).unwrap_or("");
            let is_left =
                g.is_some_and(|g| Ctx::field(g, "left").is_some_and(|l| l.id() == p.id()));
            if (gk == "assignment" || gk == "augmented_assignment") && is_left {
                if slice {
                    uses.removes += 1;
                } else if let (Some(f), true) = (f, shape == Shape::Map) {
                    // `lst[i] = v` replaces an item; only a dict grows.
                    uses.adds.push((g.unwrap_or(p), f));
                }
            } else if gk == "delete_statement" || cx.enclosing(p, &["delete_statement"]).is_some() {
                uses.removes += 1;
            } else if gk == "attribute" {
                let m = g
                    .and_then(|g| Ctx::field(g, "attribute"))
                    .map(|a| cx.text(a))
                    .unwrap_or("");
                let called = g.and_then(|g| cx.up(g)).is_some_and(|c| c.kind() == "call");
                if called && ADD_METHODS.contains(&m) {
                    if let Some(f) = f {
                        uses.adds.push((g.and_then(|g| cx.up(g)).unwrap_or(p), f));
                    }
                } else if called && REMOVE_METHODS.contains(&m) {
                    uses.removes += 1;
                } else {
                    uses.lookups += 1;
                }
            } else {
                uses.lookups += 1;
            }
        }
        "comparison_operator" => uses.lookups += 1,
        "argument_list" => {
            let callee = cx
                .up(p)
                .and_then(|c| Ctx::field(c, "function"))
                .map(|c| cx.text(c))
                .unwrap_or("");
            if callee == "len" {
                uses.removes += 1; // a size check bounds it
            } else if !READ_ONLY_CALLS.contains(&callee) {
                uses.escapes += 1;
            }
        }
        "return_statement" | "yield" | "keyword_argument" | "list" | "tuple" | "pair"
        | "dictionary" | "expression_list" => uses.escapes += 1,
        "assignment" => {
            if is_field(p, "left") {
                if f.is_some() {
                    uses.removes += 1; // `global X; X = {}` resets it
                }
            } else {
                uses.escapes += 1; // aliased: the alias may be trimmed
            }
        }
        "augmented_assignment" if is_field(p, "left") => {
            let op = cx.text(p);
            if op.contains("-=") || op.contains("&=") {
                uses.removes += 1;
            } else if let Some(f) = f {
                uses.adds.push((p, f));
            }
        }
        _ => {}
    }
}

fn module_containers(cx: &mut Ctx, life: &StoreLife) {
    let mut containers: Vec<(&str, Shape, Node)> = Vec::new();
    let mut cur = cx.root.walk();
    for stmt in cx.root.named_children(&mut cur) {
        if stmt.kind() != "expression_statement" {
            continue;
        }
        let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") else {
            continue;
        };
        let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
            continue;
        };
        if l.kind() != "identifier" {
            continue;
        }
        if let Some(shape) = container_shape(cx, r) {
            containers.push((cx.text(l), shape, a));
        }
    }
    if containers.is_empty() {
        return;
    }
    let wanted: HashSet<&str> = containers.iter().map(|c| c.0).collect();
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
    for (name, shape, def) in containers {
        let lname = name.to_ascii_lowercase();
        if lname.contains("registry") || lname.contains("handlers") || lname.contains("plugins") {
            continue;
        }
        let mut uses = Uses::default();
        let mut shadow_cache: HashMap<usize, bool> = HashMap::new();
        for &u in by_name.get(name).map(|v| v.as_slice()).unwrap_or(&[]) {
            if Ctx::inside(u, def) {
                continue;
            }
            let f = cx.enclosing(u, FN);
            if let Some(f) = f {
                let sh = *shadow_cache
                    .entry(f.id())
                    .or_insert_with(|| shadowed(cx, f, name));
                if sh {
                    continue;
                }
            }
            classify_use(cx, u, f, shape, &mut uses);
        }
        report_container(cx, life, "module-level", name, shape, uses);
    }
}

/// Class attributes (`class C: _cache = {}`) are shared by every instance and
/// live as long as the class: the same rules as module-level collections.
fn class_containers(cx: &mut Ctx, life: &StoreLife) {
    // `store = TokenStore()` at module level.
    let mut module_instances: HashSet<&str> = HashSet::new();
    let mut cur = cx.root.walk();
    for stmt in cx.root.named_children(&mut cur) {
        if let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") {
            if let Some(r) = Ctx::field(a, "right").filter(|r| r.kind() == "call") {
                let (f, _) = call_parts(cx, r);
                if f.starts_with(|c: char| c.is_ascii_uppercase()) && !f.contains('.') {
                    module_instances.insert(f);
                }
            }
        }
    }
    for class in cx.all("class_definition") {
        if cx.expired() {
            break;
        }
        let Some(body) = Ctx::field(class, "body") else {
            continue;
        };
        let cname = Ctx::field(class, "name").map(|n| cx.text(n)).unwrap_or("");
        let mut cur = body.walk();
        let attrs: Vec<(&str, Shape)> = body
            .named_children(&mut cur)
            .filter(|st| st.kind() == "expression_statement")
            .filter_map(|st| st.named_child(0).filter(|a| a.kind() == "assignment"))
            .filter_map(|a| {
                let l = Ctx::field(a, "left").filter(|l| l.kind() == "identifier")?;
                let shape = container_shape(cx, Ctx::field(a, "right")?)?;
                Some((cx.text(l), shape))
            })
            .collect();
        // A class instantiated at module level (a singleton) keeps the
        // containers its `__init__` creates for the life of the process.
        let singleton = !cname.is_empty() && module_instances.contains(&cname);
        let mut inst_attrs: Vec<(&str, Shape)> = Vec::new();
        if singleton {
            for f in cx.desc_kind(class, "function_definition") {
                if fn_name(cx, f) != "__init__" {
                    continue;
                }
                for a in cx.desc_kind(f, "assignment") {
                    let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
                        continue;
                    };
                    if l.kind() == "attribute"
                        && Ctx::field(l, "object").is_some_and(|o| cx.text(o) == "self")
                    {
                        if let (Some(attr), Some(shape)) =
                            (Ctx::field(l, "attribute"), container_shape(cx, r))
                        {
                            inst_attrs.push((cx.text(attr), shape));
                        }
                    }
                }
            }
        }
        for (name, shape) in inst_attrs {
            let refs: Vec<Node> = cx
                .desc_kind(class, "attribute")
                .into_iter()
                .filter(|at| {
                    Ctx::field(*at, "attribute").is_some_and(|a| cx.text(a) == name)
                        && Ctx::field(*at, "object").is_some_and(|o| cx.text(o) == "self")
                })
                .collect();
            let mut uses = Uses::default();
            for r in refs {
                let f = cx.enclosing(r, FN);
                if f.is_some_and(|f| fn_name(cx, f) == "__init__") {
                    // The creation itself, and what a singleton's `__init__`
                    // puts in: it runs once.
                    continue;
                }
                classify_use(cx, r, f, shape, &mut uses);
            }
            report_container(cx, life, "singleton attribute", name, shape, uses);
        }
        for (name, shape) in attrs {
            let refs: Vec<Node> = cx
                .desc_kind(class, "attribute")
                .into_iter()
                .filter(|at| {
                    Ctx::field(*at, "attribute").is_some_and(|a| cx.text(a) == name)
                        && Ctx::field(*at, "object").is_some_and(|o| {
                            matches!(cx.text(o), "self" | "cls") || cx.text(o) == cname
                        })
                })
                .collect();
            // `self.x = ...` makes it per-instance from then on.
            let per_instance = refs.iter().any(|r| {
                cx.up(*r).is_some_and(|p| {
                    p.kind() == "assignment"
                        && Ctx::field(p, "left").is_some_and(|l| l.id() == r.id())
                })
            });
            if per_instance {
                continue;
            }
            let mut uses = Uses::default();
            for r in refs {
                let f = cx.enclosing(r, FN);
                classify_use(cx, r, f, shape, &mut uses);
            }
            report_container(cx, life, "class attribute", name, shape, uses);
        }
    }
}

/// Whether the file is a script that runs once per process: it has a
/// `__main__` block and nothing in it serves or loops for long (no server,
/// event loop, endless loop, thread or consumer). Its module- and
/// class-level stores end with the run (an Inkscape extension, a
/// document converter).
fn one_shot_script(cx: &Ctx) -> bool {
    const LONG_RUNNING: &[&str] = &[
        "serve_forever",
        "run_forever",
        "app.run(",
        "run_app(",
        "uvicorn",
        "gunicorn",
        ".listen(",
        "Flask(",
        "FastAPI(",
        "socketserver",
        "HTTPServer",
        "start_server",
        "Thread(",
        "Celery(",
        "consume(",
        "subscribe(",
        "schedule.",
        "mainloop(",
        "exec_(",
    ];
    let mut cur = cx.root.walk();
    let has_main = cx.root.named_children(&mut cur).any(|n| {
        n.kind() == "if_statement"
            && Ctx::field(n, "condition").is_some_and(|c| {
                let t: String = cx.text(c).chars().filter(|c| !c.is_whitespace()).collect();
                t == "__name__=='__main__'" || t == "__name__==\"__main__\""
            })
    });
    (has_main || works_at_import(cx))
        && !LONG_RUNNING.iter().any(|m| cx.src.contains(m))
        && !loops_for_ever(cx)
}

/// Whether the file has an endless loop that serves: a `while True:` with
/// no `break` or `return` of its own, or one that waits on each pass
/// (sleeps, accepts, receives, selects, takes from a queue, reads a line).
/// A `while True:` that walks until a test ends it (up a directory tree,
/// to a fixed point) ends with its input.
fn loops_for_ever<'a>(cx: &Ctx<'a>) -> bool {
    const WAITS: &[&str] = &[
        "sleep",
        "accept",
        "recv",
        "recvfrom",
        "recv_into",
        "recv_multipart",
        "select",
        "poll",
        "wait",
        "wait_for",
        "input",
        "readline",
        "handle_request",
        "receive",
        "getMessage",
    ];
    if !cx.src.contains("while True") && !cx.src.contains("while 1") {
        return false;
    }
    let fn_of = |n: Node<'a>| {
        cx.enclosing(n, &["function_definition", "lambda"])
            .map(|f| f.id())
    };
    cx.all("while_statement").into_iter().any(|w| {
        let endless =
            Ctx::field(w, "condition").is_some_and(|c| matches!(cx.text(c), "True" | "1"));
        if !endless {
            return false;
        }
        let body = cx.desc(w);
        let ends = body.iter().any(|n| match n.kind() {
            "break_statement" => cx
                .enclosing(*n, &["while_statement", "for_statement"])
                .is_some_and(|l| l.id() == w.id()),
            "return_statement" => fn_of(*n) == fn_of(w),
            _ => false,
        });
        let waits = body.iter().filter(|n| n.kind() == "call").any(|c| {
            let (callee, args) = call_parts(cx, *c);
            let last = callee.rsplit('.').next().unwrap_or(callee);
            // `q.get()`, `q.get(timeout=1)`, `q.get(True, 5)` wait on a
            // queue; `d.get(key, default)` reads a dict.
            let queue_get = last == "get"
                && callee != "get"
                && args.is_none_or(|a| {
                    a.named_child(0).is_none_or(|first| {
                        matches!(first.kind(), "true" | "false" | "keyword_argument")
                    })
                });
            WAITS.contains(&last) || queue_get
        });
        !ends || waits
    })
}

/// Whether the file does its work at its top level, as a script run by
/// name does (a code generator: a loop over its input and `print` of the
/// output, both outside any function); a library module does neither at
/// import.
fn works_at_import(cx: &Ctx) -> bool {
    let mut cur = cx.root.walk();
    let top: Vec<Node> = cx.root.named_children(&mut cur).collect();
    let loops = top
        .iter()
        .any(|n| matches!(n.kind(), "for_statement" | "while_statement"));
    let prints = top.iter().any(|n| {
        n.kind() == "expression_statement"
            && n.named_child(0)
                .filter(|c| c.kind() == "call")
                .is_some_and(|c| call_parts(cx, c).0 == "print")
    });
    loops && prints
}

/// Whether an add writes under a key spelled in the code: `d['stdout'] =
/// ...`, `d['n'] += 1`, `d.setdefault('k', [])`.
fn literal_key<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let is_literal = |n: Option<Node<'a>>| {
        n.is_some_and(|n| matches!(n.kind(), "string" | "integer" | "true" | "false" | "none"))
    };
    match site.kind() {
        "assignment" | "augmented_assignment" => Ctx::field(site, "left")
            .filter(|l| l.kind() == "subscript")
            .is_some_and(|l| is_literal(Ctx::field(l, "subscript"))),
        "call" => {
            Ctx::field(site, "function")
                .and_then(|f| Ctx::field(f, "attribute"))
                .is_some_and(|m| cx.text(m) == "setdefault")
                && is_literal(Ctx::field(site, "arguments").and_then(|a| a.named_child(0)))
        }
        _ => false,
    }
}

fn report_container<'a>(
    cx: &mut Ctx<'a>,
    life: &StoreLife,
    scope: &str,
    name: &str,
    shape: Shape,
    uses: Uses<'a>,
) {
    if matches!(life, StoreLife::OneRun) {
        return;
    }
    let lname = name.to_ascii_lowercase();
    // Registries, and configuration kept by option name (a plugin's
    // `settings[option] = value` in its config callback): bounded by
    // what is registered or configurable.
    if [
        "registry", "handlers", "plugins", "settings", "options", "config",
    ]
    .iter()
    .any(|w| lname.contains(w))
    {
        return;
    }
    let mut uses = uses;
    // `state['buffer'] = ...`: a key written in the code is one entry.
    uses.adds.retain(|(site, _)| !literal_key(cx, *site));
    if uses.adds.is_empty() || uses.removes > 0 || uses.escapes > 0 {
        return;
    }
    // Constructors filing objects by name build a registry of instances,
    // bounded by how many are configured, not a per-request cache.
    if uses.adds.iter().all(|(site, f)| {
        registration(cx, *site, *f) || (shape == Shape::Map && fn_name(cx, *f) == "__init__")
    }) {
        return;
    }
    let (site, f) = uses.adds[0];
    let fname = fn_name(cx, f).to_string();
    let is_cache = shape == Shape::Map && (uses.lookups > 0 || lname.contains("cache"));
    if is_cache {
        cx.hit_unless(
            Rule::UnboundedCache,
            site,
            format!("{scope} dict `{name}` is used as a cache in `{fname}()`: a new entry per distinct key and nothing ever evicts, so it grows with traffic"),
            "bound it: `functools.lru_cache(maxsize=N)`, evict with `pop`/`del`, or check `len()` and clear",
            life.unless(),
        );
    } else {
        let what = match shape {
            Shape::Map => "dict",
            Shape::Seq => "list",
            Shape::Set => "set",
        };
        cx.hit_unless(
            Rule::GlobalAccumulator,
            site,
            format!("{scope} {what} `{name}` only grows: `{fname}()` adds to it and nothing removes from, clears or bounds it"),
            "bound it (`collections.deque(maxlen=N)`), drain it after use, or keep it local to the request",
            life.unless(),
        );
    }
}

/// Whether a local assigned in `f` holds more than a scalar: assigned from
/// a call that is not a size/number/str conversion.
fn bulky_local<'a>(cx: &Ctx<'a>, f: Node<'a>, name: &str) -> bool {
    const SMALL: &[&str] = &[
        "len", "int", "float", "str", "bool", "round", "sum", "min", "max", "hash", "id", "repr",
        "format", "abs", "ord", "chr",
    ];
    cx.named_in(f, "identifier", name).into_iter().any(|l| {
        cx.up(l).is_some_and(|a| {
            a.kind() == "assignment"
                && Ctx::field(a, "left").is_some_and(|x| x.id() == l.id())
                && cx.enclosing(a, FN).map(|x| x.id()) == Some(f.id())
                && Ctx::field(a, "right").is_some_and(|r| {
                    r.kind() == "call" && {
                        let (callee, _) = call_parts(cx, r);
                        !SMALL.contains(&callee) && !callee.ends_with(".to_dict")
                    }
                })
        })
    })
}

/// The first name a lambda reads that is a bulky local of `f`.
fn captured_bulk<'a>(cx: &Ctx<'a>, lambda: Node<'a>, f: Node<'a>) -> Option<&'a str> {
    let params: Vec<&str> = Ctx::field(lambda, "parameters")
        .map(|p| {
            cx.desc_kind(p, "identifier")
                .into_iter()
                .map(|i| cx.text(i))
                .collect()
        })
        .unwrap_or_default();
    cx.desc_kind(lambda, "identifier")
        .into_iter()
        .map(|i| cx.text(i))
        .find(|n| !params.contains(n) && bulky_local(cx, f, n))
}

/// Closures that live as long as the process: `atexit.register(...)` per
/// call, and lambdas filed in module-level containers, capturing a local
/// that holds a whole upload, body or DataFrame.
fn closures(cx: &mut Ctx) {
    let module = module_names(cx);
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let (callee, args) = call_parts(cx, call);
        let Some(f) = cx.enclosing(call, &["function_definition"]) else {
            continue;
        };
        let atexit =
            callee == "atexit.register" && !runs_once(fn_name(cx, f)) && !serves_until_exit(cx, f);
        let filed = callee.rsplit_once('.').is_some_and(|(obj, m)| {
            matches!(m, "append" | "add" | "setdefault" | "insert") && module.contains(obj)
        });
        if !atexit && !filed {
            continue;
        }
        let Some(lambda) = args.and_then(|a| {
            let mut c = a.walk();
            let l = a.named_children(&mut c).find(|x| x.kind() == "lambda");
            l
        }) else {
            continue;
        };
        if let Some(name) = captured_bulk(cx, lambda, f) {
            let why = if atexit {
                "`atexit.register` on every call keeps each lambda, and"
            } else {
                "this lambda is filed in a module-level collection, which keeps it, and"
            };
            cx.hit(
                Rule::ClosureCapture,
                call,
                format!("{why} the whole `{name}` it captures, alive until the process exits"),
                "capture only the small value needed (`size = len(body)`), or register once at startup",
            );
        }
    }
    // `REGISTRY[key] = lambda: ...` in a function.
    for a in cx.all("assignment") {
        if cx.expired() {
            break;
        }
        let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
            continue;
        };
        if l.kind() != "subscript" || r.kind() != "lambda" {
            continue;
        }
        let target = Ctx::field(l, "value").map(|v| cx.text(v)).unwrap_or("");
        let Some(f) = cx.enclosing(a, &["function_definition"]) else {
            continue;
        };
        if !module.contains(target) {
            continue;
        }
        if let Some(name) = captured_bulk(cx, r, f) {
            cx.hit(
                Rule::ClosureCapture,
                a,
                format!("the lambda filed in module-level `{target}` captures the whole `{name}`, which stays alive as long as the entry does"),
                "capture only what the callback needs (a summary, a size, a path), not the data itself",
            );
        }
    }
}

fn listeners(cx: &mut Ctx) {
    let module = module_names(cx);
    let extra = cx.opts.listener_targets.clone();
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let Some(func) = Ctx::field(call, "function").filter(|f| f.kind() == "attribute") else {
            continue;
        };
        let Some(obj) = Ctx::field(func, "object") else {
            continue;
        };
        let method = Ctx::field(func, "attribute")
            .map(|a| cx.text(a))
            .unwrap_or("");
        let target = cx.text(obj);
        let args = Ctx::field(call, "arguments");
        let Some(f) = cx.enclosing(call, &["function_definition"]) else {
            continue;
        };
        let fname = fn_name(cx, f);
        if runs_once(fname) {
            continue;
        }
        let ftext = cx.text(f);
        let removed = |names: &[&str]| {
            names
                .iter()
                .any(|m| mentions(cx.src, &format!("{target}.{m}(")))
        };
        let hit = match method {
            "addHandler" => {
                // Re-adding the same handler object is a no-op; a handler
                // created here is a new one each call.
                let arg = first_arg(args);
                let fresh = arg.is_some_and(|a| {
                    a.kind() == "call"
                        || (a.kind() == "identifier"
                            && cx.desc_kind(f, "assignment").iter().any(|asg| {
                                Ctx::field(*asg, "left").is_some_and(|l| cx.text(l) == cx.text(a))
                                    && Ctx::field(*asg, "right").is_some_and(|r| r.kind() == "call")
                            }))
                });
                fresh
                    && !ftext.contains(".handlers")
                    && !removed(&["removeHandler"])
                    && !target.starts_with("self")
            }
            "connect" => kwarg(cx, args, "weak") == Some("False") && !removed(&["disconnect"]),
            "listen" if target == "event" => {
                let fn_arg = args.and_then(|a| a.named_child(2));
                let local_fn = fn_arg.is_some_and(|a| {
                    a.kind() == "lambda"
                        || cx.desc_kind(f, "function_definition").iter().any(|d| {
                            Ctx::field(*d, "name").is_some_and(|n| cx.text(n) == cx.text(a))
                        })
                });
                local_fn && !mentions(cx.src, "event.remove(")
            }
            "add_listener" | "subscribe" | "on" | "add_observer" | "register_callback" => {
                let root = root_ident(target);
                (module.contains(root) || extra.iter().any(|e| e == target))
                    && root != "self"
                    && first_arg(args).is_some()
                    && !removed(&[
                        "remove_listener",
                        "unsubscribe",
                        "off",
                        "remove_observer",
                        "unregister_callback",
                        "remove_all_listeners",
                    ])
            }
            _ => false,
        };
        // Asked last: they read the class, and every call of the function.
        if hit && !runs_as_a_singleton_is_made(cx, f) && !serves_until_exit(cx, f) {
            cx.hit(
                Rule::ListenerLeak,
                call,
                format!("`{target}.{method}(...)` inside `{fname}()` adds one more listener on the long-lived `{target}` each time it runs and nothing removes it; each keeps its closure alive"),
                "register once at startup, or remove it when done (removeHandler/disconnect/unsubscribe)",
            );
        }
    }
}

/// Whether `f` runs only while a lazy singleton is made: it is `__init__`,
/// or a method only `__init__` calls (`self.make_logger()`), of a class
/// that keeps its one instance in a class attribute (`if
/// DebugPrint._instance is None: DebugPrint._instance = DebugPrint()`,
/// `cls._instance = cls()`).
fn runs_as_a_singleton_is_made<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let Some(class) = cx.enclosing(f, &["class_definition"]) else {
        return false;
    };
    if cx.enclosing(f, &["function_definition"]).is_some() {
        return false; // a nested function: called however its maker likes
    }
    let cname = Ctx::field(class, "name").map_or("", |n| cx.text(n));
    if cname.is_empty() {
        return false;
    }
    let keeps_its_instance = cx.desc_kind(class, "assignment").into_iter().any(|a| {
        let left = Ctx::field(a, "left").filter(|l| l.kind() == "attribute");
        let owner = left
            .and_then(|l| Ctx::field(l, "object"))
            .map_or("", |o| cx.text(o));
        let made = Ctx::field(a, "right")
            .filter(|r| r.kind() == "call")
            .map_or("", |r| call_parts(cx, r).0);
        (owner == cname || owner == "cls") && (made == cname || made == "cls")
    });
    if !keeps_its_instance {
        return false;
    }
    let name = fn_name(cx, f);
    if name == "__init__" {
        return true;
    }
    // Every call of a method of that name, in the whole file, is
    // `self.name()` in the class's own `__init__`.
    let suffix = format!(".{name}");
    let calls: Vec<Node> = cx
        .all("call")
        .into_iter()
        .filter(|c| call_parts(cx, *c).0.ends_with(&suffix))
        .collect();
    !calls.is_empty()
        && calls.iter().all(|c| {
            call_parts(cx, *c).0 == format!("self{suffix}")
                && cx.enclosing(*c, &["function_definition"]).is_some_and(|g| {
                    fn_name(cx, g) == "__init__"
                        && cx
                            .enclosing(g, &["class_definition"])
                            .is_some_and(|k| k.id() == class.id())
                })
        })
}

fn queryset_whole(text: &str) -> Option<&str> {
    if !text.contains(".objects.") || text.contains(".iterator(") || text.contains('[') {
        return None;
    }
    let t = text.trim_end();
    if !t.ends_with(')') {
        return None;
    }
    let open = t.rfind(".")?;
    let method = t[open + 1..].split('(').next()?;
    const WHOLE: &[&str] = &[
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "annotate",
        "distinct",
        "values",
        "values_list",
        "only",
        "defer",
        "using",
    ];
    if WHOLE.contains(&method) {
        Some(t.split(".objects.").next().unwrap_or(t))
    } else {
        None
    }
}

/// The SQL text of an argument: a string literal, or a name assigned one in
/// the same function or at module level (a query constant).
fn sql_of<'a>(cx: &Ctx<'a>, scope: Node<'a>, arg: Node<'a>) -> Option<&'a str> {
    match arg.kind() {
        "string" | "concatenated_string" => Some(cx.text(arg)),
        "identifier" => {
            let name = cx.text(arg);
            let assigned = |within: Node<'a>, module_level: bool| {
                cx.named_in(within, "identifier", name)
                    .into_iter()
                    .find_map(|l| {
                        let a = cx.up(l).filter(|a| a.kind() == "assignment")?;
                        if Ctx::field(a, "left")?.id() != l.id() {
                            return None;
                        }
                        if module_level && cx.enclosing(a, FN).is_some() {
                            return None;
                        }
                        let r = Ctx::field(a, "right")?;
                        matches!(r.kind(), "string" | "concatenated_string").then(|| cx.text(r))
                    })
            };
            assigned(scope, false).or_else(|| assigned(cx.root, true))
        }
        _ => None,
    }
}

fn results(cx: &mut Ctx) {
    // Whole querysets iterated or materialized.
    let mut sites: Vec<Node> = Vec::new();
    for n in cx.nodes.clone() {
        if cx.expired() {
            break;
        }
        match n.kind() {
            "for_statement" | "for_in_clause" => {
                if let Some(r) = Ctx::field(n, "right") {
                    sites.push(r);
                }
            }
            "call" => {
                let (f, args) = call_parts(cx, n);
                if f == "list" || f == "len" {
                    if let Some(a) = first_arg(args) {
                        sites.push(a);
                    }
                }
            }
            _ => {}
        }
    }
    for s in sites {
        if cx.expired() {
            break;
        }
        if let Some(model) = queryset_whole(cx.text(s)) {
            let model = model.to_string();
            cx.hit(
                Rule::UnboundedResults,
                s,
                format!("loads every matching `{model}` row into memory at once (the queryset caches them all); memory grows with the table"),
                "iterate with `.iterator(chunk_size=...)`, slice it, or paginate",
            );
        }
    }
    // SQLAlchemy `.all()` of a whole query; pandas reading a whole table.
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let (f, args) = call_parts(cx, call);
        if cx.enclosing(call, FN).is_none() {
            continue;
        }
        let flagged = if let Some(chain) = f.strip_suffix(".all") {
            let args_empty = args.is_some_and(|a| a.named_child_count() == 0);
            let query = chain.contains(".query(") || chain.ends_with(".query");
            let select = chain.contains("execute(select(") || chain.contains("scalars(select(");
            let narrowed = [
                ".filter(",
                ".filter_by(",
                ".where(",
                ".limit(",
                ".get(",
                ".first(",
                ".one(",
                ".slice(",
                ".offset(",
                ".yield_per(",
                ".join(",
            ]
            .iter()
            .any(|m| chain.contains(m));
            args_empty && (query || select) && !narrowed && !chain.contains(".objects.")
        } else if matches!(
            f,
            "pd.read_sql" | "pandas.read_sql" | "pd.read_sql_query" | "pandas.read_sql_query"
        ) {
            let scope = cx.enclosing(call, FN).unwrap_or(cx.root);
            kwarg(cx, args, "chunksize").is_none()
                && first_arg(args)
                    .and_then(|a| sql_of(cx, scope, a))
                    .is_some_and(unbounded_select)
        } else if matches!(f, "pd.read_sql_table" | "pandas.read_sql_table") {
            kwarg(cx, args, "chunksize").is_none()
        } else {
            false
        };
        if flagged {
            cx.hit(
                Rule::UnboundedResults,
                call,
                format!("`{f}(...)` loads every row of the table into memory at once (filtering afterwards does not help); memory grows with the table"),
                "filter and limit in the query, paginate, or stream (`yield_per(n)`, `chunksize=n`)",
            );
        }
    }
    // fetchall() after a literal SELECT without LIMIT.
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let Some(func) = Ctx::field(call, "function").filter(|f| f.kind() == "attribute") else {
            continue;
        };
        if Ctx::field(func, "attribute").map(|a| cx.text(a)) != Some("fetchall") {
            continue;
        }
        let Some(obj) = Ctx::field(func, "object") else {
            continue;
        };
        let scope = cx.enclosing(call, FN).unwrap_or(cx.root);
        let sql_arg = if obj.kind() == "call" {
            first_arg(Ctx::field(obj, "arguments"))
        } else {
            let cursor = cx.text(obj);
            // The last `<cursor>.execute(...)` before it, found from the
            // index of `execute` names (not a scan of the whole function).
            let execs = cx.named_in(scope, "identifier", "execute");
            let before = execs.partition_point(|m| m.start_byte() < call.start_byte());
            execs[..before].iter().rev().find_map(|&m| {
                let f = cx.up(m).filter(|a| a.kind() == "attribute")?;
                let c = cx.up(f).filter(|c| c.kind() == "call")?;
                (c.start_byte() < call.start_byte()
                    && matches!(cx.text(f).strip_prefix(cursor), Some(".execute")))
                .then(|| first_arg(Ctx::field(c, "arguments")))
                .flatten()
            })
        };
        let Some(sql) = sql_arg.and_then(|a| sql_of(cx, scope, a)) else {
            continue;
        };
        if unbounded_select(sql) {
            cx.hit(
                Rule::UnboundedResults,
                call,
                "`fetchall()` on a SELECT with no LIMIT loads the whole result set into memory; it grows with the table".into(),
                "add LIMIT/pagination, or iterate the cursor / use fetchmany(n) in a loop",
            );
        }
    }
}

/// Whether a function body loops forever with no way out.
fn loops_forever<'a>(cx: &Ctx<'a>, body: Node<'a>) -> bool {
    cx.desc_kind(body, "while_statement").into_iter().any(|w| {
        let cond = Ctx::field(w, "condition").map(|c| cx.text(c)).unwrap_or("");
        if cond != "True" && cond != "1" {
            return false;
        }
        let inner = cx.text(w);
        let exits = cx.desc(w).iter().any(|d| {
            matches!(
                d.kind(),
                "break_statement" | "return_statement" | "raise_statement"
            )
        });
        !exits && !inner.contains(".is_set()") && !inner.contains("sys.exit")
    })
}

fn threads(cx: &mut Ctx) {
    let defs = cx.all("function_definition");
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let (f, args) = call_parts(cx, call);
        if f != "threading.Thread" && f != "Thread" {
            continue;
        }
        let Some(encl) = cx.enclosing(call, &["function_definition"]) else {
            continue;
        };
        let ename = fn_name(cx, encl);
        if runs_once(ename) || ename == "run" || ename == "start" || serves_until_exit(cx, encl) {
            continue;
        }
        let Some(target) = kwarg(cx, args, "target") else {
            continue;
        };
        let tname = target.rsplit('.').next().unwrap_or(target);
        let Some(body) = defs
            .iter()
            .find(|d| Ctx::field(**d, "name").is_some_and(|n| cx.text(n) == tname))
            .and_then(|d| Ctx::field(*d, "body"))
        else {
            continue;
        };
        if loops_forever(cx, body) {
            cx.hit(
                Rule::UnstoppableTask,
                call,
                format!("`{ename}()` starts a thread running `{tname}`, which loops forever with no exit: one more thread (and everything it references) per call"),
                "start one worker at startup, or give the loop a stop condition (threading.Event / sentinel) and join it",
            );
        }
    }
}

const CONN_CTORS: &[&str] = &[
    "psycopg2.connect",
    "psycopg.connect",
    "sqlite3.connect",
    "pymysql.connect",
    "MySQLdb.connect",
    "mysql.connector.connect",
    "cx_Oracle.connect",
    "oracledb.connect",
    "pyodbc.connect",
];
const FILE_CTORS: &[&str] = &[
    "open",
    "io.open",
    "codecs.open",
    "gzip.open",
    "bz2.open",
    "lzma.open",
    "tarfile.open",
    "zipfile.ZipFile",
    "socket.socket",
    "socket.create_connection",
    "urllib.request.urlopen",
    "urlopen",
    "tempfile.NamedTemporaryFile",
    "tempfile.TemporaryFile",
    "os.fdopen",
    "os.open",
];

fn is_conn_ctor(f: &str, args: &str) -> bool {
    CONN_CTORS.contains(&f)
        || f.ends_with(".getconn")
        || f.ends_with("engine.connect")
        || f.ends_with(".raw_connection")
        || (f.starts_with("requests.") && args.contains("stream=True"))
}

/// Readers built over a file object that never close it (`ZipFile.close()`
/// leaves a file it was handed open): handing a file to one is no hand-off.
const READ_WRAPPERS: &[&str] = &[
    "zipfile.ZipFile",
    "tarfile.open",
    "tarfile.TarFile",
    "gzip.GzipFile",
    "gzip.open",
    "bz2.BZ2File",
    "lzma.LZMAFile",
];

/// Calls that read or write a file object without taking ownership of it.
const CONSUMERS: &[&str] = &[
    "json.load",
    "json.dump",
    "pickle.load",
    "pickle.dump",
    "csv.reader",
    "csv.writer",
    "csv.DictReader",
    "csv.DictWriter",
    "yaml.safe_load",
    "yaml.load",
    "yaml.dump",
    "shutil.copyfileobj",
    "print",
    "enumerate",
    "iter",
    "next",
    "list",
    "zip",
    "tomllib.load",
    "marshal.load",
    "len",
    "os.read",
    "os.write",
    "os.fstat",
    "os.lseek",
    "os.fsync",
    "os.ftruncate",
    "os.pread",
    "os.pwrite",
];

/// Whether a local resource is closed, handed off, or neither.
fn released_or_escapes<'a>(cx: &Ctx<'a>, scope: Node<'a>, name: &str, after: usize) -> bool {
    // Structural, from the name's uses (not a text search of the whole
    // function per resource, which made huge functions quadratic).
    cx.named_in(scope, "identifier", name).into_iter().any(|u| {
        let Some(p) = cx.up(u) else { return false };
        if p.kind() == "attribute" && Ctx::field(p, "object").is_some_and(|o| o.id() == u.id()) {
            let m = Ctx::field(p, "attribute").map(|a| cx.text(a)).unwrap_or("");
            let called = |n: Node<'a>| cx.up(n).is_some_and(|c| c.kind() == "call");
            // Closing the file a wrapper holds (`tmp.file.close()` of a
            // NamedTemporaryFile, `f.raw.close()`) closes its descriptor.
            let inner_closed = matches!(m, "file" | "raw" | "buffer")
                && cx.up(p).is_some_and(|q| {
                    q.kind() == "attribute"
                        && Ctx::field(q, "attribute").is_some_and(|a| cx.text(a) == "close")
                        && called(q)
                });
            return inner_closed
                || (called(p) && matches!(m, "close" | "release" | "dispose" | "__exit__"));
        }
        if u.start_byte() <= after {
            return false;
        }
        match p.kind() {
            "argument_list" => {
                let callee = cx
                    .up(p)
                    .and_then(|c| Ctx::field(c, "function"))
                    .map(|c| cx.text(c))
                    .unwrap_or("");
                !CONSUMERS.contains(&callee) && !READ_WRAPPERS.contains(&callee)
            }
            "keyword_argument" => {
                // `tarfile.open(fileobj=f)` reads `f` and leaves it open.
                let callee = cx
                    .up(p)
                    .and_then(|a| cx.up(a))
                    .and_then(|c| Ctx::field(c, "function"))
                    .map(|c| cx.text(c))
                    .unwrap_or("");
                !READ_WRAPPERS.contains(&callee)
            }
            "return_statement" | "yield" | "list" | "tuple" | "pair" | "dictionary"
            | "with_item" | "expression_list" => true,
            "assignment" => Ctx::field(p, "right").is_some_and(|r| r.id() == u.id()),
            _ => false,
        }
    })
}

/// Whether a file-reading wrapper (`zipfile.ZipFile(f)`,
/// `tarfile.open(fileobj=f)`) is built over a file object this function
/// opened itself: the descriptor is that file's (the wrapper does not close
/// a file it was handed), so whether it leaks is that file's finding.
fn wraps_opened_file<'a>(cx: &Ctx<'a>, scope: Node<'a>, args: Option<Node<'a>>) -> bool {
    let Some(args) = args else { return false };
    let inner = kwarg(cx, Some(args), "fileobj").or_else(|| {
        args.named_child(0)
            .filter(|a| a.kind() == "identifier")
            .map(|a| cx.text(a))
    });
    let Some(inner) = inner else { return false };
    let opens = |v: Option<Node<'a>>| {
        v.filter(|r| r.kind() == "call")
            .is_some_and(|r| FILE_CTORS.contains(&call_parts(cx, r).0))
    };
    let assigned = cx.desc_kind(scope, "assignment").into_iter().any(|a| {
        Ctx::field(a, "left").is_some_and(|l| l.kind() == "identifier" && cx.text(l) == inner)
            && opens(Ctx::field(a, "right"))
    });
    // `with open(path, "rb") as f:`
    assigned
        || cx.desc_kind(scope, "as_pattern").into_iter().any(|p| {
            p.named_child(1).is_some_and(|x| cx.text(x).trim() == inner) && opens(p.named_child(0))
        })
}

fn resources(cx: &mut Ctx) {
    for a in cx.all("assignment") {
        if cx.expired() {
            break;
        }
        let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
            continue;
        };
        if l.kind() != "identifier" || r.kind() != "call" {
            continue;
        }
        let Some(scope) = cx.enclosing(a, &["function_definition"]) else {
            continue;
        };
        let (f, args) = call_parts(cx, r);
        let args_text = args.map(|x| cx.text(x)).unwrap_or("");
        let name = cx.text(l);
        let conn = is_conn_ctor(f, args_text);
        let file = FILE_CTORS.contains(&f);
        if !conn && !file {
            continue;
        }
        if READ_WRAPPERS.contains(&f) && wraps_opened_file(cx, scope, args) {
            continue;
        }
        if released_or_escapes(cx, scope, name, l.end_byte()) {
            continue;
        }
        if conn {
            cx.hit(
                Rule::UnreleasedConnection,
                a,
                format!("connection `{name}` from `{f}()` is never closed or returned to its pool: each call leaks a connection and its buffers"),
                "use `with contextlib.closing(...) as conn:` or close/putconn it in `finally`",
            );
        } else {
            cx.hit(
                Rule::UnclosedResource,
                a,
                format!("`{name}` from `{f}()` is never closed: the descriptor and its buffers leak until garbage collection, or forever if referenced"),
                "use `with ... as name:` so it is closed on every path",
            );
        }
    }
    // `with psycopg2.connect() as conn` commits but does not close.
    for item in cx.all("with_item") {
        if cx.expired() {
            break;
        }
        let Some(v) = item.named_child(0) else {
            continue;
        };
        let (call, alias) = if v.kind() == "as_pattern" {
            (
                v.named_child(0),
                v.named_child(1).map(|x| cx.text(x).trim()),
            )
        } else {
            (Some(v), None)
        };
        let Some(call) = call.filter(|c| c.kind() == "call") else {
            continue;
        };
        let (f, _) = call_parts(cx, call);
        if !CONN_CTORS.contains(&f) {
            continue;
        }
        let scope = cx
            .enclosing(item, &["function_definition"])
            .unwrap_or(cx.root);
        if alias.is_some_and(|n| mentions(cx.text(scope), &format!("{n}.close("))) {
            continue;
        }
        cx.hit(
            Rule::UnreleasedConnection,
            call,
            format!("`with {f}(...)` only ends the transaction: the connection itself is never closed"),
            "wrap it: `with contextlib.closing(psycopg2.connect(...)) as conn:` or call conn.close()",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::rules_and_lines;
    use crate::{Lang, Rule};

    /// A function that blocks serving until the process ends runs once:
    /// what it subscribes is subscribed once; the same call per session is
    /// one more each time.
    #[test]
    fn a_function_that_serves_until_exit_runs_once() {
        let src = "import cherrypy\n\ndef run(on_stop):\n    cherrypy.engine.start()\n    cherrypy.engine.subscribe('stop', on_stop)\n    cherrypy.engine.block()\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let per_call = src.replace("    cherrypy.engine.block()\n", "");
        assert_eq!(
            rules_and_lines(Lang::Python, &per_call),
            [(Rule::ListenerLeak, 5)]
        );
        // Serving inside a nested function does not make the outer one serve.
        let nested = src.replace(
            "    cherrypy.engine.block()\n",
            "    def wait():\n        cherrypy.engine.block()\n    return wait\n",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &nested),
            [(Rule::ListenerLeak, 5)]
        );
    }

    /// An imported module is kept by `sys.modules`: a store of modules adds
    /// nothing; a store of what a module's function returns does.
    #[test]
    fn a_store_of_imported_modules_holds_nothing_new() {
        let src = "import importlib\n\nloaded = {}\n\ndef load(name):\n    loaded[name] = importlib.import_module(name)\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let rendered = src.replace(
            "importlib.import_module(name)",
            "importlib.import_module(name).render()",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &rendered),
            [(Rule::GlobalAccumulator, 6)]
        );
    }

    /// A singleton's `__init__` runs once: what it puts in its own list is
    /// bounded; the same append in a method that runs per call is not.
    #[test]
    fn a_singletons_init_fills_its_containers_once() {
        let src = "class Printer:\n    def __init__(self):\n        self.subprinters = []\n        self.subprinters.append(Sub())\n\n    def __call__(self, val):\n        return [s(val) for s in self.subprinters]\n\nprinter = Printer()\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let per_call = src.replace(
            "        return [s(val) for s in self.subprinters]\n",
            "        self.subprinters.append(val)\n",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &per_call),
            [(Rule::GlobalAccumulator, 7)]
        );
    }

    /// A script that does its work at import (a loop and a `print` at its
    /// top level) or in a `__main__` block lasts one run: its caches and
    /// stores too. A module that only defines, or that serves, does not.
    #[test]
    fn a_script_working_at_import_keeps_its_caches_for_one_run() {
        let src = "import functools\n\nstrtab = {}\n\ndef slice_of(s):\n    if s in strtab:\n        return strtab[s]\n    strtab[s] = offset_of(s)\n    return strtab[s]\n\n@functools.cache\ndef width(c):\n    return len(c.encode())\n\nfor line in open('table.txt'):\n    slice_of(line)\nprint('done')\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let library = src.replace(
            "for line in open('table.txt'):\n    slice_of(line)\nprint('done')\n",
            "",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &library),
            [(Rule::UnboundedCache, 8), (Rule::UnboundedCache, 11)]
        );
        let serving = format!("{src}HTTPServer(('', 80), Handler).serve_forever()\n");
        assert_eq!(
            rules_and_lines(Lang::Python, &serving),
            [(Rule::UnboundedCache, 8), (Rule::UnboundedCache, 11)]
        );
        let main = library.replace("import functools\n", "import functools\nimport sys\n")
            + "if __name__ == '__main__':\n    print(width(sys.argv[1]))\n";
        assert_eq!(rules_and_lines(Lang::Python, &main), []);
    }

    /// A dict written only under keys spelled in the code, or one named as
    /// configuration, is bounded; one keyed by what arrives is not.
    #[test]
    fn literal_keys_and_settings_are_bounded() {
        let src = "state = {}\n\ndef on_output(data):\n    state['stdout'] = data\n    state.setdefault('count', 0)\n    return state['stdout']\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let keyed = src.replace("state['stdout'] = data", "state[data] = data");
        assert_eq!(
            rules_and_lines(Lang::Python, &keyed),
            [(Rule::UnboundedCache, 4)]
        );
        let settings = keyed.replace("state", "plugin_settings");
        assert_eq!(rules_and_lines(Lang::Python, &settings), []);
    }

    /// A zip read over a file this function opened holds that file's
    /// descriptor: closing the file releases it, leaving the file open is
    /// the one leak; a zip opened by path owns its own.
    #[test]
    fn a_wrapper_over_an_opened_file_is_that_files_leak() {
        let closed = "import zipfile\n\ndef unpack(path):\n    f = open(path, 'rb')\n    z = zipfile.ZipFile(f)\n    for n in z.namelist():\n        z.extract(n)\n    f.close()\n";
        assert_eq!(rules_and_lines(Lang::Python, closed), []);
        let with = "import zipfile\n\ndef unpack(path):\n    with open(path, 'rb') as f:\n        z = zipfile.ZipFile(f)\n        return z.namelist()\n";
        assert_eq!(rules_and_lines(Lang::Python, with), []);
        let left_open = closed.replace("    f.close()\n", "");
        assert_eq!(
            rules_and_lines(Lang::Python, &left_open),
            [(Rule::UnclosedResource, 4)]
        );
        let by_path = closed.replace("zipfile.ZipFile(f)", "zipfile.ZipFile(path)");
        assert_eq!(
            rules_and_lines(Lang::Python, &by_path),
            [(Rule::UnclosedResource, 5)]
        );
    }

    /// Closing the file a wrapper holds (`tmp.file.close()`) closes the
    /// descriptor; writing through it does not.
    #[test]
    fn closing_a_wrappers_inner_file_closes_it() {
        let closed = "import tempfile\n\ndef keep(data):\n    tmp = tempfile.NamedTemporaryFile(delete=False)\n    tmp.file.write(data)\n    tmp.file.close()\n    return tmp.name\n";
        assert_eq!(rules_and_lines(Lang::Python, closed), []);
        let open = closed.replace("    tmp.file.close()\n", "");
        assert_eq!(
            rules_and_lines(Lang::Python, &open),
            [(Rule::UnclosedResource, 4)]
        );
    }

    /// A script run once per process (a `__main__` block, nothing that
    /// serves or loops for long) keeps its stores only for its run; the same
    /// module serving requests does not.
    #[test]
    fn a_one_shot_scripts_stores_end_with_its_run() {
        let script = "class ListColours(Extension):\n    _counts = {}\n\n    def modify_color(self, name, color):\n        self._counts[color] = self._counts.get(color, 0) + 1\n        return color\n\n\nif __name__ == \"__main__\":\n    ListColours().run()\n";
        assert_eq!(rules_and_lines(Lang::Python, script), []);
        let library = script.replace(
            "\n\nif __name__ == \"__main__\":\n    ListColours().run()\n",
            "\n",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &library),
            [(Rule::UnboundedCache, 5)]
        );
        let server = script.replace(
            "ListColours().run()",
            "HTTPServer(addr, Handler).serve_forever()",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &server),
            [(Rule::UnboundedCache, 5)]
        );
    }

    /// A lazy singleton's constructor runs once: a handler it adds to a
    /// global logger (itself or through a method only it calls) is added
    /// once; made per instance, or re-run by another method, it piles up.
    #[test]
    fn a_singletons_constructor_adds_its_handler_once() {
        let src = "import logging\n\nclass DebugPrint:\n    _instance = None\n\n    @staticmethod\n    def getInstance():\n        if DebugPrint._instance is None:\n            DebugPrint._instance = DebugPrint()\n        return DebugPrint._instance\n\n    def __init__(self):\n        self.logger = logging.getLogger('app')\n        self.make_logger()\n\n    def make_logger(self):\n        wlogger = logging.getLogger('py.warnings')\n        wlogger.addHandler(EmitWarnings(self.logger))\n";
        assert_eq!(rules_and_lines(Lang::Python, src), []);
        let plain = src.replace(
            "            DebugPrint._instance = DebugPrint()\n",
            "            pass\n",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &plain),
            [(Rule::ListenerLeak, 18)]
        );
        let rerun = format!("{src}\n    def reset(self):\n        self.make_logger()\n");
        assert_eq!(
            rules_and_lines(Lang::Python, &rerun),
            [(Rule::ListenerLeak, 18)]
        );
    }

    /// A `while True:` that a test ends (walking up a directory tree) does
    /// not make a one-shot lint tool a service; one with no way out, or one
    /// that waits on each pass (a queue, a socket, a sleep), does.
    #[test]
    fn a_loop_that_ends_with_its_input_serves_nothing() {
        let script = "import os, sys

usage = {}

def check(fn, unit):
    usage[unit] = fn
    up = fn
    while True:
        if not up or up == '/':
            break
        up = os.path.dirname(up)

if __name__ == '__main__':
    for fn in sys.argv[1:]:
        check(fn, os.path.basename(fn))
";
        assert_eq!(rules_and_lines(Lang::Python, script), []);
        let endless = script.replace(
            "            break
",
            "            up = fn
",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &endless),
            [(Rule::GlobalAccumulator, 6)]
        );
        let queue = script.replace(
            "        up = os.path.dirname(up)
",
            "        up = jobs.get(timeout=5)
",
        );
        assert_eq!(
            rules_and_lines(Lang::Python, &queue),
            [(Rule::GlobalAccumulator, 6)]
        );
        let dict_get = script.replace(
            "        up = os.path.dirname(up)
",
            "        up = parents.get(up, '')
",
        );
        assert_eq!(rules_and_lines(Lang::Python, &dict_get), []);
    }
}
