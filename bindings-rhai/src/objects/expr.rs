//! Column expressions for queries: the `Expr`, `OrderBy` and `Label` script
//! types, their methods (`.eq`, `.like`, `.in_`, `.asc`, `.label`...), the
//! operators Rhai lets us overload (`&`, `|`, `+ - * / %`, unary `-`), and the
//! `dbridge::` helpers (`and_`, `or_`, `not_`, `func`, `literal`, `col`,
//! `excluded`, `count`, `exists`).
//!
//! Any other Rhai value where an expression is expected is a bound parameter.

use std::sync::OnceLock;

use dbridge_engine::query::{Expr, OrderBy, Select, SelectItem, func};
use rhai::{Array, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Module};

use crate::convert::error::{configuration, to_rhai};
use crate::convert::value::from_dynamic;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// The SELECT of a value that is a `Query`, else `None`. Queries lie above
/// this file (they are built from expressions), so `query.rs` hands this
/// down when it registers; until then no value is a query.
static SUBQUERY: OnceLock<fn(&Dynamic) -> Option<Select>> = OnceLock::new();

/// Called by `query.rs` when it registers.
pub(crate) fn provide_subquery(f: fn(&Dynamic) -> Option<Select>) {
    let _ = SUBQUERY.set(f);
}

/// A SQL expression (Rhai type `Expr`).
#[derive(Debug, Clone)]
pub struct ExprV(pub(crate) Expr);

/// An ORDER BY term (Rhai type `OrderBy`), from `.asc()` / `.desc()`.
#[derive(Debug, Clone)]
pub struct Order(pub(crate) OrderBy);

/// A labelled select item (Rhai type `Label`), from `.label(name)`.
#[derive(Debug, Clone)]
pub struct Label(pub(crate) SelectItem);

/// A script value as an expression: an `Expr` or `Label` as is, anything else
/// as a bound value.
pub(crate) fn expr_of(d: Dynamic, target: &str) -> Res<Expr> {
    if let Some(e) = d.read_lock::<ExprV>() {
        return Ok(e.0.clone());
    }
    if let Some(l) = d.read_lock::<Label>() {
        return Ok(l.0.expr.clone());
    }
    if let Some(select) = SUBQUERY.get().and_then(|f| f(&d)) {
        return Ok(Expr::subquery(select));
    }
    Ok(Expr::val(from_dynamic(d, target)?))
}

/// A script value as a select item (an `Expr`, a `Label`, or a value).
pub(crate) fn item_of(d: Dynamic) -> Res<SelectItem> {
    if let Some(l) = d.read_lock::<Label>() {
        return Ok(l.0.clone());
    }
    Ok(expr_of(d, "a selected column")?.into())
}

/// A script value as an ORDER BY term (an `OrderBy` or an expression).
pub(crate) fn order_of(d: Dynamic) -> Res<OrderBy> {
    if let Some(o) = d.read_lock::<Order>() {
        return Ok(o.0.clone());
    }
    Ok(expr_of(d, "an ORDER BY term")?.into())
}

fn list(items: Array, target: &str) -> Res<Vec<Expr>> {
    items.into_iter().map(|d| expr_of(d, target)).collect()
}

fn and_all(items: Array) -> Res<ExprV> {
    let mut out: Option<Expr> = None;
    for e in list(items, "a condition")? {
        out = Some(match out {
            None => e,
            Some(acc) => acc.and(e),
        });
    }
    out.map(ExprV)
        .ok_or_else(|| configuration("dbridge::and_ needs at least one condition"))
}

fn or_all(items: Array) -> Res<ExprV> {
    let mut out: Option<Expr> = None;
    for e in list(items, "a condition")? {
        out = Some(match out {
            None => e,
            Some(acc) => acc.or(e),
        });
    }
    out.map(ExprV)
        .ok_or_else(|| configuration("dbridge::or_ needs at least one condition"))
}

fn sql_func(name: &str, args: Array) -> Res<ExprV> {
    let args = list(args, "a function argument")?;
    if name.eq_ignore_ascii_case("count") && args.is_empty() {
        return Ok(ExprV(func::count_star()));
    }
    func::call(name, args).map(ExprV).map_err(to_rhai)
}

/// Registers a comparison method taking any value.
macro_rules! binary {
    ($engine:ident, $($name:literal => $method:ident),*) => {$(
        $engine.register_fn($name, |a: &mut ExprV, b: Dynamic| -> Res<ExprV> {
            Ok(ExprV(a.0.clone().$method(expr_of(b, concat!("the operand of ", $name))?)))
        });
    )*};
}

/// Registers an arithmetic or logical operator both ways round.
macro_rules! operator {
    ($engine:ident, $($op:literal => $f:expr),*) => {$(
        $engine.register_fn($op, |a: ExprV, b: Dynamic| -> Res<ExprV> {
            Ok(ExprV($f(a.0, expr_of(b, "an operand")?)))
        });
        $engine.register_fn($op, |a: ExprV, b: ExprV| ExprV($f(a.0, b.0)));
        $engine.register_fn($op, |a: INT, b: ExprV| ExprV($f(Expr::val(a), b.0)));
        $engine.register_fn($op, |a: rhai::FLOAT, b: ExprV| ExprV($f(Expr::val(a), b.0)));
    )*};
}

/// Registers the expression types, methods, operators and `dbridge::` helpers.
pub(crate) fn register(engine: &mut Engine, module: &mut Module) {
    engine
        .register_type_with_name::<ExprV>("Expr")
        .register_type_with_name::<Order>("OrderBy")
        .register_type_with_name::<Label>("Label");
    binary!(engine,
        "eq" => eq, "ne" => ne, "lt" => lt, "le" => le, "gt" => gt, "ge" => ge,
        "like" => like, "not_like" => not_like, "ilike" => ilike, "not_ilike" => not_ilike,
        "concat" => concat, "is_distinct_from" => is_distinct_from,
        "is_not_distinct_from" => is_not_distinct_from,
        "get" => get, "get_text" => get_text, "contains" => contains,
        "contained_by" => contained_by, "has_key" => has_key
    );
    // JSON paths and key lists: arrays of strings.
    for name in ["path", "path_text", "has_any_key", "has_all_keys"] {
        engine.register_fn(name, move |a: &mut ExprV, keys: Array| -> Res<ExprV> {
            let keys = keys
                .into_iter()
                .map(|d| {
                    d.into_immutable_string()
                        .map_err(|t| configuration(format!("{name}: keys are strings, got {t}")))
                })
                .collect::<Res<Vec<_>>>()?;
            let e = a.0.clone();
            Ok(ExprV(match name {
                "path" => e.path(keys),
                "path_text" => e.path_text(keys),
                "has_any_key" => e.has_any_key(keys),
                _ => e.has_all_keys(keys),
            }))
        });
    }
    operator!(engine,
        "&" => |a: Expr, b: Expr| a.and(b),
        "|" => |a: Expr, b: Expr| a.or(b),
        "+" => |a: Expr, b: Expr| a + b,
        "-" => |a: Expr, b: Expr| a - b,
        "*" => |a: Expr, b: Expr| a * b,
        "/" => |a: Expr, b: Expr| a / b,
        "%" => |a: Expr, b: Expr| a % b
    );
    engine
        .register_fn("-", |a: ExprV| ExprV(-a.0))
        .register_fn("!", |a: ExprV| ExprV(!a.0))
        .register_fn("in_", |a: &mut ExprV, items: Array| -> Res<ExprV> {
            Ok(ExprV(a.0.clone().in_list(list(items, "an IN item")?)))
        })
        .register_fn("not_in", |a: &mut ExprV, items: Array| -> Res<ExprV> {
            Ok(ExprV(
                a.0.clone().not_in_list(list(items, "a NOT IN item")?),
            ))
        })
        .register_fn(
            "between",
            |a: &mut ExprV, lo: Dynamic, hi: Dynamic| -> Res<ExprV> {
                let lo = expr_of(lo, "the low bound of BETWEEN")?;
                let hi = expr_of(hi, "the high bound of BETWEEN")?;
                Ok(ExprV(a.0.clone().between(lo, hi)))
            },
        )
        .register_fn(
            "not_between",
            |a: &mut ExprV, lo: Dynamic, hi: Dynamic| -> Res<ExprV> {
                let lo = expr_of(lo, "the low bound of NOT BETWEEN")?;
                let hi = expr_of(hi, "the high bound of NOT BETWEEN")?;
                Ok(ExprV(a.0.clone().not_between(lo, hi)))
            },
        )
        .register_fn("is_null", |a: &mut ExprV| ExprV(a.0.clone().is_null()))
        .register_fn("is_not_null", |a: &mut ExprV| {
            ExprV(a.0.clone().is_not_null())
        })
        .register_fn("not_", |a: &mut ExprV| ExprV(a.0.clone().not()))
        .register_fn("asc", |a: &mut ExprV| Order(a.0.clone().asc()))
        .register_fn("desc", |a: &mut ExprV| Order(a.0.clone().desc()))
        .register_fn("nulls_first", |o: &mut Order| {
            Order(o.0.clone().nulls_first())
        })
        .register_fn("nulls_last", |o: &mut Order| {
            Order(o.0.clone().nulls_last())
        })
        .register_fn(
            "label",
            |a: &mut ExprV, name: ImmutableString| -> Res<Label> {
                a.0.clone().label(&name).map(Label).map_err(to_rhai)
            },
        )
        .register_fn("cast", |a: &mut ExprV, ty: ImmutableString| -> Res<ExprV> {
            let ty = ty.parse().map_err(to_rhai)?;
            Ok(ExprV(a.0.clone().cast(ty)))
        })
        .register_fn("to_string", |a: &mut ExprV| format!("Expr({:?})", a.0))
        .register_fn("to_string", |o: &mut Order| format!("OrderBy({:?})", o.0))
        .register_fn("to_string", |l: &mut Label| format!("Label({:?})", l.0));

    module.set_native_fn("and_", and_all);
    module.set_native_fn("and_", |a: Dynamic, b: Dynamic| and_all(vec![a, b]));
    module.set_native_fn("or_", or_all);
    module.set_native_fn("or_", |a: Dynamic, b: Dynamic| or_all(vec![a, b]));
    module.set_native_fn("not_", |a: Dynamic| -> Res<ExprV> {
        Ok(ExprV(expr_of(a, "the operand of NOT")?.not()))
    });
    module.set_native_fn("func", |name: ImmutableString, args: Array| {
        sql_func(&name, args)
    });
    module.set_native_fn("func", |name: ImmutableString| {
        sql_func(&name, Array::new())
    });
    module.set_native_fn("literal", |v: Dynamic| -> Res<ExprV> {
        Ok(ExprV(Expr::val(from_dynamic(v, "a literal")?)))
    });
    module.set_native_fn("col", |name: ImmutableString| -> Res<ExprV> {
        Expr::col(&name).map(ExprV).map_err(to_rhai)
    });
    module.set_native_fn("excluded", |name: ImmutableString| -> Res<ExprV> {
        Expr::excluded(&name).map(ExprV).map_err(to_rhai)
    });
    module.set_native_fn("count", || Ok(ExprV(func::count_star())));
}
