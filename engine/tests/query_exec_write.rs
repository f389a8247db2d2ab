//! Inserts (one, many, batched, bulk, INSERT ... SELECT), upserts, updates and
//! deletes with RETURNING, defaults and constraints, on both backends.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use dbridge_engine::query::{Delete, Expr, Insert, OnConflict, Run, Select, Update, func};
use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::{Backend, ErrorKind, SqlType, Value};
use dbridge_testkit::each_backend;

each_backend!(
    insert_returning_generated_keys_and_server_defaults,
    |t| async move {
        let m = models();
        m.meta.create_all(&t.db).await.unwrap();
        let rows = Insert::into(&m.user)
            .columns(["name", "email"])
            .unwrap()
            .values(vec!["Ada".into(), "ada@example.com".into()])
            .unwrap()
            .values(vec!["Grace".into(), Value::Null])
            .unwrap()
            .returning_all()
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(ints(&rows, "id"), [1, 2]);
        assert_eq!(ints(&rows, "karma"), [0, 0]);
        assert_eq!(rows[0].get("active").unwrap(), &Value::Bool(true));
        let Value::Timestamptz(ts) = rows[0].get("created_at").unwrap() else {
            panic!("created_at is {:?}", rows[0].get("created_at"));
        };
        let age = chrono::Utc::now() - ts.finite().unwrap();
        assert!(age.num_seconds().abs() < 60, "{age}");
    }
);

each_backend!(insert_default_values_and_row_maps, |t| async move {
    let meta = Metadata::new();
    let counter = meta
        .add(
            Model::builder("Counter")
                .table("counters")
                .column(Column::new("id", SqlType::Int4).primary_key())
                .column(Column::new("n", "integer").default(7))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let row = Insert::into(&counter)
        .returning_all()
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(row.get("id").unwrap().as_i64(), Some(1));
    assert_eq!(row.get("n").unwrap().as_i64(), Some(7));
    let n = Insert::into(&counter)
        .row_map([("n", Value::from(1))])
        .unwrap()
        .row_map([("n", Value::from("2"))]) // text coerced to the column type
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let err = Insert::into(&counter)
        .row_map([("n", Value::from(1))])
        .unwrap()
        .row_map([("id", Value::from(1))])
        .unwrap_err();
    assert!(
        err.to_string().contains("must have the same columns"),
        "{err}"
    );
});

each_backend!(client_default_factory_runs_per_row, |t| async move {
    let meta = Metadata::new();
    let next = Arc::new(AtomicI64::new(100));
    let n2 = next.clone();
    let token = meta
        .add(
            dbridge_testkit::keyed("Token", "tokens")
                .column(Column::new("label", "text"))
                .column(
                    Column::new("serial", "bigint")
                        .not_null()
                        .default_factory(move || Value::Int8(n2.fetch_add(1, Ordering::SeqCst))),
                )
                .column(
                    Column::new("uid", "uuid")
                        .default_factory(|| Value::Uuid(uuid::Uuid::new_v4())),
                )
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let rows = Insert::into(&token)
        .columns(["label"])
        .unwrap()
        .rows([vec!["a".into()], vec!["b".into()], vec!["c".into()]])
        .unwrap()
        .returning([token.col("serial").unwrap(), token.col("uid").unwrap()])
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(ints(&rows, "serial"), [100, 101, 102]);
    assert!(matches!(rows[0].get("uid").unwrap(), Value::Uuid(_)));
    assert_ne!(rows[0].get("uid").unwrap(), rows[1].get("uid").unwrap());
    assert_eq!(next.load(Ordering::SeqCst), 103);
});

each_backend!(insert_many_rows_split_into_batches, |t| async move {
    let m = models();
    m.meta.create_all(&t.db).await.unwrap();
    // 7 columns x 5000 rows = 35,000 parameters: over SQLite's limit (32,766).
    let rows: Vec<Vec<Value>> = (0..5000)
        .map(|i| {
            vec![
                Value::from(format!("user{i}")),
                Value::from(format!("u{i}@example.com")),
                Value::from(i % 100),
                Value::from(i % 2 == 0),
                Value::Jsonb(serde_json::json!({"i": i})),
                Value::Null,
                Value::from(i64::from(i) + 1),
            ]
        })
        .collect();
    let ins = Insert::into(&m.user)
        .columns([
            "name",
            "email",
            "karma",
            "active",
            "profile",
            "created_at",
            "id",
        ])
        .unwrap()
        .rows(rows)
        .unwrap()
        .bulk_threshold(usize::MAX);
    let batches = ins.compile_batches(t.backend()).unwrap();
    match t.backend() {
        Backend::Sqlite => assert_eq!(batches.len(), 2),
        Backend::Postgres => assert_eq!(batches.len(), 1),
    }
    assert!(
        batches.iter().all(
            |b| b.statement.params().len() <= dbridge_engine::dialect::param_limit(t.backend())
        )
    );
    assert_eq!(ins.execute(&t.db).await.unwrap(), 5000);
    let row = Select::from(&m.user)
        .column(func::count_star().label("n").unwrap())
        .column(
            func::sum(m.user.col("karma").unwrap())
                .cast(SqlType::Int8)
                .label("k")
                .unwrap(),
        )
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(row.get("n").unwrap(), &Value::Int8(5000));
    assert_eq!(row.get("k").unwrap(), &Value::Int8(50 * 99 * 50));
});

each_backend!(bulk_insert_path_past_threshold, |t| async move {
    let m = models();
    m.meta.create_all(&t.db).await.unwrap();
    let rows: Vec<Vec<Value>> = (1..=2000)
        .map(|i: i64| {
            vec![
                Value::from(i),
                Value::from(format!("n{i}")),
                Value::from(i % 10),
                Value::Jsonb(serde_json::json!([i])),
            ]
        })
        .collect();
    let ins = Insert::into(&m.user)
        .columns(["id", "name", "karma", "profile"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .bulk_threshold(100);
    let batches = ins.compile_batches(t.backend()).unwrap();
    if t.backend() == Backend::Postgres {
        assert_eq!(batches.len(), 1);
        assert!(
            batches[0].statement.sql().contains(
                "SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::integer[], $4::jsonb[])"
            ),
            "{}",
            batches[0].statement.sql()
        );
        assert_eq!(batches[0].statement.params().len(), 4);
    }
    assert_eq!(ins.execute(&t.db).await.unwrap(), 2000);
    let r = Select::from(&m.user)
        .filter(m.user.col("id").unwrap().eq(1234))
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(r.get("name").unwrap(), &Value::from("n1234"));
    assert_eq!(r.get("karma").unwrap().as_i64(), Some(4));
    assert_eq!(
        r.get("profile").unwrap(),
        &Value::Jsonb(serde_json::json!([1234]))
    );
    // The bulk path takes RETURNING and ON CONFLICT too.
    let again = Insert::into(&m.user)
        .columns(["id", "name"])
        .unwrap()
        .rows((1999..=2200).map(|i: i64| vec![Value::from(i), Value::from(format!("x{i}"))]))
        .unwrap()
        .bulk_threshold(100)
        .on_conflict(OnConflict::columns(["id"]).do_nothing())
        .unwrap()
        .returning([m.user.col("id").unwrap()])
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(again.len(), 200);
    assert_eq!(ints(&again, "id")[0], 2001);
});

each_backend!(insert_from_select, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, e) = (&m.user, &m.emp);
    let n = Insert::into(u)
        .columns(["id", "name", "karma"])
        .unwrap()
        .from_query(
            Select::from(e)
                .column(e.col("id").unwrap() + 100)
                .column(e.col("name").unwrap())
                .column(Expr::val(1))
                .filter(e.col("dept").unwrap().eq("eng")),
        )
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let r = Select::from(u)
        .column(u.col("name").unwrap())
        .filter(u.col("id").unwrap().gt(100))
        .order_by(u.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&r, "name"), ["Bob", "Carol"]);
    // With ON CONFLICT (SQLite needs the WHERE-true form).
    let n = Insert::into(u)
        .columns(["id", "name"])
        .unwrap()
        .from_query(
            Select::from(e)
                .column(e.col("id").unwrap() + 100)
                .column(e.col("name").unwrap()),
        )
        .on_conflict(OnConflict::columns(["id"]))
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 3);
});

each_backend!(upsert_do_nothing_and_do_update, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let ins = |name: &str, email: &str, karma: i32| {
        Insert::into(u)
            .columns(["name", "email", "karma"])
            .unwrap()
            .values(vec![name.into(), email.into(), karma.into()])
            .unwrap()
    };
    // Unique violation without ON CONFLICT.
    let err = ins("Ada2", "ada@example.com", 1)
        .execute(&t.db)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UniqueViolation);
    // DO NOTHING.
    let n = ins("Ada2", "ada@example.com", 1)
        .on_conflict(OnConflict::columns(["email"]).do_nothing())
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // DO UPDATE: take the new name, add the karma, RETURNING the merged row.
    let row = ins("Ada L.", "ada@example.com", 5)
        .on_conflict(OnConflict::columns(["email"]).do_update(["name"]).set(
            "karma",
            u.col("karma").unwrap() + Expr::excluded("karma").unwrap(),
        ))
        .unwrap()
        .returning([
            u.col("id").unwrap(),
            u.col("name").unwrap(),
            u.col("karma").unwrap(),
        ])
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(row.get("id").unwrap().as_i64(), Some(1));
    assert_eq!(row.get("name").unwrap(), &Value::from("Ada L."));
    assert_eq!(row.get("karma").unwrap().as_i64(), Some(55));
    // DO UPDATE ... WHERE that does not match leaves the row.
    let n = ins("Nobody", "grace@example.com", 1)
        .on_conflict(
            OnConflict::columns(["email"])
                .do_update(["name"])
                .filter(u.col("karma").unwrap().gt(1000)),
        )
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let grace = Select::from(u)
        .filter_by("id", 2)
        .unwrap()
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(grace.get("name").unwrap(), &Value::from("Grace"));
});

each_backend!(update_with_where_and_returning, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let rows = Update::table(u)
        .set("karma", u.col("karma").unwrap() + 1)
        .unwrap()
        .set("active", true)
        .unwrap()
        .filter(u.col("karma").unwrap().lt(20))
        .returning([u.col("id").unwrap(), u.col("karma").unwrap()])
        .fetch_all(&t.db)
        .await
        .unwrap();
    let mut pairs: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.get("id").unwrap().as_i64().unwrap(),
                r.get("karma").unwrap().as_i64().unwrap(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(pairs, [(3, 11), (4, 1)]);
    let n = Update::table(u)
        .set("email", Value::Null)
        .unwrap()
        .filter_by("name", "Nobody")
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let err = Update::table(u)
        .filter_by("id", 1)
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "an update of model `User` needs at least one column to set"
    );
});

each_backend!(delete_with_returning_and_cascade, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    let gone = Delete::from(u)
        .filter(u.col("id").unwrap().eq(1))
        .returning([u.col("name").unwrap()])
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(texts(&gone, "name"), ["Ada"]);
    // ON DELETE CASCADE took Ada's three posts.
    let left = Select::from(p)
        .column(func::count_star().label("n").unwrap())
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(left.get("n").unwrap(), &Value::Int8(4));
    let n = Delete::from(p)
        .filter_by("title", "Freax")
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
});

each_backend!(transactions_run_statements_and_roll_back, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let u = &m.user;
    let mut tx = t.db.begin().await.unwrap();
    assert_eq!(Delete::from(u).execute(&mut tx).await.unwrap(), 4);
    tx.rollback().await.unwrap();
    assert_eq!(Select::from(u).fetch_all(&t.db).await.unwrap().len(), 4);
    let mut tx = t.db.begin().await.unwrap();
    Update::table(u)
        .set("karma", 0)
        .unwrap()
        .execute(&mut tx)
        .await
        .unwrap();
    let r = Select::from(u)
        .column(func::max(u.col("karma").unwrap()).label("k").unwrap())
        .fetch_one(&mut tx)
        .await
        .unwrap();
    assert_eq!(r.get("k").unwrap().as_i64(), Some(0));
    tx.rollback().await.unwrap();
    let r = Select::from(u)
        .column(func::max(u.col("karma").unwrap()).label("k").unwrap())
        .fetch_one(&t.db)
        .await
        .unwrap();
    assert_eq!(r.get("k").unwrap().as_i64(), Some(50));
});
