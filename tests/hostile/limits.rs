//! Runaway scripts against the limits: loops that catch the stop (pcall,
//! coroutines) under a budget or a host interrupt, expression-building loops
//! under a memory limit, Rhai string doubling. Each ends with a clean error
//! and a host that goes on.

use dbridge_lua::{InstallOptions, mlua::Lua};
use dbridge_testkit::TestDb;

use crate::support::BACKENDS;

fn lua(t: &TestDb, opts: InstallOptions) -> Lua {
    let lua = dbridge_lua::new_lua(opts).expect("lua");
    lua.globals()
        .set("db", dbridge_lua::LuaDb::new(t.db.clone()))
        .expect("db");
    lua
}

async fn host_goes_on(lua: &Lua) {
    let n: i64 = dbridge_lua::eval(lua, "return db:fetch_one('SELECT 1 AS n').n", "=check")
        .await
        .expect("the state keeps serving");
    assert_eq!(n, 1);
}

const CATCHING_LOOPS: &[&str] = &[
    "while true do pcall(function() while true do end end) end",
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "local f = coroutine.wrap(function() while true do end end) while true do pcall(f) end",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catching_loops_are_stopped_by_the_budget() {
    for backend in BACKENDS {
        let t = TestDb::new(backend).await;
        let lua = lua(
            &t,
            InstallOptions::new().instruction_budget(Some(1_000_000)),
        );
        for src in CATCHING_LOOPS {
            let err = dbridge_lua::exec(&lua, src, "=hostile")
                .await
                .expect_err("stopped");
            assert!(err.to_string().contains("budget"), "{src}: {err}");
        }
        host_goes_on(&lua).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expression_loops_hit_the_memory_limit_cleanly() {
    for backend in BACKENDS {
        let t = TestDb::new(backend).await;
        let lua = lua(&t, InstallOptions::new().memory_limit(Some(16 << 20)));
        let kinds: (String, String) = dbridge_lua::eval(
            &lua,
            r#"
local big = dbridge.literal(string.rep("x", 4096))
local keep = {}
local ok1, e1 = pcall(function() for i = 1, 1e7 do keep[i] = big + i end end)
keep = nil
collectgarbage()
local e = dbridge.literal(0)
local ok2, e2 = pcall(function() for i = 1, 30000 do e = e + 1 end end)
return e1.kind, e2.kind
"#,
            "=hostile",
        )
        .await
        .expect("the errors are catchable");
        assert_eq!(kinds, ("out_of_memory".into(), "invalid_value".into()));
        host_goes_on(&lua).await;
    }
}

#[test]
fn rhai_string_doubling_is_an_error() {
    let mut engine = rhai::Engine::new();
    dbridge_rhai::register(&mut engine, dbridge_rhai::Options::sandboxed()).expect("register");
    for src in [
        r#"let s = "x"; loop { s += s; }"#,
        "let a = [1]; loop { a += a; }",
        "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
    ] {
        let err = engine.run(src).expect_err("stopped");
        assert!(
            matches!(
                *err,
                rhai::EvalAltResult::ErrorDataTooLarge(..)
                    | rhai::EvalAltResult::ErrorTooManyOperations(..)
            ),
            "{src}: {err}"
        );
    }
    assert_eq!(engine.eval::<i64>("6 * 7").expect("engine goes on"), 42);
}
