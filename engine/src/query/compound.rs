//! Compound selects ([`Compound`]: UNION, INTERSECT, EXCEPT), CTEs ([`Cte`]) and
//! [`Query`], which is a select or a compound.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::value::SqlType;

use super::select::{OrderBy, OutputColumn, Select};
use super::table::TableRef;

/// What `WITH` writes for a CTE: its name, the columns it lists, its query.
/// A CTE's table carries it, so that a select reading the table brings the
/// CTE along ([`Select::from`], the joins).
#[derive(Debug)]
pub(crate) struct CteBody {
    pub(crate) name: Ident,
    pub(crate) columns: Vec<Ident>,
    pub(crate) query: Query,
    pub(crate) recursive: bool,
}

/// A common table expression: `WITH name (columns) AS (query)`.
///
/// Its [`Cte::table`] carries it: a select that reads the table (from it,
/// or joins it) gets the CTE in its WITH without a [`Select::with`], as
/// SQLAlchemy renders a CTE where it is used.
#[derive(Debug, Clone)]
pub struct Cte {
    pub(crate) body: Arc<CteBody>,
    table: TableRef,
}

impl Cte {
    /// A CTE named `name` over `query`; its columns are the query's output labels.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid name.
    pub fn new(name: &str, query: impl Into<Query>) -> Result<Self> {
        let query = query.into();
        let cols = query
            .output_columns()?
            .into_iter()
            .map(|c| (c.label, c.ty))
            .collect();
        let body = Arc::new(CteBody {
            name: Ident::new(name)?,
            columns: Vec::new(),
            query,
            recursive: false,
        });
        Ok(Self {
            table: TableRef::cte(body.clone(), cols),
            body,
        })
    }

    /// A recursive CTE: `table` is the reference the query used for itself
    /// (made with [`Cte::recursive_table`]); its columns are listed in the SQL.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when `table` is not a named table.
    pub fn recursive(table: &TableRef, query: impl Into<Query>) -> Result<Self> {
        let super::table::Source::Named { name, columns, .. } = &table.0.source else {
            return Err(Error::InvalidState(
                "a recursive CTE needs the table made by Cte::recursive_table".into(),
            ));
        };
        let body = Arc::new(CteBody {
            name: name.clone(),
            columns: columns.iter().map(|(n, _)| n.clone()).collect(),
            query: query.into(),
            recursive: true,
        });
        Ok(Self {
            table: TableRef::cte(body.clone(), columns.clone()),
            body,
        })
    }

    /// The CTE's name.
    pub fn name(&self) -> &Ident {
        &self.body.name
    }

    /// Whether it is recursive ([`Cte::recursive`]).
    pub fn is_recursive(&self) -> bool {
        self.body.recursive
    }

    /// The CTE a table reads, when it is a CTE's [`Cte::table`] (aliased or not).
    pub(crate) fn of_table(table: &TableRef) -> Option<Self> {
        match &table.0.source {
            super::table::Source::Named {
                cte: Some(body), ..
            } => Some(Self {
                body: body.clone(),
                table: table.clone(),
            }),
            _ => None,
        }
    }

    /// The table a recursive CTE's query refers to itself by, with its columns.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for invalid names.
    pub fn recursive_table<'a>(
        name: &str,
        columns: impl IntoIterator<Item = (&'a str, Option<SqlType>)>,
    ) -> Result<TableRef> {
        TableRef::named(name, columns)
    }

    /// The CTE as a table for FROM and JOIN.
    pub fn table(&self) -> TableRef {
        self.table.clone()
    }
}

/// A set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `UNION ALL`
    UnionAll,
    /// `INTERSECT`
    Intersect,
    /// `EXCEPT`
    Except,
}

/// Selects combined by set operations, with an ORDER BY / LIMIT over the whole.
#[derive(Debug, Clone)]
pub struct Compound {
    pub(crate) first: Select,
    pub(crate) rest: Vec<(SetOp, Select)>,
    pub(crate) order_by: Vec<OrderBy>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
}

impl Compound {
    pub(crate) fn new(first: Select, op: SetOp, other: Select) -> Self {
        Self {
            first,
            rest: vec![(op, other)],
            order_by: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    /// `... UNION other`
    pub fn union(mut self, other: Select) -> Self {
        self.rest.push((SetOp::Union, other));
        self
    }

    /// `... UNION ALL other`
    pub fn union_all(mut self, other: Select) -> Self {
        self.rest.push((SetOp::UnionAll, other));
        self
    }

    /// `... INTERSECT other`
    pub fn intersect(mut self, other: Select) -> Self {
        self.rest.push((SetOp::Intersect, other));
        self
    }

    /// `... EXCEPT other`
    pub fn except(mut self, other: Select) -> Self {
        self.rest.push((SetOp::Except, other));
        self
    }

    /// ORDER BY over the combined rows; refer to output columns with
    /// [`Expr::label_ref`](super::Expr::label_ref).
    pub fn order_by(mut self, term: impl Into<OrderBy>) -> Self {
        self.order_by.push(term.into());
        self
    }

    /// LIMIT over the combined rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// OFFSET over the combined rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }
}

/// A query: a [`Select`] or a [`Compound`]. Subqueries, CTEs and INSERT ... SELECT take one.
#[derive(Debug, Clone)]
pub enum Query {
    /// A single select.
    Select(Box<Select>),
    /// Selects combined by set operations.
    Compound(Box<Compound>),
}

impl From<Select> for Query {
    fn from(s: Select) -> Self {
        Query::Select(Box::new(s))
    }
}

impl From<Compound> for Query {
    fn from(c: Compound) -> Self {
        Query::Compound(Box::new(c))
    }
}

impl Query {
    /// The output columns (those of the first select of a compound).
    ///
    /// # Errors
    /// As [`Select::output_columns`].
    pub fn output_columns(&self) -> Result<Vec<OutputColumn>> {
        match self {
            Query::Select(s) => s.output_columns(),
            Query::Compound(c) => c.first.output_columns(),
        }
    }

    /// This query as a derived table `(...) AS alias`.
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for an invalid alias; label errors.
    pub fn subquery(self, alias: &str) -> Result<TableRef> {
        let alias = Ident::new(alias)?;
        let columns = self
            .output_columns()?
            .into_iter()
            .map(|c| OutputColumn {
                qualifier: Some(alias.clone()),
                ..c
            })
            .collect();
        Ok(TableRef::query(self, columns, alias))
    }
}
