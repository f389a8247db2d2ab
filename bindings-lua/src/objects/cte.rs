//! CTEs from Lua: `q:cte(name)` is the query as a common table expression,
//! `WITH name AS (...)`, and `q:cte(name, fn)` a recursive one, `WITH
//! RECURSIVE name (columns) AS (q UNION ALL fn(t))`. Either is a table
//! ([`LuaTable`]) as `q:subquery` gives: `t.<column>` is its column, and a
//! column query, `join`, `outerjoin` and `select_from` take it; the query
//! that reads it gets the WITH (the engine's CTE table carries its CTE).
//!
//! The recursive form runs in two steps from orm.lua, so that the script's
//! function is called from Lua: `raw.qcte_self` gives the table the
//! recursive member reads (named as the CTE, with the anchor query's
//! columns), then `raw.qcte` makes the CTE of `anchor UNION ALL member`.

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{Cte, TableRef};
use mlua::{Lua, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, name_arg, raw};
use crate::objects::builder::query_of;
use crate::objects::window::{LuaTable, TableKind};

/// `raw.qcte_self(q, name)`: the table a recursive CTE's member refers to
/// itself by, with the columns of the anchor query `q`.
pub(crate) fn self_table(lua: &Lua, (this, name): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let q = query_of(&this, "cte")?;
        let name = name_arg("cte", 2, &name)?;
        let cols = q.select.output_columns()?;
        let t = Cte::recursive_table(&name, cols.iter().map(|c| (c.label.as_str(), c.ty.clone())))?;
        Ok(LuaTable(t, TableKind::Cte))
    })();
    raw(lua, r)
}

/// `raw.qcte(q, name [, member, self_table])`: the CTE of `q` (`member`
/// nil), or the recursive CTE of `q UNION ALL member` (`self_table` from
/// [`self_table`]); its table.
pub(crate) fn cte(
    lua: &Lua,
    (this, name, member, itself): (LuaValue, LuaValue, LuaValue, LuaValue),
) -> Raw {
    let r = (|| {
        let q = query_of(&this, "cte")?;
        let name = name_arg("cte", 2, &name)?;
        if member.is_nil() && itself.is_nil() {
            return Ok(LuaTable(Cte::new(&name, q.select)?.table(), TableKind::Cte));
        }
        let table = self_of(&itself).ok_or_else(|| {
            LuaDbError::argument(
                "cte",
                3,
                "a function that returns the recursive member query",
                &member,
            )
        })?;
        let member = query_of(&member, "cte").map_err(|_| {
            LuaDbError::new(
                ErrorKind::TypeMismatch,
                format!(
                    "cte(\"{name}\", fn): fn must return the recursive member, a query, got {}",
                    member.type_name()
                ),
            )
        })?;
        let body = q.select.union_all(member.select);
        Ok(LuaTable(
            Cte::recursive(&table, body)?.table(),
            TableKind::Cte,
        ))
    })();
    raw(lua, r)
}

fn self_of(v: &LuaValue) -> Option<TableRef> {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaTable>().ok().map(|t| t.0.clone()),
        _ => None,
    }
}
