//! Shared helpers of the binding's tests: a Lua state with dbridge installed
//! and the test database as the global `db`.
#![allow(dead_code)]

use dbridge_lua::{InstallOptions, LuaDb, mlua::Lua};
use dbridge_testkit::TestDb;

/// A sandboxed state (default options) with `db` bound to the test database.
pub fn lua_for(t: &TestDb) -> Lua {
    lua_with(t, InstallOptions::new())
}

/// A state with the given options and `db` bound to the test database.
pub fn lua_with(t: &TestDb, opts: InstallOptions) -> Lua {
    let lua = dbridge_lua::new_lua(opts).expect("new lua");
    lua.globals()
        .set("db", LuaDb::new(t.db.clone()))
        .expect("set db");
    lua.globals()
        .set("BACKEND", t.backend().name())
        .expect("set backend");
    lua
}

/// [`lua_for`] with `models` (a chunk such as [`MODELS`]) run in it.
pub async fn lua_models(t: &TestDb, models: &str) -> Lua {
    let lua = lua_for(t);
    run::<()>(&lua, models).await;
    lua
}

/// Runs a chunk and returns its results, panicking with the Lua error.
pub async fn run<R: dbridge_lua::mlua::FromLuaMulti + Send + 'static>(lua: &Lua, src: &str) -> R {
    match dbridge_lua::eval::<R>(lua, src, "=test").await {
        Ok(v) => v,
        Err(e) => panic!("lua error: {e}"),
    }
}

/// Runs a chunk that must fail; returns the error's text.
pub async fn fails(lua: &Lua, src: &str) -> String {
    match dbridge_lua::eval::<dbridge_lua::mlua::MultiValue>(lua, src, "=test").await {
        Ok(_) => panic!("the chunk should have failed"),
        Err(e) => e.to_string(),
    }
}

/// The models of DESIGN.md (without relations), created in the test schema.
pub const MODELS: &str = r#"
User = db:model {
  name = "User", table = "users",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false },
    { "email", "text", unique = true },
    { "karma", "integer", default = 0 },
    { "created_at", "timestamptz", default = dbridge.now },
  },
}
Post = db:model {
  name = "Post", table = "posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", references = "users.id", on_delete = "cascade" },
    { "title", "text" },
    { "body", "text", deferred = true },
  },
}
db:create_all()
"#;

/// Related models (users, posts, tags through `post_tags`, comments,
/// profiles), created in the test schema. `User` names `Post` before `Post`
/// exists and `Post` names `Tag` before `Tag` exists: relationships resolve
/// by name when first used.
pub const REL_MODELS: &str = r#"
User = db:model {
  name = "User", table = "users",
  columns = { { "id", "integer", primary_key = true }, { "name", "text", nullable = false } },
  relations = {
    posts = dbridge.has_many("Post", { back_populates = "author", order_by = "id",
      cascade = "save-update, delete, delete-orphan" }),
    profile = dbridge.has_one("Profile", { back_populates = "user" }),
  },
}
Post = db:model {
  name = "Post", table = "posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", references = "users.id" },
    { "title", "text" },
    { "body", "text", deferred = true },
  },
  relations = {
    author = dbridge.belongs_to("User", { back_populates = "posts" }),
    tags = dbridge.many_to_many("Tag", { secondary = "post_tags", back_populates = "posts", order_by = "id" }),
    comments = dbridge.has_many("Comment", { passive_deletes = true, order_by = "id" }),
  },
}
Tag = db:model {
  name = "Tag", table = "tags",
  columns = { { "id", "integer", primary_key = true }, { "name", "text", unique = true } },
}
Comment = db:model {
  name = "Comment", table = "comments",
  columns = {
    { "id", "integer", primary_key = true },
    { "post_id", "integer", references = "posts.id", on_delete = "cascade" },
    { "text", "text" },
  },
}
Profile = db:model {
  name = "Profile", table = "profiles",
  columns = {
    { "id", "integer", primary_key = true },
    { "user_id", "integer", references = "users.id", unique = true },
    { "bio", "text" },
  },
}
db:create_all()

-- Calls fn, which must fail, and adds "kind: message" of its error to `out`.
function failure(out, fn)
  local ok, e = pcall(fn)
  assert(not ok, "should fail")
  out[#out + 1] = e.kind .. ": " .. e.message
end

-- The SQL statements run while fn runs (BEGIN and COMMIT left out).
function statements(fn)
  local log = {}
  local off = db:on("*", "statement", function(ev)
    if not ev.sql:find("^BEGIN") and ev.sql ~= "COMMIT" then log[#log + 1] = ev.sql end
  end)
  local ok, e = pcall(fn)
  off()
  if not ok then error(e, 0) end
  return log
end

-- n users named u1..un with k posts each ("p<i>.<j>"), committed.
function seed(n, k)
  db:transaction(function(s)
    for i = 1, n do
      local u = s:add(User { name = "u" .. i })
      for j = 1, k do s:add(Post { author = u, title = "p" .. i .. "." .. j, body = "b" }) end
    end
  end)
end
"#;
