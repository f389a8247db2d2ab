//! Running statements on SQLite: values bound in their storage form, cells read
//! back as the expected type when one is known.

pub(crate) mod codec;
mod placeholders;

use std::sync::Arc;

use futures_util::{Stream, StreamExt, TryStreamExt};
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow, SqliteValueRef};
use sqlx::{Arguments, Column, Decode, Row as _, Sqlite, TypeInfo, ValueRef};

use self::codec::Stored;
use super::driver_error::ErrorContext;
use super::redact::Bound;
use super::row::{Columns, Row};
use super::statement::Statement;
use crate::error::{Backend, DatabaseError, Error, ErrorKind, Result};
use crate::value::SqlType;

fn bind_params(stmt: &Statement) -> Result<SqliteArguments> {
    let wanted = placeholders::highest(&stmt.sql);
    if wanted != stmt.params.len() {
        return Err(Error::InvalidValue {
            target: "statement".into(),
            reason: format!(
                "it takes {wanted} parameter(s) but {} were given",
                stmt.params.len()
            ),
        });
    }
    let mut args = SqliteArguments::default();
    for (i, v) in stmt.params.iter().enumerate() {
        let added = match codec::to_stored(v, i + 1)? {
            Stored::Null => args.add(None::<i64>),
            Stored::Integer(n) => args.add(n),
            Stored::Real(f) => args.add(f),
            Stored::Text(s) => args.add(s),
            Stored::Blob(b) => args.add(b),
        };
        added.map_err(|e| Error::invalid_value(format!("parameter ${}", i + 1), e.to_string()))?;
    }
    Ok(args)
}

/// Maps a driver error of `stmt`, removing its parameters from the messages.
fn map_err(stmt: &Statement) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |e| {
        let ctx = ErrorContext {
            sql: Some(&stmt.sql),
            values: Bound::Params(&stmt.params),
            ..Default::default()
        };
        super::driver_error::map(e, Backend::Sqlite, ctx)
    }
}

fn stored(raw: SqliteValueRef<'_>) -> std::result::Result<Stored, sqlx::error::BoxDynError> {
    if raw.is_null() {
        return Ok(Stored::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" | "BOOLEAN" => Stored::Integer(<i64 as Decode<Sqlite>>::decode(raw)?),
        "REAL" => Stored::Real(<f64 as Decode<Sqlite>>::decode(raw)?),
        "BLOB" => Stored::Blob(<Vec<u8> as Decode<Sqlite>>::decode(raw)?),
        _ => Stored::Text(<String as Decode<Sqlite>>::decode(raw)?),
    })
}

/// What each column of a result is read as.
struct Shape {
    columns: Arc<Columns>,
    types: Vec<Option<SqlType>>,
}

fn shape(row: &SqliteRow, stmt: &Statement) -> Shape {
    let cols = row.columns();
    let names = cols.iter().map(|c| Arc::from(c.name())).collect();
    let types = cols
        .iter()
        .enumerate()
        .map(|(i, c)| match stmt.result_type(i) {
            Some(t) => Some(t.clone()),
            None if c.type_info().name() == "BOOLEAN" => Some(SqlType::Bool),
            None => None,
        })
        .collect();
    Shape {
        columns: Arc::new(Columns::new(names)),
        types,
    }
}

fn decode_row(row: &SqliteRow, shape: &Shape) -> Result<Row> {
    let mut values = Vec::with_capacity(shape.types.len());
    for (i, ty) in shape.types.iter().enumerate() {
        let name = &shape.columns.names()[i];
        let raw = row
            .try_get_raw(i)
            .map_err(|e| Error::invalid_value(format!("column \"{name}\""), e.to_string()))?;
        let cell = stored(raw)
            .map_err(|e| Error::invalid_value(format!("column \"{name}\""), e.to_string()))?;
        values.push(match ty {
            Some(t) => codec::from_stored(cell, t, name)?,
            None => codec::from_stored_untyped(cell),
        });
    }
    Ok(Row::new(shape.columns.clone(), values))
}

/// Runs a statement and returns the number of rows it affected.
pub(crate) async fn execute(conn: &mut SqliteConnection, stmt: &Statement) -> Result<u64> {
    let args = bind_params(stmt)?;
    let done = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.clone()), args)
        .execute(&mut *conn)
        .await
        .map_err(map_err(stmt))?;
    Ok(done.rows_affected())
}

/// Runs a query and yields its rows as they are read.
pub(crate) fn fetch<'c>(
    conn: &'c mut SqliteConnection,
    stmt: Statement,
) -> impl Stream<Item = Result<Row>> + Send + 'c {
    async_stream::try_stream! {
        let args = bind_params(&stmt)?;
        let mut rows = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.clone()), args)
            .fetch(&mut *conn)
            .map_err(map_err(&stmt));
        let mut shape: Option<Shape> = None;
        while let Some(row) = rows.next().await {
            let row = row?;
            let s = shape.get_or_insert_with(|| self::shape(&row, &stmt));
            yield decode_row(&row, s)?;
        }
    }
}

/// The result column names of `stmt`, from SQLite's prepared statement;
/// nothing is run.
pub(crate) async fn describe(conn: &mut SqliteConnection, stmt: &Statement) -> Result<Vec<String>> {
    use sqlx::{Executor, Statement as _};
    let prepared = conn
        .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
            stmt.sql.clone(),
        )))
        .await
        .map_err(map_err(stmt))?;
    Ok(prepared
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect())
}

// Extended result codes (sqlite3.h).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_CONSTRAINT_CHECK: i64 = 275;
const SQLITE_CONSTRAINT_FOREIGNKEY: i64 = 787;
const SQLITE_CONSTRAINT_NOTNULL: i64 = 1299;
const SQLITE_CONSTRAINT_PRIMARYKEY: i64 = 1555;
const SQLITE_CONSTRAINT_UNIQUE: i64 = 2067;
const SQLITE_MISMATCH: i64 = 20;
const SQLITE_READONLY: i64 = 8;
const SQLITE_INTERRUPT: i64 = 9;

fn kind_of(code: i64, message: &str) -> ErrorKind {
    match code {
        SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
        SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
        SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
        SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
        SQLITE_MISMATCH => ErrorKind::TypeMismatch,
        SQLITE_READONLY => ErrorKind::InvalidState,
        SQLITE_INTERRUPT => ErrorKind::Cancelled,
        c if c & 0xff == SQLITE_BUSY || c & 0xff == SQLITE_LOCKED => ErrorKind::Busy,
        1 if message.starts_with("no such table") => ErrorKind::UndefinedTable,
        1 if message.starts_with("no such column") || message.contains("has no column named") => {
            ErrorKind::UndefinedColumn
        }
        1 if message.contains("syntax error") || message.starts_with("no such") => {
            ErrorKind::Syntax
        }
        _ => ErrorKind::Database,
    }
}

/// The object named after "... constraint failed: " (`users.email`, or a CHECK's name).
fn failed_object(message: &str) -> Option<&str> {
    message
        .split_once("constraint failed: ")
        .map(|(_, rest)| rest.trim())
}

pub(crate) fn map_database_error(
    e: &dyn sqlx::error::DatabaseError,
    ctx: ErrorContext<'_>,
) -> Error {
    let code_text = e.code().map(|c| c.into_owned()).unwrap_or_default();
    let code: i64 = code_text.parse().unwrap_or(0);
    let message = ctx.clean(e.message());
    let kind = kind_of(code, &message);
    let object = failed_object(&message);
    let (table, column) = match (kind, object) {
        (ErrorKind::UniqueViolation | ErrorKind::NotNullViolation, Some(obj)) => {
            let first = obj.split(',').next().unwrap_or(obj).trim();
            match first.split_once('.') {
                Some((t, c)) => (Some(t.to_owned()), Some(c.to_owned())),
                None => (None, None),
            }
        }
        _ => (None, None),
    };
    DatabaseError {
        kind,
        backend: Backend::Sqlite,
        code: Some(code_text),
        message: message.clone(),
        constraint: object
            .filter(|_| kind != ErrorKind::ForeignKeyViolation)
            .map(str::to_owned),
        table,
        column,
        sql: ctx.sql.cloned(),
        position: None,
    }
    .into()
}
