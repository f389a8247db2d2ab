//! Shared fixtures for the query tests: three models, seed data, `assert_sql!`.
#![allow(dead_code, unused_macros, unused_imports)]

use dbridge_engine::query::{Expr, Insert, Run};
use dbridge_engine::schema::{Column, Index, Metadata, Model, ReferentialAction};
use dbridge_engine::{Backend, Database, Row, SqlType, Value};

/// Compiles `$stmt` for `$backend` and compares the SQL text.
macro_rules! assert_sql {
    ($stmt:expr, sqlite = $sqlite:expr, postgres = $pg:expr) => {{
        assert_sql!(@one $stmt, dbridge_engine::Backend::Sqlite, $sqlite);
        assert_sql!(@one $stmt, dbridge_engine::Backend::Postgres, $pg)
    }};
    ($stmt:expr, both = $want:expr) => {{
        assert_sql!(@one $stmt, dbridge_engine::Backend::Sqlite, $want);
        assert_sql!(@one $stmt, dbridge_engine::Backend::Postgres, $want)
    }};
    (@one $stmt:expr, $backend:expr, $want:expr) => {{
        let got = dbridge_engine::dialect::compile(&$stmt, $backend).expect("compiles");
        assert_eq!(got.sql(), $want, "backend {:?}", $backend);
        got
    }};
    ($stmt:expr, $backend:expr, $want:expr) => {
        assert_sql!(@one $stmt, $backend, $want)
    };
}
pub(crate) use assert_sql;

pub struct Models {
    pub meta: Metadata,
    pub user: Model,
    pub post: Model,
    pub emp: Model,
}

pub fn models() -> Models {
    let meta = Metadata::new();
    let user = meta
        .add(
            dbridge_testkit::keyed("User", "users")
                .column(Column::new("name", "text").not_null())
                .column(Column::new("email", "text").unique())
                .column(Column::new("karma", "integer").not_null().default(0))
                .column(Column::new("active", "boolean").not_null().default(true))
                .column(Column::new("created_at", "timestamptz").default_expr(Expr::now()))
                .column(Column::new("profile", "jsonb"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let post = meta
        .add(
            dbridge_testkit::keyed("Post", "posts")
                .column(
                    Column::new("author_id", SqlType::Int8)
                        .references("users", "id")
                        .on_delete(ReferentialAction::Cascade),
                )
                .column(Column::new("title", "text").not_null())
                .column(Column::new("score", "double precision"))
                .column(Column::new("created_at", "timestamptz").default_expr(Expr::now()))
                .index(Index::new(["author_id", "score"]))
                .build()
                .unwrap(),
        )
        .unwrap();
    let emp = meta
        .add(
            dbridge_testkit::keyed("Employee", "employees")
                .column(Column::new("name", "text").not_null())
                .column(Column::new("dept", "text").not_null())
                .column(Column::new("salary", "numeric(10,2)").not_null())
                .column(Column::new("manager_id", SqlType::Int8).references("employees", "id"))
                .build()
                .unwrap(),
        )
        .unwrap();
    Models {
        meta,
        user,
        post,
        emp,
    }
}

fn v(x: impl Into<Value>) -> Value {
    x.into()
}

/// Creates the tables and inserts known rows:
/// users 1 Ada (karma 50), 2 Grace (30), 3 Linus (10, inactive), 4 Barbara (0, no email);
/// posts by Ada (3), Grace (2), Linus (1), one without author;
/// employees: Eve (boss) > Bob, Carol (eng) ; Dan (sales, under Eve) > Fay.
pub async fn seed(db: &Database, m: &Models) {
    m.meta.create_all(db).await.unwrap();
    Insert::into(&m.user)
        .columns(["id", "name", "email", "karma", "active", "profile"])
        .unwrap()
        .rows([
            vec![v(1), v("Ada"), v("ada@example.com"), v(50), v(true), v(serde_json::json!({"lang": "en", "tags": ["math", "poetry"], "address": {"city": "London"}}))],
            vec![v(2), v("Grace"), v("grace@example.com"), v(30), v(true), v(serde_json::json!({"lang": "en", "tags": ["navy"], "address": {"city": "Arlington"}}))],
            vec![v(3), v("Linus"), v("linus@example.com"), v(10), v(false), v(serde_json::json!({"lang": "fi"}))],
            vec![v(4), v("Barbara"), Value::Null, v(0), v(true), Value::Null],
        ])
        .unwrap()
        .execute(db)
        .await
        .unwrap();
    Insert::into(&m.post)
        .columns(["id", "author_id", "title", "score"])
        .unwrap()
        .rows([
            vec![v(1), v(1), v("Notes on the Engine"), v(9.5)],
            vec![v(2), v(1), v("Poetical Science"), v(7.0)],
            vec![v(3), v(1), v("Bernoulli"), v(8.0)],
            vec![v(4), v(2), v("COBOL"), v(9.0)],
            vec![v(5), v(2), v("Nanoseconds"), Value::Null],
            vec![v(6), v(3), v("Freax"), v(6.5)],
            vec![v(7), Value::Null, v("Anonymous"), v(1.0)],
        ])
        .unwrap()
        .execute(db)
        .await
        .unwrap();
    Insert::into(&m.emp)
        .columns(["id", "name", "dept", "salary", "manager_id"])
        .unwrap()
        .rows([
            vec![v(1), v("Eve"), v("board"), v("300.00"), Value::Null],
            vec![v(2), v("Bob"), v("eng"), v("120.50"), v(1)],
            vec![v(3), v("Carol"), v("eng"), v("130.00"), v(2)],
            vec![v(4), v("Dan"), v("sales"), v("90.00"), v(1)],
            vec![v(5), v("Fay"), v("sales"), v("80.25"), v(4)],
        ])
        .unwrap()
        .execute(db)
        .await
        .unwrap();
}

/// Column `name` of each row as i64.
pub fn ints(rows: &[Row], name: &str) -> Vec<i64> {
    rows.iter()
        .map(|r| {
            r.get(name)
                .unwrap()
                .as_i64()
                .unwrap_or_else(|| panic!("{name} not an int: {:?}", r.get(name)))
        })
        .collect()
}

/// Column `name` of each row as text (NULL as "NULL").
pub fn texts(rows: &[Row], name: &str) -> Vec<String> {
    rows.iter()
        .map(|r| match r.get(name).unwrap() {
            Value::Text(s) => s.clone(),
            Value::Null => "NULL".into(),
            other => panic!("{name} not text: {other:?}"),
        })
        .collect()
}
