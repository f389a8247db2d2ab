//! Polymorphic loading: rows of a hierarchy (see `schema/inheritance.rs`)
//! become instances of the class each row's discriminator names.
//!
//! A query of a polymorphic model is adapted before it runs
//! ([`adapt`]): single-table subclasses' own columns are selected from the
//! shared table (a query of a subclass keeps to the identities of the class
//! and its subclasses by its own filter, [`Model::identity_filter`]). Each row is then read with [`PolyColumns`]: the
//! discriminator picks the class, and the values of the result columns read
//! from that class or its ancestors fill the instance.

use crate::error::{Error, Result};
use crate::query::{Expr, OutputColumn, Select};
use crate::schema::Model;
use crate::value::Value;

/// The columns of single-table subclasses of `model` that its own
/// columns do not include (not deferred), as expressions of their classes.
fn subclass_columns(model: &Model) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = model
        .columns()
        .iter()
        .map(|c| c.name().as_str().to_owned())
        .collect();
    for d in model.descendants() {
        if !d.shares_parent_table() {
            continue;
        }
        for c in &d.columns()[d.own_columns_from()..] {
            if c.is_deferred() || seen.iter().any(|s| s == c.name().as_str()) {
                continue;
            }
            seen.push(c.name().as_str().to_owned());
            out.push(d.col(c.name().as_str())?);
        }
    }
    Ok(out)
}

/// A query of `model` ready for polymorphic loading: with the columns of
/// single-table subclasses. Other models' queries are returned as they are.
/// (The identity filter of a subclass is the query's own, added where the
/// query of a model is made: [`Model::identity_filter`].)
pub(crate) fn adapt(model: &Model, mut select: Select) -> Result<Select> {
    if !model.is_polymorphic() {
        return Ok(select);
    }
    for e in subclass_columns(model)? {
        select = select.column(e);
    }
    Ok(select)
}

/// How the result columns of a polymorphic query map to classes' columns.
pub(crate) struct PolyColumns {
    /// Per result column: the model it was read from and its position there.
    origins: Vec<Option<(Model, usize)>>,
    /// The result column holding the discriminator.
    disc: Option<usize>,
    queried: Model,
}

impl PolyColumns {
    pub(crate) fn new(model: &Model, columns: &[OutputColumn]) -> Self {
        let origins: Vec<Option<(Model, usize)>> = columns
            .iter()
            .map(|c| {
                c.origin
                    .as_ref()
                    .filter(|o| o.model.root().ptr_eq(model.root()))
                    .map(|o| (o.model.clone(), o.index))
            })
            .collect();
        let d = model.discriminator();
        let disc = origins
            .iter()
            .position(|o| matches!((o, d), (Some((_, i)), Some(d)) if *i == d));
        Self {
            origins,
            disc,
            queried: model.clone(),
        }
    }

    /// The class of a row, and the row's values as that class's columns
    /// (unconverted; `None` where the row has no column of the class).
    pub(crate) fn split(&self, row: Vec<Value>) -> Result<(Model, Vec<Option<Value>>)> {
        let class = match self.disc.and_then(|k| row.get(k)) {
            Some(v) => class_of(&self.queried, v)?,
            None => self.queried.clone(),
        };
        let mut values = vec![None; class.columns().len()];
        for (v, o) in row.into_iter().zip(&self.origins) {
            if let Some((m, i)) = o
                && class.is_a(m)
                && *i < values.len()
            {
                values[*i] = Some(v);
            }
        }
        Ok((class, values))
    }
}

/// The class among `model` and its subclasses a discriminator value names.
///
/// # Errors
/// [`Error::InvalidState`] naming the model when no class declares it.
pub(crate) fn class_of(model: &Model, value: &Value) -> Result<Model> {
    if value.is_null() {
        return Ok(model.clone());
    }
    model.class_for(value).ok_or_else(|| {
        Error::InvalidState(format!(
            "a row of model `{}` has a discriminator ({}) that no class of its hierarchy \
             declares as its polymorphic_identity",
            model.name(),
            value.type_name()
        ))
    })
}
