//! The session calls Rhai lacked while Lua had them (issue #18), on both
//! backends: `s.in_transaction()`, `s.stats()` and `s.no_autoflush(fn)`;
//! and the names Lua gained, as Rhai has them: a derived table read FROM
//! (`q.subquery`), `s.is_open` / `s.backend()`, `tx.is_open` /
//! `tx.backend()`, `dbridge::col` in a CHECK and `dbridge::excluded`.

mod common;

use common::{MODELS, check, check_after, kind, run};
use dbridge_testkit::each_backend;

each_backend!(
    in_transaction_is_true_from_the_first_statement_to_the_end,
    |t| async move {
        check_after(
            &t,
            MODELS,
            r#"
        let s = db.session();
        assert_eq(s.in_transaction(), false);
        assert_eq(s.is_open, false);
        s.add(User.build(#{ name: "Ada" }));
        assert_eq(s.in_transaction(), false);    // nothing has run yet
        assert_eq(s.query(User).count(), 1);     // autoflush: the transaction begins
        assert_eq(s.in_transaction(), true);
        assert_eq(s.is_open, true);
        s.commit();
        assert_eq(s.in_transaction(), false);
        s.query(User).count();
        assert_eq(s.in_transaction(), true);
        s.rollback();
        assert_eq(s.in_transaction(), false);
        s.get(User, 1);
        assert_eq(s.in_transaction(), true);
        s.close();
        assert_eq(s.in_transaction(), false);
        assert_eq(s.is_open, false);
        assert_eq(s.backend(), backend);
    "#,
        )
        .await;
    }
);

each_backend!(a_listener_cannot_ask_its_flushing_session, |t| async move {
    // As in Lua, the session is busy while it flushes: asking it from a
    // listener is an `invalid_state` error, which aborts the flush.
    let err = run(
        &t,
        &format!(
            r#"{MODELS}
        let s = db.session();
        db.on(User, "before_insert", |sess, u| {{ sess.in_transaction(); }});
        s.add(User.build(#{{ name: "Ada" }}));
        s.flush();
    "#
        ),
    )
    .await
    .expect_err("the flush fails");
    assert_eq!(kind(&err), "invalid_state", "{err}");
    assert!(err.to_string().contains("busy"), "{err}");
});

each_backend!(stats_count_what_the_session_holds, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        let stats = |s| { let st = s.stats(); [st.pending, st.dirty, st.identity_map] };
        let s = db.session();
        assert_eq(stats.call(s), [0, 0, 0]);
        let ada = s.add(User.build(#{ name: "Ada" }));
        s.add(User.build(#{ name: "Alan" }));
        assert_eq(stats.call(s), [2, 0, 0]);
        s.flush();
        assert_eq(stats.call(s), [0, 0, 2]);
        ada.karma = 4;
        assert_eq(stats.call(s), [0, 1, 2]);
        s.commit();
        assert_eq(stats.call(s), [0, 0, 2]);
        s.expunge(ada);
        assert_eq(stats.call(s), [0, 0, 1]);
        s.delete(s.get(User, 2));
        assert_eq(s.stats().pending, 0);
        s.close();
    "#,
    )
    .await;
});

each_backend!(no_autoflush_runs_fn_without_flushing, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session();
        s.add(User.build(#{ name: "Ada" }));
        let seen = s.no_autoflush(|s2| [s2.query(User).count(), s2.autoflush]);
        assert_eq(seen, [0, false]);
        assert_eq(s.autoflush, true);
        assert_eq(s.stats().pending, 1);
        assert_eq(s.query(User).count(), 1);     // autoflush is back on

        let caught = ();
        try {
            s.no_autoflush(|s2| {
                s2.add(User.build(#{ name: "Alan" }));
                throw "stop";
            });
        } catch (e) { caught = e; }
        assert_eq(caught, "stop");
        assert_eq(s.autoflush, true);
        assert_eq(s.query(User).count(), 2);     // and on again after a throw

        s.autoflush = false;
        s.no_autoflush(|s2| s2.query(User).count());
        assert_eq(s.autoflush, false);           // the setting before is kept
        s.rollback();
    "#,
    )
    .await;
});

const DATA: &str = r#"
    db.transaction(|s| {
        let ada = s.add(User.build(#{ name: "Ada", karma: 10 }));
        let alan = s.add(User.build(#{ name: "Alan", karma: 3 }));
        s.add(User.build(#{ name: "Grace", karma: 5 }));
        s.flush();
        for title in ["Notes", "Engine", "Loops"] {
            s.add(Post.build(#{ author_id: ada.id, title: title }));
        }
        s.add(Post.build(#{ author_id: alan.id, title: "Turing" }));
    });
"#;

each_backend!(
    subquery_columns_read_from_the_derived_table,
    |t| async move {
        check_after(
            &t,
            &format!("{MODELS}{DATA}"),
            r#"
        let counts = db.query([Post.author_id, dbridge::count().label("n")])
            .group_by(Post.author_id).subquery("c");
        let rows = db.query([User.name, counts.n]).join(counts, counts.author_id.eq(User.id))
            .order_by(User.name).all();
        assert_eq(rows, [#{ name: "Ada", n: 3 }, #{ name: "Alan", n: 1 }]);
        // FROM the derived table, from its first column.
        assert_eq(db.query([counts.author_id]).where(counts.n.gt(1)).count(), 1);
        assert_eq(db.query([counts.col("n")]).order_by(counts.n).all().map(|r| r.n), [1, 3]);
    "#,
        )
        .await;
    }
);

each_backend!(transaction_tells_backend_and_whether_open, |t| async move {
    check(
        &t,
        r#"
        let tx = db.begin();
        assert_eq([tx.backend(), tx.is_open], [backend, true]);
        tx.rollback();
        assert_eq(tx.is_open, false);
    "#,
    )
    .await;
});

each_backend!(col_and_excluded, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        let Score = db.model(#{ name: "Score", table: "scores", columns: [
            ["id", "integer", #{ primary_key: true }],
            ["points", "integer", #{ check: dbridge::col("points").ge(0) }] ] });
        db.create_all();
        assert_eq(Score.insert(#{ points: 3 }), 1);
        let k = ();
        try { Score.insert(#{ points: -1 }); } catch (e) { k = e.kind; }
        assert_eq(k, "check_violation");

        User.insert(#{ name: "Ada", email: "ada@example.com", karma: 3 });
        let rows = User.upsert([#{ name: "Ada L.", email: "ada@example.com", karma: 2 }], #{
            conflict: ["email"],
            update: #{ karma: User.karma + dbridge::excluded("karma"), name: dbridge::excluded("name") },
            returning: ["name", "karma"] });
        assert_eq(rows, [#{ name: "Ada L.", karma: 5 }]);
    "#,
    )
    .await;
});
