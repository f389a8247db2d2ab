//! No bound value ever reaches an error: every statement below makes the
//! server echo its parameter (in the message, detail or hint, whatever the
//! SQLSTATE), and the sentinel must appear in no field of the error, its
//! `Display` or its `Debug`, on either backend, through a plain statement, a
//! transaction and a COPY.

use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::Column;
use dbridge_engine::{Backend, Error, SqlType, Value};
use dbridge_testkit::each_backend;

const SENTINEL: &str = "S3ntinelVAL";

/// Fails unless the sentinel (in any ASCII case) is absent from every part of `err`.
fn assert_clean(err: &Error, case: &str) {
    let mut text = format!("{err}\n{err:?}");
    if let Some(d) = err.as_database_error() {
        for part in [&d.constraint, &d.table, &d.column, &d.code] {
            text.push_str(part.as_deref().unwrap_or(""));
        }
        text.push_str(&d.message);
    }
    assert!(
        !text
            .to_ascii_lowercase()
            .contains(&SENTINEL.to_ascii_lowercase()),
        "{case}: a bound value reached the error:\n{text}"
    );
}

/// (setup statements, statement, parameters) that echo the parameter on PostgreSQL.
fn postgres_cases() -> Vec<(&'static [&'static str], &'static str, Vec<Value>)> {
    let s = || vec![Value::from(SENTINEL)];
    let with = |pre: &str, post: &str| vec![Value::from(format!("{pre}{SENTINEL}{post}"))];
    vec![
        (&[], "SELECT current_setting($1) AS x", s()),
        (&[], "SELECT nextval($1::text) AS x", s()),
        (&[], "SELECT pg_read_file($1) AS x", s()),
        (&[], "SELECT to_regclass($1)::text AS x", with("a.b.c.", "")),
        (&[], "SELECT set_config($1, 'x', false) AS x", s()),
        (&[], "SELECT format($1) AS x", with("%", "")),
        (&[], "SELECT $1::text::int AS x", s()),
        (&[], "SELECT $1::text::json::text AS x", s()),
        (&[], "SELECT $1::text::regclass::text AS x", s()),
        (&[], "SELECT $1::text::regtype::text AS x", s()),
        (&[], "SELECT $1::text::regproc::text AS x", s()),
        (&[], "SELECT $1::text::regnamespace::text AS x", s()),
        (
            &[],
            "SELECT has_database_privilege('postgres', $1, 'connect') AS x",
            s(),
        ),
        (&[], "SELECT to_tsquery($1)::text AS x", with("", " &")),
        (&[], "SELECT convert_to('x', $1) AS x", s()),
        (
            &[],
            "SELECT current_setting(($1::jsonb ->> 'k')) AS x",
            vec![Value::Jsonb(serde_json::json!({ "k": SENTINEL }))],
        ),
        (
            &[],
            "SELECT current_setting($1::bigint::text) AS x",
            vec![Value::Int8(987_654_321)],
        ),
        (
            &["CREATE TYPE mood AS ENUM ('ok')"],
            "SELECT $1::text::mood::text AS x",
            s(),
        ),
        (
            &[
                "CREATE FUNCTION boom(t text) RETURNS int LANGUAGE plpgsql AS $$ \
               BEGIN RAISE EXCEPTION 'boom: %', t USING DETAIL = t, HINT = t; END $$",
            ],
            "SELECT boom($1) AS x",
            s(),
        ),
        (
            &["CREATE TABLE checked (s text CONSTRAINT checked_s CHECK (length(s) < 5))"],
            "INSERT INTO checked (s) VALUES ($1)",
            s(),
        ),
        (
            &[
                "CREATE TABLE keyed (s text PRIMARY KEY)",
                "INSERT INTO keyed VALUES ('S3ntinelVAL')",
            ],
            "INSERT INTO keyed (s) VALUES ($1)",
            s(),
        ),
    ]
}

/// The same on SQLite.
fn sqlite_cases() -> Vec<(&'static [&'static str], &'static str, Vec<Value>)> {
    let s = || vec![Value::from(SENTINEL)];
    vec![
        (&[], "SELECT json_extract('{}', $1) AS x", s()),
        (&[], "SELECT json_set('{}', $1, 1) AS x", s()),
        (&[], "SELECT json($1) AS x", s()),
        (
            &[],
            "ATTACH DATABASE $1 AS other",
            vec![Value::from(format!("/nonexistent/dir/{SENTINEL}"))],
        ),
        (
            &[
                "CREATE TABLE raised (s TEXT)",
                "CREATE TRIGGER raised_check BEFORE INSERT ON raised \
                 BEGIN SELECT RAISE(ABORT, 'bad: ' || NEW.s); END",
            ],
            "INSERT INTO raised (s) VALUES ($1)",
            s(),
        ),
        (
            &["CREATE VIRTUAL TABLE docs USING fts5(body)"],
            "SELECT * FROM docs WHERE docs MATCH $1",
            vec![Value::from(format!("{SENTINEL}:x"))],
        ),
        (
            &["CREATE TABLE checked (s TEXT CONSTRAINT checked_s CHECK (length(s) < 5))"],
            "INSERT INTO checked (s) VALUES ($1)",
            s(),
        ),
        (
            &[
                "CREATE TABLE keyed (s TEXT PRIMARY KEY)",
                "INSERT INTO keyed VALUES ('S3ntinelVAL')",
            ],
            "INSERT INTO keyed (s) VALUES ($1)",
            s(),
        ),
    ]
}

each_backend!(bound_values_never_appear_in_errors, |t| async move {
    let cases = match t.backend() {
        Backend::Postgres => postgres_cases(),
        Backend::Sqlite => sqlite_cases(),
    };
    for (setup, sql, params) in cases {
        for s in setup {
            t.db.execute(s, &[]).await.unwrap();
        }
        let err = t.db.fetch_all(sql, &params).await.unwrap_err();
        assert_clean(&err, sql);
        let err = t.db.execute(sql, &params).await.unwrap_err();
        assert_clean(&err, sql);
        let mut tx = t.db.begin().await.unwrap();
        let err = tx.execute(sql, &params).await.unwrap_err();
        assert_clean(&err, sql);
        tx.rollback().await.unwrap();
    }
});

each_backend!(
    bound_values_never_appear_in_bulk_insert_errors,
    |t| async move {
        let raise: &[&str] = match t.backend() {
            Backend::Postgres => &[
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.s = 'S3ntinelVAL' THEN RAISE EXCEPTION 'refused %', NEW.s; END IF; \
             RETURN NEW; END $$",
                "CREATE TRIGGER refuse BEFORE INSERT ON bulk FOR EACH ROW EXECUTE FUNCTION refuse()",
            ],
            Backend::Sqlite => &[
                "CREATE TRIGGER refuse BEFORE INSERT ON bulk WHEN NEW.s = 'S3ntinelVAL' \
             BEGIN SELECT RAISE(ABORT, 'refused ' || NEW.s); END",
            ],
        };
        t.db.execute("CREATE TABLE bulk (id bigint PRIMARY KEY, s text)", &[])
            .await
            .unwrap();
        for s in raise {
            t.db.execute(s, &[]).await.unwrap();
        }
        let model = dbridge_testkit::keyed("Bulk", "bulk")
            .column(Column::new("s", SqlType::Text))
            .build()
            .unwrap();
        // Past the bulk threshold: COPY on PostgreSQL.
        let rows: Vec<Vec<Value>> = (0..1000_i64)
            .map(|i| {
                let s = if i == 900 {
                    SENTINEL.to_owned()
                } else {
                    format!("row{i}")
                };
                vec![Value::Int8(i), Value::from(s)]
            })
            .collect();
        for size in [rows.len(), 1] {
            let ins = Insert::into(&model)
                .columns(["id", "s"])
                .unwrap()
                .rows(rows[900 - (size - 1).min(900)..=900].to_vec())
                .unwrap();
            let err = ins.execute(&t.db).await.unwrap_err();
            assert_clean(&err, &format!("insert of {size} rows"));
        }
    }
);
