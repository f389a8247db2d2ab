//! [`RhaiScriptRunner`]: runs `.rhai` migration files for the engine's
//! [`Migrator`](dbridge_engine::migrate::Migrator).
//!
//! Each migration gets a fresh engine ([`sandboxed_engine_with`]'s limits).
//! The file defines `fn up(db) { ... }` and `fn down(db) { ... }`; the runner
//! calls the one asked for, on a blocking thread, with `db`: a `Database`
//! bound to the migration's transaction, where raw SQL, models of its own
//! (`db.model(#{...})`, `db.reflect()`), queries, writes and sessions all run.
//! A session there borrows the transaction call by call: its `commit`
//! flushes, its `rollback` fails (the engine's `Session::borrowing`). When the
//! function returns, the transaction goes back to the runner, which records
//! the migration and commits; an error rolls the migration back. Transaction
//! control in raw SQL (`COMMIT`, `SAVEPOINT`...) is refused there as in any
//! transaction, and `dbridge::connect` refuses: a migration cannot open other
//! databases.

use std::sync::Arc;

use dbridge_engine::migrate::{
    Direction, MigrationFile, MigrationKind, ScriptMigration, ScriptRunner,
};
use dbridge_engine::{Error, MigrationFailure, Result, Transaction};
use futures_util::future::BoxFuture;
use rhai::{Dynamic, Engine, EvalAltResult, Scope};
use tokio::sync::Mutex;

use crate::objects::database::{Db, Slot};
use crate::runtime::blocker::allow_blocking;
use crate::runtime::options::Options;

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
    let dbridge = crate::register_with(&mut engine, options, false)?;
    let database = transaction.database().clone();
    let slot: Slot = Arc::new(Mutex::new(Some(transaction)));
    let db = Db::bound(database, dbridge.blocker.clone(), slot.clone());
    let outcome = call_function(&engine, &file, direction, &db);
    // Whatever the script kept (a row stream, a session) goes with the
    // engine's values.
    drop(engine);
    drop(db);
    let tx = slot.try_lock().ok().and_then(|mut g| g.take());
    match (outcome, tx) {
        (Ok(()), Some(tx)) => Ok(tx),
        (Ok(()), None) => Err(script_failed(
            &file,
            direction,
            "the migration's transaction was still in use (a row stream left open?)",
        )),
        (Err(message), tx) => {
            if let Some(tx) = tx {
                let _ = dbridge.blocker.block_on(tx.rollback());
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
    db: &Db,
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
