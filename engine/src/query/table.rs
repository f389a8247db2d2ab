//! [`TableRef`]: what a FROM or JOIN names: a model's table (possibly aliased),
//! a table or CTE by name, or a subquery.

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::ident::Ident;
use crate::schema::{Model, schema_error};
use crate::value::SqlType;

use super::compound::{CteBody, Query};
use super::expr::{ColumnOrigin, ColumnRef, Expr};
use super::select::OutputColumn;

pub(crate) enum Source {
    Model(Model),
    Named {
        name: Ident,
        columns: Vec<(Ident, Option<SqlType>)>,
        /// The CTE this is the table of, which a select reading it brings along.
        cte: Option<Arc<CteBody>>,
    },
    Query {
        query: Query,
        columns: Vec<OutputColumn>,
    },
}

pub(crate) struct TableInner {
    pub(crate) source: Source,
    pub(crate) alias: Option<Ident>,
    qualifier: Ident,
}

impl TableInner {
    fn new(source: Source, alias: Option<Ident>, name: Ident) -> Arc<Self> {
        let qualifier = alias.clone().unwrap_or(name);
        Arc::new(Self {
            source,
            alias,
            qualifier,
        })
    }
}

/// A table in a FROM or JOIN. Cheap to clone.
///
/// Columns are reached with [`TableRef::col`], which checks the name: on a
/// model, "no column `emial` on model `User`".
#[derive(Clone)]
pub struct TableRef(pub(crate) Arc<TableInner>);

impl fmt::Debug for TableRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.source {
            Source::Model(m) => write!(f, "TableRef({m:?}")?,
            Source::Named { name, .. } => write!(f, "TableRef({name}")?,
            Source::Query { .. } => write!(f, "TableRef(subquery")?,
        }
        match &self.0.alias {
            Some(a) => write!(f, " AS {a})"),
            None => f.write_str(")"),
        }
    }
}

impl TableRef {
    pub(crate) fn model(model: Model, alias: Option<Ident>) -> Self {
        let name = model.table().clone();
        Self(TableInner::new(Source::Model(model), alias, name))
    }

    pub(crate) fn query(query: Query, columns: Vec<OutputColumn>, alias: Ident) -> Self {
        Self(TableInner::new(
            Source::Query { query, columns },
            Some(alias.clone()),
            alias,
        ))
    }

    /// The table of a CTE: its name, with the CTE carried along.
    pub(crate) fn cte(body: Arc<CteBody>, columns: Vec<(Ident, Option<SqlType>)>) -> Self {
        let name = body.name.clone();
        Self(TableInner::new(
            Source::Named {
                name: name.clone(),
                columns,
                cte: Some(body),
            },
            None,
            name,
        ))
    }

    /// A table (or CTE) by name with its known columns (names and optional types).
    /// With no columns listed, any valid column name is accepted.
    ///
    /// # Errors
    /// [`crate::Error::InvalidIdentifier`] for an invalid name.
    pub fn named<'a>(
        name: &str,
        columns: impl IntoIterator<Item = (&'a str, Option<SqlType>)>,
    ) -> Result<Self> {
        let columns = columns
            .into_iter()
            .map(|(n, t)| Ok((Ident::new(n)?, t)))
            .collect::<Result<Vec<_>>>()?;
        let name = Ident::new(name)?;
        Ok(Self(TableInner::new(
            Source::Named {
                name: name.clone(),
                columns,
                cte: None,
            },
            None,
            name,
        )))
    }

    /// The same table under another alias.
    ///
    /// # Errors
    /// [`crate::Error::InvalidIdentifier`] for an invalid alias.
    pub fn alias(&self, alias: &str) -> Result<TableRef> {
        let alias = Some(Ident::new(alias)?);
        let source = match &self.0.source {
            Source::Model(m) => Source::Model(m.clone()),
            Source::Named { name, columns, cte } => Source::Named {
                name: name.clone(),
                columns: columns.clone(),
                cte: cte.clone(),
            },
            Source::Query { query, columns } => Source::Query {
                query: query.clone(),
                columns: columns.clone(),
            },
        };
        let name = self.0.qualifier.clone();
        Ok(Self(TableInner::new(source, alias, name)))
    }

    /// The name that qualifies its columns: the alias, else the table's name.
    pub fn qualifier(&self) -> &Ident {
        &self.0.qualifier
    }

    /// The model, if this is a model's table.
    pub fn as_model(&self) -> Option<&Model> {
        match &self.0.source {
            Source::Model(m) => Some(m),
            _ => None,
        }
    }

    /// Its alias, if any.
    pub fn alias_name(&self) -> Option<&Ident> {
        self.0.alias.as_ref()
    }

    /// This table when it is not a model's (a derived table, a CTE's, a
    /// table by name), for the [`ColumnRef::derived`] of its columns: a
    /// query of them reads FROM it.
    fn derived(&self) -> Option<TableRef> {
        (!matches!(self.0.source, Source::Model(_))).then(|| self.clone())
    }

    /// A column of this table, qualified by [`TableRef::qualifier`].
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when there is no such column.
    pub fn col(&self, name: &str) -> Result<Expr> {
        let qualifier = Some(self.qualifier().clone());
        let (name, ty, origin) = match &self.0.source {
            Source::Model(m) => {
                let index = m.column_index(name)?;
                let c = &m.columns()[index];
                (
                    c.name().clone(),
                    Some(c.sql_type().clone()),
                    Some(ColumnOrigin {
                        model: m.clone(),
                        index,
                    }),
                )
            }
            Source::Named {
                name: t, columns, ..
            } => {
                let id = Ident::new(name)?;
                if columns.is_empty() {
                    (id, None, None)
                } else {
                    let (n, ty) = columns.iter().find(|(n, _)| *n == id).ok_or_else(|| {
                        schema_error(t.as_str(), Some(name), format!("no column `{id}` on `{t}`"))
                    })?;
                    (n.clone(), ty.clone(), None)
                }
            }
            Source::Query { columns, .. } => {
                let id = Ident::new(name)?;
                let c = columns.iter().find(|c| c.label == id).ok_or_else(|| {
                    let q = self.qualifier().as_str();
                    schema_error(q, Some(name), format!("no column `{id}` on subquery `{q}`"))
                })?;
                (c.label.clone(), c.ty.clone(), c.origin.clone())
            }
        };
        Ok(Expr::Column(Box::new(ColumnRef {
            qualifier,
            name,
            ty,
            origin,
            derived: self.derived(),
        })))
    }

    /// Every known column of this table, in order.
    pub fn all_columns(&self) -> Vec<Expr> {
        let q = self.qualifier().clone();
        let derived = self.derived();
        let make = |name: &Ident, ty: Option<SqlType>, origin: Option<ColumnOrigin>| {
            Expr::Column(Box::new(ColumnRef {
                qualifier: Some(q.clone()),
                name: name.clone(),
                ty,
                origin,
                derived: derived.clone(),
            }))
        };
        match &self.0.source {
            Source::Model(m) => m
                .columns()
                .iter()
                .enumerate()
                .map(|(index, c)| {
                    make(
                        c.name(),
                        Some(c.sql_type().clone()),
                        Some(ColumnOrigin {
                            model: m.clone(),
                            index,
                        }),
                    )
                })
                .collect(),
            Source::Named { columns, .. } => columns
                .iter()
                .map(|(n, t)| make(n, t.clone(), None))
                .collect(),
            Source::Query { columns, .. } => columns
                .iter()
                .map(|c| make(&c.label, c.ty.clone(), c.origin.clone()))
                .collect(),
        }
    }
}
