//! Dropping a call's future stops the statement it waits for on the server
//! and rolls back the transaction it began: a host's `select!`, timeout or
//! task abort cancels database work, not only the Lua coroutine.
//!
//! The statement is an endless `INSERT ... WITH RECURSIVE` inside a
//! transaction. The future is dropped once the statement is seen running
//! (PostgreSQL: `pg_stat_activity`; SQLite: the write-ahead log grows), never
//! after a guessed delay; the outcome is checked on the server.

mod common;

use std::time::{Duration, Instant};

use common::{lua_for, run};
use dbridge_engine::{Backend, Database, Value};
use dbridge_testkit::TestDb;

/// Whether the statement containing `tag` runs (`wal_mark`: the SQLite
/// write-ahead log's size before it started).
async fn is_running(t: &TestDb, tag: &str, wal_mark: u64) -> bool {
    match t.backend() {
        Backend::Sqlite => wal_size(t) > wal_mark + (1 << 20),
        Backend::Postgres => pg_running(tag).await > 0,
    }
}

fn wal_size(t: &TestDb) -> u64 {
    let path = t.url.trim_start_matches("sqlite://");
    std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len())
}

async fn pg_running(tag: &str) -> i64 {
    let admin = Database::connect(&dbridge_testkit::pg_url())
        .await
        .expect("admin");
    let n = admin
        .fetch_one(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
            &[Value::from(format!("%{tag}%"))],
        )
        .await
        .expect("pg_stat_activity")
        .get("n")
        .expect("n")
        .as_i64()
        .expect("count");
    admin.close().await;
    n
}

async fn wait_until(mut cond: impl AsyncFnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

dbridge_testkit::each_backend!(
    dropping_a_call_cancels_its_statement_and_rolls_back,
    |t| async move {
        let lua = lua_for(&t);
        let table = format!("cancel_{}", uuid::Uuid::new_v4().simple());
        run::<()>(
            &lua,
            &format!("db:execute('CREATE TABLE {table} (n BIGINT)') db:execute('INSERT INTO {table} VALUES (1)')"),
        )
        .await;
        let src = format!(
            "local tx = db:begin() \
             tx:execute('UPDATE {table} SET n = n + 100') \
             tx:execute('INSERT INTO {table} (n) WITH RECURSIVE c(n) AS \
               (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c')"
        );
        let mark = wal_size(&t);
        {
            let call = dbridge_lua::eval::<()>(&lua, &src, "=endless");
            tokio::pin!(call);
            tokio::select! {
                biased;
                r = &mut call => panic!("the endless statement ended: {r:?}"),
                () = wait_until(async || is_running(&t, &table, mark).await, "never started") => {}
            }
        } // dropped here
        assert_eq!(t.db.cancelled_statements(), 1);
        if t.backend() == Backend::Postgres {
            wait_until(
                async || pg_running(&table).await == 0,
                "the statement still runs",
            )
            .await;
        }
        // The transaction was rolled back, and the table can be written at once
        // (an insert still running would hold SQLite's write lock, or the row
        // lock on PostgreSQL).
        let n: i64 = run(
            &lua,
            &format!(
                "db:execute('UPDATE {table} SET n = n + 1') \
                 return db:fetch_one('SELECT count(*) AS c, max(n) AS n FROM {table}').n"
            ),
        )
        .await;
        assert_eq!(n, 2);
    }
);
