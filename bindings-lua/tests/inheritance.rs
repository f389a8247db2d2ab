//! Inheritance from Lua on both backends: the example of docs/lua.md
//! ("## Inheritance") as written, relationships to a base and to a subclass,
//! refresh, and declaration mistakes.

mod common;

use common::{lua_for, run};

/// The first ```lua block after `heading` in docs/lua.md.
fn doc_block(heading: &str) -> String {
    let doc = include_str!("../../docs/lua.md");
    let at = doc.find(heading).expect("the heading");
    let rest = &doc[at..];
    let start = rest.find("```lua\n").expect("a lua block") + "```lua\n".len();
    let end = rest[start..].find("\n```").expect("its end");
    rest[start..start + end].to_owned()
}

dbridge_testkit::each_backend!(the_documented_example_runs, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, &doc_block("## Inheritance")).await;
});

dbridge_testkit::each_backend!(relationships_refresh_and_delete, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local Team = db:model {
  name = "Team", table = "teams",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" } },
  relations = {
    members = dbridge.has_many("Member", { back_populates = "team", order_by = "id" }),
    leads = dbridge.has_many("Lead", { order_by = "id" }),
  },
}
local Member = db:model {
  name = "Member", table = "members",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text" },
    { "role", "text" },
    { "team_id", "integer", references = "teams.id" },
  },
  polymorphic_on = "role", polymorphic_identity = "member",
  relations = { team = dbridge.belongs_to("Team", { back_populates = "members" }) },
}
local Lead = db:model {
  name = "Lead", inherits = Member, polymorphic_identity = "lead",
  columns = { { "since", "integer" } },
}
db:create_all()
local out = {}
db:transaction(function(s)
  local t = s:add(Team { name = "core" })
  s:add(Member { name = "m1", team = t })
  s:add(Lead { name = "l1", since = 2020, team = t })
end)
local s = db:session()
local t = s:query(Team):one()
for _, m in ipairs(t.members) do out[#out + 1] = m:model_name() .. ":" .. m.name end
for _, m in ipairs(t.leads) do out[#out + 1] = "lead " .. m.name end
local l = s:query(Lead):one()
out[#out + 1] = l.team.name                      -- the base's relationship
s:commit()
db:execute("UPDATE members SET since = 2021 WHERE role = 'lead'")
s:refresh(l)
out[#out + 1] = tostring(l.since)
s:delete(l)
s:commit()
out[#out + 1] = tostring(db:query(Member):count())
Lead:insert({ { name = "l2" } })                -- role = "lead"
Lead:update({ since = 1 }):execute()              -- only the leads' rows
Lead:delete():execute()
out[#out + 1] = tostring(db:query(Member):count()) .. "/" .. tostring(db:query(Lead):count())
local ok, err = pcall(function()
  return db:model { name = "Bad", inherits = Member, columns = { { "x", "text" } } }
end)
out[#out + 1] = err.kind
ok, err = pcall(function() return db:model { name = "Bad2", inherits = 3, columns = {} } end)
out[#out + 1] = err.message
return table.concat(out, ",")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Member:m1,Lead:l1,lead l1,core,2021,1,1/0,schema,model `Bad2`: `inherits` must be a model"
    );
});
