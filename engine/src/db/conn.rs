//! One connection of either backend, borrowed for a statement, with the
//! tracing span and statement observers every statement goes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryFutureExt, stream::BoxStream};
use parking_lot::RwLock;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;
use tracing::Instrument;

use super::cancel::Running;
use super::pool::Health;
use super::{CopyIn, Row, Statement};
use crate::error::{Backend, Error, Result};

/// What an observer learns about each statement: never its parameter values.
#[derive(Debug, Clone, Copy)]
pub struct StatementEvent<'a> {
    /// The backend it ran on.
    pub backend: Backend,
    /// Its SQL text.
    pub sql: &'a str,
    /// How long it took (for a stream: until the last row was read).
    pub elapsed: Duration,
    /// Rows returned or affected, when it succeeded.
    pub rows: Option<u64>,
    /// Whether it succeeded.
    pub ok: bool,
    /// Which server of a replicated database ran it (`"primary"`,
    /// `"replica 1"`...); `None` for a database without replicas.
    pub server: Option<&'a str>,
}

/// A callback run after every statement (for logs, statement counts, N+1 hunting).
pub type StatementObserver = Arc<dyn Fn(&StatementEvent<'_>) + Send + Sync>;

/// Identifies an observer so that it can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(u64);

#[derive(Default)]
pub(crate) struct Hooks {
    observers: RwLock<Vec<(ObserverId, StatementObserver)>>,
    next: AtomicU64,
    /// Statements stopped on the server because their future was dropped.
    cancelled: AtomicU64,
    /// Transactions begun and not yet ended (committed, rolled back, dropped).
    open_transactions: AtomicU64,
    /// Cancel requests sent and not yet delivered (PostgreSQL).
    cancels_in_flight: AtomicU64,
    cancel_delivered: tokio::sync::Notify,
}

/// Counts one open transaction of a database for as long as it lives.
pub(crate) struct OpenTransaction(Arc<Hooks>);

impl OpenTransaction {
    pub(crate) fn new(hooks: &Arc<Hooks>) -> Self {
        hooks.open_transactions.fetch_add(1, Ordering::AcqRel);
        Self(hooks.clone())
    }
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        self.0.open_transactions.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hooks {
    pub(crate) fn add(&self, f: StatementObserver) -> ObserverId {
        let id = ObserverId(self.next.fetch_add(1, Ordering::Relaxed));
        self.observers.write().push((id, f));
        id
    }

    /// Counts a statement stopped on the server (see [`super::cancel`]).
    pub(crate) fn note_cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
    }

    /// A cancel request is on its way; [`Hooks::cancel_sent`] when done.
    pub(crate) fn cancel_sending(&self) {
        self.cancels_in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// A cancel request was delivered (or failed).
    pub(crate) fn cancel_sent(&self) {
        self.cancels_in_flight.fetch_sub(1, Ordering::AcqRel);
        self.cancel_delivered.notify_waiters();
    }

    /// Waits (at most `bound`) until every cancel request sent has been
    /// delivered: before a pool closes, or a process exits, so that the
    /// statements it cancelled do stop on the server.
    pub(crate) async fn cancels_delivered(&self, bound: Duration) {
        let wait = async {
            loop {
                let delivered = self.cancel_delivered.notified();
                tokio::pin!(delivered);
                delivered.as_mut().enable();
                if self.cancels_in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                delivered.await;
            }
        };
        let _ = tokio::time::timeout(bound, wait).await;
    }

    /// How many transactions are open now.
    pub(crate) fn open_transactions(&self) -> u64 {
        self.open_transactions.load(Ordering::Acquire)
    }

    /// How many statements were stopped on the server so far.
    pub(crate) fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }

    pub(crate) fn remove(&self, id: ObserverId) -> bool {
        let mut obs = self.observers.write();
        let before = obs.len();
        obs.retain(|(i, _)| *i != id);
        obs.len() != before
    }

    pub(crate) fn notify(
        &self,
        backend: Backend,
        sql: &str,
        elapsed: Duration,
        rows: Option<u64>,
        ok: bool,
        server: Option<&str>,
    ) {
        tracing::debug!(
            db.system = backend.name(),
            db.server = server,
            db.statement = sql,
            elapsed_us = elapsed.as_micros() as u64,
            rows,
            ok,
            "statement"
        );
        // Clone the list out so an observer may add or remove observers.
        let observers: Vec<StatementObserver> = {
            let guard = self.observers.read();
            if guard.is_empty() {
                return;
            }
            guard.iter().map(|(_, f)| f.clone()).collect()
        };
        let event = StatementEvent {
            backend,
            sql,
            elapsed,
            rows,
            ok,
            server,
        };
        for f in observers {
            f(&event);
        }
    }
}

fn span(backend: Backend, sql: &str) -> tracing::Span {
    tracing::debug_span!(
        "dbridge.statement",
        db.system = backend.name(),
        db.statement = sql,
        db.rows = tracing::field::Empty,
    )
}

/// A borrowed connection, the hooks of its database, and its health record
/// (every statement's result is noted there, see [`Health`]).
pub(crate) enum ConnRef<'c> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'c mut SqliteConnection, &'c Arc<Hooks>, &'c Health),
    #[cfg(feature = "postgres")]
    Postgres(&'c mut PgConnection, &'c Arc<Hooks>, &'c Health),
}

impl<'c> ConnRef<'c> {
    fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(..) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Self::Postgres(..) => Backend::Postgres,
        }
    }

    /// Runs one statement (more than one in its text is refused, see
    /// [`sql_text::single`](super::sql_text::single)); the rows affected.
    pub(crate) async fn execute(self, stmt: &Statement) -> Result<u64> {
        let backend = self.backend();
        // dbridge's own control statements may pair BEGIN with DEALLOCATE ALL
        // (PgBouncer mode); everything else is one statement.
        if !stmt.control {
            super::sql_text::single(&stmt.sql, backend)?;
        }
        let span = span(backend, &stmt.sql);
        let started = Instant::now();
        let (result, hooks, health) = match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c, h, health) => {
                let r = match settle(c, health).await {
                    Ok(()) => {
                        let running = health.canceller().running(h);
                        let r = super::sqlite::execute(c, stmt)
                            .instrument(span.clone())
                            .await;
                        running.finish();
                        r
                    }
                    Err(e) => Err(e),
                };
                (r, h, health)
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(c, h, health) => {
                let r = match settle(c, health).await {
                    Ok(()) => {
                        let running = health.canceller().running(h);
                        let r = super::postgres::execute(c, stmt)
                            .instrument(span.clone())
                            .await;
                        running.finish();
                        r
                    }
                    Err(e) => Err(e),
                };
                (r, h, health)
            }
        };
        health.note(&result);
        if let Ok(n) = &result {
            span.record("db.rows", n);
        }
        let _enter = span.enter();
        hooks.notify(
            backend,
            &stmt.sql,
            started.elapsed(),
            result.as_ref().ok().copied(),
            result.is_ok(),
            health.label(),
        );
        result
    }

    /// Runs a `COPY ... FROM STDIN` (PostgreSQL) in the statement span, reported
    /// to the observers as its COPY text; `None` (nothing run, nothing reported)
    /// when the table's column types rule binary COPY out.
    pub(crate) async fn copy_in(self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        let backend = self.backend();
        #[cfg(not(feature = "postgres"))]
        let _ = copy;
        #[cfg(feature = "postgres")]
        if let Self::Postgres(c, hooks, health) = self {
            return Self::pg_copy_in(c, hooks, health, copy).await;
        }
        Err(Error::Unsupported {
            backend,
            feature: "COPY FROM STDIN".into(),
        })
    }

    /// [`ConnRef::copy_in`] on a PostgreSQL connection.
    #[cfg(feature = "postgres")]
    async fn pg_copy_in(
        c: &mut PgConnection,
        hooks: &Arc<Hooks>,
        health: &Health,
        copy: &CopyIn<'_>,
    ) -> Result<Option<u64>> {
        let backend = Backend::Postgres;
        let span = span(backend, &copy.sql);
        let started = Instant::now();
        let result = match settle(c, health).await {
            Ok(()) => {
                let running = health.canceller().running(hooks);
                let r = super::postgres::copy::copy_in(c, copy)
                    .instrument(span.clone())
                    .await;
                running.finish();
                r
            }
            Err(e) => Err(e),
        };
        health.note(&result);
        if let Ok(None) = result {
            return result;
        }
        if let Ok(Some(n)) = &result {
            span.record("db.rows", n);
        }
        let _enter = span.enter();
        hooks.notify(
            backend,
            &copy.sql,
            started.elapsed(),
            result.as_ref().ok().copied().flatten(),
            result.is_ok(),
            health.label(),
        );
        result
    }

    /// The result column names of one statement, without running it.
    pub(crate) async fn describe(self, stmt: &Statement) -> Result<Vec<String>> {
        super::sql_text::single(&stmt.sql, self.backend())?;
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(c, _, health) => match settle(c, health).await {
                Ok(()) => super::sqlite::describe(c, stmt).await,
                Err(e) => Err(e),
            },
            #[cfg(feature = "postgres")]
            Self::Postgres(c, _, health) => match settle(c, health).await {
                Ok(()) => super::postgres::describe(c, stmt).await,
                Err(e) => Err(e),
            },
        }
    }

    /// Runs one query (as [`ConnRef::execute`]) and yields its rows.
    pub(crate) fn fetch(self, stmt: Statement) -> BoxStream<'c, Result<Row>> {
        let backend = self.backend();
        if let Err(e) = super::sql_text::single(&stmt.sql, backend) {
            return futures_util::stream::once(async move { Err(e) }).boxed();
        }
        let sql = stmt.sql.clone();
        let span = span(backend, &sql);
        let (rows, hooks, health): (BoxStream<'c, Result<Row>>, &'c Arc<Hooks>, &'c Health) =
            match self {
                #[cfg(feature = "sqlite")]
                Self::Sqlite(c, h, health) => (
                    settled(c, health, |c| super::sqlite::fetch(c, stmt).boxed()),
                    h,
                    health,
                ),
                #[cfg(feature = "postgres")]
                Self::Postgres(c, h, health) => (
                    settled(c, health, |c| super::postgres::fetch(c, stmt).boxed()),
                    h,
                    health,
                ),
            };
        let mut running = health.canceller().running(hooks);
        running.set_armed(false);
        Observed {
            rows,
            running: Some(running),
            span,
            hooks: hooks.clone(),
            health,
            sql,
            backend,
            started: None,
            count: 0,
            ok: true,
            done: false,
        }
        .boxed()
    }
}

/// Settles the connection (see [`Canceller::settle`](super::cancel::Canceller::settle))
/// before its next statement; a failure there is a connection failure.
async fn settle<C: sqlx::Connection>(c: &mut C, health: &Health) -> Result<()> {
    let r = health
        .canceller()
        .settle(c)
        .await
        .map_err(|e| Error::Connection(format!("after a cancelled statement: {e}")));
    health.note(&r);
    r
}

/// The rows of `run`, once the connection is settled.
fn settled<'c, C: sqlx::Connection>(
    c: &'c mut C,
    health: &'c Health,
    run: impl FnOnce(&'c mut C) -> BoxStream<'c, Result<Row>> + Send + 'c,
) -> BoxStream<'c, Result<Row>> {
    if !health.canceller().is_unsettled() {
        return run(c);
    }
    async move {
        settle(&mut *c, health).await?;
        Ok::<_, Error>(run(c))
    }
    .try_flatten_stream()
    .boxed()
}

/// A statement's rows, each polled inside the statement's span and counted;
/// at the end the span records the count and the observers hear of it. (A
/// plain stream rather than a generator: it sits on the path of every row.)
struct Observed<'c> {
    rows: BoxStream<'c, Result<Row>>,
    /// Armed while the rows are awaited from the server: a stream dropped
    /// then stops its statement (see [`super::cancel`]).
    running: Option<Running<'c>>,
    span: tracing::Span,
    hooks: Arc<Hooks>,
    health: &'c Health,
    sql: Arc<str>,
    backend: Backend,
    /// When the rows were first asked for.
    started: Option<Instant>,
    count: u64,
    ok: bool,
    done: bool,
}

impl Observed<'_> {
    fn finish(&mut self) {
        self.done = true;
        if let Some(r) = self.running.take() {
            r.finish();
        }
        self.span.record("db.rows", self.count);
        let _enter = self.span.enter();
        let elapsed = self.started.map(|t| t.elapsed()).unwrap_or_default();
        let ok = self.ok;
        self.hooks.notify(
            self.backend,
            &self.sql,
            elapsed,
            ok.then_some(self.count),
            ok,
            self.health.label(),
        );
    }
}

impl Drop for Observed<'_> {
    /// A stream dropped before its end (`fetch_one` takes one row) still ran
    /// its statement: the observers hear of it with the rows read so far.
    fn drop(&mut self) {
        // Dropped while waiting on the server: the statement is stopped there.
        drop(self.running.take());
        if !self.done && self.started.is_some() {
            self.finish();
        }
    }
}

impl futures_util::Stream for Observed<'_> {
    type Item = Result<Row>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.started.get_or_insert_with(Instant::now);
        // Entered only when a subscriber records it: entering a disabled span
        // still goes through `log`'s compatibility path, per row.
        let polled = if this.span.is_disabled() {
            this.rows.poll_next_unpin(cx)
        } else {
            let _enter = this.span.enter();
            this.rows.poll_next_unpin(cx)
        };
        if let Some(r) = &mut this.running {
            r.set_armed(polled.is_pending());
        }
        match polled {
            Poll::Ready(Some(row)) => {
                match &row {
                    Ok(_) => this.count += 1,
                    Err(_) => {
                        this.ok = false;
                        this.health.note(&row);
                    }
                }
                Poll::Ready(Some(row))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
