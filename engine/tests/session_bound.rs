//! Instances loaded without a session and bound to their database
//! (`Instance::bind_database`, what a binding's `Model:get` and `db:query`
//! do): a relationship or a deferred column not loaded is read through a
//! fresh session on that database, and what it loads is bound too. An
//! instance that left a session (expunged, closed) is not bound.

mod rel_common;

use dbridge_engine::session::{Instance, Session};
use dbridge_engine::{ErrorKind, Value};
use dbridge_testkit::each_backend;
use rel_common::{names, seed, setup};

/// Post `id` as a binding's `Model:get` gives it: loaded by a short-lived
/// session, then closed (detached) and bound to the database.
async fn get_bound(t: &dbridge_testkit::TestDb, m: &rel_common::Blog, id: i64) -> Instance {
    let mut s = Session::new(&t.db);
    let p = s.get(&m.post, id).await.unwrap().unwrap();
    s.close().await.unwrap();
    p.bind_database(&t.db);
    p
}

each_backend!(
    bound_instances_load_through_their_database,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 2, 2).await;
        t.db.execute("UPDATE posts SET body = 'text' WHERE id = 3", &[])
            .await
            .unwrap();
        let post = get_bound(&t, &m, 3).await;
        assert!(post.session_id().is_none());
        let author = post.load_related_bound("author").await.unwrap().unwrap();
        let author = author.one().unwrap().clone();
        assert_eq!(author.get("name").unwrap(), Value::from("user2"));
        // Kept on the instance, and the author is bound too: its collection loads.
        assert!(
            post.related("author")
                .unwrap()
                .one()
                .unwrap()
                .ptr_eq(&author)
        );
        assert!(author.bound_database().is_some());
        let posts = author.load_related_bound("posts").await.unwrap().unwrap();
        assert_eq!(names(&posts.into_vec(), "title"), ["post3", "post4"]);
        // A deferred column.
        assert!(!post.is_loaded("body").unwrap());
        assert_eq!(
            post.load_attribute_bound("body").await.unwrap(),
            Some(Value::from("text"))
        );
        assert_eq!(post.get("body").unwrap(), Value::from("text"));
    }
);

each_backend!(
    instances_that_left_a_session_are_not_bound,
    |t| async move {
        let m = setup(&t.db).await;
        seed(&t.db, &m, 1, 1).await;
        let mut s = Session::new(&t.db);
        let p = s.get(&m.post, 1).await.unwrap().unwrap();
        s.expunge(&p);
        p.bind_database(&t.db);
        // Bound once detached; a session that takes it again unbinds it.
        assert!(p.bound_database().is_some());
        let mut s2 = Session::new(&t.db);
        s2.add(p.clone()).unwrap();
        assert!(p.bound_database().is_none());
        s2.expunge(&p);
        assert!(p.load_related_bound("author").await.unwrap().is_none());
        assert_eq!(p.load_attribute_bound("body").await.unwrap(), None);
        assert_eq!(p.get("body").unwrap_err().kind(), ErrorKind::InvalidState);
        // An instance of a live session is never bound.
        let q = s.get(&m.post, 1).await.unwrap().unwrap();
        q.bind_database(&t.db);
        assert!(q.bound_database().is_none());
    }
);

each_backend!(
    expunge_all_bound_binds_what_eager_loaders_brought_in,
    |t| async move {
        use dbridge_engine::session::Load;
        let m = setup(&t.db).await;
        seed(&t.db, &m, 2, 2).await;
        let mut s = Session::new(&t.db);
        let users = s
            .query(&m.user)
            .options([Load::selectin("posts")])
            .all()
            .await
            .unwrap();
        s.commit().await.unwrap();
        let pending = Instance::new(&m.user);
        s.add(pending.clone()).unwrap();
        s.expunge_all_bound();
        let posts = users[0].related("posts").unwrap().into_vec();
        assert_eq!(names(&posts, "title"), ["post1", "post2"]);
        // The eagerly loaded posts are bound: each one's author loads.
        for i in users.iter().chain(&posts) {
            assert!(i.session_id().is_none());
            assert!(
                i.bound_database().is_some(),
                "{} is not bound",
                i.describe()
            );
        }
        let author = posts[0]
            .load_related_bound("author")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            author.one().unwrap().get("name").unwrap(),
            Value::from("user1")
        );
        // An instance that was pending (no row yet) is not bound.
        assert!(pending.bound_database().is_none());
    }
);
