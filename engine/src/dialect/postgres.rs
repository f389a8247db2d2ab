//! PostgreSQL: parameters cast to their value's type where the server could not
//! infer it, native ILIKE, JSON operators, DISTINCT ON and row locks.

use crate::error::{Backend, Result};
use crate::query::{Expr, JsonOp, Keyword, Lock, LockStrength, LockWait};
use crate::value::{SqlType, Value};

use super::compiler::{Compiler, Prec};
use super::{Dialect, column_type};

pub(super) struct Postgres;

/// Whether a parameter of type `v` meets a column of type `peer` without a
/// cast: the server then types the parameter as the column, and the engine
/// converts the value losslessly.
fn fits(v: &SqlType, peer: &SqlType) -> bool {
    v == peer
        || (v.is_integer() && peer.is_integer())
        || (v.is_textual() && peer.is_textual())
        || matches!(
            (v, peer),
            (
                SqlType::Float4 | SqlType::Float8,
                SqlType::Float4 | SqlType::Float8
            ) | (SqlType::Numeric(_), SqlType::Numeric(_))
                | (
                    SqlType::Json | SqlType::Jsonb,
                    SqlType::Json | SqlType::Jsonb
                )
                | (
                    SqlType::Int2 | SqlType::Int4 | SqlType::Int8,
                    SqlType::Numeric(_)
                )
                | (SqlType::Enum(_), SqlType::Enum(_))
        )
}

fn json_key_cast(v: &Value) -> &'static str {
    if v.as_i64().is_some() {
        "integer"
    } else {
        "text"
    }
}

impl Postgres {
    /// The right operand of a JSON operator: a value bound with the cast the
    /// operator needs, else any expression.
    fn operand(c: &mut Compiler, r: &Expr, cast: &str) -> Result<()> {
        match r {
            Expr::Value(v) if c.mode == super::compiler::Mode::Dml => {
                c.bind_cast(v.clone(), cast);
                Ok(())
            }
            other => c.child_expr(other, Prec::Unary),
        }
    }
}

impl Dialect for Postgres {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn param(&self, c: &mut Compiler, v: Value, peer: Option<&SqlType>) {
        let cast = match v.sql_type() {
            // NULL, text and enum labels take the type the server infers.
            None | Some(SqlType::Text | SqlType::Enum(_)) => None,
            Some(t) if peer.is_some_and(|p| fits(&t, p)) => None,
            Some(t) => Some(column_type(Backend::Postgres, &t)),
        };
        match cast {
            Some(t) => c.bind_cast(v, &t),
            None => c.bind(v),
        }
    }

    fn literal(&self, v: &Value) -> Result<String> {
        super::literal(Backend::Postgres, v)
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "TRUE" } else { "FALSE" }
    }

    fn type_name(&self, ty: &SqlType) -> String {
        column_type(Backend::Postgres, ty)
    }

    fn distinct_from(&self, distinct: bool) -> &'static str {
        if distinct {
            "IS DISTINCT FROM"
        } else {
            "IS NOT DISTINCT FROM"
        }
    }

    fn keyword(&self, c: &mut Compiler, k: Keyword) {
        c.push(match k {
            Keyword::Now => "now()",
            Keyword::CurrentDate => "CURRENT_DATE",
        });
    }

    fn like(&self, c: &mut Compiler, e: &Expr, p: &Expr, ci: bool, negated: bool) -> Result<()> {
        c.child_expr(e, Prec::Other)?;
        c.push(match (ci, negated) {
            (false, false) => " LIKE ",
            (false, true) => " NOT LIKE ",
            (true, false) => " ILIKE ",
            (true, true) => " NOT ILIKE ",
        });
        c.child_expr(p, Prec::Other)
    }

    fn json(&self, c: &mut Compiler, op: JsonOp, l: &Expr, r: &Expr) -> Result<()> {
        c.child_expr(l, Prec::Unary)?;
        let (text, cast) = match op {
            JsonOp::Get => (" -> ", None),
            JsonOp::GetText => (" ->> ", None),
            JsonOp::Path => (" #> ", Some("text[]")),
            JsonOp::PathText => (" #>> ", Some("text[]")),
            JsonOp::Contains => (" @> ", Some("jsonb")),
            JsonOp::ContainedBy => (" <@ ", Some("jsonb")),
            JsonOp::HasKey => (" ? ", Some("text")),
            JsonOp::HasAnyKey => (" ?| ", Some("text[]")),
            JsonOp::HasAllKeys => (" ?& ", Some("text[]")),
        };
        c.push(text);
        let cast = match (cast, r) {
            (Some(t), _) => t,
            (None, Expr::Value(v)) => json_key_cast(v),
            (None, _) => "text",
        };
        Self::operand(c, r, cast)
    }

    fn distinct_on(&self, c: &mut Compiler, exprs: &[Expr]) -> Result<()> {
        c.push("DISTINCT ON (");
        c.list(exprs, |c, e| c.expr(e))?;
        c.push(") ");
        Ok(())
    }

    fn lock(&self, c: &mut Compiler, lock: &Lock) -> Result<()> {
        c.push(match lock.strength {
            LockStrength::Update => " FOR UPDATE",
            LockStrength::Share => " FOR SHARE",
        });
        c.push(match lock.wait {
            LockWait::Wait => "",
            LockWait::NoWait => " NOWAIT",
            LockWait::SkipLocked => " SKIP LOCKED",
        });
        Ok(())
    }
}
