//! [`DbError`]: how an engine [`Error`] reaches a script, and back to the host.
//!
//! Every failing dbridge call raises a Rhai runtime error whose value is an
//! object map `#{ kind, message [, code] [, constraint] }`, so a script catches
//! it with `try { ... } catch (e) { e.kind }`, and the host's error message
//! shows both. A map (rather than a custom type) because Rhai prints a custom
//! type in an error as its type name only, and because a script can then raise
//! a dbridge-style error itself with `throw #{ kind: "...", message: "..." }`.
//! Limits (operations, sizes, the progress callback) are not runtime errors and
//! cannot be caught. This module is the one place engine errors are converted.

use std::fmt;

use dbridge_engine::{Error, ErrorKind};
use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Position};

/// A dbridge error: `kind` (the engine's [`ErrorKind::as_str`], e.g.
/// `"unique_violation"`), `message` (never holding a bound value or a
/// password), and for database errors `code` and `constraint`. Scripts see it
/// as an object map with those keys (absent ones read as `()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    kind: ImmutableString,
    message: ImmutableString,
    code: Option<ImmutableString>,
    constraint: Option<ImmutableString>,
}

impl DbError {
    /// The kind's snake_case name (`"not_found"`, `"syntax"`...).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// SQLSTATE on PostgreSQL, the extended result code on SQLite.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The violated constraint, where the backend names it.
    pub fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    /// Whether running the same transaction again may succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "serialization_failure" | "deadlock" | "busy"
        )
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<&Error> for DbError {
    fn from(e: &Error) -> Self {
        let db = e.as_database_error();
        Self {
            kind: e.kind().as_str().into(),
            message: e.to_string().into(),
            code: db.and_then(|d| d.code.as_deref()).map(Into::into),
            constraint: e.constraint().map(Into::into),
        }
    }
}

/// The engine error as a catchable Rhai runtime error.
pub(crate) fn to_rhai(e: Error) -> Box<EvalAltResult> {
    raise(DbError::from(&e))
}

/// A `DbError` raised as a Rhai runtime error.
pub(crate) fn raise(e: DbError) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from_map(e.to_map()), Position::NONE).into()
}

impl DbError {
    /// The object map scripts see.
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("kind".into(), self.kind.clone().into());
        map.insert("message".into(), self.message.clone().into());
        if let Some(c) = &self.code {
            map.insert("code".into(), c.clone().into());
        }
        if let Some(c) = &self.constraint {
            map.insert("constraint".into(), c.clone().into());
        }
        map
    }

    /// Reads the map back: a map with string `kind` and `message` keys.
    fn from_map(map: &Map) -> Option<Self> {
        let text = |k: &str| {
            map.get(k)
                .and_then(|v| v.clone().into_immutable_string().ok())
        };
        Some(Self {
            kind: text("kind")?,
            message: text("message")?,
            code: text("code"),
            constraint: text("constraint"),
        })
    }
}

/// An error of `kind` made by the binding itself (bad options, bad values).
pub(crate) fn binding_error(kind: ErrorKind, message: impl Into<ImmutableString>) -> DbError {
    DbError {
        kind: kind.as_str().into(),
        message: message.into(),
        code: None,
        constraint: None,
    }
}

/// A configuration error raised from the binding (an unknown option...).
pub(crate) fn configuration(message: impl fmt::Display) -> Box<EvalAltResult> {
    to_rhai(Error::Configuration(message.to_string()))
}

/// The dbridge error inside a Rhai error, if it is one (a runtime error whose
/// value is a map with string `kind` and `message`, as dbridge raises them), (looking through the
/// "error in function call" wrappers Rhai adds around closures).
///
/// # Examples
///
/// ```
/// let engine = dbridge_rhai::sandboxed_engine().unwrap();
/// let err = engine
///     .run(r#"let db = dbridge::connect("sqlite::memory:"); db.fetch_one("SELECT 1 WHERE 0", []);"#)
///     .unwrap_err();
/// assert_eq!(dbridge_rhai::db_error(&err).unwrap().kind(), "not_found");
/// ```
pub fn db_error(err: &EvalAltResult) -> Option<DbError> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(value, _) => {
            value.read_lock::<Map>().and_then(|m| DbError::from_map(&m))
        }
        _ => None,
    }
}
