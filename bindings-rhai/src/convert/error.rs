//! [`DbError`]: how an engine [`Error`] reaches a script, and back to the host.
//!
//! Every failing dbridge call raises a Rhai runtime error whose value is an
//! object map `#{ kind, message, retryable [, code, constraint, table, column] }`,
//! so a script catches it with `try { ... } catch (e) { e.kind }`, and the
//! host's error message shows both. A map (rather than a custom type) because
//! Rhai prints a custom type in an error as its type name only, and because a
//! script can then raise a dbridge-style error itself
//! (`throw dbridge::error(#{ kind: "validation", message: "..." })`).
//! Limits (operations, sizes, the progress callback) are not runtime errors and
//! cannot be caught. This module is the one place engine errors are converted.

use std::fmt;

use dbridge_engine::{Error, ErrorKind};
use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Position};

/// A dbridge error: `kind` (the engine's [`ErrorKind::as_str`], e.g.
/// `"unique_violation"`), `message` (never holding a bound value or a
/// password), and for database errors `code`, `constraint`, `table` and
/// `column` where the backend names them. Scripts see it as an object map with
/// those keys and `retryable` (absent keys read as `()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    kind: ImmutableString,
    message: ImmutableString,
    code: Option<ImmutableString>,
    constraint: Option<ImmutableString>,
    table: Option<ImmutableString>,
    column: Option<ImmutableString>,
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

    /// Whether running the same transaction again may succeed
    /// (`serialization_failure`, `deadlock`, `busy`).
    pub fn is_retryable(&self) -> bool {
        self.error_kind().is_some_and(ErrorKind::is_retryable)
    }

    /// The engine's kind.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_name(&self.kind)
    }

    /// Replaces the kind (with one dbridge knows; others are ignored).
    pub(crate) fn set_kind(&mut self, kind: &str) {
        if let Some(k) = ErrorKind::from_name(kind) {
            self.kind = k.as_str().into();
        }
    }

    /// The object map scripts see.
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("kind".into(), self.kind.clone().into());
        map.insert("message".into(), self.message.clone().into());
        map.insert("retryable".into(), self.is_retryable().into());
        for (key, v) in [
            ("code", &self.code),
            ("constraint", &self.constraint),
            ("table", &self.table),
            ("column", &self.column),
        ] {
            if let Some(v) = v {
                map.insert(key.into(), v.clone().into());
            }
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
            table: text("table"),
            column: text("column"),
        })
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
        let field = |f: fn(&dbridge_engine::DatabaseError) -> &Option<String>| {
            db.and_then(|d| f(d).as_deref()).map(Into::into)
        };
        Self {
            kind: e.kind().as_str().into(),
            message: e.to_string().into(),
            code: field(|d| &d.code),
            constraint: field(|d| &d.constraint),
            table: field(|d| &d.table),
            column: field(|d| &d.column),
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

/// An error of `kind` made by the binding itself (bad options, bad values).
pub(crate) fn binding_error(kind: ErrorKind, message: impl Into<ImmutableString>) -> DbError {
    DbError {
        kind: kind.as_str().into(),
        message: message.into(),
        code: None,
        constraint: None,
        table: None,
        column: None,
    }
}

/// A configuration error raised from the binding (an unknown option...).
pub(crate) fn configuration(message: impl fmt::Display) -> Box<EvalAltResult> {
    to_rhai(Error::Configuration(message.to_string()))
}

/// The dbridge error inside a Rhai error, if it is one (a runtime error whose
/// value is a map with string `kind` and `message`, as dbridge raises them),
/// looking through the "error in function call" wrappers Rhai adds around
/// closures.
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

/// `dbridge::error(#{ kind, message })`: an error value for scripts to throw;
/// the kind must be one dbridge knows.
fn new_error(spec: Map) -> Result<Map, Box<EvalAltResult>> {
    let text = |k: &str| {
        spec.get(k)
            .and_then(|v| v.clone().into_immutable_string().ok())
    };
    let kind = text("kind").ok_or_else(|| configuration("dbridge::error needs a string `kind`"))?;
    if ErrorKind::from_name(&kind).is_none() {
        return Err(configuration(format!("unknown error kind `{kind}`")));
    }
    // A message that is there must be text: never silently dropped.
    let message = match spec.get("message") {
        None => ImmutableString::new(),
        Some(v) if v.is_unit() => ImmutableString::new(),
        Some(v) => v.clone().into_immutable_string().map_err(|t| {
            configuration(format!(
                "dbridge::error: `message` must be a string, got {t}"
            ))
        })?,
    };
    Ok(DbError {
        kind,
        message,
        code: None,
        constraint: None,
        table: None,
        column: None,
    }
    .to_map())
}

/// Registers `dbridge::error` and `dbridge::is_retryable`.
pub(crate) fn register(module: &mut rhai::Module) {
    module.set_native_fn("error", new_error);
    module.set_native_fn("is_retryable", |e: Dynamic| {
        Ok(e.read_lock::<Map>()
            .and_then(|m| DbError::from_map(&m))
            .is_some_and(|d| d.is_retryable()))
    });
}
