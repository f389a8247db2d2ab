//! Cancelling a running statement: a [`CancelHandle`] or a dropped future
//! stops it on the server, what it began is rolled back, and the connection
//! serves the next statement at once. Each pool has one connection, so the
//! statement after a cancel runs on the connection that was cancelled.
//!
//! No sleeps on guesses: PostgreSQL tests cancel once `pg_stat_activity`
//! shows the statement running and check there that it stopped; SQLite tests
//! run a query that never ends, so a cancel that did not stop it would hang.

use std::time::Duration;

use dbridge_engine::{Backend, CancelHandle, ConnectOptions, Database, ErrorKind, Value};
use dbridge_testkit::{TestDb, pg_url};

/// A query that runs until stopped (SQLite: an endless recursive CTE).
const ENDLESS_SQLITE: &str =
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) AS n FROM c";

/// A test database and a pool of a single connection to it.
struct One {
    db: Database,
    _t: TestDb,
}

async fn one_connection(backend: Backend) -> One {
    let opts = ConnectOptions::new().max_connections(1);
    let t = match backend {
        Backend::Postgres => TestDb::postgres_with(opts.clone()).await,
        Backend::Sqlite => TestDb::sqlite_file().await,
    };
    let db = Database::connect_with(&t.url, opts)
        .await
        .expect("open with one connection");
    One { db, _t: t }
}

/// The long statement of a backend, tagged with `tag` (PostgreSQL) so that
/// `pg_stat_activity` can find it.
fn endless(backend: Backend, tag: &str) -> String {
    match backend {
        Backend::Postgres => format!("SELECT pg_sleep(600) AS n /* {tag} */"),
        Backend::Sqlite => ENDLESS_SQLITE.to_owned(),
    }
}

/// How many server sessions run a statement containing `tag` (PostgreSQL).
async fn running(admin: &Database, tag: &str) -> i64 {
    let pattern = format!("%{tag}%");
    admin
        .fetch_one(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
            &[Value::from(pattern)],
        )
        .await
        .expect("read pg_stat_activity")
        .get("n")
        .expect("n")
        .as_i64()
        .expect("count")
}

/// Waits until the statement tagged `tag` runs (PostgreSQL); returns at once
/// on SQLite, where the statement never ends anyway.
async fn started(backend: Backend, tag: &str) {
    if backend != Backend::Postgres {
        return;
    }
    let admin = Database::connect(&pg_url()).await.expect("admin");
    while running(&admin, tag).await == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin.close().await;
}

/// No server session runs the statement tagged `tag` any more.
async fn assert_stopped(backend: Backend, tag: &str) {
    if backend == Backend::Postgres {
        let admin = Database::connect(&pg_url()).await.expect("admin");
        assert_eq!(running(&admin, tag).await, 0, "the statement still runs");
        admin.close().await;
    }
}

fn tag() -> String {
    format!("dbridge_cancel_{}", uuid::Uuid::new_v4().simple())
}

async fn cancel_handle_stops_the_statement(backend: Backend) {
    let t = one_connection(backend).await;
    let tag = tag();
    let handle = CancelHandle::new();
    let stop = handle.clone();
    let watcher = {
        let tag = tag.clone();
        tokio::spawn(async move {
            started(backend, &tag).await;
            stop.cancel();
        })
    };
    let err = handle
        .run(t.db.fetch_all(&endless(backend, &tag), &[]))
        .await
        .expect_err("cancelled");
    watcher.await.expect("watcher");
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(t.db.cancelled_statements(), 1);
    // The same (only) connection serves the next statement, cleanly.
    let row = t.db.fetch_one("SELECT 1 AS one", &[]).await.expect("next");
    assert_eq!(row.get("one").expect("one").as_i64(), Some(1));
    assert_stopped(backend, &tag).await;
}

#[tokio::test]
async fn a_cancel_handle_stops_the_statement_on_postgres() {
    cancel_handle_stops_the_statement(Backend::Postgres).await;
}

#[tokio::test]
async fn a_cancel_handle_stops_the_statement_on_sqlite() {
    cancel_handle_stops_the_statement(Backend::Sqlite).await;
}

/// Dropping the future (here: losing a `select!`) cancels as well, also for
/// a statement inside a transaction, whose writes are rolled back.
async fn dropping_the_future_cancels_and_rolls_back(backend: Backend) {
    let t = one_connection(backend).await;
    let db = &t.db;
    db.execute("CREATE TABLE c (n INTEGER)", &[])
        .await
        .expect("create");
    db.execute("INSERT INTO c VALUES (1)", &[])
        .await
        .expect("insert");
    let tag = tag();
    let sql = endless(backend, &tag);
    {
        let mut tx = db.begin().await.expect("begin");
        tx.execute("UPDATE c SET n = n + 100", &[])
            .await
            .expect("update");
        // The statement is sent first, then dropped once it runs.
        tokio::select! {
            biased;
            r = tx.fetch_all(&sql, &[]) => panic!("the endless statement ended: {r:?}"),
            () = started(backend, &tag) => {}
        }
    }
    assert_eq!(db.cancelled_statements(), 1);
    let n = db
        .fetch_one("SELECT n FROM c", &[])
        .await
        .expect("read")
        .get("n")
        .expect("n")
        .as_i64();
    assert_eq!(n, Some(1), "the transaction was rolled back");
    assert_stopped(backend, &tag).await;
}

#[tokio::test]
async fn dropping_the_future_cancels_and_rolls_back_on_postgres() {
    dropping_the_future_cancels_and_rolls_back(Backend::Postgres).await;
}

#[tokio::test]
async fn dropping_the_future_cancels_and_rolls_back_on_sqlite() {
    dropping_the_future_cancels_and_rolls_back(Backend::Sqlite).await;
}

/// A sandbox (one pinned connection): a cancelled statement leaves the
/// sandbox to be rolled back at once (on SQLite, usable, its earlier work in
/// place).
async fn a_sandbox_survives_a_cancel(backend: Backend) {
    let t = TestDb::new(backend).await;
    t.db.execute("CREATE TABLE s (n INTEGER)", &[])
        .await
        .expect("create");
    let sandbox = t.db.sandbox().await.expect("sandbox");
    sandbox
        .execute("INSERT INTO s VALUES (1)", &[])
        .await
        .expect("insert");
    let tag = tag();
    let handle = CancelHandle::new();
    let stop = handle.clone();
    let tag2 = tag.clone();
    let watcher = tokio::spawn(async move {
        started(backend, &tag2).await;
        stop.cancel();
    });
    let err = handle
        .run(sandbox.fetch_all(&endless(backend, &tag), &[]))
        .await
        .expect_err("cancelled");
    watcher.await.expect("watcher");
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    if backend == Backend::Sqlite {
        let n = sandbox
            .fetch_all("SELECT n FROM s", &[])
            .await
            .expect("read");
        assert_eq!(n.len(), 1, "the sandbox goes on, its work in place");
    }
    // (On PostgreSQL a cancelled statement aborts the transaction it ran in,
    // as any failed statement does: only the rollback is left.)
    sandbox
        .rollback_sandbox()
        .await
        .expect("roll back the sandbox");
    assert_stopped(backend, &tag).await;
    let n = t.db.fetch_all("SELECT n FROM s", &[]).await.expect("read");
    assert!(n.is_empty(), "the sandbox was rolled back");
}

#[tokio::test]
async fn a_sandbox_survives_a_cancel_on_postgres() {
    a_sandbox_survives_a_cancel(Backend::Postgres).await;
}

#[tokio::test]
async fn a_sandbox_survives_a_cancel_on_sqlite() {
    a_sandbox_survives_a_cancel(Backend::Sqlite).await;
}

/// A cancel with nothing running, and a statement that ends before the
/// cancel, change nothing.
#[tokio::test]
async fn a_finished_call_is_not_cancelled() {
    let t = one_connection(Backend::Sqlite).await;
    let handle = CancelHandle::new();
    handle.cancel();
    let rows = handle
        .run(t.db.fetch_all("SELECT 1 AS one", &[]))
        .await
        .expect("not cancelled")
        .expect("ran");
    assert_eq!(rows.len(), 1);
    assert_eq!(t.db.cancelled_statements(), 0);
}

/// `pg_cancel_backend` from elsewhere is a `cancelled` error, not a timeout;
/// `statement_timeout` stays a timeout.
#[tokio::test]
async fn a_server_side_cancel_is_cancelled_and_a_statement_timeout_a_timeout() {
    let t = one_connection(Backend::Postgres).await;
    let tag = tag();
    let sql = endless(Backend::Postgres, &tag);
    let killer = {
        let tag = tag.clone();
        tokio::spawn(async move {
            started(Backend::Postgres, &tag).await;
            let admin = Database::connect(&pg_url()).await.expect("admin");
            admin
                .execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                     WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                    &[Value::from(format!("%{tag}%"))],
                )
                .await
                .expect("cancel");
            admin.close().await;
        })
    };
    let err = t.db.fetch_all(&sql, &[]).await.expect_err("cancelled");
    killer.await.expect("killer");
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let mut tx = t.db.begin().await.expect("begin");
    tx.execute("SET LOCAL statement_timeout = '50ms'", &[])
        .await
        .expect("set");
    let err = tx.fetch_all(&sql, &[]).await.expect_err("timed out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
}
