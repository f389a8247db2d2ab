//! The query builder from Rhai on both backends: the SQL it compiles to, and
//! its results (instances for a model, maps for columns), with aggregates,
//! joins, subqueries and the terminal calls.

mod common;

use common::{MODELS, check, kind, ok, ok_after, run};
use dbridge_testkit::each_backend;

const DATA: &str = r#"
    db.transaction(|s| {
        let ada = s.add(User.build(#{ name: "Ada", email: "ada@example.com", karma: 10 }));
        let bob = s.add(User.build(#{ name: "Bob", email: "bob@example.com", karma: 0 }));
        let alan = s.add(User.build(#{ name: "Alan", karma: 3 }));
        s.flush();
        for title in ["Notes", "Engine", "Loops"] {
            s.add(Post.build(#{ author_id: ada.id, title: title, body: "..." }));
        }
        s.add(Post.build(#{ author_id: alan.id, title: "Turing" }));
    });
"#;

each_backend!(query_sql, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        [
            db.query(User).where(User.karma.gt(0), User.name.like("A%"))
                .order_by(User.karma.desc()).limit(10).sql(),
            db.query([User.name, dbridge::func("count", [Post.id]).label("n")])
                .join(Post, Post.author_id.eq(User.id))
                .group_by(User.name).having(dbridge::func("count", [Post.id]).gt(1)).sql(),
            User.update(#{ karma: User.karma + 1 }).where(User.id.in_([1, 2])).sql(),
        ]
    "#,
    )
    .await;
    let sql: Vec<String> = v.into_typed_array().unwrap();
    let cast = match t.backend() {
        dbridge_engine::Backend::Postgres => "::bigint",
        _ => "",
    };
    assert_eq!(
        sql[0],
        r#"SELECT "users"."id", "users"."name", "users"."email", "users"."karma", "users"."created_at" FROM "users" WHERE "users"."karma" > $1 AND "users"."name" LIKE $2 ORDER BY "users"."karma" DESC LIMIT $3"#
    );
    assert_eq!(
        sql[1],
        format!(
            r#"SELECT "users"."name", count("posts"."id") AS "n" FROM "users" JOIN "posts" ON "posts"."author_id" = "users"."id" GROUP BY "users"."name" HAVING count("posts"."id") > $1{cast}"#
        )
    );
    assert_eq!(
        sql[2],
        r#"UPDATE "users" SET "karma" = "users"."karma" + $1 WHERE "users"."id" IN ($2, $3)"#
    );
});

each_backend!(model_queries_return_instances, |t| async move {
    check(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let top = db.query(User)
            .where(User.karma.gt(0), User.name.like("A%"))
            .order_by(User.karma.desc()).limit(10).all();
        assert_eq(top.map(|u| u.name), ["Ada", "Alan"]);
        assert_eq(type_of(top[0]), "Instance");
        assert_eq(top[0].state(), "detached");       // no session: a short-lived one

        let s = db.session();
        let ada = s.query(User).filter_by(#{{ name: "Ada" }}).one();
        assert_eq(ada.state(), "persistent");
        assert_eq(s.query(User).where(User.name.eq("Ada")).first() == ada, true);
        assert_eq(s.query(User).where(User.name.eq("Nobody")).first(), ());
        assert_eq(s.query(User).where(User.name.eq("Nobody")).one_or_none(), ());
        let kinds = [];
        try {{ s.query(User).one(); }} catch (e) {{ kinds.push(e.kind); }}
        try {{ s.query(User).where(User.name.eq("Nobody")).one(); }} catch (e) {{ kinds.push(e.kind); }}
        assert_eq(kinds, ["multiple_rows", "not_found"]);

        // Autoflush: a pending instance is seen by the next query.
        s.add(User.build(#{{ name: "Cy", karma: 1 }}));
        assert_eq(s.query(User).where(User.karma.ge(1)).count(), 3);
        assert_eq(s.query(User).where(User.name.eq("Cy")).exists(), true);
        s.rollback();
        assert_eq(db.query(User).where(User.name.eq("Cy")).exists(), false);

        // Deferred columns are not loaded by a query.
        let post = db.session().query(Post).where(Post.title.eq("Notes")).one();
        let kind = ();
        try {{ post.body; }} catch (e) {{ kind = e.kind; }}
        assert_eq(kind, "invalid_state");
    "#
        ),
    )
    .await;
});

each_backend!(expressions_and_operators, |t| async move {
    check(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let names = |q| q.order_by(User.name.asc()).all().map(|u| u.name);
        assert_eq(names.call(db.query(User).where(User.karma.between(1, 10))), ["Ada", "Alan"]);
        assert_eq(names.call(db.query(User).where(User.name.in_(["Bob", "Cy"]))), ["Bob"]);
        assert_eq(names.call(db.query(User).where(User.name.not_in(["Bob"]))), ["Ada", "Alan"]);
        assert_eq(names.call(db.query(User).where(User.email.is_null())), ["Alan"]);
        assert_eq(names.call(db.query(User).where(User.email.is_not_null())), ["Ada", "Bob"]);
        assert_eq(names.call(db.query(User).where(User.name.ilike("a%"))), ["Ada", "Alan"]);
        assert_eq(names.call(db.query(User).where(User.name.ne("Ada") & User.karma.lt(5))), ["Alan", "Bob"]);
        assert_eq(names.call(db.query(User).where(User.name.eq("Bob") | User.karma.ge(10))), ["Ada", "Bob"]);
        assert_eq(names.call(db.query(User).where(dbridge::or_([User.karma.eq(3), User.karma.eq(0)]))), ["Alan", "Bob"]);
        assert_eq(names.call(db.query(User).where(dbridge::and_(User.karma.gt(0), dbridge::not_(User.name.eq("Ada"))))), ["Alan"]);
        assert_eq(names.call(db.query(User).where((User.karma * 2 + 1).gt(7))), ["Ada"]);
        assert_eq(names.call(db.query(User).where(User.karma.le(dbridge::literal(0)))), ["Bob"]);

        // Columns: maps, labels, functions.
        let rows = db.query([User.name, (User.karma * 10).label("score"), dbridge::func("upper", [User.name]).label("shout")])
            .order_by([User.karma.desc(), User.name]).limit(2).offset(1).all();
        assert_eq(rows, [#{{ name: "Alan", score: 30, shout: "ALAN" }}, #{{ name: "Bob", score: 0, shout: "BOB" }}]);
        assert_eq(db.query(User.karma).distinct().count(), 3);
        assert_eq(db.query(dbridge::count()).select_from(User).one().values()[0], 3);
    "#
        ),
    )
    .await;
});

each_backend!(aggregates_joins_and_subqueries, |t| async move {
    check(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let n = dbridge::func("count", [Post.id]);
        let per_author = db.query([User.name, n.label("posts")])
            .join(Post, Post.author_id.eq(User.id))
            .group_by(User.name).having(n.gt(1)).all();
        assert_eq(per_author, [#{{ name: "Ada", posts: 3 }}]);

        let everyone = db.query([User.name, n.label("posts")])
            .outerjoin(Post, Post.author_id.eq(User.id))
            .group_by([User.name]).order_by(User.name).all();
        assert_eq(everyone.map(|r| r.posts), [3, 1, 0]);

        // IN (subquery), EXISTS, a scalar subquery, a derived table.
        let authors = db.query(Post.author_id);
        assert_eq(db.query(User).where(User.id.in_(authors)).count(), 2);
        assert_eq(db.query(User).where(User.id.not_in(authors)).one().name, "Bob");
        let has_posts = dbridge::exists(db.query(Post.id).where(Post.author_id.eq(User.id)));
        assert_eq(db.query(User.name).where(has_posts).order_by(User.name).all().map(|r| r.name), ["Ada", "Alan"]);
        let top = db.query(dbridge::func("max", [User.karma]));
        assert_eq(db.query(User.name).where(User.karma.eq(top)).one().name, "Ada");
        let counts = db.query([Post.author_id, dbridge::count().label("n")]).group_by(Post.author_id).subquery("c");
        let rows = db.query([User.name, counts.n]).join(counts, counts.author_id.eq(User.id)).order_by(counts.n.desc()).all();
        assert_eq(rows, [#{{ name: "Ada", n: 3 }}, #{{ name: "Alan", n: 1 }}]);

        // Inside a session, column queries see flushed work.
        db.transaction(|s| {{
            s.add(User.build(#{{ name: "Dee" }}));
            assert_eq(s.query(User.name).where(User.name.eq("Dee")).all(), [#{{ name: "Dee" }}]);
            s.rollback();
        }});
    "#
        ),
    )
    .await;
});

each_backend!(query_errors_are_clear, |t| async move {
    let err = run(
        &t,
        &format!("{MODELS} db.query(User).filter_by(#{{ nope: 1 }})"),
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "schema");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = run(
        &t,
        &format!("{MODELS} db.query(User).join(\"posts\", true)"),
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "configuration");
    let err = run(&t, &format!("{MODELS} User.emial")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no column or relationship `emial` on model `User`"),
        "{err}"
    );
});

// A string in order_by / group_by / having is a name of the query, never a
// bound value (it was `ORDER BY $1`: rows came back in insertion order).
each_backend!(names_as_strings_order_and_group, |t| async move {
    let v = ok(
        &t,
        &format!(
            r#"{MODELS}{DATA}
        let out = [];
        out.push(db.query(User).order_by("karma").all().map(|u| u.name));
        out.push(db.query(User).order_by(["-name"]).all().map(|u| u.name));
        out.push(db.query(User.name).order_by("karma DESC").all().map(|r| r.name));
        out.push(db.query(User.name).order_by("-karma").sql());
        out.push(db.query([Post.author_id, dbridge::count().label("n")])
            .group_by("author_id").order_by(["n", "-author_id"]).all()
            .map(|r| `${{r.author_id}}=${{r.n}}`));
        for bad in ["emial", "name; DROP TABLE users"] {{
            try {{ db.query(User).order_by(bad); out.push("no error"); }}
            catch (e) {{ out.push(`${{e.kind}}: ${{e.message}}`); }}
        }}
        try {{ db.query(User).group_by(["emial"]); out.push("no error"); }}
        catch (e) {{ out.push(e.kind); }}
        out
    "#
        ),
    )
    .await;
    let out = v.into_array().unwrap();
    let s = |i: usize| out[i].to_string();
    assert_eq!(s(0), r#"["Bob", "Alan", "Ada"]"#);
    assert_eq!(s(1), r#"["Bob", "Alan", "Ada"]"#);
    assert_eq!(s(2), r#"["Ada", "Alan", "Bob"]"#);
    assert_eq!(
        s(3),
        r#"SELECT "users"."name" FROM "users" ORDER BY "users"."karma" DESC"#
    );
    assert_eq!(s(4), r#"["3=1", "1=3"]"#);
    assert!(
        s(5).starts_with(
            r#"schema: order_by: no column or label "emial" in the query (available: id, name"#
        ),
        "{}",
        s(5)
    );
    assert!(
        s(6).starts_with(r#"invalid_identifier: invalid identifier "name; DROP TABLE users""#),
        "{}",
        s(6)
    );
    assert_eq!(s(7), "schema");
});
