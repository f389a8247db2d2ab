//! [`Database`]: a pool of connections to SQLite or PostgreSQL, raw SQL with
//! bound [`Value`] parameters, row streams and transactions.
//!
//! This is the only module that does I/O. Placeholders are `$1, $2, ...` on
//! every backend. On PostgreSQL, each parameter is converted to the type the
//! server infers for it (`"42"` binds to an integer column as 42, an `i64` to a
//! `smallint` as long as it fits) and sent in binary; a value that cannot be
//! converted fails with a typed error before anything is sent. On SQLite each
//! value is stored in the form documented in [`sqlite::codec`](self).
//!
//! Every statement runs inside a `dbridge.statement` tracing span carrying its
//! SQL text (never its values) and row count, and is reported to the
//! [statement observers](Database::on_statement).

mod cancel;
mod cancel_handle;
mod conn;
mod copy;
mod driver_error;
mod options;
mod pinned;
pub(crate) mod pool;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod redact;
#[cfg(feature = "postgres")]
mod replicas;
mod row;
pub(crate) mod sql_text;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
mod statement;
mod transaction;
pub(crate) mod tx_state;

use std::fmt;
use std::sync::Arc;

use futures_util::{StreamExt, stream::BoxStream};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;

pub use cancel_handle::CancelHandle;
pub use conn::{ObserverId, StatementEvent, StatementObserver};
pub use copy::CopyIn;
pub use options::{ConnectOptions, SslMode};
pub use row::{ColumnIndex, Columns, Row};
pub use statement::Statement;
pub use transaction::{IsolationLevel, Transaction, TransactionOptions};

pub(crate) use self::conn::{ConnRef, Hooks};
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
pub(crate) use self::options::missing_driver;

use self::driver_error::ErrorContext;
use self::options::Target;
use crate::error::{Backend, Error, Result};
use crate::value::Value;

/// The statements of an SQL text as `backend` reads them (strings, quoted
/// names, comments, dollar quotes and trigger bodies respected), trimmed,
/// empty ones left out: what [`Database::execute_script`] runs, for a caller
/// that runs them one by one (the REPL's `.sql`, which shows each result).
///
/// # Examples
///
/// ```
/// use dbridge_engine::{Backend, db::split_statements};
/// let sql = "SELECT ';' AS semi;  SELECT 2;";
/// assert_eq!(split_statements(sql, Backend::Sqlite), ["SELECT ';' AS semi", "SELECT 2"]);
/// ```
pub fn split_statements(sql: &str, backend: Backend) -> Vec<&str> {
    sql_text::split(sql, backend).collect()
}

/// The pattern of every [`Pool`] that is not a sandbox, whichever drivers are
/// compiled in (an or-pattern cannot leave out a variant by `cfg`).
#[cfg(all(feature = "sqlite", feature = "postgres"))]
macro_rules! direct_pool {
    () => {
        Pool::Sqlite(_) | Pool::Postgres(_)
    };
}
#[cfg(all(feature = "sqlite", not(feature = "postgres")))]
macro_rules! direct_pool {
    () => {
        Pool::Sqlite(_)
    };
}
#[cfg(all(feature = "postgres", not(feature = "sqlite")))]
macro_rules! direct_pool {
    () => {
        Pool::Postgres(_)
    };
}

#[derive(Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(Arc<pool::ConnPool<SqliteConnection>>),
    #[cfg(feature = "postgres")]
    Postgres(Arc<pool::ConnPool<PgConnection>>),
    /// A sandbox: one connection in a transaction rolled back at the end.
    Pinned(Arc<pinned::Pinned>),
}

struct Inner {
    pool: Pool,
    target: Target,
    options: ConnectOptions,
    hooks: Arc<Hooks>,
    /// Read replicas, when connected with [`Database::connect_replicated`];
    /// `None` on [`Database::primary`]'s handle too.
    #[cfg(feature = "postgres")]
    replicas: Option<Arc<replicas::Replicas>>,
}

/// A connection pool to one database. Cheap to clone: clones share the pool.
///
/// `Debug` and [`Database::url`] show the URL with its password masked.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::{Database, Value};
/// let db = Database::connect("sqlite::memory:").await?;
/// db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
/// db.execute("INSERT INTO users (name) VALUES ($1)", &["Ada".into()]).await?;
/// let row = db.fetch_one("SELECT id, name FROM users WHERE name = $1", &["Ada".into()]).await?;
/// assert_eq!(row.get("name")?, &Value::from("Ada"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("url", &self.inner.target.shown())
            .finish()
    }
}

impl Database {
    /// Connects with default [`ConnectOptions`].
    ///
    /// URLs: `sqlite::memory:`, `sqlite://path/to/file.db` (created if missing),
    /// `postgres://user:password@host:port/dbname?sslmode=...` (or `postgresql://`).
    ///
    /// # Errors
    /// [`Error::Configuration`] for a malformed URL or unknown scheme,
    /// [`Error::Connection`] when the server refuses or cannot be reached, and
    /// [`Error::Timeout`] when connecting takes longer than the acquire timeout.
    /// No error contains the password.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// Connects with the given options; see [`Database::connect`].
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Self> {
        Ok(Self {
            inner: Arc::new(Self::open(url, options, None).await?),
        })
    }

    /// Opens the pool of `url`; `label` names its server for observers.
    async fn open(url: &str, options: ConnectOptions, label: Option<&str>) -> Result<Inner> {
        let target = Target::parse(url)?;
        #[cfg(not(feature = "postgres"))]
        let _ = label;
        let options = match &target {
            #[cfg(feature = "postgres")]
            Target::Postgres {
                pgbouncer: Some(on),
                ..
            } => options.pgbouncer(*on),
            _ => options,
        };
        let ctx = ErrorContext {
            sql: None,
            password: target.password(),
            acquire_timeout: Some(options.get_acquire_timeout()),
            values: Default::default(),
        };
        let connect_err = |e: sqlx::Error| -> Error {
            if let (sqlx::Error::Io(io), Some(address)) = (&e, target.address()) {
                // "127.0.0.1:5999: connection refused": which server, and why.
                return Error::Connection(format!("{address}: {}", io_reason(io)));
            }
            match driver_error::map(e, target.backend(), ctx) {
                // Errors while connecting are connection errors, whatever their code.
                Error::Database(d) => Error::Connection(d.message),
                other => other,
            }
        };
        let timeout = options.get_acquire_timeout();
        let pool = match &target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite {
                options: o,
                in_memory,
                ..
            } => {
                let p = pool::ConnPool::new(
                    options.sqlite((**o).clone(), *in_memory),
                    // No server to restart under a SQLite file: no idle pings.
                    pool::Limits {
                        ping_idle_after: None,
                        ..options.limits(*in_memory)
                    },
                );
                bounded(p.warm_up(), timeout).await?.map_err(connect_err)?;
                Pool::Sqlite(p)
            }
            #[cfg(feature = "postgres")]
            Target::Postgres { options: o, .. } => {
                let limits = options.limits(false);
                let limits = match label {
                    Some(l) => limits.labelled(l),
                    None => limits,
                };
                let p = pool::ConnPool::new(options.pg((**o).clone()), limits);
                bounded(p.warm_up(), timeout).await?.map_err(connect_err)?;
                Pool::Postgres(p)
            }
        };
        tracing::debug!(url = target.shown(), "connected");
        Ok(Inner {
            pool,
            target,
            options,
            hooks: Arc::default(),
            #[cfg(feature = "postgres")]
            replicas: None,
        })
    }

    /// Connects to a PostgreSQL primary and its read replicas (hot standbys):
    /// reads run outside a transaction go to a healthy replica, round robin;
    /// writes, transactions and sessions go to the primary. A replica that
    /// cannot be reached is skipped for
    /// [`ConnectOptions::replica_retry_after`] and its reads run on the
    /// primary. See [`Database::primary`] to read from the primary.
    ///
    /// ```no_run
    /// # async fn demo() -> dbridge_engine::Result<()> {
    /// use dbridge_engine::{ConnectOptions, Database};
    /// let db = Database::connect_replicated(
    ///     "postgres://app@db-primary/app",
    ///     &["postgres://app@db-replica-1/app", "postgres://app@db-replica-2/app"],
    ///     ConnectOptions::new(),
    /// )
    /// .await?;
    /// db.execute("INSERT INTO events (kind) VALUES ($1)", &["login".into()]).await?; // primary
    /// let recent = db.fetch_all("SELECT kind FROM events", &[]).await?; // a replica
    /// let fresh = db.primary().fetch_all("SELECT kind FROM events", &[]).await?; // primary
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Database::connect`] for the primary; [`Error::Configuration`] for a
    /// malformed replica URL or one that is not PostgreSQL. An unreachable
    /// replica is not an error.
    pub async fn connect_replicated(
        primary: &str,
        replicas: &[&str],
        options: ConnectOptions,
    ) -> Result<Self> {
        if Target::parse(primary)?.backend() != Backend::Postgres {
            return Err(Error::unsupported(Backend::Sqlite, "read replicas"));
        }
        #[cfg(feature = "postgres")]
        {
            let mut inner = Self::open(primary, options, Some("primary")).await?;
            let set = replicas::Replicas::connect(replicas, &inner.options).await?;
            inner.replicas = Some(Arc::new(set));
            Ok(Self {
                inner: Arc::new(inner),
            })
        }
        // Only a PostgreSQL URL gets here, and it does not parse without the driver.
        #[cfg(not(feature = "postgres"))]
        {
            let _ = (replicas, options);
            Err(options::missing_driver(Backend::Postgres))
        }
    }

    /// This database with every statement on the primary, replicas or not:
    /// the handle to read what was just written elsewhere. It shares the
    /// pool, observers and options; on a database without replicas it is the
    /// same database.
    pub fn primary(&self) -> Database {
        #[cfg(feature = "postgres")]
        if self.inner.replicas.is_some() {
            return Self {
                inner: Arc::new(Inner {
                    pool: self.inner.pool.clone(),
                    target: self.inner.target.clone(),
                    options: self.inner.options.clone(),
                    hooks: self.inner.hooks.clone(),
                    replicas: None,
                }),
            };
        }
        self.clone()
    }

    /// Whether `other` is this handle, a clone of it, or its
    /// [`Database::primary`]: handles that share one pool and its statement
    /// observers.
    pub fn same_database(&self, other: &Database) -> bool {
        Arc::ptr_eq(&self.inner.hooks, &other.inner.hooks)
    }

    /// How many read replicas this handle sends reads to (0 on a database
    /// connected without them, and on [`Database::primary`]).
    pub fn replica_count(&self) -> usize {
        #[cfg(feature = "postgres")]
        return self.inner.replicas.as_ref().map_or(0, |r| r.len());
        #[cfg(not(feature = "postgres"))]
        0
    }

    /// The backend this database runs on.
    pub fn backend(&self) -> Backend {
        self.inner.target.backend()
    }

    /// The connection URL with the password masked.
    pub fn url(&self) -> &str {
        self.inner.target.shown()
    }

    /// The options the pool was opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.inner.options
    }

    /// Whether statements run as PgBouncer's transaction pooling mode needs
    /// ([`ConnectOptions::pgbouncer`]).
    pub(crate) fn pgbouncer(&self) -> bool {
        self.inner.options.get_pgbouncer()
            && self.backend() == Backend::Postgres
            && !self.is_sandbox()
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub(crate) fn hooks(&self) -> &Arc<Hooks> {
        &self.inner.hooks
    }

    pub(crate) fn map_sqlx(&self, e: sqlx::Error, sql: Option<&Arc<str>>) -> Error {
        driver_error::map(
            e,
            self.backend(),
            ErrorContext {
                sql,
                password: self.inner.target.password(),
                acquire_timeout: Some(self.inner.options.get_acquire_timeout()),
                values: Default::default(),
            },
        )
    }

    /// A connection from the pool (not for sandboxes, which pin their own).
    async fn acquire(&self) -> Result<pinned::PinnedConn> {
        match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p
                .acquire()
                .await
                .map(pinned::PinnedConn::Sqlite)
                .map_err(|e| self.map_sqlx(e, None)),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p
                .acquire()
                .await
                .map(pinned::PinnedConn::Postgres)
                .map_err(|e| self.map_sqlx(e, None)),
            Pool::Pinned(_) => Err(Error::InvalidState(
                "a sandbox has no pool to take a connection from".into(),
            )),
        }
    }

    /// Calls `observer` after every statement run through this database or its
    /// transactions, with its SQL text, duration and row count (never its values).
    pub fn on_statement(&self, observer: StatementObserver) -> ObserverId {
        self.inner.hooks.add(observer)
    }

    /// How many transactions of this database (and its sandboxes) are open:
    /// begun, and not yet committed, rolled back or dropped. Hosts use it to
    /// say what they roll back when they exit.
    pub fn open_transactions(&self) -> u64 {
        self.inner.hooks.open_transactions()
    }

    /// How many statements of this database (and its sandboxes) were stopped
    /// on the server because the future running them was dropped (a
    /// [`CancelHandle`], an interrupted script). Hosts use it to tell a
    /// cancelled statement from an interrupted computation.
    pub fn cancelled_statements(&self) -> u64 {
        self.inner.hooks.cancelled()
    }

    /// Removes an observer; returns whether it was registered.
    pub fn remove_statement_observer(&self, id: ObserverId) -> bool {
        self.inner.hooks.remove(id)
    }

    /// Runs a statement; returns the number of rows affected.
    ///
    /// # Errors
    /// A typed [`Error`]: constraint violations have their own kinds
    /// ([`ErrorKind::UniqueViolation`](crate::ErrorKind)...) with the constraint
    /// name; a parameter that does not fit its type is a
    /// [`Error::TypeMismatch`] or [`Error::InvalidValue`]; no message quotes a
    /// parameter value.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        self.execute_statement(&Statement::new(sql, params.to_vec()))
            .await
    }

    /// Runs a [`Statement`]; returns the number of rows affected.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn execute_statement(&self, stmt: &Statement) -> Result<u64> {
        if self.pgbouncer() {
            let mut tx = self.begin().await?;
            let n = tx.execute_statement(stmt).await?;
            tx.commit().await?;
            return Ok(n);
        }
        match self.pool() {
            direct_pool!() => {
                // The connection's health notes the result (see `pool::Health`).
                let mut c = self.acquire().await?;
                c.conn_ref(self.hooks()).execute(stmt).await
            }
            Pool::Pinned(p) => {
                p.guard(&stmt.sql, self.backend())?;
                let mut guard = p.lock().await?;
                match guard.as_mut() {
                    Some(c) => {
                        let r = c.conn_ref(self.hooks()).execute(stmt).await;
                        p.note_failure(c, r).await
                    }
                    None => Err(Error::InvalidState(
                        "the sandbox has been rolled back".into(),
                    )),
                }
            }
        }
    }

    /// Runs every statement of `sql`, in order, on one connection; returns
    /// the rows they affected, summed. The only call that runs several
    /// statements: every other takes one (a trailing `;` and comments
    /// allowed). Statements are split as the backend reads them (strings,
    /// quoted names, comments, dollar quotes, trigger bodies). In a sandbox
    /// each statement is checked for transaction control before any runs.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// let db = dbridge_engine::Database::connect("sqlite::memory:").await?;
    /// db.execute_script("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);").await?;
    /// assert_eq!(db.fetch_all("SELECT n FROM t", &[]).await?.len(), 2);
    /// assert!(db.execute("DELETE FROM t; DROP TABLE t", &[]).await.is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The first failing statement's error (those before it stay done unless
    /// a transaction around them is rolled back); in a sandbox,
    /// [`Error::InvalidState`] for transaction control.
    pub async fn execute_script(&self, sql: &str) -> Result<u64> {
        let statements: Vec<Statement> = sql_text::split(sql, self.backend())
            .map(Statement::from)
            .collect();
        let mut n = 0;
        match self.pool() {
            direct_pool!() => {
                let mut c = self.acquire().await?;
                for s in &statements {
                    n += c.conn_ref(self.hooks()).execute(s).await?;
                }
            }
            Pool::Pinned(p) => {
                for s in &statements {
                    p.guard(&s.sql, self.backend())?;
                }
                for s in &statements {
                    n += self.execute_statement(s).await?;
                }
            }
        }
        Ok(n)
    }

    /// Runs a `COPY ... FROM STDIN` on a pooled connection (see
    /// [`Executor::copy_in`](crate::query::Executor::copy_in)).
    pub(crate) async fn copy_in(&self, copy: &CopyIn<'_>) -> Result<Option<u64>> {
        if self.pgbouncer() {
            let mut tx = self.begin().await?;
            let n = tx.copy_in(copy).await?;
            tx.commit().await?;
            return Ok(n);
        }
        match self.pool() {
            direct_pool!() => {
                let mut c = self.acquire().await?;
                c.copy_in(self.hooks(), copy).await
            }
            Pool::Pinned(p) => {
                let mut guard = p.lock().await?;
                match guard.as_mut() {
                    Some(c) => c.copy_in(self.hooks(), copy).await,
                    None => Err(Error::InvalidState(
                        "the sandbox has been rolled back".into(),
                    )),
                }
            }
        }
    }

    /// Runs a query and collects its rows.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_all(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.fetch_all_statement(Statement::new(sql, params.to_vec()))
            .await
    }

    /// Runs a [`Statement`] and collects its rows.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_all_statement(&self, stmt: Statement) -> Result<Vec<Row>> {
        let mut rows = self.fetch_statement(stmt);
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(row?);
        }
        Ok(out)
    }

    /// Runs a query and returns its first row.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it returns no row; otherwise as [`Database::execute`].
    pub async fn fetch_one(&self, sql: &str, params: &[Value]) -> Result<Row> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Runs a query and returns its first row, if any.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub async fn fetch_optional(&self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        let mut rows = self.fetch_statement(Statement::new(sql, params.to_vec()));
        rows.next().await.transpose()
    }

    /// Runs a query and yields its rows as the server sends them, holding one
    /// connection until the stream is dropped or exhausted.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let db = dbridge_engine::Database::connect("sqlite::memory:").await?;
    /// let mut rows = db.fetch("SELECT 1 AS n UNION ALL SELECT 2", vec![]);
    /// while let Some(row) = rows.try_next().await? {
    ///     println!("{:?}", row.get("n")?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fetch(
        &self,
        sql: impl Into<Arc<str>>,
        params: Vec<Value>,
    ) -> BoxStream<'static, Result<Row>> {
        self.fetch_statement(Statement::new(sql, params))
    }

    /// Runs a [`Statement`] and yields its rows as they are read.
    pub fn fetch_statement(&self, stmt: Statement) -> BoxStream<'static, Result<Row>> {
        let db = self.clone();
        async_stream::try_stream! {
            #[cfg(feature = "postgres")]
            if let Some(replica) = db.inner.replicas.as_ref().and_then(|r| r.for_read(&stmt)) {
                let mut on_primary = false;
                let mut rows = replica_rows(db.clone(), replica.clone(), stmt.clone());
                while let Some(item) = rows.next().await {
                    match item? {
                        ReplicaRow::Row(row) => yield row,
                        ReplicaRow::OnPrimary => on_primary = true,
                    }
                }
                if !on_primary {
                    return;
                }
            }
            if db.pgbouncer() {
                let mut tx = db.begin().await?;
                {
                    let mut rows = tx.fetch_statement(stmt);
                    while let Some(row) = rows.next().await {
                        yield row?;
                    }
                }
                tx.commit().await?;
                return;
            }
            match db.pool() {
                direct_pool!() => {
                    // A read is run again, once, when the connection it was
                    // given had died while idle (a server restart): nothing of
                    // it ran, and a fresh connection will do.
                    let mut retry = (db.backend() == Backend::Postgres && stmt.is_read_only())
                        .then(|| stmt.clone());
                    let mut next = Some(stmt);
                    while let Some(stmt) = next.take() {
                        let mut c = db.acquire().await?;
                        let mut failed = None;
                        let mut yielded = false;
                        {
                            let mut rows = c.conn_ref(db.hooks()).fetch(stmt);
                            while let Some(row) = rows.next().await {
                                match row {
                                    Ok(row) => { yielded = true; yield row }
                                    Err(e) => { failed = Some(e); break; }
                                }
                            }
                        }
                        let Some(e) = failed else { break };
                        match retry.take() {
                            Some(again) if !yielded && c.is_reused() && c.is_broken() => {
                                tracing::debug!(error = %e, "retrying a read on a fresh connection");
                                next = Some(again);
                            }
                            _ => Err(e)?,
                        }
                    }
                }
                Pool::Pinned(p) => {
                    p.guard(&stmt.sql, db.backend())?;
                    let mut guard = p.lock().await?;
                    if let Some(c) = guard.as_mut() {
                        let mut rows = c.conn_ref(db.hooks()).fetch(stmt);
                        while let Some(row) = rows.next().await {
                            yield row?;
                        }
                    }
                }
            }
        }
        .boxed()
    }

    /// The names of the columns `sql` would return, in order, without running
    /// it (the statement is only prepared): the header of a result that has
    /// no rows, as a REPL prints it. A statement that returns nothing has
    /// none.
    ///
    /// ```
    /// # async fn demo() -> dbridge_engine::Result<()> {
    /// let db = dbridge_engine::Database::connect("sqlite::memory:").await?;
    /// db.execute("CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT)", &[]).await?;
    /// let names = db.describe_columns("SELECT name, id FROM pets WHERE id < 0").await?;
    /// assert_eq!(names, ["name", "id"]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A syntax error or an unknown table or column, as running it would
    /// give; connection errors; more than one statement in `sql`.
    pub async fn describe_columns(&self, sql: &str) -> Result<Vec<String>> {
        if self.pgbouncer() {
            // Prepared only inside a transaction, as every statement there.
            let mut tx = self.begin().await?;
            let names = tx.describe_columns(sql).await;
            tx.rollback().await?;
            return names;
        }
        let stmt = Statement::new(sql, Vec::new());
        match self.pool() {
            direct_pool!() => {
                let mut c = self.acquire().await?;
                c.conn_ref(self.hooks()).describe(&stmt).await
            }
            Pool::Pinned(p) => {
                p.guard(sql, self.backend())?;
                let mut guard = p.lock().await?;
                match guard.as_mut() {
                    Some(c) => c.conn_ref(self.hooks()).describe(&stmt).await,
                    None => Err(Error::InvalidState("the database has been closed".into())),
                }
            }
        }
    }

    /// Begins a transaction with the server's default isolation.
    ///
    /// # Errors
    /// Connection errors and timeouts.
    pub async fn begin(&self) -> Result<Transaction> {
        Transaction::begin(self, TransactionOptions::default()).await
    }

    /// Begins a transaction with the given isolation level and access mode.
    ///
    /// # Errors
    /// Connection errors and timeouts.
    pub async fn begin_with(&self, options: TransactionOptions) -> Result<Transaction> {
        Transaction::begin(self, options).await
    }

    /// Runs `body` in a transaction: commits when it returns `Ok`, rolls back when
    /// it returns `Err`. After a retryable error ([`ErrorKind::is_retryable`]
    /// (crate::ErrorKind::is_retryable): a serialization failure, deadlock or
    /// busy database, a server that cannot be reached, a connection lost before
    /// COMMIT) it rolls back and runs `body` again, up to
    /// [`TransactionOptions::max_retries`] times, waiting a little longer each
    /// time ([`ErrorKind::retry_delay`](crate::ErrorKind::retry_delay)). A
    /// connection lost during COMMIT ([`ErrorKind::AmbiguousCommit`](crate::ErrorKind))
    /// is never retried: the transaction may have been committed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// use dbridge_engine::{Database, IsolationLevel, TransactionOptions};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// db.execute("CREATE TABLE c (n INTEGER)", &[]).await?;
    /// let opts = TransactionOptions::new().isolation(IsolationLevel::Serializable).max_retries(3);
    /// let n = db.transaction(opts, |tx| Box::pin(async move {
    ///     tx.execute("INSERT INTO c VALUES (1)", &[]).await?;
    ///     Ok(tx.fetch_one("SELECT count(*) AS n FROM c", &[]).await?.get("n")?.clone())
    /// })).await?;
    /// assert_eq!(n.as_i64(), Some(1));
    /// # Ok(()) }
    /// ```
    ///
    /// The body returns a boxed future (`|tx| Box::pin(async move { ... })`) so
    /// that the whole call stays `Send` and can run in `tokio::spawn`.
    ///
    /// # Errors
    /// The body's error, or the last retryable error once the retries are spent.
    pub async fn transaction<T, F>(&self, options: TransactionOptions, mut body: F) -> Result<T>
    where
        F: for<'t> FnMut(&'t mut Transaction) -> futures_util::future::BoxFuture<'t, Result<T>>,
    {
        let mut attempt = 0;
        loop {
            let result = match self.begin_with(options).await {
                Ok(mut tx) => match body(&mut tx).await {
                    Ok(v) => tx.commit().await.map(|()| v),
                    Err(e) => {
                        // The body's error is what matters; a failed rollback
                        // leaves nothing committed either way.
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                },
                // Not begun (the server is down or restarting): nothing to undo.
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.kind().is_retryable() && attempt < options.get_max_retries() => {
                    attempt += 1;
                    tracing::debug!(attempt, kind = %e.kind(), "retrying transaction");
                    tokio::time::sleep(e.kind().retry_delay(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Closes the idle connections; later calls fail with
    /// [`Error::InvalidState`]. On a sandbox, rolls it back (at once, or, when
    /// a transaction of the sandbox is open, as soon as that transaction
    /// ends or is dropped: `close` never waits for it). It waits for the
    /// cancel requests of statements cancelled just before to be delivered.
    pub async fn close(&self) {
        // Statements cancelled just before are stopped on the server first.
        self.inner
            .hooks
            .cancels_delivered(self.inner.options.get_acquire_timeout())
            .await;
        #[cfg(feature = "postgres")]
        if let Some(r) = &self.inner.replicas {
            r.close().await;
        }
        match self.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.close().await,
            Pool::Pinned(p) => p.close(self.hooks()).await,
        }
    }

    /// A sandbox of this database: a `Database` whose statements all run on one
    /// connection inside a transaction that [`Database::rollback_sandbox`] (or
    /// dropping the last clone) discards. `begin()` on a sandbox opens a
    /// savepoint, so transactions, retries and savepoints behave as usual inside
    /// it; isolation and read-only options do not apply there. Statements run
    /// one at a time: a statement issued while the same task holds one of the
    /// sandbox's transactions or streams fails with a timeout error after the
    /// acquire timeout instead of waiting forever.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// let db = dbridge_engine::Database::connect("sqlite::memory:").await?;
    /// db.execute("CREATE TABLE t (n INTEGER)", &[]).await?;
    /// let sandbox = db.sandbox().await?;
    /// sandbox.execute("INSERT INTO t VALUES (1)", &[]).await?;
    /// assert_eq!(sandbox.fetch_all("SELECT n FROM t", &[]).await?.len(), 1);
    /// sandbox.rollback_sandbox().await?;
    /// assert_eq!(db.fetch_all("SELECT n FROM t", &[]).await?.len(), 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Connection errors; [`Error::InvalidState`] on a sandbox of a sandbox.
    pub async fn sandbox(&self) -> Result<Database> {
        let wait = self.inner.options.get_acquire_timeout();
        let (conn, txid) = match self.pool() {
            direct_pool!() => {
                let mut c = self.acquire().await?;
                c.conn_ref(self.hooks())
                    .execute(&Statement::control(if self.pgbouncer() {
                        "BEGIN; DEALLOCATE ALL"
                    } else {
                        "BEGIN"
                    }))
                    .await?;
                // Read outside `ConnRef`: note its result on the connection.
                let txid = c.txid().await;
                let txid = c.check(txid)?;
                (c, txid)
            }
            Pool::Pinned(_) => {
                return Err(Error::InvalidState(
                    "this database is already a sandbox".into(),
                ));
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool: Pool::Pinned(Arc::new(pinned::Pinned::new(conn, wait, txid))),
                target: self.inner.target.clone(),
                options: self.inner.options.clone(),
                hooks: self.inner.hooks.clone(),
                #[cfg(feature = "postgres")]
                replicas: None,
            }),
        })
    }

    /// Whether this is a [sandbox](Database::sandbox).
    pub fn is_sandbox(&self) -> bool {
        matches!(self.pool(), Pool::Pinned(_))
    }

    /// Begins a step of a sandbox: what runs until [`Database::end_sandbox_step`]
    /// is kept or undone as a whole, as psql's `ON_ERROR_ROLLBACK`. A REPL
    /// opens one per command, so that a failed or cancelled command (which
    /// on PostgreSQL aborts the transaction) leaves nothing and the sandbox
    /// goes on. Returns `false`, doing nothing, while a transaction or
    /// stream of the sandbox holds its connection (a step there would not be
    /// innermost): then do not end it.
    ///
    /// # Errors
    /// [`Error::InvalidState`] on a database that is not a sandbox, or one
    /// rolled back; connection errors.
    pub async fn begin_sandbox_step(&self) -> Result<bool> {
        match self.pool() {
            Pool::Pinned(p) => p.begin_step(self.hooks()).await,
            _ => Err(Error::InvalidState("this database is not a sandbox".into())),
        }
    }

    /// Ends the step [`Database::begin_sandbox_step`] began: `keep` what it
    /// did, or roll it back. Returns `false` when the step left a
    /// transaction or stream of the sandbox open: that one is inside the
    /// step, which then stays open (it ends with the sandbox).
    ///
    /// # Errors
    /// As [`Database::begin_sandbox_step`].
    pub async fn end_sandbox_step(&self, keep: bool) -> Result<bool> {
        match self.pool() {
            Pool::Pinned(p) => p.end_step(keep, self.hooks()).await,
            _ => Err(Error::InvalidState("this database is not a sandbox".into())),
        }
    }

    /// Discards everything done in this sandbox and releases its connection;
    /// later statements fail with [`Error::InvalidState`].
    ///
    /// Statements that would end the sandbox's transaction (`COMMIT`,
    /// `ROLLBACK`, `SAVEPOINT`, `ATTACH`, ...) are refused when issued; this
    /// checks as well that the transaction is still the one the sandbox
    /// opened.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when this is not a sandbox, or when its
    /// transaction was ended from inside (then changes may have been saved:
    /// never reported as a clean rollback); connection errors.
    pub async fn rollback_sandbox(&self) -> Result<()> {
        match self.pool() {
            Pool::Pinned(p) => p.rollback(self.hooks()).await,
            _ => Err(Error::InvalidState("this database is not a sandbox".into())),
        }
    }
}

/// A row of a read routed to a replica, or word that the read is to run on
/// the primary instead (the replica is down, or behind the lag bound).
#[cfg(feature = "postgres")]
enum ReplicaRow {
    Row(Row),
    OnPrimary,
}

/// Runs a read on `replica`; ends with [`ReplicaRow::OnPrimary`] when the
/// replica cannot serve it (down before any row arrived: skipped for a while;
/// behind the lag bound).
#[cfg(feature = "postgres")]
fn replica_rows(
    db: Database,
    replica: Arc<replicas::Replica>,
    stmt: Statement,
) -> BoxStream<'static, Result<ReplicaRow>> {
    async_stream::try_stream! {
        let mut failed = None;
        let mut yielded = false;
        let mut behind = replica.is_behind();
        match replica.pool.acquire().await {
            Ok(mut c) => {
                if replica.lag_check_due() {
                    match measure_lag(&db, &replica, &mut c).await {
                        Ok(b) => behind = b,
                        Err(e) => failed = Some(e),
                    }
                }
                if !behind && failed.is_none() {
                    let (conn, health) = c.parts();
                    let mut rows = ConnRef::Postgres(conn, db.hooks(), health).fetch(stmt);
                    while let Some(row) = rows.next().await {
                        match row {
                            Ok(row) => { yielded = true; yield ReplicaRow::Row(row) }
                            Err(e) => { failed = Some(e); break; }
                        }
                    }
                }
            }
            Err(e) => failed = Some(replica.map_sqlx(e)),
        }
        match failed {
            None if behind => yield ReplicaRow::OnPrimary,
            None => {}
            Some(e) if !yielded && replicas::Replica::is_down_error(&e) => {
                tracing::warn!(error = %e, "replica failed; reading from the primary");
                replica.mark_down();
                yield ReplicaRow::OnPrimary;
            }
            Some(e) => Err(e)?,
        }
    }
    .boxed()
}

/// Measures `replica`'s replay lag on `conn`; whether it is behind the bound.
/// A lag that cannot be measured (the query fails without the replica being
/// down) counts as too much.
#[cfg(feature = "postgres")]
async fn measure_lag(
    db: &Database,
    replica: &replicas::Replica,
    conn: &mut pool::Pooled<PgConnection>,
) -> Result<bool> {
    replica.lag_checking();
    let (c, health) = conn.parts();
    let measured = ConnRef::Postgres(c, db.hooks(), health)
        .fetch(Statement::from(replicas::LAG_SQL))
        .next()
        .await;
    match measured {
        Some(Ok(row)) => {
            let lag = row.get("lag").ok().and_then(Value::as_f64).unwrap_or(0.0);
            Ok(replica.record_lag(lag))
        }
        Some(Err(e)) if replicas::Replica::is_down_error(&e) => Err(e),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "replica lag not measured; reading from the primary");
            Ok(replica.record_lag(f64::INFINITY))
        }
        None => Ok(replica.is_behind()),
    }
}

/// Bounds a connect future by the acquire timeout, which sqlx does not apply to
/// the pool's first connection.
async fn bounded<F: std::future::Future>(f: F, after: std::time::Duration) -> Result<F::Output> {
    tokio::time::timeout(after, f)
        .await
        .map_err(|_| Error::Timeout {
            what: "the database server to accept a connection",
            after,
        })
}

/// The reason of an I/O error while connecting, in the words of `psql`
/// ("connection refused"), without the OS error number.
fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by the server".into(),
        K::TimedOut => "timed out".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        K::AddrNotAvailable => "address not available".into(),
        _ => {
            let text = e.to_string();
            match text.split_once(" (os error") {
                Some((reason, _)) => reason.to_lowercase(),
                None => text,
            }
        }
    }
}
