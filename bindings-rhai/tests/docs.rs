//! Runs every ```rhai example of docs/rhai.md, in order, in one scope, against
//! an in-memory SQLite database, so that the documentation cannot rot.

use rhai::{Dynamic, Engine, EvalAltResult, Scope};

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
    let mut engine = Engine::new();
    dbridge_rhai::register(&mut engine, dbridge_rhai::Options::sandboxed()).unwrap();
    engine
        .register_fn("assert", |ok: bool| -> Result<(), Box<EvalAltResult>> {
            if ok {
                Ok(())
            } else {
                Err("assertion failed".into())
            }
        })
        .register_fn(
            "assert_eq",
            |a: Dynamic, b: Dynamic| -> Result<(), Box<EvalAltResult>> {
                let (sa, sb) = (format!("{a:?}"), format!("{b:?}"));
                if a.type_name() == b.type_name() && sa == sb {
                    Ok(())
                } else {
                    Err(format!("assert_eq failed: {sa} != {sb}").into())
                }
            },
        );
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
