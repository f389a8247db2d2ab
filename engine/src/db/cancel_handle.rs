//! [`CancelHandle`]: lets a host stop a running call from elsewhere (a Ctrl-C
//! handler, a UI button, a request that went away).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::error::{Error, Result};

/// Cancels the calls run under it ([`CancelHandle::run`]).
///
/// Cancelling drops the call's future: the statement it was waiting on is
/// stopped on the server (PostgreSQL: `pg_cancel_backend` of the
/// connection's backend; SQLite: `sqlite3_interrupt`), transactions it had
/// begun are rolled back as for any dropped transaction, and the connection
/// is ready for the next statement as soon as the server has answered the
/// cancel. Dropping any future that runs a statement does the same: the
/// handle is the way to do it from another task or thread.
///
/// Clones share the handle. A cancel reaches the calls running at that
/// moment, not later ones.
///
/// # Examples
///
/// ```
/// # async fn demo() -> dbridge_engine::Result<()> {
/// use dbridge_engine::{CancelHandle, Database, ErrorKind};
/// let db = Database::connect("sqlite::memory:").await?;
/// let handle = CancelHandle::new();
/// let stop = handle.clone();
/// tokio::spawn(async move {
///     tokio::time::sleep(std::time::Duration::from_millis(50)).await;
///     stop.cancel(); // e.g. from a Ctrl-C handler
/// });
/// let endless = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) \
///                SELECT count(*) FROM c";
/// let err = handle.run(db.fetch_all(endless, &[])).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Cancelled);
/// assert_eq!(db.fetch_all("SELECT 1", &[]).await?.len(), 1); // usable at once
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    notify: Notify,
    /// Bumped by every cancel.
    cancels: AtomicU64,
}

impl CancelHandle {
    /// A handle with no call running under it yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every call running under this handle now.
    pub fn cancel(&self) {
        self.inner.cancels.fetch_add(1, Ordering::AcqRel);
        self.inner.notify.notify_waiters();
    }

    /// How many times [`CancelHandle::cancel`] was called.
    pub fn cancel_count(&self) -> u64 {
        self.inner.cancels.load(Ordering::Acquire)
    }

    /// Runs `call` until it ends or [`CancelHandle::cancel`] is called; then
    /// drops it (stopping its statement on the server, see the type's docs).
    ///
    /// # Errors
    /// [`Error::Cancelled`] when it was cancelled.
    pub async fn run<F: Future>(&self, call: F) -> Result<F::Output> {
        let cancelled = self.inner.notify.notified();
        tokio::pin!(cancelled);
        // Registered before the call starts, so that no cancel is missed.
        cancelled.as_mut().enable();
        tokio::select! {
            biased;
            () = cancelled => Err(Error::Cancelled),
            out = call => Ok(out),
        }
    }
}
