//! [`Insert`]: one row, many rows (batched under the backend's parameter limit,
//! and on PostgreSQL loaded through binary `COPY`, or `UNNEST` arrays when the
//! insert returns rows or upserts, past a threshold), INSERT ... SELECT, upsert
//! ([`OnConflict`]) and RETURNING.

use crate::error::Result;
use crate::schema::{Model, schema_error};
use crate::value::Value;

use super::compound::Query;
use super::expr::Expr;
use super::select::SelectItem;

/// Rows from which a PostgreSQL insert of plain values switches to `COPY` (or `UNNEST`).
pub const DEFAULT_BULK_THRESHOLD: usize = 500;

#[derive(Debug, Clone)]
pub(crate) enum InsertSource {
    DefaultValues,
    Values(Vec<Vec<Value>>),
    Query(Query),
}

/// What an upsert does on conflict.
#[derive(Debug, Clone)]
pub(crate) enum ConflictAction {
    Nothing,
    Update {
        sets: Vec<(usize, Expr)>,
        filter: Option<Expr>,
    },
}

/// `ON CONFLICT (target) DO NOTHING | DO UPDATE SET ...` (on both backends).
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::{Expr, OnConflict};
/// // Keep the new name, add up the karma.
/// let oc = OnConflict::columns(["email"])
///     .do_update(["name"])
///     .set("karma", Expr::col("karma").unwrap() + Expr::excluded("karma").unwrap());
/// # let _ = oc;
/// ```
#[derive(Debug, Clone)]
pub struct OnConflict {
    target: Vec<String>,
    nothing: bool,
    sets: Vec<(String, Option<Expr>)>,
    filter: Option<Expr>,
}

impl OnConflict {
    /// A conflict on the unique or primary key made of `columns`.
    pub fn columns<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            target: columns.into_iter().map(Into::into).collect(),
            nothing: true,
            sets: Vec::new(),
            filter: None,
        }
    }

    /// `DO NOTHING` (the default).
    pub fn do_nothing(mut self) -> Self {
        self.nothing = true;
        self.sets.clear();
        self
    }

    /// `DO UPDATE SET col = excluded.col` for each of `columns`.
    pub fn do_update<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.nothing = false;
        self.sets
            .extend(columns.into_iter().map(|c| (c.into(), None)));
        self
    }

    /// `DO UPDATE SET column = value`; use [`Expr::excluded`] for the proposed row
    /// and the model's columns for the existing one.
    pub fn set(mut self, column: impl Into<String>, value: impl Into<Expr>) -> Self {
        self.nothing = false;
        self.sets.push((column.into(), Some(value.into())));
        self
    }

    /// `DO UPDATE ... WHERE cond`
    pub fn filter(mut self, cond: Expr) -> Self {
        self.filter = Some(cond);
        self
    }
}

/// A resolved conflict clause.
#[derive(Debug, Clone)]
pub(crate) struct Conflict {
    pub(crate) target: Vec<usize>,
    pub(crate) action: ConflictAction,
}

/// An INSERT into a model's table.
///
/// Columns with a client default factory that the insert leaves out are added,
/// the factory called once per row, when the statement is compiled. Values are
/// coerced to their column's type then (so `"42"` into an integer column is 42).
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::Insert;
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::{Backend, SqlType, Value, dialect::compile};
/// let user = Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("name", "text"))
///     .build()?;
/// let ins = Insert::into(&user)
///     .columns(["name"])?
///     .values(vec![Value::from("Ada")])?
///     .values(vec![Value::from("Grace")])?
///     .returning([user.col("id")?]);
/// let stmt = compile(&ins, Backend::Sqlite)?;
/// assert_eq!(stmt.sql(), r#"INSERT INTO "users" ("name") VALUES ($1), ($2) RETURNING "id""#);
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Insert {
    pub(crate) model: Model,
    pub(crate) columns: Vec<usize>,
    pub(crate) source: InsertSource,
    pub(crate) on_conflict: Option<Conflict>,
    pub(crate) returning: Vec<SelectItem>,
    pub(crate) bulk_threshold: usize,
    pub(crate) copy: bool,
}

impl Insert {
    /// An insert into `model`'s table (of one row of defaults until values are given).
    pub fn into(model: &Model) -> Self {
        Self {
            model: model.clone(),
            columns: Vec::new(),
            source: InsertSource::DefaultValues,
            on_conflict: None,
            returning: Vec::new(),
            bulk_threshold: DEFAULT_BULK_THRESHOLD,
            copy: true,
        }
    }

    fn err(&self, column: &str, msg: String) -> crate::Error {
        schema_error(self.model.name().as_str(), Some(column), msg)
    }

    /// The columns that the rows give values for, in order.
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for an unknown, repeated or generated column.
    pub fn columns<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Result<Self> {
        let mut cols = Vec::new();
        for n in names {
            let n = n.as_ref();
            let i = self.model.column_index(n)?;
            let c = &self.model.columns()[i];
            if c.generated().is_some() {
                return Err(self.err(
                    n,
                    format!(
                        "column `{}` of model `{}` is generated; the database computes it",
                        c.name(),
                        self.model.name()
                    ),
                ));
            }
            if cols.contains(&i) {
                return Err(self.err(
                    n,
                    format!(
                        "column `{}` of model `{}` is given twice",
                        c.name(),
                        self.model.name()
                    ),
                ));
            }
            cols.push(i);
        }
        self.columns = cols;
        Ok(self)
    }

    /// Adds a row of values, one per column in [`Insert::columns`] order.
    ///
    /// # Errors
    /// [`crate::Error::InvalidValue`] when the row's width is not the column count.
    pub fn values(mut self, row: Vec<Value>) -> Result<Self> {
        if row.len() != self.columns.len() {
            return Err(crate::Error::InvalidValue {
                target: format!("a row for model `{}`", self.model.name()),
                reason: format!(
                    "it has {} value(s) for {} column(s)",
                    row.len(),
                    self.columns.len()
                ),
            });
        }
        match &mut self.source {
            InsertSource::Values(rows) => rows.push(row),
            _ => self.source = InsertSource::Values(vec![row]),
        }
        Ok(self)
    }

    /// Adds rows of values.
    ///
    /// # Errors
    /// As [`Insert::values`].
    pub fn rows(mut self, rows: impl IntoIterator<Item = Vec<Value>>) -> Result<Self> {
        for r in rows {
            self = self.values(r)?;
        }
        Ok(self)
    }

    /// Adds a row given as `(column, value)` pairs. The first row sets the
    /// columns; later rows must name the same columns (in any order).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for unknown columns or a different column set.
    pub fn row_map<K: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, Value)>,
    ) -> Result<Self> {
        let pairs: Vec<(K, Value)> = pairs.into_iter().collect();
        let has_rows = matches!(&self.source, InsertSource::Values(r) if !r.is_empty());
        if !has_rows {
            self = self.columns(pairs.iter().map(|(k, _)| k.as_ref()))?;
        }
        let mut row = vec![Value::Null; self.columns.len()];
        let mut filled = vec![false; self.columns.len()];
        for (k, v) in pairs {
            let i = self.model.column_index(k.as_ref())?;
            let Some(slot) = self.columns.iter().position(|&c| c == i) else {
                return Err(self.err(
                    k.as_ref(),
                    format!(
                        "rows inserted together into model `{}` must have the same columns; column `{}` is not in the first row",
                        self.model.name(),
                        self.model.columns()[i].name()
                    ),
                ));
            };
            row[slot] = v;
            filled[slot] = true;
        }
        if let Some(missing) = filled.iter().position(|f| !f) {
            let name = self.model.columns()[self.columns[missing]].name().clone();
            return Err(self.err(
                name.as_str(),
                format!(
                    "rows inserted together into model `{}` must have the same columns; this row lacks `{name}`",
                    self.model.name()
                ),
            ));
        }
        self.values(row)
    }

    /// `INSERT INTO ... (columns) SELECT ...`: the query's columns match [`Insert::columns`].
    pub fn from_query(mut self, query: impl Into<Query>) -> Self {
        self.source = InsertSource::Query(query.into());
        self
    }

    /// An upsert clause.
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for unknown columns.
    pub fn on_conflict(mut self, oc: OnConflict) -> Result<Self> {
        let target = oc
            .target
            .iter()
            .map(|c| self.model.column_index(c))
            .collect::<Result<Vec<_>>>()?;
        let action = if oc.nothing {
            ConflictAction::Nothing
        } else {
            let mut sets = Vec::new();
            for (name, value) in oc.sets {
                let i = self.model.column_index(&name)?;
                let value = match value {
                    Some(v) => v,
                    None => Expr::Excluded(self.model.columns()[i].name().clone()),
                };
                sets.push((i, value));
            }
            ConflictAction::Update {
                sets,
                filter: oc.filter,
            }
        };
        self.on_conflict = Some(Conflict { target, action });
        Ok(self)
    }

    returning_methods!();

    /// Rows from which PostgreSQL inserts of plain values load through binary
    /// `COPY` (or, with ON CONFLICT, RETURNING or [`Insert::copy`] off, through
    /// `UNNEST` arrays); default [`DEFAULT_BULK_THRESHOLD`].
    pub fn bulk_threshold(mut self, rows: usize) -> Self {
        self.bulk_threshold = rows;
        self
    }

    /// Whether a large insert of plain values may load through binary
    /// `COPY ... FROM STDIN` on PostgreSQL (default `true`); see
    /// [`Insert::compile_copy`] for when it does. `copy(false)` keeps INSERT
    /// semantics: COPY fires row triggers and checks constraints as INSERT does,
    /// but the rewrite rules of `CREATE RULE ... ON INSERT` do not apply to it.
    pub fn copy(mut self, on: bool) -> Self {
        self.copy = on;
        self
    }

    /// The model inserted into.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The number of value rows.
    pub fn row_count(&self) -> usize {
        match &self.source {
            InsertSource::Values(r) => r.len(),
            InsertSource::DefaultValues => 1,
            InsertSource::Query(_) => 0,
        }
    }
}
