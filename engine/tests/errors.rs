//! Bad input gives a clear typed error: constraint kinds with their names, bad
//! URLs, unreachable servers within the timeout, statement errors; no password
//! and no bound value ever appears in an error or a log line.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbridge_engine::{Backend, ConnectOptions, Database, ErrorKind, Value};
use dbridge_testkit::{TestDb, each_backend, pg_url};

const SECRET: &str = "TopSecretValue_7f3a";

async fn schema(t: &TestDb) {
    let db = &t.db;
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    db.execute(
        "CREATE TABLE child (
            id INTEGER PRIMARY KEY,
            email TEXT CONSTRAINT child_email_key UNIQUE,
            parent_id INTEGER CONSTRAINT child_parent_fk REFERENCES parent (id),
            name TEXT NOT NULL,
            age INTEGER CONSTRAINT child_age_check CHECK (age >= 0)
        )",
        &[],
    )
    .await
    .unwrap();
    db.execute("INSERT INTO parent VALUES (1)", &[])
        .await
        .unwrap();
    db.execute(
        "INSERT INTO child (id, email, parent_id, name, age) VALUES (1, $1, 1, 'a', 1)",
        &[Value::from(SECRET)],
    )
    .await
    .unwrap();
}

fn insert(id: i32, email: &str, parent: i32, name: Option<&str>, age: i32) -> (String, Vec<Value>) {
    (
        "INSERT INTO child (id, email, parent_id, name, age) VALUES ($1, $2, $3, $4, $5)".into(),
        vec![
            Value::Int4(id),
            Value::from(email),
            Value::Int4(parent),
            Value::from(name),
            Value::Int4(age),
        ],
    )
}

each_backend!(constraint_violations_have_kinds_and_names, |t| async move {
    schema(&t).await;
    let cases = [
        (
            insert(2, SECRET, 1, Some("b"), 1),
            ErrorKind::UniqueViolation,
        ),
        (
            insert(3, "x@example.com", 99, Some("b"), 1),
            ErrorKind::ForeignKeyViolation,
        ),
        (
            insert(4, "y@example.com", 1, None, 1),
            ErrorKind::NotNullViolation,
        ),
        (
            insert(5, "z@example.com", 1, Some("b"), -5),
            ErrorKind::CheckViolation,
        ),
    ];
    for ((sql, params), kind) in cases {
        let err = t.db.execute(&sql, &params).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "bound value leaked: {text}");
        let db_err = err.as_database_error().expect("a database error");
        assert!(
            db_err
                .sql
                .as_deref()
                .unwrap_or("")
                .starts_with("INSERT INTO child")
        );
        match (t.backend(), kind) {
            (Backend::Postgres, ErrorKind::UniqueViolation) => {
                assert_eq!(err.constraint(), Some("child_email_key"))
            }
            (Backend::Postgres, ErrorKind::ForeignKeyViolation) => {
                assert_eq!(err.constraint(), Some("child_parent_fk"))
            }
            (Backend::Postgres, ErrorKind::CheckViolation) => {
                assert_eq!(err.constraint(), Some("child_age_check"))
            }
            (Backend::Postgres, ErrorKind::NotNullViolation) => {
                assert_eq!(db_err.column.as_deref(), Some("name"))
            }
            (Backend::Sqlite, ErrorKind::UniqueViolation) => {
                assert_eq!(err.constraint(), Some("child.email"))
            }
            (Backend::Sqlite, ErrorKind::CheckViolation) => {
                assert_eq!(err.constraint(), Some("child_age_check"))
            }
            (Backend::Sqlite, ErrorKind::NotNullViolation) => {
                assert_eq!(db_err.column.as_deref(), Some("name"))
            }
            _ => {}
        }
    }
});

each_backend!(statement_errors_are_typed, |t| async move {
    let err = t.db.execute("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Syntax, "{err}");
    let err =
        t.db.fetch_all("SELECT * FROM no_such_table", &[])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedTable, "{err}");
    assert!(err.to_string().contains("no_such_table"), "{err}");
    let err =
        t.db.fetch_all("SELECT nope FROM (SELECT 1 AS one) AS x", &[])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedColumn, "{err}");
    // PostgreSQL says where (the caret psql draws); SQLite does not.
    let position = err.as_database_error().and_then(|d| d.position);
    match t.db.backend() {
        dbridge_engine::Backend::Postgres => assert_eq!(position, Some(8), "{err}"),
        dbridge_engine::Backend::Sqlite => assert_eq!(position, None),
    }
});

each_backend!(
    a_wrong_type_bound_to_a_column_is_a_clear_error,
    |t| async move {
        t.db.execute("CREATE TABLE typed (n INTEGER, d DATE)", &[])
            .await
            .unwrap();
        match t.backend() {
            Backend::Postgres => {
                let err =
                    t.db.execute("INSERT INTO typed (n) VALUES ($1)", &[Value::from(SECRET)])
                        .await
                        .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidValue, "{err}");
                assert!(
                    err.to_string().contains("parameter $1") && err.to_string().contains("integer"),
                    "{err}"
                );
                assert!(!err.to_string().contains(SECRET));
                let err =
                    t.db.execute("INSERT INTO typed (d) VALUES ($1)", &[Value::Bool(true)])
                        .await
                        .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::TypeMismatch, "{err}");
                assert_eq!(
                    err.to_string(),
                    "type mismatch for parameter $1: expected date, got boolean"
                );
            }
            Backend::Sqlite => {
                // SQLite columns take any value; the typed read names the column.
                t.db.execute("INSERT INTO typed (n) VALUES ($1)", &[Value::from(SECRET)])
                    .await
                    .unwrap();
                let stmt = dbridge_engine::Statement::new("SELECT n FROM typed", vec![])
                    .with_result_types(vec![Some(dbridge_engine::SqlType::Int4)]);
                let err = t.db.fetch_all_statement(stmt).await.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidValue, "{err}");
                assert!(err.to_string().contains("column \"n\""), "{err}");
                assert!(!err.to_string().contains(SECRET));
            }
        }
    }
);

#[tokio::test]
async fn data_exception_messages_do_not_quote_values() {
    let t = TestDb::postgres().await;
    let err =
        t.db.fetch_one(&format!("SELECT '{SECRET}'::int AS n"), &[])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert!(!err.to_string().contains(SECRET), "{err}");
    assert!(
        err.to_string()
            .contains("invalid input syntax for type integer"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_urls_and_unknown_schemes() {
    for url in [
        "",
        "nonsense",
        "mysql://root@localhost/db",
        "postgres://u:p@[::1/db",
        "sqlite:",
    ] {
        let err = Database::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration, "{url}: {err}");
    }
}

/// The test server's URL with [`SECRET`] as its password, whatever shape
/// `DBRIDGE_TEST_PG_URL` has (the test server trusts local connections, so any
/// password is accepted).
fn url_with_secret() -> url::Url {
    let mut url = url::Url::parse(&pg_url()).expect("DBRIDGE_TEST_PG_URL is a URL");
    url.set_password(Some(SECRET))
        .expect("DBRIDGE_TEST_PG_URL can hold a password");
    assert!(url.as_str().contains(SECRET), "{url}");
    url
}

#[tokio::test]
async fn connection_errors_never_show_the_password() {
    let mut url = url_with_secret();
    let database = format!("{}_no_such_database_x", url.path().trim_end_matches('/'));
    url.set_path(&database);
    let err = Database::connect(url.as_str()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("does not exist"), "{text}");
}

#[tokio::test]
async fn database_debug_and_url_mask_the_password() {
    let db = Database::connect(url_with_secret().as_str()).await.unwrap();
    assert!(!format!("{db:?}").contains(SECRET));
    assert!(!db.url().contains(SECRET));
    assert!(db.url().contains("********"));
}

#[tokio::test]
async fn refused_connection_is_a_connection_error() {
    // Bind a port, then free it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Database::connect(&format!("postgres://u:{SECRET}@127.0.0.1:{port}/db"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(!err.to_string().contains(SECRET));
}

#[tokio::test]
async fn silent_server_fails_within_the_acquire_timeout() {
    // A listener that accepts and never answers: the handshake hangs. The
    // listener lets go after 3 s, which would end a hung attempt with a
    // connection error instead: the Timeout kind shows the acquire timeout
    // ended it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(3));
        drop(conns);
    });
    let opts = ConnectOptions::new().acquire_timeout(Duration::from_millis(500));
    let err = Database::connect_with(
        &format!("postgres://u@127.0.0.1:{port}/db?sslmode=disable"),
        opts,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    drop(holder);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber writing into a shared buffer: a scoped one is
/// not reliable when other tests run on other threads (callsite interest is
/// cached globally).
fn captured_log() -> Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
    .clone()
}

each_backend!(tracing_records_sql_and_rows_never_values, |t| async move {
    let captured = captured_log();
    t.db.execute("CREATE TABLE logged (secret TEXT)", &[])
        .await
        .unwrap();
    t.db.execute(
        "INSERT INTO logged (secret) VALUES ($1)",
        &[Value::from(SECRET)],
    )
    .await
    .unwrap();
    let _ =
        t.db.fetch_all(
            "SELECT secret FROM logged WHERE secret = $1",
            &[Value::from(SECRET)],
        )
        .await
        .unwrap();
    let _ =
        t.db.execute(
            "INSERT INTO logged (secret) VALUES ($1, $2)",
            &[Value::from(SECRET), Value::from(SECRET)],
        )
        .await;
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("INSERT INTO logged (secret) VALUES ($1)"),
        "{log}"
    );
    assert!(log.contains("dbridge.statement"), "{log}");
    assert!(log.contains("rows=1"), "{log}");
    assert!(
        !log.contains(SECRET),
        "a bound value reached the log:\n{log}"
    );
});

each_backend!(statement_observers_see_every_statement, |t| async move {
    let seen = Arc::new(Mutex::new(Vec::<(String, Option<u64>, bool)>::new()));
    let s = seen.clone();
    let id = t.db.on_statement(Arc::new(move |e| {
        s.lock().unwrap().push((e.sql.to_string(), e.rows, e.ok))
    }));
    t.db.execute("CREATE TABLE o (n INTEGER)", &[])
        .await
        .unwrap();
    t.db.execute("INSERT INTO o VALUES (1), (2)", &[])
        .await
        .unwrap();
    t.db.fetch_all("SELECT n FROM o", &[]).await.unwrap();
    let mut tx = t.db.begin().await.unwrap();
    tx.execute("DELETE FROM o", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let _ = t.db.execute("SELEC", &[]).await;
    assert!(t.db.remove_statement_observer(id));
    t.db.execute("DELETE FROM o", &[]).await.unwrap();
    let seen = seen.lock().unwrap();
    let sql: Vec<&str> = seen.iter().map(|(s, ..)| s.as_str()).collect();
    let begin = match t.backend() {
        Backend::Postgres => "BEGIN",
        Backend::Sqlite => "BEGIN IMMEDIATE",
    };
    let want = [
        "CREATE TABLE o (n INTEGER)",
        "INSERT INTO o VALUES (1), (2)",
        "SELECT n FROM o",
        begin,
        "DELETE FROM o",
        "COMMIT",
        "SELEC",
    ];
    assert_eq!(sql, want);
    assert_eq!(seen[1].1, Some(2));
    assert_eq!(seen[2].1, Some(2));
    assert!(!seen[6].2, "the failed statement is reported as failed");
});
