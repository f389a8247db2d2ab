//! Writes without a session from Rhai, on both backends: bulk insert, upsert,
//! update and delete with WHERE and RETURNING, and the same in a session.

mod common;

use common::{MODELS, check_after, kind, ok_after, run};
use dbridge_testkit::each_backend;

each_backend!(bulk_insert, |t| async move {
    let v = ok_after(&t, MODELS, r#"
        let rows = [];
        for i in 0..1200 { rows.push(#{ name: "user " + i, karma: i % 7 }); }
        assert_eq(User.insert(rows), 1200);
        assert_eq(User.insert(#{ name: "one more" }), 1);
        let back = User.insert([#{ name: "Ada", email: "ada@example.com" }], #{ returning: ["id", "karma"] });
        assert_eq(back, [#{ id: 1202, karma: 0 }]);
        let all = User.insert([#{ name: "Bob" }], #{ returning: true });
        assert_eq(all[0].name, "Bob");
        assert_eq(type_of(all[0].created_at), "string");   // the client default ran
        [db.query(User).count(), db.query(dbridge::func("sum", [User.karma])).one().values()[0]]
    "#)
    .await;
    let sum: i64 = (0..1200).map(|i| i % 7).sum();
    assert_eq!(v.to_string(), format!("[1203, {sum}]"));
    let err = run(
        &t,
        &format!("{MODELS} User.insert([#{{ name: \"a\" }}, #{{ name: \"b\", karma: 1 }}])"),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("row 2 of insert has other columns"),
        "{err}"
    );
    let err = run(&t, &format!("{MODELS} User.insert([#{{ karma: 1 }}])"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "not_null_violation");
});

each_backend!(bulk_insert_copy_option, |t| async move {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let observer = {
        let seen = seen.clone();
        t.db.on_statement(std::sync::Arc::new(move |e| {
            if e.sql.starts_with("INSERT") || e.sql.starts_with("COPY") {
                let word = e.sql.split_whitespace().next().unwrap_or_default();
                seen.lock().unwrap().push(word.to_owned());
            }
        }))
    };
    let v = ok_after(
        &t,
        MODELS,
        r#"
        let rows = [];
        for i in 0..600 { rows.push(#{ name: "user " + i }); }
        User.insert(rows) + User.insert(rows, #{ copy: false })
    "#,
    )
    .await;
    t.db.remove_statement_observer(observer);
    assert_eq!(v.to_string(), "1200");
    // Past the bulk threshold PostgreSQL loads through COPY unless told not to.
    let expected: &[&str] = if t.db.backend() == dbridge_engine::Backend::Postgres {
        &["COPY", "INSERT"]
    } else {
        &["INSERT", "INSERT"]
    };
    assert_eq!(*seen.lock().unwrap(), expected);
    let err = run(
        &t,
        &format!("{MODELS} User.insert([#{{ name: \"a\" }}], #{{ copy: 1 }})"),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("`copy` must be true or false"),
        "{err}"
    );
});

each_backend!(upsert, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        User.insert([#{ name: "Ada", email: "ada@example.com", karma: 1 }]);
        let n = User.upsert([
            #{ name: "Ada L.", email: "ada@example.com", karma: 5 },
            #{ name: "Bob", email: "bob@example.com", karma: 2 },
        ], #{ conflict: ["email"], update: ["name", "karma"] });
        assert_eq(n, 2);
        // DO NOTHING without `update`; RETURNING gives the rows written.
        let rows = User.upsert([#{ name: "Ada again", email: "ada@example.com", karma: 9 }],
            #{ conflict: ["email"], returning: ["name"] });
        assert_eq(rows, []);
        db.query([User.name, User.karma]).order_by(User.email).all()
    "#,
    )
    .await;
    assert_eq!(
        v.to_string(),
        r#"[#{"karma": 5, "name": "Ada L."}, #{"karma": 2, "name": "Bob"}]"#
    );
    let err = run(
        &t,
        &format!("{MODELS} User.upsert([#{{ name: \"a\" }}], #{{ update: [\"name\"] }})"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("upsert needs `conflict`"), "{err}");
    let err = run(
        &t,
        &format!(
            "{MODELS} User.upsert([#{{ name: \"a\" }}], #{{ conflict: [\"email\"], updates: [] }})"
        ),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown upsert option `updates`"),
        "{err}"
    );
});

each_backend!(update_and_delete, |t| async move {
    check_after(&t, MODELS, r#"
        User.insert([#{ name: "Ada", karma: 1 }, #{ name: "Bob", karma: 2 }, #{ name: "Cy", karma: 3 }]);
        assert_eq(User.update(#{ karma: User.karma * 10 }).where(User.karma.ge(2)).execute(), 2);
        let changed = User.update(#{ karma: 0 }).filter_by(#{ name: "Ada" }).returning(["name", "karma"]).all();
        assert_eq(changed, [#{ name: "Ada", karma: 0 }]);
        let gone = User.delete().where(User.karma.gt(25)).returning([User.name]).all();
        assert_eq(gone, [#{ name: "Cy" }]);
        assert_eq(User.delete().where(User.name.eq("Nobody")).execute(), 0);
        assert_eq(db.query(User.karma).order_by(User.name).all().map(|r| r.karma), [0, 20]);

        // In a session: the statement runs in its transaction, after an autoflush.
        db.transaction(|s| {
            s.add(User.build(#{ name: "Dee", karma: 4 }));
            assert_eq(s.execute(User.update(#{ karma: 5 }).where(User.name.eq("Dee"))), 1);
            assert_eq(s.fetch_all(User.delete().where(User.name.eq("Bob")).returning(true)).len(), 1);
            s.rollback();
        });
        assert_eq(db.query(User).count(), 2);
    "#)
    .await;
    let err = run(&t, &format!("{MODELS} User.update(#{{ nope: 1 }})"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "schema");
});
