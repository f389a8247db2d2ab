//! Sessions from Rhai on both backends: dirty tracking (seen in the statement
//! log), the identity map, rollback on error, savepoints, get / merge /
//! refresh / expire / expunge.

mod common;

use std::sync::{Arc, Mutex};

use common::{MODELS, check, check_after, kind, ok, ok_after, run};
use dbridge_testkit::{TestDb, each_backend};

/// Records the SQL the test database runs, from now on.
fn statement_log(t: &TestDb) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    t.db.on_statement(Arc::new(move |ev| {
        sink.lock().unwrap().push(ev.sql.to_string())
    }));
    log
}

fn writes(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("INSERT") || s.starts_with("UPDATE") || s.starts_with("DELETE"))
        .cloned()
        .collect()
}

each_backend!(
    dirty_tracking_updates_only_changed_columns,
    |t| async move {
        check(&t, MODELS).await;
        let log = statement_log(&t);
        check_after(
            &t,
            MODELS,
            r#"
        let s = db.session();
        let ada = s.add(User.build(#{ name: "Ada", email: "ada@example.com" }));
        s.commit();
        assert_eq(ada.karma, 0);         // the server default, read back
        ada.name = "Ada";                // the same value: no change
        s.flush();
        ada.karma += 1;
        assert_eq(ada.changed(), ["karma"]);
        s.commit();
    "#,
        )
        .await;
        let w = writes(&log);
        assert_eq!(w.len(), 2, "{w:#?}");
        assert!(w[0].starts_with(r#"INSERT INTO "users""#), "{w:#?}");
        assert!(
            w[1].starts_with(r#"UPDATE "users" SET "karma" = $1 WHERE"#),
            "{w:#?}"
        );
        let karma = ok(&t, "db.fetch_one(\"SELECT karma FROM users\").karma").await;
        assert_eq!(karma.as_int().unwrap(), 1);
    }
);

each_backend!(identity_map_gives_one_instance_per_key, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        db.transaction(|s| { s.add(User.build(#{ name: "Ada" })); });
        let s = db.session();
        let a = s.get(User, 1);
        let b = s.get(User, 1);
        let c = s.query(User).where(User.name.eq("Ada")).one();
        assert_eq(a == b, true);
        assert_eq(a == c, true);
        a.karma = 7;
        assert_eq(c.karma, 7);           // the same object
        assert_eq(s.get(User, 99), ());
        s.rollback();                    // (SQLite: one writing session at a time)
        let other = db.session().get(User, 1);
        assert_eq(a == other, false);    // another session, another instance
    "#,
    )
    .await;
});

each_backend!(transaction_rolls_back_on_error, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        let caught = ();
        let ada = ();
        try {
            db.transaction(|s| {
                ada = s.add(User.build(#{ name: "Ada", email: "a@example.com" }));
                s.flush();
                s.add(User.build(#{ name: "Eve", email: "a@example.com" }));
            });
        } catch (e) { caught = e; }
        assert_eq(ada.state(), "transient");
        [caught.kind, db.query(User).count()]
    "#,
    )
    .await;
    assert_eq!(v.to_string(), r#"["unique_violation", 0]"#);
    // A plain throw rolls back too, and commit happens on return.
    let v = ok_after(&t, MODELS, r#"
        let stopped = ();
        try { db.transaction(|s| { s.add(User.build(#{ name: "X" })); s.flush(); throw "stop"; }); } catch (e) { stopped = e; }
        db.transaction(|s| { s.add(User.build(#{ name: "Kept" })); });
        [stopped, db.query(User.name).all().map(|r| r.name)]
    "#)
    .await;
    assert_eq!(v.to_string(), r#"["stop", ["Kept"]]"#);
});

each_backend!(session_calls, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session();
        s.add_all([User.build(#{ name: "Ada" }), User.build(#{ name: "Bob" })]);
        s.commit();
        let ada = s.get(User, 1);

        ada.karma = 5;
        s.refresh(ada);                  // unflushed change discarded
        assert_eq(ada.karma, 0);
        s.commit();

        db.execute("UPDATE users SET karma = 3 WHERE id = 1");
        s.expire(ada);
        assert_eq(s.get(User, 1).karma, 3);

        s.expunge(ada);
        assert_eq(ada.state(), "detached");
        ada.karma = 4;
        let merged = s.merge(ada);
        assert_eq(merged == ada, false);
        assert_eq(merged.karma, 4);
        s.commit();
        assert_eq(db.fetch_one("SELECT karma FROM users WHERE id = 1").karma, 4);

        // Nested transactions: the closure's work is undone when it throws.
        try {
            s.begin_nested(|s| {
                s.add(User.build(#{ name: "Gone" }));
                s.flush();
                throw "undo";
            });
        } catch (e) { assert_eq(e, "undo"); }
        s.begin_nested(|s| { s.add(User.build(#{ name: "Cy" })); });
        s.commit();
        assert_eq(db.query(User).count(), 3);

        // Raw SQL in the session's transaction sees its flushed rows.
        let bob = s.get(User, 2);
        s.delete(bob);
        s.flush();
        assert_eq(s.fetch_one("SELECT count(*) AS n FROM users").n, 2);
        s.rollback();
        assert_eq(db.query(User).count(), 3);
        s.close();
    "#,
    )
    .await;
});

each_backend!(a_dropped_session_rolls_back, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        {
            let s = db.session();
            s.add(User.build(#{ name: "Ada" }));
            s.flush();
        }
        assert_eq(db.query(User).count(), 0);
        db.execute("INSERT INTO users (name) VALUES ('writable')");
    "#,
    )
    .await;
});

each_backend!(a_busy_session_is_refused_in_a_listener, |t| async move {
    let err = run(
        &t,
        &format!(
            r#"{MODELS}
        db.on(User, "before_insert", |s, u| {{ s.query(User).count(); }});
        db.transaction(|s| {{ s.add(User.build(#{{ name: "Ada" }})); }});
    "#
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "invalid_state");
    assert!(err.to_string().contains("busy"), "{err}");
});
