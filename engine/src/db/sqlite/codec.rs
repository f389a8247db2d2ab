//! How each [`Value`] is stored on SQLite, and read back.
//!
//! SQLite has five storage classes. dbridge stores:
//!
//! | type | storage |
//! | --- | --- |
//! | boolean | INTEGER 0 / 1 |
//! | smallint, integer, bigint | INTEGER |
//! | real, double precision | REAL (NaN cannot be stored: SQLite turns it into NULL, so it is refused; -0.0 reads back as 0.0) |
//! | numeric | TEXT, the exact decimal (`"12.50"`, `"NaN"`, `"Infinity"`) |
//! | text, varchar, char, enum | TEXT |
//! | bytea | BLOB |
//! | uuid | TEXT, hyphenated lowercase |
//! | json, jsonb | TEXT, compact JSON |
//! | date | TEXT `YYYY-MM-DD` (`infinity` / `-infinity`) |
//! | time | TEXT `HH:MM:SS[.ffffff]` |
//! | timestamp | TEXT `YYYY-MM-DD HH:MM:SS[.ffffff]` |
//! | timestamptz | TEXT `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00`, always UTC |
//! | interval | TEXT, ISO 8601 with unnormalised parts (`P1M2DT3.5S`) |
//! | inet, cidr, macaddr | TEXT in PostgreSQL's notation |
//! | arrays | TEXT, a JSON array (numeric and temporal elements as strings) |
//!
//! A raw query returns values by storage class (INTEGER as bigint, REAL as
//! double, TEXT as text, BLOB as bytes); when the expected type is known (a
//! model's column, or types passed with the statement) the stored form is
//! converted back to it exactly.

use crate::error::{Error, Result};
use crate::value::{SqlType, Value, to_text};

/// A value in one of SQLite's storage classes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stored {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The storage form of a value bound as parameter `$index`.
pub(crate) fn to_stored(v: &Value, index: usize) -> Result<Stored> {
    Ok(match v {
        Value::Null => Stored::Null,
        Value::Bool(b) => Stored::Integer(i64::from(*b)),
        Value::Int2(i) => Stored::Integer((*i).into()),
        Value::Int4(i) => Stored::Integer((*i).into()),
        Value::Int8(i) => Stored::Integer(*i),
        Value::Float4(f) => real(f64::from(*f), index)?,
        Value::Float8(f) => real(*f, index)?,
        Value::Text(s) => Stored::Text(s.clone()),
        Value::Bytes(b) => Stored::Blob(b.clone()),
        other => Stored::Text(to_text(other)),
    })
}

fn real(f: f64, index: usize) -> Result<Stored> {
    if f.is_nan() {
        return Err(Error::unsupported(
            crate::Backend::Sqlite,
            format!("storing NaN (parameter ${index})"),
        ));
    }
    Ok(Stored::Real(f))
}

/// The value of a stored cell read as `ty`.
pub(crate) fn from_stored(s: Stored, ty: &SqlType, column: &str) -> Result<Value> {
    let target = || format!("column \"{column}\"");
    match (s, ty) {
        (Stored::Null, _) => Ok(Value::Null),
        (Stored::Integer(i), SqlType::Bool) => match i {
            0 => Ok(Value::Bool(false)),
            1 => Ok(Value::Bool(true)),
            _ => Err(Error::invalid_value(
                target(),
                "stored integer is not a boolean",
            )),
        },
        (Stored::Integer(i), t) => Value::Int8(i).coerce(t, &target()),
        (Stored::Real(f), t) => Value::Float8(f).coerce(t, &target()),
        (Stored::Blob(b), SqlType::Bytea) => Ok(Value::Bytes(b)),
        (Stored::Blob(_), t) => Err(Error::TypeMismatch {
            target: target(),
            expected: t.to_string(),
            found: "blob".into(),
        }),
        (Stored::Text(s), t) => Value::Text(s).coerce(t, &target()),
    }
}

/// The value of a stored cell when no type is expected.
pub(crate) fn from_stored_untyped(s: Stored) -> Value {
    match s {
        Stored::Null => Value::Null,
        Stored::Integer(i) => Value::Int8(i),
        Stored::Real(f) => Value::Float8(f),
        Stored::Text(s) => Value::Text(s),
        Stored::Blob(b) => Value::Bytes(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_is_refused_with_the_backend_named() {
        let err = to_stored(&Value::Float8(f64::NAN), 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "storing NaN (parameter $2) is not supported on sqlite"
        );
    }

    #[test]
    fn booleans_come_back_from_integers() {
        assert_eq!(
            from_stored(Stored::Integer(1), &SqlType::Bool, "b").unwrap(),
            Value::Bool(true)
        );
        assert!(from_stored(Stored::Integer(7), &SqlType::Bool, "b").is_err());
    }
}
