//! Migrations: reading a live schema ([`introspect`]), comparing it with
//! declared models ([`SchemaDiff`]), the DDL for each change up and down, and
//! a runner over a directory of migration files with a history table, checksums
//! and a lock against concurrent runners.
//!
//! This module uses [`crate::schema`], [`crate::dialect`] and [`crate::db`];
//! it knows no scripting language: `.lua` and `.rhai` migration files are run
//! through a [`ScriptRunner`] that a binding registers.

mod conn;
mod ddl;
mod declared;
mod diff;
mod files;
mod generate;
mod history;
mod introspect;
mod normalize;
mod rebuild;
mod runner;
mod script;
mod snapshot;

pub use conn::apply;
pub use diff::{Change, PossibleRename, SchemaDiff};
pub use files::{MigrationFile, MigrationKind, read_dir, split_statements};
pub use history::AppliedMigration;
pub use introspect::{IntrospectOptions, introspect};
pub use runner::{
    DEFAULT_HISTORY_TABLE, MigrationRun, MigrationState, MigrationStatus, Migrator,
    PlannedMigration,
};
pub use script::{Direction, FnScriptRunner, ScriptMigration, ScriptRunner};
pub use snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};
