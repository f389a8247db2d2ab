//! Sandboxes: a [`Database`](super::Database) pinned to one connection inside
//! a transaction that is rolled back at the end, as `rails console --sandbox`.
//!
//! Every statement of a sandbox runs on that connection, one at a time;
//! `begin()` opens a savepoint instead of a transaction, so code written for
//! a plain database (transactions, retries, savepoints) works unchanged and
//! nothing it does survives the sandbox.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::CopyIn;
use super::conn::{ConnRef, Hooks};
use super::tx_state;
use crate::error::{Backend, Error, Result};

/// A pooled connection of either backend (the one a sandbox pins, or one taken
/// for a single statement).
pub(crate) enum PinnedConn {
    #[cfg(feature = "sqlite")]
    Sqlite(super::pool::Pooled<SqliteConnection>),
    #[cfg(feature = "postgres")]
    Postgres(super::pool::Pooled<PgConnection>),
}

impl PinnedConn {
    /// The connection's backend.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the connection instead of returning it when `result` says the
    /// connection failed.
    pub(crate) fn check<T>(&mut self, result: Result<T>) -> Result<T> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => c.check(result),
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => c.check(result),
        }
    }

    /// As [`Pooled::is_reused`](super::pool::Pooled::is_reused).
    pub(crate) fn is_reused(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => c.is_reused(),
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => c.is_reused(),
        }
    }

    /// As [`Pooled::is_broken`](super::pool::Pooled::is_broken).
    pub(crate) fn is_broken(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => c.is_broken(),
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => c.is_broken(),
        }
    }

    /// As [`Pooled::replace_broken`](super::pool::Pooled::replace_broken).
    pub(crate) fn replace_broken(&mut self, broken: bool) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => c.replace_broken(broken),
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => c.replace_broken(broken),
        }
    }

    /// Runs a COPY; should the future be dropped before it ends, the
    /// connection (left mid-COPY) is closed instead of reused.
    pub(crate) async fn copy_in(
        &mut self,
        hooks: &Arc<Hooks>,
        copy: &CopyIn<'_>,
    ) -> Result<Option<u64>> {
        let was = self.replace_broken(true);
        let r = self.conn_ref(hooks).copy_in(copy).await;
        self.replace_broken(was);
        r
    }

    /// Whether the connection is still in the transaction opened with
    /// `txid` (PostgreSQL) or in one at all (SQLite).
    pub(crate) async fn still_in(&mut self, txid: Option<i64>) -> Result<bool> {
        #[cfg(not(feature = "postgres"))]
        let _ = txid;
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => tx_state::sqlite_in_transaction(c).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => {
                let now = tx_state::pg_txid(c).await?;
                Ok(tx_state::same_pg_transaction(txid, now))
            }
        }
    }

    /// The PostgreSQL transaction id (`None` on SQLite).
    pub(crate) async fn txid(&mut self) -> Result<Option<i64>> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => Ok(None),
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => tx_state::pg_txid(c).await,
        }
    }

    pub(crate) fn conn_ref<'c>(&'c mut self, hooks: &'c Arc<Hooks>) -> ConnRef<'c> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c) => {
                let (c, health) = c.parts();
                ConnRef::Sqlite(c, hooks, health)
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(c) => {
                let (c, health) = c.parts();
                ConnRef::Postgres(c, hooks, health)
            }
        }
    }
}

/// A connection held in an open transaction for the life of a sandbox.
pub(crate) struct Pinned {
    conn: Arc<Mutex<Option<PinnedConn>>>,
    savepoints: AtomicU64,
    wait: Duration,
    /// PostgreSQL: `txid_current()` when the sandbox began.
    txid: Option<i64>,
    /// Set once a failed statement left the connection out of the
    /// transaction (SQLite's `OR ROLLBACK`): everything after is refused.
    escaped: AtomicBool,
    /// Set when the sandbox was closed while a transaction of it held the
    /// connection: that transaction's end rolls the sandbox back.
    closed: AtomicBool,
}

/// What the sandbox's end check and refusals call its transaction.
const WHAT: &str = "the sandbox's transaction";

/// The savepoint of a sandbox step ([`Pinned::begin_step`]).
const STEP: &str = "dbridge_sandbox_step";

/// Exclusive use of the pinned connection.
pub(crate) type PinnedGuard = OwnedMutexGuard<Option<PinnedConn>>;

impl Pinned {
    pub(crate) fn new(conn: PinnedConn, wait: Duration, txid: Option<i64>) -> Self {
        Self {
            conn: Arc::new(Mutex::new(Some(conn))),
            savepoints: AtomicU64::new(0),
            wait,
            txid,
            escaped: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// Refuses transaction control (see `sql_text`), and every statement once
    /// the transaction was found ended.
    pub(crate) fn guard(&self, sql: &str, backend: crate::Backend) -> Result<()> {
        if self.escaped.load(Ordering::Relaxed) {
            return Err(tx_state::escaped(WHAT));
        }
        super::sql_text::refuse_transaction_control(sql, backend, "a sandbox")
    }

    /// After a failed statement on SQLite: whether SQLite ended the
    /// transaction (then every later statement is refused).
    pub(crate) async fn note_failure<T>(&self, conn: &mut PinnedConn, r: Result<T>) -> Result<T> {
        if r.is_err()
            && conn.backend() == Backend::Sqlite
            && !conn.still_in(self.txid).await.unwrap_or(false)
        {
            self.escaped.store(true, Ordering::Relaxed);
        }
        r
    }

    /// Waits (up to the acquire timeout) for the connection. A statement run
    /// while the same task holds a sandbox transaction or stream would wait for
    /// itself: that ends in the timeout error, never in a hang.
    pub(crate) async fn lock(&self) -> Result<PinnedGuard> {
        let guard = tokio::time::timeout(self.wait, self.conn.clone().lock_owned())
            .await
            .map_err(|_| Error::Timeout {
                what: "the sandbox connection (is a transaction or stream of this sandbox still open?)",
                after: self.wait,
            })?;
        if guard.is_none() {
            return Err(Error::InvalidState(
                "the sandbox has been rolled back".into(),
            ));
        }
        Ok(guard)
    }

    /// A fresh savepoint name for a nested `begin()`.
    pub(crate) fn next_savepoint(&self) -> String {
        format!(
            "dbridge_sandbox_{}",
            self.savepoints.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Opens a step: a savepoint that [`Pinned::end_step`] releases or rolls
    /// back to. `false` (nothing done) when a transaction or stream of the
    /// sandbox holds the connection: the step would not be the innermost.
    pub(crate) async fn begin_step(&self, hooks: &Arc<Hooks>) -> Result<bool> {
        let Ok(mut guard) = self.conn.clone().try_lock_owned() else {
            return Ok(false);
        };
        if self.escaped.load(Ordering::Relaxed) {
            return Err(tx_state::escaped(WHAT));
        }
        let Some(conn) = guard.as_mut() else {
            return Err(Error::InvalidState(
                "the sandbox has been rolled back".into(),
            ));
        };
        let stmt = super::Statement::control(format!("SAVEPOINT {STEP}"));
        conn.conn_ref(hooks).execute(&stmt).await?;
        Ok(true)
    }

    /// Ends the step [`Pinned::begin_step`] opened: keeps what it did, or
    /// rolls it back (a failed statement on PostgreSQL aborts the
    /// transaction; rolling back to the step makes it usable again). When
    /// the step left a transaction or stream of the sandbox open, that one
    /// holds the connection and is inside the step: the step stays open
    /// (everything ends with the sandbox) and `false` is returned.
    pub(crate) async fn end_step(&self, keep: bool, hooks: &Arc<Hooks>) -> Result<bool> {
        let Ok(mut guard) = self.conn.clone().try_lock_owned() else {
            return Ok(false);
        };
        let Some(conn) = guard.as_mut() else {
            return Ok(true);
        };
        let sql = if keep {
            format!("RELEASE SAVEPOINT {STEP}")
        } else {
            format!("ROLLBACK TO SAVEPOINT {STEP}; RELEASE SAVEPOINT {STEP}")
        };
        for part in sql.split("; ") {
            let stmt = super::Statement::control(part.to_owned());
            conn.conn_ref(hooks).execute(&stmt).await?;
        }
        Ok(true)
    }

    /// Closes the sandbox without waiting: rolls it back now when its
    /// connection is free; when a transaction (or stream) of the sandbox holds
    /// it, later statements are refused and the sandbox is rolled back as
    /// soon as that holder lets go (a transaction ending or dropped).
    pub(crate) async fn close(&self, hooks: &Arc<Hooks>) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut guard) = self.conn.clone().try_lock_owned() {
            self.end(&mut guard, hooks).await.ok();
        }
    }

    /// After a holder of the connection is done: ends the sandbox when it was
    /// closed meanwhile.
    pub(crate) async fn end_if_closed(&self, guard: &mut PinnedGuard, hooks: &Arc<Hooks>) {
        if self.closed.load(Ordering::Acquire) {
            self.end(guard, hooks).await.ok();
        }
    }

    /// Rolls the sandbox back and gives the connection back to the pool. It
    /// waits (up to the acquire timeout) for a transaction or stream of the
    /// sandbox to let go of the connection.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when the transaction was ended from inside
    /// (changes may have been saved); connection errors;
    /// [`Error::Timeout`] when a transaction of the sandbox kept the
    /// connection (it is rolled back when that transaction ends).
    pub(crate) async fn rollback(&self, hooks: &Arc<Hooks>) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        let mut guard = tokio::time::timeout(self.wait, self.conn.clone().lock_owned())
            .await
            .map_err(|_| Error::Timeout {
                what: "a transaction or stream of the sandbox to end",
                after: self.wait,
            })?;
        self.end(&mut guard, hooks).await
    }

    /// Rolls back the sandbox's transaction on `guard`'s connection and
    /// gives the connection back to the pool.
    async fn end(&self, guard: &mut PinnedGuard, hooks: &Arc<Hooks>) -> Result<()> {
        if let Some(mut conn) = guard.take() {
            let intact = !self.escaped.load(Ordering::Relaxed) && conn.still_in(self.txid).await?;
            #[cfg(feature = "postgres")]
            if let PinnedConn::Postgres(c) = &mut conn {
                // Statements prepared in the sandbox end with it (PgBouncer).
                let _ = sqlx::Connection::clear_cached_statements(&mut **c).await;
            }
            let stmt = super::Statement::control("ROLLBACK");
            let rolled = conn.conn_ref(hooks).execute(&stmt).await;
            if !intact {
                return Err(tx_state::escaped(WHAT));
            }
            rolled?;
        }
        Ok(())
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // Not rolled back explicitly: the connection goes back to the pool with
        // a ROLLBACK to run before anyone else uses it.
        if let Ok(mut guard) = self.conn.try_lock() {
            match guard.as_mut() {
                #[cfg(feature = "sqlite")]
                Some(PinnedConn::Sqlite(c)) => c.reset_with("ROLLBACK"),
                #[cfg(feature = "postgres")]
                Some(PinnedConn::Postgres(c)) => c.reset_with("ROLLBACK"),
                None => {}
            }
        }
    }
}
