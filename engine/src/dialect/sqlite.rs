//! SQLite: ILIKE as `lower(a) LIKE lower(b)`, `IS [NOT]` for IS [NOT] DISTINCT
//! FROM, JSON through `->`, `->>` and `json_type` with paths built as bound
//! parameters, `now()` as a UTC text timestamp in the stored format; DISTINCT ON,
//! row locks and JSON containment are refused with [`crate::Error::Unsupported`].

use crate::error::{Backend, Error, Result};
use crate::query::{Expr, JsonOp, Keyword, Lock};
use crate::value::{SqlType, Value};

use super::compiler::{Compiler, Mode, Prec};
use super::{Dialect, column_type};

pub(super) struct Sqlite;

/// A JSON path (`$."a"[0]."b"`) from path items; all-digit items index arrays.
fn json_path<'a>(items: impl IntoIterator<Item = &'a Value>) -> Result<String> {
    let mut path = String::from("$");
    for item in items {
        match item {
            Value::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                path.push('[');
                path.push_str(s);
                path.push(']');
            }
            Value::Text(s) => path.push_str(&json_key(s)?),
            other => match other.as_i64() {
                Some(i) => path.push_str(&format!("[{i}]")),
                None => {
                    return Err(Error::InvalidValue {
                        target: "a JSON path item".into(),
                        reason: format!("expected text or an integer, got {}", other.type_name()),
                    });
                }
            },
        }
    }
    Ok(path)
}

fn json_key(key: &str) -> Result<String> {
    if key.contains('"') {
        return Err(Error::Unsupported {
            backend: Backend::Sqlite,
            feature: "a JSON key containing a double quote".into(),
        });
    }
    Ok(format!(".\"{key}\""))
}

fn path_items(r: &Expr) -> Result<&[Value]> {
    match r {
        Expr::Value(Value::Array(a)) => Ok(&a.items),
        _ => Err(Error::Unsupported {
            backend: Backend::Sqlite,
            feature: "a JSON path or key list that is not a literal list".into(),
        }),
    }
}

impl Sqlite {
    /// `l -> key` or `l ->> key` (`arrow`): the key of a `get` bound as a
    /// JSON path in DML (written as given in DDL), the path of a `path`
    /// bound as one.
    fn member(c: &mut Compiler, op: JsonOp, l: &Expr, r: &Expr, arrow: &str) -> Result<()> {
        if matches!(op, JsonOp::Path | JsonOp::PathText) {
            let path = json_path(path_items(r)?)?;
            c.child_expr(l, Prec::Unary)?;
            c.push(arrow);
            c.bind(Value::Text(path));
            return Ok(());
        }
        c.child_expr(l, Prec::Unary)?;
        c.push(arrow);
        match r {
            Expr::Value(Value::Text(k)) if c.mode == Mode::Dml => {
                c.bind(Value::Text(format!("${}", json_key(k)?)));
                Ok(())
            }
            other => c.child_expr(other, Prec::Unary),
        }
    }

    /// `get_text` / `path_text` as PostgreSQL's `->>` / `#>>` read them:
    /// always text (SQLite's `->>` gives a JSON number as a number, `true`
    /// as 1): a string member unquoted, JSON null as NULL, any other member
    /// as its JSON text (numbers as written, `true`, `false`, objects and
    /// arrays minified). The CAST keeps the TEXT affinity of the result, so
    /// that comparing it with a number still compares text.
    fn member_text(c: &mut Compiler, op: JsonOp, l: &Expr, r: &Expr) -> Result<()> {
        c.push("CAST(CASE json_type(");
        Self::member(c, op, l, r, " -> ")?;
        c.push(") WHEN 'text' THEN ");
        Self::member(c, op, l, r, " ->> ")?;
        c.push(" ELSE nullif(");
        Self::member(c, op, l, r, " -> ")?;
        c.push(", 'null') END AS TEXT)");
        Ok(())
    }

    /// `json_type(l, path) IS NOT NULL` for one key.
    fn has_key(c: &mut Compiler, l: &Expr, key: &Value) -> Result<()> {
        let path = match key {
            Value::Text(k) => format!("${}", json_key(k)?),
            _ => json_path([key])?,
        };
        c.push("json_type(");
        c.expr(l)?;
        c.push(", ");
        c.bind(Value::Text(path));
        c.push(") IS NOT NULL");
        Ok(())
    }
}

impl Dialect for Sqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn param(&self, c: &mut Compiler, v: Value, _peer: Option<&SqlType>) {
        c.bind(v);
    }

    fn literal(&self, v: &Value) -> Result<String> {
        super::literal(Backend::Sqlite, v)
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b { "1" } else { "0" }
    }

    fn type_name(&self, ty: &SqlType) -> String {
        column_type(Backend::Sqlite, ty)
    }

    fn distinct_from(&self, distinct: bool) -> &'static str {
        if distinct { "IS NOT" } else { "IS" }
    }

    fn keyword(&self, c: &mut Compiler, k: Keyword) {
        // The same text form the engine stores for these types.
        let text = match (k, &c.ddl_type) {
            (Keyword::CurrentDate, _) | (Keyword::Now, Some(SqlType::Date)) => "date('now')",
            (Keyword::Now, Some(SqlType::Timestamp)) => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            (Keyword::Now, _) => "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')",
        };
        c.push(text);
    }

    fn like(&self, c: &mut Compiler, e: &Expr, p: &Expr, ci: bool, negated: bool) -> Result<()> {
        let op = if negated { " NOT LIKE " } else { " LIKE " };
        if ci {
            c.push("lower(");
            c.expr(e)?;
            c.push(")");
            c.push(op);
            c.push("lower(");
            c.expr(p)?;
            c.push(")");
            return Ok(());
        }
        c.child_expr(e, Prec::Other)?;
        c.push(op);
        c.child_expr(p, Prec::Other)
    }

    fn json(&self, c: &mut Compiler, op: JsonOp, l: &Expr, r: &Expr) -> Result<()> {
        match op {
            JsonOp::Get | JsonOp::Path => Self::member(c, op, l, r, " -> "),
            JsonOp::GetText | JsonOp::PathText => Self::member_text(c, op, l, r),
            JsonOp::HasKey => match r {
                Expr::Value(k) => Self::has_key(c, l, k),
                _ => Err(c.unsupported("the JSON ? operator with a key that is not a value")),
            },
            JsonOp::HasAnyKey | JsonOp::HasAllKeys => {
                let any = op == JsonOp::HasAnyKey;
                let keys = path_items(r)?;
                if keys.is_empty() {
                    c.push(self.bool_literal(!any));
                    return Ok(());
                }
                c.push("(");
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        c.push(if any { " OR " } else { " AND " });
                    }
                    Self::has_key(c, l, k)?;
                }
                c.push(")");
                Ok(())
            }
            JsonOp::Contains => Err(c.unsupported("the JSON containment operator @>")),
            JsonOp::ContainedBy => Err(c.unsupported("the JSON containment operator <@")),
        }
    }

    fn distinct_on(&self, c: &mut Compiler, _exprs: &[Expr]) -> Result<()> {
        Err(c.unsupported("SELECT DISTINCT ON"))
    }

    fn lock(&self, c: &mut Compiler, _lock: &Lock) -> Result<()> {
        Err(c.unsupported("row locks (FOR UPDATE / FOR SHARE)"))
    }
}
