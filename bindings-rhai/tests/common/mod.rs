//! Helpers shared by the integration tests: run a script against a test
//! database, from the blocking pool as a host should.
#![allow(dead_code)]

use dbridge_testkit::TestDb;
use rhai::{Dynamic, Engine, EvalAltResult, Scope};

/// An engine with dbridge registered on the current runtime, sandbox limits,
/// and `assert(ok)` and `assert_eq(a, b)` for the scripts' own checks.
pub fn engine(options: dbridge_rhai::Options) -> (Engine, dbridge_rhai::Dbridge) {
    let mut engine = Engine::new();
    let dbridge = dbridge_rhai::register(&mut engine, options).expect("register");
    engine.register_fn("assert", |ok: bool| -> Result<(), Box<EvalAltResult>> {
        if ok {
            Ok(())
        } else {
            Err("assertion failed".into())
        }
    });
    engine.register_fn(
        "assert_eq",
        |a: Dynamic, b: Dynamic| -> Result<(), Box<EvalAltResult>> {
            let (sa, sb) = (format!("{a:?}"), format!("{b:?}"));
            if a.type_name() == b.type_name() && sa == sb {
                Ok(())
            } else {
                Err(format!(
                    "assert_eq failed: {sa} ({}) != {sb} ({})",
                    a.type_name(),
                    b.type_name()
                )
                .into())
            }
        },
    );
    (engine, dbridge)
}

/// Runs `script` with the test database as the global `db` (and `backend`,
/// its name) on the blocking pool; returns the script's value.
pub async fn run(t: &TestDb, script: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    run_with(t, dbridge_rhai::Options::sandboxed(), script).await
}

/// As [`run`], with registration options.
pub async fn run_with(
    t: &TestDb,
    options: dbridge_rhai::Options,
    script: &str,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let (engine, dbridge) = engine(options);
    let mut scope = Scope::new();
    scope.push("db", dbridge.database(t.db.clone()));
    scope.push("backend", t.backend().name().to_string());
    scope.push("url", t.url.clone());
    let script = script.to_owned();
    dbridge_rhai::spawn_blocking(move || engine.eval_with_scope::<Dynamic>(&mut scope, &script))
        .await
        .expect("script thread")
}

/// Runs `script` and panics with the error if it fails.
pub async fn ok(t: &TestDb, script: &str) -> Dynamic {
    match run(t, script).await {
        Ok(v) => v,
        Err(e) => panic!("script failed on {}: {e}", t.backend().name()),
    }
}

/// Runs `script` for its checks.
pub async fn check(t: &TestDb, script: &str) {
    let _ = ok(t, script).await;
}

/// [`ok`] on `prelude` (a chunk of models or rows) followed by `script`.
pub async fn ok_after(t: &TestDb, prelude: &str, script: &str) -> Dynamic {
    ok(t, &format!("{prelude}{script}")).await
}

/// [`check`] on `prelude` followed by `script`.
pub async fn check_after(t: &TestDb, prelude: &str, script: &str) {
    check(t, &format!("{prelude}{script}")).await
}

/// The kind of the dbridge error a script failed with.
pub fn kind(err: &EvalAltResult) -> String {
    dbridge_rhai::db_error(err)
        .map(|e| e.kind().to_string())
        .unwrap_or_else(|| format!("not a dbridge error: {err}"))
}

/// The models most tests use.
pub const MODELS: &str = r#"
    let User = db.model(#{
        name: "User", table: "users",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["name", "text", #{ nullable: false }],
            ["email", "text", #{ unique: true }],
            ["karma", "integer", #{ "default": 0, nullable: false }],
            ["created_at", "timestamptz", #{ "default": dbridge::now }],
        ],
    });
    let Post = db.model(#{
        name: "Post", table: "posts",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["author_id", "integer", #{ references: "users.id", on_delete: "cascade" }],
            ["title", "text"],
            ["body", "text", #{ deferred: true }],
        ],
    });
    db.create_all();
"#;
