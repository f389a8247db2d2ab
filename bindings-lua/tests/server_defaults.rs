//! Server defaults from Lua: an attribute the script did not set is left out
//! of the session's INSERT, so the table's default applies even when the
//! model does not declare it, and the value is read back after the flush.

mod common;

use common::{lua_for, run};

dbridge_testkit::each_backend!(unset_attribute_gets_the_table_default, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
if BACKEND == "postgresql" then
  db:execute("CREATE TABLE s (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, created TIMESTAMPTZ NOT NULL DEFAULT now(), rank INTEGER NOT NULL DEFAULT 7)")
else
  db:execute("CREATE TABLE s (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')), rank INTEGER NOT NULL DEFAULT 7)")
end
S = db:model { name = "S", table = "s", columns = {
  { "id", "integer", primary_key = true },
  { "name", "text", nullable = false },
  { "created", "timestamptz", nullable = false },
  { "rank", "integer", nullable = false },
} }
local s = db:session({ expire_on_commit = false })
local a = s:add(S { name = "a" })
local b = s:add(S { name = "b", rank = 3 })
s:commit()
S:insert { { name = "c" } }
return tostring(a.rank) .. " " .. tostring(b.rank) .. " " .. tostring(a.created ~= nil)
  .. " " .. db:query(S):where(S.rank:eq(7)):count()
"#,
    )
    .await;
    assert_eq!(got, "7 3 true 2");
});
