//! Introspection: a schema made by declared models (and by hand) read back
//! with its columns, keys, constraints and indexes, on both backends.

use std::sync::Arc;

use dbridge_engine::migrate::{IndexPart, IntrospectOptions, introspect};
use dbridge_engine::query::Expr;
use dbridge_engine::schema::{Column, ForeignKey, Identity, Index, Metadata, ReferentialAction};
use dbridge_engine::{Backend, EnumType, SqlType};
use dbridge_testkit::each_backend;

fn models() -> Metadata {
    let mood = SqlType::Enum(Arc::new(EnumType {
        name: "mood".into(),
        labels: vec!["happy".into(), "sad".into()],
    }));
    let meta = Metadata::new();
    let users = dbridge_testkit::keyed("User", "users")
        .column(Column::new("email", "varchar(200)").not_null().unique())
        .column(
            Column::new("karma", "integer")
                .not_null()
                .default(0)
                .check(Expr::col("karma").unwrap().ge(0)),
        )
        .column(Column::new("created_at", "timestamptz").default_expr(Expr::now()))
        .column(Column::new("mood", mood))
        .column(
            Column::new("double_karma", "integer")
                .generated(Expr::col("karma").unwrap() * Expr::val(2)),
        )
        .index(Index::new(["karma"]).filter(Expr::col("karma").unwrap().gt(100)))
        .build()
        .unwrap();
    let posts = dbridge_testkit::keyed("Post", "posts")
        .column(Column::new("author_id", SqlType::Int8).not_null())
        .column(Column::new("title", "text").index())
        .foreign_key(
            ForeignKey::new(["author_id"], "users", ["id"])
                .on_delete(ReferentialAction::Cascade)
                .on_update(ReferentialAction::Restrict),
        )
        .unique(["author_id", "title"])
        .build()
        .unwrap();
    meta.add_all([users, posts]).unwrap();
    meta
}

each_backend!(reads_what_models_declare, |t| async move {
    let meta = models();
    meta.create_all(&t.db).await.unwrap();
    t.db.execute(
        "CREATE INDEX ix_users_lower_email ON users (lower(email))",
        &[],
    )
    .await
    .unwrap();
    let s = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        s.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["posts", "users"]
    );
    let users = s.table("users").unwrap();
    let names: Vec<_> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["id", "email", "karma", "created_at", "mood", "double_karma"]
    );
    let id = users.column("id").unwrap();
    assert_eq!(id.identity, Some(Identity::ByDefault));
    assert!(!id.nullable);
    let email = users.column("email").unwrap();
    assert!(!email.nullable);
    assert_eq!(email.sql_type, Some(SqlType::Varchar(Some(200))));
    let karma = users.column("karma").unwrap();
    assert_eq!(karma.default.as_deref(), Some("0"));
    assert!(
        users
            .column("created_at")
            .unwrap()
            .default
            .as_deref()
            .unwrap()
            .contains("now")
    );
    assert!(users.column("created_at").unwrap().nullable);
    let genexpr = users
        .column("double_karma")
        .unwrap()
        .generated
        .as_deref()
        .unwrap();
    assert!(
        genexpr.contains("karma") && genexpr.contains('2'),
        "{genexpr}"
    );
    assert_eq!(
        users.primary_key.as_ref().unwrap().columns[0].as_str(),
        "id"
    );
    assert_eq!(users.uniques.len(), 1);
    assert_eq!(users.uniques[0].name.as_str(), "uq_users_email");
    let checks: Vec<_> = users.checks.iter().map(|c| c.name.as_str()).collect();
    match t.backend() {
        Backend::Postgres => {
            assert_eq!(checks, ["ck_users_karma"]);
            assert_eq!(s.enums.len(), 1);
            assert_eq!(s.enums[0].labels, ["happy", "sad"]);
            assert!(matches!(
                users.column("mood").unwrap().sql_type,
                Some(SqlType::Enum(_))
            ));
        }
        Backend::Sqlite => {
            assert_eq!(checks, ["ck_users_karma", "ck_users_mood_enum"]);
            assert!(s.enums.is_empty());
        }
    }
    assert!(users.checks[0].expr.contains("karma"));
    let partial = users
        .indexes
        .iter()
        .find(|i| i.name.as_str() == "ix_users_karma")
        .unwrap();
    assert_eq!(
        partial.parts,
        [IndexPart::Column(
            dbridge_engine::Ident::new("karma").unwrap()
        )]
    );
    assert!(partial.filter.as_deref().unwrap().contains("100"));
    let expr = users
        .indexes
        .iter()
        .find(|i| i.name.as_str() == "ix_users_lower_email")
        .unwrap();
    assert!(matches!(&expr.parts[0], IndexPart::Expression(e) if e.contains("lower")));

    let posts = s.table("posts").unwrap();
    assert_eq!(posts.foreign_keys.len(), 1);
    let fk = &posts.foreign_keys[0];
    assert_eq!(fk.name.as_str(), "fk_posts_author_id_users");
    assert_eq!(fk.ref_table.as_str(), "users");
    assert_eq!(fk.ref_columns[0].as_str(), "id");
    assert_eq!(fk.on_delete, ReferentialAction::Cascade);
    assert_eq!(fk.on_update, ReferentialAction::Restrict);
    assert_eq!(posts.uniques[0].columns.len(), 2);
    assert_eq!(posts.indexes[0].name.as_str(), "ix_posts_title");

    let only_posts = introspect(&t.db, &IntrospectOptions::default().exclude("users"))
        .await
        .unwrap();
    assert_eq!(only_posts.tables.len(), 1);
});

each_backend!(reads_hand_written_ddl, |t| async move {
    let serial = match t.backend() {
        Backend::Postgres => "SERIAL PRIMARY KEY",
        Backend::Sqlite => "INTEGER PRIMARY KEY",
    };
    t.db.execute(
        &format!(
            "CREATE TABLE a (id {serial}, code CHAR(3) UNIQUE, n NUMERIC(12,2) DEFAULT 1.5, \
             CHECK (n > 0))"
        ),
        &[],
    )
    .await
    .unwrap();
    t.db.execute(
        "CREATE TABLE b (x INTEGER, y INTEGER, a_id INTEGER REFERENCES a ON DELETE SET NULL, \
         PRIMARY KEY (x, y))",
        &[],
    )
    .await
    .unwrap();
    let s = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap();
    let a = s.table("a").unwrap();
    assert_eq!(a.column("id").unwrap().identity, Some(Identity::ByDefault));
    assert_eq!(a.column("id").unwrap().default, None);
    assert_eq!(a.column("code").unwrap().sql_type, Some(SqlType::Char(3)));
    assert_eq!(a.uniques.len(), 1);
    assert_eq!(a.checks.len(), 1);
    assert!(
        a.column("n")
            .unwrap()
            .default
            .as_deref()
            .unwrap()
            .contains("1.5")
    );
    let b = s.table("b").unwrap();
    let pk: Vec<_> = b
        .primary_key
        .as_ref()
        .unwrap()
        .columns
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(pk, ["x", "y"]);
    assert!(b.columns.iter().all(|c| c.identity.is_none()));
    let fk = &b.foreign_keys[0];
    assert_eq!(fk.ref_columns[0].as_str(), "id");
    assert_eq!(fk.on_delete, ReferentialAction::SetNull);
});

each_backend!(reflects_live_tables_into_models, |t| async move {
    models().create_all(&t.db).await.unwrap();
    t.db.execute("CREATE TABLE odd (id INTEGER PRIMARY KEY, spot POINT)", &[])
        .await
        .ok(); // POINT exists on PostgreSQL only; SQLite accepts any type name
    let reflected = introspect(&t.db, &IntrospectOptions::default())
        .await
        .unwrap()
        .to_metadata();
    let users = reflected.metadata.get("users").unwrap();
    assert_eq!(users.table().as_str(), "users");
    assert_eq!(users.primary_key(), &[0]);
    assert!(users.column("id").unwrap().identity().is_some());
    assert!(!users.column("email").unwrap().is_nullable());
    assert!(users.column("karma").unwrap().is_server_generated());
    assert!(users.column("created_at").unwrap().is_server_generated());
    assert_eq!(users.uniques().len(), 1);
    let posts = reflected.metadata.get("posts").unwrap();
    assert_eq!(posts.foreign_keys()[0].table.as_str(), "users");
    assert_eq!(
        posts.foreign_keys()[0].on_delete,
        ReferentialAction::Cascade
    );
    // An unknown type leaves the table out, with the reason.
    let odd = reflected.left_out.iter().find(|(t, _)| t == "odd").unwrap();
    assert!(odd.1.contains("cannot read"), "{}", odd.1);
    // The models work for queries.
    t.db.execute("INSERT INTO users (email) VALUES ('a@x')", &[])
        .await
        .unwrap();
    let q = dbridge_engine::query::Select::from(&users).filter(users.col("karma").unwrap().eq(0));
    let rows =
        t.db.fetch_all_statement(dbridge_engine::dialect::compile(&q, t.backend()).unwrap())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
});
