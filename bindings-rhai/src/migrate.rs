//! [`RhaiScriptRunner`]: runs `.rhai` migration files for the engine's
//! [`Migrator`](dbridge_engine::migrate::Migrator).
//!
//! Each migration gets a fresh engine ([`sandboxed_engine_with`]'s limits).
//! The file defines `fn up(db) { ... }` and `fn down(db) { ... }`; the runner
//! calls the one asked for, on a blocking thread, with `db`: an object (Rhai
//! type `Migration`) that runs raw SQL in the migration's transaction
//! (`execute`, `fetch_all`, `fetch_one`, `fetch_optional`, `stream`,
//! `backend`). When it returns, the transaction goes back to the runner, which
//! records the migration and commits; an error rolls the migration back.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::migrate::{
    Direction, MigrationFile, MigrationKind, ScriptMigration, ScriptRunner,
};
use dbridge_engine::{Backend, Error, MigrationFailure, Result, Row, Statement, Transaction};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use rhai::{Dynamic, Engine, EvalAltResult, Scope};
use tokio::sync::Mutex;

use crate::options::Options;
use crate::raw_sql::Executor;
use crate::runtime::{Blocker, allow_blocking};

type Slot = Arc<Mutex<Option<Transaction>>>;

/// Runs `.rhai` migrations: register it with
/// [`Migrator::script_runner`](dbridge_engine::migrate::Migrator::script_runner).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use std::sync::Arc;
/// use dbridge_engine::Database;
/// use dbridge_engine::migrate::Migrator;
/// let dir = std::env::temp_dir().join(format!("dbridge-rhai-mig-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("0001_notes.rhai"), r#"
///     fn up(db) { db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"); }
///     fn down(db) { db.execute("DROP TABLE notes"); }
/// "#).unwrap();
/// let db = Database::connect("sqlite::memory:").await?;
/// let migrator = Migrator::new(db.clone(), &dir)
///     .script_runner(Arc::new(dbridge_rhai::RhaiScriptRunner::new()));
/// migrator.up(None).await?;
/// assert_eq!(db.fetch_one("SELECT count(*) AS n FROM notes", &[]).await?.get("n")?.as_i64(), Some(0));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RhaiScriptRunner {
    options: Options,
}

impl Default for RhaiScriptRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl RhaiScriptRunner {
    /// A runner whose engines have the limits of [`Options::sandboxed`].
    pub fn new() -> Self {
        Self::with_options(Options::sandboxed())
    }

    /// A runner whose engines are registered with `options` (the runtime is
    /// the one the migrator runs on, whatever `options` says).
    pub fn with_options(options: Options) -> Self {
        Self { options }
    }
}

impl ScriptRunner for RhaiScriptRunner {
    fn handles(&self, kind: MigrationKind) -> bool {
        kind == MigrationKind::Rhai
    }

    fn run(&self, migration: ScriptMigration) -> BoxFuture<'static, Result<Transaction>> {
        let options = self.options.clone();
        Box::pin(async move {
            let file = migration.file.clone();
            let direction = migration.direction;
            let handle = tokio::runtime::Handle::try_current()
                .map_err(|e| script_failed(&file, direction, &e.to_string()))?;
            let job = tokio::task::spawn_blocking(move || {
                allow_blocking(|| run_blocking(options.runtime(handle), migration))
            });
            match job.await {
                Ok(r) => r,
                Err(e) => Err(script_failed(&file, direction, &e.to_string())),
            }
        })
    }
}

fn run_blocking(options: Options, m: ScriptMigration) -> Result<Transaction> {
    let ScriptMigration {
        file,
        direction,
        transaction,
    } = m;
    let mut engine = Engine::new();
    engine.disable_symbol("eval");
    let dbridge = crate::register(&mut engine, options)?;
    register(&mut engine);
    let db = MigrationDb {
        backend: transaction.backend(),
        slot: Arc::new(Mutex::new(Some(transaction))),
        blocker: dbridge.blocker.clone(),
    };
    let outcome = call_function(&engine, &file, direction, &db);
    // Whatever the script kept (a row stream) goes with the engine's values.
    drop(engine);
    let tx = db.slot.try_lock().ok().and_then(|mut g| g.take());
    match (outcome, tx) {
        (Ok(()), Some(tx)) => Ok(tx),
        (Ok(()), None) => Err(script_failed(
            &file,
            direction,
            "the migration's transaction was still in use (a row stream left open?)",
        )),
        (Err(message), tx) => {
            if let Some(tx) = tx {
                let _ = db.blocker.block_on(tx.rollback());
            }
            Err(script_failed(&file, direction, &message))
        }
    }
}

/// Compiles the file and calls its `up` or `down` with `db`; the error's text
/// on failure.
fn call_function(
    engine: &Engine,
    file: &MigrationFile,
    direction: Direction,
    db: &MigrationDb,
) -> std::result::Result<(), String> {
    let name = direction.as_str();
    let ast = engine
        .compile(&*file.source)
        .map_err(|e| format!("syntax error: {e}"))?;
    if !ast
        .iter_functions()
        .any(|f| f.name == name && f.params.len() == 1)
    {
        return Err(format!(
            "it defines no `{name}` function (write `fn {name}(db) {{ ... }}`)"
        ));
    }
    let mut scope = Scope::new();
    engine
        .call_fn::<Dynamic>(&mut scope, &ast, name, (db.clone(),))
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// A script error as one line: a dbridge error's kind and message, or Rhai's
/// own text, with the line where it happened.
fn describe(e: &EvalAltResult) -> String {
    let inner = e.unwrap_inner();
    match crate::db_error(inner) {
        Some(d) => {
            let pos = inner.position();
            let at = pos
                .line()
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            format!("{}: {}{at}", d.kind(), d.message())
        }
        None => inner.to_string(),
    }
}

fn script_failed(file: &MigrationFile, direction: Direction, message: &str) -> Error {
    Error::Migration {
        reason: MigrationFailure::Failed,
        file: Some(file.file_name()),
        message: format!(
            "migration {} failed in its {} function: {message}; it was rolled back",
            file.file_name(),
            direction.as_str()
        ),
        source: None,
    }
}

/// The `db` of a migration's function (Rhai type `Migration`): raw SQL in the
/// migration's transaction, which only the runner commits.
#[derive(Clone)]
struct MigrationDb {
    slot: Slot,
    blocker: Blocker,
    backend: Backend,
}

impl fmt::Debug for MigrationDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationDb")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn busy() -> Error {
    Error::InvalidState(
        "the migration's transaction is busy: a row stream over it is still open".into(),
    )
}

fn finished() -> Error {
    Error::InvalidState("the migration's transaction has finished".into())
}

impl MigrationDb {
    fn with<T>(
        &self,
        f: impl AsyncFnOnce(&mut Transaction) -> std::result::Result<T, Error>,
    ) -> std::result::Result<T, Error> {
        let mut guard = self.slot.try_lock().map_err(|_| busy())?;
        let tx = guard.as_mut().ok_or_else(finished)?;
        self.blocker.block_on(f(tx))?
    }
}

impl Executor for MigrationDb {
    fn blocker(&self) -> &Blocker {
        &self.blocker
    }

    fn execute(&self, stmt: Statement) -> std::result::Result<u64, Error> {
        self.with(async move |tx| tx.execute_statement(&stmt).await)
    }

    fn fetch_all(&self, stmt: Statement) -> std::result::Result<Vec<Row>, Error> {
        self.with(async move |tx| tx.fetch_all_statement(stmt).await)
    }

    fn fetch_optional(&self, stmt: Statement) -> std::result::Result<Option<Row>, Error> {
        self.with(async move |tx| tx.fetch_statement(stmt).next().await.transpose())
    }

    fn stream(
        &self,
        stmt: Statement,
    ) -> std::result::Result<BoxStream<'static, std::result::Result<Row, Error>>, Error> {
        let guard = self.slot.clone().try_lock_owned().map_err(|_| busy())?;
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
}

/// Registers the `Migration` type (the `db` of a migration's functions).
fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<MigrationDb>("Migration")
        .register_fn("backend", |d: &mut MigrationDb| {
            d.backend.name().to_string()
        })
        .register_fn("to_string", |d: &mut MigrationDb| {
            format!("Migration({})", d.backend.name())
        });
    crate::raw_sql::register::<MigrationDb>(engine);
}
