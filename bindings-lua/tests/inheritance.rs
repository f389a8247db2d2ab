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

dbridge_testkit::each_backend!(the_joined_table_example_runs, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, &doc_block("### Joined table")).await;
});

dbridge_testkit::each_backend!(joined_table_writes_and_mistakes, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local P = db:model { name = "P", table = "ps", polymorphic_on = "k", polymorphic_identity = "p",
  columns = { { "id", "integer", primary_key = true }, { "k", "text" } } }
local Q = db:model { name = "Q", table = "qs", inherits = P, polymorphic_identity = "q",
  columns = { { "x", "text" } } }
db:create_all()
local ok, err = pcall(function() return Q:insert({ { k = "q", x = "a" } }) end)
assert(not ok)
local ok2, err2 = pcall(function()
  return db:model { name = "R", table = "rs", inherits = P, polymorphic_identity = "r",
    polymorphic_load = "eager", columns = { { "y", "text" } } }
end)
assert(not ok2)
db:transaction(function(s) s:add(Q { x = "a" }) end)
assert(db:query(Q):one().x == "a")
db:execute("DELETE FROM ps")
assert(#db:fetch_all("SELECT id FROM qs") == 0)
return tostring(err) .. " | " .. tostring(err2)
"#,
    )
    .await;
    assert!(got.contains("joined-table subclass"), "{got}");
    assert!(got.contains("unknown polymorphic_load"), "{got}");
});

dbridge_testkit::each_backend!(concrete_table_round_trip, |t| async move {
    let lua = lua_for(&t);
    run::<()>(
        &lua,
        r#"
local E = db:model { name = "E", table = "es", polymorphic_on = "k", polymorphic_identity = "e",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" }, { "k", "text" } } }
local C = db:model { name = "C", table = "cs", inherits = E, concrete = true,
  polymorphic_identity = "c", columns = { { "rate", "integer", nullable = false } } }
db:create_all()
db:transaction(function(s)
  s:add(E { name = "Ann" })
  s:add(C { name = "Dan", rate = 90 })
end)
assert(#db:fetch_all("SELECT name, rate FROM cs") == 1)
local s = db:session()
local ann, dan = s:get(E, 1), s:get(C, 1)      -- same key, two tables
assert(ann:model_name() == "E" and dan:model_name() == "C" and dan.rate == 90)
assert(#s:query(E):all() == 1)                  -- the base's table only
dan.rate = 95
s:commit()
assert(db:query(C):one().rate == 95)
s:delete(s:get(C, 1))
s:commit()
assert(db:query(C):count() == 0 and db:query(E):count() == 1)
"#,
    )
    .await;
});

dbridge_testkit::each_backend!(the_concrete_table_example_runs, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, &doc_block("### Concrete table")).await;
});

dbridge_testkit::each_backend!(
    polymorphic_union_queries_gets_and_mistakes,
    |t| async move {
        let lua = lua_for(&t);
        let got: String = run(
        &lua,
        r#"
local Team = db:model { name = "Team", table = "teams",
  columns = { { "id", "integer", primary_key = true } },
  relations = { staff = dbridge.has_many("E", { order_by = "name" }) } }
local E = db:model { name = "E", table = "es", polymorphic_on = "k", polymorphic_identity = "e",
  polymorphic = "union",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" }, { "k", "text" },
    { "team_id", "integer", references = "teams.id" } } }
local M = db:model { name = "M", inherits = E, polymorphic_identity = "m",
  columns = { { "budget", "integer" } } }
local C = db:model { name = "C", table = "cs", inherits = E, concrete = true,
  polymorphic_identity = "c", columns = { { "rate", "integer", nullable = false } } }
db:create_all()
db:transaction(function(s)
  s:add(Team {})
  s:add(E { name = "Ann", team_id = 1 })
  s:add(M { name = "Bob", budget = 7, team_id = 1 })
  s:add(C { name = "Dan", rate = 90, team_id = 1 })
end)
local out = {}
local function own(e)
  local n = e:model_name()
  return n == "M" and e.budget or n == "C" and e.rate or ""
end
-- A union base: every table, each row its class.
for _, e in ipairs(db:query(E):order_by(E.name):all()) do
  out[#out + 1] = e:model_name() .. ":" .. e.name .. ":" .. own(e)
end
-- Model:get and s:get: the base's own row first (key 1 is Ann's and Dan's).
out[#out + 1] = E:get(1):model_name() .. "/" .. C:get(1).name
local s = db:session()
out[#out + 1] = s:get(E, 1).name .. "/" .. s:get(C, 1).name
out[#out + 1] = tostring(s:query(E):count()) .. "/" .. tostring(s:query(E):filter_by { rate = 90 }:one().name)
-- A relationship to the base reads the union.
local staff = {}
for _, e in ipairs(s:query(Team):one().staff) do
  staff[#staff + 1] = e:model_name() .. own(e)
end
out[#out + 1] = table.concat(staff, "+")
s:close()
local ok, err = pcall(function()
  return db:model { name = "Bad", table = "bad", polymorphic = "all",
    columns = { { "id", "integer", primary_key = true } } }
end)
out[#out + 1] = err.kind
ok, err = pcall(function()
  return db:model { name = "Bad2", table = "bad2", polymorphic = "union",
    columns = { { "id", "integer", primary_key = true } } }
end)
out[#out + 1] = err.kind
return table.concat(out, ",")
"#,
    )
    .await;
        assert_eq!(
            got,
            "E:Ann:,M:Bob:7,C:Dan:90,E/Dan,Ann/Dan,3/Dan,E+M7+C90,schema,schema"
        );
    }
);

dbridge_testkit::each_backend!(
    subclass_columns_through_relationship_loaders,
    |t| async move {
        let lua = lua_for(&t);
        let got: String = run(
            &lua,
            r#"
local Team = db:model { name = "Team", table = "teams",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" } },
  relations = { members = dbridge.has_many("Member", { order_by = "id" }) } }
local Member = db:model { name = "Member", table = "members",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" }, { "role", "text" },
    { "team_id", "integer", references = "teams.id" } },
  polymorphic_on = "role", polymorphic_identity = "member" }
local Lead = db:model { name = "Lead", inherits = Member, polymorphic_identity = "lead",
  columns = { { "since", "integer" } } }
local Coder = db:model { name = "Coder", inherits = Member, table = "coders",
  polymorphic_identity = "coder", columns = { { "lang", "text" } } }
local Tester = db:model { name = "Tester", inherits = Member, table = "testers",
  polymorphic_identity = "tester", polymorphic_load = "selectin",
  columns = { { "tool", "text" } } }
db:create_all()
db:transaction(function(s)
  local t = s:add(Team { name = "core" })
  s:add(Lead { name = "l", since = 2020, team_id = 1 })
  s:add(Coder { name = "c", lang = "lua", team_id = 1 })
  s:add(Tester { name = "t", tool = "busted", team_id = 1 })
end)
local selects = 0
db:on_statement(function(ev) if ev.sql:find("^SELECT") then selects = selects + 1 end end)
local out = {}
for _, opt in ipairs({ "lazy", "selectinload", "joinedload", "subqueryload" }) do
  local s = db:session()
  local q = s:query(Team)
  if opt ~= "lazy" then q = q:options(dbridge[opt]("members")) end
  local t = q:all()[1]
  local by = {}
  for _, m in ipairs(t.members) do by[m:model_name()] = m end
  local before = selects
  local vals = by.Lead.since .. by.Coder.lang .. by.Tester.tool   -- loaded with the rows: no SQL
  out[#out + 1] = opt .. "=" .. vals .. ":" .. (selects - before)
  s:close()
end
-- The query's own join (contains_eager) reads the base's columns only:
-- a subclass's own column loads on access, one SELECT.
local s = db:session()
local t = s:query(Team):join("members"):options(dbridge.contains_eager("members")):all()[1]
local lead
for _, m in ipairs(t.members) do if m:model_name() == "Lead" then lead = m end end
local before = selects
out[#out + 1] = "eager=" .. lead.since .. ":" .. (selects - before)
s:close()
-- Detached instances of db:query load through their database.
local lead2 = db:query(Team):options(dbridge.contains_eager("members")):join("members"):all()[1]
before = selects
local first
for _, m in ipairs(lead2.members) do if m:model_name() == "Coder" then first = m end end
out[#out + 1] = "bound=" .. first.lang .. ":" .. (selects - before)
return table.concat(out, ",")
"#,
        )
        .await;
        assert_eq!(
            got,
            "lazy=2020luabusted:0,selectinload=2020luabusted:0,joinedload=2020luabusted:0,\
         subqueryload=2020luabusted:0,eager=2020:1,bound=lua:1"
        );
    }
);

dbridge_testkit::each_backend!(three_levels_of_joined_tables, |t| async move {
    let lua = lua_for(&t);
    run::<()>(
        &lua,
        r#"
local E = db:model { name = "E", table = "es", polymorphic_on = "k", polymorphic_identity = "e",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" }, { "k", "text" } } }
local Eng = db:model { name = "Eng", table = "engs", inherits = E, polymorphic_identity = "eng",
  columns = { { "lang", "text", nullable = false } } }
local P = db:model { name = "P", table = "ps", inherits = Eng, polymorphic_identity = "p",
  columns = { { "stock", "integer", nullable = false } } }
db:create_all()
db:transaction(function(s)
  s:add(E { name = "Ann" })
  s:add(Eng { name = "Cy", lang = "go" })
  s:add(P { name = "Pat", lang = "lua", stock = 10 })
end)
assert(#db:fetch_all("SELECT id FROM es") == 3 and #db:fetch_all("SELECT id FROM engs") == 2)
assert(db:fetch_all("SELECT stock FROM ps")[1].stock == 10)
for _, opts in ipairs({ {}, { dbridge.selectin_polymorphic() } }) do
  local all = db:query(E):options(table.unpack(opts)):order_by(E.id):all()
  assert(all[3]:model_name() == "P" and all[3].lang == "lua" and all[3].stock == 10)
  assert(all[2]:model_name() == "Eng" and all[2].lang == "go")
end
assert(#db:query(Eng):all() == 2 and db:query(P):filter_by { stock = 10 }:one().name == "Pat")
assert(P:get(2) == nil and Eng:get(3):model_name() == "P")
local writes = {}
local off = db:on_statement(function(ev)
  local verb, tbl = ev.sql:match("^(%u+)"), ev.sql:match('"(%w+)"')
  if tbl and (verb == "UPDATE" or verb == "DELETE") then writes[#writes + 1] = verb .. " " .. tbl end
end)
db:transaction(function(s)
  local pat = s:get(E, 3)
  pat.name = "Patricia"; pat.lang = "zig"; pat.stock = 20
end)
local s = db:session()
local pat = s:get(P, 3)
s:commit()
db:execute("UPDATE ps SET stock = 30")
s:refresh(pat)
assert(pat.name == "Patricia" and pat.lang == "zig" and pat.stock == 30)
s:delete(pat)
s:commit()
off()
table.sort(writes, function(a, b) return a < b end)
assert(table.concat(writes, ",") == "DELETE engs,DELETE es,DELETE ps,UPDATE engs,UPDATE es,UPDATE ps",
  table.concat(writes, ","))
assert(#db:fetch_all("SELECT id FROM ps") == 0 and #db:fetch_all("SELECT id FROM engs") == 1)
assert(db:query(E):count() == 2)
"#,
    )
    .await;
});

dbridge_testkit::each_backend!(joined_tables_with_a_composite_key, |t| async move {
    let lua = lua_for(&t);
    run::<()>(
        &lua,
        r#"
local Site = db:model { name = "Site", table = "sites", polymorphic_on = "kind",
  polymorphic_identity = "site",
  columns = { { "region", "text", primary_key = true }, { "num", "integer", primary_key = true },
    { "name", "text" }, { "kind", "text" } } }
local Depot = db:model { name = "Depot", table = "depots", inherits = Site,
  polymorphic_identity = "depot", polymorphic_load = "selectin",
  columns = { { "capacity", "integer", nullable = false } } }
db:create_all()
db:transaction(function(s)
  s:add(Site { region = "eu", num = 1, name = "Paris" })
  s:add(Depot { region = "eu", num = 2, name = "Lyon", capacity = 200 })
  s:add(Depot { region = "us", num = 1, name = "Boston", capacity = 100 })
end)
assert(#db:fetch_all("SELECT region, num FROM depots") == 2)
local all = db:query(Site):order_by(Site.region, Site.num):all()
assert(all[2]:model_name() == "Depot" and all[2].capacity == 200 and all[3].capacity == 100)
assert(Depot:get({ "eu", 1 }) == nil and Site:get({ "us", 1 }).capacity == 100)
db:transaction(function(s)
  local lyon = s:get(Site, { "eu", 2 })
  lyon.capacity = 250
  lyon.name = "Lyon 2"
end)
local s = db:session()
local lyon = s:get(Depot, { "eu", 2 })
assert(lyon.capacity == 250 and lyon.name == "Lyon 2")
s:commit()
db:execute("UPDATE depots SET capacity = 300 WHERE region = 'eu' AND num = 2")
s:refresh(lyon)
assert(lyon.capacity == 300)
s:delete(lyon)
s:commit()
assert(#db:fetch_all("SELECT region FROM depots") == 1 and db:query(Site):count() == 2)
"#,
    )
    .await;
});
