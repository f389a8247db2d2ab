//! [`Transaction`]: a connection in a transaction, with savepoints; rolled back
//! when dropped uncommitted.

use std::fmt;

use futures_util::{StreamExt, TryStreamExt, stream::BoxStream};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;

use super::conn::ConnRef;
use super::{CopyIn, Database, Row, Statement, sql_text, tx_state};
use crate::error::{Backend, Error, Result};
use crate::ident::Ident;
use crate::value::Value;

/// The SQL standard isolation levels.
///
/// PostgreSQL runs each as named (its READ UNCOMMITTED behaves as READ
/// COMMITTED). SQLite has one behaviour, SERIALIZABLE, for all four: a
/// read-write transaction takes the write lock at `BEGIN IMMEDIATE`, so writers
/// queue rather than fail mid-transaction, and readers see a snapshot (WAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// READ UNCOMMITTED
    ReadUncommitted,
    /// READ COMMITTED (PostgreSQL's default)
    ReadCommitted,
    /// REPEATABLE READ
    RepeatableRead,
    /// SERIALIZABLE
    Serializable,
}

/// How to begin a transaction, and how often [`Database::transaction`] retries it.
///
/// # Examples
///
/// ```
/// use dbridge_engine::{IsolationLevel, TransactionOptions};
/// let opts = TransactionOptions::new()
///     .isolation(IsolationLevel::Serializable)
///     .max_retries(5);
/// assert_eq!(opts.get_max_retries(), 5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    isolation: Option<IsolationLevel>,
    read_only: bool,
    max_retries: u32,
}

impl TransactionOptions {
    /// The server's default isolation, read-write, no retries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The isolation level.
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Whether the transaction may only read. On SQLite this sets
    /// `PRAGMA query_only` for its duration.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// How many times [`Database::transaction`] runs the closure again after a
    /// serialization failure, deadlock or busy database.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The retry budget.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    fn begin_sql_postgres(&self) -> &'static str {
        use IsolationLevel::*;
        match (self.isolation, self.read_only) {
            (None, false) => "BEGIN",
            (None, true) => "BEGIN READ ONLY",
            (Some(ReadUncommitted), false) => "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
            (Some(ReadUncommitted), true) => "BEGIN ISOLATION LEVEL READ UNCOMMITTED READ ONLY",
            (Some(ReadCommitted), false) => "BEGIN ISOLATION LEVEL READ COMMITTED",
            (Some(ReadCommitted), true) => "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
            (Some(RepeatableRead), false) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            (Some(RepeatableRead), true) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            (Some(Serializable), false) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            (Some(Serializable), true) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        }
    }
}

pub(crate) enum TxConn {
    #[cfg(feature = "sqlite")]
    Sqlite(super::pool::Pooled<SqliteConnection>),
    #[cfg(feature = "postgres")]
    Postgres(super::pool::Pooled<PgConnection>),
    /// A transaction inside a sandbox: a savepoint on its pinned connection.
    Pinned(super::pinned::PinnedGuard, Ident),
}

/// An open transaction on one connection of the pool.
///
/// Statements run through it see its uncommitted changes. Dropping it without
/// [`commit`](Self::commit) rolls it back.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::Database;
/// let db = Database::connect("sqlite::memory:").await?;
/// db.execute("CREATE TABLE t (n INTEGER)", &[]).await?;
/// let mut tx = db.begin().await?;
/// tx.execute("INSERT INTO t VALUES ($1)", &[1.into()]).await?;
/// tx.savepoint("before_two").await?;
/// tx.execute("INSERT INTO t VALUES ($1)", &[2.into()]).await?;
/// tx.rollback_to_savepoint("before_two").await?;
/// tx.commit().await?;
/// assert_eq!(db.fetch_all("SELECT n FROM t", &[]).await?.len(), 1);
/// # Ok(()) }
/// ```
pub struct Transaction {
    conn: Option<TxConn>,
    db: Database,
    finished: bool,
    /// PostgreSQL: `txid_current()` at the start, when the owner asked for the
    /// check at the end ([`Transaction::pin_identity`]).
    txid: Option<i64>,
    /// Set once the transaction was found ended from inside (SQLite's
    /// `OR ROLLBACK`, `RAISE(ROLLBACK)`): later statements are refused.
    escaped: bool,
    /// Counted in [`Database::open_transactions`] until dropped.
    open: Option<super::conn::OpenTransaction>,
}

/// What the refusal of transaction control names as the owner.
const OWNER: &str = "a transaction (or a session, or a migration)";

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("backend", &self.db.backend())
            .field("open", &self.conn.is_some())
            .finish()
    }
}

impl Transaction {
    pub(crate) async fn begin(db: &Database, opts: TransactionOptions) -> Result<Self> {
        let conn = match db.pool() {
            #[cfg(feature = "postgres")]
            super::Pool::Postgres(pool) => {
                // Behind PgBouncer the server connection may hold statements
                // another client prepared and left: drop them, in the same
                // round trip, so that ours (sqlx_s_1...) cannot collide.
                let begin = if db.pgbouncer() {
                    Statement::control(format!("{}; DEALLOCATE ALL", opts.begin_sql_postgres()))
                } else {
                    Statement::control(opts.begin_sql_postgres())
                };
                let mut retried = false;
                loop {
                    let mut c = pool.acquire().await.map_err(|e| db.map_sqlx(e, None))?;
                    let (conn, health) = c.parts();
                    let r = ConnRef::Postgres(conn, db.hooks(), health)
                        .execute(&begin)
                        .await;
                    match r {
                        Ok(_) => break TxConn::Postgres(c),
                        // A connection that died while idle: nothing had begun,
                        // so a fresh one may begin it.
                        Err(e) if !retried && c.is_reused() && c.is_broken() => {
                            tracing::debug!(error = %e, "BEGIN on a fresh connection");
                            retried = true;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            #[cfg(feature = "sqlite")]
            super::Pool::Sqlite(pool) => {
                let mut c = pool.acquire().await.map_err(|e| db.map_sqlx(e, None))?;
                let begin = if opts.read_only {
                    "BEGIN DEFERRED"
                } else {
                    "BEGIN IMMEDIATE"
                };
                let (conn, health) = c.parts();
                ConnRef::Sqlite(conn, db.hooks(), health)
                    .execute(&Statement::control(begin))
                    .await?;
                if opts.read_only {
                    // Returned to the pool with write access restored, however it ends.
                    c.reset_with("PRAGMA query_only = OFF");
                    let (conn, health) = c.parts();
                    ConnRef::Sqlite(conn, db.hooks(), health)
                        .execute(&Statement::control("PRAGMA query_only = ON"))
                        .await?;
                }
                TxConn::Sqlite(c)
            }
            super::Pool::Pinned(p) => {
                let mut guard = p.lock().await?;
                let name = Ident::new(&p.next_savepoint())?;
                let sql = Statement::control(format!("SAVEPOINT {}", name.quoted()));
                match guard.as_mut() {
                    Some(c) => c.conn_ref(db.hooks()).execute(&sql).await?,
                    None => {
                        return Err(Error::InvalidState(
                            "the sandbox has been rolled back".into(),
                        ));
                    }
                };
                TxConn::Pinned(guard, name)
            }
        };
        Ok(Self {
            conn: Some(conn),
            db: db.clone(),
            finished: false,
            txid: None,
            escaped: false,
            open: Some(super::conn::OpenTransaction::new(db.hooks())),
        })
    }

    /// Takes the PostgreSQL transaction id, so that commit and rollback check
    /// that the transaction is still this one (one more round trip each; on
    /// SQLite the check is free and always made).
    pub(crate) async fn pin_identity(&mut self) -> Result<()> {
        #[cfg(feature = "postgres")]
        if let Some(TxConn::Postgres(c)) = &mut self.conn {
            self.txid = tx_state::pg_txid(c).await?;
        }
        Ok(())
    }

    /// Whether the transaction is still the one begun (see [`tx_state`]).
    async fn still_open(&mut self) -> Result<bool> {
        if self.escaped {
            return Ok(false);
        }
        match &mut self.conn {
            #[cfg(feature = "sqlite")]
            Some(TxConn::Sqlite(c)) => tx_state::sqlite_in_transaction(c).await,
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(c)) if self.txid.is_some() => {
                let now = tx_state::pg_txid(c).await?;
                Ok(tx_state::same_pg_transaction(self.txid, now))
            }
            _ => Ok(true),
        }
    }

    /// After a failed statement on SQLite, notes whether SQLite ended the
    /// transaction (a conflict clause or trigger can `ROLLBACK` it).
    async fn note_failure<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err()
            && self.backend() == Backend::Sqlite
            && !self.still_open().await.unwrap_or(false)
        {
            self.escaped = true;
        }
        r
    }

    /// Refuses transaction control, and anything once the transaction ended.
    fn guard(&self, sql: &str) -> Result<()> {
        if self.escaped {
            return Err(tx_state::escaped("the transaction"));
        }
        if self.db.pgbouncer()
            && let Some(what) = sql_text::session_state(sql)
        {
            return Err(Error::Unsupported {
                backend: Backend::Postgres,
                feature: format!(
                    "{what} behind PgBouncer in transaction pooling mode (it needs a session \
                     of its own, which PgBouncer does not keep between transactions; \
                     connect to the server directly for it)"
                ),
            });
        }
        sql_text::refuse_transaction_control(sql, self.backend(), OWNER)
    }

    /// The backend this transaction runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The database this transaction belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn conn(&mut self) -> Result<ConnRef<'_>> {
        self.check_not_mid_copy()?;
        self.conn_ref()
    }

    /// Fails once a cancelled COPY has left the connection mid-COPY (marked broken).
    fn check_not_mid_copy(&self) -> Result<()> {
        match &self.conn {
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(c)) if c.is_broken() => Err(Error::Connection(
                "the transaction's connection was left mid-COPY by a cancelled insert; drop the transaction".into(),
            )),
            _ => Ok(()),
        }
    }

    fn conn_ref(&mut self) -> Result<ConnRef<'_>> {
        if self.finished {
            return Err(Error::InvalidState(
                "the transaction has already finished".into(),
            ));
        }
        let hooks = self.db.hooks();
        match self.conn.as_mut() {
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(tx)) => {
                let (c, health) = tx.parts();
                Ok(ConnRef::Postgres(c, hooks, health))
            }
            #[cfg(feature = "sqlite")]
            Some(TxConn::Sqlite(tx)) => {
                let (c, health) = tx.parts();
                Ok(ConnRef::Sqlite(c, hooks, health))
            }
            Some(TxConn::Pinned(guard, _)) => match guard.as_mut() {
                Some(c) => Ok(c.conn_ref(hooks)),
                None => Err(Error::InvalidState(
                    "the sandbox has been rolled back".into(),
                )),
            },
            None => Err(Error::InvalidState(
                "the transaction has already finished".into(),
            )),
        }
    }

    /// Runs a statement; returns the number of rows affected.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.execute_statement(&Statement::new(sql, params.to_vec()))
            .await
    }

    /// Runs a prepared [`Statement`]; returns the number of rows affected.
    ///
    /// # Errors
    /// As [`Database::execute`].
    /// [`Error::InvalidState`] for a statement that would end or escape the
    /// transaction (`COMMIT`, `ROLLBACK`, `SAVEPOINT`, `ATTACH`...: use
    /// [`commit`](Self::commit), [`savepoint`](Self::savepoint)...); more than
    /// one statement is refused as by [`Database::execute`].
    pub async fn execute_statement(&mut self, stmt: &Statement) -> Result<u64> {
        self.guard(&stmt.sql)?;
        let r = self
            .conn()?
            .execute(stmt)
            .await
            .map_err(|e| e.in_transaction(false));
        self.note_failure(r).await
    }

    /// Runs every statement of `sql` in order, as
    /// [`Database::execute_script`] does; all are checked before any runs.
    ///
    /// # Errors
    /// As [`Transaction::execute_statement`], for each statement.
    pub async fn execute_script(&mut self, sql: &str) -> Result<u64> {
        let statements: Vec<&str> = sql_text::split(sql, self.backend()).collect();
        for s in &statements {
            self.guard(s)?;
        }
        let mut n = 0;
        for s in statements {
            n += self.execute_statement(&Statement::from(s)).await?;
        }
        Ok(n)
    }

    /// Runs a statement of the engine's own (transaction control included).
    async fn execute_own(&mut self, stmt: &Statement) -> Result<u64> {
        self.conn()?
            .execute(stmt)
            .await
            .map_err(|e| e.in_transaction(false))
    }

    /// Runs a `COPY ... FROM STDIN` in this transaction (see
    /// [`Executor::copy_in`](crate::query::Executor::copy_in)). A failed COPY
    /// fails the transaction as a failed INSERT does.
    pub(crate) async fn copy_in(&mut self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        // Should the future be dropped mid-COPY, the connection stays marked
        // broken: closed instead of reused, and refused by `conn`.
        self.check_not_mid_copy()?;
        let was = self.replace_broken(true);
        let r = match self.conn_ref() {
            Ok(c) => c.copy_in(copy).await.map_err(|e| e.in_transaction(false)),
            Err(e) => Err(e),
        };
        self.replace_broken(was);
        r
    }

    fn replace_broken(&mut self, broken: bool) -> bool {
        match self.conn.as_mut() {
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(c)) => c.replace_broken(broken),
            #[cfg(feature = "sqlite")]
            Some(TxConn::Sqlite(c)) => c.replace_broken(broken),
            Some(TxConn::Pinned(guard, _)) => {
                guard.as_mut().is_some_and(|c| c.replace_broken(broken))
            }
            None => false,
        }
    }

    /// Runs a query and collects its rows.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_all(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.fetch_all_statement(Statement::new(sql, params.to_vec()))
            .await
    }

    /// Runs a [`Statement`] and collects its rows.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_all_statement(&mut self, stmt: Statement) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        let mut rows = self.fetch_statement(stmt);
        while let Some(row) = rows.next().await {
            out.push(row?);
        }
        Ok(out)
    }

    /// The names of the columns `sql` would return, in order, without running
    /// it (the statement is only prepared): the header of a result that has
    /// no rows.
    ///
    /// # Errors
    /// As [`Database::describe_columns`].
    pub async fn describe_columns(&mut self, sql: &str) -> Result<Vec<String>> {
        self.guard(sql)?;
        self.conn()?
            .describe(&Statement::new(sql, Vec::new()))
            .await
            .map_err(|e| e.in_transaction(false))
    }

    /// Runs a query and returns its first row.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is none; otherwise as [`Database::execute`].
    pub async fn fetch_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Runs a query and returns its first row, if any.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_optional(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        let mut rows = self.fetch_statement(Statement::new(sql, params.to_vec()));
        rows.next().await.transpose()
    }

    /// Runs a query and yields its rows as they are read.
    pub fn fetch(&mut self, sql: &str, params: &[Value]) -> BoxStream<'_, Result<Row>> {
        self.fetch_statement(Statement::new(sql, params.to_vec()))
    }

    /// Runs a [`Statement`] and yields its rows as they are read.
    pub fn fetch_statement(&mut self, stmt: Statement) -> BoxStream<'_, Result<Row>> {
        if let Err(e) = self.guard(&stmt.sql) {
            return futures_util::stream::once(async move { Err(e) }).boxed();
        }
        match self.conn() {
            Ok(conn) => conn
                .fetch(stmt)
                .map_err(|e| e.in_transaction(false))
                .boxed(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn run_control(&mut self, sql: String) -> Result<()> {
        self.execute_own(&Statement::control(sql)).await.map(|_| ())
    }

    /// Creates a savepoint named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a bad name; database errors otherwise.
    pub async fn savepoint(&mut self, name: &str) -> Result<()> {
        let name = Ident::for_backend(name, self.backend())?;
        self.run_control(format!("SAVEPOINT {}", name.quoted()))
            .await
    }

    /// Undoes everything since the savepoint `name` (which stays defined).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a bad name; a database error if no such savepoint.
    pub async fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let name = Ident::for_backend(name, self.backend())?;
        self.run_control(format!("ROLLBACK TO SAVEPOINT {}", name.quoted()))
            .await
    }

    /// Forgets the savepoint `name`, keeping what was done since.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a bad name; a database error if no such savepoint.
    pub async fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let name = Ident::for_backend(name, self.backend())?;
        self.run_control(format!("RELEASE SAVEPOINT {}", name.quoted()))
            .await
    }

    /// Ends a sandbox transaction: release its savepoint, after rolling back to
    /// it when not committing.
    async fn finish_pinned(&mut self, commit: bool) -> Result<()> {
        let Some(TxConn::Pinned(_, name)) = &self.conn else {
            return Ok(());
        };
        let name = name.quoted();
        if !commit {
            self.run_control(format!("ROLLBACK TO SAVEPOINT {name}"))
                .await?;
        }
        self.run_control(format!("RELEASE SAVEPOINT {name}"))
            .await?;
        if let (Some(TxConn::Pinned(guard, _)), super::Pool::Pinned(p)) =
            (self.conn.as_mut(), self.db.pool())
        {
            p.end_if_closed(guard, self.db.hooks()).await;
        }
        self.conn = None;
        self.open = None;
        Ok(())
    }

    async fn finish(mut self, commit: bool) -> Result<()> {
        if matches!(self.conn, Some(TxConn::Pinned(..))) {
            return self.finish_pinned(commit).await;
        }
        if self.finished || self.conn.is_none() {
            return Err(Error::InvalidState(
                "the transaction has already finished".into(),
            ));
        }
        if !self.still_open().await? {
            self.finished = true;
            #[cfg(feature = "postgres")]
            if let Some(TxConn::Postgres(c)) = &mut self.conn {
                c.reset_with("ROLLBACK");
            }
            return Err(tx_state::escaped("the transaction"));
        }
        let sql = Statement::control(if commit { "COMMIT" } else { "ROLLBACK" });
        if let Err(e) = self.forget_statements().await {
            self.finished = true;
            return Err(e.in_transaction(commit));
        }
        let result = match self.conn() {
            Ok(c) => c.execute(&sql).await.map_err(|e| e.in_transaction(commit)),
            Err(e) => Err(e),
        };
        self.finished = true;
        if result.is_err() && !commit {
            // The server ends the transaction with the session if ROLLBACK failed;
            // make sure a reused connection starts clean.
            #[cfg(feature = "postgres")]
            if let Some(TxConn::Postgres(c)) = &mut self.conn {
                c.reset_with("ROLLBACK");
            }
        }
        result.map(drop)
    }

    /// Behind PgBouncer in transaction pooling mode: closes the statements
    /// this transaction prepared before it ends, since the server connection
    /// goes to another client with the transaction.
    async fn forget_statements(&mut self) -> Result<()> {
        if !self.db.pgbouncer() {
            return Ok(());
        }
        #[cfg(feature = "postgres")]
        if let Some(TxConn::Postgres(c)) = self.conn.as_mut() {
            let r = sqlx::Connection::clear_cached_statements(&mut **c)
                .await
                .map_err(|e| self.db.map_sqlx(e, None));
            return c.check(r);
        }
        Ok(())
    }

    /// Commits.
    ///
    /// # Errors
    /// A database error (e.g. a serialization failure on PostgreSQL, a deferred
    /// constraint) means nothing was committed. [`ErrorKind::AmbiguousCommit`]
    /// (crate::ErrorKind::AmbiguousCommit) means the connection broke during
    /// COMMIT: the transaction may or may not have been committed.
    /// [`Error::InvalidState`] when the transaction is no longer the one begun
    /// (SQLite ended it after an `OR ROLLBACK` conflict, or the check asked for
    /// found another): nothing is committed then, but what ran after its end
    /// was not part of it.
    pub async fn commit(self) -> Result<()> {
        self.finish(true).await
    }

    /// Rolls back.
    ///
    /// # Errors
    /// Only if the connection failed; the transaction is over either way.
    pub async fn rollback(self) -> Result<()> {
        self.finish(false).await
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        match self.conn.take() {
            // The connection goes back to the pool with a ROLLBACK to run before
            // its next use: nothing of this transaction can be committed later.
            // Behind PgBouncer the statements it prepared are forgotten (and
            // closed) after the ROLLBACK: they belonged to this transaction.
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(mut c)) if self.db.pgbouncer() => {
                c.reset_with("ROLLBACK");
                c.reset_forgetting_statements();
            }
            #[cfg(feature = "postgres")]
            Some(TxConn::Postgres(mut c)) => c.reset_with("ROLLBACK"),
            #[cfg(feature = "sqlite")]
            Some(TxConn::Sqlite(mut c)) => c.reset_with_first("ROLLBACK"),
            // A sandbox transaction dropped uncommitted: undo it while still
            // holding the connection, so that nothing else runs in between.
            Some(TxConn::Pinned(mut guard, name)) => {
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    return;
                };
                let hooks = self.db.hooks().clone();
                let db = self.db.clone();
                handle.spawn(async move {
                    if let Some(c) = guard.as_mut() {
                        let name = name.quoted();
                        for sql in [
                            format!("ROLLBACK TO SAVEPOINT {name}"),
                            format!("RELEASE SAVEPOINT {name}"),
                        ] {
                            let _ = c.conn_ref(&hooks).execute(&Statement::control(sql)).await;
                        }
                    }
                    // The sandbox was closed while this held its connection.
                    if let super::Pool::Pinned(p) = db.pool() {
                        p.end_if_closed(&mut guard, &hooks).await;
                    }
                });
            }
            None => {}
        }
    }
}
