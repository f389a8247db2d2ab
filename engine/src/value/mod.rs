//! Values and types: [`Value`], [`SqlType`] and the small types they are made of.
//!
//! A `Value` is what crosses every boundary of dbridge: bound parameters, row
//! cells, instance attributes and script values all convert to and from it.
//! This module knows nothing of SQL text or of any backend; the storage form of
//! each type on each backend lives with the backend in [`crate::db`].

mod coerce;
mod interval;
mod numeric;
mod sql_type;
mod text;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use ipnet::IpNet;
use uuid::Uuid;

use crate::error::{Error, Result};

pub use interval::Interval;
pub(crate) use numeric::Kind as NumericKind;
pub use numeric::Numeric;
pub use sql_type::{EnumType, SqlType};

/// A date or timestamp that may also be `-infinity` or `infinity`, as PostgreSQL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Temporal<T> {
    /// `-infinity`: before every other value.
    NegInfinity,
    /// An ordinary value.
    Finite(T),
    /// `infinity`: after every other value.
    Infinity,
}

impl<T> Temporal<T> {
    /// The finite value, if any.
    pub fn finite(self) -> Option<T> {
        match self {
            Self::Finite(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Temporal<T> {
    fn from(v: T) -> Self {
        Self::Finite(v)
    }
}

/// A 6-byte MAC address (`macaddr`), written `08:00:2b:01:02:03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || Error::invalid_value("macaddr", "expected six hex bytes like 08:00:2b:01:02:03");
        let parts: Vec<&str> = s.trim().split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut out = [0u8; 6];
        for (slot, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *slot = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// A value of a user-defined enum type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumValue {
    /// The enum type's name.
    pub type_name: Arc<str>,
    /// The label.
    pub label: String,
}

/// A one-dimensional array whose elements are all of `elem` (or NULL).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The element type; kept so that an empty array still has a type.
    pub elem: SqlType,
    /// The elements, [`Value::Null`] for NULL.
    pub items: Vec<Value>,
}

/// A database value.
///
/// Each variant maps to one [`SqlType`]; [`Value::Null`] fits every type.
/// Conversions from the obvious Rust types exist (`Value::from(42_i64)`,
/// `Value::from("text")`, `Value::from(None::<i32>)`).
///
/// # Examples
///
/// ```
/// use dbridge_engine::{SqlType, Value};
/// let v = Value::from(7_i32);
/// assert_eq!(v.sql_type(), Some(SqlType::Int4));
/// assert_eq!(v.coerce(&SqlType::Int8, "column \"n\"").unwrap(), Value::Int8(7));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `boolean`
    Bool(bool),
    /// `smallint`
    Int2(i16),
    /// `integer`
    Int4(i32),
    /// `bigint`
    Int8(i64),
    /// `real`
    Float4(f32),
    /// `double precision`
    Float8(f64),
    /// `numeric`, exact
    Numeric(Numeric),
    /// `text`, `varchar`, `char`
    Text(String),
    /// `bytea`
    Bytes(Vec<u8>),
    /// `uuid`
    Uuid(Uuid),
    /// `json`
    Json(serde_json::Value),
    /// `jsonb`
    Jsonb(serde_json::Value),
    /// `date`
    Date(Temporal<NaiveDate>),
    /// `time`
    Time(NaiveTime),
    /// `timestamp`
    Timestamp(Temporal<NaiveDateTime>),
    /// `timestamptz`, as an instant in UTC
    Timestamptz(Temporal<DateTime<Utc>>),
    /// `interval`
    Interval(Interval),
    /// `inet`
    Inet(IpNet),
    /// `cidr`
    Cidr(IpNet),
    /// `macaddr`
    MacAddr(MacAddr),
    /// a label of a user-defined enum type
    Enum(EnumValue),
    /// a one-dimensional array
    Array(Box<Array>),
}

impl Value {
    /// Whether this is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The type this value has on its own (`None` for NULL).
    pub fn sql_type(&self) -> Option<SqlType> {
        Some(match self {
            Self::Null => return None,
            Self::Bool(_) => SqlType::Bool,
            Self::Int2(_) => SqlType::Int2,
            Self::Int4(_) => SqlType::Int4,
            Self::Int8(_) => SqlType::Int8,
            Self::Float4(_) => SqlType::Float4,
            Self::Float8(_) => SqlType::Float8,
            Self::Numeric(_) => SqlType::Numeric(None),
            Self::Text(_) => SqlType::Text,
            Self::Bytes(_) => SqlType::Bytea,
            Self::Uuid(_) => SqlType::Uuid,
            Self::Json(_) => SqlType::Json,
            Self::Jsonb(_) => SqlType::Jsonb,
            Self::Date(_) => SqlType::Date,
            Self::Time(_) => SqlType::Time,
            Self::Timestamp(_) => SqlType::Timestamp,
            Self::Timestamptz(_) => SqlType::Timestamptz,
            Self::Interval(_) => SqlType::Interval,
            Self::Inet(_) => SqlType::Inet,
            Self::Cidr(_) => SqlType::Cidr,
            Self::MacAddr(_) => SqlType::MacAddr,
            Self::Enum(e) => SqlType::Enum(Arc::new(EnumType {
                name: e.type_name.to_string(),
                labels: Vec::new(),
            })),
            Self::Array(a) => SqlType::Array(Box::new(a.elem.clone())),
        })
    }

    /// A short name of this value's type for messages (`"integer"`, `"null"`).
    pub fn type_name(&self) -> String {
        self.sql_type()
            .map_or_else(|| "null".to_string(), |t| t.to_string())
    }

    /// The value as an `i64` if it is an integer of any width.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::Int2(v) => Some(v.into()),
            Self::Int4(v) => Some(v.into()),
            Self::Int8(v) => Some(v),
            _ => None,
        }
    }

    /// The value as an `f64` if it is a float or an integer.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::Float4(v) => Some(v.into()),
            Self::Float8(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The value's text form, as [`Display`](fmt::Display) shows it but
    /// without a second copy; `None` for NULL.
    ///
    /// ```
    /// use dbridge_engine::Value;
    /// assert_eq!(Value::from(42).to_text().as_deref(), Some("42"));
    /// assert_eq!(Value::Null.to_text(), None);
    /// ```
    pub fn to_text(&self) -> Option<String> {
        (!self.is_null()).then(|| text::to_text(self))
    }

    /// The value as text if it is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a bool if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Builds an array value.
    pub fn array(elem: SqlType, items: Vec<Value>) -> Self {
        Self::Array(Box::new(Array { elem, items }))
    }

    /// Equality that treats NaN as equal to NaN (bit-for-bit identity of floats),
    /// for round-trip checks.
    pub fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Self::Float4(a), Self::Float4(b)) => a.to_bits() == b.to_bits(),
            (Self::Float8(a), Self::Float8(b)) => a.to_bits() == b.to_bits(),
            (Self::Array(a), Self::Array(b)) => {
                a.elem == b.elem
                    && a.items.len() == b.items.len()
                    && a.items.iter().zip(&b.items).all(|(x, y)| x.same_as(y))
            }
            _ => self == other,
        }
    }
}

macro_rules! from_impls {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Self::$variant(v.into()) }
        }
    )*};
}

from_impls! {
    bool => Bool, i16 => Int2, i32 => Int4, i64 => Int8, f32 => Float4, f64 => Float8,
    String => Text, Vec<u8> => Bytes, Uuid => Uuid, Numeric => Numeric,
    NaiveDate => Date, NaiveTime => Time, NaiveDateTime => Timestamp,
    DateTime<Utc> => Timestamptz, Interval => Interval, MacAddr => MacAddr,
    serde_json::Value => Jsonb,
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Self::Bytes(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// The value's text form (the one SQLite stores), `NULL` for NULL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.pad("NULL"),
            other => f.pad(&text::to_text(other)),
        }
    }
}

pub(crate) use text::{parse_text, to_text};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macaddr_text() {
        let m: MacAddr = "08:00:2B:01:02:03".parse().unwrap();
        assert_eq!(m.to_string(), "08:00:2b:01:02:03");
        assert!("08:00:2b:01:02".parse::<MacAddr>().is_err());
        assert!("zz:00:2b:01:02:03".parse::<MacAddr>().is_err());
    }

    #[test]
    fn option_maps_to_null() {
        assert_eq!(Value::from(None::<i32>), Value::Null);
        assert_eq!(Value::from(Some(3_i16)), Value::Int2(3));
    }

    #[test]
    fn nan_is_same_as_nan() {
        assert!(Value::Float8(f64::NAN).same_as(&Value::Float8(f64::NAN)));
        assert!(!Value::Float8(0.0).same_as(&Value::Float8(-0.0)));
    }
}
