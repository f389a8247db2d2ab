//! The result type of an expression, where dbridge can know it. Used to read
//! results back on SQLite, whose cells only carry a storage class.

use crate::value::SqlType;

use super::expr::{BinaryOp, Expr, JsonOp, Keyword, MAX_EXPR_DEPTH};

/// The type `e` evaluates to, if known.
pub(crate) fn type_of(e: &Expr) -> Option<SqlType> {
    type_at(e, 0)
}

/// As [`type_of`] at `depth` levels down: unknown past [`MAX_EXPR_DEPTH`]
/// (such a tree does not compile anyway), so that no tree overflows the stack.
fn type_at(e: &Expr, depth: usize) -> Option<SqlType> {
    if depth > MAX_EXPR_DEPTH {
        return None;
    }
    let type_of = |x: &Expr| type_at(x, depth + 1);
    match e {
        Expr::Column(c) => c.ty.clone(),
        Expr::Value(v) => v.sql_type(),
        Expr::Excluded(_) | Expr::Label(_) => None,
        Expr::Keyword(Keyword::Now) => Some(SqlType::Timestamptz),
        Expr::Keyword(Keyword::CurrentDate) => Some(SqlType::Date),
        Expr::Not(_)
        | Expr::And(_)
        | Expr::Or(_)
        | Expr::IsNull { .. }
        | Expr::InList { .. }
        | Expr::InQuery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::Exists { .. } => Some(SqlType::Bool),
        Expr::Neg(x) => type_of(x),
        Expr::Binary(op, l, r) => match op {
            op if op.is_comparison() => Some(SqlType::Bool),
            BinaryOp::Concat => Some(SqlType::Text),
            _ => arithmetic(type_of(l), type_of(r)),
        },
        Expr::Case(c) => c
            .whens
            .iter()
            .map(|(_, t)| t)
            .chain(c.otherwise.as_ref())
            .find_map(&type_of),
        Expr::Cast(_, ty) => Some(ty.clone()),
        Expr::Func(f) => {
            if let Some(t) = &f.ty {
                return Some(t.clone());
            }
            let first = || f.args.first().and_then(type_of);
            match f.name.as_str() {
                "count" | "row_number" | "rank" | "dense_rank" | "ntile" | "length" => {
                    Some(SqlType::Int8)
                }
                "min" | "max" | "first_value" | "last_value" | "lag" | "lead" | "nth_value"
                | "abs" | "coalesce" | "nullif" => first(),
                "sum" => match first() {
                    Some(t) if t.is_integer() => Some(SqlType::Int8),
                    Some(t @ (SqlType::Float4 | SqlType::Float8)) => Some(t),
                    _ => None,
                },
                "avg" => match first() {
                    Some(t) if t.is_integer() => None,
                    Some(SqlType::Float4 | SqlType::Float8) => Some(SqlType::Float8),
                    _ => None,
                },
                "lower" | "upper" | "trim" | "ltrim" | "rtrim" | "replace" | "substr"
                | "substring" | "concat" => Some(SqlType::Text),
                _ => None,
            }
        }
        Expr::Subquery(q) => q
            .output_columns()
            .ok()
            .and_then(|c| c.into_iter().next())
            .and_then(|c| c.ty),
        Expr::Json(op, l, _) => match op {
            JsonOp::Get | JsonOp::Path => match type_of(l) {
                Some(SqlType::Json) => Some(SqlType::Json),
                _ => Some(SqlType::Jsonb),
            },
            // Text on both backends (the SQLite compiler casts ->>'s member).
            JsonOp::GetText | JsonOp::PathText => Some(SqlType::Text),
            JsonOp::Contains
            | JsonOp::ContainedBy
            | JsonOp::HasKey
            | JsonOp::HasAnyKey
            | JsonOp::HasAllKeys => Some(SqlType::Bool),
        },
    }
}

fn arithmetic(l: Option<SqlType>, r: Option<SqlType>) -> Option<SqlType> {
    match (l, r) {
        (Some(a), Some(b)) if a.is_integer() && b.is_integer() => Some(SqlType::Int8),
        (Some(a @ (SqlType::Float4 | SqlType::Float8)), _)
        | (_, Some(a @ (SqlType::Float4 | SqlType::Float8))) => {
            let _ = a;
            Some(SqlType::Float8)
        }
        _ => None,
    }
}
