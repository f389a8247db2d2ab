//! Schema diff and DDL: every kind of change detected, its DDL applied and
//! checked by reading the schema again; up, down and up again; renames only
//! when confirmed; SQLite table rebuilds that keep rows and foreign keys.

use dbridge_engine::migrate::{
    Change, IntrospectOptions, SchemaDiff, SchemaSnapshot, apply, introspect,
};
use dbridge_engine::query::Expr;
use dbridge_engine::schema::{Column, ForeignKey, Index, Metadata, Model, ReferentialAction};
use dbridge_engine::{Database, ErrorKind, SqlType, Value};
use dbridge_testkit::each_backend;

async fn live(db: &Database) -> SchemaSnapshot {
    introspect(db, &IntrospectOptions::default()).await.unwrap()
}

fn wanted(db: &Database, meta: &Metadata) -> SchemaSnapshot {
    SchemaSnapshot::from_metadata(meta, db.backend()).unwrap()
}

fn describe(d: &SchemaDiff) -> Vec<String> {
    d.changes().iter().map(ToString::to_string).collect()
}

/// Brings the database to `meta` and checks that nothing is left to change.
async fn sync(db: &Database, meta: &Metadata) -> SchemaDiff {
    let diff = SchemaDiff::between(&live(db).await, &wanted(db, meta));
    apply(db, &diff.up().unwrap()).await.unwrap();
    let after = SchemaDiff::between(&live(db).await, &wanted(db, meta));
    assert!(after.is_empty(), "left after up: {:?}", describe(&after));
    diff
}

fn v1() -> Metadata {
    let meta = Metadata::new();
    let users = dbridge_testkit::keyed("User", "users")
        .column(Column::new("email", "varchar(50)").not_null())
        .column(Column::new("nick", "text").unique())
        .column(Column::new("karma", "integer").default(0))
        .column(Column::new("age", "integer"))
        .column(Column::new("legacy", "text"))
        .check("ck_users_age", Expr::col("age").unwrap().ge(0))
        .index(Index::new(["karma"]))
        .build()
        .unwrap();
    let posts = dbridge_testkit::keyed("Post", "posts")
        .column(Column::new("author_id", SqlType::Int8).references("users", "id"))
        .column(Column::new("title", "text").not_null())
        .build()
        .unwrap();
    let old = dbridge_testkit::keyed("Old", "old_things").build().unwrap();
    meta.add_all([users, posts, old]).unwrap();
    meta
}

fn v2() -> Metadata {
    let meta = Metadata::new();
    let users = dbridge_testkit::keyed("User", "users")
        .column(Column::new("email", "text").not_null().unique()) // type + unique
        .column(Column::new("nick", "text")) // unique dropped
        .column(Column::new("karma", "integer").not_null().default(10)) // default + not null
        .column(Column::new("age", "integer"))
        .column(Column::new("bio", "text")) // added
        .column(Column::new("score", "integer").not_null().default(1)) // added, not null
        .check("ck_users_karma", Expr::col("karma").unwrap().ge(0)) // check swapped
        .index(Index::new(["age"]).filter(Expr::col("age").unwrap().gt(17))) // index swapped
        .build()
        .unwrap();
    let posts = dbridge_testkit::keyed("Post", "posts")
        .column(
            Column::new("author_id", SqlType::Int8)
                .references("users", "id")
                .on_delete(ReferentialAction::Cascade), // action changed
        )
        .column(Column::new("title", "text")) // nullable now
        .column(Column::new("tag_id", SqlType::Int8))
        .foreign_key(ForeignKey::new(["tag_id"], "tags", ["id"]).named("fk_posts_tag"))
        .build()
        .unwrap();
    let tags = dbridge_testkit::keyed("Tag", "tags")
        .column(Column::new("name", "text").not_null())
        .build()
        .unwrap();
    meta.add_all([users, posts, tags]).unwrap();
    meta
}

each_backend!(create_all_leaves_no_diff, |t| async move {
    let meta = v2();
    meta.create_all(&t.db).await.unwrap();
    let diff = SchemaDiff::between(&live(&t.db).await, &wanted(&t.db, &meta));
    assert!(diff.is_empty(), "{:?}", describe(&diff));
});

each_backend!(every_change_applies_up_down_up, |t| async move {
    let db = &t.db;
    let first = sync(db, &v1()).await;
    assert_eq!(first.changes().len(), 3, "{:?}", describe(&first));
    db.execute(
        "INSERT INTO users (id, email, nick, karma, age, legacy) VALUES (1, 'a@x', 'a', 5, 30, 'l')",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO posts (id, author_id, title) VALUES (7, 1, 'hello')",
        &[],
    )
    .await
    .unwrap();
    let v1_schema = live(db).await;

    let diff = SchemaDiff::between(&v1_schema, &wanted(db, &v2()));
    let kinds = describe(&diff);
    for expected in [
        "create table `tags`",
        "drop table `old_things`",
        "add column `users`.`bio`",
        "add column `users`.`score`",
        "drop column `users`.`legacy`",
        "add column `posts`.`tag_id`",
        "add unique constraint `uq_users_email` on `users`",
        "drop unique constraint `uq_users_nick` on `users`",
        "add check constraint `ck_users_karma` on `users`",
        "drop check constraint `ck_users_age` on `users`",
        "add index `ix_users_age` on `users`",
        "drop index `ix_users_karma` on `users`",
        "add foreign key `fk_posts_tag` on `posts`",
        "drop foreign key `fk_posts_author_id_users` on `posts`",
        "add foreign key `fk_posts_author_id_users` on `posts`",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} not in {kinds:?}"
        );
    }
    let alter = |col: &str| {
        diff.changes()
            .iter()
            .find_map(|c| match c {
                Change::AlterColumn { from, to, .. } if from.name.as_str() == col => {
                    Some((from.clone(), to.clone()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no change of {col}: {kinds:?}"))
    };
    let (from, to) = alter("email");
    assert_ne!(from.ty, to.ty);
    let (from, to) = alter("karma");
    assert!(from.nullable && !to.nullable);
    assert_ne!(from.default, to.default);
    let (from, to) = alter("title");
    assert!(!from.nullable && to.nullable);
    // `legacy` dropped and `bio` added, both text: a rename is suggested, not made.
    assert!(
        diff.possible_renames()
            .iter()
            .any(|r| r.from.as_str() == "legacy" && r.to.as_str() == "bio")
    );

    sync(db, &v2()).await;
    let v2_schema = live(db).await;
    // The rows survived (SQLite rebuilt both tables).
    let row = db
        .fetch_one(
            "SELECT email, karma, score, bio FROM users WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get("email").unwrap(), &Value::from("a@x"));
    assert_eq!(row.get("karma").unwrap().as_i64(), Some(5));
    assert_eq!(row.get("score").unwrap().as_i64(), Some(1));
    assert_eq!(row.get("bio").unwrap(), &Value::Null);
    let n = db
        .fetch_one("SELECT count(*) AS n FROM posts", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(1));

    // Down: back to v1 exactly (the dropped table and column come back empty).
    apply(db, &diff.down().unwrap()).await.unwrap();
    let back = SchemaDiff::between(&live(db).await, &v1_schema);
    assert!(back.is_empty(), "after down: {:?}", describe(&back));
    let back = SchemaDiff::between(&live(db).await, &wanted(db, &v1()));
    assert!(
        back.is_empty(),
        "after down vs models: {:?}",
        describe(&back)
    );

    // Up again: the same schema as the first time.
    apply(db, &diff.up().unwrap()).await.unwrap();
    assert_eq!(live(db).await, v2_schema);
});

each_backend!(renames_only_when_confirmed, |t| async move {
    let db = &t.db;
    let before = Metadata::new();
    before
        .add(
            dbridge_testkit::keyed("U", "u")
                .column(Column::new("fullname", "text"))
                .index(Index::new(["fullname"]).named("ix_u_name"))
                .build()
                .unwrap(),
        )
        .unwrap();
    sync(db, &before).await;
    db.execute("INSERT INTO u (id, fullname) VALUES (1, 'Ada')", &[])
        .await
        .unwrap();
    let after = Metadata::new();
    after
        .add(
            dbridge_testkit::keyed("U", "u")
                .column(Column::new("name", "text"))
                .index(Index::new(["name"]).named("ix_u_name"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let diff = SchemaDiff::between(&live(db).await, &wanted(db, &after));
    assert_eq!(diff.possible_renames().len(), 1);
    assert_eq!(
        diff.possible_renames()[0].to_string(),
        "`u`.`fullname` dropped and `name` added with the same type: a rename?"
    );
    assert!(
        diff.changes()
            .iter()
            .any(|c| matches!(c, Change::DropColumn { .. }))
    );
    let diff = diff.rename_column("u", "fullname", "name").unwrap();
    assert_eq!(describe(&diff), ["rename column `u`.`fullname` to `name`"]);
    apply(db, &diff.up().unwrap()).await.unwrap();
    let row = db.fetch_one("SELECT name FROM u", &[]).await.unwrap();
    assert_eq!(row.get("name").unwrap(), &Value::from("Ada"));
    assert!(SchemaDiff::between(&live(db).await, &wanted(db, &after)).is_empty());
    apply(db, &diff.down().unwrap()).await.unwrap();
    let row = db.fetch_one("SELECT fullname FROM u", &[]).await.unwrap();
    assert_eq!(row.get("fullname").unwrap(), &Value::from("Ada"));
    let err = SchemaDiff::between(&live(db).await, &wanted(db, &after))
        .rename_column("u", "nope", "name")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
});

each_backend!(rebuild_keeps_rows_and_foreign_keys, |t| async move {
    let db = &t.db;
    let parent = |extra: bool| {
        let mut b =
            dbridge_testkit::keyed("P", "parents").column(Column::new("name", "varchar(10)"));
        if extra {
            // A type change and a new NOT NULL column: a rebuild on SQLite.
            b = dbridge_testkit::keyed("P", "parents")
                .column(Column::new("name", "text").not_null())
                .column(Column::new("rank", "integer").not_null().default(3));
        }
        b.build().unwrap()
    };
    let child = dbridge_testkit::keyed("C", "children")
        .column(
            Column::new("parent_id", SqlType::Int8)
                .not_null()
                .references("parents", "id")
                .on_delete(ReferentialAction::Cascade),
        )
        .build()
        .unwrap();
    let m1 = Metadata::new();
    m1.add_all([parent(false), child.clone()]).unwrap();
    sync(db, &m1).await;
    db.execute(
        "INSERT INTO parents (id, name) VALUES (1, 'a'), (2, 'b')",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO children (id, parent_id) VALUES (10, 1), (11, 1), (12, 2)",
        &[],
    )
    .await
    .unwrap();
    let m2 = Metadata::new();
    m2.add_all([parent(true), child]).unwrap();
    let diff = sync(db, &m2).await;
    if db.backend() == dbridge_engine::Backend::Sqlite {
        let sql: Vec<String> = diff
            .up()
            .unwrap()
            .iter()
            .map(|s| s.sql().to_owned())
            .collect();
        assert!(
            sql.iter()
                .any(|s| s.starts_with("CREATE TABLE \"_dbridge_new_parents\"")),
            "{sql:?}"
        );
    }
    // Dropping the old parent table cascaded nothing.
    let n = db
        .fetch_one("SELECT count(*) AS n FROM children", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(3));
    let n = db
        .fetch_one("SELECT sum(rank) AS n FROM parents", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(6));
    // The foreign key still holds and still cascades.
    let err = db
        .execute("INSERT INTO children (id, parent_id) VALUES (13, 99)", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignKeyViolation);
    db.execute("DELETE FROM parents WHERE id = 1", &[])
        .await
        .unwrap();
    let n = db
        .fetch_one("SELECT count(*) AS n FROM children", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(1));
});

each_backend!(failed_apply_leaves_no_trace, |t| async move {
    let db = &t.db;
    let meta = v1();
    let diff = SchemaDiff::between(&live(db).await, &wanted(db, &meta));
    let mut stmts = diff.up().unwrap();
    stmts.push(dbridge_engine::Statement::new(
        "CREATE TABLE users (x INTEGER)",
        vec![],
    ));
    let err = apply(db, &stmts).await.unwrap_err();
    assert!(err.to_string().contains("users"), "{err}");
    assert!(live(db).await.tables.is_empty());
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_enum_types_are_created_extended_and_dropped() {
    use std::sync::Arc;
    let t = dbridge_testkit::TestDb::postgres().await;
    let db = &t.db;
    let mood = |labels: &[&str]| {
        SqlType::Enum(Arc::new(dbridge_engine::EnumType {
            name: "mood".into(),
            labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        }))
    };
    let model = |ty: Option<SqlType>| {
        let meta = Metadata::new();
        let mut b = dbridge_testkit::keyed("U", "u");
        if let Some(ty) = ty {
            b = b.column(Column::new("mood", ty));
        }
        meta.add(b.build().unwrap()).unwrap();
        meta
    };
    let d = sync(db, &model(Some(mood(&["happy", "sad"])))).await;
    assert!(describe(&d).contains(&"create enum type `mood`".to_owned()));
    let d = sync(db, &model(Some(mood(&["happy", "sad", "meh"])))).await;
    assert_eq!(describe(&d), ["add labels [\"meh\"] to enum type `mood`"]);
    let s = live(db).await;
    assert_eq!(s.enums[0].labels, ["happy", "sad", "meh"]);
    let d = SchemaDiff::between(&s, &wanted(db, &model(Some(mood(&["sad", "happy"])))));
    let err = d.up().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("enum type `mood`"), "{err}");
    let d = sync(db, &model(None)).await;
    assert!(
        describe(&d).contains(&"drop enum type `mood`".to_owned()),
        "{:?}",
        describe(&d)
    );
    assert!(live(db).await.enums.is_empty());
}

each_backend!(defaults_generated_columns_and_keys_change, |t| async move {
    let db = &t.db;
    let model = |v2: bool| {
        let meta = Metadata::new();
        let mut b = Model::builder("Item").table("items");
        if v2 {
            b = b
                .column(Column::new("code", "text").primary_key())
                .column(Column::new("qty", "integer").not_null().default(5))
                .column(Column::new("label", "text").default("n/a"))
                .column(
                    Column::new("double_qty", "integer")
                        .generated(Expr::col("qty").unwrap() * Expr::val(3)),
                );
        } else {
            b = b
                .column(Column::new("code", "text").not_null())
                .column(Column::new("qty", "integer").not_null().default(1))
                .column(Column::new("label", "text"))
                .column(
                    Column::new("double_qty", "integer")
                        .generated(Expr::col("qty").unwrap() * Expr::val(2)),
                )
                .unique(["code"]);
        }
        meta.add(b.build().unwrap()).unwrap();
        meta
    };
    sync(db, &model(false)).await;
    db.execute("INSERT INTO items (code) VALUES ('a')", &[])
        .await
        .unwrap();
    let v1 = live(db).await;
    let d = sync(db, &model(true)).await;
    let kinds = describe(&d);
    assert!(
        kinds
            .iter()
            .any(|k| k == "change the primary key of `items`"),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("alter column `items`.`double_qty`: generated")),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|k| k.starts_with("alter column `items`.`label`: default")),
        "{kinds:?}"
    );
    let row = db
        .fetch_one("SELECT qty, double_qty FROM items", &[])
        .await
        .unwrap();
    assert_eq!(row.get("qty").unwrap().as_i64(), Some(1));
    assert_eq!(row.get("double_qty").unwrap().as_i64(), Some(3));
    db.execute("INSERT INTO items (code) VALUES ('b')", &[])
        .await
        .unwrap();
    let row = db
        .fetch_one("SELECT qty, label FROM items WHERE code = 'b'", &[])
        .await
        .unwrap();
    assert_eq!(row.get("qty").unwrap().as_i64(), Some(5));
    assert_eq!(row.get("label").unwrap(), &Value::from("n/a"));
    apply(db, &d.down().unwrap()).await.unwrap();
    let back = SchemaDiff::between(&live(db).await, &v1);
    assert!(back.is_empty(), "{:?}", describe(&back));
});

each_backend!(
    expression_indexes_are_dropped_and_made_again,
    |t| async move {
        let db = &t.db;
        let meta = Metadata::new();
        meta.add(
            dbridge_testkit::keyed("U", "u")
                .column(Column::new("email", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
        sync(db, &meta).await;
        db.execute(
            "CREATE UNIQUE INDEX ux_u_lower ON u (lower(email)) WHERE email IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
        let before = live(db).await;
        let diff = sync(db, &meta).await;
        assert_eq!(describe(&diff), ["drop index `ux_u_lower` on `u`"]);
        apply(db, &diff.down().unwrap()).await.unwrap();
        assert_eq!(live(db).await, before);
        // Still unique on lower(email).
        db.execute("INSERT INTO u (id, email) VALUES (1, 'A@x')", &[])
            .await
            .unwrap();
        let err = db
            .execute("INSERT INTO u (id, email) VALUES (2, 'a@X')", &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_identity_is_added_and_removed() {
    use dbridge_engine::schema::Identity;
    let t = dbridge_testkit::TestDb::postgres().await;
    let db = &t.db;
    let model = |id: Option<Identity>| {
        let meta = Metadata::new();
        meta.add(
            Model::builder("T")
                .table("t")
                .column(Column::new("code", "text").primary_key())
                .column(Column::new("n", SqlType::Int8).not_null().identity(id))
                .build()
                .unwrap(),
        )
        .unwrap();
        meta
    };
    sync(db, &model(None)).await;
    let d = sync(db, &model(Some(Identity::ByDefault))).await;
    assert_eq!(describe(&d), ["alter column `t`.`n`: identity"]);
    db.execute("INSERT INTO t (code) VALUES ('a')", &[])
        .await
        .unwrap();
    sync(db, &model(Some(Identity::Always))).await;
    let err = db
        .execute("INSERT INTO t (code, n) VALUES ('b', 5)", &[])
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot insert a non-DEFAULT value"),
        "{err}"
    );
    sync(db, &model(None)).await;
    db.execute("INSERT INTO t (code, n) VALUES ('b', 5)", &[])
        .await
        .unwrap();
}
