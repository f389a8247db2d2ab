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
