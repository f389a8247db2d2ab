//! Computed attributes from Rhai on both backends: hybrids, column
//! properties (deferred too) and `q.with_expression`.

mod common;

use common::{MODELS, ok};
use dbridge_testkit::each_backend;

each_backend!(hybrids_properties_and_query_expressions, |t| async move {
    let got = ok(
        &t,
        &format!(
            r#"{MODELS}
        User.insert([#{{ name: "Ada", email: "a@x", karma: 3 }}, #{{ name: "Bob", email: "b@x", karma: 5 }}]);
        Post.insert([#{{ author_id: 2, title: "x" }}, #{{ author_id: 2, title: "y" }}]);
        User.hybrid("double", |u| u.karma * 2);
        User.hybrid("shout", |u| u.name + "!", |M| M.name.concat("!"));
        let out = [];
        let bob = db.query(User).where(User.double.gt(8)).one();
        out.push(`${{bob.name}} ${{bob.double}} ${{bob.shout}}`);
        out.push(db.query(User).where(User.shout.eq("Ada!")).count());
        User.column_property("posts_n", db.query(dbridge::func("count", [Post.id])).where(Post.author_id.eq(User.id)));
        User.column_property("last_title", db.query(dbridge::func("max", [Post.title])).where(Post.author_id.eq(User.id)), #{{ deferred: true }});
        let s = db.session();
        let users = s.query(User).order_by(User.id).all();
        out.push(users.map(|u| u.posts_n));
        out.push(users[1].last_title);
        let w = s.query(User).with_expression("k10", User.karma * 10).order_by(User.id).all();
        out.push(w.map(|u| u.k10));
        s.close();
        out
    "#
        ),
    )
    .await;
    assert_eq!(
        format!("{got:?}"),
        r#"["Bob 10 Bob!", 1, [0, 2], "y", [30, 50]]"#
    );
});
