//! Validated identifiers: the only way a name (table, column, savepoint, type...)
//! reaches SQL text.
//!
//! A name is NFKC-normalised (so full-width and other compatibility look-alikes
//! become their plain forms), then must start with a letter or `_` and continue
//! with letters, digits, `_` or `$`. Quotes, whitespace, punctuation, comment
//! markers, control characters and NUL are rejected with an error that says
//! which rule failed. SQL keywords are allowed: every identifier is emitted
//! double-quoted, so `"order"` is just a name.

use std::fmt;
use std::sync::Arc;

use unicode_normalization::UnicodeNormalization;

use crate::error::{Backend, Error, Result};

/// The longest identifier accepted everywhere: PostgreSQL's `NAMEDATALEN - 1`.
pub const MAX_PORTABLE_LEN: usize = 63;

/// The longest identifier accepted on SQLite (SQLite has no limit of its own;
/// this bound keeps statements and error messages sane).
pub const MAX_SQLITE_LEN: usize = 1024;

/// A validated, normalised identifier.
///
/// # Examples
///
/// ```
/// use dbridge_engine::Ident;
/// let id = Ident::new("ｕｓｅｒｓ").unwrap();        // full-width letters
/// assert_eq!(id.as_str(), "users");
/// assert_eq!(id.quoted(), "\"users\"");
/// assert!(Ident::new("users; DROP TABLE x").is_err());
/// assert!(Ident::new("a\"b").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(Arc<str>);

fn reject(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidIdentifier {
        name: name.chars().take(80).collect(),
        reason: reason.into(),
    }
}

fn describe(c: char) -> String {
    match c {
        '\0' => "a NUL byte".into(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if c.is_whitespace() => "whitespace".into(),
        c => format!("the character {c:?}"),
    }
}

impl Ident {
    /// Validates `name` with the portable length limit (63 bytes).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] naming the rule that failed.
    pub fn new(name: &str) -> Result<Self> {
        Self::with_limit(name, MAX_PORTABLE_LEN)
    }

    /// Validates `name` with the length limit of `backend`.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] naming the rule that failed.
    pub fn for_backend(name: &str, backend: Backend) -> Result<Self> {
        let limit = match backend {
            Backend::Postgres => MAX_PORTABLE_LEN,
            Backend::Sqlite => MAX_SQLITE_LEN,
        };
        Self::with_limit(name, limit)
    }

    fn with_limit(name: &str, limit: usize) -> Result<Self> {
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(reject(name, format!("contains {}", describe(c))));
        }
        let norm: String = name.nfkc().collect();
        let mut chars = norm.chars();
        let Some(first) = chars.next() else {
            return Err(reject(name, "is empty"));
        };
        if !(first.is_alphabetic() || first == '_') {
            return Err(reject(
                name,
                format!("must start with a letter or `_`, not {}", describe(first)),
            ));
        }
        if let Some(c) = chars.find(|&c| !(c.is_alphanumeric() || c == '_' || c == '$')) {
            return Err(reject(name, format!("contains {}", describe(c))));
        }
        if norm.len() > limit {
            return Err(reject(
                name,
                format!("is {} bytes long; the limit is {limit}", norm.len()),
            ));
        }
        Ok(Self(Arc::from(norm)))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised name, shared (no copy).
    pub(crate) fn shared(&self) -> Arc<str> {
        self.0.clone()
    }

    /// The name double-quoted for SQL.
    pub fn quoted(&self) -> String {
        let mut s = String::with_capacity(self.0.len() + 2);
        self.write_quoted(&mut s);
        s
    }

    /// Appends the double-quoted name to `out`.
    pub fn write_quoted(&self, out: &mut String) {
        out.push('"');
        // Validation admits no quote, but doubling keeps quoting correct on its own.
        for c in self.0.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    }
}

impl fmt::Debug for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ident({:?})", &*self.0)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Ident {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Ident {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(name: &str) -> String {
        match Ident::new(name) {
            Err(Error::InvalidIdentifier { reason, .. }) => reason,
            other => panic!("{name:?} was accepted: {other:?}"),
        }
    }

    #[test]
    fn accepts_ordinary_and_unicode_names() {
        for ok in [
            "users",
            "_x",
            "Order",
            "select",
            "ünïcødé",
            "名前",
            "a$1",
            "t_2024",
        ] {
            assert!(Ident::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn normalises_compatibility_forms() {
        assert_eq!(Ident::new("ｔａｂｌｅ").unwrap().as_str(), "table");
        assert_eq!(Ident::new("ﬁle").unwrap().as_str(), "file");
    }

    #[test]
    fn rejects_hostile_names_with_the_reason() {
        assert_eq!(reason(""), "is empty");
        assert_eq!(reason("a\0b"), "contains a NUL byte");
        assert_eq!(reason("a\u{7}"), "contains a control character (U+0007)");
        assert_eq!(reason("a b"), "contains whitespace");
        assert_eq!(
            reason("x\"; DROP TABLE t; --"),
            "contains the character '\"'"
        );
        assert_eq!(reason("a--b"), "contains the character '-'");
        assert_eq!(
            reason("1abc"),
            "must start with a letter or `_`, not the character '1'"
        );
        assert_eq!(reason("a\u{FF0E}b"), "contains the character '.'");
        assert_eq!(reason(&"a".repeat(64)), "is 64 bytes long; the limit is 63");
    }

    #[test]
    fn backend_limits_differ() {
        let long = "b".repeat(200);
        assert!(Ident::for_backend(&long, Backend::Sqlite).is_ok());
        assert!(Ident::for_backend(&long, Backend::Postgres).is_err());
    }

    #[test]
    fn error_message_escapes_the_name() {
        let msg = Ident::new("a\nb").unwrap_err().to_string();
        assert!(msg.starts_with("invalid identifier \"a\\nb\""), "{msg}");
    }
}
