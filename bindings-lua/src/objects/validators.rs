//! Lua functions as validators (`db:validate(Model, "email", fn)`, or
//! `validate` in a model's declaration), and the registry table of script
//! callbacks that validators and listeners (`hooks.rs`) share. Below models,
//! which add the validators they declare.

use dbridge_engine::schema::Model;
use mlua::{Function, Lua, Table, Value as LuaValue};

use crate::convert::error::{LuaDbError, lua_err};
use crate::objects::orm::Orm;

/// Registry key of the table of script callbacks by key.
pub(crate) const CALLBACKS: &str = "dbridge.callbacks";
/// Registry key of the Lua function that calls a validator: `ok, message`.
pub(crate) const CALL_VALIDATOR: &str = "dbridge.call_validator";

/// The registry table of script callbacks by key.
pub(crate) fn callbacks(lua: &Lua) -> mlua::Result<Table> {
    lua.named_registry_value::<Table>(CALLBACKS)
}

/// A readable name for a Lua function in errors: `lua listener (chunk:12)`.
pub(crate) fn name_of(what: &str, f: &Function) -> String {
    let info = f.info();
    match (info.short_src, info.line_defined) {
        (Some(src), Some(line)) => format!("{what} ({src}:{line})"),
        _ => what.to_owned(),
    }
}

/// Adds the callback stored under `key` as a validator of `model.column`.
pub(crate) fn add_validator(
    lua: &Lua,
    orm: &Orm,
    model: &Model,
    column: &str,
    key: i64,
) -> Result<(), LuaDbError> {
    let f: Function = callbacks(lua)
        .and_then(|t| t.raw_get(key))
        .map_err(lua_err)?;
    let name = name_of(&format!("lua validator of `{column}`"), &f);
    drop(f);
    let weak = lua.weak();
    orm.registry.validate(model, column, name, move |v| {
        let lua = weak.try_upgrade().ok_or("the Lua state is gone")?;
        let call = || -> mlua::Result<(bool, Option<String>)> {
            let Some(f) = callbacks(&lua)?.raw_get::<Option<Function>>(key)? else {
                return Ok((true, None));
            };
            let caller: Function = lua.named_registry_value(CALL_VALIDATOR)?;
            caller.call((f, crate::convert::value::to_lua(&lua, v, LuaValue::Nil)?))
        };
        match call() {
            Ok((true, _)) => Ok(()),
            Ok((false, msg)) => Err(msg.unwrap_or_else(|| "rejected by a validator".into())),
            Err(e) => Err(e.to_string()),
        }
    })?;
    Ok(())
}
