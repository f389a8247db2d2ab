//! [`DbError`]: how an engine [`Error`] reaches a script, and back to the host.
//!
//! Every failing dbridge call raises a Rhai runtime error whose value is a
//! `DbError`, so a script catches it with `try { ... } catch (e) { e.kind }`.
//! Limits (operations, sizes, the progress callback) are not runtime errors and
//! cannot be caught. This module is the one place engine errors are converted.

use std::fmt;

use dbridge_engine::{Error, ErrorKind};
use rhai::{Dynamic, EvalAltResult, ImmutableString, Position};

/// A dbridge error as a script sees it: `kind` (the engine's
/// [`ErrorKind::as_str`], e.g. `"unique_violation"`), `message` (never holding a
/// bound value or a password), and for database errors `code` and `constraint`
/// (`()` when absent). `to_string(e)` gives the message.
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
    EvalAltResult::ErrorRuntime(Dynamic::from(e), Position::NONE).into()
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

/// The dbridge error inside a Rhai error, if it is one (looking through the
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
        EvalAltResult::ErrorRuntime(value, _) => value.read_lock::<DbError>().map(|e| e.clone()),
        _ => None,
    }
}

/// Registers `DbError` with its getters on `engine`.
pub(crate) fn register(engine: &mut rhai::Engine) {
    fn opt(v: &Option<ImmutableString>) -> Dynamic {
        v.clone().map_or(Dynamic::UNIT, Dynamic::from)
    }
    engine
        .register_type_with_name::<DbError>("DbError")
        .register_get("kind", |e: &mut DbError| e.kind.clone())
        .register_get("message", |e: &mut DbError| e.message.clone())
        .register_get("code", |e: &mut DbError| opt(&e.code))
        .register_get("constraint", |e: &mut DbError| opt(&e.constraint))
        .register_fn("to_string", |e: &mut DbError| e.to_string())
        .register_fn("to_debug", |e: &mut DbError| format!("DbError({e})"));
}
