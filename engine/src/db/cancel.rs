//! Stopping a statement on the server when the future running it is dropped.
//!
//! Each pooled connection carries a [`Canceller`], made when it is opened:
//! on PostgreSQL its backend's pid (read once with `pg_backend_pid()`), on
//! SQLite a progress handler that stops the connection's statement once a
//! flag is raised. Every statement run through
//! [`ConnRef`](super::ConnRef) holds a [`Running`] guard while it waits on the
//! server; a guard dropped before the statement ended (its caller's future
//! was dropped: an interrupted script, a [`CancelHandle`](super::CancelHandle),
//! a `select!`) stops the statement:
//! - SQLite: raises the flag, so the statement stops within a thousand
//!   virtual-machine steps with `SQLITE_INTERRUPT` (SQLite rolls back a write
//!   interrupted inside a transaction), even if it had not started yet;
//!   [`Canceller::settle`] waits for it to end (a ping queued behind it on
//!   the connection's worker) before lowering the flag;
//! - PostgreSQL: `pg_cancel_backend(pid)` from a connection of its own, on a
//!   spawned task. Until that cancel has been delivered and the cancelled
//!   statement's answer read off the wire, the connection is *unsettled*: its
//!   next user (a statement, the pool's reset, a `ROLLBACK`) first waits for
//!   [`Canceller::settle`], so that the cancel can never hit a later
//!   statement and the next statement never reads the cancelled one's error.
//!
//! Behind PgBouncer (transaction pooling) the backend changes between
//! transactions, so no pid is kept: a dropped statement there runs to its end
//! before the connection is used again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use sqlx::Connection;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgConnection};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;
use tokio::sync::oneshot;

use super::conn::Hooks;

/// How to stop the statement running on one connection.
pub(crate) struct Canceller {
    target: Target,
    /// The cancel request on its way (PostgreSQL), done when the sender drops.
    pending: Mutex<Option<oneshot::Receiver<()>>>,
    /// Set when a statement was abandoned: its answer is still to be read.
    unsettled: AtomicBool,
}

enum Target {
    /// Nothing can stop a statement (PgBouncer): the next user waits for it.
    Wait,
    #[cfg(feature = "postgres")]
    Postgres {
        pid: i32,
        options: Box<PgConnectOptions>,
    },
    /// Raised to stop the statement (read by the progress handler).
    #[cfg(feature = "sqlite")]
    Sqlite(Arc<AtomicBool>),
}

/// Virtual-machine steps between two looks at the SQLite stop flag.
#[cfg(feature = "sqlite")]
const SQLITE_STEPS: i32 = 1000;

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Wait => "none",
            #[cfg(feature = "postgres")]
            Target::Postgres { .. } => "pg_cancel_backend",
            #[cfg(feature = "sqlite")]
            Target::Sqlite(_) => "progress handler",
        };
        f.debug_struct("Canceller")
            .field("target", &target)
            .field("unsettled", &self.unsettled.load(Ordering::Relaxed))
            .finish()
    }
}

impl Canceller {
    fn new(target: Target) -> Self {
        Self {
            target,
            pending: Mutex::new(None),
            unsettled: AtomicBool::new(false),
        }
    }

    /// A canceller that cannot stop anything (the next user waits instead).
    pub(crate) fn waiting() -> Self {
        Self::new(Target::Wait)
    }

    /// Reads the backend pid of a fresh PostgreSQL connection.
    #[cfg(feature = "postgres")]
    pub(crate) async fn postgres(
        conn: &mut PgConnection,
        options: &PgConnectOptions,
    ) -> Result<Self, sqlx::Error> {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;
        Ok(Self::new(Target::Postgres {
            pid,
            options: Box::new(options.clone()),
        }))
    }

    /// Installs the stop flag's progress handler on a fresh SQLite connection.
    #[cfg(feature = "sqlite")]
    pub(crate) async fn sqlite(
        conn: &mut SqliteConnection,
        _options: &sqlx::sqlite::SqliteConnectOptions,
    ) -> Result<Self, sqlx::Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        conn.lock_handle()
            .await?
            .set_progress_handler(SQLITE_STEPS, move || !flag.load(Ordering::Acquire));
        Ok(Self::new(Target::Sqlite(stop)))
    }

    /// Guards a statement about to run on this connection.
    pub(crate) fn running<'c>(&'c self, hooks: &'c Arc<Hooks>) -> Running<'c> {
        Running {
            canceller: self,
            hooks,
            armed: true,
        }
    }

    /// Whether an abandoned statement's answer is still to be read.
    pub(crate) fn is_unsettled(&self) -> bool {
        self.unsettled.load(Ordering::Acquire)
    }

    /// Stops the statement running on the connection (see the module docs).
    fn fire(&self, hooks: &Arc<Hooks>) {
        match &self.target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(stop) => {
                stop.store(true, Ordering::Release);
                self.unsettled.store(true, Ordering::Release);
            }
            Target::Wait => self.unsettled.store(true, Ordering::Release),
            #[cfg(feature = "postgres")]
            Target::Postgres { pid, options } => {
                self.unsettled.store(true, Ordering::Release);
                let Ok(rt) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!("no tokio runtime to send a cancel request from");
                    return;
                };
                let (done, rx) = oneshot::channel::<()>();
                *self.pending.lock() = Some(rx);
                let (pid, options, hooks) = (*pid, options.clone(), hooks.clone());
                hooks.cancel_sending();
                rt.spawn(async move {
                    if let Err(e) = cancel_backend(&options, pid).await {
                        tracing::warn!(error = %e, "could not send a cancel request");
                    }
                    hooks.cancel_sent();
                    drop(done);
                });
            }
        }
    }

    /// Makes the connection ready for its next statement after one was
    /// abandoned: waits for the cancel request to be delivered, then reads
    /// what the abandoned statement sent (its rows or its "canceled" error).
    ///
    /// # Errors
    /// When the connection failed (it is to be closed).
    pub(crate) async fn settle<C: Connection>(&self, conn: &mut C) -> Result<(), sqlx::Error> {
        if !self.unsettled.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let pending = self.pending.lock().take();
        if let Some(rx) = pending {
            let _ = rx.await;
        }
        // PostgreSQL: a ping reads up to the server's next ReadyForQuery; the
        // first may end in the cancelled statement's error, the next is clean.
        // SQLite: the ping is queued behind the stopped statement.
        let mut result = Ok(());
        for _ in 0..3 {
            match conn.ping().await {
                Ok(()) => break,
                Err(sqlx::Error::Database(_)) => continue,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        #[cfg(feature = "sqlite")]
        if let Target::Sqlite(stop) = &self.target {
            stop.store(false, Ordering::Release);
        }
        result
    }
}

/// Sends `pg_cancel_backend(pid)` from a connection of its own.
#[cfg(feature = "postgres")]
async fn cancel_backend(options: &PgConnectOptions, pid: i32) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect_with(options).await?;
    sqlx::query("SELECT pg_cancel_backend($1)")
        .bind(pid)
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Held while a statement waits on the server; dropped unfinished, it stops
/// the statement (see the module docs).
pub(crate) struct Running<'c> {
    canceller: &'c Canceller,
    hooks: &'c Arc<Hooks>,
    armed: bool,
}

impl Running<'_> {
    /// The statement ended (or its rows were handed over): nothing to stop.
    pub(crate) fn finish(mut self) {
        self.armed = false;
    }

    /// Arms or disarms the guard: a stream is armed while it waits for the
    /// server, disarmed while its consumer holds a row.
    pub(crate) fn set_armed(&mut self, armed: bool) {
        self.armed = armed;
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if self.armed {
            tracing::debug!("statement abandoned while running; cancelling it on the server");
            self.hooks.note_cancelled();
            self.canceller.fire(self.hooks);
        }
    }
}
