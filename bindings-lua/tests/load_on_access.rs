//! Columns loaded on access from Lua: a deferred column, or one expired by
//! commit or `s:expire`, is read from its row through the instance's session
//! (one SELECT, from the coroutine, without blocking); an instance of
//! `db:query` or `Model:get` loads through its database; an instance whose
//! session closed and strict loading give `invalid_state` errors naming the
//! attribute.

mod common;

use common::{MODELS, lua_for, run};

const SEED: &str = r#"
User:insert { { name = "Ada", email = "ada@x" } }
Post:insert { { author_id = 1, title = "Notes", body = "long text" } }
selects = 0
db:on_statement(function(ev) if ev.sql:find("^SELECT") then selects = selects + 1 end end)
-- Resumes the coroutines in turn until all are done (their loads yield).
function run_all(cos)
  local pending = #cos
  while pending > 0 do
    pending = 0
    for _, co in ipairs(cos) do
      if coroutine.status(co) ~= "dead" then
        local ok, e = coroutine.resume(co)
        assert(ok, e)
        pending = pending + 1
      end
    end
  end
end
"#;

dbridge_testkit::each_backend!(deferred_and_expired_columns_load_on_read, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, SEED).await;
    let got: String = run(
        &lua,
        r#"
local s = db:session({ expire_on_commit = true })
local p = s:get(Post, 1)
local before = selects
p.title = "Changed"                 -- an unflushed change survives the load
local body = p.body                 -- deferred: one SELECT of that column
local again = p.body                -- loaded now: no SQL
local deferred_cost = selects - before
s:flush()
s:expire(p)
before = selects
local title, author = p.title, p.author_id  -- expired: one SELECT reloads them
local expired_cost = selects - before
s:commit()                          -- expire_on_commit: everything expired again
before = selects
local after_commit = p.title
local commit_cost = selects - before
s:close()
return table.concat({ body, again, deferred_cost, title, author, expired_cost, after_commit, commit_cost }, " ")
"#,
    )
    .await;
    assert_eq!(got, "long text long text 1 Changed 1 1 Changed 1");
});

dbridge_testkit::each_backend!(loads_in_many_coroutines_at_once, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODELS).await;
    run::<()>(&lua, SEED).await;
    let got: String = run(
        &lua,
        r#"
-- Each coroutine has its own session; the loads yield like any database call.
local results, cos = {}, {}
for i = 1, 5 do
  cos[i] = coroutine.create(function()
    local s = db:session()
    local p = s:get(Post, 1)
    results[i] = p.body
    s:close()
  end)
end
run_all(cos)
return table.concat(results, ",")
"#,
    )
    .await;
    assert_eq!(got, "long text,long text,long text,long text,long text");
});

dbridge_testkit::each_backend!(
    detached_and_strict_reads_are_invalid_state,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, MODELS).await;
        run::<()>(&lua, SEED).await;
        let got: String = run(
            &lua,
            r#"
local out = {}
local ds = db:session()
local detached = ds:get(Post, 1)
ds:close()                          -- its session is gone: nothing to load through
local ok, e = pcall(function() return detached.body end)
out[#out + 1] = e.kind .. ": " .. e.message
local strict = db:session({ strict_loading = true })
local p = strict:get(Post, 1)
local before = selects
ok, e = pcall(function() return p.body end)
out[#out + 1] = e.kind .. ": " .. e.message
assert(selects == before, "strict loading ran SQL")
strict:close()
return table.concat(out, "\n")
"#,
        )
        .await;
        let lines: Vec<&str> = got.lines().collect();
        assert!(lines[0].starts_with("invalid_state: "), "{got}");
        assert!(
            lines[0].contains("`body`")
                && lines[0].contains("detached")
                && lines[0].contains("merge"),
            "{got}"
        );
        assert!(
            lines[1].starts_with("invalid_state: strict loading"),
            "{got}"
        );
        assert!(
            lines[1].contains("`body`") && lines[1].contains("undefer"),
            "{got}"
        );
    }
);

dbridge_testkit::each_backend!(
    instances_without_a_session_load_through_their_database,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, MODELS).await;
        run::<()>(&lua, SEED).await;
        let got: String = run(
            &lua,
            r#"
local p = Post:get(1)
assert(p:state() == "detached")
local before = selects
local body = p.body                 -- deferred: one SELECT through the database
local again = p.body                -- kept on the instance: no SQL
local cost = selects - before
-- In coroutines too: the load yields like any database call.
local results, cos = {}, {}
for i = 1, 3 do
  cos[i] = coroutine.create(function() results[i] = db:query(Post):one().body end)
end
run_all(cos)
return table.concat({ body, again, cost, table.concat(results, ",") }, " ")
"#,
        )
        .await;
        assert_eq!(got, "long text long text 1 long text,long text,long text");
    }
);
