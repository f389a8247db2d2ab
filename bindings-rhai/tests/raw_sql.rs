//! Raw SQL from Rhai on both backends: execute, fetch_*, stream, connect.

mod common;

use common::{check_after, kind, ok, ok_after, run};
use dbridge_testkit::each_backend;
use rhai::Dynamic;

const SETUP: &str = r#"
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, karma INTEGER)");
    db.execute("INSERT INTO users (id, name, karma) VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9)",
               [1, "Ada", 10, 2, "Bob", (), 3, "Cy", 3]);
"#;

each_backend!(execute_returns_affected_rows, |t| async move {
    let n = ok(
        &t,
        &format!(
            "{SETUP} db.execute(\"UPDATE users SET karma = karma + 1 WHERE karma > $1\", [0])"
        ),
    )
    .await;
    assert_eq!(n.as_int().unwrap(), 2);
    let n = ok(&t, "db.execute(\"DELETE FROM users WHERE id = $1\", [99])").await;
    assert_eq!(n.as_int().unwrap(), 0);
});

each_backend!(fetch_all_gives_maps_with_null_as_unit, |t| async move {
    check_after(
        &t,
        SETUP,
        r#"
        let rows = db.fetch_all("SELECT id, name, karma FROM users ORDER BY id");
        assert_eq(rows.len(), 3);
        assert_eq(rows[0].name, "Ada");
        assert_eq(rows[0].karma, 10);
        assert_eq(rows[1].karma, ());
        assert_eq(type_of(rows[2].id), "i64");
        let some = db.fetch_all("SELECT name FROM users WHERE karma >= $1 ORDER BY name", [3]);
        assert_eq(some.map(|r| r.name), ["Ada", "Cy"]);
        assert_eq(db.fetch_all("SELECT id FROM users WHERE id < 0"), []);
    "#,
    )
    .await;
});

each_backend!(fetch_one_and_fetch_optional, |t| async move {
    check_after(
        &t,
        SETUP,
        r#"
        assert_eq(db.fetch_one("SELECT name FROM users WHERE id = $1", [2]).name, "Bob");
        assert_eq(db.fetch_optional("SELECT name FROM users WHERE id = $1", [2]).name, "Bob");
        assert_eq(db.fetch_optional("SELECT name FROM users WHERE id = $1", [42]), ());
        let kind = "none";
        try { db.fetch_one("SELECT name FROM users WHERE id = $1", [42]); }
        catch (e) { kind = e.kind; }
        assert_eq(kind, "not_found");
    "#,
    )
    .await;
});

each_backend!(stream_iterates_rows_as_read, |t| async move {
    let v = ok_after(
        &t,
        SETUP,
        r#"
        let names = [];
        for row in db.stream("SELECT id, name FROM users WHERE id >= $1 ORDER BY id", [1]) {
            names.push(row.name);
        }
        names
    "#,
    )
    .await;
    let names: Vec<String> = v.into_typed_array().unwrap();
    assert_eq!(names, ["Ada", "Bob", "Cy"]);
});

each_backend!(stream_break_releases_its_connection, |t| async move {
    // Breaking out early many more times than the pool has connections only
    // works if every abandoned stream gives its connection back.
    check_after(
        &t,
        SETUP,
        r#"
        for i in 0..30 {
            for row in db.stream("SELECT id FROM users ORDER BY id") { break; }
        }
        let s = db.stream("SELECT id FROM users ORDER BY id");
        assert_eq(s.is_open, true);
        for row in s { }
        assert_eq(s.is_open, false);
        let s = db.stream("SELECT id FROM users");
        s.close();
        assert_eq(s.is_open, false);
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM users").n, 3);
    "#,
    )
    .await;
});

each_backend!(stream_errors_are_catchable, |t| async move {
    let v = ok(
        &t,
        r#"
        let kind = "ran";
        try { for row in db.stream("SELECT nope FROM nowhere") { kind = "row"; } }
        catch (e) { kind = e.kind; }
        kind
    "#,
    )
    .await;
    assert_eq!(v.into_string().unwrap(), "undefined_table");
});

each_backend!(row_maps_iterate_in_stream_and_use_params, |t| async move {
    let v = ok_after(&t, SETUP, r#"
        let total = 0;
        for row in db.stream("SELECT karma FROM users WHERE karma IS NOT NULL AND name <> $1", ["Cy"]) {
            total += row.karma;
        }
        total
    "#).await;
    assert_eq!(v.as_int().unwrap(), 10);
});

each_backend!(connect_from_a_script, |t| async move {
    // The test's own URL: on PostgreSQL it points at this test's schema.
    let v = ok(
        &t,
        r#"
        let other = dbridge::connect(url, #{ max_connections: 2, acquire_timeout: 5 });
        assert_eq(other.backend(), backend);
        other.execute("CREATE TABLE IF NOT EXISTS seen (n INTEGER)");
        other.execute("INSERT INTO seen VALUES ($1)", [7]);
        let n = other.fetch_one("SELECT n FROM seen").n;
        other.close();
        n
    "#,
    )
    .await;
    assert_eq!(v.as_int().unwrap(), 7);
});

each_backend!(connect_errors_are_typed, |t| async move {
    let err = run(&t, r#"dbridge::connect("mysql://root@localhost/x")"#)
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "configuration");
    let err = run(
        &t,
        r#"dbridge::connect("sqlite::memory:", #{ max_conections: 2 })"#,
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "configuration");
    assert!(err.to_string().contains("max_conections"), "{err}");
    let err = run(
        &t,
        r#"dbridge::connect("postgres://u:hunter22@127.0.0.1:1/x", #{ acquire_timeout: 1 })"#,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(kind(&err).as_str(), "connection" | "timeout"),
        "{err}"
    );
    assert!(!err.to_string().contains("hunter22"), "{err}");
});

each_backend!(database_properties, |t| async move {
    let v = ok(&t, "[db.backend(), db.url(), type_of(db), to_string(db)]").await;
    let v: Vec<Dynamic> = v.into_array().unwrap();
    assert_eq!(v[0].clone().into_string().unwrap(), t.backend().name());
    assert_eq!(v[2].clone().into_string().unwrap(), "Database");
    assert!(v[3].clone().into_string().unwrap().starts_with("Database("));
});
