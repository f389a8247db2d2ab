//! Turning sqlx errors into [`Error`], per backend, without leaking secrets.

use std::sync::Arc;

use super::redact::{Bound, redact_segments, redact_values};
use crate::error::{Backend, DatabaseError, Error, ErrorKind};

/// What is known about the statement and connection an error came from.
#[derive(Clone, Copy, Default)]
pub(crate) struct ErrorContext<'a> {
    pub sql: Option<&'a Arc<str>>,
    /// Removed from every message as a last line of defence.
    pub password: Option<&'a str>,
    pub acquire_timeout: Option<std::time::Duration>,
    /// The values the statement carried: removed from every message (see [`super::redact`]).
    pub values: Bound<'a>,
}

impl ErrorContext<'_> {
    /// `message` without the password and without any bound value.
    pub(crate) fn clean(&self, message: &str) -> String {
        redact_values(&scrub(message, self.password), self.values)
    }
}

/// Removes every occurrence of the password from a message.
pub(crate) fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if p.len() >= 3 => message.replace(p, "********"),
        _ => message.to_owned(),
    }
}

/// Replaces double-quoted segments (which PostgreSQL uses to quote input values
/// in data-exception messages) with an ellipsis.
pub(crate) fn redact_quoted(message: &str) -> String {
    redact_segments(message, '"', |_| true)
}

pub(crate) fn map(err: sqlx::Error, backend: Backend, ctx: ErrorContext<'_>) -> Error {
    match err {
        sqlx::Error::Database(db) => match backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => super::postgres::map_database_error(&*db, ctx),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => super::sqlite::map_database_error(&*db, ctx),
            // No connection of a driver left out exists to fail.
            #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
            other => super::options::missing_driver(other),
        },
        sqlx::Error::PoolTimedOut => Error::Timeout {
            what: "a database connection",
            after: ctx.acquire_timeout.unwrap_or_default(),
        },
        sqlx::Error::PoolClosed => Error::InvalidState("the database has been closed".into()),
        sqlx::Error::RowNotFound => Error::NotFound,
        sqlx::Error::Configuration(e) => Error::Configuration(ctx.clean(&e.to_string())),
        e @ (sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed) => Error::Connection(ctx.clean(&e.to_string())),
        e
        @ (sqlx::Error::Encode(_) | sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. }) => {
            Error::invalid_value("a value", ctx.clean(&e.to_string()))
        }
        other => Error::from(DatabaseError {
            kind: ErrorKind::Database,
            backend,
            code: None,
            message: ctx.clean(&other.to_string()),
            constraint: None,
            table: None,
            column: None,
            sql: ctx.sql.cloned(),
            position: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(
            redact_quoted("invalid input syntax for type integer: \"hunter2\""),
            "invalid input syntax for type integer: \"…\""
        );
        assert_eq!(
            redact_quoted("value \"9\" is out of range"),
            "value \"…\" is out of range"
        );
    }

    #[test]
    fn passwords_are_scrubbed() {
        assert_eq!(
            scrub("bad login for s3cret!", Some("s3cret!")),
            "bad login for ********"
        );
        assert_eq!(scrub("a b", Some("a")), "a b");
    }
}
