//! Loading relationships from Lua: lazy loads through the instance's session
//! (blocking style and 100 coroutines at once), loader options and the
//! statements they run, NULL keys, raise and strict loading, column options.

mod common;

use common::{REL_MODELS, lua_for, lua_models, run};
use dbridge_lua::mlua::Function;
use futures_util::future::join_all;

dbridge_testkit::each_backend!(lazy_loads_in_the_blocking_style, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    run::<()>(&lua, "seed(2, 2)").await;
    // A host that blocks (a REPL, a CLI) runs the same script, lazy loads included.
    let got: String = dbridge_lua::exec_blocking(
        &lua,
        r#"
local s = db:session()
local p = s:query(Post):where(Post.title:eq("p2.1")):one()
local name
local log = statements(function() name = p.author.name end)
assert(#log == 1 and log[1]:find('FROM "users"'), table.concat(log, "\n"))
local again = statements(function() assert(p.author.name == name) end)
local u = p.author
local titles = {}
log = statements(function() for _, q in ipairs(u.posts) do titles[#titles + 1] = q.title end end)
assert(#log == 1 and #again == 0)
assert(rawequal(u.posts[1].author, u))
s:close()
return name .. " " .. table.concat(titles, ",")
"#,
        "=blocking",
    )
    .unwrap();
    assert_eq!(got, "u2 p2.1,p2.2");
});

dbridge_testkit::each_backend!(
    instances_without_a_session_load_through_their_database,
    |t| async move {
        let lua = lua_models(&t, REL_MODELS).await;
        run::<()>(&lua, "seed(2, 2)").await;
        // `db:query` and `Model:get` hand back detached instances bound to the
        // database: what they have not loaded loads on access, one SELECT each,
        // and what that brings is bound too (`p.author.posts`).
        let got: String = dbridge_lua::exec_blocking(
        &lua,
        r#"
local p = db:query(Post):where(Post.title:eq("p2.1")):one()
assert(p:state() == "detached")
local name
local log = statements(function() name = p.author.name end)
assert(#log == 1 and log[1]:find('FROM "users"'), table.concat(log, "\n"))
assert(#statements(function() assert(p.author.name == name) end) == 0)
local titles = {}
log = statements(function() for _, q in ipairs(p.author.posts) do titles[#titles + 1] = q.title end end)
assert(#log == 1, table.concat(log, "\n"))
-- Model:get, a has-one that is absent, and an eager load: the children are bound.
local u = User:get(1)
assert(u.profile == nil)
local e = db:query(User):options(dbridge.selectinload("posts")):order_by(User.id):first()
assert(#statements(function() return #e.posts[1].comments end) == 1)
-- A raiseload option still raises; no SQL runs.
local r = db:query(Post):options(dbridge.raiseload("author")):first()
local ok, err = pcall(function() return r.author end)
assert(not ok and err.kind == "invalid_state" and tostring(err):find("raise"), tostring(err))
return name .. " " .. table.concat(titles, ",") .. " " .. e.posts[1].author.name
"#,
        "=bound",
    )
    .unwrap();
        assert_eq!(got, "u2 p2.1,p2.2 u1");
    }
);

dbridge_testkit::each_backend!(lazy_loads_in_a_hundred_coroutines, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    run::<()>(
        &lua,
        r#"
seed(100, 1)
lazy = 0
db:on("*", "statement", function(ev) if ev.sql:find('"dbr_key"') then lazy = lazy + 1 end end)
inflight, max_inflight = 0, 0
"#,
    )
    .await;
    let work: Function = run(
        &lua,
        r#"
return function(i)
  inflight = inflight + 1
  if inflight > max_inflight then max_inflight = inflight end
  local s = db:session({ read_only = true })
  local p = s:query(Post):where(Post.title:eq("p" .. i .. ".1")):one()
  local author = p.author                       -- a lazy load: this coroutine waits
  local got = author.name .. ":" .. #author.posts -- another one
  s:close()
  inflight = inflight - 1
  return got
end
"#,
    )
    .await;
    let calls = (1..=100).map(|i| dbridge_lua::call::<String>(&lua, &work, i));
    let results = join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.expect("coroutine"), format!("u{}:1", i + 1));
    }
    let (lazy, max): (i64, i64) = run(&lua, "return lazy, max_inflight").await;
    assert_eq!(lazy, 200, "one statement per lazy load");
    assert!(max > 1, "the coroutines ran one after another");
});

dbridge_testkit::each_backend!(statements_per_loading_strategy, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(20, 5)
local out = {}
local function check(users)
  assert(#users == 20)
  local n = 0
  for _, u in ipairs(users) do
    assert(#u.posts == 5)
    for _, p in ipairs(u.posts) do assert(rawequal(p.author, u)); n = n + 1 end
  end
  return n
end
for _, opt in ipairs({ "selectinload", "joinedload", "subqueryload" }) do
  local users
  local log = statements(function()
    users = db:query(User):options(dbridge[opt]("posts")):order_by(User.id):all()
  end)
  local n
  local after = statements(function() n = check(users) end)
  out[#out + 1] = opt .. "=" .. #log .. "+" .. #after .. "/" .. n
end
-- In a session too, with a nested path: users, posts, then tags.
local s = db:session()
local log = statements(function()
  local users = s:query(User):options(dbridge.selectinload("posts.tags")):all()
  assert(#users[1].posts[1].tags == 0)
end)
out[#out + 1] = "nested=" .. #log
s:close()
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "selectinload=2+0/100 joinedload=1+0/100 subqueryload=2+0/100 nested=3"
    );
});

dbridge_testkit::each_backend!(null_keys_load_as_nil_and_empty, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:transaction(function(s)
  s:add(User { name = "Ada", posts = { Post { title = "a" } } })
  s:add(User { name = "Lonely" })
  s:add(Post { title = "nobody's" })
end)
local posts = db:query(Post):options(dbridge.joinedload("author")):order_by(Post.id):all()
local users = db:query(User):options(dbridge.joinedload("posts")):order_by(User.id):all()
local none = db:query(User):options(dbridge.noload("posts")):order_by(User.id):all()
return table.concat({
  posts[1].author.name, tostring(posts[2].author),
  #users[1].posts, #users[2].posts, #users[2].posts:all(), tostring(users[2].posts[1]),
  #none[1].posts,
}, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada nil 1 0 0 nil 0");
});

dbridge_testkit::each_backend!(unknown_relationship_names_are_errors, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(1, 1)
local out = {}
local function err(f) failure(out, f) end
err(function() return db:query(User):options(dbridge.selectinload("postz")):all() end)
err(function() return db:query(User):options(dbridge.joinedload("posts.comentz")):all() end)
local u = db:query(User):one()
err(function() return u.postz end)
err(function() u.postz = {} end)
err(function() return User.postz end)
err(function() return db:query(User.name):options(dbridge.selectinload("posts")) end)
return table.concat(out, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert!(
        lines[0].starts_with("schema:")
            && lines[0].contains("no relationship `postz` on model `User`"),
        "{got}"
    );
    assert!(
        lines[1].contains("no relationship `comentz` on model `Post`"),
        "{got}"
    );
    assert_eq!(
        lines[2],
        "schema: no column or relationship `postz` on model `User`"
    );
    assert_eq!(lines[3], lines[2]);
    assert_eq!(
        lines[4],
        "schema: no column, relationship or method `postz` on model `User`"
    );
    assert!(
        lines[5].starts_with("type_mismatch: loader options apply to a query of one model"),
        "{got}"
    );
});

dbridge_testkit::each_backend!(raise_strict_and_detached_errors, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(1, 2)
local out = {}
local function err(f) failure(out, f) end
local s = db:session()
local u = s:query(User):options(dbridge.raiseload("posts")):one()
err(function() return u.posts end)
s:close()
-- Strict loading: a lazy load that would run SQL is an error; loaded ones read fine.
local strict = db:session({ strict_loading = true })
local p = strict:query(Post):order_by(Post.id):first()
err(function() return p.author end)
local v = strict:query(User):options(dbridge.selectinload("posts")):one()
assert(#v.posts == 2 and rawequal(p.author, v))   -- now in the identity map: no SQL
strict:close()
db:transaction(function(s) assert(#s:get(User, v.id).posts == 2) end, { strict_loading = false })
local ok, e = pcall(db.transaction, db, function(s) return s:get(Post, p.id).author end, { strict_loading = true })
assert(not ok and e.kind == "invalid_state" and e.message:find("strict loading"), tostring(e))
-- Detached: an instance whose session closed, with nothing loaded.
local ds = db:session()
local d = ds:query(User):one()
ds:close()
err(function() return d.posts end)
-- Declared with lazy = "raise".
local Quiet = db:model { name = "Quiet", table = "quiet",
  columns = { { "id", "integer", primary_key = true }, { "user_id", "integer", references = "users.id" } },
  relations = { user = dbridge.belongs_to("User", { lazy = "raise" }) } }
db:create_all()
Quiet:insert({ { user_id = v.id } })
local qs = db:session()
local q = qs:query(Quiet):one()
err(function() return q.user end)
qs:close()
return table.concat(out, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 4, "{got}");
    assert!(
        lines[0].starts_with("invalid_state:") && lines[0].contains("raise"),
        "{got}"
    );
    assert!(
        lines[1].starts_with("invalid_state: strict loading:")
            && lines[1].contains("relationship `author` of model `Post`"),
        "{got}"
    );
    assert!(
        lines[2].starts_with("invalid_state:") && lines[2].contains("is not loaded"),
        "{got}"
    );
    assert!(
        lines[3].starts_with("invalid_state:") && lines[3].contains("raise"),
        "{got}"
    );
});

dbridge_testkit::each_backend!(column_options_and_get_options, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(2, 2)
local out = {}
local s = db:session()
-- body is deferred = true: left out unless undeferred.
local log = statements(function() return s:query(Post):all() end)
assert(not log[1]:find('"body"'), log[1])
log = statements(function() return s:query(Post):options(dbridge.undefer("body")):all() end)
assert(log[1]:find('"body"'), log[1])
s:close()
-- Left out by the query, loaded when read (db:query's instances: through the database).
local p = db:query(Post):options(dbridge.defer("title")):order_by(Post.id):first()
assert(#statements(function() assert(p.title == "p1.1") end) == 1)
local u = db:query(User):options(dbridge.load_only("name"), dbridge.selectinload("posts"),
  dbridge.load_only("title"):under("posts")):first()
assert(u.name == "u1" and u.posts[1].title == "p1.1")
log = statements(function() assert(u.posts[1].author_id == u.id) end)
assert(#log == 1 and not log[1]:find('"title"'), table.concat(log, "\n"))
-- An instance whose session closed cannot load.
local c = db:session()
local q = c:query(Post):options(dbridge.defer("title")):first()
c:close()
local ok, e = pcall(function() return q.title end)
assert(not ok and e.kind == "invalid_state", tostring(e))
out[#out + 1] = tostring(dbridge.load_only("title"):under("posts"))
-- s:get with loader options.
local g = db:session()
local n = #statements(function()
  local w = g:get(User, u.id, { dbridge.selectinload("posts") })
  assert(#w.posts == 2)
end)
out[#out + 1] = n
g:close()
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, r#"dbridge.load_only("title"):under("posts") 2"#);
});

dbridge_testkit::each_backend!(declared_strategy_is_the_default, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
Shelf = db:model { name = "Shelf", table = "shelves",
  columns = { { "id", "integer", primary_key = true } },
  relations = { books = dbridge.has_many("Book", { lazy = "selectin", order_by = "id" }) } }
Book = db:model { name = "Book", table = "books",
  columns = { { "id", "integer", primary_key = true },
    { "shelf_id", "integer", references = "shelves.id" }, { "title", "text" } } }
db:create_all()
db:transaction(function(s)
  s:add(Shelf { books = { Book { title = "x" }, Book { title = "y" } } })
end)
local n = 0
local off = db:on("*", "statement", function(ev) if ev.sql:find("^SELECT") then n = n + 1 end end)
local shelf = db:query(Shelf):one()
local titles = shelf.books[1].title .. shelf.books[2].title
off()
return titles .. " " .. n .. " " .. Shelf:describe()[2].lazy
"#,
    )
    .await;
    assert_eq!(got, "xy 2 selectin");
});

dbridge_testkit::each_backend!(load_at_hand_and_strict_loading_toggled, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(2, 2)
local out = {}
local s = db:session()
local users = s:query(User):order_by(User.id):all()
-- One statement loads the posts of every user at hand; reading them costs none.
out[#out + 1] = #statements(function() s:load(users, dbridge.selectinload("posts")) end)
out[#out + 1] = #statements(function() assert(#users[1].posts == 2 and #users[2].posts == 2) end)
-- A collection, an instance, and an array of options work too.
out[#out + 1] = #statements(function()
  s:load(users[1].posts, { dbridge.joinedload("tags"), dbridge.selectinload("comments") })
end)
assert(users[1].posts[1].tags:is_empty() and not users[1].posts:is_empty())
s:load(users[2], dbridge.selectinload("profile"))
out[#out + 1] = #statements(function() assert(users[2].profile == nil) end)
local ok, e = pcall(s.load, s, users, "posts")
out[#out + 1] = e.kind
s:close()
-- s:strict_loading(): read, and turned on and off within a session.
local st = db:session()
assert(st:strict_loading() == false)
assert(st:strict_loading(true) == false and st:strict_loading() == true)
local p = st:query(Post):order_by(Post.id):first()
ok, e = pcall(function() return p.author end)
out[#out + 1] = e.kind
assert(st:strict_loading(false) == true)
assert(p.author.name == "u1")
st:close()
assert(db:session({ strict_loading = true }):strict_loading())
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "1 0 2 0 type_mismatch invalid_state");
});
