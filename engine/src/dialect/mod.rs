//! What differs between SQLite and PostgreSQL in the SQL dbridge writes, and the
//! compiler that turns [`crate::query`] statements and [`crate::schema`] models
//! into [`Statement`]s: SQL text with `$1, $2...` placeholders on both backends
//! and the bound parameters.
//!
//! This module writes text only: it runs nothing. The compiler is one
//! exhaustive `match` over expressions (`compiler.rs`, with ORDER BY and windows
//! in `clause.rs`); the statements are
//! assembled in `select.rs`, `dml.rs` and `ddl.rs`; `sqlite.rs` and
//! `postgres.rs` hold what differs (ILIKE and JSON on SQLite, parameter casts
//! on PostgreSQL, DISTINCT ON and row locks...). Names reach the text only
//! through [`crate::Ident`]; values only as parameters, except in DDL, which
//! takes no parameters: there `literal.rs` writes them inline, quoted and checked.
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::dialect::compile;
//! use dbridge_engine::query::{Expr, Select};
//! use dbridge_engine::schema::{Column, Model};
//! use dbridge_engine::{Backend, SqlType, Value};
//! let user = Model::builder("User").table("users")
//!     .column(Column::new("id", SqlType::Int8).primary_key())
//!     .column(Column::new("name", "text"))
//!     .build()?;
//! let q = Select::from(&user).filter(user.col("name")?.ilike("a%"));
//! assert_eq!(
//!     compile(&q, Backend::Sqlite)?.sql(),
//!     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE lower("users"."name") LIKE lower($1)"#
//! );
//! assert_eq!(compile(&q, Backend::Postgres)?.params(), &[Value::from("a%")]);
//! # Ok::<(), dbridge_engine::Error>(())
//! ```

mod clause;
mod compiler;
pub(crate) mod ddl;
mod dml;
mod literal;
mod postgres;
mod select;
mod sqlite;

use std::sync::Arc;

use crate::db::Statement;
use crate::error::{Backend, Result};
use crate::query::{
    Compound, Delete, Expr, Insert, JsonOp, Keyword, OutputColumn, Query, Select, Update,
};
use crate::value::{SqlType, Value};

pub(crate) use compiler::Compiler;
pub(crate) use dml::{bulk_keys_found, bulk_update};
pub use literal::literal;

/// The most bind parameters one statement may have on `backend`.
pub fn param_limit(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 65_535,
        Backend::Sqlite => 32_766,
    }
}

/// What differs between backends in the SQL the compiler writes.
pub(crate) trait Dialect: Sync {
    fn backend(&self) -> Backend;
    /// Binds a value as a parameter; `peer` is the type it meets, when known.
    fn param(&self, c: &mut Compiler, v: Value, peer: Option<&SqlType>);
    /// A value written inline (DDL).
    fn literal(&self, v: &Value) -> Result<String>;
    /// `TRUE` / `FALSE`.
    fn bool_literal(&self, b: bool) -> &'static str;
    /// The type name in a CAST.
    fn type_name(&self, ty: &SqlType) -> String;
    /// `IS [NOT] DISTINCT FROM`.
    fn distinct_from(&self, distinct: bool) -> &'static str;
    /// `now()` and friends.
    fn keyword(&self, c: &mut Compiler, k: Keyword);
    /// LIKE / ILIKE.
    fn like(&self, c: &mut Compiler, e: &Expr, p: &Expr, ci: bool, negated: bool) -> Result<()>;
    /// JSON operators.
    fn json(&self, c: &mut Compiler, op: JsonOp, l: &Expr, r: &Expr) -> Result<()>;
    /// `DISTINCT ON (...)`.
    fn distinct_on(&self, c: &mut Compiler, exprs: &[Expr]) -> Result<()>;
    /// `FOR UPDATE ...`.
    fn lock(&self, c: &mut Compiler, lock: &crate::query::Lock) -> Result<()>;
}

fn dialect_for(backend: Backend) -> &'static dyn Dialect {
    match backend {
        Backend::Sqlite => &sqlite::Sqlite,
        Backend::Postgres => &postgres::Postgres,
    }
}

/// A compiled statement and what its result columns are.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The statement to run.
    pub statement: Statement,
    /// The output columns (empty for statements without RETURNING).
    pub columns: Arc<[OutputColumn]>,
}

/// Statements the compiler accepts.
pub trait Compile {
    /// Compiles for `backend` into one statement with its result columns.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] for what the backend lacks;
    /// [`crate::Error::InvalidState`] for a malformed statement.
    fn compile_for(&self, backend: Backend) -> Result<Compiled>;
}

/// Compiles a statement into SQL text and parameters for `backend`.
///
/// # Errors
/// As [`Compile::compile_for`].
pub fn compile<S: Compile + ?Sized>(stmt: &S, backend: Backend) -> Result<Statement> {
    Ok(stmt.compile_for(backend)?.statement)
}

impl Compile for Select {
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        select::compile_select(self, backend)
    }
}

impl Compile for Compound {
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        select::compile_compound(self, backend)
    }
}

impl Compile for Query {
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        select::compile_query(self, backend)
    }
}

impl Compile for Insert {
    /// # Errors
    /// Also [`crate::Error::InvalidState`] when the rows need several statements
    /// (see [`Insert::compile_batches`]).
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        let mut batches = dml::compile_insert(self, backend)?;
        if batches.len() != 1 {
            return Err(crate::Error::InvalidState(format!(
                "this insert needs {} statements; use compile_batches or execute",
                batches.len()
            )));
        }
        Ok(batches.remove(0))
    }
}

impl Insert {
    /// Compiles into as many statements as the rows need (each under the
    /// backend's parameter limit, or `UNNEST` batches on PostgreSQL).
    ///
    /// # Errors
    /// As [`Compile::compile_for`]; value coercion errors naming the column.
    pub fn compile_batches(&self, backend: Backend) -> Result<Vec<Compiled>> {
        dml::compile_insert(self, backend)
    }

    /// The binary `COPY ... FROM STDIN` that [`Run::execute`](crate::query::Run::execute)
    /// loads this insert through, or `None` when it runs as INSERT statements:
    /// on SQLite, below the [bulk threshold](Insert::bulk_threshold), with ON
    /// CONFLICT, RETURNING, INSERT ... SELECT, an array column, or
    /// [`Insert::copy`] turned off.
    ///
    /// # Examples
    ///
    /// ```
    /// use dbridge_engine::query::Insert;
    /// use dbridge_engine::schema::{Column, Model};
    /// use dbridge_engine::{Backend, SqlType, Value};
    /// let user = Model::builder("User").table("users")
    ///     .column(Column::new("id", SqlType::Int8).primary_key())
    ///     .column(Column::new("name", "text"))
    ///     .build()?;
    /// let ins = Insert::into(&user)
    ///     .columns(["name"])?
    ///     .rows((0..1000).map(|i| vec![Value::from(format!("user {i}"))]))?;
    /// let copy = ins.compile_copy(Backend::Postgres)?.unwrap();
    /// assert_eq!(copy.sql(), r#"COPY "users" ("name") FROM STDIN (FORMAT binary)"#);
    /// assert_eq!(copy.row_count(), 1000);
    /// assert!(ins.compile_copy(Backend::Sqlite)?.is_none());
    /// assert!(ins.clone().copy(false).compile_copy(Backend::Postgres)?.is_none());
    /// # Ok::<(), dbridge_engine::Error>(())
    /// ```
    ///
    /// # Errors
    /// Value coercion errors naming the column.
    pub fn compile_copy(&self, backend: Backend) -> Result<Option<crate::db::CopyIn<'_>>> {
        dml::compile_copy(self, backend)
    }
}

impl Compile for Update {
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        dml::compile_update(self, backend)
    }
}

impl Compile for Delete {
    fn compile_for(&self, backend: Backend) -> Result<Compiled> {
        dml::compile_delete(self, backend)
    }
}

/// The column type to declare for `ty` on `backend`.
///
/// On PostgreSQL this is the type itself (enum types by their quoted name). On
/// SQLite it is the declaration whose affinity keeps the stored form intact
/// (see the storage table in the `db` module): `BOOLEAN`, the integer names,
/// `REAL` / `DOUBLE PRECISION`, `BLOB` for bytes, `VARCHAR(n)` / `CHAR(n)`, and
/// `TEXT` for every type stored as text (numeric included, so that it stays exact).
///
/// # Examples
///
/// ```
/// use dbridge_engine::{Backend, SqlType, dialect::column_type};
/// assert_eq!(column_type(Backend::Postgres, &SqlType::Timestamptz), "timestamptz");
/// assert_eq!(column_type(Backend::Sqlite, &SqlType::Timestamptz), "TEXT");
/// assert_eq!(column_type(Backend::Sqlite, &SqlType::Int8), "BIGINT");
/// ```
pub fn column_type(backend: Backend, ty: &SqlType) -> String {
    match backend {
        Backend::Postgres => postgres_type(ty),
        Backend::Sqlite => sqlite_type(ty).to_string(),
    }
}

fn postgres_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Enum(e) => {
            // Enum names are validated identifiers when a model declares them;
            // quoting keeps any other name inert.
            format!("\"{}\"", e.name.replace('"', "\"\""))
        }
        SqlType::Array(elem) => format!("{}[]", postgres_type(elem)),
        other => other.to_string(),
    }
}

fn sqlite_type(ty: &SqlType) -> std::borrow::Cow<'static, str> {
    match ty {
        SqlType::Bool => "BOOLEAN".into(),
        SqlType::Int2 => "SMALLINT".into(),
        SqlType::Int4 => "INTEGER".into(),
        SqlType::Int8 => "BIGINT".into(),
        SqlType::Float4 => "REAL".into(),
        SqlType::Float8 => "DOUBLE PRECISION".into(),
        SqlType::Bytea => "BLOB".into(),
        SqlType::Varchar(Some(n)) => format!("VARCHAR({n})").into(),
        SqlType::Char(n) => format!("CHAR({n})").into(),
        _ => "TEXT".into(),
    }
}
