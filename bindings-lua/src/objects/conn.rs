//! [`Conn`]: where the statements of a database handle, its models and its
//! queries run: the pool, or the transaction of the migration whose `db` the
//! handle is (see `migrate.rs`).

use std::sync::Arc;

use dbridge_engine::migrate::{DEFAULT_HISTORY_TABLE, Reflected};
use dbridge_engine::query::Run;
use dbridge_engine::{Backend, Database, ErrorKind, Row};

use crate::convert::error::LuaDbError;
use crate::objects::transaction::{TxSlot, finished};

/// The pool, or a migration's transaction.
#[derive(Debug, Clone)]
pub(crate) enum Conn {
    /// Each statement on a pooled connection.
    Pool(Database),
    /// Every statement in the migration's transaction (the database is the
    /// one it belongs to).
    Bound(Database, Arc<TxSlot>),
}

impl Conn {
    /// The database.
    pub(crate) fn database(&self) -> &Database {
        match self {
            Self::Pool(db) | Self::Bound(db, _) => db,
        }
    }

    /// The backend.
    pub(crate) fn backend(&self) -> Backend {
        self.database().backend()
    }

    /// The migration's transaction, when bound to one.
    pub(crate) fn slot(&self) -> Option<&Arc<TxSlot>> {
        match self {
            Self::Pool(_) => None,
            Self::Bound(_, slot) => Some(slot),
        }
    }

    /// Runs a built statement; the rows affected.
    pub(crate) async fn execute<R: Run + Sync>(&self, stmt: &R) -> Result<u64, LuaDbError> {
        Ok(match self {
            Self::Pool(db) => stmt.execute(db).await?,
            Self::Bound(_, slot) => {
                let mut g = slot.lock()?;
                stmt.execute(g.as_mut().ok_or_else(finished)?).await?
            }
        })
    }

    /// Runs a built statement and collects its rows.
    pub(crate) async fn fetch_all<R: Run + Sync>(&self, stmt: &R) -> Result<Vec<Row>, LuaDbError> {
        Ok(match self {
            Self::Pool(db) => stmt.fetch_all(db).await?,
            Self::Bound(_, slot) => {
                let mut g = slot.lock()?;
                stmt.fetch_all(g.as_mut().ok_or_else(finished)?).await?
            }
        })
    }

    /// The result column names of `sql`, without running it.
    pub(crate) async fn describe_columns(&self, sql: &str) -> Result<Vec<String>, LuaDbError> {
        Ok(match self {
            Self::Pool(db) => db.describe_columns(sql).await?,
            Self::Bound(_, slot) => {
                let mut g = slot.lock()?;
                g.as_mut()
                    .ok_or_else(finished)?
                    .describe_columns(sql)
                    .await?
            }
        })
    }

    /// The live tables as models (in a migration: as its transaction sees
    /// them), the migration history table left out.
    pub(crate) async fn reflect(&self) -> Result<Reflected, LuaDbError> {
        Ok(match self {
            Self::Pool(db) => Reflected::from_database(db, DEFAULT_HISTORY_TABLE).await?,
            Self::Bound(_, slot) => {
                let mut g = slot.lock()?;
                let tx = g.as_mut().ok_or_else(finished)?;
                Reflected::from_transaction(tx, DEFAULT_HISTORY_TABLE).await?
            }
        })
    }

    /// Fails for a migration's `db` with what to do instead of `what`.
    pub(crate) fn not_in_migration(&self, what: &str, instead: &str) -> Result<(), LuaDbError> {
        match self {
            Self::Pool(_) => Ok(()),
            Self::Bound(..) => Err(LuaDbError::new(
                ErrorKind::InvalidState,
                format!("{what} is not available on a migration's db: {instead}"),
            )),
        }
    }
}
