//! Coercion: making a value fit a declared type without losing information.

use std::sync::Arc;

use chrono::NaiveTime;

use super::{Array, EnumValue, Numeric, SqlType, Temporal, Value, parse_text, text::array_json};
use crate::error::{Error, Result};

fn mismatch(v: &Value, ty: &SqlType, target: &str) -> Error {
    Error::TypeMismatch {
        target: target.to_owned(),
        expected: ty.to_string(),
        found: v.type_name(),
    }
}

fn out_of_range(ty: &SqlType, target: &str) -> Error {
    Error::invalid_value(target, format!("out of range for type {ty}"))
}

/// An integral float as an `i64`, if it is one and is in range.
fn integral(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or above it does not fit.
    (f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f))
        .then_some(f as i64)
}

fn int_to(ty: &SqlType, i: i64, target: &str) -> Result<Value> {
    Ok(match ty {
        SqlType::Int2 => Value::Int2(i16::try_from(i).map_err(|_| out_of_range(ty, target))?),
        SqlType::Int4 => Value::Int4(i32::try_from(i).map_err(|_| out_of_range(ty, target))?),
        SqlType::Int8 => Value::Int8(i),
        SqlType::Float4 => Value::Float4(i as f32),
        SqlType::Float8 => Value::Float8(i as f64),
        SqlType::Numeric(_) => Value::Numeric(Numeric::from(i)),
        _ => return Err(mismatch(&Value::Int8(i), ty, target)),
    })
}

impl Value {
    /// Whether [`Value::coerce`] into `ty` gives this value back as it is
    /// (NULL, a value already of the type, text into a textual type): callers
    /// that hold a reference skip the copy.
    pub(crate) fn coerces_unchanged(&self, ty: &SqlType) -> bool {
        match (self, ty) {
            (Value::Text(_), t) => t.is_textual(),
            (Value::Null, _)
            | (Value::Bool(_), SqlType::Bool)
            | (Value::Int2(_), SqlType::Int2)
            | (Value::Int4(_), SqlType::Int4)
            | (Value::Int8(_), SqlType::Int8)
            | (Value::Float4(_), SqlType::Float4)
            | (Value::Float8(_), SqlType::Float8)
            | (Value::Numeric(_), SqlType::Numeric(_))
            | (Value::Bytes(_), SqlType::Bytea)
            | (Value::Uuid(_), SqlType::Uuid)
            | (Value::Json(_), SqlType::Json)
            | (Value::Jsonb(_), SqlType::Jsonb)
            | (Value::Date(_), SqlType::Date)
            | (Value::Time(_), SqlType::Time)
            | (Value::Timestamp(_), SqlType::Timestamp)
            | (Value::Timestamptz(_), SqlType::Timestamptz)
            | (Value::Interval(_), SqlType::Interval)
            | (Value::Inet(_), SqlType::Inet)
            | (Value::Cidr(_), SqlType::Cidr)
            | (Value::MacAddr(_), SqlType::MacAddr) => true,
            _ => false,
        }
    }

    /// Converts this value to `ty` where that loses nothing: integers between widths
    /// (range-checked), integers and integral floats to any numeric type, text parsed
    /// as the target type (`"42"` into an integer column), json and jsonb into each
    /// other, arrays element by element (or into json / jsonb as a JSON array).
    /// NULL fits every type.
    ///
    /// `target` names the destination in errors (`column "age"`, `parameter $2`).
    ///
    /// # Errors
    /// [`Error::TypeMismatch`] when the value cannot be that type, and
    /// [`Error::InvalidValue`] when it is out of range or malformed for it.
    /// Neither quotes the value.
    pub fn coerce(self, ty: &SqlType, target: &str) -> Result<Value> {
        match (self, ty) {
            (Value::Null, _) => Ok(Value::Null),
            (v @ Value::Bool(_), SqlType::Bool) => Ok(v),
            (v @ Value::Int2(_), SqlType::Int2)
            | (v @ Value::Int4(_), SqlType::Int4)
            | (v @ Value::Int8(_), SqlType::Int8)
            | (v @ Value::Float4(_), SqlType::Float4)
            | (v @ Value::Float8(_), SqlType::Float8)
            | (v @ Value::Numeric(_), SqlType::Numeric(_))
            | (v @ Value::Bytes(_), SqlType::Bytea)
            | (v @ Value::Uuid(_), SqlType::Uuid)
            | (v @ Value::Json(_), SqlType::Json)
            | (v @ Value::Jsonb(_), SqlType::Jsonb)
            | (v @ Value::Date(_), SqlType::Date)
            | (v @ Value::Time(_), SqlType::Time)
            | (v @ Value::Timestamp(_), SqlType::Timestamp)
            | (v @ Value::Timestamptz(_), SqlType::Timestamptz)
            | (v @ Value::Interval(_), SqlType::Interval)
            | (v @ Value::Inet(_), SqlType::Inet)
            | (v @ Value::Cidr(_), SqlType::Cidr)
            | (v @ Value::MacAddr(_), SqlType::MacAddr) => Ok(v),
            (v @ Value::Text(_), t) if t.is_textual() => Ok(v),
            // A string is bytes (a script's string assigned to a bytea
            // column): its UTF-8 bytes, unless it is bytea's text form
            // `\x<hex>`, which is decoded.
            (Value::Text(s), SqlType::Bytea) => Ok(Value::Bytes(
                super::text::parse_hex(&s).unwrap_or_else(|| s.into_bytes()),
            )),
            (Value::Text(s), t) => parse_text(&s, t).map_err(|e| match e {
                Error::InvalidValue { reason, .. } => {
                    Error::invalid_value(target, format!("{reason} for type {t}"))
                }
                other => other,
            }),
            (v @ (Value::Int2(_) | Value::Int4(_) | Value::Int8(_)), t) => {
                let i = v.as_i64().unwrap_or_default();
                int_to(t, i, target).map_err(|e| match e {
                    Error::TypeMismatch { .. } => mismatch(&v, t, target),
                    other => other,
                })
            }
            (Value::Float4(f), SqlType::Float8) => Ok(Value::Float8(f.into())),
            (Value::Float8(f), SqlType::Float4) => Ok(Value::Float4(f as f32)),
            (Value::Float4(f), SqlType::Numeric(_)) => {
                Ok(Value::Numeric(Numeric::from_f64(f.into())))
            }
            (Value::Float8(f), SqlType::Numeric(_)) => Ok(Value::Numeric(Numeric::from_f64(f))),
            (v @ (Value::Float4(_) | Value::Float8(_)), t) if t.is_integer() => {
                let f = v.as_f64().unwrap_or(f64::NAN);
                match integral(f) {
                    Some(i) => int_to(t, i, target),
                    None => Err(Error::invalid_value(
                        target,
                        format!("not an integer, cannot be {t}"),
                    )),
                }
            }
            (Value::Numeric(n), t) if t.is_integer() => match n.to_i64() {
                Some(i) => int_to(t, i, target),
                None => Err(Error::invalid_value(
                    target,
                    format!("not an integer in range, cannot be {t}"),
                )),
            },
            (Value::Numeric(n), SqlType::Float8) => Ok(Value::Float8(n.to_f64())),
            (Value::Numeric(n), SqlType::Float4) => Ok(Value::Float4(n.to_f64() as f32)),
            (Value::Json(j), SqlType::Jsonb) => Ok(Value::Jsonb(j)),
            (Value::Jsonb(j), SqlType::Json) => Ok(Value::Json(j)),
            (Value::Cidr(n), SqlType::Inet) => Ok(Value::Inet(n)),
            (Value::Inet(n), SqlType::Cidr) if n.trunc() == n => Ok(Value::Cidr(n)),
            (Value::Timestamp(t), SqlType::Timestamptz) => Ok(Value::Timestamptz(match t {
                Temporal::Finite(t) => Temporal::Finite(t.and_utc()),
                Temporal::Infinity => Temporal::Infinity,
                Temporal::NegInfinity => Temporal::NegInfinity,
            })),
            (Value::Date(d), SqlType::Timestamp) => Ok(Value::Timestamp(match d {
                Temporal::Finite(d) => Temporal::Finite(d.and_time(NaiveTime::MIN)),
                Temporal::Infinity => Temporal::Infinity,
                Temporal::NegInfinity => Temporal::NegInfinity,
            })),
            (Value::Enum(e), SqlType::Enum(t)) => {
                if !t.labels.is_empty() && !t.labels.contains(&e.label) {
                    return Err(Error::invalid_value(
                        target,
                        format!("not a label of enum {}", t.name),
                    ));
                }
                Ok(Value::Enum(EnumValue {
                    type_name: Arc::from(t.name.as_str()),
                    label: e.label,
                }))
            }
            (Value::Enum(e), t) if t.is_textual() => Ok(Value::Text(e.label)),
            (Value::Array(a), SqlType::Array(elem)) => coerce_array(*a, elem, target),
            // A script's list bound where JSON is expected: the JSON array of its elements.
            (Value::Array(a), SqlType::Json) => Ok(Value::Json(array_json(&a))),
            (Value::Array(a), SqlType::Jsonb) => Ok(Value::Jsonb(array_json(&a))),
            (v, t) => Err(mismatch(&v, t, target)),
        }
    }
}

fn coerce_array(a: Array, elem: &SqlType, target: &str) -> Result<Value> {
    if matches!(elem, SqlType::Array(_)) {
        return Err(Error::invalid_value(
            target,
            "only one-dimensional arrays are supported",
        ));
    }
    let items = a
        .items
        .into_iter()
        .map(|v| v.coerce(elem, target))
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::array(elem.clone(), items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_narrow_with_a_range_check() {
        assert_eq!(
            Value::Int8(7).coerce(&SqlType::Int2, "x").unwrap(),
            Value::Int2(7)
        );
        let err = Value::Int8(1 << 40)
            .coerce(&SqlType::Int4, "column \"n\"")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for column \"n\": out of range for type integer"
        );
    }

    #[test]
    fn text_parses_into_typed_columns_without_echoing_it() {
        assert_eq!(
            Value::from("42").coerce(&SqlType::Int4, "x").unwrap(),
            Value::Int4(42)
        );
        let err = Value::from("secret-ish")
            .coerce(&SqlType::Int4, "parameter $1")
            .unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert_eq!(err.kind(), crate::ErrorKind::InvalidValue);
    }

    #[test]
    fn floats_become_integers_only_when_integral() {
        assert_eq!(
            Value::Float8(3.0).coerce(&SqlType::Int8, "x").unwrap(),
            Value::Int8(3)
        );
        assert!(Value::Float8(3.5).coerce(&SqlType::Int8, "x").is_err());
        assert!(Value::Float8(f64::NAN).coerce(&SqlType::Int8, "x").is_err());
        assert!(Value::Float8(9.3e18).coerce(&SqlType::Int8, "x").is_err());
    }

    #[test]
    fn mismatches_name_both_types() {
        let err = Value::Bool(true)
            .coerce(&SqlType::Uuid, "column \"id\"")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "type mismatch for column \"id\": expected uuid, got boolean"
        );
    }

    #[test]
    fn arrays_coerce_into_json() {
        let a = Value::array(SqlType::Int8, vec![Value::Int8(1), Value::Null]);
        assert_eq!(
            a.coerce(&SqlType::Jsonb, "x").unwrap(),
            Value::Jsonb(serde_json::json!([1, null]))
        );
    }

    #[test]
    fn arrays_coerce_elementwise() {
        let a = Value::array(SqlType::Int8, vec![Value::Int8(1), Value::Null]);
        let b = a
            .coerce(&SqlType::Array(Box::new(SqlType::Int4)), "x")
            .unwrap();
        assert_eq!(
            b,
            Value::array(SqlType::Int4, vec![Value::Int4(1), Value::Null])
        );
    }
}
