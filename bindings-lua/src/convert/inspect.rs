//! Reading script values from the host, for hosts that show what a script
//! returns (the REPL): fields in column order (`db:fetch_all(...)` printed as
//! a table whose columns follow the query). Reading models, the SQL of a
//! query and an instance's fields needs the objects layer, so those readers
//! sit beside their objects: [`model_of_value`](crate::model_of_value),
//! [`query_statement`](crate::query_statement).
//!
//! Lua tables keep no key order. A host that wants it calls
//! [`keep_column_order`]; from then on each result table that `fetch_all`,
//! `fetch_one`, `fetch_optional` and queries build is remembered, weakly, with
//! its result's columns (the array of rows and each row alike), and
//! [`column_order`] reads them back. Without that call nothing is recorded and
//! results cost nothing extra. An empty result has no row to read its
//! columns from: its statement is described (prepared, not run) so that the
//! host can still print the header. Instances know their model's column
//! order anyway: [`instance_fields`](crate::instance_fields).

use std::sync::Arc;

use dbridge_engine::db::Columns;
use mlua::{AnyUserData, Lua, Table, UserData};

/// The weak-keyed table of result table -> its columns (app data).
struct Orders(Table);

/// A result's columns, as the value of the [`Orders`] table.
struct ColumnsRef(Arc<Columns>);

impl UserData for ColumnsRef {}

/// Makes the state remember the column order of the results it builds from
/// now on (see the module notes).
///
/// # Errors
/// A Lua error when memory runs out.
pub fn keep_column_order(lua: &Lua) -> mlua::Result<()> {
    if lua.app_data_ref::<Orders>().is_some() {
        return Ok(());
    }
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.raw_set("__mode", "k")?;
    t.set_metatable(Some(mt))?;
    lua.set_app_data(Orders(t));
    Ok(())
}

/// Records `columns` as the order of `result` when the host asked for it.
pub(crate) fn remember(lua: &Lua, result: &Table, columns: &Arc<Columns>) -> mlua::Result<()> {
    let Some(orders) = lua.app_data_ref::<Orders>().map(|o| o.0.clone()) else {
        return Ok(());
    };
    orders.raw_set(result, ColumnsRef(columns.clone()))
}

/// The method names of a class of script objects (`"Database"`,
/// `"Transaction"`, `"Session"`, `"Query"`, `"Write"`, `"Migrator"`,
/// `"Model"`, `"Instance"`, `"Collection"`, `"Expr"`), sorted, for a host
/// that completes method calls on a value it does not want to compute (a
/// REPL after `db:session():`); empty for an unknown class.
pub fn class_methods(lua: &Lua, class: &str) -> Vec<String> {
    let Ok(Some(t)) = lua.named_registry_value::<Option<Table>>(&format!("dbridge.{class}")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = t
        .pairs::<String, mlua::Value>()
        .filter_map(Result::ok)
        .map(|(k, _)| k)
        .filter(|k| !k.starts_with("__"))
        .collect();
    names.sort_unstable();
    names
}

/// Whether the host asked for column order ([`keep_column_order`]): only
/// then does an empty result cost a description of its statement.
pub(crate) fn keeps_order(lua: &Lua) -> bool {
    lua.app_data_ref::<Orders>().is_some()
}

/// The column names of a result table (an array of rows or one row) in the
/// order the database returned them; `None` for a table no query built or
/// when [`keep_column_order`] was not called.
pub fn column_order(lua: &Lua, result: &Table) -> Option<Vec<String>> {
    let orders = lua.app_data_ref::<Orders>().map(|o| o.0.clone())?;
    let ud: AnyUserData = orders.raw_get(result).ok()?;
    let cols = ud.borrow::<ColumnsRef>().ok()?;
    Some(cols.0.names().iter().map(|n| n.to_string()).collect())
}
