//! Raw SQL: execute, fetch all / one / optional, row streams, values by name and
//! position, one placeholder style on both backends.

use dbridge_engine::{ErrorKind, Value};
use dbridge_testkit::{TestDb, each_backend};
use futures_util::{StreamExt, TryStreamExt};

async fn seed(t: &TestDb, n: i64) {
    t.db.execute(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)",
        &[],
    )
    .await
    .unwrap();
    let mut tx = t.db.begin().await.unwrap();
    for i in 1..=n {
        tx.execute(
            "INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)",
            &[
                Value::Int8(i),
                Value::Text(format!("item {i}")),
                if i % 3 == 0 {
                    Value::Null
                } else {
                    Value::Int4(i as i32)
                },
            ],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

each_backend!(execute_returns_affected_rows, |t| async move {
    seed(&t, 10).await;
    let n =
        t.db.execute(
            "UPDATE items SET qty = $1 WHERE id <= $2",
            &[Value::Int4(0), Value::Int8(4)],
        )
        .await
        .unwrap();
    assert_eq!(n, 4);
    let n =
        t.db.execute("DELETE FROM items WHERE id > $1", &[Value::Int8(8)])
            .await
            .unwrap();
    assert_eq!(n, 2);
});

each_backend!(rows_by_name_and_position, |t| async move {
    seed(&t, 3).await;
    let rows =
        t.db.fetch_all("SELECT id, name, qty FROM items ORDER BY id", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 3);
    let names: Vec<&str> = rows[0].columns().names().iter().map(|n| &**n).collect();
    assert_eq!(names, ["id", "name", "qty"]);
    assert_eq!(rows[1].get("name").unwrap(), &Value::from("item 2"));
    assert_eq!(rows[1].get(1).unwrap(), &Value::from("item 2"));
    assert_eq!(rows[2].get("qty").unwrap(), &Value::Null);
    assert_eq!(rows[0].get("id").unwrap().as_i64(), Some(1));
    let err = rows[0].get("nope").unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(rows[0].get(7).is_err());
});

each_backend!(
    placeholders_may_repeat_and_come_out_of_order,
    |t| async move {
        let row =
            t.db.fetch_one(
                "SELECT $2 AS b, $1 AS a, $2 AS b2",
                &[Value::from("first"), Value::from("second")],
            )
            .await
            .unwrap();
        assert_eq!(row.get("a").unwrap(), &Value::from("first"));
        assert_eq!(row.get("b").unwrap(), &Value::from("second"));
        assert_eq!(row.get("b2").unwrap(), &Value::from("second"));
    }
);

each_backend!(fetch_one_and_optional, |t| async move {
    seed(&t, 2).await;
    let one =
        t.db.fetch_one("SELECT name FROM items WHERE id = $1", &[Value::Int8(2)])
            .await
            .unwrap();
    assert_eq!(one.get(0).unwrap(), &Value::from("item 2"));
    let none =
        t.db.fetch_optional("SELECT name FROM items WHERE id = $1", &[Value::Int8(99)])
            .await
            .unwrap();
    assert!(none.is_none());
    let err =
        t.db.fetch_one("SELECT name FROM items WHERE id = $1", &[Value::Int8(99)])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
});

each_backend!(stream_yields_rows_as_read, |t| async move {
    seed(&t, 500).await;
    let mut rows = t.db.fetch("SELECT id FROM items ORDER BY id", vec![]);
    // The first row is available before the rest are read.
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.get(0).unwrap().as_i64(), Some(1));
    let rest: Vec<_> = rows.try_collect().await.unwrap();
    assert_eq!(rest.len(), 499);
    assert_eq!(rest.last().unwrap().get(0).unwrap().as_i64(), Some(500));
});

each_backend!(
    dropping_a_stream_early_frees_its_connection,
    |t| async move {
        seed(&t, 100).await;
        for _ in 0..30 {
            let mut rows = t.db.fetch("SELECT id FROM items", vec![]);
            rows.next().await.unwrap().unwrap();
        }
        // With 10 connections at most, leaked connections would time this out.
        assert_eq!(
            t.db.fetch_all("SELECT id FROM items", &[])
                .await
                .unwrap()
                .len(),
            100
        );
    }
);

each_backend!(text_parameters_are_never_sql, |t| async move {
    seed(&t, 1).await;
    let evil = "x'); DROP TABLE items; --";
    t.db.execute(
        "INSERT INTO items (id, name) VALUES ($1, $2)",
        &[Value::Int8(2), Value::from(evil)],
    )
    .await
    .unwrap();
    let row =
        t.db.fetch_one(
            "SELECT name FROM items WHERE name = $1",
            &[Value::from(evil)],
        )
        .await
        .unwrap();
    assert_eq!(row.get(0).unwrap(), &Value::from(evil));
    assert_eq!(
        t.db.fetch_all("SELECT id FROM items", &[])
            .await
            .unwrap()
            .len(),
        2
    );
});

#[tokio::test]
async fn postgres_coerces_parameters_to_the_server_type() {
    let t = TestDb::postgres().await;
    t.db.execute(
        "CREATE TABLE c (small SMALLINT, n NUMERIC, d DATE, u UUID)",
        &[],
    )
    .await
    .unwrap();
    // An int8 into smallint, a float into numeric, text into date and uuid.
    t.db.execute(
        "INSERT INTO c VALUES ($1, $2, $3, $4)",
        &[
            Value::Int8(7),
            Value::Float8(2.5),
            Value::from("2024-02-29"),
            Value::from("6f1c1a52-07a8-4a2c-8a8e-2f1e2b0b7b41"),
        ],
    )
    .await
    .unwrap();
    let row =
        t.db.fetch_one(
            "SELECT small, n::text AS n, d::text AS d, u::text AS u FROM c",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get("small").unwrap(), &Value::Int2(7));
    assert_eq!(row.get("n").unwrap(), &Value::from("2.5"));
    assert_eq!(row.get("d").unwrap(), &Value::from("2024-02-29"));
    // An int8 that does not fit smallint is refused before it is sent.
    let err =
        t.db.execute("INSERT INTO c (small) VALUES ($1)", &[Value::Int8(1 << 20)])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert!(err.to_string().contains("parameter $1"), "{err}");
    assert!(!err.to_string().contains("1048576"), "{err}");
}

#[tokio::test]
async fn postgres_same_sql_with_different_value_types() {
    // The prepared statement's parameter types win: both values are coerced to them.
    let t = TestDb::postgres().await;
    let sql = "SELECT $1::int8 + 1 AS n";
    let a = t.db.fetch_one(sql, &[Value::Int2(1)]).await.unwrap();
    let b = t.db.fetch_one(sql, &[Value::from("41")]).await.unwrap();
    assert_eq!(a.get("n").unwrap(), &Value::Int8(2));
    assert_eq!(b.get("n").unwrap(), &Value::Int8(42));
}

each_backend!(wrong_parameter_count_is_a_clear_error, |t| async move {
    let err =
        t.db.fetch_one(
            "SELECT $1::text AS a, $2::text AS b",
            &[Value::from("only one")],
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("only one"), "{msg}");
    assert!(
        matches!(err.kind(), ErrorKind::InvalidValue | ErrorKind::Database),
        "{msg}"
    );
});

#[tokio::test]
async fn postgres_void_results_are_null() {
    let t = TestDb::postgres().await;
    let row =
        t.db.fetch_one(
            "SELECT pg_notify('dbridge_void', 'x') AS n, pg_sleep(0) AS s, 1 AS one",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get("n").unwrap(), &Value::Null);
    assert_eq!(row.get("s").unwrap(), &Value::Null);
    assert_eq!(row.get("one").unwrap().as_i64(), Some(1));
    assert_eq!(
        t.db.execute("SELECT pg_notify($1, 'x')", &[Value::from("dbridge_void")])
            .await
            .unwrap(),
        1
    );
}

each_backend!(
    describe_columns_names_a_result_without_running_it,
    |t| async move {
        seed(&t, 3).await;
        // The header of an empty result, in the statement's order.
        let names =
            t.db.describe_columns("SELECT qty, name AS label, id FROM items WHERE id < 0")
                .await
                .unwrap();
        assert_eq!(names, ["qty", "label", "id"]);
        // Nothing ran: a describe of a DELETE deletes nothing, and has no columns.
        let none = t.db.describe_columns("DELETE FROM items").await.unwrap();
        assert!(none.is_empty(), "{none:?}");
        let left =
            t.db.fetch_one("SELECT count(*) AS n FROM items", &[])
                .await
                .unwrap();
        assert_eq!(left.get("n").unwrap().as_i64(), Some(3));
        // In a transaction too, and errors are the ones running it would give.
        let mut tx = t.db.begin().await.unwrap();
        assert_eq!(
            tx.describe_columns("SELECT id FROM items").await.unwrap(),
            ["id"]
        );
        tx.rollback().await.unwrap();
        let e =
            t.db.describe_columns("SELECT nope FROM items")
                .await
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UndefinedColumn, "{e}");
        let e =
            t.db.describe_columns("SELECT 1; SELECT 2")
                .await
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
    }
);
