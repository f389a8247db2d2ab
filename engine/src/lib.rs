//! # dbridge-engine
//!
//! The core of dbridge, an ORM runtime whose models, sessions, queries, hooks and
//! migrations are driven from embedded scripts (Lua and Rhai). This crate knows
//! no scripting language: everything a script can do is a plain Rust call here,
//! with engine types ([`Value`], [`Row`], callbacks as `Arc<dyn Fn>`).
//!
//! Layers, each using only those before it:
//!
//! - [`error`]: one [`Error`] type with an [`ErrorKind`] per failure a caller
//!   may handle; messages never hold passwords or bound values.
//! - [`value`]: [`Value`] and [`SqlType`], the 25 column types and their text forms.
//! - [`ident`]: validated identifiers, the only way a name reaches SQL.
//! - [`schema`]: models declared at run time ([`schema::Model`], columns,
//!   constraints, indexes) and the [`schema::Metadata`] registry (create / drop all).
//! - [`query`]: expressions and SELECT / INSERT / UPDATE / DELETE as plain data.
//! - [`dialect`]: the compiler from statements to SQL text and parameters, per backend.
//! - [`db`]: [`Database`] (a pool over SQLite or PostgreSQL), raw SQL with bound
//!   parameters, row streams, [`Transaction`]s with savepoints and retries.
//! - [`migrate`]: introspection, schema diff, DDL up and down, and the
//!   migration runner.
//! - [`events`] and [`validate`]: listeners, validators, custom types.
//! - [`session`]: the ORM session: instances, identity map, unit of work.
//!
//! # Features
//!
//! `sqlite` and `postgres` compile each driver, `tls` adds TLS to PostgreSQL
//! connections (rustls); all three are on by default. A host that uses one
//! backend turns the defaults off and names it, and compiles only that driver:
//! `dbridge-engine = { version = "0.1", default-features = false, features =
//! ["sqlite"] }`. A URL for a backend left out is a
//! [`Configuration`](ErrorKind::Configuration) error naming the feature.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dbridge_engine::Result<()> {
//! use dbridge_engine::{Database, Value};
//!
//! let db = Database::connect("sqlite::memory:").await?;
//! db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", &[]).await?;
//!
//! let mut tx = db.begin().await?;
//! tx.execute("INSERT INTO notes (body) VALUES ($1), ($2)", &["one".into(), "two".into()]).await?;
//! tx.commit().await?;
//!
//! let rows = db.fetch_all("SELECT id, body FROM notes ORDER BY id", &[]).await?;
//! assert_eq!(rows[1].get("body")?, &Value::from("two"));
//!
//! let err = db.execute("INSERT INTO notes (body) VALUES ($1)", &[Value::Null]).await.unwrap_err();
//! assert_eq!(err.kind().as_str(), "not_null_violation");
//! # Ok(()) }
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// A build with one driver leaves the other's helpers (COPY, PgBouncer, value
// codecs) unused; the default build, which CI lints with -D warnings, keeps
// every warning.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_imports, unused_variables, irrefutable_let_patterns)
)]

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!(
    "dbridge-engine needs a database driver: enable the `sqlite` or `postgres` feature (or both)"
);

pub mod db;
pub mod dialect;
pub mod error;
pub mod events;
pub mod ident;
pub mod migrate;
pub mod query;
pub mod schema;
pub mod session;
pub mod validate;
pub mod value;

pub use db::{
    CancelHandle, ConnectOptions, Database, IsolationLevel, Row, SslMode, Statement, Transaction,
    TransactionOptions,
};
pub use error::{Backend, DatabaseError, Error, ErrorKind, MigrationFailure, Result};
pub use ident::Ident;
pub use value::{Array, EnumType, EnumValue, Interval, MacAddr, Numeric, SqlType, Temporal, Value};

/// The examples of `docs/query.md`, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/query.md")]
mod query_docs {}
