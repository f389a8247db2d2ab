//! The connection pool.
//!
//! dbridge keeps its own small pool rather than sqlx's, whose connections are
//! pinged every time they are returned: one more round trip per statement run
//! outside a transaction, the largest cost left on a point query. Here a
//! connection goes back to the idle list as it is; one whose transaction was
//! dropped uncommitted carries the statements that reset it (`ROLLBACK`...),
//! run when it is next handed out; one that failed at the connection level is
//! closed instead of returned.
//!
//! A server restart or `pg_terminate_backend` leaves every idle connection
//! dead. So that such a fault costs at most the statement that met it:
//! - a statement that fails at the connection level (an I/O error, EOF, or a
//!   server-termination error such as 57P01) marks its connection faulted
//!   ([`Health`]); it is closed, never returned, and every connection opened
//!   before it (idle or checked out) is retired too, as SQLAlchemy's pool
//!   invalidation does: they share the server that went away;
//! - a connection idle for longer than [`Limits::ping_idle_after`] is pinged
//!   before it is handed out (HikariCP's rule), so the first statement after a
//!   restart finds a live connection without a round trip on busy ones.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions as _, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cancel::Canceller;
use crate::error::{ErrorKind, Result};

/// Limits and timeouts of a pool.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max: u32,
    pub min: u32,
    pub acquire_timeout: Duration,
    pub idle_timeout: Option<Duration>,
    pub max_lifetime: Option<Duration>,
    pub test_before_acquire: bool,
    /// Ping a connection idle for longer than this before handing it out.
    pub ping_idle_after: Option<Duration>,
    /// Which server of a replicated database this pool serves ("primary",
    /// "replica 1"...), reported to statement observers; `None` alone.
    pub label: Option<Arc<str>>,
    /// Whether a statement abandoned mid-way is stopped on the server (not
    /// behind PgBouncer: see [`super::cancel`]).
    pub cancel: bool,
}

impl Limits {
    /// These limits with a server label.
    pub(crate) fn labelled(self, label: impl Into<Arc<str>>) -> Self {
        Self {
            label: Some(label.into()),
            ..self
        }
    }
}

struct Idle<C> {
    conn: C,
    canceller: Arc<Canceller>,
    created: Instant,
    generation: u64,
    idle_since: Instant,
    reset: Vec<Reset>,
}

/// A pool of connections of one backend.
pub(crate) struct ConnPool<C: PoolConn> {
    options: <C as Connection>::Options,
    limits: Limits,
    idle: Mutex<VecDeque<Idle<C>>>,
    permits: Arc<Semaphore>,
    closed: AtomicBool,
    /// Bumped when a connection fails: connections of an older generation are
    /// retired instead of reused.
    generation: Arc<AtomicU64>,
}

/// A connection checked out of a [`ConnPool`]; returns itself when dropped.
pub(crate) struct Pooled<C: PoolConn> {
    conn: Option<C>,
    created: Instant,
    reset: Vec<Reset>,
    broken: bool,
    /// Whether it came from the idle list (it may have died while idle).
    reused: bool,
    health: Health,
    pool: Arc<ConnPool<C>>,
    permit: Option<OwnedSemaphorePermit>,
}

/// What a returned connection runs before its next user gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reset {
    /// A statement (no parameters, no rows), e.g. `ROLLBACK`.
    Sql(&'static str),
    /// Forget (and close) the statements it prepared: behind PgBouncer they
    /// belonged to a transaction that ended.
    ForgetStatements,
}

/// A connection the pool can reset: the two backends' connections.
pub(crate) trait PoolConn: Connection + Send + 'static {
    /// Runs a reset.
    fn run_reset(&mut self, reset: Reset) -> BoxFuture<'_, std::result::Result<(), sqlx::Error>>;

    /// What stops a statement on this fresh connection (see [`super::cancel`]).
    fn canceller<'a>(
        &'a mut self,
        options: &'a <Self as Connection>::Options,
    ) -> BoxFuture<'a, std::result::Result<Canceller, sqlx::Error>>;
}

/// Runs `reset` on either backend's connection; `$canceller` makes its
/// [`Canceller`].
macro_rules! run_reset {
    ($conn:ty, $canceller:expr) => {
        impl PoolConn for $conn {
            fn canceller<'a>(
                &'a mut self,
                options: &'a <Self as Connection>::Options,
            ) -> BoxFuture<'a, std::result::Result<Canceller, sqlx::Error>> {
                Box::pin($canceller(self, options))
            }

            fn run_reset(
                &mut self,
                reset: Reset,
            ) -> BoxFuture<'_, std::result::Result<(), sqlx::Error>> {
                Box::pin(async move {
                    match reset {
                        // A database error leaves the connection usable (SQLite's
                        // ROLLBACK after SQLite already rolled back: "no
                        // transaction is active"); only a broken one is closed.
                        Reset::Sql(sql) => match sqlx::Executor::execute(self, sql).await {
                            Ok(_) | Err(sqlx::Error::Database(_)) => Ok(()),
                            Err(e) => Err(e),
                        },
                        Reset::ForgetStatements => self.clear_cached_statements().await,
                    }
                })
            }
        }
    };
}

#[cfg(feature = "postgres")]
run_reset!(PgConnection, Canceller::postgres);
#[cfg(feature = "sqlite")]
run_reset!(SqliteConnection, Canceller::sqlite);

/// Whether a checked-out connection has failed at the connection level.
///
/// Every statement run through a pooled connection reports its result here
/// (see [`ConnRef`](super::conn::ConnRef)), so that transactions, streams and
/// sandboxes retire a dead connection the same way single statements do.
#[derive(Debug)]
pub(crate) struct Health {
    faulted: AtomicBool,
    /// Stops the connection's running statement (it moves with the connection).
    canceller: Arc<Canceller>,
    label: Option<Arc<str>>,
    /// The pool generation the connection was opened in.
    generation: u64,
    pool_generation: Arc<AtomicU64>,
}

impl Health {
    fn new(
        generation: u64,
        pool_generation: Arc<AtomicU64>,
        label: Option<Arc<str>>,
        canceller: Arc<Canceller>,
    ) -> Self {
        Self {
            faulted: AtomicBool::new(false),
            canceller,
            label,
            generation,
            pool_generation,
        }
    }

    /// Records `result`: a connection-level error faults the connection and
    /// retires every connection of its generation.
    pub(crate) fn note<T>(&self, result: &Result<T>) {
        if let Err(e) = result
            && e.kind() == ErrorKind::Connection
        {
            self.fault();
        }
    }

    fn fault(&self) {
        if !self.faulted.swap(true, Ordering::AcqRel) {
            tracing::debug!("connection failed; retiring the connections opened before it");
            self.pool_generation
                .fetch_max(self.generation + 1, Ordering::AcqRel);
        }
    }

    /// What stops the statement running on the connection.
    pub(crate) fn canceller(&self) -> &Canceller {
        &self.canceller
    }

    /// The server label of the connection's pool ([`Limits::label`]).
    pub(crate) fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Whether a statement on this connection failed at the connection level.
    pub(crate) fn is_faulted(&self) -> bool {
        self.faulted.load(Ordering::Acquire)
    }
}

impl<C: PoolConn> ConnPool<C> {
    pub(crate) fn new(options: <C as Connection>::Options, limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            options,
            permits: Arc::new(Semaphore::new(limits.max.max(1) as usize)),
            limits,
            idle: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    fn current_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Opens `limits.min` connections (at least one, so that connecting fails
    /// early on a bad URL or an unreachable server).
    pub(crate) async fn warm_up(self: &Arc<Self>) -> std::result::Result<(), sqlx::Error> {
        let mut opened = Vec::new();
        for _ in 0..self.limits.min.max(1) {
            opened.push(self.open().await?);
        }
        let now = Instant::now();
        let generation = self.current_generation();
        let mut idle = self.idle.lock();
        for (conn, canceller) in opened {
            idle.push_back(Idle {
                conn,
                canceller,
                created: now,
                generation,
                idle_since: now,
                reset: Vec::new(),
            });
        }
        Ok(())
    }

    /// Opens a connection with its canceller.
    async fn open(&self) -> std::result::Result<(C, Arc<Canceller>), sqlx::Error> {
        let mut conn = self.options.connect().await?;
        let canceller = if self.limits.cancel {
            conn.canceller(&self.options).await?
        } else {
            Canceller::waiting()
        };
        Ok((conn, Arc::new(canceller)))
    }

    fn expired(&self, idle: &Idle<C>, now: Instant, idle_count: usize) -> bool {
        let too_old = self
            .limits
            .max_lifetime
            .is_some_and(|l| now - idle.created > l);
        let too_idle = self
            .limits
            .idle_timeout
            .is_some_and(|t| now - idle.idle_since > t)
            && idle_count > self.limits.min as usize;
        too_old || too_idle || idle.generation < self.current_generation()
    }

    /// The most recently used idle connection that is still fresh.
    fn take_idle(&self) -> Option<Idle<C>> {
        let now = Instant::now();
        let mut idle = self.idle.lock();
        while let Some(candidate) = idle.pop_back() {
            if !self.expired(&candidate, now, idle.len() + 1) {
                return Some(candidate);
            }
            // Dropping a sqlx connection closes its socket.
        }
        None
    }

    /// A connection, waiting at most the acquire timeout.
    pub(crate) async fn acquire(self: &Arc<Self>) -> std::result::Result<Pooled<C>, sqlx::Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let deadline = Instant::now() + self.limits.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline.into(), self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        while let Some(mut idle) = self.take_idle() {
            match self.prepare(&mut idle).await {
                Ok(()) => {
                    return Ok(self.checked_out(
                        (idle.conn, idle.canceller),
                        idle.created,
                        idle.generation,
                        true,
                        permit,
                    ));
                }
                // A connection that cannot be reset or pinged is dead, and so,
                // most likely, are the others of its generation.
                Err(_) => {
                    self.generation
                        .fetch_max(idle.generation + 1, Ordering::AcqRel);
                    continue;
                }
            }
        }
        let generation = self.current_generation();
        let conn = tokio::time::timeout_at(deadline.into(), self.open())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        Ok(self.checked_out(conn, Instant::now(), generation, false, permit))
    }

    fn checked_out(
        self: &Arc<Self>,
        (conn, canceller): (C, Arc<Canceller>),
        created: Instant,
        generation: u64,
        reused: bool,
        permit: OwnedSemaphorePermit,
    ) -> Pooled<C> {
        Pooled {
            conn: Some(conn),
            created,
            reset: Vec::new(),
            broken: false,
            reused,
            health: Health::new(
                generation,
                self.generation.clone(),
                self.limits.label.clone(),
                canceller,
            ),
            pool: self.clone(),
            permit: Some(permit),
        }
    }

    /// Runs a returned connection's pending reset statements (and the ping,
    /// when asked for or when it has been idle a while) before handing it out
    /// again.
    async fn prepare(&self, idle: &mut Idle<C>) -> std::result::Result<(), sqlx::Error> {
        idle.canceller.settle(&mut idle.conn).await?;
        for r in std::mem::take(&mut idle.reset) {
            idle.conn.run_reset(r).await?;
        }
        let idle_long = self
            .limits
            .ping_idle_after
            .is_some_and(|after| idle.idle_since.elapsed() > after);
        if self.limits.test_before_acquire || idle_long {
            idle.conn.ping().await?;
        }
        Ok(())
    }

    /// Closes the idle connections; later acquires fail.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        let idle: Vec<Idle<C>> = self.idle.lock().drain(..).collect();
        for i in idle {
            let _ = i.conn.close().await;
        }
    }

    /// Whether a connection of `generation` is to be retired rather than reused.
    fn retired(&self, generation: u64) -> bool {
        self.closed.load(Ordering::Acquire) || generation < self.current_generation()
    }
}

impl<C: PoolConn> Pooled<C> {
    /// Statements to run on this connection before its next user gets it
    /// (e.g. `ROLLBACK` for a transaction dropped uncommitted).
    pub(crate) fn reset_with(&mut self, sql: &'static str) {
        self.reset.push(Reset::Sql(sql));
    }

    /// As [`Pooled::reset_with`]: forget the statements it prepared.
    pub(crate) fn reset_forgetting_statements(&mut self) {
        self.reset.push(Reset::ForgetStatements);
    }

    /// As [`Pooled::reset_with`], run before the statements already queued.
    pub(crate) fn reset_with_first(&mut self, sql: &'static str) {
        self.reset.insert(0, Reset::Sql(sql));
    }

    /// Sets whether this connection is closed instead of returned; the previous
    /// setting. Set around work that a dropped future would leave half done.
    pub(crate) fn replace_broken(&mut self, broken: bool) -> bool {
        std::mem::replace(&mut self.broken, broken)
    }

    /// Whether this connection will be closed instead of returned.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken || self.health.is_faulted()
    }

    /// Whether it came from the idle list rather than being opened for this
    /// checkout: a connection-level failure on it may only mean it died idle.
    pub(crate) fn is_reused(&self) -> bool {
        self.reused
    }

    /// Marks the connection faulted when `result` says the connection failed.
    pub(crate) fn check<T>(&mut self, result: Result<T>) -> Result<T> {
        self.health.note(&result);
        result
    }

    /// The connection and its health record, borrowed together.
    pub(crate) fn parts(&mut self) -> (&mut C, &Health) {
        match &mut self.conn {
            Some(c) => (c, &self.health),
            None => unreachable!("a pooled connection is present until it is dropped"),
        }
    }
}

impl<C: PoolConn> Deref for Pooled<C> {
    type Target = C;

    fn deref(&self) -> &C {
        // Only `Drop` takes the connection out.
        match &self.conn {
            Some(c) => c,
            None => unreachable!("a pooled connection is present until it is dropped"),
        }
    }
}

impl<C: PoolConn> DerefMut for Pooled<C> {
    fn deref_mut(&mut self) -> &mut C {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("a pooled connection is present until it is dropped"),
        }
    }
}

impl<C: PoolConn> Drop for Pooled<C> {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let generation = self.health.generation;
        if self.is_broken() || self.pool.retired(generation) {
            return;
        }
        let reset = std::mem::take(&mut self.reset);
        let created = self.created;
        let canceller = self.health.canceller.clone();
        if reset.is_empty() && !canceller.is_unsettled() {
            self.pool.idle.lock().push_back(Idle {
                conn,
                canceller,
                created,
                generation,
                idle_since: Instant::now(),
                reset,
            });
            return;
        }
        // A transaction left open holds its locks: roll it back now, while this
        // connection's permit is still held, then return it. Without a runtime
        // the reset waits for the connection's next use.
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let pool = self.pool.clone();
                let permit = self.permit.take();
                handle.spawn(async move {
                    // A statement cancelled on it is answered first.
                    if canceller.settle(&mut conn).await.is_err() {
                        return;
                    }
                    for r in reset {
                        if conn.run_reset(r).await.is_err() {
                            return;
                        }
                    }
                    if !pool.retired(generation) {
                        pool.idle.lock().push_back(Idle {
                            conn,
                            canceller,
                            created,
                            generation,
                            idle_since: Instant::now(),
                            reset: Vec::new(),
                        });
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                self.pool.idle.lock().push_back(Idle {
                    conn,
                    canceller,
                    created,
                    generation,
                    idle_since: Instant::now(),
                    reset,
                });
            }
        }
    }
}

impl<C: PoolConn> std::fmt::Debug for Pooled<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("broken", &self.is_broken())
            .field("reused", &self.reused)
            .finish_non_exhaustive()
    }
}
