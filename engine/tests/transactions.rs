//! Transactions: commit, rollback, drop, savepoints, isolation levels,
//! read-only, and the retrying helper.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use dbridge_engine::{Backend, Error, ErrorKind, IsolationLevel, TransactionOptions, Value};
use dbridge_testkit::{TestDb, each_backend};

async fn table(t: &TestDb) {
    t.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
}

each_backend!(commit_and_rollback, |t| async move {
    table(&t).await;
    let mut tx = t.db.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert_eq!(
        tx.fetch_all("SELECT n FROM t", &[]).await.unwrap().len(),
        1,
        "a transaction sees its own writes"
    );
    tx.commit().await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(t.count("t").await, 1);
});

each_backend!(dropped_transaction_rolls_back, |t| async move {
    table(&t).await;
    {
        let mut tx = t.db.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    }
    assert_eq!(t.count("t").await, 0);
    // The connection went back to the pool usable.
    for i in 0..20 {
        t.db.execute("INSERT INTO t VALUES ($1)", &[Value::Int4(i)])
            .await
            .unwrap();
    }
    assert_eq!(t.count("t").await, 20);
});

each_backend!(nested_savepoints, |t| async move {
    table(&t).await;
    let mut tx = t.db.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    tx.savepoint("outer").await.unwrap();
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    tx.savepoint("inner").await.unwrap();
    tx.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
    tx.rollback_to_savepoint("inner").await.unwrap();
    tx.release_savepoint("outer").await.unwrap();
    tx.commit().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT n FROM t ORDER BY n", &[])
            .await
            .unwrap();
    let ns: Vec<i64> = rows
        .iter()
        .map(|r| r.get(0).unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(ns, [1, 2]);
});

each_backend!(
    rolling_back_to_a_savepoint_recovers_from_an_error,
    |t| async move {
        table(&t).await;
        let mut tx = t.db.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        tx.savepoint("sp").await.unwrap();
        let err = tx
            .execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation);
        tx.rollback_to_savepoint("sp").await.unwrap();
        tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(t.count("t").await, 2);
    }
);

each_backend!(savepoint_names_are_validated, |t| async move {
    let mut tx = t.db.begin().await.unwrap();
    let err = tx.savepoint("x; COMMIT").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidIdentifier);
    let err = tx.rollback_to_savepoint("never_made").await.unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err}");
});

each_backend!(every_isolation_level_begins, |t| async move {
    table(&t).await;
    for level in [
        IsolationLevel::ReadUncommitted,
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ] {
        let mut tx =
            t.db.begin_with(TransactionOptions::new().isolation(level))
                .await
                .unwrap();
        if t.backend() == Backend::Postgres {
            let row = tx
                .fetch_one("SELECT current_setting('transaction_isolation') AS l", &[])
                .await
                .unwrap();
            let want = match level {
                IsolationLevel::ReadUncommitted => "read uncommitted",
                IsolationLevel::ReadCommitted => "read committed",
                IsolationLevel::RepeatableRead => "repeatable read",
                IsolationLevel::Serializable => "serializable",
            };
            assert_eq!(row.get("l").unwrap(), &Value::from(want));
        }
        tx.execute("INSERT INTO t VALUES ((SELECT count(*) FROM t) + 1)", &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(t.count("t").await, 4);
});

each_backend!(read_only_transactions_refuse_writes, |t| async move {
    table(&t).await;
    let mut tx =
        t.db.begin_with(TransactionOptions::new().read_only(true))
            .await
            .unwrap();
    assert_eq!(tx.fetch_all("SELECT n FROM t", &[]).await.unwrap().len(), 0);
    let err = tx
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    drop(tx);
    // The connection is writable again for the next user, also after a drop.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    for i in 0..12 {
        t.db.execute("INSERT INTO t VALUES ($1)", &[Value::Int4(i)])
            .await
            .unwrap();
    }
    let tx =
        t.db.begin_with(TransactionOptions::new().read_only(true))
            .await
            .unwrap();
    tx.commit().await.unwrap();
    t.db.execute("INSERT INTO t VALUES (100)", &[])
        .await
        .unwrap();
    assert_eq!(t.count("t").await, 13);
});

each_backend!(transaction_helper_commits_or_rolls_back, |t| async move {
    table(&t).await;
    let v =
        t.db.transaction(TransactionOptions::new(), |tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
                Ok(41 + 1)
            })
        })
        .await
        .unwrap();
    assert_eq!(v, 42);
    let err =
        t.db.transaction(TransactionOptions::new(), |tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO t VALUES (2)", &[]).await?;
                tx.execute("INSERT INTO t VALUES (1)", &[]).await?;
                Ok(())
            })
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UniqueViolation);
    assert_eq!(t.count("t").await, 1, "the failed body left nothing behind");
});

each_backend!(
    transaction_helper_retries_retryable_errors_only,
    |t| async move {
        table(&t).await;
        let calls = Arc::new(AtomicU32::new(0));
        let opts = TransactionOptions::new().max_retries(3);
        let c = calls.clone();
        let result: Result<(), Error> =
            t.db.transaction(opts, |tx| {
                let c = c.clone();
                Box::pin(async move {
                    let n = c.fetch_add(1, Ordering::SeqCst);
                    tx.execute("INSERT INTO t VALUES ($1)", &[Value::Int4(n as i32)])
                        .await?;
                    if n < 2 {
                        // Make the server raise a serialization failure (SQLSTATE 40001 / SQLite BUSY).
                        return Err(serialization_failure(tx).await);
                    }
                    Ok(())
                })
            })
            .await;
        result.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(
            t.count("t").await,
            1,
            "only the successful attempt committed"
        );

        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let err =
            t.db.transaction(opts, |tx| {
                let c = c.clone();
                Box::pin(async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    tx.execute("INSERT INTO t VALUES (2)", &[]).await?;
                    Ok(())
                })
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "non-retryable errors are not retried"
        );
    }
);

async fn serialization_failure(tx: &mut dbridge_engine::Transaction) -> Error {
    let sql = match tx.backend() {
        Backend::Postgres => {
            "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"
        }
        // SQLite has no way to raise BUSY on demand; a retryable kind is what matters.
        Backend::Sqlite => {
            return Error::from(dbridge_engine::DatabaseError {
                kind: ErrorKind::Busy,
                backend: Backend::Sqlite,
                code: Some("5".into()),
                message: "database is locked".into(),
                constraint: None,
                table: None,
                column: None,
                sql: None,
                position: None,
            });
        }
    };
    let err = tx.execute(sql, &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SerializationFailure);
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_serializable_transactions_conflict_and_retry_on_postgres() {
    let t = TestDb::postgres().await;
    t.db.execute(
        "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL)",
        &[],
    )
    .await
    .unwrap();
    t.db.execute("INSERT INTO acct VALUES (1, 0)", &[])
        .await
        .unwrap();
    let opts = TransactionOptions::new()
        .isolation(IsolationLevel::Serializable)
        .max_retries(50);
    let attempts = Arc::new(AtomicU32::new(0));
    // Every first attempt reads the balance before any of them writes: all
    // eight read 0, one update commits and the seven others must conflict.
    let all_read = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = t.db.clone();
        let attempts = attempts.clone();
        let all_read = all_read.clone();
        let first = Arc::new(AtomicBool::new(true));
        tasks.push(tokio::spawn(async move {
            db.transaction(opts, |tx| {
                let attempts = attempts.clone();
                let all_read = all_read.clone();
                let first = first.clone();
                Box::pin(async move {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    let row = tx
                        .fetch_one("SELECT balance FROM acct WHERE id = 1", &[])
                        .await?;
                    let b = row.get(0)?.as_i64().unwrap_or(0);
                    if first.swap(false, Ordering::SeqCst) {
                        all_read.wait().await;
                    }
                    tx.execute(
                        "UPDATE acct SET balance = $1 WHERE id = 1",
                        &[Value::Int8(b + 1)],
                    )
                    .await?;
                    Ok(())
                })
            })
            .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let row =
        t.db.fetch_one("SELECT balance FROM acct", &[])
            .await
            .unwrap();
    assert_eq!(row.get(0).unwrap(), &Value::Int4(8), "no lost update");
    assert!(
        attempts.load(Ordering::SeqCst) >= 15,
        "the seven conflicting first attempts were retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_writers_queue_instead_of_failing() {
    let t = TestDb::sqlite_file().await;
    table(&t).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin().await?;
            tx.execute("INSERT INTO t VALUES ($1)", &[Value::Int4(i)])
                .await?;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            tx.commit().await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(t.count("t").await, 8);
}
