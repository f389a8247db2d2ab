//! Loading relationships on both backends: statement counts from the
//! statement log for selectin, joined, subquery and lazy loading; NULL
//! foreign keys; nested paths; unknown names; column options.

mod rel_common;

use dbridge_engine::ErrorKind;
use dbridge_engine::schema::{Column, Metadata, Model, Relationship};
use dbridge_engine::session::{Instance, Load, Session, SessionOptions};
use dbridge_engine::{SqlType, Value};
use dbridge_testkit::each_backend;
use rel_common::{Log, names, seed, setup};

each_backend!(
    selectin_loads_100_users_with_posts_in_two_statements,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 100, 10).await;
        let log = Log::attach(&t.db);
        let mut s = Session::new(&t.db);
        let users = s
            .query(&m.user)
            .order_by(m.user.col("id").unwrap())
            .options([Load::selectin("posts")])
            .all()
            .await
            .unwrap();
        assert_eq!(users.len(), 100);
        let stmts = log.take();
        assert_eq!(stmts.len(), 2, "{stmts:?}");
        assert!(stmts[1].contains(" IN ("), "{}", stmts[1]);
        for u in &users {
            let posts = u.related_many("posts").unwrap();
            assert_eq!(posts.len(), 10);
            for p in &posts {
                assert_eq!(p.get("author_id").unwrap(), u.get("id").unwrap());
                // The mirror is filled too.
                assert!(p.related_one("author").unwrap().unwrap().ptr_eq(u));
            }
        }
        // Ordered by the relationship's order_by.
        let titles = names(&users[1].related_many("posts").unwrap(), "title");
        assert_eq!(titles[0], "post11");
        assert_eq!(titles[9], "post20");
        // Access through the session to loaded relationships issues no SQL.
        let posts = s.related(&users[0], "posts").await.unwrap().into_vec();
        assert_eq!(posts.len(), 10);
        let author = s.related(&posts[3], "author").await.unwrap();
        assert!(author.one().unwrap().ptr_eq(&users[0]));
        assert_eq!(log.len(), 0);
    }
);

each_backend!(
    joined_loads_100_users_with_posts_in_one_statement,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 100, 10).await;
        // A user without posts: an empty list, not a phantom post.
        let log = Log::attach(&t.db);
        let mut s = Session::new(&t.db);
        s.add(
            Instance::with_values(
                &m.user,
                [("id", Value::from(101)), ("name", Value::from("lonely"))],
            )
            .unwrap(),
        )
        .unwrap();
        s.commit().await.unwrap();
        log.clear();
        let users = s
            .query(&m.user)
            .order_by(m.user.col("id").unwrap())
            .options([Load::joined("posts")])
            .all()
            .await
            .unwrap();
        let stmts = log.take();
        assert_eq!(stmts.len(), 1, "{stmts:?}");
        assert!(stmts[0].contains("LEFT OUTER JOIN"), "{}", stmts[0]);
        assert_eq!(users.len(), 101);
        let total: usize = users
            .iter()
            .map(|u| u.related_many("posts").unwrap().len())
            .sum();
        assert_eq!(total, 1000);
        assert!(users[100].related_many("posts").unwrap().is_empty());
        for p in users[5].related_many("posts").unwrap() {
            assert!(p.related_one("author").unwrap().unwrap().ptr_eq(&users[5]));
        }
        assert_eq!(log.len(), 0);
    }
);

each_backend!(
    lazy_loading_runs_sql_once_and_uses_the_identity_map,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 3, 2).await;
        let log = Log::attach(&t.db);
        let mut s = Session::new(&t.db);
        let u = s.get(&m.user, 1).await.unwrap().unwrap();
        assert!(!u.is_related_loaded("posts").unwrap());
        let err = u.related_many("posts").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
        assert!(
            err.to_string()
                .contains("relationship `posts` of model `User`"),
            "{err}"
        );
        log.clear();
        let posts = s.related(&u, "posts").await.unwrap().into_vec();
        assert_eq!(posts.len(), 2);
        assert_eq!(log.len(), 1);
        s.related(&u, "posts").await.unwrap();
        assert_eq!(u.related_many("posts").unwrap().len(), 2);
        assert_eq!(log.len(), 1);

        // belongs_to: one SELECT for a user not in the session, none after.
        let p3 = s.get(&m.post, 3).await.unwrap().unwrap();
        let p4 = s.get(&m.post, 4).await.unwrap().unwrap();
        log.clear();
        let a = s
            .related(&p3, "author")
            .await
            .unwrap()
            .one()
            .cloned()
            .unwrap();
        assert_eq!(a.get("name").unwrap(), Value::from("user2"));
        assert_eq!(log.len(), 1);
        let b = s
            .related(&p4, "author")
            .await
            .unwrap()
            .one()
            .cloned()
            .unwrap();
        assert!(b.ptr_eq(&a));
        assert_eq!(log.len(), 1);
    }
);

/// Posts 1-3 have authors, 4-5 a NULL author.
async fn seed_null_authors(t: &dbridge_testkit::TestDb) -> rel_common::Blog {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 2, 2).await;
    t.db.execute("UPDATE posts SET author_id = NULL WHERE id = 4", &[])
        .await
        .unwrap();
    t.db.execute(
        "INSERT INTO posts (id, author_id, title) VALUES (5, NULL, 'orphan')",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO comments (id, post_id, author_id, text) VALUES (1, 4, 1, 'on a post without author'), (2, 1, NULL, 'anonymous')",
        &[],
    )
    .await
    .unwrap();
    m
}

fn check_null_authors(posts: &[Instance]) {
    assert_eq!(posts.len(), 5);
    let authors: Vec<Option<Instance>> = posts
        .iter()
        .map(|p| p.related_one("author").unwrap())
        .collect();
    assert!(authors[0].is_some() && authors[1].is_some() && authors[2].is_some());
    assert!(
        authors[0]
            .as_ref()
            .unwrap()
            .ptr_eq(authors[1].as_ref().unwrap())
    );
    assert!(
        authors[3].is_none(),
        "a NULL key gives None, not a phantom object"
    );
    assert!(authors[4].is_none());
}

each_backend!(
    null_foreign_keys_give_none_with_every_strategy,
    |t| async move {
        let m = seed_null_authors(&t).await;
        let log = Log::attach(&t.db);
        for opt in [
            Load::joined("author"),
            Load::selectin("author"),
            Load::subquery("author"),
        ] {
            let mut s = Session::new(&t.db);
            log.clear();
            let posts = s
                .query(&m.post)
                .order_by(m.post.col("id").unwrap())
                .options([opt.clone()])
                .all()
                .await
                .unwrap();
            check_null_authors(&posts);
            assert!(log.len() <= 2, "{opt:?}: {:?}", log.take());
            // The authors' collections were not filled by a many-to-one load.
            let a = posts[0].related_one("author").unwrap().unwrap();
            assert!(!a.is_related_loaded("posts").unwrap());
        }
        // Lazy: a NULL key costs no SQL.
        let mut s = Session::new(&t.db);
        let p = s.get(&m.post, 5).await.unwrap().unwrap();
        log.clear();
        assert!(s.related(&p, "author").await.unwrap().one().is_none());
        assert_eq!(log.len(), 0);
    }
);

each_backend!(nested_path_with_a_null_in_the_middle, |t| async move {
    let m = seed_null_authors(&t).await;
    for opt in [Load::selectin("post.author"), Load::joined("post.author")] {
        let mut s = Session::new(&t.db);
        let log = Log::attach(&t.db);
        let comments = s
            .query(&m.comment)
            .order_by(m.comment.col("id").unwrap())
            .options([opt.clone()])
            .all()
            .await
            .unwrap();
        assert_eq!(comments.len(), 2);
        let p4 = comments[0].related_one("post").unwrap().unwrap();
        assert_eq!(p4.get("id").unwrap(), Value::Int8(4));
        assert!(p4.related_one("author").unwrap().is_none(), "{opt:?}");
        let p1 = comments[1].related_one("post").unwrap().unwrap();
        let a1 = p1.related_one("author").unwrap().unwrap();
        assert_eq!(a1.get("name").unwrap(), Value::from("user1"));
        // The comment's own NULL author (not asked for) stays unloaded.
        assert!(!comments[1].is_related_loaded("author").unwrap());
        let n = log.len();
        let expected = if format!("{opt:?}").contains("Joined") {
            1
        } else {
            3
        };
        assert_eq!(n, expected, "{opt:?}: {:?}", log.take());
    }
    // A joined collection below a joined collection, with users without posts
    // and posts without comments.
    let mut s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .order_by(m.user.col("id").unwrap())
        .options([Load::joined("posts.comments")])
        .all()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    let posts = users[0].related_many("posts").unwrap();
    assert_eq!(names(&posts, "title"), ["post1", "post2"]);
    assert_eq!(posts[0].related_many("comments").unwrap().len(), 1);
    assert!(posts[1].related_many("comments").unwrap().is_empty());
    assert_eq!(users[1].related_many("posts").unwrap().len(), 1);
});

each_backend!(
    unknown_relationship_names_are_clear_errors,
    |t| async move {
        let m = setup(&t.db).await;
        let mut s = Session::new(&t.db);
        let err = s
            .query(&m.user)
            .options([Load::selectin("postz")])
            .all()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Schema);
        assert_eq!(err.to_string(), "no relationship `postz` on model `User`");
        let err = s
            .query(&m.user)
            .options([Load::joined("posts.coments")])
            .all()
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "no relationship `coments` on model `Post`");
        let ada = Instance::new(&m.user);
        let err = ada.related_many("friends").unwrap_err();
        assert_eq!(err.to_string(), "no relationship `friends` on model `User`");

        // An unknown target model is named when the relationship is first used.
        let meta = Metadata::new();
        let a = meta
            .add(
                Model::builder("A")
                    .column(Column::new("id", SqlType::Int8).primary_key())
                    .relationship("b", Relationship::belongs_to("Bee"))
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let err = a.relationship("b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "relationship `b` of model `A` targets unknown model `Bee`"
        );
        // A model outside any Metadata cannot resolve relationships.
        let lone = Model::builder("Lone")
            .column(Column::new("id", SqlType::Int8).primary_key())
            .relationship("x", Relationship::has_many("A"))
            .build()
            .unwrap();
        assert!(
            lone.relationship("x")
                .unwrap_err()
                .to_string()
                .contains("not registered in a Metadata")
        );
    }
);

each_backend!(complex_query_over_several_relationships, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 4, 3).await;
    t.db.execute(
        "INSERT INTO profiles (id, user_id, bio) VALUES (1, 1, 'first'), (2, 3, 'third')",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO comments (id, post_id, author_id, text) VALUES (1, 1, 2, 'a'), (2, 1, NULL, 'b'), (3, 5, 1, 'c')",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO tags (id, name) VALUES (1, 'rust'), (2, 'sql')",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO post_tags (post_id, tag_id) VALUES (1, 1), (1, 2), (5, 2)",
        &[],
    )
    .await
    .unwrap();
    let log = Log::attach(&t.db);
    let mut s = Session::with_options(&t.db, SessionOptions::new().strict_loading(true));
    let users = s
        .query(&m.user)
        .filter(m.user.col("id").unwrap().le(3))
        .order_by(m.user.col("id").unwrap())
        .options([
            Load::joined("profile"),
            Load::selectin("posts.comments.author"),
            Load::selectin("posts.tags"),
        ])
        .all()
        .await
        .unwrap();
    // users+profiles, posts, comments, tags; comment authors are users already
    // in the identity map: no statement.
    assert_eq!(log.len(), 4, "{:?}", log.take());
    assert_eq!(users.len(), 3);
    assert_eq!(
        users[0]
            .related_one("profile")
            .unwrap()
            .unwrap()
            .get("bio")
            .unwrap(),
        Value::from("first")
    );
    assert!(users[1].related_one("profile").unwrap().is_none());
    let p1 = &users[0].related_many("posts").unwrap()[0];
    let comments = p1.related_many("comments").unwrap();
    assert_eq!(names(&comments, "text"), ["a", "b"]);
    assert!(
        comments[0]
            .related_one("author")
            .unwrap()
            .unwrap()
            .ptr_eq(&users[1])
    );
    assert!(comments[1].related_one("author").unwrap().is_none());
    assert_eq!(
        names(&p1.related_many("tags").unwrap(), "name"),
        ["rust", "sql"]
    );
    let p5 = &users[1].related_many("posts").unwrap()[1];
    assert_eq!(p5.get("id").unwrap(), Value::Int8(5));
    let c3_author = p5.related_many("comments").unwrap()[0]
        .related_one("author")
        .unwrap()
        .unwrap();
    assert!(c3_author.ptr_eq(&users[0]));
    // Strict mode: what was loaded reads without SQL; anything else is an error.
    log.clear();
    s.related(&users[2], "posts").await.unwrap();
    let err = s.related(p1, "author").await;
    assert!(err.is_ok(), "in the identity map: no SQL needed");
    let tag = &p1.related_many("tags").unwrap()[0];
    let err = s.related(tag, "posts").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(
        err.to_string()
            .starts_with("strict loading: relationship `posts` of model `Tag`"),
        "{err}"
    );
    assert_eq!(log.len(), 0);
});

each_backend!(noload_raise_and_default_strategies, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 2, 2).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .options([Load::noload("posts"), Load::raise("profile")])
        .all()
        .await
        .unwrap();
    assert!(users[0].related_many("posts").unwrap().is_empty());
    let err = users[0].related_one("profile").unwrap_err();
    assert!(err.to_string().contains("raise"), "{err}");
    let err = s.related(&users[0], "profile").await.unwrap_err();
    assert!(
        err.to_string().contains("its loading strategy is raise"),
        "{err}"
    );
    assert_eq!(log.len(), 1);

    drop(s); // SQLite: one session at a time holds the database
    // A relationship's default strategy applies to every query.
    let meta = Metadata::new();
    let a = dbridge_testkit::keyed("Author", "authors")
        .relationship(
            "books",
            Relationship::has_many("Book").lazy("selectin".parse().unwrap()),
        )
        .build()
        .unwrap();
    let b = dbridge_testkit::keyed("Book", "books")
        .column(Column::new("author_id", SqlType::Int8).references("authors", "id"))
        .build()
        .unwrap();
    meta.add_all([a.clone(), b.clone()]).unwrap();
    meta.create_all(&t.db).await.unwrap();
    t.db.execute("INSERT INTO authors (id) VALUES (1), (2)", &[])
        .await
        .unwrap();
    t.db.execute(
        "INSERT INTO books (id, author_id) VALUES (1, 1), (2, 1)",
        &[],
    )
    .await
    .unwrap();
    s = Session::new(&t.db);
    log.clear();
    let authors = s
        .query(&a)
        .order_by(a.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(authors[0].related_many("books").unwrap().len(), 2);
    assert!(authors[1].related_many("books").unwrap().is_empty());
    // ... unless a query says otherwise.
    s = Session::new(&t.db);
    log.clear();
    let authors = s
        .query(&a)
        .options([Load::lazy("books")])
        .all()
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert!(!authors[0].is_related_loaded("books").unwrap());
});

each_backend!(deferred_columns_and_load_only, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 1, 2).await;
    t.db.execute("UPDATE posts SET body = 'long text'", &[])
        .await
        .unwrap();
    let mut s = Session::new(&t.db);
    let posts = s.query(&m.post).all().await.unwrap();
    assert!(!posts[0].is_loaded("body").unwrap(), "deferred by default");
    s = Session::new(&t.db);
    let posts = s
        .query(&m.post)
        .options([Load::undefer("body"), Load::defer("title")])
        .all()
        .await
        .unwrap();
    assert_eq!(posts[0].get("body").unwrap(), Value::from("long text"));
    assert!(!posts[0].is_loaded("title").unwrap());
    s = Session::new(&t.db);
    let posts = s
        .query(&m.post)
        .options([Load::load_only(["title"])])
        .all()
        .await
        .unwrap();
    assert!(posts[0].is_loaded("title").unwrap());
    assert!(posts[0].is_loaded("id").unwrap());
    assert!(!posts[0].is_loaded("author_id").unwrap());
    // Column options for a related model, by path.
    s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .options([Load::selectin("posts"), Load::undefer("posts.body")])
        .all()
        .await
        .unwrap();
    let p = &users[0].related_many("posts").unwrap()[0];
    assert_eq!(p.get("body").unwrap(), Value::from("long text"));
    let err = s
        .query(&m.post)
        .options([Load::defer("id")])
        .all()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be deferred"), "{err}");
});

each_backend!(subquery_loading_follows_the_parent_query, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 5, 2).await;
    t.db.execute(
        "INSERT INTO comments (id, post_id, text) VALUES (1, 1, 'x'), (2, 3, 'y'), (3, 9, 'z')",
        &[],
    )
    .await
    .unwrap();
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .order_by(m.user.col("id").unwrap())
        .limit(2)
        .options([Load::subquery("posts.comments")])
        .all()
        .await
        .unwrap();
    let stmts = log.take();
    assert_eq!(stmts.len(), 3, "{stmts:?}");
    assert!(stmts[1].contains("IN (SELECT"), "{}", stmts[1]);
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].related_many("posts").unwrap().len(), 2);
    let p3 = &users[1].related_many("posts").unwrap()[0];
    assert_eq!(names(&p3.related_many("comments").unwrap(), "text"), ["y"]);
    // Only the limited users' posts were loaded.
    assert_eq!(s.identity_map_len(), 2 + 4 + 2);
    // joined on a collection with LIMIT loads by selectin (the limit counts users).
    s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .order_by(m.user.col("id").unwrap())
        .limit(2)
        .options([Load::joined("posts")])
        .all()
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].related_many("posts").unwrap().len(), 2);
});

each_backend!(any_has_join_related_and_contains_eager, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 3, 0).await;
    t.db.execute(
        "INSERT INTO posts (id, author_id, title) VALUES (1, 1, 'Alpha'), (2, 1, 'Beta'), (3, 2, 'Gamma'), (4, NULL, 'Delta')",
        &[],
    )
    .await
    .unwrap();
    let mut s = Session::new(&t.db);
    let with_posts = s
        .query(&m.user)
        .filter(m.user.any("posts", None).unwrap())
        .count()
        .await
        .unwrap();
    assert_eq!(with_posts, 2);
    let cond = m.post.col("title").unwrap().eq("Gamma");
    let gamma = s
        .query(&m.user)
        .filter(m.user.any("posts", Some(cond)).unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(names(&gamma, "name"), ["user2"]);
    let cond = m.user.col("name").unwrap().eq("user1");
    let by_user1 = s
        .query(&m.post)
        .filter(m.post.has("author", Some(cond)).unwrap())
        .count()
        .await
        .unwrap();
    assert_eq!(by_user1, 2);
    let authored = s
        .query(&m.post)
        .filter(m.post.has("author", None).unwrap())
        .count()
        .await
        .unwrap();
    assert_eq!(authored, 3);
    assert_eq!(
        m.user.has("posts", None).unwrap_err().kind(),
        ErrorKind::Schema
    );

    // Join along a relationship, filter on the joined table, and fill the
    // relationship from that join.
    s = Session::new(&t.db);
    let log = Log::attach(&t.db);
    let posts = s
        .query(&m.post)
        .join_related("author")
        .unwrap()
        .filter(m.user.col("name").unwrap().eq("user1"))
        .order_by(m.post.col("id").unwrap())
        .options([Load::contains_eager("author")])
        .all()
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(names(&posts, "title"), ["Alpha", "Beta"]);
    let a = posts[0].related_one("author").unwrap().unwrap();
    assert_eq!(a.get("name").unwrap(), Value::from("user1"));
    let err = s
        .query(&m.post)
        .options([Load::contains_eager("author")])
        .all()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no join to model `User`"), "{err}");
});

each_backend!(many_to_many_add_remove_clear_contains, |t| async move {
    let m = setup(&t.db).await;
    let mut s = Session::new(&t.db);
    let post = Instance::with_values(&m.post, [("title", "p")]).unwrap();
    let rust = Instance::with_values(&m.tag, [("name", "rust")]).unwrap();
    let sql = Instance::with_values(&m.tag, [("name", "sql")]).unwrap();
    post.add_related("tags", &rust).unwrap();
    post.add_related("tags", &sql).unwrap();
    post.add_related("tags", &sql).unwrap(); // once only
    assert!(post.contains_related("tags", &rust).unwrap());
    // back_populates in memory
    assert!(rust.contains_related("posts", &post).unwrap());
    s.add(post.clone()).unwrap(); // save-update adds the tags
    s.commit().await.unwrap();
    assert!(rust.primary_key().is_some());
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM post_tags", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(2));

    // Loading through the association table, from both sides.
    let mut s2 = Session::new(&t.db);
    let p = s2
        .get(&m.post, post.get("id").unwrap())
        .await
        .unwrap()
        .unwrap();
    let tags = s2.related(&p, "tags").await.unwrap().into_vec();
    assert_eq!(tags.len(), 2);
    let r = tags
        .iter()
        .find(|t| t.get("name").unwrap() == Value::from("rust"))
        .unwrap()
        .clone();
    let back = s2.related(&r, "posts").await.unwrap().into_vec();
    assert!(back[0].ptr_eq(&p));

    p.remove_related("tags", &r).unwrap();
    assert!(!r.contains_related("posts", &p).unwrap());
    s2.commit().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM post_tags", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(1));
    p.clear_related("tags").unwrap();
    assert!(p.related_many("tags").unwrap().is_empty());
    s2.commit().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM post_tags", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
    // Tags themselves stay.
    assert_eq!(s2.query(&m.tag).count().await.unwrap(), 2);
    // Joined and selectin over the association table.
    p.add_related("tags", &r).unwrap();
    s2.commit().await.unwrap();
    for opt in [Load::joined("tags"), Load::selectin("tags")] {
        let mut s3 = Session::new(&t.db);
        let posts = s3.query(&m.post).options([opt]).all().await.unwrap();
        assert_eq!(
            names(&posts[0].related_many("tags").unwrap(), "name"),
            ["rust"]
        );
    }
    // Deleting a post deletes its association rows.
    s2.delete(&p).unwrap();
    s2.commit().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM post_tags", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
});
