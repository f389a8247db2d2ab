//! Reading a live schema into a [`SchemaSnapshot`]: PostgreSQL from
//! `pg_catalog` in five queries for the whole schema, SQLite from its
//! pragmas (as table-valued functions, one query each for all tables) and the
//! `CREATE TABLE` text in `sqlite_master` for what the pragmas do not tell
//! (constraint names, CHECK conditions, generation expressions).

mod postgres;
mod sqlite;
mod sqlite_sql;

use crate::db::{Database, Row, Transaction};
use crate::error::{Backend, Error, Result};
use crate::ident::Ident;
use crate::value::Value;

use super::snapshot::SchemaSnapshot;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {
    /// The PostgreSQL schema (default: `current_schema()`); ignored on SQLite.
    pub schema: Option<String>,
    /// Tables left out (dbridge's history table is always left out by the runner).
    pub exclude: Vec<String>,
}

impl IntrospectOptions {
    /// Reads the PostgreSQL schema `schema`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Leaves out the table `table`.
    pub fn exclude(mut self, table: impl Into<String>) -> Self {
        self.exclude.push(table.into());
        self
    }
}

/// Reads the schema of a live database.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::Database;
/// use dbridge_engine::migrate::{introspect, IntrospectOptions};
/// let db = Database::connect("sqlite::memory:").await?;
/// db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)", &[]).await?;
/// let schema = introspect(&db, &IntrospectOptions::default()).await?;
/// let users = schema.table("users").unwrap();
/// assert_eq!(users.columns.len(), 2);
/// assert!(!users.column("email").unwrap().nullable);
/// assert_eq!(users.uniques[0].name.as_str(), "uq_users_email");
/// # Ok(()) }
/// ```
///
/// # Errors
/// Database errors; [`Error::TypeMismatch`] if the catalog answers in an
/// unexpected shape.
pub async fn introspect(db: &Database, options: &IntrospectOptions) -> Result<SchemaSnapshot> {
    read(Catalog::Db(db), options).await
}

/// Reads the schema as `tx` sees it: with the tables its own statements
/// created or changed (a migration reflecting what it just made).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::Database;
/// use dbridge_engine::migrate::{introspect_in, IntrospectOptions};
/// let db = Database::connect("sqlite::memory:").await?;
/// let mut tx = db.begin().await?;
/// tx.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)", &[]).await?;
/// assert!(introspect_in(&mut tx, &IntrospectOptions::default()).await?.table("notes").is_some());
/// tx.rollback().await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`introspect`].
pub async fn introspect_in(
    tx: &mut Transaction,
    options: &IntrospectOptions,
) -> Result<SchemaSnapshot> {
    read(Catalog::Tx(tx), options).await
}

/// Where the catalog is read.
pub(crate) enum Catalog<'a> {
    /// Pooled connections (PostgreSQL reads its five queries at once).
    Db(&'a Database),
    /// One transaction, query after query.
    Tx(&'a mut Transaction),
}

impl Catalog<'_> {
    fn backend(&self) -> Backend {
        match self {
            Self::Db(db) => db.backend(),
            Self::Tx(tx) => tx.backend(),
        }
    }

    pub(crate) async fn fetch_all(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        match self {
            Self::Db(db) => db.fetch_all(sql, params).await,
            Self::Tx(tx) => tx.fetch_all(sql, params).await,
        }
    }
}

async fn read(mut from: Catalog<'_>, options: &IntrospectOptions) -> Result<SchemaSnapshot> {
    let mut snap = match from.backend() {
        Backend::Postgres => postgres::introspect(&mut from, options.schema.as_deref()).await?,
        Backend::Sqlite => sqlite::introspect(&mut from).await?,
    };
    snap.tables
        .retain(|t| !options.exclude.iter().any(|x| x == t.name.as_str()));
    snap.sort();
    Ok(snap)
}

/// An identifier read from the catalog, or `None` when dbridge cannot name it
/// exactly (normalisation would change it, or a character it refuses).
fn catalog_ident(name: &str, backend: Backend) -> Option<Ident> {
    Ident::for_backend(name, backend)
        .ok()
        .filter(|id| id.as_str() == name)
}

fn shape(what: &str, v: &Value) -> Error {
    Error::TypeMismatch {
        target: format!("catalog column {what}"),
        expected: "the catalog's type".into(),
        found: v.type_name(),
    }
}

fn text(row: &Row, i: usize) -> Result<String> {
    match row.get(i)? {
        Value::Text(s) => Ok(s.clone()),
        other => Err(shape("text", other)),
    }
}

fn opt_text(row: &Row, i: usize) -> Result<Option<String>> {
    match row.get(i)? {
        Value::Null => Ok(None),
        Value::Text(s) => Ok(Some(s.clone())),
        other => Err(shape("text", other)),
    }
}

fn int(row: &Row, i: usize) -> Result<i64> {
    let v = row.get(i)?;
    v.as_i64().ok_or_else(|| shape("integer", v))
}

fn boolean(row: &Row, i: usize) -> Result<bool> {
    let v = row.get(i)?;
    match v {
        Value::Bool(b) => Ok(*b),
        other => other
            .as_i64()
            .map(|n| n != 0)
            .ok_or_else(|| shape("boolean", v)),
    }
}

fn int_list(row: &Row, i: usize) -> Result<Vec<i64>> {
    match row.get(i)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a
            .items
            .iter()
            .map(|x| x.as_i64().ok_or_else(|| shape("integer[]", x)))
            .collect(),
        other => Err(shape("integer[]", other)),
    }
}

fn text_list(row: &Row, i: usize) -> Result<Option<Vec<String>>> {
    match row.get(i)? {
        Value::Null => Ok(None),
        Value::Array(a) => a
            .items
            .iter()
            .map(|x| match x {
                Value::Text(s) => Ok(s.clone()),
                other => Err(shape("text[]", other)),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        other => Err(shape("text[]", other)),
    }
}
