//! `.lua` migrations run by `LuaScriptRunner` (data migrations in the
//! migration's transaction, failures rolled back and reported with the file),
//! and `db:migrator(dir)` from scripts, on SQLite and PostgreSQL.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{fails, lua_for, run};
use dbridge_engine::migrate::{MigrationState, Migrator};
use dbridge_engine::{Database, Error, MigrationFailure};
use dbridge_lua::LuaScriptRunner;

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "dbridge-lua-mig-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.0.join(name), content).unwrap();
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn migrator(db: &Database, dir: &Dir) -> Migrator {
    Migrator::new(db.clone(), &dir.0).script_runner(Arc::new(LuaScriptRunner::new()))
}

const PEOPLE: &str = "-- up
CREATE TABLE people (id BIGINT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL);
INSERT INTO people (id, first, last) VALUES (1, 'Ada', 'Lovelace'), (2, 'Alan', 'Turing');
-- down
DROP TABLE people;
";

/// The module form: a table with `up` and `down`.
const FULL_NAME: &str = r#"
local M = {}

function M.up(db)
  db:execute("ALTER TABLE people ADD COLUMN full_name TEXT")
  for _, p in ipairs(db:fetch_all("SELECT id, first, last FROM people ORDER BY id")) do
    db:execute("UPDATE people SET full_name = $1 WHERE id = $2", { p.first .. " " .. p.last, p.id })
  end
end

function M.down(db)
  db:execute("ALTER TABLE people DROP COLUMN full_name")
end

return M
"#;

async fn full_names(db: &Database) -> Vec<String> {
    db.fetch_all("SELECT full_name FROM people ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("full_name").unwrap().as_str().unwrap().to_owned())
        .collect()
}

dbridge_testkit::each_backend!(
    lua_data_migration_adds_and_backfills_a_column,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write("0002_full_name.lua", FULL_NAME);
        // The global form, streaming rows and counting with fetch_one.
        dir.write(
            "0003_initials.lua",
            r#"function up(db)
  db:execute("ALTER TABLE people ADD COLUMN initials TEXT")
  local ids = {}
  for p in db:stream("SELECT id, first, last FROM people") do
    ids[#ids + 1] = { p.id, p.first:sub(1, 1) .. p.last:sub(1, 1) }
  end
  for _, x in ipairs(ids) do
    db:execute("UPDATE people SET initials = $1 WHERE id = $2", { x[2], x[1] })
  end
  assert(db:fetch_one("SELECT count(*) AS n FROM people WHERE initials IS NULL").n == 0)
end
function down(db) db:execute("ALTER TABLE people DROP COLUMN initials") end
"#,
        );
        let m = migrator(&t.db, &dir);
        let ran = m.up(None).await.unwrap();
        assert_eq!(ran.len(), 3);
        assert_eq!(full_names(&t.db).await, ["Ada Lovelace", "Alan Turing"]);
        let initials =
            t.db.fetch_all("SELECT initials FROM people ORDER BY id", &[])
                .await
                .unwrap();
        assert_eq!(initials[1].get("initials").unwrap().as_str(), Some("AT"));

        m.down(2).await.unwrap();
        assert!(
            t.db.fetch_all("SELECT full_name FROM people", &[])
                .await
                .is_err()
        );
        let status = m.status().await.unwrap();
        assert!(matches!(status[0].state, MigrationState::Applied(_)));
        assert!(matches!(status[1].state, MigrationState::Pending));
        // Up again: the backfill runs on the rows as they are.
        m.up(None).await.unwrap();
        assert_eq!(full_names(&t.db).await, ["Ada Lovelace", "Alan Turing"]);
    }
);

fn migration_error(e: &Error) -> (MigrationFailure, Option<String>, String) {
    match e {
        Error::Migration {
            reason,
            file,
            message,
            ..
        } => (*reason, file.clone(), message.clone()),
        other => panic!("not a migration error: {other}"),
    }
}

dbridge_testkit::each_backend!(a_failing_lua_migration_leaves_no_trace, |t| async move {
    let dir = Dir::new();
    dir.write("0001_people.sql", PEOPLE);
    dir.write(
        "0002_broken.lua",
        r#"function up(db)
  db:execute("CREATE TABLE audit (id BIGINT PRIMARY KEY)")
  db:execute("UPDATE people SET first = 'X'")
  error("boom in the backfill")
end
function down(db) end
"#,
    );
    let m = migrator(&t.db, &dir);
    let err = m.up(None).await.unwrap_err();
    let (reason, file, message) = migration_error(&err);
    assert_eq!(reason, MigrationFailure::Failed);
    assert_eq!(file.as_deref(), Some("0002_broken.lua"));
    assert!(message.contains("0002_broken.lua:4:"), "{message}");
    assert!(message.contains("boom in the backfill"), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    // 0001 stays applied; nothing of 0002 is left.
    let status = m.status().await.unwrap();
    assert!(matches!(status[0].state, MigrationState::Applied(_)));
    assert!(matches!(status[1].state, MigrationState::Pending));
    assert!(t.db.fetch_all("SELECT * FROM audit", &[]).await.is_err());
    let first =
        t.db.fetch_one("SELECT first FROM people WHERE id = 1", &[])
            .await
            .unwrap();
    assert_eq!(first.get("first").unwrap().as_str(), Some("Ada"));

    // A database error inside the script names its kind; so does a missing
    // function, and a script that tries to end the transaction itself.
    dir.write(
        "0002_broken.lua",
        "return { up = function(db) db:execute('INSERT INTO people (id) VALUES (9)') end }",
    );
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("not_null_violation"), "{message}");
    dir.write("0002_broken.lua", "function down(db) end");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("defines no `up` function"), "{message}");
    dir.write("0002_broken.lua", "function up(db) db:commit() end");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("method 'commit'"), "{message}");
    dir.write("0002_broken.lua", "function up(db) while true do end end");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("budget"), "{message}");
    assert!(matches!(
        m.status().await.unwrap()[1].state,
        MigrationState::Pending
    ));
});

dbridge_testkit::each_backend!(migrator_from_lua, |t| async move {
    let dir = Dir::new();
    dir.write("0001_people.sql", PEOPLE);
    dir.write("0002_full_name.lua", FULL_NAME);
    let lua = lua_for(&t);
    lua.globals().set("DIR", dir.path()).unwrap();
    let got: String = run(
        &lua,
        r#"local m = db:migrator(DIR)
        local before = m:status()
        local plan = m:plan_up(1)
        local ran = m:up()
        local after = m:status()
        local undone = m:down()
        return table.concat({
          before[1].state, before[2].state, #plan, plan[1].sql[1]:sub(1, 12),
          #ran, ran[2].file, after[2].state, undone[1].name, m:status()[2].state,
        }, " ")"#,
    )
    .await;
    assert_eq!(
        got,
        "pending pending 1 CREATE TABLE 2 0002_full_name.lua applied full_name pending"
    );
    let path: String = run(&lua, "return db:migrator(DIR):new('add tags', 'lua')").await;
    assert!(path.ends_with("0003_add_tags.lua"), "{path}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("function up(db)"), "{text}");

    let err = fails(&lua, "local ok, e = pcall(db.migrator(db, DIR).up, db:migrator(DIR), 99) error(e.kind .. ': ' .. e.message)").await;
    assert!(
        err.contains("migration: no migration has version 99"),
        "{err}"
    );
    let err = fails(&lua, "db:migrator(DIR):check()").await;
    assert!(err.contains("no models to compare with"), "{err}");
    let err = fails(&lua, "db:migrator(DIR, { modles = 1 })").await;
    assert!(err.contains("unknown option `modles`"), "{err}");
});

dbridge_testkit::each_backend!(
    check_and_autogenerate_against_reflected_models,
    |t| async move {
        let dir = Dir::new();
        let lua = lua_for(&t);
        lua.globals().set("DIR", dir.path()).unwrap();
        let (changes, file, after, again): (i64, String, i64, bool) = run(
            &lua,
            r#"local models = dbridge.connect("sqlite::memory:")
        models:execute("CREATE TABLE tags (id BIGINT PRIMARY KEY, label TEXT NOT NULL UNIQUE)")
        local m = db:migrator(DIR, { models = models })
        local changes = m:check()
        local file = m:autogenerate("create tags")
        m:up()
        return #changes, file, #m:check(), m:autogenerate("nothing") == nil"#,
        )
        .await;
        assert_eq!(changes, 1);
        assert!(file.ends_with("0001_create_tags.sql"), "{file}");
        assert_eq!(after, 0, "models and database should agree after up");
        assert!(again);
        t.db.execute("INSERT INTO tags (id, label) VALUES (1, 'x')", &[])
            .await
            .unwrap();
    }
);

dbridge_testkit::each_backend!(
    check_and_autogenerate_against_declared_models,
    |t| async move {
        let dir = Dir::new();
        let lua = lua_for(&t);
        lua.globals().set("DIR", dir.path()).unwrap();
        let (changes, file, after): (i64, String, i64) = run(
            &lua,
            r#"db:model { name = "Tag", table = "tags", columns = {
              { "id", "bigint", primary_key = true },
              { "label", "text", nullable = false, unique = true },
            } }
        local m = db:migrator(DIR)
        local changes = m:check()
        local file = m:autogenerate("create tags")
        m:up()
        return #changes, file, #m:check()"#,
        )
        .await;
        assert_eq!(changes, 1);
        assert!(file.ends_with("0001_create_tags.sql"), "{file}");
        assert_eq!(after, 0, "models and database should agree after up");
        t.db.execute("INSERT INTO tags (id, label) VALUES (1, 'x')", &[])
            .await
            .unwrap();
    }
);

/// A data migration with a model of its own: backfilled through a session
/// and through the query builder and `Model:update`.
const MODEL_BACKFILL: &str = r#"
function up(db)
  db:execute("ALTER TABLE people ADD COLUMN full_name TEXT")
  db:execute("ALTER TABLE people ADD COLUMN initials TEXT")
  local Person = db:model { name = "Person", table = "people", columns = {
    { "id", "bigint", primary_key = true },
    { "first", "text", nullable = false },
    { "last", "text", nullable = false },
    { "full_name", "text" },
    { "initials", "text" },
  } }
  local s = db:session()
  for _, p in ipairs(s:query(Person):order_by(Person.id):all()) do
    p.full_name = p.first .. " " .. p.last
  end
  s:commit() -- a flush: the migration's transaction stays open
  local ok, e = pcall(s.rollback, s)
  assert(not ok and e.kind == "invalid_state", "a migration's session cannot roll it back")
  for _, p in ipairs(db:query(Person):where(Person.initials:is_null()):all()) do
    Person:update({ initials = p.first:sub(1, 1) .. p.last:sub(1, 1) })
      :where(Person.id:eq(p.id)):execute()
  end
  Person:insert({ { id = 3, first = "Grace", last = "Hopper" } })
  db:savepoint("before_4")
  Person:insert({ { id = 4, first = "Undone", last = "Row" } })
  db:rollback_to("before_4")
  db:release("before_4")
  assert(db:query(Person):where(Person.full_name:is_null()):count() == 1)
  assert(db:fetch_one("SELECT count(*) AS n FROM people WHERE initials IS NULL").n == 1)
end

function down(db)
  db:execute("DELETE FROM people WHERE id = 3")
  db:execute("ALTER TABLE people DROP COLUMN initials")
  db:execute("ALTER TABLE people DROP COLUMN full_name")
end
"#;

/// Reflects the tables as the migration's transaction sees them (with the
/// one it just created) and fills that table through a session.
const REFLECT_BADGES: &str = r#"
function up(db)
  db:execute("CREATE TABLE badges (id BIGINT PRIMARY KEY, label TEXT NOT NULL)")
  local t = db:reflect()
  db:transaction(function(s)
    for _, p in ipairs(s:query(t.people):where(t.people.initials:is_not_null()):all()) do
      s:add(t.badges { id = p.id, label = p.initials })
    end
  end)
end
function down(db) db:execute("DROP TABLE badges") end
"#;

dbridge_testkit::each_backend!(
    lua_data_migration_with_a_local_model_and_a_session,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write("0002_backfill.lua", MODEL_BACKFILL);
        dir.write("0003_badges.lua", REFLECT_BADGES);
        let lua = lua_for(&t);
        lua.globals().set("DIR", dir.path()).unwrap();
        let (ran, models): (i64, i64) = run(
            &lua,
            r#"local ran = #db:migrator(DIR):up()
            local n = 0
            for _ in pairs(db:models()) do n = n + 1 end
            return ran, n"#,
        )
        .await;
        assert_eq!(ran, 3);
        assert_eq!(
            models, 0,
            "a migration's models stay out of the application's"
        );
        let rows =
            t.db.fetch_all("SELECT full_name, initials FROM people ORDER BY id", &[])
                .await
                .unwrap();
        let text = |i: usize, c: &str| rows[i].get(c).unwrap().as_str().map(str::to_owned);
        assert_eq!(text(0, "full_name").as_deref(), Some("Ada Lovelace"));
        assert_eq!(text(1, "initials").as_deref(), Some("AT"));
        assert_eq!(text(2, "full_name"), None);
        assert_eq!(rows.len(), 3, "the row rolled back to a savepoint is gone");
        let badges =
            t.db.fetch_all("SELECT label FROM badges ORDER BY id", &[])
                .await
                .unwrap();
        assert_eq!(badges.len(), 2);
        assert_eq!(badges[0].get("label").unwrap().as_str(), Some("AL"));

        let m = migrator(&t.db, &dir);
        m.down(2).await.unwrap();
        assert!(t.db.fetch_all("SELECT * FROM badges", &[]).await.is_err());
        assert!(
            t.db.fetch_all("SELECT initials FROM people", &[])
                .await
                .is_err()
        );
    }
);

dbridge_testkit::each_backend!(
    a_lua_data_migration_failing_midway_leaves_no_trace,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write(
            "0002_audit.lua",
            r#"function up(db)
  db:execute("CREATE TABLE audit (id BIGINT PRIMARY KEY, note TEXT)")
  local Audit = db:model { name = "Audit", table = "audit", columns = {
    { "id", "bigint", primary_key = true }, { "note", "text" } } }
  Audit:insert({ { id = 1, note = "inserted" } })
  local s = db:session()
  s:add(Audit { id = 2, note = "added" })
  s:commit()
  local People = db:reflect().people
  People:update({ first = "X" }):execute()
  assert(db:query(Audit):count() == 2)
  assert(db:query(People):where(People.first:eq("X")):count() == 2)
  error("boom midway")
end
function down(db) db:execute("DROP TABLE audit") end
"#,
        );
        let m = migrator(&t.db, &dir);
        let err = m.up(None).await.unwrap_err();
        let (_, file, message) = migration_error(&err);
        assert_eq!(file.as_deref(), Some("0002_audit.lua"));
        assert!(message.contains("boom midway"), "{message}");
        let status = m.status().await.unwrap();
        assert!(matches!(status[0].state, MigrationState::Applied(_)));
        assert!(matches!(status[1].state, MigrationState::Pending));
        assert!(t.db.fetch_all("SELECT * FROM audit", &[]).await.is_err());
        let firsts =
            t.db.fetch_all("SELECT first FROM people ORDER BY id", &[])
                .await
                .unwrap();
        assert_eq!(firsts[0].get("first").unwrap().as_str(), Some("Ada"));
        assert_eq!(firsts[1].get("first").unwrap().as_str(), Some("Alan"));

        // What a migration's db refuses, with what to do instead.
        for (body, expected) in [
            ("db:begin()", "use db:session()"),
            ("db:create_all()", "own statements"),
            ("db:close()", "runner owns the connection"),
        ] {
            dir.write("0002_audit.lua", &format!("function up(db) {body} end"));
            let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
            assert!(message.contains(expected), "{body}: {message}");
        }
    }
);

dbridge_testkit::each_backend!(autogenerate_refuses_drops_unless_allowed, |t| async move {
    let dir = Dir::new();
    let lua = lua_for(&t);
    lua.globals().set("DIR", dir.path()).unwrap();
    t.db.execute("CREATE TABLE old_notes (id BIGINT PRIMARY KEY)", &[])
        .await
        .unwrap();
    let (err, file): (String, String) = run(
        &lua,
        r#"db:model { name = "Tag", table = "tags", columns = { { "id", "bigint", primary_key = true } } }
        local ok, err = pcall(function() return db:migrator(DIR):autogenerate("tags") end)
        assert(not ok and err.kind == "invalid_state")
        local file = db:migrator(DIR, { allow_drops = true }):autogenerate("tags")
        return err.message, file"#,
    )
    .await;
    assert!(err.contains("drop table `old_notes`"), "{err}");
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("THIS MIGRATION DROPS DATA"), "{text}");
});
