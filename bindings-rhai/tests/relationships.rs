//! Relationships from Rhai on both backends: declarations, `back_populates`
//! in memory, lazy loading through the instance's session, loader options
//! (counted in the statement log), raise and strict loading, cascades,
//! many-to-many collections, `any` / `has`, joins by relationship name, and
//! the example of DESIGN.md.

mod common;

use std::sync::{Arc, Mutex};

use common::{check, check_after, kind, ok_after, run};
use dbridge_testkit::{TestDb, each_backend};

/// Users, posts (with tags through `post_tags`) and profiles.
const MODELS: &str = r#"
    let User = db.model(#{
        name: "User", table: "users",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["name", "text", #{ nullable: false }],
        ],
        relations: #{
            posts: dbridge::has_many("Post", #{
                back_populates: "author", order_by: "id",
                cascade: "save-update, delete, delete-orphan",
            }),
            profile: dbridge::has_one("Profile", #{ back_populates: "user" }),
        },
    });
    let Post = db.model(#{
        name: "Post", table: "posts",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["author_id", "integer", #{ references: "users.id" }],
            ["title", "text"],
            ["body", "text", #{ deferred: true }],
        ],
        relations: #{
            author: dbridge::belongs_to("User", #{ back_populates: "posts" }),
            tags: dbridge::many_to_many("Tag", #{ secondary: "post_tags", back_populates: "posts" }),
        },
    });
    let Tag = db.model(#{
        name: "Tag", table: "tags",
        columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
    });
    let Profile = db.model(#{
        name: "Profile", table: "profiles",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["user_id", "integer", #{ references: "users.id", unique: true }],
            ["bio", "text"],
        ],
        relations: #{ user: dbridge::belongs_to("User", #{ back_populates: "profile" }) },
    });
    db.create_all();
"#;

/// Two users, three posts (one without an author).
const ROWS: &str = r#"
    db.execute("INSERT INTO users (id, name) VALUES (1, 'Ada'), (2, 'Bob')");
    db.execute(`INSERT INTO posts (id, author_id, title, body) VALUES
        (1, 1, 'Analytical', 'a'), (2, 1, 'Notes', 'b'), (3, NULL, 'Orphan', 'c')`);
"#;

/// The SELECT statements the test database runs from now on.
fn selects(t: &TestDb) -> Arc<Mutex<Vec<String>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    t.db.on_statement(Arc::new(move |ev| {
        if ev.sql.starts_with("SELECT") {
            sink.lock().unwrap().push(ev.sql.to_string());
        }
    }));
    log
}

fn count(log: &Arc<Mutex<Vec<String>>>) -> usize {
    log.lock().unwrap().len()
}

async fn error_of(t: &TestDb, script: &str) -> (String, String) {
    let err = run(t, script).await.expect_err("the script should fail");
    let message = dbridge_rhai::db_error(&err)
        .map(|e| e.message().to_string())
        .unwrap_or_else(|| err.to_string());
    (kind(&err), message)
}

each_backend!(declarations_are_described_and_checked, |t| async move {
    check_after(&t, MODELS, r#"
        assert_eq(User.relationship_names(), ["posts", "profile"]);
        assert_eq(Post.relationship_names(), ["author", "tags"]);
        assert_eq(Tag.relationship_names(), ["posts"]);      // implied by back_populates
        let rels = User.relationships();
        assert_eq(rels[0].relationship, "posts");
        assert_eq(rels[0].kind, "has_many");
        assert_eq(rels[0].target, "Post");
        assert_eq(rels[0].back_populates, "author");
        let d = Post.describe();                  // columns, then relationships
        assert_eq(d.map(|r| r.column ?? r.relationship), ["id", "author_id", "title", "body", "author", "tags"]);
        assert_eq(d[1].references, "users(id)");
        assert_eq(d[4].kind, "belongs_to");
        assert_eq(type_of(User.posts), "RelationshipAttribute");
        assert_eq(type_of(Post.title), "Expr");
        assert_eq(db.fetch_all("SELECT * FROM post_tags"), []); // declared by `secondary`
    "#)
    .await;
    let (k, m) = error_of(
        &t,
        r#"dbridge::belongs_to("User", #{ back_populate: "posts" })"#,
    )
    .await;
    assert_eq!(k, "schema");
    assert!(m.contains("`back_populate`"), "{m}");
    let (k, m) = error_of(&t, r#"dbridge::many_to_many("Tag")"#).await;
    assert_eq!(k, "schema");
    assert!(m.contains("secondary"), "{m}");
    let (k, m) = error_of(&t, r#"db.model(#{ name: "X", relations: #{ y: 1 } })"#).await;
    assert_eq!(k, "schema");
    assert!(m.contains("relation `y`"), "{m}");
});

each_backend!(
    models_reference_each_other_in_either_order,
    |t| async move {
        check(
            &t,
            r#"
        // Post references users.id before User is declared: it waits for it.
        let Post = db.model(#{
            name: "Post", table: "posts",
            columns: [["id", "integer", #{ primary_key: true }],
                      ["author_id", "integer", #{ references: "users.id" }]],
            relations: #{ author: dbridge::belongs_to("User", #{ back_populates: "posts" }) },
        });
        assert_eq(db.models().map(|m| m.model_name()), ["Post"]);   // listed while it waits
        assert_eq(db.model("Post") == Post, true);
        let caught = ();
        try { db.create_all(); } catch (e) { caught = e; }
        assert_eq(caught.kind, "configuration");
        assert_eq(caught.message,
            "invalid configuration: model `Post` references table `users`, which no declared model maps");
        caught = ();
        try { db.model(#{ name: "Post", table: "other", columns: [["id", "integer", #{ primary_key: true }]] }); }
        catch (e) { caught = e; }
        assert_eq(caught.kind, "schema");
        assert_eq(caught.message.contains("a model named `Post`"), true);
        let User = db.model(#{
            name: "User", table: "users",
            columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
        });
        db.create_all();
        assert_eq(db.models().map(|m| m.model_name()), ["Post", "User"]);
        let ada = User.build(#{ name: "Ada" });
        let p = Post.build(#{ author: ada });
        assert_eq(ada.posts.contains(p), true);
        db.transaction(|s| { s.add(p); });
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM posts WHERE author_id IS NOT NULL").n, 1);
    "#,
        )
        .await;
    }
);

each_backend!(
    back_populates_both_ways_in_memory_and_keys_at_flush,
    |t| async move {
        check_after(
            &t,
            MODELS,
            r#"
        let ada = User.build(#{ name: "Ada" });
        let notes = Post.build(#{ title: "Notes", author: ada });
        assert_eq(notes.author == ada, true);
        assert_eq(ada.posts.len(), 1);
        assert_eq(ada.posts[0] == notes, true);
        let more = Post.build(#{ title: "More" });
        ada.posts.add(more);                       // the other side
        assert_eq(more.author == ada, true);
        let bob = User.build(#{ name: "Bob" });
        more.author = bob;                         // moves it
        assert_eq(ada.posts.len(), 1);
        assert_eq(bob.posts.contains(more), true);
        let p = Profile.build(#{ bio: "math" });
        ada.profile = p;
        assert_eq(p.user == ada, true);
        db.transaction(|s| { s.add(ada); s.add(bob); });
        assert_eq(notes.author_id, ada.id);
        assert_eq(more.author_id, bob.id);
        assert_eq(p.user_id, ada.id);
        more.author = ();
        assert_eq(more.author_id, ());
        assert_eq(bob.posts.len(), 0);
    "#,
        )
        .await;
    }
);

each_backend!(lazy_loading_through_the_session, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    let log = selects(&t);
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session();
        let post = s.get(Post, 1);
        let ada = post.author;                     // lazy: one SELECT
        assert_eq(ada.name, "Ada");
        assert_eq(post.author == ada, true);       // loaded now: no SQL
        let titles = [];
        for p in ada.posts { titles.push(p.title); }   // lazy: one SELECT
        assert_eq(titles, ["Analytical", "Notes"]);
        assert_eq(ada.posts[1].title, "Notes");
        assert_eq(ada.posts[-1].title, "Notes");
        assert_eq(ada.posts.all().len(), 2);
        assert_eq(ada.posts[0].author == ada, true); // the mirror is filled
        assert_eq(s.get(Post, 3).author, ());      // NULL key: no SQL
        let bob = s.get(User, 2);
        assert_eq(bob.posts.len(), 0);
        assert_eq(bob.profile, ());
        s.rollback();
    "#,
    )
    .await;
    // get(1), author, ada.posts, get(3), get(2), bob.posts, bob.profile
    assert_eq!(count(&log), 7, "{:#?}", log.lock().unwrap());
});

each_backend!(loader_options_set_the_statement_count, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        db.transaction(|s| {
            for i in 0..20 {
                let u = s.add(User.build(#{ name: `user ${i}` }));
                for j in 0..5 { u.posts.add(Post.build(#{ title: `post ${i}.${j}` })); }
            }
        });
    "#,
    )
    .await;
    let log = selects(&t);
    let script = |options: &str| {
        format!(
            r#"{MODELS}
            let s = db.session();
            let users = s.query(User).order_by(User.id).options({options}).all();
            let n = 0;
            for u in users {{ for p in u.posts {{ n += 1; assert_eq(p.author == u, true); }} }}
            assert_eq(n, 100);
            s.rollback();
        "#
        )
    };
    check(&t, &script(r#"dbridge::selectinload("posts")"#)).await;
    assert_eq!(count(&log), 2, "selectin: {:#?}", log.lock().unwrap());
    log.lock().unwrap().clear();
    check(&t, &script(r#"dbridge::joinedload("posts")"#)).await;
    assert_eq!(count(&log), 1, "joined: {:#?}", log.lock().unwrap());
    log.lock().unwrap().clear();
    check(&t, &script(r#"dbridge::subqueryload("posts")"#)).await;
    assert_eq!(count(&log), 2, "subquery: {:#?}", log.lock().unwrap());
    log.lock().unwrap().clear();
    // Already loaded: reading again runs nothing; db.query detaches them loaded.
    let users = ok_after(
        &t,
        MODELS,
        r#"
        let users = db.query(User).options(dbridge::selectinload("posts")).all();
        users
    "#,
    )
    .await;
    assert_eq!(count(&log), 2);
    log.lock().unwrap().clear();
    let (engine, _) = common::engine(dbridge_rhai::Options::sandboxed());
    let mut scope = rhai::Scope::new();
    scope.push("users", users);
    let n: i64 = engine
        .eval_with_scope(
            &mut scope,
            "let n = 0; for u in users { n += u.posts.len(); } n",
        )
        .unwrap();
    assert_eq!(n, 100);
    assert_eq!(count(&log), 0);
    // Nested paths, and the default strategy of a declaration.
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session();
        let posts = s.query(Post).options(dbridge::joinedload("author.posts")).all();
        assert_eq(posts.len(), 100);
        assert_eq(posts[0].author.posts.len(), 5);
        s.rollback();
    "#,
    )
    .await;
    assert_eq!(count(&log), 1, "{:#?}", log.lock().unwrap());
});

each_backend!(unknown_relationships_are_named, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    for (script, needle) in [
        (
            "db.query(User).options(dbridge::selectinload(\"postz\")).all()",
            "no relationship `postz` on model `User`",
        ),
        (
            "db.query(User).first().postz",
            "no column or relationship `postz` on model `User`",
        ),
        (
            "User.postz",
            "no column or relationship `postz` on model `User`",
        ),
        (
            "db.query(User).join(\"postz\").all()",
            "no relationship `postz` on model `User`",
        ),
    ] {
        let (k, m) = error_of(&t, &format!("{MODELS}{script}")).await;
        assert_eq!(k, "schema", "{script}: {m}");
        assert!(m.contains(needle), "{script}: {m}");
    }
});

each_backend!(raise_strict_and_detached_are_errors, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    let cases = [
        (
            "let s = db.session(); s.query(User).options(dbridge::raiseload(\"posts\")).first().posts",
            "raise",
        ),
        (
            "let s = db.session(#{ strict_loading: true }); s.get(User, 1).posts",
            "strict loading",
        ),
        (
            "let s = db.session(); s.strict_loading = true; s.get(Post, 1).author",
            "strict loading",
        ),
        (
            "let s = db.session(); let u = s.query(User).first(); s.close(); u.posts",
            "not loaded",
        ),
        (
            "db.query(User).options(dbridge::raiseload(\"posts\")).first().posts",
            "raise",
        ),
    ];
    for (script, needle) in cases {
        let (k, m) = error_of(&t, &format!("{MODELS}{script}")).await;
        assert_eq!(k, "invalid_state", "{script}: {m}");
        assert!(m.contains(needle), "{script}: {m}");
    }
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session(#{ strict_loading: true });
        assert_eq(s.strict_loading, true);
        let u = s.query(User).options(dbridge::selectinload("posts")).first();
        assert_eq(u.posts.len(), 2);                // loaded by the option: fine
        let none = s.query(User).options(dbridge::noload("posts")).all();
        assert_eq(none[1].posts.len(), 0);
        s.rollback();
    "#,
    )
    .await;
});

each_backend!(cascade_delete_and_delete_orphan, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    check_after(
        &t,
        MODELS,
        r#"
        db.transaction(|s| {
            let ada = s.get(User, 1);
            let first = ada.posts[0];
            ada.posts.remove(first);               // delete-orphan
            assert_eq(first.author, ());
        });
        assert_eq(db.fetch_all("SELECT id FROM posts ORDER BY id").map(|r| r.id), [2, 3]);
        db.transaction(|s| { s.delete(s.get(User, 1)); });   // delete: its posts go first
        assert_eq(db.fetch_all("SELECT id FROM posts ORDER BY id").map(|r| r.id), [3]);
        assert_eq(db.fetch_all("SELECT id FROM users").map(|r| r.id), [2]);
        // A has-one that is not loaded is loaded before it is replaced.
        db.execute("INSERT INTO profiles (id, user_id, bio) VALUES (1, 2, 'x')");
        db.transaction(|s| { let bob = s.get(User, 2); bob.profile = (); });
        assert_eq(db.fetch_one("SELECT user_id FROM profiles").user_id, ());
        let c = db.transaction(|s| {
            let bob = s.get(User, 2);
            bob.posts.add(Post.build(#{ title: "a" })).add(Post.build(#{ title: "b" }))
        });
        assert_eq(c.len(), 2);                        // add returns the collection
    "#,
    )
    .await;
});

each_backend!(many_to_many_collections, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    check_after(
        &t,
        MODELS,
        r#"
        let rust = Tag.build(#{ name: "rust" });
        let sql = Tag.build(#{ name: "sql" });
        let lua = Tag.build(#{ name: "lua" });
        db.transaction(|s| {
            let post = s.get(Post, 1);
            post.tags.add(rust);
            post.tags.add(sql);
            post.tags.add(rust);                   // already there: nothing
            assert_eq(post.tags.len(), 2);
            assert_eq(post.tags.contains(sql), true);
            assert_eq(sql in post.tags, true);
            assert_eq(rust.posts.contains(post), true);   // the mirror
            let other = s.get(Post, 2);
            other.tags = [sql, lua];
        });
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM post_tags").n, 4);
        db.transaction(|s| {
            let post = s.get(Post, 1);
            assert_eq(post.tags.all().map(|t| t.name).len(), 2);
            let first = post.tags[0];
            post.tags.remove(first);
            assert_eq(post.tags.contains(first), false);
            s.get(Post, 2).tags.clear();
        });
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM post_tags").n, 1);
        let s = db.session();
        let tagged = s.query(Post).where(Post.tags.any()).all();
        assert_eq(tagged.len(), 1);
        assert_eq(tagged[0].id, 1);
        s.rollback();
    "#,
    )
    .await;
});

each_backend!(any_has_and_joins_by_relationship_name, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    check_after(
        &t,
        MODELS,
        r#"
        let a = db.query(User).where(User.posts.any(Post.title.like("A%"))).all();
        assert_eq(a.map(|u| u.name), ["Ada"]);
        assert_eq(db.query(User).where(!User.posts.any()).all().map(|u| u.name), ["Bob"]);
        let p = db.query(Post).where(Post.author.has(User.name.eq("Ada"))).order_by(Post.id).all();
        assert_eq(p.map(|p| p.id), [1, 2]);
        assert_eq(db.query(Post).where(Post.author.has()).count(), 2);
        let joined = db.query(User).join("posts").where(Post.title.eq("Notes")).all();
        assert_eq(joined.map(|u| u.name), ["Ada"]);
        assert_eq(db.query(User).join(User.posts).count(), 2);
        let outer = db.query(Post).outerjoin("author").order_by(Post.id)
            .options(dbridge::contains_eager("author")).all();
        assert_eq(outer.len(), 3);
        assert_eq(outer[0].author.name, "Ada");       // filled from the join
        assert_eq(outer[2].author, ());
        let s = db.session();
        assert_eq(s.query(User).join("posts").where(Post.id.eq(2)).one().name, "Ada");
        s.rollback();
    "#,
    )
    .await;
});

each_backend!(deferred_columns_and_column_options, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    check_after(&t, MODELS, r#"
        let s = db.session();
        let p = s.query(Post).where(Post.id.eq(1)).one();
        assert_eq(p.to_map().contains("body"), false); // deferred: not loaded...
        assert_eq(p.body, "a");                       // ...until it is read
        s.expunge_all();
        let p = s.query(Post).where(Post.id.eq(1)).options(dbridge::undefer("body")).one();
        assert_eq(p.body, "a");
        s.expunge_all();
        let p = s.query(Post).options(dbridge::load_only(["title"])).where(Post.id.eq(2)).one();
        assert_eq(p.title, "Notes");
        assert_eq(p.to_map().contains("author_id"), false);
        let failed = "";
        s.strict_loading = true;                      // strict: no load on read
        try { p.author_id; } catch (e) { failed = e.kind + "!"; }
        assert_eq(failed, "invalid_state!");
        s.strict_loading = false;
        assert_eq(p.author_id, 1);
        s.expunge_all();
        let u = s.get(User, 1, [dbridge::selectinload("posts"), dbridge::defer("body").under("posts")]);
        assert_eq(u.posts.len(), 2);
        let p2 = s.query(Post).options(dbridge::defer("title")).where(Post.id.eq(3)).one();
        s.load([u], dbridge::selectinload("profile"));
        assert_eq(u.profile, ());
        s.rollback();
    "#)
    .await;
});

each_backend!(the_design_example_in_rhai, |t| async move {
    check(
        &t,
        r#"
        let User = db.model(#{
            name: "User", table: "users",
            columns: [
                ["id", "integer", #{ primary_key: true }],
                ["name", "text", #{ nullable: false }],
                ["email", "text", #{ unique: true }],
                ["karma", "integer", #{ "default": 0 }],
                ["created_at", "timestamptz", #{ "default": dbridge::now }],
            ],
        });
        let Post = db.model(#{
            name: "Post", table: "posts",
            columns: [
                ["id", "integer", #{ primary_key: true }],
                ["author_id", "integer", #{ references: "users.id", on_delete: "cascade" }],
                ["title", "text"],
                ["body", "text", #{ deferred: true }],
            ],
            relations: #{ author: dbridge::belongs_to("User", #{ back_populates: "posts" }) },
        });
        db.create_all();

        db.on(User, "before_insert", |session, user| { user.email = user.email.to_lower(); });

        db.transaction(|s| {
            let ada = s.add(User.build(#{ name: "Ada", email: "ADA@example.com" }));
            s.flush();
            s.add(Post.build(#{ author: ada, title: "Notes" }));
            ada.karma = ada.karma + 1;
        });

        let top = db.query(User)
            .where(User.karma.gt(0), User.name.like("A%"))
            .options(dbridge::selectinload("posts"))
            .order_by(User.karma.desc()).limit(10).all();
        assert_eq(top.len(), 1);
        assert_eq(top[0].email, "ada@example.com");
        assert_eq(top[0].posts.len(), 1);
        assert_eq(top[0].posts[0].title, "Notes");
        let rows = [];
        for row in db.stream("SELECT id, name FROM users WHERE karma > $1", [0]) { rows.push(row.name); }
        assert_eq(rows, ["Ada"]);
    "#,
    )
    .await;
});

each_backend!(a_declared_strategy_is_the_default, |t| async move {
    let models = r#"
        let Owner = db.model(#{
            name: "Owner", table: "owners",
            columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
            relations: #{ pets: dbridge::has_many("Pet", #{
                back_populates: "owner", lazy: "joined", passive_deletes: true, order_by: "id",
            }) },
        });
        let Pet = db.model(#{
            name: "Pet", table: "pets",
            columns: [["id", "integer", #{ primary_key: true }],
                      ["owner_id", "integer", #{ references: "owners.id", on_delete: "cascade" }],
                      ["name", "text"]],
        });
        db.create_all();
    "#;
    check_after(
        &t,
        models,
        r#"
        db.transaction(|s| {
            let o = s.add(Owner.build(#{ name: "Ann" }));
            o.pets = [Pet.build(#{ name: "Rex" }), Pet.build(#{ name: "Tom" })];
        });
    "#,
    )
    .await;
    let log = selects(&t);
    check_after(
        &t,
        models,
        r#"
        let owners = db.query(Owner).all();          // joined by default: one statement
        assert_eq(owners[0].pets.all().map(|p| p.name), ["Rex", "Tom"]);
        assert_eq(owners[0].pets[0].owner == owners[0], true);
        assert_eq(Owner.relationships()[0].lazy, "joined");
        let lazy = db.query(Owner).options(dbridge::lazyload("pets")).first();
        assert_eq(lazy.pets.len(), 2);               // loaded on access: a third statement
    "#,
    )
    .await;
    assert_eq!(count(&log), 3, "{:#?}", log.lock().unwrap());
    // passive_deletes: the database's ON DELETE CASCADE removes the pets.
    check_after(
        &t,
        models,
        r#"
        db.transaction(|s| { s.delete(s.query(Owner).options(dbridge::lazyload("pets")).one()); });
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM pets").n, 0);
    "#,
    )
    .await;
});

each_backend!(foreign_key_secondary_columns_and_through, |t| async move {
    check(
        &t,
        r#"
        // Every option key is written unquoted in a map literal: none is a Rhai keyword.
        let Node = db.model(#{
            name: "Node", table: "nodes",
            columns: [["id", "integer", #{ primary_key: true }],
                      ["parent_id", "integer", #{ references: "nodes.id" }],
                      ["label", "text"]],
            relations: #{
                parent: dbridge::belongs_to("Node", #{ foreign_key: "parent_id", back_populates: "children" }),
                children: dbridge::has_many("Node", #{
                    foreign_key: "parent_id", back_populates: "parent",
                    cascade: "all, delete-orphan", order_by: "id", lazy: "lazy",
                }),
                links: dbridge::many_to_many("Node", #{
                    secondary: "node_links", secondary_columns: ["from_id", "to_id"],
                }),
            },
        });
        let Course = db.model(#{
            name: "Course", table: "courses",
            columns: [["id", "integer", #{ primary_key: true }], ["title", "text"]],
            relations: #{ students: dbridge::many_to_many("Student", #{
                through: "Enrollment", back_populates: "courses", passive_deletes: false,
            }) },
        });
        let Student = db.model(#{
            name: "Student", table: "students",
            columns: [["id", "integer", #{ primary_key: true }], ["name", "text"]],
        });
        let Enrollment = db.model(#{
            name: "Enrollment", table: "enrollments",
            columns: [["course_id", "integer", #{ primary_key: true, references: "courses.id" }],
                      ["student_id", "integer", #{ primary_key: true, references: "students.id" }],
                      ["grade", "text", #{ "default": "none" }]],
        });
        db.create_all();

        let root = Node.build(#{ label: "root" });
        let a = Node.build(#{ label: "a" });
        root.children.add(a);
        let b = Node.build(#{ label: "b", parent: root });
        a.links.add(b);
        db.transaction(|s| { s.add(root); });
        assert_eq(b.parent_id, root.id);
        assert_eq(db.fetch_one("SELECT count(*) AS n FROM node_links").n, 1);
        let s = db.session();
        let labels = s.get(Node, root.id).children.all().map(|n| n.label);
        labels.sort();
        assert_eq(labels, ["a", "b"]);
        assert_eq(s.get(Node, a.id).links[0].label, "b");
        assert_eq(s.get(Node, b.id).parent.label, "root");
        s.rollback();

        let math = Course.build(#{ title: "math" });
        let ann = Student.build(#{ name: "Ann" });
        math.students.add(ann);
        assert_eq(ann.courses.contains(math), true);
        db.transaction(|s| { s.add(math); });
        assert_eq(db.fetch_one("SELECT grade FROM enrollments").grade, "none");
        let s = db.session();
        assert_eq(s.get(Student, ann.id).courses[0].title, "math");
        s.rollback();
    "#,
    )
    .await;
});

each_backend!(load_takes_instances_at_hand, |t| async move {
    check(&t, &format!("{MODELS}{ROWS}")).await;
    let log = selects(&t);
    check_after(
        &t,
        MODELS,
        r#"
        let s = db.session();
        let users = s.query(User).order_by(User.id).all();
        s.load(users, dbridge::selectinload("posts"));   // an array
        let ada = users[0];
        s.load(ada.posts, [dbridge::selectinload("tags")]);   // a collection
        s.load(users[1], dbridge::selectinload("profile"));   // one instance
        assert_eq(ada.posts.len(), 2);
        assert_eq(ada.posts.is_empty(), false);
        assert_eq(users[1].posts.is_empty(), true);
        assert_eq(ada.posts[0].tags.is_empty(), true);
        assert_eq(users[1].profile, ());
        let kind = ();
        try { s.load(42, dbridge::selectinload("posts")); } catch (e) { kind = e.kind; }
        assert_eq(kind, "invalid_value");
        s.rollback();
    "#,
    )
    .await;
    // The users, then one statement per load: posts, tags, profile.
    assert_eq!(count(&log), 4, "{:?}", log.lock().unwrap());
});
