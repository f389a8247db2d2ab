//! Bulk inserts through `COPY ... FROM STDIN (FORMAT binary)`.
//!
//! The binary copy format is a header (the signature, flags, an empty header
//! extension), then per row a field count and each field as its length (-1 for
//! NULL) and the same binary form that parameters are sent in, then a trailer.
//! It is encoded and sent in chunks of about 1 MiB. Each value is converted to
//! its model column's type as it is encoded (no copy when it already has it),
//! then, where the table's column type (from a prepared, never run,
//! `INSERT ... VALUES ($1, ...)`) has another binary form, to that type.

use std::borrow::Cow;

use sqlx::postgres::PgConnection;
use sqlx::{Executor, Statement as _};

use super::{codec, has_type, map_err, sql_type_of};
use crate::db::CopyIn;
use crate::db::redact::Bound;
use crate::error::{Error, Result};
use crate::value::{SqlType, Value};

/// Bytes encoded before they are sent.
const CHUNK: usize = 1 << 20;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// How one column's values are written.
struct Field<'a> {
    /// The model's type for the column.
    model: &'a SqlType,
    /// The table's type for the column.
    ty: SqlType,
    /// Whether values of the model's type already have the column's binary form.
    same: bool,
    target: &'a str,
}

/// Runs the COPY; the rows loaded, or `None` when a column's type in the table
/// is one binary COPY cannot be written for here (nothing was run).
pub(crate) async fn copy_in(conn: &mut PgConnection, copy: &CopyIn<'_>) -> Result<Option<u64>> {
    let Some(fields) = fields(conn, copy).await? else {
        return Ok(None);
    };
    let mut writer = conn
        .copy_in_raw(&copy.sql)
        .await
        .map_err(map_err(&copy.sql, Bound::Rows(copy.rows)))?;
    let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
    buf.extend_from_slice(SIGNATURE);
    buf.extend_from_slice(&0_i32.to_be_bytes());
    buf.extend_from_slice(&0_i32.to_be_bytes());
    let mut failed = None;
    for row in copy.rows {
        let at = buf.len();
        if let Err(e) = encode_row(row, copy, &fields, &mut buf) {
            // A row of no fields: the server rejects the COPY, and `finish`
            // reads its error and the end of the command (`abort` does not when
            // the server has already failed the COPY).
            buf.truncate(at);
            buf.extend_from_slice(&0_i16.to_be_bytes());
            failed = Some(e);
            break;
        }
        if buf.len() >= CHUNK {
            writer
                .send(buf.as_slice())
                .await
                .map_err(map_err(&copy.sql, Bound::Rows(copy.rows)))?;
            buf.clear();
        }
    }
    if failed.is_none() {
        buf.extend_from_slice(&(-1_i16).to_be_bytes());
    }
    writer
        .send(buf.as_slice())
        .await
        .map_err(map_err(&copy.sql, Bound::Rows(copy.rows)))?;
    let done = writer.finish().await;
    match failed {
        Some(e) => Err(e),
        None => done
            .map(Some)
            .map_err(map_err(&copy.sql, Bound::Rows(copy.rows))),
    }
}

/// The table's type for each column, from the probe statement.
async fn fields<'a>(
    conn: &mut PgConnection,
    copy: &'a CopyIn<'_>,
) -> Result<Option<Vec<Field<'a>>>> {
    let probe = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(copy.probe.clone()));
    let prepared = conn
        .prepare(probe)
        .await
        .map_err(map_err(&copy.sql, Bound::Rows(copy.rows)))?;
    let Some(sqlx::Either::Left(types)) = prepared.parameters() else {
        return Ok(None);
    };
    if types.len() != copy.columns.len() {
        return Ok(None);
    }
    let mut fields = Vec::with_capacity(types.len());
    for (ti, (model_ty, target)) in types.iter().zip(&copy.columns) {
        let Some(ty) = sql_type_of(ti).filter(|t| !matches!(t, SqlType::Array(_))) else {
            return Ok(None);
        };
        fields.push(Field {
            model: model_ty,
            same: same_wire(model_ty, &ty),
            ty,
            target,
        });
    }
    Ok(Some(fields))
}

/// Whether values of type `model` have the binary form of `column`'s type:
/// the same type up to modifiers, or two of the types sent as their text
/// (text, varchar, char, enums).
fn same_wire(model: &SqlType, column: &SqlType) -> bool {
    let textual = |t: &SqlType| {
        matches!(
            t,
            SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) | SqlType::Enum(_)
        )
    };
    std::mem::discriminant(model) == std::mem::discriminant(column)
        || (textual(model) && textual(column))
}

/// Appends one row: its field count, then each field's length and bytes.
fn encode_row(
    row: &[Value],
    copy: &CopyIn<'_>,
    fields: &[Field<'_>],
    buf: &mut Vec<u8>,
) -> Result<()> {
    let count = i16::try_from(fields.len())
        .map_err(|_| Error::invalid_value("a COPY row", "it has too many columns"))?;
    buf.extend_from_slice(&count.to_be_bytes());
    let Some((given, defaulted)) = fields.split_at_checked(row.len()) else {
        return Err(Error::invalid_value(
            "a COPY row",
            format!("it has {} values for {} columns", row.len(), fields.len()),
        ));
    };
    for (v, f) in row.iter().zip(given) {
        encode_field(Cow::Borrowed(v), f, buf)?;
    }
    for (make, f) in copy.factories.iter().zip(defaulted) {
        encode_field(Cow::Owned(make()), f, buf)?;
    }
    Ok(())
}

/// Appends one field: the value converted to the model's type, then (when its
/// binary form differs) to the table's, as its length and bytes.
fn encode_field(v: Cow<'_, Value>, f: &Field<'_>, buf: &mut Vec<u8>) -> Result<()> {
    if v.is_null() {
        buf.extend_from_slice(&(-1_i32).to_be_bytes());
        return Ok(());
    }
    let v = convert(v, f.model, f.target)?;
    let v = if f.same || has_type(&v, &f.ty) {
        v
    } else {
        Cow::Owned(v.into_owned().coerce(&f.ty, f.target)?)
    };
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    codec::encode(&v, 0, buf).map_err(|reason| Error::invalid_value(f.target, reason))?;
    let len = i32::try_from(buf.len() - at - 4)
        .map_err(|_| Error::invalid_value(f.target, "the value is too large"))?;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// `v` as `ty`, copied only when it changes.
fn convert<'v>(v: Cow<'v, Value>, ty: &SqlType, target: &str) -> Result<Cow<'v, Value>> {
    if v.coerces_unchanged(ty) {
        Ok(v)
    } else {
        Ok(Cow::Owned(v.into_owned().coerce(ty, target)?))
    }
}
