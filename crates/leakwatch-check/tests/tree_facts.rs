//! Findings that rest on the rest of the tree (how a method is called in
//! other files, which classes define their own `all`): each directory under
//! tests/corpus-tree/ is checked whole with `check_paths`, and its markers
//! (`expect: rule-id`) must be exactly the findings. Each file alone would
//! give more: the facts come from the other files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use leakwatch_check::{check_paths, CheckOptions, Rule};

fn markers(dir: &Path) -> BTreeSet<(String, usize, Rule)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let src = std::fs::read_to_string(&p).unwrap();
            for (i, line) in src.lines().enumerate() {
                if let Some(pos) = line.find("expect: ") {
                    let id = line[pos + 8..].trim();
                    let rule = Rule::from_id(id).unwrap_or_else(|| panic!("bad marker {id}"));
                    out.insert((p.display().to_string(), i + 1, rule));
                }
            }
        }
    }
    out
}

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus-tree")
        .join(name)
}

fn findings(paths: &[PathBuf]) -> BTreeSet<(String, usize, Rule)> {
    check_paths(paths, &CheckOptions::default())
        .unwrap()
        .findings
        .into_iter()
        .map(|f| (f.path, f.line, f.rule))
        .collect()
}

fn assert_case(name: &str) {
    let dir = case(name);
    let got = findings(std::slice::from_ref(&dir));
    assert_eq!(got, markers(&dir), "case {name}");
}

#[test]
fn a_dsl_called_only_in_class_bodies_and_a_boot_step_are_not_findings() {
    assert_case("dsl-at-load");
    // Checked alone, the defining file has no calls to go by: the thread
    // stands, but the store, which grows only through its method's
    // parameters, shows no entry point growing it.
    let alone = findings(&[case("dsl-at-load/lib/pattern.rb")]);
    let rules: BTreeSet<Rule> = alone.iter().map(|f| f.2).collect();
    assert_eq!(rules, BTreeSet::from([Rule::UnstoppableTask]));
}

#[test]
fn one_call_at_run_time_in_another_file_keeps_the_findings() {
    assert_case("dsl-at-run");
}

#[test]
fn a_class_with_its_own_all_is_not_a_model() {
    assert_case("own-all");
    // Without the defining files the calls look like ORM queries.
    let alone = findings(&[case("own-all/monitor.rb"), case("own-all/Worker.php")]);
    assert_eq!(alone.len(), 4, "{alone:?}");
}

#[test]
fn calls_in_blocks_that_yield_at_once_are_made_at_load() {
    assert_case("boot-config");
    assert_case("boot-config-run");
}

/// A store another file of the tree empties (a class's static property
/// reset by another class, a constant cleaned through an alias of the same
/// name) is bounded; when the other file empties only its own store of the
/// same name, or only reads, the findings stand.
#[test]
fn a_store_emptied_in_another_file_is_bounded() {
    assert_case("cleared-elsewhere");
    assert_case("cleared-nowhere");
    // Without the emptying files both stores look unbounded.
    let alone = findings(&[
        case("cleared-elsewhere/Template.php"),
        case("cleared-elsewhere/sleeper.rb"),
    ]);
    assert_eq!(alone.len(), 2, "{alone:?}");
}

/// A browser script's top-level `var` is a global the page's other
/// scripts share: assigning it in another file creates nothing; a
/// CommonJS module's top-level `var` is its own, so the same assignment
/// elsewhere still creates a global.
#[test]
fn a_global_declared_by_another_script_of_the_page_is_no_accident() {
    assert_case("script-globals");
    assert_case("script-globals-commonjs");
    let alone = findings(&[case("script-globals/view.js")]);
    assert_eq!(alone.len(), 3, "{alone:?}");
}

/// A server page's inline script declares globals (`var sel_start_date = 0;`
/// in a `<script>` a PHP page echoes) that the page's external scripts
/// fill; a `var` inside one of its functions declares nothing global.
#[test]
fn a_global_declared_by_a_pages_inline_script_is_no_accident() {
    assert_case("page-globals");
    let alone = findings(&[case("page-globals/base.js")]);
    assert_eq!(alone.len(), 5, "{alone:?}");
}

/// A script PHP writes (ZoneMinder's `watch.js.php`, echoed into the page
/// beside `watch.js`) declares globals at its top level as an inline script
/// does, its PHP blocks left out; a `var` inside one of its functions
/// declares nothing global.
#[test]
fn a_global_declared_by_a_script_php_writes_is_no_accident() {
    assert_case("php-written-script");
    let alone = findings(&[case("php-written-script/watch.js")]);
    assert_eq!(alone.len(), 5, "{alone:?}");
}

/// An AMD loader's `require([...], fn)` (Dojo, RequireJS) does not make a
/// file a CommonJS module, nor does `'use strict'` keep it from declaring:
/// its top-level function is a page global that another script may replace.
#[test]
fn an_amd_scripts_top_level_function_is_a_page_global() {
    assert_case("script-globals-amd");
    let alone = findings(&[case("script-globals-amd/plugin.js")]);
    assert_eq!(alone.len(), 2, "{alone:?}");
}

/// A PHP web application (a page that reads the request) that runs nothing
/// for long serves one request at a time, and PHP frees its statics at
/// the end of each: a static cache keyed by user does not outlive the
/// request. With a worker of the same tree that sleeps and loops for
/// good, the same cache grows for the worker's life.
#[test]
fn a_php_web_apps_statics_end_with_the_request_unless_something_runs_for_long() {
    assert_case("php-pages");
    assert_case("php-pages-worker");
    // The class alone is a library's: who runs it is up to its users.
    let alone = findings(&[case("php-pages/Profiles.php")]);
    assert_eq!(alone.len(), 1, "{alone:?}");
}

/// A Python module with a `__main__` block is a script, its stores ending
/// with the run, only while nothing of the tree imports it: imported by a
/// service, it is a library whose stores live as long as the service.
#[test]
fn a_module_with_a_main_block_that_the_tree_imports_is_a_library() {
    assert_case("python-main-imported");
    assert_case("python-main-alone");
    let alone = findings(&[case("python-main-imported/wesnoth/wmlparser.py")]);
    assert!(alone.is_empty(), "{alone:?}");
}

/// An HTML page or template's inline script declares globals (`var
/// pendingidentifiers = [];` in bibledit's `changes.html`) that the page's
/// external scripts fill; no rule reads the page itself, and it is not
/// counted as checked.
#[test]
fn a_global_declared_by_an_html_pages_inline_script_is_no_accident() {
    assert_case("html-page-globals");
    let report = check_paths(&[case("html-page-globals")], &CheckOptions::default()).unwrap();
    assert_eq!(report.files_checked, 2);
    let alone = findings(&[case("html-page-globals/changes.js")]);
    assert_eq!(alone.len(), 4, "{alone:?}");
}

/// A doc comment naming `$_GET` (Symfony's `InputBag`) makes no web page
/// of a library's tree: its static caches still count for a worker.
#[test]
fn a_comment_naming_request_globals_makes_no_page() {
    assert_case("php-library-doc-comment");
}
