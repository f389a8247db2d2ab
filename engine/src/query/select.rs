//! [`Select`] and its parts: items and their [`OutputColumn`]s, joins, ORDER BY,
//! DISTINCT [ON], row locks.

use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::value::SqlType;

use super::compound::{Compound, Cte, Query, SetOp};
use super::expr::{ColumnOrigin, Expr};
use super::label::output_columns;
use super::table::TableRef;

/// One term of an ORDER BY.
#[derive(Debug, Clone)]
pub struct OrderBy {
    /// The expression.
    pub expr: Expr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST` (`Some(true)`) / `NULLS LAST` (`Some(false)`).
    pub nulls_first: Option<bool>,
}

impl OrderBy {
    pub(crate) fn new(expr: Expr, desc: bool) -> Self {
        Self {
            expr,
            desc,
            nulls_first: None,
        }
    }

    /// `NULLS FIRST`
    pub fn nulls_first(mut self) -> Self {
        self.nulls_first = Some(true);
        self
    }

    /// `NULLS LAST`
    pub fn nulls_last(mut self) -> Self {
        self.nulls_first = Some(false);
        self
    }
}

impl From<Expr> for OrderBy {
    fn from(e: Expr) -> Self {
        OrderBy::new(e, false)
    }
}

/// An output column of a select: an expression and an optional label.
#[derive(Debug, Clone)]
pub struct SelectItem {
    /// The expression.
    pub expr: Expr,
    /// The label (`AS ...`); when absent one is chosen (see [`OutputColumn`]).
    pub label: Option<Ident>,
}

impl From<Expr> for SelectItem {
    fn from(expr: Expr) -> Self {
        Self { expr, label: None }
    }
}

/// What a compiled select returns in each column: its unique label, its type
/// when known, and the model column it reads, if any.
///
/// Labels: an explicit label as given; a column's own name when no other
/// output column has it; `<table or alias>_<column>` when several do (joined
/// tables sharing `id`); a function's name; else `col<N>`; a numeric suffix
/// settles any remaining clash.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    /// The unique label.
    pub label: Ident,
    /// The type, when known.
    pub ty: Option<SqlType>,
    /// The model column, for columns read straight from a model's table.
    pub origin: Option<ColumnOrigin>,
    /// The table name or alias the column was read from.
    pub qualifier: Option<Ident>,
}

/// The kind of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// `INNER JOIN`
    Inner,
    /// `LEFT OUTER JOIN`
    Left,
    /// `RIGHT OUTER JOIN`
    Right,
    /// `FULL OUTER JOIN`
    Full,
    /// `CROSS JOIN`
    Cross,
}

/// A join: a table and its ON condition.
#[derive(Debug, Clone)]
pub struct Join {
    /// The kind.
    pub kind: JoinKind,
    /// The joined table.
    pub table: TableRef,
    /// The ON condition (`None` only for CROSS JOIN).
    pub on: Option<Expr>,
}

/// Row locking of a select (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockStrength {
    /// `FOR UPDATE`
    Update,
    /// `FOR SHARE`
    Share,
}

/// What a locking select does with rows locked by others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockWait {
    /// Wait for them (the default).
    Wait,
    /// `NOWAIT`: fail at once.
    NoWait,
    /// `SKIP LOCKED`: leave them out.
    SkipLocked,
}

/// `FOR UPDATE` / `FOR SHARE` with its wait policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lock {
    /// The strength.
    pub strength: LockStrength,
    /// The wait policy.
    pub wait: LockWait,
}

/// DISTINCT of a select.
#[derive(Debug, Clone, Default)]
pub enum Distinct {
    /// Every row.
    #[default]
    All,
    /// `DISTINCT`
    Distinct,
    /// `DISTINCT ON (exprs)` (PostgreSQL).
    On(Vec<Expr>),
}

/// A SELECT statement.
///
/// With no columns given it selects every column of its FROM and JOIN tables,
/// each with a unique label.
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::Select;
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::{Backend, SqlType, dialect::compile};
/// let user = Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("name", "text"))
///     .build()?;
/// let q = Select::from(&user)
///     .filter(user.col("name")?.eq("Ada"))
///     .order_by(user.col("id")?.desc())
///     .limit(10);
/// let stmt = compile(&q, Backend::Postgres)?;
/// assert_eq!(stmt.sql(), r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."name" = $1 ORDER BY "users"."id" DESC LIMIT $2"#);
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub(crate) ctes: Vec<Cte>,
    pub(crate) distinct: Distinct,
    pub(crate) items: Vec<SelectItem>,
    pub(crate) from: Vec<TableRef>,
    pub(crate) joins: Vec<Join>,
    pub(crate) filter: Vec<Expr>,
    pub(crate) group_by: Vec<Expr>,
    pub(crate) having: Vec<Expr>,
    pub(crate) order_by: Vec<OrderBy>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) lock: Option<Lock>,
}

impl Select {
    /// An empty select (add columns and tables).
    pub fn new() -> Self {
        Self::default()
    }

    /// `SELECT ... FROM table` (a model, an aliased model, a CTE or a subquery).
    /// A CTE's table ([`Cte::table`]) brings its CTE into the WITH.
    pub fn from(table: impl Into<TableRef>) -> Self {
        Self::default().and_from(table)
    }

    /// Adds a FROM table (a cross product with the others); a table under
    /// a name FROM has already (`select_from` of the table a column query
    /// reads) is not listed twice.
    pub fn and_from(mut self, table: impl Into<TableRef>) -> Self {
        let table = table.into();
        self.bring_cte(&table);
        if !self.from.iter().any(|t| t.qualifier() == table.qualifier()) {
            self.from.push(table);
        }
        self
    }

    /// Adds the CTE of a CTE's table to the WITH, unless one of its name is there.
    fn bring_cte(&mut self, table: &TableRef) {
        if let Some(cte) = Cte::of_table(table)
            && !self.ctes.iter().any(|c| c.name() == cte.name())
        {
            self.ctes.push(cte);
        }
    }

    /// Adds an output column (an expression, or a labelled [`SelectItem`]).
    pub fn column(mut self, item: impl Into<SelectItem>) -> Self {
        self.items.push(item.into());
        self
    }

    /// Adds output columns.
    pub fn columns<T: Into<SelectItem>>(mut self, items: impl IntoIterator<Item = T>) -> Self {
        self.items.extend(items.into_iter().map(Into::into));
        self
    }

    /// Adds every column of `table`.
    pub fn columns_of(self, table: &TableRef) -> Self {
        self.columns(table.all_columns())
    }

    /// Adds a join. As in SQLAlchemy, a table reached by a join is not also
    /// listed in FROM: a FROM entry under the joined table's name is dropped
    /// (unless it is the only one, which the join needs as its left side).
    fn join_with(mut self, kind: JoinKind, table: impl Into<TableRef>, on: Option<Expr>) -> Self {
        let table = table.into();
        self.bring_cte(&table);
        if self.from.iter().any(|t| t.qualifier() != table.qualifier()) {
            self.from.retain(|t| t.qualifier() != table.qualifier());
        }
        self.joins.push(Join { kind, table, on });
        self
    }

    /// `INNER JOIN table ON on`
    pub fn join(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_with(JoinKind::Inner, table, Some(on))
    }

    /// `LEFT OUTER JOIN table ON on`
    pub fn left_join(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_with(JoinKind::Left, table, Some(on))
    }

    /// `RIGHT OUTER JOIN table ON on`
    pub fn right_join(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_with(JoinKind::Right, table, Some(on))
    }

    /// `FULL OUTER JOIN table ON on`
    pub fn full_join(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_with(JoinKind::Full, table, Some(on))
    }

    /// `CROSS JOIN table`
    pub fn cross_join(self, table: impl Into<TableRef>) -> Self {
        self.join_with(JoinKind::Cross, table, None)
    }

    /// Adds a WHERE condition (several are ANDed).
    pub fn filter(mut self, cond: Expr) -> Self {
        self.filter.push(cond);
        self
    }

    /// `WHERE <entity>.name = value` on the last joined table (or the first FROM
    /// table when nothing is joined).
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown column; [`Error::InvalidState`] with no table.
    pub fn filter_by(self, name: &str, value: impl Into<Expr>) -> Result<Self> {
        let table = self
            .joins
            .last()
            .map(|j| &j.table)
            .or(self.from.first())
            .ok_or_else(|| Error::InvalidState("filter_by needs a table to select from".into()))?;
        let cond = table.col(name)?.eq(value);
        Ok(self.filter(cond))
    }

    /// Adds GROUP BY expressions.
    pub fn group_by(mut self, exprs: impl IntoIterator<Item = Expr>) -> Self {
        self.group_by.extend(exprs);
        self
    }

    /// Adds a HAVING condition (several are ANDed).
    pub fn having(mut self, cond: Expr) -> Self {
        self.having.push(cond);
        self
    }

    /// Adds an ORDER BY term (`expr.asc()`, `expr.desc().nulls_last()`, or an expression).
    pub fn order_by(mut self, term: impl Into<OrderBy>) -> Self {
        self.order_by.push(term.into());
        self
    }

    /// `LIMIT n` (bound as a parameter).
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// `LIMIT n`, or the query's own limit when it is smaller: what
    /// `first` and `one` read, so that `q.limit(1).one()` keeps its limit.
    pub fn limit_at_most(mut self, n: u64) -> Self {
        self.limit = Some(self.limit.map_or(n, |l| l.min(n)));
        self
    }

    /// `OFFSET n` (bound as a parameter).
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// `SELECT DISTINCT`
    pub fn distinct(mut self) -> Self {
        self.distinct = Distinct::Distinct;
        self
    }

    /// `SELECT DISTINCT ON (exprs)` (PostgreSQL; an error on SQLite).
    pub fn distinct_on(mut self, exprs: impl IntoIterator<Item = Expr>) -> Self {
        self.distinct = Distinct::On(exprs.into_iter().collect());
        self
    }

    /// Adds a CTE (`WITH`; `WITH RECURSIVE` when any CTE is recursive); it
    /// replaces one of the same name. A select that reads a CTE's table has
    /// its CTE already ([`Select::from`]).
    pub fn with(mut self, cte: Cte) -> Self {
        match self.ctes.iter_mut().find(|c| c.name() == cte.name()) {
            Some(c) => *c = cte,
            None => self.ctes.push(cte),
        }
        self
    }

    /// `FOR UPDATE` (PostgreSQL; an error on SQLite).
    pub fn for_update(mut self) -> Self {
        self.lock = Some(Lock {
            strength: LockStrength::Update,
            wait: LockWait::Wait,
        });
        self
    }

    /// `FOR SHARE` (PostgreSQL; an error on SQLite).
    pub fn for_share(mut self) -> Self {
        self.lock = Some(Lock {
            strength: LockStrength::Share,
            wait: LockWait::Wait,
        });
        self
    }

    /// Sets the row lock (`None` removes it): the same as
    /// [`Select::for_update`] / [`Select::for_share`] with a wait policy.
    pub fn lock(mut self, lock: Option<Lock>) -> Self {
        self.lock = lock;
        self
    }

    /// `NOWAIT` on a locking select.
    pub fn nowait(mut self) -> Self {
        if let Some(l) = &mut self.lock {
            l.wait = LockWait::NoWait;
        }
        self
    }

    /// `SKIP LOCKED` on a locking select.
    pub fn skip_locked(mut self) -> Self {
        if let Some(l) = &mut self.lock {
            l.wait = LockWait::SkipLocked;
        }
        self
    }

    /// This select as a derived table `(SELECT ...) AS alias`.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid alias; label errors.
    pub fn subquery(self, alias: &str) -> Result<TableRef> {
        Query::from(self).subquery(alias)
    }

    /// `self UNION other`
    pub fn union(self, other: Select) -> Compound {
        Compound::new(self, SetOp::Union, other)
    }

    /// `self UNION ALL other`
    pub fn union_all(self, other: Select) -> Compound {
        Compound::new(self, SetOp::UnionAll, other)
    }

    /// `self INTERSECT other`
    pub fn intersect(self, other: Select) -> Compound {
        Compound::new(self, SetOp::Intersect, other)
    }

    /// `self EXCEPT other`
    pub fn except(self, other: Select) -> Compound {
        Compound::new(self, SetOp::Except, other)
    }

    /// The select items after expanding an empty list to every table's columns.
    pub(crate) fn effective_items(&self) -> std::borrow::Cow<'_, [SelectItem]> {
        if !self.items.is_empty() {
            return std::borrow::Cow::Borrowed(&self.items);
        }
        let mut items = Vec::new();
        for t in self.from.iter().chain(self.joins.iter().map(|j| &j.table)) {
            items.extend(t.all_columns().into_iter().map(SelectItem::from));
        }
        std::borrow::Cow::Owned(items)
    }

    /// The output columns: unique labels, types and model origins.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when two explicit labels are equal.
    pub fn output_columns(&self) -> Result<Vec<OutputColumn>> {
        output_columns(&self.effective_items())
    }
}
