//! Columns loaded on access from Rhai: a deferred column, or one expired by
//! commit or `s.expire`, is read from its row through the instance's session
//! (one SELECT); an instance of `db.query` or `Model.get` loads through its
//! database; an instance whose session closed and strict loading give
//! `invalid_state` errors naming the attribute.

mod common;

use std::sync::{Arc, Mutex};

use common::{MODELS, kind, ok, run};
use dbridge_testkit::each_backend;

const SEED: &str = r#"
    User.insert([#{ name: "Ada", email: "ada@x" }]);
    Post.insert([#{ author_id: 1, title: "Notes", body: "long text" }]);
"#;

/// Every statement `t`'s database runs from now on.
fn statement_log(t: &dbridge_testkit::TestDb) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    t.db.on_statement(Arc::new(move |ev| {
        sink.lock().unwrap().push(ev.sql.to_string())
    }));
    log
}

each_backend!(deferred_and_expired_columns_load_on_read, |t| async move {
    let log = statement_log(&t);
    let got = ok(
        &t,
        &format!(
            r#"{MODELS}{SEED}
        let s = db.session(#{{ expire_on_commit: true }});
        let p = s.get(Post, 1);         // SELECT 1
        p.title = "Changed";            // kept through the load
        let body = p.body;              // SELECT 2: the deferred column
        let again = p.body;             // loaded: no SQL
        s.flush();
        s.expire(p);
        let title = p.title;            // SELECT 3: every expired column
        let author = p.author_id;       // loaded with it
        s.commit();
        let after_commit = p.title;     // SELECT 4
        s.close();
        `${{body}} ${{again}} ${{title}} ${{author}} ${{after_commit}}`
    "#
        ),
    )
    .await;
    assert_eq!(
        got.into_string().unwrap(),
        "long text long text Changed 1 Changed"
    );
    let selects = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("SELECT") && s.contains("\"posts\""))
        .count();
    assert_eq!(selects, 4);
});

each_backend!(
    detached_and_strict_reads_are_invalid_state,
    |t| async move {
        let detached = run(
            &t,
            &format!(
                "{MODELS}{SEED} let s = db.session(); let p = s.get(Post, 1); s.close(); p.body"
            ),
        )
        .await
        .unwrap_err();
        assert_eq!(kind(&detached), "invalid_state");
        let msg = detached.to_string();
        assert!(
            msg.contains("`body`") && msg.contains("detached") && msg.contains("merge"),
            "{msg}"
        );
        let strict = run(
        &t,
        &format!(
            "{MODELS} let s = db.session(#{{ strict_loading: true }}); let p = s.get(Post, 1); p.body"
        ),
    )
    .await
    .unwrap_err();
        assert_eq!(kind(&strict), "invalid_state");
        let msg = strict.to_string();
        assert!(
            msg.contains("strict loading") && msg.contains("`body`"),
            "{msg}"
        );
    }
);

each_backend!(
    instances_without_a_session_load_through_their_database,
    |t| async move {
        let log = statement_log(&t);
        let got = ok(
            &t,
            &format!(
                r#"{MODELS}{SEED}
        let p = db.query(Post).one();
        assert_eq(p.state(), "detached");
        let body = p.body;              // the deferred column, through the database
        let again = p.body;             // kept on the instance: no SQL
        `${{body}} ${{again}} ${{Post.get(1).body}}`
    "#
            ),
        )
        .await;
        assert_eq!(got.into_string().unwrap(), "long text long text long text");
        let body_selects = log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.starts_with("SELECT") && s.contains("\"body\""))
            .count();
        assert_eq!(body_selects, 2, "{:#?}", log.lock().unwrap());
    }
);
