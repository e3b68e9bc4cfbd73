//! PHP rules, for long-running workers (Swoole, RoadRunner, ReactPHP, queue
//! workers) where a process serves many requests or jobs: static,
//! `$GLOBALS` and script-level arrays that only grow, listeners registered
//! per job, closures capturing large data by reference, `fetchAll()` /
//! `Model::all()` of whole tables, coroutines looping forever, timers never
//! cleared, and files or connections opened in a worker loop and not closed.

use tree_sitter::Node;

use super::growth::{entry_method, reads_outside_input};
use super::python::runs_once;
use super::{mentions, unbounded_select, ArgMask, Ctx, Slot, StoredArgs, Unless};
use crate::rules::Rule;

pub(crate) const FN: &[&str] = &[
    "function_definition",
    "method_declaration",
    "anonymous_function",
    "arrow_function",
];
const NAMED_FN: &[&str] = &["function_definition", "method_declaration"];
const LOOPS: &[&str] = &[
    "while_statement",
    "do_statement",
    "for_statement",
    "foreach_statement",
];

pub fn check(cx: &mut Ctx) {
    tree_facts(cx);
    containers(cx);
    listeners(cx);
    closures(cx);
    results(cx);
    tasks_and_timers(cx);
    resources(cx);
    let dead = never_run(cx);
    cx.hits.retain(|h| {
        !dead
            .iter()
            .any(|&(s, e)| s <= h.start_byte && h.end_byte <= e)
    });
}

/// The byte ranges of closures that never run: the callback of Laravel's
/// `Conditionable` methods given a literal that skips it (`->when(false,
/// function () {...})`, `->unless(true, fn () => ...)`), by the method's
/// name or an alias the file's trait uses give it (`use Conditionable {
/// Conditionable::when as whenever; }`). Only the second argument: a third
/// (the default) runs instead. A variable or a call as the value may be
/// either, so its callback counts as code that runs.
fn never_run(cx: &Ctx) -> Vec<(usize, usize)> {
    // (method name, the literal that skips its callback)
    let mut skips: Vec<(String, &str)> = vec![("when".into(), "false"), ("unless".into(), "true")];
    for clause in cx.all("use_as_clause") {
        let text: String = cx
            .text(clause)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let Some((from, to)) = text.split_once(" as ") else {
            continue;
        };
        let from = from.rsplit("::").next().unwrap_or(from).trim();
        let Some(alias) = to.split(' ').next_back().filter(|a| !a.is_empty()) else {
            continue;
        };
        let skipped_by = match from {
            "when" => "false",
            "unless" => "true",
            _ => continue,
        };
        // `when as protected;` changes only the visibility.
        if !matches!(alias, "public" | "protected" | "private") {
            skips.push((alias.to_string(), skipped_by));
        }
    }
    let mut dead = Vec::new();
    for call in all_calls(cx) {
        if call.kind() == "function_call_expression" {
            continue;
        }
        let m = callee(cx, call).1;
        let Some(&(_, skip)) = skips.iter().find(|(name, _)| name == m) else {
            continue;
        };
        let Some(args) = Ctx::field(call, "arguments") else {
            continue;
        };
        let mut cur = args.walk();
        let positional: Vec<Node> = args
            .named_children(&mut cur)
            .filter(|a| a.kind() == "argument" && Ctx::field(*a, "name").is_none())
            .filter_map(|a| a.named_child(0))
            .collect();
        let [value, callback, ..] = positional[..] else {
            continue;
        };
        if value.kind() == "boolean"
            && cx.text(value).eq_ignore_ascii_case(skip)
            && matches!(callback.kind(), "anonymous_function" | "arrow_function")
        {
            dead.push((callback.start_byte(), callback.end_byte()));
        }
    }
    dead
}

/// What this file tells its tree: the static methods each class defines
/// (so `Queue::all()` of a class with its own `all` is not taken for an
/// ORM's).
fn tree_facts(cx: &mut Ctx) {
    // A page's inline scripts declare globals its external scripts use.
    // So does a script PHP writes (`watch.js.php`), echoed beside them.
    let inline = super::js::inline_script_globals(cx.src);
    let written = super::js::php_written_script_globals(cx.src);
    for name in inline.iter().chain(&written) {
        cx.facts.script_global(name);
    }
    let (page, long_running) = (serves_a_page(cx), runs_for_long(cx));
    cx.facts.php_file(page, long_running);
    let mut found = Vec::new();
    for m in cx.all("method_declaration") {
        let is_static = {
            let mut cur = m.walk();
            let found = m.children(&mut cur).any(|c| c.kind() == "static_modifier");
            found
        };
        if !is_static {
            continue;
        }
        let class = cx
            .enclosing(m, &["class_declaration", "trait_declaration"])
            .and_then(|c| Ctx::field(c, "name"))
            .map(|n| cx.text(n).to_string());
        if let Some(class) = class {
            found.push((class, fn_name(cx, m).to_string()));
        }
    }
    for (class, method) in found {
        cx.facts.class_method(&class, &method);
    }
    // Classes whose own code filters a query on a value or limits it (a
    // filter object's `apply`: `$this->query->eq('project_id',
    // $this->value)`), for chains that apply them.
    let mut filtering = Vec::new();
    for class in cx.all("class_declaration") {
        let Some(name) = Ctx::field(class, "name").map(|n| cx.text(n)) else {
            continue;
        };
        let filters = ["expression_statement", "return_statement"]
            .iter()
            .flat_map(|k| cx.desc_kind(class, k))
            .any(|st| chain_bounds(cx.text(st)));
        if filters {
            filtering.push(name.to_string());
        }
    }
    for class in filtering {
        cx.facts.value_filter(&class);
    }
    // Where this file makes models' rows (`X::create(...)`, `new X`), and
    // whether from a literal list: `X::all()` of a table only such lists
    // fill is bounded.
    let mut made = Vec::new();
    for c in cx.all("scoped_call_expression") {
        let (class, method) = callee(cx, c);
        let class = class.rsplit('\\').next().unwrap_or(class);
        if ROW_MAKERS.contains(&method) && !matches!(class, "self" | "static" | "parent" | "") {
            // A fixed row adds at most one row per run: made by key
            // (`firstOrCreate`...), or by code that runs once (a seeder,
            // a migration) or only in tests. `create` of a fixed row per
            // request adds one every time.
            let by_key = matches!(method, "firstOrCreate" | "findOrCreate" | "updateOrCreate");
            let runs_once = cx
                .enclosing(c, &["class_declaration", "anonymous_class"])
                .is_some_and(|k| {
                    ["Seeder", "Migration", "TestCase"]
                        .iter()
                        .any(|b| extends_a(cx, k, b))
                });
            made.push((
                class.to_string(),
                (by_key || runs_once) && made_from_a_literal_list(cx, c),
            ));
        }
    }
    for n in cx.all("object_creation_expression") {
        if let Some(class) = n.named_child(0).map(|c| cx.text(c)) {
            made.push((
                class.rsplit('\\').next().unwrap_or(class).to_string(),
                false,
            ));
        }
    }
    for (class, literal) in made {
        cx.facts.rows_made(&class, literal);
    }
    // Static properties this file removes from or resets (`X::$cache =
    // []`, `unset(self::$cache[$k])`), by class: the store may be another
    // file's.
    let mut cleared = Vec::new();
    for u in cx.all("scoped_property_access_expression") {
        let mut uses = Uses::default();
        classify(cx, u, &mut uses);
        if uses.removes == 0 {
            continue;
        }
        let (Some(scope), Some(name)) = (u.named_child(0), Ctx::field(u, "name")) else {
            continue;
        };
        let class = match cx.text(scope) {
            "self" | "static" => cx
                .enclosing(u, &["class_declaration", "trait_declaration"])
                .and_then(|c| Ctx::field(c, "name"))
                .map(|n| cx.text(n)),
            "parent" => None,
            other => Some(other.rsplit('\\').next().unwrap_or(other)),
        };
        if let Some(class) = class {
            cleared.push((class.to_string(), cx.text(name).to_string()));
        }
    }
    for (class, store) in cleared {
        cx.facts.store_cleared(&class, &store);
    }
    for call in all_calls(cx) {
        let callee_name = callee(cx, call).1;
        if callee_name.is_empty()
            || !callee_name.starts_with(|c: char| c.is_alphabetic() || c == '_')
        {
            continue;
        }
        let caller = cx.enclosing(call, NAMED_FN).map(|f| fn_name(cx, f));
        let from_entry = in_entry(cx, call);
        let data = data_args(cx, call);
        cx.facts.call_from(caller, callee_name, from_entry, data);
    }
}

/// Registration calls whose closure argument runs per request or message
/// (`$server->on('request', function ($req, $resp) {...})`).
const HANDLER_REGISTRATIONS: &[&str] = &[
    "on",
    "handle",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "map",
    "consume",
    "process",
    "onMessage",
];

/// Whether code at `n` runs once per request, job or message: in an entry
/// point (a method named like one, a controller's action), in a closure
/// handed to a request or message handler registration, or in a worker
/// loop (`while (true)`, `for (;;)`, `while ($job = $queue->pop())`).
fn in_entry<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    let mut cur = cx.up(n);
    while let Some(p) = cur {
        match p.kind() {
            "method_declaration" | "function_definition" => {
                let name = fn_name(cx, p);
                let action = p.kind() == "method_declaration"
                    && !name.starts_with("__")
                    && !cx
                        .text(p)
                        .split('(')
                        .next()
                        .unwrap_or("")
                        .contains("static")
                    && cx
                        .enclosing(p, &["class_declaration"])
                        .and_then(|c| Ctx::field(c, "name"))
                        .is_some_and(|c| cx.text(c).ends_with("Controller"));
                return entry_method(name) || action;
            }
            "anonymous_function" | "arrow_function"
                if arg_of(cx, p).is_some_and(|(_, m)| HANDLER_REGISTRATIONS.contains(&m)) =>
            {
                return true;
            }
            "while_statement" | "do_statement" | "for_statement" if worker_loop(cx, p) => {
                return true;
            }
            _ => {}
        }
        cur = cx.up(p);
    }
    false
}

/// `for (;;)`.
fn endless_for<'a>(cx: &Ctx<'a>, p: Node<'a>) -> bool {
    let head: String = cx
        .text(p)
        .split(')')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    head == "for(;;"
}

/// A loop condition that is always true (for a loop that waits for work:
/// see [`waits_for_work`]), or that takes the next job or message from a
/// call each time round (`$job = $queue->pop()`,
/// `$msg = $consumer->receive()`). A loop over rows or lines
/// (`$row = $stmt->fetch()`, `$line = fgets($fp)`) ends with its input: a
/// script's, run once.
fn serves_forever<'a>(cx: &Ctx<'a>, cond: Node<'a>, the_loop: Node<'a>) -> bool {
    (endless(cx, the_loop) && waits_for_work(cx, the_loop))
        || assigned_call(cx, cond).is_some_and(takes_work)
}

/// `while (true)`, `do { ... } while (true)`, `for (;;)`.
fn endless<'a>(cx: &Ctx<'a>, the_loop: Node<'a>) -> bool {
    match the_loop.kind() {
        "for_statement" => endless_for(cx, the_loop),
        "while_statement" | "do_statement" => Ctx::field(the_loop, "condition").is_some_and(|c| {
            matches!(
                cx.text(unparenthesized(c)).to_ascii_lowercase().as_str(),
                "true" | "1"
            )
        }),
        _ => false,
    }
}

/// Calls that wait each time round a loop: sleeps, selects, accepts.
const WAITS: &[&str] = &[
    "sleep",
    "usleep",
    "time_nanosleep",
    "stream_select",
    "socket_select",
    "socket_accept",
    "stream_socket_accept",
];

/// Whether a loop's body calls one of `WAITS`.
fn waits<'a>(cx: &Ctx<'a>, the_loop: Node<'a>) -> bool {
    cx.desc(the_loop).iter().any(|d| {
        CALLS.contains(&d.kind())
            && WAITS.contains(&called_name(cx.text(*d)).to_ascii_lowercase().as_str())
    })
}

fn unparenthesized(cond: Node) -> Node {
    if cond.kind() == "parenthesized_expression" {
        cond.named_child(0).unwrap_or(cond)
    } else {
        cond
    }
}

/// The function a loop condition `($x = next($input))` calls each time
/// round, if it is such an assignment.
fn assigned_call<'a>(cx: &Ctx<'a>, cond: Node<'a>) -> Option<&'a str> {
    let inner = unparenthesized(cond);
    let right = Ctx::field(inner, "right")
        .filter(|r| inner.kind() == "assignment_expression" && CALLS.contains(&r.kind()))?;
    Some(called_name(cx.text(right)))
}

/// Whether an endless loop's body waits for something each time round: a
/// call that takes the next job or connection, or a sleep. A `while (true)`
/// or `do { ... } while (true)` without one is a search that returns from
/// inside (Horde_Date's next recurrence), not a worker serving requests.
fn waits_for_work<'a>(cx: &Ctx<'a>, the_loop: Node<'a>) -> bool {
    waits(cx, the_loop)
        || cx
            .desc(the_loop)
            .iter()
            .any(|d| CALLS.contains(&d.kind()) && takes_work(called_name(cx.text(*d))))
}

/// The name a call expression calls: `$q->pop()` → `pop`,
/// `Queue::next_job($x)` → `next_job`.
fn called_name(call: &str) -> &str {
    let head = call.split('(').next().unwrap_or("");
    head.rsplit(['>', ':', '\\', ' '])
        .next()
        .unwrap_or(head)
        .trim()
}

/// Whether a function named `name` hands out the next job, message or
/// connection (blocking until there is one), as queue and server loops do.
fn takes_work(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    // PHP's array functions (`array_pop`, `array_shift`) take from an array
    // in memory: a walk that ends with it, never a wait for work.
    if n.starts_with("array_") {
        return false;
    }
    [
        "pop", "receive", "recv", "consume", "reserve", "accept", "dequeue", "take", "job",
        "message", "wait", "poll", "listen",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Whether a store written at `sites` (named `store`) shows it grows per
/// request, job or message (see `growth`): `Some(None)` when a site is in an
/// entry point or stores outside input, `Some(Some(unless))` when it stores
/// parameters of its function, so the tree must show an entry point
/// calling it, and `None` when nothing shows growth (no finding).
fn growth_evidence<'a>(cx: &Ctx<'a>, sites: &[Node<'a>], store: &str) -> Option<Option<Unless>> {
    let mut through = Vec::new();
    for site in sites {
        if in_entry(cx, *site) || reads_outside_input(growth_text(cx, *site), store) {
            return Some(None);
        }
        let Some(f) = cx.enclosing(*site, NAMED_FN) else {
            continue;
        };
        // A key built in a local from a variable naming an identity
        // (`$cacheKey = $requestIp.'-'.$ip`) has one entry per identity,
        // as the variable used as the key itself would.
        if key_locals(cx, f, *site).into_iter().any(|rhs| {
            std::iter::once(rhs)
                .chain(cx.desc(rhs).iter().copied())
                .filter(|v| v.kind() == "variable_name")
                .any(|v| super::growth::id_like(cx.text(v).trim_start_matches('$')))
        }) {
            return Some(None);
        }
        // The parameters stored: those in a keyed write's key if any (one
        // entry per key), else any the write stores.
        let params = parameter_args(cx, f);
        let stored_in = |n: Node<'a>| {
            std::iter::once(n)
                .chain(cx.desc(n).iter().copied())
                .filter(|v| v.kind() == "variable_name")
                .filter_map(|v| params.iter().find(|(p, _)| *p == cx.text(v)))
                .fold(ArgMask::NONE, |m, (_, a)| m.with(*a))
        };
        let in_key = keyed_entry(*site).map_or(ArgMask::NONE, |(_, key, _)| stored_in(key));
        let args = if in_key == ArgMask::NONE {
            stored_in(*site)
        } else {
            in_key
        };
        if args == ArgMask::NONE {
            continue;
        }
        let method = fn_name(cx, f).to_string();
        match through
            .iter_mut()
            .find(|s: &&mut StoredArgs| s.method == method)
        {
            Some(s) => s.args = s.args.with(args),
            None => through.push(StoredArgs { method, args }),
        }
    }
    (!through.is_empty()).then_some(Some(Unless::NotReachedFromEntry { methods: through }))
}

/// What the locals in a keyed write's key are assigned in function `f`
/// (`$cacheKey = $requestIp.'-'.$ip` for `self::$checked[$cacheKey]`),
/// leaving out values that name a class (`$class = get_class($o)`): one
/// entry per class the code declares.
fn key_locals<'a>(cx: &Ctx<'a>, f: Node<'a>, site: Node<'a>) -> Vec<Node<'a>> {
    let locals: Vec<&'a str> = keyed_entry(site)
        .map(|(_, key, _)| {
            std::iter::once(key)
                .chain(cx.desc(key).iter().copied())
                .filter(|v| v.kind() == "variable_name" && cx.text(*v) != "$this")
                .map(|v| cx.text(v))
                .collect()
        })
        .unwrap_or_default();
    cx.desc(f)
        .iter()
        .copied()
        .filter(|n| n.kind() == "assignment_expression")
        .filter(|n| Ctx::field(*n, "left").is_some_and(|l| locals.contains(&cx.text(l))))
        .filter_map(|n| Ctx::field(n, "right"))
        .filter(|rhs| !PER_CLASS_KEYS.iter().any(|k| cx.text(*rhs).contains(k)))
        .collect()
}

/// What says how many entries a write at `site` adds over time: a keyed
/// write (`$c[$k] = $v`, `$c[$a][$b] = $v`) adds one per distinct key, so
/// only its keys count (a value read as `$iso_language_id` under a small
/// numeric key is still one entry per key); an append (`$c[] = $v`,
/// `$c[$k][] = $v`) adds what it stores.
fn growth_text<'a>(cx: &Ctx<'a>, site: Node<'a>) -> &'a str {
    match keyed_entry(site) {
        Some(_) => Ctx::field(site, "left").map_or_else(|| cx.text(site), |l| cx.text(l)),
        None => cx.text(site),
    }
}

fn fn_name<'a>(cx: &Ctx<'a>, f: Node<'a>) -> &'a str {
    Ctx::field(f, "name").map(|n| cx.text(n)).unwrap_or("")
}

/// The name a call is known by: `fopen`, `$this->events->listen`,
/// `Event::listen`.
fn callee<'a>(cx: &Ctx<'a>, call: Node<'a>) -> (&'a str, &'a str) {
    match call.kind() {
        "function_call_expression" => (
            "",
            Ctx::field(call, "function")
                .map(|f| cx.text(f))
                .unwrap_or(""),
        ),
        "member_call_expression" | "nullsafe_member_call_expression" => (
            Ctx::field(call, "object").map(|o| cx.text(o)).unwrap_or(""),
            Ctx::field(call, "name").map(|n| cx.text(n)).unwrap_or(""),
        ),
        "scoped_call_expression" => (
            Ctx::field(call, "scope").map(|o| cx.text(o)).unwrap_or(""),
            Ctx::field(call, "name").map(|n| cx.text(n)).unwrap_or(""),
        ),
        _ => ("", ""),
    }
}

const CALLS: &[&str] = &[
    "function_call_expression",
    "member_call_expression",
    "nullsafe_member_call_expression",
    "scoped_call_expression",
];

/// Whether an argument is a constant the code names: a literal without
/// interpolation, `true`/`false`/`null`, a named or class constant
/// (`PHP_EOL`, `self::MODE`), or an array of them.
fn constant_value(n: Node) -> bool {
    match n.kind() {
        "integer"
        | "float"
        | "boolean"
        | "null"
        | "name"
        | "qualified_name"
        | "class_constant_access_expression"
        | "string_content"
        | "string_value"
        | "escape_sequence" => true,
        "argument"
        | "string"
        | "encapsed_string"
        | "array_creation_expression"
        | "array_element_initializer" => (0..n.named_child_count())
            .filter_map(|i| n.named_child(i))
            .all(constant_value),
        _ => false,
    }
}

/// Which arguments of `call` are not constants ([`constant_value`], or a
/// local assigned nothing else: `$c = $ok ? 'green' : 'red'; hook($c)`).
fn data_args<'a>(cx: &Ctx<'a>, call: Node<'a>) -> ArgMask {
    let Some(args) = Ctx::field(call, "arguments") else {
        return ArgMask::NONE;
    };
    ArgMask::of_call(
        (0..args.named_child_count())
            .filter_map(|i| args.named_child(i))
            .map(|arg| {
                let value = arg.named_child(arg.named_child_count().saturating_sub(1));
                let slot = if value.is_some_and(|v| v.kind() == "variadic_unpacking") {
                    Slot::Any
                } else if Ctx::field(arg, "name").is_some() {
                    Slot::Keyword
                } else {
                    Slot::Positional
                };
                let constant = constant_value(arg) || value.is_some_and(|v| constant_local(cx, v));
                (slot, constant)
            }),
    )
}

/// Whether `n` is a local variable of its function that is only ever
/// assigned constants, or a choice between them (`$ok ? 'a' : 'b'`).
fn constant_local<'a>(cx: &Ctx<'a>, n: Node<'a>) -> bool {
    if n.kind() != "variable_name" {
        return false;
    }
    let Some(f) = cx.enclosing(n, NAMED_FN) else {
        return false;
    };
    let name = cx.text(n);
    if parameter_args(cx, f).iter().any(|(p, _)| *p == name) {
        return false;
    }
    let choice = |v: Node<'a>| {
        constant_value(v)
            || (v.kind() == "conditional_expression"
                && ["body", "alternative"]
                    .iter()
                    .all(|field| Ctx::field(v, field).is_some_and(constant_value)))
    };
    let names_it = |l: Node| l.kind() == "variable_name" && cx.text(l) == name;
    let mut assigned = false;
    for d in cx.desc(f) {
        match d.kind() {
            "assignment_expression" => {
                let Some(left) = Ctx::field(*d, "left") else {
                    continue;
                };
                if names_it(left) {
                    if !Ctx::field(*d, "right").is_some_and(choice) {
                        return false;
                    }
                    assigned = true;
                } else if cx.desc(left).iter().any(|x| names_it(*x))
                    && left.kind() == "list_literal"
                {
                    return false;
                }
            }
            // Other ways a variable takes a value: `.=`, a loop's value, a
            // caught exception, a `static` or `global` declaration, a
            // by-reference argument (`preg_match($p, $s, $m)`), a closure's
            // `use (&$x)`.
            "augmented_assignment_expression"
            | "reference_assignment_expression"
            | "foreach_statement"
            | "catch_clause"
            | "static_variable_declaration"
            | "global_declaration"
            | "anonymous_function_use_clause" => {
                let target = if d.kind() == "foreach_statement" {
                    // The loop's key and value, not the array it walks.
                    (1..d.named_child_count())
                        .filter_map(|i| d.named_child(i))
                        .take(2)
                        .collect()
                } else {
                    vec![*d]
                };
                let binds = target
                    .iter()
                    .any(|t| names_it(*t) || cx.desc(*t).iter().any(|x| names_it(*x)));
                if binds
                    && (d.kind() != "augmented_assignment_expression"
                        || Ctx::field(*d, "left").is_some_and(names_it))
                {
                    return false;
                }
            }
            // Passed to another call, which may take it by reference
            // (`preg_match($p, $s, $m)` fills `$m`): its value is unknown.
            "argument"
                if d.named_child(0).is_some_and(names_it)
                    && cx.up(n).is_none_or(|own| own.id() != d.id()) =>
            {
                return false;
            }
            _ => {}
        }
    }
    assigned
}

/// Which arguments of a call fill each parameter of `f`, by name (`$x`).
fn parameter_args<'a>(cx: &Ctx<'a>, f: Node<'a>) -> Vec<(&'a str, ArgMask)> {
    let Some(params) = Ctx::field(f, "parameters") else {
        return Vec::new();
    };
    let slots = (0..params.named_child_count())
        .filter_map(|i| params.named_child(i))
        .filter_map(|p| {
            let name = Ctx::field(p, "name")?;
            let slot = if p.kind() == "variadic_parameter" {
                Slot::Rest
            } else {
                Slot::Positional
            };
            // A by-reference promoted parameter's name is `&$x`.
            Some((cx.text(name).trim_start_matches('&').trim_start(), slot))
        });
    ArgMask::of_params(slots)
}

fn all_calls<'a>(cx: &Ctx<'a>) -> Vec<Node<'a>> {
    let mut v: Vec<Node> = CALLS.iter().flat_map(|k| cx.all(k)).collect();
    v.sort_by_key(|n| n.start_byte());
    v
}

/// Functions named like one-time wiring (constructors included: they run
/// once per service object in a container).
fn once_fn(name: &str) -> bool {
    runs_once(name)
        || matches!(
            name,
            "__construct" | "boot" | "getSubscribedEvents" | "subscribe" | "setUp"
        )
}

/// Where code runs repeatedly: in a function or method not named like a
/// one-time step, or inside a loop at script level (a worker loop).
fn repeated<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Option<&'a str> {
    // A closure handed to a request/message handler registration runs per
    // request (`$server->on('request', function (...) { ... })`).
    let mut cur = cx.enclosing(n, FN);
    while let Some(f) = cur {
        if NAMED_FN.contains(&f.kind()) {
            break;
        }
        if arg_of(cx, f).is_some_and(|(_, m)| {
            matches!(
                m,
                "on" | "handle" | "get" | "post" | "map" | "consume" | "process" | "onMessage"
            )
        }) {
            return Some("the request handler");
        }
        cur = cx.enclosing(f, FN);
    }
    match cx.enclosing(n, NAMED_FN) {
        Some(f) if in_console_command(cx, f) => cx.enclosing(n, LOOPS).map(|_| "the worker loop"),
        Some(f) if sets_up_a_singleton(cx, f, n) => None,
        Some(f) if provider_start_up(cx, f) => None,
        Some(f) => {
            let name = fn_name(cx, f);
            (!once_fn(name)).then_some(name)
        }
        None => cx.enclosing(n, LOOPS).map(|_| "the worker loop"),
    }
}

/// Whether `n` runs only while `f` makes a lazy singleton, once per
/// process: past a guard that returns while a static is set (`if
/// (self::$instance) { return self::$instance; }`), or inside a test that
/// it is unset (`if (self::$instance === null) { ... }`), `f` assigning
/// that static (`self::$instance = $loop = Factory::create();`).
fn sets_up_a_singleton<'a>(cx: &Ctx<'a>, f: Node<'a>, n: Node<'a>) -> bool {
    let Some(body) = Ctx::field(f, "body") else {
        return false;
    };
    let fn_text = cx.text(f);
    let assigns = |stat: &str| {
        ["self::", "static::"].iter().any(|scope| {
            let target = format!("{scope}{stat}");
            fn_text.match_indices(&target).any(|(i, _)| {
                let rest = fn_text[i + target.len()..].trim_start();
                rest.starts_with('=') && !rest.starts_with("==")
            })
        })
    };
    let static_tested = |cond: &'a str| -> Option<&'a str> {
        ["self::$", "static::$"].iter().find_map(move |scope| {
            let at = cond.find(scope)? + scope.len() - 1;
            let name = &cond[at..];
            let end = name[1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(name.len(), |e| e + 1);
            Some(&name[..end])
        })
    };
    let mut cur = body.walk();
    let statements: Vec<Node> = body.named_children(&mut cur).collect();
    statements.iter().any(|st| {
        if st.kind() != "if_statement" {
            return false;
        }
        let cond = Ctx::field(*st, "condition").map_or("", |c| cx.text(c));
        let Some(stat) = static_tested(cond) else {
            return false;
        };
        if !assigns(stat) {
            return false;
        }
        let tight: String = cond.chars().filter(|c| !c.is_whitespace()).collect();
        let tight = tight
            .replace("!==null", "SET")
            .replace("!=null", "SET")
            .replace("null!==", "SET")
            .replace("null!=", "SET");
        let tests_unset = tight.contains("==null")
            || tight.contains("null==")
            || tight.contains("is_null(")
            || tight.contains("empty(")
            || tight.trim_start_matches('(').starts_with('!');
        if tests_unset {
            st.start_byte() <= n.start_byte() && n.end_byte() <= st.end_byte()
        } else {
            !cx.desc_kind(*st, "return_statement").is_empty() && st.end_byte() <= n.start_byte()
        }
    })
}

/// The argument list's callee when `n` is a direct argument of a call.
fn arg_of<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Option<(Node<'a>, &'a str)> {
    let a = cx.up(n).filter(|a| a.kind() == "argument")?;
    let args = cx.up(a).filter(|x| x.kind() == "arguments")?;
    let call = cx.up(args).filter(|c| CALLS.contains(&c.kind()))?;
    Some((call, callee(cx, call).1))
}

#[derive(Default)]
struct Uses<'a> {
    adds: Vec<(Node<'a>, &'a str, bool)>, // (site, function, keyed)
    lookups: usize,
    removes: usize,
    escapes: usize,
}

/// Classifies one use `u` of a container (the expression naming it).
fn classify<'a>(cx: &Ctx<'a>, u: Node<'a>, uses: &mut Uses<'a>) {
    let Some(p) = cx.up(u) else { return };
    match p.kind() {
        "subscript_expression" if p.named_child(0).is_some_and(|o| o.id() == u.id()) => {
            let keyed = p.named_child_count() > 1;
            // `$c[$k][] = v`, `$c[$a][$b] = v`: the write is to the whole
            // chain of subscripts, and it grows the container `u` names.
            let mut p = p;
            while let Some(outer) = cx
                .up(p)
                .filter(|o| o.kind() == "subscript_expression")
                .filter(|o| o.named_child(0).is_some_and(|x| x.id() == p.id()))
            {
                p = outer;
            }
            let g = cx.up(p);
            let gk = g.map(|g| g.kind()).unwrap_or("");
            let is_left =
                g.is_some_and(|g| Ctx::field(g, "left").is_some_and(|l| l.id() == p.id()));
            if matches!(
                gk,
                "assignment_expression"
                    | "augmented_assignment_expression"
                    | "reference_assignment_expression"
            ) && is_left
            {
                if let Some(f) = repeated(cx, p) {
                    uses.adds.push((g.unwrap_or(p), f, keyed));
                }
                if cx.text(g.unwrap_or(p)).contains("??=") {
                    uses.lookups += 1;
                }
            } else if gk == "unset_statement" {
                uses.removes += 1;
            } else {
                uses.lookups += 1;
            }
        }
        "argument" => {
            let Some((call, name)) = arg_of(cx, u) else {
                return;
            };
            match name {
                "array_push" | "array_unshift" => {
                    if let Some(f) = repeated(cx, call) {
                        uses.adds.push((call, f, false));
                    }
                }
                "array_shift" | "array_pop" | "array_splice" | "count" | "sizeof" => {
                    uses.removes += 1
                }
                "isset" | "in_array" | "array_key_exists" | "array_keys" | "array_values"
                | "json_encode" | "var_dump" | "print_r" | "implode" | "array_search" | "empty" => {
                    uses.lookups += 1
                }
                _ => uses.escapes += 1,
            }
        }
        "isset_expression" => uses.lookups += 1,
        "assignment_expression" | "reference_assignment_expression" => {
            if Ctx::field(p, "left").is_some_and(|l| l.id() == u.id()) {
                if repeated(cx, p).is_some() || cx.enclosing(p, NAMED_FN).is_some() {
                    uses.removes += 1; // reset or re-slice
                }
            } else {
                uses.escapes += 1;
            }
        }
        "augmented_assignment_expression" => {
            if let Some(f) = repeated(cx, p) {
                uses.adds.push((p, f, true));
            }
        }
        "return_statement" | "array_element_initializer" | "by_ref" => uses.escapes += 1,
        _ => {}
    }
}

/// Key text that names a class (one entry per class the code declares).
const PER_CLASS_KEYS: &[&str] = &[
    "::class",
    "get_class(",
    "get_called_class(",
    "get_parent_class(",
    "get_debug_type(",
    "gettype(",
    "[$class]",
    "[$className]",
];

/// Whether an add site is a registration (it stores a parameter of its
/// function as it is: `static::$skipCallbacks[] = $callback`) or is keyed by
/// a class, a class constant or an encoding (`self::$cache[static::class]`,
/// `[static::ALGORITHM]`, `[$this->encoding]`: bounded by the code, not by
/// traffic).
fn registration_or_per_class<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let (target, value) = match site.kind() {
        "function_call_expression" => {
            let args = Ctx::field(site, "arguments");
            let last = args.and_then(|a| a.named_child(a.named_child_count().saturating_sub(1)));
            (String::new(), last.map(|l| cx.text(l)).unwrap_or(""))
        }
        _ => (
            Ctx::field(site, "left")
                .map(|l| cx.text(l).to_string())
                .unwrap_or_default(),
            Ctx::field(site, "right").map(|r| cx.text(r)).unwrap_or(""),
        ),
    };
    let per_class = PER_CLASS_KEYS.iter().any(|k| target.contains(k))
        || class_constant_key(&target)
        || ["encoding", "charset"].iter().any(|k| {
            target.ends_with(&format!("[$this->{k}]")) || target.ends_with(&format!("[${k}]"))
        });
    // A callable parameter stored as it is: a callback registered once by
    // its caller (a scalar parameter appended per call still grows).
    let stored_param = value.starts_with('$')
        && value[1..].chars().all(|c| c.is_alphanumeric() || c == '_')
        && cx
            .enclosing(site, NAMED_FN)
            .and_then(|f| Ctx::field(f, "parameters"))
            .is_some_and(|p| {
                (0..p.named_child_count())
                    .filter_map(|i| p.named_child(i))
                    .map(|param| cx.text(param))
                    .any(|decl| {
                        let declares = decl.match_indices(value).any(|(i, _)| {
                            !decl[i + value.len()..]
                                .starts_with(|c: char| c.is_alphanumeric() || c == '_')
                        });
                        let lower = decl.to_ascii_lowercase();
                        declares && HANDLER_WORDS.iter().any(|k| lower.contains(k))
                    })
            });
    per_class || stored_param
}

/// A key that is a class constant read through `static::` or `self::`
/// (`self::$plugins[static::ALGORITHM]`): one value per class, so the
/// entries are bounded by the classes.
fn class_constant_key(target: &str) -> bool {
    ["[static::", "[self::"].iter().any(|open| {
        target.match_indices(open).any(|(i, _)| {
            let rest = &target[i + open.len()..];
            let name: &str = rest.split(']').next().unwrap_or("");
            !name.is_empty()
                && rest.len() > name.len()
                && name.starts_with(|c: char| c.is_ascii_uppercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
    })
}

/// Words in a parameter's declaration (type or name) that make it a
/// callable or handler its caller registers.
const HANDLER_WORDS: &[&str] = &[
    "callable",
    "closure",
    "callback",
    "listener",
    "handler",
    "hook",
    "resolver",
    "subscriber",
];

/// The container, key and stored value of a keyed add site (`$c[$k] = v`,
/// `$c[$k] ??= v`).
fn keyed_entry<'a>(site: Node<'a>) -> Option<(Node<'a>, Node<'a>, Node<'a>)> {
    let left = Ctx::field(site, "left").filter(|l| l.kind() == "subscript_expression")?;
    Some((
        left.named_child(0)?,
        left.named_child(1)?,
        Ctx::field(site, "right")?,
    ))
}

/// Calls that return the content of the file at their first argument.
const FILE_READERS: &[&str] = &[
    "file_get_contents",
    "file",
    "parse_ini_file",
    "simplexml_load_file",
    "yaml_parse_file",
];

/// Whether the stored value is (built from) the content of the file at
/// the key's path (`$m[$path] = json_decode(file_get_contents($path))`,
/// `$c[$file] ??= require $file`, or a variable the function computes from
/// `file_get_contents($file)`): such a cache is bounded by the files that
/// exist.
fn reads_file_at_key<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let Some((_, key, value)) = keyed_entry(site) else {
        return false;
    };
    let key = cx.text(key);
    // The stored value, or, when it is a variable computed in the function
    // (`$buffer = file_get_contents($file); ... $c[$file] = $result`), the
    // function that computes it.
    let scope = if value.kind() == "variable_name" {
        cx.enclosing(site, NAMED_FN).unwrap_or(value)
    } else {
        value
    };
    // A path built from the key and a file's extension (`$name . '.ini'`,
    // `'modules/' . $m . '/' . $c . '.ini'`) read by any call: the key
    // names a file.
    let names_file = std::iter::once(value)
        .chain(cx.desc(value).iter().copied())
        .filter(|n| n.kind() == "binary_expression" && cx.text(*n).contains(key))
        .any(|n| {
            cx.desc(n).iter().any(|lit| {
                matches!(lit.kind(), "string" | "encapsed_string")
                    && file_extension(cx.text(*lit).trim_matches(['\'', '"']))
            })
        });
    if names_file {
        return true;
    }
    std::iter::once(scope)
        .chain(cx.desc(scope).iter().copied())
        .any(|n| match n.kind() {
            "function_call_expression" => {
                FILE_READERS.contains(&callee(cx, n).1)
                    && Ctx::field(n, "arguments")
                        .and_then(|a| a.named_child(0))
                        .and_then(|a| a.named_child(0))
                        .is_some_and(|a| cx.text(a) == key)
            }
            "include_expression"
            | "include_once_expression"
            | "require_expression"
            | "require_once_expression" => n
                .named_child(0)
                .is_some_and(|a| cx.text(a).trim_matches(['(', ')']) == key),
            _ => false,
        })
}

/// Whether a string literal is a file name's extension (`.ini`, `.json`,
/// `.yml`, `.php`), as a path is built from a name.
fn file_extension(lit: &str) -> bool {
    lit.strip_prefix('.').is_some_and(|ext| {
        (2..=5).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// Whether `value` is made from the function's parameters other than the
/// key (`array_merge(static::$groups[$group], $paths)`, `['url' => $url]`)
/// and not from the key: what is stored is the caller's, not computed on a
/// miss.
fn from_other_parameters<'a>(
    cx: &Ctx<'a>,
    value: Node<'a>,
    params: &[&str],
    key: &str,
    container: &str,
) -> bool {
    let vars: Vec<Node> = std::iter::once(value)
        .chain(cx.desc(value).iter().copied())
        .filter(|n| n.kind() == "variable_name")
        .collect();
    let uses_other = vars
        .iter()
        .any(|v| params.contains(&cx.text(*v)) && cx.text(*v) != key);
    let uses_key = vars.iter().any(|v| {
        cx.text(*v) == key
            && !cx.up(*v).is_some_and(|p| {
                p.kind() == "subscript_expression"
                    && p.named_child(0).is_some_and(|o| cx.text(o) == container)
            })
    });
    uses_other && !uses_key
}

/// A registration: the function stores, under a key that is one of its
/// parameters, a value made from its other parameters (`function
/// addGroup($group, $paths) { static::$groups[$group] =
/// array_merge(static::$groups[$group], $paths); }`, or `self::$items[$s][]
/// = ['label' => $label]`). That is a configuration API (its callers decide
/// what and how often), not a memo computing a value on a miss; every store
/// under that key in the function (`static::$groups[$group] = []` first) is
/// part of the registration.
fn registers_parameter<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    // `self::$items[$section][] = [...]` appends to the entry under `$section`.
    let appended_entry = || {
        let left = Ctx::field(site, "left").filter(|l| l.kind() == "subscript_expression")?;
        if left.named_child_count() != 1 {
            return None;
        }
        let inner = left
            .named_child(0)
            .filter(|i| i.kind() == "subscript_expression")?;
        Some((inner.named_child(0)?, inner.named_child(1)?))
    };
    let Some((container, key)) = keyed_entry(site)
        .map(|(c, k, _)| (c, k))
        .or_else(appended_entry)
    else {
        return false;
    };
    let Some(f) = cx.enclosing(site, NAMED_FN) else {
        return false;
    };
    let params: Vec<&str> = Ctx::field(f, "parameters")
        .map(|p| {
            let mut cur = p.walk();
            let list: Vec<Node> = p.named_children(&mut cur).collect();
            list.into_iter()
                .filter_map(|param| Ctx::field(param, "name"))
                .map(|n| cx.text(n))
                .collect()
        })
        .unwrap_or_default();
    let k = cx.text(key);
    if key.kind() != "variable_name" || !params.contains(&k) {
        return false;
    }
    let c = cx.text(container);
    let entry = format!("{c}[{k}]");
    cx.desc(f).iter().any(|n| {
        matches!(
            n.kind(),
            "assignment_expression" | "augmented_assignment_expression"
        ) && Ctx::field(*n, "left").is_some_and(|l| {
            let t = cx.text(l);
            t == entry || t.starts_with(&format!("{entry}["))
        }) && Ctx::field(*n, "right").is_some_and(|r| from_other_parameters(cx, r, &params, k, c))
    })
}

/// Whether an add site only runs while the store is still empty: inside
/// `if (!$signals && ...)` or `if (empty(self::$map))` (the fill happens
/// once, on first use, not per request).
fn filled_while_empty<'a>(cx: &Ctx<'a>, site: Node<'a>, name: &str) -> bool {
    let is_store = |e: &str| e == name || e.ends_with(&format!("::{name}"));
    let mut cur = cx.up(site);
    while let Some(n) = cur {
        if FN.contains(&n.kind()) {
            return false;
        }
        if n.kind() == "if_statement" && Ctx::field(n, "body").is_some_and(|b| Ctx::inside(site, b))
        {
            let cond: String = Ctx::field(n, "condition")
                .map(|c| cx.text(c))
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let cond = cond.strip_prefix('(').and_then(|c| c.strip_suffix(')'));
            let empty_test = cond.is_some_and(|c| {
                !c.contains("||")
                    && c.split("&&").any(|part| {
                        part.strip_prefix('!').is_some_and(is_store)
                            || part
                                .strip_prefix("empty(")
                                .and_then(|p| p.strip_suffix(')'))
                                .is_some_and(is_store)
                    })
            });
            if empty_test {
                return true;
            }
        }
        cur = cx.up(n);
    }
    false
}

/// Whether a keyed add site is a class keeping its own instances by name
/// in a static method (a multiton: `self::$instances[$name] = new
/// static()`; `$idp = new self($id); self::$cache[$id] = $idp;`): one
/// object per configured name (a database configuration, an identity
/// provider, a merge strategy), which its callers name, not per request.
/// A write in an entry point, or keyed by more than a variable, still
/// counts.
fn own_instance_registry<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let Some((_, key, value)) = keyed_entry(site) else {
        return false;
    };
    if key.kind() != "variable_name" || in_entry(cx, site) {
        return false;
    }
    let Some(method) = cx
        .enclosing(site, NAMED_FN)
        .filter(|f| f.kind() == "method_declaration")
    else {
        return false;
    };
    let mut cur = method.walk();
    if !method
        .children(&mut cur)
        .any(|c| c.kind() == "static_modifier")
    {
        return false;
    }
    let class = cx
        .enclosing(method, &["class_declaration"])
        .and_then(|c| Ctx::field(c, "name"))
        .map_or("", |n| cx.text(n));
    let own = |n: Node<'a>| {
        n.kind() == "object_creation_expression"
            && n.named_child(0).is_some_and(|c| {
                let t = cx.text(c).rsplit('\\').next().unwrap_or("");
                t.eq_ignore_ascii_case("self")
                    || t.eq_ignore_ascii_case("static")
                    || (!class.is_empty() && t == class)
            })
    };
    if own(value) {
        return true;
    }
    value.kind() == "variable_name"
        && cx.desc(method).iter().any(|n| {
            n.kind() == "assignment_expression"
                && Ctx::field(*n, "left").is_some_and(|l| cx.text(l) == cx.text(value))
                && Ctx::field(*n, "right").is_some_and(own)
        })
}

/// Whether a keyed add site stores the class member its key names
/// (`$m[$method] = $class->getMethod($method)`, `new \ReflectionMethod($c,
/// $method)`): the keys range over the members the code declares.
fn member_lookup<'a>(cx: &Ctx<'a>, site: Node<'a>) -> bool {
    let Some((_, key, value)) = keyed_entry(site) else {
        return false;
    };
    let key = cx.text(key);
    std::iter::once(value)
        .chain(cx.desc(value).iter().copied())
        .filter(|n| CALLS.contains(&n.kind()) || n.kind() == "object_creation_expression")
        .any(|call| {
            let t = cx.text(call);
            let lookup = [
                "->getMethod(",
                "->getProperty(",
                "->getReflectionConstant(",
                "ReflectionMethod(",
                "ReflectionProperty(",
            ]
            .iter()
            .any(|m| t.contains(m));
            lookup
                && Ctx::field(call, "arguments").is_some_and(|a| {
                    (0..a.named_child_count())
                        .filter_map(|i| a.named_child(i))
                        .any(|arg| cx.text(arg) == key)
                })
        })
}

fn report<'a>(
    cx: &mut Ctx<'a>,
    what: &str,
    name: &str,
    mut uses: Uses<'a>,
    cleared_elsewhere: Option<Unless>,
) {
    if what == "script-level array" {
        // A script's top level runs once per request or run (PHP's model):
        // it keeps a store alive across requests only inside a worker's
        // loop (an import script's `foreach` over query rows ends with it).
        uses.adds
            .retain(|(site, _, _)| cx.enclosing(*site, NAMED_FN).is_some() || in_entry(cx, *site));
    }
    // A write under a literal key of the store itself (`$cfg['mode'] =
    // ...`) replaces one entry: it never adds another (`$c[$id]['name']`
    // still adds one per `$id`).
    uses.adds.retain(|(site, _, _)| {
        !keyed_entry(*site).is_some_and(|(container, key, _)| {
            container.kind() != "subscript_expression"
                && matches!(key.kind(), "string" | "integer" | "float" | "boolean")
        })
    });
    uses.adds
        .retain(|(site, _, _)| !registration_or_per_class(cx, *site));
    uses.adds
        .retain(|(site, _, _)| !filled_while_empty(cx, *site, name) && !member_lookup(cx, *site));
    uses.adds
        .retain(|(site, _, _)| !own_instance_registry(cx, *site));
    uses.adds
        .retain(|(site, _, _)| !reads_file_at_key(cx, *site) && !registers_parameter(cx, *site));
    // `$c[$k] = []` only makes room for the nested writes under `$k`: when
    // every one of those is gone (bounded above), so is the initializer.
    let sites: Vec<Node> = uses.adds.iter().map(|(s, _, _)| *s).collect();
    uses.adds.retain(|(site, _, _)| {
        let Some((container, key, value)) = keyed_entry(*site) else {
            return true;
        };
        let empty = value.kind() == "array_creation_expression" && value.named_child_count() == 0;
        if !empty {
            return true;
        }
        let entry = format!("{}[{}]", cx.text(container), cx.text(key));
        let fills_here = cx.enclosing(*site, NAMED_FN).is_some_and(|f| {
            cx.desc(f).iter().any(|n| {
                n.kind() == "assignment_expression"
                    && Ctx::field(*n, "left")
                        .is_some_and(|l| cx.text(l).starts_with(&format!("{entry}[")))
            })
        });
        // Kept when a nested write still counts (it is among the sites).
        !fills_here
            || sites.iter().any(|s| {
                s.id() != site.id()
                    && Ctx::field(*s, "left")
                        .is_some_and(|l| cx.text(l).starts_with(&format!("{entry}[")))
            })
    });
    if uses.adds.is_empty() || uses.removes > 0 || uses.escapes > 0 {
        return;
    }
    // Keyed writes in constructors file services by name (a registry).
    if uses
        .adds
        .iter()
        .all(|(_, f, keyed)| *keyed && *f == "__construct")
    {
        return;
    }
    let (site, f, keyed) = uses.adds[0];
    let sites: Vec<Node> = uses.adds.iter().map(|(s, _, _)| *s).collect();
    let Some(unless) = growth_evidence(cx, &sites, name) else {
        return;
    };
    let unless = Unless::either(
        Unless::either(unless, cleared_elsewhere),
        Some(Unless::PerRequestPhp),
    );
    let lname = name.to_ascii_lowercase();
    if keyed && (uses.lookups > 0 || lname.contains("cache") || lname.contains("memo")) {
        cx.hit_unless(
            Rule::UnboundedCache,
            site,
            format!("{what} `{name}` is used as a cache in `{f}`: in a long-running worker it keeps one entry per distinct key for the life of the process, and nothing unsets, resets or counts it"),
            "bound it: unset old keys or reset the array when `count()` passes a limit, or use a cache with a size/TTL (APCu, Symfony Cache, an LRU)",
            unless,
        );
    } else {
        cx.hit_unless(
            Rule::GlobalAccumulator,
            site,
            format!("{what} `{name}` only grows: `{f}` adds to it on every request/job of a long-running worker and nothing removes from, resets or bounds it"),
            "reset it at the end of each request/job, cap it (array_shift past a limit), or keep it local",
            unless,
        );
    }
}

fn containers(cx: &mut Ctx) {
    // Static properties: `private static array $cache = [];`
    for prop in cx.all("property_declaration") {
        if cx.expired() {
            break;
        }
        if !cx.text(prop).contains("static") {
            continue;
        }
        for el in cx.desc_kind(prop, "property_element") {
            let Some(var) = Ctx::field(el, "name") else {
                continue;
            };
            let array_default = Ctx::field(el, "default_value").is_some_and(|d| {
                d.kind() == "array_creation_expression" && d.named_child_count() == 0
            });
            if !array_default {
                continue;
            }
            let bare = cx.text(var).trim_start_matches('$');
            let mut uses = Uses::default();
            for n in cx.named_in(cx.root, "name", bare) {
                let Some(u) = cx
                    .up(n)
                    .filter(|v| v.kind() == "variable_name")
                    .and_then(|v| cx.up(v))
                    .filter(|s| s.kind() == "scoped_property_access_expression")
                else {
                    continue;
                };
                classify(cx, u, &mut uses);
            }
            let cleared = cx
                .enclosing(prop, &["class_declaration", "trait_declaration"])
                .and_then(|c| Ctx::field(c, "name"))
                .map(|c| Unless::ClearedInTree {
                    class: cx.text(c).to_string(),
                    store: cx.text(var).to_string(),
                });
            report(cx, "static property", cx.text(var), uses, cleared);
        }
    }
    // Function statics: `static $seen = [];` inside a function.
    for decl in cx.all("static_variable_declaration") {
        if cx.expired() {
            break;
        }
        let (Some(var), Some(v)) = (Ctx::field(decl, "name"), Ctx::field(decl, "value")) else {
            continue;
        };
        if v.kind() != "array_creation_expression" || v.named_child_count() != 0 {
            continue;
        }
        let Some(f) = cx.enclosing(decl, FN) else {
            continue;
        };
        let bare = cx.text(var).trim_start_matches('$');
        let mut uses = Uses::default();
        for n in cx.named_in(f, "name", bare) {
            let Some(u) = cx.up(n).filter(|v| v.kind() == "variable_name") else {
                continue;
            };
            if Ctx::inside(u, decl) || cx.enclosing(u, FN).map(|x| x.id()) != Some(f.id()) {
                continue;
            }
            classify(cx, u, &mut uses);
        }
        report(cx, "static variable", cx.text(var), uses, None);
    }
    // Script-level arrays (and `$GLOBALS['x']`), used at script level or
    // through `global $x` / `$GLOBALS['x']` in functions.
    let mut cur = cx.root.walk();
    let top: Vec<Node> = cx.root.named_children(&mut cur).collect();
    for stmt in top {
        if cx.expired() {
            break;
        }
        let Some(a) = stmt.named_child(0).filter(|a| {
            stmt.kind() == "expression_statement" && a.kind() == "assignment_expression"
        }) else {
            continue;
        };
        let (Some(l), Some(r)) = (Ctx::field(a, "left"), Ctx::field(a, "right")) else {
            continue;
        };
        if l.kind() != "variable_name"
            || r.kind() != "array_creation_expression"
            || r.named_child_count() != 0
        {
            continue;
        }
        let bare = cx.text(l).trim_start_matches('$');
        let mut uses = Uses::default();
        for n in cx.named_in(cx.root, "name", bare) {
            let Some(u) = cx.up(n).filter(|v| v.kind() == "variable_name") else {
                continue;
            };
            if u.id() == l.id() {
                continue;
            }
            let in_fn = cx.enclosing(u, NAMED_FN);
            let global = in_fn.is_some_and(|f| {
                cx.desc_kind(f, "global_declaration")
                    .iter()
                    .any(|g| cx.text(*g).contains(cx.text(u)))
            });
            if in_fn.is_some() && !global {
                continue;
            }
            if cx.up(u).is_some_and(|p| p.kind() == "global_declaration") {
                continue;
            }
            classify(cx, u, &mut uses);
        }
        // `$GLOBALS['name']` uses.
        for s in cx.named_in(cx.root, "string_content", bare) {
            let Some(sub) = cx
                .up(s)
                .and_then(|st| cx.up(st))
                .filter(|x| x.kind() == "subscript_expression")
            else {
                continue;
            };
            if sub.named_child(0).is_some_and(|o| cx.text(o) == "$GLOBALS") {
                classify(cx, sub, &mut uses);
            }
        }
        report(cx, "script-level array", cx.text(l), uses, None);
    }
}

// Not `attach`: SplSubject observers and mail/HTTP attachments share the name.
const ADD_LISTENER: &[&str] = &["addListener", "on", "listen", "addSubscriber"];
const REMOVE_LISTENER: &[&str] = &[
    "removeListener",
    "off",
    "removeSubscriber",
    "forget",
    "detach",
    "removeAllListeners",
    "unsubscribe",
];

fn listeners(cx: &mut Ctx) {
    for call in all_calls(cx) {
        if cx.expired() {
            break;
        }
        let (target, m) = callee(cx, call);
        if !ADD_LISTENER.contains(&m) || target.is_empty() {
            continue;
        }
        let long_lived = outlives_the_job(cx, target);
        let loop_target = cx.enclosing(call, NAMED_FN).is_none()
            && cx.enclosing(call, LOOPS).is_some()
            && target.starts_with('$');
        if !(long_lived || loop_target) {
            continue;
        }
        let Some(place) = repeated(cx, call) else {
            continue;
        };
        if cx
            .up(call)
            .is_some_and(|p| p.kind() != "expression_statement")
        {
            continue; // the handle is kept
        }
        if passes_parameter_through(cx, call) {
            // A registration API (`function before($callback) {
            // $this->events->listen(..., $callback); }`): its callers
            // decide how often it runs, not this line.
            continue;
        }
        if target_is_handed_in(cx, call, target) {
            continue;
        }
        let removed = REMOVE_LISTENER.iter().any(|r| {
            mentions(cx.src, &format!("{target}->{r}("))
                || mentions(cx.src, &format!("{target}::{r}("))
        });
        if removed {
            continue;
        }
        let Some(unless) = growth_evidence(cx, &[call], target) else {
            continue;
        };
        cx.hit_unless(
            Rule::ListenerLeak,
            call,
            format!("`{target}` outlives the job, and `{m}` in `{place}` adds one more listener to it on every job; none is removed, so each listener and what its closure captures stays alive in the worker"),
            "register listeners once at boot (a service provider / subscriber), or remove it (`removeListener`/`forget`) when the job ends",
            Unless::either(unless, Some(Unless::PerRequestPhp)),
        );
    }
}

/// Whether a call hands on a parameter of its enclosing function as an
/// argument, as it is or wrapped in a closure that captures a handler
/// parameter (`addHandler(LogoutHandlerInterface $handler)` registering
/// `function ($e) use ($handler) {...}`): the function wraps the
/// registration for its callers.
fn passes_parameter_through<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    let Some(f) = cx.enclosing(call, NAMED_FN) else {
        return false;
    };
    let Some(params) = Ctx::field(f, "parameters") else {
        return false;
    };
    let Some(args) = Ctx::field(call, "arguments") else {
        return false;
    };
    let declared = |name: &str, handler_only: bool| {
        (0..params.named_child_count())
            .filter_map(|i| params.named_child(i))
            .map(|p| cx.text(p))
            .any(|decl| {
                let declares = decl.match_indices(name).any(|(i, _)| {
                    !decl[i + name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                let lower = decl.to_ascii_lowercase();
                declares && (!handler_only || HANDLER_WORDS.iter().any(|k| lower.contains(k)))
            })
    };
    (0..args.named_child_count())
        .filter_map(|i| args.named_child(i))
        .filter_map(|a| a.named_child(0))
        .any(|v| match v.kind() {
            "variable_name" => declared(cx.text(v), false),
            "anonymous_function" => cx
                .desc_kind(v, "anonymous_function_use_clause")
                .into_iter()
                .flat_map(|c| cx.desc_kind(c, "variable_name"))
                .any(|u| declared(cx.text(u), true)),
            _ => false,
        })
}

/// Whether the method set `target` to one of its parameters before the
/// call (`$this->connection = $connection; $this->connection->on(...)`):
/// the listener goes on the object handed in, attached once per object and
/// gone with it, as when it is added to `$connection` itself.
fn target_is_handed_in<'a>(cx: &Ctx<'a>, call: Node<'a>, target: &str) -> bool {
    let Some(f) = cx.enclosing(call, NAMED_FN) else {
        return false;
    };
    let Some(params) = Ctx::field(f, "parameters") else {
        return false;
    };
    let param_names: Vec<&str> = cx
        .desc_kind(params, "variable_name")
        .into_iter()
        .map(|v| cx.text(v))
        .collect();
    cx.desc_kind(f, "assignment_expression")
        .into_iter()
        .any(|a| {
            a.end_byte() <= call.start_byte()
                && Ctx::field(a, "left").is_some_and(|l| cx.text(l) == target)
                && Ctx::field(a, "right")
                    .filter(|r| r.kind() == "variable_name")
                    .is_some_and(|r| param_names.contains(&cx.text(r)))
        })
}

/// Whether `n` is in a method of a console command (`class X extends
/// Command`): the command runs once per process, and only its loops repeat.
fn in_console_command<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    cx.enclosing(f, &["class_declaration"])
        .is_some_and(|class| extends_a(cx, class, "Command"))
}

/// Whether `class` names a superclass whose name ends with `base`
/// (`extends Command`, `extends \Illuminate\Support\ServiceProvider`).
fn extends_a<'a>(cx: &Ctx<'a>, class: Node<'a>, base: &str) -> bool {
    (0..class.named_child_count())
        .filter_map(|i| class.named_child(i))
        .any(|c| c.kind() == "base_clause" && cx.text(c).trim_end().ends_with(base))
}

/// Whether method `f` is start-up code of a Laravel service provider (a
/// class extending `ServiceProvider`, in any namespace): the application
/// makes each provider once and calls its `register()` and `boot()` once
/// (under Octane, once per worker), so those, and a private or protected
/// method of the class that only they call, run a fixed number of times,
/// as a function only Go's `init` or a page's start-up calls does. Only
/// calls made directly in a start-up method's body count (not in a closure
/// it hands on, which may run later, per request), and a method named in
/// any other way (`[$this, 'name']`, `$this->name(...)`) may run anywhere.
fn provider_start_up<'a>(cx: &Ctx<'a>, f: Node<'a>) -> bool {
    let Some(class) = cx
        .enclosing(f, &["class_declaration"])
        .filter(|c| extends_a(cx, *c, "ServiceProvider"))
    else {
        return false;
    };
    let methods: Vec<Node> = cx
        .desc_kind(class, "method_declaration")
        .into_iter()
        .filter(|m| {
            cx.enclosing(*m, &["class_declaration"])
                .is_some_and(|c| c.id() == class.id())
        })
        .collect();
    let mut start_up: Vec<Node> = methods
        .iter()
        .copied()
        .filter(|m| once_fn(fn_name(cx, *m)))
        .collect();
    let own_call = |call: Node<'a>| {
        let (on, _) = callee(cx, call);
        let as_callable = Ctx::field(call, "arguments")
            .is_some_and(|a| cx.text(a).split_whitespace().collect::<String>() == "(...)");
        matches!(on, "$this" | "self" | "static") && !as_callable
    };
    loop {
        if start_up.iter().any(|m| m.id() == f.id()) {
            return true;
        }
        let before = start_up.len();
        for m in &methods {
            if start_up.iter().any(|s| s.id() == m.id()) {
                continue;
            }
            let private = {
                let mut cur = m.walk();
                let found = m.children(&mut cur).any(|c| {
                    c.kind() == "visibility_modifier"
                        && matches!(cx.text(c), "private" | "protected")
                });
                found
            };
            let name = fn_name(cx, *m);
            if !private || name.is_empty() {
                continue;
            }
            // Every mention of the name in the class: its declaration, and
            // calls on `$this`, `self` or `static` made directly in a
            // start-up method.
            let quoted = [format!("'{name}'"), format!("\"{name}\"")];
            if quoted.iter().any(|q| cx.text(class).contains(q.as_str())) {
                continue;
            }
            let mentions = cx.named_in(class, "name", name);
            let mut calls = 0;
            let only_from_start_up = mentions.iter().all(|n| {
                let Some(p) = cx.up(*n) else { return false };
                if p.id() == m.id() {
                    return true;
                }
                let called_here = CALLS.contains(&p.kind())
                    && Ctx::field(p, "name").is_some_and(|x| x.id() == n.id())
                    && own_call(p)
                    && cx
                        .enclosing(p, FN)
                        .is_some_and(|e| start_up.iter().any(|s| s.id() == e.id()));
                calls += usize::from(called_here);
                called_here
            });
            if only_from_start_up && calls > 0 {
                start_up.push(*m);
            }
        }
        if start_up.len() == before {
            return false;
        }
    }
}

/// Whether `$var` is assigned only provably small values in `scope`.
fn scalar_var<'a>(cx: &Ctx<'a>, scope: Node<'a>, bare: &str) -> bool {
    let mut any = false;
    for n in cx.named_in(scope, "name", bare) {
        let Some(v) = cx.up(n).filter(|v| v.kind() == "variable_name") else {
            continue;
        };
        let Some(a) = cx.up(v).filter(|a| a.kind() == "assignment_expression") else {
            continue;
        };
        if Ctx::field(a, "left").is_none_or(|l| l.id() != v.id()) {
            continue;
        }
        any = true;
        let small = Ctx::field(a, "right").is_some_and(|r| {
            matches!(
                r.kind(),
                "integer" | "float" | "boolean" | "null" | "string" | "encapsed_string"
            ) || (r.kind() == "function_call_expression"
                && matches!(
                    callee(cx, r).1,
                    "count" | "strlen" | "intval" | "md5" | "sha1" | "time"
                ))
                || (r.kind() == "member_access_expression"
                    && Ctx::field(r, "name").is_some_and(|n| {
                        matches!(cx.text(n), "id" | "key" | "name" | "uuid" | "count")
                    }))
        });
        if !small {
            return false;
        }
    }
    any
}

const BULK: &[&str] = &[
    "file_get_contents",
    "file",
    "fetchAll",
    "fetch_all",
    "json_decode",
    "unserialize",
    "getContent",
    "stream_get_contents",
    "str_repeat",
    "array_fill",
    "range",
    "all",
    "get",
    "toArray",
    "getBody",
];

/// Whether `$var` is assigned something bulky (a file, a result set, a
/// request body) in `scope`.
fn bulk_var<'a>(cx: &Ctx<'a>, scope: Node<'a>, bare: &str) -> bool {
    cx.named_in(scope, "name", bare).into_iter().any(|n| {
        let Some(v) = cx.up(n).filter(|v| v.kind() == "variable_name") else {
            return false;
        };
        let Some(a) = cx.up(v).filter(|a| a.kind() == "assignment_expression") else {
            return false;
        };
        Ctx::field(a, "left").is_some_and(|l| l.id() == v.id())
            && Ctx::field(a, "right").is_some_and(|r| {
                let mut r = r;
                while CALLS.contains(&r.kind()) && !BULK.contains(&callee(cx, r).1) {
                    match Ctx::field(r, "object") {
                        Some(o) => r = o,
                        None => break,
                    }
                }
                CALLS.contains(&r.kind()) && BULK.contains(&callee(cx, r).1)
            })
    })
}

/// Registrations that keep a closure: listeners, shutdown functions,
/// periodic timers, and one-shot timers (`after`, `addTimer`: kept for their
/// delay, 15 minutes or more). Not `defer`/`futureTick`: run on the next
/// tick of the loop and released.
const REGISTER: &[&str] = &[
    "on",
    "addListener",
    "listen",
    "register_shutdown_function",
    "tick",
    "after",
    "addPeriodicTimer",
    "addTimer",
    "subscribe",
    "onMessage",
];

/// Whether a call's target lives as long as the worker: a property or
/// static of the object serving jobs (`$this->events`, `self::$bus`), a
/// global, a class or what a class hands out (`Event::listen`,
/// `\Foo\Bus::on`, `App::make('events')->listen`), or a target the
/// configuration names.
fn outlives_the_job(cx: &Ctx, target: &str) -> bool {
    target.starts_with("$this->")
        || target.starts_with("self::")
        || target.starts_with("static::")
        || target.starts_with("$GLOBALS")
        || target.starts_with(|c: char| c.is_ascii_uppercase() || c == '\\')
        || cx.opts.listener_targets.iter().any(|t| t == target)
}

/// Whether a registration call keeps its callback beyond the job: a
/// function (`register_shutdown_function`), a property or static, a class,
/// or a variable naming a service (`$loop`, `$dispatcher`, `$server`). A
/// listener on a per-request object (`$body->on(...)`, `$conn->on(...)`,
/// `$request->getBody()->on(...)`) goes with that object.
fn registers_with_something_long_lived<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    const SERVICES: &[&str] = &[
        "loop",
        "dispatcher",
        "emitter",
        "events",
        "event",
        "bus",
        "server",
        "app",
        "container",
        "worker",
        "pubsub",
        "hub",
        "broker",
        "manager",
        "registry",
        "scheduler",
    ];
    let (target, _) = callee(cx, call);
    if target.is_empty() || outlives_the_job(cx, target) {
        return true;
    }
    let Some(var) = target.strip_prefix('$') else {
        return false;
    };
    if !var.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false; // a call's result or a chain off a per-request object
    }
    let lower = var.to_ascii_lowercase();
    SERVICES.iter().any(|s| lower.contains(s))
}

fn closures(cx: &mut Ctx) {
    for f in cx.all("anonymous_function") {
        if cx.expired() {
            break;
        }
        let Some(clause) = cx
            .desc_kind(f, "anonymous_function_use_clause")
            .into_iter()
            .find(|c| cx.up(*c).map(|p| p.id()) == Some(f.id()))
        else {
            continue;
        };
        // Registered with something long-lived, or stored in a static. A
        // registration whose handle is kept (`$id = $token->subscribe(...)`)
        // can be, and usually is, undone.
        let registered = arg_of(cx, f).is_some_and(|(call, name)| {
            REGISTER.contains(&name)
                && cx
                    .up(call)
                    .is_none_or(|p| p.kind() == "expression_statement")
                && registers_with_something_long_lived(cx, call)
        });
        let stored = cx.up(f).is_some_and(|p| {
            p.kind() == "assignment_expression"
                && Ctx::field(p, "left").is_some_and(|l| {
                    let t = cx.text(l);
                    t.starts_with("self::")
                        || t.starts_with("static::")
                        || t.starts_with("$GLOBALS")
                })
        });
        if !registered && !stored {
            continue;
        }
        if cx
            .enclosing(f, NAMED_FN)
            .is_some_and(|func| sets_up_a_singleton(cx, func, f))
        {
            continue; // registered once, as the process's one instance is made
        }
        // Registered per job or request only in an entry point or a
        // function one calls; a script's top level outside a worker loop
        // runs once (a test bootstrap's shutdown function).
        let unless = if in_entry(cx, f) {
            None
        } else {
            match cx.enclosing(f, NAMED_FN) {
                Some(func) => Some(Unless::NotCalledFromEntry {
                    methods: vec![fn_name(cx, func).to_string()],
                }),
                None => continue,
            }
        };
        let scope = cx.enclosing(f, FN).unwrap_or(cx.root);
        let mut cur = clause.walk();
        let vars: Vec<Node> = clause.named_children(&mut cur).collect();
        for v in vars {
            let by_ref = v.kind() == "by_ref";
            let var = if by_ref { v.named_child(0) } else { Some(v) };
            let Some(var) = var.filter(|x| x.kind() == "variable_name") else {
                continue;
            };
            let name = cx.text(var);
            let bare = name.trim_start_matches('$');
            let big = if by_ref {
                !scalar_var(cx, scope, bare)
            } else {
                bulk_var(cx, scope, bare)
            };
            if !big {
                continue;
            }
            let how = if by_ref { " by reference" } else { "" };
            cx.hit_unless(
                Rule::ClosureCapture,
                f,
                format!("this closure is kept by a long-lived registration and captures `{name}`{how}: all `{name}` holds stays alive for as long as the closure is registered, in every job that registers one"),
                "capture only the small values it needs (`$id = $job->id; ... use ($id)`), and unregister it when done",
                Unless::either(unless.clone(), Some(Unless::PerRequestPhp)),
            );
            break;
        }
    }
}

/// The SQL a PDO/mysqli statement runs: the literal passed to `query` /
/// `prepare` directly or through a local assigned in the same scope.
fn statement_sql<'a>(cx: &Ctx<'a>, scope: Node<'a>, obj: Node<'a>) -> Option<&'a str> {
    let lit = |call: Node<'a>| {
        let (_, m) = callee(cx, call);
        if !matches!(m, "query" | "prepare" | "mysqli_query" | "pg_query") {
            return None;
        }
        let args = Ctx::field(call, "arguments")?;
        let mut cur = args.walk();
        let found = args
            .named_children(&mut cur)
            .filter_map(|a| a.named_child(0))
            .find(|a| {
                matches!(
                    a.kind(),
                    "string" | "encapsed_string" | "heredoc" | "nowdoc"
                )
            })
            .map(|a| cx.text(a));
        found
    };
    if CALLS.contains(&obj.kind()) {
        return lit(obj);
    }
    if obj.kind() != "variable_name" {
        return None;
    }
    let bare = cx.text(obj).trim_start_matches('$');
    cx.named_in(scope, "name", bare).into_iter().find_map(|n| {
        let v = cx.up(n).filter(|v| v.kind() == "variable_name")?;
        let a = cx.up(v).filter(|a| a.kind() == "assignment_expression")?;
        if Ctx::field(a, "left")?.id() != v.id() {
            return None;
        }
        let r = Ctx::field(a, "right")?;
        CALLS.contains(&r.kind()).then(|| lit(r)).flatten()
    })
}

const NOT_MODELS: &[&str] = &[
    "Arr",
    "Collection",
    "Str",
    "DB",
    "Cache",
    "Config",
    "Event",
    "Route",
    "Request",
    "Auth",
    "Session",
    "Storage",
    "Log",
    "Queue",
    "App",
    "Redis",
    "self",
    "static",
    "parent",
];

/// Whether the file imports `class` from a library of values and helpers
/// (`use ipl\Stdlib\Filter;`, `use Illuminate\Support\Collection;`): its
/// static `all()` builds a value (`Filter::all()` is a conjunction of
/// rules), it queries no table.
fn imported_from_a_value_library(src: &str, class: &str) -> bool {
    const VALUE_LIBRARIES: &[&str] = &[
        "Stdlib",
        "Support",
        "Util",
        "Utils",
        "Helper",
        "Helpers",
        "Filter",
        "Validation",
        "Validator",
    ];
    let short = class.trim_start_matches('\\');
    src.lines().any(|line| {
        let Some(path) = line
            .trim()
            .strip_prefix("use ")
            .and_then(|l| l.strip_suffix(';'))
        else {
            return false;
        };
        let (path, alias) = match path.split_once(" as ") {
            Some((p, a)) => (p.trim(), a.trim()),
            None => (path.trim(), path.trim().rsplit('\\').next().unwrap_or("")),
        };
        if alias != short {
            return false;
        }
        let mut segments: Vec<&str> = path.split('\\').filter(|s| !s.is_empty()).collect();
        segments.pop(); // the class itself
        segments.iter().any(|s| VALUE_LIBRARIES.contains(s))
    })
}

/// Whether the query builder `findAll` runs on is bounded: its chain, or a
/// statement of the same function that builds or limits the same receiver
/// (`$query = $this->db->table(T)->eq('project_id', $id); ... $query->findAll()`,
/// `$this->limit(1); $this->findAll()`), limits it or filters it on a value
/// of the caller's (an equality or a list: `->eq('task_id', $task_id)`,
/// `->in('id', $ids)`, `->where('user_id', $user)`). A filter on a constant
/// (`->eq('is_active', 1)`) bounds nothing.
fn query_bounded<'a>(cx: &Ctx<'a>, call: Node<'a>, receiver: &str) -> bool {
    query_chains(cx, call, receiver)
        .iter()
        .any(|chain| chain_bounds(chain))
}

/// The code that builds the query builder `findAll` runs on: its chain
/// (`receiver`); for a query a method of the file builds
/// (`$this->getQuery($group_id)`), what that method returns; else, for a
/// receiver that is a variable or a property (`$query`, `$this->query`,
/// `$this`), the statements of the same function that assign it or call a
/// method on it (whitespace squeezed out).
fn query_chains<'a>(cx: &Ctx<'a>, call: Node<'a>, receiver: &str) -> Vec<String> {
    let mut chains = vec![receiver.to_string()];
    if let Some(helper) = receiver
        .strip_prefix("$this->")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.split_once('('))
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty() && name.chars().all(super::is_ident_char))
    {
        for m in cx.all("method_declaration") {
            if fn_name(cx, m) == helper {
                chains.extend(
                    cx.desc_kind(m, "return_statement")
                        .into_iter()
                        .map(|r| cx.text(r).to_string()),
                );
            }
        }
        return chains;
    }
    if receiver.contains('(') || receiver.is_empty() {
        return chains;
    }
    let scope = cx.text(cx.enclosing(call, FN).unwrap_or(cx.root));
    let squeezed: String = scope.split_whitespace().collect::<Vec<_>>().join("");
    let base: String = receiver.split_whitespace().collect::<Vec<_>>().join("");
    for statement in squeezed.split([';', '{', '}']) {
        // `$query = <chain>`, or a call made on the receiver itself
        // (`$query->limit(10)`, not `$this->db->...` for `$this`).
        let assigned = statement.strip_prefix(&format!("{base}="));
        let called_on = statement.strip_prefix(&format!("{base}->")).filter(|rest| {
            let name_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            name_end > 0 && rest[name_end..].starts_with('(')
        });
        if let Some(chain) = assigned.or(called_on.map(|_| statement)) {
            chains.push(chain.to_string());
        }
    }
    chains
}

/// The classes of the filter objects a query-builder chain applies, made
/// with a value that is not a constant (`->withFilter(new
/// ProjectUserRoleProjectFilter($project_id))`, also in a squeezed
/// statement: `->withFilter(newTaskProjectFilter($id))`), by last path
/// segment. A filter made with no argument or only constants
/// (`new TaskStatusFilter(TaskModel::STATUS_OPEN)`) filters on nothing of
/// the caller's.
fn filter_objects(chain: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = chain;
    while let Some(at) = rest.find("->") {
        rest = &rest[at + 2..];
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_end);
        if !name.to_ascii_lowercase().ends_with("filter") {
            continue;
        }
        let Some(made) = after
            .trim_start()
            .strip_prefix('(')
            .and_then(|a| a.trim_start().strip_prefix("new"))
            .filter(|a| {
                a.starts_with(|c: char| c.is_whitespace() || c.is_ascii_uppercase() || c == '\\')
            })
            .map(str::trim_start)
        else {
            continue;
        };
        let class_end = made
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '\\'))
            .unwrap_or(made.len());
        let (class, args) = made.split_at(class_end);
        let Some(args) = args.trim_start().strip_prefix('(') else {
            continue;
        };
        let mut depth = 1usize;
        let close = args.find(|c: char| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth == 0
        });
        let class = class.rsplit('\\').next().unwrap_or(class);
        if !class.is_empty() && args[..close.unwrap_or(args.len())].contains('$') {
            found.push(class.to_string());
        }
    }
    found
}

/// Whether a query-builder chain's text limits the rows or filters them on a
/// variable (`->limit(`, `->eq(..., $x)`, `->in(..., $ids)`, `->where(..., $v)`).
fn chain_bounds(chain: &str) -> bool {
    const LIMITS: &[&str] = &["limit", "forPage", "paginate", "setMaxResults", "take"];
    const FILTERS: &[&str] = &["eq", "in", "where", "whereIn", "andWhere", "findBy"];
    let mut rest = chain;
    while let Some(at) = rest.find("->") {
        rest = &rest[at + 2..];
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_end);
        let after = after.trim_start();
        let Some(args) = after.strip_prefix('(') else {
            continue;
        };
        if LIMITS.contains(&name) {
            return true;
        }
        if FILTERS.contains(&name) {
            let mut depth = 1usize;
            let close = args.find(|c: char| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            });
            if args[..close.unwrap_or(args.len())].contains('$') {
                return true;
            }
        }
    }
    false
}

fn results(cx: &mut Ctx) {
    for call in all_calls(cx) {
        if cx.expired() {
            break;
        }
        let (obj_text, m) = callee(cx, call);
        let flagged = match (call.kind(), m) {
            ("member_call_expression", "fetchAll" | "fetch_all") => {
                let scope = cx.enclosing(call, FN).unwrap_or(cx.root);
                Ctx::field(call, "object")
                    .and_then(|o| statement_sql(cx, scope, o))
                    .is_some_and(unbounded_select)
            }
            ("scoped_call_expression", "all" | "cursor") if m == "all" => {
                obj_text.starts_with(|c: char| c.is_ascii_uppercase())
                    && !NOT_MODELS.contains(&obj_text)
                    && !imported_from_a_value_library(cx.src, obj_text)
                    && Ctx::field(call, "arguments").is_some_and(|a| a.named_child_count() == 0)
                    && !refilled_from_a_literal_list(cx, call, obj_text)
            }
            ("member_call_expression", "get") => {
                (obj_text.starts_with("DB::table(") || obj_text.ends_with("::query()"))
                    && ![
                        "where", "limit", "take", "first", "find", "paginate", "forPage", "chunk",
                        "lazy", "cursor", "whereIn", "whereKey",
                    ]
                    .iter()
                    .any(|w| obj_text.contains(&format!("->{w}(")))
            }
            ("member_call_expression", "findAll") => {
                Ctx::field(call, "arguments").is_some_and(|a| a.named_child_count() == 0)
                    && !query_bounded(cx, call, obj_text)
            }
            _ => false,
        };
        // The query API's own definition (`public static function all()
        // { return static::query()->get(); }`) is not a use of it.
        let defines_api = cx
            .enclosing(call, NAMED_FN)
            .is_some_and(|f| matches!(fn_name(cx, f), "all" | "get" | "cursor" | "lazy"));
        if flagged && !defines_api && repeated(cx, call).is_some() {
            // A class of the tree's own with its own static `all` is not a model.
            let mut unless =
                (call.kind() == "scoped_call_expression").then(|| Unless::OwnClassMethod {
                    class: obj_text.rsplit('\\').next().unwrap_or("").to_string(),
                    method: m.to_string(),
                });
            // A model whose rows the tree makes only from literal lists.
            if call.kind() == "scoped_call_expression" && m == "all" {
                unless = Unless::either(
                    unless,
                    Some(Unless::RowsOnlyFromLiterals {
                        class: obj_text.rsplit('\\').next().unwrap_or("").to_string(),
                    }),
                );
            }
            // Rows filtered through filter objects made with the caller's
            // values: bounded if one of them filters on its value.
            if m == "findAll" {
                let classes: Vec<String> = query_chains(cx, call, obj_text)
                    .iter()
                    .flat_map(|chain| filter_objects(chain))
                    .collect();
                if !classes.is_empty() {
                    unless = Unless::either(unless, Some(Unless::FilteredOnValue { classes }));
                }
            }
            cx.hit_unless(
                Rule::UnboundedResults,
                call,
                format!("`{}` loads every matching row into memory at once; in a worker, memory grows with the table", cx.text(call).lines().next().unwrap_or("")),
                "paginate or stream: `chunk()`/`lazy()`/`cursor()`, a LIMIT, or `fetch()` in a loop",
                unless,
            );
        }
    }
}

/// Whether the function around `X::all()` has just emptied X's table and
/// refilled it from a literal list: `X::truncate()` before the call, and
/// every `X::create`/`firstOrCreate`/`findOrCreate`/`updateOrCreate`
/// before it inside a `foreach` over an array literal (or a variable the
/// function sets to one). The table then holds that list's rows, as a
/// seeder that resets its roles and permissions. Without the truncate,
/// rows made elsewhere may be there too; a create from anything else (a
/// request, a file) bounds nothing.
fn refilled_from_a_literal_list<'a>(cx: &Ctx<'a>, call: Node<'a>, class: &str) -> bool {
    let Some(f) = cx.enclosing(call, NAMED_FN) else {
        return false;
    };
    let before: Vec<Node<'a>> = cx
        .desc_kind(f, "scoped_call_expression")
        .into_iter()
        .filter(|c| c.end_byte() <= call.start_byte())
        .filter(|c| callee(cx, *c).0 == class)
        .collect();
    let truncated = before.iter().any(|c| callee(cx, *c).1 == "truncate");
    let creates: Vec<Node<'a>> = before
        .iter()
        .copied()
        .filter(|c| ROW_MAKERS.contains(&callee(cx, *c).1))
        .collect();
    truncated && !creates.is_empty() && creates.iter().all(|c| made_from_a_literal_list(cx, *c))
}

/// Static calls that make a model's rows.
const ROW_MAKERS: &[&str] = &[
    "create",
    "firstOrCreate",
    "findOrCreate",
    "updateOrCreate",
    "insert",
];

/// Whether `call` makes a row the code fixes: its arguments hold no
/// variable (`X::create(['name' => 'view_reports'])`), or it runs in a
/// `foreach` (within its function) over an array literal, or over a
/// variable that function sets only to literals with no variable in them.
fn made_from_a_literal_list<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    if Ctx::field(call, "arguments").is_some_and(|a| {
        a.named_child_count() > 0 && !cx.desc(a).iter().any(|d| d.kind() == "variable_name")
    }) {
        return true;
    }
    let Some(f) = cx.enclosing(call, NAMED_FN) else {
        return false;
    };
    let literal_array = |e: Node<'a>| -> bool {
        if e.kind() == "array_creation_expression" {
            return true;
        }
        if e.kind() != "variable_name" {
            return false;
        }
        let name = cx.text(e);
        let sets: Vec<Node<'a>> = cx
            .desc_kind(f, "assignment_expression")
            .into_iter()
            .filter(|a| Ctx::field(*a, "left").is_some_and(|l| cx.text(l) == name))
            .collect();
        !sets.is_empty()
            && sets.iter().all(|a| {
                Ctx::field(*a, "right").is_some_and(|r| {
                    r.kind() == "array_creation_expression"
                        && !cx.desc(r).iter().any(|d| d.kind() == "variable_name")
                })
            })
    };
    let mut n = call;
    while let Some(l) = cx.enclosing(n, &["foreach_statement"]) {
        if !Ctx::inside(l, f) {
            break;
        }
        if l.named_child(0).is_some_and(literal_array) {
            return true;
        }
        n = l;
    }
    false
}

/// Whether a closure body loops forever with no way out.
fn loops_forever<'a>(cx: &Ctx<'a>, body: Node<'a>) -> bool {
    cx.desc(body).iter().any(|l| {
        let endless = match l.kind() {
            "while_statement" => Ctx::field(*l, "condition")
                .is_some_and(|c| matches!(cx.text(c), "(true)" | "(1)" | "(TRUE)")),
            "for_statement" => cx.text(*l).replace(' ', "").starts_with("for(;;)"),
            _ => false,
        };
        endless
            && !cx.desc(*l).iter().any(|d| {
                matches!(
                    d.kind(),
                    "break_statement" | "return_statement" | "throw_expression" | "exit_statement"
                )
            })
    })
}

/// Whether a periodic timer is its object's own, set up by a method that
/// is handed nothing but the event loop (`public function run(LoopInterface
/// $loop) { $this->refreshTimer = $loop->addPeriodicTimer(3, ...); }`): a
/// component started on the loop, whose timer lives as long as it is meant
/// to. A timer per connection or job takes what it serves (`watch($loop,
/// $conn)`), and an entry point (`handle`) runs per job: both still count.
fn started_on_its_loop<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    let Some(f) = cx.enclosing(call, FN) else {
        return false;
    };
    if f.kind() != "method_declaration" || entry_method(fn_name(cx, f)) {
        return false;
    }
    let Some(params) = Ctx::field(f, "parameters") else {
        return false;
    };
    (0..params.named_child_count())
        .filter_map(|i| params.named_child(i))
        .all(|p| {
            let name = Ctx::field(p, "name").map_or("", |n| cx.text(n));
            let ty = Ctx::field(p, "type").map_or("", |t| cx.text(t));
            name.eq_ignore_ascii_case("$loop")
                || ty
                    .rsplit('\\')
                    .next()
                    .unwrap_or("")
                    .ends_with("LoopInterface")
        })
}

/// Whether a periodic timer's callback cancels the timer it is handed
/// (`function ($timer) use ($loop) { if (done) { $loop->cancelTimer($timer);
/// } }`, Swoole's `Timer::clear($id)`): it polls until its condition holds,
/// then stops; it is not left running.
fn cancels_itself<'a>(cx: &Ctx<'a>, call: Node<'a>) -> bool {
    let Some(args) = Ctx::field(call, "arguments") else {
        return false;
    };
    (0..args.named_child_count())
        .filter_map(|i| args.named_child(i))
        .filter_map(|a| a.named_child(0))
        .filter(|f| matches!(f.kind(), "anonymous_function" | "arrow_function"))
        .any(|f| {
            let Some(handle) = Ctx::field(f, "parameters")
                .and_then(|ps| ps.named_child(0))
                .and_then(|p| Ctx::field(p, "name"))
                .map(|n| cx.text(n))
            else {
                return false;
            };
            let body = Ctx::field(f, "body").map_or("", |b| cx.text(b));
            ["cancelTimer(", "clear(", "swoole_timer_clear("]
                .iter()
                .any(|c| mentions(body, &format!("{c}{handle})")))
                || mentions(body, &format!("{handle}->cancel("))
        })
}

const PERIODIC: &[&str] = &["tick", "swoole_timer_tick", "addPeriodicTimer"];

fn tasks_and_timers(cx: &mut Ctx) {
    for call in all_calls(cx) {
        if cx.expired() {
            break;
        }
        let (obj, m) = callee(cx, call);
        let coroutine = (call.kind() == "function_call_expression"
            && matches!(m, "go" | "Co\\go" | "\\go"))
            || (m == "create" && obj.ends_with("Coroutine"));
        if coroutine {
            let Some(place) = repeated(cx, call) else {
                continue;
            };
            let body = Ctx::field(call, "arguments")
                .and_then(|a| a.named_child(0))
                .and_then(|a| a.named_child(0))
                .filter(|f| matches!(f.kind(), "anonymous_function" | "arrow_function"));
            if body.is_some_and(|b| loops_forever(cx, b)) {
                cx.hit(
                    Rule::UnstoppableTask,
                    call,
                    format!("`{place}` starts a coroutine that loops forever with no exit: one more live coroutine (and everything it captures) per request or job"),
                    "start one coroutine at worker start, or loop on a channel/flag that is closed when the request or job ends",
                );
            }
            continue;
        }
        // A periodic timer takes an interval and a callback: a method that
        // happens to be called `tick` with fewer arguments (Guzzle's
        // `$this->tick()`, one step of an event loop) is not one.
        let arg_count = Ctx::field(call, "arguments").map_or(0, |a| a.named_child_count());
        let timer = PERIODIC.contains(&m)
            && arg_count >= 2
            && (call.kind() != "scoped_call_expression" || obj.ends_with("Timer") || obj == "Loop");
        if !timer {
            continue;
        }
        let Some(place) = repeated(cx, call) else {
            continue;
        };
        if started_on_its_loop(cx, call) || cancels_itself(cx, call) {
            continue;
        }
        let parent = cx.up(call);
        if parent.is_some_and(|p| p.kind() == "expression_statement") {
            cx.hit(
                Rule::UnstoppableTask,
                call,
                format!("the handle of this periodic timer is dropped in `{place}`, so it can never be cleared: it runs, and keeps its callback alive, for the life of the worker, one more per call"),
                "keep the timer id and clear it (`Timer::clear($id)` / `$loop->cancelTimer($timer)`) when the job ends",
            );
            continue;
        }
        let Some(name) = parent
            .filter(|p| p.kind() == "assignment_expression")
            .and_then(|a| Ctx::field(a, "left"))
            .map(|l| cx.text(l))
        else {
            continue;
        };
        let cleared = ["clear(", "swoole_timer_clear(", "cancelTimer("]
            .iter()
            .any(|c| mentions(cx.src, &format!("{c}{name}")));
        if !cleared {
            cx.hit(
                Rule::UnclearedTimer,
                call,
                format!("periodic timer `{name}` is never cleared: it keeps firing, and keeps its callback alive, for the life of the worker"),
                &format!("clear it when done: `Timer::clear({name})` / `$loop->cancelTimer({name})`"),
            );
        }
    }
}

const FILE_OPENERS: &[(&str, &str)] = &[
    ("fopen", "fclose"),
    ("fsockopen", "fclose"),
    ("stream_socket_client", "fclose"),
    ("popen", "pclose"),
    ("proc_open", "proc_close"),
    ("opendir", "closedir"),
    ("gzopen", "gzclose"),
    ("tmpfile", "fclose"),
];
const CONN_OPENERS: &[(&str, &str)] = &[
    ("curl_init", "curl_close"),
    ("mysqli_connect", "mysqli_close"),
    ("pg_connect", "pg_close"),
    ("ldap_connect", "ldap_unbind"),
    ("ftp_connect", "ftp_close"),
];
/// Calls that use a handle without taking it over.
const CONSUMERS: &[&str] = &[
    "fread",
    "fwrite",
    "fputs",
    "fgets",
    "fgetcsv",
    "fputcsv",
    "feof",
    "fflush",
    "fstat",
    "flock",
    "fseek",
    "ftell",
    "rewind",
    "stream_get_contents",
    "stream_set_timeout",
    "curl_setopt",
    "curl_setopt_array",
    "curl_exec",
    "curl_getinfo",
    "curl_error",
    "curl_errno",
    "mysqli_query",
    "mysqli_real_escape_string",
    "pg_query",
    "pg_query_params",
    "readdir",
    "gzread",
    "gzwrite",
    "fpassthru",
    "is_resource",
    "stream_get_meta_data",
];

/// The loops around `n` in its own function (or script level), innermost
/// first.
fn enclosing_loops<'a>(cx: &Ctx<'a>, n: Node<'a>) -> Vec<Node<'a>> {
    let own = cx.enclosing(n, FN).map(|f| f.id());
    let mut loops = Vec::new();
    let mut cur = cx.enclosing(n, LOOPS);
    while let Some(l) = cur {
        if cx.enclosing(l, FN).map(|f| f.id()) != own {
            break;
        }
        loops.push(l);
        cur = cx.enclosing(l, LOOPS);
    }
    loops
}

/// Whether the file is a web page: at its top level it writes HTML, reads
/// the request (`$_GET`, `$_POST`...) or sets headers, cookies or the
/// session. A library's files only declare; a command-line tool's
/// scripts run once.
fn serves_a_page(cx: &Ctx) -> bool {
    const REQUEST: &[&str] = &[
        "$_GET",
        "$_POST",
        "$_REQUEST",
        "$_COOKIE",
        "$_FILES",
        "$_SESSION",
        "header(",
        "setcookie(",
        "session_start(",
    ];
    let mut cur = cx.root.walk();
    let children: Vec<Node> = cx.root.named_children(&mut cur).collect();
    children.into_iter().any(|n| match n.kind() {
        "text" | "text_interpolation" => {
            let html = cx.text(n).trim().trim_start_matches("?>").trim_start();
            html.starts_with('<') && !html.starts_with("<?")
        }
        // A comment mentions `$_GET` without reading it (Symfony's
        // `InputBag` doc comment, beside a namespace without braces).
        "namespace_definition"
        | "class_declaration"
        | "interface_declaration"
        | "trait_declaration"
        | "enum_declaration"
        | "function_definition"
        | "comment" => false,
        _ => {
            let text = cx.text(n);
            REQUEST.iter().any(|r| text.contains(r))
        }
    })
}

/// Whether the file shows its program runs for long: a runtime or API
/// made for long-running PHP processes, or an endless loop that waits
/// (sleeps, selects, accepts) each time round. Stricter than a worker loop
/// as [`in_entry`] reads one: this decides for the whole tree.
fn runs_for_long(cx: &Ctx) -> bool {
    const LONG_RUNNING: &[&str] = &[
        "Swoole",
        "swoole_",
        "RoadRunner",
        "React\\EventLoop",
        "Workerman",
        "Amp\\",
        "Revolt\\EventLoop",
        "Octane",
        "frankenphp_handle_request",
        "pcntl_fork",
        "pcntl_signal",
    ];
    LONG_RUNNING.iter().any(|t| cx.src.contains(t))
        || LOOPS
            .iter()
            .flat_map(|k| cx.all(k))
            .any(|l| endless(cx, l) && waits(cx, l))
}

/// A loop that serves jobs until the process ends: `while ($job =
/// $queue->pop())`, or `while (true)` / `for (;;)` that waits for work.
fn worker_loop<'a>(cx: &Ctx<'a>, the_loop: Node<'a>) -> bool {
    match the_loop.kind() {
        "while_statement" | "do_statement" => {
            Ctx::field(the_loop, "condition").is_some_and(|c| serves_forever(cx, c, the_loop))
        }
        "for_statement" => endless(cx, the_loop) && waits_for_work(cx, the_loop),
        _ => false,
    }
}

/// Files and connections opened inside a worker loop and never closed or
/// handed on in that scope: each iteration keeps one until the variable is
/// overwritten, and any kept reference makes them pile up.
fn resources(cx: &mut Ctx) {
    for call in cx.all("function_call_expression") {
        if cx.expired() {
            break;
        }
        let (_, name) = callee(cx, call);
        let (rule, closer) = if let Some((_, c)) = FILE_OPENERS.iter().find(|(o, _)| *o == name) {
            (Rule::UnclosedResource, *c)
        } else if let Some((_, c)) = CONN_OPENERS.iter().find(|(o, _)| *o == name) {
            (Rule::UnreleasedConnection, *c)
        } else {
            continue;
        };
        let scope = cx.enclosing(call, FN).unwrap_or(cx.root);
        // Only in a worker loop of that scope (`while ($job =
        // $queue->pop())`, `while (true)` that waits for work). A loop over
        // something finite (`foreach ($files as $f)`, `while ($entry =
        // readdir($dh))`) frees each handle when the next one replaces it,
        // and the last when the function returns: nothing waits for a next
        // job with it open.
        if !enclosing_loops(cx, call)
            .iter()
            .any(|l| worker_loop(cx, *l))
        {
            continue;
        }
        let Some(var) = cx
            .up(call)
            .filter(|a| a.kind() == "assignment_expression")
            .and_then(|a| Ctx::field(a, "left"))
            .filter(|l| l.kind() == "variable_name")
        else {
            continue;
        };
        let vname = cx.text(var);
        let bare = vname.trim_start_matches('$');
        let released = cx.named_in(scope, "name", bare).into_iter().any(|n| {
            let Some(v) = cx.up(n).filter(|v| v.kind() == "variable_name") else {
                return false;
            };
            if v.id() == var.id() {
                return false;
            }
            let Some(p) = cx.up(v) else { return false };
            match p.kind() {
                "argument" => {
                    arg_of(cx, v).is_none_or(|(_, f)| f == closer || !CONSUMERS.contains(&f))
                }
                "member_call_expression" => {
                    Ctx::field(p, "name").is_some_and(|m| cx.text(m) == "close")
                }
                "return_statement" | "array_element_initializer" | "unset_statement" => true,
                "assignment_expression" => {
                    Ctx::field(p, "right").is_some_and(|r| r.id() == v.id())
                        || Ctx::field(p, "right").is_some_and(|r| cx.text(r) == "null")
                }
                _ => false,
            }
        });
        if released {
            continue;
        }
        let what = if rule == Rule::UnclosedResource {
            "handle"
        } else {
            "connection"
        };
        cx.hit(
            rule,
            call,
            format!("{what} `{vname}` from `{name}()` is opened in a worker loop and never closed: it stays open through the wait for the next job, and any reference kept to it (an exception trace, a log context) keeps it for good"),
            &format!("close it in `finally`: `{closer}({vname})`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check_source, Lang, Rule, RuleOptions};

    fn php_hits(src: &str) -> Vec<(Rule, usize)> {
        crate::analyze::rules_and_lines(Lang::Php, src)
    }

    /// A write under a literal key replaces one entry, whatever it stores;
    /// the same write under a caller's value adds one per value.
    #[test]
    fn a_write_under_a_literal_key_adds_no_entry() {
        let src = "<?php\nclass Mailer {\n  private static $settings = [];\n  public static function send($table, $user_id) {\n    if (empty(self::$settings['mode'])) {\n      self::$settings['mode'] = query($table, $user_id);\n    }\n    return self::$settings['mode'];\n  }\n}\nwhile ($job = $queue->pop()) {\n  Mailer::send('settings', $job->user_id);\n}\n";
        assert_eq!(php_hits(src), []);
        let keyed = src.replace("self::$settings['mode'] = ", "self::$settings[$user_id] = ");
        assert_eq!(php_hits(&keyed), [(Rule::UnboundedCache, 6)]);
        let nested = src.replace(
            "self::$settings['mode'] = ",
            "self::$settings[$user_id]['mode'] = ",
        );
        assert_eq!(php_hits(&nested), [(Rule::UnboundedCache, 6)]);
    }

    /// A static cache keyed by a local made from an identity (Symfony's
    /// `IpUtils::$checkedIps[$cacheKey]`, `$cacheKey = $requestIp.'-'.$ip`)
    /// grows with it, as one keyed by the identity itself; a local that
    /// names a class (`$class = get_class($o)`) is one entry per class.
    #[test]
    fn a_static_cache_keyed_by_a_local_made_from_an_identity_grows() {
        let src = "<?php\nclass IpUtils {\n  private static $checkedIps = [];\n  public static function check4(string $requestIp, string $ip) {\n    $cacheKey = $requestIp.'-'.$ip.'-v4';\n    if (isset(self::$checkedIps[$cacheKey])) {\n      return self::$checkedIps[$cacheKey];\n    }\n    return self::$checkedIps[$cacheKey] = $requestIp === $ip;\n  }\n}\n";
        assert_eq!(php_hits(src), [(Rule::UnboundedCache, 9)]);
        let per_class = src.replace("$requestIp.'-'.$ip.'-v4'", "get_class($ip)");
        assert_eq!(php_hits(&per_class), []);
        let fixed = src.replace("$requestIp.'-'.$ip.'-v4'", "'v4'");
        assert_eq!(php_hits(&fixed), []);
    }

    #[test]
    fn a_query_builder_filtered_on_a_callers_value_or_limited_is_bounded() {
        let src = "<?php\nclass S {\n  public function rows($id) {\n    return $this->db->table('t')->eq('project_id', $id)->findAll();\n  }\n}\n";
        assert_eq!(php_hits(src), []);
        let constant = src.replace("'project_id', $id", "'is_active', 1");
        assert_eq!(php_hits(&constant), [(Rule::UnboundedResults, 4)]);
        let listed = src.replace("->eq('project_id', $id)", "->in('id', $ids)");
        assert_eq!(php_hits(&listed), []);
        let limited = src.replace("->eq('project_id', $id)", "->limit(10)");
        assert_eq!(php_hits(&limited), []);
        let built = "<?php\nclass S {\n  public function rows($id) {\n    $q = $this->db->table('t')->eq('project_id', $id);\n    return $q->findAll();\n  }\n}\n";
        assert_eq!(php_hits(built), []);
        let built_unbounded = built.replace("->eq('project_id', $id)", "->asc('id')");
        assert_eq!(php_hits(&built_unbounded), [(Rule::UnboundedResults, 5)]);
        let helper = "<?php\nclass S {\n  public function rows($id) {\n    return $this->getQuery($id)->findAll();\n  }\n  public function getQuery($id) {\n    return $this->db->table('t')->eq('group_id', $id);\n  }\n}\n";
        assert_eq!(php_hits(helper), []);
        let helper_unbounded = helper.replace("->eq('group_id', $id)", "->asc('id')");
        assert_eq!(php_hits(&helper_unbounded), [(Rule::UnboundedResults, 4)]);
    }

    #[test]
    fn a_filter_object_made_with_the_callers_value_bounds_as_its_filter_does() {
        let src = "<?php\nclass ProjectFilter {\n  public function apply() {\n    $this->query->eq('project_id', $this->value);\n  }\n}\nclass S {\n  public function rows($id) {\n    return $this->q->withFilter(new ProjectFilter($id))->findAll();\n  }\n}\n";
        assert_eq!(php_hits(src), []);
        let qualified = src.replace("new ProjectFilter", "new \\App\\Filter\\ProjectFilter");
        assert_eq!(php_hits(&qualified), []);
        let built = src.replace(
            "    return $this->q->withFilter(new ProjectFilter($id))->findAll();",
            "    $query = $this->q->withFilter(new ProjectFilter($id));\n    return $query->findAll();",
        );
        assert_eq!(php_hits(&built), []);
        // Made with a constant, or nothing: no value of the caller's.
        let constant = src.replace("ProjectFilter($id)", "ProjectFilter(Project::MAIN)");
        assert_eq!(php_hits(&constant), [(Rule::UnboundedResults, 9)]);
        let bare = src.replace("ProjectFilter($id)", "ProjectFilter()");
        assert_eq!(php_hits(&bare), [(Rule::UnboundedResults, 9)]);
        // A filter that only matches a pattern, or one the tree does not
        // define: nothing says it bounds the rows.
        let pattern = src.replace(
            "->eq('project_id', $this->value)",
            "->ilike('name', $this->value)",
        );
        assert_eq!(php_hits(&pattern), [(Rule::UnboundedResults, 9)]);
        let unknown = src.replace("new ProjectFilter(", "new OtherFilter(");
        assert_eq!(php_hits(&unknown), [(Rule::UnboundedResults, 9)]);
        assert_eq!(
            filter_objects(
                "$q->withFilter(new A($id))->withFilter(new B(1))->addFilter(newC(array($x)))"
            ),
            ["A", "C"]
        );
        assert!(filter_objects("$q->withFilter(newsFilter($x))").is_empty());
    }

    #[test]
    fn a_query_chain_bounds_only_with_a_limit_or_a_filter_on_a_variable() {
        assert!(chain_bounds(
            "$this->db->table(T)->eq(T.'.task_id', $task_id)"
        ));
        assert!(chain_bounds("$q->limit(5)"));
        assert!(!chain_bounds(
            "$this->db->table(T)->eq('is_active', 1)->asc('name')"
        ));
        assert!(!chain_bounds("$this->db->table(T)"));
    }

    /// A store keyed by a parameter that every caller fills with a literal,
    /// or a local chosen between literals, is keyed by names in the code,
    /// whatever data the other arguments carry.
    #[test]
    fn a_store_keyed_by_an_argument_callers_name_with_constants_is_bounded() {
        let src = "<?php\nclass N {\n    private static $counts = [];\n    public function handle($m) {\n        $this->count('received', $m);\n        $level = $m->urgent ? 'urgent' : 'normal';\n        $this->count($level);\n    }\n    private function count($event, ...$context) {\n        self::$counts[$event] = (self::$counts[$event] ?? 0) + 1;\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let from_data = src.replace("$m->urgent ? 'urgent' : 'normal'", "$m->kind");
        assert_eq!(php_hits(&from_data), [(Rule::UnboundedCache, 10)]);
        let spread = src.replace("$this->count($level);", "$this->count(...$m->args);");
        assert_eq!(php_hits(&spread), [(Rule::UnboundedCache, 10)]);
        // Passed to another call first, which may fill it by reference.
        let by_ref = src.replace(
            "$this->count($level);",
            "preg_match('/^(\\w+)/', $m->body, $level);\n        $this->count($level);",
        );
        assert_eq!(php_hits(&by_ref), [(Rule::UnboundedCache, 11)]);
    }

    /// A class keeping its own instances by name in a static method (a
    /// multiton) holds one per configured name; the same store filled with
    /// another class's objects, or in an entry point, is a cache.
    #[test]
    fn a_class_keeping_its_own_instances_by_name_is_a_registry() {
        let src = "<?php\nclass IdP {\n    private static $idpCache = [];\n    public static function getById($id) {\n        if (isset(self::$idpCache[$id])) {\n            return self::$idpCache[$id];\n        }\n        $idp = new self($id);\n        self::$idpCache[$id] = $idp;\n        return $idp;\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let direct = src.replace(
            "$idp = new self($id);\n        self::$idpCache[$id] = $idp;",
            "self::$idpCache[$id] = new static();\n        $idp = self::$idpCache[$id];",
        );
        assert_eq!(php_hits(&direct), []);
        let named = src.replace("new self($id)", "new IdP($id)");
        assert_eq!(php_hits(&named), []);
        let other = src.replace("new self($id)", "new User($id)");
        assert_eq!(php_hits(&other), [(Rule::UnboundedCache, 9)]);
        let per_instance = src.replace("public static function", "public function");
        assert_eq!(php_hits(&per_instance), [(Rule::UnboundedCache, 9)]);
        let in_entry = src.replace("getById", "handle");
        assert_eq!(php_hits(&in_entry), [(Rule::UnboundedCache, 9)]);
    }

    /// A component's own timer, started by a method handed only the loop,
    /// lives as long as the component; one per connection or per job does
    /// not.
    #[test]
    fn a_timer_started_on_the_loop_a_method_is_handed_is_the_components_own() {
        let src = "<?php\nclass DaemonDb {\n    public function run(LoopInterface $loop) {\n        $this->refreshTimer = $loop->addPeriodicTimer(3, function () {\n            $this->refreshMyState();\n        });\n        $loop->addPeriodicTimer(15, fn () => $this->checkSchema());\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let per_conn = src.replace(
            "run(LoopInterface $loop)",
            "watch(LoopInterface $loop, Connection $conn)",
        );
        assert_eq!(
            php_hits(&per_conn),
            [(Rule::UnclearedTimer, 4), (Rule::UnstoppableTask, 7)]
        );
        let entry = src.replace("function run(", "function handle(");
        assert_eq!(
            php_hits(&entry),
            [(Rule::UnclearedTimer, 4), (Rule::UnstoppableTask, 7)]
        );
    }

    #[test]
    fn a_loop_that_takes_jobs_serves_forever_a_loop_over_rows_does_not() {
        assert_eq!(called_name("$queue->pop()"), "pop");
        assert_eq!(called_name("Queue::next_job($x)"), "next_job");
        assert_eq!(called_name("\\Foo\\recv($sock)"), "recv");
        for job in [
            "pop",
            "blpop",
            "receive",
            "reserve",
            "accept",
            "next_job",
            "getMessage",
        ] {
            assert!(takes_work(job), "{job}");
        }
        for rows in [
            "array_pop",
            "array_shift",
            "fetch",
            "fetch_assoc",
            "fgets",
            "readdir",
            "each",
            "current",
        ] {
            assert!(!takes_work(rows), "{rows}");
        }
    }

    /// A handle opened per entry of a directory walk is not opened in a
    /// worker loop; the same walk inside a job loop is.
    #[test]
    fn a_walk_that_reads_its_input_to_the_end_is_no_worker_loop() {
        let walk = "    $dh = opendir($dir);\n    while ($entry = readdir($dh)) {\n        $sub = opendir($dir . '/' . $entry);\n        while ($name = readdir($sub)) { note($name); }\n    }\n";
        let once = format!("<?php\nfunction scan($dir) {{\n{walk}}}\n");
        let r = check_source("w.php", Lang::Php, &once, &RuleOptions::default()).unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let per_job = "<?php\nwhile ($job = $queue->reserve()) {\n    $dh = opendir($job->dir);\n    while ($entry = readdir($dh)) { note($entry); }\n}\n";
        let r = check_source("w.php", Lang::Php, per_job, &RuleOptions::default()).unwrap();
        let lines: Vec<(Rule, usize)> = r.findings.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(lines, [(Rule::UnclosedResource, 3)]);
    }

    /// A handle opened per element of a finite loop is freed when the next
    /// one replaces it (PHP frees a resource with its last reference), and
    /// the last when the function returns; in a loop that takes jobs, the
    /// handle stays open through the wait for the next one.
    #[test]
    fn a_handle_per_element_of_a_finite_loop_is_freed_by_the_next() {
        let per_file = "<?php\nfunction import(array $files) {\n    foreach ($files as $f) {\n        $fp = fopen($f, 'r');\n        load(fgets($fp));\n    }\n}\n";
        assert_eq!(php_hits(per_file), []);
        let per_url = "<?php\nfunction probe(array $urls) {\n    for ($i = 0; $i < count($urls); $i++) {\n        $ch = curl_init($urls[$i]);\n        curl_exec($ch);\n    }\n}\n";
        assert_eq!(php_hits(per_url), []);
        let per_job = per_file.replace(
            "foreach ($files as $f) {",
            "while ($job = $queue->pop()) {\n        $f = $job->path;",
        );
        assert_eq!(php_hits(&per_job), [(Rule::UnclosedResource, 5)]);
        let endless = per_url.replace(
            "for ($i = 0; $i < count($urls); $i++) {",
            "for (;;) {\n        $i = wait_for_index();",
        );
        assert_eq!(php_hits(&endless), [(Rule::UnreleasedConnection, 5)]);
    }

    /// A page's inline script declares globals: its top-level `var`s and
    /// functions, not those inside a function.
    #[test]
    fn an_inline_scripts_top_level_declarations_are_page_globals() {
        let page = "<?php\necho \"<script type=\\\"text/javascript\\\">\n<!--\nvar sel_start = 0;\n  var total = $tot;\nfunction pick(n) {\n  var tmp = n;\n}\nlet shown = 1;\n</script>\";\n?>\n<script src=\"base.js\"></script>\n<SCRIPT>\nconst limit = 3;\n</SCRIPT>\n";
        assert_eq!(
            crate::analyze::js::inline_script_globals(page),
            ["sel_start", "total", "pick", "shown", "limit"]
        );
    }

    /// A lazy singleton's accessor registers its shutdown closure once, as
    /// the one instance is made (ReactPHP's `Loop::get()`); the same
    /// registration with no guard runs on every call.
    #[test]
    fn a_singletons_setup_runs_once() {
        let src = "<?php\nfinal class Loop {\n    private static $instance;\n    private static $stopped = [];\n    public static function get() {\n        if (self::$instance instanceof LoopInterface) {\n            return self::$instance;\n        }\n        self::$instance = $loop = Factory::create();\n        $stopped =& self::$stopped;\n        register_shutdown_function(function () use ($loop, &$stopped) {\n            $loop->run();\n        });\n        return self::$instance;\n    }\n}\nfinal class Jobs {\n    public function handle($job) {\n        Loop::get()->futureTick(fn () => $job->run());\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let inside = src
            .replace(
                "        if (self::$instance instanceof LoopInterface) {\n            return self::$instance;\n        }\n        self::$instance = $loop = Factory::create();\n",
                "        if (self::$instance === null) {\n        self::$instance = $loop = Factory::create();\n",
            )
            .replace("        });\n        return", "        });\n        }\n        return");
        assert_eq!(php_hits(&inside), []);
        let unguarded = src.replace(
            "        if (self::$instance instanceof LoopInterface) {\n            return self::$instance;\n        }\n",
            "",
        );
        assert_eq!(php_hits(&unguarded), [(Rule::ClosureCapture, 8)]);
        let other_static = src.replace(
            "        self::$instance = $loop = Factory::create();\n",
            "        $loop = Factory::create();\n",
        );
        assert_eq!(php_hits(&other_static), [(Rule::ClosureCapture, 11)]);
    }

    /// A periodic timer whose callback cancels the timer it is handed polls
    /// until its condition holds, then stops; one that never cancels it
    /// runs for the life of the worker.
    #[test]
    fn a_timer_that_cancels_itself_stops() {
        let src = "<?php\nclass Proc {\n    public function watch($loop, $interval) {\n        $that = $this;\n        $loop->addPeriodicTimer($interval, function ($timer) use ($that, $loop) {\n            if (!$that->isRunning()) {\n                $loop->cancelTimer($timer);\n                $that->close();\n            }\n        });\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let other = src.replace(
            "$loop->cancelTimer($timer);",
            "$loop->cancelTimer($that->timer);",
        );
        assert_eq!(php_hits(&other), [(Rule::UnstoppableTask, 5)]);
    }

    #[test]
    fn a_callback_conditionable_skips_never_runs() {
        let src = "<?php\nclass Tracing {\n    use Conditionable { Conditionable::when as whenever; }\n    public function handle($request): void {\n        $this->when(false, function () use ($request) {\n            Event::listen('sent', fn ($e) => $this->log($request->ip()));\n        });\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let aliased = src.replace("$this->when(", "$this->whenever(");
        assert_eq!(php_hits(&aliased), []);
        let unless = src.replace("when(false", "unless(true");
        assert_eq!(php_hits(&unless), []);
        // Switched on, or on a value known only at run time: it runs.
        for on in ["when(true", "when($on", "unless(false", "whenever(false"] {
            let runs = src.replace("when(false", on);
            let runs = runs.replace(" Conditionable::when as whenever;", "");
            assert_eq!(php_hits(&runs), [(Rule::ListenerLeak, 6)], "{on}");
        }
        // The default a skipped `when` falls back to runs.
        let default = src.replace(
            "when(false, function",
            "when(false, fn () => null, function",
        );
        assert_eq!(php_hits(&default), [(Rule::ListenerLeak, 6)]);
    }

    #[test]
    fn what_only_a_service_providers_boot_calls_runs_once() {
        let src = "<?php\nclass Tracing extends ServiceProvider {\n    public function boot(): void {\n        $this->listenForRequests();\n    }\n    private function listenForRequests(): void {\n        Event::listen('sent', fn ($e) => $this->log($e->uuid));\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let qualified = src.replace(
            "extends ServiceProvider",
            "extends \\Illuminate\\Support\\ServiceProvider",
        );
        assert_eq!(php_hits(&qualified), []);
        let registered = src.replace("function boot()", "function register()");
        assert_eq!(php_hits(&registered), []);
        let through = src.replace(
            "private function listenForRequests(): void {\n",
            "protected function listenForRequests(): void {\n        $this->listenMore();\n    }\n    private function listenMore(): void {\n",
        );
        assert_eq!(php_hits(&through), []);
        // No provider: nothing says its `boot` is called once.
        let other = src.replace("extends ServiceProvider", "extends Middleware");
        assert_eq!(php_hits(&other), [(Rule::ListenerLeak, 7)]);
        // Public: any code may call it.
        let public = src.replace("private function", "public function");
        assert_eq!(php_hits(&public), [(Rule::ListenerLeak, 7)]);
        // Also called from a method that runs per request.
        let also = src.replace(
            "    private function",
            "    public function trace($request): void {\n        $this->listenForRequests();\n    }\n    private function",
        );
        assert_eq!(php_hits(&also), [(Rule::ListenerLeak, 10)]);
        // Called from a callback `boot` hands on, which may run per request.
        let later = src.replace(
            "        $this->listenForRequests();\n    }\n    private",
            "        $this->app->resolving(T::class, fn () => $this->listenForRequests());\n    }\n    private",
        );
        assert_eq!(php_hits(&later), [(Rule::ListenerLeak, 7)]);
        // Named as a callable, it may be called anywhere.
        let callable = src.replace(
            "$this->listenForRequests();",
            "$this->listenForRequests();\n        $this->app->terminating([$this, 'listenForRequests']);",
        );
        assert_eq!(php_hits(&callable), [(Rule::ListenerLeak, 8)]);
    }

    /// A listener added through a class, fully qualified or not, or on
    /// what a class hands out, goes on something as long-lived as the
    /// worker; one added to a local the job made goes with it.
    #[test]
    fn a_listener_added_through_a_class_outlives_the_job() {
        let src = "<?php\nclass SendMail {\n    public function handle($mailer): void {\n        Event::listen('sent', function ($e) { $this->log($e); });\n    }\n}\n";
        assert_eq!(php_hits(src), [(Rule::ListenerLeak, 4)]);
        let qualified = src.replace(
            "Event::listen",
            "\\Illuminate\\Support\\Facades\\Event::listen",
        );
        assert_eq!(php_hits(&qualified), [(Rule::ListenerLeak, 4)]);
        let handed_out = src.replace("Event::listen", "App::make('events')->listen");
        assert_eq!(php_hits(&handed_out), [(Rule::ListenerLeak, 4)]);
        let local = src.replace(
            "        Event::listen(",
            "        $events = new Emitter();\n        $events->listen(",
        );
        assert_eq!(php_hits(&local), []);
    }

    /// A listener added to a property the method has just set from its
    /// parameter goes on the object handed in; one added to another
    /// property still goes on a long-lived one.
    #[test]
    fn a_listener_on_the_object_handed_in_is_that_objects() {
        let src = "<?php\nfinal class Conn {\n    public function handle($stream): void {\n        $this->stream = $stream;\n        $this->stream->on('data', function ($d) { $this->read($d); });\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let other = src.replace("$this->stream->on(", "$this->server->on(");
        assert_eq!(php_hits(&other), [(Rule::ListenerLeak, 5)]);
        let after = src.replace(
            "        $this->stream = $stream;\n        $this->stream->on('data', function ($d) { $this->read($d); });\n",
            "        $this->stream->on('data', function ($d) { $this->read($d); });\n        $this->stream = $stream;\n",
        );
        assert_eq!(php_hits(&after), [(Rule::ListenerLeak, 4)]);
    }

    /// `Filter::all()` of a class imported from a library of values builds
    /// a filter; the same call on a model imported from the application's
    /// models is the whole table.
    #[test]
    fn a_value_librarys_all_is_no_query() {
        let src = "<?php\nuse ipl\\Stdlib\\Filter;\n\nfunction worker($q) {\n    while ($job = $q->pop()) {\n        $f = Filter::all();\n        $f->add(Filter::equal('id', $job->id));\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let model = src.replace("use ipl\\Stdlib\\Filter;", "use App\\Models\\Filter;");
        assert_eq!(php_hits(&model), [(Rule::UnboundedResults, 6)]);
        let aliased = src
            .replace(
                "use ipl\\Stdlib\\Filter;",
                "use ipl\\Stdlib\\Filter as Rules;",
            )
            .replace("Filter::all()", "Rules::all()");
        assert_eq!(php_hits(&aliased), []);
    }

    /// A closure registered on a per-request object (the request's body
    /// stream) goes with it; the same capture registered on the event loop
    /// outlives the request.
    #[test]
    fn a_closure_on_a_per_request_object_goes_with_it() {
        let src = "<?php\nuse React\\EventLoop\\Loop;\nfinal class H {\n    public function handle($request, $loop): void {\n        $chunks = $request->getBody()->getContents();\n        $request->getBody()->on('close', function () use (&$chunks) { $this->store($chunks); });\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        let on_loop = src.replace("$request->getBody()->on('close', ", "$loop->addTimer(5, ");
        assert_eq!(php_hits(&on_loop), [(Rule::ClosureCapture, 6)]);
    }

    /// A script PHP writes (no `<script>` element) declares its top-level
    /// names with its PHP blocks left out; a page with `<script>` elements
    /// is read through them instead.
    #[test]
    fn a_script_php_writes_declares_its_top_level_names() {
        let script = "<?php\n  global $mode;\n?>\nvar showMode = \"<?php echo $mode ?>\";\n<?php if ($edit) { ?>\nvar canEdit = true;\n<?php } ?>\nfunction apply(m) {\n  var prev = showMode;\n}\nconst limit = <?= $n ?>;\n";
        assert_eq!(
            crate::analyze::js::php_written_script_globals(script),
            ["showMode", "canEdit", "apply", "limit"]
        );
        let page = format!("<script>\n{script}</script>\n");
        assert!(crate::analyze::js::php_written_script_globals(&page).is_empty());
        assert!(
            crate::analyze::js::php_written_script_globals("<?php\nfunction run() {}\n").is_empty()
        );
    }

    /// `$c[$k][] = v` grows `$c` as `$c[] = v` does; `unset($c[$a][$b])`
    /// removes from it.
    #[test]
    fn a_nested_append_grows_the_outer_array() {
        let src = "<?php\nfinal class W {\n    private static array $by = [];\n    public static function run($q): void {\n        while ($job = $q->pop()) {\n            self::$by[$job->status][] = $job->id;\n        }\n    }\n}\n";
        let r = check_source("w.php", Lang::Php, src, &RuleOptions::default()).unwrap();
        let lines: Vec<(Rule, usize)> = r.findings.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(lines, [(Rule::GlobalAccumulator, 6)]);
        let removed = src.replace(
            "self::$by[$job->status][] = $job->id;",
            "self::$by[$job->status][$job->id] = 1; unset(self::$by[$job->status][$job->id]);",
        );
        let r = check_source("w.php", Lang::Php, &removed, &RuleOptions::default()).unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
    }

    /// `X::all()` of a model whose rows the tree makes only from literal
    /// lists (by key, or in a seeder) reads a fixed set; one row made from
    /// a request's input anywhere, or a fixed row `create`d per request,
    /// makes it a whole table again.
    #[test]
    fn a_table_only_literal_lists_fill_is_bounded() {
        let src = "<?php\nclass S extends Seeder {\n    public function run() {\n        foreach (['a', 'b'] as $n) {\n            Permission::firstOrCreate(['name' => $n]);\n        }\n    }\n}\nclass C extends Controller {\n    public function index() {\n        return Permission::all();\n    }\n}\n";
        let findings = |src: &str| {
            check_source("w.php", Lang::Php, src, &RuleOptions::default())
                .unwrap()
                .findings
                .len()
        };
        assert_eq!(findings(src), 0);
        let from_input = format!("{src}class D extends Controller {{\n    public function store($r) {{\n        Permission::create(['name' => $r->name]);\n    }}\n}}\n");
        assert_eq!(findings(&from_input), 1);
        let per_request = format!("{src}class E extends Controller {{\n    public function hit() {{\n        Permission::create(['name' => 'x']);\n    }}\n}}\n");
        assert_eq!(findings(&per_request), 1);
        let nothing_made = src.replace("Permission::firstOrCreate", "Role::firstOrCreate");
        assert_eq!(findings(&nothing_made), 1);
    }

    /// `X::all()` right after the function has emptied X's table and
    /// refilled it from a literal list reads that list's rows; without the
    /// truncate, or refilled from anything else, it is a whole table.
    #[test]
    fn a_table_just_refilled_from_a_literal_list_is_that_list() {
        let src = "<?php\nclass S extends Seeder {\n    public function run() {\n        Permission::truncate();\n        $names = ['a', 'b'];\n        foreach ($names as $n) {\n            Permission::firstOrCreate(['name' => $n]);\n        }\n        $r->permissions()->sync(Permission::all());\n    }\n}\n";
        assert_eq!(php_hits(src), []);
        // Without the truncate, rows the application makes elsewhere stay.
        let kept = format!(
            "{}class C extends Controller {{\n    public function store($q) {{\n        Permission::create(['name' => $q->name]);\n    }}\n}}\n",
            src.replace("        Permission::truncate();\n", "        \n")
        );
        assert_eq!(php_hits(&kept), [(Rule::UnboundedResults, 9)]);
        let from_input = src.replace("$names = ['a', 'b'];", "$names = $request->all();");
        assert_eq!(php_hits(&from_input), [(Rule::UnboundedResults, 9)]);
        let other_table = src.replace("Permission::firstOrCreate", "Role::firstOrCreate");
        assert_eq!(php_hits(&other_table), [(Rule::UnboundedResults, 9)]);
    }
}
