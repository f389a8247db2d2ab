//! Server faults: a restart, `pg_terminate_backend`, a server that is down for
//! a while. Each test runs its own throwaway PostgreSQL server
//! ([`PgServer`]), never the shared one. (SQLite has no server to lose.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use dbridge_engine::{ConnectOptions, Database, ErrorKind, TransactionOptions, Value};
use dbridge_testkit::{PgServer, count_rows};

fn server() -> PgServer {
    PgServer::start().expect("start a throwaway PostgreSQL server")
}

async fn pool(server: &PgServer, min: u32) -> Database {
    let db = Database::connect_with(&server.url(), ConnectOptions::new().min_connections(min))
        .await
        .expect("connect");
    db.execute("CREATE TABLE IF NOT EXISTS t (n integer)", &[])
        .await
        .expect("create table");
    db
}

/// Terminates the server's client backends (or only `only`); there must be some.
async fn terminate_all(server: &PgServer, only: Option<i64>) {
    let n = server.terminate_backends(only).await;
    assert!(n > 0, "no backend to terminate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_a_restart_all_succeed() {
    let server = server();
    let db = pool(&server, 5).await;
    server.restart().expect("restart");
    for i in 0..15 {
        let row = db.fetch_one("SELECT 1 AS one", &[]).await;
        assert!(row.is_ok(), "read {i} after the restart failed: {row:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_write_after_a_restart_succeeds_on_an_idle_pool() {
    let server = server();
    // Every idle connection is checked before reuse: the rule that applies
    // to connections idle longer than 500 ms by default.
    let db = Database::connect_with(
        &server.url(),
        ConnectOptions::new()
            .min_connections(5)
            .ping_idle_after(Some(std::time::Duration::ZERO)),
    )
    .await
    .expect("connect");
    db.execute("CREATE TABLE t (n integer)", &[]).await.unwrap();
    server.restart().expect("restart");
    db.execute("INSERT INTO t VALUES (1)", &[])
        .await
        .expect("the first write after the restart");
    let mut tx = db.begin().await.expect("begin after the restart");
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count_rows(&db, "t").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_are_not_reused() {
    let server = server();
    let db = pool(&server, 5).await;
    terminate_all(&server, None).await;
    // The read meets a dead connection and is run again on a fresh one; the
    // failure retires every other connection of the pool.
    db.fetch_one("SELECT 1 AS one", &[])
        .await
        .expect("a read after pg_terminate_backend");
    for i in 0..10 {
        let r = db
            .execute("INSERT INTO t VALUES ($1)", &[Value::from(i)])
            .await;
        assert!(r.is_ok(), "write {i} reused a dead connection: {r:?}");
    }
    assert_eq!(count_rows(&db, "t").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_after_pg_terminate_backend_uses_a_fresh_connection() {
    let server = server();
    let db = pool(&server, 1).await;
    terminate_all(&server, None).await;
    let mut tx = db
        .begin()
        .await
        .expect("begin on a pool whose connection died");
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count_rows(&db, "t").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_backend_is_killed_fails_and_the_pool_recovers() {
    let server = server();
    let db = pool(&server, 3).await;
    let mut tx = db.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let pid = tx
        .fetch_one("SELECT pg_backend_pid() AS pid", &[])
        .await
        .unwrap()
        .get("pid")
        .unwrap()
        .as_i64()
        .unwrap();
    terminate_all(&server, Some(pid)).await;
    let err = tx
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .expect_err("a statement on the killed backend");
    assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
    assert!(err.kind().is_retryable());
    assert_eq!(
        err.as_database_error().and_then(|d| d.code.as_deref()),
        Some("57P01"),
        "{err}"
    );
    drop(tx);
    // Nothing half written, and the next calls succeed.
    assert_eq!(count_rows(&db, "t").await, 0);
    db.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
    assert_eq!(count_rows(&db, "t").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_on_a_killed_backend_is_ambiguous_and_not_retried() {
    let server = server();
    let db = pool(&server, 2).await;
    let attempts = Arc::new(AtomicU32::new(0));
    let url = server.url();
    let a = attempts.clone();
    let result = db
        .transaction(TransactionOptions::new().max_retries(5), move |tx| {
            let a = a.clone();
            let url = url.clone();
            Box::pin(async move {
                a.fetch_add(1, Ordering::SeqCst);
                tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
                // Kill this backend from outside just before COMMIT is sent.
                let pid = tx.fetch_one("SELECT pg_backend_pid() AS pid", &[]).await?;
                let admin = Database::connect(&url).await?;
                admin
                    .execute(
                        "SELECT pg_terminate_backend($1::int)",
                        &[pid.get("pid")?.clone()],
                    )
                    .await?;
                admin.close().await;
                Ok(())
            })
        })
        .await;
    let err = result.expect_err("COMMIT on a killed backend");
    assert_eq!(err.kind(), ErrorKind::AmbiguousCommit, "{err}");
    assert!(
        err.to_string()
            .contains("may or may not have been committed"),
        "{err}"
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        1,
        "an ambiguous COMMIT was retried"
    );
    // Here the backend died before COMMIT reached it: nothing was committed.
    assert_eq!(count_rows(&db, "t").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_retries_until_the_server_is_back() {
    let server = Arc::new(server());
    let db = pool(&server, 2).await;
    let attempts = Arc::new(AtomicU32::new(0));
    let (s, a) = (server.clone(), attempts.clone());
    let n = db
        .transaction(TransactionOptions::new().max_retries(12), move |tx| {
            let (s, a) = (s.clone(), a.clone());
            Box::pin(async move {
                if a.fetch_add(1, Ordering::SeqCst) == 0 {
                    // The first attempt takes the server down, and brings it
                    // back up from another thread while the retries wait.
                    let s2 = s.clone();
                    tokio::task::spawn_blocking(move || {
                        s2.stop().expect("stop");
                        std::thread::spawn(move || s2.start_again().expect("start"));
                    })
                    .await
                    .expect("stop the server");
                }
                tx.execute("INSERT INTO t VALUES (1)", &[]).await
            })
        })
        .await
        .expect("the transaction once the server is back");
    assert_eq!(n, 1);
    assert!(attempts.load(Ordering::SeqCst) >= 2);
    assert_eq!(count_rows(&db, "t").await, 1);
}

/// Two transactions that lock two rows in opposite orders: the server breaks
/// the deadlock (40P01) by failing one, which `max_retries` runs again.
async fn deadlocked_pair_both_commit(url: &str) {
    let db = Database::connect(url).await.expect("connect");
    db.execute("DROP TABLE IF EXISTS acct", &[]).await.unwrap();
    db.execute(
        "CREATE TABLE acct (id integer PRIMARY KEY, gold integer)",
        &[],
    )
    .await
    .unwrap();
    db.execute("INSERT INTO acct VALUES (1, 0), (2, 0)", &[])
        .await
        .unwrap();
    // Both first locks are taken before either second one (first attempts only).
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let run = |first: i64, second: i64| {
        let (db, barrier) = (db.clone(), barrier.clone());
        tokio::spawn(async move {
            let tries = Arc::new(AtomicU32::new(0));
            db.transaction(TransactionOptions::new().max_retries(5), move |tx| {
                let (barrier, tries) = (barrier.clone(), tries.clone());
                Box::pin(async move {
                    let n = tries.fetch_add(1, Ordering::SeqCst);
                    let bump = "UPDATE acct SET gold = gold + 1 WHERE id = $1";
                    tx.execute(bump, &[Value::from(first)]).await?;
                    if n == 0 {
                        barrier.wait().await;
                    }
                    tx.execute(bump, &[Value::from(second)]).await?;
                    Ok(())
                })
            })
            .await
        })
    };
    let (a, b) = (run(1, 2), run(2, 1));
    a.await
        .unwrap()
        .expect("the first transaction, retried past the deadlock");
    b.await
        .unwrap()
        .expect("the second transaction, retried past the deadlock");
    let rows = db
        .fetch_all("SELECT gold FROM acct ORDER BY id", &[])
        .await
        .unwrap();
    let gold: Vec<i64> = rows
        .iter()
        .map(|r| r.get("gold").unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(gold, [2, 2], "each transaction committed exactly once");
    db.execute("DROP TABLE acct", &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_retried_by_max_retries() {
    let server = server();
    deadlocked_pair_both_commit(&server.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_retried_through_pgbouncer() {
    let server = server();
    let bouncer = server.start_pgbouncer().expect("start PgBouncer");
    deadlocked_pair_both_commit(&bouncer.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_behind_pgbouncer_costs_no_read_and_transactions_retry() {
    let server = server();
    let bouncer = server.start_pgbouncer().expect("start PgBouncer");
    let db = Database::connect_with(&bouncer.url(), ConnectOptions::new().min_connections(3))
        .await
        .expect("connect through PgBouncer");
    db.execute("CREATE TABLE t (n integer)", &[]).await.unwrap();
    server.restart().expect("restart");
    for i in 0..15 {
        let r = db.fetch_one("SELECT 1 AS one", &[]).await;
        assert!(
            r.is_ok(),
            "read {i} through PgBouncer after the restart: {r:?}"
        );
    }
    let n = db
        .transaction(TransactionOptions::new().max_retries(10), |tx| {
            Box::pin(async move { tx.execute("INSERT INTO t VALUES (1)", &[]).await })
        })
        .await
        .expect("a transaction after the restart");
    assert_eq!(n, 1);
    assert_eq!(count_rows(&db, "t").await, 1);
}
