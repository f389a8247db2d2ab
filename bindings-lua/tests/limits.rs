//! Limits that scripts cannot get around: expressions cost O(1) to build and
//! their Rust-side memory counts against the state's memory limit; trees too
//! deep to compile are refused as they are built; an interrupt from the host
//! stops a call even inside `pcall` and rolls back what it opened.

mod common;

use common::{lua_with, run};
use dbridge_lua::InstallOptions;

const LIMIT: usize = 32 << 20;

dbridge_testkit::each_backend!(
    building_expressions_stops_at_the_memory_limit_with_a_catchable_error,
    |t| async move {
        let lua = lua_with(&t, InstallOptions::new().memory_limit(Some(LIMIT)));
        // Each expression holds ~1 KB on the Rust heap and ~100 bytes in Lua's.
        let (ok, kind, built): (bool, String, i64) = run(
            &lua,
            r#"
local big = dbridge.literal(string.rep("x", 1000))
local keep = {}
local ok, err = pcall(function()
  for i = 1, 10000000 do keep[i] = big + i end
end)
local n = #keep
keep = nil
collectgarbage()
return ok, err.kind, n
"#,
        )
        .await;
        assert!(!ok);
        assert_eq!(kind, "out_of_memory");
        // The Rust side is counted: far fewer than the ~300,000 expressions
        // Lua's heap alone would allow under the limit.
        assert!(
            (built as usize) * 1000 <= LIMIT,
            "built {built} expressions"
        );
        // The state keeps serving.
        let n: i64 = run(&lua, "return db:fetch_one('SELECT 1 AS n').n").await;
        assert_eq!(n, 1);
    }
);

dbridge_testkit::each_backend!(
    an_expression_chain_of_30000_steps_is_a_clear_error,
    |t| async move {
        let lua = lua_with(&t, InstallOptions::new().memory_limit(Some(LIMIT)));
        let (ok, kind, msg, sql): (bool, String, String, String) = run(
            &lua,
            r#"
local e = dbridge.literal(0)
local ok, err = pcall(function()
  for i = 1, 30000 do e = e + 1 end
end)
-- What was built before the limit still compiles (or fails cleanly).
local qok, rows = pcall(function() return db:query((e - 1):label("v")):all() end)
local sql = qok and tostring(rows[1].v) or rows.kind
return ok, err.kind, err.message, sql
"#,
        )
        .await;
        assert!(!ok);
        assert_eq!(kind, "invalid_value", "{msg}");
        assert!(msg.contains("nested deeper than"), "{msg}");
        assert!(sql == "499" || sql == "invalid_value", "{sql}");
    }
);

dbridge_testkit::each_backend!(expression_building_copies_no_trees, |t| async move {
    // 400 steps of `e = e + 1`, 200 times over: quadratic copying would be
    // 16 million node copies and gigabytes; shared subtrees are ~80,000.
    let lua = lua_with(&t, InstallOptions::new().memory_limit(Some(LIMIT)));
    let n: i64 = run(
        &lua,
        r#"
local keep = {}
for j = 1, 200 do
  local e = dbridge.literal(j)
  for i = 1, 400 do e = e + 1 end
  keep[j] = e
end
return #keep
"#,
    )
    .await;
    assert_eq!(n, 200);
});

const STOPPABLE: &[&str] = &[
    "while true do pcall(function() while true do end end) end",
    "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "while true do xpcall(function() while true do end end, function(e) return e end) end",
    "while true do pcall(dbridge.sleep, 0.05) end",
];

dbridge_testkit::each_backend!(
    an_interrupt_from_another_thread_stops_a_call_and_rolls_back_its_transaction,
    |t| async move {
        // No budget: only the interrupt can stop these.
        let lua = lua_with(&t, InstallOptions::new().instruction_budget(None));
        run::<()>(
            &lua,
            "db:execute('CREATE TABLE iv (n INTEGER)') db:execute('INSERT INTO iv VALUES (1)')",
        )
        .await;
        let handle = dbridge_lua::interrupt_handle(&lua).expect("installed");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let started = lua
            .create_function(move |_, ()| Ok(tx.send(()).is_ok()))
            .expect("function");
        lua.globals().set("started", started).expect("global");
        // The host's watchdog: interrupts each script once it says it started.
        std::thread::spawn(move || rx.iter().for_each(|()| handle.interrupt()));
        for src in STOPPABLE {
            let script = format!(
                "local tx = db:begin() tx:execute('UPDATE iv SET n = n + 100') started() {src}"
            );
            let guard = std::time::Duration::from_secs(60);
            let err = tokio::time::timeout(guard, common::fails(&lua, &script))
                .await
                .expect("the interrupt stopped the script");
            assert!(err.contains("interrupted"), "{src}: {err}");
            // The transaction was rolled back: the next write does not wait for it.
            let write = run::<()>(&lua, "db:execute('UPDATE iv SET n = n + 1')");
            tokio::time::timeout(guard, write)
                .await
                .expect("the transaction was released");
        }
        let n: i64 = run(&lua, "return db:fetch_one('SELECT n FROM iv').n").await;
        assert_eq!(n, 1 + STOPPABLE.len() as i64);
        // Later calls run normally.
        let n: i64 = run(&lua, "local ok = pcall(error, 'x') return ok and 0 or 42").await;
        assert_eq!(n, 42);
    }
);
