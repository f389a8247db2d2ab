//! Declaration errors name the model and the column; DDL per dialect.

mod common;

use common::*;
use dbridge_engine::query::Expr;
use dbridge_engine::schema::{Column, ForeignKey, Identity, Index, Metadata, Model};
use dbridge_engine::{Backend, Error, SqlType};

fn err(b: dbridge_engine::schema::ModelBuilder) -> Error {
    b.build().unwrap_err()
}

#[test]
fn declaration_errors_name_model_and_column() {
    let e = err(Model::builder("User").column(Column::new("id", "intger")));
    assert_eq!(
        e.to_string(),
        "unknown type `intger` for column `id` on model `User`"
    );
    assert!(
        matches!(&e, Error::Schema { model, column: Some(c), .. } if model == "User" && c == "id")
    );
    let e = err(Model::builder("User")
        .column(Column::new("id", "int"))
        .column(Column::new("id", "text")));
    assert_eq!(e.to_string(), "duplicate column `id` on model `User`");
    let e = err(Model::builder("User").column(Column::new("a b", "int")));
    assert_eq!(
        e.to_string(),
        "invalid column name \"a b\" on model `User`: contains whitespace"
    );
    let e = err(Model::builder("Us;er").column(Column::new("id", "int")));
    assert_eq!(
        e.to_string(),
        "invalid model name \"Us;er\": contains the character ';'"
    );
    let e = err(Model::builder("User")
        .table("users\"; DROP TABLE x")
        .column(Column::new("id", "int")));
    assert!(e.to_string().starts_with("invalid table name"), "{e}");
    let e = err(Model::builder("User")
        .column(Column::new("id", "int"))
        .unique(["emial"]));
    assert_eq!(e.to_string(), "no column `emial` on model `User`");
    let e = err(Model::builder("User")
        .column(Column::new("id", "int"))
        .index(Index::new(["id"]).filter(Expr::col("gone").unwrap().eq(1))));
    assert_eq!(
        e.to_string(),
        "the index condition on model `User` names no column `gone`"
    );
    let e =
        err(Model::builder("User")
            .column(Column::new("n", "int").check(Expr::col("m").unwrap().gt(0))));
    assert_eq!(
        e.to_string(),
        "the check on model `User` names no column `m`"
    );
    let e =
        err(Model::builder("User")
            .column(Column::new("name", "text").identity(Some(Identity::Always))));
    assert!(
        e.to_string()
            .contains("is an identity but its type text is not an integer type"),
        "{e}"
    );
    // A self-reference (the default table is the model's name) is fine; a
    // missing column of it is not.
    let e = err(Model::builder("Node")
        .column(Column::new("id", "int").primary_key())
        .column(Column::new("parent", "int").references("Node", "idd")));
    assert_eq!(
        e.to_string(),
        "foreign key `fk_Node_parent_Node` on model `Node` references unknown column `idd` of table `Node`"
    );
    let e = err(Model::builder("Empty"));
    assert_eq!(e.to_string(), "model `Empty` has no columns");
    let e = err(Model::builder("T")
        .column(Column::new("a", "int"))
        .foreign_key(ForeignKey::new(["a"], "t2", ["x", "y"])));
    assert_eq!(
        e.to_string(),
        "a foreign key on model `T` has 1 column(s) but references 2"
    );
}

#[test]
fn foreign_keys_are_checked_against_the_registry() {
    let m = models();
    let post2 = Model::builder("Post2")
        .table("posts2")
        .column(Column::new("id", "int").primary_key())
        .column(Column::new("user_id", "int").references("users", "idd"))
        .build()
        .unwrap();
    let e = m.meta.add(post2).unwrap_err();
    assert_eq!(
        e.to_string(),
        "foreign key `fk_posts2_user_id_users` on model `Post2` references unknown column `idd` of table `users`"
    );
    let not_key = Model::builder("P3")
        .table("p3")
        .column(Column::new("id", "int").primary_key())
        .column(Column::new("user_name", "text").references("users", "name"))
        .build()
        .unwrap();
    let e = m.meta.add(not_key).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("that are neither its primary key nor unique"),
        "{e}"
    );
    let dup = Model::builder("User")
        .table("people")
        .column(Column::new("id", "int"))
        .build()
        .unwrap();
    assert_eq!(
        m.meta.add(dup).unwrap_err().to_string(),
        "a model named `User` is already registered"
    );
    // A self-reference is checked at build time.
    let tree = dbridge_testkit::keyed("Node", "nodes")
        .column(Column::new("parent_id", SqlType::Int8).references("nodes", "id"))
        .build()
        .unwrap();
    Metadata::new().add(tree).unwrap();
    // Lookups by name.
    assert!(m.meta.get("Post").is_some());
    assert_eq!(
        m.meta.by_table("employees").unwrap().name().as_str(),
        "Employee"
    );
    let names: Vec<String> = m
        .meta
        .sorted()
        .0
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert_eq!(names, ["User", "Post", "Employee"]);
}

#[test]
fn ddl_golden_per_dialect() {
    let m = models();
    let sqlite: Vec<String> = m
        .meta
        .create_statements(Backend::Sqlite)
        .unwrap()
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(
        sqlite[0],
        r#"CREATE TABLE IF NOT EXISTS "users" ("id" INTEGER PRIMARY KEY, "name" TEXT NOT NULL, "email" TEXT, "karma" INTEGER DEFAULT 0 NOT NULL, "active" BOOLEAN DEFAULT 1 NOT NULL, "created_at" TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')), "profile" TEXT, CONSTRAINT "uq_users_email" UNIQUE ("email"))"#
    );
    assert_eq!(
        sqlite[2],
        r#"CREATE INDEX IF NOT EXISTS "ix_posts_author_id_score" ON "posts" ("author_id", "score")"#
    );
    let pg: Vec<String> = m
        .meta
        .create_statements(Backend::Postgres)
        .unwrap()
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(
        pg[0],
        r#"CREATE TABLE IF NOT EXISTS "users" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "name" text NOT NULL, "email" text, "karma" integer DEFAULT 0 NOT NULL, "active" boolean DEFAULT TRUE NOT NULL, "created_at" timestamptz DEFAULT (now()), "profile" jsonb, CONSTRAINT "pk_users" PRIMARY KEY ("id"), CONSTRAINT "uq_users_email" UNIQUE ("email"))"#
    );
    assert_eq!(
        pg[1],
        r#"CREATE TABLE IF NOT EXISTS "posts" ("id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL, "author_id" bigint, "title" text NOT NULL, "score" double precision, "created_at" timestamptz DEFAULT (now()), CONSTRAINT "pk_posts" PRIMARY KEY ("id"), CONSTRAINT "fk_posts_author_id_users" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE CASCADE)"#
    );
    let drops: Vec<String> = m
        .meta
        .drop_statements(Backend::Postgres)
        .unwrap()
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(
        drops,
        [r#"DROP TABLE IF EXISTS "employees", "posts", "users""#]
    );
    let drops: Vec<String> = m
        .meta
        .drop_statements(Backend::Sqlite)
        .unwrap()
        .iter()
        .map(|s| s.sql().to_owned())
        .collect();
    assert_eq!(drops[0], r#"DROP TABLE IF EXISTS "employees""#);
}

#[test]
fn ddl_generated_identity_checks_partial_index() {
    let meta = Metadata::new();
    meta.add(
        Model::builder("Line")
            .table("lines")
            .column(
                Column::new("id", "integer")
                    .primary_key()
                    .identity(Some(Identity::Always)),
            )
            .column(
                Column::new("qty", "integer")
                    .not_null()
                    .check(Expr::col("qty").unwrap().gt(0)),
            )
            .column(
                Column::new("price", "numeric(8,2)")
                    .default(dbridge_engine::Value::Numeric("0.50".parse().unwrap())),
            )
            .column(
                Column::new("total", "numeric(10,2)")
                    .generated(Expr::col("qty").unwrap() * Expr::col("price").unwrap()),
            )
            .column(Column::new("note", "text").default("O'Neil"))
            .column(Column::new("day", "date").default_expr(Expr::now()))
            .index(
                Index::new(["qty"]).named("ix_big").filter(
                    Expr::col("qty")
                        .unwrap()
                        .gt(100)
                        .and(Expr::col("note").unwrap().ne("x")),
                ),
            )
            .build()
            .unwrap(),
    )
    .unwrap();
    let pg = meta.create_statements(Backend::Postgres).unwrap();
    assert_eq!(
        pg[0].sql(),
        r#"CREATE TABLE IF NOT EXISTS "lines" ("id" integer GENERATED ALWAYS AS IDENTITY NOT NULL, "qty" integer NOT NULL, "price" numeric(8,2) DEFAULT 0.50, "total" numeric(10,2) GENERATED ALWAYS AS ("qty" * "price") STORED, "note" text DEFAULT 'O''Neil', "day" date DEFAULT (now()), CONSTRAINT "pk_lines" PRIMARY KEY ("id"), CONSTRAINT "ck_lines_qty" CHECK ("qty" > 0))"#
    );
    assert_eq!(
        pg[1].sql(),
        r#"CREATE INDEX IF NOT EXISTS "ix_big" ON "lines" ("qty") WHERE "qty" > 100 AND "note" <> 'x'"#
    );
    assert!(pg.iter().all(|s| s.params().is_empty()));
    let sq = meta.create_statements(Backend::Sqlite).unwrap();
    assert_eq!(
        sq[0].sql(),
        r#"CREATE TABLE IF NOT EXISTS "lines" ("id" INTEGER PRIMARY KEY, "qty" INTEGER NOT NULL, "price" TEXT DEFAULT '0.50', "total" TEXT GENERATED ALWAYS AS ("qty" * "price") STORED, "note" TEXT DEFAULT 'O''Neil', "day" TEXT DEFAULT (date('now')), CONSTRAINT "ck_lines_qty" CHECK ("qty" > 0))"#
    );
    // Identity outside a single integer primary key is not possible on SQLite.
    let meta = Metadata::new();
    meta.add(
        Model::builder("Seq")
            .column(Column::new("k", "text").primary_key())
            .column(Column::new("n", "bigint").identity(Some(Identity::ByDefault)))
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = meta.create_statements(Backend::Sqlite).unwrap_err();
    assert_eq!(
        e.to_string(),
        "identity column `n` of model `Seq` outside a single-column integer primary key is not supported on sqlite"
    );
    assert!(meta.create_statements(Backend::Postgres).is_ok());
}

#[test]
fn cycles_are_closed_with_alter_table_on_postgres() {
    let meta = Metadata::new();
    let a = Model::builder("A")
        .table("a")
        .column(Column::new("id", "int").primary_key())
        .column(Column::new("b_id", "int").references("b", "id"))
        .build()
        .unwrap();
    let b = Model::builder("B")
        .table("b")
        .column(Column::new("id", "int").primary_key())
        .column(Column::new("a_id", "int").references("a", "id"))
        .build()
        .unwrap();
    meta.add_all([a, b]).unwrap();
    let pg = meta.create_statements(Backend::Postgres).unwrap();
    assert_eq!(pg.len(), 3);
    assert_eq!(
        pg[0].sql().split(" (").next(),
        Some(r#"CREATE TABLE IF NOT EXISTS "b""#)
    );
    assert!(!pg[0].sql().contains("FOREIGN KEY"), "{}", pg[0].sql());
    assert_eq!(
        pg[2].sql(),
        r#"ALTER TABLE "b" ADD CONSTRAINT "fk_b_a_id_a" FOREIGN KEY ("a_id") REFERENCES "a" ("id")"#
    );
    let sq = meta.create_statements(Backend::Sqlite).unwrap();
    assert_eq!(sq.len(), 2);
    assert!(sq.iter().all(|s| s.sql().contains("FOREIGN KEY")));
}
