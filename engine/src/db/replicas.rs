//! Read replicas: PostgreSQL hot standbys that take the reads a
//! [`Database`](super::Database) runs outside any transaction.
//!
//! What goes where:
//! - a statement that only reads ([`Statement::is_read_only`]), run on the
//!   database itself (not in a transaction, a session or a sandbox), goes to
//!   the next healthy replica, round robin;
//! - everything else goes to the primary: writes, transactions, sessions
//!   (whose queries run in their transaction, so a session always reads its
//!   own writes), migrations, and anything run through
//!   [`Database::primary`](super::Database::primary).
//!
//! A replica that cannot be reached (or whose connection breaks before a row
//! arrives) is skipped for [`ConnectOptions::replica_retry_after`] and the read
//! runs on the primary instead: a dead replica never fails a read. Replicas
//! replay the primary's changes with some delay, so a read routed to one may
//! not yet see a write just committed elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use sqlx::postgres::PgConnection;

use super::driver_error::{self, ErrorContext};
use super::options::{ConnectOptions, Target};
use super::pool::ConnPool;
use super::statement::Statement;
use crate::error::{Backend, Error, ErrorKind, Result};

/// One replica's pool and health.
pub(crate) struct Replica {
    pub(crate) pool: Arc<ConnPool<PgConnection>>,
    target: Target,
    options: ConnectOptions,
    down_until: Mutex<Option<Instant>>,
}

/// The replicas of a database.
pub(crate) struct Replicas {
    list: Vec<Replica>,
    next: AtomicUsize,
}

impl Replicas {
    /// Opens a pool per replica URL. A replica that cannot be reached now is
    /// marked down (and tried again later), not an error; a malformed URL or
    /// one of another backend is.
    pub(crate) async fn connect(urls: &[&str], options: &ConnectOptions) -> Result<Self> {
        let mut list = Vec::with_capacity(urls.len());
        for (i, url) in urls.iter().enumerate() {
            let target = Target::parse(url)?;
            let Target::Postgres { options: o, .. } = &target else {
                return Err(Error::Configuration(format!(
                    "replica {} is not a PostgreSQL URL: read replicas are PostgreSQL standbys",
                    i + 1
                )));
            };
            let limits = options.limits(false).labelled(format!("replica {}", i + 1));
            let pool = ConnPool::new(options.pg((**o).clone()), limits);
            let replica = Replica {
                pool,
                target,
                options: options.clone(),
                down_until: Mutex::new(None),
            };
            let warm = tokio::time::timeout(options.get_acquire_timeout(), replica.pool.warm_up());
            if !matches!(warm.await, Ok(Ok(()))) {
                tracing::warn!(
                    replica = replica.target.shown(),
                    "replica unreachable; reads go to the primary"
                );
                replica.mark_down();
            }
            list.push(replica);
        }
        Ok(Self {
            list,
            next: AtomicUsize::new(0),
        })
    }

    /// The replica to run `stmt` on, if it is a read and a replica is up.
    pub(crate) fn for_read(&self, stmt: &Statement) -> Option<&Replica> {
        if self.list.is_empty() || !stmt.is_read_only() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.list.len())
            .map(|k| &self.list[(start + k) % self.list.len()])
            .find(|r| r.is_up())
    }

    /// How many replicas there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Closes every replica's pool.
    pub(crate) async fn close(&self) {
        for r in &self.list {
            r.pool.close().await;
        }
    }
}

impl Replica {
    fn is_up(&self) -> bool {
        let mut down = self.down_until.lock();
        match *down {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                *down = None;
                true
            }
            None => true,
        }
    }

    /// Skips this replica for a while.
    pub(crate) fn mark_down(&self) {
        *self.down_until.lock() = Some(Instant::now() + self.options.get_replica_retry_after());
    }

    /// Whether `err` means the replica itself failed (rather than the statement).
    pub(crate) fn is_down_error(err: &Error) -> bool {
        matches!(
            err.kind(),
            ErrorKind::Connection | ErrorKind::Timeout | ErrorKind::ConnectionLost
        )
    }

    /// A driver error of this replica, with its password scrubbed.
    pub(crate) fn map_sqlx(&self, e: sqlx::Error) -> Error {
        driver_error::map(
            e,
            Backend::Postgres,
            ErrorContext {
                sql: None,
                password: self.target.password(),
                acquire_timeout: Some(self.options.get_acquire_timeout()),
                ..Default::default()
            },
        )
    }
}
