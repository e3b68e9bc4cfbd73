//! What one file cannot tell but the tree it belongs to can: how a method
//! is called elsewhere, and which classes define their own class methods.
//! A finding that rests on such a fact carries an [`Unless`]; each file
//! contributes its [`TreeFacts`], and after every file is analysed the
//! merged facts drop the findings they refute (a single file is its own
//! tree).

use std::collections::{HashMap, HashSet};

/// The condition under which a finding does not stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unless {
    /// Every store of the finding is in one of `methods` (name, whether it
    /// takes parameters), and every call of each in the tree that could
    /// grow the store (one passing arguments or a block when the method
    /// takes any; any call otherwise) is made while files load: at a file's
    /// top level or in a class or module body. Such a method is a
    /// class-definition DSL or a boot step: it runs a fixed number of times.
    OnlyCalledAtLoad { methods: Vec<(String, bool)> },
    /// `Class.method` is not the ORM's: the tree defines `method` as a class
    /// method of a class named `class` (last path segment).
    OwnClassMethod { class: String, method: String },
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
    class_methods: HashSet<(String, String)>,
}

impl TreeFacts {
    /// A call of `method`, made while files load or at run time, with or
    /// without arguments (or a block).
    pub fn call(&mut self, method: &str, at_load: bool, with_args: bool) {
        let c = self.calls.entry(method.to_string()).or_default();
        match (at_load, with_args) {
            (true, true) => {
                c.at_load += 1;
                c.at_load_with_args += 1;
            }
            (true, false) => c.at_load += 1,
            (false, true) => {
                c.at_run += 1;
                c.at_run_with_args += 1;
            }
            (false, false) => c.at_run += 1,
        }
    }

    /// `class` (last path segment) defines class method `method`.
    pub fn class_method(&mut self, class: &str, method: &str) {
        self.class_methods
            .insert((class.to_string(), method.to_string()));
    }

    pub fn merge(&mut self, other: TreeFacts) {
        for (name, c) in other.calls {
            let mine = self.calls.entry(name).or_default();
            mine.at_load += c.at_load;
            mine.at_run += c.at_run;
            mine.at_load_with_args += c.at_load_with_args;
            mine.at_run_with_args += c.at_run_with_args;
        }
        self.class_methods.extend(other.class_methods);
    }

    /// Whether the facts show the condition holds (so the finding goes).
    /// No call seen at all is no evidence: the finding stands.
    pub fn holds(&self, unless: &Unless) -> bool {
        match unless {
            Unless::OnlyCalledAtLoad { methods } => methods.iter().all(|(method, takes_args)| {
                let Some(c) = self.calls.get(method) else {
                    return false;
                };
                let (load, run) = if *takes_args {
                    (c.at_load_with_args, c.at_run_with_args)
                } else {
                    (c.at_load, c.at_run)
                };
                load > 0 && run == 0
            }),
            Unless::OwnClassMethod { class, method } => self
                .class_methods
                .contains(&(class.clone(), method.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_load(method: &str, takes_args: bool) -> Unless {
        Unless::OnlyCalledAtLoad {
            methods: vec![(method.into(), takes_args)],
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
        f.call("supported_options", true, true);
        // A read (no arguments) at run time does not grow the store.
        f.call("supported_options", false, false);
        assert!(f.holds(&at_load("supported_options", true)));
        // A method without parameters grows on every call.
        assert!(!f.holds(&at_load("supported_options", false)));
    }

    #[test]
    fn one_growing_call_at_run_time_in_any_file_keeps_the_finding() {
        let mut a = TreeFacts::default();
        a.call("register", true, true);
        let mut b = TreeFacts::default();
        b.call("register", false, true);
        a.merge(b);
        assert!(!a.holds(&at_load("register", true)));
    }

    #[test]
    fn every_storing_method_must_be_called_only_at_load() {
        let mut f = TreeFacts::default();
        f.call("suffix", true, true);
        f.call("track", false, true);
        let both = Unless::OnlyCalledAtLoad {
            methods: vec![("suffix".into(), true), ("track".into(), true)],
        };
        assert!(!f.holds(&both));
        assert!(f.holds(&at_load("suffix", true)));
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
