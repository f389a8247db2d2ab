//! One statement per call, `execute_script` for several, and transaction
//! control refused inside sandboxes, transactions and migrations, with the
//! owners' end checks, on both backends.

use std::path::PathBuf;

use dbridge_engine::migrate::Migrator;
use dbridge_engine::{Database, Error, ErrorKind};
use dbridge_testkit::{count_rows, create_victims, each_backend, table_exists};
use futures_util::StreamExt;

/// Transaction control an owner must refuse, on `db`'s backend.
fn escapes(db: &Database) -> Vec<&'static str> {
    let mut v = vec![
        "COMMIT",
        "commit;",
        "ROLLBACK",
        "END",
        "BEGIN",
        "START TRANSACTION",
        "ABORT",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "  -- hidden\n/* really */ CoMmIt",
    ];
    match db.backend() {
        dbridge_engine::Backend::Sqlite => v.extend([
            "VACUUM",
            "ATTACH DATABASE ':memory:' AS other",
            "DETACH other",
            "PRAGMA journal_mode = MEMORY",
            "PRAGMA query_only = ON",
        ]),
        dbridge_engine::Backend::Postgres => {
            v.extend(["PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'"])
        }
    }
    v
}

fn assert_kind<T: std::fmt::Debug>(r: Result<T, Error>, kind: ErrorKind, what: &str) {
    match r {
        Err(e) => assert_eq!(e.kind(), kind, "{what}: {e}"),
        Ok(v) => panic!("{what}: expected {kind}, got {v:?}"),
    }
}

each_backend!(one_statement_per_call, |t| async move {
    create_victims(&t.db).await;
    let two = "SELECT 1; DELETE FROM victims";
    assert_kind(
        t.db.execute(two, &[]).await,
        ErrorKind::InvalidValue,
        "execute",
    );
    assert_kind(
        t.db.fetch_all(two, &[]).await,
        ErrorKind::InvalidValue,
        "fetch_all",
    );
    assert_kind(
        t.db.fetch_optional(two, &[]).await,
        ErrorKind::InvalidValue,
        "fetch_optional",
    );
    let first = t.db.fetch(two, vec![]).next().await.unwrap();
    assert_kind(first, ErrorKind::InvalidValue, "fetch");
    let mut tx = t.db.begin().await.unwrap();
    assert_kind(
        tx.execute(two, &[]).await,
        ErrorKind::InvalidValue,
        "tx.execute",
    );
    assert_kind(
        tx.fetch_all(two, &[]).await,
        ErrorKind::InvalidValue,
        "tx.fetch_all",
    );
    tx.rollback().await.unwrap();
    assert_eq!(count_rows(&t.db, "victims").await, 1);
    // A trailing semicolon and comments are one statement.
    t.db.execute("UPDATE victims SET n = 2; -- done\n", &[])
        .await
        .unwrap();
    assert_eq!(
        t.db.fetch_all("SELECT n FROM victims; /* x */", &[])
            .await
            .unwrap()
            .len(),
        1
    );
});

each_backend!(execute_script_runs_several, |t| async move {
    create_victims(&t.db).await;
    let n =
        t.db.execute_script(
            "INSERT INTO victims VALUES (2); -- a; comment\n\
             INSERT INTO victims VALUES (3);\n\
             UPDATE victims SET n = n WHERE CAST(n AS TEXT) = ';';",
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count_rows(&t.db, "victims").await, 3);
});

each_backend!(sandbox_refuses_transaction_control, |t| async move {
    create_victims(&t.db).await;
    let sb = t.db.sandbox().await.unwrap();
    sb.execute("INSERT INTO victims VALUES (2)", &[])
        .await
        .unwrap();
    for sql in escapes(&t.db) {
        assert_kind(sb.execute(sql, &[]).await, ErrorKind::InvalidState, sql);
        assert_kind(sb.fetch_all(sql, &[]).await, ErrorKind::InvalidState, sql);
    }
    let script = "INSERT INTO victims VALUES (3); COMMIT; INSERT INTO victims VALUES (4)";
    assert_kind(
        sb.execute_script(script).await,
        ErrorKind::InvalidState,
        "script",
    );
    assert_eq!(count_rows(&sb, "victims").await, 2);
    sb.rollback_sandbox().await.unwrap();
    assert_eq!(count_rows(&t.db, "victims").await, 1);
});

each_backend!(transaction_refuses_transaction_control, |t| async move {
    create_victims(&t.db).await;
    let mut tx = t.db.begin().await.unwrap();
    tx.execute("INSERT INTO victims VALUES (2)", &[])
        .await
        .unwrap();
    for sql in escapes(&t.db) {
        assert_kind(tx.execute(sql, &[]).await, ErrorKind::InvalidState, sql);
        assert_kind(tx.fetch_all(sql, &[]).await, ErrorKind::InvalidState, sql);
    }
    assert_kind(
        tx.execute_script("DELETE FROM victims; COMMIT").await,
        ErrorKind::InvalidState,
        "script",
    );
    tx.rollback().await.unwrap();
    assert_eq!(count_rows(&t.db, "victims").await, 1);
});

each_backend!(sandbox_reports_a_transaction_sqlite_ended, |t| async move {
    if t.db.backend() != dbridge_engine::Backend::Sqlite {
        return;
    }
    // SQLite's `ON CONFLICT ROLLBACK` ends the transaction on a conflict.
    t.db.execute(
        "CREATE TABLE u (n INTEGER UNIQUE ON CONFLICT ROLLBACK)",
        &[],
    )
    .await
    .unwrap();
    t.db.execute("INSERT INTO u VALUES (1)", &[]).await.unwrap();
    let sb = t.db.sandbox().await.unwrap();
    sb.execute("INSERT INTO u VALUES (2)", &[]).await.unwrap();
    assert_kind(
        sb.execute("UPDATE OR ROLLBACK u SET n = 1", &[]).await,
        ErrorKind::InvalidState,
        "OR ROLLBACK",
    );
    assert!(
        sb.execute("UPDATE u SET n = 1 WHERE n = 2", &[])
            .await
            .is_err()
    );
    assert_kind(
        sb.execute("INSERT INTO u VALUES (3)", &[]).await,
        ErrorKind::InvalidState,
        "after the escape",
    );
    assert_kind(
        sb.rollback_sandbox().await,
        ErrorKind::InvalidState,
        "end check",
    );
    assert_eq!(count_rows(&t.db, "u").await, 1);
});

each_backend!(
    transaction_commit_reports_a_transaction_sqlite_ended,
    |t| async move {
        if t.db.backend() != dbridge_engine::Backend::Sqlite {
            return;
        }
        t.db.execute(
            "CREATE TABLE u (n INTEGER UNIQUE ON CONFLICT ROLLBACK)",
            &[],
        )
        .await
        .unwrap();
        t.db.execute("INSERT INTO u VALUES (1)", &[]).await.unwrap();
        let mut tx = t.db.begin().await.unwrap();
        tx.execute("INSERT INTO u VALUES (2)", &[]).await.unwrap();
        assert!(tx.execute("INSERT INTO u VALUES (1)", &[]).await.is_err());
        assert_kind(
            tx.execute("INSERT INTO u VALUES (3)", &[]).await,
            ErrorKind::InvalidState,
            "after the escape",
        );
        assert_kind(tx.commit().await, ErrorKind::InvalidState, "commit");
        assert_eq!(count_rows(&t.db, "u").await, 1);
    }
);

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("dbridge-esc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

each_backend!(sql_migration_cannot_commit_early, |t| async move {
    let dir = Dir::new();
    std::fs::write(
        dir.0.join("0001_escape.sql"),
        "-- up\nCREATE TABLE c1 (n INTEGER);\nCOMMIT;\nCREATE TABLE c2 (n INTEGER);\n\
         SELECT * FROM does_not_exist;\n-- down\nDROP TABLE c1;\n",
    )
    .unwrap();
    let m = Migrator::new(t.db.clone(), &dir.0);
    let e = m.up(None).await.unwrap_err();
    let Error::Migration {
        source: Some(s), ..
    } = &e
    else {
        panic!("not a migration failure: {e}");
    };
    assert_eq!(s.kind(), ErrorKind::InvalidState, "{e}");
    assert!(e.to_string().contains("statement 2"), "{e}");
    assert!(!table_exists(&t.db, "c1").await);
    assert!(!table_exists(&t.db, "c2").await);
    assert_eq!(count_rows(&t.db, "dbridge_migrations").await, 0);
});

each_backend!(
    sql_migration_splits_by_backend_and_keeps_triggers_whole,
    |t| async move {
        if t.db.backend() != dbridge_engine::Backend::Sqlite {
            return;
        }
        let dir = Dir::new();
        std::fs::write(
            dir.0.join("0001_trigger.sql"),
            "-- up\nCREATE TABLE a (n INTEGER);\nCREATE TABLE log (n INTEGER);\n\
         CREATE TRIGGER a_log AFTER INSERT ON a BEGIN\n  INSERT INTO log VALUES (new.n);\n  \
         INSERT INTO log VALUES (new.n + 1);\nEND;\n-- down\nDROP TABLE a;\nDROP TABLE log;\n",
        )
        .unwrap();
        Migrator::new(t.db.clone(), &dir.0).up(None).await.unwrap();
        t.db.execute("INSERT INTO a VALUES (1)", &[]).await.unwrap();
        assert_eq!(count_rows(&t.db, "log").await, 2);
    }
);
