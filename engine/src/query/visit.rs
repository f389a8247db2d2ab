//! Walking an expression tree (not into subqueries).

use super::expr::Expr;

/// Calls `f` on `e` and every expression inside it, parents first. Subqueries
/// are not entered: they are statements of their own.
pub fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Column(_)
        | Expr::Value(_)
        | Expr::Excluded(_)
        | Expr::Label(_)
        | Expr::Keyword(_)
        | Expr::Exists { .. }
        | Expr::Subquery(_) => {}
        Expr::Not(x) | Expr::Neg(x) | Expr::Cast(x, _) => walk(x, f),
        Expr::IsNull { expr, .. } | Expr::InQuery { expr, .. } => walk(expr, f),
        Expr::Binary(_, l, r) | Expr::Json(_, l, r) => {
            walk(l, f);
            walk(r, f);
        }
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|x| walk(x, f)),
        Expr::InList { expr, list, .. } => {
            walk(expr, f);
            list.iter().for_each(|x| walk(x, f));
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            walk(expr, f);
            walk(low, f);
            walk(high, f);
        }
        Expr::Like { expr, pattern, .. } => {
            walk(expr, f);
            walk(pattern, f);
        }
        Expr::Case(c) => {
            if let Some(o) = &c.operand {
                walk(o, f);
            }
            for (w, t) in &c.whens {
                walk(w, f);
                walk(t, f);
            }
            if let Some(o) = &c.otherwise {
                walk(o, f);
            }
        }
        Expr::Func(call) => {
            call.args.iter().for_each(|x| walk(x, f));
            if let Some(x) = &call.filter {
                walk(x, f);
            }
            if let Some(w) = &call.over {
                w.partition_by.iter().for_each(|x| walk(x, f));
                w.order_by.iter().for_each(|o| walk(&o.expr, f));
            }
        }
    }
}
