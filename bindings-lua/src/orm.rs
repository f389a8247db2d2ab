//! The ORM state of one database handle: its models ([`Metadata`]) and the
//! session [`Registry`] of listeners and validators that every session and
//! instance made through the handle shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dbridge_engine::events::ListenerId;
use dbridge_engine::schema::Metadata;
use dbridge_engine::session::Registry;
use parking_lot::Mutex;

/// Models and the session registry of a `LuaDb`.
#[derive(Debug, Default)]
pub(crate) struct Orm {
    /// The models declared with `db:model` (what `create_all`, `drop_all` and
    /// the migrator's `check` work on).
    pub(crate) meta: Metadata,
    /// The models `db:reflect()` made of existing tables: usable like
    /// declared ones, never created or dropped by `create_all` / `drop_all`.
    pub(crate) reflected: Metadata,
    pub(crate) registry: Registry,
    /// Engine ids of the listeners added by `db:on`, by the script-side key.
    listeners: Mutex<HashMap<i64, ListenerId>>,
}

/// Callback keys are unique in the process: several databases may share a state.
static NEXT: AtomicU64 = AtomicU64::new(1);

impl Orm {
    /// A fresh key for a script-side callback (listener, validator, factory).
    pub(crate) fn next_key(&self) -> i64 {
        i64::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap_or(i64::MAX)
    }

    pub(crate) fn remember(&self, key: i64, id: ListenerId) {
        self.listeners.lock().insert(key, id);
    }

    /// Removes the listener added under `key`; whether it was there.
    pub(crate) fn forget(&self, key: i64) -> bool {
        match self.listeners.lock().remove(&key) {
            Some(id) => self.registry.events().off(id),
            None => false,
        }
    }
}

/// The raw Rust functions of the ORM API, for orm.lua.
pub(crate) fn raw_functions(lua: &mlua::Lua) -> mlua::Result<mlua::Table> {
    use crate::{builder, expr, hooks, instance, model, session, write};
    let t = lua.create_table()?;
    t.set("model", lua.create_function(model::declare)?)?;
    t.set("models", lua.create_function(model::models)?)?;
    t.set("reflect", lua.create_async_function(model::reflect)?)?;
    t.set("describe", lua.create_function(model::describe)?)?;
    t.set("model_info", lua.create_function(model::info)?)?;
    t.set("create_all", lua.create_async_function(model::create_all)?)?;
    t.set("col", lua.create_function(model::column_expr)?)?;
    t.set("now", model::Factory::Now)?;
    t.set("uuid4", model::Factory::Uuid4)?;
    t.set("inst_new", lua.create_function(instance::new)?)?;
    t.set("inst_get", lua.create_function(instance::get)?)?;
    t.set("inst_set", lua.create_function(instance::set)?)?;
    t.set("inst_state", lua.create_function(instance::state)?)?;
    t.set("inst_changed", lua.create_function(instance::changed)?)?;
    t.set("inst_to_table", lua.create_function(instance::to_table)?)?;
    t.set("is_instance", lua.create_function(instance::is_instance)?)?;
    t.set("op", lua.create_function(expr::op)?)?;
    t.set("junction", lua.create_function(expr::junction)?)?;
    t.set("func", lua.create_function(expr::call)?)?;
    t.set("literal", lua.create_function(expr::literal)?)?;
    t.set("is_expr", lua.create_function(expr::is_expr)?)?;
    t.set("query", lua.create_function(builder::new)?)?;
    t.set("qb", lua.create_function(builder::build)?)?;
    t.set("qrun", lua.create_async_function(builder::run)?)?;
    t.set("qsql", lua.create_function(builder::sql)?)?;
    t.set(
        "qpage",
        lua.create_async_function(crate::paginate::paginate)?,
    )?;
    t.set(
        "column_property",
        lua.create_function(crate::computed::column_property)?,
    )?;
    t.set(
        "inst_model",
        lua.create_function(crate::computed::inst_model)?,
    )?;
    t.set("qstream", lua.create_async_function(builder::stream)?)?;
    t.set("q_is_entity", lua.create_function(builder::is_entity)?)?;
    t.set("session", lua.create_function(session::new)?)?;
    t.set("s_add", lua.create_function(session::add)?)?;
    t.set("s_call", lua.create_function(session::call)?)?;
    t.set("s_async", lua.create_async_function(session::call_async)?)?;
    t.set("s_stats", lua.create_function(session::stats)?)?;
    t.set("s_id", lua.create_function(session::id)?)?;
    t.set("relation", lua.create_function(crate::relation::declare)?)?;
    t.set("rel_op", lua.create_function(crate::relation::op)?)?;
    t.set("coll", lua.create_function(crate::related::call)?)?;
    t.set("rel_gone", lua.create_function(crate::related::gone)?)?;
    t.set("load", lua.create_function(crate::loader::new)?)?;
    t.set("load_under", lua.create_function(crate::loader::under)?)?;
    t.set("UNLOADED", crate::related::unloaded_marker())?;
    t.set("on", lua.create_function(hooks::on)?)?;
    t.set("off", lua.create_function(hooks::off)?)?;
    t.set("validate", lua.create_function(hooks::validate)?)?;
    t.set("next_key", lua.create_function(hooks::next_key)?)?;
    t.set("insert", lua.create_async_function(write::insert_rows)?)?;
    t.set("write", lua.create_function(write::new)?)?;
    t.set("wb", lua.create_function(write::build)?)?;
    t.set("wrun", lua.create_async_function(write::run)?)?;
    Ok(t)
}
