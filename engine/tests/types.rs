//! Every type round-trips unchanged through a real table on each backend,
//! edge values included.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use dbridge_engine::dialect::column_type;
use dbridge_engine::{
    Backend, EnumType, Interval, MacAddr, Numeric, SqlType, Statement, Temporal, Value,
};
use dbridge_testkit::{TestDb, each_backend};

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
    Value::Enum(dbridge_engine::EnumValue {
        type_name: Arc::from("mood"),
        label: l.into(),
    })
}

/// (type, values) for every scalar type; NaN floats are added per backend.
fn cases() -> Vec<(SqlType, Vec<Value>)> {
    let far_past = NaiveDate::from_ymd_opt(-4000, 1, 1)
        .unwrap()
        .and_hms_micro_opt(12, 0, 0, 1)
        .unwrap();
    let far_future = NaiveDate::from_ymd_opt(200_000, 12, 31)
        .unwrap()
        .and_hms_micro_opt(23, 59, 59, 999_999)
        .unwrap();
    let long_text: String = "0123456789abcdef".repeat(1 << 16);
    vec![
        (
            SqlType::Bool,
            vec![Value::Bool(true), Value::Bool(false), Value::Null],
        ),
        (
            SqlType::Int2,
            vec![Value::Int2(i16::MIN), Value::Int2(i16::MAX), Value::Int2(0)],
        ),
        (
            SqlType::Int4,
            vec![Value::Int4(i32::MIN), Value::Int4(i32::MAX), Value::Null],
        ),
        (
            SqlType::Int8,
            vec![
                Value::Int8(i64::MIN),
                Value::Int8(i64::MAX),
                Value::Int8(-1),
            ],
        ),
        (
            SqlType::Float4,
            vec![
                Value::Float4(1.5),
                Value::Float4(f32::MIN_POSITIVE),
                Value::Float4(f32::INFINITY),
                Value::Float4(f32::NEG_INFINITY),
            ],
        ),
        (
            SqlType::Float8,
            vec![
                Value::Float8(0.1),
                Value::Float8(f64::MAX),
                Value::Float8(f64::INFINITY),
                Value::Float8(5e-324),
            ],
        ),
        (
            SqlType::Numeric(None),
            vec![
                num("123456789012345678901234567890.123456789012345678901234567890"),
                num("-0.000000000000000000000000000000001"),
                num("0"),
                num("1.50"),
                num("1e40"),
                num("NaN"),
                num("Infinity"),
                num("-Infinity"),
                Value::Null,
            ],
        ),
        (
            SqlType::Numeric(Some((38, 4))),
            vec![num("12345678901234567890123456789012.3456")],
        ),
        (
            SqlType::Text,
            vec![
                Value::from(""),
                Value::from("héllo wörld ✓ 🎉 \u{200b}"),
                Value::from("quote ' and \" and \\"),
                Value::Text(long_text),
                Value::Null,
            ],
        ),
        (
            SqlType::Varchar(Some(8)),
            vec![Value::from("abc"), Value::from("ünïcødé!")],
        ),
        (SqlType::Char(4), vec![Value::from("abcd")]),
        (
            SqlType::Bytea,
            vec![
                Value::Bytes(vec![]),
                Value::Bytes((0..=255).collect()),
                Value::Null,
            ],
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
                Value::Json(serde_json::json!({"a": [1, 2.5, null, "x"], "b": {"c": true}})),
                Value::Json(serde_json::json!("just a string")),
                Value::Json(serde_json::json!(12345678901234_i64)),
            ],
        ),
        (
            SqlType::Jsonb,
            vec![
                Value::Jsonb(serde_json::json!({"z": 1, "a": [true, false], "unicode": "✓"})),
                Value::Jsonb(serde_json::json!([])),
                Value::Jsonb(serde_json::Value::Null),
            ],
        ),
        (
            SqlType::Date,
            vec![
                Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().into()),
                Value::Date(NaiveDate::from_ymd_opt(-4000, 1, 1).unwrap().into()),
                Value::Date(Temporal::Infinity),
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
                Value::Timestamp(far_past.into()),
                Value::Timestamp(far_future.into()),
                Value::Timestamp(Temporal::Infinity),
                Value::Timestamp(Temporal::NegInfinity),
            ],
        ),
        (
            SqlType::Timestamptz,
            vec![
                Value::Timestamptz(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap().into()),
                Value::Timestamptz(far_future.and_utc().into()),
                Value::Timestamptz(far_past.and_utc().into()),
                Value::Timestamptz(Temporal::Infinity),
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
                Value::Interval(Interval {
                    months: i32::MIN + 1,
                    days: i32::MAX,
                    microseconds: i64::MIN + 1,
                }),
            ],
        ),
        (
            SqlType::Inet,
            vec![
                Value::Inet("192.168.0.1/24".parse().unwrap()),
                Value::Inet("::1/128".parse().unwrap()),
                Value::Inet("10.0.0.1/32".parse().unwrap()),
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
        (mood(), vec![label("sad"), label("happy"), Value::Null]),
        (
            SqlType::Array(Box::new(SqlType::Int4)),
            vec![
                Value::array(
                    SqlType::Int4,
                    vec![Value::Int4(1), Value::Null, Value::Int4(-3)],
                ),
                Value::array(SqlType::Int4, vec![]),
                Value::array(SqlType::Int4, vec![Value::Null]),
            ],
        ),
        (
            SqlType::Array(Box::new(SqlType::Text)),
            vec![Value::array(
                SqlType::Text,
                vec![
                    Value::from(""),
                    Value::from("a,\"b\"}{"),
                    Value::Null,
                    Value::from("✓"),
                ],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Numeric(None))),
            vec![Value::array(
                SqlType::Numeric(None),
                vec![
                    num("1.10"),
                    num("-99999999999999999999999999999999.5"),
                    Value::Null,
                ],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Float8)),
            vec![Value::array(
                SqlType::Float8,
                vec![Value::Float8(1.25), Value::Float8(f64::INFINITY)],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Bool)),
            vec![Value::array(
                SqlType::Bool,
                vec![Value::Bool(true), Value::Null],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Uuid)),
            vec![Value::array(
                SqlType::Uuid,
                vec![Value::Uuid(uuid::Uuid::new_v4())],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Timestamptz)),
            vec![Value::array(
                SqlType::Timestamptz,
                vec![Value::Timestamptz(far_future.and_utc().into()), Value::Null],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Date)),
            vec![Value::array(
                SqlType::Date,
                vec![Value::Date(Temporal::Infinity)],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Bytea)),
            vec![Value::array(
                SqlType::Bytea,
                vec![Value::Bytes(vec![0, 1, 2]), Value::Bytes(vec![])],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Jsonb)),
            vec![Value::array(
                SqlType::Jsonb,
                vec![Value::Jsonb(serde_json::json!({"k": [1]}))],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Interval)),
            vec![Value::array(
                SqlType::Interval,
                vec![Value::Interval(Interval {
                    months: 1,
                    days: 2,
                    microseconds: 3,
                })],
            )],
        ),
        (
            SqlType::Array(Box::new(SqlType::Inet)),
            vec![Value::array(
                SqlType::Inet,
                vec![Value::Inet("10.1.2.3/16".parse().unwrap())],
            )],
        ),
        (
            SqlType::Array(Box::new(mood())),
            vec![Value::array(mood(), vec![label("ok"), Value::Null])],
        ),
    ]
}

async fn round_trip(t: &TestDb, ty: &SqlType, values: &[Value]) {
    let db = &t.db;
    let table = format!("rt_{}", uuid::Uuid::new_v4().simple());
    db.execute(
        &format!(
            "CREATE TABLE {table} (i INTEGER PRIMARY KEY, v {})",
            column_type(t.backend(), ty)
        ),
        &[],
    )
    .await
    .unwrap_or_else(|e| panic!("create {ty}: {e}"));
    for (i, v) in values.iter().enumerate() {
        db.execute(
            &format!("INSERT INTO {table} (i, v) VALUES ($1, $2)"),
            &[Value::Int4(i as i32), v.clone()],
        )
        .await
        .unwrap_or_else(|e| panic!("insert {ty} #{i}: {e}"));
    }
    let stmt = Statement::new(format!("SELECT v FROM {table} ORDER BY i"), vec![])
        .with_result_types(vec![Some(ty.clone())]);
    let rows = db
        .fetch_all_statement(stmt)
        .await
        .unwrap_or_else(|e| panic!("select {ty}: {e}"));
    assert_eq!(rows.len(), values.len());
    for (i, (row, want)) in rows.iter().zip(values).enumerate() {
        let got = row.get(0).unwrap();
        assert!(
            got.same_as(want),
            "{ty} #{i} on {}: sent {want:?}, got {got:?}",
            t.backend()
        );
    }
    // The same values bound as parameters of a comparison find their rows.
    for v in values
        .iter()
        .filter(|v| !v.is_null() && !matches!(ty, SqlType::Json | SqlType::Array(_)))
    {
        if matches!(v, Value::Float4(f) if f.is_nan())
            || matches!(v, Value::Float8(f) if f.is_nan())
        {
            continue;
        }
        let hits = db
            .fetch_all(
                &format!("SELECT i FROM {table} WHERE v = $1"),
                std::slice::from_ref(v),
            )
            .await
            .unwrap_or_else(|e| panic!("compare {ty}: {e}"));
        assert!(!hits.is_empty(), "{ty}: {v:?} found no row by equality");
    }
}

each_backend!(every_type_round_trips, |t| async move {
    if t.backend() == Backend::Postgres {
        t.db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')", &[])
            .await
            .unwrap();
    }
    for (ty, values) in cases() {
        round_trip(&t, &ty, &values).await;
    }
});

#[tokio::test]
async fn nan_and_negative_zero_round_trip_on_postgres() {
    let t = TestDb::postgres().await;
    round_trip(
        &t,
        &SqlType::Float8,
        &[Value::Float8(f64::NAN), Value::Float8(-f64::NAN)],
    )
    .await;
    round_trip(
        &t,
        &SqlType::Float4,
        &[Value::Float4(f32::NAN), Value::Float4(-0.0)],
    )
    .await;
    round_trip(
        &t,
        &SqlType::Array(Box::new(SqlType::Float4)),
        &[Value::array(SqlType::Float4, vec![Value::Float4(f32::NAN)])],
    )
    .await;
}

#[tokio::test]
async fn nan_is_refused_on_sqlite_naming_the_backend() {
    let t = TestDb::sqlite().await;
    t.db.execute("CREATE TABLE f (v DOUBLE PRECISION)", &[])
        .await
        .unwrap();
    let err =
        t.db.execute("INSERT INTO f VALUES ($1)", &[Value::Float8(f64::NAN)])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), dbridge_engine::ErrorKind::Unsupported);
    assert!(err.to_string().contains("sqlite"), "{err}");
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM f", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap(), &Value::Int8(0), "nothing was written");
}

#[tokio::test]
async fn postgres_reports_result_types_without_hints() {
    let t = TestDb::postgres().await;
    let row = t
        .db
        .fetch_one(
            "SELECT 1::int2 AS a, 2::int4 AS b, 3::int8 AS c, 1.5::numeric(10,3) AS d, now()::date AS e, ARRAY[1,2]::int8[] AS f, '{}'::text[] AS g, 'x'::name AS h, 'x'::varchar(3) AS i",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get("a").unwrap(), &Value::Int2(1));
    assert_eq!(row.get("b").unwrap(), &Value::Int4(2));
    assert_eq!(row.get("c").unwrap(), &Value::Int8(3));
    assert_eq!(row.get("d").unwrap(), &num("1.500"));
    assert!(matches!(
        row.get("e").unwrap(),
        Value::Date(Temporal::Finite(_))
    ));
    assert_eq!(
        row.get("f").unwrap(),
        &Value::array(SqlType::Int8, vec![Value::Int8(1), Value::Int8(2)])
    );
    assert_eq!(row.get("g").unwrap(), &Value::array(SqlType::Text, vec![]));
    assert_eq!(row.get("h").unwrap(), &Value::from("x"));
    assert_eq!(row.get("i").unwrap(), &Value::from("x"));
}

#[tokio::test]
async fn postgres_columns_of_unsupported_types_say_what_to_do() {
    let t = TestDb::postgres().await;
    let err =
        t.db.fetch_one("SELECT point(1, 2) AS p", &[])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), dbridge_engine::ErrorKind::TypeMismatch);
    assert!(err.to_string().contains("point"), "{err}");
    assert!(err.to_string().contains("cast"), "{err}");
}

#[tokio::test]
async fn sqlite_reads_stored_forms_without_hints() {
    let t = TestDb::sqlite().await;
    t.db.execute(
        "CREATE TABLE s (b BOOLEAN, n BIGINT, r REAL, t TEXT, x BLOB)",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO s VALUES ($1, $2, $3, $4, $5)",
        &[
            true.into(),
            7_i64.into(),
            2.5_f64.into(),
            "hi".into(),
            Value::Bytes(vec![1]),
        ],
    )
    .await
    .unwrap();
    let row = t.db.fetch_one("SELECT * FROM s", &[]).await.unwrap();
    assert_eq!(
        row.values(),
        &[
            Value::Bool(true),
            Value::Int8(7),
            Value::Float8(2.5),
            Value::from("hi"),
            Value::Bytes(vec![1])
        ]
    );
}
