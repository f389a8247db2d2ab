//! [`LuaScriptRunner`]: runs `.lua` migration files for the engine's
//! [`Migrator`](dbridge_engine::migrate::Migrator).
//!
//! Each migration gets a fresh Lua state made by [`new_lua`] (the sandboxed
//! libraries and the instruction budget of its [`InstallOptions`]). The file
//! either returns a table with `up` and `down` functions or defines them as
//! globals; the runner calls the one asked for with `db`, a database handle
//! bound to the migration's transaction: raw SQL, savepoints, models of its
//! own (`db:model{...}`, `db:reflect()`), queries, writes and sessions all run
//! in that transaction (see [`crate::objects::conn::Conn`]). A session there borrows the
//! transaction call by call: its `commit` flushes, its `rollback` fails (the
//! engine's `Session::borrowing`). When the function returns, the transaction
//! goes back to the runner, which records the migration and commits; an error
//! rolls the migration back. Transaction control in raw SQL (`COMMIT`,
//! `SAVEPOINT`...) is refused there as in any transaction, and
//! `dbridge.connect` refuses: a migration cannot open other databases.

use std::sync::Arc;

use dbridge_engine::migrate::{
    Direction, MigrationFile, MigrationKind, ScriptMigration, ScriptRunner,
};
use dbridge_engine::{Database, Error, MigrationFailure, Result, Transaction};
use futures_util::future::BoxFuture;
use mlua::{Function, Lua, Value as LuaValue};

use crate::objects::database::LuaDb;
use crate::objects::transaction::TxSlot;
use crate::runtime::options::InstallOptions;
use crate::{call, new_lua};

/// Runs `.lua` migrations: register it with
/// [`Migrator::script_runner`](dbridge_engine::migrate::Migrator::script_runner).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use std::sync::Arc;
/// use dbridge_engine::Database;
/// use dbridge_engine::migrate::Migrator;
/// let dir = std::env::temp_dir().join(format!("dbridge-lua-mig-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("0001_notes.lua"), r#"
///     function up(db) db:execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)") end
///     function down(db) db:execute("DROP TABLE notes") end
/// "#).unwrap();
/// let db = Database::connect("sqlite::memory:").await?;
/// let migrator = Migrator::new(db.clone(), &dir)
///     .script_runner(Arc::new(dbridge_lua::LuaScriptRunner::new()));
/// migrator.up(None).await?;
/// assert_eq!(db.fetch_one("SELECT count(*) AS n FROM notes", &[]).await?.get("n")?.as_i64(), Some(0));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct LuaScriptRunner {
    options: InstallOptions,
}

impl LuaScriptRunner {
    /// A runner with the default [`InstallOptions`] (the sandboxed libraries,
    /// 100 million instructions per function call).
    pub fn new() -> Self {
        Self::default()
    }

    /// A runner whose Lua states are made with `options`.
    pub fn with_options(options: InstallOptions) -> Self {
        Self { options }
    }
}

impl ScriptRunner for LuaScriptRunner {
    fn handles(&self, kind: MigrationKind) -> bool {
        kind == MigrationKind::Lua
    }

    fn run(&self, migration: ScriptMigration) -> BoxFuture<'static, Result<Transaction>> {
        let options = self.options.clone();
        Box::pin(run(options, migration))
    }
}

async fn run(options: InstallOptions, m: ScriptMigration) -> Result<Transaction> {
    let ScriptMigration {
        file,
        direction,
        transaction,
    } = m;
    let database = transaction.database().clone();
    let slot = Arc::new(TxSlot::new(transaction, None));
    // The Lua state (and any row stream or session the script left open) is
    // gone once this returns, so the transaction is free to take back.
    let outcome = call_function(options, &file, direction, &slot, database).await;
    let tx = match slot.lock() {
        Ok(mut guard) => guard.take(),
        Err(_) => None,
    };
    match (outcome, tx) {
        (Ok(()), Some(tx)) => Ok(tx),
        (Ok(()), None) => Err(script_failed(
            &file,
            direction,
            "the migration's transaction was no longer available when it returned",
        )),
        (Err(message), tx) => {
            if let Some(tx) = tx {
                // The error is what matters; a failed rollback commits nothing either.
                let _ = tx.rollback().await;
            }
            Err(script_failed(&file, direction, &message))
        }
    }
}

/// Loads the file in a fresh state and calls its `up` or `down` with `db`;
/// the Lua error's text on failure.
async fn call_function(
    options: InstallOptions,
    file: &MigrationFile,
    direction: Direction,
    slot: &Arc<TxSlot>,
    database: Database,
) -> std::result::Result<(), String> {
    let text = |e: mlua::Error| one_line(&e);
    let lua = new_lua(options).map_err(text)?;
    lua.set_app_data(crate::objects::database::NoConnect);
    let chunk = lua
        .load(&*file.source)
        .set_name(format!("@{}", file.file_name()))
        .into_function()
        .map_err(text)?;
    let returned: LuaValue = call(&lua, &chunk, ()).await.map_err(text)?;
    let Some(f) = find_function(&lua, &returned, direction.as_str()).map_err(text)? else {
        return Err(format!(
            "it defines no `{0}` function (write `function {0}(db) ... end`, or return a \
             table with a `{0}` field)",
            direction.as_str()
        ));
    };
    let db = LuaDb::bound(database, slot.clone());
    call::<()>(&lua, &f, db).await.map_err(text)
}

/// A Lua error without its traceback (the message names the file and line).
fn one_line(e: &mlua::Error) -> String {
    let s = e.to_string();
    let s = s.split("\nstack traceback:").next().unwrap_or_default();
    s.strip_prefix("runtime error: ")
        .unwrap_or(s)
        .trim_end()
        .to_owned()
}

/// `up` / `down`: a field of the table the file returned, else a global.
fn find_function(lua: &Lua, returned: &LuaValue, name: &str) -> mlua::Result<Option<Function>> {
    if let LuaValue::Table(t) = returned
        && let LuaValue::Function(f) = t.get::<LuaValue>(name)?
    {
        return Ok(Some(f));
    }
    match lua.globals().get::<LuaValue>(name)? {
        LuaValue::Function(f) => Ok(Some(f)),
        _ => Ok(None),
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
