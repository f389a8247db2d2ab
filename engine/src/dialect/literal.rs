//! Values written inline, for DDL only (server defaults, CHECK, GENERATED,
//! partial-index WHERE), which takes no bound parameters.
//!
//! Strings are single-quoted with quotes doubled; on PostgreSQL a string holding
//! a backslash is written as an escape string (`E'...'`) with backslashes
//! doubled, so its meaning does not depend on `standard_conforming_strings`.
//! NUL is refused. Numbers are written from their Rust values; non-finite floats
//! only on PostgreSQL, as quoted casts. Every other type is its text form, quoted,
//! with a cast to its type on PostgreSQL.

use std::fmt::Write as _;

use crate::error::{Backend, Error, Result};
use crate::value::{Value, to_text};

use super::column_type;

fn target() -> &'static str {
    "a literal in DDL"
}

/// `s` as an SQL string literal for `backend`.
///
/// # Errors
/// [`Error::InvalidValue`] when `s` contains NUL.
pub(crate) fn quote(s: &str, backend: Backend) -> Result<String> {
    if s.contains('\0') {
        return Err(Error::InvalidValue {
            target: target().into(),
            reason: "contains a NUL byte".into(),
        });
    }
    let escape = backend == Backend::Postgres && s.contains('\\');
    let mut out = String::with_capacity(s.len() + 3);
    if escape {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' if escape => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// `v` written as an SQL literal for `backend` (for DDL; DML binds values).
///
/// # Examples
///
/// ```
/// use dbridge_engine::{Backend, Value, dialect::literal};
/// assert_eq!(literal(Backend::Sqlite, &Value::from("it's")).unwrap(), "'it''s'");
/// assert_eq!(literal(Backend::Postgres, &Value::from(r"a\b")).unwrap(), r"E'a\\b'");
/// assert!(literal(Backend::Postgres, &Value::from("a\0b")).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidValue`] for text with NUL; [`Error::Unsupported`] for
/// non-finite floats on SQLite.
pub fn literal(backend: Backend, v: &Value) -> Result<String> {
    let pg = backend == Backend::Postgres;
    Ok(match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => match (pg, b) {
            (true, true) => "TRUE".into(),
            (true, false) => "FALSE".into(),
            (false, b) => u8::from(*b).to_string(),
        },
        Value::Int2(i) => i.to_string(),
        Value::Int4(i) => i.to_string(),
        Value::Int8(i) => i.to_string(),
        Value::Float4(f) => float(f64::from(*f), backend, "real")?,
        Value::Float8(f) => float(*f, backend, "double precision")?,
        Value::Numeric(n) => {
            let text = n.to_string();
            let plain = text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
            match (pg, plain) {
                (true, true) => text,
                (true, false) => format!("{}::numeric", quote(&text, backend)?),
                // Numeric is stored as text on SQLite, to stay exact.
                (false, _) => quote(&text, backend)?,
            }
        }
        Value::Text(s) => quote(s, backend)?,
        Value::Bytes(b) => {
            let mut hex = String::with_capacity(b.len() * 2);
            for byte in b {
                let _ = write!(hex, "{byte:02x}");
            }
            if pg {
                format!("E'\\\\x{hex}'::bytea")
            } else {
                format!("X'{hex}'")
            }
        }
        Value::Array(a) if pg => {
            let ty = column_type(
                backend,
                &crate::value::SqlType::Array(Box::new(a.elem.clone())),
            );
            if a.items.is_empty() {
                format!("'{{}}'::{ty}")
            } else {
                let items = a
                    .items
                    .iter()
                    .map(|x| literal(backend, x))
                    .collect::<Result<Vec<_>>>()?;
                format!("ARRAY[{}]::{ty}", items.join(", "))
            }
        }
        other => {
            let q = quote(&to_text(other), backend)?;
            match (pg, other.sql_type()) {
                (true, Some(ty)) => format!("{q}::{}", column_type(backend, &ty)),
                _ => q,
            }
        }
    })
}

fn float(f: f64, backend: Backend, ty: &str) -> Result<String> {
    if f.is_finite() {
        return Ok(format!("{f:?}"));
    }
    if backend == Backend::Sqlite {
        return Err(Error::Unsupported {
            backend,
            feature: "a non-finite float in DDL".into(),
        });
    }
    let text = if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    Ok(format!("'{text}'::{ty}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::SqlType;

    #[test]
    fn strings_double_quotes_and_escape_backslashes_on_postgres() {
        assert_eq!(quote("O'Brien", Backend::Sqlite).unwrap(), "'O''Brien'");
        assert_eq!(quote("a\\'b", Backend::Postgres).unwrap(), "E'a\\\\''b'");
        assert_eq!(quote("a\\b", Backend::Sqlite).unwrap(), "'a\\b'");
        let err = quote("x\0", Backend::Postgres).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for a literal in DDL: contains a NUL byte"
        );
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(
            literal(Backend::Postgres, &Value::Bool(true)).unwrap(),
            "TRUE"
        );
        assert_eq!(literal(Backend::Sqlite, &Value::Bool(true)).unwrap(), "1");
        assert_eq!(literal(Backend::Sqlite, &Value::Int8(-5)).unwrap(), "-5");
        assert_eq!(
            literal(Backend::Sqlite, &Value::Float8(0.1)).unwrap(),
            "0.1"
        );
        assert_eq!(
            literal(Backend::Sqlite, &Value::Float8(1e100)).unwrap(),
            "1e100"
        );
        assert_eq!(
            literal(Backend::Postgres, &Value::Float8(f64::NAN)).unwrap(),
            "'NaN'::double precision"
        );
        assert!(literal(Backend::Sqlite, &Value::Float8(f64::INFINITY)).is_err());
        let n: crate::Numeric = "12.50".parse().unwrap();
        assert_eq!(
            literal(Backend::Postgres, &Value::Numeric(n.clone())).unwrap(),
            "12.50"
        );
        assert_eq!(
            literal(Backend::Sqlite, &Value::Numeric(n)).unwrap(),
            "'12.50'"
        );
    }

    #[test]
    fn typed_values_are_cast_on_postgres() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            literal(Backend::Postgres, &Value::from(d)).unwrap(),
            "'2024-02-29'::date"
        );
        assert_eq!(
            literal(Backend::Sqlite, &Value::from(d)).unwrap(),
            "'2024-02-29'"
        );
        assert_eq!(
            literal(Backend::Postgres, &Value::Bytes(vec![0xde, 0xad])).unwrap(),
            "E'\\\\xdead'::bytea"
        );
        assert_eq!(
            literal(Backend::Sqlite, &Value::Bytes(vec![0xde, 0xad])).unwrap(),
            "X'dead'"
        );
        let a = Value::array(SqlType::Int4, vec![Value::Int4(1), Value::Null]);
        assert_eq!(
            literal(Backend::Postgres, &a).unwrap(),
            "ARRAY[1, NULL]::integer[]"
        );
        assert_eq!(literal(Backend::Sqlite, &a).unwrap(), "'[1,null]'");
        let j = Value::Jsonb(serde_json::json!({"k": "it's"}));
        assert_eq!(
            literal(Backend::Postgres, &j).unwrap(),
            "'{\"k\":\"it''s\"}'::jsonb"
        );
    }
}
