//! Large inserts of plain values load through binary `COPY ... FROM STDIN` on
//! PostgreSQL (and the same calls insert as before on SQLite): every scalar
//! type, NULLs, enums, omitted defaults, the row count, the statement log, and
//! failures that map to the same typed errors as INSERT and leave nothing.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use dbridge_engine::query::{Insert, OnConflict, Run, Select};
use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::{
    Backend, EnumType, EnumValue, ErrorKind, Interval, MacAddr, Numeric, SqlType, Temporal, Value,
};
use dbridge_testkit::{StatementLog, TestDb, each_backend};

const COPY_PREFIX: &str = "COPY ";

fn num(s: &str) -> Value {
    Value::Numeric(s.parse::<Numeric>().unwrap())
}

fn mood() -> SqlType {
    SqlType::Enum(Arc::new(EnumType {
        name: "mood".into(),
        labels: vec!["sad".into(), "ok".into(), "happy".into()],
    }))
}

fn label(l: &str) -> Value {
    Value::Enum(EnumValue {
        type_name: Arc::from("mood"),
        label: l.into(),
    })
}

/// (type, values) for every scalar type the PostgreSQL codec writes.
fn scalar_cases() -> Vec<(SqlType, Vec<Value>)> {
    let far = NaiveDate::from_ymd_opt(200_000, 12, 31)
        .unwrap()
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .unwrap();
    let past = NaiveDate::from_ymd_opt(-4000, 1, 1)
        .unwrap()
        .and_hms_micro_opt(12, 0, 0, 1)
        .unwrap();
    vec![
        (SqlType::Bool, vec![Value::Bool(true), Value::Bool(false)]),
        (SqlType::Int2, vec![Value::Int2(i16::MIN), Value::Int2(7)]),
        (SqlType::Int4, vec![Value::Int4(i32::MAX), Value::Int4(-1)]),
        (SqlType::Int8, vec![Value::Int8(i64::MIN), Value::Int8(42)]),
        (
            SqlType::Float4,
            vec![Value::Float4(1.5), Value::Float4(f32::NEG_INFINITY)],
        ),
        (
            SqlType::Float8,
            vec![Value::Float8(0.1), Value::Float8(5e-324)],
        ),
        (
            SqlType::Numeric(None),
            vec![
                num("123456789012345678901234567890.123456789012345678901234567890"),
                num("-0.000000000000000000000000000000001"),
                num("1.50"),
                num("NaN"),
                num("-Infinity"),
            ],
        ),
        (
            SqlType::Numeric(Some((38, 4))),
            vec![num("12345678901234567890123456789012.3456"), num("-1.5")],
        ),
        (
            SqlType::Text,
            vec![
                Value::from(""),
                Value::from("héllo wörld ✓ 🎉 \u{200b}"),
                Value::from("quote ' and \" and \\ and \t tab \n newline"),
                // Larger than one COPY chunk.
                Value::Text("0123456789abcdef".repeat(1 << 17)),
            ],
        ),
        (
            SqlType::Varchar(Some(8)),
            vec![Value::from("abc"), Value::from("ünïcødé!")],
        ),
        (
            SqlType::Char(4),
            vec![Value::from("abcd"), Value::from("x")],
        ),
        (
            SqlType::Bytea,
            vec![Value::Bytes(vec![]), Value::Bytes((0..=255).collect())],
        ),
        (
            SqlType::Uuid,
            vec![
                Value::Uuid(uuid::Uuid::new_v4()),
                Value::Uuid(uuid::Uuid::nil()),
            ],
        ),
        (
            SqlType::Json,
            vec![
                Value::Json(serde_json::json!({"a": [1, 2.5, null, "x"]})),
                Value::Json(serde_json::json!("just a string")),
            ],
        ),
        (
            SqlType::Jsonb,
            vec![
                Value::Jsonb(serde_json::json!({"z": 1, "unicode": "✓"})),
                Value::Jsonb(serde_json::Value::Null),
            ],
        ),
        (
            SqlType::Date,
            vec![
                Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().into()),
                Value::Date(Temporal::NegInfinity),
            ],
        ),
        (
            SqlType::Time,
            vec![
                Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap()),
                Value::Time(NaiveTime::MIN),
            ],
        ),
        (
            SqlType::Timestamp,
            vec![
                Value::Timestamp(past.into()),
                Value::Timestamp(Temporal::Infinity),
            ],
        ),
        (
            SqlType::Timestamptz,
            vec![
                Value::Timestamptz(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap().into()),
                Value::Timestamptz(far.and_utc().into()),
            ],
        ),
        (
            SqlType::Interval,
            vec![
                Value::Interval(Interval {
                    months: 14,
                    days: -3,
                    microseconds: 3_600_000_001,
                }),
                Value::Interval(Interval::default()),
            ],
        ),
        (
            SqlType::Inet,
            vec![
                Value::Inet("192.168.0.1/24".parse().unwrap()),
                Value::Inet("::1/128".parse().unwrap()),
            ],
        ),
        (
            SqlType::Cidr,
            vec![
                Value::Cidr("10.0.0.0/8".parse().unwrap()),
                Value::Cidr("2001:db8::/32".parse().unwrap()),
            ],
        ),
        (
            SqlType::MacAddr,
            vec![Value::MacAddr(MacAddr([0x08, 0, 0x2b, 1, 2, 3]))],
        ),
        (mood(), vec![label("sad"), label("happy")]),
    ]
}

/// A model with an `id` and one column `c<k>` per case.
fn wide_model(table: &str, cases: &[(SqlType, Vec<Value>)]) -> Model {
    let mut b = Model::builder(table)
        .table(table)
        .column(Column::new("id", SqlType::Int8).primary_key());
    for (k, (ty, _)) in cases.iter().enumerate() {
        b = b.column(Column::new(format!("c{k}"), ty.clone()));
    }
    b.build().unwrap()
}

/// Row `r` takes each case's value `r % len`; the last row is all NULL.
fn wide_rows(cases: &[(SqlType, Vec<Value>)], n: usize) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = (0..n)
        .map(|r| {
            let mut row = vec![Value::Int8(r as i64)];
            row.extend(cases.iter().map(|(_, vs)| vs[r % vs.len()].clone()));
            row
        })
        .collect();
    let mut nulls = vec![Value::Int8(n as i64)];
    nulls.extend(cases.iter().map(|_| Value::Null));
    rows.push(nulls);
    rows
}

fn column_names(n: usize) -> Vec<String> {
    std::iter::once("id".to_string())
        .chain((0..n).map(|k| format!("c{k}")))
        .collect()
}

each_backend!(every_scalar_type_matches_the_values_path, |t| async move {
    let cases = scalar_cases();
    let meta = Metadata::new();
    let copied = meta.add(wide_model("copied", &cases)).unwrap();
    let inserted = meta.add(wide_model("inserted", &cases)).unwrap();
    meta.create_all(&t.db).await.unwrap();
    let rows = wide_rows(&cases, 10);
    let cols = column_names(cases.len());
    let log = StatementLog::attach(&t.db);
    let n = Insert::into(&copied)
        .columns(&cols)
        .unwrap()
        .rows(rows.clone())
        .unwrap()
        .bulk_threshold(1)
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 11);
    let lines = log.take();
    match t.backend() {
        Backend::Postgres => {
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(
                lines[0].starts_with(r#"COPY "copied" ("id", "c0", "c1""#)
                    && lines[0].ends_with(") FROM STDIN (FORMAT binary)"),
                "{}",
                lines[0]
            );
        }
        Backend::Sqlite => assert!(lines.iter().all(|l| l.starts_with("INSERT")), "{lines:?}"),
    }
    let n = Insert::into(&inserted)
        .columns(&cols)
        .unwrap()
        .rows(rows.clone())
        .unwrap()
        .bulk_threshold(usize::MAX)
        .execute(&t.db)
        .await
        .unwrap();
    assert_eq!(n, 11);
    assert_eq!(log.count(COPY_PREFIX), 0);
    let a = Select::from(&copied)
        .order_by(copied.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    let b = Select::from(&inserted)
        .order_by(inserted.col("id").unwrap())
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(a.len(), 11);
    for (ra, rb) in a.iter().zip(&b) {
        assert_eq!(ra.values(), rb.values());
    }
    // NULLs stay NULL; values come back as given (char(4) pads "x").
    assert!(a[10].values()[1..].iter().all(Value::is_null));
    for (r, row) in a.iter().enumerate() {
        for (k, got) in row.values().iter().enumerate() {
            let want = match k {
                0 => rows[r][0].clone(),
                _ => as_stored(t.backend(), &cases[k - 1].0, &rows[r][k]),
            };
            assert_eq!(got, &want, "row {r}, column {k}");
        }
    }
    let mood_col = format!("c{}", cases.len() - 1);
    assert_eq!(a[1].get(mood_col.as_str()).unwrap(), &label("happy"));
});

/// `v` as the backend gives it back from a column of type `ty`: PostgreSQL
/// pads `char(n)` with spaces and writes `numeric(p, s)` with `s` decimals.
fn as_stored(backend: Backend, ty: &SqlType, v: &Value) -> Value {
    match (backend, ty, v) {
        (Backend::Postgres, SqlType::Char(n), Value::Text(s)) => {
            Value::from(format!("{s:<width$}", width = *n as usize))
        }
        (Backend::Postgres, SqlType::Numeric(Some((_, scale))), Value::Numeric(n)) => {
            let text = n.to_string();
            let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
            num(&format!("{whole}.{frac:0<width$}", width = *scale as usize))
        }
        _ => v.clone(),
    }
}

fn users() -> (Metadata, Model) {
    let meta = Metadata::new();
    let user = meta
        .add(
            dbridge_testkit::keyed("User", "users")
                .column(Column::new("name", "text").not_null())
                .column(Column::new("email", "text").unique())
                .column(Column::new("age", "integer"))
                .column(Column::new("karma", "integer").not_null().default(5))
                .column(
                    Column::new("created_at", "timestamptz")
                        .default_expr(dbridge_engine::query::Expr::now()),
                )
                .column(Column::new("token", "text").default_factory(|| Value::from("tok")))
                .build()
                .unwrap(),
        )
        .unwrap();
    (meta, user)
}

fn user_rows(n: i64) -> impl Iterator<Item = Vec<Value>> {
    (1..=n).map(|i| {
        vec![
            Value::Int8(i),
            Value::from(format!("name {i}")),
            Value::from(format!("user{i}@example.com")),
            Value::Int4((i % 90) as i32),
        ]
    })
}

async fn count(t: &TestDb, user: &Model) -> i64 {
    let row = Select::from(user)
        .column(
            dbridge_engine::query::func::count_star()
                .label("n")
                .unwrap(),
        )
        .fetch_one(&t.db)
        .await
        .unwrap();
    row.get("n").unwrap().as_i64().unwrap()
}

each_backend!(
    large_insert_in_a_transaction_counts_rows_and_fills_defaults,
    |t| async move {
        let (meta, user) = users();
        meta.create_all(&t.db).await.unwrap();
        let log = StatementLog::attach(&t.db);
        let mut tx = t.db.begin().await.unwrap();
        // 30,000 rows: several COPY chunks.
        let n = Insert::into(&user)
            .columns(["id", "name", "email", "age"])
            .unwrap()
            .rows(user_rows(30_000))
            .unwrap()
            .execute(&mut tx)
            .await
            .unwrap();
        assert_eq!(n, 30_000);
        tx.commit().await.unwrap();
        let copies = log.count(COPY_PREFIX);
        match t.backend() {
            Backend::Postgres => {
                assert_eq!(copies, 1, "{:?}", log.take());
                assert_eq!(log.count("INSERT"), 0);
            }
            Backend::Sqlite => assert_eq!(copies, 0),
        }
        assert_eq!(count(&t, &user).await, 30_000);
        let r = Select::from(&user)
            .filter(user.col("id").unwrap().eq(12_345))
            .fetch_one(&t.db)
            .await
            .unwrap();
        assert_eq!(r.get("name").unwrap(), &Value::from("name 12345"));
        assert_eq!(r.get("age").unwrap().as_i64(), Some(12_345 % 90));
        // Server defaults of omitted columns, and the client default factory.
        assert_eq!(r.get("karma").unwrap().as_i64(), Some(5));
        assert!(!r.get("created_at").unwrap().is_null());
        assert_eq!(r.get("token").unwrap(), &Value::from("tok"));
    }
);

each_backend!(
    statement_event_reports_the_copy_text_and_count,
    |t| async move {
        let (meta, user) = users();
        meta.create_all(&t.db).await.unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        t.db.on_statement(Arc::new(move |ev| {
            sink.lock()
                .unwrap()
                .push((ev.sql.to_string(), ev.rows, ev.ok));
        }));
        Insert::into(&user)
            .columns(["id", "name", "email", "age"])
            .unwrap()
            .rows(user_rows(600))
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        if t.backend() == Backend::Postgres {
            assert_eq!(
            seen,
            [(
                r#"COPY "users" ("id", "name", "email", "age", "token") FROM STDIN (FORMAT binary)"#
                    .to_string(),
                Some(600),
                true
            )]
        );
        } else {
            assert_eq!(seen.iter().map(|s| s.1).sum::<Option<u64>>(), Some(600));
            assert!(seen.iter().all(|s| !s.0.contains("name 1")));
        }
    }
);

each_backend!(
    copy_off_small_and_returning_inserts_keep_insert,
    |t| async move {
        let (meta, user) = users();
        meta.create_all(&t.db).await.unwrap();
        let log = StatementLog::attach(&t.db);
        let base = Insert::into(&user)
            .columns(["id", "name", "email", "age"])
            .unwrap();
        let n = base
            .clone()
            .rows(user_rows(600))
            .unwrap()
            .copy(false)
            .execute(&t.db)
            .await
            .unwrap();
        assert_eq!(n, 600);
        let rows = base
            .clone()
            .rows(user_rows(1200).skip(600))
            .unwrap()
            .returning([user.col("id").unwrap()])
            .fetch_all(&t.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 600);
        let n = base
            .clone()
            .rows(user_rows(1300).skip(1200))
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap();
        assert_eq!(n, 100);
        let n = base
            .rows(user_rows(2000))
            .unwrap()
            .on_conflict(OnConflict::columns(["id"]).do_nothing())
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap();
        assert_eq!(n, 700);
        assert_eq!(log.count(COPY_PREFIX), 0, "{:?}", log.take());
        if t.backend() == Backend::Postgres {
            assert_eq!(log.count("INSERT INTO \"users\" (\"id\", \"name\", \"email\", \"age\", \"token\") SELECT * FROM UNNEST("), 3);
        }
        assert_eq!(count(&t, &user).await, 2000);
    }
);

each_backend!(a_failed_copy_rolls_the_transaction_back, |t| async move {
    let (meta, user) = users();
    meta.create_all(&t.db).await.unwrap();
    let log = StatementLog::attach(&t.db);
    // A NULL name deep in the rows: a not-null violation.
    let mut rows: Vec<Vec<Value>> = user_rows(2000).collect();
    rows[1500][1] = Value::Null;
    rows[1500][2] = Value::from("secret-null@example.com");
    let mut tx = t.db.begin().await.unwrap();
    Insert::into(&user)
        .columns(["id", "name", "email", "age"])
        .unwrap()
        .rows(user_rows(3).map(|mut r| {
            r[0] = Value::Int8(-r[0].as_i64().unwrap());
            r[2] = Value::Null;
            r
        }))
        .unwrap()
        .execute(&mut tx)
        .await
        .unwrap();
    let err = Insert::into(&user)
        .columns(["id", "name", "email", "age"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .execute(&mut tx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotNullViolation, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("secret-null"), "{text}");
    assert!(!text.contains("name 1"), "{text}");
    if t.backend() == Backend::Postgres {
        assert_eq!(log.count(COPY_PREFIX), 1);
        // The transaction is failed, as after a failed INSERT: the server
        // refuses the next statement with 25P02 (in failed transaction).
        let next = tx.execute("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(next.kind(), ErrorKind::Database, "{next}");
        let code = next.as_database_error().and_then(|d| d.code.as_deref());
        assert_eq!(code, Some("25P02"), "{next}");
    }
    drop(tx);
    assert_eq!(count(&t, &user).await, 0);
});

each_backend!(
    a_unique_violation_in_a_pooled_copy_leaves_nothing,
    |t| async move {
        let (meta, user) = users();
        meta.create_all(&t.db).await.unwrap();
        let log = StatementLog::attach(&t.db);
        let mut rows: Vec<Vec<Value>> = user_rows(5000).collect();
        rows[4000][2] = Value::from("user7@example.com");
        let err = Insert::into(&user)
            .columns(["id", "name", "email", "age"])
            .unwrap()
            .rows(rows)
            .unwrap()
            .execute(&t.db)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation, "{err}");
        assert!(!format!("{err} {err:?}").contains("user7@"), "{err:?}");
        let copies = usize::from(t.backend() == Backend::Postgres);
        assert_eq!(log.count(COPY_PREFIX), copies);
        assert_eq!(count(&t, &user).await, 0);
        // Every connection of the pool is usable afterwards.
        for _ in 0..3 {
            let n = Insert::into(&user)
                .columns(["id", "name", "email", "age"])
                .unwrap()
                .rows(user_rows(1000))
                .unwrap()
                .execute(&t.db)
                .await
                .unwrap();
            assert_eq!(n, 1000);
            t.db.execute("DELETE FROM users", &[]).await.unwrap();
        }
    }
);

/// A model whose declared type differs from the table's (`bigint` declared,
/// `smallint` in the table): values are converted to the table's type, and one
/// that does not fit fails mid-COPY with a typed error and leaves a usable
/// connection, even when the server has already failed the COPY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_value_that_fails_mid_copy() {
    let t = TestDb::postgres().await;
    t.db.execute(
        "CREATE TABLE small (id bigint PRIMARY KEY, n smallint)",
        &[],
    )
    .await
    .unwrap();
    let small = dbridge_testkit::keyed("Small", "small")
        .column(Column::new("n", SqlType::Int8))
        .build()
        .unwrap();
    let rows = |bad: Option<usize>, dup: Option<usize>| {
        (0..2000_i64)
            .map(|i| {
                let id = if dup == Some(i as usize) { 0 } else { i };
                let n = if bad == Some(i as usize) { 100_000 } else { i };
                vec![Value::Int8(id), Value::Int8(n)]
            })
            .collect::<Vec<_>>()
    };
    let ins = |rows| {
        Insert::into(&small)
            .columns(["id", "n"])
            .unwrap()
            .rows(rows)
            .unwrap()
    };
    let log = StatementLog::attach(&t.db);
    for dup in [None, Some(5)] {
        let err = ins(rows(Some(1800), dup)).execute(&t.db).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue, "{err}");
        assert!(err.to_string().contains("\"n\""), "{err}");
        assert!(!err.to_string().contains("100000"), "{err}");
        let mut tx = t.db.begin().await.unwrap();
        let err = ins(rows(Some(1800), dup))
            .execute(&mut tx)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidValue, "{err}");
        tx.rollback().await.unwrap();
    }
    assert_eq!(log.count(COPY_PREFIX), 4);
    let v =
        t.db.fetch_one("SELECT count(*) AS c FROM small", &[])
            .await
            .unwrap();
    assert_eq!(v.get("c").unwrap().as_i64(), Some(0));
    // Fitting values go in, converted to smallint.
    assert_eq!(ins(rows(None, None)).execute(&t.db).await.unwrap(), 2000);
    let v =
        t.db.fetch_one("SELECT sum(n)::bigint AS s FROM small", &[])
            .await
            .unwrap();
    assert_eq!(v.get("s").unwrap().as_i64(), Some(1999 * 2000 / 2));
}

/// An enum column loads through COPY and an unknown label fails with a typed
/// error that does not quote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_enum_column_and_bad_label() {
    let t = TestDb::postgres().await;
    let meta = Metadata::new();
    let m = meta
        .add(
            dbridge_testkit::keyed("Feeling", "feelings")
                .column(Column::new("mood", mood()))
                .build()
                .unwrap(),
        )
        .unwrap();
    meta.create_all(&t.db).await.unwrap();
    let rows = (0..1000_i64).map(|i| {
        vec![
            Value::Int8(i),
            label(["sad", "ok", "happy"][i as usize % 3]),
        ]
    });
    let ins = Insert::into(&m)
        .columns(["id", "mood"])
        .unwrap()
        .rows(rows)
        .unwrap();
    assert!(ins.compile_copy(Backend::Postgres).unwrap().is_some());
    assert_eq!(ins.execute(&t.db).await.unwrap(), 1000);
    let happy = Select::from(&m)
        .filter(m.col("mood").unwrap().eq(label("happy")))
        .fetch_all(&t.db)
        .await
        .unwrap();
    assert_eq!(happy.len(), 333);
    // A label the model does not know fails the COPY as it is encoded.
    let bad = Insert::into(&m)
        .columns(["id", "mood"])
        .unwrap()
        .rows((2000..2600_i64).map(|i| vec![Value::Int8(i), Value::from("furious-secret")]))
        .unwrap()
        .execute(&t.db)
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidValue, "{bad}");
    assert!(!bad.to_string().contains("furious-secret"), "{bad}");
    let rows = Select::from(&m).fetch_all(&t.db).await.unwrap();
    assert_eq!(rows.len(), 1000, "nothing of the failed COPY went in");
}
