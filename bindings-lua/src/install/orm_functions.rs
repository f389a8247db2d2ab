//! The raw Rust functions of the ORM API, which `orm.lua` turns into the
//! script API. They name every object, so they sit here above them all.

/// The raw Rust functions of the ORM API, for orm.lua.
pub(crate) fn raw_functions(lua: &mlua::Lua) -> mlua::Result<mlua::Table> {
    use crate::{
        objects::builder, objects::expr, objects::hooks, objects::instance, objects::model,
        objects::session, objects::write,
    };
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
    t.set(
        "inst_model_name",
        lua.create_function(instance::model_name)?,
    )?;
    t.set("inst_changed", lua.create_function(instance::changed)?)?;
    t.set("inst_to_table", lua.create_function(instance::to_table)?)?;
    t.set("inst_pk", lua.create_function(instance::pk)?)?;
    t.set(
        "inst_set_ref",
        lua.create_function(instance::set_reference)?,
    )?;
    t.set("is_instance", lua.create_function(instance::is_instance)?)?;
    t.set("op", lua.create_function(expr::op)?)?;
    t.set("junction", lua.create_function(expr::junction)?)?;
    t.set("func", lua.create_function(expr::call)?)?;
    t.set("literal", lua.create_function(expr::literal)?)?;
    t.set("bare_col", lua.create_function(expr::bare_column)?)?;
    t.set("excluded", lua.create_function(expr::excluded)?)?;
    t.set("case", lua.create_function(expr::case)?)?;
    t.set("is_expr", lua.create_function(expr::is_expr)?)?;
    t.set(
        "aliased",
        lua.create_function(crate::objects::window::aliased)?,
    )?;
    t.set("tcol", lua.create_function(crate::objects::window::column)?)?;
    t.set("query", lua.create_function(builder::new)?)?;
    t.set("qb", lua.create_function(builder::build)?)?;
    t.set("qrun", lua.create_async_function(builder::run)?)?;
    t.set("qsql", lua.create_function(builder::sql)?)?;
    t.set("qsub", lua.create_function(builder::subquery)?)?;
    t.set(
        "qcte_self",
        lua.create_function(crate::objects::cte::self_table)?,
    )?;
    t.set("qcte", lua.create_function(crate::objects::cte::cte)?)?;
    t.set(
        "qpage",
        lua.create_async_function(crate::objects::paginate::paginate)?,
    )?;
    t.set(
        "column_property",
        lua.create_function(crate::objects::computed::column_property)?,
    )?;
    t.set(
        "inst_model",
        lua.create_function(crate::objects::computed::inst_model)?,
    )?;
    t.set("qstream", lua.create_async_function(builder::stream)?)?;
    t.set("q_is_entity", lua.create_function(builder::is_entity)?)?;
    t.set("session", lua.create_function(session::new)?)?;
    t.set("s_add", lua.create_function(session::add)?)?;
    t.set("s_call", lua.create_function(session::call)?)?;
    t.set("s_async", lua.create_async_function(session::call_async)?)?;
    t.set("s_stats", lua.create_function(session::stats)?)?;
    t.set("s_info", lua.create_function(session::info)?)?;
    t.set("s_id", lua.create_function(session::id)?)?;
    t.set(
        "relation",
        lua.create_function(crate::objects::relation::declare)?,
    )?;
    t.set("rel_op", lua.create_function(crate::objects::relation::op)?)?;
    t.set("coll", lua.create_function(crate::objects::related::call)?)?;
    t.set(
        "bound_load",
        lua.create_async_function(crate::objects::related::load_bound)?,
    )?;
    t.set(
        "rel_gone",
        lua.create_function(crate::objects::related::gone)?,
    )?;
    t.set("load", lua.create_function(crate::objects::loader::new)?)?;
    t.set(
        "load_under",
        lua.create_function(crate::objects::loader::under)?,
    )?;
    t.set("UNLOADED", crate::objects::instance::unloaded_marker())?;
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
