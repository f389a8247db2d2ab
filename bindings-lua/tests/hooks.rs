//! Listeners and validators from Lua: changes made in hooks are persisted, a
//! failing hook rolls the whole flush back, and the instruction budget stops a
//! hook that never returns.

mod common;

use common::{MODELS, lua_for, lua_models, lua_with, run};
use dbridge_lua::InstallOptions;

dbridge_testkit::each_backend!(hook_changes_are_persisted, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local seen = {}
db:on(User, "before_insert", function(s, u) u.email = u.email:lower(); seen[#seen + 1] = "bi:" .. tostring(s) end)
db:on(User, "before_update", function(s, u) u.karma = u.karma + 100 end)
db:on("*", "after_insert", function(s, inst) seen[#seen + 1] = "ai:" .. inst.name end)
db:on("*", "before_flush", function(s) seen[#seen + 1] = "bf" end)
db:on("*", "after_commit", function(s) seen[#seen + 1] = "commit" end)
db:on(User, "set", function(inst, name, new, old) seen[#seen + 1] = "set:" .. name .. "=" .. tostring(new) end)
local off = db:on(User, "after_delete", function() error("never: removed") end)
off()
local u
db:transaction(function(s)
  u = s:add(User { name = "Ada", email = "ADA@EXAMPLE.COM" })
  s:flush()
  u.karma = 1
end)
db:transaction(function(s) s:delete(s:get(User, u.id)) end)
local stored = db:fetch_all("SELECT email, karma FROM users")
return table.concat(seen, " ") .. " | " .. #stored
"#,
    )
    .await;
    assert_eq!(
        got.split(" | ").nth(1),
        Some("0"),
        "the delete committed: {got}"
    );
    let events = got.split(" | ").next().unwrap_or_default();
    assert!(events.starts_with("set:name=Ada set:email=ADA@EXAMPLE.COM bf set:email=ada@example.com bi:dbridge.session("), "{events}");
    assert!(
        events.contains("ai:Ada set:karma=1 bf set:karma=101 commit"),
        "{events}"
    );
});

dbridge_testkit::each_backend!(hook_modification_reaches_the_row, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:on(User, "before_insert", function(s, u) u.email = u.email:lower() end)
db:on(User, "before_update", function(s, u) u.karma = u.karma + 100 end)
db:transaction(function(s)
  local u = s:add(User { name = "Ada", email = "ADA@EXAMPLE.COM" })
  s:flush()
  u.karma = 1
end)
local r = db:fetch_one("SELECT email, karma FROM users")
return r.email .. " " .. r.karma
"#,
    )
    .await;
    assert_eq!(got, "ada@example.com 101");
});

dbridge_testkit::each_backend!(failing_hook_rolls_back_the_flush, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:on(User, "before_insert", function(s, u)
  if u.name == "Bad" then error("bad user") end
end)
local ok, e = pcall(db.transaction, db, function(s)
  s:add(User { name = "Good", email = "g@example.com" })
  s:add(User { name = "Bad", email = "b@example.com" })
end)
local ok2, e2 = pcall(db.transaction, db, function(s)
  db:on(User, "before_update", function() error(dbridge.error { kind = "validation", message = "frozen" }) end)
  local u = s:add(User { name = "Fine", email = "f@example.com" })
  s:flush()
  u.karma = 3
end)
return e.kind .. " | " .. e.message .. " | " .. e2.kind .. " | " .. db:query(User):count()
"#,
    )
    .await;
    let parts: Vec<&str> = got.split(" | ").collect();
    assert_eq!(parts[0], "invalid_state", "{got}");
    assert!(parts[1].starts_with("listener `lua before_insert listener (test:2)` for before_insert failed on `User` instance #"), "{got}");
    assert!(parts[1].contains("bad user"), "{got}");
    assert_eq!(parts[2], "validation", "{got}");
    assert_eq!(parts[3], "0", "nothing of either flush remains: {got}");
});

dbridge_testkit::each_backend!(budget_stops_an_endless_hook, |t| async move {
    let lua = lua_with(
        &t,
        InstallOptions::new().instruction_budget(Some(2_000_000)),
    );
    run::<()>(&lua, MODELS).await;
    let r = dbridge_lua::eval::<()>(
        &lua,
        r#"
db:on(User, "before_insert", function() while true do end end)
local s = db:session()
s:add(User { name = "Loop", email = "l@example.com" })
pcall(s.commit, s)   -- the budget's error is not swallowed
"#,
        "=test",
    )
    .await;
    let err = r.expect_err("stopped by the budget").to_string();
    assert!(err.contains("budget"), "{err}");
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS.replace("db:create_all()", "").as_str()).await;
    let n: i64 = run(
        &lua,
        "return db:fetch_one('SELECT count(*) AS n FROM users').n",
    )
    .await;
    assert_eq!(n, 0);
});

dbridge_testkit::each_backend!(every_event_reaches_lua, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local seen = {}
for _, ev in ipairs({ "before_insert", "after_insert", "before_update", "after_update",
    "before_delete", "after_delete", "before_flush", "after_flush", "after_commit",
    "after_rollback", "set", "statement" }) do
  db:on("*", ev, function(a, b) seen[ev] = (seen[ev] or 0) + 1 end)
end
local s = db:session()
local u = s:add(User { name = "Ada", email = "a@example.com" })
s:commit()
u.karma = 2
s:commit()
s:delete(u)
s:commit()
s:add(User { name = "Gone", email = "g@example.com" })
s:flush()
s:rollback()
s:close()
local names = {}
for k in pairs(seen) do names[#names + 1] = k end
table.sort(names)
return table.concat(names, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "after_commit after_delete after_flush after_insert after_rollback after_update \
         before_delete before_flush before_insert before_update set statement"
    );
});
