//! [`LuaExpr`]: SQL expressions built in Lua (`User.karma:gt(0)`,
//! `dbridge.func.count()`, `User.karma + 1`), wrapping the engine's
//! [`Expr`], [`OrderBy`] and [`SelectItem`].

use std::sync::OnceLock;

use dbridge_engine::query::{Expr, MAX_EXPR_DEPTH, OrderBy, Select, SelectItem, Window, func};
use dbridge_engine::{Backend, ErrorKind};
use mlua::{AnyUserData, Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue, Variadic};

use crate::convert::error::{LuaDbError, Raw, raw};
use crate::convert::value::from_lua;
use crate::runtime::rust_mem::{self, Charge};

/// Registry key of the expression method table (set by orm.lua).
pub(crate) const EXPR_CLASS: &str = "dbridge.Expr";
/// Registry key of the table of expression metamethods (`__add`, `__band`...).
pub(crate) const EXPR_META: &str = "dbridge.Expr.meta";

/// What an expression userdata holds: an expression, an ordering
/// (`:asc()`) or a labelled select item (`:label()`).
#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Expr(Expr),
    Order(OrderBy),
    Item(SelectItem),
}

/// An expression userdata: its value, how deeply it nests (checked against
/// [`MAX_EXPR_DEPTH`] as it is built, so that no script builds a tree the
/// compiler or the destructor would overflow the stack on), and the Rust-side
/// bytes it is charged for (see [`crate::rust_mem`]).
#[derive(Debug)]
pub(crate) struct LuaExpr {
    pub(crate) kind: ExprKind,
    depth: usize,
    _charge: Option<Charge>,
}

impl LuaExpr {
    /// An uncharged expression of depth 1 (a column).
    pub(crate) fn expr(e: Expr) -> Self {
        Self {
            kind: ExprKind::Expr(e),
            depth: 1,
            _charge: None,
        }
    }

    /// A new expression nesting `depth` levels, charged to the state.
    ///
    /// # Errors
    /// `invalid_value` past [`MAX_EXPR_DEPTH`]; `out_of_memory` past the
    /// state's memory limit.
    pub(crate) fn new(lua: &Lua, kind: ExprKind, depth: usize) -> Result<Self, LuaDbError> {
        if depth > MAX_EXPR_DEPTH {
            return Err(LuaDbError::new(
                ErrorKind::InvalidValue,
                format!("the expression is nested deeper than {MAX_EXPR_DEPTH} levels"),
            ));
        }
        let bytes = match &kind {
            ExprKind::Expr(e) => rust_mem::expr_bytes(e),
            ExprKind::Order(o) => rust_mem::order_bytes(o),
            ExprKind::Item(i) => rust_mem::item_bytes(i),
        };
        Ok(Self {
            kind,
            depth,
            _charge: rust_mem::charge(lua, bytes)?,
        })
    }
}

/// How deeply a script value nests as an expression (1 for anything that is
/// not an expression userdata).
pub(crate) fn depth_of(v: &LuaValue) -> usize {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaExpr>().map_or(1, |e| e.depth),
        _ => 1,
    }
}

/// One more than the deepest of `values`.
pub(crate) fn depth_over<'a>(values: impl IntoIterator<Item = &'a LuaValue>) -> usize {
    values.into_iter().map(depth_of).max().unwrap_or(0) + 1
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
        let q = match &self.kind {
            ExprKind::Expr(e) => match e.clone().label("dbridge_expr") {
                Ok(item) => Select::new().column(item),
                Err(_) => Select::new().column(e.clone()),
            },
            ExprKind::Item(i) => Select::new().column(i.clone()),
            ExprKind::Order(o) => Select::new().order_by(o.clone()),
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

/// A handle of a higher object where an expression is expected.
pub(crate) enum Operand {
    /// A query: its SELECT, as a subquery.
    Query(Box<Select>),
    /// A model or an instance: not a SQL value.
    Entity,
}

/// What a userdata is as an [`Operand`]. Queries, models and instances lie
/// above this file (they are built from expressions), so the dispatch over
/// them (`install/handles.rs`) is handed down at install.
static OPERAND: OnceLock<fn(&AnyUserData) -> Option<Operand>> = OnceLock::new();

/// Called once the dispatch is installed.
pub(crate) fn provide_operand(f: fn(&AnyUserData) -> Option<Operand>) {
    let _ = OPERAND.set(f);
}

fn operand(ud: &AnyUserData) -> Option<Operand> {
    OPERAND.get().and_then(|f| f(ud))
}

/// A script value as an expression: expressions and labelled items as
/// themselves, a query as a scalar subquery, anything else as a bound value.
pub(crate) fn to_expr(lua: &Lua, v: &LuaValue) -> Result<Expr, LuaDbError> {
    if let LuaValue::UserData(ud) = v {
        if let Ok(e) = ud.borrow::<LuaExpr>() {
            return match &e.kind {
                ExprKind::Expr(x) => Ok(x.clone()),
                ExprKind::Item(i) => Ok(i.expr.clone()),
                ExprKind::Order(_) => Err(LuaDbError::new(
                    ErrorKind::TypeMismatch,
                    "an ordering (`:asc()` / `:desc()`) cannot be used as a value",
                )),
            };
        }
        if let Some(Operand::Query(select)) = operand(ud) {
            return Ok(Expr::subquery(*select));
        }
        if let Some(Operand::Entity) = operand(ud) {
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
        && let ExprKind::Item(i) = &e.kind
    {
        return Ok(i.clone());
    }
    to_expr(lua, v).map(SelectItem::from)
}

/// An ORDER BY term (an expression is ascending).
pub(crate) fn to_order(lua: &Lua, v: &LuaValue) -> Result<OrderBy, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(e) = ud.borrow::<LuaExpr>()
        && let ExprKind::Order(o) = &e.kind
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
                x.map_err(crate::convert::error::lua_err)
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
        LuaValue::UserData(ud) => match operand(ud) {
            Some(Operand::Query(select)) => Some(*select),
            _ => None,
        },
        _ => None,
    }
}

/// `raw.op(name, a, b, c)`: the expression operators and methods.
pub(crate) fn op(lua: &Lua, (name, a, b, c): (String, LuaValue, LuaValue, LuaValue)) -> Raw {
    let depth = depth_over([&a, &b, &c]);
    let r = op_kind(lua, &name, &a, &b, &c).and_then(|k| LuaExpr::new(lua, k, depth));
    raw(lua, r)
}

fn op_kind(
    lua: &Lua,
    name: &str,
    a: &LuaValue,
    b: &LuaValue,
    c: &LuaValue,
) -> Result<ExprKind, LuaDbError> {
    let x = || to_expr(lua, a);
    let y = || to_expr(lua, b);
    let e = match name {
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
            match (query_of(b), neg) {
                (Some(q), false) => x()?.in_query(q),
                (Some(q), true) => x()?.not_in_query(q),
                (None, false) => x()?.in_list(list(lua, b, name)?),
                (None, true) => x()?.not_in_list(list(lua, b, name)?),
            }
        }
        "between" => x()?.between(y()?, to_expr(lua, c)?),
        "not_between" => x()?.not_between(y()?, to_expr(lua, c)?),
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
        "is_distinct_from" => x()?.is_distinct_from(y()?),
        "is_not_distinct_from" => x()?.is_not_distinct_from(y()?),
        "cast" => {
            let ty = crate::convert::error::name_arg("cast", 1, b)?;
            x()?.cast(ty.parse()?)
        }
        "filter" => x()?.filter(y()?)?,
        "distinct" => x()?.distinct()?,
        "exists" | "not_exists" => {
            let q = query_of(a).ok_or_else(|| LuaDbError::argument(name, 1, "a query", a))?;
            if name == "exists" {
                Expr::exists(q)
            } else {
                Expr::not_exists(q)
            }
        }
        "over" => x()?.over(window_of(lua, b)?)?,
        "get" => x()?.get(y()?),
        "get_text" => x()?.get_text(y()?),
        "contains" => x()?.contains(y()?),
        "contained_by" => x()?.contained_by(y()?),
        "has_key" => x()?.has_key(y()?),
        "path" | "path_text" | "has_any_key" | "has_all_keys" => {
            let keys = strings(b, name)?;
            match name {
                "path" => x()?.path(keys),
                "path_text" => x()?.path_text(keys),
                "has_any_key" => x()?.has_any_key(keys),
                _ => x()?.has_all_keys(keys),
            }
        }
        "asc" => return Ok(ExprKind::Order(x()?.asc())),
        "desc" => return Ok(ExprKind::Order(x()?.desc())),
        "nulls_first" | "nulls_last" => {
            let o = to_order(lua, a)?;
            return Ok(ExprKind::Order(if name == "nulls_first" {
                o.nulls_first()
            } else {
                o.nulls_last()
            }));
        }
        "label" => {
            let label = match b {
                LuaValue::String(s) => s.to_string_lossy(),
                other => return Err(LuaDbError::argument("label", 1, "a label name", other)),
            };
            return Ok(ExprKind::Item(x()?.label(&label)?));
        }
        other => {
            return Err(LuaDbError::new(
                ErrorKind::InvalidState,
                format!("unknown expression operator `{other}`"),
            ));
        }
    };
    Ok(ExprKind::Expr(e))
}

/// A JSON path or key list: an array of strings (numbers are array indexes).
fn strings(v: &LuaValue, func: &str) -> Result<Vec<String>, LuaDbError> {
    let LuaValue::Table(t) = v else {
        return Err(LuaDbError::argument(func, 1, "an array of keys", v));
    };
    t.sequence_values::<LuaValue>()
        .enumerate()
        .map(|(i, k)| {
            let k = k.map_err(crate::convert::error::lua_err)?;
            crate::convert::error::name_arg(func, i + 1, &k)
        })
        .collect()
}

/// `dbridge.and_(a, b, ...)` / `dbridge.or_(...)`.
pub(crate) fn junction(lua: &Lua, (or, items): (bool, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let depth = depth_over(items.iter());
        let items: Vec<Expr> = items
            .iter()
            .map(|v| to_expr(lua, v))
            .collect::<Result<_, _>>()?;
        let e = if or {
            Expr::any(items)
        } else {
            Expr::all(items)
        };
        LuaExpr::new(lua, ExprKind::Expr(e), depth)
    })();
    raw(lua, r)
}

/// `dbridge.func.<name>(args...)`: any SQL function; `count()` is `count(*)`.
pub(crate) fn call(lua: &Lua, (name, args): (LuaValue, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let name = crate::convert::error::name_arg("dbridge.func", 1, &name)?;
        if name == "count" && args.is_empty() {
            return LuaExpr::new(lua, ExprKind::Expr(func::count_star()), 1);
        }
        let depth = depth_over(args.iter());
        let args: Vec<Expr> = args
            .iter()
            .map(|v| to_expr(lua, v))
            .collect::<Result<_, _>>()?;
        LuaExpr::new(lua, ExprKind::Expr(func::call(&name, args)?), depth)
    })();
    raw(lua, r)
}

/// `dbridge.literal(v)`: a value as an expression (a bound parameter).
pub(crate) fn literal(lua: &Lua, v: LuaValue) -> Raw {
    let r = from_lua(lua, v, 1).and_then(|v| LuaExpr::new(lua, ExprKind::Expr(Expr::val(v)), 1));
    raw(lua, r)
}

/// `dbridge.col(name)`: a column by name alone, unqualified (a CHECK
/// constraint's `check = dbridge.col("karma"):ge(0)`).
pub(crate) fn bare_column(lua: &Lua, name: LuaValue) -> Raw {
    let r = crate::convert::error::name_arg("col", 1, &name)
        .and_then(|n| Ok(LuaExpr::expr(Expr::col(&n)?)));
    raw(lua, r)
}

/// `dbridge.excluded(name)`: the proposed row's value of a column in an
/// upsert's `update` (`EXCLUDED.name`).
pub(crate) fn excluded(lua: &Lua, name: LuaValue) -> Raw {
    let r = crate::convert::error::name_arg("excluded", 1, &name)
        .and_then(|n| Ok(LuaExpr::expr(Expr::excluded(&n)?)));
    raw(lua, r)
}

/// Whether a value is an expression.
pub(crate) fn is_expr(_: &Lua, v: LuaValue) -> mlua::Result<bool> {
    Ok(matches!(&v, LuaValue::UserData(ud) if ud.is::<LuaExpr>()))
}

/// `dbridge.case(whens [, else])`, `dbridge.case(operand, whens [, else])`:
/// a searched CASE (`whens` pairs `{ cond, value }`) or a simple one (`whens`
/// pairs `{ match, value }` compared with `operand`); NULL when nothing
/// matches and there is no `else`.
pub(crate) fn case(lua: &Lua, (a, b, c): (LuaValue, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let (operand, whens, otherwise) = match &a {
            LuaValue::Table(_) => (None, &a, &b),
            _ => (Some(to_expr(lua, &a)?), &b, &c),
        };
        let LuaValue::Table(t) = whens else {
            let at = if operand.is_some() { 2 } else { 1 };
            return Err(LuaDbError::argument(
                "case",
                at,
                "an array of { when, then } pairs",
                whens,
            ));
        };
        let mut values = vec![a.clone(), b.clone(), c.clone()];
        let mut pairs = Vec::new();
        for pair in t.sequence_values::<LuaValue>() {
            let pair = pair.map_err(crate::convert::error::lua_err)?;
            let LuaValue::Table(p) = &pair else {
                return Err(LuaDbError::argument(
                    "case",
                    1,
                    "a { when, then } pair",
                    &pair,
                ));
            };
            let get = |i: usize| -> Result<LuaValue, LuaDbError> {
                p.raw_get(i).map_err(crate::convert::error::lua_err)
            };
            let (w, v) = (get(1)?, get(2)?);
            pairs.push((to_expr(lua, &w)?, to_expr(lua, &v)?));
            values.extend([w, v]);
        }
        let mut pairs = pairs.into_iter();
        let mut builder = match (operand, pairs.next()) {
            (_, None) => {
                return Err(LuaDbError::new(
                    ErrorKind::Configuration,
                    "case needs at least one { when, then } pair",
                ));
            }
            (None, Some((w, v))) => Expr::case_when(w, v),
            (Some(o), Some((w, v))) => Expr::case(o).when(w, v),
        };
        for (w, v) in pairs {
            builder = builder.when(w, v);
        }
        let e = match otherwise {
            LuaValue::Nil => builder.end(),
            v => builder.otherwise(to_expr(lua, v)?),
        };
        LuaExpr::new(lua, ExprKind::Expr(e), depth_over(values.iter()))
    })();
    raw(lua, r)
}

/// How `expr:over{ partition_by, order_by, frame }` reads its window. Windows
/// lie above this file (they take expressions), so `objects/window.rs`'s
/// reader is handed down at install (`install/handles.rs`).
type WindowReader = fn(&Lua, &LuaValue) -> Result<Window, LuaDbError>;

/// The window reader, once installed.
static WINDOW: OnceLock<WindowReader> = OnceLock::new();

/// Called once `objects/window.rs`'s reader is installed.
pub(crate) fn provide_window(f: WindowReader) {
    let _ = WINDOW.set(f);
}

/// The window of `expr:over(spec)`.
fn window_of(lua: &Lua, spec: &LuaValue) -> Result<Window, LuaDbError> {
    match WINDOW.get() {
        Some(f) => f(lua, spec),
        None => Err(dbridge_engine::Error::InvalidState(
            "window functions are not installed".into(),
        )
        .into()),
    }
}
