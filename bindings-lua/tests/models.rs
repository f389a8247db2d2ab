//! Models from Lua: declarations, instances, the DESIGN example (without
//! relations), validators, and writes without a session.

mod common;

use common::{MODELS, lua_for, lua_models, run};

dbridge_testkit::each_backend!(design_example_without_relations, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:on(User, "before_insert", function(session, user) user.email = user.email:lower() end)

db:transaction(function(s)
  local ada = s:add(User { name = "Ada", email = "ADA@example.com" })
  s:flush()
  assert(ada.id ~= nil, "ada.id is set by the flush")
  s:add(Post { author_id = ada.id, title = "Notes" })
  ada.karma = ada.karma + 1
end)

local top = db:query(User)
  :where(User.karma:gt(0), User.name:like("A%"))
  :order_by(User.karma:desc()):limit(10):all()

local out = {}
for _, u in ipairs(top) do
  out[#out + 1] = u.name .. "/" .. u.email .. "/" .. u.karma .. "/" .. u:state()
  assert(type(u.created_at) == "string", "the client default factory ran")
end
for row in db:stream("SELECT id, name FROM users WHERE karma > $1", { 0 }) do out[#out + 1] = row.name end
out[#out + 1] = db:query(Post):one().title
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada/ada@example.com/1/detached Ada Notes");
});

dbridge_testkit::each_backend!(declarations_are_checked, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local function err(spec)
  local ok, e = pcall(db.model, db, spec)
  assert(not ok, "should fail")
  return e.kind .. ": " .. e.message
end
return table.concat({
  err { name = "A", table = "a", colums = {} },
  err { name = "B", table = "b", columns = { { "id", "integer", primary_key = true, nulable = true } } },
  err { name = "C", table = "c", columns = { { "id", "integer", primary_key = true } },
        relations = { x = 1 } },
  err { name = "D", table = "d", columns = { { "id" } } },
}, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert!(
        lines[0].starts_with("schema: model declaration: unknown key `colums`"),
        "{got}"
    );
    assert!(
        lines[1].starts_with("schema: column `id` of model `B`: unknown key `nulable`"),
        "{got}"
    );
    assert!(
        lines[2].starts_with("schema: model `C`: relation `x` must be made by dbridge.belongs_to"),
        "{got}"
    );
    assert!(
        lines[3].starts_with("schema: column `id` of model `D`: a type is required"),
        "{got}"
    );
});

dbridge_testkit::each_backend!(instances_in_lua, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local u = User.build { name = "Ada", karma = "41" }
assert(u.karma == 41, "coerced to the column's type")
assert(u:state() == "transient")
assert(tostring(u):find('^User%(') and tostring(u):find('name="Ada"'))
local t = u:to_table()
assert(t.name == "Ada" and t.karma == 41 and t.email == nil)
local v = User:build { name = "Grace" }
local ok, e = pcall(function() return User { nme = "x" } end)
assert(not ok and e.kind == "schema" and e.message:find("no column or relationship `nme` on model `User`"), tostring(e))
ok, e = pcall(function() u.nope = 1 end)
assert(not ok and e.kind == "schema", tostring(e))
ok, e = pcall(function() u.karma = "many" end)
assert(not ok, "not an integer")
assert(tostring(User:c("name")) == '"users"."name"', tostring(User:c("name")))
assert(tostring(User.name) == '"users"."name"')
ok, e = pcall(function() return User.nope end)
assert(not ok and tostring(e):find("no column, relationship or method `nope`"), tostring(e))
local s = db:session()
s:add(u)
assert(u:state() == "pending")
s:commit()
u.karma = 42
local changed = u:changed()
s:rollback()
return v.name .. " " .. table.concat(changed, ",")
"#,
    )
    .await;
    assert_eq!(got, "Grace karma");
});

dbridge_testkit::each_backend!(validators_reject_values, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local Account = db:model {
  name = "Account", table = "accounts",
  columns = {
    { "id", "integer", primary_key = true },
    { "email", "text", validate = function(v) return v == nil or v:find("@") ~= nil end },
    { "age", "integer" },
  },
}
db:validate(Account, "age", function(v)
  if v ~= nil and v < 0 then return nil, "age must not be negative" end
end)
local a = Account { email = "a@example.com", age = 3 }
local out = {}
for _, f in ipairs({
  function() a.email = "nope" end,
  function() a.age = -1 end,
  function() Account { email = "x" } end,
}) do
  local ok, e = pcall(f)
  assert(not ok)
  out[#out + 1] = e.kind
end
out[#out + 1] = a.email .. " " .. a.age
return table.concat(out, " | ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "validation | validation | validation | a@example.com 3"
    );
});

dbridge_testkit::each_backend!(bulk_insert_is_one_statement, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let (n, inserts, count, returned): (i64, i64, i64, String) = run(
        &lua,
        r#"
local rows = {}
for i = 1, 1000 do rows[i] = { name = "u" .. i, email = "u" .. i .. "@example.com" } end
local inserts = 0
-- One INSERT, or on PostgreSQL one COPY (past the bulk threshold).
local off = db:on("*", "statement", function(ev)
  if ev.sql:find("^INSERT") or ev.sql:find("^COPY") then inserts = inserts + 1 end
end)
local n = User:insert(rows)
off()
local back = User:insert({ { name = "x", email = "x@example.com" } }, { returning = { "id", "karma" } })
local ok, e = pcall(User.insert, User, { { name = "a" }, { name = "b", karma = 1 } })
assert(not ok and e.message:find("every row must set the same columns"), tostring(e))
return n, inserts, db:query(User):count(), back[1].id .. "/" .. back[1].karma
"#,
    )
    .await;
    assert_eq!((n, inserts, count), (1000, 1, 1001));
    assert_eq!(returned, "1001/0");
});

dbridge_testkit::each_backend!(bulk_insert_copy_option, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let (n, kinds): (i64, String) = run(
        &lua,
        r#"
local rows = {}
for i = 1, 600 do rows[i] = { name = "u" .. i, email = "u" .. i .. "@example.com" } end
local kinds = {}
local off = db:on("*", "statement", function(ev)
  local word = ev.sql:match("^(%u+)")
  if word == "INSERT" or word == "COPY" then kinds[#kinds + 1] = word end
end)
local n = User:insert(rows)
for _, r in ipairs(rows) do r.email = "again." .. r.email end
n = n + User:insert(rows, { copy = false })
off()
local ok, e = pcall(User.insert, User, rows, { copy = "no" })
assert(not ok and tostring(e):find("copy"), tostring(e))
return n, table.concat(kinds, " ")
"#,
    )
    .await;
    assert_eq!(n, 1200);
    // Past the bulk threshold PostgreSQL loads through COPY unless told not to.
    let expected = if t.db.backend() == dbridge_engine::Backend::Postgres {
        "COPY INSERT"
    } else {
        "INSERT INSERT"
    };
    assert_eq!(kinds, expected);
});

dbridge_testkit::each_backend!(upsert_update_delete_without_session, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
User:insert({ { name = "Ada", email = "ada@example.com", karma = 1 } })
local n = User:upsert({
  { name = "Ada", email = "ada@example.com", karma = 5 },
  { name = "Grace", email = "grace@example.com", karma = 2 },
}, { conflict = { "email" }, update = { "karma" } })
local out = { n }
for _, r in ipairs(db:query(User.name, User.karma):order_by(User.name):all()) do
  out[#out + 1] = r.name .. "=" .. r.karma
end
-- update with an expression; DO NOTHING without `update`
User:upsert({ { name = "Ada2", email = "ada@example.com" } }, { conflict = { "email" } })
local rows = User:upsert({ { name = "Ada", email = "ada@example.com", karma = 10 } },
  { conflict = { "email" }, update = { karma = User.karma + 100 }, returning = { "karma" } })
out[#out + 1] = rows[1].karma
local changed = User:update({ karma = User.karma * 2 }):where(User.name:eq("Grace")):returning("karma"):all()
out[#out + 1] = changed[1].karma
out[#out + 1] = User:update({ karma = 0 }):filter_by({ name = "Nobody" }):execute()
out[#out + 1] = User:delete():where(User.karma:lt(50)):execute()
out[#out + 1] = db:query(User):count()
assert(User:delete():where(User.id:eq(1)):sql():find('^DELETE FROM "users" WHERE'))
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "2 Ada=5 Grace=2 105 4 0 1 1");
});

dbridge_testkit::each_backend!(indexes_uniques_and_uuid_defaults, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local Tag = db:model {
  name = "Tag", table = "tags",
  columns = {
    { "id", "uuid", primary_key = true, default = dbridge.uuid4 },
    { "scope", "text", nullable = false },
    { "label", "text", nullable = false },
    { "weight", "integer" },
  },
  uniques = { { "scope", "label" } },
  indexes = { { "weight", name = "ix_tags_weight" } },
}
db:create_all()
local s = db:session()
local a = s:add(Tag { scope = "s", label = "x" })
s:commit()
local ok, e = pcall(db.transaction, db, function(s) s:add(Tag { scope = "s", label = "x" }) end)
s:close()
return #tostring(a.id) .. " " .. e.kind
"#,
    )
    .await;
    assert_eq!(got, "36 unique_violation");
});

dbridge_testkit::each_backend!(declarations_a_dump_needs, |t| async move {
    let lua = lua_for(&t);
    // Composite and named foreign keys, clock server defaults, identities
    // and enum types by name: what `dbridge-repl models dump` writes.
    let got: String = run(
        &lua,
        r#"
Account = db:model { name = "Account", table = "accounts", columns = {
  { "org", "text", primary_key = true },
  { "num", "integer", primary_key = true },
} }
Entry = db:model { name = "Entry", table = "entries",
  columns = {
    { "id", "bigint", primary_key = true, identity = false },
    { "org", "text" }, { "num", "integer" },
    { "mood", "enum mood('happy', 'sad')", default = "happy" },
    { "at", "timestamptz", server_default = "now" },
  },
  foreign_keys = { { columns = { "org", "num" }, references = "accounts", ref_columns = { "org", "num" },
    name = "entries_account_fk", on_delete = "cascade" } },
}
db:create_all()
Account:insert({ { org = "a", num = 1 } })
Entry:insert({ { id = 7, org = "a", num = 1 } })
local ok, err = pcall(function() Entry:insert({ { id = 8, org = "b", num = 1 } }) end)
assert(not ok and err.kind == "foreign_key_violation", tostring(err))
local ok2, err2 = pcall(function() db:model { name = "Bad", columns = { { "id", "bigint", identity = "sometimes" } } } end)
assert(not ok2 and err2.kind == "schema" and err2.message:find("always or by_default"), tostring(err2))
local e = db:query(Entry):one()
return e.mood .. " " .. tostring(e.at ~= nil) .. " " .. #db:migrator("unused"):check()
"#,
    )
    .await;
    // The migrator's check compares the declarations with the database.
    assert_eq!(got, "happy true 0");
});
