//! CTEs from Rhai: `q.cte(name)` is the query as a common table expression,
//! `WITH name AS (...)`, and `q.cte(name, |t| member)` a recursive one,
//! `WITH RECURSIVE name (columns) AS (q UNION ALL member)`, where `t` is the
//! CTE itself for the recursive member to read or join. Either is a
//! [`Table`] as `q.subquery` gives: `t.<column>` / `t.col(name)` is its
//! column, and a column query, `join`, `outerjoin` and `select_from` take
//! it; the query that reads it gets the WITH (the engine's CTE table
//! carries its CTE).

use dbridge_engine::query::Cte;
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, NativeCallContext};

use crate::convert::error::{configuration, to_rhai};
use crate::objects::query::{Query, Table};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// `q.cte(name)`.
fn cte(q: &Query, name: &str) -> Res<Table> {
    Cte::new(name, q.select())
        .map(|c| Table(c.table()))
        .map_err(to_rhai)
}

/// `q.cte(name, |t| member)`: `f` is called with the CTE's own table (the
/// anchor query's columns) and returns the recursive member query.
fn recursive(ctx: &NativeCallContext, q: &Query, name: &str, f: &FnPtr) -> Res<Table> {
    let anchor = q.select();
    let cols = anchor.output_columns().map_err(to_rhai)?;
    let itself = Cte::recursive_table(name, cols.iter().map(|c| (c.label.as_str(), c.ty.clone())))
        .map_err(to_rhai)?;
    let member: Dynamic = f.call_within_context(ctx, (Dynamic::from(Table(itself.clone())),))?;
    let t = member.type_name();
    let member = member.try_cast::<Query>().ok_or_else(|| {
        configuration(format!(
            "cte(\"{name}\", fn): fn must return the recursive member, a query, got {t}"
        ))
    })?;
    Cte::recursive(&itself, anchor.union_all(member.select()))
        .map(|c| Table(c.table()))
        .map_err(to_rhai)
}

/// Registers `q.cte(name)` and `q.cte(name, fn)`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_fn("cte", |q: &mut Query, name: ImmutableString| cte(q, &name))
        .register_fn(
            "cte",
            |ctx: NativeCallContext, q: &mut Query, name: ImmutableString, f: FnPtr| {
                recursive(&ctx, q, &name, &f)
            },
        );
}
