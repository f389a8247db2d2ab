//! Migrations: reading a live schema ([`introspect`]), comparing it with
//! declared models, the DDL for each change up and down, and a runner over a
//! directory of migration files with a history table, checksums and a lock
//! against concurrent runners.
//!
//! This module uses [`crate::schema`], [`crate::dialect`] and [`crate::db`];
//! it knows no scripting language.

mod declared;
mod introspect;
mod normalize;
mod snapshot;

pub use introspect::{IntrospectOptions, introspect};
pub use snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot,
    PrimaryKeySnapshot, SchemaSnapshot, TableSnapshot, UniqueSnapshot,
};
