//! What differs between SQLite and PostgreSQL in the SQL dbridge writes.
//!
//! This module holds text only: it runs nothing. Today it names column types;
//! the statement compiler builds on it.

use crate::error::Backend;
use crate::value::SqlType;

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
