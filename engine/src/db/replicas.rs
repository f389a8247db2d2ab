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
//! not yet see a write just committed elsewhere; with
//! [`ConnectOptions::max_replica_lag`] a replica whose replay lag is over the
//! bound (measured on it at most once a second) is skipped until it catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
#[cfg(feature = "postgres")]
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
    /// When the replay lag was last measured, and whether it was over the bound.
    lag_checked: Mutex<Option<Instant>>,
    behind: AtomicBool,
}

/// How often a replica's replay lag is measured, at most.
const LAG_CHECK_EVERY: Duration = Duration::from_secs(1);

/// The replay lag in seconds: 0 when everything received is replayed; when
/// something is not and no transaction has been replayed since the replica
/// started (no timestamp to measure from), a billion: behind, to be safe.
pub(crate) const LAG_SQL: &str = "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() \
     THEN 0::float8 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, 1e9) \
     END AS lag";

/// The replicas of a database.
pub(crate) struct Replicas {
    list: Vec<Arc<Replica>>,
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
                lag_checked: Mutex::new(None),
                behind: AtomicBool::new(false),
            };
            let warm = tokio::time::timeout(options.get_acquire_timeout(), replica.pool.warm_up());
            if !matches!(warm.await, Ok(Ok(()))) {
                tracing::warn!(
                    replica = replica.target.shown(),
                    "replica unreachable; reads go to the primary"
                );
                replica.mark_down();
            }
            list.push(Arc::new(replica));
        }
        Ok(Self {
            list,
            next: AtomicUsize::new(0),
        })
    }

    /// The replica to run `stmt` on, if it is a read and a replica is up.
    pub(crate) fn for_read(&self, stmt: &Statement) -> Option<&Arc<Replica>> {
        if self.list.is_empty() || !stmt.is_read_only() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.list.len())
            .map(|k| &self.list[(start + k) % self.list.len()])
            .find(|r| r.is_up() && (!r.is_behind() || r.lag_check_due()))
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

    /// Whether the replay lag is due for a measurement: a bound is set and
    /// the last one is over a second old.
    pub(crate) fn lag_check_due(&self) -> bool {
        self.options.get_max_replica_lag().is_some()
            && self
                .lag_checked
                .lock()
                .is_none_or(|t| t.elapsed() >= LAG_CHECK_EVERY)
    }

    /// Notes that a measurement is being taken now.
    pub(crate) fn lag_checking(&self) {
        *self.lag_checked.lock() = Some(Instant::now());
    }

    /// Records a measured lag (seconds); whether the replica is now behind.
    pub(crate) fn record_lag(&self, seconds: f64) -> bool {
        let bound = self
            .options
            .get_max_replica_lag()
            .map_or(f64::INFINITY, |d| d.as_secs_f64());
        let behind = seconds > bound;
        if behind != self.behind.swap(behind, Ordering::AcqRel) {
            tracing::info!(
                replica = self.target.shown(),
                lag = seconds,
                behind,
                "replica lag"
            );
        }
        behind
    }

    /// Whether the last measurement found the replica behind the bound.
    pub(crate) fn is_behind(&self) -> bool {
        self.behind.load(Ordering::Acquire)
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
