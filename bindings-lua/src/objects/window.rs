//! Window functions and aliased tables from Lua:
//! `expr:over{ partition_by = ..., order_by = ..., rows = { "unbounded", 0 } }`
//! and `dbridge.aliased(Model, "m")` (with the table object that derived
//! tables and CTEs share, [`LuaTable`]).
//!
//! A frame end is `"unbounded"` (UNBOUNDED PRECEDING at the start,
//! FOLLOWING at the end), `0` for CURRENT ROW, `-n` for n PRECEDING and `n`
//! for n FOLLOWING: the spelling of SQLAlchemy's `rows=(None, 0)`, and of the
//! Rhai binding.

use dbridge_engine::ErrorKind;
use dbridge_engine::query::{FrameBound, TableRef, Window};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::expr::{LuaExpr, to_expr, to_order};

fn bad(message: String) -> LuaDbError {
    LuaDbError::new(ErrorKind::Configuration, message)
}

/// One value or an array of them.
fn items(v: LuaValue) -> Result<Vec<LuaValue>, LuaDbError> {
    match v {
        LuaValue::Table(t) if t.metatable().is_none() => t
            .sequence_values::<LuaValue>()
            .collect::<mlua::Result<_>>()
            .map_err(lua_err),
        other => Ok(vec![other]),
    }
}

fn bound(v: &LuaValue, start: bool) -> Result<FrameBound, LuaDbError> {
    match v {
        LuaValue::Integer(0) => Ok(FrameBound::CurrentRow),
        LuaValue::Integer(n) if *n < 0 => Ok(FrameBound::Preceding(n.unsigned_abs())),
        LuaValue::Integer(n) => Ok(FrameBound::Following(n.unsigned_abs())),
        LuaValue::String(s) if s.as_bytes().as_ref() == b"unbounded" => Ok(if start {
            FrameBound::UnboundedPreceding
        } else {
            FrameBound::UnboundedFollowing
        }),
        other => Err(bad(format!(
            "over: a frame end is \"unbounded\" or an integer (0 the current row, -n preceding, n following), got {}",
            other.type_name()
        ))),
    }
}

/// The window of an `over` table (`nil` is the whole result).
pub(crate) fn window(lua: &Lua, spec: &LuaValue) -> Result<Window, LuaDbError> {
    let mut w = Window::new();
    let t = match spec {
        LuaValue::Nil => return Ok(w),
        LuaValue::Table(t) => t,
        other => return Err(LuaDbError::argument("over", 1, "a table of options", other)),
    };
    for pair in t.pairs::<String, LuaValue>() {
        let (key, value) = pair.map_err(|_| bad("over: option names are strings".into()))?;
        w = match key.as_str() {
            "partition_by" => w.partition_by(
                items(value)?
                    .iter()
                    .map(|v| to_expr(lua, v))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            "order_by" => w.order_by(
                items(value)?
                    .iter()
                    .map(|v| to_order(lua, v))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            unit @ ("rows" | "range" | "groups") => {
                let ends = items(value)?;
                let [start, end] = ends.as_slice() else {
                    return Err(bad(format!("over: `{unit}` is a table {{ start, end }}")));
                };
                let (start, end) = (bound(start, true)?, bound(end, false)?);
                match unit {
                    "rows" => w.rows(start, end),
                    "range" => w.range(start, end),
                    _ => w.groups(start, end),
                }
            }
            other => {
                return Err(bad(format!(
                    "over: unknown option `{other}` (partition_by, order_by, rows, range, groups)"
                )));
            }
        };
    }
    Ok(w)
}

/// What a [`LuaTable`] is, for `tostring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableKind {
    /// `dbridge.aliased(Model, "m")`
    Aliased,
    /// `q:subquery("t")`
    Subquery,
    /// `q:cte("t")` (the table carries its CTE)
    Cte,
}

/// A model under an alias (`dbridge.aliased(Model, "m")`), a derived table
/// (`q:subquery("t")`) or a CTE's table (`q:cte("t")`): `m.<column>` is the
/// column qualified by the alias; joins and `select_from` take it.
#[derive(Debug, Clone)]
pub(crate) struct LuaTable(pub(crate) TableRef, pub(crate) TableKind);

impl UserData for LuaTable {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, TABLE_INDEX, "dbridge.table");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let what = match this.1 {
                TableKind::Aliased => "aliased",
                TableKind::Subquery => "subquery",
                TableKind::Cte => "cte",
            };
            Ok(format!("dbridge.{what}({})", this.0.qualifier()))
        });
    }
}

/// Registry key of the aliased table's `__index` (set by orm.lua): a column.
pub(crate) const TABLE_INDEX: &str = "dbridge.Table.__index";

/// `raw.tcol(t, name)`: the column `name` of an aliased or derived table.
pub(crate) fn column(lua: &Lua, (this, name): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let t = match &this {
            LuaValue::UserData(ud) => ud.borrow::<LuaTable>().ok().map(|t| t.0.clone()),
            _ => None,
        }
        .ok_or_else(|| LuaDbError::argument("col", 1, "an aliased model", &this))?;
        let name = crate::convert::error::name_arg("col", 2, &name)?;
        Ok(LuaExpr::expr(t.col(&name)?))
    })();
    raw(lua, r)
}

/// The table of a script value: a model or an aliased model.
pub(crate) fn table_of(v: &LuaValue) -> Option<TableRef> {
    let LuaValue::UserData(ud) = v else {
        return None;
    };
    if let Ok(t) = ud.borrow::<LuaTable>() {
        return Some(t.0.clone());
    }
    ud.borrow::<crate::objects::model::LuaModel>()
        .ok()
        .map(|m| m.model.table_ref())
}

/// `raw.aliased(Model, alias)`.
pub(crate) fn aliased(lua: &Lua, (model, alias): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let m = match &model {
            LuaValue::UserData(ud) => ud.borrow::<crate::objects::model::LuaModel>().ok(),
            _ => None,
        }
        .ok_or_else(|| LuaDbError::argument("aliased", 1, "a model", &model))?;
        let alias = crate::convert::error::name_arg("aliased", 2, &alias)?;
        Ok(LuaTable(m.model.alias(&alias)?, TableKind::Aliased))
    })();
    raw(lua, r)
}
