//! Campaign: make the server echo a bound value into an error, from Lua and
//! Rhai, on both backends: functions that name their argument
//! (`current_setting`, `nextval`, `pg_read_file`, casts to `regclass`...),
//! casts and JSON parsing, enum input, a `RAISE` of a parameter, CHECK and
//! UNIQUE violations on a bound key, SQLite's JSON paths, `ATTACH`, FTS5
//! queries and trigger `RAISE`s, through plain statements, transactions, a
//! session flush and a bulk insert (COPY on PostgreSQL). The sentinel must
//! appear in no field of the error a script sees.

use dbridge::lua::{InstallOptions, LuaDb};
use dbridge::rhai::rhai::{self, Array, Dynamic, Engine, Map, Scope};
use dbridge_engine::Backend;
use dbridge_testkit::TestDb;

use crate::support::BACKENDS;

const SENTINEL: &str = "S3ntinelVAL";

/// (setup, statement, parameter) that echo the parameter on `backend`.
fn cases(backend: Backend) -> Vec<(&'static [&'static str], &'static str, String)> {
    let s = || SENTINEL.to_owned();
    match backend {
        Backend::Postgres => vec![
            (&[], "SELECT current_setting($1) AS x", s()),
            (&[], "SELECT nextval($1::text) AS x", s()),
            (&[], "SELECT pg_read_file($1) AS x", s()),
            (
                &[],
                "SELECT to_regclass($1)::text AS x",
                format!("a.b.c.{SENTINEL}"),
            ),
            (&[], "SELECT set_config($1, 'x', false) AS x", s()),
            (&[], "SELECT $1::text::int AS x", s()),
            (&[], "SELECT $1::text::json::text AS x", s()),
            (&[], "SELECT $1::text::regclass::text AS x", s()),
            (
                &["CREATE TYPE mood AS ENUM ('ok')"],
                "SELECT $1::text::mood::text AS x",
                s(),
            ),
            (
                &[
                    "CREATE FUNCTION boom(t text) RETURNS int LANGUAGE plpgsql AS $$ \
                   BEGIN RAISE EXCEPTION 'boom: %', t USING DETAIL = t, HINT = t; END $$",
                ],
                "SELECT boom($1) AS x",
                s(),
            ),
            (
                &["CREATE TABLE checked (s text CONSTRAINT checked_s CHECK (length(s) < 5))"],
                "INSERT INTO checked (s) VALUES ($1)",
                s(),
            ),
            (
                &[
                    "CREATE TABLE keyed (s text PRIMARY KEY)",
                    "INSERT INTO keyed VALUES ('S3ntinelVAL')",
                ],
                "INSERT INTO keyed (s) VALUES ($1)",
                s(),
            ),
        ],
        Backend::Sqlite => vec![
            (&[], "SELECT json_extract('{}', $1) AS x", s()),
            (
                &[],
                "ATTACH DATABASE $1 AS other",
                format!("/nonexistent/dir/{SENTINEL}"),
            ),
            (
                &["CREATE VIRTUAL TABLE docs USING fts5(body)"],
                "SELECT * FROM docs WHERE docs MATCH $1",
                format!("{SENTINEL}:x"),
            ),
            (
                &[
                    "CREATE TABLE raised (s TEXT)",
                    "CREATE TRIGGER raised_check BEFORE INSERT ON raised \
                   BEGIN SELECT RAISE(ABORT, 'bad: ' || NEW.s); END",
                ],
                "INSERT INTO raised (s) VALUES ($1)",
                s(),
            ),
            (
                &[
                    "CREATE TABLE keyed (s TEXT PRIMARY KEY)",
                    "INSERT INTO keyed VALUES ('S3ntinelVAL')",
                ],
                "INSERT INTO keyed (s) VALUES ($1)",
                s(),
            ),
        ],
    }
}

/// A `bulk` table whose trigger raises an error quoting the sentinel row.
async fn bulk_table(t: &TestDb) {
    let raise: &[&str] = match t.backend() {
        Backend::Postgres => &[
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.s = 'S3ntinelVAL' THEN RAISE EXCEPTION 'refused %', NEW.s; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON bulk FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse BEFORE INSERT ON bulk WHEN NEW.s = 'S3ntinelVAL' \
             BEGIN SELECT RAISE(ABORT, 'refused ' || NEW.s); END",
        ],
    };
    t.db.execute("CREATE TABLE bulk (id integer PRIMARY KEY, s text)", &[])
        .await
        .unwrap();
    for s in raise {
        t.db.execute(s, &[]).await.unwrap();
    }
}

/// A fresh database with every case's setup run, and the cases.
async fn prepared(backend: Backend) -> (TestDb, Vec<(&'static str, String)>) {
    let t = TestDb::new(backend).await;
    bulk_table(&t).await;
    let mut out = Vec::new();
    for (setup, sql, param) in cases(backend) {
        for s in setup {
            t.db.execute(s, &[]).await.unwrap();
        }
        out.push((sql, param));
    }
    (t, out)
}

fn assert_clean(errors: &str, count: usize, who: &str) {
    assert_eq!(errors.matches("\n--\n").count(), count, "{who}: {errors}");
    assert!(
        !errors
            .to_ascii_lowercase()
            .contains(&SENTINEL.to_ascii_lowercase()),
        "{who}: a bound value reached a script's error:\n{errors}"
    );
}

const LUA: &str = r#"
local out = {}
local function keep(ok, e)
  assert(not ok, "the statement should have failed")
  local parts = { tostring(e), e.kind, e.message, tostring(e.code), tostring(e.constraint),
    tostring(e.table), tostring(e.column), tostring(e.retryable), tostring(e.traceback) }
  out[#out + 1] = table.concat(parts, " | ") .. "\n--\n"
end
for _, c in ipairs(CASES) do
  keep(pcall(db.fetch_all, db, c.sql, { c.param }))
  keep(pcall(db.execute, db, c.sql, { c.param }))
  keep(pcall(db.transaction, db, function(tx) tx:execute(c.sql, { c.param }) end))
end
local Bulk = db:model { name = "Bulk", table = "bulk",
  columns = { { "id", "integer", primary_key = true }, { "s", "text" } } }
local rows = {}
for i = 1, 600 do rows[i] = { id = i, s = (i == 600) and BAD or ("row" .. i) } end
keep(pcall(Bulk.insert, Bulk, rows))
local s = db:session()
s:add(Bulk { id = 1000, s = BAD })
keep(pcall(s.flush, s))
s:rollback()
return table.concat(out)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_errors_never_show_bound_values() {
    for backend in BACKENDS {
        let (t, cases) = prepared(backend).await;
        let lua = dbridge::lua::new_lua(InstallOptions::new()).unwrap();
        let g = lua.globals();
        g.set("db", LuaDb::new(t.db.clone())).unwrap();
        g.set("BAD", SENTINEL).unwrap();
        let list = lua.create_table().unwrap();
        for (sql, param) in &cases {
            let c = lua.create_table().unwrap();
            c.set("sql", *sql).unwrap();
            c.set("param", param.as_str()).unwrap();
            list.push(c).unwrap();
        }
        g.set("CASES", list).unwrap();
        let errors: String = dbridge::lua::eval::<String>(&lua, LUA, "=redaction")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        assert_clean(
            &errors,
            cases.len() * 3 + 2,
            &format!("lua on {}", backend.name()),
        );
    }
}

const RHAI: &str = r#"
let out = "";
for c in cases {
    try { db.fetch_all(c.sql, [c.param]); throw "no error"; } catch (e) { out += `${e}` + "\n--\n"; }
    try { db.execute(c.sql, [c.param]); throw "no error"; } catch (e) { out += `${e}` + "\n--\n"; }
    let tx = db.begin();
    try { tx.execute(c.sql, [c.param]); throw "no error"; } catch (e) { out += `${e}` + "\n--\n"; }
    tx.rollback();
}
let Bulk = db.model(#{ name: "Bulk", table: "bulk",
    columns: [["id", "integer", #{ primary_key: true }], ["s", "text"]] });
let rows = [];
for i in 1..=600 { rows.push(#{ id: i, s: if i == 600 { bad } else { `row${i}` } }); }
try { Bulk.insert(rows); throw "no error"; } catch (e) { out += `${e}` + "\n--\n"; }
let s = db.session();
s.add(Bulk.build(#{ id: 1000, s: bad }));
try { s.flush(); throw "no error"; } catch (e) { out += `${e}` + "\n--\n"; }
s.rollback();
out
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rhai_errors_never_show_bound_values() {
    for backend in BACKENDS {
        let (t, cases) = prepared(backend).await;
        let mut engine = Engine::new();
        let dbridge =
            dbridge::rhai::register(&mut engine, dbridge::rhai::Options::sandboxed()).unwrap();
        let list: Array = cases
            .iter()
            .map(|(sql, param)| {
                let mut m = Map::new();
                m.insert("sql".into(), Dynamic::from(sql.to_string()));
                m.insert("param".into(), Dynamic::from(param.clone()));
                Dynamic::from_map(m)
            })
            .collect();
        let mut scope = Scope::new();
        scope.push("db", dbridge.database(t.db.clone()));
        scope.push("cases", list);
        scope.push("bad", SENTINEL.to_string());
        let result = dbridge::rhai::spawn_blocking(move || {
            engine.eval_with_scope::<rhai::ImmutableString>(&mut scope, RHAI)
        })
        .await
        .unwrap();
        let errors = result.unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
        assert_clean(
            &errors,
            cases.len() * 3 + 2,
            &format!("rhai on {}", backend.name()),
        );
    }
}
