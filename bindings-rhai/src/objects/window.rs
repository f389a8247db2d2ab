//! Window functions from Rhai: `expr.over(#{ partition_by, order_by, rows })`.
//!
//! A frame is `rows: [start, end]` (or `range:` / `groups:`), each end
//! `"unbounded"` (UNBOUNDED PRECEDING at the start, FOLLOWING at the end),
//! `0` for CURRENT ROW, `-n` for n PRECEDING and `n` for n FOLLOWING: the
//! spelling of SQLAlchemy's `rows=(None, 0)`, and of the Lua binding.

use dbridge_engine::query::{Expr, FrameBound, OrderBy, Window};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use crate::convert::error::{configuration, to_rhai};
use crate::objects::expr::{ExprV, expr_of, order_of};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// One value or an array of them.
fn items(d: Dynamic) -> Array {
    if d.is_array() {
        d.into_array().unwrap_or_default()
    } else {
        vec![d]
    }
}

/// One end of a frame (`start` tells which end "unbounded" means).
fn bound(d: &Dynamic, start: bool) -> Res<FrameBound> {
    if let Ok(n) = d.as_int() {
        return Ok(match n {
            0 => FrameBound::CurrentRow,
            n if n < 0 => FrameBound::Preceding(n.unsigned_abs()),
            n => FrameBound::Following(n.unsigned_abs()),
        });
    }
    if d.clone()
        .into_immutable_string()
        .is_ok_and(|s| s == "unbounded")
    {
        return Ok(if start {
            FrameBound::UnboundedPreceding
        } else {
            FrameBound::UnboundedFollowing
        });
    }
    Err(configuration(format!(
        "over: a frame end is \"unbounded\" or an integer (0 the current row, -n preceding, n following), got {}",
        d.type_name()
    )))
}

/// The window of an `over` map.
fn window(spec: Map) -> Res<Window> {
    let mut w = Window::new();
    for (key, value) in spec {
        w = match key.as_str() {
            "partition_by" => w.partition_by(
                items(value)
                    .into_iter()
                    .map(|d| expr_of(d, "a PARTITION BY term"))
                    .collect::<Res<Vec<Expr>>>()?,
            ),
            "order_by" => w.order_by(
                items(value)
                    .into_iter()
                    .map(order_of)
                    .collect::<Res<Vec<OrderBy>>>()?,
            ),
            unit @ ("rows" | "range" | "groups") => {
                let ends = items(value);
                let [start, end] = ends.as_slice() else {
                    return Err(configuration(format!(
                        "over: `{unit}` is an array [start, end]"
                    )));
                };
                let (start, end) = (bound(start, true)?, bound(end, false)?);
                match unit {
                    "rows" => w.rows(start, end),
                    "range" => w.range(start, end),
                    _ => w.groups(start, end),
                }
            }
            other => {
                return Err(configuration(format!(
                    "over: unknown option `{other}` (partition_by, order_by, rows, range, groups)"
                )));
            }
        };
    }
    Ok(w)
}

/// Registers `expr.over()` and `expr.over(#{ ... })`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_fn("over", |e: &mut ExprV| -> Res<ExprV> {
            e.0.clone().over(Window::new()).map(ExprV).map_err(to_rhai)
        })
        .register_fn("over", |e: &mut ExprV, spec: Map| -> Res<ExprV> {
            e.0.clone().over(window(spec)?).map(ExprV).map_err(to_rhai)
        });
}
