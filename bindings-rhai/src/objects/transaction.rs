//! [`Tx`]: a transaction as a script sees it (`db.begin()`, or the argument of
//! `db.transaction(|tx| ...)`), with raw SQL, savepoints, `commit` and
//! `rollback`; and [`run_transaction`], the closure form with retries.
//!
//! A transaction the script drops without finishing it (it goes out of scope,
//! the script fails, or a limit stops the script) is rolled back.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::{Backend, Error, Row, Statement, Transaction};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rhai::{Engine, EvalAltResult, ImmutableString};
use tokio::sync::{Mutex, MutexGuard};

use crate::convert::error::to_rhai;
use crate::objects::raw_sql::Executor;
use crate::runtime::blocker::Blocker;
use crate::runtime::tracker::RollBack;

type Res<T> = Result<T, Box<EvalAltResult>>;
pub(crate) type Slot = Arc<Mutex<Option<Transaction>>>;

struct Inner {
    slot: Slot,
    blocker: Blocker,
    backend: Backend,
}

impl Inner {
    /// Rolls back if still open; whether it was. A row stream still running
    /// over the transaction holds the lock: the transaction then goes when the
    /// stream does (in the runtime, rolled back).
    fn roll_back(&self) -> bool {
        let Ok(mut guard) = self.slot.try_lock() else {
            return false;
        };
        let Some(tx) = guard.take() else {
            return false;
        };
        drop(guard);
        if self.blocker.can_block() {
            // Roll back now, so that locks are released before the host goes on.
            let _ = self.blocker.block_on(tx.rollback());
        } else {
            self.blocker.drop_in_runtime(tx);
        }
        true
    }
}

impl RollBack for Inner {
    fn roll_back(&self) -> bool {
        Inner::roll_back(self)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.roll_back();
    }
}

/// A transaction as a script sees it (Rhai type name `Transaction`). Clones
/// share it.
#[derive(Clone)]
pub struct Tx {
    inner: Arc<Inner>,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

fn finished() -> Error {
    Error::InvalidState("the transaction has already finished".into())
}

fn busy() -> Error {
    Error::InvalidState(
        "the transaction is busy: a row stream over it is still open (finish or close it first)"
            .into(),
    )
}

/// The rows of `stmt` run in the transaction in `slot`, read as they are
/// consumed; the stream holds the slot until it ends or is dropped. `busy` and
/// `finished` name the errors when the slot is taken or the transaction is
/// over. Shared by a script's transaction and a migration's `db`.
pub(crate) fn slot_stream(
    slot: &Slot,
    stmt: Statement,
    busy: fn() -> Error,
    finished: fn() -> Error,
) -> Result<BoxStream<'static, Result<Row, Error>>, Error> {
    let guard = slot.clone().try_lock_owned().map_err(|_| busy())?;
    if guard.is_none() {
        return Err(finished());
    }
    Ok(async_stream::try_stream! {
        let mut guard = guard;
        if let Some(tx) = guard.as_mut() {
            let mut rows = tx.fetch_statement(stmt);
            while let Some(row) = rows.next().await {
                yield row?;
            }
        }
    }
    .boxed())
}

impl Tx {
    pub(crate) fn new(tx: Transaction, blocker: Blocker) -> Self {
        let inner = Arc::new(Inner {
            backend: tx.backend(),
            slot: Arc::new(Mutex::new(Some(tx))),
            blocker,
        });
        inner.blocker.tracker().record(&inner);
        Self { inner }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Option<Transaction>>, Error> {
        self.inner.slot.try_lock().map_err(|_| busy())
    }

    /// Runs `f` on the open transaction, blocking until its future completes.
    fn with<T>(
        &self,
        f: impl AsyncFnOnce(&mut Transaction) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut guard = self.lock()?;
        let tx = guard.as_mut().ok_or_else(finished)?;
        self.inner.blocker.block_on(f(tx))?
    }

    /// Commits (`commit == true`) or rolls back; an error if already finished.
    fn finish(&self, commit: bool) -> Result<(), Error> {
        let tx = self.lock()?.take().ok_or_else(finished)?;
        let blocker = &self.inner.blocker;
        if commit {
            blocker.block_on(tx.commit())?
        } else {
            blocker.block_on(tx.rollback())?
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.slot.try_lock().map_or(true, |g| g.is_some())
    }
}

impl Executor for Tx {
    fn blocker(&self) -> &Blocker {
        &self.inner.blocker
    }

    fn execute(&self, stmt: Statement) -> Result<u64, Error> {
        self.with(async move |tx| tx.execute_statement(&stmt).await)
    }

    fn execute_script(&self, sql: &str) -> Result<u64, Error> {
        self.with(async move |tx| tx.execute_script(sql).await)
    }

    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error> {
        self.with(async move |tx| tx.fetch_all_statement(stmt).await)
    }

    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error> {
        self.with(async move |tx| tx.fetch_statement(stmt).next().await.transpose())
    }

    fn describe_columns(&self, sql: &str) -> Result<Vec<String>, Error> {
        self.with(async move |tx| tx.describe_columns(sql).await)
    }

    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error> {
        slot_stream(&self.inner.slot, stmt, busy, finished)
    }
}

fn savepoint_fn(
    f: fn(&mut Transaction, String) -> futures_util::future::BoxFuture<'_, Result<(), Error>>,
) -> impl Fn(&mut Tx, ImmutableString) -> Res<()> + Clone + Send + Sync + 'static {
    move |t: &mut Tx, name: ImmutableString| {
        let name = name.to_string();
        t.with(async move |tx| f(tx, name).await).map_err(to_rhai)
    }
}

/// Registers `Transaction` and its methods.
pub(crate) fn register(engine: &mut Engine) {
    let savepoint = savepoint_fn(|tx, n| Box::pin(async move { tx.savepoint(&n).await }));
    let rollback_to =
        savepoint_fn(|tx, n| Box::pin(async move { tx.rollback_to_savepoint(&n).await }));
    let release = savepoint_fn(|tx, n| Box::pin(async move { tx.release_savepoint(&n).await }));
    engine
        .register_type_with_name::<Tx>("Transaction")
        .register_fn("backend", |t: &mut Tx| t.inner.backend.name().to_string())
        .register_get("is_open", Tx::is_open)
        .register_fn("savepoint", savepoint)
        .register_fn("rollback_to", rollback_to.clone())
        .register_fn("rollback_to_savepoint", rollback_to)
        .register_fn("release", release.clone())
        .register_fn("release_savepoint", release)
        .register_fn("commit", |t: &mut Tx| t.finish(true).map_err(to_rhai))
        .register_fn("rollback", |t: &mut Tx| t.finish(false).map_err(to_rhai))
        .register_fn("to_string", |t: &mut Tx| {
            let state = if t.is_open() { "open" } else { "finished" };
            format!("Transaction({}, {state})", t.inner.backend.name())
        });
    crate::objects::raw_sql::register::<Tx>(engine);
}
