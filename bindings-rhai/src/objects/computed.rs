//! Computed attributes from Rhai: `Model.hybrid(name, fn [, expr_fn])`,
//! `Model.column_property(name, expr [, #{ deferred: true }])` and
//! `q.with_expression(name, expr)`.
//!
//! Hybrids are kept per engine (the closures belong to the script that
//! declared them) by model name: `inst.<name>` calls `fn(inst)`,
//! `Model.<name>` calls `expr_fn(Model)` (or `fn(Model)`), a SQL expression.

use std::collections::HashMap;
use std::sync::Arc;

use dbridge_engine::Error;
use parking_lot::RwLock;
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map, NativeCallContext};

use crate::convert::error::to_rhai;
use crate::objects::expr::expr_of;
use crate::objects::instance::Obj;
use crate::objects::model::ModelV;
use crate::objects::query::Query;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A hybrid's functions: on instances, and as an expression.
#[derive(Clone)]
struct Hybrid {
    get: FnPtr,
    expr: Option<FnPtr>,
}

/// Hybrids by model name, then by attribute name.
type Hybrids = Arc<RwLock<HashMap<String, HashMap<String, Hybrid>>>>;

fn find(h: &Hybrids, model: &str, name: &str) -> Option<Hybrid> {
    h.read().get(model).and_then(|m| m.get(name)).cloned()
}

fn declare(h: &Hybrids, m: &ModelV, name: &str, get: FnPtr, expr: Option<FnPtr>) -> ModelV {
    h.write()
        .entry(m.model.name().as_str().to_owned())
        .or_default()
        .insert(name.to_owned(), Hybrid { get, expr });
    m.clone()
}

fn column_property(m: &ModelV, name: &str, expr: Dynamic, opts: &Map) -> Res<ModelV> {
    let e = expr_of(expr, "column_property")?;
    let mut deferred = false;
    for (k, v) in opts {
        match k.as_str() {
            "deferred" => {
                deferred = v.as_bool().map_err(|_| {
                    to_rhai(Error::Configuration("`deferred` must be a boolean".into()))
                })?
            }
            other => {
                return Err(to_rhai(Error::Configuration(format!(
                    "column_property: unknown option `{other}`"
                ))));
            }
        }
    }
    m.db.orm()
        .registry
        .column_property(&m.model, name, e, deferred)
        .map_err(to_rhai)?;
    Ok(m.clone())
}

fn with_expression(q: &Query, name: &str, expr: Dynamic) -> Res<Query> {
    if q.model.is_none() {
        return Err(to_rhai(Error::InvalidState(
            "with_expression needs a query of a model (its instances carry the value)".into(),
        )));
    }
    let e = expr_of(expr, "with_expression")?;
    let mut q = q.clone();
    q.expressions.retain(|(n, _)| n != name);
    q.expressions.push((name.to_owned(), e));
    Ok(q)
}

pub(crate) fn register(engine: &mut Engine) {
    let hybrids: Hybrids = Arc::default();
    let (h1, h2, h3, h4) = (hybrids.clone(), hybrids.clone(), hybrids.clone(), hybrids);
    engine
        .register_fn(
            "hybrid",
            move |m: &mut ModelV, name: ImmutableString, get: FnPtr| {
                declare(&h1, m, &name, get, None)
            },
        )
        .register_fn(
            "hybrid",
            move |m: &mut ModelV, name: ImmutableString, get: FnPtr, expr: FnPtr| {
                declare(&h2, m, &name, get, Some(expr))
            },
        )
        // Replace the property getters registered by model.rs and
        // instance.rs: a hybrid first, then what they read.
        .register_indexer_get(
            move |ctx: NativeCallContext, m: &mut ModelV, name: ImmutableString| -> Res<Dynamic> {
                match find(&h3, m.model.name().as_str(), &name) {
                    Some(h) => h
                        .expr
                        .unwrap_or(h.get)
                        .call_within_context(&ctx, (Dynamic::from(m.clone()),)),
                    None => m.attr(&name),
                }
            },
        )
        .register_indexer_get(
            move |ctx: NativeCallContext, o: &mut Obj, name: ImmutableString| -> Res<Dynamic> {
                match find(&h4, o.0.model().name().as_str(), &name) {
                    Some(h) => h.get.call_within_context(&ctx, (Dynamic::from(o.clone()),)),
                    None => o.get(&ctx, &name),
                }
            },
        )
        .register_fn(
            "column_property",
            |m: &mut ModelV, name: ImmutableString, expr: Dynamic| {
                column_property(m, &name, expr, &Map::new())
            },
        )
        .register_fn(
            "column_property",
            |m: &mut ModelV, name: ImmutableString, expr: Dynamic, opts: Map| {
                column_property(m, &name, expr, &opts)
            },
        )
        .register_fn(
            "with_expression",
            |q: &mut Query, name: ImmutableString, expr: Dynamic| with_expression(q, &name, expr),
        );
}
