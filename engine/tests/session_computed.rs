//! Column properties and `with_expression` on both backends: SQL expressions
//! loaded with the rows as read-only attributes of the instances.

mod session_common;

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{Expr, Select, func};
use dbridge_engine::session::{Instance, Registry, Session, SessionOptions};
use dbridge_testkit::each_backend;
use session_common::setup;

each_backend!(column_properties_and_query_expressions, |t| async move {
    let m = setup(&t.db).await;
    let registry = Registry::new();
    let count = Select::from(&m.post).column(func::count_star()).filter(
        m.post
            .col("author_id")
            .unwrap()
            .eq(m.user.col("id").unwrap()),
    );
    registry
        .column_property(&m.user, "post_count", Expr::subquery(count.clone()), false)
        .unwrap();
    registry
        .column_property(&m.user, "later", Expr::subquery(count), true)
        .unwrap();
    let e = registry
        .column_property(&m.user, "name", Expr::val(1), false)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Schema);
    let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
    let ada = s
        .add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
        .unwrap();
    for title in ["a", "b"] {
        let p = Instance::with_values(&m.post, [("title", title)]).unwrap();
        p.set_reference("author_id", &ada).unwrap();
        s.add(p).unwrap();
    }
    s.commit().await.unwrap();
    s.expunge_all();
    let users = s.query(&m.user).all().await.unwrap();
    assert_eq!(users[0].get("post_count").unwrap().as_i64(), Some(2));
    assert_eq!(users[0].expression("later"), None);
    assert_eq!(
        s.load_attribute(&users[0], "later").await.unwrap().as_i64(),
        Some(2)
    );
    let found = s
        .query(&m.user)
        .with_expression("shout", m.user.col("name").unwrap().concat("!"))
        .unwrap()
        .all()
        .await
        .unwrap();
    assert_eq!(found[0].get("shout").unwrap().as_str(), Some("Ada!"));
    assert_eq!(found[0].get("name").unwrap().as_str(), Some("Ada"));
    s.close().await.unwrap();
});
