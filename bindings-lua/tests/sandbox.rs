//! The sandbox: libraries, instruction budget (also through pcall and
//! coroutines), memory limit; the host keeps serving and transactions roll back.

mod common;

use common::{fails, lua_with, run};
use dbridge_lua::{InstallOptions, StdLib};

fn budget(n: u64) -> InstallOptions {
    InstallOptions::new().instruction_budget(Some(n))
}

const RUNAWAYS: &[&str] = &[
    "while true do end",
    "while true do pcall(function() while true do end end) end",
    "while true do pcall(error, 'x') end",
    "while true do xpcall(function() while true do end end, function(e) return e end) end",
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "local f = coroutine.wrap(function() while true do end end)
     while true do pcall(f) end",
    "while true do pcall(table.sort, { 3, 2, 1 }, function(a, b) while true do end end) end",
];

dbridge_testkit::each_backend!(
    scripts_that_keep_waiting_hit_the_time_limit,
    |t| async move {
        // Database waits cost no instructions: the time limit stops these.
        let opts = budget(100_000_000).call_timeout(Some(std::time::Duration::from_millis(300)));
        let lua = lua_with(&t, opts);
        run::<()>(&lua, "db:execute('CREATE TABLE w (n INTEGER)')").await;
        for src in [
            "db:transaction(function(tx)
             tx:execute('INSERT INTO w VALUES (1)')
             while true do pcall(tx.execute, tx, 'SELECT 1') end
         end)",
            "while true do pcall(dbridge.sleep, 0.01) end",
        ] {
            let msg = fails(&lua, src).await;
            assert!(msg.contains("timeout: "), "{src}: {msg}");
        }
        let n: i64 = run(&lua, "return db:fetch_one('SELECT count(*) AS c FROM w').c").await;
        assert_eq!(n, 0);
    }
);

dbridge_testkit::each_backend!(runaway_scripts_are_stopped, |t| async move {
    let lua = lua_with(&t, budget(2_000_000));
    for src in RUNAWAYS {
        let msg = fails(&lua, src).await;
        assert!(msg.contains("budget_exceeded"), "{src}: {msg}");
        // and the state keeps serving
        let n: i64 = run(&lua, "return db:fetch_one('SELECT 40 + 2 AS n').n").await;
        assert_eq!(n, 42);
    }
});

dbridge_testkit::each_backend!(
    a_stopped_script_s_transaction_is_rolled_back,
    |t| async move {
        let lua = lua_with(&t, budget(2_000_000));
        run::<()>(&lua, "db:execute('CREATE TABLE t (n INTEGER PRIMARY KEY)')").await;
        let msg = fails(
            &lua,
            "tx = db:begin()
         tx:execute('INSERT INTO t VALUES (1)')
         while true do pcall(function() while true do end end) end",
        )
        .await;
        assert!(msg.contains("budget_exceeded"), "{msg}");
        let msg = fails(
            &lua,
            "db:transaction(function(tx)
             tx:execute('INSERT INTO t VALUES (2)')
             while true do end
         end)",
        )
        .await;
        assert!(msg.contains("budget_exceeded"), "{msg}");
        // Both were rolled back: the same keys go in again, and `tx` is finished.
        let (n, kind): (i64, String) = run(
            &lua,
            "db:transaction(function(t2)
             if BACKEND == 'postgresql' then t2:execute(\"SET LOCAL lock_timeout = '5s'\") end
             t2:execute('INSERT INTO t VALUES (1), (2)')
         end)
         local _, e = pcall(tx.execute, tx, 'SELECT 1')
         return db:fetch_one('SELECT count(*) AS c FROM t').c, e.kind",
        )
        .await;
        assert_eq!((n, kind.as_str()), (2, "invalid_state"));
    }
);

dbridge_testkit::each_backend!(the_budget_is_per_call, |t| async move {
    let lua = lua_with(&t, budget(5_000_000));
    let work = "local x = 0 for i = 1, 1000000 do x = x + i end return x";
    for _ in 0..5 {
        let x: i64 = run(&lua, work).await;
        assert_eq!(x, 500_000_500_000);
    }
    let msg = fails(
        &lua,
        &format!("for _ = 1, 5 do (function() {work} end)() end"),
    )
    .await;
    assert!(msg.contains("budget_exceeded"), "{msg}");
});

dbridge_testkit::each_backend!(the_memory_limit_stops_a_huge_allocation, |t| async move {
    let lua = lua_with(&t, InstallOptions::new().memory_limit(Some(32 << 20)));
    let msg = fails(
        &lua,
        "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end",
    )
    .await;
    assert!(msg.contains("memory"), "{msg}");
    let msg = fails(&lua, "local s = ('x'):rep(64 << 20)").await;
    assert!(msg.contains("memory"), "{msg}");
    // A result too big for the limit fails as an error the script can catch.
    let kind: String = run(
        &lua,
        "local ok, e = pcall(db.fetch_all, db, [[
             WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 400000)
             SELECT n, 'a row of some text to fill the memory' || n AS t FROM s]])
         return e.kind",
    )
    .await;
    assert_eq!(kind, "out_of_memory");
    let n: i64 = run(
        &lua,
        "collectgarbage() return db:fetch_one('SELECT 40 + 2 AS n').n",
    )
    .await;
    assert_eq!(n, 42);
});

dbridge_testkit::each_backend!(untrusted_scripts_get_no_io_os_or_bytecode, |t| async move {
    let lua = lua_with(&t, InstallOptions::new());
    let ok: bool = run(
        &lua,
        "local bc = string.dump(function() return 1 end)
         return io == nil and os == nil and debug == nil and package == nil
            and dofile == nil and loadfile == nil
            and require('dbridge') == dbridge
            and load(bc) == nil and load('return 1')() == 1
            and not pcall(require, 'io')",
    )
    .await;
    assert!(ok);
});

#[test]
fn install_into_a_host_state_prunes_or_keeps_libraries() {
    let lua = dbridge_lua::mlua::Lua::new();
    dbridge_lua::install(&lua, InstallOptions::new()).unwrap();
    let (io, os, string, m): (bool, bool, bool, bool) = lua
        .load("return io == nil, os == nil, string ~= nil, require('dbridge') == dbridge")
        .eval()
        .unwrap();
    assert!(io && os && string && m);

    let trusted = dbridge_lua::mlua::Lua::new();
    dbridge_lua::install(&trusted, InstallOptions::new().libs(StdLib::ALL_SAFE)).unwrap();
    let (io, pkg): (bool, bool) = trusted
        .load("return io ~= nil, package.loaded.dbridge == dbridge")
        .eval()
        .unwrap();
    assert!(io && pkg);
}

#[test]
fn install_needs_the_coroutine_library() {
    let lua = dbridge_lua::mlua::Lua::new_with(StdLib::TABLE, Default::default()).unwrap();
    let err = dbridge_lua::install(&lua, InstallOptions::new()).unwrap_err();
    assert!(err.to_string().contains("coroutine"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_stops_a_script_that_computes_without_a_budget() {
    let opts = InstallOptions::new()
        .instruction_budget(None)
        .call_timeout(Some(std::time::Duration::from_millis(200)));
    let lua = dbridge_lua::new_lua(opts).expect("new lua");
    // A guard only: were the limit ignored, this interrupt would end the loop
    // (with `interrupted`, failing the assertion) instead of a hang.
    let stop = dbridge_lua::interrupt_handle(&lua).expect("installed");
    let guard = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        stop.interrupt();
    });
    for src in [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
    ] {
        let msg = fails(&lua, src).await;
        assert!(msg.contains("timeout: "), "{src}: {msg}");
        assert!(!msg.contains("interrupted"), "{src}: {msg}");
    }
    drop(guard);
}
