//! CTEs from Lua on both backends: `q:cte(name)` as a table to select from,
//! join (from a model query too: instances) and use in a subquery, the WITH
//! coming with it; `q:cte(name, fn)` a recursive CTE (a tree walk); errors
//! for a bad name and a member that is not a query.

mod common;

use common::{fails, lua_for, run};

const EMPS: &str = r#"
Emp = db:model{ name = "Emp", table = "emps", columns = {
  { "id", "integer", primary_key = true }, { "name", "text" }, { "salary", "integer" },
  { "boss_id", "integer", references = "emps.id" } } }
db:create_all()
Emp:insert({ { id = 1, name = "Eve", salary = 300 } })
Emp:insert({ { id = 2, name = "Bob", salary = 200, boss_id = 1 }, { id = 3, name = "Dan", salary = 150, boss_id = 1 } })
Emp:insert({ { id = 4, name = "Fay", salary = 100, boss_id = 2 } })
"#;

dbridge_testkit::each_backend!(a_cte_is_a_table_that_brings_its_with, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, EMPS).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local rich = db:query(Emp.id, Emp.name):where(Emp.salary:ge(150)):cte("rich")
out[#out + 1] = tostring(rich)
-- A column query of it: FROM the CTE, WITH in front.
local q = db:query(rich.name):order_by(rich.id)
out[#out + 1] = tostring(q:sql():find('^WITH "rich" AS %(SELECT') ~= nil)
local names = {}
for _, r in ipairs(q:all()) do names[#names + 1] = r.name end
out[#out + 1] = table.concat(names, ",")
-- The whole CTE, counted.
out[#out + 1] = db:query(rich):count()
-- Joined from a model query: instances.
local joined = db:query(Emp):join(rich, Emp.boss_id:eq(rich.id)):order_by(Emp.id):all()
names = {}
for _, e in ipairs(joined) do names[#names + 1] = e.name end
out[#out + 1] = table.concat(names, ",")
-- In a subquery.
out[#out + 1] = db:query(Emp):where(Emp.id:not_in(db:query(rich.id))):one().name
-- In a session.
local s = db:session()
out[#out + 1] = #s:query(rich.id, rich.name):all()
s:close()
-- A CTE over another CTE.
local top = db:query(rich.id, rich.name):order_by(rich.id):limit(1):cte("top")
out[#out + 1] = db:query(top.name):one().name
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "dbridge.cte(rich) true Eve,Bob,Dan 3 Bob,Dan,Fay Fay 3 Eve"
    );
});

dbridge_testkit::each_backend!(a_recursive_cte_walks_a_tree, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, EMPS).await;
    let got: String = run(
        &lua,
        r#"
-- Everyone under Eve, with their depth.
local chain = db:query(Emp.id, Emp.name, dbridge.literal(0):label("depth"))
  :where(Emp.boss_id:is_null())
  :cte("chain", function(chain)
    return db:query(Emp.id, Emp.name, chain.depth + 1):join(chain, Emp.boss_id:eq(chain.id))
  end)
local q = db:query(chain.name, chain.depth):order_by(chain.depth, chain.name)
local sql = q:sql()
local out = { tostring(sql:find('^WITH RECURSIVE "chain" %("id", "name", "depth"%)') ~= nil) }
for _, r in ipairs(q:all()) do out[#out + 1] = r.name .. ":" .. r.depth end
-- Counting to 5, with a CTE of no table.
local n = db:query(dbridge.literal(1):label("x")):cte("n", function(n)
  return db:query(n.x + 1):where(n.x:lt(5))
end)
out[#out + 1] = math.type(db:query(dbridge.func.max(n.x):label("top")):one().top) .. ":" .. db:query(dbridge.func.max(n.x):label("top")):one().top
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "true Eve:0 Bob:1 Dan:1 Fay:2 integer:5");
});

dbridge_testkit::each_backend!(cte_errors, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, EMPS).await;
    let e = fails(&lua, r#"return db:query(Emp.id):cte("bad name")"#).await;
    assert!(
        e.contains("invalid_identifier") || e.contains("bad name"),
        "{e}"
    );
    let e = fails(&lua, r#"return db:query(Emp.id):cte("t", 5)"#).await;
    assert!(
        e.contains("bad argument #3 to `cte`")
            && e.contains("a function that returns the recursive member query"),
        "{e}"
    );
    let e = fails(
        &lua,
        r#"return db:query(Emp.id):cte("t", function(t) return 1 end)"#,
    )
    .await;
    assert!(
        e.contains("fn must return the recursive member, a query"),
        "{e}"
    );
});
