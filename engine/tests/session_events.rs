//! Events, validation, coercion, custom types and identity-map eviction on both backends.

mod session_common;

use std::sync::Arc;

use dbridge_engine::events::{EventKind, Target};
use dbridge_engine::session::{Instance, InstanceState, Registry, Session, SessionOptions};
use dbridge_engine::validate::CustomType;
use dbridge_engine::{Error, ErrorKind, Value};
use dbridge_testkit::each_backend;
use parking_lot::Mutex;
use session_common::{Log, seed_users, setup};

fn recorder(registry: &Registry, log: &Arc<Mutex<Vec<String>>>) {
    for kind in EventKind::ALL {
        let log = log.clone();
        registry.on(Target::All, kind, move |ev| {
            let what = match (ev.instance, ev.attribute) {
                (Some(i), Some(a)) => format!("{kind} {}.{a}", i.model().name()),
                (Some(i), None) => format!(
                    "{kind} {}",
                    i.get("name").map(|v| v.to_string()).unwrap_or_default()
                ),
                _ => kind.to_string(),
            };
            log.lock().push(what);
            Ok(())
        });
    }
}

each_backend!(
    every_event_fires_in_order_and_changes_are_written,
    |t| async move {
        let m = setup(&t.db).await;
        let registry = Registry::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        recorder(&registry, &seen);
        // before_insert / before_update may change the instance; the change is written.
        registry.on(&m.user, EventKind::BeforeInsert, |ev| {
            let u = ev.instance.unwrap();
            let email =
                format!("{}@EXAMPLE.com", u.get("name")?.as_str().unwrap_or("")).to_lowercase();
            u.set("email", email)
        });
        registry.on(&m.user, EventKind::BeforeUpdate, |ev| {
            let u = ev.instance.unwrap();
            let k = u.get("karma")?.as_i64().unwrap_or(0);
            u.set("karma", k * 10)
        });
        let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
        let users: Vec<Instance> = ["Ada", "Bob", "Cy"]
            .iter()
            .map(|n| Instance::with_values(&m.user, [("name", *n)]).unwrap())
            .collect();
        s.add_all(users.clone()).unwrap();
        s.commit().await.unwrap();
        let expected_insert: Vec<String> = vec![
            "before_flush".into(),
            "before_insert Ada".into(),
            "before_insert Bob".into(),
            "before_insert Cy".into(),
            // the hook's assignments
        ];
        let got = seen.lock().clone();
        assert_eq!(got[0], expected_insert[0]);
        let inserts: Vec<&String> = got
            .iter()
            .filter(|e| e.starts_with("before_insert") || e.starts_with("after_insert"))
            .collect();
        assert_eq!(
            inserts,
            vec![
                "before_insert Ada",
                "before_insert Bob",
                "before_insert Cy",
                "after_insert Ada",
                "after_insert Bob",
                "after_insert Cy"
            ]
        );
        assert_eq!(
            got.iter().filter(|e| *e == "set User.email").count(),
            3,
            "{got:?}"
        );
        assert_eq!(
            &got[got.len() - 2..],
            &["after_flush".to_string(), "after_commit".to_string()]
        );
        let emails: Vec<String> =
            t.db.fetch_all("SELECT email FROM users ORDER BY id", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap().as_str().unwrap().to_string())
                .collect();
        assert_eq!(
            emails,
            vec!["ada@example.com", "bob@example.com", "cy@example.com"]
        );

        seen.lock().clear();
        users[1].set("karma", 2).unwrap();
        s.delete(&users[2]).unwrap();
        s.commit().await.unwrap();
        let got = seen.lock().clone();
        assert_eq!(
            got,
            vec![
                "set User.karma",
                "before_flush",
                "before_update Bob",
                "set User.karma",
                "after_update Bob",
                "before_delete Cy",
                "after_delete Cy",
                "after_flush",
                "after_commit",
            ],
            "{got:?}"
        );
        let k =
            t.db.fetch_one("SELECT karma FROM users WHERE name = 'Bob'", &[])
                .await
                .unwrap();
        assert_eq!(k.get(0).unwrap().as_i64(), Some(20));

        seen.lock().clear();
        users[0].set("karma", 1).unwrap();
        s.rollback().await.unwrap();
        assert_eq!(
            seen.lock().clone(),
            vec!["set User.karma", "after_rollback"]
        );

        // Per-session listeners run after the registry's; removing one stops it.
        let mine = Arc::new(Mutex::new(0));
        let m2 = mine.clone();
        let id = s
            .events()
            .on(Target::model("User"), EventKind::BeforeUpdate, move |_| {
                *m2.lock() += 1;
                Ok(())
            });
        let bob = s
            .get(&m.user, users[1].get("id").unwrap())
            .await
            .unwrap()
            .unwrap();
        bob.set("name", "Robert").unwrap();
        s.commit().await.unwrap();
        assert_eq!(*mine.lock(), 1);
        assert!(s.events().off(id));
    }
);

each_backend!(failing_hook_rolls_back_the_whole_flush, |t| async move {
    let m = setup(&t.db).await;
    let registry = Registry::new();
    registry.events().on_named(
        "no-mallory",
        Target::model("User"),
        EventKind::BeforeInsert,
        Arc::new(|ev| {
            if ev.instance.unwrap().get("name")?.as_str() == Some("Mallory") {
                return Err(Error::Validation {
                    model: "User".into(),
                    column: Some("name".into()),
                    message: "mallory is banned".into(),
                });
            }
            Ok(())
        }),
    );
    let log = Log::attach(&t.db);
    let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
    // Two flushes in one transaction; the second fails in a hook for the third row of a batch.
    let first = s
        .add(Instance::with_values(&m.user, [("name", "First")]).unwrap())
        .unwrap();
    s.flush().await.unwrap();
    let rows: Vec<Instance> = ["Ann", "Ben", "Mallory", "Dan"]
        .iter()
        .map(|n| {
            s.add(Instance::with_values(&m.user, [("name", *n)]).unwrap())
                .unwrap()
        })
        .collect();
    let err = s.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let msg = err.to_string();
    assert!(
        msg.starts_with("listener `no-mallory` for before_insert failed on `User` instance #"),
        "{msg}"
    );
    assert!(msg.ends_with(": mallory is banned"), "{msg}");
    // The instance named is the third row (labelled while it was pending).
    let label = rows[2].describe().replace(" (transient)", " (pending)");
    assert!(
        matches!(&err, Error::Listener { instance: Some(i), .. } if i == &label),
        "{err:?}"
    );
    assert_eq!(log.count("ROLLBACK"), 1);
    assert_eq!(first.state(), InstanceState::Transient);
    assert!(rows.iter().all(|r| r.state() == InstanceState::Transient));
    let n =
        t.db.fetch_one("SELECT count(*) FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get(0).unwrap().as_i64(), Some(0));
});

each_backend!(validators_coercion_and_custom_types, |t| async move {
    let m = setup(&t.db).await;
    let registry = Registry::new();
    registry
        .validate(&m.user, "name", "not blank", |v| match v.as_str() {
            Some(s) if s.trim().is_empty() => Err("must not be blank".into()),
            _ => Ok(()),
        })
        .unwrap();
    // A custom type: the application sees a list of tags, the database a comma-separated text.
    registry
        .custom_type(
            &m.user,
            "bio",
            CustomType::new(
                "tag list",
                |v| match v {
                    Value::Array(a) => Ok(Value::from(
                        a.items
                            .iter()
                            .map(|i| i.as_str().unwrap_or("").to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                    )),
                    Value::Null => Ok(Value::Null),
                    _ => Err("expected a list of text".into()),
                },
                |v| {
                    Ok(match v {
                        Value::Text(s) => Value::array(
                            dbridge_engine::SqlType::Text,
                            s.split(',').map(Value::from).collect(),
                        ),
                        other => other,
                    })
                },
            ),
        )
        .unwrap();
    // Vetoing set listener.
    registry.on(&m.user, EventKind::Set, |ev| {
        if ev.attribute == Some("karma") && ev.new.and_then(Value::as_i64).is_some_and(|k| k > 1000)
        {
            return Err(Error::Validation {
                model: "User".into(),
                column: Some("karma".into()),
                message: "karma too high".into(),
            });
        }
        Ok(())
    });
    let u = Instance::with_registry(&m.user, &registry);
    u.set("name", "Ada").unwrap();
    u.set("karma", "42").unwrap();
    assert_eq!(u.get("karma").unwrap(), Value::Int4(42));

    let err = u.set("name", "  ").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(
        err.to_string(),
        "invalid value for column `name` of model `User`: must not be blank (validator `not blank`)"
    );
    assert_eq!(u.get("name").unwrap(), Value::from("Ada"));

    let err = u.set("karma", "forty").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::InvalidValue | ErrorKind::TypeMismatch
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("column `karma` of model `User`"),
        "{err}"
    );
    assert_eq!(u.get("karma").unwrap(), Value::Int4(42));
    let err = u.set("karma", 5000).unwrap_err();
    assert_eq!(err.to_string(), "karma too high");
    assert_eq!(u.get("karma").unwrap(), Value::Int4(42));
    let err = u.set("bio", 7).unwrap_err();
    assert!(
        err.to_string()
            .contains("custom type `tag list`: expected a list of text"),
        "{err}"
    );

    let tags = Value::array(
        dbridge_engine::SqlType::Text,
        vec![Value::from("rust"), Value::from("lua")],
    );
    u.set("bio", tags.clone()).unwrap();
    let mut s = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
    s.add(u.clone()).unwrap();
    // An instance made without the registry is validated before the flush.
    let blank = s
        .add(Instance::with_values(&m.user, [("name", "")]).unwrap())
        .unwrap();
    let err = s.commit().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(blank.state(), InstanceState::Transient);
    s.expunge(&blank);
    s.add(u.clone()).unwrap();
    s.commit().await.unwrap();
    let stored = t.db.fetch_one("SELECT bio FROM users", &[]).await.unwrap();
    assert_eq!(stored.get(0).unwrap(), &Value::from("rust,lua"));
    let mut s2 = Session::with_options(&t.db, SessionOptions::new().registry(&registry));
    let again = s2
        .get(&m.user, u.get("id").unwrap())
        .await
        .unwrap()
        .unwrap();
    s2.refresh(&again).await.unwrap();
    assert_eq!(again.get("bio").unwrap(), tags);
});

each_backend!(eviction_never_drops_dirty_instances, |t| async move {
    let m = setup(&t.db).await;
    let names: Vec<String> = (0..60).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let ids = seed_users(&t.db, &refs).await;
    let log = Log::attach(&t.db);
    let mut s = Session::with_options(&t.db, SessionOptions::new().identity_map_capacity(Some(10)));
    let all = s.query(&m.user).all().await.unwrap();
    // Change 20 of them, keep 5 clean ones, drop the rest.
    for u in &all[..20] {
        u.set("karma", 1).unwrap();
    }
    let kept: Vec<Instance> = all[20..25].to_vec();
    drop(all);
    assert!(s.identity_map_len() <= 10, "{}", s.identity_map_len());
    log.clear();
    s.set_autoflush(false);
    // Dirty and still-referenced clean instances are found without SQL.
    for (k, id) in ids[..25].iter().enumerate() {
        let u = s.get(&m.user, *id).await.unwrap().unwrap();
        if k >= 20 {
            assert!(u.ptr_eq(&kept[k - 20]));
        } else {
            assert_eq!(
                u.get("karma").unwrap(),
                Value::Int4(1),
                "unflushed change kept"
            );
        }
    }
    assert_eq!(log.count("SELECT"), 0);
    s.commit().await.unwrap();
    // All 20 written: one UPDATE each on SQLite, one batched UPDATE on PostgreSQL.
    let expected = match t.backend() {
        dbridge_engine::Backend::Sqlite => 20,
        dbridge_engine::Backend::Postgres => 1,
    };
    assert_eq!(log.count("UPDATE"), expected);
    let n =
        t.db.fetch_one("SELECT count(*) FROM users WHERE karma = 1", &[])
            .await
            .unwrap();
    assert_eq!(n.get(0).unwrap().as_i64(), Some(20));
    // A clean instance nobody holds may be gone: loading it again is a SELECT.
    log.clear();
    for id in &ids[30..60] {
        s.get(&m.user, *id).await.unwrap().unwrap();
    }
    assert!(log.count("SELECT") > 0);
});
