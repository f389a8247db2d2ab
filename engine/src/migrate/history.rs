//! The history table: one row per applied migration (version, name,
//! checksum, applied at, duration), and the lock that serialises runners.

use crate::db::{Database, Row, Statement};
use crate::error::{Backend, Result};
use crate::ident::Ident;
use crate::value::Value;

use super::conn::MigrationTx;

/// A migration recorded as applied.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedMigration {
    /// Its version.
    pub version: i64,
    /// Its name.
    pub name: String,
    /// The checksum of its file when it was applied.
    pub checksum: String,
    /// When it was applied, as the database writes a timestamp.
    pub applied_at: String,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// The key of the PostgreSQL advisory lock for a history table: a stable hash
/// of its name, so that runners of one table exclude each other.
fn lock_key(table: &Ident) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"dbridge.migrate:".iter().chain(table.as_str().as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

pub(super) fn create_sql(table: &Ident, backend: Backend) -> String {
    let applied_at = match backend {
        Backend::Postgres => "TIMESTAMPTZ NOT NULL DEFAULT now()",
        Backend::Sqlite => "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))",
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {} (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
         checksum TEXT NOT NULL, applied_at {applied_at}, duration_ms BIGINT NOT NULL)",
        table.quoted()
    )
}

/// Takes the runners' lock for the rest of `tx` (PostgreSQL: a transaction-level
/// advisory lock; SQLite: `BEGIN IMMEDIATE` already holds the write lock).
pub(super) async fn lock(tx: &mut MigrationTx, table: &Ident) -> Result<()> {
    if let MigrationTx::Engine(t) = tx
        && t.backend() == Backend::Postgres
    {
        t.execute(
            "SELECT pg_advisory_xact_lock($1)::text",
            &[Value::Int8(lock_key(table))],
        )
        .await?;
    }
    Ok(())
}

/// Creates the history table if it is missing (under the lock).
pub(super) async fn ensure(db: &Database, table: &Ident) -> Result<()> {
    let mut tx = MigrationTx::begin_schema(db).await?;
    lock(&mut tx, table).await?;
    if let Err(e) = tx
        .execute(&Statement::new(create_sql(table, db.backend()), Vec::new()))
        .await
    {
        let _ = tx.rollback().await;
        return Err(e);
    }
    tx.commit(None).await
}

/// Whether the history table exists (without creating it).
pub(super) async fn exists(db: &Database, table: &Ident) -> Result<bool> {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1"
        }
        Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
    };
    Ok(db
        .fetch_optional(sql, &[Value::from(table.as_str())])
        .await?
        .is_some())
}

fn select_sql(table: &Ident, only_version: bool) -> String {
    format!(
        "SELECT version, name, checksum, CAST(applied_at AS TEXT) AS applied_at, duration_ms \
         FROM {}{} ORDER BY version",
        table.quoted(),
        if only_version {
            " WHERE version = $1"
        } else {
            ""
        }
    )
}

fn from_row(row: &Row) -> Result<AppliedMigration> {
    let text = |name: &str| -> Result<String> {
        Ok(row.get(name)?.as_str().unwrap_or_default().to_owned())
    };
    Ok(AppliedMigration {
        version: row.get("version")?.as_i64().unwrap_or_default(),
        name: text("name")?,
        checksum: text("checksum")?,
        applied_at: text("applied_at")?,
        duration_ms: row.get("duration_ms")?.as_i64().unwrap_or_default(),
    })
}

/// Every applied migration, by version (empty when the table does not exist).
pub(super) async fn applied(db: &Database, table: &Ident) -> Result<Vec<AppliedMigration>> {
    if !exists(db, table).await? {
        return Ok(Vec::new());
    }
    db.fetch_all(&select_sql(table, false), &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The record of `version`, read inside the migration's transaction.
pub(super) async fn find(
    tx: &mut MigrationTx,
    table: &Ident,
    version: i64,
) -> Result<Option<AppliedMigration>> {
    let rows = tx
        .fetch_all(Statement::new(
            select_sql(table, true),
            vec![Value::Int8(version)],
        ))
        .await?;
    rows.first().map(from_row).transpose()
}

pub(super) async fn record(
    tx: &mut MigrationTx,
    table: &Ident,
    file: &super::files::MigrationFile,
    duration_ms: i64,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO {} (version, name, checksum, duration_ms) VALUES ($1, $2, $3, $4)",
        table.quoted()
    );
    tx.execute(&Statement::new(
        sql,
        vec![
            Value::Int8(file.version),
            Value::from(file.name.as_str()),
            Value::from(file.checksum.as_str()),
            Value::Int8(duration_ms),
        ],
    ))
    .await
    .map(|_| ())
}

pub(super) async fn forget(tx: &mut MigrationTx, table: &Ident, version: i64) -> Result<()> {
    let sql = format!("DELETE FROM {} WHERE version = $1", table.quoted());
    tx.execute(&Statement::new(sql, vec![Value::Int8(version)]))
        .await
        .map(|_| ())
}
