//! Walking an expression tree (not into subqueries).

use super::expr::Expr;

/// Calls `f` on `e` and every expression inside it, parents first, children
/// left to right. Subqueries are not entered: they are statements of their
/// own. Iterative: no tree is too deep to walk.
pub fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    let mut stack = vec![e];
    let mut children = Vec::new();
    while let Some(e) = stack.pop() {
        f(e);
        children.clear();
        direct_children(e, &mut children);
        stack.extend(children.iter().rev());
    }
}

/// The expressions directly inside `e`, left to right.
fn direct_children<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Column(_)
        | Expr::Value(_)
        | Expr::Excluded(_)
        | Expr::Label(_)
        | Expr::Keyword(_)
        | Expr::Exists { .. }
        | Expr::Subquery(_) => {}
        Expr::Not(x) | Expr::Neg(x) | Expr::Cast(x, _) => out.push(x),
        Expr::IsNull { expr, .. } | Expr::InQuery { expr, .. } => out.push(expr),
        Expr::Binary(_, l, r) | Expr::Json(_, l, r) => out.extend([&**l, &**r]),
        Expr::And(items) | Expr::Or(items) => out.extend(items.iter()),
        Expr::InList { expr, list, .. } => {
            out.push(expr);
            out.extend(list.iter());
        }
        Expr::Between {
            expr, low, high, ..
        } => out.extend([&**expr, &**low, &**high]),
        Expr::Like { expr, pattern, .. } => out.extend([&**expr, &**pattern]),
        Expr::Case(c) => {
            out.extend(c.operand.iter());
            for (w, t) in &c.whens {
                out.extend([w, t]);
            }
            out.extend(c.otherwise.iter());
        }
        Expr::Func(call) => {
            out.extend(call.args.iter());
            out.extend(call.filter.iter());
            if let Some(w) = &call.over {
                out.extend(w.partition_by.iter());
                out.extend(w.order_by.iter().map(|o| &o.expr));
            }
        }
    }
}
