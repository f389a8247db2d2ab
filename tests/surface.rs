//! The script surface is a checked list, not a hope: `docs/surface.json`
//! names every function and method the bindings expose (the engine call
//! behind it, its Lua and Rhai spellings, the docs section that shows it),
//! and this test fails when
//!
//! - a binding registers a name the list lacks, or the list names one the
//!   binding does not register (Lua: the method tables of a live state;
//!   Rhai: the engine's registered function signatures);
//! - the engine's query and session API (`pub fn` of `Select`, `Expr`,
//!   `Window`, `Session`, `SessionQuery`, read from the source) has a method
//!   the list neither exposes nor leaves out with a reason;
//! - a name is exposed in one language only without a `left_out` reason;
//! - a listed name has no example: a ```lua / ```rhai block in the named
//!   section of docs/lua.md / docs/rhai.md that uses it.
//!
//! A new engine feature is exposed by adding its entry and both bindings'
//! registrations; this test says what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dbridge::lua::mlua::{Table, Value};
use serde_json::Value as Json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One entry of docs/surface.json.
#[derive(Debug, Default)]
struct Entry {
    engine: Option<String>,
    lua: Option<String>,
    rhai: Option<String>,
    lua_docs: Option<String>,
    rhai_docs: Option<String>,
    left_out: Option<String>,
}

fn entries() -> Vec<Entry> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("docs/surface.json"))
        .expect("read docs/surface.json");
    let json: Json = serde_json::from_str(&text).expect("docs/surface.json is JSON");
    let field = |o: &Json, k: &str| o.get(k).and_then(Json::as_str).map(str::to_owned);
    json["entries"]
        .as_array()
        .expect("an `entries` array")
        .iter()
        .map(|o| Entry {
            engine: field(o, "engine"),
            lua: field(o, "lua"),
            rhai: field(o, "rhai"),
            lua_docs: field(o, "lua_docs"),
            rhai_docs: field(o, "rhai_docs"),
            left_out: field(o, "left_out"),
        })
        .collect()
}

/// Lua: the method tables of the classes scripts see, and the module.
fn lua_names() -> BTreeSet<String> {
    let lua = dbridge::lua::new_lua(dbridge::lua::InstallOptions::new()).expect("lua");
    let mut out = BTreeSet::new();
    for (class, key) in [
        ("Db", "dbridge.Database"),
        ("Tx", "dbridge.Transaction"),
        ("Query", "dbridge.Query"),
        ("Expr", "dbridge.Expr"),
        ("Load", "dbridge.Load"),
        ("RelAttr", "dbridge.RelAttr"),
        ("Session", "dbridge.Session"),
        ("Write", "dbridge.Write"),
        ("Migrator", "dbridge.Migrator"),
        ("Model", "dbridge.Model"),
        ("Instance", "dbridge.Instance"),
        ("Collection", "dbridge.Collection"),
    ] {
        let t: Table = lua.named_registry_value(key).expect(key);
        for pair in t.pairs::<String, Value>() {
            out.insert(format!("{class}:{}", pair.expect("a method").0));
        }
    }
    let module: Table = lua.globals().get("dbridge").expect("dbridge");
    for pair in module.pairs::<String, Value>() {
        out.insert(format!("dbridge.{}", pair.expect("a module entry").0));
    }
    out
}

/// Rhai: `Type.method` (the first parameter's type), `Type.property` for
/// getters and setters, `dbridge::name` for the module; operators, indexers
/// and the `to_string` / `to_debug` conversions are plumbing, not surface.
fn rhai_names() -> BTreeSet<String> {
    let mut engine = rhai::Engine::new();
    dbridge::rhai::register(&mut engine, dbridge::rhai::Options::sandboxed()).expect("rhai");
    let mut out = BTreeSet::new();
    for sig in engine.gen_fn_signatures(false) {
        let (name, rest) = sig.split_once('(').expect("a signature");
        if name.starts_with("dbridge::") {
            out.insert(name.to_owned());
            continue;
        }
        let name = name.trim_start_matches("get$").trim_start_matches("set$");
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            || name.contains('$')
            || matches!(name, "to_string" | "to_debug")
        {
            continue;
        }
        let first = rest.split([',', ')']).next().unwrap_or_default();
        let ty = first.split_once(':').map_or("", |(_, t)| t.trim());
        let ty = ty
            .trim_start_matches("&mut ")
            .rsplit("::")
            .next()
            .unwrap_or(ty);
        out.insert(format!("{ty}.{name}"));
    }
    out
}

/// The engine's query and session API: `Type::method` for each `pub fn` in
/// an `impl` block of the scanned types.
fn engine_names() -> BTreeSet<String> {
    const TYPES: [&str; 5] = ["Select", "Expr", "Window", "Session", "SessionQuery"];
    let mut files = vec![
        "engine/src/query/select.rs".to_owned(),
        "engine/src/query/ops.rs".to_owned(),
        "engine/src/query/expr.rs".to_owned(),
        "engine/src/query/window.rs".to_owned(),
    ];
    for dir in ["engine/src/session", "engine/src/session/loading"] {
        for f in std::fs::read_dir(Path::new(ROOT).join(dir)).expect(dir) {
            let p = f.expect("a file").path();
            if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(ROOT).expect("in the repo");
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(Path::new(ROOT).join(&f)).expect("read engine source");
        let mut current: Option<&str> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("impl") {
                // `impl Type {`, `impl<'a> Type<'a> {`; trait impls are not API.
                let rest = match rest.strip_prefix('<') {
                    Some(generic) => generic.split_once('>').map_or("", |x| x.1),
                    None => rest,
                };
                let ty = rest.split([' ', '<', '{']).find(|s| !s.is_empty());
                current = ty.and_then(|t| TYPES.iter().copied().find(|x| *x == t));
                if rest.contains(" for ") {
                    current = None;
                }
            } else if line.starts_with('}') {
                current = None;
            } else if let Some(ty) = current {
                let l = line.strip_prefix("    pub ").unwrap_or_default();
                let l = l.strip_prefix("async ").unwrap_or(l);
                if let Some(name) = l.strip_prefix("fn ") {
                    let name: String = name
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.insert(format!("{ty}::{name}"));
                }
            }
        }
    }
    out
}

/// The code blocks of `lang` in each `## ` section of a docs file, by anchor.
fn doc_sections(file: &str, lang: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("docs").join(file)).expect(file);
    let mut out = BTreeMap::new();
    let (mut current, mut in_block) = (None::<String>, false);
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            let anchor = format!("{file}#{}", slug(title));
            out.entry(anchor.clone()).or_insert_with(String::new);
            current = Some(anchor);
        } else if !in_block && line.trim_start().starts_with(&format!("```{lang}")) {
            in_block = true;
        } else if in_block && line.trim() == "```" {
            in_block = false;
        } else if in_block && let Some(a) = &current {
            let code = out.entry(a.clone()).or_default();
            code.push_str(line);
            code.push('\n');
        }
    }
    out
}

/// GitHub's anchor of a heading.
fn slug(title: &str) -> String {
    title
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Whether `code` uses the name: `:method` / `dbridge.name` in Lua,
/// `.method` / `dbridge::name` in Rhai, as a whole word.
fn uses(code: &str, name: &str, lua: bool) -> bool {
    let needle = if let Some(n) = name.strip_prefix("dbridge.").filter(|_| lua) {
        format!("dbridge.{n}")
    } else if name.starts_with("dbridge::") {
        name.to_owned()
    } else if lua {
        format!(":{}", name.split_once(':').map_or(name, |x| x.1))
    } else {
        format!(".{}", name.split_once('.').map_or(name, |x| x.1))
    };
    code.match_indices(&needle).any(|(i, _)| {
        !code[i + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn the_script_surface_list_matches_the_bindings_the_engine_and_the_docs() {
    let list = entries();
    let mut problems: Vec<String> = Vec::new();

    let listed = |f: fn(&Entry) -> &Option<String>| -> BTreeSet<String> {
        list.iter().filter_map(|e| f(e).clone()).collect()
    };
    for (lang, have, listed) in [
        ("Lua", lua_names(), listed(|e| &e.lua)),
        ("Rhai", rhai_names(), listed(|e| &e.rhai)),
    ] {
        for n in have.difference(&listed) {
            problems.push(format!(
                "{lang} registers `{n}`, which docs/surface.json lacks"
            ));
        }
        for n in listed.difference(&have) {
            problems.push(format!(
                "docs/surface.json lists {lang} `{n}`, which is not registered"
            ));
        }
    }

    let engine = engine_names();
    let covered = listed(|e| &e.engine);
    for n in engine.difference(&covered) {
        problems.push(format!(
            "the engine has `{n}`, which docs/surface.json neither exposes nor leaves out"
        ));
    }
    for e in &list {
        if let Some(n) = &e.engine
            && !engine.contains(n)
            && [
                "Select::",
                "Expr::",
                "Window::",
                "Session::",
                "SessionQuery::",
            ]
            .iter()
            .any(|p| n.starts_with(p))
        {
            problems.push(format!(
                "docs/surface.json names engine `{n}`, which does not exist"
            ));
        }
        if (e.lua.is_none() || e.rhai.is_none()) && e.left_out.is_none() {
            problems.push(format!(
                "{e:?}: exposed in at most one language, without a `left_out` reason"
            ));
        }
    }

    let lua_docs = doc_sections("lua.md", "lua");
    let rhai_docs = doc_sections("rhai.md", "rhai");
    for e in &list {
        for (name, anchor, docs, lua) in [
            (&e.lua, &e.lua_docs, &lua_docs, true),
            (&e.rhai, &e.rhai_docs, &rhai_docs, false),
        ] {
            let Some(name) = name else { continue };
            match anchor
                .as_ref()
                .and_then(|a| docs.get(a).map(|code| (a, code)))
            {
                None => problems.push(format!(
                    "`{name}`: no docs anchor, or {anchor:?} is no section"
                )),
                Some((a, code)) if !uses(code, name, lua) => {
                    problems.push(format!("`{name}`: no example in {a}"));
                }
                Some(_) => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with the script surface:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
