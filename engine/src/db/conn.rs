//! One connection of either backend, borrowed for a statement, with the
//! tracing span and statement observers every statement goes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream::BoxStream};
use parking_lot::RwLock;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;
use tracing::Instrument;

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
}

impl Hooks {
    pub(crate) fn add(&self, f: StatementObserver) -> ObserverId {
        let id = ObserverId(self.next.fetch_add(1, Ordering::Relaxed));
        self.observers.write().push((id, f));
        id
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
    ) {
        tracing::debug!(
            db.system = backend.name(),
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

/// A borrowed connection and the hooks of its database.
pub(crate) enum ConnRef<'c> {
    Sqlite(&'c mut SqliteConnection, &'c Arc<Hooks>),
    Postgres(&'c mut PgConnection, &'c Arc<Hooks>),
}

impl<'c> ConnRef<'c> {
    fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(..) => Backend::Sqlite,
            Self::Postgres(..) => Backend::Postgres,
        }
    }

    pub(crate) async fn execute(self, stmt: &Statement) -> Result<u64> {
        let backend = self.backend();
        let span = span(backend, &stmt.sql);
        let started = Instant::now();
        let (result, hooks) = match self {
            Self::Sqlite(c, h) => (
                super::sqlite::execute(c, stmt)
                    .instrument(span.clone())
                    .await,
                h,
            ),
            Self::Postgres(c, h) => (
                super::postgres::execute(c, stmt)
                    .instrument(span.clone())
                    .await,
                h,
            ),
        };
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
        );
        result
    }

    /// Runs a `COPY ... FROM STDIN` (PostgreSQL) in the statement span, reported
    /// to the observers as its COPY text; `None` (nothing run, nothing reported)
    /// when the table's column types rule binary COPY out.
    pub(crate) async fn copy_in(self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        let backend = self.backend();
        let Self::Postgres(c, hooks) = self else {
            return Err(Error::Unsupported {
                backend,
                feature: "COPY FROM STDIN".into(),
            });
        };
        let span = span(backend, &copy.sql);
        let started = Instant::now();
        let result = super::postgres::copy::copy_in(c, copy)
            .instrument(span.clone())
            .await;
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
        );
        result
    }

    pub(crate) fn fetch(self, stmt: Statement) -> BoxStream<'c, Result<Row>> {
        let backend = self.backend();
        let sql = stmt.sql.clone();
        let span = span(backend, &sql);
        let (rows, hooks): (BoxStream<'c, Result<Row>>, &'c Arc<Hooks>) = match self {
            Self::Sqlite(c, h) => (super::sqlite::fetch(c, stmt).boxed(), h),
            Self::Postgres(c, h) => (super::postgres::fetch(c, stmt).boxed(), h),
        };
        let hooks = hooks.clone();
        async_stream::stream! {
            let started = Instant::now();
            let mut count = 0_u64;
            let mut ok = true;
            let mut rows = rows.instrument_each(span.clone());
            while let Some(row) = rows.next().await {
                match &row {
                    Ok(_) => count += 1,
                    Err(_) => ok = false,
                }
                yield row;
            }
            span.record("db.rows", count);
            let _enter = span.enter();
            hooks.notify(backend, &sql, started.elapsed(), ok.then_some(count), ok);
        }
        .boxed()
    }
}

/// Polls each item of a stream inside a span.
trait InstrumentEach: Sized {
    fn instrument_each(self, span: tracing::Span) -> Instrumented<Self>;
}

impl<S> InstrumentEach for S {
    fn instrument_each(self, span: tracing::Span) -> Instrumented<Self> {
        Instrumented { inner: self, span }
    }
}

pub(crate) struct Instrumented<S> {
    inner: S,
    span: tracing::Span,
}

impl<S: futures_util::Stream + Unpin> futures_util::Stream for Instrumented<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        let _enter = this.span.enter();
        this.inner.poll_next_unpin(cx)
    }
}
