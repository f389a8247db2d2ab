//! Errors on both backends: each failure reaches the script as a catchable
//! value with its kind, a message free of bound values, and reaches the host
//! through `db_error` when uncaught.

mod common;

use common::{kind, ok, ok_after, run};
use dbridge_testkit::each_backend;

const SETUP: &str = r#"
    db.execute("CREATE TABLE teams (id INTEGER PRIMARY KEY)");
    db.execute(`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
                karma INTEGER CHECK (karma >= 0), team_id INTEGER REFERENCES teams (id))`);
    db.execute("INSERT INTO teams VALUES (1)");
    db.execute("INSERT INTO users VALUES (1, 'secret@example.com', 0, 1)");
    fn kind_of(f) { let k = "no error"; try { f.call(); } catch (e) { k = e.kind; } k }
"#;

each_backend!(constraint_violations_have_kinds, |t| async move {
    let v = ok_after(&t, SETUP, r#"
        [
            kind_of(|| db.execute("INSERT INTO users VALUES (2, $1, 0, 1)", ["secret@example.com"])),
            kind_of(|| db.execute("INSERT INTO users VALUES (3, $1, 0, 1)", [()])),
            kind_of(|| db.execute("INSERT INTO users VALUES (4, 'b@x', -5, 1)")),
            kind_of(|| db.execute("INSERT INTO users VALUES (5, 'c@x', 0, $1)", [99])),
            kind_of(|| db.execute("SELEC 1")),
            kind_of(|| db.fetch_one("SELECT 1 AS one WHERE 1 = 0")),
        ]
    "#).await;
    assert_eq!(
        v.to_string(),
        r#"["unique_violation", "not_null_violation", "check_violation", "foreign_key_violation", "syntax", "not_found"]"#
    );
});

each_backend!(messages_never_show_bound_values, |t| async move {
    let v = ok_after(
        &t,
        SETUP,
        r#"
        let caught = ();
        try { db.execute("INSERT INTO users VALUES (2, $1, 0, 1)", ["secret@example.com"]); }
        catch (e) { caught = e; }
        caught
    "#,
    )
    .await;
    let map = v.cast::<rhai::Map>();
    let text = format!("{map:?}");
    assert!(!text.contains("secret@example.com"), "{text}");
    assert_eq!(map["kind"].to_string(), "unique_violation");
    assert!(!map["message"].to_string().is_empty());
    assert!(map.contains_key("code"), "{text}");
    assert!(!map["retryable"].as_bool().unwrap());
});

each_backend!(uncaught_errors_reach_the_host_typed, |t| async move {
    let err = run(
        &t,
        &format!(
            r#"{SETUP}
        fn deep(db) {{ db.execute("INSERT INTO users VALUES (1, 'again', 0, 1)") }}
        deep(db);
    "#
        ),
    )
    .await
    .unwrap_err();
    let e = dbridge_rhai::db_error(&err).expect("a dbridge error");
    assert_eq!(e.kind(), "unique_violation");
    assert!(e.code().is_some());
    // The host's message shows the kind and the message, not a type name.
    assert!(err.to_string().contains("unique_violation"), "{err}");
    assert_eq!(kind(&err), "unique_violation");
});

each_backend!(script_errors_are_not_dbridge_errors, |t| async move {
    let err = run(&t, "throw \"plain\"").await.unwrap_err();
    assert!(dbridge_rhai::db_error(&err).is_none());
    let err = run(&t, "db.no_such_method()").await.unwrap_err();
    assert!(dbridge_rhai::db_error(&err).is_none());
    assert!(err.to_string().contains("no_such_method"), "{err}");
});

each_backend!(scripts_raise_dbridge_errors, |t| async move {
    let v = ok(
        &t,
        r#"
        let caught = ();
        try { throw dbridge::error(#{ kind: "validation", message: "name is required" }); }
        catch (e) { caught = e; }
        [caught.kind, caught.message, caught.retryable,
         dbridge::is_retryable(dbridge::error(#{ kind: "busy" })), dbridge::is_retryable("busy")]
    "#,
    )
    .await;
    assert_eq!(
        v.to_string(),
        r#"["validation", "name is required", false, true, false]"#
    );
    let err = run(&t, "dbridge::error(#{ kind: \"oops\" })")
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "configuration");
});
