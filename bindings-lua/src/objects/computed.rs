//! Computed attributes from Lua: `Model:column_property(name, expr [, opts])`
//! (a SQL expression loaded with the rows, read-only, deferrable) and the
//! instance's model name that `Model:hybrid` (orm.lua) looks its functions
//! up by. `q:with_expression` is a query step (builder.rs).

use mlua::{Lua, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::expr::to_expr;
use crate::objects::model::model_of;

/// `raw.column_property(Model, name, expr, opts)`: `opts.deferred`.
pub(crate) fn column_property(
    lua: &Lua,
    (model, name, expr, opts): (LuaValue, LuaValue, LuaValue, LuaValue),
) -> Raw {
    let r = (|| {
        let m = model_of(&model, "column_property", 1)?;
        let name = crate::convert::error::name_arg("column_property", 2, &name)?;
        let e = to_expr(lua, &expr)?;
        let deferred = match &opts {
            LuaValue::Nil => false,
            LuaValue::Table(t) => {
                for pair in t.pairs::<String, LuaValue>() {
                    let (k, _) = pair.map_err(crate::convert::error::lua_err)?;
                    if k != "deferred" {
                        return Err(LuaDbError::new(
                            dbridge_engine::ErrorKind::Configuration,
                            format!("column_property: unknown option `{k}`"),
                        ));
                    }
                }
                t.get::<Option<bool>>("deferred")
                    .map_err(crate::convert::error::lua_err)?
                    .unwrap_or(false)
            }
            other => {
                return Err(LuaDbError::argument(
                    "column_property",
                    4,
                    "a table of options ({ deferred = true })",
                    other,
                ));
            }
        };
        m.orm
            .registry
            .column_property(&m.model, &name, e, deferred)?;
        Ok(())
    })();
    raw(lua, r)
}

/// `raw.inst_model(inst)`: the instance's model name.
pub(crate) fn inst_model(lua: &Lua, this: LuaValue) -> Raw {
    let r = crate::objects::instance::instance_of(&this, "hybrid", 1)
        .map(|i| i.model().name().as_str().to_owned());
    raw(lua, r)
}
