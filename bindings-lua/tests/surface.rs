//! Engine features reached from Lua on both backends: window functions,
//! DISTINCT ON, JSON operators, aliases (self-joins), `select_from`, and row
//! locks (PostgreSQL only: on SQLite each is an `unsupported` error naming
//! the backend).

mod common;

use common::{MODELS, lua_for, run};

const DATA: &str = r#"
local ada = User:insert({ { name = "Ada", email = "ada@example.com", karma = 10 } }, { returning = { "id" } })[1]
local alan = User:insert({ { name = "Alan", karma = 3 } }, { returning = { "id" } })[1]
Post:insert({
  { author_id = ada.id, title = "Notes" }, { author_id = ada.id, title = "Engine" },
  { author_id = ada.id, title = "Loops" }, { author_id = alan.id, title = "Turing" },
})
"#;

/// Runs `src` in a protected call: `"ok:<results joined by ,>"` or
/// `"<kind>:<message>"`.
const PROTECT: &str = r#"
local function outcome(f)
  local ok, r = pcall(f)
  if ok then return "ok:" .. tostring(r) end
  return tostring(r.kind) .. ":" .. tostring(r.message)
end
"#;

dbridge_testkit::each_backend!(window_functions_and_frames, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local n = dbridge.func.row_number():over{ partition_by = Post.author_id, order_by = Post.id:desc() }:label("n")
local running = dbridge.func.count(Post.id):over{ order_by = { Post.id }, rows = { "unbounded", 0 } }:label("running")
local out = {}
for _, r in ipairs(db:query(Post.title, n, running):order_by(Post.id):all()) do
  out[#out + 1] = r.title .. ":" .. r.n .. ":" .. r.running
end
local whole = db:query(Post.id, dbridge.func.count(Post.id):over():label("total")):first()
out[#out + 1] = tostring(whole.total)
local ok, e = pcall(function() return Post.id:over{ rows = { 1 } } end)
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Notes:3:1 Engine:2:2 Loops:1:3 Turing:1:4 4 configuration"
    );
});

dbridge_testkit::each_backend!(distinct_on_is_postgres_only, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        &format!(
            r#"{PROTECT}
return outcome(function()
  local out = {{}}
  for _, r in ipairs(db:query(Post.author_id, Post.title):distinct_on(Post.author_id)
      :order_by(Post.author_id, Post.id:desc()):all()) do
    out[#out + 1] = r.title
  end
  return table.concat(out, ",")
end)
"#
        ),
    )
    .await;
    match t.backend() {
        dbridge_engine::Backend::Postgres => assert_eq!(got, "ok:Loops,Turing"),
        _ => assert_eq!(
            got,
            "unsupported:SELECT DISTINCT ON is not supported on sqlite"
        ),
    }
});

dbridge_testkit::each_backend!(json_operators, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        &format!(
            r#"{PROTECT}
Doc = db:model{{ name = "Doc", table = "docs", columns = {{
  {{ "id", "integer", primary_key = true }}, {{ "body", "jsonb" }} }} }}
db:create_all()
Doc:insert({{
  {{ body = dbridge.json{{ lang = "en", tags = {{ a = "x" }}, who = {{ name = "Ada" }} }} }},
  {{ body = dbridge.json{{ lang = "fi" }} }},
}})
local en = db:query(Doc.id, Doc.body:get_text("lang"):label("lang"),
                    Doc.body:path_text({{ "who", "name" }}):label("who"))
  :where(Doc.body:has_key("who")):all()
local out = {{ #en, en[1].lang, en[1].who,
  db:query(Doc):where(Doc.body:has_any_key({{ "tags", "x" }})):count(),
  db:query(Doc):where(Doc.body:has_all_keys({{ "lang", "x" }})):count(),
  db:query(Doc.body:get("tags"):path_text({{ "a" }}):label("a")):where(Doc.body:has_key("tags")):one().a,
  outcome(function()
    return db:query(Doc):where(Doc.body:contains(dbridge.json{{ lang = "fi" }})):count()
  end) }}
for i, v in ipairs(out) do out[i] = tostring(v) end
return table.concat(out, " ")
"#
        ),
    )
    .await;
    match t.backend() {
        dbridge_engine::Backend::Postgres => assert_eq!(got, "1 en Ada 1 0 x ok:1"),
        _ => assert_eq!(
            got,
            "1 en Ada 1 0 x unsupported:the JSON containment operator @> is not supported on sqlite"
        ),
    }
});

dbridge_testkit::each_backend!(aliases_for_self_joins_and_select_from, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
Emp = db:model{ name = "Emp", table = "emps", columns = {
  { "id", "integer", primary_key = true }, { "name", "text" },
  { "boss_id", "integer", references = "emps.id" } } }
db:create_all()
Emp:insert({ { id = 1, name = "Grace" } })
Emp:insert({ { id = 2, name = "Ada", boss_id = 1 }, { id = 3, name = "Alan", boss_id = 1 } })
local e, b = dbridge.aliased(Emp, "e"), dbridge.aliased(Emp, "b")
local out = {}
for _, r in ipairs(db:query(e.name, b.name:label("boss")):join(b, e.boss_id:eq(b.id)):order_by(e.id):all()) do
  out[#out + 1] = r.name .. "<" .. r.boss
end
-- The first column is from a joined table: select_from names the left side.
local q = db:query(User.name, dbridge.func.count(Post.id):label("n")):select_from(Post)
  :join(User):group_by(User.name):order_by(User.name)
out[#out + 1] = tostring(q:sql():find('FROM "posts" JOIN "users"', 1, true) ~= nil)
for _, r in ipairs(q:all()) do out[#out + 1] = r.name .. ":" .. r.n end
out[#out + 1] = tostring(dbridge.aliased(Emp, "e"))
local ok, err = pcall(function() return e.nope end)
out[#out + 1] = err.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Ada<Grace Alan<Grace true Ada:3 Alan:1 dbridge.aliased(e) schema"
    );
});

dbridge_testkit::each_backend!(row_locks, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        &format!(
            r#"{PROTECT}
local out = {{}}
local ids = {{}}
for _, u in ipairs(db:query(User):order_by(User.id):all()) do ids[#ids + 1] = u.id end
local a, b = db:session(), db:session()
out[#out + 1] = outcome(function() return a:get(User, ids[1], {{ for_update = true }}).name end)
out[#out + 1] = outcome(function()
  local names = {{}}
  for _, u in ipairs(b:query(User):order_by(User.id):for_update{{ skip_locked = true }}:all()) do
    names[#names + 1] = u.name
  end
  return table.concat(names, ",")
end)
b:rollback()
out[#out + 1] = outcome(function() return b:get(User, ids[1], {{ for_update = true, nowait = true }}) end)
b:rollback()
out[#out + 1] = outcome(function() return #b:query(User):for_share{{ nowait = true }}:all() end)
b:rollback()
out[#out + 1] = outcome(function() return b:query(User):for_share{{ skip_locked = true }}:count() end)
b:rollback()
a:commit()
out[#out + 1] = outcome(function() return b:get(User, ids[1], {{ for_share = true, nowait = true }}).name end)
b:rollback()
return table.concat(out, "|")
"#
        ),
    )
    .await;
    match t.backend() {
        dbridge_engine::Backend::Postgres => {
            let parts: Vec<&str> = got.split('|').collect();
            assert_eq!(parts[0..2], ["ok:Ada", "ok:Alan"], "{got}");
            assert!(parts[2].starts_with("busy:"), "{got}");
            assert!(parts[3].starts_with("busy:"), "{got}");
            assert_eq!(parts[4..], ["ok:1", "ok:Ada"], "{got}");
        }
        _ => {
            let want = "unsupported:row locks (FOR UPDATE / FOR SHARE) is not supported on sqlite";
            assert!(got.starts_with(want), "{got}");
        }
    }
});

dbridge_testkit::each_backend!(
    strings_into_bytea_and_postgres_interval_text,
    |t| async move {
        let lua = lua_for(&t);
        let got: String = run(
            &lua,
            r#"
Blob = db:model{ name = "Blob", table = "blobs", columns = {
  { "id", "integer", primary_key = true }, { "data", "bytea" }, { "wait", "interval" } } }
db:create_all()
-- A string is bytes: assigned, inserted or updated into a bytea column.
local s = db:session()
local b = s:add(Blob{ data = "h\xc3\xa9llo", wait = "1 day 02:00" })
s:commit()
Blob:insert({ { data = "\0raw\255", wait = "3 mons" } })
Blob:update{ data = "\\x0102" }:where(Blob.id:eq(2)):execute()
local out = {}
for _, r in ipairs(db:query(Blob):order_by(Blob.id):all()) do
  out[#out + 1] = r.data .. "|" .. r.wait
end
return table.concat(out, " ")
"#,
        )
        .await;
        assert_eq!(got, "h\u{e9}llo|P1DT7200S \u{1}\u{2}|P3M");
    }
);
