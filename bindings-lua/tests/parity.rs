//! The names Lua lacked while Rhai had them (issue #18), on both backends:
//! `inst:pk()`, `inst:set_reference(column, other)`, `q:subquery(alias)`,
//! `s:backend()` / `s:is_open()`, `tx:backend()` / `tx:is_open()`,
//! `dbridge.col(name)` (a CHECK constraint) and `dbridge.excluded(name)`
//! (an upsert's proposed value); and the session calls Rhai gained, as Lua
//! has them: `s:stats()`, `s:in_transaction()`, `s:no_autoflush(fn)`.

mod common;

use common::{MODELS, lua_for, lua_models, run};

dbridge_testkit::each_backend!(pk_is_nil_until_known_then_the_key, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
Pair = db:model { name = "Pair", table = "pairs", columns = {
  { "a", "integer", primary_key = true },
  { "b", "text", primary_key = true }, { "v", "text" } } }
db:create_all()
local u = User { name = "Ada" }
local out = { tostring(u:pk()) }
local s = db:session()
s:add(u)
out[#out + 1] = tostring(u:pk())
s:flush()
out[#out + 1] = math.type(u:pk()) .. ":" .. tostring(u:pk() == u.id)
s:commit()
local p = Pair { a = 7, b = "x", v = "one" }
local key = p:pk()
out[#out + 1] = type(key) .. ":" .. #key .. ":" .. key[1] .. ":" .. key[2]
local half = Pair { a = 8 }
out[#out + 1] = tostring(half:pk())
local loaded = User:get(u.id)
out[#out + 1] = tostring(loaded:pk() == u.id)
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "nil nil integer:true table:2:7:x nil true");
});

dbridge_testkit::each_backend!(
    set_reference_fills_the_key_when_the_target_is_inserted,
    |t| async move {
        let lua = lua_models(&t, MODELS).await;
        let got: String = run(
            &lua,
            r#"
local out = {}
local ada = User { name = "Ada" }
local post = Post { title = "Notes" }
post:set_reference("author_id", ada)
out[#out + 1] = tostring(post.author_id)
-- The post is added first; the session inserts its author first.
db:transaction(function(s) s:add(post); s:add(ada) end)
out[#out + 1] = tostring(post.author_id == ada.id and ada.id ~= nil)
local row = db:fetch_one("SELECT author_id FROM posts WHERE title = $1", { "Notes" })
out[#out + 1] = tostring(row.author_id == ada.id)
-- The key of a persistent instance is copied at once.
local s = db:session()
local known = s:get(User, ada.id)
local other = Post { title = "Later" }
other:set_reference("author_id", known)
out[#out + 1] = tostring(other.author_id == ada.id)
s:close()
local ok, e = pcall(other.set_reference, other, "title", ada)
out[#out + 1] = e.kind
ok, e = pcall(other.set_reference, other, "author_id", "not an instance")
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
        )
        .await;
        assert_eq!(got, "nil true true true schema type_mismatch");
    }
);

const DATA: &str = r#"
local s = db:session()
local ada = s:add(User { name = "Ada", karma = 10 })
local alan = s:add(User { name = "Alan", karma = 3 })
s:add(User { name = "Grace", karma = 5 })
s:flush()
for _, title in ipairs({ "Notes", "Engine", "Loops" }) do s:add(Post { author_id = ada.id, title = title }) end
s:add(Post { author_id = alan.id, title = "Turing" })
s:commit()
s:close()
"#;

dbridge_testkit::each_backend!(subquery_is_a_derived_table_to_join, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local counts = db:query(Post.author_id, dbridge.func.count(Post.id):label("n"))
  :group_by(Post.author_id):subquery("c")
local out = {}
for _, r in ipairs(db:query(User.name, counts.n):join(counts, counts.author_id:eq(User.id))
    :order_by(User.name):all()) do
  out[#out + 1] = r.name .. "=" .. r.n
end
-- An outer join keeps the user without posts.
local all = db:query(User.name, counts.n):outerjoin(counts, counts.author_id:eq(User.id))
  :order_by(User.name):all()
out[#out + 1] = tostring(#all) .. ":" .. all[3].name .. ":" .. tostring(all[3].n)
-- FROM the derived table, filtered on its label.
out[#out + 1] = tostring(db:query(counts.author_id):where(counts.n:gt(1)):count())
-- select_from with a model joined to it.
local top = db:query(User.name):select_from(counts):join(User, User.id:eq(counts.author_id))
  :order_by(counts.n:desc()):first()
out[#out + 1] = top.name
-- A model query as a derived table: its columns by name.
local rich = db:query(User):where(User.karma:ge(5)):subquery("rich")
out[#out + 1] = tostring(db:query(rich.name):count())
out[#out + 1] = tostring(counts)
local ok, e = pcall(function() return db:query(User):subquery("bad name") end)
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Ada=3 Alan=1 3:Grace:nil 1 Ada 2 dbridge.subquery(c) invalid_identifier"
    );
});

dbridge_testkit::each_backend!(
    session_and_transaction_tell_backend_and_whether_open,
    |t| async move {
        let lua = lua_models(&t, MODELS).await;
        let got: String = run(
            &lua,
            r#"
local out = {}
local s = db:session()
out[#out + 1] = tostring(s:backend() == BACKEND)
out[#out + 1] = tostring(s:is_open()) .. "/" .. tostring(s:in_transaction())
s:add(User { name = "Ada" })
s:query(User):count()    -- autoflush: the transaction begins
out[#out + 1] = tostring(s:is_open()) .. "/" .. tostring(s:in_transaction())
s:commit()
out[#out + 1] = tostring(s:is_open()) .. "/" .. tostring(s:in_transaction())
s:query(User):count()
out[#out + 1] = tostring(s:is_open())
s:close()
out[#out + 1] = tostring(s:is_open()) .. "/" .. s:backend()
local ok, e = pcall(s.in_transaction, s)
out[#out + 1] = e.kind

local tx = db:begin()
out[#out + 1] = tostring(tx:backend() == BACKEND) .. "/" .. tostring(tx:is_open())
tx:execute("SELECT 1")
tx:rollback()
out[#out + 1] = tostring(tx:is_open())
local tx2 = db:begin()
tx2:commit()
out[#out + 1] = tostring(tx2:is_open())
ok, e = pcall(db.session(db).is_open, tx2)
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
        )
        .await;
        let backend = t.backend().name();
        assert_eq!(
            got,
            format!(
                "true false/false true/true false/false true false/{backend} invalid_state true/true false false type_mismatch"
            )
        );
    }
);

dbridge_testkit::each_backend!(stats_count_what_the_session_holds, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local function stats(s)
  local st = s:stats()
  return st.pending .. "/" .. st.dirty .. "/" .. st.identity_map
end
local out = {}
local s = db:session()
out[#out + 1] = stats(s)
local ada = s:add(User { name = "Ada" })
s:add(User { name = "Alan" })
out[#out + 1] = stats(s)
s:flush()
out[#out + 1] = stats(s)
ada.karma = 4
out[#out + 1] = stats(s)
s:commit()
out[#out + 1] = stats(s)
s:expunge(ada)
out[#out + 1] = stats(s)
s:close()
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "0/0/0 2/0/0 0/0/2 0/1/2 0/0/2 0/0/1");
});

dbridge_testkit::each_backend!(no_autoflush_runs_fn_without_flushing, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local s = db:session()
s:add(User { name = "Ada" })
local n, extra = s:no_autoflush(function(s2)
  return s2:query(User):count(), rawequal(s2, s)
end)
out[#out + 1] = n .. ":" .. tostring(extra)
out[#out + 1] = tostring(s:stats().pending)
out[#out + 1] = tostring(s:query(User):count())   -- autoflush is back on
local ok, e = pcall(s.no_autoflush, s, function(s2)
  s2:add(User { name = "Alan" })
  error(dbridge.error { kind = "validation", message = "stop" })
end)
out[#out + 1] = e.kind
out[#out + 1] = tostring(s:query(User):count())   -- and on again after an error
s:rollback()
s:close()
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "0:true 1 1 validation 2");
});

dbridge_testkit::each_backend!(col_writes_a_check_constraint, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
Score = db:model { name = "Score", table = "scores", columns = {
  { "id", "integer", primary_key = true },
  { "points", "integer", check = dbridge.col("points"):ge(0) } } }
db:create_all()
local out = { tostring(Score:insert({ { points = 3 } })) }
local ok, e = pcall(Score.insert, Score, { { points = -1 } })
out[#out + 1] = e.kind
out[#out + 1] = tostring(dbridge.col("points"))
ok, e = pcall(dbridge.col, "no such; name")
out[#out + 1] = e.kind
ok, e = pcall(db.model, db, { name = "Bad", table = "bad", columns = {
  { "id", "integer", primary_key = true }, { "n", "integer", check = "n > 0" } } })
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "1 check_violation \"points\" invalid_identifier schema"
    );
});

dbridge_testkit::each_backend!(excluded_is_the_proposed_row_in_an_upsert, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
User:insert({ { name = "Ada", email = "ada@example.com", karma = 3 } })
local rows = User:upsert({ { name = "Ada L.", email = "ada@example.com", karma = 2 } }, {
  conflict = { "email" },
  update = { karma = User.karma + dbridge.excluded("karma"), name = dbridge.excluded("name") },
  returning = { "name", "karma" },
})
local out = { rows[1].name .. ":" .. rows[1].karma }
-- A new row is inserted as proposed.
User:upsert({ { name = "Alan", email = "alan@example.com", karma = 1 } }, {
  conflict = { "email" }, update = { karma = User.karma + dbridge.excluded("karma") } })
local again = db:query(User.name, User.karma):order_by(User.email):all()
out[#out + 1] = again[1].name .. ":" .. again[1].karma .. "," .. again[2].name .. ":" .. again[2].karma
local ok, e = pcall(dbridge.excluded, "a b")
out[#out + 1] = e.kind
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada L.:5 Ada L.:5,Alan:1 invalid_identifier");
});
