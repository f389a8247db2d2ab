//! [`Update`] and [`Delete`] of a model's rows, with WHERE and RETURNING.

use crate::error::Result;
use crate::schema::{Model, schema_error};

use super::expr::Expr;
use super::select::SelectItem;

/// `UPDATE table SET ... WHERE ... RETURNING ...`
///
/// # Examples
///
/// ```
/// use dbridge_engine::query::Update;
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::{Backend, SqlType, dialect::compile};
/// let user = Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("karma", "integer"))
///     .build()?;
/// let up = Update::table(&user)
///     .set("karma", user.col("karma")? + 1)?
///     .filter(user.col("id")?.eq(7));
/// assert_eq!(
///     compile(&up, Backend::Postgres)?.sql(),
///     r#"UPDATE "users" SET "karma" = "users"."karma" + $1 WHERE "users"."id" = $2"#
/// );
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Update {
    pub(crate) model: Model,
    pub(crate) sets: Vec<(usize, Expr)>,
    pub(crate) filter: Vec<Expr>,
    pub(crate) returning: Vec<SelectItem>,
}

impl Update {
    /// An update of `model`'s table.
    pub fn table(model: &Model) -> Self {
        Self {
            model: model.clone(),
            sets: Vec::new(),
            filter: Vec::new(),
            returning: Vec::new(),
        }
    }

    /// `SET column = value` (a value or an expression).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for an unknown or generated column.
    pub fn set(mut self, column: &str, value: impl Into<Expr>) -> Result<Self> {
        let i = self.model.column_index(column)?;
        let c = &self.model.columns()[i];
        if c.generated().is_some() {
            return Err(schema_error(
                self.model.name().as_str(),
                Some(column),
                format!(
                    "column `{}` of model `{}` is generated; the database computes it",
                    c.name(),
                    self.model.name()
                ),
            ));
        }
        self.sets.push((i, value.into()));
        Ok(self)
    }

    filter_methods!();
    returning_methods!();
}

/// `DELETE FROM table WHERE ... RETURNING ...`
#[derive(Debug, Clone)]
pub struct Delete {
    pub(crate) model: Model,
    pub(crate) filter: Vec<Expr>,
    pub(crate) returning: Vec<SelectItem>,
}

impl Delete {
    /// A delete from `model`'s table.
    pub fn from(model: &Model) -> Self {
        Self {
            model: model.clone(),
            filter: Vec::new(),
            returning: Vec::new(),
        }
    }

    filter_methods!();
    returning_methods!();
}
