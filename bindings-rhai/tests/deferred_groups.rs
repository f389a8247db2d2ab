//! Deferred column groups from Rhai (`["body", "text", #{ deferred: "texts" }]`):
//! reading one column of a group loads the whole group in one SELECT, in a
//! session and on an instance of `db.query` (through its database);
//! `dbridge::undefer_group("texts")` loads the group with the query. The
//! statements are counted with `db.on_statement`.

mod common;

use common::{check, run};
use dbridge_testkit::each_backend;

const DECL: &str = r#"
    let Article = db.model(#{ name: "Article", table: "articles", columns: [
        ["id", "integer", #{ primary_key: true }],
        ["title", "text", #{ nullable: false }],
        ["body", "text", #{ deferred: "texts" }],
        ["summary", "text", #{ deferred: "texts" }],
        ["cover", "text", #{ deferred: "media" }],
        ["notes", "text", #{ deferred: true }],
    ] });
    db.create_all();
"#;

const SEED: &str = r#"
    Article.insert([#{ id: 1, title: "A", body: "long text", summary: "short", cover: "a.png", notes: "n" }]);
    let selects = 0;
    let off = db.on_statement(|ev| { if ev.sql.starts_with("SELECT") { selects += 1; } });
    // The columns an instance has loaded (without loading them).
    fn loaded(a) {
        let m = a.to_map();
        let out = [];
        for c in ["title", "body", "summary", "cover", "notes"] {
            if c in m { out.push(c); }
        }
        out
    }
"#;

each_backend!(a_group_loads_in_one_select, |t| async move {
    check(
        &t,
        &format!(
            r#"{DECL}{SEED}
        let s = db.session();
        let a = s.get(Article, 1);
        assert_eq(loaded(a), ["title"]);
        let before = selects;
        assert_eq(a.summary, "short");      // the group `texts`: one SELECT
        assert_eq(selects - before, 1);
        assert_eq(loaded(a), ["title", "body", "summary"]);
        assert_eq(a.body, "long text");     // loaded with it: no SQL
        assert_eq(selects - before, 1);
        assert_eq(a.cover, "a.png");        // another group: one more SELECT
        assert_eq(selects - before, 2);
        assert_eq(loaded(a), ["title", "body", "summary", "cover"]);
        s.close();

        // An instance of db.query loads through its database, a group at a time.
        let d = db.query(Article).one();
        let before = selects;
        assert_eq(d.body, "long text");
        assert_eq(selects - before, 1);
        assert_eq(loaded(d), ["title", "body", "summary"]);
    "#
        ),
    )
    .await;
});

each_backend!(undefer_group_loads_with_the_query, |t| async move {
    check(
        &t,
        &format!(
            r#"{DECL}{SEED}
        let before = selects;
        let a = db.query(Article).options(dbridge::undefer_group("texts")).one();
        assert_eq(selects - before, 1);
        assert_eq(loaded(a), ["title", "body", "summary"]);
        let s = db.session();
        let b = s.query(Article).options(dbridge::undefer_group("media"), dbridge::undefer("notes")).one();
        assert_eq(loaded(b), ["title", "cover", "notes"]);
        s.close();
        assert_eq(dbridge::undefer_group("texts").to_string(), "dbridge::undefer_group(\"texts\")");
    "#
        ),
    )
    .await;
    let e = run(
        &t,
        &format!(
            r#"{DECL}
        db.query(Article).options(dbridge::undefer_group("textz")).all()"#
        ),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no deferred group `textz` on model `Article`"),
        "{e}"
    );
});

each_backend!(deferred_must_be_a_boolean_or_a_group, |t| async move {
    let e = run(
        &t,
        r#"db.model(#{ name: "Bad", table: "bad", columns: [
            ["id", "integer", #{ primary_key: true }], ["body", "text", #{ deferred: 1 }] ] })"#,
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("`deferred` must be a boolean or the name of a deferred group"),
        "{e}"
    );
});

each_backend!(get_with_column_options_loads_them, |t| async move {
    check(
        &t,
        &format!(
            r#"{DECL}{SEED}
        let s = db.session();
        let before = selects;
        let a = s.get(Article, 1, [dbridge::undefer_group("texts"), dbridge::undefer("notes")]);
        assert_eq(selects - before, 2);     // the row, then the columns asked for
        assert_eq(loaded(a), ["title", "body", "summary", "notes"]);
        assert_eq(a.body, "long text");     // loaded already: no SQL
        assert_eq(selects - before, 2);
        s.close();
    "#
        ),
    )
    .await;
});
