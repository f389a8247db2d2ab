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
