//! Names where a query takes an expression: `order_by_name`, `group_by_name`,
//! `name_ref`. A name is a column or label of the query, quoted, never bound.

mod common;

use common::*;
use dbridge_engine::dialect::compile;
use dbridge_engine::query::{Run, Select, func};
use dbridge_engine::{Backend, Row};
use dbridge_testkit::each_backend;

fn names(rows: &[Row]) -> Vec<String> {
    texts(rows, "name")
}

each_backend!(order_by_name_sorts_by_the_column, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let q = Select::from(&m.user).order_by_name("name").unwrap();
    let sql = compile(&q, t.backend()).unwrap().sql().to_owned();
    assert!(sql.ends_with(r#"ORDER BY "users"."name""#), "{sql}");
    let rows = q.fetch_all(&t.db).await.unwrap();
    assert_eq!(names(&rows), ["Ada", "Barbara", "Grace", "Linus"]);
    for spec in ["-karma", "karma DESC", "karma desc", "karma\tDESC"] {
        let q = Select::from(&m.user).order_by_name(spec).unwrap();
        let rows = q.fetch_all(&t.db).await.unwrap();
        assert_eq!(names(&rows), ["Ada", "Grace", "Linus", "Barbara"], "{spec}");
    }
    let q = Select::from(&m.user).order_by_name("karma ASC").unwrap();
    let rows = q.fetch_all(&t.db).await.unwrap();
    assert_eq!(names(&rows), ["Barbara", "Linus", "Grace", "Ada"]);
});

each_backend!(labels_come_first_then_columns, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let p = &m.post;
    let q = Select::from(p)
        .column(p.col("author_id").unwrap())
        .column(func::count_star().label("n").unwrap())
        .filter(p.col("author_id").unwrap().is_not_null())
        .group_by_name("author_id")
        .unwrap()
        .order_by_name("-n")
        .unwrap();
    let sql = compile(&q, t.backend()).unwrap().sql().to_owned();
    assert!(sql.contains(r#"GROUP BY "posts"."author_id""#), "{sql}");
    assert!(sql.ends_with(r#"ORDER BY "n" DESC"#), "{sql}");
    let rows = q.fetch_all(&t.db).await.unwrap();
    assert_eq!(ints(&rows, "author_id"), [1, 2, 3]);
    assert_eq!(ints(&rows, "n"), [3, 2, 1]);
    // A column of the table that is not selected is still a name of the query.
    let q = Select::from(p)
        .column(p.col("title").unwrap())
        .filter(p.col("score").unwrap().is_not_null())
        .order_by_name("-score")
        .unwrap();
    let rows = q.fetch_all(&t.db).await.unwrap();
    assert_eq!(texts(&rows, "title")[0], "Notes on the Engine");
});

each_backend!(qualified_and_ambiguous_names, |t| async move {
    let m = models();
    seed(&t.db, &m).await;
    let (u, p) = (&m.user, &m.post);
    let joined = || Select::from(u).join(p, p.col("author_id").unwrap().eq(u.col("id").unwrap()));
    let err = joined().order_by_name("id").unwrap_err();
    assert_eq!(err.kind().as_str(), "schema");
    let msg = err.to_string();
    assert!(
        msg.contains("ambiguous") && msg.contains("`users.id`") && msg.contains("`posts.id`"),
        "{msg}"
    );
    let q = joined().order_by_name("-posts.id").unwrap().limit(2);
    let rows = q.fetch_all(&t.db).await.unwrap();
    assert_eq!(ints(&rows, "posts_id"), [6, 5]);
    assert!(joined().order_by_name("nope.id").is_err());
});

#[test]
fn unknown_names_are_schema_errors_listing_what_there_is() {
    let m = models();
    let q = Select::from(&m.user).column(m.user.col("name").unwrap());
    let err = q.clone().order_by_name("emial").unwrap_err();
    assert_eq!(err.kind().as_str(), "schema");
    let msg = err.to_string();
    assert!(msg.contains("\"emial\""), "{msg}");
    assert!(
        msg.contains("available: name, users.id, users.name, users.email"),
        "{msg}"
    );
    let err = q.clone().group_by_name("emial").unwrap_err();
    assert!(err.to_string().starts_with("group_by: "), "{err}");
    assert_eq!(q.name_ref("emial").unwrap_err().kind().as_str(), "schema");
    let err = Select::new().order_by_name("x").unwrap_err();
    assert!(err.to_string().contains("no tables or labels"), "{err}");
}

#[test]
fn strings_that_are_not_names_are_invalid_identifiers() {
    let m = models();
    let q = Select::from(&m.user);
    for bad in [
        "name; DROP TABLE users",
        "name DESC; DROP TABLE users",
        "name\"; DROP TABLE users; --",
        "name -- comment",
        "1",
        "",
        "-",
        "name\0",
        "users.name.x",
        "lower(name)",
        "name NULLS LAST",
        " name",
        "name\n",
        "- name",
        "--name",
    ] {
        let err = q.clone().order_by_name(bad).unwrap_err();
        assert_eq!(err.kind().as_str(), "invalid_identifier", "{bad:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("a column or label name of the query"), "{msg}");
        assert!(msg.contains("available: "), "{msg}");
        assert!(!msg.contains('\0'), "{msg:?}");
        let sql = compile(&q, Backend::Postgres).unwrap();
        assert!(!sql.sql().contains("ORDER BY"));
    }
}
