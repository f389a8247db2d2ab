//! Models from Lua: declarations, instances, the DESIGN example (without
//! relations), writes without a session.

mod common;

use common::{lua_for, run};

const MODELS: &str = r#"
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

dbridge_testkit::each_backend!(design_example_without_relations, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
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
for _, u in ipairs(top) do out[#out + 1] = u.name .. "/" .. u.email .. "/" .. u.karma end
for row in db:stream("SELECT id, name FROM users WHERE karma > $1", { 0 }) do out[#out + 1] = row.name end
out[#out + 1] = db:query(Post):one().title
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada/ada@example.com/1 Ada Notes");
});
