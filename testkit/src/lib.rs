//! Test support: an isolated database on each backend, so that tests run in
//! parallel and re-run cleanly.
//!
//! PostgreSQL tests connect to `DBRIDGE_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own
//! created for the test and dropped when the [`TestDb`] is dropped, even when
//! the test panics. SQLite tests get a fresh database file in a temporary
//! directory, removed afterwards.
//!
//! Setup failures (no server, no temp directory) panic on purpose: this is test
//! support, and a test cannot go on without its database.
#![warn(missing_docs)]

pub mod cluster;
pub mod layers;
pub mod server;
mod statement_log;

use std::path::PathBuf;

use dbridge_engine::schema::{Column, Model, ModelBuilder};
use dbridge_engine::{Backend, ConnectOptions, Database, SqlType};

pub use cluster::{Cluster, cluster};
pub use server::{PgBouncer, PgServer};
pub use statement_log::StatementLog;

/// The PostgreSQL server tests use.
pub fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn with_query(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// An isolated database for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The database, connected.
    pub db: Database,
    /// The URL it was opened with (for tests that open more connections).
    pub url: String,
    schema: Option<String>,
    dir: Option<PathBuf>,
}

impl TestDb {
    /// A fresh database on `backend`.
    ///
    /// # Panics
    /// When the server cannot be reached: a test environment problem.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite().await,
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite database in a temporary file (removed on drop): several
    /// connections at once, as an application has (an in-memory database is
    /// served by a single connection).
    pub async fn sqlite() -> Self {
        Self::sqlite_file().await
    }

    /// A fresh SQLite database in a file (for tests of several connections).
    pub async fn sqlite_file() -> Self {
        let dir =
            std::env::temp_dir().join(format!("dbridge-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}", dir.join("test.db").display());
        let db = Database::connect(&url).await.expect("open sqlite file");
        Self {
            db,
            url,
            schema: None,
            dir: Some(dir),
        }
    }

    /// A fresh schema on the test PostgreSQL server, first on the search path.
    pub async fn postgres() -> Self {
        Self::postgres_with(ConnectOptions::new()).await
    }

    /// As [`TestDb::postgres`], with connection options.
    pub async fn postgres_with(options: ConnectOptions) -> Self {
        let schema = format!("dbridge_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&pg_url())
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute(&format!("CREATE SCHEMA \"{schema}\""), &[])
            .await
            .expect("create test schema");
        admin.close().await;
        let url = with_query(&pg_url(), &format!("options=-c%20search_path%3D{schema}"));
        let db = Database::connect_with(&url, options)
            .await
            .expect("connect to test schema");
        Self {
            db,
            url,
            schema: Some(schema),
            dir: None,
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop may run inside the test's runtime (or while it unwinds): clean up
        // from a thread of our own with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(rt) = rt else { return };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(&pg_url()).await {
                    let _ = admin
                        .execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"), &[])
                        .await;
                    admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// A model named `name` on `table` whose first column is `id bigint PRIMARY
/// KEY`: how most test models begin. Add columns and `build()`.
pub fn keyed(name: &str, table: &str) -> ModelBuilder {
    Model::builder(name)
        .table(table)
        .column(Column::new("id", SqlType::Int8).primary_key())
}

/// The number of rows in `table` (a test's own table name, written into the
/// SQL as given).
///
/// # Panics
/// When the query fails: the table is missing or the server is gone.
pub async fn count_rows(db: &Database, table: &str) -> i64 {
    let row = db
        .fetch_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await
        .unwrap_or_else(|e| panic!("count the rows of {table}: {e}"));
    row.get("n")
        .ok()
        .and_then(|v| v.as_i64())
        .expect("count(*) is an integer")
}

/// The first column of every row `sql` returns, as integers.
///
/// # Panics
/// When the query fails or a value is not an integer.
pub async fn fetch_ints(db: &Database, sql: &str) -> Vec<i64> {
    let rows = db
        .fetch_all(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| r.get(0).ok().and_then(|v| v.as_i64()).expect("an integer"))
        .collect()
}

/// The query that reads [`create_victims`]' table.
pub const VICTIMS: &str = "SELECT n FROM victims ORDER BY n";

/// Creates `victims (n INTEGER)` holding one row, 1: the table a test of
/// something that must change nothing reads again afterwards ([`VICTIMS`]).
///
/// # Panics
/// When the table cannot be made.
pub async fn create_victims(db: &Database) {
    db.execute("CREATE TABLE victims (n INTEGER)", &[])
        .await
        .expect("create victims");
    db.execute("INSERT INTO victims VALUES (1)", &[])
        .await
        .expect("insert a victim");
}

/// Whether a table `name` exists (on PostgreSQL: in the current schema).
///
/// # Panics
/// When the catalog cannot be read.
pub async fn table_exists(db: &Database, name: &str) -> bool {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE name = $1",
        Backend::Postgres => {
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    db.fetch_optional(sql, &[name.into()])
        .await
        .expect("read the catalog")
        .is_some()
}

impl TestDb {
    /// [`count_rows`] on this database.
    pub async fn count(&self, table: &str) -> i64 {
        count_rows(&self.db, table).await
    }
}

/// Runs the same async test body on every backend: one `#[tokio::test]` per
/// backend, named `sqlite` and `postgres` inside a module named after the test.
///
/// ```text
/// dbridge_testkit::each_backend!(inserts_rows, |t| async move {
///     t.db.execute("CREATE TABLE x (n INTEGER)", &[]).await.unwrap();
/// });
/// ```
#[macro_export]
macro_rules! each_backend {
    ($name:ident, |$t:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $t = $crate::TestDb::sqlite().await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $t = $crate::TestDb::postgres().await;
                $body.await
            }
        }
    };
}
