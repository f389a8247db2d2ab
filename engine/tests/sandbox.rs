//! Sandboxes: everything runs in one transaction that is rolled back at the end;
//! transactions inside become savepoints.

use std::time::Duration;

use dbridge_engine::{ConnectOptions, Database, ErrorKind, TransactionOptions};
use dbridge_testkit::{count_rows, each_backend};

each_backend!(sandbox_changes_vanish_at_rollback, |t| async move {
    t.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    t.db.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let sb = t.db.sandbox().await.unwrap();
    assert!(sb.is_sandbox());
    sb.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    sb.execute("DELETE FROM t WHERE n = 1", &[]).await.unwrap();
    assert_eq!(count_rows(&sb, "t").await, 1);

    // Transactions inside the sandbox are savepoints.
    let mut tx = sb.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = sb.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (4)", &[]).await.unwrap();
    tx.commit().await.unwrap();
    {
        let mut tx = sb.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (5)", &[]).await.unwrap();
    } // dropped: undone
    let v = sb
        .transaction(TransactionOptions::new(), |tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO t VALUES (6)", &[]).await?;
                Ok(7)
            })
        })
        .await
        .unwrap();
    assert_eq!(v, 7);
    let rows = sb
        .fetch_all("SELECT n FROM t ORDER BY n", &[])
        .await
        .unwrap();
    let ns: Vec<i64> = rows
        .iter()
        .map(|r| r.get(0).unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(ns, [2, 4, 6]);

    sb.rollback_sandbox().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT n FROM t ORDER BY n", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get(0).unwrap().as_i64(), Some(1));
    let err = sb.execute("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
});

each_backend!(
    a_statement_beside_an_open_sandbox_transaction_times_out,
    |t| async move {
        let db = Database::connect_with(
            &t.url,
            ConnectOptions::new().acquire_timeout(Duration::from_millis(300)),
        )
        .await
        .unwrap();
        db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
            .await
            .unwrap();
        let sb = db.sandbox().await.unwrap();
        let tx = sb.begin().await.unwrap();
        let err = tokio::time::timeout(
            Duration::from_secs(15),
            sb.execute("INSERT INTO t VALUES (1)", &[]),
        )
        .await
        .expect("must not hang")
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        tx.commit().await.unwrap();
        sb.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        sb.rollback_sandbox().await.unwrap();
        assert_eq!(count_rows(&db, "t").await, 0);
    }
);

each_backend!(dropping_a_sandbox_discards_it, |t| async move {
    t.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    {
        let sb = t.db.sandbox().await.unwrap();
        sb.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count_rows(&t.db, "t").await, 0);
    let err = t.db.sandbox().await.unwrap().sandbox().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
});

each_backend!(
    sandbox_steps_undo_a_failed_command_and_go_on,
    |t| async move {
        t.db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
            .await
            .unwrap();
        let sb = t.db.sandbox().await.unwrap();
        // A command that fails half-way: its first insert is undone with it,
        // and the sandbox goes on (on PostgreSQL the failure aborted the
        // transaction; rolling back to the step repairs it).
        assert!(sb.begin_sandbox_step().await.unwrap());
        sb.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        let e = sb
            .execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation);
        assert!(sb.end_sandbox_step(false).await.unwrap());
        assert_eq!(count_rows(&sb, "t").await, 0);
        // A command that succeeds keeps what it did.
        assert!(sb.begin_sandbox_step().await.unwrap());
        sb.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
        assert!(sb.end_sandbox_step(true).await.unwrap());
        assert_eq!(count_rows(&sb, "t").await, 1);
        // A command that leaves a transaction open: the step stays open around
        // it (false), and no step begins while that transaction holds on.
        assert!(sb.begin_sandbox_step().await.unwrap());
        let mut tx = sb.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
        assert!(!sb.end_sandbox_step(true).await.unwrap());
        assert!(!sb.begin_sandbox_step().await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(count_rows(&sb, "t").await, 2);
        // Steps after it work, and the sandbox still rolls back whole.
        assert!(sb.begin_sandbox_step().await.unwrap());
        let e = sb.execute("SELECT nope FROM t", &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UndefinedColumn);
        assert!(sb.end_sandbox_step(false).await.unwrap());
        assert_eq!(count_rows(&sb, "t").await, 2);
        sb.rollback_sandbox().await.unwrap();
        assert_eq!(count_rows(&t.db, "t").await, 0);
        // Only a sandbox has steps.
        let e = t.db.begin_sandbox_step().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidState);
    }
);
