//! Runs every ```rhai example of docs/rhai.md, in order, in one scope, against
//! an in-memory SQLite database, so that the documentation cannot rot.

mod common;

use rhai::{Engine, Scope};

fn examples() -> Vec<(usize, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rhai.md");
    let text = std::fs::read_to_string(path).expect("read docs/rhai.md");
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```rhai") => current = Some((i + 2, String::new())),
            (Some(_), "```") => out.extend(current.take()),
            (Some((_, code)), l) => {
                code.push_str(l);
                code.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```rhai block");
    out
}

fn engine() -> Engine {
    let (mut engine, _) = common::engine(dbridge_rhai::Options::sandboxed());
    engine.on_print(|_| {});
    engine
}

#[test]
fn every_rhai_example_in_the_docs_runs() {
    let examples = examples();
    assert!(
        examples.len() >= 18,
        "found only {} examples",
        examples.len()
    );
    let engine = engine();
    let mut scope = Scope::new();
    for (line, code) in &examples {
        if let Err(e) = engine.run_with_scope(&mut scope, code) {
            panic!("docs/rhai.md example at line {line} failed: {e}\n{code}");
        }
    }
}
