//! Through PgBouncer in transaction pooling mode (Debian's 1.18, which keeps
//! no prepared statement across transactions), from the local cluster of
//! `scripts/cluster/up`. Each test works in tables of its own.

use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::{ConnectOptions, Database, ErrorKind, SqlType, Value};
use dbridge_testkit::cluster;
use futures_util::TryStreamExt;

fn table() -> String {
    format!("bouncer_{}", uuid::Uuid::new_v4().simple())
}

async fn through_bouncer(url: &str) -> Database {
    Database::connect_with(
        &format!("{url}?pgbouncer=true"),
        ConnectOptions::new().max_connections(4),
    )
    .await
    .expect("connect through PgBouncer")
}

/// Many tasks, each on its own pool, interleaving statements on the few
/// server connections PgBouncer shares among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_transactions_and_streams_work_through_pgbouncer() {
    let Some(c) = cluster() else { return };
    let t = table();
    let setup = through_bouncer(&c.pgbouncer).await;
    setup
        .execute(
            &format!("CREATE TABLE {t} (id serial PRIMARY KEY, n integer NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8_i64 {
        let url = c.pgbouncer.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let db = through_bouncer(&url).await;
            for i in 0..25_i64 {
                let n = w * 1000 + i;
                db.execute(
                    &format!("INSERT INTO {t} (n) VALUES ($1)"),
                    &[Value::from(n)],
                )
                .await
                .expect("insert");
                let row = db
                    .fetch_one(
                        &format!("SELECT n FROM {t} WHERE n = $1"),
                        &[Value::from(n)],
                    )
                    .await
                    .expect("select");
                assert_eq!(row.get("n").unwrap().as_i64(), Some(n));
                let mut tx = db.begin().await.expect("begin");
                tx.execute(
                    &format!("UPDATE {t} SET n = n + 1 WHERE n = $1"),
                    &[Value::from(n)],
                )
                .await
                .expect("update");
                tx.commit().await.expect("commit");
            }
            let rows: Vec<_> = db
                .fetch(
                    format!("SELECT n FROM {t} WHERE n / 1000 = $1"),
                    vec![Value::from(w)],
                )
                .try_collect()
                .await
                .expect("stream");
            assert_eq!(rows.len(), 25);
            db.close().await;
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let n = setup
        .fetch_one(&format!("SELECT count(*) AS n, sum(n) AS s FROM {t}"), &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(200));
    setup
        .execute(&format!("DROP TABLE {t}"), &[])
        .await
        .unwrap();
}

/// A client not in PgBouncer mode leaves named statements (`sqlx_s_1`...) on
/// the server connections; clients in PgBouncer mode must not trip on them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_left_by_other_clients_do_not_collide() {
    let Some(c) = cluster() else { return };
    for _ in 0..3 {
        let careless = Database::connect(&c.pgbouncer).await.expect("connect");
        for i in 0..5_i64 {
            // Some of these fail with 42P05 themselves: that is the point.
            let _ = careless
                .fetch_one("SELECT $1::int8 AS n", &[Value::from(i)])
                .await;
        }
        careless.close().await;
    }
    let db = through_bouncer(&c.pgbouncer).await;
    for i in 0..20_i64 {
        let row = db
            .fetch_one("SELECT $1::int8 + 1 AS n", &[Value::from(i)])
            .await
            .expect("a statement after careless clients");
        assert_eq!(row.get("n").unwrap().as_i64(), Some(i + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_bulk_copy_and_errors_work_through_pgbouncer() {
    let Some(c) = cluster() else { return };
    let t = table();
    let db = through_bouncer(&c.pgbouncer).await;
    let meta = Metadata::new();
    let model = meta
        .add(
            Model::builder("Item")
                .table(&t)
                .column(Column::new("id", SqlType::Int4).primary_key())
                .column(Column::new("name", SqlType::Text).not_null().unique())
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&db).await.expect("create_all");
    // Past the bulk threshold the insert takes binary COPY.
    let rows: Vec<Vec<Value>> = (0..2000)
        .map(|i| vec![Value::from(i), Value::from(format!("n{i}"))])
        .collect();
    Insert::into(&model)
        .columns(["id", "name"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .execute(&db)
        .await
        .expect("bulk insert");
    let n = db
        .fetch_one(&format!("SELECT count(*) AS n FROM {t}"), &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(2000));
    // A failed statement leaves nothing behind for the next client.
    let err = db
        .execute(
            &format!("INSERT INTO {t} (id, name) VALUES ($1, $2)"),
            &[Value::from(1), Value::from("n1")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UniqueViolation, "{err}");
    for _ in 0..5 {
        db.fetch_one(
            &format!("SELECT count(*) AS n FROM {t} WHERE id > $1"),
            &[Value::from(10)],
        )
        .await
        .expect("after an error");
    }
    meta.drop_all(&db).await.expect("drop_all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_needs_a_session_is_a_clear_error_through_pgbouncer() {
    let Some(c) = cluster() else { return };
    let db = through_bouncer(&c.pgbouncer).await;
    for sql in [
        "LISTEN jobs",
        "SET search_path TO elsewhere",
        "SELECT pg_advisory_lock(42)",
        "SELECT pg_try_advisory_lock(1, 2) AS ok",
        "CREATE TEMP TABLE scratch (n int)",
        "PREPARE p AS SELECT 1",
    ] {
        let err = db.execute(sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{sql}: {err}");
        assert!(err.to_string().contains("PgBouncer"), "{sql}: {err}");
    }
    // What lives in the transaction is fine.
    let mut tx = db.begin().await.unwrap();
    tx.execute("SET LOCAL statement_timeout = '5s'", &[])
        .await
        .unwrap();
    tx.fetch_one("SELECT pg_advisory_xact_lock(42)::text AS ok", &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A result's header without running it, through PgBouncer's transaction
/// pooling: prepared inside a transaction, so no other client meets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_columns_works_through_pgbouncer() {
    let Some(c) = cluster() else { return };
    let db = through_bouncer(&c.pgbouncer).await;
    for _ in 0..3 {
        let names = db
            .describe_columns("SELECT 1 AS one, 'x' AS two")
            .await
            .expect("describe");
        assert_eq!(names, ["one", "two"]);
        let row = db.fetch_one("SELECT 2 AS n", &[]).await.expect("select");
        assert_eq!(row.get("n").unwrap().as_i64(), Some(2));
    }
}
