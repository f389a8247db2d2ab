//! Escapes: scripts and Rust code trying to end the transaction they run in
//! (a sandbox, `db:transaction`, a migration) with raw `COMMIT`, `ROLLBACK`,
//! `SAVEPOINT`, `ATTACH`..., to open another database from a migration, or to
//! smuggle a second statement into a one-statement call. Each case checks the
//! error kind and that the rows and tables it targeted did not change.

use std::path::PathBuf;

use dbridge_engine::migrate::Migrator;
use dbridge_engine::{Backend, Database, ErrorKind};
use dbridge_lua::mlua::{Lua, Value as LuaValue};
use dbridge_lua::{InstallOptions, LuaDb, LuaScriptRunner};
use dbridge_rhai::RhaiScriptRunner;
use dbridge_rhai::rhai::{Dynamic, Engine, Scope};
use dbridge_testkit::{TestDb, VICTIMS, create_victims, fetch_ints, table_exists};

use crate::support::BACKENDS;

/// Raw SQL that would end or escape the transaction it runs in.
fn escapes(backend: Backend) -> Vec<&'static str> {
    let mut v = vec![
        "COMMIT",
        "ROLLBACK",
        "END",
        "BEGIN",
        "START TRANSACTION",
        "ABORT",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "/* hidden */ -- twice\n commit ;",
    ];
    match backend {
        Backend::Sqlite => v.extend([
            "VACUUM",
            "ATTACH DATABASE ':memory:' AS other",
            "DETACH other",
            "PRAGMA journal_mode = MEMORY",
            "PRAGMA main.locking_mode = EXCLUSIVE",
            "INSERT OR ROLLBACK INTO victims VALUES (9)",
        ]),
        Backend::Postgres => v.extend(["PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'"]),
    }
    v
}

fn lua(db: &Database) -> Lua {
    let lua = dbridge_lua::new_lua(InstallOptions::new()).unwrap();
    lua.globals().set("db", LuaDb::new(db.clone())).unwrap();
    lua
}

/// Runs `src` (which returns the kind of the error it caught, or nil).
async fn lua_kind(db: &Database, src: &str) -> Option<String> {
    let lua = lua(db);
    match dbridge_lua::eval::<LuaValue>(&lua, src, "=hostile").await {
        Ok(LuaValue::String(s)) => Some(s.to_string_lossy()),
        Ok(_) => None,
        Err(e) => panic!("lua error: {e}"),
    }
}

/// Runs a Rhai `src` with `db`; the kind of the error it failed with.
async fn rhai_kind(db: &Database, src: &str) -> Option<String> {
    let mut engine = Engine::new();
    let dbridge = dbridge_rhai::register(&mut engine, dbridge_rhai::Options::sandboxed()).unwrap();
    let mut scope = Scope::new();
    scope.push("db", dbridge.database(db.clone()));
    let src = src.to_owned();
    let r =
        dbridge_rhai::spawn_blocking(move || engine.eval_with_scope::<Dynamic>(&mut scope, &src))
            .await
            .unwrap();
    r.err().map(|e| {
        dbridge_rhai::db_error(&e)
            .map(|d| d.kind().to_string())
            .unwrap_or_else(|| format!("not a dbridge error: {e}"))
    })
}

fn lua_quote(s: &str) -> String {
    format!("{s:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sandbox_and_transaction_refuse_transaction_control() {
    for backend in BACKENDS {
        let t = TestDb::new(backend).await;
        create_victims(&t.db).await;
        // (One after the other: SQLite has one writer.)
        let sb = t.db.sandbox().await.unwrap();
        sb.execute("DELETE FROM victims", &[]).await.unwrap();
        for sql in escapes(backend) {
            let e = sb.execute(sql, &[]).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState, "{backend} sandbox {sql}");
        }
        sb.rollback_sandbox().await.unwrap();
        let mut tx = t.db.begin().await.unwrap();
        tx.execute("UPDATE victims SET n = 5", &[]).await.unwrap();
        for sql in escapes(backend) {
            let e = tx.execute(sql, &[]).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidState, "{backend} tx {sql}");
        }
        tx.rollback().await.unwrap();
        assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1], "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_statement_per_call_everywhere() {
    for backend in BACKENDS {
        let t = TestDb::new(backend).await;
        create_victims(&t.db).await;
        let two = "SELECT 1; DELETE FROM victims";
        for r in [
            t.db.execute(two, &[]).await.map(drop),
            t.db.fetch_all(two, &[]).await.map(drop),
            t.db.fetch_optional(two, &[]).await.map(drop),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidValue, "{backend}");
        }
        let src = format!(
            "local ok, e = pcall(db.fetch_all, db, {}) return e.kind",
            lua_quote(two)
        );
        assert_eq!(
            lua_kind(&t.db, &src).await.as_deref(),
            Some("invalid_value")
        );
        let src = format!(
            "local ok, e = pcall(db.execute, db, {}) return e.kind",
            lua_quote(two)
        );
        assert_eq!(
            lua_kind(&t.db, &src).await.as_deref(),
            Some("invalid_value")
        );
        let src = format!("db.fetch_all({});", lua_quote(two));
        assert_eq!(
            rhai_kind(&t.db, &src).await.as_deref(),
            Some("invalid_value")
        );
        assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1], "{backend}");
        // Several statements only through execute_script.
        let n: i64 = dbridge_lua::eval(
            &lua(&t.db),
            "return db:execute_script('INSERT INTO victims VALUES (2); INSERT INTO victims VALUES (3);')",
            "=hostile",
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            rhai_kind(&t.db, "db.execute_script(\"DELETE FROM victims WHERE n = 2; DELETE FROM victims WHERE n = 3\");").await,
            None
        );
        assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1], "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_and_rhai_cannot_end_their_transaction() {
    for backend in BACKENDS {
        let t = TestDb::new(backend).await;
        create_victims(&t.db).await;
        let sb = t.db.sandbox().await.unwrap();
        for sql in escapes(backend) {
            let q = lua_quote(sql);
            // In a sandbox.
            let src = format!("local ok, e = pcall(db.execute, db, {q}) return e.kind");
            assert_eq!(
                lua_kind(&sb, &src).await.as_deref(),
                Some("invalid_state"),
                "{sql}"
            );
            let src = format!("db.execute({q});");
            assert_eq!(
                rhai_kind(&sb, &src).await.as_deref(),
                Some("invalid_state"),
                "{sql}"
            );
            // In db:transaction / a Transaction, after a change of its own.
            let src = format!(
                "local ok, e = pcall(db.transaction, db, function(s) \
                   s:execute('DELETE FROM victims') s:execute({q}) end) return e.kind"
            );
            assert_eq!(
                lua_kind(&t.db, &src).await.as_deref(),
                Some("invalid_state"),
                "{sql}"
            );
            let src = format!(
                "let tx = db.begin(); tx.execute(\"DELETE FROM victims\"); tx.execute({q});"
            );
            assert_eq!(
                rhai_kind(&t.db, &src).await.as_deref(),
                Some("invalid_state"),
                "{sql}"
            );
            let src = format!(
                "db.transaction(|s| {{ s.execute(\"DELETE FROM victims\"); s.execute({q}); }});"
            );
            assert_eq!(
                rhai_kind(&t.db, &src).await.as_deref(),
                Some("invalid_state"),
                "{sql}"
            );
        }
        let src = "local ok, e = pcall(db.execute_script, db, \"DELETE FROM victims; COMMIT\") return e.kind";
        assert_eq!(lua_kind(&sb, src).await.as_deref(), Some("invalid_state"));
        assert_eq!(fetch_ints(&sb, VICTIMS).await, [1], "{backend}");
        sb.rollback_sandbox().await.unwrap();
        assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1], "{backend}");
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(files: &[(&str, &str)]) -> Self {
        let p =
            std::env::temp_dir().join(format!("dbridge-hostile-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        for (name, text) in files {
            std::fs::write(p.join(name), text).unwrap();
        }
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `file` as the only migration; checks it failed and left nothing.
async fn migration_fails_cleanly(backend: Backend, name: &str, text: &str, wanted: &str) {
    let t = TestDb::new(backend).await;
    create_victims(&t.db).await;
    let dir = Dir::new(&[(name, text)]);
    let m = Migrator::new(t.db.clone(), &dir.0)
        .script_runner(std::sync::Arc::new(LuaScriptRunner::new()))
        .script_runner(std::sync::Arc::new(RhaiScriptRunner::new()));
    let e = m.up(None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration, "{backend} {name}: {e}");
    assert!(e.to_string().contains(wanted), "{backend} {name}: {e}");
    assert!(
        e.to_string().contains("rolled back"),
        "{backend} {name}: {e}"
    );
    assert!(!table_exists(&t.db, "c1").await, "{backend} {name}");
    assert!(!table_exists(&t.db, "c2").await, "{backend} {name}");
    assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1], "{backend} {name}");
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM dbridge_migrations", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0), "{backend} {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_cannot_commit_early_or_open_other_databases() {
    for backend in BACKENDS {
        let sql = "-- up\nCREATE TABLE c1 (n INTEGER);\nCOMMIT;\nCREATE TABLE c2 (n INTEGER);\n\
                   SELECT * FROM does_not_exist;\n";
        migration_fails_cleanly(backend, "0001_e.sql", sql, "`COMMIT` is refused").await;
        let lua = "function up(db)\n db:execute('CREATE TABLE c1 (n INTEGER)')\n \
                   db:execute('DELETE FROM victims')\n db:execute('COMMIT')\n \
                   db:execute('CREATE TABLE c2 (n INTEGER)')\nend\n";
        migration_fails_cleanly(backend, "0001_e.lua", lua, "is refused").await;
        let rhai = "fn up(db) {\n db.execute(\"CREATE TABLE c1 (n INTEGER)\");\n \
                    db.execute(\"DELETE FROM victims\");\n db.execute(\"COMMIT\");\n \
                    db.execute(\"CREATE TABLE c2 (n INTEGER)\");\n}\n";
        migration_fails_cleanly(backend, "0001_e.rhai", rhai, "is refused").await;
        let lua = "function up(db)\n db:execute('DELETE FROM victims')\n \
                   local other = dbridge.connect('sqlite::memory:')\nend\n";
        migration_fails_cleanly(backend, "0001_c.lua", lua, "dbridge.connect").await;
        let rhai = "fn up(db) {\n db.execute(\"DELETE FROM victims\");\n \
                    let other = dbridge::connect(\"sqlite::memory:\");\n}\n";
        migration_fails_cleanly(backend, "0001_c.rhai", rhai, "dbridge::connect").await;
    }
}
