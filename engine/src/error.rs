//! The one error type of the engine.
//!
//! Every failure a caller may want to react to has its own [`ErrorKind`], so that
//! scripts can test `err.kind == "unique_violation"` and Rust code can `match`.
//! No message ever contains a password or a bound parameter value: database
//! messages that may quote input values are redacted before they are stored here.

use std::fmt;
use std::sync::Arc;

/// `Result` with the engine's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kinds of failure, stable across backends.
///
/// [`ErrorKind::as_str`] gives the snake_case name the script bindings expose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A UNIQUE or PRIMARY KEY constraint was violated.
    UniqueViolation,
    /// A FOREIGN KEY constraint was violated.
    ForeignKeyViolation,
    /// A NOT NULL constraint was violated.
    NotNullViolation,
    /// A CHECK constraint was violated.
    CheckViolation,
    /// The transaction could not be serialized (SQLSTATE 40001); retrying may succeed.
    SerializationFailure,
    /// A deadlock was detected (SQLSTATE 40P01); retrying may succeed.
    Deadlock,
    /// The database is busy or locked by another writer (SQLite), or a row
    /// lock could not be had at once (PostgreSQL's 55P03 `lock_not_available`,
    /// under `NOWAIT` or `lock_timeout`); retrying may succeed.
    Busy,
    /// The SQL text could not be parsed, or names something that does not
    /// exist other than a table or column (a function, a type, a schema).
    Syntax,
    /// The SQL names a table (or view) that does not exist: PostgreSQL's
    /// SQLSTATE 42P01, SQLite's "no such table".
    UndefinedTable,
    /// The SQL names a column that does not exist: PostgreSQL's SQLSTATE
    /// 42703, SQLite's "no such column" and "has no column named".
    UndefinedColumn,
    /// A value did not fit the type it was bound to or read as.
    TypeMismatch,
    /// A value is outside the range of its type, or is malformed for it.
    InvalidValue,
    /// An identifier (table, column, savepoint...) was rejected.
    InvalidIdentifier,
    /// A connection URL or option was malformed.
    Configuration,
    /// The server could not be reached or the connection broke outside a
    /// transaction (including a server shutting down: SQLSTATE 57P01-57P03);
    /// retrying may succeed once the server is back.
    Connection,
    /// The connection broke while a transaction was open: the server rolled
    /// the transaction back, nothing of it was written; running the whole
    /// transaction again may succeed.
    ConnectionLost,
    /// The connection broke while COMMIT was under way: the transaction may or
    /// may not have been committed. Never retried automatically; check the
    /// data (or make the transaction idempotent) before running it again.
    AmbiguousCommit,
    /// A connection could not be had in time, or the server stopped a
    /// statement at its `statement_timeout`.
    Timeout,
    /// The statement was cancelled (by a [`CancelHandle`](crate::CancelHandle),
    /// a dropped call, or another session's `pg_cancel_backend`) and stopped on
    /// the server; what its call began was rolled back.
    Cancelled,
    /// A query expected a row and got none.
    NotFound,
    /// A query expected at most one row and got more.
    MultipleRows,
    /// The backend cannot do what was asked.
    Unsupported,
    /// An object was used in a state that does not allow it (e.g. a finished transaction).
    InvalidState,
    /// A validator rejected a value.
    Validation,
    /// An optimistic-concurrency check failed: the row changed or vanished.
    StaleData,
    /// A model declaration is invalid, or names a part of a model that does not exist.
    Schema,
    /// A migration could not be read, checked or applied.
    Migration,
    /// Any other database error.
    Database,
}

impl ErrorKind {
    /// The snake_case name used by the script bindings (`"unique_violation"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UniqueViolation => "unique_violation",
            Self::ForeignKeyViolation => "foreign_key_violation",
            Self::NotNullViolation => "not_null_violation",
            Self::CheckViolation => "check_violation",
            Self::SerializationFailure => "serialization_failure",
            Self::Deadlock => "deadlock",
            Self::Busy => "busy",
            Self::Syntax => "syntax",
            Self::UndefinedTable => "undefined_table",
            Self::UndefinedColumn => "undefined_column",
            Self::TypeMismatch => "type_mismatch",
            Self::InvalidValue => "invalid_value",
            Self::InvalidIdentifier => "invalid_identifier",
            Self::Configuration => "configuration",
            Self::Connection => "connection",
            Self::ConnectionLost => "connection_lost",
            Self::AmbiguousCommit => "ambiguous_commit",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::NotFound => "not_found",
            Self::MultipleRows => "multiple_rows",
            Self::Unsupported => "unsupported",
            Self::InvalidState => "invalid_state",
            Self::Validation => "validation",
            Self::StaleData => "stale_data",
            Self::Schema => "schema",
            Self::Migration => "migration",
            Self::Database => "database",
        }
    }

    /// Whether running the same transaction again may succeed. A
    /// `stale_data` error is: run again from its start, the transaction reads
    /// the row's new version and applies its change to it (optimistic
    /// concurrency with a version column).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::SerializationFailure
                | Self::Deadlock
                | Self::Busy
                | Self::StaleData
                | Self::Connection
                | Self::ConnectionLost
        )
    }
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 28] = [
        Self::UniqueViolation,
        Self::ForeignKeyViolation,
        Self::NotNullViolation,
        Self::CheckViolation,
        Self::SerializationFailure,
        Self::Deadlock,
        Self::Busy,
        Self::Syntax,
        Self::UndefinedTable,
        Self::UndefinedColumn,
        Self::TypeMismatch,
        Self::InvalidValue,
        Self::InvalidIdentifier,
        Self::Configuration,
        Self::Connection,
        Self::ConnectionLost,
        Self::AmbiguousCommit,
        Self::Timeout,
        Self::Cancelled,
        Self::NotFound,
        Self::MultipleRows,
        Self::Unsupported,
        Self::InvalidState,
        Self::Validation,
        Self::StaleData,
        Self::Schema,
        Self::Migration,
        Self::Database,
    ];

    /// The kind of a snake_case name ([`ErrorKind::as_str`]'s inverse).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// How long to wait before retry `attempt` (1 for the first) of a
    /// transaction that failed with this kind: from half to all of a delay
    /// that doubles each time, 5 ms capped at 200 ms for conflicts, 50 ms
    /// capped at 2 s for connection failures (a server restart takes seconds).
    pub fn retry_delay(self, attempt: u32) -> std::time::Duration {
        let (first, cap) = match self {
            Self::Connection | Self::ConnectionLost => (50_u64, 2_000),
            _ => (5, 200),
        };
        let base = first.saturating_mul(1 << attempt.min(10)).min(cap);
        let jitter = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0),
        ) % (base / 2 + 1);
        std::time::Duration::from_millis(base / 2 + jitter)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The backend a database error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (bundled).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend's lowercase name, as used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgresql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error reported by the database server (or by SQLite) for a statement.
///
/// The message is the server's primary message with the statement's bound
/// values (and any quoted input of a data exception) removed, by the rule
/// docs/sql.md states; the detail, hint and context lines are never kept.
#[derive(Debug, Clone)]
pub struct DatabaseError {
    /// The classified kind.
    pub kind: ErrorKind,
    /// The backend that raised it.
    pub backend: Backend,
    /// SQLSTATE on PostgreSQL, the extended result code on SQLite.
    pub code: Option<String>,
    /// The server's message, redacted of values.
    pub message: String,
    /// The violated constraint, where the backend names it.
    pub constraint: Option<String>,
    /// The table involved, where the backend names it.
    pub table: Option<String>,
    /// The column involved, where the backend names it.
    pub column: Option<String>,
    /// The SQL text of the failing statement (never its parameter values).
    pub sql: Option<Arc<str>>,
    /// Where in [`DatabaseError::sql`] the server found the error: a 1-based
    /// character position (PostgreSQL's error cursor, as psql's `LINE 1: ...`
    /// caret shows it); `None` when the backend does not say (SQLite).
    pub position: Option<usize>,
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error", self.backend)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(c) = &self.constraint {
            write!(f, " (constraint `{c}`)")?;
        }
        Ok(())
    }
}

/// Why a migration failed ([`Error::Migration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationFailure {
    /// A file name or its content is malformed (no `-- up` section, a bad version...).
    InvalidFile,
    /// An applied migration's file changed since it was applied.
    ChecksumMismatch,
    /// An applied migration has no file any more.
    MissingFile,
    /// A `.lua` / `.rhai` migration and no script runner registered.
    NoScriptRunner,
    /// A statement or script failed: the migration was rolled back.
    Failed,
    /// Foreign keys are violated after the migration (SQLite): rolled back.
    ForeignKeyCheck,
    /// A target version that no migration has, or nothing to go back to.
    UnknownTarget,
    /// Reading or writing a migration file failed.
    Io,
}

/// Every failure of the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database rejected a statement.
    #[error("{0}")]
    Database(Box<DatabaseError>),

    /// A connection URL or option is malformed. The message never holds a password.
    #[error("invalid configuration: {0}")]
    Configuration(String),

    /// The server could not be reached or the connection failed.
    #[error("connection failed: {0}")]
    Connection(String),

    /// The connection broke inside a transaction, which the server rolled back
    /// ([`ErrorKind::ConnectionLost`]), or during its COMMIT
    /// ([`ErrorKind::AmbiguousCommit`]).
    #[error("{}", lost_message(*.during_commit, .source))]
    ConnectionLost {
        /// Whether it broke while COMMIT was under way.
        during_commit: bool,
        /// The connection error.
        #[source]
        source: Box<Error>,
    },

    /// Waiting for a connection (or the connection attempt) took longer than allowed.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long.
        after: std::time::Duration,
    },

    /// The call was cancelled ([`CancelHandle::cancel`](crate::CancelHandle::cancel)):
    /// its statement was stopped on the server and what it began was rolled back.
    #[error("cancelled")]
    Cancelled,

    /// An identifier was rejected by [`crate::ident`].
    #[error("invalid identifier {name:?}: {reason}")]
    InvalidIdentifier {
        /// The identifier as given (escaped when printed).
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A value does not fit the type it is bound to or read as.
    #[error("type mismatch for {target}: expected {expected}, got {found}")]
    TypeMismatch {
        /// Where: `parameter $2`, `column "age"`.
        target: String,
        /// The type wanted.
        expected: String,
        /// The type given.
        found: String,
    },

    /// A value is malformed or out of range for its type. Never quotes the value.
    #[error("invalid value for {target}: {reason}")]
    InvalidValue {
        /// Where, or which type.
        target: String,
        /// What is wrong.
        reason: String,
    },

    /// A row was expected and none was returned.
    #[error("no row returned where one was expected")]
    NotFound,

    /// At most one row was expected and several were returned.
    #[error("more than one row returned where at most one was expected")]
    MultipleRows,

    /// The backend cannot do this.
    #[error("{feature} is not supported on {backend}")]
    Unsupported {
        /// The backend that lacks it.
        backend: Backend,
        /// What was asked.
        feature: String,
    },

    /// An object was used in a state that does not allow it.
    #[error("{0}")]
    InvalidState(String),

    /// A model declaration is invalid, or a query names a part of a model that
    /// does not exist ("no column `emial` on model `User`").
    #[error("{message}")]
    Schema {
        /// The model concerned.
        model: String,
        /// The column concerned, if any.
        column: Option<String>,
        /// The whole message, naming the model and the column.
        message: String,
    },

    /// A migration could not be read, checked or applied. When a statement of
    /// a migration failed, `source` is the database error and the migration was
    /// rolled back.
    #[error("{message}")]
    Migration {
        /// What went wrong, for callers that match on it.
        reason: MigrationFailure,
        /// The migration file concerned (`0003_add_karma.sql`), if any.
        file: Option<String>,
        /// The whole message, naming the file.
        message: String,
        /// The error behind it (a database error when a statement failed).
        #[source]
        source: Option<Box<Error>>,
    },

    /// A validator rejected a value, or a value could not be converted for its
    /// column; the instance was left unchanged.
    #[error("{message}")]
    Validation {
        /// The model concerned.
        model: String,
        /// The column concerned, if any.
        column: Option<String>,
        /// The whole message, naming the model and the column.
        message: String,
    },

    /// An optimistic-concurrency check failed: an UPDATE or DELETE of a flushed
    /// instance matched no row (changed by someone else, or deleted).
    #[error("{0}")]
    StaleData(String),

    /// An event listener failed; `source` is its error. The kind is the source's.
    #[error("listener `{listener}` for {event} failed{}: {source}", .instance.as_deref().map(|i| format!(" on {i}")).unwrap_or_default())]
    Listener {
        /// The event (`before_insert`...).
        event: &'static str,
        /// The listener's name.
        listener: String,
        /// The instance the event was for, if any (`User` instance #3).
        instance: Option<String>,
        /// The listener's error.
        #[source]
        source: Box<Error>,
    },

    /// A session flush failed on an instance; everything it did was rolled
    /// back. The kind is the source's.
    #[error("flush failed on {instance}: {source}")]
    Flush {
        /// The instance (`User` instance #3, pending).
        instance: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Database(e) => e.kind,
            Self::Configuration(_) => ErrorKind::Configuration,
            Self::Connection(_) => ErrorKind::Connection,
            Self::ConnectionLost {
                during_commit: false,
                ..
            } => ErrorKind::ConnectionLost,
            Self::ConnectionLost {
                during_commit: true,
                ..
            } => ErrorKind::AmbiguousCommit,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Cancelled => ErrorKind::Cancelled,
            Self::InvalidIdentifier { .. } => ErrorKind::InvalidIdentifier,
            Self::TypeMismatch { .. } => ErrorKind::TypeMismatch,
            Self::InvalidValue { .. } => ErrorKind::InvalidValue,
            Self::NotFound => ErrorKind::NotFound,
            Self::MultipleRows => ErrorKind::MultipleRows,
            Self::Unsupported { .. } => ErrorKind::Unsupported,
            Self::InvalidState(_) => ErrorKind::InvalidState,
            Self::Schema { .. } => ErrorKind::Schema,
            Self::Migration { .. } => ErrorKind::Migration,
            Self::Validation { .. } => ErrorKind::Validation,
            Self::StaleData(_) => ErrorKind::StaleData,
            Self::Listener { source, .. } | Self::Flush { source, .. } => source.kind(),
        }
    }

    /// The database error behind this one, if it came from the server (also
    /// through a flush or listener error).
    pub fn as_database_error(&self) -> Option<&DatabaseError> {
        match self {
            Self::Database(e) => Some(e),
            Self::Listener { source, .. }
            | Self::Flush { source, .. }
            | Self::ConnectionLost { source, .. } => source.as_database_error(),
            _ => None,
        }
    }

    /// The violated constraint's name, for constraint violations.
    pub fn constraint(&self) -> Option<&str> {
        self.as_database_error()?.constraint.as_deref()
    }

    pub(crate) fn invalid_value(target: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidValue {
            target: target.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(backend: Backend, feature: impl Into<String>) -> Self {
        Self::Unsupported {
            backend,
            feature: feature.into(),
        }
    }
}

fn lost_message(during_commit: bool, source: &Error) -> String {
    if during_commit {
        format!(
            "the connection broke during COMMIT: the transaction may or may not have been committed ({source})"
        )
    } else {
        format!("the connection broke inside a transaction, which was rolled back ({source})")
    }
}

impl Error {
    /// Turns a connection-level failure met inside a transaction into
    /// [`Error::ConnectionLost`]; other errors are returned as they are.
    pub(crate) fn in_transaction(self, during_commit: bool) -> Self {
        if self.kind() == ErrorKind::Connection {
            Self::ConnectionLost {
                during_commit,
                source: Box::new(self),
            }
        } else {
            self
        }
    }
}

impl From<DatabaseError> for Error {
    fn from(e: DatabaseError) -> Self {
        Self::Database(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(ErrorKind::UniqueViolation.as_str(), "unique_violation");
        assert_eq!(Error::NotFound.kind().as_str(), "not_found");
        assert!(ErrorKind::SerializationFailure.is_retryable());
        assert!(!ErrorKind::UniqueViolation.is_retryable());
        assert!(ErrorKind::ConnectionLost.is_retryable());
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.as_str()), Some(k));
        }
        assert!(!ErrorKind::AmbiguousCommit.is_retryable());
        assert!(ErrorKind::StaleData.is_retryable());
    }

    #[test]
    fn identifier_errors_escape_the_name() {
        let e = Error::InvalidIdentifier {
            name: "a\"b\n".into(),
            reason: "contains a control character".into(),
        };
        assert_eq!(
            e.to_string(),
            "invalid identifier \"a\\\"b\\n\": contains a control character"
        );
    }
}
