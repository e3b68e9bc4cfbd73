//! Ruby rules: long-lived caches and collections (constants, `@@class`
//! variables, `$globals`, `@ivars` of singletons, auto-filling
//! `Hash.new { |h, k| h[k] = ... }`), notifications subscribed per request,
//! threads looping forever, files and connections opened without a block or
//! a close, whole tables iterated (`Model.all.each`), closures over large data
//! (`define_method`, per-request `at_exit`) and timers never shut down.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::growth::{entry_method, reads_outside_input};
use super::python::runs_once;
use super::{mentions, unbounded_select, ArgMask, Ctx, MethodRef, Slot, StoredArgs, Unless};
use crate::rules::Rule;

pub(crate) const FN: &[&str] = &["method", "singleton_method", "block", "do_block", "lambda"];
const DEF: &[&str] = &["method", "singleton_method"];

pub fn check(cx: &mut Ctx) {
    tree_facts(cx);
    containers(cx);
    subscriptions(cx);
    threads(cx);
    opened(cx);
    results(cx);
    closures(cx);
    timers(cx);
}

fn method_name<'a>(cx: &Ctx<'a>, call: Node<'a>) -> &'a str {
    Ctx::field(call, "method").map(|m| cx.text(m)).unwrap_or("")
}

fn receiver<'a>(cx: &Ctx<'a>, call: Node<'a>) -> &'a str {
    Ctx::field(call, "receiver")
        .map(|m| cx.text(m))
        .unwrap_or("")
}

/// Whether a call hands on a parameter of its method as an argument (or as
/// its block, `&blk`), directly or through a local made from one (`code =
/// args.shift || block`): a wrapper API whose caller decides how often it
/// runs and what is registered.
fn hands_on_parameter<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    let Some(def) = cx.enclosing(call, DEF) else {
        return false;
    };
    let params: Vec<&str> = parameters(cx, def).into_iter().map(|(n, _)| n).collect();
    let mentions_param = |r: Node<'a>| {
        std::iter::once(r)
            .chain(cx.desc(r).iter().copied())
            .any(|i| i.kind() == "identifier" && params.contains(&cx.text(i)))
    };
    let from_params = |name: &str| {
        params.contains(&name)
            || cx.named_in(def, "identifier", name).into_iter().any(|l| {
                cx.up(l).is_some_and(|a| {
                    a.kind() == "assignment"
                        && Ctx::field(a, "left").is_some_and(|x| x.id() == l.id())
                        && Ctx::field(a, "right").is_some_and(mentions_param)
                })
            })
    };
    Ctx::field(call, "arguments").is_some_and(|args| {
        let mut cur = args.walk();
        let found = args.named_children(&mut cur).any(|a| {
            let a = if a.kind() == "block_argument" {
                a.named_child(0).unwrap_or(a)
            } else {
                a
            };
            a.kind() == "identifier" && from_params(cx.text(a))
        });
        found
    })
}

/// Whether a call is given a block: `do ... end`, `{ ... }`, or a block
/// argument (`IO.popen(cmd, &:read)`, `&method(:tick)`, `&blk`).
fn takes_block(call: Node) -> bool {
    Ctx::field(call, "block").is_some()
        || Ctx::field(call, "arguments").is_some_and(|a| {
            let mut cur = a.walk();
            let found = a
                .named_children(&mut cur)
                .any(|c| c.kind() == "block_argument");
            found
        })
}

/// Whether the method around `n` runs once per process: it is called in
/// this file, and every call fills a process-wide memo (`@x ||= ...` in a
/// class method, a `class << self` or a module method), which computes it
/// once (html-pipeline's `emoji_names` under `self.emoji_pattern`). A memo
/// on an instance is filled once per instance: not this.
fn fills_process_memo_only<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    let Some(def) = cx.enclosing(n, DEF) else {
        return false;
    };
    let name = def_name(cx, def);
    if name.is_empty() {
        return false;
    }
    let in_memo = |site: Node<'a>| {
        let mut cur = cx.up(site);
        while let Some(p) = cur {
            if p.kind() == "operator_assignment" {
                return Ctx::field(p, "left").is_some_and(|l| l.kind() == "instance_variable")
                    && Ctx::field(p, "right").is_some_and(|r| Ctx::inside(site, r))
                    && cx
                        .text(p)
                        .split_once('=')
                        .is_some_and(|(head, _)| head.ends_with("||"))
                    && singleton_scope(cx, p);
            }
            if DEF.contains(&p.kind()) {
                return false;
            }
            cur = cx.up(p);
        }
        false
    };
    let sites: Vec<Node<'a>> = cx
        .all("identifier")
        .into_iter()
        .filter(|i| cx.text(*i) == name)
        .filter(|i| {
            !cx.up(*i).is_some_and(|p| {
                DEF.contains(&p.kind()) && Ctx::field(p, "name").is_some_and(|f| f.id() == i.id())
            })
        })
        .collect();
    !sites.is_empty() && sites.iter().all(|s| in_memo(*s))
}

fn def_name<'a>(cx: &Ctx<'a>, def: Node<'a>) -> &'a str {
    Ctx::field(def, "name").map(|n| cx.text(n)).unwrap_or("")
}

/// What this file tells its tree: every call by method name, whether it is
/// made while the file loads (outside any method, block or lambda: a file's
/// top level, a class or module body) or from a start-up step (a method
/// named like one, `boot`, `setup_*`, `configure`: it too runs a fixed
/// number of times), and whether it passes arguments or a
/// block; and every class method a class defines (`def self.all`, or `def
/// all` in `class << self`).
fn tree_facts(cx: &mut Ctx) {
    let own = own_methods(cx);
    for call in cx.all("call") {
        let m = method_name(cx, call);
        if m.is_empty() {
            continue;
        }
        let caller = cx.enclosing(call, DEF).map(|d| def_name(cx, d));
        let at_load = made_at_load(cx, call) || caller.is_some_and(start_up_step);
        let with_args = Ctx::field(call, "block").is_some()
            || Ctx::field(call, "arguments").is_some_and(|a| a.named_child_count() > 0);
        let on = Ctx::field(call, "receiver")
            .filter(|r| matches!(r.kind(), "constant" | "scope_resolution"))
            .map(|r| cx.text(r).rsplit("::").next().unwrap_or(""));
        cx.facts.call(m, on, at_load, with_args);
        let from_entry = in_entry(cx, call);
        let data = data_args(cx, call);
        let callee = own_callee(cx, &own, call, m);
        cx.facts.call_from(caller, &callee, from_entry, data);
    }
    // A bare name on a line of its own (`add_handler` in a class body) is a
    // call without arguments: as a local variable it would do nothing.
    for id in cx.all("identifier") {
        let statement = cx.up(id).is_some_and(|p| {
            matches!(
                p.kind(),
                "program" | "body_statement" | "then" | "else" | "begin" | "block_body"
            )
        });
        if !statement {
            continue;
        }
        let m = cx.text(id);
        let caller = cx.enclosing(id, DEF).map(|d| def_name(cx, d));
        let at_load = made_at_load(cx, id) || caller.is_some_and(start_up_step);
        cx.facts.call(m, None, at_load, false);
        let from_entry = in_entry(cx, id);
        let callee = own_callee(cx, &own, id, m);
        cx.facts
            .call_from(caller, &callee, from_entry, ArgMask::NONE);
    }
    let mut found = Vec::new();
    for def in cx.all("singleton_method") {
        if let Some(class) = class_name(cx, def) {
            found.push((class, def_name(cx, def).to_string()));
        }
    }
    for def in cx.all("method") {
        let in_singleton_class = cx
            .up(def)
            .and_then(|b| {
                if b.kind() == "body_statement" {
                    cx.up(b)
                } else {
                    Some(b)
                }
            })
            .is_some_and(|p| p.kind() == "singleton_class");
        if in_singleton_class {
            if let Some(class) = class_name(cx, def) {
                found.push((class, def_name(cx, def).to_string()));
            }
        }
    }
    for (class, method) in found {
        cx.facts.class_method(&class, &method);
    }
    // Instance methods of modules, `extend M` in class and module bodies,
    // and superclasses: what else gives a class its class methods.
    let mut module_methods = Vec::new();
    for def in cx.all("method") {
        let owner = cx.enclosing(def, &["class", "module", "singleton_class"]);
        if let Some(module) = owner.filter(|o| o.kind() == "module") {
            if let Some(name) = Ctx::field(module, "name") {
                let last = cx.text(name).rsplit("::").next().unwrap_or("");
                module_methods.push((last.to_string(), def_name(cx, def).to_string()));
            }
        }
    }
    let mut extends = Vec::new();
    for call in cx.all("call") {
        if method_name(cx, call) != "extend"
            || Ctx::field(call, "receiver").is_some()
            || cx.enclosing(call, DEF).is_some()
        {
            continue;
        }
        let Some(owner) = cx
            .enclosing(call, &["class", "module"])
            .and_then(|o| Ctx::field(o, "name"))
        else {
            continue;
        };
        let owner = cx.text(owner).rsplit("::").next().unwrap_or("").to_string();
        let Some(args) = Ctx::field(call, "arguments") else {
            continue;
        };
        for arg in (0..args.named_child_count()).filter_map(|i| args.named_child(i)) {
            let module = match arg.kind() {
                "self" => owner.clone(),
                "constant" | "scope_resolution" => {
                    cx.text(arg).rsplit("::").next().unwrap_or("").to_string()
                }
                _ => continue,
            };
            extends.push((owner.clone(), module));
        }
    }
    let mut superclasses = Vec::new();
    for class in cx.all("class") {
        let (Some(name), Some(sup)) = (Ctx::field(class, "name"), Ctx::field(class, "superclass"))
        else {
            continue;
        };
        let last = |t: &str| {
            t.trim_start_matches('<')
                .trim()
                .rsplit("::")
                .next()
                .unwrap_or("")
                .to_string()
        };
        superclasses.push((last(cx.text(name)), last(cx.text(sup))));
    }
    for (module, method) in module_methods {
        cx.facts.module_method(&module, &method);
    }
    for (class, module) in extends {
        cx.facts.extends(&class, &module);
    }
    for (class, sup) in superclasses {
        cx.facts.superclass(&class, &sup);
    }
    // Which classes could be ORM models: a superclass (`< ApplicationRecord`)
    // or a document module (`include Mongoid::Document`) may make one.
    let mut classes = Vec::new();
    for class in cx.all("class") {
        let Some(name) = Ctx::field(class, "name") else {
            continue;
        };
        let last = cx.text(name).rsplit("::").next().unwrap_or("").to_string();
        let document = cx.desc_kind(class, "call").iter().any(|c| {
            method_name(cx, *c) == "include"
                && Ctx::field(*c, "arguments").is_some_and(|a| {
                    let t = cx.text(a);
                    t.contains("Document") || t.contains("Resource") || t.contains("Model")
                })
        });
        classes.push((last, Ctx::field(class, "superclass").is_some() || document));
    }
    for (class, may_be_model) in classes {
        cx.facts.class_defined(&class, may_be_model);
    }
    let modules: Vec<String> = cx
        .all("module")
        .into_iter()
        .filter_map(|m| Ctx::field(m, "name"))
        .map(|n| cx.text(n).rsplit("::").next().unwrap_or("").to_string())
        .collect();
    for module in modules {
        cx.facts.module_defined(&module);
    }
    // Constant stores this file removes from (`ZZ.delete_if { ... }`), by
    // the constant's last segment: an alias of another file's store
    // (`ZZ = Rainbows::Fiber::ZZ`) shares its name.
    let cleared: Vec<String> = cx
        .all("call")
        .into_iter()
        .filter(|c| REMOVE.contains(&method_name(cx, *c)))
        .filter_map(|c| Ctx::field(c, "receiver"))
        .filter(|r| matches!(r.kind(), "constant" | "scope_resolution"))
        .map(|r| cx.text(r).rsplit("::").next().unwrap_or("").to_string())
        .collect();
    for store in cleared {
        cx.facts.store_cleared("", &store);
    }
    let constants: Vec<String> = cx
        .all("class")
        .into_iter()
        .chain(cx.all("module"))
        .filter_map(|c| full_path(cx, c))
        .collect();
    for path in constants {
        cx.facts.constant_defined(&path);
    }
}

/// The full path of the class or module `def` defines: its name under the
/// classes and modules around it (`FakeFS::File` for `class File` inside
/// `module FakeFS`; a name written `::X` is absolute).
fn full_path<'a>(cx: &Ctx<'a>, def: Node<'a>) -> Option<String> {
    let name = cx.text(Ctx::field(def, "name")?);
    if let Some(absolute) = name.strip_prefix("::") {
        return Some(absolute.to_string());
    }
    match cx
        .enclosing(def, &["class", "module"])
        .and_then(|o| full_path(cx, o))
    {
        Some(outer) => Some(format!("{outer}::{name}")),
        None => Some(name.to_string()),
    }
}

/// Where Ruby looks first for a constant `name` written at `n` without a
/// leading `::`: under each class or module around `n`, innermost first
/// (`FakeFS::FileTest::File`, `FakeFS::File`). Empty at the top level.
fn lexical_candidates<'a>(cx: &Ctx<'a>, n: Node<'a>, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = cx.enclosing(n, &["class", "module"]);
    while let Some(c) = cur {
        if let Some(path) = full_path(cx, c) {
            out.push(format!("{path}::{name}"));
        }
        cur = cx.enclosing(c, &["class", "module"]);
    }
    out
}

/// Whether an argument is a constant the code names: a literal without
/// interpolation, a symbol, `nil`/`true`/`false`, a named constant, or a
/// keyword argument or block argument made of them (`mode: :read`, `&:to_s`).
fn constant_value(n: Node) -> bool {
    match n.kind() {
        "integer" | "float" | "rational" | "true" | "false" | "nil" | "simple_symbol"
        | "hash_key_symbol" | "constant" | "scope_resolution" => true,
        "string" | "delimited_symbol" => (0..n.named_child_count())
            .filter_map(|i| n.named_child(i))
            .all(|c| c.kind() == "string_content" || c.kind() == "escape_sequence"),
        "pair" | "block_argument" | "array" => (0..n.named_child_count())
            .filter_map(|i| n.named_child(i))
            .all(constant_value),
        _ => false,
    }
}

/// Whether the write at `site` fills `store` right after the same method
/// set it to a new empty collection, in a block around the write
/// (`unless defined?(@@data); @@data = {}; rows.each { |r| @@data[r.id] =
/// r } end`): each run builds it again from nothing, so nothing
/// accumulates across calls.
fn rebuilt_after_reset<'a>(cx: &Ctx<'a>, site: Node<'a>, store: &str) -> bool {
    let Some(def) = cx.enclosing(site, DEF) else {
        return false;
    };
    cx.desc(def).iter().any(|a| {
        a.kind() == "assignment"
            && a.end_byte() <= site.start_byte()
            && Ctx::field(*a, "left").is_some_and(|l| cx.text(l) == store)
            && Ctx::field(*a, "right").is_some_and(|r| {
                let t = cx.text(r).replace(' ', "");
                matches!(
                    t.as_str(),
                    "{}" | "[]"
                        | "Hash.new"
                        | "Array.new"
                        | "Set.new"
                        | "Hash.new()"
                        | "Array.new()"
                        | "Set.new()"
                )
            })
            && cx.up(*a).is_some_and(|block| Ctx::inside(site, block))
    })
}

/// The class or module a method definition belongs to: the innermost one
/// around it (`class << self` belongs to the class it is in).
fn owner<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Option<Node<'a>> {
    let mut cur = cx.enclosing(n, &["class", "module", "singleton_class"]);
    while let Some(c) = cur.filter(|c| c.kind() == "singleton_class") {
        cur = cx.enclosing(c, &["class", "module", "singleton_class"]);
    }
    cur
}

/// The methods each class or module of the file defines, by its node id.
fn own_methods<'a>(cx: &Ctx<'a>) -> HashMap<usize, Vec<&'a str>> {
    let mut own: HashMap<usize, Vec<&'a str>> = HashMap::new();
    for def in cx
        .all("method")
        .into_iter()
        .chain(cx.all("singleton_method"))
    {
        if let Some(o) = owner(cx, def) {
            own.entry(o.id()).or_default().push(def_name(cx, def));
        }
    }
    own
}

/// The name a call at `n` of method `m` is recorded under: `Class#m` when
/// it has no receiver and is made in a class or module that defines `m`
/// itself (it calls that one, not a method of another class that shares
/// the name: parslet's `Export#rule` is not `Transform.rule`), else `m`.
fn own_callee<'a>(
    cx: &Ctx<'a>,
    own: &HashMap<usize, Vec<&'a str>>,
    n: Node<'a>,
    m: &'a str,
) -> Cow<'a, str> {
    let receiverless = n.kind() == "identifier" || Ctx::field(n, "receiver").is_none();
    let class =
        owner(cx, n).filter(|o| receiverless && own.get(&o.id()).is_some_and(|ms| ms.contains(&m)));
    match class.and_then(|c| Ctx::field(c, "name")) {
        Some(name) => {
            let last = cx.text(name).rsplit("::").next().unwrap_or("");
            Cow::Owned(format!("{last}#{m}"))
        }
        None => Cow::Borrowed(m),
    }
}

/// Which arguments of `call` are not constants ([`constant_value`], or a
/// local assigned nothing else: `color = ok ? :green : :red; hook color`).
fn data_args<'a>(cx: &Ctx<'a>, call: Node<'a>) -> ArgMask {
    let Some(args) = Ctx::field(call, "arguments") else {
        return ArgMask::NONE;
    };
    let constant = |arg: Node<'a>| constant_value(arg) || constant_local(cx, arg);
    ArgMask::of_call(
        (0..args.named_child_count())
            .filter_map(|i| args.named_child(i))
            .map(|arg| {
                let slot = match arg.kind() {
                    "splat_argument" | "hash_splat_argument" => Slot::Any,
                    "pair" => Slot::Keyword,
                    "block_argument" => Slot::Block,
                    _ => Slot::Positional,
                };
                (slot, constant(arg))
            }),
    )
}

/// Whether `n` is a local variable of its method that is only ever
/// assigned constants, or a choice between them (`ok ? :green : :red`).
fn constant_local<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    if n.kind() != "identifier" {
        return false;
    }
    let Some(def) = cx.enclosing(n, DEF) else {
        return false;
    };
    let name = cx.text(n);
    if parameters(cx, def).iter().any(|(p, _)| *p == name) {
        return false;
    }
    let choice = |v: Node<'a>| {
        constant_value(v)
            || (v.kind() == "conditional"
                && ["consequence", "alternative"]
                    .iter()
                    .all(|f| Ctx::field(v, f).is_some_and(constant_value)))
    };
    let mut assigned = false;
    for d in cx.desc(def) {
        let names_it = |l: Node| l.kind() == "identifier" && cx.text(l) == name;
        match d.kind() {
            "assignment" => {
                let Some(left) = Ctx::field(*d, "left") else {
                    continue;
                };
                if names_it(left) {
                    if !Ctx::field(*d, "right").is_some_and(choice) {
                        return false;
                    }
                    assigned = true;
                } else if left.kind() == "left_assignment_list"
                    && cx.desc(left).iter().any(|x| names_it(*x))
                {
                    return false;
                }
            }
            "operator_assignment" if Ctx::field(*d, "left").is_some_and(names_it) => {
                return false;
            }
            // A block's parameter, a rescue's variable or a loop's
            // variable of the same name takes other values.
            "block_parameters" | "exception_variable" | "for"
                if cx.desc(*d).iter().any(|x| names_it(*x)) =>
            {
                return false;
            }
            _ => {}
        }
    }
    assigned
}

/// Which arguments of a call fill each parameter of `def`, by name.
fn parameter_args<'a>(cx: &Ctx<'a>, def: Node<'a>) -> Vec<(&'a str, ArgMask)> {
    let Some(params) = Ctx::field(def, "parameters") else {
        return Vec::new();
    };
    let slots = (0..params.named_child_count())
        .filter_map(|i| params.named_child(i))
        .map(|p| {
            let name = if p.kind() == "identifier" {
                Some(p)
            } else {
                Ctx::field(p, "name")
            };
            let slot = match p.kind() {
                "identifier" | "optional_parameter" => Slot::Positional,
                "splat_parameter" => Slot::Rest,
                "keyword_parameter" | "hash_splat_parameter" => Slot::Keyword,
                "block_parameter" => Slot::Block,
                _ => Slot::Any,
            };
            (name.map(|n| cx.text(n)), slot)
        });
    ArgMask::of_params(slots)
        .into_iter()
        .filter_map(|(name, args)| Some((name?, args)))
        .collect()
}

/// Whether code at `n` runs once per request, job, message or connection:
/// in an entry point (a method named like one, Rack's `call(env)`, a
/// controller's action), a route block, a thread's or `loop`'s block, or a
/// `while true` loop.
fn in_entry<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    // A test's job or controller (a fixture in `test_helper.rb`, a class
    // in `*_spec.rb`) runs in a test process, once per test: no long-lived
    // process's entry point.
    if test_file(&cx.file_name) {
        return false;
    }
    let mut cur = cx.up(n);
    while let Some(p) = cur {
        match p.kind() {
            "method" | "singleton_method" => {
                let name = def_name(cx, p);
                let rack_call =
                    name == "call" && parameters(cx, p).iter().any(|(n, _)| *n == "env");
                let action = p.kind() == "method"
                    && class_name(cx, p).is_some_and(|c| c.ends_with("Controller"));
                return entry_method(name) || rack_call || action;
            }
            "block" | "do_block" => {
                if let Some(call) = cx.up(p).filter(|c| c.kind() == "call") {
                    let m = method_name(cx, call);
                    let no_receiver = Ctx::field(call, "receiver").is_none();
                    let route =
                        no_receiver && matches!(m, "get" | "post" | "put" | "patch" | "delete");
                    let thread =
                        receiver(cx, call) == "Thread" && matches!(m, "new" | "start" | "fork");
                    if route || thread || (no_receiver && m == "loop") {
                        return true;
                    }
                }
            }
            "while" | "until" => {
                let forever = if p.kind() == "while" { "true" } else { "false" };
                if Ctx::field(p, "condition").is_some_and(|c| cx.text(c) == forever) {
                    return true;
                }
            }
            _ => {}
        }
        cur = cx.up(p);
    }
    false
}

/// Whether a Ruby file is test code by its name (Minitest's and RSpec's
/// conventions).
fn test_file(name: &str) -> bool {
    matches!(
        name,
        "test_helper.rb" | "spec_helper.rb" | "rails_helper.rb"
    ) || name.ends_with("_test.rb")
        || name.ends_with("_spec.rb")
}

/// Whether a store written at `sites` (named `store`) shows it grows per
/// request, job or message (see `growth`): `Some(None)` when a site is in an
/// entry point or stores outside input, `Some(Some(unless))` when it stores
/// parameters of its method, so the tree must show an entry point calling
/// it, and `None` when nothing shows growth (no finding).
fn growth_evidence<'a>(cx: &Ctx<'a>, sites: &[Node<'a>], store: &str) -> Option<Option<Unless>> {
    let mut through = Vec::new();
    for site in sites {
        if in_entry(cx, *site) || reads_outside_input(&growth_text(cx, *site), store) {
            return Some(None);
        }
        let Some(def) = cx.enclosing(*site, DEF) else {
            continue;
        };
        // The parameters stored: those in a keyed write's key if any (one
        // entry per key), else any the write stores.
        let params = parameter_args(cx, def);
        let stored_in = |n: Node<'a>| {
            std::iter::once(n)
                .chain(cx.desc(n).iter().copied())
                .filter(|i| i.kind() == "identifier")
                .filter_map(|i| params.iter().find(|(p, _)| *p == cx.text(i)))
                .fold(ArgMask::NONE, |m, (_, a)| m.with(*a))
        };
        let in_key = entry(cx, *site).0.map_or(ArgMask::NONE, stored_in);
        let args = if in_key == ArgMask::NONE {
            stored_in(*site)
        } else {
            in_key
        };
        if args == ArgMask::NONE {
            continue;
        }
        // Calls of the bare name, and those only this class's own method
        // can take (`Class#name`).
        let name = def_name(cx, def);
        let qualified = owner(cx, def)
            .and_then(|c| Ctx::field(c, "name"))
            .map(|c| format!("{}#{name}", cx.text(c).rsplit("::").next().unwrap_or("")));
        for method in std::iter::once(name.to_string()).chain(qualified) {
            match through
                .iter_mut()
                .find(|s: &&mut StoredArgs| s.method == method)
            {
                Some(s) => s.args = s.args.with(args),
                None => through.push(StoredArgs { method, args }),
            }
        }
    }
    (!through.is_empty()).then_some(Some(Unless::NotReachedFromEntry { methods: through }))
}

/// What says how many entries a write at `site` adds over time: a keyed
/// write (`@c[k] ||= v`, `store(k, v)`) adds one per distinct key, so only
/// its key counts (a value named `vpc_id` under a region key is still one
/// entry per region); an append or a whole-hash merge adds what it stores;
/// a call with a block (`X.subscribe(name) { |id, request| ... }`), all of
/// it but the block's own parameters: they are what each event hands the
/// block later, not what the call is made with (a request the block
/// captures from the method still is).
fn growth_text<'a>(cx: &Ctx<'a>, site: Node<'a>) -> Cow<'a, str> {
    match entry(cx, site) {
        (Some(key), _) => Cow::Borrowed(cx.text(key)),
        _ => match Ctx::field(site, "block").filter(|_| site.kind() == "call") {
            Some(block) => {
                let mut own = block_parameters(cx, block);
                own.extend(block_locals(cx, site, block));
                if own.is_empty() {
                    return Cow::Borrowed(cx.text(site));
                }
                let base = site.start_byte();
                let mut text = cx.text(site).as_bytes().to_vec();
                for id in cx.desc(block) {
                    if id.kind() == "identifier" && own.contains(&cx.text(*id)) {
                        // What is read from one (`session.id`,
                        // `details[:id]`) is the event's too.
                        let mut read = *id;
                        while let Some(p) = cx.up(read).filter(|p| {
                            matches!(p.kind(), "call" | "element_reference")
                                && p.named_child(0).is_some_and(|c| c.id() == read.id())
                        }) {
                            read = p;
                        }
                        let (a, b) = (read.start_byte() - base, read.end_byte() - base);
                        text[a..b].fill(b'_');
                    }
                }
                Cow::Owned(String::from_utf8(text).unwrap_or_default())
            }
            None => Cow::Borrowed(cx.text(site)),
        },
    }
}

/// The names a block declares as its parameters (`|name, *args, id|`).
fn block_parameters<'a>(cx: &Ctx<'a>, block: Node<'a>) -> Vec<&'a str> {
    let Some(params) = Ctx::field(block, "parameters") else {
        return Vec::new();
    };
    cx.desc(params)
        .iter()
        .filter(|n| n.kind() == "identifier")
        .map(|n| cx.text(*n))
        .collect()
}

/// The variables a block makes for itself: assigned inside it and
/// nowhere else in the method around `site` (Ruby makes them block-local).
/// Like its parameters, they hold what each event hands the block
/// (`session = Session.find(details[:id])`), not what the call was made
/// with.
fn block_locals<'a>(cx: &Ctx<'a>, site: Node<'a>, block: Node<'a>) -> Vec<&'a str> {
    let assigned = |scope: Node<'a>| {
        cx.desc(scope)
            .iter()
            .filter(|a| matches!(a.kind(), "assignment" | "operator_assignment"))
            .filter_map(|a| Ctx::field(*a, "left"))
            .filter(|l| l.kind() == "identifier")
            .map(|l| (cx.text(l), Ctx::inside(l, block)))
            .collect::<Vec<_>>()
    };
    let scope = cx.enclosing(site, DEF).unwrap_or(block);
    let params: Vec<&str> = cx
        .enclosing(site, DEF)
        .map(|d| parameters(cx, d).into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default();
    let all = assigned(scope);
    let mut locals: Vec<&'a str> = all
        .iter()
        .filter(|(name, inside)| {
            *inside && !params.contains(name) && !all.iter().any(|(other, i)| other == name && !i)
        })
        .map(|(name, _)| *name)
        .collect();
    locals.dedup();
    locals
}

/// The last segment of the name of the class or module around `def`.
fn class_name<'a>(cx: &Ctx<'a>, def: Node<'a>) -> Option<String> {
    cx.enclosing(def, &["class", "module"])
        .and_then(|c| Ctx::field(c, "name"))
        .map(|n| cx.text(n).rsplit("::").next().unwrap_or("").to_string())
}

/// Whether code at `n` runs while its file loads: outside any method and
/// lambda, and outside any block except those that run at once, made at
/// load (`instance_methods.each { |m| hide(m) }` in a class body runs once
/// per element as the class is defined; `Devise.with_options(...) do |d|
/// d.add_module ... end` yields immediately).
fn made_at_load<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    // Blocks these calls run at once, while the call is made (iterations,
    // and the configuration helpers that yield immediately).
    const YIELD_NOW: &[&str] = &[
        "each",
        "each_with_index",
        "each_key",
        "each_value",
        "each_pair",
        "map",
        "times",
        "select",
        "reject",
        "each_with_object",
        "with_options",
        "tap",
        "then",
        "class_eval",
        "module_eval",
        "instance_eval",
        "class_exec",
        "module_exec",
        "instance_exec",
    ];
    let mut cur = cx.enclosing(n, FN);
    while let Some(f) = cur {
        let iteration = matches!(f.kind(), "block" | "do_block")
            && cx
                .up(f)
                .filter(|c| c.kind() == "call")
                .is_some_and(|c| YIELD_NOW.contains(&method_name(cx, c)));
        if !iteration {
            return false;
        }
        cur = cx.enclosing(f, FN);
    }
    true
}

/// The finding at `site` stands unless its method is only ever called while
/// files load (a class-definition DSL or a boot step): see
/// [`Unless::OnlyCalledAtLoad`]. None outside a method.
fn unless_only_called_at_load<'a>(cx: &Ctx<'a>, sites: &[Node<'a>]) -> Option<Unless> {
    let mut methods = Vec::new();
    for site in sites {
        let def = cx.enclosing(*site, DEF)?;
        let takes_args = Ctx::field(def, "parameters").is_some_and(|p| p.named_child_count() > 0);
        let m = MethodRef {
            class: class_name(cx, def),
            name: def_name(cx, def).to_string(),
            takes_args,
        };
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    (!methods.is_empty()).then_some(Unless::OnlyCalledAtLoad { methods })
}

/// A value that is a constant looked up by name (`Object.const_get(name)`,
/// `type.constantize`, the last expression of a `begin` block, possibly
/// under a modifier `if`): the keys range over the constants the program
/// defines. A value merely built with one (`type.constantize.find(id)`) is
/// not.
fn constant_lookup<'a>(cx: &Ctx<'a>, value: Node<'a>) -> bool {
    let mut v = value;
    loop {
        v = match v.kind() {
            "begin" | "parenthesized_statements" | "body_statement" => {
                match v.named_child(v.named_child_count().saturating_sub(1)) {
                    Some(last) => last,
                    None => return false,
                }
            }
            "if_modifier" | "unless_modifier" => match Ctx::field(v, "body") {
                Some(b) => b,
                None => return false,
            },
            _ => break,
        };
    }
    v.kind() == "call"
        && matches!(
            method_name(cx, v),
            "const_get" | "constantize" | "safe_constantize"
        )
}

/// Methods that run once per class or process (hooks and registration).
fn once_def(name: &str) -> bool {
    runs_once(name)
        || matches!(
            name,
            "inherited" | "included" | "extended" | "prepended" | "method_added" | "configure"
        )
}

/// Whether a method is a start-up step whose calls run a fixed number of
/// times. Not `initialize`: it runs once per instance, and instances may
/// be made per request.
fn start_up_step(name: &str) -> bool {
    name != "initialize" && once_def(name)
}

/// Whether code at `n` runs repeatedly: inside a method not named like a
/// one-time step, or in a route block (`get '/x' do ... end`).
fn repeated<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Option<&'a str> {
    if let Some(def) = cx.enclosing(n, DEF) {
        let name = def_name(cx, def);
        return (!once_def(name)).then_some(name);
    }
    let mut cur = cx.enclosing(n, FN);
    while let Some(b) = cur {
        if let Some(call) = cx.up(b).filter(|c| c.kind() == "call") {
            let m = method_name(cx, call);
            if matches!(
                m,
                "get" | "post" | "put" | "patch" | "delete" | "before" | "after"
            ) && Ctx::field(call, "receiver").is_none()
            {
                return Some(m);
            }
        }
        cur = cx.enclosing(b, FN);
    }
    None
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Map,
    AutoMap,
    Seq,
}

fn shape_of<'a>(cx: &Ctx<'a>, v: Node<'a>) -> Option<Shape> {
    match v.kind() {
        "hash" => Some(Shape::Map),
        "array" if v.named_child_count() == 0 => Some(Shape::Seq),
        "call" => {
            let recv = receiver(cx, v);
            if method_name(cx, v) != "new" {
                return None;
            }
            match recv {
                "Hash" | "Concurrent::Map" | "Concurrent::Hash" => {
                    let block = Ctx::field(v, "block");
                    let fills = block.is_some_and(|b| {
                        cx.desc(b).iter().any(|d| {
                            d.kind() == "assignment"
                                && Ctx::field(*d, "left")
                                    .is_some_and(|l| l.kind() == "element_reference")
                        })
                    });
                    Some(if fills { Shape::AutoMap } else { Shape::Map })
                }
                "Array" | "Set" | "Concurrent::Array" | "Concurrent::Set" => Some(Shape::Seq),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A long-lived container: its name as written, its shape, the declaring
/// node, and what kind of binding it is.
struct Container<'a> {
    name: &'a str,
    shape: Shape,
    decl: Node<'a>,
    what: &'static str,
}

/// Whether `self` at `n` is one object kept for the process: code in a
/// module or class body, a `def self.x`, a `class << self`, a class with
/// `include Singleton` or `extend self`, or a module's method made a module
/// method (`extend self`, `module_function`). A module's plain instance
/// methods are a mixin's: their `@ivars` belong to each object that
/// includes the module.
fn singleton_scope<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    let mut method: Option<Node<'a>> = None;
    let mut cur = cx.up(n);
    while let Some(p) = cur {
        match p.kind() {
            "singleton_class" | "singleton_method" => return true,
            "method" if method.is_none() => method = Some(p),
            "module" => return method.is_none_or(|m| module_method(cx, p, m)),
            "class" => {
                let t = cx.text(p);
                return t.contains("include Singleton") || t.contains("extend self");
            }
            _ => {}
        }
        cur = cx.up(p);
    }
    false
}

/// Whether instance method `def` of `module` is also a module method:
/// the module does `extend self`, or a bare `module_function` comes before
/// it, or `module_function :name` names it.
fn module_method<'a>(cx: &Ctx<'a>, module: Node<'a>, def: Node<'a>) -> bool {
    let name = def_name(cx, def);
    let body = Ctx::field(module, "body").unwrap_or(module);
    let mut cur = body.walk();
    let stmts: Vec<Node> = body.named_children(&mut cur).collect();
    stmts.into_iter().any(|s| match s.kind() {
        "identifier" => cx.text(s) == "module_function" && s.start_byte() < def.start_byte(),
        "call" => {
            let m = method_name(cx, s);
            let args = Ctx::field(s, "arguments").map(|a| cx.text(a)).unwrap_or("");
            let args = args.trim_matches(['(', ')', ' ']);
            (m == "extend" && args == "self")
                || (m == "module_function"
                    && args
                        .split(',')
                        .any(|a| a.trim().trim_start_matches(':') == name))
        }
        _ => false,
    })
}

/// The class or module (node id) an instance variable named `name`,
/// written at `at`, belongs to: each class has its own `@rules`. None for
/// other stores (class variables, globals, constants), which are the
/// file's.
fn ivar_home<'a>(cx: &Ctx<'a>, name: &str, at: Node<'a>) -> Option<usize> {
    if !name.starts_with('@') || name.starts_with("@@") {
        return None;
    }
    owner(cx, at).map(|o| o.id())
}

fn find_containers<'a>(cx: &Ctx<'a>) -> Vec<Container<'a>> {
    let mut out: Vec<Container> = Vec::new();
    // One store per name, and for an instance variable per class or
    // module too (each has its own `@rules`).
    let mut seen: HashSet<(&str, Option<usize>)> = HashSet::new();
    let mut push = |c: Container<'a>| {
        if seen.insert((c.name, ivar_home(cx, c.name, c.decl))) {
            out.push(c);
        }
    };
    for kind in ["assignment", "operator_assignment"] {
        for a in cx.all(kind) {
            let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
                continue;
            };
            let Some(shape) = shape_of(cx, r) else {
                continue;
            };
            let in_def = cx.enclosing(a, DEF).is_some();
            let what = match l.kind() {
                "constant" if !in_def => "constant",
                "class_variable" => "class variable",
                "global_variable" => "global",
                // `@x = {}` in a class body or in a singleton's methods
                // (memoized with `||=`) lives as long as the process.
                "instance_variable"
                    if (!in_def && cx.enclosing(a, &["class", "module"]).is_some())
                        || (kind == "operator_assignment" && singleton_scope(cx, a)) =>
                {
                    "singleton instance variable"
                }
                _ => continue,
            };
            push(Container {
                name: cx.text(l),
                shape,
                decl: a,
                what,
            });
        }
    }
    out
}

#[derive(Default)]
struct Uses<'a> {
    adds: Vec<(Node<'a>, &'a str)>,
    lookups: usize,
    removes: usize,
    escapes: usize,
}

const ADD: &[&str] = &[
    "push",
    "append",
    "unshift",
    "prepend",
    "<<",
    "add",
    "add?",
    "store",
    "merge!",
    "update",
    "insert",
    "concat",
    "compute_if_absent",
    "put_if_absent",
];
const REMOVE: &[&str] = &[
    "delete",
    "delete_if",
    "reject!",
    "shift",
    "pop",
    "clear",
    "keep_if",
    "select!",
    "filter!",
    "slice!",
    "compact!",
    "replace",
    "size",
    "length",
    "count",
    "empty?",
    "delete_at",
    "drop",
];
const LOOKUP: &[&str] = &[
    "key?", "has_key?", "include?", "member?", "fetch", "[]", "dig",
];

fn classify<'a>(cx: &Ctx<'a>, u: Node<'a>, uses: &mut Uses<'a>) {
    let Some(p) = cx.up(u) else { return };
    let place = repeated(cx, u);
    let add = |uses: &mut Uses<'a>, site: Node<'a>| {
        if let Some(f) = place {
            uses.adds.push((site, f));
        }
    };
    match p.kind() {
        "call" if Ctx::field(p, "receiver").is_some_and(|r| r.id() == u.id()) => {
            let m = method_name(cx, p);
            if ADD.contains(&m) {
                add(uses, p);
            } else if REMOVE.contains(&m) || cx.opts.release_methods.iter().any(|r| r == m) {
                uses.removes += 1;
            } else if LOOKUP.contains(&m) {
                uses.lookups += 1;
            }
        }
        "binary"
            if Ctx::field(p, "left").is_some_and(|l| l.id() == u.id())
                && cx.text(p)[cx.text(u).len()..]
                    .trim_start()
                    .starts_with("<<") =>
        {
            add(uses, p);
        }
        "element_reference" if Ctx::field(p, "object").is_some_and(|o| o.id() == u.id()) => {
            let g = cx.up(p);
            let assigned = g.is_some_and(|g| {
                matches!(g.kind(), "assignment" | "operator_assignment")
                    && Ctx::field(g, "left").is_some_and(|l| l.id() == p.id())
            });
            if assigned {
                add(uses, g.unwrap_or(p));
                if g.is_some_and(|g| g.kind() == "operator_assignment") {
                    uses.lookups += 1; // `@c[k] ||= v` looks up first
                }
            } else {
                uses.lookups += 1;
            }
        }
        "assignment" | "operator_assignment" => {
            if Ctx::field(p, "left").is_some_and(|l| l.id() == u.id()) {
                if cx.enclosing(p, DEF).is_some() && p.kind() == "assignment" {
                    uses.removes += 1; // reset: `@@seen = []`
                }
            } else {
                uses.escapes += 1;
            }
        }
        "argument_list" | "return" | "array" | "pair" => uses.escapes += 1,
        _ => {}
    }
}

fn containers(cx: &mut Ctx) {
    let found = find_containers(cx);
    for c in found {
        if cx.expired() {
            break;
        }
        let kind = match c.name.chars().next() {
            Some('@') if c.name.starts_with("@@") => "class_variable",
            Some('@') => "instance_variable",
            Some('$') => "global_variable",
            _ => "constant",
        };
        let mut uses = Uses::default();
        if c.shape == Shape::AutoMap {
            uses.lookups += 1;
        }
        // An instance variable is its own class's or module's: another
        // class of the file (`AccessControl::Mapper`'s `@permissions`
        // beside the module's own) has a store of its own.
        let home = ivar_home(cx, c.name, c.decl);
        for u in cx.named_in(cx.root, kind, c.name) {
            if Ctx::inside(u, c.decl)
                && Ctx::field(c.decl, "left").is_some_and(|l| l.id() == u.id())
            {
                continue;
            }
            if home.is_some() && owner(cx, u).map(|o| o.id()) != home {
                continue;
            }
            if c.shape == Shape::AutoMap {
                // Every lookup of an auto-filling hash adds a key.
                if let Some(p) = cx.up(u).filter(|p| p.kind() == "element_reference") {
                    if let Some(f) = repeated(cx, p) {
                        uses.adds.push((p, f));
                    }
                    continue;
                }
            }
            classify(cx, u, &mut uses);
        }
        // Registration APIs (`def after_fork_hook(&blk) = @@hooks << blk`):
        // what is stored is the caller's, and the caller decides how often.
        uses.adds.retain(|(site, _)| !stores_parameter(cx, *site));
        // Entries whose key ranges over a bounded domain (a value's class or
        // encoding, a Symbol written in code), whose value is the content of
        // the file the key names, or that a configuration API registers
        // (the value is the caller's other argument) do not grow with
        // traffic.
        let auto_reads_file = c.shape == Shape::AutoMap && auto_fill_reads_file(cx, c.decl);
        uses.adds.retain(|(site, _)| {
            let (key, value) = entry(cx, *site);
            let bounded = key.is_some_and(|k| {
                type_key(cx, k)
                    || symbol_default_param(cx, *site, k)
                    || value.is_some_and(|v| reads_file_at(cx, v, k) || constant_lookup(cx, v))
                    || (site.kind() == "element_reference" && auto_reads_file)
            });
            !bounded
                && !registers_parameter(cx, *site, c.name, key, value)
                && !rebuilt_after_reset(cx, *site, c.name)
        });
        if uses.adds.is_empty() || uses.removes > 0 || uses.escapes > 0 {
            continue;
        }
        let (site, fname) = uses.adds[0];
        let sites: Vec<Node> = uses.adds.iter().map(|(s, _)| *s).collect();
        let Some(unreached) = growth_evidence(cx, &sites, c.name) else {
            continue;
        };
        let unless = Unless::either(unless_only_called_at_load(cx, &sites), unreached);
        // A constant store may be emptied by another file of the tree.
        let cleared = c
            .name
            .starts_with(|ch: char| ch.is_ascii_uppercase())
            .then(|| Unless::ClearedInTree {
                class: String::new(),
                store: c.name.rsplit("::").next().unwrap_or(c.name).to_string(),
            });
        let unless = Unless::either(unless, cleared);
        let is_map = c.shape != Shape::Seq;
        let lname = c.name.to_ascii_lowercase();
        if is_map && (uses.lookups > 0 || lname.contains("cache") || lname.contains("memo")) {
            cx.hit_unless(
                Rule::UnboundedCache,
                site,
                format!("{} `{}` is used as a cache in `{fname}`: one entry per distinct key, kept for the life of the process, and nothing ever deletes, clears or checks its size", c.what, c.name),
                "bound it: an LRU (e.g. `ActiveSupport::Cache::MemoryStore.new(size: ...)` or the lru_redux gem), `delete` stale keys, or clear it when `size` passes a limit",
                unless,
            );
        } else {
            cx.hit_unless(
                Rule::GlobalAccumulator,
                site,
                format!("{} `{}` only grows: `{fname}` adds to it and nothing removes from, clears or bounds it", c.what, c.name),
                "cap it (drop the oldest when `size` passes a limit), drain it after use, or keep it per request",
                unless,
            );
        }
    }
}

/// `ActiveSupport::Notifications.subscribe` (or another long-lived
/// emitter's `subscribe`/`on`/`add_observer`) in code that runs per request.
fn subscriptions(cx: &mut Ctx) {
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let m = method_name(cx, call);
        if !matches!(
            m,
            "subscribe" | "on" | "add_observer" | "add_listener" | "monitor"
        ) {
            continue;
        }
        let target = receiver(cx, call);
        let long_lived = target.starts_with(|c: char| c.is_ascii_uppercase())
            || target.starts_with("$")
            || target.starts_with("@@")
            || cx.opts.listener_targets.iter().any(|t| t == target);
        if !long_lived || target.is_empty() {
            continue;
        }
        let Some(place) = repeated(cx, call) else {
            continue;
        };
        // A wrapper API (`def monitor(actor) = Actor.monitor(actor)`): the
        // caller decides how often, and what is subscribed is the caller's.
        let passes_parameter = hands_on_parameter(cx, call);
        if passes_parameter {
            continue;
        }
        // `@sub = X.subscribe(...)`: the handle is kept for unsubscribing.
        if cx
            .up(call)
            .is_some_and(|p| matches!(p.kind(), "assignment" | "operator_assignment"))
        {
            continue;
        }
        let removed = [
            "unsubscribe",
            "delete_observer",
            "remove_listener",
            "off",
            "delete_observers",
        ]
        .iter()
        .any(|r| mentions(cx.src, &format!("{target}.{r}")));
        if removed {
            continue;
        }
        let Some(unreached) = growth_evidence(cx, &[call], target) else {
            continue;
        };
        let unless = Unless::either(unless_only_called_at_load(cx, &[call]), unreached);
        cx.hit_unless(
            Rule::ListenerLeak,
            call,
            format!("`{target}.{m}` in `{place}` adds one more subscriber to the process-wide `{target}` every time it runs and none is ever removed; each keeps its block (and what it captures) alive"),
            "subscribe once at boot (an initializer), keep the handle and `unsubscribe` it, or use `ActiveSupport::Notifications.subscribed(callback, name) { ... }` for a scoped subscription",
            unless,
        );
    }
}

/// A block that loops forever: `loop do`, `while true`, `until false` with
/// no break, return, raise, throw or exit inside.
fn loops_forever<'a>(cx: &Ctx<'a>, body: Node<'a>) -> bool {
    // A loop inside a block handed to `fork` (or another thread) runs
    // there, not in this block.
    let elsewhere = |n: Node<'a>| {
        let mut cur = cx.up(n);
        while let Some(p) = cur {
            if p.id() == body.id() {
                return false;
            }
            if p.kind() == "call"
                && matches!(method_name(cx, p), "fork" | "spawn" | "new" | "start")
                && matches!(receiver(cx, p), "" | "Process" | "Kernel" | "Thread")
                && Ctx::field(p, "block").is_some_and(|b| Ctx::inside(n, b))
            {
                return true;
            }
            cur = cx.up(p);
        }
        false
    };
    let infinite: Vec<Node> = cx
        .desc(body)
        .iter()
        .copied()
        .filter(|n| !elsewhere(*n))
        .filter(|n| match n.kind() {
            "call" => {
                method_name(cx, *n) == "loop"
                    && Ctx::field(*n, "receiver").is_none()
                    && Ctx::field(*n, "block").is_some()
            }
            "while" => Ctx::field(*n, "condition").is_some_and(|c| c.kind() == "true"),
            "until" => Ctx::field(*n, "condition").is_some_and(|c| c.kind() == "false"),
            _ => false,
        })
        .collect();
    infinite.into_iter().any(|l| {
        !cx.desc(l).iter().any(|d| match d.kind() {
            "break" | "return" => true,
            "call" | "identifier" => matches!(
                cx.text(*d).split(['(', ' ']).next().unwrap_or(""),
                "raise" | "throw" | "exit" | "exit!" | "abort" | "Thread.exit"
            ),
            _ => false,
        })
    })
}

fn threads(cx: &mut Ctx) {
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let recv = receiver(cx, call);
        let m = method_name(cx, call);
        if !(matches!(
            recv,
            "Thread" | "Concurrent::Future" | "Concurrent::Promise"
        ) && matches!(m, "new" | "start" | "fork" | "execute"))
        {
            continue;
        }
        let Some(place) = repeated(cx, call) else {
            continue;
        };
        let Some(block) = Ctx::field(call, "block") else {
            continue;
        };
        // Kept in a variable or attribute that is killed or joined
        // (`t.kill`, `@@thread.kill` in `stop`, `self.main.join`), also
        // when a helper method starts it and its callers keep what it
        // returns (`@workers[i] = spawn_worker`).
        let kept = kept_as(cx, call);
        let stopped = kept.iter().any(|name| stopped_by_name(cx.src, name));
        // `return if @thread&.alive?` before `@thread = Thread.new { ... }`
        // (or `unless @thread&.alive?` on it): like `||=`, at most one
        // live thread per holder.
        let alive_guarded = cx.enclosing(call, DEF).is_some_and(|def| {
            let body = cx.text(def);
            kept.iter().any(|name| {
                mentions(body, &format!("{name}&.alive?"))
                    || mentions(body, &format!("{name}.alive?"))
            })
        });
        // `@worker ||= Thread.new { loop { ... } }` starts it at most once
        // per holder: the one worker the hint asks for.
        let memoized = cx
            .up(call)
            .filter(|p| p.kind() == "operator_assignment")
            .and_then(|a| Ctx::field(a, "left"))
            .is_some_and(|l| cx.src[l.end_byte()..call.start_byte()].trim() == "||=");
        // `def daemon(&f) Thread.new { loop { f.call } } end`: a helper that
        // runs whatever its callers hand it; they decide how often.
        let runs_callers_block = cx.enclosing(call, DEF).is_some_and(|def| {
            let body = cx.text(block);
            cx.desc(block).iter().any(|n| n.kind() == "yield")
                || parameters(cx, def).into_iter().any(|(name, _)| {
                    let name = name.trim_start_matches(['&', '*']);
                    mentions(body, &format!("{name}.call")) || mentions(body, &format!("{name}.()"))
                })
        });
        if loops_forever(cx, block)
            && !stopped
            && !memoized
            && !alive_guarded
            && !runs_callers_block
        {
            let unless = unless_only_called_at_load(cx, &[call]);
            cx.hit_unless(
                Rule::UnstoppableTask,
                call,
                format!("`{place}` starts a thread that loops forever with no exit: one more live thread (and everything its block references) per call"),
                "start one worker at boot, or loop `until @stopping` / break on a queue's close, and join it",
                unless,
            );
        }
    }
}

/// Where the thread started by `call` is kept: the left side of the
/// assignment it is the value of, or, when it is what its method returns,
/// the left side of every assignment of that method's result in the file
/// (`@worker = start_reader(c, q)`, `@workers[i] = spawn_worker`).
fn kept_as<'a>(cx: &Ctx<'a>, call: Node<'a>) -> Vec<&'a str> {
    let left_of = |value: Node<'a>| {
        cx.up(value)
            .filter(|p| matches!(p.kind(), "assignment" | "operator_assignment"))
            .filter(|a| Ctx::field(*a, "right").is_some_and(|r| r.id() == value.id()))
            .and_then(|a| Ctx::field(a, "left"))
            .map(|l| cx.text(l))
    };
    if let Some(name) = left_of(call) {
        return vec![name];
    }
    let Some(def) = cx.enclosing(call, DEF).filter(|_| returned_value(cx, call)) else {
        return Vec::new();
    };
    let method = def_name(cx, def);
    if method.is_empty() {
        return Vec::new();
    }
    let mut kept = Vec::new();
    for kind in ["assignment", "operator_assignment"] {
        for a in cx.all(kind) {
            let Some(right) = Ctx::field(a, "right") else {
                continue;
            };
            let called = cx.text(right).trim_start_matches("self.");
            let calls_it = called
                .strip_prefix(method)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['(', ' ']));
            if calls_it {
                if let Some(l) = Ctx::field(a, "left") {
                    kept.push(cx.text(l));
                }
            }
        }
    }
    kept
}

/// Whether the thread kept as `name` is stopped somewhere in `src`:
/// `@thread.kill`, `@thread&.exit`, through an attribute's reader
/// (`self.tick = Thread.new ...`, then `tick.kill`), or, kept as an element
/// of a collection (`@workers[i]`), in a pass over it that stops each one
/// (`@workers.each { |t| t&.exit }`, `@workers.each(&:kill)`).
fn stopped_by_name(src: &str, name: &str) -> bool {
    const STOPS: [&str; 5] = ["kill", "exit", "terminate", "join", "shutdown"];
    let bare = name.trim_start_matches("self.").trim_start_matches('@');
    let reader = !bare.is_empty() && bare != name && bare.chars().all(super::is_ident_char);
    let direct = STOPS.iter().any(|s| {
        [".", "&."].iter().any(|dot| {
            mentions(src, &format!("{name}{dot}{s}"))
                || (reader && mentions(src, &format!("{bare}{dot}{s}")))
        })
    });
    if direct {
        return true;
    }
    let Some((collection, _)) = name.split_once('[') else {
        return false;
    };
    if collection.is_empty() {
        return false;
    }
    let pass = format!("{collection}.each");
    src.match_indices(&pass).any(|(at, _)| {
        // The pass's block only: `(&:kill)`, `{ ... }` to its brace, or
        // `do ... end` to its first line that is `end` alone.
        let rest = src[at + pass.len()..].trim_start();
        let block = if let Some(sym) = rest.strip_prefix("(&:") {
            return STOPS.iter().any(|s| sym.starts_with(&format!("{s})")));
        } else if rest.starts_with('{') {
            rest.split('}').next().unwrap_or("")
        } else if rest.starts_with("do") {
            let end = rest
                .match_indices('\n')
                .map(|(i, _)| i)
                .find(|&i| {
                    rest[i + 1..]
                        .lines()
                        .next()
                        .is_some_and(|l| l.trim() == "end")
                })
                .unwrap_or(rest.len());
            &rest[..end]
        } else {
            ""
        };
        STOPS
            .iter()
            .any(|s| block.contains(&format!(".{s}")) || block.contains(&format!("&.{s}")))
    })
}

const FILE_OPENERS: &[(&str, &str)] = &[
    ("File", "open"),
    ("File", "new"),
    ("IO", "popen"),
    ("TCPSocket", "new"),
    ("TCPSocket", "open"),
    ("UNIXSocket", "new"),
    ("Socket", "tcp"),
    ("Zlib::GzipReader", "open"),
    ("Zlib::GzipWriter", "open"),
];
const CONN_OPENERS: &[(&str, &str)] = &[
    ("PG", "connect"),
    ("PG::Connection", "new"),
    ("PG::Connection", "open"),
    ("PG::Connection", "connect"),
    ("Mysql2::Client", "new"),
    ("Redis", "new"),
    ("SQLite3::Database", "new"),
    ("SQLite3::Database", "open"),
    ("Sequel", "connect"),
    ("Net::HTTP", "start"),
    ("Bunny", "new"),
    ("Net::FTP", "new"),
    ("Net::FTP", "open"),
];
const CLOSERS: &[&str] = &[
    "close",
    // A file (not a duplex pipe) opened for writing is closed by it.
    "close_write",
    "finish",
    "disconnect",
    "disconnect!",
    "quit",
    "shutdown",
];
/// Calls that use an open file or connection without taking it over.
const CONSUMERS: &[&str] = &[
    "puts",
    "p",
    "print",
    "pp",
    "JSON.parse",
    "JSON.load",
    "CSV.new",
    "Marshal.load",
    "YAML.load",
    "IO.copy_stream",
    "logger.info",
    "logger.debug",
];

/// Whether local `name` in `scope` is closed, returned or handed on.
fn released<'a>(cx: &Ctx<'a>, scope: Node<'a>, name: &str, after: usize) -> bool {
    cx.named_in(scope, "identifier", name).into_iter().any(|u| {
        let Some(p) = cx.up(u) else { return false };
        if p.kind() == "call" && Ctx::field(p, "receiver").is_some_and(|r| r.id() == u.id()) {
            return CLOSERS.contains(&method_name(cx, p));
        }
        if u.start_byte() <= after {
            return false;
        }
        match p.kind() {
            "argument_list" => {
                let callee = cx.up(p).filter(|c| c.kind() == "call").map(|c| {
                    let r = receiver(cx, c);
                    let m = method_name(cx, c);
                    if r.is_empty() {
                        m.to_string()
                    } else {
                        format!("{r}.{m}")
                    }
                });
                !callee.is_some_and(|c| CONSUMERS.contains(&c.as_str()))
            }
            "return" | "array" | "pair" | "hash" => true,
            "assignment" | "operator_assignment" => {
                Ctx::field(p, "right").is_some_and(|r| r.id() == u.id())
            }
            // `files << f`: kept in a collection its owner closes.
            "binary"
                if Ctx::field(p, "right").is_some_and(|r| r.id() == u.id())
                    && Ctx::field(p, "left").is_some_and(|l| {
                        cx.text(p)[cx.text(l).len()..]
                            .trim_start()
                            .starts_with("<<")
                    }) =>
            {
                true
            }
            // `f << line` is `f` again (IO#<< returns its receiver): a
            // method ending in `f << "..."` returns the file.
            "binary" if Ctx::field(p, "left").is_some_and(|l| l.id() == u.id()) => {
                let mut chain = p;
                while let Some(outer) = cx.up(chain).filter(|o| {
                    o.kind() == "binary"
                        && Ctx::field(*o, "left").is_some_and(|l| l.id() == chain.id())
                }) {
                    chain = outer;
                }
                let appends = |b: Node<'a>| {
                    Ctx::field(b, "left").is_some_and(|l| {
                        cx.text(b)[cx.text(l).len()..]
                            .trim_start()
                            .starts_with("<<")
                    })
                };
                appends(p) && appends(chain) && returned_value(cx, chain)
            }
            _ => returned_value(cx, u),
        }
    })
}

/// Whether `n` is what its method returns: the last expression of the
/// body, or of a branch (`if`, `unless`, `case`, `begin`) that is.
fn returned_value<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    // A body's `rescue` and `ensure` clauses come after its value: the
    // method returns the last expression before them.
    let last_named = |p: Node<'a>| {
        (0..p.named_child_count())
            .rev()
            .filter_map(|i| p.named_child(i))
            .find(|c| !matches!(c.kind(), "comment" | "rescue" | "ensure"))
    };
    let mut n = n;
    while let Some(p) = cx.up(n) {
        let tail = match p.kind() {
            "method" | "singleton_method" => {
                return Ctx::field(p, "body").is_some_and(|b| b.id() == n.id())
                    || last_named(p).is_some_and(|l| l.id() == n.id());
            }
            "body_statement" | "then" | "else" | "begin" | "parenthesized_statements" | "when" => {
                last_named(p).is_some_and(|l| l.id() == n.id())
            }
            "if" | "unless" | "elsif" => ["consequence", "alternative"]
                .iter()
                .any(|f| Ctx::field(p, f).is_some_and(|b| b.id() == n.id())),
            "case" => n.kind() == "when" || n.kind() == "else",
            _ => false,
        };
        if !tail {
            return false;
        }
        n = p;
    }
    false
}

fn opened(cx: &mut Ctx) {
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        // `::File` is the core class wherever it is written.
        let written = receiver(cx, call);
        let recv = written.strip_prefix("::").unwrap_or(written);
        let m = method_name(cx, call);
        let file = FILE_OPENERS.contains(&(recv, m));
        let conn = CONN_OPENERS.contains(&(recv, m));
        if (!file && !conn) || takes_block(call) {
            continue; // the block form closes it
        }
        let Some(def) = cx.enclosing(call, DEF) else {
            continue;
        };
        // `File` inside `module FakeFS` may be the tree's own `FakeFS::File`.
        let candidates = if written.starts_with("::") {
            Vec::new()
        } else {
            lexical_candidates(cx, call, recv)
        };
        let own = (!candidates.is_empty()).then_some(Unless::OwnConstant { candidates });
        // `File.open(p, 'w').binmode` is still the file (`binmode` and
        // `set_encoding` return their receiver, and so does a `tap` whose
        // result is kept: `@log = File.open(p, 'a').tap { |f| f.sync = true
        // }`): follow it to where it goes.
        let mut inner = call;
        let mut parent = cx.up(call);
        while let Some(p) = parent.filter(|p| {
            p.kind() == "call"
                && Ctx::field(*p, "receiver").is_some_and(|r| r.id() == inner.id())
                && match method_name(cx, *p) {
                    "binmode" | "set_encoding" => true,
                    "tap" => assigned_through_branches(cx, *p),
                    _ => false,
                }
        }) {
            inner = p;
            parent = cx.up(p);
        }
        // `File.open(p).read`: opened, read, never closed.
        if let Some(outer) = parent.filter(|p| {
            p.kind() == "call" && Ctx::field(*p, "receiver").is_some_and(|r| r.id() == inner.id())
        }) {
            let use_m = method_name(cx, outer);
            if file && !CLOSERS.contains(&use_m) {
                cx.hit_unless(
                    Rule::UnclosedResource,
                    call,
                    format!("`{recv}.{m}(...).{use_m}` opens a file and never closes it: the descriptor stays open until garbage collection"),
                    "use the block form (`File.open(path) { |f| f.read }`) or `File.read(path)`",
                    own,
                );
            }
            continue;
        }
        let Some(asg) = parent.filter(|p| p.kind() == "assignment") else {
            continue;
        };
        let Some(l) = Ctx::field(asg, "left").filter(|l| l.kind() == "identifier") else {
            continue; // stored in @ivar or elsewhere: owned by that object
        };
        let name = cx.text(l);
        if released(cx, def, name, asg.end_byte()) {
            continue;
        }
        if conn {
            cx.hit_unless(
                Rule::UnreleasedConnection,
                asg,
                format!("connection `{name}` from `{recv}.{m}` is never closed: each call leaks a socket and the server-side session"),
                &format!("use the block form (`{recv}.{m}(...) {{ |{name}| ... }}`) or `{name}.close` in `ensure`"),
                own,
            );
        } else {
            cx.hit_unless(
                Rule::UnclosedResource,
                asg,
                format!("`{name}` from `{recv}.{m}` is never closed: the descriptor and its buffers stay open until garbage collection"),
                &format!("use the block form (`{recv}.{m}(...) {{ |{name}| ... }}`) or `{name}.close` in `ensure`"),
                own,
            );
        }
    }
}

/// Whether a value ends up assigned: its parent is an assignment, or it is
/// the last statement of a branch of an `if`/`unless`/`case`/ternary (or of
/// a `begin` or parentheses) whose value is assigned (`@io ||= if path then
/// File.open(path, 'a').tap { ... } else $stdout end`). A branch's value
/// that is not its last statement, or a condition, is dropped.
fn assigned_through_branches<'a>(cx: &Ctx<'a>, value: Node<'a>) -> bool {
    let mut cur = value;
    while let Some(p) = cx.up(cur) {
        match p.kind() {
            "assignment" | "operator_assignment" => {
                return Ctx::field(p, "right").is_some_and(|r| r.id() == cur.id());
            }
            "then" | "else" | "begin" | "parenthesized_statements" | "when" | "in_clause" => {
                let last = (0..p.named_child_count())
                    .rev()
                    .filter_map(|i| p.named_child(i))
                    .find(|c| c.kind() != "comment");
                if last.is_none_or(|l| l.id() != cur.id()) {
                    return false;
                }
            }
            "if" | "unless" | "elsif" | "conditional" | "case" | "case_match" => {
                if Ctx::field(p, "condition").is_some_and(|c| c.id() == cur.id())
                    || Ctx::field(p, "value").is_some_and(|c| c.id() == cur.id())
                {
                    return false;
                }
            }
            _ => return false,
        }
        cur = p;
    }
    false
}

/// ActiveRecord relations iterated whole; raw SQL reading a whole table.
/// Whether an `all(...)` call's conditions bound what it returns
/// (DataMapper's `Author.all(:sublet_id => s.id)`, `all(limit: 10)`): an
/// equality on a column, or a limit. Query options (`:order`, `:fields`)
/// and operators (`:created_at.gte => t`) bound nothing.
fn conditions_bound<'a>(cx: &Ctx<'a>, all: Node<'a>) -> bool {
    const OPTIONS: &[&str] = &["order", "fields", "offset", "unique", "links", "reload"];
    let Some(args) = Ctx::field(all, "arguments") else {
        return false;
    };
    std::iter::once(args)
        .chain(cx.desc(args).iter().copied())
        .filter(|n| n.kind() == "pair")
        .filter_map(|p| Ctx::field(p, "key"))
        .filter(|k| matches!(k.kind(), "simple_symbol" | "hash_key_symbol"))
        .any(|k| {
            let name = cx.text(k).trim_start_matches(':').trim_end_matches(':');
            !OPTIONS.contains(&name)
        })
}

/// Whether `all` is asked for kinds of things (`Registry.all(:puppet_class)`,
/// `Registry.all(*types)`, `all('task')`): an ORM's `all` takes no
/// positional argument (ActiveRecord, Sequel, Mongoid) or a hash of
/// conditions (DataMapper), so this is a registry's or a library's own.
fn asks_for_kinds(all: Node) -> bool {
    let Some(args) = Ctx::field(all, "arguments") else {
        return false;
    };
    let mut cur = args.walk();
    let given: Vec<Node> = args.named_children(&mut cur).collect();
    !given.is_empty()
        && given.iter().all(|a| {
            matches!(
                a.kind(),
                "simple_symbol" | "delimited_symbol" | "string" | "splat_argument"
            )
        })
}

fn results(cx: &mut Ctx) {
    const ITER: &[&str] = &[
        "each",
        "map",
        "collect",
        "each_with_index",
        "each_with_object",
        "to_a",
        "select",
        "reject",
        "flat_map",
        "group_by",
        "index_by",
        "sort_by",
        "inject",
        "reduce",
        "sum",
        "filter_map",
        "load",
        "entries",
    ];
    const NOT_MODELS: &[&str] = &[
        "File",
        "Dir",
        "ENV",
        "Array",
        "Hash",
        "Set",
        "IO",
        "Thread",
        "ObjectSpace",
        "Process",
        "Struct",
        "Time",
        "Date",
        "JSON",
        "YAML",
        "CSV",
        "Rails",
    ];
    // Job libraries' own API classes whose `all` lists the queues, workers
    // or schedule entries in Redis (a handful, set by configuration), not
    // the rows of a table: Sidekiq's `Queue.all` is one object per queue
    // name, sidekiq-cron's `Job.all` one per configured schedule, Resque's
    // `Worker.all` one per worker process.
    const LIBRARY_LISTS: &[&str] = &["Sidekiq::Queue", "Sidekiq::Cron::Job", "Resque::Worker"];
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let m = method_name(cx, call);
        let Some(recv) = Ctx::field(call, "receiver") else {
            continue;
        };
        let chain = cx.text(recv);
        if ITER.contains(&m)
            && recv.kind() == "call"
            && method_name(cx, recv) == "all"
            && repeated(cx, call).is_some()
            && !fills_process_memo_only(cx, call)
        {
            let model = receiver(cx, recv);
            let root = model.split(['.', '(']).next().unwrap_or("");
            if root.starts_with(|c: char| c.is_ascii_uppercase())
                && !NOT_MODELS.contains(&root)
                && !LIBRARY_LISTS.contains(&root.trim_start_matches("::"))
                && !chain.contains(".limit(")
                && !chain.contains(".where(")
                && !conditions_bound(cx, recv)
                && !asks_for_kinds(recv)
            {
                // A class of the tree's own with its own `all`, or a plain
                // class of the tree's own, is not a model.
                let unless = Ctx::field(recv, "receiver")
                    .filter(|r| matches!(r.kind(), "constant" | "scope_resolution"))
                    .map(|r| {
                        let class = cx.text(r).rsplit("::").next().unwrap_or("").to_string();
                        Unless::AnyOf(vec![
                            Unless::OwnClassMethod {
                                class: class.clone(),
                                method: "all".to_string(),
                            },
                            Unless::PlainClass { class },
                        ])
                    });
                // A chain from a module of the tree's own (never a class):
                // what its methods return is no table as far as it shows.
                let root_name = root.rsplit("::").next().unwrap_or(root).to_string();
                let unless = Unless::either(unless, Some(Unless::ModuleOnly { name: root_name }));
                cx.hit_unless(
                    Rule::UnboundedResults,
                    call,
                    format!("`{chain}.{m}` loads every `{model}` row into memory at once; memory grows with the table"),
                    "iterate in batches: `find_each` / `in_batches` (or add `limit`)",
                    unless,
                );
                continue;
            }
        }
        if matches!(
            m,
            "exec" | "execute" | "query" | "select_all" | "select_rows" | "fetch"
        ) {
            let sql = Ctx::field(call, "arguments")
                .and_then(|a| a.named_child(0))
                .filter(|a| a.kind() == "string")
                .map(|a| cx.text(a));
            // `db.execute(sql) { |row| ... }` (sqlite3) and `DB.fetch(sql)
            // { |row| ... }` (Sequel) hand over one row at a time; pg's
            // `exec` with a block still gets the whole result.
            let streams = matches!(m, "execute" | "fetch") && Ctx::field(call, "block").is_some();
            if sql.is_some_and(unbounded_select) && cx.enclosing(call, DEF).is_some() && !streams {
                cx.hit(
                    Rule::UnboundedResults,
                    call,
                    format!("`{chain}.{m}` runs a SELECT with no LIMIT and no key lookup: the whole result set is loaded into memory"),
                    "add LIMIT/pagination, or stream the rows (`stream_each`, `find_each`)",
                );
            }
        }
    }
}

/// Whether an add site stores a parameter of its method as it is (`@x <<
/// blk`, `@x[k] = handler`, `@x.merge!(overrides)`).
fn stores_parameter<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let Some(def) = cx.enclosing(site, DEF) else {
        return false;
    };
    let Some(params) = Ctx::field(def, "parameters") else {
        return false;
    };
    // Block parameters (`&blk`) and parameters named like callbacks: a
    // callable registered once by the caller (a value appended per call
    // still grows).
    let names: Vec<&str> = cx
        .desc_kind(params, "identifier")
        .into_iter()
        .filter(|i| {
            let name = cx.text(*i);
            cx.up(*i).is_some_and(|p| p.kind() == "block_parameter")
                || ["callback", "listener", "handler", "hook", "block", "blk"]
                    .iter()
                    .any(|k| name.contains(k))
        })
        .map(|i| cx.text(i))
        .collect();
    let stored = match site.kind() {
        "binary" | "assignment" | "operator_assignment" => Ctx::field(site, "right"),
        "call" => Ctx::field(site, "arguments")
            .and_then(|a| a.named_child(a.named_child_count().saturating_sub(1))),
        _ => None,
    };
    stored.is_some_and(|v| {
        let t = cx.text(v).trim_start_matches('&');
        names.contains(&t)
    })
}

/// The key and the stored value of an add site: `c[k] = v`, `c[k] ||= v`,
/// `c.store(k, v)`, `c.compute_if_absent(k) { v }`, `c.merge!(h)` (no key),
/// or an auto-filling hash's lookup `c[k]` (no value).
fn entry<'a>(cx: &Ctx<'a>, site: Node<'a>) -> (Option<Node<'a>>, Option<Node<'a>>) {
    match site.kind() {
        "element_reference" => (site.named_child(1), None),
        "assignment" | "operator_assignment" => (
            Ctx::field(site, "left")
                .filter(|l| l.kind() == "element_reference")
                .and_then(|l| l.named_child(1)),
            Ctx::field(site, "right"),
        ),
        "call" => {
            let args: Vec<Node> = Ctx::field(site, "arguments")
                .map(|a| {
                    let mut cur = a.walk();
                    a.named_children(&mut cur).collect()
                })
                .unwrap_or_default();
            match method_name(cx, site) {
                "store" | "put_if_absent" => (args.first().copied(), args.get(1).copied()),
                "compute_if_absent" => (args.first().copied(), Ctx::field(site, "block")),
                "merge!" | "update" => (None, args.first().copied()),
                _ => (None, None),
            }
        }
        _ => (None, None),
    }
}

/// A key that is a value's class or encoding (`x.class`, `self.class.name`,
/// `str.encoding`), or its type or kind field (`node.type`, `event.kind`:
/// an enumeration the code defines): it ranges over the types, encodings
/// and kinds the program has.
fn type_key<'a>(cx: &Ctx<'a>, key: Node<'a>) -> bool {
    let is_type = |n: Node<'a>| {
        n.kind() == "call"
            && match method_name(cx, n) {
                "class" | "encoding" | "singleton_class" => true,
                "type" | "kind" => Ctx::field(n, "receiver").is_some(),
                _ => false,
            }
    };
    is_type(key)
        || (key.kind() == "call"
            && matches!(method_name(cx, key), "name" | "to_s" | "to_sym")
            && Ctx::field(key, "receiver").is_some_and(is_type))
}

/// The names a method declares as parameters, with the parameter nodes.
fn parameters<'a>(cx: &Ctx<'a>, def: Node<'a>) -> Vec<(&'a str, Node<'a>)> {
    let Some(params) = Ctx::field(def, "parameters") else {
        return Vec::new();
    };
    let mut cur = params.walk();
    let list: Vec<Node> = params.named_children(&mut cur).collect();
    list.into_iter()
        .filter_map(|p| {
            let name = if p.kind() == "identifier" {
                Some(p)
            } else {
                Ctx::field(p, "name")
            };
            name.map(|n| (cx.text(n), p))
        })
        .collect()
}

/// A key that is a parameter whose default is a Symbol literal (`def
/// self.instance(locale = :en)`): it ranges over identifiers written in
/// code, since Ruby code does not turn input into Symbols.
fn symbol_default_param<'a>(cx: &Ctx<'a>, site: Node<'a>, key: Node<'a>) -> bool {
    if key.kind() != "identifier" {
        return false;
    }
    let Some(def) = cx.enclosing(site, DEF) else {
        return false;
    };
    parameters(cx, def).into_iter().any(|(name, p)| {
        name == cx.text(key)
            && matches!(p.kind(), "optional_parameter" | "keyword_parameter")
            && Ctx::field(p, "value").is_some_and(|v| v.kind() == "simple_symbol")
    })
}

/// Calls that return the content of the file at their first argument.
const FILE_READERS: &[&str] = &[
    "File.read",
    "File.binread",
    "File.readlines",
    "IO.read",
    "IO.binread",
    "IO.readlines",
    "YAML.load_file",
    "YAML.safe_load_file",
    "YAML.unsafe_load_file",
    "Psych.load_file",
    "Psych.safe_load_file",
    "JSON.load_file",
    "load",
    "require",
    "require_relative",
];

/// Whether `value` is (built from) the content of the file at path `key`:
/// such a cache is bounded by the files that exist.
fn reads_file_at<'a>(cx: &Ctx<'a>, value: Node<'a>, key: Node<'a>) -> bool {
    let key = cx.text(key);
    std::iter::once(value)
        .chain(cx.desc(value).iter().copied())
        .filter(|n| n.kind() == "call")
        .any(|call| {
            let r = receiver(cx, call);
            let m = method_name(cx, call);
            let name = if r.is_empty() {
                m.to_string()
            } else {
                format!("{r}.{m}")
            };
            FILE_READERS.contains(&name.as_str())
                && Ctx::field(call, "arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|a| path_of_key(cx, a, key))
        })
}

/// Whether a path argument is the key, or a path built from it
/// (`File.join(dir, "#{k}.yml")`, `"#{dir}/#{k}.yml"`): either way the
/// entries are bounded by the files that exist.
fn path_of_key<'a>(cx: &Ctx<'a>, arg: Node<'a>, key: &str) -> bool {
    if cx.text(arg) == key {
        return true;
    }
    let joined = arg.kind() == "call"
        && method_name(cx, arg) == "join"
        && matches!(receiver(cx, arg), "File" | "::File");
    let interpolated = |n: Node<'a>| {
        n.kind() == "string"
            && cx
                .desc_kind(n, "interpolation")
                .iter()
                .any(|i| cx.text(*i) == format!("#{{{key}}}"))
    };
    (joined
        && Ctx::field(arg, "arguments").is_some_and(|a| {
            (0..a.named_child_count())
                .filter_map(|i| a.named_child(i))
                .any(|x| cx.text(x) == key || interpolated(x))
        }))
        || interpolated(arg)
}

/// Whether an auto-filling hash (`Hash.new { |h, path| h[path] =
/// YAML.load_file(path) }`) fills each entry from the file its key names.
fn auto_fill_reads_file<'a>(cx: &Ctx<'a>, decl: Node<'a>) -> bool {
    let Some(block) = Ctx::field(decl, "right").and_then(|r| Ctx::field(r, "block")) else {
        return false;
    };
    cx.desc_kind(block, "assignment").into_iter().any(|a| {
        let key = Ctx::field(a, "left")
            .filter(|l| l.kind() == "element_reference")
            .and_then(|l| l.named_child(1));
        match (key, Ctx::field(a, "right")) {
            (Some(k), Some(v)) => reads_file_at(cx, v, k),
            _ => false,
        }
    })
}

/// Whether `value` is made from the method's parameters other than the key
/// (`paths`, `opts.merge(paths)`, `(@groups[group] || []) + paths`) and not
/// from the key: what is stored is the caller's, not computed on a miss.
fn from_other_parameters<'a>(
    cx: &Ctx<'a>,
    value: Node<'a>,
    params: &[&str],
    key: Option<&str>,
    container: &str,
) -> bool {
    let ids: Vec<Node> = std::iter::once(value)
        .chain(cx.desc(value).iter().copied())
        .filter(|n| n.kind() == "identifier")
        .collect();
    let uses_other = ids
        .iter()
        .any(|i| params.contains(&cx.text(*i)) && Some(cx.text(*i)) != key);
    let uses_key = key.is_some_and(|k| {
        ids.iter().any(|i| {
            cx.text(*i) == k
                && !cx.up(*i).is_some_and(|p| {
                    p.kind() == "element_reference"
                        && p.named_child(0).is_some_and(|o| cx.text(o) == container)
                })
        })
    });
    uses_other && !uses_key
}

/// A registration: the method stores, under a key that is one of its
/// parameters, a value made from its other parameters (`def
/// add_group(group, paths) = @groups[group] = (@groups[group] || []) +
/// paths`), or merges a parameter hash into the container (`def
/// inflect(overrides) = @overrides.merge!(overrides)`). That is a
/// configuration API (its callers decide what and how often), not a memo
/// computing a value on a miss. Every store under that key in the method
/// (`@groups[group] ||= []` before `@groups[group].concat(paths)`) is part
/// of the registration.
fn registers_parameter<'a>(
    cx: &Ctx<'a>,
    site: Node<'a>,
    container: &str,
    key: Option<Node<'a>>,
    value: Option<Node<'a>>,
) -> bool {
    let Some(def) = cx.enclosing(site, DEF) else {
        return false;
    };
    let params: Vec<&str> = parameters(cx, def).into_iter().map(|(n, _)| n).collect();
    let Some(key) = key else {
        return site.kind() == "call"
            && value.is_some_and(|v| v.kind() == "identifier" && params.contains(&cx.text(v)));
    };
    // A key read from a parameter (`user.id`) is not a registration key:
    // `@listeners[user.id] = msg` keeps a message per user.
    if key.kind() != "identifier" || !params.contains(&cx.text(key)) {
        return false;
    }
    let k = cx.text(key);
    let entry = format!("{container}[{k}]");
    cx.desc(def).iter().any(|n| match n.kind() {
        "assignment" | "operator_assignment" => {
            Ctx::field(*n, "left").is_some_and(|l| {
                let t = cx.text(l);
                t == entry || t.starts_with(&format!("{entry}["))
            }) && Ctx::field(*n, "right")
                .is_some_and(|r| from_other_parameters(cx, r, &params, Some(k), container))
        }
        "binary" => {
            Ctx::field(*n, "left").is_some_and(|l| cx.text(l) == entry)
                && cx.text(*n)[entry.len()..].trim_start().starts_with("<<")
                && Ctx::field(*n, "right")
                    .is_some_and(|r| from_other_parameters(cx, r, &params, Some(k), container))
        }
        "call" => {
            receiver(cx, *n) == entry
                && ADD.contains(&method_name(cx, *n))
                && Ctx::field(*n, "arguments")
                    .is_some_and(|a| from_other_parameters(cx, a, &params, Some(k), container))
        }
        _ => false,
    })
}

/// Whether a local is provably small: a number, a symbol, a size.
fn scalar_value<'a>(cx: &Ctx<'a>, v: Node<'a>) -> bool {
    match v.kind() {
        "integer" | "float" | "true" | "false" | "nil" | "simple_symbol" | "delimited_symbol" => {
            true
        }
        // A name built from other names (`"@#{name}"`): a short string.
        "string" => cx.text(v).len() < 80,
        "call" => matches!(
            method_name(cx, v),
            "size" | "length" | "count" | "to_i" | "to_f" | "to_sym" | "id" | "bytesize"
        ),
        "binary" => !cx.text(v).contains('"'),
        _ => false,
    }
}

/// Whether a value is bulk data: read from a file, a socket, a request or
/// the database, or parsed from such (`CSV.read(path)`, `request.body.read`,
/// `Model.all.to_a`, `JSON.parse(blob)`), as opposed to metadata (a name, a
/// class, options).
fn bulk_value<'a>(cx: &Ctx<'a>, v: Node<'a>) -> bool {
    const BULK: &[&str] = &[
        "read",
        "binread",
        "readlines",
        "foreach",
        "parse",
        "load",
        "load_file",
        "all",
        "to_a",
        "pluck",
        "body",
        "params",
        "fetch_all",
        "select_all",
        "query",
        "execute",
    ];
    std::iter::once(v)
        .chain(cx.desc(v).iter().copied())
        .any(|n| match n.kind() {
            "call" => BULK.contains(&method_name(cx, n)),
            "identifier" => matches!(cx.text(n), "params" | "request"),
            _ => false,
        })
}

/// `define_method` blocks that capture a local holding bulk data (the block,
/// and so the data, lives as long as the class), and per-request `at_exit`
/// blocks that capture a local holding more than a scalar (one more block
/// per request, each kept until exit).
fn closures(cx: &mut Ctx) {
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let m = method_name(cx, call);
        if !matches!(m, "define_method" | "at_exit" | "define_singleton_method")
            || Ctx::field(call, "receiver").is_some_and(|r| cx.text(r) != "self")
        {
            continue;
        }
        let Some(block) = Ctx::field(call, "block") else {
            continue;
        };
        let scope = cx
            .enclosing(call, FN)
            .or_else(|| cx.enclosing(call, &["class", "module"]));
        let Some(scope) = scope else { continue };
        if m == "at_exit" && repeated(cx, call).is_none() {
            continue;
        }
        let params: Vec<&str> = Ctx::field(block, "parameters")
            .map(|p| {
                cx.desc_kind(p, "identifier")
                    .into_iter()
                    .map(|i| cx.text(i))
                    .collect()
            })
            .unwrap_or_default();
        let mut captured: Option<&str> = None;
        for id in cx.desc_kind(block, "identifier") {
            let name = cx.text(id);
            if params.contains(&name) || captured.is_some() {
                continue;
            }
            // Bound in the enclosing scope (not in the block): a method
            // parameter, or a local assigned something that is not scalar.
            let param = cx
                .enclosing(call, DEF)
                .and_then(|d| Ctx::field(d, "parameters"))
                .is_some_and(|p| {
                    cx.desc_kind(p, "identifier")
                        .iter()
                        .any(|i| cx.text(*i) == name)
                });
            let local_big = cx.named_in(scope, "identifier", name).into_iter().any(|l| {
                !Ctx::inside(l, block)
                    && cx.up(l).is_some_and(|a| {
                        a.kind() == "assignment"
                            && Ctx::field(a, "left").is_some_and(|x| x.id() == l.id())
                            && Ctx::field(a, "right").is_some_and(|r| {
                                if m == "at_exit" {
                                    !scalar_value(cx, r)
                                } else {
                                    bulk_value(cx, r)
                                }
                            })
                    })
            });
            if local_big || (param && m == "at_exit") {
                captured = Some(name);
            }
        }
        let Some(name) = captured else { continue };
        // A per-call `at_exit` runs per request or job only in an entry
        // point or a method one reaches, as PHP's shutdown functions: a
        // tool's `run`, a formatter's set-up or a method the tree only calls
        // at load (`Minitest.autorun`) registers a fixed number.
        let unless = if m != "at_exit" || in_entry(cx, call) {
            None
        } else {
            let Some(def) = cx.enclosing(call, DEF) else {
                continue;
            };
            let name = def_name(cx, def);
            let mut methods = vec![name.to_string()];
            if let Some(class) = owner(cx, def).and_then(|c| Ctx::field(c, "name")) {
                let last = cx.text(class).rsplit("::").next().unwrap_or("");
                methods.push(format!("{last}#{name}"));
            }
            Unless::either(
                unless_only_called_at_load(cx, &[call]),
                Some(Unless::NotCalledFromEntry { methods }),
            )
        };
        let (msg, fix) = if m == "at_exit" {
            (
                format!("`at_exit` registered on every call captures `{name}`: each block, and all `{name}` refers to, stays alive until the process exits"),
                "register one `at_exit` at boot, or pass only the small values it needs",
            )
        } else {
            (
                format!("the `{m}` block captures `{name}`, keeping all it refers to alive for as long as the method is defined"),
                "compute what the method needs first (`n = data.size`) and capture that, or read the data when called",
            )
        };
        cx.hit_unless(Rule::ClosureCapture, call, msg, fix, unless);
    }
}

/// `Concurrent::TimerTask` / EventMachine periodic timers started per call
/// and never shut down or cancelled.
fn timers(cx: &mut Ctx) {
    for call in cx.all("call") {
        if cx.expired() {
            break;
        }
        let recv = receiver(cx, call);
        let m = method_name(cx, call);
        let timer = matches!(
            (recv, m),
            ("Concurrent::TimerTask", "new" | "execute")
                | ("EM" | "EventMachine", "add_periodic_timer")
                | ("EventMachine::PeriodicTimer" | "EM::PeriodicTimer", "new")
        );
        if !timer {
            continue;
        }
        let Some(place) = repeated(cx, call) else {
            continue;
        };
        let stored = cx
            .up(call)
            .filter(|p| matches!(p.kind(), "assignment" | "operator_assignment"))
            .and_then(|a| Ctx::field(a, "left"))
            .map(|l| cx.text(l));
        let stopped = stored.is_some_and(|n| {
            ["shutdown", "kill", "cancel"]
                .iter()
                .any(|s| mentions(cx.src, &format!("{n}.{s}")))
                || mentions(cx.src, &format!("cancel_timer({n})"))
        });
        // A wrapper API: the callback is the caller's (a parameter, or a
        // local made from one: `code = args.shift || block`), so the caller
        // decides how often it runs and holds the handle it returns.
        let passes_through = hands_on_parameter(cx, call);
        if stopped || passes_through {
            continue;
        }
        // As for a listener: one more timer per call only where the call
        // shows it runs per request (an entry point, outside input in its
        // block or arguments, or a parameter of a method an entry point
        // calls with data). A timer made of nothing per call (a watcher's
        // `EM.add_periodic_timer(1) { poll }` in a tool's `start`) is a
        // service's one timer.
        let Some(unreached) = growth_evidence(cx, &[call], recv) else {
            continue;
        };
        let unless = Unless::either(unless_only_called_at_load(cx, &[call]), unreached);
        cx.hit_unless(
            Rule::UnclearedTimer,
            call,
            format!("`{recv}.{m}` in `{place}` starts a periodic timer that is never shut down: it keeps firing, and keeps its block alive, for the life of the process"),
            "keep the handle and `shutdown`/`cancel` it when done, or start one timer at boot",
            unless,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::{Lang, Rule};

    fn hits(src: &str) -> Vec<(Rule, usize)> {
        crate::analyze::rules_and_lines(Lang::Ruby, src)
    }

    /// A job's per-call `at_exit` in a test file (a fixture) is not a
    /// long-lived process's; the same job elsewhere is.
    #[test]
    fn entry_points_in_test_files_are_no_entry_points() {
        let src = "class AtExitJob
  def self.perform(f)
    at_exit { File.write(f, 'x') }
  end
end
";
        let in_file = |name: &str| {
            crate::check_source(name, Lang::Ruby, src, &crate::RuleOptions::default())
                .unwrap()
                .findings
                .len()
        };
        assert_eq!(in_file("test/test_helper.rb"), 0);
        assert_eq!(in_file("spec/jobs/at_exit_job_spec.rb"), 0);
        assert_eq!(in_file("test/worker_test.rb"), 0);
        assert_eq!(in_file("app/jobs/at_exit_job.rb"), 1);
        assert_eq!(in_file("lib/latest.rb"), 1);
    }

    /// `Model.all(:col => value)` (DataMapper) is a lookup by that column;
    /// options and operators alone bound nothing.
    #[test]
    fn an_all_with_an_equality_condition_is_no_whole_table() {
        let src = "class Server\n  def authors(s)\n    Author.all(:sublet_id => s.id).each { |a| out << a.name }\n  end\nend\n";
        assert_eq!(hits(src), []);
        let kw = src.replace(":sublet_id => s.id", "sublet_id: s.id");
        assert_eq!(hits(&kw), []);
        let order = src.replace(":sublet_id => s.id", ":order => [:name]");
        assert_eq!(hits(&order), [(Rule::UnboundedResults, 3)]);
        let range = src.replace(":sublet_id => s.id", ":created_at.gte => Time.at(t)");
        assert_eq!(hits(&range), [(Rule::UnboundedResults, 3)]);
    }

    /// A helper whose thread runs its caller's block is an API: the caller
    /// decides how often it starts one.
    #[test]
    fn a_thread_running_the_callers_block_is_an_api() {
        let src = "module Util\n  def daemon(&f)\n    Thread.new do\n      loop { safe { f.call } }\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let yielding = src
            .replace("def daemon(&f)", "def daemon")
            .replace("f.call", "yield");
        assert_eq!(hits(&yielding), []);
        let own = src.replace("f.call", "poll");
        assert_eq!(hits(&own), [(Rule::UnstoppableTask, 3)]);
    }

    /// A `tap` whose result is kept returns the file it was given: kept in
    /// an attribute, it is owned there; left unused, the file is lost.
    #[test]
    fn a_kept_tap_is_the_file() {
        let src = "class History\n  def history_file\n    @history_file ||= File.open(path, 'a').tap do |file|\n      file.sync = true\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let plain = src.replace("@history_file ||=", "@history_file =");
        assert_eq!(hits(&plain), []);
        let dropped = src.replace("@history_file ||= ", "");
        assert_eq!(hits(&dropped), [(Rule::UnclosedResource, 3)]);
    }

    /// A kept `tap` may reach its attribute through the branch of an `if`
    /// (or a ternary) that is assigned; a branch whose value is something
    /// else, or an `if` that is not assigned, drops the file.
    #[test]
    fn a_tap_kept_through_a_branch_is_the_file() {
        let src = "module Log\n  def self.io\n    @io ||=\n      if path\n        File.open(path, 'a').tap do |f|\n          f.sync = true\n        end\n      else\n        $stdout\n      end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let ternary = "module Log\n  def self.io\n    @io ||= path ? File.open(path, 'a').tap { |f| f.sync = true } : $stdout\n  end\nend\n";
        assert_eq!(hits(ternary), []);
        let unassigned = src.replace("@io ||=\n", "");
        assert_eq!(hits(&unassigned), [(Rule::UnclosedResource, 4)]);
        let not_last = src.replace(
            "        end\n      else",
            "        end\n        true\n      else",
        );
        assert_eq!(hits(&not_last), [(Rule::UnclosedResource, 5)]);
    }

    /// Sidekiq's `Queue.all` lists queue names, not rows; a model of the
    /// tree's own named `Queue`, in a namespace or not, is still a table.
    #[test]
    fn sidekiq_queue_all_lists_queues_not_rows() {
        let src = "class StatsJob\n  include Sidekiq::Job\n  def perform\n    Sidekiq::Queue.all.each { |q| gauge(q.name, q.size) }\n  end\nend\n";
        assert_eq!(hits(src), []);
        let model = src.replace("Sidekiq::Queue", "Backlog::Queue");
        assert_eq!(hits(&model), [(Rule::UnboundedResults, 4)]);
        let bare = src.replace("Sidekiq::Queue", "Queue");
        assert_eq!(hits(&bare), [(Rule::UnboundedResults, 4)]);
    }

    /// A thread memoized in an attribute is started at most once per
    /// holder; one assigned afresh on every call is not.
    #[test]
    fn a_memoized_thread_is_started_at_most_once() {
        let src = "class Migration\n  def run_command(cmd)\n    @stdin_queue ||= Queue.new\n    @stdin_thread ||= Thread.new do\n      loop { @stdin_queue << $stdin.gets.chomp }\n    end\n    system(cmd)\n  end\nend\n";
        assert_eq!(hits(src), []);
        let fresh = src.replace("@stdin_thread ||= Thread.new", "@stdin_thread = Thread.new");
        assert_eq!(hits(&fresh), [(Rule::UnstoppableTask, 4)]);
    }

    /// A whole-table read whose only caller fills a class-level memo runs
    /// once per process; behind an instance's memo it runs once per
    /// instance, and with a caller outside any memo it runs per call.
    #[test]
    fn a_read_that_only_fills_a_process_memo_runs_once() {
        let class_memo = "class F\n  def self.pattern\n    @pattern ||= names.join('|')\n  end\n\n  def self.names\n    Emoji.all.map(&:name)\n  end\nend\n";
        assert_eq!(hits(class_memo), []);
        let instance_memo = class_memo.replace("def self.", "def ");
        assert_eq!(hits(&instance_memo), [(Rule::UnboundedResults, 7)]);
        let also_direct = class_memo.replace(
            "end\nend\n",
            "end\n\n  def self.show\n    names.first\n  end\nend\n",
        );
        assert_eq!(hits(&also_direct), [(Rule::UnboundedResults, 7)]);
    }

    /// A method that only a start-up step calls runs a fixed number of
    /// times, like one called while files load; a call from any other
    /// method keeps the finding.
    #[test]
    fn a_thread_started_only_from_a_set_up_step_runs_once() {
        let src = "module F\n  def self.setup_fetch!(c)\n    start_beat\n  end\n\n  def self.start_beat\n    Thread.new do\n      loop { sleep 1 }\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let per_call = src.replace("setup_fetch!", "fetch_next");
        assert_eq!(hits(&per_call), [(Rule::UnstoppableTask, 7)]);
        // A constructor runs once per instance.
        let per_instance = src.replace("self.setup_fetch!(c)", "initialize(c)");
        assert_eq!(hits(&per_instance), [(Rule::UnstoppableTask, 7)]);
    }

    /// A store keyed by a parameter that every caller fills with a Symbol,
    /// or a local chosen between Symbols, is keyed by names in the code,
    /// whatever data the other arguments carry; a caller that passes data
    /// in that parameter makes it grow.
    #[test]
    fn a_store_keyed_by_an_argument_callers_name_with_constants_is_bounded() {
        let src = "class W\n  HOOKS = Hash.new { |h, k| h[k] = [] }\n\n  def perform(changes)\n    hook :updated, changes\n    color = changes.empty? ? :green : :red\n    hook color\n  end\n\n  def hook(name, *args)\n    HOOKS[name].any? { |p| p[self, *args] }\n  end\nend\n";
        assert_eq!(hits(src), []);
        let from_data = src.replace(
            "color = changes.empty? ? :green : :red",
            "color = changes.first",
        );
        assert_eq!(hits(&from_data), [(Rule::UnboundedCache, 11)]);
        let reassigned = src.replace(
            "    hook color\n",
            "    color = changes.kind if changes.any?\n    hook color\n",
        );
        assert_eq!(hits(&reassigned), [(Rule::UnboundedCache, 12)]);
    }

    /// `X.all` where X's parent extends a module of the tree that defines
    /// `all` is the tree's own list; extending a module without `all`
    /// leaves the ORM's.
    #[test]
    fn all_from_an_extended_module_of_the_tree_is_no_table() {
        let src = "module Geo\n  module Listing\n    def all\n      DATA.map { |c, r| new(c, r) }\n    end\n  end\n\n  class Region\n    extend Listing\n  end\nend\n\nclass Region < Geo::Region\n  def self.names\n    Region.all.map(&:name)\n  end\nend\n";
        assert_eq!(hits(src), []);
        let other = src.replace("def all", "def search");
        assert_eq!(hits(&other), [(Rule::UnboundedResults, 15)]);
    }

    /// A call without a receiver, in a class that defines the method, is
    /// that class's own method: it does not reach a store in another
    /// class's method of the same name. Without its own definition it may
    /// (an inherited one).
    #[test]
    fn a_call_of_a_class_s_own_method_does_not_reach_another_s() {
        let src = "class Transform\n  class << self\n    def rule(expression)\n      @rules ||= []\n      @rules.unshift(Pattern.new(expression))\n    end\n  end\nend\n\nclass Export\n  def perform(g)\n    g.rules.map { |n, b| rule(n, b) }\n  end\n\n  def rule(n, b)\n    n\n  end\nend\n";
        assert_eq!(hits(src), []);
        let inherited = src.replace("  def rule(n, b)\n    n\n  end\n", "");
        assert_eq!(hits(&inherited), [(Rule::GlobalAccumulator, 5)]);
    }

    /// A per-call `at_exit` grows per request only where an entry point
    /// reaches it: a tool's `run` registers one per process.
    #[test]
    fn an_at_exit_hook_needs_an_entry_point_that_reaches_it() {
        let tool = "module Prof\n  def self.run\n    report = profile\n    at_exit { report.dump }\n  end\nend\n";
        assert_eq!(hits(tool), []);
        let per_job =
            format!("{tool}\nclass ProfJob\n  def perform(x)\n    Prof.run\n  end\nend\n");
        assert_eq!(hits(&per_job), [(Rule::ClosureCapture, 4)]);
    }

    /// A periodic timer needs the same evidence as a listener: one made of
    /// nothing per call, in a method no entry point reaches, is a
    /// service's one timer; capturing a parameter of a method a job calls
    /// with data, it is one more per job.
    #[test]
    fn a_timer_grows_per_call_only_with_per_call_data() {
        let service = "module Watcher\n  def start\n    EM.add_periodic_timer(1) do\n      mtimes = current_mtimes\n      publish(mtimes)\n    end\n  end\nend\n";
        assert_eq!(hits(service), []);
        let per_job = "class Pinger\n  def watch(conn)\n    EM.add_periodic_timer(5) { conn.ping }\n  end\nend\n\nclass PingJob\n  def perform(id)\n    Pinger.new.watch(Connection.find(id))\n  end\nend\n";
        assert_eq!(hits(per_job), [(Rule::UnclearedTimer, 3)]);
    }

    /// What a subscriber's block makes for itself from each event
    /// (`session = Sessions.find(details[:id])`, `session.id`) is the
    /// event's, not what the subscription was made with.
    #[test]
    fn a_blocks_own_locals_are_the_events_not_the_calls() {
        let src = "module Runner\n  def run\n    Bus.subscribe('/results') do |details|\n      session = Sessions.find(details[:session_id])\n      Tabs.create(id: session.id).draw\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let captured = src
            .replace("def run", "def run(session)")
            .replace("      session = Sessions.find(details[:session_id])\n", "");
        assert_eq!(hits(&captured), [(Rule::ListenerLeak, 3)]);
    }

    /// An instance variable of another class in the file (a mapper's
    /// per-instance list beside the module's own) is not the module's
    /// store; the module's own still grows through its own writes.
    #[test]
    fn another_classes_instance_variable_is_its_own_store() {
        let src = "module AccessControl\n  class << self\n    def permissions\n      @permissions ||= []\n    end\n  end\n\n  class Mapper\n    def permission(name)\n      @permissions ||= []\n      @permissions << name\n    end\n  end\nend\n\nclass GrantJob\n  def perform(job)\n    AccessControl::Mapper.new.permission(job.name)\n  end\nend\n";
        assert_eq!(hits(src), []);
        let own = src.replace("      @permissions ||= []\n    end\n  end\n\n  class Mapper", "      @permissions ||= []\n    end\n\n    def permission(name)\n      @permissions << name\n    end\n  end\n\n  class Mapper");
        assert_eq!(hits(&own), [(Rule::GlobalAccumulator, 8)]);
    }

    /// A socket the method returns is the caller's to close, also when the
    /// body has `rescue` or `ensure` clauses after it.
    #[test]
    fn a_handle_returned_before_a_rescue_clause_is_the_callers() {
        let src = "module Net
  def self.open(host, port)
    socket = ::Socket.tcp(host, port)
    socket.setsockopt(1, 2, true)
    socket
  rescue Errno::ETIMEDOUT
    raise Timeout
  end
end
";
        assert_eq!(hits(src), []);
        let dropped = src.replace("    socket\n  rescue", "    nil\n  rescue");
        assert_eq!(hits(&dropped), [(Rule::UnclosedResource, 3)]);
    }

    /// `File` inside a module that defines its own `File` (FakeFS's
    /// in-memory file) is that class, as Ruby's lexical lookup finds it
    /// first; `::File`, or `File` where the tree defines none around the
    /// call, is the core class.
    #[test]
    fn a_file_class_of_the_tree_around_the_call_is_not_the_core_one() {
        let own = "module Fake
  class File
    def initialize(path)
      @path = path
    end
  end

  module FileTest
    def self.size(name)
      f = File.new(name)
      f.size
    end
  end
end
";
        assert_eq!(hits(own), []);
        let core = own.replace("File.new(name)", "::File.new(name)");
        assert_eq!(hits(&core), [(Rule::UnclosedResource, 10)]);
        let elsewhere = own
            .replace("module FileTest", "module Other")
            .replace("module Fake\n  class File", "module Fake\n  class Blob");
        assert_eq!(hits(&elsewhere), [(Rule::UnclosedResource, 10)]);
    }

    /// `all` asked for kinds of things (YARD's `Registry.all(:puppet_class)`,
    /// `Registry.all(*types)`) is a registry's lookup, no ORM's whole table;
    /// `all` with no argument, or with a hash of conditions, may be one.
    #[test]
    fn all_asked_for_kinds_is_no_table() {
        let src = "def generate_puppet_class_list\n  @items = Registry.all(:puppet_class).sort_by { |c| c.name.to_s }\n  generate_list_contents\nend\n";
        assert_eq!(hits(src), []);
        let splat = src.replace("Registry.all(:puppet_class)", "Registry.all(*types)");
        assert_eq!(hits(&splat), []);
        let bare = src.replace("Registry.all(:puppet_class)", "Registry.all");
        assert_eq!(hits(&bare), [(Rule::UnboundedResults, 2)]);
        let conditions = src.replace(
            "Registry.all(:puppet_class)",
            "Registry.all(order: [:name])",
        );
        assert_eq!(hits(&conditions), [(Rule::UnboundedResults, 2)]);
    }

    /// `all` on what a module of the tree returns (`Bundler.settings.all`)
    /// is no table; from a class of the tree (or one it does not define)
    /// it may be.
    #[test]
    fn all_from_a_module_of_the_tree_is_no_table() {
        let src = "module Bundler\n  def self.settings\n    @settings ||= Settings.new\n  end\nend\n\nclass ConfigCommand\n  def run\n    Bundler.settings.all.each { |k| puts k }\n  end\nend\n";
        assert_eq!(hits(src), []);
        let class = src.replace("module Bundler", "class Bundler < ApplicationRecord");
        assert_eq!(hits(&class), [(Rule::UnboundedResults, 9)]);
    }

    /// A store set to a new empty collection and filled in the same block
    /// is built again on each run, not accumulated; filled without the
    /// reset, it grows.
    #[test]
    fn a_store_reset_and_filled_in_one_block_is_rebuilt() {
        let src = "class SeenJob\n  def perform(job)\n    @@seen = {}\n    job.items.each do |i|\n      @@seen[i.id] = i\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        let kept = src.replace("@@seen = {}", "@@seen ||= {}");
        assert_eq!(hits(&kept), [(Rule::GlobalAccumulator, 5)]);
    }

    /// A thread kept in an attribute is stopped through its reader too.
    #[test]
    fn a_thread_killed_through_its_attribute_reader_is_stopped() {
        let src = "class F\n  attr_accessor :tick\n  def start\n    self.tick = Thread.new do\n      loop { sleep 1 }\n    end\n  end\n\n  def close\n    tick.kill\n  end\nend\n";
        assert_eq!(hits(src), []);
        let other = src.replace("tick.kill", "flush.kill");
        assert_eq!(hits(&other), [(Rule::UnstoppableTask, 4)]);
    }

    /// `binmode` returns the file: closing what it was assigned to closes it.
    #[test]
    fn a_file_opened_in_binary_mode_and_closed_is_closed() {
        let src = "class P\n  def save(path)\n    fd = File.open(path, 'w').binmode\n    fd.write(output)\n    fd.close\n  end\nend\n";
        assert_eq!(hits(src), []);
        let unclosed = src.replace("    fd.close\n", "");
        assert_eq!(hits(&unclosed), [(Rule::UnclosedResource, 3)]);
        let read = "class P\n  def load(path)\n    File.open(path).binmode.read\n  end\nend\n";
        assert_eq!(hits(read), [(Rule::UnclosedResource, 3)]);
    }

    /// A key that is a node's type or kind ranges over an enumeration.
    #[test]
    fn a_store_keyed_by_a_type_field_is_bounded() {
        let src = "class V\n  T = Hash.new { |h, k| h[k] = \"v_#{k}\" }\n  def perform(node)\n    send T[node.type], node\n  end\nend\n";
        assert_eq!(hits(src), []);
        let by_id = src.replace("node.type", "node.id");
        assert_eq!(hits(&by_id), [(Rule::UnboundedCache, 4)]);
    }

    /// A thread kept in a variable is stopped by a safely navigated kill.
    #[test]
    fn threads_a_helper_returns_are_stopped_where_its_callers_keep_them() {
        let src = "class P\n  def refill\n    @workers[0] = spawn_worker unless @workers[0]&.alive?\n  end\n\n  def close\n    @workers.each(&:kill)\n  end\n\n  def spawn_worker\n    Thread.new do\n      loop { work }\n    end\n  end\nend\n";
        assert_eq!(hits(src), []);
        // Kept, but the pass over the pool stops nothing.
        let other = src.replace("@workers.each(&:kill)", "@workers.each(&:inspect)");
        assert_eq!(hits(&other), [(Rule::UnstoppableTask, 11)]);
        // A `do ... end` pass stops them; one that stops something after
        // its block does not count.
        let block = src.replace(
            "@workers.each(&:kill)",
            "@workers.each do |t|\n      t.kill\n    end",
        );
        assert_eq!(hits(&block), []);
        let after = src.replace(
            "@workers.each(&:kill)",
            "@workers.each do |t|\n      t.inspect\n    end\n    @queue.join",
        );
        assert_eq!(hits(&after), [(Rule::UnstoppableTask, 14)]);
        // The helper's thread is not what it returns: nobody keeps it.
        let not_returned = src.replace("    end\n  end\nend\n", "    end\n    nil\n  end\nend\n");
        assert_eq!(hits(&not_returned), [(Rule::UnstoppableTask, 11)]);
    }

    #[test]
    fn a_thread_killed_through_safe_navigation_is_stopped() {
        let src = "class F\n  def ensure_thread\n    return if @thread&.alive?\n    @thread = Thread.new do\n      loop { sleep 1 }\n    end\n  end\n\n  def kill\n    @thread&.kill\n  end\nend\n";
        assert_eq!(hits(src), []);
        let other = src
            .replace("@thread&.kill", "@flusher&.kill")
            .replace("    return if @thread&.alive?\n", "");
        assert_eq!(hits(&other), [(Rule::UnstoppableTask, 3)]);
    }

    /// `return if @thread&.alive?` before starting it: at most one live
    /// thread per holder, as with `@thread ||= Thread.new`.
    #[test]
    fn a_thread_started_only_when_the_last_one_died_is_one_per_holder() {
        let src = "class S
  def ship(x)
    @buffer << x
    start_thread
  end

  def start_thread
    return if @thread&.alive?
    @thread = Thread.new do
      loop { flush }
    end
  end
end
";
        assert_eq!(hits(src), []);
        let other = src.replace("return if @thread&.alive?", "return if @other&.alive?");
        assert_eq!(hits(&other), [(Rule::UnstoppableTask, 9)]);
        let unguarded = src.replace("    return if @thread&.alive?\n", "");
        assert_eq!(hits(&unguarded), [(Rule::UnstoppableTask, 8)]);
    }

    /// `execute` and `fetch` with a block stream rows; `exec` does not.
    #[test]
    fn a_select_read_row_by_row_in_a_block_is_not_loaded_whole() {
        let src = "class S\n  def each_cookie\n    @db.execute(\"SELECT id, host FROM cookies\") { |row| use(row) }\n  end\nend\n";
        assert_eq!(hits(src), []);
        let whole = src.replace("@db.execute", "@db.exec");
        assert_eq!(hits(&whole), [(Rule::UnboundedResults, 3)]);
        let no_block = src.replace(" { |row| use(row) }", ".each { |row| use(row) }");
        assert_eq!(hits(&no_block), [(Rule::UnboundedResults, 3)]);
    }
}
