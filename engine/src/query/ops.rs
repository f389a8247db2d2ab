//! Operator methods on [`Expr`]: comparisons, boolean logic, arithmetic,
//! pattern matching, membership, JSON operators, ordering.

use std::ops;

use super::compound::Query;
use super::expr::{BinaryOp, Expr, JsonOp, SubExpr};
use super::select::{OrderBy, SelectItem};
use crate::error::Result;
use crate::ident::Ident;
use crate::value::{SqlType, Value};

fn bin(op: BinaryOp, l: Expr, r: impl Into<Expr>) -> Expr {
    Expr::Binary(op, SubExpr::new(l), SubExpr::new(r.into()))
}

fn json(op: JsonOp, l: Expr, r: impl Into<Expr>) -> Expr {
    Expr::Json(op, SubExpr::new(l), SubExpr::new(r.into()))
}

fn text_array<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::array(
        SqlType::Text,
        items.into_iter().map(|s| Value::from(s.as_ref())).collect(),
    )
}

impl Expr {
    /// `self = other`
    pub fn eq(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Eq, self, other)
    }

    /// `self <> other`
    pub fn ne(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Ne, self, other)
    }

    /// `self < other`
    pub fn lt(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Lt, self, other)
    }

    /// `self <= other`
    pub fn le(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Le, self, other)
    }

    /// `self > other`
    pub fn gt(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Gt, self, other)
    }

    /// `self >= other`
    pub fn ge(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Ge, self, other)
    }

    /// `self IS DISTINCT FROM other` (NULL-safe inequality).
    pub fn is_distinct_from(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::IsDistinctFrom, self, other)
    }

    /// `self IS NOT DISTINCT FROM other` (NULL-safe equality).
    pub fn is_not_distinct_from(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::IsNotDistinctFrom, self, other)
    }

    /// `self AND other`
    pub fn and(self, other: impl Into<Expr>) -> Expr {
        match self {
            Expr::And(mut items) => {
                items.push(other.into());
                Expr::And(items)
            }
            first => Expr::And(vec![first, other.into()]),
        }
    }

    /// `self OR other`
    pub fn or(self, other: impl Into<Expr>) -> Expr {
        match self {
            Expr::Or(mut items) => {
                items.push(other.into());
                Expr::Or(items)
            }
            first => Expr::Or(vec![first, other.into()]),
        }
    }

    /// `NOT self`
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(SubExpr::new(self))
    }

    /// `self || other` (string concatenation).
    pub fn concat(self, other: impl Into<Expr>) -> Expr {
        bin(BinaryOp::Concat, self, other)
    }

    /// `self LIKE pattern`
    pub fn like(self, pattern: impl Into<Expr>) -> Expr {
        self.like_impl(pattern.into(), false, false)
    }

    /// `self NOT LIKE pattern`
    pub fn not_like(self, pattern: impl Into<Expr>) -> Expr {
        self.like_impl(pattern.into(), false, true)
    }

    /// `self ILIKE pattern` (on SQLite `lower(self) LIKE lower(pattern)`).
    pub fn ilike(self, pattern: impl Into<Expr>) -> Expr {
        self.like_impl(pattern.into(), true, false)
    }

    /// `self NOT ILIKE pattern`
    pub fn not_ilike(self, pattern: impl Into<Expr>) -> Expr {
        self.like_impl(pattern.into(), true, true)
    }

    fn like_impl(self, pattern: Expr, case_insensitive: bool, negated: bool) -> Expr {
        Expr::Like {
            expr: SubExpr::new(self),
            pattern: SubExpr::new(pattern),
            case_insensitive,
            negated,
        }
    }

    /// `self IN (items...)`; an empty list is false.
    pub fn in_list<T: Into<Expr>>(self, items: impl IntoIterator<Item = T>) -> Expr {
        Expr::InList {
            expr: SubExpr::new(self),
            list: items.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }

    /// `self NOT IN (items...)`; an empty list is true.
    pub fn not_in_list<T: Into<Expr>>(self, items: impl IntoIterator<Item = T>) -> Expr {
        Expr::InList {
            expr: SubExpr::new(self),
            list: items.into_iter().map(Into::into).collect(),
            negated: true,
        }
    }

    /// `self IN (subquery)`
    pub fn in_query(self, query: impl Into<Query>) -> Expr {
        Expr::InQuery {
            expr: SubExpr::new(self),
            query: Box::new(query.into()),
            negated: false,
        }
    }

    /// `self NOT IN (subquery)`
    pub fn not_in_query(self, query: impl Into<Query>) -> Expr {
        Expr::InQuery {
            expr: SubExpr::new(self),
            query: Box::new(query.into()),
            negated: true,
        }
    }

    /// `self BETWEEN low AND high`
    pub fn between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        Expr::Between {
            expr: SubExpr::new(self),
            low: SubExpr::new(low.into()),
            high: SubExpr::new(high.into()),
            negated: false,
        }
    }

    /// `self NOT BETWEEN low AND high`
    pub fn not_between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        Expr::Between {
            expr: SubExpr::new(self),
            low: SubExpr::new(low.into()),
            high: SubExpr::new(high.into()),
            negated: true,
        }
    }

    /// `self IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::IsNull {
            expr: SubExpr::new(self),
            negated: false,
        }
    }

    /// `self IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull {
            expr: SubExpr::new(self),
            negated: true,
        }
    }

    /// `CAST(self AS ty)`
    pub fn cast(self, ty: SqlType) -> Expr {
        Expr::Cast(SubExpr::new(self), ty)
    }

    /// JSON `self -> key` (a text key or an integer index), as JSON.
    pub fn get(self, key: impl Into<Expr>) -> Expr {
        json(JsonOp::Get, self, key)
    }

    /// JSON `self ->> key`, as text.
    pub fn get_text(self, key: impl Into<Expr>) -> Expr {
        json(JsonOp::GetText, self, key)
    }

    /// JSON `self #> path`, as JSON. Path items that are all digits index arrays
    /// on SQLite.
    pub fn path<S: AsRef<str>>(self, path: impl IntoIterator<Item = S>) -> Expr {
        json(JsonOp::Path, self, text_array(path))
    }

    /// JSON `self #>> path`, as text.
    pub fn path_text<S: AsRef<str>>(self, path: impl IntoIterator<Item = S>) -> Expr {
        json(JsonOp::PathText, self, text_array(path))
    }

    /// JSONB `self @> other` (PostgreSQL only).
    pub fn contains(self, other: impl Into<Expr>) -> Expr {
        json(JsonOp::Contains, self, other)
    }

    /// JSONB `self <@ other` (PostgreSQL only).
    pub fn contained_by(self, other: impl Into<Expr>) -> Expr {
        json(JsonOp::ContainedBy, self, other)
    }

    /// JSONB `self ? key`: the object has the key.
    pub fn has_key(self, key: impl Into<Expr>) -> Expr {
        json(JsonOp::HasKey, self, key)
    }

    /// JSONB `self ?| keys`: the object has any of the keys.
    pub fn has_any_key<S: AsRef<str>>(self, keys: impl IntoIterator<Item = S>) -> Expr {
        json(JsonOp::HasAnyKey, self, text_array(keys))
    }

    /// JSONB `self ?& keys`: the object has all of the keys.
    pub fn has_all_keys<S: AsRef<str>>(self, keys: impl IntoIterator<Item = S>) -> Expr {
        json(JsonOp::HasAllKeys, self, text_array(keys))
    }

    /// Ascending order by this expression.
    pub fn asc(self) -> OrderBy {
        OrderBy::new(self, false)
    }

    /// Descending order by this expression.
    pub fn desc(self) -> OrderBy {
        OrderBy::new(self, true)
    }

    /// This expression as a select item with an output label.
    ///
    /// # Errors
    /// [`crate::Error::InvalidIdentifier`] for an invalid label.
    pub fn label(self, name: &str) -> Result<SelectItem> {
        Ok(SelectItem {
            expr: self,
            label: Some(Ident::new(name)?),
        })
    }
}

macro_rules! arith {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<T: Into<Expr>> ops::$trait<T> for Expr {
            type Output = Expr;
            fn $method(self, rhs: T) -> Expr { bin(BinaryOp::$op, self, rhs) }
        }
    )*};
}

arith!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Rem);

impl ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Neg(SubExpr::new(self))
    }
}

impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(SubExpr::new(self))
    }
}

impl<T: Into<Expr>> ops::BitAnd<T> for Expr {
    type Output = Expr;
    fn bitand(self, rhs: T) -> Expr {
        self.and(rhs)
    }
}

impl<T: Into<Expr>> ops::BitOr<T> for Expr {
    type Output = Expr;
    fn bitor(self, rhs: T) -> Expr {
        self.or(rhs)
    }
}
