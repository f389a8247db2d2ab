//! Running statements on PostgreSQL: parameter types from the server's
//! prepared statement, values in binary, rows decoded by column type.

pub(crate) mod codec;
pub(crate) mod copy;

use std::sync::Arc;

use futures_util::{Stream, StreamExt, TryFutureExt};
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArguments, PgConnection, PgTypeInfo, PgTypeKind, Postgres};
use sqlx::{Arguments, Column, Executor, Row as _, Statement as _, TypeInfo, ValueRef};

use super::driver_error::{ErrorContext, redact_quoted};
use super::redact::Bound;
use super::row::{Columns, Row};
use super::statement::Statement;
use crate::error::{Backend, DatabaseError, Error, ErrorKind, Result};
use crate::value::{EnumType, SqlType, Value};

/// The dbridge type of a PostgreSQL type, if dbridge can read and write it.
pub(crate) fn sql_type_of(ti: &PgTypeInfo) -> Option<SqlType> {
    if let Some(t) = ti.oid().and_then(|o| codec::scalar_type(o.0)) {
        return Some(t);
    }
    match ti.kind() {
        PgTypeKind::Enum(labels) => Some(SqlType::Enum(Arc::new(EnumType {
            name: ti.name().to_owned(),
            labels: labels.to_vec(),
        }))),
        PgTypeKind::Domain(base) => sql_type_of(base),
        PgTypeKind::Array(elem) => {
            let elem = sql_type_of(elem)?;
            (!matches!(elem, SqlType::Array(_))).then(|| SqlType::Array(Box::new(elem)))
        }
        _ => None,
    }
}

/// A parameter ready to send: a value coerced to the server's type for it.
struct PgParam<'a> {
    value: &'a Value,
    ty: PgTypeInfo,
    elem_oid: u32,
}

impl sqlx::Type<Postgres> for PgParam<'_> {
    fn type_info() -> PgTypeInfo {
        // Only a fallback: `produces` always gives the real type.
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for PgParam<'_> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        if self.value.is_null() {
            return Ok(sqlx::encode::IsNull::Yes);
        }
        codec::encode(self.value, self.elem_oid, buf)?;
        Ok(sqlx::encode::IsNull::No)
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }
}

/// Whether `v` is exactly of type `ty` (for an array: every item too).
fn has_type(v: &Value, ty: &SqlType) -> bool {
    match (v, ty) {
        (Value::Null, _) => true,
        (Value::Array(a), SqlType::Array(elem)) => {
            a.elem == **elem
                && !matches!(**elem, SqlType::Enum(_) | SqlType::Array(_))
                && a.items
                    .iter()
                    .all(|x| x.is_null() || x.sql_type().as_ref() == Some(&**elem))
        }
        (Value::Array(_) | Value::Enum(_), _) => false,
        _ => v.sql_type().as_ref() == Some(ty),
    }
}

fn bind_params(stmt: &Statement, types: &[PgTypeInfo]) -> Result<PgArguments> {
    if types.len() != stmt.params.len() {
        return Err(Error::InvalidValue {
            target: "statement".into(),
            reason: format!(
                "it takes {} parameter(s) but {} were given",
                types.len(),
                stmt.params.len()
            ),
        });
    }
    let mut args = PgArguments::default();
    for (i, (value, ty)) in stmt.params.iter().zip(types).enumerate() {
        let target = format!("parameter ${}", i + 1);
        let sql_ty = sql_type_of(ty).ok_or_else(|| Error::TypeMismatch {
            target: target.clone(),
            expected: ty.name().to_ascii_lowercase(),
            found: format!(
                "{} (dbridge cannot bind {}; cast the parameter in SQL)",
                value.type_name(),
                ty.name().to_ascii_lowercase()
            ),
        })?;
        // A value already of the server's type is encoded as it is: no copy of
        // a large array parameter (the UNNEST bulk path binds 100k-item arrays).
        let coerced;
        let value = if has_type(value, &sql_ty) {
            value
        } else {
            coerced = value.clone().coerce(&sql_ty, &target)?;
            &coerced
        };
        let elem_oid = match ty.kind() {
            PgTypeKind::Array(elem) => elem.oid().map_or(0, |o| o.0),
            _ => 0,
        };
        args.add(PgParam {
            value,
            ty: ty.clone(),
            elem_oid,
        })
        .map_err(|e| Error::invalid_value(target, e.to_string()))?;
    }
    Ok(args)
}

/// Maps a driver error of the statement `sql`, removing `values` from its messages.
pub(super) fn map_err<'a>(
    sql: &'a Arc<str>,
    values: Bound<'a>,
) -> impl Fn(sqlx::Error) -> Error + 'a {
    move |e| {
        let ctx = ErrorContext {
            sql: Some(sql),
            values,
            ..Default::default()
        };
        super::driver_error::map(e, Backend::Postgres, ctx)
    }
}

fn stmt_err(stmt: &Statement) -> impl Fn(sqlx::Error) -> Error + '_ {
    map_err(&stmt.sql, Bound::Params(&stmt.params))
}

/// The PostgreSQL type `void` (what `pg_notify`, `pg_sleep`... return).
const VOID_OID: u32 = 2278;

/// How a result column is read: `None` for `void`, whose values read as NULL.
fn column_type(col: &sqlx::postgres::PgColumn) -> Result<Option<SqlType>> {
    let ti = col.type_info();
    if ti.oid().is_some_and(|o| o.0 == VOID_OID) {
        return Ok(None);
    }
    sql_type_of(ti)
        .map(Some)
        .ok_or_else(|| Error::TypeMismatch {
            target: format!("column \"{}\"", col.name()),
            expected: "a type dbridge can read".into(),
            found: format!(
                "{} (cast it in SQL, e.g. to text)",
                ti.name().to_ascii_lowercase()
            ),
        })
}

/// Prepares (or finds in the connection's cache) the statement and binds its parameters.
async fn prepare(
    conn: &mut PgConnection,
    stmt: &Statement,
) -> Result<(PgArguments, Arc<Columns>, Vec<(Option<SqlType>, Arc<str>)>)> {
    let prepared = conn
        .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
            stmt.sql.clone(),
        )))
        .await
        .map_err(stmt_err(stmt))?;
    let types = match prepared.parameters() {
        Some(sqlx::Either::Left(types)) => types.to_vec(),
        _ => Vec::new(),
    };
    let args = bind_params(stmt, &types)?;
    let mut names = Vec::with_capacity(prepared.columns().len());
    let mut decoders = Vec::with_capacity(prepared.columns().len());
    for col in prepared.columns() {
        let name: Arc<str> = Arc::from(col.name());
        decoders.push((column_type(col)?, name.clone()));
        names.push(name);
    }
    Ok((args, Arc::new(Columns::new(names)), decoders))
}

/// The result column names of `stmt`, from the server's description of the
/// prepared statement (sqlx caches it: no round trip when this connection
/// ran the statement before); nothing is run.
pub(crate) async fn describe(conn: &mut PgConnection, stmt: &Statement) -> Result<Vec<String>> {
    let prepared = conn
        .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
            stmt.sql.clone(),
        )))
        .await
        .map_err(stmt_err(stmt))?;
    Ok(prepared
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect())
}

fn decode_row(
    row: &sqlx::postgres::PgRow,
    columns: &Arc<Columns>,
    decoders: &[(Option<SqlType>, Arc<str>)],
) -> Result<Row> {
    let mut values = Vec::with_capacity(decoders.len());
    for (i, (ty, name)) in decoders.iter().enumerate() {
        let raw = row
            .try_get_raw(i)
            .map_err(|e| Error::invalid_value(format!("column \"{name}\""), e.to_string()))?;
        let Some(ty) = ty.as_ref().filter(|_| !raw.is_null()) else {
            values.push(Value::Null);
            continue;
        };
        let bytes = raw
            .as_bytes()
            .map_err(|e| Error::invalid_value(format!("column \"{name}\""), e.to_string()))?;
        let v = codec::decode(ty, bytes)
            .map_err(|reason| Error::invalid_value(format!("column \"{name}\""), reason))?;
        values.push(v);
    }
    Ok(Row::new(columns.clone(), values))
}

/// Runs a statement and returns the number of rows it affected.
pub(crate) async fn execute(conn: &mut PgConnection, stmt: &Statement) -> Result<u64> {
    if stmt.control {
        let done = conn
            .execute(sqlx::AssertSqlSafe(stmt.sql.clone()))
            .await
            .map_err(map_err(&stmt.sql, Bound::None))?;
        return Ok(done.rows_affected());
    }
    let (args, _, _) = prepare(conn, stmt).await?;
    let done = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.clone()), args)
        .execute(&mut *conn)
        .await
        .map_err(stmt_err(stmt))?;
    Ok(done.rows_affected())
}

/// Runs a query and yields its rows as they arrive: the driver's stream with
/// each row decoded as it is taken (no generator in between, a row costs one
/// poll).
pub(crate) fn fetch<'c>(
    conn: &'c mut PgConnection,
    stmt: Statement,
) -> impl Stream<Item = Result<Row>> + Send + 'c {
    async move {
        let (args, columns, decoders) = prepare(conn, &stmt).await?;
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.clone()), args)
            .fetch(conn)
            .map(move |row| decode_row(&row.map_err(stmt_err(&stmt))?, &columns, &decoders));
        Ok::<_, Error>(rows)
    }
    .try_flatten_stream()
}

fn kind_of(code: &str, message: &str) -> ErrorKind {
    match code {
        // 57014 is both a cancel request and `statement_timeout`.
        "57014" if message.contains("user request") => ErrorKind::Cancelled,
        "23505" => ErrorKind::UniqueViolation,
        "23503" => ErrorKind::ForeignKeyViolation,
        "23502" => ErrorKind::NotNullViolation,
        "23514" => ErrorKind::CheckViolation,
        "40001" => ErrorKind::SerializationFailure,
        "40P01" => ErrorKind::Deadlock,
        "42P01" => ErrorKind::UndefinedTable,
        "42703" => ErrorKind::UndefinedColumn,
        "55P03" => ErrorKind::Busy,
        "42804" | "42883" | "42846" => ErrorKind::TypeMismatch,
        "25006" => ErrorKind::InvalidState,
        "57014" => ErrorKind::Timeout,
        c if c.starts_with("22") => ErrorKind::InvalidValue,
        c if c.starts_with("42") => ErrorKind::Syntax,
        // 08: connection exceptions; 57P01-57P03: the server is shutting down,
        // crashed or not yet accepting connections (the connection is gone).
        c if c.starts_with("08") || c.starts_with("57P0") => ErrorKind::Connection,
        _ => ErrorKind::Database,
    }
}

pub(crate) fn map_database_error(
    e: &dyn sqlx::error::DatabaseError,
    ctx: ErrorContext<'_>,
) -> Error {
    let pg = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    let code = e.code().map(|c| c.into_owned()).unwrap_or_default();
    let kind = kind_of(&code, e.message());
    // Data exceptions quote the offending input, whatever it was derived from;
    // other messages may echo bound values (removed by `clean`). The detail,
    // hint and context lines (which quote keys and rows) are never kept.
    let message = if code.starts_with("22") {
        redact_quoted(e.message())
    } else {
        e.message().to_owned()
    };
    DatabaseError {
        kind,
        backend: Backend::Postgres,
        code: Some(code),
        message: ctx.clean(&message),
        constraint: e.constraint().map(str::to_owned),
        table: pg.and_then(|p| p.table()).map(str::to_owned),
        column: pg.and_then(|p| p.column()).map(str::to_owned),
        sql: ctx.sql.cloned(),
        position: pg.and_then(|p| match p.position()? {
            sqlx::postgres::PgErrorPosition::Original(n) => Some(n),
            sqlx::postgres::PgErrorPosition::Internal { .. } => None,
        }),
    }
    .into()
}
