//! Computed attributes from Lua on both backends: hybrid attributes (on an
//! instance and in queries), column properties (loaded with the rows, or
//! deferred and loaded on first read) and `q:with_expression`.

mod common;

use common::{REL_MODELS, lua_for, run};

const SEED: &str = r#"
local s = db:session()
for i, name in ipairs { "Ada", "Bob", "Cy" } do
  local u = s:add(User { name = name })
  for j = 1, i - 1 do u.posts:add(Post { title = name .. j }) end
end
s:commit()
"#;

dbridge_testkit::each_backend!(
    hybrid_attributes_on_instances_and_in_queries,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, REL_MODELS).await;
        run::<()>(&lua, SEED).await;
        let got: String = run(
        &lua,
        r#"
User:hybrid("shout", function(u) return u.name .. "!" end)
-- A separate expression when the Lua code cannot be SQL.
User:hybrid("low", function(u) return u.name:lower() end,
  function(M) return dbridge.func.lower(M.name) end)
local ada = db:query(User):where(User.shout:eq("Ada!")):one()
local n = db:query(User):where(User.low:eq("bob")):count()
local names = {}
for _, u in ipairs(db:query(User):order_by(User.shout:desc()):all()) do names[#names + 1] = u.shout end
return ada.shout .. " " .. ada.low .. " " .. n .. " " .. table.concat(names, ",")
"#,
    )
    .await;
        assert_eq!(got, "Ada! ada 1 Cy!,Bob!,Ada!");
    }
);

dbridge_testkit::each_backend!(column_properties_and_with_expression, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, REL_MODELS).await;
    run::<()>(&lua, SEED).await;
    let got: String = run(
        &lua,
        r#"
local selects = 0
db:on_statement(function(ev) if ev.sql:find("^SELECT") then selects = selects + 1 end end)
User:column_property("post_count",
  db:query(dbridge.func.count(Post.id)):where(Post.author_id:eq(User.id)))
User:column_property("longest", db:query(dbridge.func.max(Post.title)):where(Post.author_id:eq(User.id)),
  { deferred = true })
local out = {}
local s = db:session()
local users = s:query(User):order_by(User.id):all()
for _, u in ipairs(users) do out[#out + 1] = u.name .. "=" .. u.post_count end
local before = selects
local longest = users[3].longest          -- deferred: one SELECT when first read
out[#out + 1] = longest .. " " .. (selects - before)
local ok, e = pcall(function() users[1].post_count = 5 end)
out[#out + 1] = tostring(ok)
-- For one query only:
local q = s:query(User):with_expression("twice", User.id * 2):order_by(User.id)
local w = {}
for _, u in ipairs(q:all()) do w[#w + 1] = u.twice end
out[#out + 1] = table.concat(w, ",")
s:close()
-- A detached instance from db:query carries its column properties too.
out[#out + 1] = tostring(db:query(User):where(User.name:eq("Cy")):one().post_count)
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada=0 Bob=1 Cy=2 Cy2 1 false 2,4,6 2");
});
