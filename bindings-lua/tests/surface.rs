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

dbridge_testkit::each_backend!(json_get_text_is_text_on_both_backends, |t| async move {
    // PostgreSQL's ->> gives text for any member; SQLite's would give a
    // number for a number: the same text on both.
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
Doc = db:model{ name = "Doc", table = "docs", columns = {
  { "id", "integer", primary_key = true }, { "body", "jsonb" } } }
db:create_all()
Doc:insert({ { body = dbridge.json{ n = 42, x = 1.5, yes = true, s = "t", inner = { n = 5 } } } })
local r = db:query(Doc.body:get_text("n"):label("n"), Doc.body:get_text("x"):label("x"),
  Doc.body:get_text("yes"):label("yes"), Doc.body:get_text("s"):label("s"),
  Doc.body:get_text("missing"):label("missing"), Doc.body:path_text{ "inner", "n" }:label("inner")):one()
local hit = db:query(Doc):where(Doc.body:get_text("n"):eq("42")):count()
return table.concat({ type(r.n), r.n, r.x, r.yes, r.s, tostring(r.missing), type(r.inner), r.inner, hit }, " ")
"#,
    )
    .await;
    assert_eq!(got, "string 42 1.5 true t nil string 5 1");
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

dbridge_testkit::each_backend!(
    case_aggregate_filter_distinct_and_not_exists,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, MODELS).await;
        run::<()>(&lua, DATA).await;
        let got: String = run(
            &lua,
            r#"
User:insert({ { name = "Grace", karma = 7 } })
local out = {}
local tier = dbridge.case({ { User.karma:ge(5), "high" } }, "low"):label("tier")
for _, r in ipairs(db:query(User.name, tier):order_by(User.id):all()) do
  out[#out + 1] = r.name .. "=" .. r.tier
end
local n = dbridge.case(User.name, { { "Ada", 1 }, { "Alan", 2 } }):label("n")
local rows = db:query(User.name, n):order_by(User.id):all()
out[#out + 1] = rows[1].n .. "," .. rows[2].n .. "," .. tostring(rows[3].n)
local r = db:query(dbridge.func.count(Post.id):filter(Post.title:like("%o%")):label("o"),
                   dbridge.func.count(Post.author_id):distinct():label("authors")):one()
out[#out + 1] = r.o .. "," .. r.authors
local posts = db:query(Post.id):where(Post.author_id:eq(User.id))
out[#out + 1] = db:query(User.name):where(dbridge.not_exists(posts)):one().name
out[#out + 1] = tostring(db:query(User):where(dbridge.exists(posts)):count())
local ok, e = pcall(dbridge.case, {})
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
        )
        .await;
        assert_eq!(
            got,
            "Ada=high Alan=low Grace=high 1,2,nil 2,2 Grace 2 configuration"
        );
    }
);

dbridge_testkit::each_backend!(right_full_and_cross_joins, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
User:insert({ { name = "Grace" } })
local out = {}
local right = db:query(Post.title, User.name)
  :right_join(User, Post.author_id:eq(User.id)):order_by(User.id, Post.id):all()
out[#out + 1] = #right .. ":" .. right[#right].name .. ":" .. tostring(right[#right].title)
local full = db:query(Post.title, User.name)
  :full_join(User, Post.author_id:eq(User.id)):count()
out[#out + 1] = tostring(full)
local P = dbridge.aliased(Post, "p")
out[#out + 1] = tostring(db:query(User.id):cross_join(P):count())
local ok, e = pcall(function() return db:query(User.id):right_join(Post) end)
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "5:Grace:nil 5 12 type_mismatch");
});

dbridge_testkit::each_backend!(set_operations, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local ada = db:query(User.name):where(User.karma:ge(5))
local authors = db:query(User.name):where(User.id:in_(db:query(Post.author_id)))
local function names(q)
  local out = {}
  for _, r in ipairs(q:all()) do out[#out + 1] = r.name end
  return table.concat(out, ",")
end
return table.concat({
  names(ada:union(authors):order_by("name")),
  tostring(ada:union_all(authors):count()),
  names(ada:intersect(authors)),
  names(authors:except(ada)),
  authors:except(ada):union(ada):order_by("name"):first().name,
  tostring(db:query(User):union(db:query(User)):count()),
}, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada,Alan 3 Ada Alan Ada 2");
});

dbridge_testkit::each_backend!(url_and_is_modified, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local s = db:session()
local ada = s:query(User):where(User.name:eq("Ada")):one()
local before = ada:is_modified()
ada.karma = 11
local after = ada:is_modified()
s:commit()
return db:url():match("^(%a+)") .. " " .. tostring(before) .. " " .. tostring(after)
  .. " " .. tostring(ada:is_modified())
"#,
    )
    .await;
    let scheme = if t.backend() == dbridge_engine::Backend::Postgres {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(got, format!("{scheme} false true false"));
});
