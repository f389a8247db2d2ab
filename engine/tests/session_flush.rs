//! The unit of work on both backends: foreign-key order, batched inserts,
//! all-or-nothing flushes, rollback and savepoints, optimistic concurrency.

mod session_common;

use dbridge_engine::session::{Instance, InstanceState, Registry, Session, SessionOptions};
use dbridge_engine::{ErrorKind, Value};
use dbridge_testkit::each_backend;
use session_common::{Log, seed_users, setup};

each_backend!(graph_of_new_objects_in_fk_order, |t| async move {
    let m = setup(&t.db).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    // Children first in add order; references to instances not yet inserted.
    let mut posts = Vec::new();
    let mut users = Vec::new();
    for u in 0..3 {
        let user = Instance::with_values(&m.user, [("name", format!("u{u}"))]).unwrap();
        for p in 0..2 {
            let post = Instance::with_values(&m.post, [("title", format!("p{u}.{p}"))]).unwrap();
            post.set_reference("author_id", &user).unwrap();
            s.add(post.clone()).unwrap();
            posts.push(post);
        }
        users.push(user.clone());
        s.add(user).unwrap();
    }
    // A tree of nodes: root <- child <- grandchild, added bottom-up.
    let root = Instance::with_values(&m.node, [("label", "root")]).unwrap();
    let child = Instance::with_values(&m.node, [("label", "child")]).unwrap();
    let grandchild = Instance::with_values(&m.node, [("label", "grandchild")]).unwrap();
    grandchild.set_reference("parent_id", &child).unwrap();
    child.set_reference("parent_id", &root).unwrap();
    // A pair referencing each other (a cycle): one key is post-updated.
    let left = Instance::with_values(&m.node, [("label", "left")]).unwrap();
    let right = Instance::with_values(&m.node, [("label", "right")]).unwrap();
    left.set_reference("buddy_id", &right).unwrap();
    right.set_reference("buddy_id", &left).unwrap();
    s.add_all([
        grandchild.clone(),
        child.clone(),
        root.clone(),
        left.clone(),
        right.clone(),
    ])
    .unwrap();
    s.commit().await.unwrap();

    let stmts = log.take();
    let inserts: Vec<&String> = stmts.iter().filter(|s| s.starts_with("INSERT")).collect();
    // users in one batch before posts in one batch; nodes level by level.
    let first_user = inserts
        .iter()
        .position(|s| s.contains("\"users\""))
        .unwrap();
    let first_post = inserts
        .iter()
        .position(|s| s.contains("\"posts\""))
        .unwrap();
    assert!(first_user < first_post, "{inserts:?}");
    assert_eq!(
        inserts.iter().filter(|s| s.contains("\"users\"")).count(),
        1
    );
    assert_eq!(
        inserts.iter().filter(|s| s.contains("\"posts\"")).count(),
        1
    );
    // Three levels, each batched by the columns its rows set (an unset key is
    // left out of the INSERT): root sets no key, left its buddy key (NULL
    // until the post-update); child its parent, right its buddy; grandchild.
    assert_eq!(
        inserts.iter().filter(|s| s.contains("\"nodes\"")).count(),
        5,
        "{inserts:?}"
    );
    assert_eq!(
        stmts
            .iter()
            .filter(|s| s.starts_with("UPDATE \"nodes\" SET \"buddy_id\""))
            .count(),
        1,
        "{stmts:?}"
    );

    for (k, post) in posts.iter().enumerate() {
        assert_eq!(
            post.get("author_id").unwrap(),
            users[k / 2].get("id").unwrap()
        );
    }
    assert_eq!(
        grandchild.get("parent_id").unwrap(),
        child.get("id").unwrap()
    );
    assert_eq!(child.get("parent_id").unwrap(), root.get("id").unwrap());
    assert_eq!(left.get("buddy_id").unwrap(), right.get("id").unwrap());
    assert_eq!(right.get("buddy_id").unwrap(), left.get("id").unwrap());
    let rows = t.db.fetch_all(
        "SELECT p.title FROM posts p JOIN users u ON u.id = p.author_id WHERE u.name = $1 ORDER BY p.title",
        &[Value::from("u1")],
    ).await.unwrap();
    assert_eq!(rows.len(), 2);
    let buddies =
        t.db.fetch_all("SELECT id FROM nodes WHERE buddy_id IS NOT NULL", &[])
            .await
            .unwrap();
    assert_eq!(buddies.len(), 2);

    // Deleting parents and children together: children go first.
    s.delete(&root).unwrap();
    s.delete(&grandchild).unwrap();
    s.delete(&child).unwrap();
    s.commit().await.unwrap();
    assert_eq!(root.state(), InstanceState::Detached);
});

each_backend!(batched_inserts_of_ten_thousand, |t| async move {
    let m = setup(&t.db).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let users: Vec<Instance> = (0..10_000)
        .map(|i| Instance::with_values(&m.user, [("name", format!("user {i}"))]).unwrap())
        .collect();
    s.add_all(users.clone()).unwrap();
    s.commit().await.unwrap();
    let inserts = log.count("INSERT");
    assert!(inserts <= 2, "{inserts} INSERT statements for 10k rows");
    // Every instance got its own key, in order.
    let mut ids: Vec<i64> = users
        .iter()
        .map(|u| u.get("id").unwrap().as_i64().unwrap())
        .collect();
    let sorted = {
        let mut v = ids.clone();
        v.sort();
        v
    };
    assert_eq!(ids, sorted);
    ids.dedup();
    assert_eq!(ids.len(), 10_000);
    let row =
        t.db.fetch_one(
            "SELECT name FROM users WHERE id = $1",
            &[Value::from(ids[1234])],
        )
        .await
        .unwrap();
    assert_eq!(row.get(0).unwrap(), &Value::from("user 1234"));
    // Client-known composite keys batch too, and client defaults run per row.
    let tags: Vec<Instance> = (0..500)
        .map(|i| {
            Instance::with_values(
                &m.tag,
                [("kind", Value::from("k")), ("code", Value::from(i))],
            )
            .unwrap()
        })
        .collect();
    s.add_all(tags.clone()).unwrap();
    s.commit().await.unwrap();
    assert_eq!(log.count("INSERT INTO \"tags\""), 1);
    let uids: std::collections::HashSet<String> = tags
        .iter()
        .map(|t| t.get("uid").unwrap().to_string())
        .collect();
    assert_eq!(uids.len(), 500);
});

each_backend!(
    failed_flush_rolls_back_and_restores_states,
    |t| async move {
        let m = setup(&t.db).await;
        let ids = seed_users(&t.db, &["Ada"]).await;
        let mut s = Session::new(&t.db);
        let ada = s.get(&m.user, ids[0]).await.unwrap().unwrap();
        ada.set("karma", 3).unwrap();
        let ok = s
            .add(Instance::with_values(&m.user, [("name", "Ok")]).unwrap())
            .unwrap();
        s.flush().await.unwrap();
        assert_eq!(ok.state(), InstanceState::Persistent);
        // Second flush: one good row, then a duplicate email.
        let good = s
            .add(Instance::with_values(&m.user, [("name", "Good"), ("email", "g@x")]).unwrap())
            .unwrap();
        let dup = s
            .add(
                Instance::with_values(&m.user, [("name", "Dup"), ("email", "ada@example.com")])
                    .unwrap(),
            )
            .unwrap();
        let err = s.commit().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation);
        assert!(
            err.to_string()
                .starts_with("flush failed on `User` instance #"),
            "{err}"
        );
        // Nothing was kept: the earlier flush of this transaction is undone too.
        for i in [&ok, &good, &dup] {
            assert_eq!(i.state(), InstanceState::Transient);
        }
        assert_eq!(
            ok.get("id").unwrap(),
            Value::Null,
            "generated key forgotten"
        );
        assert_eq!(
            ok.get("name").unwrap(),
            Value::from("Ok"),
            "own values kept"
        );
        assert_eq!(ada.state(), InstanceState::Persistent);
        assert!(
            !ada.is_loaded("karma").unwrap(),
            "persistent instances are expired"
        );
        let n =
            t.db.fetch_one("SELECT count(*) FROM users", &[])
                .await
                .unwrap();
        assert_eq!(n.get(0).unwrap().as_i64(), Some(1));
        let k =
            t.db.fetch_one("SELECT karma FROM users", &[])
                .await
                .unwrap();
        assert_eq!(k.get(0).unwrap().as_i64(), Some(0));
        // The session goes on: fix and retry.
        dup.set("email", "d@x").unwrap();
        s.add_all([ok.clone(), good.clone(), dup.clone()]).unwrap();
        s.commit().await.unwrap();
        let again = s.get(&m.user, ids[0]).await.unwrap().unwrap();
        assert!(again.ptr_eq(&ada));
        assert_eq!(ada.get("karma").unwrap(), Value::Int4(0));
        let n =
            t.db.fetch_one("SELECT count(*) FROM users", &[])
                .await
                .unwrap();
        assert_eq!(n.get(0).unwrap().as_i64(), Some(4));
    }
);

each_backend!(rollback_restores_states, |t| async move {
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada", "Grace"]).await;
    let mut s = Session::new(&t.db);
    let ada = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    let grace = s.get(&m.user, ids[1]).await.unwrap().unwrap();
    let new = s
        .add(Instance::with_values(&m.user, [("name", "New")]).unwrap())
        .unwrap();
    s.delete(&grace).unwrap();
    ada.set("name", "Changed").unwrap();
    s.flush().await.unwrap();
    assert_eq!(grace.state(), InstanceState::Deleted);
    s.rollback().await.unwrap();
    assert_eq!(new.state(), InstanceState::Transient);
    assert_eq!(grace.state(), InstanceState::Persistent);
    assert_eq!(ada.state(), InstanceState::Persistent);
    let g = s.get(&m.user, ids[1]).await.unwrap().unwrap();
    assert!(g.ptr_eq(&grace));
    let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    assert_eq!(a.get("name").unwrap(), Value::from("Ada"));
    let n =
        t.db.fetch_one("SELECT count(*) FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get(0).unwrap().as_i64(), Some(2));
});

each_backend!(
    nested_savepoint_rolls_back_only_the_inner_part,
    |t| async move {
        let m = setup(&t.db).await;
        let mut s = Session::new(&t.db);
        let outer = s
            .add(Instance::with_values(&m.user, [("name", "Outer")]).unwrap())
            .unwrap();
        s.begin_nested().await.unwrap();
        assert_eq!(
            outer.state(),
            InstanceState::Persistent,
            "flushed before the savepoint"
        );
        let inner = s
            .add(Instance::with_values(&m.user, [("name", "Inner")]).unwrap())
            .unwrap();
        outer.set("karma", 7).unwrap();
        s.flush().await.unwrap();
        s.rollback_nested().await.unwrap();
        assert_eq!(inner.state(), InstanceState::Transient);
        assert_eq!(outer.state(), InstanceState::Persistent);
        s.refresh(&outer).await.unwrap();
        assert_eq!(outer.get("karma").unwrap(), Value::Int4(0));

        // The closure form: Ok releases, Err rolls back to the savepoint.
        let user = m.user.clone();
        s.nested(|s| {
            let user = user.clone();
            Box::pin(async move {
                s.add(Instance::with_values(&user, [("name", "Kept")])?)?;
                Ok(())
            })
        })
        .await
        .unwrap();
        let user = m.user.clone();
        let err = s
            .nested(|s| {
                let user = user.clone();
                Box::pin(async move {
                    s.add(Instance::with_values(&user, [("name", "Dropped")])?)?;
                    s.flush().await?;
                    Err::<(), _>(dbridge_engine::Error::InvalidState(
                        "changed my mind".into(),
                    ))
                })
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "changed my mind");
        s.commit().await.unwrap();
        let names: Vec<String> =
            t.db.fetch_all("SELECT name FROM users ORDER BY id", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap().as_str().unwrap().to_string())
                .collect();
        assert_eq!(names, vec!["Outer", "Kept"]);
        assert!(s.rollback_nested().await.is_err());
    }
);

each_backend!(version_column_detects_conflicts, |t| async move {
    let m = setup(&t.db).await;
    let registry = Registry::new();
    registry.version_column(&m.doc, "version").unwrap();
    let opts = SessionOptions::new().registry(&registry);
    let mut s1 = Session::with_options(&t.db, opts.clone());
    let doc = s1
        .add(Instance::with_values(&m.doc, [("body", "v1")]).unwrap())
        .unwrap();
    s1.commit().await.unwrap();
    assert_eq!(doc.get("version").unwrap(), Value::Int4(1));
    let id = doc.get("id").unwrap();

    let mut s2 = Session::with_options(&t.db, opts.clone());
    let other = s2.get(&m.doc, id.clone()).await.unwrap().unwrap();
    other.set("body", "theirs").unwrap();
    s2.commit().await.unwrap();
    assert_eq!(other.get("version").unwrap(), Value::Int4(2));

    doc.set("body", "mine").unwrap();
    let err = s1.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleData);
    assert!(err.to_string().contains("matched no row"), "{err}");
    // Reload and retry succeeds.
    let doc = s1.get(&m.doc, id.clone()).await.unwrap().unwrap();
    assert_eq!(doc.get("body").unwrap(), Value::from("theirs"));
    doc.set("body", "mine").unwrap();
    s1.commit().await.unwrap();
    assert_eq!(doc.get("version").unwrap(), Value::Int4(3));

    // A delete with an old version is stale too.
    s2.expunge(&other);
    let old = s2.get(&m.doc, id.clone()).await.unwrap().unwrap();
    assert_eq!(old.get("version").unwrap(), Value::Int4(3));
    // (On SQLite a session holds the write lock until it ends its transaction.)
    s2.commit().await.unwrap();
    doc.set("body", "again").unwrap();
    s1.commit().await.unwrap();
    s2.delete(&old).unwrap();
    assert_eq!(s2.commit().await.unwrap_err().kind(), ErrorKind::StaleData);
    assert_eq!(old.state(), InstanceState::Persistent);
});

each_backend!(updates_of_many_rows, |t| async move {
    let m = setup(&t.db).await;
    let names: Vec<String> = (0..50).map(|i| format!("U{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    seed_users(&t.db, &names).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let users = s
        .query(&m.user)
        .order_by(m.user.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(users.len(), 50);
    // Every user gets a new karma, every third a new name as well: two shapes.
    for (i, u) in users.iter().enumerate() {
        u.set("karma", i as i64 * 10 + 1).unwrap();
        if i % 3 == 0 {
            u.set("name", format!("renamed {i}")).unwrap();
        }
    }
    log.clear();
    s.commit().await.unwrap();
    let updates = log.count("UPDATE");
    match t.backend() {
        // One statement per set of changed columns.
        dbridge_engine::Backend::Postgres => assert_eq!(updates, 2),
        dbridge_engine::Backend::Sqlite => assert_eq!(updates, 50),
    }
    let rows =
        t.db.fetch_all("SELECT name, karma FROM users ORDER BY id", &[])
            .await
            .unwrap();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.get("karma").unwrap().as_i64(), Some(i as i64 * 10 + 1));
        let want = if i % 3 == 0 {
            format!("renamed {i}")
        } else {
            format!("U{i}")
        };
        assert_eq!(r.get("name").unwrap().as_str(), Some(want.as_str()));
    }
    // Nothing is left dirty: a second commit writes nothing.
    log.clear();
    s.commit().await.unwrap();
    assert_eq!(log.count("UPDATE"), 0);
});

/// A batched UPDATE that misses a row (deleted meanwhile) names that row and
/// rolls the whole flush back. PostgreSQL only: SQLite's session holds the
/// write lock, so nobody can delete the row meanwhile.
#[tokio::test]
async fn batched_update_detects_a_deleted_row() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada", "Grace", "Edsger"]).await;
    let mut s = Session::new(&t.db);
    let users = s.query(&m.user).all().await.unwrap();
    for u in &users {
        u.set("karma", 7).unwrap();
    }
    t.db.execute("DELETE FROM users WHERE id = $1", &[Value::from(ids[1])])
        .await
        .unwrap();
    let err = s.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleData);
    assert!(
        err.to_string().contains("Grace") || err.to_string().contains(&ids[1].to_string()),
        "{err}"
    );
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM users WHERE karma = 7", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
}
