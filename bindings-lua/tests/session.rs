//! Sessions from Lua: unit of work, dirty tracking, identity, rollback,
//! savepoints, raw SQL in the session's transaction, and sessions a script
//! drops.

mod common;

use common::{MODELS, lua_for, lua_models, run};

dbridge_testkit::each_backend!(
    dirty_tracking_updates_only_changed_columns,
    |t| async move {
        let lua = lua_models(&t, MODELS).await;
        let got: String = run(
            &lua,
            r#"
local log = {}
db:on_statement(function(ev) log[#log + 1] = ev.sql end)
local s = db:session({ expire_on_commit = false })
local ada = s:add(User { name = "Ada", email = "ada@example.com" })
s:commit()
for i = #log, 1, -1 do log[i] = nil end
ada.name = "Ada"          -- the same value: no change
s:flush()
local quiet = #log
ada.karma = 5
assert(ada:changed()[1] == "karma")
s:flush()
s:commit()
local updates = {}
for _, sql in ipairs(log) do if sql:find("^UPDATE") then updates[#updates + 1] = sql end end
return quiet .. " " .. #updates .. " " .. updates[1]
"#,
        )
        .await;
        assert!(
            got.starts_with(r#"0 1 UPDATE "users" SET "karma" = $1 WHERE"#),
            "{got}"
        );
    }
);

dbridge_testkit::each_backend!(one_instance_per_primary_key, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let same: bool = run(
        &lua,
        r#"
User:insert({ { name = "Ada", email = "a@x" } })
local s = db:session()
local a = s:get(User, 1)
local b = s:get(User, 1)
local c = s:query(User):where(User.id:eq(1)):one()
assert(s:get(User, 99) == nil)
local all = rawequal(a, b) and rawequal(a, c)
s:close()
return all
"#,
    )
    .await;
    assert!(same);
});

dbridge_testkit::each_backend!(failed_transaction_rolls_back_and_restores, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local u
local ok, e = pcall(db.transaction, db, function(s)
  u = s:add(User { name = "Ada", email = "ada@example.com" })
  s:flush()
  s:execute("INSERT INTO users (name, email) VALUES ($1, $2)", { "Bob", "bob@example.com" })
  error(dbridge.error { kind = "validation", message = "no thanks" })
end)
return e.kind .. " " .. db:query(User):count() .. " " .. u:state() .. " " .. tostring(u.id)
"#,
    )
    .await;
    assert_eq!(got, "validation 0 transient nil");
});

dbridge_testkit::each_backend!(transaction_session_keeps_raw_sql, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
return db:transaction(function(s)
  s:add(User { name = "Ada", email = "ada@example.com" })
  -- autoflush: raw SQL in the session sees what was added
  local n = s:fetch_one("SELECT count(*) AS n FROM users").n
  s:savepoint("sp")
  s:execute("UPDATE users SET karma = 7")
  s:rollback_to("sp")
  s:release("sp")
  local rows = {}
  for r in s:stream("SELECT name, karma FROM users") do rows[#rows + 1] = r.name .. r.karma end
  return n .. " " .. table.concat(rows) .. " " .. tostring(s:fetch_optional("SELECT 1 AS x WHERE 1 = 0"))
end)
"#,
    )
    .await;
    assert_eq!(got, "1 Ada0 nil");
});

dbridge_testkit::each_backend!(nested_and_session_calls, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local s = db:session()
local ada = s:add(User { name = "Ada", email = "ada@example.com" })
local ok, e = pcall(s.begin_nested, s, function(s)
  s:add(User { name = "Dropped", email = "d@example.com" })
  s:flush()
  error("not today")
end)
assert(not ok and tostring(e):find("not today"))
s:begin_nested(function(s) s:add(User { name = "Kept", email = "k@example.com" }) end)
s:commit()
local out = { s:query(User):count() }
-- refresh discards unflushed changes; expire reloads on next get
ada.name = "Changed"
s:refresh(ada)
out[#out + 1] = ada.name
s:expire(ada)
out[#out + 1] = s:get(User, ada.id).name
-- no_autoflush: a query does not see the pending instance
s:add(User { name = "Late", email = "l@example.com" })
out[#out + 1] = s:no_autoflush(function(s) return s:query(User):count() end)
out[#out + 1] = s:query(User):count()
-- delete, expunge, merge
s:delete(ada)
s:flush()
out[#out + 1] = ada:state()
s:rollback()
local detached = db:query(User):where(User.name:eq("Kept")):one()
detached.karma = 3
local merged = s:merge(detached)
s:commit()
out[#out + 1] = db:query(User.karma):where(User.name:eq("Kept")):one().karma
s:expunge(merged)
out[#out + 1] = merged:state()
s:close()
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "2 Ada Ada 2 3 deleted 3 detached");
});

dbridge_testkit::each_backend!(stale_data_with_a_version_column, |t| async move {
    let lua = lua_for(&t);
    let kind: String = run(
        &lua,
        r#"
local Doc = db:model {
  name = "Doc", table = "docs", version = "version",
  columns = { { "id", "integer", primary_key = true }, { "body", "text" }, { "version", "integer" } },
}
db:create_all()
local s = db:session()
local d = s:add(Doc { body = "a" })
s:commit()
assert(d.version == 1)
d.body = "b"
-- someone else's change (no autoflush: the instance's change is not written yet)
s:no_autoflush(function(s) s:execute("UPDATE docs SET version = version + 1") end)
local ok, e = pcall(s.commit, s)
s:close()
return e.kind
"#,
    )
    .await;
    assert_eq!(kind, "stale_data");
});

dbridge_testkit::each_backend!(dropped_session_is_rolled_back, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
do
  local s = db:session()
  s:add(User { name = "Lost", email = "lost@example.com" })
  s:flush()
end
collectgarbage()
collectgarbage()
-- The lock (SQLite) is released and the row is gone: another session writes.
db:transaction(function(s) s:add(User { name = "Kept", email = "kept@example.com" }) end)
local names = {}
for _, u in ipairs(db:query(User):all()) do names[#names + 1] = u.name end
return table.concat(names, ",")
"#,
    )
    .await;
    assert_eq!(got, "Kept");
});

dbridge_testkit::each_backend!(failed_call_rolls_back_its_session, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let r = dbridge_lua::eval::<()>(
        &lua,
        r#"
held = db:session()      -- a global: still referenced after the call
held:add(User { name = "Lost", email = "lost@example.com" })
held:flush()
error("script failed")
"#,
        "=test",
    )
    .await;
    assert!(r.is_err());
    let got: String = run(
        &lua,
        r#"
db:transaction(function(s) s:add(User { name = "Kept", email = "kept@example.com" }) end)
local ok, e = pcall(held.flush, held)
return db:query(User):count() .. " " .. e.kind
"#,
    )
    .await;
    assert_eq!(got, "1 invalid_state");
});
