//! More statements run on both backends: subqueries in DML, typed values,
//! identities, CTEs feeding writes, streaming a compiled statement.

mod common;

use common::*;
use dbridge_engine::query::{Cte, Delete, Expr, Insert, OnConflict, Run, Select, Update, func};
use dbridge_engine::schema::{Column, Identity, Metadata, Model};
use dbridge_engine::{Backend, ErrorKind, SqlType, Value};
use dbridge_testkit::each_backend;
use futures_util::TryStreamExt;

each_backend!(update_and_delete_with_subqueries, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    // Give each author karma = number of posts.
    let n_posts = Select::from(p)
        .column(func::count_star())
        .filter(p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    Update::table(u)
        .set("karma", Expr::subquery(n_posts))
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    let r = Select::from(u)
        .column(u.col("karma").unwrap())
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&r, "karma"), [3, 2, 1, 0]);
    // Delete users without posts.
    let has_posts = Select::from(p)
        .column(Expr::val(1))
        .filter(p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    let gone = Delete::from(u)
        .filter(Expr::not_exists(has_posts))
        .returning([u.col("name").unwrap()])
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&gone, "name"), ["Barbara"]);
});

each_backend!(typed_values_round_trip_on_both_backends, |t| async move {
    let meta = Metadata::new();
    let ev = meta
        .add(
            Model::builder("Event")
                .table("events")
                .column(Column::new("id", SqlType::Uuid).primary_key())
                .column(Column::new("day", "date"))
                .column(Column::new("at", "timestamp"))
                .column(Column::new("took", "interval"))
                .column(Column::new("amount", "numeric(12,3)"))
                .column(Column::new("tags", "text[]"))
                .column(Column::new("raw", "bytea"))
                .column(Column::new("meta", "json"))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let id = uuid::Uuid::new_v4();
    let day = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let at = day.and_hms_micro_opt(13, 14, 15, 123_456).unwrap();
    let row = vec![
        Value::Uuid(id),
        Value::from(day),
        Value::from(at),
        Value::Text("P1DT2H".into()),
        Value::Numeric("1234.567".parse().unwrap()),
        Value::array(SqlType::Text, vec!["a".into(), Value::Null, "c'd".into()]),
        Value::Bytes(vec![0, 1, 2, 255]),
        Value::Json(serde_json::json!({"k": [1, 2]})),
    ];
    Insert::into(&ev)
        .columns(["id", "day", "at", "took", "amount", "tags", "raw", "meta"])
        .unwrap()
        .values(row.clone())
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    let got = Select::from(&ev)
        .filter(ev.col("id").unwrap().eq(id))
        .filter(ev.col("day").unwrap().eq(day))
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(got.get("id").unwrap(), &Value::Uuid(id));
    assert_eq!(got.get("day").unwrap(), &Value::from(day));
    assert_eq!(got.get("at").unwrap(), &Value::from(at));
    assert!(matches!(got.get("took").unwrap(), Value::Interval(_)));
    assert_eq!(got.get("amount").unwrap().to_string(), "1234.567");
    assert_eq!(got.get("tags").unwrap(), &row[5]);
    assert_eq!(got.get("raw").unwrap(), &row[6]);
    assert_eq!(got.get("meta").unwrap(), &row[7]);
});

each_backend!(identity_always_and_by_default, |t| async move {
    let meta = Metadata::new();
    let a = meta
        .add(
            Model::builder("A")
                .table("always_ids")
                .column(
                    Column::new("id", SqlType::Int8)
                        .primary_key()
                        .identity(Some(Identity::Always)),
                )
                .column(Column::new("v", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let plain = meta
        .add(
            Model::builder("P")
                .table("plain_ids")
                .column(
                    Column::new("id", SqlType::Int8)
                        .primary_key()
                        .identity(None),
                )
                .column(Column::new("v", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let r = Insert::into(&a)
        .columns(["v"])
        .unwrap()
        .values(vec!["x".into()])
        .unwrap()
        .returning([a.col("id").unwrap()])
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(r.get("id").unwrap().as_i64(), Some(1));
    let explicit = Insert::into(&a)
        .columns(["id", "v"])
        .unwrap()
        .values(vec![10.into(), "y".into()])
        .unwrap();
    match t.backend() {
        // ALWAYS refuses explicit values on PostgreSQL...
        Backend::Postgres => assert!(explicit.execute(&t.db).await.is_err()),
        // ...while SQLite's rowid takes them (documented).
        Backend::Sqlite => assert_eq!(explicit.execute(&t.db).await.unwrap(), 1),
    }
    // Without identity, the key must be given.
    let err = Insert::into(&plain)
        .columns(["v"])
        .unwrap()
        .values(vec!["x".into()])
        .unwrap()
        .execute(&t.db)
        .await;
    match t.backend() {
        Backend::Postgres => assert_eq!(err.unwrap_err().kind(), ErrorKind::NotNullViolation),
        // On SQLite a BIGINT primary key that is not the rowid also rejects NULL.
        Backend::Sqlite => assert!(err.is_err()),
    }
});

each_backend!(cte_feeding_an_insert, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, e) = (&m.user, &m.emp);
    let eng = Cte::new(
        "eng",
        Select::from(e)
            .column(e.col("id").unwrap())
            .column(e.col("name").unwrap())
            .filter(e.col("dept").unwrap().eq("eng")),
    )
    .unwrap();
    let et = eng.table();
    let n = Insert::into(u)
        .columns(["id", "name"])
        .unwrap()
        .from_query(
            Select::from(et.clone())
                .column(et.col("id").unwrap() + 1000)
                .column(et.col("name").unwrap())
                .with(eng),
        )
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(u.col("id").unwrap().gt(1000))
        .order_by(u.col("name").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Bob", "Carol"]);
});

each_backend!(bulk_upsert_do_update_on_both_paths, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    // 600 rows: the UNNEST path on PostgreSQL, VALUES on SQLite; ids 1..=4 exist.
    let rows =
        (1..=600_i64).map(|i| vec![Value::from(i), Value::from(format!("u{i}")), Value::from(1)]);
    let n = Insert::into(u)
        .columns(["id", "name", "karma"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .on_conflict(OnConflict::columns(["id"]).do_update(["name"]).set(
            "karma",
            u.col("karma").unwrap() + Expr::excluded("karma").unwrap(),
        ))
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 600);
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .column(u.col("karma").unwrap())
        .filter(u.col("id").unwrap().le(2))
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["u1", "u2"]);
    assert_eq!(ints(&r, "karma"), [51, 31]);
});

each_backend!(compiled_statement_streams_typed_rows, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let q = Select::from(&m.user).order_by(m.user.col("id").unwrap());
    let stmt = dbridge_engine::dialect::compile(&q, t.backend()).unwrap();
    let rows: Vec<_> = t.db.fetch_statement(stmt).try_collect().await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].get("active").unwrap(), &Value::Bool(true));
    assert!(matches!(
        rows[0].get("created_at").unwrap(),
        Value::Timestamptz(_)
    ));
});

each_backend!(fetch_one_and_optional_semantics, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let none = Select::from(u).filter_by("id", 99).unwrap();
    assert_eq!(
        none.fetch_one(&t.db).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(none.fetch_optional(&t.db).await.unwrap().is_none());
    let many = Select::from(u);
    assert_eq!(
        many.fetch_one(&t.db).await.unwrap_err().kind(),
        ErrorKind::MultipleRows
    );
    assert!(many.fetch_optional(&t.db).await.unwrap().is_some());
});

each_backend!(having_with_filter_and_case_in_group, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let e = &m.emp;
    let tier = || Expr::case_when(e.col("dept").unwrap().eq("board"), "top").otherwise("staff");
    let r = Select::from(e)
        .column(tier().label("tier").unwrap())
        .column(func::count_star().label("n").unwrap())
        .column(
            func::count_star()
                .filter(e.col("manager_id").unwrap().eq(1))
                .unwrap()
                .label("direct")
                .unwrap(),
        )
        // An expression with parameters repeated in GROUP BY and ORDER BY is
        // written there as its position: PostgreSQL does not see `$1` and `$5`
        // as the same expression.
        .group_by([tier()])
        .having(func::count_star().ge(1))
        .order_by(tier())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "tier"), ["staff", "top"]);
    assert_eq!(ints(&r, "n"), [4, 1]);
    assert_eq!(ints(&r, "direct"), [2, 0]);
});
