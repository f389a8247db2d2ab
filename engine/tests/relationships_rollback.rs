//! Relationships and rollback on both backends: a rollback expires loaded
//! relationships with the columns, so that in-memory changes to them
//! (instances moved between collections, association rows and orphan
//! deletions waiting for a flush) are forgotten and what reloads is the
//! database's.

mod rel_common;

use dbridge_engine::Value;
use dbridge_engine::session::{Instance, Load, Session};
use dbridge_testkit::each_backend;
use rel_common::{names, seed, setup};

each_backend!(
    rollback_expires_a_changed_collection_like_the_columns,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 2, 2).await;
        let mut s = Session::new(&t.db);
        let users = s
            .query(&m.user)
            .order_by(m.user.col("id").unwrap())
            .options([Load::selectin("posts")])
            .all()
            .await
            .unwrap();
        let (ada, bob) = (&users[0], &users[1]);
        let moved = ada.related_many("posts").unwrap()[0].clone();
        // Move a post from Ada to Bob, in memory and flushed, then roll back.
        bob.add_related("posts", &moved).unwrap();
        assert!(!ada.contains_related("posts", &moved).unwrap());
        s.flush().await.unwrap();
        s.rollback().await.unwrap();

        // Expired like the columns: reading needs the session again.
        assert!(ada.related_many("posts").is_err());
        assert!(bob.related_many("posts").is_err());
        assert!(moved.get("author_id").is_err());
        // What reloads is the database's: the post is Ada's again.
        let posts = s.related(ada, "posts").await.unwrap().into_vec();
        assert_eq!(names(&posts, "title"), ["post1", "post2"]);
        assert!(posts.iter().any(|p| p.ptr_eq(&moved)));
        assert_eq!(moved.get("author_id").unwrap(), ada.get("id").unwrap());
        let posts = s.related(bob, "posts").await.unwrap().into_vec();
        assert_eq!(names(&posts, "title"), ["post3", "post4"]);
        s.close().await.unwrap();
    }
);

each_backend!(
    rollback_forgets_association_rows_not_yet_flushed,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 1, 1).await;
        let mut s = Session::new(&t.db);
        let tag = s
            .add(
                Instance::with_values(&m.tag, [("id", Value::from(1)), ("name", "rust".into())])
                    .unwrap(),
            )
            .unwrap();
        s.commit().await.unwrap();
        let post = s.get(&m.post, 1).await.unwrap().unwrap();
        post.add_related("tags", &tag).unwrap();
        s.rollback().await.unwrap();
        // A later change to the post flushes the post, not the forgotten link.
        post.set("title", "renamed").unwrap();
        s.commit().await.unwrap();
        assert_eq!(t.count("post_tags").await, 0);
        let tags = s.related(&post, "tags").await.unwrap().into_vec();
        assert!(tags.is_empty());
        s.close().await.unwrap();
    }
);

each_backend!(
    rollback_keeps_an_orphan_that_was_removed_in_memory,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 1, 1).await;
        let mut s = Session::new(&t.db);
        let post = s.get(&m.post, 1).await.unwrap().unwrap();
        let comment = Instance::with_values(&m.comment, [("text", "first")]).unwrap();
        post.add_related("comments", &comment).unwrap();
        s.add(comment.clone()).unwrap();
        s.commit().await.unwrap();
        assert_eq!(t.count("comments").await, 1);

        // comments is `delete-orphan`: removing one deletes it at the next flush...
        let comments = s.related(&post, "comments").await.unwrap().into_vec();
        post.remove_related("comments", &comments[0]).unwrap();
        // ...unless the transaction is rolled back first.
        s.rollback().await.unwrap();
        s.commit().await.unwrap();
        assert_eq!(t.count("comments").await, 1);
        let comments = s.related(&post, "comments").await.unwrap().into_vec();
        assert_eq!(names(&comments, "text"), ["first"]);
        s.close().await.unwrap();
    }
);

each_backend!(
    rollback_to_a_savepoint_expires_relationships_too,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 1, 2).await;
        let mut s = Session::new(&t.db);
        let ada = s.get(&m.user, 1).await.unwrap().unwrap();
        let posts = s.related(&ada, "posts").await.unwrap().into_vec();
        s.begin_nested().await.unwrap();
        ada.remove_related("posts", &posts[0]).unwrap();
        s.flush().await.unwrap();
        s.rollback_nested().await.unwrap();
        assert!(ada.related_many("posts").is_err());
        let posts = s.related(&ada, "posts").await.unwrap().into_vec();
        assert_eq!(names(&posts, "title"), ["post1", "post2"]);
        s.commit().await.unwrap();
        s.close().await.unwrap();
    }
);
