//! [`SqlType`]: the column types dbridge knows, and their names.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A user-defined enumerated type (`CREATE TYPE mood AS ENUM (...)` on PostgreSQL,
/// a TEXT column with a CHECK on SQLite).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumType {
    /// The type's name.
    pub name: String,
    /// Its labels in declaration order; empty when only the name is known (e.g. a
    /// result column of a raw query).
    pub labels: Vec<String>,
}

/// A column or parameter type.
///
/// Names parse case-insensitively with the usual PostgreSQL aliases
/// (`"integer"`, `"int4"`, `"varchar(20)"`, `"numeric(10,2)"`, `"text[]"`...).
///
/// # Examples
///
/// ```
/// use dbridge_engine::SqlType;
/// let t: SqlType = "varchar(20)[]".parse().unwrap();
/// assert_eq!(t, SqlType::Array(Box::new(SqlType::Varchar(Some(20)))));
/// assert_eq!(t.to_string(), "varchar(20)[]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// `boolean`
    Bool,
    /// `smallint` (16-bit)
    Int2,
    /// `integer` (32-bit)
    Int4,
    /// `bigint` (64-bit)
    Int8,
    /// `real` (32-bit float)
    Float4,
    /// `double precision`
    Float8,
    /// `numeric` / `numeric(p, s)`: exact decimal
    Numeric(Option<(u32, u32)>),
    /// `text`
    Text,
    /// `varchar` / `varchar(n)`
    Varchar(Option<u32>),
    /// `char(n)` (blank-padded)
    Char(u32),
    /// `bytea` (bytes)
    Bytea,
    /// `uuid`
    Uuid,
    /// `json`
    Json,
    /// `jsonb`
    Jsonb,
    /// `date`
    Date,
    /// `time` (without time zone)
    Time,
    /// `timestamp` (without time zone)
    Timestamp,
    /// `timestamptz` (an instant, read back in UTC)
    Timestamptz,
    /// `interval`
    Interval,
    /// `inet` (host address with optional netmask)
    Inet,
    /// `cidr` (network)
    Cidr,
    /// `macaddr`
    MacAddr,
    /// A user-defined enum type.
    Enum(Arc<EnumType>),
    /// A one-dimensional array of a scalar type.
    Array(Box<SqlType>),
}

impl SqlType {
    /// The element type of an array type, or `None`.
    pub fn element(&self) -> Option<&SqlType> {
        match self {
            Self::Array(t) => Some(t),
            _ => None,
        }
    }

    /// Whether this is one of the integer types.
    pub fn is_integer(&self) -> bool {
        matches!(self, Self::Int2 | Self::Int4 | Self::Int8)
    }

    /// Whether values of this type are stored as text with no further structure.
    pub fn is_textual(&self) -> bool {
        matches!(self, Self::Text | Self::Varchar(_) | Self::Char(_))
    }

    fn parse_scalar(name: &str) -> Option<SqlType> {
        let (base, args) = match name.find('(') {
            Some(open) => {
                let inner = name[open + 1..].strip_suffix(')')?;
                (name[..open].trim(), Some(inner))
            }
            None => (name, None),
        };
        let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
        let nums =
            |s: &str| -> Option<Vec<u32>> { s.split(',').map(|p| p.trim().parse().ok()).collect() };
        let t = match (base.as_str(), args) {
            ("bool" | "boolean", None) => Self::Bool,
            ("int2" | "smallint", None) => Self::Int2,
            ("int" | "int4" | "integer", None) => Self::Int4,
            ("int8" | "bigint", None) => Self::Int8,
            ("float4" | "real", None) => Self::Float4,
            ("float8" | "double precision" | "double" | "float", None) => Self::Float8,
            ("numeric" | "decimal", None) => Self::Numeric(None),
            ("numeric" | "decimal", Some(a)) => match nums(a)?.as_slice() {
                [p] => Self::Numeric(Some((*p, 0))),
                [p, s] => Self::Numeric(Some((*p, *s))),
                _ => return None,
            },
            ("text" | "string", None) => Self::Text,
            ("varchar" | "character varying", None) => Self::Varchar(None),
            ("varchar" | "character varying", Some(a)) => {
                Self::Varchar(Some(a.trim().parse().ok()?))
            }
            ("char" | "character" | "bpchar", None) => Self::Char(1),
            ("char" | "character" | "bpchar", Some(a)) => Self::Char(a.trim().parse().ok()?),
            ("bytea" | "bytes" | "blob", None) => Self::Bytea,
            ("uuid", None) => Self::Uuid,
            ("json", None) => Self::Json,
            ("jsonb", None) => Self::Jsonb,
            ("date", None) => Self::Date,
            ("time" | "time without time zone", None) => Self::Time,
            ("timestamp" | "timestamp without time zone" | "datetime", None) => Self::Timestamp,
            ("timestamptz" | "timestamp with time zone", None) => Self::Timestamptz,
            ("interval", None) => Self::Interval,
            ("inet", None) => Self::Inet,
            ("cidr", None) => Self::Cidr,
            ("macaddr", None) => Self::MacAddr,
            _ => return None,
        };
        Some(t)
    }
}

impl EnumType {
    /// The type as a declaration spells it: `enum mood('happy', 'sad')`
    /// (what [`SqlType`]'s `FromStr` reads back).
    pub fn declaration(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|l| format!("'{}'", l.replace('\'', "''")))
            .collect();
        format!("enum {}({})", self.name, labels.join(", "))
    }

    /// Reads `name('a', 'b')` (after the `enum` keyword); `None` when it is
    /// not that shape.
    fn parse(s: &str) -> Option<EnumType> {
        let open = s.find('(')?;
        let name = s[..open].trim();
        let inner = s[open + 1..].trim_end().strip_suffix(')')?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return None;
        }
        let mut labels = Vec::new();
        let mut rest = inner.trim_start();
        while !rest.is_empty() {
            let mut chars = rest.strip_prefix('\'')?.char_indices().peekable();
            let mut label = String::new();
            let end = loop {
                let (i, c) = chars.next()?;
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                        label.push('\'');
                        continue;
                    }
                    break i + 2;
                }
                label.push(c);
            };
            labels.push(label);
            rest = rest[end..].trim_start();
            rest = match rest.strip_prefix(',') {
                Some(r) => r.trim_start(),
                None if rest.is_empty() => rest,
                None => return None,
            };
        }
        (!labels.is_empty()).then(|| EnumType {
            name: name.to_owned(),
            labels,
        })
    }
}

impl SqlType {
    /// The type as a declaration spells it: its name, or for an enum type
    /// `enum mood('happy', 'sad')` (arrays with `[]`); parses back.
    pub fn declaration(&self) -> String {
        match self {
            Self::Enum(e) => e.declaration(),
            Self::Array(t) => format!("{}[]", t.declaration()),
            t => t.to_string(),
        }
    }
}

impl FromStr for SqlType {
    type Err = Error;

    /// Also reads an enum type with its labels: `enum mood('happy', 'sad')`
    /// (labels are SQL string literals), and arrays of one (`...[]`).
    fn from_str(s: &str) -> Result<Self> {
        let trimmed = s.trim();
        if let Some(body) = trimmed
            .get(..5)
            .filter(|k| k.eq_ignore_ascii_case("enum "))
            .and_then(|_| trimmed.get(5..))
        {
            let body = body.trim();
            let (body, array) = match body.strip_suffix("[]") {
                Some(b) => (b, true),
                None => (body, false),
            };
            let e = EnumType::parse(body).ok_or_else(|| {
                Error::invalid_value(
                    "type name",
                    format!("expected enum name('label', ...), got `{trimmed}`"),
                )
            })?;
            let t = Self::Enum(Arc::new(e));
            return Ok(if array { Self::Array(Box::new(t)) } else { t });
        }
        let lower = trimmed.to_ascii_lowercase();
        let unknown = || Error::invalid_value("type name", format!("unknown type `{}`", s.trim()));
        if let Some(elem) = lower.strip_suffix("[]") {
            let elem = Self::parse_scalar(elem.trim()).ok_or_else(unknown)?;
            return Ok(Self::Array(Box::new(elem)));
        }
        Self::parse_scalar(&lower).ok_or_else(unknown)
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool => f.write_str("boolean"),
            Self::Int2 => f.write_str("smallint"),
            Self::Int4 => f.write_str("integer"),
            Self::Int8 => f.write_str("bigint"),
            Self::Float4 => f.write_str("real"),
            Self::Float8 => f.write_str("double precision"),
            Self::Numeric(None) => f.write_str("numeric"),
            Self::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            Self::Text => f.write_str("text"),
            Self::Varchar(None) => f.write_str("varchar"),
            Self::Varchar(Some(n)) => write!(f, "varchar({n})"),
            Self::Char(n) => write!(f, "char({n})"),
            Self::Bytea => f.write_str("bytea"),
            Self::Uuid => f.write_str("uuid"),
            Self::Json => f.write_str("json"),
            Self::Jsonb => f.write_str("jsonb"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Timestamptz => f.write_str("timestamptz"),
            Self::Interval => f.write_str("interval"),
            Self::Inet => f.write_str("inet"),
            Self::Cidr => f.write_str("cidr"),
            Self::MacAddr => f.write_str("macaddr"),
            Self::Enum(e) => f.write_str(&e.name),
            Self::Array(t) => write!(f, "{t}[]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_and_modifiers() {
        let cases = [
            ("INTEGER", SqlType::Int4),
            ("bigint", SqlType::Int8),
            ("double precision", SqlType::Float8),
            ("numeric(10, 2)", SqlType::Numeric(Some((10, 2)))),
            ("varchar(5)", SqlType::Varchar(Some(5))),
            ("character varying", SqlType::Varchar(None)),
            ("char(3)", SqlType::Char(3)),
            ("timestamp with time zone", SqlType::Timestamptz),
            ("int4[]", SqlType::Array(Box::new(SqlType::Int4))),
        ];
        for (name, want) in cases {
            assert_eq!(name.parse::<SqlType>().unwrap(), want, "{name}");
        }
    }

    #[test]
    fn enum_types_parse_with_their_labels() {
        let t: SqlType = "enum mood('happy', 'it''s, fine')".parse().unwrap();
        let SqlType::Enum(e) = &t else {
            panic!("{t:?}")
        };
        assert_eq!(e.name, "mood");
        assert_eq!(e.labels, ["happy", "it's, fine"]);
        assert_eq!(t.declaration(), "enum mood('happy', 'it''s, fine')");
        assert_eq!(t.declaration().parse::<SqlType>().unwrap(), t);
        let arr: SqlType = "ENUM mood('a')[]".parse().unwrap();
        assert_eq!(arr.declaration(), "enum mood('a')[]");
        assert!("enum mood".parse::<SqlType>().is_err());
        assert!("enum mood(happy)".parse::<SqlType>().is_err());
        assert!("enum mood('a' 'b')".parse::<SqlType>().is_err());
    }

    #[test]
    fn rejects_unknown_types_by_name() {
        let err = "intger".parse::<SqlType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for type name: unknown type `intger`"
        );
        assert!("int4[][]".parse::<SqlType>().is_err());
        assert!("varchar(x)".parse::<SqlType>().is_err());
    }

    #[test]
    fn display_parses_back() {
        for t in [
            SqlType::Numeric(Some((30, 10))),
            SqlType::Char(4),
            SqlType::Array(Box::new(SqlType::Timestamptz)),
            SqlType::Float8,
        ] {
            assert_eq!(t.to_string().parse::<SqlType>().unwrap(), t);
        }
    }
}
