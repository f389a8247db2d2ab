//! Campaign: smuggle SQL through a name. `order_by`, `group_by` and `having`
//! take a string as a column or label name of the query; from Lua and Rhai,
//! on both backends, strings that are SQL, comments, quotes, NUL, look-alikes,
//! names of other tables and a 10,000-character string must each fail with
//! `invalid_identifier` (not a name) or `schema` (not a name of this query),
//! reach no statement, and leave both tables as they were; a plain name
//! orders the rows and is written as a quoted identifier, never as `$1`.

use dbridge::lua::{InstallOptions, LuaDb};
use dbridge::rhai::rhai::{self, Array, Dynamic, Engine, Scope};
use dbridge_engine::Backend;
use dbridge_testkit::TestDb;

use crate::support::BACKENDS;

/// (string, the error kind it must fail with).
fn cases() -> Vec<(String, &'static str)> {
    let bad = "invalid_identifier";
    let mut out: Vec<(String, &'static str)> = [
        ("name; DROP TABLE victims", bad),
        ("name DESC; DROP TABLE victims", bad),
        ("-name; DELETE FROM victims", bad),
        ("name\"; DROP TABLE victims; --", bad),
        ("\"name\"", bad),
        ("name -- comment", bad),
        ("name /* c */", bad),
        ("(SELECT token FROM secrets)", bad),
        ("CASE WHEN 1=1 THEN name END", bad),
        ("pg_sleep(5)", bad),
        ("name COLLATE \"C\"", bad),
        ("1", bad),
        ("", bad),
        ("   ", bad),
        ("-", bad),
        ("name\0", bad),
        ("name\n", bad),
        (" name", bad),
        ("- name", bad),
        ("--name", bad),
        ("victims.name.x", bad),
        ("name NULLS FIRST", bad),
        // Valid names, but not of this query.
        ("token", "schema"),
        ("secrets.token", "schema"),
        ("nam\u{0435}", "schema"), // Cyrillic e
        ("emial", "schema"),
    ]
    .into_iter()
    .map(|(s, k)| (s.to_owned(), k))
    .collect();
    out.push(("n".repeat(10_000), bad));
    out
}

const CLAUSES: [&str; 3] = ["order_by", "group_by", "having"];

async fn tables(backend: Backend) -> TestDb {
    let t = TestDb::new(backend).await;
    for sql in [
        "CREATE TABLE victims (id integer PRIMARY KEY, name text, karma integer)",
        "INSERT INTO victims VALUES (1, 'Cyd', 2), (2, 'Ann', 3), (3, 'Bea', 1)",
        "CREATE TABLE secrets (id integer PRIMARY KEY, token text)",
        "INSERT INTO secrets VALUES (1, 'hunter2')",
    ] {
        t.db.execute(sql, &[]).await.unwrap();
    }
    t
}

/// The tables are unchanged.
async fn intact(t: &TestDb, who: &str) {
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM victims", &[])
            .await;
    assert_eq!(n.unwrap().get("n").unwrap().as_i64(), Some(3), "{who}");
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM secrets", &[])
            .await;
    assert_eq!(n.unwrap().get("n").unwrap().as_i64(), Some(1), "{who}");
}

/// One line per case and clause: `clause kind`; the message is checked too.
fn check(lines: &str, who: &str) {
    let got: Vec<&str> = lines.lines().collect();
    let mut expected = Vec::new();
    for (_, kind) in cases() {
        for clause in CLAUSES {
            expected.push(format!("{clause} {kind}"));
        }
    }
    expected.push("Ann,Bea,Cyd".into());
    expected.push("Bea,Cyd,Ann".into());
    expected.push("Ann,Cyd,Bea".into());
    assert_eq!(got.len(), expected.len() + 1, "{who}: {lines}");
    assert_eq!(&got[..expected.len()], expected.as_slice(), "{who}");
    let sql = got[expected.len()];
    assert!(
        sql.ends_with(r#"ORDER BY "victims"."name""#) && !sql.contains('$'),
        "{who}: {sql}"
    );
}

const LUA: &str = r#"
local Victim = db:model { name = "Victim", table = "victims", columns = {
  { "id", "integer", primary_key = true }, { "name", "text" }, { "karma", "integer" } } }
local out = {}
for _, c in ipairs(CASES) do
  for _, clause in ipairs({ "order_by", "group_by", "having" }) do
    local ok, e = pcall(function() return db:query(Victim)[clause](db:query(Victim), c):all() end)
    assert(not ok, clause .. " accepted a hostile string")
    assert(#e.message < 1000, "a long message")
    assert(not e.message:find("\0", 1, true), "a NUL in the message")
    out[#out + 1] = clause .. " " .. e.kind
  end
end
local function names(rows)
  local t = {}
  for _, r in ipairs(rows) do t[#t + 1] = r.name end
  return table.concat(t, ",")
end
out[#out + 1] = names(db:query(Victim):order_by("name"):all())
out[#out + 1] = names(db:query(Victim):order_by("karma"):all())
out[#out + 1] = names(db:query(Victim.name):order_by("-karma"):all())
out[#out + 1] = db:query(Victim):order_by("name"):sql()
return table.concat(out, "\n")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_names_in_order_by_are_never_sql() {
    for backend in BACKENDS {
        let t = tables(backend).await;
        let lua = dbridge::lua::new_lua(InstallOptions::new()).unwrap();
        let g = lua.globals();
        g.set("db", LuaDb::new(t.db.clone())).unwrap();
        let list = lua.create_table().unwrap();
        for (s, _) in cases() {
            list.push(lua.create_string(s.as_bytes()).unwrap()).unwrap();
        }
        g.set("CASES", list).unwrap();
        let out: String = dbridge::lua::eval::<String>(&lua, LUA, "=ordering")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        let who = format!("lua on {}", backend.name());
        check(&out, &who);
        intact(&t, &who).await;
    }
}

const RHAI: &str = r#"
let Victim = db.model(#{ name: "Victim", table: "victims", columns: [
    ["id", "integer", #{ primary_key: true }], ["name", "text"], ["karma", "integer"]] });
let out = [];
for c in cases {
    for clause in ["order_by", "group_by", "having"] {
        try {
            let q = db.query(Victim);
            let q = if clause == "order_by" { q.order_by(c) }
                else if clause == "group_by" { q.group_by(c) }
                else { q.having(c) };
            q.all();
            out.push(`${clause} accepted`);
        } catch (e) {
            if e.message.len() >= 1000 { throw "a long message"; }
            out.push(`${clause} ${e.kind}`);
        }
    }
}
out.push(db.query(Victim).order_by("name").all().map(|v| v.name).reduce(|s, n| if s == () { n } else { s + "," + n }));
out.push(db.query(Victim).order_by(["karma"]).all().map(|v| v.name).reduce(|s, n| if s == () { n } else { s + "," + n }));
out.push(db.query(Victim.name).order_by("-karma").all().map(|v| v.name).reduce(|s, n| if s == () { n } else { s + "," + n }));
out.push(db.query(Victim).order_by("name").sql());
out.reduce(|s, l| if s == () { l } else { s + "\n" + l })
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rhai_names_in_order_by_are_never_sql() {
    for backend in BACKENDS {
        let t = tables(backend).await;
        let mut engine = Engine::new();
        let dbridge =
            dbridge::rhai::register(&mut engine, dbridge::rhai::Options::sandboxed()).unwrap();
        let list: Array = cases().into_iter().map(|(s, _)| Dynamic::from(s)).collect();
        let mut scope = Scope::new();
        scope.push("db", dbridge.database(t.db.clone()));
        scope.push("cases", list);
        let result = dbridge::rhai::spawn_blocking(move || {
            engine.eval_with_scope::<rhai::ImmutableString>(&mut scope, RHAI)
        })
        .await
        .unwrap();
        let out = result.unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        let who = format!("rhai on {}", backend.name());
        check(&out, &who);
        intact(&t, &who).await;
    }
}
