//! [`Expr`]: the expression tree, plain data with no SQL text in it.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::schema::Model;
use crate::value::{SqlType, Value};

use super::compound::Query;
use super::window::Window;

/// The deepest nesting of expressions the compiler accepts (and the script
/// bindings let scripts build): deeper trees fail with a clear error instead of
/// exhausting the stack (SQLite itself refuses trees deeper than 1000).
pub const MAX_EXPR_DEPTH: usize = 500;

/// A shared child of an expression node: cloning an expression copies its
/// top node and shares the subtrees below. Dropping the last owner of a deep
/// chain unlinks it iteratively, so no tree is too deep to drop.
#[derive(Debug, Clone)]
pub struct SubExpr(Arc<Expr>);

impl SubExpr {
    /// Wraps an expression as a child.
    pub fn new(e: Expr) -> Self {
        Self(Arc::new(e))
    }

    /// Whether two children are the same shared subtree.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl std::ops::Deref for SubExpr {
    type Target = Expr;
    fn deref(&self) -> &Expr {
        &self.0
    }
}

impl AsRef<Expr> for SubExpr {
    fn as_ref(&self) -> &Expr {
        &self.0
    }
}

/// The child left in place of one being unlinked (shared, never freed).
fn placeholder() -> SubExpr {
    static NULL: std::sync::LazyLock<SubExpr> =
        std::sync::LazyLock::new(|| SubExpr(Arc::new(Expr::Value(Value::Null))));
    NULL.clone()
}

impl Drop for SubExpr {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        unlink_children(&mut self.0, &mut pending);
        while let Some(mut sub) = pending.pop() {
            unlink_children(&mut sub.0, &mut pending);
            // `sub` now drops shallowly: its children are placeholders.
        }
    }
}

/// Moves the children that only `node` owns into `out`, when `node` itself is
/// owned only here (about to be freed).
fn unlink_children(node: &mut Arc<Expr>, out: &mut Vec<SubExpr>) {
    let Some(e) = Arc::get_mut(node) else {
        return;
    };
    let mut take = |c: &mut SubExpr| {
        if Arc::strong_count(&c.0) == 1 {
            out.push(std::mem::replace(c, placeholder()));
        }
    };
    match e {
        Expr::Not(x) | Expr::Neg(x) | Expr::Cast(x, _) => take(x),
        Expr::IsNull { expr, .. } | Expr::InQuery { expr, .. } | Expr::InList { expr, .. } => {
            take(expr)
        }
        Expr::Binary(_, l, r) | Expr::Json(_, l, r) => {
            take(l);
            take(r);
        }
        Expr::Like { expr, pattern, .. } => {
            take(expr);
            take(pattern);
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            take(expr);
            take(low);
            take(high);
        }
        _ => {}
    }
}

/// Where a column reference came from: a model and the column's position in it.
///
/// The session layer uses it to map result columns back to model attributes.
#[derive(Debug, Clone)]
pub struct ColumnOrigin {
    /// The model the column belongs to.
    pub model: Model,
    /// The column's position in [`Model::columns`].
    pub index: usize,
}

/// A reference to a column, qualified by its table (or the table's alias).
#[derive(Debug, Clone)]
pub struct ColumnRef {
    /// The table name or alias that qualifies the column; `None` inside DDL and
    /// for names resolved by the database.
    pub qualifier: Option<Ident>,
    /// The column's name.
    pub name: Ident,
    /// Its type, when known.
    pub ty: Option<SqlType>,
    /// The model column it refers to, if any.
    pub origin: Option<ColumnOrigin>,
    /// The table it is read from when that is not a model's: a derived
    /// table (`Select::subquery`, `origin` then names the model column
    /// under it), a CTE's table (`Cte::table`) or a table by name
    /// (`TableRef::named`, `Cte::recursive_table`).
    pub derived: Option<super::TableRef>,
}

impl ColumnRef {
    /// The table the column reads: [`ColumnRef::derived`] (a subquery's, a
    /// CTE's, a table by name), else its model's table, under the alias
    /// that qualifies it when that is not the table's own name (a column of
    /// an aliased model, `Model::alias`). `None` for a column of no table
    /// (`Expr::col`).
    pub fn table(&self) -> Option<super::TableRef> {
        if let Some(t) = &self.derived {
            return Some(t.clone());
        }
        let model = &self.origin.as_ref()?.model;
        match &self.qualifier {
            Some(q) if q != model.table() => model.table_ref().alias(q.as_str()).ok(),
            _ => Some(model.table_ref()),
        }
    }

    /// The first model column `e` reads, as [`ColumnRef::table`] gives it.
    pub fn first_table_in(e: &Expr) -> Option<super::TableRef> {
        let mut found = None;
        super::walk(e, &mut |x| {
            if found.is_none()
                && let Expr::Column(c) = x
            {
                found = c.table();
            }
        });
        found
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `||` (string concatenation)
    Concat,
    /// `IS DISTINCT FROM` (`IS NOT` on SQLite)
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM` (`IS` on SQLite)
    IsNotDistinctFrom,
}

impl BinaryOp {
    /// Whether the operator compares its sides (its result is a boolean and it
    /// binds like a comparison).
    /// Every operator is named here so that a new one must be placed.
    pub(crate) fn is_comparison(self) -> bool {
        match self {
            Self::Eq
            | Self::Ne
            | Self::Lt
            | Self::Le
            | Self::Gt
            | Self::Ge
            | Self::IsDistinctFrom
            | Self::IsNotDistinctFrom => true,
            Self::Add | Self::Sub | Self::Mul | Self::Div | Self::Rem | Self::Concat => false,
        }
    }
}

/// JSON / JSONB operators (PostgreSQL names; SQLite equivalents where they exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonOp {
    /// `->`: member or element, as JSON.
    Get,
    /// `->>`: member or element, as text.
    GetText,
    /// `#>`: value at a path, as JSON.
    Path,
    /// `#>>`: value at a path, as text.
    PathText,
    /// `@>`: contains (PostgreSQL only).
    Contains,
    /// `<@`: is contained by (PostgreSQL only).
    ContainedBy,
    /// `?`: has the key.
    HasKey,
    /// `?|`: has any of the keys.
    HasAnyKey,
    /// `?&`: has all of the keys.
    HasAllKeys,
}

/// Keywords that stand for values computed by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keyword {
    /// The current instant as `timestamptz` (`now()`; on SQLite a UTC text timestamp).
    Now,
    /// The current date (`CURRENT_DATE`; on SQLite `date('now')`).
    CurrentDate,
}

/// A call of a function, aggregate or window function.
#[derive(Debug, Clone)]
pub struct FuncCall {
    /// The function's name.
    pub name: Ident,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// `count(*)`-style star argument.
    pub star: bool,
    /// `DISTINCT` inside an aggregate.
    pub distinct: bool,
    /// `FILTER (WHERE ...)` on an aggregate.
    pub filter: Option<Expr>,
    /// `OVER (...)`: makes this a window function call.
    pub over: Option<Window>,
    /// The result type, when the caller knows it better than dbridge.
    pub ty: Option<SqlType>,
}

/// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
#[derive(Debug, Clone)]
pub struct Case {
    /// The operand of a simple CASE.
    pub operand: Option<Expr>,
    /// `(WHEN, THEN)` pairs.
    pub whens: Vec<(Expr, Expr)>,
    /// The ELSE branch.
    pub otherwise: Option<Expr>,
}

/// An SQL expression.
///
/// Built with the constructors below and the operator methods (`eq`, `gt`,
/// `like`...). Values are always bound parameters when compiled into DML; only
/// names (validated [`Ident`]s) are ever written into SQL text.
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::Expr;
/// let e = Expr::col("karma").unwrap().gt(10).and(Expr::col("name").unwrap().like("A%"));
/// # let _ = e;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Expr {
    /// A column.
    Column(Box<ColumnRef>),
    /// A value, bound as a parameter (inline only in DDL).
    Value(Value),
    /// A column of the row proposed for insertion (`excluded.col` in an upsert).
    Excluded(Ident),
    /// A reference to an output label of the enclosing select (e.g. in the
    /// ORDER BY of a UNION).
    Label(Ident),
    /// A value computed by the database.
    Keyword(Keyword),
    /// `NOT expr`
    Not(SubExpr),
    /// `-expr`
    Neg(SubExpr),
    /// `left op right`
    Binary(BinaryOp, SubExpr, SubExpr),
    /// Conjunction of all items (`TRUE` when empty).
    And(Vec<Expr>),
    /// Disjunction of all items (`FALSE` when empty).
    Or(Vec<Expr>),
    /// `expr IS [NOT] NULL`
    IsNull {
        /// The tested expression.
        expr: SubExpr,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`
    InList {
        /// The tested expression.
        expr: SubExpr,
        /// The candidates; an empty list is always false (`NOT IN`: true).
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] IN (subquery)`
    InQuery {
        /// The tested expression.
        expr: SubExpr,
        /// The subquery (one column).
        query: Box<Query>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        /// The tested expression.
        expr: SubExpr,
        /// Lower bound (inclusive).
        low: SubExpr,
        /// Upper bound (inclusive).
        high: SubExpr,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `expr [NOT] LIKE / ILIKE pattern`
    Like {
        /// The tested expression.
        expr: SubExpr,
        /// The pattern.
        pattern: SubExpr,
        /// `ILIKE` (emulated on SQLite with `lower()`).
        case_insensitive: bool,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `CASE ... END`
    Case(Arc<Case>),
    /// `CAST(expr AS type)`
    Cast(SubExpr, SqlType),
    /// A function call.
    Func(Arc<FuncCall>),
    /// `[NOT] EXISTS (subquery)`
    Exists {
        /// The subquery.
        query: Box<Query>,
        /// `NOT EXISTS`.
        negated: bool,
    },
    /// A scalar subquery `(SELECT ...)`.
    Subquery(Box<Query>),
    /// A JSON operator.
    Json(JsonOp, SubExpr, SubExpr),
}

impl Expr {
    /// An unqualified column by name (for CHECK and GENERATED expressions, and
    /// names the database resolves).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a name that is not a valid identifier.
    pub fn col(name: &str) -> Result<Expr> {
        Ok(Expr::Column(Box::new(ColumnRef {
            qualifier: None,
            name: Ident::new(name)?,
            ty: None,
            origin: None,
            derived: None,
        })))
    }

    /// A value (a bound parameter).
    pub fn val(v: impl Into<Value>) -> Expr {
        Expr::Value(v.into())
    }

    /// SQL NULL.
    pub fn null() -> Expr {
        Expr::Value(Value::Null)
    }

    /// The current instant (`now()` on PostgreSQL; a UTC text timestamp on SQLite).
    pub fn now() -> Expr {
        Expr::Keyword(Keyword::Now)
    }

    /// The current date.
    pub fn current_date() -> Expr {
        Expr::Keyword(Keyword::CurrentDate)
    }

    /// `excluded.name` in the DO UPDATE of an upsert.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid name.
    pub fn excluded(name: &str) -> Result<Expr> {
        Ok(Expr::Excluded(Ident::new(name)?))
    }

    /// A reference to an output label (ORDER BY of a compound select).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid name.
    pub fn label_ref(name: &str) -> Result<Expr> {
        Ok(Expr::Label(Ident::new(name)?))
    }

    /// `EXISTS (query)`.
    pub fn exists(query: impl Into<Query>) -> Expr {
        Expr::Exists {
            query: Box::new(query.into()),
            negated: false,
        }
    }

    /// `NOT EXISTS (query)`.
    pub fn not_exists(query: impl Into<Query>) -> Expr {
        Expr::Exists {
            query: Box::new(query.into()),
            negated: true,
        }
    }

    /// A scalar subquery.
    pub fn subquery(query: impl Into<Query>) -> Expr {
        Expr::Subquery(Box::new(query.into()))
    }

    /// `AND` of all expressions.
    pub fn all(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::And(items.into_iter().collect())
    }

    /// `OR` of all expressions.
    pub fn any(items: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Or(items.into_iter().collect())
    }

    /// A simple `CASE operand WHEN .. THEN ..` ; see [`Expr::case_when`].
    pub fn case(operand: impl Into<Expr>) -> CaseBuilder {
        CaseBuilder(Case {
            operand: Some(operand.into()),
            whens: Vec::new(),
            otherwise: None,
        })
    }

    /// A searched `CASE WHEN cond THEN value ... END`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dbridge_engine::query::Expr;
    /// let karma = Expr::col("karma").unwrap();
    /// let tier = Expr::case_when(karma.clone().ge(100), "gold")
    ///     .when(karma.ge(10), "silver")
    ///     .otherwise("bronze");
    /// # let _ = tier;
    /// ```
    pub fn case_when(cond: Expr, then: impl Into<Expr>) -> CaseBuilder {
        CaseBuilder(Case {
            operand: None,
            whens: vec![(cond, then.into())],
            otherwise: None,
        })
    }

    /// The column this expression is, if it is a column.
    pub fn as_column(&self) -> Option<&ColumnRef> {
        match self {
            Expr::Column(c) => Some(c),
            _ => None,
        }
    }

    fn func_mut(&mut self, what: &str) -> Result<&mut FuncCall> {
        match self {
            Expr::Func(f) => Ok(Arc::make_mut(f)),
            _ => Err(Error::InvalidState(format!(
                "{what} applies to a function call, not to this expression"
            ))),
        }
    }

    /// Makes a function call a window function: `f(...) OVER (window)`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when this is not a function call.
    pub fn over(mut self, window: Window) -> Result<Expr> {
        self.func_mut("OVER")?.over = Some(window);
        Ok(self)
    }

    /// Adds `FILTER (WHERE cond)` to an aggregate call.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when this is not a function call.
    pub fn filter(mut self, cond: Expr) -> Result<Expr> {
        self.func_mut("FILTER")?.filter = Some(cond);
        Ok(self)
    }

    /// Makes an aggregate call `DISTINCT`: `count(DISTINCT x)`.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when this is not a function call.
    pub fn distinct(mut self) -> Result<Expr> {
        self.func_mut("DISTINCT")?.distinct = true;
        Ok(self)
    }

    /// Declares the result type of a function call (used to read results back on SQLite).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when this is not a function call.
    pub fn returns(mut self, ty: SqlType) -> Result<Expr> {
        self.func_mut("a result type")?.ty = Some(ty);
        Ok(self)
    }
}

/// Builds a [`Case`] expression; finish with [`CaseBuilder::otherwise`] or [`CaseBuilder::end`].
#[derive(Debug, Clone)]
pub struct CaseBuilder(Case);

impl CaseBuilder {
    /// Adds a `WHEN cond THEN value` branch.
    pub fn when(mut self, cond: impl Into<Expr>, then: impl Into<Expr>) -> Self {
        self.0.whens.push((cond.into(), then.into()));
        self
    }

    /// Adds the ELSE branch and finishes.
    pub fn otherwise(mut self, value: impl Into<Expr>) -> Expr {
        self.0.otherwise = Some(value.into());
        Expr::Case(Arc::new(self.0))
    }

    /// Finishes without an ELSE branch (NULL when nothing matches).
    pub fn end(self) -> Expr {
        Expr::Case(Arc::new(self.0))
    }
}

impl From<CaseBuilder> for Expr {
    fn from(c: CaseBuilder) -> Self {
        c.end()
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Self {
        Expr::Value(v)
    }
}

macro_rules! value_exprs {
    ($($t:ty),*) => {$(
        impl From<$t> for Expr {
            fn from(v: $t) -> Self { Expr::Value(Value::from(v)) }
        }
    )*};
}

value_exprs!(
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    &str,
    Vec<u8>,
    uuid::Uuid,
    serde_json::Value,
    chrono::NaiveDate,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>,
    crate::value::Numeric
);

impl From<ColumnRef> for Expr {
    fn from(c: ColumnRef) -> Self {
        Expr::Column(Box::new(c))
    }
}
