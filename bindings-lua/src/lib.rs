//! # dbridge-lua
//!
//! The dbridge engine from Lua 5.4 (mlua, vendored: nothing to install).
//! Scripts get a `dbridge` module (global and `require("dbridge")`) whose
//! database calls are async underneath: a host that runs scripts as coroutines
//! keeps its event loop free while they wait on the database, and a host that
//! blocks runs the same scripts with [`exec_blocking`].
//!
//! - [`new_lua`] makes a sandboxed Lua state with dbridge installed;
//!   [`install`] puts dbridge into a state the host made itself.
//! - [`call`], [`exec`], [`eval`] run Lua under the budget chosen in
//!   [`InstallOptions`]; [`exec_blocking`] for hosts that wait.
//! - [`LuaDbError`] is what scripts catch; [`LuaDb`] wraps a database the host
//!   opened so that scripts can use it; [`rows_to_lua`] converts engine rows
//!   the way `db:fetch_all` does; [`keep_column_order`], [`column_order`],
//!   [`instance_fields`], [`model_of_value`], [`query_statement`] and
//!   [`class_methods`] let hosts that show results (the REPL) read script
//!   values.
//! - [`LuaScriptRunner`] runs `.lua` migration files for the engine's
//!   `Migrator`; scripts get `db:migrator(dir)`.
//!
//! The script API is documented for script authors in `docs/lua.md`.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> mlua::Result<()> {
//! let lua = dbridge_lua::new_lua(dbridge_lua::InstallOptions::new())?;
//! let n: i64 = dbridge_lua::eval(&lua, r#"
//!     local db = dbridge.connect("sqlite::memory:")
//!     db:execute("CREATE TABLE t (n INTEGER)")
//!     db:transaction(function(tx)
//!         tx:execute("INSERT INTO t (n) VALUES ($1), ($2)", { 1, 2 })
//!     end)
//!     return db:fetch_one("SELECT sum(n) AS s FROM t").s
//! "#, "=example").await?;
//! assert_eq!(n, 3);
//! # Ok(()) }
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod convert;
mod install;
mod objects;
mod runtime;

pub use runtime::context::{BUDGET_EXCEEDED, INTERRUPTED, InterruptHandle};

pub use convert::error::{ErrorDetails, LuaDbError, OUT_OF_MEMORY};
pub use convert::inspect::{class_methods, column_order, keep_column_order};
pub use convert::value::rows_to_lua;
pub use install::migrate::LuaScriptRunner;
pub use mlua;
pub use mlua::StdLib;
pub use objects::builder::query_statement;
pub use objects::database::LuaDb;
pub use objects::instance::instance_fields;
pub use objects::model::model_of_value;
pub use runtime::options::InstallOptions;
pub use runtime::run::{Call, call, eval, exec, exec_blocking};

use mlua::{Lua, LuaOptions, Table};

/// Makes a new Lua state with exactly the libraries in `opts` and dbridge
/// installed: the way to run untrusted scripts.
///
/// # Errors
/// If the state cannot be created or the module fails to load.
pub fn new_lua(opts: InstallOptions) -> mlua::Result<Lua> {
    // mlua's async functions are built on `coroutine.yield`.
    let lua = Lua::new_with(opts.libs | StdLib::COROUTINE, LuaOptions::new())?;
    install(&lua, opts)?;
    Ok(lua)
}

/// Installs dbridge into a Lua state the host made: sets the `dbridge` global
/// and `require("dbridge")`, removes the libraries `opts` does not allow (see
/// [`InstallOptions::libs`]), sets the memory limit and the instruction hook.
/// Installing twice reuses the module.
///
/// This sets the state's global hook (replacing any the host set: it counts
/// the instruction budget and notices [`InterruptHandle::interrupt`]) and
/// wraps `pcall`, `xpcall`, `coroutine.resume` and `coroutine.close` so that
/// they re-raise once the running call is over budget or interrupted; they
/// behave as before otherwise.
///
/// # Errors
/// If the module fails to load or the memory limit cannot be set.
pub fn install(lua: &Lua, opts: InstallOptions) -> mlua::Result<Table> {
    install::sandbox::install(lua, &opts)
}

/// The handle that interrupts the calls running on `lua` (see
/// [`InterruptHandle`]); `None` if dbridge is not installed in it.
pub fn interrupt_handle(lua: &Lua) -> Option<InterruptHandle> {
    lua.app_data_ref::<runtime::context::Installed>()
        .map(|i| InterruptHandle(i.interrupts.clone()))
}
