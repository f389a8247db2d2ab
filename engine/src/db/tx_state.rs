//! Whether a transaction is still the one its owner opened: the second line
//! of defence behind the refusal of transaction control (see
//! [`sql_text::refuse_transaction_control`](super::sql_text)).
//!
//! On SQLite the connection says whether it is in autocommit mode (no
//! transaction open), at no cost. On PostgreSQL an owner that can afford one
//! round trip at each end (sandboxes, migrations) takes `txid_current()` at
//! `BEGIN` and compares it at the end: a transaction ended and replaced
//! inside gets a new id; an aborted one (`25P02`) is still the one opened.

#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;

#[cfg(feature = "postgres")]
use super::Statement;
use super::pool::Pooled;
use crate::error::{Error, Result};

/// Whether the SQLite connection is inside a transaction.
///
/// # Errors
/// When the connection's worker is gone.
#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite_in_transaction(conn: &mut SqliteConnection) -> Result<bool> {
    let mut handle = conn
        .lock_handle()
        .await
        .map_err(|e| Error::Connection(format!("cannot inspect the SQLite connection: {e}")))?;
    let raw = handle.as_raw_handle();
    // SAFETY: the locked handle gives exclusive use of a live `sqlite3*` for
    // its lifetime; `sqlite3_get_autocommit` only reads the connection's flag.
    let autocommit = unsafe { libsqlite3_sys::sqlite3_get_autocommit(raw.as_ptr()) };
    Ok(autocommit == 0)
}

/// The PostgreSQL transaction id of the connection's current transaction;
/// `None` when the transaction is aborted (it is still the same one).
///
/// # Errors
/// Connection errors.
/// (Not reported to statement observers: it is the owner's bookkeeping.)
#[cfg(feature = "postgres")]
pub(crate) async fn pg_txid(conn: &mut Pooled<PgConnection>) -> Result<Option<i64>> {
    use futures_util::TryStreamExt;
    let (conn, health) = conn.parts();
    // A statement cancelled on it is answered first (see `super::cancel`).
    let settled = health
        .canceller()
        .settle(conn)
        .await
        .map_err(|e| Error::Connection(format!("after a cancelled statement: {e}")));
    health.note(&settled);
    settled?;
    let stmt = Statement::new("SELECT txid_current()::int8 AS id", Vec::new());
    let rows: Result<Vec<_>> = super::postgres::fetch(conn, stmt).try_collect().await;
    match rows {
        Ok(rows) => Ok(rows.first().and_then(|r| r.get(0).ok()?.as_i64())),
        Err(Error::Database(d)) if d.code.as_deref() == Some("25P02") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `now`, read at the end, still names the transaction `opened`.
pub(crate) fn same_pg_transaction(opened: Option<i64>, now: Option<i64>) -> bool {
    match (opened, now) {
        // Aborted: still the transaction opened (no BEGIN can have run since).
        (_, None) => true,
        (Some(a), Some(b)) => a == b,
        (None, Some(_)) => false,
    }
}

/// The error an owner reports when `what` (its transaction) was ended from
/// inside.
pub(crate) fn escaped(what: &str) -> Error {
    Error::InvalidState(format!(
        "{what} was ended by a statement run inside it (or by SQLite after an error): \
         what ran after that was not part of it and may have been saved"
    ))
}
