//! Deferred column groups from Lua (`{ "body", "text", deferred = "texts" }`):
//! reading one column of a group loads the whole group in one SELECT, in a
//! session and on an instance of `db:query` (through its database);
//! `dbridge.undefer_group("texts")` loads the group with the query. The
//! statements are counted with `db:on_statement`.

mod common;

use common::{fails, lua_for, run};

const MODEL: &str = r#"
Article = db:model {
  name = "Article", table = "articles",
  columns = {
    { "id", "integer", primary_key = true },
    { "title", "text", nullable = false },
    { "body", "text", deferred = "texts" },
    { "summary", "text", deferred = "texts" },
    { "cover", "text", deferred = "media" },
    { "notes", "text", deferred = true },
  },
}
db:create_all()
Article:insert { { id = 1, title = "A", body = "long text", summary = "short", cover = "a.png", notes = "n" } }
selects = 0
db:on_statement(function(ev) if ev.sql:find("^SELECT") then selects = selects + 1 end end)
-- The columns an instance has loaded (without loading them).
function loaded(a)
  local t = a:to_table()
  local out = {}
  for _, c in ipairs({ "title", "body", "summary", "cover", "notes" }) do
    if t[c] ~= nil then out[#out + 1] = c end
  end
  return table.concat(out, ",")
end
"#;

dbridge_testkit::each_backend!(a_group_loads_in_one_select, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODEL).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local s = db:session()
local a = s:get(Article, 1)
out[#out + 1] = loaded(a)
local before = selects
local summary = a.summary            -- the group `texts`: one SELECT
out[#out + 1] = selects - before
out[#out + 1] = loaded(a)
local body = a.body                  -- loaded with it: no SQL
out[#out + 1] = selects - before
out[#out + 1] = summary .. "/" .. body
local cover = a.cover                -- another group: one more SELECT
out[#out + 1] = selects - before
out[#out + 1] = loaded(a)
s:close()

-- An instance of db:query loads through its database, a group at a time.
local d = db:query(Article):one()
before = selects
local b = d.body
out[#out + 1] = selects - before
out[#out + 1] = loaded(d)
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "title 1 title,body,summary 1 short/long text 2 title,body,summary,cover 1 title,body,summary"
    );
});

dbridge_testkit::each_backend!(undefer_group_loads_with_the_query, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODEL).await;
    let got: String = run(
        &lua,
        r#"
local before = selects
local a = db:query(Article):options(dbridge.undefer_group("texts")):one()
local cost = selects - before
local s = db:session()
local b = s:query(Article):options(dbridge.undefer_group("media"), dbridge.undefer("notes")):one()
local got = loaded(b)
s:close()
return table.concat({ cost, loaded(a), a.summary, got, tostring(dbridge.undefer_group("texts")) }, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "1 title,body,summary short title,cover,notes dbridge.undefer_group(\"texts\")"
    );
    let e = fails(
        &lua,
        r#"return db:query(Article):options(dbridge.undefer_group("textz")):all()"#,
    )
    .await;
    assert!(
        e.contains("no deferred group `textz` on model `Article`"),
        "{e}"
    );
});

dbridge_testkit::each_backend!(deferred_must_be_a_boolean_or_a_group, |t| async move {
    let lua = lua_for(&t);
    let e = fails(
        &lua,
        r#"db:model { name = "Bad", table = "bad", columns = {
  { "id", "integer", primary_key = true }, { "body", "text", deferred = 1 } } }"#,
    )
    .await;
    assert!(
        e.contains("`deferred` must be a boolean or the name of a deferred group"),
        "{e}"
    );
});

dbridge_testkit::each_backend!(get_with_column_options_loads_them, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODEL).await;
    let got: String = run(
        &lua,
        r#"
local s = db:session()
local before = selects
local a = s:get(Article, 1, { dbridge.undefer_group("texts"), dbridge.undefer("notes") })
local cost = selects - before          -- the row, then the columns asked for
local got = loaded(a)
local body = a.body                    -- loaded already: no SQL
s:close()
return table.concat({ cost, got, body, selects - before }, " ")
"#,
    )
    .await;
    assert_eq!(got, "2 title,body,summary,notes long text 2");
});
