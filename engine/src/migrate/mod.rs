//! Migrations: reading a live schema ([`introspect`]), comparing it with
//! declared models ([`SchemaDiff`]), the DDL for each change up and down
//! (with SQLite's table rebuild), and a [`Migrator`] over a directory of
//! migration files with a history table, checksums, a lock against concurrent
//! runners, dry runs, `check` and `autogenerate`.
//!
//! This module uses [`crate::schema`], [`crate::dialect`] and [`crate::db`],
//! never the session layer, and knows no scripting language: `.lua` and
//! `.rhai` migration files are run through a [`ScriptRunner`] that a binding
//! registers. Users' guide: `docs/migrations.md`.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `snapshot.rs`, `declared.rs` | [`SchemaSnapshot`]: a schema as data; declared models in that form |
//! | `introspect/` | the live schema: PostgreSQL catalog queries, SQLite pragmas and `CREATE` text |
//! | `diff.rs`, `change.rs`, `normalize.rs` | [`SchemaDiff`] and its [`Change`]s; expression comparison |
//! | `ddl.rs`, `postgres_ddl.rs`, `rebuild.rs` | the statements for a diff, per backend |
//! | `conn.rs` | [`apply`] and the migration transaction (SQLite: foreign keys off, checked) |
//! | `files.rs`, `script.rs` | migration files; the [`ScriptRunner`] hook |
//! | `history.rs`, `runner.rs`, `generate.rs` | the history table and lock; [`Migrator`] |
//! | `declaration.rs` | a live schema as model declarations, for writers of `db:model` text |
//! | `reflect.rs`, `reflect_relations.rs` | live tables as models ([`SchemaSnapshot::to_metadata`]), with relationships from their foreign keys |
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dbridge_engine::Result<()> {
//! use dbridge_engine::Database;
//! use dbridge_engine::migrate::{SchemaDiff, SchemaSnapshot, IntrospectOptions, apply, introspect};
//! use dbridge_engine::schema::{Column, Metadata, Model};
//!
//! let db = Database::connect("sqlite::memory:").await?;
//! db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(20))", &[]).await?;
//! db.execute("INSERT INTO users (name) VALUES ('Ada')", &[]).await?;
//!
//! let models = Metadata::new();
//! models.add(Model::builder("User").table("users")
//!     .column(Column::new("id", "bigint").primary_key())
//!     .column(Column::new("name", "text").not_null())
//!     .build()?)?;
//! let live = introspect(&db, &IntrospectOptions::default()).await?;
//! let diff = SchemaDiff::between(&live, &SchemaSnapshot::from_metadata(&models, db.backend())?);
//! assert_eq!(diff.changes()[0].to_string(), "alter column `users`.`name`: type VARCHAR(20) -> TEXT set not null");
//! apply(&db, &diff.up()?).await?; // SQLite rebuilds the table, keeping its rows
//! assert_eq!(db.fetch_one("SELECT name FROM users", &[]).await?.get(0)?.as_str(), Some("Ada"));
//! # Ok(()) }
//! ```

mod change;
mod conn;
pub(crate) mod ddl;
mod declaration;
mod declared;
mod diff;
mod files;
mod generate;
mod history;
mod introspect;
mod normalize;
mod postgres_ddl;
mod rebuild;
mod reflect;
mod reflect_relations;
mod runner;
mod script;
mod snapshot;

pub use conn::apply;
pub use declaration::{
    ColumnDeclaration, Declarations, ForeignKeyDeclaration, IndexDeclaration, ModelDeclaration,
    RelationDeclaration,
};
pub use diff::{Change, PossibleRename, SchemaDiff};
pub use files::{MigrationFile, MigrationKind, read_dir, split_statements};
pub use history::AppliedMigration;
pub use introspect::{IntrospectOptions, introspect, introspect_in};
pub use reflect::Reflected;
pub use runner::{
    DEFAULT_HISTORY_TABLE, MigrationRun, MigrationState, MigrationStatus, Migrator,
    PlannedMigration,
};
pub use script::{Direction, FnScriptRunner, ScriptMigration, ScriptRunner};
pub use snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};
