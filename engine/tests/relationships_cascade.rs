//! back_populates and ORM cascades on both backends: save-update, delete
//! (three levels), delete-orphan, passive deletes left to ON DELETE CASCADE /
//! SET NULL with the identity map kept consistent, self-referential trees.

mod rel_common;

use dbridge_engine::ErrorKind;
use dbridge_engine::Value;
use dbridge_engine::session::{Instance, InstanceState, Session};
use dbridge_testkit::each_backend;
use rel_common::{Log, names, seed, setup};

each_backend!(back_populates_keeps_both_sides_in_step, |t| async move {
    let m = setup(&t.db).await;
    let ada = Instance::with_values(&m.user, [("name", "Ada")]).unwrap();
    let bob = Instance::with_values(&m.user, [("name", "Bob")]).unwrap();
    let post = Instance::with_values(&m.post, [("title", "Notes")]).unwrap();
    post.set_related("author", Some(&ada)).unwrap();
    assert!(ada.contains_related("posts", &post).unwrap());
    assert!(post.related_one("author").unwrap().unwrap().ptr_eq(&ada));
    // Moving the post to another author moves it between the collections.
    post.set_related("author", Some(&bob)).unwrap();
    assert!(!ada.contains_related("posts", &post).unwrap());
    assert!(bob.contains_related("posts", &post).unwrap());
    // The other side: adding to a collection sets the many-to-one.
    ada.add_related("posts", &post).unwrap();
    assert!(post.related_one("author").unwrap().unwrap().ptr_eq(&ada));
    assert!(!bob.contains_related("posts", &post).unwrap());
    // A wrong model is refused.
    let err = ada.add_related("posts", &bob).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(
        err.to_string()
            .contains("holds `Post` instances, not `User`"),
        "{err}"
    );

    // Flush writes the key (the author is inserted first).
    let mut s = Session::new(&t.db);
    s.add(post.clone()).unwrap(); // save-update: adds ada through post.author
    assert_eq!(ada.state(), InstanceState::Pending);
    s.add(bob.clone()).unwrap();
    s.commit().await.unwrap();
    assert_eq!(post.get("author_id").unwrap(), ada.get("id").unwrap());

    // Persistent instances: the key is set at once; the unloaded collection
    // of the new author sees the post after the autoflush of its lazy load.
    post.set_related("author", Some(&bob)).unwrap();
    assert_eq!(post.get("author_id").unwrap(), bob.get("id").unwrap());
    let mut s2 = Session::new(&t.db);
    let bob2 = s2
        .get(&m.user, bob.get("id").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        s2.related(&bob2, "posts")
            .await
            .unwrap()
            .into_vec()
            .is_empty()
    );
    s2.close().await.unwrap(); // SQLite: one session at a time holds the database
    s.commit().await.unwrap();
    let bob_posts = s.related(&bob, "posts").await.unwrap().into_vec();
    assert_eq!(bob_posts.len(), 1);
    assert!(bob_posts[0].ptr_eq(&post));
    // Clearing the many-to-one writes NULL.
    post.set_related("author", None).unwrap();
    assert!(!bob.contains_related("posts", &post).unwrap());
    s.commit().await.unwrap();
    let row =
        t.db.fetch_one("SELECT author_id FROM posts", &[])
            .await
            .unwrap();
    assert_eq!(row.get("author_id").unwrap(), &Value::Null);
});

each_backend!(
    save_update_cascade_adds_new_children_and_grandchildren,
    |t| async move {
        let m = setup(&t.db).await;
        let log = Log::attach(&t.db);
        let mut s = Session::new(&t.db);
        let ada = Instance::with_values(&m.user, [("name", "Ada")]).unwrap();
        for i in 0..3 {
            let p = Instance::with_values(&m.post, [("title", format!("p{i}"))]).unwrap();
            let c = Instance::with_values(&m.comment, [("text", format!("c{i}"))]).unwrap();
            p.add_related("comments", &c).unwrap();
            ada.add_related("posts", &p).unwrap();
        }
        s.add(ada.clone()).unwrap();
        assert_eq!(s.pending().len(), 7);
        s.commit().await.unwrap();
        // One multi-row INSERT per table.
        assert_eq!(log.count("INSERT"), 3, "{:?}", log.take());
        assert_eq!(t.count("comments").await, 3);
        // Adding a new child to a persistent parent's collection adds it at the flush.
        let p0 = ada.related_many("posts").unwrap()[0].clone();
        let extra = Instance::with_values(&m.comment, [("text", "late")]).unwrap();
        p0.add_related("comments", &extra).unwrap();
        s.commit().await.unwrap();
        assert_eq!(extra.state(), InstanceState::Persistent);
        assert_eq!(extra.get("post_id").unwrap(), p0.get("id").unwrap());
    }
);

each_backend!(delete_cascade_three_levels, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 2, 2).await;
    t.db.execute(
        "INSERT INTO comments (id, post_id, text) VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 3, 'other user')",
        &[],
    )
    .await
    .unwrap();
    let mut s = Session::new(&t.db);
    let u1 = s.get(&m.user, 1).await.unwrap().unwrap();
    // Nothing loaded: the cascade loads posts, then their comments.
    s.delete(&u1).unwrap();
    s.flush().await.unwrap();
    let posts = u1.related_many("posts").unwrap();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p.state() == InstanceState::Deleted));
    let comments = posts[0].related_many("comments").unwrap();
    assert_eq!(comments.len(), 2);
    assert!(comments.iter().all(|c| c.state() == InstanceState::Deleted));
    s.commit().await.unwrap();
    assert_eq!(comments[0].state(), InstanceState::Detached);
    assert_eq!(t.count("users").await, 1);
    assert_eq!(t.count("posts").await, 2);
    assert_eq!(t.count("comments").await, 1);
    // The second user: its comment goes with its post (comment.author has
    // no cascade, but post.comments does).
    let mut s = Session::new(&t.db);
    let c4 = s.get(&m.comment, 4).await.unwrap().unwrap();
    let u2 = s.get(&m.user, 2).await.unwrap().unwrap();
    c4.set_related("author", Some(&u2)).unwrap();
    s.commit().await.unwrap();
    s.delete(&u2).unwrap();
    s.commit().await.unwrap();
    assert_eq!(c4.state(), InstanceState::Detached);
    assert_eq!(t.count("users").await, 0);
    assert_eq!(t.count("posts").await, 0);
    assert_eq!(t.count("comments").await, 0);
});

each_backend!(delete_orphan_deletes_removed_children, |t| async move {
    let m = setup(&t.db).await;
    seed(&t.db, &m, 1, 1).await;
    t.db.execute(
        "INSERT INTO comments (id, post_id, text) VALUES (1, 1, 'a'), (2, 1, 'b')",
        &[],
    )
    .await
    .unwrap();
    let mut s = Session::new(&t.db);
    let p = s.get(&m.post, 1).await.unwrap().unwrap();
    let comments = s.related(&p, "comments").await.unwrap().into_vec();
    p.remove_related("comments", &comments[0]).unwrap();
    assert!(comments[0].related_one("post").unwrap().is_none());
    s.commit().await.unwrap();
    assert_eq!(comments[0].state(), InstanceState::Detached);
    assert_eq!(t.count("comments").await, 1);
    // Re-adding before the flush saves it.
    p.remove_related("comments", &comments[1]).unwrap();
    p.add_related("comments", &comments[1]).unwrap();
    s.commit().await.unwrap();
    assert_eq!(t.count("comments").await, 1);
    // A new child removed again is just forgotten.
    let c = Instance::with_values(&m.comment, [("text", "new")]).unwrap();
    p.add_related("comments", &c).unwrap();
    s.commit().await.unwrap();
    assert_eq!(t.count("comments").await, 2);
    p.clear_related("comments").unwrap();
    s.commit().await.unwrap();
    assert_eq!(t.count("comments").await, 0);

    // has_one with delete-orphan: replacing the profile deletes the old one.
    // (profiles.user_id is UNIQUE and a flush inserts before it deletes: the
    // old one goes in a flush of its own.)
    let u = s.get(&m.user, 1).await.unwrap().unwrap();
    let first = Instance::with_values(&m.profile, [("bio", "first")]).unwrap();
    u.set_related("profile", Some(&first)).unwrap();
    s.commit().await.unwrap();
    assert_eq!(first.get("user_id").unwrap(), Value::Int8(1));
    u.set_related("profile", None).unwrap();
    s.flush().await.unwrap();
    assert_eq!(first.state(), InstanceState::Deleted);
    let second = Instance::with_values(&m.profile, [("bio", "second")]).unwrap();
    u.set_related("profile", Some(&second)).unwrap();
    s.commit().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT bio FROM profiles", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("bio").unwrap(), &Value::from("second"));
});

each_backend!(passive_deletes_leave_it_to_the_database, |t| async move {
    let m = setup(&t.db).await;
    t.db.execute("INSERT INTO sites (id) VALUES (1), (2)", &[])
        .await
        .unwrap();
    t.db.execute(
        "INSERT INTO entries (id, site_id) VALUES (1, 1), (2, 1), (3, 2)",
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "INSERT INTO notes (id, entry_id) VALUES (1, 1), (2, 3)",
        &[],
    )
    .await
    .unwrap();
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let e1 = s.get(&m.entry, 1).await.unwrap().unwrap();
    let n1 = s.get(&m.note, 1).await.unwrap().unwrap();
    let site = s.get(&m.site, 1).await.unwrap().unwrap();
    log.clear();
    s.delete(&site).unwrap();
    s.flush().await.unwrap();
    // One DELETE, no SELECT of the entries.
    let stmts = log.take();
    assert_eq!(stmts.len(), 1, "{stmts:?}");
    assert!(stmts[0].starts_with("DELETE"));
    // The identity map follows what ON DELETE did.
    assert_eq!(e1.state(), InstanceState::Deleted);
    assert!(s.identity(&m.entry, 1).unwrap().is_none());
    assert_eq!(n1.get("entry_id").unwrap(), Value::Null);
    assert!(n1.changed().is_empty());
    s.commit().await.unwrap();
    assert_eq!(t.count("entries").await, 1);
    assert_eq!(e1.state(), InstanceState::Detached);
    let n1_row =
        t.db.fetch_one("SELECT entry_id FROM notes WHERE id = 1", &[])
            .await
            .unwrap();
    assert_eq!(n1_row.get("entry_id").unwrap(), &Value::Null);
});

each_backend!(self_referential_tree, |t| async move {
    let m = setup(&t.db).await;
    let mut s = Session::new(&t.db);
    let root = Instance::with_values(&m.node, [("label", "root")]).unwrap();
    let a = Instance::with_values(&m.node, [("label", "a")]).unwrap();
    let b = Instance::with_values(&m.node, [("label", "b")]).unwrap();
    let a1 = Instance::with_values(&m.node, [("label", "a1")]).unwrap();
    root.add_related("children", &a).unwrap();
    root.add_related("children", &b).unwrap();
    a1.set_related("parent", Some(&a)).unwrap();
    assert!(a.contains_related("children", &a1).unwrap());
    s.add(root.clone()).unwrap();
    s.commit().await.unwrap();
    assert_eq!(a1.get("parent_id").unwrap(), a.get("id").unwrap());
    assert_eq!(root.get("parent_id").unwrap(), Value::Null);

    let mut s = Session::new(&t.db);
    let roots = s
        .query(&m.node)
        .filter(m.node.col("parent_id").unwrap().is_null())
        .options([dbridge_engine::session::Load::selectin("children.children")])
        .all()
        .await
        .unwrap();
    assert_eq!(roots.len(), 1);
    let kids = roots[0].related_many("children").unwrap();
    assert_eq!(names(&kids, "label"), ["a", "b"]);
    assert_eq!(
        names(&kids[0].related_many("children").unwrap(), "label"),
        ["a1"]
    );
    assert!(kids[1].related_many("children").unwrap().is_empty());
    assert!(
        kids[0]
            .related_one("parent")
            .unwrap()
            .unwrap()
            .ptr_eq(&roots[0])
    );
    s.rollback().await.unwrap(); // SQLite: one session at a time holds the database
    // Joined on a self-reference aliases the table.
    let mut s2 = Session::new(&t.db);
    let all = s2
        .query(&m.node)
        .order_by(m.node.col("id").unwrap())
        .options([dbridge_engine::session::Load::joined("parent")])
        .all()
        .await
        .unwrap();
    assert!(all[0].related_one("parent").unwrap().is_none());
    assert_eq!(
        all[3]
            .related_one("parent")
            .unwrap()
            .unwrap()
            .get("label")
            .unwrap(),
        Value::from("a")
    );
    s2.close().await.unwrap();
    // Deleting the root deletes the whole tree (children before parents).
    s.delete(&roots[0]).unwrap();
    s.commit().await.unwrap();
    assert_eq!(t.count("nodes").await, 0);
});
