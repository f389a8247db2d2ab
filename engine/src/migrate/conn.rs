//! The connection a migration runs on: an engine [`Transaction`], or on SQLite
//! a pooled connection with foreign keys off for the length of one transaction
//! (SQLite's documented procedure for schema changes: `PRAGMA foreign_keys`
//! cannot change inside a transaction, so it is set before `BEGIN IMMEDIATE`
//! and restored after `COMMIT`, and `PRAGMA foreign_key_check` runs before it).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnection;

use crate::db::pool::Pooled;

use crate::db::{ConnRef, Database, Hooks, Pool, Row, Statement, Transaction, sql_text, tx_state};
use crate::error::{Backend, Error, MigrationFailure, Result};

/// A pooled SQLite connection inside `BEGIN IMMEDIATE` with foreign keys off.
#[cfg(feature = "sqlite")]
pub(crate) struct SqliteSchemaTx {
    conn: Pooled<SqliteConnection>,
    hooks: Arc<Hooks>,
    done: bool,
    /// Foreign key violations present before the transaction's changes, by
    /// (table, parent table): only new ones fail it. (Row ids may change when
    /// a table is rebuilt, so rows are counted, not named.)
    violations_before: HashMap<(String, String), usize>,
}

#[cfg(feature = "sqlite")]
impl Drop for SqliteSchemaTx {
    fn drop(&mut self) {
        if !self.done {
            // Dropped mid-way (a cancelled future): the connection goes back to
            // the pool with the transaction rolled back and foreign keys on
            // again before anyone else uses it.
            self.conn.reset_with_first("ROLLBACK");
            self.conn.reset_with("PRAGMA foreign_keys = ON");
        }
    }
}

#[cfg(feature = "sqlite")]
impl SqliteSchemaTx {
    pub(crate) async fn begin(db: &Database) -> Result<Self> {
        let Pool::Sqlite(pool) = db.pool() else {
            return Err(Error::InvalidState(
                "a SQLite schema transaction on another backend".into(),
            ));
        };
        let conn = pool.acquire().await.map_err(|e| db.map_sqlx(e, None))?;
        let mut tx = Self {
            conn,
            hooks: db.hooks().clone(),
            done: false,
            violations_before: HashMap::new(),
        };
        tx.raw("PRAGMA foreign_keys = OFF").await?;
        if let Err(e) = tx.raw("BEGIN IMMEDIATE").await {
            tx.finish().await?;
            return Err(e);
        }
        match tx.violations().await {
            Ok(v) => tx.violations_before = v,
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
        Ok(tx)
    }

    /// `PRAGMA foreign_key_check`, counted by (table, parent table).
    async fn violations(&mut self) -> Result<HashMap<(String, String), usize>> {
        let rows = self
            .fetch_all(Statement::new("PRAGMA foreign_key_check", Vec::new()))
            .await?;
        let text = |r: &Row, i: usize| {
            r.get(i)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let mut out = HashMap::new();
        for r in &rows {
            *out.entry((text(r, 0), text(r, 2))).or_insert(0) += 1;
        }
        Ok(out)
    }

    /// Runs a statement of the runner's own (transaction control included).
    async fn raw(&mut self, sql: &'static str) -> Result<u64> {
        self.conn_ref().execute(&Statement::control(sql)).await
    }

    fn conn_ref(&mut self) -> ConnRef<'_> {
        let (conn, health) = self.conn.parts();
        ConnRef::Sqlite(conn, &self.hooks, health)
    }

    /// Runs a migration's statement: transaction control is refused.
    pub(crate) async fn execute(&mut self, stmt: &Statement) -> Result<u64> {
        sql_text::refuse_transaction_control(&stmt.sql, Backend::Sqlite, OWNER)?;
        self.conn_ref().execute(stmt).await
    }

    /// Fails when the transaction was ended from inside.
    async fn check_open(&mut self) -> Result<()> {
        if tx_state::sqlite_in_transaction(&mut self.conn).await? {
            Ok(())
        } else {
            Err(tx_state::escaped("the migration's transaction"))
        }
    }

    pub(crate) async fn fetch_all(&mut self, stmt: Statement) -> Result<Vec<Row>> {
        self.conn_ref().fetch(stmt).try_collect().await
    }

    /// Checks every foreign key, then commits; rolls back when a row breaks
    /// one that it did not break before the transaction.
    pub(crate) async fn commit(mut self, file: Option<&str>) -> Result<()> {
        if let Err(e) = self.check_open().await {
            self.finish().await?;
            return Err(e);
        }
        let after = self.violations().await?;
        let broken = after.iter().find_map(|(k, n)| {
            let before = self.violations_before.get(k).copied().unwrap_or(0);
            (*n > before).then(|| (n - before, k.0.clone(), k.1.clone()))
        });
        if let Some((count, table, parent)) = broken {
            self.rollback().await?;
            return Err(Error::Migration {
                reason: MigrationFailure::ForeignKeyCheck,
                file: file.map(str::to_owned),
                message: format!(
                    "{}foreign key check failed: {} row(s) of `{}` reference missing rows of `{}`; rolled back",
                    file.map(|f| format!("migration {f}: ")).unwrap_or_default(),
                    count,
                    table,
                    parent
                ),
                source: None,
            });
        }
        self.raw("COMMIT").await?;
        self.finish().await
    }

    /// Rolls back; [`Error::InvalidState`] when the transaction had already
    /// been ended from inside (its changes may be saved).
    pub(crate) async fn rollback(mut self) -> Result<()> {
        let open = self.check_open().await;
        let _ = self.raw("ROLLBACK").await;
        self.finish().await?;
        open
    }

    async fn finish(&mut self) -> Result<()> {
        self.raw("PRAGMA foreign_keys = ON").await?;
        self.done = true;
        Ok(())
    }
}

/// What the refusal of transaction control names as the owner.
const OWNER: &str = "a migration";

/// Where a migration's statements run.
pub(crate) enum MigrationTx {
    /// An engine transaction.
    Engine(Transaction),
    /// SQLite with foreign keys off.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteSchemaTx),
}

impl MigrationTx {
    /// A transaction for schema changes: on SQLite with foreign keys off, on
    /// PostgreSQL an ordinary one.
    pub(crate) async fn begin_schema(db: &Database) -> Result<Self> {
        match db.backend() {
            #[cfg(not(feature = "sqlite"))]
            Backend::Sqlite => Err(crate::db::missing_driver(Backend::Sqlite)),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                // Another runner holds the write lock: wait for it (each try
                // waits the connection's busy timeout).
                let mut tries = 0;
                loop {
                    match SqliteSchemaTx::begin(db).await {
                        Ok(tx) => return Ok(Self::Sqlite(tx)),
                        Err(e) if e.kind() == crate::ErrorKind::Busy && tries < 120 => tries += 1,
                        Err(e) => return Err(e),
                    }
                }
            }
            Backend::Postgres => {
                let mut tx = db.begin().await?;
                tx.pin_identity().await?;
                Ok(Self::Engine(tx))
            }
        }
    }

    pub(crate) async fn execute(&mut self, stmt: &Statement) -> Result<u64> {
        match self {
            Self::Engine(tx) => tx.execute_statement(stmt).await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.execute(stmt).await,
        }
    }

    pub(crate) async fn fetch_all(&mut self, stmt: Statement) -> Result<Vec<Row>> {
        match self {
            Self::Engine(tx) => tx.fetch_all_statement(stmt).await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.fetch_all(stmt).await,
        }
    }

    pub(crate) async fn commit(self, file: Option<&str>) -> Result<()> {
        match self {
            Self::Engine(tx) => tx.commit().await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.commit(file).await,
        }
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self {
            Self::Engine(tx) => tx.rollback().await,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(tx) => tx.rollback().await,
        }
    }
}

/// Runs `statements` in one transaction (on SQLite with foreign keys off and
/// checked before commit): all of them, or none if one fails.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::{Database, Statement};
/// use dbridge_engine::migrate::apply;
/// let db = Database::connect("sqlite::memory:").await?;
/// let err = apply(&db, &[
///     Statement::new("CREATE TABLE a (x INTEGER)", vec![]),
///     Statement::new("CREATE TABLE a (x INTEGER)", vec![]),
/// ]).await.unwrap_err();
/// assert!(err.to_string().contains("already exists"));
/// assert!(db.fetch_optional("SELECT 1 FROM sqlite_master WHERE name = 'a'", &[]).await?.is_none());
/// # Ok(()) }
/// ```
///
/// # Errors
/// The first failing statement's error (everything rolled back);
/// [`Error::Migration`] when a foreign key is broken afterwards (SQLite).
pub async fn apply(db: &Database, statements: &[Statement]) -> Result<()> {
    let mut tx = MigrationTx::begin_schema(db).await?;
    for s in statements {
        if let Err(e) = tx.execute(s).await {
            let _ = tx.rollback().await;
            return Err(e);
        }
    }
    tx.commit(None).await
}
