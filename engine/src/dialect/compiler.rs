//! The expression compiler: one exhaustive `match` over [`Expr`] writing SQL
//! text and collecting bound parameters. What differs per backend is asked of
//! the [`Dialect`] (see `sqlite.rs` and `postgres.rs`).

use crate::error::{Backend, Error, Result};
use crate::ident::Ident;
use crate::query::{BinaryOp, Case, Expr, FuncCall, JsonOp, MAX_EXPR_DEPTH, Query};
use crate::value::{SqlType, Value};

use super::{Dialect, dialect_for};

/// Binding strength of an expression, weakest first; used to add parentheses
/// only where they are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Prec {
    Or,
    And,
    Not,
    Cmp,
    Other,
    AddSub,
    MulDiv,
    Unary,
    Atom,
}

fn prec(e: &Expr) -> Prec {
    match e {
        Expr::Or(items) if items.len() > 1 => Prec::Or,
        Expr::And(items) if items.len() > 1 => Prec::And,
        Expr::Or(items) | Expr::And(items) => items.first().map_or(Prec::Atom, prec),
        Expr::Not(_) => Prec::Not,
        Expr::IsNull { .. }
        | Expr::InList { .. }
        | Expr::InQuery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. } => Prec::Cmp,
        Expr::Binary(op, ..) => match op {
            op if op.is_comparison() => Prec::Cmp,
            BinaryOp::Add | BinaryOp::Sub => Prec::AddSub,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => Prec::MulDiv,
            _ => Prec::Other,
        },
        // Member access binds like any other operator on PostgreSQL and tighter
        // on SQLite; the tests are comparisons (`json_type(..) IS NOT NULL` on SQLite).
        Expr::Json(JsonOp::Get | JsonOp::GetText | JsonOp::Path | JsonOp::PathText, ..) => {
            Prec::Other
        }
        Expr::Json(..) => Prec::Cmp,
        Expr::Neg(_) => Prec::Unary,
        Expr::Column(_)
        | Expr::Value(_)
        | Expr::Excluded(_)
        | Expr::Label(_)
        | Expr::Keyword(_)
        | Expr::Case(_)
        | Expr::Cast(..)
        | Expr::Func(_)
        | Expr::Exists { .. }
        | Expr::Subquery(_) => Prec::Atom,
    }
}

/// Function names written bare (they are well known and lowercase); any other
/// function name is written as a quoted identifier.
const BARE_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "upper",
    "length",
    "abs",
    "coalesce",
    "nullif",
    "round",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "substr",
    "substring",
    "concat",
    "row_number",
    "rank",
    "dense_rank",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    "percent_rank",
    "cume_dist",
    "random",
    "date",
    "strftime",
    "json_extract",
    "json_type",
    "json_array_length",
    "string_agg",
    "group_concat",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "greatest",
    "least",
    "jsonb_build_object",
    "json_object",
    "jsonb_array_length",
    "char_length",
    "instr",
    "strpos",
    "now",
];

/// Whether values are bound (DML) or written inline (DDL, which takes no parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Dml,
    Ddl,
}

/// SQL text and parameters under construction.
pub(crate) struct Compiler {
    pub(crate) dialect: &'static dyn Dialect,
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
    pub(crate) mode: Mode,
    /// Write columns without their table (RETURNING, DDL).
    pub(crate) unqualified: bool,
    /// The type of the column whose DDL is being written (for `now()` on SQLite).
    pub(crate) ddl_type: Option<SqlType>,
    /// How deep inside nested expressions the compiler is (see [`MAX_EXPR_DEPTH`]).
    depth: usize,
}

impl Compiler {
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            dialect: dialect_for(backend),
            sql: String::with_capacity(1024),
            params: Vec::new(),
            mode: Mode::Dml,
            unqualified: false,
            ddl_type: None,
            depth: 0,
        }
    }

    pub(crate) fn ddl(backend: Backend) -> Self {
        let mut c = Self::new(backend);
        c.mode = Mode::Ddl;
        c.unqualified = true;
        c
    }

    pub(crate) fn backend(&self) -> Backend {
        self.dialect.backend()
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    pub(crate) fn ident(&mut self, id: &Ident) {
        let s = id.as_str();
        if s.contains('"') {
            // Never true of a validated identifier; kept correct regardless.
            id.write_quoted(&mut self.sql);
        } else {
            self.sql.push('"');
            self.sql.push_str(s);
            self.sql.push('"');
        }
    }

    pub(crate) fn unsupported(&self, feature: impl Into<String>) -> Error {
        Error::Unsupported {
            backend: self.backend(),
            feature: feature.into(),
        }
    }

    /// Binds `v` as the next parameter and writes `$n`, with no cast.
    pub(crate) fn bind(&mut self, v: Value) {
        self.params.push(v);
        let mut n = self.params.len();
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        while n > 0 || at == digits.len() {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.sql.push('$');
        for &d in &digits[at..] {
            self.sql.push(char::from(d));
        }
    }

    /// Binds `v` and writes `$n::cast` (the cast as given, already safe text).
    pub(crate) fn bind_cast(&mut self, v: Value, cast: &str) {
        self.bind(v);
        if self.backend() == Backend::Postgres {
            self.sql.push_str("::");
            self.sql.push_str(cast);
        }
    }

    /// Writes a value: inline in DDL, else a parameter. `peer` is the type of the
    /// expression it is compared with or assigned to, when known: a parameter
    /// whose type fits needs no cast.
    pub(crate) fn value(&mut self, v: &Value, peer: Option<&SqlType>) -> Result<()> {
        if self.mode == Mode::Ddl {
            let lit = self.dialect.literal(v)?;
            self.sql.push_str(&lit);
            return Ok(());
        }
        let d = self.dialect;
        d.param(self, v.clone(), peer);
        Ok(())
    }

    pub(crate) fn list<T>(
        &mut self,
        items: &[T],
        mut f: impl FnMut(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            f(self, it)?;
        }
        Ok(())
    }

    fn child(&mut self, e: &Expr, min: Prec, peer: Option<&SqlType>) -> Result<()> {
        if prec(e) < min {
            self.sql.push('(');
            self.expr_with(e, peer)?;
            self.sql.push(')');
            Ok(())
        } else {
            self.expr_with(e, peer)
        }
    }

    /// Writes `e`, in parentheses when it binds less tightly than `min`.
    pub(crate) fn child_expr(&mut self, e: &Expr, min: Prec) -> Result<()> {
        self.child(e, min, None)
    }

    /// Writes an expression.
    pub(crate) fn expr(&mut self, e: &Expr) -> Result<()> {
        self.expr_with(e, None)
    }

    /// Writes an expression; `peer` is the type a value in this position is
    /// compared with (see [`Compiler::value`]).
    /// Fails with [`Error::InvalidValue`] past [`MAX_EXPR_DEPTH`] nested levels
    /// instead of running out of stack.
    pub(crate) fn expr_with(&mut self, e: &Expr, peer: Option<&SqlType>) -> Result<()> {
        if self.depth >= MAX_EXPR_DEPTH {
            return Err(Error::InvalidValue {
                target: "expression".into(),
                reason: format!("nested deeper than {MAX_EXPR_DEPTH} levels"),
            });
        }
        self.depth += 1;
        let r = self.expr_node(e, peer);
        self.depth -= 1;
        r
    }

    /// Dispatches on the node kind. The arms are separate functions so that
    /// this frame, which is on the stack once per nesting level, stays small.
    fn expr_node(&mut self, e: &Expr, peer: Option<&SqlType>) -> Result<()> {
        match e {
            Expr::Column(_)
            | Expr::Value(_)
            | Expr::Excluded(_)
            | Expr::Label(_)
            | Expr::Keyword(_) => self.leaf(e, peer),
            Expr::Not(x) => {
                self.sql.push_str("NOT ");
                self.child(x, Prec::Cmp, None)
            }
            Expr::Neg(x) => {
                self.sql.push('-');
                self.child(x, Prec::Unary, None)
            }
            Expr::Binary(op, l, r) => self.binary(*op, l, r),
            Expr::And(items) => self.junction(items, true),
            Expr::Or(items) => self.junction(items, false),
            Expr::IsNull { expr, negated } => {
                self.child(expr, Prec::Other, None)?;
                self.sql
                    .push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
                Ok(())
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => self.in_list(expr, list, *negated),
            Expr::InQuery {
                expr,
                query,
                negated,
            } => self.in_query(expr, query, *negated),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => self.between(expr, low, high, *negated),
            Expr::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let d = self.dialect;
                d.like(self, expr, pattern, *case_insensitive, *negated)
            }
            Expr::Case(case) => self.case(case),
            Expr::Cast(x, ty) => self.cast(x, ty),
            Expr::Func(f) => self.func(f),
            Expr::Exists { query, negated } => {
                self.sql
                    .push_str(if *negated { "NOT EXISTS (" } else { "EXISTS (" });
                self.subquery_tail(query)
            }
            Expr::Subquery(q) => {
                self.sql.push('(');
                self.subquery_tail(q)
            }
            Expr::Json(op, l, r) => {
                let d = self.dialect;
                d.json(self, *op, l, r)
            }
        }
    }

    #[inline(never)]
    fn leaf(&mut self, e: &Expr, peer: Option<&SqlType>) -> Result<()> {
        match e {
            Expr::Column(c) => {
                if let (Some(q), false) = (&c.qualifier, self.unqualified) {
                    self.ident(q);
                    self.sql.push('.');
                }
                self.ident(&c.name);
            }
            Expr::Value(v) => self.value(v, peer)?,
            Expr::Excluded(name) => {
                self.sql.push_str("excluded.");
                self.ident(name);
            }
            Expr::Label(name) => self.ident(name),
            Expr::Keyword(k) => {
                let d = self.dialect;
                d.keyword(self, *k);
            }
            _ => return Err(Error::InvalidState("not a leaf expression".into())),
        }
        Ok(())
    }

    #[inline(never)]
    fn junction(&mut self, items: &[Expr], and: bool) -> Result<()> {
        if items.is_empty() {
            let lit = self.dialect.bool_literal(and);
            self.sql.push_str(lit);
            return Ok(());
        }
        let (min, sep) = if and {
            (Prec::Not, " AND ")
        } else {
            (Prec::And, " OR ")
        };
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            self.child(x, min, None)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn in_list(&mut self, expr: &Expr, list: &[Expr], negated: bool) -> Result<()> {
        if list.is_empty() {
            let lit = self.dialect.bool_literal(negated);
            self.sql.push_str(lit);
            return Ok(());
        }
        let ty = type_hint(expr);
        self.child(expr, Prec::Other, None)?;
        self.sql
            .push_str(if negated { " NOT IN (" } else { " IN (" });
        self.list(list, |c, x| c.expr_with(x, ty.as_ref()))?;
        self.sql.push(')');
        Ok(())
    }

    #[inline(never)]
    fn in_query(&mut self, expr: &Expr, query: &Query, negated: bool) -> Result<()> {
        self.child(expr, Prec::Other, None)?;
        self.sql
            .push_str(if negated { " NOT IN (" } else { " IN (" });
        self.subquery_tail(query)
    }

    /// Writes a subquery and the closing parenthesis.
    #[inline(never)]
    fn subquery_tail(&mut self, query: &Query) -> Result<()> {
        self.query(query)?;
        self.sql.push(')');
        Ok(())
    }

    #[inline(never)]
    fn between(&mut self, expr: &Expr, low: &Expr, high: &Expr, negated: bool) -> Result<()> {
        let ty = type_hint(expr);
        let real = self.numeric_as_real(&[ty.as_ref()]);
        let operand = |c: &mut Self, e: &Expr| {
            if real {
                c.as_real(e)
            } else {
                c.child(e, Prec::Other, ty.as_ref())
            }
        };
        operand(self, expr)?;
        self.sql.push_str(if negated {
            " NOT BETWEEN "
        } else {
            " BETWEEN "
        });
        operand(self, low)?;
        self.sql.push_str(" AND ");
        operand(self, high)
    }

    #[inline(never)]
    fn case(&mut self, case: &Case) -> Result<()> {
        self.sql.push_str("CASE");
        let ty = case.operand.as_ref().and_then(type_hint);
        if let Some(o) = &case.operand {
            self.sql.push(' ');
            self.child(o, Prec::Other, None)?;
        }
        for (w, t) in &case.whens {
            self.sql.push_str(" WHEN ");
            self.expr_with(w, ty.as_ref())?;
            self.sql.push_str(" THEN ");
            self.expr(t)?;
        }
        if let Some(o) = &case.otherwise {
            self.sql.push_str(" ELSE ");
            self.expr(o)?;
        }
        self.sql.push_str(" END");
        Ok(())
    }

    #[inline(never)]
    fn cast(&mut self, x: &Expr, ty: &SqlType) -> Result<()> {
        self.sql.push_str("CAST(");
        self.expr(x)?;
        self.sql.push_str(" AS ");
        let t = self.dialect.type_name(ty);
        self.sql.push_str(&t);
        self.sql.push(')');
        Ok(())
    }

    #[inline(never)]
    fn func(&mut self, f: &FuncCall) -> Result<()> {
        let name = f.name.as_str();
        if BARE_FUNCTIONS.contains(&name) {
            self.sql.push_str(name);
        } else {
            self.ident(&f.name);
        }
        self.sql.push('(');
        if f.distinct {
            self.sql.push_str("DISTINCT ");
        }
        if f.star {
            self.sql.push('*');
        } else {
            self.list(&f.args, |c, x| c.expr(x))?;
        }
        self.sql.push(')');
        if let Some(cond) = &f.filter {
            self.sql.push_str(" FILTER (WHERE ");
            self.expr(cond)?;
            self.sql.push(')');
        }
        if let Some(w) = &f.over {
            self.sql.push_str(" OVER (");
            self.window(w)?;
            self.sql.push(')');
        }
        Ok(())
    }

    fn binary(&mut self, op: BinaryOp, l: &Expr, r: &Expr) -> Result<()> {
        let (text, lmin, rmin) = match op {
            BinaryOp::Eq => ("=", Prec::Other, Prec::Other),
            BinaryOp::Ne => ("<>", Prec::Other, Prec::Other),
            BinaryOp::Lt => ("<", Prec::Other, Prec::Other),
            BinaryOp::Le => ("<=", Prec::Other, Prec::Other),
            BinaryOp::Gt => (">", Prec::Other, Prec::Other),
            BinaryOp::Ge => (">=", Prec::Other, Prec::Other),
            BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom => (
                self.dialect.distinct_from(op == BinaryOp::IsDistinctFrom),
                Prec::Other,
                Prec::Other,
            ),
            BinaryOp::Add => ("+", Prec::AddSub, Prec::MulDiv),
            BinaryOp::Sub => ("-", Prec::AddSub, Prec::MulDiv),
            BinaryOp::Mul => ("*", Prec::MulDiv, Prec::Unary),
            BinaryOp::Div => ("/", Prec::MulDiv, Prec::Unary),
            BinaryOp::Rem => ("%", Prec::MulDiv, Prec::Unary),
            BinaryOp::Concat => ("||", Prec::Unary, Prec::Unary),
        };
        let (lt, rt) = (type_hint(l), type_hint(r));
        if lmin == Prec::Other && self.numeric_as_real(&[lt.as_ref(), rt.as_ref()]) {
            self.as_real(l)?;
            self.sql.push(' ');
            self.sql.push_str(text);
            self.sql.push(' ');
            return self.as_real(r);
        }
        self.child(l, lmin, rt.as_ref())?;
        self.sql.push(' ');
        self.sql.push_str(text);
        self.sql.push(' ');
        self.child(r, rmin, lt.as_ref())
    }

    /// Whether comparing values of these types must go through REAL: numeric is
    /// stored as text on SQLite, where text would compare character by character.
    pub(crate) fn numeric_as_real(&self, types: &[Option<&SqlType>]) -> bool {
        self.backend() == Backend::Sqlite
            && self.mode == Mode::Dml
            && types.iter().any(|t| matches!(t, Some(SqlType::Numeric(_))))
    }

    pub(crate) fn as_real(&mut self, e: &Expr) -> Result<()> {
        self.sql.push_str("CAST(");
        self.expr(e)?;
        self.sql.push_str(" AS REAL)");
        Ok(())
    }
}

/// The type of an expression when it is a typed column (the only case where a
/// parameter beside it may go without a cast).
pub(crate) fn type_hint(e: &Expr) -> Option<SqlType> {
    match e {
        Expr::Column(c) => c.ty.clone(),
        Expr::Cast(_, t) => Some(t.clone()),
        _ => None,
    }
}
