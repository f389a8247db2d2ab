//! Models from Rhai on both backends: declaration, create_all / drop_all,
//! instances (properties, states, dirty tracking), and declaration errors.

mod common;

use common::{MODELS, check, check_after, kind, ok, ok_after, run};
use dbridge_testkit::each_backend;

each_backend!(declares_models_and_creates_tables, |t| async move {
    let v = ok_after(
        &t,
        MODELS,
        r#"
        assert_eq(type_of(User), "Model");
        assert_eq(db.models().map(|m| m.model_name()), ["User", "Post"]);
        assert_eq(User.column_names(), ["id", "name", "email", "karma", "created_at"]);
        assert_eq(User.table_name(), "users");
        db.create_all();
        db.execute("INSERT INTO users (name) VALUES ('Ada')");
        db.fetch_one("SELECT karma FROM users").karma
    "#,
    )
    .await;
    assert_eq!(v.as_int().unwrap(), 0);
    check(&t, "let Gone = db.model(#{ name: \"Gone\", table: \"gone\", columns: [[\"id\", \"integer\", #{ primary_key: true }]] }); db.create_all(); db.drop_all(); ").await;
    let err = run(&t, "db.fetch_all(\"SELECT * FROM gone\")")
        .await
        .unwrap_err();
    assert_ne!(kind(&err), "not a dbridge error");
});

each_backend!(declaration_errors_are_clear, |t| async move {
    let err = run(&t, r#"db.model(#{ name: "U", table: "u", colums: [] })"#)
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "configuration");
    assert!(
        err.to_string().contains("unknown model option `colums`"),
        "{err}"
    );
    let err = run(
        &t,
        r#"db.model(#{ name: "U", table: "u", columns: [["id", "integer", #{ primary: true }]] })"#,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown column option `primary`"),
        "{err}"
    );
    let err = run(
        &t,
        r#"db.model(#{ name: "U", table: "u", columns: [["id", "intger"]] })"#,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown type `intger`"), "{err}");
    let err = run(
        &t,
        r#"db.model(#{ name: "U", table: "u", columns: [["id", "integer"]], relations: #{ x: 1 } })"#,
    )
    .await
    .unwrap_err();
    assert_eq!(kind(&err), "schema");
    assert!(err.to_string().contains("relation `x`"), "{err}");
    // Map columns are accepted too.
    check(
        &t,
        r#"
        let M = db.model(#{ name: "M", table: "m", columns: [
            #{ name: "id", "type": "integer", primary_key: true },
            #{ name: "tag", "type": "text", index: true },
        ] });
        assert_eq(M.column_names(), ["id", "tag"]);
    "#,
    )
    .await;
});

each_backend!(instances_have_properties_and_states, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        let ada = User.build(#{ name: "Ada", email: "ada@example.com" });
        assert_eq(type_of(ada), "Instance");
        assert_eq(ada.state(), "transient");
        assert_eq(ada.name, "Ada");
        assert_eq(ada.karma, ());
        ada.karma = "41";               // coerced to the column type
        ada.karma += 1;
        assert_eq(ada.karma, 42);
        assert_eq(ada.changed(), ["name", "email", "karma"]);
        let kind = ();
        try { ada.karma = "many"; } catch (e) { kind = e.kind; }
        assert_eq(kind, "invalid_value");
        assert_eq(ada.karma, 42);
        try { ada.nope = 1; } catch (e) { kind = e.kind; }
        assert_eq(kind, "schema");
        let m = ada.to_map();
        assert_eq(m.name, "Ada");
        assert_eq(ada.to_string().contains("User("), true);

        let s = db.session();
        s.add(ada);
        assert_eq(ada.state(), "pending");
        s.flush();
        assert_eq(ada.state(), "persistent");
        assert_eq(type_of(ada.id), "i64");
        assert_eq(ada.changed(), []);
        s.commit();
        assert_eq(type_of(ada.created_at), "string");
        s.delete(ada);
        s.flush();
        assert_eq(ada.state(), "deleted");
        s.commit();
        assert_eq(ada.state(), "detached");
    "#,
    )
    .await;
});

each_backend!(model_get_finds_by_primary_key, |t| async move {
    check_after(
        &t,
        MODELS,
        r#"
        db.execute("INSERT INTO users (id, name) VALUES (7, 'Ada')");
        let ada = User.get(7);
        assert_eq(ada.name, "Ada");
        assert_eq(ada.state(), "detached");
        assert_eq(User.get([7]).name, "Ada");
        assert_eq(User.get(8), ());
        assert_eq(type_of(User.c("name")), "Expr");
        let kind = ();
        try { User.get([7, 8]); } catch (e) { kind = e.kind; }
        assert_eq(kind, "invalid_value");
    "#,
    )
    .await;
});

each_backend!(declarations_a_dump_needs, |t| async move {
    // Composite and named foreign keys, indexes and uniques, clock server
    // defaults, identities and enum types by name: what `dbridge-repl models
    // dump` writes.
    let v = ok(
        &t,
        r#"
        let Account = db.model(#{ name: "Account", table: "accounts", columns: [
            ["org", "text", #{ primary_key: true }],
            ["num", "integer", #{ primary_key: true }],
            ["label", "text"],
        ], uniques: [#{ columns: ["label"], name: "accounts_label_key" }] });
        let Entry = db.model(#{ name: "Entry", table: "entries",
            columns: [
                ["id", "bigint", #{ primary_key: true, identity: false }],
                ["org", "text"], ["num", "integer"],
                ["mood", "enum mood('happy', 'sad')", #{ "default": "happy" }],
                ["at", "timestamptz", #{ server_default: "now" }],
            ],
            indexes: [["org"], #{ columns: ["num", "org"], name: "entries_num_org", unique: true }],
            foreign_keys: [#{ columns: ["org", "num"], references: "accounts", ref_columns: ["org", "num"],
                name: "entries_account_fk", on_delete: "cascade" }],
        });
        db.create_all();
        Account.insert(#{ org: "a", num: 1 });
        Entry.insert(#{ id: 7, org: "a", num: 1 });
        let k = "";
        try { Entry.insert(#{ id: 8, org: "b", num: 1 }); } catch (e) { k = e.kind; }
        assert_eq(k, "foreign_key_violation");
        let e = db.query(Entry).one();
        assert_eq(e.at != (), true);
        [e.mood, db.migrator("unused").check().len()]
    "#,
    )
    .await
    .into_array()
    .unwrap();
    assert_eq!(v[0].to_string(), "happy");
    assert_eq!(v[1].as_int().unwrap(), 0);
    let err = run(
        &t,
        r#"db.model(#{ name: "B", columns: [["id", "bigint", #{ identity: "sometimes" }]] })"#,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("always or by_default"), "{err}");
});
