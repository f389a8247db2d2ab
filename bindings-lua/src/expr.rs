//! [`LuaExpr`]: SQL expressions built in Lua (`User.karma:gt(0)`,
//! `dbridge.func.count()`, `User.karma + 1`), wrapping the engine's
//! [`Expr`], [`OrderBy`] and [`SelectItem`].

use dbridge_engine::query::{Expr, OrderBy, Select, SelectItem, func};
use dbridge_engine::{Backend, ErrorKind};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue, Variadic};

use crate::error::{LuaDbError, Raw, raw};
use crate::value::from_lua;

/// Registry key of the expression method table (set by orm.lua).
pub(crate) const EXPR_CLASS: &str = "dbridge.Expr";
/// Registry key of the table of expression metamethods (`__add`, `__band`...).
pub(crate) const EXPR_META: &str = "dbridge.Expr.meta";

/// An expression, an ordering (`:asc()`) or a labelled select item (`:label()`).
#[derive(Debug, Clone)]
pub(crate) enum LuaExpr {
    Expr(Expr),
    Order(OrderBy),
    Item(SelectItem),
}

impl LuaExpr {
    pub(crate) fn expr(e: Expr) -> Self {
        Self::Expr(e)
    }
}

const METAMETHODS: [&str; 10] = [
    "__add", "__sub", "__mul", "__div", "__mod", "__unm", "__band", "__bor", "__bnot", "__concat",
];

impl UserData for LuaExpr {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(EXPR_CLASS)
        });
        for name in METAMETHODS {
            fields.add_meta_field_with(name, move |lua| {
                lua.named_registry_value::<mlua::Table>(EXPR_META)?
                    .get::<LuaValue>(name)
            });
        }
        fields.add_meta_field("__name", "dbridge.expr");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.to_sql()));
    }
}

impl LuaExpr {
    /// The SQL of the expression alone (PostgreSQL placeholders), for display.
    fn to_sql(&self) -> String {
        // A placeholder label, cut off below, keeps the compiler from naming the column.
        let q = match self {
            Self::Expr(e) => match e.clone().label("dbridge_expr") {
                Ok(item) => Select::new().column(item),
                Err(_) => Select::new().column(e.clone()),
            },
            Self::Item(i) => Select::new().column(i.clone()),
            Self::Order(o) => Select::new().order_by(o.clone()),
        };
        match dbridge_engine::dialect::compile(&q, Backend::Postgres) {
            Ok(s) => {
                let sql = s.sql();
                let sql = sql.strip_prefix("SELECT ").unwrap_or(sql);
                sql.strip_suffix(r#" AS "dbridge_expr""#)
                    .unwrap_or(sql)
                    .to_owned()
            }
            Err(e) => format!("<invalid expression: {e}>"),
        }
    }
}

/// A script value as an expression: expressions and labelled items as
/// themselves, a query as a scalar subquery, anything else as a bound value.
pub(crate) fn to_expr(lua: &Lua, v: &LuaValue) -> Result<Expr, LuaDbError> {
    if let LuaValue::UserData(ud) = v {
        if let Ok(e) = ud.borrow::<LuaExpr>() {
            return match &*e {
                LuaExpr::Expr(x) => Ok(x.clone()),
                LuaExpr::Item(i) => Ok(i.expr.clone()),
                LuaExpr::Order(_) => Err(LuaDbError::new(
                    ErrorKind::TypeMismatch,
                    "an ordering (`:asc()` / `:desc()`) cannot be used as a value",
                )),
            };
        }
        if let Ok(q) = ud.borrow::<crate::builder::LuaQuery>() {
            return Ok(Expr::subquery(q.select.clone()));
        }
        if ud.is::<crate::model::LuaModel>() || ud.is::<crate::instance::LuaInstance>() {
            return Err(LuaDbError::new(
                ErrorKind::TypeMismatch,
                "a model or an instance cannot be used as a SQL value (use a column, e.g. `User.id`, or `inst.id`)",
            ));
        }
    }
    Ok(Expr::val(from_lua(lua, v.clone(), 1)?))
}

/// A select item (a labelled expression keeps its label).
pub(crate) fn to_item(lua: &Lua, v: &LuaValue) -> Result<SelectItem, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(e) = ud.borrow::<LuaExpr>()
        && let LuaExpr::Item(i) = &*e
    {
        return Ok(i.clone());
    }
    to_expr(lua, v).map(SelectItem::from)
}

/// An ORDER BY term (an expression is ascending).
pub(crate) fn to_order(lua: &Lua, v: &LuaValue) -> Result<OrderBy, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(e) = ud.borrow::<LuaExpr>()
        && let LuaExpr::Order(o) = &*e
    {
        return Ok(o.clone());
    }
    to_expr(lua, v).map(OrderBy::from)
}

fn list(lua: &Lua, v: &LuaValue, func: &str) -> Result<Vec<Expr>, LuaDbError> {
    match v {
        LuaValue::Table(t) => t
            .sequence_values::<LuaValue>()
            .map(|x| {
                x.map_err(crate::query::lua_err)
                    .and_then(|x| to_expr(lua, &x))
            })
            .collect(),
        other => Err(LuaDbError::argument(
            func,
            1,
            "an array of values or a query",
            other,
        )),
    }
}

fn query_of(v: &LuaValue) -> Option<Select> {
    match v {
        LuaValue::UserData(ud) => ud
            .borrow::<crate::builder::LuaQuery>()
            .ok()
            .map(|q| q.select.clone()),
        _ => None,
    }
}

/// `raw.op(name, a, b, c)`: the expression operators and methods.
pub(crate) fn op(lua: &Lua, (name, a, b, c): (String, LuaValue, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let x = || to_expr(lua, &a);
        let y = || to_expr(lua, &b);
        let e = match name.as_str() {
            "eq" if b.is_nil() => x()?.is_null(),
            "ne" if b.is_nil() => x()?.is_not_null(),
            "eq" => x()?.eq(y()?),
            "ne" => x()?.ne(y()?),
            "lt" => x()?.lt(y()?),
            "le" => x()?.le(y()?),
            "gt" => x()?.gt(y()?),
            "ge" => x()?.ge(y()?),
            "like" => x()?.like(y()?),
            "ilike" => x()?.ilike(y()?),
            "not_like" => x()?.not_like(y()?),
            "not_ilike" => x()?.not_ilike(y()?),
            "in_" | "not_in" => {
                let neg = name == "not_in";
                match (query_of(&b), neg) {
                    (Some(q), false) => x()?.in_query(q),
                    (Some(q), true) => x()?.not_in_query(q),
                    (None, false) => x()?.in_list(list(lua, &b, &name)?),
                    (None, true) => x()?.not_in_list(list(lua, &b, &name)?),
                }
            }
            "between" => x()?.between(y()?, to_expr(lua, &c)?),
            "not_between" => x()?.not_between(y()?, to_expr(lua, &c)?),
            "is_null" => x()?.is_null(),
            "is_not_null" => x()?.is_not_null(),
            "concat" | "__concat" => x()?.concat(y()?),
            "__add" => x()? + y()?,
            "__sub" => x()? - y()?,
            "__mul" => x()? * y()?,
            "__div" => x()? / y()?,
            "__mod" => x()? % y()?,
            "__unm" => -x()?,
            "__band" | "and_" => x()?.and(y()?),
            "__bor" | "or_" => x()?.or(y()?),
            "__bnot" | "not_" => x()?.not(),
            "asc" => return Ok(LuaExpr::Order(x()?.asc())),
            "desc" => return Ok(LuaExpr::Order(x()?.desc())),
            "nulls_first" | "nulls_last" => {
                let o = to_order(lua, &a)?;
                return Ok(LuaExpr::Order(if name == "nulls_first" {
                    o.nulls_first()
                } else {
                    o.nulls_last()
                }));
            }
            "label" => {
                let label = match &b {
                    LuaValue::String(s) => s.to_string_lossy(),
                    other => return Err(LuaDbError::argument("label", 1, "a label name", other)),
                };
                return Ok(LuaExpr::Item(x()?.label(&label)?));
            }
            other => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    format!("unknown expression operator `{other}`"),
                ));
            }
        };
        Ok(LuaExpr::Expr(e))
    })();
    raw(lua, r)
}

/// `dbridge.and_(a, b, ...)` / `dbridge.or_(...)`.
pub(crate) fn junction(lua: &Lua, (or, items): (bool, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let items: Vec<Expr> = items
            .iter()
            .map(|v| to_expr(lua, v))
            .collect::<Result<_, _>>()?;
        Ok(LuaExpr::Expr(if or {
            Expr::any(items)
        } else {
            Expr::all(items)
        }))
    })();
    raw(lua, r)
}

/// `dbridge.func.<name>(args...)`: any SQL function; `count()` is `count(*)`.
pub(crate) fn call(lua: &Lua, (name, args): (String, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        if name == "count" && args.is_empty() {
            return Ok(LuaExpr::Expr(func::count_star()));
        }
        let args: Vec<Expr> = args
            .iter()
            .map(|v| to_expr(lua, v))
            .collect::<Result<_, _>>()?;
        Ok(LuaExpr::Expr(func::call(&name, args)?))
    })();
    raw(lua, r)
}

/// `dbridge.literal(v)`: a value as an expression (a bound parameter).
pub(crate) fn literal(lua: &Lua, v: LuaValue) -> Raw {
    let r = from_lua(lua, v, 1).map(|v| LuaExpr::Expr(Expr::val(v)));
    raw(lua, r)
}

/// Whether a value is an expression.
pub(crate) fn is_expr(_: &Lua, v: LuaValue) -> mlua::Result<bool> {
    Ok(matches!(&v, LuaValue::UserData(ud) if ud.is::<LuaExpr>()))
}
