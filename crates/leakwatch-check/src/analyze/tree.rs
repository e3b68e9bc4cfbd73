//! What one file cannot tell but the tree it belongs to can: how a method
//! is called elsewhere, and which classes define their own class methods.
//! A finding that rests on such a fact carries an [`Unless`]; each file
//! contributes its [`TreeFacts`], and after every file is analysed the
//! merged facts drop the findings they refute (a single file is its own
//! tree).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::growth::MAX_HOPS;

/// The condition under which a finding does not stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unless {
    /// Every store of the finding is in one of `methods` (name, whether it
    /// takes parameters), and every call of each in the tree that could
    /// grow the store (one passing arguments or a block when the method
    /// takes any; any call otherwise) is made while files load: at a file's
    /// top level or in a class or module body. Such a method is a
    /// class-definition DSL or a boot step: it runs a fixed number of times.
    ///
    /// A call with a constant receiver naming another class that defines
    /// its own method of that name (`Devise::Mapping.add_module` for a
    /// finding in `Devise.add_module`) is that class's, not counted.
    OnlyCalledAtLoad { methods: Vec<MethodRef> },
    /// `Class.method` is not the ORM's: the tree defines `method` as a class
    /// method of a class named `class` (last path segment), in a module it
    /// `extend`s, or on a superclass the tree defines.
    OwnClassMethod { class: String, method: String },
    /// The store grows only through parameters of `methods` (names), and
    /// no entry point of the tree (a request, job or message handler, a
    /// worker loop) calls any of them within [`MAX_HOPS`] calls, or none is
    /// ever called with anything but constants in the arguments the store
    /// takes (`getExecutablePath('git')`, `hook :run_command, cmd` for a
    /// store keyed by the first: the keys are the literals the code names):
    /// what they are called with, and how often, is up to the library's
    /// users.
    NotReachedFromEntry { methods: Vec<StoredArgs> },
    /// No entry point of the tree calls any of `methods` within
    /// [`MAX_HOPS`] calls: a registration made in them is made a fixed
    /// number of times as far as the tree shows (a test bootstrap's, a
    /// command's), however they are called.
    NotCalledFromEntry { methods: Vec<String> },
    /// `class` (last path segment) is a plain class of the tree's own:
    /// every definition of it in the tree has no superclass and includes no
    /// document or resource module (Mongoid's, DataMapper's), so it is no
    /// ORM model and its `all` is its own (a plugin registry's, as
    /// DDPlugin gives `extend`ing classes).
    PlainClass { class: String },
    /// `name` (last path segment) is a module of the tree's own and never a
    /// class in it: no ORM model, nor is what its methods return a table
    /// as far as the tree shows (`Bundler.settings.all` lists settings).
    ModuleOnly { name: String },
    /// The constant a call names (`File` in `File.new(path)`, written
    /// without a leading `::`) is the tree's own: the tree defines a class
    /// or module at one of `candidates`, the full paths Ruby's lexical
    /// lookup tries first from where the call is (`FakeFS::File` for a
    /// call inside `module FakeFS`), so the call does not reach the core
    /// class the rule is about.
    OwnConstant { candidates: Vec<String> },
    /// Some file of the tree removes from, resets or measures the store (as
    /// a file's own uses of it count: a size check bounds it): `class`'s
    /// (last path segment; empty for a Ruby constant) store `store`
    /// (`Template::$tplObjCache = []` in another class's method, `ZZ.delete`
    /// through an alias constant of the same name in another file).
    ClearedInTree { class: String, store: String },
    /// `name` is declared at the top level of a browser script of the
    /// tree (`var g_map = null;` in frontend.js): a global every other
    /// script of the page shares, so assigning it elsewhere creates
    /// nothing.
    ///
    /// Or an HTML page that loads this script (`<script src=".../script">`,
    /// by file name) declares `name` in an inline script: a page's
    /// declarations count only for the scripts it loads, since example and
    /// documentation pages declare short names (`var f`) of their own.
    ScriptGlobal { name: String, script: String },
    /// No file of the tree imports the Python module `module` (last
    /// segment): a module with a `__main__` block that nothing imports is
    /// a script run once per process, so its stores end with the run; one
    /// that some file imports is a library living as long as its importer.
    NotImported { module: String },
    /// The tree is a PHP web application that serves one request at a
    /// time: some PHP file of it is a page (at its top level it writes
    /// HTML, reads the request or sets headers), and nothing in it runs for
    /// long (no endless loop that sleeps or waits; no Swoole, RoadRunner,
    /// ReactPHP, Workerman, Amp, Octane, FrankenPHP worker or pcntl
    /// daemon). PHP frees a request's statics and globals when it ends, so
    /// a store that grows per request starts empty at the next one. A tree
    /// with no page is a library or a tool: who runs it, and for how long,
    /// is up to its users.
    PerRequestPhp,
    /// A query builder's rows are filtered through filter objects made
    /// with a value of the caller's (`->withFilter(new
    /// ProjectUserRoleProjectFilter($project_id))`), and one of `classes`
    /// (last path segment) is a class of the tree whose own code filters
    /// its query on a value or limits it (`$this->query->eq('project_id',
    /// $this->value)`), as such a chain written out is bounded. A filter
    /// the tree does not define, or one that only matches a pattern
    /// (`->ilike('name', '%'.$this->value.'%')`), bounds nothing.
    FilteredOnValue { classes: Vec<String> },
    /// Every row of model `class` (last path segment) the tree makes
    /// (`X::create`/`firstOrCreate`/... or `new X`) is made in a `foreach`
    /// over a literal list, and it makes at least one: the table holds that
    /// list (a seeder's permissions), so `X::all()` reads a bounded set.
    /// Rows made from anything else, anywhere, bound nothing.
    RowsOnlyFromLiterals { class: String },
    /// Any one of these holds.
    AnyOf(Vec<Unless>),
}

impl Unless {
    /// Both conditions, either of which drops a finding.
    pub fn either(a: Option<Unless>, b: Option<Unless>) -> Option<Unless> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Unless::AnyOf(vec![a, b])),
            (a, b) => a.or(b),
        }
    }
}

/// A method whose parameters a store keeps, and which of its arguments
/// those are ([`ArgMask`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArgs {
    pub method: String,
    pub args: ArgMask,
}

/// Which arguments of a call, as bits: bit `i` the positional argument `i`
/// (the last positional bit, [`ArgMask::LAST_POSITION`], stands for it and
/// every later one), [`ArgMask::KEYWORDS`] the keyword or named arguments,
/// [`ArgMask::BLOCK`] a block. A splat may fill any: [`ArgMask::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArgMask(pub u64);

impl ArgMask {
    pub const NONE: ArgMask = ArgMask(0);
    pub const ALL: ArgMask = ArgMask(u64::MAX);
    pub const LAST_POSITION: usize = 61;
    pub const KEYWORDS: ArgMask = ArgMask(1 << 62);
    pub const BLOCK: ArgMask = ArgMask(1 << 63);

    /// The positional argument `i`.
    pub fn position(i: usize) -> ArgMask {
        ArgMask(1 << i.min(Self::LAST_POSITION))
    }

    /// Positional arguments `i` and after (a rest parameter's).
    pub fn from_position(i: usize) -> ArgMask {
        let i = i.min(Self::LAST_POSITION);
        ArgMask(((1u64 << (Self::LAST_POSITION + 1)) - 1) & !((1u64 << i) - 1))
    }

    /// The arguments of a call, in order (what slot each fills, whether it
    /// is a constant): the mask of those that carry data.
    pub fn of_call(args: impl IntoIterator<Item = (Slot, bool)>) -> ArgMask {
        let mut position = 0;
        let mut data = ArgMask::NONE;
        for (slot, constant) in args {
            let which = Self::slot(slot, &mut position);
            if !constant {
                data = data.with(which);
            }
        }
        data
    }

    /// The parameters of a method, in order: the arguments each one takes.
    pub fn of_params<T>(params: impl IntoIterator<Item = (T, Slot)>) -> Vec<(T, ArgMask)> {
        let mut position = 0;
        params
            .into_iter()
            .map(|(name, slot)| (name, Self::slot(slot, &mut position)))
            .collect()
    }

    /// The arguments one slot stands for, the next position counted.
    fn slot(slot: Slot, position: &mut usize) -> ArgMask {
        match slot {
            Slot::Positional => {
                *position += 1;
                ArgMask::position(*position - 1)
            }
            Slot::Rest => ArgMask::from_position(*position),
            Slot::Keyword => ArgMask::KEYWORDS,
            Slot::Block => ArgMask::BLOCK,
            Slot::Any => ArgMask::ALL,
        }
    }

    pub fn with(self, other: ArgMask) -> ArgMask {
        ArgMask(self.0 | other.0)
    }

    pub fn meets(self, other: ArgMask) -> bool {
        self.0 & other.0 != 0
    }
}

/// What an argument or parameter fills, in each language's terms: the next
/// position, every position from here (a rest parameter), a keyword or
/// named one, the block, or any (a splat at a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Positional,
    Rest,
    Keyword,
    Block,
    Any,
}

/// A method a finding is in: the class or module defining it (last path
/// segment), its name, and whether it takes parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodRef {
    pub class: Option<String>,
    pub name: String,
    pub takes_args: bool,
}

/// How often a method name is called, by where and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct CallCounts {
    at_load: u32,
    at_run: u32,
    at_load_with_args: u32,
    at_run_with_args: u32,
}

/// Facts one file contributes to its tree.
#[derive(Debug, Clone, Default)]
pub struct TreeFacts {
    calls: HashMap<String, CallCounts>,
    /// The same calls again, for those made on a constant (`X.m`), by the
    /// constant's last segment and the method.
    calls_on: HashMap<(String, String), CallCounts>,
    class_methods: HashSet<(String, String)>,
    /// Modules defined in the tree, by last path segment.
    modules: HashSet<String>,
    /// Names declared at the top level of browser scripts (see
    /// [`Unless::ScriptGlobal`]).
    script_globals: HashSet<String>,
    /// (script file name, name): an HTML page that loads the script
    /// declares the name in an inline script.
    page_globals: HashSet<(String, String)>,
    /// Every name in the tree's Python `import` statements (each segment
    /// of a dotted path, each imported name): see [`Unless::NotImported`].
    python_imports: HashSet<String>,
    /// Stores some file removes from or resets: (class, store), see
    /// [`Unless::ClearedInTree`].
    cleared: HashSet<(String, String)>,
    /// Classes and modules defined in the tree, by full lexical path
    /// (`FakeFS::File` for `class File` inside `module FakeFS`).
    constants: HashSet<String>,
    /// Instance methods of modules, by the module's last path segment:
    /// class methods of whatever `extend`s the module.
    module_methods: HashSet<(String, String)>,
    /// `extend M` in the body of a class or module (last segments).
    extends: HashSet<(String, String)>,
    /// A class's superclass (last segments), whose class methods it has.
    superclasses: HashSet<(String, String)>,
    /// Classes defined in the tree, by last path segment: whether some
    /// definition could make a model (a superclass, or a document module).
    classes: HashMap<String, bool>,
    /// Method names called from an entry point (directly in it).
    entry_calls: HashSet<String>,
    /// Method names called by each method name.
    calls_from: HashMap<String, HashSet<String>>,
    /// For each method name, the arguments it is called with at least once
    /// with something that is not a constant (a variable, a field, a
    /// call's result).
    called_with_data: HashMap<String, ArgMask>,
    /// Some PHP file is a web page, and some PHP file runs for long (see
    /// [`Unless::PerRequestPhp`]).
    php_pages: bool,
    php_long_running: bool,
    /// PHP classes whose own code filters a query on a value or limits it
    /// (see [`Unless::FilteredOnValue`]), by last path segment.
    value_filters: HashSet<String>,
    /// PHP models' rows the tree makes, by last path segment: (how many
    /// places make them from a literal list, how many from anything else).
    rows_made: HashMap<String, (u32, u32)>,
    /// Names reached from an entry point within [`MAX_HOPS`], computed on
    /// first use after every file is merged.
    reached: OnceLock<HashSet<String>>,
}

impl CallCounts {
    fn add(&mut self, at_load: bool, with_args: bool) {
        match (at_load, with_args) {
            (true, true) => {
                self.at_load += 1;
                self.at_load_with_args += 1;
            }
            (true, false) => self.at_load += 1,
            (false, true) => {
                self.at_run += 1;
                self.at_run_with_args += 1;
            }
            (false, false) => self.at_run += 1,
        }
    }

    fn merge(&mut self, c: CallCounts) {
        self.at_load += c.at_load;
        self.at_run += c.at_run;
        self.at_load_with_args += c.at_load_with_args;
        self.at_run_with_args += c.at_run_with_args;
    }
}

impl TreeFacts {
    /// A call of `method`, made while files load or at run time, with or
    /// without arguments (or a block), on the constant `on` if it has one.
    pub fn call(&mut self, method: &str, on: Option<&str>, at_load: bool, with_args: bool) {
        self.calls
            .entry(method.to_string())
            .or_default()
            .add(at_load, with_args);
        if let Some(on) = on {
            self.calls_on
                .entry((on.to_string(), method.to_string()))
                .or_default()
                .add(at_load, with_args);
        }
    }

    /// `class` (last path segment) defines class method `method`.
    pub fn class_method(&mut self, class: &str, method: &str) {
        self.class_methods
            .insert((class.to_string(), method.to_string()));
    }

    /// The tree defines module `module` (last segment).
    pub fn module_defined(&mut self, module: &str) {
        self.modules.insert(module.to_string());
    }

    /// A browser script of the tree declares `name` at its top level.
    pub fn python_import(&mut self, name: &str) {
        if !self.python_imports.contains(name) {
            self.python_imports.insert(name.to_string());
        }
    }

    pub fn page_global(&mut self, script: &str, name: &str) {
        self.page_globals
            .insert((script.to_string(), name.to_string()));
    }

    pub fn script_global(&mut self, name: &str) {
        self.script_globals.insert(name.to_string());
    }

    /// A PHP file of the tree is a web page (`page`), or shows its program
    /// runs for long (`long_running`).
    pub fn php_file(&mut self, page: bool, long_running: bool) {
        self.php_pages |= page;
        self.php_long_running |= long_running;
    }

    /// PHP class `class` (last segment) filters a query on a value or
    /// limits it in its own code.
    pub fn value_filter(&mut self, class: &str) {
        self.value_filters.insert(class.to_string());
    }

    /// Some file makes rows of PHP model `class`, from a literal list or
    /// not (see [`Unless::RowsOnlyFromLiterals`]).
    pub fn rows_made(&mut self, class: &str, from_literal: bool) {
        let e = self.rows_made.entry(class.to_string()).or_default();
        if from_literal {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    /// Some file removes from or resets `class`'s store `store`.
    pub fn store_cleared(&mut self, class: &str, store: &str) {
        self.cleared.insert((class.to_string(), store.to_string()));
    }

    /// The tree defines a class or module at the full path `path`.
    pub fn constant_defined(&mut self, path: &str) {
        self.constants.insert(path.to_string());
    }

    /// Module `module` (last segment) defines instance method `method`.
    pub fn module_method(&mut self, module: &str, method: &str) {
        self.module_methods
            .insert((module.to_string(), method.to_string()));
    }

    /// Class or module `class` does `extend module` (last segments).
    pub fn extends(&mut self, class: &str, module: &str) {
        self.extends.insert((class.to_string(), module.to_string()));
    }

    /// Class `class` is defined with superclass `superclass` (last segments).
    pub fn superclass(&mut self, class: &str, superclass: &str) {
        self.superclasses
            .insert((class.to_string(), superclass.to_string()));
    }

    /// Whether `class` has class method `method` of the tree's own: defined
    /// on it, in a module it extends, or so on a superclass of the tree.
    fn has_class_method(&self, class: &str, method: &str) -> bool {
        let mut seen: Vec<&str> = vec![class];
        let mut i = 0;
        while let Some(&c) = seen.get(i) {
            i += 1;
            let own = |m: &HashSet<(String, String)>, on: &str| {
                m.contains(&(on.to_string(), method.to_string()))
            };
            if own(&self.class_methods, c)
                || self
                    .extends
                    .iter()
                    .any(|(x, m)| x == c && own(&self.module_methods, m))
            {
                return true;
            }
            for (x, sup) in &self.superclasses {
                if x == c && !seen.contains(&sup.as_str()) && seen.len() < 16 {
                    seen.push(sup);
                }
            }
        }
        false
    }

    /// The tree defines `class` (last segment); `may_be_model` when this
    /// definition names a superclass or includes a document module.
    pub fn class_defined(&mut self, class: &str, may_be_model: bool) {
        *self.classes.entry(class.to_string()).or_default() |= may_be_model;
    }

    /// A call of `callee`, made in an entry point (`in_entry`) or else in
    /// the method named `caller` (None outside methods). `callee` is a bare
    /// name, or `Class#name` for a call that can only reach class `Class`'s
    /// own method (made without a receiver in a class that defines it); a
    /// store in `Class#name` is grown by calls of either.
    ///
    /// the method named `caller` (None outside methods); `data_args` are
    /// the arguments that are not constants (literals, symbols, named
    /// constants).
    pub fn call_from(
        &mut self,
        caller: Option<&str>,
        callee: &str,
        in_entry: bool,
        data_args: ArgMask,
    ) {
        if data_args != ArgMask::NONE {
            let seen = self.called_with_data.entry(callee.to_string()).or_default();
            *seen = seen.with(data_args);
        }
        if in_entry {
            self.entry_calls.insert(callee.to_string());
        } else if let Some(caller) = caller.filter(|c| *c != callee) {
            self.calls_from
                .entry(caller.to_string())
                .or_default()
                .insert(callee.to_string());
        }
    }

    /// Method names an entry point calls within [`MAX_HOPS`] calls.
    fn reached(&self) -> &HashSet<String> {
        self.reached.get_or_init(|| {
            let mut seen: HashSet<String> = self.entry_calls.clone();
            let mut frontier: Vec<&String> = self.entry_calls.iter().collect();
            for _ in 1..MAX_HOPS {
                let mut next = Vec::new();
                for name in frontier {
                    // A class's own method (`Class#m`, see `call_from`) runs
                    // the body recorded under its bare name.
                    let bare = name.rsplit_once('#').map(|(_, m)| m.to_string());
                    let bodies = self
                        .calls_from
                        .get(name)
                        .into_iter()
                        .chain(bare.and_then(|m| self.calls_from.get(&m)));
                    for callee in bodies.flatten() {
                        if seen.insert(callee.clone()) {
                            next.push(callee);
                        }
                    }
                }
                frontier = next;
            }
            seen
        })
    }

    pub fn merge(&mut self, other: TreeFacts) {
        self.reached = OnceLock::new();
        self.entry_calls.extend(other.entry_calls);
        for (name, args) in other.called_with_data {
            let mine = self.called_with_data.entry(name).or_default();
            *mine = mine.with(args);
        }
        for (caller, callees) in other.calls_from {
            self.calls_from.entry(caller).or_default().extend(callees);
        }
        for (name, c) in other.calls {
            self.calls.entry(name).or_default().merge(c);
        }
        for (key, c) in other.calls_on {
            self.calls_on.entry(key).or_default().merge(c);
        }
        self.class_methods.extend(other.class_methods);
        self.module_methods.extend(other.module_methods);
        self.modules.extend(other.modules);
        self.constants.extend(other.constants);
        self.cleared.extend(other.cleared);
        self.script_globals.extend(other.script_globals);
        self.page_globals.extend(other.page_globals);
        self.python_imports.extend(other.python_imports);
        self.php_pages |= other.php_pages;
        self.php_long_running |= other.php_long_running;
        self.value_filters.extend(other.value_filters);
        for (class, (literal, other_rows)) in other.rows_made {
            let e = self.rows_made.entry(class).or_default();
            e.0 += literal;
            e.1 += other_rows;
        }
        self.extends.extend(other.extends);
        self.superclasses.extend(other.superclasses);
        for (class, may_be_model) in other.classes {
            *self.classes.entry(class).or_default() |= may_be_model;
        }
    }

    /// Whether the facts show the condition holds (so the finding goes).
    /// No call seen at all is no evidence: the finding stands.
    pub fn holds(&self, unless: &Unless) -> bool {
        match unless {
            Unless::OnlyCalledAtLoad { methods } => methods.iter().all(|m| {
                let Some(all) = self.calls.get(&m.name) else {
                    return false;
                };
                let mut c = *all;
                // Calls on another class that defines its own `m`.
                for ((on, name), other) in &self.calls_on {
                    if name == &m.name
                        && Some(on) != m.class.as_ref()
                        && self.class_methods.contains(&(on.clone(), name.clone()))
                    {
                        c.at_load -= other.at_load;
                        c.at_run -= other.at_run;
                        c.at_load_with_args -= other.at_load_with_args;
                        c.at_run_with_args -= other.at_run_with_args;
                    }
                }
                let (load, run) = if m.takes_args {
                    (c.at_load_with_args, c.at_run_with_args)
                } else {
                    (c.at_load, c.at_run)
                };
                load > 0 && run == 0
            }),
            Unless::OwnClassMethod { class, method } => self.has_class_method(class, method),
            Unless::NotReachedFromEntry { methods } => {
                let reached = self.reached();
                !methods.iter().any(|m| {
                    reached.contains(&m.method)
                        && self
                            .called_with_data
                            .get(&m.method)
                            .is_some_and(|data| data.meets(m.args))
                })
            }
            Unless::PlainClass { class } => self.classes.get(class) == Some(&false),
            Unless::ModuleOnly { name } => {
                self.modules.contains(name) && !self.classes.contains_key(name)
            }
            Unless::NotCalledFromEntry { methods } => {
                let reached = self.reached();
                !methods.iter().any(|m| reached.contains(m))
            }
            Unless::ScriptGlobal { name, script } => {
                self.script_globals.contains(name)
                    || self.page_globals.contains(&(script.clone(), name.clone()))
            }
            Unless::NotImported { module } => !self.python_imports.contains(module),
            Unless::ClearedInTree { class, store } => {
                self.cleared.contains(&(class.clone(), store.clone()))
            }
            Unless::OwnConstant { candidates } => {
                candidates.iter().any(|c| self.constants.contains(c))
            }
            Unless::PerRequestPhp => self.php_pages && !self.php_long_running,
            Unless::FilteredOnValue { classes } => {
                classes.iter().any(|c| self.value_filters.contains(c))
            }
            Unless::RowsOnlyFromLiterals { class } => self
                .rows_made
                .get(class)
                .is_some_and(|(literal, other)| *literal > 0 && *other == 0),
            Unless::AnyOf(all) => all.iter().any(|u| self.holds(u)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(class: Option<&str>, name: &str, takes_args: bool) -> MethodRef {
        MethodRef {
            class: class.map(str::to_string),
            name: name.into(),
            takes_args,
        }
    }

    fn at_load(name: &str, takes_args: bool) -> Unless {
        Unless::OnlyCalledAtLoad {
            methods: vec![method(None, name, takes_args)],
        }
    }

    #[test]
    fn a_method_never_called_is_no_evidence() {
        let f = TreeFacts::default();
        assert!(!f.holds(&at_load("track", true)));
    }

    #[test]
    fn growing_calls_only_at_load_make_a_dsl() {
        let mut f = TreeFacts::default();
        f.call("supported_options", None, true, true);
        // A read (no arguments) at run time does not grow the store.
        f.call("supported_options", None, false, false);
        assert!(f.holds(&at_load("supported_options", true)));
        // A method without parameters grows on every call.
        assert!(!f.holds(&at_load("supported_options", false)));
    }

    #[test]
    fn one_growing_call_at_run_time_in_any_file_keeps_the_finding() {
        let mut a = TreeFacts::default();
        a.call("register", None, true, true);
        let mut b = TreeFacts::default();
        b.call("register", None, false, true);
        a.merge(b);
        assert!(!a.holds(&at_load("register", true)));
    }

    #[test]
    fn every_storing_method_must_be_called_only_at_load() {
        let mut f = TreeFacts::default();
        f.call("suffix", None, true, true);
        f.call("track", None, false, true);
        let both = Unless::OnlyCalledAtLoad {
            methods: vec![method(None, "suffix", true), method(None, "track", true)],
        };
        assert!(!f.holds(&both));
        assert!(f.holds(&at_load("suffix", true)));
    }

    #[test]
    fn a_call_on_another_class_with_its_own_method_is_not_counted() {
        let mut f = TreeFacts::default();
        f.call("add_module", Some("Devise"), true, true);
        f.call("add_module", Some("Mapping"), false, true);
        f.class_method("Devise", "add_module");
        let devise = Unless::OnlyCalledAtLoad {
            methods: vec![method(Some("Devise"), "add_module", true)],
        };
        // Mapping does not define its own: the call may reach Devise's.
        assert!(!f.holds(&devise));
        f.class_method("Mapping", "add_module");
        assert!(f.holds(&devise));
    }

    fn not_reached(name: &str) -> Unless {
        Unless::NotReachedFromEntry {
            methods: vec![StoredArgs {
                method: name.into(),
                args: ArgMask::ALL,
            }],
        }
    }

    #[test]
    fn a_method_no_entry_point_calls_does_not_grow_per_request() {
        let mut f = TreeFacts::default();
        f.call_from(Some("boot"), "add_module", false, ArgMask::ALL);
        assert!(f.holds(&not_reached("add_module")));
        assert!(f.holds(&not_reached("never_called")));
    }

    #[test]
    fn an_entry_point_reaches_through_a_few_calls_in_any_file() {
        let mut a = TreeFacts::default();
        a.call_from(Some("perform"), "charge", true, ArgMask::ALL);
        let mut b = TreeFacts::default();
        b.call_from(Some("charge"), "rate_for", false, ArgMask::ALL);
        b.call_from(Some("rate_for"), "remember", false, ArgMask::ALL);
        b.call_from(Some("remember"), "store", false, ArgMask::ALL);
        a.merge(b);
        assert!(!a.holds(&not_reached("charge")));
        assert!(!a.holds(&not_reached("remember")));
        // Beyond MAX_HOPS the name-based edges say too little.
        assert!(a.holds(&not_reached("store")));
    }

    #[test]
    fn a_method_called_only_with_constants_is_keyed_by_them() {
        let mut f = TreeFacts::default();
        // `process` (an entry point) calls `executable_path('git')`.
        f.call_from(Some("process"), "executable_path", true, ArgMask::NONE);
        assert!(f.holds(&not_reached("executable_path")));
        // One call with a variable anywhere in the tree: keys come from data.
        f.call_from(Some("lint"), "executable_path", false, ArgMask::ALL);
        assert!(!f.holds(&not_reached("executable_path")));
    }

    #[test]
    fn only_the_arguments_the_store_keeps_count_as_data() {
        let mut f = TreeFacts::default();
        // `hook :updated, changes` from an entry point: data in the second.
        f.call_from(Some("perform"), "hook", true, ArgMask::position(1));
        let by_name = |args| Unless::NotReachedFromEntry {
            methods: vec![StoredArgs {
                method: "hook".into(),
                args,
            }],
        };
        assert!(f.holds(&by_name(ArgMask::position(0))));
        assert!(!f.holds(&by_name(ArgMask::position(1))));
        // A rest parameter takes every later argument.
        assert!(!f.holds(&by_name(ArgMask::from_position(1))));
        assert!(f.holds(&by_name(ArgMask::KEYWORDS)));
        // A splat at a call may fill any parameter.
        f.call_from(Some("perform"), "hook", true, ArgMask::ALL);
        assert!(!f.holds(&by_name(ArgMask::position(0))));
    }

    #[test]
    fn a_method_called_from_an_entry_point_with_constants_is_still_called() {
        let never = |name: &str| Unless::NotCalledFromEntry {
            methods: vec![name.into()],
        };
        let mut f = TreeFacts::default();
        f.call_from(None, "collect", false, ArgMask::NONE);
        assert!(f.holds(&never("collect")));
        let mut f = TreeFacts::default();
        f.call_from(None, "collect", false, ArgMask::NONE);
        f.call_from(Some("handle"), "collect", true, ArgMask::NONE);
        assert!(!f.holds(&never("collect")));
        // Unlike a store's keys, a registration grows without data.
        assert!(f.holds(&not_reached("collect")));
    }

    #[test]
    fn merging_forgets_what_was_reached_before() {
        let mut a = TreeFacts::default();
        a.call_from(Some("x"), "remember", false, ArgMask::ALL);
        assert!(a.holds(&not_reached("remember")));
        let mut b = TreeFacts::default();
        b.call_from(None, "remember", true, ArgMask::ALL);
        a.merge(b);
        assert!(!a.holds(&not_reached("remember")));
    }

    #[test]
    fn any_of_holds_when_one_does() {
        let f = TreeFacts::default();
        let either = Unless::AnyOf(vec![at_load("track", true), not_reached("track")]);
        assert!(f.holds(&either));
        assert!(!f.holds(&Unless::AnyOf(vec![at_load("track", true)])));
    }

    #[test]
    fn a_module_that_is_never_a_class_is_no_model() {
        let only = |name: &str| Unless::ModuleOnly { name: name.into() };
        let mut f = TreeFacts::default();
        assert!(!f.holds(&only("Bundler")));
        f.module_defined("Bundler");
        assert!(f.holds(&only("Bundler")));
        f.class_defined("Bundler", false);
        assert!(!f.holds(&only("Bundler")));
    }

    #[test]
    fn class_methods_come_from_extended_modules_and_superclasses() {
        let all = |class: &str| Unless::OwnClassMethod {
            class: class.into(),
            method: "all".into(),
        };
        let mut f = TreeFacts::default();
        f.module_method("CountryClassMethods", "all");
        assert!(!f.holds(&all("Country")));
        f.extends("Country", "CountryClassMethods");
        assert!(f.holds(&all("Country")));
        f.superclass("Territory", "Country");
        assert!(f.holds(&all("Territory")));
        // A superclass outside the tree (an ORM's base) gives nothing.
        f.superclass("User", "ApplicationRecord");
        assert!(!f.holds(&all("User")));
        // Cycles of names end.
        f.superclass("A", "B");
        f.superclass("B", "A");
        assert!(!f.holds(&all("A")));
    }

    #[test]
    fn a_class_is_plain_only_if_no_definition_could_make_a_model() {
        let plain = Unless::PlainClass {
            class: "Deployer".into(),
        };
        let mut a = TreeFacts::default();
        assert!(!a.holds(&plain), "a class the tree does not define");
        a.class_defined("Deployer", false);
        assert!(a.holds(&plain));
        let mut b = TreeFacts::default();
        b.class_defined("Deployer", true);
        a.merge(b);
        assert!(!a.holds(&plain), "reopened elsewhere with a superclass");
    }

    #[test]
    fn own_class_methods_are_matched_by_class_and_name() {
        let mut f = TreeFacts::default();
        f.class_method("Queue", "all");
        assert!(f.holds(&Unless::OwnClassMethod {
            class: "Queue".into(),
            method: "all".into()
        }));
        assert!(!f.holds(&Unless::OwnClassMethod {
            class: "User".into(),
            method: "all".into()
        }));
    }
}
