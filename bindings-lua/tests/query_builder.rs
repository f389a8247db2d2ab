//! The query builder from Lua: expressions, the SQL a query would run, and
//! results of model and column queries, joins, aggregates and subqueries.

mod common;

use common::{MODELS, lua_models, run};

const DATA: &str = r#"
User:insert({
  { name = "Ada", email = "ada@example.com", karma = 10 },
  { name = "Grace", email = "grace@example.com", karma = 5 },
  { name = "Linus", email = "linus@example.com", karma = 0 },
})
Post:insert({
  { author_id = 1, title = "Notes", body = "..." },
  { author_id = 1, title = "Letters", body = "..." },
  { author_id = 2, title = "COBOL", body = "..." },
})
"#;

dbridge_testkit::each_backend!(sql_of_queries, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    let got: String = run(
        &lua,
        r#"
local q = db:query(User):where(User.karma:gt(0) & User.name:like("A%")):order_by(User.karma:desc()):limit(10)
local c = db:query(User.name, dbridge.func.count(Post.id):label("n"))
  :join(Post):group_by(User.name):having(dbridge.func.count(Post.id):ge(1))
return q:sql() .. "\n" .. c:sql()
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines[0],
        r#"SELECT "users"."id", "users"."name", "users"."email", "users"."karma", "users"."created_at" FROM "users" WHERE "users"."karma" > $1 AND "users"."name" LIKE $2 ORDER BY "users"."karma" DESC LIMIT $3"#,
        "{got}"
    );
    assert!(
        lines[1].starts_with(
            r#"SELECT "users"."name", count("posts"."id") AS "n" FROM "users" JOIN "posts" ON "posts"."author_id" = "users"."id" GROUP BY "users"."name" HAVING count("posts"."id") >="#
        ),
        "{got}"
    );
});

dbridge_testkit::each_backend!(results_of_queries, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local function add(v) out[#out + 1] = tostring(v) end
-- column queries give row tables; model queries instances
local rows = db:query(User.name, dbridge.func.count(Post.id):label("n"))
  :outerjoin(Post):group_by(User.name):order_by(User.name):all()
for _, r in ipairs(rows) do add(r.name .. "=" .. r.n) end
add(db:query(User):filter_by({ name = "Grace" }):one().email)
add(db:query(User):where(User.karma:between(1, 9) | User.name:eq("Linus")):count())
add(db:query(User):where(~User.name:in_({ "Ada", "Grace" })):one().name)
add(db:query(User):where(User.name:not_in({ "Ada" })):count())
add(db:query(User):where(User.email:is_null()):exists())
add(db:query(User):where(User.email:is_not_null()):exists())
add(db:query(User):where(User.email:eq(nil)):count())
add(db:query((User.karma + 1) * 2):where(User.id:eq(1)):one()[1] == nil)
add(db:query(((User.karma + 1) * 2):label("k")):where(User.id:eq(1)):one().k)
add(db:query(User):order_by(User.id):offset(1):first().name)
add(db:query(User):order_by(User.id):limit(1):one().name)
add(db:query(Post.author_id):distinct():count())
add(db:query(User):where(User.name:eq("Nobody")):one_or_none())
local ok, e = pcall(function() return db:query(User):where(User.name:eq("Nobody")):one() end)
add(e.kind)
ok, e = pcall(function() return db:query(User):one() end)
add(e.kind)
-- a query as an IN list and as a scalar subquery
local authors = db:query(Post.author_id)
add(db:query(User):where(User.id:in_(authors)):count())
add(db:query(User):where(User.karma:gt(db:query(dbridge.func.avg(User.karma)))):one().name)
add(db:query(User.name):where(dbridge.and_(User.karma:ge(0), dbridge.not_(User.name:ilike("a%")))):order_by(User.name:asc()):first().name)
add(db:query(dbridge.func.upper(User.name):label("u")):where(User.id:eq(dbridge.literal(2))):one().u)
local names = {}
for r in db:query(User.name):order_by(User.id):stream() do names[#names + 1] = r.name end
add(table.concat(names, ","))
local n = 0
for u in db:query(User):stream() do n = n + u.id end
add(n)
-- deferred columns are not loaded by a query: reading one loads it then
local p = db:query(Post):first()
local row = db:fetch_one("SELECT body FROM posts WHERE id = $1", { p.id })
add(p.body == row.body)
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Ada=2 Grace=1 Linus=0 grace@example.com 2 Linus 2 false true 0 true 22 Grace Ada 2 nil \
         not_found multiple_rows 2 Ada Grace GRACE Ada,Grace,Linus 6 true"
    );
});

dbridge_testkit::each_backend!(session_queries_see_pending_changes, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
return db:transaction(function(s)
  s:add(User { name = "Alan", email = "alan@example.com", karma = 3 })
  local n = s:query(User):where(User.name:like("A%")):count()
  local rows = s:query(User.name):where(User.karma:eq(3)):all()
  local ok, e = pcall(function() return db:query(User):options(dbridge.selectinload) end)
  return n .. " " .. rows[1].name .. " " .. e.kind
end)
"#,
    )
    .await;
    assert_eq!(got, "2 Alan type_mismatch");
});

// A string in order_by / group_by / having is a name of the query, never a
// bound value (it was `ORDER BY $1`: rows came back in insertion order).
dbridge_testkit::each_backend!(names_as_strings_order_and_group, |t| async move {
    let lua = lua_models(&t, MODELS).await;
    run::<()>(&lua, DATA).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local function names(rows)
  local t = {}
  for _, r in ipairs(rows) do t[#t + 1] = r.name end
  return table.concat(t, ",")
end
out[#out + 1] = names(db:query(User):order_by("karma"):all())
out[#out + 1] = names(db:query(User):order_by("-name"):all())
out[#out + 1] = names(db:query(User.name):order_by("karma DESC"):all())
out[#out + 1] = names(db:query(User.name):order_by("users.karma"):all())
out[#out + 1] = db:query(User.name):order_by("-karma"):sql()
local rows = db:query(Post.author_id, dbridge.func.count():label("n"))
  :group_by("author_id"):order_by("n", "-author_id"):all()
local t = {}
for _, r in ipairs(rows) do t[#t + 1] = r.author_id .. "=" .. r.n end
out[#out + 1] = table.concat(t, ",")
local ok, e = pcall(function() return db:query(User.name):order_by("emial") end)
out[#out + 1] = e.kind .. ": " .. e.message
ok, e = pcall(function() return db:query(User):group_by("emial") end)
out[#out + 1] = e.kind
ok, e = pcall(function() return db:query(User):order_by("name; DROP TABLE users") end)
out[#out + 1] = e.kind .. ": " .. e.message
return table.concat(out, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "Linus,Grace,Ada", "{got}");
    assert_eq!(lines[1], "Linus,Grace,Ada", "{got}");
    assert_eq!(lines[2], "Ada,Grace,Linus", "{got}");
    assert_eq!(lines[3], "Linus,Grace,Ada", "{got}");
    assert_eq!(
        lines[4],
        r#"SELECT "users"."name" FROM "users" ORDER BY "users"."karma" DESC"#
    );
    assert_eq!(lines[5], "2=1,1=2", "{got}");
    assert!(
        lines[6].starts_with(r#"schema: order_by: no column or label "emial" in the query (available: name, users.id, users.name"#),
        "{got}"
    );
    assert_eq!(lines[7], "schema", "{got}");
    assert!(
        lines[8].starts_with(r#"invalid_identifier: invalid identifier "name; DROP TABLE users""#),
        "{got}"
    );
    assert!(
        lines[8].contains("a column or label name of the query"),
        "{got}"
    );
});
