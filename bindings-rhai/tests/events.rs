//! Listeners and validators written in Rhai, on both backends: a before_*
//! hook's change is persisted, a failing hook rolls back the whole flush and
//! names listener and instance, validators reject values, removal works, and
//! an endless loop in a hook is stopped with the transaction rolled back.

mod common;

use common::{MODELS, check, ok, ok_after, run, run_with};
use dbridge_rhai::Options;
use dbridge_testkit::each_backend;
use rhai::EvalAltResult;

each_backend!(a_before_insert_hook_change_is_persisted, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        let seen = [];
        db.on(User, "before_insert", |s, user| {
            user.email = user.email.to_lower();
            seen.push(type_of(s));
        });
        db.on("*", "after_commit", |s| { seen.push("commit"); });
        db.transaction(|s| {
            s.add(User.build(#{ name: "Ada", email: "ADA@Example.com" }));
        });
        [db.fetch_one("SELECT email FROM users").email, seen]
    "#,
    )
    .await;
    assert_eq!(
        v.to_string(),
        r#"["ada@example.com", ["Session", "commit"]]"#
    );
});

each_backend!(a_failing_hook_rolls_back_the_whole_flush, |t| async move {
    let v = ok_after(&t, MODELS, r#"
        db.on(User, "before_insert", |s, user| {
            if user.name == "Eve" { throw dbridge::error(#{ kind: "validation", message: "no Eves" }); }
        }, "no eves");
        let caught = ();
        let ada = User.build(#{ name: "Ada" });
        try {
            db.transaction(|s| {
                s.add(ada);
                s.add(User.build(#{ name: "Eve" }));
            });
        } catch (e) { caught = e; }
        [caught.kind, caught.message, ada.state(), db.query(User).count()]
    "#)
    .await;
    let v: Vec<rhai::Dynamic> = v.into_typed_array().unwrap();
    assert_eq!(v[0].to_string(), "validation");
    let message = v[1].to_string();
    assert!(message.contains("listener `no eves`"), "{message}");
    assert!(message.contains("before_insert"), "{message}");
    assert!(message.contains("`User` instance"), "{message}");
    assert!(message.contains("no Eves"), "{message}");
    assert_eq!(v[2].to_string(), "transient");
    assert_eq!(v[3].as_int().unwrap(), 0);
});

each_backend!(listeners_can_be_removed, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        let calls = 0;
        let off = db.on(User, "after_insert", |s, user| { calls += 1; });
        db.transaction(|s| { s.add(User.build(#{ name: "A" })); });
        assert_eq(off.call(), true);
        db.transaction(|s| { s.add(User.build(#{ name: "B" })); });
        calls
    "#,
    )
    .await;
    assert_eq!(v.as_int().unwrap(), 1);
    let err = run(
        &t,
        &format!("{MODELS} db.on(User, \"before_insrt\", |s, u| {{}});"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown event"), "{err}");
});

each_backend!(set_listeners_see_assignments, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        let log = [];
        db.on(User, "set", |s, user, column, value| {
            if column == "karma" && value < 0 { throw "karma cannot go negative"; }
            log.push(column);
        });
        let u = User.build(#{ name: "Ada" });
        u.karma = 1;
        let kind = ();
        try { u.karma = -1; } catch (e) { kind = e.kind; }
        [log, kind, u.karma]
    "#,
    )
    .await;
    assert_eq!(v.to_string(), r#"[["name", "karma"], "validation", 1]"#);
});

each_backend!(set_listeners_take_the_lua_form, |t| async move {
    // `|inst, column, value, old|` (new, old), as in Lua; the old `|s, inst, column, value|`
    // (above) keeps working for one release, with a deprecation warning.
    let v = ok(
        &t,
        &format!(
            r#"{MODELS}
        let log = [];
        db.on(User, "set", |user, column, value, old| {{
            if column == "karma" && value < 0 {{ throw "karma cannot go negative"; }}
            log.push(`${{column}}:${{old}}->${{value}}:${{user.name}}`);
        }});
        let u = User.build(#{{ name: "Ada" }});
        u.karma = 1;
        u.karma = 2;
        let kind = ();
        try {{ u.karma = -1; }} catch (e) {{ kind = e.kind; }}
        [log, kind, u.karma]
    "#
        ),
    )
    .await;
    assert_eq!(
        v.to_string(),
        r#"[["name:->Ada:", "karma:->1:Ada", "karma:1->2:Ada"], "validation", 2]"#
    );
});

each_backend!(validators_reject_values, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        db.validate(User, "email", "has an at", |v| v == () || v.contains("@"));
        db.validate(User, "name", |v| if v == "" { "must not be blank" });
        let u = User.build(#{ name: "Ada", email: "ada@example.com" });
        let errors = [];
        try { u.email = "nope"; } catch (e) { errors.push(e); }
        try { User.build(#{ name: "" }); } catch (e) { errors.push(e); }
        assert_eq(u.email, "ada@example.com");
        db.transaction(|s| { s.add(u); });
        [errors.map(|e| e.kind), errors.map(|e| e.message), db.query(User).count()]
    "#,
    )
    .await;
    let v: Vec<rhai::Dynamic> = v.into_typed_array().unwrap();
    assert_eq!(v[0].to_string(), r#"["validation", "validation"]"#);
    let messages = v[1].to_string();
    assert!(
        messages.contains("column `email` of model `User`"),
        "{messages}"
    );
    assert!(messages.contains("has an at"), "{messages}");
    assert!(messages.contains("must not be blank"), "{messages}");
    assert_eq!(v[2].as_int().unwrap(), 1);
});

each_backend!(
    an_endless_loop_in_a_hook_is_stopped_and_rolled_back,
    |t| async move {
        check(&t, MODELS).await;
        let err = run_with(
        &t,
        Options::sandboxed().max_operations(50_000),
        &format!(
            r#"{MODELS}
        db.on(User, "before_insert", |s, user| {{ loop {{ try {{ loop {{ }} }} catch (e) {{ }} }} }});
        try {{
            db.transaction(|s| {{
                s.execute("INSERT INTO users (name) VALUES ('raw')");
                s.add(User.build(#{{ name: "Ada" }}));
            }});
        }} catch (e) {{ }}
    "#
        ),
    )
    .await
    .unwrap_err();
        assert!(
            matches!(
                *err.unwrap_inner(),
                EvalAltResult::ErrorTooManyOperations(..)
            ),
            "{err}"
        );
        // Nothing was kept, and the database is writable at once.
        let v = ok(&t, "db.execute(\"INSERT INTO users (name) VALUES ('after')\"); db.fetch_all(\"SELECT name FROM users\").map(|r| r.name)").await;
        assert_eq!(v.to_string(), r#"["after"]"#);
    }
);
