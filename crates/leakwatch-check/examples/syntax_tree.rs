//! Prints the tree-sitter syntax tree of one source file, one named node a
//! line with its field name and the first 50 characters of its text. A
//! debugging aid for writing rules: the node kinds and field names the
//! analyzers match on are the ones printed here.
//!
//! Usage: cargo run --release -p leakwatch-check --example syntax_tree -- FILE
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(arg) = std::env::args().nth(1) else {
        eprintln!("usage: dump FILE (a .py, .js, .ts, .tsx, .go, .java, .rb or .php file)");
        return ExitCode::from(2);
    };
    let path = std::path::Path::new(&arg);
    let Some(lang) = leakwatch_check::Lang::from_path(path) else {
        eprintln!("{arg}: not a language leakwatch check reads (by its extension)");
        return ExitCode::from(2);
    };
    let src = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{arg}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut parser = tree_sitter::Parser::new();
    if let Err(e) = parser.set_language(&lang.grammar()) {
        eprintln!("grammar: {e}");
        return ExitCode::from(2);
    }
    let Some(tree) = parser.parse(&src, None) else {
        eprintln!("{arg}: the parser gave up");
        return ExitCode::from(2);
    };
    let mut cursor = tree.root_node().walk();
    let mut depth = 0;
    loop {
        let node = cursor.node();
        if node.is_named() {
            let field = cursor
                .field_name()
                .map(|f| format!("{f}: "))
                .unwrap_or_default();
            let text: String = src[node.byte_range()]
                .chars()
                .take(50)
                .collect::<String>()
                .replace('\n', "\\n");
            println!("{}{}{} `{}`", "  ".repeat(depth), field, node.kind(), text);
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return ExitCode::SUCCESS;
            }
            depth -= 1;
        }
    }
}
