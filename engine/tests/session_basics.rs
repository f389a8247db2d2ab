//! The session on both backends: identity map, dirty tracking, autoflush,
//! get / merge / expunge / refresh / expire, queries returning instances.

mod session_common;

use dbridge_engine::session::{Instance, InstanceState, Session};
use dbridge_engine::{ErrorKind, Value};
use dbridge_testkit::each_backend;
use session_common::{Log, seed_users, setup};

each_backend!(one_instance_per_primary_key, |t| async move {
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada", "Grace"]).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);

    let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    assert_eq!(a.state(), InstanceState::Persistent);
    assert_eq!(a.get("name").unwrap(), Value::from("Ada"));
    assert_eq!(log.count("SELECT"), 1);

    // A second get is a map hit: same instance, no SQL.
    let again = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    assert!(again.ptr_eq(&a));
    // A key given as another integer type or as text finds it too.
    let by_text = s
        .get(&m.user, Value::from(ids[0].to_string()))
        .await
        .unwrap()
        .unwrap();
    assert!(by_text.ptr_eq(&a));
    assert_eq!(log.count("SELECT"), 1);

    // A query returning the same row gives the same instance, and does not
    // overwrite its unflushed change.
    a.set("name", "Ada L.").unwrap();
    s.set_autoflush(false);
    let all = s
        .query(&m.user)
        .order_by(m.user.col("id").unwrap())
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].ptr_eq(&a));
    assert_eq!(a.get("name").unwrap(), Value::from("Ada L."));
    assert_eq!(a.changed(), vec!["name".to_string()]);

    // Missing rows give None; a wrong key width is an error.
    assert!(s.get(&m.user, 999_999_i64).await.unwrap().is_none());
    let err = s
        .get(&m.user, vec![Value::from(1), Value::from(2)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Schema);
    assert!(
        err.to_string()
            .contains("model `User` has a primary key of 1 column(s); 2 value(s) given")
    );

    // Composite keys.
    let tag = s
        .add(
            Instance::with_values(
                &m.tag,
                [("kind", Value::from("color")), ("code", Value::from(7))],
            )
            .unwrap(),
        )
        .unwrap();
    s.commit().await.unwrap();
    let found = s
        .get(&m.tag, vec![Value::from("color"), Value::from(7)])
        .await
        .unwrap()
        .unwrap();
    assert!(found.ptr_eq(&tag));
    let mut fresh = Session::new(&t.db);
    let loaded = fresh
        .get(&m.tag, vec![Value::from("color"), Value::from("7")])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.get("uid").unwrap(), tag.get("uid").unwrap());
    assert!(!loaded.ptr_eq(&tag));
});

each_backend!(updates_set_only_changed_columns, |t| async move {
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada"]).await;
    let mut s = Session::new(&t.db);
    let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    let log = Log::attach(&t.db);

    // Setting the loaded value again is not a change: no statement.
    a.set("name", "Ada").unwrap();
    a.set("karma", 0).unwrap();
    assert!(!a.is_modified());
    s.flush().await.unwrap();
    assert!(log.take().is_empty());

    a.set("karma", 5).unwrap();
    s.flush().await.unwrap();
    let stmts = log.take();
    assert_eq!(stmts.len(), 1, "{stmts:?}");
    assert!(
        stmts[0].starts_with(r#"UPDATE "users" SET "karma" = $1 WHERE "users"."id" = "#),
        "{}",
        stmts[0]
    );
    assert!(!stmts[0].contains("\"name\""));

    // Changing and changing back is no change either.
    a.set("name", "Grace").unwrap();
    a.set("name", "Ada").unwrap();
    s.commit().await.unwrap();
    assert_eq!(log.take(), vec!["COMMIT".to_string()]);
    let row =
        t.db.fetch_one("SELECT karma, name FROM users", &[])
            .await
            .unwrap();
    assert_eq!(row.get("karma").unwrap().as_i64(), Some(5));
});

each_backend!(
    flushed_values_are_what_later_changes_compare_with,
    |t| async move {
        let m = setup(&t.db).await;
        let ids = seed_users(&t.db, &["Ada"]).await;
        let mut s = Session::new(&t.db);

        // Loaded, updated and flushed: the flushed value is the committed one.
        let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();
        a.set("karma", 5).unwrap();
        s.flush().await.unwrap();
        a.set("karma", 5).unwrap();
        assert!(!a.is_modified());
        a.set("karma", 0).unwrap();
        assert_eq!(a.changed(), vec!["karma".to_string()]);
        a.set("karma", 5).unwrap();
        assert!(!a.is_modified());

        // Inserted and flushed: likewise, and each column on its own.
        let b = s
            .add(Instance::with_values(&m.user, [("name", "Grace")]).unwrap())
            .unwrap();
        assert!(b.is_modified());
        s.flush().await.unwrap();
        assert!(!b.is_modified());
        b.set("name", "Grace").unwrap();
        assert!(!b.is_modified());
        b.set("name", "Hopper").unwrap();
        b.set("karma", 1).unwrap();
        let mut changed = b.changed();
        changed.sort();
        assert_eq!(changed, vec!["karma".to_string(), "name".to_string()]);
        b.set("name", "Grace").unwrap();
        assert_eq!(b.changed(), vec!["karma".to_string()]);
        s.commit().await.unwrap();
        let row =
            t.db.fetch_one("SELECT karma FROM users WHERE name = 'Grace'", &[])
                .await
                .unwrap();
        assert_eq!(row.get("karma").unwrap().as_i64(), Some(1));
    }
);

each_backend!(autoflush_before_queries_and_get, |t| async move {
    let m = setup(&t.db).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let ada = s
        .add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
        .unwrap();
    assert_eq!(ada.state(), InstanceState::Pending);

    let n = s.query(&m.user).count().await.unwrap();
    assert_eq!(n, 1);
    let stmts = log.take();
    assert!(stmts[0].starts_with("INSERT INTO \"users\""), "{stmts:?}");
    assert!(stmts[1].starts_with("SELECT count(*)"), "{stmts:?}");
    assert_eq!(ada.state(), InstanceState::Persistent);
    assert_eq!(ada.get("karma").unwrap(), Value::Int4(0)); // server default read back

    // Off for the session: the query does not see the pending row.
    s.set_autoflush(false);
    s.add(Instance::with_values(&m.user, [("name", "Grace")]).unwrap())
        .unwrap();
    assert_eq!(s.query(&m.user).count().await.unwrap(), 1);
    assert_eq!(log.count("INSERT"), 0);
    s.set_autoflush(true);
    // Off for a block.
    let n = s
        .no_autoflush(|s| {
            let user = m.user.clone();
            Box::pin(async move { s.query(&user).count().await })
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(s.autoflush());
    // get of a key not in the map autoflushes first.
    let got = s.get(&m.user, 424242_i64).await.unwrap();
    assert!(got.is_none());
    assert_eq!(log.count("INSERT"), 1);
    s.commit().await.unwrap();
    assert_eq!(s.query(&m.user).count().await.unwrap(), 2);
});

each_backend!(merge_expunge_refresh_expire, |t| async move {
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada"]).await;
    let mut s = Session::new(&t.db);
    let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();

    // refresh discards unflushed changes and loads deferred columns too.
    assert!(!a.is_loaded("bio").unwrap());
    assert_eq!(a.get("bio").unwrap_err().kind(), ErrorKind::InvalidState);
    a.set("name", "changed").unwrap();
    s.refresh(&a).await.unwrap();
    assert_eq!(a.get("name").unwrap(), Value::from("Ada"));
    assert!(a.is_loaded("bio").unwrap());
    assert!(!a.is_modified());

    // expire: the next get reloads into the same instance.
    s.commit().await.unwrap();
    t.db.execute("UPDATE users SET karma = 9", &[])
        .await
        .unwrap();
    s.expire(&a);
    assert_eq!(a.get("karma").unwrap_err().kind(), ErrorKind::InvalidState);
    let again = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    assert!(again.ptr_eq(&a));
    assert_eq!(a.get("karma").unwrap(), Value::Int4(9));

    // expunge: detached; the next get loads a new instance.
    s.expunge(&a);
    assert_eq!(a.state(), InstanceState::Detached);
    let b = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    assert!(!b.ptr_eq(&a));

    // merge a detached copy: its values land on the session's instance.
    a.set("karma", 11).unwrap();
    let merged = s.merge(&a).await.unwrap();
    assert!(merged.ptr_eq(&b));
    assert_eq!(b.get("karma").unwrap(), Value::Int4(11));
    assert_eq!(b.changed(), vec!["karma".to_string()]);
    // merge of an unknown key adds a pending copy.
    let stranger = Instance::with_values(
        &m.user,
        [("id", Value::from(777)), ("name", Value::from("Zed"))],
    )
    .unwrap();
    let copy = s.merge(&stranger).await.unwrap();
    assert_eq!(copy.state(), InstanceState::Pending);
    s.commit().await.unwrap();
    let rows =
        t.db.fetch_all("SELECT id FROM users ORDER BY id", &[])
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    let karma =
        t.db.fetch_one("SELECT karma FROM users WHERE name = 'Ada'", &[])
            .await
            .unwrap();
    assert_eq!(karma.get(0).unwrap().as_i64(), Some(11));

    // Re-adding a detached instance with a taken key is refused.
    let err = s.add(a.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);

    // close detaches everything.
    s.close().await.unwrap();
    assert_eq!(b.state(), InstanceState::Detached);
});

each_backend!(delete_and_states, |t| async move {
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada", "Grace"]).await;
    let log = Log::attach(&t.db);
    let mut s = Session::new(&t.db);
    let a = s.get(&m.user, ids[0]).await.unwrap().unwrap();
    let g = s.get(&m.user, ids[1]).await.unwrap().unwrap();
    s.delete(&a).unwrap();
    s.delete(&g).unwrap();
    assert!(a.is_marked_deleted());
    s.flush().await.unwrap();
    assert_eq!(a.state(), InstanceState::Deleted);
    assert_eq!(
        log.count("DELETE FROM \"users\" WHERE \"users\".\"id\" IN"),
        1
    );
    assert!(s.get(&m.user, ids[0]).await.unwrap().is_none());
    s.commit().await.unwrap();
    assert_eq!(a.state(), InstanceState::Detached);

    // Deleting a pending instance just expunges it.
    let p = s
        .add(Instance::with_values(&m.user, [("name", "Tmp")]).unwrap())
        .unwrap();
    s.delete(&p).unwrap();
    assert_eq!(p.state(), InstanceState::Transient);
    s.commit().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get(0).unwrap().as_i64(), Some(0));
});

each_backend!(raw_sql_runs_in_the_session_transaction, |t| async move {
    let m = setup(&t.db).await;
    let mut s = Session::new(&t.db);
    s.add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
        .unwrap();
    s.flush().await.unwrap();
    // The session's transaction sees the flushed row...
    let tx = s.transaction().await.unwrap();
    let n = tx
        .fetch_one("SELECT count(*) AS n FROM users", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(1));
    tx.execute(
        "INSERT INTO users (name, karma) VALUES ($1, 0)",
        &[Value::from("Grace")],
    )
    .await
    .unwrap();
    // ...and rolls back with it.
    s.rollback().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
});

each_backend!(session_over_a_borrowed_transaction, |t| async move {
    let m = setup(&t.db).await;
    let tx = t.db.begin().await.unwrap();
    let mut s = Session::from_transaction(tx, Default::default());
    let ada = s
        .add(Instance::with_values(&m.user, [("name", "Ada")]).unwrap())
        .unwrap();
    // into_transaction flushes and gives the transaction back uncommitted.
    let tx = s.into_transaction().await.unwrap().unwrap();
    assert_eq!(ada.state(), InstanceState::Persistent);
    let mut tx = tx;
    let n = tx
        .fetch_one("SELECT count(*) AS n FROM users", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(1));
    tx.rollback().await.unwrap();
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
});

each_backend!(get_locked_takes_a_row_lock, |t| async move {
    use dbridge_engine::query::{Lock, LockStrength, LockWait};
    let m = setup(&t.db).await;
    let ids = seed_users(&t.db, &["Ada", "Grace"]).await;
    let lock = |wait| Lock {
        strength: LockStrength::Update,
        wait,
    };
    let mut a = Session::new(&t.db);
    if t.db.backend() == dbridge_engine::Backend::Sqlite {
        let err = a
            .get_locked(&m.user, ids[0], lock(LockWait::Wait))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("sqlite"), "{err}");
        return;
    }
    // A map hit still locks, and reads the row again.
    let first = a.get(&m.user, ids[0]).await.unwrap().unwrap();
    t.db.execute(
        "UPDATE users SET name = 'Ada L.' WHERE id = $1",
        &[Value::from(ids[0])],
    )
    .await
    .unwrap();
    let locked = a
        .get_locked(&m.user, ids[0], lock(LockWait::Wait))
        .await
        .unwrap()
        .unwrap();
    assert!(locked.ptr_eq(&first));
    assert_eq!(locked.get("name").unwrap(), Value::from("Ada L."));

    // Another transaction: NOWAIT fails as busy, SKIP LOCKED sees no row.
    let mut b = Session::new(&t.db);
    let err = b
        .get_locked(&m.user, ids[0], lock(LockWait::NoWait))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    b.rollback().await.unwrap();
    let skipped = b
        .get_locked(&m.user, ids[0], lock(LockWait::SkipLocked))
        .await
        .unwrap();
    assert!(skipped.is_none());
    let other = b
        .get_locked(&m.user, ids[1], lock(LockWait::SkipLocked))
        .await
        .unwrap();
    assert!(other.is_some());
    b.rollback().await.unwrap();
    a.rollback().await.unwrap();
});
